"""The picture of a training run: the loss per iteration, the accuracies per epoch.

The digits training scripts save it with ``--plot FILE.png``. It is the first thing to look at
when a network does not learn: a loss that does not fall (learning rate too small or a wrong
gradient), one that jumps or becomes nan (too large), or a validation accuracy that stalls
while the training accuracy climbs (overfitting).

Drawing needs matplotlib (``pip install -e '.[plot]'``), imported only when a plot is asked
for; :func:`problem` says before training whether a plot can be saved, so that a missing
package costs no training time. The figure is drawn off-screen (Agg): no display is needed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MISSING = "--plot needs matplotlib: pip install -e '.[plot]'"
FORMATS = (".png", ".pdf", ".svg")


def problem(target: str | os.PathLike[str]) -> str | None:
    """Why a plot cannot be saved to ``target`` (None if it can), checked before training."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return MISSING
    target = Path(target)
    if target.suffix.lower() not in FORMATS:
        return f"--plot: {target} should end in {', '.join(FORMATS)}"
    if not target.resolve().parent.is_dir():
        return f"--plot: folder {target.parent} does not exist"
    return None


def plot_training(target: str | os.PathLike[str], history: Mapping[str, Sequence[float]],
                  iteration_losses: Sequence[float] = (), *, title: str = "",
                  goal: float | None = None) -> Figure:
    """Save the loss (left) and the accuracies (right) of one training run to ``target``.

    - history: what ``train()`` returned: per epoch 'loss', 'train_acc' and 'val_acc'
      (a missing key leaves its curve out)
    - iteration_losses: the loss of every minibatch; without it the loss is drawn per epoch
    - title: the figure's title, e.g. the model and update rule
    - goal: the validation accuracy the grade asks for, drawn as a dashed line

    Returns the drawn matplotlib Figure.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)  # off-screen: no display, no pyplot state
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    _draw_loss(loss_axes, history.get("loss", []), iteration_losses)
    _draw_accuracy(accuracy_axes, history.get("train_acc", []), history.get("val_acc", []), goal)
    if title:
        figure.suptitle(title)
    figure.savefig(target)
    return figure


def _draw_loss(axes, epoch_losses: Sequence[float], iteration_losses: Sequence[float]) -> None:
    epoch_losses, iteration_losses = list(epoch_losses), list(iteration_losses)  # or arrays
    if iteration_losses:
        axes.plot(range(1, len(iteration_losses) + 1), iteration_losses, lw=0.8, alpha=0.6,
                  color="tab:blue", label="minibatch")
    if epoch_losses:
        per_epoch = len(iteration_losses) / len(epoch_losses) if iteration_losses else 1
        ends = [per_epoch * epoch for epoch in range(1, len(epoch_losses) + 1)]
        axes.plot(ends, epoch_losses, "o-", color="tab:red", ms=4, label="epoch mean")
    axes.set_title("training loss")
    axes.set_xlabel("iteration (minibatch)" if iteration_losses else "epoch")
    axes.set_ylabel("loss")
    axes.grid(alpha=0.3)
    _legend(axes, "upper right")


def _draw_accuracy(axes, train_acc: Sequence[float], val_acc: Sequence[float],
                   goal: float | None) -> None:
    from matplotlib.ticker import MaxNLocator

    train_acc, val_acc = list(train_acc), list(val_acc)  # or arrays
    for values, label, color in ((train_acc, "training", "tab:blue"),
                                 (val_acc, "validation", "tab:orange")):
        if values:
            axes.plot(range(1, len(values) + 1), values, "o-", ms=4, color=color, label=label)
    if goal is not None:
        axes.axhline(goal, ls="--", lw=1, color="gray", label=f"grade asks for {goal:g}")
    final = f" (final validation {val_acc[-1]:.3f})" if val_acc else ""
    axes.set_title("accuracy per epoch" + final)
    axes.set_xlabel("epoch")
    axes.set_ylabel("accuracy")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    _legend(axes, "lower right")


def _legend(axes, where: str) -> None:
    if axes.get_legend_handles_labels()[0]:  # an empty history draws no curve to name
        axes.legend(loc=where)
