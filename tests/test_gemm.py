"""fastmlp.kernels.gemm and dense against fastmlp.reference.

Tolerance. Both sides sum k products in the input precision but in different
orders (blocked FMA sums here, BLAS's own order in NumPy). For random
standard-normal inputs the rounding error of a length-k dot product behaves
like a random walk, ~ eps * sqrt(k) relative to the size of the terms, and
the terms of one output are ~ sqrt(k) in size. We therefore compare
|C - C_ref| <= 8 * eps * sqrt(k) * (|A| @ |B|), with |A| @ |B| the scale of
the summed terms: generous by a factor ~8 against the expected error yet
~1000x tighter than any indexing or packing bug (which produces O(1) errors).
"""
import io
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastmlp
from fastmlp import kernels, reference

from conftest import random_array

SIZES = [1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 65, 257, 1000]
DTYPES = [np.float32, np.float64]


def assert_gemm_close(c, expected, a_op, b_op):
    dtype = c.dtype
    k = a_op.shape[1]
    scale = np.abs(a_op).astype(np.float64) @ np.abs(b_op).astype(np.float64)
    bound = 8 * np.finfo(dtype).eps * np.sqrt(max(k, 1)) * scale + np.finfo(dtype).tiny
    err = np.abs(c.astype(np.float64) - expected.astype(np.float64))
    assert np.all(err <= bound), f"max excess {np.max(err - bound)} (max err {err.max()})"


def operands(rng, m, k, n, dtype, trans_a, trans_b):
    a = random_array(rng, (k, m) if trans_a else (m, k), dtype)
    b = random_array(rng, (n, k) if trans_b else (k, n), dtype)
    return a, b, (a.T if trans_a else a), (b.T if trans_b else b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("size", SIZES)
def test_gemm_square_and_edge_sizes(rng, dtype, trans_a, trans_b, size):
    # Each size as m, as n and as k in turn, against small odd partners.
    for m, k, n in [(size, 17, 9), (9, size, 17), (17, 9, size), (size, size, size)]:
        if m * k * n > 2e7:
            continue
        a, b, a_op, b_op = operands(rng, m, k, n, dtype, trans_a, trans_b)
        c = kernels.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
        assert c.dtype == dtype and c.shape == (m, n)
        assert_gemm_close(c, reference.gemm(a, b, trans_a=trans_a, trans_b=trans_b), a_op, b_op)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", [(200, 784, 256), (784, 200, 256), (200, 128, 10),
                                   (1, 784, 256), (8, 784, 300), (32, 1, 64), (1000, 1, 1),
                                   (5, 1000, 3), (300, 600, 5000)])
