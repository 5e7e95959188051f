"""The C kernels, with NumPy arrays in and out.

Every function here has a twin of the same name and signature in
:mod:`fastmlp.reference` (plain NumPy); the tests hold one against the other.
All of them release the GIL while they compute.
"""
import math
import numbers
from types import SimpleNamespace

import numpy as np

from fastmlp import _kernels
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
]


def gemm(a, b, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None,
         compute_dtype=None):
    """General matrix product ``alpha * op(a) @ op(b) + beta * out``.

    Parameters
    ----------
    a : ndarray of shape (m, k), or (k, m) if ``trans_a``
        float32 or float64; any memory layout (Fortran order and row-strided
        views are read in place, other layouts are copied once).
    b : ndarray of shape (k, n), or (n, k) if ``trans_b``
        Same dtype as ``a``.
    trans_a, trans_b : bool, default=False
        Use the transpose of ``a`` / ``b``.
    alpha, beta : float, default=1.0, 0.0
        Scale factors, finite real numbers. ``beta`` scales the previous
        content of ``out`` and is ignored when ``out`` is None; ``beta=0``
        never reads ``out``.
    out : ndarray of shape (m, n), optional
        C-contiguous, writeable, same dtype, not overlapping the inputs.
    compute_dtype : {None, "bfloat16"}, default=None
        ``None`` (or the arrays' dtype name) computes in the arrays' dtype.
        ``"bfloat16"`` (float32 arrays only) rounds ``op(a)`` and ``op(b)`` to
        bfloat16 (ties to even, denormals to zero) while packing them,
        multiplies them exactly and sums the products in float32, on the
        fastest tier this machine has (``show_config()``): AMX tiles,
        AVX512_BF16, Arm's BFMMLA or an emulation in float32 vector code. The
        AMX and emulated tiers give the same bits, those of
        :func:`fastmlp.reference.gemm`: per 32 values of k, two float32 chains
        of fused multiply-adds over the even and the odd k, then
        ``c + (even + odd)``, denormal results flushed to zero. The AVX512_BF16
        tier sums in its own order (one chain over pairs of k) and differs in
        the last bits; so does the BFMMLA tier (one chain over pairs of k, each
        sum rounded to odd; ``FASTMLP_BF16=bfmmla_emulated`` computes its bits
        on any CPU). The error of an element is at most
        ``k * 2**-24 * sum_p |a_ip b_pj|`` from the exact product of the
        rounded operands (twice that with BFMMLA's rounding to odd).
        ``alpha``, ``beta`` and ``out`` stay float32, and the
        BLAS backend is not used (it has no bfloat16 product).

    Returns
    -------
    out : ndarray of shape (m, n)
        The product, in ``out`` if given.

    Raises
    ------
    TypeError
        ``a``/``b``/``out`` not float32/float64 ndarrays of one dtype, or
        ``alpha``/``beta`` not real numbers.
    ValueError
        Not 2-dimensional, inner dimensions that differ, a bad ``out``,
        non-finite ``alpha``/``beta``.
    MemoryError
        The result (or a packing buffer) cannot be allocated.
    """
    return _kernels.gemm(a, b, trans_a, trans_b, alpha, beta, out, compute_dtype)


def dense(x, w, b, activation="identity", *, out=None, compute_dtype=None, **params):
    """Dense layer ``activation(x @ w + b)`` with the bias and activation fused.

    The bias add and the activation are applied in the matrix product's
    output stage, on each tile while it is in registers or L1 cache, rather
    than as separate passes over the output.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_in)
        Inputs, float32 or float64, any layout.
    w : ndarray of shape (n_in, n_out)
        Weights, same dtype.
    b : ndarray of shape (n_out,) or None
        Bias.
    activation : str, default="identity"
        One of the names accepted by :func:`activation`, except
        ``"maxout"``, which narrows the output (``ValueError``): apply it to
        ``dense(x, w, b)``.
    out : ndarray of shape (n_samples, n_out), optional
        C-contiguous, writeable, same dtype, not overlapping the inputs.
    compute_dtype : {None, "bfloat16"}, default=None
        ``"bfloat16"``: the product ``x @ w`` as in :func:`gemm`; the bias and
        the activation are applied in float32 to its float32 result.
    **params
        The activation's parameter, e.g. ``negative_slope`` for
        ``"leaky_relu"`` or ``alpha`` for ``"elu"``.

    Returns
    -------
    out : ndarray of shape (n_samples, n_out)
        ``activation(x @ w + b)``, in ``out`` if given.
    """
    return _kernels.dense(x, w, b, activation, out=out, compute_dtype=compute_dtype, **params)


