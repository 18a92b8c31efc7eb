"""A5 models trained with your pieces: a tiny single-object detector on digits pasted on a
canvas (task a5.detector), an autoencoder and a VAE of the digits (task a5.autoencoder), and a
tiny GAN of a ring of Gaussians (task a5.gan).

The layers (affine, ReLU), Adam and the data are given in nets.py; the losses are yours: the
detector's is your roi.detection_loss_forward / detection_loss_backward (task
a5.detection_loss), the VAE's your generative.reparameterize_forward / _backward and vae_loss
(task a5.vae), the GAN's your generative.gan_discriminator_loss and gan_generator_loss (task
a5.gan_losses). Call them through their modules (roi.detection_loss_forward(...)).

Replace each `raise NotImplementedError(...)` with your implementation, using NumPy only. See
README.md; `layerlab check a5 --task a5.detector` runs the public checks.
"""
import numpy as np  # noqa: F401  (you will need it)

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import generative, nets, roi
except ImportError:
    import generative, nets, roi  # noqa: E401,F401 - the flat twin of the import above

LAMBDA = 10.0  # the weight of the box term: the boxes are in [0, 1], their errors small


class TinyDetector:
    """One object per image: affine - ReLU - two heads on the same hidden layer,
    class scores (N, K) = h @ W_cls + b_cls and box deltas (N, 4K) = h @ W_box + b_box,
    trained with the multitask loss roi.detection_loss_forward(scores, deltas, labels, boxes,
    lam) (every image is a positive RoI: its label is the digit + 1, its target its box).

    self.params holds 'W1' (D, H), 'b1' (H,), 'W_cls' (H, K), 'b_cls' (K,), 'W_box' (H, 4K),
    'b_box' (4K,), with D = input_dim, H = hidden_dim and K = num_classes (class 0 is the
    background, which the data never uses).
    """

    def __init__(self, input_dim=144, hidden_dim=64, num_classes=11, *, seed=None):
        """Initialise the parameters with rng = np.random.default_rng(seed): W1 ~
        N(0, 2 / input_dim) (He), W_cls and W_box ~ N(0, 1 / hidden_dim), every bias zero, all
        float64. The order of the draws is free.

        Inputs:
        - input_dim: D, the pixels of an image (nets.CANVAS ** 2 = 144)
        - hidden_dim: H, the width of the hidden layer
        - num_classes: K, the classes with the background (11 for the digits)
        - seed: seeds the initialisation
        """
        raise NotImplementedError("a5.detector: implement __init__")

    def set_params(self, params):
        """Replace self.params by copies of the given arrays (the grader loads known weights).

        Inputs:
        - params: dict with the same keys and shapes as self.params
        """
        raise NotImplementedError("a5.detector: implement set_params")

    def features(self, x):
        """The hidden layer relu(x @ W1 + b1) (N, H): what both heads read (and what kNN on
        learned features uses).

        Inputs:
        - x: (N, D) images

        Returns:
        - h: (N, H)
        """
        raise NotImplementedError("a5.detector: implement features")

    def loss(self, x, labels=None, boxes=None, lam=LAMBDA):
        """The heads' outputs, or the multitask loss and its gradients.

        Inputs:
        - x: (N, D) images
        - labels: (N,) int classes (the digit + 1), or None
        - boxes: (N, 4) target boxes (x1, y1, x2, y2) in [0, 1]; given with labels
        - lam: the weight of the box term of roi.detection_loss_forward

        Returns:
        - if labels is None: (scores, deltas), (N, K) and (N, 4K)
        - else (loss, grads): loss a Python float, your detection_loss_forward's; grads a dict
          with the keys of self.params, each gradient of its parameter's shape
        """
        raise NotImplementedError("a5.detector: implement loss")

    def predict(self, x):
        """The class and box of the one object in each image.

        The class is the highest-scoring one but the background (argmax of scores[:, 1:],
        plus 1), the box that class's 4 deltas.

        Inputs:
        - x: (N, D) images

        Returns (labels, boxes):
        - labels: (N,) int64, each >= 1
        - boxes: (N, 4)
        """
        raise NotImplementedError("a5.detector: implement predict")


def train_detector(model, x, labels, boxes, *, epochs=10, batch_size=50, learning_rate=1e-2,
                   lam=LAMBDA, seed=0, on_step=None):
    """Train model.params in place with Adam; return the loss of every minibatch.

    The minibatches are nets.minibatches(N, batch_size, epochs, rng) with rng =
    np.random.default_rng(seed); each step is loss, grads = model.loss(x[idx], labels[idx],
    boxes[idx], lam), then nets.adam_step(model.params, grads, configs, learning_rate) (one
    dict of Adam configs for the whole run).

    With the defaults, TinyDetector(seed=s) trained on nets.load_detection_data()'s 3000
    training canvases classifies 0.77 to 0.83 of the 297 validation canvases right, with a mean
    IoU of 0.71 to 0.75, for s in 0..9, in about a second (the grade asks for 0.7 and 0.65).

    Inputs:
    - model: a TinyDetector (anything with .params and .loss(x, labels, boxes, lam))
    - x: (N, D) images; labels: (N,) classes; boxes: (N, 4) boxes
    - epochs, batch_size, learning_rate: the run; lam: the box term's weight
    - seed: seeds the order of the minibatches
    - on_step: None or a function of (step, loss), called after every step

    Returns:
    - losses: list of Python floats, the loss of each minibatch
    """
    raise NotImplementedError("a5.detector: implement train_detector")


