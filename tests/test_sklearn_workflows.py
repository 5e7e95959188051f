"""Workflows that rely on scikit-learn's MLP behaving as it does, run with
both libraries side by side; and scikit-learn's own test_mlp.py run against
fastmlp.

Tolerance: the same options and random_state give scikit-learn's numbers to
rounding (tests/test_sklearn_parity.py: about 1e-15 in float64 per epoch);
over these 20-epoch fits rtol 1e-9 leaves room for the GEMM's other order of
sums. Labels are compared exactly.
"""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import sklearn
import sklearn.neural_network as sk
from sklearn.datasets import load_iris, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, cross_val_score, learning_curve
from sklearn.multioutput import ClassifierChain, MultiOutputClassifier

import fastmlp as fm
from fastmlp._mlp import _indicator

RTOL = 1e-9


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)  # KFold's "least populated class"
        yield


def _pair(**params):
    params = {"hidden_layer_sizes": (5,), "max_iter": 20, "random_state": 0, **params}
    return sk.MLPClassifier(**params), fm.MLPClassifier(**params)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_single_class_trains_scikit_learns_constant_model(solver):
    X, y = load_iris(return_X_y=True)
    for ref, est in [_pair(solver=solver)]:
        ref.fit(X[:40], y[:40])
        est.fit(X[:40], y[:40])
        np.testing.assert_array_equal(est.classes_, [0])
        np.testing.assert_array_equal(est.predict(X), ref.predict(X))
        assert (est.predict(X) == 0).all()
        # scikit-learn's predict_proba has two columns here (1 - p, p).
        np.testing.assert_allclose(est.predict_proba(X), ref.predict_proba(X), rtol=RTOL)
    # partial_fit with one class in `classes`, and early stopping's
    # stratified split of a single class.
    ref, est = _pair()
    np.testing.assert_array_equal(est.partial_fit(X[:5], y[:5], classes=[0]).predict(X[:3]),
                                  ref.partial_fit(X[:5], y[:5], classes=[0]).predict(X[:3]))
    ref, est = _pair(early_stopping=True)
    np.testing.assert_allclose(est.fit(X[:40], y[:40]).predict_proba(X),
                               ref.fit(X[:40], y[:40]).predict_proba(X), rtol=RTOL)


def test_learning_curve_on_class_sorted_data():
    # Unshuffled folds of sorted iris: the smallest training sets hold one class.
    X, y = load_iris(return_X_y=True)
    ref, est = _pair()
    expected = learning_curve(ref, X, y, cv=KFold(3), train_sizes=[0.1, 0.5],
                              error_score="raise")
    got = learning_curve(est, X, y, cv=KFold(3), train_sizes=[0.1, 0.5], error_score="raise")
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=RTOL)


def test_cross_val_score_with_a_rare_class():
    # Binary labels with one positive: the fold that tests it trains on one class.
    X, y = load_iris(return_X_y=True)
    y = (np.arange(len(y)) == 7).astype(int)
    ref, est = _pair()
    expected = cross_val_score(ref, X, y, cv=5, error_score="raise")
    np.testing.assert_allclose(cross_val_score(est, X, y, cv=5, error_score="raise"),
                               expected, rtol=RTOL)


@pytest.mark.parametrize("meta", [lambda e: ClassifierChain(e, order=[0, 1, 2]),
                                  MultiOutputClassifier], ids=["chain", "multioutput"])
