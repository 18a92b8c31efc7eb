"""Hidden tests: the RNN, LSTM and GRU, one step and over a sequence, against the reference,
every output and every gradient.

Shapes include N = 1, T = 1 and H != D both ways (a transposed weight or a hidden size taken
from the input fails), and one case with D = H. Weights are scaled by 1/sqrt(fan-in) so that
the gates work away from saturation, where a wrong derivative shows. The sequence tests also
send the upstream gradient to the last hidden state only: then everything earlier is reached
through the recurrence alone (through h, and for the LSTM through the cell state c too), and a
step that drops the gradient from its successor loses it. The LSTM step is also run with
dnext_h = 0 and dnext_c != 0: the cell-state path on its own.
"""

import numpy as np
import pytest

from grader.compare import check_array, check_backward, check_forward, expect_tuple, outputs

# (N, D, H) for one step and (N, T, D, H) for a sequence
STEPS = [(1, 3, 2), (4, 5, 3), (3, 2, 6), (2, 4, 4)]
SEQUENCES = [(1, 1, 3, 2), (2, 5, 4, 3), (3, 4, 2, 5), (1, 6, 3, 4), (4, 3, 5, 5)]
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
STEP_GRADS = {
    "rnn": ("dx", "dprev_h", "dWx", "dWh", "db"),
    "gru": ("dx", "dprev_h", "dWx", "dWh", "dbx", "dbh"),
}
SEQUENCE_GRADS = {
    "rnn": ("dx", "dh0", "dWx", "dWh", "db"),
    "lstm": ("dx", "dh0", "dWx", "dWh", "db"),
    "gru": ("dx", "dh0", "dWx", "dWh", "dbx", "dbh"),
}
LSTM_STEP_GRADS = ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db")

over_steps = pytest.mark.parametrize("shape", STEPS, ids=lambda s: "N{}-D{}-H{}".format(*s))
over_sequences = pytest.mark.parametrize("shape", SEQUENCES,
                                         ids=lambda s: "N{}-T{}-D{}-H{}".format(*s))


def weights(rng, kind, d, h):
    """Wx (D, G*H), Wh (H, G*H) and the biases (one vector, two for the GRU) for G gates."""
    g = GATES[kind]
    Wx = rng.standard_normal((d, g * h)) / np.sqrt(d)
    Wh = rng.standard_normal((h, g * h)) / np.sqrt(h)
    biases = [0.5 * rng.standard_normal(g * h) for _ in range(2 if kind == "gru" else 1)]
    return (Wx, Wh, *biases)


def step_inputs(rng, kind, shape):
    """The arguments of <kind>_step_forward (the LSTM's prev_c is drawn too)."""
    n, d, h = shape
    states = [rng.standard_normal((n, h)) for _ in range(2 if kind == "lstm" else 1)]
    return (rng.standard_normal((n, d)), *states, *weights(rng, kind, d, h))


def sequence_inputs(rng, kind, shape):
    n, t, d, h = shape
    return (rng.standard_normal((n, t, d)), rng.standard_normal((n, h)), *weights(rng, kind, d, h))


def last_step_only(rng, shape):
    """An upstream dh that is zero but at the last time step."""
    n, t, _, h = shape
    dh = np.zeros((n, t, h))
    dh[:, -1] = rng.standard_normal((n, h))
    return dh


# -- a3.rnn_step and a3.gru_step --------------------------------------------------------------
@pytest.mark.task("a3.rnn_step")
@pytest.mark.points(3)
@over_steps
def test_rnn_step_forward(student, ref, rng, shape):
    """rnn_step_forward: next_h matches the reference"""
    check_forward(student, ref, "rnn_step", *step_inputs(rng, "rnn", shape))


@pytest.mark.task("a3.rnn_step")
@pytest.mark.points(5)
@over_steps
def test_rnn_step_backward(student, ref, rng, shape):
    """rnn_step_backward: dx, dprev_h, dWx, dWh and db match the reference"""
    check_backward(student, ref, "rnn_step", step_inputs(rng, "rnn", shape), STEP_GRADS["rnn"],
                   rng)


@pytest.mark.task("a3.gru_step")
@pytest.mark.points(3)
@over_steps
def test_gru_step_forward(student, ref, rng, shape):
    """gru_step_forward: next_h matches the reference (PyTorch's GRU formulation)"""
    check_forward(student, ref, "gru_step", *step_inputs(rng, "gru", shape))


@pytest.mark.task("a3.gru_step")
@pytest.mark.points(5)
@over_steps
def test_gru_step_backward(student, ref, rng, shape):
    """gru_step_backward: dx, dprev_h, dWx, dWh, dbx and dbh match the reference"""
    check_backward(student, ref, "gru_step", step_inputs(rng, "gru", shape), STEP_GRADS["gru"],
                   rng)


