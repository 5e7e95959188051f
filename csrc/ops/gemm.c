/*
 * fm_gemm_* and fm_dense_forward_*: argument checks, backend choice and
 * threading around the per-ISA drivers (gemm_kernel.h). See gemm_api.h.
 */
#include <limits.h>
#include "internal.h"

/*
 * Threads pay only when each gets enough work to hide the fork/join (a few
 * microseconds) and its own packing: below this many multiply-adds per
 * thread the product runs on one thread.
 */
#define FM_MIN_MACS_PER_THREAD ((int64_t)1 << 18)

/* In double: m * n * k can exceed int64 for shapes that are valid
 * individually (and such a product will not be run anyway). */
#define FM_GEMM_USEFUL(m, n, k)                                                                    \
    ((double)(m) * (double)(n) * (double)(k) / (double)FM_MIN_MACS_PER_THREAD)

/* Threads for a product about to run (internal.h: fm_team_size). */
static int fm_gemm_threads(int requested, int64_t m, int64_t n, int64_t k)
{
    return fm_team_size(requested, FM_GEMM_USEFUL(m, n, k));
}

/* The same count for sizing a packing buffer ahead of the product. */
static int fm_gemm_planned_threads(int requested, int64_t m, int64_t n, int64_t k)
{
    return fm_team_plan(requested, FM_GEMM_USEFUL(m, n, k));
}

#define T float
#define SUF f32
#define BLAS_FN fm_blas_sgemm
#define BLAS_FN_TYPE fm_sgemm_fn
#define BF16_GEMM fm_bf16_gemm_f32
#define BF16_SCRATCH fm_bf16_scratch_elems
#include "gemm_api.h"

#define T double
#define SUF f64
#define BLAS_FN fm_blas_dgemm
#define BLAS_FN_TYPE fm_dgemm_fn
#include "gemm_api.h"
