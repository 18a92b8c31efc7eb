"""Building blocks that chain layers: a forward returns (out, cache) with the caches of its
parts, its backward runs their backwards in reverse order.

Convolution and pooling come from core_ext, the fast layers with the same contracts as the
naive ones in layers.py; ReLU and the affine layer are your own from layers.py.
"""
import core_ext

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import layers
except ImportError:
    import layers


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
    a, conv_cache = core_ext.conv_forward(x, w, b, conv_param)
    out, relu_cache = layers.relu_forward(a)
    return out, (conv_cache, relu_cache)


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
    conv_cache, relu_cache = cache
    da = layers.relu_backward(dout, relu_cache)
    return core_ext.conv_backward(da, conv_cache)


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
    a, conv_cache = core_ext.conv_forward(x, w, b, conv_param)
    s, relu_cache = layers.relu_forward(a)
    out, pool_cache = core_ext.max_pool_forward(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


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
    conv_cache, relu_cache, pool_cache = cache
    ds = core_ext.max_pool_backward(dout, pool_cache)
    da = layers.relu_backward(ds, relu_cache)
    return core_ext.conv_backward(da, conv_cache)


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
    a, affine_cache = layers.affine_forward(x, w, b)
    out, relu_cache = layers.relu_forward(a)
    return out, (affine_cache, relu_cache)


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
    affine_cache, relu_cache = cache
    da = layers.relu_backward(dout, relu_cache)
    return layers.affine_backward(da, affine_cache)
