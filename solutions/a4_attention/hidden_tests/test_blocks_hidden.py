"""Hidden tests: the Transformer encoder and decoder blocks against the reference, post-norm and
pre-norm, ReLU and GELU, one head and many, every output and every gradient (the input's, the
memory's and each of the parameters').

The layer norms' gamma and beta are drawn away from 1 and 0, so that a residual taken after
instead of before a norm shows. The decoder's memory is longer or shorter than its input (a
cross-attention with the two swapped fails), and one encoder case has a padding mask.
"""

import numpy as np
import pytest

from grader.compare import check_forward
from solutions.a4_attention.hidden_tests.checks import attention_params, check_backward, weight

# (N, T, D, F, heads, norm, activation)
ENCODERS = [(2, 4, 6, 8, 2, "post", "relu"), (1, 3, 4, 6, 1, "post", "gelu"),
            (3, 5, 8, 12, 4, "post", "relu"), (2, 4, 6, 8, 2, "pre", "relu"),
            (1, 3, 4, 6, 1, "pre", "gelu"), (3, 5, 8, 12, 4, "pre", "gelu")]
# (N, T, S, D, F, heads, norm, activation): S is the memory's length
DECODERS = [(2, 4, 3, 6, 8, 2, "post", "relu"), (1, 3, 5, 4, 6, 1, "post", "gelu"),
            (2, 5, 4, 8, 12, 4, "post", "relu"), (2, 4, 3, 6, 8, 2, "pre", "relu"),
            (1, 3, 5, 4, 6, 1, "pre", "gelu"), (2, 5, 6, 8, 12, 4, "pre", "gelu")]


def case_id(case) -> str:
    return "-".join(map(str, case))


def norms_and_ffn(rng, d, f, count):
    """The layer norms' gamma1, beta1, ... and the FFN's W1, b1, W2, b2."""
    params = {"W1": weight(rng, (d, f)), "b1": 0.3 * rng.standard_normal(f),
              "W2": weight(rng, (f, d)), "b2": 0.3 * rng.standard_normal(d)}
    for i in range(1, count + 1):
        params[f"gamma{i}"] = 1.0 + 0.3 * rng.standard_normal(d)
        params[f"beta{i}"] = 0.3 * rng.standard_normal(d)
    return params


def encoder_inputs(rng, case, masked=False):
    n, t, d, f, heads, norm, activation = case
    params = {**attention_params(rng, d), **norms_and_ffn(rng, d, f, 2)}
    block_param = {"num_heads": heads, "norm": norm, "activation": activation}
    if not masked:
        return rng.standard_normal((n, t, d)), params, block_param
    lengths = rng.integers(1, t + 1, n)
    lengths[0] = t - 1
    mask = np.broadcast_to((np.arange(t) < lengths[:, None])[:, None, :], (n, t, t)).copy()
    return rng.standard_normal((n, t, d)), params, block_param, mask


def decoder_inputs(rng, case):
    n, t, s, d, f, heads, norm, activation = case
    params = norms_and_ffn(rng, d, f, 3)
    for prefix in ("self_", "cross_"):
        params.update({prefix + k: v for k, v in attention_params(rng, d).items()})
    return (rng.standard_normal((n, t, d)), rng.standard_normal((n, s, d)), params,
            {"num_heads": heads, "norm": norm, "activation": activation})


# -- a4.encoder -------------------------------------------------------------------------------
@pytest.mark.task("a4.encoder")
@pytest.mark.points(3)
@pytest.mark.parametrize("case", ENCODERS, ids=case_id)
def test_encoder_block_forward(student, ref, rng, case):
    """encoder_block_forward: out matches the reference (post-norm and pre-norm)"""
    check_forward(student, ref, "encoder_block", *encoder_inputs(rng, case))


@pytest.mark.task("a4.encoder")
@pytest.mark.points(6)
@pytest.mark.parametrize("case", ENCODERS, ids=case_id)
def test_encoder_block_backward(student, ref, rng, case):
    """encoder_block_backward: dx and the gradient of every parameter match the reference"""
    check_backward(student, ref, "encoder_block", encoder_inputs(rng, case), ("dx", "grads"), rng)


@pytest.mark.task("a4.encoder")
@pytest.mark.points(2)
@pytest.mark.parametrize("case", [ENCODERS[0], ENCODERS[4]], ids=case_id)
def test_encoder_block_with_padding_mask(student, ref, rng, case):
    """encoder_block_forward and _backward with a padding mask passed to the self-attention"""
    args = encoder_inputs(rng, case, masked=True)
    check_forward(student, ref, "encoder_block", *args)
    check_backward(student, ref, "encoder_block", args, ("dx", "grads"), rng)


# -- a4.decoder -------------------------------------------------------------------------------
@pytest.mark.task("a4.decoder")
@pytest.mark.points(3)
@pytest.mark.parametrize("case", DECODERS, ids=case_id)
def test_decoder_block_forward(student, ref, rng, case):
    """decoder_block_forward: out matches the reference (causal self-attention, cross-attention,
    FFN; post-norm and pre-norm)"""
    check_forward(student, ref, "decoder_block", *decoder_inputs(rng, case))


@pytest.mark.task("a4.decoder")
@pytest.mark.points(6)
@pytest.mark.parametrize("case", DECODERS, ids=case_id)
def test_decoder_block_backward(student, ref, rng, case):
    """decoder_block_backward: dx, dmemory and the gradient of every parameter match the
    reference"""
    check_backward(student, ref, "decoder_block", decoder_inputs(rng, case),
                   ("dx", "dmemory", "grads"), rng)


def decoder_memory_mask(rng, n, t, s, kind):
    """A memory mask: "padding" (N, 1, S) for sources of lengths 1..S (one full, one of a
    single position), "random" (N, T, S) with one decoder position that sees no memory at all."""
    if kind == "padding":
        lengths = rng.integers(1, s + 1, n)
        lengths[0], lengths[-1] = s, 1
        return (np.arange(s) < lengths[:, None])[:, None, :]
    mask = rng.random((n, t, s)) < 0.6
    mask[:, :, 0] = True
    mask[-1, t // 2] = False  # this position of the last sample attends to no memory
    return mask


@pytest.mark.task("a4.decoder")
@pytest.mark.points(3)
@pytest.mark.parametrize("kind", ["padding", "random"])
@pytest.mark.parametrize("case", [DECODERS[0], DECODERS[5]], ids=case_id)
def test_decoder_block_with_memory_mask(student, ref, rng, case, kind):
    """decoder_block_forward and _backward with memory_mask passed to the cross-attention
    (a padding mask (N, 1, S), and a random (N, T, S) with a position that sees no memory)"""
    x, memory, params, block_param = decoder_inputs(rng, case)
    mask = decoder_memory_mask(rng, x.shape[0], x.shape[1], memory.shape[1], kind)
    args = (x, memory, params, block_param, mask)
    check_forward(student, ref, "decoder_block", *args)
    check_backward(student, ref, "decoder_block", args, ("dx", "dmemory", "grads"), rng)
