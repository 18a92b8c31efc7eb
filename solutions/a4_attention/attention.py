"""A4 attention: scaled dot-product attention (task a4.attention) with boolean masks and the causal
mask (a4.masking), additive (Bahdanau) attention of a decoder state over encoder states
(a4.additive) and multi-head attention (a4.multihead).

Sequences are batch-major: queries are (N, Tq, d), keys (N, Tk, d), values (N, Tk, dv). A
forward returns (out, cache); its backward takes (dout, cache) and returns the gradient of each
array input, in the order of the forward's inputs. A mask is boolean and True where a query MAY
attend to a key (PyTorch's convention for a boolean attn_mask); masked keys get exactly zero
weight and zero gradient. This is the reference solution; README.md is the handout.
"""
import numpy as np

try:  # core_ext's fused kernels where it imports (never in the grading sandbox, which refuses it)
    import core_ext as _core_ext
except ImportError:
    _core_ext = None


def _kernels_take(q, k, v, *more):
    """Whether core_ext computes this attention (the same results up to rounding): float64
    arrays of 3 or 4 axes, keys and values of the queries' leading axes, q and k of one width,
    ``more`` (weights, dout) of the queries' leading axes and rows."""
    arrays = (q, k, v, *more)
    if _core_ext is None or not all(isinstance(a, np.ndarray) and a.dtype == np.float64
                                    for a in arrays):
        return False
    lead = q.shape[:-1]
    return (q.ndim in (3, 4) and k.ndim == v.ndim == q.ndim and k.shape[-1] == q.shape[-1]
            and k.shape[:-2] == v.shape[:-2] == q.shape[:-2] and k.shape[-2] == v.shape[-2]
            and all(a.shape[:-1] == lead for a in more))


