"""Plausible wrong A1 implementations (mutants) and correct-but-different ones (alternatives).

Each mutant is the reference solution with one bug (see tests/mutants/common.py). A bug in a
layer may also cost points on the composite tasks built from the student's own layers (the XOR
network, FullyConnectedNet and its training), and nowhere else.
"""

from __future__ import annotations

import functools

from mutants.common import ROOT, Variant, appended, replaced, submission

REFERENCE = ROOT / "solutions" / "a1_networks"
COMPOSITE = ("a1.xor", "a1.fcnet", "a1.training")
SKIPPED = COMPOSITE  # graded only for mutants of their own (slow, and any layer bug may show)

_v = functools.partial(appended, dependents=COMPOSITE)


MUTANTS: list[Variant] = [
    # -- gradient check ------------------------------------------------------------------------
    _v("gradcheck_forward_difference", "gradient_check", "a1.gradcheck", """
        def eval_numerical_gradient(f, x, h=1e-5):
            grad = np.zeros(x.shape)
            fx = f(x)
            for ix in np.ndindex(x.shape):
                old = x[ix]
                x[ix] = old + h
                grad[ix] = (f(x) - fx) / h
                x[ix] = old
            return grad
        """, dependents=()),
    _v("rel_error_without_floor_mean", "gradient_check", "a1.gradcheck", """
        def rel_error(x, y):
            return float(np.mean(np.abs(x - y) / (np.abs(x) + np.abs(y) + 1e-8)))
        """, dependents=()),
    # -- affine --------------------------------------------------------------------------------
    _v("affine_db_not_summed", "layers", "a1.affine", """
        def affine_forward(x, w, b):
            return x.reshape(x.shape[0], -1) @ w + b, (x, w)

        def affine_backward(dout, cache):
            x, w = cache
            return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.mean(axis=0)
        """),
    _v("affine_dx_not_reshaped", "layers", "a1.affine", """
        def affine_forward(x, w, b):
            return x.reshape(x.shape[0], -1) @ w + b, (x, w)

        def affine_backward(dout, cache):
            x, w = cache
            return dout @ w.T, x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)
        """),
    _v("affine_dw_transposed_product", "layers", "a1.affine", """
        def affine_forward(x, w, b):
            return x.reshape(x.shape[0], -1) @ w + b, (x, w)

        def affine_backward(dout, cache):
            x, w = cache
            xf = x.reshape(x.shape[0], -1)
            dw = (dout.T @ xf).T / x.shape[0]
            return (dout @ w.T).reshape(x.shape), dw, dout.sum(axis=0)
        """),
    # -- relu ----------------------------------------------------------------------------------
    _v("relu_gradient_on_the_wrong_side", "activations", "a1.relu", """
        def relu_backward(dout, cache):
            x = cache if isinstance(cache, np.ndarray) else cache[0]
            return dout * (x < 0)
        """),
    _v("relu_backward_uses_output_mask_including_zero", "activations", "a1.relu", """
        def relu_forward(x):
            return np.maximum(x, 0), x

        def relu_backward(dout, cache):
            return dout * (cache >= 0)
        """),
    # -- losses ----------------------------------------------------------------------------------
    _v("softmax_without_max_shift", "losses", "a1.softmax", """
        def softmax_loss(x, y):
            e = np.exp(x)
            p = e / e.sum(axis=1, keepdims=True)
            n = x.shape[0]
            loss = -np.log(p[np.arange(n), y]).mean()
            dx = p.copy()
            dx[np.arange(n), y] -= 1
            return float(loss), dx / n
        """),
    _v("softmax_gradient_not_averaged", "losses", "a1.softmax", """
        def softmax_loss(x, y):
            z = x - x.max(axis=1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            n = x.shape[0]
            dx = np.exp(logp)
            dx[np.arange(n), y] -= 1
            return float(-logp[np.arange(n), y].mean()), dx
        """),
    _v("svm_counts_the_correct_class", "losses", "a1.svm", """
        def svm_loss(x, y):
            n = x.shape[0]
            margins = np.maximum(0, x - x[np.arange(n), y][:, None] + 1)
            loss = margins.sum() / n
            mask = (margins > 0).astype(float)
            mask[np.arange(n), y] -= mask.sum(axis=1)
            return float(loss), mask / n
        """),
    # -- activations and regression/binary losses ---------------------------------------------
    _v("leaky_wrong_side_at_zero", "activations", "a1.leaky_relu", """
       def leaky_relu_backward(dout, cache):
           x, alpha = cache
           return np.where(x >= 0, dout, alpha * dout)
       """),
    _v("leaky_backward_default_alpha", "activations", "a1.leaky_relu", """
       def leaky_relu_backward(dout, cache):
           x, alpha = cache
           return np.where(x > 0, dout, 0.01 * dout)
       """),
    _v("leaky_forward_hardcoded", "activations", "a1.leaky_relu", """
       def leaky_relu_forward(x, alpha=0.01):
           return np.where(x > 0, x, 0.01 * x), (x, alpha)
       """),
    _v("leaky_sides_swapped", "activations", "a1.leaky_relu", """
       def leaky_relu_backward(dout, cache):
           x, alpha = cache
           return np.where(x > 0, alpha * dout, dout)
       """),
    _v("prelu_dalpha_not_summed", "activations", "a1.prelu", """
       def prelu_backward(dout, cache):
           x, alpha = cache
           return np.where(x > 0, dout, alpha * dout), dout * np.minimum(x, 0)
       """),
    _v("prelu_dalpha_mean", "activations", "a1.prelu", """
       def prelu_backward(dout, cache):
           x, alpha = cache
           return np.where(x > 0, dout, alpha * dout), (dout * np.minimum(x, 0)).mean(axis=0)
       """),
    _v("prelu_dalpha_all_x", "activations", "a1.prelu", """
       def prelu_backward(dout, cache):
           x, alpha = cache
           return np.where(x > 0, dout, alpha * dout), (dout * x).sum(axis=0)
       """),
    _v("prelu_dalpha_keepdims", "activations", "a1.prelu", """
       def prelu_backward(dout, cache):
           x, alpha = cache
           return np.where(x > 0, dout, alpha * dout), (dout * np.minimum(x, 0)).sum(axis=0, keepdims=True)
       """),
    _v("prelu_alpha_wrong_axis", "activations", "a1.prelu", """
       def prelu_forward(x, alpha):
           a = alpha.reshape(-1, 1)
           return np.where(x > 0, x, a * x), (x, a)
       def prelu_backward(dout, cache):
           x, a = cache
           return np.where(x > 0, dout, a * dout), (dout * np.minimum(x, 0)).sum(axis=1)
       """),
    _v("prelu_dx_wrong_side_at_zero", "activations", "a1.prelu", """
       def prelu_backward(dout, cache):
           x, alpha = cache
           return np.where(x >= 0, dout, alpha * dout), (dout * np.minimum(x, 0)).sum(axis=0)
       """),
    _v("elu_gamma_exp_everywhere", "activations", "a1.elu", """
       def elu_backward(dout, cache):
           x, gamma = cache
           return dout * gamma * np.exp(np.minimum(x, 0))
       """),
    _v("elu_gamma_exp_for_positive", "activations", "a1.elu", """
       def elu_backward(dout, cache):
           x, gamma = cache
           with np.errstate(over="ignore"):
               return np.where(x > 0, gamma * np.exp(x) * dout, gamma * np.exp(x) * dout)
       """),
    _v("elu_naive_forward_overflow", "activations", "a1.elu", """
       def elu_forward(x, gamma=1.0):
           return np.where(x > 0, x, gamma * (np.exp(x) - 1)), (x, gamma)
       """),
    _v("elu_naive_backward_overflow", "activations", "a1.elu", """
       def elu_backward(dout, cache):
           x, gamma = cache
           return np.where(x > 0, dout, gamma * np.exp(x) * dout)
       """),
    _v("elu_backward_ignores_gamma", "activations", "a1.elu", """
       def elu_backward(dout, cache):
           x, gamma = cache
           return np.where(x > 0, dout, np.exp(np.minimum(x, 0)) * dout)
       """),
    _v("elu_forward_ignores_gamma", "activations", "a1.elu", """
       def elu_forward(x, gamma=1.0):
           return np.where(x > 0, x, np.expm1(np.minimum(x, 0))), (x, gamma)
       """),
    _v("sigmoid_naive_overflow", "activations", "a1.sigmoid", """
       def sigmoid_forward(x):
           s = 1 / (1 + np.exp(-x))
           return s, s
       """),
    _v("sigmoid_backward_uses_x", "activations", "a1.sigmoid", """
       def sigmoid_forward(x):
           z = np.exp(-np.abs(x))
           return np.where(x >= 0, 1.0, z) / (1 + z), x
       def sigmoid_backward(dout, cache):
           return dout * cache * (1 - cache)
       """),
    _v("sigmoid_backward_missing_dout", "activations", "a1.sigmoid", """
       def sigmoid_backward(dout, cache):
           return cache * (1 - cache)
       """),
    _v("tanh_backward_uses_x", "activations", "a1.tanh", """
       def tanh_forward(x):
           return np.tanh(x), x
       def tanh_backward(dout, cache):
           return dout * (1 - cache**2)
       """),
    _v("tanh_exp_formula", "activations", "a1.tanh", """
       def tanh_forward(x):
           t = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
           return t, t
       """),
    _v("tanh_backward_1_minus_t", "activations", "a1.tanh", """
       def tanh_backward(dout, cache):
           return dout * (1 - cache)
       """),
    _v("mse_without_factor_2", "losses", "a1.mse", """
       def mse_loss(x, y):
           d = x - y
           return float(np.mean(d**2)), d / x.size
       """),
    _v("mse_divided_by_n", "losses", "a1.mse", """
       def mse_loss(x, y):
           d = x - y
           return float(np.sum(d**2) / x.shape[0]), 2 * d / x.shape[0]
       """),
    _v("mse_dx_not_averaged", "losses", "a1.mse", """
       def mse_loss(x, y):
           d = x - y
           return float(np.mean(d**2)), 2 * d
       """),
    _v("mse_dx_sign_flipped", "losses", "a1.mse", """
       def mse_loss(x, y):
           d = x - y
           return float(np.mean(d**2)), 2 * (y - x) / x.size
       """),
    _v("mae_sign_flipped", "losses", "a1.mae", """
       def mae_loss(x, y):
           d = x - y
           return float(np.mean(np.abs(d))), np.sign(y - x) / x.size
       """),
    _v("mae_tie_gives_one", "losses", "a1.mae", """
       def mae_loss(x, y):
           d = x - y
           return float(np.mean(np.abs(d))), np.where(d >= 0, 1.0, -1.0) / x.size
       """),
    _v("mae_divided_by_n", "losses", "a1.mae", """
       def mae_loss(x, y):
           d = x - y
           return float(np.sum(np.abs(d)) / x.shape[0]), np.sign(d) / x.shape[0]
       """),
    _v("bce_textbook_overflow", "losses", "a1.bce", """
       def bce_with_logits_loss(x, y):
           s = 1 / (1 + np.exp(-x))
           return float(np.mean(-y * np.log(s) - (1 - y) * np.log(1 - s))), (s - y) / x.size
       """),
    _v("bce_log1p_exp_minus_x", "losses", "a1.bce", """
       def bce_with_logits_loss(x, y):
           s = 0.5 * (1 + np.tanh(x / 2))
           return float(np.mean(x - x * y + np.log1p(np.exp(-x)))), (s - y) / x.size
       """),
    _v("bce_dx_not_averaged", "losses", "a1.bce", """
       def bce_with_logits_loss(x, y):
           s = 0.5 * (1 + np.tanh(x / 2))
           loss = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
           return float(np.mean(loss)), s - y
       """),
    _v("bce_dx_sign_flipped", "losses", "a1.bce", """
       def bce_with_logits_loss(x, y):
           s = 0.5 * (1 + np.tanh(x / 2))
           loss = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
           return float(np.mean(loss)), (y - s) / x.size
       """),
    _v("bce_mean_over_batch_only", "losses", "a1.bce", """
       def bce_with_logits_loss(x, y):
           s = 0.5 * (1 + np.tanh(x / 2))
           loss = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
           return float(np.sum(loss) / x.shape[0]), (s - y) / x.shape[0]
       """),
]


