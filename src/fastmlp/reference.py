"""Plain-NumPy reference for every kernel in :mod:`fastmlp.kernels`.

Same functions, same signatures, written for clarity rather than speed and
computing in the input dtype. The tests hold the C kernels against these;
users may swap one module for the other.

Formulas are the textbook ones in their numerically stable forms (the same
forms as ``csrc/ops/activation_math.h``), with SciPy's ``expit``, ``erfc``,
``softmax`` and ``xlogy``. Loss *values* are computed in float64 from the
(exactly upcast) inputs, as the C kernels accumulate in double; gradients
are computed in the input dtype.
"""
import math
import numbers

import numpy as np
from scipy import special

from fastmlp._validation import check_optimizer_hyper

__all__ = [
    "gemm",
    "dense",
    "activation",
    "activation_grad",
    "softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "regression_loss",
    "squared_error",
    "absolute_error",
    "huber",
    "poisson",
    "sgd_step",
    "adam_step",
    "rmsprop_step",
    "adagrad_step",
    "adamw_step",
    "nadam_step",
    "optimizer_step",
    "keras_global_clip",
    "batch_norm_forward",
    "batch_norm_backward",
    "dropout_uniforms",
    "dropout_forward",
    "dropout_backward",
    "network_loss",
]


def _check_float(arr, name, dtype=None):
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(arr).__name__}")
    if arr.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must have dtype float32 or float64, got {arr.dtype}")
    if dtype is not None and arr.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype} like the other inputs, got {arr.dtype}")
    return arr.dtype


def _write_out(result, out, name="out"):
    if out is None:
        return result
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != result.dtype:
        raise TypeError(f"{name} must have dtype {result.dtype}, got {out.dtype}")
    if out.shape != result.shape:
        raise ValueError(f"{name} must have shape {result.shape}, got {out.shape}")
    if not out.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    out[...] = result
    return out


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------

# Activation names and the keyword parameter (with default) each one takes;
# the same table as the binding's.
_ACTIVATIONS = {
    "identity": ("identity", None, 0.0),
    "logistic": ("logistic", None, 0.0),
    "sigmoid": ("logistic", None, 0.0),
    "tanh": ("tanh", None, 0.0),
    "relu": ("relu", None, 0.0),
    "leaky_relu": ("leaky_relu", "negative_slope", 0.01),
    "elu": ("elu", "alpha", 1.0),
    "selu": ("selu", None, 0.0),
    "gelu": ("gelu", None, 0.0),
    "softplus": ("softplus", None, 0.0),
    "softmax": ("softmax", None, 0.0),
    "heaviside": ("heaviside", None, 0.0),
    "step": ("heaviside", None, 0.0),
    "maxout": ("maxout", "pieces", 2),
}

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT1_2 = 0.70710678118654752440084436210484903928
_INV_SQRT_2PI = 0.39894228040143267793994605993438186848


def _parse_activation(name, params, argname="name"):
    """(kind, parameter) of an activation name and its keyword parameters."""
    if not isinstance(name, str) or name not in _ACTIVATIONS:
        raise ValueError(f"{argname} must be one of {sorted(_ACTIVATIONS)}, got {name!r}")
    kind, pname, default = _ACTIVATIONS[name]
    extra = set(params) - ({pname} if pname else set())
    if extra:
        raise TypeError(f"activation {name!r} got unexpected parameter(s) {sorted(extra)}")
    value = params.get(pname, default) if pname else default
    if kind == "maxout":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise TypeError(f"pieces must be an integer, got {value!r}")
        if not 1 <= value <= 2**31 - 1:
            raise ValueError(f"pieces must be in [1, {2**31 - 1}], got {value}")
        return kind, int(value)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{pname} must be a real number, got {value!r}") from None
    if not np.isfinite(value):
        raise ValueError(f"{pname} must be finite, got {value}")
    return kind, value


def _check_ndim1(arr, name):
    if arr.ndim < 1:
        raise ValueError(f"{name} must have at least 1 dimension, got a 0-dimensional array")


def _keep_nan(z, d):
    """d, with NaN wherever z is NaN (a NaN input never has a derivative)."""
    return np.where(np.isnan(z), z, d)


def _forward(kind, z, p):
    """act(z) in z's dtype; p is the activation's parameter."""
    t = z.dtype.type
    if kind == "identity":
        return z.copy()
    if kind == "logistic":
        return special.expit(z)  # what scikit-learn uses
    if kind == "tanh":
        return np.tanh(z)
    if kind == "relu":
        return np.maximum(z, t(0))  # propagates NaN
    if kind == "leaky_relu":
        return np.where(z > 0, z, t(p) * z)
    if kind in ("elu", "selu"):
        # expm1 only of the non-positive part: no overflow in the branch
        # np.where discards, and no cancellation near 0.
        alpha, scale = (t(p), None) if kind == "elu" else (t(_SELU_ALPHA), t(_SELU_SCALE))
        out = np.where(z > 0, z, alpha * np.expm1(np.minimum(z, t(0))))
        return out if scale is None else scale * out
    if kind == "gelu":
        # z * Phi(z) with Phi(z) = erfc(-z / sqrt 2) / 2 (no cancellation for
        # z << 0, unlike 1 + erf); where erfc underflows the result is -0.
        c = special.erfc(-z * t(_SQRT1_2))
        return np.where(c == 0, t(-0.0), t(0.5) * z * c)
    if kind == "softplus":
        return np.maximum(z, t(0)) + np.log1p(np.exp(-np.abs(z)))
    if kind == "softmax":
        # max-subtracted; SciPy cannot reduce an empty axis
        return special.softmax(z, axis=-1) if z.size else z.copy()
    if kind == "heaviside":
        return np.heaviside(z, t(1))
    raise AssertionError(kind)


def _derivative(kind, z, p):
    """act'(z) element-wise, in z's dtype (not for softmax)."""
    t = z.dtype.type
    if kind == "identity":
        return _keep_nan(z, np.ones_like(z))
    if kind == "logistic":
        # s (1 - s) = e / (1 + e)^2 with e = exp(-|z|): no cancellation.
        e = np.exp(-np.abs(z))
        return e / (1 + e) ** 2
    if kind == "softplus":
        return special.expit(z)
    if kind == "tanh":
        # sech^2 z = 4 e / (1 + e)^2 with e = exp(-2|z|): neither the
        # cancellation of 1 - tanh^2 nor the overflow of 1 / cosh^2.
        e = np.exp(t(-2) * np.abs(z))
        return t(4) * e / (1 + e) ** 2
    if kind == "relu":
        return _keep_nan(z, (z > 0).astype(z.dtype))
    if kind == "leaky_relu":
        return _keep_nan(z, np.where(z > 0, t(1), t(p)))
    if kind == "elu":
        return np.where(z > 0, t(1), t(p) * np.exp(np.minimum(z, t(0))))
    if kind == "selu":
        scale, alpha = t(_SELU_SCALE), t(_SELU_ALPHA)
        return np.where(z > 0, scale, scale * (alpha * np.exp(np.minimum(z, t(0)))))
    if kind == "gelu":
        # Phi(z) + z phi(z); where phi underflows the second term is 0.
        cdf = t(0.5) * special.erfc(-z * t(_SQRT1_2))
        pdf = np.exp(t(-0.5) * z * z) * t(_INV_SQRT_2PI)
        return np.where(pdf == 0, cdf, cdf + z * pdf)
    raise AssertionError(kind)


