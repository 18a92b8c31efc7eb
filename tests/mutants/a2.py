"""Plausible wrong A2 implementations (mutants) and correct-but-different ones (alternatives).

Each mutant is the reference solution with one bug (see tests/mutants/common.py). Which other
tasks a bug may cost points on follows from what the student's code is built of:
- the naive convolution, pooling and spatial batch normalisation are used by no other task
  (the blocks and the CNN run on core_ext's fast layers), so their mutants lose points on their
  own task only, and every other task except the slow training run is graded to prove it;
- affine, ReLU and softmax (a2.carryover) are the student's own inside the blocks, the CNN and
  its training; the blocks are inside the CNN and its training; the CNN is what gets trained.
"""

from __future__ import annotations

from mutants.common import ROOT, Variant, appended, replaced, submission

REFERENCE = ROOT / "solutions" / "a2_cnn"
SKIPPED = ("a2.training",)  # graded only for mutants of its own (a training run is slow)
DEPENDENTS = {
    "a2.carryover": ("a2.blocks", "a2.cnn", "a2.training"),
    "a2.blocks": ("a2.cnn", "a2.training"),
    "a2.cnn": ("a2.training",),
}


def _v(name, module, task, code) -> Variant:
    return appended(name, module, task, code, DEPENDENTS.get(task, ()))


# A loop-based convolution written another way than the reference (one output row at a time),
# with {placeholders} for the mutants that change one line of it.
CONV = """
def conv_forward_naive(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = {out_size}
    xp = {pad_x}
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                window = xp[n, :, i * s:i * s + HH, j * s:j * s + WW]
                for f in range(F):
                    out[n, f, i, j] = {window_times_filter}
    return out, (x, w, conv_param)


def conv_backward_naive(dout, cache):
    x, w, conv_param = cache
    s, p = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros(xp.shape), np.zeros(w.shape)
    for n in range(N):
        {dw_reset}
        for i in range(Ho):
            for j in range(Wo):
                top, left = {window_corner}
                for f in range(F):
                    dw[f] += dout[n, f, i, j] * xp[n, :, top:top + HH, left:left + WW]
                    dxp[n, :, top:top + HH, left:left + WW] += dout[n, f, i, j] * w[f]
    db = {db}
    return {dx}, dw, db
"""
CONV_RIGHT = {
    "out_size": "1 + (H + 2 * p - HH) // s, 1 + (W + 2 * p - WW) // s",
    "pad_x": "np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))",
    "window_times_filter": "np.sum(window * w[f]) + b[f]",
    "dw_reset": "pass",
    "window_corner": "i * s, j * s",
    "db": "dout.sum(axis=(0, 2, 3))",
    "dx": "dxp[:, :, p:p + H, p:p + W]",
}


def _conv(name, **wrong) -> Variant:
    return _v(name, "layers", "a2.conv", CONV.format(**{**CONV_RIGHT, **wrong}))


# Max pooling: where the gradient of one window goes, given the window and its dout.
MAX_POOL = """
def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, Ho, Wo = dout.shape
    dx = np.zeros(x.shape)
    for n, c, i, j in np.ndindex(dout.shape):
        window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
        g = dout[n, c, i, j]
        {route}
    return dx
"""


def _max_pool(name, route) -> Variant:
    return _v(name, "layers", "a2.max_pool", MAX_POOL.format(route=route))


