"""A3 recurrent layers: the vanilla RNN, the LSTM and the GRU (one step, and a whole sequence by
backpropagation through time), word embeddings, and the temporal affine layer and softmax loss
that turn hidden states into scores and scores into a loss.

Sequences are batch-major: x is (N, T, D) and the hidden states h are (N, T, H). Each forward
returns its outputs and a cache; its backward takes the upstream gradients and the cache and
returns the gradients in the order of the forward's inputs. The sequence functions call the step
functions, as the handout derives them.
"""
import numpy as np


def _sigmoid(x):
    """Logistic sigmoid 1 / (1 + exp(-x)), elementwise, without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One time step of a vanilla RNN with tanh: next_h = tanh(prev_h @ Wh + x @ Wx + b).

    Inputs:
    - x: (N, D) inputs of this time step
    - prev_h: (N, H) hidden state of the previous time step
    - Wx: (D, H) input-to-hidden weights
    - Wh: (H, H) hidden-to-hidden weights
    - b: (H,) biases

    Returns (next_h, cache):
    - next_h: (N, H) the new hidden state
    - cache: whatever rnn_step_backward needs
    """
    next_h = np.tanh(prev_h @ Wh + x @ Wx + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    """Backward pass of rnn_step_forward. With da = dnext_h * (1 - next_h**2), the gradient
    at the tanh's input:
        dx = da @ Wx.T, dprev_h = da @ Wh.T, dWx = x.T @ da, dWh = prev_h.T @ da, db = sum of da

    Inputs:
    - dnext_h: (N, H) upstream gradient of next_h
    - cache: from rnn_step_forward

    Returns (dx, dprev_h, dWx, dWh, db):
    - dx: (N, D)
    - dprev_h: (N, H)
    - dWx: (D, H)
    - dWh: (H, H)
    - db: (H,)
    """
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    """A vanilla RNN over a whole sequence: h[:, t] = tanh(h[:, t - 1] @ Wh + x[:, t] @ Wx + b),
    starting from h[:, -1] = h0 (the same weights at every step).

    Inputs:
    - x: (N, T, D) input sequences
    - h0: (N, H) initial hidden states
    - Wx: (D, H) input-to-hidden weights
    - Wh: (H, H) hidden-to-hidden weights
    - b: (H,) biases

    Returns (h, cache):
    - h: (N, T, H) the hidden states of every time step (h0 not included)
    - cache: whatever rnn_backward needs
    """
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    steps, prev_h = [], h0
    for t in range(T):
        prev_h, step = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
        steps.append(step)
    return h, steps


def rnn_backward(dh, cache):
    """Backpropagation through time for rnn_forward. dh holds the gradient that reaches each
    hidden state from above (from the outputs); going back from t = T - 1, step t receives
    dh[:, t] plus the gradient its successor sends back through prev_h. The weight gradients
    are summed over the steps; dh0 is what step 0 sends back.

    Inputs:
    - dh: (N, T, H) upstream gradient of every hidden state
    - cache: from rnn_forward

    Returns (dx, dh0, dWx, dWh, db):
    - dx: (N, T, D)
    - dh0: (N, H)
    - dWx: (D, H)
    - dWh: (H, H)
    - db: (H,)
    """
    N, T, H = dh.shape
    x, _, Wx, Wh, _ = cache[0]
    dx = np.zeros((N, T, x.shape[1]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


def word_embedding_forward(x, W):
    """Word embeddings: each integer word index becomes its row of W, out[n, t] = W[x[n, t]].

    Inputs:
    - x: (N, T) integer word indices, 0 <= x[n, t] < V
    - W: (V, D) one D-dimensional vector per word of the vocabulary

    Returns (out, cache):
    - out: (N, T, D)
    - cache: whatever word_embedding_backward needs
    """
    return W[x], (x, W.shape)


def word_embedding_backward(dout, cache):
    """Backward pass of word_embedding_forward: dW[v] is the sum of dout[n, t] over every
    (n, t) with x[n, t] == v; a word that occurs several times accumulates all of them
    (np.add.at(dW, x, dout); dW[x] += dout keeps only one), a word that does not occur gets 0.
    There is no gradient for the integer indices x.

    Inputs:
    - dout: (N, T, D) upstream gradient
    - cache: from word_embedding_forward

    Returns:
    - dW: (V, D)
    """
    x, shape = cache
    dW = np.zeros(shape)
    np.add.at(dW, x, dout)
    return dW


def temporal_affine_forward(x, w, b):
    """The same affine layer at every time step: out[:, t] = x[:, t] @ w + b (e.g. hidden
    states to vocabulary scores).

    Inputs:
    - x: (N, T, D) inputs
    - w: (D, M) weights
    - b: (M,) biases

    Returns (out, cache):
    - out: (N, T, M)
    - cache: whatever temporal_affine_backward needs
    """
    return x @ w + b, (x, w)


def temporal_affine_backward(dout, cache):
    """Backward pass of temporal_affine_forward: the weights are shared by all N * T positions,
    so dw and db sum over the batch and over time.

    Inputs:
    - dout: (N, T, M) upstream gradient
    - cache: from temporal_affine_forward

    Returns (dx, dw, db):
    - dx: (N, T, D)
    - dw: (D, M)
    - db: (M,)
    """
    x, w = cache
    D, M = w.shape
    dw = x.reshape(-1, D).T @ dout.reshape(-1, M)
    return dout @ w.T, dw, dout.sum(axis=(0, 1))


def temporal_softmax_loss(x, y, mask):
    """Softmax cross-entropy at every time step where mask is True, summed over those steps and
    divided by the batch size N (not by the number of steps):
        loss = -(1 / N) * sum over n, t with mask[n, t] of log softmax(x[n, t])[y[n, t]]
    Masked-out steps (padding after a sequence ends) add nothing to the loss and get zero
    gradient. Scores are shifted by their maximum over V first, so |x| ~ 1e3 neither overflows
    nor warns.

    Inputs:
    - x: (N, T, V) scores over a vocabulary of V words
    - y: (N, T) integer targets, 0 <= y[n, t] < V (also where masked out)
    - mask: (N, T) booleans, True where the step counts

    Returns (loss, dx):
    - loss: Python float
    - dx: (N, T, V), mask[n, t] * (softmax(x[n, t]) - onehot(y[n, t])) / N
    """
    N, T, V = x.shape
    flat, targets, keep = x.reshape(N * T, V), y.reshape(N * T), mask.reshape(N * T, 1)
    rows = np.arange(N * T)
    shifted = flat - flat.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.sum(keep[:, 0] * log_probs[rows, targets]) / N
    dx = np.exp(log_probs)
    dx[rows, targets] -= 1
    dx *= keep / N
    return float(loss), dx.reshape(N, T, V)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One time step of an LSTM. The activations a = x @ Wx + prev_h @ Wh + b (N, 4H) hold the
    gates stacked in the order i, f, o, g along the 4H axis:
        i = sigmoid(a[:, :H])        input gate
        f = sigmoid(a[:, H:2H])      forget gate
        o = sigmoid(a[:, 2H:3H])     output gate
        g = tanh(a[:, 3H:])          candidate cell values
        next_c = f * prev_c + i * g
        next_h = o * tanh(next_c)

    Inputs:
    - x: (N, D) inputs of this time step
    - prev_h: (N, H) previous hidden state
    - prev_c: (N, H) previous cell state
    - Wx: (D, 4H) input-to-hidden weights
    - Wh: (H, 4H) hidden-to-hidden weights
    - b: (4H,) biases

    Returns (next_h, next_c, cache):
    - next_h: (N, H) the new hidden state
    - next_c: (N, H) the new cell state
    - cache: whatever lstm_step_backward needs
    """
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass of lstm_step_forward. The cell state gets its gradient from two paths,
    directly (dnext_c) and through next_h:
        dc = dnext_c + dnext_h * o * (1 - tanh(next_c)**2)
    then di = dc * g, df = dc * prev_c, do = dnext_h * tanh(next_c), dg = dc * i,
    dprev_c = dc * f, and through the gates' nonlinearities to da (N, 4H), stacked i, f, o, g:
        da = [di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g**2)]
    from which dx = da @ Wx.T, dprev_h = da @ Wh.T, dWx = x.T @ da, dWh = prev_h.T @ da and
    db = sum of da.

    Inputs:
    - dnext_h: (N, H) upstream gradient of next_h
    - dnext_c: (N, H) upstream gradient of next_c
    - cache: from lstm_step_forward

    Returns (dx, dprev_h, dprev_c, dWx, dWh, db):
    - dx: (N, D)
    - dprev_h: (N, H)
    - dprev_c: (N, H)
    - dWx: (D, 4H)
    - dWh: (H, 4H)
    - db: (4H,)
    """
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)
    di, df, do, dg = dc * g, dc * prev_c, dnext_h * tanh_c, dc * i
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)])
    dprev_c = dc * f
    return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b):
    """An LSTM over a whole sequence, from the hidden state h0 and the cell state c0 = 0; each
    step is lstm_step_forward with the same weights, passing both h and c on.

    Inputs:
    - x: (N, T, D) input sequences
    - h0: (N, H) initial hidden states
    - Wx: (D, 4H) input-to-hidden weights, gates stacked i, f, o, g
    - Wh: (H, 4H) hidden-to-hidden weights, gates stacked i, f, o, g
    - b: (4H,) biases

    Returns (h, cache):
    - h: (N, T, H) the hidden states of every time step (h0 not included; the cell states are
      not returned)
    - cache: whatever lstm_backward needs
    """
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    steps, prev_h, prev_c = [], h0, np.zeros((N, H))
    for t in range(T):
        prev_h, prev_c, step = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t] = prev_h
        steps.append(step)
    return h, steps


