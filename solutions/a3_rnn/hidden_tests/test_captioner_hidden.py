"""Hidden tests: DigitCaptioner against the reference loaded with the same weights (the loss,
every gradient, greedy captions), and training on scikit-learn's digits, judged by the
reference's greedy captions on the trained weights.

Every cell type is run. The captions are names of different lengths padded with <NULL> (a
mask that ignores the padding matters), one case is a single digit, and one uses a vocabulary
whose special tokens are not the first three indices (read them from vocab). Greedy captions
are also compared on briefly trained weights, which end their names with <END> at different
steps: what comes after <END> must be <NULL>.
"""

import functools

import numpy as np
import pytest

from grader import compare
from grader.compare import (Mismatch, check_array, check_params, outputs)
from solutions.a3_rnn import digit_names, model_utils

CELLS = ["rnn", "lstm", "gru"]
GATES = model_utils.GATES
# name: (cell, input_dim D, wordvec_dim W, hidden_dim H, the names captioned, vocab)
SHUFFLED = {token: i for i, token in enumerate(reversed(digit_names.TOKENS))}
CASES = {
    "rnn-padded": ("rnn", 6, 4, 5, ("seven", "one", "four", "six"), digit_names.VOCAB),
    "lstm-padded": ("lstm", 5, 3, 4, ("two", "three", "zero"), digit_names.VOCAB),
    "gru-padded": ("gru", 4, 5, 3, ("eight", "nine", "six"), digit_names.VOCAB),
    "lstm-N1": ("lstm", 3, 4, 6, ("five",), digit_names.VOCAB),
    "gru-shuffled-vocab": ("gru", 5, 4, 4, ("one", "three"), SHUFFLED),
    "rnn-shuffled-vocab-N1": ("rnn", 4, 3, 5, ("nine",), SHUFFLED),
}


def random_params(rng, like: dict) -> dict:
    """Weights scaled by 1/sqrt(fan-in) (the embeddings by 1), biases around 0."""
    params = {}
    for key, value in like.items():
        if key.startswith("W"):
            scale = 1.0 if key == "W_embed" else 1 / np.sqrt(value.shape[0])
        else:
            scale = 0.3
        params[key] = scale * rng.standard_normal(value.shape)
    return params


def build(student, ref, rng, case):
    """The student's and the reference captioner with the same random weights, a batch of
    features in [0, 1] and the captions of the case's names."""
    cell, D, W, H, names, vocab = CASES[case]
    args = (vocab, D, W, H, cell)
    model = student.new("DigitCaptioner", *args, seed=0)
    reference = ref.DigitCaptioner(*args, seed=0)
    check_params(student.attr(model, "params"), reference.params, "self.params after __init__")
    params = random_params(rng, reference.params)
    student.method(model, "set_params", params)
    reference.set_params(params)
    features = rng.random((len(names), D))
    return model, reference, features, digit_names.encode(names, vocab)


def spread(name: str, value: np.ndarray, std: float) -> None:
    """value looks drawn from N(0, std**2) (checked when it has enough entries to tell)."""
    if value.size < 30:
        return
    got_std, mean = float(value.std()), float(value.mean())
    if not (0.7 * std < got_std < 1.3 * std and abs(mean) < 5 * std / np.sqrt(value.size)):
        raise Mismatch(f"self.params['{name}'] has mean {mean:.3g} and std {got_std:.3g}; "
                       f"expected N(0, {std:.3g}**2)")


@pytest.mark.task("a3.captioner")
@pytest.mark.points(2)
@pytest.mark.parametrize("cell", CELLS)
def test_init(student, ref, cell):
    """DigitCaptioner.__init__: keys, shapes, float64; W_proj, W_embed, Wx, Wh, W_vocab spreads"""
    D, W, H = 64, 16, 32
    params = student.attr(student.new("DigitCaptioner", digit_names.VOCAB, D, W, H, cell,
                                      seed=5), "params")
    expected = ref.DigitCaptioner(digit_names.VOCAB, D, W, H, cell, seed=5).params
    check_params(params, expected, "self.params")
    stds = {"W_proj": 1 / np.sqrt(D), "W_embed": 1.0, "Wx": 1 / np.sqrt(W),
            "Wh": 1 / np.sqrt(H), "W_vocab": 1 / np.sqrt(H)}
    for key, value in expected.items():
        if params[key].dtype != np.float64:
            raise Mismatch(f"self.params['{key}'] has dtype {params[key].dtype}; expected "
                           "float64 (the default dtype)")
        if key in stds:
            spread(key, params[key], stds[key])
        else:
            check_array(f"self.params['{key}']", params[key], value)  # the biases: zeros


def check_loss_and_grads(got, expected, rtol=1e-6, atol=1e-9):
    """loss(...)'s (loss, grads) against the reference's: the loss and each gradient earn a
    share."""
    __tracebackhide__ = True
    compare.check_loss_and_grads(got, expected, "loss(features, captions)", rtol=rtol, atol=atol)


@pytest.mark.task("a3.captioner")
@pytest.mark.points(8)
@pytest.mark.parametrize("case", list(CASES))
def test_loss_and_grads(student, ref, rng, case):
    """DigitCaptioner.loss: the masked loss of the shifted captions and every gradient match"""
    model, reference, features, captions = build(student, ref, rng, case)
    check_loss_and_grads(student.method(model, "loss", features, captions),
                         reference.loss(features, captions))


