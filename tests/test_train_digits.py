"""The students' digits training script runs end to end (here with the reference network)."""

import sys

from assignments.a1_networks import train_digits
from solutions.a1_networks import fc_net


def test_script_trains_and_reports_validation_accuracy(monkeypatch, capsys):
    monkeypatch.setattr(train_digits, "FullyConnectedNet", fc_net.FullyConnectedNet)
    monkeypatch.setattr(train_digits, "train", fc_net.train)
    monkeypatch.setattr(sys, "argv", ["train_digits", "--epochs", "3"])
    train_digits.main()
    out = capsys.readouterr().out
    assert out.count("val acc") == 3
    accuracy = float(out.rsplit("final validation accuracy:", 1)[1].split()[0])
    assert accuracy > 0.85
