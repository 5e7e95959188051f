/*
 * Optimizer steps, in place: fm_sgd_step_*, fm_adam_step_* (see fastmlp.h).
 *
 * These reproduce scikit-learn's SGDOptimizer and AdamOptimizer
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
 * The loops are written out per dtype rather than from a template because
 * the float32 rules above are not "the double code with float".
 */
#include <math.h>

#include "fastmlp.h"
#include "internal.h"

/*
 * One body per optimizer and dtype serves both the public steps below and
 * the training engine's fused step (fm_fused_step_*, internal.h), which
 * first finishes the raw minibatch gradient exactly as scikit-learn's
 * _backprop does, as separate float operations:
 *   g = g_raw + alpha * param   (coefficients only: `l2`)
 *   g = g / divisor             (`divide`)
 * so that the engine reads and writes each parameter once per step instead
 * of three times. The flags are compile-time constants in every call, so
 * each combination is its own loop.
 *
 * The functions are compiled for AVX2 and for the baseline, chosen at load
 * time (target_clones): the operations are IEEE additions, multiplications,
 * divisions and square roots without contraction, so both give identical
 * bits; AVX2 only does more of them per instruction.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define FM_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FM_CLONES
#endif

static inline __attribute__((always_inline)) void
sgd_f32(const int l2, const int divide, const int nesterov, int64_t n, float *restrict param,
        const float *restrict grad, float *restrict velocity, float lr, float mu, float alpha,
        float divisor)
{
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i];
        if (l2)
            g = g + alpha * param[i];
        if (divide)
            g = g / divisor;
        const float v = mu * velocity[i] - lr * g;
        velocity[i] = v;
        param[i] += nesterov ? mu * v - lr * g : v;
    }
}

static inline __attribute__((always_inline)) void
sgd_f64(const int l2, const int divide, const int nesterov, int64_t n, double *restrict param,
        const double *restrict grad, double *restrict velocity, double lr, double mu,
        double alpha, double divisor)
{
    for (int64_t i = 0; i < n; i++) {
        double g = grad[i];
        if (l2)
            g = g + alpha * param[i];
        if (divide)
            g = g / divisor;
        const double v = mu * velocity[i] - lr * g;
        velocity[i] = v;
        param[i] += nesterov ? mu * v - lr * g : v;
    }
}

/*
 * Shapes: param, grad, velocity (n,) contiguous, not overlapping.
 *   velocity = momentum * velocity - lr * grad
 *   param   += momentum * velocity - lr * grad   (nesterov) or velocity
 */
FM_CLONES void fm_sgd_step_f32(int64_t n, float *param, const float *grad, float *velocity,
                               double learning_rate, double momentum, int nesterov)
{
    const float mu = (float)momentum, lr = (float)learning_rate;
    if (nesterov)
        sgd_f32(0, 0, 1, n, param, grad, velocity, lr, mu, 0.0f, 1.0f);
    else
        sgd_f32(0, 0, 0, n, param, grad, velocity, lr, mu, 0.0f, 1.0f);
}

FM_CLONES void fm_sgd_step_f64(int64_t n, double *param, const double *grad, double *velocity,
                               double learning_rate, double momentum, int nesterov)
{
    if (nesterov)
        sgd_f64(0, 0, 1, n, param, grad, velocity, learning_rate, momentum, 0.0, 1.0);
    else
        sgd_f64(0, 0, 0, n, param, grad, velocity, learning_rate, momentum, 0.0, 1.0);
}

/*
 * Adam's bias-corrected step size, exactly as scikit-learn evaluates it in
 * Python: lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t), left to right,
 * with Python's float ** int being C's pow.
 */
static double adam_step_size(int64_t t, double learning_rate, double beta_1, double beta_2)
{
    return learning_rate * sqrt(1.0 - pow(beta_2, (double)t)) / (1.0 - pow(beta_1, (double)t));
}

static inline __attribute__((always_inline)) void
adam_f32(const int l2, const int divide, int64_t n, float *restrict param,
         const float *restrict grad, float *restrict m, float *restrict v, double neg_lr_t,
         double beta_1, double beta_2, double epsilon, float alpha, float divisor)
{
    const float b1 = (float)beta_1, c1 = (float)(1.0 - beta_1);
    const float b2 = (float)beta_2, c2 = (float)(1.0 - beta_2);
    const float eps = (float)epsilon;
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i];
        if (l2)
            g = g + alpha * param[i];
        if (divide)
            g = g / divisor;
        const float mi = b1 * m[i] + c1 * g;
        const float vi = b2 * v[i] + c2 * (g * g);
        m[i] = mi;
        v[i] = vi;
        /* (-lr_t * m) and the division in double, the denominator in float. */
        const double update = (neg_lr_t * (double)mi) / (double)(sqrtf(vi) + eps);
        param[i] = (float)((double)param[i] + update);
    }
}

static inline __attribute__((always_inline)) void
adam_f64(const int l2, const int divide, int64_t n, double *restrict param,
         const double *restrict grad, double *restrict m, double *restrict v, double neg_lr_t,
         double beta_1, double beta_2, double epsilon, double alpha, double divisor)
{
    const double c1 = 1.0 - beta_1, c2 = 1.0 - beta_2;
    for (int64_t i = 0; i < n; i++) {
        double g = grad[i];
        if (l2)
            g = g + alpha * param[i];
        if (divide)
            g = g / divisor;
        const double mi = beta_1 * m[i] + c1 * g;
        const double vi = beta_2 * v[i] + c2 * (g * g);
        m[i] = mi;
        v[i] = vi;
        param[i] += (neg_lr_t * mi) / (sqrt(vi) + epsilon);
    }
}

