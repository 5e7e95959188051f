"""Versioned pickles: pickle and joblib round trips of every estimator, the
fastmlp version in the state, a warning naming both versions when another
version saved the model, and training that continues after loading."""
import copy
import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits
from sklearn.preprocessing import StandardScaler

import fastmlp
from fastmlp import InconsistentVersionWarning, MLPClassifier, MLPRegressor, Perceptron
from conftest import target_matrix



def _digits(dtype=np.float64):
    X, y = load_digits(return_X_y=True)
    return (X[:400] / 16.0).astype(dtype), y[:400]


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y / 100.0


# One fitted model of each estimator (and of the options that add fitted
# state: batch norm, float32), with the method whose output must survive.
CASES = {
    "classifier": lambda: (MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
                           .fit(*_digits()), _digits()[0], "predict_proba"),
    "classifier_f32_batch_norm": lambda: (
        MLPClassifier(hidden_layer_sizes=(16, 8), activation="gelu", batch_norm=True,
                      max_iter=5, random_state=0).fit(*_digits(np.float32)),
        _digits(np.float32)[0], "predict_proba"),
    "regressor": lambda: (MLPRegressor(hidden_layer_sizes=(8,), activation="elu", max_iter=20,
                                       random_state=0).fit(*_diabetes()),
                          _diabetes()[0], "predict"),
    "perceptron": lambda: (Perceptron(max_iter=5, tol=None).fit(*_digits()), _digits()[0],
                           "decision_function"),
}


def _pickle_round_trip(est, tmp_path):
    return pickle.loads(pickle.dumps(est))


def _joblib_round_trip(est, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    return joblib.load(path)


def _joblib_mmap_round_trip(est, tmp_path):
    # Arrays come back as read-only memory maps.
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    return joblib.load(path, mmap_mode="r")


ROUND_TRIPS = {"pickle": _pickle_round_trip, "joblib": _joblib_round_trip,
               "joblib_mmap": _joblib_mmap_round_trip}


@pytest.mark.parametrize("trip", list(ROUND_TRIPS))
@pytest.mark.parametrize("case", list(CASES))
def test_round_trip_predicts_identically_and_silently(case, trip, tmp_path):
    est, X, method = CASES[case]()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a same-version load warns about nothing
        loaded = ROUND_TRIPS[trip](est, tmp_path)
    assert type(loaded) is type(est)
    assert "_fastmlp_version" not in vars(loaded)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(est, method)(X))
    assert loaded.get_params() == est.get_params()


@pytest.mark.parametrize("case", list(CASES))
def test_state_records_the_version_without_touching_the_instance(case):
    est, X, _ = CASES[case]()
    est.predict(X)
    before = dict(vars(est))
    state = est.__getstate__()
    assert state["_fastmlp_version"] == fastmlp.__version__
    assert state is not vars(est)
    pickle.dumps(est)
    # Neither the version key nor anything a subclass drops from the state
    # (such as a cache) is added to or removed from the live estimator.
    assert vars(est).keys() == before.keys()
    assert all(vars(est)[k] is v for k, v in before.items())


def _saved_by_version(est, version, monkeypatch):
    """Pickle bytes of `est` as fastmlp `version` would have written them."""
    with monkeypatch.context() as m:
        m.setattr(fastmlp._version, "__version__", version)
        return pickle.dumps(est)


@pytest.mark.parametrize("case", list(CASES))
def test_other_version_warns_naming_both_versions(case, monkeypatch):
    est, X, _ = CASES[case]()
    data = _saved_by_version(est, "0.0.1", monkeypatch)
    assert fastmlp.__version__ != "0.0.1"
    with pytest.warns(InconsistentVersionWarning) as record:
        loaded = pickle.loads(data)
    assert len(record) == 1
    warning = record[0].message
    assert isinstance(warning, UserWarning)
    assert warning.estimator_name == type(est).__name__
    assert warning.original_fastmlp_version == "0.0.1"
    assert warning.current_fastmlp_version == fastmlp.__version__
    message = str(warning)
    assert "0.0.1" in message and fastmlp.__version__ in message
    assert type(est).__name__ in message
    # The model still loads, whole.
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_other_version_warns_through_joblib(monkeypatch, tmp_path):
    est, X, _ = CASES["regressor"]()
    path = tmp_path / "old.joblib"
    with monkeypatch.context() as m:
        m.setattr(fastmlp._version, "__version__", "9.9.9")
        joblib.dump(est, path)
    with pytest.warns(InconsistentVersionWarning, match=r"version 9\.9\.9 when using version "
                      + fastmlp.__version__.replace(".", r"\.")):
        loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_tampered_state_warns():
    est = CASES["perceptron"]()[0]
    state = est.__getstate__()
    state["_fastmlp_version"] = "0.0.0.dev0"
    fresh = Perceptron.__new__(Perceptron)
    with pytest.warns(InconsistentVersionWarning, match=r"0\.0\.0\.dev0"):
        fresh.__setstate__(state)
    np.testing.assert_array_equal(fresh.coef_, est.coef_)
    assert "_fastmlp_version" not in vars(fresh)


def test_state_without_a_version_warns_as_unknown():
    """A pickle from before versions were recorded is not silently trusted."""
    est = CASES["classifier"]()[0]
    state = est.__getstate__()
    del state["_fastmlp_version"]
    fresh = MLPClassifier.__new__(MLPClassifier)
    with pytest.warns(InconsistentVersionWarning, match="unknown") as record:
        fresh.__setstate__(state)
    assert record[0].message.original_fastmlp_version.startswith("unknown")


