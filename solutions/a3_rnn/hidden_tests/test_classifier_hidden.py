"""Hidden tests: SequenceClassifier against the reference model loaded with the same weights (all
three cells, N = 1, T = 1, D != H, words that repeat), and training on the long-range task
(remember the first symbol through 49 steps of noise), judged by the reference forward pass on
the trained weights."""

import functools

import numpy as np
import pytest

from grader.compare import (Mismatch, check_array, check_params, check_scalar, expect_tuple,
                            outputs)
from solutions.a3_rnn import long_range

# name: (cell, V, C, D, H, N, T)
MODELS = {
    "rnn": ("rnn", 6, 3, 4, 5, 3, 6),
    "lstm": ("lstm", 7, 4, 3, 5, 2, 5),
    "gru": ("gru", 5, 3, 5, 4, 3, 4),
    "rnn-T1": ("rnn", 4, 2, 3, 2, 4, 1),
    "lstm-N1-T1": ("lstm", 4, 3, 2, 3, 1, 1),
    "gru-N1": ("gru", 6, 2, 3, 4, 1, 7),
}
CELLS = ("rnn", "lstm", "gru")


def random_params(rng, like: dict) -> dict:
    """Weights scaled by 1/sqrt(fan-in) (W_embed ~ N(0, 1)), biases around 0."""
    params = {}
    for key, value in like.items():
        if key == "W_embed":
            params[key] = rng.standard_normal(value.shape)
        elif key.startswith("W"):
            params[key] = rng.standard_normal(value.shape) / np.sqrt(value.shape[0])
        else:
            params[key] = 0.3 * rng.standard_normal(value.shape)
    return params


def build(student, ref, rng, name, **extra):
    """The student's and the reference model with the same random weights, and a batch whose
    first and last words are the same (a word that repeats)."""
    cell, V, C, D, H, N, T = MODELS[name]
    args = (V, C, D, H, cell)
    model = student.new("SequenceClassifier", *args, seed=0, **extra)
    reference = ref.SequenceClassifier(*args, seed=0, **extra)
    check_params(student.attr(model, "params"), reference.params, "self.params after __init__")
    params = random_params(rng, reference.params)
    student.method(model, "set_params", params)
    reference.set_params(params)
    x = rng.integers(0, V, size=(N, T))
    x.flat[-1] = x.flat[0]
    return model, reference, x, rng.integers(0, C, size=N)


def check_spread(key: str, value: np.ndarray, std: float) -> None:
    """value looks drawn from N(0, std^2): its std within 40 %, its mean within five standard
    errors of 0."""
    got_std, mean = float(value.std()), float(value.mean())
    if not (0.6 * std < got_std < 1.4 * std and abs(mean) < 5 * std / np.sqrt(value.size)):
        raise Mismatch(f"self.params['{key}'] has mean {mean:.3g} and std {got_std:.3g}; "
                       f"expected N(0, {std:.3g}**2)")


@pytest.mark.task("a3.classifier")
@pytest.mark.points(2)
@pytest.mark.parametrize("cell", CELLS)
def test_init(student, ref, cell):
    """SequenceClassifier.__init__: shapes, spreads, biases 0 but the memory gate's at 4.0"""
    V, C, D, H = 30, 6, 12, 20
    params = student.attr(student.new("SequenceClassifier", V, C, D, H, cell, seed=3), "params")
    expected = ref.SequenceClassifier(V, C, D, H, cell, seed=3).params
    check_params(params, expected, "self.params")
    stds = {"W_embed": 1.0, "Wx": 1 / np.sqrt(D), "Wh": 1 / np.sqrt(H), "W_out": 1 / np.sqrt(H)}
    for key in expected:
        if params[key].dtype != np.float64:
            raise Mismatch(f"self.params['{key}'] has dtype {params[key].dtype}; expected "
                           "float64 (the default dtype)")
    for key, std in stds.items():  # the weights first: all-zero parameters earn nothing
        check_spread(key, params[key], std)
    if cell == "gru":  # only the sum of the two update-gate biases counts: either may hold it
        check_array("self.params['bx'] + self.params['bh']", params["bx"] + params["bh"],
                    expected["bx"] + expected["bh"])
    for key in ("b_out",) if cell == "gru" else ("b", "b_out"):
        check_array(f"self.params['{key}']", params[key], expected[key])


@pytest.mark.task("a3.classifier")
@pytest.mark.points(3)
@pytest.mark.parametrize("name", list(MODELS))
def test_scores(student, ref, rng, name):
    """SequenceClassifier.loss(x): scores from the last hidden state match the reference"""
    model, reference, x, _ = build(student, ref, rng, name)
    check_array("scores", student.method(model, "loss", x), reference.loss(x))


@pytest.mark.task("a3.classifier")
@pytest.mark.points(6)
@pytest.mark.parametrize("name", list(MODELS))
def test_loss_and_grads(student, ref, rng, name):
    """SequenceClassifier.loss(x, y): the mean cross-entropy and every gradient match"""
    model, reference, x, y = build(student, ref, rng, name)
    loss, grads = expect_tuple(student.method(model, "loss", x, y), ("loss", "grads"),
                               "loss(x, y)")
    expected_loss, expected_grads = reference.loss(x, y)
    check_params(grads, reference.params, "grads")
    # the loss and each gradient earn their share; a gradient that is 0 (dWh at T = 1, where
    # the previous state is the zero state) goes with the loss, so zeros earn nothing
    zero = [key for key, value in expected_grads.items() if not value.any()]
    with outputs() as checks:
        with checks.part("loss"):
            check_scalar("loss", loss, expected_loss)
            for key in zero:
                check_array(f"grads['{key}']", grads[key], expected_grads[key], rtol=1e-5)
        for key, value in expected_grads.items():
            if key not in zero:
                with checks.part(key):
                    check_array(f"grads['{key}']", grads[key], value, rtol=1e-5)


