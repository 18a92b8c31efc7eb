"""Public checks for the A3 recurrent layers (RNN, LSTM, GRU): the handout's worked examples and
numerical gradients of your own forward passes (on inputs drawn from the run's --seed). Run
them with `layerlab check a3`. The grade also uses hidden tests that check every output and
gradient against a reference implementation on random shapes (N = 1, T = 1, H != D), with the
upstream gradient at the last step only, and the LSTM's cell-state path on its own.
"""

import functools

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, expect_tuple
from grader.numeric import (check_against_numerical_gradients, check_numerical_gradient,
                            forward_first)

LN2, LN3, LN4 = np.log(2.0), np.log(3.0), np.log(4.0)


def weights(rng, d, h, gates, biases=1):
    """Wx (D, gates*H), Wh (H, gates*H) and `biases` bias vectors, all of moderate size."""
    Wx = rng.standard_normal((d, gates * h)) / np.sqrt(d)
    Wh = rng.standard_normal((h, gates * h)) / np.sqrt(h)
    return (Wx, Wh, *(0.5 * rng.standard_normal(gates * h) for _ in range(biases)))


# -- a3.rnn_step ----------------------------------------------------------------------------------
def check_rnn_step_example(student):
    __tracebackhide__ = True
    # Wh is a cyclic shift: (prev_h @ Wh)[j] = prev_h[j - 1], so prev_h @ Wh and Wh @ prev_h
    # differ. Row 0: x @ Wx = [1, 1, 1], prev_h @ Wh = [0, 1, -1], plus b -> [0, 2, 0.5].
    # Row 1: x @ Wx = [0, -0.5, -1], prev_h = 0, plus b -> [-1, -0.5, -0.5].
    x = np.array([[1.0, 2.0], [0.0, -1.0]])
    prev_h = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]])
    Wx = np.array([[1.0, 0.0, -1.0], [0.0, 0.5, 1.0]])
    Wh = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    b = np.array([-1.0, 0.0, 0.5])
    next_h, _ = student.forward("rnn_step_forward", x, prev_h, Wx, Wh, b)
    check_array("next_h", next_h, np.tanh([[0.0, 2.0, 0.5], [-1.0, -0.5, -0.5]]))


@pytest.mark.task("a3.rnn_step")
@pytest.mark.points(1)
def test_rnn_step_example(student):
    """rnn_step_forward: the handout's two-sample example (next_h = tanh(a) for a by hand)"""
    check_rnn_step_example(student)


@pytest.mark.task("a3.rnn_step")
@pytest.mark.points(1)
def test_rnn_step_backward_numerical(student, rng):
    """rnn_step_backward: all five gradients agree with numerical gradients of your forward"""
    with forward_first("rnn_step_forward on the handout's example"):
        check_rnn_step_example(student)
    args = (rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), *weights(rng, 3, 4, 1))
    check_against_numerical_gradients(student, "rnn_step_forward", "rnn_step_backward", args,
                                      ("dx", "dprev_h", "dWx", "dWh", "db"),
                                      rng.standard_normal((2, 4)))


# -- a3.rnn ---------------------------------------------------------------------------------------
# The handout's scalar example (N = 1, T = 2, D = H = 1): h1 = tanh(x1 + 2 h0), h2 = tanh(x2 + 2 h1)
SCALAR_RNN = (np.array([[[1.0], [-1.0]]]), np.array([[0.5]]), np.array([[1.0]]),
              np.array([[2.0]]), np.array([0.0]))


def check_rnn_example(student):
    """rnn_forward on the scalar example; returns the cache."""
    __tracebackhide__ = True
    h1 = np.tanh(2.0)  # 1 + 2 * 0.5
    h, cache = student.forward("rnn_forward", *SCALAR_RNN)
    check_array("h", h, np.array([[[h1], [np.tanh(-1.0 + 2.0 * h1)]]]))
    return cache


@pytest.mark.task("a3.rnn")
@pytest.mark.points(1)
def test_rnn_scalar_example_by_hand(student):
    """rnn_forward / rnn_backward: the handout's backpropagation through time by hand (T = 2)"""
    cache = check_rnn_example(student)
    h1 = np.tanh(2.0)
    h2 = np.tanh(-1.0 + 2.0 * h1)
    # dh reaches h2 only; h1 gets it through Wh = 2, h0 through Wh again
    da2 = 1.0 - h2 ** 2
    da1 = 2.0 * da2 * (1.0 - h1 ** 2)
    grads = expect_tuple(student.rnn_backward(np.array([[[0.0], [1.0]]]), cache),
                         ("dx", "dh0", "dWx", "dWh", "db"), "rnn_backward")
    expected = (np.array([[[da1], [da2]]]), np.array([[2.0 * da1]]),
                np.array([[1.0 * da1 - 1.0 * da2]]), np.array([[0.5 * da1 + h1 * da2]]),
                np.array([da1 + da2]))
    for name, got, want in zip(("dx", "dh0", "dWx", "dWh", "db"), grads, expected, strict=True):
        check_array(name, got, want)


