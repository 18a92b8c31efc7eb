"""Hidden tests: PCA, the three pairwise-distance functions and kNN prediction against the
reference.

The PCA data has distinct variances along random directions and a mean far from 0 (data that is
not centred shows), N < D as well as N > D. The distance data has some test rows equal to
training rows (distance 0). kNN runs on distances with ties (a training row repeated) and
votes with ties (k even), k = 1 and k = num_train - 1.
"""

import numpy as np
import pytest

from grader.compare import check_array, expect_tuple, outputs

# (N, D, K)
PCA_CASES = [(10, 3, 2), (6, 8, 3), (20, 5, 5), (4, 6, 1)]
# (num_test, num_train, D); D != num_train
DISTANCE_CASES = [(1, 2, 3), (4, 6, 3), (7, 5, 9), (3, 8, 2)]
# (num_test, num_train, classes, k)
KNN_CASES = [(5, 8, 3, 1), (6, 10, 4, 2), (7, 9, 3, 4), (4, 6, 2, 5), (8, 12, 5, 3)]


def pca_data(rng, n, d):
    """n rows of d features: distinct scales 1.0, 1.6, 2.56, ... along a random rotation,
    shifted by a mean of size ~5."""
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (rng.standard_normal((n, d)) * 1.6 ** np.arange(d)) @ q + 5 * rng.standard_normal(d)


def distance_inputs(rng, case):
    """X_test and X_train; the first test row repeats a training row."""
    num_test, num_train, d = case
    X_test, X_train = rng.standard_normal((num_test, d)), rng.standard_normal((num_train, d))
    X_test[0] = X_train[-1]
    return X_test, X_train


def knn_inputs(rng, case):
    """dists with repeated values (rounded to 0.1, training rows repeated), labels of every
    class, k."""
    num_test, num_train, classes, k = case
    dists = np.round(rng.uniform(0, 3, (num_test, num_train)), 1)
    dists[:, 1] = dists[:, 0]
    y = rng.permutation(np.arange(num_train) % classes)
    return dists, y, k


# -- a5.pca -----------------------------------------------------------------------------------
@pytest.mark.task("a5.pca")
@pytest.mark.points(5)
@pytest.mark.parametrize("case", PCA_CASES, ids=lambda c: "N{}-D{}-K{}".format(*c))
def test_pca_fit(student, ref, rng, case):
    """pca_fit: mean, components (sign-fixed) and explained_variance match the reference"""
    n, d, k = case
    X = pca_data(rng, n, d)
    names = ("mean", "components", "explained_variance")
    got = expect_tuple(student.pca_fit(X, k), names, "pca_fit")
    expected = ref.pca_fit(X, k)
    with outputs() as checks:
        for name, g, e in zip(names, got, expected, strict=True):
            with checks.part(name):
                check_array(name, g, e)


@pytest.mark.task("a5.pca")
@pytest.mark.points(2)
@pytest.mark.parametrize("case", PCA_CASES, ids=lambda c: "N{}-D{}-K{}".format(*c))
def test_pca_transform(student, ref, rng, case):
    """pca_transform: the projections match the reference (on the reference's components)"""
    n, d, k = case
    X = pca_data(rng, n, d)
    mean, components, _ = ref.pca_fit(X, k)
    new = pca_data(rng, 3, d)
    check_array("out", student.pca_transform(new, mean, components),
                ref.pca_transform(new, mean, components))


# -- a5.distances -----------------------------------------------------------------------------
def distance_test(form, points):
    @pytest.mark.task("a5.distances")
    @pytest.mark.points(points)
    @pytest.mark.parametrize("case", DISTANCE_CASES, ids=lambda c: "Nt{}-Ntr{}-D{}".format(*c))
    def test(student, ref, rng, case):
        X_test, X_train = distance_inputs(rng, case)
        name = f"compute_distances_{form}"
        # the no-loop form rounds differently near 0: absolute tolerance there
        check_array("dists", getattr(student, name)(X_test, X_train),
                    getattr(ref, name)(X_test, X_train), atol=1e-6)

    test.__doc__ = f"compute_distances_{form}: the Euclidean distances match the reference"
    return test


test_distances_two_loops = distance_test("two_loops", 2)
test_distances_one_loop = distance_test("one_loop", 2)
test_distances_no_loops = distance_test("no_loops", 3)


# -- a5.knn -----------------------------------------------------------------------------------
@pytest.mark.task("a5.knn")
@pytest.mark.points(5)
@pytest.mark.parametrize("case", KNN_CASES, ids=lambda c: "Nt{}-Ntr{}-C{}-k{}".format(*c))
def test_knn_predict(student, ref, rng, case):
    """knn_predict: the labels match the reference (equal distances, tied votes)"""
    args = knn_inputs(rng, case)
    while len(set(ref.knn_predict(*args))) < 2:  # one label everywhere proves little
        args = knn_inputs(rng, case)
    check_array("y_pred", student.knn_predict(*args), ref.knn_predict(*args))
