/*
 * Body of activation_math.h, included there once per dtype; never include
 * it directly. The includer defines:
 *   AM_REAL          float or double
 *   AM_NAME(name)    the function name for `name` (fm_act_<name>_<suffix>)
 *   AM_LIBM(fn)      the libm function of that precision (expf or exp)
 *   AM_LOGISTIC_CUT  see FM_LOGISTIC_CUT_* in activation_math.h
 * Every literal is cast to AM_REAL so that float code stays in float.
 *
 * The piecewise functions evaluate all their operations unconditionally and
 * only *select* the result: under the default -ftrapping-math GCC may not
 * hoist a multiply or an ordered comparison out of a branch (it could raise
 * a flag the source would not), so `z > 0 ? z : slope * z` stays a branch,
 * mispredicted half the time on random signs, and the loop is not
 * vectorised. Written as selects they vectorise (25-30x faster measured
 * on random signs). GCC even sinks an unconditional `neg = slope * z` (or
 * `(z > 0 ? 1 : slope) * z`) back into a branch, so leaky relu splits z
 * into its positive and non-positive parts by selects and combines them
 * arithmetically.
 */

#define R AM_REAL

/* ---- identity ---------------------------------------------------------- */

static inline R AM_NAME(identity)(R z) { return z; }

/* NaN is the only value with z != z (a quiet comparison, never trapping). */
static inline R AM_NAME(identity_grad)(R z) { return z == z ? (R)1 : z; }

/* ---- logistic: 1 / (1 + exp(-z)) -------------------------------------- */

static inline R AM_NAME(logistic)(R z)
{
    /* scipy.special.expit's expression (scikit-learn uses expit), so the
     * two agree bit for bit; see FM_LOGISTIC_CUT_* for the far left tail. */
    if (z < -(R)AM_LOGISTIC_CUT)
        return AM_LIBM(exp)(z);
    return (R)1 / ((R)1 + AM_LIBM(exp)(-z));
}

static inline R AM_NAME(logistic_grad)(R z)
{
    /* s (1 - s) = e / (1 + e)^2 with e = exp(-|z|) in (0, 1]: no overflow,
     * and no cancellation in 1 - s, which would leave only absolute
     * accuracy (1 - s rounds to 0 for z > 17 in double). */
    const R e = AM_LIBM(exp)(-AM_LIBM(fabs)(z));
    const R d = (R)1 + e;
    return e / (d * d);
}

/* ---- tanh ------------------------------------------------------------- */

static inline R AM_NAME(tanh)(R z) { return AM_LIBM(tanh)(z); }

static inline R AM_NAME(tanh_grad)(R z)
{
    /* sech^2 z = 4 e / (1 + e)^2 with e = exp(-2|z|) in (0, 1] (that is,
     * 4 logistic'(2z)), rather than 1 - tanh^2, which cancels for |z| > 1
     * and is exactly 0 from |z| ~ 19 (double) on; and rather than
     * 1 / cosh^2, whose cosh overflows for |z| > 89 (float). */
    const R e = AM_LIBM(exp)((R)-2 * AM_LIBM(fabs)(z));
    const R d = (R)1 + e;
    return (R)4 * e / (d * d);
}

/* ---- relu: max(z, 0), NaN-propagating like np.maximum ----------------- */

static inline R AM_NAME(relu)(R z) { return z < (R)0 ? (R)0 : z; }

static inline R AM_NAME(relu_grad)(R z)
{
    const R d = z > (R)0 ? (R)1 : (R)0; /* 0 at z == 0, as scikit-learn */
    return z == z ? d : z;
}

/* ---- leaky relu: z if z > 0 else slope * z ----------------------------- */

static inline R AM_NAME(leaky_relu)(R z, R slope)
{
    /* z > 0: z + slope * 0 == z exactly; otherwise 0 + slope * z, exact
     * but for the sign of a zero result; NaN goes to `neg` and propagates. */
    const R pos = z > (R)0 ? z : (R)0;
    const R neg = z > (R)0 ? (R)0 : z;
    return pos + slope * neg;
}

