"""Train your FullyConnectedNet on scikit-learn's 8x8 digits and watch it learn.

Run from the repository root, once `layerlab check a1 --task a1.fcnet` passes:

    python -m assignments.a1_networks.train_digits [--epochs 20] [--rule adam] [--plot loss.png]

This runs YOUR code directly (no sandbox): a progress bar counts the minibatches, and your
train() prints its per-epoch loss and accuracies above it. `--plot loss.png` also saves the
loss of every minibatch and the accuracies of every epoch as a picture (it needs matplotlib:
pip install -e '.[plot]'). The grade runs the same kind of training on its own split and
measures the validation accuracy itself.
"""

import argparse

import numpy as np
from rich.progress import Progress
from sklearn.datasets import load_digits

from .. import training_plot
from .fc_net import FullyConnectedNet, train

RATES = {"sgd": 0.1, "sgd_momentum": 0.1, "rmsprop": 1e-3, "adam": 5e-3}
GOAL = 0.95  # the validation accuracy the grade asks for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--rule", choices=sorted(RATES), default="adam")
    parser.add_argument("--hidden", type=int, nargs="+", default=[100])
    parser.add_argument("--plot", metavar="FILE.png",
                        help="save the loss and accuracy curves to this picture (needs matplotlib)")
    args = parser.parse_args()
    if args.plot and (problem := training_plot.problem(args.plot)):
        parser.error(problem)  # before training, not after

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    X, y = digits.data[order] / 16.0, digits.target[order]
    model = FullyConnectedNet(args.hidden, 64, 10, weight_scale=0.1, reg=1e-4, seed=0)
    batches = args.epochs * -(-1500 // 100)
    losses = []  # of every training minibatch, for the plot
    with Progress(transient=False) as progress:
        bar = progress.add_task("training", total=batches)
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
                        batch_size=100, update_rule=args.rule,
                        optim_config={"learning_rate": RATES[args.rule]})
    print(f"final validation accuracy: {history['val_acc'][-1]:.3f} (the grade asks for {GOAL})")
    if args.plot:
        title = f"a1 FullyConnectedNet, hidden {args.hidden}, {args.rule}"
        training_plot.plot_training(args.plot, history, losses, title=title, goal=GOAL)
        print(f"saved the training curves to {args.plot}")


if __name__ == "__main__":
    try:
        main()
    except NotImplementedError as exc:
        raise SystemExit(f"not implemented yet: {exc} "
                         f"(see README.md, then `layerlab check a1`)") from None
