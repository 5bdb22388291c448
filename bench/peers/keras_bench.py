#!/usr/bin/env python3
"""Keras peer of the xarxa benchmark: the notebook's own Keras code on the same data.

Run by bench/run.ts inside the cached virtual environment of bench/setup-keras.sh,
one process per engine. Protocol (shared with bench/peers/*.ts): the config is a
JSON object in argv[1]; the child prints one line `@@BENCH {"type": "ready", ...}`
on stdout, then answers each command read from stdin, one JSON object per line:
  {"cmd": "epoch"}   -> @@BENCH {"type": "epoch", "seconds": ..., "loss": ..., "acc": ...}
  {"cmd": "finish"}  -> @@BENCH {"type": "done", "peakRssBytes": ...} and exits
Errors are answered as @@BENCH {"type": "error", "message": ...}.

Data: <x>.u8 (uint8 images, N x row) and <y>.u8 (uint8 labels), written by
bench/run.ts; scaled by 1/255 and one-hot encoded here as the notebook does.
"""
import json
import os
import resource
import sys
import time


def send(obj):
    sys.stdout.write("@@BENCH " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def peak_rss_bytes():
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def build_model(keras, name):
    from keras import layers
    if name == "mnist-dense":
        # The notebook's dense network: 784-32-16-10.
        model = keras.Sequential([
            keras.Input(shape=(784,)),
            layers.Dense(32, activation="relu"),
            layers.Dense(16, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ])
    elif name == "cifar-cnn":
        # The notebook's CNN.
        model = keras.Sequential([
            keras.Input(shape=(32, 32, 3)),
            layers.Conv2D(32, (2, 2), strides=2, padding="same", activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2), strides=1, padding="same"),
            layers.Conv2D(16, (2, 2), strides=2, padding="same", activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2), strides=1, padding="same"),
            layers.Flatten(),
            layers.Dense(16, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ])
    else:
        raise ValueError("unknown model " + name)
    return model


def main():
    cfg = json.loads(sys.argv[1])
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import numpy as np
        import tensorflow as tf
        import keras
    except Exception as e:  # noqa: BLE001
        send({"type": "error", "message": "cannot import tensorflow/keras: %s" % e})
        return 1
    try:
        seed = int(cfg.get("seed", 1))
        keras.utils.set_random_seed(seed)
        n = int(cfg["n"])
        shape = tuple(cfg["shape"])
        row = int(np.prod(shape))
        x = np.fromfile(cfg["x"], dtype=np.uint8, count=n * row).reshape((n,) + shape).astype("float32") / 255.0
        labels = np.fromfile(cfg["y"], dtype=np.uint8, count=n)
        y = keras.utils.to_categorical(labels, 10).astype("float32")
        model = build_model(keras, cfg["model"])
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=float(cfg["lr"])),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        gpus = tf.config.list_physical_devices("GPU")
        send({
            "type": "ready",
            "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
                         "python": sys.version.split()[0]},
            "device": "CPU (TensorFlow %s, %d logical CPUs, intra-op threads %s)" % (
                "oneDNN on" if os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0" else "oneDNN off",
                os.cpu_count() or 0,
                tf.config.threading.get_intra_op_parallelism_threads() or "auto"),
            "threads": os.cpu_count() or 0,
            "gpusVisible": len(gpus),
            "params": int(model.count_params()),
        })
    except Exception as e:  # noqa: BLE001
        send({"type": "error", "message": "%s: %s" % (type(e).__name__, e)})
        return 1

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.t0

    timer = EpochTimer()
    batch = int(cfg["batchSize"])
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line).get("cmd")
        if cmd == "epoch":
            try:
                h = model.fit(x, y, batch_size=batch, epochs=1, shuffle=True, verbose=0, callbacks=[timer])
                send({"type": "epoch", "seconds": timer.seconds, "loss": float(h.history["loss"][-1]),
                      "acc": float(h.history["accuracy"][-1]), "samples": n, "steps": -(-n // batch)})
            except Exception as e:  # noqa: BLE001
                send({"type": "error", "message": "%s: %s" % (type(e).__name__, e)})
                return 1
        elif cmd == "finish":
            send({"type": "done", "peakRssBytes": peak_rss_bytes()})
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
