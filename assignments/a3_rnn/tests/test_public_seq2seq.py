"""Public checks for the seq2seq encoder-decoder (Seq2Seq) and train_seq2seq: worked examples
with known answers (uniform scores cost log V per counted step; a model wired by hand repeats
the source's last token, which only the encoder's state can tell the decoder; a decoder that
chooses <END> at once writes <NULL> after it), numerical gradients of your own loss for every
cell (the encoder's gradients come through its last state only), and a short training run
whose loss must fall. Run them with `layerlab check a3`. The grade also compares the loss,
every gradient and the greedy translations with a reference implementation (every cell, N = 1,
padded sources and targets, trained weights), and trains your model to reverse strings of
digits: the grader reads the translations with its own code.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_params, check_scalar, expect_tuple
from grader.numeric import check_model_against_numerical_gradients, forward_first

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
NULL, START, END = 0, 1, 2
V = 13  # reversal.py's vocabulary: <NULL>, <START>, <END>, then the digits 0..9 as 3..12
# "123" and "4567" (the digit d is the token 3 + d), the shorter source padded in front; the
# targets are the reversed digits, <END>, then <NULL>
SRC = np.array([[NULL, 4, 5, 6], [7, 8, 9, 10]])
TGT = np.array([[6, 5, 4, END, NULL], [10, 9, 8, 7, END]])


def shapes(V, W, H, cell) -> dict:
    """The parameters' shapes, as Seq2Seq's docstring gives them."""
    g = GATES[cell]
    found = {}
    for part in ("_enc", "_dec"):
        found.update({f"W_embed{part}": (V, W), f"Wx{part}": (W, g * H), f"Wh{part}": (H, g * H)})
        found.update({f"{name}{part}": (g * H,)
                      for name in (("bx", "bh") if cell == "gru" else ("b",))})
    return {**found, "W_vocab": (H, V), "b_vocab": (V,)}


def new_model(student, V, W, H, cell, seed=0):
    """A Seq2Seq whose params have the documented keys and shapes."""
    __tracebackhide__ = True
    model = student.new("Seq2Seq", V, W, H, cell, seed=seed)
    expected = {k: np.zeros(s) for k, s in shapes(V, W, H, cell).items()}
    params = student.attr(model, "params")
    check_params(params, expected, f"Seq2Seq({V}, {W}, {H}, {cell!r}).params")
    return model, params


def check_uniform_loss(student, rng):
    """With W_vocab = 0 and b_vocab = 0 every score is 0: each counted step costs log V, whatever
    the other weights (the model's seed is drawn from the run's)."""
    __tracebackhide__ = True
    model, params = new_model(student, V, 3, 4, "rnn", seed=int(rng.integers(1000)))
    student.method(model, "set_params", {**params, "W_vocab": np.zeros((4, V)),
                                         "b_vocab": np.zeros(V)})
    loss, grads = expect_tuple(student.method(model, "loss", SRC, TGT), ("loss", "grads"),
                               "loss")
    # 4 + 5 target steps count (the digits and <END>; not the <NULL>), summed and divided by 2
    check_scalar("loss of '321' and '7654' with uniform scores over V = 13 tokens", loss,
                 9 * np.log(V) / 2)
    check_params(grads, params, "grads")


@pytest.mark.task("a3.seq2seq")
@pytest.mark.points(1)
def test_seq2seq_uniform_scores_cost_log_v_per_counted_step(student, rng):
    """Seq2Seq.loss: uniform scores cost 9 log 13 / 2 for '321' and '7654' (padding is free)"""
    check_uniform_loss(student, rng)


def repeating_the_last_token(params: dict) -> dict:
    """Weights with which the decoder repeats the source's last token: the embeddings are
    one-hot vectors; the encoder's state becomes tanh(10 * the last token's one-hot vector)
    (Wx_enc = 10 I, no recurrence); the decoder ignores its inputs and keeps its state
    (Wx_dec = 0, Wh_dec = 10 I), and W_vocab = 10 I reads the token off the state."""
    eye = np.eye(V)
    return {**params, "W_embed_enc": eye, "Wx_enc": 10 * eye, "Wh_enc": np.zeros((V, V)),
            "b_enc": np.zeros(V), "W_embed_dec": eye, "Wx_dec": np.zeros((V, V)),
            "Wh_dec": 10 * eye, "b_dec": np.zeros(V), "W_vocab": 10 * eye,
            "b_vocab": np.zeros(V)}


@pytest.mark.task("a3.seq2seq")
@pytest.mark.points(1)
def test_seq2seq_translate_from_the_encoder_state(student, rng):
    """Seq2Seq.translate: hand-wired weights repeat the source's last token; <END> ends a row"""
    model, params = new_model(student, V, V, V, "rnn")
    student.method(model, "set_params", repeating_the_last_token(params))
    check_array("translate(src, 3) of '123' and '4567' (the last source token, three times)",
                student.method(model, "translate", SRC, 3), np.array([[6, 6, 6], [10, 10, 10]]),
                dtype=False)
    src = rng.integers(3, V, (4, 5))  # strings of 5 random digits
    check_array("translate(src, 4) (the last source token, four times)",
                student.method(model, "translate", src, 4), np.repeat(src[:, -1:], 4, axis=1),
                dtype=False)
    # sources that end with <END>: the first choice is <END>, the rest <NULL> (although the
    # decoder would go on choosing <END>)
    src[:, -1] = END
    check_array("translate(src ending with <END>, 3)",
                student.method(model, "translate", src, 3),
                np.tile([END, NULL, NULL], (4, 1)), dtype=False)


@pytest.mark.task("a3.seq2seq")
@pytest.mark.points(3)
@pytest.mark.parametrize("cell", list(GATES))
def test_seq2seq_gradients_numerical(student, rng, cell):
    """Seq2Seq.loss: every gradient, the encoder's too, agrees with numerical gradients"""
    with forward_first("the uniform loss of '321' and '7654'"):
        check_uniform_loss(student, rng)
    model, params = new_model(student, 7, 2, 3, cell)
    params = {k: 0.5 * rng.standard_normal(v.shape) for k, v in params.items()}
    student.method(model, "set_params", params)
    src = np.array([[0, 3, 4], [5, 6, 3]])  # a vocabulary of 7: tokens 3..6 and the specials
    tgt = np.array([[4, 3, END, NULL], [3, 6, 5, END]])
    check_model_against_numerical_gradients(student, model, params, src, tgt)


@pytest.mark.task("a3.seq2seq_training")
@pytest.mark.points(1)
def test_train_seq2seq_loss_falls(student, rng):
    """train_seq2seq: 40 steps on fresh pairs return 40 losses, and the loss falls"""
    model, _ = new_model(student, V, 8, 16, "rnn")
    losses = student.train_seq2seq(model, 40, batch_size=20, min_length=1, max_length=2,
                                   learning_rate=3e-2, seed=int(rng.integers(1000)))
    if not isinstance(losses, (list, tuple, np.ndarray)) or len(losses) != 40:
        raise Mismatch(f"train_seq2seq should return 40 losses (one per step); got "
                       f"{losses!r:.200}")
    if not np.mean(losses[-10:]) < 0.7 * np.mean(losses[:10]):
        raise Mismatch(f"the loss does not fall by 30 % in 40 steps: {np.round(losses, 2)}")
