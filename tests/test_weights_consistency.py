"""Nothing computed from stale weights (issue 18).

The invariant: whatever wrote to the weights last (an optimizer step,
``set_weights``, an assignment or in-place edit of ``coefs_``, early
stopping's restore, warm_start, partial_fit, unpickling), the model's
``predict`` / ``predict_proba`` and the metrics it logs come from those
weights. Two checks, over every compute type (float64, float32, bfloat16 on
each bfloat16 tier this machine runs), every solver and every validation
path (early stopping's split, ``validation_data=``, ``scoring=``):

1. Inside a callback, the epoch's logged ``validation_loss`` and metrics
   equal what the model's own ``score`` / scorers / ``predict_proba`` give
   on the validation data, and ``predict_proba`` equals a plain NumPy
   forward pass (``fastmlp.reference.dense``) of the weights the callback
   reads (``get_weights``): a stale copy anywhere would make them differ.
2. After ``set_weights`` and the other writes, ``predict_proba`` equals the
   NumPy forward pass of the new weights.

Tolerances of the NumPy forward pass, per compute type (on probabilities and
regression outputs scaled to about 1):

- float64: rtol 1e-10: the same products, summed in another order.
- float32: rtol 2e-5, atol 2e-6: float32 sums of up to 64 terms in another
  order (a few ulps of 2**-24 each).
- bfloat16: atol 5e-3: the reference multiplies the same bfloat16 roundings
  (``compute_dtype="bfloat16"``, AMX's summation order, which the emulated
  tier reproduces bit for bit), but its float32 output stage and the
  AVX512_BF16 tier's own summation order differ in the last bits of a hidden
  activation, which can then round to the neighbouring bfloat16 value in
  the next product (a relative change of 2**-8 on that term). A stale copy
  of the weights is off by 0.05 to 0.9 after one epoch (issue 18).

The logged numbers and the model's own predict are the same computation, so
those agree to float rounding of the loss's summation (rtol 1e-9 on the
logged loss recomputed from ``predict_proba``; metrics exactly).
"""
import os
import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import get_scorer, log_loss

from fastmlp import MLPClassifier, MLPRegressor, _kernels, reference

SOLVERS = ["sgd", "adam", "rmsprop", "adagrad", "adamw", "nadam", "lbfgs"]
PATHS = ["early_stopping", "validation_data", "scoring"]


def _bf16_tiers():
    """The bfloat16 tiers this machine runs among avx512_bf16 and emulated."""
    default = _kernels._runtime_info()["bf16_tier"]
    found = [t for t in ("avx512_bf16", "emulated") if _kernels._bf16_init(t)[0] == t]
    _kernels._bf16_init(os.environ.get("FASTMLP_BF16") or None)
    assert _kernels._runtime_info()["bf16_tier"] == default
    return found


COMPUTES = ["float64", "float32"] + [f"bfloat16-{t}" for t in _bf16_tiers()]


@pytest.fixture
def compute(request):
    """(X's dtype, compute_dtype), with the bfloat16 tier forced for the test."""
    name = request.param
    if not name.startswith("bfloat16"):
        yield np.dtype(name), None
        return
    tier = name.split("-", 1)[1]
    assert _kernels._bf16_init(tier)[0] == tier
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the emulated tier's notice
            yield np.dtype(np.float32), "bfloat16"
    finally:
        _kernels._bf16_init(os.environ.get("FASTMLP_BF16") or None)


def _tolerance(compute_dtype, dtype):
    if compute_dtype == "bfloat16":
        return dict(rtol=0, atol=5e-3)
    if dtype == np.float32:
        return dict(rtol=2e-5, atol=2e-6)
    return dict(rtol=1e-10, atol=1e-12)


def _data(dtype, classifier=True):
    X, y = load_digits(return_X_y=True)
    X = (X[:400] / 16.0).astype(dtype)
    y = y[:400]
    if not classifier:
        y = X[:, 20:30].sum(axis=1) / 5.0 + 0.3 * X[:, 40]
    return X[:300], y[:300], X[300:], y[300:]


