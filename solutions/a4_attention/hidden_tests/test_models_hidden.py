"""Hidden tests: the ViT front end (patches in order, the patch embedding, the [CLS] token and
its gradient summed over the batch), the tiny ViT, the MLP-Mixer block and classifier, and the
tiny GPT (scores, loss, every gradient, greedy and seeded sampling) against the reference loaded
with the same random weights; then the three training runs, judged by the reference forward
pass on the student's trained weights (digits: validation accuracy; the grammar's text: the
validation loss against the entropy rate).

Shapes are small and uneven: H != W, C = 3, one head and two, depth 1 and 2, P != D, S != C, a
prompt longer than the context window. A gradient that is 0 in exact arithmetic (the keys'
bias b_K, which the softmax ignores; in a Mixer classifier the token bias b_tok2, which adds
the same to every feature of a patch and so vanishes in the next layer norm) must be ~0 but
earns nothing.
"""

import functools
import time

import numpy as np
import pytest

from grader.compare import (Mismatch, check_array, check_params, check_scalar, expect_tuple,
                            outputs)
from solutions.a4_attention import grammar, training


def random_params(rng, like: dict) -> dict:
    """Weights scaled by 1/sqrt(fan-in), gammas around 1, the rest around 0."""
    params = {}
    for key, value in like.items():
        name = key.rsplit("_", 1)[-1] if key.startswith("block") else key
        if name.startswith("gamma"):
            params[key] = 1.0 + 0.3 * rng.standard_normal(value.shape)
        elif key in ("cls", "W_pos", "W_tok"):
            params[key] = 0.5 * rng.standard_normal(value.shape)
        elif value.ndim == 2:
            params[key] = rng.standard_normal(value.shape) / np.sqrt(value.shape[0])
        else:
            params[key] = 0.3 * rng.standard_normal(value.shape)
    return params


def build(student, ref, rng, cls: str, args: tuple, kwargs: dict):
    """The student's and the reference model with the same random weights."""
    model = student.new(cls, *args, seed=0, **kwargs)
    reference = getattr(ref, cls)(*args, seed=0, **kwargs)
    check_params(student.attr(model, "params"), reference.params, "self.params after __init__")
    params = random_params(rng, reference.params)
    student.method(model, "set_params", params)
    reference.set_params(params)
    return model, reference


def check_model_loss(got, expected: tuple) -> None:
    """loss(X, y) -> (loss, grads) against the reference's; the loss and each nonzero gradient
    earn a share, a zero gradient goes with the loss (so that zeros earn nothing)."""
    __tracebackhide__ = True
    loss, grads = expect_tuple(got, ("loss", "grads"), "loss(X, y)")
    expected_loss, expected_grads = expected
    check_params(grads, expected_grads, "grads")
    zero = [k for k, v in expected_grads.items() if not np.any(np.abs(v) > 1e-10)]
    with outputs() as checks:
        with checks.part("loss"):
            check_scalar("loss", loss, expected_loss)
            for key in zero:
                check_array(f"grads['{key}']", grads[key], expected_grads[key], atol=1e-8)
        for key, value in expected_grads.items():
            if key not in zero:
                with checks.part(key):
                    check_array(f"grads['{key}']", grads[key], value, rtol=1e-5)


def check_spread(key: str, value: np.ndarray, std: float) -> None:
    """value looks drawn from N(0, std^2)."""
    got_std, mean = float(value.std()), float(value.mean())
    if not (0.6 * std < got_std < 1.4 * std and abs(mean) < 5 * std / np.sqrt(value.size)):
        raise Mismatch(f"self.params['{key}'] has mean {mean:.3g} and std {got_std:.3g}; "
                       f"expected N(0, {std:.3g}**2)")