@pytest.mark.task("a3.captioner")
@pytest.mark.points(1)
def test_float32(student, ref, rng):
    """DigitCaptioner(dtype=float32): float64 features are cast; loss and float32 grads match"""
    cell, D, W, H, names, vocab = CASES["lstm-padded"]
    args = (vocab, D, W, H, cell)
    model = student.new("DigitCaptioner", *args, dtype="float32", seed=0)
    reference = ref.DigitCaptioner(*args, dtype="float32", seed=0)
    params = random_params(rng, reference.params)
    student.method(model, "set_params", params)
    reference.set_params(params)
    features, captions = rng.random((len(names), D)), digit_names.encode(names, vocab)
    check_loss_and_grads(student.method(model, "loss", features, captions),
                         reference.loss(features, captions), rtol=1e-4, atol=1e-5)


def check_sample(student, ref, model, reference, features, max_length):
    """sample(features, max_length) against the reference's, token for token."""
    __tracebackhide__ = True
    got = student.method(model, "sample", features, max_length)
    expected = reference.sample(features, max_length)
    if isinstance(got, np.ndarray) and got.dtype.kind not in "iu":
        raise Mismatch(f"sample returned an array of dtype {got.dtype}; expected integer token "
                       "indices")
    check_array("captions", got, expected, rtol=0, atol=0, dtype=False)


@pytest.mark.task("a3.captioner")
@pytest.mark.points(2)
@pytest.mark.parametrize("case", list(CASES))
def test_sample_random_weights(student, ref, rng, case):
    """DigitCaptioner.sample: greedy captions match the reference with the same random weights"""
    model, reference, features, _ = build(student, ref, rng, case)
    check_sample(student, ref, model, reference, features, max_length=5)


@functools.cache
def digits():
    return digit_names.load_digit_captions()


_TRAINED: dict[str, dict] = {}


def briefly_trained(ref, cell: str) -> dict:
    """Reference weights after one epoch on the digits: names that end at different steps."""
    if cell not in _TRAINED:
        data = digits()
        captioner = ref.DigitCaptioner(digit_names.VOCAB, 64, 8, 16, cell, seed=1)
        ref.train_captioner(captioner, data["X_train"], data["captions_train"], seed=1)
        _TRAINED[cell] = captioner.params
    return _TRAINED[cell]


@pytest.mark.task("a3.captioner")
@pytest.mark.points(2)
@pytest.mark.parametrize("cell", CELLS)
def test_sample_trained_weights(student, ref, cell):
    """DigitCaptioner.sample: on trained weights, names end with <END> and <NULL>s follow"""
    args = (digit_names.VOCAB, 64, 8, 16, cell)
    model, reference = student.new("DigitCaptioner", *args, seed=0), ref.DigitCaptioner(*args)
    params = briefly_trained(ref, cell)
    student.method(model, "set_params", params)
    reference.set_params(params)
    check_sample(student, ref, model, reference, digits()["X_val"][:40], max_length=8)


# The graded run: the handout's, 8 epochs of Adam (learning rate 1e-2, minibatches of 50,
# gradients clipped at 5) from the model's own initialisation. The reference spells the names
# of at least 0.94 of the validation digits for seeds 0..4 with each cell, and 0.92 for seeds
# 0..19 (tests/test_references_a3_models.py checks a few), in under a second of NumPy.
TRAINED = {"input_dim": 64, "wordvec_dim": 16, "hidden_dim": 32}
TRAINING = {"epochs": 8, "batch_size": 50, "learning_rate": 1e-2, "max_norm": 5.0, "seed": 0}
GOAL = 0.85


def name_accuracy(ref, params: dict, cell: str) -> float:
    """The fraction of validation digits whose greedy caption, by the reference on `params`, is
    their name."""
    reference = ref.DigitCaptioner(digit_names.VOCAB, **TRAINED, cell_type=cell)
    check_params(params, reference.params, "self.params after train_captioner")
    reference.set_params(params)
    data = digits()
    spelled = digit_names.decode(reference.sample(data["X_val"], digit_names.MAX_LENGTH))
    names = [digit_names.NAMES[y] for y in data["y_val"]]
    return float(np.mean([word == name for word, name in zip(spelled, names, strict=True)]))


@pytest.mark.task("a3.captioner_training")
@pytest.mark.points(6)
@pytest.mark.timeout(300)
@pytest.mark.parametrize("cell", CELLS)
def test_train_captioner_spells_the_names(student, ref, cell):
    """train_captioner: after 8 epochs the reference spells 85 % of validation digits right"""
    data = digits()
    model = student.new("DigitCaptioner", digit_names.VOCAB, **TRAINED, cell_type=cell, seed=0)
    with student.timeout(120):
        losses = student.train_captioner(model, data["X_train"], data["captions_train"],
                                         **TRAINING)
    steps = TRAINING["epochs"] * -(-digit_names.TRAIN // TRAINING["batch_size"])
    with outputs() as checks:
        with checks.part("losses"):
            if not isinstance(losses, (list, tuple, np.ndarray)) or len(losses) != steps:
                raise Mismatch(f"train_captioner should return the {steps} minibatch losses "
                               f"(8 epochs of 30); got {losses!r:.200}")
            first, last = np.mean(losses[:30]), np.mean(losses[-30:])
            if not last < 0.5 * first:
                raise Mismatch(f"the mean loss of the last epoch ({last:.3g}) is not below half "
                               f"that of the first ({first:.3g})")
        with checks.part("accuracy"):
            accuracy = name_accuracy(ref, student.attr(model, "params"), cell)
            if accuracy < GOAL:
                raise Mismatch(f"the trained {cell} captioner spells the names of "
                               f"{accuracy:.1%} of the validation digits; expected at least "
                               f"{GOAL:.0%} (the reference spells about 96 %)")
