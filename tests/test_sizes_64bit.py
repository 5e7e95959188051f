"""64-bit size and index arithmetic: dimensions whose products exceed 2^31
(and approach 2^63) neither overflow nor wrap, and sizes that cannot be
allocated fail cleanly (MemoryError/ValueError), without allocating them.

Three ways in, none of which needs the memory such arrays would take:

* Views whose rows are more than 2^31 elements apart, cut from a sparse file
  mapped into memory: only the few pages the rows occupy are ever touched,
  while every row offset the C code computes (i * ld) is above 2^31, and
  above 2^32 for the third row, where 32-bit arithmetic would wrap around to
  the first rows instead of crashing. The kernels read such views in place.
* A small C program (tests/c/test_sizes.c), compiled here against csrc/,
  that calls the size helpers directly with sizes near 2^31, 2^62 and 2^63
  (under ASan + UBSan when the compiler has them).
* The estimators and the engine with absurd widths.

Audit of csrc/ behind these tests: every size, index and loop counter over
array elements is int64_t; products of sizes go through checked_mul_add
(train.c) or are bounded by the blocking constants (gemm_kernel.h packing
buffers); byte counts are checked against SIZE_MAX before allocating; the
32-bit BLAS is refused sizes above INT_MAX. The one overflow found was
fm_mlp_n_params's units[l] + 1 for a width of INT64_MAX (fixed).
"""
import os
import shutil
import subprocess
import sysconfig
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

import fastmlp
from fastmlp import MLPClassifier, Perceptron, kernels
from conftest import plain_engine
from fastmlp._validation import check_network_size

ROOT = Path(__file__).resolve().parent.parent
LD = 2**31 + 16  # elements between rows: row 1 at 2^31 + 16, row 2 above 2^32


SPAN = 2**16  # elements after the third row's start for all the views of a test run
_next_offset = [0]


@pytest.fixture(scope="module")
def sparse_file(tmp_path_factory):
    """Path of a sparse file big enough for 3 rows LD float64 elements apart
    (about 34 GB long, a few pages of it on disk)."""
    path = tmp_path_factory.mktemp("big") / "rows.bin"
    size = (2 * LD + SPAN) * 8
    with open(path, "wb") as f:
        f.truncate(size)
    if os.stat(path).st_blocks * 512 > 2**20:  # pragma: no cover - e.g. FAT
        path.unlink()
        pytest.skip("the temporary directory's filesystem has no sparse files")
    yield path
    path.unlink()


def strided_rows(path, dtype, rows, cols, seed, transposed=False):
    """A (rows, cols) view whose consecutive rows are LD elements apart (or,
    transposed, a (cols, rows) Fortran-like view: columns LD apart), filled
    with random values, and the same values as a C-contiguous array."""
    values = np.random.default_rng(seed).standard_normal((rows, cols)).astype(dtype)
    start = _next_offset[0]  # each view its own elements: earlier views stay valid
    _next_offset[0] += cols
    assert rows <= 3 and _next_offset[0] <= SPAN
    n = start + (rows - 1) * LD + cols
    mm = np.memmap(path, dtype=dtype, mode="r+", shape=(n,))
    for i in range(rows):
        mm[start + i * LD:start + i * LD + cols] = values[i]
    mm.flush()
    ro = np.memmap(path, dtype=dtype, mode="r", shape=(n,))  # read-only, as users pass
    item = np.dtype(dtype).itemsize
    view = as_strided(ro[start:], shape=(rows, cols), strides=(LD * item, item),
                      writeable=False)
    if transposed:
        view, values = view.T, values.T.copy()
    assert view.strides[0 if not transposed else 1] == LD * item
    np.testing.assert_array_equal(view, values)
    return view, values


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_reads_rows_more_than_2_31_elements_apart(sparse_file, dtype):
    a, a_c = strided_rows(sparse_file, dtype, 3, 5, seed=1)
    b = np.random.default_rng(2).standard_normal((5, 7)).astype(dtype)
    # In place (no copy: the view is row-strided), each row from its offset.
    np.testing.assert_array_equal(kernels.gemm(a, b), kernels.gemm(a_c, b))
    np.testing.assert_allclose(kernels.gemm(a, b), a_c @ b, rtol=1e-5)
    # As the second operand, and transposed (a Fortran-like view, columns
    # LD apart, read as the transpose of a row-major matrix).
    c = np.random.default_rng(3).standard_normal((4, 3)).astype(dtype)
    np.testing.assert_array_equal(kernels.gemm(c, a), kernels.gemm(c, a_c))
    at, at_c = strided_rows(sparse_file, dtype, 3, 5, seed=4, transposed=True)
    np.testing.assert_array_equal(kernels.gemm(at, c, trans_b=True),
                                  kernels.gemm(at_c, c, trans_b=True))
    np.testing.assert_array_equal(kernels.gemm(at, at.T[:, :3], trans_b=True),
                                  kernels.gemm(at_c, at_c.T[:, :3].copy(), trans_b=True))
    # One row of output (the matrix-vector kernel) with B's rows LD apart.
    wide, wide_c = strided_rows(sparse_file, dtype, 3, 70, seed=5)
    x = np.random.default_rng(6).standard_normal((1, 3)).astype(dtype)
    np.testing.assert_array_equal(kernels.gemm(x, wide), kernels.gemm(x, wide_c))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_and_activation_read_rows_more_than_2_31_elements_apart(sparse_file, dtype):
    x, x_c = strided_rows(sparse_file, dtype, 3, 6, seed=7)
    w = np.random.default_rng(8).standard_normal((6, 4)).astype(dtype)
    b = np.random.default_rng(9).standard_normal(4).astype(dtype)
    for name in ("relu", "tanh", "softmax"):
        np.testing.assert_array_equal(kernels.dense(x, w, b, name), kernels.dense(x_c, w, b, name))
        np.testing.assert_array_equal(kernels.activation(x, name), kernels.activation(x_c, name))