def test_gemm_mlp_shapes(rng, dtype, m, k, n):
    for trans_a, trans_b in [(False, False), (True, False), (False, True), (True, True)]:
        a, b, a_op, b_op = operands(rng, m, k, n, dtype, trans_a, trans_b)
        c = kernels.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
        assert_gemm_close(c, a_op @ b_op, a_op, b_op)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_alpha_beta_out(rng, dtype):
    a, b = random_array(rng, (37, 29), dtype), random_array(rng, (29, 41), dtype)
    out0 = random_array(rng, (37, 41), dtype)
    for alpha, beta in [(1.0, 0.0), (2.5, 0.0), (1.0, 1.0), (-0.5, 0.25), (0.0, 2.0), (0.0, 0.0)]:
        out = out0.copy()
        res = kernels.gemm(a, b, alpha=alpha, beta=beta, out=out)
        assert res is out
        expected = reference.gemm(a, b, alpha=alpha, beta=beta, out=out0.copy())
        assert_gemm_close(out, expected, abs(alpha) * a + abs(beta), b + 1)
    # beta == 0 never reads out: NaNs there must not leak into the result.
    out = np.full((37, 41), np.nan, dtype)
    kernels.gemm(a, b, out=out)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_k_zero_and_empty(dtype):
    a, b = np.zeros((4, 0), dtype), np.zeros((0, 5), dtype)
    np.testing.assert_array_equal(kernels.gemm(a, b), np.zeros((4, 5), dtype))
    out = np.ones((4, 5), dtype)
    kernels.gemm(a, b, beta=3.0, out=out)
    np.testing.assert_array_equal(out, np.full((4, 5), 3.0, dtype))
    assert kernels.gemm(np.zeros((0, 3), dtype), np.zeros((3, 2), dtype)).shape == (0, 2)
    assert kernels.gemm(np.zeros((3, 3), dtype), np.zeros((3, 0), dtype)).shape == (3, 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_layouts(rng, dtype):
    """Fortran order, read-only, row-strided, negatively strided and sliced inputs."""
    base_a = random_array(rng, (90, 70), dtype)
    base_b = random_array(rng, (70, 50), dtype)
    ro = base_a.copy()
    ro.setflags(write=False)
    cases = [
        (np.asfortranarray(base_a), base_b),
        (base_a, np.asfortranarray(base_b)),
        (ro, base_b),
        (base_a[::2], base_b),                 # row-strided (ld > cols)
        (base_a[:, ::2], base_b[::2]),          # column-strided: copied
        (base_a[::-1], base_b[:, ::-1]),        # negative strides: copied
        (base_a[5:40, 3:60], base_b[3:60, 7:]),  # sub-block views
        (np.asfortranarray(base_a)[:, :33], base_b[:33]),
    ]
    for a, b in cases:
        assert_gemm_close(kernels.gemm(a, b), np.asarray(a) @ np.asarray(b), a, b)


@pytest.mark.parametrize("backend", ["native", "blas", "auto"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_backends(rng, backend, dtype):
    old = fastmlp.get_config()["gemm"]
    try:
        fastmlp.set_config(gemm=backend)
        for ta, tb in [(False, False), (True, False), (False, True), (True, True)]:
            a, b, a_op, b_op = operands(rng, 33, 65, 17, dtype, ta, tb)
            assert_gemm_close(kernels.gemm(a, b, trans_a=ta, trans_b=tb), a_op @ b_op, a_op, b_op)
            x, w, bias = random_array(rng, (33, 65), dtype), random_array(rng, (65, 17), dtype), \
                random_array(rng, 17, dtype)
            np.testing.assert_allclose(kernels.dense(x, w, bias, "relu"),
                                       np.maximum(x @ w + bias, 0), rtol=1e-4, atol=1e-4)
    finally:
        fastmlp.set_config(gemm=old)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_gemm_threads_give_identical_results(rng, n_threads):
    """Every element is computed by the same operations whatever the split."""
    a, b = random_array(rng, (300, 400), np.float32), random_array(rng, (400, 500), np.float32)
    fastmlp.set_config(n_threads=1)
    one = kernels.gemm(a, b)
    fastmlp.set_config(n_threads=n_threads)
    try:
        np.testing.assert_array_equal(kernels.gemm(a, b), one)
        np.testing.assert_array_equal(kernels.gemm(b.T.copy(), a.T.copy()), kernels.gemm(b.T, a.T))
    finally:
        fastmlp.set_config(n_threads=0)


# Narrow outputs (n below a vector's width: the output layer, a 1-column
# head) take the column kernel once m is a vector's width or more; odd m
# leave a partial last vector, k > 256 several KC blocks.
NARROW_SHAPES = [(200, 128, 10), (128, 200, 10), (200, 100, 1), (100, 200, 1), (37, 19, 3),
                 (17, 600, 7), (16, 5, 15), (250, 33, 8), (1001, 3, 2), (64, 257, 9)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", NARROW_SHAPES)
def test_gemm_narrow_outputs(rng, dtype, m, k, n):
    for trans_a, trans_b in [(False, False), (True, False), (False, True), (True, True)]:
        a, b, a_op, b_op = operands(rng, m, k, n, dtype, trans_a, trans_b)
        c = kernels.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
        assert_gemm_close(c, reference.gemm(a, b, trans_a=trans_a, trans_b=trans_b), a_op, b_op)
        # alpha and beta through the column tiles' output stage.
        out0 = random_array(rng, (m, n), dtype)
        for alpha, beta in [(2.5, 0.0), (1.0, 1.0), (-0.5, 0.25)]:
            out = out0.copy()
            kernels.gemm(a, b, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta, out=out)
            expected = reference.gemm(a, b, trans_a=trans_a, trans_b=trans_b, alpha=alpha,
                                      beta=beta, out=out0.copy())
            # The module's bound on alpha * A @ B, plus rounding of the
            # beta * out term and of the final sum.
            eps = np.finfo(dtype).eps
            scale = (abs(alpha) * (np.abs(a_op).astype(np.float64) @ np.abs(b_op))
                     + abs(beta) * np.abs(out0))
            bound = 8 * eps * np.sqrt(k) * scale + 2 * eps * np.abs(expected)
            assert np.all(np.abs(out.astype(np.float64) - expected) <= bound)


# The narrow-output paths (gemm_kernel.h): n = 1 is the dot-product path
# (vectors along k, or down op(A)'s columns when A is transposed; op(B)'s
# column packed unless contiguous), other n < 16 the column path (op(B)
# packed as kc x n rows), n = 16 and 17 the blocked one; k = 1 and 10 are
# shorter than a vector, 33 leaves a masked tail, 300 spans two KC blocks.
# Tolerance: assert_gemm_close's (the dot path sums in its own order, whose
# error grows like the FMA chain's, ~ eps * sqrt(k) * sum |a b|).
NARROW_GRID = [(m, k, n) for m in (1, 17, 200) for k in (1, 10, 33, 128, 300)
               for n in (1, 2, 3, 4, 10, 16, 17)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", NARROW_GRID)
def test_gemm_narrow_grid(rng, dtype, m, k, n):
    for trans_a, trans_b in [(False, False), (True, False), (False, True), (True, True)]:
        a, b, a_op, b_op = operands(rng, m, k, n, dtype, trans_a, trans_b)
        c = kernels.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
        assert_gemm_close(c, reference.gemm(a, b, trans_a=trans_a, trans_b=trans_b), a_op, b_op)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 2, 4, 10])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_narrow_leading_dims_alpha_beta(rng, dtype, n, trans_b):
    """Row-strided operands (ld > columns: a strided B column is packed on
    the dot path) and alpha / beta through the narrow output stages."""
    m, k = 45, 37
    a = random_array(rng, (m, 2 * k), dtype)[:, :k]
    b = random_array(rng, (n, k + 3) if trans_b else (k, n + 5), dtype)
    b = b[:, :k] if trans_b else b[:, :n]
    b_op = b.T if trans_b else b
    out0 = random_array(rng, (m, n), dtype)
    for alpha, beta in [(1.0, 0.0), (2.5, 0.0), (1.0, 1.0), (-0.5, 0.25)]:
        out = out0.copy()
        kernels.gemm(a, b, trans_b=trans_b, alpha=alpha, beta=beta, out=out)
        expected = reference.gemm(a, b, trans_b=trans_b, alpha=alpha, beta=beta,
                                  out=out0.copy())
        # assert_gemm_close's bound on alpha * A @ B, with beta * out among
        # the summed terms (scale), plus the final sum's rounding.
        eps = np.finfo(dtype).eps
        scale = (abs(alpha) * (np.abs(a).astype(np.float64) @ np.abs(b_op))
                 + abs(beta) * np.abs(out0))
        bound = 8 * eps * np.sqrt(k) * scale + 2 * eps * np.abs(expected)
        assert np.all(np.abs(out.astype(np.float64) - expected) <= bound)
    # beta == 0 never reads out (NaN there stays out of the result).
    out = np.full((m, n), np.nan, dtype)
    kernels.gemm(a, b, trans_b=trans_b, out=out)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 3, 10])
@pytest.mark.parametrize("name", ["relu", "identity", "logistic", "softmax"])
def test_dense_narrow_dot_and_column_paths(rng, dtype, n, name):
    """Bias and activation in the dot path's and column path's output stages
    (relu in the tile, logistic after it, softmax as a row stage)."""
    x, w = random_array(rng, (131, 33), dtype), random_array(rng, (33, n), dtype, 0.1)
    b = random_array(rng, n, dtype)
    got = kernels.dense(x, w, b, name)
    z = x.astype(np.float64) @ w.astype(np.float64) + b
    expected = reference.activation(z.astype(dtype), name)
    tol = 8 * np.finfo(dtype).eps * np.sqrt(33) * (np.abs(x) @ np.abs(w) + np.abs(b)) * 2
    assert np.all(np.abs(got - expected) <= tol + 4 * np.finfo(dtype).eps * np.abs(expected))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 2, 4])
