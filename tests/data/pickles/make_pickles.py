"""Write the pickled models that tests/test_old_pickles.py loads.

Run with the fastmlp whose pickles must keep loading (these were written by
commit 232a889, before the network became one description, issue 19):

    python tests/data/pickles/make_pickles.py

Each case is a small fitted model, pickled with its inputs and the outputs
it gave then (``<name>.pkl``: a dict with "model", "X", "outputs"), so that
later versions check they load and predict the same, and keep training.
"""
import pathlib
import pickle
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_diabetes, load_digits

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor

HERE = pathlib.Path(__file__).parent


def _digits(dtype=np.float64, n=300):
    X, y = load_digits(return_X_y=True)
    return (X[:n] / 16.0).astype(dtype), y[:n]


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    return X[:200], y[:200] / 100.0


def cases():
    Xd, yd = _digits()
    Xf, yf = _digits(np.float32)
    Xr, yr = _diabetes()
    yield "classifier_adam", MLPClassifier((16,), max_iter=4, random_state=0), Xd, yd
    yield "classifier_sgd_f32", MLPClassifier((12, 8), solver="sgd", max_iter=4,
                                              random_state=1), Xf, yf
    yield "classifier_lbfgs", MLPClassifier((10,), solver="lbfgs", max_iter=15,
                                            random_state=2), Xd, yd
    yield "classifier_batch_norm", MLPClassifier((16, 8), activation="gelu", batch_norm=True,
                                                 max_iter=4, random_state=3), Xd, yd
    yield "classifier_dropout_maxout", MLPClassifier(
        (8, 6), activation=["maxout", "leaky_relu"], maxout_pieces=3, dropout=[0.2, 0.1],
        max_iter=4, random_state=4), Xd, yd
    yield "classifier_binary_frozen", MLPClassifier(
        (8,), frozen_layers=[0], penalty="elasticnet", max_norm=2.0, max_iter=4,
        random_state=5), Xd, (yd > 4).astype(int)
    yield "classifier_sparse_rmsprop", MLPClassifier((8,), solver="rmsprop", max_iter=4,
                                                     random_state=6), sp.csr_matrix(Xd), yd
    yield "classifier_bf16", MLPClassifier((16,), compute_dtype="bfloat16", max_iter=3,
                                           random_state=7), Xf, yf
    yield "regressor_adam", MLPRegressor(hidden_layer_sizes=(8,), activation="elu", max_iter=20,
                                         random_state=0), Xr, yr
    yield "regressor_huber_bn", MLPRegressor(hidden_layer_sizes=(8, 4), loss="huber",
                                             batch_norm=True, max_iter=10,
                                             random_state=8), Xr, yr
    yield "regressor_poisson", MLPRegressor(hidden_layer_sizes=(6,), loss="poisson", max_iter=10,
                                            random_state=9), Xr, np.abs(yr)


def outputs(model, X):
    out = {"predict": model.predict(X), "transform": model.transform(X)}
    if hasattr(model, "predict_proba"):
        out["predict_proba"] = model.predict_proba(X)
    return out


def main():
    for name, model, X, y in cases():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
        X, y = X[:40], y[:40]  # enough rows to compare, small files
        record = {"version": fastmlp.__version__, "model": model, "X": X, "y": y,
                  "outputs": outputs(model, X)}
        with open(HERE / f"{name}.pkl", "wb") as f:
            pickle.dump(record, f, protocol=4)
        print(name)


if __name__ == "__main__":
    main()
