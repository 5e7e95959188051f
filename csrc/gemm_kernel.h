/*
 * Blocked GEMM with a fused output stage: one single-threaded driver, written
 * once, compiled per instruction set and dtype by including this file.
 *
 *   C = act(alpha * op(A) @ op(B) + beta * C + bias)
 *   op(A) (m, k), op(B) (k, n), C (m, n), all row-major; bias (n,) or NULL.
 *
 * Structure (BLIS/GotoBLAS): loops jc (NC columns of C) > pc (KC of the sum)
 * > ic (MC rows) > jr (NR) > ir (MR). Per (jc, pc) the B block (KC x NC) is
 * packed into NR-wide micro-panels (L3/L2); per ic the A block (MC x KC) into
 * MR-tall micro-panels (L2). The micro-kernel keeps an MR x NR tile of C in
 * registers for the whole KC-long sum, reading one MR-column of packed A
 * (broadcast) and one NR-row of B (vector loads) per step. Transposes are
 * absorbed by the packing routines: the micro-kernel sees one layout only.
 *
 * Small m (at most SMALL_M rows, e.g. predicting a few samples): packing B
 * would cost as much as the product itself, so the micro-kernel reads B rows
 * in place (stride ldb) and only a ragged last NR-panel is packed.
 *
 * Output stage, applied only after the last KC block: bias add and relu on
 * the tile in registers; other activations on the tile right after it is
 * stored (still in L1); softmax per MC-row block once its rows are complete.
 *
 * The including file defines:
 *   T, SUF (f32/f64), PREFIX (function name prefix), MR, NR, KC, MC, NC,
 *   and the vector layer VEC, VW (lanes), VLOAD, VSTORE (unaligned),
 *   VBCAST, VZERO, VFMA(a, b, c) = a * b + c, VMUL, VADD,
 *   VRELU (max(v, 0) propagating NaN).
 * NR must be a multiple of VW; MC a multiple of MR.
 */

#define FM_CAT_(a, b) a##b
#define FM_CAT(a, b) FM_CAT_(a, b)
#define FM_NAME(x) FM_CAT(PREFIX, x)
#define NV (NR / VW)
#define SMALL_M (4 * MR)

_Static_assert(MR >= 1 && MR <= 12, "microkernel() instantiates row counts up to 12");
_Static_assert(NR % VW == 0, "NR must be a whole number of vectors");

typedef FM_CAT(fm_gemm_problem_, SUF) FM_NAME(problem);

static inline int64_t FM_NAME(min)(int64_t a, int64_t b) { return a < b ? a : b; }

/*
 * rows x NR tile (rows <= MR): c = alpha * (a-panel @ b-panel) + beta * c +
 * bias, then relu. a: packed, kc steps of MR values (only the first `rows`
 * are read). b: kc rows of NR values, row stride rsb. beta == 0 never reads c.
 * Always inlined with a constant `rows`, so each row count gets its own fully
 * unrolled kernel (see microkernel below).
 */
static inline __attribute__((always_inline)) void
FM_NAME(tile_kernel)(const int rows, int64_t kc, const T *restrict a, const T *restrict b,
                     int64_t rsb, T *restrict c, int64_t ldc, T alpha, T beta,
                     const T *restrict bias, int relu)
{
    VEC acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < rows; i++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            acc[i][v] = VZERO();

    for (int64_t p = 0; p < kc; p++) {
        VEC bv[NV];
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            bv[v] = VLOAD(b + v * VW);
#pragma GCC unroll 16
        for (int i = 0; i < rows; i++) {
            VEC ai = VBCAST(a[i]);
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++)
                acc[i][v] = VFMA(ai, bv[v], acc[i][v]);
        }
        a += MR;
        b += rsb;
    }

    const VEC va = VBCAST(alpha), vb = VBCAST(beta);
#pragma GCC unroll 16
    for (int i = 0; i < rows; i++) {
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) {
            T *cp = c + i * ldc + v * VW;
            VEC r = VMUL(acc[i][v], va);
            if (beta == (T)1)
                r = VADD(r, VLOAD(cp));
            else if (beta != (T)0)
                r = VADD(r, VMUL(vb, VLOAD(cp)));
            if (bias != NULL)
                r = VADD(r, VLOAD(bias + v * VW));
            if (relu)
                r = VRELU(r);
            VSTORE(cp, r);
        }
    }
}

