"""Fast layers for training, backed by Cython kernels (``core_ext/_*.pyx``).

The wrappers keep the naive layers' contract: ``*_forward(x, param) -> (out, cache)`` and
``*_backward(dout, cache) -> dx``. They validate their inputs with clear errors. When the
extension was not built, a pure-NumPy fallback with identical results is used after one warning;
``LAYERLAB_REQUIRE_EXT=1`` makes that an error instead (CI sets it).
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from core_ext import _pool_numpy

try:
    from core_ext import _pool
except ImportError as exc:  # the extension was not compiled
    if os.environ.get("LAYERLAB_REQUIRE_EXT") == "1":
        raise ImportError("core_ext: the Cython extension is not built and "
                          "LAYERLAB_REQUIRE_EXT=1 forbids the NumPy fallback; "
                          "rebuild with 'pip install -e .'") from exc
    warnings.warn("core_ext: the Cython extension is not built; using the slower NumPy "
                  "fallback (rebuild with 'pip install -e .')", RuntimeWarning, stacklevel=2)
    _pool = None

COMPILED = _pool is not None


def _pool_shape(x: np.ndarray, pool_param: dict) -> tuple[int, int, int, int, int]:
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        raise ValueError(f"x must be a 4-d array (N, C, H, W); got {getattr(x, 'shape', type(x))}")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"x must be float32 or float64; got {x.dtype}")
    try:
        ph, pw, s = (int(pool_param[k]) for k in ("pool_height", "pool_width", "stride"))
    except (KeyError, TypeError, ValueError):
        raise ValueError("pool_param needs integer 'pool_height', 'pool_width' and 'stride'; "
                         f"got {pool_param!r}") from None
    H, W = x.shape[2:]
    if min(ph, pw, s) < 1 or ph > H or pw > W:
        raise ValueError(f"pool {ph}x{pw} stride {s} does not fit an input of {H}x{W}")
    return ph, pw, s, 1 + (H - ph) // s, 1 + (W - pw) // s


def max_pool_forward(x: np.ndarray, pool_param: dict):
    """Max pooling. x: (N, C, H, W); out: (N, C, H', W'), H' = 1 + (H - pool_height) // stride.

    Windows that do not tile the input leave the last rows/columns out, as in the naive layer.
    Ties go to the first maximum in row-major window order.
    """
    ph, pw, s, Ho, Wo = _pool_shape(x, pool_param)
    x = np.ascontiguousarray(x)
    out = np.empty((*x.shape[:2], Ho, Wo), dtype=x.dtype)
    argmax = np.empty(out.shape, dtype=np.intp)
    (_pool or _pool_numpy).max_pool_forward(x, ph, pw, s, out, argmax)
    return out, (x.shape, argmax)


def max_pool_backward(dout: np.ndarray, cache):
    """Gradient of max pooling: each dout element goes to its window's (first) maximum."""
    shape, argmax = cache
    if not isinstance(dout, np.ndarray) or dout.shape != argmax.shape:
        raise ValueError(f"dout must have shape {argmax.shape}; got {getattr(dout, 'shape', None)}")
    dout = np.ascontiguousarray(dout)
    dx = np.zeros((shape[0], shape[1], shape[2] * shape[3]), dtype=dout.dtype)
    (_pool or _pool_numpy).max_pool_backward(dout, argmax, dx)
    return dx.reshape(shape)