# One-line mutations of the optimizers and normalisation layers, in place in the reference.
OPT, N, L = "optim.py", "normalization.py", "layers.py"
_REPLACEMENTS = {  # name: (task, file, old text, new text)
 "sgd_sign": ("a1.sgd", OPT, 'return w - config["learning_rate"] * dw, config', 'return w + config["learning_rate"] * dw, config'),
 "sgd_lr": ("a1.sgd", OPT, 'config.setdefault("learning_rate", 1e-2)\n    return', 'config.setdefault("learning_rate", 1e-3)\n    return'),
 "mom_flipped": ("a1.momentum", OPT, '''    config["velocity"] = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    return w + config["velocity"], config''', '''    config["velocity"] = config["momentum"] * config["velocity"] + config["learning_rate"] * dw
    return w - config["velocity"], config'''),
 "mom_torch": ("a1.momentum", OPT, '''    config["velocity"] = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    return w + config["velocity"], config''', '''    config["velocity"] = config["momentum"] * config["velocity"] + dw
    return w - config["learning_rate"] * config["velocity"], config'''),
 "mom_default": ("a1.momentum", OPT, 'config.setdefault("momentum", 0.9)', 'config.setdefault("momentum", 0.99)'),
 "rms_decay_swapped": ("a1.rmsprop", OPT, 'decay * config["cache"] + (1 - decay) * dw**2', '(1 - decay) * config["cache"] + decay * dw**2'),
 "rms_eps_inside": ("a1.rmsprop", OPT, 'np.sqrt(config["cache"]) + config["epsilon"]', 'np.sqrt(config["cache"] + config["epsilon"])'),
 "rms_no_sqrt": ("a1.rmsprop", OPT, 'np.sqrt(config["cache"]) + config["epsilon"]', 'config["cache"] + config["epsilon"]'),
 "adam_no_bias": ("a1.adam", OPT, 'm_hat = config["m"] / (1 - beta1 ** config["t"])\n    v_hat = config["v"] / (1 - beta2 ** config["t"])', 'm_hat = config["m"]\n    v_hat = config["v"]'),
 "adam_t_after": ("a1.adam", OPT, '''    config["t"] += 1
''', ''),
 "adam_t_start1": ("a1.adam", OPT, '''config.setdefault("t", 0)''', '''config.setdefault("t", 1)'''),
 "adam_t_start1_inc_after": ("a1.adam", OPT, '''config.setdefault("t", 0)
    beta1, beta2 = config["beta1"], config["beta2"]
    config["t"] += 1''', '''config.setdefault("t", 1)
    beta1, beta2 = config["beta1"], config["beta2"]'''),
 "adam_eps_inside": ("a1.adam", OPT, 'np.sqrt(v_hat) + config["epsilon"]', 'np.sqrt(v_hat + config["epsilon"])'),
 "adam_lr": ("a1.adam", OPT, 'config.setdefault("learning_rate", 1e-3)', 'config.setdefault("learning_rate", 1e-2)'),
 "adam_only_m_bias": ("a1.adam", OPT, 'v_hat = config["v"] / (1 - beta2 ** config["t"])', 'v_hat = config["v"]'),
 "drop_not_rescaled": ("a1.dropout", L, 'mask = (rng.random(x.shape) < p) / p', 'mask = (rng.random(x.shape) < p) * 1.0'),
 "drop_rescale_1mp": ("a1.dropout", L, 'mask = (rng.random(x.shape) < p) / p', 'mask = (rng.random(x.shape) < p) / (1 - p)'),
 "drop_p_is_drop": ("a1.dropout", L, 'mask = (rng.random(x.shape) < p) / p', 'mask = (rng.random(x.shape) >= p) / (1 - p)'),
 "drop_keep_1mp_scale_p": ("a1.dropout", L, 'mask = (rng.random(x.shape) < p) / p', 'mask = (rng.random(x.shape) < 1 - p) / p'),
 "drop_backward_nomask": ("a1.dropout", L, 'return dout if mode == "test" else dout * mask', 'return dout'),
 "drop_backward_unscaled": ("a1.dropout", L, 'return dout if mode == "test" else dout * mask', 'return dout if mode == "test" else dout * (mask != 0)'),
 "drop_test_drops": ("a1.dropout", L, '''    if mode == "test":
        return x, (mode, None)
''', ''),
 "drop_test_scales": ("a1.dropout", L, 'return x, (mode, None)', 'return x * p, (mode, None)'),
 "drop_seed_ignored": ("a1.dropout", L, 'np.random.default_rng(dropout_param.get("seed"))', 'np.random.default_rng()'),
 "bn_no_mean_dep": ("a1.batchnorm", N, '''    return _normalization_backward(dout, cache, axis=0)''', '''    x_hat, gamma, std = cache
    dx_hat = dout * gamma
    n = x_hat.shape[0]
    dx = (n * dx_hat - x_hat * (dx_hat * x_hat).sum(axis=0)) / (n * std)
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)'''),
 "bn_naive_backward": ("a1.batchnorm", N, '''    return _normalization_backward(dout, cache, axis=0)''', '''    x_hat, gamma, std = cache
    return dout * gamma / std, (dout * x_hat).sum(axis=0), dout.sum(axis=0)'''),
 "bn_unbiased": ("a1.batchnorm", N, 'mu, var = x.mean(axis=0), x.var(axis=0)', 'mu, var = x.mean(axis=0), x.var(axis=0, ddof=1)'),
 "bn_running_unbiased": ("a1.batchnorm", N, 'momentum * running_var + (1 - momentum) * var\n', 'momentum * running_var + (1 - momentum) * var * x.shape[0] / (x.shape[0] - 1)\n'),
 "bn_no_running": ("a1.batchnorm", N, '''        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
''', ''),
 "bn_momentum_swapped": ("a1.batchnorm", N, '''        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var''', '''        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mu
        bn_param["running_var"] = (1 - momentum) * running_var + momentum * var'''),
 "bn_only_mean_updated": ("a1.batchnorm", N, '''        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
''', ''),
 "bn_test_batch_stats": ("a1.batchnorm", N, '''        mu, var = running_mean, running_var''', '''        mu, var = x.mean(axis=0), x.var(axis=0)'''),
 "bn_test_updates": ("a1.batchnorm", N, '''        mu, var = running_mean, running_var''', '''        mu, var = running_mean, running_var
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * x.mean(axis=0)'''),
 "bn_eps_outside": ("a1.batchnorm", N, 'got {mode!r}")\n    std = np.sqrt(var + eps)', 'got {mode!r}")\n    std = np.sqrt(var) + eps'),
 "ln_eps_outside": ("a1.layernorm", N, 'keepdims=True)\n    std = np.sqrt(var + eps)', 'keepdims=True)\n    std = np.sqrt(var) + eps'),
 "bn_eps_ignored": ("a1.batchnorm", N, 'eps = bn_param.get("eps", 1e-5)', 'eps = 1e-5'),
 "bn_dgamma_not_summed": ("a1.batchnorm", N, '''    return _normalization_backward(dout, cache, axis=0)''', '''    dx, _, dbeta = _normalization_backward(dout, cache, axis=0)
    return dx, dout * cache[0], dbeta'''),
 "bn_running_zeros_always": ("a1.batchnorm", N, 'running_mean = bn_param.get("running_mean", np.zeros(x.shape[1], dtype=x.dtype))', 'running_mean = np.zeros(x.shape[1])'),
 "ln_batch_axis": ("a1.layernorm", N, 'mu, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)', 'mu, var = x.mean(axis=0), x.var(axis=0)'),
 "ln_dgamma_not_summed": ("a1.layernorm", N, '''    return _normalization_backward(dout, cache, axis=1)''', '''    dx, _, dbeta = _normalization_backward(dout, cache, axis=1)
    return dx, dout * cache[0], dbeta'''),
 "ln_dbeta_wrong_axis": ("a1.layernorm", N, '''    return _normalization_backward(dout, cache, axis=1)''', '''    dx, dgamma, _ = _normalization_backward(dout, cache, axis=1)
    return dx, dgamma, dout.sum(axis=1)'''),
 "ln_no_mean_dep": ("a1.layernorm", N, '''    return _normalization_backward(dout, cache, axis=1)''', '''    x_hat, gamma, std = cache
    dx_hat = dout * gamma
    n = x_hat.shape[1]
    dx = (n * dx_hat - x_hat * (dx_hat * x_hat).sum(axis=1, keepdims=True)) / (n * std)
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)'''),
 "ln_unbiased": ("a1.layernorm", N, 'x.var(axis=1, keepdims=True)', 'x.var(axis=1, keepdims=True, ddof=1)'),
 "ln_eps_ignored": ("a1.layernorm", N, 'eps = ln_param.get("eps", 1e-5)', 'eps = 1e-5'),
}