def _numpy_forward(est, X, weights):
    """The model's output for X from `weights` (get_weights' list) in plain
    NumPy, batch norm folded as predict folds it."""
    L = len(est.coefs_)
    coefs, intercepts, bn = weights[:L], weights[L:2 * L], weights[2 * L:]
    coefs, intercepts = list(coefs), list(intercepts)
    for i in range(len(bn) // 4):
        gamma, beta, mean, var = bn[4 * i:4 * i + 4]
        scale = gamma / np.sqrt(var + 1e-5)
        coefs[i] = coefs[i] * scale
        intercepts[i] = (intercepts[i] - mean) * scale + beta
    a = np.asarray(X, dtype=coefs[0].dtype)
    for i, (w, b) in enumerate(zip(coefs, intercepts)):
        act = est.out_activation_ if i == L - 1 else est.activation
        a = reference.dense(a, np.ascontiguousarray(w, a.dtype), b.astype(a.dtype), act,
                            compute_dtype=est.compute_dtype)
    return a


def _outputs(est, X):
    if hasattr(est, "predict_proba"):
        return est._forward_pass_fast(X)
    return est.predict(X).reshape(len(X), -1)


def _params(solver, path, compute_dtype, max_iter=3):
    params = dict(hidden_layer_sizes=(16,), solver=solver, max_iter=max_iter, random_state=0,
                  compute_dtype=compute_dtype, learning_rate_init=0.01, n_iter_no_change=50)
    if solver == "sgd":
        params["learning_rate_init"] = 0.1
    if path == "early_stopping":
        params["early_stopping"] = True
    return params


class _Recorder:
    """A callback checking, after each epoch, the logged numbers against the
    model's own predictions and a NumPy forward pass of its weights."""

    def __init__(self, X_val, y_val, scoring, tol):
        self.X_val, self.y_val, self.scoring, self.tol = X_val, y_val, scoring, tol
        self.epochs = 0

    def __call__(self, est, logs):
        self.epochs += 1
        check_logged(est, logs, self.X_val, self.y_val, self.scoring, self.tol)


def check_logged(est, logs, X_val, y_val, scoring, tol):
    weights = est.get_weights()
    out = _outputs(est, X_val)
    np.testing.assert_allclose(out, _numpy_forward(est, X_val, weights), **tol,
                               err_msg=f"epoch {logs['epoch']}: predict vs NumPy forward")
    if scoring is None:
        assert logs["validation_score"] == est.score(X_val, y_val), logs
    else:
        for name in scoring:
            assert logs[f"validation_{name}"] == get_scorer(name)(est, X_val, y_val), (name, logs)
    # The logged validation loss: the loss of predict's outputs plus the penalty.
    penalty = 0.5 * est.alpha * sum(float(np.sum(c.astype(np.float64) ** 2)) for c in est.coefs_)
    if isinstance(est, MLPClassifier):
        proba = est.predict_proba(X_val)
        data_loss = log_loss(y_val, proba, labels=est.classes_)
    else:
        data_loss = 0.5 * np.mean((est.predict(X_val) - y_val) ** 2)
    np.testing.assert_allclose(logs["validation_loss"], data_loss + penalty / len(X_val),
                               rtol=1e-4 if est.coefs_[0].dtype == np.float32 else 1e-9)


# L-BFGS has no early stopping (scikit-learn ignores it for 'lbfgs').
SOLVER_PATHS = [(s, p) for s in SOLVERS for p in PATHS
                if not (s == "lbfgs" and p == "early_stopping")]


@pytest.mark.parametrize("compute", COMPUTES, indirect=True)
@pytest.mark.parametrize("solver, path", SOLVER_PATHS)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_logged_metrics_are_the_models_own_predictions(compute, solver, path, kind):
    dtype, compute_dtype = compute
    classifier = kind == "classifier"
    X, y, X_val, y_val = _data(dtype, classifier)
    scoring = None
    if path == "scoring":
        scoring = ["accuracy", "neg_log_loss"] if classifier else ["r2",
                                                                   "neg_mean_squared_error"]
    tol = _tolerance(compute_dtype, dtype)
    cls = MLPClassifier if classifier else MLPRegressor
    est = cls(**_params(solver, path, compute_dtype), scoring=scoring)
    fit_params = {}
    if path != "early_stopping":
        fit_params["validation_data"] = (X_val, y_val)
    else:
        # Early stopping's own split: record it as the model makes it.
        split = est._split_validation

        def recording_split(*args):
            parts = split(*args)
            recorded.append(parts[3])
            return parts
        recorded = []
        est._split_validation = recording_split
    recorder = None
    if solver != "lbfgs":
        if path == "early_stopping":
            class _Late(_Recorder):
                def __call__(self, e, logs):
                    self.X_val, self.y_val = recorded[0][0], recorded[0][1]
                    super().__call__(e, logs)
            recorder = _Late(None, None, scoring, tol)
        else:
            recorder = _Recorder(X_val, y_val, scoring, tol)
        est.set_params(callbacks=[recorder])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of so few epochs
        est.fit(X, y, **fit_params)
    if recorder is not None:
        assert recorder.epochs == est.n_iter_ > 0
    else:  # L-BFGS: one row, after the fit, of the final weights
        row = {k: v[-1] for k, v in est.history_.items()}
        check_logged(est, row, X_val, y_val, scoring, tol)
    # And the final model (early stopping: the best epoch's weights, restored).
    final = est.get_weights()
    np.testing.assert_allclose(_outputs(est, X_val), _numpy_forward(est, X_val, final), **tol)


# Batch norm needs a stochastic solver.
SOLVER_BN = [(s, bn) for s in SOLVERS for bn in (False, True) if not (s == "lbfgs" and bn)]


@pytest.mark.parametrize("compute", COMPUTES, indirect=True)
@pytest.mark.parametrize("solver, batch_norm", SOLVER_BN)
def test_predict_follows_every_write_to_the_weights(compute, solver, batch_norm):
    dtype, compute_dtype = compute
    X, y, X_val, _ = _data(dtype)
    tol = _tolerance(compute_dtype, dtype)
    est = MLPClassifier(**_params(solver, None, compute_dtype, max_iter=2),
                        batch_norm=batch_norm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)

    def check(what):
        np.testing.assert_allclose(_outputs(est, X_val),
                                   _numpy_forward(est, X_val, est.get_weights()), **tol,
                                   err_msg=what)

    check("after fit")
    rng = np.random.default_rng(1)
    est.set_weights([w + rng.normal(0, 0.3, w.shape).astype(w.dtype)
                     if i < 2 * len(est.coefs_) else w
                     for i, w in enumerate(est.get_weights())])
    check("after set_weights")
    est.coefs_[0][...] = rng.normal(0, 0.3, est.coefs_[0].shape)
    check("after an in-place edit of coefs_[0]")
    est.intercepts_[-1][:] += 0.5
    check("after an in-place edit of intercepts_[-1]")
    est.coefs_ = [c * 0.5 for c in est.coefs_]
    check("after assigning coefs_")
    if batch_norm:
        est.bn_running_means_[0][...] += 0.25
        check("after an in-place edit of bn_running_means_[0]")
    est = pickle.loads(pickle.dumps(est))
    check("after unpickling")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if solver != "lbfgs":
            est.partial_fit(X, y)
            check("after partial_fit")
        est.set_params(warm_start=True, max_iter=1).fit(X, y)
    check("after a warm_start fit")
