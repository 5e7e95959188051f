# Element-wise kernels: activations, losses, optimizer steps (included by
# _kernels.pyx, whose helpers and cimports it uses). Documented in
# fastmlp.kernels; fastmlp.reference has the NumPy twins.
import math
import numbers


# ---------------------------------------------------------------------------
# Argument helpers
# ---------------------------------------------------------------------------

cdef double _real(object value, str name) except? -1.0:
    """A finite real number as a C double, else TypeError/ValueError naming it."""
    cdef double x
    if type(value) is float:  # the usual case, without the numbers.Real ABC check
        x = value
        if not isfinite(x):
            raise ValueError(f"{name} must be finite, got {x}")
        return x
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    return x


cdef tuple _rows_shape(object arr, str name):
    """(m, n): arr (ndim >= 1) seen as m = prod(shape[:-1]) rows of n = shape[-1]."""
    if arr.ndim < 1:
        raise ValueError(f"{name} must have at least 1 dimension, got a 0-dimensional array")
    # (No negative indices: this module is compiled with wraparound=False.)
    cdef int last = arr.ndim - 1
    return math.prod(arr.shape[:last]), arr.shape[last]


cdef Py_ssize_t _row_major_ld(object arr2d):
    """Leading dimension if the 2-D arr2d is row-major with unit column stride
    (C order or a row-strided view), else -1."""
    cdef Py_ssize_t item = arr2d.itemsize
    cdef Py_ssize_t r = arr2d.shape[0], c = arr2d.shape[1]
    cdef Py_ssize_t s0 = arr2d.strides[0], s1 = arr2d.strides[1]
    # A dimension of length <= 1 never steps, so its stride does not matter.
    if c > 1 and s1 != item:
        return -1
    if r <= 1:
        return max(c, 1)
    if s0 > 0 and s0 % item == 0 and s0 // item >= c:
        return s0 // item
    return -1


cdef bint _same_buffer(object a, object b):
    """True if a and b are C-contiguous arrays starting at the same address
    with the same number of bytes: in-place use, element for element."""
    return (a.flags.c_contiguous and b.flags.c_contiguous and a.nbytes == b.nbytes
            and cnp.PyArray_DATA(a) == cnp.PyArray_DATA(b))


cdef object _targets(object y, tuple shape, object dtype, str name, bint binary):
    """Targets of a loss: same shape as the predictions, converted to their
    float dtype when integer/bool; a float of another dtype is a TypeError."""
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(y).__name__}")
    if y.shape != shape:
        raise ValueError(f"{name} must have the shape of the predictions {shape}, got {y.shape}")
    kind = y.dtype.kind
    if kind == "f":
        _same_dtype(y, dtype, name)
        return _contiguous(y)
    if kind not in "biu":
        raise TypeError(f"{name} must have a float, integer or bool dtype, got {y.dtype}")
    if binary and kind != "b" and y.size and (y.min() < 0 or y.max() > 1):
        raise ValueError(f"integer {name} must contain only 0 and 1 (binary targets), "
                         f"got values from {y.min()} to {y.max()}")
    return np.ascontiguousarray(y, dtype=dtype)


cdef object _sample_weight(object sample_weight, Py_ssize_t m, object dtype):
    """None, or the weights as a C-contiguous (m,) array of `dtype` that is
    finite and >= 0 with a positive, finite sum."""
    if sample_weight is None:
        return None
    sw = np.asarray(sample_weight)
    if sw.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must contain real numbers, got dtype {sw.dtype}")
    if sw.ndim != 1 or sw.shape[0] != m:
        raise ValueError(f"sample_weight must have shape ({m},), one weight per sample, "
                         f"got {sw.shape}")
    with np.errstate(over="ignore"):  # overflow to inf is reported just below
        sw = np.ascontiguousarray(sw, dtype=dtype)
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


cdef void *_data_or_null(object arr):
    return NULL if arr is None else cnp.PyArray_DATA(arr)


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------

cdef Py_ssize_t _maxout_units(object z, fm_activation act) except -1:
    """Units of maxout's z (..., units * pieces): its last axis / pieces."""
    cdef Py_ssize_t k = <Py_ssize_t>act.param
    if z.ndim < 1 or z.shape[z.ndim - 1] % k:
        raise ValueError(f"maxout with pieces={k} needs z's last axis to be a multiple of "
                         f"{k} (units x pieces), got shape {z.shape}")
    return z.shape[z.ndim - 1] // k


