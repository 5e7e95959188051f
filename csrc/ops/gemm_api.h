/*
 * Public GEMM and dense-layer entry points for one dtype; included by gemm.c
 * once per dtype with T, SUF, BLAS_FN (getter of the BLAS ?gemm) defined.
 *
 * fm_gemm_SUF / fm_dense_forward_SUF check sizes, pick the backend, split
 * the product over threads and call the per-ISA driver (gemm_kernel.h).
 */

#define FM_CAT_(a, b) a##b
#define FM_CAT(a, b) FM_CAT_(a, b)
#define PROBLEM FM_CAT(fm_gemm_problem_, SUF)

/* Elements per thread of a shared packing buffer: whole 64-byte lines. */
#define SCRATCH_ROUND ((int64_t)(64 / sizeof(T)))

/* Slice t of `parts` column or row slices of `pr` (whole NR / MR tiles),
 * one per thread, into *sub; 0 if the slice is empty. Every element of C is
 * computed by the same instruction sequence whatever the split, so results
 * do not depend on the thread count. */
static int FM_CAT(slice_, SUF)(const PROBLEM *pr, int parts, int t, PROBLEM *sub)
{
    const fm_kernel_table *kt = fm_kernels();
    /* bf16 products split in whole 32 x 32 blocks (whole packed B panels). */
    const int64_t mr = pr->compute_bf16 ? FM_BF16_BLOCK : kt->FM_CAT(mr_, SUF);
    const int64_t nr = pr->compute_bf16 ? FM_BF16_BLOCK : kt->FM_CAT(nr_, SUF);
    /* Slice the dimension whose packing dominates (B packing ~ k*n, A ~ m*k):
     * every slice packs the other operand whole. A bf16 B given packed costs
     * nothing, so rows then (unless there are too few row blocks to share).
     * Softmax needs whole rows, so it always slices rows. */
    const int b_free = pr->b_packed != NULL && pr->m >= (int64_t)parts * mr;
    const int by_columns = pr->act.kind != FM_ACT_SOFTMAX && !b_free && pr->n >= pr->m;
    const int64_t extent = by_columns ? pr->n : pr->m;
    /* Maxout's column slices hold whole units: a multiple of k pieces (k
     * checked by the callers; an invalid one, 0, counts as 1 here). */
    int64_t pieces = pr->act.kind == FM_ACT_MAXOUT ? fm_maxout_pieces(pr->act) : 1;
    if (pieces < 1)
        pieces = 1;
    int64_t unit = by_columns ? nr : mr;
    while (by_columns && unit % pieces != 0)
        unit += nr;
    const int64_t chunk = ((extent + parts - 1) / parts + unit - 1) / unit * unit;
    const int64_t lo = t * chunk;
    const int64_t hi = lo + chunk < extent ? lo + chunk : extent;
    if (lo >= hi)
        return 0;
    *sub = *pr;
    /* (fm_gemm_scratch_ slices problems without arrays: no offset from NULL.) */
    if (by_columns) {
        sub->n_whole = pr->n_whole > 0 ? pr->n_whole : pr->n;
        sub->n = hi - lo;
        if (pr->b != NULL)
            sub->b = pr->trans_b ? pr->b + lo * pr->ldb : pr->b + lo;
        if (pr->b_packed != NULL)
            sub->b_packed = fm_bf16_packed_b_columns(pr->b_packed, pr->k, lo);
        if (pr->c != NULL)
            sub->c = pr->c + lo;
        if (pr->step.velocity != NULL)
            sub->step.velocity = pr->step.velocity + lo;
        sub->bias = pr->bias != NULL ? pr->bias + lo : NULL;
        sub->act_out = pr->act_out != NULL ? pr->act_out + lo / pieces : NULL;
        sub->winner = pr->winner != NULL ? pr->winner + lo / pieces : NULL;
    } else {
        sub->m = hi - lo;
        if (pr->sparse_a.ptr != NULL)
            sub->sparse_a.ptr = pr->sparse_a.ptr + lo;
        if (pr->sparse_a.end != NULL)
            sub->sparse_a.end = pr->sparse_a.end + lo;
        if (pr->a != NULL)
            sub->a = pr->trans_a ? pr->a + lo : pr->a + lo * pr->lda;
        if (pr->c != NULL)
            sub->c = pr->c + lo * pr->ldc;
        if (pr->step.velocity != NULL) /* (the layout of C) */
            sub->step.velocity = pr->step.velocity + lo * pr->ldc;
        sub->act_out = pr->act_out != NULL ? pr->act_out + lo * pr->ld_act : NULL;
        sub->winner = pr->winner != NULL ? pr->winner + lo * pr->ld_act : NULL;
    }
    /* Each thread packs into its own part of the caller's buffer. */
    const int64_t share = pr->scratch_elems / parts / SCRATCH_ROUND * SCRATCH_ROUND;
    sub->scratch = pr->scratch != NULL ? pr->scratch + t * share : NULL;
    sub->scratch_elems = share;
    return 1;
}

