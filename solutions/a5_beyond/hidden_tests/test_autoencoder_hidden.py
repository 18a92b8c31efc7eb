"""Hidden tests: the autoencoder and the VAE against the reference loaded with the same weights
(loss and every gradient, with the noise given; encode, decode, reconstruct), and their
training on the 1500 training digits, judged by the reference forward pass on the trained
weights: reconstruction error on the 297 validation digits below a threshold, and for the VAE
the KL term finite and small and the loss falling."""

import functools

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_params, expect_tuple, outputs
from solutions.a5_beyond import generative, nets

# name: (D, H, Z, N, variational)
CASES = {"ae": (6, 5, 2, 4, False), "vae": (7, 4, 3, 5, True), "vae-N1": (5, 3, 2, 1, True),
         "ae-N1": (4, 6, 3, 1, False)}


def build(student, ref, rng, case):
    D, H, Z, N, variational = CASES[case]
    model = student.new("VAE", D, H, Z, variational, seed=0)
    reference = ref.VAE(D, H, Z, variational, seed=0)
    check_params(student.attr(model, "params"), reference.params, "self.params after __init__")
    params = {k: (rng.standard_normal(v.shape) / np.sqrt(v.shape[0]) if k.startswith("W")
                  else 0.3 * rng.standard_normal(v.shape)) for k, v in reference.params.items()}
    student.method(model, "set_params", params)
    reference.set_params(params)
    return model, reference, rng.random((N, D)), rng.standard_normal((N, Z))


@pytest.mark.task("a5.autoencoder")
@pytest.mark.points(1)
@pytest.mark.parametrize("variational", [False, True], ids=["ae", "vae"])
def test_init(student, ref, variational):
    """VAE.__init__: keys (W_logvar only for the VAE), shapes, float64, N(0, 1/fan-in), biases 0"""
    params = student.attr(student.new("VAE", 64, 32, 8, variational, seed=2), "params")
    expected = ref.VAE(64, 32, 8, variational, seed=2).params
    check_params(params, expected, "self.params")
    for key, value in expected.items():
        got = params[key]
        if got.dtype != np.float64:
            raise Mismatch(f"self.params['{key}'] has dtype {got.dtype}; expected float64")
        if key.startswith("W"):
            std, mean, want = float(got.std()), float(got.mean()), 1 / np.sqrt(value.shape[0])
            if not (0.7 * want < std < 1.3 * want and abs(mean) < 5 * want / np.sqrt(got.size)):
                raise Mismatch(f"self.params['{key}'] has mean {mean:.3g} and std {std:.3g}; "
                               f"expected N(0, {want:.3g}**2)")
        else:
            check_array(f"self.params['{key}']", got, value)


@pytest.mark.task("a5.autoencoder")
@pytest.mark.points(4)
@pytest.mark.parametrize("case", list(CASES))
def test_loss_and_grads(student, ref, rng, case):
    """VAE.loss(x, eps): the loss and every gradient match (the KL's through mu and log_var)"""
    model, reference, x, eps = build(student, ref, rng, case)
    args = (x, eps) if CASES[case][-1] else (x,)
    loss, grads = expect_tuple(student.method(model, "loss", *args), ("loss", "grads"), "loss")
    expected_loss, expected_grads = reference.loss(*args)
    check_params(grads, reference.params, "grads")
    with outputs() as checks:
        with checks.part("loss"):
            check_array("loss", np.float64(loss), np.float64(expected_loss))
        for key, value in expected_grads.items():
            with checks.part(key):
                check_array(f"grads['{key}']", grads[key], value, rtol=1e-6, atol=1e-10)


