"""Known A1 mistakes (instructor-side, never released): each reproduces, with the reference, a
classic bug of one reference function, so that the feedback on a wrong output can name it
(see grader/mistakes.py). ``mutant`` is the mutant of tests/mutants/a1.py that makes the bug.

A mistake takes the reference function's arguments; a backward pass gets the reference's cache.
Only the outputs the hidden tests compare with the reference can be named: out of a forward
pass, every gradient, loss and dx, next_w of an update rule and the state in the config it
returns (not batch norm's running statistics, which it keeps in an argument).
"""
import numpy as np

from grader.mistakes import mistake
from solutions.a1_networks import activations, graph, layers, losses, normalization, optim


# -- affine ---------------------------------------------------------------------------------
@mistake("affine_backward", "db is averaged over the batch instead of summed",
         mutant="affine_db_not_summed")
def affine_db_averaged(dout, cache):
    dx, dw, _ = layers.affine_backward(dout, cache)
    return dx, dw, dout.mean(axis=0)


@mistake("affine_backward", "dx is left flat (N, D) instead of being reshaped to the shape of x",
         mutant="affine_dx_not_reshaped")
def affine_dx_flat(dout, cache):
    _, w = cache
    _, dw, db = layers.affine_backward(dout, cache)
    return dout @ w.T, dw, db


@mistake("affine_backward", "dw is divided by the batch size (x.T @ dout already sums over it)",
         mutant="affine_dw_transposed_product")
def affine_dw_averaged(dout, cache):
    dx, dw, db = layers.affine_backward(dout, cache)
    return dx, dw / dout.shape[0], db


# -- activations ----------------------------------------------------------------------------
@mistake("relu_backward", "the gradient passes where x < 0 instead of where x > 0",
         mutant="relu_gradient_on_the_wrong_side")
def relu_wrong_side(dout, cache):
    return dout * (cache < 0)


@mistake("relu_backward", "the gradient also passes where x == 0 (x >= 0 instead of x > 0)",
         mutant="relu_backward_uses_output_mask_including_zero")
def relu_passes_at_zero(dout, cache):
    return dout * (cache >= 0)


@mistake("leaky_relu_forward", "alpha is fixed at 0.01 instead of the alpha given",
         mutant="leaky_forward_hardcoded")
def leaky_forward_default_alpha(x, alpha=0.01):
    return activations.leaky_relu_forward(x)[0], (x, alpha)


@mistake("leaky_relu_backward", "the two sides are swapped: slope alpha where x > 0, 1 elsewhere",
         mutant="leaky_sides_swapped")
def leaky_sides_swapped(dout, cache):
    x, alpha = cache
    return np.where(x > 0, alpha * dout, dout)


@mistake("leaky_relu_backward", "x == 0 gets slope 1 instead of alpha (x >= 0 instead of x > 0)",
         mutant="leaky_wrong_side_at_zero")
def leaky_slope_one_at_zero(dout, cache):
    x, alpha = cache
    return np.where(x >= 0, dout, alpha * dout)


@mistake("leaky_relu_backward", "the backward pass uses slope 0.01 instead of the alpha given",
         mutant="leaky_backward_default_alpha")
def leaky_backward_default_alpha(dout, cache):
    x, _ = cache
    return activations.leaky_relu_backward(dout, (x, 0.01))


@mistake("prelu_backward", "dalpha is averaged over the batch instead of summed",
         mutant="prelu_dalpha_mean")
def prelu_dalpha_averaged(dout, cache):
    dx, dalpha = activations.prelu_backward(dout, cache)
    return dx, dalpha / dout.shape[0]


@mistake("prelu_backward", "dalpha sums dout * x over every x instead of only where x <= 0",
         mutant="prelu_dalpha_all_x")
def prelu_dalpha_every_x(dout, cache):
    x, _ = cache
    return activations.prelu_backward(dout, cache)[0], (dout * x).sum(axis=0)


@mistake("elu_forward", "gamma is left out of the negative part (exp(x) - 1 instead of "
         "gamma * (exp(x) - 1))", mutant="elu_forward_ignores_gamma")
