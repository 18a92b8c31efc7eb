"""NumPy versions of the ``_roi`` kernels: same signatures, same results, used when the
extension is not built (and as the parity reference in tests). Each returns 1, the number of
threads that ran it, as the compiled kernels do."""

import numpy as np


def roi_pool_forward(x, batch, h_begin, h_end, w_begin, w_end, out, argmax, threads):
    R, C, PH, PW = out.shape
    W = x.shape[3]
    channels = np.arange(C)
    for r in range(R):
        for i in range(PH):
            h0, h1 = h_begin[r, i], h_end[r, i]
            for j in range(PW):
                w0, w1 = w_begin[r, j], w_end[r, j]
                if h1 <= h0 or w1 <= w0:
                    out[r, :, i, j] = 0
                    argmax[r, :, i, j] = -1
                    continue
                window = x[batch[r], :, h0:h1, w0:w1].reshape(C, -1)
                k = window.argmax(axis=1)  # the first maximum (or NaN) in row-major order
                out[r, :, i, j] = window[channels, k]
                argmax[r, :, i, j] = (h0 + k // (w1 - w0)) * W + w0 + k % (w1 - w0)
    return 1


def roi_pool_backward(dout, argmax, rois_by_image, image_start, dx, threads):
    N, C, _ = dx.shape
    dx[...] = 0
    for n in range(N):
        rois = rois_by_image[image_start[n]:image_start[n + 1]]
        a, g = argmax[rois], dout[rois]  # (k, C, PH, PW), the RoIs in ascending order
        c = np.broadcast_to(np.arange(C)[None, :, None, None], a.shape)
        hit = a >= 0
        np.add.at(dx[n], (c[hit], a[hit]), g[hit])  # in (RoI, channel, bin) order
    return 1


def nms(boxes, order, iou_threshold, keep):
    """One kept box at a time against every box: O(B) memory, where the reference's IoU
    matrix takes O(B^2)."""
    x1, y1, x2, y2 = (np.ascontiguousarray(boxes[order, k]) for k in range(4))
    area = (x2 - x1) * (y2 - y1)
    suppressed = np.zeros(len(order), dtype=bool)
    kept = 0
    for s in range(len(order)):
        if suppressed[s]:
            continue
        keep[kept] = order[s]
        kept += 1
        w = np.minimum(x2[s], x2) - np.maximum(x1[s], x1)
        h = np.minimum(y2[s], y2) - np.maximum(y1[s], y1)
        inter = np.clip(w, 0, None) * np.clip(h, 0, None)
        union = area[s] + area - inter
        overlap = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        suppressed[s + 1:] |= overlap[s + 1:] > iou_threshold
    return kept
