/*
 * The per-dtype checks of test_kernels.c, included once per dtype with
 *   T (float or double), SUF (f32 or f64), U (T's unit roundoff, 2^-24 or 2^-53).
 * Every array is row-major; shapes are stated per check.
 */
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define NAME(x) CAT(x, SUF)

static T *NAME(random_array_)(int64_t count)
{
    T *x = malloc((size_t)(count > 0 ? count : 1) * sizeof(T));
    for (int64_t i = 0; i < count; i++)
        x[i] = (T)uniform();
    return x;
}

/*
 * op(A) @ op(B) in double (naive triple loop) and, per element, the error
 * bound of any order of evaluation in T: the product C = alpha op(A) op(B)
 * + beta C is k multiply-adds plus, per KC block of 256, a scaling by alpha
 * and an addition of the running C, and the final beta * C term; each
 * rounds once (FMA: once per multiply-add), so |computed - exact| <=
 * gamma_r * (|alpha| sum_p |a_ip b_pj| + |beta c_ij|) with r = k + 2 *
 * ceil(k / 256) + 2 roundings and gamma_r = r u / (1 - r u) (Higham,
 * Accuracy and Stability of Numerical Algorithms, 3.1). For double the
 * reference itself is computed in double, so its own error (the same bound)
 * is added: the bound doubles.
 */
static void NAME(reference_)(int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha,
                             const T *a, int64_t lda, const T *b, int64_t ldb, double beta,
                             const T *c0, int64_t ldc, double *ref, double *bound)
{
    const double r = (double)(k + 2 * ((k + 255) / 256) + 2);
    const double gamma = r * U / (1.0 - r * U) * (sizeof(T) == 8 ? 2.0 : 1.0);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0, s_abs = 0.0;
            for (int64_t p = 0; p < k; p++) {
                const double av = ta ? a[p * lda + i] : a[i * lda + p];
                const double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                s += av * bv;
                s_abs += fabs(av * bv);
            }
            const double cv = beta != 0.0 ? (double)c0[i * ldc + j] : 0.0;
            ref[i * n + j] = alpha * s + beta * cv;
            bound[i * n + j] = gamma * (fabs(alpha) * s_abs + fabs(beta * cv)) + 1e-300;
        }
}

/*
 * fm_gemm (native kernels of the chosen set) for many shapes, both
 * transposes of each operand, padded leading dimensions and three
 * (alpha, beta): within the bound above, and bit-identical on 1 and 2
 * threads (the thread split never changes a result). `generic` (the
 * generic set's results of the same calls, or NULL when this set is the
 * generic one) is compared too: within twice the bound (each within it).
 */
static double NAME(worst_gemm_)[1]; /* the largest |error| / bound seen */

static void NAME(check_gemm_)(const char *isa)
{
    static const int64_t shapes[][3] = {
        /* m, n, k: each driver path (gemm_kernel.h): one row (gemv), one column
         * (dot), narrow C (column tiles), few rows with B in place, ragged
         * tiles, several KC blocks, packed A (n >= 512), a product big enough
         * for two threads. */
        {1, 70, 300},  {1, 1, 50},    {9, 1, 300},   {13, 10, 257},  {7, 3, 33},  {20, 2, 40},
        {20, 4, 10},   {65, 17, 33},  {5, 7, 3},     {2, 2, 2},      {33, 12, 5}, {16, 100, 64},
        {96, 40, 520}, {40, 520, 24}, {37, 25, 600}, {128, 96, 384},
    };
    static const double scalars[][2] = {{1.0, 0.0}, {0.5, 1.0}, {-1.5, -0.75}};
    const int n_shapes = (int)(sizeof(shapes) / sizeof(shapes[0]));
    for (int s = 0; s < n_shapes; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int sc = 0; sc < 3; sc++) {
                    const int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                    /* Leading dimensions past the width: no path may assume
                     * contiguous rows. */
                    const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2;
                    T *a = NAME(random_array_)((ta ? k : m) * lda);
                    T *b = NAME(random_array_)((tb ? n : k) * ldb);
                    T *c0 = NAME(random_array_)(m * ldc);
                    T *c1 = malloc((size_t)(m * ldc) * sizeof(T));
                    T *c2 = malloc((size_t)(m * ldc) * sizeof(T));
                    double *ref = malloc((size_t)(m * n) * sizeof(double));
                    double *bound = malloc((size_t)(m * n) * sizeof(double));
                    const double alpha = scalars[sc][0], beta = scalars[sc][1];
                    NAME(reference_)
                    (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc, ref, bound);
                    memcpy(c1, c0, (size_t)(m * ldc) * sizeof(T));
                    memcpy(c2, c0, (size_t)(m * ldc) * sizeof(T));
                    const fm_status st1 =
                        CAT(fm_gemm_, SUF)(FM_GEMM_NATIVE, 1, ta, tb, m, n, k, (T)alpha, a, lda, b,
                                           ldb, (T)beta, c1, ldc);
                    const fm_status st2 =
                        CAT(fm_gemm_, SUF)(FM_GEMM_NATIVE, 2, ta, tb, m, n, k, (T)alpha, a, lda, b,
                                           ldb, (T)beta, c2, ldc);
                    double worst = 0.0;
                    int same = 1, padding = 1;
                    for (int64_t i = 0; i < m; i++) {
                        for (int64_t j = 0; j < n; j++) {
                            const double e =
                                fabs((double)c1[i * ldc + j] - ref[i * n + j]) / bound[i * n + j];
                            worst = e > worst || e != e ? e : worst;
                            same &= memcmp(&c1[i * ldc + j], &c2[i * ldc + j], sizeof(T)) == 0;
                        }
                        for (int64_t j = n; j < ldc; j++) /* never written */
                            padding &= c1[i * ldc + j] == c0[i * ldc + j];
                    }
                    if (worst > NAME(worst_gemm_)[0])
                        NAME(worst_gemm_)[0] = worst;
                    check(st1 == FM_OK && st2 == FM_OK && worst <= 1.0 && same && padding,
                          "%s gemm_" STR(
                              SUF) " m=%lld n=%lld k=%lld ta=%d tb=%d alpha=%g "
                                   "beta=%g: error/bound %.3g, 1 vs 2 threads %s, padding %s",
                          isa, (long long)m, (long long)n, (long long)k, ta, tb, alpha, beta, worst,
                          same ? "same" : "DIFFER", padding ? "kept" : "WRITTEN");
                    free(a);
                    free(b);
                    free(c0);
                    free(c1);
                    free(c2);
                    free(ref);
                    free(bound);
                }
}

