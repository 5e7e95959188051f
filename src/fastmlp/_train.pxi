# The MLP training engine (csrc/train.h), included by _kernels.pyx.
#
# MLPEngine holds a network's description and a workspace sized for a
# number of rows; the estimators create one per fit and call epoch() once per
# epoch, loss_grad() once per L-BFGS evaluation, loss() for validation data.
# MLPPredictor holds a fitted network's description and parameter pointers,
# checked once; the estimators keep one and call predict() once per call.
from libc.stdlib cimport calloc, malloc, free
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
_CONVENTIONS = {"sklearn": FM_CONVENTION_SKLEARN, "keras": FM_CONVENTION_KERAS}
_PENALTIES = {"l2": FM_PENALTY_L2, "l1": FM_PENALTY_L1, "elasticnet": FM_PENALTY_ELASTICNET}


_BN_PLACEMENTS = {None: FM_BN_OFF, False: FM_BN_OFF, "before": FM_BN_BEFORE,
                  "after": FM_BN_AFTER}
# The output layer's activation and loss that the engine's output kinds pair.
_CLASSIFIER_LOSSES = {"log_loss": ("softmax", FM_OUTPUT_SOFTMAX_LOG_LOSS),
                      "binary_log_loss": ("logistic", FM_OUTPUT_LOGISTIC_LOG_LOSS)}


def _optional_positive(value, name):
    if value is None:
        return 0.0
    if not float(value) > 0.0:
        raise ValueError(f"{name} must be None or > 0, got {value}")
    return float(value)


def _non_negative(value, name):
    value = float(value)
    if not value >= 0.0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


cdef int _describe_layer(fm_layer *ly, layer, int index, bint last) except -1:
    """Fill one fm_layer from a layer description (fastmlp.network.Layer's
    fields), checking it."""
    where = f"layers[{index}]"
    ly.units = int(layer.units)
    if ly.units < 1:
        raise ValueError(f"{where}.units must be >= 1, got {layer.units}")
    ly.activation = _parse_activation(layer.activation, dict(layer.activation_params or {}),
                                      f"{where}.activation")
    ly.dropout = float(layer.dropout)
    if not 0.0 <= ly.dropout < 1.0:
        raise ValueError(f"{where}.dropout must be in [0, 1), got {layer.dropout}")
    if layer.batch_norm not in _BN_PLACEMENTS:
        raise ValueError(f"{where}.batch_norm must be None, 'before' or 'after', got "
                         f"{layer.batch_norm!r}")
    ly.batch_norm = _BN_PLACEMENTS[layer.batch_norm]
    ly.bn_momentum = float(layer.bn_momentum)
    ly.bn_epsilon = float(layer.bn_epsilon)
    if ly.batch_norm != FM_BN_OFF:
        if last:
            raise ValueError("batch_norm is for hidden layers; the output layer takes none")
        if not (ly.bn_epsilon > 0.0 and 0.0 <= ly.bn_momentum <= 1.0):
            raise ValueError(f"{where}: bn_momentum must be in [0, 1] and bn_epsilon > 0")
        if ly.activation.kind == FM_ACT_MAXOUT and ly.batch_norm == FM_BN_BEFORE:
            raise ValueError("batch_norm is not supported with maxout layers (it would "
                             "normalise each piece)")
    if layer.bn_moving_variance not in ("unbiased", "biased"):
        raise ValueError(f"{where}.bn_moving_variance must be 'unbiased' or 'biased'")
    ly.bn_unbiased = 1 if layer.bn_moving_variance == "unbiased" else 0
    ly.kernel_l1 = _non_negative(layer.kernel_l1, f"{where}.kernel_l1")
    ly.kernel_l2 = _non_negative(layer.kernel_l2, f"{where}.kernel_l2")
    ly.bias_l1 = _non_negative(layer.bias_l1, f"{where}.bias_l1")
    ly.bias_l2 = _non_negative(layer.bias_l2, f"{where}.bias_l2")
    ly.max_norm = _optional_positive(layer.max_norm, "max_norm")
    ly.frozen = 1 if layer.frozen else 0
    ly.use_bias = 1 if layer.use_bias else 0
    if last and ly.activation.kind == FM_ACT_MAXOUT:
        raise ValueError("maxout is a hidden activation only: it changes the layer's width")
    if not last and ly.activation.kind in (FM_ACT_SOFTMAX, FM_ACT_HEAVISIDE):
        raise ValueError(f"{where}.activation {layer.activation!r} is not a hidden activation")
    return 0


