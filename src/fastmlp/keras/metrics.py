"""Keras's metrics for MLPs, computed with NumPy (``keras.metrics``).

A metric object accumulates over batches (``update_state``) and reports
the mean over the samples seen (``result``), as Keras's; the functions
give per-sample values. ``'accuracy'`` / ``'acc'`` in ``compile`` resolve
as Keras 3 resolves them, from the shapes of the targets and predictions
(:func:`resolve`): one output column gives binary accuracy (threshold 0.5),
targets with one axis fewer (or a last axis of 1 against several columns)
sparse categorical accuracy, otherwise categorical accuracy. The name in
History is the string as written in ``metrics=[...]``.
"""
import numpy as np

from fastmlp.keras import losses as _losses

__all__ = ["Metric", "Mean", "MeanMetricWrapper", "BinaryAccuracy", "CategoricalAccuracy",
           "SparseCategoricalAccuracy", "Accuracy", "MeanSquaredError", "MeanAbsoluteError",
           "RootMeanSquaredError", "MeanAbsolutePercentageError", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "binary_accuracy",
           "categorical_accuracy", "sparse_categorical_accuracy", "accuracy",
           "mean_absolute_percentage_error", "get", "resolve"]


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Per sample: the fraction of outputs on the target's side of ``threshold``.

    Parameters
    ----------
    y_true, y_pred : array-like
    threshold : float, default=0.5

    Returns
    -------
    ndarray
    """
    t, p = _losses._arrays(y_true, y_pred)
    return np.mean(t == (p > threshold).astype(t.dtype), axis=-1).astype(np.float32)


def categorical_accuracy(y_true, y_pred):
    """Per sample: 1 where ``argmax(y_pred) == argmax(y_true)``.

    Parameters
    ----------
    y_true, y_pred : array-like, one-hot targets

    Returns
    -------
    ndarray
    """
    return (np.argmax(y_true, -1) == np.argmax(y_pred, -1)).astype(np.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    """Per sample: 1 where ``argmax(y_pred) == y_true``.

    Parameters
    ----------
    y_true : array-like of int, ``(n,)`` or ``(n, 1)``
    y_pred : array-like, ``(n, n_classes)``

    Returns
    -------
    ndarray
    """
    t = np.asarray(y_true).reshape(np.shape(y_pred)[:-1])
    return (t.astype(np.int64) == np.argmax(y_pred, -1)).astype(np.float32)


def accuracy(y_true, y_pred):
    """Per sample: 1 where the prediction equals the target exactly.

    Parameters
    ----------
    y_true, y_pred : array-like

    Returns
    -------
    ndarray
    """
    t, p = _losses._arrays(y_true, y_pred)
    return np.mean(t == p, axis=-1).astype(np.float32)


def mean_absolute_percentage_error(y_true, y_pred):
    """Per sample: ``100 * mean(|t - p| / max(|t|, 1e-7))``.

    Parameters
    ----------
    y_true, y_pred : array-like

    Returns
    -------
    ndarray
    """
    t, p = _losses._arrays(y_true, y_pred)
    return 100.0 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), _losses.EPSILON)), axis=-1)


class Metric:
    """Base class: ``update_state``, ``result``, ``reset_state``.

    Parameters
    ----------
    name : str or None, default=None
    """

    _name = None
    #: Which way is better, for callbacks' ``mode='auto'`` (Keras's attribute).
    _direction = "down"

    def __init__(self, name=None):
        self.name = name or self._name
        self.reset_state()

    def reset_state(self):
        """Forget every batch seen."""
        self.total, self.count = 0.0, 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch.

        Parameters
        ----------
        y_true, y_pred : array-like
        sample_weight : array-like or None, default=None
        """
        values = np.asarray(self._values(y_true, y_pred), np.float64).reshape(-1)
        w = np.ones_like(values) if sample_weight is None else np.asarray(
            sample_weight, np.float64).reshape(-1)
        self.total += float(np.sum(values * w))
        self.count += float(np.sum(w))

    def _values(self, y_true, y_pred):
        raise NotImplementedError

    def result(self):
        """The weighted mean of the values seen.

        Returns
        -------
        float
        """
        return self.total / self.count if self.count else 0.0

    def get_config(self):
        """Keras's configuration dict.

        Returns
        -------
        dict
        """
        return {"name": self.name, "dtype": "float32"}


class Mean(Metric):
    """The mean of the values given to ``update_state(values)``."""

    _name = "mean"

    def update_state(self, values, sample_weight=None):
        """Add values.

        Parameters
        ----------
        values : array-like
        sample_weight : array-like or None, default=None
        """
        values = np.asarray(values, np.float64).reshape(-1)
        w = np.ones_like(values) if sample_weight is None else np.asarray(
            sample_weight, np.float64).reshape(-1)
        self.total += float(np.sum(values * w))
        self.count += float(np.sum(w))


