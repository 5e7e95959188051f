/*
 * Body of perceptron.c, included there once per dtype; never include it
 * directly. The includer defines:
 *   T          float or double
 *   NAME(fn)   fn_<suffix>
 *
 * Precision: x, coef and the sample weights are T, but every operation on
 * them is done in double and a coefficient is rounded to T once per change.
 * This matters most in the dot products, whose sign is the unit's decision:
 * a float32 running sum would flip decisions near the boundary for nothing
 * measurable in speed (the sums are over one sample at a time).
 *
 * The routines taking `const int sparse` are always inlined into callers
 * that pass a constant, so the dense and CSR loops are compiled separately
 * and the dense ones have no index array (and can be vectorized).
 */

/*
 * sum_j v[col_j] * xv[j] over one sample's nnz stored entries, col_j = j
 * when dense. Four partial sums in a fixed order: independent dependency
 * chains the CPU overlaps (one chain is bound by the add latency), and a
 * result that depends on nothing but the data.
 */
static FM_ALWAYS_INLINE double NAME(sample_dot)(const T *restrict v, const T *restrict xv,
                                                const int64_t *restrict xi, int64_t nnz,
                                                const int sparse)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int64_t j = 0;
    for (; j + 4 <= nnz; j += 4) {
        s0 += (double)xv[j] * (double)v[sparse ? xi[j] : j];
        s1 += (double)xv[j + 1] * (double)v[sparse ? xi[j + 1] : j + 1];
        s2 += (double)xv[j + 2] * (double)v[sparse ? xi[j + 2] : j + 2];
        s3 += (double)xv[j + 3] * (double)v[sparse ? xi[j + 3] : j + 3];
    }
    for (; j < nnz; j++)
        s0 += (double)xv[j] * (double)v[sparse ? xi[j] : j];
    return (s0 + s1) + (s2 + s3);
}

/* sum v^2 and sum |v| of a whole row, exactly (start of an epoch, folds). */
static void NAME(row_norms)(const T *v, int64_t d, fm_perceptron_unit *unit)
{
    double sq = 0.0, l1 = 0.0;
    for (int64_t j = 0; j < d; j++) {
        const double vj = v[j];
        sq += vj * vj;
        l1 += fabs(vj);
    }
    unit->sq = sq;
    unit->l1 = l1;
}

/* Multiplies the scale into the stored row: v = scale * v, scale = 1. */
static void NAME(fold_scale)(T *v, int64_t d, fm_perceptron_unit *unit, int track_norms)
{
    const double s = unit->scale;
    for (int64_t j = 0; j < d; j++)
        v[j] = (T)((double)v[j] * s);
    unit->scale = 1.0;
    if (track_norms)
        NAME(row_norms)(v, d, unit);
}

/*
 * v[col_j] += xv[j] * c over one sample's entries. With track_norms, the
 * changes of sum v^2 and sum |v| are added to the unit's running norms (the
 * untracked loop is kept apart so that it vectorizes).
 */
static FM_ALWAYS_INLINE void NAME(sample_axpy)(T *restrict v, const T *restrict xv,
                                               const int64_t *restrict xi, int64_t nnz, double c,
                                               const int sparse, int track_norms,
                                               fm_perceptron_unit *unit)
{
    if (!track_norms) {
        for (int64_t j = 0; j < nnz; j++) {
            const int64_t col = sparse ? xi[j] : j;
            v[col] = (T)((double)v[col] + (double)xv[j] * c);
        }
        return;
    }
    double dsq = 0.0, dl1 = 0.0;
    for (int64_t j = 0; j < nnz; j++) {
        const int64_t col = sparse ? xi[j] : j;
        const double old = v[col];
        v[col] = (T)(old + (double)xv[j] * c);
        const double now = v[col];
        dsq += now * now - old * old;
        dl1 += fabs(now) - fabs(old);
    }
    unit->sq += dsq;
    unit->l1 += dl1;
}

/*
 * The cumulative L1 penalty on the weights of one sample's features
 * (scikit-learn's l1penalty). u is the total penalty any weight could have
 * received so far and q[col] the (signed) total it did receive: a positive
 * weight owes u + q[col] (q <= 0 for weights pulled down), a negative one
 * u - q[col]; each moves towards 0 by what it owes but stops at 0, and q
 * records what was applied. scale > 0, so w = scale * v has v's sign.
 */
static FM_ALWAYS_INLINE void NAME(sample_l1)(T *restrict v, double *restrict q,
                                             const int64_t *restrict xi, int64_t nnz, double u,
                                             const int sparse, int track_norms,
                                             fm_perceptron_unit *unit)
{
    const double scale = unit->scale;
    double dsq = 0.0, dl1 = 0.0;
    for (int64_t j = 0; j < nnz; j++) {
        const int64_t col = sparse ? xi[j] : j;
        const double old = v[col];
        double now;
        if (old > 0.0) {
            now = old - (u + q[col]) / scale;
            now = now > 0.0 ? now : 0.0;
        } else if (old < 0.0) {
            now = old + (u - q[col]) / scale;
            now = now < 0.0 ? now : 0.0;
        } else {
            continue;
        }
        v[col] = (T)now;
        const double stored = v[col];
        q[col] += scale * (stored - old);
        if (track_norms) {
            dsq += stored * stored - old * old;
            dl1 += fabs(stored) - fabs(old);
        }
    }
    unit->sq += dsq;
    unit->l1 += dl1;
}