/* The tile kernel for 1 <= rows <= MR, with `rows` a compile-time constant in
 * each branch (the `r <= MR` test is constant too and prunes the rest). */
/*
 * One row of C (m == 1, B not transposed): a matrix-vector product, bound by
 * reading B. Instead of NR-wide strips of B taken 128 bytes per row, each
 * pass takes `nvec` vectors of every B row (whole rows when n is small), so B
 * streams almost sequentially, with nvec independent sums in flight.
 * Per element the operations are the micro-kernel's (same KC blocks, same
 * FMA order, same output stage), so results do not depend on the path.
 *   a: op(A)'s row, element p at a[p * as]; b: (kc, nvec * VW) rows of
 *   stride ldb; c: nvec * VW outputs.
 */
static inline __attribute__((always_inline)) void
FM_NAME(row_kernel)(const int nvec, int64_t kc, const T *restrict a, int64_t as,
                    const T *restrict b, int64_t ldb, T *restrict c, T alpha, T beta,
                    const T *restrict bias, int relu)
{
    VEC acc[GEMV_VECS];
#pragma GCC unroll 16
    for (int v = 0; v < nvec; v++)
        acc[v] = VZERO();
    for (int64_t p = 0; p < kc; p++) {
        const VEC ap = VBCAST(a[p * as]);
#pragma GCC unroll 16
        for (int v = 0; v < nvec; v++)
            acc[v] = VFMA(ap, VLOAD(b + p * ldb + v * VW), acc[v]);
    }
    const VEC va = VBCAST(alpha), vb = VBCAST(beta);
#pragma GCC unroll 16
    for (int v = 0; v < nvec; v++) {
        VEC r = VMUL(acc[v], va);
        if (beta == (T)1)
            r = VADD(r, VLOAD(c + v * VW));
        else if (beta != (T)0)
            r = VADD(r, VMUL(vb, VLOAD(c + v * VW)));
        if (bias != NULL)
            r = VADD(r, VLOAD(bias + v * VW));
        if (relu)
            r = VRELU(r);
        VSTORE(c + v * VW, r);
    }
}

/* C (1, n_main) for n_main a multiple of NR; see row_kernel. */
static __attribute__((noinline)) void
FM_NAME(gemv)(int64_t n_main, int64_t k, int64_t kc_size, const T *a, int64_t as,
              const T *b, int64_t ldb, T *c, T alpha, T beta, const T *bias, int relu)
{
    for (int64_t pc = 0; pc < k; pc += kc_size) {
        const int64_t kc = FM_NAME(min)(kc_size, k - pc);
        const int last = pc + kc == k;
        const T beta_eff = pc == 0 ? beta : (T)1;
        int64_t j = 0;
        for (; j + GEMV_VECS * VW <= n_main; j += GEMV_VECS * VW)
            FM_NAME(row_kernel)(GEMV_VECS, kc, a + pc * as, as, b + pc * ldb + j, ldb, c + j,
                                alpha, beta_eff, last && bias ? bias + j : NULL, last && relu);
        for (; j < n_main; j += NV * VW)
            FM_NAME(row_kernel)(NV, kc, a + pc * as, as, b + pc * ldb + j, ldb, c + j,
                                alpha, beta_eff, last && bias ? bias + j : NULL, last && relu);
    }
}

/* Not inlined: inside the driver the compiler allocates its registers worse. */
static __attribute__((noinline)) void FM_NAME(microkernel)(int rows, int64_t kc, const T *restrict a,
                                 const T *restrict b, int64_t rsb, T *restrict c,
                                 int64_t ldc, T alpha, T beta, const T *restrict bias,
                                 int relu)
{
#define FM_ROWS_CASE(r)                                                                  \
    case r:                                                                              \
        if (r <= MR)                                                                     \
            FM_NAME(tile_kernel)(r <= MR ? r : MR, kc, a, b, rsb, c, ldc, alpha, beta,   \
                                 bias, relu);                                            \
        break;
    switch (rows) {
        FM_ROWS_CASE(1) FM_ROWS_CASE(2) FM_ROWS_CASE(3) FM_ROWS_CASE(4)
        FM_ROWS_CASE(5) FM_ROWS_CASE(6) FM_ROWS_CASE(7) FM_ROWS_CASE(8)
        FM_ROWS_CASE(9) FM_ROWS_CASE(10) FM_ROWS_CASE(11) FM_ROWS_CASE(12)
    default:
        break;
    }
#undef FM_ROWS_CASE
}