/*
 * The chosen set against the generic one on the same calls (the generic
 * set multiplies and adds separately, the vector sets fuse them, so bits
 * may differ): each within the bound, so the two within twice of it.
 */
static void NAME(check_vs_generic_)(const char *isa)
{
    static const int64_t shapes[][3] = {{64, 48, 300}, {1, 96, 70}, {50, 10, 33}, {30, 1, 77}};
    for (int s = 0; s < 4; s++) {
        const int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        T *a = NAME(random_array_)(m * k), *b = NAME(random_array_)(k * n);
        T *c_isa = malloc((size_t)(m * n) * sizeof(T)),
          *c_gen = malloc((size_t)(m * n) * sizeof(T));
        double *ref = malloc((size_t)(m * n) * sizeof(double));
        double *bound = malloc((size_t)(m * n) * sizeof(double));
        NAME(reference_)(0, 0, m, n, k, 1.0, a, k, b, n, 0.0, NULL, n, ref, bound);
        fm_status st =
            CAT(fm_gemm_, SUF)(FM_GEMM_NATIVE, 1, 0, 0, m, n, k, (T)1, a, k, b, n, (T)0, c_isa, n);
        fm_init("generic");
        if (st == FM_OK)
            st = CAT(fm_gemm_, SUF)(FM_GEMM_NATIVE, 1, 0, 0, m, n, k, (T)1, a, k, b, n, (T)0, c_gen,
                                    n);
        fm_init(isa);
        double worst = 0.0;
        int64_t differ = 0;
        for (int64_t i = 0; i < m * n; i++) {
            const double e = fabs((double)c_isa[i] - (double)c_gen[i]) / bound[i];
            worst = e > worst || e != e ? e : worst;
            differ += c_isa[i] != c_gen[i];
        }
        check(st == FM_OK && worst <= 2.0,
              "%s vs generic gemm_" STR(SUF) " m=%lld n=%lld k=%lld: |difference|/bound %.3g, "
                                             "%lld of %lld values differ",
              isa, (long long)m, (long long)n, (long long)k, worst, (long long)differ,
              (long long)(m * n));
        free(a);
        free(b);
        free(c_isa);
        free(c_gen);
        free(ref);
        free(bound);
    }
}

/* Activation in double, the reference of fm_dense_forward's output stage
 * (softmax per row below). */
static double NAME(activation_ref_)(fm_activation_kind kind, double z)
{
    switch (kind) {
    case FM_ACT_RELU:
        return z < 0.0 ? 0.0 : z;
    case FM_ACT_TANH:
        return tanh(z);
    case FM_ACT_LOGISTIC:
        return 1.0 / (1.0 + exp(-z));
    case FM_ACT_ELU: /* param 1 */
        return z > 0.0 ? z : expm1(z);
    default:
        return z;
    }
}

/*
 * fm_dense_forward: out = act(op(X) @ op(W) + bias) against the double
 * reference of each activation applied to the exact product. Bound: the
 * product's (above) times the activation's slope (at most 1 for these;
 * softmax's outputs move by at most 2 max_j |dz_j|), plus 16 units in the
 * last place of the result for the activation's own arithmetic.
 */
