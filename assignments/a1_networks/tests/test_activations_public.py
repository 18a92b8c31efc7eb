"""Public checks for the activations of A1: small examples worked by hand and numerical
gradients of your own forward passes (on inputs drawn from the run's --seed). Run them with
`layerlab check a1`; the grade also uses hidden tests on random shapes and large inputs.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, expect_tuple
from grader.numeric import away_from_zero, check_against_numerical_gradients, forward_first


def check_activation_gradient(student, rng, layer, x, *params):
    """dx of ``<layer>_backward`` agrees with the numerical gradient of your forward."""
    __tracebackhide__ = True
    check_against_numerical_gradients(student, f"{layer}_forward", f"{layer}_backward",
                                      (x, *params), ("dx",), rng.standard_normal(x.shape))


def check_quiet(student, func):
    __tracebackhide__ = True
    if student.warnings:
        raise Mismatch(f"{func} warned on inputs of magnitude 1e3; never take exp of a "
                       "large positive number")


@pytest.mark.task("a1.relu")
@pytest.mark.points(1)
def test_relu_example(student):
    """relu_forward and relu_backward on a small example"""
    x = np.array([[-2.0, 0.0, 3.0], [1.5, -0.1, 0.2]])
    out, cache = student.forward("relu_forward", x)
    check_array("out", out, np.array([[0.0, 0.0, 3.0], [1.5, 0.0, 0.2]]))
    dx = student.relu_backward(np.ones_like(x) * 2.0, cache)
    check_array("dx", dx, np.array([[0.0, 0.0, 2.0], [2.0, 0.0, 2.0]]))


LEAKY_X = np.array([[-2.0, 0.0, 3.0]])


def check_leaky_relu_example(student):
    """leaky_relu_forward on the example with alpha = 0.1; returns the cache."""
    __tracebackhide__ = True
    out, cache = student.forward("leaky_relu_forward", LEAKY_X, 0.1)
    check_array("out", out, np.array([[-0.2, 0.0, 3.0]]))
    return cache


@pytest.mark.task("a1.leaky_relu")
@pytest.mark.points(1)
def test_leaky_relu_example(student):
    """leaky_relu_forward/backward: [-2, 0, 3] gives [-2*alpha, 0, 3], slope alpha at x = 0"""
    cache = check_leaky_relu_example(student)
    check_array("dx", student.leaky_relu_backward(np.full((1, 3), 2.0), cache),
                np.array([[0.2, 0.2, 2.0]]))
    out, _ = student.forward("leaky_relu_forward", LEAKY_X)
    check_array("out with the default alpha = 0.01", out, np.array([[-0.02, 0.0, 3.0]]))


@pytest.mark.task("a1.leaky_relu")
@pytest.mark.points(1)
def test_leaky_relu_backward_numerical(student, rng):
    """leaky_relu_backward: dx agrees with the numerical gradient of your forward"""
    with forward_first("leaky_relu_forward on the worked example"):
        check_leaky_relu_example(student)
    check_activation_gradient(student, rng, "leaky_relu", away_from_zero(rng, (3, 4)), 0.2)


PRELU_X = np.array([[-2.0, 3.0], [1.0, -4.0], [-1.0, -1.0]])


def check_prelu_example(student):
    """prelu_forward on the example with alpha = 0.1 for both features; returns the cache."""
    __tracebackhide__ = True
    out, cache = student.forward("prelu_forward", PRELU_X, np.full(2, 0.1))
    check_array("out", out, np.array([[-0.2, 3.0], [1.0, -0.4], [-0.1, -0.1]]))
    return cache


@pytest.mark.task("a1.prelu")
@pytest.mark.points(1)
def test_prelu_example(student):
    """prelu_forward/backward: one slope per feature, dalpha summed over the batch"""
    cache = check_prelu_example(student)
    dx, dalpha = expect_tuple(student.prelu_backward(np.ones_like(PRELU_X), cache),
                              ("dx", "dalpha"), "prelu_backward")
    check_array("dx", dx, np.array([[0.1, 1.0], [1.0, 0.1], [0.1, 0.1]]))
    # dalpha[d] = sum over n of dout * x where x <= 0: column 0: -2 - 1, column 1: -4 - 1
    check_array("dalpha", dalpha, np.array([-3.0, -5.0]))


@pytest.mark.task("a1.prelu")
@pytest.mark.points(1)
def test_prelu_backward_numerical(student, rng):
    """prelu_backward: dx and dalpha agree with numerical gradients of your forward"""
    with forward_first("prelu_forward on the worked example"):
        check_prelu_example(student)
    x, alpha = away_from_zero(rng, (4, 3)), np.array([0.1, 0.25, 0.5])
    check_against_numerical_gradients(student, "prelu_forward", "prelu_backward", (x, alpha),
                                      ("dx", "dalpha"), rng.standard_normal(x.shape))


def check_elu_example(student, *, quiet):
    """elu_forward on the example with gamma = 2 (and, if ``quiet``, without warnings)."""
    __tracebackhide__ = True
    out, _ = student.forward("elu_forward", np.array([[-1e3, -1.0, 0.0, 2.0, 1e3]]), 2.0)
    if quiet:
        check_quiet(student, "elu_forward")
    check_array("out", out, np.array([[-2.0, 2.0 * (np.exp(-1.0) - 1.0), 0.0, 2.0, 1e3]]))


@pytest.mark.task("a1.elu")
@pytest.mark.points(1)
def test_elu_example(student):
    """elu_forward: saturates at -gamma for very negative x, is x for x > 0, and never warns"""
    check_elu_example(student, quiet=True)


@pytest.mark.task("a1.elu")
@pytest.mark.points(1)
def test_elu_backward_numerical(student, rng):
    """elu_backward: dx agrees with the numerical gradient of your forward"""
    with forward_first("elu_forward on the worked example"):
        check_elu_example(student, quiet=False)
    check_activation_gradient(student, rng, "elu", away_from_zero(rng, (3, 4)), 1.5)


SIGMOID_X = np.array([0.0, np.log(3.0), -1e3, 1e3])


def check_sigmoid_example(student, *, quiet):
    """sigmoid_forward on the example (and, if ``quiet``, without warnings); returns the cache."""
    __tracebackhide__ = True
    out, cache = student.forward("sigmoid_forward", SIGMOID_X)
    if quiet:
        check_quiet(student, "sigmoid_forward")
    check_array("out", out, np.array([0.5, 0.75, 0.0, 1.0]))
    return cache


@pytest.mark.task("a1.sigmoid")
@pytest.mark.points(1)
def test_sigmoid_example(student):
    """sigmoid_forward/backward: 0.5 at 0, 0.75 at ln 3, 0 and 1 at -1e3 and 1e3 (no warnings)"""
    cache = check_sigmoid_example(student, quiet=True)
    dx = student.sigmoid_backward(np.ones(4), cache)
    check_array("dx", dx, np.array([0.25, 0.1875, 0.0, 0.0]))


@pytest.mark.task("a1.sigmoid")
@pytest.mark.points(1)
def test_sigmoid_backward_numerical(student, rng):
    """sigmoid_backward: dx agrees with the numerical gradient of your forward"""
    with forward_first("sigmoid_forward on the worked example"):
        check_sigmoid_example(student, quiet=False)
    check_activation_gradient(student, rng, "sigmoid", away_from_zero(rng, (3, 4)) * 2)


def check_tanh_example(student):
    """tanh_forward on the example; returns the cache."""
    __tracebackhide__ = True
    out, cache = student.forward("tanh_forward", np.array([0.0, np.log(2.0)]))
    check_array("out", out, np.array([0.0, 0.6]))
    return cache


@pytest.mark.task("a1.tanh")
@pytest.mark.points(1)
def test_tanh_example(student):
    """tanh_forward/backward: tanh(0) = 0 with slope 1, tanh(ln 2) = 0.6 with slope 0.64"""
    cache = check_tanh_example(student)
    check_array("dx", student.tanh_backward(np.ones(2), cache), np.array([1.0, 0.64]))


@pytest.mark.task("a1.tanh")
@pytest.mark.points(1)
def test_tanh_backward_numerical(student, rng):
    """tanh_backward: dx agrees with the numerical gradient of your forward"""
    with forward_first("tanh_forward on the worked example"):
        check_tanh_example(student)
    check_activation_gradient(student, rng, "tanh", away_from_zero(rng, (3, 4)))
