"""Known A2 mistakes (instructor-side, never released): each reproduces, with the reference, a
classic bug of one reference function, so that the feedback on a wrong output can name it
(see grader/mistakes.py). ``mutant`` is the mutant of tests/mutants/a2.py that makes the bug.

A mistake takes the reference function's arguments; a backward pass gets the reference's cache.
"""
import numpy as np

from grader.mistakes import mistake
from solutions.a2_cnn import layers


# -- carried over from A1 ---------------------------------------------------------------------
@mistake("relu_backward", "the gradient also passes where x == 0 (x >= 0 instead of x > 0)",
         mutant="relu_backward_mask_includes_zero")
def relu_passes_at_zero(dout, cache):
    return dout * (cache >= 0)


@mistake("affine_backward", "dx is left flat (N, D) instead of being reshaped to the shape of x",
         mutant="affine_dx_not_reshaped")
def affine_dx_flat(dout, cache):
    _, w = cache
    _, dw, db = layers.affine_backward(dout, cache)
    return dout @ w.T, dw, db


# -- convolution ------------------------------------------------------------------------------
def _padded(x, pad, width=True):
    """x with ``pad`` zeros on each side of its height (and of its width unless told not to)."""
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad) if width else (0, 0)))


@mistake("conv_forward_naive", "only the height is padded, not the width",
         mutant="conv_pads_only_height")
def conv_pads_only_height(x, w, b, conv_param):
    padded = _padded(x, conv_param["pad"], width=False)
    return layers.conv_forward_naive(padded, w, b, {**conv_param, "pad": 0})


@mistake("conv_forward_naive", "the filter is flipped (a convolution instead of the "
         "cross-correlation asked for)", mutant="conv_flipped_kernel")
def conv_flipped_filter(x, w, b, conv_param):
    return layers.conv_forward_naive(x, w[:, :, ::-1, ::-1], b, conv_param)


@mistake("conv_forward_naive", "the bias is added to every product of the window instead of "
         "once per output", mutant="conv_bias_inside_the_sum")
def conv_bias_in_every_product(x, w, b, conv_param):
    out, cache = layers.conv_forward_naive(x, w, b, conv_param)
    return out + (w[0].size - 1) * b[:, None, None], cache


@mistake("conv_backward_naive", "the backward pass ignores the stride: window (i, j) is taken "
         "to start at (i, j) instead of (i * stride, j * stride)",
         mutant="conv_stride_ignored_in_backward")
def conv_backward_stride_one(dout, cache):
    x, w, conv_param = cache
    return layers.conv_backward_naive(dout, (x, w, {**conv_param, "stride": 1}))


@mistake("conv_backward_naive", "db is divided by the batch size N instead of summed over it",
         mutant="conv_db_averaged_over_batch")
def conv_db_averaged(dout, cache):
    dx, dw, db = layers.conv_backward_naive(dout, cache)
    return dx, dw, db / dout.shape[0]


@mistake("conv_backward_naive", "dw is reset for every sample, so it holds the last sample's "
         "gradient only", mutant="conv_dw_of_the_last_sample_only")
def conv_dw_last_sample(dout, cache):
    x, w, conv_param = cache
    dx, _, db = layers.conv_backward_naive(dout, cache)
    _, dw, _ = layers.conv_backward_naive(dout[-1:], (x[-1:], w, conv_param))
    return dx, dw, db


@mistake("conv_backward_naive", "dx keeps the padding (it is the gradient of the padded input)",
         mutant="conv_dx_keeps_the_padding")
def conv_dx_padded(dout, cache):
    x, w, conv_param = cache
    _, dw, db = layers.conv_backward_naive(dout, cache)
    padded = (_padded(x, conv_param["pad"]), w, {**conv_param, "pad": 0})
    return layers.conv_backward_naive(dout, padded)[0], dw, db


# -- pooling ----------------------------------------------------------------------------------
def _windows(dout, pool_param):
    """(the index of its window in x, its upstream gradient) for every pooled output."""
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    for n, c, i, j in np.ndindex(dout.shape):
        yield (n, c, slice(i * s, i * s + ph), slice(j * s, j * s + pw)), dout[n, c, i, j]


def _max_pool_backward(dout, cache, route):
    """Max pooling's dx, each window's gradient g placed by ``route(dx[window], x[window], g)``."""
    x, pool_param = cache
    dx = np.zeros(x.shape)
    for window, g in _windows(dout, pool_param):
        route(dx[window], x[window], g)
    return dx


def _add_at(where):
    """A route that adds g at the element ``where(window of x)`` of the window."""
    def route(dx, x, g):
        dx[where(x)] += g
    return route


@mistake("max_pool_forward_naive", "windows that run past the edge are kept (ceil instead of "
         "floor in the output size)", mutant="max_pool_output_size_ceil")