def _maxout(z, fm_activation act, out):
    """activation(z, "maxout", pieces=k): (..., n * k) -> (..., n)."""
    dtype = _float_dtype(z, "z")
    m, cols = _rows_shape(z, "z")
    cdef Py_ssize_t units = _maxout_units(z, act)
    out = _check_out(out, z.shape[:z.ndim - 1] + (units,), dtype)
    if m == 0 or units == 0:
        return out
    zc = _contiguous(z)
    if np.may_share_memory(out, zc):
        zc = zc.copy()
    cdef int64_t M = m, N = units, LDZ = cols, LDO = units
    cdef void *pz = cnp.PyArray_DATA(zc)
    cdef void *po = cnp.PyArray_DATA(out)
    if dtype == np.float32:
        with nogil:
            fm_activation_forward_f32(act, M, N, <const float *>pz, LDZ, <float *>po, LDO)
    else:
        with nogil:
            fm_activation_forward_f64(act, M, N, <const double *>pz, LDZ, <double *>po, LDO)
    return out


def _maxout_grad(z, fm_activation act, grad_output, out):
    """activation_grad(z, "maxout", ...): the winner mask, or grad_output
    routed to the winning pieces, of z's shape."""
    dtype = _float_dtype(z, "z")
    m, cols = _rows_shape(z, "z")
    cdef Py_ssize_t units = _maxout_units(z, act)
    if grad_output is not None:
        _same_dtype(grad_output, dtype, "grad_output")
        expected = z.shape[:z.ndim - 1] + (units,)
        if grad_output.shape != expected:
            raise ValueError(f"grad_output must have maxout's output shape {expected} "
                             f"(z's shape with the last axis / pieces), got "
                             f"{grad_output.shape}")
    out = _check_out(out, z.shape, dtype)
    if m == 0 or units == 0:
        return out
    # out may be z itself (a unit's pieces are read before written); never
    # grad_output, which is narrower: an overlapping one is copied.
    zc = _contiguous(z)
    if np.may_share_memory(out, zc) and not _same_buffer(out, zc):
        zc = zc.copy()
    gc = None
    if grad_output is not None:
        gc = _contiguous(grad_output)
        if np.may_share_memory(out, gc):
            gc = gc.copy()
    cdef int64_t M = m, N = units
    cdef void *pz = cnp.PyArray_DATA(zc)
    cdef void *pg = _data_or_null(gc)
    cdef void *po = cnp.PyArray_DATA(out)
    if dtype == np.float32:
        with nogil:
            fm_activation_backward_f32(act, M, N, <const float *>pz, <const float *>pg,
                                       <float *>po)
    else:
        with nogil:
            fm_activation_backward_f64(act, M, N, <const double *>pz, <const double *>pg,
                                       <double *>po)
    return out


def activation(z, name, *, out=None, **params):
    cdef fm_activation act = _parse_activation(name, params, "name")
    if act.kind == FM_ACT_MAXOUT:
        return _maxout(z, act, out)
    dtype = _float_dtype(z, "z")
    m, n = _rows_shape(z, "z")
    out = _check_out(out, z.shape, dtype)
    if m == 0 or n == 0:
        return out

    # Read z in place when its rows are row-major (C order, row-strided
    # views); otherwise copy it into `out` once and work in place there.
    # The same copy handles an `out` that overlaps z without being z.
    cdef Py_ssize_t ld = -1
    if z.ndim == 2:
        rows = z
    elif z.ndim == 1:
        rows = z[np.newaxis, :]
    elif z.flags.c_contiguous:
        rows = z.reshape(m, n)
    else:
        rows = None
    if rows is not None:
        ld = _row_major_ld(rows)
    if ld < 0 or (np.may_share_memory(out, z) and not _same_buffer(out, z)):
        np.copyto(out, z)
        rows, ld = out, n

    cdef int64_t M = m, N = n, LDZ = ld, LDO = n
    cdef void *pz = cnp.PyArray_DATA(rows)
    cdef void *po = cnp.PyArray_DATA(out)
    if dtype == np.float32:
        with nogil:
            fm_activation_forward_f32(act, M, N, <const float *>pz, LDZ, <float *>po, LDO)
    else:
        with nogil:
            fm_activation_forward_f64(act, M, N, <const double *>pz, LDZ, <double *>po, LDO)
    return out


