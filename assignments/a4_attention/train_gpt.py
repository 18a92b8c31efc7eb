"""Train your tiny GPT on the grammar's text and set its loss against the entropy rate.

Run from the repository root, once `layerlab check a4 --task a4.gpt` passes:

    python -m assignments.a4_attention.train_gpt [--iterations 300] [--depth 2] [--plot loss.png]

This runs YOUR code directly (no sandbox): your GPT on your layers, trained by your train_gpt
with the given Adam, on text written by A3's grammar (grammar.py, copied here). A progress bar
counts the iterations and shows the loss; at the end the script measures the loss on a
validation text (grammar.evaluate, windows of the context length) against the grammar's entropy
rate, the lowest loss any model can reach, and prints what the model writes, greedy and at a
temperature. `--plot loss.png` also saves the loss curve against the entropy rate (it needs
matplotlib: pip install -e '.[plot]'). The grade's own run is shorter (80 iterations, one
block): it asks only that the loss falls.
"""

import argparse
import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from threadpoolctl import threadpool_limits

from .. import training_plot
from . import gpt, grammar


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--seq-len", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="FILE.png",
                        help="save the loss curve to this picture (needs matplotlib)")
    args = parser.parse_args(argv)
    if args.plot and (problem := training_plot.problem(args.plot)):
        parser.error(problem)  # before training, not after
    with threadpool_limits(1):  # products this small run slower on several BLAS threads
        train_and_report(args)


def train_and_report(args) -> None:
    V, rate = len(grammar.CHARS), grammar.entropy_rate()
    data = grammar.encode(grammar.generate(50_000, seed=2024 + args.seed))
    validation = grammar.encode(grammar.generate(8_000, seed=2026))
    model = gpt.GPT(V, args.seq_len, args.dim, args.depth, args.heads, 2 * args.dim,
                    seed=args.seed)
    print(f"GPT, {args.depth} block(s), D = {args.dim}, {args.heads} heads, context "
          f"{args.seq_len}: {V} characters; the grammar's entropy rate is {rate:.4f} nats per "
          "character")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn())
    started = time.perf_counter()
    with Progress(*columns) as progress:
        bar = progress.add_task("training", total=args.iterations, loss="-")

        def on_step(i, loss):
            progress.update(bar, advance=1, loss=f"{loss:.4f}")

        losses = gpt.train_gpt(model, data, args.seq_len, args.batch_size, args.iterations,
                               learning_rate=args.learning_rate, seed=args.seed, on_step=on_step)
    loss = grammar.evaluate(model, validation, streams=10, seq_len=args.seq_len)
    print(f"validation loss {loss:.4f} nats per character in "
          f"{time.perf_counter() - started:.1f} s; entropy rate {rate:.4f}, gap {loss - rate:.4f} "
          f"(a window's first characters are guessed with little context)")
    start = grammar.INDEX["."]
    print(f"greedy:           .{grammar.decode(model.sample(start, 100))}")
    print(f"temperature {args.temperature:<4g}: "
          f".{grammar.decode(model.sample(start, 100, args.temperature, seed=args.seed))}")
    if args.plot:
        plot_losses(args.plot, losses, rate, loss, f"a4 GPT, {args.depth} block(s), D = {args.dim}")
        print(f"saved the training curve to {args.plot}")


def plot_losses(target, losses, rate, validation, title):
    """The loss of every iteration, the entropy rate and the final validation loss."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)  # off-screen: no display, no pyplot state
    axes = figure.subplots()
    axes.plot(range(1, len(losses) + 1), losses, lw=0.8, color="tab:blue", label="minibatch")
    axes.axhline(rate, color="black", lw=1, label=f"entropy rate {rate:.3f}")
    axes.plot([len(losses)], [validation], "o", color="tab:red",
              label=f"validation {validation:.3f}")
    axes.set_ylim(0, max(losses[0], 1.0) * 1.05)
    axes.set_xlabel("iteration")
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
                         f"(see README.md, then `layerlab check a4`)") from None
