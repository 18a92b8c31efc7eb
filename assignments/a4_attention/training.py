"""Given code, nothing to write here: how A4's models are trained, and their data.

- `adam`: the update rule of A1 (given here, not graded again: each assignment stands alone).
- `clip_grad_norm`: the gradients scaled down to a global L2 norm (A3's, given).
- `train`: a plain minibatch loop over your model's loss: for each batch of arguments,
  loss, grads = model.loss(*batch), the gradients clipped, one Adam step per parameter.
- `block_params`, `init_block`: one encoder block's parameters inside a model's flat dict,
  and their initialisation; `softmax_loss`: A1's mean softmax cross-entropy.
- `load_digits`: scikit-learn's 8x8 digits (shipped with scikit-learn: nothing is downloaded)
  as (N, 1, 8, 8) images in [0, 1], split into a training and a validation set.

Keep this file in the folder you hand in: vit.py, mixer.py and gpt.py import it.
"""
import numpy as np

BLOCK_KEYS = ("W_Q", "b_Q", "W_K", "b_K", "W_V", "b_V", "W_O", "b_O", "gamma1", "beta1",
              "W1", "b1", "W2", "b2", "gamma2", "beta2")


def block_params(params, i):
    """the parameters of encoder block i, stored in params under 'block{i}_' + key, as
    encoder_block_forward takes them (without the prefix)."""
    return {key: params[f"block{i}_{key}"] for key in BLOCK_KEYS}


def init_block(rng, D, F):
    """one encoder block's parameters, weights ~ N(0, 1 / fan-in) (W_Q, W_K, W_V, W_O
    and W1 fan-in D, W2 fan-in F), biases 0, the layer norms' gamma 1 and beta 0."""
    params = {}
    for name in ("Q", "K", "V", "O"):
        params[f"W_{name}"] = rng.standard_normal((D, D)) / np.sqrt(D)
        params[f"b_{name}"] = np.zeros(D)
    params.update(W1=rng.standard_normal((D, F)) / np.sqrt(D), b1=np.zeros(F),
                  W2=rng.standard_normal((F, D)) / np.sqrt(F), b2=np.zeros(D))
    for k in (1, 2):
        params[f"gamma{k}"], params[f"beta{k}"] = np.ones(D), np.zeros(D)
    return params


def softmax_loss(scores, y):
    """the mean softmax cross-entropy of scores (M, C) for labels y (M,) and its
    gradient (M, C) (A1's softmax_loss)."""
    M = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dscores = np.exp(log_probs)
    dscores[np.arange(M), y] -= 1
    return float(-log_probs[np.arange(M), y].mean()), dscores / M




def adam(w, dw, config=None):
    """Adam as torch.optim.Adam writes it, given so the models train (restating it is A1's task;
    this is not A1's graded form): with step k, exp_avg = b1 exp_avg + (1 - b1) dw and
    exp_avg_sq = b2 exp_avg_sq + (1 - b2) dw**2, the step is
    w -= lr / (1 - b1**k) * exp_avg / (sqrt(exp_avg_sq) / sqrt(1 - b2**k) + eps).
    config: learning_rate (1e-3), betas ((0.9, 0.999)), eps (1e-8), and the state step, exp_avg
    and exp_avg_sq it keeps. Returns (next_w, config)."""
    state = {"learning_rate": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "step": 0,
             "exp_avg": 0.0, "exp_avg_sq": 0.0, **(config or {})}
    beta_m, beta_v = state["betas"]
    state["step"] += 1
    state["exp_avg"] = state["exp_avg"] * beta_m + dw * (1 - beta_m)
    state["exp_avg_sq"] = state["exp_avg_sq"] * beta_v + np.square(dw) * (1 - beta_v)
    unbias_m, unbias_v = 1 - beta_m ** state["step"], 1 - beta_v ** state["step"]
    denom = np.sqrt(state["exp_avg_sq"]) / np.sqrt(unbias_v) + state["eps"]
    return w - (state["learning_rate"] / unbias_m) * state["exp_avg"] / denom, state


def clip_grad_norm(grads, max_norm):
    """(clipped, total_norm): every gradient scaled by max_norm / total_norm when the global
    norm total_norm of all of them exceeds max_norm, else unchanged."""
    total = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
    if total <= max_norm:
        return dict(grads), total
    return {k: g * (max_norm / total) for k, g in grads.items()}, total


def train(model, batches, learning_rate=1e-3, max_norm=5.0, on_step=None):
    """Train model.params in place: for each tuple of arguments in `batches`,
    loss, grads = model.loss(*args); the gradients clipped to global norm max_norm (None: not
    clipped); one adam step per parameter, each with its own moments. on_step(i, loss), if
    given, is called after every step (a progress bar). Returns the list of losses."""
    configs, losses = {}, []
    for i, args in enumerate(batches):
        loss, grads = model.loss(*args)
        if max_norm is not None:
            grads, _ = clip_grad_norm(grads, max_norm)
        for name, grad in grads.items():
            config = configs.setdefault(name, {"learning_rate": learning_rate})
            model.params[name], configs[name] = adam(model.params[name], grad, config)
        losses.append(float(loss))
        if on_step is not None:
            on_step(i, float(loss))
    return losses


def load_digits(num_val=297, seed=0):
    """scikit-learn's 1797 digits, (N, 1, 8, 8) float64 images scaled to [0, 1] (the pixels are
    0..16) and int64 labels 0..9, shuffled by np.random.default_rng(seed) and split: returns
    (X_train, y_train, X_val, y_val) with num_val validation images (1500 training images by
    default). Needs scikit-learn (imported here only)."""
    from sklearn.datasets import load_digits as _sklearn_digits

    digits = _sklearn_digits()
    X = (digits.images / 16.0).reshape(-1, 1, 8, 8)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(X))
    X, y = X[order], y[order]
    return X[num_val:], y[num_val:], X[:num_val], y[:num_val]