static void NAME(check_dense_)(const char *isa)
{
    static const int64_t shapes[][3] = {{1, 30, 20}, {50, 10, 33}, {64, 40, 100}, {20, 3, 17}};
    static const fm_activation_kind kinds[] = {FM_ACT_IDENTITY, FM_ACT_RELU, FM_ACT_TANH,
                                               FM_ACT_LOGISTIC, FM_ACT_ELU,  FM_ACT_SOFTMAX};
    static const char *const kind_names[] = {"identity", "relu", "tanh",
                                             "logistic", "elu",  "softmax"};
    for (int s = 0; s < 4; s++)
        for (int q = 0; q < 6; q++)
            for (int tw = 0; tw < 2; tw++) {
                const int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                T *x = NAME(random_array_)(m * k);
                T *w = NAME(random_array_)(n * k);
                T *bias = NAME(random_array_)(n);
                T *out = malloc((size_t)(m * n) * sizeof(T));
                double *ref = malloc((size_t)(m * n) * sizeof(double));
                double *bound = malloc((size_t)(m * n) * sizeof(double));
                NAME(reference_)
                (0, tw, m, n, k, 1.0, x, k, w, tw ? k : n, 0.0, NULL, n, ref, bound);
                const fm_activation act = {kinds[q], 1.0};
                const fm_status st = CAT(fm_dense_forward_, SUF)(
                    FM_GEMM_NATIVE, 1, 0, tw, m, n, k, x, k, w, tw ? k : n, bias, act, out, n);
                double worst = 0.0;
                for (int64_t i = 0; i < m; i++) {
                    double row_max = -INFINITY, row_bound = 0.0, sum = 0.0;
                    for (int64_t j = 0; j < n; j++) {
                        /* + one rounding of the bias addition */
                        const double z = ref[i * n + j] + bias[j];
                        bound[i * n + j] += U * fabs(z);
                        ref[i * n + j] = z;
                        row_max = z > row_max ? z : row_max;
                        row_bound = bound[i * n + j] > row_bound ? bound[i * n + j] : row_bound;
                    }
                    if (kinds[q] == FM_ACT_SOFTMAX)
                        for (int64_t j = 0; j < n; j++)
                            sum += exp(ref[i * n + j] - row_max);
                    for (int64_t j = 0; j < n; j++) {
                        const double z = ref[i * n + j];
                        const double want = kinds[q] == FM_ACT_SOFTMAX
                                                ? exp(z - row_max) / sum
                                                : NAME(activation_ref_)(kinds[q], z);
                        const double slope_bound =
                            kinds[q] == FM_ACT_SOFTMAX ? 2.0 * row_bound : bound[i * n + j];
                        const double tol = slope_bound + 16.0 * 2.0 * U * fmax(fabs(want), 1e-3);
                        const double e = fabs((double)out[i * n + j] - want) / tol;
                        worst = e > worst || e != e ? e : worst;
                    }
                }
                check(st == FM_OK && worst <= 1.0,
                      "%s dense_forward_" STR(SUF) " %s m=%lld n=%lld k=%lld tw=%d: error/bound "
                                                   "%.3g",
                      isa, kind_names[q], (long long)m, (long long)n, (long long)k, tw, worst);
                free(x);
                free(w);
                free(bias);
                free(out);
                free(ref);
                free(bound);
            }
}

/*
 * fm_optimizer_step against scalar loops written from the rules in
 * fastmlp.h (scalars rounded to T first, NumPy's order of operations):
 * bit for bit, over three steps of n = 1003 parameters (odd: vector
 * remainders), for SGD with momentum (plain and Nesterov), scikit-learn's
 * Adam (float32: the update in double) and RMSprop.
 */
static void NAME(check_optimizers_)(void)
{
    const int64_t n = 1003;
    const double lr = 0.01, mom = 0.9, b1 = 0.9, b2 = 0.999, eps = 1e-8, rho = 0.95;
    static const char *const names[] = {"sgd", "sgd_nesterov", "adam_sklearn", "rmsprop"};
    for (int which = 0; which < 4; which++) {
        T *param = NAME(random_array_)(n), *want = malloc((size_t)n * sizeof(T));
        T *s0 = calloc((size_t)n, sizeof(T)), *s1 = calloc((size_t)n, sizeof(T));
        T *r0 = calloc((size_t)n, sizeof(T)), *r1 = calloc((size_t)n, sizeof(T));
        memcpy(want, param, (size_t)n * sizeof(T));
        fm_optimizer opt;
        memset(&opt, 0, sizeof opt);
        opt.kind = which < 2 ? FM_OPT_SGD : which == 2 ? FM_OPT_ADAM : FM_OPT_RMSPROP;
        opt.arithmetic = which == 3 ? FM_STEP_PLAIN : FM_STEP_SKLEARN;
        opt.learning_rate = lr;
        opt.momentum = mom;
        opt.nesterov = which == 1;
        opt.beta_1 = b1;
        opt.beta_2 = b2;
        opt.epsilon = eps;
        opt.rho = rho;
        opt.mu_product = 1.0;
        opt.state[0] = s0;
        opt.state[1] = s1;
        int same = 1;
        fm_status st = FM_OK;
        for (int t = 1; t <= 3; t++) {
            T *grad = NAME(random_array_)(n);
            if (st == FM_OK)
                st = CAT(fm_optimizer_step_, SUF)(&opt, n, param, grad);
            for (int64_t i = 0; i < n; i++) {
                const T g = grad[i], p = want[i];
                if (which < 2) {
                    const T tlr = (T)lr, tmu = (T)mom;
                    const T v = tmu * r0[i] - tlr * g;
                    r0[i] = v;
                    want[i] = p + (which == 1 ? tmu * v - tlr * g : v);
                } else if (which == 2) {
                    const double neg_lr_t = -(lr * sqrt(1.0 - pow(b2, t)) / (1.0 - pow(b1, t)));
                    const T mi = (T)b1 * r0[i] + (T)(1.0 - b1) * g;
                    const T vi = (T)b2 * r1[i] + (T)(1.0 - b2) * (g * g);
                    r0[i] = mi;
                    r1[i] = vi;
                    if (sizeof(T) == 4) /* lr_t a float64 scalar: NumPy promotes */
                        want[i] = (T)((double)p +
                                      (neg_lr_t * (double)mi) / (double)((T)sqrt(vi) + (T)eps));
                    else
                        want[i] = p + ((T)neg_lr_t * mi) / ((T)sqrt(vi) + (T)eps);
                } else {
                    const T si = (T)rho * r0[i] + (T)(1.0 - rho) * (g * g);
                    r0[i] = si;
                    want[i] = p + (T)(-lr) * (g / ((T)sqrt(si) + (T)eps));
                }
            }
            free(grad);
        }
        same = memcmp(param, want, (size_t)n * sizeof(T)) == 0 &&
               memcmp(s0, r0, (size_t)n * sizeof(T)) == 0 &&
               (which != 2 || memcmp(s1, r1, (size_t)n * sizeof(T)) == 0);
        check(st == FM_OK && same, "optimizer_step_" STR(SUF) " %s: 3 steps bit for bit",
              names[which]);
        free(param);
        free(want);
        free(s0);
        free(s1);
        free(r0);
        free(r1);
    }
}

