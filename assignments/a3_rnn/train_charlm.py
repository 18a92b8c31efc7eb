"""Train your CharLM on the grammar's text and watch its loss approach the entropy rate.

Run from the repository root, once `layerlab check a3 --task a3.charlm` passes:

    python -m assignments.a3_rnn.train_charlm [--cell lstm] [--layers 2] [--iterations 200]
                                              [--plot loss.png]

This runs YOUR code directly (no sandbox): your CharLM on your layers, trained by your
train_tbptt. A progress bar counts the iterations and shows the loss; at the end the script
measures the loss on a validation text from the same grammar (grammar.evaluate) and sets it
against the grammar's entropy rate, the lowest loss any model can reach, then prints what the
model writes, greedy and at a temperature. `--plot loss.png` also saves the loss of every
iteration against the entropy rate as a picture (it needs matplotlib: pip install -e '.[plot]').
The defaults are the graded run, which the grade repeats on its own for each cell.
"""

import argparse
import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from threadpoolctl import threadpool_limits

from .. import training_plot
from . import grammar
from .language_model import CharLM, train_tbptt

MARGIN = 0.04  # the grade asks for a validation loss within this of the entropy rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="lstm")
    parser.add_argument("--layers", type=int, choices=[1, 2], default=1)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=25)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="FILE.png",
                        help="save the loss curve to this picture (needs matplotlib)")
    args = parser.parse_args()
    if args.plot and (problem := training_plot.problem(args.plot)):
        parser.error(problem)  # before training, not after

    with threadpool_limits(1):  # products this small run slower on several BLAS threads
        train_and_report(args)


def train_and_report(args) -> None:
    """Train the model the options describe, then print its validation loss and samples."""
    V, rate = len(grammar.CHARS), grammar.entropy_rate()
    train_text = grammar.encode(grammar.generate(args.batch_size * 1001, seed=2024 + args.seed))
    validation = grammar.encode(grammar.generate(40_000, seed=2026))
    model = CharLM(V, 16, args.hidden, args.cell, args.layers, seed=args.seed)
    print(f"{args.cell} x {args.layers}, H = {args.hidden}: {len(train_text)} characters of "
          f"{V} kinds in {args.batch_size} streams, chunks of {args.seq_len}; the grammar's "
          f"entropy rate is {rate:.4f} nats per character")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn())
    started = time.perf_counter()
    with Progress(*columns) as progress:
        bar = progress.add_task("training", total=args.iterations, loss="-")

        def on_step(i, loss):
            progress.update(bar, advance=1, loss=f"{loss:.4f}")

        losses = train_tbptt(model, train_text, args.seq_len, args.batch_size, args.iterations,
                             learning_rate=args.learning_rate, on_step=on_step)
    loss = grammar.evaluate(model, validation, streams=40)
    print(f"validation loss {loss:.4f} nats per character in "
          f"{time.perf_counter() - started:.1f} s; entropy rate {rate:.4f}, gap "
          f"{loss - rate:.4f} (the grade asks for at most {MARGIN}; the grammar itself scores "
          f"{grammar.source_loss(grammar.decode(validation)):.4f} on this text)")
    start = grammar.INDEX["."]
    print(f"greedy:           .{grammar.decode(model.sample(start, 100))}")
    print(f"temperature {args.temperature:<4g}: "
          f".{grammar.decode(model.sample(start, 100, args.temperature, seed=args.seed))}")
    if args.plot:
        title = f"a3 CharLM, {args.cell} x {args.layers}, H = {args.hidden}"
        plot_losses(args.plot, losses, rate, loss, title)
        print(f"saved the training curve to {args.plot}")


def plot_losses(target, losses, rate, validation, title):
    """The loss of every iteration, the entropy rate and the grade's bound, the final
    validation loss."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)  # off-screen: no display, no pyplot state
    axes = figure.subplots()
    axes.plot(range(1, len(losses) + 1), losses, lw=0.8, color="tab:blue", label="training chunk")
    axes.axhline(rate, color="black", lw=1, label=f"entropy rate {rate:.3f}")
    axes.axhline(rate + MARGIN, color="gray", ls="--", lw=1,
                 label=f"grade asks for {rate + MARGIN:.3f}")
    axes.plot([len(losses)], [validation], "o", color="tab:red",
              label=f"validation {validation:.3f}")
    axes.set_ylim(0, max(losses[0], 1.0) * 1.05)
    axes.set_xlabel("iteration (chunk)")
    axes.set_ylabel("loss (nats per character)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right")
    figure.savefig(target)
    return figure


if __name__ == "__main__":
    try:
        main()
    except NotImplementedError as exc:
        raise SystemExit(f"not implemented yet: {exc} "
                         f"(see README.md, then `layerlab check a3`)") from None
