"""Reference A4 layers against PyTorch's functions and modules (float64, dropout 0), forward and
backward; skipped when torch is absent. (torchvision, which has Swin's helpers, is not
installable beside this torch: the Swin windows are checked against Swin's own slice
construction in tests/test_references_a4.py instead.)

Our weights are torch's transposed: nn.MultiheadAttention's in_proj_weight is
[W_Q^T; W_K^T; W_V^T] (q_proj_weight, k_proj_weight and v_proj_weight when the memory has
another width) and out_proj.weight is W_O^T; an FFN's linear1.weight is W1^T. A boolean mask
is True where a query MAY attend for F.scaled_dot_product_attention, as for us, but True where
it may NOT for nn.MultiheadAttention and the Transformer layers: those get ~mask.
"""
import numpy as np
import pytest

pytest.importorskip("torch")

from solutions.a4_attention import attention as A
from solutions.a4_attention import transformer_blocks as B
from solutions.a4_attention import transformer_layers as L
from a4_params import attention_params, block_params  # tests/ is on sys.path
from torch_oracle import F, assert_close, tensor, torch

KEYS = ("Q", "K", "V")


def load_attention(module, params, prefix=""):
    """Our multi-head attention parameters into an nn.MultiheadAttention."""
    p = {k: torch.tensor(params[prefix + k]) for k in
         ("W_Q", "b_Q", "W_K", "b_K", "W_V", "b_V", "W_O", "b_O")}
    with torch.no_grad():
        if module._qkv_same_embed_dim:
            module.in_proj_weight.copy_(torch.cat([p[f"W_{n}"].T for n in KEYS]))
        else:
            for n in KEYS:
                getattr(module, f"{n.lower()}_proj_weight").copy_(p[f"W_{n}"].T)
        module.in_proj_bias.copy_(torch.cat([p[f"b_{n}"] for n in KEYS]))
        module.out_proj.weight.copy_(p["W_O"].T)
        module.out_proj.bias.copy_(p["b_O"])


def attention_grads(module):
    """The gradients of an nn.MultiheadAttention's parameters, in our names and layout."""
    D = module.embed_dim
    if module._qkv_same_embed_dim:
        w = module.in_proj_weight.grad
        weights = {f"W_{n}": w[i * D:(i + 1) * D].T for i, n in enumerate(KEYS)}
    else:
        weights = {f"W_{n}": getattr(module, f"{n.lower()}_proj_weight").grad.T for n in KEYS}
    b = module.in_proj_bias.grad
    return {**weights, **{f"b_{n}": b[i * D:(i + 1) * D] for i, n in enumerate(KEYS)},
            "W_O": module.out_proj.weight.grad.T, "b_O": module.out_proj.bias.grad}


def assert_grads_close(ours: dict, theirs: dict, prefix=""):
    for key, value in theirs.items():
        assert_close(prefix + key, ours[prefix + key], value)


@pytest.mark.parametrize("shape", [(2, 3, 5, 4, 6), (1, 4, 4, 8, 2), (3, 6, 2, 3, 3)])
@pytest.mark.parametrize("mask", [None, "causal", "random"])
def test_attention_against_scaled_dot_product_attention(shape, mask):
    rng = np.random.default_rng(0)
    n, tq, tk, d, dv = shape
    q, k, v = (rng.standard_normal(s) for s in ((n, tq, d), (n, tk, d), (n, tk, dv)))
    if mask == "causal":
        mask = np.tril(np.ones((tq, tk), dtype=bool))
    elif mask == "random":
        mask = rng.random((n, tq, tk)) < 0.5
        mask[..., 0] = True  # torch gives NaN for a query that sees no key; we give 0
    out, cache = A.scaled_dot_product_attention_forward(q, k, v, mask)
    tq_, tk_, tv_ = tensor(q), tensor(k), tensor(v)
    theirs = F.scaled_dot_product_attention(
        tq_, tk_, tv_, attn_mask=None if mask is None else torch.tensor(mask))
    assert_close("out", out, theirs)
    dout = rng.standard_normal(out.shape)
    theirs.backward(torch.tensor(dout))
    for name, ours, t in zip(("dq", "dk", "dv"),
                             A.scaled_dot_product_attention_backward(dout, cache),
                             (tq_, tk_, tv_), strict=True):
        assert_close(name, ours, t.grad)


@pytest.mark.parametrize("case", [(2, 4, 4, 8, 8, 1, False), (2, 4, 4, 8, 8, 4, True),
                                  (3, 3, 5, 6, 6, 3, False), (2, 3, 5, 4, 6, 2, False),
                                  (1, 5, 5, 6, 6, 6, True)])
