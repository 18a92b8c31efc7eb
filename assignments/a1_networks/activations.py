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


def leaky_relu_forward(x, alpha=0.01):
    """Leaky ReLU: out = x where x > 0, alpha * x elsewhere (elementwise, fixed slope alpha).

    Inputs:
    - x: array of any shape
    - alpha: slope for x <= 0 (float, default 0.01)

    Returns (out, cache):
    - out: same shape as x
    - cache: whatever leaky_relu_backward needs
    """
    raise NotImplementedError("a1.leaky_relu: implement leaky_relu_forward")


def leaky_relu_backward(dout, cache):
    """Backward pass of leaky_relu_forward: dx = dout where x > 0, else alpha * dout (x == 0 too).

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from leaky_relu_forward

    Returns:
    - dx: same shape as x
    """
    raise NotImplementedError("a1.leaky_relu: implement leaky_relu_backward")


def prelu_forward(x, alpha):
    """Parametric ReLU: out[n, d] = x[n, d] where x[n, d] > 0, alpha[d] * x[n, d] elsewhere.

    The slope is learned, one per feature; initialise it with np.full(D, 0.1).

    Inputs:
    - x: (N, D) inputs
    - alpha: (D,) slopes for x <= 0, broadcast over the batch

    Returns (out, cache):
    - out: (N, D)
    - cache: whatever prelu_backward needs
    """
    raise NotImplementedError("a1.prelu: implement prelu_forward")


def prelu_backward(dout, cache):
    """Backward pass of prelu_forward; x == 0 counts as the alpha side, as in leaky_relu.

    Inputs:
    - dout: (N, D) upstream gradient
    - cache: from prelu_forward

    Returns (dx, dalpha):
    - dx: (N, D), dout where x > 0, else alpha * dout
    - dalpha: (D,), sum over the batch of dout * x where x <= 0
    """
    raise NotImplementedError("a1.prelu: implement prelu_backward")


def elu_forward(x, gamma=1.0):
    """Exponential linear unit: out = x where x > 0, gamma * (exp(x) - 1) elsewhere.

    Only the non-positive part goes through exp, so x ~ +1e3 neither overflows nor warns.

    Inputs:
    - x: array of any shape
    - gamma: scale of the negative part, which saturates at -gamma (float, default 1.0)

    Returns (out, cache):
    - out: same shape as x
    - cache: whatever elu_backward needs
    """
    raise NotImplementedError("a1.elu: implement elu_forward")


def elu_backward(dout, cache):
    """Backward pass of elu_forward: dx = dout where x > 0, else gamma * exp(x) * dout (x == 0 too).

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from elu_forward

    Returns:
    - dx: same shape as x
    """
    raise NotImplementedError("a1.elu: implement elu_backward")


def sigmoid_forward(x):
    """Logistic sigmoid: out = 1 / (1 + exp(-x)), elementwise.

    Computed from z = exp(-|x|) <= 1 as 1 / (1 + z) for x >= 0 and z / (1 + z) for x < 0, so
    |x| ~ 1e3 neither overflows nor warns.

    Inputs:
    - x: array of any shape

    Returns (out, cache):
    - out: same shape as x, in [0, 1]
    - cache: whatever sigmoid_backward needs
    """
    raise NotImplementedError("a1.sigmoid: implement sigmoid_forward")


def sigmoid_backward(dout, cache):
    """Backward pass of sigmoid_forward: dx = dout * s * (1 - s) with s = sigmoid(x).

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from sigmoid_forward

    Returns:
    - dx: same shape as x
    """
    raise NotImplementedError("a1.sigmoid: implement sigmoid_backward")


def tanh_forward(x):
    """Hyperbolic tangent: out = tanh(x), elementwise.

    Inputs:
    - x: array of any shape

    Returns (out, cache):
    - out: same shape as x, in [-1, 1]
    - cache: whatever tanh_backward needs
    """
    raise NotImplementedError("a1.tanh: implement tanh_forward")


def tanh_backward(dout, cache):
    """Backward pass of tanh_forward: dx = dout * (1 - t**2) with t = tanh(x).

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from tanh_forward

    Returns:
    - dx: same shape as x
    """
    raise NotImplementedError("a1.tanh: implement tanh_backward")