def activation_grad(z, name, grad_output=None, *, out=None, **params):
    cdef fm_activation act = _parse_activation(name, params, "name")
    if act.kind == FM_ACT_HEAVISIDE:
        raise ValueError(f"activation {name!r} is forward-only: its derivative is 0 almost "
                         f"everywhere, so it has no gradient to backpropagate")
    if act.kind == FM_ACT_MAXOUT:
        return _maxout_grad(z, act, grad_output, out)
    dtype = _float_dtype(z, "z")
    m, n = _rows_shape(z, "z")
    if grad_output is None:
        if act.kind == FM_ACT_SOFTMAX:
            raise ValueError("softmax's derivative is a Jacobian matrix, not element-wise: "
                             "pass grad_output to get the vector-Jacobian product")
    else:
        _same_dtype(grad_output, dtype, "grad_output")
        if grad_output.shape != z.shape:
            raise ValueError(f"grad_output must have the shape of z {z.shape}, "
                             f"got {grad_output.shape}")
    out = _check_out(out, z.shape, dtype)
    if m == 0 or n == 0:
        return out

    # The kernel wants contiguous rows. out may be z or grad_output itself
    # (each element is read before it is written); an input that merely
    # overlaps out is copied first.
    zc = _contiguous(z)
    if np.may_share_memory(out, zc) and not _same_buffer(out, zc):
        zc = zc.copy()
    gc = None
    if grad_output is not None:
        gc = _contiguous(grad_output)
        if np.may_share_memory(out, gc) and not _same_buffer(out, gc):
            gc = gc.copy()

    cdef int64_t M = m, N = n
    cdef void *pz = cnp.PyArray_DATA(zc)
    cdef void *pg = _data_or_null(gc)
    cdef void *po = cnp.PyArray_DATA(out)
    if dtype == np.float32:
        with nogil:
            fm_activation_backward_f32(act, M, N, <const float *>pz, <const float *>pg,
                                       <float *>po)
    else:
        with nogil:
            fm_activation_backward_f64(act, M, N, <const double *>pz, <const double *>pg,
                                       <double *>po)
    return out


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------

cdef tuple _predictions(object arr, str name):
    """(dtype, m, n, C-contiguous arr) for a 1-D (m,) or 2-D (m, n) input."""
    dtype = _float_dtype(arr, name)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-dimensional (n_samples,) or 2-dimensional "
                         f"(n_samples, n_outputs), got shape {arr.shape}")
    m = arr.shape[0]
    n = 1 if arr.ndim == 1 else arr.shape[1]
    if m < 1:
        raise ValueError(f"{name} must have at least one sample, got shape {arr.shape}")
    return dtype, m, n, _contiguous(arr)


def softmax_cross_entropy(logits, y, sample_weight=None):
    dtype = _float_dtype(logits, "logits")
    if logits.ndim != 2:
        raise ValueError(f"logits must be 2-dimensional (n_samples, n_classes), "
                         f"got shape {logits.shape}")
    m, n = logits.shape
    if m < 1 or n < 1:
        raise ValueError(f"logits must have at least one sample and one class, "
                         f"got shape {logits.shape}")
    if not isinstance(y, np.ndarray):
        raise TypeError(f"y must be a numpy.ndarray, got {type(y).__name__}")
    labels = y_prob = None
    if y.dtype.kind in "iu":
        if y.shape != (m,):
            raise ValueError(f"integer labels y must have shape ({m},), got {y.shape}")
        lo, hi = y.min(), y.max()
        if lo < 0 or hi >= n:
            raise ValueError(f"labels in y must be in [0, {n}) for {n} classes, "
                             f"got values from {lo} to {hi}")
        labels = np.ascontiguousarray(y, dtype=np.int64)
    elif y.dtype.kind == "f":
        _same_dtype(y, dtype, "y")
        if y.shape != (m, n):
            raise ValueError(f"probability targets y must have the shape of logits "
                             f"{(m, n)}, got {y.shape}")
        y_prob = _contiguous(y)
    else:
        raise TypeError(f"y must hold integer class labels or float probabilities, "
                        f"got dtype {y.dtype}")
    sw = _sample_weight(sample_weight, m, dtype)
    logits = _contiguous(logits)
    dlogits = np.empty((m, n), dtype=dtype)

    cdef int64_t M = m, N = n
    cdef void *pz = cnp.PyArray_DATA(logits)
    cdef const int64_t *pl = <const int64_t *>_data_or_null(labels)
    cdef void *py = _data_or_null(y_prob)
    cdef void *pw = _data_or_null(sw)
    cdef void *pd = cnp.PyArray_DATA(dlogits)
    cdef double loss
    if dtype == np.float32:
        with nogil:
            loss = fm_softmax_cross_entropy_f32(M, N, <const float *>pz, pl,
                                                <const float *>py, <const float *>pw,
                                                <float *>pd)
    else:
        with nogil:
            loss = fm_softmax_cross_entropy_f64(M, N, <const double *>pz, pl,
                                                <const double *>py, <const double *>pw,
                                                <double *>pd)
    return loss, dlogits


