"""Activations, forward and backward: each forward returns (out, cache), its backward (dout, cache) -> dx."""
import numpy as np


def relu_forward(x):
    """Rectified linear unit: out = max(0, x), elementwise.

    Inputs:
    - x: array of any shape

    Returns (out, cache):
    - out: same shape as x
    - cache: whatever relu_backward needs
    """
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    """Backward pass of relu_forward: dx = dout where x > 0, else 0 (also at x == 0).

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from relu_forward

    Returns:
    - dx: same shape as x
    """
    x = cache
    return dout * (x > 0)
