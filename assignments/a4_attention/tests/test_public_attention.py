"""Public checks for A4's attention and the Transformer blocks: the handout's worked examples and
numerical gradients of your own forward passes (on inputs drawn from the run's --seed). Run them
with `layerlab check a4`. The grade also compares every output and gradient with a reference
implementation on random shapes (Tq != Tk, d != dv, one head and many, random, padding and
causal masks, queries with every key masked, scores of size 1e3).
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_params, expect_tuple, outputs
from grader.numeric import (check_against_numerical_gradients, check_numerical_gradient,
                            forward_first)

LN3 = np.log(3.0)


def numerical_gradients(student, layer, args, names, wrt, dout):
    """Every gradient ``<layer>_backward`` returns against numerical gradients of your
    ``<layer>_forward``: output ``names[i]`` is the gradient of argument ``wrt[i]``, of each of
    its entries when that argument is a params dict (one share per key). b_K is left out: the
    softmax ignores what adds the same to every score of a row, so its gradient is exactly 0."""
    __tracebackhide__ = True
    forward, backward = f"{layer}_forward", f"{layer}_backward"
    out, cache = student.forward(forward, *args)
    if np.shape(out) != np.shape(dout):
        raise Mismatch(f"{forward} returned an output of shape {np.shape(out)}; "
                       f"expected {np.shape(dout)}")
    got = expect_tuple(getattr(student, backward)(dout, cache), names, backward)

    def evaluate(index, key, values):
        calls = []
        for v in values:
            arg = {**args[index], key: v} if key else v
            calls.append((*args[:index], arg, *args[index + 1:]))
        return student.many(forward, calls, pick=0)

    with outputs() as checks:
        for name, index, grad in zip(names, wrt, got, strict=True):
            if not isinstance(args[index], dict):
                with checks.part(name):
                    check_numerical_gradient(name, grad, None, args[index], dout, func=forward,
                                             wrt=name.removeprefix("d"),
                                             many=lambda vs, i=index: evaluate(i, None, vs))
                continue
            check_params(grad, args[index], name)
            for key, value in args[index].items():
                if key.endswith("b_K"):
                    continue
                with checks.part(key):
                    check_numerical_gradient(f"{name}['{key}']", grad[key], None, value, dout,
                                             func=forward, wrt=key,
                                             many=lambda vs, i=index, k=key: evaluate(i, k, vs))


def attention_params(rng, d, dm):
    params = {}
    for name, fan_in in (("Q", d), ("K", dm), ("V", dm), ("O", d)):
        params[f"W_{name}"] = rng.standard_normal((fan_in, d)) / np.sqrt(fan_in)
        params[f"b_{name}"] = 0.2 * rng.standard_normal(d)
    return params


# -- a4.attention ---------------------------------------------------------------------------------
# The handout's example: d = 4, so scores are divided by sqrt(4) = 2. Query 0 scores ln 3 against
# key 0 and 0 against key 1 (weights 3/4, 1/4); query 1 scores 0 against both (1/2, 1/2).
EXAMPLE_Q = np.array([[[2 * LN3, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]])
EXAMPLE_K = np.array([[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]])
EXAMPLE_V = np.array([[[4.0, 0.0], [0.0, 8.0]]])


def check_attention_example(student, mask=None, expected=((3.0, 2.0), (2.0, 4.0))):
    __tracebackhide__ = True
    out, cache = student.forward("scaled_dot_product_attention_forward", EXAMPLE_Q, EXAMPLE_K,
                                 EXAMPLE_V, mask)
    check_array("out", out, np.array([expected]))
    return cache


@pytest.mark.task("a4.attention")
@pytest.mark.points(1)
def test_attention_example(student):
    """scaled_dot_product_attention_forward: the handout's example (weights 3/4, 1/4; 1/2, 1/2)"""
    check_attention_example(student)


@pytest.mark.task("a4.attention")
@pytest.mark.points(2)
def test_attention_backward_numerical(student, rng):
    """scaled_dot_product_attention_backward: dq, dk, dv agree with numerical gradients (Tq != Tk,
    d != dv)"""
    with forward_first("scaled_dot_product_attention_forward on the handout's example"):
        check_attention_example(student)
    args = (rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)),
            rng.standard_normal((2, 5, 3)))
    check_against_numerical_gradients(student, "scaled_dot_product_attention_forward",
                                      "scaled_dot_product_attention_backward", args,
                                      ("dq", "dk", "dv"), rng.standard_normal((2, 3, 3)))


