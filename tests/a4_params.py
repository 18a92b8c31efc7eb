"""Random parameters for A4's attention and Transformer blocks, shared by its reference tests."""
import numpy as np


def attention_params(rng, d, dm):
    params = {}
    for name, fan_in in (("Q", d), ("K", dm), ("V", dm), ("O", d)):
        params[f"W_{name}"] = rng.standard_normal((fan_in, d)) / np.sqrt(fan_in)
        params[f"b_{name}"] = 0.3 * rng.standard_normal(d)
    return params


def block_params(rng, d, f, prefixes, norms):
    params = {}
    for prefix in prefixes:
        params.update({prefix + k: v for k, v in attention_params(rng, d, d).items()})
    params.update({"W1": rng.standard_normal((d, f)) / np.sqrt(d),
                   "b1": 0.3 * rng.standard_normal(f),
                   "W2": rng.standard_normal((f, d)) / np.sqrt(f),
                   "b2": 0.3 * rng.standard_normal(d)})
    for i in range(1, norms + 1):
        params[f"gamma{i}"] = 1.0 + 0.3 * rng.standard_normal(d)
        params[f"beta{i}"] = 0.3 * rng.standard_normal(d)
    return params