def _maxout_pieces(z, k):
    """z (..., n * k) viewed as (..., n, k): unit j's pieces are columns
    j*k .. j*k + k - 1."""
    _check_ndim1(z, "z")
    if z.shape[-1] % k:
        raise ValueError(f"maxout with pieces={k} needs z's last axis to be a multiple of "
                         f"{k} (units x pieces), got shape {z.shape}")
    return z.reshape(z.shape[:-1] + (z.shape[-1] // k, k))


def _maxout_grad(z, k, grad_output):
    """The winner mask (1 at each unit's first maximum: np.argmax takes the
    first, as C does), times grad_output if given; NaN at every piece of a
    unit with a NaN piece."""
    pieces = _maxout_pieces(z, k)
    winner = np.argmax(pieces, axis=-1)
    mask = (np.arange(k) == winner[..., None]).astype(z.dtype)
    value = np.ones(winner.shape, z.dtype) if grad_output is None else grad_output
    result = np.where(mask == 1, value[..., None], z.dtype.type(0))
    result = np.where(np.isnan(pieces.max(axis=-1))[..., None], z.dtype.type(np.nan), result)
    return result.reshape(z.shape)


def activation(z, name, *, out=None, **params):
    """Apply an activation function element-wise (softmax: along the last axis).

    See :func:`fastmlp.kernels.activation`; this is the NumPy twin
    (maxout: the max over each unit's ``pieces`` consecutive columns).

    Parameters
    ----------
    z : ndarray of shape (..., n)
        Pre-activations, float32 or float64, at least 1-D.
    name : str
        Activation name, see :func:`fastmlp.kernels.activation`.
    out : ndarray, optional
        Where to write the result (may be ``z``).
    **params
        The activation's parameter (``negative_slope`` or ``alpha``).

    Returns
    -------
    out : ndarray of the shape of ``z``
        The result, in ``out`` if given.
    """
    kind, p = _parse_activation(name, params)
    _check_float(z, "z")
    _check_ndim1(z, "z")
    if kind == "maxout":
        return _write_out(_maxout_pieces(z, p).max(axis=-1), out)
    return _write_out(_forward(kind, z, p).astype(z.dtype, copy=False), out)


def activation_grad(z, name, grad_output=None, *, out=None, **params):
    """Derivative of an activation, or its vector-Jacobian product.

    See :func:`fastmlp.kernels.activation_grad`; this is the NumPy twin.

    Parameters
    ----------
    z : ndarray of shape (..., n)
        Pre-activations, float32 or float64.
    name : str
        Activation name; not ``"heaviside"``/``"step"`` (forward-only).
    grad_output : ndarray of the shape of ``z``, optional
        Gradient with respect to the activation's output. Required for
        ``"softmax"``.
    out : ndarray, optional
        Where to write the result (may be ``z`` or ``grad_output``).
    **params
        The activation's parameter.

    Returns
    -------
    out : ndarray of the shape of ``z``
        ``act'(z)``, or ``grad_output * act'(z)`` (softmax: the
        vector-Jacobian product ``s * (g - sum(g * s))`` per row).
    """
    kind, p = _parse_activation(name, params)
    if kind == "heaviside":
        raise ValueError(f"activation {name!r} is forward-only: its derivative is 0 almost "
                         f"everywhere, so it has no gradient to backpropagate")
    dtype = _check_float(z, "z")
    _check_ndim1(z, "z")
    if kind == "maxout":
        if grad_output is not None:
            _check_float(grad_output, "grad_output", dtype)
            expected = z.shape[:-1] + (_maxout_pieces(z, p).shape[-2],)
            if grad_output.shape != expected:
                raise ValueError(f"grad_output must have maxout's output shape {expected} "
                                 f"(z's shape with the last axis / pieces), got "
                                 f"{grad_output.shape}")
        return _write_out(_maxout_grad(z, p, grad_output), out)
    if grad_output is None:
        if kind == "softmax":
            raise ValueError("softmax's derivative is a Jacobian matrix, not element-wise: "
                             "pass grad_output to get the vector-Jacobian product")
        result = _derivative(kind, z, p)
    else:
        _check_float(grad_output, "grad_output", dtype)
        if grad_output.shape != z.shape:
            raise ValueError(f"grad_output must have the shape of z {z.shape}, "
                             f"got {grad_output.shape}")
        if kind == "softmax":
            s = _forward(kind, z, p)
            result = s * (grad_output - np.sum(grad_output * s, axis=-1, keepdims=True))
        else:
            result = grad_output * _derivative(kind, z, p)
    return _write_out(result.astype(dtype, copy=False), out)


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------

def _sample_weight(sample_weight, m, dtype):
    """Weights as an (m,) array of `dtype`, validated; None if not given."""
    if sample_weight is None:
        return None
    sw = np.asarray(sample_weight)
    if sw.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must contain real numbers, got dtype {sw.dtype}")
    if sw.ndim != 1 or sw.shape[0] != m:
        raise ValueError(f"sample_weight must have shape ({m},), one weight per sample, "
                         f"got {sw.shape}")
    with np.errstate(over="ignore"):  # overflow to inf is reported just below
        sw = sw.astype(dtype)
    if not np.isfinite(sw).all():
        raise ValueError(f"sample_weight must be finite (as {dtype}), got a NaN or inf")
    if (sw < 0).any():
        raise ValueError(f"sample_weight must be non-negative, got a minimum of {sw.min()}")
    with np.errstate(over="ignore"):  # an infinite sum is reported just below
        total = sw.sum(dtype=np.float64)
    if not total > 0:
        raise ValueError("sample_weight must have a positive sum, got all zeros")
    if not math.isfinite(total):
        raise ValueError("sample_weight must have a finite sum, got an overflow")
    return sw


def _weights(sample_weight, m):
    """(per-sample weights in float64, their sum); ones when not given."""
    w = np.ones(m) if sample_weight is None else sample_weight.astype(np.float64)
    return w, w.sum()


def _predictions(arr, name):
    dtype = _check_float(arr, name)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-dimensional (n_samples,) or 2-dimensional "
                         f"(n_samples, n_outputs), got shape {arr.shape}")
    if arr.shape[0] < 1:
        raise ValueError(f"{name} must have at least one sample, got shape {arr.shape}")
    return dtype


def _targets(y, shape, dtype, name, binary):
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(y).__name__}")
    if y.shape != shape:
        raise ValueError(f"{name} must have the shape of the predictions {shape}, got {y.shape}")
    if y.dtype.kind == "f":
        _check_float(y, name, dtype)
        return y
    if y.dtype.kind not in "biu":
        raise TypeError(f"{name} must have a float, integer or bool dtype, got {y.dtype}")
    if binary and y.dtype.kind != "b" and y.size and (y.min() < 0 or y.max() > 1):
        raise ValueError(f"integer {name} must contain only 0 and 1 (binary targets), "
                         f"got values from {y.min()} to {y.max()}")
    return y.astype(dtype)


def _per_sample(values):
    """Per-sample sums over outputs of (m,) or (m, n) element losses."""
    return values if values.ndim == 1 else values.sum(axis=1)


def _gradient_scale(w, wsum, ndim, dtype):
    """w_i / sum(w) in `dtype`, shaped to broadcast against the predictions."""
    scale = (w / wsum).astype(dtype)
    return scale if ndim == 1 else scale[:, np.newaxis]


def _log_softmax(z):
    """log(softmax(z)) along rows: (z - max) - log(sum(exp(z - max))).

    For a confident row the sum is 1 + (small terms) and log() of it would
    keep only its absolute accuracy, so the elements equal to the max (each
    exp(0) = 1 exactly) are counted apart: with one of them, the log is
    log1p(sum of the others). This keeps -log s accurate to a few ulp even
    when it is tiny, unlike scipy.special.log_softmax or logsumexp(z) - z.
    """
    shifted = z - z.max(axis=1, keepdims=True)
    is_max = shifted == 0
    n_max = is_max.sum(axis=1, keepdims=True)
    rest = np.sum(np.where(is_max, 0.0, np.exp(shifted)), axis=1, keepdims=True)
    log_sum = np.where(n_max == 1, np.log1p(rest), np.log(n_max + rest))
    return shifted - log_sum


