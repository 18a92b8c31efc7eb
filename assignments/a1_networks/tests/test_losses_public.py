"""Public checks for the losses of A1: small examples worked by hand and numerical gradients of
your own losses (on inputs drawn from the run's --seed). Run them with `layerlab check a1`; the
grade also uses hidden tests on random shapes and large inputs.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_scalar, expect_tuple
from grader.numeric import away_from_zero, check_loss_against_numerical_gradient, forward_first


def loss_and_dx(student, loss, x, y):
    __tracebackhide__ = True
    return expect_tuple(getattr(student, loss)(x, y), ("loss", "dx"), loss)


def check_quiet(student, func):
    __tracebackhide__ = True
    if student.warnings:
        raise Mismatch(f"{func} warned on inputs of magnitude 1e3; never take exp of a "
                       "large positive number")


def check_softmax_example(student):
    __tracebackhide__ = True
    loss, _ = loss_and_dx(student, "softmax_loss", np.zeros((4, 5)), np.array([0, 1, 2, 3]))
    check_scalar("loss", loss, np.log(5))


@pytest.mark.task("a1.softmax")
@pytest.mark.points(1)
def test_softmax_uniform_scores(student):
    """softmax_loss: equal scores over C classes give loss log(C)"""
    check_softmax_example(student)


@pytest.mark.task("a1.softmax")
@pytest.mark.points(1)
def test_softmax_gradient_numerical(student, rng):
    """softmax_loss: dx agrees with the numerical gradient of your loss"""
    with forward_first("softmax_loss of equal scores"):
        check_softmax_example(student)
    check_loss_against_numerical_gradient(student, "softmax_loss", rng.standard_normal((3, 4)),
                                          np.array([0, 3, 1]))


@pytest.mark.task("a1.svm")
@pytest.mark.points(1)
def test_svm_example(student):
    """svm_loss: margins max(0, s_j - s_y + 1), averaged over the batch"""
    x = np.array([[3.0, 1.0, 2.5], [0.0, 2.0, 2.5]])
    y = np.array([0, 1])
    # row 0: max(0, 1-3+1) + max(0, 2.5-3+1) = 0 + 0.5; row 1: max(0, 0-2+1) + max(0, 2.5-2+1) = 1.5
    loss, dx = loss_and_dx(student, "svm_loss", x, y)
    check_scalar("loss", loss, 1.0)
    check_array("dx", dx, np.array([[-0.5, 0.0, 0.5], [0.0, -0.5, 0.5]]))


# x - y = [[0, 2], [-2, 4]] for the MSE and MAE examples
X = np.array([[1.0, 2.0], [3.0, 4.0]])
Y = np.array([[1.0, 0.0], [5.0, 0.0]])


def check_mse_example(student):
    """The loss of the MSE example; returns dx."""
    __tracebackhide__ = True
    loss, dx = loss_and_dx(student, "mse_loss", X, Y)
    check_scalar("loss", loss, (0 + 4 + 4 + 16) / 4)
    return dx


@pytest.mark.task("a1.mse")
@pytest.mark.points(1)
def test_mse_example(student):
    """mse_loss: the mean of (x - y)^2 over all 4 elements, dx = 2 (x - y) / 4"""
    check_array("dx", check_mse_example(student), np.array([[0.0, 1.0], [-1.0, 2.0]]))


@pytest.mark.task("a1.mse")
@pytest.mark.points(1)
def test_mse_gradient_numerical(student, rng):
    """mse_loss: dx agrees with the numerical gradient of your loss"""
    with forward_first("mse_loss on the worked example"):
        check_mse_example(student)
    check_loss_against_numerical_gradient(student, "mse_loss", rng.standard_normal((3, 4)),
                                          rng.standard_normal((3, 4)))


def check_mae_example(student):
    """The loss of the MAE example; returns dx."""
    __tracebackhide__ = True
    loss, dx = loss_and_dx(student, "mae_loss", X, Y)
    check_scalar("loss", loss, (0 + 2 + 2 + 4) / 4)
    return dx


@pytest.mark.task("a1.mae")
@pytest.mark.points(1)
def test_mae_example(student):
    """mae_loss: the mean of |x - y| over all 4 elements, dx = sign(x - y) / 4, 0 where x == y"""
    check_array("dx", check_mae_example(student), np.array([[0.0, 0.25], [-0.25, 0.25]]))


@pytest.mark.task("a1.mae")
@pytest.mark.points(1)
def test_mae_gradient_numerical(student, rng):
    """mae_loss: dx agrees with the numerical gradient of your loss"""
    with forward_first("mae_loss on the worked example"):
        check_mae_example(student)
    y = rng.standard_normal((3, 4))
    check_loss_against_numerical_gradient(student, "mae_loss", y + away_from_zero(rng, (3, 4)), y)


def check_bce_example(student, *, quiet):
    """The loss of the BCE example (and, if ``quiet``, no warnings); returns dx."""
    __tracebackhide__ = True
    x = np.array([[0.0, 0.0], [1e3, -1e3]])
    y = np.array([[1.0, 0.0], [1.0, 1.0]])
    loss, dx = loss_and_dx(student, "bce_with_logits_loss", x, y)
    if quiet:
        check_quiet(student, "bce_with_logits_loss")
    # per element: log 2, log 2, 0 (confidently right), 1000 (confidently wrong); mean over 4
    check_scalar("loss", loss, (2 * np.log(2.0) + 1000.0) / 4)
    return dx


@pytest.mark.task("a1.bce")
@pytest.mark.points(1)
def test_bce_example(student):
    """bce_with_logits_loss: log 2 at x = 0; 0 and 1000 at x = +-1e3, without warnings"""
    dx = check_bce_example(student, quiet=True)
    # (sigmoid(x) - y) / 4
    check_array("dx", dx, np.array([[-0.125, 0.125], [0.0, -0.25]]))


@pytest.mark.task("a1.bce")
@pytest.mark.points(1)
def test_bce_gradient_numerical(student, rng):
    """bce_with_logits_loss: dx agrees with the numerical gradient of your loss"""
    with forward_first("bce_with_logits_loss on the worked example"):
        check_bce_example(student, quiet=False)
    check_loss_against_numerical_gradient(student, "bce_with_logits_loss",
                                          2 * rng.standard_normal((3, 4)),
                                          rng.uniform(0.0, 1.0, (3, 4)))
