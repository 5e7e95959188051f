"""MLPClassifier / MLPRegressor: quality on real data, the options scikit-learn
lacks, inputs, bad input, and the scikit-learn estimator contract."""
import os
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import neural_network as sk
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_estimator,
    check_global_output_transform_pandas,
    check_set_output_transform,
    check_set_output_transform_pandas,
)

from fastmlp import MLPClassifier, MLPRegressor, optimizers
from conftest import require_module

DATA = os.path.join(os.path.dirname(__file__), "data", "mnist_4class_subset.npz")



def _split(X, y, seed=0):
    return train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)


def _classification_sets():
    X, y = load_digits(return_X_y=True)
    yield "digits", X / 16.0, y
    X, y = load_breast_cancer(return_X_y=True)
    yield "breast_cancer", StandardScaler().fit_transform(X), y
    X, y = load_wine(return_X_y=True)
    yield "wine", StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("name,X,y", list(_classification_sets()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_accuracy_matches_scikit_learn(name, X, y):
    """Mean test accuracy over 3 seeds within 0.5 points of scikit-learn's."""
    ours, theirs = [], []
    for seed in range(3):
        X_tr, X_te, y_tr, y_te = _split(X, y, seed)
        params = dict(hidden_layer_sizes=(50,), max_iter=60, random_state=seed)
        ours.append(MLPClassifier(**params).fit(X_tr, y_tr).score(X_te, y_te))
        theirs.append(sk.MLPClassifier(**params).fit(X_tr, y_tr).score(X_te, y_te))
    assert np.mean(ours) >= np.mean(theirs) - 0.005
    assert np.mean(ours) > 0.9


def test_mnist_subset_float32():
    data = np.load(DATA)
    X_tr, y_tr, X_te, y_te = data["X_train"], data["y_train"], data["X_test"], data["y_test"]
    assert X_tr.dtype == np.float32
    ours, theirs = [], []
    for seed in range(3):
        params = dict(hidden_layer_sizes=(64,), max_iter=15, random_state=seed)
        est = MLPClassifier(**params).fit(X_tr, y_tr)
        assert est.coefs_[0].dtype == np.float32
        ours.append(est.score(X_te, y_te))
        theirs.append(sk.MLPClassifier(**params).fit(X_tr, y_tr).score(X_te, y_te))
    assert np.mean(ours) >= np.mean(theirs) - 0.005
    assert np.mean(ours) > 0.97


def test_diabetes_regression_matches_scikit_learn():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    params = dict(hidden_layer_sizes=(30,), max_iter=300, learning_rate_init=0.01, random_state=0)
    ours = MLPRegressor(**params).fit(X_tr, y_tr).score(X_te, y_te)
    theirs = sk.MLPRegressor(**params).fit(X_tr, y_tr).score(X_te, y_te)
    assert ours >= theirs - 0.01 and ours > 0.3


# --- beyond scikit-learn -----------------------------------------------------

@pytest.mark.parametrize("activation", ["leaky_relu", "elu", "selu", "gelu", "softplus",
                                        ["relu", "tanh"], ["gelu", "elu"]])
def test_extra_activations_learn_digits(activation):
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = _split(X / 16.0, y)
    est = MLPClassifier(hidden_layer_sizes=(40, 30), activation=activation, max_iter=60,
                        random_state=0).fit(X_tr, y_tr)
    assert est.score(X_te, y_te) > 0.93


def central_difference_check(engine, coefs, intercepts, X, Y, sw):
    """The engine's gradient against central differences of its loss;
    returns the gradient."""
    loss, grad = engine.loss_grad(coefs, intercepts, X, Y, sw)
    numeric = []
    h = 1e-6
    for p in coefs + intercepts:
        flat = p.ravel()
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + h
            up, _ = engine.loss_grad(coefs, intercepts, X, Y, sw)
            flat[i] = old - h
            down, _ = engine.loss_grad(coefs, intercepts, X, Y, sw)
            flat[i] = old
            numeric.append((up - down) / (2 * h))
    # Central differences in float64: truncation ~ h^2 |f'''| and rounding
    # ~ eps |f| / h, both around 1e-9 here.
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)
    return grad


def _engine_loss_grad_check(engine, units, X, Y, sw, rng):
    """The engine's gradient against central differences of its loss."""
    coefs = [rng.normal(0, 0.7, (a, b)) for a, b in zip(units[:-1], units[1:])]
    intercepts = [rng.normal(0, 0.3, b) for b in units[1:]]
    central_difference_check(engine, coefs, intercepts, X, Y, sw)


ENGINE_CASES = (
    [("softmax", (h, {}), ("identity", {}), "squared_error") for h in
     ["identity", "relu", "logistic", "tanh", "leaky_relu", "elu", "selu", "gelu", "softplus"]]
    + [("logistic", ("tanh", {}), ("identity", {}), "squared_error"),
       ("regression", ("elu", {"alpha": 0.5}), ("identity", {}), "squared_error"),
       ("regression", ("relu", {}), ("identity", {}), "absolute_error"),
       ("regression", ("gelu", {}), ("identity", {}), "huber"),
       ("regression", ("tanh", {}), ("identity", {}), "poisson")]
    + [("regression", ("tanh", {}), (o, {}), "squared_error")
       for o in ["relu", "softplus", "logistic", "tanh"]])


@pytest.mark.parametrize("output,hidden,out_act,loss", ENGINE_CASES)
def test_engine_gradient_matches_finite_differences(output, hidden, out_act, loss):
    """Every activation, output and loss: the C backward pass is the exact
    gradient of the C loss (one output for regression, where scikit-learn's
    reported loss averages over outputs but its gradient does not)."""
    from conftest import plain_engine

    rng = np.random.default_rng(0)
    n_out = 3 if output == "softmax" else (2 if output == "logistic" else 1)
    units = [4, 5, 3, n_out]
    X = rng.normal(size=(7, 4))
    if output == "softmax":
        Y = np.eye(n_out)[rng.integers(0, n_out, 7)]
    elif output == "logistic":
        Y = rng.integers(0, 2, (7, n_out)).astype(float)
    elif loss == "poisson":
        Y = rng.poisson(2.0, (7, 1)).astype(float)
    else:
        Y = rng.normal(size=(7, 1)) * (0.4 if out_act[0] in ("logistic", "tanh") else 1.0)
        if out_act[0] in ("relu", "softplus", "logistic"):
            Y = np.abs(Y)
    sw = rng.uniform(0.5, 2.0, 7)
    engine = plain_engine(units, [hidden, hidden], output, out_act, loss, 0.7, 0.01, 7, np.float64)
    _engine_loss_grad_check(engine, units, X, Y, sw, rng)


def test_activation_list_length_is_checked():
    with pytest.raises(ValueError, match="activation has 1 entries but there are 2 hidden layers"):
        MLPClassifier(hidden_layer_sizes=(5, 5), activation=["relu"]).fit([[0.0], [1.0]], [0, 1])


def test_robust_losses_resist_outliers():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (400, 1))
    y = 2.0 * X[:, 0]
    y_noisy = y.copy()
    y_noisy[::10] += 50.0  # 10% gross outliers
    errors = {}
    for loss in ["squared_error", "absolute_error", "huber"]:
        est = MLPRegressor(loss=loss, hidden_layer_sizes=(10,), max_iter=300,
                           learning_rate_init=0.01, random_state=0).fit(X, y_noisy)
        errors[loss] = np.mean(np.abs(est.predict(X) - y))
    assert errors["absolute_error"] < errors["squared_error"] / 3
    assert errors["huber"] < errors["squared_error"] / 3


