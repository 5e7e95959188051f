"""Inspection: transform (hidden activations, the C forward pass stopped
early) and summary() (the table of layers).

Tolerances: transform runs the same C forward pass as predict, held against
a NumPy forward pass through fastmlp.reference.dense with the folded weights
(fastmlp.network.fitted_network): a few ulps for these shallow nets with inputs in
[0, 1], rtol 1e-5 in float32 and 1e-12 in float64, as in test_predict.py.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from fastmlp import MLPClassifier, MLPRegressor
from fastmlp import reference
from fastmlp.network import fitted_network

RTOL = {np.float32: 1e-5, np.float64: 1e-12}



def _data(n=300, d=12, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d)).astype(dtype)
    return X, (X[:, 0] * 3).astype(int) % 3


def _numpy_hidden(est, X, layer):
    """Hidden layer `layer`'s activations in NumPy, from the weights predict uses."""
    network, coefs, intercepts = fitted_network(est)
    acts = [layer.activation for layer in network.layers]
    a = X
    for i in range(layer + 1):
        a = reference.dense(a, coefs[i], intercepts[i], acts[i])
    return a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_transform_is_the_hidden_forward_pass(dtype, batch_norm):
    X, y = _data(dtype=dtype)
    clf = MLPClassifier((16, 8, 5), activation=["tanh", "gelu", "relu"], dropout=0.3,
                        batch_norm=batch_norm, max_iter=5, random_state=0).fit(X, y)
    for layer, width in [(0, 16), (1, 8), (2, 5), (-1, 5), (-3, 16)]:
        h = clf.transform(X, layer=layer)
        assert h.shape == (len(X), width) and h.dtype == dtype
        np.testing.assert_allclose(h, _numpy_hidden(clf, X, layer % 3), rtol=RTOL[dtype],
                                   atol=RTOL[dtype])
    # Default: the last hidden layer; the same through CSR input (sparse first layer).
    np.testing.assert_array_equal(clf.transform(X), clf.transform(X, layer=2))
    np.testing.assert_allclose(clf.transform(sp.csr_matrix(X)), clf.transform(X),
                               rtol=RTOL[dtype], atol=RTOL[dtype])
    # transform leaves predict's cached path as it was.
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))


def test_transform_spans_prediction_chunks_and_feeds_another_model():
    X, y = _data(n=9000)  # over two of the C pass's 4096-row chunks
    reg = MLPRegressor(hidden_layer_sizes=(7,), max_iter=3, random_state=0).fit(X, X[:, 1])
    np.testing.assert_allclose(reg.transform(X), _numpy_hidden(reg, X, 0), rtol=1e-12,
                               atol=1e-12)
    # As a Pipeline step: fit() then transform() feed the next estimator.
    pipe = make_pipeline(MLPClassifier((10,), max_iter=5, random_state=0),
                         LogisticRegression(max_iter=200))
    pipe.fit(X[:500], y[:500])
    assert pipe.predict(X[:5]).shape == (5,)
    # A transformer too: fit_transform is fit(X, y).transform(X).
    a = MLPClassifier((10,), max_iter=5, random_state=0)
    np.testing.assert_array_equal(a.fit_transform(X[:500], y[:500]),
                                  clone(a).fit(X[:500], y[:500]).transform(X[:500]))


def test_transform_errors():
    X, y = _data()
    with pytest.raises(NotFittedError):
        MLPClassifier().transform(X)
    clf = MLPClassifier((4, 3), max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"layer must be in \[-2, 1\] \(the model has 2 hidden"):
        clf.transform(X, layer=2)
    with pytest.raises(ValueError, match=r"layer must be in \[-2, 1\]"):
        clf.transform(X, layer=-3)
    with pytest.raises(TypeError, match="layer must be an int"):
        clf.transform(X, layer=1.0)
    with pytest.raises(ValueError, match="features"):
        clf.transform(X[:, :5])
    # The binding refuses a layer count outside the network.
    with pytest.raises(ValueError, match=r"n_layers must be in \[1, 3\]"):
        network, coefs, intercepts = fitted_network(clf)
        network.predictor(coefs, intercepts).predict(X, n_layers=0)


def test_summary_prints_and_returns_the_table(capsys):
    X, y = _data()
    clf = MLPClassifier((16, 8), activation=["relu", "gelu"], dropout=[0.25, 0.0],
                        batch_norm=True, max_iter=2, random_state=0).fit(X, y)
    table = clf.summary()
    assert capsys.readouterr().out == table + "\n"
    lines = table.splitlines()
    assert lines[0] == "MLPClassifier: 12 inputs -> 3 outputs, float64, solver='adam'"
    assert lines[2].split() == ["Layer", "Units", "Activation", "Dropout", "Batch", "norm",
                                "Params"]
    rows = {line.split()[0] + (line.split()[1] if line.startswith("hidden") else ""): line
            for line in lines[4:8]}
    # 12*16 + 16 weights and biases + 16 gammas + 16 betas = 240.
    assert rows["hidden1"].split() == ["hidden", "1", "16", "relu", "0.25", "before", "240"]
    assert rows["hidden2"].split() == ["hidden", "2", "8", "gelu", "before", "152"]
    assert rows["output"].split() == ["output", "3", "softmax", "27"]
    assert rows["input"].split() == ["input", "12", "0"]
    n_trained = sum(a.size for a in clf.coefs_ + clf.intercepts_ + clf.bn_gammas_
                    + clf.bn_betas_)
    assert f"Trainable params: {n_trained:,}" in lines
    assert f"Batch-norm statistics (not trained): {2 * (16 + 8)}" in lines
    assert f"Total params: {n_trained + 48:,}" in lines
    reg = MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=5).fit(X, X[:, 0])
    table = reg.summary()
    assert "output        1  identity" in table and "Total params: 71" in table
    with pytest.raises(NotFittedError):
        MLPRegressor().summary()
