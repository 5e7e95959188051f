"""Penalties (l2 / l1 / elasticnet), gradient clipping, max_norm and frozen
layers: the engine against finite differences and against its NumPy twin
(loss_grad's gradient, transformed as the docstrings say, then the NumPy
step), and the estimator options around them."""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier as SkMLP

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor, optimizers, reference
from conftest import plain_engine, target_matrix



def _digits(n=400):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def _problem(dtype=np.float64, seed=0, **engine_kw):
    """A 5-3-1 regression network whose weights are all at least 0.1 away
    from 0 (where |w| is differentiable), with its engine. One output:
    scikit-learn's squared-error loss averages over the outputs too, which
    its gradient (and so the engine's) does not."""
    rng = np.random.default_rng(seed)
    sign = lambda shape: np.where(rng.random(shape) < 0.5, -1.0, 1.0)  # noqa: E731
    coefs = [(sign((5, 3)) * rng.uniform(0.1, 1.0, (5, 3))).astype(dtype),
             (sign((3, 1)) * rng.uniform(0.1, 1.0, (3, 1))).astype(dtype)]
    intercepts = [rng.normal(size=3).astype(dtype), rng.normal(size=1).astype(dtype)]
    X, Y = rng.normal(size=(7, 5)).astype(dtype), rng.normal(size=(7, 1)).astype(dtype)
    engine = plain_engine([5, 3, 1], [("tanh", {})], "regression", ("identity", {}),
                       "squared_error", 1.0, engine_kw.pop("alpha", 0.3), 7, dtype, **engine_kw)
    return engine, coefs, intercepts, X, Y


def _flat(arrays):
    return np.concatenate([a.ravel() for a in arrays])


@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet"])
def test_penalty_gradient_matches_finite_differences(penalty):
    """float64, weights away from 0: central differences with step 1e-6
    agree with loss_grad to ~1e-8 (the O(h^2) error and rounding)."""
    engine, coefs, intercepts, X, Y = _problem(penalty=penalty, l1_ratio=0.4)
    loss, grad = engine.loss_grad(coefs, intercepts, X, Y, None)
    arrays = coefs + intercepts
    numeric = []
    for a in arrays:
        for i in range(a.size):
            old = a.flat[i]
            a.flat[i] = old + 1e-6
            up = engine.loss_grad(coefs, intercepts, X, Y, None)[0]
            a.flat[i] = old - 1e-6
            down = engine.loss_grad(coefs, intercepts, X, Y, None)[0]
            a.flat[i] = old
            numeric.append((up - down) / 2e-6)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
    # The loss reports the penalty it differentiates, as validation losses do.
    assert engine.loss(coefs, intercepts, X, Y, None) == pytest.approx(loss, rel=1e-12)
    data = plain_engine([5, 3, 1], [("tanh", {})], "regression", ("identity", {}),
                     "squared_error", 1.0, 0.0, 7, np.float64).loss(coefs, intercepts, X, Y, None)
    w = _flat(coefs)
    term = {"l2": 0.5 * w @ w, "l1": np.abs(w).sum(),
            "elasticnet": 0.4 * np.abs(w).sum() + 0.3 * w @ w}[penalty]
    assert loss == pytest.approx(data + 0.3 * term / 7, rel=1e-12)


def _one_epoch(engine, coefs, intercepts, X, Y, opt):
    engine.epoch(coefs, intercepts, X, Y, None, None, X.shape[0], opt)
    return _flat(coefs + intercepts)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
@pytest.mark.parametrize("clip", [dict(), dict(clip_grad_norm=0.05), dict(clip_grad_value=0.02),
                                  dict(clip_grad_norm=0.05, clip_grad_value=0.004),
                                  dict(clip_grad_norm=1e6)])
