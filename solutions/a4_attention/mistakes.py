"""Known A4 mistakes (instructor-side, never released): each reproduces, with the reference, a
classic bug of one reference function, so that the feedback on a wrong output can name it
(see grader/mistakes.py). ``mutant`` is the mutant of tests/mutants/a4.py that makes the bug.

A mistake takes the reference function's arguments; a backward pass gets the reference's cache.
"""
import numpy as np

from grader.mistakes import mistake
from solutions.a4_attention import attention, transformer_layers


# -- scaled dot-product attention -------------------------------------------------------------
@mistake("scaled_dot_product_attention_forward", "the scores are not divided by sqrt(d)",
         mutant="attention_without_scale")
def attention_unscaled(q, k, v, mask=None):
    return attention.scaled_dot_product_attention_forward(q * np.sqrt(q.shape[-1]), k, v, mask)


@mistake("scaled_dot_product_attention_backward", "the softmax's backward leaves out the sum "
         "term: dS = W * dW instead of W * (dW - sum over the keys of W * dW)",
         mutant="attention_softmax_backward_without_the_sum")
def attention_softmax_backward_unsummed(dout, cache):
    q, k, v, weights, scale = cache
    dscores = weights * (dout @ np.swapaxes(v, -1, -2)) * scale
    return dscores @ k, np.swapaxes(dscores, -1, -2) @ q, np.swapaxes(weights, -1, -2) @ dout


@mistake("causal_mask", "the diagonal is masked too: a position may not attend to itself "
         "(np.tril(..., -1) instead of np.tril(...))", mutant="causal_mask_off_by_one")
def causal_mask_strict(T):
    return np.tril(np.ones((T, T), dtype=bool), -1)


# -- additive attention -----------------------------------------------------------------------
@mistake("additive_attention_backward", "the derivative of tanh (1 - tanh**2) is left out",
         mutant="additive_tanh_derivative_missing")
def additive_without_tanh_derivative(dcontext, cache):
    s, h, params, hidden, weights = cache
    # the reference's backward with tanh' = 1: the same cache with hidden = 0
    return attention.additive_attention_backward(dcontext, (s, h, params, 0.0 * hidden, weights))


# -- multi-head attention ---------------------------------------------------------------------
@mistake("multihead_attention_backward", "dx_kv holds the values' gradient only, not the keys' "
         "too (x_kv makes both K and V)", mutant="multihead_dx_kv_from_the_values_only")
def multihead_dx_kv_values_only(dout, cache):
    x_q, x_kv, params, num_heads, attention_cache, concat = cache
    no_keys = {**params, "W_K": np.zeros_like(params["W_K"])}
    dx_q, dx_kv, grads = attention.multihead_attention_backward(
        dout, (x_q, x_kv, no_keys, num_heads, attention_cache, concat))
    return dx_q, dx_kv, attention.multihead_attention_backward(dout, cache)[2]


# -- positional encodings ---------------------------------------------------------------------
@mistake("sinusoidal_positional_encoding", "sin and cos are swapped: even features get the "
         "cosines, odd features the sines", mutant="sinusoid_sin_and_cos_swapped")
def sinusoid_swapped(T, D):
    angle = np.arange(T)[:, None] / 10000.0 ** (np.arange(0, D, 2) / D)
    P = np.zeros((T, D))
    P[:, 0::2] = np.cos(angle)
    P[:, 1::2] = np.sin(angle[:, :D // 2])
    return P


@mistake("position_embedding_backward", "dW_pos is averaged over the batch instead of summed",
         mutant="position_embedding_gradient_averaged_over_the_batch")
def position_embedding_averaged(dout, cache):
    dx, dW_pos = transformer_layers.position_embedding_backward(dout, cache)
    return dx, dW_pos / len(dout)


# -- layer norm -------------------------------------------------------------------------------
@mistake("layernorm_backward", "dx leaves out the terms from the mean and the variance: "
         "dx = dout * gamma / sqrt(var + eps)",
         mutant="layernorm_backward_without_mean_and_variance_terms")
def layernorm_dx_without_statistics(dout, cache):
    x_hat, gamma, std = cache
    _, dgamma, dbeta = transformer_layers.layernorm_backward(dout, cache)
    return dout * gamma / std, dgamma, dbeta


@mistake("layernorm_backward", "dx leaves out the term from the variance "
         "(- x_hat * sum(dx_hat * x_hat))", mutant="layernorm_backward_without_the_variance_term")
def layernorm_dx_without_variance(dout, cache):
    x_hat, gamma, std = cache
    _, dgamma, dbeta = transformer_layers.layernorm_backward(dout, cache)
    dx_hat = dout * gamma
    D = x_hat.shape[-1]
    return (D * dx_hat - dx_hat.sum(axis=-1, keepdims=True)) / (D * std), dgamma, dbeta


# -- GELU -------------------------------------------------------------------------------------
@mistake("gelu_forward", "GELU is the tanh approximation, not the exact erf form asked for",
         mutant="gelu_tanh_approximation")
def gelu_tanh(x):
    cdf = 0.5 * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))
    return x * cdf, (x, cdf)


@mistake("gelu_backward", "gelu'(x) is taken as Phi(x), without the x * phi(x) term",
         mutant="gelu_backward_without_the_density_term")
def gelu_backward_cdf_only(dout, cache):
    return dout * cache[1]


# -- Swin -------------------------------------------------------------------------------------
@mistake("window_reverse", "the windows are read back with rows and columns of windows swapped",
         mutant="window_reverse_rows_and_columns_swapped")
def window_reverse_swapped(windows, window_size, H, W):
    ws, C = window_size, windows.shape[-1]
    return (windows.reshape(-1, W // ws, H // ws, ws, ws, C).transpose(0, 1, 3, 2, 4, 5)
            .reshape(-1, H, W, C))
