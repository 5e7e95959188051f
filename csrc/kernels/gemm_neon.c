/*
 * GEMM kernels for AArch64 Advanced SIMD (NEON): 128-bit vectors, 32 vector
 * registers, fused multiply-add (vfmaq). Every AArch64 CPU has them (the
 * architecture makes ASIMD mandatory), so this set is always chosen on
 * aarch64 unless FASTMLP_ISA=generic narrows it.
 *
 * Register tile, as BLIS's armv8a kernels (bli_sgemm_armv8a_asm_8x12,
 * bli_dgemm_armv8a_asm_6x8) and OpenBLAS's: float 8 x 12 (8 rows of 3
 * vectors: 24 accumulators, 3 vectors of B, the A values as scalar lanes
 * multiplied by element, fmla v.4s, v.4s, v.s[0]), double 8 x 6 (24
 * accumulators of 2 lanes). gemm_kernel.h is the driver; the figures
 * (FMAs per step, registers, spills from the disassembly) are in
 * docs/guide/config.md.
 *
 * Ragged vectors (VLOAD_PART, VSTORE_PART): NEON has no masked loads, so
 * the first n lanes go through a small buffer; only the last vector of a
 * ragged tile takes it.
 */
#include <arm_neon.h>
#include <stdint.h>
#include "internal.h"

static inline float32x4_t neon_load_part_f32(const float *p, int n)
{
    float tmp[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < n; i++)
        tmp[i] = p[i];
    return vld1q_f32(tmp);
}

static inline void neon_store_part_f32(float *p, float32x4_t v, int n)
{
    float tmp[4];
    vst1q_f32(tmp, v);
    for (int i = 0; i < n; i++)
        p[i] = tmp[i];
}

static inline float64x2_t neon_load_part_f64(const double *p, int n)
{
    (void)n; /* n < 2: one lane */
    return vsetq_lane_f64(p[0], vdupq_n_f64(0.0), 0);
}

static inline void neon_store_part_f64(double *p, float64x2_t v, int n)
{
    (void)n;
    p[0] = vgetq_lane_f64(v, 0);
}

/* The halving tree of hsum.h (lanes l and l + 2, then 0 and 1): the dot
 * path's two forms add the same lanes in the same order (vaddvq's pairwise
 * tree would not). */
static inline float neon_hsum_f32(float32x4_t v)
{
    const float32x2_t s = vadd_f32(vget_low_f32(v), vget_high_f32(v));
    return vget_lane_f32(s, 0) + vget_lane_f32(s, 1);
}

static inline double neon_hsum_f64(float64x2_t v)
{
    return vgetq_lane_f64(v, 0) + vgetq_lane_f64(v, 1);
}

/* max(v, 0) keeping NaN and -0 as the other sets do (FMAX would turn -0
 * into +0): v where v < 0 is false. */
#define NEON_RELU_F32(v) vbslq_f32(vcltzq_f32(v), vdupq_n_f32(0.0f), (v))
#define NEON_RELU_F64(v) vbslq_f64(vcltzq_f64(v), vdupq_n_f64(0.0), (v))

#define T float
#define SUF f32
#define PREFIX neon_f32_
#define VEC float32x4_t
#define VW 4
#define VREGS 32
#define VLOAD(p) vld1q_f32(p)
#define VSTORE(p, v) vst1q_f32((p), (v))
#define VLOAD_PART(p, n) neon_load_part_f32((p), (n))
#define VSTORE_PART(p, v, n) neon_store_part_f32((p), (v), (n))
#define VBCAST(x) vdupq_n_f32(x)
#define VZERO() vdupq_n_f32(0.0f)
#define VFMA(a, b, c) vfmaq_f32((c), (a), (b))
#define VMUL(a, b) vmulq_f32((a), (b))
#define VDIV(a, b) vdivq_f32((a), (b))
#define VSEL_GT(a, b, x, y) vbslq_f32(vcgtq_f32((a), (b)), (x), (y))
#define VSEL_LT(a, b, x, y) vbslq_f32(vcltq_f32((a), (b)), (x), (y))
#define VADD(a, b) vaddq_f32((a), (b))
#define VRELU(v) NEON_RELU_F32(v)
#define VREDUCE(v) neon_hsum_f32(v)
#define MR 8
#define NR 12
#define KC 256
#define MC 128
#define NC 4096
#define GEMV_VECS 12
#include "gemm_kernel.h"

#define T double
#define SUF f64
#define PREFIX neon_f64_
#define VEC float64x2_t
#define VW 2
#define VREGS 32
#define VLOAD(p) vld1q_f64(p)
#define VSTORE(p, v) vst1q_f64((p), (v))
#define VLOAD_PART(p, n) neon_load_part_f64((p), (n))
#define VSTORE_PART(p, v, n) neon_store_part_f64((p), (v), (n))
#define VBCAST(x) vdupq_n_f64(x)
#define VZERO() vdupq_n_f64(0.0)
#define VFMA(a, b, c) vfmaq_f64((c), (a), (b))
#define VMUL(a, b) vmulq_f64((a), (b))
#define VDIV(a, b) vdivq_f64((a), (b))
#define VSEL_GT(a, b, x, y) vbslq_f64(vcgtq_f64((a), (b)), (x), (y))
#define VSEL_LT(a, b, x, y) vbslq_f64(vcltq_f64((a), (b)), (x), (y))
#define VADD(a, b) vaddq_f64((a), (b))
#define VRELU(v) NEON_RELU_F64(v)
#define VREDUCE(v) neon_hsum_f64(v)
#define MR 8
#define NR 6
#define KC 256
#define MC 64
#define NC 4096
#define GEMV_VECS 12
#include "gemm_kernel.h"

const fm_kernel_table fm_kernels_neon = {
    "neon",
    8,
    12,
    8,
    6,
    neon_f32_gemm,
    neon_f64_gemm,
    neon_f32_scratch_elems,
    neon_f64_scratch_elems,
};
