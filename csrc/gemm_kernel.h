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

typedef FM_CAT(fm_gemm_problem_, SUF) FM_NAME(problem);

static inline int64_t FM_NAME(min)(int64_t a, int64_t b) { return a < b ? a : b; }

/*
 * MR x NR tile: c = alpha * (a-panel @ b-panel) + beta * c + bias, then relu.
 * a: packed, kc steps of MR values. b: kc rows of NR values, row stride rsb.
 * beta == 0 never reads c.
 */
static inline void FM_NAME(microkernel)(int64_t kc, const T *restrict a,
                                        const T *restrict b, int64_t rsb,
                                        T *restrict c, int64_t ldc, T alpha, T beta,
                                        const T *restrict bias, int relu)
{
    VEC acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            acc[i][v] = VZERO();

    for (int64_t p = 0; p < kc; p++) {
        VEC bv[NV];
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            bv[v] = VLOAD(b + v * VW);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
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
    for (int i = 0; i < MR; i++) {
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

/* The element-wise output stage on an (mr, nr) piece of C, for partial tiles
 * and for k == 0: same operation order as the micro-kernel's. */
static void FM_NAME(finish_tile)(int64_t mr, int64_t nr, const T *tile, int64_t ldt,
                                 T *c, int64_t ldc, T alpha, T beta, const T *bias,
                                 int relu)
{
    for (int64_t i = 0; i < mr; i++) {
        for (int64_t j = 0; j < nr; j++) {
            T r = tile != NULL ? alpha * tile[i * ldt + j] : (T)0;
            if (beta == (T)1)
                r = r + c[i * ldc + j];
            else if (beta != (T)0)
                r = r + beta * c[i * ldc + j];
            if (bias != NULL)
                r = r + bias[j];
            if (relu)
                r = r < (T)0 ? (T)0 : r;
            c[i * ldc + j] = r;
        }
    }
}

/* Activations applied after a tile is stored (everything but identity and
 * relu, which the micro-kernel does in registers, and softmax, per row). */
static inline int FM_NAME(act_after_store)(fm_activation_kind kind)
{
    return kind != FM_ACT_IDENTITY && kind != FM_ACT_RELU && kind != FM_ACT_SOFTMAX;
}

static fm_status FM_NAME(gemm)(const FM_NAME(problem) *pr)
{
    const int64_t m = pr->m, n = pr->n, k = pr->k;
    const int64_t lda = pr->lda, ldb = pr->ldb, ldc = pr->ldc;
    const T alpha = pr->alpha, beta = pr->beta;
    const fm_activation act = pr->act;
    const int relu = act.kind == FM_ACT_RELU;
    T *const c = pr->c;

    if (m <= 0 || n <= 0)
        return FM_OK;
    if (k <= 0 || alpha == (T)0) {
        /* No product: C = act(beta * C + bias). */
        FM_NAME(finish_tile)(m, n, NULL, 0, c, ldc, alpha, beta, pr->bias, relu);
        if (act.kind != FM_ACT_IDENTITY && !relu)
            FM_CAT(fm_activation_forward_, SUF)(act, m, n, c, ldc, c, ldc);
        return FM_OK;
    }

    const int pack_all_b = pr->trans_b || m > SMALL_M;
    const int64_t kc_max = FM_NAME(min)(k, KC);
    const int64_t mc_max = (FM_NAME(min)(m, MC) + MR - 1) / MR * MR;
    const int64_t nc_max = pack_all_b ? (FM_NAME(min)(n, NC) + NR - 1) / NR * NR : NR;
    T *abuf = fm_malloc((size_t)(mc_max * kc_max) * sizeof(T));
    T *bbuf = fm_malloc((size_t)(nc_max * kc_max) * sizeof(T));
    if (abuf == NULL || bbuf == NULL) {
        fm_free(abuf);
        fm_free(bbuf);
        return FM_ERR_NOMEM;
    }

    for (int64_t jc = 0; jc < n; jc += NC) {
        const int64_t nc = FM_NAME(min)(NC, n - jc);
        for (int64_t pc = 0; pc < k; pc += KC) {
            const int64_t kc = FM_NAME(min)(KC, k - pc);
            const int last = pc + kc == k;
            const T beta_eff = pc == 0 ? beta : (T)1;
            const T *bblock = pr->trans_b ? pr->b + jc * ldb + pc : pr->b + pc * ldb + jc;
            if (pack_all_b)
                FM_NAME(pack_b)(kc, nc, bblock, ldb, pr->trans_b, bbuf);

            for (int64_t ic = 0; ic < m; ic += MC) {
                const int64_t mc = FM_NAME(min)(MC, m - ic);
                const T *ablock = pr->trans_a ? pr->a + pc * lda + ic : pr->a + ic * lda + pc;
                FM_NAME(pack_a)(mc, kc, ablock, lda, pr->trans_a, abuf);

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
                    const T *bias = last && pr->bias != NULL ? pr->bias + jc + jr : NULL;
                    const int tile_relu = last && relu;

                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        const int64_t mr = FM_NAME(min)(MR, mc - ir);
                        T *ctile = c + (ic + ir) * ldc + jc + jr;
                        const T *apanel = abuf + ir * kc;
                        if (mr == MR && nr == NR) {
                            FM_NAME(microkernel)(kc, apanel, bpanel, rsb, ctile, ldc, alpha,
                                                 beta_eff, bias, tile_relu);
                        } else {
                            T tile[MR * NR];
                            FM_NAME(microkernel)(kc, apanel, bpanel, rsb, tile, NR, (T)1,
                                                 (T)0, NULL, 0);
                            FM_NAME(finish_tile)(mr, nr, tile, NR, ctile, ldc, alpha,
                                                 beta_eff, bias, tile_relu);
                        }
                        if (last && FM_NAME(act_after_store)(act.kind))
                            FM_CAT(fm_activation_forward_, SUF)(act, mr, nr, ctile, ldc,
                                                                ctile, ldc);
                    }
                }
                /* Rows ic..ic+mc are complete (and in L2) when one jc covers n. */
                if (last && act.kind == FM_ACT_SOFTMAX && nc == n)
                    FM_CAT(fm_activation_forward_, SUF)(act, mc, n, c + ic * ldc, ldc,
                                                        c + ic * ldc, ldc);
            }
        }
    }
    if (act.kind == FM_ACT_SOFTMAX && n > NC)
        FM_CAT(fm_activation_forward_, SUF)(act, m, n, c, ldc, c, ldc);

    fm_free(abuf);
    fm_free(bbuf);
    return FM_OK;
}

#undef FM_NAME
#undef NV
#undef SMALL_M
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