def elu_forward_without_gamma(x, gamma=1.0):
    return activations.elu_forward(x)[0], (x, gamma)


@mistake("elu_backward", "gamma is left out of dx where x <= 0",
         mutant="elu_backward_ignores_gamma")
def elu_backward_without_gamma(dout, cache):
    x, _ = cache
    return activations.elu_backward(dout, (x, 1.0))


@mistake("elu_backward", "the slope gamma * exp(x) of x <= 0 is used where x > 0 too, where it "
         "is 1", mutant="elu_gamma_exp_everywhere")
def elu_negative_slope_everywhere(dout, cache):
    x, gamma = cache
    return dout * gamma * np.exp(np.minimum(x, 0))


@mistake("sigmoid_backward", "dout is not multiplied in (dx = s * (1 - s) alone)",
         mutant="sigmoid_backward_missing_dout")
def sigmoid_without_dout(dout, cache):
    return cache * (1 - cache)


@mistake("sigmoid_backward", "the derivative of the sigmoid s is taken as s instead of "
         "s * (1 - s)", mutant="sigmoid_backward_s_only")
def sigmoid_derivative_s(dout, cache):
    return dout * cache


@mistake("sigmoid_backward", "dx is dout * x * (1 - x): the derivative uses x where it needs "
         "s = sigmoid(x)", mutant="sigmoid_backward_uses_x")
def sigmoid_derivative_of_x(dout, cache):
    s = np.clip(cache, 1e-300, 1 - 1e-16)  # s of exactly 0 or 1 (|x| ~ 1e3) has no finite x
    x = np.log(s) - np.log1p(-s)
    return dout * x * (1 - x)


@mistake("tanh_backward", "the derivative of tanh is taken as 1 - t instead of 1 - t**2",
         mutant="tanh_backward_1_minus_t")
def tanh_derivative_one_minus_t(dout, cache):
    return dout * (1 - cache)


@mistake("tanh_backward", "dx is dout * (1 - x**2): the derivative uses x where it needs "
         "t = tanh(x)", mutant="tanh_backward_uses_x")
def tanh_derivative_of_x(dout, cache):
    x = np.arctanh(np.clip(cache, -1 + 1e-16, 1 - 1e-16))  # t of exactly +-1 has no finite x
    return dout * (1 - x**2)


# -- losses ---------------------------------------------------------------------------------
# The first listed mistake that gives the student's value is named, so where two coincide the
# narrower comes first: with N = 1, a dx divided by N is a dx not divided at all.
def _dx_times(loss_function, x, y, factor):
    """The loss and ``factor`` times its gradient."""
    loss, dx = loss_function(x, y)
    return loss, dx * factor


def _over_batch(loss_function, x, y):
    """A mean over every element and its gradient, divided by N instead of by x.size."""
    loss, dx = loss_function(x, y)
    scale = x.size / x.shape[0]
    return loss * scale, dx * scale


@mistake("softmax_loss", "dx is not divided by the batch size N",
         mutant="softmax_gradient_not_averaged")
def softmax_dx_summed(x, y):
    return _dx_times(losses.softmax_loss, x, y, x.shape[0])


@mistake("svm_loss", "the correct class's own margin (always 1) is counted in the loss",
         mutant="svm_counts_the_correct_class")
def svm_counts_correct_class(x, y):
    loss, dx = losses.svm_loss(x, y)
    return loss + 1.0, dx


@mistake("mse_loss", "the factor 2 of the derivative of (x - y)**2 is left out",
         mutant="mse_without_factor_2")
def mse_dx_without_2(x, y):
    return _dx_times(losses.mse_loss, x, y, 0.5)


@mistake("mse_loss", "dx is not divided by the number of elements", mutant="mse_dx_not_averaged")
def mse_dx_summed(x, y):
    return _dx_times(losses.mse_loss, x, y, x.size)


@mistake("mse_loss", "the loss and dx are divided by N instead of by N * D (every element)",
         mutant="mse_divided_by_n")
def mse_over_batch(x, y):
    return _over_batch(losses.mse_loss, x, y)


