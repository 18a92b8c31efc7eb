"""Watch the gradient vanish: the norm of dL/dh_t at every step t, RNN against LSTM and GRU.

Run from the repository root, once `layerlab check a3 --task a3.classifier` passes:

    python -m assignments.a3_rnn.vanishing_gradients [--T 50] [--png FILE.png]

This runs YOUR code directly (no sandbox): freshly initialised SequenceClassifiers on a batch
of the long-range task (the label is the first symbol), the loss read at the last step, and
its gradient carried back one step at a time by your step backward functions
(long_range.hidden_gradient_norms). The table shows, for every t, the mean over the batch of
||dL/dh_t||, with a bar on a log scale: what reaches step 0, where the label is, is what the
model can learn from. The last column is the LSTM with its forget-gate biases at 0 instead of
MEMORY_BIAS. `--png FILE.png` also saves the curves as a picture (it needs matplotlib:
pip install -e '.[plot]').
"""

import argparse

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table

from .. import training_plot
from . import model_utils, rnn_layers
from .classifier import SequenceClassifier
from .long_range import hidden_gradient_norms, make_sequences

CLASSES, NOISE = 4, 8  # the long-range task of train_classifier.py
# label: (cell, forget-gate bias instead of the model's own, or None)
MODELS = {"RNN": ("rnn", None), "LSTM": ("lstm", None), "GRU": ("gru", None),
          "LSTM, b_f = 0": ("lstm", 0.0)}
BAR = 7  # characters of the longest bar


def measure(T: int, hidden: int, batch: int, seed: int) -> tuple[dict, dict]:
    """The gradient norms of every model (label: (T,) array), and the RNN's parameters."""
    x, y = make_sequences(batch, T, CLASSES, NOISE, seed=seed)
    norms, rnn = {}, None
    for label, (cell, forget_bias) in MODELS.items():
        params = dict(SequenceClassifier(CLASSES + NOISE, CLASSES, 8, hidden, cell,
                                         seed=seed).params)
        if forget_bias is not None:  # gates i, f, o, g: the forget gate is the second block
            params["b"] = params["b"].copy()
            params["b"][hidden:2 * hidden] = forget_bias
        norms[label] = hidden_gradient_norms(params, cell, x, y)
        rnn = params if cell == "rnn" else rnn
    return norms, {"params": rnn, "x": x}


def tanh_slope(params: dict, x: np.ndarray) -> float:
    """The mean of tanh'(a) = 1 - h**2 over the RNN's hidden states on the batch."""
    embedded, _ = rnn_layers.word_embedding_forward(x, params["W_embed"])
    state = model_utils.zero_state("rnn", x.shape[0], params["Wh"].shape[0])
    h, _, _ = model_utils.cell_forward("rnn", embedded, state, params)
    return float(np.mean(1 - h ** 2))


def bar(value: float, low: float, high: float) -> str:
    """A bar whose length is log(value) between log(low) (none) and log(high) (BAR)."""
    share = (np.log(value) - np.log(low)) / (np.log(high) - np.log(low)) if high > low else 1.0
    return "█" * max(1, round(BAR * share))


def table(norms: dict) -> Table:
    values = np.concatenate(list(norms.values()))
    low, high = float(values.min()) / 2, float(values.max())
    grid = Table(title="||dL/dh_t||, mean over the batch (the loss is read at the last step)",
                 title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
    grid.add_column("t", justify="right", no_wrap=True)
    for label in norms:
        grid.add_column(label, no_wrap=True)
    T = len(next(iter(norms.values())))
    for t in range(T - 1, -1, -1):
        grid.add_row(str(t), *(f"{n[t]:.1e} {bar(n[t], low, high)}" for n in norms.values()))
    return grid


def summary(norms: dict, rnn: dict) -> list[str]:
    T = len(norms["RNN"])
    lines = []
    for label, n in norms.items():
        per_step = (n[0] / n[-1]) ** (1 / (T - 1))
        lines.append(f"{label}: ||dL/dh_0|| / ||dL/dh_{T - 1}|| = {n[0] / n[-1]:.1e}, "
                     f"x {per_step:.3f} per step")
    Wh = rnn["params"]["Wh"]
    lines.append(f"RNN: largest singular value of W_hh {np.linalg.norm(Wh, 2):.2f}, spectral "
                 f"radius {np.max(np.abs(np.linalg.eigvals(Wh))):.2f}, mean tanh' "
                 f"{tanh_slope(rnn['params'], rnn['x']):.2f}")
    return lines


def save_png(target: str, norms: dict, title: str) -> None:
    """The curves of norms on a log scale, drawn off-screen."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    for label, n in norms.items():
        axes.semilogy(range(len(n)), n, "o-", ms=3, label=label)
    axes.set_xlabel("time step t (the loss is read at the last step)")
    axes.set_ylabel("||dL/dh_t||, mean over the batch")
    axes.set_title(title)
    axes.grid(alpha=0.3, which="both")
    axes.legend()
    figure.savefig(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, default=50, help="sequence length (default 50)")
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--png", metavar="FILE.png",
                        help="save the curves to this picture (needs matplotlib)")
    args = parser.parse_args()
    if args.T < 2:
        parser.error("--T must be at least 2")
    if args.png and (problem := training_plot.problem(args.png)):
        parser.error(problem.replace("--plot", "--png"))  # before the work, not after

    norms, rnn = measure(args.T, args.hidden, args.batch, args.seed)
    Console().print(table(norms))
    for line in summary(norms, rnn):
        print(line)
    if args.png:
        title = f"a3 vanishing gradients, T = {args.T}, H = {args.hidden}, seed {args.seed}"
        save_png(args.png, norms, title)
        print(f"saved the curves to {args.png}")


if __name__ == "__main__":
    try:
        main()
    except NotImplementedError as exc:
        raise SystemExit(f"not implemented yet: {exc} "
                         f"(see README.md, then `layerlab check a3`)") from None