@pytest.mark.parametrize("out_activation,low,high", [("relu", 0, np.inf), ("softplus", 0, np.inf),
                                                     ("logistic", 0, 1), ("tanh", -1, 1)])
def test_bounded_output_activations(out_activation, low, high):
    X, y = load_diabetes(return_X_y=True)
    y = (y - y.min()) / (y.max() - y.min()) * (0.9 if high <= 1 else 1)
    est = MLPRegressor(out_activation=out_activation, hidden_layer_sizes=(20,), max_iter=200,
                       learning_rate_init=0.01, random_state=0).fit(X * 10, y)
    pred = est.predict(X * 10)
    assert est.out_activation_ == out_activation
    assert np.all(pred >= low) and np.all(pred <= high)
    assert est.score(X * 10, y) > 0.2


@pytest.mark.parametrize("init", ["glorot_uniform", "he_uniform", "he_normal"])
def test_initialisations(init):
    X, y = load_digits(return_X_y=True)
    est = MLPClassifier(hidden_layer_sizes=(30,), init=init, max_iter=1, random_state=0)
    est.fit(X / 16.0, y)
    if init != "glorot_uniform":
        est0 = MLPClassifier(hidden_layer_sizes=(30,), init=init, max_iter=1, random_state=0,
                             learning_rate_init=1e-12).fit(X / 16.0, y)
        std = est0.coefs_[0].std()
        expected = np.sqrt(2.0 / 64)  # He: variance 2 / fan_in, uniform or normal
        assert 0.8 * expected < std < 1.2 * expected


def test_xor_needs_a_hidden_layer():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    mlp = MLPClassifier(hidden_layer_sizes=(2,), activation="tanh", solver="lbfgs",
                        random_state=1, max_iter=500).fit(X, y)
    np.testing.assert_array_equal(mlp.predict(X), y)


# --- inputs -------------------------------------------------------------------

def test_layouts_and_dtypes_give_the_same_model(tmp_path):
    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16.0
    y = y[:300]
    params = dict(hidden_layer_sizes=(10,), max_iter=5, random_state=0)
    ref = MLPClassifier(**params).fit(X, y)
    path = tmp_path / "X.npy"
    np.save(path, X)
    variants = [np.asfortranarray(X), np.load(path, mmap_mode="r"),
                np.repeat(X, 2, axis=1)[:, ::2], np.repeat(X, 2, axis=0)[::2],
                sp.csr_matrix(X), sp.csc_matrix(X)]
    for Xv in variants:
        est = MLPClassifier(**params).fit(Xv, y)
        for a, b in zip(est.coefs_, ref.coefs_):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(est.predict(Xv), ref.predict(X))
    # Integers become float64; float32 stays float32.
    assert MLPClassifier(**params).fit((X * 16).astype(int), y).coefs_[0].dtype == np.float64
    assert MLPClassifier(**params).fit(X.astype(np.float32), y).coefs_[0].dtype == np.float32


