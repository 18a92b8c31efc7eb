"""Train your ViT (or your MLP-Mixer) on the 8x8 digits and see where its [CLS] token looks.

Run from the repository root, once `layerlab check a4 --task a4.vit` passes:

    python -m assignments.a4_attention.train_vit [--model vit|mixer] [--epochs 12]
                                                 [--patch-size 4] [--png attention.png]

This runs YOUR code directly (no sandbox): your model on your layers, trained by your
train_classifier with the given Adam. A progress bar counts the minibatches and shows the loss;
at the end the script prints the validation accuracy (the grade asks for 0.9 with the
defaults, which are the graded run) and, for the ViT, an attention map: for a few validation
digits, the weights of the [CLS] row over the patches in the LAST block, averaged over the
heads, drawn in the terminal beside the digit. `--png FILE.png` also saves the map as a picture
when matplotlib is installed (pip install -e '.[plot]'); without it the picture is skipped
with a note. `--patch-size 2` gives a finer map (16 patches) and trains about four times longer.
"""

import argparse
import time

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text
from threadpoolctl import threadpool_limits

from . import mixer, training, transformer_blocks, transformer_layers, vit

GOAL = 0.9  # the validation accuracy the grade asks for
SHOWN = 4  # validation digits in the attention map


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["vit", "mixer"], default="vit")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--patch-size", type=int, choices=[2, 4], default=4)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--png", metavar="FILE.png", help="save the ViT's attention map here "
                        "(needs matplotlib; skipped with a note without it)")
    args = parser.parse_args(argv)
    with threadpool_limits(1):  # products this small run slower on several BLAS threads
        train_and_report(args, Console(highlight=False, markup=False, soft_wrap=True))


def make_model(args):
    if args.model == "vit":
        return vit.ViT(8, args.patch_size, 1, 10, args.dim, 1, 2, 64, seed=args.seed)
    return mixer.MLPMixer(8, args.patch_size, 1, 10, args.dim, 1, 32, 32, seed=args.seed)


def train_and_report(args, console) -> None:
    X, y, X_val, y_val = training.load_digits()
    model = make_model(args)
    batches = args.epochs * -(-len(X) // 32)
    console.print(f"{args.model}: {len(X)} training digits, {len(X_val)} for validation, "
                  f"{args.patch_size} x {args.patch_size} patches, D = {args.dim}")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn())
    started = time.perf_counter()
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("training", total=batches, loss="-")

        def on_step(i, loss):
            progress.update(bar, advance=1, loss=f"{loss:.4f}")

        vit.train_classifier(model, X, y, epochs=args.epochs, batch_size=32,
                             learning_rate=args.learning_rate, seed=args.seed, on_step=on_step)
    accuracy = float(np.mean(np.argmax(model.loss(X_val), axis=1) == y_val))
    console.print(f"validation accuracy {accuracy:.3f} after {time.perf_counter() - started:.1f} "
                  f"s (the grade asks for {GOAL})")
    if args.model != "vit":
        return
    maps = cls_attention(model, X_val[:SHOWN])
    console.print("attention of [CLS] over the patches, last block, mean over the heads:")
    console.print(render(X_val[:SHOWN], maps, y_val[:SHOWN]))
    if args.png:
        try:
            save_png(args.png, X_val[:SHOWN], maps, y_val[:SHOWN])
        except ImportError:
            console.print(f"matplotlib is not installed: {args.png} not saved "
                          "(pip install -e '.[plot]')")
        else:
            console.print(f"saved the attention map to {args.png}")


def cls_attention(model, X):
    """(N, H/p, W/p): the last block's attention weights of the [CLS] row over the patches,
    averaged over the heads, recomputed from model.params with your layers (a pre-norm
    block's attention reads LN1 of its input)."""
    p, g = model.params, X.shape[-1] // model.patch_size
    block_param = {"num_heads": model.num_heads, "norm": "pre", "activation": model.activation}
    patches, _ = vit.patchify_forward(X, model.patch_size)
    h, _ = vit.patch_embedding_forward(patches, p["W_patch"], p["b_patch"])
    h, _ = vit.cls_token_forward(h, p["cls"])
    h, _ = transformer_layers.position_embedding_forward(h, p["W_pos"])
    for i in range(model.depth - 1):
        h, _ = transformer_blocks.encoder_block_forward(h, training.block_params(p, i),
                                                        block_param)
    last = training.block_params(p, model.depth - 1)
    u, _ = transformer_layers.layernorm_forward(h, last["gamma1"], last["beta1"], {})
    N, T, D = u.shape
    heads, dk = model.num_heads, D // model.num_heads
    q = (u[:, :1] @ last["W_Q"] + last["b_Q"]).reshape(N, 1, heads, dk).transpose(0, 2, 1, 3)
    k = (u @ last["W_K"] + last["b_K"]).reshape(N, T, heads, dk).transpose(0, 2, 1, 3)
    scores = (q @ k.transpose(0, 1, 3, 2))[:, :, 0] / np.sqrt(dk)  # (N, heads, T)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights.mean(axis=1)[:, 1:].reshape(N, g, g)  # the [CLS] column itself left out


SHADES = " ░▒▓█"


def _cell(value: float) -> str:
    """Two characters for a value in [0, 1]: a shade, so the map reads without colours too."""
    return SHADES[min(int(value * len(SHADES)), len(SHADES) - 1)] * 2


def render(images, maps, labels) -> Text:
    """Each digit (grey) beside its attention map (red, brightest where [CLS] looks most) and
    the map's weights in percent, two characters per pixel."""
    text = Text()
    size, g = images.shape[-1], maps.shape[-1]
    scale = size // g
    for n in range(len(images)):
        text.append(f"digit {labels[n]}\n")
        peak = maps[n].max() or 1.0
        for r in range(size):
            for c in range(size):
                v = float(images[n, 0, r, c])
                text.append(_cell(v), style=f"rgb({int(255 * v)},{int(255 * v)},{int(255 * v)})")
            text.append("   ")
            for c in range(size):
                v = float(maps[n, r // scale, c // scale] / peak)
                text.append(_cell(v), style=f"rgb({int(255 * v)},{int(64 * v)},0)")
            if r % scale == 0:
                text.append("   " + " ".join(f"{100 * w:4.1f}" for w in maps[n, r // scale]) + " %")
            text.append("\n")
    return text


def save_png(target, images, maps, labels):
    """The digits (top) and their attention maps (bottom) as a picture; ImportError without
    matplotlib."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2.2 * len(images), 4.6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)  # off-screen: no display, no pyplot state
    axes = figure.subplots(2, len(images), squeeze=False)
    for n in range(len(images)):
        axes[0, n].imshow(images[n, 0], cmap="gray_r")
        axes[0, n].set_title(f"digit {labels[n]}")
        shown = axes[1, n].imshow(maps[n], cmap="magma", vmin=0)
        figure.colorbar(shown, ax=axes[1, n], shrink=0.8)
        for a in axes[:, n]:
            a.set_xticks([])
            a.set_yticks([])
    axes[1, 0].set_ylabel("[CLS] attention")
    figure.suptitle("ViT: where the [CLS] token attends (last block, mean over heads)")
    figure.savefig(target)
    return figure


if __name__ == "__main__":
    try:
        main()
    except NotImplementedError as exc:
        raise SystemExit(f"not implemented yet: {exc} "
                         f"(see README.md, then `layerlab check a4`)") from None
