"""Property tests (hypothesis) across the public surface.

Kernels: over shapes (empty included), dtypes, memory layouts and strides
of every input (C and Fortran order, row- and column-strided views, reversed
rows, zero-stride broadcasts, read-only arrays), activations, losses and
optimizer settings, each kernel gives exactly what it gives for a
C-contiguous copy of its inputs, and agrees with fastmlp.reference within
the error bounds of the per-kernel tests.

Estimators: over small random problems (shapes, dtypes, layouts, sparse
input, activations, losses, solvers and their options, batch sizes larger
than the data, dropout, batch normalisation, early stopping), fit and
predict never crash; predictions have the right shapes, are finite,
predict_proba rows are distributions, and labels are among classes_.

Bounded for time: few examples per property, tiny max_iter, no deadline;
the whole file runs in well under 20 s.
"""
import warnings

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from fastmlp import MLPClassifier, MLPRegressor, Perceptron, kernels, reference

from elementwise_helpers import assert_close, eps, layouts
from test_activations import ACTIVATIONS, forward_tolerance, grad_tolerance
from test_gemm import assert_gemm_close
from test_losses import (
    check_loss,
    check_regression,
    grad_rtol,
    grad_scale,
    regression_inputs,
    softmax_rtol,
    subnormal_atol,
)

LAYOUTS = ["C", "readonly", "F", "every_other_row", "column_slice", "column_stride",
           "reversed_rows", "broadcast_rows"]
FLOATS = st.sampled_from([np.float32, np.float64])
SEEDS = st.integers(0, 2**32 - 1)
KERNEL_SETTINGS = settings(max_examples=50, deadline=None,
                           suppress_health_check=[HealthCheck.too_slow])


def in_layout(a, name):
    """The values of 2-D `a` in layout `name` (for "broadcast_rows", a
    zero-stride view repeating a's first row, whose values differ from a's:
    callers compare against a contiguous copy of what they pass)."""
    if name == "broadcast_rows":
        if a.shape[0] == 0:
            return a
        return np.broadcast_to(a[:1], a.shape)
    return dict(layouts(a))[name]


def same(got, want):
    """Bit-for-bit equal results (arrays, or tuples of loss and array)."""
    if isinstance(got, tuple):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            same(g, w)
        return
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def contiguous(*arrays):
    return [None if a is None else np.ascontiguousarray(a) for a in arrays]


@KERNEL_SETTINGS
@given(m=st.integers(0, 24), k=st.integers(0, 24), n=st.integers(0, 40),
       trans_a=st.booleans(), trans_b=st.booleans(), dtype=FLOATS,
       layout_a=st.sampled_from(LAYOUTS), layout_b=st.sampled_from(LAYOUTS),
       alpha=st.floats(-2, 2), beta=st.sampled_from([0.0, 1.0, -0.5]), seed=SEEDS)
def test_gemm_over_layouts(m, k, n, trans_a, trans_b, dtype, layout_a, layout_b, alpha, beta,
                           seed):
    rng = np.random.default_rng(seed)
    a = in_layout(rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype), layout_a)
    b = in_layout(rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype), layout_b)
    out0 = rng.standard_normal((m, n)).astype(dtype)
    kw = dict(trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta)
    got = kernels.gemm(a, b, out=out0.copy(), **kw)
    same(got, kernels.gemm(*contiguous(a, b), out=out0.copy(), **kw))
    a_op, b_op = (a.T if trans_a else a), (b.T if trans_b else b)
    assert_gemm_close(got, reference.gemm(a, b, out=out0.copy(), **kw),
                      np.hstack([abs(alpha) * a_op, np.ones((m, 1), dtype)]),
                      np.vstack([b_op, abs(beta) * np.abs(out0).max(initial=0) * np.ones((1, n))]))


DENSE_ACTIVATIONS = [(name, params) for name, params in ACTIVATIONS if name != "heaviside"]


@KERNEL_SETTINGS
@given(m=st.integers(0, 24), k=st.integers(0, 24), n=st.integers(1, 40), dtype=FLOATS,
       layout_x=st.sampled_from(LAYOUTS), layout_w=st.sampled_from(LAYOUTS),
       act=st.sampled_from(DENSE_ACTIVATIONS), bias=st.booleans(), seed=SEEDS)
