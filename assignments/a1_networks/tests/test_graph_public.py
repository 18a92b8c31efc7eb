"""Public checks for the computational graph and XOR: the notes' worked examples, numerical
gradients of your own forward pass (on inputs drawn from the run's --seed) and XOR training.
Run them with `layerlab check a1`.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, expect_tuple
from grader.numeric import check_against_numerical_gradients, forward_first

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def check_square_of_sum_example(student):
    """f at x = 1, y = 2; returns the cache."""
    __tracebackhide__ = True
    f, cache = student.forward("square_of_sum_forward", np.array([1.0]), np.array([2.0]))
    check_array("f", f, np.array([9.0]))
    return cache


@pytest.mark.task("a1.graph")
@pytest.mark.points(1)
def test_square_of_sum_example(student):
    """square_of_sum: x = 1, y = 2 gives f = 9 and df/dx = df/dy = 2(x + y) = 6"""
    cache = check_square_of_sum_example(student)
    dx, dy = expect_tuple(student.square_of_sum_backward(np.array([1.0]), cache), ("dx", "dy"),
                          "square_of_sum_backward")
    check_array("dx", dx, np.array([6.0]))
    check_array("dy", dy, np.array([6.0]))


@pytest.mark.task("a1.graph")
@pytest.mark.points(1)
def test_square_of_sum_numerical(student, rng):
    """square_of_sum_backward: dx, dy agree with numerical gradients of your forward"""
    with forward_first("square_of_sum_forward on the worked example"):
        check_square_of_sum_example(student)
    x, y, df = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    check_against_numerical_gradients(student, "square_of_sum_forward", "square_of_sum_backward",
                                      (x, y), ("dx", "dy"), df)


@pytest.mark.task("a1.xor")
@pytest.mark.points(1)
def test_xor_notes_solution(student):
    """xor_forward: the notes' weights W=[[1,1],[1,1]], c=[0,-1], w=[1,-2], b=0 give [0, 1, 1, 0]"""
    scores = student.xor_forward(XOR_X, np.ones((2, 2)), np.array([0.0, -1.0]),
                                 np.array([1.0, -2.0]), 0.0)
    check_array("scores", scores, np.array([0.0, 1.0, 1.0, 0.0]))


@pytest.mark.task("a1.xor")
@pytest.mark.points(1)
def test_train_xor_seed_0(student):
    """train_xor: seed 0 with the default settings learns XOR (scores > 0.5 only at [0,1], [1,0])"""
    with student.timeout(30):
        params = student.train_xor(seed=0)
    if not isinstance(params, dict) or not {"W", "c", "w", "b"} <= set(params):
        raise Mismatch("train_xor should return a dict with keys 'W', 'c', 'w' and 'b'")
    W, c, w, b = (np.asarray(params[k], dtype=np.float64) for k in ("W", "c", "w", "b"))
    scores = np.maximum(0, XOR_X @ W + c) @ w + b
    if not np.array_equal(scores > 0.5, [False, True, True, False]):
        raise Mismatch(f"the trained network gives scores {np.round(scores, 3)}; expected > 0.5 "
                       "exactly for [0, 1] and [1, 0]")
