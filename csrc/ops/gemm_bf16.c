/*
 * bfloat16 products: packing and the single-threaded driver (see bf16.h
 * for layouts and each tier's arithmetic; the tiers are in kernels/, their
 * choice in cpu.c).
 *
 * Driver, for C (m, n) = act(alpha * op(A) @ op(B) + beta * C + bias):
 *   op(B) is packed once per call (or given packed: pr->b_packed) into
 *   16-column panels; rows of op(A) are packed a block of mb rows at a time
 *   (the block's panels stay in L2). For every 32-column pair of B panels,
 *   K is run in ranges of at most FM_BF16_K_RANGE chunks (the pair's range,
 *   2 x 12 KiB, stays in L1 while the A panels of every row block stream
 *   past it from L2): per range, each 32 x 32 block of C continues its chunk
 *   chain in its float tile of `acc` (one per row block); after the last
 *   range the float output stage writes the tile into C (softmax and maxout
 *   once a block of rows is complete: the float drivers'
 *   fm_gemm_rows_stage_f32). Every element of C gets the same operations in
 *   the same order whatever block, range, thread or split computed it.
 */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#define PANEL_ELEMS(kq) ((kq) * (int64_t)FM_BF16_CHUNK_ELEMS)

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t round_up(int64_t x, int64_t unit) { return (x + unit - 1) / unit * unit; }

/* ------------------------------------------------------------------------ */
/* Packing                                                                  */
/* ------------------------------------------------------------------------ */

int64_t fm_bf16_packed_b_bytes(int trans_b, int64_t k, int64_t n)
{
    (void)trans_b;
    const int64_t panels = (n + FM_BF16_PANEL - 1) / FM_BF16_PANEL;
    return panels * PANEL_ELEMS(fm_bf16_chunks(k)) * (int64_t)sizeof(uint16_t);
}

const void *fm_bf16_packed_b_columns(const void *b_packed, int64_t k, int64_t col)
{
    return (const uint16_t *)b_packed + col / FM_BF16_PANEL * PANEL_ELEMS(fm_bf16_chunks(k));
}

/* Portable packing; tiers with their own (same bits) name it in their
 * fm_bf16_tier. */
static void pack_b_portable(int trans_b, int64_t k, int64_t n, const float *b, int64_t ldb,
                            void *out, int64_t panel_stride)
{
    const int64_t kq = fm_bf16_chunks(k);
    for (int64_t j0 = 0; j0 < n; j0 += FM_BF16_PANEL) {
        const int cols = (int)min64(FM_BF16_PANEL, n - j0);
        uint16_t *dst = (uint16_t *)out + j0 / FM_BF16_PANEL * panel_stride;
        for (int64_t q = 0; q < kq; q++, dst += FM_BF16_CHUNK_ELEMS) {
            const int64_t p0 = q * FM_BF16_KCHUNK;
            const int kk_end = (int)min64(FM_BF16_KCHUNK, k - p0);
            if (cols < FM_BF16_PANEL || kk_end < FM_BF16_KCHUNK)
                memset(dst, 0, FM_BF16_CHUNK_ELEMS * sizeof(uint16_t));
            /* dst[(kk / 2 * 16 + c) * 2 + kk % 2] = op(B)[p0 + kk][j0 + c] */
            if (!trans_b) {
                for (int kk = 0; kk < kk_end; kk++) {
                    const float *src = b + (p0 + kk) * ldb + j0;
                    uint16_t *d = dst + (kk >> 1) * 32 + (kk & 1);
                    for (int c = 0; c < cols; c++)
                        d[2 * c] = fm_bf16_from_f32(src[c]);
                }
            } else {
                for (int c = 0; c < cols; c++) {
                    const float *src = b + (j0 + c) * ldb + p0;
                    uint16_t *d = dst + 2 * c;
                    for (int kk = 0; kk < kk_end; kk++)
                        d[(kk >> 1) * 32 + (kk & 1)] = fm_bf16_from_f32(src[kk]);
                }
            }
        }
    }
}