# ... and of the computational graph, XOR and the network built from the student's layers.
_REPLACEMENTS.update({
 "reg_no_half": ("a1.fcnet", "fc_net.py", "loss += 0.5 * self.reg", "loss += self.reg"),
 "reg_grad_missing": ("a1.fcnet", "fc_net.py", 'grads[f"W{i}"] += self.reg * p[f"W{i}"]', 'pass'),
 "reg_biases": ("a1.fcnet", "fc_net.py", 'weights = [p[f"W{i}"] for i in range(1, L + 1)]', 'weights = [p[f"W{i}"] for i in range(1, L + 1)] + [p[f"b{i}"] for i in range(1, L + 1)]'),
 "dropout_mode_not_set": ("a1.fcnet", "fc_net.py", 'self.dropout_param["mode"] = mode', 'pass'),
 "bn_mode_not_set": ("a1.fcnet", "fc_net.py", 'bn_param["mode"] = mode', 'pass'),
 "init_no_scale": ("a1.fcnet", "fc_net.py", 'weight_scale * rng.standard_normal((dims[i - 1], dims[i]))', 'rng.standard_normal((dims[i - 1], dims[i])) / np.sqrt(dims[i - 1])'),
 "relu_last": ("a1.fcnet", "fc_net.py", 'scores, last_cache = layers.affine_forward(out, p[f"W{L}"], p[f"b{L}"])', 'scores, last_cache = layers.affine_forward(out, p[f"W{L}"], p[f"b{L}"]); scores = np.maximum(scores, 0)'),
 "shared_config": ("a1.training", "fc_net.py", 'configs = {k: dict(optim_config or {}) for k in model.params}', 'shared = dict(optim_config or {}); configs = {k: shared for k in model.params}'),
 "no_x_flatten_cast": ("a1.fcnet", "fc_net.py", 'out, caches = X.astype(self.dtype), []', 'out, caches = X.reshape(len(X), -1)[:, :1].repeat(X[0].size, 1), []'),
 "graph_no_df": ("a1.graph", "graph.py", "dz = 2 * cache * df", "dz = 2 * cache"),
 "graph_no_2": ("a1.graph", "graph.py", "dz = 2 * cache * df", "dz = cache * df"),
 "xor_no_relu": ("a1.xor", "graph.py", "return np.maximum(0, X @ W + c) @ w + b", "return (X @ W + c) @ w + b"),
 "xor_fixed_seed": ("a1.xor", "graph.py", "\n    rng = np.random.default_rng(seed)\n", "\n    rng = np.random.default_rng(0)\n"),
 "xor_hardcoded": ("a1.xor", "graph.py", '    return {"W": W, "c": c, "w": w, "b": b}', '    return {"W": np.ones((2, 2)), "c": np.array([0.0, -1.0]), "w": np.array([1.0, -2.0]), "b": 0.0}'),
})

