/*
 * Body of losses.c, included there once per dtype; never include it
 * directly. The includer defines:
 *   T          float or double
 *   NAME(fn)   fn_<suffix>
 *   LIBM(fn)   the libm function of T's precision (expf or exp)
 *
 * Precision: the transcendental functions (exp, log1p, log) of each element
 * are computed in T, the input precision. Everything around them (the
 * differences that can cancel such as z - z*y or p - y, the per-row and
 * total sums, the scaling by w_i / sum(w)) is done in double, and each
 * gradient element is rounded to T once, at the end. For float inputs that
 * costs nothing measurable and removes the float32 cancellation and
 * summation errors; for double it is simply double arithmetic. (What stays
 * is inherent to exp in T: exp(z - M) inherits the rounding of its
 * argument, a relative error up to |z - M| eps / 2, as in any float32
 * softmax.)
 */

/* sum_i w_i in double; m when there are no weights. */
static double NAME(weight_sum)(int64_t m, const T *sample_weight)
{
    if (sample_weight == NULL)
        return (double)m;
    double s = 0.0;
    for (int64_t i = 0; i < m; i++)
        s += (double)sample_weight[i];
    return s;
}

/* Largest element of a row of n >= 1 (see activations_tmpl.h: a NaN makes
 * the row's results NaN one way or the other). */
static inline T NAME(loss_row_max)(int64_t n, const T *z)
{
    T mx = z[0];
    for (int64_t j = 1; j < n; j++)
        mx = z[j] > mx ? z[j] : mx;
    return mx;
}

/*
 * Shapes: logits, dlogits (m, n) contiguous rows; labels (m,) or y_prob
 * (m, n), exactly one non-NULL; sample_weight (m,) or NULL. dlogits may be
 * logits itself. Returns NaN for m or n < 1 and for a label outside [0, n)
 * (that row's dlogits are NaN too).
 *
 * Per row, with M = max_j z_j and S = sum_j exp(z_j - M) (so S >= 1):
 *   l = sum_j y_j (log S + M - z_j) = (sum_j y_j) log S - sum_j y_j (z_j - M)
 *   dl/dz_j = exp(z_j - M) / S - y_j
 * Both parts of l are >= 0 (no cancellation) and every exponent is <= 0,
 * so any finite logits give a finite loss and gradient.
 *
 * log S: for a confident prediction S = 1 + (small terms), and log(S)
 * would keep only the absolute accuracy of S ~ 1, i.e. ~eps / l relative
 * error in a small loss (a trained classifier has l ~ 1e-3). So the
 * element(s) equal to M, each contributing exactly exp(0) = 1, are counted
 * apart from the rest: S = n_max + rest, and log S = log1p(rest) when M is
 * attained once, accurate to a few ulp of l however small.
 */
double NAME(fm_softmax_cross_entropy)(int64_t m, int64_t n, const T *logits, const int64_t *labels,
                                      const T *y_prob, const T *sample_weight, T *dlogits)
{
    if (m <= 0 || n <= 0)
        return NAN;
    const double wsum = NAME(weight_sum)(m, sample_weight);
    double total = 0.0;
    int bad_label = 0;
    for (int64_t i = 0; i < m; i++) {
        const T *z = logits + i * n;
        const T *y = y_prob != NULL ? y_prob + i * n : NULL;
        T *d = dlogits + i * n;
        const double w = sample_weight != NULL ? (double)sample_weight[i] : 1.0;
        const double scale = w / wsum;
        const int64_t label = labels != NULL ? labels[i] : -1;
        if (labels != NULL && (label < 0 || label >= n)) {
            bad_label = 1;
            for (int64_t j = 0; j < n; j++)
                d[j] = (T)NAN;
            continue;
        }

        /* One sweep over the row (it stays in L1): max, then exp with the
         * loss sums, then the gradient. d[j] holds exp(z_j - M) in between;
         * z[j] is read before d[j] is written, so d may be z. */
        const T mx = NAME(loss_row_max)(n, z);
        double n_max = 0.0, rest = 0.0, sum_y = 0.0, sum_yz = 0.0;
        if (labels != NULL) {
            sum_y = 1.0;
            sum_yz = (double)z[label] - (double)mx;
        }
        for (int64_t j = 0; j < n; j++) {
            const T zj = z[j];
            const T e = LIBM(exp)(zj - mx);
            /* Skip y_j == 0 so that z_j = -inf gives 0, not 0 * -inf. */
            if (y != NULL && y[j] != (T)0) {
                sum_y += (double)y[j];
                sum_yz += (double)y[j] * ((double)zj - (double)mx);
            }
            d[j] = e;
            n_max += zj == mx ? 1.0 : 0.0;
            rest += zj == mx ? 0.0 : (double)e;
        }
        const double sum_e = n_max + rest;
        const double log_sum_e = n_max == 1.0 ? log1p(rest) : log(sum_e);
        total += w * (sum_y * log_sum_e - sum_yz);

        for (int64_t j = 0; j < n; j++) {
            const double yj = y != NULL ? (double)y[j] : (j == label ? 1.0 : 0.0);
            d[j] = (T)(((double)d[j] / sum_e - yj) * scale);
        }
    }
    return bad_label ? (double)NAN : total / wsum;
}