def sigmoid_binary_cross_entropy(logits, y, sample_weight=None):
    dtype, m, n, zc = _predictions(logits, "logits")
    yc = _targets(y, logits.shape, dtype, "y", True)
    sw = _sample_weight(sample_weight, m, dtype)
    dlogits = np.empty(logits.shape, dtype=dtype)

    cdef int64_t M = m, N = n
    cdef void *pz = cnp.PyArray_DATA(zc)
    cdef void *py = cnp.PyArray_DATA(yc)
    cdef void *pw = _data_or_null(sw)
    cdef void *pd = cnp.PyArray_DATA(dlogits)
    cdef double loss
    if dtype == np.float32:
        with nogil:
            loss = fm_sigmoid_binary_cross_entropy_f32(M, N, <const float *>pz,
                                                       <const float *>py,
                                                       <const float *>pw, <float *>pd)
    else:
        with nogil:
            loss = fm_sigmoid_binary_cross_entropy_f64(M, N, <const double *>pz,
                                                       <const double *>py,
                                                       <const double *>pw, <double *>pd)
    return loss, dlogits


# Regression loss names and the keyword parameter (with default) each takes.
_REGRESSION_LOSSES = {
    "squared_error": (FM_LOSS_SQUARED_ERROR, None, 0.0),
    "absolute_error": (FM_LOSS_ABSOLUTE_ERROR, None, 0.0),
    "huber": (FM_LOSS_HUBER, "delta", 1.0),
    "poisson": (FM_LOSS_POISSON, None, 0.0),
}


def regression_loss(y_pred, y, loss="squared_error", sample_weight=None, **params):
    if not isinstance(loss, str) or loss not in _REGRESSION_LOSSES:
        raise ValueError(f"loss must be one of {sorted(_REGRESSION_LOSSES)}, got {loss!r}")
    kind, pname, default = _REGRESSION_LOSSES[loss]
    extra = set(params) - ({pname} if pname else set())
    if extra:
        raise TypeError(f"loss {loss!r} got unexpected parameter(s) {sorted(extra)}")
    cdef double param = default
    if pname is not None:
        param = _real(params.get(pname, default), pname)
        if not param > 0:
            raise ValueError(f"{pname} must be > 0, got {param}")
    dtype, m, n, pc = _predictions(y_pred, "y_pred")
    yc = _targets(y, y_pred.shape, dtype, "y", False)
    if kind == FM_LOSS_POISSON and (yc < 0).any():
        raise ValueError(f"y must be non-negative for the poisson loss, "
                         f"got a minimum of {yc.min()}")
    sw = _sample_weight(sample_weight, m, dtype)
    grad = np.empty(y_pred.shape, dtype=dtype)

    cdef fm_regression_loss_kind K = kind
    cdef int64_t M = m, N = n
    cdef void *pp = cnp.PyArray_DATA(pc)
    cdef void *py = cnp.PyArray_DATA(yc)
    cdef void *pw = _data_or_null(sw)
    cdef void *pg = cnp.PyArray_DATA(grad)
    cdef double value
    if dtype == np.float32:
        with nogil:
            value = fm_regression_loss_f32(K, param, M, N, <const float *>pp,
                                           <const float *>py, <const float *>pw,
                                           <float *>pg)
    else:
        with nogil:
            value = fm_regression_loss_f64(K, param, M, N, <const double *>pp,
                                           <const double *>py, <const double *>pw,
                                           <double *>pg)
    return value, grad


