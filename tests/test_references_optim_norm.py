"""Reference update rules, dropout and normalisation of A1 against hand-computed values and
numerical gradients."""
import numpy as np
import pytest

from gradients import assert_grad  # tests/gradients.py
from solutions.a1_networks import layers, normalization, optim


# -- update rules ------------------------------------------------------------------------------

def test_sgd_default_and_custom_learning_rate():
    w, dw = np.array([1.0, -2.0]), np.array([0.5, 4.0])
    next_w, config = optim.sgd(w, dw)
    np.testing.assert_allclose(next_w, [0.995, -2.04], rtol=1e-15)
    assert config == {"learning_rate": 1e-2}
    np.testing.assert_allclose(optim.sgd(w, dw, {"learning_rate": 0.5})[0], [0.75, -4.0])


def test_momentum_two_steps_by_hand():
    w = np.array([1.0, -1.0])
    config = {"learning_rate": 0.1, "momentum": 0.9}
    w, config = optim.sgd_momentum(w, np.array([1.0, 2.0]), config)
    np.testing.assert_allclose(config["velocity"], [-0.1, -0.2], rtol=1e-15)
    np.testing.assert_allclose(w, [0.9, -1.2], rtol=1e-15)
    # v = 0.9 * [-0.1, -0.2] - 0.1 * [-1, 0.5] = [0.01, -0.23]
    w, config = optim.sgd_momentum(w, np.array([-1.0, 0.5]), config)
    np.testing.assert_allclose(config["velocity"], [0.01, -0.23], rtol=1e-14)
    np.testing.assert_allclose(w, [0.91, -1.43], rtol=1e-14)


def test_momentum_defaults():
    _, config = optim.sgd_momentum(np.zeros(3), np.ones(3))
    assert config["learning_rate"] == 1e-2 and config["momentum"] == 0.9
    np.testing.assert_allclose(config["velocity"], -1e-2 * np.ones(3))


def test_rmsprop_two_steps_by_hand():
    w, config = optim.rmsprop(np.array([1.0]), np.array([2.0]), None)
    assert (config["learning_rate"], config["decay_rate"], config["epsilon"]) == (1e-2, 0.99, 1e-8)
    # cache = 0.01 * 4 = 0.04; step = 0.01 * 2 / (0.2 + 1e-8)
    np.testing.assert_allclose(config["cache"], [0.04], rtol=1e-14)
    np.testing.assert_allclose(w, [1.0 - 0.02 / (0.2 + 1e-8)], rtol=1e-15)
    w, config = optim.rmsprop(w, np.array([-1.0]), config)
    # cache = 0.99 * 0.04 + 0.01 * 1 = 0.0496
    np.testing.assert_allclose(config["cache"], [0.0496], rtol=1e-14)
    np.testing.assert_allclose(w, [1.0 - 0.02 / (0.2 + 1e-8) + 0.01 / (np.sqrt(0.0496) + 1e-8)],
                               rtol=1e-15)


def test_adam_two_steps_by_hand():
    dw1, dw2 = np.array([3.0, -0.5]), np.array([1.0, 0.5])
    w, config = optim.adam(np.zeros(2), dw1)
    assert config["t"] == 1
    np.testing.assert_allclose(config["m"], 0.1 * dw1, rtol=1e-14)
    np.testing.assert_allclose(config["v"], 0.001 * dw1**2, rtol=1e-12)
    # bias correction: m_hat = dw1, v_hat = dw1^2, so the first step is 1e-3 * dw1 / (|dw1| + eps)
    np.testing.assert_allclose(w, -1e-3 * dw1 / (np.abs(dw1) + 1e-8), rtol=1e-12)
    w, config = optim.adam(w, dw2, config)
    assert config["t"] == 2
    m = 0.9 * 0.1 * dw1 + 0.1 * dw2
    v = 0.999 * 0.001 * dw1**2 + 0.001 * dw2**2
    step2 = 1e-3 * (m / (1 - 0.9**2)) / (np.sqrt(v / (1 - 0.999**2)) + 1e-8)
    np.testing.assert_allclose(config["m"], m, rtol=1e-14)
    np.testing.assert_allclose(config["v"], v, rtol=1e-12)
    np.testing.assert_allclose(w, -1e-3 * dw1 / (np.abs(dw1) + 1e-8) - step2, rtol=1e-12)


@pytest.mark.parametrize("rule", [optim.sgd, optim.sgd_momentum, optim.rmsprop, optim.adam])
def test_update_rules_keep_the_callers_arrays(rule):
    w, dw = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    rule(w, dw, None)
    np.testing.assert_array_equal(w, [1.0, 2.0])
    np.testing.assert_array_equal(dw, [0.5, -0.5])


# -- dropout -----------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.3, 0.8])
def test_dropout_train_statistics_and_scaling(p):
    x = np.random.default_rng(0).uniform(0.5, 2.0, (200, 300))
    out, _ = layers.dropout_forward(x, {"p": p, "mode": "train", "seed": 1})
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / p, rtol=1e-15)
    assert abs(kept.mean() - p) < 5 * np.sqrt(p * (1 - p) / x.size)
    # inverted dropout keeps the expected activation: the mean barely moves
    assert abs(out.mean() / x.mean() - 1) < 0.02


def test_dropout_seed_and_test_mode():
    x = np.ones((50, 40))
    a, _ = layers.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 3})
    b, _ = layers.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 3})
    c, _ = layers.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 4})
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    out, cache = layers.dropout_forward(x, {"p": 0.5, "mode": "test"})
    np.testing.assert_array_equal(out, x)
    dout = np.arange(x.size, dtype=float).reshape(x.shape)
    np.testing.assert_array_equal(layers.dropout_backward(dout, cache), dout)