@mistake("mse_loss", "dx has the wrong sign (y - x instead of x - y)",
         mutant="mse_dx_sign_flipped")
def mse_dx_negated(x, y):
    return _dx_times(losses.mse_loss, x, y, -1.0)


@mistake("mae_loss", "dx has the wrong sign (sign(y - x) instead of sign(x - y))",
         mutant="mae_sign_flipped")
def mae_dx_negated(x, y):
    return _dx_times(losses.mae_loss, x, y, -1.0)


@mistake("mae_loss", "dx is +1 where x == y instead of 0", mutant="mae_tie_gives_one")
def mae_tie_gives_one(x, y):
    loss, _ = losses.mae_loss(x, y)
    return loss, np.where(x >= y, 1.0, -1.0) / x.size


@mistake("mae_loss", "the loss and dx are divided by N instead of by every element",
         mutant="mae_divided_by_n")
def mae_over_batch(x, y):
    return _over_batch(losses.mae_loss, x, y)


@mistake("bce_with_logits_loss", "dx has the wrong sign (y - sigmoid(x) instead of "
         "sigmoid(x) - y)", mutant="bce_dx_sign_flipped")
def bce_dx_negated(x, y):
    return _dx_times(losses.bce_with_logits_loss, x, y, -1.0)


@mistake("bce_with_logits_loss", "dx is not divided by the number of elements",
         mutant="bce_dx_not_averaged")
def bce_dx_summed(x, y):
    return _dx_times(losses.bce_with_logits_loss, x, y, x.size)


@mistake("bce_with_logits_loss", "the loss and dx are divided by N instead of by every element",
         mutant="bce_mean_over_batch_only")
def bce_over_batch(x, y):
    return _over_batch(losses.bce_with_logits_loss, x, y)


# -- gradient check and the graph -----------------------------------------------------------
@mistake("rel_error", "the relative errors are averaged instead of taking the largest one",
         mutant="rel_error_without_floor_mean")
def rel_error_mean(x, y):
    return float(np.mean(np.abs(x - y) / (np.abs(x) + np.abs(y) + 1e-8)))


@mistake("square_of_sum_backward", "the upstream gradient df is not multiplied in",
         mutant="graph_no_df")
def square_of_sum_without_df(df, cache):
    return graph.square_of_sum_backward(np.ones_like(df), cache)


@mistake("square_of_sum_backward", "the factor 2 of d(z**2)/dz = 2z is left out",
         mutant="graph_no_2")
def square_of_sum_without_2(df, cache):
    return graph.square_of_sum_backward(df / 2, cache)


@mistake("xor_forward", "the hidden layer has no ReLU", mutant="xor_no_relu")
def xor_without_relu(X, W, c, w, b):
    return (X @ W + c) @ w + b


# -- update rules: next_w and the state in the returned config ------------------------------
@mistake("sgd", "the gradient step is added to w instead of subtracted", mutant="sgd_sign")
def sgd_ascent(w, dw, config=None):
    return optim.sgd(w, -dw, config)


@mistake("sgd_momentum", "the gradient step is added to the velocity instead of subtracted "
         "(v = momentum * v + learning_rate * dw)", mutant="mom_velocity_adds_the_step")
def momentum_adds_the_step(w, dw, config=None):
    return optim.sgd_momentum(w, -dw, config)


@mistake("rmsprop", "decay_rate and 1 - decay_rate are swapped in the moving average",
         mutant="rms_decay_swapped")
def rmsprop_decay_swapped(w, dw, config=None):
    config = dict(config or {})
    config["decay_rate"] = 1 - config.get("decay_rate", 0.99)
    return optim.rmsprop(w, dw, config)


def _rmsprop_step(w, dw, config, denominator):
    """RMSProp's update with the step divided by ``denominator(cache, epsilon)``."""
    _, config = optim.rmsprop(w, dw, config)
    step = config["learning_rate"] * dw / denominator(config["cache"], config["epsilon"])
    return w - step, config


@mistake("rmsprop", "epsilon is added inside the square root instead of after it",
         mutant="rms_eps_inside")
