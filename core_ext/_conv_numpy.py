"""NumPy versions of the ``_conv`` kernels: same signatures, same results, used when the
extension is not built (and as the parity reference in tests). They work on a whole range of
images at once, so the scratch arrays the compiled kernels take are not used."""

import numpy as np


def _span(start, count, stride):
    return slice(start, start + stride * (count - 1) + 1, stride)


def _im2col(x, HH, WW, stride, pad, Ho, Wo):
    """(K, m, Ho, Wo) columns of the m images of x."""
    m, C = x.shape[:2]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((C, HH, WW, m, Ho, Wo), x.dtype)
    for u in range(HH):
        for v in range(WW):
            window = xp[:, :, _span(u, Ho, stride), _span(v, Wo, stride)]
            cols[:, u, v] = window.transpose(1, 0, 2, 3)
    return cols.reshape(C * HH * WW, m, Ho, Wo)


def forward(x, w, bias, out, cols, HH, WW, stride, pad, n0, n1):
    F, K = w.shape
    Ho, Wo = out.shape[2:]
    columns = _im2col(x[n0:n1], HH, WW, stride, pad, Ho, Wo).reshape(K, (n1 - n0) * Ho * Wo)
    by_filter = (w @ columns).reshape(F, n1 - n0, Ho, Wo)
    out[n0:n1] = by_filter.transpose(1, 0, 2, 3) + bias[:, None, None]


def backward(x, w, dout, dx, dw_parts, db_parts, cols, dcols, HH, WW, stride, pad, step, q0, q1):
    N, C, H, W = x.shape
    F, K = w.shape
    Ho, Wo = dout.shape[2:]
    for q in range(q0, q1):
        n0, n1 = q * step, min(N, (q + 1) * step)
        positions = (n1 - n0) * Ho * Wo
        columns = _im2col(x[n0:n1], HH, WW, stride, pad, Ho, Wo).reshape(K, positions)
        by_filter = dout[n0:n1].transpose(1, 0, 2, 3).reshape(F, positions)
        dw_parts[q] = by_filter @ columns.T
        db_parts[q] = by_filter.sum(axis=1)
        tap_grads = (w.T @ by_filter).reshape(C, HH, WW, n1 - n0, Ho, Wo)
        dxp = np.zeros((n1 - n0, C, H + 2 * pad, W + 2 * pad), dx.dtype)
        for u in range(HH):
            for v in range(WW):
                window = (slice(None), slice(None), _span(u, Ho, stride), _span(v, Wo, stride))
                dxp[window] += tap_grads[:, u, v].transpose(1, 0, 2, 3)
        dx[n0:n1] = dxp[:, :, pad:pad + H, pad:pad + W]
