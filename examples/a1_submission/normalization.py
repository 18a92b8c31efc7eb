"""Example submission: normalisation not started yet."""
import numpy as np  # noqa: F401  (you will need it)


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation: normalise each feature over the batch, then scale and shift.

    Train mode uses the batch statistics
        mu = mean of x over the N samples, var = mean of (x - mu)**2   (biased: divide by N)
        out = gamma * (x - mu) / sqrt(var + eps) + beta
    and updates the running statistics, storing them back into bn_param:
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var  = momentum * running_var  + (1 - momentum) * var
    Test mode uses the running statistics instead of mu and var, and changes nothing.

    Inputs:
    - x: (N, D) inputs
    - gamma: (D,) scale
    - beta: (D,) shift
    - bn_param: dict with keys
      - mode: 'train' or 'test' (required)
      - eps: 1e-5
      - momentum: 0.9
      - running_mean: (D,), zeros when absent
      - running_var: (D,), zeros when absent

    Returns (out, cache):
    - out: (N, D)
    - cache: whatever batchnorm_backward needs
    """
    raise NotImplementedError("a1.batchnorm: implement batchnorm_forward")


def batchnorm_backward(dout, cache):
    """Backward pass of batchnorm_forward in train mode.

    With x_hat = (x - mu) / sqrt(var + eps) and dx_hat = dout * gamma, the mean and the variance
    depend on x too, which gives, for each feature (sums over the N samples):
        dx = (N * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)) / (N * sqrt(var + eps))

    Inputs:
    - dout: (N, D) upstream gradient
    - cache: from batchnorm_forward

    Returns (dx, dgamma, dbeta):
    - dx: (N, D)
    - dgamma: (D,)
    - dbeta: (D,)
    """
    raise NotImplementedError("a1.batchnorm: implement batchnorm_backward")


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalisation: normalise each sample over its D features, then scale and shift.

        mu = mean of x[n] over its D features, var = mean of (x[n] - mu)**2   (biased)
        out[n] = gamma * (x[n] - mu) / sqrt(var + eps) + beta
    The same in training and at test time: there are no running statistics.

    Inputs:
    - x: (N, D) inputs
    - gamma: (D,) scale
    - beta: (D,) shift
    - ln_param: dict with key
      - eps: 1e-5

    Returns (out, cache):
    - out: (N, D)
    - cache: whatever layernorm_backward needs
    """
    raise NotImplementedError("a1.layernorm: implement layernorm_forward")


def layernorm_backward(dout, cache):
    """Backward pass of layernorm_forward.

    With dx_hat = dout * gamma, for each sample (sums over its D features):
        dx = (D * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)) / (D * sqrt(var + eps))

    Inputs:
    - dout: (N, D) upstream gradient
    - cache: from layernorm_forward

    Returns (dx, dgamma, dbeta):
    - dx: (N, D)
    - dgamma: (D,)
    - dbeta: (D,)
    """
    raise NotImplementedError("a1.layernorm: implement layernorm_backward")
