"""fastmlp.kernels.activation / activation_grad against fastmlp.reference.

Tolerances (C kernel vs NumPy/SciPy reference, both in the input dtype).
Both sides evaluate the same formulas, so they differ only by the rounding of
their libm functions:

* piecewise-linear activations (identity, relu, leaky_relu, heaviside) and
  their derivatives: one rounding or none, identical on both sides: exact;
* logistic forward: the C kernel uses scipy.special.expit's own expression
  with the same glibc exp, so it is compared *bit for bit* in its own test;
* functions built from exp/expm1/log1p/tanh (logistic', tanh, elu, selu,
  softplus, ...): each library is within ~1-2 ulp of the true value (NumPy
  has its own SIMD exp/tanh), plus one or two roundings of the surrounding
  arithmetic: rtol = 4 eps of the dtype;
* gelu: the C kernel uses glibc's erfc, the reference SciPy's (Cephes),
  which computes exp(-x*x) with x*x rounded, losing ~x^2 ulp in the tail
  (x = z / sqrt 2): rtol = (8 + z^2) eps;
* derivatives: their values are O(1) and some have an interior zero
  (gelu' at z = -0.75, where Phi(z) and z phi(z) cancel), so they are
  accurate in absolute terms: atol = 4 eps on top of the rtol;
* vector-Jacobian products g * act'(z): one more rounding, atol scaled by |g|;
* softmax: one exp per element divided by the row sum. The C kernel sums in
  double; NumPy's float sum is pairwise with error ~log2(n) ulp:
  rtol = (4 + log2 n) eps. Its vector-Jacobian product s * (g - <g, s>)
  cancels in g - <g, s>, so its bound is absolute:
  (8 + log2 n) eps * s * (|g| + sum_j |g_j s_j|).
Anything below the smallest normal number counts as zero (atol = tiny):
relative precision is lost there on both sides.

Finite differences (float64 only): central differences with h = 1e-6 have
truncation error ~h^2 |f'''| ~ 1e-12 and rounding error ~eps / h ~ 2e-10,
so rtol = atol = 1e-6 leaves a wide margin and still catches any wrong
formula (which is off by O(1)).
"""
import threading
import warnings

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st

from fastmlp import kernels, reference

from elementwise_helpers import FLOAT_DTYPES, SIZES, assert_close, away_from, eps, layouts

# Every activation with a non-default parameter where it takes one, so that
# the parameter is seen to be passed through.
ACTIVATIONS = [
    ("identity", {}),
    ("logistic", {}),
    ("tanh", {}),
    ("relu", {}),
    ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {"alpha": 1.5}),
    ("selu", {}),
    ("gelu", {}),
    ("softplus", {}),
    ("softmax", {}),
    ("heaviside", {}),
]
ACT_IDS = [name for name, _ in ACTIVATIONS]
DIFFERENTIABLE = [(n, p) for n, p in ACTIVATIONS if n != "heaviside"]
ELEMENTWISE_GRAD = [(n, p) for n, p in DIFFERENTIABLE if n != "softmax"]
EXACT = {"identity", "relu", "leaky_relu", "heaviside"}
# Where each derivative has a kink or branch point (finite differences must
# stay clear of them).
KINKS = {"relu": [0.0], "leaky_relu": [0.0], "elu": [0.0], "selu": [0.0]}


def forward_tolerance(name, z):
    """(rtol, atol) of activation(z) C vs reference; see the module docstring."""
    e, tiny = eps(z.dtype), float(np.finfo(z.dtype).tiny)
    if name in EXACT:
        return 0.0, 0.0
    if name == "gelu":
        return (8 + z.astype(np.float64) ** 2) * e, tiny
    if name == "softmax":
        return (4 + np.log2(z.shape[-1])) * e, tiny
    return 4 * e, tiny


def grad_tolerance(name, z, g=None):
    """(rtol, atol) of activation_grad(z[, g]) C vs reference."""
    e, tiny = eps(z.dtype), float(np.finfo(z.dtype).tiny)
    z64 = z.astype(np.float64)
    if name == "softmax":
        s = scipy.special.softmax(z64, axis=-1)
        g64 = g.astype(np.float64)
        dot = np.sum(np.abs(g64 * s), axis=-1, keepdims=True)
        return 0.0, (8 + np.log2(z.shape[-1])) * e * s * (np.abs(g64) + dot) + tiny
    gscale = 1.0 if g is None else np.abs(g.astype(np.float64))
    if name in EXACT:
        return 0.0, 0.0
    rtol = (8 + z64**2) * e if name == "gelu" else 4 * e
    if g is not None:
        rtol = rtol + e
    return rtol, 4 * e * gscale + tiny


