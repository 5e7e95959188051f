/*
 * Optimizer steps, in place: fm_optimizer_step_* and its two scikit-learn
 * forms fm_sgd_step_*, fm_adam_step_* (see fastmlp.h), and the engine's
 * fused step (fm_fused_step_*, internal.h): one routine, one switch over
 * the kinds (optimizers_tmpl.h), each rule written once.
 *
 * With FM_STEP_SKLEARN, SGD and Adam reproduce scikit-learn's SGDOptimizer and AdamOptimizer
 * (sklearn/neural_network/_stochastic_optimizers.py) bit for bit, which
 * fixes both the operation order and the precision of every operation.
 * The rules, as NumPy >= 2 (NEP 50) applies them to those expressions:
 *   - a Python float meeting a float32 array is first rounded to float32
 *     (so (float)(1.0 - beta_1) is rounded once, after the subtraction,
 *     which Python does in double), and the operation is done in float32;
 *   - a NumPy float64 scalar meeting a float32 array promotes the array:
 *     Adam's step size lr_t is such a scalar (np.sqrt returns one), so its
 *     update is computed in double and `param += update` rounds the double
 *     sum back to float32;
 *   - grad**2 is grad * grad (NumPy's square fast path), sqrt is IEEE.
 * The file is compiled with -ffp-contract=off: a fused a*b + c would round
 * once instead of twice and break the equality.
 *
 * Every rule is written once, in T (optimizers_tmpl.h): for float64 that is
 * scikit-learn's arithmetic, and SGD's float32 arithmetic is too (float
 * scalars, float operations). Adam's float32 form is not "the double code
 * with float": it is the one named variant, adam_sklearn_f32 (in the
 * template, float only), used with FM_STEP_SKLEARN; FM_STEP_PLAIN (and every
 * newer kind) stays in the array's dtype, vectorised.
 */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "fastmlp.h"
#include "internal.h"

/*
 * The functions are compiled for AVX2 and for the baseline, chosen at load
 * time (target_clones): the operations are IEEE additions, multiplications,
 * divisions and square roots without contraction, so both give identical
 * bits; AVX2 only does more of them per instruction.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define FM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FM_CLONES
#endif

#define FM_CAT_(a, b) a##b
#define FM_CAT(a, b) FM_CAT_(a, b)

/* A body called with its two leading flags, the gradient's penalty
 * (fm_finish_penalty, | FM_FINISH_RECIP) and the decoupled decay, as
 * constants. */
#define FM_WITH_DECAY(body, pen, decay, ...)                                                       \
    do {                                                                                           \
        if (decay)                                                                                 \
            body(pen, 1, __VA_ARGS__);                                                             \
        else                                                                                       \
            body(pen, 0, __VA_ARGS__);                                                             \
    } while (0)
#define FM_PEN_CASE(body, pen, decay, ...)                                                         \
    case pen:                                                                                      \
        FM_WITH_DECAY(body, pen, decay, __VA_ARGS__);                                              \
        break;
#define FM_WITH_FLAGS(body, pen, decay, ...)                                                       \
    do {                                                                                           \
        switch (pen) {                                                                             \
            FM_PEN_CASE(body, FM_FINISH_L2, decay, __VA_ARGS__)                                    \
            FM_PEN_CASE(body, FM_FINISH_L1, decay, __VA_ARGS__)                                    \
            FM_PEN_CASE(body, FM_FINISH_ELASTICNET, decay, __VA_ARGS__)                            \
            FM_PEN_CASE(body, FM_FINISH_RECIP, decay, __VA_ARGS__)                                 \
            FM_PEN_CASE(body, FM_FINISH_L2 | FM_FINISH_RECIP, decay, __VA_ARGS__)                  \
            FM_PEN_CASE(body, FM_FINISH_L1 | FM_FINISH_RECIP, decay, __VA_ARGS__)                  \
            FM_PEN_CASE(body, FM_FINISH_ELASTICNET | FM_FINISH_RECIP, decay, __VA_ARGS__)          \
        default:                                                                                   \
            FM_WITH_DECAY(body, FM_FINISH_NONE, decay, __VA_ARGS__);                               \
        }                                                                                          \
    } while (0)

