"""The kernels' GEMM (core_ext/_gemm.pyx): NumPy's OpenBLAS where its 64-bit-integer CBLAS is
found, SciPy's cython_blas otherwise or with LAYERLAB_GEMM=scipy; both give the kernels'
results (the convolution, LSTM and attention tests check those against the naive layers
whichever runs)."""

import ctypes
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import core_ext

pytestmark = pytest.mark.skipif(core_ext._gemm is None, reason="core_ext is not built")


def ilp64_openblas() -> str | None:
    """The loaded OpenBLAS that exports scipy_cblas_sgemm64_ (NumPy's wheels), if any."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    for lib in threadpoolctl.ThreadpoolController().lib_controllers:
        if lib.internal_api == "openblas":
            dll = ctypes.CDLL(lib.filepath)
            if hasattr(dll, "scipy_cblas_sgemm64_") and hasattr(dll, "scipy_cblas_dgemm64_"):
                return lib.filepath
    return None


def test_kernels_call_numpys_openblas_where_it_is_found():
    path = ilp64_openblas()
    if path is None:
        pytest.skip("no loaded OpenBLAS exports the 64-bit CBLAS GEMM (NumPy without its wheel's "
                    "OpenBLAS)")
    assert core_ext.GEMM == path
    assert core_ext._gemm.source() == "cblas"


def test_use_cblas_takes_both_addresses_or_neither():
    with pytest.raises(ValueError, match="both addresses or neither"):
        core_ext._gemm.use_cblas(1, 0)
    assert core_ext._gemm.source() == ("cblas" if core_ext.GEMM != "scipy" else "scipy")


# every product of the kernels that call GEMM (convolution: NN, TN and NT; the LSTM's input
# projection, per-step products and weight gradients; attention's four products), both dtypes
RESULTS = """
    import numpy as np
    import core_ext
    rng = np.random.default_rng(5)
    results = {}
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        x = rng.standard_normal((5, 3, 9, 8)).astype(dtype)
        w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
        out, cache = core_ext.conv_forward(x, w, np.zeros(4, dtype), {"stride": 1, "pad": 1})
        grads = core_ext.conv_backward(np.ones_like(out), cache)
        for key, value in zip(("out", "dx", "dw", "db"), (out, *grads)):
            results[f"conv_{key}_{name}"] = value
        xs = rng.standard_normal((6, 7, 5)).astype(dtype)
        h0 = rng.standard_normal((6, 4)).astype(dtype)
        wx, wh = (rng.standard_normal(s).astype(dtype) * 0.3 for s in ((5, 16), (4, 16)))
        h, cache = core_ext.lstm_forward(xs, h0, wx, wh, np.zeros(16, dtype))
        for i, value in enumerate((h, *core_ext.lstm_backward(np.ones_like(h), cache))):
            results[f"lstm_{i}_{name}"] = value
        q, k, v = (rng.standard_normal((3, 2, 6, 4)).astype(dtype) for _ in range(3))
        att, weights = core_ext.attention_forward(q, k, v)
        back = core_ext.attention_backward(np.ones_like(att), q, k, v, weights, 0.5)
        for i, value in enumerate((att, weights, *back)):
            results[f"attention_{i}_{name}"] = value
"""


def test_scipys_blas_gives_the_same_results(tmp_path):
    """LAYERLAB_GEMM=scipy, in a fresh Python (the choice is made at import): SciPy's BLAS
    runs, and every kernel's results agree with this process's to rounding."""
    code = textwrap.dedent(RESULTS) + textwrap.dedent(f"""
        from core_ext import _gemm
        print(_gemm.source(), core_ext.GEMM)
        np.savez({str(tmp_path / "scipy.npz")!r}, **results)
    """)
    env = dict(os.environ, LAYERLAB_GEMM="scipy")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["scipy", "scipy"]
    namespace: dict = {}
    exec(textwrap.dedent(RESULTS), namespace)
    ours = namespace["results"]
    theirs = np.load(tmp_path / "scipy.npz")
    assert sorted(theirs.files) == sorted(ours)
    for key, value in ours.items():
        tolerance = {"rtol": 1e-4, "atol": 1e-4} if key.endswith("float32") else \
            {"rtol": 1e-10, "atol": 1e-10}
        np.testing.assert_allclose(value, theirs[key], err_msg=key, **tolerance)
