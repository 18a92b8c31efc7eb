"""Public checks for A5's models (tasks a5.detector, a5.autoencoder, a5.gan): the detector's
gradients against numerical ones of its own loss, and a short training run on canvases drawn
from the run's --seed; the same for the autoencoder and the VAE; the GAN's shapes and both of
its losses' gradients. Run them with `layerlab check a5 --task a5.detector`. The grade also
compares the loss, every gradient and the predictions with a reference, and trains the
detector for 10 epochs on 3000 canvases: validation accuracy at least 0.7 and mean IoU at
least 0.65 (the handout states the other models' goals).
"""

import numpy as np
import pytest

from assignments.a5_beyond import nets
from grader.compare import Mismatch, check_params, expect_tuple
from grader.numeric import check_numerical_gradient


def live_params(rng, like: dict) -> dict:
    """Random weights, and biases in [0.2, 0.8]: most ReLUs on, so that every weight moves the
    loss."""
    return {key: (rng.standard_normal(np.shape(v)) * 0.5 if "W" in key
                  else rng.uniform(0.2, 0.8, np.shape(v))) for key, v in like.items()}


@pytest.mark.task("a5.detector")
@pytest.mark.points(1)
def test_detector_gradients_are_numerical(student, rng):
    """TinyDetector.loss(x, labels, boxes, lam): every gradient against centred differences"""
    D, H, K, N = 6, 4, 3, 5
    model = student.new("TinyDetector", D, H, K, seed=int(rng.integers(1000)))
    params = student.attr(model, "params")
    params = live_params(rng, params)
    student.method(model, "set_params", params)
    x, labels = rng.random((N, D)), rng.integers(1, K, size=N)
    boxes = rng.uniform(-1.5, 1.5, (N, 4))
    _, grads = expect_tuple(student.method(model, "loss", x, labels, boxes, 2.0),
                            ("loss", "grads"), "loss(x, labels, boxes, lam)")
    check_params(grads, params, "grads")

    def losses_with(key, values):
        return student.many_methods(model, [[("set_params", ({**params, key: v},)),
                                             ("loss", (x, labels, boxes, 2.0))]
                                            for v in values], pick=0)

    for key, value in params.items():
        check_numerical_gradient(f"grads['{key}']", grads[key], None, value, func="loss",
                                 wrt=key, many=lambda values, key=key: losses_with(key, values))


@pytest.mark.task("a5.detector")
@pytest.mark.points(1)
@pytest.mark.timeout(120)
def test_short_training_learns(student, rng):
    """train_detector: 6 epochs on 1500 canvases; the loss falls and predict beats chance"""
    digits = nets.load_digits()
    seed = int(rng.integers(1000))
    x, labels, boxes = nets.make_canvases(digits["X_train"], digits["y_train"],
                                          nets.CANVAS, seed)
    model = student.new("TinyDetector", seed=seed)
    with student.timeout(60):
        losses = student.train_detector(model, x, labels, boxes, epochs=6, seed=seed)
    if len(losses) != 180 or not np.mean(losses[-30:]) < np.mean(losses[:30]):
        raise Mismatch(f"expected 180 minibatch losses, the last epoch's below the first's; "
                       f"got {np.round(np.asarray(losses, dtype=float)[::30], 3)} (every 30th)")
    xv, lv, bv = nets.make_canvases(digits["X_val"], digits["y_val"], nets.CANVAS, seed + 1)
    got_labels, got_boxes = expect_tuple(student.method(model, "predict", xv),
                                         ("labels", "boxes"), "predict")
    accuracy = float(np.mean(np.asarray(got_labels) == lv))
    iou = float(np.mean(nets.box_iou(np.asarray(got_boxes, dtype=float), bv)))
    if accuracy < 0.3 or iou < 0.5:
        raise Mismatch(f"after 6 epochs: accuracy {accuracy:.3f}, mean IoU {iou:.3f}; expected "
                       "at least 0.3 and 0.5 (the reference: 0.42 to 0.53 and 0.66 to 0.68)")


@pytest.mark.task("a5.knn_features")
@pytest.mark.points(1)
def test_knn_accuracies_on_separated_features(student, rng):
    """knn_accuracies: raw rows that are noise (the accuracy kNN gets on them), features that
    are each label's corner (accuracy 1)"""
    labels = np.arange(20) % 4
    y_train, y_test = labels, rng.permutation(labels)
    corners = np.eye(4) * 10
    f_train = corners[y_train] + rng.standard_normal((20, 4)) * 0.1
    f_test = corners[y_test] + rng.standard_normal((20, 4)) * 0.1
    raw_train, raw_test = rng.random((20, 6)), rng.random((20, 6))
    raw, features = expect_tuple(student.knn_accuracies(raw_train, raw_test, f_train, f_test,
                                                        y_train, y_test, 3),
                                 ("raw_accuracy", "feature_accuracy"), "knn_accuracies")
    if abs(features - 1.0) > 1e-12:
        raise Mismatch(f"feature_accuracy {features!r}; expected 1.0 (each test row's 3 nearest "
                       "features are of its own label)")
    dists = np.sqrt(((raw_test[:, None] - raw_train[None]) ** 2).sum(axis=2))
    nearest = y_train[np.argsort(dists, axis=1, kind="stable")[:, :3]]
    expected = np.mean([np.bincount(row).argmax() for row in nearest] == y_test)
    if abs(raw - expected) > 1e-12:
        raise Mismatch(f"raw_accuracy {raw!r}; expected {expected!r} (3-NN on the raw rows)")


