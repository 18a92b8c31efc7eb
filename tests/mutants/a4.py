"""Plausible wrong A4 implementations (mutants) and correct-but-different ones (alternatives).

Each mutant is the reference solution with one bug (see tests/mutants/common.py). Multi-head
attention may call the student's own scaled dot-product attention (masked or not), and the
blocks call the student's multi-head attention, layer norm and FFN, so a bug in one of those may
also cost points on the tasks built from it; every other mutant loses points on its own task
only. The two blocks share the reference's residual helpers, so a block's own bugs are written
as whole functions appended to it.
"""

from __future__ import annotations

from mutants.common import ROOT, Variant, appended, replaced

REFERENCE = ROOT / "solutions" / "a4_attention"
SKIPPED = ()
_BLOCKS = ("a4.encoder", "a4.decoder")
DEPENDENTS = {"a4.attention": ("a4.masking", "a4.multihead", *_BLOCKS),
              # additive attention masks its scores with the same masked softmax
              "a4.masking": ("a4.multihead", "a4.additive", *_BLOCKS), "a4.multihead": _BLOCKS,
              "a4.layernorm": _BLOCKS, "a4.ffn": _BLOCKS}
# The models (vit.py, mixer.py, gpt.py) run the student's own layers: the ViT and the GPT their
# encoder blocks (so everything a block is built of) and position embeddings, the GPT the causal
# mask, the Mixer their layer norm, FFN and the ViT's front end. Their training runs are slow,
# so the three training tasks are graded for their own mutants only (none: the loops are a few
# lines over the given training.train; a wrong loop shows in the reference's own checks).
_TRAINING = ("a4.vit_training", "a4.mixer_training", "a4.gpt_training")
SKIPPED += _TRAINING
_VIT, _MIXER, _GPT = ("a4.vit", "a4.vit_training"), ("a4.mixer", "a4.mixer_training"), \
    ("a4.gpt", "a4.gpt_training")
for _task in ("a4.attention", "a4.masking", "a4.multihead", "a4.encoder", "a4.positional"):
    DEPENDENTS[_task] = DEPENDENTS.get(_task, ()) + _VIT + _GPT
for _task in ("a4.layernorm", "a4.ffn"):
    DEPENDENTS[_task] += _VIT + _GPT + ("a4.mixer_block",) + _MIXER
DEPENDENTS["a4.vit_frontend"] = _VIT + _MIXER
DEPENDENTS["a4.mixer_block"] = _MIXER
DEPENDENTS["a4.vit"], DEPENDENTS["a4.mixer"], DEPENDENTS["a4.gpt"] = _VIT[1:], _MIXER[1:], _GPT[1:]


def _dependents(task: str) -> tuple[str, ...]:
    return DEPENDENTS.get(task, ())


def _changes(name: str, task: str, *changes: tuple[str, str, str]) -> Variant:
    """A mutant of several changes in place that make one bug."""
    return Variant(name, tuple((file.removesuffix(".py"), (old, new)) for file, old, new in changes),
                   task, _dependents(task))


A, L, B, W, M = ("attention.py", "transformer_layers.py", "transformer_blocks.py", "windows.py",
                 "bert_masking.py")
