"""A4 MLP-Mixer (Tolstikhin et al., 2021): the Mixer block (task a4.mixer_block), a tiny Mixer
classifier (a4.mixer) and its training on the digits (a4.mixer_training, with vit.py's
train_classifier).

No attention: a token-mixing MLP mixes the patches (the same MLP for every feature, across the P
patches) and a channel-mixing MLP mixes the features (the same MLP for every patch, across the D
features). Call your layers through their modules: transformer_layers' layernorm_forward and
ffn_forward (an FFN over the last axis: transpose to mix the other), and vit's patchify_forward
and patch_embedding_forward. This is the reference solution; README.md is the handout.
"""
import numpy as np

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import training, transformer_layers, vit
except ImportError:
    import training, transformer_layers, vit  # noqa: E401 - the flat twin of the import above

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
    activation = block_param.get("activation", "gelu")
    ln_param = {"eps": block_param.get("eps", 1e-5)}
    p = params
    u, ln1 = transformer_layers.layernorm_forward(x, p["gamma1"], p["beta1"], ln_param)
    t, tok = transformer_layers.ffn_forward(u.transpose(0, 2, 1), p["W_tok1"], p["b_tok1"],
                                            p["W_tok2"], p["b_tok2"], activation)
    a = x + t.transpose(0, 2, 1)
    v, ln2 = transformer_layers.layernorm_forward(a, p["gamma2"], p["beta2"], ln_param)
    c, ch = transformer_layers.ffn_forward(v, p["W_ch1"], p["b_ch1"], p["W_ch2"], p["b_ch2"],
                                           activation)
    return a + c, (ln1, tok, ln2, ch)


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
    ln1, tok, ln2, ch = cache
    grads = {}
    dv, grads["W_ch1"], grads["b_ch1"], grads["W_ch2"], grads["b_ch2"] = \
        transformer_layers.ffn_backward(dout, ch)
    dva, grads["gamma2"], grads["beta2"] = transformer_layers.layernorm_backward(dv, ln2)
    da = dout + dva
    duT, grads["W_tok1"], grads["b_tok1"], grads["W_tok2"], grads["b_tok2"] = \
        transformer_layers.ffn_backward(da.transpose(0, 2, 1), tok)
    dux, grads["gamma1"], grads["beta1"] = transformer_layers.layernorm_backward(
        duT.transpose(0, 2, 1), ln1)
    return da + dux, {k: grads[k] for k in MIXER_KEYS}


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
        rng = np.random.default_rng(seed)
        P, K = (image_size // patch_size) ** 2, in_channels * patch_size ** 2
        self.patch_size, self.depth, self.activation = patch_size, depth, activation
        D, S, C = dim, token_dim, channel_dim
        params = {"W_patch": rng.standard_normal((K, D)) / np.sqrt(K), "b_patch": np.zeros(D)}
        for i in range(depth):
            block = {"gamma1": np.ones(D), "beta1": np.zeros(D),
                     "W_tok1": rng.standard_normal((P, S)) / np.sqrt(P), "b_tok1": np.zeros(S),
                     "W_tok2": rng.standard_normal((S, P)) / np.sqrt(S), "b_tok2": np.zeros(P),
                     "gamma2": np.ones(D), "beta2": np.zeros(D),
                     "W_ch1": rng.standard_normal((D, C)) / np.sqrt(D), "b_ch1": np.zeros(C),
                     "W_ch2": rng.standard_normal((C, D)) / np.sqrt(C), "b_ch2": np.zeros(D)}
            params.update({f"block{i}_{k}": v for k, v in block.items()})
        params.update(gamma=np.ones(D), beta=np.zeros(D),
                      W_head=rng.standard_normal((D, num_classes)) / np.sqrt(D),
                      b_head=np.zeros(num_classes))
        self.params = params

    def set_params(self, params):
        """Replace self.params by float64 copies of the given arrays (the grader loads known
        weights).

        Inputs:
        - params: dict with the same keys and shapes as self.params
        """
        self.params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}

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
        p = self.params
        block_param = {"activation": self.activation}
        patches, patch_cache = vit.patchify_forward(X, self.patch_size)
        h, embed_cache = vit.patch_embedding_forward(patches, p["W_patch"], p["b_patch"])
        caches = []
        for i in range(self.depth):
            block = {k: p[f"block{i}_{k}"] for k in MIXER_KEYS}
            h, cache = mixer_block_forward(h, block, block_param)
            caches.append(cache)
        z, ln_cache = transformer_layers.layernorm_forward(h, p["gamma"], p["beta"], {})
        pooled = z.mean(axis=1)
        scores = pooled @ p["W_head"] + p["b_head"]
        if y is None:
            return scores
        loss, dscores = training.softmax_loss(scores, y)
        grads = {"W_head": pooled.T @ dscores, "b_head": dscores.sum(axis=0)}
        dz = np.repeat((dscores @ p["W_head"].T)[:, None] / z.shape[1], z.shape[1], axis=1)
        dh, grads["gamma"], grads["beta"] = transformer_layers.layernorm_backward(dz, ln_cache)
        for i in reversed(range(self.depth)):
            dh, block_grads = mixer_block_backward(dh, caches[i])
            grads.update({f"block{i}_{k}": v for k, v in block_grads.items()})
        _, grads["W_patch"], grads["b_patch"] = vit.patch_embedding_backward(dh, embed_cache)
        return loss, {k: grads[k] for k in p}