/* Flag of a compile-time penalty (never in fm_grad_finish.penalty): the
 * divisor is a power of two whose reciprocal is exact, so the body
 * multiplies by the reciprocal instead of dividing (optimizers_tmpl.h,
 * exact_reciprocal_). */
#define FM_FINISH_RECIP 4

/* A gradient taken as it is: no penalty, / 1, no clipping (all exact). */
static fm_grad_finish fm_grad_finish_plain(void)
{
    fm_grad_finish f = {FM_FINISH_NONE, 0.0, 0.0, 1.0, 1.0, INFINITY};
    return f;
}

/* x in [lo, hi) (hi_closed = 0) or [lo, hi]; false for NaN. */
static int in_range(double x, double lo, double hi, int hi_closed)
{
    return x >= lo && (hi_closed ? x <= hi : x < hi);
}

int fm_optimizer_valid(const fm_optimizer *opt, int64_t steps)
{
    if (fm_optimizer_n_states(opt->kind) == 0 ||
        (opt->arithmetic != FM_STEP_SKLEARN && opt->arithmetic != FM_STEP_PLAIN &&
         opt->arithmetic != FM_STEP_KERAS))
        return 0;
    /* Keras's per-variable clipping: finite, >= 0 (0 is off), Keras's form only. */
    if (!in_range(opt->clipnorm, 0.0, HUGE_VAL, 0) || !in_range(opt->clipvalue, 0.0, HUGE_VAL, 0) ||
        ((opt->clipnorm > 0.0 || opt->clipvalue > 0.0) && opt->arithmetic != FM_STEP_KERAS))
        return 0;
    if (!in_range(opt->learning_rate, 0.0, HUGE_VAL, 0) ||
        !in_range(opt->weight_decay, 0.0, HUGE_VAL, 0))
        return 0;
    /* A schedule's per-step rates: one per step to come, each a legal rate. */
    if (opt->lr_steps == NULL ? opt->n_lr_steps != 0 : opt->n_lr_steps < steps)
        return 0;
    for (int64_t k = 0; opt->lr_steps != NULL && k < opt->n_lr_steps; k++)
        if (!in_range(opt->lr_steps[k], 0.0, HUGE_VAL, 0))
            return 0;
    /* t counts steps and is advanced once per step: it must not overflow. */
    if (steps < 0 || opt->t < 0 || opt->t > INT64_MAX - steps)
        return 0;
    const int adam_like =
        opt->kind == FM_OPT_ADAM || opt->kind == FM_OPT_ADAMW || opt->kind == FM_OPT_NADAM;
    if (opt->kind == FM_OPT_SGD && !in_range(opt->momentum, 0.0, 1.0, 1))
        return 0;
    if (adam_like && !(in_range(opt->beta_1, 0.0, 1.0, 0) && in_range(opt->beta_2, 0.0, 1.0, 0)))
        return 0;
    if (opt->kind == FM_OPT_RMSPROP && !in_range(opt->rho, 0.0, 1.0, 0))
        return 0;
    if (opt->kind != FM_OPT_SGD && !(opt->epsilon > 0.0 && opt->epsilon < HUGE_VAL))
        return 0;
    if (opt->kind == FM_OPT_NADAM && !(in_range(opt->momentum_decay, 0.0, HUGE_VAL, 0) &&
                                       in_range(opt->mu_product, 0.0, 1.0, 1)))
        return 0;
    return 1;
}

int fm_optimizer_n_states(fm_optimizer_kind kind)
{
    switch (kind) {
    case FM_OPT_SGD:
    case FM_OPT_RMSPROP:
    case FM_OPT_ADAGRAD:
        return 1;
    case FM_OPT_ADAM:
    case FM_OPT_ADAMW:
    case FM_OPT_NADAM:
        return 2;
    }
    return 0;
}

/*
 * NAdam's momentum coefficient of step t (torch.optim.NAdam). t is a double
 * because the step also needs mu of t + 1, and t may be INT64_MAX (the last
 * step the validity rule allows): t + 1 in int64_t would overflow.
 */