@pytest.mark.task("a3.rnn")
@pytest.mark.points(1)
def test_rnn_backward_numerical(student, rng):
    """rnn_backward: dx, dh0, dWx, dWh, db agree with numerical gradients of your rnn_forward"""
    with forward_first("rnn_forward on the handout's scalar example"):
        check_rnn_example(student)
    args = (rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 3)), *weights(rng, 2, 3, 1))
    check_against_numerical_gradients(student, "rnn_forward", "rnn_backward", args,
                                      ("dx", "dh0", "dWx", "dWh", "db"),
                                      rng.standard_normal((2, 3, 3)))


# -- a3.lstm_step ---------------------------------------------------------------------------------
def lstm_biases(i, f, o, g, h):
    """b (4H,) for zero weights: each gate's activation is its bias, stacked i, f, o, g."""
    return np.repeat([i, f, o, g], h)


def lstm_step(student, *args):
    """The student's (next_h, next_c, cache)."""
    __tracebackhide__ = True
    return expect_tuple(student.lstm_step_forward(*args), ("next_h", "next_c", "cache"),
                        "lstm_step_forward")


def check_lstm_step_examples(student):
    __tracebackhide__ = True
    x, prev_h, prev_c = np.array([[1.0, -2.0, 3.0]]), np.array([[0.5, -0.5]]), \
        np.array([[1.0, -2.0]])
    Wx, Wh = np.zeros((3, 8)), np.zeros((2, 8))
    # All weights and biases 0: i = f = o = sigmoid(0) = 0.5 and g = tanh(0) = 0
    next_h, next_c, _ = lstm_step(student, x, prev_h, prev_c, Wx, Wh, np.zeros(8))
    check_array("next_c (zero weights)", next_c, 0.5 * prev_c)
    check_array("next_h (zero weights)", next_h, 0.5 * np.tanh(0.5 * prev_c))
    # Biases only: i = sigmoid(-ln 4) = 0.2, f = sigmoid(ln 4) = 0.8, o = sigmoid(ln 3) = 0.75,
    # g = tanh(ln 2) = 0.6, so next_c = 0.8 * prev_c + 0.2 * 0.6
    b = lstm_biases(-LN4, LN4, LN3, LN2, 2)
    next_h, next_c, _ = lstm_step(student, x, prev_h, prev_c, Wx, Wh, b)
    check_array("next_c (gates i, f, o, g from the biases)", next_c, np.array([[0.92, -1.48]]))
    check_array("next_h (gates i, f, o, g from the biases)", next_h,
                0.75 * np.tanh([[0.92, -1.48]]))


@pytest.mark.task("a3.lstm_step")
@pytest.mark.points(1)
def test_lstm_step_examples(student):
    """lstm_step_forward with zero weights: every gate is its bias (stacked i, f, o, g)"""
    check_lstm_step_examples(student)


def check_lstm_step_numerically(student, args, dnext_h, dnext_c):
    """Every gradient of lstm_step_backward against numerical gradients of lstm_step_forward,
    whose two outputs are pulled back through dnext_h and dnext_c together."""
    __tracebackhide__ = True
    names = ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db")
    next_h, next_c, cache = lstm_step(student, *args)
    for name, value in (("next_h", next_h), ("next_c", next_c)):
        if np.shape(value) != dnext_h.shape:
            raise Mismatch(f"lstm_step_forward returned {name} of shape {np.shape(value)}; "
                           f"expected {dnext_h.shape}")
    grads = expect_tuple(student.lstm_step_backward(dnext_h, dnext_c, cache), names,
                         "lstm_step_backward")

    def both(i, value):
        h, c, _ = lstm_step(student, *args[:i], value, *args[i + 1:])
        return np.concatenate([h, c], axis=1)

    for i, (name, got) in enumerate(zip(names, grads, strict=True)):
        check_numerical_gradient(name, got, functools.partial(both, i), args[i],
                                 np.concatenate([dnext_h, dnext_c], axis=1),
                                 func="lstm_step_forward", wrt=name[1:])


@pytest.mark.task("a3.lstm_step")
@pytest.mark.points(1)
def test_lstm_step_backward_numerical(student, rng):
    """lstm_step_backward: all six gradients agree with numerical gradients of your forward"""
    with forward_first("lstm_step_forward on the handout's examples"):
        check_lstm_step_examples(student)
    args = (rng.standard_normal((2, 3)), rng.standard_normal((2, 2)), rng.standard_normal((2, 2)),
            *weights(rng, 3, 2, 4))
    check_lstm_step_numerically(student, args, rng.standard_normal((2, 2)),
                                rng.standard_normal((2, 2)))


