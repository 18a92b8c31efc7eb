"""bench/bench_batch.py runs: a smoke run of the class benchmark (five students, one of them
hostile) reports both throughputs, every row, and rows equal to grading alone."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_batch_quick_reports_its_figures(tmp_path):
    figures_file = tmp_path / "figures.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_batch.py"), "--quick",
                          "--json", str(figures_file)], capture_output=True, text=True,
                         timeout=900, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(figures_file.read_text())
    assert figures["students"] == 5
    assert figures["whole mix"]["submissions"] == figures["whole mix"]["rows"] == 5
    assert figures["non-hostile part"]["rows"] == 4
    for label in ("whole mix", "non-hostile part"):
        assert figures[label]["per_minute"] > 0 and figures[label]["target"] in (">= 40", ">= 60")
        assert f"{figures[label]['per_minute']:.1f}" in run.stdout
    assert figures["alone"] == {"compared": 2, "different": []}
    assert "1 hostile" in run.stdout and "all equal" in run.stdout
    assert 0 < figures["parent_peak_mb"] < 500
