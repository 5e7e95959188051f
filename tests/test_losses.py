"""fastmlp.kernels losses against fastmlp.reference, finite differences and scikit-learn.

Tolerances. The C kernels compute exp/log1p/log in the input dtype and
everything else (the cancelling differences, the sums, the weight scaling)
in double; the reference computes the loss value from the upcast inputs
entirely in float64 and the gradient in the input dtype. Hence:

* loss value, summation: both sides add N = m * n non-negative terms in
  different orders (sequentially vs NumPy's pairwise sum). Rounding errors
  of such sums grow like a random walk, ~sqrt(N) * eps(float64) relative:
  rtol = 4 sqrt(N) eps64.
* loss value, transcendentals in float32: each exp/log1p has ~1 ulp error
  relative to its own value, and for cross-entropy (softmax and sigmoid)
  that term is bounded by the element's loss itself (l = log S + (M - z_y)
  with log S >= 0, resp. l = [max(z, 0) - z y] + log1p(exp(-|z|)) with
  both parts >= 0): rtol = 4 eps(dtype). Softmax's exp(z_j - M) also
  inherits the float32 rounding of its argument z_j - M (the reference
  subtracts exactly in float64), a relative error of |z_j - M| eps / 2:
  rtol = (4 + max |z_j - M| / 2) eps(dtype); and an exp below the normal
  range (float32: exp(-88)) is a subnormal with an absolute error of half
  the smallest subnormal: atol = n * smallest_subnormal.
  Squared/absolute/Huber have no transcendental: only the summation part.
* Poisson is the one loss whose terms cancel (exp(p) - y p + y log y - y
  is ~0 near the optimum while its terms are not), so its tolerance is
  absolute, 8 eps(dtype) times the weighted mean of
  sum_j (exp(p) + y |p| + y |log y| + y).
* gradients: the reference rounds each operation in the input dtype
  (softmax with a pairwise float sum, then - y, then * w_i / sum(w)), the C
  kernel rounds once: rtol = 4 eps(dtype). Both divide by sum(w), summed
  in double in different orders: + 4 sqrt(m) eps64. Entries where s - y
  cancels are only accurate in absolute terms: atol = (4 + log2 n) eps *
  w_i / sum(w) (per row); for Poisson's exp(p) - y that absolute part is
  scaled by exp(p) + y.

Finite differences (float64): central differences with h = 1e-6 on losses
of O(1): truncation ~1e-12, rounding ~1e-10 relative to the loss; compared
with rtol = atol = 1e-6 (a wrong gradient is off by O(1)).
"""
import warnings

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (log_loss, mean_absolute_error, mean_poisson_deviance,
                             mean_squared_error)

from fastmlp import kernels, reference

from elementwise_helpers import FLOAT_DTYPES, SIZES, assert_close, away_from, eps

EPS64 = eps(np.float64)
REGRESSION = ["squared_error", "absolute_error", "huber", "poisson"]
MODULES = [pytest.param(kernels, id="kernels"), pytest.param(reference, id="reference")]


def weights_or_none(rng, m, dtype, weighted):
    return rng.uniform(0.0, 3.0, m).astype(dtype) if weighted else None


def grad_scale(m, ndim, sample_weight):
    """w_i / sum(w) shaped like the rows of the gradient (float64)."""
    w = np.ones(m) if sample_weight is None else sample_weight.astype(np.float64)
    scale = w / w.sum()
    return scale if ndim == 1 else scale[:, np.newaxis]


def grad_rtol(m, dtype):
    """Rounding of the gradient, and the differently summed sum(w)."""
    return 4 * eps(dtype) + 4 * np.sqrt(m) * EPS64


def softmax_rtol(z):
    """Relative error of float exp(z_j - M), argument rounding included."""
    z64 = z.astype(np.float64)
    return (4 + np.max(z64.max(axis=1, keepdims=True) - z64) / 2) * eps(z.dtype)