def check_init(student, ref, cls: str, args: tuple, kwargs: dict, stds: dict) -> None:
    """__init__: the reference's keys and shapes, weights spread as documented, biases 0 and
    gammas 1."""
    params = student.attr(student.new(cls, *args, seed=3, **kwargs), "params")
    expected = getattr(ref, cls)(*args, seed=3, **kwargs).params
    check_params(params, expected, "self.params")
    for key, std in stds.items():  # the weights first: all-zero parameters earn nothing
        check_spread(key, params[key], std)
    for key, value in expected.items():
        if key not in stds and not key.split("_", 1)[-1].startswith("W"):
            check_array(f"self.params['{key}']", params[key], value)


# -- a4.vit_frontend --------------------------------------------------------------------------
PATCHES = [(2, 1, 4, 4, 2), (3, 3, 4, 6, 2), (2, 2, 8, 8, 4), (1, 1, 6, 6, 3)]  # N, C, H, W, p


@pytest.mark.task("a4.vit_frontend")
@pytest.mark.points(3)
@pytest.mark.parametrize("case", PATCHES, ids=lambda c: "-".join(map(str, c)))
def test_patchify(student, ref, rng, case):
    """patchify_forward: patches row by row, each flattened (C, p, p); patchify_backward its
    inverse"""
    *shape, p = case
    x = rng.standard_normal(shape)
    out, cache = student.forward("patchify_forward", x, p)
    expected, ref_cache = ref.patchify_forward(x, p)
    dout = rng.standard_normal(expected.shape)
    with outputs() as checks:
        with checks.part("out"):
            check_array("out", out, expected)
        with checks.part("dx"):
            check_array("dx", student.patchify_backward(dout, cache),
                        ref.patchify_backward(dout, ref_cache))


@pytest.mark.task("a4.vit_frontend")
@pytest.mark.points(2)
@pytest.mark.parametrize("shape", [(2, 4, 3, 5), (1, 2, 4, 4), (3, 5, 2, 6)],
                         ids=lambda s: "-".join(map(str, s)))
def test_patch_embedding(student, ref, rng, shape):
    """patch_embedding_forward / backward: out, dpatches, dW, db (summed over batch and
    patches)"""
    N, P, K, D = shape
    args = (rng.standard_normal((N, P, K)), rng.standard_normal((K, D)), rng.standard_normal(D))
    out, cache = student.forward("patch_embedding_forward", *args)
    expected, ref_cache = ref.patch_embedding_forward(*args)
    dout = rng.standard_normal(expected.shape)
    got = expect_tuple(student.patch_embedding_backward(dout, cache),
                       ("dpatches", "dW", "db"), "patch_embedding_backward")
    with outputs() as checks:
        with checks.part("out"):
            check_array("out", out, expected)
        for name, g, e in zip(("dpatches", "dW", "db"), got,
                              ref.patch_embedding_backward(dout, ref_cache), strict=True):
            with checks.part(name):
                check_array(name, g, e)


@pytest.mark.task("a4.vit_frontend")
@pytest.mark.points(2)
@pytest.mark.parametrize("shape", [(3, 4, 5), (1, 2, 3), (4, 1, 2)],
                         ids=lambda s: "-".join(map(str, s)))
def test_cls_token(student, ref, rng, shape):
    """cls_token_forward prepends the token; backward: dx and dcls summed over the batch"""
    x, cls = rng.standard_normal(shape), rng.standard_normal(shape[-1])
    out, cache = student.forward("cls_token_forward", x, cls)
    expected, ref_cache = ref.cls_token_forward(x, cls)
    dout = rng.standard_normal(expected.shape)
    got = expect_tuple(student.cls_token_backward(dout, cache), ("dx", "dcls"),
                       "cls_token_backward")
    with outputs() as checks:
        with checks.part("out"):
            check_array("out", out, expected)
        for name, g, e in zip(("dx", "dcls"), got, ref.cls_token_backward(dout, ref_cache),
                              strict=True):
            with checks.part(name):
                check_array(name, g, e)


