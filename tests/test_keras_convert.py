"""fastmlp.keras.Sequential <-> MLPClassifier / MLPRegressor (fastmlp._convert's
from_keras / to_keras, Sequential.to_sklearn / from_sklearn).

The Sequential's outputs are computed here by a NumPy forward pass that
follows Keras's layer semantics (inference: dropout off, batch norm with
the moving statistics), so the conversion is checked against Keras's
meaning of the layers, not against the converter's own reading of them.
Tolerances: the Sequential holds float32 weights; the estimator predicts
in the input's dtype (float64 here), so outputs agree to float32 rounding
through a few layers (rtol 1e-5, atol 1e-6).
"""
import warnings

import numpy as np
import pytest
from scipy.special import erf, expit, softmax
from sklearn.datasets import load_iris, make_regression
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor, keras
from fastmlp.keras import utils

L = keras.layers
TOL = {"rtol": 1e-5, "atol": 1e-6}

_ACTS = {"linear": lambda z: z, "relu": lambda z: np.maximum(z, 0), "sigmoid": expit,
         "tanh": np.tanh, "softmax": lambda z: softmax(z, axis=1),
         "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
         "leaky_relu": lambda z: np.where(z > 0, z, 0.2 * z),
         "softplus": lambda z: np.logaddexp(0, z),
         "gelu": lambda z: 0.5 * z * (1 + erf(z / np.sqrt(2))),
         "selu": lambda z: 1.0507009873554805 * np.where(
             z > 0, z, 1.6732632423543772 * np.expm1(np.minimum(z, 0)))}


def keras_forward(model, X):
    """What Keras's predict computes from the model's layers and weights."""
    a = np.asarray(X, np.float64).reshape(len(X), -1)
    for layer in model.layers:
        w = [np.asarray(v, np.float64) for v in layer.get_weights()]
        if isinstance(layer, L.Maxout):
            z = a @ w[0] + (w[1] if layer.use_bias else 0)
            a = z.reshape(len(a), layer.units, layer.pieces).max(axis=2)
        elif isinstance(layer, L.Dense):
            a = _ACTS[layer.activation](a @ w[0] + (w[1] if layer.use_bias else 0))
        elif isinstance(layer, L.BatchNormalization):
            names = [n for n, _, _ in layer._weight_specs()]
            d = dict(zip(names, w))
            a = ((a - d["moving_mean"]) / np.sqrt(d["moving_variance"] + layer.epsilon)
                 * d.get("gamma", 1.0) + d.get("beta", 0.0))
        elif isinstance(layer, L.LeakyReLU):
            a = np.where(a > 0, a, layer.negative_slope * a)
        elif isinstance(layer, L.ELU):
            a = np.where(a > 0, a, layer.alpha * np.expm1(np.minimum(a, 0)))
        elif isinstance(layer, L.Softmax):
            a = softmax(a, axis=1)
        elif isinstance(layer, L.Activation):
            a = _ACTS[layer.activation](a)
        # Dropout (inference) and Flatten (done above): identity
    return a


@pytest.fixture(autouse=True)
def fresh_session():
    utils.clear_session()
    utils.set_random_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # input_dim=: Keras 3's warning
        yield


def _randomize(model, seed=0):
    """Weights away from their initial values (batch norm's statistics
    included: zero means and unit variances would hide mistakes)."""
    rng = np.random.default_rng(seed)
    weights = []
    for layer in model.layers:
        for (name, shape, _), _w in zip(layer._weight_specs(), layer.weights):
            value = rng.normal(0, 0.5, shape)
            if name in ("moving_variance", "gamma"):
                value = np.abs(value) + 0.5
            weights.append(value.astype(np.float32))
    model.set_weights(weights)
    return model


X8 = np.random.default_rng(1).normal(size=(40, 8))