class VAE:
    """An autoencoder (variational=False) or a variational autoencoder of the digits.

    Encoder: h = relu(x @ W1 + b1), mu = h @ W_mu + b_mu and, for the VAE,
    log_var = h @ W_logvar + b_logvar. The code is z = mu for the autoencoder and, for the
    VAE, your generative.reparameterize_forward(mu, log_var, eps). Decoder:
    g = relu(z @ W2 + b2), logits = g @ W3 + b3, the pixels' Bernoulli logits.
    The autoencoder's loss is nets.bernoulli_nll(x, logits); the VAE's is your
    generative.vae_loss(x, logits, mu, log_var) (reconstruction + KL), whose dmu and dlog_var
    (the KL term's) add to what comes back through reparameterize_backward.

    self.params holds 'W1' (D, H), 'b1' (H,), 'W_mu' (H, Z), 'b_mu' (Z,), for the VAE
    'W_logvar' (H, Z), 'b_logvar' (Z,), then 'W2' (Z, H), 'b2' (H,), 'W3' (H, D), 'b3' (D,).
    """

    def __init__(self, input_dim=64, hidden_dim=64, latent_dim=8, variational=True, *,
                 seed=None):
        """Initialise the parameters with rng = np.random.default_rng(seed): every W ~
        N(0, 1 / fan-in) (fan-in: its number of rows), every bias zero, all float64. The order
        of the draws is free; self.variational keeps the flag.

        Inputs:
        - input_dim: D, the pixels (64)
        - hidden_dim: H, the width of both hidden layers
        - latent_dim: Z, the size of the code
        - variational: True for the VAE, False for the autoencoder
        - seed: seeds the initialisation
        """
        raise NotImplementedError("a5.autoencoder: implement __init__")

    def set_params(self, params):
        """Replace self.params by copies of the given arrays (the grader loads known weights).

        Inputs:
        - params: dict with the same keys and shapes as self.params
        """
        raise NotImplementedError("a5.autoencoder: implement set_params")

    def encode(self, x):
        """q(z | x): (mu, log_var), each (N, Z); log_var is None for the autoencoder.

        Inputs:
        - x: (N, D) images in [0, 1]
        """
        raise NotImplementedError("a5.autoencoder: implement encode")

    def decode(self, z):
        """The pixels' probabilities sigmoid(logits) (N, D) for codes z (N, Z): to draw a VAE
        sample, decode z ~ N(0, I).

        Inputs:
        - z: (N, Z) codes
        """
        raise NotImplementedError("a5.autoencoder: implement decode")

    def reconstruct(self, x):
        """decode(mu): each image through the encoder's mean and back (no noise), (N, D).

        Inputs:
        - x: (N, D) images in [0, 1]
        """
        raise NotImplementedError("a5.autoencoder: implement reconstruct")

    def loss(self, x, eps=None):
        """The loss and its gradients.

        Inputs:
        - x: (N, D) images in [0, 1]
        - eps: (N, Z) standard normal noise for the VAE's reparameterisation (None for the
          autoencoder)

        Returns (loss, grads): loss a Python float (the autoencoder's nets.bernoulli_nll, the
        VAE's vae_loss), grads a dict with the keys of self.params.
        """
        raise NotImplementedError("a5.autoencoder: implement loss")


def train_vae(model, X, *, epochs=30, batch_size=50, learning_rate=3e-3, seed=0,
              on_step=None):
    """Train model.params in place with Adam; return the loss of every minibatch.

    With rng = np.random.default_rng(seed), the minibatches are
    nets.minibatches(N, batch_size, epochs, rng); for the VAE each step first draws its noise
    eps = rng.standard_normal((len(idx), Z)) (after the minibatch's indices), then
    loss, grads = model.loss(X[idx], eps) (model.loss(X[idx]) for the autoencoder) and
    nets.adam_step(model.params, grads, configs, learning_rate).

    Inputs:
    - model: a VAE (autoencoder or variational)
    - X: (N, D) images in [0, 1]
    - epochs, batch_size, learning_rate: the run; seed: seeds the minibatches and the noise
    - on_step: None or a function of (step, loss), called after every step

    Returns:
    - losses: list of Python floats, the loss of each minibatch
    """
    raise NotImplementedError("a5.autoencoder: implement train_vae")


