"""The empty-output error of a convolution names the kernel size the input is compared with:
the dilated span when dilation_rate > 1 (it printed the undilated size)."""

import pytest

import minicnn
from minicnn import layers as L


@pytest.mark.parametrize("layer, shape, expected", [
    (lambda: L.Conv2D(2, 3, dilation_rate=4), (8, 8, 1),
     r"smaller than the dilated kernel \(9, 9\) \(\(3, 3\) at dilation_rate \(4, 4\)\)"),
    (lambda: L.Conv2D(2, (3, 2), dilation_rate=(4, 1)), (8, 8, 1), r"dilated kernel \(9, 2\)"),
    (lambda: L.Conv1D(2, 3, dilation_rate=4), (8, 1), r"dilated kernel \(9,\)"),
    (lambda: L.Conv2D(2, 9), (8, 8, 1), r"smaller than the kernel \(9, 9\) with padding='valid'"),
])
def test_empty_output_error_prints_the_dilated_kernel(layer, shape, expected):
    with pytest.raises(ValueError, match=expected):
        minicnn.Sequential([minicnn.Input(shape), layer()])
