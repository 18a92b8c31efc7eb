"""Public checks for A4's Transformer layers: positional encodings, layer norm over the last axis,
GELU and the FFN, dropout. The handout's worked examples and numerical gradients of your own
forward passes (on inputs drawn from the run's --seed). Run them with `layerlab check a4`. The
grade also compares every output and gradient with a reference implementation (more shapes, odd
D, 2-D and 3-D layer norms, GELU where the tanh approximation is off, larger dropout batches).
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array
from grader.numeric import check_against_numerical_gradients, forward_first


# -- a4.positional --------------------------------------------------------------------------------
def check_sinusoid_example(student):
    __tracebackhide__ = True
    # T = 2, D = 4: position 0 is (sin 0, cos 0, sin 0, cos 0); position 1 has angles 1 and
    # 1 / 10000^(2/4) = 1/100
    check_array("P", student.sinusoidal_positional_encoding(2, 4),
                np.array([[0.0, 1.0, 0.0, 1.0],
                          [np.sin(1.0), np.cos(1.0), np.sin(0.01), np.cos(0.01)]]))


@pytest.mark.task("a4.positional")
@pytest.mark.points(1)
def test_sinusoid_example(student):
    """sinusoidal_positional_encoding(2, 4): the handout's example (sines even, cosines odd)"""
    check_sinusoid_example(student)


@pytest.mark.task("a4.positional")
@pytest.mark.points(1)
def test_position_embedding_numerical(student, rng):
    """position_embedding_forward adds W_pos[t] at position t; dx and dW_pos agree with numerical
    gradients (T < T_max: the unused rows get none)"""
    x, W_pos = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4))
    with forward_first("position_embedding_forward"):
        out, _ = student.forward("position_embedding_forward", x, W_pos)
        check_array("out", out, x + W_pos[:3])
    check_against_numerical_gradients(student, "position_embedding_forward",
                                      "position_embedding_backward", (x, W_pos),
                                      ("dx", "dW_pos"), rng.standard_normal((2, 3, 4)))


# -- a4.layernorm ---------------------------------------------------------------------------------
LN_X = np.array([[[1.0, 2.0, 3.0], [0.0, 0.0, 3.0]]])  # means 2 and 1, variances 2/3 and 2
LN_GAMMA, LN_BETA = np.array([1.0, 2.0, 0.5]), np.array([0.0, 1.0, -1.0])


def check_layernorm_example(student):
    __tracebackhide__ = True
    out, _ = student.forward("layernorm_forward", LN_X, LN_GAMMA, LN_BETA, {"eps": 0.0})
    x_hat = np.array([[[-1.0, 0.0, 1.0] / np.sqrt(2 / 3), [-1.0, -1.0, 2.0] / np.sqrt(2.0)]])
    check_array("out", out, LN_GAMMA * x_hat + LN_BETA)


@pytest.mark.task("a4.layernorm")
@pytest.mark.points(1)
def test_layernorm_example(student):
    """layernorm_forward: the handout's example (each position over its own 3 features, eps 0)"""
    check_layernorm_example(student)


@pytest.mark.task("a4.layernorm")
@pytest.mark.points(2)
def test_layernorm_backward_numerical(student, rng):
    """layernorm_backward: dx, dgamma and dbeta agree with numerical gradients, (N, T, D) input"""
    with forward_first("layernorm_forward on the handout's example"):
        check_layernorm_example(student)
    args = (2.0 * rng.standard_normal((2, 3, 5)) + 1.0, 1.0 + 0.3 * rng.standard_normal(5),
            rng.standard_normal(5), {})
    check_against_numerical_gradients(student, "layernorm_forward", "layernorm_backward", args,
                                      ("dx", "dgamma", "dbeta"), rng.standard_normal((2, 3, 5)))


# -- a4.ffn ---------------------------------------------------------------------------------------
# gelu(x) = x * Phi(x): Phi(1) = 0.841344746..., Phi(-1) = 1 - Phi(1), Phi(3) = 0.998650101...
# The tanh approximation gives 0.841191990... at 1: off by 1.5e-4.
GELU_X = np.array([[0.0, 1.0, -1.0, 3.0]])
GELU_OUT = np.array([[0.0, 0.8413447460685429, -0.15865525393145707, 2.9959503059051097]])


def check_gelu_example(student):
    __tracebackhide__ = True
    out, _ = student.forward("gelu_forward", GELU_X)
    check_array("out", out, GELU_OUT)


@pytest.mark.task("a4.ffn")
@pytest.mark.points(1)
def test_gelu_example(student):
    """gelu_forward: the exact erf form at 0, 1, -1 and 3 (not the tanh approximation)"""
    check_gelu_example(student)


def check_ffn_example(student):
    __tracebackhide__ = True
    # D = 2, F = 3: a = x @ W1 + b1 = [1, -1, 2] for x = [1, 2]; ReLU gives [1, 0, 2]
    x = np.array([[[1.0, 2.0]]])
    W1, b1 = np.array([[1.0, 1.0, 0.0], [0.0, -1.0, 1.0]]), np.array([0.0, 0.0, 0.0])
    W2, b2 = np.array([[1.0, 0.0], [5.0, 5.0], [0.0, 1.0]]), np.array([0.5, -0.5])
    out, _ = student.forward("ffn_forward", x, W1, b1, W2, b2, "relu")
    check_array("out (ReLU)", out, np.array([[[1.5, 1.5]]]))


@pytest.mark.task("a4.ffn")
@pytest.mark.points(1)
def test_ffn_example(student):
    """ffn_forward with ReLU: the handout's example (the unit at -1 is cut to 0)"""
    check_ffn_example(student)


@pytest.mark.task("a4.ffn")
@pytest.mark.points(2)
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_ffn_backward_numerical(student, rng, activation):
    """ffn_backward (and gelu_backward inside it): every gradient agrees with numerical
    gradients"""
    with forward_first("ffn_forward and gelu_forward on the handout's examples"):
        check_ffn_example(student)
        check_gelu_example(student)
    args = (rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 6)) / 2,
            0.3 * rng.standard_normal(6), rng.standard_normal((6, 4)) / 2,
            0.3 * rng.standard_normal(4), activation)
    check_against_numerical_gradients(student, "ffn_forward", "ffn_backward", args,
                                      ("dx", "dW1", "db1", "dW2", "db2"),
                                      rng.standard_normal((2, 3, 4)))


# -- a4.dropout -----------------------------------------------------------------------------------
@pytest.mark.task("a4.dropout")
@pytest.mark.points(1)
def test_dropout_train_and_test(student, rng):
    """dropout: train keeps a fraction ~p of units, each x / p, dx = dout * mask / p; test mode
    is the identity"""
    x = rng.uniform(0.5, 2.0, (4, 50, 20))
    dout = rng.standard_normal(x.shape)
    out, cache = student.forward("dropout_forward", x, {"p": 0.8, "mode": "train", "seed": 1})
    out = np.asarray(out)
    kept = out != 0
    check_array("out where kept", out[kept], x[kept] / 0.8)
    if abs(kept.mean() - 0.8) > 0.03:
        raise Mismatch(f"kept a fraction {kept.mean():.3f} of the units with p = 0.8; p is the "
                       "probability of KEEPING a unit")
    check_array("dx", student.dropout_backward(dout, cache), dout * kept / 0.8)
    out, cache = student.forward("dropout_forward", x, {"p": 0.8, "mode": "test"})
    check_array("out (test mode)", out, x)
    check_array("dx (test mode)", student.dropout_backward(dout, cache), dout)