# -- a3.lstm --------------------------------------------------------------------------------------
def check_lstm_example(student):
    __tracebackhide__ = True
    # The biases of the step example, zero weights: c_t = 0.8 c_{t-1} + 0.12 from c0 = 0, so
    # c = 0.12, 0.216, 0.2928, whatever x and h0; h_t = 0.75 tanh(c_t)
    x, h0 = np.arange(6.0).reshape(1, 3, 2), np.array([[1.0, -1.0]])
    h, _ = student.forward("lstm_forward", x, h0, np.zeros((2, 8)), np.zeros((2, 8)),
                           lstm_biases(-LN4, LN4, LN3, LN2, 2))
    c = np.array([0.12, 0.216, 0.2928])
    check_array("h", h, np.repeat(0.75 * np.tanh(c), 2).reshape(1, 3, 2))


@pytest.mark.task("a3.lstm")
@pytest.mark.points(1)
def test_lstm_example(student):
    """lstm_forward with zero weights: the cell state starts at 0 and is carried along"""
    check_lstm_example(student)


@pytest.mark.task("a3.lstm")
@pytest.mark.points(1)
def test_lstm_backward_numerical(student, rng):
    """lstm_backward: dx, dh0, dWx, dWh, db agree with numerical gradients of your lstm_forward"""
    with forward_first("lstm_forward on the handout's example"):
        check_lstm_example(student)
    args = (rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 2)), *weights(rng, 2, 2, 4))
    check_against_numerical_gradients(student, "lstm_forward", "lstm_backward", args,
                                      ("dx", "dh0", "dWx", "dWh", "db"),
                                      rng.standard_normal((2, 3, 2)))


# -- a3.gru_step and a3.gru -----------------------------------------------------------------------
# Zero weights; r = sigmoid(0) = 0.5, z = sigmoid(ln 3) = 0.75 and, the reset gate multiplying
# the hidden side after its bias, n = tanh(0.5 * 2 ln 2) = tanh(ln 2) = 0.6:
# next_h = 0.25 * 0.6 + 0.75 * prev_h = 0.15 + 0.75 * prev_h
GRU_BX = np.repeat([0.0, LN3, 0.0], 2)
GRU_BH = np.repeat([0.0, 0.0, 2 * LN2], 2)


def check_gru_step_example(student):
    __tracebackhide__ = True
    next_h, _ = student.forward("gru_step_forward", np.array([[1.0, -2.0, 3.0]]),
                                np.array([[0.2, -1.0]]), np.zeros((3, 6)), np.zeros((2, 6)),
                                GRU_BX, GRU_BH)
    check_array("next_h", next_h, np.array([[0.3, -0.6]]))


@pytest.mark.task("a3.gru_step")
@pytest.mark.points(1)
def test_gru_step_example(student):
    """gru_step_forward with zero weights: the gates from the biases (r, z, n; PyTorch's form)"""
    check_gru_step_example(student)


@pytest.mark.task("a3.gru_step")
@pytest.mark.points(1)
def test_gru_step_backward_numerical(student, rng):
    """gru_step_backward: all six gradients agree with numerical gradients of your forward"""
    with forward_first("gru_step_forward on the handout's example"):
        check_gru_step_example(student)
    args = (rng.standard_normal((2, 3)), rng.standard_normal((2, 2)), *weights(rng, 3, 2, 3, 2))
    check_against_numerical_gradients(student, "gru_step_forward", "gru_step_backward", args,
                                      ("dx", "dprev_h", "dWx", "dWh", "dbx", "dbh"),
                                      rng.standard_normal((2, 2)))


def check_gru_example(student):
    __tracebackhide__ = True
    # h_t = 0.15 + 0.75 * h_{t-1} from h0 = [0.2, -1]
    h, _ = student.forward("gru_forward", np.ones((1, 3, 3)), np.array([[0.2, -1.0]]),
                           np.zeros((3, 6)), np.zeros((2, 6)), GRU_BX, GRU_BH)
    check_array("h", h, np.array([[[0.3, -0.6], [0.375, -0.3], [0.43125, -0.075]]]))


@pytest.mark.task("a3.gru")
@pytest.mark.points(1)
def test_gru_example(student):
    """gru_forward with zero weights: h_t = 0.15 + 0.75 h_{t-1}, from h0"""
    check_gru_example(student)


@pytest.mark.task("a3.gru")
@pytest.mark.points(1)
def test_gru_backward_numerical(student, rng):
    """gru_backward: dx, dh0, dWx, dWh, dbx, dbh agree with numerical gradients of gru_forward"""
    with forward_first("gru_forward on the handout's example"):
        check_gru_example(student)
    args = (rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 3)),
            *weights(rng, 2, 3, 3, 2))
    check_against_numerical_gradients(student, "gru_forward", "gru_backward", args,
                                      ("dx", "dh0", "dWx", "dWh", "dbx", "dbh"),
                                      rng.standard_normal((2, 3, 3)))
