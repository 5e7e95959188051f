# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Thin binding of the C kernel layer (csrc/).

This module only checks and converts arrays, releases the GIL and calls C.
Its public functions are re-exported by :mod:`fastmlp.kernels`, which
documents them; :mod:`fastmlp.reference` has the same functions in NumPy.

Array conventions shared by every function here:

* float32 and float64 are computed in their own precision; any other dtype
  is a ``TypeError`` naming the argument (no silent casts in a kernel API).
* Inputs may be C-ordered, Fortran-ordered (read as a transposed view, no
  copy), row-strided, read-only; anything else is copied once.
* ``out`` arguments must have the exact shape and dtype and be C-contiguous
  and writeable, otherwise ``ValueError``/``TypeError``.
"""
import math

import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t, uintptr_t
from libc.string cimport memset
from libc.math cimport isfinite
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_GetName

from fastmlp._fastmlp_c cimport *

cnp.import_array()

# ---------------------------------------------------------------------------
# Module state: the instruction set (chosen once at import) and the GEMM
# backend and thread count chosen by fastmlp.set_config (Python-side state,
# passed to C on every call so that C keeps no mutable globals).
# ---------------------------------------------------------------------------

cdef fm_gemm_backend _gemm_backend = FM_GEMM_AUTO
cdef int _n_threads = 0
_BACKENDS = {"auto": FM_GEMM_AUTO, "native": FM_GEMM_NATIVE, "blas": FM_GEMM_BLAS}


def _init(force_isa=None):
    """Pick the kernels for this CPU and hand C SciPy's BLAS. Returns the ISA."""
    cdef bytes force = force_isa.encode() if force_isa else b""
    cdef const char *name = fm_init(force)
    _load_blas()
    return name.decode()


def _bf16_init(force=None):
    """Choose the bf16 tier, at most ``force`` (FASTMLP_BF16). Returns (tier, reason).

    At import, and in tests to run each tier this machine has; call it only
    while no kernel runs (the choice is C's one dispatch state).
    """
    cdef bytes f = force.encode() if force else b""
    fm_bf16_init(f)
    return fm_bf16_tier_name().decode(), fm_bf16_tier_reason().decode()


cdef void *_capsule_pointer(capsule):
    return PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule))


def _load_blas():
    """Take sgemm/dgemm from scipy.linalg.cython_blas at run time (no link)."""
    try:
        from scipy.linalg import cython_blas
        capi = cython_blas.__pyx_capi__
        fm_set_blas(<fm_sgemm_fn>_capsule_pointer(capi["sgemm"]),
                    <fm_dgemm_fn>_capsule_pointer(capi["dgemm"]))
    except Exception:  # SciPy missing or changed: run without the fallback
        fm_set_blas(NULL, NULL)


def _set_gemm_backend(name):
    global _gemm_backend
    if name not in _BACKENDS:
        raise ValueError(f"gemm must be one of {sorted(_BACKENDS)}, got {name!r}")
    if name == "blas" and not fm_has_blas():
        raise ValueError("gemm='blas' needs scipy.linalg.cython_blas, which is not available")
    _gemm_backend = _BACKENDS[name]


def _set_n_threads(int n):
    global _n_threads
    _n_threads = n


def _runtime_info():
    return {
        "isa": fm_isa_name().decode(),
        "isa_best": fm_isa_best_name().decode(),
        "openmp": bool(fm_has_openmp()),
        "max_threads": fm_max_threads(),
        "thread_led_team": bool(fm_thread_led_team()),
        "blas": bool(fm_has_blas()),
        "bf16_tier": fm_bf16_tier_name().decode(),
        "bf16_reason": fm_bf16_tier_reason().decode(),
    }

# ---------------------------------------------------------------------------
# Argument checking shared by every kernel
# ---------------------------------------------------------------------------

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# The checks below run on every kernel call: for the small products of an
# output layer (200 x 128 x 10: about 7 us) Python-level attribute reads,
# dtype comparisons and np.may_share_memory cost microseconds, so they read
# the arrays through NumPy's C API and fall back to Python only to word an
# error.


