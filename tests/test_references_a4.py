"""Reference solutions of A4 against numerical gradients, the handout's worked examples and
hand-computed values (the attention of the public checks, the causal and the all-masked rows,
GELU's exact values, the Swin mask of a 4 x 4 map), and properties the handout states (rows of
weights sum to 1, masked keys get no weight or gradient, pre-norm blocks with their sublayers
switched off are the identity, the decoder is causal, partition and reverse are inverses)."""
import math

import numpy as np
import pytest

from a4_params import attention_params, block_params  # tests/a4_params.py
from gradients import assert_grad  # tests/gradients.py
from solutions.a4_attention import attention as A
from solutions.a4_attention import bert_masking, windows
from solutions.a4_attention import transformer_blocks as B
from solutions.a4_attention import transformer_layers as L

# Sums over positions cancel in places; a wrong formula is off by far more than 1e-6.
TOL = 1e-6


def assert_grads(forward, backward, args, names, wrt, rng):
    """Each of backward's outputs (an array, or a dict of parameter gradients) against the
    numerical gradient of sum(dout * forward(*args)[0]) in argument ``wrt[i]``."""
    out, cache = forward(*args)
    dout = rng.standard_normal(out.shape)
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)

    def scalar(i, key, value):
        changed = list(args)
        changed[i] = {**args[i], key: value} if key else value
        return np.sum(forward(*changed)[0] * dout)

    for name, i, grad in zip(names, wrt, grads, strict=True):
        if isinstance(grad, dict):
            assert set(grad) == set(args[i]), name
            for key, value in args[i].items():
                if key.endswith("b_K"):  # the softmax ignores what adds the same to a row
                    np.testing.assert_allclose(grad[key], 0.0, atol=1e-12)
                    continue
                assert_grad(f"{name}[{key}]", grad[key], lambda v, i=i, k=key: scalar(i, k, v),
                            value, tol=TOL)
        else:
            assert_grad(name, grad, lambda v, i=i: scalar(i, None, v), args[i], tol=TOL)


# -- numerical gradients -----------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 3, 5, 4, 2), (1, 1, 3, 2, 3), (2, 4, 4, 3, 3)])
@pytest.mark.parametrize("masked", [False, True])
def test_attention_gradients(shape, masked):
    rng = np.random.default_rng(0)
    n, tq, tk, d, dv = shape
    args = [rng.standard_normal((n, tq, d)), rng.standard_normal((n, tk, d)),
            rng.standard_normal((n, tk, dv))]
    if masked:
        mask = rng.random((n, tq, tk)) < 0.5
        mask[..., 0] = True
        mask[0, -1] = False  # a query that sees no key
        args.append(mask)
    assert_grads(A.scaled_dot_product_attention_forward, A.scaled_dot_product_attention_backward,
                 tuple(args), ("dq", "dk", "dv"), (0, 1, 2), rng)


def test_additive_attention_gradients():
    rng = np.random.default_rng(1)
    params = {"W_s": rng.standard_normal((3, 5)) / 2, "W_h": rng.standard_normal((4, 5)) / 2,
              "b": 0.3 * rng.standard_normal(5), "v": rng.standard_normal(5)}
    args = (rng.standard_normal((2, 3)), rng.standard_normal((2, 6, 4)), params)
    assert_grads(A.additive_attention_forward, A.additive_attention_backward, args,
                 ("ds", "dh", "grads"), (0, 1, 2), rng)


@pytest.mark.parametrize("case", [(2, 4, 4, 6, 6, 3, True), (2, 3, 5, 4, 6, 2, False),
                                  (1, 3, 3, 4, 4, 1, False), (2, 3, 3, 4, 4, 4, True)])
def test_multihead_gradients(case):
    rng = np.random.default_rng(2)
    n, tq, tk, d, dm, heads, causal = case
    args = (rng.standard_normal((n, tq, d)), rng.standard_normal((n, tk, dm)),
            attention_params(rng, d, dm), heads, np.tril(np.ones((tq, tk), dtype=bool)) if causal
            else None)
    assert_grads(A.multihead_attention_forward, A.multihead_attention_backward, args,
                 ("dx_q", "dx_kv", "grads"), (0, 1, 2), rng)