def softmax_cross_entropy(logits, y, sample_weight=None):
    """Softmax cross-entropy from logits, and its gradient.

    See :func:`fastmlp.kernels.softmax_cross_entropy`; this is the NumPy twin.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
        float32 or float64.
    y : ndarray of shape (n_samples,) or (n_samples, n_classes)
        Integer class labels, or probabilities of the dtype of ``logits``.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative finite weights with a positive sum.

    Returns
    -------
    loss : float
        Weighted mean over samples of ``-sum_j y_j log softmax(logits)_j``.
    dlogits : ndarray of shape (n_samples, n_classes)
        Gradient of ``loss`` with respect to ``logits``.
    """
    dtype = _check_float(logits, "logits")
    if logits.ndim != 2:
        raise ValueError(f"logits must be 2-dimensional (n_samples, n_classes), "
                         f"got shape {logits.shape}")
    m, n = logits.shape
    if m < 1 or n < 1:
        raise ValueError(f"logits must have at least one sample and one class, "
                         f"got shape {logits.shape}")
    if not isinstance(y, np.ndarray):
        raise TypeError(f"y must be a numpy.ndarray, got {type(y).__name__}")
    if y.dtype.kind in "iu":
        if y.shape != (m,):
            raise ValueError(f"integer labels y must have shape ({m},), got {y.shape}")
        if y.min() < 0 or y.max() >= n:
            raise ValueError(f"labels in y must be in [0, {n}) for {n} classes, "
                             f"got values from {y.min()} to {y.max()}")
        y_prob = np.zeros((m, n), dtype=dtype)
        y_prob[np.arange(m), y] = 1
    elif y.dtype.kind == "f":
        _check_float(y, "y", dtype)
        if y.shape != (m, n):
            raise ValueError(f"probability targets y must have the shape of logits "
                             f"{(m, n)}, got {y.shape}")
        y_prob = y
    else:
        raise TypeError(f"y must hold integer class labels or float probabilities, "
                        f"got dtype {y.dtype}")
    w, wsum = _weights(_sample_weight(sample_weight, m, dtype), m)

    # Loss in float64: -sum_j y_j log s_j, with y_j == 0 contributing 0
    # whatever z_j.
    z64, y64 = logits.astype(np.float64), y_prob.astype(np.float64)
    terms = -y64 * np.where(y64 == 0, 0.0, _log_softmax(z64))
    loss = float(np.sum(w * terms.sum(axis=1)) / wsum)

    dlogits = (special.softmax(logits, axis=1) - y_prob) * _gradient_scale(w, wsum, 2, dtype)
    return loss, dlogits.astype(dtype, copy=False)


def sigmoid_binary_cross_entropy(logits, y, sample_weight=None):
    """Sigmoid binary cross-entropy from logits (multilabel), and its gradient.

    See :func:`fastmlp.kernels.sigmoid_binary_cross_entropy`; this is the
    NumPy twin.

    Parameters
    ----------
    logits : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        float32 or float64.
    y : ndarray of the shape of ``logits``
        Targets in [0, 1]: floats of the dtype of ``logits``, or integers
        (0/1) or bools, converted.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative finite weights with a positive sum.

    Returns
    -------
    loss : float
        Weighted mean over samples of the per-sample loss.
    dlogits : ndarray of the shape of ``logits``
        Gradient of ``loss`` with respect to ``logits``.
    """
    dtype = _predictions(logits, "logits")
    y = _targets(y, logits.shape, dtype, "y", True)
    w, wsum = _weights(_sample_weight(sample_weight, logits.shape[0], dtype), logits.shape[0])

    # Loss in float64: max(z, 0) - z y + log1p(exp(-|z|)), stable for any z.
    z64, y64 = logits.astype(np.float64), y.astype(np.float64)
    terms = np.maximum(z64, 0) - z64 * y64 + np.log1p(np.exp(-np.abs(z64)))
    loss = float(np.sum(w * _per_sample(terms)) / wsum)

    dlogits = (special.expit(logits) - y) * _gradient_scale(w, wsum, logits.ndim, dtype)
    return loss, dlogits.astype(dtype, copy=False)


_REGRESSION_LOSSES = {
    "squared_error": None,
    "absolute_error": None,
    "huber": ("delta", 1.0),
    "poisson": None,
}


def regression_loss(y_pred, y, loss="squared_error", sample_weight=None, **params):
    """A regression loss and its gradient with respect to ``y_pred``.

    See :func:`fastmlp.kernels.regression_loss`; this is the NumPy twin.

    Parameters
    ----------
    y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Predictions, float32 or float64 (for ``"poisson"`` the raw
        log-link prediction, the log of the mean).
    y : ndarray of the shape of ``y_pred``
        Targets, floats of the dtype of ``y_pred`` or integers (converted).
    loss : {"squared_error", "absolute_error", "huber", "poisson"}
        Which loss.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative finite weights with a positive sum.
    **params
        ``delta`` for ``"huber"`` (> 0, default 1.0).

    Returns
    -------
    loss : float
        Weighted mean over samples of the per-sample loss.
    grad : ndarray of the shape of ``y_pred``
        Gradient of ``loss`` with respect to ``y_pred``.
    """
    if not isinstance(loss, str) or loss not in _REGRESSION_LOSSES:
        raise ValueError(f"loss must be one of {sorted(_REGRESSION_LOSSES)}, got {loss!r}")
    spec = _REGRESSION_LOSSES[loss]
    extra = set(params) - ({spec[0]} if spec else set())
    if extra:
        raise TypeError(f"loss {loss!r} got unexpected parameter(s) {sorted(extra)}")
    delta = 1.0
    if spec is not None:
        value = params.get(spec[0], spec[1])
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"{spec[0]} must be a real number, got {value!r}")
        delta = float(value)
        if not math.isfinite(delta):
            raise ValueError(f"{spec[0]} must be finite, got {delta}")
        if not delta > 0:
            raise ValueError(f"{spec[0]} must be > 0, got {delta}")
    dtype = _predictions(y_pred, "y_pred")
    y = _targets(y, y_pred.shape, dtype, "y", False)
    if loss == "poisson" and (y < 0).any():
        raise ValueError(f"y must be non-negative for the poisson loss, got a minimum of {y.min()}")
    m = y_pred.shape[0]
    w, wsum = _weights(_sample_weight(sample_weight, m, dtype), m)
    scale = _gradient_scale(w, wsum, y_pred.ndim, dtype)

    p64, y64 = y_pred.astype(np.float64), y.astype(np.float64)
    r64 = p64 - y64
    r = y_pred - y
    if loss == "squared_error":
        terms, grad = 0.5 * r64**2, r
    elif loss == "absolute_error":
        terms, grad = np.abs(r64), np.sign(r)
    elif loss == "huber":
        small = np.abs(r64) <= delta
        terms = np.where(small, 0.5 * r64**2, delta * (np.abs(r64) - 0.5 * delta))
        grad = np.where(np.abs(r) <= delta, r, dtype.type(delta) * np.sign(r))
    else:  # poisson: half deviance, exp(p) - y p + y log y - y, p = log(mean)
        terms = np.exp(p64) - y64 * p64 + special.xlogy(y64, y64) - y64
        grad = np.exp(y_pred) - y
    value = float(np.sum(w * _per_sample(terms)) / wsum)
    return value, (grad * scale).astype(dtype, copy=False)


def squared_error(y_pred, y, sample_weight=None):
    """Half squared error ``0.5 * (y_pred - y)**2`` and its gradient.

    Parameters
    ----------
    y_pred, y : ndarray
        Predictions and targets; see :func:`regression_loss`.
    sample_weight : array-like of shape (n_samples,), optional
        Sample weights; see :func:`regression_loss`.

    Returns
    -------
    loss : float
        Weighted mean over samples of the per-sample loss.
    grad : ndarray of the shape of ``y_pred``
        Gradient of ``loss`` with respect to ``y_pred``.
    """
    return regression_loss(y_pred, y, "squared_error", sample_weight)


def absolute_error(y_pred, y, sample_weight=None):
    """Absolute error ``|y_pred - y|`` and its (sub)gradient ``sign(y_pred - y)``.

    Parameters
    ----------
    y_pred, y : ndarray
        Predictions and targets; see :func:`regression_loss`.
    sample_weight : array-like of shape (n_samples,), optional
        Sample weights; see :func:`regression_loss`.

    Returns
    -------
    loss : float
        Weighted mean over samples of the per-sample loss.
    grad : ndarray of the shape of ``y_pred``
        Gradient of ``loss`` with respect to ``y_pred``.
    """
    return regression_loss(y_pred, y, "absolute_error", sample_weight)


def huber(y_pred, y, sample_weight=None, *, delta=1.0):
    """Huber loss (quadratic within ``delta``, linear beyond) and its gradient.

    Parameters
    ----------
    y_pred, y : ndarray
        Predictions and targets; see :func:`regression_loss`.
    sample_weight : array-like of shape (n_samples,), optional
        Sample weights; see :func:`regression_loss`.
    delta : float, default=1.0
        Where the loss turns from quadratic to linear; > 0.

    Returns
    -------
    loss : float
        Weighted mean over samples of the per-sample loss.
    grad : ndarray of the shape of ``y_pred``
        Gradient of ``loss`` with respect to ``y_pred``.
    """
    return regression_loss(y_pred, y, "huber", sample_weight, delta=delta)