def rmsprop_eps_inside(w, dw, config=None):
    return _rmsprop_step(w, dw, config, lambda cache, eps: np.sqrt(cache + eps))


@mistake("rmsprop", "the step is divided by the cache instead of by its square root",
         mutant="rms_no_sqrt")
def rmsprop_without_sqrt(w, dw, config=None):
    return _rmsprop_step(w, dw, config, lambda cache, eps: cache + eps)


def _adam_step(w, dw, config, m_hat, v_hat, denominator=lambda v, eps: np.sqrt(v) + eps):
    """Adam's update from m_hat(config) and v_hat(config), taken after the reference's update
    of m, v and t, with the step divided by ``denominator(v_hat, epsilon)``."""
    _, config = optim.adam(w, dw, config)
    step = m_hat(config) / denominator(v_hat(config), config["epsilon"])
    return w - config["learning_rate"] * step, config


def _m_hat(config):
    return config["m"] / (1 - config["beta1"] ** config["t"])


def _v_hat(config):
    return config["v"] / (1 - config["beta2"] ** config["t"])


@mistake("adam", "m and v are not bias-corrected (no division by 1 - beta**t)",
         mutant="adam_no_bias")
def adam_without_bias_correction(w, dw, config=None):
    return _adam_step(w, dw, config, lambda c: c["m"], lambda c: c["v"])


@mistake("adam", "only m is bias-corrected, not v", mutant="adam_only_m_bias")
def adam_only_m_corrected(w, dw, config=None):
    return _adam_step(w, dw, config, _m_hat, lambda c: c["v"])


@mistake("adam", "epsilon is added inside the square root instead of after it",
         mutant="adam_eps_inside")
def adam_eps_inside(w, dw, config=None):
    return _adam_step(w, dw, config, _m_hat, _v_hat, lambda v, eps: np.sqrt(v + eps))


@mistake("adam", "the step counter t starts at 1 instead of 0, so the first step uses t = 2",
         mutant="adam_t_start1")
def adam_t_starts_at_one(w, dw, config=None):
    config = dict(config or {})
    config.setdefault("t", 1)
    return optim.adam(w, dw, config)


# -- batch and layer normalisation ----------------------------------------------------------
def _normalised(x, mu, std, gamma, beta):
    """The output and the reference's cache of (x - mu) / std, scaled and shifted."""
    x_hat = (x - mu) / std
    return gamma * x_hat + beta, (x_hat, gamma, std)


def _batch_statistics(x, bn_param):
    """batchnorm_forward's mu and var: the batch's in train mode, else the running ones."""
    if bn_param["mode"] == "train":
        return x.mean(axis=0), x.var(axis=0)
    zeros = np.zeros(x.shape[1], dtype=x.dtype)
    return bn_param.get("running_mean", zeros), bn_param.get("running_var", zeros)


@mistake("batchnorm_forward", "the variance is divided by N - 1 instead of N (ddof=1)",
         mutant="bn_unbiased")
def batchnorm_unbiased_variance(x, gamma, beta, bn_param):
    if bn_param["mode"] != "train":
        return normalization.batchnorm_forward(x, gamma, beta, bn_param)
    std = np.sqrt(x.var(axis=0, ddof=1) + bn_param.get("eps", 1e-5))
    return _normalised(x, x.mean(axis=0), std, gamma, beta)


@mistake("batchnorm_forward", "test mode normalises with the batch's statistics instead of the "
         "running ones", mutant="bn_test_batch_stats")
def batchnorm_test_mode_batch_statistics(x, gamma, beta, bn_param):
    return normalization.batchnorm_forward(x, gamma, beta, {**bn_param, "mode": "train"})


@mistake("batchnorm_forward", "eps is added after the square root instead of to the variance",
         mutant="bn_eps_outside")
def batchnorm_eps_outside(x, gamma, beta, bn_param):
    mu, var = _batch_statistics(x, bn_param)
    return _normalised(x, mu, np.sqrt(var) + bn_param.get("eps", 1e-5), gamma, beta)


@mistake("batchnorm_forward", "the eps given in bn_param is ignored (always 1e-5)",
         mutant="bn_eps_ignored")
