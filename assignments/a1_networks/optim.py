"""A1 optimizers: SGD (task a1.sgd), SGD with momentum (a1.momentum), RMSProp (a1.rmsprop) and
Adam (a1.adam).

Each rule takes (w, dw, config) and returns (next_w, config). `config` may be None on the first
call: fill in the defaults the docstring lists with config.setdefault, keep the rule's state
(velocity, cache, m, v, t) in config under exactly those names, and return it so that the next
call continues from it. Replace each `raise NotImplementedError(...)` with your implementation,
using NumPy only. See README.md for the formulas; `layerlab check a1` runs the public checks.
"""
import numpy as np  # noqa: F401  (you will need it)


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: next_w = w - learning_rate * dw.

    Inputs:
    - w: array of any shape, the current parameters
    - dw: gradient of the loss with respect to w, same shape
    - config: dict or None; keys (defaults filled in with config.setdefault):
      - learning_rate: 1e-2

    Returns (next_w, config):
    - next_w: same shape as w
    - config: the dict, to pass to the next call
    """
    raise NotImplementedError("a1.sgd: implement sgd")


def sgd_momentum(w, dw, config=None):
    """SGD with momentum:
        v = momentum * v - learning_rate * dw
        next_w = w + v

    Inputs:
    - w: array of any shape, the current parameters
    - dw: gradient of the loss with respect to w, same shape
    - config: dict or None; keys (defaults filled in with config.setdefault):
      - learning_rate: 1e-2
      - momentum: 0.9
      - velocity: v, same shape as w; zeros on the first call

    Returns (next_w, config):
    - next_w: same shape as w
    - config: the dict with config["velocity"] = the new v
    """
    raise NotImplementedError("a1.momentum: implement sgd_momentum")


def rmsprop(w, dw, config=None):
    """RMSProp: a moving average of squared gradients scales each coordinate's step.
        cache = decay_rate * cache + (1 - decay_rate) * dw**2
        next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)

    Inputs:
    - w: array of any shape, the current parameters
    - dw: gradient of the loss with respect to w, same shape
    - config: dict or None; keys (defaults filled in with config.setdefault):
      - learning_rate: 1e-2
      - decay_rate: 0.99
      - epsilon: 1e-8
      - cache: same shape as w; zeros on the first call

    Returns (next_w, config):
    - next_w: same shape as w
    - config: the dict with config["cache"] = the new cache
    """
    raise NotImplementedError("a1.rmsprop: implement rmsprop")


def adam(w, dw, config=None):
    """Adam: moving averages of the gradient and its square, with bias correction.
        t = t + 1                                (before it is used)
        m = beta1 * m + (1 - beta1) * dw
        v = beta2 * v + (1 - beta2) * dw**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)

    Inputs:
    - w: array of any shape, the current parameters
    - dw: gradient of the loss with respect to w, same shape
    - config: dict or None; keys (defaults filled in with config.setdefault):
      - learning_rate: 1e-3
      - beta1: 0.9
      - beta2: 0.999
      - epsilon: 1e-8
      - m: same shape as w; zeros on the first call
      - v: same shape as w; zeros on the first call
      - t: step counter, 0 before the first call (so the first step uses t = 1)

    Returns (next_w, config):
    - next_w: same shape as w
    - config: the dict with the new m, v and t
    """
    raise NotImplementedError("a1.adam: implement adam")
