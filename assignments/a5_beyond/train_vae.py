"""Train your autoencoder and your VAE on the digits; see their reconstructions and samples.

Run from the repository root, once `layerlab check a5 --task a5.autoencoder` passes:

    python -m assignments.a5_beyond.train_vae [--epochs 30] [--png vae_digits.png] [--text]

This runs YOUR code directly (no sandbox): your VAE class and train_vae (with your
reparameterisation and vae_loss) on the 1500 training digits, first as an autoencoder, then as
a VAE. It prints each one's reconstruction error on the 297 validation digits and the VAE's KL
term there. With matplotlib installed (`pip install -e '.[plot]'`) it saves a PNG grid: a row of
validation digits, the autoencoder's and the VAE's reconstructions of them, and two rows of
VAE samples (decode(z) for z ~ N(0, I)); without it (or with --text) it prints the same grid
as characters. The grade runs the same training (30 epochs) and measures the errors itself.
"""

import argparse
import time

import numpy as np

from . import nets
from .generative import gaussian_kl
from .models import VAE, train_vae

COLUMNS = 8


def run(variational: bool, data: dict, args):
    model = VAE(variational=variational, seed=args.seed)
    started = time.perf_counter()
    losses = train_vae(model, data["X_train"], epochs=args.epochs, seed=args.seed)
    X = data["X_val"]
    error = float(np.mean((model.reconstruct(X) - X) ** 2))
    line = (f"{'VAE' if variational else 'autoencoder'}: loss {np.mean(losses[:30]):.2f} -> "
            f"{np.mean(losses[-30:]):.2f}, validation reconstruction error {error:.4f} per pixel")
    if variational:
        line += f", KL {gaussian_kl(*model.encode(X))[0]:.2f}"
    print(f"{line} ({time.perf_counter() - started:.1f} s)", flush=True)
    return model


def grid_rows(autoencoder, vae, data, seed):
    """The rows of the picture: originals, the two reconstructions, two rows of samples."""
    X = data["X_val"][:COLUMNS]
    z = np.random.default_rng(seed).standard_normal((2 * COLUMNS, vae.params["W_mu"].shape[1]))
    samples = vae.decode(z)
    return {"validation digits": X, "autoencoder": autoencoder.reconstruct(X),
            "VAE": vae.reconstruct(X), "VAE samples": samples[:COLUMNS],
            "VAE samples ": samples[COLUMNS:]}


def save_png(target: str, rows: dict) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(COLUMNS * 0.9, len(rows) * 1.0), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)  # off-screen: no display needed
    axes = figure.subplots(len(rows), COLUMNS)
    for r, (title, images) in enumerate(rows.items()):
        for c in range(COLUMNS):
            ax = axes[r, c]
            ax.imshow(np.asarray(images[c]).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(title.strip(), fontsize=7)
    figure.savefig(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--png", default="vae_digits.png",
                        help="where to save the grid (default vae_digits.png)")
    parser.add_argument("--text", action="store_true", help="print the grid, save no PNG")
    args = parser.parse_args()
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    data = nets.load_digits()
    autoencoder, vae = run(False, data, args), run(True, data, args)
    rows = grid_rows(autoencoder, vae, data, args.seed)
    if not args.text:
        try:
            save_png(args.png, rows)
        except ImportError:
            print("matplotlib is not installed (pip install -e '.[plot]'): the grid as text")
        else:
            print(f"saved {args.png}: {', '.join(t.strip() for t in rows)}")
            return
    for title, images in rows.items():
        print(f"\n{title.strip()}:")
        print(nets.text_grid(images, columns=COLUMNS), end="")


if __name__ == "__main__":
    try:
        main()
    except NotImplementedError as exc:
        raise SystemExit(f"not implemented yet: {exc} "
                         f"(see README.md, then `layerlab check a5`)") from None