V, X, G = "vit.py", "mixer.py", "gpt.py"
_REPLACEMENTS = {  # name: (task, file, old text, new text)
 # -- scaled dot-product attention ------------------------------------------------------------
 "attention_without_scale": ("a4.attention", A,
    "scale = 1.0 / np.sqrt(q.shape[-1])", "scale = 1.0"),
 "attention_softmax_backward_without_the_sum": ("a4.attention", A,
    "dscores = _softmax_backward(dout @ np.swapaxes(v, -1, -2), weights) * scale",
    "dscores = weights * (dout @ np.swapaxes(v, -1, -2)) * scale"),
 "attention_dv_weights_not_transposed": ("a4.attention", A,
    "np.swapaxes(weights, -1, -2) @ dout", "weights @ dout"),
 # -- masks -----------------------------------------------------------------------------------
 "mask_inverted": ("a4.masking", A,  # True read as "masked out", the additive masks' sense
    "mask = np.broadcast_to(mask, scores.shape)", "mask = ~np.broadcast_to(mask, scores.shape)"),
 "causal_mask_off_by_one": ("a4.masking", A,  # a position may not attend to itself
    "np.tril(np.ones((T, T), dtype=bool))", "np.tril(np.ones((T, T), dtype=bool), -1)"),
 # -- additive attention ----------------------------------------------------------------------
 "additive_tanh_derivative_missing": ("a4.additive", A,
    'dpre = dscores[:, :, None] * params["v"] * (1.0 - hidden ** 2)',
    'dpre = dscores[:, :, None] * params["v"]'),
 "additive_dh_through_the_scores_only": ("a4.additive", A,
    'dh = weights[:, :, None] * dcontext[:, None, :] + dpre @ params["W_h"].T',
    'dh = dpre @ params["W_h"].T'),
 "additive_W_s_gradient_not_summed_over_time": ("a4.additive", A,
    'grads = {"W_s": s.T @ dpre_s,', 'grads = {"W_s": s.T @ dpre[:, -1],'),
 "additive_mask_ignored": ("a4.additive", A,  # padded steps still attended to
    'weights = _masked_softmax(hidden @ params["v"], mask)',
    'weights = _masked_softmax(hidden @ params["v"], None)'),
 "additive_mask_applied_after_the_softmax": ("a4.additive", A,  # weights no longer sum to 1
    'weights = _masked_softmax(hidden @ params["v"], mask)',
    'weights = _masked_softmax(hidden @ params["v"], None) * (1.0 if mask is None else mask)'),
 # -- multi-head attention --------------------------------------------------------------------
 "multihead_scaled_by_the_model_width": ("a4.multihead", A,
    "heads, attention_cache = scaled_dot_product_attention_forward(q, k, v, mask)",
    "heads, attention_cache = scaled_dot_product_attention_forward(\n"
    "        q * np.sqrt(q.shape[-1] / D), k, v, mask)"),
 "multihead_dx_kv_from_the_values_only": ("a4.multihead", A,
    'return dx["Q"], dx["K"] + dx["V"], grads', 'return dx["Q"], dx["V"], grads'),
 "multihead_mask_not_broadcast_over_heads": ("a4.multihead", A,
    "mask = np.asarray(mask)[:, None]", "mask = np.asarray(mask)"),
 "multihead_b_O_not_summed_over_time": ("a4.multihead", A,
    '"b_O": dout.sum(axis=(0, 1))}', '"b_O": dout.sum(axis=0)[0]}'),
 # -- positional encodings --------------------------------------------------------------------
 "sinusoid_sin_and_cos_swapped": ("a4.positional", L,
    "P[:, 0::2] = np.sin(angle)\n    P[:, 1::2] = np.cos(angle[:, :D // 2])",
    "P[:, 0::2] = np.cos(angle)\n    P[:, 1::2] = np.sin(angle[:, :D // 2])"),
 "sinusoid_exponent_j_not_2j": ("a4.positional", L,
    "10000.0 ** (np.arange(0, D, 2) / D)", "10000.0 ** (np.arange((D + 1) // 2) / D)"),
 "position_embedding_gradient_averaged_over_the_batch": ("a4.positional", L,
    "dW_pos[:T] = dout.sum(axis=0)", "dW_pos[:T] = dout.mean(axis=0)"),
 # -- layer norm ------------------------------------------------------------------------------
 "layernorm_over_the_batch_axis": ("a4.layernorm", L,
    "mu, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)",
    "mu, var = x.mean(axis=0, keepdims=True), x.var(axis=0, keepdims=True)"),
 "layernorm_backward_without_mean_and_variance_terms": ("a4.layernorm", L,
    "    dx = (D * dx_hat - dx_hat.sum(axis=-1, keepdims=True)\n"
    "          - x_hat * (dx_hat * x_hat).sum(axis=-1, keepdims=True)) / (D * std)",
    "    dx = dx_hat / std"),
 "layernorm_backward_without_the_variance_term": ("a4.layernorm", L,
    "    dx = (D * dx_hat - dx_hat.sum(axis=-1, keepdims=True)\n"
    "          - x_hat * (dx_hat * x_hat).sum(axis=-1, keepdims=True)) / (D * std)",
    "    dx = (D * dx_hat - dx_hat.sum(axis=-1, keepdims=True)) / (D * std)"),
 # -- GELU and the FFN ------------------------------------------------------------------------
 "gelu_tanh_approximation": ("a4.ffn", L,
    "cdf = 0.5 * (1.0 + _erf(x / np.sqrt(2.0)))",
    "cdf = 0.5 * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))"),
 "gelu_backward_without_the_density_term": ("a4.ffn", L,
    "return dout * (cdf + x * np.exp(-0.5 * x ** 2) / np.sqrt(2.0 * np.pi))",
    "return dout * cdf"),
 "ffn_dW2_from_the_preactivation": ("a4.ffn", L,
    "dW2 = hidden.reshape(-1, hidden.shape[-1]).T",
    "dW2 = (act_cache if activation == 'relu' else hidden).reshape(-1, hidden.shape[-1]).T"),
 # -- dropout ---------------------------------------------------------------------------------
 "dropout_not_rescaled": ("a4.dropout", L,
    "mask = (rng.random(x.shape) < p) / p", "mask = (rng.random(x.shape) < p) * 1.0"),
 "dropout_p_as_the_drop_probability": ("a4.dropout", L,
    "mask = (rng.random(x.shape) < p) / p", "mask = (rng.random(x.shape) >= p) / (1 - p)"),
 # -- the blocks (forward bugs; the backward ones are appended below) ---------------------------
 "encoder_norm_ignored_always_post": ("a4.encoder", B,
    '    attn = _attention_params(params, "")\n', '    norm = "post"\n'
    '    attn = _attention_params(params, "")\n'),
 "encoder_mask_not_passed": ("a4.encoder", B,
    "attention.multihead_attention_forward(y, y, attn, num_heads, mask))",
    "attention.multihead_attention_forward(y, y, attn, num_heads))"),
 "decoder_self_attention_not_causal": ("a4.decoder", B,
    "causal = attention.causal_mask(x.shape[1])", "causal = None"),
 "decoder_memory_mask_not_passed_to_the_cross_attention": ("a4.decoder", B,
    "attention.multihead_attention_forward(y, memory, cross, num_heads, mask))",
    "attention.multihead_attention_forward(y, memory, cross, num_heads))"),
 "decoder_memory_gradient_dropped": ("a4.decoder", B,
    "return dx, dmemory[0], grads", "return dx, 0.0 * dmemory[0], grads"),
 # -- Swin windows ----------------------------------------------------------------------------
 "window_partition_without_the_transpose": ("a4.swin", W,
    "x.reshape(N, H // ws, ws, W // ws, ws, C).transpose(0, 1, 3, 2, 4, 5)",
    "x.reshape(N, H // ws, ws, W // ws, ws, C)"),
 "window_reverse_rows_and_columns_swapped": ("a4.swin", W,
    "windows.reshape(-1, H // ws, W // ws, ws, ws, C)",
    "windows.reshape(-1, W // ws, H // ws, ws, ws, C)"),
 "shifted_mask_regions_of_the_unrolled_map": ("a4.swin", W,  # region borders at s, not L - s
    'rows = np.searchsorted([H - ws, H - s], np.arange(H), side="right")',
    'rows = np.searchsorted([s], np.arange(H), side="right")'),
 # -- BERT masking ----------------------------------------------------------------------------
 "bert_no_chosen_token_kept": ("a4.bert_masking", M,  # 80 % [MASK], 20 % random, none kept
    "chosen & (u >= 0.8) & (u < 0.9)", "chosen & (u >= 0.8)"),
 "bert_mask_prob_ignored": ("a4.bert_masking", M,
    "\n    chosen = rng.random(tokens.shape) < mask_prob",
    "\n    chosen = rng.random(tokens.shape) < 0.15"),
 "bert_labels_everywhere": ("a4.bert_masking", M,
    "np.where(chosen, tokens, ignore_index)", "np.where(True, tokens, ignore_index)"),
 "bert_random_tokens_skip_the_last_id": ("a4.bert_masking", M,
    "rng.integers(0, vocab_size, tokens.shape)\n", "rng.integers(0, vocab_size - 1, tokens.shape)\n"),
 # -- the ViT front end -----------------------------------------------------------------------
 "cls_token_gradient_averaged_over_the_batch": ("a4.vit_frontend", V,
    "return dout[:, 1:].copy(), dout[:, 0].sum(axis=0)",
    "return dout[:, 1:].copy(), dout[:, 0].mean(axis=0)"),
 "cls_token_gradient_of_the_first_image_only": ("a4.vit_frontend", V,
    "return dout[:, 1:].copy(), dout[:, 0].sum(axis=0)", "return dout[:, 1:].copy(), dout[0, 0]"),
 "patches_numbered_column_by_column": ("a4.vit_frontend", V,  # forward only: its gradient is
    ".transpose(0, 2, 4, 1, 3, 5)", ".transpose(0, 4, 2, 1, 3, 5)"),  # then wrong too
 "patch_embedding_db_averaged_over_the_patches": ("a4.vit_frontend", V,
    "dout.reshape(-1, D).sum(axis=0)", "dout.mean(axis=1).sum(axis=0)"),
 # -- the ViT ---------------------------------------------------------------------------------
 "vit_position_embedding_gradient_dropped": ("a4.vit", V,
    'dh, grads["W_pos"] = transformer_layers.position_embedding_backward(dh, pos_cache)',
    'dh, _ = transformer_layers.position_embedding_backward(dh, pos_cache)\n'
    '        grads["W_pos"] = np.zeros_like(p["W_pos"])'),
 "vit_post_norm_blocks": ("a4.vit", V,
    '"norm": "pre", "activation": self.activation}', '"norm": "post", "activation": self.activation}'),
 "vit_cls_gradient_not_passed_to_the_token": ("a4.vit", V,
    'dtokens, grads["cls"] = cls_token_backward(dh, cls_cache)',
    'dtokens, grads["cls"] = cls_token_backward(dh, cls_cache)\n'
    '        grads["cls"] = np.zeros_like(grads["cls"])'),
 # -- the Mixer block -------------------------------------------------------------------------
 "mixer_channel_residual_gradient_dropped": ("a4.mixer_block", X,
    "da = dout + dva", "da = dva"),
 "mixer_token_residual_gradient_dropped": ("a4.mixer_block", X,
    "return da + dux, {k: grads[k] for k in MIXER_KEYS}",
    "return dux, {k: grads[k] for k in MIXER_KEYS}"),
 "mixer_one_layer_norm_for_both_mlps": ("a4.mixer_block", X,  # LN2 uses LN1's gamma and beta
    'p["gamma2"], p["beta2"], ln_param)', 'p["gamma1"], p["beta1"], ln_param)'),
 # -- the Mixer classifier --------------------------------------------------------------------
 "mixer_head_gradient_not_divided_by_the_patches": ("a4.mixer", X,
    "(dscores @ p[\"W_head\"].T)[:, None] / z.shape[1]", "(dscores @ p[\"W_head\"].T)[:, None]"),
 "mixer_patch_embedding_bias_gradient_dropped": ("a4.mixer", X,
    '_, grads["W_patch"], grads["b_patch"] = vit.patch_embedding_backward(dh, embed_cache)',
    '_, grads["W_patch"], _ = vit.patch_embedding_backward(dh, embed_cache)\n'
    '        grads["b_patch"] = np.zeros_like(p["b_patch"])'),
 # -- the GPT ---------------------------------------------------------------------------------
 "gpt_without_the_causal_mask": ("a4.gpt", G,
    "mask = attention.causal_mask(T)", "mask = None"),
 "gpt_position_embedding_gradient_dropped": ("a4.gpt", G,
    'dtok, grads["W_pos"] = transformer_layers.position_embedding_backward(dh, pos_cache)',
    'dtok, _ = transformer_layers.position_embedding_backward(dh, pos_cache)\n'
    '        grads["W_pos"] = np.zeros_like(p["W_pos"])'),
 "gpt_token_gradient_overwritten_for_repeated_tokens": ("a4.gpt", G,
    'np.add.at(grads["W_tok"], x.reshape(-1), dtok.reshape(-1, D))',
    'grads["W_tok"][x.reshape(-1)] = dtok.reshape(-1, D)'),
 "gpt_sample_temperature_ignored": ("a4.gpt", G,
    "z = s / temperature", "z = s"),
 "gpt_sample_window_from_the_start": ("a4.gpt", G,
    "context[-self.max_len:]", "context[:self.max_len]"),
}
MUTANTS: list[Variant] = replaced(_REPLACEMENTS, _dependents)
MUTANTS += [
    _changes("multihead_heads_split_along_the_wrong_axis", "a4.multihead",
             (A, "x.reshape(N, T, num_heads, D // num_heads).transpose(0, 2, 1, 3)",
              "x.reshape(N, T, D // num_heads, num_heads).transpose(0, 3, 1, 2)"),
             (A, "x.transpose(0, 2, 1, 3).reshape(N, T, H * dk)",
              "x.transpose(0, 2, 3, 1).reshape(N, T, H * dk)")),
    _changes("patches_flattened_channel_last", "a4.vit_frontend",  # (p, p, C), not (C, p, p)
             (V, ".transpose(0, 2, 4, 1, 3, 5)", ".transpose(0, 2, 4, 3, 5, 1)"),
             (V, "dout.reshape(N, H // p, W // p, C, p, p).transpose(0, 3, 1, 4, 2, 5)",
              "dout.reshape(N, H // p, W // p, p, p, C).transpose(0, 5, 1, 3, 2, 4)")),
    _changes("mixer_token_mlp_output_reshaped_not_transposed", "a4.mixer_block",
             (X, "a = x + t.transpose(0, 2, 1)", "a = x + t.reshape(x.shape)"),
             (X, "ffn_backward(da.transpose(0, 2, 1), tok)",
              "ffn_backward(da.reshape(da.shape[0], da.shape[2], da.shape[1]), tok)")),
    _changes("vit_head_reads_the_last_token", "a4.vit",
             (V, 'layernorm_forward(h[:, 0], p["gamma"]', 'layernorm_forward(h[:, -1], p["gamma"]'),
             (V, 'dh[:, 0], grads["gamma"]', 'dh[:, -1], grads["gamma"]')),
    _changes("mixer_pooled_by_the_sum", "a4.mixer",
             (X, "pooled = z.mean(axis=1)", "pooled = z.sum(axis=1)"),
             (X, "(dscores @ p[\"W_head\"].T)[:, None] / z.shape[1]",
              "(dscores @ p[\"W_head\"].T)[:, None]")),
    appended("attention_softmax_over_the_queries", "attention", "a4.attention", '''
        def scaled_dot_product_attention_forward(q, k, v, mask=None):
            scale = 1.0 / np.sqrt(q.shape[-1])
            scores = q @ np.swapaxes(k, -1, -2) * scale
            e = np.exp(scores - scores.max(axis=-2, keepdims=True))
            weights = e / e.sum(axis=-2, keepdims=True)
            return weights @ v, (q, k, v, weights, scale)
        ''', _dependents("a4.attention")),
    appended("mask_applied_after_the_softmax", "attention", "a4.masking", '''
        def _masked_softmax(scores, mask):
            e = np.exp(scores - scores.max(axis=-1, keepdims=True))
            weights = e / e.sum(axis=-1, keepdims=True)
            return weights if mask is None else weights * mask
        ''', _dependents("a4.masking")),
    appended("mask_by_a_large_negative_score", "attention", "a4.masking", '''
        def _masked_softmax(scores, mask):  # a query with every key masked gets uniform weights
            if mask is not None:
                scores = np.where(mask, scores, -1e9)
            e = np.exp(scores - scores.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
        ''', _dependents("a4.masking")),
    appended("encoder_post_norm_ffn_residual_gradient_dropped", "transformer_blocks",
             "a4.encoder", '''
        def encoder_block_backward(dout, cache):
            attn_cache, ffn_cache = cache
            grads = {}
            norm, _, ln_cache, body_cache = ffn_cache
            if norm == "post":  # LN2(a + FFN(a)): a's gradient through the FFN only
                dsum, grads["gamma2"], grads["beta2"] = \\
                    transformer_layers.layernorm_backward(dout, ln_cache)
                da = _ffn_backward(grads)(dsum, body_cache)
            else:
                da = _sublayer_backward(dout, ffn_cache, grads, _ffn_backward(grads))
            return _sublayer_backward(da, attn_cache, grads,
                                      _self_attention_backward(grads, "")), grads
        ''', _dependents("a4.encoder")),
    appended("encoder_pre_norm_attention_residual_gradient_dropped", "transformer_blocks",
             "a4.encoder", '''
        def encoder_block_backward(dout, cache):
            attn_cache, ffn_cache = cache
            grads = {}
            da = _sublayer_backward(dout, ffn_cache, grads, _ffn_backward(grads))
            norm, _, ln_cache, body_cache = attn_cache
            if norm == "pre":  # x + MHA(LN1(x)): x's gradient through the attention only
                dnormed = _self_attention_backward(grads, "")(da, body_cache)
                dx, grads["gamma1"], grads["beta1"] = \\
                    transformer_layers.layernorm_backward(dnormed, ln_cache)
                return dx, grads
            return _sublayer_backward(da, attn_cache, grads,
                                      _self_attention_backward(grads, "")), grads
        ''', _dependents("a4.encoder")),
    appended("encoder_self_attention_gradient_from_the_queries_only", "transformer_blocks",
             "a4.encoder", '''
        def encoder_block_backward(dout, cache):
            attn_cache, ffn_cache = cache
            grads = {}

            def queries_only(dy, attn):  # MHA(y, y): y's gradient is dx_q + dx_kv
                dx_q, _, dparams = attention.multihead_attention_backward(dy, attn)
                grads.update(dparams)
                return dx_q

            da = _sublayer_backward(dout, ffn_cache, grads, _ffn_backward(grads))
            return _sublayer_backward(da, attn_cache, grads, queries_only), grads
        ''', _dependents("a4.encoder")),
    appended("decoder_cross_attention_gradient_not_sent_back_to_the_decoder",
             "transformer_blocks", "a4.decoder", '''
        def decoder_block_backward(dout, cache):
            self_cache, cross_cache, ffn_cache = cache
            grads, dmemory = {}, []

            def cross_backward(dy, attn_cache):
                dx_q, dx_kv, dparams = attention.multihead_attention_backward(dy, attn_cache)
                grads.update({"cross_" + k: v for k, v in dparams.items()})
                dmemory.append(dx_kv)
                return 0.0 * dx_q

            db = _sublayer_backward(dout, ffn_cache, grads, _ffn_backward(grads))
            da = _sublayer_backward(db, cross_cache, grads, cross_backward)
            dx = _sublayer_backward(da, self_cache, grads, _self_attention_backward(grads, "self_"))
            return dx, dmemory[0], grads
        '''),
]


