"""Shared test helpers: random data and dtype tolerances."""
import contextlib
import importlib
import os

import numpy as np
import pytest


@contextlib.contextmanager
def engine_setting(setter, value):
    """Engines made inside the `with` use `value` of one of the binding's
    module settings (`setter` sets it and returns the previous value:
    ``_kernels._fused_step``, ``_kernels._sparse_input_mode``); restored
    after."""
    previous = setter(value)
    try:
        yield
    finally:
        setter(previous)


def random_array(rng, shape, dtype, scale=1.0):
    """Standard normal data of `dtype` (scaled), reproducible from `rng`."""
    return (scale * rng.standard_normal(shape)).astype(dtype)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def running_in_ci():
    """True when the environment variable CI is set (to anything but "", "0",
    "false" or "no"), as CI services and this project's .ci/run set it."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# Under CI, Hypothesis draws the same examples on every run (derandomize):
# CI judges a submission once, so an example found by chance there would
# fail it with no way to reproduce; developers' runs keep exploring (and
# keep what they find in .hypothesis/).
if running_in_ci():
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("ci", derandomize=True)
    _hypothesis_settings.load_profile("ci")


def require_module(name):
    """Import the optional test dependency `name`, or skip the calling test
    module when it is missing; under CI (see running_in_ci) a missing module
    is a failure instead, so CI never silently skips what it must check.

    Parameters
    ----------
    name : str
        The module to import, e.g. "onnxruntime".

    Returns
    -------
    module : module
        The imported module.
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        error = exc  # reported below, outside the handler (no chained traceback)
    message = (f"optional test dependency {name!r} is not installed ({error}); "
               'pip install ".[test]" installs it')
    if running_in_ci():
        pytest.fail(f"{message}. CI must run these tests, not skip them.", pytrace=False)
    pytest.skip(message, allow_module_level=True)


@pytest.fixture
def digits_split():
    """scikit-learn's digits scaled to [0, 1], split 70/30, stratified:
    (X_train, X_val, y_train, y_val)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, random_state=0, stratify=y)


def target_matrix(est, y, dtype):
    """The engine's (n, n_outputs) target matrix of a fitted estimator's y,
    from public attributes: one-hot over ``classes_`` (one column for two
    classes) for a classifier, y as columns for a regressor."""
    if hasattr(est, "classes_"):
        from sklearn.preprocessing import LabelBinarizer

        Y = LabelBinarizer().fit(est.classes_).transform(y)
    else:
        Y = np.asarray(y)
    return np.ascontiguousarray(Y.reshape(len(Y), -1), dtype=dtype)


def validation_loss(est, X, y):
    """A fitted estimator's loss on (X, y) as its history logs validation_loss
    (the data term of the network as it predicts, plus the penalty of the
    trained weights), from its Network and public weights."""
    from fastmlp.network import fitted_network

    network, coefs, intercepts = fitted_network(est, X.dtype)
    engine = network.for_prediction().replace(alpha=0.0).engine(X.shape[0], X.dtype)
    data = engine.loss(coefs, intercepts, X, target_matrix(est, y, X.dtype), None)
    return data + network.penalty_value(est.coefs_, est.intercepts_, X.shape[0])


def plain_network(units, hidden, output="softmax", out_activation=("identity", {}),
                  loss="squared_error", loss_param=0.0, alpha=0.0, dropout=None,
                  batch_norm=False, bn_momentum=0.1, bn_epsilon=1e-5, max_norm=None,
                  frozen_layers=(), **network_kw):
    """A fastmlp.network.Network from layer widths and (name, params) hidden
    activations, as the engine tests describe their small networks: output
    "softmax" / "logistic" (log losses) or "regression" (out_activation and
    loss); dropout one rate per hidden layer (on its output, i.e. the next
    layer's input); batch_norm before every hidden activation, without bias."""
    from fastmlp.network import Layer, Network

    n_hidden = len(units) - 2
    rates = [0.0] + list(dropout or [0.0] * n_hidden)
    layers = [Layer(units[i + 1], name, activation_params=dict(params) or None,
                    dropout=rates[i], batch_norm="before" if batch_norm else None,
                    bn_momentum=bn_momentum, bn_epsilon=bn_epsilon, use_bias=not batch_norm)
              for i, (name, params) in enumerate(hidden)]
    if output == "regression":
        out_name, out_params = out_activation
        out_loss = loss
    else:
        out_name, out_params = output, {}
        out_loss = "log_loss" if output == "softmax" else "binary_log_loss"
    layers.append(Layer(units[-1], out_name, activation_params=dict(out_params) or None,
                        dropout=rates[n_hidden]))
    for i, layer in enumerate(layers):
        layer.max_norm = max_norm
        layer.frozen = i in [f % len(layers) for f in frozen_layers]
    return Network(units[0], layers, loss=out_loss, loss_param=loss_param, alpha=alpha,
                   **network_kw)


def plain_engine(units, hidden, output, out_activation, loss, loss_param, alpha, max_rows,
                 dtype, dropout=None, gather_rows=False, batch_norm=False, bn_momentum=0.1,
                 bn_epsilon=1e-5, **network_kw):
    """MLPEngine of plain_network (the engine tests' small networks)."""
    from fastmlp._kernels import MLPEngine

    net = plain_network(units, hidden, output, out_activation, loss, loss_param, alpha,
                        dropout, batch_norm, bn_momentum, bn_epsilon, **network_kw)
    return MLPEngine(net, max_rows, dtype, gather_rows)


def plain_predictor(units, hidden, output, out_activation, loss, loss_param, coefs, intercepts,
                    compute_dtype=None):
    """MLPPredictor of plain_network."""
    from fastmlp._kernels import MLPPredictor

    net = plain_network(units, hidden, output, out_activation, loss, loss_param,
                        compute_dtype=compute_dtype)
    return MLPPredictor(net, list(coefs), list(intercepts))
