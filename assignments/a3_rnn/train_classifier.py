"""Train your SequenceClassifier on the long-range task: the RNN fails where the LSTM succeeds.

Run from the repository root, once `layerlab check a3 --task a3.classifier` passes:

    python -m assignments.a3_rnn.train_classifier [--cell rnn|lstm|gru|all] [--T 50]

This runs YOUR code directly (no sandbox): your classifier and your train_classifier (with
your layers, clipping and Adam) on 2000 sequences of the long-range task, where the class is
the first of T symbols and the other T - 1 are noise. A progress bar counts the minibatches and
the validation accuracy on 1000 fresh sequences is printed after every epoch; chance is 0.25.
`--cell all` (the default) trains the three cells in turn and compares them. The grade trains
the LSTM at T = 50 on its own and measures the validation accuracy itself.
"""

import argparse
import time

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .classifier import SequenceClassifier, train_classifier
from .long_range import accuracy, make_sequences

CLASSES, NOISE = 4, 8
WORDVEC, HIDDEN = 8, 32
TRAIN, VALIDATION, BATCH = 2000, 1000, 32
GOAL = 0.95  # the validation accuracy the grade asks of the LSTM at T = 50


def run(cell: str, args, progress: Progress) -> tuple[float, float]:
    """Train one classifier; returns its final validation accuracy and the seconds it took."""
    x, y = make_sequences(TRAIN, args.T, CLASSES, NOISE, seed=args.seed)
    x_val, y_val = make_sequences(VALIDATION, args.T, CLASSES, NOISE, seed=args.seed + 1)
    model = SequenceClassifier(CLASSES + NOISE, CLASSES, WORDVEC, HIDDEN, cell, seed=args.seed)
    per_epoch = -(-TRAIN // BATCH)
    bar = progress.add_task(f"{cell.upper():>4} T={args.T}", total=args.epochs * per_epoch,
                            status="")
    epoch_losses, last = [], [float("nan")]

    def on_step(i, loss):
        epoch_losses.append(loss)
        progress.update(bar, advance=1, status=f"loss {loss:.3f}")
        if (i + 1) % per_epoch == 0:
            last[0] = accuracy(model, x_val, y_val)
            progress.console.print(f"{cell}: epoch {(i + 1) // per_epoch}/{args.epochs}: loss "
                                   f"{np.mean(epoch_losses):.3f}, val acc {last[0]:.3f}",
                                   highlight=False)
            epoch_losses.clear()

    started = time.perf_counter()
    train_classifier(model, x, y, epochs=args.epochs, batch_size=BATCH,
                     learning_rate=args.learning_rate, seed=args.seed, on_step=on_step)
    return last[0], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=("rnn", "lstm", "gru", "all"), default="all")
    parser.add_argument("--T", type=int, default=50, help="sequence length (default 50)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=5e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.T < 1 or args.epochs < 1:
        parser.error("--T and --epochs must be at least 1")

    cells = ("rnn", "lstm", "gru") if args.cell == "all" else (args.cell,)
    console = Console()
    results = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[status]}"))
    with Progress(*columns, console=console, transient=False) as progress:
        for cell in cells:
            results[cell] = run(cell, args, progress)
    summary = Table(title=f"T = {args.T}, {args.epochs} epochs", title_justify="left")
    summary.add_column("cell")
    summary.add_column("val acc", justify="right")
    summary.add_column("seconds", justify="right")
    for cell, (acc, seconds) in results.items():
        summary.add_row(cell, f"{acc:.3f}", f"{seconds:.1f}")
    console.print(summary)
    for cell, (acc, _) in results.items():
        print(f"final validation accuracy ({cell}): {acc:.3f}")
    print(f"(chance is {1 / CLASSES:.2f}; the grade trains the LSTM at T = 50 and asks for "
          f"{GOAL})")


if __name__ == "__main__":
    try:
        main()
    except NotImplementedError as exc:
        raise SystemExit(f"not implemented yet: {exc} "
                         f"(see README.md, then `layerlab check a3`)") from None