# Correct rewrites, each a whole submission of one or more modules written anew.
ALT_EINSUM_ATTENTION = """
def causal_mask(T):
    i = np.arange(T)
    return i[None, :] <= i[:, None]


def _softmax_rows(scores, mask):
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    top = np.max(scores, axis=-1, keepdims=True)
    top[~np.isfinite(top)] = 0.0
    e = np.exp(scores - top)  # exp(-inf) = 0 for the masked keys
    total = e.sum(axis=-1, keepdims=True)
    total[total == 0] = 1.0
    return e / total


def scaled_dot_product_attention_forward(q, k, v, mask=None):
    d = q.shape[-1]
    w = _softmax_rows(np.einsum("...id,...jd->...ij", q, k) / np.sqrt(d), mask)
    return np.einsum("...ij,...jv->...iv", w, v), {"q": q, "k": k, "v": v, "w": w}


def scaled_dot_product_attention_backward(dout, cache):
    q, k, v, w = cache["q"], cache["k"], cache["v"], cache["w"]
    dw = np.einsum("...iv,...jv->...ij", dout, v)
    ds = w * dw - w * np.einsum("...ij,...ij->...i", w, dw)[..., None]
    ds /= np.sqrt(q.shape[-1])
    return (np.einsum("...ij,...jd->...id", ds, k), np.einsum("...ij,...id->...jd", ds, q),
            np.einsum("...ij,...iv->...jv", w, dout))


def multihead_attention_forward(x_q, x_kv, params, num_heads, mask=None):
    D = params["W_Q"].shape[1]
    dk = D // num_heads
    Q = x_q @ params["W_Q"] + params["b_Q"]
    K = x_kv @ params["W_K"] + params["b_K"]
    V = x_kv @ params["W_V"] + params["b_V"]
    heads, caches = [], []
    for i in range(num_heads):  # one head at a time, each its slice of features
        part = slice(i * dk, (i + 1) * dk)
        out, c = scaled_dot_product_attention_forward(Q[..., part], K[..., part], V[..., part],
                                                      mask)
        heads.append(out)
        caches.append(c)
    concat = np.concatenate(heads, axis=-1)
    cache = {"x_q": x_q, "x_kv": x_kv, "p": params, "dk": dk, "heads": caches, "concat": concat}
    return concat @ params["W_O"] + params["b_O"], cache


def multihead_attention_backward(dout, cache):
    p, dk = cache["p"], cache["dk"]
    grads = {"W_O": np.einsum("ntd,nte->de", cache["concat"], dout), "b_O": dout.sum(axis=(0, 1))}
    dconcat = dout @ p["W_O"].T
    parts = [scaled_dot_product_attention_backward(dconcat[..., i * dk:(i + 1) * dk], c)
             for i, c in enumerate(cache["heads"])]
    dQ, dK, dV = (np.concatenate([part[j] for part in parts], axis=-1) for j in range(3))
    dx_kv = 0.0
    for name, x, dy in (("Q", cache["x_q"], dQ), ("K", cache["x_kv"], dK),
                        ("V", cache["x_kv"], dV)):
        grads["W_" + name] = np.einsum("ntd,nte->de", x, dy)
        grads["b_" + name] = dy.sum(axis=(0, 1))
        if name == "Q":
            dx_q = dy @ p["W_Q"].T
        else:
            dx_kv = dx_kv + dy @ p["W_" + name].T
    return dx_q, dx_kv, grads


def additive_attention_forward(s, h, params, mask=None):
    u = np.tanh(np.einsum("na,nta->nta", s @ params["W_s"], np.ones(h.shape[:2] + (1,)))
                + np.einsum("nte,ea->nta", h, params["W_h"]) + params["b"])
    e = np.einsum("nta,a->nt", u, params["v"])
    keep = np.ones(e.shape, bool) if mask is None else np.asarray(mask, bool)
    e = np.where(keep, e, -np.inf)
    top = e.max(axis=1, keepdims=True)
    a = np.where(keep, np.exp(e - np.where(np.isfinite(top), top, 0.0)), 0.0)
    total = a.sum(axis=1, keepdims=True)
    a /= np.where(total > 0, total, 1.0)
    return np.einsum("nt,nte->ne", a, h), (s, h, params, u, a)


def additive_attention_backward(dcontext, cache):
    s, h, p, u, a = cache
    da = np.einsum("ne,nte->nt", dcontext, h)
    de = a * (da - np.sum(a * da, axis=1, keepdims=True))
    dz = np.einsum("nt,a->nta", de, p["v"]) * (1 - u * u)
    grads = {"v": np.einsum("nt,nta->a", de, u), "b": np.einsum("nta->a", dz),
             "W_s": np.einsum("nh,nta->ha", s, dz), "W_h": np.einsum("nte,nta->ea", h, dz)}
    ds = np.einsum("nta,ha->nh", dz, p["W_s"])
    dh = np.einsum("nt,ne->nte", a, dcontext) + np.einsum("nta,ea->nte", dz, p["W_h"])
    return ds, dh, grads
"""

