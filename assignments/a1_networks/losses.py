"""A1 losses: softmax cross-entropy (task a1.softmax) and multiclass SVM hinge (task a1.svm).

Each returns (loss, dx): the mean loss over the batch as a Python float and its gradient with
respect to the scores. Replace each `raise NotImplementedError(...)` with your implementation,
using NumPy only. See README.md for the formulas; `layerlab check a1` runs the public checks.
"""
import numpy as np  # noqa: F401  (you will need it)


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
    raise NotImplementedError("a1.softmax: implement softmax_loss")


def svm_loss(x, y):
    """Multiclass SVM hinge: loss = mean_i sum_{j != y_i} max(0, x[i, j] - x[i, y_i] + 1).

    Inputs:
    - x: (N, C) class scores
    - y: (N,) integer labels, 0 <= y[i] < C

    Returns (loss, dx):
    - loss: Python float
    - dx: (N, C); each positive margin adds 1/N at [i, j] and -1/N at [i, y_i]
    """
    raise NotImplementedError("a1.svm: implement svm_loss")