def test_dataframe_feature_names():
    pd = require_module("pandas")
    X, y = load_wine(return_X_y=True, as_frame=True)
    est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y)
    np.testing.assert_array_equal(est.feature_names_in_, X.columns)
    with pytest.warns(UserWarning, match="feature names"):
        est.predict(X.to_numpy())
    assert isinstance(X, pd.DataFrame)


# --- bad input --------------------------------------------------------------

def test_bad_input_messages():
    X, y = load_digits(return_X_y=True)
    X = X[:100] / 16.0
    y = y[:100]
    est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=2)
    with pytest.raises(NotFittedError):
        est.predict(X)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(X_nan, y)
    X_inf = X.copy()
    X_inf[1, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        est.fit(X_inf, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(X, y[:-1])
    with pytest.raises(ValueError, match="Expected 2D array"):
        est.fit(X[0], y[:1])
    with pytest.raises(ValueError, match="hidden_layer_sizes must be > 0"):
        MLPClassifier(hidden_layer_sizes=(5, 0)).fit(X, y)
    with pytest.raises(ValueError, match="'alpha' parameter .* must be a float in the range"):
        MLPClassifier(alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="'solver' parameter"):
        MLPClassifier(solver="newton").fit(X, y)
    with pytest.raises(ValueError, match="'activation' parameter|activation entries"):
        MLPClassifier(activation="swish").fit(X, y)
    est.fit(X, y)
    with pytest.raises(ValueError, match="X has 10 features, but MLPClassifier is expecting 64"):
        est.predict(X[:, :10])
    with pytest.raises(ValueError, match="classes not in"):
        MLPClassifier(max_iter=2).partial_fit(X, y, classes=np.arange(5))
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(X, y)
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'"):
        MLPClassifier(solver="lbfgs").partial_fit(X, y, classes=np.arange(10))
    with pytest.raises(ValueError, match="requires y >= 0"):
        MLPRegressor(loss="poisson").fit(X, -np.ones(100))
    with pytest.raises(ValueError, match="out_activation must be None"):
        MLPRegressor(loss="poisson", out_activation="relu").fit(X, np.ones(100))


def test_divergence_raises_scikit_learns_error():
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        MLPRegressor(solver="sgd", learning_rate_init=1e5, max_iter=5, random_state=0).fit(
            X * 1e3, y * 1e3)


# --- the scikit-learn contract ------------------------------------------------

def test_pickle_mid_training_continues_identically():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    a = MLPClassifier(hidden_layer_sizes=(10,), random_state=0)
    a.partial_fit(X[:500], y[:500], classes=np.arange(10))
    b = pickle.loads(pickle.dumps(a))
    a.partial_fit(X[500:1000], y[500:1000])
    b.partial_fit(X[500:1000], y[500:1000])
    for ca, cb in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(ca, cb)


def test_clone_pipeline_and_search():
    X, y = load_wine(return_X_y=True)
    pipe = make_pipeline(StandardScaler(),
                         MLPClassifier(max_iter=200, learning_rate_init=0.01, random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(5,), (20,)]}, cv=3,
                          n_jobs=2).fit(X, y)
    assert search.best_score_ > 0.9
    scores = cross_val_score(clone(pipe), X, y, cv=3, n_jobs=2)
    assert scores.mean() > 0.9


# Messages that send a user to another solver name every one that works.
EVERY_STOCHASTIC_SOLVER = (r"needs a stochastic solver "
                           r"\('sgd', 'adam', 'rmsprop', 'adagrad', 'adamw', 'nadam'\)")


# The checks scikit-learn skips itself, with why: array API input only under
# SCIPY_ARRAY_API=1 (and the MLPs do not claim array API support), and a
# decision_function check for classifiers that have one.
SKIPPED_BY_SKLEARN = {"check_array_api_input",
                      "check_classifiers_multilabel_output_format_decision_function"}


@pytest.mark.parametrize("estimator", [MLPClassifier(max_iter=100, random_state=0),
                                       MLPRegressor(max_iter=100, random_state=0)],
                         ids=["MLPClassifier", "MLPRegressor"])
def test_scikit_learn_estimator_checks(estimator):
    """check_estimator whole, nothing expected to fail: the MLPs are
    classifiers / regressors and transformers (their hidden activations).
    Then scikit-learn's set_output checks, which its own suite runs on its
    transformers but check_estimator does not yield (pandas is a test
    dependency)."""
    pd = require_module("pandas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = check_estimator(estimator, on_fail=None)
        name = type(estimator).__name__
        for check in (check_set_output_transform, check_set_output_transform_pandas,
                      check_global_output_transform_pandas):
            check(name, clone(estimator))
    failed = [(r["check_name"], repr(r["exception"])) for r in results
              if r["status"] not in ("passed", "skipped")]
    assert not failed, failed
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= SKIPPED_BY_SKLEARN, skipped
    assert "check_transformer_general" in {r["check_name"] for r in results}
    X, y = load_wine(return_X_y=True, as_frame=True)
    frame = clone(estimator).set_output(transform="pandas").fit_transform(X, y)
    assert isinstance(frame, pd.DataFrame) and frame.shape == (len(X), 100)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_mlp_as_an_intermediate_pipeline_step_with_pandas_output(cls):
    """A network as a feature extractor inside a Pipeline: fit_transform
    with the targets, the hidden units named as scikit-learn names a
    transformer's own features, pandas output through set_output."""
    pd = require_module("pandas")
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import Pipeline

    X, y = load_wine(return_X_y=True, as_frame=True)
    last = LogisticRegression(max_iter=1000) if cls is MLPClassifier else LinearRegression()
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", cls(hidden_layer_sizes=(12, 6), max_iter=300, random_state=0)),
                     ("last", last)]).set_output(transform="pandas")
    pipe.fit(X, y)
    prefix = cls.__name__.lower()
    names = [f"{prefix}{i}" for i in range(6)]
    assert list(pipe[:-1].get_feature_names_out()) == names
    assert list(pipe.named_steps["last"].feature_names_in_) == names
    features = pipe[:-1].transform(X)
    assert isinstance(features, pd.DataFrame) and list(features.columns) == names
    assert (features.index == X.index).all()
    assert pipe.score(X, y) > 0.8
    mlp = pipe.named_steps["mlp"]
    scaled = pipe[0].transform(X)
    np.testing.assert_array_equal(features.to_numpy(), mlp.set_output(transform="default")
                                  .transform(scaled))
    # Another hidden layer's activations come as an array only.
    np.testing.assert_array_equal(mlp.transform(scaled, layer=0).shape, (len(X), 12))
    mlp.set_output(transform="pandas")
    with pytest.raises(ValueError, match="set_output.transform='default'. for the other layers"):
        mlp.transform(scaled, layer=0)
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        mlp.get_feature_names_out(["a", "b"])  # not the names it was fitted with
    with pytest.raises(NotFittedError):
        cls().get_feature_names_out()
    # As an intermediate step too, X_val routed through transform_input
    # reaches the network scaled (fit_transform passes it to fit).
    import sklearn

    X_tr, X_val, y_tr, y_val = train_test_split(X, y, test_size=0.3, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        mlp = cls(hidden_layer_sizes=(12, 6), max_iter=5, random_state=0)
        mlp.set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp), ("last", clone(last))],
                        transform_input=["X_val"]).set_output(transform="pandas")
        pipe.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    assert mlp.history_["validation_score"][-1] == pytest.approx(
        mlp.score(pipe[0].transform(X_val), y_val), rel=1e-12)


