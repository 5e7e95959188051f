/*
 * fastmlp C kernel layer: the training engine of a multilayer perceptron.
 *
 * One call runs a whole epoch of minibatch training (gather the minibatch by
 * index, forward pass, loss, backward pass, optimizer step, for every
 * minibatch); another computes the full-batch loss and gradient (for
 * L-BFGS); a third runs the forward pass for prediction. The numerics follow
 * scikit-learn's MLP (sklearn/neural_network/_multilayer_perceptron.py)
 * operation by operation where scikit-learn has the feature:
 *   forward   a[l+1] = act(a[l] @ W[l] + b[l])
 *   loss      scikit-learn's LOSS_FUNCTIONS (clipped log loss, half squared
 *             error averaged over outputs, half Poisson deviance), plus
 *             0.5 * alpha * sum ||W||^2 / sum(w) (or the L1 / elastic-net
 *             penalty, fm_mlp.penalty)
 *   delta     a[L] - y (times w), the canonical link shortcut, and
 *             delta[l] = (delta[l+1] @ W[l]^T) * act'(a[l])
 *   gradients (a[l]^T @ delta[l+1] + alpha * W[l]) / sum(w),
 *             sum_rows(delta[l+1]) / sum(w)
 *   updates   fm_optimizer_step's rules (scikit-learn's SGD and Adam, and more).
 *
 * Layout: a network of L weight layers (fm_layer) has widths
 * units[0..L] (fm_mlp_width: the input's, then each layer's units); W[l] is
 * (units[l], cols(l)) row-major, b[l] is (cols(l),), where cols(l) =
 * units[l+1] except for a maxout hidden layer (layer[l].activation
 * FM_ACT_MAXOUT with k = its param pieces), whose units have k pieces
 * each: cols(l) = units[l+1] * k, unit j's pieces being columns j*k ..
 * j*k + k - 1 (fm_mlp_cols). Inputs X are (n, units[0]), dense rows or CSR
 * (fm_input); targets Y are (n, units[L]) contiguous; sample weights (n,) or
 * NULL. The flat gradient and optimizer state follow scikit-learn's
 * parameter order, W[0..L-1] then b[0..L-1], then batch norm's gammas and
 * betas (fm_mlp_layout).
 *
 * Maxout layers: a = max over each unit's pieces of z = a_prev @ W + b (the
 * first maximum wins ties), computed in the product's output stage, which
 * also records the winning piece per unit; backward, a unit's delta goes to
 * its winning piece's column of dL/dz, 0 to the others. Dropout applies to
 * the units (after the max); batch normalisation is not supported with
 * maxout (the network is invalid).
 */
#ifndef FASTMLP_TRAIN_H
#define FASTMLP_TRAIN_H

#include <stddef.h>
#include <stdint.h>
#include "fastmlp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the output layer, the loss and the first delta go together. */
typedef enum {
    FM_OUTPUT_SOFTMAX_LOG_LOSS = 0, /* multiclass: softmax, categorical log loss */
    FM_OUTPUT_LOGISTIC_LOG_LOSS,    /* binary and multilabel: logistic, binary log loss */
    FM_OUTPUT_REGRESSION            /* out_activation + regression loss */
} fm_output_kind;

#define FM_MLP_MAX_LAYERS 64

/* What the products of a network multiply (fm_mlp.compute). */
typedef enum {
    FM_COMPUTE_NATIVE = 0, /* the parameters' dtype, as scikit-learn computes */
    /* float32 networks only: every GEMM of training and prediction rounds its
     * operands to bfloat16 (nearest even) and accumulates in float32; master
     * weights, biases, optimizer state, losses and element-wise passes stay
     * float32. The weights are packed once per optimizer step (fm_mlp_packed).
     * The sparse first layer (CSR input) stays a float32 product. */
    FM_COMPUTE_BF16 = 1
} fm_compute_kind;

