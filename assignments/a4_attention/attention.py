"""A4 attention: scaled dot-product attention (task a4.attention) with boolean masks and the
causal mask (a4.masking), additive (Bahdanau) attention of a decoder state over encoder states
(a4.additive) and multi-head attention (a4.multihead).

Sequences are batch-major: queries are (N, Tq, d), keys (N, Tk, d), values (N, Tk, dv). A
forward returns (out, cache); its backward takes (dout, cache) and returns the gradient of each
array input, in the order of the forward's inputs. A mask is boolean and True where a query MAY
attend to a key (PyTorch's convention for a boolean attn_mask); masked keys get exactly zero
weight and zero gradient. Replace each `raise NotImplementedError(...)` with your implementation,
using NumPy only. See README.md; `layerlab check a4` runs the public checks.
"""
import numpy as np  # noqa: F401  (you will need it)


def causal_mask(T):
    """The causal (look-ahead) mask of a decoder: position i may attend to positions j <= i.

    Inputs:
    - T: sequence length (int, T >= 1)

    Returns:
    - mask: (T, T) booleans, mask[i, j] = (j <= i): True on and below the diagonal
    """
    raise NotImplementedError("a4.masking: implement causal_mask")


def scaled_dot_product_attention_forward(q, k, v, mask=None):
    """Scaled dot-product attention, out = softmax(q @ k^T / sqrt(d)) @ v, the softmax over the
    keys (the last axis of the scores):

        scores[n, i, j] = q[n, i] . k[n, j] / sqrt(d)            (N, Tq, Tk)
        weights[n, i] = softmax over j of scores[n, i]           each row sums to 1
        out[n, i] = sum over j of weights[n, i, j] * v[n, j]     (N, Tq, dv)

    With a mask, a key j that query i may not attend to (mask False) gets weight exactly 0 and
    the softmax runs over the allowed keys only; a query that may attend to no key at all gets
    weights 0 and out 0 (never NaN). The softmax is shifted by the largest allowed score, so
    scores of size 1e3 neither overflow nor warn.

    Inputs:
    - q: (N, Tq, d) queries
    - k: (N, Tk, d) keys
    - v: (N, Tk, dv) values
    - mask: None (every query attends to every key), or booleans of shape (Tq, Tk) (the same
      for every sample, e.g. causal_mask(T)) or (N, Tq, Tk); True where query i may attend to
      key j
    Written with swapaxes(-1, -2) and @, the same code works for any leading batch axes, e.g.
    the (N, h, T, d_k) of multi-head attention with a mask that broadcasts against them.

    Returns (out, cache):
    - out: (N, Tq, dv)
    - cache: whatever scaled_dot_product_attention_backward needs
    """
    raise NotImplementedError("a4.attention: implement scaled_dot_product_attention_forward")


def scaled_dot_product_attention_backward(dout, cache):
    """Backward pass of scaled_dot_product_attention_forward. With W the attention weights and
    S the scaled scores:
        dv = W^T @ dout,  dW = dout @ v^T,  dS = W * (dW - sum over j of (dW * W))
        dq = dS @ k / sqrt(d),  dk = dS^T @ q / sqrt(d)
    Masked entries have W = 0, so their dS is 0: they pass no gradient to q or k.

    Inputs:
    - dout: (N, Tq, dv) upstream gradient
    - cache: from scaled_dot_product_attention_forward

    Returns (dq, dk, dv):
    - dq: (N, Tq, d)
    - dk: (N, Tk, d)
    - dv: (N, Tk, dv)
    """
    raise NotImplementedError("a4.attention: implement scaled_dot_product_attention_backward")