# ---------------------------------------------------------------------------
# Optimizer steps (in place)
# ---------------------------------------------------------------------------

cdef void _check_state(object arr, object dtype, tuple shape, str name) except *:
    """An optimizer array updated in place: exact dtype/shape, C-contiguous, writeable."""
    _same_dtype(arr, dtype, name)
    if arr.shape != shape:
        raise ValueError(f"{name} must have the shape of param {shape}, got {arr.shape}")
    if not arr.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (it is updated in place)")
    if not arr.flags.writeable:
        raise ValueError(f"{name} must be writeable (it is updated in place)")


cdef object _step_grad(object grad, object dtype, tuple shape, list states):
    """grad as a contiguous array that shares no memory with the updated arrays."""
    _same_dtype(grad, dtype, "grad")
    if grad.shape != shape:
        raise ValueError(f"grad must have the shape of param {shape}, got {grad.shape}")
    grad = _contiguous(grad)
    if any(np.may_share_memory(grad, s) for s in states):
        grad = grad.copy()
    return grad


cdef void _check_disjoint(list arrays, list names) except *:
    for i in range(len(arrays)):
        for j in range(i + 1, len(arrays)):
            if np.may_share_memory(arrays[i], arrays[j]):
                raise ValueError(f"{names[i]} and {names[j]} must not overlap")


def sgd_step(param, grad, velocity, *, learning_rate, momentum=0.9, nesterov=True):
    dtype = _float_dtype(param, "param")
    shape = param.shape
    _check_state(param, dtype, shape, "param")
    _check_state(velocity, dtype, shape, "velocity")
    _check_disjoint([param, velocity], ["param", "velocity"])
    grad = _step_grad(grad, dtype, shape, [param, velocity])
    cdef double lr = _real(learning_rate, "learning_rate")
    cdef double mu = _real(momentum, "momentum")
    if not lr >= 0:  # 0 is legal (as in torch): where a schedule ends
        raise ValueError(f"learning_rate must be >= 0, got {lr}")
    if not 0 <= mu <= 1:
        raise ValueError(f"momentum must be in [0, 1], got {mu}")

    cdef int nest = bool(nesterov)
    cdef int64_t N = param.size
    cdef void *pp = cnp.PyArray_DATA(param)
    cdef void *pg = cnp.PyArray_DATA(grad)
    cdef void *pv = cnp.PyArray_DATA(velocity)
    if dtype == np.float32:
        with nogil:
            fm_sgd_step_f32(N, <float *>pp, <const float *>pg, <float *>pv, lr, mu, nest)
    else:
        with nogil:
            fm_sgd_step_f64(N, <double *>pp, <const double *>pg, <double *>pv, lr, mu, nest)


def adam_step(param, grad, m, v, *, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
              epsilon=1e-8):
    dtype = _float_dtype(param, "param")
    shape = param.shape
    _check_state(param, dtype, shape, "param")
    _check_state(m, dtype, shape, "m")
    _check_state(v, dtype, shape, "v")
    _check_disjoint([param, m, v], ["param", "m", "v"])
    grad = _step_grad(grad, dtype, shape, [param, m, v])
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Integral):
        raise TypeError(f"t must be an integer (the step number), got {t!r}")
    if t < 1:
        raise ValueError(f"t must be >= 1 (the step number, counted from 1), got {t}")
    cdef double lr = _real(learning_rate, "learning_rate")
    cdef double b1 = _real(beta_1, "beta_1")
    cdef double b2 = _real(beta_2, "beta_2")
    cdef double eps = _real(epsilon, "epsilon")
    if not lr >= 0:  # 0 is legal (as in torch): where a schedule ends
        raise ValueError(f"learning_rate must be >= 0, got {lr}")
    if not 0 <= b1 < 1:
        raise ValueError(f"beta_1 must be in [0, 1), got {b1}")
    if not 0 <= b2 < 1:
        raise ValueError(f"beta_2 must be in [0, 1), got {b2}")
    if not eps > 0:
        raise ValueError(f"epsilon must be > 0, got {eps}")

    cdef int64_t T = min(int(t), 2**63 - 1)
    cdef int64_t N = param.size
    cdef void *pp = cnp.PyArray_DATA(param)
    cdef void *pg = cnp.PyArray_DATA(grad)
    cdef void *pm = cnp.PyArray_DATA(m)
    cdef void *pv = cnp.PyArray_DATA(v)
    if dtype == np.float32:
        with nogil:
            fm_adam_step_f32(N, <float *>pp, <const float *>pg, <float *>pm, <float *>pv,
                             T, lr, b1, b2, eps)
    else:
        with nogil:
            fm_adam_step_f64(N, <double *>pp, <const double *>pg, <double *>pm,
                             <double *>pv, T, lr, b1, b2, eps)


