"""Public checks for A5's boxes: IoU, NMS, average precision and mAP on the handout's worked
examples, and properties every correct answer has on random boxes (drawn from the run's
--seed). Run them with `layerlab check a5`. The grade also uses hidden tests against a
reference implementation: random boxes, touching, nested and zero-area boxes, equal scores,
thresholds met exactly, duplicate detections and classes without ground truth.
"""

import numpy as np
import pytest

from grader.compare import check_array, check_scalar

# The handout's boxes: 0 and 1 share an edge, 2 lies inside 0, 3 is a point, 4 overlaps 0
BOXES = np.array([[0.0, 0.0, 2.0, 2.0], [2.0, 0.0, 4.0, 2.0], [0.5, 0.5, 1.5, 1.5],
                  [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 3.0, 2.5]])


def random_boxes(rng, n):
    corner = rng.uniform(0, 10, (n, 2))
    return np.hstack([corner, corner + rng.uniform(0.5, 4, (n, 2))])


def shifted(boxes, fraction):
    """Each box moved right by ``fraction`` of its own width."""
    step = fraction * (boxes[:, 2] - boxes[:, 0])
    return boxes + np.stack([step, 0 * step, step, 0 * step], axis=1)


# -- a5.iou -----------------------------------------------------------------------------------
@pytest.mark.task("a5.iou")
@pytest.mark.points(1)
def test_iou_example(student):
    """iou: the handout's boxes (touching 0, nested 1/4, a point 0 without NaN, overlap 1/6)"""
    expected = np.array([[1.0, 0.0, 0.25, 0.0, 1 / 6], [0.0, 1.0, 0.0, 0.0, 1 / 6],
                         [0.25, 0.0, 1.0, 0.0, 0.25 / 3.75], [0.0, 0.0, 0.0, 0.0, 0.0],
                         [1 / 6, 1 / 6, 0.25 / 3.75, 0.0, 1.0]])
    check_array("out", student.iou(BOXES, BOXES), expected)


@pytest.mark.task("a5.iou")
@pytest.mark.points(1)
def test_iou_of_shifted_boxes(student, rng):
    """iou: a box and itself moved by half its width overlap 1/3, by its width 0; symmetric"""
    a = random_boxes(rng, 5)
    pairs = np.diag(student.iou(a, shifted(a, 0.5)))
    check_array("IoU of each box with itself moved by half its width", pairs, np.full(5, 1 / 3))
    check_array("IoU of each box with itself moved by its width",
                np.diag(student.iou(a, shifted(a, 1.0))), np.zeros(5))
    b = random_boxes(rng, 3)
    check_array("iou(b, a).T (against iou(a, b))", student.iou(b, a).T, student.iou(a, b))


# -- a5.nms -----------------------------------------------------------------------------------
@pytest.mark.task("a5.nms")
@pytest.mark.points(1)
def test_nms_example(student):
    """nms: the handout's four boxes keep [1, 3] at threshold 0.5, [1, 3, 2] at 0.7; equal
    scores go in index order"""
    boxes = np.array([[0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 4.0, 4.4], [5.0, 5.0, 7.0, 7.0],
                      [5.0, 5.0, 7.0, 8.0]])
    check_array("keep", student.nms(boxes, np.array([0.8, 0.9, 0.3, 0.5]), 0.5),
                np.array([1, 3], dtype=np.int64))
    check_array("keep", student.nms(boxes, np.array([0.8, 0.9, 0.3, 0.5]), 0.7),
                np.array([1, 3, 2], dtype=np.int64))
    check_array("keep (equal scores)", student.nms(boxes, np.ones(4), 0.5),
                np.array([0, 2], dtype=np.int64))


@pytest.mark.task("a5.nms")
@pytest.mark.points(1)
def test_nms_on_clusters_of_known_overlap(student, rng):
    """nms at 0.5 on clusters of a box O, O moved by 0.1 of its width (IoU 0.82) and by 0.5
    (IoU 1/3 with O, 3/7 with the other): of O and the first copy the lower score goes"""
    base = random_boxes(rng, 4) + 20 * np.arange(4)[:, None]  # far apart
    boxes = np.vstack([base, shifted(base, 0.1), shifted(base, 0.5)])
    scores = rng.permutation(len(boxes)) + 1.0
    lower = np.where(scores[:4] < scores[4:8], np.arange(4), np.arange(4, 8))
    kept = np.setdiff1d(np.arange(len(boxes)), lower)
    expected = kept[np.argsort(-scores[kept])].astype(np.int64)
    check_array("keep", student.nms(boxes, scores, 0.5), expected)