def poisson(y_pred, y, sample_weight=None):
    """Half Poisson deviance with log link, and its gradient.

    Parameters
    ----------
    y_pred : ndarray
        Raw prediction, the log of the predicted mean.
    y : ndarray
        Targets, ``y >= 0``; see :func:`regression_loss`.
    sample_weight : array-like of shape (n_samples,), optional
        Sample weights; see :func:`regression_loss`.

    Returns
    -------
    loss : float
        Weighted mean over samples of the per-sample loss.
    grad : ndarray of the shape of ``y_pred``
        Gradient of ``loss`` with respect to ``y_pred``.
    """
    return regression_loss(y_pred, y, "poisson", sample_weight)


# ---------------------------------------------------------------------------
# Optimizer steps (in place), scikit-learn's expressions verbatim
# ---------------------------------------------------------------------------

def _check_state(arr, dtype, shape, name):
    _check_float(arr, name, dtype)
    if arr.shape != shape:
        raise ValueError(f"{name} must have the shape of param {shape}, got {arr.shape}")
    if not arr.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (it is updated in place)")
    if not arr.flags.writeable:
        raise ValueError(f"{name} must be writeable (it is updated in place)")


def _check_grad(grad, dtype, shape):
    _check_float(grad, "grad", dtype)
    if grad.shape != shape:
        raise ValueError(f"grad must have the shape of param {shape}, got {grad.shape}")


def _check_disjoint(arrays, names):
    for i in range(len(arrays)):
        for j in range(i + 1, len(arrays)):
            if np.may_share_memory(arrays[i], arrays[j]):
                raise ValueError(f"{names[i]} and {names[j]} must not overlap")


