"""Keras's losses for MLPs, by name, with NumPy values and gradients.

Each loss is a per-sample function (``mean_squared_error(y_true, y_pred)``
returns one value per row, averaged over the last axis, as Keras's) and a
class whose call is the loss ``fit`` and ``evaluate`` report: the mean over
the samples (Keras's ``"sum_over_batch_size"`` reduction: with sample
weights, ``sum(w * loss) / n``). The probabilistic losses take
probabilities (``from_logits=False``) and clip them to ``[1e-7, 1 - 1e-7]``
as Keras does; categorical cross-entropy first divides each row by its sum.
``gradient(y_true, y_pred)`` is the derivative of the mean with respect to
``y_pred`` (through the clipping: zero where a prediction is clipped), what
the engine's output stage will compute.

Names resolve as in Keras 3: ``mse`` / ``MSE`` / ``mean_squared_error``,
``mae`` / ``MAE`` / ``mean_absolute_error``, ``huber``, ``log_cosh``,
``binary_crossentropy``, ``categorical_crossentropy``,
``sparse_categorical_crossentropy``. Integer labels with
``categorical_crossentropy`` are Keras's shape error.
"""
import numpy as np

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "Huber", "LogCosh",
           "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
           "mean_squared_error", "mean_absolute_error", "huber", "log_cosh",
           "binary_crossentropy", "categorical_crossentropy",
           "sparse_categorical_crossentropy", "get"]

EPSILON = 1e-7  # keras.backend.epsilon()


def _arrays(y_true, y_pred):
    y_pred = np.asarray(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = y_pred.astype(np.float32)
    y_true = np.asarray(y_true).astype(y_pred.dtype)
    if y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"Arguments target and output must have the same shape. Received: "
                         f"target.shape={y_true.shape}, output.shape={y_pred.shape}")
    return y_true, y_pred


def mean_squared_error(y_true, y_pred):
    """Per sample: ``mean((y_pred - y_true)**2, axis=-1)``.

    Parameters
    ----------
    y_true, y_pred : array-like, same shape (``y_true`` may lack the last axis of 1)

    Returns
    -------
    ndarray
        One value per sample.
    """
    t, p = _arrays(y_true, y_pred)
    return np.mean(np.square(p - t), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Per sample: ``mean(|y_pred - y_true|, axis=-1)``.

    Parameters
    ----------
    y_true, y_pred : array-like

    Returns
    -------
    ndarray
    """
    t, p = _arrays(y_true, y_pred)
    return np.mean(np.abs(p - t), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Per sample: mean of ``0.5 e**2`` (``|e| <= delta``) or ``delta (|e| - delta / 2)``.

    Parameters
    ----------
    y_true, y_pred : array-like
    delta : float, default=1.0

    Returns
    -------
    ndarray
    """
    t, p = _arrays(y_true, y_pred)
    e = np.abs(p - t)
    return np.mean(np.where(e <= delta, 0.5 * e * e, delta * e - 0.5 * delta * delta), axis=-1)


def log_cosh(y_true, y_pred):
    """Per sample: ``mean(log(cosh(y_pred - y_true)), axis=-1)`` (computed stably).

    Parameters
    ----------
    y_true, y_pred : array-like

    Returns
    -------
    ndarray
    """
    t, p = _arrays(y_true, y_pred)
    x = p - t
    return np.mean(x + np.logaddexp(0, -2.0 * x) - np.log(2.0).astype(x.dtype), axis=-1)


def binary_crossentropy(y_true, y_pred):
    """Per sample: ``-mean(t log p + (1 - t) log(1 - p), axis=-1)``, ``p`` clipped.

    Parameters
    ----------
    y_true, y_pred : array-like
        Targets in [0, 1]; probabilities.

    Returns
    -------
    ndarray
    """
    t, p = _arrays(y_true, y_pred)
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)), axis=-1)


def categorical_crossentropy(y_true, y_pred):
    """Per sample: ``-sum(t log q)``, ``q`` the row divided by its sum, clipped.

    Parameters
    ----------
    y_true, y_pred : array-like
        One-hot (or soft) targets; probabilities, same shape.

    Returns
    -------
    ndarray
    """
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"Arguments target and output must have the same shape. Received: "
                         f"target.shape={t.shape}, output.shape={p.shape}")
    t, p = _arrays(t, p)
    q = np.clip(p / np.sum(p, axis=-1, keepdims=True), EPSILON, 1 - EPSILON)
    return -np.sum(t * np.log(q), axis=-1)


