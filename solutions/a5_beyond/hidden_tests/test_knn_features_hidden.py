"""Hidden tests: kNN on raw pixels versus on learned features (knn_accuracies). The images are
the detector's 12 x 12 canvases, the features the hidden layer of the reference TinyDetector
trained in the grader (train_detector's defaults, seed 0); the student's accuracies must be the
reference's, on few neighbours (300, k = 5) and many (3000, k = 1), and on random data with
tied votes (k even). Which representation wins is measured, not asserted: on these canvases
raw pixels win with 3000 neighbours (0.91 against 0.85 at k = 1) and the features with 300
(0.61 against 0.44 at k = 5), since a detector's features also keep the digit's place."""

import functools

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, expect_tuple
from solutions.a5_beyond import models, nets

CASES = {"300-neighbours-k5": (300, 5), "3000-neighbours-k1": (3000, 1)}


@functools.cache
def canvases_and_features():
    data = nets.load_detection_data()
    detector = models.TinyDetector(seed=0)
    models.train_detector(detector, data["x_train"], data["labels_train"], data["boxes_train"],
                          seed=0)
    return data, detector.features(data["x_train"]), detector.features(data["x_val"])


def check_accuracies(student, ref, args):
    __tracebackhide__ = True
    got = expect_tuple(student.knn_accuracies(*args), ("raw_accuracy", "feature_accuracy"),
                       "knn_accuracies")
    expected = ref.knn_accuracies(*args)
    for name, g in zip(("raw_accuracy", "feature_accuracy"), got, strict=True):
        if not isinstance(g, (float, int, np.floating)):
            raise Mismatch(f"{name} should be a float; got {type(g).__name__}")
    check_array("(raw_accuracy, feature_accuracy)", np.array(got, dtype=float),
                np.array(expected), atol=1e-12, rtol=0)


@pytest.mark.task("a5.knn_features")
@pytest.mark.points(4)
@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", list(CASES))
def test_raw_pixels_versus_learned_features(student, ref, case):
    """knn_accuracies: both accuracies on the canvases and the trained detector's features"""
    n, k = CASES[case]
    data, train_features, val_features = canvases_and_features()
    args = (data["x_train"][:n], data["x_val"], train_features[:n], val_features,
            data["labels_train"][:n], data["labels_val"], k)
    with student.timeout(60):
        check_accuracies(student, ref, args)


@pytest.mark.task("a5.knn_features")
@pytest.mark.points(1)
def test_tied_votes_on_random_data(student, ref, rng):
    """knn_accuracies: random data of 3 labels, k = 4 (tied votes), features of another width"""
    raw_train, raw_test = rng.random((30, 8)), rng.random((12, 8))
    f_train, f_test = rng.random((30, 3)), rng.random((12, 3))
    y_train, y_test = rng.integers(0, 3, 30), rng.integers(0, 3, 12)
    check_accuracies(student, ref, (raw_train, raw_test, f_train, f_test, y_train, y_test, 4))