@pytest.mark.parametrize("shape", [(2, 3, 4), (5, 6)])
def test_layernorm_gradients(shape):
    rng = np.random.default_rng(3)
    d = shape[-1]
    args = (2.0 * rng.standard_normal(shape) + 1.0, 1.0 + 0.3 * rng.standard_normal(d),
            rng.standard_normal(d), {})
    assert_grads(L.layernorm_forward, L.layernorm_backward, args, ("dx", "dgamma", "dbeta"),
                 (0, 1, 2), rng)


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_ffn_and_gelu_gradients(activation):
    rng = np.random.default_rng(4)
    args = (rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 6)) / 2,
            0.3 * rng.standard_normal(6), rng.standard_normal((6, 4)) / 2,
            0.3 * rng.standard_normal(4), activation)
    assert_grads(L.ffn_forward, L.ffn_backward, args, ("dx", "dW1", "db1", "dW2", "db2"),
                 (0, 1, 2, 3, 4), rng)
    # gelu' is 0 at x = -0.7518, where a relative error means nothing: a grid that misses it
    assert_grads(L.gelu_forward, L.gelu_backward, (np.linspace(-4, 4, 15).reshape(3, 5),),
                 ("dx",), (0,), rng)


def test_position_embedding_gradients():
    rng = np.random.default_rng(5)
    args = (rng.standard_normal((2, 3, 4)), rng.standard_normal((6, 4)))
    assert_grads(L.position_embedding_forward, L.position_embedding_backward, args,
                 ("dx", "dW_pos"), (0, 1), rng)


@pytest.mark.parametrize("norm", ["post", "pre"])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_block_gradients(norm, activation):
    rng = np.random.default_rng(6)
    mask = np.ones((2, 3, 3), dtype=bool)
    mask[1, :, 2] = False  # sample 1 is padded after two positions
    args = (rng.standard_normal((2, 3, 4)), block_params(rng, 4, 6, ("",), 2),
            {"num_heads": 2, "norm": norm, "activation": activation}, mask)
    assert_grads(B.encoder_block_forward, B.encoder_block_backward, args, ("dx", "grads"),
                 (0, 1), rng)


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_decoder_block_gradients(norm):
    rng = np.random.default_rng(7)
    args = (rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 2, 4)),
            block_params(rng, 4, 6, ("self_", "cross_"), 3),
            {"num_heads": 2, "norm": norm, "activation": "gelu"})
    assert_grads(B.decoder_block_forward, B.decoder_block_backward, args,
                 ("dx", "dmemory", "grads"), (0, 1, 2), rng)


# -- worked examples and properties ------------------------------------------------------------
def test_attention_worked_example():
    ln3 = math.log(3.0)
    q = np.array([[[2 * ln3, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]])
    k = np.array([[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]])
    v = np.array([[[4.0, 0.0], [0.0, 8.0]]])
    out, _ = A.scaled_dot_product_attention_forward(q, k, v)
    np.testing.assert_allclose(out, [[[3.0, 2.0], [2.0, 4.0]]], rtol=1e-12)
    out, _ = A.scaled_dot_product_attention_forward(q, k, v, A.causal_mask(2))
    np.testing.assert_allclose(out, [[[4.0, 0.0], [2.0, 4.0]]], rtol=1e-12)
    out, cache = A.scaled_dot_product_attention_forward(q, k, v, np.array([[0, 0], [1, 1]], bool))
    np.testing.assert_allclose(out, [[[0.0, 0.0], [2.0, 4.0]]], rtol=1e-12, atol=0)
    dq, _, _ = A.scaled_dot_product_attention_backward(np.ones((1, 2, 2)), cache)
    assert np.all(dq[0, 0] == 0.0)


def test_masked_weights_are_exactly_zero_and_stable_at_large_scores():
    rng = np.random.default_rng(8)
    q, k, v = 1e3 * rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), \
        rng.standard_normal((2, 5, 2))
    mask = rng.random((2, 3, 5)) < 0.5
    mask[..., 0], mask[1, 2] = True, False
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out, (*_, weights, _) = A.scaled_dot_product_attention_forward(q, k, v, mask)
    assert np.all(weights[~np.broadcast_to(mask, weights.shape)] == 0.0)
    np.testing.assert_allclose(weights.sum(axis=-1), [[1, 1, 1], [1, 1, 0]], rtol=1e-12)
    assert np.isfinite(out).all() and np.all(out[1, 2] == 0.0)


def test_multihead_is_attention_per_slice_of_features():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 6))
    params = {f"{w}_{n}": np.eye(6) if w == "W" else np.zeros(6) for n in "QKVO" for w in "Wb"}
    out, _ = A.multihead_attention_forward(x, x, params, 3)
    for h in range(3):
        part = x[..., 2 * h:2 * h + 2]
        np.testing.assert_allclose(out[..., 2 * h:2 * h + 2],
                                   A.scaled_dot_product_attention_forward(part, part, part)[0],
                                   rtol=1e-12)


def test_sinusoidal_encoding_values():
    P = L.sinusoidal_positional_encoding(50, 7)
    i, j = 13, 2  # feature pair j: columns 4 and 5
    angle = i / 10000 ** (2 * j / 7)
    assert P[i, 4] == pytest.approx(math.sin(angle)) and P[i, 5] == pytest.approx(math.cos(angle))
    assert P[i, 6] == pytest.approx(math.sin(i / 10000 ** (6 / 7)))
    np.testing.assert_array_equal(P[0], [0, 1, 0, 1, 0, 1, 0])


