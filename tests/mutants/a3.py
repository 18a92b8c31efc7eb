"""Plausible wrong A3 implementations (mutants) and correct-but-different ones (alternatives).

Each mutant is the reference solution with one bug (see tests/mutants/common.py). The sequence
functions call the student's own step functions, so a bug in a step may also cost points on its
sequence task; nothing else is built from another task's code, so every other mutant loses
points on its own task only.
"""

from __future__ import annotations

from mutants.common import ROOT, Variant, appended, replaced

REFERENCE = ROOT / "solutions" / "a3_rnn"
SKIPPED = ()
DEPENDENTS = {"a3.rnn_step": ("a3.rnn",), "a3.lstm_step": ("a3.lstm",),
              "a3.gru_step": ("a3.gru",)}
# The character-level language model (language_model.py): CharLM runs the student's steps,
# embedding and temporal layers; train_tbptt trains the student's CharLM with the student's
# clipping and Adam. Its training run is slow, so a3.tbptt is graded for its own mutants only.
SKIPPED += ("a3.tbptt",)
for _task in ("a3.rnn_step", "a3.lstm_step", "a3.gru_step", "a3.embedding", "a3.temporal"):
    DEPENDENTS[_task] = DEPENDENTS.get(_task, ()) + ("a3.charlm", "a3.tbptt")
for _task in ("a3.clipping", "a3.adam", "a3.charlm"):
    DEPENDENTS[_task] = DEPENDENTS.get(_task, ()) + ("a3.tbptt",)

# The sequence classifier (classifier.py) runs the student's steps and embedding;
# train_classifier trains it with the student's clipping and Adam. Its training run is slow, so
# a3.classifier_training is graded for its own mutants only.
SKIPPED += ("a3.classifier_training",)
for _task in ("a3.rnn_step", "a3.lstm_step", "a3.gru_step", "a3.embedding"):
    DEPENDENTS[_task] = DEPENDENTS.get(_task, ()) + ("a3.classifier", "a3.classifier_training")
for _task in ("a3.clipping", "a3.adam"):
    DEPENDENTS[_task] = DEPENDENTS.get(_task, ()) + ("a3.classifier_training",)
DEPENDENTS["a3.classifier"] = ("a3.classifier_training",)

# The digit captioner (captioner.py) and the seq2seq encoder-decoder (seq2seq.py) run the
# student's steps, embedding and temporal layers; train_captioner and train_seq2seq train them
# with the student's clipping and Adam. Their training runs are slow, so the two training tasks
# are graded for their own mutants only.
SKIPPED += ("a3.captioner_training", "a3.seq2seq_training")
for _task in ("a3.rnn_step", "a3.lstm_step", "a3.gru_step", "a3.embedding", "a3.temporal"):
    DEPENDENTS[_task] = DEPENDENTS.get(_task, ()) + (
        "a3.captioner", "a3.captioner_training", "a3.seq2seq", "a3.seq2seq_training")
for _task in ("a3.clipping", "a3.adam"):
    DEPENDENTS[_task] = DEPENDENTS.get(_task, ()) + ("a3.captioner_training",
                                                     "a3.seq2seq_training")
DEPENDENTS["a3.captioner"] = ("a3.captioner_training",)
DEPENDENTS["a3.seq2seq"] = ("a3.seq2seq_training",)


def _dependents(task: str) -> tuple[str, ...]:
    return DEPENDENTS.get(task, ())


def _changes(name: str, task: str, *changes: tuple[str, str, str]) -> Variant:
    """A mutant of several changes in place that make one bug (a forward and its backward)."""
    return Variant(name, tuple((file.removesuffix(".py"), (old, new)) for file, old, new in changes),
                   task, _dependents(task))


R, OPTIM = "rnn_layers.py", "optim.py"
_REPLACEMENTS = {  # name: (task, file, old text, new text)
 # -- the vanilla RNN step --------------------------------------------------------------------
 "rnn_tanh_derivative_without_square": ("a3.rnn_step", R,
    "da = dnext_h * (1 - next_h ** 2)", "da = dnext_h * (1 - next_h)"),
 "rnn_step_dWh_from_next_h": ("a3.rnn_step", R,
    "return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)",
    "return da @ Wx.T, da @ Wh.T, x.T @ da, next_h.T @ da, da.sum(axis=0)"),
 "rnn_step_dprev_h_with_Wh_not_transposed": ("a3.rnn_step", R,
    "return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)",
    "return da @ Wx.T, da @ Wh, x.T @ da, prev_h.T @ da, da.sum(axis=0)"),
 # -- the RNN over a sequence -----------------------------------------------------------------
 "rnn_backward_output_gradient_not_added": ("a3.rnn", R,
    "rnn_step_backward(dh[:, t] + dprev_h, cache[t])",
    "rnn_step_backward(dh[:, t] if t == T - 1 else dprev_h, cache[t])"),
 "rnn_backward_dh0_dropped": ("a3.rnn", R,
    "        db += db_t\n    return dx, dprev_h, dWx, dWh, db\n\n\ndef word_embedding_forward",
    "        db += db_t\n    return dx, np.zeros_like(dprev_h), dWx, dWh, db\n\n\ndef word_embedding_forward"),
 "rnn_backward_weight_gradients_overwritten": ("a3.rnn", R,
    "rnn_step_backward(dh[:, t] + dprev_h, cache[t])\n        dWx += dWx_t",
    "rnn_step_backward(dh[:, t] + dprev_h, cache[t])\n        dWx = dWx_t"),
 "rnn_forward_h0_ignored": ("a3.rnn", R,
    "    steps, prev_h = [], h0\n    for t in range(T):\n        prev_h, step = rnn_step_forward",
    "    steps, prev_h = [], np.zeros_like(h0)\n    for t in range(T):\n        prev_h, step = rnn_step_forward"),
 # -- word embeddings -------------------------------------------------------------------------
 "embedding_gradient_overwritten": ("a3.embedding", R,
    "    np.add.at(dW, x, dout)\n    return dW", "    dW[x] = dout\n    return dW"),
 "embedding_gradient_added_by_fancy_indexing": ("a3.embedding", R,
    "    np.add.at(dW, x, dout)\n    return dW", "    dW[x] += dout\n    return dW"),
 # -- temporal affine and softmax -------------------------------------------------------------
 "temporal_affine_db_not_summed_over_time": ("a3.temporal", R,
    "return dout @ w.T, dw, dout.sum(axis=(0, 1))", "return dout @ w.T, dw, dout.sum(axis=0)"),
 "temporal_softmax_without_the_max_shift": ("a3.temporal", R,
    "shifted = flat - flat.max(axis=1, keepdims=True)", "shifted = flat"),
 "temporal_softmax_dx_not_masked": ("a3.temporal", R, "dx *= keep / N", "dx /= N"),
 # -- the LSTM step ---------------------------------------------------------------------------
 "lstm_step_dnext_c_ignored": ("a3.lstm_step", R,
    "dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)", "dc = dnext_h * o * (1 - tanh_c ** 2)"),
 "lstm_step_tanh_c_derivative_without_o": ("a3.lstm_step", R,
    "dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)", "dc = dnext_c + dnext_h * (1 - tanh_c ** 2)"),
 "lstm_step_dprev_c_without_forget_gate": ("a3.lstm_step", R,
    "    dprev_c = dc * f\n", "    dprev_c = dc\n"),
 # -- the LSTM over a sequence ----------------------------------------------------------------
 "lstm_backward_cell_gradient_not_carried": ("a3.lstm", R,
    "dh[:, t] + dprev_h, dprev_c, cache[t])", "dh[:, t] + dprev_h, np.zeros((N, H)), cache[t])"),
 "lstm_backward_output_gradient_not_added": ("a3.lstm", R,
    "dh[:, t] + dprev_h, dprev_c, cache[t])", "dh[:, t] if t == T - 1 else dprev_h, dprev_c, cache[t])"),
 "lstm_forward_cell_state_not_carried": ("a3.lstm", R,
    "prev_h, prev_c, step = lstm_step_forward(", "prev_h, next_c, step = lstm_step_forward("),
 # -- the GRU step ----------------------------------------------------------------------------
 "gru_hidden_bias_outside_the_reset_gate": ("a3.gru_step", R,
    "n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])",
    "n = np.tanh(ax[:, 2 * H:] + r * (ah[:, 2 * H:] - bh[2 * H:]) + bh[2 * H:])"),
 "gru_step_dbh_equals_dbx": ("a3.gru_step", R,
    "dax.sum(axis=0), dah.sum(axis=0)", "dax.sum(axis=0), dax.sum(axis=0)"),
 "gru_step_dprev_h_without_the_direct_path": ("a3.gru_step", R,
    "    dprev_h = dnext_h * z + dah @ Wh.T\n", "    dprev_h = dah @ Wh.T\n"),
 # -- the GRU over a sequence -----------------------------------------------------------------
 "gru_backward_dh0_dropped": ("a3.gru", R,
    "return dx, dprev_h, dWx, dWh, dbx, dbh", "return dx, np.zeros_like(dprev_h), dWx, dWh, dbx, dbh"),
 "gru_backward_output_gradient_only_at_the_last_step": ("a3.gru", R,
    "gru_step_backward(dh[:, t] + dprev_h,", "gru_step_backward(dh[:, t] if t == T - 1 else dprev_h,"),
 # -- clipping --------------------------------------------------------------------------------
 "clip_always_scales": ("a3.clipping", OPTIM,
    "scale = max_norm / total_norm if total_norm > max_norm else 1.0", "scale = max_norm / total_norm"),
 "clip_norm_without_sqrt": ("a3.clipping", OPTIM,
    "total_norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))",
    "total_norm = float(sum(np.sum(g * g) for g in grads.values()))"),
 "clip_norm_sums_the_tensor_norms": ("a3.clipping", OPTIM,
    "total_norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))",
    "total_norm = float(sum(np.sqrt(np.sum(g * g)) for g in grads.values()))"),
 # -- Adam ------------------------------------------------------------------------------------
 "adam_without_bias_correction": ("a3.adam", OPTIM,
    'm_hat = config["m"] / (1 - beta1 ** config["t"])', 'm_hat = config["m"]'),
 "adam_step_counter_not_incremented": ("a3.adam", OPTIM,
    '    config["t"] += 1\n    config["m"] = beta1', '    config["m"] = beta1'),
 "adam_epsilon_inside_the_root": ("a3.adam", OPTIM,
    '(np.sqrt(v_hat) + config["epsilon"])', 'np.sqrt(v_hat + config["epsilon"])'),
}

