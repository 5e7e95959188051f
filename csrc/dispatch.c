/*
 * Run-time choice of the kernel set, the BLAS fallback pointers, and the
 * thread count of every parallel region (fm_team_size).
 *
 * The kernel table and BLAS pointers are the only mutable process-wide
 * globals of the C layer. Both are written once, at import time, before any
 * kernel runs (fm_init, fm_set_blas), and only read afterwards, so kernels
 * may run concurrently from many threads. fm_team_size keeps two
 * thread-local flags (below).
 */
#include <stdlib.h>
#include <string.h>
#ifdef FASTMLP_OPENMP
#include <omp.h>
#endif
#if defined(FASTMLP_OPENMP) && !defined(_WIN32)
#include <pthread.h>
#define FM_FORK_GUARD 1
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
#ifdef FASTMLP_NEON_KERNELS
    return &fm_kernels_neon; /* ASIMD is mandatory on AArch64 */
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
#ifdef FASTMLP_NEON_KERNELS
    &fm_kernels_neon,
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

/*
 * Fork safety. GNU libgomp keeps a thread's team (its worker threads and the
 * barrier they wait on) in that thread's pool, created by its first parallel
 * region with more than one thread and kept for the next. fork() copies the
 * pool but not the workers, so a forked child whose forking thread had
 * started a team waits forever on its first parallel region of two or more
 * threads (multiprocessing's fork start method, gunicorn or Celery prefork
 * workers, os.fork). libgomp cannot be told to drop the pool, so that thread
 * stays single-threaded in the child (and in the child's own children), as
 * fm_team_size returns 1 for it; threads the child creates have no pool and
 * start teams as usual. Per thread: a fork from a thread that never led a
 * team loses nothing. (LLVM's libomp rebuilds its pool in the child, but
 * only with KMP_INIT_AT_FORK=1 in the Debian build measured; the guard is
 * then merely cautious.)
 */
#ifdef FM_FORK_GUARD
static _Thread_local int led_team;      /* this thread has led a team of >= 2 */
static _Thread_local int team_unusable; /* ... before a fork, in a parent process */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* Runs in the child, on the (only) thread, the one that called fork(). */
static void after_fork_in_child(void)
{
    if (led_team)
        team_unusable = 1;
}

static void register_atfork(void) { (void)pthread_atfork(NULL, NULL, after_fork_in_child); }
#endif

/* The thread budget of a call: `requested` if positive, else OpenMP's
 * default (OMP_NUM_THREADS, threadpoolctl's limit); 1 inside a parallel
 * region, without OpenMP, or on a thread whose team a fork broke. */
static int thread_budget(int requested)
{
#ifdef FASTMLP_OPENMP
#ifdef FM_FORK_GUARD
    if (team_unusable)
        return 1;
#endif
    if (omp_in_parallel())
        return 1;
    const int threads = requested > 0 ? requested : omp_get_max_threads();
    return threads > 1 ? threads : 1;
#else
    (void)requested;
    return 1;
#endif
}

int fm_team_plan(int requested, double useful)
{
    const int threads = thread_budget(requested);
    if (useful < threads)
        return useful < 1.0 ? 1 : (int)useful;
    return threads;
}

int fm_team_size(int requested, double useful)
{
    const int threads = fm_team_plan(requested, useful);
#ifdef FM_FORK_GUARD
    if (threads > 1) {
        /* Before the first team: the handler must exist before any fork
         * that follows one. */
        (void)pthread_once(&atfork_once, register_atfork);
        led_team = 1;
    }
#endif
    return threads;
}

int fm_max_threads(void) { return thread_budget(0); }

int fm_thread_led_team(void)
{
#ifdef FM_FORK_GUARD
    return led_team;
#else
    return 0;
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
