/*
 * Run-time choice of the kernel set, and the BLAS fallback pointers.
 *
 * These are the only mutable globals of the C layer. Both are written once,
 * at import time, before any kernel runs (fm_init, fm_set_blas), and only
 * read afterwards, so kernels may run concurrently from many threads.
 */
#include <stdlib.h>
#include <string.h>
#ifdef FASTMLP_OPENMP
#include <omp.h>
#endif
#include "internal.h"

static const fm_kernel_table *chosen = &fm_kernels_generic;
static fm_sgemm_fn blas_sgemm = NULL;
static fm_dgemm_fn blas_dgemm = NULL;

/* The best kernel set this CPU (and its OS, for the wide registers) runs. */
static const fm_kernel_table *detect(void)
{
#if defined(FASTMLP_X86_KERNELS) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return &fm_kernels_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return &fm_kernels_avx2;
#endif
    return &fm_kernels_generic;
}

/* Kernel sets from narrowest to widest. */
static const fm_kernel_table *const by_width[] = {
    &fm_kernels_generic,
#ifdef FASTMLP_X86_KERNELS
    &fm_kernels_avx2,
    &fm_kernels_avx512,
#endif
};
#define N_SETS (sizeof(by_width) / sizeof(by_width[0]))

static size_t width_rank(const fm_kernel_table *t)
{
    for (size_t i = 0; i < N_SETS; i++)
        if (by_width[i] == t)
            return i;
    return 0;
}

const char *fm_init(const char *force)
{
    const fm_kernel_table *best = detect();
    chosen = best;
    /* A forced set is honoured only if the CPU can run it. */
    if (force != NULL && force[0] != '\0')
        for (size_t i = 0; i < N_SETS; i++)
            if (strcmp(by_width[i]->name, force) == 0 && i <= width_rank(best))
                chosen = by_width[i];
    /* The bf16 tier depends on the chosen set; fm_bf16_init narrows it. */
    fm_bf16_init(NULL);
    return chosen->name;
}

const fm_kernel_table *fm_kernels(void) { return chosen; }
const char *fm_isa_name(void) { return chosen->name; }

void fm_set_blas(fm_sgemm_fn sgemm, fm_dgemm_fn dgemm)
{
    blas_sgemm = sgemm;
    blas_dgemm = dgemm;
}

int fm_has_blas(void) { return blas_sgemm != NULL && blas_dgemm != NULL; }
fm_sgemm_fn fm_blas_sgemm(void) { return blas_sgemm; }
fm_dgemm_fn fm_blas_dgemm(void) { return blas_dgemm; }

int fm_has_openmp(void)
{
#ifdef FASTMLP_OPENMP
    return 1;
#else
    return 0;
#endif
}

int fm_max_threads(void)
{
#ifdef FASTMLP_OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void *fm_malloc(size_t bytes)
{
    void *p = NULL;
    if (bytes == 0)
        bytes = 64;
    if (posix_memalign(&p, 64, bytes) != 0)
        return NULL;
    return p;
}

void fm_free(void *p) { free(p); }
