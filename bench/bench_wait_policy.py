"""OpenMP wait policies: fastmlp's 2-thread epochs on a quiet and a busy machine.

fastmlp's parallel regions are short (one product each, many per
minibatch), so how a thread that finished its share waits matters when
another process wants a core. For each policy (libgomp's default spin, three
shorter spins, passive waiting) a fresh process times fastmlp epochs
(median of `--epochs` after a warm-up; best of `--repeat` processes), first
on the quiet machine, then beside `--busy` busy-looping processes; then the
speed of single mid-sized products, back to back, where a sleeping thread's
wake-up shows.
fastmlp itself loads with GOMP_SPINCOUNT=4000 unless one of these
variables is set (src/fastmlp/_config.py).

Usage::

    python bench/bench_wait_policy.py [--configs mnist deep] [--scale 0.3 0.1]
                                      [--threads 2] [--busy 1] [--repeat 2]
"""
import argparse
import multiprocessing
import os
import subprocess
import sys

POLICIES = [("spin 300000 (libgomp default)", {"GOMP_SPINCOUNT": "300000"}),
            ("spin 10000", {"GOMP_SPINCOUNT": "10000"}),
            ("spin 4000 (fastmlp's)", {"GOMP_SPINCOUNT": "4000"}),
            ("spin 1000", {"GOMP_SPINCOUNT": "1000"}),
            ("passive", {"OMP_WAIT_POLICY": "PASSIVE"})]

_CHILD = r"""
import sys
from threadpoolctl import threadpool_limits
import fastmlp
from fastmlp._bench import CONFIGS, estimator_epoch, make_data, time_epochs
name, scale, threads, epochs = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cfg = CONFIGS[name]
X, y = make_data(cfg, scale)
kind = "Classifier" if cfg["task"] == "classification" else "Regressor"
with threadpool_limits(limits=threads):
    print(time_epochs(estimator_epoch(getattr(fastmlp, "MLP" + kind), cfg, X, y), epochs))
"""


_PRODUCTS = r"""
import numpy as np
from threadpoolctl import threadpool_limits
from fastmlp import kernels
from fastmlp._bench import median_call_seconds
rng = np.random.default_rng(0)
for m, k, n in [(200, 256, 128), (200, 784, 256), (32, 784, 256)]:
    a = rng.random((m, k), dtype=np.float32)
    b = rng.random((k, n), dtype=np.float32)
    with threadpool_limits(2):
        print(2 * m * n * k / median_call_seconds(kernels.gemm, a, b, repeat=9) / 1e9)
"""


def products_gflops(env):
    """GF/s of single mid-sized products, back to back, on 2 threads."""
    base = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", _PRODUCTS], env={**base, **env}, check=True,
                         capture_output=True, text=True).stdout.split()
    return [float(v) for v in out]


def _spin():
    while True:
        pass


def epoch_seconds(env, name, scale, threads, epochs, repeat):
    base = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    runs = [float(subprocess.run([sys.executable, "-c", _CHILD, name, str(scale), str(threads),
                                  str(epochs)], env={**base, **env}, check=True,
                                 capture_output=True, text=True).stdout.split()[-1])
            for _ in range(repeat)]
    return min(runs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["mnist", "deep"])
    parser.add_argument("--scale", type=float, nargs="+", default=[0.3, 0.1])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--busy", type=int, default=1, help="busy processes in the busy run")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    scales = dict(zip(args.configs, args.scale + args.scale[-1:] * len(args.configs)))
    cols = [(load, name) for load in ("quiet", "busy") for name in args.configs]
    print(f"{'policy':<31}" + "".join(f"{load + ' ' + name:>13}" for load, name in cols)
          + "   (seconds per epoch)")
    one = {name: epoch_seconds({"OMP_WAIT_POLICY": "PASSIVE"}, name, scales[name], 1,
                               args.epochs, args.repeat) for name in args.configs}
    results = {label: {} for label, _ in POLICIES}
    for load in ("quiet", "busy"):
        spinners = [multiprocessing.Process(target=_spin, daemon=True)
                    for _ in range(args.busy if load == "busy" else 0)]
        for p in spinners:
            p.start()
        try:
            for label, env in POLICIES:
                for name in args.configs:
                    results[label][load, name] = epoch_seconds(env, name, scales[name],
                                                               args.threads, args.epochs,
                                                               args.repeat)
        finally:
            for p in spinners:
                p.terminate()
    for label, _ in POLICIES:
        print(f"{label:<31}" + "".join(f"{results[label][c]:>13.3f}" for c in cols))
    print(f"{'1 thread, quiet (reference)':<31}"
          + "".join(f"{one[name]:>13.3f}" for load, name in cols if load == "quiet"))
    print()
    print(f"{'policy':<31}{'200x256x128':>13}{'200x784x256':>13}{'32x784x256':>13}"
          "   (GF/s of one product on 2 threads, quiet)")
    for label, env in POLICIES:
        print(f"{label:<31}" + "".join(f"{v:>13.1f}" for v in products_gflops(env)))


if __name__ == "__main__":
    main()