# -- a4.vit -----------------------------------------------------------------------------------
# name: (args, kwargs, N): ViT(image_size, patch_size, in_channels, num_classes, dim, depth,
# num_heads, ffn_dim)
VITS = {"depth1-heads2": ((4, 2, 1, 3, 6, 1, 2, 8), {}, 3),
        "depth2-heads1-C2": ((4, 2, 2, 4, 4, 2, 1, 6), {}, 2),
        "p4-gelu": ((8, 4, 1, 5, 6, 1, 3, 5), {"activation": "gelu"}, 2),
        "N1": ((6, 3, 1, 2, 4, 1, 2, 4), {}, 1)}


@pytest.mark.task("a4.vit")
@pytest.mark.points(1)
def test_vit_init(student, ref):
    """ViT.__init__: keys, shapes and spreads"""
    K, D = 4, 16
    check_init(student, ref, "ViT", (8, 2, 1, 10, D, 2, 2, 32), {},
               {"W_patch": 1 / np.sqrt(K), "cls": 0.02, "W_pos": 0.02,
                "W_head": 1 / np.sqrt(D), "block1_W1": 1 / np.sqrt(D)})


@pytest.mark.task("a4.vit")
@pytest.mark.points(2)
@pytest.mark.parametrize("name", list(VITS))
def test_vit_scores(student, ref, rng, name):
    """ViT.loss(X): the scores of the [CLS] row match the reference"""
    args, kwargs, N = VITS[name]
    model, reference = build(student, ref, rng, "ViT", args, kwargs)
    X = rng.standard_normal((N, args[2], args[0], args[0]))
    check_array("scores", student.method(model, "loss", X), reference.loss(X))


@pytest.mark.task("a4.vit")
@pytest.mark.points(5)
@pytest.mark.parametrize("name", list(VITS))
def test_vit_loss_and_grads(student, ref, rng, name):
    """ViT.loss(X, y): the loss and every gradient (W_pos, cls, W_patch included) match"""
    args, kwargs, N = VITS[name]
    model, reference = build(student, ref, rng, "ViT", args, kwargs)
    X, y = rng.standard_normal((N, args[2], args[0], args[0])), rng.integers(0, args[3], N)
    check_model_loss(student.method(model, "loss", X, y), reference.loss(X, y))


# -- a4.mixer_block ---------------------------------------------------------------------------
MIXER_BLOCKS = [(2, 4, 6, 5, 7, "gelu"), (3, 5, 3, 4, 6, "relu"), (1, 3, 4, 2, 3, "gelu")]


def mixer_block_inputs(rng, case):
    N, P, D, S, C, activation = case
    shapes = {"gamma1": D, "beta1": D, "W_tok1": (P, S), "b_tok1": S, "W_tok2": (S, P),
              "b_tok2": P, "gamma2": D, "beta2": D, "W_ch1": (D, C), "b_ch1": C,
              "W_ch2": (C, D), "b_ch2": D}
    like = {k: np.zeros(s) for k, s in shapes.items()}
    return rng.standard_normal((N, P, D)), random_params(rng, like), {"activation": activation}


@pytest.mark.task("a4.mixer_block")
@pytest.mark.points(3)
@pytest.mark.parametrize("case", MIXER_BLOCKS, ids=lambda c: "-".join(map(str, c)))
def test_mixer_block_forward(student, ref, rng, case):
    """mixer_block_forward: tokens mixed across patches, then channels across features"""
    args = mixer_block_inputs(rng, case)
    out, _ = student.forward("mixer_block_forward", *args)
    check_array("out", out, ref.mixer_block_forward(*args)[0])