# --- class_weight and validation_data -------------------------------------------

def test_class_weight_balanced_and_dict():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 2))
    y = (X[:, 0] + 0.3 * rng.normal(size=600) > 1.2).astype(int)  # ~12% positives
    params = dict(hidden_layer_sizes=(10,), max_iter=100, learning_rate_init=0.01, random_state=0)
    plain = MLPClassifier(**params).fit(X, y)
    balanced = MLPClassifier(class_weight="balanced", **params).fit(X, y)
    recall = lambda est: np.mean(est.predict(X[y == 1]) == 1)  # noqa: E731
    assert recall(balanced) > recall(plain)
    # A dict weight is the same as that sample_weight.
    w = np.where(y == 1, 5.0, 1.0)
    a = MLPClassifier(class_weight={0: 1.0, 1: 5.0}, **params).fit(X, y)
    b = MLPClassifier(**params).fit(X, y, sample_weight=w)
    for ca, cb in zip(a.coefs_, b.coefs_):
        np.testing.assert_allclose(ca, cb, rtol=1e-12)
    with pytest.raises(ValueError, match="not supported by partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])


def test_validation_data_curves_and_early_stopping():
    X, y = load_digits(return_X_y=True)
    X_tr, X_val, y_tr, y_val = _split(X / 16.0, y)
    params = dict(hidden_layer_sizes=(30,), random_state=0)
    est = MLPClassifier(max_iter=12, **params).fit(X_tr, y_tr, validation_data=(X_val, y_val))
    assert len(est.validation_scores_) == len(est.validation_loss_curve_) == 12
    assert est.validation_scores_[-1] == pytest.approx(est.score(X_val, y_val))
    assert est.validation_loss_curve_[-1] < est.validation_loss_curve_[0]
    # With early stopping, the given data replaces the split: the model trains
    # on all of X_tr and keeps the best epoch's weights.
    es = MLPClassifier(max_iter=300, early_stopping=True, n_iter_no_change=3, **params)
    es.fit(X_tr, y_tr, validation_data=(X_val, y_val))
    assert es.n_iter_ < 300
    assert es.best_validation_score_ == max(es.validation_scores_)
    assert es.score(X_val, y_val) == pytest.approx(es.best_validation_score_)
    reg = MLPRegressor(hidden_layer_sizes=(10,), max_iter=5, random_state=0)
    Xd, yd = load_diabetes(return_X_y=True)
    reg.fit(Xd[:300], yd[:300] / 100, validation_data=(Xd[300:], yd[300:] / 100))
    assert len(reg.validation_loss_curve_) == 5
    with pytest.raises(ValueError, match="classes not seen in training"):
        MLPClassifier(max_iter=2).fit(X_tr[y_tr < 5], y_tr[y_tr < 5],
                                      validation_data=(X_val, y_val))
    with pytest.raises(ValueError, match="validation_data must be a pair"):
        MLPClassifier(max_iter=2).fit(X_tr, y_tr, validation_data=X_val)
    with pytest.raises(ValueError, match="X has 10 features"):
        MLPClassifier(max_iter=2).fit(X_tr, y_tr, validation_data=(X_val[:, :10], y_val))



def test_x_val_y_val_and_validation_data_are_one_thing():
    """scikit-learn's X_val / y_val (HistGradientBoosting's convention) and
    the validation_data alias log the same numbers; sample_weight_val
    weights the validation loss and metrics; wrong combinations refused."""
    X, y = load_digits(return_X_y=True)
    X_tr, X_val, y_tr, y_val = train_test_split(X / 16.0, y, test_size=0.3, random_state=0)
    params = dict(hidden_layer_sizes=(20,), max_iter=4, random_state=0, alpha=0.0,
                  scoring=["accuracy", "neg_log_loss"])
    a = MLPClassifier(**params).fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    b = MLPClassifier(**params).fit(X_tr, y_tr, validation_data=(X_val, y_val))
    assert a.history_["validation_loss"] == b.history_["validation_loss"]
    assert a.history_["validation_accuracy"] == b.history_["validation_accuracy"]
    w = np.random.default_rng(0).uniform(0, 3, len(y_val))
    c = MLPClassifier(**params).fit(X_tr, y_tr, X_val=X_val, y_val=y_val, sample_weight_val=w)
    from sklearn.metrics import accuracy_score, log_loss
    proba = c.predict_proba(X_val)
    assert c.history_["validation_loss"][-1] == pytest.approx(
        log_loss(y_val, proba, sample_weight=w), rel=1e-12)
    assert c.history_["validation_accuracy"][-1] == pytest.approx(
        accuracy_score(y_val, c.predict(X_val), sample_weight=w), rel=1e-12)
    assert c.history_["validation_neg_log_loss"][-1] == pytest.approx(
        -log_loss(y_val, proba, sample_weight=w), rel=1e-12)
    assert c.history_["validation_loss"] != a.history_["validation_loss"]
    lb = MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=5, random_state=0,
                       alpha=0.0).fit(X_tr, y_tr, X_val=X_val, y_val=y_val, sample_weight_val=w)
    assert lb.validation_loss_curve_[-1] == pytest.approx(
        log_loss(y_val, lb.predict_proba(X_val), sample_weight=w), rel=1e-12)
    est = MLPClassifier(max_iter=2)
    with pytest.raises(ValueError, match="not both"):
        est.fit(X_tr, y_tr, X_val=X_val, y_val=y_val, validation_data=(X_val, y_val))
    with pytest.raises(ValueError, match="X_val is provided, but y_val was not provided"):
        est.fit(X_tr, y_tr, X_val=X_val)
    with pytest.raises(ValueError, match="y_val is provided, but X_val was not provided"):
        est.fit(X_tr, y_tr, y_val=y_val)
    with pytest.raises(ValueError, match="sample_weight_val is provided, but X_val and y_val"):
        est.fit(X_tr, y_tr, sample_weight_val=w)
    with pytest.raises(ValueError, match="sample_weight.shape"):
        est.fit(X_tr, y_tr, X_val=X_val, y_val=y_val, sample_weight_val=w[:-1])


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_pipeline_transforms_x_val_before_the_mlp_logs_it(cls, solver):
    """X_val routed as metadata through Pipeline(transform_input=["X_val"]):
    what the network logs for an epoch (validation loss and score, what
    callbacks act on) is what the whole pipeline gives on (X_val, y_val)
    with that epoch's weights (read inside a callback)."""
    import sklearn
    from sklearn.metrics import log_loss, mean_squared_error
    from sklearn.pipeline import Pipeline

    X, y = (load_digits if cls is MLPClassifier else load_diabetes)(return_X_y=True)
    if cls is MLPRegressor:
        y = (y - y.mean()) / y.std()
    X_tr, X_val, y_tr, y_val = train_test_split(X, y, test_size=0.3, random_state=0)
    w_val = np.random.default_rng(1).uniform(0.5, 2.0, len(y_val))
    seen = []

    def record(est, logs):
        proba_or_pred = (pipe.predict_proba(X_val) if cls is MLPClassifier
                         else pipe.predict(X_val))
        seen.append((logs["validation_loss"], logs["validation_score"], proba_or_pred,
                     pipe.score(X_val, y_val, sample_weight=w_val)))

    mlp = cls(hidden_layer_sizes=(16,), max_iter=3, random_state=0, alpha=0.0, solver=solver,
              callbacks=[record] if solver != "lbfgs" else None)
    with sklearn.config_context(enable_metadata_routing=True):
        mlp.set_fit_request(X_val=True, y_val=True, sample_weight_val=True)
        mlp.set_score_request(sample_weight=True)
        pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)], transform_input=["X_val"])
        pipe.fit(X_tr, y_tr, X_val=X_val, y_val=y_val, sample_weight_val=w_val)
        if solver == "lbfgs":  # one row, after the fit
            record(mlp, {k: v[-1] for k, v in mlp.history_.items()})
    assert len(seen) == (3 if solver != "lbfgs" else 1)
    for loss, score, out, pipe_score in seen:
        assert score == pytest.approx(pipe_score, rel=1e-12)
        want = (log_loss(y_val, out, sample_weight=w_val) if cls is MLPClassifier
                else 0.5 * mean_squared_error(y_val, out, sample_weight=w_val))
        assert loss == pytest.approx(want, rel=1e-12)
    # Without routing, validation_data reaches the step untransformed (its
    # documented limit): the numbers are not the pipeline's.
    plain = Pipeline([("scale", StandardScaler()), ("mlp", clone(mlp).set_params(
        callbacks=None))]).fit(X_tr, y_tr, mlp__validation_data=(X_val, y_val))
    assert plain[-1].history_["validation_score"][-1] != pytest.approx(
        plain.score(X_val, y_val), rel=1e-6)