def shapes_for(size):
    """Each size as the number of rows and as the row length."""
    return [(size, 17), (9, size)]


# ---------------------------------------------------------------------------
# C against the reference
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name,params", ACTIVATIONS, ids=ACT_IDS)
@pytest.mark.parametrize("size", SIZES)
def test_forward_matches_reference(rng, dtype, name, params, size):
    for shape in shapes_for(size):
        z = (3 * rng.standard_normal(shape)).astype(dtype)
        out = kernels.activation(z, name, **params)
        assert out.dtype == dtype and out.shape == shape
        rtol, atol = forward_tolerance(name, z)
        assert_close(out, reference.activation(z, name, **params), rtol, atol, name)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name,params", DIFFERENTIABLE, ids=[n for n, _ in DIFFERENTIABLE])
@pytest.mark.parametrize("size", SIZES)
def test_grad_matches_reference(rng, dtype, name, params, size):
    for shape in shapes_for(size):
        z = (3 * rng.standard_normal(shape)).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        if name != "softmax":
            d = kernels.activation_grad(z, name, **params)
            assert d.dtype == dtype and d.shape == shape
            rtol, atol = grad_tolerance(name, z)
            assert_close(d, reference.activation_grad(z, name, **params), rtol, atol, name)
        vjp = kernels.activation_grad(z, name, g, **params)
        rtol, atol = grad_tolerance(name, z, g)
        assert_close(vjp, reference.activation_grad(z, name, g, **params), rtol, atol,
                     f"{name} vjp")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_logistic_is_scipy_expit_bit_for_bit(rng, dtype):
    # scikit-learn's logistic is scipy.special.expit; the C kernel evaluates
    # the same expression with the same exp, so wherever exp(-z) does not
    # overflow the results are identical.
    cut = 88.0 if dtype == np.float32 else 709.0
    z = np.concatenate([(10 * rng.standard_normal(5000)), np.linspace(-cut, cut, 5001)])
    z = z.astype(dtype)
    np.testing.assert_array_equal(kernels.activation(z, "logistic"), scipy.special.expit(z))
    np.testing.assert_array_equal(kernels.activation(z, "sigmoid"), scipy.special.expit(z))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(0,), (0, 5), (5, 0), (13,), (2, 3, 4), (3, 1, 1, 7)])
@pytest.mark.parametrize("name,params", ACTIVATIONS, ids=ACT_IDS)
def test_any_ndim_rows_along_last_axis(rng, dtype, shape, name, params):
    # The array is (prod(shape[:-1]), shape[-1]) rows: softmax normalises the
    # last axis; everything else is element-wise. Empty arrays are fine.
    z = (2 * rng.standard_normal(shape)).astype(dtype)
    out = kernels.activation(z, name, **params)
    assert out.shape == shape and out.dtype == dtype
    rtol, atol = forward_tolerance(name, z) if z.size else (0, 0)
    assert_close(out, reference.activation(z, name, **params), rtol, atol, name)
    if name == "softmax" and z.size:
        assert_close(out.sum(axis=-1), np.ones(shape[:-1]), 4 * shape[-1] * eps(dtype))
    if name != "heaviside":
        g = rng.standard_normal(shape).astype(dtype)
        got = kernels.activation_grad(z, name, g, **params)
        rtol, atol = grad_tolerance(name, z, g) if z.size else (0, 0)
        assert_close(got, reference.activation_grad(z, name, g, **params), rtol, atol, name)


# ---------------------------------------------------------------------------
# Memory layouts and in-place operation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name,params", ACTIVATIONS, ids=ACT_IDS)
def test_layouts_give_identical_results(rng, dtype, name, params):
    # Strided views are read in place, other layouts copied: the values the
    # kernel sees are the same, so the results must be bit-identical.
    z = (3 * rng.standard_normal((33, 17))).astype(dtype)
    g = rng.standard_normal(z.shape).astype(dtype)
    expected = kernels.activation(z, name, **params)
    expected_grad = None if name == "heaviside" else kernels.activation_grad(z, name, g, **params)
    for layout, zl in layouts(z):
        np.testing.assert_array_equal(kernels.activation(zl, name, **params), expected,
                                      err_msg=layout)
        if expected_grad is not None:
            for glayout, gl in layouts(g):
                np.testing.assert_array_equal(
                    kernels.activation_grad(zl, name, gl, **params), expected_grad,
                    err_msg=f"z {layout}, grad_output {glayout}")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name,params", ACTIVATIONS, ids=ACT_IDS)