MUTANTS: list[Variant] = replaced(_REPLACEMENTS, _dependents)
# A forward and its backward changed together: the code agrees with its own numerical
# gradients, but it computes another layer than the one asked for (another gate order, the
# original GRU, a loss normalised otherwise).
MUTANTS += [
    _changes("lstm_gate_order_i_f_g_o", "a3.lstm_step",
             (R, "_sigmoid(a[:, 2 * H:3 * H])\n    g = np.tanh(a[:, 3 * H:])",
              "_sigmoid(a[:, 3 * H:])\n    g = np.tanh(a[:, 2 * H:3 * H])"),
             (R, "do * o * (1 - o), dg * (1 - g ** 2)]", "dg * (1 - g ** 2), do * o * (1 - o)]")),
    _changes("gru_gate_order_z_r_n", "a3.gru_step",
             (R, "r = _sigmoid(ax[:, :H] + ah[:, :H])\n    z = _sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])",
              "z = _sigmoid(ax[:, :H] + ah[:, :H])\n    r = _sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])"),
             (R, "np.hstack([dar, daz, dan]), np.hstack([dar, daz, dan * r])",
              "np.hstack([daz, dar, dan]), np.hstack([daz, dar, dan * r])")),
    _changes("gru_update_gate_swapped", "a3.gru_step",
             (R, "\n    next_h = (1 - z) * n + z * prev_h", "\n    next_h = z * n + (1 - z) * prev_h"),
             (R, "dn, dz = dnext_h * (1 - z), dnext_h * (prev_h - n)",
              "dn, dz = dnext_h * z, dnext_h * (n - prev_h)"),
             (R, "    dprev_h = dnext_h * z + dah @ Wh.T\n", "    dprev_h = dnext_h * (1 - z) + dah @ Wh.T\n")),
    _changes("temporal_softmax_mask_ignored", "a3.temporal",
             (R, "loss = -np.sum(keep[:, 0] * log_probs[rows, targets]) / N",
              "loss = -np.sum(log_probs[rows, targets]) / N"),
             (R, "dx *= keep / N", "dx /= N")),
    _changes("temporal_softmax_mean_over_every_step", "a3.temporal",
             (R, "log_probs[rows, targets]) / N", "log_probs[rows, targets]) / (N * T)"),
             (R, "dx *= keep / N", "dx *= keep / (N * T)")),
    _changes("temporal_softmax_mean_over_the_counted_steps", "a3.temporal",
             (R, "log_probs[rows, targets]) / N", "log_probs[rows, targets]) / keep.sum()"),
             (R, "dx *= keep / N", "dx *= keep / keep.sum()")),
    appended("gru_reset_gate_before_the_product_with_Wh", "rnn_layers", "a3.gru_step", """
        # the original GRU (Cho et al. 2014; PyTorch's is another): the reset gate multiplies
        # prev_h before its product with Wh_n, n = tanh(x Wx_n + bx_n + (r * prev_h) Wh_n + bh_n)
        def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
            H = prev_h.shape[1]
            ax = x @ Wx + bx
            a_rz = ax[:, :2 * H] + prev_h @ Wh[:, :2 * H] + bh[:2 * H]
            r, z = _sigmoid(a_rz[:, :H]), _sigmoid(a_rz[:, H:])
            hr = r * prev_h
            n = np.tanh(ax[:, 2 * H:] + hr @ Wh[:, 2 * H:] + bh[2 * H:])
            return (1 - z) * n + z * prev_h, (x, prev_h, Wx, Wh, r, z, n, hr)

        def gru_step_backward(dnext_h, cache):
            x, prev_h, Wx, Wh, r, z, n, hr = cache
            H = prev_h.shape[1]
            dan = dnext_h * (1 - z) * (1 - n ** 2)
            dhr = dan @ Wh[:, 2 * H:].T
            dar, daz = dhr * prev_h * r * (1 - r), dnext_h * (prev_h - n) * z * (1 - z)
            dax, da_rz = np.hstack([dar, daz, dan]), np.hstack([dar, daz])
            dprev_h = dnext_h * z + da_rz @ Wh[:, :2 * H].T + dhr * r
            dWh = np.hstack([prev_h.T @ da_rz, hr.T @ dan])
            return dax @ Wx.T, dprev_h, x.T @ dax, dWh, dax.sum(axis=0), dax.sum(axis=0)
        """, _dependents("a3.gru_step")),
    appended("clip_each_tensor_by_its_own_norm", "optim", "a3.clipping", """
        def clip_grad_norm(grads, max_norm):
            clipped, total = {}, 0.0
            for name, g in grads.items():
                norm = np.sqrt(np.sum(g * g))
                total += norm ** 2
                clipped[name] = g * (max_norm / norm) if norm > max_norm else g
            return clipped, float(np.sqrt(total))
        """),
    appended("clip_scales_grads_in_place", "optim", "a3.clipping", """
        def clip_grad_norm(grads, max_norm):
            total_norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
            if total_norm > max_norm:
                for g in grads.values():
                    g *= max_norm / total_norm
            return grads, total_norm
        """),
]

