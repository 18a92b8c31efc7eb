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
    raise NotImplementedError("a1.dropout: implement dropout_forward")


def dropout_backward(dout, cache):
    """Backward pass of dropout_forward: dx = dout * mask / p in train mode, dout in test mode.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from dropout_forward

    Returns:
    - dx: same shape as x
    """
    raise NotImplementedError("a1.dropout: implement dropout_backward")
