"""Epoch time of one Keras Sequential script: fastmlp.keras against Keras 3 on JAX.

The same function (:func:`script`) builds, compiles and trains an
MNIST-shaped MLP, 784-300-100-10 (relu, relu, softmax; sparse categorical
cross-entropy; metrics ``accuracy``), given either ``fastmlp.keras`` or
``keras`` as its ``keras`` module: the one-import-line switch of the
curriculum. For batch sizes 32 and 200, optimizers ``'sgd'`` and
``'adam'`` (Keras's defaults), 1 and 2 threads, it reports the median time
of the epochs after a warm-up epoch (which also holds Keras's JIT
compilation), timed by a callback at ``on_epoch_begin`` / ``on_epoch_end``,
and the test accuracy after them (both libraries in the same run).

Data: the shipped MNIST subset (tests/data/mnist_4class_subset.npz, 2000
training images of the digits 0, 1, 6, 9, scaled to [0, 1]) tiled to
``--rows`` rows (12000 by default); the accuracy is on its 800 test images.

Threads: fastmlp runs in this process under ``threadpool_limits(t)`` (its
OpenMP threads). Keras runs in a subprocess per thread count (XLA fixes its
threads at import), pinned with ``os.sched_setaffinity`` to the first ``t``
CPUs before JAX is imported, and for 1 thread with
``XLA_FLAGS="--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1"`` (as bench/bench_train.py does). The
subprocess runs ``--keras-python`` (default: this interpreter), which needs
``keras`` and ``jax`` but not fastmlp; without them the Keras columns say
so and the fastmlp ones are still measured.

Usage::

    python bench/bench_keras.py [--keras-python /path/to/venv/bin/python]
                                [--threads 1 2] [--batch-sizes 32 200]
                                [--optimizers sgd adam] [--epochs 3] [--rows 12000]
                                [--repeats 1] [--split]

``--split`` adds the split of one more fastmlp epoch, after the timed ones
and the accuracy (products, other passes, optimizer step, gather, and the
rest: outside the C epoch), from the engine's profile clock. With
``PYTHONPATH=DIR`` holding another build of fastmlp (``pip install --no-deps
--target DIR .`` from its checkout), the same script measures that build:
before and after a change.

Never run by the test suite (timing is not a test).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data", "mnist_4class_subset.npz")


def load(rows):
    """The training rows (the subset tiled to `rows`) and the test set, float32."""
    data = np.load(DATA)
    X, y = data["X_train"].astype(np.float32), data["y_train"]
    reps = -(-rows // len(X))
    X, y = np.tile(X, (reps, 1))[:rows], np.tile(y, reps)[:rows]
    return X, y, data["X_test"].astype(np.float32), data["y_test"]


def script(keras, X, y, X_test, y_test, optimizer, batch_size, epochs, profile=None):
    """The benchmarked script, for either ``keras`` module.

    `profile`: fastmlp's ``_kernels`` module, to clock the last epoch's
    split (products, other passes, optimizer step, gather) with the engine's
    profile clock. Returns (seconds of each epoch, test accuracy, split or
    None)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(300, activation="relu"),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer,
                  metrics=["accuracy"])

    class EpochClock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    seconds = []
    model.fit(X, y, batch_size=batch_size, epochs=1 + epochs, verbose=0,
              callbacks=[EpochClock()])
    _, accuracy = model.evaluate(X_test, y_test, verbose=0)
    if profile is None:
        return seconds, float(accuracy), None
    # One more epoch, after the accuracy, with the engine's profile clock
    # (read when fit starts: on for this fit only).
    profile._epoch_profile(True)
    try:
        start = time.perf_counter()
        model.fit(X, y, batch_size=batch_size, epochs=1, verbose=0)
        wall = time.perf_counter() - start
    finally:
        split = profile._epoch_profile(False)
    split["rest"] = wall - sum(split.values())
    return seconds, float(accuracy), split


def run_configs(keras, configs, rows, epochs, profile=None):
    X, y, X_test, y_test = load(rows)
    out = []
    for optimizer, batch_size in configs:
        seconds, accuracy, split = script(keras, X, y, X_test, y_test, optimizer, batch_size,
                                          epochs, profile)
        out.append({"optimizer": optimizer, "batch_size": batch_size,
                    "warmup": seconds[0], "seconds": statistics.median(seconds[1:]),
                    "accuracy": accuracy, "split": split})
    return out


def median_run(rows):
    """The row, among one configuration's repeats, of median epoch time."""
    return sorted(rows, key=lambda r: r["seconds"])[(len(rows) - 1) // 2]


def keras_worker(threads, configs, rows, epochs):
    """In a fresh process: pin to `threads` CPUs, import Keras on JAX, print JSON."""
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:threads])
    os.environ["KERAS_BACKEND"] = "jax"
    import keras

    result = {"keras": keras.__version__, "rows": run_configs(keras, configs, rows, epochs)}
    import jax

    result["jax"] = jax.__version__
    print(json.dumps(result))


