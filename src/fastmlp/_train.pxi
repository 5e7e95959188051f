# The MLP training engine (csrc/train.h), included by _kernels.pyx.
#
# MLPEngine holds a network's description and a workspace sized for a
# number of rows; the estimators create one per fit and call epoch() once per
# epoch, loss_grad() once per L-BFGS evaluation, loss() for validation data.
# MLPPredictor holds a fitted network's description and parameter pointers,
# checked once; the estimators keep one and call predict() once per call.
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from cpython.exc cimport PyErr_CheckSignals

# Work per C call within an epoch (multiply-adds), between checks for Ctrl-C.
_CHUNK_MACS = 2_000_000_000

_OUTPUTS = {"softmax": FM_OUTPUT_SOFTMAX_LOG_LOSS, "logistic": FM_OUTPUT_LOGISTIC_LOG_LOSS,
            "regression": FM_OUTPUT_REGRESSION}
_TRAIN_LOSSES = {"squared_error": FM_LOSS_SQUARED_ERROR, "absolute_error": FM_LOSS_ABSOLUTE_ERROR,
                 "huber": FM_LOSS_HUBER, "poisson": FM_LOSS_POISSON}


cdef class _ParamPointers:
    """C arrays of the parameter arrays' data pointers, freed with the object
    (so no call path can leak them)."""
    cdef void **coefs
    cdef void **intercepts
    cdef void **bn

    def __dealloc__(self):
        free(self.coefs)
        free(self.intercepts)
        free(self.bn)


_COMPUTE_KINDS = {None: FM_COMPUTE_NATIVE, "bfloat16": FM_COMPUTE_BF16}
_PENALTIES = {"l2": FM_PENALTY_L2, "l1": FM_PENALTY_L1, "elasticnet": FM_PENALTY_ELASTICNET}


cdef int _describe_network(fm_mlp *net, units, hidden, output, out_activation, loss,
                           loss_param, alpha, dropout, batch_norm, bn_momentum,
                           bn_epsilon, penalty="l2", l1_ratio=0.15, clip_grad_norm=None,
                           clip_grad_value=None, max_norm=None, frozen_layers=(),
                           compute_dtype=None, dtype=None) except -1:
    """Fill `net` from the Python description (see MLPEngine), checking it."""
    memset(net, 0, sizeof(fm_mlp))
    if compute_dtype not in _COMPUTE_KINDS:
        raise ValueError(f"compute_dtype must be None or 'bfloat16', got {compute_dtype!r}")
    if compute_dtype is not None and np.dtype(dtype) != np.float32:
        raise ValueError(f"compute_dtype={compute_dtype!r} needs float32 parameters (its "
                         f"master weights), got {np.dtype(dtype)}")
    net.compute = _COMPUTE_KINDS[compute_dtype]
    units = [int(u) for u in units]
    if len(units) < 2 or len(units) - 1 > FM_MLP_MAX_LAYERS:
        raise ValueError(f"a network needs 1 to {FM_MLP_MAX_LAYERS} weight layers, "
                         f"got {len(units) - 1}")
    if len(hidden) != len(units) - 2:
        raise ValueError("one hidden activation per hidden layer is needed")
    net.n_layers = len(units) - 1
    for i, u in enumerate(units):
        net.units[i] = u
    for i, (name, params) in enumerate(hidden):
        net.hidden[i] = _parse_activation(name, dict(params), "activation")
    rates = [0.0] * len(hidden) if dropout is None else [float(r) for r in dropout]
    if len(rates) != len(hidden) or not all(0.0 <= r < 1.0 for r in rates):
        raise ValueError(f"dropout needs one rate in [0, 1) per hidden layer, got {dropout}")
    for i, r in enumerate(rates):
        net.dropout[i] = r
    net.batch_norm = 1 if batch_norm else 0
    net.bn_momentum = float(bn_momentum)
    net.bn_epsilon = float(bn_epsilon)
    net.output = _OUTPUTS[output]
    name, params = out_activation
    net.out_activation = _parse_activation(name, dict(params), "out_activation")
    net.loss = _TRAIN_LOSSES[loss]
    net.loss_param = float(loss_param)
    net.alpha = float(alpha)
    if penalty not in _PENALTIES:
        raise ValueError(f"penalty must be one of {sorted(_PENALTIES)}, got {penalty!r}")
    net.penalty = _PENALTIES[penalty]
    net.l1_ratio = float(l1_ratio)
    if not 0.0 <= net.l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio}")
    for name, value in (("clip_grad_norm", clip_grad_norm), ("clip_grad_value", clip_grad_value),
                        ("max_norm", max_norm)):
        if value is not None and not float(value) > 0.0:
            raise ValueError(f"{name} must be None or > 0, got {value}")
    net.clip_grad_norm = 0.0 if clip_grad_norm is None else float(clip_grad_norm)
    net.clip_grad_value = 0.0 if clip_grad_value is None else float(clip_grad_value)
    net.max_norm = 0.0 if max_norm is None else float(max_norm)
    for l in frozen_layers:
        if not 0 <= int(l) < net.n_layers:
            raise ValueError(f"frozen layer indices must be in [0, {net.n_layers}), got {l}")
        net.frozen[int(l)] = 1
    # What the C engine would refuse (as an invalid network), said here.
    if net.out_activation.kind == FM_ACT_MAXOUT:
        raise ValueError("maxout is a hidden activation only: it changes the layer's width")
    if batch_norm and any(net.hidden[i].kind == FM_ACT_MAXOUT for i in range(len(hidden))):
        raise ValueError("batch_norm is not supported with maxout layers (it would normalise "
                         "each piece)")
    return 0


