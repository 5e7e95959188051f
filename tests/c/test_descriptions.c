/*
 * The engine refuses every invalid network (fm_mlp) and optimizer
 * (fm_optimizer) description, field by field: compiled and run by
 * tests/test_descriptions.py (under ASan + UBSan where the compiler has
 * them). Each case is a valid description with one field changed; an
 * invalid network gets no workspace (fm_mlp_workspace_new returns NULL), an
 * invalid optimizer makes fm_mlp_epoch_* and fm_optimizer_step_* return
 * FM_ERR_ARGUMENT before changing anything. The binding checks the same
 * rules first (with messages); this holds the C layer to them on its own.
 *
 * Prints one line per check, "ok <name>" or "FAIL <name>", and exits 1 if
 * any check failed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fastmlp.h"
#include "train.h"

static int failures = 0, checks = 0;

static void check(int ok, const char *name)
{
    printf("%s %s\n", ok ? "ok" : "FAIL", name);
    failures += !ok;
    checks++;
}

/* A valid regression network 3 -> 4 -> 2 with every option's field set. */
static fm_mlp valid_network(void)
{
    fm_mlp net;
    memset(&net, 0, sizeof(net));
    net.n_layers = 2;
    net.n_inputs = 3;
    fm_layer *hidden = &net.layer[0], *out = &net.layer[1];
    hidden->units = 4;
    hidden->activation.kind = FM_ACT_LEAKY_RELU;
    hidden->activation.param = 0.01;
    hidden->dropout = 0.1;
    hidden->batch_norm = FM_BN_BEFORE;
    hidden->bn_momentum = 0.1;
    hidden->bn_epsilon = 1e-5;
    hidden->bn_unbiased = 1;
    hidden->kernel_l1 = 0.01;
    hidden->kernel_l2 = 0.02;
    hidden->bias_l2 = 0.01;
    hidden->max_norm = 3.0;
    hidden->frozen = 1;
    out->units = 2;
    out->activation.kind = FM_ACT_IDENTITY;
    out->dropout = 0.2;
    out->max_norm = 3.0;
    out->use_bias = 1;
    net.output = FM_OUTPUT_REGRESSION;
    net.loss = FM_LOSS_HUBER;
    net.loss_param = 1.0;
    net.alpha = 1e-4;
    net.penalty = FM_PENALTY_ELASTICNET;
    net.l1_ratio = 0.15;
    net.clip_grad_norm = 1.0;
    net.clip_grad_value = 0.5;
    net.compute = FM_COMPUTE_NATIVE;
    return net;
}

static void check_network(const char *name, fm_mlp net, int valid)
{
    fm_mlp_workspace *ws = fm_mlp_workspace_new(&net, 4, sizeof(double), 1);
    check((ws != NULL) == valid, name);
    fm_mlp_workspace_free(ws);
}

#define NETWORK_CASE(name, statement, valid)                                                       \
    do {                                                                                           \
        fm_mlp net = valid_network();                                                              \
        statement;                                                                                 \
        check_network(name, net, valid);                                                           \
    } while (0)

