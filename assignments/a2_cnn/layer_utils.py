"""A2 building blocks (task a2.blocks): a forward chains layers and returns (out, cache) with
the caches of its parts; its backward runs their backwards in reverse order.

Take convolution and pooling from core_ext, the fast layers (core_ext.conv_forward,
core_ext.conv_backward, core_ext.max_pool_forward, core_ext.max_pool_backward), which keep the
contracts of your naive layers; take ReLU and the affine layer from your layers.py (e.g.
layers.relu_forward(...)). Replace each `raise NotImplementedError(...)` with your
implementation. See README.md; `layerlab check a2` runs the public checks.
"""
import core_ext  # noqa: F401  (you will need it)

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import layers
except ImportError:
    import layers  # noqa: F401


def conv_relu_forward(x, w, b, conv_param):
    """Convolution followed by ReLU.

    Inputs:
    - x: (N, C, H, W) inputs
    - w: (F, C, HH, WW) filters
    - b: (F,) biases
    - conv_param: dict with keys 'stride' and 'pad', as for conv_forward_naive

    Returns (out, cache):
    - out: (N, F, H', W'), relu(conv(x))
    - cache: whatever conv_relu_backward needs
    """
    raise NotImplementedError("a2.blocks: implement conv_relu_forward")


def conv_relu_backward(dout, cache):
    """Backward pass of conv_relu_forward.

    Inputs:
    - dout: (N, F, H', W') upstream gradient
    - cache: from conv_relu_forward

    Returns (dx, dw, db):
    - dx: (N, C, H, W)
    - dw: (F, C, HH, WW)
    - db: (F,)
    """
    raise NotImplementedError("a2.blocks: implement conv_relu_backward")


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Convolution, ReLU, then max pooling.

    Inputs:
    - x: (N, C, H, W) inputs
    - w: (F, C, HH, WW) filters
    - b: (F,) biases
    - conv_param: dict with keys 'stride' and 'pad', as for conv_forward_naive
    - pool_param: dict with keys 'pool_height', 'pool_width' and 'stride', as for
      max_pool_forward_naive

    Returns (out, cache):
    - out: (N, F, H'', W''), maxpool(relu(conv(x)))
    - cache: whatever conv_relu_pool_backward needs
    """
    raise NotImplementedError("a2.blocks: implement conv_relu_pool_forward")


def conv_relu_pool_backward(dout, cache):
    """Backward pass of conv_relu_pool_forward.

    Inputs:
    - dout: (N, F, H'', W'') upstream gradient
    - cache: from conv_relu_pool_forward

    Returns (dx, dw, db):
    - dx: (N, C, H, W)
    - dw: (F, C, HH, WW)
    - db: (F,)
    """
    raise NotImplementedError("a2.blocks: implement conv_relu_pool_backward")


def affine_relu_forward(x, w, b):
    """Fully connected layer followed by ReLU.

    Inputs:
    - x: (N, d_1, ..., d_k) inputs, flattened to (N, D) by the affine layer
    - w: (D, M) weights
    - b: (M,) biases

    Returns (out, cache):
    - out: (N, M), relu(x @ w + b)
    - cache: whatever affine_relu_backward needs
    """
    raise NotImplementedError("a2.blocks: implement affine_relu_forward")


def affine_relu_backward(dout, cache):
    """Backward pass of affine_relu_forward.

    Inputs:
    - dout: (N, M) upstream gradient
    - cache: from affine_relu_forward

    Returns (dx, dw, db):
    - dx: (N, d_1, ..., d_k), the shape of x
    - dw: (D, M)
    - db: (M,)
    """
    raise NotImplementedError("a2.blocks: implement affine_relu_backward")
