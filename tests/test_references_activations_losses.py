"""Reference activations and regression/binary losses of A1 against numerical gradients,
hand-computed values and inputs of magnitude 1e3."""
import math
import warnings

import numpy as np
import pytest

from gradients import assert_grad  # tests/gradients.py
from solutions.a1_networks import activations, losses

SHAPES = [(1, 1), (1, 5), (3, 5), (2, 3, 4)]


def away_from_zero(rng, shape, low=0.1, high=2.0):
    """Random values with |value| in [low, high]: no kink within a finite-difference step."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def quietly(func, *args):
    """Call func with warnings and floating-point errors (but underflow) turned into errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            return func(*args)


LARGE = np.array([[-3e3, -1e3, -710.0, -1.0, 0.0, 1.0, 710.0, 1e3, 3e3]])

# (name, extra forward args) for the activations whose backward returns dx only
ELEMENTWISE = [("relu", ()), ("leaky_relu", ()), ("leaky_relu", (0.2,)), ("elu", ()),
               ("elu", (0.5,)), ("sigmoid", ()), ("tanh", ())]
ELEMENTWISE_IDS = [name + "".join(f"-{p}" for p in params) for name, params in ELEMENTWISE]


def layer(name):
    return getattr(activations, f"{name}_forward"), getattr(activations, f"{name}_backward")


@pytest.mark.parametrize("name, params", ELEMENTWISE, ids=ELEMENTWISE_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_activation_gradient(name, params, shape):
    forward, backward = layer(name)
    rng = np.random.default_rng(20)
    x = away_from_zero(rng, shape)
    dout = rng.standard_normal(shape)
    out, cache = forward(x, *params)
    assert out.shape == x.shape and out.dtype == np.float64
    assert_grad("dx", backward(dout, cache), lambda v: np.sum(forward(v, *params)[0] * dout), x)


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (4, 3), (6, 1)], ids=str)
def test_prelu_gradients(shape):
    rng = np.random.default_rng(21)
    x = away_from_zero(rng, shape)
    alpha = rng.uniform(0.0, 0.5, shape[1])
    dout = rng.standard_normal(shape)
    _, cache = activations.prelu_forward(x, alpha)
    dx, dalpha = activations.prelu_backward(dout, cache)
    assert dalpha.shape == alpha.shape
    assert_grad("dx", dx, lambda v: np.sum(activations.prelu_forward(v, alpha)[0] * dout), x)
    assert_grad("dalpha", dalpha,
                lambda v: np.sum(activations.prelu_forward(x, v)[0] * dout), alpha)


def test_leaky_relu_hand_computed():
    x = np.array([[-2.0, 0.0, 3.0]])
    out, cache = activations.leaky_relu_forward(x)
    np.testing.assert_allclose(out, [[-0.02, 0.0, 3.0]], rtol=1e-15)
    out, cache = activations.leaky_relu_forward(x, 0.1)
    np.testing.assert_allclose(out, [[-0.2, 0.0, 3.0]], rtol=1e-15)
    # x == 0 takes the alpha side, like relu (whose alpha is 0)
    np.testing.assert_allclose(activations.leaky_relu_backward(np.ones((1, 3)), cache),
                               [[0.1, 0.1, 1.0]], rtol=1e-15)


def test_prelu_hand_computed():
    x = np.array([[-2.0, 3.0], [1.0, -4.0], [-1.0, 0.0]])
    out, cache = activations.prelu_forward(x, np.full(2, 0.1))
    np.testing.assert_allclose(out, [[-0.2, 3.0], [1.0, -0.4], [-0.1, 0.0]], rtol=1e-15)
    dx, dalpha = activations.prelu_backward(np.ones_like(x), cache)
    np.testing.assert_allclose(dx, [[0.1, 1.0], [1.0, 0.1], [0.1, 0.1]], rtol=1e-15)
    np.testing.assert_array_equal(dalpha, [-3.0, -4.0])


def test_prelu_with_alpha_zero_is_relu():
    x = np.random.default_rng(22).standard_normal((5, 3))
    np.testing.assert_array_equal(activations.prelu_forward(x, np.zeros(3))[0],
                                  activations.relu_forward(x)[0])


def test_elu_hand_computed():
    x = np.array([[-1.0, 0.0, 2.0]])
    out, cache = activations.elu_forward(x, 2.0)
    np.testing.assert_allclose(out, [[2.0 * (math.exp(-1.0) - 1.0), 0.0, 2.0]], rtol=1e-15)
    # dx = gamma * exp(x) on the x <= 0 side, 1 on the other
    np.testing.assert_allclose(activations.elu_backward(np.ones((1, 3)), cache),
                               [[2.0 * math.exp(-1.0), 2.0, 1.0]], rtol=1e-15)


