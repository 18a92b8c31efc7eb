"""What the tests that compare with PyTorch share: its functional API, a tensor that records
gradients, and the comparison of our arrays with its tensors.

PyTorch is an optional extra (``pip install '.[torch]'``). Importing this module without it
skips the importing test module (``pytest.importorskip``); each such test module also calls
``pytest.importorskip("torch")`` itself first, so that the skip reason is its own.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

# float64 on both sides: only rounding differs
RTOL, ATOL = 1e-10, 1e-12


def tensor(a, dtype=torch.float64):
    """``a`` as a leaf tensor that records its gradient (``dtype=None`` keeps a's dtype)."""
    return torch.tensor(a, dtype=dtype, requires_grad=True)


def assert_close(name, ours, theirs, *, rtol=RTOL, atol=ATOL):
    """Our array against torch's value (a tensor, detached here, or an array)."""
    if isinstance(theirs, torch.Tensor):
        theirs = theirs.detach().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=name)
