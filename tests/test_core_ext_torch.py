"""core_ext max pooling against PyTorch's CPU kernel (optional extra: pip install '.[torch]')."""

import numpy as np
import pytest

import core_ext

torch = pytest.importorskip("torch")
F = torch.nn.functional


@pytest.mark.parametrize("shape,ph,pw,s", [((2, 3, 8, 8), 2, 2, 2), ((1, 2, 7, 9), 3, 2, 2),
                                          ((2, 2, 6, 6), 3, 3, 1)])
def test_max_pool_matches_torch(shape, ph, pw, s):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    out, cache = core_ext.max_pool_forward(x, {"pool_height": ph, "pool_width": pw, "stride": s})
    tx = torch.tensor(x, requires_grad=True)
    tout = F.max_pool2d(tx, (ph, pw), stride=s)
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=0, atol=0)
    dout = rng.standard_normal(out.shape)
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(core_ext.max_pool_backward(dout, cache), tx.grad.numpy(),
                               rtol=1e-12, atol=1e-12)
