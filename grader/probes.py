"""Functions the tests hand to student code that takes a function (e.g. a numerical gradient).

A trusted function cannot cross into the worker, so a test sends a recipe instead
(``wire.Probe("quadratic", a=..., b=...)``) and both sides build the same function from it.
Loaded by the worker by file path: NumPy only.
"""

import numpy as np

RECIPES = {
    # f(x) = sum(a * x**2) + sum(b * x): scalar, gradient 2*a*x + b
    "quadratic": lambda p: (lambda x: float(np.sum(p["a"] * x * x) + np.sum(p["b"] * x))),
    # f(x) = a * tanh(x): array-valued, elementwise derivative a * (1 - tanh(x)**2)
    "tanh_scale": lambda p: (lambda x: np.tanh(x) * p["a"]),
}


def build(name, params):
    """The function a recipe describes."""
    return RECIPES[name](params)
