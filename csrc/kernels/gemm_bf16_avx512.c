/*
 * The emulated bf16 tier for AVX-512F (compiled with -mavx512f; used when
 * the float kernels are the avx512 set and no bf16 hardware tier is chosen).
 * 8 rows x 16 columns per pass: 8 e + 8 o + 8 c accumulators.
 */
#include <string.h>
#include "internal.h"

#define PREFIX emulated_avx512_
#define VW 16
#define RG 8
#define VEC __m512
#define VINT __m512i
#define VLOADI(p) _mm512_loadu_si512((const void *)(p))
#define VEVEN(v) _mm512_castsi512_ps(_mm512_slli_epi32((v), 16))
#define VODD(v) _mm512_castsi512_ps(_mm512_and_si512((v), _mm512_set1_epi32((int)0xffff0000u)))
#define VSET1(x) _mm512_set1_ps(x)
#define VZERO() _mm512_setzero_ps()
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#include "gemm_bf16_emulated.h"

const fm_bf16_tier fm_bf16_emulated_avx512 = {
    "emulated", NULL, emulated_avx512_block, NULL, fm_bf16_pack_a_avx512, fm_bf16_pack_b_avx512};

/* ------------------------------------------------------------------------ */
/* Packing with AVX-512F: the same bits as fm_bf16_pack_a / _b (gemm_bf16.c) */
/* ------------------------------------------------------------------------ */

/* 16 floats rounded as fm_bf16_from_f32, the bf16 in the top half of each
 * 32-bit lane (low half zero). */
static inline __m512i round16(__m512 x)
{
    const __m512i u = _mm512_castps_si512(x);
    const __m512i top = _mm512_set1_epi32((int)0xffff0000u);
    const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff)));
    const __m512i mag = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(mag, _mm512_set1_epi32(0x7f800000));
    const __mmask16 tiny = _mm512_testn_epi32_mask(u, _mm512_set1_epi32(0x7f800000));
    r = _mm512_mask_or_epi32(r, nan, u, _mm512_set1_epi32(0x00400000));
    r = _mm512_mask_and_epi32(r, tiny, u, _mm512_set1_epi32((int)0x80000000u));
    return _mm512_and_si512(r, top);
}

static inline __mmask16 first(int64_t n); /* in gemm_bf16_pack_avx512.h */

/* 32-bit pairs (bf16 of lo in the low half, of hi in the high half). */
static inline __m512i pairs(__m512 lo, __m512 hi)
{
    return _mm512_or_si512(_mm512_srli_epi32(round16(lo), 16), round16(hi));
}

/* 32 consecutive floats (kk 0..31, `valid` of them) as 16 pairs. */
static inline __m512i run_pairs(const float *src, int64_t valid)
{
    const __m512i r0 = _mm512_srli_epi32(round16(_mm512_maskz_loadu_ps(first(valid), src)), 16);
    const __m512i r1 =
        _mm512_srli_epi32(round16(_mm512_maskz_loadu_ps(first(valid - 16), src + 16)), 16);
    const __m256i h0 = _mm512_cvtepi32_epi16(r0), h1 = _mm512_cvtepi32_epi16(r1);
    return _mm512_inserti64x4(_mm512_castsi256_si512(h0), h1, 1);
}

#define FM_PACK_NAME(x) fm_bf16_pack_##x##_avx512
#include "gemm_bf16_pack_avx512.h"