def keras_rows(python, threads, configs, rows, epochs):
    """Keras's measurements from a subprocess, or an error string."""
    env = dict(os.environ, KERAS_BACKEND="jax")
    if threads == 1:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                            "intra_op_parallelism_threads=1").strip()
    cmd = [python, os.path.abspath(__file__), "--keras-worker", str(threads), "--rows",
           str(rows), "--epochs", str(epochs), "--configs", json.dumps(configs)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
        return f"Keras not run ({python}): {tail[0][:200]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def cpu_model():
    """The CPU's model name (Linux /proc/cpuinfo), or platform.processor()."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras-python", default=sys.executable,
                        help="interpreter with keras and jax installed")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 200])
    parser.add_argument("--optimizers", nargs="+", default=["sgd", "adam"])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after the warm-up")
    parser.add_argument("--rows", type=int, default=12000)
    parser.add_argument("--repeats", type=int, default=1,
                        help="alternate fastmlp and Keras this many times (median run)")
    parser.add_argument("--split", action="store_true",
                        help="also print fastmlp's epoch split (engine profile clock)")
    parser.add_argument("--keras-worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--configs", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.keras_worker:
        keras_worker(args.keras_worker, [tuple(c) for c in json.loads(args.configs)],
                     args.rows, args.epochs)
        return

    from threadpoolctl import threadpool_limits

    import fastmlp
    from fastmlp import keras as fastmlp_keras

    configs = [(o, b) for b in args.batch_sizes for o in args.optimizers]
    load_before = os.getloadavg()
    info = fastmlp._kernels._runtime_info()
    print(f"CPU: {cpu_model()} ({os.cpu_count()} CPUs); fastmlp {fastmlp.__version__}, "
          f"kernel set {info['isa']}")
    print(f"MNIST-shaped 784-300-100-10, {args.rows} rows, median of {args.epochs} epochs "
          f"after a warm-up, median of {args.repeats} alternating runs; load average "
          f"before: {load_before[0]:.2f}")
    results, versions = [], None
    for t in args.threads:
        # --repeats: fastmlp and Keras alternate, each row the median run
        # (by epoch time) of its repeats: a shared machine's slow spells
        # fall on both libraries.
        runs_ours, runs_theirs = [], []
        for _ in range(args.repeats):
            with threadpool_limits(limits=t):
                runs_ours.append(run_configs(fastmlp_keras, configs, args.rows, args.epochs,
                                             fastmlp._kernels if args.split else None))
            runs_theirs.append(keras_rows(args.keras_python, t, configs, args.rows,
                                          args.epochs))
        ours = [median_run([run[i] for run in runs_ours]) for i in range(len(configs))]
        theirs = runs_theirs[0]
        if isinstance(theirs, dict) and all(isinstance(r, dict) for r in runs_theirs):
            theirs = dict(theirs, rows=[median_run([r["rows"][i] for r in runs_theirs])
                                        for i in range(len(configs))])
        for i, row in enumerate(ours):
            peer = theirs["rows"][i] if isinstance(theirs, dict) else None
            results.append((t, row, peer))
        if not isinstance(theirs, dict):
            print(theirs)
        else:
            versions = f"Keras {theirs['keras']}, JAX {theirs['jax']}"
    print()
    header = (f"{'threads':>7} {'batch':>5} {'optimizer':>9} {'fastmlp s':>10} {'Keras s':>9} "
              f"{'ratio':>6} {'fastmlp acc':>11} {'Keras acc':>9}")
    print(header)
    print("-" * len(header))
    for t, row, peer in results:
        k_s = f"{peer['seconds']:9.3f}" if peer else f"{'-':>9}"
        ratio = f"{row['seconds'] / peer['seconds']:6.2f}" if peer else f"{'-':>6}"
        k_acc = f"{peer['accuracy']:9.4f}" if peer else f"{'-':>9}"
        print(f"{t:>7} {row['batch_size']:>5} {row['optimizer']:>9} {row['seconds']:10.3f} "
              f"{k_s} {ratio} {row['accuracy']:11.4f} {k_acc}")
    print(f"\nratio = fastmlp epoch / Keras epoch (target <= 0.5). "
          f"Load average after: {os.getloadavg()[0]:.2f}.")
    if versions:
        print(versions)
    if args.split:
        parts = ["products", "passes", "step", "gather", "rest"]
        print("\nfastmlp's split of one more epoch (ms; rest: outside the C epoch)")
        header = f"{'threads':>7} {'batch':>5} {'optimizer':>9} " + " ".join(
            f"{p:>9}" for p in parts)
        print(header)
        print("-" * len(header))
        for t, row, _ in results:
            print(f"{t:>7} {row['batch_size']:>5} {row['optimizer']:>9} " + " ".join(
                f"{1e3 * row['split'][p]:9.1f}" for p in parts))


if __name__ == "__main__":
    main()