cdef int _describe_network(fm_mlp *net, network, dtype) except -1:
    """Fill `net` from a network description (fastmlp.network.Network: read
    field by field, as _optimizer_struct reads the optimizer), checking it."""
    memset(net, 0, sizeof(fm_mlp))
    compute_dtype = network.compute_dtype
    if compute_dtype not in _COMPUTE_KINDS:
        raise ValueError(f"compute_dtype must be None or 'bfloat16', got {compute_dtype!r}")
    if compute_dtype is not None and np.dtype(dtype) != np.float32:
        raise ValueError(f"compute_dtype={compute_dtype!r} needs float32 parameters (its "
                         f"master weights), got {np.dtype(dtype)}")
    net.compute = _COMPUTE_KINDS[compute_dtype]
    layers = list(network.layers)
    if not 1 <= len(layers) <= FM_MLP_MAX_LAYERS:
        raise ValueError(f"a network needs 1 to {FM_MLP_MAX_LAYERS} weight layers, "
                         f"got {len(layers)}")
    net.n_layers = len(layers)
    net.n_inputs = int(network.n_inputs)
    if net.n_inputs < 1:
        raise ValueError(f"n_inputs must be >= 1, got {network.n_inputs}")
    for l, layer in enumerate(layers):
        _describe_layer(&net.layer[l], layer, l, l == len(layers) - 1)
    loss = network.loss
    out_activation = layers[len(layers) - 1].activation  # (no wraparound here)
    if loss in _CLASSIFIER_LOSSES:
        activation, net.output = _CLASSIFIER_LOSSES[loss]
        if out_activation != activation:
            raise ValueError(f"loss {loss!r} needs the {activation!r} output activation, got "
                             f"{out_activation!r}")
    elif loss in _TRAIN_LOSSES:
        net.output = FM_OUTPUT_REGRESSION
        net.loss = _TRAIN_LOSSES[loss]
    else:
        raise ValueError(f"loss must be one of {sorted(_CLASSIFIER_LOSSES) + sorted(_TRAIN_LOSSES)}"
                         f", got {loss!r}")
    net.loss_param = float(network.loss_param)
    net.alpha = float(network.alpha)
    penalty = network.penalty
    if penalty not in _PENALTIES:
        raise ValueError(f"penalty must be one of {sorted(_PENALTIES)}, got {penalty!r}")
    net.penalty = _PENALTIES[penalty]
    net.l1_ratio = float(network.l1_ratio)
    if not 0.0 <= net.l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio must be in [0, 1], got {network.l1_ratio}")
    net.clip_grad_norm = _optional_positive(network.clip_grad_norm, "clip_grad_norm")
    net.clip_grad_value = _optional_positive(network.clip_grad_value, "clip_grad_value")
    convention = getattr(network, "convention", "sklearn")
    if convention not in _CONVENTIONS:
        raise ValueError(f"convention must be 'sklearn' or 'keras', got {convention!r}")
    net.convention = _CONVENTIONS[convention]
    return 0


def network_layout(network):
    """The flat parameter layout of a network description, from the engine's
    one function (fm_mlp_fill_layout).

    Parameters
    ----------
    network : fastmlp.network.Network
        The description (read as MLPEngine reads it).

    Returns
    -------
    dict
        ``coef``, ``intercept``, ``gamma``, ``beta``: the offset of each
        layer's array in the flat vector (-1 without batch norm), and
        ``n_params``.
    """
    cdef fm_mlp net
    cdef fm_mlp_layout layout
    _describe_network(&net, network, np.float64 if network.compute_dtype is None
                      else np.float32)
    if not fm_mlp_fill_layout(&net, &layout):
        raise OverflowError("the network's parameter count overflows int64")
    cdef int L = net.n_layers
    return {"coef": [layout.coef[l] for l in range(L)],
            "intercept": [layout.intercept[l] for l in range(L)],
            "gamma": [layout.gamma[l] for l in range(L)],
            "beta": [layout.beta[l] for l in range(L)],
            "n_params": layout.n_params}


