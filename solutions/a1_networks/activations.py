"""Activations, forward and backward: each forward returns (out, cache), its backward
(dout, cache) -> dx (PReLU, whose slope is learned: (dx, dalpha))."""
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


def leaky_relu_forward(x, alpha=0.01):
    """Leaky ReLU: out = x where x > 0, alpha * x elsewhere (elementwise, fixed slope alpha).

    Inputs:
    - x: array of any shape
    - alpha: slope for x <= 0 (float, default 0.01)

    Returns (out, cache):
    - out: same shape as x
    - cache: whatever leaky_relu_backward needs
    """
    return np.where(x > 0, x, alpha * x), (x, alpha)


def leaky_relu_backward(dout, cache):
    """Backward pass of leaky_relu_forward: dx = dout where x > 0, else alpha * dout (x == 0 too).

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from leaky_relu_forward

    Returns:
    - dx: same shape as x
    """
    x, alpha = cache
    return np.where(x > 0, dout, alpha * dout)


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
    return np.where(x > 0, x, alpha * x), (x, alpha)


def prelu_backward(dout, cache):
    """Backward pass of prelu_forward; x == 0 counts as the alpha side, as in leaky_relu.

    Inputs:
    - dout: (N, D) upstream gradient
    - cache: from prelu_forward

    Returns (dx, dalpha):
    - dx: (N, D), dout where x > 0, else alpha * dout
    - dalpha: (D,), sum over the batch of dout * x where x <= 0
    """
    x, alpha = cache
    dx = np.where(x > 0, dout, alpha * dout)
    dalpha = (dout * np.minimum(x, 0)).sum(axis=0)
    return dx, dalpha


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
    return np.where(x > 0, x, gamma * np.expm1(np.minimum(x, 0))), (x, gamma)


def elu_backward(dout, cache):
    """Backward pass of elu_forward: dx = dout where x > 0, else gamma * exp(x) * dout (x == 0 too).

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from elu_forward

    Returns:
    - dx: same shape as x
    """
    x, gamma = cache
    return np.where(x > 0, dout, gamma * np.exp(np.minimum(x, 0)) * dout)


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
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0, z) / (1 + z)
    return out, out


def sigmoid_backward(dout, cache):
    """Backward pass of sigmoid_forward: dx = dout * s * (1 - s) with s = sigmoid(x).

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from sigmoid_forward

    Returns:
    - dx: same shape as x
    """
    s = cache
    return dout * s * (1 - s)


def tanh_forward(x):
    """Hyperbolic tangent: out = tanh(x), elementwise.

    Inputs:
    - x: array of any shape

    Returns (out, cache):
    - out: same shape as x, in [-1, 1]
    - cache: whatever tanh_backward needs
    """
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """Backward pass of tanh_forward: dx = dout * (1 - t**2) with t = tanh(x).

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from tanh_forward

    Returns:
    - dx: same shape as x
    """
    t = cache
    return dout * (1 - t**2)