def check_loss(got, want, n_terms, rtol_elements, what, atol=0.0):
    """Loss values to the summation tolerance plus that of the elements;
    returns the gradients to compare."""
    loss, grad = got
    ref_loss, ref_grad = want
    assert isinstance(loss, float)
    rtol = 4 * np.sqrt(n_terms) * EPS64 + rtol_elements
    assert_close(loss, ref_loss, rtol, atol, f"{what} loss")
    return grad, ref_grad


def subnormal_atol(z):
    """Absolute error of up to n subnormal exp() values per sample."""
    return z.shape[-1] * float(np.finfo(z.dtype).smallest_subnormal)


# ---------------------------------------------------------------------------
# C against the reference
# ---------------------------------------------------------------------------

def softmax_inputs(rng, m, n, dtype):
    z = (3 * rng.standard_normal((m, n))).astype(dtype)
    labels = rng.integers(0, n, m)
    probs = rng.dirichlet(np.ones(n), m).astype(dtype)
    return z, labels, probs


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("weighted", [False, True])
def test_softmax_cross_entropy_matches_reference(rng, dtype, size, weighted):
    for m, n in [(size, 7), (13, size)]:
        z, labels, probs = softmax_inputs(rng, m, n, dtype)
        sw = weights_or_none(rng, m, dtype, weighted)
        scale = grad_scale(m, 2, sw)
        for y in (labels, probs):
            got = kernels.softmax_cross_entropy(z, y, sw)
            want = reference.softmax_cross_entropy(z, y, sw)
            grad, ref_grad = check_loss(got, want, m * n, softmax_rtol(z), "softmax CE",
                                        subnormal_atol(z))
            assert grad.dtype == dtype and grad.shape == (m, n)
            assert_close(grad, ref_grad, grad_rtol(m, dtype),
                         (4 + np.log2(n)) * eps(dtype) * scale, "softmax CE grad")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("weighted", [False, True])
def test_sigmoid_binary_cross_entropy_matches_reference(rng, dtype, size, weighted):
    for shape in [(size,), (size, 3), (5, size)]:
        m = shape[0]
        z = (3 * rng.standard_normal(shape)).astype(dtype)
        soft = rng.uniform(0, 1, shape).astype(dtype)
        hard = rng.integers(0, 2, shape)
        sw = weights_or_none(rng, m, dtype, weighted)
        scale = grad_scale(m, len(shape), sw)
        for y in (soft, hard, hard.astype(bool), hard.astype(dtype)):
            got = kernels.sigmoid_binary_cross_entropy(z, y, sw)
            want = reference.sigmoid_binary_cross_entropy(z, y, sw)
            grad, ref_grad = check_loss(got, want, z.size, 4 * eps(dtype), "BCE",
                                        subnormal_atol(z))
            assert grad.dtype == dtype and grad.shape == shape
            assert_close(grad, ref_grad, grad_rtol(m, dtype), 4 * eps(dtype) * scale,
                         "BCE grad")


def regression_inputs(rng, shape, dtype, loss):
    p = rng.standard_normal(shape).astype(dtype)
    if loss == "poisson":
        y = rng.poisson(2.0, shape).astype(dtype) * rng.choice([1.0, 0.5], shape).astype(dtype)
    else:
        y = (2 * rng.standard_normal(shape)).astype(dtype)
    return p, y


def poisson_magnitude(p, y, sw):
    """Weighted mean over samples of sum_j (exp(p) + y |p| + y |log y| + y)."""
    p, y = p.astype(np.float64), y.astype(np.float64)
    with np.errstate(divide="ignore"):
        ylogy = np.where(y > 0, y * np.abs(np.log(np.where(y > 0, y, 1.0))), 0.0)
    terms = np.exp(p) + y * np.abs(p) + ylogy + y
    per_sample = terms if terms.ndim == 1 else terms.sum(axis=1)
    w = np.ones(len(per_sample)) if sw is None else sw.astype(np.float64)
    return float(np.sum(w * per_sample) / w.sum())