static inline R AM_NAME(leaky_relu_grad)(R z, R slope)
{
    const R d = z > (R)0 ? (R)1 : slope;
    return z == z ? d : z;
}

/* ---- elu: z if z > 0 else alpha * (exp(z) - 1) ------------------------- */

static inline R AM_NAME(elu)(R z, R alpha)
{
    /* expm1: exp(z) - 1 loses all digits for small |z|. */
    return z > (R)0 ? z : alpha * AM_LIBM(expm1)(z);
}

static inline R AM_NAME(elu_grad)(R z, R alpha)
{
    return z > (R)0 ? (R)1 : alpha * AM_LIBM(exp)(z);
}

/* ---- selu: scale * elu(z, alpha) with fixed constants ------------------ */

static inline R AM_NAME(selu)(R z)
{
    return (R)FM_SELU_SCALE * (z > (R)0 ? z : (R)FM_SELU_ALPHA * AM_LIBM(expm1)(z));
}

static inline R AM_NAME(selu_grad)(R z)
{
    return z > (R)0 ? (R)FM_SELU_SCALE : (R)FM_SELU_SCALE * ((R)FM_SELU_ALPHA * AM_LIBM(exp)(z));
}

/* ---- gelu: z * Phi(z), Phi the standard normal CDF --------------------- */

static inline R AM_NAME(gelu)(R z)
{
    /* Phi(z) = erfc(-z / sqrt 2) / 2. Written with erfc rather than
     * (1 + erf(z / sqrt 2)) / 2, which cancels for z << 0 and returns 0
     * where the true value is still representable. */
    const R c = AM_LIBM(erfc)(-z * (R)FM_SQRT1_2);
    /* c underflows to 0 below z ~ -38.5 (double) / -14.2 (float), where
     * the result is -0 anyway; testing it avoids -inf * 0 = NaN. */
    return c == (R)0 ? -(R)0 : (R)0.5 * z * c;
}

static inline R AM_NAME(gelu_grad)(R z)
{
    /* Phi(z) + z phi(z). phi underflows to 0 for large |z| (z * z may even
     * overflow to inf, harmlessly: exp(-inf) == 0); then the second term is
     * 0, also for z = +-inf, where z * 0 would be NaN. */
    const R cdf = (R)0.5 * AM_LIBM(erfc)(-z * (R)FM_SQRT1_2);
    const R pdf = AM_LIBM(exp)((R)-0.5 * z * z) * (R)FM_INV_SQRT_2PI;
    return pdf == (R)0 ? cdf : cdf + z * pdf;
}

/* ---- softplus: log(1 + exp(z)) ---------------------------------------- */

static inline R AM_NAME(softplus)(R z)
{
    /* max(z, 0) + log1p(exp(-|z|)): exp never overflows, and log1p keeps
     * the digits of exp(-|z|) << 1. (z > 0 ? z : 0) maps NaN to 0, but the
     * log1p term is then NaN, so NaN still propagates. */
    return (z > (R)0 ? z : (R)0) + AM_LIBM(log1p)(AM_LIBM(exp)(-AM_LIBM(fabs)(z)));
}

static inline R AM_NAME(softplus_grad)(R z) { return AM_NAME(logistic)(z); }

/* ---- heaviside: 1 if z >= 0 else 0, like np.heaviside(z, 1) ------------ */

static inline R AM_NAME(heaviside)(R z)
{
    const R h = z >= (R)0 ? (R)1 : (R)0;
    return z == z ? h : z;
}

/* The step function has no useful derivative (0 almost everywhere); the
 * perceptron rule does not backpropagate through it. */
static inline R AM_NAME(heaviside_grad)(R z)
{
    (void)z;
    return (R)0;
}

#undef R
