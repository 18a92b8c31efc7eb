"""Fixtures shared by the core_ext tests."""

from concurrent.futures import ThreadPoolExecutor

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


@pytest.fixture
def submits(monkeypatch):
    """Count the chunks handed to worker threads; start from a fresh executor."""
    calls = []
    real = ThreadPoolExecutor.submit

    def counting(self, fn, *args, **kwargs):
        calls.append(fn.__name__)
        return real(self, fn, *args, **kwargs)
    monkeypatch.setattr(ThreadPoolExecutor, "submit", counting)
    monkeypatch.setattr(core_ext, "_executor", None)
    monkeypatch.setattr(core_ext, "_threads_work", True)
    return calls