def check_regression(got, want, p, y, sw, loss, what):
    dtype = p.dtype
    value, grad = got
    ref_value, ref_grad = want
    assert isinstance(value, float)
    assert grad.dtype == dtype and grad.shape == p.shape
    scale = grad_scale(p.shape[0], p.ndim, sw)
    if loss == "poisson":
        assert_close(value, ref_value, 4 * np.sqrt(p.size) * EPS64,
                     8 * eps(dtype) * poisson_magnitude(p, y, sw), f"{what} loss")
        mag = np.exp(p.astype(np.float64)) + np.abs(y.astype(np.float64))
        assert_close(grad, ref_grad, grad_rtol(p.shape[0], dtype),
                     4 * eps(dtype) * mag * scale, f"{what} grad")
    else:
        assert_close(value, ref_value, 4 * np.sqrt(p.size) * EPS64, 0.0, f"{what} loss")
        assert_close(grad, ref_grad, grad_rtol(p.shape[0], dtype), 0.0, f"{what} grad")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("loss", REGRESSION)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("weighted", [False, True])
def test_regression_loss_matches_reference(rng, dtype, loss, size, weighted):
    params = {"delta": 0.7} if loss == "huber" else {}
    for shape in [(size,), (size, 3), (5, size)]:
        p, y = regression_inputs(rng, shape, dtype, loss)
        sw = weights_or_none(rng, shape[0], dtype, weighted)
        got = kernels.regression_loss(p, y, loss, sw, **params)
        want = reference.regression_loss(p, y, loss, sw, **params)
        check_regression(got, want, p, y, sw, loss, loss)


@pytest.mark.parametrize("mod", MODULES)
def test_convenience_functions_are_regression_loss(rng, mod):
    p, y = regression_inputs(rng, (20, 3), np.float64, "poisson")
    sw = rng.uniform(0.5, 1.0, 20)
    for fn, name, params in [(mod.squared_error, "squared_error", {}),
                             (mod.absolute_error, "absolute_error", {}),
                             (mod.huber, "huber", {"delta": 0.3}),
                             (mod.poisson, "poisson", {})]:
        value, grad = fn(p, y, sw, **params)
        want_value, want_grad = mod.regression_loss(p, y, name, sw, **params)
        assert value == want_value
        np.testing.assert_array_equal(grad, want_grad)
    # huber's default delta is 1.0
    assert mod.huber(p, y)[0] == mod.regression_loss(p, y, "huber", delta=1.0)[0]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_layouts_give_identical_results(rng, dtype):
    # Fortran, strided and read-only inputs are copied to C order: the kernel
    # sees the same values, so the results must be bit-identical.
    m, n = 33, 7
    z, labels, probs = softmax_inputs(rng, m, n, dtype)
    yb = rng.integers(0, 2, (m, n)).astype(dtype)
    sw = rng.uniform(0, 2, m).astype(dtype)

    def variants(a):
        yield np.asfortranarray(a)
        yield np.repeat(a, 2, axis=0)[::2]
        yield np.ascontiguousarray(a[::-1])[::-1]
        ro = a.copy()
        ro.flags.writeable = False
        yield ro

    def same(got, want):
        assert got[0] == want[0]
        np.testing.assert_array_equal(got[1], want[1])

    for zl in variants(z):
        for y in (labels, probs):
            same(kernels.softmax_cross_entropy(zl, y, sw),
                 kernels.softmax_cross_entropy(z, y, sw))
        same(kernels.sigmoid_binary_cross_entropy(zl, yb, sw),
             kernels.sigmoid_binary_cross_entropy(z, yb, sw))
        same(kernels.regression_loss(zl, probs, "huber", sw),
             kernels.regression_loss(z, probs, "huber", sw))
    for yl in variants(probs):
        same(kernels.softmax_cross_entropy(z, yl, sw), kernels.softmax_cross_entropy(z, probs, sw))
        same(kernels.regression_loss(z, yl, "squared_error", sw[::-1]),
             kernels.regression_loss(z, probs, "squared_error", sw[::-1].copy()))
    # labels of any integer dtype, any layout
    for lab in (labels.astype(np.int8), labels.astype(np.uint8), labels.astype(np.int32),
                labels.astype(np.uint64), np.repeat(labels, 2)[::2]):
        same(kernels.softmax_cross_entropy(z, lab), kernels.softmax_cross_entropy(z, labels))
    # sample_weight as a list or an integer array
    same(kernels.softmax_cross_entropy(z, labels, [1] * m),
         kernels.softmax_cross_entropy(z, labels, np.ones(m, dtype)))


