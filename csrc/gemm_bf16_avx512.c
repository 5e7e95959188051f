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
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#include "gemm_bf16_emulated.h"

const fm_bf16_tier fm_bf16_emulated_avx512 = {"emulated", NULL, emulated_avx512_block, NULL};
