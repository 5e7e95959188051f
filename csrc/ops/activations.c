/*
 * Activations over arrays: fm_activation_forward_* and
 * fm_activation_backward_* (see fastmlp.h for the contract).
 *
 * The formulas live in activation_math.h; this file only maps them over
 * rows (activations_tmpl.h, compiled once per dtype). The switch on the
 * kind sits outside the loops, so each loop is a tight, inlined,
 * auto-vectorizable map where the function allows it.
 */
#include <math.h>
#include <stddef.h>

#include "activation_math.h"
#include "fastmlp.h"
#include "internal.h"

#define T float
#define ACT(name) fm_act_##name##_f32
#define NAME(fn) fn##_f32
#define LIBM(fn) fn##f
#include "activations_tmpl.h"
#undef T
#undef ACT
#undef NAME
#undef LIBM

#define T double
#define ACT(name) fm_act_##name##_f64
#define NAME(fn) fn##_f64
#define LIBM(fn) fn
#include "activations_tmpl.h"
#undef T
#undef ACT
#undef NAME
#undef LIBM