# --- dropout ----------------------------------------------------------------------

def _splitmix64_uniforms(seed, count):
    """The C engine's mask generator (csrc/engine/train.c), in Python."""
    mask64 = (1 << 64) - 1
    state = seed
    out = []
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & mask64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask64
        z ^= z >> 31
        out.append((z >> 11) * 2.0 ** -53)
    return np.array(out)


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
def test_dropout_step_matches_numpy(activation):
    """One SGD step with dropout equals the same step written in NumPy with
    the same masks: the forward pass, the scaling and the backward pass."""
    from fastmlp import reference
    from conftest import plain_engine

    rng = np.random.default_rng(0)
    n, rate, lr, seed = 6, 0.4, 0.1, 12345
    X, Y = rng.normal(size=(n, 3)), rng.normal(size=(n, 2))
    W0, b0 = rng.normal(size=(3, 5)), rng.normal(size=5)
    W1, b1 = rng.normal(size=(5, 2)), rng.normal(size=2)
    engine = plain_engine([3, 5, 2], [(activation, {})], "regression", ("identity", {}),
                       "squared_error", 1.0, 0.0, n, np.float64, [rate])
    coefs, intercepts = [W0.copy(), W1.copy()], [b0.copy(), b1.copy()]
    opt = optimizers.SGD(3 * 5 + 5 * 2 + 5 + 2, learning_rate_init=lr, momentum=0.0,
                         nesterov=False)
    engine.epoch(coefs, intercepts, X, Y, None, None, n, opt, seed)

    z1 = X @ W0 + b0
    a1 = reference.activation(z1, activation)
    keep = _splitmix64_uniforms(seed, n * 5).reshape(n, 5) >= rate
    mask = keep / (1 - rate)
    d1 = a1 * mask
    delta2 = d1 @ W1 + b1 - Y
    delta1 = reference.activation_grad(z1, activation, (delta2 @ W1.T) * mask)
    expected = [W0 - lr * X.T @ delta1 / n, W1 - lr * d1.T @ delta2 / n]
    expected_b = [b0 - lr * delta1.sum(0) / n, b1 - lr * delta2.sum(0) / n]
    for got, want in zip(coefs + intercepts, expected + expected_b):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert 0 < keep.mean() < 1


