"""Every script in examples/ runs in a fast mode (a small subset, one short epoch) so none can rot.

The examples are run in-process through their ``main(argv)`` (one also as a real script in a
subprocess).  Data: the real Fashion-MNIST from Debian's dataset-fashion-mnist package when it is
installed (the CI installs it), otherwise small generated IDX files under ``$MINICNN_DATA``; the
download mirror points at a closed port, so no test touches the network.
"""

import gzip
import importlib.util
import os
import re
import socket
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minicnn
import minicnn.saving

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
HAVE_REAL_DATA = os.path.isdir(DEBIAN_DIR)

if not EXAMPLES.is_dir():  # e.g. a wheel test run that copied only tests/
    pytest.skip(f"examples/ not found next to tests/ ({EXAMPLES}); run from a source checkout",
                allow_module_level=True)


def _have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_idx_dataset(directory, n_train, n_test, seed):
    """Four gzipped IDX files with the published names; labels follow a learnable rule."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, lab in enumerate(labels):  # a bright bar whose row encodes the class
            images[i, 2 + 2 * lab: 4 + 2 * lab, 4:24] = 250
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            head = struct.pack(">BBBB", 0, 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
            (directory / f"{split}-{kind}-ubyte.gz").write_bytes(gzip.compress(head + arr.tobytes()))


@pytest.fixture
def data_env(tmp_path, monkeypatch):
    """No network, an empty user cache, and Fashion-MNIST available (real or generated)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    monkeypatch.setenv("MINICNN_DATASETS_MIRROR", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MINICNN_HOME", str(tmp_path / "home"))
    data = tmp_path / "data"
    monkeypatch.setenv("MINICNN_DATA", str(data))
    from minicnn.datasets import _download, mnist, fashion_mnist
    import dataclasses
    monkeypatch.setattr(_download, "RETRIES", 1)
    monkeypatch.setattr(mnist, "DATASET", dataclasses.replace(mnist.DATASET, mirrors=()))
    monkeypatch.setattr(fashion_mnist, "DATASET", dataclasses.replace(fashion_mnist.DATASET, mirrors=()))
    if not HAVE_REAL_DATA:
        write_idx_dataset(data / "fashion-mnist", 600, 200, seed=0)
    return tmp_path


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"minicnn_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_example(name, argv, capsys):
    result = load_example(name).main(argv)
    out = capsys.readouterr().out
    return result, out


FAST = ["--epochs", "1", "--subset", "512", "--verbose", "0"]


def check_curves(result, out):
    if _have_matplotlib():
        assert Path(result["curves_path"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert result["curves_path"] is None and "matplotlib is not installed" in out


def test_fashion_mnist_cnn(data_env, capsys):
    out_dir = data_env / "out"
    result, out = run_example("fashion_mnist_cnn", FAST + ["--output-dir", str(out_dir), "--threads", "1"], capsys)
    assert re.search(r"421,?642", out), "summary with the reference model's parameter count"
    assert "test accuracy:" in out and "images/second" in out and "training on 1 thread(s)" in out
    assert 0.0 <= result["test_accuracy"] <= 1.0 and result["images_per_second"] > 0
    assert len(result["history"]["loss"]) == 1 and "val_accuracy" in result["history"]
    # validation on a held-out tenth of the training images; the test set is only scored at the end
    assert (result["training_images"], result["validation_images"]) == (460, 52)
    assert "460 training images, 52 held out for validation, 512 test images" in out
    assert os.path.isfile(result["model_path"]) and result["reload_matches"]
    # Nothing half-written is left next to the model.
    assert sorted(p.name for p in out_dir.iterdir() if "tmp" in p.name) == []
    if HAVE_REAL_DATA:
        assert result["test_accuracy"] > 0.4  # 8 Adam steps on real data already beat chance by far
    check_curves(result, out)


def test_fashion_mnist_cnn_valid_padding_recipe(data_env, capsys):
    result, out = run_example("fashion_mnist_cnn", FAST + ["--padding", "valid", "--no-standardize",
                                                           "--output-dir", str(data_env / "out")], capsys)
    assert re.search(r"225,?034", out), "the benchmarks' model: 225,034 parameters"


def test_fashion_mnist_cnn_as_a_script(data_env):
    env = dict(os.environ, PYTHONPATH=str(Path(minicnn.__file__).resolve().parent.parent))
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "fashion_mnist_cnn.py"), "--epochs", "1", "--subset", "256",
         "--batch-size", "128", "--output-dir", str(data_env / "script"), "--verbose", "1"],
        capture_output=True, text=True, timeout=600, env=env, cwd=str(data_env))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "test accuracy:" in proc.stdout
    assert (data_env / "script" / "fashion_mnist_cnn.minicnn").is_file()


