"""Public checks for A5's RoI pooling and detection loss: the handout's worked examples and
numerical gradients of your own forward passes (on inputs drawn from the run's --seed). Run
them with `layerlab check a5`. The grade also uses hidden tests against a reference
implementation: RoIs on the border, larger than the map, off it and malformed, corners at
exact halves, and every gradient.
"""

import numpy as np
import pytest

from grader.compare import check_array, check_scalar
from grader.numeric import check_against_numerical_gradients, forward_first

MAP = np.arange(30.0).reshape(1, 1, 5, 6)  # x[0, 0, h, w] = 6 h + w


def check_roi_pool_example(student):
    """The handout's map (6 h + w on 5 x 6): a 2 x 2 grid over the whole map (rows 0-2 | 2-4,
    cols 0-2 | 3-5: bins of 2.5 x 3 cells), and at scale 0.5 the RoI (1, 1, 5, 3), whose
    corners 0.5 and 2.5 round away from zero to 1 and 3."""
    __tracebackhide__ = True
    rois = np.array([[0, 0, 0, 5, 4], [0, 1, 1, 5, 3]], dtype=np.float64)
    out, _ = student.forward("roi_pool_forward", MAP, rois[:1], (2, 2), 1.0)
    check_array("out (the whole map)", out, np.array([[[[14.0, 17.0], [26.0, 29.0]]]]))
    out, _ = student.forward("roi_pool_forward", MAP, rois[1:], (2, 2), 0.5)
    # corners (1, 1) and (3, 2): rows 1-2, cols 1-3 (3 wide: bins cols 1-2 | 2-3)
    check_array("out (scale 0.5)", out, np.array([[[[8.0, 9.0], [14.0, 15.0]]]]))


@pytest.mark.task("a5.roi_pool")
@pytest.mark.points(1)
def test_roi_pool_example(student):
    """roi_pool_forward: the handout's worked example (bins by floor and ceil, C's round)"""
    check_roi_pool_example(student)


@pytest.mark.task("a5.roi_pool")
@pytest.mark.points(1)
def test_roi_pool_backward_numerical(student, rng):
    """roi_pool_backward: dx agrees with the numerical gradient of your forward"""
    with forward_first("roi_pool_forward on the handout's example"):
        check_roi_pool_example(student)
    x = rng.standard_normal((2, 2, 5, 6))
    rois = np.array([[0, 0, 0, 5, 4], [1, 1, 1, 3, 3], [1, 2, 0, 5, 2]], dtype=np.float64)
    check_against_numerical_gradients(student, "roi_pool_forward", "roi_pool_backward",
                                      (x, rois, (2, 3), 1.0), ("dx",),
                                      rng.standard_normal((3, 2, 2, 3)))


def check_detection_loss_example(student):
    """Two RoIs, two classes, zero scores: each cross-entropy is log 2; RoI 1 (class 1) misses
    its target by (0.5, -2, 0, 0): smooth-L1 0.125 + 1.5; both terms divided by R = 2."""
    __tracebackhide__ = True
    targets = np.array([[9.0, 9.0, 9.0, 9.0], [1.0, 2.0, 3.0, 4.0]])
    deltas = np.zeros((2, 8))
    deltas[1, 4:] = targets[1] + [0.5, -2.0, 0.0, 0.0]
    loss, _ = student.forward("detection_loss_forward", np.zeros((2, 2)), deltas,
                              np.array([0, 1]), targets, 2.0)
    check_scalar("loss", loss, np.log(2) + 2.0 * 1.625 / 2)


@pytest.mark.task("a5.detection_loss")
@pytest.mark.points(1)
def test_detection_loss_example(student):
    """detection_loss_forward: the handout's two RoIs (the background RoI regresses nothing)"""
    check_detection_loss_example(student)


@pytest.mark.task("a5.detection_loss")
@pytest.mark.points(1)
def test_detection_loss_backward_numerical(student, rng):
    """detection_loss_backward: dscores and ddeltas agree with numerical gradients of your
    forward"""
    with forward_first("detection_loss_forward on the handout's example"):
        check_detection_loss_example(student)
    labels = np.array([0, 1, 2, 2, 0])
    # box errors kept away from +-1, where smooth-L1 changes form
    deltas = rng.standard_normal((5, 12))
    targets = rng.standard_normal((5, 4))
    cols = 4 * labels[:, None] + np.arange(4)
    error = np.take_along_axis(deltas, cols, axis=1) - targets
    near = np.abs(np.abs(error) - 1) < 0.05
    targets[near] -= 0.2
    check_against_numerical_gradients(student, "detection_loss_forward",
                                      "detection_loss_backward",
                                      (rng.standard_normal((5, 3)), deltas, labels, targets, 0.7),
                                      ("dscores", "ddeltas"), np.float64(rng.uniform(0.5, 2)))


@pytest.mark.task("a5.detection_loss")
@pytest.mark.points(1)
def test_detection_loss_large_scores(student, rng):
    """detection_loss_forward: scores of size 1e3 give a finite loss (log-sum-exp shifted)"""
    scores = 1e3 * rng.standard_normal((4, 3))
    labels = np.array([1, 0, 2, 1])
    loss, _ = student.forward("detection_loss_forward", scores, np.zeros((4, 12)), labels,
                              np.zeros((4, 4)), 1.0)
    shifted = scores - scores.max(axis=1, keepdims=True)
    ce = np.mean(np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(4), labels])
    check_scalar("loss", loss, ce)