def test_sigmoid_and_tanh_hand_computed():
    x = np.array([0.0, math.log(3.0)])
    out, cache = activations.sigmoid_forward(x)
    np.testing.assert_allclose(out, [0.5, 0.75], rtol=1e-15)
    np.testing.assert_allclose(activations.sigmoid_backward(np.ones(2), cache), [0.25, 0.1875],
                               rtol=1e-15)
    out, cache = activations.tanh_forward(np.array([0.0, math.log(2.0)]))
    np.testing.assert_allclose(out, [0.0, 0.6], rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(activations.tanh_backward(np.ones(2), cache), [1.0, 0.64],
                               rtol=1e-15)


def test_sigmoid_is_symmetric():
    x = np.linspace(-40.0, 40.0, 161)
    total = activations.sigmoid_forward(x)[0] + activations.sigmoid_forward(-x)[0]
    np.testing.assert_allclose(total, 1.0, rtol=1e-15)


@pytest.mark.parametrize("name, params", ELEMENTWISE, ids=ELEMENTWISE_IDS)
def test_activation_large_inputs_are_quiet(name, params):
    forward, backward = layer(name)
    out, cache = quietly(forward, LARGE, *params)
    dx = quietly(backward, np.ones_like(LARGE), cache)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))


def test_large_input_values():
    gamma = 2.0
    np.testing.assert_array_equal(activations.elu_forward(LARGE, gamma)[0][0, [0, 1, 2, 7, 8]],
                                  [-gamma, -gamma, -gamma, 1e3, 3e3])
    np.testing.assert_array_equal(activations.sigmoid_forward(LARGE)[0][0, [0, 1, 7, 8]],
                                  [0.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(activations.tanh_forward(LARGE)[0][0, [0, 8]], [-1.0, 1.0])


LOSS_SHAPES = [(1, 1), (1, 5), (4, 3), (2, 3, 4), (7,)]


@pytest.mark.parametrize("shape", LOSS_SHAPES, ids=str)
@pytest.mark.parametrize("name", ["mse_loss", "mae_loss", "bce_with_logits_loss"])
def test_loss_gradient(name, shape):
    rng = np.random.default_rng(23)
    loss_fn = getattr(losses, name)
    y = rng.uniform(0.0, 1.0, shape)
    x = y + away_from_zero(rng, shape)  # x - y away from the kink of |x - y|
    loss, dx = loss_fn(x, y)
    assert isinstance(loss, float)
    assert_grad("dx", dx, lambda v: loss_fn(v, y)[0], x)


def test_mse_and_mae_hand_computed():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    y = np.array([[1.0, 0.0], [5.0, 0.0]])  # x - y = [[0, 2], [-2, 4]]
    loss, dx = losses.mse_loss(x, y)
    assert loss == 6.0  # (0 + 4 + 4 + 16) / 4: the mean over all N * D elements
    np.testing.assert_array_equal(dx, [[0.0, 1.0], [-1.0, 2.0]])
    loss, dx = losses.mae_loss(x, y)
    assert loss == 2.0  # (0 + 2 + 2 + 4) / 4
    np.testing.assert_array_equal(dx, [[0.0, 0.25], [-0.25, 0.25]])  # subgradient 0 at x == y


def test_bce_hand_computed():
    x = np.array([[0.0, 0.0], [1e3, -1e3]])
    y = np.array([[1.0, 0.0], [1.0, 1.0]])
    loss, dx = quietly(losses.bce_with_logits_loss, x, y)
    assert loss == pytest.approx((2 * math.log(2.0) + 1000.0) / 4, rel=1e-15)
    np.testing.assert_array_equal(dx, [[-0.125, 0.125], [0.0, -0.25]])


@pytest.mark.parametrize("shape", [(1, 1), (3, 4), (10,)], ids=str)
def test_bce_matches_the_textbook_formula(shape):
    rng = np.random.default_rng(24)
    x, y = 3 * rng.standard_normal(shape), rng.uniform(0.0, 1.0, shape)
    s = 1 / (1 + np.exp(-x))
    textbook = np.mean(-y * np.log(s) - (1 - y) * np.log(1 - s))
    loss, dx = losses.bce_with_logits_loss(x, y)
    assert loss == pytest.approx(textbook, rel=1e-12)
    np.testing.assert_allclose(dx, (s - y) / x.size, rtol=1e-12)


def test_bce_large_logits_are_quiet():
    x = np.array([[-3e3, -1e3, 1e3, 3e3]])
    y = np.array([[0.0, 1.0, 0.3, 1.0]])
    loss, dx = quietly(losses.bce_with_logits_loss, x, y)
    # per element max(x, 0) - x y (log1p(exp(-|x|)) underflows to 0): 0, 1000, 700, 0
    assert loss == 425.0
    np.testing.assert_allclose(dx, [[0.0, -0.25, 0.175, 0.0]], rtol=1e-15)
