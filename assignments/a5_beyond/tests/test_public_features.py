"""Public checks for A5's features: PCA, the three distance functions and kNN on the handout's
worked examples, and properties every correct answer has on random data (drawn from the run's
--seed). Run them with `layerlab check a5`. The grade also uses hidden tests against a
reference implementation: data with a mean far from 0, N < D, tied distances and tied votes.
"""

import numpy as np
import pytest

from grader.compare import check_array, expect_tuple

DISTANCES = ("compute_distances_two_loops", "compute_distances_one_loop",
             "compute_distances_no_loops")


# -- a5.pca -----------------------------------------------------------------------------------
@pytest.mark.task("a5.pca")
@pytest.mark.points(1)
def test_pca_example(student):
    """pca_fit, pca_transform: points on the line y = 2x (one component (1, 2) / sqrt 5,
    variance 25 / 3), and a point off it"""
    X = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    mean, components, variance = expect_tuple(student.pca_fit(X, 1),
                                              ("mean", "components", "explained_variance"),
                                              "pca_fit")
    check_array("mean", mean, np.array([1.5, 3.0]))
    check_array("components", components, np.array([[1.0, 2.0]]) / np.sqrt(5))
    check_array("explained_variance", variance, np.array([25 / 3]))
    check_array("pca_transform", student.pca_transform(np.array([[1.5, 3.0], [2.5, 5.0],
                                                                 [3.5, 2.0]]), mean, components),
                np.array([[0.0], [np.sqrt(5)], [0.0]]))


@pytest.mark.task("a5.pca")
@pytest.mark.points(1)
def test_pca_properties(student, rng):
    """pca_fit: orthonormal components, each with its largest entry positive; the variances
    decrease and are those of the projected data"""
    X = rng.standard_normal((12, 4)) * np.array([3.0, 2.0, 1.0, 0.5]) + 4.0
    mean, components, variance = expect_tuple(student.pca_fit(X, 3),
                                              ("mean", "components", "explained_variance"),
                                              "pca_fit")
    check_array("components @ components.T", components @ components.T, np.eye(3))
    largest = components[np.arange(3), np.abs(components).argmax(axis=1)]
    check_array("each component's entry of largest |value| (the sign rule)", largest > 0,
                np.ones(3, dtype=bool))
    projected = student.pca_transform(X, mean, components)
    check_array("explained_variance (the projections' sample variance)", variance,
                projected.var(axis=0, ddof=1))
    check_array("explained_variance sorted", np.sort(variance)[::-1], variance)


# -- a5.distances -----------------------------------------------------------------------------
@pytest.mark.task("a5.distances")
@pytest.mark.points(1)
def test_distances_example(student):
    """the three distance functions: the handout's 3-4-5 example"""
    X_test = np.array([[0.0, 0.0], [3.0, 4.0]])
    X_train = np.array([[3.0, 4.0], [0.0, 0.0], [6.0, 8.0]])
    for name in DISTANCES:
        check_array(name, getattr(student, name)(X_test, X_train),
                    np.array([[5.0, 0.0, 10.0], [0.0, 5.0, 5.0]]), atol=1e-7)


@pytest.mark.task("a5.distances")
@pytest.mark.points(1)
def test_distances_agree_and_shift(student, rng):
    """the three distance functions agree; each test row moved by a vector of length 5 is at
    distance 5 from where it was"""
    X_test = rng.standard_normal((4, 6))
    step = rng.standard_normal(6)
    X_train = np.vstack([X_test + 5 * step / np.linalg.norm(step), rng.standard_normal((3, 6))])
    first = student.compute_distances_two_loops(X_test, X_train)
    check_array("compute_distances_two_loops, moved rows", np.diag(first[:, :4]), np.full(4, 5.0))
    for name in DISTANCES[1:]:
        check_array(f"{name} (against your two-loop form)",
                    getattr(student, name)(X_test, X_train), first, atol=1e-7)


# -- a5.knn -----------------------------------------------------------------------------------
@pytest.mark.task("a5.knn")
@pytest.mark.points(1)
def test_knn_example(student):
    """knn_predict: the handout's distances, k = 1, 3, and 2 (a tied vote: the smaller label)"""
    dists = np.array([[0.5, 2.0, 1.0, 3.0], [4.0, 1.0, 2.0, 0.5]])
    y_train = np.array([2, 0, 0, 1])
    for k, expected in ((1, [2, 1]), (3, [0, 0]), (2, [0, 0])):
        check_array(f"y_pred (k = {k})", student.knn_predict(dists, y_train, k),
                    np.array(expected, dtype=np.int64))


@pytest.mark.task("a5.knn")
@pytest.mark.points(1)
def test_knn_nearest_label(student, rng):
    """knn_predict with k = 1: each test row gets the label of its nearest training row"""
    dists = rng.uniform(1, 2, (6, 9))
    nearest = rng.integers(0, 9, 6)
    dists[np.arange(6), nearest] = 0.1
    y_train = rng.integers(0, 4, 9)
    check_array("y_pred", student.knn_predict(dists, y_train, 1), y_train[nearest])