MUTANTS: list[Variant] = [
    # -- carried over from A1 ------------------------------------------------------------------
    _v("relu_backward_mask_includes_zero", "layers", "a2.carryover", """
        def relu_backward(dout, cache):
            return dout * (cache >= 0)
        """),
    _v("affine_dx_not_reshaped", "layers", "a2.carryover", """
        def affine_backward(dout, cache):
            x, w = cache
            return dout @ w.T, x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)
        """),
    _v("softmax_without_max_shift", "layers", "a2.carryover", """
        def softmax_loss(x, y):
            e = np.exp(x)
            p = e / e.sum(axis=1, keepdims=True)
            n = x.shape[0]
            loss = -np.log(p[np.arange(n), y]).mean()
            dx = p.copy()
            dx[np.arange(n), y] -= 1
            return float(loss), dx / n
        """),
    # -- convolution ---------------------------------------------------------------------------
    _conv("conv_pads_every_axis", pad_x="np.pad(x, p)"),
    _conv("conv_pads_only_height", pad_x="np.pad(x, ((0, 0), (0, 0), (p, p), (0, 0)))",
          out_size="1 + (H + 2 * p - HH) // s, 1 + (W - WW) // s"),
    _conv("conv_output_size_ceil",
          out_size="-(-(H + 2 * p - HH) // s) + 1, -(-(W + 2 * p - WW) // s) + 1"),
    _conv("conv_flipped_kernel", window_times_filter="np.sum(window * w[f, :, ::-1, ::-1]) + b[f]"),
    _conv("conv_bias_inside_the_sum", window_times_filter="np.sum(window * w[f] + b[f])"),
    _conv("conv_stride_ignored_in_backward", window_corner="i, j"),
    _conv("conv_db_averaged_over_batch", db="dout.sum(axis=(0, 2, 3)) / N"),
    _conv("conv_dw_of_the_last_sample_only", dw_reset="dw = np.zeros(w.shape)"),
    _conv("conv_dx_keeps_the_padding", dx="dxp"),
    _v("conv_im2col_row_index_uses_height", "layers", "a2.conv", """
        def conv_forward_naive(x, w, b, conv_param):
            # im2col whose row for (c, u, v) is c * HH * WW + u * HH + v: right for square
            # filters only (the row stride of a filter is WW)
            s, p = conv_param["stride"], conv_param["pad"]
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            Ho, Wo = 1 + (H + 2 * p - HH) // s, 1 + (W + 2 * p - WW) // s
            xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
            cols = np.zeros((C * HH * WW, N * Ho * Wo))
            for c in range(C):
                for u in range(HH):
                    for v in range(WW):
                        patch = xp[:, c, u:u + s * Ho:s, v:v + s * Wo:s]
                        cols[c * HH * WW + u * HH + v] = patch.reshape(-1)
            out = (w.reshape(F, -1) @ cols + b[:, None]).reshape(F, N, Ho, Wo)
            return out.transpose(1, 0, 2, 3), (x, w, conv_param)
        """),
    # -- max pooling ---------------------------------------------------------------------------
    _max_pool("max_pool_gradient_to_every_tied_maximum",
              "dx[n, c, i * s:i * s + ph, j * s:j * s + pw] += g * (window == window.max())"),
    _max_pool("max_pool_gradient_to_the_last_maximum",
              "k = window.size - 1 - np.argmax(window.ravel()[::-1])\n"
              "        dx[n, c, i * s + k // pw, j * s + k % pw] += g"),
    _max_pool("max_pool_first_maximum_in_column_order",
              "k = np.argmax(window.T.ravel())\n"
              "        dx[n, c, i * s + k % ph, j * s + k // ph] += g"),
    _max_pool("max_pool_overlaps_overwrite",
              "k = np.argmax(window)\n"
              "        dx[n, c, i * s + k // pw, j * s + k % pw] = g"),
    _v("max_pool_output_size_ceil", "layers", "a2.max_pool", """
        def max_pool_forward_naive(x, pool_param):
            # windows that run past the edge are kept, clipped to the input (ceil mode)
            ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
            N, C, H, W = x.shape
            Ho, Wo = 1 + -(-(H - ph) // s), 1 + -(-(W - pw) // s)
            out = np.zeros((N, C, Ho, Wo))
            for i in range(Ho):
                for j in range(Wo):
                    out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].max(axis=(2, 3))
            return out, (x, pool_param)
        """),
    # -- average pooling -----------------------------------------------------------------------
    _v("avg_pool_not_divided", "layers", "a2.avg_pool", """
        def avg_pool_forward_naive(x, pool_param):
            ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
            N, C, H, W = x.shape
            out = np.zeros((N, C, 1 + (H - ph) // s, 1 + (W - pw) // s))
            for i, j in np.ndindex(out.shape[2:]):
                out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].sum(axis=(2, 3))
            return out, (x.shape, pool_param)

        def avg_pool_backward_naive(dout, cache):
            shape, pool_param = cache
            ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
            dx = np.zeros(shape)
            for i, j in np.ndindex(dout.shape[2:]):
                dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += dout[:, :, i, j, None, None]
            return dx
        """),
    _v("avg_pool_backward_overlaps_overwrite", "layers", "a2.avg_pool", """
        def avg_pool_backward_naive(dout, cache):
            shape, pool_param = cache
            ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
            dx = np.zeros(shape)
            for i, j in np.ndindex(dout.shape[2:]):
                dx[:, :, i * s:i * s + ph, j * s:j * s + pw] = dout[:, :, i, j, None, None] / (ph * pw)
            return dx
        """),
    _v("avg_pool_backward_divides_by_stride_squared", "layers", "a2.avg_pool", """
        def avg_pool_backward_naive(dout, cache):
            shape, pool_param = cache
            ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
            dx = np.zeros(shape)
            for i, j in np.ndindex(dout.shape[2:]):
                dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += dout[:, :, i, j, None, None] / (s * s)
            return dx
        """),
    # -- spatial batch normalisation -----------------------------------------------------------
    _v("sbn_per_pixel_statistics", "layers", "a2.spatial_bn", """
        def spatial_batchnorm_forward(x, gamma, beta, bn_param):
            # x flattened to (N, C * H * W) and batch-normalised like A1's batchnorm: one
            # mean and variance per pixel instead of per channel
            N, C, H, W = x.shape
            eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
            flat = x.reshape(N, -1)
            if bn_param["mode"] == "train":
                mu, var = flat.mean(axis=0), flat.var(axis=0)
                bn_param["running_mean"] = momentum * bn_param.get("running_mean", 0.0) + (1 - momentum) * mu
                bn_param["running_var"] = momentum * bn_param.get("running_var", 0.0) + (1 - momentum) * var
            else:
                mu, var = bn_param["running_mean"], bn_param["running_var"]
            std = np.sqrt(var + eps)
            x_hat = ((flat - mu) / std).reshape(x.shape)
            out = gamma.reshape(1, C, 1, 1) * x_hat + beta.reshape(1, C, 1, 1)
            return out, (x_hat, gamma, std.reshape(1, C, H, W))

        def spatial_batchnorm_backward(dout, cache):
            x_hat, gamma, std = cache
            N = dout.shape[0]
            dx_hat = dout * gamma.reshape(1, -1, 1, 1)
            dx = (N * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0)) / (N * std)
            return dx, (dout * x_hat).sum(axis=(0, 2, 3)), dout.sum(axis=(0, 2, 3))
        """),
]