@pytest.mark.parametrize("build", [
    # (layers, compile's loss): every placement the estimators express
    lambda: ([L.Dense(16, input_dim=8, activation="relu"), L.Dense(3, activation="softmax")],
             "sparse_categorical_crossentropy"),
    lambda: ([L.Dense(16, input_dim=8), L.BatchNormalization(), L.Activation("relu"),
              L.Dropout(0.3), L.Dense(8, activation="tanh"), L.BatchNormalization(),
              L.Dense(4, activation="softmax")], "categorical_crossentropy"),
    lambda: ([L.Dropout(0.1, input_shape=(8,)), L.Dense(12, use_bias=False),
              L.BatchNormalization(), L.LeakyReLU(0.1), L.Dense(6), L.ELU(0.5),
              L.Dense(3), L.Softmax()], "sparse_categorical_crossentropy"),
    lambda: ([L.Dense(10, input_dim=8, activation="sigmoid"), L.Dense(1, activation="sigmoid")],
             "binary_crossentropy"),
    lambda: ([L.Dense(10, input_dim=8, activation="gelu"), L.Dense(2, activation="softmax")],
             "sparse_categorical_crossentropy"),
    lambda: ([L.Maxout(6, pieces=3, input_dim=8), L.Dense(5, activation="leaky_relu"),
              L.Dense(3, activation="sigmoid")], "binary_crossentropy"),
])
def test_classifier_from_sequential_predicts_the_same(build):
    layers, loss = build()
    model = _randomize(keras.Sequential(layers))
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    est = model.to_sklearn()
    assert isinstance(est, MLPClassifier)
    expected = keras_forward(model, X8)
    proba = est.predict_proba(X8)
    if expected.shape[1] == 1:  # Keras's sigmoid column is scikit-learn's second one
        proba = proba[:, 1:]
    np.testing.assert_allclose(proba, expected, **TOL)
    np.testing.assert_array_equal(est.classes_, np.arange(max(expected.shape[1], 2)))
    if expected.shape[1] > 1 and loss != "binary_crossentropy":
        np.testing.assert_array_equal(est.predict(X8), expected.argmax(axis=1))
    # and back: the same layers' outputs
    back = keras.Sequential.from_sklearn(est)
    out = keras_forward(back, X8)
    full = est.predict_proba(X8)
    np.testing.assert_allclose(out, full[:, 1:] if out.shape[1] == 1 else full, **TOL)


def test_estimator_parameters_follow_the_layers():
    model = keras.Sequential([
        L.Input((8,)), L.Dropout(0.1), L.Dense(16), L.BatchNormalization(momentum=0.9),
        L.Activation("relu"), L.Dropout(0.25), L.Dense(8, activation="tanh"),
        L.BatchNormalization(), L.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.8,
                                                 nesterov=True),
                  loss="sparse_categorical_crossentropy")
    est = model.to_sklearn()
    params = est.get_params()
    assert params["hidden_layer_sizes"] == (16, 8)
    assert params["activation"] == ["relu", "tanh"]
    assert params["batch_norm"] == ["before", "after"]
    assert params["input_dropout"] == 0.1 and params["dropout"] == [0.25, 0.0]
    assert (params["solver"], params["learning_rate_init"], params["momentum"],
            params["nesterovs_momentum"]) == ("sgd", 0.05, 0.8, True)
    assert params["alpha"] == 0.0 and params["batch_size"] == 32
    assert est.n_features_in_ == 8 and est.n_layers_ == 4


def test_regressor_from_sequential_and_back():
    X, y = make_regression(n_samples=60, n_features=8, n_targets=2, random_state=0)
    for out_act, loss, kind in [("linear", "mse", "squared_error"),
                                ("tanh", "mae", "absolute_error"),
                                ("sigmoid", keras.losses.Huber(delta=2.0), "huber")]:
        model = _randomize(keras.Sequential([L.Input((8,)), L.Dense(12, activation="elu"),
                                             L.Dense(2, activation=out_act)]))
        model.compile(optimizer="rmsprop", loss=loss)
        est = model.to_sklearn()
        assert isinstance(est, MLPRegressor)
        assert est.loss == kind and est.solver == "rmsprop"
        np.testing.assert_allclose(est.predict(X), keras_forward(model, X), **TOL)
        back = est.to_keras()
        np.testing.assert_allclose(keras_forward(back, X), est.predict(X), **TOL)
        assert type(back.loss) is type(model.loss)


def test_deck_sigmoid_output_with_mse_is_a_regressor():
    # deck 000's simple model: Dense(1, sigmoid) trained with mean squared error
    model = _randomize(keras.Sequential([L.Dense(10, input_dim=2, activation="sigmoid"),
                                         L.Dense(10, activation="sigmoid"),
                                         L.Dense(1, activation="sigmoid")]))
    model.compile(loss="mean_squared_error", optimizer="SGD")
    est = model.to_sklearn()
    assert isinstance(est, MLPRegressor) and est.out_activation == "logistic"
    assert (est.solver, est.learning_rate_init, est.momentum) == ("sgd", 0.01, 0.0)
    X = np.random.default_rng(0).normal(size=(10, 2))
    np.testing.assert_allclose(est.predict(X), keras_forward(model, X).ravel(), **TOL)


def test_flatten_input_takes_flattened_rows():
    model = _randomize(keras.Sequential([L.Flatten(input_shape=[4, 4]),
                                         L.Dense(5, activation="relu"),
                                         L.Dense(3, activation="softmax")]))
    est = model.to_sklearn()  # not compiled: the softmax output decides
    images = np.random.default_rng(0).normal(size=(7, 4, 4))
    np.testing.assert_allclose(est.predict_proba(images.reshape(7, -1)),
                               keras_forward(model, images), **TOL)