/*
 * Shapes: param, grad, m, v (n,) contiguous, not overlapping; t >= 1.
 *   m = beta_1 * m + (1 - beta_1) * grad
 *   v = beta_2 * v + (1 - beta_2) * grad^2
 *   param += -lr_t * m / (sqrt(v) + epsilon)
 */
FM_CLONES void fm_adam_step_f32(int64_t n, float *param, const float *grad, float *m, float *v,
                                int64_t t, double learning_rate, double beta_1, double beta_2,
                                double epsilon)
{
    adam_f32(0, 0, n, param, grad, m, v, -adam_step_size(t, learning_rate, beta_1, beta_2),
             beta_1, beta_2, epsilon, 0.0f, 1.0f);
}

FM_CLONES void fm_adam_step_f64(int64_t n, double *param, const double *grad, double *m,
                                double *v, int64_t t, double learning_rate, double beta_1,
                                double beta_2, double epsilon)
{
    adam_f64(0, 0, n, param, grad, m, v, -adam_step_size(t, learning_rate, beta_1, beta_2),
             beta_1, beta_2, epsilon, 0.0, 1.0);
}

fm_step_rule fm_step_rule_make(int adam, int64_t t, double learning_rate, double momentum,
                               int nesterov, double beta_1, double beta_2, double epsilon)
{
    fm_step_rule r;
    r.adam = adam;
    r.learning_rate = learning_rate;
    r.momentum = momentum;
    r.nesterov = nesterov;
    r.beta_1 = beta_1;
    r.beta_2 = beta_2;
    r.epsilon = epsilon;
    r.neg_lr_t = adam ? -adam_step_size(t, learning_rate, beta_1, beta_2) : 0.0;
    return r;
}

FM_CLONES void fm_fused_step_f32(const fm_step_rule *r, int64_t n, float *param,
                                 const float *grad_raw, float *a, float *b, int l2,
                                 float alpha, float divisor)
{
    if (r->adam) {
        if (l2)
            adam_f32(1, 1, n, param, grad_raw, a, b, r->neg_lr_t, r->beta_1, r->beta_2,
                     r->epsilon, alpha, divisor);
        else
            adam_f32(0, 1, n, param, grad_raw, a, b, r->neg_lr_t, r->beta_1, r->beta_2,
                     r->epsilon, alpha, divisor);
        return;
    }
    const float mu = (float)r->momentum, lr = (float)r->learning_rate;
    if (l2 && r->nesterov)
        sgd_f32(1, 1, 1, n, param, grad_raw, a, lr, mu, alpha, divisor);
    else if (l2)
        sgd_f32(1, 1, 0, n, param, grad_raw, a, lr, mu, alpha, divisor);
    else if (r->nesterov)
        sgd_f32(0, 1, 1, n, param, grad_raw, a, lr, mu, alpha, divisor);
    else
        sgd_f32(0, 1, 0, n, param, grad_raw, a, lr, mu, alpha, divisor);
}

FM_CLONES void fm_fused_step_f64(const fm_step_rule *r, int64_t n, double *param,
                                 const double *grad_raw, double *a, double *b, int l2,
                                 double alpha, double divisor)
{
    if (r->adam) {
        if (l2)
            adam_f64(1, 1, n, param, grad_raw, a, b, r->neg_lr_t, r->beta_1, r->beta_2,
                     r->epsilon, alpha, divisor);
        else
            adam_f64(0, 1, n, param, grad_raw, a, b, r->neg_lr_t, r->beta_1, r->beta_2,
                     r->epsilon, alpha, divisor);
        return;
    }
    const double mu = r->momentum, lr = r->learning_rate;
    if (l2 && r->nesterov)
        sgd_f64(1, 1, 1, n, param, grad_raw, a, lr, mu, alpha, divisor);
    else if (l2)
        sgd_f64(1, 1, 0, n, param, grad_raw, a, lr, mu, alpha, divisor);
    else if (r->nesterov)
        sgd_f64(0, 1, 1, n, param, grad_raw, a, lr, mu, alpha, divisor);
    else
        sgd_f64(0, 1, 0, n, param, grad_raw, a, lr, mu, alpha, divisor);
}

/*
 * sum(x^2) of n values in double, in a fixed order that vectorises: eight
 * interleaved partial sums (x[i] goes to sum i mod 8), combined pairwise.
 * The result depends only on x, never on the machine or the caller's
 * threads.
 */
FM_CLONES double fm_sum_squares_f32(int64_t n, const float *x)
{
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            s[j] += (double)x[i + j] * (double)x[i + j];
    for (int j = 0; i < n; i++, j++)
        s[j] += (double)x[i] * (double)x[i];
    return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

FM_CLONES double fm_sum_squares_f64(int64_t n, const double *x)
{
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            s[j] += x[i + j] * x[i + j];
    for (int j = 0; i < n; i++, j++)
        s[j] += x[i] * x[i];
    return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}
