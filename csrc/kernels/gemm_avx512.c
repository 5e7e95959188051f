/*
 * GEMM kernels for AVX-512F, compiled with -mavx512f (see CMakeLists.txt)
 * and used only when the CPU reports avx512f.
 *
 * Register tile: float 12 x 32 (24 zmm accumulators + 2 B rows + 1
 * broadcast of the 32 zmm registers), double 12 x 16. Ragged columns use
 * AVX-512 write masks.
 *
 * A_T_IN_PLACE: a transposed A (the weight gradients) is read in place, 12
 * contiguous values (48 or 96 bytes) per step, not packed. Zen 4, one
 * thread, float a^T @ delta: 784 x 300 at k = 32 166 -> 162 us, k = 200
 * 883 -> 858 us, 1024 x 256 at k = 200 1015 -> 946 us; 1024 x 1024 at
 * k = 32 0.5% slower (the one shape measured slower). The AVX2 set's
 * 6-row tiles (24 bytes a step) were 6-10% slower in place at k = 200
 * and at n = 1024, so it packs.
 */
#include <immintrin.h>
#include "internal.h"
#include "hsum.h"
#include "transpose8.h"

#define T float
#define SUF f32
#define PREFIX avx512_f32_
#define TRANSPOSE8(s, lds, d, ldd) transpose8_ps((s), (lds), (d), (ldd))
#define VEC __m512
#define VW 16
#define VREGS 32
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VLOAD_PART(p, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1), (p))
#define VSTORE_PART(p, v, n) _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1), (v))
#define VBCAST(x) _mm512_set1_ps(x)
#define VZERO() _mm512_setzero_ps()
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define VDIV(a, b) _mm512_div_ps((a), (b))
#define VSEL_GT(a, b, x, y) _mm512_mask_blend_ps(_mm512_cmp_ps_mask((a), (b), _CMP_GT_OQ), (y), (x))
#define VSEL_LT(a, b, x, y) _mm512_mask_blend_ps(_mm512_cmp_ps_mask((a), (b), _CMP_LT_OQ), (y), (x))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VRELU(v) _mm512_max_ps(_mm512_setzero_ps(), (v)) /* NaN stays NaN */
#define VREDUCE(v) hsum512_ps(v)
#define MR 12
#define NR 32
#define KC 256
#define MC 240
#define NC 4096
#define GEMV_VECS 16
#define A_T_IN_PLACE 1
#include "gemm_kernel.h"

#define T double
#define SUF f64
#define PREFIX avx512_f64_
#define VEC __m512d
#define VW 8
#define VREGS 32
#define VLOAD(p) _mm512_loadu_pd(p)
#define VSTORE(p, v) _mm512_storeu_pd((p), (v))
#define VLOAD_PART(p, n) _mm512_maskz_loadu_pd((__mmask8)((1u << (n)) - 1), (p))
#define VSTORE_PART(p, v, n) _mm512_mask_storeu_pd((p), (__mmask8)((1u << (n)) - 1), (v))
#define VBCAST(x) _mm512_set1_pd(x)
#define VZERO() _mm512_setzero_pd()
#define VFMA(a, b, c) _mm512_fmadd_pd((a), (b), (c))
#define VMUL(a, b) _mm512_mul_pd((a), (b))
#define VDIV(a, b) _mm512_div_pd((a), (b))
#define VSEL_GT(a, b, x, y) _mm512_mask_blend_pd(_mm512_cmp_pd_mask((a), (b), _CMP_GT_OQ), (y), (x))
#define VSEL_LT(a, b, x, y) _mm512_mask_blend_pd(_mm512_cmp_pd_mask((a), (b), _CMP_LT_OQ), (y), (x))
#define VADD(a, b) _mm512_add_pd((a), (b))
#define VRELU(v) _mm512_max_pd(_mm512_setzero_pd(), (v))
#define VREDUCE(v) hsum512_pd(v)
#define MR 12
#define NR 16
#define KC 256
#define MC 120
#define NC 4096
#define GEMV_VECS 16
#define A_T_IN_PLACE 1
#include "gemm_kernel.h"

const fm_kernel_table fm_kernels_avx512 = {
    "avx512",
    12,
    32,
    12,
    16,
    avx512_f32_gemm,
    avx512_f64_gemm,
    avx512_f32_scratch_elems,
    avx512_f64_scratch_elems,
};
