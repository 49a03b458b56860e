"""What a CNN learns: its first-layer filters and the feature maps each conv layer produces.

    python examples/visualize_features.py                          # trains the reference CNN for 1 epoch
    python examples/visualize_features.py --model fashion_mnist_cnn.minicnn --index 7
    python examples/visualize_features.py --subset 2000            # quicker, blurrier filters

Writes ``filters.png`` (the learned 3x3 kernels of the first Conv2D, one tile per output
channel), ``feature_maps.png`` (the test image, then every channel of every Conv2D output for
it) and ``features.npz`` (the same arrays, for your own plots).  The PNGs need matplotlib; without
it the script says so, still writes the ``.npz`` and exits with status 1.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

import minicnn as keras  # noqa: E402
from minicnn import layers  # noqa: E402

from fashion_mnist_cnn import build_model  # noqa: E402  (the README's model)

NEEDS_MATPLOTLIB = ("visualize_features.py draws its figures with matplotlib, which is not installed: "
                    "pip install matplotlib (or pip install 'minicnn[plot]').")


def conv_feature_maps(model, image):
    """[(layer name, (H, W, C) activation)] of every Conv2D for one (28, 28, 1) image.

    Runs the layers one by one in inference mode, so any Sequential model works.
    """
    x = image[None]
    maps = []
    for layer in model.layers:
        x = layer(x, training=False)
        if isinstance(layer, layers.Conv2D):
            maps.append((layer.name, np.asarray(x)[0]))
    return maps


def first_filters(model):
    """The first Conv2D's kernel as (n_filters, kh, kw) tiles (input channels averaged)."""
    conv = next(layer for layer in model.layers if isinstance(layer, layers.Conv2D))
    kernel = np.asarray(conv.get_weights()[0])  # (kh, kw, in, out), Keras' layout
    return conv.name, kernel.mean(axis=2).transpose(2, 0, 1)


def _grid(n):
    cols = int(np.ceil(np.sqrt(n)))
    return int(np.ceil(n / cols)), cols


def plot_filters(name, tiles, path):
    import matplotlib.pyplot as plt

    rows, cols = _grid(len(tiles))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 0.9 + 0.4))
    lim = np.abs(tiles).max() or 1.0
    for i, ax in enumerate(np.ravel(axes)):
        ax.axis("off")
        if i < len(tiles):
            ax.imshow(tiles[i], cmap="bwr", vmin=-lim, vmax=lim)  # red excites, blue inhibits
    fig.suptitle(f"{name}: {len(tiles)} learned filters")
    _common.save_figure(fig, path)
    plt.close(fig)


def plot_feature_maps(image, label, maps, path):
    import matplotlib.pyplot as plt

    per_row = 16
    heights = [1] + [int(np.ceil(m.shape[-1] / per_row)) for _, m in maps]
    fig = plt.figure(figsize=(per_row * 0.8, sum(heights) * 0.85 + 0.6 * len(heights)))
    sub = fig.subfigures(len(heights), 1, height_ratios=heights)
    ax = sub[0].subplots(1, 1)
    ax.imshow(image[..., 0], cmap="gray")
    ax.axis("off")
    sub[0].suptitle(f"input: {label}")
    for fig_row, (name, m) in zip(sub[1:], maps):
        c = m.shape[-1]
        axes = fig_row.subplots(int(np.ceil(c / per_row)), per_row, squeeze=False)
        for i, a in enumerate(axes.ravel()):
            a.axis("off")
            if i < c:
                a.imshow(m[..., i], cmap="viridis")
        fig_row.suptitle(f"{name}: {m.shape[0]}x{m.shape[1]}x{c}")
    _common.save_figure(fig, path)
    plt.close(fig)


def main(argv=None):
    p = _common.add_common_args(_common.parser(__doc__), epochs=1)  # training when no --model
    p.add_argument("--model", help="a saved model (e.g. from fashion_mnist_cnn.py); default: train one")
    p.add_argument("--index", type=int, default=0, help="which test image to show (default 0)")
    args = p.parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = _common.load_images("fashion_mnist", args.subset)
    if not 0 <= args.index < len(x_test):
        p.error(f"--index must be in [0, {len(x_test)}), got {args.index}")

    with _common.threads(args.threads):
        if args.model:
            model = keras.saving.load_model(args.model)
        else:
            model = build_model()
            model.compile(optimizer="adam", metrics=["accuracy"],
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
            model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                      validation_split=args.validation_split, verbose=args.verbose)
        maps = conv_feature_maps(model, x_test[args.index])
    name, tiles = first_filters(model)
    label = keras.datasets.fashion_mnist.CLASS_NAMES[int(y_test[args.index])]

    os.makedirs(args.output_dir, exist_ok=True)
    npz = os.path.join(args.output_dir, "features.npz")
    np.savez(npz, image=x_test[args.index], filters=tiles, **{n: m for n, m in maps})
    print(f"{name}: {len(tiles)} filters; feature maps " + ", ".join(f"{n} {m.shape}" for n, m in maps))
    print(f"arrays saved to {npz}")
    result = {"filters": tiles, "feature_maps": maps, "npz": npz, "pngs": None}
    if not _common.have_matplotlib():
        print(NEEDS_MATPLOTLIB)
        return result
    import matplotlib

    matplotlib.use("Agg")
    pngs = [os.path.join(args.output_dir, "filters.png"), os.path.join(args.output_dir, "feature_maps.png")]
    plot_filters(name, tiles, pngs[0])
    plot_feature_maps(x_test[args.index] * _common.FASHION_STD + _common.FASHION_MEAN, label, maps, pngs[1])
    print(f"figures saved to {pngs[0]} and {pngs[1]}")
    result["pngs"] = pngs
    return result


if __name__ == "__main__":
    sys.exit(0 if main()["pngs"] else 1)
