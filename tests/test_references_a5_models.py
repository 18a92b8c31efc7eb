"""The A5 reference models: the detector's gradients against centred differences, and its graded
training run reaching the hidden test's thresholds with margin on a few seeds (the handout
states the spread over seeds 0..9)."""

import numpy as np
import pytest

from gradients import assert_grad
from solutions.a5_beyond import models, nets


def test_detector_gradients_match_centred_differences():
    rng = np.random.default_rng(0)
    model = models.TinyDetector(7, 5, 4, seed=1)
    model.set_params({k: rng.standard_normal(v.shape) * 0.5 for k, v in model.params.items()})
    x, labels = rng.random((6, 7)), np.array([0, 1, 2, 3, 1, 2])
    boxes = rng.uniform(-1.5, 1.5, (6, 4))
    _, grads = model.loss(x, labels, boxes, 2.0)
    for key, value in model.params.items():
        def f(v, key=key):
            saved = model.params[key]
            model.params[key] = v
            try:
                return model.loss(x, labels, boxes, 2.0)[0]
            finally:
                model.params[key] = saved
        assert_grad(key, grads[key], f, value.copy(), tol=1e-6)


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_detector_training_clears_the_thresholds(seed):
    data = nets.load_detection_data()
    model = models.TinyDetector(seed=seed)
    losses = models.train_detector(model, data["x_train"], data["labels_train"],
                                   data["boxes_train"], seed=seed)
    labels, boxes = model.predict(data["x_val"])
    accuracy = np.mean(labels == data["labels_val"])
    iou = np.mean(nets.box_iou(boxes, data["boxes_val"]))
    assert len(losses) == 600 and np.mean(losses[-60:]) < 0.7 * np.mean(losses[:60])
    assert accuracy >= 0.75 and iou >= 0.7  # the grade asks for 0.7 and 0.65


@pytest.mark.parametrize("variational", [False, True], ids=["ae", "vae"])
def test_vae_gradients_match_centred_differences(variational):
    rng = np.random.default_rng(1)
    model = models.VAE(6, 5, 3, variational, seed=2)
    model.set_params({k: rng.standard_normal(v.shape) * 0.5 for k, v in model.params.items()})
    x, eps = rng.random((4, 6)), rng.standard_normal((4, 3))
    args = (x, eps) if variational else (x,)
    _, grads = model.loss(*args)
    for key, value in model.params.items():
        def f(v, key=key):
            saved = model.params[key]
            model.params[key] = v
            try:
                return model.loss(*args)[0]
            finally:
                model.params[key] = saved
        assert_grad(key, grads[key], f, value.copy(), tol=1e-6)


@pytest.mark.parametrize("seed", [0, 5])
def test_autoencoder_and_vae_training_clear_the_thresholds(seed):
    from solutions.a5_beyond import generative

    data = nets.load_digits()
    X = data["X_val"]
    for variational, goal in ((False, 0.02), (True, 0.035)):  # the grade: 0.025 and 0.045
        model = models.VAE(variational=variational, seed=seed)
        losses = models.train_vae(model, data["X_train"], seed=seed)
        assert np.mean(losses[-30:]) < 0.8 * np.mean(losses[:30])
        assert np.mean((model.reconstruct(X) - X) ** 2) < goal
        if variational:
            assert 0 < generative.gaussian_kl(*model.encode(X))[0] < 5  # the grade: 10


@pytest.mark.parametrize("which", ["discriminator_loss", "generator_loss"])
def test_gan_gradients_match_centred_differences(which):
    rng = np.random.default_rng(2)
    model = models.TinyGAN(3, 5, seed=4)
    model.set_params({k: rng.standard_normal(v.shape) * 0.7 + (0.3 if "_b" in k else 0.0)
                      for k, v in model.params.items()})
    x, z = rng.standard_normal((4, 2)), rng.standard_normal((3, 3))
    args = (x, z) if which == "discriminator_loss" else (z,)
    _, grads = getattr(model, which)(*args)
    net = "D" if which == "discriminator_loss" else "G"
    assert sorted(grads) == sorted(k for k in model.params if k.startswith(net + "_"))
    for key in grads:
        def f(v, key=key):
            saved = model.params[key]
            model.params[key] = v
            try:
                return getattr(model, which)(*args)[0]
            finally:
                model.params[key] = saved
        assert_grad(key, grads[key], f, model.params[key].copy(), tol=1e-6)


def test_gan_logits_and_samples():
    model = models.TinyGAN(seed=0)
    z = np.random.default_rng(3).standard_normal((5, 2))
    assert model.generate(z).shape == (5, 2) and model.discriminate(model.generate(z)).shape == (5,)
    np.testing.assert_array_equal(model.sample(5, seed=3), model.generate(z))


@pytest.mark.parametrize("seed", [0, 7])
def test_gan_training_clears_the_thresholds(seed):
    model = models.TinyGAN(seed=seed)
    d_losses, g_losses = models.train_gan(model, nets.ring_of_gaussians(4000, 0), seed=seed)
    assert len(d_losses) == len(g_losses) == 4000 and np.all(np.isfinite(d_losses + g_losses))
    covered, quality, _ = nets.ring_scores(model.sample(2000, seed=12345))
    assert covered == 8 and quality > 0.6  # the grade: 6 and 0.4 (seeds 0 and 7: 0.67, 0.92)
