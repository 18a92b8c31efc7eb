"""Example submission: numerical gradients, done right in a style of the student's own."""
import numpy as np


def eval_numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x, dtype=np.float64)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)  # views: writes reach x and grad
    for i in range(flat_x.size):
        keep = flat_x[i]
        flat_x[i] = keep + h
        up = f(x)
        flat_x[i] = keep - h
        down = f(x)
        flat_x[i] = keep
        flat_grad[i] = (up - down) / (2 * h)
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    return eval_numerical_gradient(lambda v: float(np.sum(np.array(f(v)) * df)), x, h)


def rel_error(x, y):
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))
