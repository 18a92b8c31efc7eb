"""A4 Vision Transformer: the front end (task a4.vit_frontend: patches, the linear patch embedding,
the [CLS] token), a tiny ViT classifier built from your encoder blocks (a4.vit) and its training
loop (a4.vit_training), on scikit-learn's 8x8 digits.

Images are (N, C, H, W) as in A2. Call your earlier layers through their modules, e.g.
transformer_layers.position_embedding_forward(...) and
transformer_blocks.encoder_block_forward(...); training.train (given) runs Adam. This is the
reference solution; README.md is the handout.
"""
import numpy as np

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import training, transformer_blocks, transformer_layers
except ImportError:
    import training, transformer_blocks, transformer_layers  # noqa: E401 - the flat twin

def patchify_forward(x, patch_size):
    """Cut each image into non-overlapping patch_size x patch_size patches and flatten each:

        out[n, i * (W // p) + j] = x[n, :, i*p:(i+1)*p, j*p:(j+1)*p].reshape(C * p * p)

    Patches are numbered row by row (left to right, then down: row-major over the
    (H // p, W // p) grid) and each patch is flattened channel first, then its rows, then its
    columns (the (C, p, p) order: what Conv2d(C, D, kernel_size=p, stride=p) with its weight
    reshaped to (D, C * p * p) multiplies). A 224 x 224 image in 16 x 16 patches gives 196.

    Inputs:
    - x: (N, C, H, W) images; H and W are multiples of patch_size
    - patch_size: p, an int

    Returns (out, cache):
    - out: (N, P, C * p * p) with P = (H // p) * (W // p)
    - cache: whatever patchify_backward needs
    """
    N, C, H, W = x.shape
    p = patch_size
    if H % p or W % p:
        raise ValueError(f"patch size {p} does not divide the image size {H} x {W}")
    out = x.reshape(N, C, H // p, p, W // p, p).transpose(0, 2, 4, 1, 3, 5)
    return out.reshape(N, (H // p) * (W // p), C * p * p), (x.shape, p)


def patchify_backward(dout, cache):
    """Backward pass of patchify_forward: every pixel is in exactly one patch, so dx puts each
    entry of dout back where the forward took it from (the inverse rearrangement).

    Inputs:
    - dout: (N, P, C * p * p) upstream gradient
    - cache: from patchify_forward

    Returns:
    - dx: (N, C, H, W)
    """
    (N, C, H, W), p = cache
    dx = dout.reshape(N, H // p, W // p, C, p, p).transpose(0, 3, 1, 4, 2, 5)
    return dx.reshape(N, C, H, W)


def patch_embedding_forward(patches, W, b):
    """The linear patch embedding: the same affine map of every patch, out = patches @ W + b.

    Inputs:
    - patches: (N, P, K) flattened patches (K = C * p * p)
    - W: (K, D), b: (D,)

    Returns (out, cache):
    - out: (N, P, D)
    - cache: whatever patch_embedding_backward needs
    """
    return patches @ W + b, (patches, W)


def patch_embedding_backward(dout, cache):
    """Backward pass of patch_embedding_forward: dW and db sum over the batch AND the patches.

    Inputs:
    - dout: (N, P, D) upstream gradient
    - cache: from patch_embedding_forward

    Returns (dpatches, dW, db):
    - dpatches: (N, P, K)
    - dW: (K, D), db: (D,)
    """
    patches, W = cache
    K, D = W.shape
    dW = patches.reshape(-1, K).T @ dout.reshape(-1, D)
    return dout @ W.T, dW, dout.reshape(-1, D).sum(axis=0)


def cls_token_forward(x, cls):
    """Prepend the learned [CLS] token to every sequence: out[n, 0] = cls and
    out[n, 1:] = x[n]. The classifier reads its row at the end of the encoder.

    Inputs:
    - x: (N, P, D) patch embeddings
    - cls: (D,) the learned token, the same for every image

    Returns (out, cache):
    - out: (N, P + 1, D)
    - cache: whatever cls_token_backward needs
    """
    N, _, D = x.shape
    return np.concatenate([np.broadcast_to(cls, (N, 1, D)), x], axis=1), None


def cls_token_backward(dout, cache):
    """Backward pass of cls_token_forward: dx = dout[:, 1:]; every image used the same token,
    so dcls is dout[:, 0] SUMMED over the batch.

    Inputs:
    - dout: (N, P + 1, D) upstream gradient
    - cache: from cls_token_forward

    Returns (dx, dcls):
    - dx: (N, P, D)
    - dcls: (D,)
    """
    return dout[:, 1:].copy(), dout[:, 0].sum(axis=0)


class ViT:
    """A tiny Vision Transformer (Dosovitskiy et al., 2020):

        patches = patchify(X)                          (N, P, K)    K = C p p
        tokens  = patches @ W_patch + b_patch          (N, P, D)    patch_embedding_forward
        h       = [cls; tokens] + W_pos                (N, P+1, D)  cls_token_forward, then
                                                                    position_embedding_forward
        h       = encoder block 0, 1, ..., depth - 1   (N, P+1, D)  pre-norm, unmasked
        scores  = LN(h[:, 0]) @ W_head + b_head        (N, classes) the [CLS] row only

    The blocks are YOUR transformer_blocks.encoder_block_forward with block_param
    {'num_heads': num_heads, 'norm': 'pre', 'activation': activation}; the final LN is your
    layernorm_forward (eps 1e-5). self.params holds
    - 'W_patch': (K, D), 'b_patch': (D,)
    - 'cls': (D,), 'W_pos': (P + 1, D)
    - for each block i: 'block{i}_W_Q', ..., 'block{i}_beta2' (encoder_block_forward's keys
      with the prefix 'block{i}_'; see training.block_params)
    - 'gamma': (D,), 'beta': (D,): the final layer norm's
    - 'W_head': (D, num_classes), 'b_head': (num_classes,)
    """

    def __init__(self, image_size=8, patch_size=2, in_channels=1, num_classes=10, dim=32,
                 depth=1, num_heads=2, ffn_dim=64, *, activation="relu", seed=None):
        """Initialise the parameters, with rng = np.random.default_rng(seed):
        - 'W_patch' ~ N(0, 1 / K), 'b_patch' = 0
        - 'cls' and 'W_pos' ~ N(0, 0.02**2) (as ViT and BERT initialise them)
        - each block as the given training.init_block(rng, dim, ffn_dim) makes it
        - 'gamma' = 1, 'beta' = 0
        - 'W_head' ~ N(0, 1 / dim), 'b_head' = 0
        all float64. The order of the draws is free. Keep the settings the loss needs as the
        attributes self.patch_size, self.depth, self.num_heads and self.activation (the
        attention-map script reads them).

        Inputs:
        - image_size: H = W of the square images (a multiple of patch_size)
        - patch_size: p
        - in_channels: C
        - num_classes: the number of classes
        - dim: D, the width of the tokens
        - depth: the number of encoder blocks
        - num_heads: attention heads per block (divides dim)
        - ffn_dim: F, the hidden width of each block's FFN
        - activation: the FFN's, 'relu' (the default: fast) or 'gelu' (the paper's)
        - seed: seeds the initialisation
        """
        rng = np.random.default_rng(seed)
        P, K = (image_size // patch_size) ** 2, in_channels * patch_size ** 2
        self.patch_size, self.depth, self.num_heads = patch_size, depth, num_heads
        self.activation = activation
        params = {"W_patch": rng.standard_normal((K, dim)) / np.sqrt(K),
                  "b_patch": np.zeros(dim), "cls": 0.02 * rng.standard_normal(dim),
                  "W_pos": 0.02 * rng.standard_normal((P + 1, dim))}
        for i in range(depth):
            block = training.init_block(rng, dim, ffn_dim)
            params.update({f"block{i}_{k}": v for k, v in block.items()})
        params.update(gamma=np.ones(dim), beta=np.zeros(dim),
                      W_head=rng.standard_normal((dim, num_classes)) / np.sqrt(dim),
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
        """Class scores, or the loss and its gradients.

        Inputs:
        - X: (N, C, H, W) images
        - y: (N,) integer labels, or None

        Returns:
        - if y is None: scores (N, num_classes)
        - else (loss, grads): loss the mean softmax cross-entropy over the N images, a Python
          float; grads a dict with the keys of self.params, each gradient the shape of its
          parameter. Only the [CLS] row reaches the head, but every patch gets a gradient
          through the attention.
        """
        p = self.params
        block_param = {"num_heads": self.num_heads, "norm": "pre", "activation": self.activation}
        patches, patch_cache = patchify_forward(X, self.patch_size)
        tokens, embed_cache = patch_embedding_forward(patches, p["W_patch"], p["b_patch"])
        h, cls_cache = cls_token_forward(tokens, p["cls"])
        h, pos_cache = transformer_layers.position_embedding_forward(h, p["W_pos"])
        caches = []
        for i in range(self.depth):
            h, cache = transformer_blocks.encoder_block_forward(h, training.block_params(p, i),
                                                                block_param)
            caches.append(cache)
        z, ln_cache = transformer_layers.layernorm_forward(h[:, 0], p["gamma"], p["beta"], {})
        scores = z @ p["W_head"] + p["b_head"]
        if y is None:
            return scores
        loss, dscores = training.softmax_loss(scores, y)
        grads = {"W_head": z.T @ dscores, "b_head": dscores.sum(axis=0)}
        dz = dscores @ p["W_head"].T
        dh = np.zeros_like(h)
        dh[:, 0], grads["gamma"], grads["beta"] = transformer_layers.layernorm_backward(
            dz, ln_cache)
        for i in reversed(range(self.depth)):
            dh, block_grads = transformer_blocks.encoder_block_backward(dh, caches[i])
            grads.update({f"block{i}_{k}": v for k, v in block_grads.items()})
        dh, grads["W_pos"] = transformer_layers.position_embedding_backward(dh, pos_cache)
        dtokens, grads["cls"] = cls_token_backward(dh, cls_cache)
        _, grads["W_patch"], grads["b_patch"] = patch_embedding_backward(dtokens, embed_cache)
        return loss, {k: grads[k] for k in p}


def train_classifier(model, X, y, *, epochs=12, batch_size=32, learning_rate=3e-3, seed=0,
                     on_step=None):
    """Train an image classifier (a ViT, or the MLPMixer of mixer.py) on (X, y) with the
    given training.train; return the loss of every minibatch.

    Each epoch visits the N images once in a new random order (rng =
    np.random.default_rng(seed), one rng.permutation(N) per epoch), in minibatches of
    batch_size (the last one of an epoch may be smaller). Write the minibatches as a generator
    of (X_batch, y_batch) tuples and hand it to training.train(model, batches, learning_rate,
    max_norm=5.0, on_step=on_step), which runs your model's loss, clips and takes Adam steps.

    The defaults are the graded run: ViT(8, 4, 1, 10, 32, 1, 2, 64, seed=s) and
    MLPMixer(8, 4, 1, 10, 32, 1, 32, 32, seed=s) trained on training.load_digits()'s 1500
    images with seed=s reach 0.94 to 0.99 validation accuracy for s in 0..9, in about 3 s
    (ViT) and 2 s (Mixer) on one core; the grade asks for 0.9.

    Inputs:
    - model: anything with .params and .loss(X, y)
    - X: (N, C, H, W) images; y: (N,) integer labels
    - epochs: the number of passes over the N images
    - batch_size: the images per minibatch
    - learning_rate: Adam's learning rate
    - seed: seeds the order of the minibatches
    - on_step: called as on_step(i, loss) after every minibatch (a progress bar), or None

    Returns:
    - losses: list of floats, one per minibatch (epochs * ceil(N / batch_size) of them)
    """
    rng = np.random.default_rng(seed)

    def batches():
        for _ in range(epochs):
            order = rng.permutation(len(X))
            for start in range(0, len(X), batch_size):
                batch = order[start:start + batch_size]
                yield X[batch], y[batch]

    return training.train(model, batches(), learning_rate, max_norm=5.0, on_step=on_step)