# -- the character-level language model and truncated BPTT (language_model.py) ----------------
LM = "language_model.py"
_LM_REPLACEMENTS = {  # name: (task, file, old text, new text)
 "charlm_embedding_gradient_dropped": ("a3.charlm", LM,
    'grads["W_embed"] = rnn_layers.word_embedding_backward(dh, embed_cache)',
    'grads["W_embed"] = np.zeros_like(self.params["W_embed"])'),
 "charlm_given_state_ignored": ("a3.charlm", LM,
    "        if state is None:\n            state = [model_utils.zero_state(",
    "        if True:\n            state = [model_utils.zero_state("),
 "charlm_last_state_is_the_first_state": ("a3.charlm", LM,
    "            last_state.append(last)", "            last_state.append(state[k - 1])"),
 "sample_temperature_multiplied": ("a3.charlm", LM, "z = s / temperature", "z = s * temperature"),
 "sample_state_not_carried": ("a3.charlm", LM,
    "scores, state, _ = self._forward(np.array([[current]]), state)",
    "scores, _, _ = self._forward(np.array([[current]]), None)"),
 "tbptt_state_not_carried": ("a3.tbptt", LM,
    "model.loss(x, y, state)\n        grads, _", "model.loss(x, y, None)\n        grads, _"),
 "tbptt_state_not_reset_when_the_streams_wrap": ("a3.tbptt", LM,
    "        if k == 0:\n            state = None\n", ""),
 "tbptt_targets_not_shifted": ("a3.tbptt", LM,
    "y = streams[:, begin + 1:begin + seq_len + 1]", "y = streams[:, begin:begin + seq_len]"),
 "tbptt_clipping_skipped": ("a3.tbptt", LM,
    "        grads, _ = optim.clip_grad_norm(grads, max_norm)\n", ""),
 "tbptt_streams_interleaved": ("a3.tbptt", LM,
    "streams = data[:batch_size * S].reshape(batch_size, S)",
    "streams = data[:batch_size * S].reshape(S, batch_size).T"),
 "tbptt_adam_moments_restarted_every_iteration": ("a3.tbptt", LM,
    'config = configs.setdefault(name, {"learning_rate": learning_rate})',
    'config = {"learning_rate": learning_rate}'),
}
MUTANTS += replaced(_LM_REPLACEMENTS, _dependents)
MUTANTS += [
    _changes("charlm_second_layer_reads_the_embeddings", "a3.charlm",
             (LM, 'h, embed_cache = rnn_layers.word_embedding_forward(x, p["W_embed"])',
              'h, embed_cache = rnn_layers.word_embedding_forward(x, p["W_embed"])\n        embedded = h'),
             (LM, "model_utils.cell_forward(self.cell_type, h, state[k - 1], p,",
              "model_utils.cell_forward(self.cell_type, embedded, state[k - 1], p,")),
    _changes("charlm_loss_summed_over_time", "a3.charlm",  # temporal_softmax_loss's sum / N
             (LM, "            dscores / T, vocab_cache)", "            dscores, vocab_cache)"),
             (LM, "return float(loss) / T, grads, last_state", "return float(loss), grads, last_state")),
    _changes("sample_returns_the_inputs", "a3.charlm",  # start included, the last pick dropped
             (LM, "        for t in range(length):\n            scores, state, _",
              "        for t in range(length):\n            chars[t] = current\n            scores, state, _"),
             (LM, "            chars[t] = current\n        return chars", "        return chars")),
]


# -- the many-to-one sequence classifier (classifier.py) ---------------------------------------
CLS = "classifier.py"
_CLASSIFIER_REPLACEMENTS = {  # name: (task, file, old text, new text)
 "classifier_loss_summed_over_the_batch": ("a3.classifier", CLS,
    "return float(-log_probs[np.arange(N), y].mean()), dscores / N",
    "return float(-log_probs[np.arange(N), y].sum()), dscores"),
 "classifier_embedding_gradient_added_by_fancy_indexing": ("a3.classifier", CLS,
    'grads["W_embed"] = rnn_layers.word_embedding_backward(dembedded, embed_cache)',
    'grads["W_embed"] = np.zeros_like(p["W_embed"])\n        grads["W_embed"][x] += dembedded'),
 "classifier_b_out_gradient_summed_over_the_classes": ("a3.classifier", CLS,
    "last.T @ dscores, dscores.sum(axis=0)", "last.T @ dscores, dscores.sum(axis=1)"),
 "classifier_lstm_forget_bias_left_at_zero": ("a3.classifier", CLS,
    '            params["b"][H:2 * H] = MEMORY_BIAS\n', "            pass\n"),
 "classifier_float32_grads_left_in_float64": ("a3.classifier", CLS,
    "return loss, {name: grads[name].astype(self.dtype) for name in p}", "return loss, grads"),
 "train_classifier_one_epoch": ("a3.classifier_training", CLS,
    "        for _ in range(epochs):\n", "        for _ in range(1):\n"),
 "train_classifier_labels_not_shuffled_with_the_sequences": ("a3.classifier_training", CLS,
    "yield x[batch], y[batch]", "yield x[batch], y[start:start + batch_size]"),
}
MUTANTS += replaced(_CLASSIFIER_REPLACEMENTS, _dependents)
MUTANTS += [  # the forward and its backward changed together: self-consistent, another model
    _changes("classifier_scores_the_first_hidden_state", "a3.classifier",
             (CLS, "        last = h[:, -1]\n", "        last = h[:, 0]\n"),
             (CLS, '        dh[:, -1] = dscores @ p["W_out"].T', '        dh[:, 0] = dscores @ p["W_out"].T')),
    _changes("classifier_scores_the_sum_over_time", "a3.classifier",
             (CLS, "        last = h[:, -1]\n", "        last = h.sum(axis=1)\n"),
             (CLS, '        dh[:, -1] = dscores @ p["W_out"].T', '        dh[:] = (dscores @ p["W_out"].T)[:, None]')),
]

# -- the digit captioner (captioner.py) and the seq2seq encoder-decoder (seq2seq.py) -----------
CAP, S2S = "captioner.py", "seq2seq.py"
_MODEL_REPLACEMENTS = {  # name: (task, file, old text, new text)
 "captioner_mask_counts_the_padding": ("a3.captioner", CAP,
    "mask = captions_out != self._null", "mask = np.ones_like(captions_out, dtype=bool)"),
 "captioner_null_index_hardcoded": ("a3.captioner", CAP,
    "mask = captions_out != self._null", "mask = captions_out != 0"),
 "captioner_captions_not_shifted": ("a3.captioner", CAP,  # each input predicts itself
    "captions_in, captions_out = captions[:, :-1], captions[:, 1:]",
    "captions_in, captions_out = captions[:, :-1], captions[:, :-1]"),
 "captioner_h0_gradient_dropped": ("a3.captioner", CAP,
    'grads["W_proj"], grads["b_proj"] = features.T @ dh0, dh0.sum(axis=0)',
    'grads["W_proj"], grads["b_proj"] = np.zeros_like(p["W_proj"]), np.zeros_like(p["b_proj"])'),
 "captioner_lstm_c0_is_h0": ("a3.captioner", CAP,
    'return (h0, np.zeros_like(h0)) if self.cell_type == "lstm" else h0',
    'return (h0, h0.copy()) if self.cell_type == "lstm" else h0'),
 "captioner_lstm_h0_gradient_from_the_cell_state": ("a3.captioner", CAP,
    'dh0 = dstate[0] if cell == "lstm" else dstate', 'dh0 = dstate[1] if cell == "lstm" else dstate'),
 "captioner_sample_feeds_start_every_step": ("a3.captioner", CAP,
    "            tokens = scores[:, 0].argmax(axis=1)\n"
    "            captions[:, t] = np.where(ended, self._null, tokens)\n"
    "            ended |= tokens == self._end",
    "            chosen = scores[:, 0].argmax(axis=1)\n"
    "            captions[:, t] = np.where(ended, self._null, chosen)\n"
    "            ended |= chosen == self._end"),
 "captioner_sample_does_not_stop_at_end": ("a3.captioner", CAP,
    "captions[:, t] = np.where(ended, self._null, tokens)", "captions[:, t] = tokens"),
 "train_captioner_one_epoch": ("a3.captioner_training", CAP,
    "        for _ in range(epochs):\n            order = rng.permutation(len(features))",
    "        for _ in range(1):\n            order = rng.permutation(len(features))"),
 "seq2seq_encoder_state_gradient_dropped": ("a3.seq2seq", S2S,  # cell_backward's dlast
    "enc_cache, dlast=dstate)", "enc_cache)"),
 "seq2seq_decoder_starts_from_the_zero_state": ("a3.seq2seq", S2S,
    'h, _, dec_cache = model_utils.cell_forward(cell, x, state, p, "_dec")',
    'h, _, dec_cache = model_utils.cell_forward(\n'
    '            cell, x, model_utils.zero_state(cell, len(tgt), p["Wh_dec"].shape[0]), p, "_dec")'),
 "seq2seq_lstm_cell_state_not_passed": ("a3.seq2seq", S2S,
    "        return last, (embed_cache, cell_cache, x.shape[1])",
    '        last = (last[0], np.zeros_like(last[1])) if cell == "lstm" else last\n'
    "        return last, (embed_cache, cell_cache, x.shape[1])"),
 "seq2seq_target_predicts_itself": ("a3.seq2seq", S2S,  # no <START>, no shift
    "tgt_in = np.concatenate([np.full((len(tgt), 1), _START), tgt[:, :-1]], axis=1)",
    "tgt_in = tgt"),
 "seq2seq_mask_counts_the_padding": ("a3.seq2seq", S2S,
    "temporal_softmax_loss(scores, tgt, tgt != _NULL)",
    "temporal_softmax_loss(scores, tgt, np.ones_like(tgt, dtype=bool))"),
 "seq2seq_decoder_reads_the_encoder_embedding": ("a3.seq2seq", S2S,
    'word_embedding_forward(tgt_in, p["W_embed_dec"])', 'word_embedding_forward(tgt_in, p["W_embed_enc"])'),
 "seq2seq_translate_feeds_start_every_step": ("a3.seq2seq", S2S,
    "            tokens = scores[:, 0].argmax(axis=1)\n"
    "            tgt[:, t] = np.where(ended, _NULL, tokens)\n"
    "            ended |= tokens == _END",
    "            chosen = scores[:, 0].argmax(axis=1)\n"
    "            tgt[:, t] = np.where(ended, _NULL, chosen)\n"
    "            ended |= chosen == _END"),
 "seq2seq_translate_does_not_stop_at_end": ("a3.seq2seq", S2S,
    "tgt[:, t] = np.where(ended, _NULL, tokens)", "tgt[:, t] = tokens"),
 "train_seq2seq_the_same_batch_every_step": ("a3.seq2seq_training", S2S,
    "batches = (reversal.reversal_pairs(batch_size, min_length, max_length, seed=rng)",
    "batches = (reversal.reversal_pairs(batch_size, min_length, max_length, seed=seed)"),
}
MUTANTS += replaced(_MODEL_REPLACEMENTS, _dependents)
MUTANTS += [
    _changes("train_captioner_captions_shuffled_apart_from_features", "a3.captioner_training",
             (CAP, "            order = rng.permutation(len(features))\n",
              "            order, other = rng.permutation(len(features)), rng.permutation(len(features))\n"),
             (CAP, "                yield features[batch], captions[batch]",
              "                yield features[batch], captions[other[start:start + batch_size]]")),
]


