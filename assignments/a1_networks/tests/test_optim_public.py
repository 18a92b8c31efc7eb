"""Public checks for the A1 update rules: small examples worked by hand. Run them with
`layerlab check a1`. The grade also uses hidden tests: several steps with other
hyper-parameters compared with a reference.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_scalar, expect_tuple


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