@pytest.mark.task("a4.mixer_block")
@pytest.mark.points(5)
@pytest.mark.parametrize("case", MIXER_BLOCKS, ids=lambda c: "-".join(map(str, c)))
def test_mixer_block_backward(student, ref, rng, case):
    """mixer_block_backward: dx and every parameter's gradient match the reference"""
    args = mixer_block_inputs(rng, case)
    ref_out, ref_cache = ref.mixer_block_forward(*args)
    dout = rng.standard_normal(ref_out.shape)
    _, cache = student.forward("mixer_block_forward", *args)
    dx, grads = expect_tuple(student.mixer_block_backward(dout, cache), ("dx", "grads"),
                             "mixer_block_backward")
    expected_dx, expected = ref.mixer_block_backward(dout, ref_cache)
    check_params(grads, expected, "grads")
    zero = [k for k, v in expected.items() if not np.any(np.abs(v) > 1e-10)]
    with outputs() as checks:
        with checks.part("dx"):
            check_array("dx", dx, expected_dx)
            for key in zero:
                check_array(f"grads['{key}']", grads[key], expected[key], atol=1e-8)
        for key, value in expected.items():
            if key not in zero:
                with checks.part(key):
                    check_array(f"grads['{key}']", grads[key], value)


# -- a4.mixer ---------------------------------------------------------------------------------
# MLPMixer(image_size, patch_size, in_channels, num_classes, dim, depth, token_dim,
# channel_dim)
MIXERS = {"depth1": ((4, 2, 1, 3, 6, 1, 5, 7), {}, 3),
          "depth2-C2-gelu": ((4, 2, 2, 4, 4, 2, 3, 6), {"activation": "gelu"}, 2),
          "p4-N1": ((8, 4, 1, 5, 6, 1, 2, 5), {}, 1)}


@pytest.mark.task("a4.mixer")
@pytest.mark.points(1)
def test_mixer_init(student, ref):
    """MLPMixer.__init__: keys, shapes and spreads"""
    check_init(student, ref, "MLPMixer", (8, 2, 1, 10, 16, 2, 24, 32), {},
               {"W_patch": 0.5, "block0_W_tok1": 0.25, "block1_W_tok2": 1 / np.sqrt(24),
                "block0_W_ch1": 0.25, "block1_W_ch2": 1 / np.sqrt(32), "W_head": 0.25})


@pytest.mark.task("a4.mixer")
@pytest.mark.points(2)
@pytest.mark.parametrize("name", list(MIXERS))
def test_mixer_scores(student, ref, rng, name):
    """MLPMixer.loss(X): scores from the patches' mean match the reference"""
    args, kwargs, N = MIXERS[name]
    model, reference = build(student, ref, rng, "MLPMixer", args, kwargs)
    X = rng.standard_normal((N, args[2], args[0], args[0]))
    check_array("scores", student.method(model, "loss", X), reference.loss(X))


@pytest.mark.task("a4.mixer")
@pytest.mark.points(4)
@pytest.mark.parametrize("name", list(MIXERS))
def test_mixer_loss_and_grads(student, ref, rng, name):
    """MLPMixer.loss(X, y): the loss and every gradient match"""
    args, kwargs, N = MIXERS[name]
    model, reference = build(student, ref, rng, "MLPMixer", args, kwargs)
    X, y = rng.standard_normal((N, args[2], args[0], args[0])), rng.integers(0, args[3], N)
    check_model_loss(student.method(model, "loss", X, y), reference.loss(X, y))


# -- a4.gpt -----------------------------------------------------------------------------------
# GPT(vocab_size, max_len, dim, depth, num_heads, ffn_dim), (N, T)
GPTS = {"depth1": ((7, 6, 6, 1, 2, 8), {}, (2, 5)),
        "depth2-heads1": ((5, 4, 4, 2, 1, 6), {}, (3, 4)),
        "gelu-T1": ((6, 5, 4, 1, 2, 4), {"activation": "gelu"}, (2, 1))}


@pytest.mark.task("a4.gpt")
@pytest.mark.points(1)
def test_gpt_init(student, ref):
    """GPT.__init__: keys, shapes and spreads"""
    check_init(student, ref, "GPT", (20, 16, 16, 2, 2, 32), {},
               {"W_tok": 0.1, "W_pos": 0.1, "W_head": 0.25, "block0_W_Q": 0.25,
                "block1_W2": 1 / np.sqrt(32)})