cdef Py_ssize_t _network_input(const fm_mlp *net, object dtype, X, fm_input *inp,
                               list keep) except -1:
    """Describe X (dense rows, or a SciPy CSR/CSC matrix used as CSR) for
    C; arrays that must outlive the call go into `keep`. Returns n."""
    import scipy.sparse as sp
    cdef Py_ssize_t d = net.units[0]
    inp.dense = NULL
    inp.ld = 0
    inp.indptr = NULL
    inp.indices = NULL
    inp.data = NULL
    inp.check_finite = 0
    if sp.issparse(X):
        if X.ndim != 2 or X.shape[1] != d:
            raise ValueError(f"X must have shape (n, {d}), got {X.shape}")
        X = X.tocsr()
        data = np.ascontiguousarray(X.data)
        _same_dtype(data, dtype, "X")
        indptr = np.ascontiguousarray(X.indptr, dtype=np.int64)
        indices = np.ascontiguousarray(X.indices, dtype=np.int64)
        # C follows indptr and indices without checks, and SciPy does not
        # check them in full on construction (nor after they are edited).
        if (indptr.shape != (X.shape[0] + 1,) or indptr[0] < 0
                or indptr[-1] > min(data.size, indices.size)
                or np.any(np.diff(indptr) < 0)):
            raise ValueError("the sparse matrix X has an invalid indptr: its offsets must "
                             "be non-negative, non-decreasing and at most the number of "
                             "stored values")
        if indices.size and (indices.min() < 0 or indices.max() >= d):
            raise ValueError("X has column indices out of range")
        keep.extend([data, indptr, indices])
        inp.indptr = <const int64_t *>cnp.PyArray_DATA(indptr)
        inp.indices = <const int64_t *>cnp.PyArray_DATA(indices)
        inp.data = cnp.PyArray_DATA(data)
        return X.shape[0]
    X = _same_dtype(X, dtype, "X")
    if X.ndim != 2 or X.shape[1] != d:
        raise ValueError(f"X must have shape (n, {d}), got {X.shape}")
    X = _contiguous(X)
    keep.append(X)
    inp.dense = cnp.PyArray_DATA(X)
    inp.ld = max(d, 1)
    return X.shape[0]