ALT_LAYERS_BY_FORMULA = """
def sinusoidal_positional_encoding(T, D):
    P = np.empty((T, D))
    for i in range(T):
        for f in range(D):
            angle = i / 10000 ** ((f - f % 2) / D)
            P[i, f] = math.sin(angle) if f % 2 == 0 else math.cos(angle)
    return P


def position_embedding_forward(x, W_pos):
    return x + W_pos[None, :x.shape[1], :], {"T": x.shape[1], "rows": W_pos.shape[0]}


def position_embedding_backward(dout, cache):
    used = dout.sum(axis=0)
    unused = np.zeros((cache["rows"] - cache["T"], dout.shape[-1]))
    return dout, np.concatenate([used, unused], axis=0)


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    centred = x - x.mean(axis=-1, keepdims=True)
    inv = 1.0 / np.sqrt((centred ** 2).mean(axis=-1, keepdims=True) + eps)
    return centred * inv * gamma + beta, (centred, inv, gamma)


def layernorm_backward(dout, cache):
    centred, inv, gamma = cache
    x_hat = centred * inv
    g = dout * gamma
    dx = inv * (g - g.mean(axis=-1, keepdims=True)
                - x_hat * (g * x_hat).mean(axis=-1, keepdims=True))
    axes = tuple(range(dout.ndim - 1))
    return dx, np.sum(dout * x_hat, axis=axes), np.sum(dout, axis=axes)


def gelu_forward(x):
    phi = np.array([0.5 * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x.ravel()])
    phi = phi.reshape(x.shape)
    return x * phi, (x, phi)


def gelu_backward(dout, cache):
    x, phi = cache
    density = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    return dout * phi + dout * x * density


def ffn_forward(x, W1, b1, W2, b2, activation="relu"):
    a = np.einsum("ntd,df->ntf", x, W1) + b1
    if activation == "gelu":
        z, gelu_cache = gelu_forward(a)
    else:
        z, gelu_cache = a * (a > 0), None
    return np.einsum("ntf,fd->ntd", z, W2) + b2, (x, a, z, W1, W2, gelu_cache)


def ffn_backward(dout, cache):
    x, a, z, W1, W2, gelu_cache = cache
    dz = np.einsum("ntd,fd->ntf", dout, W2)
    da = gelu_backward(dz, gelu_cache) if gelu_cache is not None else np.where(a > 0, dz, 0.0)
    return (np.einsum("ntf,df->ntd", da, W1), np.einsum("ntd,ntf->df", x, da),
            da.sum(axis=(0, 1)), np.einsum("ntf,ntd->fd", z, dout), dout.sum(axis=(0, 1)))


def dropout_forward(x, dropout_param):
    if dropout_param["mode"] == "test":
        return x, None
    p = dropout_param["p"]
    keep = np.random.RandomState(dropout_param.get("seed")).uniform(size=x.shape) < p
    return np.where(keep, x / p, 0.0), keep / p


def dropout_backward(dout, cache):
    return dout if cache is None else dout * cache
"""