static void network_cases(void)
{
    NETWORK_CASE("network valid", (void)0, 1);
    NETWORK_CASE("network n_layers 0", net.n_layers = 0, 0);
    NETWORK_CASE("network n_layers above the maximum", net.n_layers = FM_MLP_MAX_LAYERS + 1, 0);
    NETWORK_CASE("network units 0", net.layer[0].units = 0, 0);
    NETWORK_CASE("network n_inputs 0", net.n_inputs = 0, 0);
    NETWORK_CASE("network units negative", net.layer[1].units = -3, 0);
    NETWORK_CASE("network hidden softmax", net.layer[0].activation.kind = FM_ACT_SOFTMAX, 0);
    NETWORK_CASE("network hidden heaviside", net.layer[0].activation.kind = FM_ACT_HEAVISIDE, 0);
    NETWORK_CASE("network hidden kind out of range", net.layer[0].activation.kind = FM_ACT_COUNT,
                 0);
    NETWORK_CASE("network hidden kind negative",
                 net.layer[0].activation.kind = (fm_activation_kind)-1, 0);
    NETWORK_CASE("network hidden param NaN", net.layer[0].activation.param = NAN, 0);
    NETWORK_CASE("network maxout with batch norm", net.layer[0].activation.kind = FM_ACT_MAXOUT;
                 net.layer[0].activation.param = 2, 0);
    NETWORK_CASE("network maxout", net.layer[0].activation.kind = FM_ACT_MAXOUT;
                 net.layer[0].activation.param = 2; net.layer[0].batch_norm = FM_BN_OFF, 1);
    NETWORK_CASE("network maxout, batch norm after", net.layer[0].activation.kind = FM_ACT_MAXOUT;
                 net.layer[0].activation.param = 2; net.layer[0].batch_norm = FM_BN_AFTER, 1);
    NETWORK_CASE("network maxout 1.5 pieces", net.layer[0].activation.kind = FM_ACT_MAXOUT;
                 net.layer[0].activation.param = 1.5; net.layer[0].batch_norm = FM_BN_OFF, 0);
    NETWORK_CASE("network output kind out of range", net.output = (fm_output_kind)3, 0);
    NETWORK_CASE("network output kind negative", net.output = (fm_output_kind)-1, 0);
    NETWORK_CASE("network out_activation maxout", net.layer[1].activation.kind = FM_ACT_MAXOUT, 0);
    NETWORK_CASE("network out_activation softmax", net.layer[1].activation.kind = FM_ACT_SOFTMAX,
                 0);
    NETWORK_CASE("network out_activation out of range", net.layer[1].activation.kind = FM_ACT_COUNT,
                 0);
    NETWORK_CASE("network out_activation softplus", net.layer[1].activation.kind = FM_ACT_SOFTPLUS,
                 1);
    NETWORK_CASE("network loss out of range", net.loss = FM_LOSS_COUNT, 0);
    NETWORK_CASE("network huber delta 0", net.loss_param = 0.0, 0);
    NETWORK_CASE("network huber delta NaN", net.loss_param = NAN, 0);
    NETWORK_CASE("network squared error ignores loss_param", net.loss = FM_LOSS_SQUARED_ERROR;
                 net.loss_param = 0.0, 1);
    /* Classification outputs ignore the regression fields. */
    NETWORK_CASE("network softmax output", net.output = FM_OUTPUT_SOFTMAX_LOG_LOSS;
                 net.layer[1].activation.kind = FM_ACT_SOFTMAX; net.loss = FM_LOSS_COUNT, 1);
    NETWORK_CASE("network softmax output without softmax", net.output = FM_OUTPUT_SOFTMAX_LOG_LOSS,
                 0);
    NETWORK_CASE("network alpha negative", net.alpha = -1e-4, 0);
    NETWORK_CASE("network alpha NaN", net.alpha = NAN, 0);
    NETWORK_CASE("network penalty out of range", net.penalty = FM_PENALTY_ELASTICNET + 1, 0);
    NETWORK_CASE("network penalty negative", net.penalty = (fm_penalty_kind)-1, 0);
    NETWORK_CASE("network l1_ratio above 1", net.l1_ratio = 1.5, 0);
    NETWORK_CASE("network l1_ratio NaN", net.l1_ratio = NAN, 0);
    NETWORK_CASE("network clip_grad_norm negative", net.clip_grad_norm = -1.0, 0);
    NETWORK_CASE("network clip_grad_norm NaN", net.clip_grad_norm = NAN, 0);
    NETWORK_CASE("network clip_grad_value negative", net.clip_grad_value = -1.0, 0);
    NETWORK_CASE("network clip_grad_value NaN", net.clip_grad_value = NAN, 0);
    NETWORK_CASE("network max_norm negative", net.layer[0].max_norm = -1.0, 0);
    NETWORK_CASE("network max_norm NaN", net.layer[1].max_norm = NAN, 0);
    NETWORK_CASE("network clipping and max_norm off", net.clip_grad_norm = 0.0;
                 net.clip_grad_value = 0.0; net.layer[0].max_norm = 0.0, 1);
    NETWORK_CASE("network dropout 1", net.layer[1].dropout = 1.0, 0);
    NETWORK_CASE("network dropout negative", net.layer[1].dropout = -0.1, 0);
    NETWORK_CASE("network dropout NaN", net.layer[1].dropout = NAN, 0);
    NETWORK_CASE("network bn_epsilon 0", net.layer[0].bn_epsilon = 0.0, 0);
    NETWORK_CASE("network bn_momentum above 1", net.layer[0].bn_momentum = 1.5, 0);
    NETWORK_CASE("network bn fields unused without batch norm", net.layer[0].batch_norm = FM_BN_OFF;
                 net.layer[0].bn_epsilon = 0.0, 1);
    NETWORK_CASE("network batch norm on the output layer", net.layer[1].batch_norm = FM_BN_AFTER;
                 net.layer[1].bn_epsilon = 1e-3, 0);
    NETWORK_CASE("network batch norm placement out of range",
                 net.layer[0].batch_norm = (fm_bn_placement)3, 0);
    NETWORK_CASE("network input dropout", net.layer[0].dropout = 0.5, 1);
    NETWORK_CASE("network kernel_l2 negative", net.layer[0].kernel_l2 = -1.0, 0);
    NETWORK_CASE("network bias_l1 NaN", net.layer[1].bias_l1 = NAN, 0);
    NETWORK_CASE("network compute kind out of range", net.compute = (fm_compute_kind)2, 0);
    NETWORK_CASE("network compute kind negative", net.compute = (fm_compute_kind)-1, 0);
}