def activation(z, name, *, out=None, **params):
    """Apply an activation function element-wise (softmax: along the last axis).

    Computed in the dtype of ``z`` (``expf`` for float32, ``exp`` for
    float64), stable for any finite input, NaN-propagating.

    ======================== ==================================================
    name                     function
    ======================== ==================================================
    ``"identity"``           ``z``
    ``"logistic"``           ``1 / (1 + exp(-z))`` (alias ``"sigmoid"``); equal
                             to ``scipy.special.expit``
    ``"tanh"``               ``tanh(z)``
    ``"relu"``               ``max(z, 0)``
    ``"leaky_relu"``         ``z if z > 0 else negative_slope * z``
                             (``negative_slope=0.01``)
    ``"elu"``                ``z if z > 0 else alpha * (exp(z) - 1)``
                             (``alpha=1.0``)
    ``"selu"``               ``scale * elu(z, alpha)``, alpha = 1.67326...,
                             scale = 1.05070...
    ``"gelu"``               ``z * Phi(z)``, exact (erf) form
    ``"softplus"``           ``log(1 + exp(z))``
    ``"softmax"``            ``exp(z - max) / sum(exp(z - max))`` along the last
                             axis
    ``"heaviside"``          ``1 if z >= 0 else 0`` (alias ``"step"``;
                             forward only)
    ``"maxout"``             ``max(z[..., j*k : j*k + k])`` for unit j, k =
                             ``pieces`` (default 2): z has ``n * k`` columns,
                             the result ``n``
    ======================== ==================================================

    Maxout (Goodfellow et al., 2013) is the one activation that changes the
    shape: unit j's pieces are the k consecutive columns ``j*k .. j*k + k - 1``
    of z, so ``z.reshape(..., n, k).max(axis=-1)``. Of equal maxima the
    first piece wins (this decides which piece the gradient goes to); a NaN
    piece makes its unit NaN.

    Parameters
    ----------
    z : ndarray of shape (..., n)
        Pre-activations, float32 or float64, at least 1-D. C-ordered arrays
        and row-strided 2-D views are read in place; other layouts are copied
        once (into ``out``).
    name : str
        The activation, from the table above.
    out : ndarray of the shape of z, optional
        C-contiguous, writeable, same dtype. May be ``z`` itself (in place).
        For maxout of shape ``z.shape[:-1] + (n,)``.
    **params
        The activation's parameter: ``negative_slope`` (``"leaky_relu"``) or
        ``alpha`` (``"elu"``), a finite real number; ``pieces``
        (``"maxout"``), an integer >= 1 dividing z's last axis.

    Returns
    -------
    out : ndarray of the shape of z
        The result, in ``out`` if given (maxout: of shape
        ``z.shape[:-1] + (z.shape[-1] // pieces,)``).

    Raises
    ------
    ValueError
        Unknown ``name``, non-finite parameter, 0-d ``z``, bad ``out`` shape
        or layout.
    TypeError
        ``z`` is not a float32/float64 ndarray, wrong ``out`` dtype, or a
        parameter the activation does not take.
    """
    return _kernels.activation(z, name, out=out, **params)