# One-line mutations in place in the reference: spatial batch normalisation, the blocks, the
# CNN and its training.
L, U, M = "layers.py", "layer_utils.py", "cnn.py"
_REPLACEMENTS = {  # name: (task, file, old text, new text)
 "sbn_reshape_without_transpose": ("a2.spatial_bn", L,
    "mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))",
    "mu, var = x.reshape(-1, C).mean(axis=0), x.reshape(-1, C).var(axis=0)"),
 "sbn_backward_counts_the_batch_only": ("a2.spatial_bn", L, "    m = N * H * W\n", "    m = N\n"),
 "sbn_dgamma_not_summed_over_space": ("a2.spatial_bn", L,
    "return dx, (dout * x_hat).sum(axis=axes), dout.sum(axis=axes)",
    "return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=axes)"),
 "sbn_running_var_unbiased": ("a2.spatial_bn", L,
    'bn_param["running_var"] = momentum * running_var + (1 - momentum) * var',
    'bn_param["running_var"] = momentum * running_var + (1 - momentum) * var * x[:, 0].size / (x[:, 0].size - 1)'),
 "sbn_test_mode_uses_batch_statistics": ("a2.spatial_bn", L,
    "        mu, var = running_mean, running_var\n",
    "        mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))\n"),
 "block_pool_backward_skips_relu": ("a2.blocks", U,
    "    da = layers.relu_backward(ds, relu_cache)\n    return core_ext.conv_backward(da, conv_cache)",
    "    return core_ext.conv_backward(ds, conv_cache)"),
 "block_conv_relu_backward_skips_relu": ("a2.blocks", U,
    "    da = layers.relu_backward(dout, relu_cache)\n    return core_ext.conv_backward(da, conv_cache)",
    "    return core_ext.conv_backward(dout, conv_cache)"),
 "block_pools_by_averaging": ("a2.blocks", U,
    "core_ext.max_pool_forward(s, pool_param)", "core_ext.avg_pool_forward(s, pool_param)"),
 "block_affine_relu_mask_on_dx": ("a2.blocks", U,
    "    da = layers.relu_backward(dout, relu_cache)\n    return layers.affine_backward(da, affine_cache)",
    "    dx, dw, db = layers.affine_backward(dout, affine_cache)\n"
    "    return layers.relu_backward(dx, affine_cache[0]), dw, db"),
 "cnn_reg_on_biases": ("a2.cnn", M,
    'loss += 0.5 * self.reg * sum(float(np.sum(p[k] * p[k])) for k in ("W1", "W2", "W3"))',
    'loss += 0.5 * self.reg * sum(float(np.sum(p[k] * p[k])) for k in p)'),
 "cnn_reg_without_half": ("a2.cnn", M, "loss += 0.5 * self.reg", "loss += self.reg"),
 "cnn_input_not_cast": ("a2.cnn", M, "X = X.astype(self.dtype)", "pass"),
 "cnn_init_ignores_weight_scale": ("a2.cnn", M,
    "(weight_scale * rng.standard_normal(shape))", "(rng.standard_normal(shape) / np.sqrt(shape[0]))"),
 "train_shared_optimizer_state": ("a2.training", M,
    "configs = {k: dict(optim_config or {}) for k in model.params}",
    "shared = dict(optim_config or {}); configs = {k: shared for k in model.params}"),
 "train_update_result_discarded": ("a2.training", M,
    "model.params[k] = update(model.params[k], grads[k], configs[k])",
    "update(model.params[k], grads[k], configs[k])"),
 "train_val_acc_on_the_training_set": ("a2.training", M,
    'history["val_acc"].append(_accuracy(model, X_val, y_val))',
    'history["val_acc"].append(_accuracy(model, X_train, y_train))'),
}

