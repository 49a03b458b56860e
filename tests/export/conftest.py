"""The ONNX export tests' oracle: export a model, check the file with onnx's full checker, run it
with ONNX Runtime at batch 1 and 7 and compare with ``model.predict`` to 1e-5 of the output's
scale.

onnx and onnxruntime come with the ``test`` extra.  Where they publish no wheel (musllinux; macOS
x86_64 from Python 3.14 for onnxruntime) the tests that need them are skipped, saying so; anywhere
else a missing package is an error, not a skip.
"""

import importlib
import platform
import sys
import types

import numpy as np
import pytest

import minicnn


def _no_wheel_reason(package):
    if sys.platform.startswith("linux") and platform.libc_ver()[0] != "glibc":
        return f"{package} publishes no wheel for musl Linux"
    if (package == "onnxruntime" and sys.platform == "darwin" and platform.machine() == "x86_64"
            and sys.version_info >= (3, 14)):
        return "onnxruntime publishes no macOS x86_64 wheel for Python >= 3.14"
    return None


def require(package):
    reason = _no_wheel_reason(package)
    if reason is not None:
        return pytest.importorskip(package, reason=reason)
    return importlib.import_module(package)


@pytest.fixture(scope="session")
def onnx():
    return require("onnx")


@pytest.fixture(scope="session")
def ort():
    return require("onnxruntime")


def run_onnx(ort, path, inputs):
    """ONNX Runtime's outputs for ``inputs`` (a list of arrays, in the graph's input order)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {i.name: x for i, x in zip(session.get_inputs(), inputs)}
    return session.run(None, feed)


def assert_close(got, want, what=""):
    want = np.asarray(want)
    scale = float(np.abs(want).max()) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(scale, 1e-6), err_msg=what)


def randomize(model, seed=0):
    """Non-trivial weights: biases, betas and moving statistics away from their 0/1 defaults."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        if np.dtype(w.dtype).kind != "f":
            continue
        if "variance" in w.name:
            w.assign(rng.uniform(0.5, 1.5, w.shape))
        else:
            w.assign(rng.normal(0.0, 0.5, w.shape))
    return model


@pytest.fixture
def onnx_tools(ort):
    return types.SimpleNamespace(randomize=randomize, assert_close=assert_close,
                                 run=lambda path, inputs: run_onnx(ort, path, inputs))


def random_inputs(model_inputs, batch, seed):
    rng = np.random.default_rng(seed)
    out = []
    for spec in model_inputs:
        shape, dtype = (batch,) + tuple(spec[0][1:]), np.dtype(spec[1])
        if dtype.kind in "iu":
            high = spec[2] if len(spec) > 2 else 10
            out.append(rng.integers(0, high, shape).astype(dtype))
        else:
            out.append(rng.normal(size=shape).astype(dtype))
    return out


@pytest.fixture
def check_export(onnx, ort, tmp_path):
    """``check(model, specs, **export_kwargs)``: give the model random weights, export it, check
    the file and compare with predict at batch 1 and 7.  ``specs``: one ``(shape, dtype[, high])``
    per input (shape with the batch axis; integer inputs are drawn from [0, high)); ``feed``
    turns predict's inputs into the graph's.  Returns the loaded ModelProto."""
    def check(model, specs=None, feed=None, **kwargs):
        randomize(model)
        path = tmp_path / f"{model.name}.onnx"
        model.export(path, verbose=False, **kwargs)
        onnx.checker.check_model(str(path), full_check=True)
        if specs is None:
            specs = [(t.shape, t.dtype) for t in model.inputs]
        for batch, seed in ((1, 0), (7, 1)):
            xs = random_inputs(specs, batch, seed)
            want = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
            want = want if isinstance(want, list) else [want]
            given = xs if feed is None else feed(xs)
            got = run_onnx(ort, path, given)
            assert len(got) == len(want)
            for g, w in zip(got, want):
                assert g.shape == w.shape and g.dtype == w.dtype
                assert_close(g, w, f"{model.name}, batch {batch}")
        return onnx.load(str(path))
    minicnn.layers.clear_session()
    return check
