"""Keras 3's Sequential API for multilayer perceptrons, on fastmlp's engine.

``from fastmlp import keras`` in place of ``import keras`` (or ``from
tensorflow import keras``): a curriculum's Sequential scripts are to run as
written, with Keras 3's names, defaults, numbers and printed lines, and no
deep-learning framework behind them.

**Built** (each part tested against data recorded from Keras 3.15 on JAX by
``scripts/record_keras_reference.py``, tests/test_keras_*.py):

- :mod:`~fastmlp.keras.optimizers`: SGD, RMSprop, Adam, AdamW, Adagrad,
  Nadam with Keras's defaults and arithmetic (the C steps'
  ``arithmetic='keras'``), ``clipnorm`` / ``clipvalue`` /
  ``global_clipnorm``, ``weight_decay``, Keras 2's ``lr=`` / ``decay=``
  with a warning, ``get`` in any case;
- :mod:`~fastmlp.keras.losses` (values and gradients as Keras computes
  them, names as Keras resolves them), :mod:`~fastmlp.keras.metrics`
  (``'accuracy'`` resolved from the shapes as Keras 3 does),
  :mod:`~fastmlp.keras.initializers`, :mod:`~fastmlp.keras.regularizers`,
  :mod:`~fastmlp.keras.constraints` (MaxNorm), :mod:`~fastmlp.keras.utils`
  (``to_categorical``, ``set_random_seed``, ``clear_session``);
- :mod:`~fastmlp.keras.layers` as configuration objects (Dense,
  Activation, Dropout, BatchNormalization, Flatten, Input / InputLayer,
  LeakyReLU, ELU, ReLU, Softmax, and the Maxout extension) with Keras's
  arguments, names and ``get_config``; other Keras layers raise
  NotImplementedError naming these;
- :class:`Sequential` as a layer stack: construction, ``summary()`` in
  Keras's layout, ``get_config`` / ``from_config``, ``get_weights`` /
  ``set_weights``, ``compile``; :mod:`~fastmlp.keras.callbacks` (Keras's
  hooks and rules, History) against the model interface ``fit`` will give
  them; the progress lines' formatter; :mod:`~fastmlp.keras.saving`
  (``.keras`` files: config and weights).

**On the engine**: ``Sequential.fit``, ``evaluate`` and ``predict`` run
in C through the network description (``fastmlp.keras._engine``
translates the stack); :mod:`~fastmlp.keras.wrappers` has Keras's
scikit-learn wrappers (``SKLearnClassifier``, ``SKLearnRegressor``,
``SKLearnTransformer``); ``Sequential.to_sklearn()`` /
``Sequential.from_sklearn(est)`` convert to and from the estimators with
the same weights (:func:`fastmlp.from_keras`, :func:`fastmlp.to_keras`).
"""
# keras.layers, keras.optimizers, ... as attributes, as in Keras
from fastmlp.keras import (callbacks, constraints, initializers, layers, losses,  # noqa: F401
                           metrics, models, optimizers, regularizers, saving, utils,
                           wrappers)
from fastmlp.keras.layers import Input
from fastmlp.keras.models import Model, Sequential

# The API reference documents these three; the submodules (Keras's layout:
# keras.layers, keras.optimizers, ...) are imported above and documented in
# their own docstrings.
__all__ = ["Sequential", "Model", "Input"]
_SUBMODULES = ["callbacks", "constraints", "initializers", "layers", "losses", "metrics",
               "models", "optimizers", "regularizers", "saving", "utils", "wrappers"]

_NOT_MLP = {"GradientTape": "GradientTape (TensorFlow's) and custom training loops",
            "ops": "keras.ops (tensor operations)", "backend": "keras.backend",
            "applications": "keras.applications (pretrained networks)",
            "datasets": "keras.datasets", "preprocessing": "keras.preprocessing",
            "mixed_precision": "keras.mixed_precision", "random": "keras.random",
            "distribution": "keras.distribution", "export": "keras.export",
            "quantizers": "keras.quantizers", "visualization": "keras.visualization"}


def __getattr__(name):
    if name in _NOT_MLP:
        raise NotImplementedError(
            f"fastmlp.keras runs Sequential multilayer perceptrons; it has no {_NOT_MLP[name]}. "
            f"It has: {', '.join(__all__ + _SUBMODULES)}.")
    raise AttributeError(f"module 'fastmlp.keras' has no attribute {name!r}")
