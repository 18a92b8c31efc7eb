"""The students' digits training scripts run end to end (here with the reference networks)."""

import subprocess
import sys

import pytest

from assignments.a1_networks import train_digits as a1_script
from assignments.a2_cnn import train_digits as a2_script
from solutions.a1_networks import fc_net
from solutions.a2_cnn import cnn

SCRIPTS = [(a1_script, fc_net.FullyConnectedNet, fc_net.train),
           (a2_script, cnn.ThreeLayerConvNet, cnn.train)]


@pytest.mark.parametrize("script,model,train", SCRIPTS, ids=["a1", "a2"])
def test_script_trains_and_reports_validation_accuracy(monkeypatch, capsys, script, model, train):
    monkeypatch.setattr(script, model.__name__, model)
    monkeypatch.setattr(script, "train", train)
    monkeypatch.setattr(sys, "argv", ["train_digits", "--epochs", "3"])
    script.main()
    out = capsys.readouterr().out
    assert out.count("val acc") == 3
    accuracy = float(out.rsplit("final validation accuracy:", 1)[1].split()[0])
    assert accuracy > 0.85


def test_a2_script_explains_unfinished_stubs():
    # run as the handout says (python -m ...), on the untouched stubs
    proc = subprocess.run([sys.executable, "-m", a2_script.__name__, "--epochs", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "not implemented yet: " in proc.stderr and "layerlab check a2" in proc.stderr