def test_gemm_dot_path_rows_and_threads_give_identical_bits(rng, dtype, n):
    """The dot path (n = 1) sums in its own order, but is chosen by n only:
    a row has the same bits in a call of any row count and with 1 or 2
    threads (4096 x 300 x n is enough work for two); so do the column
    path's (n = 2, 4)."""
    a, b = random_array(rng, (4096, 300), dtype), random_array(rng, (300, n), dtype)
    fastmlp.set_config(n_threads=1)
    try:
        full = kernels.gemm(a, b)
        for lo, hi in [(0, 1), (5, 8), (4090, 4096)]:
            np.testing.assert_array_equal(kernels.gemm(a[lo:hi].copy(), b), full[lo:hi])
        fastmlp.set_config(n_threads=2)
        np.testing.assert_array_equal(kernels.gemm(a, b), full)
    finally:
        fastmlp.set_config(n_threads=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 2, 4, 5, 10, 16])
def test_gemm_narrow_layouts_give_identical_bits(rng, dtype, n):
    """The same op(A) and op(B) stored transposed or not give the same bits
    (a Fortran-ordered X reaches C as the transposed operand): the dot
    path's transposed-A form does the dot form's operations."""
    a, b = random_array(rng, (203, 77), dtype), random_array(rng, (77, n), dtype)
    c = kernels.gemm(a, b)
    np.testing.assert_array_equal(kernels.gemm(a.T.copy(), b, trans_a=True), c)
    np.testing.assert_array_equal(kernels.gemm(a, b.T.copy(), trans_b=True), c)
    np.testing.assert_array_equal(kernels.gemm(np.asfortranarray(a), np.asfortranarray(b)), c)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [17, 33])