def _real(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def sgd_step(param, grad, velocity, *, learning_rate, momentum=0.9, nesterov=True):
    """One step of SGD with momentum, in place (scikit-learn's SGDOptimizer).

    Parameters
    ----------
    param : ndarray
        Parameters, float32 or float64, C-contiguous and writeable; updated.
    grad : ndarray of the shape and dtype of ``param``
        Gradient of the loss.
    velocity : ndarray of the shape and dtype of ``param``
        Momentum buffer (zeros before the first step); updated.
    learning_rate : float
        Step size, > 0.
    momentum : float, default=0.9
        In [0, 1].
    nesterov : bool, default=True
        Nesterov's momentum.
    """
    dtype = _check_float(param, "param")
    _check_state(param, dtype, param.shape, "param")
    _check_state(velocity, dtype, param.shape, "velocity")
    _check_disjoint([param, velocity], ["param", "velocity"])
    _check_grad(grad, dtype, param.shape)
    lr, momentum = _real(learning_rate, "learning_rate"), _real(momentum, "momentum")
    check_optimizer_hyper(learning_rate=lr, momentum=momentum)
    # Python floats times arrays: NumPy rounds the scalar to the array dtype.
    velocity[...] = momentum * velocity - lr * grad
    param += momentum * velocity - lr * grad if nesterov else velocity


def adam_step(param, grad, m, v, *, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
              epsilon=1e-8):
    """One Adam step, in place (scikit-learn's AdamOptimizer).

    Parameters
    ----------
    param : ndarray
        Parameters, float32 or float64, C-contiguous and writeable; updated.
    grad : ndarray of the shape and dtype of ``param``
        Gradient of the loss.
    m, v : ndarray of the shape and dtype of ``param``
        First and second moment estimates (zeros before the first step);
        updated.
    t : int
        Step number, counted from 1.
    learning_rate : float, default=0.001
        > 0.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        > 0, added to ``sqrt(v)``.
    """
    dtype = _check_float(param, "param")
    _check_state(param, dtype, param.shape, "param")
    _check_state(m, dtype, param.shape, "m")
    _check_state(v, dtype, param.shape, "v")
    _check_disjoint([param, m, v], ["param", "m", "v"])
    _check_grad(grad, dtype, param.shape)
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Integral):
        raise TypeError(f"t must be an integer (the step number), got {t!r}")
    if t < 1:
        raise ValueError(f"t must be >= 1 (the step number, counted from 1), got {t}")
    t = int(t)
    lr = _real(learning_rate, "learning_rate")
    beta_1, beta_2 = _real(beta_1, "beta_1"), _real(beta_2, "beta_2")
    epsilon = _real(epsilon, "epsilon")
    check_optimizer_hyper(learning_rate=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    m[...] = beta_1 * m + (1 - beta_1) * grad
    v[...] = beta_2 * v + (1 - beta_2) * grad**2
    # A NumPy float64 scalar (np.sqrt of a Python float), as in scikit-learn:
    # for float32 arrays the update below is computed in float64.
    lr_t = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    param += -lr_t * m / (np.sqrt(v) + epsilon)


# ---------------------------------------------------------------------------
# GEMM and the dense layer
# ---------------------------------------------------------------------------

# bfloat16 products: the arithmetic of the C tiers (csrc/bf16.h), operation
# by operation. A bf16 x bf16 product has 16 significant bits, so it and its
# sum with a float32 are computed exactly in float64 and rounded once to
# float32 (double rounding through float64 is harmless for a sum of two
# 24-bit numbers: 53 >= 2 * 24 + 2), which is the float32 fused multiply-add.
_FLT_MIN = np.float32(np.finfo(np.float32).tiny)


def _bfloat16_bits(x):
    """float32 array -> uint16 bfloat16 bits: ties to even, denormals to a
    signed zero, NaN quieted (csrc/bf16.h's fm_bf16_from_f32)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    rounded = np.where((u & 0x7FFFFFFF) > 0x7F800000, (u >> 16) | 0x40, rounded)
    rounded = np.where((u & 0x7F800000) == 0, (u >> 16) & 0x8000, rounded)
    return rounded.astype(np.uint16)


def _round_bfloat16(x):
    """x rounded to bfloat16 (see _bfloat16_bits), as float32 values."""
    return (_bfloat16_bits(x).astype(np.uint32) << 16).view(np.float32)


def _flush(x):
    """float32 denormals to a zero of their sign (the hardware's FTZ)."""
    return np.where(np.abs(x) < _FLT_MIN, np.copysign(np.float32(0), x), x).astype(np.float32)


def _fma(a, b, c):
    """Flushed float32 fma of float64 columns a (m, 1), rows b (1, n), float32 c."""
    return _flush((a * b + c.astype(np.float64)).astype(np.float32))


def _round_odd(s, t):
    """float32 round to odd (Arm's BFRound) of the exact sums s + t (float64
    arrays, s the nearest double, t its error): below 2^-126 a zero of its
    sign, from 2^128 a signed infinity, else the 24-bit truncation with its
    last bit set when inexact. Round to odd at 53 bits first (s truncated
    toward zero when t points inward, last bit set), which keeps the
    inexactness, so rounding that to odd at 24 bits is exact."""
    u = s.view(np.uint64).copy()
    inexact = t != 0
    inward = inexact & ((t < 0) != (s < 0))
    u = np.where(inward, u - np.uint64(1), u)
    u = np.where(inexact, u | np.uint64(1), u)
    sign = (u >> np.uint64(32)) & np.uint64(0x80000000)
    e = ((u >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64) - 1023
    frac = u & np.uint64((1 << 52) - 1)
    m = (frac >> np.uint64(29)) | ((frac & np.uint64((1 << 29) - 1)) != 0).astype(np.uint64)
    normal = sign | ((np.clip(e, -126, 127) + 127).astype(np.uint64) << np.uint64(23)) | m
    bits = np.where(e < -126, sign, np.where(e >= 128, sign | np.uint64(0x7F800000), normal))
    bits = np.where(s == 0, np.uint64(0), bits)  # exact zero sums (signs: _bf_add)
    return bits.astype(np.uint32).view(np.float32)


def _bf_add(x, y):
    """Arm's BFAdd of float32 arrays (no denormals): x + y rounded to odd,
    flushed; an exact zero +0 unless both are -0; infinities as IEEE; NaN
    left to the caller (made the default NaN once, at the end)."""
    dx, dy = x.astype(np.float64), y.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        s = dx + dy
        yy = s - dx
        t = (dx - (s - yy)) + (dy - yy)  # TwoSum: s + t == x + y exactly
        finite = np.isfinite(s)
        r = _round_odd(np.where(finite, s, 1.0), np.where(finite, t, 0.0))
        r = np.where(finite, r, s.astype(np.float32))  # inf, -inf, NaN as IEEE
    both_neg_zero = (x == 0) & (y == 0) & np.signbit(x) & np.signbit(y)
    return np.where(both_neg_zero, np.float32(-0.0), r).astype(np.float32)


def _bf_mul(a, b):
    """Arm's BFMul of bf16 values (float64 columns a (m, 1), rows b (1, n)):
    the exact product, flushed below 2^-126, infinite from 2^128."""
    with np.errstate(invalid="ignore", over="ignore"):
        p = a * b
        finite = np.isfinite(p) & (p != 0)
        r = _round_odd(np.where(finite, p, 1.0), np.zeros_like(p))
        return np.where(finite, r, p.astype(np.float32)).astype(np.float32)


def _bf16_product(op_a, op_b, order="amx"):
    """op_a (m, k) @ op_b (k, n) with bf16 operands, in a tier's order.

    ``order="amx"`` (TDPBF16PS, and the emulated tier): per chunk of 32 K
    values (K padded with zeros), two chains from +0 over the chunk's even
    and odd K, then ``c = c + (even + odd)``. ``order="avx512_bf16"``
    (VDPBF16PS): one chain over the K pairs, the odd K of a pair first.
    ``order="bfmmla"`` (Arm's BFMMLA, and the bfmmla_emulated tier): one
    chain over the K pairs (padded to 32), ``c = c + (a0 b0 + a1 b1)``,
    each sum rounded to odd, results below 2^-126 flushed, NaN the default
    NaN (csrc/kernels/gemm_bf16_bfmmla_emulated.c).
    """
    m, k = op_a.shape
    n = op_b.shape[1]
    kp = -(-k // 32) * 32
    a = np.zeros((m, kp), np.float64)
    b = np.zeros((kp, n), np.float64)
    a[:, :k] = _round_bfloat16(op_a)
    b[:k] = _round_bfloat16(op_b)
    c = np.zeros((m, n), np.float32)
    for q in range(0, kp, 32):
        if order == "amx":
            even = np.zeros((m, n), np.float32)
            odd = np.zeros((m, n), np.float32)
            for p in range(q, q + 32, 2):
                even = _fma(a[:, p, None], b[None, p], even)
                odd = _fma(a[:, p + 1, None], b[None, p + 1], odd)
            c = _flush(c + _flush(even + odd))
        elif order == "avx512_bf16":
            for p in range(q, q + 32, 2):
                c = _fma(a[:, p + 1, None], b[None, p + 1], c)
                c = _fma(a[:, p, None], b[None, p], c)
        elif order == "bfmmla":
            for p in range(q, q + 32, 2):
                prod = _bf_add(_bf_mul(a[:, p, None], b[None, p]),
                               _bf_mul(a[:, p + 1, None], b[None, p + 1]))
                c = _bf_add(c, prod)
        else:
            raise ValueError(f"unknown bf16 order {order!r}")
    if order == "bfmmla":  # every NaN the default NaN, 0x7fc00000
        c = np.where(np.isnan(c), np.uint32(0x7FC00000).view(np.float32), c)
    return c


def _compute_bf16(compute_dtype, dtype):
    """True for compute_dtype "bfloat16" (float32 arrays), as the binding."""
    if compute_dtype is None:
        return False
    if compute_dtype in ("bfloat16", "bf16"):
        if dtype != np.float32:
            raise TypeError(f"compute_dtype='bfloat16' takes float32 arrays, got {dtype}")
        return True
    if isinstance(compute_dtype, str) and compute_dtype == np.dtype(dtype).name:
        return False
    raise ValueError(f"compute_dtype must be None, 'bfloat16' or the arrays' dtype "
                     f"({np.dtype(dtype).name}), got {compute_dtype!r}")


def gemm(a, b, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None,
         compute_dtype=None):
    """General matrix product ``alpha * op(a) @ op(b) + beta * out``.

    See :func:`fastmlp.kernels.gemm`; this is the NumPy twin.

    Parameters
    ----------
    a, b : ndarray
        float32 or float64 matrices of the same dtype.
    trans_a, trans_b : bool, default=False
        Use the transpose of ``a`` / ``b``.
    alpha, beta : float, default=1.0, 0.0
        Scale factors; ``beta`` applies to ``out``'s content, if given.
    out : ndarray, optional
        Where to write the result.
    compute_dtype : {None, "bfloat16"}, default=None
        ``"bfloat16"`` (float32 arrays): the product of the operands rounded
        to bfloat16, summed in float32 in the emulated (and AMX) tier's order,
        bit for bit; the scaling and ``out`` in float32.

    Returns
    -------
    out : ndarray of shape (m, n)
        The result, in ``out`` if given.
    """
    dtype = _check_float(a, "a")
    _check_float(b, "b", dtype)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"a and b must be 2-dimensional, got shapes {a.shape} and {b.shape}")
    op_a = a.T if trans_a else a
    op_b = b.T if trans_b else b
    if op_a.shape[1] != op_b.shape[0]:
        raise ValueError(f"op(a) has {op_a.shape[1]} columns but op(b) has {op_b.shape[0]} rows")
    alpha = _real(alpha, "alpha")
    beta = _real(beta, "beta")
    bf16 = _compute_bf16(compute_dtype, dtype)
    if bf16 and op_a.shape[1] > 0 and alpha != 0:
        product = _bf16_product(op_a, op_b)
    else:
        product = op_a @ op_b
    result = dtype.type(alpha) * product
    if out is not None and beta != 0:
        result = result + dtype.type(beta) * out
    return _write_out(result.astype(dtype, copy=False), out)


# dense() has a parameter called `activation`, which hides the function.
_activation = activation


def dense(x, w, b, activation="identity", *, out=None, compute_dtype=None, **params):
    """Dense layer ``activation(x @ w + b)``.

    See :func:`fastmlp.kernels.dense`; this is the NumPy twin (unfused).

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_in)
        Inputs.
    w : ndarray of shape (n_in, n_out)
        Weights.
    b : ndarray of shape (n_out,) or None
        Bias.
    activation : str, default="identity"
        The activation's name.
    out : ndarray of shape (n_samples, n_out), optional
        Where to write the result.
    compute_dtype : {None, "bfloat16"}, default=None
        As for :func:`gemm`; the bias and activation in float32.
    **params
        The activation's parameter.

    Returns
    -------
    out : ndarray of shape (n_samples, n_out)
        ``activation(x @ w + b)``, in ``out`` if given.
    """
    if _parse_activation(activation, params, "activation")[0] == "maxout":
        raise ValueError("dense() has no maxout output stage (maxout narrows the output): "
                         "compute dense(x, w, b) and then activation(z, 'maxout', pieces=k)")
    dtype = _check_float(x, "x")
    _check_float(w, "w", dtype)
    bf16 = _compute_bf16(compute_dtype, dtype)
    if x.ndim != 2 or w.ndim != 2:
        raise ValueError(f"x and w must be 2-dimensional, got shapes {x.shape} and {w.shape}")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"x has {x.shape[1]} features (columns) but w has {w.shape[0]} rows")
    z = _bf16_product(x, w) if bf16 and x.shape[1] > 0 else x @ w
    if b is not None:
        _check_float(b, "b", dtype)
        if b.shape != (w.shape[1],):
            raise ValueError(f"b must have shape ({w.shape[1]},) to match w, got {b.shape}")
        z = z + b
    return _write_out(_activation(z, activation, **params), out)



# --- the torch.optim rules, in the arrays' dtype ("plain" arithmetic) ---------
#
# Python floats meeting an array are rounded to its dtype (NEP 50) and every
# operation stays in that dtype, as the C bodies (csrc/ops/optimizers_tmpl.h) do,
# in the same order: the step constants in double, rounded once. Subnormals
# are flushed to zero (_Flushed), as the C plain steps run.

def _flush(x):
    """x with its subnormal values replaced by zeros of their sign."""
    x = np.asarray(x)
    return np.where(np.abs(x) < np.finfo(x.dtype).tiny, np.copysign(np.zeros_like(x), x), x)


class _Flushed(np.lib.mixins.NDArrayOperatorsMixin):
    """An array whose every operation flushes subnormal inputs and results
    to zero, as the C plain steps run (x86 DAZ + FTZ; csrc/internal.h).

    Equal to the hardware except for exact results within half a subnormal
    ulp below the smallest normal, which x86 flushes (it detects tininess
    after rounding) and this rounds up to it.
    """

    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        args = [_flush(x.a) if isinstance(x, _Flushed) else x for x in inputs]
        return _Flushed(_flush(getattr(ufunc, method)(*args, **kwargs)))

    def __setitem__(self, key, value):
        self.a[key] = value.a if isinstance(value, _Flushed) else value


def _check_step(param, grad, states, t=None, **hyper):
    """The shared checks of the steps below; returns t as an int (or None)."""
    dtype = _check_float(param, "param")
    _check_state(param, dtype, param.shape, "param")
    for name, arr in states.items():
        _check_state(arr, dtype, param.shape, name)
    _check_disjoint([param, *states.values()], ["param", *states])
    _check_grad(grad, dtype, param.shape)
    check_optimizer_hyper(**{k: _real(v, k) for k, v in hyper.items()})
    if t is not None:
        if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Integral):
            raise TypeError(f"t must be an integer (the step number), got {t!r}")
        if t < 1:
            raise ValueError(f"t must be >= 1 (the step number, counted from 1), got {t}")
        t = int(t)
    return t


def _decayed(param, learning_rate, weight_decay):
    """param * (1 - lr * weight_decay), the decoupled decay (or param)."""
    return param * (1.0 - learning_rate * weight_decay) if weight_decay > 0 else param


def rmsprop_step(param, grad, square_avg, *, learning_rate=0.001, rho=0.99, epsilon=1e-8,
                 weight_decay=0.0):
    """One RMSprop step, in place (torch.optim.RMSprop, no momentum).

    Per element::

        square_avg = rho * square_avg + (1 - rho) * grad**2
        param = param * (1 - learning_rate * weight_decay)   # if weight_decay > 0
        param += -learning_rate * (grad / (sqrt(square_avg) + epsilon))

    Subnormal numbers are flushed to zero, inputs and results of every
    operation, as :func:`fastmlp.kernels.rmsprop_step` runs.

    Parameters
    ----------
    param : ndarray
        Parameters, float32 or float64, C-contiguous and writeable; updated.
    grad : ndarray of the shape and dtype of ``param``
        Gradient of the loss.
    square_avg : ndarray of the shape and dtype of ``param``
        Mean square of the gradients (zeros before the first step); updated.
    learning_rate : float, default=0.001
        > 0.
    rho : float, default=0.99
        Decay of the mean square, in [0, 1).
    epsilon : float, default=1e-8
        > 0.
    weight_decay : float, default=0.0
        Decoupled weight decay, >= 0.
    """
    _check_step(param, grad, {"square_avg": square_avg}, learning_rate=learning_rate,
                rho=rho, epsilon=epsilon, weight_decay=weight_decay)
    p, g, s = _Flushed(param), _Flushed(grad), _Flushed(square_avg)
    s[...] = rho * s + (1 - rho) * (g * g)
    param[...] = (_decayed(p, learning_rate, weight_decay) + (-learning_rate) * (
        g / (np.sqrt(s) + epsilon))).a


def adagrad_step(param, grad, state_sum, *, learning_rate=0.001, epsilon=1e-8,
                 weight_decay=0.0):
    """One AdaGrad step, in place (torch.optim.Adagrad, lr_decay=0).

    Per element::

        state_sum = state_sum + grad**2
        param = param * (1 - learning_rate * weight_decay)   # if weight_decay > 0
        param += -learning_rate * (grad / (sqrt(state_sum) + epsilon))

    Subnormal numbers are flushed to zero, inputs and results of every
    operation, as :func:`fastmlp.kernels.adagrad_step` runs.

    Parameters
    ----------
    param : ndarray
        Parameters, float32 or float64, C-contiguous and writeable; updated.
    grad : ndarray of the shape and dtype of ``param``
        Gradient of the loss.
    state_sum : ndarray of the shape and dtype of ``param``
        Sum of the squared gradients (its initial accumulator value before
        the first step); updated.
    learning_rate : float, default=0.001
        > 0.
    epsilon : float, default=1e-8
        > 0.
    weight_decay : float, default=0.0
        Decoupled weight decay, >= 0.
    """
    _check_step(param, grad, {"state_sum": state_sum}, learning_rate=learning_rate,
                epsilon=epsilon, weight_decay=weight_decay)
    p, g, s = _Flushed(param), _Flushed(grad), _Flushed(state_sum)
    s[...] = s + g * g
    param[...] = (_decayed(p, learning_rate, weight_decay) + (-learning_rate) * (
        g / (np.sqrt(s) + epsilon))).a


def _moments(grad, m, v, beta_1, beta_2):
    m[...] = beta_1 * m + (1 - beta_1) * grad
    v[...] = beta_2 * v + (1 - beta_2) * (grad * grad)


def adamw_step(param, grad, m, v, *, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
               epsilon=1e-8, weight_decay=0.01):
    """One AdamW step, in place (torch.optim.AdamW).

    Per element::

        param = param * (1 - learning_rate * weight_decay)   # if weight_decay > 0
        m = beta_1 * m + (1 - beta_1) * grad
        v = beta_2 * v + (1 - beta_2) * grad**2
        param += -(learning_rate / (1 - beta_1**t))
                 * (m / (sqrt(v) / sqrt(1 - beta_2**t) + epsilon))

    Subnormal numbers are flushed to zero, inputs and results of every
    operation, as :func:`fastmlp.kernels.adamw_step` runs.

    Parameters
    ----------
    param : ndarray
        Parameters, float32 or float64, C-contiguous and writeable; updated.
    grad : ndarray of the shape and dtype of ``param``
        Gradient of the loss.
    m, v : ndarray of the shape and dtype of ``param``
        First and second moment estimates (zeros before the first step);
        updated.
    t : int
        Step number, counted from 1.
    learning_rate : float, default=0.001
        > 0.
    beta_1, beta_2 : float, default=0.9, 0.999
        In [0, 1).
    epsilon : float, default=1e-8
        > 0.
    weight_decay : float, default=0.01
        Decoupled weight decay, >= 0.
    """
    t = _check_step(param, grad, {"m": m, "v": v}, t=t, learning_rate=learning_rate,
                    beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, weight_decay=weight_decay)
    p, g, m, v = _Flushed(param), _Flushed(grad), _Flushed(m), _Flushed(v)
    _moments(g, m, v, beta_1, beta_2)
    step = -(learning_rate / (1.0 - beta_1 ** t))
    bc2 = math.sqrt(1.0 - beta_2 ** t)
    param[...] = (_decayed(p, learning_rate, weight_decay) + step * (
        m / (np.sqrt(v) / bc2 + epsilon))).a


def nadam_step(param, grad, m, v, *, t, mu_product, learning_rate=0.001, beta_1=0.9,
               beta_2=0.999, epsilon=1e-8, momentum_decay=0.004, weight_decay=0.0):
    """One NAdam step, in place (torch.optim.NAdam, decoupled weight decay).

    Per element::

        mu_t = beta_1 * (1 - 0.5 * 0.96**(t * momentum_decay))
        mu_product = mu_product * mu_t
        param = param * (1 - learning_rate * weight_decay)   # if weight_decay > 0
        m, v as Adam's
        d = sqrt(v / (1 - beta_2**t)) + epsilon
        param += (-learning_rate * (1 - mu_t) / (1 - mu_product)) * (grad / d)
        param += (-learning_rate * mu_{t+1} / (1 - mu_product * mu_{t+1})) * (m / d)

    Subnormal numbers are flushed to zero, inputs and results of every
    operation, as :func:`fastmlp.kernels.nadam_step` runs.

    Parameters
    ----------
    param : ndarray
        Parameters, float32 or float64, C-contiguous and writeable; updated.
    grad : ndarray of the shape and dtype of ``param``
        Gradient of the loss.
    m, v : ndarray of the shape and dtype of ``param``
        First and second moment estimates (zeros before the first step);
        updated.
    t : int
        Step number, counted from 1.
    mu_product : float
        ``mu_1 * ... * mu_{t-1}`` (1.0 before the first step).
    learning_rate : float, default=0.001
        > 0.
    beta_1, beta_2 : float, default=0.9, 0.999
        In [0, 1).
    epsilon : float, default=1e-8
        > 0.
    momentum_decay : float, default=0.004
        >= 0.
    weight_decay : float, default=0.0
        Decoupled weight decay, >= 0.

    Returns
    -------
    mu_product : float
        ``mu_1 * ... * mu_t``, for the next step.
    """
    t = _check_step(param, grad, {"m": m, "v": v}, t=t, learning_rate=learning_rate,
                    beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                    momentum_decay=momentum_decay, weight_decay=weight_decay)
    mu_product = _real(mu_product, "mu_product")
    mu = beta_1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta_1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    mu_product = mu_product * mu
    g, m, v = _Flushed(grad), _Flushed(m), _Flushed(v)
    _moments(g, m, v, beta_1, beta_2)
    coef_g = (-learning_rate * (1.0 - mu)) / (1.0 - mu_product)
    coef_m = (-learning_rate * mu_next) / (1.0 - mu_product * mu_next)
    d = np.sqrt(v / (1.0 - beta_2 ** t)) + epsilon
    p = _decayed(_Flushed(param), learning_rate, weight_decay) + coef_g * (g / d)
    param[...] = (p + coef_m * (m / d)).a
    return mu_product


# --- one step of an optimizer object (fastmlp.optimizers), Keras's forms -------

def _squares_in_lanes(x):
    """sum(x**2) in double as the C step sums it: eight interleaved partial
    sums, each in order, combined ((0+4)+(2+6))+((1+5)+(3+7))."""
    sq = np.square(np.ravel(x).astype(np.float64))
    sq = np.concatenate([sq, np.zeros(-sq.size % 8)]).reshape(-1, 8)
    lanes = np.zeros(8)
    for row in sq:  # in order, as the C loop adds them
        lanes += row
    return float(((lanes[0] + lanes[4]) + (lanes[2] + lanes[6]))
                 + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7])))


