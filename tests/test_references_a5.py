"""Reference solutions of A5 against numerical gradients, hand-computed values (the handout's
worked examples among them), definitions written out the slow way, and scikit-learn where its
semantics coincide (average precision, PCA).

torchvision (box_iou, nms, roi_pool) cannot be installed beside the torch 2.13 CPU build the
project pins, so the torch comparisons (tests/test_references_a5_torch.py) use torch's own ops
and the rest is checked here by hand.
"""
import itertools

import numpy as np
import pytest

from gradients import assert_grad  # tests/gradients.py
from solutions.a5_beyond import boxes, features, generative, roi

RNG = np.random.default_rng(5)


def random_boxes(rng, n, size=10.0):
    corner = rng.uniform(0, size, (n, 2))
    return np.hstack([corner, corner + rng.uniform(0.5, 4, (n, 2))])


# -- boxes ------------------------------------------------------------------------------------
def test_iou_by_hand():
    a = np.array([[0.0, 0.0, 2.0, 2.0]])
    others = np.array([[2.0, 0.0, 4.0, 2.0],   # shares an edge: 0
                       [2.0, 2.0, 3.0, 3.0],   # shares a corner: 0
                       [0.5, 0.5, 1.5, 1.5],   # inside: 1 / 4
                       [0.0, 0.0, 2.0, 2.0],   # equal: 1
                       [1.0, 1.0, 1.0, 1.0],   # a point: 0
                       [1.0, 1.0, 3.0, 2.5],   # overlap 1, union 6
                       [1.0, 0.0, 3.0, 2.0]])  # half: 2 / 6
    np.testing.assert_allclose(boxes.iou(a, others), [[0, 0, 0.25, 1, 0, 1 / 6, 1 / 3]])
    points = np.array([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 3.0]])
    assert np.array_equal(boxes.iou(points, points), np.zeros((2, 2)))  # no NaN


def test_iou_is_the_definition_pair_by_pair():
    a, b = random_boxes(RNG, 7), random_boxes(RNG, 5)
    for (i, p), (j, q) in itertools.product(enumerate(a), enumerate(b)):
        w = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
        h = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
        union = np.prod(p[2:] - p[:2]) + np.prod(q[2:] - q[:2]) - w * h
        assert boxes.iou(a, b)[i, j] == pytest.approx(w * h / union, rel=1e-12)


def brute_force_nms(b, scores, threshold):
    """The definition: a box is kept iff no kept box of higher rank overlaps it > threshold."""
    ranked = sorted(range(len(b)), key=lambda i: (-scores[i], i))
    kept = []
    for i in ranked:
        if all(boxes.iou(b[i:i + 1], b[k:k + 1])[0, 0] <= threshold for k in kept):
            kept.append(i)
    return kept


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.9])
def test_nms_against_the_definition(threshold):
    rng = np.random.default_rng(int(threshold * 10))
    b = random_boxes(rng, 30, size=8.0)
    scores = np.round(rng.random(30), 1)  # ties
    keep = boxes.nms(b, scores, threshold)
    assert keep.dtype == np.int64
    assert keep.tolist() == brute_force_nms(b, scores, threshold)


def test_nms_keeps_a_box_at_iou_equal_to_the_threshold_and_handles_no_boxes():
    pair = np.array([[0.0, 0.0, 3.0, 1.0], [1.0, 0.0, 4.0, 1.0]])  # IoU 2 / 4
    assert boxes.nms(pair, np.array([1.0, 2.0]), 0.5).tolist() == [1, 0]
    assert boxes.nms(pair, np.array([1.0, 2.0]), 0.49).tolist() == [1]
    empty = boxes.nms(np.zeros((0, 4)), np.zeros(0), 0.5)
    assert empty.shape == (0,) and empty.dtype == np.int64