/* A valid optimizer of `kind` over n_params values (states zeroed). */
static fm_optimizer valid_optimizer(fm_optimizer_kind kind, double *states)
{
    fm_optimizer opt;
    memset(&opt, 0, sizeof(opt));
    opt.kind = kind;
    opt.arithmetic = FM_STEP_PLAIN;
    opt.learning_rate = 0.01;
    opt.momentum = 0.9;
    opt.nesterov = 1;
    opt.beta_1 = 0.9;
    opt.beta_2 = 0.999;
    opt.epsilon = 1e-8;
    opt.rho = 0.99;
    opt.momentum_decay = 0.004;
    opt.weight_decay = 0.0;
    opt.t = 0;
    opt.mu_product = 1.0;
    for (int k = 0; k < FM_OPT_MAX_STATES; k++)
        opt.state[k] = states + 64 * k;
    return opt;
}

/* One epoch of a small classifier with `opt`: FM_ERR_ARGUMENT and nothing
 * changed when `valid` is 0, FM_OK when it is 1. */
static void check_optimizer(const char *name, fm_optimizer opt, int valid)
{
    fm_mlp net;
    memset(&net, 0, sizeof(net));
    net.n_layers = 2;
    net.n_inputs = 2;
    net.layer[0].units = 3;
    net.layer[1].units = 2;
    net.layer[0].activation.kind = FM_ACT_TANH;
    net.layer[1].activation.kind = FM_ACT_SOFTMAX;
    net.layer[0].use_bias = net.layer[1].use_bias = 1;
    net.output = FM_OUTPUT_SOFTMAX_LOG_LOSS;
    double W0[6] = {0.1, -0.2, 0.3, 0.4, -0.5, 0.6}, b0[3] = {0.1, 0.2, 0.3};
    double W1[6] = {0.5, -0.5, 0.25, 0.75, -0.25, 0.1}, b1[2] = {0.0, 0.1};
    double before[17];
    memcpy(before, W0, sizeof(W0));
    memcpy(before + 6, b0, sizeof(b0));
    memcpy(before + 9, W1, sizeof(W1));
    memcpy(before + 15, b1, sizeof(b1));
    double *coefs[2] = {W0, W1}, *intercepts[2] = {b0, b1};
    const double X[8] = {1, 2, -1, 0.5, 0.25, -2, 3, 1}, Y[8] = {1, 0, 0, 1, 1, 0, 0, 1};
    fm_input input = {0};
    input.dense = X;
    input.ld = 2;
    fm_mlp_workspace *ws = fm_mlp_workspace_new(&net, 2, sizeof(double), 0);
    if (ws == NULL) {
        check(0, name);
        return;
    }
    double loss = 0.0;
    const fm_status st = fm_mlp_epoch_f64(&net, coefs, intercepts, NULL, &input, Y, NULL, NULL, 4,
                                          2, &opt, ws, 1, 0, &loss);
    double after[17];
    memcpy(after, W0, sizeof(W0));
    memcpy(after + 6, b0, sizeof(b0));
    memcpy(after + 9, W1, sizeof(W1));
    memcpy(after + 15, b1, sizeof(b1));
    const int unchanged = memcmp(before, after, sizeof(before)) == 0;
    check(valid ? st == FM_OK : (st == (fm_status)FM_ERR_ARGUMENT && unchanged), name);
    fm_mlp_workspace_free(ws);
}