# ---------------------------------------------------------------------------
# Gradients against finite differences (float64)
# ---------------------------------------------------------------------------

def finite_difference_grad(loss_fn, x, h=1e-6):
    """Central differences of the scalar loss_fn(x) (a (loss, grad) pair)."""
    fd = np.empty_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        fd[i] = (loss_fn(x + step)[0] - loss_fn(x - step)[0]) / (2 * h)
    return fd


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("targets", ["labels", "probabilities"])
def test_softmax_cross_entropy_gradient_finite_differences(rng, mod, weighted, targets):
    z, labels, probs = softmax_inputs(rng, 6, 4, np.float64)
    y = labels if targets == "labels" else probs
    sw = weights_or_none(rng, 6, np.float64, weighted)
    fd = finite_difference_grad(lambda x: mod.softmax_cross_entropy(x, y, sw), z)
    assert_close(mod.softmax_cross_entropy(z, y, sw)[1], fd, 1e-6, 1e-8)


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(7,), (6, 3)])
def test_sigmoid_binary_cross_entropy_gradient_finite_differences(rng, mod, weighted, shape):
    z = 3 * rng.standard_normal(shape)
    y = rng.uniform(0, 1, shape)
    sw = weights_or_none(rng, shape[0], np.float64, weighted)
    fd = finite_difference_grad(lambda x: mod.sigmoid_binary_cross_entropy(x, y, sw), z)
    assert_close(mod.sigmoid_binary_cross_entropy(z, y, sw)[1], fd, 1e-6, 1e-8)


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("loss", REGRESSION)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(7,), (6, 3)])
def test_regression_gradient_finite_differences(rng, mod, loss, weighted, shape):
    params = {"delta": 0.7} if loss == "huber" else {}
    p, y = regression_inputs(rng, shape, np.float64, loss)
    # Keep p - y off the kinks of |r| (0) and Huber (+-delta).
    p = y + away_from(p - y, [0.0, -0.7, 0.7], 1e-3)
    sw = weights_or_none(rng, shape[0], np.float64, weighted)
    fd = finite_difference_grad(lambda x: mod.regression_loss(x, y, loss, sw, **params), p)
    assert_close(mod.regression_loss(p, y, loss, sw, **params)[1], fd, 1e-6, 1e-8, loss)


# ---------------------------------------------------------------------------
# Agreement with scikit-learn's metrics
# ---------------------------------------------------------------------------

def test_agrees_with_scikit_learn_metrics(rng):
    m, n = 50, 4
    z, labels, _ = softmax_inputs(rng, m, n, np.float64)
    sw = rng.uniform(0.1, 2.0, m)
    # log_loss takes probabilities (and clips them at eps, which does not
    # bite at these logits).
    p = scipy.special.softmax(z, axis=1)
    assert_close(kernels.softmax_cross_entropy(z, labels, sw)[0],
                 log_loss(labels, p, sample_weight=sw, labels=range(n)), 1e-12)
    zb, yb = z[:, 0], labels % 2
    assert_close(kernels.sigmoid_binary_cross_entropy(zb, yb, sw)[0],
                 log_loss(yb, scipy.special.expit(zb), sample_weight=sw), 1e-12)
    # scikit-learn's regression metrics average over outputs too; ours sum.
    yp, yt = rng.standard_normal((m, 3)), rng.standard_normal((m, 3))
    assert_close(kernels.squared_error(yp, yt, sw)[0],
                 0.5 * 3 * mean_squared_error(yt, yp, sample_weight=sw), 1e-12)
    assert_close(kernels.absolute_error(yp, yt, sw)[0],
                 3 * mean_absolute_error(yt, yp, sample_weight=sw), 1e-12)
    counts = rng.poisson(3.0, m).astype(np.float64)
    raw = rng.standard_normal(m)
    assert_close(kernels.poisson(raw, counts, sw)[0],
                 0.5 * mean_poisson_deviance(counts, np.exp(raw), sample_weight=sw), 1e-12)


