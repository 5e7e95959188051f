"""skops.io: fastmlp's models save and load with skops, trusting exactly
fastmlp.trusted_types(); what they load is the same model (predictions,
history, and training continues as after pickle)."""
import pickle

import numpy as np
import pytest
from sklearn.datasets import load_iris

import fastmlp
from fastmlp.callbacks import CSVLogger, EarlyStopping, ReduceLROnPlateau
from fastmlp.schedules import CosineAnnealing
from conftest import require_module

sio = require_module("skops.io")



def _models(tmp_path):
    X, y = load_iris(return_X_y=True)
    return X, y, {
        "adam, batch norm, callbacks": fastmlp.MLPClassifier(
            (6,), max_iter=5, batch_norm=True, random_state=0,
            callbacks=[EarlyStopping(monitor="loss"), ReduceLROnPlateau(monitor="loss"),
                       CSVLogger(tmp_path / "log.csv")]).fit(X, y),
        "sgd regressor": fastmlp.MLPRegressor(hidden_layer_sizes=(6,), solver="sgd",
                                              max_iter=5, random_state=0).fit(X, X[:, 0]),
        "nadam, cosine schedule": fastmlp.MLPClassifier(
            (6,), solver="nadam", learning_rate=CosineAnnealing(10), max_iter=5,
            random_state=0).fit(X, y),
        "lbfgs": fastmlp.MLPClassifier((6,), solver="lbfgs", max_iter=5,
                                       random_state=0).fit(X, y),
        "perceptron": fastmlp.Perceptron(random_state=0).fit(X, y),
    }


def test_untrusted_types_are_fastmlps_own(tmp_path):
    X, y, models = _models(tmp_path)
    trusted = fastmlp.trusted_types()
    listed = {}
    for name, est in models.items():
        path = tmp_path / "model.skops"
        sio.dump(est, path)
        untrusted = sio.get_untrusted_types(file=path)
        listed[name] = untrusted
        assert set(untrusted) <= set(trusted), name
        with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
            sio.load(path)
        loaded = sio.load(path, trusted=trusted)
        np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
        if hasattr(est, "history_"):  # (NaN: L-BFGS's learning_rate)
            assert list(loaded.history_) == list(est.history_)
            for key, values in est.history_.items():
                np.testing.assert_array_equal(loaded.history_[key], values)
    network = ["fastmlp.network.Layer", "fastmlp.network.Network"]  # network_
    assert listed["sgd regressor"] == ["fastmlp._mlp.MLPRegressor", *network,
                                       "fastmlp.optimizers.SGD"]
    assert listed["lbfgs"] == ["fastmlp._mlp.MLPClassifier", *network]
    assert listed["nadam, cosine schedule"] == [
        "fastmlp._mlp.MLPClassifier", *network, "fastmlp.optimizers.NAdam",
        "fastmlp.schedules.CosineAnnealing"]
    assert "fastmlp.callbacks.CSVLogger" in listed["adam, batch norm, callbacks"]


def test_training_continues_after_loading_as_after_pickle(tmp_path):
    X, y, models = _models(tmp_path)
    est = models["adam, batch norm, callbacks"]
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    from_skops = sio.load(path, trusted=fastmlp.trusted_types())
    from_pickle = pickle.loads(pickle.dumps(est))
    for m in (from_skops, from_pickle):
        m.partial_fit(X, y)
    for a, b in zip(from_skops.get_weights(), from_pickle.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert from_skops.optimizer_.t == from_pickle.optimizer_.t > 0