static void pack_a_portable(int trans_a, int64_t rows, int64_t k, const float *a, int64_t lda,
                            uint16_t *out)
{
    const int64_t kq = fm_bf16_chunks(k);
    uint16_t *dst = out;
    for (int64_t i0 = 0; i0 < rows; i0 += FM_BF16_PANEL) {
        const int nr = (int)min64(FM_BF16_PANEL, rows - i0);
        for (int64_t q = 0; q < kq; q++, dst += FM_BF16_CHUNK_ELEMS) {
            const int64_t p0 = q * FM_BF16_KCHUNK;
            const int kk_end = (int)min64(FM_BF16_KCHUNK, k - p0);
            if (nr < FM_BF16_PANEL || kk_end < FM_BF16_KCHUNK)
                memset(dst, 0, FM_BF16_CHUNK_ELEMS * sizeof(uint16_t));
            /* dst[r * 32 + kk] = op(A)[i0 + r][p0 + kk] */
            if (!trans_a) {
                for (int r = 0; r < nr; r++) {
                    const float *src = a + (i0 + r) * lda + p0;
                    for (int kk = 0; kk < kk_end; kk++)
                        dst[r * 32 + kk] = fm_bf16_from_f32(src[kk]);
                }
            } else {
                for (int kk = 0; kk < kk_end; kk++) {
                    const float *src = a + (p0 + kk) * lda + i0;
                    for (int r = 0; r < nr; r++)
                        dst[r * 32 + kk] = fm_bf16_from_f32(src[r]);
                }
            }
        }
    }
}

/* Each tier packs as its instructions convert (the same bits). */
void fm_bf16_pack_a(int trans_a, int64_t rows, int64_t k, const float *a, int64_t lda,
                    uint16_t *out)
{
    const fm_bf16_tier *tier = fm_bf16_kernels();
    if (tier->pack_a != NULL)
        tier->pack_a(trans_a, rows, k, a, lda, out);
    else
        pack_a_portable(trans_a, rows, k, a, lda, out);
}

void fm_bf16_pack_b_strided(int trans_b, int64_t k, int64_t n, const float *b, int64_t ldb,
                            void *out, int64_t panel_stride)
{
    const fm_bf16_tier *tier = fm_bf16_kernels();
    if (tier->pack_b != NULL)
        tier->pack_b(trans_b, k, n, b, ldb, out, panel_stride);
    else
        pack_b_portable(trans_b, k, n, b, ldb, out, panel_stride);
}

void fm_bf16_pack_b(int trans_b, int64_t k, int64_t n, const float *b, int64_t ldb, void *out)
{
    fm_bf16_pack_b_strided(trans_b, k, n, b, ldb, out, fm_bf16_chunks(k) * FM_BF16_CHUNK_ELEMS);
}

/* ------------------------------------------------------------------------ */
/* Driver                                                                   */
/* ------------------------------------------------------------------------ */

#ifndef FM_BF16_A_BLOCK_BYTES
#define FM_BF16_A_BLOCK_BYTES (1024 * 1024)
#endif
/* Rows of op(A) packed at a time: the block's panels within ~256 KiB. */
static int64_t row_block(int64_t m, int64_t kq)
{
    int64_t mb = ((int64_t)FM_BF16_A_BLOCK_BYTES / (PANEL_ELEMS(kq) / FM_BF16_PANEL * 2)) /
                 FM_BF16_BLOCK * FM_BF16_BLOCK;
    if (mb < FM_BF16_BLOCK)
        mb = FM_BF16_BLOCK;
    return min64(mb, round_up(m, FM_BF16_BLOCK));
}

/* K chunks per range: a pair of B panels' range in half of a 48 KiB L1. */
#define FM_BF16_K_RANGE 12

/* Buffer bytes: A block, B (unless given packed), the acc tiles (one per
 * 32 rows of the A block); 64-byte aligned parts. */
