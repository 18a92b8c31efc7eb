"""Hidden tests: A1's affine, ReLU and softmax layers again, now also on image-shaped inputs."""

import numpy as np
import pytest

from grader.compare import check_backward, check_forward, check_loss

pytestmark = pytest.mark.task("a2.carryover")

# (shape of x, M): a batch of one, odd sizes, and (N, C, H, W) inputs as a CNN feeds them
AFFINE_SHAPES = [((1, 3), 2), ((5, 7), 3), ((3, 2, 3, 3), 4), ((2, 4, 5, 1), 1)]
RELU_SHAPES = [(1, 4), (5, 7), (2, 3, 4, 5)]
SOFTMAX_SHAPES = [(1, 3), (5, 4), (9, 10)]


def shape_id(value):
    return "x".join(map(str, value)) if isinstance(value, tuple) else str(value)


def both_signs(x):
    """x with x.flat[1] > 0 and x.flat[2] < 0 (not among the zeros of test_relu_backward):
    then zeros or the identity are wrong for ReLU, whatever the seed, even on 4 values."""
    x.flat[1], x.flat[2] = abs(x.flat[1]), -abs(x.flat[2])
    return x


def affine_inputs(rng, xshape, m):
    d = int(np.prod(xshape[1:]))
    return rng.standard_normal(xshape), rng.standard_normal((d, m)), rng.standard_normal(m)


@pytest.mark.points(2)
@pytest.mark.parametrize("xshape,m", AFFINE_SHAPES, ids=[shape_id(s) for s, _ in AFFINE_SHAPES])
def test_affine_forward(student, ref, rng, xshape, m):
    """affine_forward: out matches the reference"""
    check_forward(student, ref, "affine", *affine_inputs(rng, xshape, m))


@pytest.mark.points(3)
@pytest.mark.parametrize("xshape,m", AFFINE_SHAPES, ids=[shape_id(s) for s, _ in AFFINE_SHAPES])
def test_affine_backward(student, ref, rng, xshape, m):
    """affine_backward: dx (in the shape of x), dw and db match the reference"""
    check_backward(student, ref, "affine", affine_inputs(rng, xshape, m), ("dx", "dw", "db"),
                   rng.standard_normal((xshape[0], m)))


@pytest.mark.points(1)
@pytest.mark.parametrize("shape", RELU_SHAPES, ids=shape_id)
def test_relu_forward(student, ref, rng, shape):
    """relu_forward: out matches the reference"""
    check_forward(student, ref, "relu", both_signs(rng.standard_normal(shape)))


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", RELU_SHAPES, ids=shape_id)
def test_relu_backward(student, ref, rng, shape):
    """relu_backward: dx matches the reference, including exact zeros in x"""
    x = both_signs(rng.standard_normal(shape))
    x.flat[::3] = 0.0
    check_backward(student, ref, "relu", (x,), ("dx",), rng.standard_normal(shape))


@pytest.mark.points(2)
@pytest.mark.parametrize("n,c", SOFTMAX_SHAPES, ids=[f"{n}x{c}" for n, c in SOFTMAX_SHAPES])
def test_softmax_loss(student, ref, rng, n, c):
    """softmax_loss: loss and dx match the reference, also for scores of magnitude 1e3"""
    check_loss(student, ref, "softmax_loss", rng.standard_normal((n, c)),
               rng.integers(0, c, size=n))
    check_loss(student, ref, "softmax_loss", 1e3 * rng.standard_normal((n, c)),
               rng.integers(0, c, size=n))
