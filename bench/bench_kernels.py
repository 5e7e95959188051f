"""GEMM and fused dense throughput: fastmlp.kernels against NumPy, one run.

Prints GFLOP/s of ``fastmlp.kernels.gemm`` and of NumPy's ``matmul`` on the
same float32 arrays, and their ratio, for the shapes of an MLP's training and
prediction, with 1 and 2 threads (threadpoolctl limits both fastmlp's OpenMP
and NumPy's BLAS); then ``dense(x, w, b, "relu")`` against
``np.maximum(x @ w + b, 0)``.

Usage::

    python bench/bench_kernels.py [--repeat N] [--json PATH]
"""
import argparse
import json
import platform

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import fastmlp
from fastmlp import kernels
from fastmlp._bench import median_call_seconds

# (M, K, N): an MLP's forward/backward products (batch 200, MNIST-shaped),
# a square-ish large product, and prediction on 1-32 rows.
SHAPES = [
    (200, 784, 256), (200, 256, 128), (200, 128, 10), (256, 1024, 1024),
    (2048, 2048, 2048), (1, 784, 256), (8, 784, 256), (32, 784, 256),
]
DENSE_SHAPES = [(200, 784, 256), (200, 256, 128), (32, 784, 256), (1, 784, 256)]


def run(repeat=7, threads=(1, 2)):
    rng = np.random.default_rng(0)
    rows = []
    for n_threads in threads:
        with threadpool_limits(limits=n_threads):
            for m, k, n in SHAPES:
                a = rng.standard_normal((m, k), dtype=np.float32)
                b = rng.standard_normal((k, n), dtype=np.float32)
                out = np.empty((m, n), np.float32)
                flops = 2.0 * m * n * k
                rep = max(3, repeat // 3) if m * n * k > 1e9 else repeat
                t_fm = median_call_seconds(lambda: kernels.gemm(a, b, out=out), repeat=rep)
                t_np = median_call_seconds(lambda: np.matmul(a, b, out=out), repeat=rep)
                rows.append(dict(kind="gemm", threads=n_threads, m=m, k=k, n=n,
                                 fastmlp_gflops=flops / t_fm / 1e9,
                                 numpy_gflops=flops / t_np / 1e9, speedup=t_np / t_fm))
            for m, k, n in DENSE_SHAPES:
                x = rng.standard_normal((m, k), dtype=np.float32)
                w = rng.standard_normal((k, n), dtype=np.float32)
                bias = rng.standard_normal(n, dtype=np.float32)
                out = np.empty((m, n), np.float32)
                flops = 2.0 * m * n * k
                t_fm = median_call_seconds(
                    lambda: kernels.dense(x, w, bias, "relu", out=out), repeat=repeat)
                t_np = median_call_seconds(lambda: np.maximum(x @ w + bias, 0), repeat=repeat)
                rows.append(dict(kind="dense_relu", threads=n_threads, m=m, k=k, n=n,
                                 fastmlp_gflops=flops / t_fm / 1e9,
                                 numpy_gflops=flops / t_np / 1e9, speedup=t_np / t_fm))
    return rows


def machine():
    blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('threading_layer', '')})"
            for i in threadpool_info() if i.get("user_api") == "blas"]
    return {"platform": platform.platform(), "processor": platform.processor(),
            "python": platform.python_version(), "numpy": np.__version__,
            "numpy_blas": blas, "fastmlp": fastmlp.__version__,
            "fastmlp_isa": fastmlp._kernels._runtime_info()["isa"],
            "fastmlp_gemm": fastmlp.get_config()["gemm"]}


def print_table(rows):
    print(f"{'kernel':<11}{'thr':>4}{'M':>6}{'K':>6}{'N':>6}"
          f"{'fastmlp GF/s':>14}{'numpy GF/s':>12}{'ratio':>8}")
    for r in rows:
        print(f"{r['kind']:<11}{r['threads']:>4}{r['m']:>6}{r['k']:>6}{r['n']:>6}"
              f"{r['fastmlp_gflops']:>14.1f}{r['numpy_gflops']:>12.1f}{r['speedup']:>8.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", help="also save the rows and the machine as JSON here")
    args = parser.parse_args(argv)
    rows = run(args.repeat, tuple(args.threads))
    print_table(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