def test_fitted_estimator_to_sequential_and_back():
    X, y = load_iris(return_X_y=True)
    est = MLPClassifier(hidden_layer_sizes=(12, 6), activation=["leaky_relu", "elu"],
                        activation_params=[{"negative_slope": 0.05}, {"alpha": 0.7}],
                        batch_norm=["before", "after"], dropout=[0.1, 0.0], solver="adam",
                        max_iter=30, random_state=0).fit(X, y)
    model = est.to_keras()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Dense", "BatchNormalization", "LeakyReLU", "Dropout", "Dense", "ELU",
                     "BatchNormalization", "Dense"]
    assert model.layers[1].momentum == pytest.approx(0.9)
    assert model.layers[1].epsilon == pytest.approx(1e-5)
    assert model.optimizer.__class__.__name__ == "Adam" and model.compiled
    np.testing.assert_allclose(keras_forward(model, X), est.predict_proba(X), **TOL)
    again = model.to_sklearn()
    np.testing.assert_allclose(again.predict_proba(X), est.predict_proba(X), **TOL)
    assert again.get_params()["batch_norm"] == ["before", "after"]
    # the converted estimator trains on (its own rules) from those weights
    again.set_params(warm_start=True, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again.fit(X, y)
    assert again.score(X, y) > 0.6


def test_scikit_learn_estimator_to_sequential():
    X, y = load_iris(return_X_y=True)
    sk = SkMLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0).fit(X, y)
    model = keras.Sequential.from_sklearn(sk)
    np.testing.assert_allclose(keras_forward(model, X), sk.predict_proba(X), **TOL)
    assert fastmlp.from_keras(model).predict(X).tolist() == sk.predict(X).tolist()


# The layer orders the engine does not run are refused by its translation
# (NotImplementedError, as fit refuses them); what only the estimators lack
# by the conversion (ValueError).
@pytest.mark.parametrize("layers, error, message", [
    (lambda: [L.BatchNormalization(input_shape=(4,)), L.Dense(2, activation="softmax")],
     NotImplementedError, "before the first Dense"),
    (lambda: [L.Dense(4, input_dim=4, activation="relu"), L.Activation("tanh"),
              L.Dense(2, activation="softmax")], NotImplementedError, "a second activation"),
    (lambda: [L.Dense(4, input_dim=4), L.Dropout(0.5), L.Activation("relu"),
              L.Dense(2, activation="softmax")], NotImplementedError, "after a Dropout"),
    (lambda: [L.Dense(4, input_dim=4, activation="relu"), L.Dense(2, activation="softmax"),
              L.BatchNormalization()], NotImplementedError, "after the last Dense"),
    (lambda: [L.Dense(4, input_dim=4, activation="relu"), L.Dense(2, activation="softmax"),
              L.Dropout(0.2)], NotImplementedError, "after the last Dense"),
    (lambda: [L.Dense(4, input_dim=4, activation="relu"), L.BatchNormalization(),
              L.BatchNormalization(), L.Dense(2, activation="softmax")],
     NotImplementedError, "a second BatchNormalization"),
    (lambda: [L.Dense(4, input_dim=4, activation="softmax"), L.Dense(2, activation="softmax")],
     ValueError, "no hidden activation 'softmax'"),
    (lambda: [L.Dense(4, input_dim=4, activation="relu",
                      kernel_regularizer=keras.regularizers.l2(0.01)),
              L.Dense(2, activation="softmax")], ValueError, "per-layer kernel/bias regularizers"),
])
def test_what_has_no_equivalent_is_refused(layers, error, message):
    model = keras.Sequential(layers())
    with pytest.raises(error, match=message):
        model.to_sklearn()


def test_unbuilt_model_and_per_variable_clipnorm_are_refused():
    with pytest.raises(ValueError, match="not built"):
        keras.Sequential([L.Dense(2, activation="softmax")]).to_sklearn()
    model = keras.Sequential([L.Dense(4, input_dim=3, activation="relu"),
                              L.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(clipnorm=1.0),
                  loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="clipnorm"):
        model.to_sklearn()


def test_poisson_estimator_has_no_sequential():
    X, y = make_regression(n_samples=40, n_features=3, random_state=0)
    est = MLPRegressor(loss="poisson", hidden_layer_sizes=(4,), max_iter=5,
                       random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, np.abs(y))
    with pytest.raises(ValueError, match="Poisson"):
        est.to_keras()


def test_trained_model_and_its_estimator_predict_alike():
    # After fit: the Sequential's own predict (the engine's forward pass) is
    # the estimator's predict_proba, and back.
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    model = keras.Sequential([L.Input((4,)), L.Dense(16), L.BatchNormalization(),
                              L.Activation("relu"), L.Dropout(0.2),
                              L.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(X, y, epochs=30, batch_size=16, verbose=0)
    est = model.to_sklearn()
    proba = model.predict(X, verbose=0)
    np.testing.assert_allclose(est.predict_proba(X), proba, rtol=1e-4, atol=1e-5)
    assert est.score(X, y) > 0.85
    back = est.to_keras()
    np.testing.assert_allclose(back.predict(X, verbose=0), proba, rtol=1e-4, atol=1e-5)
    # the converted model trains on as a Keras model
    back.fit(X, y, epochs=2, verbose=0)