static double nadam_mu(double t, double beta_1, double momentum_decay)
{
    return beta_1 * (1.0 - 0.5 * pow(0.96, t * momentum_decay));
}

void fm_optimizer_advance(fm_optimizer *opt)
{
    if (opt->lr_steps != NULL) { /* this step's rate; fm_optimizer_valid checked there is one */
        opt->learning_rate = opt->lr_steps[0];
        opt->lr_steps += 1;
        opt->n_lr_steps -= 1;
    }
    opt->t += 1;
    if (opt->kind == FM_OPT_NADAM)
        opt->mu_product *= nadam_mu((double)opt->t, opt->beta_1, opt->momentum_decay);
}

/*
 * The step's constants for step opt->t (already advanced). Adam's step size
 * is scikit-learn's, evaluated as Python does: lr * np.sqrt(1 - beta_2**t)
 * / (1 - beta_1**t), left to right, Python's float ** int being C's pow.
 * AdamW's and NAdam's are torch's.
 */
fm_step_rule fm_step_rule_make(const fm_optimizer *opt)
{
    fm_step_rule r = {0};
    const double lr = opt->learning_rate, t = (double)opt->t;
    r.kind = opt->kind;
    r.exact = opt->arithmetic == FM_STEP_SKLEARN;
    r.keras = opt->arithmetic == FM_STEP_KERAS;
    r.flush = !(r.exact && (opt->kind == FM_OPT_SGD || opt->kind == FM_OPT_ADAM));
    r.nesterov = opt->nesterov;
    r.decay = opt->weight_decay > 0.0;
    r.keep = 1.0 - lr * opt->weight_decay;
    r.lr = lr;
    r.momentum = opt->momentum;
    r.beta_1 = opt->beta_1;
    r.beta_2 = opt->beta_2;
    r.epsilon = opt->epsilon;
    r.rho = opt->rho;
    switch (opt->kind) {
    case FM_OPT_ADAM:
        r.neg_lr_t = -(lr * sqrt(1.0 - pow(opt->beta_2, t)) / (1.0 - pow(opt->beta_1, t)));
        break;
    case FM_OPT_ADAMW:
        if (r.keras) { /* Keras's AdamW is its Adam */
            r.neg_lr_t = -(lr * sqrt(1.0 - pow(opt->beta_2, t)) / (1.0 - pow(opt->beta_1, t)));
            break;
        }
        r.neg_lr_t = -(lr / (1.0 - pow(opt->beta_1, t)));
        r.bc2 = sqrt(1.0 - pow(opt->beta_2, t));
        break;
    case FM_OPT_NADAM: {
        const double mu = nadam_mu((double)opt->t, opt->beta_1, opt->momentum_decay);
        const double mu_next = nadam_mu((double)opt->t + 1.0, opt->beta_1, opt->momentum_decay);
        r.bc2 = 1.0 - pow(opt->beta_2, t);
        r.coef_g = (-lr * (1.0 - mu)) / (1.0 - opt->mu_product);
        r.coef_m = (-lr * mu_next) / (1.0 - opt->mu_product * mu_next);
        break;
    }
    default:
        r.neg_lr_t = -lr;
        break;
    }
    return r;
}

#define T float
#define SUF f32
#define SQRT sqrtf
#define T_MIN_NORMAL FLT_MIN
#define FM_ADAM_SKLEARN 1
#include "optimizers_tmpl.h"
#undef FM_ADAM_SKLEARN
#undef T_MIN_NORMAL
#undef SQRT
#undef SUF
#undef T

#define T double
#define SUF f64
#define SQRT sqrt
#define T_MIN_NORMAL DBL_MIN
#include "optimizers_tmpl.h"
#undef T_MIN_NORMAL
#undef SQRT
#undef SUF
#undef T

/* scikit-learn's two optimizers through the one step (fastmlp.h). */
static fm_optimizer sklearn_optimizer(fm_optimizer_kind kind, double learning_rate)
{
    fm_optimizer o = {0};
    o.kind = kind;
    o.arithmetic = FM_STEP_SKLEARN;
    o.learning_rate = learning_rate;
    o.mu_product = 1.0;
    return o;
}