def test_dropout_is_reproducible_and_off_at_predict():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    params = dict(hidden_layer_sizes=(40,), dropout=0.3, max_iter=5, random_state=0)
    a = MLPClassifier(**params).fit(X, y)
    b = MLPClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    np.testing.assert_array_equal(a.predict_proba(X), a.predict_proba(X))  # no masks at predict
    c = MLPClassifier(**{**params, "random_state": 1}).fit(X, y)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])
    with pytest.raises(ValueError, match="dropout " + EVERY_STOCHASTIC_SOLVER):
        MLPClassifier(dropout=0.2, solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="dropout has 1 entries but there are 2 hidden layers"):
        MLPClassifier(hidden_layer_sizes=(5, 5), dropout=[0.1]).fit(X, y)
    with pytest.raises(ValueError, match="'dropout' parameter"):
        MLPClassifier(dropout=1.0).fit(X, y)


def test_sparse_input_is_never_densified():
    """2000 x 500000 CSR (a dense copy would take 8 GB): fits and predicts."""
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, 2000, 100_000), rng.integers(0, 500_000, 100_000)
    # (not sp.random: it draws positions without replacement from all 1e9 cells)
    X = sp.csr_matrix((rng.uniform(size=100_000), (rows, cols)), shape=(2000, 500_000))
    y = np.asarray(X[:, :50_000].sum(axis=1)).ravel() > 0.05
    est = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, y)
    assert est.coefs_[0].shape == (500_000, 3)
    assert est.predict(X).shape == (2000,)
    reg = MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=3).fit(X, y * 1.0)
    assert np.isfinite(reg.predict(X[:5])).all()


# --- batch normalisation ------------------------------------------------------------