def additive_attention_forward(s, h, params, mask=None):
    """Additive (Bahdanau) attention of a decoder state over the encoder states: an MLP scores
    each encoder state against the decoder state, a softmax over time turns the scores into
    weights, and the context is the weighted sum of the encoder states:

        e[n, t] = v . tanh(s[n] @ W_s + h[n, t] @ W_h + b)       alignment scores (N, T)
        a[n] = softmax over t of e[n]                            weights, summing to 1
        context[n] = sum over t of a[n, t] * h[n, t]             (N, He)

    Inputs:
    - s: (N, Hs) decoder states (one per sample)
    - h: (N, T, He) encoder states
    - params: dict with keys
      - 'W_s': (Hs, A) decoder-state projection
      - 'W_h': (He, A) encoder-state projection
      - 'b': (A,) bias
      - 'v': (A,) scoring vector
      where A is the size of the scoring MLP's hidden layer
    - mask: None (every encoder state may be attended to), or booleans (N, T), True where
      sample n may attend to time step t (e.g. False on the padding of a shorter source);
      a masked step gets weight exactly 0 and zero gradient, and a sample with every step
      masked gets a zero context (no NaN)

    Returns (context, cache):
    - context: (N, He)
    - cache: whatever additive_attention_backward needs
    """
    raise NotImplementedError("a4.additive: implement additive_attention_forward")


def additive_attention_backward(dcontext, cache):
    """Backward pass of additive_attention_forward. h reaches the context twice: directly
    (weighted by a) and through the scores; the weights' gradient goes through the softmax over
    time, then through tanh (1 - tanh**2) into W_s, W_h, b and v.

    Inputs:
    - dcontext: (N, He) upstream gradient
    - cache: from additive_attention_forward

    Returns (ds, dh, grads):
    - ds: (N, Hs)
    - dh: (N, T, He)
    - grads: dict with the keys of params ('W_s', 'W_h', 'b', 'v'), each the shape of its
      parameter
    """
    raise NotImplementedError("a4.additive: implement additive_attention_backward")


def multihead_attention_forward(x_q, x_kv, params, num_heads, mask=None):
    """Multi-head attention: project, split into heads, attend in each head, concatenate,
    project back.

        Q = x_q @ W_Q + b_Q,  K = x_kv @ W_K + b_K,  V = x_kv @ W_V + b_V      (N, T, D)
        head i uses features i * d_k ... (i + 1) * d_k - 1 of Q, K and V, d_k = D / num_heads:
        head_i = scaled_dot_product_attention(Q_i, K_i, V_i, mask)        scaled by 1/sqrt(d_k)
        out = concat(head_0, ..., head_{h-1}) @ W_O + b_O                    (N, Tq, D)

    Self-attention passes the same array as x_q and x_kv; cross-attention passes the decoder's
    states as x_q and the encoder's output (the memory) as x_kv. This is PyTorch's
    nn.MultiheadAttention (batch_first=True) with in_proj_weight = [W_Q^T; W_K^T; W_V^T] and
    out_proj.weight = W_O^T.

    Inputs:
    - x_q: (N, Tq, D) the sequence the queries come from
    - x_kv: (N, Tk, Dm) the sequence the keys and values come from (Dm = D for self-attention)
    - params: dict with keys
      - 'W_Q': (D, D), 'b_Q': (D,)
      - 'W_K': (Dm, D), 'b_K': (D,)
      - 'W_V': (Dm, D), 'b_V': (D,)
      - 'W_O': (D, D), 'b_O': (D,)
    - num_heads: h, a divisor of D
    - mask: None, or booleans of shape (Tq, Tk) or (N, Tq, Tk), True where query i may attend
      to key j; the same mask in every head

    Returns (out, cache):
    - out: (N, Tq, D)
    - cache: whatever multihead_attention_backward needs
    """
    raise NotImplementedError("a4.multihead: implement multihead_attention_forward")


def multihead_attention_backward(dout, cache):
    """Backward pass of multihead_attention_forward: back through W_O, split dout into the
    heads as the forward split Q, K and V, back through each head's attention, merge the heads
    again and back through the three projections. For self-attention (the same array passed as
    x_q and x_kv) the input's gradient is dx_q + dx_kv.

    Inputs:
    - dout: (N, Tq, D) upstream gradient
    - cache: from multihead_attention_forward

    Returns (dx_q, dx_kv, grads):
    - dx_q: (N, Tq, D)
    - dx_kv: (N, Tk, Dm)
    - grads: dict with the keys of params ('W_Q', 'b_Q', 'W_K', 'b_K', 'W_V', 'b_V', 'W_O',
      'b_O'), each the shape of its parameter
    """
    raise NotImplementedError("a4.multihead: implement multihead_attention_backward")
