"""The A5 GAN script runs end to end (here with the reference model), briefly: the scores and
the text scatter always, the PNG when matplotlib is installed, a note without it, and a clear
message on the untouched stubs."""

import subprocess
import sys

import numpy as np
import pytest

from assignments.a5_beyond import nets
from assignments.a5_beyond import train_gan as script
from solutions.a5_beyond import models


@pytest.fixture
def reference_model(monkeypatch):
    monkeypatch.setattr(script, "TinyGAN", models.TinyGAN)
    monkeypatch.setattr(script, "train_gan", models.train_gan)


def scatter_rows(out: str) -> list[str]:
    lines = out.splitlines()
    top = lines.index("+" + "-" * 41 + "+")
    return lines[top + 1:top + 22]


def test_saves_a_png_with_matplotlib(reference_model, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "ring.png"
    script.main(["--epochs", "3", "--png", str(target)])
    out = capsys.readouterr().out
    assert "60/60" in out and "modes covered: " in out and "the grade asks for 6 modes" in out
    assert f"saved {target}" in out
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = scatter_rows(out)
    assert len(rows) == 21 and all(len(row) == 43 and row[0] == row[-1] == "|" for row in rows)


def test_text_only_without_matplotlib(reference_model, monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib... fails
    for name in [m for m in sys.modules if m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    target = tmp_path / "ring.png"
    script.main(["--epochs", "1", "--png", str(target)])
    out = capsys.readouterr().out
    assert "matplotlib is not installed" in out and not target.exists()
    assert len(scatter_rows(out)) == 21


def test_text_scatter_marks_the_samples_and_the_empty_modes():
    modes = nets.ring_modes()
    text = script.text_scatter(np.repeat(modes[:1], 10, axis=0))  # all at the mode (2, 0)
    rows = text.splitlines()[1:-1]
    assert sum(row.count("o") for row in rows) == 7  # the 7 other modes, empty
    assert sum(row.count("@") for row in rows) == 1  # the 10 samples, in one cell
    assert rows[10].endswith("@" + " " * 4 + "|")  # x = 2: column 36 of 41, the middle row


def test_explains_unfinished_stubs():
    proc = subprocess.run([sys.executable, "-m", script.__name__, "--epochs", "1", "--text"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "not implemented yet: a5.gan" in proc.stderr and "layerlab check a5" in proc.stderr
