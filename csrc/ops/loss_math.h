/*
 * Scalar loss formulas, per element, float and double.
 *
 * The one source of the per-element losses: the kernel API's regression
 * losses (losses_tmpl.h, fm_regression_loss_*) and the training engine's
 * output loss and first delta (train_tmpl.h, output_loss_delta_) both call
 * these. Where the engine follows scikit-learn's form and the kernels use
 * another, both are here under their own names:
 *   - Poisson: the kernels take the log-link output z = log(mu)
 *     (fm_loss_poisson_log_link_*); the engine's output is mu itself, and
 *     it uses scikit-learn's xlogy(y, y / mu) - y + mu
 *     (fm_loss_poisson_mean_*).
 *   - Log loss: the kernels compute it from logits (losses_tmpl.h, whole
 *     rows); the engine, as scikit-learn, from probabilities clipped to
 *     [eps, 1 - eps] (fm_loss_log_clipped_*, fm_loss_binary_log_clipped_*).
 *
 * Conventions: arguments in the dtype, the loss and its gradient in double.
 * r = p - y is formed in double, exactly for float inputs (barring extreme
 * exponent differences), so the gradient rounded to the dtype equals
 * scikit-learn's p - y computed in the dtype. NaN propagates to both.
 * fm_loss_<kind>_<f32|f64>(p, y, param, &g) returns l and sets g = dl/dp.
 *
 * The body is written once in loss_math_tmpl.h, included below once per
 * dtype.
 */
#ifndef FASTMLP_LOSS_MATH_H
#define FASTMLP_LOSS_MATH_H

#include <math.h>

/* x log y with 0 log y = 0 (scipy.special.xlogy), in double. */
static inline double fm_xlogy(double x, double y) { return x == 0.0 ? 0.0 : x * log(y); }

#define LM_REAL float
#define LM_NAME(name) fm_loss_##name##_f32
#define LM_LIBM(fn) fn##f
#include "loss_math_tmpl.h"
#undef LM_REAL
#undef LM_NAME
#undef LM_LIBM

#define LM_REAL double
#define LM_NAME(name) fm_loss_##name##_f64
#define LM_LIBM(fn) fn
#include "loss_math_tmpl.h"
#undef LM_REAL
#undef LM_NAME
#undef LM_LIBM

#endif /* FASTMLP_LOSS_MATH_H */
