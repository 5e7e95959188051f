/*
 * Scalar activation functions and their derivatives, float and double.
 *
 * The one source of truth for the activation formulas: activations.c maps
 * them over arrays, and per-instruction-set code may call them for its
 * scalar tails. Every function is `static inline` and pure.
 *
 * Names: fm_act_<kind>_<f32|f64>(z [, param]) is the activation,
 *        fm_act_<kind>_grad_<f32|f64>(z [, param]) its derivative d/dz.
 *
 * Conventions, the same for every function:
 *   - computed in the argument's precision with the matching libm function
 *     (expf in float, exp in double), never silently promoted to double;
 *   - NaN in, NaN out, for the activations and for their derivatives alike
 *     (a NaN pre-activation must not turn into a plausible 0 or 1);
 *   - no overflow for any finite argument: exp() is only evaluated where
 *     its result is representable (or where inf is the true answer).
 *
 * The body is written once in activation_math_tmpl.h, included below once
 * per dtype.
 */
#ifndef FASTMLP_ACTIVATION_MATH_H
#define FASTMLP_ACTIVATION_MATH_H

#include <math.h>

/* SELU constants (Klambauer et al. 2017), to the digits of the paper. */
#define FM_SELU_ALPHA 1.6732632423543772848170429916717
#define FM_SELU_SCALE 1.0507009873554804934193349852946
#define FM_SQRT1_2 0.70710678118654752440084436210484903928      /* 1 / sqrt(2) */
#define FM_INV_SQRT_2PI 0.39894228040143267793994605993438186848 /* 1 / sqrt(2 pi) */

/*
 * Below -FM_LOGISTIC_CUT the logistic function is computed as exp(z): there
 * exp(-z) would overflow (at 88.72 in float, 709.78 in double), while
 * 1 + exp(-z) == exp(-z) to working precision, so exp(z) is the correctly
 * rounded answer. Above it we use scipy.special.expit's own expression.
 */
#define FM_LOGISTIC_CUT_F32 88.0f
#define FM_LOGISTIC_CUT_F64 709.0

#define AM_REAL float
#define AM_NAME(name) fm_act_##name##_f32
#define AM_LIBM(fn) fn##f
#define AM_LOGISTIC_CUT FM_LOGISTIC_CUT_F32
#include "activation_math_tmpl.h"
#undef AM_REAL
#undef AM_NAME
#undef AM_LIBM
#undef AM_LOGISTIC_CUT

#define AM_REAL double
#define AM_NAME(name) fm_act_##name##_f64
#define AM_LIBM(fn) fn
#define AM_LOGISTIC_CUT FM_LOGISTIC_CUT_F64
#include "activation_math_tmpl.h"
#undef AM_REAL
#undef AM_NAME
#undef AM_LIBM
#undef AM_LOGISTIC_CUT

#endif /* FASTMLP_ACTIVATION_MATH_H */