def test_clipped_step_equals_clipping_the_gradient_then_the_numpy_step(dtype, penalty, clip):
    """One minibatch of all rows: the fused step equals loss_grad's
    gradient, scaled by min(1, max_norm / (||g|| + 1e-6)) and clamped, then
    reference.sgd_step (to float rounding: the norm is summed in another
    order)."""
    engine, coefs, intercepts, X, Y = _problem(dtype, penalty=penalty, l1_ratio=0.3, **clip)
    plain, *_ = _problem(dtype, penalty=penalty, l1_ratio=0.3)
    _, grad = plain.loss_grad(coefs, intercepts, X, Y, None)
    flat = _flat(coefs + intercepts)
    g = grad.astype(np.float64)
    if "clip_grad_norm" in clip:
        g = g * min(1.0, clip["clip_grad_norm"] / (np.sqrt(g @ g) + 1e-6))
    if "clip_grad_value" in clip:
        g = np.clip(g, -clip["clip_grad_value"], clip["clip_grad_value"])
    velocity = np.zeros_like(flat)
    reference.sgd_step(flat, g.astype(dtype), velocity, learning_rate=0.5, momentum=0.9)
    opt = optimizers.SGD(engine.n_params, dtype, learning_rate_init=0.5)
    got = _one_epoch(engine, coefs, intercepts, X, Y, opt)
    tol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got, flat, rtol=tol, atol=tol)
    if "clip_grad_value" in clip:  # the step moved no value by more than lr * (1 + mu) * clip
        assert np.max(np.abs(opt.state[0])) <= 0.5 * clip["clip_grad_value"] * (1 + 1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_norm_rescales_only_the_columns_above_it(dtype):
    engine, coefs, intercepts, X, Y = _problem(dtype, max_norm=0.9)
    before = [c.copy() for c in coefs]
    free, *_ = _problem(dtype)
    c2, i2 = [c.copy() for c in coefs], [b.copy() for b in intercepts]
    _one_epoch(free, c2, i2, X, Y, optimizers.SGD(free.n_params, dtype, learning_rate_init=0.1))
    _one_epoch(engine, coefs, intercepts, X, Y,
               optimizers.SGD(engine.n_params, dtype, learning_rate_init=0.1))
    for got, unconstrained, old in zip(coefs, c2, before):
        norms = np.linalg.norm(unconstrained.astype(np.float64), axis=0)
        want = unconstrained * np.where(norms > 0.9, 0.9 / norms, 1.0)
        np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-14)
        assert np.all(np.linalg.norm(got.astype(np.float64), axis=0) <= 0.9 * (1 + 1e-6))
        assert np.any(norms > 0.9) or np.array_equal(got, unconstrained)
    np.testing.assert_array_equal(_flat(intercepts), _flat(i2))  # only W is constrained


@pytest.mark.parametrize("frozen", [(0,), (1,)])
def test_frozen_layer_keeps_its_weights_and_passes_its_deltas(frozen):
    engine, coefs, intercepts, X, Y = _problem(frozen_layers=frozen)
    plain, *_ = _problem()
    _, grad = plain.loss_grad(coefs, intercepts, X, Y, None)
    flat = _flat(coefs + intercepts)
    sizes = [15, 3, 3, 1]
    starts = np.cumsum([0] + sizes)
    keep = np.zeros(flat.size, bool)
    for layer in frozen:
        for i in (layer, 2 + layer):
            keep[starts[i]:starts[i + 1]] = True
    want = flat.copy()
    velocity = np.zeros_like(flat)
    reference.sgd_step(want, grad, velocity, learning_rate=0.5, momentum=0.9)
    want[keep] = flat[keep]
    opt = optimizers.SGD(engine.n_params, learning_rate_init=0.5)
    got = _one_epoch(engine, coefs, intercepts, X, Y, opt)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    assert np.all(opt.state[0][keep] == 0)
    assert np.all(got[~keep] != flat[~keep])


# --- the estimator options ------------------------------------------------------

@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs", "nadam"])
def test_estimator_frozen_layers_fine_tune_the_rest(solver):
    X, y = _digits()
    est = MLPClassifier((16,), solver=solver, max_iter=5, random_state=0).fit(X, y)
    first = [c.copy() for c in est.coefs_ + est.intercepts_]
    est.set_params(warm_start=True, frozen_layers=(0,))
    est.fit(X, y)
    np.testing.assert_array_equal(est.coefs_[0], first[0])
    np.testing.assert_array_equal(est.intercepts_[0], first[2])
    assert not np.array_equal(est.coefs_[1], first[1])
    sparse = MLPClassifier((16,), solver=solver, max_iter=3, random_state=0,
                           frozen_layers=[-1]).fit(sp.csr_matrix(X), y)
    start = MLPClassifier((16,), solver=solver, max_iter=1, random_state=0,
                          frozen_layers=[-1]).fit(sp.csr_matrix(X), y)
    np.testing.assert_array_equal(sparse.coefs_[1], start.coefs_[1])  # both the initial W[1]
    assert not np.array_equal(sparse.coefs_[0], start.coefs_[0])