def test_gemm_column_slices_keep_the_whole_products_path(rng, dtype, n):
    """Two threads split n >= m into whole register tiles of columns; the
    last slice (1 column here for a tile width of 16 or 32) must not take
    the dot-product path that a product 1 column wide would."""
    a, b = random_array(rng, (n, 8192), dtype), random_array(rng, (8192, n), dtype)
    fastmlp.set_config(n_threads=1)
    try:
        one = kernels.gemm(a, b)
        fastmlp.set_config(n_threads=2)
        np.testing.assert_array_equal(kernels.gemm(a, b), one)
    finally:
        fastmlp.set_config(n_threads=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("m,k,n", [(200, 128, 10), (77, 300, 1), (64, 30, 7)])
def test_gemm_paths_give_identical_bits(rng, dtype, trans_a, m, k, n):
    """A row of C is the same bits whether the narrow column kernel computed
    it (many rows) or the row-tile kernel (few rows): one FMA chain per
    element and the same output stage, as gemm_kernel.h promises."""
    a, b, a_op, _ = operands(rng, m, k, n, dtype, trans_a, False)
    full = kernels.gemm(a, b, trans_a=trans_a, beta=0.0)
    for lo, hi in [(0, 1), (5, 8), (m - 3, m)]:
        part = np.ascontiguousarray(a_op[lo:hi])
        sub = kernels.gemm(part.T.copy(), b, trans_a=True) if trans_a else kernels.gemm(part, b)
        np.testing.assert_array_equal(sub, full[lo:hi])


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_wide_packed_a_gives_identical_bits(rng, dtype):
    """Wide products pack A (n >= 512, lda a multiple of 1 KiB would alias
    in L1); few rows read it in place: the same bits either way."""
    a, b = random_array(rng, (100, 1024), dtype), random_array(rng, (1024, 600), dtype)
    full = kernels.gemm(a, b)
    assert_gemm_close(full, a @ b, a, b)
    np.testing.assert_array_equal(kernels.gemm(a[40:45].copy(), b), full[40:45])


# Few rows (a minibatch) by wide C: with B transposed (the input gradient
# delta @ W^T) AVX-512 float takes transposed tiles for 16 <= m <= 64 and
# k * n >= 65536 (gemm_kernel.h, gemm_tr), the columns past its last whole
# tile the other paths; B not transposed is read in place with a prefetch of
# the next strip for m <= 48. Shapes on both sides of each threshold, on
# every tier (test_dispatch runs this module under the others too).
SMALL_M = [1, 15, 16, 17, 31, 32, 33, 47, 48, 49, 64, 65]
SMALL_M_KN = [(1, 1024), (31, 1024), (32, 2048), (33, 2047), (1024, 1), (1024, 17),
              (1024, 32), (1024, 33), (1024, 1024), (256, 256), (300, 257), (64, 1023)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (False, True), (True, False),
                                             (True, True)])
