"""Known A3 mistakes (instructor-side, never released): each reproduces, with the reference, a
classic bug of one reference function, so that the feedback on a wrong output can name it
(see grader/mistakes.py). ``mutant`` is the mutant of tests/mutants/a3.py that makes the bug.

A mistake takes the reference function's arguments; a backward pass gets the reference's cache.
"""
import numpy as np

from grader.mistakes import mistake
from solutions.a3_rnn import optim
from solutions.a3_rnn import rnn_layers as layers


def _last_step_only(dh):
    """dh with every step but the last zeroed: what a backward pass that never adds dh[:, t]
    for t < T - 1 sees."""
    only = np.zeros_like(dh)
    only[:, -1] = dh[:, -1]
    return only


def _gate_blocks(w, H, order):
    """``w`` (weights or biases) with its gate blocks of width H along the last axis taken in
    ``order``: the reference run on them reads the gates as a wrong order would."""
    return np.concatenate([w[..., k * H:(k + 1) * H] for k in order], axis=-1)


def _dh0_dropped(backward):
    """A sequence backward pass that returns zeros for dh0."""
    def dropped(dh, cache):
        dx, dh0, *grads = backward(dh, cache)
        return (dx, np.zeros_like(dh0), *grads)
    return dropped


# -- the vanilla RNN step ---------------------------------------------------------------------
@mistake("rnn_step_backward", "the derivative of tanh is taken as 1 - next_h instead of "
         "1 - next_h**2", mutant="rnn_tanh_derivative_without_square")
