/*
 * AVX-512 packing of bf16 operands (layouts in bf16.h), written once and
 * included by gemm_bf16_avx512.c (rounding in integer lanes, AVX-512F) and
 * gemm_avx512bf16.c (VCVTNE2PS2BF16, AVX512_BF16): the same bits.
 *
 * The including file defines FM_PACK_NAME(x) (the function names, x = a or
 * b) and two helpers:
 *   pairs(lo, hi): 16 floats each -> 16 32-bit pairs (bf16 of lo[i] in the
 *     low half of lane i, of hi[i] in the high half);
 *   run_pairs(src, valid): 32 consecutive floats (the first `valid` read,
 *     the rest zero) -> 32 bf16 in order (16 pairs).
 */
#include <immintrin.h>

static inline __mmask16 first(int64_t n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

/* In place: v[i] lane j <- v[j] lane i (16 x 16 32-bit values). */
static inline void transpose16(__m512i v[16])
{
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(v[i], v[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(v[i], v[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        v[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        v[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        v[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        v[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    /* Now v[4g + s] holds, per 128-bit lane L, rows 4L..4L+3's ... of the
     * 4 x 4 blocks: combine the 128-bit lanes across groups. */
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_i32x4(v[i], v[i + 4], 0x88);     /* lanes 0, 2 */
        t[i + 4] = _mm512_shuffle_i32x4(v[i], v[i + 4], 0xdd); /* lanes 1, 3 */
        t[i + 8] = _mm512_shuffle_i32x4(v[i + 8], v[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_i32x4(v[i + 8], v[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        v[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        v[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
        v[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
        v[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xdd);
    }
}

void FM_PACK_NAME(a)(int trans_a, int64_t rows, int64_t k, const float *a, int64_t lda,
                     uint16_t *out)
{
    const int64_t kq = fm_bf16_chunks(k);
    const int64_t panels = (rows + FM_BF16_PANEL - 1) / FM_BF16_PANEL;
    /* Chunk-major when A is transposed: 32 whole rows of the stored A are
     * read at a time (streams), not 64 bytes of each of k rows per panel. */
    for (int64_t t = 0; t < panels * kq; t++) {
        const int64_t pi = trans_a ? t % panels : t / kq, q = trans_a ? t / panels : t % kq;
        const int64_t i0 = pi * FM_BF16_PANEL;
        uint16_t *dst = out + (pi * kq + q) * FM_BF16_CHUNK_ELEMS;
        const int64_t nr = rows - i0 < FM_BF16_PANEL ? rows - i0 : FM_BF16_PANEL;
        {
            const int64_t p0 = q * FM_BF16_KCHUNK, valid = k - p0;
            __m512i v[16];
            if (!trans_a) { /* row r: 32 consecutive K values */
                for (int r = 0; r < 16; r++)
                    v[r] =
                        r < nr ? run_pairs(a + (i0 + r) * lda + p0, valid) : _mm512_setzero_si512();
            } else { /* K value kk: 16 consecutive rows; pairs, then transpose */
                const __mmask16 rm = first(nr);
                for (int pp = 0; pp < 16; pp++) {
                    const int64_t kk = 2 * pp;
                    const __m512 lo = kk < valid
                                          ? _mm512_maskz_loadu_ps(rm, a + (p0 + kk) * lda + i0)
                                          : _mm512_setzero_ps();
                    const __m512 hi = kk + 1 < valid
                                          ? _mm512_maskz_loadu_ps(rm, a + (p0 + kk + 1) * lda + i0)
                                          : _mm512_setzero_ps();
                    v[pp] = pairs(lo, hi);
                }
                transpose16(v);
            }
            for (int r = 0; r < 16; r++)
                _mm512_storeu_si512(dst + r * 32, v[r]);
        }
    }
}

/* Panels per group of the row-pair order below: 8 x 64 bytes of each row
 * (measured 2, 4, 8, 64: 8 best at 1024 columns, none slower elsewhere). */
#define PACK_GROUP 8
/* Chunks per row of the transposed order below (measured 4, 8, 16). */
#define TRANS_GROUP 8
void FM_PACK_NAME(b)(int trans_b, int64_t k, int64_t n, const float *b, int64_t ldb, void *out,
                     int64_t panel_stride)
{
    const int64_t kq = fm_bf16_chunks(k);
    const int64_t panels = (n + FM_BF16_PANEL - 1) / FM_BF16_PANEL;
    /* B not transposed, whole chunks of whole panels: row pair by row pair
     * across a group of panels, so that B's rows stream in order. (Panel by
     * panel, the 32 rows' 64-byte pieces of one panel sit ldb apart: at ldb
     * = 1024 floats, 4 KiB, one L1 set and no prefetch; 32 x 1024 packed at
     * 0.31 ns a value, 0.08 now, against 0.06 at 1000 columns either way.)
     * The rest below, block by block. */
    const int64_t full_panels = n / FM_BF16_PANEL, full_chunks = k / FM_BF16_KCHUNK;
    if (!trans_b)
        for (int64_t q = 0; q < full_chunks; q++)
            for (int64_t g = 0; g < full_panels; g += PACK_GROUP)
                for (int pp = 0; pp < 16; pp++) {
                    const float *lo = b + (q * FM_BF16_KCHUNK + 2 * pp) * ldb, *hi = lo + ldb;
                    uint16_t *dst = (uint16_t *)out + q * FM_BF16_CHUNK_ELEMS + pp * 32;
                    const int64_t end = g + PACK_GROUP < full_panels ? g + PACK_GROUP : full_panels;
                    for (int64_t pj = g; pj < end; pj++)
                        _mm512_storeu_si512(dst + pj * panel_stride,
                                            pairs(_mm512_loadu_ps(lo + pj * FM_BF16_PANEL),
                                                  _mm512_loadu_ps(hi + pj * FM_BF16_PANEL)));
                }
    /* B transposed (W^T from W's rows) whose rows are a multiple of 4 KiB
     * apart, whole chunks of whole panels: each of a panel's 16 rows of the
     * stored B converted TRANS_GROUP chunks at a time into a buffer (one
     * stream of 1 KiB per row), then each chunk's 16 vectors of pairs
     * transposed from there. Chunk by chunk (below), the 16 rows' 128-byte
     * pieces fall in the same two L1 sets: 32 rows x 1024 packed in 4.8 us,
     * 2.8 us staged, 2048 columns 9.4 and 5.6 us (the rows just written, as
     * after a step; Zen 4, best of 50); at other widths (256 to 1536, 1000,
     * 300) staging was 0-10% slower, so only these strides take it. */
    const int staged = trans_b && ldb % (4096 / (int64_t)sizeof(float)) == 0;
    if (staged)
        for (int64_t pj = 0; pj < full_panels; pj++)
            for (int64_t q0 = 0; q0 < full_chunks; q0 += TRANS_GROUP) {
                const int64_t group =
                    full_chunks - q0 < TRANS_GROUP ? full_chunks - q0 : TRANS_GROUP;
                __m512i runs[TRANS_GROUP][16], v[16];
                for (int c = 0; c < 16; c++) {
                    const float *row = b + (pj * FM_BF16_PANEL + c) * ldb + q0 * FM_BF16_KCHUNK;
                    for (int64_t g = 0; g < group; g++)
                        runs[g][c] = run_pairs(row + g * FM_BF16_KCHUNK, FM_BF16_KCHUNK);
                }
                for (int64_t g = 0; g < group; g++) {
                    for (int c = 0; c < 16; c++)
                        v[c] = runs[g][c];
                    transpose16(v);
                    uint16_t *dst =
                        (uint16_t *)out + pj * panel_stride + (q0 + g) * FM_BF16_CHUNK_ELEMS;
                    for (int pp = 0; pp < 16; pp++)
                        _mm512_storeu_si512(dst + pp * 32, v[pp]);
                }
            }
    /* Chunk-major when B is not transposed: 32 whole rows of B at a time. */
    for (int64_t t = 0; t < panels * kq; t++) {
        const int64_t pj = !trans_b ? t % panels : t / kq, q = !trans_b ? t / panels : t % kq;
        if ((staged || !trans_b) && pj < full_panels && q < full_chunks)
            continue; /* packed above */
        const int64_t j0 = pj * FM_BF16_PANEL;
        uint16_t *dst = (uint16_t *)out + pj * panel_stride + q * FM_BF16_CHUNK_ELEMS;
        const int64_t cols = n - j0 < FM_BF16_PANEL ? n - j0 : FM_BF16_PANEL;
        {
            const int64_t p0 = q * FM_BF16_KCHUNK, valid = k - p0;
            __m512i v[16];
            if (!trans_b) { /* pair pp: K rows 2pp, 2pp + 1 across 16 columns */
                const __mmask16 cm = first(cols);
                for (int pp = 0; pp < 16; pp++) {
                    const int64_t kk = 2 * pp;
                    const __m512 lo = kk < valid
                                          ? _mm512_maskz_loadu_ps(cm, b + (p0 + kk) * ldb + j0)
                                          : _mm512_setzero_ps();
                    const __m512 hi = kk + 1 < valid
                                          ? _mm512_maskz_loadu_ps(cm, b + (p0 + kk + 1) * ldb + j0)
                                          : _mm512_setzero_ps();
                    v[pp] = pairs(lo, hi);
                }
            } else { /* column c: 32 consecutive K values; transpose */
                for (int c = 0; c < 16; c++)
                    v[c] = c < cols ? run_pairs(b + (j0 + c) * ldb + p0, valid)
                                    : _mm512_setzero_si512();
                transpose16(v);
            }
            for (int pp = 0; pp < 16; pp++)
                _mm512_storeu_si512(dst + pp * 32, v[pp]);
        }
    }
}

#undef PACK_GROUP
#undef TRANS_GROUP
#undef FM_PACK_NAME
