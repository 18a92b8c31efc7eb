"""The students' digits training scripts run end to end (here with the reference networks)."""

import sys

import pytest

from assignments.a1_networks import train_digits as a1_script
from assignments.a2_cnn import train_digits as a2_script
from solutions.a1_networks import fc_net
from solutions.a2_cnn import cnn

SCRIPTS = [(a1_script, "FullyConnectedNet", fc_net.FullyConnectedNet, fc_net.train, 0.85),
           (a2_script, "ThreeLayerConvNet", cnn.ThreeLayerConvNet, cnn.train, 0.85)]


@pytest.mark.parametrize("script,model_name,model,train,floor", SCRIPTS, ids=["a1", "a2"])
def test_script_trains_and_reports_validation_accuracy(monkeypatch, capsys, script, model_name,
                                                       model, train, floor):
    monkeypatch.setattr(script, model_name, model)
    monkeypatch.setattr(script, "train", train)
    monkeypatch.setattr(sys, "argv", ["train_digits", "--epochs", "3"])
    script.main()
    out = capsys.readouterr().out
    assert out.count("val acc") == 3
    accuracy = float(out.rsplit("final validation accuracy:", 1)[1].split()[0])
    assert accuracy > floor


def test_a2_script_explains_unfinished_stubs(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["train_digits", "--epochs", "1"])
    with pytest.raises(NotImplementedError, match="a2"):
        a2_script.main()
