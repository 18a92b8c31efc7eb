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


def check_backward(student, forward: str, backward: str, args: tuple, grad_names: tuple[str, ...],
                   dout: np.ndarray) -> None:
    """Every gradient the student's ``backward`` returns against numerical gradients of the
    student's ``forward`` (both run in the worker through ``student``).

    ``args`` are the forward's inputs; the first len(grad_names) of them are differentiated,
    the rest (a param dict) are passed unchanged. Raises :class:`grader.compare.Mismatch`
    on a wrong output shape, a wrong number of gradients or a gradient that differs."""
    from grader.compare import Mismatch, check_array, expect_tuple

    __tracebackhide__ = True
    first, cache = student.forward(forward, *args)
    if np.shape(first) != dout.shape:
        raise Mismatch(f"{forward} returned an output of shape {np.shape(first)}; "
                       f"expected {dout.shape}")
    grads = getattr(student, backward)(dout, cache)
    grads = expect_tuple(grads, grad_names, backward) if len(grad_names) > 1 else (grads,)

    def out(i, value):
        return student.forward(forward, *args[:i], value, *args[i + 1:])[0]

    for i, (name, got) in enumerate(zip(grad_names, grads)):
        numeric = numerical_gradient(lambda v: out(i, v), args[i], dout)
        check_array(name, got, numeric, rtol=1e-5, atol=1e-8)
