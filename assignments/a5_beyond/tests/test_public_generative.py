"""Public checks for A5's GAN and VAE pieces: the handout's worked examples, finite losses on
logits of size 1e3, and numerical gradients of your own losses and forward passes (on inputs
drawn from the run's --seed). Run them with `layerlab check a5`. The grade also uses hidden
tests against a reference implementation: real and fake batches of different sizes, N = 1,
log-variances far from 0, every output and gradient.
"""

import numpy as np
import pytest

from grader.compare import check_array, check_scalar, expect_tuple, outputs
from grader.numeric import check_against_numerical_gradients, check_numerical_gradient, \
    forward_first

LN2 = np.log(2.0)


def check_loss_gradients(student, func, args, names):
    """Each gradient ``func`` returns (after its loss) against the numerical gradient of its
    loss in the argument of the same position; each earns its share."""
    __tracebackhide__ = True
    got = expect_tuple(getattr(student, func)(*args), ("loss", *names), func)

    def losses(i, values):
        return student.many(func, [(*args[:i], v, *args[i + 1:]) for v in values], pick=0)

    with outputs() as checks:
        for i, name in enumerate(names):
            with checks.part(name):
                check_numerical_gradient(name, got[1 + i], None, args[i], func=func,
                                         wrt=name.removeprefix("d"),
                                         many=lambda values, i=i: losses(i, values))


def check_losses(student, func, args, expected, what):
    __tracebackhide__ = True
    got = expect_tuple(getattr(student, func)(*args), ("loss",) + ("grad",) * (len(args)), func)
    check_scalar(f"{func} loss {what}", got[0], expected)


# -- a5.gan_losses ----------------------------------------------------------------------------
def check_gan_examples(student):
    """Logits 0 (D = 1/2): L_D = 2 log 2, L_G = log 2; logits +-1e3, confidently right for D:
    L_D ~ 0 and L_G = 1000 (finite, no overflow)."""
    __tracebackhide__ = True
    zero, big = np.zeros(3), np.full(2, 1e3)
    check_losses(student, "gan_discriminator_loss", (zero, zero[:2]), 2 * LN2, "at logits 0")
    check_losses(student, "gan_generator_loss", (zero,), LN2, "at logits 0")
    check_losses(student, "gan_discriminator_loss", (big, -big), 0.0, "at logits +-1e3")
    check_losses(student, "gan_generator_loss", (-big,), 1e3, "at logits -1e3")


@pytest.mark.task("a5.gan_losses")
@pytest.mark.points(1)
def test_gan_losses_example(student):
    """gan_discriminator_loss, gan_generator_loss: the handout's examples (logits 0 and 1e3)"""
    check_gan_examples(student)


@pytest.mark.task("a5.gan_losses")
@pytest.mark.points(1)
def test_gan_losses_numerical(student, rng):
    """gan_discriminator_loss, gan_generator_loss: gradients agree with numerical gradients
    of your losses"""
    with forward_first("the GAN losses on the handout's examples"):
        check_gan_examples(student)
    real, fake = 2 * rng.standard_normal(4), 2 * rng.standard_normal(3)
    check_loss_gradients(student, "gan_discriminator_loss", (real, fake),
                         ("dreal_logits", "dfake_logits"))
    check_loss_gradients(student, "gan_generator_loss", (fake,), ("dfake_logits",))


# -- a5.lsgan ---------------------------------------------------------------------------------
def check_lsgan_examples(student):
    """D scores 1 on the real and 0 on the fakes: L_D = 0, L_G = 0.5; all scores 3:
    L_D = 0.5 * 4 + 0.5 * 9 = 6.5, L_G = 0.5 * 4 = 2."""
    __tracebackhide__ = True
    check_losses(student, "lsgan_discriminator_loss", (np.ones(3), np.zeros(2)), 0.0,
                 "for a perfect D")
    check_losses(student, "lsgan_generator_loss", (np.zeros(2),), 0.5, "for a perfect D")
    check_losses(student, "lsgan_discriminator_loss", (np.full(2, 3.0), np.full(4, 3.0)), 6.5,
                 "at scores 3")
    check_losses(student, "lsgan_generator_loss", (np.full(4, 3.0),), 2.0, "at scores 3")


