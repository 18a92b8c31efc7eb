"""A4 MLP-Mixer (Tolstikhin et al., 2021): the Mixer block (task a4.mixer_block), a tiny Mixer
classifier (a4.mixer) and its training on the digits (a4.mixer_training, with vit.py's
train_classifier).

No attention: a token-mixing MLP mixes the patches (the same MLP for every feature, across
the P patches) and a channel-mixing MLP mixes the features (the same MLP for every patch,
across the D features). Call your layers through their modules: transformer_layers'
layernorm_forward and ffn_forward (an FFN over the last axis: transpose to mix the other), and
vit's patchify_forward and patch_embedding_forward. Replace each `raise NotImplementedError(...)`
with your implementation, using NumPy only. See README.md; `layerlab check a4` runs the public
checks.
"""
import numpy as np  # noqa: F401  (you will need it)

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import training, transformer_layers, vit
except ImportError:
    import training, transformer_layers, vit  # noqa: E401,F401 - the flat twin of the import above

MIXER_KEYS = ("gamma1", "beta1", "W_tok1", "b_tok1", "W_tok2", "b_tok2",
              "gamma2", "beta2", "W_ch1", "b_ch1", "W_ch2", "b_ch2")


def mixer_block_forward(x, params, block_param):
    """One Mixer block, pre-norm with two residuals:

        u   = LN1(x)                                              (N, P, D)
        a   = x + TokenMLP(u^T)^T       TokenMLP acts on each row of u^T (N, D, P): across the
                                        P patches, W_tok1 (P, S), W_tok2 (S, P)
        out = a + ChannelMLP(LN2(a))    ChannelMLP acts on each patch: across the D features,
                                        W_ch1 (D, C), W_ch2 (C, D)

    where ^T swaps the last two axes and each MLP is your ffn_forward,
    act(z @ W1 + b1) @ W2 + b2.

    Inputs:
    - x: (N, P, D) patch tokens
    - params: dict with keys
      - 'gamma1', 'beta1', 'gamma2', 'beta2': (D,) the two layer norms'
      - 'W_tok1': (P, S), 'b_tok1': (S,), 'W_tok2': (S, P), 'b_tok2': (P,): the token MLP's
      - 'W_ch1': (D, C), 'b_ch1': (C,), 'W_ch2': (C, D), 'b_ch2': (D,): the channel MLP's
    - block_param: dict with keys
      - activation: both MLPs', 'gelu' (default, the paper's) or 'relu'
      - eps: the layer norms' eps, 1e-5 if absent

    Returns (out, cache):
    - out: (N, P, D)
    - cache: whatever mixer_block_backward needs
    """
    raise NotImplementedError("a4.mixer_block: implement mixer_block_forward")


def mixer_block_backward(dout, cache):
    """Backward pass of mixer_block_forward: each residual passes its gradient through
    unchanged and adds its MLP's; the token MLP's gradient is transposed back.

    Inputs:
    - dout: (N, P, D) upstream gradient
    - cache: from mixer_block_forward

    Returns (dx, grads):
    - dx: (N, P, D)
    - grads: dict with the keys of params, each the shape of its parameter
    """
    raise NotImplementedError("a4.mixer_block: implement mixer_block_backward")


class MLPMixer:
    """A tiny MLP-Mixer classifier:

        tokens = patchify(X) @ W_patch + b_patch          (N, P, D)  vit's functions
        h      = Mixer block 0, 1, ..., depth - 1         (N, P, D)
        scores = mean over the P patches of LN(h) @ W_head + b_head   (N, classes)

    i.e. pooled = LN(h).mean(axis=1) (N, D), scores = pooled @ W_head + b_head (global average
    pooling: a Mixer has no [CLS] token). The final LN is your layernorm_forward (eps 1e-5).
    self.params holds
    - 'W_patch': (K, D), 'b_patch': (D,)   K = C * p * p
    - for each block i: 'block{i}_gamma1', ..., 'block{i}_b_ch2' (mixer_block_forward's keys
      with the prefix 'block{i}_')
    - 'gamma': (D,), 'beta': (D,)
    - 'W_head': (D, num_classes), 'b_head': (num_classes,)
    """

    def __init__(self, image_size=8, patch_size=2, in_channels=1, num_classes=10, dim=32,
                 depth=1, token_dim=32, channel_dim=64, *, activation="relu", seed=None):
        """Initialise the parameters, with rng = np.random.default_rng(seed):
        - 'W_patch' ~ N(0, 1 / K), 'b_patch' = 0
        - in each block: W_tok1 ~ N(0, 1 / P), W_tok2 ~ N(0, 1 / token_dim),
          W_ch1 ~ N(0, 1 / dim), W_ch2 ~ N(0, 1 / channel_dim), biases 0, gammas 1, betas 0
        - 'gamma' = 1, 'beta' = 0, 'W_head' ~ N(0, 1 / dim), 'b_head' = 0
        all float64. The order of the draws is free. Keep the settings the loss needs as
        attributes.

        Inputs:
        - image_size, patch_size, in_channels, num_classes, dim, depth: as ViT's
        - token_dim: S, the token MLP's hidden width
        - channel_dim: C, the channel MLP's hidden width
        - activation: both MLPs', 'relu' (the default: fast) or 'gelu' (the paper's)
        - seed: seeds the initialisation
        """
        raise NotImplementedError("a4.mixer: implement __init__")

    def set_params(self, params):
        """Replace self.params by float64 copies of the given arrays (the grader loads known
        weights).

        Inputs:
        - params: dict with the same keys and shapes as self.params
        """
        raise NotImplementedError("a4.mixer: implement set_params")

    def loss(self, X, y=None):
        """Class scores, or the loss and its gradients (as ViT.loss).

        Inputs:
        - X: (N, C, H, W) images
        - y: (N,) integer labels, or None

        Returns:
        - if y is None: scores (N, num_classes)
        - else (loss, grads): the mean softmax cross-entropy (a Python float) and a dict with
          the keys of self.params, each gradient the shape of its parameter
        """
        raise NotImplementedError("a4.mixer: implement loss")
