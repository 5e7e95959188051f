/*
 * Internal interface of the C kernel layer (not installed, not for callers).
 *
 * The per-instruction-set GEMM drivers (gemm_kernel.h compiled by
 * gemm_generic.c, gemm_avx2.c, gemm_avx512.c) each fill one fm_kernel_table;
 * cpu.c picks one at fm_init() and gemm.c calls through it.
 */
#ifndef FASTMLP_INTERNAL_H
#define FASTMLP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "fastmlp.h"
#include "portable.h"
#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h> /* fm_flush_begin */
#endif

/*
 * One single-threaded GEMM problem with the dense layer's output stage:
 *   C = act(alpha * op(A) @ op(B) + beta * C + bias)
 * op(A) (m, k), op(B) (k, n), C (m, n) row-major with ldc; bias (n,) or NULL.
 * gemm.c splits a call into such problems, one per thread. `scratch`, when
 * not NULL, is a 64-byte aligned buffer the driver packs into if it is big
 * enough (the kernel table's scratch_* tells how big), instead of
 * allocating one per call.
 *
 * Fields after scratch_elems may be left out of an initializer (0 / NULL:
 * a float product without maxout); an initializer that gives any of them
 * gives all, in order.
 *
 * compute_bf16 (float only): the product multiplies op(A) and op(B)
 * rounded to bfloat16 and accumulates in float (bf16.h); the output stage
 * is float as usual. b_packed, when not NULL, is op(B) already packed by
 * fm_bf16_pack_b (b, ldb, trans_b are then ignored): a weight matrix packed
 * once per optimizer step instead of once per product.
 *
 * Maxout (act.kind FM_ACT_MAXOUT, k = act.param pieces, n a multiple of k):
 * C receives the pre-activations z and the output stage writes the units,
 * act_out (m, n / k) with ld_act, and the winning pieces, winner (m, n / k)
 * with the same leading dimension, or NULL (see fm_maxout_forward_*), from
 * each block of rows while it is still in cache (fm_gemm_rows_stage_*: the
 * float drivers and the bfloat16 driver alike).
 */
/*
 * The SGD step applied in a weight-gradient product's output stage, while
 * the tile of sums s = op(A) @ op(B) is in registers: for each value of
 * W = C (and its velocity v, the same layout as C, leading dimension ldc),
 * in this order, the operations of optimizers_tmpl.h's finish_ and sgd_
 * (the same bits as the gradient stored, finished, then stepped):
 *   g = s + l2 * w, s + l1 * sign(w) or (s + l2 * w) + l1 * sign(w)
 *                                  (penalty: fm_finish_penalty below)
 *   g = g * inv  or  g / divisor   (recip: 1 / divisor exact, exact_reciprocal_)
 *   g = clamp(g, -clip, clip)      (clip_on; Keras's clipvalue, clip_grad_value)
 *   p = w * keep  or  w            (decay: decoupled weight decay)
 *   form 2 (Keras, no momentum):   w = p + g * neg_lr
 *   form 0 (momentum):             v = mu * v + neg_lr * g;  w = p + v
 *   form 1 (Nesterov):             v as form 0;  w = p + (mu * v + neg_lr * g)
 * (x + neg_lr * g is sgd_'s x - lr * g: negation is exact.) The gradient's
 * scale must be 1 (no clipping by a norm, which needs the whole gradient
 * first): the engine fuses only such steps.
 */
#define FM_DEFINE_GEMM_STEP(T, SUF)                                                                \
    typedef struct {                                                                               \
        int on, form, penalty, recip, clip_on, decay;                                              \
        T l2, l1, divisor, inv, clip, keep, neg_lr, mu;                                            \
        T *velocity; /* forms 0 and 1: (m, n) with ldc, sliced as C */                             \
    } fm_gemm_step_##SUF;
FM_DEFINE_GEMM_STEP(float, f32)
FM_DEFINE_GEMM_STEP(double, f64)
#undef FM_DEFINE_GEMM_STEP