@pytest.mark.parametrize("m", SMALL_M)
def test_gemm_small_m_wide(rng, dtype, trans_a, trans_b, m):
    for k, n in SMALL_M_KN:
        a, b, a_op, b_op = operands(rng, m, k, n, dtype, trans_a, trans_b)
        c = kernels.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
        assert_gemm_close(c, reference.gemm(a, b, trans_a=trans_a, trans_b=trans_b), a_op, b_op)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [16, 33, 64])
def test_gemm_small_m_wide_strides_alpha_beta(rng, dtype, m):
    """Leading dimensions of A and W larger than the shape (views into wider
    arrays; out must be C-contiguous, the C fuzzer covers ldc), alpha and
    beta through the transposed tiles' output stage."""
    k, n = 300, 517
    a = random_array(rng, (m, k + 5), dtype)[:, :k]
    w = random_array(rng, (n, k + 3), dtype)[:, :k]
    out0 = random_array(rng, (m, n), dtype)
    for alpha, beta in [(1.0, 0.0), (2.5, 0.0), (1.0, 1.0), (-0.5, 0.25)]:
        out = out0.copy()
        kernels.gemm(a, w, trans_b=True, alpha=alpha, beta=beta, out=out)
        expected = reference.gemm(a, w, trans_b=True, alpha=alpha, beta=beta, out=out0.copy())
        # The module's bound on alpha * A @ B, plus rounding of beta * out
        # and of the final sum (as test_gemm_narrow_outputs).
        eps = np.finfo(dtype).eps
        scale = (abs(alpha) * (np.abs(a).astype(np.float64) @ np.abs(w.T))
                 + abs(beta) * np.abs(out0))
        bound = 8 * eps * np.sqrt(k) * scale + 2 * eps * np.abs(expected)
        assert np.all(np.abs(out.astype(np.float64) - expected) <= bound)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [17, 32, 48, 64])
def test_gemm_small_m_paths_give_identical_bits(rng, dtype, m):
    """Rows of delta @ W^T are the same bits whether the transposed tiles
    computed them (m rows) or the row tiles (a few rows): one FMA chain per
    element and the same output stage; and 1 or 2 threads change nothing."""
    k, n = 1024, 700
    a, w = random_array(rng, (m, k), dtype), random_array(rng, (n, k), dtype)
    fastmlp.set_config(n_threads=1)
    try:
        full = kernels.gemm(a, w, trans_b=True)
        for lo, hi in [(0, 1), (3, 8), (m - 5, m)]:
            np.testing.assert_array_equal(kernels.gemm(a[lo:hi].copy(), w, trans_b=True),
                                          full[lo:hi])
        fastmlp.set_config(n_threads=2)
        np.testing.assert_array_equal(kernels.gemm(a, w, trans_b=True), full)
    finally:
        fastmlp.set_config(n_threads=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,params", [("relu", {}), ("softmax", {}), ("tanh", {}),
                                         ("gelu", {}), ("identity", {})])
@pytest.mark.parametrize("m", [16, 32, 49])
def test_dense_small_m_transposed_w(rng, dtype, name, params, m):
    """Bias and activation through the transposed tiles: dense(x, W.T) with
    W (n_out, n_in) C-contiguous passes W transposed."""
    k, n = 512, 300
    x = random_array(rng, (m, k), dtype)
    w_t = random_array(rng, (n, k), dtype, 1 / np.sqrt(k))
    b = random_array(rng, n, dtype)
    got = kernels.dense(x, w_t.T, b, name, **params)
    z = x.astype(np.float64) @ w_t.T.astype(np.float64) + b
    expected = reference.activation(z.astype(dtype), name, **params)
    # As test_dense_matches_reference: the GEMM's bound carried through
    # near-1-Lipschitz activations.
    tol = 8 * np.finfo(dtype).eps * np.sqrt(k) * (np.abs(x) @ np.abs(w_t.T) + np.abs(b)) * 2
    assert np.all(np.abs(got - expected) <= tol + 4 * np.finfo(dtype).eps * np.abs(expected))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,params", [("relu", {}), ("softmax", {}), ("logistic", {}),
                                         ("identity", {}), ("tanh", {})])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_dense_narrow_outputs(rng, dtype, name, params, n_threads):
    """The output layer's shapes: bias and activation in the column tiles'
    output stage; 1 and 2 threads give the same bits."""
    x, w = random_array(rng, (203, 128), dtype), random_array(rng, (128, 10), dtype, 0.1)
    b = random_array(rng, 10, dtype)
    fastmlp.set_config(n_threads=1)
    try:
        one = kernels.dense(x, w, b, name, **params)
        fastmlp.set_config(n_threads=n_threads)
        np.testing.assert_array_equal(kernels.dense(x, w, b, name, **params), one)
    finally:
        fastmlp.set_config(n_threads=0)
    z = x.astype(np.float64) @ w.astype(np.float64) + b
    expected = reference.activation(z.astype(dtype), name, **params)
    tol = 8 * np.finfo(dtype).eps * np.sqrt(128) * (np.abs(x) @ np.abs(w) + np.abs(b)) * 2
    assert np.all(np.abs(one - expected) <= tol + 4 * np.finfo(dtype).eps * np.abs(expected))


