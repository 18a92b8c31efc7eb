"""Public checks for the sequence classifier: the handout's worked example, numerical gradients
of your own loss for every cell (on weights drawn from the run's --seed), and a short training
run at T = 5. Run them with `layerlab check a3`. The grade also compares your scores, loss and
every gradient with a reference model holding the same weights (N = 1, T = 1, D != H), checks
the initial weights, and trains your LSTM at T = 50, measuring the validation accuracy itself.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_scalar, expect_tuple
from grader.numeric import check_model_against_numerical_gradients, forward_first

# The handout's example: V = C = 2, D = H = 1, a vanilla RNN reading x = [0, 1] (word vectors
# 1, then -1): h_0 = tanh(1), h_1 = tanh(-1 + 2 h_0); the scores are (h_1, -h_1).
EXAMPLE = {"W_embed": np.array([[1.0], [-1.0]]), "Wx": np.array([[1.0]]),
           "Wh": np.array([[2.0]]), "b": np.array([0.0]), "W_out": np.array([[1.0, -1.0]]),
           "b_out": np.array([0.0, 0.0])}
H_0 = np.tanh(1.0)
H_1 = np.tanh(-1.0 + 2.0 * H_0)


def check_example(student):
    __tracebackhide__ = True
    model = student.new("SequenceClassifier", 2, 2, 1, 1, "rnn", seed=0)
    student.method(model, "set_params", EXAMPLE)
    x = np.array([[0, 1]])
    scores = student.method(model, "loss", x)
    wrong = {H_0: "the FIRST hidden state", H_0 + H_1: "the sum of the hidden states"}
    for value, what in wrong.items():
        if isinstance(scores, np.ndarray) and np.allclose(scores, [[value, -value]]):
            raise Mismatch(f"scores {scores} are those of {what}; only the last one, h_1, is "
                           "scored")
    check_array("scores", scores, np.array([[H_1, -H_1]]))
    loss, _ = expect_tuple(student.method(model, "loss", x, np.array([0])), ("loss", "grads"),
                           "loss(x, y)")
    check_scalar("loss", loss, np.log1p(np.exp(-2 * H_1)))  # -log softmax(scores)[0]


@pytest.mark.task("a3.classifier")
@pytest.mark.points(1)
def test_classifier_example(student):
    """SequenceClassifier.loss: the handout's example (an RNN of one unit, T = 2) by hand"""
    check_example(student)


@pytest.mark.task("a3.classifier")
@pytest.mark.points(2)
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_classifier_gradients_numerical(student, rng, cell):
    """SequenceClassifier.loss: every gradient agrees with numerical gradients of your loss"""
    with forward_first("the handout's example"):
        check_example(student)
    V, C, D, H, N, T = 5, 3, 4, 3, 3, 4
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[cell] * H
    params = {"W_embed": rng.standard_normal((V, D)),
              "Wx": rng.standard_normal((D, gates)) / np.sqrt(D),
              "Wh": rng.standard_normal((H, gates)) / np.sqrt(H),
              "W_out": rng.standard_normal((H, C)) / np.sqrt(H),
              "b_out": 0.3 * rng.standard_normal(C)}
    for name in ("bx", "bh") if cell == "gru" else ("b",):
        params[name] = 0.3 * rng.standard_normal(gates)
    model = student.new("SequenceClassifier", V, C, D, H, cell, seed=0)
    student.method(model, "set_params", params)
    x = rng.integers(0, V, size=(N, T))
    x[-1, -1] = x[0, 0]  # a word that repeats
    check_model_against_numerical_gradients(student, model, params, x, rng.integers(0, C, N))


@pytest.mark.task("a3.classifier_training")
@pytest.mark.points(1)
def test_train_classifier_short_sequences(student, rng):
    """train_classifier: one loss per minibatch, falling; the LSTM learns the task at T = 5"""
    seed = int(rng.integers(1000))
    y = rng.integers(0, 4, 300)
    x = rng.integers(4, 12, (300, 5))  # the long-range task, 4 classes and 8 noise symbols
    x[:, 0] = y
    model = student.new("SequenceClassifier", 12, 4, 8, 32, "lstm", seed=seed)
    with student.timeout(30):
        losses = student.train_classifier(model, x, y, epochs=3, batch_size=25,
                                          learning_rate=1e-2, seed=seed)
    if not isinstance(losses, (list, tuple, np.ndarray)) or len(losses) != 36:
        raise Mismatch("train_classifier should return the loss of every minibatch: 36 of them "
                       f"(3 epochs of 300 sequences in batches of 25); got {losses!r:.200}")
    losses = np.asarray(losses, dtype=float)
    if not np.all(np.isfinite(losses)) or not losses[24:].mean() < losses[:12].mean():
        raise Mismatch("the loss of the last epoch should be below that of the first; mean "
                       f"losses per epoch {np.round(losses.reshape(3, 12).mean(axis=1), 4)}")
    scores = student.method(model, "loss", x)
    accuracy = float(np.mean(np.argmax(scores, axis=1) == y))
    if accuracy < 0.9:
        raise Mismatch(f"training accuracy {accuracy:.3f} after 3 epochs at T = 5; expected at "
                       "least 0.9 (chance is 0.25)")
