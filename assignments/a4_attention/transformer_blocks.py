"""A4 Transformer blocks, built from your layers: the encoder block (task a4.encoder) and the
decoder block (a4.decoder), each post-norm (the 2017 paper, PyTorch's default) or pre-norm
(norm_first=True in PyTorch).

Call your layers through their modules, e.g. attention.multihead_attention_forward(...) and
transformer_layers.layernorm_forward(...). Parameters and their gradients travel in flat dicts
whose keys the docstrings list. Replace each `raise NotImplementedError(...)` with your
implementation, using NumPy only. See README.md; `layerlab check a4` runs the public checks.
"""
try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import attention, transformer_layers
except ImportError:
    import attention, transformer_layers  # noqa: E401,F401 - the flat twin of the import above



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
    raise NotImplementedError("a4.encoder: implement encoder_block_forward")


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
    raise NotImplementedError("a4.encoder: implement encoder_block_backward")


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
    raise NotImplementedError("a4.decoder: implement decoder_block_forward")


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
    raise NotImplementedError("a4.decoder: implement decoder_block_backward")
