"""Classification losses: each returns (loss, dx), the mean over the batch and its gradient."""
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