/*
 * op(A) (m, k) given by its nonzero values, by compressed rows
 * (fm_gemm_problem_SUF.sparse_a, when ptr is not NULL): row i's values at
 * [ptr[i], end[i]) of val (end NULL: [ptr[i], ptr[i + 1]); with end the
 * rows need not be contiguous, as the engine's compressed parts, one per
 * thread), their columns (0..k-1) in idx, ascending; every other value is
 * zero. The training engine's view of a mostly-zero
 * input minibatch x (train_tmpl.h, compress_): its rows for x @ W, its
 * columns (the rows of x^T) for the weight gradient x^T @ delta.
 */
#define FM_DEFINE_SPARSE_ROWS(T, SUF)                                                              \
    typedef struct {                                                                               \
        const int32_t *ptr;                                                                        \
        const int32_t *end;                                                                        \
        const int32_t *idx;                                                                        \
        const T *val;                                                                              \
    } fm_sparse_rows_##SUF;
FM_DEFINE_SPARSE_ROWS(float, f32)
FM_DEFINE_SPARSE_ROWS(double, f64)
#undef FM_DEFINE_SPARSE_ROWS

#define FM_DEFINE_GEMM_PROBLEM(T, SUF)                                                             \
    typedef struct {                                                                               \
        int trans_a, trans_b;                                                                      \
        int64_t m, n, k;                                                                           \
        T alpha;                                                                                   \
        const T *a;                                                                                \
        int64_t lda;                                                                               \
        const T *b;                                                                                \
        int64_t ldb;                                                                               \
        T beta;                                                                                    \
        T *c;                                                                                      \
        int64_t ldc;                                                                               \
        const T *bias;                                                                             \
        fm_activation act;                                                                         \
        T *scratch; /* packing buffer of scratch_elems, or NULL */                                 \
        int64_t scratch_elems;                                                                     \
        int compute_bf16;     /* f32 only: bfloat16 products (bf16.h) */                           \
        const void *b_packed; /* bf16: op(B) by fm_bf16_pack_b, or NULL */                         \
        T *act_out;           /* maxout: the units (m, n / k), else unused */                      \
        int64_t ld_act;                                                                            \
        int32_t *winner; /* maxout: winning piece per unit, or NULL */                             \
        /* The n of the product this one is a column part of (a thread's slice, \
         * gemv's remainder), 0 if it is its own: the path of a narrow C is     \
         * chosen by the whole product's n, so the split does not change bits. */                  \
        int64_t n_whole;                                                                           \
        /* step.on: the SGD step inside the weight-gradient product          \
         * (fm_gemm_step_SUF below; train_tmpl.h, step_product_): C is W,       \
         * alpha and beta must be 1, no bias or activation. flush: each thread  \
         * computes its part with subnormals flushed (fm_flush_begin), as the   \
         * step does. */                     \
        fm_gemm_step_##SUF step;                                                                   \
        int flush;                                                                                 \
        /* op(A) as compressed rows (ptr not NULL; then a, lda and trans_a  \
         * are not read): the native drivers skip its zeros (gemm_kernel.h,  \
         * gemm_sparse), B not transposed, float products only. */                      \
        fm_sparse_rows_##SUF sparse_a;                                                             \
    } fm_gemm_problem_##SUF;
FM_DEFINE_GEMM_PROBLEM(float, f32)
FM_DEFINE_GEMM_PROBLEM(double, f64)
#undef FM_DEFINE_GEMM_PROBLEM

typedef struct {
    const char *name;
    /* Register tile of the micro-kernels, per dtype (for thread splitting). */
    int mr_f32, nr_f32, mr_f64, nr_f64;
    fm_status (*gemm_f32)(const fm_gemm_problem_f32 *p);
    fm_status (*gemm_f64)(const fm_gemm_problem_f64 *p);
    /* Packing buffer elements a problem needs (for its `scratch`). */
    int64_t (*scratch_f32)(const fm_gemm_problem_f32 *p);
    int64_t (*scratch_f64)(const fm_gemm_problem_f64 *p);
} fm_kernel_table;

extern const fm_kernel_table fm_kernels_generic;
#ifdef FASTMLP_X86_KERNELS
extern const fm_kernel_table fm_kernels_avx2;
extern const fm_kernel_table fm_kernels_avx512;
#endif
#ifdef FASTMLP_NEON_KERNELS
extern const fm_kernel_table fm_kernels_neon;
#endif