/* Whose scale a network's loss has (fm_mlp.convention). */
typedef enum {
    /* scikit-learn's: the minibatch loss sum(w * loss) / sum(w), squared
     * error halved, probabilities clipped at the dtype's epsilon, log losses
     * summed over outputs, clip_grad_norm as torch's clip_grad_norm_. */
    FM_CONVENTION_SKLEARN = 0,
    /* Keras 3's (keras/src/losses, "sum_over_batch_size"): the minibatch
     * loss sum(w * loss) / rows (the weights are not renormalised, so a
     * minibatch of zero weights is legal), squared error not halved
     * ((p - y)^2, gradient 2 (p - y)), probabilities clipped at 1e-7
     * (keras.backend.epsilon()), binary cross-entropy averaged over
     * outputs, clip_grad_norm scaling by clip / max(norm, clip)
     * (clip_by_global_norm). */
    FM_CONVENTION_KERAS = 1
} fm_loss_convention;

/* Where a layer's batch normalisation sits (fm_layer.batch_norm). */
typedef enum {
    FM_BN_OFF = 0,
    FM_BN_BEFORE, /* on the product (+ bias when use_bias), before the activation */
    FM_BN_AFTER   /* on the activation's output (the layer's output) */
} fm_bn_placement;

/*
 * One weight layer: W (fan_in, cols) and b (cols,), fan_in the previous
 * layer's units (the input's width for layer 0), cols = units, or units *
 * pieces for maxout (fm_mlp_cols). Its forward pass, stage by stage
 * (train_tmpl.h, each stage with its NumPy twin in fastmlp.reference):
 *   x'  = dropout(x)              (training epochs, rate `dropout`)
 *   z   = x' @ W (+ b)            (product; bias when use_bias)
 *   z   = batch_norm(z)           (FM_BN_BEFORE)
 *   a   = activation(z)           (maxout: max over each unit's pieces)
 *   a   = batch_norm(a)           (FM_BN_AFTER)
 * The output layer's activation is the output's (softmax, logistic or the
 * regression output activation), its loss fm_mlp.loss; it takes neither
 * batch norm nor dropout of its own output.
 */
typedef struct {
    int64_t units; /* output units */
    fm_activation activation;
    /* Inverted dropout on the layer's INPUT (layer 0: the network's input),
     * 0 <= rate < 1, training epochs only: kept values are scaled by
     * 1 / (1 - rate), so prediction and the L-BFGS / validation losses use
     * the plain network. */
    double dropout;
    /* Batch normalisation, training epochs: per unit,
     * y = gamma * (v - mean_batch) / sqrt(var_batch + bn_epsilon) + beta with
     * the batch's biased variance; the running statistics move as
     * running = (1 - bn_momentum) * running + bn_momentum * batch (PyTorch's
     * momentum; Keras's momentum m is 1 - m here), the running variance from
     * the unbiased batch variance when bn_unbiased (PyTorch) or the biased
     * one (Keras). Prediction folds the running statistics (the caller). */
    fm_bn_placement batch_norm;
    double bn_momentum, bn_epsilon;
    int bn_unbiased;
    /* Penalties at Keras's scale, added to the mean minibatch loss (not
     * divided by sum(w)): kernel_l2 * sum(W^2) + kernel_l1 * sum|W| (and
     * the same on b); on top of fm_mlp's scikit-learn-scaled alpha. */
    double kernel_l1, kernel_l2, bias_l1, bias_l2;
    /* After each step, every column of W (a unit's incoming weights, a
     * maxout piece's) with L2 norm above max_norm is scaled to it (0: off). */
    double max_norm;
    /* W and b keep their values (no weight gradient, no step); deltas
     * still flow through. */
    int frozen;
    /* b is added to the product; without it b stays in the flat layout
     * (scikit-learn's order) but is neither used nor moved (zero gradient). */
    int use_bias;
} fm_layer;

