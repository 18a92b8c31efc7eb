"""Fixtures shared by the core_ext tests."""

import pytest

import core_ext


@pytest.fixture(params=["compiled", "fallback"])
def kernels(request, monkeypatch):
    """Run the test once on the Cython kernels and once on the NumPy fallback, as an import
    without the extension would set it up (no kernels, no recycling memory handler)."""
    if request.param == "compiled":
        if not core_ext.COMPILED:
            pytest.fail("the Cython extension is not built (pip install -e .)")
        assert core_ext._kernels("conv") is core_ext._conv
        assert core_ext._kernels("pool") is core_ext._pool
        assert core_ext._kernels("rnn") is core_ext._rnn
        assert core_ext._memory is not None
    else:
        for module in ("_conv", "_memory", "_pool", "_rnn"):
            monkeypatch.setattr(core_ext, module, None)
        assert core_ext._kernels("conv") is core_ext._conv_numpy
        assert core_ext._kernels("pool") is core_ext._pool_numpy
        assert core_ext._kernels("rnn") is core_ext._rnn_numpy
    return request.param
