"""Given code, nothing to write here: the layers, the update rule and the data the A5 models
(models.py) are built from. A5 stands alone, so the fully connected layers of A1 are given
again here, written out:

- `affine_forward` / `affine_backward`, `relu_forward` / `relu_backward`,
  `softmax_loss(scores, y)` (mean cross-entropy and its gradient), `sigmoid`
- `adam(w, dw, config)`: one step of Adam, the update rule every A5 training loop uses
- `minibatches(N, batch_size, epochs, rng)`: index arrays, one rng.permutation(N) per epoch
- `load_digits()`: scikit-learn's 8x8 digits in [0, 1], split 1500 / 297 as in A1 to A3
- `make_canvases(X, y, size, seed)`: each digit pasted at a random place on a blank canvas,
  with its class and its box (the detector's data)
- `ring_of_gaussians(n, seed)`: points from 8 Gaussians on a circle (the GAN's data)
- `text_grid(images)`: small grey images as characters, for a terminal

Keep this file in the folder you hand in: the models import it.
"""
import numpy as np

TRAIN = 1500  # of the 1797 digits; the other 297 are the validation set
RING_MODES, RING_RADIUS, RING_STD = 8, 2.0, 0.05


def affine_forward(x, w, b):
    """out = x @ w + b for x (N, D), w (D, M), b (M,); cache for affine_backward."""
    return x @ w + b, (x, w)


def affine_backward(dout, cache):
    """Gradients (dx, dw, db) of affine_forward for the upstream gradient dout (N, M)."""
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def relu_forward(x):
    """max(x, 0), elementwise; cache for relu_backward."""
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """dout where the input was positive, 0 elsewhere."""
    return dout * (cache > 0)


def sigmoid(t):
    """1 / (1 + exp(-t)), elementwise, without overflow for large |t|."""
    e = np.exp(-np.abs(t))
    return np.where(t >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax_loss(scores, y):
    """Mean softmax cross-entropy of scores (N, C) for labels y (N,), and its gradient."""
    rows = np.arange(len(y))
    log_softmax = scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)
    grad = np.exp(log_softmax)
    grad[rows, y] -= 1.0
    return -float(np.mean(log_softmax[rows, y])), grad / len(y)


def bernoulli_nll(x, logits):
    """The autoencoder's reconstruction loss: the Bernoulli negative log-likelihood of pixels x
    (N, D) in [0, 1] under logits (N, D), summed over the pixels and averaged over the batch,
    sum(softplus(logits) - x * logits) / N, and its gradient (sigmoid(logits) - x) / N."""
    softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
    N = x.shape[0]
    return float(np.sum(softplus - x * logits) / N), (sigmoid(logits) - x) / N


def adam(w, dw, config=None):
    """One step of Adam (beta2 0.999, eps 1e-8) on the array w with gradient dw. config holds
    'learning_rate' (default 1e-3), 'beta1' (default 0.9; GANs train better with 0.5) and,
    after the first step, the moments 'm', 'v' and the step count 't'. Returns
    (next_w, config)."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    beta1 = config.setdefault("beta1", 0.9)
    m = config.get("m", np.zeros_like(w))
    v = config.get("v", np.zeros_like(w))
    t = config.get("t", 0) + 1
    m = beta1 * m + (1 - beta1) * dw
    v = 0.999 * v + 0.001 * dw * dw
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - 0.999 ** t)
    config.update(m=m, v=v, t=t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + 1e-8), config


def adam_step(params, grads, configs, learning_rate, beta1=0.9):
    """One Adam step on every parameter of the dict params (in place), each with its own
    moments in configs[name] (a dict of dicts, filled on the first step)."""
    for name, grad in grads.items():
        config = configs.setdefault(name, {"learning_rate": learning_rate, "beta1": beta1})
        params[name], configs[name] = adam(params[name], grad, config)


def minibatches(N, batch_size, epochs, rng):
    """The index arrays of the minibatches of `epochs` passes over N rows: per epoch one
    rng.permutation(N), cut into pieces of batch_size (the last one may be smaller)."""
    for _ in range(epochs):
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            yield order[start:start + batch_size]


def load_digits():
    """scikit-learn's 8x8 digits (bundled with it, nothing is downloaded) as X (N, 64) in
    [0, 1] (the pixel values / 16) and labels y (N,), in the order of
    np.random.default_rng(0).permutation (the split of A1 to A3): a dict with 'X_train',
    'y_train' (the first 1500) and 'X_val', 'y_val' (the other 297)."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    X, y = digits.data[order] / 16.0, digits.target[order].astype(np.int64)
    return {"X_train": X[:TRAIN], "y_train": y[:TRAIN], "X_val": X[TRAIN:], "y_val": y[TRAIN:]}