cdef Py_ssize_t _network_input(const fm_mlp *net, object dtype, X, fm_input *inp,
                               list keep) except -1:
    """Describe X (dense rows, or a SciPy CSR/CSC matrix used as CSR) for
    C; arrays that must outlive the call go into `keep`. Returns n."""
    import scipy.sparse as sp
    cdef Py_ssize_t d = net.n_inputs
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
            shape = (fm_mlp_width(net, l), fm_mlp_cols(net, l))
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


# Whether engines created from now on fuse the weight gradient of their
# large layers into the optimizer step (fm_mlp_workspace_fuse_step): the same
# bits either way; off only for the tests that hold the two paths together.
_fuse_step = True


def _fused_step(enable):
    """Fuse the weight-gradient products into the optimizer step (or not)
    in the engines created after this call.

    Parameters
    ----------
    enable : bool
        Fused (the default) or the backward pass's whole weight gradients.

    Returns
    -------
    bool
        The previous setting.
    """
    global _fuse_step
    previous, _fuse_step = _fuse_step, bool(enable)
    return previous


# How engines created from now on treat a mostly-zero dense input
# (fm_mlp_workspace_sparse_input): "auto" (the default), "always" or "off".
# The same values every way; the others only for the tests that hold the
# paths together.
_SPARSE_MODES = {"off": FM_SPARSE_OFF, "auto": FM_SPARSE_AUTO, "always": FM_SPARSE_ALWAYS}
_sparse_input = "auto"


def _sparse_input_mode(mode):
    """Run the first layer of epochs on the compressed minibatch: "auto"
    (when the epoch's first minibatch is at most 30% nonzero; a SciPy
    sparse X always), "always" or "off" (a sparse X: the CSR loops), in
    the engines created after this call.

    Parameters
    ----------
    mode : {"auto", "always", "off"}

    Returns
    -------
    str
        The previous setting.
    """
    global _sparse_input
    if mode not in _SPARSE_MODES:
        raise ValueError(f"mode must be one of {sorted(_SPARSE_MODES)}, got {mode!r}")
    previous, _sparse_input = _sparse_input, mode
    return previous


