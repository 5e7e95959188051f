"""Two builds of fastmlp, one run: is this build slower than another one?

Runs the same training epochs (bench_train.py's configurations, through
``partial_fit``) and predictions (bench_predict.py's MNIST-shaped network)
in two Python interpreters, each with its own fastmlp installed: this one
(``sys.executable``) and ``--baseline`` (for example a virtual environment
with the previous commit installed). The measurements alternate between the
two, round after round, each in a fresh subprocess, so that a shared,
noisy machine slows both alike; the table gives the median of the rounds and
the ratio new / baseline (below 1: this build is faster).

Usage::

    python3 -m venv /tmp/old && /tmp/old/bin/pip install scikit-build-core \\
        cython cython-cmake ninja cmake numpy scikit-learn threadpoolctl
    git worktree add /tmp/old-src COMMIT && \\
        /tmp/old/bin/pip install --no-build-isolation /tmp/old-src
    python bench/compare_builds.py --baseline /tmp/old/bin/python \\
        [--configs mnist deep tabular] [--threads 1 2] [--rounds 5] [--scale 0.25]

Both interpreters need numpy, scikit-learn and threadpoolctl. Only the
public estimator API is used, so any two versions compare.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

# The child: one measurement, printed as JSON seconds. Self-contained so that
# it runs against any fastmlp version.
_CHILD = r"""
import json, sys, time, warnings
import numpy as np
from threadpoolctl import threadpool_limits
import fastmlp

kind, name, threads, dtype, scale, repeat = sys.argv[1:7]
threads, scale, repeat = int(threads), float(scale), int(repeat)
CONFIGS = {
    "mnist": dict(n=60000, d=784, hidden=(256, 128), outputs=10, batch=200, cls=True),
    "tabular": dict(n=100000, d=50, hidden=(100, 100), outputs=1, batch=200, cls=False),
    "deep": dict(n=20000, d=74, hidden=(1024, 1024, 512, 512, 256, 256, 128, 128, 64, 64),
                 outputs=8, batch=32, cls=True),
    "mnist_b32": dict(n=60000, d=784, hidden=(256, 128), outputs=10, batch=32, cls=True),
}
cfg = CONFIGS[name]
rng = np.random.default_rng(0)
n = max(int(cfg["n"] * scale), cfg["batch"])
X = rng.random((n, cfg["d"]), dtype=np.float32)
if cfg["cls"]:
    y = rng.integers(0, cfg["outputs"], n)
    est = fastmlp.MLPClassifier(hidden_layer_sizes=cfg["hidden"], batch_size=cfg["batch"],
                                random_state=0)
    fit_kw = dict(classes=np.arange(cfg["outputs"]))
else:
    y = X[:, :5].sum(axis=1)
    est = fastmlp.MLPRegressor(hidden_layer_sizes=cfg["hidden"], batch_size=cfg["batch"],
                               random_state=0)
    fit_kw = {}
if dtype == "bfloat16":
    est.set_params(compute_dtype="bfloat16")
times = []
with threadpool_limits(limits=threads), warnings.catch_warnings():
    warnings.simplefilter("ignore")
    est.partial_fit(X, y, **fit_kw)  # warm-up epoch (and the model to predict with)
    if kind == "epoch":
        for _ in range(repeat):
            t0 = time.perf_counter()
            est.partial_fit(X, y, **fit_kw)
            times.append(time.perf_counter() - t0)
    else:  # predict_proba of `rows` rows: calls per round so that a round takes >= 50 ms
        rows = int(kind.split(":")[1])
        Xb = np.ascontiguousarray(np.resize(X, (rows, X.shape[1])))
        f = est.predict_proba if cfg["cls"] else est.predict
        f(Xb)
        calls = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(calls):
                f(Xb)
            dt = time.perf_counter() - t0
            if dt >= 0.05:
                break
            calls *= 4
        times.append(dt / calls)
        for _ in range(repeat - 1):
            t0 = time.perf_counter()
            for _ in range(calls):
                f(Xb)
            times.append((time.perf_counter() - t0) / calls)
times.sort()
print(json.dumps(times[len(times) // 2]))
"""


def measure(python, kind, name, threads, dtype, scale, repeat):
    """Median seconds of one measurement in a fresh `python` process."""
    out = subprocess.run([python, "-c", _CHILD, kind, name, str(threads), dtype, str(scale),
                          str(repeat)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{python} failed on {kind} {name}:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cases(configs, threads, predict_rows):
    """(kind, config, threads, dtype) of every measurement."""
    for name in configs:
        for thr in threads:
            for dtype in ("float32", "bfloat16"):
                yield ("epoch", name, thr, dtype)
    for rows in predict_rows:
        for dtype in ("float32", "bfloat16"):
            yield (f"predict:{rows}", "mnist", 1, dtype)


def main(argv=None):
    """Alternate the two builds round by round and print the ratio table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="python of the other build")
    parser.add_argument("--configs", nargs="+", default=["mnist", "deep", "tabular"])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--predict-rows", type=int, nargs="+", default=[1, 32, 100000])
    parser.add_argument("--rounds", type=int, default=5, help="alternations of the two builds")
    parser.add_argument("--repeat", type=int, default=2, help="epochs (or rounds) per process")
    parser.add_argument("--scale", type=float, default=0.25, help="fraction of the rows")
    parser.add_argument("--json", help="save the rows here")
    args = parser.parse_args(argv)
    builds = {"new": sys.executable, "baseline": args.baseline}
    version = {k: subprocess.run([p, "-c", "import fastmlp; print(fastmlp.__version__)"],
                                 capture_output=True, text=True).stdout.strip()
               for k, p in builds.items()}
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor()) \
        if os.path.exists("/proc/cpuinfo") else platform.processor()
    print(f"CPU: {cpu}, {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    print(f"new: {builds['new']} (fastmlp {version['new']}); baseline: {builds['baseline']} "
          f"(fastmlp {version['baseline']}); {args.rounds} alternating rounds, scale "
          f"{args.scale}")
    print(f"{'measurement':<22}{'config':<9}{'thr':>4} {'dtype':<9}{'new':>11}{'baseline':>11}"
          f"{'new/base':>10}")
    rows = []
    for kind, name, thr, dtype in cases(args.configs, args.threads, args.predict_rows):
        got = {"new": [], "baseline": []}
        for r in range(args.rounds):
            order = ("new", "baseline") if r % 2 == 0 else ("baseline", "new")
            for build in order:
                got[build].append(measure(builds[build], kind, name, thr, dtype, args.scale,
                                          args.repeat))
        med = {k: statistics.median(v) for k, v in got.items()}
        # seconds for epochs and big predictions, microseconds for latencies
        unit, f = ("s ", 1.0) if med["new"] >= 0.01 else ("us", 1e6)
        print(f"{kind:<22}{name:<9}{thr:>4} {dtype:<9}{med['new'] * f:>9.4f}{unit:<2}"
              f"{med['baseline'] * f:>9.4f}{unit:<2}{med['new'] / med['baseline']:>10.3f}",
              flush=True)
        rows.append({"kind": kind, "config": name, "threads": thr, "dtype": dtype,
                     "seconds": got})
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"cpu": cpu, "versions": version, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
