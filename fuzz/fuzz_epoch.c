/*
 * libFuzzer target: the training engine (train.h) on random small
 * descriptions. Every field of the network (fm_mlp: layers and widths, each
 * hidden activation and its parameter, dropout, output kind, regression loss
 * and its parameter, output activation, alpha, penalty, l1_ratio,
 * clip_grad_norm, clip_grad_value, max_norm, frozen layers, batch
 * normalisation and its momentum and epsilon, compute type, loss
 * convention) and of the optimizer (fm_optimizer: kind, arithmetic,
 * learning rate, momentum, nesterov, betas, epsilon, rho, momentum_decay,
 * weight_decay, step count, mu_product, clipnorm, clipvalue, per-step
 * rates) is drawn, now and then outside its range (NaN, infinities,
 * negative, out-of-range enumerations). network_valid and optimizer_valid
 * restate the engine's rules (train.h, fastmlp.h): an invalid network must
 * get no workspace and no prediction, an invalid optimizer an epoch that
 * returns FM_ERR_ARGUMENT without touching the weights; never a crash.
 * Valid descriptions train over random data (1-16 rows, dense or CSR, in
 * order or shuffled, with or without sample weights), float and double
 * (bfloat16 products with float), on every kernel set the CPU runs: an
 * epoch, then (without batch norm) the full-batch loss and gradient, the
 * loss and the prediction (of the output layer or, as transform, of a
 * hidden one). The CSR matrices are random too, and fed to the engine only
 * when they pass the binding's check (src/fastmlp/_train.pxi), written
 * again here as csr_valid: the engine follows indptr and indices unchecked,
 * so this target also shows that the check is enough. AddressSanitizer and
 * UBSan do the checking; the numbers are the test suite's business.
 */
#include <math.h>

#include "fuzz_bytes.h"
#include "train.h"

#define FUZZ_MAX_ROWS 16

typedef struct {
    int64_t n, nnz;
    double y[FUZZ_MAX_ROWS * 8];
    int64_t order[FUZZ_MAX_ROWS];
    const int64_t *indptr, *indices; /* NULL: dense input */
} fuzz_data;

/* The binding's acceptance rule for a CSR matrix of n_rows x n_cols with
 * n_values stored values (and as many indices). */
static int csr_valid(int64_t n_rows, int64_t n_cols, const int64_t *indptr, const int64_t *indices,
                     int64_t n_values)
{
    if (indptr[0] < 0 || indptr[n_rows] > n_values)
        return 0;
    for (int64_t r = 0; r < n_rows; r++)
        if (indptr[r + 1] < indptr[r])
            return 0;
    for (int64_t p = 0; p < n_values; p++)
        if (indices[p] < 0 || indices[p] >= n_cols)
            return 0;
    return 1;
}

/* A real parameter: mostly lo + (hi - lo) * k / 16, k in 0..16; one time in
 * 32 an edge value (NaN, infinities, negative, 0, 1, 2), valid or not (rare
 * enough per field that most cases, with some 25 fields, still train). */
static double fuzz_param(fuzz_bytes *in, double lo, double hi)
{
    static const double edges[] = {NAN, INFINITY, -INFINITY, -1.0, 0.0, 1.0, 2.0, -0.5};
    if (fuzz_u8(in) % 32 != 0)
        return lo + (hi - lo) * (double)(fuzz_u8(in) % 17) / 16.0;
    return edges[fuzz_u8(in) % 8];
}

/* An enumeration: mostly one of its n values, one time in 32 one past them
 * (or, rarely, negative). */
static int fuzz_enum(fuzz_bytes *in, int n)
{
    const unsigned v = fuzz_u8(in);
    if (v % 32 == 31)
        return v % 64 == 63 ? -1 : n;
    return (int)(v % (unsigned)n);
}

static int in_range(double x, double lo, double hi, int hi_closed)
{
    return x >= lo && (hi_closed ? x <= hi : x < hi);
}