/*
 * Shapes: logits, y, dlogits (m, n) contiguous rows; sample_weight (m,) or
 * NULL; dlogits may be logits itself. Returns NaN for m < 1.
 *   l = max(z, 0) - z y + log1p(exp(-|z|)),   dl/dz = sigmoid(z) - y.
 * exp(-|z|) is in (0, 1]: no overflow for any z, and the same e gives the
 * sigmoid, e / (1 + e) or 1 / (1 + e) by the sign of z, without cancellation.
 */
double NAME(fm_sigmoid_binary_cross_entropy)(int64_t m, int64_t n, const T *logits, const T *y,
                                             const T *sample_weight, T *dlogits)
{
    if (m <= 0)
        return NAN;
    const double wsum = NAME(weight_sum)(m, sample_weight);
    double total = 0.0;
    for (int64_t i = 0; i < m; i++) {
        const double w = sample_weight != NULL ? (double)sample_weight[i] : 1.0;
        const double scale = w / wsum;
        double row = 0.0;
        for (int64_t k = i * n; k < (i + 1) * n; k++) {
            const T z = logits[k];
            const double yk = (double)y[k];
            const T e = LIBM(exp)(-LIBM(fabs)(z));
            const T sig = z >= (T)0 ? (T)1 / ((T)1 + e) : e / ((T)1 + e);
            /* z * y is exact in double for float inputs, so the linear part
             * does not cancel away float digits when z y ~ max(z, 0). */
            row += (z > (T)0 ? (double)z : 0.0) - (double)z * yk + (double)LIBM(log1p)(e);
            dlogits[k] = (T)(((double)sig - yk) * scale);
        }
        total += w * row;
    }
    return total / wsum;
}

/* ---- regression losses: the per-element formulas are loss_math.h's ---- */

/* total += w_i * sum_j l_ij and grad = g * w_i / sum(w), with the element
 * function ELEM chosen outside the loops. */
#define FM_REGRESSION_ROWS(ELEM)                                                                   \
    for (int64_t i = 0; i < m; i++) {                                                              \
        const double w = sample_weight != NULL ? (double)sample_weight[i] : 1.0;                   \
        const double scale = w / wsum;                                                             \
        double row = 0.0;                                                                          \
        for (int64_t k = i * n; k < (i + 1) * n; k++) {                                            \
            double g;                                                                              \
            row += ELEM(pred[k], y[k], delta, &g);                                                 \
            grad[k] = (T)(g * scale);                                                              \
        }                                                                                          \
        total += w * row;                                                                          \
    }

/*
 * Shapes: pred, y, grad (m, n) contiguous rows; sample_weight (m,) or NULL;
 * grad may be pred itself. param is Huber's delta (> 0), ignored otherwise.
 * Returns NaN for m < 1 or an invalid kind (grad is then NaN too).
 */
double NAME(fm_regression_loss)(fm_regression_loss_kind kind, double param, int64_t m, int64_t n,
                                const T *pred, const T *y, const T *sample_weight, T *grad)
{
    if (m <= 0)
        return NAN;
    const double wsum = NAME(weight_sum)(m, sample_weight);
    const double delta = param;
    double total = 0.0;
    switch (kind) {
    case FM_LOSS_SQUARED_ERROR:
        FM_REGRESSION_ROWS(NAME(fm_loss_squared_error));
        break;
    case FM_LOSS_ABSOLUTE_ERROR:
        FM_REGRESSION_ROWS(NAME(fm_loss_absolute_error));
        break;
    case FM_LOSS_HUBER:
        FM_REGRESSION_ROWS(NAME(fm_loss_huber));
        break;
    case FM_LOSS_POISSON:
        FM_REGRESSION_ROWS(NAME(fm_loss_poisson_log_link));
        break;
    default:
        for (int64_t k = 0; k < m * n; k++)
            grad[k] = (T)NAN;
        return NAN;
    }
    return total / wsum;
}

#undef FM_REGRESSION_ROWS
