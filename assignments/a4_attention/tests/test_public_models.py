"""Public checks for A4's models: the ViT front end, the Mixer block, the tiny ViT, Mixer and GPT
(numerical gradients of your own loss, the causal property, sampling) and the three training
runs (your trained model scored by your own forward pass). Run them with `layerlab check a4`.
The grade also compares every output and gradient with a reference implementation on more
shapes, and scores your trained weights with the reference forward pass.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, expect_tuple, outputs
from grader.numeric import check_against_numerical_gradients, check_numerical_gradient

try:  # the grammar and the digits: given code in this folder
    from assignments.a4_attention import grammar, training
except ImportError:  # a released copy run from its own folder
    import grammar
    import training


# -- a4.vit_frontend --------------------------------------------------------------------------
@pytest.mark.task("a4.vit_frontend")
@pytest.mark.points(1)
def test_patchify_example(student):
    """patchify_forward on the handout's 2-channel 4 x 4 image: patches row by row, (C, p, p)"""
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    out, _ = student.forward("patchify_forward", x, 2)
    # patch 1 is the top-right 2 x 2 square: channel 0's 2, 3, 6, 7, then channel 1's
    check_array("out", out, np.array([[[0.0, 1, 4, 5, 16, 17, 20, 21],
                                       [2, 3, 6, 7, 18, 19, 22, 23],
                                       [8, 9, 12, 13, 24, 25, 28, 29],
                                       [10, 11, 14, 15, 26, 27, 30, 31]]]))


@pytest.mark.task("a4.vit_frontend")
@pytest.mark.points(1)
def test_frontend_numerical(student, rng):
    """patchify, the patch embedding and the [CLS] token: every backward against numerical
    gradients of your forward (dcls sums over the batch)"""
    x = rng.standard_normal((2, 2, 4, 6))
    with outputs() as checks:
        with checks.part("patchify"):
            check_against_numerical_gradients(student, "patchify_forward", "patchify_backward",
                                              (x, 2), ("dx",), rng.standard_normal((2, 6, 8)))
        with checks.part("patch_embedding"):
            args = (rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)),
                    rng.standard_normal(5))
            check_against_numerical_gradients(
                student, "patch_embedding_forward", "patch_embedding_backward", args,
                ("dpatches", "dW", "db"), rng.standard_normal((2, 3, 5)))
        with checks.part("cls_token"):
            args = (rng.standard_normal((3, 2, 4)), rng.standard_normal(4))
            check_against_numerical_gradients(student, "cls_token_forward",
                                              "cls_token_backward", args, ("dx", "dcls"),
                                              rng.standard_normal((3, 3, 4)))


# -- a4.mixer_block ---------------------------------------------------------------------------
def mixer_params(rng, P, D, S, C):
    shapes = {"gamma1": D, "beta1": D, "W_tok1": (P, S), "b_tok1": S, "W_tok2": (S, P),
              "b_tok2": P, "gamma2": D, "beta2": D, "W_ch1": (D, C), "b_ch1": C,
              "W_ch2": (C, D), "b_ch2": D}
    params = {k: 0.5 * rng.standard_normal(s) for k, s in shapes.items()}
    params["gamma1"] += 1.0
    params["gamma2"] += 1.0
    return params


@pytest.mark.task("a4.mixer_block")
@pytest.mark.points(2)
def test_mixer_block_numerical(student, rng):
    """mixer_block_backward: dx and every parameter's gradient against numerical gradients of
    your forward"""
    x, params = rng.standard_normal((2, 3, 4)), mixer_params(rng, 3, 4, 5, 6)
    block_param = {"activation": "relu"}
    out, cache = student.forward("mixer_block_forward", x, params, block_param)
    if np.shape(out) != x.shape:
        raise Mismatch(f"mixer_block_forward returned shape {np.shape(out)}; expected {x.shape}")
    dout = rng.standard_normal(x.shape)
    dx, grads = expect_tuple(student.mixer_block_backward(dout, cache), ("dx", "grads"),
                             "mixer_block_backward")

    def outs(key, values):
        calls = [(x, {**params, key: v}, block_param) if key != "x" else (v, params, block_param)
                 for v in values]
        return student.many("mixer_block_forward", calls, pick=0)

    with outputs() as checks:
        with checks.part("dx"):
            if np.allclose(out, x):  # only with both MLPs' outputs 0 is the block the identity
                raise Mismatch("mixer_block_forward returned its input x; the block adds the "
                               "token MLP's and the channel MLP's outputs to it")
            check_numerical_gradient("dx", dx, None, x, dout, func="mixer_block_forward",
                                     wrt="x", many=lambda values: outs("x", values))
        for key in params:
            with checks.part(key):
                check_numerical_gradient(f"grads['{key}']", grads[key], None, params[key], dout,
                                         func="mixer_block_forward", wrt=key,
                                         many=lambda values, key=key: outs(key, values))


