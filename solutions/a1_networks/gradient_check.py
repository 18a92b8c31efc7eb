"""Numerical gradients by centred differences, and the relative error used to compare gradients."""
import numpy as np


def eval_numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function by centred differences.

    grad[i] = (f(x + h*e_i) - f(x - h*e_i)) / (2*h) for every element i of x. x is perturbed
    in place, one element at a time, and restored exactly afterwards.

    Inputs:
    - f: function taking an array of x's shape and returning a scalar
    - x: float64 array of any shape, the point at which to differentiate
    - h: step size

    Returns:
    - grad: float64 array of x's shape
    """
    return eval_numerical_gradient_array(f, x, 1.0, h)


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Gradient of sum(df * f(x)) with respect to x, by centred differences.

    grad[i] = sum(df * (f(x + h*e_i) - f(x - h*e_i))) / (2*h): the upstream gradient df pulled
    back through an array-valued f, as a backward pass computes it. x is restored exactly.

    Inputs:
    - f: function taking an array of x's shape and returning an array of df's shape
    - x: float64 array of any shape, the point at which to differentiate
    - df: upstream gradient, the shape of f(x)
    - h: step size

    Returns:
    - grad: float64 array of x's shape
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        # Copy: f may return a view of x, which the next perturbation would change.
        f_plus = np.array(f(x), dtype=np.float64)
        x[ix] = old - h
        f_minus = np.array(f(x), dtype=np.float64)
        x[ix] = old
        grad[ix] = np.sum(df * (f_plus - f_minus)) / (2 * h)
    return grad


def rel_error(x, y):
    """Largest elementwise relative error: max |x - y| / max(1e-8, |x| + |y|).

    Inputs:
    - x, y: arrays of the same shape

    Returns:
    - error: Python float
    """
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))