# ---------------------------------------------------------------------------
# sample_weight semantics
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["softmax", "sigmoid", "huber", "poisson"])
def test_integer_weights_equal_repeated_samples(rng, which):
    m, n = 9, 3
    z, labels, _ = softmax_inputs(rng, m, n, np.float64)
    y = {"softmax": labels, "sigmoid": rng.integers(0, 2, (m, n)),
         "huber": rng.standard_normal((m, n)), "poisson": rng.poisson(2.0, (m, n)) * 1.0}[which]
    fn = {"softmax": kernels.softmax_cross_entropy,
          "sigmoid": kernels.sigmoid_binary_cross_entropy,
          "huber": lambda a, b, w=None: kernels.huber(a, b, w, delta=0.5),
          "poisson": kernels.poisson}[which]
    counts = rng.integers(0, 4, m)
    counts[0] = 1
    loss_w, grad_w = fn(z, y, counts)
    rep = np.repeat(np.arange(m), counts)
    loss_r, grad_r = fn(z[rep], y[rep])
    assert_close(loss_w, loss_r, 1e-13)
    summed = np.zeros_like(grad_w)
    np.add.at(summed, rep, grad_r)
    assert_close(grad_w, summed, 1e-13, 1e-16)
    # Weights scaled by a constant change nothing; zero weights drop samples.
    loss_s, grad_s = fn(z, y, 2.5 * counts)
    assert_close(loss_s, loss_w, 1e-14)
    assert_close(grad_s, grad_w, 1e-14, 1e-17)
    assert np.all(grad_w[counts == 0] == 0)


# ---------------------------------------------------------------------------
# Extreme values: finite, NaN-free, no warnings, exact limits
# ---------------------------------------------------------------------------