MUTANTS += replaced(_REPLACEMENTS, lambda task: DEPENDENTS.get(task, ()))
# Two lines each: the loss and its gradient, the forward and its backward.
MUTANTS += [
    Variant("cnn_reg_missing_on_W1", (
        ("cnn", ('for k in ("W1", "W2", "W3"))', 'for k in ("W2", "W3"))')),
        ("cnn", ('for k in ("W1", "W2", "W3"):\n            grads[k]',
                 'for k in ("W2", "W3"):\n            grads[k]'))), "a2.cnn", DEPENDENTS["a2.cnn"]),
    Variant("cnn_no_hidden_relu", (
        ("cnn", ('h2, cache2 = layer_utils.affine_relu_forward(h1, p["W2"], p["b2"])',
                 'h2, cache2 = layers.affine_forward(h1, p["W2"], p["b2"])')),
        ("cnn", ('layer_utils.affine_relu_backward(dh2, cache2)',
                 'layers.affine_backward(dh2, cache2)'))), "a2.cnn", DEPENDENTS["a2.cnn"]),
]



# Correct rewrites, grouped below into whole alternative submissions.
ALT_VECTORISED = """
from numpy.lib.stride_tricks import sliding_window_view


def _windows(x, hh, ww, s):
    \"\"\"(N, C, H', W', hh, ww) view of every window (no copy).\"\"\"
    return sliding_window_view(x, (hh, ww), axis=(2, 3))[:, :, ::s, ::s]


def conv_forward_naive(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    cols = _windows(xp, w.shape[2], w.shape[3], s)
    out = np.einsum("ncijuv,fcuv->nfij", cols, w, optimize=True) + b[None, :, None, None]
    return out, {"x": x, "w": w, "s": s, "p": p}


def conv_backward_naive(dout, cache):
    x, w, s, p = cache["x"], cache["w"], cache["s"], cache["p"]
    _, _, H, W = x.shape
    _, _, HH, WW = w.shape
    Ho, Wo = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dw = np.einsum("ncijuv,nfij->fcuv", _windows(xp, HH, WW, s), dout, optimize=True)
    dcols = np.einsum("nfij,fcuv->ncijuv", dout, w, optimize=True)
    dxp = np.zeros_like(xp)
    for u in range(HH):
        for v in range(WW):
            dxp[:, :, u:u + s * Ho:s, v:v + s * Wo:s] += dcols[..., u, v]
    return dxp[:, :, p:p + H, p:p + W], dw, np.einsum("nfij->f", dout)


def max_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    flat = _windows(x, ph, pw, s).reshape(*x.shape[:2], -1, ph * pw)
    k = flat.argmax(axis=-1)
    Ho = 1 + (x.shape[2] - ph) // s
    out = np.take_along_axis(flat, k[..., None], axis=-1)[..., 0]
    return out.reshape(*x.shape[:2], Ho, -1), (x.shape, k, ph, pw, s)


def max_pool_backward_naive(dout, cache):
    shape, k, ph, pw, s = cache
    N, C, Ho, Wo = dout.shape
    n, c, i, j = np.indices(dout.shape)
    k = k.reshape(dout.shape)
    dx = np.zeros(shape)
    np.add.at(dx, (n, c, i * s + k // pw, j * s + k % pw), dout)
    return dx


def avg_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    return _windows(x, ph, pw, s).mean(axis=(4, 5)), (x.shape, ph, pw, s)


def avg_pool_backward_naive(dout, cache):
    shape, ph, pw, s = cache
    Ho, Wo = dout.shape[2:]
    dx = np.zeros(shape)
    for u in range(ph):
        for v in range(pw):
            dx[:, :, u:u + s * Ho:s, v:v + s * Wo:s] += dout / (ph * pw)
    return dx


def _rows(x):
    return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    bn_param.setdefault("running_mean", np.zeros(C))
    bn_param.setdefault("running_var", np.zeros(C))
    rows = _rows(x)
    if bn_param["mode"] == "train":
        mu = rows.sum(axis=0) / len(rows)
        xmu = rows - mu
        var = (xmu ** 2).sum(axis=0) / len(rows)
        bn_param["running_mean"] = momentum * bn_param["running_mean"] + (1 - momentum) * mu
        bn_param["running_var"] = momentum * bn_param["running_var"] + (1 - momentum) * var
    else:
        xmu, var = rows - bn_param["running_mean"], bn_param["running_var"]
    ivar = 1.0 / np.sqrt(var + eps)
    xhat = xmu * ivar
    out = (gamma * xhat + beta).reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return out, (xhat, gamma, xmu, ivar, x.shape)


def spatial_batchnorm_backward(dout, cache):
    xhat, gamma, xmu, ivar, (N, C, H, W) = cache
    d = _rows(dout)
    m = len(d)
    dxhat = d * gamma
    divar = (dxhat * xmu).sum(axis=0)
    dvar = -0.5 * ivar ** 3 * divar
    dxmu = dxhat * ivar + 2.0 * xmu * dvar / m
    dx = dxmu - dxmu.sum(axis=0) / m
    dx = dx.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return dx, (d * xhat).sum(axis=0), d.sum(axis=0)
"""
ALT_LOOP_ORDER = """
def conv_forward_naive(x, w, b, conv_param):
    # one matrix product per filter offset (u, v) instead of one window per output
    s, p = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = (H + 2 * p - HH) // s + 1, (W + 2 * p - WW) // s + 1
    xp = np.zeros((N, C, H + 2 * p, W + 2 * p))
    xp[:, :, p:p + H, p:p + W] = x
    out = np.broadcast_to(b.reshape(1, F, 1, 1), (N, F, Ho, Wo)).copy()
    for u in range(HH):
        for v in range(WW):
            shifted = xp[:, :, u:u + s * (Ho - 1) + 1:s, v:v + s * (Wo - 1) + 1:s]
            out += np.tensordot(shifted, w[:, :, u, v], axes=([1], [1])).transpose(0, 3, 1, 2)
    return out, (xp, w, s, p, x.shape)


def conv_backward_naive(dout, cache):
    xp, w, s, p, (N, C, H, W) = cache
    F, _, HH, WW = w.shape
    Ho, Wo = dout.shape[2:]
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for u in range(HH):
        for v in range(WW):
            rows, cols = slice(u, u + s * (Ho - 1) + 1, s), slice(v, v + s * (Wo - 1) + 1, s)
            dw[:, :, u, v] = np.tensordot(dout, xp[:, :, rows, cols], axes=([0, 2, 3], [0, 2, 3]))
            dxp[:, :, rows, cols] += np.tensordot(dout, w[:, :, u, v], axes=([1], [0])).transpose(0, 3, 1, 2)
    return dxp[:, :, p:p + H, p:p + W], dw, dout.sum(axis=3).sum(axis=2).sum(axis=0)


def _offsets(pool_param, shape):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    Ho, Wo = (shape[2] - ph) // s + 1, (shape[3] - pw) // s + 1
    for u in range(ph):
        for v in range(pw):
            yield u * pw + v, (slice(None), slice(None), slice(u, u + s * (Ho - 1) + 1, s),
                               slice(v, v + s * (Wo - 1) + 1, s))


def max_pool_forward_naive(x, pool_param):
    # running maximum over the window offsets; a later offset wins only if strictly larger,
    # so ties keep the first offset in row-major order
    best = where = None
    for k, view in _offsets(pool_param, x.shape):
        if best is None:
            best, where = x[view].copy(), np.zeros(x[view].shape, dtype=int)
        else:
            larger = x[view] > best
            best[larger], where[larger] = x[view][larger], k
    return best, (x.shape, pool_param, where)


def max_pool_backward_naive(dout, cache):
    shape, pool_param, where = cache
    dx = np.zeros(shape)
    for k, view in _offsets(pool_param, shape):
        dx[view] += np.where(where == k, dout, 0.0)
    return dx


def avg_pool_forward_naive(x, pool_param):
    total = sum(x[view] for _, view in _offsets(pool_param, x.shape))
    return total / (pool_param["pool_height"] * pool_param["pool_width"]), (x.shape, pool_param)


def avg_pool_backward_naive(dout, cache):
    shape, pool_param = cache
    dx = np.zeros(shape)
    share = dout / (pool_param["pool_height"] * pool_param["pool_width"])
    for _, view in _offsets(pool_param, shape):
        dx[view] += share
    return dx
"""
# The slowest correct style: every multiply-add a Python scalar operation. Grading it gives
# the worst case of a loop-based submission.
ALT_SCALAR_LOOPS = """
def conv_forward_naive(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = 1 + (H + 2 * p - HH) // s, 1 + (W + 2 * p - WW) // s
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    total = b[f]
                    for c in range(C):
                        for u in range(HH):
                            for v in range(WW):
                                r, q = i * s + u - p, j * s + v - p
                                if 0 <= r < H and 0 <= q < W:
                                    total += x[n, c, r, q] * w[f, c, u, v]
                    out[n, f, i, j] = total
    return out, (x, w, conv_param)


def conv_backward_naive(dout, cache):
    x, w, conv_param = cache
    s, p = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    dx, dw, db = np.zeros(x.shape), np.zeros(w.shape), np.zeros(F)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    g = dout[n, f, i, j]
                    db[f] += g
                    for c in range(C):
                        for u in range(HH):
                            for v in range(WW):
                                r, q = i * s + u - p, j * s + v - p
                                if 0 <= r < H and 0 <= q < W:
                                    dx[n, c, r, q] += g * w[f, c, u, v]
                                    dw[f, c, u, v] += g * x[n, c, r, q]
    return dx, dw, db


def _argmax(x, n, c, top, left, ph, pw):
    best, at = x[n, c, top, left], (top, left)
    for u in range(ph):
        for v in range(pw):
            if x[n, c, top + u, left + v] > best:
                best, at = x[n, c, top + u, left + v], (top + u, left + v)
    return best, at


def max_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    out = np.zeros((N, C, 1 + (H - ph) // s, 1 + (W - pw) // s))
    for n, c, i, j in np.ndindex(out.shape):
        out[n, c, i, j] = _argmax(x, n, c, i * s, j * s, ph, pw)[0]
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros(x.shape)
    for n, c, i, j in np.ndindex(dout.shape):
        r, q = _argmax(x, n, c, i * s, j * s, ph, pw)[1]
        dx[n, c, r, q] += dout[n, c, i, j]
    return dx


def avg_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    out = np.zeros((N, C, 1 + (H - ph) // s, 1 + (W - pw) // s))
    for n, c, i, j in np.ndindex(out.shape):
        total = 0.0
        for u in range(ph):
            for v in range(pw):
                total += x[n, c, i * s + u, j * s + v]
        out[n, c, i, j] = total / (ph * pw)
    return out, (x.shape, pool_param)


def avg_pool_backward_naive(dout, cache):
    shape, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros(shape)
    for n, c, i, j in np.ndindex(dout.shape):
        for u in range(ph):
            for v in range(pw):
                dx[n, c, i * s + u, j * s + v] += dout[n, c, i, j] / (ph * pw)
    return dx


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    running_mean = bn_param.get("running_mean", np.zeros(C))
    running_var = bn_param.get("running_var", np.zeros(C))
    out, xhat = np.zeros(x.shape), np.zeros(x.shape)
    mus, stds = np.zeros(C), np.zeros(C)
    for c in range(C):
        values = x[:, c].ravel()
        if bn_param["mode"] == "train":
            mu = sum(values) / len(values)
            var = sum((v - mu) ** 2 for v in values) / len(values)
            running_mean[c] = momentum * running_mean[c] + (1 - momentum) * mu
            running_var[c] = momentum * running_var[c] + (1 - momentum) * var
        else:
            mu, var = running_mean[c], running_var[c]
        mus[c], stds[c] = mu, (var + eps) ** 0.5
        xhat[:, c] = (x[:, c] - mu) / stds[c]
        out[:, c] = gamma[c] * xhat[:, c] + beta[c]
    if bn_param["mode"] == "train":
        bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
    return out, (xhat, gamma, stds)


def spatial_batchnorm_backward(dout, cache):
    xhat, gamma, stds = cache
    N, C, H, W = dout.shape
    m = N * H * W
    dx, dgamma, dbeta = np.zeros(dout.shape), np.zeros(C), np.zeros(C)
    for c in range(C):
        g, xh = dout[:, c], xhat[:, c]
        dbeta[c], dgamma[c] = g.sum(), (g * xh).sum()
        dxh = g * gamma[c]
        dx[:, c] = (m * dxh - dxh.sum() - xh * (dxh * xh).sum()) / (m * stds[c])
    return dx, dgamma, dbeta
"""