static fm_optimizer sklearn_sgd(double learning_rate, double momentum, int nesterov, void *velocity)
{
    fm_optimizer o = sklearn_optimizer(FM_OPT_SGD, learning_rate);
    o.momentum = momentum;
    o.nesterov = nesterov;
    o.state[0] = velocity;
    return o;
}

void fm_sgd_step_f32(int64_t n, float *param, const float *grad, float *velocity,
                     double learning_rate, double momentum, int nesterov)
{
    fm_optimizer o = sklearn_sgd(learning_rate, momentum, nesterov, velocity);
    fm_optimizer_step_f32(&o, n, param, grad);
}

void fm_sgd_step_f64(int64_t n, double *param, const double *grad, double *velocity,
                     double learning_rate, double momentum, int nesterov)
{
    fm_optimizer o = sklearn_sgd(learning_rate, momentum, nesterov, velocity);
    fm_optimizer_step_f64(&o, n, param, grad);
}

static fm_optimizer sklearn_adam(int64_t t, double learning_rate, double beta_1, double beta_2,
                                 double epsilon, void *m, void *v)
{
    fm_optimizer o = sklearn_optimizer(FM_OPT_ADAM, learning_rate);
    o.beta_1 = beta_1;
    o.beta_2 = beta_2;
    o.epsilon = epsilon;
    o.t = t - 1; /* the step advances it to t */
    o.state[0] = m;
    o.state[1] = v;
    return o;
}

void fm_adam_step_f32(int64_t n, float *param, const float *grad, float *m, float *v, int64_t t,
                      double learning_rate, double beta_1, double beta_2, double epsilon)
{
    fm_optimizer o = sklearn_adam(t, learning_rate, beta_1, beta_2, epsilon, m, v);
    fm_optimizer_step_f32(&o, n, param, grad);
}

void fm_adam_step_f64(int64_t n, double *param, const double *grad, double *m, double *v, int64_t t,
                      double learning_rate, double beta_1, double beta_2, double epsilon)
{
    fm_optimizer o = sklearn_adam(t, learning_rate, beta_1, beta_2, epsilon, m, v);
    fm_optimizer_step_f64(&o, n, param, grad);
}

/*
 * sum(x^2) (or sum(|x|)) of n values in double, in a fixed order that
 * vectorises: 32 interleaved partial sums (x[i] goes to sum i mod 32, so
 * that the additions are not one latency-bound chain: eight chains were,
 * a sixth of the engine's optimizer step), combined pairwise. The result
 * depends only on x, never on the machine or the caller's threads.
 */
#define FM_SUM_LANES 32
#define FM_DEFINE_SUMS(T, SUF)                                                                     \
    static FM_ALWAYS_INLINE double sum_lanes_##SUF(const int absolute, int64_t n, const T *x)      \
    {                                                                                              \
        double s[FM_SUM_LANES] = {0};                                                              \
        int64_t i = 0;                                                                             \
        for (; i + FM_SUM_LANES <= n; i += FM_SUM_LANES)                                           \
            for (int j = 0; j < FM_SUM_LANES; j++)                                                 \
                s[j] += absolute ? fabs((double)x[i + j]) : (double)x[i + j] * (double)x[i + j];   \
        for (int j = 0; i < n; i++, j++)                                                           \
            s[j] += absolute ? fabs((double)x[i]) : (double)x[i] * (double)x[i];                   \
        for (int w = FM_SUM_LANES / 2; w >= 1; w /= 2)                                             \
            for (int j = 0; j < w; j++)                                                            \
                s[j] += s[j + w];                                                                  \
        return s[0];                                                                               \
    }                                                                                              \
    FM_CLONES double fm_sum_squares_##SUF(int64_t n, const T *x)                                   \
    {                                                                                              \
        return sum_lanes_##SUF(0, n, x);                                                           \
    }                                                                                              \
    FM_CLONES double fm_sum_abs_##SUF(int64_t n, const T *x) { return sum_lanes_##SUF(1, n, x); }
FM_DEFINE_SUMS(float, f32)
FM_DEFINE_SUMS(double, f64)
#undef FM_DEFINE_SUMS
