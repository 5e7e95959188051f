"""Run-time dispatch: every kernel set this CPU can run gives correct results.

The kernel set is chosen once at import, so each one is exercised in a fresh
interpreter with FASTMLP_ISA forcing it.
"""
import os
import subprocess
import sys

import pytest


CHECK = r"""
import numpy as np, fastmlp
from fastmlp import kernels
rng = np.random.default_rng(0)
for dtype in (np.float32, np.float64):
    for m, k, n in [(1, 300, 70), (13, 257, 10), (200, 784, 256), (65, 33, 17), (5, 7, 3)]:
        for ta in (False, True):
            for tb in (False, True):
                a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
                b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
                ref = (a.T if ta else a).astype(np.float64) @ (b.T if tb else b).astype(np.float64)
                got = kernels.gemm(a, b, trans_a=ta, trans_b=tb)
                tol = 8 * np.finfo(dtype).eps * np.sqrt(k) * (np.abs(a).max() * np.abs(b).max() * k)
                assert np.abs(got - ref).max() <= tol, (dtype, m, k, n, ta, tb)
        x, w, bias = a if not ta else a.T.copy(), b if not tb else b.T.copy(), np.ones(n, dtype)
        out = kernels.dense(x, w, bias, "relu")
        assert np.allclose(out, np.maximum(ref + 1, 0), rtol=1e-3, atol=1e-3)
print(fastmlp._kernels._runtime_info()["isa"])
"""


ORDER = ["generic", "avx2", "avx512"]


def _supported():
    """Kernel sets this CPU runs, by the library's own detection (CPUID and
    XGETBV in csrc/cpu.c; any OS), narrowest first."""
    from fastmlp import _kernels
    best = _kernels._runtime_info()["isa_best"]
    return ORDER[: ORDER.index(best) + 1] if best in ORDER else ["generic", best]


def _cpuinfo_sets():
    """The same from Linux's /proc/cpuinfo (the kernel's reading), or None."""
    if not (sys.platform.startswith("linux") and os.path.exists("/proc/cpuinfo")):
        return None
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags.update(line.split(":", 1)[1].split())
                break
    if not flags:  # not x86 (aarch64 lists "Features")
        return None
    sets = ["generic"]
    if {"avx2", "fma"} <= flags:
        sets.append("avx2")
        if "avx512f" in flags:
            sets.append("avx512")
    return sets


def test_detection_agrees_with_linux():
    # CPUID + XGETBV (csrc/cpu.c) against the kernel's flags, where Linux
    # gives them (/proc/cpuinfo lists avx512f only if the OS saves ZMM).
    expected = _cpuinfo_sets()
    if expected is None:
        pytest.skip("no x86 /proc/cpuinfo flags on this platform")
    assert _supported() == expected


@pytest.mark.parametrize("isa", _supported())
def test_every_supported_instruction_set(isa):
    env = dict(os.environ, FASTMLP_ISA=isa)
    proc = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == isa


def test_unknown_or_unsupported_isa_falls_back_to_detection():
    env = dict(os.environ, FASTMLP_ISA="sse9")
    proc = subprocess.run([sys.executable, "-c",
                           "import fastmlp; print(fastmlp._kernels._runtime_info()['isa'])"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == _supported()[-1]