cdef void **_parameter_pointers(const fm_mlp *net, object dtype, list arrays, bint coefs,
                                bint writeable) except NULL:
    """C array of the parameter arrays' data pointers, after checking them
    (training writes to them; prediction accepts read-only ones)."""
    cdef int L = net.n_layers
    if len(arrays) != L:
        raise ValueError(f"expected {L} parameter arrays, got {len(arrays)}")
    cdef void **ptrs = <void **>malloc(L * sizeof(void *))
    if ptrs == NULL:
        raise MemoryError()
    for l in range(L):
        arr = arrays[l]
        # fm_mlp_cols: a maxout layer's weights have a column per piece.
        if coefs:
            shape = (net.units[l], fm_mlp_cols(net, l))
        else:
            shape = (fm_mlp_cols(net, l),)
        if (not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.shape != shape
                or not arr.flags.c_contiguous or (writeable and not arr.flags.writeable)):
            free(ptrs)
            raise ValueError(f"{'coefs' if coefs else 'intercepts'}[{l}] must be a "
                             f"{'writeable ' if writeable else ''}C-contiguous {dtype} "
                             f"array of shape {shape}")
        ptrs[l] = cnp.PyArray_DATA(arr)
    return ptrs


# Seconds per part of the training epochs (products, other passes, optimizer
# step, gather) summed over every engine's epochs while profiling is on; None
# when off. A diagnostic for bench/bench_train.py, not a public interface.
_profile_totals = None
_PROFILE_PARTS = ("products", "passes", "step", "gather")


def _epoch_profile(enable):
    """Turn the epoch profile on or off for engines created from now on.

    Parameters
    ----------
    enable : bool
        Profile the epochs of engines created after this call.

    Returns
    -------
    dict or None
        The seconds per part summed since the previous call (None if the
        profile was off); the totals restart at zero.
    """
    global _profile_totals
    previous = None if _profile_totals is None else dict(zip(_PROFILE_PARTS, _profile_totals))
    _profile_totals = [0.0] * FM_PROFILE_COUNT if enable else None
    return previous


