# GEMM and the fused dense layer (included by _kernels.pyx).


cdef tuple _operand(object arr, object dtype, str name, bint trans):
    """(data, rows of op(arr), cols of op(arr), C transpose flag, ld) of a GEMM operand."""
    _same_dtype(arr, dtype, name)
    rows, flipped, ld = _as_rows(arr, name)
    r, c = arr.shape
    if trans:
        r, c = c, r
    return rows, r, c, bool(trans) ^ flipped, ld


cdef void _check_no_overlap(object out, object arr, str name) except *:
    if out is not None and np.may_share_memory(out, arr):
        raise ValueError(f"out must not overlap {name}")


def gemm(a, b, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
    dtype = _float_dtype(a, "a")
    a_rows, m, k, ta, lda = _operand(a, dtype, "a", trans_a)
    b_rows, kb, n, tb, ldb = _operand(b, dtype, "b", trans_b)
    if kb != k:
        raise ValueError(
            f"op(a) has {k} columns but op(b) has {kb} rows (a{a.shape}, "
            f"trans_a={bool(trans_a)}; b{b.shape}, trans_b={bool(trans_b)})")
    _check_no_overlap(out, a, "a")
    _check_no_overlap(out, b, "b")
    cdef double alpha_d = _real(alpha, "alpha")
    cdef double beta_d = _real(beta, "beta")
    cdef double beta_eff = beta_d if out is not None else 0.0
    out = _check_out(out, (m, n), dtype)

    cdef int64_t M = m, N = n, K = k, LDA = lda, LDB = ldb, LDC = max(n, 1)
    cdef int TA = ta, TB = tb
    cdef void *pa = cnp.PyArray_DATA(a_rows)
    cdef void *pb = cnp.PyArray_DATA(b_rows)
    cdef void *pc = cnp.PyArray_DATA(out)
    cdef fm_status status
    cdef fm_gemm_backend backend = _gemm_backend
    cdef int threads = _n_threads
    if dtype == np.float32:
        with nogil:
            status = fm_gemm_f32(backend, threads, TA, TB, M, N, K, <float>alpha_d,
                                 <const float *>pa, LDA, <const float *>pb, LDB,
                                 <float>beta_eff, <float *>pc, LDC)
    else:
        with nogil:
            status = fm_gemm_f64(backend, threads, TA, TB, M, N, K, alpha_d,
                                 <const double *>pa, LDA, <const double *>pb, LDB,
                                 beta_eff, <double *>pc, LDC)
    _raise_status(status, "gemm")
    return out


def dense(x, w, b, activation="identity", *, out=None, **params):
    cdef fm_activation act = _parse_activation(activation, params, "activation")
    if act.kind == FM_ACT_MAXOUT:
        raise ValueError("dense() has no maxout output stage (maxout narrows the output): "
                         "compute dense(x, w, b) and then activation(z, 'maxout', pieces=k)")
    dtype = _float_dtype(x, "x")
    x_rows, m, k, tx, ldx = _operand(x, dtype, "x", False)
    w_rows, kw, n, tw, ldw = _operand(w, dtype, "w", False)
    if kw != k:
        raise ValueError(f"x has {k} features (columns) but w has {kw} rows; w must be (n_in, n_out)")
    cdef void *pbias = NULL
    if b is not None:
        _same_dtype(b, dtype, "b")
        if b.ndim != 1 or b.shape[0] != n:
            raise ValueError(f"b must have shape ({n},) to match w, got {b.shape}")
        b = _contiguous(b)
        pbias = cnp.PyArray_DATA(b)
    if out is not None:
        for arr, name in ((x, "x"), (w, "w"), (b, "b")):
            if arr is not None:
                _check_no_overlap(out, arr, name)
    out = _check_out(out, (m, n), dtype)

    cdef int64_t M = m, N = n, K = k, LDX = ldx, LDW = ldw, LDO = max(n, 1)
    cdef int TX = tx, TW = tw
    cdef void *px = cnp.PyArray_DATA(x_rows)
    cdef void *pw = cnp.PyArray_DATA(w_rows)
    cdef void *po = cnp.PyArray_DATA(out)
    cdef fm_status status
    cdef fm_gemm_backend backend = _gemm_backend
    cdef int threads = _n_threads
    if dtype == np.float32:
        with nogil:
            status = fm_dense_forward_f32(backend, threads, TX, TW, M, N, K,
                                          <const float *>px, LDX, <const float *>pw, LDW,
                                          <const float *>pbias, act, <float *>po, LDO)
    else:
        with nogil:
            status = fm_dense_forward_f64(backend, threads, TX, TW, M, N, K,
                                          <const double *>px, LDX, <const double *>pw, LDW,
                                          <const double *>pbias, act, <double *>po, LDO)
    _raise_status(status, "dense")
    return out
