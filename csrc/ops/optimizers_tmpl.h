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
 * combination is its own loop, vectorised. `keras` (FM_STEP_KERAS) selects
 * Keras's form of the moments and of RMSprop's and AdaGrad's epsilon.
 */
#define FN(name) FM_CAT(name, SUF)

/* A moment estimate: b * s + c * x (torch, scikit-learn), or
 * s + (x - s) * c (Keras), c = 1 - b. */
static FM_ALWAYS_INLINE T FN(moment_)(const int keras, T s, T x, T b, T c)
{
    return keras ? s + (x - s) * c : b * s + c * x;
}

/* fm_grad_finish's constants rounded to T once (as NumPy rounds a Python
 * float meeting an array of T). */
typedef struct {
    T l2, l1, divisor, scale, clip, inv; /* inv: 1 / divisor (FM_FINISH_RECIP only) */
} FN(finish_consts_);

static FM_ALWAYS_INLINE FN(finish_consts_) FN(finish_consts_of_)(const fm_grad_finish *f)
{
    const T l2 = (T)f->l2, l1 = (T)f->l1, divisor = (T)f->divisor, inv = (T)(1.0 / f->divisor);
    FN(finish_consts_) c = {l2, l1, divisor, (T)f->scale, (T)f->clip, inv};
    return c;
}

/*
 * Whether g / d == g * (1 / d) in T for every g: d a power of two, a normal
 * T whose reciprocal is a normal T too (then also finite). Both are then
 * the exact quotient g * 2^-k correctly rounded once (rounded only where it
 * is subnormal, the same rounding; flushed alike under FTZ/DAZ, d and 1/d
 * being normal), so the bodies may multiply: a multiplier's cost instead of
 * a divider's, one of the two divisions of Adam's step at Keras's batch of
 * 32.
 */
static int FN(exact_reciprocal_)(double d)
{
    int e;
    if (!(d >= (double)T_MIN_NORMAL) || frexp(d, &e) != 0.5 || (double)(T)d != d)
        return 0;
    return (T)(1.0 / d) >= T_MIN_NORMAL;
}

int FN(fm_exact_reciprocal_)(double d) { return FN(exact_reciprocal_)(d); }

/* The finished gradient of one value (internal.h, fm_grad_finish), `pen` a
 * compile-time fm_finish_penalty. The penalty and / sum(w) as scikit-learn
 * orders them; sign(0) = 0. */
static FM_ALWAYS_INLINE T FN(penalised_)(const int pen, T g, T p, const FN(finish_consts_) * c)
{
    const T sign = (T)((p > (T)0) - (p < (T)0));
    const int kind = pen & ~FM_FINISH_RECIP;
    if (kind == FM_FINISH_L2)
        g = g + c->l2 * p;
    else if (kind == FM_FINISH_L1)
        g = g + c->l1 * sign;
    else if (kind == FM_FINISH_ELASTICNET)
        g = (g + c->l2 * p) + c->l1 * sign;
    return (pen & FM_FINISH_RECIP) ? g * c->inv : g / c->divisor;
}

static FM_ALWAYS_INLINE T FN(finish_)(const int pen, T g, T p, const FN(finish_consts_) * c)
{
    g = FN(penalised_)(pen, g, p, c) * c->scale;
    return g < -c->clip ? -c->clip : (g > c->clip ? c->clip : g);
}

/* SGD: `form` 0 momentum, 1 Nesterov momentum (velocity v = mu * v - lr * g
 * first, scikit-learn's and torch's), 2 Keras's rule without momentum,
 * param - g * lr (Keras keeps no velocity then: none is read or written). */
static FM_ALWAYS_INLINE void FN(sgd_)(const int pen, const int decay, const int form,
                                      const fm_step_rule *r, int64_t n, T *restrict param,
                                      const T *restrict grad, T *restrict velocity,
                                      const fm_grad_finish *f)
{
    const T lr = (T)r->lr, mu = (T)r->momentum, keep = (T)r->keep;
    const FN(finish_consts_) fc = FN(finish_consts_of_)(f);
    for (int64_t i = 0; i < n; i++) {
        const T g = FN(finish_)(pen, grad[i], param[i], &fc);
        const T p = decay ? param[i] * keep : param[i];
        if (form == 2) {
            param[i] = p - g * lr;
            continue;
        }
        const T v = mu * velocity[i] - lr * g;
        velocity[i] = v;
        param[i] = p + (form == 1 ? mu * v - lr * g : v);
    }
}

/* sgd_'s rule and finish_'s operations as a product's output stage applies
 * them (internal.h, fm_gemm_step; the forms are sgd_'s), its constants
 * rounded as sgd_ and finish_consts_of_ round them. */