_REWRITES = {v.name: v for v in [
    Variant("alt_vectorised_layers", (("layers", ALT_VECTORISED),)),
    Variant("alt_loop_over_window_offsets", (("layers", ALT_LOOP_ORDER),)),
    Variant("alt_scalar_loops", (("layers", ALT_SCALAR_LOOPS),)),
    # ReLU's mask taken on the pooled output, before unpooling: the same gradient, since a
    # window's maximum after ReLU is positive exactly when the pre-activation there is
    appended("alt_block_relu_mask_after_pooling", "layer_utils", "", """
        def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
            a, conv_cache = core_ext.conv_forward(x, w, b, conv_param)
            out, pool_cache = core_ext.max_pool_forward(layers.relu_forward(a)[0], pool_param)
            return out, (conv_cache, pool_cache, out)

        def conv_relu_pool_backward(dout, cache):
            conv_cache, pool_cache, out = cache
            ds = core_ext.max_pool_backward(layers.relu_backward(dout, out), pool_cache)
            return core_ext.conv_backward(ds, conv_cache)
        """),
    appended("alt_cnn_reg_by_loop", "cnn", "", """
        _reference_loss = ThreeLayerConvNet.loss

        def _loss(self, X, y=None):
            if y is None:
                return _reference_loss(self, X)
            reg, self.reg = self.reg, 0.0
            try:
                loss, grads = _reference_loss(self, X, y)
            finally:
                self.reg = reg
            for name, value in self.params.items():
                if name[0] == "W":
                    loss += 0.5 * reg * float(np.dot(value.ravel(), value.ravel()))
                    grads[name] = grads[name] + reg * value
            return loss, grads

        ThreeLayerConvNet.loss = _loss
        """),
]}

ALTERNATIVES: list[Variant] = [
    submission("vectorised_sliding_windows", *(_REWRITES[n] for n in (
        "alt_vectorised_layers", "alt_cnn_reg_by_loop"))),
    submission("loops_over_window_offsets", *(_REWRITES[n] for n in (
        "alt_loop_over_window_offsets", "alt_block_relu_mask_after_pooling"))),
    submission("scalar_loops", _REWRITES["alt_scalar_loops"]),
    # the templates of the one-line mutants above, with the line right: each of those mutants
    # is a correct submission but for its bug
    Variant("mutant_templates_without_the_bug", (
        ("layers", CONV.format(**CONV_RIGHT)),
        ("layers", MAX_POOL.format(route="k = np.argmax(window)\n"
                                         "        dx[n, c, i * s + k // pw, j * s + k % pw] += g")))),
]