def test_multilabel_meta_estimators_with_an_all_zero_column(meta):
    X, Y = make_multilabel_classification(n_samples=60, n_classes=3, random_state=0)
    Y[:, 1] = 0
    ref, est = _pair()
    ref, est = meta(ref).fit(X, Y), meta(est).fit(X, Y)
    np.testing.assert_array_equal(est.predict(X), ref.predict(X))
    expected = ref.predict_proba(X)
    got = est.predict_proba(X)
    if isinstance(expected, list):  # MultiOutputClassifier: one array per column
        for e, g in zip(expected, got):
            np.testing.assert_allclose(g, e, rtol=RTOL)
    else:
        np.testing.assert_allclose(got, expected, rtol=RTOL)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_minibatch_with_zero_weight_sum_raises_scikit_learns_error(solver):
    X, y = load_iris(return_X_y=True)
    w = np.r_[np.zeros(100), np.ones(50)]
    for est in _pair(solver=solver, shuffle=False, batch_size=50, max_iter=3):
        with pytest.raises(ZeroDivisionError, match="Weights sum to zero, can't be normalized"):
            est.fit(X, y, sample_weight=w)
    # Shuffled, the zero-weight rows are mixed with the others: it trains.
    fm.MLPClassifier(solver=solver, batch_size=50, max_iter=3, random_state=0).fit(
        X, y, sample_weight=w)


def test_scikit_learns_test_mlp_passes_against_fastmlp(tmp_path):
    """scikit-learn's sklearn/neural_network/tests/test_mlp.py, read from the
    installed scikit-learn, with only its import of the two estimators
    changed to fastmlp, run whole by pytest in a subprocess (with
    scikit-learn's conftest as a plugin for its fixtures)."""
    source_path = os.path.join(os.path.dirname(sklearn.__file__), "neural_network", "tests",
                               "test_mlp.py")
    with open(source_path, encoding="utf-8") as f:
        source = f.read()
    original = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
    assert source.count(original) == 1, "scikit-learn's test_mlp.py imports the MLPs otherwise"
    copy = tmp_path / "test_sklearn_mlp_on_fastmlp.py"
    copy.write_text(source.replace(original, "from fastmlp import MLPClassifier, MLPRegressor"),
                    encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
         "sklearn.conftest", "--rootdir", str(tmp_path), str(copy)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    tail = "\n".join(result.stdout.splitlines()[-30:])
    assert result.returncode == 0, f"scikit-learn's test_mlp.py failed on fastmlp:\n{tail}"
    assert " passed" in tail and "failed" not in tail and "error" not in tail, tail


@pytest.mark.parametrize("fit_labels", [[0, 1], [-2, 7], [3, 5, 9], list(range(10))])
def test_label_indicator_fast_path_equals_label_binarizer(fit_labels):
    """The estimator's one-hot targets for integer labels (the fast path of
    every fit and partial_fit) are LabelBinarizer's, for subsets of the
    classes, other integer widths and one repeated label; labels outside
    classes_ take LabelBinarizer's path and its error."""
    from sklearn.preprocessing import LabelBinarizer

    rng = np.random.default_rng(0)
    binarizer = LabelBinarizer().fit(np.array(fit_labels))
    for y in (rng.choice(fit_labels, 50), rng.choice(fit_labels, 50).astype(np.int32),
              np.array(fit_labels[-1:] * 5), rng.choice(fit_labels[:2], 20).astype(np.uint8)):
        if y.dtype.kind == "u" and min(fit_labels) < 0:
            continue
        got = _indicator(binarizer, y)
        assert got is not None and got.dtype == bool
        np.testing.assert_array_equal(got, binarizer.transform(y).astype(bool))
    assert _indicator(binarizer, np.array([fit_labels[0], 100])) is None
    assert _indicator(binarizer, np.array(fit_labels, dtype=float)) is None


def test_partial_fit_rejects_an_unseen_label_after_the_fast_path():
    X = np.random.default_rng(0).random((30, 4))
    est = fm.MLPClassifier(hidden_layer_sizes=(3,), random_state=0)
    est.partial_fit(X, np.arange(30) % 3, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="classes not in"):
        est.partial_fit(X, np.arange(30) % 4)
    sk_est = sk.MLPClassifier(hidden_layer_sizes=(3,), random_state=0)
    sk_est.partial_fit(X, np.arange(30) % 3, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="classes not in"):
        sk_est.partial_fit(X, np.arange(30) % 4)