FM_CAT(fm_gemm_step_, SUF)
FN(fm_gemm_step_of_)(const fm_step_rule *r, const fm_grad_finish *f, T *velocity)
{
    const FN(finish_consts_) fc = FN(finish_consts_of_)(f);
    FM_CAT(fm_gemm_step_, SUF) st;
    st.on = 1;
    st.form = r->keras && r->momentum == 0.0 ? 2 : (r->nesterov ? 1 : 0);
    st.penalty = (int)f->penalty;
    st.recip = FN(exact_reciprocal_)(f->divisor);
    st.clip_on = !(f->clip == INFINITY);
    st.decay = r->decay;
    st.l2 = fc.l2;
    st.l1 = fc.l1;
    st.divisor = fc.divisor;
    st.inv = fc.inv;
    st.clip = fc.clip;
    st.keep = (T)r->keep;
    st.neg_lr = -(T)r->lr;
    st.mu = (T)r->momentum;
    st.velocity = st.form != 2 ? velocity : NULL;
    return st;
}

/* scikit-learn's Adam formula in T: the float64 body is scikit-learn's
 * exactly; the float32 one is the plain (vectorised, all-float) variant. */
static FM_ALWAYS_INLINE void FN(adam_)(const int pen, const int decay, const int keras,
                                       const fm_step_rule *r, int64_t n, T *restrict param,
                                       const T *restrict grad, T *restrict m, T *restrict v,
                                       const fm_grad_finish *f)
{
    const T b1 = (T)r->beta_1, c1 = (T)(1.0 - r->beta_1);
    const T b2 = (T)r->beta_2, c2 = (T)(1.0 - r->beta_2);
    const T eps = (T)r->epsilon, neg_lr_t = (T)r->neg_lr_t, keep = (T)r->keep;
    const FN(finish_consts_) fc = FN(finish_consts_of_)(f);
    for (int64_t i = 0; i < n; i++) {
        const T g = FN(finish_)(pen, grad[i], param[i], &fc);
        const T p = decay ? param[i] * keep : param[i];
        const T mi = FN(moment_)(keras, m[i], g, b1, c1);
        const T vi = FN(moment_)(keras, v[i], g * g, b2, c2);
        m[i] = mi;
        v[i] = vi;
        param[i] = p + (neg_lr_t * mi) / (SQRT(vi) + eps);
    }
}

/* RMSprop (AdaGrad when `adagrad`: the squares summed, not averaged);
 * Keras adds epsilon under the square root, torch after it. */
static FM_ALWAYS_INLINE void FN(rmsprop_)(const int pen, const int decay, const int adagrad,
                                          const int keras, const fm_step_rule *r, int64_t n,
                                          T *restrict param, const T *restrict grad, T *restrict s,
                                          const fm_grad_finish *f)
{
    const T rho = (T)r->rho, c = (T)(1.0 - r->rho);
    const T eps = (T)r->epsilon, neg_lr = (T)r->neg_lr_t, keep = (T)r->keep;
    const FN(finish_consts_) fc = FN(finish_consts_of_)(f);
    for (int64_t i = 0; i < n; i++) {
        const T g = FN(finish_)(pen, grad[i], param[i], &fc);
        const T p = decay ? param[i] * keep : param[i];
        const T si = adagrad ? s[i] + g * g : rho * s[i] + c * (g * g);
        s[i] = si;
        if (keras)
            param[i] = p + (neg_lr * g) / SQRT(si + eps);
        else
            param[i] = p + neg_lr * (g / (SQRT(si) + eps));
    }
}

/* AdamW (torch's placement of epsilon and of the bias corrections) and
 * NAdam (when `nadam`; Keras's Nadam when `keras` too: its moments, one
 * division): the moments as Adam's. */
static FM_ALWAYS_INLINE void FN(adamw_)(const int pen, const int decay, const int nadam,
                                        const int keras, const fm_step_rule *r, int64_t n,
                                        T *restrict param, const T *restrict grad, T *restrict m,
                                        T *restrict v, const fm_grad_finish *f)
{
    const T b1 = (T)r->beta_1, c1 = (T)(1.0 - r->beta_1);
    const T b2 = (T)r->beta_2, c2 = (T)(1.0 - r->beta_2);
    const T eps = (T)r->epsilon, keep = (T)r->keep, bc2 = (T)r->bc2;
    const T step = (T)r->neg_lr_t, coef_g = (T)r->coef_g, coef_m = (T)r->coef_m;
    const FN(finish_consts_) fc = FN(finish_consts_of_)(f);
    for (int64_t i = 0; i < n; i++) {
        const T g = FN(finish_)(pen, grad[i], param[i], &fc);
        T p = decay ? param[i] * keep : param[i];
        const T mi = FN(moment_)(keras, m[i], g, b1, c1);
        const T vi = FN(moment_)(keras, v[i], g * g, b2, c2);
        m[i] = mi;
        v[i] = vi;
        if (nadam && keras) {
            param[i] = p + (coef_m * mi + coef_g * g) / (SQRT(vi / bc2) + eps);
        } else if (nadam) {
            const T d = SQRT(vi / bc2) + eps;
            p = p + coef_g * (g / d);
            param[i] = p + coef_m * (mi / d);
        } else {
            param[i] = p + step * (mi / (SQRT(vi) / bc2 + eps));
        }
    }
}

