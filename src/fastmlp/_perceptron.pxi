# Rosenblatt's perceptron, one epoch per call (included by _kernels.pyx,
# whose helpers and cimports it uses).
#
# Private: fastmlp.Perceptron (_perceptron.py) prepares its arrays once per
# fit and calls perceptron_epoch once per epoch. Because it runs every epoch,
# this function never copies: an array in the wrong layout or dtype is an
# error naming it, so that a missing conversion in the caller shows up as a
# failure instead of a silent copy of the data set per epoch.

_PENALTIES = {
    None: FM_PENALTY_NONE,
    "l2": FM_PENALTY_L2,
    "l1": FM_PENALTY_L1,
    "elasticnet": FM_PENALTY_ELASTICNET,
}


cdef object _epoch_input(object arr, object dtype, tuple shape, str name):
    """A read-only input: ndarray of exactly `dtype` and `shape`, C-contiguous."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(arr).__name__}")
    if arr.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if not arr.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    return arr


cdef object _epoch_state(object arr, object dtype, tuple shape, str name):
    """An array updated in place: as _epoch_input, and writeable."""
    _epoch_input(arr, dtype, shape, name)
    if not arr.flags.writeable:
        raise ValueError(f"{name} must be writeable (it is updated in place)")
    return arr


def perceptron_epoch(X, target, order, coef, intercept, *, weight_pos, weight_neg,
                     sample_weight=None, active=None, eta=1.0, penalty=None, alpha=0.0001,
                     l1_ratio=0.15, fit_intercept=True, l1_q=None, l1_u=None, n_threads=1):
    """One epoch of Rosenblatt's rule for the threshold units in ``coef``.

    The exact rule, penalties included, is documented with
    ``fm_perceptron_epoch_*`` in ``csrc/fastmlp.h``. Runs with the GIL
    released; makes no copies (see the top of this file).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or tuple (data, indices, indptr)
        The samples, of ``coef``'s dtype: a 2-D array with row-major rows
        (C order or a row-strided view), or the three arrays of a CSR matrix
        with int64 ``indices`` (in [0, n_features), which the caller checks)
        and ``indptr`` of shape (n_samples + 1,).
    target : ndarray of shape (n_samples,), int64
        The unit that should fire for each sample, or -1 for none.
    order : ndarray of shape (n_visits,), int64
        The samples to visit, in this order (repeats allowed).
    coef : ndarray of shape (n_units, n_features)
        Weights, float32 or float64, C-contiguous and writeable; updated in
        place.
    intercept : ndarray of shape (n_units,)
        Same dtype; updated in place.
    weight_pos, weight_neg : ndarray of shape (n_units,), float64
        Class weights of each unit's positive and negative samples.
    sample_weight : ndarray of shape (n_samples,) or None
        ``coef``'s dtype; None means ones.
    active : ndarray of shape (n_units,), bool or uint8, or None
        Units to train; None means all.
    eta : float
        Learning rate, > 0.
    penalty : {None, "l2", "l1", "elasticnet"}
        The penalty.
    alpha, l1_ratio : float
        Penalty strength (>= 0) and elastic-net mixing (in [0, 1]).
    fit_intercept : bool
        Whether to update the intercepts.
    l1_q : ndarray of shape (n_units, n_features), float64, or None
        Penalty each weight has received (truncated-gradient state).
    l1_u : ndarray of shape (1,), float64, or None
        Penalty any weight could have received. Both are required for "l1"
        and "elasticnet", zeros at the start of a fit, updated in place.
    n_threads : int
        Threads over units; <= 0 means OpenMP's maximum.

    Returns
    -------
    objective : ndarray of shape (n_units,), float64
        Per unit, the epoch's summed perceptron criterion plus penalty.
    mistakes : ndarray of shape (n_units,), int64
        Per unit, the number of visits it misclassified.
    """
    if penalty not in _PENALTIES:
        raise ValueError(f"penalty must be one of None, 'l2', 'l1', 'elasticnet', "
                         f"got {penalty!r}")
    cdef fm_perceptron_options opt
    opt.eta = _real(eta, "eta")
    opt.penalty = _PENALTIES[penalty]
    opt.alpha = _real(alpha, "alpha")
    opt.l1_ratio = _real(l1_ratio, "l1_ratio")
    opt.fit_intercept = bool(fit_intercept)
    if not opt.eta > 0:
        raise ValueError(f"eta must be > 0, got {opt.eta}")
    if not opt.alpha >= 0:
        raise ValueError(f"alpha must be >= 0, got {opt.alpha}")
    if not 0 <= opt.l1_ratio <= 1:
        raise ValueError(f"l1_ratio must be in [0, 1], got {opt.l1_ratio}")

    dtype = _float_dtype(coef, "coef")
    if coef.ndim != 2 or coef.shape[0] < 1:
        raise ValueError(f"coef must have shape (n_units >= 1, n_features), got {coef.shape}")
    n_units, n_features = coef.shape
    _epoch_state(coef, dtype, (n_units, n_features), "coef")
    _epoch_state(intercept, dtype, (n_units,), "intercept")

    # The samples: dense rows or CSR.
    cdef Py_ssize_t ldx = 0
    indptr = indices = None
    if isinstance(X, tuple):
        if len(X) != 3:
            raise ValueError("a sparse X must be the tuple (data, indices, indptr)")
        data, indices, indptr = X
        if not isinstance(indptr, np.ndarray) or indptr.ndim != 1 or indptr.shape[0] < 1:
            raise ValueError("indptr must be a 1-dimensional array of n_samples + 1 offsets")
        n_samples = indptr.shape[0] - 1
        _epoch_input(indptr, np.int64, (n_samples + 1,), "indptr")
        nnz = int(indptr[n_samples])
        if not isinstance(data, np.ndarray) or data.ndim != 1 or data.shape[0] < nnz:
            raise ValueError(f"data must be a 1-dimensional array of at least indptr[-1] = "
                             f"{nnz} values")
        _epoch_input(data, dtype, data.shape, "data")
        _epoch_input(indices, np.int64, data.shape, "indices")
        x_rows = data
    else:
        _same_dtype(X, dtype, "X")
        if X.ndim != 2 or X.shape[1] != n_features:
            raise ValueError(f"X must have shape (n_samples, {n_features}), got {X.shape}")
        n_samples = X.shape[0]
        ldx = _row_major_ld(X)
        if ldx < 0:
            raise ValueError("X must have row-major rows (C order or a row-strided view); "
                             "convert it once per fit, not once per epoch")
        x_rows = X

    _epoch_input(target, np.int64, (n_samples,), "target")
    if not isinstance(order, np.ndarray) or order.ndim != 1:
        raise ValueError("order must be a 1-dimensional array of sample indices")
    _epoch_input(order, np.int64, order.shape, "order")
    if sample_weight is not None:
        _epoch_input(sample_weight, dtype, (n_samples,), "sample_weight")
    _epoch_input(weight_pos, np.float64, (n_units,), "weight_pos")
    _epoch_input(weight_neg, np.float64, (n_units,), "weight_neg")
    if active is not None:
        if not isinstance(active, np.ndarray) or active.dtype not in (np.bool_, np.uint8):
            raise TypeError("active must be a bool or uint8 numpy.ndarray")
        _epoch_input(active, active.dtype, (n_units,), "active")
    if opt.penalty in (FM_PENALTY_L1, FM_PENALTY_ELASTICNET):
        if l1_q is None or l1_u is None:
            raise ValueError(f"penalty {penalty!r} needs its state arrays l1_q and l1_u")
        _epoch_state(l1_q, np.float64, (n_units, n_features), "l1_q")
        _epoch_state(l1_u, np.float64, (1,), "l1_u")
    else:
        l1_q = l1_u = None

    objective = np.empty(n_units, dtype=np.float64)
    mistakes = np.empty(n_units, dtype=np.int64)

    cdef int64_t N = n_samples, D = n_features, K = n_units, LDX = ldx
    cdef int64_t V = order.shape[0]
    cdef int threads = n_threads
    cdef void *px = cnp.PyArray_DATA(x_rows)
    cdef const int64_t *pptr = <const int64_t *>_data_or_null(indptr)
    cdef const int64_t *pind = <const int64_t *>_data_or_null(indices)
    cdef const int64_t *ptarget = <const int64_t *>cnp.PyArray_DATA(target)
    cdef const int64_t *porder = <const int64_t *>cnp.PyArray_DATA(order)
    cdef void *psw = _data_or_null(sample_weight)
    cdef const double *pwpos = <const double *>cnp.PyArray_DATA(weight_pos)
    cdef const double *pwneg = <const double *>cnp.PyArray_DATA(weight_neg)
    cdef const unsigned char *pactive = <const unsigned char *>_data_or_null(active)
    cdef void *pcoef = cnp.PyArray_DATA(coef)
    cdef void *pb = cnp.PyArray_DATA(intercept)
    cdef double *pq = <double *>_data_or_null(l1_q)
    cdef double *pu = <double *>_data_or_null(l1_u)
    cdef double *pobj = <double *>cnp.PyArray_DATA(objective)
    cdef int64_t *pmis = <int64_t *>cnp.PyArray_DATA(mistakes)
    cdef fm_status status
    if dtype == np.float32:
        with nogil:
            status = fm_perceptron_epoch_f32(&opt, threads, N, D, K, <const float *>px, LDX,
                                             pptr, pind, ptarget, <const float *>psw, pwpos,
                                             pwneg, V, porder, pactive, <float *>pcoef,
                                             <float *>pb, pq, pu, pobj, pmis)
    else:
        with nogil:
            status = fm_perceptron_epoch_f64(&opt, threads, N, D, K, <const double *>px, LDX,
                                             pptr, pind, ptarget, <const double *>psw, pwpos,
                                             pwneg, V, porder, pactive, <double *>pcoef,
                                             <double *>pb, pq, pu, pobj, pmis)
    if status == FM_ERR_ARGUMENT:
        raise ValueError("perceptron_epoch: an order entry is outside [0, n_samples), a "
                         "target outside [-1, n_units), or indptr is not non-decreasing "
                         "from >= 0")
    _raise_status(status, "perceptron_epoch")
    return objective, mistakes