def test_dense_over_layouts(m, k, n, dtype, layout_x, layout_w, act, bias, seed):
    rng = np.random.default_rng(seed)
    name, params = act
    x = in_layout(rng.standard_normal((m, k)).astype(dtype), layout_x)
    w = in_layout((rng.standard_normal((k, n)) / np.sqrt(max(k, 1))).astype(dtype), layout_w)
    b = rng.standard_normal(n).astype(dtype) if bias else None
    got = kernels.dense(x, w, b, name, **params)
    same(got, kernels.dense(*contiguous(x, w), b, name, **params))
    z = np.ascontiguousarray(x).astype(np.float64) @ np.ascontiguousarray(w).astype(np.float64)
    z = z + (b if b is not None else 0)
    want = reference.activation(z.astype(dtype), name, **params)
    # The GEMM's error in the pre-activation (test_gemm's bound), carried
    # through an activation at most 1.76-Lipschitz (selu), plus the
    # activation's own error (test_activations' bound).
    scale = (np.abs(np.ascontiguousarray(x)).astype(np.float64)
             @ np.abs(np.ascontiguousarray(w)).astype(np.float64))
    gemm_error = 8 * eps(dtype) * np.sqrt(max(k, 1)) * (scale + (np.abs(b) if bias else 0))
    rtol, atol = forward_tolerance(name, z.astype(dtype))
    assert_close(got, want, rtol, 2 * gemm_error + atol + np.finfo(dtype).tiny, name)


@KERNEL_SETTINGS
@given(shape=st.one_of(st.tuples(st.integers(0, 30), st.integers(0, 30)),
                       st.tuples(st.integers(1, 30)),
                       st.tuples(st.integers(0, 4), st.integers(0, 5), st.integers(1, 7))),
       layout=st.sampled_from(LAYOUTS), layout_g=st.sampled_from(LAYOUTS), dtype=FLOATS,
       act=st.sampled_from(ACTIVATIONS), scale=st.floats(1e-3, 30), seed=SEEDS)
def test_activations_over_layouts(shape, layout, layout_g, dtype, act, scale, seed):
    rng = np.random.default_rng(seed)
    name, params = act
    z = (scale * rng.standard_normal(shape)).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    if len(shape) == 2:
        z, g = in_layout(z, layout), in_layout(g, layout_g)
    elif layout == "readonly":
        z.flags.writeable = False
    zc, gc = contiguous(z, g)
    got = kernels.activation(z, name, **params)
    same(got, kernels.activation(zc, name, **params))
    if z.size:
        rtol, atol = forward_tolerance(name, zc)
        assert_close(got, reference.activation(zc, name, **params), rtol, atol, name)
    if name == "heaviside":
        return
    got = kernels.activation_grad(z, name, g, **params)
    same(got, kernels.activation_grad(zc, name, gc, **params))
    if z.size:
        rtol, atol = grad_tolerance(name, zc, gc)
        assert_close(got, reference.activation_grad(zc, name, gc, **params), rtol, atol, name)


@KERNEL_SETTINGS
@given(m=st.integers(1, 30), n=st.integers(1, 10), dtype=FLOATS,
       layout=st.sampled_from(LAYOUTS), layout_y=st.sampled_from(LAYOUTS),
       weighted=st.booleans(), label_dtype=st.sampled_from([np.int64, np.int32, np.uint8]),
       scale=st.floats(0.01, 30), seed=SEEDS)