def _masked_softmax(scores, mask):
    """Softmax over the last axis, shifted by the row's largest allowed score; masked entries
    are exactly 0 and a row with nothing allowed is all 0 (no 0 / 0)."""
    if mask is None:
        e = np.exp(scores - scores.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    mask = np.broadcast_to(mask, scores.shape)
    top = np.where(mask, scores, -np.inf).max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.where(mask, np.exp(np.where(mask, scores - top, 0.0)), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total > 0, total, 1.0)


def _softmax_backward(dweights, weights):
    """Gradient at the scores of a softmax over the last axis: w * (dw - sum(dw * w))."""
    return weights * (dweights - (dweights * weights).sum(axis=-1, keepdims=True))


def causal_mask(T):
    """The causal (look-ahead) mask of a decoder: position i may attend to positions j <= i.

    Inputs:
    - T: sequence length (int, T >= 1)

    Returns:
    - mask: (T, T) booleans, mask[i, j] = (j <= i): True on and below the diagonal
    """
    return np.tril(np.ones((T, T), dtype=bool))


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
    scale = 1.0 / np.sqrt(q.shape[-1])
    if _kernels_take(q, k, v):  # scores, softmax and weighted sum fused, per (sample, head)
        out, weights = _core_ext.attention_forward(q, k, v, mask, scale)
        return out, (q, k, v, weights, scale)
    weights = _masked_softmax(q @ np.swapaxes(k, -1, -2) * scale, mask)
    return weights @ v, (q, k, v, weights, scale)


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
    q, k, v, weights, scale = cache
    if _kernels_take(q, k, v, weights, dout) and weights.shape[-1] == k.shape[-2] \
            and dout.shape[-1] == v.shape[-1]:
        return _core_ext.attention_backward(dout, q, k, v, weights, scale)
    dscores = _softmax_backward(dout @ np.swapaxes(v, -1, -2), weights) * scale
    return dscores @ k, np.swapaxes(dscores, -1, -2) @ q, np.swapaxes(weights, -1, -2) @ dout


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
    hidden = np.tanh((s @ params["W_s"])[:, None, :] + h @ params["W_h"] + params["b"])
    mask = None if mask is None else np.asarray(mask, dtype=bool)
    weights = _masked_softmax(hidden @ params["v"], mask)
    return np.einsum("nt,nte->ne", weights, h), (s, h, params, hidden, weights)


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
    s, h, params, hidden, weights = cache
    dscores = _softmax_backward(np.einsum("nte,ne->nt", h, dcontext), weights)
    dpre = dscores[:, :, None] * params["v"] * (1.0 - hidden ** 2)  # (N, T, A)
    dpre_s = dpre.sum(axis=1)
    grads = {"W_s": s.T @ dpre_s, "W_h": np.einsum("nte,nta->ea", h, dpre),
             "b": dpre.sum(axis=(0, 1)), "v": np.einsum("nt,nta->a", dscores, hidden)}
    dh = weights[:, :, None] * dcontext[:, None, :] + dpre @ params["W_h"].T
    return dpre_s @ params["W_s"].T, dh, grads


def _split_heads(x, num_heads):
    """(N, T, D) -> (N, h, T, D / h): head i takes the features i * d_k ... (i + 1) * d_k - 1."""
    N, T, D = x.shape
    return x.reshape(N, T, num_heads, D // num_heads).transpose(0, 2, 1, 3)


def _merge_heads(x):
    """(N, h, T, d_k) -> (N, T, h * d_k), the inverse of _split_heads."""
    N, H, T, dk = x.shape
    return x.transpose(0, 2, 1, 3).reshape(N, T, H * dk)


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
    D = params["W_Q"].shape[1]
    if D % num_heads:
        raise ValueError(f"num_heads = {num_heads} does not divide D = {D}")
    q, k, v = (_split_heads(_project(x, params[f"W_{n}"], params[f"b_{n}"]), num_heads)
               for x, n in ((x_q, "Q"), (x_kv, "K"), (x_kv, "V")))
    if mask is not None and np.ndim(mask) == 3:
        mask = np.asarray(mask)[:, None]  # (N, 1, Tq, Tk): the same in every head
    heads, attention_cache = scaled_dot_product_attention_forward(q, k, v, mask)
    concat = _merge_heads(heads)
    return _project(concat, params["W_O"], params["b_O"]), (x_q, x_kv, params, num_heads,
                                                    attention_cache, concat)


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
    x_q, x_kv, params, num_heads, attention_cache, concat = cache
    grads = {"W_O": _weight_gradient(concat, dout), "b_O": dout.sum(axis=(0, 1))}
    dq, dk, dv = scaled_dot_product_attention_backward(
        _split_heads(_project(dout, params["W_O"].T), num_heads), attention_cache)
    dx = {}
    for x, name, d in ((x_q, "Q", dq), (x_kv, "K", dk), (x_kv, "V", dv)):
        d = _merge_heads(d)
        grads[f"W_{name}"], grads[f"b_{name}"] = _weight_gradient(x, d), d.sum(axis=(0, 1))
        dx[name] = _project(d, params[f"W_{name}"].T)
    return dx["Q"], dx["K"] + dx["V"], grads


def _weight_gradient(x, d):
    """x^T @ d summed over the batch and time: (N, T, A), (N, T, B) -> (A, B)."""
    return _matmul(x.reshape(-1, x.shape[-1]).T, d.reshape(-1, d.shape[-1]))


def _project(x, W, b=None):
    """x (..., A) @ W (A, B) (+ b) as one 2-d product over all positions: NumPy's matmul of a
    3-d array by a 2-d one loops over the batch without BLAS, and ran 9x slower here."""
    out = _matmul(x.reshape(-1, x.shape[-1]), W)
    if b is not None:
        out += b
    return out.reshape(*x.shape[:-1], W.shape[-1])


def _matmul(a, b):
    """a @ b of 2-d arrays, on core_ext's threads where it imports (float64; the same result)."""
    if (_core_ext is not None and isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
            and a.dtype == b.dtype == np.float64):
        return _core_ext.matmul(a, b)
    return a @ b