def test_lenet5_picks_fashion_mnist_without_mnist(data_env, capsys):
    result, out = run_example("lenet5", FAST + ["--output-dir", str(data_env / "out")], capsys)
    assert result["dataset"] == "fashion_mnist" and "fashion_mnist: 512 training" in out
    assert re.search(r"44,?426", out), "LeNet-5's parameter count in the summary"
    assert os.path.isfile(result["model_path"])
    check_curves(result, out)


def test_lenet5_uses_mnist_when_present(data_env, capsys):
    write_idx_dataset(data_env / "data" / "mnist", 300, 100, seed=1)
    result, out = run_example("lenet5", FAST + ["--pool", "max", "--output-dir", str(data_env / "out")], capsys)
    assert result["dataset"] == "mnist" and "mnist: 300 training and 100 test images" in out


def test_resnet_fashion(data_env, capsys):
    result, out = run_example(
        "resnet_fashion", ["--epochs", "1", "--subset", "256", "--width", "4", "--batch-size", "64",
                           "--verbose", "0", "--output-dir", str(data_env / "out")], capsys)
    for name in ("flip", "shift", "stage3_block2_add", "pool", "logits"):
        assert name in out  # the summary lists the augmentation and the residual structure
    assert 0.0 <= result["test_accuracy"] <= 1.0 and os.path.isfile(result["model_path"])
    restored = minicnn.saving.load_model(result["model_path"])
    assert [type(layer).__name__ for layer in restored.layers][1:3] == ["RandomFlip", "RandomTranslation"]


