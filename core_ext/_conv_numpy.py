"""NumPy versions of the ``_conv`` kernels: same signatures, same results, used when the
extension is not built (and as the parity reference in tests)."""

import numpy as np


def _span(start, count, stride):
    return slice(start, start + stride * (count - 1) + 1, stride)


def im2col(x, cols, HH, WW, stride, pad, n0, n1):
    C = x.shape[1]
    Ho, Wo = cols.shape[2:]
    xp = np.pad(x[n0:n1], ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    for c in range(C):
        for u in range(HH):
            for v in range(WW):
                cols[(c * HH + u) * WW + v, n0:n1] = xp[:, c, _span(u, Ho, stride), _span(v, Wo, stride)]


def col2im(cols, dx, HH, WW, stride, pad, n0, n1):
    _, C, H, W = dx.shape
    Ho, Wo = cols.shape[2:]
    dxp = np.zeros((n1 - n0, C, H + 2 * pad, W + 2 * pad), dx.dtype)
    for c in range(C):
        for u in range(HH):
            for v in range(WW):
                dxp[:, c, _span(u, Ho, stride), _span(v, Wo, stride)] += cols[(c * HH + u) * WW + v, n0:n1]
    dx[n0:n1] = dxp[:, :, pad:pad + H, pad:pad + W]


def filters_to_images(src, bias, dst, f0, f1):
    dst[:, f0:f1] = src[f0:f1].transpose(1, 0, 2) + bias[f0:f1, None]


def images_to_filters(src, dst, bias_grad, f0, f1):
    dst[f0:f1] = src[:, f0:f1].transpose(1, 0, 2)
    bias_grad[f0:f1] = src[:, f0:f1].sum(axis=(0, 2))
