"""The A3 classifier's scripts run end to end (here on the reference code): the training script
with its progress and summary, and the vanishing-gradient table, with and without --png."""

import re
import subprocess
import sys

import pytest

from assignments.a3_rnn import train_classifier as training_script
from assignments.a3_rnn import vanishing_gradients as gradient_script
from solutions.a3_rnn import classifier, long_range, model_utils, rnn_layers


@pytest.fixture
def reference(monkeypatch):
    """Both scripts on the reference classifier, layers and given code."""
    for script in (training_script, gradient_script):
        monkeypatch.setattr(script, "SequenceClassifier", classifier.SequenceClassifier)
        monkeypatch.setattr(script, "make_sequences", long_range.make_sequences)
    monkeypatch.setattr(training_script, "train_classifier", classifier.train_classifier)
    monkeypatch.setattr(training_script, "accuracy", long_range.accuracy)
    monkeypatch.setattr(gradient_script, "hidden_gradient_norms", long_range.hidden_gradient_norms)
    monkeypatch.setattr(gradient_script, "model_utils", model_utils)
    monkeypatch.setattr(gradient_script, "rnn_layers", rnn_layers)


def final_accuracies(out: str) -> dict[str, float]:
    return {cell: float(acc) for cell, acc in
            re.findall(r"^final validation accuracy \((\w+)\): ([\d.]+)$", out, re.MULTILINE)}


def test_training_script_lstm_learns_and_reports_every_epoch(reference, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["train_classifier", "--cell", "lstm", "--T", "8",
                                      "--epochs", "2"])
    training_script.main()
    out = capsys.readouterr().out
    assert re.findall(r"^lstm: epoch (\d)/2: loss [\d.]+, val acc [\d.]+$", out, re.M) == ["1", "2"]
    assert "63/63" not in out and "126/126" in out  # one bar over both epochs of 63 batches
    assert final_accuracies(out)["lstm"] > 0.9


def test_training_script_compares_the_three_cells(reference, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["train_classifier", "--T", "3", "--epochs", "1"])
    training_script.main()
    out = capsys.readouterr().out
    assert set(final_accuracies(out)) == {"rnn", "lstm", "gru"}
    assert "the grade trains the LSTM at T = 50 and asks for 0.95" in out


def test_vanishing_gradient_table_shows_every_step_and_the_rnn_fading(reference, monkeypatch,
                                                                     capsys):
    monkeypatch.setattr(sys, "argv", ["vanishing_gradients", "--T", "12", "--batch", "30"])
    gradient_script.main()
    out = capsys.readouterr().out
    rows = re.findall(r"^\s*(\d+)\s+(\d\.\de-\d\d) █+\s+(\d\.\de-\d\d) █+", out, re.M)
    assert [int(t) for t, _, _ in rows] == list(range(11, -1, -1))
    ratios = dict(re.findall(r"^(.+): \|\|dL/dh_0\|\| / \|\|dL/dh_11\|\| = (\S+),", out, re.M))
    assert set(ratios) == {"RNN", "LSTM", "GRU", "LSTM, b_f = 0"}
    assert float(ratios["RNN"]) < 1e-2 < float(ratios["LSTM"])
    assert float(rows[-1][1]) / float(rows[0][1]) == pytest.approx(float(ratios["RNN"]), rel=0.2)
    assert re.search(r"^RNN: largest singular value of W_hh \d\.\d\d, spectral radius", out, re.M)


def test_vanishing_gradient_png(reference, monkeypatch, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "gradients.png"
    monkeypatch.setattr(sys, "argv", ["vanishing_gradients", "--T", "6", "--batch", "10",
                                      "--png", str(target)])
    gradient_script.main()
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 20_000
    assert f"saved the curves to {target}" in capsys.readouterr().out


def test_png_without_matplotlib_fails_with_exit_2_before_the_work(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    monkeypatch.setattr(gradient_script, "measure", lambda *a: pytest.fail("measured"))
    monkeypatch.setattr(sys, "argv", ["vanishing_gradients", "--png", "gradients.png"])
    with pytest.raises(SystemExit) as exited:
        gradient_script.main()
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        "error: --png needs matplotlib: pip install -e '.[plot]'")


@pytest.mark.parametrize("script", [training_script, gradient_script],
                         ids=["train_classifier", "vanishing_gradients"])
def test_scripts_explain_unfinished_stubs(script):
    # run as the handout says (python -m ...), on the untouched stubs
    proc = subprocess.run([sys.executable, "-m", script.__name__, "--T", "3"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "not implemented yet: a3." in proc.stderr and "layerlab check a3" in proc.stderr