class MeanMetricWrapper(Metric):
    """The mean over the samples of a per-sample function ``fn(y_true, y_pred)``.

    Parameters
    ----------
    fn : callable
    name : str or None, default=None
    """

    def __init__(self, fn, name=None):
        self.fn = fn
        super().__init__(name or getattr(fn, "__name__", "mean_metric_wrapper"))

    def _values(self, y_true, y_pred):
        return self.fn(y_true, y_pred)


def _wrapper(cls_name, fn, default_name, doc, direction="down"):
    def __init__(self, name=default_name):
        MeanMetricWrapper.__init__(self, fn, name)

    return type(cls_name, (MeanMetricWrapper,), {"__init__": __init__, "__module__": __name__,
                                                 "_direction": direction,
                                                 "__doc__": doc + "\n\n    Parameters\n    "
                                                 f"----------\n    name : str, default="
                                                 f"'{default_name}'\n"})


BinaryAccuracy = _wrapper("BinaryAccuracy", binary_accuracy, "binary_accuracy",
                          "Fraction of outputs on the target's side of 0.5.", "up")
CategoricalAccuracy = _wrapper("CategoricalAccuracy", categorical_accuracy,
                               "categorical_accuracy", "Fraction of argmax matches, one-hot.", "up")
SparseCategoricalAccuracy = _wrapper("SparseCategoricalAccuracy", sparse_categorical_accuracy,
                                     "sparse_categorical_accuracy",
                                     "Fraction of argmax matches, integer labels.", "up")
Accuracy = _wrapper("Accuracy", accuracy, "accuracy", "Fraction of exact matches.", "up")
MeanSquaredError = _wrapper("MeanSquaredError", _losses.mean_squared_error,
                            "mean_squared_error", "Mean squared error.")
MeanAbsoluteError = _wrapper("MeanAbsoluteError", _losses.mean_absolute_error,
                             "mean_absolute_error", "Mean absolute error.")
MeanAbsolutePercentageError = _wrapper("MeanAbsolutePercentageError",
                                       mean_absolute_percentage_error,
                                       "mean_absolute_percentage_error",
                                       "Mean absolute percentage error.")
BinaryCrossentropy = _wrapper("BinaryCrossentropy", _losses.binary_crossentropy,
                              "binary_crossentropy", "Binary cross-entropy.")
CategoricalCrossentropy = _wrapper("CategoricalCrossentropy", _losses.categorical_crossentropy,
                                   "categorical_crossentropy", "Categorical cross-entropy.")
SparseCategoricalCrossentropy = _wrapper("SparseCategoricalCrossentropy",
                                         _losses.sparse_categorical_crossentropy,
                                         "sparse_categorical_crossentropy",
                                         "Sparse categorical cross-entropy.")


class RootMeanSquaredError(Metric):
    """``sqrt`` of the mean squared error over every value seen.

    Parameters
    ----------
    name : str, default='root_mean_squared_error'
    """

    _name = "root_mean_squared_error"

    def _values(self, y_true, y_pred):
        t, p = _losses._arrays(y_true, y_pred)
        return np.square(p - t)

    def result(self):
        return float(np.sqrt(super().result()))


_BY_NAME = {
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError, "root_mean_squared_error": RootMeanSquaredError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(identifier):
    """A metric object from a name, a class name or an instance.

    ``'accuracy'`` needs the shapes: see :func:`resolve`.

    Parameters
    ----------
    identifier : str, Metric or callable

    Returns
    -------
    Metric
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in _BY_NAME:
            return _BY_NAME[identifier]()
        for cls in set(_BY_NAME.values()) | {Accuracy}:
            if cls.__name__ == identifier:
                return cls()
        if identifier.lower() in ("accuracy", "acc"):
            return Accuracy()
    elif callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"Could not interpret metric identifier: {identifier}; fastmlp.keras has "
                     f"{sorted(k for k in _BY_NAME if k.islower())} and 'accuracy'")


def resolve(identifier, y_true_shape, y_pred_shape):
    """The metric ``compile(metrics=[identifier])`` gives, as Keras 3 resolves it.

    Parameters
    ----------
    identifier : str, Metric or callable
    y_true_shape, y_pred_shape : tuple of int
        Shapes of the targets and of the model's output.

    Returns
    -------
    Metric
        Named as written (``'acc'`` stays ``'acc'`` in History).
    """
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        is_binary = y_pred_shape[-1] == 1
        is_sparse = len(y_true_shape) < len(y_pred_shape) or (
            y_true_shape[-1] == 1 and y_pred_shape[-1] > 1)
        if is_binary:
            metric = BinaryAccuracy(name=identifier)
        elif is_sparse:
            metric = SparseCategoricalAccuracy(name=identifier)
        else:
            metric = CategoricalAccuracy(name=identifier)
        return metric
    metric = get(identifier)
    if isinstance(identifier, str):
        metric.name = identifier
    return metric
