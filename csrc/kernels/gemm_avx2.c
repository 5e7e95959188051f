/*
 * GEMM kernels for AVX2 + FMA, compiled with -mavx2 -mfma (see
 * CMakeLists.txt) and used only when the CPU reports both.
 *
 * Register tile: float 6 x 16 (12 ymm accumulators + 2 B rows + 1 broadcast
 * of the 16 ymm registers, as in BLIS's Haswell kernel), double 6 x 8.
 */
#include <immintrin.h>
#include <stdint.h>
#include "internal.h"
#include "hsum.h"
#include "transpose8.h"

/* Lane masks for the first n lanes: a window of 8 (or 4) entries into
 * 8 (4) set and 8 (4) clear words, starting n words before the clear ones. */
static const int32_t lane_mask32[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
static const int64_t lane_mask64[8] = {-1, -1, -1, -1, 0, 0, 0, 0};
#define MASK32(n) _mm256_loadu_si256((const __m256i *)(lane_mask32 + 8 - (n)))
#define MASK64(n) _mm256_loadu_si256((const __m256i *)(lane_mask64 + 4 - (n)))

#define T float
#define SUF f32
#define PREFIX avx2_f32_
#define TRANSPOSE8(s, lds, d, ldd) transpose8_ps((s), (lds), (d), (ldd))
#define VEC __m256
#define VW 8
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VLOAD_PART(p, n) _mm256_maskload_ps((p), MASK32(n))
#define VSTORE_PART(p, v, n) _mm256_maskstore_ps((p), MASK32(n), (v))
#define VBCAST(x) _mm256_set1_ps(x)
#define VZERO() _mm256_setzero_ps()
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define VDIV(a, b) _mm256_div_ps((a), (b))
#define VSEL_GT(a, b, x, y) _mm256_blendv_ps((y), (x), _mm256_cmp_ps((a), (b), _CMP_GT_OQ))
#define VSEL_LT(a, b, x, y) _mm256_blendv_ps((y), (x), _mm256_cmp_ps((a), (b), _CMP_LT_OQ))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VRELU(v) _mm256_max_ps(_mm256_setzero_ps(), (v)) /* NaN stays NaN */
#define VREDUCE(v) hsum256_ps(v)
#define MR 6
#define NR 16
#define KC 256
#define MC 240
#define NC 4096
/* The sparse path's packed strips of B (gemm_kernel.h, SP_PACKED): 6
 * vectors (float32, 192 bytes); 4, 5 and 8 measured within noise of it, 3
 * and 2 slower (200 x 300 x 784, Zen 3). */
#define SP_PACKED 6
#define GEMV_VECS 8
#include "gemm_kernel.h"

#define T double
#define SUF f64
#define PREFIX avx2_f64_
#define VEC __m256d
#define VW 4
#define VLOAD(p) _mm256_loadu_pd(p)
#define VSTORE(p, v) _mm256_storeu_pd((p), (v))
#define VLOAD_PART(p, n) _mm256_maskload_pd((p), MASK64(n))
#define VSTORE_PART(p, v, n) _mm256_maskstore_pd((p), MASK64(n), (v))
#define VBCAST(x) _mm256_set1_pd(x)
#define VZERO() _mm256_setzero_pd()
#define VFMA(a, b, c) _mm256_fmadd_pd((a), (b), (c))
#define VMUL(a, b) _mm256_mul_pd((a), (b))
#define VDIV(a, b) _mm256_div_pd((a), (b))
#define VSEL_GT(a, b, x, y) _mm256_blendv_pd((y), (x), _mm256_cmp_pd((a), (b), _CMP_GT_OQ))
#define VSEL_LT(a, b, x, y) _mm256_blendv_pd((y), (x), _mm256_cmp_pd((a), (b), _CMP_LT_OQ))
#define VADD(a, b) _mm256_add_pd((a), (b))
#define VRELU(v) _mm256_max_pd(_mm256_setzero_pd(), (v))
#define VREDUCE(v) hsum256_pd(v)
#define MR 6
#define NR 8
#define KC 256
#define MC 120
#define NC 4096
#define GEMV_VECS 8
#include "gemm_kernel.h"

const fm_kernel_table fm_kernels_avx2 = {
    "avx2",
    6,
    16,
    6,
    8,
    avx2_f32_gemm,
    avx2_f64_gemm,
    avx2_f32_scratch_elems,
    avx2_f64_scratch_elems,
};
