"""The kernel benchmarks run (--quick: tiny shapes, one repeat) and print their tables. No
assertion on time: the scripts check that their contenders agree before timing them."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
HAS_TORCH = importlib.util.find_spec("torch") is not None
TORCH_ROWS = ["PyTorch CPU float64", "PyTorch CPU float32",
              "core_ext / PyTorch float64, from the table:",
              "core_ext / PyTorch float64, median of 1 paired rounds:"]


def run_quick(script: str) -> str:
    proc = subprocess.run([sys.executable, str(BENCH / script), "--quick"], capture_output=True,
                          text=True, cwd=BENCH.parent, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("script,expected", [
    ("bench_conv.py", ["conv x=(4, 3, 8, 8) w=(4, 3, 3, 3) stride 1 pad 1", "conv x=(5, 2, 9, 7)",
                       "contender", "GFLOP/s", "/ torch f64", "/ GEMM same shapes", "/ GEMM peak",
                       "core_ext (Cython)", "core_ext NumPy fallback",
                       "naive loops (N=1 x4, extrapolated)", "vectorised NumPy",
                       "GEMM bound (same shapes)", "GEMM peak (one",
                       "core_ext / GEMM bound (same shapes), from the table:",
                       "core_ext / GEMM bound (same shapes), median of 1 paired rounds:",
                       "(target <= 1.5",
                       "peak memory of one forward+backward / im2col matrix", "(target <= 3",
                       "the per-thread scratch"]),
    ("bench_pool.py", ["max pooling 2x2 stride 2 on x=(2, 3, 8, 8)", "avg pooling 2x2 stride 2",
                       "/ copy bound", "core_ext (Cython)", "core_ext NumPy fallback",
                       "naive loops (N=1 x2, extrapolated)", "vectorised NumPy",
                       "copy bound (x copied twice)"]),
])
def test_bench_script_prints_its_table(script, expected):
    out = run_quick(script)
    assert out.startswith("machine: ")
    for text in expected + (TORCH_ROWS if HAS_TORCH else []):
        assert text in out, f"{script} --quick did not print {text!r}:\n{out}"
    if HAS_TORCH and script == "bench_pool.py":
        assert "(target <= 0.35" in out
    if HAS_TORCH and script == "bench_conv.py":
        assert "(target <= 0.7" in out