def test_average_precision_worked_example():
    # ranked TP FP TP FP TP of 4 boxes: precisions 1, 2/3, 3/5 at the true positives
    scores = np.array([0.5, 0.9, 0.7, 0.6, 0.8])
    tp = np.array([True, True, True, False, False])
    assert boxes.average_precision(scores, tp, 4) == pytest.approx((1 + 2 / 3 + 3 / 5) / 4)
    # FP TP TP: interpolation lifts the first true positive's 1/2 to 2/3
    assert boxes.average_precision(np.array([3.0, 2.0, 1.0]), np.array([False, True, True]),
                                   2) == pytest.approx(2 / 3)
    assert boxes.average_precision(np.zeros(0), np.zeros(0, dtype=bool), 3) == 0.0


def test_average_precision_is_sklearns_where_the_docstring_says_they_agree():
    from sklearn.metrics import average_precision_score
    rng = np.random.default_rng(0)
    for _ in range(20):  # every ground truth detected, distinct scores, true positives first
        n_tp, n_fp = rng.integers(1, 6), rng.integers(0, 6)
        scores = rng.permutation(n_tp + n_fp) + 1.0
        tp = np.zeros(n_tp + n_fp, dtype=bool)
        tp[np.argsort(-scores)[:n_tp]] = True
        ours = boxes.average_precision(scores, tp, n_tp)
        assert ours == pytest.approx(average_precision_score(tp, scores)) == 1.0
    for _ in range(50):  # otherwise interpolation can only raise it
        scores, tp = rng.permutation(12) + 1.0, rng.random(12) < 0.5
        tp[0] = True
        theirs = average_precision_score(tp, scores)
        assert boxes.average_precision(scores, tp, int(tp.sum())) >= theirs - 1e-12
    # TP FP TP: the precisions at the true positives (1, 2/3) fall: equal
    scores, tp = np.array([3.0, 2.0, 1.0]), np.array([True, False, True])
    assert boxes.average_precision(scores, tp, 2) == pytest.approx(
        average_precision_score(tp, scores))


def test_mean_average_precision_worked_example_and_rules():
    gts = np.array([[0, 0, 0.0, 0.0, 2.0, 2.0], [1, 1, 0.0, 0.0, 4.0, 4.0],
                    [1, 1, 5.0, 5.0, 6.0, 6.0]])
    dets = np.array([[0, 0, 0.9, 0.0, 0.0, 2.0, 2.0], [0, 0, 0.8, 0.0, 0.0, 2.0, 2.0],
                     [1, 1, 0.7, 0.0, 0.0, 4.0, 2.0], [0, 1, 0.95, 0.0, 0.0, 4.0, 4.0],
                     [0, 2, 0.6, 0.0, 0.0, 1.0, 1.0]])
    assert boxes.mean_average_precision(dets, gts) == pytest.approx(0.625)
    # at 0.6 the IoU-0.5 detection no longer matches: class 1 has AP 0
    assert boxes.mean_average_precision(dets, gts, 0.6) == pytest.approx(0.5)
    # a detection whose best box is taken matches the next best one still free
    gts = np.array([[0, 0, 0.0, 0.0, 4.0, 4.0], [0, 0, 1.0, 0.0, 5.0, 4.0]])
    dets = np.array([[0, 0, 0.9, 0.0, 0.0, 4.0, 4.0], [0, 0, 0.8, 0.4, 0.0, 4.4, 4.0]])
    assert boxes.mean_average_precision(dets, gts) == pytest.approx(1.0)


# -- RoI pooling ------------------------------------------------------------------------------
def roi_pool_by_definition(x, rois, size, scale):
    """torchvision's CPU kernel, transcribed loop for loop (C's round, strict >)."""
    def c_round(v):
        return int(np.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)
    PH, PW = size
    _, C, H, W = x.shape
    out = np.zeros((len(rois), C, PH, PW))
    for r, (b, *corners) in enumerate(rois):
        x1, y1, x2, y2 = (c_round(v * scale) for v in corners)
        rh, rw = max(y2 - y1 + 1, 1), max(x2 - x1 + 1, 1)
        for ph, pw, c in itertools.product(range(PH), range(PW), range(C)):
            h0 = min(max(int(np.floor(ph * rh / PH)) + y1, 0), H)
            h1 = min(max(int(np.ceil((ph + 1) * rh / PH)) + y1, 0), H)
            w0 = min(max(int(np.floor(pw * rw / PW)) + x1, 0), W)
            w1 = min(max(int(np.ceil((pw + 1) * rw / PW)) + x1, 0), W)
            best = 0.0 if h1 <= h0 or w1 <= w0 else -np.inf
            for h, w in itertools.product(range(h0, h1), range(w0, w1)):
                best = max(best, x[int(b), c, h, w])
            out[r, c, ph, pw] = best
    return out


