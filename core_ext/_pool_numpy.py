"""NumPy versions of the ``_pool`` kernels: same signatures, same results, used when the
extension is not built (and as the parity reference in tests)."""

import numpy as np


def max_pool_forward(x, ph, pw, stride, out, argmax):
    """Same contract as ``_pool.max_pool_forward``: fills ``out`` and ``argmax`` in place."""
    N, C, H, W = x.shape
    Ho, Wo = out.shape[2:]
    for i in range(Ho):
        for j in range(Wo):
            top, left = i * stride, j * stride
            window = x[:, :, top:top + ph, left:left + pw].reshape(N, C, ph * pw)
            k = window.argmax(axis=2)  # first maximum in row-major order
            out[:, :, i, j] = np.take_along_axis(window, k[..., None], axis=2)[..., 0]
            argmax[:, :, i, j] = (top + k // pw) * W + left + k % pw


def max_pool_backward(dout, argmax, dx_flat):
    """Same contract as ``_pool.max_pool_backward``: accumulates into ``dx_flat``."""
    N, C = dout.shape[:2]
    n = np.arange(N)[:, None, None, None]
    c = np.arange(C)[None, :, None, None]
    np.add.at(dx_flat, (n, c, argmax), dout)
