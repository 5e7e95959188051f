/*
 * The emulated bf16 tier for AVX2 + FMA (compiled with -mavx2 -mfma; used
 * when the float kernels are the avx2 set). 4 rows x 8 columns per pass:
 * 4 e + 4 o + 4 c accumulators and the B pair halves in 16 ymm registers.
 */
#include <string.h>
#include "internal.h"

#define PREFIX emulated_avx2_
#define VW 8
#define RG 4
#define VEC __m256
#define VINT __m256i
#define VLOADI(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define VEVEN(v) _mm256_castsi256_ps(_mm256_slli_epi32((v), 16))
#define VODD(v) _mm256_castsi256_ps(_mm256_and_si256((v), _mm256_set1_epi32((int)0xffff0000u)))
#define VSET1(x) _mm256_set1_ps(x)
#define VZERO() _mm256_setzero_ps()
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#include "gemm_bf16_emulated.h"

const fm_bf16_tier fm_bf16_emulated_avx2 = {"emulated", NULL, emulated_avx2_block,
                                            NULL,       NULL, NULL};