def test_multihead_against_nn_multihead_attention(case):
    rng = np.random.default_rng(1)
    n, tq, tk, d, dm, heads, causal = case
    self_attention = tq == tk and d == dm
    x_q = rng.standard_normal((n, tq, d))
    x_kv = x_q if self_attention else rng.standard_normal((n, tk, dm))
    mask = np.tril(np.ones((tq, tk), dtype=bool)) if causal else None
    params = attention_params(rng, d, dm)
    module = torch.nn.MultiheadAttention(d, heads, batch_first=True, kdim=dm, vdim=dm,
                                         dtype=torch.float64)
    load_attention(module, params)
    out, cache = A.multihead_attention_forward(x_q, x_kv, params, heads, mask)
    tq_, tkv_ = tensor(x_q), tensor(x_kv)
    theirs, _ = module(tq_, tkv_, tkv_, need_weights=False,
                       attn_mask=None if mask is None else torch.tensor(~mask))
    assert_close("out", out, theirs)
    dout = rng.standard_normal(out.shape)
    theirs.backward(torch.tensor(dout))
    dx_q, dx_kv, grads = A.multihead_attention_backward(dout, cache)
    assert_close("dx_q", dx_q, tq_.grad)
    assert_close("dx_kv", dx_kv, tkv_.grad)
    assert_grads_close(grads, attention_grads(module))


def test_layernorm_and_gelu_against_torch():
    rng = np.random.default_rng(2)
    x, gamma, beta = rng.standard_normal((2, 3, 5)), rng.standard_normal(5), rng.standard_normal(5)
    out, cache = L.layernorm_forward(x, gamma, beta, {})
    tx, tg, tb = tensor(x), tensor(gamma), tensor(beta)
    theirs = F.layer_norm(tx, (5,), tg, tb, eps=1e-5)
    assert_close("layernorm out", out, theirs)
    dout = rng.standard_normal(out.shape)
    theirs.backward(torch.tensor(dout))
    for name, ours, t in zip(("dx", "dgamma", "dbeta"), L.layernorm_backward(dout, cache),
                             (tx, tg, tb), strict=True):
        assert_close(name, ours, t.grad)
    x = 3 * rng.standard_normal((4, 6))
    out, cache = L.gelu_forward(x)
    tx = tensor(x)
    theirs = F.gelu(tx)  # approximate='none', the exact form
    assert_close("gelu out", out, theirs)
    theirs.backward(torch.tensor(dout := rng.standard_normal(x.shape)))
    assert_close("gelu dx", L.gelu_backward(dout, cache), tx.grad)


def load_ffn_and_norms(layer, params, norms):
    with torch.no_grad():
        layer.linear1.weight.copy_(torch.tensor(params["W1"].T))
        layer.linear1.bias.copy_(torch.tensor(params["b1"]))
        layer.linear2.weight.copy_(torch.tensor(params["W2"].T))
        layer.linear2.bias.copy_(torch.tensor(params["b2"]))
        for i in range(1, norms + 1):
            getattr(layer, f"norm{i}").weight.copy_(torch.tensor(params[f"gamma{i}"]))
            getattr(layer, f"norm{i}").bias.copy_(torch.tensor(params[f"beta{i}"]))


def ffn_and_norm_grads(layer, norms):
    grads = {"W1": layer.linear1.weight.grad.T, "b1": layer.linear1.bias.grad,
             "W2": layer.linear2.weight.grad.T, "b2": layer.linear2.bias.grad}
    for i in range(1, norms + 1):
        grads[f"gamma{i}"] = getattr(layer, f"norm{i}").weight.grad
        grads[f"beta{i}"] = getattr(layer, f"norm{i}").bias.grad
    return grads


BLOCKS = [(norm, act) for norm in ("post", "pre") for act in ("relu", "gelu")]


@pytest.mark.parametrize("norm,activation", BLOCKS)
@pytest.mark.parametrize("causal", [False, True])
def test_encoder_block_against_transformer_encoder_layer(norm, activation, causal):
    rng = np.random.default_rng(3)
    n, t, d, f, heads = 2, 5, 8, 12, 2
    x, params = rng.standard_normal((n, t, d)), block_params(rng, d, f, ("",), 2)
    mask = np.tril(np.ones((t, t), dtype=bool)) if causal else None
    layer = torch.nn.TransformerEncoderLayer(d, heads, f, dropout=0.0, activation=activation,
                                             batch_first=True, norm_first=norm == "pre",
                                             dtype=torch.float64)
    load_attention(layer.self_attn, params)
    load_ffn_and_norms(layer, params, 2)
    block_param = {"num_heads": heads, "norm": norm, "activation": activation}
    out, cache = B.encoder_block_forward(x, params, block_param, mask)
    tx = tensor(x)
    theirs = layer(tx, src_mask=None if mask is None else torch.tensor(~mask))
    assert_close("out", out, theirs)
    dout = rng.standard_normal(out.shape)
    theirs.backward(torch.tensor(dout))
    dx, grads = B.encoder_block_backward(dout, cache)
    assert_close("dx", dx, tx.grad)
    assert_grads_close(grads, attention_grads(layer.self_attn))
    assert_grads_close(grads, ffn_and_norm_grads(layer, 2))


