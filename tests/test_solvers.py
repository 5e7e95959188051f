"""The solvers beyond scikit-learn's ('rmsprop', 'adagrad', 'adamw', 'nadam'),
decoupled weight decay and the learning-rate schedules, at the estimator
level: parameters, training quality, partial_fit / warm_start, pickling,
cloning. The step rules themselves are held in tests/test_optimizers.py."""
import os
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from fastmlp import MLPClassifier, MLPRegressor, optimizers, schedules

NEW_SOLVERS = ["rmsprop", "adagrad", "adamw", "nadam"]
DATA = os.path.join(os.path.dirname(__file__), "data", "mnist_4class_subset.npz")



def _digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, random_state=0, stratify=y)


# Learning rates that suit each solver on these data (Adagrad's accumulated
# squares shrink its steps, so it starts higher).
LR = {"adam": 1e-3, "rmsprop": 1e-3, "adagrad": 3e-2, "adamw": 1e-3, "nadam": 1e-3}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver", NEW_SOLVERS)
def test_new_solvers_train_digits_as_well_as_adam(solver, dtype):
    Xtr, Xte, ytr, yte = _digits()
    scores = {}
    for s in ("adam", solver):
        est = MLPClassifier((64,), solver=s, learning_rate_init=LR[s], max_iter=60,
                            random_state=0).fit(Xtr.astype(dtype), ytr)
        assert est.coefs_[0].dtype == dtype and isinstance(est.optimizer_,
                                                           optimizers.BaseOptimizer)
        assert est.optimizer_.kind == s
        scores[s] = est.score(Xte.astype(dtype), yte)
    assert scores[solver] >= scores["adam"] - 0.02, scores
    assert scores[solver] > 0.95


@pytest.mark.parametrize("solver", NEW_SOLVERS)
def test_new_solvers_train_the_mnist_subset(solver):
    d = np.load(DATA)
    Xtr, ytr = d["X_train"], d["y_train"]  # already scaled to [0, 1]
    Xte, yte = d["X_test"], d["y_test"]
    scores = {}
    for s in ("adam", solver):
        est = MLPClassifier((32,), solver=s, learning_rate_init=LR[s], max_iter=15,
                            random_state=0).fit(Xtr, ytr)
        scores[s] = est.score(Xte, yte)
    assert scores[solver] >= scores["adam"] - 0.03, scores


