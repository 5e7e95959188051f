"""A forked child's speed against its parent's, on 1 and 2 OpenMP threads.

A child forked from a thread that had led an OpenMP team runs fastmlp on one
thread (GNU libgomp cannot start a team there: csrc/dispatch.c); a thread the
child starts has its threads back. For OMP_NUM_THREADS in `--threads`, a
fresh process fits an MLP (adam, `--epochs` epochs) and times predict_proba,
then forks a child that repeats both timings, then the child starts a thread
that repeats them again. Each time is the median of `--repeat` runs.

Usage::

    python bench/bench_fork.py [--threads 1 2] [--rows 8000] [--repeat 5]
"""
import argparse
import os
import subprocess
import sys

_RUN = r"""
import os, pickle, statistics, sys, threading, time, warnings
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from fastmlp import MLPClassifier
rows, epochs, repeat = map(int, sys.argv[1:4])
rng = np.random.default_rng(0)
X = rng.random((rows, 256)); y = (X[:, :3].sum(axis=1) * 2).astype(int)
warnings.simplefilter("ignore", ConvergenceWarning)

def timings():
    fits, preds = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        m = MLPClassifier((512, 256), batch_size=256, max_iter=epochs, random_state=0).fit(X, y)
        fits.append(time.perf_counter() - t)
        t = time.perf_counter(); m.predict_proba(X); preds.append(time.perf_counter() - t)
    return statistics.median(fits), statistics.median(preds)

def report(where, t):
    sys.stdout.write(f"{where} {t[0]:.4f} {t[1]:.4f}\n"); sys.stdout.flush()

report("parent", timings())
pid = os.fork()
if pid == 0:
    report("child", timings())
    out = []
    th = threading.Thread(target=lambda: out.append(timings())); th.start(); th.join()
    report("child-thread", out[0])
    os._exit(0)
os.waitpid(pid, 0)
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rows", type=int, default=8000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"fit: {args.rows} x 256 rows, (512, 256) hidden, {args.epochs} epochs; "
          f"predict_proba on the same rows; median of {args.repeat}, seconds")
    print(f"{'OMP_NUM_THREADS':>15} {'process':>13} {'fit':>8} {'predict':>8}")
    for n in args.threads:
        env = dict(os.environ, OMP_NUM_THREADS=str(n))
        out = subprocess.run([sys.executable, "-c", _RUN, str(args.rows), str(args.epochs),
                              str(args.repeat)], env=env, capture_output=True, text=True,
                             timeout=1800, check=True).stdout
        for line in out.splitlines():
            where, fit, predict = line.split()
            print(f"{n:>15} {where:>13} {float(fit):>8.3f} {float(predict):>8.3f}")


if __name__ == "__main__":
    main()