/*
 * The SGD step inside the product (internal.h, fm_gemm_step): W and its
 * velocity after the product with the step (fm_gemm_step_of_) are the bits
 * of the sums computed alone (alpha 1, beta 0) followed by the optimizer's
 * own step (fm_fused_step_), on one and two threads, for every form
 * (Keras's rule without momentum, scikit-learn's momentum and Nesterov, a
 * plain-arithmetic momentum that runs flushed), every penalty (none, L2,
 * L1, elastic net), a divisor whose reciprocal is exact (32) and one that
 * divides (200), alone, with clipping by value (0.01: most of these
 * gradients) or with weight decay, and the products of every path the
 * engine's weight gradients take: blocked (784 x 300 and 37 x 45), narrow C
 * (100 x 6: the column path where vectors are wider than 6), one row
 * (1 x 64: gemv), more than one KC block (64 x 48, k = 300); and a rate of
 * 0 (the step's x + -0 * g). W starts with +0, -0 (sign 0), NaN and
 * infinity, the velocity with a NaN. Each on one and two threads, with
 * the kernel's own allocation and with a caller's buffer sized by
 * fm_gemm_scratch_ (the engine's: the fallback's sums go there). a (k, m)
 * stored, op = transposed; d (k, n).
 */
/* A product C = op(A) @ B + beta * C (B not transposed, alpha 1, no bias,
 * identity), the rest of the fields zero. */
static CAT(fm_gemm_problem_, SUF) NAME(problem_)(int trans_a, int64_t m, int64_t n, int64_t k,
                                                 const T *a, int64_t lda, const T *b, T beta, T *c)
{
    CAT(fm_gemm_problem_, SUF) pr;
    memset(&pr, 0, sizeof pr);
    pr.trans_a = trans_a;
    pr.m = m;
    pr.n = n;
    pr.k = k;
    pr.alpha = (T)1;
    pr.a = a;
    pr.lda = lda;
    pr.b = b;
    pr.ldb = n;
    pr.beta = beta;
    pr.c = c;
    pr.ldc = n;
    return pr;
}

