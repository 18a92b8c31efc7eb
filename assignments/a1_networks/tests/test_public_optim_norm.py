"""Public checks for the A1 update rules, dropout and normalisation: small worked examples and
numerical gradients of your own forward passes. Run them with `layerlab check a1`. The grade
also uses hidden tests: several steps with other hyper-parameters compared with a reference,
and every gradient on random shapes.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_scalar, expect_tuple
from grader.numeric import numerical_gradient


def step(student, rule, w, dw, config):
    __tracebackhide__ = True
    next_w, config = expect_tuple(getattr(student, rule)(w, dw, config), ("next_w", "config"),
                                  rule)
    if not isinstance(config, dict):
        raise Mismatch(f"{rule} returned a {type(config).__name__} as config; expected a dict")
    return next_w, config


def entry(params, key, name="config"):
    """params[key], or an explanation of why it is missing."""
    __tracebackhide__ = True
    if key not in params:
        raise Mismatch(f"{name} has no '{key}' (its keys: {sorted(map(str, params))})")
    return params[key]


@pytest.mark.task("a1.sgd")
@pytest.mark.points(1)
def test_sgd_example(student):
    """sgd: next_w = w - learning_rate * dw, with learning_rate 1e-2 when config is None"""
    w, dw = np.array([1.0, 2.0, 3.0]), np.array([1.0, -2.0, 0.5])
    check_array("next_w (default)", step(student, "sgd", w, dw, None)[0], [0.99, 2.02, 2.995])
    check_array("next_w (lr 0.5)", step(student, "sgd", w, dw, {"learning_rate": 0.5})[0],
                [0.5, 3.0, 2.75])


@pytest.mark.task("a1.momentum")
@pytest.mark.points(1)
def test_sgd_momentum_two_steps(student):
    """sgd_momentum: two steps by hand, v = momentum * v - lr * dw, next_w = w + v"""
    w, dw = np.array([1.0, -1.0]), np.array([1.0, 2.0])
    config = {"learning_rate": 0.1, "momentum": 0.9}
    # step 1: v = -0.1 * dw = [-0.1, -0.2]; step 2: v = 0.9 * v - 0.1 * dw = [-0.19, -0.38]
    w, config = step(student, "sgd_momentum", w, dw, config)
    check_array("next_w after step 1", w, [0.9, -1.2])
    check_array("config['velocity'] after step 1", entry(config, "velocity"), [-0.1, -0.2])
    w, config = step(student, "sgd_momentum", w, dw, config)
    check_array("next_w after step 2", w, [0.71, -1.58])
    check_array("config['velocity'] after step 2", entry(config, "velocity"), [-0.19, -0.38])


@pytest.mark.task("a1.rmsprop")
@pytest.mark.points(1)
def test_rmsprop_first_step(student):
    """rmsprop: from config=None, cache = 0.01 * dw^2 and each weight moves by about 0.1"""
    w, dw = np.array([1.0, 1.0, 0.0]), np.array([2.0, -0.5, 0.1])
    # sqrt(cache) = 0.1 * |dw|, so the step is 1e-2 * dw / (0.1 * |dw| + 1e-8) ~ 0.1 * sign(dw)
    w, config = step(student, "rmsprop", w, dw, None)
    check_array("config['cache']", entry(config, "cache"), 0.01 * dw**2)
    check_array("next_w", w, [0.9, 1.1, -0.1], rtol=1e-5)


@pytest.mark.task("a1.adam")
@pytest.mark.points(1)
def test_adam_first_step(student):
    """adam: thanks to bias correction the first step moves each weight by about learning_rate"""
    w, dw = np.array([0.5, -0.5, 2.0]), np.array([3.0, -0.01, 1e-3])
    # t = 1: m_hat = m / 0.1 = dw and v_hat = v / 0.001 = dw^2, so the step is ~1e-3 * sign(dw)
    w, config = step(student, "adam", w, dw, None)
    check_array("config['m']", entry(config, "m"), 0.1 * dw)
    check_array("config['v']", entry(config, "v"), 0.001 * dw**2)
    check_scalar("config['t']", entry(config, "t"), 1)
    check_array("next_w", w, [0.499, -0.499, 1.999], rtol=1e-7)


@pytest.mark.task("a1.dropout")
@pytest.mark.points(1)
def test_dropout_modes(student):
    """dropout_forward: test mode returns x; train mode keeps ~p of the units, divided by p"""
    x = np.linspace(1.0, 2.0, 10000).reshape(100, 100)
    out, _ = student.forward("dropout_forward", x, {"p": 0.75, "mode": "test"})
    check_array("out (test mode)", out, x)
    out, _ = student.forward("dropout_forward", x, {"p": 0.75, "mode": "train", "seed": 0})
    kept = out != 0 if isinstance(out, np.ndarray) and out.shape == x.shape else True
    check_array("out (train mode)", out, np.where(kept, x / 0.75, 0.0))
    if abs(kept.mean() - 0.75) > 0.03:
        raise Mismatch(f"kept a fraction {kept.mean():.3f} of the units with p = 0.75; "
                       "p is the probability of KEEPING a unit")


@pytest.mark.task("a1.dropout")
@pytest.mark.points(1)
def test_dropout_backward_numerical(student):
    """dropout_backward: dx agrees with numerical gradients of your forward (fixed seed)"""
    rng = np.random.default_rng(2)
    x, dout = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    param = {"p": 0.6, "mode": "train", "seed": 7}
    _, cache = student.forward("dropout_forward", x, param)
    dx = student.dropout_backward(dout, cache)
    out = lambda v: student.forward("dropout_forward", v, param)[0]  # noqa: E731
    check_array("dx", dx, numerical_gradient(out, x, dout), rtol=1e-5, atol=1e-8)


def normalization_inputs(seed, n, d):
    rng = np.random.default_rng(seed)
    x = 3.0 * rng.standard_normal((n, d)) + rng.uniform(-5.0, 5.0, d)
    return x, rng.standard_normal(d), rng.standard_normal(d), rng.standard_normal((n, d))


def check_gradients(student, layer, x, gamma, beta, param, dout):
    """dx, dgamma, dbeta of <layer>_backward against numerical gradients of <layer>_forward."""
    __tracebackhide__ = True
    _, cache = student.forward(f"{layer}_forward", x, gamma, beta, dict(param))
    grads = expect_tuple(getattr(student, f"{layer}_backward")(dout, cache),
                         ("dx", "dgamma", "dbeta"), f"{layer}_backward")
    out = lambda *a: student.forward(f"{layer}_forward", *a, dict(param))[0]  # noqa: E731
    numeric = (numerical_gradient(lambda v: out(v, gamma, beta), x, dout),
               numerical_gradient(lambda v: out(x, v, beta), gamma, dout),
               numerical_gradient(lambda v: out(x, gamma, v), beta, dout))
    for name, got, expected in zip(("dx", "dgamma", "dbeta"), grads, numeric):
        check_array(name, got, expected, rtol=1e-5, atol=1e-8)


@pytest.mark.task("a1.batchnorm")
@pytest.mark.points(1)
def test_batchnorm_train_example(student):
    """batchnorm_forward (train): out = gamma * (x - mean) / sqrt(var + eps) + beta per feature"""
    x, gamma, beta, _ = normalization_inputs(3, 8, 4)
    out, _ = student.forward("batchnorm_forward", x, gamma, beta, {"mode": "train"})
    # statistics over the batch (axis 0); the variance divides by N
    x_hat = (x - x.mean(axis=0)) / np.sqrt(((x - x.mean(axis=0)) ** 2).mean(axis=0) + 1e-5)
    check_array("out", out, gamma * x_hat + beta)


@pytest.mark.task("a1.batchnorm")
@pytest.mark.points(1)
def test_batchnorm_running_mean(student):
    """batchnorm_forward: one train step from zeros gives running_mean = 0.1 * batch mean"""
    x = np.array([[1.0, 10.0], [3.0, 20.0]])
    _, (_, _, _, param) = student.with_args("batchnorm_forward", x, np.ones(2), np.zeros(2),
                                            {"mode": "train"})
    # momentum 0.9: running = 0.9 * 0 + 0.1 * batch statistic; the variance divides by N
    check_array("running_mean", entry(param, "running_mean", "bn_param"), [0.2, 1.5])
    check_array("running_var", entry(param, "running_var", "bn_param"), [0.1, 2.5])
    param["mode"] = "test"
    out, _ = student.forward("batchnorm_forward", x, np.ones(2), np.zeros(2), param)
    check_array("out (test mode)", out, (x - [0.2, 1.5]) / np.sqrt(np.array([0.1, 2.5]) + 1e-5))


@pytest.mark.task("a1.batchnorm")
@pytest.mark.points(2)
def test_batchnorm_backward_numerical(student):
    """batchnorm_backward: dx, dgamma, dbeta agree with numerical gradients of your forward"""
    x, gamma, beta, dout = normalization_inputs(4, 5, 3)
    check_gradients(student, "batchnorm", x, gamma, beta, {"mode": "train"}, dout)


@pytest.mark.task("a1.layernorm")
@pytest.mark.points(1)
def test_layernorm_example(student):
    """layernorm_forward: out = gamma * (x - mean) / sqrt(var + eps) + beta per sample"""
    x, gamma, beta, _ = normalization_inputs(5, 3, 6)
    out, _ = student.forward("layernorm_forward", x, gamma, beta, {})
    # statistics over each sample's features (axis 1)
    centred = x - x.mean(axis=1, keepdims=True)
    x_hat = centred / np.sqrt((centred**2).mean(axis=1, keepdims=True) + 1e-5)
    check_array("out", out, gamma * x_hat + beta)


@pytest.mark.task("a1.layernorm")
@pytest.mark.points(2)
def test_layernorm_backward_numerical(student):
    """layernorm_backward: dx, dgamma, dbeta agree with numerical gradients of your forward"""
    x, gamma, beta, dout = normalization_inputs(6, 4, 5)
    check_gradients(student, "layernorm", x, gamma, beta, {}, dout)