static void buffer_bytes(const fm_gemm_problem_f32 *pr, int64_t *a_bytes, int64_t *b_bytes,
                         int64_t *acc_bytes)
{
    const int64_t kq = fm_bf16_chunks(pr->k);
    *a_bytes = round_up(row_block(pr->m, kq) / FM_BF16_PANEL * PANEL_ELEMS(kq) * 2, 64);
    *b_bytes =
        pr->b_packed != NULL ? 0 : round_up(fm_bf16_packed_b_bytes(pr->trans_b, pr->k, pr->n), 64);
    *acc_bytes = row_block(pr->m, kq) * FM_BF16_BLOCK * (int64_t)sizeof(float);
}

int64_t fm_bf16_scratch_elems(const fm_gemm_problem_f32 *pr)
{
    if (pr->m <= 0 || pr->n <= 0 || pr->k <= 0 || pr->alpha == 0.0f)
        return fm_kernels()->scratch_f32(pr);
    int64_t a_bytes, b_bytes, acc_bytes;
    buffer_bytes(pr, &a_bytes, &b_bytes, &acc_bytes);
    return (a_bytes + b_bytes + acc_bytes) / (int64_t)sizeof(float);
}

/* C block (rows x cols at row i0, column j0) = output stage of acc, as the
 * float kernels' store_row: alpha * acc, + C (beta 1) or + beta * C, + bias,
 * relu (max(v, 0) with NaN and -0 kept); then other activations but those
 * that need whole rows (softmax, maxout: fm_gemm_rows_stage_f32 later). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
/* Every output value passes here once (~100 M per MNIST epoch): vectorised,
 * chosen at load time; IEEE operations without contraction, the same bits
 * in every clone. */
#define FM_STAGE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FM_STAGE_CLONES
#endif
static FM_STAGE_CLONES void output_stage(const fm_gemm_problem_f32 *pr, const float *acc,
                                         int64_t i0, int64_t j0, int rows, int cols)
{
    const float alpha = pr->alpha, beta = pr->beta;
    const int relu = pr->act.kind == FM_ACT_RELU;
    const float *restrict bias = pr->bias != NULL ? pr->bias + j0 : NULL;
    float *c0 = pr->c + i0 * pr->ldc + j0;
    for (int r = 0; r < rows; r++) {
        float *restrict c = c0 + r * pr->ldc;
        const float *restrict s = acc + r * FM_BF16_BLOCK;
        for (int j = 0; j < cols; j++) {
            float v = s[j] * alpha;
            if (beta == 1.0f)
                v = v + c[j];
            else if (beta != 0.0f)
                v = v + beta * c[j];
            if (bias != NULL)
                v = v + bias[j];
            if (relu)
                v = v < 0.0f ? 0.0f : v;
            c[j] = v;
        }
    }
    const fm_activation_kind kind = pr->act.kind;
    if (kind != FM_ACT_IDENTITY && kind != FM_ACT_RELU && !fm_gemm_needs_rows(kind))
        fm_activation_forward_f32(pr->act, rows, cols, c0, pr->ldc, c0, pr->ldc);
}