# -- a4.masking -----------------------------------------------------------------------------------
@pytest.mark.task("a4.masking")
@pytest.mark.points(1)
def test_causal_mask_and_masked_examples(student):
    """causal_mask(3), and the example with the causal mask and with a query that sees no key"""
    check_array("causal_mask(3)", student.causal_mask(3),
                np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=bool))
    # causal: query 0 sees key 0 only (out = v[0]); query 1 sees both, as before
    check_attention_example(student, np.tril(np.ones((2, 2), dtype=bool)),
                            ((4.0, 0.0), (2.0, 4.0)))
    # query 0 sees no key: weights 0, out 0 (not NaN)
    check_attention_example(student, np.array([[False, False], [True, True]]),
                            ((0.0, 0.0), (2.0, 4.0)))


@pytest.mark.task("a4.masking")
@pytest.mark.points(2)
def test_masked_attention_backward_numerical(student, rng):
    """scaled_dot_product_attention_backward with a mask (one query sees no key): dq, dk, dv agree
    with numerical gradients; masked keys get none"""
    with forward_first("scaled_dot_product_attention_forward on the handout's masked examples"):
        check_attention_example(student, np.array([[False, False], [True, True]]),
                                ((0.0, 0.0), (2.0, 4.0)))
    mask = rng.random((2, 3, 5)) < 0.6
    mask[:, :, 0], mask[1, 1] = True, False
    args = (rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)),
            rng.standard_normal((2, 5, 3)), mask)
    check_against_numerical_gradients(student, "scaled_dot_product_attention_forward",
                                      "scaled_dot_product_attention_backward", args,
                                      ("dq", "dk", "dv"), rng.standard_normal((2, 3, 3)))


# -- a4.additive ----------------------------------------------------------------------------------
# The handout's example: one decoder state, two encoder states e_0 = (1, 0) and e_1 = (0, 1), A = 1.
ADDITIVE_PARAMS = {"W_s": np.array([[1.0]]), "W_h": np.array([[1.0], [-1.0]]),
                   "b": np.array([0.0]), "v": np.array([2.0])}
ADDITIVE_S, ADDITIVE_H = np.array([[1.0]]), np.array([[[1.0, 0.0], [0.0, 1.0]]])


def check_additive_example(student):
    __tracebackhide__ = True
    # scores 2 tanh(1 + 1) and 2 tanh(1 - 1) = 0; the context is the weights themselves
    scores = np.array([2.0 * np.tanh(2.0), 0.0])
    weights = np.exp(scores) / np.exp(scores).sum()
    context, _ = student.forward("additive_attention_forward", ADDITIVE_S, ADDITIVE_H,
                                 ADDITIVE_PARAMS)
    check_array("context", context, weights[None, :])


@pytest.mark.task("a4.additive")
@pytest.mark.points(1)
def test_additive_attention_example(student):
    """additive_attention_forward: the handout's example (scores 2 tanh 2 and 0)"""
    check_additive_example(student)


@pytest.mark.task("a4.additive")
@pytest.mark.points(1)
def test_additive_attention_masked_example(student):
    """additive_attention_forward with a mask: the handout's example with e_1 masked (padding)
    gives weight 0 to e_1, so the context is e_0 = (1, 0); with both masked it is 0, no NaN"""
    context, _ = student.forward("additive_attention_forward", ADDITIVE_S, ADDITIVE_H,
                                 ADDITIVE_PARAMS, np.array([[True, False]]))
    check_array("context (e_1 masked)", context, np.array([[1.0, 0.0]]))
    context, _ = student.forward("additive_attention_forward", ADDITIVE_S, ADDITIVE_H,
                                 ADDITIVE_PARAMS, np.array([[False, False]]))
    check_array("context (every step masked)", context, np.zeros((1, 2)), rtol=0.0, atol=0.0)


@pytest.mark.task("a4.additive")
@pytest.mark.points(2)
def test_additive_attention_backward_numerical(student, rng):
    """additive_attention_backward: ds, dh and every parameter's gradient agree with numerical
    gradients"""
    with forward_first("additive_attention_forward on the handout's example"):
        check_additive_example(student)
    params = {"W_s": rng.standard_normal((3, 5)) / 2, "W_h": rng.standard_normal((4, 5)) / 2,
              "b": 0.3 * rng.standard_normal(5), "v": rng.standard_normal(5)}
    args = (rng.standard_normal((2, 3)), rng.standard_normal((2, 6, 4)), params)
    numerical_gradients(student, "additive_attention", args, ("ds", "dh", "grads"), (0, 1, 2),
                        rng.standard_normal((2, 4)))