typedef struct {
    int n_layers;     /* L >= 1 weight layers */
    int64_t n_inputs; /* the input's width */
    fm_layer layer[FM_MLP_MAX_LAYERS];
    fm_output_kind output;
    /* FM_OUTPUT_REGRESSION only: the loss (the output activation is
     * layer[L-1].activation: identity, relu, softplus, logistic or tanh;
     * identity with Poisson's log link, whose exp the engine applies). */
    fm_regression_loss_kind loss;
    double loss_param; /* huber's delta */
    /* The penalty of strength alpha on the coefficients, divided by sum(w)
     * (scikit-learn's scaling): L2 0.5 ||W||^2 (scikit-learn's), L1 ||W||_1,
     * ELASTICNET r ||W||_1 + 0.5 (1 - r) ||W||^2 with r = l1_ratio (as
     * SGDClassifier), NONE; the loss reports the penalty the gradient
     * differentiates (sign(0) = 0 for ||W||_1). */
    double alpha;
    fm_penalty_kind penalty;
    double l1_ratio;
    /* Training epochs only (0 = off). clip_grad_norm: the minibatch gradient
     * (all parameters but frozen layers') is scaled by
     * clip_grad_norm / (norm + 1e-6) when its global L2 norm exceeds
     * clip_grad_norm (torch.nn.utils.clip_grad_norm_; the norm summed block
     * by block in a fixed order; FM_CONVENTION_KERAS: by clip_grad_norm /
     * max(norm, clip_grad_norm), Keras's global_clipnorm). clip_grad_value:
     * each gradient value then clamped to [-clip_grad_value,
     * clip_grad_value]. The optimizer's clipnorm / clipvalue (Keras's
     * per-variable clipping, FM_STEP_KERAS) act per variable: each W[l],
     * b[l], gamma and beta scaled by clipnorm / max(its norm, clipnorm), or
     * clamped to [-clipvalue, clipvalue]. */
    double clip_grad_norm, clip_grad_value;
    fm_compute_kind compute;
    fm_loss_convention convention;
} fm_mlp;

/* Width of layer l (0..L): the input's for 0, else weight layer l-1's units. */
static inline int64_t fm_mlp_width(const fm_mlp *net, int l)
{
    return l == 0 ? net->n_inputs : net->layer[l - 1].units;
}

/*
 * The flat parameter vector (gradient, optimizer state) of a network, in
 * scikit-learn's order: W[0..L-1], b[0..L-1], then the gammas of every
 * batch-normalised layer, then their betas. Offsets in values; -1 where a
 * layer has no batch norm. Computed by fm_mlp_fill_layout alone (llm.c's
 * fill_in_parameter_sizes), which the engine, the binding and the Python
 * Network all read.
 */
typedef struct {
    int64_t coef[FM_MLP_MAX_LAYERS], intercept[FM_MLP_MAX_LAYERS];
    int64_t gamma[FM_MLP_MAX_LAYERS], beta[FM_MLP_MAX_LAYERS];
    int64_t n_params;
} fm_mlp_layout;

/* Fill `out`; 0 if a size overflows int64 or a maxout piece count is not
 * an integer >= 1 (out undefined then), else 1. */
int fm_mlp_fill_layout(const fm_mlp *net, fm_mlp_layout *out);

/* The training or prediction inputs: dense rows, or a CSR matrix whose
 * first-layer products are computed sparse x dense (never densified). */
typedef struct {
    const void *dense; /* (n, units[0]) rows with leading dimension ld, or NULL */
    int64_t ld;
    const int64_t *indptr;  /* CSR, when dense == NULL: row r's values are */
    const int64_t *indices; /* data[indptr[r] .. indptr[r+1]), in columns indices[...] */
    const void *data;
    /* fm_mlp_epoch_* with shuffled dense rows: nonzero to check every row
     * as it is gathered (the pass that reads them anyway) instead of the
     * caller checking X beforehand; see FM_ERR_NONFINITE_INPUT. */
    int check_finite;
} fm_input;

/* Columns of W[l] and b[l] (see Layout above); the maxout piece count is
 * checked by fm_mlp_workspace_new (an integer >= 1). */
static inline int64_t fm_mlp_cols(const fm_mlp *net, int l)
{
    if (l + 1 < net->n_layers && net->layer[l].activation.kind == FM_ACT_MAXOUT)
        return net->layer[l].units * (int64_t)net->layer[l].activation.param;
    return net->layer[l].units;
}

/*
 * The weights of a FM_COMPUTE_BF16 network in bfloat16, packed in the GEMM
 * tier's layout for the B operand (fm_bf16_pack_b, internal.h): per layer l,
 * W[l] for the forward product a @ W[l] and, with `backward`, W[l]^T for the
 * delta passed back, delta @ W[l]^T (layers l >= 1). Training workspaces own
 * one, refreshed after every optimizer step. It is a copy that lives within
 * one call: every entry point that multiplies by the weights (epoch,
 * loss_grad, loss, predict without `packed`) packs them first, so writes to
 * coefs between calls (by the caller, a user, a restore) are always seen.
 * A caller that passes its own `packed` to fm_mlp_predict answers for its
 * freshness; the Python predictor does not keep one (fastmlp/_mlp.py).
 */