# Correct rewrites, each a whole submission: every function of both modules written anew.
ALT_DICT_CACHES = """
def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, {"x": x, "prev_h": prev_h, "Wx": Wx, "Wh": Wh, "next_h": next_h}


def rnn_step_backward(dnext_h, cache):
    da = dnext_h * (1 - cache["next_h"] ** 2)
    return (da @ cache["Wx"].T, da @ cache["Wh"].T, cache["x"].T @ da, cache["prev_h"].T @ da,
            np.sum(da, axis=0))


def _sequence(step, x, h0, params, cell=False):
    hs, caches, h, c = [], [], h0, np.zeros_like(h0)
    for t in range(x.shape[1]):
        if cell:
            h, c, cache = step(x[:, t, :], h, c, *params)
        else:
            h, cache = step(x[:, t, :], h, *params)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs, axis=1), {"steps": caches, "D": x.shape[2]}


def _through_time(step_backward, dh, cache, cell=False):
    N, T, H = dh.shape
    dx = np.empty((N, T, cache["D"]))
    carry, carry_c, total = np.zeros((N, H)), np.zeros((N, H)), None
    for t in range(T - 1, -1, -1):
        if cell:
            dx[:, t], carry, carry_c, *grads = step_backward(dh[:, t] + carry, carry_c, cache["steps"][t])
        else:
            dx[:, t], carry, *grads = step_backward(dh[:, t] + carry, cache["steps"][t])
        total = grads if total is None else [a + g for a, g in zip(total, grads)]
    return (dx, carry, *total)


def rnn_forward(x, h0, Wx, Wh, b):
    return _sequence(rnn_step_forward, x, h0, (Wx, Wh, b))


def rnn_backward(dh, cache):
    return _through_time(rnn_step_backward, dh, cache)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    gates = {"i": sigmoid(a[:, :H]), "f": sigmoid(a[:, H:2 * H]), "o": sigmoid(a[:, 2 * H:3 * H]),
             "g": np.tanh(a[:, 3 * H:])}
    next_c = gates["f"] * prev_c + gates["i"] * gates["g"]
    next_h = gates["o"] * np.tanh(next_c)
    return next_h, next_c, {"x": x, "prev_h": prev_h, "prev_c": prev_c, "Wx": Wx, "Wh": Wh,
                            "next_c": next_c, **gates}


def lstm_step_backward(dnext_h, dnext_c, cache):
    c = cache
    i, f, o, g = c["i"], c["f"], c["o"], c["g"]
    tc = np.tanh(c["next_c"])
    dc = dnext_c + dnext_h * o * (1 - tc ** 2)
    da = np.concatenate([dc * g * i * (1 - i), dc * c["prev_c"] * f * (1 - f),
                         dnext_h * tc * o * (1 - o), dc * i * (1 - g ** 2)], axis=1)
    return da @ c["Wx"].T, da @ c["Wh"].T, dc * f, c["x"].T @ da, c["prev_h"].T @ da, da.sum(0)


def lstm_forward(x, h0, Wx, Wh, b):
    return _sequence(lstm_step_forward, x, h0, (Wx, Wh, b), cell=True)


def lstm_backward(dh, cache):
    return _through_time(lstm_step_backward, dh, cache, cell=True)


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    H = prev_h.shape[1]
    gx, gh = x @ Wx + bx, prev_h @ Wh + bh
    r = sigmoid(gx[:, :H] + gh[:, :H])
    z = sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * prev_h, {"x": x, "h": prev_h, "Wx": Wx, "Wh": Wh, "r": r, "z": z,
                                      "n": n, "gh_n": gh[:, 2 * H:]}


def gru_step_backward(dnext_h, cache):
    c = cache
    r, z, n = c["r"], c["z"], c["n"]
    dpre_n = dnext_h * (1 - z) * (1 - n ** 2)
    dpre_r = dpre_n * c["gh_n"] * r * (1 - r)
    dpre_z = dnext_h * (c["h"] - n) * z * (1 - z)
    dgx = np.concatenate([dpre_r, dpre_z, dpre_n], axis=1)
    dgh = np.concatenate([dpre_r, dpre_z, dpre_n * r], axis=1)
    return (dgx @ c["Wx"].T, dnext_h * z + dgh @ c["Wh"].T, c["x"].T @ dgx, c["h"].T @ dgh,
            dgx.sum(0), dgh.sum(0))


def gru_forward(x, h0, Wx, Wh, bx, bh):
    return _sequence(gru_step_forward, x, h0, (Wx, Wh, bx, bh))


def gru_backward(dh, cache):
    return _through_time(gru_step_backward, dh, cache)


def word_embedding_forward(x, W):
    return W[x], {"x": x, "V": W.shape[0]}


def word_embedding_backward(dout, cache):
    x = cache["x"]
    dW = np.zeros((cache["V"], dout.shape[2]))
    for n in range(x.shape[0]):
        for t in range(x.shape[1]):
            dW[x[n, t]] += dout[n, t]
    return dW


def temporal_affine_forward(x, w, b):
    return np.einsum("ntd,dm->ntm", x, w) + b, {"x": x, "w": w}


def temporal_affine_backward(dout, cache):
    x, w = cache["x"], cache["w"]
    return (np.einsum("ntm,dm->ntd", dout, w), np.einsum("ntd,ntm->dm", x, dout),
            dout.sum(axis=1).sum(axis=0))


def temporal_softmax_loss(x, y, mask):
    N, T, V = x.shape
    top = x.max(axis=2, keepdims=True)
    lse = top[..., 0] + np.log(np.exp(x - top).sum(axis=2))
    picked = np.take_along_axis(x, y[..., None], axis=2)[..., 0]
    loss = np.sum((lse - picked) * mask) / N
    dx = (np.exp(x - lse[..., None]) - np.eye(V)[y]) * mask[..., None] / N
    return loss, dx
"""
ALT_CLIP_CONCATENATED = """
def clip_grad_norm(grads, max_norm):
    total = np.linalg.norm(np.concatenate([g.ravel() for g in grads.values()]))
    if total <= max_norm:
        return {k: v.copy() for k, v in grads.items()}, float(total)
    return {k: v * (max_norm / total) for k, v in grads.items()}, float(total)
"""
ALT_CONCATENATED_WEIGHTS = """
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    # one product of [x, prev_h] (N, D + H) with the stacked weights [Wx; Wh] (D + H, H)
    xh, W = np.hstack([x, prev_h]), np.vstack([Wx, Wh])
    next_h = np.tanh(xh @ W + b)
    return next_h, (xh, W, next_h, x.shape[1])


def rnn_step_backward(dnext_h, cache):
    xh, W, next_h, D = cache
    da = dnext_h * (1 - next_h ** 2)
    dxh, dW = da @ W.T, xh.T @ da
    return dxh[:, :D], dxh[:, D:], dW[:D], dW[D:], da.sum(axis=0)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    xh, W = np.hstack([x, prev_h]), np.vstack([Wx, Wh])
    a = xh @ W + b
    ifo, g = 1 / (1 + np.exp(-a[:, :3 * H])), np.tanh(a[:, 3 * H:])
    i, f, o = np.split(ifo, 3, axis=1)
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (xh, W, prev_c, i, f, o, g, next_c, x.shape[1])


def lstm_step_backward(dnext_h, dnext_c, cache):
    xh, W, prev_c, i, f, o, g, next_c, D = cache
    tc = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tc ** 2)
    da = np.hstack([dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * tc * o * (1 - o),
                    dc * i * (1 - g ** 2)])
    dxh, dW = da @ W.T, xh.T @ da
    return dxh[:, :D], dxh[:, D:], dc * f, dW[:D], dW[D:], da.sum(axis=0)


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    # r and z from [x, prev_h] and the stacked weights; n needs its two halves apart
    H, D = prev_h.shape[1], x.shape[1]
    xh, W_rz = np.hstack([x, prev_h]), np.vstack([Wx[:, :2 * H], Wh[:, :2 * H]])
    rz = 1 / (1 + np.exp(-(xh @ W_rz + bx[:2 * H] + bh[:2 * H])))
    r, z = rz[:, :H], rz[:, H:]
    hn = prev_h @ Wh[:, 2 * H:] + bh[2 * H:]
    n = np.tanh(x @ Wx[:, 2 * H:] + bx[2 * H:] + r * hn)
    return (1 - z) * n + z * prev_h, (x, prev_h, xh, W_rz, Wx, Wh, r, z, n, hn, D)


def gru_step_backward(dnext_h, cache):
    x, prev_h, xh, W_rz, Wx, Wh, r, z, n, hn, D = cache
    H = prev_h.shape[1]
    dan = dnext_h * (1 - z) * (1 - n ** 2)
    drz = np.hstack([dan * hn * r * (1 - r), dnext_h * (prev_h - n) * z * (1 - z)])
    dxh, dW_rz, dhn = drz @ W_rz.T, xh.T @ drz, dan * r
    dx = dxh[:, :D] + dan @ Wx[:, 2 * H:].T
    dprev_h = dxh[:, D:] + dhn @ Wh[:, 2 * H:].T + dnext_h * z
    dWx, dWh = np.hstack([dW_rz[:D], x.T @ dan]), np.hstack([dW_rz[D:], prev_h.T @ dhn])
    return (dx, dprev_h, dWx, dWh, np.concatenate([drz.sum(0), dan.sum(0)]),
            np.concatenate([drz.sum(0), dhn.sum(0)]))


def _forward(step, x, h0, *params, cell=False):
    hs, caches, h, c = [], [], h0, np.zeros_like(h0)
    for t in range(x.shape[1]):
        if cell:
            h, c, cache = step(x[:, t], h, c, *params)
        else:
            h, cache = step(x[:, t], h, *params)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs, axis=1), (caches, x.shape[2])


def _backward(step_backward, dh, cache, cell=False):
    caches, D = cache
    N, T, H = dh.shape
    dx, dnext, dc, total = np.zeros((N, T, D)), np.zeros((N, H)), np.zeros((N, H)), None
    for t in reversed(range(T)):
        if cell:
            dx[:, t], dnext, dc, *grads = step_backward(dh[:, t] + dnext, dc, caches[t])
        else:
            dx[:, t], dnext, *grads = step_backward(dh[:, t] + dnext, caches[t])
        total = grads if total is None else [a + g for a, g in zip(total, grads)]
    return (dx, dnext, *total)


def rnn_forward(x, h0, Wx, Wh, b):
    return _forward(rnn_step_forward, x, h0, Wx, Wh, b)


def rnn_backward(dh, cache):
    return _backward(rnn_step_backward, dh, cache)


def lstm_forward(x, h0, Wx, Wh, b):
    return _forward(lstm_step_forward, x, h0, Wx, Wh, b, cell=True)


def lstm_backward(dh, cache):
    return _backward(lstm_step_backward, dh, cache, cell=True)


def gru_forward(x, h0, Wx, Wh, bx, bh):
    return _forward(gru_step_forward, x, h0, Wx, Wh, bx, bh)


def gru_backward(dh, cache):
    return _backward(gru_step_backward, dh, cache)


def word_embedding_forward(x, W):
    # a one-hot (N, T, V) times W: the lookup as a product, its gradient the transposed product
    onehot = np.eye(W.shape[0])[x]
    return onehot @ W, onehot


def word_embedding_backward(dout, cache):
    onehot = cache
    return onehot.reshape(-1, onehot.shape[-1]).T @ dout.reshape(-1, dout.shape[-1])
"""
ALT_CLIP_MIN = """
def clip_grad_norm(grads, max_norm):
    total_norm = sum(float((g ** 2).sum()) for g in grads.values()) ** 0.5
    scale = min(1.0, max_norm / total_norm) if total_norm > 0 else 1.0
    return {name: scale * g for name, g in grads.items()}, total_norm
"""
ALT_HOISTED_INPUT_PROJECTION = """
def _previous(h0, h):
    \"\"\"(N, T, H): the hidden state each step started from.\"\"\"
    return np.concatenate([h0[:, None], h[:, :-1]], axis=1)


def rnn_forward(x, h0, Wx, Wh, b):
    # x @ Wx + b for every step in one product; only h @ Wh stays in the loop
    N, T, _ = x.shape
    xw = x @ Wx + b
    h, prev = np.empty((N, T, h0.shape[1])), h0
    for t in range(T):
        prev = np.tanh(xw[:, t] + prev @ Wh)
        h[:, t] = prev
    return h, (x, h0, Wx, Wh, h)


def rnn_backward(dh, cache):
    x, h0, Wx, Wh, h = cache
    N, T, H = dh.shape
    da, dprev = np.empty_like(h), np.zeros((N, H))
    for t in reversed(range(T)):
        da[:, t] = (dh[:, t] + dprev) * (1 - h[:, t] ** 2)
        dprev = da[:, t] @ Wh.T
    return (da @ Wx.T, dprev, np.einsum("ntd,nth->dh", x, da),
            np.einsum("ntk,nth->kh", _previous(h0, h), da), da.sum(axis=(0, 1)))


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    xw = x @ Wx + b
    h, c, gates = np.empty((N, T, H)), np.empty((N, T, H)), np.empty((N, T, 4 * H))
    prev_h, prev_c = h0, np.zeros((N, H))
    for t in range(T):
        a = xw[:, t] + prev_h @ Wh
        g = np.concatenate([_sigmoid(a[:, :3 * H]), np.tanh(a[:, 3 * H:])], axis=1)
        prev_c = g[:, H:2 * H] * prev_c + g[:, :H] * g[:, 3 * H:]
        prev_h = g[:, 2 * H:3 * H] * np.tanh(prev_c)
        h[:, t], c[:, t], gates[:, t] = prev_h, prev_c, g
    return h, (x, h0, Wx, Wh, h, c, gates)


def lstm_backward(dh, cache):
    x, h0, Wx, Wh, h, c, gates = cache
    N, T, H = dh.shape
    da, dprev_h, dprev_c = np.empty_like(gates), np.zeros((N, H)), np.zeros((N, H))
    c_before = _previous(np.zeros((N, H)), c)
    for t in reversed(range(T)):
        i, f, o, g = (gates[:, t, k * H:(k + 1) * H] for k in range(4))
        tc, d = np.tanh(c[:, t]), dh[:, t] + dprev_h
        dc = dprev_c + d * o * (1 - tc ** 2)
        da[:, t] = np.concatenate([dc * g * i * (1 - i), dc * c_before[:, t] * f * (1 - f),
                                   d * tc * o * (1 - o), dc * i * (1 - g ** 2)], axis=1)
        dprev_c, dprev_h = dc * f, da[:, t] @ Wh.T
    return (da @ Wx.T, dprev_h, np.einsum("ntd,ntk->dk", x, da),
            np.einsum("nth,ntk->hk", _previous(h0, h), da), da.sum(axis=(0, 1)))


def gru_forward(x, h0, Wx, Wh, bx, bh):
    N, T, _ = x.shape
    H = h0.shape[1]
    xw = x @ Wx + bx
    h, r, z, n, hn = (np.empty((N, T, H)) for _ in range(5))
    prev = h0
    for t in range(T):
        ah = prev @ Wh + bh
        r[:, t] = _sigmoid(xw[:, t, :H] + ah[:, :H])
        z[:, t] = _sigmoid(xw[:, t, H:2 * H] + ah[:, H:2 * H])
        hn[:, t] = ah[:, 2 * H:]
        n[:, t] = np.tanh(xw[:, t, 2 * H:] + r[:, t] * hn[:, t])
        prev = (1 - z[:, t]) * n[:, t] + z[:, t] * prev
        h[:, t] = prev
    return h, (x, h0, Wx, Wh, h, r, z, n, hn)


def gru_backward(dh, cache):
    x, h0, Wx, Wh, h, r, z, n, hn = cache
    N, T, H = dh.shape
    before = _previous(h0, h)
    dax, dah, dprev = np.empty((N, T, 3 * H)), np.empty((N, T, 3 * H)), np.zeros((N, H))
    for t in reversed(range(T)):
        d = dh[:, t] + dprev
        dan = d * (1 - z[:, t]) * (1 - n[:, t] ** 2)
        dar = dan * hn[:, t] * r[:, t] * (1 - r[:, t])
        daz = d * (before[:, t] - n[:, t]) * z[:, t] * (1 - z[:, t])
        dax[:, t] = np.concatenate([dar, daz, dan], axis=1)
        dah[:, t] = np.concatenate([dar, daz, dan * r[:, t]], axis=1)
        dprev = d * z[:, t] + dah[:, t] @ Wh.T
    return (dax @ Wx.T, dprev, np.einsum("ntd,ntk->dk", x, dax),
            np.einsum("nth,ntk->hk", before, dah), dax.sum(axis=(0, 1)), dah.sum(axis=(0, 1)))


def temporal_affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, np.tensordot(x, dout, axes=([0, 1], [0, 1])), dout.sum(axis=(0, 1))
"""

