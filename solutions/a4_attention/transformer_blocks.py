"""A4 Transformer blocks, built from your layers: the encoder block (task a4.encoder) and the
decoder block (a4.decoder), each post-norm (the 2017 paper, PyTorch's default) or pre-norm
(norm_first=True in PyTorch).

Call your layers through their modules, e.g. attention.multihead_attention_forward(...) and
transformer_layers.layernorm_forward(...). Parameters and their gradients travel in flat dicts
whose keys the docstrings list. This is the reference solution; README.md is the handout.
"""
import numpy as np

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import attention, transformer_layers
except ImportError:
    import attention, transformer_layers  # noqa: E401 - the flat twin of the import above

ATTENTION_KEYS = ("W_Q", "b_Q", "W_K", "b_K", "W_V", "b_V", "W_O", "b_O")
FFN_KEYS = ("W1", "b1", "W2", "b2")


def _attention_params(params, prefix):
    """The attention parameters stored under ``prefix`` (e.g. 'self_'), without it."""
    return {key: params[prefix + key] for key in ATTENTION_KEYS}


def _settings(block_param):
    """(num_heads, norm, activation, ln_param) with their defaults."""
    norm = block_param.get("norm", "post")
    if norm not in ("post", "pre"):
        raise ValueError(f"block_param['norm'] must be 'post' or 'pre', got {norm!r}")
    return (block_param["num_heads"], norm, block_param.get("activation", "relu"),
            {"eps": block_param.get("eps", 1e-5)})


def _sublayer_forward(x, norm, i, params, ln_param, body):
    """One residual sublayer: post-norm LN_i(x + body(x)), pre-norm x + body(LN_i(x)).
    Returns (out, cache); ``body(y) -> (out, cache)``."""
    gamma, beta = params[f"gamma{i}"], params[f"beta{i}"]
    if norm == "post":
        y, body_cache = body(x)
        out, ln_cache = transformer_layers.layernorm_forward(x + y, gamma, beta, ln_param)
    else:
        normed, ln_cache = transformer_layers.layernorm_forward(x, gamma, beta, ln_param)
        y, body_cache = body(normed)
        out = x + y
    return out, (norm, i, ln_cache, body_cache)


def _sublayer_backward(dout, cache, grads, body_backward):
    """Backward of _sublayer_forward: the residual passes dout straight through, the body adds
    its own gradient; ``body_backward(dy, body_cache) -> dx of the body's input``."""
    norm, i, ln_cache, body_cache = cache
    if norm == "post":
        dsum, grads[f"gamma{i}"], grads[f"beta{i}"] = \
            transformer_layers.layernorm_backward(dout, ln_cache)
        return dsum + body_backward(dsum, body_cache)
    dnormed = body_backward(dout, body_cache)
    dx, grads[f"gamma{i}"], grads[f"beta{i}"] = \
        transformer_layers.layernorm_backward(dnormed, ln_cache)
    return dout + dx


def _ffn(params, activation):
    return lambda y: transformer_layers.ffn_forward(y, *(params[k] for k in FFN_KEYS), activation)


def _ffn_backward(grads):
    def backward(dy, cache):
        dx, *dparams = transformer_layers.ffn_backward(dy, cache)
        grads.update(zip(FFN_KEYS, dparams, strict=True))
        return dx
    return backward


def encoder_block_forward(x, params, block_param, mask=None):
    """A Transformer encoder block: multi-head self-attention and the position-wise FFN, each
    with a residual connection and a layer norm.

        post-norm ('post', 2017):  a = LN1(x + MHA(x, x)),    out = LN2(a + FFN(a))
        pre-norm ('pre'):          a = x + MHA(LN1(x), LN1(x)), out = a + FFN(LN2(a))

    MHA is multihead_attention_forward, FFN is ffn_forward, LN is layernorm_forward. This is
    PyTorch's nn.TransformerEncoderLayer(D, num_heads, F, dropout=0, batch_first=True) with
    norm_first = (norm == 'pre').

    Inputs:
    - x: (N, T, D)
    - params: dict with keys
      - 'W_Q', 'b_Q', 'W_K', 'b_K', 'W_V', 'b_V', 'W_O', 'b_O': the self-attention's, (D, D)
        weights and (D,) biases as multihead_attention_forward takes them
      - 'gamma1', 'beta1': (D,) the attention sublayer's layer norm
      - 'W1': (D, F), 'b1': (F,), 'W2': (F, D), 'b2': (D,): the FFN's
      - 'gamma2', 'beta2': (D,) the FFN sublayer's layer norm
    - block_param: dict with keys
      - num_heads: number of attention heads (divides D)
      - norm: 'post' (default) or 'pre'
      - activation: the FFN's, 'relu' (default) or 'gelu'
      - eps: the layer norms' eps, 1e-5 if absent
    - mask: None, or booleans (T, T) or (N, T, T), True where position i may attend to j

    Returns (out, cache):
    - out: (N, T, D)
    - cache: whatever encoder_block_backward needs
    """
    num_heads, norm, activation, ln_param = _settings(block_param)
    attn = _attention_params(params, "")
    a, attn_cache = _sublayer_forward(
        x, norm, 1, params, ln_param,
        lambda y: attention.multihead_attention_forward(y, y, attn, num_heads, mask))
    out, ffn_cache = _sublayer_forward(a, norm, 2, params, ln_param, _ffn(params, activation))
    return out, (attn_cache, ffn_cache)