typedef struct fm_mlp_packed fm_mlp_packed;

/* NULL if the allocation fails or net is not a valid FM_COMPUTE_BF16 network. */
fm_mlp_packed *fm_mlp_packed_new(const fm_mlp *net, int backward);
void fm_mlp_packed_free(fm_mlp_packed *p);
/* Pack coefs (W[l] (units[l], fm_mlp_cols(net, l)) row-major) into p, in the
 * optimizer step's blocks of whole 32-row chunks, shared among up to
 * n_threads threads (the bits do not depend on the split). */
fm_status fm_mlp_pack_f32(const fm_mlp *net, float *const *coefs, fm_mlp_packed *p, int n_threads);

/* The optimizer (kind, hyper-parameters, step count, state arrays of
 * n_params values): fm_optimizer in fastmlp.h. An epoch advances its t (and
 * NADAM's mu_product) once per minibatch and its states in place. */

/* Buffers for minibatches of up to max_rows rows: activations, deltas,
 * gathered inputs and targets, the flat gradient. Allocated once per fit. */
typedef struct fm_mlp_workspace fm_mlp_workspace;

/* NULL if the allocation fails or the network is invalid. elem_size is
 * sizeof(float) or sizeof(double). gather_rows: reserve the (max_rows,
 * units[0]) buffer into which epochs gather shuffled dense input rows; not
 * needed for sparse input, prediction, losses or unshuffled epochs (with
 * many features it would be the largest buffer by far). */
fm_mlp_workspace *fm_mlp_workspace_new(const fm_mlp *net, int64_t max_rows, size_t elem_size,
                                       int gather_rows);
void fm_mlp_workspace_free(fm_mlp_workspace *ws);
int64_t fm_mlp_n_params(const fm_mlp *net);
/* The flat gradient of the last fm_mlp_loss_grad / minibatch (n_params). */
void *fm_mlp_workspace_grad(fm_mlp_workspace *ws);

/*
 * The epochs' fused weight-gradient step (on by default): a layer whose
 * coefficient matrix exceeds 262144 values has its gradient computed chunk
 * by chunk of rows inside the optimizer step, each chunk stepped while in
 * cache, instead of written whole by the backward pass; not with
 * clip_grad_norm (which needs the whole gradient's norm first), frozen
 * layers, a sparse first layer or below a maxout layer. The same bits
 * either way; off (enable 0) for the tests that hold the two paths
 * together. Returns the number of fused chunk products since the last
 * call (then zero).
 */
int64_t fm_mlp_workspace_fuse_step(fm_mlp_workspace *ws, int enable);

/*
 * SGD (Keras's or scikit-learn's, with or without momentum, Nesterov, any
 * penalty, clipping by value, weight decay; no clipping by a norm) applied
 * inside the weight gradient's product, in its output stage (internal.h,
 * fm_gemm_step), for minibatches of at most 256 rows: the gradient of such
 * a layer is never stored. Also under
 * fm_mlp_workspace_fuse_step (off: the gradient, then the step). Returns the
 * number of weight matrices stepped so since the last call (then zero).
 */
int64_t fm_mlp_workspace_product_steps(fm_mlp_workspace *ws);

/*
 * A mostly-zero dense input (MNIST's pixels: 18% nonzero; one-hot and
 * bag-of-words features): each epoch minibatch compressed by rows and by
 * columns in the workspace, and the first layer's products (x @ W, the
 * weight gradient x^T @ delta and its step) skip the zeros (internal.h,
 * fm_sparse_rows): the same values (while the weights are finite: the
 * dense products' 0 * inf is NaN), at a cost that follows the nonzeros
 * (gemm_kernel.h, gemm_sparse). FM_SPARSE_AUTO (the default): when the
 * epoch's first minibatch is at most FM_SPARSE_DENSITY (30%) nonzero, then
 * each minibatch that is; FM_SPARSE_ALWAYS: every minibatch (the tests
 * that hold the two paths together); FM_SPARSE_OFF: never. Only float and
 * double products (not bfloat16), a first layer without input dropout or
 * maxout and of at least two columns, minibatches of at most
 * FM_SPARSE_MAX_ROWS rows. A CSR input (fm_input) takes the same products
 * whenever the mode is not FM_SPARSE_OFF: each minibatch's rows copied
 * into the compressed form, its stored zeros skipped, so the dense input's
 * values (FM_SPARSE_OFF: the CSR loops, which add the bias before the
 * row's values); a minibatch with a row whose column indices are not
 * strictly increasing takes the CSR loops. Prediction (fm_mlp_predict)
 * compresses a CSR input's chunks of rows alike: the dense input's
 * outputs. Returns the number of epoch minibatches that ran so since the
 * last call (then zero).
 */