#ifdef FM_ADAM_SKLEARN
/*
 * scikit-learn's Adam on float32 arrays, bit for bit (optimizers.c's rules):
 * m and v in float, (-lr_t * m) and the division in double (lr_t is a NumPy
 * float64 scalar), the denominator in float, the sum rounded to float.
 */
static FM_ALWAYS_INLINE void adam_sklearn_f32(const int pen, const int decay, const fm_step_rule *r,
                                              int64_t n, float *restrict param,
                                              const float *restrict grad, float *restrict m,
                                              float *restrict v, const fm_grad_finish *f)
{
    const float b1 = (float)r->beta_1, c1 = (float)(1.0 - r->beta_1);
    const float b2 = (float)r->beta_2, c2 = (float)(1.0 - r->beta_2);
    const float eps = (float)r->epsilon, keep = (float)r->keep;
    const double neg_lr_t = r->neg_lr_t;
    const FN(finish_consts_) fc = FN(finish_consts_of_)(f);
    for (int64_t i = 0; i < n; i++) {
        const float g = FN(finish_)(pen, grad[i], param[i], &fc);
        const float p = decay ? param[i] * keep : param[i];
        const float mi = b1 * m[i] + c1 * g;
        const float vi = b2 * v[i] + c2 * (g * g);
        m[i] = mi;
        v[i] = vi;
        const double update = (neg_lr_t * (double)mi) / (double)(sqrtf(vi) + eps);
        param[i] = (float)((double)p + update);
    }
}
#endif

static FM_CLONES FM_NOINLINE void FN(step_body_)(const fm_step_rule *r, int64_t n, T *param,
                                                 const T *grad_raw, T *const *state,
                                                 const fm_grad_finish *f)
{
    const int decay = r->decay, keras = r->keras;
    const int pen = (int)f->penalty | (FN(exact_reciprocal_)(f->divisor) ? FM_FINISH_RECIP : 0);
    T *s0 = state[0], *s1 = state[1];
    switch (r->kind) {
    case FM_OPT_SGD:
        if (keras && r->momentum == 0.0)
            FM_WITH_FLAGS(FN(sgd_), pen, decay, 2, r, n, param, grad_raw, s0, f);
        else if (r->nesterov)
            FM_WITH_FLAGS(FN(sgd_), pen, decay, 1, r, n, param, grad_raw, s0, f);
        else
            FM_WITH_FLAGS(FN(sgd_), pen, decay, 0, r, n, param, grad_raw, s0, f);
        return;
    case FM_OPT_ADAM:
#ifdef FM_ADAM_SKLEARN
        if (r->exact) {
            FM_WITH_FLAGS(adam_sklearn_f32, pen, decay, r, n, param, grad_raw, s0, s1, f);
            return;
        }
#endif
        if (keras)
            FM_WITH_FLAGS(FN(adam_), pen, decay, 1, r, n, param, grad_raw, s0, s1, f);
        else
            FM_WITH_FLAGS(FN(adam_), pen, decay, 0, r, n, param, grad_raw, s0, s1, f);
        return;
    case FM_OPT_RMSPROP:
        if (keras)
            FM_WITH_FLAGS(FN(rmsprop_), pen, decay, 0, 1, r, n, param, grad_raw, s0, f);
        else
            FM_WITH_FLAGS(FN(rmsprop_), pen, decay, 0, 0, r, n, param, grad_raw, s0, f);
        return;
    case FM_OPT_ADAGRAD:
        if (keras)
            FM_WITH_FLAGS(FN(rmsprop_), pen, decay, 1, 1, r, n, param, grad_raw, s0, f);
        else
            FM_WITH_FLAGS(FN(rmsprop_), pen, decay, 1, 0, r, n, param, grad_raw, s0, f);
        return;
    case FM_OPT_ADAMW:
        /* Keras's AdamW is its Adam after the decoupled decay. */
        if (keras)
            FM_WITH_FLAGS(FN(adam_), pen, decay, 1, r, n, param, grad_raw, s0, s1, f);
        else
            FM_WITH_FLAGS(FN(adamw_), pen, decay, 0, 0, r, n, param, grad_raw, s0, s1, f);
        return;
    case FM_OPT_NADAM:
        if (keras)
            FM_WITH_FLAGS(FN(adamw_), pen, decay, 1, 1, r, n, param, grad_raw, s0, s1, f);
        else
            FM_WITH_FLAGS(FN(adamw_), pen, decay, 1, 0, r, n, param, grad_raw, s0, s1, f);
        return;
    }
}

