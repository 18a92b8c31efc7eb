"""Public checks for the activations and the regression/binary losses of A1: small examples
worked by hand and numerical gradients of your own forward passes. Run them with
`layerlab check a1`; the grade also uses hidden tests on random shapes and large inputs.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_scalar, expect_tuple
from grader.numeric import numerical_gradient


def check_activation_gradient(student, layer, x, *params):
    """dx of ``<layer>_backward`` agrees with the numerical gradient of your forward."""
    __tracebackhide__ = True
    dout = np.random.default_rng(0).standard_normal(x.shape)
    _, cache = student.forward(f"{layer}_forward", x, *params)
    dx = getattr(student, f"{layer}_backward")(dout, cache)
    out = lambda v: student.forward(f"{layer}_forward", v, *params)[0]  # noqa: E731
    check_array("dx", dx, numerical_gradient(out, x, dout), rtol=1e-5)


def check_loss_gradient(student, loss, x, y):
    """dx of ``loss`` agrees with the numerical gradient of your loss."""
    __tracebackhide__ = True
    def loss_and_dx(v):
        return expect_tuple(getattr(student, loss)(v, y), ("loss", "dx"), loss)

    check_array("dx", loss_and_dx(x)[1], numerical_gradient(lambda v: loss_and_dx(v)[0], x),
                rtol=1e-5)


def check_quiet(student, func):
    __tracebackhide__ = True
    if student.warnings:
        raise Mismatch(f"{func} warned on inputs of magnitude 1e3; never take exp of a "
                       "large positive number")


def away_from_zero(seed, shape):
    """Random values with 0.1 <= |x| <= 2: no kink within a finite-difference step."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


@pytest.mark.task("a1.leaky_relu")
@pytest.mark.points(1)
def test_leaky_relu_example(student):
    """leaky_relu_forward/backward: [-2, 0, 3] gives [-2*alpha, 0, 3], slope alpha at x = 0"""
    x = np.array([[-2.0, 0.0, 3.0]])
    out, cache = student.forward("leaky_relu_forward", x, 0.1)
    check_array("out", out, np.array([[-0.2, 0.0, 3.0]]))
    check_array("dx", student.leaky_relu_backward(np.full((1, 3), 2.0), cache),
                np.array([[0.2, 0.2, 2.0]]))
    out, _ = student.forward("leaky_relu_forward", x)
    check_array("out with the default alpha = 0.01", out, np.array([[-0.02, 0.0, 3.0]]))


@pytest.mark.task("a1.leaky_relu")
@pytest.mark.points(1)
def test_leaky_relu_backward_numerical(student):
    """leaky_relu_backward: dx agrees with the numerical gradient of your forward"""
    check_activation_gradient(student, "leaky_relu", away_from_zero(1, (3, 4)), 0.2)


@pytest.mark.task("a1.prelu")
@pytest.mark.points(1)
def test_prelu_example(student):
    """prelu_forward/backward: one slope per feature, dalpha summed over the batch"""
    x = np.array([[-2.0, 3.0], [1.0, -4.0], [-1.0, -1.0]])
    alpha = np.full(2, 0.1)
    out, cache = student.forward("prelu_forward", x, alpha)
    check_array("out", out, np.array([[-0.2, 3.0], [1.0, -0.4], [-0.1, -0.1]]))
    dx, dalpha = expect_tuple(student.prelu_backward(np.ones_like(x), cache), ("dx", "dalpha"),
                              "prelu_backward")
    check_array("dx", dx, np.array([[0.1, 1.0], [1.0, 0.1], [0.1, 0.1]]))
    # dalpha[d] = sum over n of dout * x where x <= 0: column 0: -2 - 1, column 1: -4 - 1
    check_array("dalpha", dalpha, np.array([-3.0, -5.0]))


@pytest.mark.task("a1.prelu")
@pytest.mark.points(1)
def test_prelu_backward_numerical(student):
    """prelu_backward: dx and dalpha agree with numerical gradients of your forward"""
    x, alpha = away_from_zero(2, (4, 3)), np.array([0.1, 0.25, 0.5])
    dout = np.random.default_rng(3).standard_normal(x.shape)
    _, cache = student.forward("prelu_forward", x, alpha)
    dx, dalpha = expect_tuple(student.prelu_backward(dout, cache), ("dx", "dalpha"),
                              "prelu_backward")
    out = lambda x_, a_: student.forward("prelu_forward", x_, a_)[0]  # noqa: E731
    check_array("dx", dx, numerical_gradient(lambda v: out(v, alpha), x, dout), rtol=1e-5)
    check_array("dalpha", dalpha, numerical_gradient(lambda v: out(x, v), alpha, dout),
                rtol=1e-5)


@pytest.mark.task("a1.elu")
@pytest.mark.points(1)
def test_elu_example(student):
    """elu_forward: saturates at -gamma for very negative x, is x for x > 0, and never warns"""
    x = np.array([[-1e3, -1.0, 0.0, 2.0, 1e3]])
    out, _ = student.forward("elu_forward", x, 2.0)
    check_quiet(student, "elu_forward")
    check_array("out", out, np.array([[-2.0, 2.0 * (np.exp(-1.0) - 1.0), 0.0, 2.0, 1e3]]))