enum { FM_SPARSE_OFF = 0, FM_SPARSE_AUTO = 1, FM_SPARSE_ALWAYS = 2 };
int64_t fm_mlp_workspace_sparse_input(fm_mlp_workspace *ws, int mode);

/*
 * Where a workspace's epochs spend their time (bench/bench_train.py's
 * split), off unless enabled: seconds of wall clock per part, summed over
 * the epochs' minibatches. FM_PROFILE_PRODUCTS counts every GEMM call
 * (forward and backward); FM_PROFILE_PASSES the rest of forward, loss and
 * backward (activations, loss and first delta, derivatives, bias gradient,
 * dropout, batch norm); FM_PROFILE_STEP the optimizer step
 * (less the fused weight-gradient products in it, which count as products);
 * FM_PROFILE_GATHER the minibatch gather. Disabled, each timed part costs
 * one predictable branch.
 */
enum {
    FM_PROFILE_PRODUCTS = 0,
    FM_PROFILE_PASSES,
    FM_PROFILE_STEP,
    FM_PROFILE_GATHER,
    FM_PROFILE_COUNT
};
/* Turn the clock on (enable != 0) or off; the seconds so far into out
 * (FM_PROFILE_COUNT values) when not NULL, then zeroed. */
void fm_mlp_workspace_profile(fm_mlp_workspace *ws, int enable, double *out);

/*
 * The training accuracy of a workspace's epochs, off unless enabled (a
 * Keras front end's per-epoch "accuracy"): each minibatch's forward pass,
 * before its step, counts its right predictions, weighted by the sample
 * weights. Softmax outputs: argmax(p) == argmax(y) (the first maximum);
 * logistic outputs: (p > 0.5) == (y > 0.5) per output, a row counting the
 * fraction it gets right (Keras's binary_accuracy); regression: none.
 * out (when not NULL) receives {sum of w * right, sum of w} since the last
 * call, then both restart at zero.
 */
void fm_mlp_workspace_accuracy(fm_mlp_workspace *ws, int enable, double *out);

/*
 * The training metrics of a workspace's epochs (a Keras front end's
 * per-epoch "accuracy", "mse", "mae"), off unless enabled: each minibatch's
 * forward pass, before its step, adds per row (unweighted: Keras's
 * `metrics` ignore sample weights, its `weighted_metrics` do not): 1
 * (FM_METRIC_WEIGHT, the rows); 1 if argmax(p) == argmax(y), the first
 * maximum (FM_METRIC_ARGMAX: categorical accuracy); the fraction of outputs
 * with (p > 0.5) == (y > 0.5) (FM_METRIC_THRESHOLD: binary accuracy); the
 * mean over outputs of (p - y)^2 and of |p - y| (FM_METRIC_SQUARED,
 * FM_METRIC_ABSOLUTE), p the output layer's activations, any output kind. out (FM_METRIC_COUNT values, when not
 * NULL) receives the sums since the last call, then they restart at zero.
 */
enum {
    FM_METRIC_WEIGHT = 0,
    FM_METRIC_ARGMAX,
    FM_METRIC_THRESHOLD,
    FM_METRIC_SQUARED,
    FM_METRIC_ABSOLUTE,
    FM_METRIC_COUNT
};
void fm_mlp_workspace_metrics(fm_mlp_workspace *ws, int enable, double *out);

/*
 * One epoch: minibatches of batch_size rows taken in `order` (n indices into
 * X's rows, or NULL for 0..n-1), each followed by an optimizer step.
 * `seed` drives the dropout masks (unused without dropout): the same seed
 * gives the same masks. `bn` holds 4 arrays per weight layer l (units
 * values each): bn[4l] gamma, bn[4l+1] beta, bn[4l+2] running mean,
 * bn[4l+3] running variance, NULL for a layer without batch norm (bn itself
 * may be NULL when no layer has it); gammas and betas take their gradient
 * and optimizer state at fm_mlp_fill_layout's offsets.
 * *loss_sum receives sum over minibatches of (minibatch loss x its rows), as
(The binding splits a long epoch into
 * several calls, checking for Ctrl-C between them.)
 */