@pytest.mark.task("a5.autoencoder")
@pytest.mark.points(1)
@pytest.mark.parametrize("variational", [False, True], ids=["autoencoder", "vae"])
def test_vae_gradients_are_numerical(student, rng, variational):
    """VAE.loss(x, eps): every gradient against centred differences (the noise held fixed)"""
    D, H, Z, N = 5, 6, 2, 4
    model = student.new("VAE", D, H, Z, variational, seed=int(rng.integers(1000)))
    params = live_params(rng, student.attr(model, "params"))
    student.method(model, "set_params", params)
    x, eps = rng.random((N, D)), rng.standard_normal((N, Z))
    args = (x, eps) if variational else (x,)
    _, grads = expect_tuple(student.method(model, "loss", *args), ("loss", "grads"), "loss")
    check_params(grads, params, "grads")

    def losses_with(key, values):
        return student.many_methods(model, [[("set_params", ({**params, key: v},)),
                                             ("loss", args)] for v in values], pick=0)

    for key, value in params.items():
        check_numerical_gradient(f"grads['{key}']", grads[key], None, value, func="loss",
                                 wrt=key, many=lambda values, key=key: losses_with(key, values))


@pytest.mark.task("a5.autoencoder")
@pytest.mark.points(1)
@pytest.mark.timeout(120)
def test_short_autoencoder_training(student, rng):
    """train_vae: 5 epochs of the autoencoder on 500 digits; the loss falls and reconstruct
    beats the mean image (the reference: about 0.05 against 0.074 per pixel)"""
    digits = nets.load_digits()
    seed = int(rng.integers(1000))
    X = digits["X_train"][:500]
    model = student.new("VAE", variational=False, seed=seed)
    with student.timeout(60):
        losses = student.train_vae(model, X, epochs=5, seed=seed)
    if len(losses) != 50 or not np.mean(losses[-10:]) < np.mean(losses[:10]):
        raise Mismatch(f"expected 50 minibatch losses, the last epoch's below the first's; got "
                       f"{np.round(np.asarray(losses, dtype=float)[::10], 2)} (every 10th)")
    X_val = digits["X_val"]
    error = float(np.mean((np.asarray(student.method(model, "reconstruct", X_val)) - X_val)
                          ** 2))
    baseline = float(np.mean((X.mean(axis=0) - X_val) ** 2))
    if not error < baseline:
        raise Mismatch(f"reconstruction error {error:.4f} per pixel after 5 epochs; expected "
                       f"below the mean image's {baseline:.4f}")


@pytest.mark.task("a5.gan")
@pytest.mark.points(2)
@pytest.mark.parametrize("which", ["discriminator_loss", "generator_loss"])
def test_gan_gradients_are_numerical(student, rng, which):
    """TinyGAN.discriminator_loss(x, z) and generator_loss(z): every gradient against centred
    differences of the same loss (after the shapes of generate, discriminate and sample, and
    each loss's grads holding its own net's six keys only)"""
    Z, H = 2, 4
    model = student.new("TinyGAN", Z, H, seed=int(rng.integers(1000)))
    params = live_params(rng, student.attr(model, "params"))
    student.method(model, "set_params", params)
    real, z = rng.standard_normal((5, 2)), rng.standard_normal((3, Z))
    for call, args, shape in (("generate", (z,), (3, 2)), ("discriminate", (real,), (5,)),
                              ("sample", (7,), (7, 2))):
        got = np.shape(student.method(model, call, *args))
        if got != shape:
            raise Mismatch(f"{call} returned shape {got}; expected {shape}")
    args = (real, z) if which == "discriminator_loss" else (z,)
    net = "D" if which == "discriminator_loss" else "G"
    _, grads = expect_tuple(student.method(model, which, *args), ("loss", "grads"), which)
    check_params(grads, {k: v for k, v in params.items() if k.startswith(net + "_")},
                 f"the grads of {which}")

    def losses_with(key, values):
        return student.many_methods(model, [[("set_params", ({**params, key: v},)),
                                             (which, args)] for v in values], pick=0)

    for key in grads:
        check_numerical_gradient(f"grads['{key}']", grads[key], None, params[key], func=which,
                                 wrt=key, many=lambda values, key=key: losses_with(key, values))