def lstm_backward(dh, cache):
    """Backpropagation through time for lstm_forward. Going back from t = T - 1, step t
    receives dh[:, t] plus the gradient of its hidden state sent back by step t + 1, and the
    gradient of its cell state sent back by step t + 1 (zero at the last step: the loss does
    not see the cell states). The weight gradients are summed over the steps.

    Inputs:
    - dh: (N, T, H) upstream gradient of every hidden state
    - cache: from lstm_forward

    Returns (dx, dh0, dWx, dWh, db):
    - dx: (N, T, D)
    - dh0: (N, H)
    - dWx: (D, 4H)
    - dWh: (H, 4H)
    - db: (4H,)
    """
    N, T, H = dh.shape
    x, _, _, Wx, Wh = cache[0][:5]
    dx = np.zeros((N, T, x.shape[1]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(4 * H)
    dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + dprev_h, dprev_c, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    """One time step of a GRU, as PyTorch's nn.GRU computes it. With the input-side
    activations ax = x @ Wx + bx and the hidden-side ones ah = prev_h @ Wh + bh (both (N, 3H),
    gates stacked r, z, n along the 3H axis):
        r = sigmoid(ax[:, :H] + ah[:, :H])                     reset gate
        z = sigmoid(ax[:, H:2H] + ah[:, H:2H])                 update gate
        n = tanh(ax[:, 2H:] + r * ah[:, 2H:])                  candidate state
        next_h = (1 - z) * n + z * prev_h
    The reset gate multiplies the hidden side of n after its product with Wh and its bias bh.

    Inputs:
    - x: (N, D) inputs of this time step
    - prev_h: (N, H) previous hidden state
    - Wx: (D, 3H) input-to-hidden weights
    - Wh: (H, 3H) hidden-to-hidden weights
    - bx: (3H,) input-side biases (PyTorch's bias_ih)
    - bh: (3H,) hidden-side biases (PyTorch's bias_hh)

    Returns (next_h, cache):
    - next_h: (N, H) the new hidden state
    - cache: whatever gru_step_backward needs
    """
    H = prev_h.shape[1]
    ax, ah = x @ Wx + bx, prev_h @ Wh + bh
    r = _sigmoid(ax[:, :H] + ah[:, :H])
    z = _sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
    next_h = (1 - z) * n + z * prev_h
    return next_h, (x, prev_h, Wx, Wh, r, z, n, ah[:, 2 * H:])


def gru_step_backward(dnext_h, cache):
    """Backward pass of gru_step_forward. With dn = dnext_h * (1 - z) and
    dz = dnext_h * (prev_h - n), the gradients at the activations are
        dan = dn * (1 - n**2)                          at n's input (through ax_n)
        dar = dan * ah[:, 2H:] * r * (1 - r)           at r's input
        daz = dz * z * (1 - z)                         at z's input
    so dax = [dar, daz, dan] and dah = [dar, daz, dan * r], stacked r, z, n; then
    dx = dax @ Wx.T, dWx = x.T @ dax, dbx = sum of dax, dWh = prev_h.T @ dah,
    dbh = sum of dah, and dprev_h = dnext_h * z + dah @ Wh.T (prev_h is used twice).

    Inputs:
    - dnext_h: (N, H) upstream gradient of next_h
    - cache: from gru_step_forward

    Returns (dx, dprev_h, dWx, dWh, dbx, dbh):
    - dx: (N, D)
    - dprev_h: (N, H)
    - dWx: (D, 3H)
    - dWh: (H, 3H)
    - dbx: (3H,)
    - dbh: (3H,)
    """
    x, prev_h, Wx, Wh, r, z, n, ah_n = cache
    dn, dz = dnext_h * (1 - z), dnext_h * (prev_h - n)
    dan = dn * (1 - n ** 2)
    dar, daz = dan * ah_n * r * (1 - r), dz * z * (1 - z)
    dax, dah = np.hstack([dar, daz, dan]), np.hstack([dar, daz, dan * r])
    dprev_h = dnext_h * z + dah @ Wh.T
    return dax @ Wx.T, dprev_h, x.T @ dax, prev_h.T @ dah, dax.sum(axis=0), dah.sum(axis=0)


def gru_forward(x, h0, Wx, Wh, bx, bh):
    """A GRU over a whole sequence, from h0; each step is gru_step_forward with the same
    weights.

    Inputs:
    - x: (N, T, D) input sequences
    - h0: (N, H) initial hidden states
    - Wx: (D, 3H) input-to-hidden weights, gates stacked r, z, n
    - Wh: (H, 3H) hidden-to-hidden weights, gates stacked r, z, n
    - bx: (3H,) input-side biases
    - bh: (3H,) hidden-side biases

    Returns (h, cache):
    - h: (N, T, H) the hidden states of every time step (h0 not included)
    - cache: whatever gru_backward needs
    """
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    steps, prev_h = [], h0
    for t in range(T):
        prev_h, step = gru_step_forward(x[:, t], prev_h, Wx, Wh, bx, bh)
        h[:, t] = prev_h
        steps.append(step)
    return h, steps


def gru_backward(dh, cache):
    """Backpropagation through time for gru_forward: step t receives dh[:, t] plus the
    gradient step t + 1 sends back through its prev_h; the weight and bias gradients are
    summed over the steps.

    Inputs:
    - dh: (N, T, H) upstream gradient of every hidden state
    - cache: from gru_forward

    Returns (dx, dh0, dWx, dWh, dbx, dbh):
    - dx: (N, T, D)
    - dh0: (N, H)
    - dWx: (D, 3H)
    - dWh: (H, 3H)
    - dbx: (3H,)
    - dbh: (3H,)
    """
    N, T, H = dh.shape
    x, _, Wx, Wh = cache[0][:4]
    dx = np.zeros((N, T, x.shape[1]))
    dWx, dWh = np.zeros_like(Wx), np.zeros_like(Wh)
    dbx, dbh = np.zeros(3 * H), np.zeros(3 * H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dWx_t, dWh_t, dbx_t, dbh_t = gru_step_backward(dh[:, t] + dprev_h,
                                                                          cache[t])
        dWx += dWx_t
        dWh += dWh_t
        dbx += dbx_t
        dbh += dbh_t
    return dx, dprev_h, dWx, dWh, dbx, dbh