def test_perceptron_trains_on_rows_more_than_2_31_elements_apart(sparse_file):
    """Perceptron's C epoch reads row-strided dense X in place (x + i * ldx)."""
    X, X_c = strided_rows(sparse_file, np.float64, 3, 4, seed=10)
    y = np.array([0, 1, 0])
    a = Perceptron(max_iter=5, tol=None, shuffle=False).fit(X, y)
    b = Perceptron(max_iter=5, tol=None, shuffle=False).fit(X_c, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X_c))


def test_estimators_predict_from_rows_more_than_2_31_elements_apart(sparse_file):
    X, X_c = strided_rows(sparse_file, np.float64, 3, 4, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(
            X_c, [0, 1, 0])
    np.testing.assert_array_equal(est.predict_proba(X), est.predict_proba(X_c))


def test_32_bit_blas_is_refused_sizes_above_2_31(sparse_file):
    """The BLAS fallback takes int sizes: a leading dimension above 2^31 is
    an error, not a truncated (wrong) product."""
    a, a_c = strided_rows(sparse_file, np.float64, 3, 5, seed=12)
    b = np.ones((5, 2))
    before = fastmlp.get_config()["gemm"]
    try:
        fastmlp.set_config(gemm="blas")
        np.testing.assert_allclose(kernels.gemm(a_c, b), a_c @ b)  # small: through BLAS
        with pytest.raises(ValueError, match=r"the sizes exceed 32-bit BLAS"):
            kernels.gemm(a, b)
    finally:
        fastmlp.set_config(gemm=before)


# --- the C size helpers ---------------------------------------------------------

def _plain_env():
    """The environment without a preloaded sanitizer runtime (scripts/sanitize.sh
    preloads ASan into Python; the compiler and the test program need none)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("ASAN_OPTIONS", None)
    return env


def _compiler():
    for cc in (os.environ.get("CC"), sysconfig.get_config_var("CC"), "cc", "gcc", "clang"):
        if cc and shutil.which(cc.split()[0]):
            return cc.split()
    return None


@pytest.fixture(scope="module")
def size_program(tmp_path_factory):
    cc = _compiler()
    if cc is None:  # pragma: no cover - the package itself needs a C compiler
        pytest.skip("no C compiler")
    out = tmp_path_factory.mktemp("c") / "test_sizes"
    csrc = ROOT / "csrc"
    sources = [csrc / f for f in ("cpu.c", "dispatch.c", "ops/gemm.c",
                                  "kernels/gemm_generic.c", "kernels/gemm_bf16_generic.c",
                                  "kernels/gemm_bf16_bfmmla_emulated.c",
                                  "ops/gemm_bf16.c", "ops/activations.c", "ops/losses.c",
                                  "ops/optimizers.c", "engine/train.c", "engine/perceptron.c")]
    includes = [f"-I{csrc / d}" for d in ("", "kernels", "ops", "engine")]
    base = [*cc, "-std=gnu11", "-O0", "-g", *includes, str(ROOT / "tests" / "c" / "test_sizes.c"),
            *map(str, sources), "-o", str(out), "-lm"]
    sanitizers = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                  "-fno-omit-frame-pointer"]
    env = _plain_env()
    proc = subprocess.run(base[:1] + sanitizers + base[1:], capture_output=True, text=True,
                          env=env)
    sanitized = proc.returncode == 0
    if not sanitized:  # a compiler without the sanitizer runtimes: plain build
        proc = subprocess.run(base, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return out, sanitized


def test_size_helpers_in_c(size_program):
    program, _ = size_program
    env = dict(_plain_env(), ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    proc = subprocess.run([str(program)], capture_output=True, text=True, env=env, timeout=120)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0 and proc.stderr == "", proc.stdout + proc.stderr
    failed = [line for line in lines if line.startswith("FAIL")]
    assert not failed, failed
    assert sum(line.startswith("ok ") for line in lines) == 19, lines
    values = dict(line.split()[1:] for line in lines if line.startswith("value "))
    big = 2**31 + 1
    # Exact, as Python's unbounded integers compute them.
    assert int(values["n_params_above_2_62"]) == (big + 1) * (big + 2) + (big + 3) * 5
    assert int(values["n_params_batch_norm"]) == (
        4 * big + (big + 1) * big + (big + 1) * 2 + 2 * (2 * big))


def test_size_program_ran_under_sanitizers_where_available(size_program):
    """On Linux with GCC or Clang the size program is built with ASan+UBSan,
    so a signed overflow in size arithmetic is a failure, not a silent wrap."""
    _, sanitized = size_program
    cc = _compiler()
    probe = subprocess.run([*cc, "-fsanitize=address,undefined", "-x", "c", "-", "-o",
                            os.devnull], input="int main(void){return 0;}", capture_output=True,
                           text=True, env=_plain_env())
    assert sanitized == (probe.returncode == 0)


# --- estimators and the engine -------------------------------------------------------

def test_network_size_is_exact_and_refuses_arrays_no_memory_holds():
    big = 2**31 + 1
    # 2^59 weights in one matrix: more than 2^31, fewer than an array can hold.
    assert check_network_size([big, 2**28, 2], 4) == (big + 1) * 2**28 + (2**28 + 1) * 2
    with pytest.raises(ValueError, match=r"gives a 2147483649 x 2147483651 weight matrix"):
        check_network_size([big, big + 2, 5], 8)  # 2^62 float64 values: more than 2^63 bytes
    with pytest.raises(ValueError, match=r"gives a 4 x 4611686018427387904 weight matrix"):
        check_network_size([4, 2**62, 2], 8)
    with pytest.raises(ValueError, match=r"gives a 2147483649 x 4294967296 weight matrix"):
        check_network_size([big, 2**32, 2], 8)  # 2^63 elements: no array holds them


@pytest.mark.parametrize("units", [[2**40, 2**30, 2], [4, 2**62, 2], [2**63 - 1, 2, 2],
                                   [2, 2**63 - 1, 2], [2**31 + 1, 2**31 + 3, 5]])
def test_engine_refuses_workspaces_that_overflow_or_cannot_be_allocated(units):
    """Products of widths above 2^31 and up to 2^63: MemoryError from the
    engine (the C size checks refuse what overflows; the rest fails to
    allocate), never a crash or a wrapped size."""
    with pytest.raises(MemoryError, match=r"cannot allocate the training workspace"):
        plain_engine(units, [("relu", {})], "softmax", ("identity", {}), "squared_error", 1.0,
                  0.0, 2**20, np.float64, None, True)


def test_engine_refuses_widths_beyond_int64():
    with pytest.raises(OverflowError):
        plain_engine([2**64, 2, 2], [("relu", {})], "softmax", ("identity", {}), "squared_error",
                  1.0, 0.0, 1, np.float64, None, False)


@pytest.mark.parametrize("sizes,exc,pattern", [
    # (The first layer to allocate is always petabytes: refused at once on
    # any machine, so nothing is ever filled with random numbers.)
    ((2**40,), MemoryError, rf"cannot allocate the {65 * 2**40 + 2**40 + 1} weights"),
    ((1, 2**50), MemoryError, rf"cannot allocate the {65 + 2 * 2**50 + 2**50 + 1} weights"),
    ((2**62,), ValueError, r"gives a 64 x 4611686018427387904 weight matrix"),
    ((2**40, 2**40), ValueError, r"gives a 1099511627776 x 1099511627776 weight matrix"),
])
def test_estimator_with_widths_whose_products_exceed_2_31(sizes, exc, pattern):
    rng = np.random.default_rng(0)
    X, y = rng.random((8, 64)), np.arange(8) % 2
    with pytest.raises(exc, match=pattern):
        MLPClassifier(hidden_layer_sizes=sizes, max_iter=1).fit(X, y)