/* A minibatch (or the whole batch of fm_mlp_loss_grad) whose sample weights
 * sum to zero: its loss and gradient, divided by sum(w), are undefined.
 * Returned before that minibatch changes anything. */
#define FM_ERR_ZERO_WEIGHT 11
/* X->check_finite and a gathered row holds a NaN or an infinity: returned
 * before that minibatch changes anything (earlier minibatches of the call
 * have stepped: the caller restores its copy of the state). */
#define FM_ERR_NONFINITE_INPUT 12
fm_status fm_mlp_epoch_f32(const fm_mlp *net, float *const *coefs, float *const *intercepts,
                           float *const *bn, const fm_input *X, const float *Y, const float *sw,
                           const int64_t *order, int64_t n, int64_t batch_size, fm_optimizer *opt,
                           fm_mlp_workspace *ws, int n_threads, uint64_t seed, double *loss_sum);
fm_status fm_mlp_epoch_f64(const fm_mlp *net, double *const *coefs, double *const *intercepts,
                           double *const *bn, const fm_input *X, const double *Y, const double *sw,
                           const int64_t *order, int64_t n, int64_t batch_size, fm_optimizer *opt,
                           fm_mlp_workspace *ws, int n_threads, uint64_t seed, double *loss_sum);

/* Full-batch loss and flat gradient (into the workspace, which must hold n
 * rows), for L-BFGS and the gradient checks. With batch norm (`bn` as for
 * the epochs) the statistics are the whole batch's, and its running
 * statistics move once. No dropout. */
fm_status fm_mlp_loss_grad_f32(const fm_mlp *net, float *const *coefs, float *const *intercepts,
                               float *const *bn, const fm_input *X, const float *Y, const float *sw,
                               int64_t n, fm_mlp_workspace *ws, int n_threads, double *loss);
fm_status fm_mlp_loss_grad_f64(const fm_mlp *net, double *const *coefs, double *const *intercepts,
                               double *const *bn, const fm_input *X, const double *Y,
                               const double *sw, int64_t n, fm_mlp_workspace *ws, int n_threads,
                               double *loss);

/* Loss (as in the epochs, L2 term included) of n rows, forward passes only,
 * in chunks of the workspace's max_rows: for validation data. Without batch
 * normalisation (pass folded weights). */
fm_status fm_mlp_loss_f32(const fm_mlp *net, float *const *coefs, float *const *intercepts,
                          const fm_input *X, const float *Y, const float *sw, int64_t n,
                          fm_mlp_workspace *ws, int n_threads, double *loss);
fm_status fm_mlp_loss_f64(const fm_mlp *net, double *const *coefs, double *const *intercepts,
                          const fm_input *X, const double *Y, const double *sw, int64_t n,
                          fm_mlp_workspace *ws, int n_threads, double *loss);

/* The activations of layer n_run (1..L) of n rows into out (n, units[n_run]),
 * in chunks of the workspace's max_rows: with n_run == L the output layer
 * (probabilities for classifiers), below it a hidden layer's activations
 * (the forward pass stops there). Without batch normalisation (pass folded
 * weights) or dropout. With ws == NULL the call allocates (and frees) a
 * forward-only workspace of its own, so that concurrent calls share nothing
 * but the read-only parameters. A FM_COMPUTE_BF16 network multiplies the
 * weights in `packed` (fm_mlp_pack_f32 of coefs) when it is not NULL, else
 * packs coefs into the workspace first; native networks take NULL. */
fm_status fm_mlp_predict_f32(const fm_mlp *net, float *const *coefs, float *const *intercepts,
                             const fm_input *X, int64_t n, float *out, fm_mlp_workspace *ws,
                             const fm_mlp_packed *packed, int n_threads, int n_run);
fm_status fm_mlp_predict_f64(const fm_mlp *net, double *const *coefs, double *const *intercepts,
                             const fm_input *X, int64_t n, double *out, fm_mlp_workspace *ws,
                             const fm_mlp_packed *packed, int n_threads, int n_run);

#ifdef __cplusplus
}
#endif

#endif /* FASTMLP_TRAIN_H */