def activation_grad(z, name, grad_output=None, *, out=None, **params):
    """Derivative of an activation at ``z``, or its vector-Jacobian product.

    Parameters
    ----------
    z : ndarray of shape (..., n)
        Pre-activations, float32 or float64, at least 1-D.
    name : str
        The activation (see :func:`activation`), not ``"heaviside"``/``"step"``,
        which is forward-only (its derivative is 0 almost everywhere) and
        raises ``ValueError``.
    grad_output : ndarray of the shape and dtype of z, optional
        Gradient of a scalar loss with respect to the activation's output.
        Required for ``"softmax"``, whose derivative is a Jacobian matrix.
        For maxout of the output's shape, ``z.shape[:-1] + (n,)``.
    out : ndarray of the shape of z, optional
        C-contiguous, writeable, same dtype. May be ``z`` or ``grad_output``
        itself (maxout: ``z`` only).
    **params
        The activation's parameter, as for :func:`activation`.

    Returns
    -------
    out : ndarray of the shape of z
        ``act'(z)`` element-wise if ``grad_output`` is None, otherwise the
        gradient with respect to ``z``: ``grad_output * act'(z)``, and for
        softmax ``s * (g - sum(g * s, axis=-1))`` with ``s = softmax(z)``.
        ``act'(NaN)`` is NaN. At the kinks the derivative from the left is
        used (``relu'(0) = 0``, as in scikit-learn). Maxout: 1 (or the
        unit's ``grad_output``) at each unit's winning piece, the first
        maximum, and 0 at its other pieces; NaN at all pieces of a unit
        with a NaN piece.

    Raises
    ------
    ValueError
        As :func:`activation`; also for heaviside, for softmax without
        ``grad_output``, and for a ``grad_output`` of another shape.
    TypeError
        As :func:`activation`; also for a ``grad_output`` of another dtype.
    """
    return _kernels.activation_grad(z, name, grad_output, out=out, **params)


def softmax_cross_entropy(logits, y, sample_weight=None):
    """Softmax cross-entropy from logits, and its gradient, in one fused pass.

    The loss is scikit-learn's: the weighted mean over samples,
    ``sum_i w_i l_i / sum_i w_i``, of ``l_i = -sum_j y_ij log softmax(z_i)_j``,
    computed from the logits with a max-subtracted log-sum-exp (finite for
    any finite logits, e.g. +-1e4) and accumulated in float64.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
        float32 or float64, at least one sample and one class.
    y : ndarray
        Either integer class labels of shape (n_samples,) (any integer dtype,
        values in ``[0, n_classes)``), or a float matrix of shape
        (n_samples, n_classes) of the dtype of ``logits`` holding one-hot rows
        or class probabilities (not checked to sum to 1).
    sample_weight : array-like of shape (n_samples,), optional
        Converted to the dtype of ``logits``; finite, non-negative, with a
        positive sum.

    Returns
    -------
    loss : float
        Weighted mean over samples of the per-sample loss.
    dlogits : ndarray of shape (n_samples, n_classes)
        Gradient of ``loss``: ``(softmax(z_i) - y_i) * w_i / sum(w)``.

    Raises
    ------
    ValueError
        Wrong shapes, labels out of range, invalid ``sample_weight``.
    TypeError
        Wrong dtypes (float ``y`` of another dtype, non-numeric weights).
    """
    return _kernels.softmax_cross_entropy(logits, y, sample_weight)


def sigmoid_binary_cross_entropy(logits, y, sample_weight=None):
    """Sigmoid binary cross-entropy from logits (independent outputs), and its gradient.

    Per element ``max(z, 0) - z y + log1p(exp(-|z|))``, which equals
    ``-y log s - (1 - y) log(1 - s)`` with ``s = sigmoid(z)`` but is finite
    for every finite ``z`` and for targets exactly 0 and 1. The loss is the
    weighted mean over samples of the per-sample sum over outputs.

    Parameters
    ----------
    logits : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        float32 or float64.
    y : ndarray of the shape of logits
        Targets in [0, 1]: floats of the dtype of ``logits``, or integers
        (only 0 and 1) or bools, which are converted.
    sample_weight : array-like of shape (n_samples,), optional
        Converted to the dtype of ``logits``; finite, non-negative, with a
        positive sum.

    Returns
    -------
    loss : float
        Weighted mean over samples of the per-sample loss.
    dlogits : ndarray of the shape of logits
        ``(sigmoid(z) - y) * w_i / sum(w)``.

    Raises
    ------
    ValueError
        Wrong shapes, integer ``y`` other than 0/1, invalid ``sample_weight``.
    TypeError
        Wrong dtypes.
    """
    return _kernels.sigmoid_binary_cross_entropy(logits, y, sample_weight)


