"""Global configuration: GEMM backend and thread count.

The configuration lives on the Python side and is passed to C on every call,
so the C layer keeps no mutable state beyond its import-time dispatch table.
"""
import os

from fastmlp._version import __version__

# OpenMP threads that finish a parallel region spin before they sleep.
# libgomp's default spin (300000 rounds of PAUSE) suits one busy program per
# machine; fastmlp's regions are short (one product, tens to hundreds of
# microseconds, many per minibatch), and when another process holds a core
# the spinning thread keeps its partner off the CPU; a spin shorter than the
# serial passes between two regions lets the partner fall asleep, and each
# wake-up costs more than the region saves. Measured on a 2-core Sapphire
# Rapids (PAUSE 11 ns), 2 threads, seconds per MNIST-shaped epoch at half
# its rows ("busy": one busy-looping process beside it), best of 2 fresh
# processes each (/tmp harness like bench/bench_wait_policy.py, 2026-12-02):
#   spin             1000   2000   4000   6000  10000 300000  (1 thread)
#   quiet float32   0.213  0.194  0.183  0.178  0.177  0.176   0.278
#   quiet bfloat16  0.126  0.107  0.085  0.085  0.084  0.084   0.120
#   busy float32    0.339  0.359  0.397  0.456  0.476  0.654
#   busy bfloat16   0.160  0.189  0.236  0.251  0.417  3.744
# At 1000 rounds (11 us) a 2-thread bfloat16 epoch was slower than 1 thread;
# 4000 (45 us here) keeps the quiet optimum within 4% and costs a busy
# machine far less than libgomp's default: it is the setting. (On an AMD
# Zen 3, 1000 rounds were measured as nearly as fast as 10000 on a quiet
# machine; bench/bench_wait_policy.py re-measures.)
# libgomp reads the setting once, when it loads with the extension: it is
# set just for that moment, and only if the user chose no policy.
# GOMP_SPINCOUNT is GNU libgomp's alone (gcc builds: Linux wheels, MinGW).
# LLVM's libomp (the macOS wheels; clang builds) ignores it and keeps its
# own wait policy (KMP_BLOCKTIME, 200 ms of spinning by default), MSVC's
# vcomp (Windows wheels) likewise: setting it there is harmless and does
# nothing. Their equivalent is left at its default because it has not
# been measured (no such machine here): bench/bench_wait_policy.py is the
# harness to measure KMP_BLOCKTIME with before choosing one.
_user_policy = "GOMP_SPINCOUNT" in os.environ or "OMP_WAIT_POLICY" in os.environ
if not _user_policy:
    os.environ["GOMP_SPINCOUNT"] = "4000"
try:
    from fastmlp import _kernels
finally:
    if not _user_policy:
        del os.environ["GOMP_SPINCOUNT"]

_VALID_GEMM = ("auto", "native", "blas")
_config = {"gemm": "auto", "n_threads": None}


def set_config(*, gemm=None, n_threads=None):
    """Set fastmlp's global configuration.

    Parameters
    ----------
    gemm : {"auto", "native", "blas"}, default=None
        Which matrix-product implementation the kernels use. ``"native"`` is
        fastmlp's blocked GEMM with its fused output stages; ``"blas"`` is
        SciPy's ``sgemm``/``dgemm`` (the bias and activation then take an
        extra pass over the output); ``"auto"`` uses the native kernels (see
        the README's performance section for the measurements behind this).
        ``None`` leaves the setting unchanged. The environment variable
        ``FASTMLP_GEMM`` sets the initial value.
    n_threads : int or None, default=None
        Maximum number of OpenMP threads per kernel call; ``None`` or ``0``
        means OpenMP's current limit, which honours ``OMP_NUM_THREADS`` and
        ``threadpoolctl.threadpool_limits``.
    """
    if gemm is not None:
        if gemm not in _VALID_GEMM:
            raise ValueError(f"gemm must be one of {_VALID_GEMM}, got {gemm!r}")
        _kernels._set_gemm_backend(gemm)
        _config["gemm"] = gemm
    if n_threads is not None:
        if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 0:
            raise ValueError(f"n_threads must be a non-negative int or None, got {n_threads!r}")
        _kernels._set_n_threads(n_threads)
        _config["n_threads"] = n_threads or None


def get_config():
    """Return a copy of fastmlp's global configuration.

    Returns
    -------
    config : dict
        Keys ``"gemm"`` and ``"n_threads"``, as given to :func:`set_config`.
    """
    return dict(_config)


def show_config(file=None):
    """Print the build and run-time configuration.

    Shows the version, the instruction set the kernels were dispatched to,
    OpenMP availability and thread count, the GEMM backend, whether the
    BLAS fallback is available, and the tier of bfloat16 products
    (``compute_dtype="bfloat16"``: "amx", "avx512_bf16", "bfmmla" (Arm
    FEAT_BF16), "emulated", or "bfmmla_emulated" when asked for by name) with
    the reason each faster tier is not used (no such hardware, permission
    refused by the OS, narrowed by ``FASTMLP_BF16``...).

    Parameters
    ----------
    file : file-like, default=None
        Where to print; ``None`` means ``sys.stdout``.
    """
    info = _kernels._runtime_info()
    if info["openmp"]:
        openmp = f"yes (max threads {info['max_threads']})"
    else:
        openmp = ("no: this build has no OpenMP, training and products run "
                  "single-threaded (macOS: build with LLVM's libomp, brew install libomp)")
    lines = [
        f"fastmlp {__version__}",
        f"  instruction set : {info['isa']}"
        + (f" (the CPU runs up to {info['isa_best']})" if info["isa_best"] != info["isa"]
           else ""),
        f"  OpenMP          : {openmp}",
        f"  n_threads       : {_config['n_threads'] or 'OpenMP default'}",
        f"  gemm backend    : {_config['gemm']}",
        f"  BLAS fallback   : {'yes (scipy.linalg.cython_blas)' if info['blas'] else 'no'}",
        f"  bfloat16 tier   : {info['bf16_tier']}"
        + (f" ({info['bf16_reason']})" if info["bf16_reason"] else " (the fastest)"),
    ]
    print("\n".join(lines), file=file)


def _init_from_environment():
    """Apply FASTMLP_ISA, FASTMLP_BF16 and FASTMLP_GEMM, once, at import."""
    _kernels._init(os.environ.get("FASTMLP_ISA") or None)
    # FASTMLP_BF16=amx|avx512_bf16|bfmmla|emulated: that bf16 tier or a slower
    # one; bfmmla_emulated: Arm's BFMMLA arithmetic in C, on any CPU.
    _kernels._bf16_init((os.environ.get("FASTMLP_BF16") or "").strip().lower() or None)
    gemm = os.environ.get("FASTMLP_GEMM")
    if gemm:
        set_config(gemm=gemm.strip().lower())
