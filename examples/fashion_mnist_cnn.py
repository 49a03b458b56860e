"""Train a small CNN on Fashion-MNIST: the first job to run with minicnn.

    python examples/fashion_mnist_cnn.py                  # 3 epochs, batch 64 (>= 0.90 test accuracy)
    python examples/fashion_mnist_cnn.py --threads 2 --epochs 5
    python examples/fashion_mnist_cnn.py --subset 2000 --epochs 1   # a quick smoke run
    python examples/fashion_mnist_cnn.py --padding valid   # the benchmark's exact recipe

The model is the classic Keras tutorial network

    Conv2D(32, 3, relu) -> MaxPooling2D -> Conv2D(64, 3, relu) -> MaxPooling2D -> Flatten
    -> Dense(128, relu) -> Dense(10)   (logits; SparseCategoricalCrossentropy(from_logits=True))

trained with Adam (learning rate 1e-3) on standardized inputs (zero mean, unit variance).  The
convolutions use padding="same" by default: with 'valid' padding and inputs in [0, 1] (the
benchmarks' recipe, 225,034 parameters) PyTorch reaches only 0.887-0.896 after 3 epochs here;
'same' padding plus standardized inputs (421,642 parameters) reached 0.913-0.917 in the same
PyTorch runs, clearing the 0.90 bar.  The last 10% of the training images are held out
(``--validation-split``) and scored after every epoch; the test set is scored once, at the
end.  The script prints the summary, a progress bar per epoch (with the validation loss and
accuracy), the test accuracy and the training speed in images/second, saves the trained model
(``fashion_mnist_cnn.minicnn``, written atomically, reloaded with ``minicnn.saving.load_model``)
and, when matplotlib is installed, a PNG of the training curves.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

import minicnn as keras  # noqa: E402
from minicnn import layers  # noqa: E402


def build_model(padding="same"):
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu", padding=padding),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu", padding=padding),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10),
    ], name="fashion_mnist_cnn")


def main(argv=None):
    p = _common.add_common_args(_common.parser(__doc__), epochs=3)
    p.add_argument("--padding", choices=("same", "valid"), default="same",
                   help="conv padding (default same); 'valid' with --no-standardize is the benchmarks' recipe")
    p.add_argument("--no-standardize", action="store_true", help="inputs in [0, 1] instead of standardized")
    args = p.parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = _common.load_images("fashion_mnist", args.subset,
                                                               standardize=not args.no_standardize)
    n_train = _common.training_count(len(x_train), args.validation_split)
    print(f"Fashion-MNIST: {n_train} training images, {len(x_train) - n_train} held out for "
          f"validation, {len(x_test)} test images")

    model = build_model(args.padding)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.summary()

    timer = _common.EpochTimer()
    with _common.threads(args.threads):
        print(f"training on {keras.get_num_threads()} thread(s)")
        history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                            validation_split=args.validation_split, callbacks=[timer],
                            verbose=args.verbose)
        # The test set is scored once, after training: nothing above looked at it.
        test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    speed = _common.images_per_second(n_train, timer)
    print(f"test accuracy: {test_acc:.4f}  (test loss {test_loss:.4f})")
    print(f"training speed: {speed:.0f} images/second (median epoch {np.median(timer.times):.1f} s)")

    os.makedirs(args.output_dir, exist_ok=True)
    model_path = os.path.join(args.output_dir, "fashion_mnist_cnn.minicnn")
    model.save(model_path)
    restored = keras.saving.load_model(model_path)
    same = np.allclose(restored.predict(x_test[:256], verbose=0), model.predict(x_test[:256], verbose=0),
                       rtol=1e-5, atol=1e-5)
    print(f"model saved to {model_path} (reloaded: {'same predictions' if same else 'PREDICTIONS DIFFER'})")
    curves = _common.plot_history(history, os.path.join(args.output_dir, "fashion_mnist_cnn_curves.png"),
                                  "Fashion-MNIST CNN")
    return {"test_accuracy": float(test_acc), "images_per_second": speed, "model_path": model_path,
            "training_images": n_train, "validation_images": len(x_train) - n_train,
            "curves_path": curves, "reload_matches": bool(same), "history": history.history}


if __name__ == "__main__":
    main()
