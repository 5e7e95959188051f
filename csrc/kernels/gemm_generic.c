/*
 * Portable GEMM kernels: plain C scalars, no instruction-set flags, for any
 * CPU (and the reference point for the vector kernels' speed). The compiler
 * may still vectorize with the baseline ISA (SSE2 on x86-64, NEON on arm64).
 *
 * Register tile: 4 x 8 scalars for both dtypes.
 */
#include "internal.h"

#define SCALAR_LAYER(T)                                                                            \
    static inline T scalar_relu_##T(T v) { return v < (T)0 ? (T)0 : v; }
SCALAR_LAYER(float)
SCALAR_LAYER(double)

#define T float
#define SUF f32
#define PREFIX generic_f32_
#define VEC float
#define VW 1
#define VLOAD(p) (*(p))
#define VSTORE(p, v) (*(p) = (v))
#define VLOAD_PART(p, n) VLOAD(p) /* one lane: never partial */
#define VSTORE_PART(p, v, n) VSTORE(p, v)
#define VBCAST(x) (x)
#define VZERO() 0.0f
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VMUL(a, b) ((a) * (b))
#define VDIV(a, b) ((a) / (b))
#define VSEL_GT(a, b, x, y) ((a) > (b) ? (x) : (y))
#define VSEL_LT(a, b, x, y) ((a) < (b) ? (x) : (y))
#define VADD(a, b) ((a) + (b))
#define VRELU(v) scalar_relu_float(v)
#define MR 4
#define NR 8
#define KC 256
#define MC 128
#define NC 4096
#define GEMV_VECS 8
#include "gemm_kernel.h"

#define T double
#define SUF f64
#define PREFIX generic_f64_
#define VEC double
#define VW 1
#define VLOAD(p) (*(p))
#define VSTORE(p, v) (*(p) = (v))
#define VLOAD_PART(p, n) VLOAD(p) /* one lane: never partial */
#define VSTORE_PART(p, v, n) VSTORE(p, v)
#define VBCAST(x) (x)
#define VZERO() 0.0
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VMUL(a, b) ((a) * (b))
#define VDIV(a, b) ((a) / (b))
#define VSEL_GT(a, b, x, y) ((a) > (b) ? (x) : (y))
#define VSEL_LT(a, b, x, y) ((a) < (b) ? (x) : (y))
#define VADD(a, b) ((a) + (b))
#define VRELU(v) scalar_relu_double(v)
#define MR 4
#define NR 8
#define KC 256
#define MC 128
#define NC 4096
#define GEMV_VECS 8
#include "gemm_kernel.h"

const fm_kernel_table fm_kernels_generic = {
    "generic",
    4,
    8,
    4,
    8,
    generic_f32_gemm,
    generic_f64_gemm,
    generic_f32_scratch_elems,
    generic_f64_scratch_elems,
};