/* Everything one epoch reads, shared by the threads. */
typedef struct {
    fm_perceptron_plan plan;
    double eta;
    int fit_intercept;
    int64_t n_features;
    const T *x;
    int64_t ldx;
    const int64_t *indptr, *indices, *target;
    const T *sample_weight;
    const double *weight_pos, *weight_neg;
    int64_t n_visits;
    const int64_t *order;
    const unsigned char *active;
    T *coef;
    double *l1_q;
    fm_perceptron_unit *units;
} NAME(perceptron_epoch);

/*
 * The epoch for units [lo, hi): every visit, every active unit of the block
 * (sample-major, so a sample is read from memory once for all the block's
 * units). u is the L1 accumulator at the start; returns it at the end, which
 * is the same for every block.
 */
static FM_ALWAYS_INLINE double NAME(run_units)(const NAME(perceptron_epoch) * e, int64_t lo,
                                               int64_t hi, double u, const int sparse)
{
    const fm_perceptron_plan *plan = &e->plan;
    const int track = plan->track_norms;
    const int64_t d = e->n_features;
    for (int64_t t = 0; t < e->n_visits; t++) {
        const int64_t i = e->order[t];
        const T *xv;
        const int64_t *xi = NULL;
        int64_t nnz = d;
        if (sparse) {
            xv = e->x + e->indptr[i];
            xi = e->indices + e->indptr[i];
            nnz = e->indptr[i + 1] - e->indptr[i];
        } else {
            xv = e->x + i * e->ldx;
        }
        const double sw = e->sample_weight != NULL ? (double)e->sample_weight[i] : 1.0;
        const int64_t firing_unit = e->target[i];
        u += plan->du;

        for (int64_t k = lo; k < hi; k++) {
            if (e->active != NULL && !e->active[k])
                continue;
            fm_perceptron_unit *unit = &e->units[k];
            T *v = e->coef + k * d;

            const double p =
                unit->scale * NAME(sample_dot)(v, xv, xi, nnz, sparse) + unit->intercept;
            const int y = firing_unit == k;
            /* heaviside(p) with heaviside(0) = 1; a NaN p reads as 0 (the
             * caller stops on non-finite weights after the epoch). */
            const int error = y - (p >= 0.0);
            if (error != 0) {
                unit->mistakes++;
                unit->objective += fabs(p); /* the perceptron criterion */
            }
            if (track) {
                /* The penalty of the weights the decision was made with;
                 * fmax: the running sums may drift a few ulps below 0. */
                const double s = unit->scale;
                unit->objective += plan->pen_sq * (s * s) * fmax(unit->sq, 0.0) +
                                   plan->pen_l1 * s * fmax(unit->l1, 0.0);
            }
            const double class_weight = y ? e->weight_pos[k] : e->weight_neg[k];
            const double update = e->eta * (double)error * class_weight * sw;

            if (plan->decay < 1.0) {
                unit->scale *= plan->decay;
                if (unit->scale < FM_MIN_SCALE)
                    NAME(fold_scale)(v, d, unit, track);
            }
            if (update != 0.0) {
                NAME(sample_axpy)(v, xv, xi, nnz, update / unit->scale, sparse, track, unit);
                if (e->fit_intercept)
                    unit->intercept += update;
            }
            if (plan->l1)
                NAME(sample_l1)(v, e->l1_q + k * d, xi, nnz, u, sparse, track, unit);
        }
    }
    return u;
}

static double NAME(run_units_dense)(const NAME(perceptron_epoch) * e, int64_t lo, int64_t hi,
                                    double u)
{
    return NAME(run_units)(e, lo, hi, u, 0);
}

static double NAME(run_units_csr)(const NAME(perceptron_epoch) * e, int64_t lo, int64_t hi,
                                  double u)
{
    return NAME(run_units)(e, lo, hi, u, 1);
}

