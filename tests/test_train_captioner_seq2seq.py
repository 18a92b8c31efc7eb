"""The A3 captioner and seq2seq training scripts run end to end (here with the reference models),
briefly: progress, the per-epoch (per-100-step) accuracy, examples and the final figure."""

import re
import subprocess
import sys

import pytest

from assignments.a3_rnn import train_captioner as captioner_script
from assignments.a3_rnn import train_seq2seq as seq2seq_script
from solutions.a3_rnn import captioner, seq2seq


@pytest.fixture
def reference_captioner(monkeypatch):
    monkeypatch.setattr(captioner_script, "DigitCaptioner", captioner.DigitCaptioner)
    monkeypatch.setattr(captioner_script, "train_captioner", captioner.train_captioner)


@pytest.fixture
def reference_seq2seq(monkeypatch):
    monkeypatch.setattr(seq2seq_script, "Seq2Seq", seq2seq.Seq2Seq)
    monkeypatch.setattr(seq2seq_script, "train_seq2seq", seq2seq.train_seq2seq)


def final(out: str, what: str) -> dict[str, float]:
    return {cell: float(value) for cell, value in re.findall(rf"final {what} \((\w+)\): (\S+)",
                                                             out)}


def test_captioner_script_spells_and_shows_digits(reference_captioner, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["train_captioner", "--cell", "all", "--epochs", "2"])
    captioner_script.main()
    out = capsys.readouterr().out
    assert out.count("names spelled right") == 3 * 2  # every epoch of every cell
    accuracy = final(out, "name accuracy")
    assert set(accuracy) == {"rnn", "lstm", "gru"} and min(accuracy.values()) > 0.5
    assert accuracy["rnn"] > 0.8
    pictures = out.split("what each cell spells:\n", 1)[1].splitlines()
    assert all(len(line) > 60 for line in pictures[:8])  # 4 digits of 8 rows side by side
    for cell, line in zip(("rnn", "lstm", "gru"), pictures[8:11], strict=True):
        assert line.endswith(f" {cell}") and "zero" in line  # the first validation digit is 0


def test_seq2seq_script_reverses_and_shows_examples(reference_seq2seq, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["train_seq2seq", "--cell", "rnn", "--steps", "200",
                                      "--min-length", "1", "--max-length", "3",
                                      "--learning-rate", "1e-2"])
    seq2seq_script.main()
    out = capsys.readouterr().out
    assert out.count("reversed exactly") == 2  # at steps 100 and 200
    assert final(out, "exact match")["rnn"] > 0.5
    examples = re.findall(r"(\d+) -> (\d*)", out.split("their translations:", 1)[1])
    assert len(examples) == 3 and all(1 <= len(src) <= 3 for src, _ in examples)


def test_seq2seq_script_refuses_lengths_the_wrong_way_round(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["train_seq2seq", "--min-length", "5", "--max-length", "3"])
    with pytest.raises(SystemExit) as exited:
        seq2seq_script.main()
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        "error: --max-length must be at least --min-length")


@pytest.mark.parametrize("script", [captioner_script, seq2seq_script], ids=["captioner", "seq2seq"])
def test_scripts_explain_unfinished_stubs(script):
    # run as the handout says (python -m ...), on the untouched stubs
    proc = subprocess.run([sys.executable, "-m", script.__name__, "--cell", "rnn"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "not implemented yet: a3." in proc.stderr and "layerlab check a3" in proc.stderr
