"""Hidden tests: RoI max pooling (forward and backward) and the multitask detection loss against
the reference.

RoIs come from several images of the batch and include RoIs on the map's border, RoIs larger
than the map and partly or wholly off it (clipped; empty bins give 0), a malformed RoI
(x2 < x1: one cell), RoIs smaller than the output grid (bins that share cells, so the
backward pass must accumulate) and overlapping RoIs. spatial_scale = 0.5 on odd pixel
coordinates puts corners at exact halves, which C's round() sends away from zero.

The loss is taken over RoIs of every class and the background, with box errors inside and
outside smooth-L1's quadratic zone, several weights lam, and scores of size 1e3.
"""

import numpy as np
import pytest

from grader.compare import check_backward, check_forward

# (N, C, H, W, R, (PH, PW), spatial_scale)
POOL_CASES = [(1, 1, 5, 6, 3, (2, 2), 1.0), (2, 3, 7, 8, 5, (3, 2), 0.5),
              (3, 2, 6, 6, 6, (2, 3), 0.25), (2, 2, 9, 7, 4, (4, 4), 0.5),
              (1, 3, 4, 5, 4, (1, 1), 1.0)]
# (R, K, lam, scale of the scores)
LOSS_CASES = [(1, 2, 1.0, 1.0), (6, 3, 1.0, 1.0), (10, 5, 0.5, 1.0), (8, 4, 3.0, 1.0),
              (7, 3, 1.0, 1e3)]


def case_id(case):
    n, c, h, w, r, (ph, pw), s = case
    return f"N{n}-C{c}-H{h}-W{w}-R{r}-{ph}x{pw}-s{s:g}"


def rois_for(rng, case):
    """R RoIs in image coordinates (whole pixels): random ones inside the image, then in turn
    one on the border, one larger than the map, one partly off it, one wholly off, one
    malformed (x2 < x1), one smaller than a cell."""
    n, _, h, w, r, _, s = case
    height, width = h / s, w / s  # the image the feature map was computed from
    special = [[0, 0, width - 1, height - 1], [-3, -3, width + 4, height + 6],
               [width / 2, -2 / s, width + 3 / s, height / 2], [width + 2 / s, 1, width + 5 / s, 3],
               [5, 4, 2, 6], [1, 1, 1, 1]]
    rois = []
    for k in range(r):
        if k % 2 and special:
            box = special.pop(0)
        else:
            x1, y1 = rng.integers(0, int(width) - 1), rng.integers(0, int(height) - 1)
            box = [x1, y1, rng.integers(x1, int(width)), rng.integers(y1, int(height))]
        rois.append([rng.integers(0, n), *box])
    return np.array(rois, dtype=np.float64)


def pool_inputs(rng, case):
    n, c, h, w, _, size, s = case
    return rng.standard_normal((n, c, h, w)), rois_for(rng, case), size, s


def loss_inputs(rng, case):
    """scores, deltas, labels (every class, the background included, at least one positive),
    targets, lam; the regression errors spread over (-3, 3)."""
    r, k, lam, scale = case
    labels = rng.integers(0, k, r)
    labels[0] = rng.integers(1, k)
    return (scale * rng.standard_normal((r, k)), 1.5 * rng.standard_normal((r, 4 * k)), labels,
            1.5 * rng.standard_normal((r, 4)), lam)


# -- a5.roi_pool ------------------------------------------------------------------------------
@pytest.mark.task("a5.roi_pool")
@pytest.mark.points(6)
@pytest.mark.parametrize("case", POOL_CASES, ids=case_id)
def test_roi_pool_forward(student, ref, rng, case):
    """roi_pool_forward: out matches the reference (border, oversized, off-map, malformed RoIs)"""
    check_forward(student, ref, "roi_pool", *pool_inputs(rng, case))


@pytest.mark.task("a5.roi_pool")
@pytest.mark.points(6)
@pytest.mark.parametrize("case", POOL_CASES, ids=case_id)
def test_roi_pool_backward(student, ref, rng, case):
    """roi_pool_backward: dx matches the reference (gradients of shared cells add up)"""
    check_backward(student, ref, "roi_pool", pool_inputs(rng, case), ("dx",), rng)


# -- a5.detection_loss ------------------------------------------------------------------------
@pytest.mark.task("a5.detection_loss")
@pytest.mark.points(4)
@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: "R{}-K{}-lam{}-x{:g}".format(*c))
def test_detection_loss_forward(student, ref, rng, case):
    """detection_loss_forward: the loss matches the reference"""
    check_forward(student, ref, "detection_loss", *loss_inputs(rng, case))


@pytest.mark.task("a5.detection_loss")
@pytest.mark.points(5)
@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: "R{}-K{}-lam{}-x{:g}".format(*c))
def test_detection_loss_backward(student, ref, rng, case):
    """detection_loss_backward: dscores and ddeltas match the reference (dloss random)"""
    check_backward(student, ref, "detection_loss", loss_inputs(rng, case),
                   ("dscores", "ddeltas"), rng)
