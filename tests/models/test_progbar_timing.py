"""The progress bar's clock starts with the epoch: a one-step fit whose step takes over a
second prints a second, not "0s 18us/step" (the bar used to be created after the first step)."""

import re
import time

import numpy as np
import pytest

import minicnn
from minicnn import layers


class Slow(layers.Layer):
    """Identity that takes 1.2 s per call."""

    def call(self, x):
        time.sleep(1.2)
        return x


@pytest.mark.parametrize("verbose", [1, 2])
def test_one_slow_step_shows_its_time(capsys, verbose):
    model = minicnn.Sequential([minicnn.Input((3,)), Slow(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((2, 3), np.float32), np.ones((2, 1), np.float32), batch_size=2, epochs=1,
              verbose=verbose)
    line = [l for l in capsys.readouterr().out.splitlines() if l.startswith("1/1")][-1]
    elapsed, per_step = re.search(r"\s(\d+)s(?: -)? +(\d+(?:s|ms|us))/step", line).groups()
    assert int(elapsed) >= 1 and per_step.endswith("s") and per_step[-2] not in "mu", line
    assert int(per_step[:-1]) >= 1, line
