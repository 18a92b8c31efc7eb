"""Example submission: softmax without the max shift (overflows on large scores); SVM not done."""
import numpy as np


def softmax_loss(x, y):
    e = np.exp(x)  # bug: no shift by the row maximum
    p = e / e.sum(axis=1, keepdims=True)
    n = x.shape[0]
    loss = -np.log(p[np.arange(n), y]).mean()
    dx = p.copy()
    dx[np.arange(n), y] -= 1
    return float(loss), dx / n


def svm_loss(x, y):
    raise NotImplementedError("a1.svm: implement svm_loss")
