"""Per-layer times of a ``models.py`` model in Keras 3 on TensorFlow, each layer timed on its own:
``python _tf_layers.py MODEL BATCH THREADS [--mode train|predict]`` (TensorFlow's interpreter),
prints ``RESULT {json}`` with one row per layer (in ``model.layers`` order): forward ms and
forward+backward ms (backward = the gradients of sum(y * dy) for the layer's trainable weights
and, past the first layer, its input), each a ``tf.function`` timed after two untimed calls, the
median of ``--repeats`` calls.  Run by ``compare_layers.py``.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def median_ms(fn, repeats):
    fn()
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("batch", type=int)
    p.add_argument("threads", type=int)
    p.add_argument("--mode", default="train", choices=["train", "predict"])
    p.add_argument("--repeats", type=int, default=21)
    args = p.parse_args()
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    sys.path.insert(0, HERE)
    import models

    keras.utils.set_random_seed(0)
    model = models.build(keras, args.model)
    rng = np.random.default_rng(0)
    training = args.mode == "train"
    rows = []
    for index, layer in enumerate(model.layers):
        if isinstance(layer, keras.layers.InputLayer):
            continue
        shapes = [tuple(t.shape) for t in tf.nest.flatten(layer.input)]
        xs = [tf.constant(rng.random((args.batch,) + s[1:], dtype=np.float32)) for s in shapes]
        arg = xs if len(xs) > 1 else xs[0]
        y = layer(arg, training=training)
        dy = tf.constant(rng.random(tuple(y.shape), dtype=np.float32))
        first = index <= 1

        @tf.function
        def forward():
            return layer(arg, training=training)

        @tf.function
        def forward_backward():
            with tf.GradientTape() as tape:
                if not first:
                    for x in xs:
                        tape.watch(x)
                out = layer(arg, training=training)
                loss = tf.reduce_sum(out * dy)
            sources = list(layer.trainable_variables) + ([] if first else xs)
            return tape.gradient(loss, sources) if sources else loss

        fwd = median_ms(forward, args.repeats)
        both = median_ms(forward_backward, args.repeats) if training else fwd
        rows.append(dict(name=layer.name, type=type(layer).__name__, fwd_ms=fwd, bwd_ms=max(both - fwd, 0.0)))
    print("RESULT " + json.dumps(dict(rows=rows, tf=tf.__version__, keras=keras.__version__)), flush=True)


if __name__ == "__main__":
    main()