def test_cross_entropies_over_layouts(m, n, dtype, layout, layout_y, weighted, label_dtype,
                                      scale, seed):
    rng = np.random.default_rng(seed)
    z = in_layout((scale * rng.standard_normal((m, n))).astype(dtype), layout)
    zc = np.ascontiguousarray(z)
    labels = np.repeat(rng.integers(0, n, m).astype(label_dtype), 2)[::2]  # strided labels
    sw = (rng.random(2 * m) + 0.1).astype(dtype)[::2] if weighted else None  # strided weights
    rows = grad_scale(m, 2, sw)
    got = kernels.softmax_cross_entropy(z, labels, sw)
    same(got, kernels.softmax_cross_entropy(*contiguous(z, labels, sw)))
    grad, ref_grad = check_loss(got, reference.softmax_cross_entropy(z, labels, sw), m * n,
                                softmax_rtol(zc), "softmax CE", subnormal_atol(zc))
    assert_close(grad, ref_grad, grad_rtol(m, dtype), (4 + np.log2(n)) * eps(dtype) * rows)
    y = in_layout(rng.random((m, n)).astype(dtype), layout_y)
    got = kernels.sigmoid_binary_cross_entropy(z, y, sw)
    same(got, kernels.sigmoid_binary_cross_entropy(*contiguous(z, y, sw)))
    grad, ref_grad = check_loss(got, reference.sigmoid_binary_cross_entropy(z, y, sw), m * n,
                                4 * eps(dtype), "BCE", subnormal_atol(zc))
    assert_close(grad, ref_grad, grad_rtol(m, dtype), 4 * eps(dtype) * rows)


@KERNEL_SETTINGS
@given(m=st.integers(1, 30), n=st.integers(1, 6), one_d=st.booleans(), dtype=FLOATS,
       layout=st.sampled_from(LAYOUTS), layout_y=st.sampled_from(LAYOUTS),
       loss=st.sampled_from(["squared_error", "absolute_error", "huber", "poisson"]),
       delta=st.floats(0.1, 3), weighted=st.booleans(), int_targets=st.booleans(), seed=SEEDS)
def test_regression_losses_over_layouts(m, n, one_d, dtype, layout, layout_y, loss, delta,
                                        weighted, int_targets, seed):
    rng = np.random.default_rng(seed)
    p, y = regression_inputs(rng, (m, n), dtype, loss)
    if int_targets:
        y = np.round(y).astype(np.int64)  # converted to p's dtype by the kernel
    if one_d:
        p, y = np.repeat(p[:, 0], 2)[::2], np.repeat(y[:, 0], 2)[::2]
    else:
        p, y = in_layout(p, layout), in_layout(y, layout_y)
    sw = (rng.random(m) + 0.1).astype(dtype) if weighted else None
    params = {"delta": delta} if loss == "huber" else {}
    got = kernels.regression_loss(p, y, loss, sw, **params)
    same(got, kernels.regression_loss(*contiguous(p, y), loss,
                                      None if sw is None else sw.tolist(), **params))
    pc, yc = contiguous(p, y)
    check_regression(got, reference.regression_loss(p, y, loss, sw, **params), pc,
                     yc.astype(dtype), sw, loss, loss)


@KERNEL_SETTINGS
@given(n=st.integers(0, 50), dtype=FLOATS, grad_layout=st.sampled_from(["C", "strided",
                                                                        "readonly", "2-d F"]),
       learning_rate=st.floats(1e-5, 1.0), momentum=st.floats(0.0, 1.0), nesterov=st.booleans(),
       beta_1=st.floats(0.0, 0.999), beta_2=st.floats(0.0, 0.9999), t=st.integers(1, 10**6),
       seed=SEEDS)
def test_optimizer_steps_over_gradient_layouts(n, dtype, grad_layout, learning_rate, momentum,
                                               nesterov, beta_1, beta_2, t, seed):
    rng = np.random.default_rng(seed)
    shape = (n,) if grad_layout != "2-d F" else (n, 3)
    p0 = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    if grad_layout == "strided":
        g = np.repeat(g, 2)[::2]
    elif grad_layout == "readonly":
        g.flags.writeable = False
    elif grad_layout == "2-d F":
        g = np.asfortranarray(g)
    results = []
    for mod, grad in ((kernels, g), (kernels, np.ascontiguousarray(g)), (reference, g)):
        p, vel = p0.copy(), np.zeros(shape, dtype)
        mod.sgd_step(p, grad, vel, learning_rate=learning_rate, momentum=momentum,
                     nesterov=nesterov)
        q, m1, m2 = p0.copy(), np.abs(p0), np.abs(p0) + 1  # arbitrary moment state
        mod.adam_step(q, grad, m1, m2, t=t, learning_rate=learning_rate, beta_1=beta_1,
                      beta_2=beta_2)
        results.append((p, vel, q, m1, m2))
    # The steps are bit for bit scikit-learn's formulas: C and twin agree exactly.
    for r in results[1:]:
        for a, b in zip(results[0], r):
            same(a, b)