/* The table chosen by fm_init() (generic until then). */
const fm_kernel_table *fm_kernels(void);

/* BLAS fallback pointers given by fm_set_blas() (NULL when absent). */
fm_sgemm_fn fm_blas_sgemm(void);
fm_dgemm_fn fm_blas_dgemm(void);

/*
 * Threads for one parallel region about to run: the caller's `requested`
 * count (> 0) or OpenMP's default, at most `useful` (the work measured in
 * threads' worth), at least 1; 1 inside a parallel region and, after a
 * fork, on the thread that forked if it had led a team before (dispatch.c
 * says why). Every parallel region of the C layer takes its size from here,
 * as it records that the calling thread leads a team. fm_team_plan gives
 * the same count without recording anything, for sizing buffers ahead.
 */
int fm_team_size(int requested, double useful);
int fm_team_plan(int requested, double useful);

/* 64-byte aligned allocation for packing buffers; free with fm_free(). */
void *fm_malloc(size_t bytes);
void fm_free(void *p);

/*
 * The one optimizer step (optimizers.c), shared by the public
 * fm_sgd_step / fm_adam_step / fm_optimizer_step and the training engine.
 * fm_optimizer_advance counts the step (t += 1, NADAM's mu_product) and
 * takes its rate from lr_steps when there are per-step rates;
 * fm_step_rule_make then computes the step's constants once (bias
 * corrections, rounded scalars), so that the engine's blocks share them.
 * fm_fused_step_* applies the rule to n parameters, fused with the raw
 * gradient's last operations (fm_grad_finish), as scikit-learn's _backprop
 * does them, then the clipping:
 *   g = grad_raw + alpha * param   (L2 penalty; the coefficients)
 *   g = g / divisor                (scikit-learn's / sum(w); 1 is exact)
 *   g = g * scale                  (clip_grad_norm's factor; 1 is exact)
 *   g = clamp(g, -clip, clip)      (clip_grad_value; infinity is exact)
 * (L1: + l1 * sign(param); elastic net: + l2 * param + l1 * sign(param)).
 * param, grad_raw and state[0 .. n_states) (each (n,), already offset to
 * the block) are contiguous and do not overlap. Results are those of
 * finishing the gradient in one pass and stepping in another, bit for bit.
 * fm_grad_finish_* finishes a gradient in place (L-BFGS's full batch);
 * fm_grad_squares_* returns sum(g^2) of the finished gradient (before the
 * clipping), in double (eight interleaved partial sums).
 */
typedef enum {
    FM_FINISH_NONE = 0,
    FM_FINISH_L2,
    FM_FINISH_L1,
    FM_FINISH_ELASTICNET
} fm_finish_penalty;

typedef struct {
    fm_finish_penalty penalty;
    double l2, l1;  /* the penalty's coefficients (alpha, or split by l1_ratio) */
    double divisor; /* sum(w) */
    double scale;   /* 1, or clip_grad_norm / (norm + 1e-6) */
    double clip;    /* INFINITY, or clip_grad_value */
} fm_grad_finish;

typedef struct {
    fm_optimizer_kind kind;
    int exact;    /* scikit-learn's float32 Adam arithmetic (else plain) */
    int keras;    /* FM_STEP_KERAS: Keras's form of the moments and the divisions */
    int flush;    /* subnormals flushed to zero (plain arithmetic; see below) */
    int nesterov; /* SGD */
    int decay;    /* weight_decay > 0: param *= keep first */
    double keep;  /* 1 - lr * weight_decay */
    double lr, momentum, beta_1, beta_2, epsilon, rho;
    double neg_lr_t;       /* ADAM: -lr * sqrt(1 - beta_2^t) / (1 - beta_1^t);
                            ADAMW: -lr / (1 - beta_1^t); RMSPROP, ADAGRAD: -lr */
    double bc2;            /* ADAMW: sqrt(1 - beta_2^t); NADAM: 1 - beta_2^t */
    double coef_g, coef_m; /* NADAM: the gradient's and the moment's step sizes */
} fm_step_rule;