def _self_attention_backward(grads, prefix):
    """Backward of self-attention y -> MHA(y, y): the input's gradient is dx_q + dx_kv."""
    def backward(dy, cache):
        dx_q, dx_kv, dparams = attention.multihead_attention_backward(dy, cache)
        grads.update({prefix + k: v for k, v in dparams.items()})
        return dx_q + dx_kv
    return backward


def encoder_block_backward(dout, cache):
    """Backward pass of encoder_block_forward, through both sublayers in reverse. Each residual
    connection carries the gradient past its sublayer unchanged and adds the sublayer's own
    (post-norm: after the layer norm's backward; pre-norm: around the whole sublayer). The
    self-attention's input gets dx_q + dx_kv.

    Inputs:
    - dout: (N, T, D) upstream gradient
    - cache: from encoder_block_forward

    Returns (dx, grads):
    - dx: (N, T, D)
    - grads: dict with the keys of params, each the shape of its parameter
    """
    attn_cache, ffn_cache = cache
    grads = {}
    da = _sublayer_backward(dout, ffn_cache, grads, _ffn_backward(grads))
    dx = _sublayer_backward(da, attn_cache, grads, _self_attention_backward(grads, ""))
    return dx, grads


def decoder_block_forward(x, memory, params, block_param, memory_mask=None):
    """A Transformer decoder block: causal (masked) multi-head self-attention, cross-attention
    over the encoder's output, and the position-wise FFN, each with a residual connection and a
    layer norm.

        post-norm: a = LN1(x + SelfMHA(x, x, causal)), b = LN2(a + CrossMHA(a, memory)),
                   out = LN3(b + FFN(b))
        pre-norm:  a = x + SelfMHA(LN1(x), LN1(x), causal), b = a + CrossMHA(LN2(a), memory),
                   out = b + FFN(LN3(b))

    The self-attention uses causal_mask(T): position i attends to positions j <= i only, so
    training runs over every position at once; the cross-attention is masked by memory_mask
    only (the memory is not normalised here). This is PyTorch's
    nn.TransformerDecoderLayer(D, num_heads, F, dropout=0, batch_first=True) with tgt_is_causal
    (a causal tgt_mask) and norm_first = (norm == 'pre'); memory_mask is the negation of
    PyTorch's boolean memory_mask / memory_key_padding_mask (there True = masked out).

    Inputs:
    - x: (N, T, D) the decoder's input sequence
    - memory: (N, S, D) the encoder's output
    - params: dict with keys
      - 'self_W_Q', 'self_b_Q', ..., 'self_W_O', 'self_b_O': the self-attention's (the keys of
        multihead_attention_forward's params, prefixed 'self_')
      - 'cross_W_Q', 'cross_b_Q', ..., 'cross_W_O', 'cross_b_O': the cross-attention's
      - 'gamma1', 'beta1', 'gamma2', 'beta2', 'gamma3', 'beta3': (D,) the three layer norms'
      - 'W1': (D, F), 'b1': (F,), 'W2': (F, D), 'b2': (D,): the FFN's
    - block_param: dict with keys num_heads, norm, activation, eps (see encoder_block_forward)
    - memory_mask: None, or booleans broadcastable to (N, T, S), True where decoder position i
      may attend to memory position j: (N, 1, S) masks the padding of shorter sources, (T, S)
      or (N, T, S) any pattern; passed to the cross-attention (the same in every head), a
      position with no memory position allowed gets a zero cross-attention output

    Returns (out, cache):
    - out: (N, T, D)
    - cache: whatever decoder_block_backward needs
    """
    num_heads, norm, activation, ln_param = _settings(block_param)
    self_attn, cross = _attention_params(params, "self_"), _attention_params(params, "cross_")
    causal = attention.causal_mask(x.shape[1])
    mask = None
    if memory_mask is not None:  # (N, T, S): multihead_attention_forward takes 2 or 3 axes
        mask = np.broadcast_to(np.asarray(memory_mask, bool),
                               (x.shape[0], x.shape[1], memory.shape[1]))
    a, self_cache = _sublayer_forward(
        x, norm, 1, params, ln_param,
        lambda y: attention.multihead_attention_forward(y, y, self_attn, num_heads, causal))
    b, cross_cache = _sublayer_forward(
        a, norm, 2, params, ln_param,
        lambda y: attention.multihead_attention_forward(y, memory, cross, num_heads, mask))
    out, ffn_cache = _sublayer_forward(b, norm, 3, params, ln_param, _ffn(params, activation))
    return out, (self_cache, cross_cache, ffn_cache)


def decoder_block_backward(dout, cache):
    """Backward pass of decoder_block_forward, through the three sublayers in reverse. The
    cross-attention sends dx_q back into the decoder and dx_kv to the memory; the memory's
    gradient comes from the cross-attention only.

    Inputs:
    - dout: (N, T, D) upstream gradient
    - cache: from decoder_block_forward

    Returns (dx, dmemory, grads):
    - dx: (N, T, D)
    - dmemory: (N, S, D)
    - grads: dict with the keys of params, each the shape of its parameter
    """
    self_cache, cross_cache, ffn_cache = cache
    grads, dmemory = {}, []

    def cross_backward(dy, attn_cache):
        dx_q, dx_kv, dparams = attention.multihead_attention_backward(dy, attn_cache)
        grads.update({"cross_" + k: v for k, v in dparams.items()})
        dmemory.append(dx_kv)
        return dx_q

    db = _sublayer_backward(dout, ffn_cache, grads, _ffn_backward(grads))
    da = _sublayer_backward(db, cross_cache, grads, cross_backward)
    dx = _sublayer_backward(da, self_cache, grads, _self_attention_backward(grads, "self_"))
    return dx, dmemory[0], grads
