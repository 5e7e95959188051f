"""Helpers of the element-wise kernel tests (activations, losses, optimizers).

Kept out of conftest.py, which holds the fixtures shared by every test file
(``rng``); import from here with ``from elementwise_helpers import ...``.
"""
import numpy as np

FLOAT_DTYPES = [np.float32, np.float64]

# The sizes every kernel is run at: 1, powers of two and their neighbours
# (vector-width and unrolling remainders), and a large one.
SIZES = [1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 65, 257, 1000]


def eps(dtype):
    """Machine epsilon of `dtype` as a Python float."""
    return float(np.finfo(dtype).eps)


def layouts(a):
    """The values of `a` in several memory layouts, as (name, array) pairs.

    C order, read-only, and for 2-D arrays also Fortran order, a view with
    a row stride larger than the row (every other row of a bigger array; a
    column slice of a wider one), a view with a column stride (not row-major
    at all) and a negative row stride. All compare equal to `a`.
    """
    yield "C", np.ascontiguousarray(a)
    ro = np.array(a)
    ro.flags.writeable = False
    yield "readonly", ro
    if a.ndim != 2:
        return
    m, n = a.shape
    yield "F", np.asfortranarray(a)
    tall = np.zeros((2 * m, n), a.dtype)
    tall[::2] = a
    yield "every_other_row", tall[::2]
    wide = np.zeros((m, n + 5), a.dtype)
    wide[:, 2:n + 2] = a
    yield "column_slice", wide[:, 2:n + 2]
    sparse = np.zeros((m, 2 * n), a.dtype)
    sparse[:, ::2] = a
    yield "column_stride", sparse[:, ::2]
    yield "reversed_rows", np.ascontiguousarray(a[::-1])[::-1]


def assert_close(actual, desired, rtol, atol=0.0, what=""):
    """|actual - desired| <= atol + rtol * |desired| element-wise (rtol and
    atol may be arrays broadcasting against desired), with NaN and inf
    required at the same places; reports the worst offender."""
    actual = np.asarray(actual, dtype=np.float64)
    desired = np.asarray(desired, dtype=np.float64)
    assert actual.shape == desired.shape, (actual.shape, desired.shape)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(desired), err_msg=f"{what}: NaN")
    inf = np.isinf(desired)
    np.testing.assert_array_equal(actual[inf], desired[inf], err_msg=f"{what}: inf")
    finite = np.isfinite(desired)
    bound = np.broadcast_to(atol + rtol * np.abs(desired), desired.shape)[finite]
    err = np.abs(actual[finite] - desired[finite])
    if err.size and not np.all(err <= bound):
        i = np.argmax(err - bound)
        raise AssertionError(
            f"{what}: {np.sum(err > bound)} of {err.size} elements out of tolerance; worst "
            f"actual={actual[finite][i]!r} desired={desired[finite][i]!r} err={err[i]:.3g} "
            f"bound={bound[i]:.3g}")


def away_from(x, points, gap):
    """x with every element closer than `gap` to one of `points` moved to
    `gap` beyond it: keeps finite differences off kinks and branch points."""
    x = np.array(x, dtype=np.float64)
    for p in points:
        near = np.abs(x - p) < gap
        x[near] = p + np.where(x[near] >= p, gap, -gap)
    return x
