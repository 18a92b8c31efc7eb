"""Fully connected layer (and dropout): each forward returns (out, cache), its backward takes
(dout, cache)."""
import numpy as np


def affine_forward(x, w, b):
    """Fully connected layer: out = x.reshape(N, D) @ w + b.

    Inputs:
    - x: (N, d_1, ..., d_k) inputs; each sample is flattened to D = d_1 * ... * d_k
    - w: (D, M) weights
    - b: (M,) biases

    Returns (out, cache):
    - out: (N, M)
    - cache: whatever affine_backward needs
    """
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    """Backward pass of affine_forward.

    Inputs:
    - dout: (N, M) upstream gradient
    - cache: from affine_forward

    Returns (dx, dw, db):
    - dx: (N, d_1, ..., d_k), the shape of x
    - dw: (D, M)
    - db: (M,)
    """
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def dropout_forward(x, dropout_param):
    """Inverted dropout: in training keep each unit with probability p and divide by p, so the
    expected output equals x and test mode is the identity.

    Inputs:
    - x: array of any shape
    - dropout_param: dict with keys
      - p: the probability of KEEPING each unit (0 < p <= 1). This is NOT PyTorch's p, which is
        the probability of dropping one: p = 0.8 here is torch.nn.Dropout(p=0.2).
      - mode: 'train' (out = x * mask / p, mask[i] = 1 with probability p, else 0)
        or 'test' (out = x)
      - seed: optional; when given, the same seed gives the same mask

    Returns (out, cache):
    - out: same shape as x
    - cache: whatever dropout_backward needs
    """
    p, mode = dropout_param["p"], dropout_param["mode"]
    if mode == "test":
        return x, (mode, None)
    if mode != "train":
        raise ValueError(f"dropout_param['mode'] must be 'train' or 'test', got {mode!r}")
    rng = np.random.default_rng(dropout_param.get("seed"))
    mask = (rng.random(x.shape) < p) / p
    return x * mask, (mode, mask)


def dropout_backward(dout, cache):
    """Backward pass of dropout_forward: dx = dout * mask / p in train mode, dout in test mode.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from dropout_forward

    Returns:
    - dx: same shape as x
    """
    mode, mask = cache
    return dout if mode == "test" else dout * mask
