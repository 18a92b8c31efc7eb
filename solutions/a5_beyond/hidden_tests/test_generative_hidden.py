"""Hidden tests: the GAN and LSGAN losses, the VAE's reparameterisation, KL term and loss against
the reference, every output and every gradient.

Real and fake batches have different sizes (a mean taken over the wrong batch shows), N = 1
occurs, and the GAN losses also run on logits of size 1e3, where log(sigmoid) written
directly overflows. The VAE's log-variances range over (-3, 3), so sigma is far from 1 and
a factor 0.5 or a dropped sigma shows.
"""

import pytest

from grader.compare import Mismatch, check_array, check_backward, check_forward, check_scalar, \
    expect_tuple, outputs

# (N real, M fake, scale of the logits)
GAN_CASES = [(1, 3, 1.0), (5, 4, 2.0), (8, 11, 3.0), (6, 6, 1e3)]
# (N, Z, D)
VAE_SHAPES = [(2, 1, 3), (3, 4, 5), (5, 2, 7), (4, 6, 2)]


def gan_id(case):
    return "N{}-M{}-x{:g}".format(*case)


def vae_id(shape):
    return "N{}-Z{}-D{}".format(*shape)


def logits(rng, case):
    n, m, scale = case
    return scale * rng.standard_normal(n), scale * rng.standard_normal(m)


def latent(rng, n, z):
    """mu, log_var in (-3, 3) and eps of one sample."""
    return rng.standard_normal((n, z)), rng.uniform(-3, 3, (n, z)), rng.standard_normal((n, z))


def vae_inputs(rng, shape):
    n, z, d = shape
    mu, log_var, _ = latent(rng, n, z)
    return rng.random((n, d)), 2 * rng.standard_normal((n, d)), mu, log_var


def check_loss_outputs(student, ref, func, args, names):
    """``func(*args)`` returns (loss, grads...): each output against the reference's, each worth
    its share of the case."""
    __tracebackhide__ = True
    got = expect_tuple(getattr(student, func)(*args), names, func)
    expected = getattr(ref, func)(*args)
    with outputs() as checks:
        with checks.part(names[0]):
            check_scalar(names[0], got[0], expected[0])
        for name, g, e in zip(names[1:], got[1:], expected[1:], strict=True):
            with checks.part(name):
                check_array(name, g, e)


# -- a5.gan_losses ----------------------------------------------------------------------------
@pytest.mark.task("a5.gan_losses")
@pytest.mark.points(4)
@pytest.mark.parametrize("case", GAN_CASES, ids=gan_id)
def test_gan_discriminator_loss(student, ref, rng, case):
    """gan_discriminator_loss: loss, dreal_logits and dfake_logits match the reference"""
    check_loss_outputs(student, ref, "gan_discriminator_loss", logits(rng, case),
                       ("loss", "dreal_logits", "dfake_logits"))


@pytest.mark.task("a5.gan_losses")
@pytest.mark.points(4)
@pytest.mark.parametrize("case", GAN_CASES, ids=gan_id)
def test_gan_generator_loss(student, ref, rng, case):
    """gan_generator_loss: the non-saturating loss and dfake_logits match the reference"""
    _, fake = logits(rng, case)
    check_loss_outputs(student, ref, "gan_generator_loss", (fake,), ("loss", "dfake_logits"))


# -- a5.lsgan ---------------------------------------------------------------------------------
@pytest.mark.task("a5.lsgan")
@pytest.mark.points(3)
@pytest.mark.parametrize("case", GAN_CASES[:3], ids=gan_id)
def test_lsgan_discriminator_loss(student, ref, rng, case):
    """lsgan_discriminator_loss: loss, dreal_scores and dfake_scores match the reference"""
    check_loss_outputs(student, ref, "lsgan_discriminator_loss", logits(rng, case),
                       ("loss", "dreal_scores", "dfake_scores"))


@pytest.mark.task("a5.lsgan")
@pytest.mark.points(2)
@pytest.mark.parametrize("case", GAN_CASES[:3], ids=gan_id)
def test_lsgan_generator_loss(student, ref, rng, case):
    """lsgan_generator_loss: loss and dfake_scores match the reference"""
    _, fake = logits(rng, case)
    check_loss_outputs(student, ref, "lsgan_generator_loss", (fake,), ("loss", "dfake_scores"))


# -- a5.vae -----------------------------------------------------------------------------------
@pytest.mark.task("a5.vae")
@pytest.mark.points(2)
@pytest.mark.parametrize("shape", VAE_SHAPES, ids=vae_id)
def test_reparameterize_forward(student, ref, rng, shape):
    """reparameterize_forward: z = mu + exp(0.5 log_var) * eps matches the reference"""
    n, z, _ = shape
    check_forward(student, ref, "reparameterize", *latent(rng, n, z))


@pytest.mark.task("a5.vae")
@pytest.mark.points(3)
@pytest.mark.parametrize("shape", VAE_SHAPES, ids=vae_id)
def test_reparameterize_backward(student, ref, rng, shape):
    """reparameterize_backward: dmu and dlog_var match the reference (its forward first)"""
    n, z, _ = shape
    args = latent(rng, n, z)
    try:  # dmu = dz: a backward that returns its input would earn half without this
        check_forward(student, ref, "reparameterize", *args)
    except Mismatch as exc:
        raise Mismatch(f"the backward pass needs a correct forward first: {exc}") from None
    check_backward(student, ref, "reparameterize", args, ("dmu", "dlog_var"), rng)


@pytest.mark.task("a5.vae")
@pytest.mark.points(3)
@pytest.mark.parametrize("shape", VAE_SHAPES, ids=vae_id)
def test_gaussian_kl(student, ref, rng, shape):
    """gaussian_kl: kl, dmu and dlog_var match the reference"""
    n, z, _ = shape
    mu, log_var, _ = latent(rng, n, z)
    check_loss_outputs(student, ref, "gaussian_kl", (mu, log_var), ("kl", "dmu", "dlog_var"))


@pytest.mark.task("a5.vae")
@pytest.mark.points(3)
@pytest.mark.parametrize("shape", VAE_SHAPES, ids=vae_id)
def test_vae_loss(student, ref, rng, shape):
    """vae_loss: the negative ELBO and its four gradients match the reference"""
    check_loss_outputs(student, ref, "vae_loss", vae_inputs(rng, shape),
                       ("loss", "drecon_logits", "dmu", "dlog_var"))