ALT_BLOCKS_WRITTEN_OUT = """
def _mha(y, kv, params, prefix, heads, mask=None):
    p = {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix) and
         k[len(prefix):] in ("W_Q", "b_Q", "W_K", "b_K", "W_V", "b_V", "W_O", "b_O")}
    return attention.multihead_attention_forward(y, kv, p, heads, mask)


def _ln(x, params, i, eps):
    return transformer_layers.layernorm_forward(x, params[f"gamma{i}"], params[f"beta{i}"],
                                                {"eps": eps})


def _ffn_of(x, params, act):
    return transformer_layers.ffn_forward(x, params["W1"], params["b1"], params["W2"],
                                          params["b2"], act)


def encoder_block_forward(x, params, block_param, mask=None):
    h, eps = block_param["num_heads"], block_param.get("eps", 1e-5)
    act, pre = block_param.get("activation", "relu"), block_param.get("norm", "post") == "pre"
    c = {"pre": pre}
    if pre:
        n1, c["ln1"] = _ln(x, params, 1, eps)
        att, c["att"] = _mha(n1, n1, params, "", h, mask)
        a = x + att
        n2, c["ln2"] = _ln(a, params, 2, eps)
        f, c["ffn"] = _ffn_of(n2, params, act)
        return a + f, c
    att, c["att"] = _mha(x, x, params, "", h, mask)
    a, c["ln1"] = _ln(x + att, params, 1, eps)
    f, c["ffn"] = _ffn_of(a, params, act)
    out, c["ln2"] = _ln(a + f, params, 2, eps)
    return out, c


def _grads_of_ffn(grads, dy, cache):
    dx, grads["W1"], grads["b1"], grads["W2"], grads["b2"] = \\
        transformer_layers.ffn_backward(dy, cache)
    return dx


def _grads_of_mha(grads, prefix, dy, cache):
    dq, dkv, g = attention.multihead_attention_backward(dy, cache)
    for k, v in g.items():
        grads[prefix + k] = v
    return dq, dkv


def _grads_of_ln(grads, i, dy, cache):
    dx, grads[f"gamma{i}"], grads[f"beta{i}"] = transformer_layers.layernorm_backward(dy, cache)
    return dx


def encoder_block_backward(dout, cache):
    g, c = {}, cache
    if c["pre"]:
        da = dout + _grads_of_ln(g, 2, _grads_of_ffn(g, dout, c["ffn"]), c["ln2"])
        dq, dkv = _grads_of_mha(g, "", da, c["att"])
        return da + _grads_of_ln(g, 1, dq + dkv, c["ln1"]), g
    ds2 = _grads_of_ln(g, 2, dout, c["ln2"])
    da = ds2 + _grads_of_ffn(g, ds2, c["ffn"])
    ds1 = _grads_of_ln(g, 1, da, c["ln1"])
    dq, dkv = _grads_of_mha(g, "", ds1, c["att"])
    return ds1 + dq + dkv, g


def decoder_block_forward(x, memory, params, block_param, memory_mask=None):
    h, eps = block_param["num_heads"], block_param.get("eps", 1e-5)
    act, pre = block_param.get("activation", "relu"), block_param.get("norm", "post") == "pre"
    causal = attention.causal_mask(x.shape[1])
    if memory_mask is not None:  # the (N, T, S) the multi-head attention's docstring takes
        memory_mask = np.broadcast_to(memory_mask, x.shape[:2] + memory.shape[1:2])
    c = {"pre": pre}
    if pre:
        n1, c["ln1"] = _ln(x, params, 1, eps)
        s, c["self"] = _mha(n1, n1, params, "self_", h, causal)
        a = x + s
        n2, c["ln2"] = _ln(a, params, 2, eps)
        r, c["cross"] = _mha(n2, memory, params, "cross_", h, memory_mask)
        b = a + r
        n3, c["ln3"] = _ln(b, params, 3, eps)
        f, c["ffn"] = _ffn_of(n3, params, act)
        return b + f, c
    s, c["self"] = _mha(x, x, params, "self_", h, causal)
    a, c["ln1"] = _ln(x + s, params, 1, eps)
    r, c["cross"] = _mha(a, memory, params, "cross_", h, memory_mask)
    b, c["ln2"] = _ln(a + r, params, 2, eps)
    f, c["ffn"] = _ffn_of(b, params, act)
    out, c["ln3"] = _ln(b + f, params, 3, eps)
    return out, c


def decoder_block_backward(dout, cache):
    g, c = {}, cache
    if c["pre"]:
        db = dout + _grads_of_ln(g, 3, _grads_of_ffn(g, dout, c["ffn"]), c["ln3"])
        dq, dmemory = _grads_of_mha(g, "cross_", db, c["cross"])
        da = db + _grads_of_ln(g, 2, dq, c["ln2"])
        dq, dkv = _grads_of_mha(g, "self_", da, c["self"])
        return da + _grads_of_ln(g, 1, dq + dkv, c["ln1"]), dmemory, g
    ds3 = _grads_of_ln(g, 3, dout, c["ln3"])
    db = ds3 + _grads_of_ffn(g, ds3, c["ffn"])
    ds2 = _grads_of_ln(g, 2, db, c["ln2"])
    dq, dmemory = _grads_of_mha(g, "cross_", ds2, c["cross"])
    ds1 = _grads_of_ln(g, 1, ds2 + dq, c["ln1"])
    dq, dkv = _grads_of_mha(g, "self_", ds1, c["self"])
    return ds1 + dq + dkv, dmemory, g
"""