# --- estimators ---------------------------------------------------------------------

ESTIMATOR_SETTINGS = settings(max_examples=60, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow,
                                                     HealthCheck.data_too_large])
HIDDEN = ["identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu",
          "softplus"]
DIVERGED = "Solver produced non-finite parameter weights"


@st.composite
def problems(draw, min_samples=2):
    """(X as given, X as float64 C array, n_samples) of a small random problem."""
    n = draw(st.integers(min_samples, 40))
    d = draw(st.integers(1, 6))
    seed = draw(SEEDS)
    scale = draw(st.sampled_from([1e-3, 1.0, 30.0]))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["float64", "float32", "int", "bool", "fortran", "strided",
                                 "csr", "csc", "list"]))
    X = scale * rng.standard_normal((n, d))
    if kind == "float32":
        X = X.astype(np.float32)
    elif kind == "int":
        X = np.round(X).astype(np.int64)
    elif kind == "bool":
        X = X > 0
    elif kind == "fortran":
        X = np.asfortranarray(X)
    elif kind == "strided":
        X = np.repeat(X, 2, axis=1)[:, ::2]
    elif kind in ("csr", "csc"):
        X = np.where(rng.random((n, d)) < 0.5, X, 0.0)
        X = sp.csr_matrix(X) if kind == "csr" else sp.csc_matrix(X)
    elif kind == "list":
        X = X.tolist()
    return X, n, seed


def mlp_options(draw, n):
    solver = draw(st.sampled_from(["sgd", "adam", "lbfgs"]))
    depth = draw(st.integers(0, 3))
    opts = dict(hidden_layer_sizes=tuple(draw(st.integers(1, 8)) for _ in range(depth)),
                solver=solver, max_iter=draw(st.integers(1, 3)),
                alpha=draw(st.sampled_from([0.0, 1e-4, 1.0])),
                init=draw(st.sampled_from(["glorot_uniform", "he_uniform", "he_normal"])),
                random_state=draw(st.integers(0, 1000)))
    acts = draw(st.lists(st.sampled_from(HIDDEN), min_size=depth, max_size=depth))
    opts["activation"] = acts if depth and draw(st.booleans()) else (acts[0] if acts else "relu")
    if solver != "lbfgs":
        opts.update(batch_size=draw(st.sampled_from(["auto", 1, 3, n, n + 7])),
                    learning_rate_init=draw(st.sampled_from([1e-4, 1e-3, 0.05])),
                    shuffle=draw(st.booleans()))
        if solver == "sgd":
            opts.update(learning_rate=draw(st.sampled_from(["constant", "invscaling",
                                                            "adaptive"])),
                        momentum=draw(st.sampled_from([0.0, 0.5, 0.9])),
                        nesterovs_momentum=draw(st.booleans()))
        if depth:
            opts.update(dropout=draw(st.sampled_from([0.0, 0.3])),
                        batch_norm=draw(st.booleans()))
        if n >= 20 and draw(st.booleans()):
            opts.update(early_stopping=True, validation_fraction=0.25)
    return opts


