"""A1 activations, forward and backward: ReLU (task a1.relu), Leaky ReLU (a1.leaky_relu),
PReLU (a1.prelu), ELU (a1.elu), sigmoid (a1.sigmoid) and tanh (a1.tanh).

Each forward returns (out, cache) and its backward takes (dout, cache) and returns dx (PReLU:
(dx, dalpha)). Replace each `raise NotImplementedError(...)` with your implementation, using
NumPy only. See README.md for the formulas; `layerlab check a1` runs the public checks.
"""
import numpy as np  # noqa: F401  (you will need it)


def relu_forward(x):
    """Rectified linear unit: out = max(0, x), elementwise.

    Inputs:
    - x: array of any shape

    Returns (out, cache):
    - out: same shape as x
    - cache: whatever relu_backward needs
    """
    raise NotImplementedError("a1.relu: implement relu_forward")


def relu_backward(dout, cache):
    """Backward pass of relu_forward: dx = dout where x > 0, else 0 (also at x == 0).

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from relu_forward

    Returns:
    - dx: same shape as x
    """
    raise NotImplementedError("a1.relu: implement relu_backward")
