/*
 * Body of activations.c, included there once per dtype; never include it
 * directly. The includer defines:
 *   T          float or double
 *   ACT(name)  the scalar function from activation_math.h (fm_act_<name>_<suffix>)
 *   NAME(fn)   the exported name fn_<suffix>
 *   LIBM(fn)   the libm function of T's precision (expf or exp)
 *
 * Row reductions (the softmax sums) are accumulated in double whatever T:
 * exp() is computed in T, but a float running sum over a long row would add
 * an error growing with n for the price of nothing measurable.
 */

/* out[i, j] = EXPR for x = z[i, j], row by row with the leading dimensions.
 * out may be z itself: each element is read before it is written. */
#define FM_MAP_ROWS(EXPR)                                                                          \
    for (int64_t i = 0; i < m; i++) {                                                              \
        const T *zi = z + i * ldz;                                                                 \
        T *oi = out + i * ldo;                                                                     \
        for (int64_t j = 0; j < n; j++) {                                                          \
            const T x = zi[j];                                                                     \
            oi[j] = (EXPR);                                                                        \
        }                                                                                          \
    }

/* grad_in = DERIV (x = z) or grad_out * DERIV, over `size` contiguous
 * elements. grad_in may be z or grad_out itself (read before written). */
#define FM_MAP_GRAD(DERIV)                                                                         \
    if (grad_out == NULL) {                                                                        \
        for (int64_t k = 0; k < size; k++) {                                                       \
            const T x = z[k];                                                                      \
            grad_in[k] = (DERIV);                                                                  \
        }                                                                                          \
    } else {                                                                                       \
        for (int64_t k = 0; k < size; k++) {                                                       \
            const T x = z[k];                                                                      \
            grad_in[k] = grad_out[k] * (DERIV);                                                    \
        }                                                                                          \
    }

/*
 * Largest element of z (n >= 1). A NaN is not looked for: if z[0] is NaN
 * the result is NaN, otherwise the NaN element makes its exp() NaN, and
 * either way the whole softmax row comes out NaN, as in NumPy/SciPy.
 */
static inline T NAME(row_max)(int64_t n, const T *z)
{
    T mx = z[0];
    for (int64_t j = 1; j < n; j++)
        mx = z[j] > mx ? z[j] : mx;
    return mx;
}

/*
 * out = softmax(z) for one row of n >= 1 elements; out may be z.
 * Subtracting the max makes every exponent <= 0 (no overflow) and the
 * largest term exactly 1 (the sum cannot underflow to 0).
 */
static void NAME(softmax_row)(int64_t n, const T *z, T *out)
{
    const T mx = NAME(row_max)(n, z);
    double sum = 0.0;
    for (int64_t j = 0; j < n; j++) {
        const T e = LIBM(exp)(z[j] - mx);
        out[j] = e;
        sum += (double)e;
    }
    /* One rounding per element: the division is done in double. */
    for (int64_t j = 0; j < n; j++)
        out[j] = (T)((double)out[j] / sum);
}

/*
 * Vector-Jacobian product of softmax for one row of n >= 1 elements:
 *   gi = s * (g - <g, s>),  s = softmax(z).
 * exp(z - max) is needed in both passes. It is kept in gi between them,
 * unless gi is g, whose values the second pass still needs: then it is
 * computed twice rather than asking for a workspace. gi may be z (every
 * z[j] is read before gi[j] is written).
 */
static void NAME(softmax_vjp_row)(int64_t n, const T *z, const T *g, T *gi)
{
    const T mx = NAME(row_max)(n, z);
    const int keep = gi != g;
    double sum = 0.0, dot = 0.0;
    for (int64_t j = 0; j < n; j++) {
        const T e = LIBM(exp)(z[j] - mx);
        sum += (double)e;
        dot += (double)e * (double)g[j];
        if (keep)
            gi[j] = e;
    }
    dot /= sum; /* <g, s> */
    for (int64_t j = 0; j < n; j++) {
        const T e = keep ? gi[j] : LIBM(exp)(z[j] - mx);
        gi[j] = (T)((double)e / sum * ((double)g[j] - dot));
    }
}