# ---------------------------------------------------------------------------
# The optimizer as one object (fastmlp.optimizers): kind, hyper-parameters,
# step count, state arrays -> fm_optimizer
# ---------------------------------------------------------------------------

_OPTIMIZER_KINDS = {"sgd": FM_OPT_SGD, "adam": FM_OPT_ADAM, "rmsprop": FM_OPT_RMSPROP,
                    "adagrad": FM_OPT_ADAGRAD, "adamw": FM_OPT_ADAMW, "nadam": FM_OPT_NADAM}
_STEP_ARITHMETIC = {"sklearn": FM_STEP_SKLEARN, "plain": FM_STEP_PLAIN, "keras": FM_STEP_KERAS}


cdef int _optimizer_struct(object optimizer, object dtype, tuple shape,
                           fm_optimizer *opt, bint one_variable=False) except -1:
    """Fill `opt` from an optimizer object (``kind``, ``learning_rate``, the
    kind's hyper-parameters, ``t``, ``state``; see fastmlp.optimizers) whose
    state arrays are writeable C-contiguous arrays of `dtype` and `shape`.
    Keras's per-variable ``clipnorm`` / ``clipvalue``: one variable with
    `one_variable` (a single step), each W, b, gamma, beta in the engine.
    Returns 0; raises ValueError for anything else (an unknown kind too)."""
    kind = getattr(optimizer, "kind", None)
    if kind not in _OPTIMIZER_KINDS:
        raise ValueError(f"unknown optimizer kind {kind!r}; expected one of "
                         f"{sorted(_OPTIMIZER_KINDS)}")
    arithmetic = getattr(optimizer, "arithmetic", "sklearn")
    if arithmetic not in _STEP_ARITHMETIC:
        raise ValueError(f"optimizer arithmetic must be 'sklearn', 'plain' or 'keras', got "
                         f"{arithmetic!r}")
    clipnorm = getattr(optimizer, "clipnorm", None)
    clipvalue = getattr(optimizer, "clipvalue", None)
    memset(opt, 0, sizeof(fm_optimizer))
    opt.kind = _OPTIMIZER_KINDS[kind]
    opt.arithmetic = _STEP_ARITHMETIC[arithmetic]
    opt.learning_rate = _real(optimizer.learning_rate, "learning_rate")
    if not opt.learning_rate >= 0:  # 0 is legal (as in torch): where a schedule ends
        raise ValueError(f"learning_rate must be >= 0, got {opt.learning_rate}")
    opt.momentum = _real(getattr(optimizer, "momentum", 0.0), "momentum")
    opt.nesterov = bool(getattr(optimizer, "nesterov", False))
    opt.beta_1 = _real(getattr(optimizer, "beta_1", 0.0), "beta_1")
    opt.beta_2 = _real(getattr(optimizer, "beta_2", 0.0), "beta_2")
    opt.epsilon = _real(getattr(optimizer, "epsilon", 0.0), "epsilon")
    opt.rho = _real(getattr(optimizer, "rho", 0.0), "rho")
    opt.momentum_decay = _real(getattr(optimizer, "momentum_decay", 0.0), "momentum_decay")
    opt.weight_decay = _real(getattr(optimizer, "weight_decay", 0.0), "weight_decay")
    opt.mu_product = _real(getattr(optimizer, "mu_product", 1.0), "mu_product")
    opt.clipnorm = 0.0 if clipnorm is None else _real(clipnorm, "clipnorm")
    opt.clipvalue = 0.0 if clipvalue is None else _real(clipvalue, "clipvalue")
    if not (opt.clipnorm >= 0 and opt.clipvalue >= 0):
        raise ValueError("clipnorm and clipvalue must be > 0 (or None)")
    if (opt.clipnorm > 0 or opt.clipvalue > 0) and opt.arithmetic != FM_STEP_KERAS:
        raise ValueError("clipnorm / clipvalue are Keras's: only with arithmetic='keras'")
    if not 0 <= opt.weight_decay or not opt.epsilon >= 0:
        raise ValueError("weight_decay and epsilon must be >= 0")
    # A schedule's per-step rates (``lr_steps``, one per step to come): the
    # object holds the array, so the pointer outlives the C calls.
    lr_steps = getattr(optimizer, "lr_steps", None)
    if lr_steps is not None:
        if (not isinstance(lr_steps, np.ndarray) or lr_steps.dtype != np.float64
                or lr_steps.ndim != 1 or not lr_steps.flags.c_contiguous):
            raise ValueError("optimizer lr_steps must be a C-contiguous 1-d float64 array "
                             "(or None)")
        if not (np.isfinite(lr_steps).all() and (lr_steps >= 0).all()):
            raise ValueError("optimizer lr_steps must be finite and >= 0")
        opt.n_lr_steps = lr_steps.shape[0]
        opt.lr_steps = <const double *>cnp.PyArray_DATA(lr_steps) if opt.n_lr_steps else NULL
        if opt.lr_steps == NULL:  # an empty array: no step can be taken
            raise ValueError("optimizer lr_steps is empty: no rate for the next step")
    t = optimizer.t
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Integral) or t < 0:
        raise ValueError(f"optimizer t must be an integer >= 0 (steps taken), got {t!r}")
    opt.t = int(t)
    states = list(optimizer.state)
    cdef int n_states = fm_optimizer_n_states(opt.kind)
    if len(states) != n_states:
        raise ValueError(f"a {kind!r} optimizer keeps {n_states} state array(s), got "
                         f"{len(states)}")
    for k, state in enumerate(states):
        if (not isinstance(state, np.ndarray) or state.dtype != dtype
                or state.shape != shape or not state.flags.c_contiguous
                or not state.flags.writeable):
            raise ValueError(f"optimizer state[{k}] must be a writeable C-contiguous {dtype} "
                             f"array of shape {shape}")
        opt.state[k] = cnp.PyArray_DATA(state)
    _check_disjoint(states, [f"state[{k}]" for k in range(len(states))])
    return 0