class TinyGAN:
    """A GAN of 2-D points: a generator and a discriminator, each affine - ReLU - affine - ReLU
    - affine, trained against each other with your generative.gan_discriminator_loss and the
    non-saturating generative.gan_generator_loss.

    Generator G: noise z (N, Z) -> relu(z @ G_W1 + G_b1) -> relu(. @ G_W2 + G_b2) ->
    . @ G_W3 + G_b3, points (N, 2). Discriminator D: points x (N, 2) -> relu(x @ D_W1 + D_b1)
    -> relu(. @ D_W2 + D_b2) -> . @ D_W3 + D_b3, one logit per point, returned as (N,).

    self.params holds 'G_W1' (Z, H), 'G_b1' (H,), 'G_W2' (H, H), 'G_b2' (H,), 'G_W3' (H, 2),
    'G_b3' (2,), 'D_W1' (2, H), 'D_b1' (H,), 'D_W2' (H, H), 'D_b2' (H,), 'D_W3' (H, 1),
    'D_b3' (1,), with Z = noise_dim and H = hidden_dim.
    """

    def __init__(self, noise_dim=2, hidden_dim=64, *, seed=None):
        """Initialise the parameters with rng = np.random.default_rng(seed): every W ~
        N(0, 2 / fan-in) (He; fan-in: its number of rows), every bias zero, all float64. The
        order of the draws is free.

        Inputs:
        - noise_dim: Z, the size of the generator's input noise
        - hidden_dim: H, the width of the four hidden layers
        - seed: seeds the initialisation
        """
        raise NotImplementedError("a5.gan: implement __init__")

    def set_params(self, params):
        """Replace self.params by copies of the given arrays (the grader loads known weights).

        Inputs:
        - params: dict with the same keys and shapes as self.params
        """
        raise NotImplementedError("a5.gan: implement set_params")

    def generate(self, z):
        """The generator's points G(z) (N, 2) for noise z (N, Z)."""
        raise NotImplementedError("a5.gan: implement generate")

    def discriminate(self, x):
        """The discriminator's logits (N,) for points x (N, 2)."""
        raise NotImplementedError("a5.gan: implement discriminate")

    def discriminator_loss(self, x, z):
        """The discriminator's loss and its gradients: real points x against the fakes G(z)
        (held fixed: no gradient reaches the generator).

        Inputs:
        - x: (N, 2) real points
        - z: (M, Z) noise for the fakes

        Returns (loss, grads): loss a Python float, your gan_discriminator_loss of
        D's logits on x and on G(z); grads a dict with the discriminator's six keys only
        ('D_W1' ... 'D_b3'), each the sum of what the real and the fake batch give.
        """
        raise NotImplementedError("a5.gan: implement discriminator_loss")

    def generator_loss(self, z):
        """The non-saturating generator loss and its gradients, back through the discriminator
        (whose parameters stay as they are) into the generator.

        Inputs:
        - z: (M, Z) noise

        Returns (loss, grads): loss a Python float, your gan_generator_loss of D's logits on
        G(z); grads a dict with the generator's six keys only ('G_W1' ... 'G_b3').
        """
        raise NotImplementedError("a5.gan: implement generator_loss")

    def sample(self, n, seed=None):
        """n points (n, 2) of the generator: generate(z) for
        z = np.random.default_rng(seed).standard_normal((n, Z)).

        Inputs:
        - n: the number of points
        - seed: seeds the noise
        """
        raise NotImplementedError("a5.gan: implement sample")


def train_gan(model, X, *, epochs=200, batch_size=200, learning_rate=1e-3, beta1=0.5, seed=0,
              on_step=None):
    """Train model.params in place, the discriminator and the generator in turn, with Adam;
    return the two losses of every step.

    With rng = np.random.default_rng(seed), the minibatches of real points are
    nets.minibatches(N, batch_size, epochs, rng). Each step, for a minibatch idx:
    1. the discriminator: z = rng.standard_normal((len(idx), Z)), d_loss, grads =
       model.discriminator_loss(X[idx], z), then nets.adam_step(model.params, grads, configs,
       learning_rate, beta1);
    2. the generator, on new noise: z = rng.standard_normal((len(idx), Z)), g_loss, grads =
       model.generator_loss(z), then nets.adam_step(model.params, grads, configs,
       learning_rate, beta1).
    One dict of Adam configs serves the whole run (the two nets' keys differ).

    With the defaults, TinyGAN(seed=s) trained on nets.ring_of_gaussians(4000, 0) covers 6
    to 8 of the 8 modes (all 8 for 30 of s in 0..39) with 0.55 to 0.93 of its samples within
    0.15 of a mode, in about 5 seconds (the grade asks for 6 modes and 0.4).

    Inputs:
    - model: a TinyGAN
    - X: (N, 2) real points (nets.ring_of_gaussians)
    - epochs, batch_size, learning_rate, beta1: the run (Adam's beta1 0.5, as GANs use)
    - seed: seeds the minibatches and the noise
    - on_step: None or a function of (step, d_loss, g_loss), called after every step

    Returns (d_losses, g_losses):
    - two lists of Python floats, the discriminator's and the generator's loss of each step
    """
    raise NotImplementedError("a5.gan: implement train_gan")
