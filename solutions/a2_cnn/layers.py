"""A2 layers: A1's affine, ReLU and softmax again, then the naive convolution, pooling and
spatial batch normalisation layers, written as explicit loops over the output positions.

Each forward returns (out, cache); its backward takes (dout, cache) and returns the gradients
in the order of the forward's inputs. These naive layers are the reference the fast layers of
core_ext are tested against, so this module never imports core_ext.
"""
import numpy as np


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
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


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
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    """Rectified linear unit: out = max(0, x), elementwise.

    Inputs:
    - x: array of any shape

    Returns (out, cache):
    - out: same shape as x
    - cache: whatever relu_backward needs
    """
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    """Backward pass of relu_forward: dx = dout where x > 0, else 0 (also at x == 0).

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from relu_forward

    Returns:
    - dx: same shape as x
    """
    x = cache
    return dout * (x > 0)


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
    n = x.shape[0]
    rows = np.arange(n)
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].sum() / n
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    return float(loss), dx / n


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
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, Ho, Wo), dtype=np.result_type(x, w))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    top, left = i * stride, j * stride
                    window = xpad[n, :, top:top + HH, left:left + WW]  # (C, HH, WW)
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, conv_param)


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
    x, w, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, F, Ho, Wo = dout.shape
    _, _, HH, WW = w.shape
    H, W = x.shape[2:]
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxpad = np.zeros(xpad.shape, dtype=np.result_type(dout, w))
    dw = np.zeros(w.shape, dtype=np.result_type(dout, x))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    top, left = i * stride, j * stride
                    g = dout[n, f, i, j]
                    dw[f] += g * xpad[n, :, top:top + HH, left:left + WW]
                    dxpad[n, :, top:top + HH, left:left + WW] += g * w[f]
    db = dout.sum(axis=(0, 2, 3))
    return dxpad[:, :, pad:pad + H, pad:pad + W], dw, db


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
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - ph) // stride, 1 + (W - pw) // stride
    out = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                top, left = i * stride, j * stride
                window = x[n, :, top:top + ph, left:left + pw]  # (C, ph, pw)
                out[n, :, i, j] = window.max(axis=(1, 2))
    return out, (x, pool_param)


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
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, Ho, Wo = dout.shape
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    channels = np.arange(C)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                top, left = i * stride, j * stride
                window = x[n, :, top:top + ph, left:left + pw].reshape(C, ph * pw)
                u, v = np.divmod(window.argmax(axis=1), pw)  # first maximum, per channel
                dx[n, channels, top + u, left + v] += dout[n, :, i, j]
    return dx


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
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - ph) // stride, 1 + (W - pw) // stride
    out = np.zeros((N, C, Ho, Wo), dtype=np.result_type(x, 1.0))  # a mean: float even for int x
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                top, left = i * stride, j * stride
                window = x[n, :, top:top + ph, left:left + pw]  # (C, ph, pw)
                out[n, :, i, j] = window.mean(axis=(1, 2))
    return out, (x.shape, pool_param)


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
    x_shape, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, _, Ho, Wo = dout.shape
    dx = np.zeros(x_shape, dtype=np.result_type(dout, 1.0))
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                top, left = i * stride, j * stride
                share = dout[n, :, i, j] / (ph * pw)  # (C,)
                dx[n, :, top:top + ph, left:left + pw] += share[:, None, None]
    return dx


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
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    C = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(C, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(C, dtype=x.dtype))
    if mode == "train":
        mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        mu, var = running_mean, running_var
    else:
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    per_channel = (1, C, 1, 1)  # broadcast (C,) vectors over N, H and W
    std = np.sqrt(var + eps).reshape(per_channel)
    x_hat = (x - mu.reshape(per_channel)) / std
    out = gamma.reshape(per_channel) * x_hat + beta.reshape(per_channel)
    return out, (x_hat, gamma, std)


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
    x_hat, gamma, std = cache
    N, C, H, W = dout.shape
    m = N * H * W
    axes = (0, 2, 3)
    dx_hat = dout * gamma.reshape(1, C, 1, 1)
    dx = (m * dx_hat - dx_hat.sum(axis=axes, keepdims=True)
          - x_hat * (dx_hat * x_hat).sum(axis=axes, keepdims=True)) / (m * std)
    return dx, (dout * x_hat).sum(axis=axes), dout.sum(axis=axes)