def test_visualize_features_without_matplotlib(data_env, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    result, out = run_example("visualize_features",
                              ["--subset", "256", "--output-dir", str(data_env / "viz")], capsys)
    assert "feature maps" in out
    assert "matplotlib, which is not installed" in out and result["pngs"] is None
    arrays = np.load(result["npz"])
    assert arrays["filters"].shape == (32, 3, 3)
    shapes = [m.shape for _, m in result["feature_maps"]]
    assert shapes == [(28, 28, 32), (14, 14, 64)]  # padding="same"
    assert all(m.min() >= 0 for _, m in result["feature_maps"])  # ReLU outputs


@pytest.mark.skipif(not _have_matplotlib(), reason="matplotlib not installed: the PNG path cannot run "
                    "(the no-matplotlib path is tested above)")
def test_visualize_features_pngs(data_env, capsys):
    saved = load_example("fashion_mnist_cnn").main(FAST + ["--output-dir", str(data_env / "m")])
    capsys.readouterr()
    result, out = run_example("visualize_features", ["--model", saved["model_path"], "--index", "3",
                                                     "--output-dir", str(data_env / "viz")], capsys)
    for png in result["pngs"]:
        assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_functional_custom_layer(data_env, capsys):
    result, out = run_example("functional_custom_layer", FAST + ["--output-dir", str(data_env / "out")], capsys)
    assert result["round_trip"] and os.path.isfile(result["model_path"])
    assert "SqueezeExcite" in out or "attention" in out


def test_gradcheck_example(capsys):
    result, out = run_example("gradcheck_example", ["--threads", "1", "--seed", "3"], capsys)
    assert result == {"swish": True, "broken_swish": False, "conv2d": True, "max_pool2d": True, "tiny_net": True}
    assert re.search(r"BrokenSwish \(wrong backward\)\s+FAILED", out) and "all as expected" in out


@pytest.fixture
def no_mpi(monkeypatch):
    """minicnn.distribute as a group of one, with mpi4py hidden (MPI never starts in pytest)."""
    from minicnn import distribute

    monkeypatch.setitem(sys.modules, "mpi4py", None)
    distribute.shutdown()
    yield
    distribute.shutdown()


def test_distributed_fashion_mnist_in_one_process(data_env, capsys, no_mpi):
    result, out = run_example("distributed_fashion_mnist",
                              FAST + ["--output-dir", str(data_env / "out")], capsys)
    assert result["ranks"] == 1 and result["allreduce_ms_per_step"] == 0.0
    assert os.path.isfile(result["model_path"]) and result["test_accuracy"] > 0.3
    assert "1 rank(s)" in out and "test accuracy" in out


def test_distributed_fashion_mnist_on_two_ranks(data_env):
    pytest.importorskip("mpi4py", reason="the minicnn[mpi] extra (part of minicnn[test]) is not installed")
    mpiexec = Path(sys.executable).with_name("mpiexec")
    command = [str(mpiexec if mpiexec.exists() else "mpiexec"), "-n", "2", sys.executable,
               str(EXAMPLES / "distributed_fashion_mnist.py"), *FAST, "--verbose", "1",
               "--output-dir", str(data_env / "out")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240,
                          env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    # rank 0 alone prints: one progress bar, one result line
    assert out.count("test accuracy") == 1 and out.count("4/4 ") == 1, out  # 460 images / 128
    assert "2 rank(s)" in out and "global batch 64 x 2 = 128" in out
    assert float(re.search(r"allreduce: ([0-9.]+) ms per step", out).group(1)) > 0
    assert sorted(os.listdir(data_env / "out")) == ["distributed_fashion_mnist.minicnn"]


TRAINING_EXAMPLES = ["fashion_mnist_cnn", "lenet5", "resnet_fashion", "visualize_features",
                     "functional_custom_layer", "distributed_fashion_mnist"]


@pytest.mark.parametrize("name", TRAINING_EXAMPLES + ["gradcheck_example"])
def test_examples_take_the_flags_the_readme_names(name, capsys):
    """README: the training examples take --epochs, --batch-size, --threads, --subset N and
    --validation-split; gradcheck_example.py, which trains nothing, takes --threads and --seed."""
    with pytest.raises(SystemExit) as info:
        load_example(name).main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    flags = ["--threads", "--seed"]
    if name in TRAINING_EXAMPLES:
        flags += ["--epochs", "--batch-size", "--subset", "--validation-split"]
    assert all(flag in out for flag in flags), out


@pytest.mark.skipif(not _have_matplotlib(), reason="reads the legend of the matplotlib figure")
def test_curves_call_the_held_out_data_validation(tmp_path, monkeypatch):
    common = load_example("_common")
    figures = []
    monkeypatch.setattr(common, "save_figure", lambda fig, path: figures.append(fig))

    class History:
        history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.6], "accuracy": [0.5, 0.7],
                   "val_accuracy": [0.4, 0.6]}

    common.plot_history(History(), str(tmp_path / "c.png"), "t")
    labels = [t.get_text() for ax in figures[0].axes for t in ax.get_legend().get_texts()]
    assert labels == ["train loss", "validation loss", "train accuracy", "validation accuracy"]


def test_readme_set_up_installs_what_the_main_example_promises():
    """The README's first command promises a PNG of the curves: it must install matplotlib."""
    root = EXAMPLES.parent
    if not (root / "README.md").is_file():  # a wheel test run copies tests/, examples/, pyproject.toml
        pytest.skip("README.md is not next to examples/")
    readme = (root / "README.md").read_text()
    first = re.search(r"```bash\n(pip install [^\n]*)\n", readme).group(1)
    extra = re.match(r'pip install "\.\[(\w+)\]" && python examples/fashion_mnist_cnn.py', first)
    assert extra, first
    listed = re.search(rf"^{extra.group(1)} = \[([^\]]*)\]", (root / "pyproject.toml").read_text(), re.M)
    assert listed and '"matplotlib' in listed.group(1), listed
