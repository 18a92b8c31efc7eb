"""Public checks for the gradient checker of A1 (a1.gradcheck): the notes' worked examples. Run
them with `layerlab check a1`; the grade also uses hidden tests on functions you have not seen.
"""

import numpy as np
import pytest

from grader.compare import check_array, check_scalar
from grader.wire import Probe

pytestmark = pytest.mark.task("a1.gradcheck")


@pytest.mark.points(1)
def test_gradient_of_w_squared(student):
    """eval_numerical_gradient: L(w) = w^2 at w = 1 has gradient 2 (centred difference)"""
    grad = student.eval_numerical_gradient(Probe("quadratic", a=np.ones(1), b=np.zeros(1)),
                                           np.ones(1), h=1e-4)
    check_array("grad", grad, np.array([2.0]), rtol=1e-9)


@pytest.mark.points(1)
def test_gradient_of_array_function(student):
    """eval_numerical_gradient_array: 3*tanh(x) at x = 0 pulls df back as 3*df"""
    df = np.array([1.0, -2.0, 0.5])
    grad = student.eval_numerical_gradient_array(Probe("tanh_scale", a=np.full(3, 3.0)),
                                                 np.zeros(3), df)
    check_array("grad", grad, 3 * df, rtol=1e-6)


@pytest.mark.points(1)
def test_rel_error_example(student):
    """rel_error: |1 - 3| / (|1| + |3|) = 0.5, and 0 for equal arrays"""
    check_scalar("rel_error", student.rel_error(np.array([1.0, 2.0]), np.array([3.0, 2.0])), 0.5)
    check_scalar("rel_error(x, x)", student.rel_error(np.ones(3), np.ones(3)), 0.0)