/* The argument checks of fm_perceptron_epoch_* beyond the options. */
static int NAME(perceptron_args_valid)(int64_t n_samples, int64_t n_features, int64_t n_units,
                                       const T *x, int64_t ldx, const int64_t *indptr,
                                       const int64_t *indices, const int64_t *target,
                                       const double *weight_pos, const double *weight_neg,
                                       int64_t n_visits, const int64_t *order, const T *coef,
                                       const T *intercept, const double *objective,
                                       const int64_t *mistakes)
{
    if (n_samples < 0 || n_features < 0 || n_units < 1 || n_visits < 0)
        return 0;
    if ((uint64_t)n_units > SIZE_MAX / sizeof(fm_perceptron_unit))
        return 0;
    if (coef == NULL || intercept == NULL || weight_pos == NULL || weight_neg == NULL ||
        objective == NULL || mistakes == NULL)
        return 0;
    if (n_visits == 0)
        return 1;
    if (order == NULL || target == NULL)
        return 0;
    if (indptr == NULL) {
        if (ldx < n_features || (x == NULL && n_features > 0))
            return 0;
    } else {
        if (indptr[0] < 0)
            return 0;
        for (int64_t i = 0; i < n_samples; i++)
            if (indptr[i + 1] < indptr[i])
                return 0;
        if (indptr[n_samples] > indptr[0] && (x == NULL || indices == NULL))
            return 0;
    }
    for (int64_t t = 0; t < n_visits; t++) {
        const int64_t i = order[t];
        if (i < 0 || i >= n_samples || target[i] < -1 || target[i] >= n_units)
            return 0;
    }
    return 1;
}

fm_status NAME(fm_perceptron_epoch)(
    const fm_perceptron_options *options, int n_threads, int64_t n_samples, int64_t n_features,
    int64_t n_units, const T *x, int64_t ldx, const int64_t *indptr, const int64_t *indices,
    const int64_t *target, const T *sample_weight, const double *weight_pos,
    const double *weight_neg, int64_t n_visits, const int64_t *order, const unsigned char *active,
    T *coef, T *intercept, double *l1_q, double *l1_u, double *objective, int64_t *mistakes)
{
    NAME(perceptron_epoch) e;
    if (!fm_perceptron_plan_make(options, &e.plan))
        return FM_ERR_ARGUMENT;
    if (e.plan.l1 && (l1_q == NULL || l1_u == NULL))
        return FM_ERR_ARGUMENT;
    if (!NAME(perceptron_args_valid)(n_samples, n_features, n_units, x, ldx, indptr, indices,
                                     target, weight_pos, weight_neg, n_visits, order, coef,
                                     intercept, objective, mistakes))
        return FM_ERR_ARGUMENT;

    fm_perceptron_unit *units = fm_malloc((size_t)n_units * sizeof(fm_perceptron_unit));
    if (units == NULL)
        return FM_ERR_NOMEM;
    for (int64_t k = 0; k < n_units; k++) {
        fm_perceptron_unit *unit = &units[k];
        unit->scale = 1.0;
        unit->sq = unit->l1 = 0.0;
        unit->intercept = (double)intercept[k];
        unit->objective = 0.0;
        unit->mistakes = 0;
        if (e.plan.track_norms)
            NAME(row_norms)(coef + k * n_features, n_features, unit);
    }

    e.eta = options->eta;
    e.fit_intercept = options->fit_intercept;
    e.n_features = n_features;
    e.x = x;
    e.ldx = ldx;
    e.indptr = indptr;
    e.indices = indices;
    e.target = target;
    e.sample_weight = sample_weight;
    e.weight_pos = weight_pos;
    e.weight_neg = weight_neg;
    e.n_visits = n_visits;
    e.order = order;
    e.active = active;
    e.coef = coef;
    e.l1_q = l1_q;
    e.units = units;

    const double u_start = e.plan.l1 ? *l1_u : 0.0;
    double u_end = u_start;
    const int threads = fm_perceptron_threads(n_threads, n_units);
    if (threads <= 1) {
        u_end = indptr != NULL ? NAME(run_units_csr)(&e, 0, n_units, u_start)
                               : NAME(run_units_dense)(&e, 0, n_units, u_start);
    } else {
        /* One contiguous block of units per thread, for the whole epoch: no
         * synchronisation inside it, and a unit's arithmetic is the same in
         * any block. Block 0 is never empty (n_units >= threads). */
        const int64_t chunk = (n_units + threads - 1) / threads;
#ifdef FASTMLP_OPENMP
#pragma omp parallel for num_threads(threads) schedule(static, 1)
#endif
        for (int b = 0; b < threads; b++) {
            const int64_t lo = b * chunk;
            const int64_t hi = lo + chunk < n_units ? lo + chunk : n_units;
            if (lo >= hi)
                continue;
            const double u = indptr != NULL ? NAME(run_units_csr)(&e, lo, hi, u_start)
                                            : NAME(run_units_dense)(&e, lo, hi, u_start);
            if (b == 0)
                u_end = u;
        }
    }

    for (int64_t k = 0; k < n_units; k++) {
        fm_perceptron_unit *unit = &units[k];
        if (unit->scale != 1.0)
            NAME(fold_scale)(coef + k * n_features, n_features, unit, 0);
        intercept[k] = (T)unit->intercept;
        objective[k] = unit->objective;
        mistakes[k] = unit->mistakes;
    }
    if (e.plan.l1)
        *l1_u = u_end;
    fm_free(units);
    return FM_OK;
}