# -- the models: numerical gradients of your own loss -----------------------------------------
def check_model(student, model, X, y, skip=("b_K",)) -> None:
    """Every gradient of model.loss(X, y) against numerical gradients of its loss (each
    parameter varied through set_params); the gradients that are 0 by construction skipped."""
    __tracebackhide__ = True
    params = student.attr(model, "params")
    params = {k: np.asarray(v) + 0.1 * np.random.default_rng(0).standard_normal(np.shape(v))
              for k, v in params.items()}
    student.method(model, "set_params", params)
    _, grads = expect_tuple(student.method(model, "loss", X, y), ("loss", "grads"), "loss")
    if not isinstance(grads, dict) or set(grads) != set(params):
        raise Mismatch(f"grads should be a dict with keys {sorted(params)}")

    def losses_with(key, values):
        return student.many_methods(model, [[("set_params", ({**params, key: v},)),
                                             ("loss", (X, y))] for v in values], pick=0)

    with outputs() as checks:
        for key, value in params.items():
            if key.endswith(skip):
                continue
            with checks.part(key):
                check_numerical_gradient(f"grads['{key}']", grads[key], None, value,
                                         func="loss", wrt=key,
                                         many=lambda values, key=key: losses_with(key, values))


@pytest.mark.task("a4.vit")
@pytest.mark.points(2)
def test_vit_numerical(student, rng):
    """ViT.loss: every gradient against numerical gradients of your loss"""
    model = student.new("ViT", 4, 2, 1, 3, 4, 1, 2, 6, seed=int(rng.integers(100)))
    X, y = rng.standard_normal((2, 1, 4, 4)), rng.integers(0, 3, 2)
    check_model(student, model, X, y)


@pytest.mark.task("a4.mixer")
@pytest.mark.points(2)
def test_mixer_numerical(student, rng):
    """MLPMixer.loss: every gradient against numerical gradients of your loss (b_tok2's is 0
    in a model: the next layer norm removes what it adds to every feature of a patch)"""
    model = student.new("MLPMixer", 4, 2, 1, 3, 4, 1, 3, 5, seed=int(rng.integers(100)))
    X, y = rng.standard_normal((2, 1, 4, 4)), rng.integers(0, 3, 2)
    check_model(student, model, X, y, skip=("b_tok2",))


@pytest.mark.task("a4.gpt")
@pytest.mark.points(2)
def test_gpt_numerical_and_causal(student, rng):
    """GPT.loss: every gradient against numerical gradients; a later token never changes an
    earlier position's scores"""
    model = student.new("GPT", 5, 4, 4, 1, 2, 6, seed=int(rng.integers(100)))
    x, y = rng.integers(0, 5, (2, 4)), rng.integers(0, 5, (2, 4))
    with outputs() as checks:
        with checks.part("causal"):
            scores = np.asarray(student.method(model, "loss", x))
            changed = x.copy()
            changed[:, -1] = (changed[:, -1] + 1) % 5
            later = np.asarray(student.method(model, "loss", changed))
            if scores.shape != (2, 4, 5):
                raise Mismatch(f"loss(x) returned shape {scores.shape}; expected (2, 4, 5)")
            check_array("scores[:, :-1] after changing the last token", later[:, :-1],
                        scores[:, :-1])
            if np.allclose(later[:, -1], scores[:, -1]):
                raise Mismatch("the last position's scores do not depend on its own token")
        with checks.part("gradients"):
            check_model(student, model, x, y)