# -- a4.multihead ---------------------------------------------------------------------------------
def identity_params(d):
    """Every projection the identity, every bias 0: each head attends with its own features."""
    return {f"{w}_{n}": np.eye(d) if w == "W" else np.zeros(d) for n in "QKVO" for w in "Wb"}


def softmax_attention(q, k, v):
    """softmax(q k^T / sqrt(d)) v, written out for the example."""
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True) @ v


def check_multihead_example(student, x):
    __tracebackhide__ = True
    # Two heads of d_k = 2: head 0 attends with features 0 and 1 of x, head 1 with 2 and 3.
    out, _ = student.forward("multihead_attention_forward", x, x, identity_params(4), 2)
    expected = np.concatenate([softmax_attention(x[..., :2], x[..., :2], x[..., :2]),
                               softmax_attention(x[..., 2:], x[..., 2:], x[..., 2:])], axis=-1)
    check_array("out", out, expected)


MULTIHEAD_X = np.array([[[1.0, 0.0, 2.0, -1.0], [0.0, 1.0, 0.0, 3.0], [1.0, 1.0, -2.0, 0.0]]])


@pytest.mark.task("a4.multihead")
@pytest.mark.points(1)
def test_multihead_identity_example(student):
    """multihead_attention_forward with identity projections: each head attends with its own
    slice of features (head i: features i d_k ... (i + 1) d_k - 1), scaled by 1/sqrt(d_k)"""
    check_multihead_example(student, MULTIHEAD_X)


@pytest.mark.task("a4.multihead")
@pytest.mark.points(2)
@pytest.mark.parametrize("kind", ["self", "cross"])
def test_multihead_backward_numerical(student, rng, kind):
    """multihead_attention_backward: dx_q, dx_kv and the parameter gradients agree with
    numerical gradients (self-attention with a causal mask; cross-attention, Dm != D)"""
    with forward_first("multihead_attention_forward on the handout's identity example"):
        check_multihead_example(student, MULTIHEAD_X)
    if kind == "self":
        x = rng.standard_normal((2, 4, 6))
        args = (x, x.copy(), attention_params(rng, 6, 6), 3, np.tril(np.ones((4, 4), dtype=bool)))
    else:
        args = (rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 6)),
                attention_params(rng, 4, 6), 2, None)
    numerical_gradients(student, "multihead_attention", args, ("dx_q", "dx_kv", "grads"),
                        (0, 1, 2), rng.standard_normal(args[0].shape))


# -- a4.encoder and a4.decoder --------------------------------------------------------------------
def block_params(rng, d, f, prefixes, norms):
    params = {}
    for prefix in prefixes:
        params.update({prefix + k: v for k, v in attention_params(rng, d, d).items()})
    params.update({"W1": rng.standard_normal((d, f)) / np.sqrt(d),
                   "b1": 0.2 * rng.standard_normal(f),
                   "W2": rng.standard_normal((f, d)) / np.sqrt(f),
                   "b2": 0.2 * rng.standard_normal(d)})
    for i in range(1, norms + 1):
        params[f"gamma{i}"] = 1.0 + 0.3 * rng.standard_normal(d)
        params[f"beta{i}"] = 0.3 * rng.standard_normal(d)
    return params


def switched_off(params):
    """The blocks' sublayers output 0: W_O, b_O, W2 and b2 are zero."""
    return {k: np.zeros_like(v) if k.endswith(("W_O", "b_O", "W2", "b2")) else v
            for k, v in params.items()}


def layer_norm(x, gamma, beta):
    mu, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + 1e-5) + beta


def check_switched_off(student, layer, args, params, norm, norms):
    """With the sublayers switched off, pre-norm is the identity and post-norm is its layer norms
    one after the other."""
    __tracebackhide__ = True
    x = args[0]
    out, _ = student.forward(f"{layer}_forward", *args)
    expected = x
    if norm == "post":
        for i in range(1, norms + 1):
            expected = layer_norm(expected, params[f"gamma{i}"], params[f"beta{i}"])
    check_array(f"out ({norm}-norm, every sublayer's output 0)", out, expected)


