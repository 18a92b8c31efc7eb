"""Reference solutions of A1 against numerical gradients and hand-computed values."""
import math
import warnings

import numpy as np
import pytest

from gradients import assert_grad  # tests/gradients.py
from solutions.a1_networks import activations, gradient_check, layers, losses


def away_from_zero(rng, shape, low=0.1):
    """Random values with |value| in [low, 1]: no ReLU kink within a finite-difference step."""
    return rng.uniform(low, 1.0, shape) * rng.choice([-1.0, 1.0], shape)


@pytest.mark.parametrize("x_shape, m",
                         [((1, 3), 2), ((3, 4, 5), 7), ((5, 2, 3, 1), 4), ((2, 7), 1)])
def test_affine_gradients(x_shape, m):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((int(np.prod(x_shape[1:])), m))
    b = rng.standard_normal(m)
    dout = rng.standard_normal((x_shape[0], m))

    out, cache = layers.affine_forward(x, w, b)
    np.testing.assert_allclose(out, x.reshape(x_shape[0], -1) @ w + b, rtol=1e-12)
    dx, dw, db = layers.affine_backward(dout, cache)

    assert_grad("dx", dx, lambda v: np.sum(layers.affine_forward(v, w, b)[0] * dout), x)
    assert_grad("dw", dw, lambda v: np.sum(layers.affine_forward(x, v, b)[0] * dout), w)
    assert_grad("db", db, lambda v: np.sum(layers.affine_forward(x, w, v)[0] * dout), b)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (2, 3, 4)])
def test_relu_gradient(shape):
    rng = np.random.default_rng(1)
    x = away_from_zero(rng, shape)
    dout = rng.standard_normal(shape)

    out, cache = activations.relu_forward(x)
    np.testing.assert_array_equal(out, np.where(x > 0, x, 0.0))
    dx = activations.relu_backward(dout, cache)

    assert_grad("dx", dx, lambda v: np.sum(activations.relu_forward(v)[0] * dout), x)


def test_relu_gradient_is_zero_at_zero():
    x = np.array([[-1.0, 0.0, 2.0]])
    _, cache = activations.relu_forward(x)
    np.testing.assert_array_equal(activations.relu_backward(np.ones_like(x), cache),
                                  [[0.0, 0.0, 1.0]])


@pytest.mark.parametrize("n, c", [(1, 2), (3, 5), (8, 10), (7, 3)])
def test_softmax_gradient(n, c):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, c))
    y = rng.integers(0, c, n)

    loss, dx = losses.softmax_loss(x, y)
    assert isinstance(loss, float)
    assert_grad("dx", dx, lambda v: losses.softmax_loss(v, y)[0], x)


