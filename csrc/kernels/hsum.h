/*
 * Sums of a vector's lanes by the halving tree (lanes l and l + w added for
 * w = half the width, then half of that, down to 1), for the dot-product
 * path of the AVX2 and AVX-512 GEMM drivers (VREDUCE in gemm_kernel.h).
 * The tree is written out rather than left to _mm512_reduce_add_ps, because
 * the path's transposed-A form (dot_cols_tile) adds the same lane sums in
 * the same tree with whole vectors, and both must give the same bits.
 */
#ifndef FASTMLP_HSUM_H
#define FASTMLP_HSUM_H

#include <immintrin.h>

static inline float hsum256_ps(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)); /* w = 4 */
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));                                        /* w = 2 */
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));                       /* w = 1 */
}

static inline double hsum256_pd(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1)); /* w = 2 */
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));                     /* w = 1 */
}

#ifdef __AVX512F__
static inline float hsum512_ps(__m512 v)
{
    const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    return hsum256_ps(_mm256_add_ps(_mm512_castps512_ps256(v), hi)); /* w = 8 */
}

static inline double hsum512_pd(__m512d v)
{
    return hsum256_pd(_mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1)));
}
#endif

#endif