def test_gemm_releases_the_gil(rng):
    """Several Python threads calling gemm at once get the right answers."""
    a, b = random_array(rng, (256, 256), np.float32), random_array(rng, (256, 256), np.float32)
    expected = kernels.gemm(a, b)
    results = []

    def work():
        for _ in range(20):
            results.append(np.array_equal(kernels.gemm(a, b), expected))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80 and all(results)


@settings(max_examples=60, deadline=None)
@given(m=st.integers(0, 80), k=st.integers(0, 80), n=st.integers(0, 80),
       trans_a=st.booleans(), trans_b=st.booleans(), f64=st.booleans(),
       alpha=st.floats(-2, 2), beta=st.sampled_from([0.0, 1.0, -0.5]), seed=st.integers(0, 2**16))
def test_gemm_property(m, k, n, trans_a, trans_b, f64, alpha, beta, seed):
    rng = np.random.default_rng(seed)
    dtype = np.float64 if f64 else np.float32
    a, b, a_op, b_op = operands(rng, m, k, n, dtype, trans_a, trans_b)
    out0 = random_array(rng, (m, n), dtype)
    got = kernels.gemm(a, b, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta,
                       out=out0.copy())
    expected = reference.gemm(a, b, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta,
                              out=out0.copy())
    assert_gemm_close(got, expected, np.hstack([abs(alpha) * a_op, np.ones((m, 1), dtype)]),
                      np.vstack([b_op, abs(beta) * np.abs(out0).max(initial=0) * np.ones((1, n))]))


# --- dense ---------------------------------------------------------------

DENSE_ACTIVATIONS = [("identity", {}), ("relu", {}), ("logistic", {}), ("tanh", {}),
                     ("leaky_relu", {"negative_slope": 0.1}), ("elu", {"alpha": 0.7}),
                     ("selu", {}), ("gelu", {}), ("softplus", {}), ("softmax", {}),
                     ("heaviside", {})]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,params", DENSE_ACTIVATIONS)
@pytest.mark.parametrize("m,k,n", [(1, 5, 3), (200, 784, 256), (33, 17, 10), (7, 1, 65),
                                   (1, 784, 256), (64, 300, 4100), (300, 20, 1)])
def test_dense_matches_reference(rng, dtype, name, params, m, k, n):
    x, w = random_array(rng, (m, k), dtype), random_array(rng, (k, n), dtype, 1 / np.sqrt(k))
    b = random_array(rng, n, dtype)
    got = kernels.dense(x, w, b, name, **params)
    z = (x.astype(np.float64) @ w.astype(np.float64) + b)
    expected = reference.activation(z.astype(dtype), name, **params)
    if name == "heaviside":
        # A step function: compare away from the threshold only.
        away = np.abs(z) > 1e-3
        np.testing.assert_array_equal(got[away], expected[away])
        return
    # The pre-activation carries the GEMM error (see module docstring); the
    # activations are 1-Lipschitz or close (selu: 1.76), so the bound carries over.
    tol = 8 * np.finfo(dtype).eps * np.sqrt(k) * (np.abs(x) @ np.abs(w) + np.abs(b)) * 2
    assert np.all(np.abs(got - expected) <= tol + 4 * np.finfo(dtype).eps * np.abs(expected))


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_without_bias_and_with_out(rng, dtype):
    x, w = random_array(rng, (50, 20), dtype), random_array(rng, (20, 30), dtype)
    out = np.empty((50, 30), dtype)
    assert kernels.dense(x, w, None, "relu", out=out) is out
    np.testing.assert_allclose(out, np.maximum(x @ w, 0), rtol=1e-5, atol=1e-5)