def test_softmax_large_scores_are_stable():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1e3, 1e3, (5, 7))
    y = rng.integers(0, 7, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dx = losses.softmax_loss(x, y)
        shifted_loss, shifted_dx = losses.softmax_loss(x - 500.0, y)
    assert math.isfinite(loss) and np.all(np.isfinite(dx))
    assert loss == pytest.approx(shifted_loss, rel=1e-12)
    np.testing.assert_allclose(dx, shifted_dx, atol=1e-15)
    np.testing.assert_allclose(dx.sum(axis=1), 0.0, atol=1e-15)


def test_softmax_large_scores_known_value():
    # p(class 1) = e^-1000 / (e^1000 + e^-1000), so the loss is 2000 + log(1 + e^-2000) = 2000.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dx = losses.softmax_loss(np.array([[1000.0, -1000.0]]), np.array([1]))
    assert loss == 2000.0
    np.testing.assert_array_equal(dx, [[1.0, -1.0]])


@pytest.mark.parametrize("n, c", [(1, 1), (1, 10), (4, 3), (9, 1000)])
def test_softmax_uniform_scores_give_log_c(n, c):
    x = np.full((n, c), 3.7)
    y = np.arange(n) % c
    loss, dx = losses.softmax_loss(x, y)
    assert abs(loss - math.log(c)) < 1e-12
    expected = np.full((n, c), 1.0 / c)
    expected[np.arange(n), y] -= 1.0
    np.testing.assert_allclose(dx, expected / n, atol=1e-15)


def svm_scores(rng, n, c):
    """Scores whose hinge margins x_j - x_y + 1 (j != y) all lie at least 0.3 away from 0."""
    y = rng.integers(0, c, n)
    x = rng.integers(-2, 3, (n, c)) + 0.5 + rng.uniform(-0.1, 0.1, (n, c))
    x[np.arange(n), y] -= 0.5
    return x, y


@pytest.mark.parametrize("n, c", [(1, 3), (5, 4), (7, 10)])
def test_svm_gradient(n, c):
    rng = np.random.default_rng(4)
    x, y = svm_scores(rng, n, c)

    loss, dx = losses.svm_loss(x, y)
    assert isinstance(loss, float)
    assert_grad("dx", dx, lambda v: losses.svm_loss(v, y)[0], x)


def test_svm_hand_computed():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 1.0, -2.0]])
    y = np.array([0, 1])
    # Row 0 (correct score 1): margins 2 - 1 + 1 = 2 and 3 - 1 + 1 = 3, sum 5.
    # Row 1 (correct score 1): margins 4 - 1 + 1 = 4 and max(0, -2 - 1 + 1) = 0, sum 4.
    # Loss (5 + 4) / 2 = 4.5. Each positive margin gives +1 to its class and -1 to the
    # correct class, divided by N = 2.
    loss, dx = losses.svm_loss(x, y)
    assert loss == 4.5
    np.testing.assert_array_equal(dx, [[-1.0, 0.5, 0.5], [0.5, -0.5, 0.0]])


def test_numerical_gradient_of_square_is_exact():
    grad = gradient_check.eval_numerical_gradient(lambda w: np.sum(w**2), np.ones(1))
    assert abs(grad[0] - 2.0) < 1e-9


def test_numerical_gradient_matches_analytic():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4))
    original = x.copy()
    grad = gradient_check.eval_numerical_gradient(lambda v: np.sum(v**3), x)
    assert grad.dtype == np.float64 and grad.shape == x.shape
    np.testing.assert_allclose(grad, 3 * original**2, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(x, original)


@pytest.mark.parametrize("shape", [(1,), (2, 3), (3, 1, 5)])
def test_numerical_gradient_array_elementwise(shape):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape)
    c = rng.standard_normal(shape)
    df = rng.standard_normal(shape)
    original = x.copy()
    grad = gradient_check.eval_numerical_gradient_array(lambda v: v * c, x, df)
    assert grad.dtype == np.float64 and grad.shape == x.shape
    np.testing.assert_allclose(grad, df * c, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(x, original)


def test_numerical_gradient_array_matrix_jacobian():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((4, 3))
    x = rng.standard_normal(3)
    df = rng.standard_normal(4)
    grad = gradient_check.eval_numerical_gradient_array(lambda v: a @ v, x, df)
    np.testing.assert_allclose(grad, a.T @ df, rtol=1e-8, atol=1e-10)


def test_numerical_gradient_array_when_f_returns_a_view():
    x = np.array([1.0, -2.0, 3.0])
    df = np.array([0.5, 2.0, -1.0])
    grad = gradient_check.eval_numerical_gradient_array(lambda v: v, x, df)
    np.testing.assert_allclose(grad, df, rtol=1e-8)


def test_rel_error():
    x = np.array([[1.0, 0.0], [2.0, -3.0]])
    assert gradient_check.rel_error(x, x) == 0.0
    # |1 - 3| / (1 + 3) = 0.5 is the largest; 0 vs 0 gives 0 thanks to the 1e-8 floor.
    err = gradient_check.rel_error(np.array([1.0, 0.0, 2.0]), np.array([3.0, 0.0, 2.0]))
    assert isinstance(err, float) and err == 0.5
    # Below the floor the denominator is 1e-8: 1e-9 / 1e-8 = 0.1.
    assert gradient_check.rel_error(np.array([0.0]), np.array([1e-9])) == pytest.approx(0.1)
