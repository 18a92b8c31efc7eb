"""NumPy versions of the ``_rnn`` kernels: same signatures, same results up to rounding, used
when the extension is not built (or an array is empty) and as the step-by-step NumPy contender
of bench/bench_rnn.py. Each block of rows runs on its own, as in the compiled kernels, so that
results do not depend on how blocks are shared among threads. ``packed`` (the compiled
kernels' copy of Wh) is not used."""

import numpy as np


def pack(Wh, transpose):
    """The compiled kernels' packed Wh; the products here use Wh as it is."""
    return None


def _sigmoid(a):
    e = np.exp(-np.abs(a))  # in (0, 1]: never overflows
    return np.where(a >= 0, 1, e) / (1 + e)


def _blocks(bounds, q0, q1):
    return (slice(bounds[q], bounds[q + 1]) for q in range(q0, q1))


def _project(x, Wx):
    """x (rows, T, D) @ Wx (D, GH) as one product over all steps."""
    rows, T, D = x.shape
    return (x.reshape(rows * T, D) @ Wx).reshape(rows, T, Wx.shape[1])


def _weight_grads(x, h0, h, Wx, dax, dah):
    """dx, dWx, dbx, dWh, dbh of one block: one product (or sum) each over all its steps."""
    rows, T, D = x.shape
    GH, H = dax.shape[2], h0.shape[1]
    h_prev = np.concatenate((h0[:, None], h[:, :T - 1]), axis=1)[:, :T]
    dax_rows, dah_rows = dax.reshape(rows * T, GH), dah.reshape(rows * T, GH)
    return (dax @ Wx.T, x.reshape(rows * T, D).T @ dax_rows, dax_rows.sum(0, dtype=np.float64),
            h_prev.reshape(rows * T, H).T @ dah_rows, dah_rows.sum(0, dtype=np.float64))


def rnn_forward(x, h0, Wx, Wh, packed, b, h, bounds, q0, q1):
    for rows in _blocks(bounds, q0, q1):
        prev, xw = h0[rows], _project(x[rows], Wx)
        for t in range(x.shape[1]):
            h[rows, t] = prev = np.tanh(xw[:, t] + prev @ Wh + b)


def rnn_backward(x, h0, Wx, Wh, packed, h, dh, dx, dh0, da, dWx_parts, dWh_parts, db_parts,
                 bounds, q0, q1):
    for q, rows in enumerate(_blocks(bounds, q0, q1), q0):
        dnext = np.zeros_like(h0[rows])
        for t in reversed(range(x.shape[1])):
            da[rows, t] = (dh[rows, t] + dnext) * (1 - h[rows, t] ** 2)
            dnext = da[rows, t] @ Wh.T
        dh0[rows] = dnext
        dx[rows], dWx_parts[q], db_parts[q], dWh_parts[q], _ = _weight_grads(
            x[rows], h0[rows], h[rows], Wx, da[rows], da[rows])


def lstm_forward(x, h0, Wx, Wh, packed, b, h, gates, c, tc, bounds, q0, q1):
    H = h0.shape[1]
    for rows in _blocks(bounds, q0, q1):
        prev, c_prev, xw = h0[rows], np.zeros_like(h0[rows]), _project(x[rows], Wx)
        for t in range(x.shape[1]):
            a = xw[:, t] + prev @ Wh + b
            ifo, g = _sigmoid(a[:, :3 * H]), np.tanh(a[:, 3 * H:])
            i, f, o = ifo[:, :H], ifo[:, H:2 * H], ifo[:, 2 * H:]
            c[rows, t] = c_prev = f * c_prev + i * g
            tc[rows, t] = np.tanh(c_prev)
            h[rows, t] = prev = o * tc[rows, t]
            gates[rows, t] = np.concatenate((ifo, g), axis=1)


def lstm_backward(x, h0, Wx, Wh, packed, h, gates, c, tc, dh, dx, dh0, dc, da, dWx_parts, dWh_parts,
                  db_parts, bounds, q0, q1):
    H = h0.shape[1]
    for q, rows in enumerate(_blocks(bounds, q0, q1), q0):
        dnext, dc_next = np.zeros_like(h0[rows]), np.zeros_like(h0[rows])
        for t in reversed(range(x.shape[1])):
            a, t_c = gates[rows, t], tc[rows, t]
            i, f, o, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            c_prev = c[rows, t - 1] if t else np.zeros_like(t_c)
            dht = dh[rows, t] + dnext
            dct = dc_next + dht * o * (1 - t_c ** 2)
            da[rows, t] = np.concatenate((dct * g * i * (1 - i), dct * c_prev * f * (1 - f),
                                          dht * t_c * o * (1 - o), dct * i * (1 - g ** 2)), axis=1)
            dc_next, dnext = dct * f, da[rows, t] @ Wh.T
        dh0[rows] = dnext
        dx[rows], dWx_parts[q], db_parts[q], dWh_parts[q], _ = _weight_grads(
            x[rows], h0[rows], h[rows], Wx, da[rows], da[rows])


def gru_forward(x, h0, Wx, Wh, packed, bx, bh, h, gates, hn, hw, bounds, q0, q1):
    H = h0.shape[1]
    for rows in _blocks(bounds, q0, q1):
        prev, xw = h0[rows], _project(x[rows], Wx) + bx
        for t in range(x.shape[1]):
            hwt = prev @ Wh + bh
            rz = _sigmoid(xw[:, t, :2 * H] + hwt[:, :2 * H])
            r, z = rz[:, :H], rz[:, H:]
            hn[rows, t] = hwt[:, 2 * H:]
            n = np.tanh(xw[:, t, 2 * H:] + r * hn[rows, t])
            gates[rows, t] = np.concatenate((rz, n), axis=1)
            h[rows, t] = prev = (1 - z) * n + z * prev


def gru_backward(x, h0, Wx, Wh, packed, h, gates, hn, dh, dx, dh0, dax, dah, dWx_parts, dWh_parts,
                 dbx_parts, dbh_parts, bounds, q0, q1):
    H = h0.shape[1]
    for q, rows in enumerate(_blocks(bounds, q0, q1), q0):
        dnext = np.zeros_like(h0[rows])
        for t in reversed(range(x.shape[1])):
            a = gates[rows, t]
            r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            prev = h[rows, t - 1] if t else h0[rows]
            dht = dh[rows, t] + dnext
            dan = dht * (1 - z) * (1 - n ** 2)
            dar = dan * hn[rows, t] * r * (1 - r)
            daz = dht * (prev - n) * z * (1 - z)
            dax[rows, t] = np.concatenate((dar, daz, dan), axis=1)
            dah[rows, t] = np.concatenate((dar, daz, dan * r), axis=1)
            dnext = dht * z + dah[rows, t] @ Wh.T
        dh0[rows] = dnext
        dx[rows], dWx_parts[q], dbx_parts[q], dWh_parts[q], dbh_parts[q] = _weight_grads(
            x[rows], h0[rows], h[rows], Wx, dax[rows], dah[rows])