def regression_loss(y_pred, y, loss="squared_error", sample_weight=None, **params):
    """A regression loss and its gradient with respect to ``y_pred``.

    With ``r = y_pred - y``, per element:

    ======================= ================================================
    loss                    value (gradient)
    ======================= ================================================
    ``"squared_error"``     ``r**2 / 2`` (``r``)
    ``"absolute_error"``    ``|r|`` (``sign(r)``, 0 at 0)
    ``"huber"``             ``r**2 / 2`` if ``|r| <= delta`` else
                            ``delta * (|r| - delta / 2)``
                            (``r`` or ``delta * sign(r)``)
    ``"poisson"``           ``exp(p) - y p + y log y - y``, the half Poisson
                            deviance with ``p = y_pred`` the log of the
                            predicted mean (``exp(p) - y``)
    ======================= ================================================

    The loss is the weighted mean over samples of the per-sample sum over
    outputs (scikit-learn's convention), accumulated in float64.

    Parameters
    ----------
    y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Predictions, float32 or float64. A 1-D array is one output.
    y : ndarray of the shape of y_pred
        Targets: floats of the dtype of ``y_pred``, or integers/bools
        (converted). ``y >= 0`` for ``"poisson"``.
    loss : {"squared_error", "absolute_error", "huber", "poisson"}, \
            default="squared_error"
        Which loss.
    sample_weight : array-like of shape (n_samples,), optional
        Converted to the dtype of ``y_pred``; finite, non-negative, with a
        positive sum.
    **params
        ``delta`` for ``"huber"``: finite, > 0, default 1.0.

    Returns
    -------
    loss : float
        Weighted mean over samples of the per-sample loss.
    grad : ndarray of the shape of y_pred
        Gradient of ``loss``, including the factor ``w_i / sum(w)``.

    Raises
    ------
    ValueError
        Unknown ``loss``, bad ``delta``, wrong shapes, negative ``y`` for
        ``"poisson"``, invalid ``sample_weight``.
    TypeError
        Wrong dtypes, or a parameter the loss does not take.
    """
    return _kernels.regression_loss(y_pred, y, loss, sample_weight, **params)


def squared_error(y_pred, y, sample_weight=None):
    """Half squared error ``(y_pred - y)**2 / 2`` and its gradient.

    Parameters
    ----------
    y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Predictions, float32 or float64.
    y : ndarray of the shape of y_pred
        Targets.
    sample_weight : array-like of shape (n_samples,), optional
        Sample weights.

    Returns
    -------
    loss : float
        Weighted mean over samples of the per-sample loss.
    grad : ndarray of the shape of y_pred
        Gradient of ``loss`` with respect to ``y_pred``.

    See Also
    --------
    regression_loss : The general form, with the details.
    """
    return _kernels.regression_loss(y_pred, y, "squared_error", sample_weight)


def absolute_error(y_pred, y, sample_weight=None):
    """Absolute error ``|y_pred - y|`` and its subgradient ``sign(y_pred - y)``.

    Parameters
    ----------
    y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Predictions, float32 or float64.
    y : ndarray of the shape of y_pred
        Targets.
    sample_weight : array-like of shape (n_samples,), optional
        Sample weights.

    Returns
    -------
    loss : float
        Weighted mean over samples of the per-sample loss.
    grad : ndarray of the shape of y_pred
        Gradient of ``loss`` with respect to ``y_pred``.

    See Also
    --------
    regression_loss : The general form, with the details.
    """
    return _kernels.regression_loss(y_pred, y, "absolute_error", sample_weight)


def huber(y_pred, y, sample_weight=None, *, delta=1.0):
    """Huber loss, quadratic for ``|y_pred - y| <= delta`` and linear beyond.

    Parameters
    ----------
    y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Predictions, float32 or float64.
    y : ndarray of the shape of y_pred
        Targets.
    sample_weight : array-like of shape (n_samples,), optional
        Sample weights.
    delta : float, default=1.0
        The switch point, > 0.

    Returns
    -------
    loss : float
        Weighted mean over samples of the per-sample loss.
    grad : ndarray of the shape of y_pred
        Gradient of ``loss`` with respect to ``y_pred``.

    See Also
    --------
    regression_loss : The general form, with the details.
    """
    return _kernels.regression_loss(y_pred, y, "huber", sample_weight, delta=delta)