def tokens(rng, V, shape):
    x = rng.integers(0, V, shape)
    x.flat[-1] = x.flat[0]  # a token that repeats
    return x


@pytest.mark.task("a4.gpt")
@pytest.mark.points(2)
@pytest.mark.parametrize("name", list(GPTS))
def test_gpt_scores(student, ref, rng, name):
    """GPT.loss(x): next-token scores match the reference (causal: no peeking ahead)"""
    args, kwargs, shape = GPTS[name]
    model, reference = build(student, ref, rng, "GPT", args, kwargs)
    x = tokens(rng, args[0], shape)
    check_array("scores", student.method(model, "loss", x), reference.loss(x))


@pytest.mark.task("a4.gpt")
@pytest.mark.points(4)
@pytest.mark.parametrize("name", list(GPTS))
def test_gpt_loss_and_grads(student, ref, rng, name):
    """GPT.loss(x, y): the mean loss over every position and every gradient match"""
    args, kwargs, shape = GPTS[name]
    model, reference = build(student, ref, rng, "GPT", args, kwargs)
    x, y = tokens(rng, args[0], shape), rng.integers(0, args[0], shape)
    check_model_loss(student.method(model, "loss", x, y), reference.loss(x, y))


@pytest.mark.task("a4.gpt")
@pytest.mark.points(2)
@pytest.mark.parametrize("temperature", [0.0, 0.8, 2.0])
def test_gpt_sample(student, ref, rng, temperature):
    """GPT.sample: greedy and seeded sampling match the reference, a prompt longer than the
    window included"""
    args, kwargs, _ = GPTS["depth1"]
    model, reference = build(student, ref, rng, "GPT", args, kwargs)
    seed = int(rng.integers(1000))
    with outputs() as checks:
        with checks.part("one start token"):
            check_array("sample(start=2, length=9)",
                        student.method(model, "sample", 2, 9, temperature, seed=seed),
                        reference.sample(2, 9, temperature, seed=seed))
        prompt = [int(t) for t in rng.integers(0, args[0], args[1] + 2)]
        with checks.part("a long prompt"):
            check_array(f"sample({prompt}, 5)",
                        student.method(model, "sample", prompt, 5, temperature, seed=seed),
                        reference.sample(prompt, 5, temperature, seed=seed))


# -- the training runs ------------------------------------------------------------------------
# The graded runs: the networks and settings the handout and the scripts use. Over seeds 0..9
# the reference reaches 0.943 to 0.966 (ViT, mean 0.954) and 0.943 to 0.987 (Mixer, mean
# 0.965) validation accuracy, in about 3 s and 2 s each on one core; GOAL is 0.9, BUDGET the
# wall-clock seconds a submission's training run may take (code ten times slower passes).
VIT = ((8, 4, 1, 10, 32, 1, 2, 64), {})
MIXER = ((8, 4, 1, 10, 32, 1, 32, 32), {})
DIGITS_TRAINING = {"epochs": 12, "batch_size": 32, "learning_rate": 3e-3}
GOAL, BUDGET = 0.9, 60


@functools.cache
def digits():
    return training.load_digits()