@pytest.mark.task("a1.elu")
@pytest.mark.points(1)
def test_elu_backward_numerical(student):
    """elu_backward: dx agrees with the numerical gradient of your forward"""
    check_activation_gradient(student, "elu", away_from_zero(4, (3, 4)), 1.5)


@pytest.mark.task("a1.sigmoid")
@pytest.mark.points(1)
def test_sigmoid_example(student):
    """sigmoid_forward/backward: 0.5 at 0, 0.75 at ln 3, 0 and 1 at -1e3 and 1e3 (no warnings)"""
    x = np.array([0.0, np.log(3.0), -1e3, 1e3])
    out, cache = student.forward("sigmoid_forward", x)
    check_quiet(student, "sigmoid_forward")
    check_array("out", out, np.array([0.5, 0.75, 0.0, 1.0]))
    dx = student.sigmoid_backward(np.ones(4), cache)
    check_array("dx", dx, np.array([0.25, 0.1875, 0.0, 0.0]))


@pytest.mark.task("a1.sigmoid")
@pytest.mark.points(1)
def test_sigmoid_backward_numerical(student):
    """sigmoid_backward: dx agrees with the numerical gradient of your forward"""
    check_activation_gradient(student, "sigmoid", away_from_zero(5, (3, 4)) * 2)


@pytest.mark.task("a1.tanh")
@pytest.mark.points(1)
def test_tanh_example(student):
    """tanh_forward/backward: tanh(0) = 0 with slope 1, tanh(ln 2) = 0.6 with slope 0.64"""
    out, cache = student.forward("tanh_forward", np.array([0.0, np.log(2.0)]))
    check_array("out", out, np.array([0.0, 0.6]))
    check_array("dx", student.tanh_backward(np.ones(2), cache), np.array([1.0, 0.64]))


@pytest.mark.task("a1.tanh")
@pytest.mark.points(1)
def test_tanh_backward_numerical(student):
    """tanh_backward: dx agrees with the numerical gradient of your forward"""
    check_activation_gradient(student, "tanh", away_from_zero(6, (3, 4)))


# x - y = [[0, 2], [-2, 4]] for the MSE and MAE examples
X = np.array([[1.0, 2.0], [3.0, 4.0]])
Y = np.array([[1.0, 0.0], [5.0, 0.0]])


@pytest.mark.task("a1.mse")
@pytest.mark.points(1)
def test_mse_example(student):
    """mse_loss: the mean of (x - y)^2 over all 4 elements, dx = 2 (x - y) / 4"""
    loss, dx = expect_tuple(student.mse_loss(X, Y), ("loss", "dx"), "mse_loss")
    check_scalar("loss", loss, (0 + 4 + 4 + 16) / 4)
    check_array("dx", dx, np.array([[0.0, 1.0], [-1.0, 2.0]]))


@pytest.mark.task("a1.mse")
@pytest.mark.points(1)
def test_mse_gradient_numerical(student):
    """mse_loss: dx agrees with the numerical gradient of your loss"""
    rng = np.random.default_rng(7)
    check_loss_gradient(student, "mse_loss", rng.standard_normal((3, 4)),
                        rng.standard_normal((3, 4)))


@pytest.mark.task("a1.mae")
@pytest.mark.points(1)
def test_mae_example(student):
    """mae_loss: the mean of |x - y| over all 4 elements, dx = sign(x - y) / 4, 0 where x == y"""
    loss, dx = expect_tuple(student.mae_loss(X, Y), ("loss", "dx"), "mae_loss")
    check_scalar("loss", loss, (0 + 2 + 2 + 4) / 4)
    check_array("dx", dx, np.array([[0.0, 0.25], [-0.25, 0.25]]))


@pytest.mark.task("a1.mae")
@pytest.mark.points(1)
def test_mae_gradient_numerical(student):
    """mae_loss: dx agrees with the numerical gradient of your loss"""
    y = np.random.default_rng(8).standard_normal((3, 4))
    check_loss_gradient(student, "mae_loss", y + away_from_zero(9, (3, 4)), y)


@pytest.mark.task("a1.bce")
@pytest.mark.points(1)
def test_bce_example(student):
    """bce_with_logits_loss: log 2 at x = 0; 0 and 1000 at x = +-1e3, without warnings"""
    x = np.array([[0.0, 0.0], [1e3, -1e3]])
    y = np.array([[1.0, 0.0], [1.0, 1.0]])
    loss, dx = expect_tuple(student.bce_with_logits_loss(x, y), ("loss", "dx"),
                            "bce_with_logits_loss")
    check_quiet(student, "bce_with_logits_loss")
    # per element: log 2, log 2, 0 (confidently right), 1000 (confidently wrong); mean over 4
    check_scalar("loss", loss, (2 * np.log(2.0) + 1000.0) / 4)
    # (sigmoid(x) - y) / 4
    check_array("dx", dx, np.array([[-0.125, 0.125], [0.0, -0.25]]))


@pytest.mark.task("a1.bce")
@pytest.mark.points(1)
def test_bce_gradient_numerical(student):
    """bce_with_logits_loss: dx agrees with the numerical gradient of your loss"""
    rng = np.random.default_rng(10)
    check_loss_gradient(student, "bce_with_logits_loss", 2 * rng.standard_normal((3, 4)),
                        rng.uniform(0.0, 1.0, (3, 4)))
