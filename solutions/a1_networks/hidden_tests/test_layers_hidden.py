"""Hidden tests: affine against the reference, every gradient, several shapes."""

import numpy as np
import pytest

from grader.compare import check_backward, check_forward

# (shape of x, M): batch of one, odd sizes, and inputs with several trailing dimensions
AFFINE_SHAPES = [((1, 3), 2), ((5, 7), 3), ((4, 3, 5), 6), ((3, 2, 3, 3), 1)]


def affine_inputs(rng, xshape, m):
    d = int(np.prod(xshape[1:]))
    return rng.standard_normal(xshape), rng.standard_normal((d, m)), rng.standard_normal(m)


def shape_id(value):
    return "x".join(map(str, value)) if isinstance(value, tuple) else str(value)


@pytest.mark.task("a1.affine")
@pytest.mark.points(4)
@pytest.mark.parametrize("xshape,m", AFFINE_SHAPES, ids=[shape_id(s) for s, _ in AFFINE_SHAPES])
def test_affine_forward(student, ref, rng, xshape, m):
    """affine_forward: out matches the reference"""
    check_forward(student, ref, "affine", *affine_inputs(rng, xshape, m))


@pytest.mark.task("a1.affine")
@pytest.mark.points(6)
@pytest.mark.parametrize("xshape,m", AFFINE_SHAPES, ids=[shape_id(s) for s, _ in AFFINE_SHAPES])
def test_affine_backward(student, ref, rng, xshape, m):
    """affine_backward: dx, dw and db match the reference"""
    args = affine_inputs(rng, xshape, m)
    check_backward(student, ref, "affine", args, ("dx", "dw", "db"),
                   rng.standard_normal((xshape[0], m)))