@pytest.mark.parametrize("shape", [(1, 4), (3, 5), (2, 3, 4)])
def test_dropout_gradient(shape):
    rng = np.random.default_rng(1)
    x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
    param = {"p": 0.6, "mode": "train", "seed": 5}
    _, cache = layers.dropout_forward(x, param)
    dx = layers.dropout_backward(dout, cache)
    assert_grad("dx", dx, lambda v: np.sum(layers.dropout_forward(v, param)[0] * dout), x)


# -- batch and layer normalisation -------------------------------------------------------------

def norm_inputs(rng, n, d):
    x = 2.0 * rng.standard_normal((n, d)) + rng.uniform(-3.0, 3.0, d)
    return x, rng.standard_normal(d), rng.standard_normal(d), rng.standard_normal((n, d))


# With two values to normalise x_hat is +-1 up to eps, so dx is O(eps): a larger eps keeps it
# well above the finite-difference noise.
@pytest.mark.parametrize("n, d, eps", [(2, 3, 0.1), (5, 4, 1e-5), (10, 1, 1e-5)])
def test_batchnorm_gradients(n, d, eps):
    x, gamma, beta, dout = norm_inputs(np.random.default_rng(2), n, d)
    param = {"mode": "train", "eps": eps}
    f = lambda x_, g_, b_: normalization.batchnorm_forward(x_, g_, b_, dict(param))[0]  # noqa: E731
    out, cache = normalization.batchnorm_forward(x, gamma, beta, dict(param))
    dx, dgamma, dbeta = normalization.batchnorm_backward(dout, cache)
    assert_grad("dx", dx, lambda v: np.sum(f(v, gamma, beta) * dout), x)
    assert_grad("dgamma", dgamma, lambda v: np.sum(f(x, v, beta) * dout), gamma)
    assert_grad("dbeta", dbeta, lambda v: np.sum(f(x, gamma, v) * dout), beta)


def test_batchnorm_train_output_and_running_statistics():
    x = np.array([[1.0, 10.0], [3.0, 20.0]])  # mean [2, 15], biased variance [1, 25]
    bn_param = {"mode": "train", "momentum": 0.8}
    out, _ = normalization.batchnorm_forward(x, np.array([2.0, 1.0]), np.array([0.0, 5.0]),
                                             bn_param)
    a, b = 2 / np.sqrt(1 + 1e-5), 5 / np.sqrt(25 + 1e-5)
    np.testing.assert_allclose(out, [[-a, 5 - b], [a, 5 + b]], rtol=1e-14)
    np.testing.assert_allclose(bn_param["running_mean"], [0.4, 3.0], rtol=1e-14)
    np.testing.assert_allclose(bn_param["running_var"], [0.2, 5.0], rtol=1e-14)
    normalization.batchnorm_forward(x + 1.0, np.ones(2), np.zeros(2), bn_param)
    np.testing.assert_allclose(bn_param["running_mean"], [0.8 * 0.4 + 0.2 * 3, 0.8 * 3 + 0.2 * 16],
                               rtol=1e-14)
    np.testing.assert_allclose(bn_param["running_var"], [0.8 * 0.2 + 0.2, 0.8 * 5 + 0.2 * 25],
                               rtol=1e-14)


def test_batchnorm_test_mode_uses_running_statistics_and_changes_nothing():
    rng = np.random.default_rng(3)
    x, gamma, beta, _ = norm_inputs(rng, 4, 3)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    bn_param = {"mode": "test", "running_mean": mean.copy(), "running_var": var.copy(),
                "eps": 1e-3}
    out, _ = normalization.batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(out, gamma * (x - mean) / np.sqrt(var + 1e-3) + beta, rtol=1e-14)
    np.testing.assert_array_equal(bn_param["running_mean"], mean)
    np.testing.assert_array_equal(bn_param["running_var"], var)


def test_batchnorm_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        normalization.batchnorm_forward(np.ones((2, 2)), np.ones(2), np.zeros(2), {"mode": "eval"})


@pytest.mark.parametrize("n, d, eps", [(1, 4, 1e-5), (3, 5, 1e-3), (6, 2, 0.1)])
def test_layernorm_gradients(n, d, eps):
    x, gamma, beta, dout = norm_inputs(np.random.default_rng(4), n, d)
    f = lambda x_, g_, b_: normalization.layernorm_forward(x_, g_, b_, {"eps": eps})[0]  # noqa: E731
    out, cache = normalization.layernorm_forward(x, gamma, beta, {"eps": eps})
    dx, dgamma, dbeta = normalization.layernorm_backward(dout, cache)
    assert_grad("dx", dx, lambda v: np.sum(f(v, gamma, beta) * dout), x)
    assert_grad("dgamma", dgamma, lambda v: np.sum(f(x, v, beta) * dout), gamma)
    assert_grad("dbeta", dbeta, lambda v: np.sum(f(x, gamma, v) * dout), beta)


def test_layernorm_normalises_each_sample():
    x = np.array([[1.0, 2.0, 3.0], [10.0, 10.0, 40.0]])  # means 2, 20; variances 2/3, 200
    out, _ = normalization.layernorm_forward(x, np.ones(3), np.zeros(3), {})
    np.testing.assert_allclose(out[0], np.array([-1.0, 0.0, 1.0]) / np.sqrt(2 / 3 + 1e-5),
                               rtol=1e-14)
    np.testing.assert_allclose(out[1], np.array([-10.0, -10.0, 20.0]) / np.sqrt(200 + 1e-5),
                               rtol=1e-14)