def _keras_clipped(grad, optimizer):
    """Keras's per-variable clipping of one gradient (clip_by_norm: g *
    clipnorm / max(norm, clipnorm), the norm's square summed in double as the
    C step does; or clip(g, -clipvalue, clipvalue))."""
    clipnorm = getattr(optimizer, "clipnorm", None)
    clipvalue = getattr(optimizer, "clipvalue", None)
    if clipnorm:
        norm = math.sqrt(_squares_in_lanes(grad))
        grad = grad * (clipnorm / max(norm, clipnorm))
    if clipvalue:
        grad = np.clip(grad, -clipvalue, clipvalue)
    return np.ascontiguousarray(grad)


def keras_global_clip(grads, global_clipnorm):
    """Keras's ``global_clipnorm``: every gradient scaled by one factor.

    ``scale = global_clipnorm * min(1 / norm, 1 / global_clipnorm)`` with
    ``norm`` the Euclidean norm of all the gradients together (Keras's
    ``clip_by_global_norm``; NaN when the norm is not finite). The training
    engine's form of this is its ``fm_grad_finish.scale`` (csrc/internal.h).

    Parameters
    ----------
    grads : list of ndarray
        One gradient per variable, float32 or float64.
    global_clipnorm : float
        > 0.

    Returns
    -------
    list of ndarray
        The scaled gradients, in their dtypes.
    """
    if not (isinstance(global_clipnorm, numbers.Real) and global_clipnorm > 0):
        raise ValueError(f"global_clipnorm must be > 0, got {global_clipnorm!r}")
    norm = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads))
    scale = global_clipnorm * min(1.0 / norm, 1.0 / global_clipnorm) if norm > 0 else 1.0
    if not math.isfinite(norm):
        scale = math.nan
    return [(g * scale).astype(g.dtype) for g in grads]


