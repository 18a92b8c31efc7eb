"""A4 Transformer layers: sinusoidal positional encoding and learned position embeddings (task
a4.positional), layer normalisation over the last axis (a4.layernorm), the position-wise
feed-forward layer with ReLU or the exact GELU (a4.ffn) and dropout (a4.dropout).

Sequences are batch-major, (N, T, D). A forward returns (out, cache); its backward takes (dout,
cache) and returns the gradient of each array input, in the order of the forward's inputs. This
is the reference solution; README.md is the handout.
"""
import math

import numpy as np

try:  # core_ext's fused layer norm where it imports (never in the grading sandbox)
    import core_ext as _core_ext
except ImportError:
    _core_ext = None

_erf = np.vectorize(math.erf, otypes=[np.float64])


def sinusoidal_positional_encoding(T, D):
    """The fixed positional encoding of "Attention is all you need": for position i and
    feature pair j (0 <= 2j < D),

        P[i, 2j] = sin(i / 10000^(2j / D)),   P[i, 2j + 1] = cos(i / 10000^(2j / D))

    so even features are sines and odd features cosines of the same angle. For odd D the last
    feature is a sine without its cosine.

    Inputs:
    - T: number of positions (int)
    - D: number of features (int)

    Returns:
    - P: (T, D) float64
    """
    angle = np.arange(T)[:, None] / 10000.0 ** (np.arange(0, D, 2) / D)
    P = np.zeros((T, D))
    P[:, 0::2] = np.sin(angle)
    P[:, 1::2] = np.cos(angle[:, :D // 2])
    return P


def position_embedding_forward(x, W_pos):
    """Learned position embeddings (BERT, GPT, ViT): row t of W_pos is added at position t,
    out[n, t] = x[n, t] + W_pos[t]. Only the first T rows are used.

    Inputs:
    - x: (N, T, D) token embeddings
    - W_pos: (T_max, D) one learned vector per position, T <= T_max

    Returns (out, cache):
    - out: (N, T, D)
    - cache: whatever position_embedding_backward needs
    """
    T = x.shape[1]
    return x + W_pos[:T], (T, W_pos.shape)


def position_embedding_backward(dout, cache):
    """Backward pass of position_embedding_forward: dx = dout; dW_pos[t] is dout[:, t] summed
    over the batch for t < T, and 0 for the rows the forward did not use.

    Inputs:
    - dout: (N, T, D) upstream gradient
    - cache: from position_embedding_forward

    Returns (dx, dW_pos):
    - dx: (N, T, D)
    - dW_pos: (T_max, D)
    """
    T, shape = cache
    dW_pos = np.zeros(shape)
    dW_pos[:T] = dout.sum(axis=0)
    return dout.copy(), dW_pos


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalisation over the LAST axis (each position's D features), then scale and
    shift; every other axis is a batch axis:

        mu = mean of x[..., :] over D,  var = mean of (x - mu)**2 over D      (biased)
        out = gamma * (x - mu) / sqrt(var + eps) + beta

    This is PyTorch's nn.LayerNorm(D) (eps = 1e-5 by default). No running statistics.

    Inputs:
    - x: (..., D) inputs, e.g. (N, T, D)
    - gamma: (D,) scale
    - beta: (D,) shift
    - ln_param: dict with key
      - eps: 1e-5 if absent

    Returns (out, cache):
    - out: same shape as x
    - cache: whatever layernorm_backward needs
    """
    eps = ln_param.get("eps", 1e-5)
    if _layernorm_kernel_takes(x, (gamma, beta)):  # the same results from one pass per row
        out, x_hat, std = _core_ext.layernorm_forward(x, gamma, beta, eps)
        return out, (x_hat, gamma, std)
    mu, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    std = np.sqrt(var + eps)
    x_hat = (x - mu) / std
    return gamma * x_hat + beta, (x_hat, gamma, std)


def layernorm_backward(dout, cache):
    """Backward pass of layernorm_forward. With dx_hat = dout * gamma, per position (sums over
    its D features):

        dx = (D * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)) / (D * sqrt(var + eps))

    the second term from the mean, the third from the variance. dgamma and dbeta sum over every
    axis but the last.

    Inputs:
    - dout: same shape as x, upstream gradient
    - cache: from layernorm_forward

    Returns (dx, dgamma, dbeta):
    - dx: same shape as x
    - dgamma: (D,)
    - dbeta: (D,)
    """
    x_hat, gamma, std = cache
    if _layernorm_kernel_takes(x_hat, (gamma,), (dout,)) and isinstance(std, np.ndarray) \
            and std.shape == (*x_hat.shape[:-1], 1):
        return _core_ext.layernorm_backward(dout, x_hat, gamma, std)
    dx_hat = dout * gamma
    D = x_hat.shape[-1]
    dx = (D * dx_hat - dx_hat.sum(axis=-1, keepdims=True)
          - x_hat * (dx_hat * x_hat).sum(axis=-1, keepdims=True)) / (D * std)
    batch = tuple(range(dout.ndim - 1))
    return dx, (dout * x_hat).sum(axis=batch), dout.sum(axis=batch)


def _layernorm_kernel_takes(x, vectors, same=()):
    """Whether core_ext computes this layer norm: float64 arrays, x with at least one axis,
    ``vectors`` of shape (D,), ``same`` of x's shape."""
    arrays = (x, *vectors, *same)
    return (_core_ext is not None
            and all(isinstance(a, np.ndarray) and a.dtype == np.float64 for a in arrays)
            and x.ndim >= 1 and all(v.shape == x.shape[-1:] for v in vectors)
            and all(a.shape == x.shape for a in same))


def gelu_forward(x):
    """GELU, the exact form (PyTorch's default, approximate='none'):

        gelu(x) = x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2)))

    Phi is the standard normal CDF. NumPy has no erf: use the standard library's math.erf
    element by element (e.g. np.vectorize(math.erf)); not the tanh approximation.

    Inputs:
    - x: array of any shape

    Returns (out, cache):
    - out: same shape as x
    - cache: whatever gelu_backward needs
    """
    cdf = 0.5 * (1.0 + _erf(x / np.sqrt(2.0)))
    return x * cdf, (x, cdf)


def gelu_backward(dout, cache):
    """Backward pass of gelu_forward: gelu'(x) = Phi(x) + x * phi(x), with the standard normal
    density phi(x) = exp(-x**2 / 2) / sqrt(2 pi).

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from gelu_forward

    Returns:
    - dx: same shape as x
    """
    x, cdf = cache
    return dout * (cdf + x * np.exp(-0.5 * x ** 2) / np.sqrt(2.0 * np.pi))


def ffn_forward(x, W1, b1, W2, b2, activation="relu"):
    """The position-wise feed-forward layer: the same two-layer MLP at every position,

        out = act(x @ W1 + b1) @ W2 + b2

    with act = ReLU (max(0, a)) or GELU (gelu_forward, the exact erf form).

    Inputs:
    - x: (N, T, D)
    - W1: (D, F), b1: (F,)    (F, the hidden width, is often 4 D)
    - W2: (F, D), b2: (D,)
    - activation: 'relu' or 'gelu'

    Returns (out, cache):
    - out: (N, T, D)
    - cache: whatever ffn_backward needs
    """
    a = _project(x, W1, b1)
    if activation == "relu":
        hidden, act_cache = np.maximum(a, 0.0), a
    elif activation == "gelu":
        hidden, act_cache = gelu_forward(a)
    else:
        raise ValueError(f"activation must be 'relu' or 'gelu', got {activation!r}")
    return _project(hidden, W2, b2), (x, W1, W2, hidden, activation, act_cache)


def ffn_backward(dout, cache):
    """Backward pass of ffn_forward: A1's affine backward twice, the activation's derivative
    between them (ReLU: 1 where a > 0, else 0; GELU: gelu_backward).

    Inputs:
    - dout: (N, T, D) upstream gradient
    - cache: from ffn_forward

    Returns (dx, dW1, db1, dW2, db2):
    - dx: (N, T, D)
    - dW1: (D, F), db1: (F,)
    - dW2: (F, D), db2: (D,)
    """
    x, W1, W2, hidden, activation, act_cache = cache
    dhidden = _project(dout, W2.T)
    da = dhidden * (act_cache > 0) if activation == "relu" else gelu_backward(dhidden, act_cache)
    flat = x.reshape(-1, x.shape[-1]).T
    dW2 = hidden.reshape(-1, hidden.shape[-1]).T
    dW2 = _matmul(dW2, dout.reshape(-1, dout.shape[-1]))
    return (_project(da, W1.T), _matmul(flat, da.reshape(-1, da.shape[-1])), da.sum(axis=(0, 1)),
            dW2, dout.sum(axis=(0, 1)))


def _project(x, W, b=None):
    """x (..., A) @ W (A, B) (+ b) as one 2-d product over all positions: NumPy's matmul of a
    3-d array by a 2-d one loops over the batch without BLAS, and ran 9x slower here."""
    out = _matmul(x.reshape(-1, x.shape[-1]), W)
    if b is not None:
        out += b
    return out.reshape(*x.shape[:-1], W.shape[-1])


def _matmul(a, b):
    """a @ b of 2-d arrays, on core_ext's threads where it imports (float64; the same result)."""
    if (_core_ext is not None and isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
            and a.dtype == b.dtype == np.float64):
        return _core_ext.matmul(a, b)
    return a @ b


def dropout_forward(x, dropout_param):
    """Inverted dropout (as in A1): in training keep each unit with probability p and divide by
    p, so the expected output equals x; test mode is the identity.

    Inputs:
    - x: array of any shape, e.g. (N, T, D)
    - dropout_param: dict with keys
      - p: the probability of KEEPING each unit (0 < p <= 1). This is NOT PyTorch's p, which is
        the probability of dropping one: p = 0.9 here is torch.nn.Dropout(p=0.1).
      - mode: 'train' (out = x * mask / p, mask[i] = 1 with probability p, else 0)
        or 'test' (out = x)
      - seed: optional; when given, the same seed gives the same mask

    Returns (out, cache):
    - out: same shape as x
    - cache: whatever dropout_backward needs
    """
    p, mode = dropout_param["p"], dropout_param["mode"]
    if mode == "test":
        return x, (mode, None)
    if mode != "train":
        raise ValueError(f"dropout_param['mode'] must be 'train' or 'test', got {mode!r}")
    rng = np.random.default_rng(dropout_param.get("seed"))
    mask = (rng.random(x.shape) < p) / p
    return x * mask, (mode, mask)


def dropout_backward(dout, cache):
    """Backward pass of dropout_forward: dx = dout * mask / p in train mode, dout in test mode.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from dropout_forward

    Returns:
    - dx: same shape as x
    """
    mode, mask = cache
    return dout if mode == "test" else dout * mask