def poisson(y_pred, y, sample_weight=None):
    """Half Poisson deviance with log link, from the raw prediction.

    Parameters
    ----------
    y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Raw predictions ``p``, the log of the predicted mean; float32 or
        float64.
    y : ndarray of the shape of y_pred
        Non-negative targets (counts or rates).
    sample_weight : array-like of shape (n_samples,), optional
        Sample weights.

    Returns
    -------
    loss : float
        Weighted mean of ``exp(p) - y p + y log y - y`` (``0 log 0 = 0``).
    grad : ndarray of the shape of y_pred
        ``(exp(p) - y) * w_i / sum(w)``.

    See Also
    --------
    regression_loss : The general form, with the details.
    """
    return _kernels.regression_loss(y_pred, y, "poisson", sample_weight)


def sgd_step(param, grad, velocity, *, learning_rate, momentum=0.9, nesterov=True):
    """One step of SGD with momentum, in place; bit for bit scikit-learn's.

    ::

        velocity = momentum * velocity - learning_rate * grad
        param += momentum * velocity - learning_rate * grad   # nesterov
        param += velocity                                     # otherwise

    with exactly the operation order and rounding of
    ``sklearn.neural_network._stochastic_optimizers.SGDOptimizer`` (scalars
    rounded to the array dtype first, as NumPy does).

    Parameters
    ----------
    param : ndarray
        Parameters of any shape, float32 or float64, C-contiguous and
        writeable; updated in place.
    grad : ndarray of the shape and dtype of param
        Gradient of the loss (any layout).
    velocity : ndarray of the shape and dtype of param
        Momentum buffer, zeros before the first step; C-contiguous,
        writeable, not overlapping ``param``; updated in place.
    learning_rate : float
        Step size, > 0.
    momentum : float, default=0.9
        In [0, 1].
    nesterov : bool, default=True
        Use Nesterov's momentum.

    Returns
    -------
    None
        ``param`` and the optimizer state are updated in place.

    Raises
    ------
    ValueError
        Shapes differ, arrays not C-contiguous/writeable or overlapping,
        hyper-parameters out of range.
    TypeError
        Dtypes differ or are not float32/float64; non-numeric
        hyper-parameters.
    """
    return _kernels.sgd_step(param, grad, velocity, learning_rate=learning_rate,
                             momentum=momentum, nesterov=nesterov)


def adam_step(param, grad, m, v, *, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
              epsilon=1e-8):
    """One Adam step, in place; bit for bit scikit-learn's.

    ::

        m = beta_1 * m + (1 - beta_1) * grad
        v = beta_2 * v + (1 - beta_2) * grad**2
        lr_t = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        param += -lr_t * m / (sqrt(v) + epsilon)

    with exactly the operation order and rounding of
    ``sklearn.neural_network._stochastic_optimizers.AdamOptimizer`` under
    NumPy >= 2: for float32 arrays the last line is computed in float64
    (``lr_t`` is a NumPy float64 there) and rounded back.

    Parameters
    ----------
    param : ndarray
        Parameters of any shape, float32 or float64, C-contiguous and
        writeable; updated in place.
    grad : ndarray of the shape and dtype of param
        Gradient of the loss (any layout).
    m, v : ndarray of the shape and dtype of param
        First and second moment estimates, zeros before the first step;
        C-contiguous, writeable, not overlapping each other or ``param``;
        updated in place.
    t : int
        The step number, counted from 1 (scikit-learn's ``t`` after its
        increment).
    learning_rate : float, default=0.001
        > 0.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        > 0.

    Returns
    -------
    None
        ``param`` and the optimizer state are updated in place.

    Raises
    ------
    ValueError
        As :func:`sgd_step`; also ``t < 1``.
    TypeError
        As :func:`sgd_step`; also a non-integer ``t``.
    """
    return _kernels.adam_step(param, grad, m, v, t=t, learning_rate=learning_rate,
                              beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)


