"""Model files written before the optimizer state became Keras-named Variables (with room for
use_ema averages and gradient accumulators) still load, state and all: training resumes where
the old minicnn left off (files and numbers from minicnn_v1_files/make_files.py)."""

import json
import os

import numpy as np
import pytest

import minicnn

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "minicnn_v1_files")


def _expected(name):
    with open(os.path.join(HERE, "expected.json")) as f:
        return json.load(f)["weights_after_one_more_epoch"][name]


@pytest.mark.parametrize("name,cls", [("adam", minicnn.optimizers.Adam),
                                      ("sgd_momentum", minicnn.optimizers.SGD)])
def test_an_old_file_resumes_training_exactly(name, cls):
    model = minicnn.models.load_model(os.path.join(HERE, f"{name}.minicnn"))
    opt = model.optimizer
    assert type(opt) is cls and int(opt.iterations) == 3
    assert all(isinstance(v, minicnn.Variable) for v in opt.variables)
    assert any(np.any(v.numpy() != 0) for v in opt.variables[1:])  # the slots were read
    x = np.sin(np.arange(48, dtype=np.float32) * 0.7).reshape(12, 4)
    y = np.cos(np.arange(12, dtype=np.float32)).reshape(12, 1)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(model.get_weights(), _expected(name), strict=True):
        np.testing.assert_array_equal(got, np.asarray(want, dtype=np.float32))
