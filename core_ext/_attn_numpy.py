"""NumPy versions of the ``_attn`` kernels: same signatures, same results up to rounding, used
when the extension is not built (or an array is empty). Each item (attention) or block of rows
(layer norm) runs on its own, as in the compiled kernels, so that results do not depend on how
the work is shared among threads."""

import numpy as np


def _softmax_rows(s, m):
    """Softmax over the last axis of s in place, over the allowed keys (m nonzero) only; a row
    with nothing allowed is all 0."""
    if m is None:
        s -= s.max(axis=-1, keepdims=True)
        np.exp(s, out=s)
    else:
        allowed = m.astype(bool)
        top = np.where(allowed, s, -np.inf).max(axis=-1, keepdims=True)
        top[~np.isfinite(top)] = 0.0
        s -= top
        np.exp(s, out=s, where=allowed)
        s[~allowed] = 0.0
    total = s.sum(axis=-1, keepdims=True)
    total[total == 0] = 1.0
    s /= total


def forward(q, k, v, mask, weights, out, scale, lo, hi):
    """Items lo <= i < hi: weights (A, B, Tq, Tk) and out (A, B, Tq, dv)."""
    B = q.shape[1]
    for item in range(lo, hi):
        a, b = divmod(item, B)
        w = weights[a, b]
        np.matmul(q[a, b], k[a, b].T, out=w)
        w *= scale
        _softmax_rows(w, None if mask is None else mask[a, b])
        np.matmul(w, v[a, b], out=out[a, b])


def backward(dout, q, k, v, weights, dq, dk, dv, scratch, scale, lo, hi):
    """Items lo <= i < hi of the backward pass; ``scratch`` (Tq, Tk) holds dW, then dS."""
    B = q.shape[1]
    for item in range(lo, hi):
        a, b = divmod(item, B)
        w, g = weights[a, b], dout[a, b]
        np.matmul(w.T, g, out=dv[a, b])
        np.matmul(g, v[a, b].T, out=scratch)
        scratch -= (scratch * w).sum(axis=-1, keepdims=True)
        scratch *= w
        scratch *= scale
        np.matmul(scratch, k[a, b], out=dq[a, b])
        np.matmul(scratch.T, q[a, b], out=dk[a, b])


def layernorm_forward(x, gamma, beta, x_hat, std, out, eps, lo, hi):
    """Rows lo <= r < hi of x (R, D): x_hat and out (R, D), std (R,)."""
    rows = x[lo:hi]
    centred = rows - rows.mean(axis=-1, keepdims=True)
    s = np.sqrt((centred * centred).mean(axis=-1) + eps)
    std[lo:hi] = s
    np.divide(centred, s[:, None], out=x_hat[lo:hi])
    out[lo:hi] = gamma * x_hat[lo:hi] + beta


def layernorm_backward(dout, x_hat, gamma, std, dx, dgamma_parts, dbeta_parts, block, lo, hi):
    """Blocks lo <= q < hi of ``block`` rows: dx and each block's partial dgamma and dbeta."""
    D = dout.shape[1]
    for q in range(lo, hi):
        rows = slice(q * block, (q + 1) * block)
        dy, xh = dout[rows], x_hat[rows]
        dxh = dy * gamma
        dx[rows] = ((D * dxh - dxh.sum(axis=-1, keepdims=True)
                     - xh * (dxh * xh).sum(axis=-1, keepdims=True)) / (D * std[rows, None]))
        dgamma_parts[q] = (dy * xh).sum(axis=0)
        dbeta_parts[q] = dy.sum(axis=0)
