"""The compiled ``*_into`` entry points check every array they are given before they run: a wrong
shape (an undersized output or argmax would be written past its end), dtype or layout, or a
geometry the loops cannot serve, is a ValueError naming the argument -- never a crash."""

import numpy as np
import pytest

from minicnn._kernels import _conv, _elementwise, _norm, _optim, _pool

f32 = np.float32


def z(*shape, dtype=f32):
    return np.zeros(shape, dtype)


X, K, Y = z(2, 6, 6, 3), z(3, 3, 3, 4), z(2, 4, 4, 4)
GEOM = (1, 1, 1, 1, 0, 0, 1)  # sh, sw, dh, dw, pt, pl, groups

CASES = [
    # conv forward
    (lambda: _conv.conv2d_forward_into(X, K, None, z(1, 4, 4, 4), *GEOM), r"output must have shape \(2, 4, 4, 4\)"),
    (lambda: _conv.conv2d_forward_into(X, K, None, z(2, 4, 4, 3), *GEOM), r"output must have shape"),
    (lambda: _conv.conv2d_forward_into(X, K, z(3), Y, *GEOM), r"bias must have shape \(4,\)"),
    (lambda: _conv.conv2d_forward_into(X, z(3, 3, 2, 4), None, Y, *GEOM), r"kernel shape .* does not fit"),
    (lambda: _conv.conv2d_forward_into(X, K, None, Y, 0, 1, 1, 1, 0, 0, 1), r"strides must be >= 1"),
    (lambda: _conv.conv2d_forward_into(X, K, None, Y, 1, 1, 1, -1, 0, 0, 1), r"dilation_rate must be >= 1"),
    (lambda: _conv.conv2d_forward_into(X, K, None, Y, 1, 1, 1, 1, -1, 0, 1), r"padding must be >= 0"),
    (lambda: _conv.conv2d_forward_into(X, K, None, Y, 1, 1, 1, 1, 0, 0, 0), r"groups must be >= 1"),
    (lambda: _conv.conv2d_forward_into(X, K, None, z(2, 4, 4, 4, dtype=np.float64), *GEOM), r"dtype mismatch"),
    (lambda: _conv.conv2d_forward_into(X, K, None, z(2, 4, 4, 8)[..., ::2], *GEOM), r"contiguous"),
    # conv backward
    (lambda: _conv.conv2d_backward_input_into(Y, K, z(2, 6, 6, 2), *GEOM), r"kernel shape .* does not fit"),
    (lambda: _conv.conv2d_backward_input_into(z(1, 4, 4, 4), K, X, *GEOM), r"dy must have shape \(2, 4, 4, 4\)"),
    (lambda: _conv.conv2d_backward_kernel_into(X, Y, z(3, 3, 3, 2), *GEOM), r"dy must have shape \(2, 4, 4, 2\)"),
    (lambda: _conv.conv2d_backward_kernel_into(X, Y, K, *GEOM, relu_y=z(2, 4, 4, 3)), r"relu_y must have shape"),
    (lambda: _conv.conv2d_backward_kernel_into(X, Y, K, *GEOM, db=z(2)), r"db must have shape \(4,\)"),
    # elementwise
    (lambda: _elementwise.bias_grad_into(z(10, 4), z(3)), r"db must have shape \(4,\)"),
    (lambda: _elementwise.relu_mask_bias_grad_into(z(10, 4), z(10, 4), z(9, 4), None), r"out must have shape \(10, 4\)"),
    (lambda: _elementwise.relu_mask_bias_grad_into(z(10, 4), z(10, 3), z(10, 4), None), r"y must have shape \(10, 4\)"),
    (lambda: _elementwise.relu_mask_bias_grad_into(z(10, 4), z(10, 4), z(10, 4), z(5)), r"db must have shape \(4,\)"),
    # pooling
    (lambda: _pool.max_pool_forward_into(X, z(1, 3, 3, 3), None, 2, 2, 2, 2, 0, 0), r"y must have shape \(2, 3, 3, 3\)"),
    (lambda: _pool.max_pool_forward_into(X, z(2, 3, 3, 3), z(2, 3, 3, 1, dtype=np.int32), 2, 2, 2, 2, 0, 0),
     r"arg must have shape \(2, 3, 3, 3\)"),
    (lambda: _pool.max_pool_forward_into(X, z(2, 3, 3, 3), z(2, 3, 3, 3, dtype=np.int64), 2, 2, 2, 2, 0, 0),
     r"dtype mismatch"),
    (lambda: _pool.max_pool_forward_into(X, z(2, 5, 3, 3), None, 2, 2, 2, 2, 0, 0), r"holds no input cell"),
    (lambda: _pool.max_pool_forward_into(X, z(2, 3, 3, 3), None, 2, 2, 2, 2, 2, 0), r"holds no input cell"),
    (lambda: _pool.max_pool_forward_into(X, z(2, 3, 3, 3), None, 0, 2, 2, 2, 0, 0), r"pool_size must be >= 1"),
    (lambda: _pool.max_pool_backward_into(z(2, 3, 3, 3), z(2, 3, 3, 3, dtype=np.int32), z(2, 6, 6, 2)),
     r"dy must have shape \(2, 3, 3, 2\)"),
    (lambda: _pool.max_pool_backward_into(z(2, 3, 3, 3), z(2, 3, 2, 3, dtype=np.int32), X), r"arg must have shape"),
    (lambda: _pool.avg_pool_forward_into(X, z(2, 3, 3, 4), 2, 2, 2, 2, 0, 0), r"y must have shape \(2, 3, 3, 3\)"),
    (lambda: _pool.avg_pool_backward_into(z(3, 3, 3, 3), X, 2, 2, 2, 2, 0, 0), r"dy must have shape \(2, 3, 3, 3\)"),
    (lambda: _pool.avg_pool_backward_into(z(2, 4, 3, 3), X, 2, 2, 2, 2, 0, 0), r"holds no input cell"),
    (lambda: _pool.global_avg_forward_into(z(2, 36, 3), z(2, 4)), r"y must have shape \(2, 3\)"),
    (lambda: _pool.global_avg_forward_into(z(2, 0, 3), z(2, 3)), r"cells to pool.* must be >= 1"),
    # batch norm
    (lambda: _norm.bn_stats_into(z(10, 4), z(4, dtype=np.float64), z(3, dtype=np.float64)), r"var must have shape"),
    (lambda: _norm.bn_normalize_into(z(10, 4), z(4), z(4), z(3), z(10, 4)), r"shift must have shape \(4,\)"),
    (lambda: _norm.bn_normalize_into(z(10, 4), z(4), z(4), z(4), z(5, 4)), r"y must have shape \(10, 4\)"),
    (lambda: _norm.bn_backward_sums_into(z(10, 4), z(9, 4), z(4), z(4, dtype=np.float64), z(4, dtype=np.float64)),
     r"x must have shape \(10, 4\)"),
    (lambda: _norm.bn_backward_input_into(z(10, 4), z(10, 4), z(4), z(4), z(4), z(2), z(10, 4), True),
     r"k must have shape \(4,\)"),
    (lambda: _norm.bn_backward_input_into(z(10, 4), z(10, 4), z(4), z(4), z(4), z(4), z(1, 4), True),
     r"gx must have shape \(10, 4\)"),
    # optimizer
    (lambda: _optim.adam_update_into(z(5), z(5), z(4), z(5), 0.1, 0.1, 0.1, 1e-7), r"lengths differ"),
]


@pytest.mark.parametrize("call, match", CASES)
def test_bad_arrays_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_good_arrays_still_run():
    # the checks accept what the Python layer passes: same shapes, one dtype, contiguous
    y = z(2, 4, 4, 4)
    _conv.conv2d_forward_into(np.ones_like(X), np.ones_like(K), np.ones(4, f32), y, *GEOM)
    assert (y == 28).all()
    arg = z(2, 3, 3, 3, dtype=np.int32)
    p = z(2, 3, 3, 3)
    _pool.max_pool_forward_into(np.arange(X.size, dtype=f32).reshape(X.shape), p, arg, 2, 2, 2, 2, 0, 0)
    assert arg[0, 0, 0, 0] == 7 and p[0, 0, 0, 0] == 21
