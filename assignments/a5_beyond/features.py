"""A5 features: principal component analysis by SVD, and k-nearest neighbours with the
pairwise Euclidean distances written three ways (two loops, one loop, no loops, as CS231n).

Tasks a5.pca, a5.distances, a5.knn and a5.knn_features. Replace each
`raise NotImplementedError(...)` with your implementation, using NumPy only. See README.md;
`layerlab check a5` runs the public checks.
"""
import numpy as np  # noqa: F401  (you will need it)


def pca_fit(X, num_components):
    """Principal components of the rows of X, by the SVD of the centred data.

    With Xc = X - mean and Xc = U S Vt, the components are the first num_components rows of
    Vt (the directions of largest variance, orthonormal) and the explained variance of each is
    S**2 / (N - 1), the sample variance along it (as sklearn's PCA). A component's sign is
    arbitrary, so each is flipped to make its entry of largest absolute value positive
    (the first such entry on a tie): then the result is unique.

    Inputs:
    - X: (N, D) data, N >= 2
    - num_components: int K <= min(N, D)

    Returns (mean, components, explained_variance):
    - mean: (D,)
    - components: (K, D), orthonormal rows, by decreasing variance
    - explained_variance: (K,)
    """
    raise NotImplementedError("a5.pca: implement pca_fit")


def pca_transform(X, mean, components):
    """Project the rows of X on the principal components: (X - mean) @ components.T.

    Inputs:
    - X: (N, D) data
    - mean: (D,) from pca_fit
    - components: (K, D) from pca_fit

    Returns:
    - out: (N, K) the coordinates of each row along the components
    """
    raise NotImplementedError("a5.pca: implement pca_transform")


def compute_distances_two_loops(X_test, X_train):
    """Euclidean distances between every test and every training row, with a loop over the test
    rows and one over the training rows: dists[i, j] = sqrt(sum((X_test[i] - X_train[j])**2)).

    Inputs:
    - X_test: (num_test, D)
    - X_train: (num_train, D)

    Returns:
    - dists: (num_test, num_train)
    """
    raise NotImplementedError("a5.distances: implement compute_distances_two_loops")


def compute_distances_one_loop(X_test, X_train):
    """The same distances with one loop, over the test rows (each row against all of X_train at
    once, by broadcasting).

    Inputs:
    - X_test: (num_test, D)
    - X_train: (num_train, D)

    Returns:
    - dists: (num_test, num_train)
    """
    raise NotImplementedError("a5.distances: implement compute_distances_one_loop")


def compute_distances_no_loops(X_test, X_train):
    """The same distances without a Python loop: expand ||a - b||**2 = ||a||**2 + ||b||**2 -
    2 a.b, so that the cross terms are one matrix product; rounding can make a tiny squared
    distance negative, so clip at 0 before the square root.

    Inputs:
    - X_test: (num_test, D)
    - X_train: (num_train, D)

    Returns:
    - dists: (num_test, num_train)
    """
    raise NotImplementedError("a5.distances: implement compute_distances_no_loops")


def knn_predict(dists, y_train, k=1):
    """k-nearest-neighbour labels: for each test row, the most common label among the k
    training rows nearest to it. The k nearest are the first k of a stable sort of the row of
    dists (equal distances: the lower training index first); a tie in the vote goes to the
    smallest label (as np.bincount(...).argmax() gives it).

    Inputs:
    - dists: (num_test, num_train) distances, e.g. from compute_distances_no_loops
    - y_train: (num_train,) int labels >= 0
    - k: int, 1 <= k <= num_train

    Returns:
    - y_pred: (num_test,) int64 predicted labels
    """
    raise NotImplementedError("a5.knn: implement knn_predict")


def knn_accuracies(train_raw, test_raw, train_features, test_features, y_train, y_test, k=1):
    """The notes' point made measurable: the accuracy of k-nearest-neighbour classification on
    raw pixels and on a trained network's features of the same images.

    For each representation: dists = compute_distances_no_loops(test, train), then
    knn_predict(dists, y_train, k), and the share of test rows whose prediction is y_test.

    Inputs:
    - train_raw: (num_train, D) training images; test_raw: (num_test, D) test images
    - train_features: (num_train, H), test_features: (num_test, H) the same images' features
      (e.g. TinyDetector.features)
    - y_train: (num_train,) int labels; y_test: (num_test,) int labels
    - k: the neighbours that vote

    Returns (raw_accuracy, feature_accuracy): two Python floats in [0, 1]
    """
    raise NotImplementedError("a5.knn_features: implement knn_accuracies")
