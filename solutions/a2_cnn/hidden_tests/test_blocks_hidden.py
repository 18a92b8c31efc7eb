"""Hidden tests: the building blocks against the reference, forward and every gradient.

The blocks chain the fast core_ext layers with your ReLU and affine layers, so a bug in those
shows here too. The convolutions get biases around -1 so that some pooling windows hold no
positive value: their gradient must stop at the ReLU.
"""

import numpy as np
import pytest

from grader.compare import check_backward, check_forward

pytestmark = pytest.mark.task("a2.blocks")

# (x shape, w shape, stride, pad)
CONV_CASES = [((2, 3, 6, 5), (4, 3, 3, 3), 1, 1), ((1, 2, 7, 7), (3, 2, 2, 3), 2, 0)]
# (x shape, w shape, stride, pad, pool_height, pool_width, pool stride)
POOL_CASES = [((2, 3, 8, 8), (4, 3, 3, 3), 1, 1, 2, 2, 2),
              ((3, 2, 7, 6), (3, 2, 3, 2), 1, 1, 3, 2, 2)]
AFFINE_CASES = [((1, 3), 2), ((5, 7), 6), ((3, 2, 3, 3), 4)]


def shape_id(value):
    return "x".join(map(str, value)) if isinstance(value, tuple) else str(value)


def case_id(case):
    return "-".join(map(shape_id, case))


def conv_inputs(rng, x_shape, w_shape, stride, pad):
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0]) - 1.0
    return x, w, b, {"stride": stride, "pad": pad}


def pool_inputs(rng, case):
    *conv, ph, pw, ps = case
    return (*conv_inputs(rng, *conv), {"pool_height": ph, "pool_width": pw, "stride": ps})


@pytest.mark.points(2)
@pytest.mark.parametrize("case", CONV_CASES, ids=case_id)
def test_conv_relu(student, ref, rng, case):
    """conv_relu_forward/backward: out, dx, dw and db match the reference"""
    check_forward(student, ref, "conv_relu", *conv_inputs(rng, *case))
    check_backward(student, ref, "conv_relu", conv_inputs(rng, *case), ("dx", "dw", "db"), rng)


@pytest.mark.points(3)
@pytest.mark.parametrize("case", POOL_CASES, ids=case_id)
def test_conv_relu_pool(student, ref, rng, case):
    """conv_relu_pool_forward/backward (max pooling): out, dx, dw and db match the reference"""
    check_forward(student, ref, "conv_relu_pool", *pool_inputs(rng, case))
    check_backward(student, ref, "conv_relu_pool", pool_inputs(rng, case), ("dx", "dw", "db"), rng)


@pytest.mark.points(2)
@pytest.mark.parametrize("xshape,m", AFFINE_CASES, ids=[shape_id(s) for s, _ in AFFINE_CASES])
def test_affine_relu(student, ref, rng, xshape, m):
    """affine_relu_forward/backward: out, dx, dw and db match the reference"""
    d = int(np.prod(xshape[1:]))
    x, w, b = rng.standard_normal(xshape), rng.standard_normal((d, m)), rng.standard_normal(m)
    if x.reshape(len(x), -1)[0] @ w[:, 0] + b[0] < 0:  # a live unit, or zeros would be right
        w[:, 0], b[0] = -w[:, 0], -b[0]
    args = x, w, b
    check_forward(student, ref, "affine_relu", *args)
    check_backward(student, ref, "affine_relu", args, ("dx", "dw", "db"),
                   rng.standard_normal((xshape[0], m)))