def no_warnings(fn, *args, underflow="raise", **kwargs):
    """fn(...) with every warning and floating-point error an exception
    (underflow to 0 can be allowed: it is the right answer in NumPy code)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under=underflow):
            return fn(*args, **kwargs)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_softmax_cross_entropy_extreme_logits(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [-1e4, -1e4, -1e4]], dtype)
    labels = np.array([1, 1, 2])
    for y in (labels, np.eye(3, dtype=dtype)[labels]):
        loss, grad = no_warnings(kernels.softmax_cross_entropy, z, y)
        # per sample: 2e4, 0, log 3
        assert_close(loss, (2e4 + 0.0 + np.log(3.0)) / 3, 4 * eps(dtype))
        want = np.array([[1, -1, 0], [0, 0, 0], [1 / 3, 1 / 3, -2 / 3]]) / 3
        assert_close(grad, want, 4 * eps(dtype), 4 * eps(dtype))
        ref_loss, ref_grad = no_warnings(reference.softmax_cross_entropy, z, y,
                                         underflow="ignore")
        assert_close(ref_loss, loss, 4 * eps(dtype))
    # Probabilities exactly 0 and 1, and -inf logits where y is 0.
    z = np.array([[-np.inf, 0.0, 5.0], [3.0, -np.inf, -np.inf]], dtype)
    y = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], dtype)
    loss, grad = no_warnings(kernels.softmax_cross_entropy, z, y)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert_close(loss, np.log1p(np.exp(-5.0)) / 2, 8 * eps(dtype))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("gap", [1.0, 5.0, 30.0, 80.0])
def test_softmax_cross_entropy_confident_sample_keeps_relative_accuracy(dtype, gap):
    # A confident, correct prediction has a tiny loss, log(1 + 2 exp(-gap)).
    # Computed as log(S) with S ~ 1 it would only be accurate to eps
    # absolute (useless below ~1e-16); the kernels keep a few ulp relative.
    z = np.array([[gap, 0.0, 0.0]], dtype)
    want = np.log1p(2 * np.exp(-np.float64(dtype(gap))))
    for mod in (kernels, reference):
        assert_close(mod.softmax_cross_entropy(z, np.array([0]))[0], want, 8 * eps(dtype))
    # Ties for the max: S = 2 + ..., nothing to protect, still exact-ish.
    z = np.array([[gap, gap, 0.0]], dtype)
    want = np.log(2 + np.exp(-np.float64(dtype(gap))))
    assert_close(kernels.softmax_cross_entropy(z, np.array([1]))[0], want, 8 * eps(dtype))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_sigmoid_binary_cross_entropy_extreme_logits(dtype):
    z = np.array([1e4, 1e4, -1e4, -1e4, 1000.0, -1000.0, 0.0, 0.0], dtype)
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1], dtype)
    loss, grad = no_warnings(kernels.sigmoid_binary_cross_entropy, z, y)
    assert_close(loss, (1e4 + 1e4 + 2 * np.log(2.0)) / 8, 4 * eps(dtype))
    assert_close(grad, np.array([1, 0, -1, 0, 0, 0, 0.5, -0.5]) / 8, 4 * eps(dtype))
    ref_loss, _ = no_warnings(reference.sigmoid_binary_cross_entropy, z, y, underflow="ignore")
    assert_close(ref_loss, loss, 4 * eps(dtype))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_regression_losses_extreme_values(dtype):
    big = 1e30 if dtype == np.float32 else 1e150
    tiny = float(np.finfo(dtype).smallest_subnormal)
    p = np.array([big, -big, tiny, 0.0, 1.0], dtype)
    y = np.array([-big, big, 0.0, tiny, 1.0], dtype)
    # (2 big)^2 / 2 overflows float32 but not the double accumulator.
    loss, grad = no_warnings(kernels.squared_error, p, y)
    assert_close(loss, (2 * (2 * big) ** 2 / 2) / 5, 1e-6 if dtype == np.float32 else 1e-14)
    assert np.all(np.isfinite(grad))
    for name in ("absolute_error", "huber"):
        value, grad = no_warnings(kernels.regression_loss, p, y, name)
        assert np.isfinite(value) and np.all(np.isfinite(grad))
    # Poisson: y == 0 (0 log 0 = 0), very negative raw predictions.
    raw = np.array([-1e4, -1e4, 0.0, 30.0], dtype)
    counts = np.array([0.0, 1.0, 0.0, 0.0], dtype)
    loss, grad = no_warnings(kernels.poisson, raw, counts)
    # per element: 0, (0 - 1) - 1 * (-1e4 - 0) = 9999, 1, exp(30)
    assert_close(loss, (0 + 9999 + 1 + np.exp(30.0)) / 4, 4 * eps(dtype))
    assert_close(grad, np.array([0, -1, 1, np.exp(30.0)]) / 4, 4 * eps(dtype))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_nan_inputs_give_nan_not_crash(dtype):
    z = np.array([[np.nan, 1.0], [0.0, 1.0]], dtype)
    loss, grad = kernels.softmax_cross_entropy(z, np.array([0, 1]))
    assert np.isnan(loss) and np.all(np.isnan(grad[0])) and not np.any(np.isnan(grad[1]))
    loss, grad = kernels.sigmoid_binary_cross_entropy(z, np.ones_like(z))
    assert np.isnan(loss) and np.isnan(grad[0, 0]) and np.sum(np.isnan(grad)) == 1
    for name in REGRESSION:
        loss, grad = kernels.regression_loss(z, np.ones_like(z), name)
        assert np.isnan(loss) and np.isnan(grad[0, 0]) and np.sum(np.isnan(grad)) == 1


# ---------------------------------------------------------------------------
# Bad input: the same exception, naming the argument, from both modules
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("mod", MODULES)
def test_softmax_cross_entropy_bad_input(mod):
    z = np.zeros((4, 3))
    labels = np.array([0, 1, 2, 0])
    f = mod.softmax_cross_entropy
    with pytest.raises(TypeError, match="logits must be a numpy.ndarray"):
        f([[0.0] * 3] * 4, labels)
    with pytest.raises(TypeError, match="logits must have dtype float32 or float64"):
        f(z.astype(int), labels)
    with pytest.raises(ValueError, match="logits must be 2-dimensional"):
        f(np.zeros(4), labels)
    with pytest.raises(ValueError, match="logits must have at least one sample and one class"):
        f(np.zeros((0, 3)), labels[:0])
    with pytest.raises(ValueError, match="logits must have at least one sample and one class"):
        f(np.zeros((4, 0)), labels)
    with pytest.raises(TypeError, match="y must be a numpy.ndarray"):
        f(z, [0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"integer labels y must have shape \(4,\)"):
        f(z, labels[:3])
    with pytest.raises(ValueError, match=r"labels in y must be in \[0, 3\)"):
        f(z, np.array([0, 1, 3, 0]))
    with pytest.raises(ValueError, match=r"labels in y must be in \[0, 3\)"):
        f(z, np.array([0, -1, 2, 0]))
    with pytest.raises(TypeError, match="y must have dtype float64"):
        f(z, np.eye(3, dtype=np.float32)[labels])
    with pytest.raises(ValueError, match="probability targets y must have the shape of logits"):
        f(z, np.zeros((4, 2)))
    with pytest.raises(TypeError, match="y must hold integer class labels or float"):
        f(z, labels.astype(bool))
    with pytest.raises(TypeError, match="y must hold integer class labels or float"):
        f(z, labels.astype(str))


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("loss", ["softmax", "sigmoid", "regression"])
def test_sample_weight_bad_input(mod, loss):
    z = np.zeros((4, 3))
    y = {"softmax": np.array([0, 1, 2, 0]), "sigmoid": np.zeros((4, 3)),
         "regression": np.zeros((4, 3))}[loss]
    f = {"softmax": mod.softmax_cross_entropy, "sigmoid": mod.sigmoid_binary_cross_entropy,
         "regression": mod.regression_loss}[loss]
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(4,\)"):
        f(z, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(4,\)"):
        f(z, y, sample_weight=np.ones((4, 1)))
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        f(z, y, sample_weight=np.array([1.0, -1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="sample_weight must be finite"):
        f(z, y, sample_weight=np.array([1.0, np.nan, 1.0, 1.0]))
    with pytest.raises(ValueError, match="sample_weight must be finite"):
        f(z, y, sample_weight=np.array([1.0, np.inf, 1.0, 1.0]))
    with pytest.raises(ValueError, match="sample_weight must have a positive sum"):
        f(z, y, sample_weight=np.zeros(4))
    with pytest.raises(TypeError, match="sample_weight must contain real numbers"):
        f(z, y, sample_weight=np.array(["a", "b", "c", "d"]))
    with pytest.raises(TypeError, match="sample_weight must contain real numbers"):
        f(z, y, sample_weight=np.ones(4, complex))
    with pytest.raises(ValueError, match="sample_weight must have a finite sum"):
        f(z, y, sample_weight=np.array([1e308, 1e308, 1.0, 1.0]))
    # float64 weights that overflow float32 when converted to the logits dtype
    z32 = z.astype(np.float32)
    y32 = y if y.dtype.kind == "i" else y.astype(np.float32)
    with pytest.raises(ValueError, match="sample_weight must be finite"):
        f(z32, y32, sample_weight=np.array([1e39, 1.0, 1.0, 1.0]))


@pytest.mark.parametrize("mod", MODULES)
def test_sigmoid_binary_cross_entropy_bad_input(mod):
    f = mod.sigmoid_binary_cross_entropy
    z = np.zeros((4, 3))
    with pytest.raises(ValueError, match="logits must be 1-dimensional .* or 2-dimensional"):
        f(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="logits must have at least one sample"):
        f(np.zeros(0), np.zeros(0))
    with pytest.raises(TypeError, match="logits must have dtype"):
        f(z.astype(np.float16), z)
    with pytest.raises(ValueError, match=r"y must have the shape of the predictions \(4, 3\)"):
        f(z, np.zeros(4))
    with pytest.raises(TypeError, match="y must have dtype float64"):
        f(z, z.astype(np.float32))
    with pytest.raises(TypeError, match="y must be a numpy.ndarray"):
        f(z, 0.0)
    with pytest.raises(ValueError, match="integer y must contain only 0 and 1"):
        f(z, np.full((4, 3), 2))
    with pytest.raises(TypeError, match="y must have a float, integer or bool dtype"):
        f(z, np.zeros((4, 3), complex))


@pytest.mark.parametrize("mod", MODULES)
def test_regression_loss_bad_input(mod):
    f = mod.regression_loss
    p = np.zeros((4, 3))
    with pytest.raises(ValueError, match="loss must be one of"):
        f(p, p, "hinge")
    with pytest.raises(TypeError, match="unexpected parameter"):
        f(p, p, "squared_error", delta=1.0)
    with pytest.raises(TypeError, match="unexpected parameter"):
        f(p, p, "huber", epsilon=1.0)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="delta must be > 0"):
            f(p, p, "huber", delta=bad)
        with pytest.raises(ValueError, match="delta must be > 0"):
            mod.huber(p, p, delta=bad)
    with pytest.raises(ValueError, match="delta must be finite"):
        f(p, p, "huber", delta=np.nan)
    with pytest.raises(TypeError, match="delta must be a real number"):
        f(p, p, "huber", delta="1")
    with pytest.raises(ValueError, match="y must be non-negative for the poisson loss"):
        mod.poisson(p, -np.ones((4, 3)))
    with pytest.raises(TypeError, match="y_pred must have dtype"):
        f(p.astype(int), p)
    with pytest.raises(ValueError, match="y_pred must have at least one sample"):
        f(np.zeros((0, 3)), np.zeros((0, 3)))
    with pytest.raises(ValueError, match="y must have the shape of the predictions"):
        f(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(TypeError, match="y must have dtype float64"):
        f(p, p.astype(np.float32))
    # integer targets are converted
    assert f(p, np.ones((4, 3), int))[0] == f(p, np.ones((4, 3)))[0]


# ---------------------------------------------------------------------------
# Property-based: shapes, parameters, weights, C against the reference
# ---------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 40), n=st.integers(1, 12), dtype=st.sampled_from(FLOAT_DTYPES),
       weighted=st.booleans(), scale=st.floats(0.01, 100.0), seed=st.integers(0, 2**32 - 1))
def test_property_cross_entropies(m, n, dtype, weighted, scale, seed):
    rng = np.random.default_rng(seed)
    z = (scale * rng.standard_normal((m, n))).astype(dtype)
    labels = rng.integers(0, n, m)
    sw = weights_or_none(rng, m, dtype, weighted)
    if sw is not None:
        sw[0] += 1  # keep the sum positive
    scale_rows = grad_scale(m, 2, sw)
    got = kernels.softmax_cross_entropy(z, labels, sw)
    want = reference.softmax_cross_entropy(z, labels, sw)
    grad, ref_grad = check_loss(got, want, m * n, softmax_rtol(z), "softmax CE",
                                subnormal_atol(z))
    assert_close(grad, ref_grad, grad_rtol(m, dtype),
                 (4 + np.log2(n)) * eps(dtype) * scale_rows)
    y = rng.uniform(0, 1, (m, n)).astype(dtype)
    got = kernels.sigmoid_binary_cross_entropy(z, y, sw)
    want = reference.sigmoid_binary_cross_entropy(z, y, sw)
    grad, ref_grad = check_loss(got, want, m * n, 4 * eps(dtype), "BCE", subnormal_atol(z))
    assert_close(grad, ref_grad, grad_rtol(m, dtype), 4 * eps(dtype) * scale_rows)


@settings(max_examples=60, deadline=None)
@given(shape=st.one_of(st.tuples(st.integers(1, 40)),
                       st.tuples(st.integers(1, 40), st.integers(1, 8))),
       loss=st.sampled_from(REGRESSION), delta=st.floats(0.05, 5.0),
       dtype=st.sampled_from(FLOAT_DTYPES), weighted=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_property_regression(shape, loss, delta, dtype, weighted, seed):
    rng = np.random.default_rng(seed)
    params = {"delta": delta} if loss == "huber" else {}
    p, y = regression_inputs(rng, shape, dtype, loss)
    sw = weights_or_none(rng, shape[0], dtype, weighted)
    if sw is not None:
        sw[0] += 1
    got = kernels.regression_loss(p, y, loss, sw, **params)
    want = reference.regression_loss(p, y, loss, sw, **params)
    check_regression(got, want, p, y, sw, loss, loss)
