"""to_sklearn() and from_sklearn(): the same weights, the same predictions."""

import numpy as np
import pytest
from sklearn import neural_network as sk
from sklearn.datasets import load_diabetes, load_digits

import fastmlp



def _digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_from_sklearn_predicts_the_same_and_keeps_training(activation):
    X, y = _digits()
    theirs = sk.MLPClassifier(hidden_layer_sizes=(30, 20), activation=activation, max_iter=10,
                              random_state=0).fit(X, y)
    ours = fastmlp.from_sklearn(theirs)
    assert isinstance(ours, fastmlp.MLPClassifier)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    # Both continue from the same state and stay together.
    ours.partial_fit(X, y)
    theirs.partial_fit(X, y)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_from_sklearn_regressor():
    X, y = load_diabetes(return_X_y=True)
    theirs = sk.MLPRegressor(hidden_layer_sizes=(10,), max_iter=20, random_state=0).fit(X, y)
    ours = fastmlp.from_sklearn(theirs)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9)
    with pytest.raises(TypeError, match="expected a scikit-learn MLPClassifier"):
        fastmlp.from_sklearn(ours)


@pytest.mark.parametrize("params", [dict(), dict(batch_norm=True), dict(dropout=0.3),
                                    dict(solver="sgd", early_stopping=True)])
def test_to_sklearn_predicts_the_same(params):
    X, y = _digits()
    ours = fastmlp.MLPClassifier(hidden_layer_sizes=(30,), max_iter=10, random_state=0,
                                 **params).fit(X, y)
    theirs = ours.to_sklearn()
    assert isinstance(theirs, sk.MLPClassifier)
    np.testing.assert_allclose(theirs.predict_proba(X), ours.predict_proba(X), rtol=1e-9,
                               atol=1e-12)
    assert theirs.score(X, y) == ours.score(X, y)
    back = fastmlp.from_sklearn(theirs)
    np.testing.assert_allclose(back.predict_proba(X), ours.predict_proba(X), rtol=1e-9,
                               atol=1e-12)
    if not (params.get("batch_norm") or params.get("dropout") or params.get("early_stopping")):
        # The optimizer state went along: training continues alike.
        ours.partial_fit(X, y)
        theirs.partial_fit(X, y)
        for a, b in zip(ours.coefs_, theirs.coefs_):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_to_sklearn_refuses_what_sklearn_lacks():
    X, y = _digits()
    for params in [dict(activation="gelu"), dict(activation=["relu"])]:
        est = fastmlp.MLPClassifier(hidden_layer_sizes=(10,), max_iter=2, **params).fit(X, y)
        with pytest.raises(ValueError, match="scikit-learn has no hidden activation"):
            est.to_sklearn()
    Xd, yd = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match="has no loss 'huber'"):
        fastmlp.MLPRegressor(loss="huber", max_iter=2).fit(Xd, yd).to_sklearn()
    with pytest.raises(ValueError, match="no output activation 'relu'"):
        fastmlp.MLPRegressor(out_activation="relu", max_iter=2).fit(Xd, yd).to_sklearn()