# The language model and train_tbptt written anew: samples drawn by inverse CDF from rng.random()
# agree with rng.choice, as the docstring promises.
ALT_LANGUAGE_MODEL = """
class CharLM:
    # its own embedding lookup, log-softmax and inverse-CDF sampling (rng.random() per step)
    def __init__(self, vocab_size, wordvec_dim=16, hidden_dim=64, cell_type="rnn", num_layers=1,
                 *, dtype=np.float64, seed=None):
        rng = np.random.default_rng(seed)
        self.cell, self.layers, self.H, self.dtype = cell_type, num_layers, hidden_dim, dtype
        params = {"W_embed": rng.standard_normal((vocab_size, wordvec_dim))}
        for k, size in enumerate([wordvec_dim] + [hidden_dim] * (num_layers - 1), start=1):
            params.update(model_utils.init_cell(cell_type, size, hidden_dim, rng, suffix=str(k)))
        params["W_vocab"] = rng.standard_normal((hidden_dim, vocab_size)) / np.sqrt(hidden_dim)
        params["b_vocab"] = np.zeros(vocab_size)
        self.params = {k: v.astype(dtype) for k, v in params.items()}

    def set_params(self, params):
        self.params = {k: np.asarray(v, dtype=self.dtype).copy() for k, v in params.items()}

    def _scores(self, x, state):
        p = self.params
        if state is None:
            state = [model_utils.zero_state(self.cell, x.shape[0], self.H, self.dtype)
                     for _ in range(self.layers)]
        h, caches, out_state = p["W_embed"][x], [], []
        for k in range(self.layers):
            h, last, cache = model_utils.cell_forward(self.cell, h, state[k], p, str(k + 1))
            caches.append(cache)
            out_state.append(last)
        return np.einsum("nth,hv->ntv", h, p["W_vocab"]) + p["b_vocab"], h, caches, out_state

    def loss(self, x, y, state=None):
        p = self.params
        scores, h, caches, out_state = self._scores(x, state)
        logp = scores - scores.max(axis=2, keepdims=True)
        logp -= np.log(np.exp(logp).sum(axis=2, keepdims=True))
        N, T = y.shape
        loss = -np.take_along_axis(logp, y[..., None], axis=2).mean()
        dscores = np.exp(logp)
        np.put_along_axis(dscores, y[..., None], np.take_along_axis(dscores, y[..., None], 2) - 1, 2)
        dscores /= N * T
        grads = {"W_vocab": np.einsum("nth,ntv->hv", h, dscores), "b_vocab": dscores.sum(axis=(0, 1))}
        dh = dscores @ p["W_vocab"].T
        for cache in caches[::-1]:
            dh, _, g = model_utils.cell_backward(dh, cache)
            grads.update(g)
        dW = np.zeros_like(p["W_embed"])
        np.add.at(dW, x.ravel(), dh.reshape(-1, dh.shape[-1]))
        grads["W_embed"] = dW
        return float(loss), {k: g.astype(self.dtype) for k, g in grads.items()}, out_state

    def sample(self, start, length, temperature=0.0, seed=None):
        rng, out, state, c = np.random.default_rng(seed), [], None, start
        for _ in range(length):
            scores, _, _, state = self._scores(np.array([[c]]), state)
            s = scores[0, 0]
            if temperature > 0:
                w = np.exp((s - s.max()) / temperature)
                cdf = np.cumsum(w)
                c = int(np.searchsorted(cdf / cdf[-1], rng.random(), side="right"))
            else:
                c = int(s.argmax())
            out.append(c)
        return np.array(out, dtype=np.int64)


def train_tbptt(model, data, seq_len, batch_size, num_iterations, learning_rate=1e-2,
                max_norm=5.0, on_step=None):
    S = len(data) // batch_size
    rows = np.reshape(np.asarray(data)[:S * batch_size], (batch_size, S))
    chunks = [(rows[:, t:t + seq_len], rows[:, t + 1:t + 1 + seq_len])
              for t in range(0, (S - 1) // seq_len * seq_len, seq_len)]
    configs = {name: {"learning_rate": learning_rate} for name in model.params}
    losses, state = [], None
    for i in range(num_iterations):
        x, y = chunks[i % len(chunks)]
        loss, grads, state = model.loss(x, y, state if i % len(chunks) else None)
        clipped, _ = optim.clip_grad_norm(grads, max_norm)
        for name in model.params:
            model.params[name], configs[name] = optim.adam(model.params[name], clipped[name],
                                                           configs[name])
        losses.append(loss)
        if on_step:
            on_step(i, loss)
    return losses
"""