cdef void _optimizer_advanced(object optimizer, const fm_optimizer *opt) except *:
    """Write the step count (and NAdam's mu_product, the per-step rates not
    taken) back to the object."""
    optimizer.t = opt.t
    if opt.kind == FM_OPT_NADAM:
        optimizer.mu_product = opt.mu_product
    lr_steps = getattr(optimizer, "lr_steps", None)
    if lr_steps is not None:  # the rates not taken yet (a view)
        optimizer.lr_steps = lr_steps[lr_steps.shape[0] - opt.n_lr_steps:]


def optimizer_step(param, grad, optimizer, names=None):
    """One step of `optimizer` (an object as MLPEngine.epoch takes) on param;
    `names` name its state arrays in error messages."""
    dtype = _float_dtype(param, "param")
    shape = param.shape
    _check_state(param, dtype, shape, "param")
    states = list(optimizer.state)
    names = list(names) if names is not None else [f"state[{k}]" for k in range(len(states))]
    for state, name in zip(states, names):
        _check_state(state, dtype, shape, name)
    _check_disjoint([param] + states, ["param"] + names)
    cdef fm_optimizer opt
    _optimizer_struct(optimizer, dtype, shape, &opt, True)
    grad = _step_grad(grad, dtype, shape, [param] + states)
    cdef int64_t N = param.size
    cdef void *pp = cnp.PyArray_DATA(param)
    cdef void *pg = cnp.PyArray_DATA(grad)
    cdef fm_status status
    if dtype == np.float32:
        with nogil:
            status = fm_optimizer_step_f32(&opt, N, <float *>pp, <const float *>pg)
    else:
        with nogil:
            status = fm_optimizer_step_f64(&opt, N, <double *>pp, <const double *>pg)
    _raise_status(status, "optimizer step")
    _optimizer_advanced(optimizer, &opt)