def _one_hot(labels, n_classes, dtype):
    labels = np.asarray(labels)
    if labels.ndim >= 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    return np.eye(n_classes, dtype=dtype)[labels.astype(np.int64)]


def sparse_categorical_crossentropy(y_true, y_pred):
    """Per sample: categorical cross-entropy with integer labels.

    Parameters
    ----------
    y_true : array-like of int
        Labels, ``(n,)`` or ``(n, 1)``.
    y_pred : array-like
        Probabilities ``(n, n_classes)``.

    Returns
    -------
    ndarray
    """
    p = np.asarray(y_pred, dtype=np.result_type(np.asarray(y_pred).dtype, np.float32))
    return categorical_crossentropy(_one_hot(y_true, p.shape[-1], p.dtype), p)


def _grad_mean(per_element_grad, n_last):
    """The per-element derivative of a per-sample mean over the last axis,
    averaged over the samples."""
    n = int(np.prod(per_element_grad.shape[:-1]))
    return per_element_grad / (max(n, 1) * n_last)


class Loss:
    """A loss as ``fit`` reports it: the per-sample function, averaged.

    Parameters
    ----------
    name : str or None, default=None
    reduction : {'sum_over_batch_size', 'sum', 'mean', 'none'}, default='sum_over_batch_size'
    """

    fn = None
    _name = None

    def __init__(self, name=None, reduction="sum_over_batch_size"):
        if reduction not in ("sum_over_batch_size", "sum", "mean", "none", None):
            raise ValueError(f"Invalid value for argument `reduction`: {reduction}")
        self.name = name or self._name
        self.reduction = reduction

    def _per_sample(self, y_true, y_pred):
        return type(self).fn(y_true, y_pred)

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The reduced loss.

        Parameters
        ----------
        y_true, y_pred : array-like
        sample_weight : array-like or None, default=None
            One weight per sample.

        Returns
        -------
        float or ndarray
            A float, or the per-sample values with ``reduction='none'``.
        """
        values = self._per_sample(y_true, y_pred)
        if sample_weight is not None:
            values = values * np.asarray(sample_weight, values.dtype).reshape(values.shape)
        if self.reduction in ("none", None):
            return values
        if self.reduction == "sum":
            return float(np.sum(values))
        return float(np.sum(values) / max(values.size, 1))

    def gradient(self, y_true, y_pred):
        """The derivative of the mean loss with respect to ``y_pred``.

        Parameters
        ----------
        y_true, y_pred : array-like

        Returns
        -------
        ndarray
            Of ``y_pred``'s shape.
        """
        raise NotImplementedError

    def get_config(self):
        """Keras's configuration dict.

        Returns
        -------
        dict
        """
        return {"name": self.name, "reduction": self.reduction}


class MeanSquaredError(Loss):
    """Mean squared error (not halved)."""

    fn = staticmethod(mean_squared_error)
    _name = "mean_squared_error"

    def gradient(self, y_true, y_pred):
        t, p = _arrays(y_true, y_pred)
        return _grad_mean(2 * (p - t), p.shape[-1])


class MeanAbsoluteError(Loss):
    """Mean absolute error."""

    fn = staticmethod(mean_absolute_error)
    _name = "mean_absolute_error"

    def gradient(self, y_true, y_pred):
        t, p = _arrays(y_true, y_pred)
        return _grad_mean(np.sign(p - t), p.shape[-1])


class Huber(Loss):
    """Huber loss.

    Parameters
    ----------
    delta : float, default=1.0
    reduction : str, default='sum_over_batch_size'
    name : str, default='huber_loss'
    """

    _name = "huber_loss"

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss"):
        super().__init__(name, reduction)
        self.delta = float(delta)

    def _per_sample(self, y_true, y_pred):
        return huber(y_true, y_pred, self.delta)

    def gradient(self, y_true, y_pred):
        t, p = _arrays(y_true, y_pred)
        return _grad_mean(np.clip(p - t, -self.delta, self.delta), p.shape[-1])

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


class LogCosh(Loss):
    """Logarithm of the hyperbolic cosine of the error."""

    fn = staticmethod(log_cosh)
    _name = "log_cosh"

    def gradient(self, y_true, y_pred):
        t, p = _arrays(y_true, y_pred)
        return _grad_mean(np.tanh(p - t), p.shape[-1])


class BinaryCrossentropy(Loss):
    """Binary cross-entropy on probabilities (``from_logits=False`` only)."""

    fn = staticmethod(binary_crossentropy)
    _name = "binary_crossentropy"

    def gradient(self, y_true, y_pred):
        t, p = _arrays(y_true, y_pred)
        inside = (p > EPSILON) & (p < 1 - EPSILON)
        q = np.clip(p, EPSILON, 1 - EPSILON)
        return _grad_mean(np.where(inside, -(t / q - (1 - t) / (1 - q)), 0), p.shape[-1])


class CategoricalCrossentropy(Loss):
    """Categorical cross-entropy on probabilities, one-hot targets."""

    fn = staticmethod(categorical_crossentropy)
    _name = "categorical_crossentropy"

    def gradient(self, y_true, y_pred):
        t, p = _arrays(y_true, y_pred)
        return _categorical_grad(t, p)


def _categorical_grad(t, p):
    """d/dp of mean(-sum(t log clip(p / sum p))): through the normalisation,
    zero where the clipping holds."""
    s = np.sum(p, axis=-1, keepdims=True)
    q = p / s
    inside = (q > EPSILON) & (q < 1 - EPSILON)
    dq = np.where(inside, -t / np.clip(q, EPSILON, 1 - EPSILON), 0)  # dL/dq
    # q_j = p_j / s: dL/dp_k = (dq_k - sum_j dq_j q_j) / s
    g = (dq - np.sum(dq * q, axis=-1, keepdims=True)) / s
    return g / max(int(np.prod(p.shape[:-1])), 1)


class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy on probabilities, integer labels."""

    fn = staticmethod(sparse_categorical_crossentropy)
    _name = "sparse_categorical_crossentropy"

    def gradient(self, y_true, y_pred):
        p = np.asarray(y_pred)
        return _categorical_grad(_one_hot(y_true, p.shape[-1], p.dtype), p)