@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
def test_batch_norm_gradient_matches_finite_differences(activation):
    """One SGD step (lr 1, no momentum) of the C engine moves every parameter
    by minus its gradient; that gradient must match central differences of a
    plain NumPy batch-norm network's loss. The running statistics must move
    by momentum 0.1 towards the batch's (unbiased) statistics."""
    from fastmlp import reference
    from conftest import plain_engine

    rng = np.random.default_rng(0)
    n, eps = 8, 1e-5
    X, Y = rng.normal(size=(n, 3)), rng.normal(size=(n, 1))
    W0, b0 = rng.normal(size=(3, 4)), np.zeros(4)
    W1, b1 = rng.normal(size=(4, 1)), rng.normal(size=1)
    gamma, beta = rng.uniform(0.5, 1.5, 4), rng.normal(size=4)
    mean0, var0 = rng.normal(size=4), rng.uniform(0.5, 2, 4)

    def loss(W0, W1, b1, gamma, beta):
        z = X @ W0
        zhat = (z - z.mean(0)) / np.sqrt(z.var(0) + eps)
        a = reference.activation(gamma * zhat + beta, activation)
        return 0.5 * np.mean((a @ W1 + b1 - Y) ** 2)

    params = [W0, W1, b1, gamma, beta]
    numeric = []
    for k, p in enumerate(params):
        g = np.zeros_like(p)
        for i in range(p.size):
            up = [q.copy() for q in params]
            down = [q.copy() for q in params]
            up[k].flat[i] += 1e-6
            down[k].flat[i] -= 1e-6
            g.flat[i] = (loss(*up) - loss(*down)) / 2e-6
        numeric.append(g)

    engine = plain_engine([3, 4, 1], [(activation, {})], "regression", ("identity", {}),
                       "squared_error", 1.0, 0.0, n, np.float64, None, False, True, 0.1, eps)
    coefs, intercepts = [W0.copy(), W1.copy()], [b0.copy(), b1.copy()]
    bn = [gamma.copy(), beta.copy(), mean0.copy(), var0.copy()]
    opt = optimizers.SGD(3 * 4 + 4 + 4 + 1 + 2 * 4, learning_rate_init=1.0, momentum=0.0,
                         nesterov=False)
    engine.epoch(coefs, intercepts, X, Y, None, None, n, opt, 0, bn)
    got = [W0 - coefs[0], W1 - coefs[1], b1 - intercepts[1], gamma - bn[0], beta - bn[1]]
    for g, want in zip(got, numeric):
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(intercepts[0], b0)  # unused under batch norm
    z = X @ W0
    np.testing.assert_allclose(bn[2], 0.9 * mean0 + 0.1 * z.mean(0), rtol=1e-12)
    np.testing.assert_allclose(bn[3], 0.9 * var0 + 0.1 * z.var(0, ddof=1), rtol=1e-12)


def test_batch_norm_estimator():
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = _split(X * 3.0, y)  # badly scaled on purpose
    params = dict(hidden_layer_sizes=(60, 30), max_iter=30, learning_rate_init=0.01,
                  random_state=0)
    plain = MLPClassifier(**params).fit(X_tr, y_tr)
    bn = MLPClassifier(batch_norm=True, **params).fit(X_tr, y_tr)
    assert bn.score(X_te, y_te) >= plain.score(X_te, y_te) - 0.01
    assert bn.score(X_te, y_te) > 0.95
    assert len(bn.bn_gammas_) == 2 and bn.bn_running_vars_[0].shape == (60,)
    assert plain.bn_gammas_ is None
    # Prediction folds the running statistics into the weights; check by hand.
    from fastmlp import reference
    z = X_te @ bn.coefs_[0]
    a = reference.activation(
        bn.bn_gammas_[0] * (z - bn.bn_running_means_[0]) / np.sqrt(bn.bn_running_vars_[0] + 1e-5)
        + bn.bn_betas_[0], "relu")
    z = a @ bn.coefs_[1]
    a = reference.activation(
        bn.bn_gammas_[1] * (z - bn.bn_running_means_[1]) / np.sqrt(bn.bn_running_vars_[1] + 1e-5)
        + bn.bn_betas_[1], "relu")
    proba = reference.activation(a @ bn.coefs_[2] + bn.intercepts_[2], "softmax")
    np.testing.assert_allclose(bn.predict_proba(X_te), proba, rtol=1e-9, atol=1e-12)
    # Early stopping keeps the best epoch's statistics with its weights;
    # partial_fit and pickling carry them along.
    es = MLPClassifier(batch_norm=True, early_stopping=True, **params).fit(X_tr, y_tr)
    assert es.score(X_te, y_te) > 0.9
    pf = MLPClassifier(batch_norm=True, hidden_layer_sizes=(20,), random_state=0)
    pf.partial_fit(X_tr, y_tr, classes=np.arange(10))
    pf2 = pickle.loads(pickle.dumps(pf))
    pf.partial_fit(X_tr, y_tr)
    pf2.partial_fit(X_tr, y_tr)
    np.testing.assert_array_equal(pf.bn_running_means_[0], pf2.bn_running_means_[0])
    with pytest.raises(ValueError, match="batch_norm " + EVERY_STOCHASTIC_SOLVER):
        MLPClassifier(batch_norm=True, solver="lbfgs").fit(X_tr, y_tr)
    reg = MLPRegressor(batch_norm=True, hidden_layer_sizes=(20,), max_iter=50,
                       random_state=0).fit(X_tr, y_tr.astype(float))
    assert reg.score(X_te, y_te) > 0.5


