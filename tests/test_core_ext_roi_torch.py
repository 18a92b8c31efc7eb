"""core_ext RoI pooling and NMS against PyTorch where it is installed.

torchvision (whose roi_pool and nms these kernels follow) is not installable beside torch 2.13,
the project's torch: its releases pin one torch each. So torch ops written as the definition
stand in: NMS as a loop over torch's IoU (torchvision's box_iou formula, strictly greater
suppresses), RoI pooling on RoIs with whole corners inside the map as adaptive_max_pool2d of
the RoI's crop (its bins floor(i * h / PH) .. ceil((i + 1) * h / PH) are the RoI's), forward and
gradient through autograd. bench/bench_detection.py times torchvision's own kernels where a
Python with torchvision is given."""

import numpy as np
import pytest

import core_ext

torch = pytest.importorskip("torch")


def torch_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    b = torch.tensor(boxes, dtype=torch.float64)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.maximum(b[:, None, :2], b[None, :, :2])
    rb = torch.minimum(b[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area[:, None] + area[None, :] - inter
    iou = torch.where(union > 0, inter / union, torch.zeros_like(inter))
    order = torch.argsort(-torch.tensor(scores, dtype=torch.float64), stable=True)
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    keep = []
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > threshold
    return np.array(keep, dtype=np.int64)


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7])
@pytest.mark.parametrize("n", [1, 60, 500])
def test_nms_matches_a_loop_over_torch_iou(n, threshold):
    rng = np.random.default_rng(n)
    centres = rng.uniform(0, 100, (5, 2))[rng.integers(0, 5, n)] + rng.normal(0, 4, (n, 2))
    half = rng.uniform(1, 12, (n, 2))
    boxes = np.column_stack([centres - half, centres + half])
    for scores in (rng.random(n), rng.integers(0, 3, n).astype(float)):  # distinct, tied
        np.testing.assert_array_equal(core_ext.nms(boxes, scores, threshold),
                                      torch_nms(boxes, scores, threshold))


def in_map_rois(rng, n, h, w, count, scale):
    """RoIs whose corners times scale are whole cells inside the map (no rounding, no clip)."""
    rows = []
    for _ in range(count):
        y1, x1 = rng.integers(0, h), rng.integers(0, w)
        y2, x2 = rng.integers(y1, h), rng.integers(x1, w)
        rows.append([rng.integers(0, n), x1 / scale, y1 / scale, x2 / scale, y2 / scale])
    return np.array(rows, dtype=np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("size", [(1, 1), (2, 3), (7, 7)])
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_roi_pool_matches_adaptive_max_pooling_of_the_crop(dtype, size, scale):
    rng = np.random.default_rng(sum(size))
    N, C, H, W = 2, 3, 11, 14
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    rois = in_map_rois(rng, N, H, W, 9, scale)
    out, cache = core_ext.roi_pool_forward(x, rois, size, scale)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx = core_ext.roi_pool_backward(dout, cache)

    tx = torch.tensor(x, requires_grad=True)
    pieces = []
    for r, (b, x1, y1, x2, y2) in enumerate(np.round(rois * [1, scale, scale, scale, scale])
                                            .astype(int)):
        crop = tx[b, :, y1:y2 + 1, x1:x2 + 1]
        pooled, where = torch.nn.functional.adaptive_max_pool2d(crop, size, return_indices=True)
        pieces.append(pooled)
        # torch's index is into the crop: into the map it is (y1 + row) * W + x1 + col
        rows, cols = where // (x2 - x1 + 1), where % (x2 - x1 + 1)
        np.testing.assert_array_equal(cache[2][r], ((y1 + rows) * W + x1 + cols).numpy())
    expected = torch.stack(pieces)
    np.testing.assert_array_equal(out, expected.detach().numpy())
    expected.backward(torch.tensor(dout))
    tolerance = {"rtol": 1e-12, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-5,
                                                                            "atol": 1e-6}
    np.testing.assert_allclose(dx, tx.grad.numpy(), **tolerance)
