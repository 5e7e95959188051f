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

# (M, K, N[, transposes]): an MLP's forward/backward products (batch 200,
# MNIST-shaped), a square-ish large product, and prediction on 1-32 rows.
# Narrow outputs: the 10-class output layer and a 1-column regression head
# forward, and the output layer's backward products: the delta passed back,
# delta (200 x 10) @ W^T ("tB": W is 128 x 10), and the weight gradient
# A^T @ delta ("tA": A is 200 x 128).
SHAPES = [
    (200, 784, 256), (200, 256, 128), (200, 128, 10), (200, 100, 1),
    (200, 10, 128, "tB"), (128, 200, 10, "tA"), (256, 1024, 1024),
    (2048, 2048, 2048), (1, 784, 256), (8, 784, 256), (32, 784, 256),
]
DENSE_SHAPES = [(200, 784, 256), (200, 256, 128), (32, 784, 256), (1, 784, 256)]
# bfloat16 products (compute_dtype="bfloat16"): an MLP's forward products,
# its weight gradients a^T @ delta ((784, 256) from 200 rows: trans_a), and
# a large square one.
BF16_SHAPES = [
    (200, 784, 256, False), (200, 256, 128, False), (200, 128, 10, False),
    (784, 200, 256, True), (256, 200, 128, True), (2048, 2048, 2048, False),
]
BF16_TIERS = ("amx", "avx512_bf16", "emulated")


def run(repeat=7, threads=(1, 2)):
    rng = np.random.default_rng(0)
    rows = []
    for n_threads in threads:
        with threadpool_limits(limits=n_threads):
            for m, k, n, *trans in SHAPES:
                ta, tb = "tA" in trans, "tB" in trans
                a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
                b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
                out = np.empty((m, n), np.float32)
                flops = 2.0 * m * n * k
                rep = max(3, repeat // 3) if m * n * k > 1e9 else repeat
                t_fm = median_call_seconds(
                    lambda: kernels.gemm(a, b, trans_a=ta, trans_b=tb, out=out), repeat=rep)
                # NumPy multiplies the transposed views (its BLAS reads them in place).
                a_op, b_op = (a.T if ta else a), (b.T if tb else b)
                t_np = median_call_seconds(lambda: np.matmul(a_op, b_op, out=out), repeat=rep)
                rows.append(dict(kind="gemm", threads=n_threads, m=m, k=k, n=n,
                                 trans="".join(trans),
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
                rows.append(dict(kind="dense_relu", threads=n_threads, m=m, k=k, n=n, trans="",
                                 fastmlp_gflops=flops / t_fm / 1e9,
                                 numpy_gflops=flops / t_np / 1e9, speedup=t_np / t_fm))
    return rows


def run_bf16(repeat=7, threads=(1, 2)):
    """bf16 GEMM per tier this machine runs, against float32 native and
    OpenBLAS (scipy.linalg.blas.sgemm), GFLOP/s of the same product."""
    from scipy.linalg import blas

    rng = np.random.default_rng(0)
    tiers = [t for t in BF16_TIERS if fastmlp._kernels._bf16_init(t)[0] == t]
    rows = []
    try:
        for n_threads in threads:
            with threadpool_limits(limits=n_threads):
                for m, k, n, ta in BF16_SHAPES:
                    a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
                    b = rng.standard_normal((k, n), dtype=np.float32)
                    out = np.empty((m, n), np.float32)
                    flops = 2.0 * m * n * k
                    rep = max(3, repeat // 3) if m * n * k > 1e9 else repeat
                    row = dict(kind="gemm_bf16", threads=n_threads, m=m, k=k, n=n, trans_a=ta)
                    row["float32_gflops"] = flops / median_call_seconds(
                        lambda: kernels.gemm(a, b, trans_a=ta, out=out), repeat=rep) / 1e9
                    row["openblas_gflops"] = flops / median_call_seconds(
                        lambda: blas.sgemm(1.0, a, b, trans_a=ta), repeat=rep) / 1e9
                    for tier in tiers:
                        fastmlp._kernels._bf16_init(tier)
                        row[f"{tier}_gflops"] = flops / median_call_seconds(
                            lambda: kernels.gemm(a, b, trans_a=ta, out=out,
                                                 compute_dtype="bfloat16"), repeat=rep) / 1e9
                    rows.append(row)
    finally:
        fastmlp._kernels._bf16_init(None)
    return rows


def print_bf16_table(rows):
    tiers = [t for t in BF16_TIERS if rows and f"{t}_gflops" in rows[0]]
    print(f"{'bf16 GF/s':<11}{'thr':>4}{'M':>6}{'K':>6}{'N':>6}{'tA':>3}{'f32':>8}{'OpenBLAS':>9}"
          + "".join(f"{t:>12}" for t in tiers) + f"{'best/OpenBLAS':>15}")
    for r in rows:
        best = max(r[f"{t}_gflops"] for t in tiers)
        print(f"{r['kind']:<11}{r['threads']:>4}{r['m']:>6}{r['k']:>6}{r['n']:>6}"
              f"{'T' if r['trans_a'] else '':>3}{r['float32_gflops']:>8.1f}"
              f"{r['openblas_gflops']:>9.1f}" + "".join(f"{r[f'{t}_gflops']:>12.1f}" for t in tiers)
              + f"{best / r['openblas_gflops']:>15.2f}")


def machine():
    blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('threading_layer', '')})"
            for i in threadpool_info() if i.get("user_api") == "blas"]
    return {"platform": platform.platform(), "processor": platform.processor(),
            "python": platform.python_version(), "numpy": np.__version__,
            "numpy_blas": blas, "fastmlp": fastmlp.__version__,
            "fastmlp_isa": fastmlp._kernels._runtime_info()["isa"],
            "fastmlp_bf16_tier": fastmlp._kernels._runtime_info()["bf16_tier"],
            "fastmlp_gemm": fastmlp.get_config()["gemm"]}


def print_table(rows):
    print(f"{'kernel':<11}{'thr':>4}{'M':>6}{'K':>6}{'N':>6}{'op':>4}"
          f"{'fastmlp GF/s':>14}{'numpy GF/s':>12}{'ratio':>8}")
    for r in rows:
        print(f"{r['kind']:<11}{r['threads']:>4}{r['m']:>6}{r['k']:>6}{r['n']:>6}{r['trans']:>4}"
              f"{r['fastmlp_gflops']:>14.1f}{r['numpy_gflops']:>12.1f}{r['speedup']:>8.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", help="also save the rows and the machine as JSON here")
    parser.add_argument("--bf16-only", action="store_true",
                        help="only the bfloat16 table (every tier this machine runs)")
    parser.add_argument("--float32-only", action="store_true",
                        help="skip the bfloat16 table")
    args = parser.parse_args(argv)
    rows = [] if args.bf16_only else run(args.repeat, tuple(args.threads))
    if rows:
        print_table(rows)
    bf16_rows = [] if args.float32_only else run_bf16(args.repeat, tuple(args.threads))
    if bf16_rows:
        print_bf16_table(bf16_rows)
    rows = rows + bf16_rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