# --- interruption ---------------------------------------------------------------------

INTERRUPT_SCRIPT = r"""
import os, signal, threading, time, warnings
import numpy as np
from fastmlp import MLPClassifier
rng = np.random.default_rng(0)
X = rng.random((60000, 300), dtype=np.float32)
y = rng.integers(0, 10, 60000)
est = MLPClassifier(hidden_layer_sizes=(1024, 1024), max_iter=5, random_state=0)
sent = []
def interrupt():
    time.sleep(1.0)
    sent.append(time.perf_counter())
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=interrupt, daemon=True).start()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    est.fit(X, y)
returned = time.perf_counter()
bound = np.sqrt(6.0 / (300 + 1024))
initial = np.random.RandomState(0).uniform(-bound, bound, (300, 1024)).astype(np.float32)
print(returned - sent[0], est.n_iter_, np.array_equal(est.coefs_[0], initial),
      any("interrupted" in str(w.message) for w in caught), est.predict(X[:3]).shape)
"""


def test_ctrl_c_during_a_long_epoch_returns_promptly_with_whole_epochs():
    """SIGINT one second into a multi-second first epoch: fit returns within
    about a second, warns, and keeps the weights of the last completed epoch
    (here the initial ones), never a half-updated mix."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", INTERRUPT_SCRIPT], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    delay, n_iter, initial_weights, warned, shape = proc.stdout.split(maxsplit=4)
    assert float(delay) < 1.5
    assert n_iter == "0" and initial_weights == "True" and warned == "True"
    assert shape.strip() == "(3,)"


def test_predict_fast_path_still_rejects_bad_input():
    """The fast validation path for plain float arrays rejects what
    validate_data rejects, with its messages, and predicts the same."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    est = MLPClassifier(hidden_layer_sizes=(10,), max_iter=3, random_state=0).fit(X, y)
    bad = X[:3].copy()
    bad[1, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.predict(bad)
    bad[1, 5] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        est.predict_proba(bad)
    with pytest.raises(ValueError, match="X has 63 features"):
        est.predict(X[:3, 1:])
    with pytest.raises(ValueError, match="Expected 2D array"):
        est.predict(X[0])
    with pytest.raises(ValueError, match="minimum of 1 is required"):
        est.predict(X[:0])
    # Other layouts and dtypes take scikit-learn's path: same answers.
    expected = est.predict_proba(X[:20])
    for variant in [np.asfortranarray(X[:20]), X[:20].tolist(), X[:20].astype(np.float32),
                    (X[:20] * 16).astype(int) / 16.0]:
        np.testing.assert_allclose(est.predict_proba(variant), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("first, then", [(np.float64, np.float32), (np.float32, np.float64)],
                         ids=["float64-then-float32", "float32-then-float64"])
@pytest.mark.parametrize("compute_dtype", [None, "bfloat16"])
@pytest.mark.parametrize("kind, solver", [("classifier", "adam"), ("classifier", "sgd"),
                                          ("regressor", "nadam")])
def test_partial_fit_in_another_dtype_continues_in_the_models(first, then, compute_dtype, kind,
                                                              solver):
    """partial_fit on float32 data after a fit on float64 (or the reverse)
    raised in the binding ("optimizer state[0] must be a writeable
    C-contiguous float64 array", issue 18). Like scikit-learn's, the model
    keeps its weights' dtype (float32 with bfloat16 products): the batch is
    converted, and the step is the one the model's own dtype would take."""
    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16.0, y[:400]  # multiples of 1/16: the same values in both dtypes
    cls = MLPClassifier if kind == "classifier" else MLPRegressor
    est = cls(hidden_layer_sizes=(16,), solver=solver, max_iter=2, random_state=0,
              compute_dtype=compute_dtype)
    if kind == "regressor":
        y = X[:, 20:30].sum(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X.astype(first), y)
    dtype = est.coefs_[0].dtype
    assert dtype == (np.float32 if compute_dtype else first)
    twin = pickle.loads(pickle.dumps(est))
    est.partial_fit(X.astype(then), y)
    twin.partial_fit(X.astype(dtype), y)
    for a, b in zip(est.get_weights() + est.optimizer_.state,
                    twin.get_weights() + twin.optimizer_.state):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(est.predict(X.astype(then)), twin.predict(X.astype(dtype)))
    # And back: the model still trains in its dtype.
    est.partial_fit(X.astype(first), y)
    assert all(a.dtype == dtype for a in est.get_weights() + est.optimizer_.state)


def test_partial_fit_after_setting_bfloat16_converts_the_weights_and_state():
    """A float64 model given compute_dtype='bfloat16' afterwards continues
    in float32 (bfloat16's master weights), weights and optimizer state
    converted, instead of failing in the binding."""
    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16.0, y[:400]
    est = MLPClassifier((16,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    est.set_params(compute_dtype="bfloat16")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the emulated tier's notice
        est.partial_fit(X, y)
    assert all(a.dtype == np.float32 for a in est.get_weights() + est.optimizer_.state)
    assert est.loss_curve_[-1] < est.loss_curve_[0]  # it trained on
