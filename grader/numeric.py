"""Centred-difference gradients computed in the trusted process, for public checks.

Public checks cannot use the reference solution (students do not have it), so they check a
student's backward against numerical derivatives of the student's own forward.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[np.ndarray], object], x: np.ndarray,
                       df: np.ndarray | float = 1.0, h: float = 1e-6) -> np.ndarray:
    """Gradient of ``sum(df * f(x))`` with respect to ``x``; ``x`` is left unchanged."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        plus = np.asarray(f(x.copy()), dtype=np.float64)
        x[ix] = old - h
        minus = np.asarray(f(x.copy()), dtype=np.float64)
        x[ix] = old
        grad[ix] = np.sum(df * (plus - minus)) / (2 * h)
    return grad
