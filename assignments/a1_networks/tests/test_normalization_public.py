"""Public checks for batch and layer normalisation: worked examples and numerical gradients of
your own forward passes (on inputs drawn from the run's --seed). Run them with
`layerlab check a1`. The grade also uses hidden tests: every output and gradient on random
shapes compared with a reference, and the running statistics over several steps.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array
from grader.numeric import check_against_numerical_gradients, forward_first


def entry(params, key, name):
    """params[key], or an explanation of why it is missing."""
    __tracebackhide__ = True
    if key not in params:
        raise Mismatch(f"{name} has no '{key}' (its keys: {sorted(map(str, params))})")
    return params[key]


def normalization_inputs(rng, n, d):
    x = 3.0 * rng.standard_normal((n, d)) + rng.uniform(-5.0, 5.0, d)
    return x, rng.standard_normal(d), rng.standard_normal(d), rng.standard_normal((n, d))


def check_gradients(student, layer, x, gamma, beta, param, dout):
    """dx, dgamma, dbeta of <layer>_backward against numerical gradients of <layer>_forward."""
    __tracebackhide__ = True
    check_against_numerical_gradients(student, f"{layer}_forward", f"{layer}_backward",
                                      (x, gamma, beta, param), ("dx", "dgamma", "dbeta"), dout)


def check_batchnorm_example(student, rng):
    __tracebackhide__ = True
    x, gamma, beta, _ = normalization_inputs(rng, 8, 4)
    out, _ = student.forward("batchnorm_forward", x, gamma, beta, {"mode": "train"})
    # statistics over the batch (axis 0); the variance divides by N
    x_hat = (x - x.mean(axis=0)) / np.sqrt(((x - x.mean(axis=0)) ** 2).mean(axis=0) + 1e-5)
    check_array("out", out, gamma * x_hat + beta)


@pytest.mark.task("a1.batchnorm")
@pytest.mark.points(1)
def test_batchnorm_train_example(student, rng):
    """batchnorm_forward (train): out = gamma * (x - mean) / sqrt(var + eps) + beta per feature"""
    check_batchnorm_example(student, rng)


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
def test_batchnorm_backward_numerical(student, rng):
    """batchnorm_backward: dx, dgamma, dbeta agree with numerical gradients of your forward"""
    with forward_first("batchnorm_forward (train) on the worked example"):
        check_batchnorm_example(student, rng)
    x, gamma, beta, dout = normalization_inputs(rng, 5, 3)
    check_gradients(student, "batchnorm", x, gamma, beta, {"mode": "train"}, dout)


def check_layernorm_example(student, rng):
    __tracebackhide__ = True
    x, gamma, beta, _ = normalization_inputs(rng, 3, 6)
    out, _ = student.forward("layernorm_forward", x, gamma, beta, {})
    # statistics over each sample's features (axis 1)
    centred = x - x.mean(axis=1, keepdims=True)
    x_hat = centred / np.sqrt((centred**2).mean(axis=1, keepdims=True) + 1e-5)
    check_array("out", out, gamma * x_hat + beta)


@pytest.mark.task("a1.layernorm")
@pytest.mark.points(1)
def test_layernorm_example(student, rng):
    """layernorm_forward: out = gamma * (x - mean) / sqrt(var + eps) + beta per sample"""
    check_layernorm_example(student, rng)


@pytest.mark.task("a1.layernorm")
@pytest.mark.points(2)
def test_layernorm_backward_numerical(student, rng):
    """layernorm_backward: dx, dgamma, dbeta agree with numerical gradients of your forward"""
    with forward_first("layernorm_forward on the worked example"):
        check_layernorm_example(student, rng)
    x, gamma, beta, dout = normalization_inputs(rng, 4, 5)
    check_gradients(student, "layernorm", x, gamma, beta, {}, dout)
