/*
 * One fm_gemm / fm_dense_forward case for dtype T (suffix SUF), included by
 * fuzz_gemm.c once per dtype. Shapes, transposes, leading dimensions,
 * alpha, beta, bias and activation come from the input; every array is
 * allocated to exactly the span its layout needs. The result is checked
 * against a plain triple loop in double.
 */
#define FZ_CAT_(a, b) a##b
#define FZ_CAT(a, b) FZ_CAT_(a, b)

static void FZ_CAT(run_case_, SUF)(fuzz_bytes *in)
{
    const int dense = fuzz_u8(in) & 1;
    const int ta = fuzz_u8(in) & 1, tb = fuzz_u8(in) & 1;
    /* Up to a few register tiles and past one k-block (gemm_kernel.h); now
     * and then few rows by a wide C, past the transposed tiles' k * n (and
     * their 64 rows). */
    const int wide = fuzz_u8(in) % 8 == 0;
    const int64_t m = fuzz_range(in, 0, wide ? 70 : 40);
    const int64_t n = wide ? fuzz_range(in, 100, 300) : fuzz_range(in, 0, 40);
    const int64_t k = fuzz_u8(in) & 1 ? fuzz_range(in, 0, 600) : fuzz_range(in, 0, 24);
    const int64_t a_rows = ta ? k : m, a_cols = ta ? m : k;
    const int64_t b_rows = tb ? n : k, b_cols = tb ? k : n;
    /* A leading dimension one short of legal now and then: must be refused. */
    const int short_ld = (fuzz_u8(in) % 16) == 0;
    const int64_t lda = (a_cols > 1 ? a_cols : 1) + fuzz_range(in, 0, 5) - short_ld;
    const int64_t ldb = (b_cols > 1 ? b_cols : 1) + fuzz_range(in, 0, 5);
    const int64_t ldc = (n > 1 ? n : 1) + fuzz_range(in, 0, 5);
    static const double alphas[] = {1.0, -1.0, 0.5, 0.0, 2.0};
    static const double betas[] = {0.0, 1.0, -0.5};
    const double alpha = dense ? 1.0 : alphas[fuzz_u8(in) % 5];
    const double beta = dense ? 0.0 : betas[fuzz_u8(in) % 3];
    fm_activation act = {FM_ACT_IDENTITY, 0.0};
    if (dense) {
        act.kind = (fm_activation_kind)(fuzz_u8(in) % FM_ACT_COUNT);
        act.param = (double)(fuzz_u8(in) % 17) / 16.0; /* slopes, alphas in [0, 1] */
    }
    const int with_bias = dense && (fuzz_u8(in) & 1);

    const int64_t sa = fuzz_span(a_rows, a_cols, lda), sb = fuzz_span(b_rows, b_cols, ldb);
    const int64_t sc = fuzz_span(m, n, ldc);
    T *a = fuzz_alloc((size_t)sa * sizeof(T)), *b = fuzz_alloc((size_t)sb * sizeof(T));
    T *c = fuzz_alloc((size_t)sc * sizeof(T)), *bias = fuzz_alloc((size_t)n * sizeof(T));
    double *ref = fuzz_alloc((size_t)(m * n) * sizeof(double));
    double *mag = fuzz_alloc((size_t)(m * n) * sizeof(double));
    for (int64_t i = 0; i < sa; i++)
        a[i] = (T)fuzz_value(in);
    for (int64_t i = 0; i < sb; i++)
        b[i] = (T)fuzz_value(in);
    for (int64_t i = 0; i < sc; i++)
        /* beta == 0: C is write-only, NaN in it must not come through. */
        c[i] = beta == 0.0 ? (T)NAN : (T)fuzz_value(in);
    for (int64_t j = 0; j < n; j++)
        bias[j] = (T)fuzz_value(in);

    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0, s_abs = 0.0;
            for (int64_t p = 0; p < k; p++) {
                const double x = a[ta ? p * lda + i : i * lda + p];
                const double y = b[tb ? j * ldb + p : p * ldb + j];
                s += x * y;
                s_abs += fabs(x * y);
            }
            s *= alpha;
            s_abs *= fabs(alpha);
            if (beta != 0.0) {
                s += beta * c[i * ldc + j];
                s_abs += fabs(beta * c[i * ldc + j]);
            }
            if (with_bias) {
                s += bias[j];
                s_abs += fabs((double)bias[j]);
            }
            ref[i * n + j] = s;
            mag[i * n + j] = s_abs;
        }

    fm_status st;
    if (dense)
        st = FZ_CAT(fm_dense_forward_, SUF)(FM_GEMM_NATIVE, 1, ta, tb, m, n, k, a, lda, b, ldb,
                                            with_bias ? bias : NULL, act, c, ldc);
    else
        st = FZ_CAT(fm_gemm_, SUF)(FM_GEMM_NATIVE, 1, ta, tb, m, n, k, (T)alpha, a, lda, b, ldb,
                                   (T)beta, c, ldc);
    if (lda < (a_cols > 1 ? a_cols : 1)) {
        if (st != FM_ERR_ARGUMENT)
            abort(); /* an illegal lda was accepted */
    } else if (act.kind == FM_ACT_MAXOUT) {
        if (st != FM_ERR_ARGUMENT)
            abort(); /* fm_dense_forward has nowhere to write maxout's narrower units */
    } else if (st != FM_OK) {
        abort();
    } else if (m > 0 && n > 0) {
        /* The activation applied to the reference by the same kernel API
         * (in double); heaviside jumps at 0, so only its range is checked. */
        if (act.kind != FM_ACT_IDENTITY)
            fm_activation_forward_f64(act, m, n, ref, n, ref, n);
        /* Rounding of k products and sums in T, magnified at most 2x by the
         * activations' slopes (selu's is 1.76). */
        const double eps = sizeof(T) == 4 ? 1.2e-7 : 2.3e-16;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                const double got = c[i * ldc + j], want = ref[i * n + j];
                if (act.kind == FM_ACT_HEAVISIDE) {
                    if (got != 0.0 && got != 1.0)
                        abort();
                    continue;
                }
                const double tol = 2.0 * (double)(k + 4) * eps * (mag[i * n + j] + 1.0);
                if (!(fabs(got - want) <= tol))
                    abort();
            }
    }
    free(a);
    free(b);
    free(c);
    free(bias);
    free(ref);
    free(mag);
}

#undef FZ_CAT
#undef FZ_CAT_