def optimizer_step(param, grad, optimizer):
    """One step of an optimizer object, in place, in C; advances its ``t``.

    ``optimizer`` is a :mod:`fastmlp.optimizers` object, as the training
    engine takes it: its ``kind``, hyper-parameters, ``arithmetic``
    ('sklearn', 'plain' or 'keras'), step count ``t``, NAdam's ``mu_product``
    and ``state`` arrays. With ``arithmetic='keras'`` it is Keras 3's form
    of the rule, ``param`` being one Keras variable: its ``clipnorm`` or
    ``clipvalue`` clip ``grad`` first, as Keras clips each variable. Equal
    to :func:`fastmlp.reference.optimizer_step`.

    Parameters
    ----------
    param : ndarray
        Parameters of any shape, float32 or float64, C-contiguous and
        writeable; updated in place.
    grad : ndarray of the shape and dtype of param
        Gradient of the loss (any layout).
    optimizer : fastmlp.optimizers.BaseOptimizer
        Its state arrays: ``param``'s shape and dtype, C-contiguous,
        writeable, not overlapping ``param``; updated, as are ``t`` and
        ``mu_product``.

    Raises
    ------
    ValueError
        An unknown kind or arithmetic, states of the wrong shape, dtype or
        layout, overlapping arrays, a learning rate <= 0.
    TypeError
        As :func:`sgd_step`.
    """
    _kernels.optimizer_step(param, grad, optimizer)


def _object_step(param, grad, kind, states, names, t=0, mu_product=1.0, **hyper):
    """One C step of `kind` through the optimizer-object interface; `names`
    name the state arrays in error messages."""
    for name, value in hyper.items():
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    check_optimizer_hyper(**hyper)
    opt = SimpleNamespace(kind=kind, arithmetic="plain", state=states, t=t,
                          mu_product=mu_product, **hyper)
    _kernels.optimizer_step(param, grad, opt, names)
    return opt


def _step_number(t):
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Integral):
        raise TypeError(f"t must be an integer (the step number), got {t!r}")
    if t < 1:
        raise ValueError(f"t must be >= 1 (the step number, counted from 1), got {t}")
    return int(t) - 1  # the step advances it


def rmsprop_step(param, grad, square_avg, *, learning_rate=0.001, rho=0.99, epsilon=1e-8,
                 weight_decay=0.0):
    """One RMSprop step, in place (torch.optim.RMSprop, no momentum).

    Per element::

        square_avg = rho * square_avg + (1 - rho) * grad**2
        param = param * (1 - learning_rate * weight_decay)   # if weight_decay > 0
        param += -learning_rate * (grad / (sqrt(square_avg) + epsilon))

    Every operation in the arrays' dtype, vectorised, subnormals flushed to
    zero (:mod:`fastmlp.optimizers`); equal to
    :func:`fastmlp.reference.rmsprop_step`.

    Parameters
    ----------
    param : ndarray
        Parameters of any shape, float32 or float64, C-contiguous and
        writeable; updated in place.
    grad : ndarray of the shape and dtype of param
        Gradient of the loss (any layout).
    square_avg : ndarray of the shape and dtype of param
        Mean square of the gradients, zeros before the first step;
        C-contiguous, writeable, not overlapping ``param``; updated.
    learning_rate : float, default=0.001
        > 0.
    rho : float, default=0.99
        Decay of the mean square, in [0, 1).
    epsilon : float, default=1e-8
        > 0.
    weight_decay : float, default=0.0
        Decoupled weight decay, >= 0.

    Raises
    ------
    ValueError
        As :func:`sgd_step`.
    TypeError
        As :func:`sgd_step`.
    """
    _object_step(param, grad, "rmsprop", [square_avg], ["square_avg"],
                 learning_rate=learning_rate, rho=rho,
                 epsilon=epsilon, weight_decay=weight_decay)


