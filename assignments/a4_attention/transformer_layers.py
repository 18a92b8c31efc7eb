"""A4 Transformer layers: sinusoidal positional encoding and learned position embeddings (task
a4.positional), layer normalisation over the last axis (a4.layernorm), the position-wise
feed-forward layer with ReLU or the exact GELU (a4.ffn) and dropout (a4.dropout).

Sequences are batch-major, (N, T, D). A forward returns (out, cache); its backward takes
(dout, cache) and returns the gradient of each array input, in the order of the forward's
inputs. Replace each `raise NotImplementedError(...)` with your implementation, using NumPy
and the standard library only (math.erf for GELU: NumPy has no erf). See README.md;
`layerlab check a4` runs the public checks.
"""
import numpy as np  # noqa: F401  (you will need it)


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
    raise NotImplementedError("a4.positional: implement sinusoidal_positional_encoding")


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
    raise NotImplementedError("a4.positional: implement position_embedding_forward")


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
    raise NotImplementedError("a4.positional: implement position_embedding_backward")


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
    raise NotImplementedError("a4.layernorm: implement layernorm_forward")


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
    raise NotImplementedError("a4.layernorm: implement layernorm_backward")


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
    raise NotImplementedError("a4.ffn: implement gelu_forward")


def gelu_backward(dout, cache):
    """Backward pass of gelu_forward: gelu'(x) = Phi(x) + x * phi(x), with the standard normal
    density phi(x) = exp(-x**2 / 2) / sqrt(2 pi).

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from gelu_forward

    Returns:
    - dx: same shape as x
    """
    raise NotImplementedError("a4.ffn: implement gelu_backward")


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
    raise NotImplementedError("a4.ffn: implement ffn_forward")


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
    raise NotImplementedError("a4.ffn: implement ffn_backward")


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
    raise NotImplementedError("a4.dropout: implement dropout_forward")


def dropout_backward(dout, cache):
    """Backward pass of dropout_forward: dx = dout * mask / p in train mode, dout in test mode.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from dropout_forward

    Returns:
    - dx: same shape as x
    """
    raise NotImplementedError("a4.dropout: implement dropout_backward")