ROIS = np.array([[0, 0, 0, 11, 9], [1, 3, 3, 9, 9], [1, -4, -4, 20, 20], [0, 13, 1, 19, 7],
                 [1, 5, 4, 2, 6], [0, 1, 1, 1, 1], [1, 30, 30, 40, 40], [0, -3, 5, 7, 9]],
                dtype=np.float64)


@pytest.mark.parametrize("scale", [1.0, 0.5, 0.25])
@pytest.mark.parametrize("size", [(2, 2), (3, 2), (4, 5)])
def test_roi_pool_is_the_kernel_transcribed(scale, size):
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 7))
    out, _ = roi.roi_pool_forward(x, ROIS, size, scale)
    np.testing.assert_array_equal(out, roi_pool_by_definition(x, ROIS, size, scale))


def test_roi_pool_worked_example():
    x = np.arange(30.0).reshape(1, 1, 5, 6)
    out, _ = roi.roi_pool_forward(x, np.array([[0, 0, 0, 5, 4.0]]), (2, 2), 1.0)
    assert out[0, 0].tolist() == [[14.0, 17.0], [26.0, 29.0]]
    out, _ = roi.roi_pool_forward(x, np.array([[0, 1, 1, 5, 3.0]]), (2, 2), 0.5)  # halves
    assert out[0, 0].tolist() == [[8.0, 9.0], [14.0, 15.0]]
    out, _ = roi.roi_pool_forward(x, np.array([[0, 1, 1, 5, 3.0]]), 2, 0.5)  # one int
    assert out.shape == (1, 1, 2, 2)


def test_roi_pool_backward_numerically():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 7))
    out, cache = roi.roi_pool_forward(x, ROIS, (3, 2), 0.5)
    dout = rng.standard_normal(out.shape)
    assert_grad("dx", roi.roi_pool_backward(dout, cache),
                lambda v: np.sum(roi.roi_pool_forward(v, ROIS, (3, 2), 0.5)[0] * dout), x)


def test_roi_pool_backward_accumulates_a_cell_shared_by_bins():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0
    _, cache = roi.roi_pool_forward(x, np.array([[0, 1, 1, 1, 1.0]]), (3, 3), 1.0)
    dx = roi.roi_pool_backward(np.ones((1, 1, 3, 3)), cache)
    assert dx[0, 0, 1, 1] == 9.0 and dx.sum() == 9.0


# -- the detection loss -----------------------------------------------------------------------
def detection_args(rng, r=6, k=3, lam=0.7):
    labels = rng.integers(0, k, r)
    labels[0] = 1
    return (rng.standard_normal((r, k)), 1.5 * rng.standard_normal((r, 4 * k)), labels,
            1.5 * rng.standard_normal((r, 4)), lam)


def test_detection_loss_worked_example():
    targets = np.array([[9.0, 9.0, 9.0, 9.0], [1.0, 2.0, 3.0, 4.0]])
    deltas = np.zeros((2, 8))
    deltas[1, 4:] = targets[1] + [0.5, -2.0, 0.0, 0.0]
    loss, _ = roi.detection_loss_forward(np.zeros((2, 2)), deltas, np.array([0, 1]), targets,
                                         2.0)
    assert loss == pytest.approx(np.log(2) + 2.0 * (0.125 + 1.5) / 2)