@pytest.mark.parametrize("options", [
    dict(weight_decay=0.01),
    dict(penalty="elasticnet", clip_grad_norm=0.5, clip_grad_value=0.05, max_norm=1.0),
    dict(frozen_layers=(0,), penalty="l1"),
], ids=["decay", "elasticnet-clip-maxnorm", "frozen-first-l1"])
@pytest.mark.parametrize("solver", NEW_SOLVERS + ["sgd", "adam"])
def test_sparse_input_trains_alike(solver, options):
    """The sparse first layer (products in C, never densified) gives the
    dense numbers to rounding, with every option."""
    Xtr, _, ytr, _ = _digits()
    kw = dict(hidden_layer_sizes=(16,), solver=solver, max_iter=3, random_state=0, **options)
    dense = MLPClassifier(**kw).fit(Xtr, ytr)
    sparse = MLPClassifier(**kw).fit(sp.csr_matrix(Xtr), ytr)
    for a, b in zip(dense.coefs_, sparse.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("solver", NEW_SOLVERS)
def test_partial_fit_continues_and_pickles_mid_training(solver):
    """Two partial_fit calls equal one, a pickle, and another (the state,
    t and NAdam's mu_product travel with the estimator)."""
    Xtr, _, ytr, _ = _digits()
    a = MLPClassifier((16,), solver=solver, random_state=0)
    a.partial_fit(Xtr, ytr, classes=np.arange(10))
    b = pickle.loads(pickle.dumps(a))
    for est in (a, b):
        est.partial_fit(Xtr, ytr)
    for pa, pb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(pa, pb)
    assert a.optimizer_.t == b.optimizer_.t == 2 * int(np.ceil(len(Xtr) / 200))
    if solver == "nadam":
        assert a.optimizer_.mu_product == b.optimizer_.mu_product < 1.0


def test_warm_start_restarts_the_optimizer_but_keeps_weights():
    Xtr, _, ytr, _ = _digits()
    est = MLPClassifier((16,), solver="nadam", max_iter=2, random_state=0, warm_start=True)
    est.fit(Xtr, ytr)
    w = est.coefs_[0].copy()
    est.fit(Xtr, ytr)
    assert est.optimizer_.t == 2 * int(np.ceil(len(Xtr) / 200))  # a fresh optimizer
    assert not np.array_equal(est.coefs_[0], w)


def test_weight_decay_auto_and_explicit():
    Xtr, _, ytr, _ = _digits()
    kw = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    assert MLPClassifier(solver="adamw", **kw).fit(Xtr, ytr).optimizer_.weight_decay == 0.01
    assert MLPClassifier(solver="nadam", **kw).fit(Xtr, ytr).optimizer_.weight_decay == 0.0
    # A positive decay on another solver shrinks the weights (decoupled, as AdamW).
    # Each step multiplies by 1 - 0.1 * 1.0: 35 steps would leave 0.9^35 = 2.5% of a
    # weight the gradient does not hold up.
    plain = MLPClassifier(solver="sgd", learning_rate_init=0.1, **kw).fit(Xtr, ytr)
    decayed = MLPClassifier(solver="sgd", learning_rate_init=0.1, weight_decay=1.0,
                            **kw).fit(Xtr, ytr)
    assert np.linalg.norm(decayed.coefs_[0]) < 0.8 * np.linalg.norm(plain.coefs_[0])


def test_default_solvers_keep_scikit_learns_numbers():
    """weight_decay='auto' is 0 for 'adam' and 'sgd': the same numbers as
    scikit-learn (tests/test_sklearn_parity.py holds it in general)."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    Xtr, _, ytr, _ = _digits()
    for solver in ("adam", "sgd"):
        ours = MLPClassifier((16,), solver=solver, max_iter=3, random_state=0).fit(Xtr, ytr)
        theirs = SkMLP((16,), solver=solver, max_iter=3, random_state=0).fit(Xtr, ytr)
        np.testing.assert_allclose(ours.coefs_[0], theirs.coefs_[0], rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("param, value, match", [
    ("solver", "adamax", "solver"),
    ("rho", 1.0, "rho"),
    ("initial_accumulator_value", -1.0, "initial_accumulator_value"),
    ("momentum_decay", -0.1, "momentum_decay"),
    ("weight_decay", -0.1, "weight_decay"),
    ("weight_decay", "none", "weight_decay"),
    ("learning_rate", "cosine", "learning_rate"),
])
def test_parameter_constraints(param, value, match):
    Xtr, _, ytr, _ = _digits()
    with pytest.raises(ValueError, match=match):
        MLPClassifier(max_iter=1, **{param: value}).fit(Xtr, ytr)


def test_to_sklearn_refuses_solvers_and_schedules_it_lacks():
    Xtr, _, ytr, _ = _digits()
    est = MLPClassifier((8,), solver="rmsprop", max_iter=1).fit(Xtr, ytr)
    with pytest.raises(ValueError, match="scikit-learn has no solver 'rmsprop'"):
        est.to_sklearn()
    est = MLPClassifier((8,), learning_rate=schedules.StepDecay(), max_iter=1).fit(Xtr, ytr)
    with pytest.raises(ValueError, match="learning_rate"):
        est.to_sklearn()


# --- learning-rate schedules ----------------------------------------------------

@pytest.mark.parametrize("schedule, first", [
    (schedules.StepDecay(step_size=2, gamma=0.5), [1, 1, 0.5, 0.5, 0.25]),
    (schedules.ExponentialDecay(gamma=0.9), [1, 0.9, 0.81, 0.729, 0.6561]),
    (schedules.CosineAnnealing(T_max=4, eta_min=0.0),
     [1, (1 + np.cos(np.pi / 4)) / 2, 0.5, (1 + np.cos(3 * np.pi / 4)) / 2, 0.0]),
    (schedules.WarmupCosine(warmup_epochs=2, total_epochs=4),
     [0.5, 1.0, 1.0, 0.5, 0.0]),
])
def test_schedules_give_torchs_per_epoch_values(schedule, first):
    np.testing.assert_allclose([schedule(e, 1.0) for e in range(5)], first, atol=1e-15)


MAX_ITER = 6


def _schedule_ending_at(name, n_epochs):
    """Each schedule of fastmlp.schedules in its documented use: its
    length (T_max, total_epochs) the fit's max_iter; eta_min 0 by default."""
    cls = getattr(schedules, name)
    length = {"CosineAnnealing": "T_max", "WarmupCosine": "total_epochs",
              "OneCycle": "total_epochs"}.get(name)
    return cls(**({length: n_epochs} if length else {}))


@pytest.mark.parametrize("solver", ["sgd", "adam", "rmsprop", "adagrad", "adamw", "nadam"])
@pytest.mark.parametrize("name", schedules.__all__)
def test_every_schedule_runs_past_its_last_epoch(name, solver):
    """A schedule reaching 0 (CosineAnnealing's eta_min, by default) or
    asked for epochs beyond its length never fails: fit max_iter epochs,
    then 5 partial_fit epochs beyond it. A rate of 0 is legal (torch's
    rule) and leaves the weights as they are (no weight decay here, and no
    momentum: scikit-learn's SGD velocity would carry on moving them)."""
    Xtr, _, ytr, _ = _digits()
    schedule = _schedule_ending_at(name, MAX_ITER)
    rates = [schedule(e, 0.01) for e in range(MAX_ITER + 5)]
    assert all(np.isfinite(r) and r >= 0 for r in rates)
    est = MLPClassifier((8,), solver=solver, learning_rate=schedule, learning_rate_init=0.01,
                        max_iter=MAX_ITER, weight_decay=0.0, momentum=0.0, random_state=0,
                        n_iter_no_change=1000).fit(Xtr, ytr)
    for _ in range(5):
        before = [c.copy() for c in est.coefs_]
        rate = est.get_learning_rate()
        est.partial_fit(Xtr, ytr)
        if rate == 0.0:
            for a, b in zip(before, est.coefs_):
                np.testing.assert_array_equal(a, b)
    # Epoch 0 trains at learning_rate_init (the module's convention), the others at f(e).
    np.testing.assert_allclose(est.history_["learning_rate"], [0.01] + rates[1:], rtol=1e-12)
    if name in ("CosineAnnealing", "WarmupCosine"):
        assert est.history_["learning_rate"][MAX_ITER:] == [0.0] * 5


def test_one_cycle_rises_to_max_then_falls_below_the_start():
    s = schedules.OneCycle(max_lr=0.1, total_epochs=11, pct_start=0.3)
    rates = [s(e, 0.004) for e in range(12)]
    assert rates[0] == pytest.approx(0.004) and max(rates) == pytest.approx(0.1)
    assert rates[3] == pytest.approx(0.1) and rates[10] == pytest.approx(0.004 / 1e4)
    assert all(a <= b for a, b in zip(rates[:3], rates[1:4]))
    assert all(a >= b for a, b in zip(rates[3:10], rates[4:11])) and rates[11] == rates[10]


@pytest.mark.parametrize("solver", ["sgd", "adam", "rmsprop", "adagrad", "adamw", "nadam"])
def test_schedule_rates_reach_the_logs_and_training(solver):
    """Epoch e trains at schedule(e, learning_rate_init); the callbacks'
    logs show the rate each epoch trained at."""
    Xtr, _, ytr, _ = _digits()
    seen = []
    sched = schedules.StepDecay(step_size=2, gamma=0.5)
    est = MLPClassifier((8,), solver=solver, learning_rate=sched, learning_rate_init=0.01,
                        max_iter=5, random_state=0,
                        callbacks=[lambda est, logs: seen.append(logs["learning_rate"])])
    est.fit(Xtr, ytr)
    np.testing.assert_allclose(seen, [0.01, 0.01, 0.005, 0.005, 0.0025])
    # A schedule that returns the initial rate trains as 'constant'.
    a = MLPClassifier((8,), solver=solver, learning_rate=lambda e, lr: lr, max_iter=3,
                      random_state=0).fit(Xtr, ytr)
    b = MLPClassifier((8,), solver=solver, max_iter=3, random_state=0).fit(Xtr, ytr)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])