cdef inline bint _is_float_array(object arr):
    """An ndarray of native-order float32 or float64."""
    if not isinstance(arr, cnp.ndarray):
        return False
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>arr)
    return (t == cnp.NPY_FLOAT32 or t == cnp.NPY_FLOAT64) and cnp.PyArray_ISNOTSWAPPED(
        <cnp.ndarray>arr)


cdef object _float_dtype(object arr, str name):
    """The array's dtype if float32/float64, else a TypeError naming it."""
    if _is_float_array(arr):
        return arr.dtype
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(arr).__name__}")
    if arr.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {arr.dtype}")
    return arr.dtype


cdef inline bint _has_dtype(object arr, object dtype):
    """arr is an ndarray of exactly `dtype` (the same descriptor object in the usual case)."""
    if not isinstance(arr, cnp.ndarray):
        return False
    d = arr.dtype
    return d is dtype or d == dtype


cdef object _same_dtype(object arr, object dtype, str name):
    """Check that arr is an ndarray of exactly `dtype`."""
    if _has_dtype(arr, dtype):
        return arr
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(arr).__name__}")
    raise TypeError(f"{name} must have dtype {dtype} like the other inputs, got {arr.dtype}")


cdef tuple _as_rows(object arr, str name):
    """View a 2-D array as row-major rows: returns (rows, transposed, ld).

    C-ordered and row-strided arrays are used as they are; Fortran-ordered
    ones as their (C-ordered) transpose with transposed=True; anything else
    (negative or arbitrary strides) is copied once. `arr` is an ndarray.
    """
    cdef cnp.ndarray x = arr
    if cnp.PyArray_NDIM(x) != 2:
        raise ValueError(f"{name} must be 2-dimensional, got shape {arr.shape}")
    cdef Py_ssize_t item = cnp.PyArray_ITEMSIZE(x)
    cdef Py_ssize_t r = cnp.PyArray_DIM(x, 0), c = cnp.PyArray_DIM(x, 1)
    cdef Py_ssize_t s0 = cnp.PyArray_STRIDE(x, 0), s1 = cnp.PyArray_STRIDE(x, 1)
    # A dimension of length <= 1 never steps, so its stride does not matter.
    if (c <= 1 or s1 == item) and (r <= 1 or (s0 > 0 and s0 % item == 0 and s0 // item >= c)):
        return arr, False, max(s0 // item if r > 1 else c, 1)
    if (r <= 1 or s0 == item) and (c <= 1 or (s1 > 0 and s1 % item == 0 and s1 // item >= r)):
        return arr.T, True, max(s1 // item if c > 1 else r, 1)
    arr = np.ascontiguousarray(arr)
    return arr, False, max(c, 1)


cdef bint _bounds(cnp.ndarray x, char **lo, char **hi):
    """[lo, hi): the bytes x's elements span; False if x has no elements."""
    cdef char *base = <char *>cnp.PyArray_DATA(x)
    cdef char *low = base
    cdef char *high = base + cnp.PyArray_ITEMSIZE(x)
    cdef int d
    cdef Py_ssize_t step
    for d in range(cnp.PyArray_NDIM(x)):
        if cnp.PyArray_DIM(x, d) == 0:
            return False
        step = cnp.PyArray_STRIDE(x, d) * (cnp.PyArray_DIM(x, d) - 1)
        if step > 0:
            high += step
        else:
            low += step
    lo[0] = low
    hi[0] = high
    return True


cdef bint _may_share_memory(object a, object b):
    """np.may_share_memory(a, b) for two ndarrays (its default: memory bounds only)."""
    cdef char *alo
    cdef char *ahi
    cdef char *blo
    cdef char *bhi
    if not _bounds(a, &alo, &ahi) or not _bounds(b, &blo, &bhi):
        return False
    return alo < bhi and blo < ahi


cdef object _contiguous(object arr):
    """C-contiguous version of arr (no copy when it already is)."""
    return arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)


cdef object _check_out(object out, tuple shape, object dtype, str name="out"):
    """Allocate `out` or check the caller's: exact shape/dtype, C-contiguous, writeable."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, cnp.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    if not _has_dtype(out, dtype):
        raise TypeError(f"{name} must have dtype {dtype}, got {out.dtype}")
    if out.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {out.shape}")
    if not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>out):
        raise ValueError(f"{name} must be C-contiguous")
    if not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>out):
        raise ValueError(f"{name} must be writeable")
    return out


class NonFiniteInput(ValueError):
    """A training epoch's gather found a NaN or infinity in X (check_finite)."""


cdef void _raise_status(fm_status status, str what) except *:
    if status == FM_OK:
        return
    if status == FM_ERR_NOMEM:
        raise MemoryError(f"{what}: could not allocate the kernel's workspace")
    if status == FM_ERR_BLAS:
        raise ValueError(f"{what}: the BLAS backend is unavailable or the sizes exceed 32-bit BLAS")
    if status == FM_ERR_ZERO_WEIGHT:
        # scikit-learn's error for this case (np.average's), with the reason.
        raise ZeroDivisionError("Weights sum to zero, can't be normalized: the sample weights "
                                f"of a minibatch sum to 0 ({what}); shuffle=True or a larger "
                                "batch_size mixes zero-weight rows with others")
    if status == FM_ERR_NONFINITE_INPUT:
        raise NonFiniteInput(f"{what}: X contains NaN or infinity")
    raise ValueError(f"{what}: invalid size or option")


# Activation names and the keyword parameter (with default) each one takes.
_ACTIVATIONS = {
    "identity": (FM_ACT_IDENTITY, None, 0.0),
    "logistic": (FM_ACT_LOGISTIC, None, 0.0),
    "sigmoid": (FM_ACT_LOGISTIC, None, 0.0),
    "tanh": (FM_ACT_TANH, None, 0.0),
    "relu": (FM_ACT_RELU, None, 0.0),
    "leaky_relu": (FM_ACT_LEAKY_RELU, "negative_slope", 0.01),
    "elu": (FM_ACT_ELU, "alpha", 1.0),
    "selu": (FM_ACT_SELU, None, 0.0),
    "gelu": (FM_ACT_GELU, None, 0.0),
    "softplus": (FM_ACT_SOFTPLUS, None, 0.0),
    "softmax": (FM_ACT_SOFTMAX, None, 0.0),
    "heaviside": (FM_ACT_HEAVISIDE, None, 0.0),
    "step": (FM_ACT_HEAVISIDE, None, 0.0),
    "maxout": (FM_ACT_MAXOUT, "pieces", 2.0),
}


cdef double _maxout_pieces(object value) except -1.0:
    """Maxout's piece count as a double, after checking it is an int >= 1."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"pieces must be an integer, got {value!r}")
    if not 1 <= value <= 2**31 - 1:
        raise ValueError(f"pieces must be in [1, {2**31 - 1}], got {value}")
    return float(value)


cdef fm_activation _parse_activation(object name, dict params, str argname="name") except *:
    """Turn an activation name and its keyword parameters into fm_activation."""
    cdef fm_activation act
    spec = _ACTIVATIONS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ValueError(
            f"{argname} must be one of {sorted(_ACTIVATIONS)}, got {name!r}")
    kind, pname, default = spec
    act.kind = kind
    act.param = default
    if not params:  # the common case, kept cheap for small-batch calls
        return act
    extra = [p for p in params if p != pname]
    if extra:
        raise TypeError(f"activation {name!r} got unexpected parameter(s) {sorted(extra)}")
    value = params[pname]
    if kind == FM_ACT_MAXOUT:
        act.param = _maxout_pieces(value)
        return act
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{pname} must be a real number, got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{pname} must be finite, got {value}")
    act.param = value
    return act


include "_gemm.pxi"
include "_elementwise.pxi"
include "_train.pxi"
include "_perceptron.pxi"