def test_frozen_from_sklearn_fine_tuning_keeps_the_base():
    X, y = _digits()
    theirs = SkMLP((16,), max_iter=5, random_state=0).fit(X, y)
    ours = fastmlp.from_sklearn(theirs)
    ours.set_params(frozen_layers=(0,), warm_start=True, max_iter=3)
    ours.fit(X, y)
    np.testing.assert_array_equal(ours.coefs_[0], theirs.coefs_[0])
    assert not np.array_equal(ours.coefs_[1], theirs.coefs_[1])


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_penalties_train_and_report_their_loss(penalty, solver):
    X, y = _digits()
    kw = dict(hidden_layer_sizes=(16,), solver=solver, max_iter=50, random_state=0, alpha=0.01,
              learning_rate_init=0.01)
    l2 = MLPClassifier(**kw).fit(X, y)
    other = MLPClassifier(penalty=penalty, l1_ratio=0.5, **kw).fit(X, y)
    assert other.score(X, y) > 0.8
    # l1 pulls the small weights to zero harder than l2 does.
    small = lambda e: np.mean(np.abs(e.coefs_[0]) < 1e-2)  # noqa: E731
    assert small(other) > small(l2)
    # The reported loss is the data loss plus the penalty (lbfgs: of the end point).
    if solver == "lbfgs":
        engine = other.network_.for_prediction().replace(alpha=0.0).engine(X.shape[0], X.dtype)
        data_loss = engine.loss(other.coefs_, other.intercepts_, X,
                                target_matrix(other, y, X.dtype), None)
        assert other.loss_ == pytest.approx(
            data_loss + other.network_.penalty_value(other.coefs_, weight=X.shape[0]), rel=1e-9)


def test_clip_and_max_norm_estimator_options():
    X, y = _digits()
    kw = dict(hidden_layer_sizes=(16,), max_iter=50, random_state=0, learning_rate_init=0.01)
    est = MLPClassifier(max_norm=1.0, clip_grad_norm=1.0, clip_grad_value=0.5, **kw).fit(X, y)
    assert est.score(X, y) > 0.8
    for c in est.coefs_:
        assert np.all(np.linalg.norm(c, axis=0) <= 1.0 + 1e-12)
    # Limits that never bind change nothing.
    loose = MLPClassifier(max_norm=1e9, clip_grad_norm=1e9, clip_grad_value=1e9, **kw).fit(X, y)
    plain = MLPClassifier(**kw).fit(X, y)
    for a, b in zip(loose.coefs_, plain.coefs_):
        np.testing.assert_array_equal(a, b)


def test_options_pickle_mid_training_and_partial_fit():
    X, y = _digits()
    kw = dict(hidden_layer_sizes=(16,), solver="adamw", penalty="elasticnet", max_norm=2.0,
              clip_grad_norm=5.0, frozen_layers=(1,), random_state=0)
    a = MLPClassifier(**kw)
    a.partial_fit(X, y, classes=np.arange(10))
    b = pickle.loads(pickle.dumps(a))
    for est in (a, b):
        est.partial_fit(X, y)
    for pa, pb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(pa, pb)


def test_float32_and_regressor_take_the_options():
    X, y = _digits()
    est = MLPRegressor(hidden_layer_sizes=(8,), penalty="l1", clip_grad_value=1.0, max_norm=3.0,
                       max_iter=5, random_state=0).fit(X.astype(np.float32), y.astype(float))
    assert est.coefs_[0].dtype == np.float32 and np.isfinite(est.loss_curve_).all()


@pytest.mark.parametrize("params, match", [
    (dict(penalty="l0"), "penalty"),
    (dict(l1_ratio=1.5), "l1_ratio"),
    (dict(clip_grad_norm=0.0), "clip_grad_norm"),
    (dict(clip_grad_value=-1.0), "clip_grad_value"),
    (dict(max_norm=0), "max_norm"),
    (dict(frozen_layers=(2,)), "out of range"),
    (dict(frozen_layers=(0, 1)), "every weight layer"),
    (dict(frozen_layers=(0.5,)), "indices"),
    (dict(solver="lbfgs", clip_grad_norm=1.0),
     r"stochastic solver \('sgd', 'adam', 'rmsprop', 'adagrad', 'adamw', 'nadam'\); "
     "L-BFGS takes none"),
    (dict(solver="lbfgs", max_norm=1.0), "L-BFGS takes none"),
])
def test_option_constraints(params, match):
    X, y = _digits()
    with pytest.raises(ValueError, match=match):
        MLPClassifier((4,), max_iter=1, **params).fit(X, y)


def test_to_sklearn_refuses_other_penalties():
    X, y = _digits()
    est = MLPClassifier((4,), penalty="l1", max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="only the l2 penalty"):
        est.to_sklearn()