/*
 * Plain arithmetic (every rule but scikit-learn's SGD and Adam) runs with
 * subnormals flushed to zero, inputs and results (x86 MXCSR DAZ + FTZ,
 * AArch64 FPCR.FZ), as XLA and TensorFlow run on the CPU: a weight whose
 * gradient stays zero (a dead ReLU unit) has its moments decay by beta
 * per step into the subnormal range, where each operation takes a
 * microcode assist (~100 cycles): without the flush a float32 MNIST epoch's
 * Adam step grew 5x over eight epochs (Sapphire Rapids). scikit-learn's
 * forms keep NumPy's gradual underflow, bit for bit.
 */
void fm_optimizer_advance(fm_optimizer *opt);
fm_step_rule fm_step_rule_make(const fm_optimizer *opt);
void fm_fused_step_f32(const fm_step_rule *rule, int64_t n, float *param, const float *grad_raw,
                       float *const *state, const fm_grad_finish *f);
void fm_fused_step_f64(const fm_step_rule *rule, int64_t n, double *param, const double *grad_raw,
                       double *const *state, const fm_grad_finish *f);
/* Whether dividing by d is multiplying by 1 / d, bit for bit, in float /
 * double (optimizers_tmpl.h exact_reciprocal_: a power of two whose
 * reciprocal is normal); the fused step then multiplies. */
int fm_exact_reciprocal_f32(double d);
int fm_exact_reciprocal_f64(double d);
/* The SGD rule r on the gradient f finishes (its scale must be 1) as the
 * step a weight-gradient product applies in its output stage (fm_gemm_step
 * above); velocity: the parameters' velocity (forms 0 and 1; unused in
 * Keras's rule without momentum). */
fm_gemm_step_f32 fm_gemm_step_of_f32(const fm_step_rule *r, const fm_grad_finish *f,
                                     float *velocity);
fm_gemm_step_f64 fm_gemm_step_of_f64(const fm_step_rule *r, const fm_grad_finish *f,
                                     double *velocity);
void fm_grad_finish_f32(int64_t n, float *grad, const float *param, const fm_grad_finish *f);
void fm_grad_finish_f64(int64_t n, double *grad, const double *param, const fm_grad_finish *f);
double fm_grad_squares_f32(int64_t n, const float *grad_raw, const float *param,
                           const fm_grad_finish *f);
double fm_grad_squares_f64(int64_t n, const double *grad_raw, const double *param,
                           const fm_grad_finish *f);

/*
 * The GEMM / dense entry points with a caller's packing buffer, for the
 * training engine: as fm_gemm_* / fm_dense_forward_* (same checks, backend
 * choice and thread split) with pr->scratch shared among the threads.
 * fm_gemm_scratch_* tells how many elements a problem needs on up to
 * n_threads threads.
 */
fm_status fm_gemm_problem_run_f32(fm_gemm_backend backend, int n_threads,
                                  const fm_gemm_problem_f32 *pr);
fm_status fm_gemm_problem_run_f64(fm_gemm_backend backend, int n_threads,
                                  const fm_gemm_problem_f64 *pr);
int64_t fm_gemm_scratch_f32(int n_threads, const fm_gemm_problem_f32 *pr);
int64_t fm_gemm_scratch_f64(int n_threads, const fm_gemm_problem_f64 *pr);

/*
 * Maxout for the engine and the GEMM's output stage (activations.c), the
 * forward pass of fm_activation_forward_* plus the winners: z (m, n * k)
 * with ldz, out (m, n) with ldo (not overlapping z), winner (m, n) with ldw
 * or NULL, receiving the index 0..k-1 of each unit's winning piece (the
 * first maximum). fm_maxout_backward_* routes the units' deltas back: dz
 * (m, n * k) contiguous gets da[i, j] (da (m, n) contiguous) at piece
 * winner[i, j] (contiguous) of unit j and 0 at the unit's other pieces.
 */
void fm_maxout_forward_f32(int64_t m, int64_t n, int64_t k, const float *z, int64_t ldz, float *out,
                           int64_t ldo, int32_t *winner, int64_t ldw);