static void NAME(check_step_in_product_)(const char *isa)
{
    const int64_t shapes[][3] = {{784, 300, 32}, {37, 45, 32},  {100, 6, 32},
                                 {1, 64, 32},    {64, 48, 300}, {37, 45, 32}};
    const int n_shapes = (int)(sizeof(shapes) / sizeof(shapes[0]));
    const struct {
        fm_step_arithmetic arithmetic;
        double momentum;
        int nesterov;
    } rules[] = {{FM_STEP_KERAS, 0.0, 0},
                 {FM_STEP_SKLEARN, 0.9, 0},
                 {FM_STEP_SKLEARN, 0.9, 1},
                 {FM_STEP_PLAIN, 0.5, 0}};
    const fm_finish_penalty penalties[] = {FM_FINISH_NONE, FM_FINISH_L2, FM_FINISH_L1,
                                           FM_FINISH_ELASTICNET};
    int all_same = 1, cases = 0;
    for (int si = 0; si < n_shapes; si++) {
        const int64_t m = shapes[si][0], n = shapes[si][1], k = shapes[si][2], mn = m * n;
        T *a = NAME(random_array_)(k * m), *d = NAME(random_array_)(k * n);
        T *w0 = NAME(random_array_)(mn), *v0 = NAME(random_array_)(mn);
        const T specials[] = {(T)0, -(T)0, (T)NAN, (T)INFINITY};
        for (int i = 0; i < 4 && i < mn; i++)
            w0[mn - 1 - i] = specials[i];
        v0[mn / 2] = (T)NAN;
        T *sums = malloc((size_t)mn * sizeof(T));
        T *want_w = malloc((size_t)mn * sizeof(T)), *want_v = malloc((size_t)mn * sizeof(T));
        T *got_w = malloc((size_t)mn * sizeof(T)), *got_v = malloc((size_t)mn * sizeof(T));
        CAT(fm_gemm_, SUF)(FM_GEMM_NATIVE, 1, 1, 0, m, n, k, (T)1, a, m, d, n, (T)0, sums, n);
        for (size_t ri = 0; ri < sizeof(rules) / sizeof(rules[0]); ri++)
            for (int pen = 0; pen < 4; pen++)
                for (int dv = 0; dv < 2; dv++)
                    for (int extra = 0; extra < 3; extra++) {
                        fm_optimizer opt;
                        memset(&opt, 0, sizeof opt);
                        opt.kind = FM_OPT_SGD;
                        opt.arithmetic = rules[ri].arithmetic;
                        opt.learning_rate = si + 1 == n_shapes ? 0.0 : 0.01;
                        opt.momentum = rules[ri].momentum;
                        opt.nesterov = rules[ri].nesterov;
                        opt.weight_decay = extra == 2 ? 0.5 : 0.0;
                        fm_optimizer_advance(&opt);
                        const fm_step_rule rule = fm_step_rule_make(&opt);
                        const fm_grad_finish f = {
                            penalties[pen],    1e-4, 2e-4,
                            dv ? 200.0 : 32.0, 1.0,  extra == 1 ? 0.01 : INFINITY};
                        memcpy(want_w, w0, (size_t)mn * sizeof(T));
                        memcpy(want_v, v0, (size_t)mn * sizeof(T));
                        T *state[FM_OPT_MAX_STATES] = {want_v, NULL};
                        CAT(fm_fused_step_, SUF)(&rule, mn, want_w, sums, state, &f);
                        for (int run = 0; run < 4; run++) {
                            const int threads = 1 + run % 2, with_scratch = run >= 2;
                            memcpy(got_w, w0, (size_t)mn * sizeof(T));
                            memcpy(got_v, v0, (size_t)mn * sizeof(T));
                            CAT(fm_gemm_problem_, SUF)
                            pr = NAME(problem_)(1, m, n, k, a, m, d, (T)1, got_w);
                            pr.step = CAT(fm_gemm_step_of_, SUF)(&rule, &f, got_v);
                            pr.flush = rule.flush;
                            /* The caller's buffer, as the engine passes it
                             * (sized by fm_gemm_scratch_, which counts the
                             * fallback's sums), filled with a marker. */
                            T *scratch = NULL;
                            const int64_t scratch_elems =
                                with_scratch ? CAT(fm_gemm_scratch_, SUF)(threads, &pr) : 0;
                            if (with_scratch) {
                                scratch = malloc((size_t)(scratch_elems + 1) * sizeof(T));
                                for (int64_t i = 0; i < scratch_elems; i++)
                                    scratch[i] = (T)12345;
                                pr.scratch = scratch;
                                pr.scratch_elems = scratch_elems;
                            }
                            const fm_status st =
                                CAT(fm_gemm_problem_run_, SUF)(FM_GEMM_NATIVE, threads, &pr);
                            int same = st == FM_OK &&
                                       memcmp(got_w, want_w, (size_t)mn * sizeof(T)) == 0 &&
                                       memcmp(got_v, want_v, (size_t)mn * sizeof(T)) == 0;
                            /* One row (gemv: it packs nothing) on one thread:
                             * its sums went to the buffer, not an allocation. */
                            if (with_scratch && m == 1 && threads == 1) {
                                int64_t written = 0;
                                for (int64_t i = 0; i < scratch_elems; i++)
                                    written += scratch[i] != (T)12345;
                                same &= scratch_elems >= mn && written > 0;
                            }
                            free(scratch);
                            if (!same)
                                printf("  %s %ld x %ld x %ld, rule %d penalty %d divisor %s "
                                       "extra %d, %d threads%s differs\n",
                                       isa, (long)m, (long)n, (long)k, (int)ri, pen,
                                       dv ? "200" : "32", extra, threads,
                                       with_scratch ? " (caller's buffer)" : "");
                            all_same &= same;
                            cases++;
                        }
                    }
        free(a);
        free(d);
        free(w0);
        free(v0);
        free(sums);
        free(want_w);
        free(want_v);
        free(got_w);
        free(got_v);
    }
    check(all_same, "%s " STR(SUF) ": the SGD step in the product, %d cases bit for bit", isa,
          cases);
}

/*
 * A sparse op(A) (fm_gemm_problem.sparse_a, gemm_kernel.h gemm_sparse):
 * op(A) (m, k) about 20% nonzero (whole zero rows, -0 values), compressed
 * by rows (contiguous, or apart with their ends given), against the same product with op(A) dense: the same bits, for
 * shapes that take each dense path but the dot path (blocked, m = 1 gemv,
 * narrow C's column tiles, KC blocks of 784 and 600, the transposed A of a
 * weight gradient; at 0.3% nonzero over 1300 and 2000 values, sparse rows
 * taken one by one over all KC blocks), beta 0, 1 and 0.5, with and without bias, identity,
 * relu, tanh (after the store) and softmax (the row stage), on 1 and 2
 * threads; and the SGD step in the product (momentum, Keras's plain rule)
 * with a sparse A equal to the dense one's.
 */