void FN(fm_fused_step_)(const fm_step_rule *r, int64_t n, T *param, const T *grad_raw,
                        T *const *state, const fm_grad_finish *f)
{
    if (!r->flush) {
        FN(step_body_)(r, n, param, grad_raw, state, f);
        return;
    }
    const uint64_t saved = fm_flush_begin();
    FN(step_body_)(r, n, param, grad_raw, state, f);
    fm_flush_end(saved);
}

static FM_ALWAYS_INLINE void FN(grad_finish_)(const int pen, int64_t n, T *restrict grad,
                                              const T *restrict param, const fm_grad_finish *f)
{
    const FN(finish_consts_) fc = FN(finish_consts_of_)(f);
    for (int64_t i = 0; i < n; i++)
        grad[i] = FN(finish_)(pen, grad[i], param[i], &fc);
}

FM_CLONES void FN(fm_grad_finish_)(int64_t n, T *grad, const T *param, const fm_grad_finish *f)
{
    switch (f->penalty) {
    case FM_FINISH_L2:
        FN(grad_finish_)(FM_FINISH_L2, n, grad, param, f);
        return;
    case FM_FINISH_L1:
        FN(grad_finish_)(FM_FINISH_L1, n, grad, param, f);
        return;
    case FM_FINISH_ELASTICNET:
        FN(grad_finish_)(FM_FINISH_ELASTICNET, n, grad, param, f);
        return;
    default:
        FN(grad_finish_)(FM_FINISH_NONE, n, grad, param, f);
        return;
    }
}

/* sum(g^2) of the finished, unclipped gradient, in double: eight
 * interleaved partial sums, combined pairwise. */
static FM_ALWAYS_INLINE double FN(grad_squares_)(const int pen, int64_t n, const T *restrict grad,
                                                 const T *restrict param, const fm_grad_finish *f)
{
    const FN(finish_consts_) c = FN(finish_consts_of_)(f);
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            const double g = (double)FN(penalised_)(pen, grad[i + j], param[i + j], &c);
            s[j] += g * g;
        }
    for (int j = 0; i < n; i++, j++) {
        const double g = (double)FN(penalised_)(pen, grad[i], param[i], &c);
        s[j] += g * g;
    }
    return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

FM_CLONES double FN(fm_grad_squares_)(int64_t n, const T *grad, const T *param,
                                      const fm_grad_finish *f)
{
    switch (f->penalty) {
    case FM_FINISH_L2:
        return FN(grad_squares_)(FM_FINISH_L2, n, grad, param, f);
    case FM_FINISH_L1:
        return FN(grad_squares_)(FM_FINISH_L1, n, grad, param, f);
    case FM_FINISH_ELASTICNET:
        return FN(grad_squares_)(FM_FINISH_ELASTICNET, n, grad, param, f);
    default:
        return FN(grad_squares_)(FM_FINISH_NONE, n, grad, param, f);
    }
}

fm_status FN(fm_optimizer_step_)(fm_optimizer *opt, int64_t n, T *param, const T *grad)
{
    const int n_states = fm_optimizer_n_states(opt->kind);
    if (!fm_optimizer_valid(opt, 1) || n < 0)
        return FM_ERR_ARGUMENT;
    T *state[FM_OPT_MAX_STATES] = {NULL};
    for (int k = 0; k < n_states; k++) {
        if (opt->state[k] == NULL)
            return FM_ERR_ARGUMENT;
        state[k] = (T *)opt->state[k];
    }
    fm_optimizer_advance(opt);
    const fm_step_rule rule = fm_step_rule_make(opt);
    fm_grad_finish f = fm_grad_finish_plain();
    if (opt->clipnorm > 0.0) {
        /* Keras's clip_by_norm: g * clipnorm / max(norm, clipnorm). */
        const double norm = sqrt(FN(fm_grad_squares_)(n, grad, param, &f));
        f.scale = opt->clipnorm / (norm > opt->clipnorm ? norm : opt->clipnorm);
    }
    if (opt->clipvalue > 0.0)
        f.clip = opt->clipvalue;
    FN(fm_fused_step_)(&rule, n, param, grad, state, &f);
    return FM_OK;
}

#undef FN
