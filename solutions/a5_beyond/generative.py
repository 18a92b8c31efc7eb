"""A5 generative models: the GAN losses on the discriminator's logits (the original minimax
discriminator loss, the non-saturating generator loss, and the least-squares variants) and the
VAE's pieces (reparameterisation, the Gaussian KL term, the negative ELBO), each with its
gradients.

Expectations are means over the batch. D(x) = sigmoid(s) for a logit s; the log-likelihoods are
written with softplus(t) = log(1 + e^t), which never overflows:
log D(x) = -softplus(-s) and log(1 - D(x)) = -softplus(s).
"""
import numpy as np


def _softplus(t):
    """log(1 + exp(t)) for any t: max(t, 0) + log1p(exp(-|t|))."""
    return np.maximum(t, 0) + np.log1p(np.exp(-np.abs(t)))


def _sigmoid(t):
    """1 / (1 + exp(-t)), elementwise, without overflow for large |t|."""
    e = np.exp(-np.abs(t))
    return np.where(t >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def gan_discriminator_loss(real_logits, fake_logits):
    """The discriminator's loss -E[log D(x)] - E[log(1 - D(G(z)))] on logits:

        loss = mean(softplus(-real_logits)) + mean(softplus(fake_logits))

    (binary cross-entropy with target 1 for the real samples and 0 for the fakes), finite for
    logits of any size.

    Inputs:
    - real_logits: (N,) discriminator logits on real samples
    - fake_logits: (M,) discriminator logits on generated samples

    Returns (loss, dreal_logits, dfake_logits):
    - loss: float
    - dreal_logits: (N,) = (sigmoid(real_logits) - 1) / N
    - dfake_logits: (M,) = sigmoid(fake_logits) / M
    """
    loss = np.mean(_softplus(-real_logits)) + np.mean(_softplus(fake_logits))
    return (float(loss), (_sigmoid(real_logits) - 1) / len(real_logits),
            _sigmoid(fake_logits) / len(fake_logits))


def gan_generator_loss(fake_logits):
    """The non-saturating generator loss -E[log D(G(z))] = mean(softplus(-fake_logits)).

    The minimax game's own generator loss E[log(1 - D(G(z)))] saturates: when D rejects the
    fakes confidently (very negative logits) its gradient vanishes. This one has the same
    fixed point and a gradient near -1/M exactly there.

    Inputs:
    - fake_logits: (M,) discriminator logits on generated samples

    Returns (loss, dfake_logits):
    - loss: float
    - dfake_logits: (M,) = (sigmoid(fake_logits) - 1) / M
    """
    return float(np.mean(_softplus(-fake_logits))), (_sigmoid(fake_logits) - 1) / len(fake_logits)


def lsgan_discriminator_loss(real_scores, fake_scores):
    """The least-squares GAN's discriminator loss, on the raw scores (no sigmoid):

        loss = 0.5 * mean((real_scores - 1)**2) + 0.5 * mean(fake_scores**2)

    Inputs:
    - real_scores: (N,) discriminator scores on real samples
    - fake_scores: (M,) discriminator scores on generated samples

    Returns (loss, dreal_scores, dfake_scores):
    - loss: float
    - dreal_scores: (N,)
    - dfake_scores: (M,)
    """
    N, M = len(real_scores), len(fake_scores)
    loss = 0.5 * np.mean((real_scores - 1) ** 2) + 0.5 * np.mean(fake_scores ** 2)
    return float(loss), (real_scores - 1) / N, fake_scores / M


def lsgan_generator_loss(fake_scores):
    """The least-squares GAN's generator loss 0.5 * mean((fake_scores - 1)**2).

    Inputs:
    - fake_scores: (M,) discriminator scores on generated samples

    Returns (loss, dfake_scores):
    - loss: float
    - dfake_scores: (M,)
    """
    return float(0.5 * np.mean((fake_scores - 1) ** 2)), (fake_scores - 1) / len(fake_scores)


def reparameterize_forward(mu, log_var, eps):
    """The reparameterisation trick: z = mu + sigma * eps with sigma = exp(0.5 * log_var), so
    that z is a differentiable function of mu and log_var (the noise eps ~ N(0, I) is an input).

    Inputs:
    - mu: (N, Z) means of q(z | x)
    - log_var: (N, Z) log-variances of q(z | x)
    - eps: (N, Z) standard normal noise

    Returns (z, cache):
    - z: (N, Z)
    - cache: whatever reparameterize_backward needs
    """
    sigma = np.exp(0.5 * log_var)
    return mu + sigma * eps, (sigma, eps)


def reparameterize_backward(dz, cache):
    """Backward pass of reparameterize_forward: dmu = dz and, since d sigma / d log_var =
    0.5 * sigma, dlog_var = dz * eps * 0.5 * sigma. (eps is noise: no gradient.)

    Inputs:
    - dz: (N, Z) upstream gradient of z
    - cache: from reparameterize_forward

    Returns (dmu, dlog_var):
    - dmu: (N, Z)
    - dlog_var: (N, Z)
    """
    sigma, eps = cache
    return dz.copy(), dz * eps * 0.5 * sigma


def gaussian_kl(mu, log_var):
    """KL(N(mu, diag(exp(log_var))) || N(0, I)), summed over the Z latent dimensions and
    averaged over the batch:

        kl = -0.5 * sum(1 + log_var - mu**2 - exp(log_var)) / N

    Inputs:
    - mu: (N, Z)
    - log_var: (N, Z)

    Returns (kl, dmu, dlog_var):
    - kl: float, >= 0
    - dmu: (N, Z) = mu / N
    - dlog_var: (N, Z) = 0.5 * (exp(log_var) - 1) / N
    """
    N = mu.shape[0]
    var = np.exp(log_var)
    kl = -0.5 * np.sum(1 + log_var - mu ** 2 - var) / N
    return float(kl), mu / N, 0.5 * (var - 1) / N


def vae_loss(x, recon_logits, mu, log_var):
    """The VAE's loss, the negative ELBO, reconstruction + KL, both averaged over the batch.

    The reconstruction term is the Bernoulli negative log-likelihood of the pixels x (in
    [0, 1]) under the decoder's logits, summed over the D pixels:

        reconstruction = sum(softplus(recon_logits) - x * recon_logits) / N

    (binary cross-entropy on logits, finite for any logit), and KL is gaussian_kl(mu, log_var).
    The decoder ran on z from reparameterize_forward; its logits' gradient goes back through
    the decoder and then reparameterize_backward, and adds to the KL's dmu and dlog_var there.

    Inputs:
    - x: (N, D) data, each in [0, 1]
    - recon_logits: (N, D) the decoder's logits for x
    - mu: (N, Z), log_var: (N, Z) the encoder's q(z | x)

    Returns (loss, drecon_logits, dmu, dlog_var):
    - loss: float
    - drecon_logits: (N, D) = (sigmoid(recon_logits) - x) / N
    - dmu: (N, Z), dlog_var: (N, Z) the KL term's gradients
    """
    N = x.shape[0]
    reconstruction = np.sum(_softplus(recon_logits) - x * recon_logits) / N
    kl, dmu, dlog_var = gaussian_kl(mu, log_var)
    return float(reconstruction + kl), (_sigmoid(recon_logits) - x) / N, dmu, dlog_var