static void NAME(check_sparse_a_)(const char *isa)
{
    const int64_t shapes[][4] = {/* m, n, k, trans_a */
                                 {32, 300, 784, 0},  {784, 300, 32, 1}, {7, 45, 600, 0},
                                 {1, 64, 100, 0},    {40, 10, 100, 1},  {33, 17, 300, 0},
                                 {200, 100, 300, 0}, {24, 40, 2000, 0}, {9, 300, 1300, 0}};
    const fm_activation_kind acts[] = {FM_ACT_IDENTITY, FM_ACT_RELU, FM_ACT_TANH, FM_ACT_SOFTMAX};
    const double betas[] = {0.0, 1.0, 0.5};
    int all_same = 1, cases = 0;
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int64_t m = shapes[si][0], n = shapes[si][1], k = shapes[si][2];
        const int ta = (int)shapes[si][3];
        const int64_t lda = ta ? m : k;
        T *a = NAME(random_array_)(m * k), *b = NAME(random_array_)(k * n);
        T *bias = NAME(random_array_)(n), *c0 = NAME(random_array_)(m * n);
        T *want = malloc((size_t)(m * n) * sizeof(T)), *got = malloc((size_t)(m * n) * sizeof(T));
        /* About 20% nonzero (k over 1000: 0.3%, fewer values than KC
         * blocks, gemm_sparse's rows outer); op(A)'s row 1 all zero; some -0. */
        const double zeros = k > 1000 ? 0.997 : 0.8;
        for (int64_t i = 0; i < m; i++)
            for (int64_t p = 0; p < k; p++) {
                T *v = ta ? &a[p * lda + i] : &a[i * lda + p];
                if (i == 1 || uniform() < zeros)
                    *v = (i + p) % 7 == 0 ? -(T)0 : (T)0;
            }
        int32_t *ptr = malloc((size_t)(m + 1) * sizeof(int32_t));
        int32_t *idx = malloc((size_t)(m * k) * sizeof(int32_t));
        T *val = malloc((size_t)(m * k) * sizeof(T));
        int32_t q = 0;
        for (int64_t i = 0; i < m; i++) {
            ptr[i] = q;
            for (int64_t p = 0; p < k; p++) {
                const T v = ta ? a[p * lda + i] : a[i * lda + p];
                if (v != (T)0) {
                    idx[q] = (int32_t)p;
                    val[q++] = v;
                }
            }
        }
        ptr[m] = q;
        /* The same rows apart (row i at gptr[i], two values of garbage
         * before it; its end in gend), as the engine's per-thread parts. */
        int32_t *gptr = malloc((size_t)m * sizeof(int32_t)),
                *gend = malloc((size_t)m * sizeof(int32_t));
        int32_t *gidx = malloc((size_t)(q + 2 * m + 1) * sizeof(int32_t));
        T *gval = malloc((size_t)(q + 2 * m + 1) * sizeof(T));
        for (int64_t i = 0, g = 0; i < m; i++) {
            gidx[g] = 0, gval[g++] = (T)99;
            gidx[g] = (int32_t)(k - 1), gval[g++] = (T)-99;
            gptr[i] = (int32_t)g;
            for (int32_t p = ptr[i]; p < ptr[i + 1]; p++)
                gidx[g] = idx[p], gval[g++] = val[p];
            gend[i] = (int32_t)g;
        }
        for (int gapped = 0; gapped < 2; gapped++)
            for (size_t ai = 0; ai < sizeof(acts) / sizeof(acts[0]); ai++)
                for (size_t bi = 0; bi < 3; bi++)
                    for (int with_bias = 0; with_bias < 2; with_bias++)
                        for (int threads = 1; threads <= 2; threads++) {
                            CAT(fm_gemm_problem_, SUF)
                            pr = NAME(problem_)(ta, m, n, k, a, lda, b, (T)betas[bi], want);
                            pr.bias = with_bias ? bias : NULL;
                            pr.act.kind = acts[ai];
                            memcpy(want, c0, (size_t)(m * n) * sizeof(T));
                            fm_status st = CAT(fm_gemm_problem_run_, SUF)(FM_GEMM_NATIVE, 1, &pr);
                            memcpy(got, c0, (size_t)(m * n) * sizeof(T));
                            pr.c = got;
                            pr.a = NULL;
                            pr.sparse_a.ptr = gapped ? gptr : ptr;
                            pr.sparse_a.end = gapped ? gend : NULL;
                            pr.sparse_a.idx = gapped ? gidx : idx;
                            pr.sparse_a.val = gapped ? gval : val;
                            if (st == FM_OK)
                                st = CAT(fm_gemm_problem_run_, SUF)(FM_GEMM_NATIVE, threads, &pr);
                            const int same =
                                st == FM_OK && memcmp(got, want, (size_t)(m * n) * sizeof(T)) == 0;
                            if (!same)
                                printf("  %s sparse %ld x %ld x %ld trans_a %d act %d beta %g bias "
                                       "%d, "
                                       "%d threads%s differs\n",
                                       isa, (long)m, (long)n, (long)k, ta, (int)acts[ai], betas[bi],
                                       with_bias, threads, gapped ? ", rows apart" : "");
                            all_same &= same;
                            cases++;
                        }
        /* The step in the product (a weight gradient's shape, k <= 256 in
         * registers; k > 256 through gemm_step's sums). */
        for (int ri = 0; ri < 2 && (k <= 32 || k == 300); ri++) {
            fm_optimizer opt;
            memset(&opt, 0, sizeof opt);
            opt.kind = FM_OPT_SGD;
            opt.arithmetic = ri ? FM_STEP_KERAS : FM_STEP_SKLEARN;
            opt.learning_rate = 0.01;
            opt.momentum = ri ? 0.0 : 0.9;
            fm_optimizer_advance(&opt);
            const fm_step_rule rule = fm_step_rule_make(&opt);
            const fm_grad_finish f = {FM_FINISH_L2, 1e-4, 0.0, 32.0, 1.0, INFINITY};
            T *vel[2] = {NAME(random_array_)(m * n), NAME(random_array_)(m * n)};
            memcpy(vel[1], vel[0], (size_t)(m * n) * sizeof(T));
            T *w[2] = {want, got};
            for (int sparse = 0; sparse < 2; sparse++) {
                memcpy(w[sparse], c0, (size_t)(m * n) * sizeof(T));
                CAT(fm_gemm_problem_, SUF)
                pr = NAME(problem_)(ta, m, n, k, sparse ? NULL : a, lda, b, (T)1, w[sparse]);
                pr.step = CAT(fm_gemm_step_of_, SUF)(&rule, &f, vel[sparse]);
                if (sparse) {
                    pr.sparse_a.ptr = ptr;
                    pr.sparse_a.idx = idx;
                    pr.sparse_a.val = val;
                }
                const fm_status st =
                    CAT(fm_gemm_problem_run_, SUF)(FM_GEMM_NATIVE, 1 + sparse, &pr);
                all_same &= st == FM_OK;
            }
            const int same = memcmp(got, want, (size_t)(m * n) * sizeof(T)) == 0 &&
                             memcmp(vel[0], vel[1], (size_t)(m * n) * sizeof(T)) == 0;
            if (!same)
                printf("  %s sparse step %ld x %ld x %ld rule %d differs\n", isa, (long)m, (long)n,
                       (long)k, ri);
            all_same &= same;
            cases++;
            free(vel[0]);
            free(vel[1]);
        }
        free(a);
        free(b);
        free(bias);
        free(c0);
        free(want);
        free(got);
        free(ptr);
        free(idx);
        free(val);
        free(gptr);
        free(gend);
        free(gidx);
        free(gval);
    }
    check(all_same, "%s " STR(SUF) ": a sparse A gives the dense product's bits, %d cases", isa,
          cases);
}