def _keras_moment(s, x, beta):
    """Keras's moment update, s + (x - s) * (1 - beta), 1 - beta rounded once."""
    return s + (x - s) * (1.0 - beta)


def optimizer_step(param, grad, optimizer):
    """One step of an optimizer object, in place; advances its ``t``.

    The twin of :func:`fastmlp.kernels.optimizer_step`. ``optimizer`` is a
    :mod:`fastmlp.optimizers` object (``kind``, hyper-parameters,
    ``arithmetic``, ``t``, ``state``, NAdam's ``mu_product``). Its scikit-learn
    and plain forms are :func:`sgd_step`, :func:`adam_step` and the torch
    rules above; ``arithmetic='keras'`` is Keras 3's form of each rule
    (``keras/src/optimizers/*.py``; :mod:`fastmlp.optimizers`), in the arrays'
    dtype with subnormals flushed, after Keras's per-variable clipping
    (``clipnorm`` or ``clipvalue``) and the decoupled decay::

        m = m + (g - m) * (1 - beta_1);  v = v + (g**2 - v) * (1 - beta_2)
        Adam, AdamW: param += (-lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m)
                              / (sqrt(v) + epsilon)
        RMSprop:     s = rho * s + (1 - rho) * g**2;  param += (-lr * g) / sqrt(s + epsilon)
        Adagrad:     s = s + g**2;  param += (-lr * g) / sqrt(s + epsilon)
        Nadam:       param += (coef_m * m + coef_g * g) / (sqrt(v / (1 - beta_2**t)) + epsilon)
        SGD:         the plain rule; without momentum param -= g * lr (no velocity)

    Parameters
    ----------
    param : ndarray
        Parameters, float32 or float64, C-contiguous and writeable; updated.
    grad : ndarray of the shape and dtype of ``param``
        Gradient of the loss.
    optimizer : fastmlp.optimizers.BaseOptimizer
        Its state arrays have ``param``'s shape and dtype; they, ``t`` and
        ``mu_product`` are updated.
    """
    kind, arithmetic = optimizer.kind, getattr(optimizer, "arithmetic", "sklearn")
    state = list(optimizer.state)
    lr = float(optimizer.learning_rate)
    wd = float(getattr(optimizer, "weight_decay", 0.0))
    t = optimizer.t + 1
    if arithmetic != "keras":
        if kind == "sgd":
            sgd_step(param, grad, state[0], learning_rate=lr, momentum=optimizer.momentum,
                     nesterov=optimizer.nesterov)
        elif kind == "adam":
            adam_step(param, grad, *state, t=t, learning_rate=lr, beta_1=optimizer.beta_1,
                      beta_2=optimizer.beta_2, epsilon=optimizer.epsilon)
        elif kind == "rmsprop":
            rmsprop_step(param, grad, *state, learning_rate=lr, rho=optimizer.rho,
                         epsilon=optimizer.epsilon, weight_decay=wd)
        elif kind == "adagrad":
            adagrad_step(param, grad, *state, learning_rate=lr, epsilon=optimizer.epsilon,
                         weight_decay=wd)
        elif kind == "adamw":
            adamw_step(param, grad, *state, t=t, learning_rate=lr, beta_1=optimizer.beta_1,
                       beta_2=optimizer.beta_2, epsilon=optimizer.epsilon, weight_decay=wd)
        elif kind == "nadam":
            optimizer.mu_product = nadam_step(
                param, grad, *state, t=t, mu_product=optimizer.mu_product, learning_rate=lr,
                beta_1=optimizer.beta_1, beta_2=optimizer.beta_2, epsilon=optimizer.epsilon,
                momentum_decay=optimizer.momentum_decay, weight_decay=wd)
        else:
            raise ValueError(f"unknown optimizer kind {kind!r}")
        optimizer.t = t
        return
    _check_step(param, grad, {f"state[{k}]": a for k, a in enumerate(state)},
                learning_rate=lr, weight_decay=wd)
    g = _Flushed(_keras_clipped(grad, optimizer).astype(param.dtype))
    p = _decayed(_Flushed(param), lr, wd)
    if kind == "sgd" and optimizer.momentum == 0:
        p = p - g * lr  # Keras keeps no velocity without momentum
    elif kind == "sgd":
        v = _Flushed(state[0])
        mu = optimizer.momentum
        v[...] = mu * v - lr * g
        p = p + (mu * v - lr * g if optimizer.nesterov else v)
    elif kind in ("adam", "adamw"):
        b1, b2 = optimizer.beta_1, optimizer.beta_2
        m, v = _Flushed(state[0]), _Flushed(state[1])
        m[...] = _keras_moment(m, g, b1)
        v[...] = _keras_moment(v, g * g, b2)
        neg_lr_t = -(lr * math.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t))
        p = p + (neg_lr_t * m) / (np.sqrt(v) + optimizer.epsilon)
    elif kind in ("rmsprop", "adagrad"):
        s = _Flushed(state[0])
        if kind == "adagrad":
            s[...] = s + g * g
        else:
            s[...] = optimizer.rho * s + (1 - optimizer.rho) * (g * g)
        p = p + ((-lr) * g) / np.sqrt(s + optimizer.epsilon)
    elif kind == "nadam":
        b1, b2, psi = optimizer.beta_1, optimizer.beta_2, optimizer.momentum_decay
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        optimizer.mu_product = optimizer.mu_product * mu
        prod = optimizer.mu_product
        m, v = _Flushed(state[0]), _Flushed(state[1])
        m[...] = _keras_moment(m, g, b1)
        v[...] = _keras_moment(v, g * g, b2)
        coef_g = (-lr * (1.0 - mu)) / (1.0 - prod)
        coef_m = (-lr * mu_next) / (1.0 - prod * mu_next)
        p = p + (coef_m * m + coef_g * g) / (np.sqrt(v / (1.0 - b2 ** t)) + optimizer.epsilon)
    else:
        raise ValueError(f"unknown optimizer kind {kind!r}")
    param[...] = p.a
    optimizer.t = t