def test_dense_propagates_nan(rng):
    x, w = random_array(rng, (20, 8), np.float32), random_array(rng, (8, 40), np.float32)
    x[3, 2] = np.nan
    out = kernels.dense(x, w, np.zeros(40, np.float32), "relu")
    assert np.all(np.isnan(out[3])) and np.all(np.isfinite(np.delete(out, 3, axis=0)))


# --- bad input ------------------------------------------------------------

@pytest.mark.parametrize("module", [kernels, reference])
def test_gemm_bad_input(module):
    f32 = np.ones((3, 4), np.float32)
    with pytest.raises(TypeError, match="a must have dtype float32 or float64"):
        module.gemm(np.ones((3, 4), np.int64), f32.T)
    with pytest.raises(TypeError, match="b must have dtype float32"):
        module.gemm(f32, np.ones((4, 2), np.float64))
    with pytest.raises(ValueError, match="op\\(a\\) has 4 columns but op\\(b\\) has 3 rows"):
        module.gemm(f32, f32)
    with pytest.raises(ValueError, match="2-dimensional"):
        module.gemm(np.ones(3, np.float32), f32)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        module.gemm([[1.0]], f32)
    with pytest.raises(ValueError, match="out must have shape"):
        module.gemm(f32, f32.T.copy(), out=np.empty((3, 4), np.float32))
    with pytest.raises(TypeError, match="out must have dtype"):
        module.gemm(f32, f32.T.copy(), out=np.empty((3, 3), np.float64))
    with pytest.raises(ValueError, match="out must be C-contiguous"):
        module.gemm(f32, f32.T.copy(), out=np.empty((3, 6), np.float32)[:, ::2])


def test_gemm_out_overlapping_input_is_refused():
    a = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match="out must not overlap a"):
        kernels.gemm(a, a.copy(), out=a)


@pytest.mark.parametrize("module", [kernels, reference])
def test_dense_bad_input(module):
    x, w, b = np.ones((3, 4), np.float32), np.ones((4, 5), np.float32), np.ones(5, np.float32)
    with pytest.raises(ValueError, match="activation must be one of"):
        module.dense(x, w, b, "swish")
    with pytest.raises(ValueError, match="b must have shape \\(5,\\)"):
        module.dense(x, w, np.ones(4, np.float32))
    with pytest.raises(TypeError, match="b must have dtype float32"):
        module.dense(x, w, np.ones(5))
    with pytest.raises(ValueError, match="x has 4 features"):
        module.dense(x, w.T.copy(), None)
    with pytest.raises(TypeError, match="unexpected parameter"):
        module.dense(x, w, b, "relu", alpha=2.0)


def test_set_config_validates():
    with pytest.raises(ValueError, match="gemm must be one of"):
        fastmlp.set_config(gemm="cuda")
    with pytest.raises(ValueError, match="n_threads"):
        fastmlp.set_config(n_threads=-1)


def test_show_config(capsys):
    fastmlp.show_config()
    text = capsys.readouterr().out
    for word in ["fastmlp", "instruction set", "OpenMP", "BLAS fallback", "gemm backend"]:
        assert word in text


def test_show_config_says_a_build_without_openmp_is_single_threaded(monkeypatch):
    # A build without OpenMP (e.g. macOS without libomp) says so in words,
    # and a narrowed instruction set names what the CPU runs.
    from fastmlp import _config, _kernels
    info = dict(_kernels._runtime_info(), openmp=False, max_threads=1, isa="generic")
    monkeypatch.setattr(_kernels, "_runtime_info", lambda: info)
    buf = io.StringIO()
    _config.show_config(file=buf)
    line = [ln for ln in buf.getvalue().splitlines() if ln.strip().startswith("OpenMP")]
    assert len(line) == 1 and "single-threaded" in line[0] and "no OpenMP" in line[0]
    if info["isa_best"] != "generic":
        assert f"the CPU runs up to {info['isa_best']}" in buf.getvalue()