/* The engine's rules for a network description (train.h), restated. */
static int network_valid(const fm_mlp *net)
{
    const int L = net->n_layers;
    if (L < 1 || L > FM_MLP_MAX_LAYERS || net->n_inputs < 1)
        return 0;
    for (int l = 0; l < L; l++) {
        const fm_layer *ly = &net->layer[l];
        const fm_activation a = ly->activation;
        if (ly->units < 1 || (unsigned)a.kind >= FM_ACT_COUNT || !isfinite(a.param) ||
            !in_range(ly->dropout, 0.0, 1.0, 0) || !(ly->max_norm >= 0.0) ||
            !in_range(ly->kernel_l1, 0.0, INFINITY, 0) ||
            !in_range(ly->kernel_l2, 0.0, INFINITY, 0) ||
            !in_range(ly->bias_l1, 0.0, INFINITY, 0) || !in_range(ly->bias_l2, 0.0, INFINITY, 0) ||
            (unsigned)ly->batch_norm > FM_BN_AFTER)
            return 0;
        if (ly->batch_norm != FM_BN_OFF &&
            (l == L - 1 || !(ly->bn_epsilon > 0.0 && in_range(ly->bn_momentum, 0.0, 1.0, 1))))
            return 0;
        if (l == L - 1)
            continue;
        if (a.kind == FM_ACT_SOFTMAX || a.kind == FM_ACT_HEAVISIDE)
            return 0;
        if (a.kind == FM_ACT_MAXOUT &&
            (ly->batch_norm == FM_BN_BEFORE ||
             !(a.param >= 1.0 && a.param <= 3.0 && a.param == floor(a.param))))
            return 0; /* the fuzzer draws pieces in 0..3, 1.5 and NaN */
    }
    const fm_activation_kind k = net->layer[L - 1].activation.kind;
    if ((unsigned)net->output > FM_OUTPUT_REGRESSION)
        return 0;
    if ((net->output == FM_OUTPUT_SOFTMAX_LOG_LOSS && k != FM_ACT_SOFTMAX) ||
        (net->output == FM_OUTPUT_LOGISTIC_LOG_LOSS && k != FM_ACT_LOGISTIC))
        return 0;
    if (net->output == FM_OUTPUT_REGRESSION) {
        if ((unsigned)net->loss >= FM_LOSS_COUNT ||
            (k != FM_ACT_IDENTITY && k != FM_ACT_RELU && k != FM_ACT_SOFTPLUS &&
             k != FM_ACT_LOGISTIC && k != FM_ACT_TANH))
            return 0;
        if (net->loss == FM_LOSS_HUBER && !(net->loss_param > 0.0 && isfinite(net->loss_param)))
            return 0;
    }
    if (!(net->alpha >= 0.0 && isfinite(net->alpha)))
        return 0;
    if (net->compute != FM_COMPUTE_NATIVE && net->compute != FM_COMPUTE_BF16)
        return 0;
    if ((unsigned)net->convention > FM_CONVENTION_KERAS)
        return 0;
    return (unsigned)net->penalty <= FM_PENALTY_ELASTICNET &&
           in_range(net->l1_ratio, 0.0, 1.0, 1) && net->clip_grad_norm >= 0.0 &&
           net->clip_grad_value >= 0.0;
}

/* The engine's rules for an optimizer taking `steps` steps (fastmlp.h). */
static int optimizer_valid(const fm_optimizer *o, int64_t steps)
{
    if ((unsigned)o->kind >= FM_OPT_N_KINDS ||
        (o->arithmetic != FM_STEP_SKLEARN && o->arithmetic != FM_STEP_PLAIN &&
         o->arithmetic != FM_STEP_KERAS) ||
        !in_range(o->clipnorm, 0.0, INFINITY, 0) || !in_range(o->clipvalue, 0.0, INFINITY, 0) ||
        ((o->clipnorm > 0.0 || o->clipvalue > 0.0) && o->arithmetic != FM_STEP_KERAS) ||
        !in_range(o->learning_rate, 0.0, INFINITY, 0) ||
        !in_range(o->weight_decay, 0.0, INFINITY, 0) || o->t < 0 || o->t > INT64_MAX - steps)
        return 0;
    /* A schedule's per-step rates: enough for the steps, each a legal rate. */
    if (o->lr_steps == NULL ? o->n_lr_steps != 0 : o->n_lr_steps < steps)
        return 0;
    for (int64_t k = 0; o->lr_steps != NULL && k < o->n_lr_steps; k++)
        if (!in_range(o->lr_steps[k], 0.0, INFINITY, 0))
            return 0;
    switch (o->kind) {
    case FM_OPT_SGD:
        return in_range(o->momentum, 0.0, 1.0, 1);
    case FM_OPT_RMSPROP:
        return in_range(o->rho, 0.0, 1.0, 0) && in_range(o->epsilon, 0.0, INFINITY, 0) &&
               o->epsilon > 0.0;
    case FM_OPT_ADAGRAD:
        return o->epsilon > 0.0 && o->epsilon < INFINITY;
    case FM_OPT_ADAM:
    case FM_OPT_ADAMW:
    case FM_OPT_NADAM:
        if (!(in_range(o->beta_1, 0.0, 1.0, 0) && in_range(o->beta_2, 0.0, 1.0, 0) &&
              o->epsilon > 0.0 && o->epsilon < INFINITY))
            return 0;
        return o->kind != FM_OPT_NADAM || (in_range(o->momentum_decay, 0.0, INFINITY, 0) &&
                                           in_range(o->mu_product, 0.0, 1.0, 1));
    }
    return 0;
}

