"""Fixtures shared by the core_ext tests, and how pytest-xdist splits the suite."""

import functools
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import core_ext

# A module whose tests share a module- or session-scoped fixture (a release installed into a
# venv, a class batch-graded once, a submission graded once and read by many tests) runs in one
# xdist process, so that fixture is built once, not once per process. Every other test goes to
# whichever process is free.
SHARED_SCOPE = re.compile(r"""scope=["'](module|session)["']""")


@functools.cache
def _shares_fixtures(path: str) -> bool:
    return SHARED_SCOPE.search(Path(path).read_text(encoding="utf-8")) is not None


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module is not None and _shares_fixtures(item.module.__file__):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


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