def test_the_warning_itself_pickles():
    warning = InconsistentVersionWarning("MLPClassifier", "0.2.0", "0.1.0")
    back = pickle.loads(pickle.dumps(warning))
    assert str(back) == str(warning)
    assert (back.estimator_name, back.current_fastmlp_version,
            back.original_fastmlp_version) == ("MLPClassifier", "0.2.0", "0.1.0")


def test_copy_and_deepcopy_are_silent():
    est, X, _ = CASES["classifier"]()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for other in (copy.copy(est), copy.deepcopy(est)):
            np.testing.assert_array_equal(other.predict_proba(X), est.predict_proba(X))


# --- training goes on after loading exactly as it would have ------------------

@pytest.mark.parametrize("trip", list(ROUND_TRIPS))
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_classifier_partial_fit_after_loading_equals_uninterrupted(trip, solver, tmp_path):
    X, y = _digits()
    a = MLPClassifier(hidden_layer_sizes=(12,), solver=solver, batch_norm=True, random_state=0)
    a.partial_fit(X[:200], y[:200], classes=np.arange(10))
    b = ROUND_TRIPS[trip](a, tmp_path)
    for est in (a, b):
        est.partial_fit(X[200:], y[200:])
        est.partial_fit(X[:200], y[:200])
    for name in ("coefs_", "intercepts_", "bn_gammas_", "bn_betas_", "bn_running_means_",
                 "bn_running_vars_"):
        for pa, pb in zip(getattr(a, name), getattr(b, name)):
            np.testing.assert_array_equal(pa, pb)
    assert a.loss_curve_ == b.loss_curve_ and a.t_ == b.t_
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.parametrize("trip", list(ROUND_TRIPS))
def test_regressor_warm_start_after_loading_equals_uninterrupted(trip, tmp_path):
    X, y = _diabetes()
    a = MLPRegressor(hidden_layer_sizes=(8,), warm_start=True, max_iter=5,
                     random_state=0).fit(X, y)
    b = ROUND_TRIPS[trip](a, tmp_path)
    a.fit(X, y)
    b.fit(X, y)
    for pa, pb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(pa, pb)
    assert a.loss_curve_ == b.loss_curve_ and a.n_iter_ == b.n_iter_
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


@pytest.mark.parametrize("trip", list(ROUND_TRIPS))
def test_perceptron_continues_after_loading_equals_uninterrupted(trip, tmp_path):
    X, y = _digits(np.float32)
    a = Perceptron(max_iter=3, tol=None, warm_start=True).fit(X, y)
    b = ROUND_TRIPS[trip](a, tmp_path)
    for est in (a, b):
        est.partial_fit(X, y)
        est.fit(X, y)  # warm_start: from the current weights
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    assert (a.n_iter_, a.t_) == (b.n_iter_, b.t_)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))


def test_engine_refuses_read_only_optimizer_state():
    """The C epoch updates the optimizer state in place: a read-only array
    (as joblib's mmap_mode="r" loads it) is a ValueError, never a crash."""
    X, y = _digits()
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0).fit(X, y)
    engine = est.network_.engine(50, X.dtype)
    Y = target_matrix(est, y, X.dtype)
    opt = copy.deepcopy(est.optimizer_)
    opt.state[0].flags.writeable = False
    with pytest.raises(ValueError, match=r"state\[0\] must be a writeable"):
        engine.epoch(est.coefs_, est.intercepts_, X, Y, None, None, 50, opt)


def _legacy_pickle(est):
    """The bytes an older fastmlp wrote for `est`: its optimizer as the dict
    {"lr": _LearningRate, "t", "a", "b"} of before fastmlp.optimizers."""
    from fastmlp._mlp import _LearningRate

    opt = est.optimizer_
    lr = _LearningRate.__new__(_LearningRate)
    lr.__dict__.update(solver=est.solver, learning_rate_init=est.learning_rate_init,
                       learning_rate=opt.learning_rate, power_t=est.power_t,
                       schedule=est.learning_rate if est.solver == "sgd" else "constant")
    legacy = {"lr": lr, "t": opt.t if est.solver == "adam" else 0,
              "a": opt.state[0].copy(), "b": opt.state[1].copy() if len(opt.state) > 1 else None}
    state = {**est.__getstate__(), "_optimizer": legacy}

    class _Old:  # pickles as the estimator's class with that state
        def __reduce__(self):
            return (object.__new__, (type(est),), state)

    return pickle.dumps(_Old())


@pytest.mark.parametrize("solver, schedule", [("adam", "constant"), ("sgd", "adaptive"),
                                              ("sgd", "invscaling")])
def test_old_pickle_with_optimizer_dict_loads_and_continues(solver, schedule):
    """Pickles from before the optimizer objects hold `_optimizer` as a dict:
    loading converts it, and training goes on exactly as it would have."""
    X, y = _digits()
    a = MLPClassifier(hidden_layer_sizes=(12,), solver=solver, learning_rate=schedule,
                      random_state=0)
    a.partial_fit(X[:200], y[:200], classes=np.arange(10))
    a.optimizer_.learning_rate /= 5.0  # as 'adaptive' would have: must survive the trip
    b = pickle.loads(_legacy_pickle(a))
    assert isinstance(b.optimizer_, fastmlp.optimizers.BaseOptimizer)
    assert b.optimizer_.learning_rate == a.optimizer_.learning_rate
    for est in (a, b):
        est.partial_fit(X[200:], y[200:])
    for pa, pb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(pa, pb)
    assert a.loss_curve_ == b.loss_curve_