/* One thread's part, with subnormals flushed when pr->flush (the call keeps
 * the compiler from moving the product's arithmetic out of the flush). */
static fm_status FM_CAT(run_part_, SUF)(fm_status (*gemm)(const PROBLEM *), const PROBLEM *pr)
{
    if (!pr->flush)
        return gemm(pr);
    const uint64_t saved = fm_flush_begin();
    const fm_status st = gemm(pr);
    fm_flush_end(saved);
    return st;
}

static fm_status FM_CAT(run_parallel_, SUF)(const PROBLEM *pr, int parts)
{
    const fm_kernel_table *kt = fm_kernels();
    fm_status (*gemm)(const PROBLEM *) = kt->FM_CAT(gemm_, SUF);
#ifdef BF16_GEMM
    if (pr->compute_bf16)
        gemm = BF16_GEMM;
#endif
    if (parts <= 1)
        return FM_CAT(run_part_, SUF)(gemm, pr);
    fm_status status = FM_OK;

#ifdef FASTMLP_OPENMP
#pragma omp parallel for num_threads(parts) schedule(static, 1)
#endif
    for (int t = 0; t < parts; t++) {
        PROBLEM sub;
        if (!FM_CAT(slice_, SUF)(pr, parts, t, &sub))
            continue;
        fm_status st = FM_CAT(run_part_, SUF)(gemm, &sub);
        if (st != FM_OK) {
            /* (critical, not OpenMP 3.1's atomic write: MSVC has 2.0; an
             * error path, so its cost does not matter) */
#ifdef FASTMLP_OPENMP
#pragma omp critical(fm_gemm_status)
#endif
            status = st;
        }
    }
    return status;
}

/* C = act(alpha * op(A) @ op(B) + beta * C + bias) through the caller's
 * BLAS: the product first, then one pass for the bias and the activation. */
static fm_status FM_CAT(run_blas_, SUF)(const PROBLEM *pr)
{
    const BLAS_FN_TYPE gemm = BLAS_FN();
    if (gemm == NULL)
        return FM_ERR_BLAS;
    if (pr->m > INT_MAX || pr->n > INT_MAX || pr->k > INT_MAX || pr->lda > INT_MAX ||
        pr->ldb > INT_MAX || pr->ldc > INT_MAX)
        return FM_ERR_BLAS;
    if (pr->m == 0 || pr->n == 0)
        return FM_OK;
    /* Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T. */
    const int m = (int)pr->m, n = (int)pr->n, k = (int)pr->k;
    const int lda = (int)pr->lda, ldb = (int)pr->ldb, ldc = (int)pr->ldc;
    const char ta = pr->trans_a ? 'T' : 'N', tb = pr->trans_b ? 'T' : 'N';
    gemm(&tb, &ta, &n, &m, &k, &pr->alpha, pr->b, &ldb, pr->a, &lda, &pr->beta, pr->c, &ldc);
    if (pr->bias != NULL)
        for (int64_t i = 0; i < pr->m; i++)
            for (int64_t j = 0; j < pr->n; j++)
                pr->c[i * pr->ldc + j] += pr->bias[j];
    if (pr->act.kind == FM_ACT_MAXOUT) {
        const int64_t k = fm_maxout_pieces(pr->act);
        FM_CAT(fm_maxout_forward_, SUF)
        (pr->m, pr->n / k, k, pr->c, pr->ldc, pr->act_out, pr->ld_act, pr->winner, pr->ld_act);
    } else if (pr->act.kind != FM_ACT_IDENTITY) {
        FM_CAT(fm_activation_forward_, SUF)(pr->act, pr->m, pr->n, pr->c, pr->ldc, pr->c, pr->ldc);
    }
    return FM_OK;
}

