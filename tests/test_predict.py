"""Prediction: the cached C forward pass (MLPPredictor) and the label fast
path, held against a NumPy forward pass and scikit-learn's own predict.

Tolerances: the C forward pass uses the same blocked GEMM as training, whose
sums are ordered differently from NumPy's BLAS; for these shallow nets with
inputs in [0, 1] the outputs agree to a few ulps of float32 (rtol 1e-5) or
float64 (rtol 1e-12). Labels and the cached/uncached comparisons are exact.
"""
import pickle
import threading

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import LabelBinarizer

from fastmlp.network import fitted_network
from fastmlp import MLPClassifier, MLPRegressor
from fastmlp import reference

RTOL = {np.float32: 1e-5, np.float64: 1e-12}



def _data(n=300, d=12, classes=3, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d)).astype(dtype)
    y = (X[:, 0] * classes).astype(int) % classes
    return X, y


def _numpy_forward(est, X):
    """The network's output layer in plain NumPy (fastmlp.reference.dense)."""
    a = X
    for i, (w, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        last = i == len(est.coefs_) - 1
        act = est.out_activation_ if last else est.activation
        a = reference.dense(a, w, b, act)
    return a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_predict_proba_matches_numpy_forward_pass(dtype, n_classes):
    X, y = _data(classes=n_classes, dtype=dtype)
    clf = MLPClassifier((16, 8), max_iter=20, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    expected = _numpy_forward(clf, X)
    if n_classes == 2:
        expected = np.hstack([1 - expected, expected])
    np.testing.assert_allclose(proba, expected, rtol=RTOL[dtype], atol=RTOL[dtype])
    assert proba.dtype == dtype


@pytest.mark.parametrize("labels", [None, np.array(["cat", "dog", "emu"]),
                                    np.array([-3, 7, 10])])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_label_fast_path_equals_label_binarizer(labels, n_classes):
    X, y = _data(classes=n_classes)
    if labels is not None:
        y = labels[:n_classes][y]
    clf = MLPClassifier((10,), max_iter=30, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    if n_classes == 2:  # LabelBinarizer's binary form: the positive class's column
        proba = proba[:, 1]
    expected = LabelBinarizer().fit(y).inverse_transform(proba)
    got = clf.predict(X)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == expected.dtype


def test_multilabel_predict_is_an_indicator_matrix():
    X, _ = _data()
    Y = (X[:, :3] > 0.5).astype(int)
    clf = MLPClassifier((10,), max_iter=50, random_state=0).fit(X, Y)
    expected = LabelBinarizer().fit(Y).inverse_transform(clf.predict_proba(X))
    np.testing.assert_array_equal(clf.predict(X), expected)
    assert clf.predict(X).shape == Y.shape


def test_predictions_follow_in_place_training_and_new_arrays():
    """The predictor kept between calls (a cache) never serves old weights."""
    X, y = _data()
    clf = MLPClassifier((10,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    first = clf.predict_proba(X)
    clf.partial_fit(X, y)  # updates the same arrays in place
    assert not np.array_equal(clf.predict_proba(X), first)
    np.testing.assert_allclose(clf.predict_proba(X), _numpy_forward(clf, X), rtol=1e-12)
    # Replaced arrays: predictions over the new values.
    clf.coefs_ = [c * 0.5 for c in clf.coefs_]
    np.testing.assert_allclose(clf.predict_proba(X), _numpy_forward(clf, X), rtol=1e-12)
    # ... and values changed in place by a user are seen too.
    clf.intercepts_[-1][:] += 1.0
    np.testing.assert_allclose(clf.predict_proba(X), _numpy_forward(clf, X), rtol=1e-12)


def test_predict_does_not_change_the_estimator_and_pickles_without_the_cache():
    X, y = _data()
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(X, X[:, 0])
    before = dict(reg.__dict__)
    reg.predict(X)
    assert reg.__dict__.keys() == before.keys()
    state = reg.__getstate__()
    assert "_cached_predictor" not in state
    back = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(back.predict(X), reg.predict(X))


def test_batch_norm_predictions_follow_training():
    """Folded batch-norm weights are copies: never served stale."""
    X, y = _data()
    clf = MLPClassifier((10,), batch_norm=True, random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    p1 = clf.predict_proba(X)
    clf.partial_fit(X, y)
    p2 = clf.predict_proba(X)
    assert not np.array_equal(p1, p2)
    _, coefs, intercepts = fitted_network(clf, np.float64)
    a = X
    for i, (w, b) in enumerate(zip(coefs, intercepts)):
        a = reference.dense(a, w, b, "softmax" if i == len(coefs) - 1 else "relu")
    np.testing.assert_allclose(p2, a, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_many_rows_span_several_chunks(dtype):
    """More rows than one C chunk (4096): the same rows as predicted alone."""
    X, y = _data(n=300, dtype=dtype)
    reg = MLPRegressor(hidden_layer_sizes=(20, 7), max_iter=10, random_state=0).fit(X, X[:, :2])
    big = np.random.default_rng(1).random((9000, X.shape[1])).astype(dtype)
    full = reg.predict(big)
    pieces = np.vstack([reg.predict(big[i:i + 1000]) for i in range(0, 9000, 1000)])
    np.testing.assert_array_equal(full, pieces)
    np.testing.assert_allclose(full, _numpy_forward(reg, big), rtol=RTOL[dtype] * 10,
                               atol=RTOL[dtype])


def test_layouts_and_sparse_input_through_the_predictor():
    X, y = _data(dtype=np.float32)
    clf = MLPClassifier((10,), max_iter=20, random_state=0).fit(X, y)
    expected = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict_proba(np.asfortranarray(X)), expected)
    wide = np.hstack([X, X])
    np.testing.assert_array_equal(clf.predict_proba(wide[:, :X.shape[1]]), expected)
    np.testing.assert_allclose(clf.predict_proba(X.astype(np.float64)), expected)
    np.testing.assert_allclose(clf.predict_proba(sp.csr_matrix(X)), expected, rtol=1e-5)
    network, coefs, intercepts = fitted_network(clf)
    p = network.predictor(coefs, intercepts)
    with pytest.raises(TypeError, match="X must have dtype float32"):
        p.predict(X.astype(np.float64))
    with pytest.raises(ValueError, match=r"X must have shape \(n, 12\)"):
        p.predict(X[:, :5].copy())


def test_unfitted_predict_raises_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        MLPClassifier().predict(np.zeros((1, 3)))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        MLPRegressor().predict(np.zeros((1, 3)))


def test_concurrent_predictions_share_one_predictor():
    X, y = _data(n=2000, d=40, dtype=np.float32)
    clf = MLPClassifier((64, 32), max_iter=5, random_state=0).fit(X, y)
    expected = clf.predict_proba(X)
    results, errors = [None] * 8, []

    def work(i):
        try:
            for _ in range(20):
                results[i] = clf.predict_proba(X)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for r in results:
        np.testing.assert_array_equal(r, expected)
