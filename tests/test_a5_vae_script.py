"""The A5 autoencoder/VAE script runs end to end (here with the reference models), briefly: the
PNG grid when matplotlib is installed, the text grid without it, and a clear message on the
untouched stubs."""

import subprocess
import sys

import pytest

from assignments.a5_beyond import train_vae as script
from solutions.a5_beyond import generative, models


@pytest.fixture
def reference_models(monkeypatch):
    monkeypatch.setattr(script, "VAE", models.VAE)
    monkeypatch.setattr(script, "train_vae", models.train_vae)
    monkeypatch.setattr(script, "gaussian_kl", generative.gaussian_kl)


def test_saves_a_png_grid_with_matplotlib(reference_models, monkeypatch, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "grid.png"
    monkeypatch.setattr(sys, "argv", ["train_vae", "--epochs", "2", "--png", str(target)])
    script.main()
    out = capsys.readouterr().out
    assert "autoencoder: loss" in out and "VAE: loss" in out and ", KL " in out
    assert f"saved {target}" in out
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_prints_a_text_grid_without_matplotlib(reference_models, monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib... fails
    for name in [m for m in sys.modules if m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    target = tmp_path / "grid.png"
    monkeypatch.setattr(sys, "argv", ["train_vae", "--epochs", "1", "--png", str(target)])
    script.main()
    out = capsys.readouterr().out
    assert "matplotlib is not installed" in out and not target.exists()
    text = out.split("validation digits:\n", 1)[1]
    rows = text.splitlines()[:8]
    assert len(rows) == 8 and all(len(row) == 8 * 8 + 7 * 2 for row in rows)
    assert "VAE samples:" in out


def test_explains_unfinished_stubs():
    proc = subprocess.run([sys.executable, "-m", script.__name__, "--epochs", "1", "--text"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "not implemented yet: a5." in proc.stderr and "layerlab check a5" in proc.stderr
