/*
 * Body of loss_math.h, included there once per dtype; never include it
 * directly. The includer defines:
 *   LM_REAL        float or double
 *   LM_NAME(name)  the function name for `name` (fm_loss_<name>_<suffix>)
 *   LM_LIBM(fn)    the libm function of that precision (expf or exp)
 */

#define R LM_REAL

/* 0.5 (p - y)^2 */
static inline double LM_NAME(squared_error)(R p, R y, double delta, double *g)
{
    (void)delta;
    const double r = (double)p - (double)y;
    *g = r;
    return 0.5 * r * r;
}

/* |p - y|, gradient sign(p - y), 0 at 0 */
static inline double LM_NAME(absolute_error)(R p, R y, double delta, double *g)
{
    (void)delta;
    const double r = (double)p - (double)y;
    *g = r > 0.0 ? 1.0 : (r < 0.0 ? -1.0 : r); /* sign(r), 0 at 0, NaN at NaN */
    return fabs(r);
}

/* 0.5 r^2 if |r| <= delta else delta (|r| - delta / 2), r = p - y */
static inline double LM_NAME(huber)(R p, R y, double delta, double *g)
{
    const double r = (double)p - (double)y;
    const double a = fabs(r);
    if (a <= delta) {
        *g = r;
        return 0.5 * r * r;
    }
    *g = r > 0.0 ? delta : (r < 0.0 ? -delta : r); /* r is NaN in the last case */
    return delta * (a - 0.5 * delta);
}

/* Half Poisson deviance with log link, from z = log(mu) (the kernels'):
 *   l = mu - y z + y log y - y = (mu - y) - y (z - log y)   (0 log 0 = 0),
 *   dl/dz = mu - y, exp and log in the dtype.
 * The second form: both brackets vanish at the optimum mu == y, whereas
 * the first adds terms of size y |z| that cancel there. */
static inline double LM_NAME(poisson_log_link)(R z, R y, double delta, double *g)
{
    (void)delta;
    const double mu = (double)LM_LIBM(exp)(z);
    *g = mu - (double)y;
    if (y > (R)0)
        return (mu - (double)y) - (double)y * ((double)z - (double)LM_LIBM(log)(y));
    return mu - (double)y; /* y == 0: l = mu; y < 0 or NaN: not a count */
}

/* The same deviance from mu itself, in scikit-learn's form
 * (sklearn.neural_network's poisson_loss): xlogy(y, y / mu) - y + mu, in
 * double; g = mu - y, d loss / d z through the exp output (canonical link). */
static inline double LM_NAME(poisson_mean)(R mu, R y, double delta, double *g)
{
    (void)delta;
    *g = (double)mu - (double)y;
    return fm_xlogy((double)y, (double)y / (double)mu) - (double)y + (double)mu;
}

/* scikit-learn's log_loss term of one output: -y log(clip(p, eps, 1 - eps)). */
static inline double LM_NAME(log_clipped)(R p, R y, R eps)
{
    const R q = p < eps ? eps : (p > (R)1 - eps ? (R)1 - eps : p);
    return -fm_xlogy((double)y, (double)q);
}

/* scikit-learn's binary_log_loss term: -(y log q + (1 - y) log(1 - q)),
 * q = clip(p, eps, 1 - eps). */
static inline double LM_NAME(binary_log_clipped)(R p, R y, R eps)
{
    const R q = p < eps ? eps : (p > (R)1 - eps ? (R)1 - eps : p);
    return -(fm_xlogy((double)y, (double)q) + fm_xlogy((double)((R)1 - y), (double)((R)1 - q)));
}

#undef R
