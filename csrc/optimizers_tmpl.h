/*
 * The optimizer rules for one dtype in plain arithmetic (every operation in
 * T, constants rounded to T once per step), and the one step routine with
 * the one switch over the kinds. Included by optimizers.c with T, SUF and
 * SQRT defined, and FM_ADAM_SKLEARN naming scikit-learn's exact Adam body
 * where it differs from the plain one (float32 only).
 *
 * Every body: param, grad (raw), states (n,) contiguous, not overlapping.
 * Per value i: g = finished gradient (finish_), then the decoupled decay
 * p = param * keep (when `decay`), then the rule of fastmlp.h. The flags
 * are compile-time constants in every call (FM_WITH_FLAGS), so each
 * combination is its own loop, vectorised.
 */
#define FN(name) FM_CAT(name, SUF)

static inline __attribute__((always_inline)) T FN(finish_)(const int l2, T g, T p, T alpha,
                                                           T divisor)
{
    if (l2)
        g = g + alpha * p;
    return g / divisor;
}

static inline __attribute__((always_inline)) void
FN(sgd_)(const int l2, const int decay, const int nesterov, const fm_step_rule *r, int64_t n,
         T *restrict param, const T *restrict grad, T *restrict velocity, T alpha, T divisor)
{
    const T lr = (T)r->lr, mu = (T)r->momentum, keep = (T)r->keep;
    for (int64_t i = 0; i < n; i++) {
        const T g = FN(finish_)(l2, grad[i], param[i], alpha, divisor);
        const T p = decay ? param[i] * keep : param[i];
        const T v = mu * velocity[i] - lr * g;
        velocity[i] = v;
        param[i] = p + (nesterov ? mu * v - lr * g : v);
    }
}

/* scikit-learn's Adam formula in T: the float64 body is scikit-learn's
 * exactly; the float32 one is the plain (vectorised, all-float) variant. */
static inline __attribute__((always_inline)) void
FN(adam_)(const int l2, const int decay, const fm_step_rule *r, int64_t n, T *restrict param,
          const T *restrict grad, T *restrict m, T *restrict v, T alpha, T divisor)
{
    const T b1 = (T)r->beta_1, c1 = (T)(1.0 - r->beta_1);
    const T b2 = (T)r->beta_2, c2 = (T)(1.0 - r->beta_2);
    const T eps = (T)r->epsilon, neg_lr_t = (T)r->neg_lr_t, keep = (T)r->keep;
    for (int64_t i = 0; i < n; i++) {
        const T g = FN(finish_)(l2, grad[i], param[i], alpha, divisor);
        const T p = decay ? param[i] * keep : param[i];
        const T mi = b1 * m[i] + c1 * g;
        const T vi = b2 * v[i] + c2 * (g * g);
        m[i] = mi;
        v[i] = vi;
        param[i] = p + (neg_lr_t * mi) / (SQRT(vi) + eps);
    }
}

/* RMSprop (AdaGrad when `adagrad`: the squares summed, not averaged). */
static inline __attribute__((always_inline)) void
FN(rmsprop_)(const int l2, const int decay, const int adagrad, const fm_step_rule *r,
             int64_t n, T *restrict param, const T *restrict grad, T *restrict s, T alpha,
             T divisor)
{
    const T rho = (T)r->rho, c = (T)(1.0 - r->rho);
    const T eps = (T)r->epsilon, neg_lr = (T)r->neg_lr_t, keep = (T)r->keep;
    for (int64_t i = 0; i < n; i++) {
        const T g = FN(finish_)(l2, grad[i], param[i], alpha, divisor);
        const T p = decay ? param[i] * keep : param[i];
        const T si = adagrad ? s[i] + g * g : rho * s[i] + c * (g * g);
        s[i] = si;
        param[i] = p + neg_lr * (g / (SQRT(si) + eps));
    }
}

/* AdamW (torch's placement of epsilon and of the bias corrections) and
 * NAdam (when `nadam`): the moments as Adam's. */
