"""A2 layers: affine, ReLU and softmax from A1 (task a2.carryover), then convolution (a2.conv),
max pooling (a2.max_pool), average pooling (a2.avg_pool) and spatial batch normalisation
(a2.spatial_bn).

Each forward returns (out, cache); its backward takes (dout, cache) and returns the gradients
in the order of the forward's inputs. Write the convolution and pooling layers as plain loops
over the output positions (vectorising the sum over a window is fine): these "naive" layers are
for understanding and for checking the fast ones, not for training. They must be your own
code: the tests of these tasks run where core_ext cannot be imported. Replace each
`raise NotImplementedError(...)` with your implementation, using NumPy only. See README.md;
`layerlab check a2` runs the public checks.
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
    raise NotImplementedError("a2.carryover: implement affine_forward")


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
    raise NotImplementedError("a2.carryover: implement affine_backward")


def relu_forward(x):
    """Rectified linear unit: out = max(0, x), elementwise.

    Inputs:
    - x: array of any shape

    Returns (out, cache):
    - out: same shape as x
    - cache: whatever relu_backward needs
    """
    raise NotImplementedError("a2.carryover: implement relu_forward")


def relu_backward(dout, cache):
    """Backward pass of relu_forward: dx = dout where x > 0, else 0 (also at x == 0).

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from relu_forward

    Returns:
    - dx: same shape as x
    """
    raise NotImplementedError("a2.carryover: implement relu_backward")


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
    raise NotImplementedError("a2.carryover: implement softmax_loss")


def conv_forward_naive(x, w, b, conv_param):
    """Convolutional layer (cross-correlation: the filter is not flipped), by explicit loops.

        out[n, f, i, j] = b[f] + sum over c, u, v of
                          w[f, c, u, v] * xpad[n, c, i * stride + u, j * stride + v]
    where xpad is x with `pad` zeros added on each side of H and W (not of N or C).

    Inputs:
    - x: (N, C, H, W) inputs
    - w: (F, C, HH, WW) filters
    - b: (F,) biases
    - conv_param: dict with keys
      - stride: step between neighbouring windows, in both directions
      - pad: number of zeros added on each side of the height and width

    Returns (out, cache):
    - out: (N, F, H', W') with H' = 1 + (H + 2 * pad - HH) // stride and
      W' = 1 + (W + 2 * pad - WW) // stride; windows that do not fit are dropped
    - cache: whatever conv_backward_naive needs
    """
    raise NotImplementedError("a2.conv: implement conv_forward_naive")


def conv_backward_naive(dout, cache):
    """Backward pass of conv_forward_naive.

    Each output out[n, f, i, j] saw one window of xpad and the filter w[f], so its gradient
    dout[n, f, i, j] flows back to both:
        dw[f]           += dout[n, f, i, j] * (that window of xpad[n])
        dxpad[n, window] += dout[n, f, i, j] * w[f]
        db[f]           += dout[n, f, i, j]
    and dx is dxpad without its padding.

    Inputs:
    - dout: (N, F, H', W') upstream gradient
    - cache: from conv_forward_naive

    Returns (dx, dw, db):
    - dx: (N, C, H, W)
    - dw: (F, C, HH, WW)
    - db: (F,)
    """
    raise NotImplementedError("a2.conv: implement conv_backward_naive")


def max_pool_forward_naive(x, pool_param):
    """Max pooling: the largest value of each pool_height x pool_width window, per channel.

        out[n, c, i, j] = max over u < pool_height, v < pool_width of
                          x[n, c, i * stride + u, j * stride + v]

    Inputs:
    - x: (N, C, H, W) inputs
    - pool_param: dict with keys
      - pool_height: height of a window
      - pool_width: width of a window
      - stride: step between neighbouring windows, in both directions

    Returns (out, cache):
    - out: (N, C, H', W') with H' = 1 + (H - pool_height) // stride and
      W' = 1 + (W - pool_width) // stride; windows that do not fit are dropped
    - cache: whatever max_pool_backward_naive needs
    """
    raise NotImplementedError("a2.max_pool: implement max_pool_forward_naive")


def max_pool_backward_naive(dout, cache):
    """Backward pass of max_pool_forward_naive.

    Each dout[n, c, i, j] goes to ONE element of its window: the first maximum in row-major
    order (np.argmax of the flattened window), even when several elements tie. Where windows
    overlap (stride < pool size) an element can receive gradient from several windows; the
    contributions add up.

    Inputs:
    - dout: (N, C, H', W') upstream gradient
    - cache: from max_pool_forward_naive

    Returns:
    - dx: (N, C, H, W)
    """
    raise NotImplementedError("a2.max_pool: implement max_pool_backward_naive")


def avg_pool_forward_naive(x, pool_param):
    """Average pooling: the mean of each pool_height x pool_width window, per channel.

        out[n, c, i, j] = mean over u < pool_height, v < pool_width of
                          x[n, c, i * stride + u, j * stride + v]

    Inputs:
    - x: (N, C, H, W) inputs
    - pool_param: dict with keys
      - pool_height: height of a window
      - pool_width: width of a window
      - stride: step between neighbouring windows, in both directions

    Returns (out, cache):
    - out: (N, C, H', W') with H' = 1 + (H - pool_height) // stride and
      W' = 1 + (W - pool_width) // stride; windows that do not fit are dropped
    - cache: whatever avg_pool_backward_naive needs
    """
    raise NotImplementedError("a2.avg_pool: implement avg_pool_forward_naive")


def avg_pool_backward_naive(dout, cache):
    """Backward pass of avg_pool_forward_naive.

    Each dout[n, c, i, j] is spread evenly over its window: every element of the window gets
    dout[n, c, i, j] / (pool_height * pool_width). Where windows overlap the contributions add
    up; elements that no window covers get 0.

    Inputs:
    - dout: (N, C, H', W') upstream gradient
    - cache: from avg_pool_forward_naive

    Returns:
    - dx: (N, C, H, W)
    """
    raise NotImplementedError("a2.avg_pool: implement avg_pool_backward_naive")


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Spatial batch normalisation: batch normalisation of each channel over N, H and W.

    A channel's statistics are taken over all N * H * W of its values (one mean and one
    variance per channel, not per pixel). Train mode uses the batch statistics
        mu[c] = mean of x[:, c, :, :], var[c] = mean of (x[:, c, :, :] - mu[c])**2   (biased)
        out[:, c] = gamma[c] * (x[:, c] - mu[c]) / sqrt(var[c] + eps) + beta[c]
    and updates the running statistics, storing them back into bn_param:
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var  = momentum * running_var  + (1 - momentum) * var
    Test mode uses the running statistics instead of mu and var, and changes nothing.

    Inputs:
    - x: (N, C, H, W) inputs
    - gamma: (C,) scale
    - beta: (C,) shift
    - bn_param: dict with keys
      - mode: 'train' or 'test' (required)
      - eps: 1e-5
      - momentum: 0.9
      - running_mean: (C,), zeros when absent
      - running_var: (C,), zeros when absent

    Returns (out, cache):
    - out: (N, C, H, W)
    - cache: whatever spatial_batchnorm_backward needs
    """
    raise NotImplementedError("a2.spatial_bn: implement spatial_batchnorm_forward")


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of spatial_batchnorm_forward in train mode.

    The batch normalisation gradient with every channel's sums taken over its M = N * H * W
    values; with x_hat = (x - mu) / sqrt(var + eps) and dx_hat = dout * gamma:
        dx = (M * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)) / (M * sqrt(var + eps))
        dgamma = sum(dout * x_hat), dbeta = sum(dout)

    Inputs:
    - dout: (N, C, H, W) upstream gradient
    - cache: from spatial_batchnorm_forward

    Returns (dx, dgamma, dbeta):
    - dx: (N, C, H, W)
    - dgamma: (C,)
    - dbeta: (C,)
    """
    raise NotImplementedError("a2.spatial_bn: implement spatial_batchnorm_backward")
