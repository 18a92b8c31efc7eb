"""How A3's models are trained: gradient-norm clipping, against the exploding gradients of
backpropagation through time, and the update rule Adam (A1's, restated)."""
import numpy as np


def clip_grad_norm(grads, max_norm):
    """Clip gradients by their global L2 norm: one norm over every entry of every gradient,
        total_norm = sqrt(sum over k of sum(grads[k]**2)),
    and, when total_norm > max_norm, every gradient scaled by the same factor
    max_norm / total_norm (so the clipped gradients have global norm max_norm and keep their
    direction). Otherwise the gradients are returned unchanged. No epsilon is added: a zero
    total_norm is never above max_norm, so nothing is divided by it. (PyTorch's
    clip_grad_norm_ divides by total_norm + 1e-6 instead.)

    Inputs:
    - grads: dict of name -> gradient array (any shapes); its arrays are not modified
    - max_norm: positive float, the largest global norm allowed

    Returns (clipped, total_norm):
    - clipped: dict with the keys of grads, each array of the shape of its gradient
    - total_norm: Python float, the global norm of grads before clipping
    """
    total_norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, total_norm


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