def batchnorm_default_eps(x, gamma, beta, bn_param):
    return normalization.batchnorm_forward(x, gamma, beta, {**bn_param, "eps": 1e-5})


def _without_mean_term(dout, cache, axis):
    """dx of normalisation along ``axis`` without the term from the mean's dependence on x."""
    x_hat, gamma, std = cache
    dx_hat = dout * gamma
    n = x_hat.shape[axis]
    return (n * dx_hat - x_hat * (dx_hat * x_hat).sum(axis=axis, keepdims=True)) / (n * std)


@mistake("batchnorm_backward", "dx leaves out the mean's dependence on x (the -sum(dx_hat) term)",
         mutant="bn_no_mean_dep")
def batchnorm_without_mean_term(dout, cache):
    _, dgamma, dbeta = normalization.batchnorm_backward(dout, cache)
    return _without_mean_term(dout, cache, axis=0), dgamma, dbeta


@mistake("batchnorm_backward", "the mean and variance are treated as constants "
         "(dx = dout * gamma / std)", mutant="bn_naive_backward")
def batchnorm_constant_statistics(dout, cache):
    _, gamma, std = cache
    _, dgamma, dbeta = normalization.batchnorm_backward(dout, cache)
    return dout * gamma / std, dgamma, dbeta


@mistake("batchnorm_backward", "dgamma is not summed over the batch", mutant="bn_dgamma_not_summed")
def batchnorm_dgamma_per_sample(dout, cache):
    dx, _, dbeta = normalization.batchnorm_backward(dout, cache)
    return dx, dout * cache[0], dbeta


@mistake("layernorm_forward", "each feature is normalised over the batch (axis 0) instead of "
         "each sample over its features", mutant="ln_batch_axis")
def layernorm_over_the_batch(x, gamma, beta, ln_param):
    return normalization.batchnorm_forward(x, gamma, beta, {**ln_param, "mode": "train"})


@mistake("layernorm_forward", "the variance is divided by D - 1 instead of D (ddof=1)",
         mutant="ln_unbiased")
def layernorm_unbiased_variance(x, gamma, beta, ln_param):
    std = np.sqrt(x.var(axis=1, keepdims=True, ddof=1) + ln_param.get("eps", 1e-5))
    return _normalised(x, x.mean(axis=1, keepdims=True), std, gamma, beta)


@mistake("layernorm_forward", "the eps given in ln_param is ignored (always 1e-5)",
         mutant="ln_eps_ignored")
def layernorm_default_eps(x, gamma, beta, ln_param):
    return normalization.layernorm_forward(x, gamma, beta, {**ln_param, "eps": 1e-5})


@mistake("layernorm_forward", "eps is added after the square root instead of to the variance",
         mutant="ln_eps_outside")
def layernorm_eps_outside(x, gamma, beta, ln_param):
    std = np.sqrt(x.var(axis=1, keepdims=True)) + ln_param.get("eps", 1e-5)
    return _normalised(x, x.mean(axis=1, keepdims=True), std, gamma, beta)


@mistake("layernorm_backward", "dx leaves out the mean's dependence on x (the -sum(dx_hat) term)",
         mutant="ln_no_mean_dep")
def layernorm_without_mean_term(dout, cache):
    _, dgamma, dbeta = normalization.layernorm_backward(dout, cache)
    return _without_mean_term(dout, cache, axis=1), dgamma, dbeta


@mistake("layernorm_backward", "dgamma is not summed over the batch", mutant="ln_dgamma_not_summed")
def layernorm_dgamma_per_sample(dout, cache):
    dx, _, dbeta = normalization.layernorm_backward(dout, cache)
    return dx, dout * cache[0], dbeta


@mistake("layernorm_backward", "dbeta is summed over the features (axis 1) instead of the batch",
         mutant="ln_dbeta_wrong_axis")
def layernorm_dbeta_over_features(dout, cache):
    dx, dgamma, _ = normalization.layernorm_backward(dout, cache)
    return dx, dgamma, dout.sum(axis=1)