cdef class MLPEngine:
    """A network (layer widths, activations, output and loss, L2 penalty) and
    its workspace for up to `max_rows` rows of `dtype`.

    Parameters
    ----------
    units : sequence of int
        Widths of all layers, input first.
    hidden : sequence of (name, params) pairs
        Activation of each hidden layer; ``("maxout", {"pieces": k})`` gives
        a layer whose ``units[i]`` units have k pieces each: its weights are
        ``(units[i - 1], units[i] * k)``, unit j's pieces in columns
        ``j * k .. j * k + k - 1``.
    output : {"softmax", "logistic", "regression"}
    out_activation : (name, params)
        Output activation for "regression" (identity for Poisson's log link).
    loss : str
        Regression loss (ignored for classification).
    loss_param : float
        Huber's delta.
    alpha : float
        L2 penalty.
    max_rows : int
        Rows the workspace holds: the batch size, or n for L-BFGS.
    dtype : numpy dtype
        float32 or float64.
    dropout : sequence of float, optional
        Dropout rate of each hidden layer (training epochs only).
    gather_rows : bool, default=False
        Reserve the buffer that epochs gather shuffled dense rows into.
    batch_norm : bool, default=False
        Batch-normalise the hidden layers in training epochs.
    bn_momentum, bn_epsilon : float
        Running-statistics momentum and variance offset of batch norm.
    penalty : {'l2', 'l1', 'elasticnet'}, default='l2'
        The penalty of strength alpha (train.h, fm_mlp).
    l1_ratio : float, default=0.15
        Elastic-net mixing, in [0, 1].
    clip_grad_norm, clip_grad_value, max_norm : float or None
        Gradient clipping and the column max-norm constraint, in epochs.
    frozen_layers : sequence of int, default=()
        Weight layers whose W and b epochs leave as they are.
    compute_dtype : {None, "bfloat16"}, default=None
        What the products multiply: the dtype's own values, or (float32 only)
        bfloat16 roundings of them, accumulated in float32.
    """
    cdef fm_mlp net
    cdef fm_mlp_workspace *ws
    cdef readonly object dtype
    cdef readonly Py_ssize_t max_rows
    cdef readonly Py_ssize_t n_params

    def __cinit__(self, units, hidden, output, out_activation, loss, loss_param, alpha,
                  max_rows, dtype, dropout=None, gather_rows=False, batch_norm=False,
                  bn_momentum=0.1, bn_epsilon=1e-5, penalty="l2", l1_ratio=0.15,
                  clip_grad_norm=None, clip_grad_value=None, max_norm=None, frozen_layers=(),
                  compute_dtype=None):
        self.ws = NULL
        _describe_network(&self.net, units, hidden, output, out_activation, loss, loss_param,
                          alpha, dropout, batch_norm, bn_momentum, bn_epsilon, penalty,
                          l1_ratio, clip_grad_norm, clip_grad_value, max_norm, frozen_layers,
                          compute_dtype, dtype)
        self.dtype = np.dtype(dtype)
        self.max_rows = max(int(max_rows), 1)
        self.n_params = fm_mlp_n_params(&self.net)
        self.ws = fm_mlp_workspace_new(&self.net, self.max_rows, self.dtype.itemsize,
                                       1 if gather_rows else 0)
        if self.ws == NULL:
            raise MemoryError(
                f"cannot allocate the training workspace for {self.max_rows} rows of a "
                f"network with layers {units}")
        if _profile_totals is not None:
            fm_mlp_workspace_profile(self.ws, 1, NULL)

    def __dealloc__(self):
        fm_mlp_workspace_free(self.ws)

    cdef void **_pointers(self, list arrays, bint coefs, bint writeable=True) except NULL:
        return _parameter_pointers(&self.net, self.dtype, arrays, coefs, writeable)

    cdef Py_ssize_t _input(self, X, fm_input *inp, list keep) except -1:
        return _network_input(&self.net, self.dtype, X, inp, keep)

    cdef _ParamPointers _params(self, list coefs, list intercepts, bint writeable, bn=None):
        """Checked data pointers of the parameters (and batch norm's arrays)."""
        cdef _ParamPointers p = _ParamPointers()
        p.coefs = self._pointers(coefs, True, writeable)
        p.intercepts = self._pointers(intercepts, False, writeable)
        p.bn = self._bn_pointers(bn)
        return p

    cdef void **_bn_pointers(self, bn) except? NULL:
        """Batch norm's 4 arrays per hidden layer (gamma, beta, running mean,
        running variance), or NULL without batch norm."""
        cdef int hidden = self.net.n_layers - 1
        if not self.net.batch_norm:
            if bn is not None:
                raise ValueError("bn given to a network without batch_norm")
            return NULL
        if bn is None or len(bn) != 4 * hidden:
            raise ValueError(f"batch norm needs 4 arrays per hidden layer ({4 * hidden})")
        cdef void **ptrs = <void **>malloc(max(4 * hidden, 1) * sizeof(void *))
        if ptrs == NULL:
            raise MemoryError()
        for i in range(4 * hidden):
            arr = bn[i]
            shape = (self.net.units[i // 4 + 1],)
            if (not isinstance(arr, np.ndarray) or arr.dtype != self.dtype or arr.shape != shape
                    or not arr.flags.c_contiguous or not arr.flags.writeable):
                free(ptrs)
                raise ValueError(f"bn[{i}] must be a writeable C-contiguous {self.dtype} array "
                                 f"of shape {shape}")
            ptrs[i] = cnp.PyArray_DATA(arr)
        return ptrs

    cdef object _targets(self, Y, Py_ssize_t n):
        Y = _contiguous(_same_dtype(Y, self.dtype, "Y"))
        if Y.shape != (n, self.net.units[self.net.n_layers]):
            raise ValueError(f"Y must have shape ({n}, {self.net.units[self.net.n_layers]}), "
                             f"got {Y.shape}")
        return Y

    cdef object _weights(self, sw, Py_ssize_t n):
        if sw is None:
            return None
        sw = _contiguous(_same_dtype(sw, self.dtype, "sample_weight"))
        if sw.shape != (n,):
            raise ValueError(f"sample_weight must have shape ({n},), got {sw.shape}")
        return sw

    def epoch(self, list coefs, list intercepts, X, Y, sample_weight, order, Py_ssize_t batch_size,
              optimizer, seed=0, bn=None, check_finite=False):
        """Run one epoch (see fm_mlp_epoch). Returns the summed loss.

        With `check_finite` (shuffled dense X), the gather checks each row
        and a NaN or infinity raises NonFiniteInput (steps before it taken).

        `optimizer` is one object (fastmlp.optimizers): its ``kind``
        ('sgd', 'adam', 'rmsprop', 'adagrad', 'adamw', 'nadam'; anything else
        is a ValueError), hyper-parameters, step count ``t`` and ``state``
        arrays (n_params values of the engine's dtype each, updated in place);
        ``t`` (and NAdam's ``mu_product``) are written back after the epoch.
        """
        cdef fm_input inp
        cdef list keep = []
        cdef Py_ssize_t n = self._input(X, &inp, keep)
        inp.check_finite = 1 if check_finite else 0
        Y = self._targets(Y, n)
        sample_weight = self._weights(sample_weight, n)
        if order is not None:
            order = np.ascontiguousarray(order, dtype=np.int64)
            if order.shape != (n,) or (n and (order.min() < 0 or order.max() >= n)):
                raise ValueError("order must be a permutation of range(n)")
        if batch_size < 1 or batch_size > self.max_rows:
            raise ValueError(f"batch_size must be in [1, {self.max_rows}], got {batch_size}")
        cdef fm_optimizer opt
        _optimizer_struct(optimizer, self.dtype, (self.n_params,), &opt)
        cdef _ParamPointers p = self._params(coefs, intercepts, True, bn)
        cdef const void *py = cnp.PyArray_DATA(Y)
        cdef const void *psw = cnp.PyArray_DATA(sample_weight) if sample_weight is not None else NULL
        cdef const int64_t *pord = <const int64_t *>cnp.PyArray_DATA(order) if order is not None else NULL
        # The epoch runs as a series of C calls of whole minibatches, each
        # worth about _CHUNK_MACS multiply-adds (tens of milliseconds), with a
        # check for signals in between, so that Ctrl-C interrupts a long epoch
        # promptly. The chunk size depends only on the network and the batch
        # size (not on timing), so results do not depend on the machine's load.
        cdef Py_ssize_t macs_per_row = 0
        cdef Py_ssize_t item = self.dtype.itemsize
        cdef int l
        for l in range(self.net.n_layers):
            macs_per_row += 3 * self.net.units[l] * fm_mlp_cols(&self.net, l)
        cdef Py_ssize_t chunk_rows = batch_size * max(
            1, _CHUNK_MACS // max(macs_per_row * batch_size, 1))
        cdef Py_ssize_t done = 0, rows, chunk_index = 0
        cdef double loss_sum = 0.0, chunk_loss = 0.0
        cdef uint64_t base_seed = <uint64_t>(int(seed) & 0xFFFFFFFFFFFFFFFF)
        cdef uint64_t rng_seed
        cdef fm_input part
        cdef const void *py_part
        cdef const void *psw_part
        cdef const int64_t *pord_part
        cdef fm_status status = FM_OK
        cdef int threads = _n_threads
        cdef bint single = self.dtype.itemsize == 4
        cdef Py_ssize_t n_out = self.net.units[self.net.n_layers]
        # Steps taken before an error or Ctrl-C count too: the arrays hold them.
        try:
            while done < n:
                rows = min(chunk_rows, n - done)
                # Rows [done, done + rows): through the order, or by offsetting
                # the inputs (CSR offsets stay valid: indptr holds absolute ones).
                part = inp
                py_part = py
                psw_part = psw
                pord_part = pord + done if pord != NULL else NULL
                if pord == NULL:
                    if inp.dense != NULL:
                        part.dense = <const char *>inp.dense + done * inp.ld * item
                    else:
                        part.indptr = inp.indptr + done
                    py_part = <const char *>py + done * n_out * item
                    if psw != NULL:
                        psw_part = <const char *>psw + done * item
                rng_seed = base_seed + <uint64_t>chunk_index * <uint64_t>0x9E3779B97F4A7C15
                with nogil:
                    if single:
                        status = fm_mlp_epoch_f32(&self.net, <float *const *>p.coefs,
                                                  <float *const *>p.intercepts, <float *const *>p.bn,
                                                  &part, <const float *>py_part,
                                                  <const float *>psw_part, pord_part, rows,
                                                  batch_size, &opt, self.ws, threads, rng_seed,
                                                  &chunk_loss)
                    else:
                        status = fm_mlp_epoch_f64(&self.net, <double *const *>p.coefs,
                                                  <double *const *>p.intercepts, <double *const *>p.bn,
                                                  &part, <const double *>py_part,
                                                  <const double *>psw_part, pord_part, rows,
                                                  batch_size, &opt, self.ws, threads, rng_seed,
                                                  &chunk_loss)
                if status != FM_OK:
                    break
                loss_sum += chunk_loss
                done += rows
                chunk_index += 1
                PyErr_CheckSignals()  # raises KeyboardInterrupt on Ctrl-C
        finally:
            _optimizer_advanced(optimizer, &opt)
        cdef double seconds[FM_PROFILE_COUNT]
        if _profile_totals is not None:
            fm_mlp_workspace_profile(self.ws, 1, seconds)
            for l in range(FM_PROFILE_COUNT):
                _profile_totals[l] += seconds[l]
        _raise_status(status, "training epoch")
        return loss_sum

    def loss_grad(self, list coefs, list intercepts, X, Y, sample_weight):
        """Full-batch loss and flat gradient (a new array, scikit-learn's order)."""
        cdef fm_input inp
        cdef list keep = []
        cdef Py_ssize_t n = self._input(X, &inp, keep)
        if n > self.max_rows:
            raise ValueError(f"the workspace holds {self.max_rows} rows, got {n}")
        Y = self._targets(Y, n)
        sample_weight = self._weights(sample_weight, n)
        cdef _ParamPointers p = self._params(coefs, intercepts, True)
        cdef const void *py = cnp.PyArray_DATA(Y)
        cdef const void *psw = cnp.PyArray_DATA(sample_weight) if sample_weight is not None else NULL
        cdef double loss = 0.0
        cdef fm_status status
        cdef int threads = _n_threads
        cdef bint single = self.dtype.itemsize == 4
        with nogil:
            if single:
                status = fm_mlp_loss_grad_f32(&self.net, <float *const *>p.coefs, <float *const *>p.intercepts,
                                              &inp, <const float *>py,
                                              <const float *>psw, n, self.ws, threads, &loss)
            else:
                status = fm_mlp_loss_grad_f64(&self.net, <double *const *>p.coefs,
                                              <double *const *>p.intercepts, &inp,
                                              <const double *>py, <const double *>psw, n,
                                              self.ws, threads, &loss)
        _raise_status(status, "loss and gradient")
        grad = np.empty(self.n_params, dtype=self.dtype)
        cdef char *src = <char *>fm_mlp_workspace_grad(self.ws)
        cdef char *dst = <char *>cnp.PyArray_DATA(grad)
        memcpy(dst, src, self.n_params * self.dtype.itemsize)
        return loss, grad

    def loss(self, list coefs, list intercepts, X, Y, sample_weight):
        """Loss of X's rows against Y (forward passes only, in chunks)."""
        cdef fm_input inp
        cdef list keep = []
        cdef Py_ssize_t n = self._input(X, &inp, keep)
        if n < 1:
            raise ValueError("the loss needs at least one row")
        Y = self._targets(Y, n)
        sample_weight = self._weights(sample_weight, n)
        cdef _ParamPointers p = self._params(coefs, intercepts, False)
        cdef const void *py = cnp.PyArray_DATA(Y)
        cdef const void *psw = cnp.PyArray_DATA(sample_weight) if sample_weight is not None else NULL
        cdef double loss = 0.0
        cdef fm_status status
        cdef int threads = _n_threads
        cdef bint single = self.dtype.itemsize == 4
        with nogil:
            if single:
                status = fm_mlp_loss_f32(&self.net, <float *const *>p.coefs, <float *const *>p.intercepts,
                                         &inp, <const float *>py,
                                         <const float *>psw, n, self.ws, threads, &loss)
            else:
                status = fm_mlp_loss_f64(&self.net, <double *const *>p.coefs, <double *const *>p.intercepts,
                                         &inp, <const double *>py,
                                         <const double *>psw, n, self.ws, threads, &loss)
        _raise_status(status, "loss")
        return loss


cdef class MLPPredictor:
    """The forward pass of a fitted network, for prediction: the network's
    description and its parameter arrays, checked once here, so that each
    call only checks X and runs one C call (GIL released) with a workspace
    of its own. Calls may run concurrently from many threads.

    The arrays are referenced, not copied, and nothing derived from them is
    kept between calls: values changed in place are seen by the next call.
    A bfloat16 predictor packs the weights in bfloat16 inside each call
    (fm_mlp_predict with no packed weights), so that no stale copy can exist
    whatever wrote to the arrays (an optimizer step, set_weights, a user's
    ``coefs_[0][...] = x``); the packing reads each weight once, amortised
    over the call's rows.

    Parameters
    ----------
    units, hidden, output, out_activation, loss, loss_param
        As for :class:`MLPEngine`.
    coefs, intercepts : list of ndarray
        C-contiguous parameter arrays of one float dtype (read-only is fine;
        batch norm already folded in).
    compute_dtype : {None, "bfloat16"}, default=None
        As for :class:`MLPEngine` (bfloat16 needs float32 parameters).
    """
    cdef fm_mlp net
    cdef readonly object dtype
    cdef readonly object compute_dtype
    cdef readonly list coefs
    cdef readonly list intercepts
    cdef _ParamPointers params

    def __cinit__(self, units, hidden, output, out_activation, loss, loss_param, list coefs,
                  list intercepts, compute_dtype=None):
        if not coefs or not isinstance(coefs[0], np.ndarray):
            raise ValueError("coefs must be a non-empty list of arrays")
        _describe_network(&self.net, units, hidden, output, out_activation, loss, loss_param,
                          0.0, None, False, 0.1, 1e-5, "l2", 0.15, None, None, None, (),
                          compute_dtype, coefs[0].dtype)
        self.compute_dtype = compute_dtype
        self.dtype = coefs[0].dtype
        if self.dtype not in _FLOAT_DTYPES:
            raise TypeError(f"coefs must have dtype float32 or float64, got {self.dtype}")
        self.coefs = list(coefs)
        self.intercepts = list(intercepts)
        self.params = _ParamPointers()
        self.params.coefs = _parameter_pointers(&self.net, self.dtype, self.coefs, True, False)
        self.params.intercepts = _parameter_pointers(&self.net, self.dtype, self.intercepts,
                                                     False, False)

    def predict(self, X, n_layers=None):
        """Output-layer activations of X's rows (probabilities for
        classifiers), or with `n_layers` those of the layer the first
        `n_layers` layers of weights lead to (1 is the first hidden layer):
        the forward pass stops there.

        X is a 2-D ndarray of the parameters' dtype (copied once if not
        C-contiguous) or a SciPy CSR/CSC matrix.
        """
        cdef fm_input inp
        cdef list keep = []
        cdef int n_run = self.net.n_layers if n_layers is None else n_layers
        if not 1 <= n_run <= self.net.n_layers:
            raise ValueError(f"n_layers must be in [1, {self.net.n_layers}], got {n_layers}")
        cdef Py_ssize_t n = _network_input(&self.net, self.dtype, X, &inp, keep)
        out = np.empty((n, self.net.units[n_run]), dtype=self.dtype)
        cdef void *po = cnp.PyArray_DATA(out)
        cdef fm_status status
        cdef int threads = _n_threads
        cdef bint single = self.dtype.itemsize == 4
        with nogil:
            if single:
                status = fm_mlp_predict_f32(&self.net, <float *const *>self.params.coefs,
                                            <float *const *>self.params.intercepts, &inp, n,
                                            <float *>po, NULL, NULL, threads, n_run)
            else:
                status = fm_mlp_predict_f64(&self.net, <double *const *>self.params.coefs,
                                            <double *const *>self.params.intercepts, &inp, n,
                                            <double *>po, NULL, NULL, threads, n_run)
        _raise_status(status, "predict")
        return out