cdef class MLPEngine:
    """A network description and its workspace for up to `max_rows` rows
    of `dtype`: the training epochs, L-BFGS's loss and gradient, and
    validation losses.

    Parameters
    ----------
    network : fastmlp.network.Network
        The network, read field by field (its layers' units, activations
        and parameters, dropout, batch norm, penalties, max-norm, frozen
        flags and biases; the output's loss; alpha and the penalty kind,
        clipping, ``compute_dtype``). What acts in training epochs only
        (dropout, batch norm's batch statistics, clipping, max-norm, frozen
        layers) is off in a description for prediction
        (``Network.for_prediction``).
    max_rows : int
        Rows the workspace holds: the batch size, or n for L-BFGS.
    dtype : numpy dtype
        float32 or float64.
    gather_rows : bool, default=False
        Reserve the buffer that epochs gather shuffled dense rows into.
    """
    cdef fm_mlp net
    cdef fm_mlp_workspace *ws
    cdef bint fuse_step
    cdef int sparse_mode
    cdef readonly object dtype
    cdef readonly Py_ssize_t max_rows
    cdef readonly Py_ssize_t n_params

    def __cinit__(self, network, max_rows, dtype, gather_rows=False):
        self.ws = NULL
        _describe_network(&self.net, network, dtype)
        self.dtype = np.dtype(dtype)
        self.max_rows = max(int(max_rows), 1)
        self.n_params = fm_mlp_n_params(&self.net)
        self.ws = fm_mlp_workspace_new(&self.net, self.max_rows, self.dtype.itemsize,
                                       1 if gather_rows else 0)
        if self.ws == NULL:
            raise MemoryError(
                f"cannot allocate the training workspace for {self.max_rows} rows of a "
                f"network with layers {[self.net.n_inputs] + [l.units for l in network.layers]}")
        if _profile_totals is not None:
            fm_mlp_workspace_profile(self.ws, 1, NULL)
        self.fuse_step = _fuse_step
        fm_mlp_workspace_fuse_step(self.ws, 1 if self.fuse_step else 0)
        self.sparse_mode = _SPARSE_MODES[_sparse_input]
        fm_mlp_workspace_sparse_input(self.ws, self.sparse_mode)

    def __dealloc__(self):
        fm_mlp_workspace_free(self.ws)

    def _fused_chunks(self):
        """Chunks of weight gradient fused into the optimizer step since the
        last call (fm_mlp_workspace_fuse_step; a test's check that the fused
        path ran)."""
        return int(fm_mlp_workspace_fuse_step(self.ws, 1 if self.fuse_step else 0))

    def _product_steps(self):
        """Weight matrices stepped inside their gradient's product since the
        last call (fm_mlp_workspace_product_steps; a test's check that the
        path ran)."""
        return int(fm_mlp_workspace_product_steps(self.ws))

    def _sparse_batches(self):
        """Minibatches whose first layer ran on the compressed input since
        the last call (fm_mlp_workspace_sparse_input; a test's check that
        the path ran)."""
        return int(fm_mlp_workspace_sparse_input(self.ws, self.sparse_mode))

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
        """Batch norm's 4 arrays per batch-normalised layer, in layer order
        (gamma, beta, running mean, running variance), spread into the
        engine's 4 slots per weight layer (NULL for the others); NULL when
        no layer has batch norm."""
        cdef int L = self.net.n_layers
        bn_layers = [l for l in range(L) if self.net.layer[l].batch_norm != FM_BN_OFF]
        if not bn_layers:
            if bn:
                raise ValueError("bn given to a network without batch_norm")
            return NULL
        if bn is None or len(bn) != 4 * len(bn_layers):
            raise ValueError(f"batch norm needs 4 arrays per batch-normalised layer "
                             f"({4 * len(bn_layers)})")
        cdef void **ptrs = <void **>calloc(4 * L, sizeof(void *))
        if ptrs == NULL:
            raise MemoryError()
        for i in range(4 * len(bn_layers)):
            arr = bn[i]
            l = bn_layers[i // 4]
            shape = (self.net.layer[l].units,)
            if (not isinstance(arr, np.ndarray) or arr.dtype != self.dtype or arr.shape != shape
                    or not arr.flags.c_contiguous or not arr.flags.writeable):
                free(ptrs)
                raise ValueError(f"bn[{i}] must be a writeable C-contiguous {self.dtype} array "
                                 f"of shape {shape}")
            ptrs[4 * l + i % 4] = cnp.PyArray_DATA(arr)
        return ptrs

    cdef object _targets(self, Y, Py_ssize_t n):
        Y = _contiguous(_same_dtype(Y, self.dtype, "Y"))
        cdef int64_t n_out = self.net.layer[self.net.n_layers - 1].units
        if Y.shape != (n, n_out):
            raise ValueError(f"Y must have shape ({n}, {n_out}), got {Y.shape}")
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
        An optional ``lr_steps`` (float64 array, a schedule's rates) gives
        each step its rate in turn instead of ``learning_rate``: it must hold
        at least one per minibatch; the rates not taken are written back.
        """
        cdef fm_input inp
        cdef list keep = []
        cdef Py_ssize_t n = self._input(X, &inp, keep)
        if inp.dense == NULL and self.net.layer[0].dropout > 0.0:
            raise ValueError("dropout of the input (layers[0].dropout) needs dense X: CSR "
                             "input does not store the values it would drop")
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
        if opt.lr_steps != NULL and opt.n_lr_steps < (n + batch_size - 1) // batch_size:
            raise ValueError(f"optimizer lr_steps holds {opt.n_lr_steps} rate(s); the epoch "
                             f"takes {(n + batch_size - 1) // batch_size} steps")
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
            macs_per_row += 3 * fm_mlp_width(&self.net, l) * fm_mlp_cols(&self.net, l)
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
        cdef Py_ssize_t n_out = self.net.layer[self.net.n_layers - 1].units
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

    def accuracy(self, enable=True):
        """The training accuracy counted by the epochs since the last call
        (fm_mlp_workspace_accuracy: each minibatch's forward pass before its
        step; softmax outputs by argmax, logistic ones per output at 0.5),
        then counting restarts, on with `enable`, off without.

        Returns
        -------
        tuple of float
            (sum of sample weight x right, sum of sample weight); both 0 for
            regression, or before counting was enabled.
        """
        cdef double out[2]
        fm_mlp_workspace_accuracy(self.ws, 1 if enable else 0, out)
        return out[0], out[1]

    def metrics(self, enable=True):
        """The training metrics counted by the epochs since the last call
        (fm_mlp_workspace_metrics: each minibatch's forward pass before its
        step), then counting restarts, on with `enable`, off without.

        Parameters
        ----------
        enable : bool, default=True
            Count in the epochs that follow.

        Returns
        -------
        dict
            Sums over the rows (not weighted, as Keras's ``metrics``): ``weight``
            (the rows),
            ``argmax`` (rows whose output and target argmax agree),
            ``threshold`` (fraction of outputs on the target's side of 0.5),
            ``squared`` and ``absolute`` (mean over outputs of the squared
            and absolute errors); all 0 before counting was enabled.
        """
        cdef double out[FM_METRIC_COUNT]
        fm_mlp_workspace_metrics(self.ws, 1 if enable else 0, out)
        return {"weight": out[FM_METRIC_WEIGHT], "argmax": out[FM_METRIC_ARGMAX],
                "threshold": out[FM_METRIC_THRESHOLD], "squared": out[FM_METRIC_SQUARED],
                "absolute": out[FM_METRIC_ABSOLUTE]}

    def loss_grad(self, list coefs, list intercepts, X, Y, sample_weight, bn=None):
        """Full-batch loss and flat gradient (a new array, the layout's
        order); with batch norm, `bn` as for `epoch` (whole-batch
        statistics; the running ones move once)."""
        cdef fm_input inp
        cdef list keep = []
        cdef Py_ssize_t n = self._input(X, &inp, keep)
        if n > self.max_rows:
            raise ValueError(f"the workspace holds {self.max_rows} rows, got {n}")
        Y = self._targets(Y, n)
        sample_weight = self._weights(sample_weight, n)
        cdef _ParamPointers p = self._params(coefs, intercepts, True, bn)
        cdef const void *py = cnp.PyArray_DATA(Y)
        cdef const void *psw = cnp.PyArray_DATA(sample_weight) if sample_weight is not None else NULL
        cdef double loss = 0.0
        cdef fm_status status
        cdef int threads = _n_threads
        cdef bint single = self.dtype.itemsize == 4
        with nogil:
            if single:
                status = fm_mlp_loss_grad_f32(&self.net, <float *const *>p.coefs, <float *const *>p.intercepts,
                                              <float *const *>p.bn, &inp, <const float *>py,
                                              <const float *>psw, n, self.ws, threads, &loss)
            else:
                status = fm_mlp_loss_grad_f64(&self.net, <double *const *>p.coefs,
                                              <double *const *>p.intercepts,
                                              <double *const *>p.bn, &inp,
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
    network : fastmlp.network.Network
        The network's description for prediction (batch norm folded into
        the weights: ``Network.for_prediction``); its ``compute_dtype``
        None or "bfloat16" (float32 parameters).
    coefs, intercepts : list of ndarray
        C-contiguous parameter arrays of one float dtype (read-only is fine).
    """
    cdef fm_mlp net
    cdef readonly object dtype
    cdef readonly object compute_dtype
    cdef readonly list coefs
    cdef readonly list intercepts
    cdef _ParamPointers params

    def __cinit__(self, network, list coefs, list intercepts):
        if not coefs or not isinstance(coefs[0], np.ndarray):
            raise ValueError("coefs must be a non-empty list of arrays")
        _describe_network(&self.net, network, coefs[0].dtype)
        for l in range(self.net.n_layers):
            if self.net.layer[l].batch_norm != FM_BN_OFF:
                raise ValueError("a predictor's network has batch norm folded into its weights "
                                 "(Network.for_prediction)")
        self.compute_dtype = network.compute_dtype
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
        out = np.empty((n, fm_mlp_width(&self.net, n_run)), dtype=self.dtype)
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