@pytest.mark.parametrize("shape", [(1, 1), (7, 65), (257, 3), (4, 5, 6)])
def test_in_place(rng, dtype, name, params, shape):
    z = (3 * rng.standard_normal(shape)).astype(dtype)
    expected = kernels.activation(z, name, **params)
    work = z.copy()
    assert kernels.activation(work, name, out=work, **params) is work
    np.testing.assert_array_equal(work, expected)
    out = np.full(shape, np.nan, dtype)
    assert kernels.activation(z, name, out=out, **params) is out
    np.testing.assert_array_equal(out, expected)
    # The reference honours out the same way.
    work = z.copy()
    assert reference.activation(work, name, out=work, **params) is work


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name,params", DIFFERENTIABLE, ids=[n for n, _ in DIFFERENTIABLE])
def test_grad_in_place_over_z_or_grad_output(rng, dtype, name, params):
    z = (3 * rng.standard_normal((17, 33))).astype(dtype)
    g = rng.standard_normal(z.shape).astype(dtype)
    expected = kernels.activation_grad(z, name, g, **params)
    work = g.copy()
    assert kernels.activation_grad(z, name, work, out=work, **params) is work
    np.testing.assert_array_equal(work, expected)
    work = z.copy()
    assert kernels.activation_grad(work, name, g, out=work, **params) is work
    np.testing.assert_array_equal(work, expected)
    if name != "softmax":
        expected = kernels.activation_grad(z, name, **params)
        work = z.copy()
        kernels.activation_grad(work, name, out=work, **params)
        np.testing.assert_array_equal(work, expected)


@pytest.mark.parametrize("name,params", ACTIVATIONS, ids=ACT_IDS)
def test_out_overlapping_input_is_handled(rng, name, params):
    # out shifted by one row against z in the same buffer: the kernel must
    # not read elements it has already overwritten.
    buf = rng.standard_normal((10, 7))
    z, out = buf[:-1], buf[1:]
    expected = kernels.activation(z.copy(), name, **params)
    kernels.activation(z, name, out=out, **params)
    np.testing.assert_array_equal(out, expected)
    if name != "heaviside":
        buf = rng.standard_normal((10, 7))
        g = rng.standard_normal((9, 7))
        z, out = buf[:-1], buf[1:]
        expected = kernels.activation_grad(z.copy(), name, g, **params)
        kernels.activation_grad(z, name, g, out=out, **params)
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name,params", ACTIVATIONS, ids=ACT_IDS)
@pytest.mark.parametrize("m,k,n", [(17, 5, 33), (65, 7, 65), (3, 4, 257), (1, 3, 1)])
def test_dense_applies_activation_on_strided_tiles(rng, dtype, name, params, m, k, n):
    # The dense layer calls fm_activation_forward_* in place on sub-tiles of
    # its output (leading dimension n > tile width): the result must be the
    # activation of the whole product. The product itself rounds differently
    # in GEMM and NumPy (k <= 7 terms of size ~1): a few eps per element,
    # amplified at most ~|z act'(z) / act(z)| <~ 10 by the activation.
    x = rng.standard_normal((m, k)).astype(dtype)
    w = rng.standard_normal((k, n)).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    got = kernels.dense(x, w, b, name, **params)
    want = reference.dense(x, w, b, name, **params)
    if name == "heaviside":  # a step: only compare away from the jump
        z = x.astype(np.float64) @ w.astype(np.float64) + b
        keep = np.abs(z) > 1e-3
        np.testing.assert_array_equal(got[keep], want[keep])
    else:
        assert_close(got, want, 256 * eps(dtype), 256 * eps(dtype), name)


