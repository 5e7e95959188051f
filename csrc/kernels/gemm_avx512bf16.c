/*
 * The AVX512_BF16 tier: VDPBF16PS (compiled with -mavx512bf16 -mavx512f;
 * chosen only where AMX is not usable: on Sapphire Rapids it runs at about
 * half the FMA rate, far below the tiles).
 *
 * 8 rows x 2 panels (32 columns) per pass in 16 zmm accumulators, each the
 * whole-K sum for 16 columns of one row. Per K pair, the A pair of each row
 * is broadcast (one dword) and multiplied with one 64-byte row of a packed
 * B chunk (16 columns x (even, odd)).
 *
 * Arithmetic of VDPBF16PS measured on Sapphire Rapids: per lane and pair,
 * c = fma(a_odd, b_odd, c) then c = fma(a_even, b_even, c), DAZ, FTZ, round
 * to nearest even: one chain, not TDPBF16PS's two, so this tier's results
 * differ from the amx / emulated tiers in the last bits (see bf16.h).
 */
#include <immintrin.h>
#include <string.h>
#include "internal.h"

#define RG 8

static void avx512bf16_block(int64_t kq, int64_t panel, const uint16_t *a, const uint16_t *b,
                             int mt, int nt, int accumulate, float *acc)
{
    for (int pi = 0; pi < mt; pi++)
        for (int r0 = 0; r0 < FM_BF16_PANEL; r0 += RG) {
            __m512 c0[RG], c1[RG];
#pragma GCC unroll 8
            for (int r = 0; r < RG; r++) {
                const float *row = acc + (pi * FM_BF16_PANEL + r0 + r) * FM_BF16_BLOCK;
                c0[r] = accumulate ? _mm512_loadu_ps(row) : _mm512_setzero_ps();
                c1[r] = accumulate && nt == 2 ? _mm512_loadu_ps(row + FM_BF16_PANEL)
                                              : _mm512_setzero_ps();
            }
            const uint16_t *ap = a + pi * panel + r0 * 32;
            const uint16_t *bp0 = b, *bp1 = b + panel;
            if (nt == 2) {
                for (int64_t q = 0; q < kq; q++) {
                    for (int p = 0; p < 16; p++) {
                        const __m512bh bv0 = (__m512bh)_mm512_loadu_si512(bp0 + p * 32);
                        const __m512bh bv1 = (__m512bh)_mm512_loadu_si512(bp1 + p * 32);
#pragma GCC unroll 8
                        for (int r = 0; r < RG; r++) {
                            uint32_t pair;
                            memcpy(&pair, ap + r * 32 + 2 * p, sizeof pair);
                            const __m512bh av = (__m512bh)_mm512_set1_epi32((int)pair);
                            c0[r] = _mm512_dpbf16_ps(c0[r], av, bv0);
                            c1[r] = _mm512_dpbf16_ps(c1[r], av, bv1);
                        }
                    }
                    ap += FM_BF16_CHUNK_ELEMS;
                    bp0 += FM_BF16_CHUNK_ELEMS;
                    bp1 += FM_BF16_CHUNK_ELEMS;
                }
            } else {
                for (int64_t q = 0; q < kq; q++) {
                    for (int p = 0; p < 16; p++) {
                        const __m512bh bv0 = (__m512bh)_mm512_loadu_si512(bp0 + p * 32);
#pragma GCC unroll 8
                        for (int r = 0; r < RG; r++) {
                            uint32_t pair;
                            memcpy(&pair, ap + r * 32 + 2 * p, sizeof pair);
                            c0[r] = _mm512_dpbf16_ps(c0[r], (__m512bh)_mm512_set1_epi32((int)pair),
                                                     bv0);
                        }
                    }
                    ap += FM_BF16_CHUNK_ELEMS;
                    bp0 += FM_BF16_CHUNK_ELEMS;
                }
            }
#pragma GCC unroll 8
            for (int r = 0; r < RG; r++) {
                float *row = acc + (pi * FM_BF16_PANEL + r0 + r) * FM_BF16_BLOCK;
                _mm512_storeu_ps(row, c0[r]);
                if (nt == 2)
                    _mm512_storeu_ps(row + FM_BF16_PANEL, c1[r]);
            }
        }
}

const fm_bf16_tier fm_bf16_avx512bf16 = {"avx512_bf16",
                                         NULL,
                                         avx512bf16_block,
                                         NULL,
                                         fm_bf16_pack_a_avx512bf16,
                                         fm_bf16_pack_b_avx512bf16};

/* ------------------------------------------------------------------------ */
/* Packing with VCVTNE2PS2BF16: the same bits as fm_bf16_pack_a / _b        */
/* ------------------------------------------------------------------------ */

/* VCVTNE2PS2BF16 rounds exactly as fm_bf16_from_f32 (Intel's pseudo-code,
 * and tests/test_bf16.py's rounding cases through every packing loop): to
 * nearest even, zero and denormal inputs to a zero of their sign whatever
 * MXCSR says, NaN to its top 16 bits with the quiet bit set, overflow of
 * the rounding to inf. One instruction for 32 floats where the integer
 * rounding takes about ten per 16. */
static inline __mmask16 first(int64_t n); /* in gemm_bf16_pack_avx512.h */

/* 32-bit pairs (bf16 of lo in the low half, of hi in the high half): one
 * conversion of all 32 values (lo's 16 bf16 then hi's), then one word
 * permutation interleaving them (VPERMW, AVX512BW, implied by
 * -mavx512bf16); the same rounding as converting each half alone. */
static inline __m512i pairs(__m512 lo, __m512 hi)
{
    const __m512i interleave =
        _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                         21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

/* 32 consecutive floats (kk 0..31, `valid` of them) as 16 pairs. */
static inline __m512i run_pairs(const float *src, int64_t valid)
{
    const __m512 lo = _mm512_maskz_loadu_ps(first(valid), src);
    const __m512 hi = _mm512_maskz_loadu_ps(first(valid - 16), src + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

#define FM_PACK_NAME(x) fm_bf16_pack_##x##_avx512bf16
#include "gemm_bf16_pack_avx512.h"
