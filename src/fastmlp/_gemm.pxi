# GEMM and the fused dense layer (included by _kernels.pyx).


cdef tuple _operand(object arr, object dtype, str name, bint trans):
    """(data, rows of op(arr), cols of op(arr), C transpose flag, ld) of a GEMM operand."""
    _same_dtype(arr, dtype, name)
    rows, flipped, ld = _as_rows(arr, name)
    # (_as_rows checked ndim == 2.)
    cdef Py_ssize_t r = cnp.PyArray_DIM(<cnp.ndarray>arr, 0)
    cdef Py_ssize_t c = cnp.PyArray_DIM(<cnp.ndarray>arr, 1)
    if trans:
        r, c = c, r
    return rows, r, c, trans != <bint>flipped, ld


cdef void _check_no_overlap(object out, object arr, str name) except *:
    # (A non-array out is _check_out's error; arr is an ndarray here.)
    if isinstance(out, cnp.ndarray) and _may_share_memory(out, arr):
        raise ValueError(f"out must not overlap {name}")


cdef bint _bf16_compute(object compute_dtype, object dtype) except -1:
    """True for compute_dtype "bfloat16" (float32 arrays only), False for None/the dtype."""
    if compute_dtype is None:
        return False
    if compute_dtype in ("bfloat16", "bf16"):
        if dtype != np.float32:
            raise TypeError(f"compute_dtype='bfloat16' takes float32 arrays, got {dtype}")
        return True
    if isinstance(compute_dtype, str) and compute_dtype == dtype.name:
        return False
    raise ValueError(f"compute_dtype must be None, 'bfloat16' or the arrays' dtype "
                     f"({dtype.name}), got {compute_dtype!r}")


def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None,
         compute_dtype=None):
    # (Positional parameters: fastmlp.kernels.gemm passes them so, which for
    # small products saves a measurable part of the call.)
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

    cdef int64_t M = m, N = n, K = k, LDA = lda, LDB = ldb
    cdef int64_t LDC = N if N > 1 else 1
    cdef int TA = ta, TB = tb
    cdef void *pa = cnp.PyArray_DATA(a_rows)
    cdef void *pb = cnp.PyArray_DATA(b_rows)
    cdef void *pc = cnp.PyArray_DATA(out)
    cdef fm_status status
    cdef fm_gemm_backend backend = _gemm_backend
    cdef int threads = _n_threads
    cdef bint bf16 = _bf16_compute(compute_dtype, dtype)
    if bf16:
        with nogil:
            status = fm_gemm_bf16_f32(threads, TA, TB, M, N, K, <float>alpha_d,
                                      <const float *>pa, LDA, <const float *>pb, LDB,
                                      <float>beta_eff, <float *>pc, LDC)
    elif dtype.num == cnp.NPY_FLOAT32:
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


def dense(x, w, b, activation="identity", *, out=None, compute_dtype=None, **params):
    cdef fm_activation act = _parse_activation(activation, params, "activation")
    if act.kind == FM_ACT_MAXOUT:
        raise ValueError("dense() has no maxout output stage (maxout narrows the output): "
                         "compute dense(x, w, b) and then activation(z, 'maxout', pieces=k)")
    dtype = _float_dtype(x, "x")
    cdef bint bf16 = _bf16_compute(compute_dtype, dtype)
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
    if bf16:
        with nogil:
            status = fm_dense_forward_bf16_f32(threads, TX, TW, M, N, K,
                                               <const float *>px, LDX, <const float *>pw, LDW,
                                               <const float *>pbias, act, <float *>po, LDO)
    elif dtype.num == cnp.NPY_FLOAT32:
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


# ---------------------------------------------------------------------------
# bf16 packing and the AMX probe's guard, for tests (private)
# ---------------------------------------------------------------------------