def max_pool_ceil_mode(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    H, W = x.shape[2:]
    extra_h, extra_w = (-(H - ph)) % s, (-(W - pw)) % s  # rows and columns the last windows lack
    padded = np.pad(x, ((0, 0), (0, 0), (0, extra_h), (0, extra_w)), constant_values=-np.inf)
    return layers.max_pool_forward_naive(padded, pool_param)[0], (x, pool_param)


@mistake("max_pool_backward_naive", "the gradient goes to every maximum of a window with ties "
         "instead of the first one only", mutant="max_pool_gradient_to_every_tied_maximum")
def max_pool_every_tied_maximum(dout, cache):
    return _max_pool_backward(dout, cache, _add_at(lambda x: x == x.max()))


@mistake("max_pool_backward_naive", "the gradient goes to the last maximum of a window with "
         "ties instead of the first one", mutant="max_pool_gradient_to_the_last_maximum")
def max_pool_last_maximum(dout, cache):
    last = _add_at(lambda x: np.unravel_index(x.size - 1 - np.argmax(x.ravel()[::-1]), x.shape))
    return _max_pool_backward(dout, cache, last)


@mistake("max_pool_backward_naive", "ties go to the first maximum in column order instead of "
         "row-major order", mutant="max_pool_first_maximum_in_column_order")
def max_pool_column_order(dout, cache):
    first_in_column_order = _add_at(lambda x: np.unravel_index(np.argmax(x.T), x.T.shape)[::-1])
    return _max_pool_backward(dout, cache, first_in_column_order)


@mistake("max_pool_backward_naive", "overlapping windows overwrite each other's gradient "
         "instead of adding up", mutant="max_pool_overlaps_overwrite")
def max_pool_overlaps_overwrite(dout, cache):
    def assign(dx, x, g):
        dx[np.unravel_index(np.argmax(x), x.shape)] = g
    return _max_pool_backward(dout, cache, assign)


@mistake("avg_pool_forward_naive", "the window's sum is not divided by the window size",
         mutant="avg_pool_not_divided")
def avg_pool_sum(x, pool_param):
    out, cache = layers.avg_pool_forward_naive(x, pool_param)
    return out * pool_param["pool_height"] * pool_param["pool_width"], cache


@mistake("avg_pool_backward_naive", "dout is spread over the window without dividing it by "
         "the window size", mutant="avg_pool_not_divided")
def avg_pool_backward_not_divided(dout, cache):
    _, pool_param = cache
    size = pool_param["pool_height"] * pool_param["pool_width"]
    return layers.avg_pool_backward_naive(dout, cache) * size


# after the one above: with stride 1, dividing by stride**2 is not dividing (the first named wins)
@mistake("avg_pool_backward_naive", "dout is divided by stride**2 instead of by the window size",
         mutant="avg_pool_backward_divides_by_stride_squared")
def avg_pool_backward_over_stride_squared(dout, cache):
    _, pool_param = cache
    size = pool_param["pool_height"] * pool_param["pool_width"]
    return layers.avg_pool_backward_naive(dout, cache) * size / pool_param["stride"] ** 2


@mistake("avg_pool_backward_naive", "overlapping windows overwrite each other's gradient "
         "instead of adding up", mutant="avg_pool_backward_overlaps_overwrite")
def avg_pool_overlaps_overwrite(dout, cache):
    x_shape, pool_param = cache
    dx = np.zeros(x_shape)
    for window, g in _windows(dout, pool_param):
        dx[window] = g / (pool_param["pool_height"] * pool_param["pool_width"])
    return dx


# -- spatial batch normalisation --------------------------------------------------------------
def _channels(v):
    return v.reshape(1, -1, 1, 1)


def _normalised(x, mu, std, gamma, beta):
    """The output and the reference's cache of (x - mu) / std, scaled and shifted per channel."""
    x_hat = (x - mu) / std
    return _channels(gamma) * x_hat + _channels(beta), (x_hat, gamma, std)


@mistake("spatial_batchnorm_forward", "the statistics are taken per pixel (over N only) "
         "instead of per channel over N, H and W", mutant="sbn_per_pixel_statistics")
def spatial_bn_per_pixel(x, gamma, beta, bn_param):
    if bn_param["mode"] != "train":
        return layers.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    std = np.sqrt(x.var(axis=0) + bn_param.get("eps", 1e-5))
    return _normalised(x, x.mean(axis=0), std, gamma, beta)


@mistake("spatial_batchnorm_forward", "x is reshaped to (N * H * W, C) without moving the "
         "channels last first, so the statistics mix channels",
         mutant="sbn_reshape_without_transpose")
def spatial_bn_reshape_without_transpose(x, gamma, beta, bn_param):
    if bn_param["mode"] != "train":
        return layers.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    rows = x.reshape(-1, x.shape[1])
    std = np.sqrt(rows.var(axis=0) + bn_param.get("eps", 1e-5))
    return _normalised(x, _channels(rows.mean(axis=0)), _channels(std), gamma, beta)


@mistake("spatial_batchnorm_forward", "test mode normalises with the batch's statistics instead "
         "of the running ones", mutant="sbn_test_mode_uses_batch_statistics")
def spatial_bn_test_mode_batch_statistics(x, gamma, beta, bn_param):
    return layers.spatial_batchnorm_forward(x, gamma, beta, {**bn_param, "mode": "train"})


@mistake("spatial_batchnorm_backward", "dx counts N values per channel instead of N * H * W",
         mutant="sbn_backward_counts_the_batch_only")
def spatial_bn_backward_batch_count(dout, cache):
    x_hat, gamma, std = cache
    axes, m = (0, 2, 3), dout.shape[0]
    dx_hat = dout * _channels(gamma)
    dx = (m * dx_hat - dx_hat.sum(axis=axes, keepdims=True)
          - x_hat * (dx_hat * x_hat).sum(axis=axes, keepdims=True)) / (m * std)
    _, dgamma, dbeta = layers.spatial_batchnorm_backward(dout, cache)
    return dx, dgamma, dbeta


@mistake("spatial_batchnorm_backward", "dgamma is summed over the batch only, not over H and W",
         mutant="sbn_dgamma_not_summed_over_space")
def spatial_bn_dgamma_per_pixel(dout, cache):
    dx, _, dbeta = layers.spatial_batchnorm_backward(dout, cache)
    return dx, (dout * cache[0]).sum(axis=0), dbeta