# Correct rewrites of the three models (classifier, captioner, seq2seq): written from their
# docstrings without model_utils' cell_forward / cell_backward, so every model task is also
# proved against code that is laid out another way.

# The classifier through the student's sequence functions (rnn_forward, lstm_forward,
# gru_forward: the zero state is theirs to start from), its embedding by indexing and
# np.add.at, the softmax by np.logaddexp, the parameters drawn in another order (the docstring
# leaves it free) and the minibatches cut in advance.
ALT_CLASSIFIER = """
class SequenceClassifier:
    def __init__(self, vocab_size, num_classes, wordvec_dim=8, hidden_dim=32, cell_type="rnn",
                 *, dtype=np.float64, seed=None):
        gates = {"rnn": 1, "lstm": 4, "gru": 3}[cell_type]
        rng = np.random.default_rng(seed)
        D, H, C = wordvec_dim, hidden_dim, num_classes
        p = {"W_out": rng.normal(0.0, H ** -0.5, (H, C)), "b_out": np.zeros(C)}
        p["Wh"] = rng.normal(0.0, H ** -0.5, (H, gates * H))
        p["Wx"] = rng.normal(0.0, D ** -0.5, (D, gates * H))
        p["W_embed"] = rng.normal(0.0, 1.0, (vocab_size, D))
        if cell_type == "gru":
            p["bx"], p["bh"] = np.zeros(3 * H), np.zeros(3 * H)
            p["bx"][H:2 * H] = 4.0
        else:
            p["b"] = np.zeros(gates * H)
            if cell_type == "lstm":
                p["b"][H:2 * H] = 4.0
        self.cell_type, self.dtype = cell_type, dtype
        self.params = {k: v.astype(dtype) for k, v in p.items()}

    def set_params(self, params):
        self.params = {k: np.array(v, dtype=self.dtype) for k, v in params.items()}

    def _biases(self):
        p = self.params
        return (p["bx"], p["bh"]) if self.cell_type == "gru" else (p["b"],)

    def loss(self, x, y=None):
        p, cell = self.params, self.cell_type
        emb = p["W_embed"][x]
        h0 = np.zeros((x.shape[0], p["Wh"].shape[0]), self.dtype)
        forward = {"rnn": rnn_layers.rnn_forward, "lstm": rnn_layers.lstm_forward,
                   "gru": rnn_layers.gru_forward}[cell]
        h, cache = forward(emb, h0, p["Wx"], p["Wh"], *self._biases())
        scores = h[:, -1, :].dot(p["W_out"]) + p["b_out"]
        if y is None:
            return scores
        N = len(y)
        log_probs = scores - np.logaddexp.reduce(scores, axis=1)[:, None]
        picked = log_probs[np.arange(N), y]
        dscores = np.exp(log_probs)
        dscores[np.arange(N), y] -= 1.0
        dscores /= N
        dh = np.zeros_like(h)
        dh[:, -1, :] = dscores.dot(p["W_out"].T)
        backward = {"rnn": rnn_layers.rnn_backward, "lstm": rnn_layers.lstm_backward,
                    "gru": rnn_layers.gru_backward}[cell]
        demb, _, *dcell = backward(dh, cache)
        names = ["Wx", "Wh", "bx", "bh"] if cell == "gru" else ["Wx", "Wh", "b"]
        grads = dict(zip(names, dcell))
        grads["W_embed"] = np.zeros_like(p["W_embed"])
        np.add.at(grads["W_embed"], x, demb)
        grads["W_out"] = np.einsum("nh,nc->hc", h[:, -1, :], dscores)
        grads["b_out"] = np.einsum("nc->c", dscores)
        return float(-picked.sum() / N), {k: np.asarray(grads[k], self.dtype) for k in p}


def train_classifier(model, x, y, *, epochs=4, batch_size=32, learning_rate=5e-3, max_norm=5.0,
                     seed=0, on_step=None):
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(len(x)) for _ in range(epochs)]
    cuts = list(range(batch_size, len(x), batch_size))
    batches = [(x[part], y[part]) for order in orders for part in np.split(order, cuts)]
    return model_utils.train(model, batches, learning_rate, max_norm, on_step)
"""