/*
 * Maxout of one row: out[j] = max of the k pieces z[j*k .. j*k + k - 1],
 * and w[j] the index of the first of equal maxima when `store`; a NaN piece
 * makes the unit NaN (its w is then the last NaN's, of no use).
 *
 * Piece by piece over all units, rather than unit by unit: the inner loop
 * is then a strided load and two selects per unit, which the compiler
 * vectorises whatever k, with no data-dependent branch. Unit by unit, the
 * comparisons became branches mispredicted on random data: 8 ns per value
 * against 0.5 here (float, 4096 x 512 values, k = 2, this machine).
 */
static void NAME(maxout_row)(int64_t n, int64_t k, const T *restrict z, T *restrict out,
                             int32_t *restrict w)
{
    for (int64_t j = 0; j < n; j++)
        out[j] = z[j * k];
    if (w != NULL)
        for (int64_t j = 0; j < n; j++)
            w[j] = 0;
    for (int64_t p = 1; p < k; p++) {
        const T *zp = z + p;
        if (w != NULL) {
            for (int64_t j = 0; j < n; j++) {
                const T v = zp[j * k], o = out[j];
                const int take = (v > o) | (v != v); /* strictly larger: the first wins */
                out[j] = take ? v : o;
                w[j] = take ? (int32_t)p : w[j];
            }
        } else {
            for (int64_t j = 0; j < n; j++) {
                const T v = zp[j * k], o = out[j];
                out[j] = ((v > o) | (v != v)) ? v : o;
            }
        }
    }
}

void NAME(fm_maxout_forward)(int64_t m, int64_t n, int64_t k, const T *z, int64_t ldz, T *out,
                             int64_t ldo, int32_t *winner, int64_t ldw)
{
    for (int64_t i = 0; i < m; i++)
        NAME(maxout_row)
    (n, k, z + i * ldz, out + i * ldo, winner != NULL ? winner + i * ldw : NULL);
}

void NAME(fm_maxout_backward)(int64_t m, int64_t n, int64_t k, const int32_t *winner, const T *da,
                              T *dz)
{
    for (int64_t i = 0; i < m; i++) {
        T *dzi = dz + i * n * k;
        for (int64_t c = 0; c < n * k; c++)
            dzi[c] = (T)0;
        for (int64_t j = 0; j < n; j++)
            dzi[j * k + winner[i * n + j]] = da[i * n + j];
    }
}

/*
 * Shapes: z (m, n) with leading dimension ldz >= n, out (m, n) with
 * ldo >= n, row-major; out may be z (same pointer, same leading dimension).
 * Maxout: z (m, n * k) with ldz >= n * k, not overlapping out. m, n <= 0 do
 * nothing. An invalid kind (or maxout's k) fills out with NaN.
 */
void NAME(fm_activation_forward)(fm_activation act, int64_t m, int64_t n, const T *z, int64_t ldz,
                                 T *out, int64_t ldo)
{
    if (m <= 0 || n <= 0)
        return;
    const T p = (T)act.param; /* rounded to T first, as NumPy does */
    switch (act.kind) {
    case FM_ACT_IDENTITY:
        if (out != z)
            FM_MAP_ROWS(x);
        break;
    case FM_ACT_LOGISTIC:
        FM_MAP_ROWS(ACT(logistic)(x));
        break;
    case FM_ACT_TANH:
        FM_MAP_ROWS(ACT(tanh)(x));
        break;
    case FM_ACT_RELU:
        FM_MAP_ROWS(ACT(relu)(x));
        break;
    case FM_ACT_LEAKY_RELU:
        FM_MAP_ROWS(ACT(leaky_relu)(x, p));
        break;
    case FM_ACT_ELU:
        FM_MAP_ROWS(ACT(elu)(x, p));
        break;
    case FM_ACT_SELU:
        FM_MAP_ROWS(ACT(selu)(x));
        break;
    case FM_ACT_GELU:
        FM_MAP_ROWS(ACT(gelu)(x));
        break;
    case FM_ACT_SOFTPLUS:
        FM_MAP_ROWS(ACT(softplus)(x));
        break;
    case FM_ACT_SOFTMAX:
        for (int64_t i = 0; i < m; i++)
            NAME(softmax_row)(n, z + i * ldz, out + i * ldo);
        break;
    case FM_ACT_HEAVISIDE:
        FM_MAP_ROWS(ACT(heaviside)(x));
        break;
    case FM_ACT_MAXOUT:
        if (fm_maxout_pieces(act) > 0) {
            NAME(fm_maxout_forward)(m, n, fm_maxout_pieces(act), z, ldz, out, ldo, NULL, 0);
            break;
        }
        for (int64_t i = 0; i < m; i++) /* an invalid k */
            for (int64_t j = 0; j < n; j++)
                out[i * ldo + j] = (T)NAN;
        break;
    default:
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                out[i * ldo + j] = (T)NAN;
        break;
    }
}