def check_block_examples(student, layer):
    __tracebackhide__ = True
    rng = np.random.default_rng(4)  # the same example whatever the run's seed
    x = rng.standard_normal((2, 3, 4))
    for norm in ("post", "pre"):
        block_param = {"num_heads": 2, "norm": norm}
        if layer == "encoder_block":
            params = switched_off(block_params(rng, 4, 6, ("",), 2))
            check_switched_off(student, layer, (x, params, block_param), params, norm, 2)
        else:
            params = switched_off(block_params(rng, 4, 6, ("self_", "cross_"), 3))
            memory = rng.standard_normal((2, 5, 4))
            check_switched_off(student, layer, (x, memory, params, block_param), params, norm, 3)


@pytest.mark.task("a4.encoder")
@pytest.mark.points(1)
def test_encoder_block_switched_off(student):
    """encoder_block_forward with its sublayers' outputs 0: pre-norm gives x, post-norm
    LN2(LN1(x))"""
    check_block_examples(student, "encoder_block")


@pytest.mark.task("a4.decoder")
@pytest.mark.points(1)
def test_decoder_block_switched_off_and_causal(student):
    """decoder_block_forward with its sublayers' outputs 0 (pre-norm x, post-norm three layer
    norms); and changing the last position changes no earlier output"""
    check_block_examples(student, "decoder_block")
    rng = np.random.default_rng(5)
    x, memory = rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 3, 4))
    args = (block_params(rng, 4, 6, ("self_", "cross_"), 3), {"num_heads": 2})
    out, _ = student.forward("decoder_block_forward", x, memory, *args)
    later = x.copy()
    later[:, -1] += 1.0
    changed, _ = student.forward("decoder_block_forward", later, memory, *args)
    check_array("out[:, :-1] after changing x[:, -1] (the self-attention must be causal)",
                np.asarray(changed)[:, :-1], np.asarray(out)[:, :-1])


@pytest.mark.task("a4.decoder")
@pytest.mark.points(1)
def test_decoder_block_memory_padding_mask(student):
    """decoder_block_forward with memory_mask (N, 1, S): sample 1's memory is 2 positions long
    and padded to 4; its output equals the output on the unpadded memory, and changing the
    padding changes nothing"""
    rng = np.random.default_rng(6)
    x, memory = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 4))
    args = (block_params(rng, 4, 6, ("self_", "cross_"), 3), {"num_heads": 2})
    mask = np.array([[[True, True, True, True]], [[True, True, False, False]]])
    out, _ = student.forward("decoder_block_forward", x, memory, *args, mask)
    alone, _ = student.forward("decoder_block_forward", x[1:], memory[1:, :2], *args)
    check_array("out[1] (memory padded, masked) against the unpadded memory's",
                np.asarray(out)[1:], alone)
    unmasked, _ = student.forward("decoder_block_forward", x, memory, *args)
    assert np.abs(np.asarray(unmasked)[1] - np.asarray(out)[1]).max() > 1e-3, \
        "out[1] is the same with and without memory_mask: is it passed to the cross-attention?"
    padded = memory.copy()
    padded[1, 2:] = 100.0
    changed, _ = student.forward("decoder_block_forward", x, padded, *args, mask)
    check_array("out after changing sample 1's masked memory positions", changed, out)


@pytest.mark.task("a4.encoder")
@pytest.mark.points(2)
@pytest.mark.parametrize("norm", ["post", "pre"])
def test_encoder_block_backward_numerical(student, rng, norm):
    """encoder_block_backward: dx and every parameter's gradient agree with numerical gradients"""
    with forward_first("encoder_block_forward on the handout's switched-off example"):
        check_block_examples(student, "encoder_block")
    args = (rng.standard_normal((2, 3, 4)), block_params(rng, 4, 6, ("",), 2),
            {"num_heads": 2, "norm": norm, "activation": "gelu" if norm == "pre" else "relu"})
    numerical_gradients(student, "encoder_block", args, ("dx", "grads"), (0, 1),
                        rng.standard_normal((2, 3, 4)))


@pytest.mark.task("a4.decoder")
@pytest.mark.points(2)
@pytest.mark.parametrize("norm", ["post", "pre"])
def test_decoder_block_backward_numerical(student, rng, norm):
    """decoder_block_backward: dx, dmemory and every parameter's gradient agree with numerical
    gradients"""
    with forward_first("decoder_block_forward on the handout's switched-off example"):
        check_block_examples(student, "decoder_block")
    args = (rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 2, 4)),
            block_params(rng, 4, 6, ("self_", "cross_"), 3),
            {"num_heads": 2, "norm": norm, "activation": "relu" if norm == "pre" else "gelu"})
    numerical_gradients(student, "decoder_block", args, ("dx", "dmemory", "grads"), (0, 1, 2),
                        rng.standard_normal((2, 3, 4)))
