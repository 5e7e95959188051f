/*
 * Rosenblatt's perceptron: fm_perceptron_epoch_* (see fastmlp.h for the
 * contract). One call runs one epoch, so the training loop over samples
 * stays in C and the caller (the Python estimator) runs once per epoch to
 * shuffle, test the stopping rule and report.
 *
 * The penalties follow scikit-learn's SGD (sklearn/linear_model/_sgd_fast.pyx.tp,
 * _plain_sgd, and utils/_weight_vector.pyx.tp), step for step:
 *   - L2 (and the L2 part of elasticnet) is weight decay before each update,
 *     w *= max(0, 1 - (1 - r) eta alpha), done in O(1) by keeping every
 *     unit's weights as scale * v with v the stored row (Bottou's trick):
 *     the decay multiplies `scale`, an update adds x * (update / scale) to v,
 *     and v is rescaled ("folded") when scale falls below 1e-9 and at the
 *     end of the epoch, so coef holds the plain weights between calls;
 *   - L1 (and the L1 part of elasticnet) is the cumulative truncated
 *     gradient of Tsuruoka, Tsujii and Ananiadou (2009): u is the total L1
 *     penalty each weight could have received so far (r eta alpha per
 *     visit), q[j] the total it did receive, and after each visit the
 *     weights of the sample's features are pulled towards 0 by the
 *     difference, without crossing it. For sparse samples only the features
 *     present are touched, which is what makes the method lazy and cheap.
 * The intercept is not penalized.
 *
 * Where this differs from scikit-learn, deliberately:
 *   - the rule is Rosenblatt's, targets in {0, 1} and heaviside(0) = 1: a
 *     unit updates when heaviside(p) != y, where scikit-learn (targets +-1)
 *     updates when y p <= 0, so also on a positive sample with p == 0,
 *     which heaviside classifies correctly;
 *   - the penalty term of the epoch objective uses the exact norms of the
 *     current weights, kept up to date through every change of v (scikit-
 *     learn's WeightVector refreshes them only on the features an update
 *     touches, and not after the L1 truncation);
 *   - sparse and dense samples train the intercept identically (scikit-learn
 *     damps the intercept's updates by 0.01 for sparse input), so the same
 *     data gives the same model in either format.
 */
#include <math.h>
#include <stddef.h>

#include "internal.h"

/* Below this the scale of a unit's weights is folded into the stored row
 * (scikit-learn's threshold for double): far above underflow, and a fold is
 * a pass over the row, which a decay near 1 needs only every ~1e5 visits. */
#define FM_MIN_SCALE 1e-9

/*
 * Per-unit state during an epoch, one cache line per unit so that threads
 * working on neighbouring units never write to the same line. The intercept
 * is carried in double for the whole epoch (as scikit-learn does for a whole
 * fit) and rounded to the coefficients' dtype when the epoch ends.
 */
typedef struct {
    _Alignas(64) double scale; /* the unit's weights are scale * coef[k] */
    double sq, l1;             /* sum coef[k][j]^2, sum |coef[k][j]| (penalty only) */
    double intercept;
    double objective;
    int64_t mistakes;
} fm_perceptron_unit;

/* Constants of one epoch derived from the options. */
typedef struct {
    int track_norms; /* a penalty: its value enters the objective */
    int l1;          /* L1 truncation after each visit */
    double decay;    /* L2 weight decay per visit (1: none) */
    double du;       /* growth of the L1 accumulator u per visit */
    double pen_sq;   /* objective term: pen_sq * ||w||^2 + pen_l1 * ||w||_1 */
    double pen_l1;
} fm_perceptron_plan;

static int fm_perceptron_plan_make(const fm_perceptron_options *o, fm_perceptron_plan *plan)
{
    if (o == NULL || !isfinite(o->eta) || !(o->eta > 0.0) || !isfinite(o->alpha) ||
        !(o->alpha >= 0.0) || !(o->l1_ratio >= 0.0 && o->l1_ratio <= 1.0))
        return 0;
    double r; /* share of L1 in the penalty */
    switch (o->penalty) {
    case FM_PENALTY_NONE:
        r = 0.0;
        break;
    case FM_PENALTY_L2:
        r = 0.0;
        break;
    case FM_PENALTY_L1:
        r = 1.0;
        break;
    case FM_PENALTY_ELASTICNET:
        r = o->l1_ratio;
        break;
    default:
        return 0;
    }
    const int any = o->penalty != FM_PENALTY_NONE;
    plan->track_norms = any;
    plan->l1 = o->penalty == FM_PENALTY_L1 || o->penalty == FM_PENALTY_ELASTICNET;
    /* Only L2 and elasticnet decay (scikit-learn: penalty_type >= L2); for
     * L1, r = 1 would make the factor 1 anyway. max(0, .): with eta alpha
     * >= 1 the decay sets the weights to 0 rather than flipping their sign. */
    const double factor = 1.0 - (1.0 - r) * o->eta * o->alpha;
    plan->decay = (o->penalty == FM_PENALTY_L2 || o->penalty == FM_PENALTY_ELASTICNET)
                      ? (factor > 0.0 ? factor : 0.0)
                      : 1.0;
    plan->du = plan->l1 ? r * o->eta * o->alpha : 0.0;
    /* scikit-learn's objective: alpha ((1 - r) ||w||^2 / 2 + r ||w||_1). */
    plan->pen_sq = any ? o->alpha * (1.0 - r) * 0.5 : 0.0;
    plan->pen_l1 = any ? o->alpha * r : 0.0;
    return 1;
}

/* Threads for n_units units: at most one per unit, one inside a parallel region. */
static int fm_perceptron_threads(int requested, int64_t n_units)
{
    return fm_team_size(requested, (double)n_units);
}

#define T float
#define NAME(fn) fn##_f32
#include "perceptron_tmpl.h"
#undef T
#undef NAME

#define T double
#define NAME(fn) fn##_f64
#include "perceptron_tmpl.h"
#undef T
#undef NAME