def test_detection_loss_gradients_numerically():
    args = detection_args(np.random.default_rng(3))
    loss, cache = roi.detection_loss_forward(*args)
    dscores, ddeltas = roi.detection_loss_backward(2.5, cache)
    for i, (name, grad) in enumerate((("dscores", dscores), ("ddeltas", ddeltas))):
        assert_grad(name, grad, lambda v, i=i: 2.5 * roi.detection_loss_forward(
            *args[:i], v, *args[i + 1:])[0], args[i])
    assert np.all(ddeltas[args[2] == 0] == 0)  # the background regresses nothing


# -- GANs and VAEs ----------------------------------------------------------------------------
def assert_loss_grads(func, args, *, tol=1e-7):
    """Each gradient func returns after its loss against the numerical gradient of the loss."""
    _, *grads = func(*args)
    for i, grad in enumerate(grads):
        assert_grad(f"{func.__name__} d{i}", grad,
                    lambda v, i=i: func(*args[:i], v, *args[i + 1:])[0], args[i], tol=tol)


@pytest.mark.parametrize("func", [generative.gan_discriminator_loss,
                                  generative.lsgan_discriminator_loss])
def test_discriminator_losses_numerically(func):
    rng = np.random.default_rng(4)
    assert_loss_grads(func, (2 * rng.standard_normal(5), 2 * rng.standard_normal(3)))


@pytest.mark.parametrize("func", [generative.gan_generator_loss, generative.lsgan_generator_loss])
def test_generator_losses_numerically(func):
    assert_loss_grads(func, (2 * np.random.default_rng(5).standard_normal(4),))


def test_gan_losses_by_hand_and_for_huge_logits():
    assert generative.gan_discriminator_loss(np.zeros(3), np.zeros(2))[0] == \
        pytest.approx(2 * np.log(2))
    assert generative.gan_generator_loss(np.zeros(2))[0] == pytest.approx(np.log(2))
    big = np.array([1e3, -1e3])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # exp may underflow to 0
        loss, dreal, dfake = generative.gan_discriminator_loss(big, big)
        assert loss == pytest.approx((1e3 + 1e3) / 2)
        assert dreal.tolist() == [0.0, -0.5] and dfake.tolist() == [0.5, 0.0]
        assert generative.gan_generator_loss(big)[0] == pytest.approx(500.0)
    # non-saturating: where D rejects a fake confidently the gradient is -1/M, not ~0
    assert generative.gan_generator_loss(np.array([-20.0]))[1][0] == pytest.approx(-1.0)


def test_lsgan_by_hand():
    assert generative.lsgan_discriminator_loss(np.full(2, 3.0), np.full(4, 3.0))[0] == 6.5
    assert generative.lsgan_generator_loss(np.full(4, 3.0))[0] == 2.0


def test_reparameterisation_by_hand_and_numerically():
    rng = np.random.default_rng(6)
    z, _ = generative.reparameterize_forward(np.array([[1.0, -1.0]]),
                                             np.full((1, 2), 2 * np.log(2)),
                                             np.array([[0.5, 2.0]]))
    np.testing.assert_allclose(z, [[2.0, 3.0]])
    args = (rng.standard_normal((3, 4)), rng.uniform(-3, 3, (3, 4)), rng.standard_normal((3, 4)))
    z, cache = generative.reparameterize_forward(*args)
    dz = rng.standard_normal(z.shape)
    for i, grad in enumerate(generative.reparameterize_backward(dz, cache)):
        assert_grad(f"d{i}", grad, lambda v, i=i: np.sum(generative.reparameterize_forward(
            *args[:i], v, *args[i + 1:])[0] * dz), args[i])


def test_gaussian_kl_by_hand_numerically_and_against_a_monte_carlo_estimate():
    assert generative.gaussian_kl(np.array([[1.0], [0.0]]), np.zeros((2, 1)))[0] == 0.25
    rng = np.random.default_rng(7)
    mu, log_var = rng.standard_normal((3, 2)), rng.uniform(-2, 2, (3, 2))
    assert_loss_grads(generative.gaussian_kl, (mu, log_var))
    # KL = E_q[log q(z) - log p(z)], estimated from samples of q for the first row
    sigma = np.exp(0.5 * log_var[0])
    eps = np.random.default_rng(8).standard_normal((400_000, 2))
    zs = mu[0] + sigma * eps
    log_q = -0.5 * np.sum(eps ** 2 + log_var[0], axis=1)
    log_p = -0.5 * np.sum(zs ** 2, axis=1)
    kl_row = generative.gaussian_kl(mu[:1], log_var[:1])[0]
    assert np.mean(log_q - log_p) == pytest.approx(kl_row, abs=0.02)