fm_status fm_bf16_gemm_f32(const fm_gemm_problem_f32 *pr)
{
    const int64_t m = pr->m, n = pr->n, k = pr->k;
    if (m <= 0 || n <= 0)
        return FM_OK;
    if (k <= 0 || pr->alpha == 0.0f) /* no product: the float path's output stage */
        return fm_kernels()->gemm_f32(pr);

    const fm_bf16_tier *tier = fm_bf16_kernels();
    const int64_t kq = fm_bf16_chunks(k);
    const int64_t mb = row_block(m, kq);
    int64_t a_bytes, b_bytes, acc_bytes;
    buffer_bytes(pr, &a_bytes, &b_bytes, &acc_bytes);
    const int64_t need = a_bytes + b_bytes + acc_bytes;
    char *own = NULL, *buf;
    if (pr->scratch != NULL && pr->scratch_elems * (int64_t)sizeof(float) >= need) {
        buf = (char *)pr->scratch;
    } else {
        own = fm_malloc((size_t)need);
        if (own == NULL)
            return FM_ERR_NOMEM;
        buf = own;
    }
    uint16_t *apack = (uint16_t *)buf;
    float *acc = (float *)(buf + a_bytes + b_bytes);
    const uint16_t *bpack = pr->b_packed;
    if (bpack == NULL) {
        fm_bf16_pack_b(pr->trans_b, k, n, pr->b, pr->ldb, buf + a_bytes);
        bpack = (const uint16_t *)(buf + a_bytes);
    }

    /* K ranges of equal length (at most FM_BF16_K_RANGE chunks) */
    const int64_t ranges = (kq + FM_BF16_K_RANGE - 1) / FM_BF16_K_RANGE;
    const int64_t kr = (kq + ranges - 1) / ranges;
    if (tier->begin != NULL)
        tier->begin();
    for (int64_t ic = 0; ic < m; ic += mb) {
        const int64_t rows = min64(mb, m - ic);
        fm_bf16_pack_a(pr->trans_a, rows, k, pr->trans_a ? pr->a + ic : pr->a + ic * pr->lda,
                       pr->lda, apack);
        for (int64_t jc = 0; jc < n; jc += FM_BF16_BLOCK) {
            const int cols = (int)min64(FM_BF16_BLOCK, n - jc);
            const int nt = cols > FM_BF16_PANEL ? 2 : 1;
            const uint16_t *bp = bpack + jc / FM_BF16_PANEL * PANEL_ELEMS(kq);
            for (int64_t q0 = 0; q0 < kq; q0 += kr) {
                const int64_t chunks = min64(kr, kq - q0), o = q0 * FM_BF16_CHUNK_ELEMS;
                const int last = q0 + chunks == kq;
                for (int64_t ir = 0; ir < rows; ir += FM_BF16_BLOCK) {
                    const int brows = (int)min64(FM_BF16_BLOCK, rows - ir);
                    const int mt = brows > FM_BF16_PANEL ? 2 : 1;
                    float *tile = acc + ir * FM_BF16_BLOCK;
                    tier->block(chunks, PANEL_ELEMS(kq),
                                apack + ir / FM_BF16_PANEL * PANEL_ELEMS(kq) + o, bp + o, mt, nt,
                                q0 > 0, tile);
                    if (last)
                        output_stage(pr, tile, ic + ir, jc, brows, cols);
                }
            }
        }
        if (fm_gemm_needs_rows(pr->act.kind)) /* rows ic..ic+rows are complete (in L2) */
            fm_gemm_rows_stage_f32(pr, ic, rows);
    }
    if (tier->end != NULL)
        tier->end();
    fm_free(own);
    return FM_OK;
}

/* ------------------------------------------------------------------------ */
/* Public entry points                                                      */
/* ------------------------------------------------------------------------ */

fm_status fm_gemm_bf16_f32(int n_threads, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                           float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                           float beta, float *c, int64_t ldc)
{
    const fm_gemm_problem_f32 pr = {trans_a, trans_b, m,   n,    k,
                                    alpha,   a,       lda, b,    ldb,
                                    beta,    c,       ldc, NULL, {FM_ACT_IDENTITY, 0.0},
                                    NULL,    0,       1,   NULL, NULL,
                                    0,       NULL};
    return fm_gemm_problem_run_f32(FM_GEMM_NATIVE, n_threads, &pr);
}

fm_status fm_dense_forward_bf16_f32(int n_threads, int trans_x, int trans_w, int64_t m, int64_t n,
                                    int64_t k, const float *x, int64_t ldx, const float *w,
                                    int64_t ldw, const float *bias, fm_activation act, float *out,
                                    int64_t ldo)
{
    const fm_gemm_problem_f32 pr = {trans_x, trans_w, m,    n,    k,   1.0f, x,   ldx,
                                    w,       ldw,     0.0f, out,  ldo, bias, act, NULL,
                                    0,       1,       NULL, NULL, 0,   NULL};
    return fm_gemm_problem_run_f32(FM_GEMM_NATIVE, n_threads, &pr);
}