# --- the engine's layer stages (csrc/engine/train_tmpl.h) ---------------------
#
# Each stage of a layer's forward and backward pass (fastmlp.network.Layer)
# has its twin here; network_loss composes them as the engine's loss does.


def batch_norm_forward(x, gamma, beta, running_mean, running_var, *, momentum=0.1,
                       epsilon=1e-5, unbiased=True):
    """Batch normalisation of a minibatch, as the engine trains it.

    Parameters
    ----------
    x : ndarray of shape (n, units)
        The values normalised (a layer's product, or its activation).
    gamma, beta : ndarray of shape (units,)
        Scale and shift.
    running_mean, running_var : ndarray of shape (units,)
        The running statistics before this batch.
    momentum : float, default=0.1
        Weight of the batch's statistics in the running ones.
    epsilon : float, default=1e-5
        Added to the variance.
    unbiased : bool, default=True
        The running variance moves towards the unbiased batch variance
        (PyTorch), else the biased one (Keras).

    Returns
    -------
    y : ndarray of shape (n, units)
        ``gamma * zhat + beta``.
    zhat : ndarray of shape (n, units)
        ``(x - mean) / sqrt(var + epsilon)``, var the biased batch variance.
    inv_std : ndarray of shape (units,)
        ``1 / sqrt(var + epsilon)``.
    new_mean, new_var : ndarray of shape (units,)
        The running statistics after this batch.
    """
    xd = np.asarray(x, dtype=np.float64)
    n = xd.shape[0]
    mean = xd.mean(0)
    var = ((xd - mean) ** 2).mean(0)
    inv_std = 1.0 / np.sqrt(var + epsilon)
    zhat = (xd - mean) * inv_std
    y = gamma * zhat + beta
    moving = var * n / (n - 1) if unbiased and n > 1 else var
    new_mean = (1.0 - momentum) * running_mean + momentum * mean
    new_var = (1.0 - momentum) * running_var + momentum * moving
    return y, zhat, inv_std, new_mean, new_var


def batch_norm_backward(d, zhat, inv_std, gamma):
    """Backward through batch_norm_forward.

    Parameters
    ----------
    d : ndarray of shape (n, units)
        dL/dy.
    zhat, inv_std, gamma : ndarray
        As batch_norm_forward gave and took them.

    Returns
    -------
    dx : ndarray of shape (n, units)
        ``gamma * inv_std / n * (n * d - dbeta - zhat * dgamma)``.
    dgamma, dbeta : ndarray of shape (units,)
        ``sum(d * zhat)``, ``sum(d)`` over rows.
    """
    n = d.shape[0]
    dgamma = (d * zhat).sum(0)
    dbeta = d.sum(0)
    dx = gamma * inv_std / n * (n * d - dbeta - zhat * dgamma)
    return dx, dgamma, dbeta


def dropout_uniforms(seed, size):
    """The engine's dropout draws: splitmix64 from `seed`, in order.

    Each draw is the top 53 bits of the next splitmix64 value as a float in
    [0, 1), row-major over a layer's input, layer after layer.

    Parameters
    ----------
    seed : int
        The epoch's seed (64 bits are used).
    size : int
        How many draws.

    Returns
    -------
    uniforms : ndarray of shape (size,)
        The draws, float64.
    """
    mask64 = (1 << 64) - 1
    state = int(seed) & mask64
    out = np.empty(size)
    for i in range(size):
        state = (state + 0x9E3779B97F4A7C15) & mask64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask64
        z ^= z >> 31
        out[i] = (z >> 11) * 2.0 ** -53
    return out


def dropout_forward(x, rate, uniforms):
    """Inverted dropout of `x` given its uniforms: ``mask = (u >= rate) / (1 - rate)``.

    Parameters
    ----------
    x : ndarray of shape (n, k)
        A layer's input.
    rate : float
        The dropout rate, in [0, 1).
    uniforms : ndarray of shape (n * k,)
        The draws (:func:`dropout_uniforms`), row-major over `x`.

    Returns
    -------
    dropped : ndarray of shape (n, k)
        ``x * mask``.
    mask : ndarray of shape (n, k)
        0 or ``1 / (1 - rate)``, in x's dtype.
    """
    keep = np.asarray(uniforms).reshape(x.shape) >= rate
    mask = (keep / (1.0 - rate)).astype(x.dtype)
    return x * mask, mask


def dropout_backward(d, mask):
    """Backward through :func:`dropout_forward`: ``d * mask``.

    Parameters
    ----------
    d : ndarray of shape (n, k)
        The gradient with respect to the dropped output.
    mask : ndarray of shape (n, k)
        The forward pass's mask.

    Returns
    -------
    ndarray of shape (n, k)
        The gradient with respect to the input.
    """
    return d * mask


def network_loss(network, coefs, intercepts, bn, X, Y, sample_weight=None):
    """The loss the engine's full-batch ``loss_grad`` reports, stage by stage.

    Parameters
    ----------
    network : fastmlp.network.Network
        The description (dropout is not applied: the engine's full batch
        has none). Losses "log_loss", "binary_log_loss" and "squared_error".
    coefs, intercepts : list of ndarray
        The parameters.
    bn : list of ndarray
        4 arrays per batch-normalised layer (gamma, beta, running mean,
        running variance); batch statistics are the whole batch's.
    X, Y : ndarray
        Inputs (n, n_inputs) and targets (n, n_outputs).
    sample_weight : ndarray of shape (n,), default=None
        Weights of the rows (None: all 1).

    Returns
    -------
    loss : float
        The weighted data loss, alpha's penalty / sum(w) and the layers'
        own penalties. With ``network.convention == "keras"``, Keras's
        scale: sum(w * loss) / n, squared error not halved, probabilities
        clipped at 1e-7, binary cross-entropy averaged over the outputs.
    """
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
    a = np.asarray(X, dtype=np.float64)
    bn_layers = network.bn_layers
    last = len(network.layers) - 1
    for i, layer in enumerate(network.layers):
        z = a @ coefs[i] + (intercepts[i] if layer.use_bias else 0.0)
        params = dict(layer.activation_params or {})
        stats = None
        if i in bn_layers:
            k = bn_layers.index(i)
            stats = bn[4 * k:4 * k + 4]
            opts = dict(momentum=layer.bn_momentum, epsilon=layer.bn_epsilon,
                        unbiased=layer.bn_moving_variance == "unbiased")
        if layer.batch_norm == "before":
            z = batch_norm_forward(z, *stats, **opts)[0]
        if i == last:
            a = z
            break
        if layer.activation == "maxout":
            a = _maxout_pieces(z, layer.pieces).max(axis=-1)
        else:
            a = activation(z, layer.activation, **params)
        if layer.batch_norm == "after":
            a = batch_norm_forward(a, *stats, **opts)[0]
    keras = getattr(network, "convention", "sklearn") == "keras"
    eps = 1e-7 if keras else np.finfo(np.asarray(coefs[0]).dtype).eps
    if network.loss == "log_loss":
        p = np.clip(activation(a, "softmax"), eps, 1 - eps)
        rows = -(Y * np.log(p)).sum(1)
    elif network.loss == "binary_log_loss":
        p = np.clip(activation(a, "logistic"), eps, 1 - eps)
        rows = -(Y * np.log(p) + (1 - Y) * np.log(1 - p))
        rows = rows.mean(1) if keras else rows.sum(1)
    elif network.loss == "squared_error":
        p = activation(a, network.layers[-1].activation)
        rows = (1.0 if keras else 0.5) * ((p - Y) ** 2).mean(1)
    else:
        raise ValueError(f"network_loss computes log_loss, binary_log_loss and squared_error, "
                         f"not {network.loss!r}")
    divisor = len(w) if keras else w.sum()
    value = float((w * rows).sum() / divisor)
    return value + network.penalty_value(coefs, intercepts, divisor)