# -- a5.ap ------------------------------------------------------------------------------------
@pytest.mark.task("a5.ap")
@pytest.mark.points(1)
def test_average_precision_example(student):
    """average_precision: the handout's five detections, TP FP TP FP TP, of 4 boxes: 0.5667"""
    scores = np.array([0.5, 0.9, 0.7, 0.6, 0.8])  # ranked: 0.9 TP, 0.8 FP, 0.7 TP, 0.6 FP, 0.5 TP
    tp = np.array([True, True, True, False, False])
    check_scalar("ap", student.average_precision(scores, tp, 4), (1 + 2 / 3 + 3 / 5) / 4)


@pytest.mark.task("a5.ap")
@pytest.mark.points(1)
def test_average_precision_properties(student, rng):
    """average_precision: the order of the rows does not matter; n true positives ranked first
    give the recall n / ground truth; behind one false positive, interpolated, n**2 / (n + 1)
    / ground truth"""
    scores, tp = rng.permutation(10) / 10 + 0.05, rng.random(10) < 0.5
    tp[:2] = True, False
    g = int(tp.sum()) + 2
    perm = rng.permutation(10)
    check_scalar("ap of the shuffled rows", student.average_precision(scores[perm], tp[perm], g),
                 student.average_precision(scores, tp, g))
    ranked = np.where(tp, scores + 1, scores)
    check_scalar("ap, true positives first", student.average_precision(ranked, tp, g),
                 tp.sum() / g)
    first = ranked.copy()
    first[1] = 3.0
    n = int(tp.sum())
    check_scalar("ap, one false positive first", student.average_precision(first, tp, g),
                 n * n / (n + 1) / g)


# -- a5.map -----------------------------------------------------------------------------------
@pytest.mark.task("a5.map")
@pytest.mark.points(1)
def test_mean_average_precision_example(student):
    """mean_average_precision: the handout's two images and three classes, 0.625"""
    gts = np.array([[0, 0, 0.0, 0.0, 2.0, 2.0], [1, 1, 0.0, 0.0, 4.0, 4.0],
                    [1, 1, 5.0, 5.0, 6.0, 6.0]])
    dets = np.array([[0, 0, 0.9, 0.0, 0.0, 2.0, 2.0],   # class 0: a true positive
                     [0, 0, 0.8, 0.0, 0.0, 2.0, 2.0],   # its duplicate: a false positive
                     [1, 1, 0.7, 0.0, 0.0, 4.0, 2.0],   # class 1: IoU 0.5, a match
                     [0, 1, 0.95, 0.0, 0.0, 4.0, 4.0],  # class 1 in the wrong image
                     [0, 2, 0.6, 0.0, 0.0, 1.0, 1.0]])  # class 2 has no ground truth
    check_scalar("map", student.mean_average_precision(dets, gts, 0.5), (1.0 + 0.25) / 2)


@pytest.mark.task("a5.map")
@pytest.mark.points(1)
def test_mean_average_precision_perfect_and_misplaced(student, rng):
    """mean_average_precision: exact detections give 1, also with lower-scored duplicates;
    one class's detections moved to another image give that class 0"""
    boxes = random_boxes(rng, 6)
    gts = np.hstack([rng.integers(0, 3, (6, 1)), (np.arange(6) % 2)[:, None], boxes])
    dets = np.hstack([gts[:, :2], rng.random((6, 1)) + 1, boxes])
    check_scalar("map of exact detections", student.mean_average_precision(dets, gts), 1.0)
    duplicates = dets.copy()
    duplicates[:, 2] -= 1
    check_scalar("map with duplicates", student.mean_average_precision(
        np.vstack([dets, duplicates]), gts), 1.0)
    moved = dets.copy()
    moved[moved[:, 1] == 1, 0] += 10
    check_scalar("map with class 1 in other images", student.mean_average_precision(moved, gts),
                 0.5)
