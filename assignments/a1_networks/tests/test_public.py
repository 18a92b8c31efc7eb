"""Public checks for A1: the worked examples of the notes and numerical gradients of your own
forward passes. Run them with `layerlab check a1`. The grade also uses hidden tests that check
every gradient on random shapes against a reference implementation.
"""

import numpy as np
import pytest

from grader.compare import check_array, check_scalar, expect_tuple
from grader.numeric import numerical_gradient
from grader.wire import Probe


@pytest.mark.task("a1.gradcheck")
@pytest.mark.points(1)
def test_gradient_of_w_squared(student):
    """eval_numerical_gradient: L(w) = w^2 at w = 1 has gradient 2 (centred difference)"""
    grad = student.eval_numerical_gradient(Probe("quadratic", a=np.ones(1), b=np.zeros(1)),
                                           np.ones(1), h=1e-4)
    check_array("grad", grad, np.array([2.0]), rtol=1e-9)


@pytest.mark.task("a1.gradcheck")
@pytest.mark.points(1)
def test_gradient_of_array_function(student):
    """eval_numerical_gradient_array: 3*tanh(x) at x = 0 pulls df back as 3*df"""
    df = np.array([1.0, -2.0, 0.5])
    grad = student.eval_numerical_gradient_array(Probe("tanh_scale", a=np.full(3, 3.0)),
                                                 np.zeros(3), df)
    check_array("grad", grad, 3 * df, rtol=1e-6)


@pytest.mark.task("a1.gradcheck")
@pytest.mark.points(1)
def test_rel_error_example(student):
    """rel_error: |1 - 3| / (|1| + |3|) = 0.5, and 0 for equal arrays"""
    check_scalar("rel_error", student.rel_error(np.array([1.0, 2.0]), np.array([3.0, 2.0])), 0.5)
    check_scalar("rel_error(x, x)", student.rel_error(np.ones(3), np.ones(3)), 0.0)


@pytest.mark.task("a1.affine")
@pytest.mark.points(1)
def test_affine_forward_example(student):
    """affine_forward: a 2x(2x2) batch flattened to 2x4, times w, plus b"""
    x = np.arange(8, dtype=float).reshape(2, 2, 2)
    w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 2.0]])
    b = np.array([0.5, -1.0])
    out, _ = student.forward("affine_forward", x, w, b)
    check_array("out", out, np.array([[-0.5, 8.0], [3.5, 24.0]]))


@pytest.mark.task("a1.affine")
@pytest.mark.points(2)
def test_affine_backward_numerical(student):
    """affine_backward: dx, dw, db agree with numerical gradients of your affine_forward"""
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    dout = rng.standard_normal((3, 3))
    _, cache = student.forward("affine_forward", x, w, b)
    dx, dw, db = expect_tuple(student.affine_backward(dout, cache), ("dx", "dw", "db"),
                              "affine_backward")
    out = lambda x_, w_, b_: student.forward("affine_forward", x_, w_, b_)[0]  # noqa: E731
    check_array("dx", dx, numerical_gradient(lambda v: out(v, w, b), x, dout), rtol=1e-5)
    check_array("dw", dw, numerical_gradient(lambda v: out(x, v, b), w, dout), rtol=1e-5)
    check_array("db", db, numerical_gradient(lambda v: out(x, w, v), b, dout), rtol=1e-5)


@pytest.mark.task("a1.relu")
@pytest.mark.points(1)
def test_relu_example(student):
    """relu_forward and relu_backward on a small example"""
    x = np.array([[-2.0, 0.0, 3.0], [1.5, -0.1, 0.2]])
    out, cache = student.forward("relu_forward", x)
    check_array("out", out, np.array([[0.0, 0.0, 3.0], [1.5, 0.0, 0.2]]))
    dx = student.relu_backward(np.ones_like(x) * 2.0, cache)
    check_array("dx", dx, np.array([[0.0, 0.0, 2.0], [2.0, 0.0, 2.0]]))


@pytest.mark.task("a1.softmax")
@pytest.mark.points(1)
def test_softmax_uniform_scores(student):
    """softmax_loss: equal scores over C classes give loss log(C)"""
    loss, dx = expect_tuple(student.softmax_loss(np.zeros((4, 5)), np.array([0, 1, 2, 3])),
                            ("loss", "dx"), "softmax_loss")
    check_scalar("loss", loss, np.log(5))


@pytest.mark.task("a1.softmax")
@pytest.mark.points(1)
def test_softmax_gradient_numerical(student):
    """softmax_loss: dx agrees with the numerical gradient of your loss"""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((3, 4)), np.array([0, 3, 1])
    loss_of = lambda v: expect_tuple(student.softmax_loss(v, y), ("loss", "dx"), "softmax_loss")[0]  # noqa: E731
    check_array("dx", student.softmax_loss(x, y)[1], numerical_gradient(loss_of, x), rtol=1e-5)


@pytest.mark.task("a1.svm")
@pytest.mark.points(1)
def test_svm_example(student):
    """svm_loss: margins max(0, s_j - s_y + 1), averaged over the batch"""
    x = np.array([[3.0, 1.0, 2.5], [0.0, 2.0, 2.5]])
    y = np.array([0, 1])
    # row 0: max(0, 1-3+1) + max(0, 2.5-3+1) = 0 + 0.5; row 1: max(0, 0-2+1) + max(0, 2.5-2+1) = 1.5
    loss, dx = expect_tuple(student.svm_loss(x, y), ("loss", "dx"), "svm_loss")
    check_scalar("loss", loss, 1.0)
    check_array("dx", dx, np.array([[-0.5, 0.0, 0.5], [0.0, -0.5, 0.5]]))
