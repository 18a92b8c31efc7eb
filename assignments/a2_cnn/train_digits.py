"""Train your ThreeLayerConvNet on scikit-learn's 8x8 digits and watch it learn.

Run from the repository root, once `layerlab check a2 --task a2.cnn` passes:

    python -m assignments.a2_cnn.train_digits [--epochs 30] [--rule adam] [--plot loss.png]

This runs YOUR code directly (no sandbox): your network, built from your blocks on the fast
layers of core_ext, and your train(). A progress bar counts the minibatches, and train() prints
its per-epoch loss and accuracies above it. `--plot loss.png` also saves the loss of every
minibatch and the accuracies of every epoch as a picture (it needs matplotlib:
pip install -e '.[plot]'). The grade runs the same kind of training on its own and measures the
validation accuracy itself.
"""

import argparse
import time

import numpy as np
from rich.progress import Progress
from sklearn.datasets import load_digits

import core_ext

from .. import training_plot
from .cnn import ThreeLayerConvNet, train

RATES = {"sgd": 0.2, "sgd_momentum": 0.05, "adam": 3e-3}
GOAL = 0.97  # the validation accuracy the grade asks for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--rule", choices=sorted(RATES), default="adam")
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="FILE.png",
                        help="save the loss and accuracy curves to this picture (needs matplotlib)")
    args = parser.parse_args()
    if args.plot and (problem := training_plot.problem(args.plot)):
        parser.error(problem)  # before training, not after

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    X, y = digits.data[order].reshape(-1, 1, 8, 8) / 16.0, digits.target[order]
    model = ThreeLayerConvNet((1, 8, 8), num_filters=args.filters, hidden_dim=args.hidden,
                              weight_scale=0.1, reg=1e-4, seed=args.seed)
    batches = args.epochs * -(-1500 // 50)
    kernels = "compiled" if core_ext.COMPILED else "NumPy fallback"
    started = time.perf_counter()
    losses = []  # of every training minibatch, for the plot
    with Progress(transient=False) as progress:
        bar = progress.add_task(f"training ({kernels} fast layers)", total=batches)
        loss = model.loss

        def counting_loss(X_batch, y_batch=None):
            if y_batch is None:
                return loss(X_batch)
            progress.advance(bar)
            out = loss(X_batch, y_batch)
            losses.append(float(out[0]))
            return out

        model.loss = counting_loss
        history = train(model, X[:1500], y[:1500], X[1500:], y[1500:], epochs=args.epochs,
                        batch_size=50, update_rule=args.rule,
                        optim_config={"learning_rate": RATES[args.rule]}, seed=args.seed)
    print(f"final validation accuracy: {history['val_acc'][-1]:.3f} in "
          f"{time.perf_counter() - started:.1f} s (the grade asks for {GOAL})")
    if args.plot:
        title = f"a2 ThreeLayerConvNet, {args.filters} filters, hidden {args.hidden}, {args.rule}"
        training_plot.plot_training(args.plot, history, losses, title=title, goal=GOAL)
        print(f"saved the training curves to {args.plot}")


if __name__ == "__main__":
    try:
        main()
    except NotImplementedError as exc:
        raise SystemExit(f"not implemented yet: {exc} "
                         f"(see README.md, then `layerlab check a2`)") from None
