"""Public checks for the fully connected layer of A1 (a1.affine): the notes' worked example and
numerical gradients of your own forward pass (on inputs drawn from the run's --seed). Run them
with `layerlab check a1`; the grade also uses hidden tests that check every gradient on random
shapes against a reference implementation.
"""

import numpy as np
import pytest

from grader.compare import check_array
from grader.numeric import check_against_numerical_gradients, forward_first

pytestmark = pytest.mark.task("a1.affine")

# A 2x(2x2) batch, flattened to 2x4 rows [0, 1, 2, 3] and [4, 5, 6, 7]
X = np.arange(8, dtype=float).reshape(2, 2, 2)
W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 2.0]])
B = np.array([0.5, -1.0])


def check_affine_example(student):
    __tracebackhide__ = True
    out, _ = student.forward("affine_forward", X, W, B)
    check_array("out", out, np.array([[-0.5, 8.0], [3.5, 24.0]]))


@pytest.mark.points(1)
def test_affine_forward_example(student):
    """affine_forward: a 2x(2x2) batch flattened to 2x4, times w, plus b"""
    check_affine_example(student)


@pytest.mark.points(2)
def test_affine_backward_numerical(student, rng):
    """affine_backward: dx, dw, db agree with numerical gradients of your affine_forward"""
    with forward_first("affine_forward on the worked example"):
        check_affine_example(student)
    x, w, b = rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    check_against_numerical_gradients(student, "affine_forward", "affine_backward", (x, w, b),
                                      ("dx", "dw", "db"), rng.standard_normal((3, 3)))
