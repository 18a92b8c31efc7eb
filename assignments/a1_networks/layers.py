"""A1 layers: fully connected (task a1.affine) and dropout (task a1.dropout).

Each forward returns (out, cache); its backward takes (dout, cache) and returns the gradients
in the order of the forward's inputs. Replace each `raise NotImplementedError(...)` with your
implementation, using NumPy only. See README.md for the formulas; `layerlab check a1` runs the
public checks.
"""
import numpy as np  # noqa: F401  (you will need it)


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
    raise NotImplementedError("a1.affine: implement affine_forward")


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
    raise NotImplementedError("a1.affine: implement affine_backward")
