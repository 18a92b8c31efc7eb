"""Train your Seq2Seq encoder-decoder to reverse strings of digits ("2024" -> "4202").

Run from the repository root, once `layerlab check a3 --task a3.seq2seq` passes:

    python -m assignments.a3_rnn.train_seq2seq [--cell rnn|lstm|gru|all] [--steps 400]

This runs YOUR code directly (no sandbox): your model and your train_seq2seq (with your layers,
clipping and Adam) on fresh minibatches of reversal pairs, strings of 3 to 6 digits by default.
A progress bar counts the steps; every 100 steps the share of 500 new strings that the model
reverses exactly (its greedy translation, <END> included) is printed, and at the end a few of
them with their translations. `--cell all` (the default) trains the three cells in turn and
compares them. The grade runs the same training (400 steps, hidden size 64) for each cell and
reads the translations itself.
"""

import argparse
import time

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import reversal
from .seq2seq import Seq2Seq, train_seq2seq

GOAL = 0.65  # the exact-match share the grade asks every cell for (lengths 3 to 6, 400 steps)
REPORT_EVERY = 100


def exact_match(model, src, tgt) -> tuple[float, np.ndarray]:
    """The share of sources whose greedy translation is the target exactly, and the
    translations."""
    out = model.translate(src, tgt.shape[1])
    return float(np.mean(np.all(out == tgt, axis=1))), out


def run(cell: str, validation, args, progress: Progress):
    """Train one model; returns it, its exact match and the seconds it took."""
    model = Seq2Seq(len(reversal.TOKENS), args.wordvec, args.hidden, cell, seed=args.seed)
    bar = progress.add_task(f"{cell.upper():>4}", total=args.steps, status="")
    recent, last = [], [float("nan")]

    def on_step(i, loss):
        recent.append(loss)
        progress.update(bar, advance=1, status=f"loss {loss:.3f}")
        if (i + 1) % REPORT_EVERY == 0 or i + 1 == args.steps:
            last[0], _ = exact_match(model, *validation)
            progress.console.print(f"{cell}: step {i + 1}/{args.steps}: loss "
                                   f"{np.mean(recent):.3f}, reversed exactly {last[0]:.3f}",
                                   highlight=False)
            recent.clear()

    started = time.perf_counter()
    train_seq2seq(model, args.steps, batch_size=args.batch_size, min_length=args.min_length,
                  max_length=args.max_length, learning_rate=args.learning_rate, seed=args.seed,
                  on_step=on_step)
    return model, last[0], time.perf_counter() - started


def show_examples(console: Console, results: dict, validation, count: int) -> None:
    """The first `count` validation strings and what each trained cell makes of them."""
    src, tgt = validation[0][:count], validation[1][:count]
    console.print(f"\nthe first {count} new strings, and their translations:", highlight=False)
    for cell, (model, _, _) in results.items():
        _, out = exact_match(model, src, tgt)
        pairs = [f"{s} -> {t}" + ("" if t == r else " ✗") for s, t, r in
                 zip(reversal.to_text(src), reversal.to_text(out), reversal.to_text(tgt),
                     strict=True)]
        console.print(f"{cell:>4}: " + "   ".join(pairs), highlight=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=("rnn", "lstm", "gru", "all"), default="all")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--min-length", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=6)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--wordvec", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=5e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=3,
                        help="validation strings to show with their translations (default 3)")
    args = parser.parse_args()
    if min(args.steps, args.batch_size, args.min_length, args.hidden, args.wordvec) < 1:
        parser.error("--steps, --batch-size, --min-length, --hidden and --wordvec must be at "
                     "least 1")
    if args.max_length < args.min_length:
        parser.error("--max-length must be at least --min-length")

    validation = reversal.reversal_pairs(500, args.min_length, args.max_length,
                                         seed=args.seed + 1_000_000)
    cells = ("rnn", "lstm", "gru") if args.cell == "all" else (args.cell,)
    console = Console()
    results = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[status]}"))
    with Progress(*columns, console=console, transient=False) as progress:
        for cell in cells:
            results[cell] = run(cell, validation, args, progress)
    show_examples(console, results, validation, args.examples)
    summary = Table(title=f"{args.min_length}-{args.max_length} digits, {args.steps} steps",
                    title_justify="left")
    summary.add_column("cell")
    summary.add_column("exact match", justify="right")
    summary.add_column("seconds", justify="right")
    for cell, (_, match, seconds) in results.items():
        summary.add_row(cell, f"{match:.3f}", f"{seconds:.1f}")
    console.print(summary)
    for cell, (_, match, _) in results.items():
        print(f"final exact match ({cell}): {match:.3f}")
    print(f"(the grade trains each cell for 400 steps on strings of 3 to 6 digits and asks for "
          f"{GOAL})")


if __name__ == "__main__":
    try:
        main()
    except NotImplementedError as exc:
        raise SystemExit(f"not implemented yet: {exc} "
                         f"(see README.md, then `layerlab check a3`)") from None
