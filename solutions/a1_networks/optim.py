"""First-order update rules: each takes (w, dw, config) and returns (next_w, config).

`config` holds the hyper-parameters and the rule's state between calls; it may be None on the
first call. Feed the returned config back in on the next step for the same parameter.
"""
import numpy as np


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
    config.setdefault("velocity", np.zeros_like(w))
    config["velocity"] = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    return w + config["velocity"], config


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
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    decay = config["decay_rate"]
    config["cache"] = decay * config["cache"] + (1 - decay) * dw**2
    return w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"]), config


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
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    beta1, beta2 = config["beta1"], config["beta2"]
    config["t"] += 1
    config["m"] = beta1 * config["m"] + (1 - beta1) * dw
    config["v"] = beta2 * config["v"] + (1 - beta2) * dw**2
    m_hat = config["m"] / (1 - beta1 ** config["t"])
    v_hat = config["v"] / (1 - beta2 ** config["t"])
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config
