"""Hidden tests: the naive convolution and pooling layers against the reference, forward and
every gradient.

The shapes are small (a loop-based layer runs each case in milliseconds) but chosen so that
each classic bug shows. Convolution: N >= 2 and F, C >= 2 almost everywhere (sums over the
batch, filters mixed up with channels), rectangular inputs and kernels with HH > WW and HH < WW
(a row index taken from the width), strides 1, 2 and 3 with pads 0, 1 and 2, and sizes where
the last windows do not fit (floor, not ceil, in the output size). Pooling: windows that tile
the input, leave rows and columns out, overlap (stride below the window size: gradients must
add up) or leave gaps (stride above it); some are rectangular and one covers the whole input.
Max pooling is also run on small integers, so that most windows hold several equal maxima and
the tie rule (the gradient goes to the first maximum in row-major order, only to it) is graded.
"""

import functools

import numpy as np
import pytest

from grader import compare

# the naive layers: conv_forward_naive / conv_backward_naive and so on
check_forward = functools.partial(compare.check_forward, suffix="_naive")
check_backward = functools.partial(compare.check_backward, suffix="_naive")


def shape_id(shape):
    return "x".join(map(str, shape))


# (x shape, w shape, stride, pad)
CONV_CASES = [
    ((1, 1, 5, 5), (1, 1, 3, 3), 1, 0),   # N = 1, square, no padding
    ((2, 3, 7, 5), (4, 3, 3, 2), 2, 1),   # HH > WW, W' drops a window
    ((2, 2, 9, 8), (3, 2, 2, 4), 3, 2),   # HH < WW, stride 3, pad 2, neither size fits
    ((3, 2, 6, 7), (2, 2, 4, 3), 1, 2),   # pad 2 with stride 1
    ((2, 4, 5, 6), (3, 4, 5, 1), 2, 0),   # a kernel as tall as the input, one column wide
    ((2, 1, 8, 11), (2, 1, 3, 5), 3, 1),  # one channel, wide input
    ((4, 3, 12, 11), (5, 3, 3, 3), 1, 1),  # larger, as in a CNN ("same" padding)
]


def conv_id(case):
    x, w, stride, pad = case
    return f"x{shape_id(x)}-w{shape_id(w)}-s{stride}-p{pad}"


def conv_inputs(rng, case):
    x_shape, w_shape, stride, pad = case
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    return x, w, rng.standard_normal(w_shape[0]), {"stride": stride, "pad": pad}


@pytest.mark.task("a2.conv")
@pytest.mark.points(4)
@pytest.mark.parametrize("case", CONV_CASES, ids=conv_id)
def test_conv_forward(student, ref, rng, case):
    """conv_forward_naive: out (shape and values) matches the reference"""
    check_forward(student, ref, "conv", *conv_inputs(rng, case))


@pytest.mark.task("a2.conv")
@pytest.mark.points(6)
@pytest.mark.parametrize("case", CONV_CASES, ids=conv_id)
def test_conv_backward(student, ref, rng, case):
    """conv_backward_naive: dx, dw and db match the reference"""
    check_backward(student, ref, "conv", conv_inputs(rng, case), ("dx", "dw", "db"), rng)


# (x shape, pool_height, pool_width, stride)
POOL_CASES = [
    ((2, 3, 8, 8), 2, 2, 2),  # tiling
    ((1, 2, 7, 9), 2, 2, 2),  # N = 1, the last row and column are left out
    ((2, 2, 6, 6), 3, 3, 1),  # overlapping windows
    ((3, 2, 7, 5), 3, 2, 2),  # rectangular, overlapping in H, the last column left out
    ((2, 2, 9, 7), 2, 3, 3),  # rectangular, gaps between windows
    ((2, 1, 5, 4), 5, 4, 1),  # one window covering the whole input
    ((4, 3, 12, 11), 3, 3, 2),  # larger, overlapping, the last column left out
]


def pool_id(case):
    shape, ph, pw, stride = case
    return f"x{shape_id(shape)}-{ph}x{pw}-s{stride}"


def pool_param(case):
    _, ph, pw, stride = case
    return {"pool_height": ph, "pool_width": pw, "stride": stride}


over_pools = pytest.mark.parametrize("case", POOL_CASES, ids=pool_id)


@pytest.mark.task("a2.max_pool")
@pytest.mark.points(2)
@over_pools
def test_max_pool_forward(student, ref, rng, case):
    """max_pool_forward_naive: out (shape and values) matches the reference"""
    check_forward(student, ref, "max_pool", rng.standard_normal(case[0]), pool_param(case))


@pytest.mark.task("a2.max_pool")
@pytest.mark.points(3)
@over_pools
def test_max_pool_backward(student, ref, rng, case):
    """max_pool_backward_naive: dx matches the reference (distinct values)"""
    check_backward(student, ref, "max_pool", (rng.standard_normal(case[0]), pool_param(case)),
                   ("dx",), rng)


@pytest.mark.task("a2.max_pool")
@pytest.mark.points(3)
@over_pools
def test_max_pool_ties(student, ref, rng, case):
    """max_pool (ties): dx goes to the first maximum of each window in row-major order only"""
    x = rng.integers(-2, 3, case[0]).astype(np.float64)
    check_forward(student, ref, "max_pool", x, pool_param(case))
    check_backward(student, ref, "max_pool", (x, pool_param(case)), ("dx",), rng)


@pytest.mark.task("a2.max_pool")
@pytest.mark.points(1)
def test_max_pool_one_maximum_under_many_windows(student, ref, rng):
    """max_pool_backward_naive: a maximum shared by nine 3x3 windows (stride 1) gets all nine"""
    x = rng.uniform(-1.0, 0.0, (1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0
    param = {"pool_height": 3, "pool_width": 3, "stride": 1}
    _, cache = student.forward("max_pool_forward_naive", x, param)
    dx = student.max_pool_backward_naive(np.ones((1, 1, 3, 3)), cache)
    expected = np.zeros_like(x)
    expected[0, 0, 2, 2] = 9.0
    compare.check_array("dx", dx, expected)


@pytest.mark.task("a2.avg_pool")
@pytest.mark.points(2)
@over_pools
def test_avg_pool_forward(student, ref, rng, case):
    """avg_pool_forward_naive: out (shape and values) matches the reference"""
    check_forward(student, ref, "avg_pool", rng.standard_normal(case[0]), pool_param(case))


@pytest.mark.task("a2.avg_pool")
@pytest.mark.points(3)
@over_pools
def test_avg_pool_backward(student, ref, rng, case):
    """avg_pool_backward_naive: dx matches the reference (overlaps add up, gaps stay 0)"""
    check_backward(student, ref, "avg_pool", (rng.standard_normal(case[0]), pool_param(case)),
                   ("dx",), rng)