# The captioner through the student's sequence functions for the loss (an LSTM's c0 = 0 is
# what lstm_forward starts from) and through the step functions for greedy sampling; the
# temporal affine layer by einsum and the masked softmax written out.
ALT_CAPTIONER = """
class DigitCaptioner:
    def __init__(self, vocab, input_dim=64, wordvec_dim=16, hidden_dim=32, cell_type="rnn",
                 *, dtype=np.float64, seed=None):
        if cell_type not in ("rnn", "lstm", "gru"):
            raise ValueError(f"cell_type {cell_type!r}; expected 'rnn', 'lstm' or 'gru'")
        self.vocab, self.cell_type, self.dtype = dict(vocab), cell_type, dtype
        V, D, W, H = len(vocab), input_dim, wordvec_dim, hidden_dim
        rng = np.random.default_rng(seed)
        g = {"rnn": 1, "lstm": 4, "gru": 3}[cell_type]
        p = {"W_proj": rng.standard_normal((D, H)) * D ** -0.5, "b_proj": np.zeros(H),
             "W_embed": rng.standard_normal((V, W)),
             "Wx": rng.standard_normal((W, g * H)) * W ** -0.5,
             "Wh": rng.standard_normal((H, g * H)) * H ** -0.5}
        for name in (("bx", "bh") if cell_type == "gru" else ("b",)):
            p[name] = np.zeros(g * H)
        p["W_vocab"] = rng.standard_normal((H, V)) * H ** -0.5
        p["b_vocab"] = np.zeros(V)
        self.params = {k: v.astype(dtype) for k, v in p.items()}

    def set_params(self, params):
        self.params = {k: np.array(v, dtype=self.dtype) for k, v in params.items()}

    def _biases(self):
        p = self.params
        return (p["bx"], p["bh"]) if self.cell_type == "gru" else (p["b"],)

    def loss(self, features, captions):
        p, cell = self.params, self.cell_type
        features = np.asarray(features, dtype=self.dtype)
        inputs, targets = captions[:, :-1], captions[:, 1:]
        keep = (targets != self.vocab["<NULL>"]).astype(self.dtype)
        h0 = features.dot(p["W_proj"]) + p["b_proj"]
        forward = {"rnn": rnn_layers.rnn_forward, "lstm": rnn_layers.lstm_forward,
                   "gru": rnn_layers.gru_forward}[cell]
        h, cache = forward(p["W_embed"][inputs], h0, p["Wx"], p["Wh"], *self._biases())
        scores = np.einsum("nth,hv->ntv", h, p["W_vocab"]) + p["b_vocab"]
        N, T, V = scores.shape
        top = scores.max(axis=2, keepdims=True)
        log_probs = scores - top - np.log(np.exp(scores - top).sum(axis=2, keepdims=True))
        n, t = np.meshgrid(np.arange(N), np.arange(T), indexing="ij")
        loss = -(log_probs[n, t, targets] * keep).sum() / N
        dscores = np.exp(log_probs)
        dscores[n, t, targets] -= 1.0
        dscores *= keep[:, :, None] / N
        grads = {"W_vocab": np.einsum("nth,ntv->hv", h, dscores),
                 "b_vocab": dscores.sum(axis=(0, 1))}
        dh = np.einsum("ntv,hv->nth", dscores, p["W_vocab"])
        backward = {"rnn": rnn_layers.rnn_backward, "lstm": rnn_layers.lstm_backward,
                    "gru": rnn_layers.gru_backward}[cell]
        dx, dh0, *dcell = backward(dh, cache)
        grads.update(zip(["Wx", "Wh", "bx", "bh"] if cell == "gru" else ["Wx", "Wh", "b"],
                         dcell))
        grads["W_embed"] = np.zeros_like(p["W_embed"])
        np.add.at(grads["W_embed"], inputs, dx)
        grads["W_proj"], grads["b_proj"] = features.T.dot(dh0), dh0.sum(axis=0)
        return float(loss), {k: np.asarray(grads[k], self.dtype) for k in p}

    def sample(self, features, max_length=8):
        p, cell = self.params, self.cell_type
        null, end = self.vocab["<NULL>"], self.vocab["<END>"]
        h = np.asarray(features, dtype=self.dtype).dot(p["W_proj"]) + p["b_proj"]
        c = np.zeros_like(h)
        token = np.full(len(h), self.vocab["<START>"])
        out, done = [], np.zeros(len(h), dtype=bool)
        for _ in range(max_length):
            x = p["W_embed"][token]
            if cell == "rnn":
                h, _ = rnn_layers.rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])
            elif cell == "lstm":
                h, c, _ = rnn_layers.lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
            else:
                h, _ = rnn_layers.gru_step_forward(x, h, p["Wx"], p["Wh"], p["bx"], p["bh"])
            token = np.argmax(h.dot(p["W_vocab"]) + p["b_vocab"], axis=1)
            out.append(np.where(done, null, token))
            done = done | (token == end)
        return np.stack(out, axis=1) if out else np.zeros((len(h), 0), dtype=int)


def train_captioner(model, features, captions, *, epochs=1, batch_size=50, learning_rate=1e-2,
                    max_norm=5.0, seed=0, on_step=None):
    rng = np.random.default_rng(seed)
    N = len(features)
    orders = [rng.permutation(N) for _ in range(epochs)]
    batches = [(features[o[i:i + batch_size]], captions[o[i:i + batch_size]])
               for o in orders for i in range(0, N, batch_size)]
    return model_utils.train(model, batches, learning_rate, max_norm, on_step)
"""

