"""The students' digits training scripts run end to end (here with the reference networks),
with and without --plot."""

import subprocess
import sys

import numpy as np
import pytest

from assignments import training_plot
from assignments.a1_networks import train_digits as a1_script
from assignments.a2_cnn import train_digits as a2_script
from solutions.a1_networks import fc_net
from solutions.a2_cnn import cnn

SCRIPTS = [(a1_script, fc_net.FullyConnectedNet, fc_net.train),
           (a2_script, cnn.ThreeLayerConvNet, cnn.train)]
BATCH_SIZE = {a1_script: 100, a2_script: 50}  # minibatches of the 1500 training digits


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


@pytest.mark.parametrize("script,model,train", SCRIPTS, ids=["a1", "a2"])
def test_plot_option_saves_the_loss_of_every_minibatch_and_the_history(
        monkeypatch, capsys, tmp_path, script, model, train):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(script, model.__name__, model)
    monkeypatch.setattr(script, "train", train)
    drawn = []

    def spy(target, history, losses, **kwargs):
        drawn.append((history, list(losses)))
        return real_plot(target, history, losses, **kwargs)

    real_plot = training_plot.plot_training
    monkeypatch.setattr(training_plot, "plot_training", spy)
    target = tmp_path / "loss.png"
    monkeypatch.setattr(sys, "argv", ["train_digits", "--epochs", "2", "--plot", str(target)])
    script.main()
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 20_000
    assert f"saved the training curves to {target}" in capsys.readouterr().out
    (history, losses), = drawn
    per_epoch = len(losses) // 2
    assert len(losses) == 2 * per_epoch == 2 * -(-1500 // BATCH_SIZE[script])
    epochs = [np.mean(losses[:per_epoch]), np.mean(losses[per_epoch:])]
    assert history["loss"] == pytest.approx(epochs)


@pytest.mark.parametrize("script", [a1_script, a2_script], ids=["a1", "a2"])
def test_plot_without_matplotlib_fails_with_exit_2_before_training(monkeypatch, capsys, script):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    monkeypatch.setattr(script, "load_digits", lambda: pytest.fail("training started"))
    monkeypatch.setattr(sys, "argv", ["train_digits", "--plot", "loss.png"])
    with pytest.raises(SystemExit) as exited:
        script.main()
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        "error: --plot needs matplotlib: pip install -e '.[plot]'")