@pytest.mark.task("a5.autoencoder")
@pytest.mark.points(1)
@pytest.mark.parametrize("case", list(CASES))
def test_encode_decode_reconstruct(student, ref, rng, case):
    """VAE.encode, decode and reconstruct match the reference"""
    model, reference, x, eps = build(student, ref, rng, case)
    mu, log_var = expect_tuple(student.method(model, "encode", x), ("mu", "log_var"), "encode")
    expected_mu, expected_log_var = reference.encode(x)
    with outputs() as checks:
        with checks.part("encode"):
            check_array("mu", mu, expected_mu)
            if expected_log_var is None:
                if log_var is not None:
                    raise Mismatch("the autoencoder's encode should return log_var None")
            else:
                check_array("log_var", log_var, expected_log_var)
        with checks.part("decode and reconstruct"):
            check_array("decode(z)", student.method(model, "decode", eps),
                        reference.decode(eps))
            check_array("reconstruct(x)", student.method(model, "reconstruct", x),
                        reference.reconstruct(x))


# -- the graded runs --------------------------------------------------------------------------
# train_vae's defaults (30 epochs, minibatches of 50, Adam at 3e-3) on the 1500 training digits
# from VAE(variational=...)'s defaults (H = 64, Z = 8), seed 0. Over seeds 0..9 the reference
# reconstructs the validation digits with a mean squared error per pixel of 0.015 to 0.017
# (autoencoder) and 0.029 to 0.031 (VAE), whose KL on them is 2.8 to 3.2 nats; the mean image
# scores 0.074; a VAE trained without the KL's gradients reconstructs like the autoencoder but
# its KL grows to about 75. tests/test_references_a5_models.py runs a few seeds.
GOALS = {False: 0.025, True: 0.045}
MAX_KL = 10.0


@functools.cache
def digits():
    return nets.load_digits()


@pytest.mark.task("a5.autoencoder")
@pytest.mark.points(5)
@pytest.mark.timeout(300)
@pytest.mark.parametrize("variational", [False, True], ids=["autoencoder", "vae"])
def test_training_reconstructs_the_digits(student, ref, variational):
    """train_vae: validation reconstruction error below the goal; the VAE's KL finite and small"""
    data = digits()
    model = student.new("VAE", variational=variational, seed=0)
    with student.timeout(120):
        losses = student.train_vae(model, data["X_train"], seed=0)
    reference = ref.VAE(variational=variational)
    params = student.attr(model, "params")
    check_params(params, reference.params, "self.params after train_vae")
    reference.set_params(params)
    X = data["X_val"]
    name = "VAE" if variational else "autoencoder"
    with outputs() as checks:
        with checks.part("losses"):
            steps = 30 * 1500 // 50
            if not isinstance(losses, (list, tuple, np.ndarray)) or len(losses) != steps:
                raise Mismatch(f"train_vae should return the {steps} minibatch losses (30 "
                               f"epochs of 30); got {losses!r:.200}")
            first, last = np.mean(losses[:30]), np.mean(losses[-30:])
            if not (np.isfinite(last) and last < 0.8 * first):
                raise Mismatch(f"the mean loss of the last epoch ({last:.4g}) is not below 0.8 "
                               f"times that of the first ({first:.4g})")
        with checks.part("reconstruction and KL"):  # a KL of 0 alone earns nothing
            error = float(np.mean((reference.reconstruct(X) - X) ** 2))
            if not error <= GOALS[variational]:
                raise Mismatch(f"the trained {name} reconstructs the validation digits with a "
                               f"mean squared error of {error:.4f} per pixel; expected at most "
                               f"{GOALS[variational]} (the reference: "
                               f"{'0.029 to 0.031' if variational else '0.015 to 0.017'}; the "
                               "mean image: 0.074)")
            if variational:
                kl = generative.gaussian_kl(*reference.encode(X))[0]
                if not (np.isfinite(kl) and kl <= MAX_KL):
                    raise Mismatch(f"the trained VAE's KL term on the validation digits is "
                                   f"{kl:.4g}; expected finite and at most {MAX_KL} (the "
                                   "reference: 2.8 to 3.2; without the KL's gradients it "
                                   "grows to about 75)")
