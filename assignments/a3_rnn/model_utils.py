"""Given code, nothing to write here: what the A3 models share, built on your layers.

- `init_cell`, `cell_forward` and `cell_backward` run any of the three recurrent cells
  ("rnn", "lstm", "gru") by name over a sequence, from a carried state, with YOUR step
  functions from rnn_layers.py. The state is h (N, H) for the RNN and the GRU and the pair
  (h, c) for the LSTM, so a model can start where an earlier chunk or an encoder stopped.
- `train` is a plain minibatch loop: your model's loss, then YOUR optim.clip_grad_norm and
  YOUR optim.adam (task a3.adam: A1's update rule restated, as each assignment stands alone).

Keep this file in the folder you hand in: the models import it.
"""
import numpy as np

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import optim, rnn_layers
except ImportError:
    import optim, rnn_layers  # noqa: E401 - the flat twin of the import above

GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # stacked gate blocks along the weights' second axis


def _check_cell(cell):
    if cell not in GATES:
        raise ValueError(f"unknown cell type {cell!r}; expected one of {sorted(GATES)}")


def init_cell(cell, input_dim, hidden_dim, rng, dtype=np.float64, suffix=""):
    """Parameters of one recurrent layer: 'Wx' + suffix (input_dim, gH) ~ N(0, 1 / input_dim),
    'Wh' + suffix (hidden_dim, gH) ~ N(0, 1 / hidden_dim), biases zero ('b' + suffix (gH,);
    for the GRU 'bx' + suffix and 'bh' + suffix), with g = GATES[cell]."""
    _check_cell(cell)
    width = GATES[cell] * hidden_dim
    params = {f"Wx{suffix}": rng.standard_normal((input_dim, width)) / np.sqrt(input_dim),
              f"Wh{suffix}": rng.standard_normal((hidden_dim, width)) / np.sqrt(hidden_dim)}
    biases = ("bx", "bh") if cell == "gru" else ("b",)
    params.update({f"{name}{suffix}": np.zeros(width) for name in biases})
    return {name: value.astype(dtype) for name, value in params.items()}


def zero_state(cell, N, H, dtype=np.float64):
    """The state a sequence starts from when nothing comes before it."""
    h = np.zeros((N, H), dtype=dtype)
    return (h, h.copy()) if cell == "lstm" else h


def cell_forward(cell, x, state, params, suffix=""):
    """Run one recurrent layer over x (N, T, D) from `state`, one call of your step forward per
    time step. Returns (h, last_state, cache): h (N, T, H) every hidden state, last_state the
    state after the last step (for the next chunk or a decoder), cache for cell_backward."""
    _check_cell(cell)
    Wx, Wh = params[f"Wx{suffix}"], params[f"Wh{suffix}"]
    steps = []
    if cell == "lstm":
        h, c = state
    else:
        h = state
    out = []
    for t in range(x.shape[1]):
        if cell == "rnn":
            h, step = rnn_layers.rnn_step_forward(x[:, t], h, Wx, Wh, params[f"b{suffix}"])
        elif cell == "lstm":
            h, c, step = rnn_layers.lstm_step_forward(x[:, t], h, c, Wx, Wh, params[f"b{suffix}"])
        else:
            h, step = rnn_layers.gru_step_forward(x[:, t], h, Wx, Wh, params[f"bx{suffix}"],
                                                  params[f"bh{suffix}"])
        out.append(h)
        steps.append(step)
    hs = np.stack(out, axis=1) if out else np.zeros((x.shape[0], 0, Wh.shape[0]), Wh.dtype)
    return hs, ((h, c) if cell == "lstm" else h), (cell, suffix, steps)


def cell_backward(dh, cache, dlast=None):
    """Backpropagation through time for cell_forward. dh (N, T, H) is the gradient reaching
    every hidden state from above; dlast, if given, the gradient of last_state (shaped like the
    state: a decoder's gradient of the encoder's last state). Returns (dx, dstate, grads): dx
    (N, T, D), dstate the gradient of the starting state (shaped like it), grads the
    parameters' gradients under the same names as in params."""
    cell, suffix, steps = cache
    N, T, H = dh.shape
    dnext_h = np.zeros((N, H), dh.dtype)
    dnext_c = np.zeros((N, H), dh.dtype)
    if dlast is not None:
        if cell == "lstm":
            dnext_h, dnext_c = dnext_h + dlast[0], dnext_c + dlast[1]
        else:
            dnext_h = dnext_h + dlast
    names = ("Wx", "Wh", "bx", "bh") if cell == "gru" else ("Wx", "Wh", "b")
    grads, dx = {}, [None] * T
    for t in reversed(range(T)):
        if cell == "rnn":
            dx[t], dnext_h, *dparams = rnn_layers.rnn_step_backward(dh[:, t] + dnext_h, steps[t])
        elif cell == "lstm":
            dx[t], dnext_h, dnext_c, *dparams = rnn_layers.lstm_step_backward(
                dh[:, t] + dnext_h, dnext_c, steps[t])
        else:
            dx[t], dnext_h, *dparams = rnn_layers.gru_step_backward(dh[:, t] + dnext_h, steps[t])
        if len(dparams) != len(names):
            raise ValueError(f"your {cell}_step_backward returned {len(dparams) + 2} values; "
                             f"expected {len(names) + (3 if cell == 'lstm' else 2)}")
        for name, value in zip(names, dparams, strict=True):
            key = f"{name}{suffix}"
            grads[key] = grads[key] + value if key in grads else value
    dx = np.stack(dx, axis=1) if T else None
    return dx, ((dnext_h, dnext_c) if cell == "lstm" else dnext_h), grads


def train(model, batches, learning_rate=1e-2, max_norm=5.0, on_step=None):
    """Train model.params in place: for each tuple of arguments in `batches`,
    loss, grads = model.loss(*args); grads clipped to global norm max_norm with your
    clip_grad_norm; one step of your adam per parameter (each with its own moments).
    on_step(i, loss), if given, is called after every step (a progress bar). Returns the list
    of losses, one per batch."""
    configs, losses = {}, []
    for i, args in enumerate(batches):
        loss, grads = model.loss(*args)
        grads, _ = optim.clip_grad_norm(grads, max_norm)
        for name, grad in grads.items():
            config = configs.setdefault(name, {"learning_rate": learning_rate})
            model.params[name], configs[name] = optim.adam(model.params[name], grad, config)
        losses.append(float(loss))
        if on_step is not None:
            on_step(i, float(loss))
    return losses