/*
 * Pack the (mc, kc) block of op(A) at `a` into ceil(mc / MR) micro-panels,
 * each kc steps of MR values; rows past mc are zero.
 */
static void FM_NAME(pack_a)(int64_t mc, int64_t kc, const T *restrict a, int64_t lda,
                            int trans, T *restrict dst)
{
    for (int64_t i0 = 0; i0 < mc; i0 += MR) {
        int64_t mr = FM_NAME(min)(MR, mc - i0);
        if (!trans) {
            for (int64_t i = 0; i < mr; i++) {
                const T *src = a + (i0 + i) * lda;
                for (int64_t p = 0; p < kc; p++)
                    dst[p * MR + i] = src[p];
            }
        } else {
            for (int64_t p = 0; p < kc; p++) {
                const T *src = a + p * lda + i0;
                for (int64_t i = 0; i < mr; i++)
                    dst[p * MR + i] = src[i];
            }
        }
        for (int64_t i = mr; i < MR; i++)
            for (int64_t p = 0; p < kc; p++)
                dst[p * MR + i] = 0;
        dst += MR * kc;
    }
}

/*
 * Pack the (kc, nc) block of op(B) at `b` into ceil(nc / NR) micro-panels,
 * each kc rows of NR values; columns past nc are zero.
 */
static void FM_NAME(pack_b)(int64_t kc, int64_t nc, const T *restrict b, int64_t ldb,
                            int trans, T *restrict dst)
{
    for (int64_t j0 = 0; j0 < nc; j0 += NR) {
        int64_t nr = FM_NAME(min)(NR, nc - j0);
        if (!trans) {
            for (int64_t p = 0; p < kc; p++) {
                const T *src = b + p * ldb + j0;
                int64_t j = 0;
                for (; j < nr; j++)
                    dst[p * NR + j] = src[j];
                for (; j < NR; j++)
                    dst[p * NR + j] = 0;
            }
        } else {
            for (int64_t j = 0; j < nr; j++) {
                const T *src = b + (j0 + j) * ldb;
                for (int64_t p = 0; p < kc; p++)
                    dst[p * NR + j] = src[p];
            }
            for (int64_t j = nr; j < NR; j++)
                for (int64_t p = 0; p < kc; p++)
                    dst[p * NR + j] = 0;
        }
        dst += NR * kc;
    }
}

/*
 * The output stage done element by element, on an (mr, nr) tile computed
 * into a buffer (ragged tiles, transposed output) or, with tile == NULL, on
 * C alone (k == 0). C's element (i, j) is c[i * rsc + j * csc]; the bias is
 * indexed by j, or by i when bias_by_row. Same operation order as the
 * micro-kernel's, so a tile's values do not depend on which path made them.
 */
static void FM_NAME(finish_tile)(int64_t mr, int64_t nr, const T *tile, int64_t ldt,
                                 T *c, int64_t rsc, int64_t csc, T alpha, T beta,
                                 const T *bias, int bias_by_row, int relu)
{
    for (int64_t i = 0; i < mr; i++) {
        for (int64_t j = 0; j < nr; j++) {
            T *cp = c + i * rsc + j * csc;
            T r = tile != NULL ? alpha * tile[i * ldt + j] : (T)0;
            if (beta == (T)1)
                r = r + *cp;
            else if (beta != (T)0)
                r = r + beta * *cp;
            if (bias != NULL)
                r = r + bias[bias_by_row ? i : j];
            if (relu)
                r = r < (T)0 ? (T)0 : r;
            *cp = r;
        }
    }
}

/* Activations applied after a tile is stored (everything but identity and
 * relu, which the micro-kernel does in registers, and softmax, per row). */
static inline int FM_NAME(act_after_store)(fm_activation_kind kind)
{
    return kind != FM_ACT_IDENTITY && kind != FM_ACT_RELU && kind != FM_ACT_SOFTMAX;
}

/* Split `total` into the fewest blocks of at most `max_block`, of equal size
 * rounded up to a multiple of `unit` (no thin last block that would cost a
 * full pass over C, or a near-empty one that wastes a packing). */
