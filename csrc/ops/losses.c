/*
 * Losses with their gradients: fm_softmax_cross_entropy_*,
 * fm_sigmoid_binary_cross_entropy_*, fm_regression_loss_* (see fastmlp.h
 * for the contract). Written once in losses_tmpl.h, compiled per dtype.
 */
#include <math.h>
#include <stddef.h>

#include "fastmlp.h"
#include "loss_math.h"

#define T float
#define NAME(fn) fn##_f32
#define LIBM(fn) fn##f
#include "losses_tmpl.h"
#undef T
#undef NAME
#undef LIBM

#define T double
#define NAME(fn) fn##_f64
#define LIBM(fn) fn
#include "losses_tmpl.h"
#undef T
#undef NAME
#undef LIBM
