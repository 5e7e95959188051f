"""The C kernels, with NumPy arrays in and out.

Every function here has a twin of the same name and signature in
:mod:`fastmlp.reference` (plain NumPy); the tests hold one against the other.
All of them release the GIL while they compute.
"""
from fastmlp import _kernels

__all__ = ["gemm", "dense"]


def gemm(a, b, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
    """General matrix product ``alpha * op(a) @ op(b) + beta * out``.

    Parameters
    ----------
    a : ndarray of shape (m, k), or (k, m) if ``trans_a``
        float32 or float64; any memory layout (Fortran order and row-strided
        views are read in place, other layouts are copied once).
    b : ndarray of shape (k, n), or (n, k) if ``trans_b``
        Same dtype as ``a``.
    trans_a, trans_b : bool, default=False
        Use the transpose of ``a`` / ``b``.
    alpha, beta : float, default=1.0, 0.0
        Scale factors. ``beta`` scales the previous content of ``out`` and is
        ignored when ``out`` is None; ``beta=0`` never reads ``out``.
    out : ndarray of shape (m, n), optional
        C-contiguous, writeable, same dtype, not overlapping the inputs.

    Returns
    -------
    out : ndarray of shape (m, n)
        The product, in ``out`` if given.
    """
    return _kernels.gemm(a, b, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta,
                         out=out)


def dense(x, w, b, activation="identity", *, out=None, **params):
    """Dense layer ``activation(x @ w + b)`` with the bias and activation fused.

    The bias add and the activation are applied in the matrix product's
    output stage, on each tile while it is in registers or L1 cache, rather
    than as separate passes over the output.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_in)
        Inputs, float32 or float64, any layout.
    w : ndarray of shape (n_in, n_out)
        Weights, same dtype.
    b : ndarray of shape (n_out,) or None
        Bias.
    activation : str, default="identity"
        One of the names accepted by :func:`activation`.
    out : ndarray of shape (n_samples, n_out), optional
        C-contiguous, writeable, same dtype, not overlapping the inputs.
    **params
        The activation's parameter, e.g. ``negative_slope`` for
        ``"leaky_relu"`` or ``alpha`` for ``"elu"``.

    Returns
    -------
    out : ndarray of shape (n_samples, n_out)
    """
    return _kernels.dense(x, w, b, activation, out=out, **params)
