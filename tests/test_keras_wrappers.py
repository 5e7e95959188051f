"""fastmlp.keras.wrappers: Keras 3's scikit-learn wrappers over fastmlp.keras:
what they check before the model trains (compiled models, target types),
clone and clone_model.
"""
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris

from fastmlp import keras
from fastmlp.keras import utils
from fastmlp.keras.wrappers import SKLearnClassifier

Dense = keras.layers.Dense


def dynamic_model(X, y, loss, out_activation_function="softmax", layers=(10,)):
    """Keras's test model (a Functional graph there), as a Sequential."""
    model = keras.Sequential([keras.Input(shape=(X.shape[1],))])
    for units in layers:
        model.add(Dense(units, activation="relu"))
    n_outputs = y.shape[1] if len(y.shape) > 1 else 1
    model.add(Dense(n_outputs, activation=out_activation_function))
    model.compile(loss=loss, optimizer="rmsprop")
    return model


@pytest.fixture(autouse=True)
def quiet_session():
    utils.clear_session()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def test_uncompiled_model_is_refused():
    X, y = load_iris(return_X_y=True)
    model = keras.Sequential([keras.Input((4,)), Dense(3, activation="softmax")])
    with pytest.raises(RuntimeError, match="needs to be compiled"):
        SKLearnClassifier(model).fit(X, y)


def test_clone_keeps_the_parameters():
    fit_kwargs = {"epochs": 2, "verbose": 0}
    model = keras.Sequential([keras.Input((4,)), Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    est = SKLearnClassifier(model, warm_start=True, fit_kwargs=fit_kwargs)
    copy = clone(est)
    assert copy.get_params()["fit_kwargs"] == fit_kwargs and copy.warm_start
    assert copy.model is not model and copy.model.get_config() == model.get_config()
    for a, b in zip(copy.model.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)  # a deep copy (Keras's __sklearn_clone__)


def test_clone_model_draws_new_weights_and_compiles_alike():
    from fastmlp.keras.models import clone_model

    utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), Dense(8, activation="relu"),
                              keras.layers.BatchNormalization(), Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
                  metrics=["accuracy"])
    clone_ = clone_model(model)
    assert [type(a).__name__ for a in clone_.layers] == [type(a).__name__ for a in model.layers]
    assert [w.shape for w in clone_.get_weights()] == [w.shape for w in model.get_weights()]
    assert not np.array_equal(clone_.get_weights()[0], model.get_weights()[0])
    assert clone_.compiled and clone_.optimizer is not model.optimizer
    assert clone_.optimizer.get_config() == model.optimizer.get_config()
    assert type(clone_.loss) is type(model.loss) and clone_._metric_ids == ["accuracy"]
    assert not clone_model(keras.Sequential([keras.Input((2,)), Dense(1)])).compiled


def test_only_binary_and_multiclass_targets():
    X = np.random.default_rng(0).normal(size=(20, 3))
    clf = SKLearnClassifier(dynamic_model, model_kwargs={"loss": "categorical_crossentropy"})
    with pytest.raises(ValueError, match="binary and multiclass"):
        clf.fit(X, np.linspace(0, 1, 20))
    with pytest.raises(ValueError, match="only one class"):
        clf.fit(X, np.zeros(20, int))
