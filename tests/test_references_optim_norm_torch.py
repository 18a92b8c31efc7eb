"""Reference update rules, dropout and normalisation of A1 against PyTorch (float64); skipped
when torch is absent."""
import numpy as np
import pytest

pytest.importorskip("torch")

from solutions.a1_networks import layers, normalization, optim
from torch_oracle import F, assert_close, tensor, torch  # tests/ is on sys.path

STEPS = 6


def run_both(rule, config, make_torch, shape=(4, 3), seed=20):
    """Apply our rule and a torch.optim optimizer to the same gradients for STEPS steps; yield
    (our w, our config, torch's parameter, torch's state) after each step."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(shape)
    param = torch.tensor(w.copy(), requires_grad=True)
    opt = make_torch([param])
    for _ in range(STEPS):
        dw = rng.standard_normal(shape)
        w, config = rule(w, dw, config)
        param.grad = torch.from_numpy(dw.copy())
        opt.step()
        yield w, config, param, opt.state[param]


@pytest.mark.parametrize("lr", [1e-2, 0.3])
def test_sgd_matches_torch(lr):
    for w, _, param, _ in run_both(optim.sgd, {"learning_rate": lr},
                                   lambda p: torch.optim.SGD(p, lr=lr)):
        assert_close("w", w, param)


@pytest.mark.parametrize("lr, mu", [(1e-2, 0.9), (0.05, 0.6)])
def test_momentum_matches_torch(lr, mu):
    # torch keeps b = mu * b + dw and steps w - lr * b; ours keeps v = mu * v - lr * dw and
    # steps w + v. With a constant learning rate v = -lr * b at every step (induction from
    # v = b = 0), so the weights agree; they would part if lr changed between steps.
    for w, config, param, state in run_both(optim.sgd_momentum,
                                            {"learning_rate": lr, "momentum": mu},
                                            lambda p: torch.optim.SGD(p, lr=lr, momentum=mu)):
        assert_close("w", w, param)
        assert_close("velocity", config["velocity"], -lr * state["momentum_buffer"])


@pytest.mark.parametrize("lr, decay, eps", [(1e-2, 0.99, 1e-8), (0.02, 0.8, 1e-3)])
def test_rmsprop_matches_torch(lr, decay, eps):
    # torch's alpha is our decay_rate; like ours it adds eps outside the square root
    config = {"learning_rate": lr, "decay_rate": decay, "epsilon": eps}
    for w, ours, param, state in run_both(
            optim.rmsprop, config, lambda p: torch.optim.RMSprop(p, lr=lr, alpha=decay, eps=eps)):
        assert_close("w", w, param)
        assert_close("cache", ours["cache"], state["square_avg"])


@pytest.mark.parametrize("lr, b1, b2, eps", [(1e-3, 0.9, 0.999, 1e-8), (0.05, 0.7, 0.95, 1e-3)])
def test_adam_matches_torch(lr, b1, b2, eps):
    config = {"learning_rate": lr, "beta1": b1, "beta2": b2, "epsilon": eps}
    for w, ours, param, state in run_both(
            optim.adam, config, lambda p: torch.optim.Adam(p, lr=lr, betas=(b1, b2), eps=eps)):
        assert_close("w", w, param)
        assert_close("m", ours["m"], state["exp_avg"])
        assert_close("v", ours["v"], state["exp_avg_sq"])
        assert ours["t"] == int(state["step"])


def test_dropout_keep_probability_is_one_minus_torch_p():
    # Ours keeps with probability p and divides by p; torch drops with probability p_torch and
    # divides the rest by 1 - p_torch. The masks differ, the kept values must not.
    x = np.random.default_rng(21).uniform(0.5, 2.0, (100, 200))
    ours, _ = layers.dropout_forward(x, {"p": 0.7, "mode": "train", "seed": 0})
    torch.manual_seed(0)
    theirs = F.dropout(torch.from_numpy(x), p=0.3, training=True).numpy()
    both = (ours != 0) & (theirs != 0)
    assert both.mean() > 0.4
    np.testing.assert_allclose(ours[both], theirs[both], rtol=1e-14)


def test_dropout_backward_matches_autograd_with_our_mask():
    rng = np.random.default_rng(22)
    x, dout = rng.standard_normal((5, 6)), rng.standard_normal((5, 6))
    out, cache = layers.dropout_forward(x, {"p": 0.6, "mode": "train", "seed": 3})
    mask = torch.from_numpy((out != 0).astype(np.float64))
    tx = tensor(x)
    t_out = tx * mask / 0.6
    t_out.backward(torch.from_numpy(dout))
    assert_close("out", out, t_out)
    assert_close("dx", layers.dropout_backward(dout, cache), tx.grad)


def norm_inputs(seed, n, d):
    rng = np.random.default_rng(seed)
    x = 2.0 * rng.standard_normal((n, d)) + rng.uniform(-3.0, 3.0, d)
    return x, rng.standard_normal(d), rng.standard_normal(d), rng.standard_normal((n, d))


@pytest.mark.parametrize("n, d, eps, momentum", [(2, 3, 1e-5, 0.9), (5, 4, 1e-3, 0.9),
                                                 (16, 7, 1e-5, 0.6)])
def test_batchnorm_matches_torch(n, d, eps, momentum):
    x, gamma, beta, dout = norm_inputs(23, n, d)
    bn_param = {"mode": "train", "eps": eps, "momentum": momentum}
    out, cache = normalization.batchnorm_forward(x, gamma, beta, bn_param)
    dx, dgamma, dbeta = normalization.batchnorm_backward(dout, cache)

    tx, tg, tb = tensor(x), tensor(gamma), tensor(beta)
    t_mean, t_var = torch.zeros(d, dtype=torch.float64), torch.zeros(d, dtype=torch.float64)
    # torch's momentum is the weight of the new batch statistic: 1 - ours
    t_out = F.batch_norm(tx, t_mean, t_var, tg, tb, training=True, momentum=1 - momentum, eps=eps)
    t_out.backward(torch.from_numpy(dout))
    assert_close("out", out, t_out)
    assert_close("dx", dx, tx.grad)
    assert_close("dgamma", dgamma, tg.grad)
    assert_close("dbeta", dbeta, tb.grad)
    assert_close("running_mean", bn_param["running_mean"], t_mean)
    # torch's running_var averages the unbiased variance (divide by N - 1); ours the biased one
    # (divide by N), as in the normalisation itself. From zeros the two differ by N / (N - 1).
    assert_close("running_var * N / (N - 1)", bn_param["running_var"] * n / (n - 1), t_var)

    bn_param["mode"] = "test"
    out, _ = normalization.batchnorm_forward(x, gamma, beta, bn_param)
    t_out = F.batch_norm(torch.from_numpy(x), torch.from_numpy(bn_param["running_mean"]),
                         torch.from_numpy(bn_param["running_var"]), torch.from_numpy(gamma),
                         torch.from_numpy(beta), training=False, eps=eps)
    assert_close("out (test mode)", out, t_out)


@pytest.mark.parametrize("n, d, eps", [(1, 6, 1e-5), (4, 7, 1e-3), (8, 13, 1e-5)])
def test_layernorm_matches_torch(n, d, eps):
    x, gamma, beta, dout = norm_inputs(24, n, d)
    out, cache = normalization.layernorm_forward(x, gamma, beta, {"eps": eps})
    dx, dgamma, dbeta = normalization.layernorm_backward(dout, cache)

    tx, tg, tb = tensor(x), tensor(gamma), tensor(beta)
    t_out = F.layer_norm(tx, (d,), tg, tb, eps=eps)
    t_out.backward(torch.from_numpy(dout))
    assert_close("out", out, t_out)
    assert_close("dx", dx, tx.grad)
    assert_close("dgamma", dgamma, tg.grad)
    assert_close("dbeta", dbeta, tb.grad)
