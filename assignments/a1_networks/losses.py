"""A1 losses: softmax cross-entropy (task a1.softmax), multiclass SVM hinge (a1.svm), mean
squared error (a1.mse), mean absolute error (a1.mae) and binary cross-entropy on logits (a1.bce).

Each returns (loss, dx): the mean loss as a Python float and its gradient with respect to x
(the classification losses average over the batch, MSE, MAE and BCE over every element).
Replace each `raise NotImplementedError(...)` with your implementation, using NumPy only.
See README.md for the formulas; `layerlab check a1` runs the public checks.
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


def mse_loss(x, y):
    """Mean squared error: loss = mean over ALL elements of (x - y)**2.

    Inputs:
    - x: predictions, array of any shape, e.g. (N, D)
    - y: targets, same shape as x

    Returns (loss, dx):
    - loss: Python float, sum((x - y)**2) / x.size (for (N, D): divided by N * D, not N)
    - dx: same shape as x, 2 * (x - y) / x.size
    """
    raise NotImplementedError("a1.mse: implement mse_loss")


def mae_loss(x, y):
    """Mean absolute error: loss = mean over ALL elements of |x - y|.

    Inputs:
    - x: predictions, array of any shape, e.g. (N, D)
    - y: targets, same shape as x

    Returns (loss, dx):
    - loss: Python float, sum(|x - y|) / x.size
    - dx: same shape as x, sign(x - y) / x.size; the subgradient 0 where x == y
    """
    raise NotImplementedError("a1.mae: implement mae_loss")


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
    raise NotImplementedError("a1.bce: implement bce_with_logits_loss")
