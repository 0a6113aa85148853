"""The smoke test's Python half, run inside the fresh virtual environment (it imports only
TensorFlow, Keras and NumPy, never tfbuild).

Imports TensorFlow and reports what it is; trains a small Keras CNN (Conv2D, MaxPooling2D,
Flatten, Dense; rmsprop; sparse categorical crossentropy; accuracy) on MNIST from
~/.keras/datasets/mnist.npz when it is there, else on digits generated here (no download);
exports a SavedModel and a frozen graph; writes a batch of inputs and the model's outputs for
the C API run to compare against. The last line of stdout is one JSON document.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

# 5x7 bitmaps of the digits 0-9 (one string of 35 bits per digit, row by row).
GLYPHS = [
    "01110100011001110101110011000101110", "00100011000010000100001000010001110",
    "01110100010000100010001000100011111", "11111000100010000010000011000101110",
    "00010001100101010010111110001000010", "11111100001111000001000011000101110",
    "00110010001000011110100011000101110", "11111000010001000100010000100001000",
    "01110100011000101110100011000101110", "01110100011000101111000010001001100",
]


def synthetic_digits(count: int, seed: int):
    """Digits drawn from the glyphs at random offsets and scales, with noise: deterministic."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), dtype="float32")
    labels = rng.integers(0, 10, size=count)
    for i, label in enumerate(labels):
        glyph = np.array([int(b) for b in GLYPHS[label]], dtype="float32").reshape(7, 5)
        scale = int(rng.integers(2, 4))
        big = np.kron(glyph, np.ones((scale, scale), dtype="float32"))
        h, w = big.shape
        top, left = rng.integers(0, 28 - h + 1), rng.integers(0, 28 - w + 1)
        images[i, top:top + h, left:left + w] = big * rng.uniform(0.6, 1.0)
    images += rng.normal(0, 0.05, images.shape).astype("float32")
    return np.clip(images, 0, 1), labels.astype("int64")


def load_data(mnist_path: str, train: int, test: int):
    if mnist_path and os.path.exists(mnist_path):
        with np.load(mnist_path) as data:
            x_train, y_train = data["x_train"][:train], data["y_train"][:train]
            x_test, y_test = data["x_test"][:test], data["y_test"][:test]
        return ("mnist", x_train.astype("float32") / 255, y_train.astype("int64"),
                x_test.astype("float32") / 255, y_test.astype("int64"))
    x_train, y_train = synthetic_digits(train, seed=0)
    x_test, y_test = synthetic_digits(test, seed=1)
    return "synthetic", x_train, y_train, x_test, y_test


def mapped_libraries() -> list:
    """[path, real path] of every shared object this process has mapped (Linux), in order."""
    seen, found = set(), []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split(None, 5)
                path = fields[5].strip() if len(fields) == 6 else ""
                if path.startswith("/") and ".so" in path and path not in seen:
                    seen.add(path)
                    found.append([path, os.path.realpath(path)])
    except OSError:
        pass
    return found


def describe_tensorflow(tf) -> dict:
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]  # loads the CUDA libraries
    build = dict(tf.sysconfig.get_build_info())
    return {
        "tf_version": tf.__version__,
        "tf_file": tf.__file__,
        "built_with_cuda": bool(tf.test.is_built_with_cuda()),
        "gpus": gpus,
        "compiled_cuda": str(build.get("cuda_version", "")),
        "compiled_cudnn": str(build.get("cudnn_version", "")),
        "loaded": mapped_libraries(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--mnist", default=os.path.expanduser("~/.keras/datasets/mnist.npz"))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train", type=int, default=6000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--describe-only", action="store_true")
    args = parser.parse_args()

    import tensorflow as tf

    result = describe_tensorflow(tf)
    print("tensorflow:", json.dumps(result), flush=True)
    if args.describe_only:
        print(json.dumps(result))
        return

    tf.keras.utils.set_random_seed(0)
    dataset, x_train, y_train, x_test, y_test = load_data(args.mnist, args.train, args.test)
    x_train, x_test = x_train[..., None], x_test[..., None]
    from tensorflow import keras
    from tensorflow.keras import layers

    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(pool_size=2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(pool_size=2),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.monotonic()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, verbose=2)
    train_s = time.monotonic() - start
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)

    saved_model = os.path.join(args.workdir, "saved_model")
    model.export(saved_model)

    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)

    spec = tf.TensorSpec([None, 28, 28, 1], tf.float32, name="input")
    concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    frozen = convert_variables_to_constants_v2(concrete)
    tf.io.write_graph(frozen.graph.as_graph_def(), args.workdir, "frozen_graph.pb", as_text=False)
    input_op = frozen.inputs[0].op.name
    output_op = frozen.outputs[0].op.name

    batch = x_test[: args.batch].astype("float32")
    outputs = frozen(tf.constant(batch))[0].numpy().astype("float32")
    batch.tofile(os.path.join(args.workdir, "inputs.bin"))
    outputs.tofile(os.path.join(args.workdir, "python_outputs.bin"))

    result.update({
        "dataset": dataset, "train_examples": int(len(x_train)), "test_examples": int(len(x_test)),
        "epochs": args.epochs, "accuracy": float(accuracy), "train_seconds": round(train_s, 2),
        "saved_model": saved_model, "frozen_graph": os.path.join(args.workdir, "frozen_graph.pb"),
        "input_op": input_op, "output_op": output_op, "batch": int(len(batch)),
        "classes": int(outputs.shape[1]),
    })
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