def test_concurrent_calls_agree(rng):
    # The kernels release the GIL and keep no state: threads must not
    # interfere.
    z = rng.standard_normal((2000, 257))
    expected = {name: kernels.activation(z, name, **p) for name, p in ACTIVATIONS}
    results, errors = {}, []

    def work(name, params):
        try:
            for _ in range(3):
                results[name] = kernels.activation(z, name, **params)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=a) for a in ACTIVATIONS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for name, _ in ACTIVATIONS:
        np.testing.assert_array_equal(results[name], expected[name])


# ---------------------------------------------------------------------------
# Gradients against finite differences (float64)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,params", ELEMENTWISE_GRAD, ids=[n for n, _ in ELEMENTWISE_GRAD])
def test_grad_matches_finite_differences(rng, name, params):
    z = away_from(3 * rng.standard_normal((9, 7)), KINKS.get(name, []), 1e-3)
    h = 1e-6
    fd = (kernels.activation(z + h, name, **params)
          - kernels.activation(z - h, name, **params)) / (2 * h)
    assert_close(kernels.activation_grad(z, name, **params), fd, 1e-6, 1e-6, name)
    assert_close(reference.activation_grad(z, name, **params), fd, 1e-6, 1e-6, name)
    g = rng.standard_normal(z.shape)
    assert_close(kernels.activation_grad(z, name, g, **params), g * fd, 1e-6, 1e-6, name)


@pytest.mark.parametrize("n", [1, 2, 5, 17])
def test_softmax_vjp_matches_finite_differences(rng, n):
    # The VJP of row i is the gradient of L_i(z_i) = <g_i, softmax(z_i)>.
    # Rows are independent, so column j of every row is perturbed at once.
    z = 3 * rng.standard_normal((6, n))
    g = rng.standard_normal(z.shape)
    h = 1e-6

    def rows_loss(zz):
        return np.sum(g * kernels.activation(zz, "softmax"), axis=1)

    fd = np.empty_like(z)
    for j in range(n):
        step = np.zeros_like(z)
        step[:, j] = h
        fd[:, j] = (rows_loss(z + step) - rows_loss(z - step)) / (2 * h)
    assert_close(kernels.activation_grad(z, "softmax", g), fd, 1e-6, 1e-8)
    assert_close(reference.activation_grad(z, "softmax", g), fd, 1e-6, 1e-8)


# ---------------------------------------------------------------------------
# Extreme values and NaN
# ---------------------------------------------------------------------------

EXTREMES = [-np.inf, -1e4, -1000.0, -100.0, -30.0, -1.0, -1e-30, -0.0, 0.0, 1e-30, 1.0,
            30.0, 100.0, 1000.0, 1e4, np.inf]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name,params", ACTIVATIONS, ids=ACT_IDS)
