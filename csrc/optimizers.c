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

/*
 * Shapes: param, grad, velocity (n,) contiguous, not overlapping.
 *   velocity = momentum * velocity - lr * grad
 *   param   += momentum * velocity - lr * grad   (nesterov) or velocity
 */
void fm_sgd_step_f32(int64_t n, float *param, const float *grad, float *velocity,
                     double learning_rate, double momentum, int nesterov)
{
    const float mu = (float)momentum, lr = (float)learning_rate;
    for (int64_t i = 0; i < n; i++) {
        const float v = mu * velocity[i] - lr * grad[i];
        velocity[i] = v;
        param[i] += nesterov ? mu * v - lr * grad[i] : v;
    }
}

void fm_sgd_step_f64(int64_t n, double *param, const double *grad, double *velocity,
                     double learning_rate, double momentum, int nesterov)
{
    const double mu = momentum, lr = learning_rate;
    for (int64_t i = 0; i < n; i++) {
        const double v = mu * velocity[i] - lr * grad[i];
        velocity[i] = v;
        param[i] += nesterov ? mu * v - lr * grad[i] : v;
    }
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

/*
 * Shapes: param, grad, m, v (n,) contiguous, not overlapping; t >= 1.
 *   m = beta_1 * m + (1 - beta_1) * grad
 *   v = beta_2 * v + (1 - beta_2) * grad^2
 *   param += -lr_t * m / (sqrt(v) + epsilon)
 */
void fm_adam_step_f32(int64_t n, float *param, const float *grad, float *m, float *v,
                      int64_t t, double learning_rate, double beta_1, double beta_2,
                      double epsilon)
{
    const float b1 = (float)beta_1, c1 = (float)(1.0 - beta_1);
    const float b2 = (float)beta_2, c2 = (float)(1.0 - beta_2);
    const float eps = (float)epsilon;
    const double neg_lr_t = -adam_step_size(t, learning_rate, beta_1, beta_2);
    for (int64_t i = 0; i < n; i++) {
        const float g = grad[i];
        const float mi = b1 * m[i] + c1 * g;
        const float vi = b2 * v[i] + c2 * (g * g);
        m[i] = mi;
        v[i] = vi;
        /* (-lr_t * m) and the division in double, the denominator in float. */
        const double update = (neg_lr_t * (double)mi) / (double)(sqrtf(vi) + eps);
        param[i] = (float)((double)param[i] + update);
    }
}

void fm_adam_step_f64(int64_t n, double *param, const double *grad, double *m, double *v,
                      int64_t t, double learning_rate, double beta_1, double beta_2,
                      double epsilon)
{
    const double c1 = 1.0 - beta_1, c2 = 1.0 - beta_2;
    const double neg_lr_t = -adam_step_size(t, learning_rate, beta_1, beta_2);
    for (int64_t i = 0; i < n; i++) {
        const double g = grad[i];
        const double mi = beta_1 * m[i] + c1 * g;
        const double vi = beta_2 * v[i] + c2 * (g * g);
        m[i] = mi;
        v[i] = vi;
        param[i] += (neg_lr_t * mi) / (sqrt(vi) + epsilon);
    }
}