fm_status FM_CAT(fm_gemm_problem_run_, SUF)(fm_gemm_backend backend, int n_threads,
                                            const PROBLEM *pr)
{
    if (pr->m < 0 || pr->n < 0 || pr->k < 0 || (unsigned)pr->act.kind >= FM_ACT_COUNT)
        return FM_ERR_ARGUMENT;
    const int64_t a_cols = pr->trans_a ? pr->m : pr->k;
    const int64_t b_cols = pr->trans_b ? pr->k : pr->n;
    const int sparse = pr->sparse_a.ptr != NULL;
    if ((!sparse && pr->lda < (a_cols > 1 ? a_cols : 1)) || pr->ldb < (b_cols > 1 ? b_cols : 1) ||
        pr->ldc < (pr->n > 1 ? pr->n : 1))
        return FM_ERR_ARGUMENT;
    /* A sparse op(A): the native float drivers, B not transposed. */
    if (sparse && (pr->trans_b || pr->compute_bf16 || backend == FM_GEMM_BLAS ||
                   pr->sparse_a.idx == NULL || pr->sparse_a.val == NULL))
        return FM_ERR_ARGUMENT;
    if (pr->act.kind == FM_ACT_MAXOUT) {
        /* Whole units, and somewhere to write them (fm_dense_forward has not). */
        const int64_t k = fm_maxout_pieces(pr->act);
        if (k == 0 || pr->n % k != 0 || pr->act_out == NULL || pr->ld_act < pr->n / k)
            return FM_ERR_ARGUMENT;
    }
#ifndef BF16_GEMM
    if (pr->compute_bf16)
        return FM_ERR_ARGUMENT; /* bf16 products take float operands */
#endif
    /* The step in the product: the native float drivers only. */
    if (pr->step.on && (pr->compute_bf16 || backend == FM_GEMM_BLAS))
        return FM_ERR_ARGUMENT;
    /* No BLAS multiplies bf16: bf16 products always run natively. */
    if (backend == FM_GEMM_BLAS && !pr->compute_bf16)
        return FM_CAT(run_blas_, SUF)(pr);
    return FM_CAT(run_parallel_, SUF)(pr, fm_gemm_threads(n_threads, pr->m, pr->n, pr->k));
}

fm_status FM_CAT(fm_gemm_, SUF)(fm_gemm_backend backend, int n_threads, int trans_a, int trans_b,
                                int64_t m, int64_t n, int64_t k, T alpha, const T *a, int64_t lda,
                                const T *b, int64_t ldb, T beta, T *c, int64_t ldc)
{
    const PROBLEM pr = {trans_a, trans_b, m,   n,    k,
                        alpha,   a,       lda, b,    ldb,
                        beta,    c,       ldc, NULL, {FM_ACT_IDENTITY, 0.0},
                        NULL,    0,       0,   NULL, NULL,
                        0,       NULL};
    return FM_CAT(fm_gemm_problem_run_, SUF)(backend, n_threads, &pr);
}

fm_status FM_CAT(fm_dense_forward_, SUF)(fm_gemm_backend backend, int n_threads, int trans_x,
                                         int trans_w, int64_t m, int64_t n, int64_t k, const T *x,
                                         int64_t ldx, const T *w, int64_t ldw, const T *bias,
                                         fm_activation act, T *out, int64_t ldo)
{
    const PROBLEM pr = {trans_x, trans_w, m,    n,   k,    (T)1, x, ldx,  w,    ldw, (T)0,
                        out,     ldo,     bias, act, NULL, 0,    0, NULL, NULL, 0,   NULL};
    return FM_CAT(fm_gemm_problem_run_, SUF)(backend, n_threads, &pr);
}

int64_t FM_CAT(fm_gemm_scratch_, SUF)(int n_threads, const PROBLEM *pr)
{
    const fm_kernel_table *kt = fm_kernels();
    int64_t (*need)(const PROBLEM *) = kt->FM_CAT(scratch_, SUF);
#ifdef BF16_GEMM
    if (pr->compute_bf16)
        need = BF16_SCRATCH;
#endif
    const int parts = fm_gemm_planned_threads(n_threads, pr->m, pr->n, pr->k);
    int64_t most = 0;
    for (int t = 0; t < parts; t++) {
        PROBLEM sub = *pr;
        if (parts > 1 && !FM_CAT(slice_, SUF)(pr, parts, t, &sub))
            continue;
        const int64_t e = need(&sub);
        most = e > most ? e : most;
    }
    return parts * ((most + SCRATCH_ROUND - 1) / SCRATCH_ROUND * SCRATCH_ROUND);
}

#undef SCRATCH_ROUND
#undef PROBLEM
#undef T
#undef SUF
#undef BLAS_FN
#undef BLAS_FN_TYPE
#undef BF16_GEMM
#undef BF16_SCRATCH