@pytest.mark.task("a4.gpt")
@pytest.mark.points(1)
def test_gpt_sample(student, rng):
    """GPT.sample: greedy picks the argmax of your own loss's last scores at every step (the
    window sliding past max_len); seeded draws reproduce"""
    model = student.new("GPT", 6, 4, 4, 1, 2, 6, seed=int(rng.integers(100)))
    seed = int(rng.integers(1000))
    greedy = np.asarray(student.method(model, "sample", 1, 6))
    if greedy.shape != (6,) or not np.issubdtype(greedy.dtype, np.integer):
        raise Mismatch(f"sample(1, 6) should return 6 integer tokens; got {greedy!r}")
    context = [1]
    for t, token in enumerate(greedy):
        scores = np.asarray(student.method(model, "loss", np.array([context[-4:]])))[0, -1]
        if np.ptp(scores) == 0:
            raise Mismatch(f"loss({[context[-4:]]}) gives the same score to every token")
        if token != np.argmax(scores):
            raise Mismatch(f"greedy step {t} chose {token}; the last position's scores of "
                           f"loss({[context[-4:]]}) have their maximum at {np.argmax(scores)}")
        context.append(int(token))
    drawn = student.method(model, "sample", [1, 2, 3, 4, 5], 6, 1.0, seed=seed)
    check_array("sample(..., temperature=1.0, seed) again",
                student.method(model, "sample", [1, 2, 3, 4, 5], 6, 1.0, seed=seed), drawn)


# -- the training runs (your model, scored by your own forward) -------------------------------
DIGITS_TRAINING = {"epochs": 12, "batch_size": 32, "learning_rate": 3e-3, "seed": 0}


def digits_accuracy(student, cls, args) -> float:
    X, y, X_val, y_val = training.load_digits()
    model = student.new(cls, *args, seed=0)
    with student.timeout(60):
        student.train_classifier(model, X, y, **DIGITS_TRAINING)
    scores = np.asarray(student.method(model, "loss", X_val))
    return float(np.mean(np.argmax(scores, axis=1) == y_val))


@pytest.mark.task("a4.vit_training")
@pytest.mark.points(1)
@pytest.mark.timeout(300)
def test_vit_digits_training(student):
    """train_classifier: the ViT (4 x 4 patches, D = 32) reaches 90 % on the digits"""
    accuracy = digits_accuracy(student, "ViT", (8, 4, 1, 10, 32, 1, 2, 64))
    if accuracy < 0.9:
        raise Mismatch(f"validation accuracy {accuracy:.3f}; expected at least 0.9")


@pytest.mark.task("a4.mixer_training")
@pytest.mark.points(1)
@pytest.mark.timeout(300)
def test_mixer_digits_training(student):
    """train_classifier: the MLP-Mixer (4 x 4 patches, D = 32) reaches 90 % on the digits"""
    accuracy = digits_accuracy(student, "MLPMixer", (8, 4, 1, 10, 32, 1, 32, 32))
    if accuracy < 0.9:
        raise Mismatch(f"validation accuracy {accuracy:.3f}; expected at least 0.9")


@pytest.mark.task("a4.gpt_training")
@pytest.mark.points(1)
@pytest.mark.timeout(300)
def test_gpt_training_loss_falls(student):
    """train_gpt: 80 iterations on the grammar's text take the loss from about log V down"""
    data = grammar.encode(grammar.generate(20_000, seed=5))
    model = student.new("GPT", len(grammar.CHARS), 32, 32, 1, 2, 64, seed=0)
    with student.timeout(60):
        losses = student.train_gpt(model, data, 32, 16, 80, learning_rate=1e-2, seed=0)
    losses = np.asarray(losses, dtype=float)
    if losses.shape != (80,) or not losses[-10:].mean() < losses[:10].mean() - 0.5:
        raise Mismatch(f"expected 80 losses falling by more than 0.5; got {losses!r:.300}")