static inline int64_t FM_NAME(block_size)(int64_t total, int64_t max_block, int64_t unit)
{
    const int64_t blocks = (total + max_block - 1) / max_block;
    const int64_t size = (total + blocks - 1) / blocks;
    return (size + unit - 1) / unit * unit;
}

/* Fraction of the lanes doing useful work when `n` is cut in tiles of `t`. */
static inline double FM_NAME(tile_use)(int64_t n, int64_t t)
{
    return (double)n / (double)((n + t - 1) / t * t);
}

static fm_status FM_NAME(gemm)(const FM_NAME(problem) *pr)
{
    const T alpha = pr->alpha, beta = pr->beta;
    const fm_activation act = pr->act;
    const int relu = act.kind == FM_ACT_RELU;

    if (pr->m <= 0 || pr->n <= 0)
        return FM_OK;
    if (pr->k <= 0 || alpha == (T)0) {
        /* No product: C = act(beta * C + bias). */
        FM_NAME(finish_tile)(pr->m, pr->n, NULL, 0, pr->c, pr->ldc, 1, alpha, beta,
                             pr->bias, 0, relu);
        if (act.kind != FM_ACT_IDENTITY && !relu)
            FM_CAT(fm_activation_forward_, SUF)(act, pr->m, pr->n, pr->c, pr->ldc, pr->c,
                                                pr->ldc);
        return FM_OK;
    }

    /*
     * Narrow outputs (an MLP's last layer: n = a few classes) fill few of
     * the NR lanes. Computing C^T = op(B)^T op(A)^T instead puts n along the
     * MR rows, which waste less; C^T's tiles are written back transposed.
     */
    const int swap = pr->n < pr->m &&
                     FM_NAME(tile_use)(pr->n, MR) > FM_NAME(tile_use)(pr->n, NR) + 0.1;
    const int64_t m = swap ? pr->n : pr->m, n = swap ? pr->m : pr->n, k = pr->k;
    const T *const a = swap ? pr->b : pr->a;
    const T *const b = swap ? pr->a : pr->b;
    const int64_t lda = swap ? pr->ldb : pr->lda, ldb = swap ? pr->lda : pr->ldb;
    const int trans_a = swap ? !pr->trans_b : pr->trans_a;
    const int trans_b = swap ? !pr->trans_a : pr->trans_b;
    /* C's element (i, j) of the (possibly swapped) product is at i*rsc + j*csc. */
    const int64_t rsc = swap ? 1 : pr->ldc, csc = swap ? pr->ldc : 1;
    T *const c = pr->c;

    const int64_t kc_size = FM_NAME(block_size)(k, KC, 1);
    if (m == 1 && !trans_b && n >= NR) {
        /* A matrix-vector product: whole NR strips by gemv, the rest below. */
        const int64_t n_main = n / NR * NR;
        FM_NAME(gemv)(n_main, k, kc_size, a, trans_a ? lda : 1, b, ldb, c, alpha, beta,
                      pr->bias, relu);
        if (act.kind != FM_ACT_SOFTMAX && FM_NAME(act_after_store)(act.kind))
            FM_CAT(fm_activation_forward_, SUF)(act, 1, n_main, c, pr->ldc, c, pr->ldc);
        if (n_main == n) {
            if (act.kind == FM_ACT_SOFTMAX)
                FM_CAT(fm_activation_forward_, SUF)(act, 1, n, c, pr->ldc, c, pr->ldc);
            return FM_OK;
        }
        FM_NAME(problem) rest = *pr;
        rest.n = n - n_main;
        rest.b = b + n_main;
        rest.c = c + n_main;
        rest.bias = pr->bias != NULL ? pr->bias + n_main : NULL;
        if (act.kind == FM_ACT_SOFTMAX)
            rest.act.kind = FM_ACT_IDENTITY;
        fm_status st = FM_NAME(gemm)(&rest);
        if (st == FM_OK && act.kind == FM_ACT_SOFTMAX)
            FM_CAT(fm_activation_forward_, SUF)(act, 1, n, c, pr->ldc, c, pr->ldc);
        return st;
    }

    const int pack_all_b = trans_b || m > SMALL_M;
    const int64_t mc_size = FM_NAME(block_size)(m, MC, MR);
    const int64_t nc_size = FM_NAME(block_size)(n, NC, NR);
    T *abuf = fm_malloc((size_t)(mc_size * kc_size) * sizeof(T));
    T *bbuf = fm_malloc((size_t)((pack_all_b ? nc_size : NR) * kc_size) * sizeof(T));
    if (abuf == NULL || bbuf == NULL) {
        fm_free(abuf);
        fm_free(bbuf);
        return FM_ERR_NOMEM;
    }

    for (int64_t jc = 0; jc < n; jc += nc_size) {
        const int64_t nc = FM_NAME(min)(nc_size, n - jc);
        for (int64_t pc = 0; pc < k; pc += kc_size) {
            const int64_t kc = FM_NAME(min)(kc_size, k - pc);
            const int last = pc + kc == k;
            const T beta_eff = pc == 0 ? beta : (T)1;
            const T *bblock = trans_b ? b + jc * ldb + pc : b + pc * ldb + jc;
            if (pack_all_b)
                FM_NAME(pack_b)(kc, nc, bblock, ldb, trans_b, bbuf);

            for (int64_t ic = 0; ic < m; ic += mc_size) {
                const int64_t mc = FM_NAME(min)(mc_size, m - ic);
                const T *ablock = trans_a ? a + pc * lda + ic : a + ic * lda + pc;
                FM_NAME(pack_a)(mc, kc, ablock, lda, trans_a, abuf);

                for (int64_t jr = 0; jr < nc; jr += NR) {
                    const int64_t nr = FM_NAME(min)(NR, nc - jr);
                    const T *bpanel = bbuf + jr * kc;
                    int64_t rsb = NR;
                    if (!pack_all_b) {
                        if (nr == NR) {
                            bpanel = bblock + jr;
                            rsb = ldb;
                        } else {
                            FM_NAME(pack_b)(kc, nr, bblock + jr, ldb, 0, bbuf);
                            bpanel = bbuf;
                        }
                    }
                    const T *bias = NULL;
                    if (last && pr->bias != NULL)
                        bias = swap ? pr->bias + ic : pr->bias + jc + jr;
                    const int tile_relu = last && relu;

                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        const int rows = (int)FM_NAME(min)(MR, mc - ir);
                        T *ctile = c + (ic + ir) * rsc + (jc + jr) * csc;
                        const T *apanel = abuf + ir * kc;
                        if (nr == NR && !swap) {
                            FM_NAME(microkernel)(rows, kc, apanel, bpanel, rsb, ctile, rsc,
                                                 alpha, beta_eff, bias, tile_relu);
                        } else {
                            T tile[MR * NR];
                            FM_NAME(microkernel)(rows, kc, apanel, bpanel, rsb, tile, NR,
                                                 (T)1, (T)0, NULL, 0);
                            FM_NAME(finish_tile)(rows, nr, tile, NR, ctile, rsc, csc, alpha,
                                                 beta_eff, swap && bias ? bias + ir : bias,
                                                 swap, tile_relu);
                        }
                        if (last && FM_NAME(act_after_store)(act.kind)) {
                            if (swap)
                                FM_CAT(fm_activation_forward_, SUF)(act, nr, rows, ctile,
                                                                    pr->ldc, ctile, pr->ldc);
                            else
                                FM_CAT(fm_activation_forward_, SUF)(act, rows, nr, ctile,
                                                                    pr->ldc, ctile, pr->ldc);
                        }
                    }
                }
                /* Rows ic..ic+mc are complete (and in L2) when one jc covers n. */
                if (last && act.kind == FM_ACT_SOFTMAX && nc == n && !swap)
                    FM_CAT(fm_activation_forward_, SUF)(act, mc, n, c + ic * pr->ldc,
                                                        pr->ldc, c + ic * pr->ldc, pr->ldc);
            }
        }
    }
    if (act.kind == FM_ACT_SOFTMAX && (swap || n > nc_size))
        FM_CAT(fm_activation_forward_, SUF)(act, pr->m, pr->n, c, pr->ldc, c, pr->ldc);

    fm_free(abuf);
    fm_free(bbuf);
    return FM_OK;
}

#undef FM_NAME
#undef NV
#undef SMALL_M
#undef GEMV_VECS
#undef T
#undef SUF
#undef PREFIX
#undef MR
#undef NR
#undef KC
#undef MC
#undef NC
#undef VEC
#undef VW
#undef VLOAD
#undef VSTORE
#undef VBCAST
#undef VZERO
#undef VFMA
#undef VMUL
#undef VADD
#undef VRELU
