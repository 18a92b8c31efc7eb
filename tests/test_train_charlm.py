"""The students' character-level language model script runs end to end (here with the reference
model and training loop), with and without --plot."""

import subprocess
import sys

import pytest

from assignments.a3_rnn import grammar
from assignments.a3_rnn import train_charlm as script
from solutions.a3_rnn import language_model


@pytest.fixture
def reference(monkeypatch):
    monkeypatch.setattr(script, "CharLM", language_model.CharLM)
    monkeypatch.setattr(script, "train_tbptt", language_model.train_tbptt)


def run(monkeypatch, capsys, *args) -> str:
    monkeypatch.setattr(sys, "argv", ["train_charlm", *args])
    script.main()
    return capsys.readouterr().out


def test_script_reports_the_loss_against_the_entropy_rate_and_samples(reference, monkeypatch,
                                                                      capsys):
    out = run(monkeypatch, capsys, "--cell", "gru", "--layers", "2", "--iterations", "30",
              "--hidden", "32")
    assert "gru x 2, H = 32" in out and "entropy rate is 0.3548 nats per character" in out
    assert "30/30" in out  # the progress bar got to the end
    loss = float(out.split("validation loss ", 1)[1].split()[0])
    assert grammar.entropy_rate() < loss < 2.0  # learning, not yet there after 30 iterations
    samples = [line[-101:] for line in out.splitlines()
               if line.startswith(("greedy:", "temperature 0.7"))]  # "." and 100 characters
    assert len(samples) == 2 and all(s[0] == "." and set(s) <= set(grammar.CHARS)
                                     for s in samples)


def test_script_explains_unfinished_stubs():
    proc = subprocess.run([sys.executable, "-m", script.__name__, "--iterations", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "not implemented yet: a3.charlm" in proc.stderr and "layerlab check a3" in proc.stderr


def test_plot_option_saves_the_loss_curve(reference, monkeypatch, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    drawn = []
    real = script.plot_losses

    def spy(target, losses, rate, validation, title):
        drawn.append((list(losses), rate, validation))
        return real(target, losses, rate, validation, title)

    monkeypatch.setattr(script, "plot_losses", spy)
    target = tmp_path / "loss.png"
    out = run(monkeypatch, capsys, "--cell", "rnn", "--iterations", "20", "--plot", str(target))
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 20_000
    assert f"saved the training curve to {target}" in out
    (losses, rate, validation), = drawn
    assert len(losses) == 20 and rate == grammar.entropy_rate()
    assert f"validation loss {validation:.4f}" in out


def test_plot_without_matplotlib_fails_with_exit_2_before_training(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    monkeypatch.setattr(script, "CharLM", lambda *a, **k: pytest.fail("training started"))
    monkeypatch.setattr(sys, "argv", ["train_charlm", "--plot", "loss.png"])
    with pytest.raises(SystemExit) as exited:
        script.main()
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        "error: --plot needs matplotlib: pip install -e '.[plot]'")
