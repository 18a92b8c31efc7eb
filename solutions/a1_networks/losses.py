"""Losses: each returns (loss, dx), the mean loss as a Python float and its gradient w.r.t. x."""
import numpy as np


def softmax_loss(x, y):
    """Softmax cross-entropy: loss = mean_i -log(exp(x[i, y_i]) / sum_j exp(x[i, j])).

    Scores are shifted by their row maximum first, so |x| ~ 1e3 neither overflows nor warns.

    Inputs:
    - x: (N, C) class scores
    - y: (N,) integer labels, 0 <= y[i] < C

    Returns (loss, dx):
    - loss: Python float
    - dx: (N, C), (softmax(x) - onehot(y)) / N
    """
    n = x.shape[0]
    rows = np.arange(n)
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].sum() / n
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    return float(loss), dx / n


def svm_loss(x, y):
    """Multiclass SVM hinge: loss = mean_i sum_{j != y_i} max(0, x[i, j] - x[i, y_i] + 1).

    Inputs:
    - x: (N, C) class scores
    - y: (N,) integer labels, 0 <= y[i] < C

    Returns (loss, dx):
    - loss: Python float
    - dx: (N, C); each positive margin adds 1/N at [i, j] and -1/N at [i, y_i]
    """
    n = x.shape[0]
    rows = np.arange(n)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    margins[rows, y] = 0
    active = (margins > 0).astype(x.dtype)
    active[rows, y] = -active.sum(axis=1)
    return float(margins.sum() / n), active / n


def mse_loss(x, y):
    """Mean squared error: loss = mean over ALL elements of (x - y)**2.

    Inputs:
    - x: predictions, array of any shape, e.g. (N, D)
    - y: targets, same shape as x

    Returns (loss, dx):
    - loss: Python float, sum((x - y)**2) / x.size (for (N, D): divided by N * D, not N)
    - dx: same shape as x, 2 * (x - y) / x.size
    """
    diff = x - y
    return float(np.mean(diff**2)), 2 * diff / x.size


def mae_loss(x, y):
    """Mean absolute error: loss = mean over ALL elements of |x - y|.

    Inputs:
    - x: predictions, array of any shape, e.g. (N, D)
    - y: targets, same shape as x

    Returns (loss, dx):
    - loss: Python float, sum(|x - y|) / x.size
    - dx: same shape as x, sign(x - y) / x.size; the subgradient 0 where x == y
    """
    diff = x - y
    return float(np.mean(np.abs(diff))), np.sign(diff) / x.size


def bce_with_logits_loss(x, y):
    """Binary cross-entropy on logits: loss = mean over ALL elements of -y log s - (1-y) log(1-s).

    Here s = sigmoid(x). Each term is computed as max(x, 0) - x * y + log1p(exp(-|x|)), the
    same value without exp of a positive number or log of 0, so |x| ~ 1e3 neither overflows
    nor warns.

    Inputs:
    - x: logits, array of any shape, e.g. (N,) or (N, D)
    - y: targets in [0, 1] (hard 0/1 labels or probabilities), same shape as x

    Returns (loss, dx):
    - loss: Python float, the mean over x.size elements
    - dx: same shape as x, (sigmoid(x) - y) / x.size
    """
    z = np.exp(-np.abs(x))
    loss = np.maximum(x, 0) - x * y + np.log1p(z)
    s = np.where(x >= 0, 1.0, z) / (1 + z)
    return float(np.mean(loss)), (s - y) / x.size