MUTANTS += replaced(_REPLACEMENTS, lambda task: COMPOSITE)

# Classic bugs that solutions/a1_networks/mistakes.py names and no mutant above makes: the
# example submission's momentum, and sigmoid's derivative taken as s instead of s * (1 - s).
MUTANTS += [
    _v("sigmoid_backward_s_only", "activations", "a1.sigmoid", """
       def sigmoid_backward(dout, cache):
           return dout * cache
       """),
    *replaced({"mom_velocity_adds_the_step": ("a1.momentum", OPT,
               '* config["velocity"] - config["learning_rate"] * dw',
               '* config["velocity"] + config["learning_rate"] * dw')}, lambda task: COMPOSITE),
]


# In-place optimizer updates, np.random.seed dropout, step-by-step BN backward, LN built on BN.
ALT_OPTIM = """
def sgd(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v *= config["momentum"]
    v -= config["learning_rate"] * dw
    w += v
    config["velocity"] = v
    return w, config


def rmsprop(w, dw, config=None):
    if config is None:
        config = {}
    lr = config.setdefault("learning_rate", 1e-2)
    dr = config.setdefault("decay_rate", 0.99)
    eps = config.setdefault("epsilon", 1e-8)
    cache = config.setdefault("cache", np.zeros_like(w))
    cache *= dr
    cache += (1 - dr) * (dw * dw)
    return w - lr * dw / (np.sqrt(cache) + eps), config


def adam(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    config["t"] = config["t"] + 1
    b1, b2, t = config["beta1"], config["beta2"], config["t"]
    config["m"] = b1 * config["m"] + (1 - b1) * dw
    config["v"] = b2 * config["v"] + (1 - b2) * (dw ** 2)
    mt = config["m"] / (1 - b1 ** t)
    vt = config["v"] / (1 - b2 ** t)
    next_w = w - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"])
    return next_w, config
"""
ALT_NORM = """
def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.setdefault("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.setdefault("running_var", np.zeros(D, dtype=x.dtype))
    cache = None
    if mode == "train":
        mu = 1. / N * np.sum(x, axis=0)
        xmu = x - mu
        sq = xmu ** 2
        var = 1. / N * np.sum(sq, axis=0)
        sqrtvar = np.sqrt(var + eps)
        ivar = 1. / sqrtvar
        xhat = xmu * ivar
        gammax = gamma * xhat
        out = gammax + beta
        cache = (xhat, gamma, xmu, ivar, sqrtvar, var, eps)
        running_mean *= momentum
        running_mean += (1 - momentum) * mu
        running_var *= momentum
        running_var += (1 - momentum) * var
    else:
        out = (x - running_mean) / np.sqrt(running_var + eps) * gamma + beta
    return out, cache


def batchnorm_backward(dout, cache):
    xhat, gamma, xmu, ivar, sqrtvar, var, eps = cache
    N, D = dout.shape
    dbeta = np.sum(dout, axis=0)
    dgammax = dout
    dgamma = np.sum(dgammax * xhat, axis=0)
    dxhat = dgammax * gamma
    divar = np.sum(dxhat * xmu, axis=0)
    dxmu1 = dxhat * ivar
    dsqrtvar = -1. / (sqrtvar ** 2) * divar
    dvar = 0.5 * 1. / np.sqrt(var + eps) * dsqrtvar
    dsq = 1. / N * np.ones((N, D)) * dvar
    dxmu2 = 2 * xmu * dsq
    dx1 = dxmu1 + dxmu2
    dmu = -1 * np.sum(dxmu1 + dxmu2, axis=0)
    dx2 = 1. / N * np.ones((N, D)) * dmu
    dx = dx1 + dx2
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    out, cache = batchnorm_forward(x.T, np.ones(x.shape[0]), np.zeros(x.shape[0]),
                                   {"mode": "train", "eps": eps})
    xhat = out.T
    return gamma * xhat + beta, (cache, xhat, gamma)


def layernorm_backward(dout, cache):
    bn_cache, xhat, gamma = cache
    dgamma = np.sum(dout * xhat, axis=0)
    dbeta = np.sum(dout, axis=0)
    dx, _, _ = batchnorm_backward((dout * gamma).T, bn_cache)
    return dx.T, dgamma, dbeta
"""
ALT_DROPOUT = """
def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = None
    if mode == "train":
        mask = np.random.rand(*x.shape) < p
        out = x * mask / p
    else:
        out = x.copy()
    return out.astype(x.dtype, copy=False), (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return dout * mask / dropout_param["p"]
    return dout
"""