def make_canvases(X, y, size=16, seed=0):
    """Each 8x8 digit of X (N, 64) pasted at a random place on a blank size x size canvas.

    With rng = np.random.default_rng(seed), the top-left corner (row, col) of digit n is
    rng.integers(0, size - 7, size=(N, 2))[n]. Returns (images, labels, boxes):
    - images: (N, size * size) the canvases, row by row, in [0, 1]
    - labels: (N,) the digit + 1 (class 0 is the background, as in detection_loss)
    - boxes: (N, 4) the digit's box (x1, y1, x2, y2) = (col, row, col + 8, row + 8) divided
      by size, so every coordinate is in [0, 1]
    """
    rng = np.random.default_rng(seed)
    N = len(X)
    corners = rng.integers(0, size - 7, size=(N, 2))
    images = np.zeros((N, size, size))
    for n, (row, col) in enumerate(corners):
        images[n, row:row + 8, col:col + 8] = X[n].reshape(8, 8)
    rows, cols = corners[:, 0], corners[:, 1]
    boxes = np.stack([cols, rows, cols + 8, rows + 8], axis=1) / size
    return images.reshape(N, size * size), np.asarray(y, dtype=np.int64) + 1, boxes


def ring_modes():
    """The 8 centres (8, 2) of ring_of_gaussians, at angles 0, 45, ..., 315 degrees."""
    angles = 2 * np.pi * np.arange(RING_MODES) / RING_MODES
    return RING_RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def ring_of_gaussians(n, seed=0):
    """n points (n, 2) from an equal mixture of 8 Gaussians of standard deviation RING_STD
    (0.05) centred on a circle of radius RING_RADIUS (2): rng = np.random.default_rng(seed)
    draws the modes (rng.integers(0, 8, n)), then the noise (rng.standard_normal((n, 2)))."""
    rng = np.random.default_rng(seed)
    modes = rng.integers(0, RING_MODES, n)
    return ring_modes()[modes] + RING_STD * rng.standard_normal((n, 2))


def ring_scores(samples):
    """How well samples (M, 2) cover the ring: (modes_covered, high_quality, counts).
    A sample is of high quality if it lies within 3 standard deviations (0.15) of a mode;
    counts[k] is the number of high-quality samples nearest mode k, and a mode is covered if
    it gets at least a fifth of its fair share (M / 8 / 5) of the samples."""
    samples = np.asarray(samples, dtype=np.float64)
    d = np.sqrt(((samples[:, None, :] - ring_modes()[None]) ** 2).sum(axis=2))
    nearest, close = d.argmin(axis=1), d.min(axis=1) < 3 * RING_STD
    counts = np.bincount(nearest[close], minlength=RING_MODES)
    covered = int(np.sum(counts >= len(samples) / RING_MODES / 5))
    return covered, float(close.mean()), counts


SHADES = " .:-=+*#%@"


def text_grid(images, width=8, columns=8):
    """Images (N, width * width) with values in [0, 1] as lines of text, `columns` images
    side by side, one character per pixel (darker: a denser character)."""
    images = np.clip(np.asarray(images, dtype=np.float64), 0, 1).reshape(-1, width, width)
    lines = []
    for start in range(0, len(images), columns):
        row = images[start:start + columns]
        for r in range(width):
            lines.append("  ".join("".join(SHADES[int(round(v * (len(SHADES) - 1)))]
                                           for v in image[r]) for image in row))
        lines.append("")
    return "\n".join(lines)


CANVAS = 12  # the detector's images: 12 x 12, the 8 x 8 digit at one of 5 x 5 places


def load_detection_data():
    """The detector's data: the training digits, each pasted twice (make_canvases seeds 1 and
    11: 3000 images), and the validation digits once (seed 2: 297 images), on CANVAS x CANVAS
    canvases. A dict with 'x_train', 'labels_train', 'boxes_train', 'x_val', 'labels_val',
    'boxes_val'."""
    digits = load_digits()
    parts = [make_canvases(digits["X_train"], digits["y_train"], CANVAS, seed)
             for seed in (1, 11)]
    data = {f"{name}_train": np.concatenate([part[i] for part in parts])
            for i, name in enumerate(("x", "labels", "boxes"))}
    data.update(zip(("x_val", "labels_val", "boxes_val"),
                    make_canvases(digits["X_val"], digits["y_val"], CANVAS, 2), strict=True))
    return data


def box_iou(a, b):
    """The IoU of each box of a (N, 4) with the box of b (N, 4) in the same row: (N,)."""
    w = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    h = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    area = lambda z: np.clip(z[:, 2] - z[:, 0], 0, None) * np.clip(z[:, 3] - z[:, 1], 0, None)  # noqa: E731
    union = area(a) + area(b) - w * h
    return np.divide(w * h, union, out=np.zeros(len(a)), where=union > 0)