def test_extreme_inputs_finite_and_stable(dtype, name, params):
    # Huge and tiny inputs: finite outputs for finite inputs (no overflow to
    # inf/inf = NaN), the right limits, no floating-point warnings anywhere.
    big = float(np.finfo(dtype).max)
    z = np.array(EXTREMES + [-big, big], dtype=dtype)
    finite = np.isfinite(z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            if name == "softmax":
                out = kernels.activation(z[finite][np.newaxis, :], name, **params)
            else:
                out = kernels.activation(z, name, **params)
            if name not in ("heaviside", "softmax"):
                d = kernels.activation_grad(z, name, **params)
    if name == "softmax":
        assert np.all(np.isfinite(out))
        return
    assert not np.any(np.isnan(out)), out
    if name not in ("identity", "relu", "leaky_relu", "elu", "selu", "gelu", "softplus"):
        assert np.all(np.isfinite(out))  # bounded functions
    if name != "heaviside":
        assert not np.any(np.isnan(d)), d
        assert np.all(np.isfinite(d))
    at = dict(zip(z.tolist(), out.tolist()))
    limits = {
        "logistic": {-1e4: 0.0, -1000.0: 0.0, 0.0: 0.5, 1000.0: 1.0, 1e4: 1.0, np.inf: 1.0},
        "tanh": {-1e4: -1.0, 1e4: 1.0, 0.0: 0.0},
        "softplus": {-1e4: 0.0, 1e4: 1e4, 1000.0: 1000.0, 0.0: np.log(2.0), np.inf: np.inf},
        "gelu": {-1e4: 0.0, -1000.0: 0.0, 1e4: 1e4, 0.0: 0.0, -np.inf: 0.0, np.inf: np.inf},
        "elu": {-1e4: -1.5, -np.inf: -1.5},
        "selu": {-1e4: -1.7580993408473766, 1e4: 1.0507009873554805e4},
        "relu": {-1e4: 0.0, 1e4: 1e4, -np.inf: 0.0},
        "heaviside": {-1e4: 0.0, 0.0: 1.0, 1e-30: 1.0},
    }.get(name, {})
    for x, want in limits.items():
        assert_close(at[float(dtype(x))], want, 4 * eps(dtype), what=f"{name}({x})")
    if name == "heaviside":
        # -0.0 == 0.0 as a dict key, so the sign of zero is checked apart:
        # z >= 0 holds for both zeros.
        signed = kernels.activation(np.array([-0.0, 0.0], dtype=dtype), name)
        np.testing.assert_array_equal(signed, [1.0, 1.0])
    if name != "heaviside":
        at_d = dict(zip(z.tolist(), d.tolist()))
        grad_limits = {
            "logistic": {-1e4: 0.0, 1e4: 0.0, 0.0: 0.25},
            "tanh": {-1e4: 0.0, 1e4: 0.0, 0.0: 1.0, np.inf: 0.0},
            "softplus": {-1e4: 0.0, 1e4: 1.0},
            "gelu": {-1e4: 0.0, 1e4: 1.0, -np.inf: 0.0, np.inf: 1.0, 0.0: 0.5},
            "elu": {-1e4: 0.0, 1e4: 1.0},
        }.get(name, {})
        for x, want in grad_limits.items():
            assert_close(at_d[float(dtype(x))], want, 4 * eps(dtype), what=f"{name}'({x})")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name,params", ACTIVATIONS, ids=ACT_IDS)
def test_reference_is_stable_on_finite_extremes(dtype, name, params):
    # The reference's formulas are the stable ones too: no overflow, invalid
    # or divide warnings at +-1e4 (underflow to 0 is the right answer there).
    z = np.array([[-1e4, -1000.0, -1.0, 0.0, 1.0, 1000.0, 1e4]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        out = reference.activation(z, name, **params)
        assert not np.any(np.isnan(out))
        if name != "heaviside":
            d = reference.activation_grad(z, name, np.ones_like(z), **params)
            assert np.all(np.isfinite(d))
    rtol, atol = forward_tolerance(name, z)
    assert_close(kernels.activation(z, name, **params), out, rtol, atol, name)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name,params", ACTIVATIONS, ids=ACT_IDS)
def test_nan_propagates(dtype, name, params):
    # NaN in, NaN out: relu(NaN) is NaN like np.maximum, and a NaN input has
    # a NaN derivative rather than a plausible 0 or 1.
    z = np.array([[np.nan, 1.0, -1.0]], dtype=dtype)
    out = kernels.activation(z, name, **params)
    if name == "softmax":
        assert np.all(np.isnan(out))  # the whole row
    else:
        assert np.isnan(out[0, 0]) and not np.any(np.isnan(out[0, 1:]))
        np.testing.assert_array_equal(np.isnan(reference.activation(z, name, **params)),
                                      np.isnan(out))
    if name not in ("heaviside", "softmax"):
        d = kernels.activation_grad(z, name, **params)
        assert np.isnan(d[0, 0]) and not np.any(np.isnan(d[0, 1:]))
        np.testing.assert_array_equal(np.isnan(reference.activation_grad(z, name, **params)),
                                      np.isnan(d))


# ---------------------------------------------------------------------------
# Bad input: the same exception, naming the argument, from both modules
# ---------------------------------------------------------------------------

MODULES = [pytest.param(kernels, id="kernels"), pytest.param(reference, id="reference")]


@pytest.mark.parametrize("mod", MODULES)
def test_bad_activation_arguments(mod):
    z = np.zeros((3, 4))
    with pytest.raises(ValueError, match="name must be one of"):
        mod.activation(z, "swish")
    with pytest.raises(ValueError, match="name must be one of"):
        mod.activation(z, None)
    with pytest.raises(TypeError, match="unexpected parameter"):
        mod.activation(z, "relu", alpha=1.0)
    with pytest.raises(TypeError, match="unexpected parameter"):
        mod.activation(z, "elu", negative_slope=1.0)
    with pytest.raises(TypeError, match="negative_slope must be a real number"):
        mod.activation(z, "leaky_relu", negative_slope="big")
    with pytest.raises(ValueError, match="alpha must be finite"):
        mod.activation(z, "elu", alpha=np.inf)
    with pytest.raises(TypeError, match="z must be a numpy.ndarray"):
        mod.activation([[1.0, 2.0]], "relu")
    with pytest.raises(TypeError, match="z must have dtype float32 or float64"):
        mod.activation(np.zeros((3, 4), np.int64), "relu")
    with pytest.raises(TypeError, match="z must have dtype float32 or float64"):
        mod.activation(np.zeros((3, 4), np.float16), "relu")
    with pytest.raises(ValueError, match="z must have at least 1 dimension"):
        mod.activation(np.array(1.0), "relu")
    with pytest.raises(ValueError, match="out must have shape"):
        mod.activation(z, "relu", out=np.zeros((4, 3)))
    with pytest.raises(TypeError, match="out must have dtype"):
        mod.activation(z, "relu", out=np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="out must be C-contiguous"):
        mod.activation(z, "relu", out=np.zeros((4, 3)).T)
    with pytest.raises(TypeError, match="out must be a numpy.ndarray"):
        mod.activation(z, "relu", out=[0.0] * 12)


def test_out_must_be_writeable():
    z = np.zeros((3, 4))
    ro = np.zeros((3, 4))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out must be writeable"):
        kernels.activation(z, "relu", out=ro)
    with pytest.raises(ValueError, match="read-only"):
        reference.activation(z, "relu", out=ro)


@pytest.mark.parametrize("mod", MODULES)
def test_bad_activation_grad_arguments(mod):
    z = np.zeros((3, 4))
    with pytest.raises(ValueError, match="'heaviside' is forward-only"):
        mod.activation_grad(z, "heaviside")
    with pytest.raises(ValueError, match="'step' is forward-only"):
        mod.activation_grad(z, "step", np.ones_like(z))
    with pytest.raises(ValueError, match="softmax's derivative is a Jacobian.*grad_output"):
        mod.activation_grad(z, "softmax")
    with pytest.raises(ValueError, match="grad_output must have the shape of z"):
        mod.activation_grad(z, "tanh", np.zeros((4, 3)))
    with pytest.raises(TypeError, match="grad_output must have dtype float64"):
        mod.activation_grad(z, "tanh", np.zeros((3, 4), np.float32))
    with pytest.raises(TypeError, match="grad_output must be a numpy.ndarray"):
        mod.activation_grad(z, "tanh", 1.0)
    with pytest.raises(TypeError, match="z must have dtype"):
        mod.activation_grad(np.zeros(3, np.int32), "tanh")
    with pytest.raises(ValueError, match="out must have shape"):
        mod.activation_grad(z, "tanh", out=np.zeros(12))
    with pytest.raises(ValueError, match="name must be one of"):
        mod.activation_grad(z, "Tanh")


# ---------------------------------------------------------------------------
# Property-based: shapes, parameters and scales, C against the reference
# ---------------------------------------------------------------------------

@settings(max_examples=80, deadline=None)
@given(
    shape=st.lists(st.integers(0, 40), min_size=1, max_size=3).map(tuple),
    activation=st.sampled_from([n for n, _ in ACTIVATIONS]),
    dtype=st.sampled_from(FLOAT_DTYPES),
    slope=st.floats(-2.0, 2.0),
    alpha=st.floats(0.01, 5.0),
    scale=st.floats(1e-3, 50.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_matches_reference(shape, activation, dtype, slope, alpha, scale, seed):
    rng = np.random.default_rng(seed)
    params = {"leaky_relu": {"negative_slope": slope}, "elu": {"alpha": alpha}}.get(activation, {})
    z = (scale * rng.standard_normal(shape)).astype(dtype)
    if z.size == 0:
        assert kernels.activation(z, activation, **params).shape == shape
        return
    rtol, atol = forward_tolerance(activation, z)
    assert_close(kernels.activation(z, activation, **params),
                 reference.activation(z, activation, **params), rtol, atol, activation)
    if activation != "heaviside":
        g = rng.standard_normal(shape).astype(dtype)
        rtol, atol = grad_tolerance(activation, z, g)
        assert_close(kernels.activation_grad(z, activation, g, **params),
                     reference.activation_grad(z, activation, g, **params), rtol, atol,
                     activation)