/*
 * The fused step's contract (internal.h): finishing the gradient in one pass
 * (fm_grad_finish_, which divides) and stepping in another gives the fused
 * step's bits. Checked where the fused step multiplies by the reciprocal
 * instead (a power-of-two divisor, optimizers_tmpl.h exact_reciprocal_): every
 * kind and arithmetic, no penalty and L2, divisors 1/8, 32, 2^20 and 3 (which
 * divides), on uniform gradients and on values whose quotient is subnormal,
 * tiny, huge, infinite or NaN. n = 37 values, one step from zero states.
 */
static void NAME(check_reciprocal_divisor_)(void)
{
    enum { N = 37 };
    const T tiny = sizeof(T) == 4 ? (T)FLT_MIN : (T)DBL_MIN;
    const T huge = sizeof(T) == 4 ? (T)FLT_MAX : (T)DBL_MAX;
    const T special[] = {tiny * (T)1.5, tiny * (T)3, tiny * (T)31, tiny / (T)3,
                         -tiny * (T)17, huge,        -huge,        (T)INFINITY,
                         (T)NAN,        (T)0,        -(T)0,        (T)1e-30};
    const double divisors[] = {0.125, 32.0, 1048576.0, 3.0};
    const fm_step_arithmetic forms[] = {FM_STEP_SKLEARN, FM_STEP_PLAIN, FM_STEP_KERAS};
    int all_same = 1, cases = 0;
    for (int kind = 0; kind < FM_OPT_N_KINDS; kind++)
        for (int a = 0; a < 3; a++)
            for (int pen = 0; pen < 2; pen++)
                for (int d = 0; d < 4; d++) {
                    T param[2][N], grad[2][N], st[2][2][N];
                    for (int i = 0; i < N; i++) {
                        param[0][i] = param[1][i] = (T)(uniform() - 0.5);
                        grad[0][i] = grad[1][i] = i < (int)(sizeof(special) / sizeof(special[0]))
                                                      ? special[i]
                                                      : (T)(uniform() - 0.5);
                    }
                    memset(st, 0, sizeof(st));
                    fm_grad_finish f = {
                        pen ? FM_FINISH_L2 : FM_FINISH_NONE, 1e-4, 0.0, divisors[d], 1.0, INFINITY};
                    const fm_grad_finish plain = {FM_FINISH_NONE, 0.0, 0.0, 1.0, 1.0, INFINITY};
                    fm_optimizer opt;
                    memset(&opt, 0, sizeof opt);
                    opt.kind = (fm_optimizer_kind)kind;
                    opt.arithmetic = forms[a];
                    opt.learning_rate = 0.01;
                    opt.momentum = kind == FM_OPT_SGD && a == 2 ? 0.0 : 0.9;
                    opt.beta_1 = 0.9;
                    opt.beta_2 = 0.999;
                    opt.epsilon = 1e-7;
                    opt.rho = 0.9;
                    opt.momentum_decay = 0.004;
                    opt.mu_product = 1.0;
                    fm_optimizer_advance(&opt);
                    const fm_step_rule rule = fm_step_rule_make(&opt);
                    T *s0[FM_OPT_MAX_STATES] = {st[0][0], st[0][1], NULL};
                    T *s1[FM_OPT_MAX_STATES] = {st[1][0], st[1][1], NULL};
                    CAT(fm_fused_step_, SUF)(&rule, N, param[0], grad[0], s0, &f);
                    CAT(fm_grad_finish_, SUF)(N, grad[1], param[1], &f);
                    CAT(fm_fused_step_, SUF)(&rule, N, param[1], grad[1], s1, &plain);
                    const int same = memcmp(param[0], param[1], sizeof(param[0])) == 0 &&
                                     memcmp(st[0], st[1], sizeof(st[0])) == 0;
                    if (!same)
                        printf("  kind %d arithmetic %d penalty %d divisor %g differs\n", kind,
                               (int)forms[a], pen, divisors[d]);
                    all_same &= same;
                    cases++;
                }
    check(all_same,
          "fused step " STR(SUF) ": reciprocal of a power-of-two divisor, %d cases "
                                 "bit for bit with finishing then stepping",
          cases);
}