/* Every field of an optimizer description, drawn. */
static fm_optimizer fuzz_optimizer(fuzz_bytes *in)
{
    fm_optimizer opt;
    memset(&opt, 0, sizeof(opt));
    opt.kind = (fm_optimizer_kind)fuzz_enum(in, FM_OPT_N_KINDS);
    opt.arithmetic = (fm_step_arithmetic)fuzz_enum(in, 3);
    opt.learning_rate = fuzz_param(in, 0.0, 0.125);
    opt.momentum = fuzz_param(in, 0.0, 1.0);
    opt.nesterov = (int)(fuzz_u8(in) % 3) - 1; /* any int: nonzero is Nesterov */
    opt.beta_1 = fuzz_param(in, 0.0, 0.95);
    opt.beta_2 = fuzz_param(in, 0.5, 0.999);
    opt.epsilon = fuzz_param(in, 1e-8, 1e-3);
    opt.rho = fuzz_param(in, 0.0, 0.99);
    opt.momentum_decay = fuzz_param(in, 0.0, 0.01);
    opt.weight_decay = fuzz_param(in, 0.0, 0.04);
    switch (fuzz_u8(in) % 8) { /* steps taken: none, a few, or near overflow */
    case 0:
        opt.t = INT64_MAX - fuzz_range(in, 0, 20);
        break;
    case 1:
        opt.t = -fuzz_range(in, 1, 2);
        break;
    default:
        opt.t = fuzz_range(in, 0, 100);
    }
    opt.mu_product = opt.t == 0 ? 1.0 : fuzz_param(in, 0.0, 1.0);
    /* Keras's per-variable clipping: off most of the time. */
    opt.clipnorm = (fuzz_u8(in) & 3) == 0 ? fuzz_param(in, 0.0, 2.0) : 0.0;
    opt.clipvalue = (fuzz_u8(in) & 3) == 0 ? fuzz_param(in, 0.0, 2.0) : 0.0;
    return opt;
}