def adagrad_step(param, grad, state_sum, *, learning_rate=0.001, epsilon=1e-8,
                 weight_decay=0.0):
    """One AdaGrad step, in place (torch.optim.Adagrad, lr_decay=0).

    Per element::

        state_sum = state_sum + grad**2
        param = param * (1 - learning_rate * weight_decay)   # if weight_decay > 0
        param += -learning_rate * (grad / (sqrt(state_sum) + epsilon))

    Every operation in the arrays' dtype, subnormals flushed to zero; equal to
    :func:`fastmlp.reference.adagrad_step`.

    Parameters
    ----------
    param : ndarray
        Parameters, float32 or float64, C-contiguous and writeable; updated.
    grad : ndarray of the shape and dtype of param
        Gradient of the loss (any layout).
    state_sum : ndarray of the shape and dtype of param
        Sum of squared gradients (its initial accumulator value before the
        first step); updated.
    learning_rate : float, default=0.001
        > 0.
    epsilon : float, default=1e-8
        > 0.
    weight_decay : float, default=0.0
        Decoupled weight decay, >= 0.

    Raises
    ------
    ValueError
        As :func:`sgd_step`.
    TypeError
        As :func:`sgd_step`.
    """
    _object_step(param, grad, "adagrad", [state_sum], ["state_sum"], learning_rate=learning_rate,
                 epsilon=epsilon, weight_decay=weight_decay)


def adamw_step(param, grad, m, v, *, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
               epsilon=1e-8, weight_decay=0.01):
    """One AdamW step, in place (torch.optim.AdamW).

    Per element::

        param = param * (1 - learning_rate * weight_decay)   # if weight_decay > 0
        m = beta_1 * m + (1 - beta_1) * grad
        v = beta_2 * v + (1 - beta_2) * grad**2
        param += -(learning_rate / (1 - beta_1**t))
                 * (m / (sqrt(v) / sqrt(1 - beta_2**t) + epsilon))

    Every operation in the arrays' dtype, subnormals flushed to zero; equal to
    :func:`fastmlp.reference.adamw_step`.

    Parameters
    ----------
    param : ndarray
        Parameters, float32 or float64, C-contiguous and writeable; updated.
    grad : ndarray of the shape and dtype of param
        Gradient of the loss (any layout).
    m, v : ndarray of the shape and dtype of param
        Moment estimates, zeros before the first step; updated.
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

    Raises
    ------
    ValueError
        As :func:`adam_step`.
    TypeError
        As :func:`adam_step`.
    """
    _object_step(param, grad, "adamw", [m, v], ["m", "v"], t=_step_number(t),
                 learning_rate=learning_rate,
                 beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, weight_decay=weight_decay)


def nadam_step(param, grad, m, v, *, t, mu_product, learning_rate=0.001, beta_1=0.9,
               beta_2=0.999, epsilon=1e-8, momentum_decay=0.004, weight_decay=0.0):
    """One NAdam step, in place (torch.optim.NAdam, decoupled weight decay).

    Per element::

        mu_t = beta_1 * (1 - 0.5 * 0.96**(t * momentum_decay))
        mu_product = mu_product * mu_t
        m, v as Adam's; d = sqrt(v / (1 - beta_2**t)) + epsilon
        param += (-learning_rate * (1 - mu_t) / (1 - mu_product)) * (grad / d)
        param += (-learning_rate * mu_{t+1} / (1 - mu_product * mu_{t+1})) * (m / d)

    (after the decoupled decay, if weight_decay > 0). Every operation in the
    arrays' dtype, subnormals flushed to zero; equal to
    :func:`fastmlp.reference.nadam_step`.

    Parameters
    ----------
    param : ndarray
        Parameters, float32 or float64, C-contiguous and writeable; updated.
    grad : ndarray of the shape and dtype of param
        Gradient of the loss (any layout).
    m, v : ndarray of the shape and dtype of param
        Moment estimates, zeros before the first step; updated.
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

    Raises
    ------
    ValueError
        As :func:`adam_step`.
    TypeError
        As :func:`adam_step`.
    """
    opt = _object_step(param, grad, "nadam", [m, v], ["m", "v"], t=_step_number(t),
                       mu_product=mu_product, learning_rate=learning_rate,
                       beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                       momentum_decay=momentum_decay, weight_decay=weight_decay)
    return opt.mu_product