/*
 * Maxout's backward pass (see fastmlp.h): z, grad_in (m, n * k), grad_out
 * (m, n) or NULL, contiguous; the winner found again as in the forward pass.
 * grad_in may be z: a unit's k pieces are read before any is written.
 */
static void NAME(maxout_vjp)(int64_t m, int64_t n, int64_t k, const T *z, const T *grad_out,
                             T *grad_in)
{
    for (int64_t i = 0; i < m * n; i++) {
        const T *g = z + i * k;
        T best;
        int32_t win;
        NAME(maxout_row)(1, k, g, &best, &win);
        const T d = best != best ? best : (grad_out != NULL ? grad_out[i] : (T)1);
        T *gi = grad_in + i * k;
        for (int64_t p = 0; p < k; p++)
            gi[p] = best != best ? best : (p == win ? d : (T)0);
    }
}

/*
 * Shapes: z, grad_out (or NULL), grad_in all (m, n), contiguous rows
 * (leading dimension n); grad_in may be z or grad_out (for maxout see
 * maxout_vjp). Softmax without grad_out (its derivative is a Jacobian, not
 * an element-wise function) and an invalid kind fill grad_in with NaN.
 */
void NAME(fm_activation_backward)(fm_activation act, int64_t m, int64_t n, const T *z,
                                  const T *grad_out, T *grad_in)
{
    if (m <= 0 || n <= 0)
        return;
    const int64_t size = m * n;
    const T p = (T)act.param;
    switch (act.kind) {
    case FM_ACT_IDENTITY:
        FM_MAP_GRAD(ACT(identity_grad)(x));
        break;
    case FM_ACT_LOGISTIC:
        FM_MAP_GRAD(ACT(logistic_grad)(x));
        break;
    case FM_ACT_TANH:
        FM_MAP_GRAD(ACT(tanh_grad)(x));
        break;
    case FM_ACT_RELU:
        FM_MAP_GRAD(ACT(relu_grad)(x));
        break;
    case FM_ACT_LEAKY_RELU:
        FM_MAP_GRAD(ACT(leaky_relu_grad)(x, p));
        break;
    case FM_ACT_ELU:
        FM_MAP_GRAD(ACT(elu_grad)(x, p));
        break;
    case FM_ACT_SELU:
        FM_MAP_GRAD(ACT(selu_grad)(x));
        break;
    case FM_ACT_GELU:
        FM_MAP_GRAD(ACT(gelu_grad)(x));
        break;
    case FM_ACT_SOFTPLUS:
        FM_MAP_GRAD(ACT(softplus_grad)(x));
        break;
    case FM_ACT_SOFTMAX:
        if (grad_out == NULL) {
            for (int64_t k = 0; k < size; k++)
                grad_in[k] = (T)NAN;
        } else {
            for (int64_t i = 0; i < m; i++)
                NAME(softmax_vjp_row)(n, z + i * n, grad_out + i * n, grad_in + i * n);
        }
        break;
    case FM_ACT_HEAVISIDE:
        /* 0 everywhere (documented in fastmlp.h), not grad_out * 0, which
         * would turn an infinite upstream gradient into NaN. */
        for (int64_t k = 0; k < size; k++)
            grad_in[k] = (T)0;
        break;
    case FM_ACT_MAXOUT: {
        const int64_t k = fm_maxout_pieces(act);
        if (k > 0) {
            NAME(maxout_vjp)(m, n, k, z, grad_out, grad_in);
            break;
        }
        /* An invalid k (the bindings never pass one): its shapes are
         * unknown, so NaN only in the m * n values grad_in surely has. */
        for (int64_t c = 0; c < size; c++)
            grad_in[c] = (T)NAN;
        break;
    }
    default:
        for (int64_t k = 0; k < size; k++)
            grad_in[k] = (T)NAN;
        break;
    }
}

#undef FM_MAP_ROWS
#undef FM_MAP_GRAD
