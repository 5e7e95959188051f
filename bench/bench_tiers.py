"""Every x86 kernel set this CPU runs, in one run: GFLOP/s per set.

Each set (``generic``, ``avx2``, ``avx512``: what a CPU without AVX2, an
AVX2-only CPU such as Zen 1-3 or Haswell to Comet Lake, and an AVX-512 CPU
get) runs in its own interpreter, forced with FASTMLP_ISA, on one thread
(the widest once more with FASTMLP_BF16=emulated):
float32 and float64 GEMM of an MLP's forward product and a larger one, and
the bfloat16 product (its tier follows the set: the emulation on generic
and avx2). docs/guide/config.md quotes the table.

Usage::

    python bench/bench_tiers.py [--repeat N]
"""
import argparse
import os
import subprocess
import sys

CHILD = r"""
import sys, numpy as np
from threadpoolctl import threadpool_limits
from fastmlp import _kernels, kernels
from fastmlp._bench import median_call_seconds
repeat = int(sys.argv[1])
info = _kernels._runtime_info()
rng = np.random.default_rng(0)
cells = []
for dtype, bf16, (m, k, n) in [("float32", False, (200, 784, 256)),
                               ("float32", False, (256, 1024, 1024)),
                               ("float64", False, (200, 784, 256)),
                               ("float32", True, (200, 784, 256))]:
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    kw = {"compute_dtype": "bfloat16"} if bf16 else {}
    with threadpool_limits(1):
        s = median_call_seconds(lambda: kernels.gemm(a, b, **kw), repeat=repeat)
    cells.append(2 * m * k * n / s / 1e9)
print(info["isa"], info["bf16_tier"], *("%.1f" % c for c in cells))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    from fastmlp import _kernels
    order = ["generic", "avx2", "avx512"]
    best = _kernels._runtime_info()["isa_best"]
    sets = order[: order.index(best) + 1] if best in order else ["generic", best]
    print("1 thread, GFLOP/s (median of %d rounds)" % args.repeat)
    print("| set | bf16 tier | f32 200x784x256 | f32 256x1024x1024 | f64 200x784x256 "
          "| bf16 200x784x256 |")
    print("|---|---|---|---|---|---|")
    # The widest set once more with its bfloat16 emulation (FASTMLP_BF16).
    runs = [(isa, "") for isa in sets] + [(sets[-1], "emulated")]
    for isa, bf16 in runs:
        env = dict(os.environ, FASTMLP_ISA=isa, FASTMLP_BF16=bf16)
        out = subprocess.run([sys.executable, "-c", CHILD, str(args.repeat)], env=env,
                             capture_output=True, text=True, check=True).stdout.split()
        print("| " + " | ".join(out) + " |")


if __name__ == "__main__":
    main()