def test_schedule_continues_over_partial_fit_and_pickles():
    Xtr, _, ytr, _ = _digits()
    est = MLPRegressor(hidden_layer_sizes=(8,), learning_rate=schedules.ExponentialDecay(0.5),
                       learning_rate_init=0.01, random_state=0)
    y = ytr.astype(float)
    est.partial_fit(Xtr, y)
    est = pickle.loads(pickle.dumps(est))
    est.partial_fit(Xtr, y)
    assert est.optimizer_.epoch == 2 and est.optimizer_.learning_rate == pytest.approx(0.0025)


def test_schedules_follow_scikit_learns_parameter_rules():
    s = schedules.OneCycle(max_lr=0.5, total_epochs=20)
    assert s.get_params() == {"max_lr": 0.5, "total_epochs": 20, "pct_start": 0.3,
                              "final_div_factor": 1e4}
    c = clone(s)
    assert c is not s and c.get_params() == s.get_params()
    est = clone(MLPClassifier(learning_rate=s))
    assert isinstance(est.learning_rate, schedules.OneCycle) and est.learning_rate is not s
    assert pickle.loads(pickle.dumps(s)).get_params() == s.get_params()
    with pytest.raises(ValueError, match="step_size"):
        schedules.StepDecay(step_size=0)(1, 0.1)
    Xtr, _, ytr, _ = _digits()
    for bad in (-1e-3, np.nan, np.inf):
        with pytest.raises(ValueError, match="must be finite and >= 0"):
            MLPClassifier((4,), learning_rate=lambda e, lr: bad, max_iter=2).fit(Xtr, ytr)


def test_schedule_object_is_not_adaptive():
    """With a schedule, a stall stops training as with 'constant' (the rule of
    every scikit-learn schedule but 'adaptive', which lowers the rate and
    goes on)."""
    Xtr, _, ytr, _ = _digits()
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", max_iter=50, tol=1e9, n_iter_no_change=2,
              random_state=0)
    n_iter = {name: MLPClassifier(learning_rate=lr, **kw).fit(Xtr, ytr).n_iter_
              for name, lr in [("schedule", schedules.ExponentialDecay(1.0)),
                               ("constant", "constant"), ("adaptive", "adaptive")]}
    assert n_iter["schedule"] == n_iter["constant"] == 4  # epoch 1 sets best_loss_
    assert n_iter["adaptive"] > 4