def _fit_or_diverge(est, X, y):
    """fit, where the only failure allowed is scikit-learn's divergence error
    (sgd with a large learning rate on large inputs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", "Got `batch_size` less than 1 or larger than sample",
                                UserWarning)
        try:
            return est.fit(X, y)
        except ValueError as exc:
            assert DIVERGED in str(exc) and est.solver == "sgd", exc
            event("diverged (scikit-learn's error)")
            return None


@ESTIMATOR_SETTINGS
@given(data=st.data())
def test_classifier_fit_predict_never_crash(data):
    X, n, seed = data.draw(problems(min_samples=4))
    n_classes = data.draw(st.integers(2, 4))
    y = np.arange(n) % n_classes  # every class at least once (twice with early stopping)
    y = np.random.default_rng(seed).permutation(y)
    if data.draw(st.booleans()):
        y = np.array(["a", "b", "c", "d"])[y]
    opts = mlp_options(data.draw, n)
    est = _fit_or_diverge(MLPClassifier(**opts), X, y)
    if est is None:
        return
    proba = est.predict_proba(X)
    assert proba.shape == (n, n_classes) and np.isfinite(proba).all()
    assert (proba >= 0).all() and (proba <= 1).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=0, atol=1e-5)
    pred = est.predict(X)
    assert pred.shape == (n,) and set(pred) <= set(est.classes_)
    with np.errstate(divide="ignore"):  # log(0) = -inf, as in scikit-learn
        assert np.isfinite(est.predict_log_proba(X)[proba > 0]).all()
    assert 0 <= est.score(X, y) <= 1
    if est.solver != "lbfgs":
        partial = MLPClassifier(**{**opts, "early_stopping": False})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                partial.partial_fit(X, y, classes=np.unique(y))
            except ValueError as exc:
                assert DIVERGED in str(exc), exc
                return
        assert partial.predict_proba(X).shape == (n, n_classes)


@ESTIMATOR_SETTINGS
@given(data=st.data())
def test_regressor_fit_predict_never_crash(data):
    X, n, seed = data.draw(problems())
    rng = np.random.default_rng(seed)
    outputs = data.draw(st.integers(1, 3))
    loss = data.draw(st.sampled_from(["squared_error", "absolute_error", "huber", "poisson"]))
    y = rng.standard_normal((n, outputs))
    if loss == "poisson":
        y = np.abs(y)
    y = y[:, 0] if outputs == 1 else y
    opts = mlp_options(data.draw, n)
    opts["loss"] = loss
    if loss != "poisson":
        opts["out_activation"] = data.draw(st.sampled_from([None, "identity", "relu", "softplus",
                                                            "logistic", "tanh"]))
    est = _fit_or_diverge(MLPRegressor(**opts), X, y)
    if est is None:
        return
    pred = est.predict(X)
    assert pred.shape == y.shape
    if loss == "poisson":
        # The log link's mean exp(z) >= 0. One sgd step of lr 1e-4 on inputs
        # of 25 can already push z past exp's range (to 0 or inf), exactly
        # as scikit-learn does (same weights, same predictions).
        assert (pred >= 0).all() and not np.isnan(pred).any()
    else:
        assert np.isfinite(pred).all()
    score = est.score(X, y)
    # NaN: R^2 of a constant y. -inf: Poisson means as large as float64 holds
    # (finite, see above) whose squared errors overflow in R^2's sums.
    assert np.isfinite(score) or np.isnan(score) or (loss == "poisson" and score == -np.inf)


@ESTIMATOR_SETTINGS
@given(data=st.data())
def test_perceptron_fit_predict_never_crash(data):
    X, n, seed = data.draw(problems(min_samples=4))
    n_classes = data.draw(st.integers(2, 4))
    y = np.random.default_rng(seed).permutation(np.arange(n) % n_classes)
    opts = dict(penalty=data.draw(st.sampled_from([None, "l2", "l1", "elasticnet"])),
                alpha=data.draw(st.sampled_from([1e-4, 0.1])),
                max_iter=data.draw(st.integers(1, 5)), shuffle=data.draw(st.booleans()),
                fit_intercept=data.draw(st.booleans()),
                class_weight=data.draw(st.sampled_from([None, "balanced"])),
                random_state=0)
    if n >= 20 and data.draw(st.booleans()):
        opts.update(early_stopping=True, validation_fraction=0.25, n_iter_no_change=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = Perceptron(**opts).fit(X, y)
    scores = est.decision_function(X)
    assert scores.shape == ((n,) if n_classes == 2 else (n, n_classes))
    assert np.isfinite(scores).all()
    pred = est.predict(X)
    assert pred.shape == (n,) and set(pred) <= set(est.classes_)
    est.partial_fit(X, y)
    assert np.isfinite(est.coef_).all()

