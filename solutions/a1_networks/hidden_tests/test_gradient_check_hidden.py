"""Hidden tests: numerical gradients on functions the student has not seen."""

import numpy as np
import pytest

from grader.compare import check_array, check_scalar
from grader.wire import Probe

pytestmark = pytest.mark.task("a1.gradcheck")
SHAPES = [(1,), (3, 4), (2, 3, 2)]


@pytest.mark.points(3)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_eval_numerical_gradient(student, rng, shape):
    """eval_numerical_gradient: matches the analytic gradient of a random quadratic"""
    a, b, x = (rng.standard_normal(shape) for _ in range(3))
    grad = student.eval_numerical_gradient(Probe("quadratic", a=a, b=b), x)
    check_array("grad", grad, 2 * a * x + b, rtol=1e-5, atol=1e-7)


@pytest.mark.points(3)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_eval_numerical_gradient_array(student, rng, shape):
    """eval_numerical_gradient_array: matches the analytic pull-back of a * tanh(x)"""
    a, x, df = (rng.standard_normal(shape) for _ in range(3))
    grad = student.eval_numerical_gradient_array(Probe("tanh_scale", a=a), x, df)
    check_array("grad", grad, df * a * (1 - np.tanh(x) ** 2), rtol=1e-5, atol=1e-7)


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_rel_error(student, ref, rng, shape):
    """rel_error: matches the reference on random pairs"""
    # y near x, as a gradient check compares: two independent draws almost surely differ in
    # sign somewhere, where the relative error is exactly 1, so a rel_error returning 1 passed
    x = rng.standard_normal(shape)
    y = x + 1e-3 * rng.standard_normal(shape)
    check_scalar("rel_error", student.rel_error(x, y), ref.rel_error(x, y), rtol=1e-9)
