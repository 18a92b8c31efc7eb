"""bench/bench_detection.py runs: a smoke run (--quick: tiny shapes, one repeat), without
torchvision, prints every case's table with the core_ext, fallback and reference rows (the
script first checks that core_ext gives the reference's results). No assertion on time."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTENDERS = ["core_ext (Cython)", "core_ext NumPy fallback",
              "NumPy reference (solutions/a5_beyond)"]


def test_bench_detection_quick_prints_its_tables():
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_detection.py"), "--quick"],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert out.startswith("machine: ") and "OPENBLAS_CORETYPE" in out
    assert "torchvision: not given" in out
    for dtype in ("float64", "float32"):
        assert f"RoI pooling forward+backward, x=(2, 4, 10, 10) {dtype}, 6 RoIs, 7x7 bins" in out
        assert f"NMS of 200 boxes {dtype}, IoU threshold 0.5; " in out
    tables = out.split("\n\n")
    assert sum("contender" in table for table in tables) == 4
    for table in tables:
        if "contender" in table:
            for name in CONTENDERS:
                assert name in table, f"{name!r} missing from:\n{table}"
            assert "/ torchvision" in table and "/ core_ext" in table
    assert "torchvision agrees" not in out and "paired rounds" not in out
