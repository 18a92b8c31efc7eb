"""Hidden tests: IoU, NMS, average precision and mean average precision against the reference.

The boxes are drawn at random, plus scenes built to hold the edge cases: boxes that touch
(an edge or a corner), contain one another, coincide, or have zero area (a point, a segment);
equal scores (ties broken by the lower index); an IoU exactly at the threshold (NMS keeps the
box, a match takes it); duplicate detections of one object; ground truth no detection finds; a
class with detections but no ground truth; a class with ground truth but no detection.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_scalar

# (M, K) for iou; no case has K = 4
IOU_SHAPES = [(1, 1), (3, 5), (6, 2), (5, 7)]
# Hand-placed boxes: touching, nested, equal, zero-area, apart, overlapping
EDGE_BOXES = np.array([
    [0.0, 0.0, 2.0, 2.0],   # 0
    [2.0, 0.0, 4.0, 2.0],   # 1: shares an edge with 0
    [2.0, 2.0, 3.0, 3.0],   # 2: shares a corner with 0
    [0.5, 0.5, 1.5, 1.5],   # 3: inside 0
    [0.0, 0.0, 2.0, 2.0],   # 4: equal to 0
    [1.0, 1.0, 1.0, 1.0],   # 5: a point inside 0 (zero area)
    [1.0, 0.0, 1.0, 2.0],   # 6: a segment across 0 (zero area)
    [5.0, 5.0, 6.0, 7.0],   # 7: apart from all
    [1.0, 1.0, 3.0, 2.5],   # 8: overlaps 0, 1 and 2
])
# (number of boxes, iou_threshold)
NMS_CASES = [(6, 0.5), (12, 0.3), (15, 0.7), (20, 0.5)]
# (number of detections, number of ground-truth boxes)
AP_CASES = [(1, 2), (5, 3), (12, 6), (30, 10), (30, 25)]


def random_boxes(rng, n, size=10.0, extent=(0.5, 5.0)):
    """n boxes with corners in [0, size) and sides in ``extent``."""
    corner = rng.uniform(0, size, (n, 2))
    return np.hstack([corner, corner + rng.uniform(*extent, (n, 2))])


def shifted_edge_boxes(rng):
    """EDGE_BOXES moved by a whole number (the touching stays exact) and shuffled."""
    boxes = EDGE_BOXES + rng.integers(-5, 6, 2).repeat(2)[[0, 2, 1, 3]]
    return boxes[rng.permutation(len(boxes))]


def nms_inputs(rng, n, threshold):
    """Clusters of jittered boxes around a few centres, distinct scores."""
    centres = random_boxes(rng, max(2, n // 4), size=20.0, extent=(2.0, 6.0))
    boxes = centres[rng.integers(0, len(centres), n)] + rng.normal(0, 0.6, (n, 4))
    boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2])
    return boxes, rng.permutation(n) / n + 0.01, threshold


def nms_edge_inputs(rng, threshold):
    """The edge boxes and a pair of IoU exactly 0.5, distinct scores."""
    boxes = np.vstack([shifted_edge_boxes(rng), [[0.0, 10.0, 3.0, 11.0], [1.0, 10.0, 4.0, 11.0]]])
    return boxes, rng.permutation(len(boxes)) + 1.0, threshold


def ap_inputs(rng, d, g):
    """d detections of random scores (some equal, rounded to 1/10) and true-positive flags:
    at least one, and fewer than g, the number of ground-truth boxes (some are missed)."""
    scores = np.round(rng.random(d), 1)
    tp = np.zeros(d, dtype=bool)
    tp[rng.permutation(d)[:rng.integers(1, min(d, g - 1) + 1)]] = True
    if tp.all() and d > 1:
        tp[rng.integers(d)] = False
    return scores, tp, g


def scene(rng, images=3, classes=3):
    """A detection problem: ground truth per image and class, detections that are jittered
    copies (good ones, poor ones, duplicates), wrong-class and random boxes, a class (the last)
    with detections only, and a class with ground truth only (class ``classes``)."""
    gts, dets = [], []
    for image in range(images):
        for cls in range(classes - 1):
            for box in random_boxes(rng, int(rng.integers(1, 4)), size=30.0, extent=(3.0, 8.0)):
                gts.append([image, cls, *box])
                for scale, copies in ((0.3, 1), (0.3, int(rng.integers(0, 2))),
                                      (2.0, int(rng.integers(0, 2)))):
                    for _ in range(copies):
                        dets.append([image, cls, rng.random(), *(box + rng.normal(0, scale, 4))])
        for box in random_boxes(rng, 2, size=30.0):
            dets.append([image, int(rng.integers(0, classes)), rng.random(), *box])
    gts.append([0, classes, 1.0, 1.0, 4.0, 4.0])
    dets, gts = np.array(dets), np.array(gts)
    dets[:, 5:] = np.maximum(dets[:, 5:], dets[:, 3:5] + 0.1)
    return dets, gts


def two_ground_truths_scene():
    """Two overlapping ground-truth boxes; the first detection takes the first box, the second
    detection overlaps that one most but the other one enough: it matches the other one. A
    third detection has IoU exactly 0.5 with a third box; a fourth duplicates the first; the
    highest score is a false positive. AP = 0.75."""
    gts = np.array([[0, 0, 0.0, 0.0, 4.0, 4.0], [0, 0, 1.0, 0.0, 5.0, 4.0],
                    [1, 0, 0.0, 0.0, 2.0, 1.0]])
    dets = np.array([[0, 0, 0.9, 0.0, 0.0, 4.0, 4.0], [0, 0, 0.8, 0.4, 0.0, 4.4, 4.0],
                     [1, 0, 0.7, 0.0, 0.0, 1.0, 1.0], [0, 0, 0.6, 0.1, 0.0, 4.1, 4.0],
                     [1, 0, 0.95, 6.0, 6.0, 7.0, 7.0]])
    return dets, gts


# -- a5.iou -----------------------------------------------------------------------------------
@pytest.mark.task("a5.iou")
@pytest.mark.points(4)
@pytest.mark.parametrize("shape", IOU_SHAPES, ids=lambda s: "M{}-K{}".format(*s))
def test_iou_random_boxes(student, ref, rng, shape):
    """iou: the (M, K) matrix matches the reference on random boxes"""
    m, k = shape
    a, b = random_boxes(rng, m, 4.0), random_boxes(rng, k, 4.0)
    check_array("out", student.iou(a, b), ref.iou(a, b))


@pytest.mark.task("a5.iou")
@pytest.mark.points(4)
@pytest.mark.parametrize("case", range(3))
def test_iou_edge_cases(student, ref, rng, case):
    """iou: touching boxes (0), nested, equal (1) and zero-area boxes (0, no NaN)"""
    boxes = shifted_edge_boxes(rng)
    other = boxes[rng.permutation(len(boxes))[:5]]
    check_array("out", student.iou(boxes, other), ref.iou(boxes, other))


# -- a5.nms -----------------------------------------------------------------------------------
@pytest.mark.task("a5.nms")
@pytest.mark.points(5)
@pytest.mark.parametrize("case", NMS_CASES, ids=lambda c: f"B{c[0]}-t{c[1]}")
def test_nms_random_clusters(student, ref, rng, case):
    """nms: the kept indices, by descending score, match the reference"""
    args = nms_inputs(rng, *case)
    check_array("keep", student.nms(*args), ref.nms(*args))


@pytest.mark.task("a5.nms")
@pytest.mark.points(2)
@pytest.mark.parametrize("case", NMS_CASES[:3], ids=lambda c: f"B{c[0]}-t{c[1]}")
def test_nms_equal_scores(student, ref, rng, case):
    """nms with scores in three values only: equal scores go in index order"""
    boxes, _, threshold = nms_inputs(rng, *case)
    scores = rng.integers(0, 3, len(boxes)) / 2.0
    check_array("keep", student.nms(boxes, scores, threshold),
                ref.nms(boxes, scores, threshold))


@pytest.mark.task("a5.nms")
@pytest.mark.points(2)
@pytest.mark.parametrize("threshold", [0.5, 0.2])
def test_nms_edge_cases(student, ref, rng, threshold):
    """nms on touching, nested and zero-area boxes, one pair at IoU exactly 0.5 (kept)"""
    args = nms_edge_inputs(rng, threshold)
    check_array("keep", student.nms(*args), ref.nms(*args))


# -- a5.ap ------------------------------------------------------------------------------------
@pytest.mark.task("a5.ap")
@pytest.mark.points(5)
@pytest.mark.parametrize("case", AP_CASES, ids=lambda c: f"D{c[0]}-G{c[1]}")
def test_average_precision(student, ref, rng, case):
    """average_precision: all-point interpolated AP matches the reference (equal scores,
    missed ground truth)"""
    args = ap_inputs(rng, *case)
    check_scalar("ap", student.average_precision(*args), ref.average_precision(*args))


@pytest.mark.task("a5.ap")
@pytest.mark.points(2)
@pytest.mark.parametrize("case", range(2))
def test_average_precision_edge_cases(student, ref, rng, case):
    """average_precision with no detections, no true positive, and a false positive first"""
    g = int(rng.integers(2, 5))
    calls = [(np.zeros(0), np.zeros(0, dtype=bool), g),
             (rng.random(4), np.zeros(4, dtype=bool), g),
             (np.array([0.9, 0.8, 0.7]), np.array([False, True, True]), g)]
    for args in calls:
        check_scalar("ap", student.average_precision(*args), ref.average_precision(*args))


# -- a5.map -----------------------------------------------------------------------------------
@pytest.mark.task("a5.map")
@pytest.mark.points(6)
@pytest.mark.parametrize("threshold", [0.5, 0.75, 0.5], ids=["t0.5", "t0.75", "t0.5-more"])
def test_mean_average_precision_scenes(student, ref, rng, threshold):
    """mean_average_precision on generated scenes (duplicates, missed boxes, wrong classes, a
    class without ground truth) matches the reference"""
    dets, gts = scene(rng)
    got = student.mean_average_precision(dets, gts, threshold)
    check_scalar("map", got, ref.mean_average_precision(dets, gts, threshold))


@pytest.mark.task("a5.map")
@pytest.mark.points(3)
@pytest.mark.parametrize("order", ["as built", "shuffled"])
def test_mean_average_precision_matching_rule(student, ref, rng, order):
    """mean_average_precision: a detection takes the unmatched box of highest IoU, IoU = 0.5
    matches, a duplicate is a false positive (the rows' order does not matter)"""
    dets, gts = two_ground_truths_scene()
    if order == "shuffled":
        dets, gts = dets[rng.permutation(len(dets))], gts[rng.permutation(len(gts))]
    got = student.mean_average_precision(dets, gts, 0.5)
    expected = ref.mean_average_precision(dets, gts, 0.5)
    if not np.isclose(expected, 0.75):
        raise Mismatch(f"the grader's scene changed: the reference mAP is {expected}")
    check_scalar("map", got, expected)