def test_vae_loss_by_hand_and_numerically():
    loss = generative.vae_loss(np.full((2, 3), 0.5), np.zeros((2, 3)), np.zeros((2, 2)),
                               np.zeros((2, 2)))[0]
    assert loss == pytest.approx(3 * np.log(2))
    rng = np.random.default_rng(9)
    args = (rng.random((3, 5)), 2 * rng.standard_normal((3, 5)), rng.standard_normal((3, 2)),
            rng.uniform(-2, 2, (3, 2)))
    _, *grads = generative.vae_loss(*args)
    for i, grad in zip((1, 2, 3), grads, strict=True):
        assert_grad(f"d{i}", grad, lambda v, i=i: generative.vae_loss(
            *args[:i], v, *args[i + 1:])[0], args[i])


# -- PCA, distances, kNN ----------------------------------------------------------------------
def test_pca_worked_example():
    X = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    mean, components, variance = features.pca_fit(X, 1)
    np.testing.assert_allclose(mean, [1.5, 3.0])
    np.testing.assert_allclose(components, [[1 / np.sqrt(5), 2 / np.sqrt(5)]])
    np.testing.assert_allclose(variance, [25 / 3])
    np.testing.assert_allclose(features.pca_transform(-X, mean, components)[:, 0],
                               -np.sqrt(5) * np.array([1.5, 2.5, 3.5, 4.5]))


@pytest.mark.parametrize("shape", [(30, 5), (6, 9)])
def test_pca_is_sklearns_with_the_sign_rule(shape):
    from sklearn.decomposition import PCA
    rng = np.random.default_rng(10)
    X = rng.standard_normal(shape) * 1.5 ** np.arange(shape[1]) + 3.0
    k = min(shape) - 1
    mean, components, variance = features.pca_fit(X, k)
    theirs = PCA(k, svd_solver="full").fit(X)
    signs = np.sign(np.sum(components * theirs.components_, axis=1))  # their own sign rule
    np.testing.assert_allclose(components, signs[:, None] * theirs.components_, atol=1e-10)
    np.testing.assert_allclose(variance, theirs.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(mean, theirs.mean_)
    np.testing.assert_allclose(features.pca_transform(X, mean, components),
                               theirs.transform(X) * signs, atol=1e-9)
    largest = components[np.arange(k), np.abs(components).argmax(axis=1)]
    assert np.all(largest > 0)


def test_the_three_distances_agree_with_the_definition():
    rng = np.random.default_rng(11)
    X_test, X_train = rng.standard_normal((5, 4)), rng.standard_normal((7, 4))
    X_test[0] = X_train[3]
    expected = np.array([[np.linalg.norm(a - b) for b in X_train] for a in X_test])
    for form in ("two_loops", "one_loop", "no_loops"):
        got = getattr(features, f"compute_distances_{form}")(X_test, X_train)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-7, err_msg=form)
    assert not np.isnan(features.compute_distances_no_loops(X_train, X_train)).any()


def test_knn_predict_worked_example_and_ties():
    dists = np.array([[0.5, 2.0, 1.0, 3.0], [4.0, 1.0, 2.0, 0.5]])
    y = np.array([2, 0, 0, 1])
    assert features.knn_predict(dists, y, 1).tolist() == [2, 1]
    assert features.knn_predict(dists, y, 3).tolist() == [0, 0]
    assert features.knn_predict(dists, y, 2).tolist() == [0, 0]  # tied votes: smaller label
    # equal distances: the lower training index is nearer
    assert features.knn_predict(np.array([[1.0, 1.0, 2.0]]), np.array([3, 1, 1]), 1).tolist() \
        == [3]
    assert features.knn_predict(dists, y, 1).dtype == np.int64