_BY_NAME = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError, "huber": Huber, "log_cosh": LogCosh, "logcosh": LogCosh,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}
_KERAS_ONLY = ("kl_divergence", "kld", "poisson", "hinge", "squared_hinge", "categorical_hinge",
               "cosine_similarity", "mean_absolute_percentage_error", "mape",
               "mean_squared_logarithmic_error", "msle", "binary_focal_crossentropy",
               "categorical_focal_crossentropy", "ctc", "dice", "tversky", "crossentropy", "ce")


def get(identifier):
    """A loss object from a name, a class name, a config dict or an instance.

    Parameters
    ----------
    identifier : str, dict or Loss
        See the module docstring for the names.

    Returns
    -------
    Loss

    Raises
    ------
    ValueError
        An unknown name, or a Keras loss fastmlp.keras does not have (it
        names those it has).
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        cls = get(identifier["class_name"]).__class__
        config = dict(identifier.get("config", {}))
        if cls is not Huber:
            config.pop("delta", None)
        return cls(**config) if cls is Huber else cls(config.get("name"),
                                                      config.get("reduction",
                                                                 "sum_over_batch_size"))
    if isinstance(identifier, str):
        if identifier in _BY_NAME:
            return _BY_NAME[identifier]()
        for cls in set(_BY_NAME.values()):
            if cls.__name__ == identifier:
                return cls()
        if identifier in _KERAS_ONLY:
            raise ValueError(f"fastmlp.keras has no {identifier!r} loss; it has "
                             f"{sorted(k for k in _BY_NAME if k.islower())}")
    if callable(identifier) and not isinstance(identifier, type):
        for name, cls in _BY_NAME.items():
            if getattr(cls, "fn", None) is identifier:
                return cls()
    raise ValueError(f"Could not interpret loss identifier: {identifier}")