def train_digits(student, ref, cls: str, net) -> None:
    __tracebackhide__ = True
    X, y, X_val, y_val = digits()
    args, kwargs = net
    model = student.new(cls, *args, seed=0, **kwargs)
    started = time.perf_counter()
    with student.timeout(BUDGET):
        losses = student.train_classifier(model, X, y, **DIGITS_TRAINING, seed=0)
    seconds = time.perf_counter() - started
    batches = DIGITS_TRAINING["epochs"] * -(-len(X) // DIGITS_TRAINING["batch_size"])
    if not isinstance(losses, (list, tuple, np.ndarray)) or len(losses) != batches:
        raise Mismatch(f"train_classifier should return the loss of every minibatch: {batches} "
                       f"of them; got {losses!r:.200}")
    reference = getattr(ref, cls)(*args, **kwargs)
    params = student.attr(model, "params")
    check_params(params, reference.params, "self.params after train_classifier")
    reference.set_params(params)
    scores = reference.loss(X_val)
    if not np.all(np.isfinite(scores)):
        raise Mismatch("the trained weights give non-finite scores")
    accuracy = float(np.mean(np.argmax(scores, axis=1) == y_val))
    if accuracy < GOAL:
        raise Mismatch(f"validation accuracy {accuracy:.3f} after {seconds:.1f} s of training "
                       f"({DIGITS_TRAINING}); expected at least {GOAL} (the reference reaches "
                       "0.94 to 0.99; chance is 0.1)")


@pytest.mark.task("a4.vit_training")
@pytest.mark.points(4)
@pytest.mark.timeout(300)
def test_train_vit_on_digits(student, ref):
    """train_classifier: the ViT reaches 90 % validation accuracy on the digits"""
    train_digits(student, ref, "ViT", VIT)


@pytest.mark.task("a4.mixer_training")
@pytest.mark.points(4)
@pytest.mark.timeout(300)
def test_train_mixer_on_digits(student, ref):
    """train_classifier: the MLP-Mixer reaches 90 % validation accuracy on the digits"""
    train_digits(student, ref, "MLPMixer", MIXER)


# The GPT's graded run: 80 iterations of 16 windows of 32 characters; over seeds 0..9 the
# reference's loss falls from 2.3-2.45 (the first ten; log V = 2.94) to 0.92-1.10 (the last
# ten), its validation loss 0.89 to 1.12, in about 1 s.
GPT_NET = ((len(grammar.CHARS), 32, 32, 1, 2, 64), {})
GPT_RUN = {"seq_len": 32, "batch_size": 16, "num_iterations": 80, "learning_rate": 1e-2}
GPT_GOAL = 1.6


@pytest.mark.task("a4.gpt_training")
@pytest.mark.points(3)
@pytest.mark.timeout(300)
def test_train_gpt_loss_falls(student, ref):
    """train_gpt: the GPT's loss falls on the grammar's text (validation loss judged by the
    reference)"""
    data = grammar.encode(grammar.generate(20_000, seed=11))
    validation = grammar.encode(grammar.generate(3_200, seed=12))
    args, kwargs = GPT_NET
    model = student.new("GPT", *args, seed=0, **kwargs)
    with student.timeout(BUDGET):
        losses = student.train_gpt(model, data, **GPT_RUN, seed=0)
    n = GPT_RUN["num_iterations"]
    if not isinstance(losses, (list, tuple, np.ndarray)) or len(losses) != n:
        raise Mismatch(f"train_gpt should return the loss of every iteration: {n} of them; got "
                       f"{losses!r:.200}")
    losses = np.asarray(losses, dtype=float)
    if not np.all(np.isfinite(losses)) or not losses[-10:].mean() < losses[:10].mean() - 0.5:
        raise Mismatch(f"the loss should fall by more than 0.5: first ten iterations "
                       f"{losses[:10].mean():.3f}, last ten {losses[-10:].mean():.3f}")
    reference = ref.GPT(*args, **kwargs)
    params = student.attr(model, "params")
    check_params(params, reference.params, "self.params after train_gpt")
    reference.set_params(params)
    loss = grammar.evaluate(reference, validation, streams=10, seq_len=32)
    if not loss < GPT_GOAL:
        raise Mismatch(f"validation loss {loss:.3f} nats per character after {n} iterations; "
                       f"expected below {GPT_GOAL} (the reference reaches 0.9 to 1.1; the "
                       f"grammar's entropy rate is {grammar.entropy_rate():.3f})")