def rnn_tanh_derivative_unsquared(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@mistake("rnn_step_backward", "dWh is next_h.T @ da instead of prev_h.T @ da (Wh multiplies the "
         "previous hidden state)", mutant="rnn_step_dWh_from_next_h")
def rnn_dWh_from_next_h(dnext_h, cache):
    x, _, Wx, Wh, next_h = cache
    return layers.rnn_step_backward(dnext_h, (x, next_h, Wx, Wh, next_h))


@mistake("rnn_step_backward", "dprev_h is da @ Wh instead of da @ Wh.T (Wh is not transposed)",
         mutant="rnn_step_dprev_h_with_Wh_not_transposed")
def rnn_dprev_h_untransposed(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    return layers.rnn_step_backward(dnext_h, (x, prev_h, Wx, Wh.T, next_h))


# -- the RNN over a sequence ------------------------------------------------------------------
@mistake("rnn_forward", "h0 is ignored: the sequence starts from a zero hidden state",
         mutant="rnn_forward_h0_ignored")
def rnn_from_a_zero_state(x, h0, Wx, Wh, b):
    return layers.rnn_forward(x, np.zeros_like(h0), Wx, Wh, b)


@mistake("rnn_backward", "a step before the last gets only the gradient its successor sends "
         "back, without its own dh[:, t] added", mutant="rnn_backward_output_gradient_not_added")
def rnn_backward_last_output_only(dh, cache):
    return layers.rnn_backward(_last_step_only(dh), cache)


@mistake("rnn_backward", "dh0 is returned as zeros instead of the gradient step 0 sends back "
         "through prev_h", mutant="rnn_backward_dh0_dropped")
def rnn_dh0_dropped(dh, cache):
    return _dh0_dropped(layers.rnn_backward)(dh, cache)


@mistake("rnn_backward", "dWx is overwritten at every step instead of summed over the steps "
         "(it keeps step 0's gradient only)", mutant="rnn_backward_weight_gradients_overwritten")
def rnn_dWx_of_step_0_only(dh, cache):
    dx, dh0, _, dWh, db = layers.rnn_backward(dh, cache)
    # what step 1 sends back to step 0: dh0 of the same sequence without its first step
    from_step_1 = layers.rnn_backward(dh[:, 1:], cache[1:])[1] if len(cache) > 1 else 0.0
    dWx = layers.rnn_step_backward(dh[:, 0] + from_step_1, cache[0])[2]
    return dx, dh0, dWx, dWh, db


# -- word embeddings --------------------------------------------------------------------------
@mistake("word_embedding_backward", "a word that occurs several times gets the gradient of one "
         "occurrence only, not their sum (dW[x] += dout and dW[x] = dout write each row once; "
         "np.add.at(dW, x, dout) adds every occurrence)",
         mutant="embedding_gradient_added_by_fancy_indexing")
def embedding_one_occurrence_per_word(dout, cache):
    x, shape = cache
    dW = np.zeros(shape)
    dW[x] += dout
    return dW


# -- temporal affine and softmax --------------------------------------------------------------
@mistake("temporal_affine_backward", "db is summed over the batch only, not over time too",
         mutant="temporal_affine_db_not_summed_over_time")
def temporal_db_per_step(dout, cache):
    dx, dw, _ = layers.temporal_affine_backward(dout, cache)
    return dx, dw, dout.sum(axis=0)


def _every_step(mask):
    return np.ones_like(mask, dtype=bool)


# before the one below: with the mask ignored, dx is not masked either (the first named wins)
@mistake("temporal_softmax_loss", "dx is not masked: the padded steps get a gradient too",
         mutant="temporal_softmax_dx_not_masked")
def softmax_dx_not_masked(x, y, mask):
    loss, _ = layers.temporal_softmax_loss(x, y, mask)
    return loss, layers.temporal_softmax_loss(x, y, _every_step(mask))[1]


@mistake("temporal_softmax_loss", "the mask is ignored: the padded steps count in the loss and "
         "get a gradient", mutant="temporal_softmax_mask_ignored")
def softmax_mask_ignored(x, y, mask):
    return layers.temporal_softmax_loss(x, y, _every_step(mask))


# before the one below: with every step counted, the counted steps are N * T
@mistake("temporal_softmax_loss", "the loss and dx are divided by N * T (every step, counted or "
         "not) instead of by the batch size N", mutant="temporal_softmax_mean_over_every_step")
def softmax_mean_over_every_step(x, y, mask):
    loss, dx = layers.temporal_softmax_loss(x, y, mask)
    return loss / x.shape[1], dx / x.shape[1]


@mistake("temporal_softmax_loss", "the loss and dx are divided by the number of counted steps "
         "instead of by the batch size N", mutant="temporal_softmax_mean_over_the_counted_steps")
def softmax_mean_over_the_counted_steps(x, y, mask):
    loss, dx = layers.temporal_softmax_loss(x, y, mask)
    scale = x.shape[0] / np.count_nonzero(mask)
    return loss * scale, dx * scale


# -- the LSTM step ----------------------------------------------------------------------------
def _lstm_step_grads(dc, dnext_h, cache):
    """lstm_step_backward's gradients given dc, the gradient of next_c on both its paths."""
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    da = np.hstack([dc * g * i * (1 - i), dc * prev_c * f * (1 - f),
                    dnext_h * tanh_c * o * (1 - o), dc * i * (1 - g ** 2)])
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


@mistake("lstm_step_forward", "the gates are read in the order i, f, g, o instead of i, f, o, g",
         mutant="lstm_gate_order_i_f_g_o")
def lstm_gates_i_f_g_o(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    return layers.lstm_step_forward(x, prev_h, prev_c,
                                    *(_gate_blocks(w, H, (0, 1, 3, 2)) for w in (Wx, Wh, b)))


@mistake("lstm_step_backward", "dnext_c, the gradient that reaches the cell state directly, is "
         "not added to dc", mutant="lstm_step_dnext_c_ignored")
def lstm_dnext_c_ignored(dnext_h, dnext_c, cache):
    return layers.lstm_step_backward(dnext_h, np.zeros_like(dnext_c), cache)


@mistake("lstm_step_backward", "the path through next_h = o * tanh(next_c) leaves out o: dc gets "
         "dnext_h * (1 - tanh(next_c)**2) instead of dnext_h * o * (1 - tanh(next_c)**2)",
         mutant="lstm_step_tanh_c_derivative_without_o")
def lstm_tanh_c_derivative_without_o(dnext_h, dnext_c, cache):
    tanh_c = cache[-1]
    return _lstm_step_grads(dnext_c + dnext_h * (1 - tanh_c ** 2), dnext_h, cache)


@mistake("lstm_step_backward", "dprev_c is dc instead of dc * f (next_c = f * prev_c + i * g)",
         mutant="lstm_step_dprev_c_without_forget_gate")
def lstm_dprev_c_without_f(dnext_h, dnext_c, cache):
    o, tanh_c = cache[7], cache[9]
    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)
    dx, dprev_h, _, *grads = _lstm_step_grads(dc, dnext_h, cache)
    return (dx, dprev_h, dc, *grads)


# -- the LSTM over a sequence -----------------------------------------------------------------
@mistake("lstm_forward", "the cell state is not carried from step to step: every step starts "
         "from c = 0", mutant="lstm_forward_cell_state_not_carried")
def lstm_cell_state_reset(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h, zero = np.zeros((N, T, h0.shape[1])), np.zeros_like(h0)
    steps, prev_h = [], h0
    for t in range(T):
        prev_h, _, step = layers.lstm_step_forward(x[:, t], prev_h, zero, Wx, Wh, b)
        h[:, t] = prev_h
        steps.append(step)
    return h, steps


@mistake("lstm_backward", "a step before the last gets only the gradient its successor sends "
         "back, without its own dh[:, t] added", mutant="lstm_backward_output_gradient_not_added")
def lstm_backward_last_output_only(dh, cache):
    return layers.lstm_backward(_last_step_only(dh), cache)


@mistake("lstm_backward", "the cell state's gradient is not carried back: every step gets "
         "dnext_c = 0 instead of the dprev_c of the step after it",
         mutant="lstm_backward_cell_gradient_not_carried")
def lstm_cell_gradient_not_carried(dh, cache):
    N, T, H = dh.shape
    dx, dprev_h, totals = np.zeros((N, T, cache[0][0].shape[1])), np.zeros((N, H)), None
    for t in reversed(range(T)):
        dx[:, t], dprev_h, _, *grads = layers.lstm_step_backward(dh[:, t] + dprev_h,
                                                                 np.zeros((N, H)), cache[t])
        totals = grads if totals is None else [a + g for a, g in zip(totals, grads, strict=True)]
    return (dx, dprev_h, *totals)


# -- the GRU step -----------------------------------------------------------------------------
@mistake("gru_step_forward", "the gates are read in the order z, r, n instead of r, z, n",
         mutant="gru_gate_order_z_r_n")
def gru_gates_z_r_n(x, prev_h, Wx, Wh, bx, bh):
    H = prev_h.shape[1]
    return layers.gru_step_forward(x, prev_h,
                                   *(_gate_blocks(w, H, (1, 0, 2)) for w in (Wx, Wh, bx, bh)))


@mistake("gru_step_forward", "z and 1 - z are swapped: next_h = z * n + (1 - z) * prev_h "
         "instead of (1 - z) * n + z * prev_h", mutant="gru_update_gate_swapped")
def gru_update_gate_swapped(x, prev_h, Wx, Wh, bx, bh):
    H = prev_h.shape[1]
    flip = np.concatenate([np.ones(H), -np.ones(H), np.ones(H)])  # sigmoid(-a) = 1 - sigmoid(a)
    return layers.gru_step_forward(x, prev_h, Wx * flip, Wh * flip, bx * flip, bh * flip)


@mistake("gru_step_forward", "the hidden-side bias of n is added outside the reset gate: "
         "r * (prev_h @ Wh_n) + bh_n instead of r * (prev_h @ Wh_n + bh_n)",
         mutant="gru_hidden_bias_outside_the_reset_gate")
def gru_hidden_bias_outside_the_reset_gate(x, prev_h, Wx, Wh, bx, bh):
    H = prev_h.shape[1]
    moved = np.concatenate([np.zeros(2 * H), bh[2 * H:]])  # bh_n on the input side
    return layers.gru_step_forward(x, prev_h, Wx, Wh, bx + moved, bh - moved)


@mistake("gru_step_forward", "the reset gate multiplies prev_h before its product with Wh_n "
         "((r * prev_h) @ Wh_n, the original GRU) instead of after it "
         "(r * (prev_h @ Wh_n + bh_n), PyTorch's)",
         mutant="gru_reset_gate_before_the_product_with_Wh")
def gru_reset_gate_before_the_product(x, prev_h, Wx, Wh, bx, bh):
    H = prev_h.shape[1]
    ax = x @ Wx + bx
    a_rz = ax[:, :2 * H] + prev_h @ Wh[:, :2 * H] + bh[:2 * H]
    r, z = layers._sigmoid(a_rz[:, :H]), layers._sigmoid(a_rz[:, H:])
    n = np.tanh(ax[:, 2 * H:] + (r * prev_h) @ Wh[:, 2 * H:] + bh[2 * H:])
    return (1 - z) * n + z * prev_h, None  # no listed backward uses this cache


@mistake("gru_step_backward", "dbh is taken equal to dbx, but the reset gate scales the "
         "hidden side of n: that part of dbh sums dan * r", mutant="gru_step_dbh_equals_dbx")
def gru_dbh_equals_dbx(dnext_h, cache):
    *grads, dbx, _ = layers.gru_step_backward(dnext_h, cache)
    return (*grads, dbx, dbx.copy())


@mistake("gru_step_backward", "dprev_h misses the direct path: next_h = (1 - z) * n + z * prev_h "
         "also sends dnext_h * z straight to prev_h",
         mutant="gru_step_dprev_h_without_the_direct_path")
def gru_dprev_h_without_the_direct_path(dnext_h, cache):
    z = cache[5]
    dx, dprev_h, *grads = layers.gru_step_backward(dnext_h, cache)
    return (dx, dprev_h - dnext_h * z, *grads)


# -- the GRU over a sequence ------------------------------------------------------------------
@mistake("gru_backward", "a step before the last gets only the gradient its successor sends "
         "back, without its own dh[:, t] added",
         mutant="gru_backward_output_gradient_only_at_the_last_step")
def gru_backward_last_output_only(dh, cache):
    return layers.gru_backward(_last_step_only(dh), cache)


@mistake("gru_backward", "dh0 is returned as zeros instead of the gradient step 0 sends back "
         "through prev_h", mutant="gru_backward_dh0_dropped")
def gru_dh0_dropped(dh, cache):
    return _dh0_dropped(layers.gru_backward)(dh, cache)


# -- clipping ---------------------------------------------------------------------------------
def _clipped_by(grads, max_norm, norm):
    """grads clipped as the reference clips them, but by ``norm``, returned as the total."""
    scale = max_norm / norm if norm > max_norm else 1.0
    return {name: g * scale for name, g in grads.items()}, norm


@mistake("clip_grad_norm", "the gradients are scaled by max_norm / total_norm even when "
         "total_norm is below max_norm (scaled up instead of left as they are)",
         mutant="clip_always_scales")
def clip_always_scales(grads, max_norm):
    _, total_norm = optim.clip_grad_norm(grads, max_norm)
    return {name: g * (max_norm / total_norm) for name, g in grads.items()}, total_norm


@mistake("clip_grad_norm", "the norm is the sum of the squares, without the square root",
         mutant="clip_norm_without_sqrt")
def clip_norm_without_sqrt(grads, max_norm):
    return _clipped_by(grads, max_norm, float(sum(np.sum(g * g) for g in grads.values())))


@mistake("clip_grad_norm", "the norm is the sum of each gradient's own norm instead of the "
         "square root of the sum of all their squares", mutant="clip_norm_sums_the_tensor_norms")
def clip_norm_sums_the_tensor_norms(grads, max_norm):
    norms = (np.sqrt(np.sum(g * g)) for g in grads.values())
    return _clipped_by(grads, max_norm, float(sum(norms)))


@mistake("clip_grad_norm", "each gradient is clipped by its own norm instead of all of them by "
         "their global norm", mutant="clip_each_tensor_by_its_own_norm")
def clip_each_by_its_own_norm(grads, max_norm):
    _, total_norm = optim.clip_grad_norm(grads, max_norm)
    clipped = {name: _clipped_by({name: g}, max_norm, np.sqrt(np.sum(g * g)))[0][name]
               for name, g in grads.items()}
    return clipped, total_norm