@pytest.mark.task("a5.lsgan")
@pytest.mark.points(1)
def test_lsgan_example(student):
    """lsgan_discriminator_loss, lsgan_generator_loss: the handout's examples"""
    check_lsgan_examples(student)


@pytest.mark.task("a5.lsgan")
@pytest.mark.points(1)
def test_lsgan_numerical(student, rng):
    """lsgan_discriminator_loss, lsgan_generator_loss: gradients agree with numerical
    gradients of your losses"""
    with forward_first("the LSGAN losses on the handout's examples"):
        check_lsgan_examples(student)
    real, fake = rng.standard_normal(5), rng.standard_normal(2)
    check_loss_gradients(student, "lsgan_discriminator_loss", (real, fake),
                         ("dreal_scores", "dfake_scores"))
    check_loss_gradients(student, "lsgan_generator_loss", (fake,), ("dfake_scores",))


# -- a5.vae -----------------------------------------------------------------------------------
def check_vae_examples(student):
    """log_var = 2 log 2 makes sigma = 2: z = mu + 2 eps. KL of mu = 1, log_var = 0 (one
    sample, one dimension) is 0.5; of mu = 0, log_var = 0, 0. vae_loss at logits 0 on
    x = 1/2 (two samples of 3 pixels, q = N(0, 1)): 3 log 2 per sample, KL 0."""
    __tracebackhide__ = True
    mu, eps = np.array([[1.0, -1.0]]), np.array([[0.5, 2.0]])
    z, _ = student.forward("reparameterize_forward", mu, np.full((1, 2), 2 * LN2), eps)
    check_array("z", z, np.array([[2.0, 3.0]]))
    kl = expect_tuple(student.gaussian_kl(np.array([[1.0], [0.0]]), np.zeros((2, 1))),
                      ("kl", "dmu", "dlog_var"), "gaussian_kl")[0]
    check_scalar("kl (mean of 0.5 and 0)", kl, 0.25)
    loss = expect_tuple(student.vae_loss(np.full((2, 3), 0.5), np.zeros((2, 3)),
                                         np.zeros((2, 2)), np.zeros((2, 2))),
                        ("loss", "drecon_logits", "dmu", "dlog_var"), "vae_loss")[0]
    check_scalar("vae_loss", loss, 3 * LN2)


@pytest.mark.task("a5.vae")
@pytest.mark.points(1)
def test_vae_examples(student):
    """reparameterize_forward, gaussian_kl, vae_loss: the handout's examples"""
    check_vae_examples(student)


@pytest.mark.task("a5.vae")
@pytest.mark.points(2)
def test_vae_numerical(student, rng):
    """reparameterize_backward, gaussian_kl, vae_loss: gradients agree with numerical
    gradients of your own functions"""
    with forward_first("the VAE functions on the handout's examples"):
        check_vae_examples(student)
    mu, log_var = rng.standard_normal((3, 2)), rng.uniform(-2, 2, (3, 2))
    check_against_numerical_gradients(student, "reparameterize_forward", "reparameterize_backward",
                                      (mu, log_var, rng.standard_normal((3, 2))),
                                      ("dmu", "dlog_var"), rng.standard_normal((3, 2)))
    check_loss_gradients(student, "gaussian_kl", (mu, log_var), ("dmu", "dlog_var"))
    x, logits = rng.random((3, 4)), rng.standard_normal((3, 4))
    args = (x, logits, mu, log_var)
    got = expect_tuple(student.vae_loss(*args), ("loss", "drecon_logits", "dmu", "dlog_var"),
                       "vae_loss")
    with outputs() as checks:
        for i, name in ((1, "drecon_logits"), (2, "dmu"), (3, "dlog_var")):
            with checks.part(name):
                check_numerical_gradient(
                    name, got[i], None, args[i], func="vae_loss", wrt=name.removeprefix("d"),
                    many=lambda values, i=i: student.many(
                        "vae_loss", [(*args[:i], v, *args[i + 1:]) for v in values], pick=0))
