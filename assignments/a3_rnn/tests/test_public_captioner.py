"""Public checks for the digit captioner (DigitCaptioner) and train_captioner: worked examples
with known answers (uniform scores cost log V per counted step; a captioner wired by hand
spells "six" whatever it sees), numerical gradients of your own loss for every cell, and a
short training run whose loss must fall. Run them with `layerlab check a3`. The grade also
compares the loss, every gradient and the greedy captions with a reference implementation
(every cell, N = 1, padded names, another vocabulary order, trained weights), and trains your
captioner on the digits: the grader reads the names it spells with its own code.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_params, check_scalar, expect_tuple
from grader.numeric import check_model_against_numerical_gradients, forward_first

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
# A small vocabulary of its own (DigitCaptioner reads the special tokens from it), V = 6
VOCAB = {"<NULL>": 0, "<START>": 1, "<END>": 2, "s": 3, "i": 4, "x": 5}
NULL, START, END, S, I_, X = range(6)
# "six" and "is": <START> letters <END>, the shorter one padded with <NULL>
CAPTIONS = np.array([[START, S, I_, X, END], [START, I_, S, END, NULL]])


def shapes(D, W, H, V, cell) -> dict:
    """The parameters' shapes, as DigitCaptioner's docstring gives them."""
    g = GATES[cell]
    found = {"W_proj": (D, H), "b_proj": (H,), "W_embed": (V, W), "Wx": (W, g * H),
             "Wh": (H, g * H)}
    found.update({name: (g * H,) for name in (("bx", "bh") if cell == "gru" else ("b",))})
    return {**found, "W_vocab": (H, V), "b_vocab": (V,)}


def new_captioner(student, D, W, H, cell):
    """A DigitCaptioner over VOCAB whose params have the documented keys and shapes."""
    __tracebackhide__ = True
    model = student.new("DigitCaptioner", VOCAB, D, W, H, cell, seed=0)
    expected = {k: np.zeros(s) for k, s in shapes(D, W, H, len(VOCAB), cell).items()}
    params = student.attr(model, "params")
    check_params(params, expected, f"DigitCaptioner(vocab, {D}, {W}, {H}, {cell!r}).params")
    return model, params


def check_uniform_loss(student, rng):
    """With W_vocab = 0 and b_vocab = 0 every score is 0: each counted step costs log V."""
    __tracebackhide__ = True
    model, params = new_captioner(student, 4, 3, 5, "rnn")
    student.method(model, "set_params", {**params, "W_vocab": np.zeros((5, 6)),
                                         "b_vocab": np.zeros(6)})
    loss, grads = expect_tuple(student.method(model, "loss", rng.random((2, 4)), CAPTIONS),
                               ("loss", "grads"), "loss")
    # "six" predicts s, i, x, <END> (4 steps), "is" predicts i, s, <END> (3): the <NULL> after
    # it does not count, and the sum over the 7 steps is divided by N = 2
    check_scalar("loss of 'six' and 'is' with uniform scores over V = 6 tokens", loss,
                 7 * np.log(6) / 2)
    check_params(grads, params, "grads")


@pytest.mark.task("a3.captioner")
@pytest.mark.points(1)
def test_captioner_uniform_scores_cost_log_v_per_counted_step(student, rng):
    """DigitCaptioner.loss: uniform scores cost 7 log 6 / 2 for 'six' and 'is' (padding is free)"""
    check_uniform_loss(student, rng)


def spelling_six(params: dict) -> dict:
    """Weights that spell "six" from any image: each token's embedding is its one-hot vector,
    the RNN's state becomes tanh(10 * that vector) (Wx = 10 I, no recurrence, h0 = 0), and
    W_vocab maps <START> to s, s to i, i to x, x to <END> and <END> to s again."""
    V = len(VOCAB)
    W_vocab = np.zeros((V, V))
    for token, following in ((START, S), (S, I_), (I_, X), (X, END), (END, S)):
        W_vocab[token, following] = 10.0
    return {**params, "W_proj": np.zeros_like(params["W_proj"]), "b_proj": np.zeros(V),
            "W_embed": np.eye(V), "Wx": 10 * np.eye(V), "Wh": np.zeros((V, V)), "b": np.zeros(V),
            "W_vocab": W_vocab, "b_vocab": np.zeros(V)}


@pytest.mark.task("a3.captioner")
@pytest.mark.points(1)
def test_captioner_sample_spells_six_then_pads(student, rng):
    """DigitCaptioner.sample: hand-wired weights spell s, i, x, <END>, then only <NULL>s"""
    model, params = new_captioner(student, 4, len(VOCAB), len(VOCAB), "rnn")
    student.method(model, "set_params", spelling_six(params))
    captions = student.method(model, "sample", rng.random((3, 4)), 7)
    # each step's choice is the next step's input; after <END> (which would start "six"
    # again), <NULL>
    check_array("sample(features, 7)", captions,
                np.tile([S, I_, X, END, NULL, NULL, NULL], (3, 1)), dtype=False)
    first = student.method(model, "sample", rng.random((1, 4)), 2)
    check_array("sample(features, 2) (max_length steps: s, i)", first, np.array([[S, I_]]),
                dtype=False)


@pytest.mark.task("a3.captioner")
@pytest.mark.points(3)
@pytest.mark.parametrize("cell", list(GATES))
def test_captioner_gradients_numerical(student, rng, cell):
    """DigitCaptioner.loss: every gradient agrees with numerical gradients of your loss"""
    with forward_first("the uniform loss of 'six' and 'is'"):
        check_uniform_loss(student, rng)
    model, params = new_captioner(student, 3, 2, 3, cell)
    params = {k: 0.5 * rng.standard_normal(v.shape) for k, v in params.items()}
    student.method(model, "set_params", params)
    check_model_against_numerical_gradients(student, model, params, rng.random((2, 3)), CAPTIONS)


@pytest.mark.task("a3.captioner_training")
@pytest.mark.points(1)
def test_train_captioner_loss_falls(student, rng):
    """train_captioner: 4 epochs of 2 minibatches return 8 losses, and the loss falls"""
    model, _ = new_captioner(student, 4, 3, 8, "rnn")
    features = rng.random((20, 4))
    captions = CAPTIONS[rng.integers(0, 2, 20)]  # a mix of 'six' and 'is'
    losses = student.train_captioner(model, features, captions, epochs=4, batch_size=10,
                                     learning_rate=5e-2, seed=0)
    if not isinstance(losses, (list, tuple, np.ndarray)) or len(losses) != 8:
        raise Mismatch(f"train_captioner should return 8 losses (4 epochs of 2 minibatches); "
                       f"got {losses!r:.200}")
    if not np.mean(losses[-2:]) < 0.5 * np.mean(losses[:2]):
        raise Mismatch(f"the loss does not fall to half in 4 epochs: {np.round(losses, 3)}")
