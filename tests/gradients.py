"""Numerical-gradient assertions shared by the reference tests (independent of the references:
the centred differences come from grader.numeric)."""

import numpy as np

from grader.numeric import numerical_gradient

TOL = 1e-7


def max_rel_error(a, b) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def assert_grad(name, analytic, f, x, *, h=1e-5, tol=TOL):
    """``analytic`` is the gradient of the scalar function ``f`` at ``x``."""
    numeric = numerical_gradient(f, x, h=h)
    assert analytic.shape == x.shape, f"{name}: shape {analytic.shape}, expected {x.shape}"
    err = max_rel_error(analytic, numeric)
    assert err < tol, f"{name}: max relative error {err:.2e} >= {tol:.0e}"