void fm_maxout_forward_f64(int64_t m, int64_t n, int64_t k, const double *z, int64_t ldz,
                           double *out, int64_t ldo, int32_t *winner, int64_t ldw);
void fm_maxout_backward_f32(int64_t m, int64_t n, int64_t k, const int32_t *winner, const float *da,
                            float *dz);
void fm_maxout_backward_f64(int64_t m, int64_t n, int64_t k, const int32_t *winner,
                            const double *da, double *dz);

/* k of a maxout activation: its parameter if an integer in [1, INT32_MAX],
 * else 0 (invalid). */
static inline int64_t fm_maxout_pieces(fm_activation act)
{
    const double k = act.param;
    return k >= 1.0 && k <= 2147483647.0 && k == (double)(int64_t)k ? (int64_t)k : 0;
}

/*
 * Output stages that need whole rows of C: softmax (in place), and maxout,
 * whose groups of k columns may straddle a driver's tiles (C keeps z; the
 * units and their winners go to act_out and winner). Every driver (the
 * float ones of gemm_kernel.h and the bfloat16 one of gemm_bf16.c) applies
 * fm_gemm_rows_stage_* to rows [i0, i0 + rows) of C once they are complete,
 * so the stage is one piece of code whatever computed the product.
 */
static inline int fm_gemm_needs_rows(fm_activation_kind kind)
{
    return kind == FM_ACT_SOFTMAX || kind == FM_ACT_MAXOUT;
}

#define FM_DEFINE_ROWS_STAGE(T, SUF)                                                               \
    static inline void fm_gemm_rows_stage_##SUF(const fm_gemm_problem_##SUF *pr, int64_t i0,       \
                                                int64_t rows)                                      \
    {                                                                                              \
        T *c = pr->c + i0 * pr->ldc;                                                               \
        if (pr->act.kind == FM_ACT_SOFTMAX) {                                                      \
            fm_activation_forward_##SUF(pr->act, rows, pr->n, c, pr->ldc, c, pr->ldc);             \
        } else { /* maxout: k checked by fm_gemm_problem_run_* */                                  \
            const int64_t k = fm_maxout_pieces(pr->act);                                           \
            fm_maxout_forward_##SUF(                                                               \
                rows, pr->n / k, k, c, pr->ldc, pr->act_out + i0 * pr->ld_act, pr->ld_act,         \
                pr->winner != NULL ? pr->winner + i0 * pr->ld_act : NULL, pr->ld_act);             \
        }                                                                                          \
    }
FM_DEFINE_ROWS_STAGE(float, f32)
FM_DEFINE_ROWS_STAGE(double, f64)
#undef FM_DEFINE_ROWS_STAGE

/* sum(x^2) and sum(|x|) of n values (n,) in double, in a fixed,
 * vectorisable order. */
double fm_sum_squares_f32(int64_t n, const float *x);
double fm_sum_squares_f64(int64_t n, const double *x);
double fm_sum_abs_f32(int64_t n, const float *x);
double fm_sum_abs_f64(int64_t n, const double *x);

#include "bf16.h"
#include "cpu.h"

/* Subnormals flushed to zero in this thread until fm_flush_end
 * (fm_step_rule.flush, fm_gemm_problem.flush); returns the control word to
 * restore. What runs flushed runs in a function of its own between the two
 * (not inlined): the compiler may not move its arithmetic across a call. */
static inline uint64_t fm_flush_begin(void)
{
#if defined(__x86_64__) || defined(_M_X64)
    const unsigned csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040u); /* FTZ (bit 15) and DAZ (bit 6) */
    return csr;
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ __volatile__("msr fpcr, %0" ::"r"(fpcr | (UINT64_C(1) << 24))); /* FZ */
    return fpcr;
#else
    return 0; /* no flush: the same results wherever no subnormal occurs */
#endif
}

static inline void fm_flush_end(uint64_t saved)
{
#if defined(__x86_64__) || defined(_M_X64)
    _mm_setcsr((unsigned)saved);
#elif defined(__aarch64__)
    __asm__ __volatile__("msr fpcr, %0" ::"r"(saved));
#else
    (void)saved;
#endif
}

#endif /* FASTMLP_INTERNAL_H */