ALT_WINDOWS_BY_LOOPS = """
def window_partition(x, window_size):
    N, H, W, C = x.shape
    s = window_size
    return np.stack([x[n, r:r + s, c:c + s] for n in range(N) for r in range(0, H, s)
                     for c in range(0, W, s)])


def window_reverse(windows, window_size, H, W):
    s = window_size
    per = (H // s) * (W // s)
    x = np.empty((len(windows) // per, H, W, windows.shape[-1]), dtype=windows.dtype)
    k = 0
    for n in range(len(x)):
        for r in range(0, H, s):
            for c in range(0, W, s):
                x[n, r:r + s, c:c + s] = windows[k]
                k += 1
    return x


def shifted_window_mask(H, W, window_size, shift_size):
    def region(i, length):
        return 0 if i < length - window_size else 1 if i < length - shift_size else 2
    labels = np.array([[region(i, H) * 3 + region(j, W) for j in range(W)] for i in range(H)])
    flat = window_partition(labels[None, :, :, None], window_size)
    flat = flat.reshape(len(flat), -1)
    return np.equal.outer(flat, flat).diagonal(axis1=0, axis2=2).transpose(2, 0, 1)
"""

ALT_BERT_STEP_BY_STEP = """
def bert_mask_tokens(tokens, vocab_size, mask_token, seed, mask_prob=0.15, ignore_index=-100):
    rng = np.random.default_rng(seed)
    chosen = rng.random(tokens.shape) < mask_prob
    u = rng.random(tokens.shape)
    replacement = rng.integers(0, vocab_size, tokens.shape)
    inputs, labels = tokens.copy(), np.full_like(tokens, ignore_index)
    labels[chosen] = tokens[chosen]
    inputs[chosen & (u < 0.8)] = mask_token
    swap = chosen & (0.8 <= u) & (u < 0.9)
    inputs[swap] = replacement[swap]
    return inputs, labels
"""

ALTERNATIVES: list[Variant] = [
    Variant("einsum_attention_with_heads_one_by_one", (("attention", ALT_EINSUM_ATTENTION),)),
    Variant("layers_by_formula", (("transformer_layers", "import math\n" + ALT_LAYERS_BY_FORMULA),
                                  ("windows", ALT_WINDOWS_BY_LOOPS))),
    Variant("blocks_written_out", (("transformer_blocks", ALT_BLOCKS_WRITTEN_OUT),
                                   ("bert_masking", ALT_BERT_STEP_BY_STEP))),
]