/*
 * A few epochs of a small classifier (units 32-256-10 hidden relu, softmax
 * log loss, L2 penalty, Adam, minibatches of 128 from a fixed permutation)
 * on 3 Gaussian blobs with labels by nearest centre: the epoch loss must
 * fall (last below half the first), and the parameters and losses must be
 * the same bits on 1 and 2 threads.
 */
static void NAME(check_training_)(const char *isa)
{
    enum { N = 384, D = 32, H = 256, K = 10, EPOCHS = 6, BATCH = 128 };
    fm_mlp net;
    memset(&net, 0, sizeof net);
    net.n_layers = 2;
    net.n_inputs = D;
    net.layer[0].units = H;
    net.layer[0].activation.kind = FM_ACT_RELU;
    net.layer[0].use_bias = 1;
    net.layer[1].units = K;
    net.layer[1].activation.kind = FM_ACT_SOFTMAX;
    net.layer[1].use_bias = 1;
    net.output = FM_OUTPUT_SOFTMAX_LOG_LOSS;
    net.alpha = 1e-4;
    net.penalty = FM_PENALTY_L2;
    net.compute = FM_COMPUTE_NATIVE;
    const int64_t n_params = fm_mlp_n_params(&net);

    T *x = malloc((size_t)N * D * sizeof(T)), *y = calloc((size_t)N * K, sizeof(T));
    double centres[K][D];
    for (int c = 0; c < K; c++)
        for (int d = 0; d < D; d++)
            centres[c][d] = 2.0 * uniform();
    for (int i = 0; i < N; i++) {
        const int c = i % K;
        for (int d = 0; d < D; d++)
            x[i * D + d] = (T)(centres[c][d] + 0.5 * uniform());
        y[i * K + c] = 1;
    }
    int64_t order[N];
    for (int i = 0; i < N; i++)
        order[i] = i;
    for (int i = N - 1; i > 0; i--) {
        const int j = (int)((uniform() + 1.0) * 0.5 * (i + 1)) % (i + 1);
        const int64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    T *init = malloc((size_t)n_params * sizeof(T));
    const double s0 = sqrt(6.0 / (D + H)), s1 = sqrt(6.0 / (H + K));
    for (int64_t i = 0; i < n_params; i++)
        init[i] = (T)(uniform() * (i < D * H ? s0 : s1));

    T *params[2];
    double losses[2][EPOCHS];
    fm_status st = FM_OK;
    for (int run = 0; run < 2; run++) {
        /* W0 (D, H), W1 (H, K), b0 (H,), b1 (K,): scikit-learn's order. */
        T *p = params[run] = malloc((size_t)n_params * sizeof(T));
        memcpy(p, init, (size_t)n_params * sizeof(T));
        T *coefs[2] = {p, p + D * H};
        T *intercepts[2] = {p + D * H + H * K, p + D * H + H * K + H};
        T *m1 = calloc((size_t)n_params, sizeof(T)), *m2 = calloc((size_t)n_params, sizeof(T));
        fm_optimizer opt;
        memset(&opt, 0, sizeof opt);
        opt.kind = FM_OPT_ADAM;
        opt.arithmetic = FM_STEP_SKLEARN;
        opt.learning_rate = 1e-3;
        opt.beta_1 = 0.9;
        opt.beta_2 = 0.999;
        opt.epsilon = 1e-8;
        opt.mu_product = 1.0;
        opt.state[0] = m1;
        opt.state[1] = m2;
        fm_mlp_workspace *ws = fm_mlp_workspace_new(&net, BATCH, sizeof(T), 1);
        fm_input in;
        memset(&in, 0, sizeof in);
        in.dense = x;
        in.ld = D;
        for (int e = 0; e < EPOCHS && ws != NULL; e++) {
            double loss_sum = 0.0;
            const fm_status s =
                CAT(fm_mlp_epoch_, SUF)(&net, coefs, intercepts, NULL, &in, y, NULL, order, N,
                                        BATCH, &opt, ws, run + 1, 7, &loss_sum);
            st = st == FM_OK ? s : st;
            losses[run][e] = loss_sum / N;
        }
        if (ws == NULL)
            st = FM_ERR_NOMEM;
        fm_mlp_workspace_free(ws);
        free(m1);
        free(m2);
    }
    printf("value %s training_%s losses", isa, STR(SUF));
    for (int e = 0; e < EPOCHS; e++)
        printf(" %.6f", losses[0][e]);
    printf("\n");
    check(st == FM_OK && losses[0][EPOCHS - 1] < 0.5 * losses[0][0],
          "%s training_" STR(SUF) " %s: loss %.4f -> %.4f", isa, "falls", losses[0][0],
          losses[0][EPOCHS - 1]);
    check(memcmp(params[0], params[1], (size_t)n_params * sizeof(T)) == 0 &&
              memcmp(losses[0], losses[1], sizeof losses[0]) == 0,
          "%s training_" STR(SUF) " %s", isa, "1 and 2 threads give the same bits");
    free(params[0]);
    free(params[1]);
    free(init);
    free(x);
    free(y);
}

#undef NAME
#undef CAT
#undef CAT_
#undef T
#undef SUF
#undef U
