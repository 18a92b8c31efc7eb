"""Example submission: SGD done; momentum with its velocity sign flipped; the rest not started."""
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
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


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
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v + config["learning_rate"] * dw  # bug: should subtract
    config["velocity"] = v
    return w + v, config


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
