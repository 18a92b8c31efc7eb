"""A1 numerical gradients (task a1.gradcheck): do this file first.

You will use these functions to check every backward pass you write afterwards. Replace each
`raise NotImplementedError(...)` with your implementation, using NumPy only. See README.md for
the formulas; `layerlab check a1` runs the public checks.
"""
import numpy as np  # noqa: F401  (you will need it)


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
    raise NotImplementedError("a1.gradcheck: implement eval_numerical_gradient")


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
    raise NotImplementedError("a1.gradcheck: implement eval_numerical_gradient_array")


def rel_error(x, y):
    """Largest elementwise relative error: max |x - y| / max(1e-8, |x| + |y|).

    Inputs:
    - x, y: arrays of the same shape

    Returns:
    - error: Python float
    """
    raise NotImplementedError("a1.gradcheck: implement rel_error")