# -- a3.lstm_step: three outputs, two upstream gradients ---------------------------------------
def lstm_step(student, args):
    """The student's (next_h, next_c, cache), the cache left in the worker when it is no plain
    data."""
    __tracebackhide__ = True
    return expect_tuple(student.lstm_step_forward(*args), ("next_h", "next_c", "cache"),
                        "lstm_step_forward")


def check_lstm_step_backward(student, ref, args, dnext_h, dnext_c):
    """Every gradient of lstm_step_backward against the reference; each earns its share."""
    __tracebackhide__ = True
    *_, cache = lstm_step(student, args)
    got = expect_tuple(student.lstm_step_backward(dnext_h, dnext_c, cache), LSTM_STEP_GRADS,
                       "lstm_step_backward")
    *_, ref_cache = ref.lstm_step_forward(*args)
    expected = ref.lstm_step_backward(dnext_h, dnext_c, ref_cache)
    with outputs() as checks:
        for name, g, e in zip(LSTM_STEP_GRADS, got, expected, strict=True):
            with checks.part(name):
                check_array(name, g, e)


@pytest.mark.task("a3.lstm_step")
@pytest.mark.points(3)
@over_steps
def test_lstm_step_forward(student, ref, rng, shape):
    """lstm_step_forward: next_h and next_c match the reference (gates stacked i, f, o, g)"""
    args = step_inputs(rng, "lstm", shape)
    next_h, next_c, _ = lstm_step(student, args)
    ref_h, ref_c, _ = ref.lstm_step_forward(*args)
    with outputs() as checks:
        with checks.part("next_h"):
            check_array("next_h", next_h, ref_h)
        with checks.part("next_c"):
            check_array("next_c", next_c, ref_c)


@pytest.mark.task("a3.lstm_step")
@pytest.mark.points(5)
@over_steps
def test_lstm_step_backward(student, ref, rng, shape):
    """lstm_step_backward: all six gradients match the reference (dnext_h and dnext_c random)"""
    n, _, h = shape
    check_lstm_step_backward(student, ref, step_inputs(rng, "lstm", shape),
                             rng.standard_normal((n, h)), rng.standard_normal((n, h)))


@pytest.mark.task("a3.lstm_step")
@pytest.mark.points(2)
@over_steps
def test_lstm_step_backward_cell_state_path(student, ref, rng, shape):
    """lstm_step_backward with dnext_h = 0: the gradient that arrives through the cell state"""
    n, _, h = shape
    check_lstm_step_backward(student, ref, step_inputs(rng, "lstm", shape), np.zeros((n, h)),
                             rng.standard_normal((n, h)))


# -- the sequences ----------------------------------------------------------------------------
def sequence_tests(kind, task):
    """The forward, backward and last-step-only tests of <kind>_forward / <kind>_backward."""

    @pytest.mark.task(task)
    @pytest.mark.points(3)
    @over_sequences
    def test_forward(student, ref, rng, shape):
        check_forward(student, ref, kind, *sequence_inputs(rng, kind, shape))

    @pytest.mark.task(task)
    @pytest.mark.points(6)
    @over_sequences
    def test_backward(student, ref, rng, shape):
        check_backward(student, ref, kind, sequence_inputs(rng, kind, shape),
                       SEQUENCE_GRADS[kind], rng)

    @pytest.mark.task(task)
    @pytest.mark.points(2)
    @over_sequences
    def test_backward_last_step_only(student, ref, rng, shape):
        check_backward(student, ref, kind, sequence_inputs(rng, kind, shape),
                       SEQUENCE_GRADS[kind], last_step_only(rng, shape))

    grads = ", ".join(SEQUENCE_GRADS[kind])
    test_forward.__doc__ = f"{kind}_forward: h (every time step) matches the reference"
    test_backward.__doc__ = f"{kind}_backward: {grads} match the reference"
    test_backward_last_step_only.__doc__ = (
        f"{kind}_backward with dh zero but at the last step: the gradient travels back through "
        "the recurrence alone")
    return test_forward, test_backward, test_backward_last_step_only


test_rnn_forward, test_rnn_backward, test_rnn_backward_last_step_only = \
    sequence_tests("rnn", "a3.rnn")
test_lstm_forward, test_lstm_backward, test_lstm_backward_last_step_only = \
    sequence_tests("lstm", "a3.lstm")
test_gru_forward, test_gru_backward, test_gru_backward_last_step_only = \
    sequence_tests("gru", "a3.gru")
