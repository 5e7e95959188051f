"""This machine's single-core FMA peak in GFLOP/s, measured.

Times a C loop of independent fused multiply-adds (compiled at run time with
the C compiler and the widest vector ISA this CPU reports), which is the
ceiling any float32 GEMM on one core can reach. Falls back to the best GEMM
throughput NumPy's BLAS reaches if no C compiler is available.

Usage::

    python bench/peak.py [--json PATH]
"""
import argparse
import ctypes
import json
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np

# 12 independent accumulators per vector width: more than latency x
# throughput (4 x 2) on current x86 cores, so the loop is FMA-throughput bound.
SOURCE = r"""
#include <immintrin.h>
#include <stdint.h>
float fma_loop(int64_t iters, float x) {
#if defined(__AVX512F__)
    __m512 a[12], m = _mm512_set1_ps(x), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
    for (int64_t t = 0; t < iters; t++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
    __m512 s = a[0]; for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
#else
    __m256 a[12], m = _mm256_set1_ps(x), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
    for (int64_t t = 0; t < iters; t++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
    float out[8]; __m256 s = a[0]; for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, a[i]);
    _mm256_storeu_ps(out, s); return out[0];
#endif
}
int lanes(void) {
#if defined(__AVX512F__)
    return 16;
#else
    return 8;
#endif
}
"""


def _compile():
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        return None
    flags = "-mavx512f" if _cpu_has("avx512f") else "-mavx2 -mfma"
    tmp = tempfile.mkdtemp()
    src, lib = os.path.join(tmp, "peak.c"), os.path.join(tmp, "peak.so")
    with open(src, "w") as f:
        f.write(SOURCE)
    try:
        subprocess.run([cc, "-O3", "-funroll-loops", "-shared", "-fPIC", *flags.split(), src,
                        "-o", lib],
                       check=True, capture_output=True)
    except (subprocess.CalledProcessError, OSError):
        return None
    dll = ctypes.CDLL(lib)
    dll.fma_loop.argtypes = [ctypes.c_int64, ctypes.c_float]
    dll.fma_loop.restype = ctypes.c_float
    return dll


def _cpu_has(flag):
    try:
        with open("/proc/cpuinfo") as f:
            return any(flag in line.split() for line in f if line.startswith("flags"))
    except OSError:
        return False


def fma_peak_gflops(repeat=5):
    """Single-core float32 FMA peak in GFLOP/s (None if it cannot be measured)."""
    dll = _compile()
    if dll is None:
        return None
    iters = 20_000_000
    flops = 2.0 * 12 * dll.lanes() * iters
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        dll.fma_loop(iters, 0.999)
        best = max(best, flops / (time.perf_counter() - t0) / 1e9)
    return best


def blas_peak_gflops():
    """Best float32 GEMM GFLOP/s NumPy's BLAS reaches on one thread."""
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    with threadpool_limits(1):
        a @ a
        t0 = time.perf_counter()
        a @ a
        return 2.0 * 2048**3 / (time.perf_counter() - t0) / 1e9


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="save the result as JSON here")
    args = parser.parse_args(argv)
    peak = fma_peak_gflops()
    source = "fma loop"
    if peak is None:
        peak, source = blas_peak_gflops(), "numpy sgemm 2048^3"
    print(f"single-core float32 peak: {peak:.1f} GFLOP/s ({source})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"peak_gflops": peak, "source": source}, f)
    return peak


if __name__ == "__main__":
    main()