@pytest.mark.parametrize("norm,activation", BLOCKS)
def test_decoder_block_against_transformer_decoder_layer(norm, activation):
    rng = np.random.default_rng(4)
    n, t, s, d, f, heads = 2, 5, 3, 8, 12, 4
    x, memory = rng.standard_normal((n, t, d)), rng.standard_normal((n, s, d))
    params = block_params(rng, d, f, ("self_", "cross_"), 3)
    layer = torch.nn.TransformerDecoderLayer(d, heads, f, dropout=0.0, activation=activation,
                                             batch_first=True, norm_first=norm == "pre",
                                             dtype=torch.float64)
    load_attention(layer.self_attn, params, "self_")
    load_attention(layer.multihead_attn, params, "cross_")
    load_ffn_and_norms(layer, params, 3)
    block_param = {"num_heads": heads, "norm": norm, "activation": activation}
    out, cache = B.decoder_block_forward(x, memory, params, block_param)
    tx, tm = tensor(x), tensor(memory)
    causal = torch.tensor(~A.causal_mask(t))
    theirs = layer(tx, tm, tgt_mask=causal)
    assert_close("out", out, theirs)
    dout = rng.standard_normal(out.shape)
    theirs.backward(torch.tensor(dout))
    dx, dmemory, grads = B.decoder_block_backward(dout, cache)
    assert_close("dx", dx, tx.grad)
    assert_close("dmemory", dmemory, tm.grad)
    assert_grads_close(grads, {"self_" + k: v for k, v in attention_grads(layer.self_attn).items()})
    assert_grads_close(grads, {"cross_" + k: v
                               for k, v in attention_grads(layer.multihead_attn).items()})
    assert_grads_close(grads, ffn_and_norm_grads(layer, 3))


@pytest.mark.parametrize("norm,activation", [("post", "relu"), ("pre", "gelu")])
@pytest.mark.parametrize("kind", ["key_padding", "memory_mask"])
def test_decoder_block_memory_mask_against_transformer_decoder_layer(norm, activation, kind):
    """Our memory_mask (True = may attend) against PyTorch's memory_key_padding_mask (N, S) or
    memory_mask (T, S) (True = masked out): every decoder position keeps at least one memory
    position, since PyTorch gives NaN where none is left (ours gives a zero cross-attention)."""
    rng = np.random.default_rng(5)
    n, t, s, d, f, heads = 3, 4, 5, 8, 12, 2
    x, memory = rng.standard_normal((n, t, d)), rng.standard_normal((n, s, d))
    params = block_params(rng, d, f, ("self_", "cross_"), 3)
    layer = torch.nn.TransformerDecoderLayer(d, heads, f, dropout=0.0, activation=activation,
                                             batch_first=True, norm_first=norm == "pre",
                                             dtype=torch.float64)
    load_attention(layer.self_attn, params, "self_")
    load_attention(layer.multihead_attn, params, "cross_")
    load_ffn_and_norms(layer, params, 3)
    block_param = {"num_heads": heads, "norm": norm, "activation": activation}
    tx, tm = tensor(x), tensor(memory)
    causal = torch.tensor(~A.causal_mask(t))
    if kind == "key_padding":
        keep = np.arange(s)[None, :] < np.array([5, 3, 1])[:, None]  # (N, S)
        ours = keep[:, None, :]
        theirs = layer(tx, tm, tgt_mask=causal, memory_key_padding_mask=torch.tensor(~keep))
    else:
        ours = rng.random((t, s)) < 0.5
        ours[:, 2] = True
        theirs = layer(tx, tm, tgt_mask=causal, memory_mask=torch.tensor(~ours))
    out, cache = B.decoder_block_forward(x, memory, params, block_param, ours)
    assert_close("out", out, theirs)
    dout = rng.standard_normal(out.shape)
    theirs.backward(torch.tensor(dout))
    dx, dmemory, grads = B.decoder_block_backward(dout, cache)
    assert_close("dx", dx, tx.grad)
    assert_close("dmemory", dmemory, tm.grad)
    if kind == "key_padding":
        assert np.all(dmemory[~keep] == 0.0)
    assert_grads_close(grads, {"self_" + k: v for k, v in attention_grads(layer.self_attn).items()})
    assert_grads_close(grads, {"cross_" + k: v
                               for k, v in attention_grads(layer.multihead_attn).items()})
    assert_grads_close(grads, ffn_and_norm_grads(layer, 3))
