"""NumPy versions of the ``_pool`` kernels: same signatures, same results, used when the
extension is not built (and as the parity reference in tests)."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _windows(x, ph, pw, stride, Ho, Wo):
    """(planes, Ho, Wo, ph, pw) view of every pooling window."""
    return sliding_window_view(x, (ph, pw), axis=(1, 2))[:, ::stride, ::stride][:, :Ho, :Wo]


def max_pool_forward(x, out, argmax, ph, pw, stride, p0, p1):
    """Fill ``out`` and ``argmax`` (in-plane index of the first maximum) for planes p0..p1."""
    Ho, Wo = out.shape[1:]
    W = x.shape[2]
    win = _windows(x[p0:p1], ph, pw, stride, Ho, Wo).reshape(p1 - p0, Ho, Wo, ph * pw)
    k = win.argmax(axis=3)  # first maximum in row-major window order
    out[p0:p1] = np.take_along_axis(win, k[..., None], axis=3)[..., 0]
    top = (np.arange(Ho) * stride)[:, None]
    left = (np.arange(Wo) * stride)[None, :]
    argmax[p0:p1] = (top + k // pw) * W + left + k % pw


def max_pool_backward(dout, argmax, dx, p0, p1):
    dx[p0:p1] = 0
    planes = np.arange(p0, p1)[:, None, None]
    np.add.at(dx, (planes, argmax[p0:p1]), dout[p0:p1])


def avg_pool_forward(x, out, ph, pw, stride, p0, p1):
    Ho, Wo = out.shape[1:]
    out[p0:p1] = _windows(x[p0:p1], ph, pw, stride, Ho, Wo).sum(axis=(3, 4)) / (ph * pw)


def avg_pool_backward(dout, dx, ph, pw, stride, p0, p1):
    Ho, Wo = dout.shape[1:]
    dx[p0:p1] = 0
    g = dout[p0:p1] / (ph * pw)
    for u in range(ph):
        for v in range(pw):
            dx[p0:p1, u:u + stride * (Ho - 1) + 1:stride, v:v + stride * (Wo - 1) + 1:stride] += g
