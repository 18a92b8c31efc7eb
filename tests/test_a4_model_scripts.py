"""A4's model scripts run end to end with the reference models and layers: the ViT's attention
map in the terminal, with and without matplotlib for its PNG; the Mixer; the GPT's loss against
the entropy rate and its samples; the stubs' message."""

import subprocess
import sys

import numpy as np
import pytest

from assignments.a4_attention import grammar
from assignments.a4_attention import train_gpt as gpt_script
from assignments.a4_attention import train_vit as vit_script
from solutions.a4_attention import gpt, mixer, transformer_blocks, transformer_layers, vit


@pytest.fixture
def reference(monkeypatch):
    for name, module in (("vit", vit), ("mixer", mixer), ("transformer_layers",
                                                          transformer_layers),
                         ("transformer_blocks", transformer_blocks)):
        monkeypatch.setattr(vit_script, name, module)
    monkeypatch.setattr(gpt_script, "gpt", gpt)


def test_vit_script_prints_the_accuracy_and_the_attention_map(reference, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "attention.png"
    vit_script.main(["--epochs", "3", "--png", str(target)])
    out = capsys.readouterr().out
    assert "141/141" in out  # the progress bar got to the end: 3 epochs of 47 batches
    accuracy = float(out.split("validation accuracy ", 1)[1].split()[0])
    assert 0.5 < accuracy <= 1.0
    assert "attention of [CLS] over the patches" in out and out.count("digit ") == 4
    assert any(shade in out for shade in "░▒▓█")
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 10_000
    assert f"saved the attention map to {target}" in out


def test_vit_script_skips_the_png_without_matplotlib(reference, monkeypatch, capsys, tmp_path):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    target = tmp_path / "attention.png"
    vit_script.main(["--epochs", "1", "--png", str(target)])
    out = capsys.readouterr().out
    assert "attention of [CLS] over the patches" in out  # the terminal map still shows
    assert f"matplotlib is not installed: {target} not saved" in out
    assert not target.exists()


def test_cls_attention_rows_are_the_weights_over_the_patches(reference):
    model = vit.ViT(8, 2, 1, 10, 8, 2, 2, 16, seed=0)
    X = np.random.default_rng(0).random((3, 1, 8, 8))
    maps = vit_script.cls_attention(model, X)
    assert maps.shape == (3, 4, 4) and np.all(maps > 0)
    assert np.all(maps.sum(axis=(1, 2)) < 1.0)  # the rest is [CLS]'s weight on itself


def test_mixer_script_trains_without_a_map(reference, capsys):
    vit_script.main(["--model", "mixer", "--epochs", "2"])
    out = capsys.readouterr().out
    assert "94/94" in out and "validation accuracy" in out and "[CLS]" not in out


def test_gpt_script_reports_the_loss_against_the_entropy_rate(reference, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "loss.png"
    gpt_script.main(["--iterations", "40", "--depth", "1", "--plot", str(target)])
    out = capsys.readouterr().out
    assert "40/40" in out and "entropy rate is 0.3548 nats per character" in out
    loss = float(out.split("validation loss ", 1)[1].split()[0])
    assert grammar.entropy_rate() < loss < 2.5
    samples = [line[-101:] for line in out.splitlines()
               if line.startswith(("greedy:", "temperature 0.7"))]
    assert len(samples) == 2 and all(s[0] == "." and set(s) <= set(grammar.CHARS)
                                     for s in samples)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("script", [vit_script, gpt_script])
def test_scripts_explain_unfinished_stubs(script):
    proc = subprocess.run([sys.executable, "-m", script.__name__, "--epochs" if script is
                           vit_script else "--iterations", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "not implemented yet: a4." in proc.stderr and "layerlab check a4" in proc.stderr
