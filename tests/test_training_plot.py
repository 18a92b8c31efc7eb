"""The training scripts' picture: loss per iteration, accuracies per epoch
(assignments/training_plot)."""

import struct
import sys

import numpy as np
import pytest

from assignments import training_plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TAB = {"blue": (31, 119, 180), "orange": (255, 127, 14), "red": (214, 39, 40)}  # matplotlib's tab:


def synthetic_history(epochs: int = 6, per_epoch: int = 15):
    steps = np.arange(epochs * per_epoch)
    losses = 2.3 * np.exp(-steps / 20) + 0.05 * np.random.default_rng(0).random(steps.size)
    history = {"loss": [float(np.mean(losses[e * per_epoch:(e + 1) * per_epoch]))
                        for e in range(epochs)],
               "train_acc": list(np.linspace(0.6, 0.99, epochs)),
               "val_acc": list(np.linspace(0.55, 0.96, epochs))}
    return history, list(losses)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def has_colour(pixels: np.ndarray, rgb: tuple[int, int, int]) -> bool:
    return bool(np.any(np.all(np.abs(pixels[..., :3] * 255 - rgb) < 4, axis=-1)))


def test_plot_is_a_png_with_both_panels_titled_labelled_and_explained(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    target = tmp_path / "loss.png"
    history, losses = synthetic_history()
    figure = training_plot.plot_training(target, history, losses, title="a1 test run", goal=0.95)
    data = target.read_bytes()
    assert png_size(data) == (1100, 420) and len(data) > 20_000
    pixels = imread(target)
    assert all(has_colour(pixels, rgb) for rgb in TAB.values())  # every curve is drawn
    loss, accuracy = figure.axes
    assert (loss.get_title(), loss.get_xlabel(), loss.get_ylabel()) == (
        "training loss", "iteration (minibatch)", "loss")
    assert [t.get_text() for t in loss.get_legend().get_texts()] == ["minibatch", "epoch mean"]
    assert accuracy.get_title() == "accuracy per epoch (final validation 0.960)"
    assert (accuracy.get_xlabel(), accuracy.get_ylabel()) == ("epoch", "accuracy")
    assert [t.get_text() for t in accuracy.get_legend().get_texts()] == [
        "training", "validation", "grade asks for 0.95"]
    assert figure.get_suptitle() == "a1 test run"


def test_epoch_means_sit_at_the_last_iteration_of_their_epoch(tmp_path):
    pytest.importorskip("matplotlib")
    history, losses = synthetic_history(epochs=4, per_epoch=15)
    figure = training_plot.plot_training(tmp_path / "loss.png", history, losses)
    minibatch, epoch_mean = figure.axes[0].get_lines()
    assert list(minibatch.get_xdata()) == list(range(1, 61))
    assert list(epoch_mean.get_xdata()) == [15, 30, 45, 60]
    assert list(epoch_mean.get_ydata()) == history["loss"]


def test_without_iteration_losses_the_loss_is_drawn_per_epoch(tmp_path):
    pytest.importorskip("matplotlib")
    history, _ = synthetic_history(epochs=3)
    figure = training_plot.plot_training(tmp_path / "loss.png", {"loss": np.array(history["loss"])})
    (line,) = figure.axes[0].get_lines()
    assert list(line.get_xdata()) == [1, 2, 3] and figure.axes[0].get_xlabel() == "epoch"
    assert figure.axes[1].get_legend() is None  # no accuracy: nothing to name


def test_problem_says_why_a_plot_cannot_be_saved(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    assert training_plot.problem(tmp_path / "loss.png") is None
    assert training_plot.problem(tmp_path / "loss.jpeg") == (
        f"--plot: {tmp_path / 'loss.jpeg'} should end in .png, .pdf, .svg")
    missing = tmp_path / "nowhere"
    assert training_plot.problem(missing / "loss.png") == f"--plot: folder {missing} does not exist"


def test_problem_names_the_extra_to_install_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    assert training_plot.problem(tmp_path / "loss.png") == (
        "--plot needs matplotlib: pip install -e '.[plot]'")
