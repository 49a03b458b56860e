"""LeNet-5 (LeCun et al., 1998) on MNIST when a local copy exists, else on Fashion-MNIST.

    python examples/lenet5.py                          # 5 epochs
    python examples/lenet5.py --dataset mnist          # downloads MNIST when needed
    python examples/lenet5.py --pool max --subset 2000 --epochs 1

    Conv2D(6, 5, relu) -> Pool -> Conv2D(16, 5, relu) -> Pool -> Flatten(256)
    -> Dense(120, relu) -> Dense(84, relu) -> Dense(10, softmax)

on 28x28 inputs with 'valid' padding (the 1998 network saw 32x32 images; the layer sizes after
the first convolution differ accordingly).  The paper's subsampling layers were averaging, the
default here; ``--pool max`` swaps in max pooling.  Softmax output with
SparseCategoricalCrossentropy on probabilities (the other example uses logits).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

import minicnn as keras  # noqa: E402
from minicnn import layers  # noqa: E402


def build_model(pool="avg"):
    Pool = layers.AveragePooling2D if pool == "avg" else layers.MaxPooling2D
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(6, 5, activation="relu", name="c1"),
        Pool(2, name="s2"),
        layers.Conv2D(16, 5, activation="relu", name="c3"),
        Pool(2, name="s4"),
        layers.Flatten(),
        layers.Dense(120, activation="relu", name="c5"),
        layers.Dense(84, activation="relu", name="f6"),
        layers.Dense(10, activation="softmax", name="output"),
    ], name="lenet5")


def main(argv=None):
    p = _common.add_common_args(_common.parser(__doc__), epochs=5)
    p.add_argument("--dataset", choices=("auto", "mnist", "fashion_mnist"), default="auto",
                   help="auto: MNIST when a local copy exists, else Fashion-MNIST")
    p.add_argument("--pool", choices=("avg", "max"), default="avg")
    args = p.parse_args(argv)
    dataset = args.dataset
    if dataset == "auto":
        dataset = "mnist" if keras.datasets.mnist.is_available() else "fashion_mnist"
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = _common.load_images(dataset, args.subset)
    print(f"{dataset}: {len(x_train)} training and {len(x_test)} test images")

    model = build_model(args.pool)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    timer = _common.EpochTimer()
    with _common.threads(args.threads):
        history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                            validation_split=args.validation_split, callbacks=[timer],
                            verbose=args.verbose)
        _, test_acc = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    speed = _common.images_per_second(_common.training_count(len(x_train), args.validation_split), timer)
    print(f"test accuracy: {test_acc:.4f}")
    print(f"training speed: {speed:.0f} images/second")
    os.makedirs(args.output_dir, exist_ok=True)
    path = os.path.join(args.output_dir, "lenet5.minicnn")
    model.save(path)
    print(f"model saved to {path}")
    curves = _common.plot_history(history, os.path.join(args.output_dir, "lenet5_curves.png"), f"LeNet-5 on {dataset}")
    return {"dataset": dataset, "test_accuracy": float(test_acc), "images_per_second": speed,
            "model_path": path, "curves_path": curves}


if __name__ == "__main__":
    main()