def _bf16_pack_b(b, trans_b=False):
    """op(b) (k, n) float32 packed for bf16 products: a uint16 array of
    (ceil(n/16), ceil(k/32), 16, 16, 2) bf16 bits (panel, chunk, pair, column, K parity)."""
    rows, kk, n, tb, ldb = _operand(b, np.dtype(np.float32), "b", trans_b)
    cdef int64_t K = kk, N = n, LDB = ldb
    cdef int TB = tb
    cdef int64_t nbytes = fm_bf16_packed_b_bytes(TB, K, N)
    out = np.zeros(max(nbytes // 2, 1), dtype=np.uint16)
    cdef void *pb = cnp.PyArray_DATA(rows)
    cdef void *po = cnp.PyArray_DATA(out)
    with nogil:
        fm_bf16_pack_b(TB, K, N, <const float *>pb, LDB, po)
    return out[:nbytes // 2].reshape(-1, (K + 31) // 32, 16, 16, 2)


def _bf16_pack_a(a, trans_a=False):
    """op(a) (m, k) float32 packed as bf16 A panels: a uint16 array of
    (ceil(m/16), ceil(k/32), 16, 32) bf16 bits (panel, chunk, row, K)."""
    rows, m, kk, ta, lda = _operand(a, np.dtype(np.float32), "a", trans_a)
    cdef int64_t M = m, K = kk, LDA = lda
    cdef int TA = ta
    out = np.zeros(((M + 15) // 16, (K + 31) // 32, 16, 32), dtype=np.uint16)
    cdef void *pa = cnp.PyArray_DATA(rows)
    cdef unsigned short *po = <unsigned short *>cnp.PyArray_DATA(out)
    with nogil:
        fm_bf16_pack_a(TA, M, K, <const float *>pa, LDA, po)
    return out


def _bf16_gemm_prepacked(a, b_packed, int n, trans_a=False, bint use_scratch=True):
    """op(a) (m, k) @ B for B packed by _bf16_pack_b (the engine's route:
    fm_gemm_problem_f32 with b_packed, and a caller's packing buffer sized by
    fm_gemm_scratch_f32 when use_scratch)."""
    rows, m, kk, ta, lda = _operand(a, np.dtype(np.float32), "a", trans_a)
    if b_packed.dtype != np.uint16 or not b_packed.flags.c_contiguous:
        raise TypeError("b_packed must be a C-contiguous uint16 array from _bf16_pack_b")
    if b_packed.size * 2 != fm_bf16_packed_b_bytes(0, kk, n):
        raise ValueError("b_packed does not hold a packed (k, n) matrix")
    out = np.empty((m, n), dtype=np.float32)
    cdef fm_gemm_problem_f32 pr
    cdef Py_ssize_t offset
    memset(&pr, 0, sizeof(pr))
    pr.trans_a = ta
    pr.m = m
    pr.n = n
    pr.k = kk
    pr.alpha = 1.0
    pr.a = <const float *>cnp.PyArray_DATA(rows)
    pr.lda = lda
    pr.ldb = max(n, 1)
    pr.c = <float *>cnp.PyArray_DATA(out)
    pr.ldc = max(n, 1)
    pr.act.kind = FM_ACT_IDENTITY
    pr.compute_bf16 = 1
    pr.b_packed = cnp.PyArray_DATA(b_packed)
    scratch = None
    if use_scratch:
        scratch = np.empty(max(fm_gemm_scratch_f32(_n_threads, &pr), 16) + 16, dtype=np.float32)
        # 64-byte aligned, as the engine's workspace
        offset = (-scratch.ctypes.data % 64) // 4
        pr.scratch = <float *>cnp.PyArray_DATA(scratch) + offset
        pr.scratch_elems = scratch.size - 16
    cdef fm_status status
    with nogil:
        status = fm_gemm_problem_run_f32(FM_GEMM_NATIVE, _n_threads, &pr)
    _raise_status(status, "gemm")
    return out


cdef extern from *:
    """
    /* This architecture's undefined instruction, which raises SIGILL: ud2
     * on x86, udf #0 on AArch64 (where __builtin_trap() is brk, SIGTRAP,
     * which the guard rightly does not catch); elsewhere SIGILL raised. */
    #include <signal.h>
    static void fm_trap(void)
    {
    #if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
        __asm__ __volatile__("ud2");
    #elif defined(__aarch64__) && defined(__GNUC__)
        __asm__ __volatile__(".inst 0x00000000");
    #else
        raise(SIGILL);
    #endif
    }
    """
    void fm_trap() noexcept nogil


cdef void _raise_sigill(void *arg) noexcept nogil:
    # ud2 / udf #0: the instructions guaranteed to be undefined.
    fm_trap()


cdef void _do_nothing(void *arg) noexcept nogil:
    (<int *>arg)[0] = 1


def _bf16_guard_selftest():
    """Run the AMX probe's SIGILL guard on an illegal instruction and on a
    harmless function: returns (guard result for ud2 (udf on AArch64), for
    the harmless one, whether the harmless one ran)."""
    cdef int ran = 0
    bad = fm_run_guarded(_raise_sigill, NULL)
    good = fm_run_guarded(_do_nothing, &ran)
    return bad, good, bool(ran)
