"""Train your DigitCaptioner to spell the name of an 8x8 digit, one letter at a time.

Run from the repository root, once `layerlab check a3 --task a3.captioner` passes:

    python -m assignments.a3_rnn.train_captioner [--cell rnn|lstm|gru|all] [--epochs 8]

This runs YOUR code directly (no sandbox): your captioner and your train_captioner (with your
layers, clipping and Adam) on the 1500 training digits of scikit-learn's bundled set. A
progress bar counts the minibatches; after every epoch the share of the 297 validation digits
whose name the model spells exactly (its greedy caption, up to <END>) is printed, and at the
end a few validation digits as pictures with what the model spells for them. `--cell all`
(the default) trains the three cells in turn and compares them. The grade runs the same
training (8 epochs, hidden size 32) for each cell and reads the names itself.
"""

import argparse
import time

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import digit_names
from .captioner import DigitCaptioner, train_captioner

BATCH = 50
GOAL = 0.85  # the share of validation digits the grade asks every cell to spell right


def name_accuracy(model, X, y) -> tuple[float, list[str]]:
    """The share of images whose greedy caption is their name, and the spelled words."""
    words = digit_names.decode(model.sample(X, digit_names.MAX_LENGTH))
    return float(np.mean([w == digit_names.NAMES[label] for w, label in zip(words, y,
                                                                             strict=True)])), words


def run(cell: str, data: dict, args, progress: Progress):
    """Train one captioner; returns it, its validation accuracy and the seconds it took."""
    model = DigitCaptioner(digit_names.VOCAB, 64, args.wordvec, args.hidden, cell,
                           seed=args.seed)
    per_epoch = -(-len(data["X_train"]) // BATCH)
    bar = progress.add_task(f"{cell.upper():>4}", total=args.epochs * per_epoch, status="")
    epoch_losses, last = [], [float("nan")]

    def on_step(i, loss):
        epoch_losses.append(loss)
        progress.update(bar, advance=1, status=f"loss {loss:.3f}")
        if (i + 1) % per_epoch == 0:
            last[0], _ = name_accuracy(model, data["X_val"], data["y_val"])
            progress.console.print(f"{cell}: epoch {(i + 1) // per_epoch}/{args.epochs}: loss "
                                   f"{np.mean(epoch_losses):.3f}, names spelled right "
                                   f"{last[0]:.3f}", highlight=False)
            epoch_losses.clear()

    started = time.perf_counter()
    train_captioner(model, data["X_train"], data["captions_train"], epochs=args.epochs,
                    batch_size=BATCH, learning_rate=args.learning_rate, seed=args.seed,
                    on_step=on_step)
    return model, last[0], time.perf_counter() - started


def show_examples(console: Console, results: dict, data: dict, count: int) -> None:
    """The first `count` validation digits side by side, and under them what each trained
    cell spells for them (a wrong one marked, with the digit's name)."""
    X, y = data["X_val"][:count], data["y_val"][:count]
    console.print(f"\nthe first {count} validation digits, and what each cell spells:",
                  highlight=False)
    pictures = [digit_names.picture(x).splitlines() for x in X]
    for row in zip(*pictures, strict=True):
        console.print("   ".join(row), highlight=False)
    for cell, (model, _, _) in results.items():
        _, words = name_accuracy(model, X, y)
        names = [digit_names.NAMES[label] for label in y]
        cells = [w if w == name else f"{w} ✗ {name}" for w, name in zip(words, names,
                                                                         strict=True)]
        console.print("   ".join(f"{c:<16.16}" for c in cells) + f" {cell}", highlight=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=("rnn", "lstm", "gru", "all"), default="all")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--wordvec", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=4,
                        help="validation digits to show with their captions (default 4)")
    args = parser.parse_args()
    if args.epochs < 1 or args.hidden < 1 or args.wordvec < 1:
        parser.error("--epochs, --hidden and --wordvec must be at least 1")

    data = digit_names.load_digit_captions()
    cells = ("rnn", "lstm", "gru") if args.cell == "all" else (args.cell,)
    console = Console()
    results = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[status]}"))
    with Progress(*columns, console=console, transient=False) as progress:
        for cell in cells:
            results[cell] = run(cell, data, args, progress)
    show_examples(console, results, data, args.examples)
    summary = Table(title=f"H = {args.hidden}, {args.epochs} epochs", title_justify="left")
    summary.add_column("cell")
    summary.add_column("names right", justify="right")
    summary.add_column("seconds", justify="right")
    for cell, (_, accuracy, seconds) in results.items():
        summary.add_row(cell, f"{accuracy:.3f}", f"{seconds:.1f}")
    console.print(summary)
    for cell, (_, accuracy, _) in results.items():
        print(f"final name accuracy ({cell}): {accuracy:.3f}")
    print(f"(the grade trains each cell for 8 epochs at hidden size 32 and asks for {GOAL})")


if __name__ == "__main__":
    try:
        main()
    except NotImplementedError as exc:
        raise SystemExit(f"not implemented yet: {exc} "
                         f"(see README.md, then `layerlab check a3`)") from None