static inline __attribute__((always_inline)) void
FN(adamw_)(const int l2, const int decay, const int nadam, const fm_step_rule *r, int64_t n,
           T *restrict param, const T *restrict grad, T *restrict m, T *restrict v, T alpha,
           T divisor)
{
    const T b1 = (T)r->beta_1, c1 = (T)(1.0 - r->beta_1);
    const T b2 = (T)r->beta_2, c2 = (T)(1.0 - r->beta_2);
    const T eps = (T)r->epsilon, keep = (T)r->keep, bc2 = (T)r->bc2;
    const T step = (T)r->neg_lr_t, coef_g = (T)r->coef_g, coef_m = (T)r->coef_m;
    for (int64_t i = 0; i < n; i++) {
        const T g = FN(finish_)(l2, grad[i], param[i], alpha, divisor);
        T p = decay ? param[i] * keep : param[i];
        const T mi = b1 * m[i] + c1 * g;
        const T vi = b2 * v[i] + c2 * (g * g);
        m[i] = mi;
        v[i] = vi;
        if (nadam) {
            const T d = SQRT(vi / bc2) + eps;
            p = p + coef_g * (g / d);
            param[i] = p + coef_m * (mi / d);
        } else {
            param[i] = p + step * (mi / (SQRT(vi) / bc2 + eps));
        }
    }
}

FM_CLONES void FN(fm_fused_step_)(const fm_step_rule *r, int64_t n, T *param, const T *grad_raw,
                                  T *const *state, int l2, T alpha, T divisor)
{
    const int decay = r->decay;
    T *s0 = state[0], *s1 = state[1];
    switch (r->kind) {
    case FM_OPT_SGD:
        if (r->nesterov)
            FM_WITH_FLAGS(FN(sgd_), l2, decay, 1, r, n, param, grad_raw, s0, alpha, divisor);
        else
            FM_WITH_FLAGS(FN(sgd_), l2, decay, 0, r, n, param, grad_raw, s0, alpha, divisor);
        return;
    case FM_OPT_ADAM:
#ifdef FM_ADAM_SKLEARN
        if (r->exact) {
            FM_WITH_FLAGS(FM_ADAM_SKLEARN, l2, decay, r, n, param, grad_raw, s0, s1, alpha,
                          divisor);
            return;
        }
#endif
        FM_WITH_FLAGS(FN(adam_), l2, decay, r, n, param, grad_raw, s0, s1, alpha, divisor);
        return;
    case FM_OPT_RMSPROP:
        FM_WITH_FLAGS(FN(rmsprop_), l2, decay, 0, r, n, param, grad_raw, s0, alpha, divisor);
        return;
    case FM_OPT_ADAGRAD:
        FM_WITH_FLAGS(FN(rmsprop_), l2, decay, 1, r, n, param, grad_raw, s0, alpha, divisor);
        return;
    case FM_OPT_ADAMW:
        FM_WITH_FLAGS(FN(adamw_), l2, decay, 0, r, n, param, grad_raw, s0, s1, alpha, divisor);
        return;
    case FM_OPT_NADAM:
        FM_WITH_FLAGS(FN(adamw_), l2, decay, 1, r, n, param, grad_raw, s0, s1, alpha, divisor);
        return;
    }
}

fm_status FN(fm_optimizer_step_)(fm_optimizer *opt, int64_t n, T *param, const T *grad)
{
    const int n_states = fm_optimizer_n_states(opt->kind);
    if (n_states == 0 || n < 0)
        return FM_ERR_ARGUMENT;
    T *state[FM_OPT_MAX_STATES] = {NULL};
    for (int k = 0; k < n_states; k++) {
        if (opt->state[k] == NULL)
            return FM_ERR_ARGUMENT;
        state[k] = (T *)opt->state[k];
    }
    fm_optimizer_advance(opt);
    const fm_step_rule rule = fm_step_rule_make(opt);
    FN(fm_fused_step_)(&rule, n, param, grad, state, 0, (T)0, (T)1);
    return FM_OK;
}

#undef FN