# Correct rewrites, grouped below into whole alternative submissions.
_REWRITES = {v.name: v for v in [
    Variant("alt_cs231n_style_optim_norm", (("optim", ALT_OPTIM), ("normalization", ALT_NORM),
                                            ("layers", ALT_DROPOUT))),
    _v("alt_affine_dict_cache", "layers", "", """
        def affine_forward(x, w, b):
            flat = x.reshape(len(x), -1)
            return np.dot(flat, w) + b, {"x_shape": x.shape, "flat": flat, "w": w}

        def affine_backward(dout, cache):
            dx = np.dot(dout, cache["w"].T).reshape(cache["x_shape"])
            return dx, np.dot(cache["flat"].T, dout), np.einsum("nm->m", dout)
        """),
    _v("alt_sigmoid_tanh_form", "activations", "", """
       def sigmoid_forward(x):
           s = 0.5 * (1 + np.tanh(0.5 * x))
           return s, s
       """),
    _v("alt_sigmoid_errstate", "activations", "", """
       def sigmoid_forward(x):
           with np.errstate(over="ignore"):
               s = 1 / (1 + np.exp(-x))
           return s, {"s": s}
       def sigmoid_backward(dout, cache):
           s = cache["s"]
           return dout * s - dout * s * s
       """),
    _v("alt_leaky_maximum", "activations", "", """
       def leaky_relu_forward(x, alpha=0.01):
           return np.maximum(x, alpha * x), {"mask": x > 0, "alpha": alpha}
       def leaky_relu_backward(dout, cache):
           dx = dout.copy()
           dx[~cache["mask"]] *= cache["alpha"]
           return dx
       """),
    _v("alt_prelu_inplace", "activations", "", """
       def prelu_forward(x, alpha):
           out = x.copy()
           neg = x <= 0
           out[neg] = (alpha * x)[neg]
           return out, (x, alpha)
       def prelu_backward(dout, cache):
           x, alpha = cache
           neg = x <= 0
           dx = dout.copy()
           dx[neg] = (alpha * dout)[neg]
           dalpha = np.einsum("nd,nd->d", dout, x * neg)
           return dx, dalpha
       """),
    _v("alt_elu_out_plus_gamma", "activations", "", """
       def elu_forward(x, gamma=1.0):
           neg = gamma * (np.exp(np.minimum(x, 0)) - 1)
           out = np.where(x > 0, x, neg)
           return out, (x, out, gamma)
       def elu_backward(dout, cache):
           x, out, gamma = cache
           return dout * np.where(x > 0, 1.0, out + gamma)
       """),
    _v("alt_tanh_via_sigmoid", "activations", "", """
       def tanh_forward(x):
           z = np.exp(-2 * np.abs(x))
           t = np.sign(x) * (1 - z) / (1 + z)
           return t, t
       """),
    _v("alt_bce_logaddexp", "losses", "", """
       def bce_with_logits_loss(x, y):
           loss = y * np.logaddexp(0, -x) + (1 - y) * np.logaddexp(0, x)
           s = np.exp(-np.logaddexp(0, -x))
           return np.mean(loss), (s - y) / x.size
       """),
    _v("alt_bce_log_not_log1p", "losses", "", """
       def bce_with_logits_loss(x, y):
           loss = np.maximum(x, 0) - x * y + np.log(1 + np.exp(-np.abs(x)))
           s = 0.5 * (1 + np.tanh(x / 2))
           return float(loss.sum() / loss.size), (s - y) / x.size
       """),
    _v("alt_mse_mae_sum", "losses", "", """
       def mse_loss(x, y):
           d = (x - y).ravel()
           return d @ d / d.size, (2.0 / d.size) * (x - y)
       def mae_loss(x, y):
           d = x - y
           dx = np.zeros_like(d)
           dx[d > 0] = 1
           dx[d < 0] = -1
           return np.abs(d).sum() / d.size, dx / d.size
       """),
]}

ALTERNATIVES: list[Variant] = [
    submission("dict_caches", *(_REWRITES[n] for n in (
        "alt_affine_dict_cache", "alt_leaky_maximum", "alt_sigmoid_errstate",
        "alt_elu_out_plus_gamma"))),
    submission("in_place_updates", *(_REWRITES[n] for n in (
        "alt_prelu_inplace", "alt_mse_mae_sum", "alt_cs231n_style_optim_norm"))),
    submission("float32_safe_formulations", *(_REWRITES[n] for n in (
        "alt_sigmoid_tanh_form", "alt_tanh_via_sigmoid", "alt_bce_logaddexp"))),
    submission("textbook_log_forms", *(_REWRITES[n] for n in ("alt_bce_log_not_log1p",))),
]