@pytest.mark.task("a3.classifier")
@pytest.mark.points(1)
def test_float32(student, ref, rng):
    """SequenceClassifier(dtype='float32'): scores close to the reference's, gradients float32"""
    model, reference, x, y = build(student, ref, rng, "lstm", dtype="float32")
    scores = student.method(model, "loss", x)
    _, grads = expect_tuple(student.method(model, "loss", x, y), ("loss", "grads"), "loss(x, y)")
    check_params(grads, reference.params, "grads")
    with outputs() as checks:
        with checks.part("scores"):  # in any float dtype: the embedding may return float64
            check_array("scores", scores, reference.loss(x), rtol=1e-4, atol=1e-5, dtype=False)
        for key, value in reference.loss(x, y)[1].items():
            with checks.part(key):
                check_array(f"grads['{key}']", grads[key], value, rtol=1e-3, atol=1e-5)
                if grads[key].dtype != np.float32:
                    raise Mismatch(f"grads['{key}'] has dtype {grads[key].dtype}; expected "
                                   "float32")


# -- a3.classifier_training -------------------------------------------------------------------
# The graded run, the one train_classifier's docstring documents: the LSTM classifier of the
# handout (V = 12, C = 4, D = 8, H = 32), 4 epochs of Adam at 5e-3 on 2000 sequences of 50
# symbols. The reference reaches at least 0.999 on fresh sequences for seeds 0..9
# (tests/test_references_a3_models.py runs two), so other random numbers pass as well.
NET = (12, 4, 8, 32, "lstm")
TRAINING = {"epochs": 4, "batch_size": 32, "learning_rate": 5e-3, "max_norm": 5.0}
GOAL = 0.95


@functools.cache
def task(T: int, n_train: int):
    """Training sequences (seed 0) and 1000 fresh validation sequences (seed 7) of length T."""
    return (*long_range.make_sequences(n_train, T, seed=0),
            *long_range.make_sequences(1000, T, seed=7))


def validation_accuracy(student, ref, model, T: int, n_train: int) -> float:
    """Accuracy of the student's trained weights, computed with the reference forward pass."""
    _, _, x_val, y_val = task(T, n_train)
    reference = ref.SequenceClassifier(*NET)
    params = student.attr(model, "params")
    check_params(params, reference.params, "self.params after train_classifier")
    reference.set_params(params)
    scores = reference.loss(x_val)
    if not np.all(np.isfinite(scores)):
        raise Mismatch("the trained weights give non-finite scores")
    return float(np.mean(np.argmax(scores, axis=1) == y_val))


@pytest.mark.task("a3.classifier_training")
@pytest.mark.points(4)
@pytest.mark.timeout(300)
def test_train_lstm_remembers_the_first_symbol(student, ref):
    """train_classifier: the LSTM remembers the first of 50 symbols (graded on fresh data)"""
    x, y, _, _ = task(50, 2000)
    model = student.new("SequenceClassifier", *NET, seed=0)
    with student.timeout(120):
        student.train_classifier(model, x, y, **TRAINING, seed=0)
    accuracy = validation_accuracy(student, ref, model, 50, 2000)
    if accuracy < GOAL:
        raise Mismatch(f"validation accuracy {accuracy:.3f} at T = 50 after 4 epochs of Adam "
                       f"(learning rate 5e-3, batches of 32); expected at least {GOAL} (the "
                       "reference reaches 1.0; chance is 0.25)")


@pytest.mark.task("a3.classifier_training")
@pytest.mark.points(1)
@pytest.mark.timeout(120)
def test_train_short_sequences(student, ref):
    """train_classifier: a loss per minibatch, falling; at T = 5 the LSTM learns in 3 epochs"""
    x, y, _, _ = task(5, 300)
    model = student.new("SequenceClassifier", *NET, seed=1)
    with student.timeout(60):
        losses = student.train_classifier(model, x, y, epochs=3, batch_size=25,
                                          learning_rate=1e-2, max_norm=5.0, seed=1)
    if not isinstance(losses, (list, tuple, np.ndarray)) or len(losses) != 3 * 12:
        raise Mismatch("train_classifier should return the loss of every minibatch: 36 of them "
                       f"(3 epochs of 300 sequences in batches of 25); got {losses!r:.200}")
    losses = np.asarray(losses, dtype=float)
    if not np.all(np.isfinite(losses)) or not losses[24:].mean() < losses[:12].mean():
        raise Mismatch("the loss of the last epoch should be below that of the first; mean "
                       f"losses per epoch {np.round(losses.reshape(3, 12).mean(axis=1), 4)}")
    accuracy = validation_accuracy(student, ref, model, 5, 300)
    if accuracy < 0.9:
        raise Mismatch(f"validation accuracy {accuracy:.3f} at T = 5 after 3 epochs of Adam "
                       "(learning rate 1e-2); expected at least 0.9 (the reference reaches 1.0)")