def test_gelu_is_the_exact_erf_form():
    x = np.array([-3.0, -1.0, 0.0, 1.0, 2.0])
    out, _ = L.gelu_forward(x)
    np.testing.assert_allclose(out, [v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x],
                               rtol=1e-15)
    assert out[3] == pytest.approx(0.8413447460685429, rel=1e-15)


def test_layernorm_restates_the_a1_layer_norm_on_2d_inputs():
    from solutions.a1_networks.normalization import layernorm_forward as a1_layernorm
    rng = np.random.default_rng(10)
    x, gamma, beta = rng.standard_normal((5, 4)), rng.standard_normal(4), rng.standard_normal(4)
    np.testing.assert_allclose(L.layernorm_forward(x, gamma, beta, {})[0],
                               a1_layernorm(x, gamma, beta, {})[0], rtol=1e-14)


@pytest.mark.parametrize("layer", ["encoder", "decoder"])
def test_pre_norm_blocks_with_sublayers_switched_off_are_the_identity(layer):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 4))
    prefixes, norms = (("",), 2) if layer == "encoder" else (("self_", "cross_"), 3)
    params = {k: np.zeros_like(v) if k.endswith(("W_O", "b_O", "W2", "b2")) else v
              for k, v in block_params(rng, 4, 6, prefixes, norms).items()}
    block_param = {"num_heads": 2, "norm": "pre"}
    if layer == "encoder":
        out, _ = B.encoder_block_forward(x, params, block_param)
    else:
        out, _ = B.decoder_block_forward(x, rng.standard_normal((2, 5, 4)), params, block_param)
    np.testing.assert_allclose(out, x, rtol=1e-14)


def test_decoder_block_is_causal():
    rng = np.random.default_rng(12)
    x, memory = rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 3, 4))
    params, block_param = block_params(rng, 4, 6, ("self_", "cross_"), 3), {"num_heads": 2}
    out, _ = B.decoder_block_forward(x, memory, params, block_param)
    later = x.copy()
    later[:, 3:] += 1.0
    changed, _ = B.decoder_block_forward(later, memory, params, block_param)
    np.testing.assert_allclose(changed[:, :3], out[:, :3], rtol=1e-13)
    assert not np.allclose(changed[:, 3:], out[:, 3:])


def test_windows_round_trip_and_the_swin_mask():
    x = np.random.default_rng(13).standard_normal((2, 6, 9, 3))
    np.testing.assert_array_equal(windows.window_reverse(windows.window_partition(x, 3), 3, 6, 9),
                                  x)
    mask = windows.shifted_window_mask(4, 4, 2, 1)
    halves = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]], dtype=bool)
    np.testing.assert_array_equal(mask, [np.ones((4, 4), bool), halves, halves[[0, 2, 1, 3]]
                                         [:, [0, 2, 1, 3]], np.eye(4, dtype=bool)])
    assert windows.shifted_window_mask(8, 8, 4, 0).all()


def test_shifted_window_mask_matches_swins_slices():
    """Swin's own construction: label the rolled map by the three slices of each axis."""
    H, W, ws, s = 8, 12, 4, 2
    img = np.zeros((1, H, W, 1))
    count = 0
    for hs in (slice(0, -ws), slice(-ws, -s), slice(-s, None)):
        for wsl in (slice(0, -ws), slice(-ws, -s), slice(-s, None)):
            img[:, hs, wsl, :] = count
            count += 1
    labels = windows.window_partition(img, ws).reshape(-1, ws * ws)
    np.testing.assert_array_equal(windows.shifted_window_mask(H, W, ws, s),
                                  labels[:, None, :] == labels[:, :, None])


def test_bert_masking_proportions_and_labels():
    tokens = np.random.default_rng(14).integers(0, 50, (400, 500))
    inputs, labels = bert_masking.bert_mask_tokens(tokens, 50, 50, seed=0)
    chosen = labels != -100
    np.testing.assert_array_equal(labels[chosen], tokens[chosen])
    np.testing.assert_array_equal(inputs[~chosen], tokens[~chosen])
    assert abs(chosen.mean() - 0.15) < 0.005
    picked = inputs[chosen]
    assert abs((picked == 50).mean() - 0.8) < 0.01
    assert abs((picked == tokens[chosen]).mean() - (0.1 + 0.1 / 50)) < 0.01
    again = bert_masking.bert_mask_tokens(tokens, 50, 50, seed=0)
    np.testing.assert_array_equal(again[0], inputs)