# Seq2seq with its own time loops over the student's step functions (encoder and decoder, and
# backpropagation through both by hand), its parameters in one dict comprehension.
ALT_SEQ2SEQ = """
class Seq2Seq:
    def __init__(self, vocab_size, wordvec_dim=16, hidden_dim=64, cell_type="rnn", *,
                 dtype=np.float64, seed=None):
        if cell_type not in ("rnn", "lstm", "gru"):
            raise ValueError(f"cell_type {cell_type!r}; expected 'rnn', 'lstm' or 'gru'")
        self.cell_type, self.dtype = cell_type, dtype
        V, W, H = vocab_size, wordvec_dim, hidden_dim
        g = {"rnn": 1, "lstm": 4, "gru": 3}[cell_type]
        rng = np.random.default_rng(seed)
        p = {}
        for part in ("_enc", "_dec"):
            p["W_embed" + part] = rng.standard_normal((V, W))
            p["Wx" + part] = rng.standard_normal((W, g * H)) / np.sqrt(W)
            p["Wh" + part] = rng.standard_normal((H, g * H)) / np.sqrt(H)
            for b in (("bx", "bh") if cell_type == "gru" else ("b",)):
                p[b + part] = np.zeros(g * H)
        p["W_vocab"] = rng.standard_normal((H, V)) / np.sqrt(H)
        p["b_vocab"] = np.zeros(V)
        self.params = {k: v.astype(dtype) for k, v in p.items()}

    def set_params(self, params):
        self.params = {k: np.array(v, dtype=self.dtype) for k, v in params.items()}

    def _names(self, part):
        return [n + part for n in (("Wx", "Wh", "bx", "bh") if self.cell_type == "gru"
                                   else ("Wx", "Wh", "b"))]

    def _run(self, x, h, c, part):
        # One layer over x (N, T, W) from (h, c): every h, the last (h, c), the step caches.
        p, cell = self.params, self.cell_type
        weights = [p[n] for n in self._names(part)]
        hs, caches = [], []
        for t in range(x.shape[1]):
            if cell == "lstm":
                h, c, cache = rnn_layers.lstm_step_forward(x[:, t], h, c, *weights)
            elif cell == "rnn":
                h, cache = rnn_layers.rnn_step_forward(x[:, t], h, *weights)
            else:
                h, cache = rnn_layers.gru_step_forward(x[:, t], h, *weights)
            hs.append(h)
            caches.append(cache)
        return hs, h, c, caches

    def _back(self, dhs, dh, dc, caches, part, grads):
        # Backpropagation through _run: dhs[t] reaches h_t from above, (dh, dc) the last state.
        cell, names = self.cell_type, self._names(part)
        dxs = [None] * len(caches)
        for t in range(len(caches) - 1, -1, -1):
            total = dh if dhs is None else dh + dhs[t]
            if cell == "lstm":
                dxs[t], dh, dc, *dw = rnn_layers.lstm_step_backward(total, dc, caches[t])
            elif cell == "rnn":
                dxs[t], dh, *dw = rnn_layers.rnn_step_backward(total, caches[t])
            else:
                dxs[t], dh, *dw = rnn_layers.gru_step_backward(total, caches[t])
            for name, value in zip(names, dw):
                grads[name] = grads.get(name, 0) + value
        return np.stack(dxs, axis=1), dh, dc

    def _encode(self, src):
        N, H = len(src), self.params["Wh_enc"].shape[0]
        zero = np.zeros((N, H), self.dtype)
        _, h, c, caches = self._run(self.params["W_embed_enc"][src], zero, zero, "_enc")
        return h, c, caches

    def loss(self, src, tgt):
        p = self.params
        h, c, enc_caches = self._encode(src)
        tgt_in = np.hstack([np.ones((len(tgt), 1), dtype=tgt.dtype), tgt[:, :-1]])
        hs, _, _, dec_caches = self._run(p["W_embed_dec"][tgt_in], h, c, "_dec")
        hs = np.stack(hs, axis=1)
        scores = hs @ p["W_vocab"] + p["b_vocab"]
        N, T, V = scores.shape
        mask = (tgt != 0).reshape(-1)
        flat = scores.reshape(-1, V)
        rows = np.arange(N * T)
        log_probs = flat - np.logaddexp.reduce(flat, axis=1, keepdims=True)
        loss = -(log_probs[rows, tgt.reshape(-1)] * mask).sum() / N
        dflat = np.exp(log_probs)
        dflat[rows, tgt.reshape(-1)] -= 1.0
        dflat *= mask[:, None] / N
        dscores = dflat.reshape(N, T, V)
        grads = {"W_vocab": hs.reshape(-1, hs.shape[2]).T @ dflat, "b_vocab": dflat.sum(axis=0)}
        dhs = dscores @ p["W_vocab"].T
        zero = np.zeros_like(h)
        # the decoder started from the encoder's last state: what reaches it flows on
        dx_dec, dh0, dc0 = self._back([dhs[:, t] for t in range(T)], zero, zero.copy(),
                                      dec_caches, "_dec", grads)
        dx_enc, _, _ = self._back(None, dh0, dc0, enc_caches, "_enc", grads)
        for part, tokens, dx in (("_dec", tgt_in, dx_dec), ("_enc", src, dx_enc)):
            grads["W_embed" + part] = np.zeros_like(p["W_embed" + part])
            np.add.at(grads["W_embed" + part], tokens, dx)
        return float(loss), {k: np.asarray(grads[k], self.dtype) for k in p}

    def translate(self, src, max_length):
        p, cell = self.params, self.cell_type
        h, c, _ = self._encode(src)
        token = np.ones(len(src), dtype=int)
        rows, done = [], np.zeros(len(src), dtype=bool)
        names = self._names("_dec")
        for _ in range(max_length):
            x = p["W_embed_dec"][token]
            if cell == "lstm":
                h, c, _ = rnn_layers.lstm_step_forward(x, h, c, *[p[n] for n in names])
            elif cell == "rnn":
                h, _ = rnn_layers.rnn_step_forward(x, h, *[p[n] for n in names])
            else:
                h, _ = rnn_layers.gru_step_forward(x, h, *[p[n] for n in names])
            token = (h @ p["W_vocab"] + p["b_vocab"]).argmax(axis=1)
            rows.append(np.where(done, 0, token))
            done |= token == 2
        return np.stack(rows, axis=1) if rows else np.zeros((len(src), 0), dtype=int)
"""

# the classifier's recurrent layer on core_ext's Cython time loops (a3.classifier and its
# training may import core_ext: the [imports] table of assignment.toml)
ALT_CLASSIFIER_CORE_EXT = """
import core_ext

_KERNELS = {"rnn": (core_ext.rnn_forward, core_ext.rnn_backward),
            "lstm": (core_ext.lstm_forward, core_ext.lstm_backward),
            "gru": (core_ext.gru_forward, core_ext.gru_backward)}


def _loss_on_core_ext(self, x, y=None):
    p, cell = self.params, self.cell_type
    N, H = x.shape[0], p["Wh"].shape[0]
    embedded, embed_cache = rnn_layers.word_embedding_forward(x, p["W_embed"])
    forward, backward = _KERNELS[cell]
    names = ("bx", "bh") if cell == "gru" else ("b",)
    h0 = np.zeros((N, H), self.dtype)
    h, cache = forward(embedded, h0, p["Wx"], p["Wh"], *(p[name] for name in names))
    last = h[:, -1]
    scores = last @ p["W_out"] + p["b_out"]
    if y is None:
        return scores
    loss, dscores = _softmax_loss(scores, y)
    dh = np.zeros_like(h)
    dh[:, -1] = dscores @ p["W_out"].T
    dembedded, _, dWx, dWh, *dbiases = backward(dh, cache)
    grads = {"Wx": dWx, "Wh": dWh, "W_out": last.T @ dscores, "b_out": dscores.sum(axis=0),
             "W_embed": rnn_layers.word_embedding_backward(dembedded, embed_cache),
             **dict(zip(names, dbiases))}
    return loss, {name: grads[name].astype(self.dtype) for name in p}


SequenceClassifier.loss = _loss_on_core_ext
"""

ALTERNATIVES: list[Variant] = [
    Variant("dict_caches", (("rnn_layers", ALT_DICT_CACHES), ("optim", ALT_CLIP_CONCATENATED))),
    Variant("concatenated_weights", (("rnn_layers", ALT_CONCATENATED_WEIGHTS),
                                     ("optim", ALT_CLIP_MIN))),
    Variant("hoisted_input_projection", (("rnn_layers", ALT_HOISTED_INPUT_PROJECTION),
                                         ("language_model", ALT_LANGUAGE_MODEL))),
    Variant("models_rewritten", (("classifier", ALT_CLASSIFIER), ("captioner", ALT_CAPTIONER),
                                 ("seq2seq", ALT_SEQ2SEQ))),
    Variant("classifier_on_core_ext", (("classifier", ALT_CLASSIFIER_CORE_EXT),)),
]