#define OPTIMIZER_CASE(name, kind, statement, valid)                                               \
    do {                                                                                           \
        double states[64 * FM_OPT_MAX_STATES] = {0};                                               \
        fm_optimizer opt = valid_optimizer(kind, states);                                          \
        statement;                                                                                 \
        check_optimizer(name, opt, valid);                                                         \
    } while (0)

static void optimizer_cases(void)
{
    for (int kind = 0; kind < FM_OPT_N_KINDS; kind++) {
        char name[96];
        snprintf(name, sizeof(name), "optimizer kind %d valid", kind);
        OPTIMIZER_CASE(name, (fm_optimizer_kind)kind, (void)0, 1);
        snprintf(name, sizeof(name), "optimizer kind %d learning rate 0", kind);
        OPTIMIZER_CASE(name, (fm_optimizer_kind)kind, opt.learning_rate = 0.0, 1);
        snprintf(name, sizeof(name), "optimizer kind %d sklearn arithmetic", kind);
        OPTIMIZER_CASE(name, (fm_optimizer_kind)kind, opt.arithmetic = FM_STEP_SKLEARN, 1);
        snprintf(name, sizeof(name), "optimizer kind %d keras arithmetic", kind);
        OPTIMIZER_CASE(name, (fm_optimizer_kind)kind, opt.arithmetic = FM_STEP_KERAS, 1);
        snprintf(name, sizeof(name), "optimizer kind %d keras clipnorm", kind);
        OPTIMIZER_CASE(name, (fm_optimizer_kind)kind,
                       (opt.arithmetic = FM_STEP_KERAS, opt.clipnorm = 1.0), 1);
    }
    OPTIMIZER_CASE("optimizer clipnorm without keras arithmetic", FM_OPT_ADAM, opt.clipnorm = 1.0,
                   0);
    OPTIMIZER_CASE("optimizer clipvalue without keras arithmetic", FM_OPT_SGD, opt.clipvalue = 0.5,
                   0);
    OPTIMIZER_CASE("optimizer clipvalue negative", FM_OPT_SGD,
                   (opt.arithmetic = FM_STEP_KERAS, opt.clipvalue = -0.5), 0);
    OPTIMIZER_CASE("optimizer clipnorm NaN", FM_OPT_ADAM,
                   (opt.arithmetic = FM_STEP_KERAS, opt.clipnorm = NAN), 0);
    OPTIMIZER_CASE("optimizer clipnorm infinite", FM_OPT_ADAM,
                   (opt.arithmetic = FM_STEP_KERAS, opt.clipnorm = INFINITY), 0);
    OPTIMIZER_CASE("optimizer kind out of range", (fm_optimizer_kind)FM_OPT_N_KINDS, (void)0, 0);
    OPTIMIZER_CASE("optimizer kind negative", (fm_optimizer_kind)-1, (void)0, 0);
    OPTIMIZER_CASE("optimizer arithmetic out of range", FM_OPT_ADAM,
                   opt.arithmetic = (fm_step_arithmetic)3, 0);
    OPTIMIZER_CASE("optimizer learning rate negative", FM_OPT_ADAM, opt.learning_rate = -0.01, 0);
    OPTIMIZER_CASE("optimizer learning rate NaN", FM_OPT_SGD, opt.learning_rate = NAN, 0);
    OPTIMIZER_CASE("optimizer learning rate infinite", FM_OPT_SGD, opt.learning_rate = INFINITY, 0);
    OPTIMIZER_CASE("optimizer weight decay negative", FM_OPT_ADAMW, opt.weight_decay = -0.1, 0);
    OPTIMIZER_CASE("optimizer weight decay NaN", FM_OPT_SGD, opt.weight_decay = NAN, 0);
    OPTIMIZER_CASE("optimizer t negative", FM_OPT_ADAM, opt.t = -1, 0);
    OPTIMIZER_CASE("optimizer t at INT64_MAX", FM_OPT_ADAM, opt.t = INT64_MAX, 0);
    OPTIMIZER_CASE("optimizer t without room for the epoch's steps", FM_OPT_SGD,
                   opt.t = INT64_MAX - 1, 0);
    OPTIMIZER_CASE("optimizer sgd momentum above 1", FM_OPT_SGD, opt.momentum = 1.5, 0);
    OPTIMIZER_CASE("optimizer sgd momentum NaN", FM_OPT_SGD, opt.momentum = NAN, 0);
    OPTIMIZER_CASE("optimizer sgd ignores epsilon", FM_OPT_SGD, opt.epsilon = 0.0, 1);
    OPTIMIZER_CASE("optimizer adam beta_1 1", FM_OPT_ADAM, opt.beta_1 = 1.0, 0);
    OPTIMIZER_CASE("optimizer adamw beta_2 negative", FM_OPT_ADAMW, opt.beta_2 = -0.1, 0);
    OPTIMIZER_CASE("optimizer nadam beta_1 NaN", FM_OPT_NADAM, opt.beta_1 = NAN, 0);
    OPTIMIZER_CASE("optimizer adam epsilon 0", FM_OPT_ADAM, opt.epsilon = 0.0, 0);
    OPTIMIZER_CASE("optimizer adagrad epsilon NaN", FM_OPT_ADAGRAD, opt.epsilon = NAN, 0);
    OPTIMIZER_CASE("optimizer rmsprop epsilon infinite", FM_OPT_RMSPROP, opt.epsilon = INFINITY, 0);
    OPTIMIZER_CASE("optimizer rmsprop rho 1", FM_OPT_RMSPROP, opt.rho = 1.0, 0);
    OPTIMIZER_CASE("optimizer nadam momentum_decay negative", FM_OPT_NADAM,
                   opt.momentum_decay = -0.004, 0);
    OPTIMIZER_CASE("optimizer nadam mu_product above 1", FM_OPT_NADAM, opt.mu_product = 1.5, 0);
    OPTIMIZER_CASE("optimizer nadam mu_product NaN", FM_OPT_NADAM, opt.mu_product = NAN, 0);
    OPTIMIZER_CASE("optimizer missing state", FM_OPT_ADAM, opt.state[1] = NULL, 0);
    /* A schedule's per-step rates: the epoch (4 rows, batches of 2) takes 2. */
    static const double rates_ok[2] = {0.01, 0.005}, rates_nan[2] = {0.01, NAN},
                        rates_neg[3] = {0.01, 0.005, -0.001};
    OPTIMIZER_CASE("optimizer per-step rates", FM_OPT_ADAM,
                   (opt.lr_steps = rates_ok, opt.n_lr_steps = 2), 1);
    OPTIMIZER_CASE("optimizer per-step rates NaN", FM_OPT_SGD,
                   (opt.lr_steps = rates_nan, opt.n_lr_steps = 2), 0);
    OPTIMIZER_CASE("optimizer per-step rate negative (past the epoch's)", FM_OPT_SGD,
                   (opt.lr_steps = rates_neg, opt.n_lr_steps = 3), 0);
    OPTIMIZER_CASE("optimizer per-step rates too few", FM_OPT_SGD,
                   (opt.lr_steps = rates_ok, opt.n_lr_steps = 1), 0);
    OPTIMIZER_CASE("optimizer per-step rate count without rates", FM_OPT_SGD, opt.n_lr_steps = 2,
                   0);

    /* The stand-alone step refuses the same (and leaves t alone). */
    double states[64 * FM_OPT_MAX_STATES] = {0}, param[4] = {1, 2, 3, 4}, grad[4] = {1, 1, 1, 1};
    fm_optimizer opt = valid_optimizer(FM_OPT_ADAM, states);
    opt.beta_2 = 1.0;
    check(fm_optimizer_step_f64(&opt, 4, param, grad) == (fm_status)FM_ERR_ARGUMENT && opt.t == 0 &&
              param[0] == 1.0,
          "optimizer step refuses an invalid optimizer");
    opt = valid_optimizer(FM_OPT_ADAM, states);
    opt.learning_rate = 0.0;
    check(fm_optimizer_step_f64(&opt, 4, param, grad) == FM_OK && opt.t == 1 && param[0] == 1.0,
          "optimizer step with learning rate 0 leaves the parameters");
    /* Per-step rates: each step takes the next (a rate of 0 leaves the parameters). */
    static const double rates[2] = {0.0, 0.5};
    opt = valid_optimizer(FM_OPT_SGD, states);
    opt.momentum = 0.0;
    opt.lr_steps = rates;
    opt.n_lr_steps = 2;
    param[0] = 1.0;
    check(fm_optimizer_step_f64(&opt, 4, param, grad) == FM_OK && param[0] == 1.0 &&
              opt.n_lr_steps == 1 && opt.lr_steps == rates + 1,
          "optimizer step takes the first per-step rate");
    check(fm_optimizer_step_f64(&opt, 4, param, grad) == FM_OK && param[0] == 0.5 &&
              opt.n_lr_steps == 0,
          "optimizer step takes the second per-step rate");
    check(fm_optimizer_step_f64(&opt, 4, param, grad) == (fm_status)FM_ERR_ARGUMENT &&
              param[0] == 0.5,
          "optimizer step refuses past the per-step rates");
    /* The last step the rule allows, to t = INT64_MAX, runs for every kind (NAdam's
     * mu of t + 1 once overflowed there; the fuzzer found it). */
    for (int kind = 0; kind < FM_OPT_N_KINDS; kind++) {
        char name[96];
        snprintf(name, sizeof(name), "optimizer kind %d steps to t = INT64_MAX", kind);
        memset(states, 0, sizeof(states));
        opt = valid_optimizer((fm_optimizer_kind)kind, states);
        opt.t = INT64_MAX - 1;
        check(fm_optimizer_step_f64(&opt, 4, param, grad) == FM_OK && opt.t == INT64_MAX &&
                  isfinite(param[0]),
              name);
    }
}

int main(void)
{
    fm_init(NULL);
    network_cases();
    optimizer_cases();
    printf("checks %d\n", checks);
    return failures != 0;
}
