"""Plain-NumPy reference for every kernel in :mod:`fastmlp.kernels`.

Same functions, same signatures, written for clarity rather than speed and
computing in the input dtype. The tests hold the C kernels against these;
users may swap one module for the other.
"""
import numpy as np

__all__ = ["gemm", "dense"]


def _check_float(arr, name, dtype=None):
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(arr).__name__}")
    if arr.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must have dtype float32 or float64, got {arr.dtype}")
    if dtype is not None and arr.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype} like the other inputs, got {arr.dtype}")
    return arr.dtype


def _write_out(result, out, name="out"):
    if out is None:
        return result
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != result.dtype:
        raise TypeError(f"{name} must have dtype {result.dtype}, got {out.dtype}")
    if out.shape != result.shape:
        raise ValueError(f"{name} must have shape {result.shape}, got {out.shape}")
    if not out.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    out[...] = result
    return out


def gemm(a, b, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
    """General matrix product ``alpha * op(a) @ op(b) + beta * out``.

    See :func:`fastmlp.kernels.gemm`; this is the NumPy twin.

    Parameters
    ----------
    a, b : ndarray
        float32 or float64 matrices of the same dtype.
    trans_a, trans_b : bool, default=False
        Use the transpose of ``a`` / ``b``.
    alpha, beta : float, default=1.0, 0.0
        Scale factors; ``beta`` applies to ``out``'s content, if given.
    out : ndarray, optional
        Where to write the result.

    Returns
    -------
    out : ndarray of shape (m, n)
    """
    dtype = _check_float(a, "a")
    _check_float(b, "b", dtype)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"a and b must be 2-dimensional, got shapes {a.shape} and {b.shape}")
    op_a = a.T if trans_a else a
    op_b = b.T if trans_b else b
    if op_a.shape[1] != op_b.shape[0]:
        raise ValueError(f"op(a) has {op_a.shape[1]} columns but op(b) has {op_b.shape[0]} rows")
    result = dtype.type(alpha) * (op_a @ op_b)
    if out is not None and beta != 0:
        result = result + dtype.type(beta) * out
    return _write_out(result.astype(dtype, copy=False), out)


def dense(x, w, b, activation="identity", *, out=None, **params):
    """Dense layer ``activation(x @ w + b)``.

    See :func:`fastmlp.kernels.dense`; this is the NumPy twin (unfused).

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_in)
    w : ndarray of shape (n_in, n_out)
    b : ndarray of shape (n_out,) or None
    activation : str, default="identity"
    out : ndarray of shape (n_samples, n_out), optional
    **params
        The activation's parameter.

    Returns
    -------
    out : ndarray of shape (n_samples, n_out)
    """
    dtype = _check_float(x, "x")
    _check_float(w, "w", dtype)
    if x.ndim != 2 or w.ndim != 2:
        raise ValueError(f"x and w must be 2-dimensional, got shapes {x.shape} and {w.shape}")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"x has {x.shape[1]} features (columns) but w has {w.shape[0]} rows")
    z = x @ w
    if b is not None:
        _check_float(b, "b", dtype)
        if b.shape != (w.shape[1],):
            raise ValueError(f"b must have shape ({w.shape[1]},) to match w, got {b.shape}")
        z = z + b
    return _write_out(_activation_checked(z, activation, params), out)


def _activation_checked(z, name, params):
    """activation(), with errors about the name reported as `activation`."""
    try:
        return globals()["activation"](z, name, **params)
    except ValueError as exc:
        if str(exc).startswith("name must be one of"):
            raise ValueError("activation" + str(exc)[len("name"):]) from None
        raise