#define T float
#define SUF f32
#include "fuzz_epoch_case.h"
#undef T
#undef SUF
#define T double
#define SUF f64
#include "fuzz_epoch_case.h"
#undef T
#undef SUF

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_bytes in = {data, size};
    fuzz_pick_isa(&in);
    fm_mlp net;
    memset(&net, 0, sizeof(net));
    /* Mostly 1-3 layers; now and then 0 or one more than the engine takes. */
    const unsigned layers = fuzz_u8(&in) % 16;
    net.n_layers = layers == 15 ? FM_MLP_MAX_LAYERS + 1 : layers == 14 ? 0 : 1 + (int)layers % 3;
    const int L = net.n_layers < FM_MLP_MAX_LAYERS ? net.n_layers : FM_MLP_MAX_LAYERS;
    net.n_inputs = fuzz_u8(&in) % 32 == 31 ? -(int64_t)(fuzz_u8(&in) % 2) : fuzz_range(&in, 1, 8);
    for (int l = 0; l < L; l++) {
        fm_layer *ly = &net.layer[l];
        ly->units = fuzz_u8(&in) % 32 == 31 ? -(int64_t)(fuzz_u8(&in) % 2) : fuzz_range(&in, 1, 8);
        ly->use_bias = 1;
        ly->frozen = fuzz_u8(&in) % 4 == 0;
        /* Dropout of the layer's input (layer 0: the network's; not with
         * CSR input, below). */
        ly->dropout = (fuzz_u8(&in) & 1) ? fuzz_param(&in, 0.0, 0.8) : 0.0;
        ly->max_norm = (fuzz_u8(&in) & 1) ? fuzz_param(&in, 0.25, 4.0) : 0.0;
        if (fuzz_u8(&in) % 4 == 0) { /* the layer's own penalties (Keras's scale) */
            ly->kernel_l1 = fuzz_param(&in, 0.0, 0.04);
            ly->kernel_l2 = fuzz_param(&in, 0.0, 0.04);
            ly->bias_l1 = fuzz_param(&in, 0.0, 0.04);
            ly->bias_l2 = fuzz_param(&in, 0.0, 0.04);
        }
        if (l + 1 == L)
            continue;
        /* Any kind (the two hidden layers refuse too), maxout with 0-3
         * pieces or a fraction, the others' parameter in [0, 1]. */
        ly->activation.kind = (fm_activation_kind)fuzz_enum(&in, FM_ACT_COUNT);
        if (ly->activation.kind == FM_ACT_MAXOUT) {
            static const double pieces[] = {1, 2, 3, 2, 1, 3, 0, 1.5};
            ly->activation.param = fuzz_u8(&in) % 16 == 0 ? NAN : pieces[fuzz_u8(&in) % 8];
        } else {
            ly->activation.param = fuzz_param(&in, 0.0, 1.0);
        }
        /* Batch norm off, before or after the activation (or out of range). */
        ly->batch_norm = (fm_bn_placement)fuzz_enum(&in, 3);
        ly->bn_momentum = fuzz_param(&in, 0.0, 1.0);
        ly->bn_epsilon = fuzz_u8(&in) % 16 == 0 ? fuzz_param(&in, -1.0, 0.0) : 1e-5;
        ly->bn_unbiased = fuzz_u8(&in) & 1;
        ly->use_bias = ly->batch_norm != FM_BN_BEFORE || (fuzz_u8(&in) & 1);
    }
    net.output = (fm_output_kind)fuzz_enum(&in, 3);
    /* Set whatever the output kind: classification ignores them. */
    net.loss = (fm_regression_loss_kind)fuzz_enum(&in, FM_LOSS_COUNT);
    if (L >= 1) {
        /* The output's activation: mostly the one its kind needs, now and then any. */
        fm_activation *out = &net.layer[L - 1].activation;
        out->kind = (fm_activation_kind)fuzz_enum(&in, FM_ACT_COUNT);
        if (fuzz_u8(&in) % 8 != 0 && net.output == FM_OUTPUT_SOFTMAX_LOG_LOSS)
            out->kind = FM_ACT_SOFTMAX;
        if (fuzz_u8(&in) % 8 != 0 && net.output == FM_OUTPUT_LOGISTIC_LOG_LOSS)
            out->kind = FM_ACT_LOGISTIC;
        out->param = fuzz_u8(&in) % 16 == 0 ? NAN : 0.0;
        if (fuzz_u8(&in) % 16 == 0) { /* the output layer takes no batch norm */
            net.layer[L - 1].batch_norm = FM_BN_AFTER;
            net.layer[L - 1].bn_epsilon = 1e-3;
        }
    }
    net.loss_param = fuzz_param(&in, 0.125, 2.0);
    net.alpha = fuzz_param(&in, 0.0, 0.04);
    net.penalty = (fm_penalty_kind)fuzz_enum(&in, FM_PENALTY_ELASTICNET + 1);
    net.l1_ratio = fuzz_param(&in, 0.0, 1.0);
    /* 0 (off) half the time. */
    net.clip_grad_norm = (fuzz_u8(&in) & 1) ? fuzz_param(&in, 0.25, 4.0) : 0.0;
    net.clip_grad_value = (fuzz_u8(&in) & 1) ? fuzz_param(&in, 0.25, 4.0) : 0.0;
    const int use_f64 = fuzz_u8(&in) & 1;
    /* bfloat16 products: float parameters only (the binding's rule too). */
    net.compute = (fm_compute_kind)fuzz_enum(&in, 2);
    net.convention = (fm_loss_convention)fuzz_enum(&in, FM_CONVENTION_KERAS + 1);

    if (!network_valid(&net)) {
        /* Refused everywhere, before any array is read (there are none). */
        if (fm_mlp_workspace_new(&net, 4, use_f64 ? sizeof(double) : sizeof(float), 1) != NULL ||
            fm_mlp_packed_new(&net, 1) != NULL)
            abort();
        fm_input none = {0};
        const fm_status st =
            use_f64 ? fm_mlp_predict_f64(&net, NULL, NULL, &none, 1, NULL, NULL, NULL, 1, 1)
                    : fm_mlp_predict_f32(&net, NULL, NULL, &none, 1, NULL, NULL, NULL, 1, 1);
        if (st != (fm_status)FM_ERR_ARGUMENT)
            abort();
        return 0;
    }
    if (use_f64 && net.compute == FM_COMPUTE_BF16) {
        if (fm_mlp_workspace_new(&net, 4, sizeof(double), 1) != NULL)
            abort(); /* bfloat16 products need float master weights */
        return 0;
    }

    fuzz_data dd;
    memset(&dd, 0, sizeof(dd));
    dd.n = fuzz_range(&in, 1, FUZZ_MAX_ROWS);
    const int64_t n_out = net.layer[net.n_layers - 1].units;
    for (int64_t i = 0; i < dd.n; i++) {
        const int64_t label = fuzz_range(&in, 0, n_out - 1);
        for (int64_t j = 0; j < n_out; j++)
            dd.y[i * n_out + j] = net.output == FM_OUTPUT_SOFTMAX_LOG_LOSS ? (double)(j == label)
                                  : net.output == FM_OUTPUT_LOGISTIC_LOG_LOSS
                                      ? (double)(fuzz_u8(&in) & 1)
                                      : fabs(fuzz_value(&in)); /* >= 0 for Poisson */
    }
    /* A shuffle: a permutation of the rows (the binding's `order`). */
    for (int64_t i = 0; i < dd.n; i++)
        dd.order[i] = i;
    for (int64_t i = dd.n - 1; i > 0; i--) {
        const int64_t j = fuzz_range(&in, 0, i), t = dd.order[i];
        dd.order[i] = dd.order[j];
        dd.order[j] = t;
    }
    int64_t *indptr = NULL, *indices = NULL;
    if (fuzz_u8(&in) & 1) {
        /* Random CSR, mostly valid (sorted offsets, in-range columns), now
         * and then not: what csr_valid refuses is not run. */
        const int64_t n_cols = net.n_inputs;
        dd.nnz = fuzz_range(&in, 0, dd.n * n_cols);
        indptr = fuzz_alloc((size_t)(dd.n + 1) * sizeof(int64_t));
        indices = fuzz_alloc((size_t)dd.nnz * sizeof(int64_t));
        const int wild = (fuzz_u8(&in) % 8) == 0;
        indptr[0] = wild ? fuzz_range(&in, -2, 2) : 0;
        for (int64_t r = 1; r <= dd.n; r++)
            indptr[r] = wild ? fuzz_range(&in, -2, dd.nnz + 2)
                             : indptr[r - 1] + fuzz_range(&in, 0, (dd.nnz - indptr[r - 1]));
        for (int64_t p = 0; p < dd.nnz; p++)
            indices[p] = wild ? fuzz_range(&in, -2, n_cols + 2) : fuzz_range(&in, 0, n_cols - 1);
        net.layer[0].dropout = 0.0; /* the binding refuses dropout of CSR input */
        if (!csr_valid(dd.n, n_cols, indptr, indices, dd.nnz)) {
            free(indptr);
            free(indices);
            return 0;
        }
        dd.indptr = indptr;
        dd.indices = indices;
    }
    if (use_f64)
        run_case_f64(&in, &net, &dd);
    else
        run_case_f32(&in, &net, &dd);
    free(indptr);
    free(indices);
    return 0;
}
