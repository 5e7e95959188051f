/*
 * fm_gemm_* and fm_dense_forward_*: argument checks, backend choice and
 * threading around the per-ISA drivers (gemm_kernel.h). See gemm_api.h.
 */
#include <limits.h>
#include "internal.h"
#ifdef FASTMLP_OPENMP
#include <omp.h>
#endif

/*
 * Threads pay only when each gets enough work to hide the fork/join (a few
 * microseconds) and its own packing: below this many multiply-adds per
 * thread the product runs on one thread.
 */
#define FM_MIN_MACS_PER_THREAD ((int64_t)1 << 20)

static int fm_gemm_threads(int requested, int64_t m, int64_t n, int64_t k)
{
#ifdef FASTMLP_OPENMP
    int threads = requested > 0 ? requested : omp_get_max_threads();
    if (omp_in_parallel())
        return 1;
    /* In double: m * n * k can exceed int64 for shapes that are valid
     * individually (and such a product will not be run anyway). */
    const double useful = (double)m * (double)n * (double)k / (double)FM_MIN_MACS_PER_THREAD;
    if (useful < threads)
        threads = useful < 1.0 ? 1 : (int)useful;
    return threads;
#else
    (void)requested; (void)m; (void)n; (void)k;
    return 1;
#endif
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
