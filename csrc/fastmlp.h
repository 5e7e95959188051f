/*
 * fastmlp C kernel layer: public interface.
 *
 * Pure C11, no Python. Every array is row-major (C order); a "leading
 * dimension" ld is the distance in elements between consecutive rows.
 * Sizes and indices are int64_t so that products of dimensions above 2^31
 * cannot overflow. Functions that can fail return an fm_status; the
 * element-wise kernels cannot fail and return void.
 *
 * Naming: fm_<what>_<direction>_<dtype>, dtype f32 (float) or f64 (double).
 */
#ifndef FASTMLP_H
#define FASTMLP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    FM_OK = 0,
    FM_ERR_NOMEM = 1,    /* a workspace allocation failed */
    FM_ERR_ARGUMENT = 2, /* a size or option is out of range */
    FM_ERR_BLAS = 3      /* BLAS backend requested but absent or too large */
} fm_status;

/* ------------------------------------------------------------------------ */
/* Activations                                                              */
/* ------------------------------------------------------------------------ */

typedef enum {
    FM_ACT_IDENTITY = 0,
    FM_ACT_LOGISTIC, /* 1 / (1 + exp(-z)) */
    FM_ACT_TANH,
    FM_ACT_RELU,       /* max(z, 0) */
    FM_ACT_LEAKY_RELU, /* z if z > 0 else param * z (param = negative_slope) */
    FM_ACT_ELU,        /* z if z > 0 else param * (exp(z) - 1) (param = alpha) */
    FM_ACT_SELU,       /* scale * (z if z > 0 else alpha * (exp(z) - 1)) */
    FM_ACT_GELU,       /* z * Phi(z), exact (erf) form */
    FM_ACT_SOFTPLUS,   /* log(1 + exp(z)) */
    FM_ACT_SOFTMAX,    /* row-wise exp(z - max) / sum */
    FM_ACT_HEAVISIDE,  /* 1 if z >= 0 else 0; forward only (perceptron) */
    FM_ACT_MAXOUT,     /* max over groups of param = k consecutive columns (see below) */
    FM_ACT_COUNT
} fm_activation_kind;

/* An activation and its one scalar parameter (ignored by most kinds). */
typedef struct {
    fm_activation_kind kind;
    double param;
} fm_activation;

/*
 * out[i, j] = act(z[i, j]) for z, out of shape (m, n) with leading
 * dimensions ldz, ldo (>= n). out may alias z (in place: same pointer and
 * leading dimension). Softmax is per row. Any m, n >= 0. NaN propagates;
 * an invalid kind fills out with NaN. The formulas are in activation_math.h.
 *
 * Maxout (Goodfellow et al. 2013) reduces k = act.param pieces per unit
 * (an integer >= 1), so z is (m, n * k) with ldz >= n * k and out (m, n):
 *   out[i, j] = max(z[i, j*k], ..., z[i, j*k + k - 1])
 * i.e. unit j's pieces are the k consecutive columns j*k .. j*k + k - 1.
 * Of equal maxima the first piece wins (the one the gradient goes to); a
 * NaN piece makes the unit NaN. out must not overlap z. A k that is not
 * such an integer fills out with NaN.
 */
void fm_activation_forward_f32(fm_activation act, int64_t m, int64_t n, const float *z, int64_t ldz,
                               float *out, int64_t ldo);
void fm_activation_forward_f64(fm_activation act, int64_t m, int64_t n, const double *z,
                               int64_t ldz, double *out, int64_t ldo);

/*
 * Backward through an activation, given the pre-activation z (m, n):
 *   grad_out == NULL: grad_in[i, j] = act'(z[i, j]) (not for softmax);
 *   otherwise       : grad_in = vector-Jacobian product with grad_out, i.e.
 *                     grad_out * act'(z) element-wise, and for softmax
 *                     s * (g - sum_j g * s) per row with s = softmax(z).
 * All three arrays share the shape (m, n) and are contiguous rows of
 * length n (leading dimension n). grad_in may alias grad_out or z (each
 * element is read before it is written). act'(NaN) is NaN.
 * Heaviside has no useful derivative: 0 everywhere. Softmax without
 * grad_out, and an invalid kind, fill grad_in with NaN.
 *
 * Maxout: z and grad_in are (m, n * k), grad_out is (m, n) (n units of k
 * pieces, as for the forward pass); grad_in is 1 (grad_out == NULL) or
 * grad_out[i, j] (otherwise) at unit j's winning piece (the forward pass's:
 * the first maximum) and 0 at its other pieces; NaN at all k pieces of a
 * unit with a NaN piece. grad_in may alias z, not grad_out.
 */
void fm_activation_backward_f32(fm_activation act, int64_t m, int64_t n, const float *z,
                                const float *grad_out, float *grad_in);
void fm_activation_backward_f64(fm_activation act, int64_t m, int64_t n, const double *z,
                                const double *grad_out, double *grad_in);

/* ------------------------------------------------------------------------ */
/* GEMM and the fused dense layer                                           */
/* ------------------------------------------------------------------------ */

/* Which implementation fm_gemm_* and fm_dense_* use. */
typedef enum {
    FM_GEMM_AUTO = 0, /* native kernels; see fm_gemm_select() */
    FM_GEMM_NATIVE = 1,
    FM_GEMM_BLAS = 2
} fm_gemm_backend;

/*
 * C = alpha * op(A) @ op(B) + beta * C.
 *   op(A) is (m, k): A is stored (m, k) with lda if !trans_a, (k, m) otherwise.
 *   op(B) is (k, n): B is stored (k, n) with ldb if !trans_b, (n, k) otherwise.
 *   C is (m, n) with ldc.
 * beta == 0 means C is write-only (NaNs in C are not propagated), as in BLAS.
 * Uses at most `n_threads` OpenMP threads (<= 0: OpenMP's current maximum).
 */
fm_status fm_gemm_f32(fm_gemm_backend backend, int n_threads, int trans_a, int trans_b, int64_t m,
                      int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                      const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
fm_status fm_gemm_f64(fm_gemm_backend backend, int n_threads, int trans_a, int trans_b, int64_t m,
                      int64_t n, int64_t k, double alpha, const double *a, int64_t lda,
                      const double *b, int64_t ldb, double beta, double *c, int64_t ldc);

/*
 * Dense layer forward: out = act(op(X) @ op(W) + bias).
 *   op(X) is (m, k), op(W) is (k, n) (same storage rules as fm_gemm), bias is
 *   (n,) or NULL, out is (m, n) with ldo.
 * The bias and the activation are applied in the GEMM's output stage, on each
 * output tile while it is in registers (identity, relu) or still in L1 (the
 * rest), not as extra passes over memory. Softmax needs whole rows, so it is
 * applied per row block after the last tile of the block.
 */
fm_status fm_dense_forward_f32(fm_gemm_backend backend, int n_threads, int trans_x, int trans_w,
                               int64_t m, int64_t n, int64_t k, const float *x, int64_t ldx,
                               const float *w, int64_t ldw, const float *bias, fm_activation act,
                               float *out, int64_t ldo);
fm_status fm_dense_forward_f64(fm_gemm_backend backend, int n_threads, int trans_x, int trans_w,
                               int64_t m, int64_t n, int64_t k, const double *x, int64_t ldx,
                               const double *w, int64_t ldw, const double *bias, fm_activation act,
                               double *out, int64_t ldo);

/*
 * bfloat16 products (float32 arrays in and out): as fm_gemm_f32 /
 * fm_dense_forward_f32, but op(A) and op(B) are rounded to bfloat16 (ties to
 * even; denormals to a zero of their sign) while they are packed, the
 * products (exact in float) are summed in float, and the output stage
 * (alpha, beta, bias, activation) is float. Always native (no BLAS has it).
 * The tier (fm_bf16_tier_name) is "amx" (TDPBF16PS), "avx512_bf16"
 * (VDPBF16PS) or "emulated" (float vector code). "amx" and "emulated" give
 * the same bits on every machine: per chunk of 32 K values, two float
 * chains of fused multiply-adds over the even and the odd K of the chunk,
 * each from +0, then c = c + (even + odd); denormal results flushed to
 * zero. "avx512_bf16" has one chain over the K pairs (odd then even K of
 * each pair), so its last bits differ. Each product's error is within
 * k * 2^-24 * sum_p |a_p b_p| of the exact sum of the rounded operands.
 */
fm_status fm_gemm_bf16_f32(int n_threads, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                           float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                           float beta, float *c, int64_t ldc);
fm_status fm_dense_forward_bf16_f32(int n_threads, int trans_x, int trans_w, int64_t m, int64_t n,
                                    int64_t k, const float *x, int64_t ldx, const float *w,
                                    int64_t ldw, const float *bias, fm_activation act, float *out,
                                    int64_t ldo);

/* ------------------------------------------------------------------------ */
/* Losses. Each returns the loss and writes its gradient w.r.t. the first   */
/* argument. Convention (scikit-learn's): the loss is the weighted mean over */
/* samples, sum_i w_i * l_i / sum_i w_i, of the per-sample loss l_i summed  */
/* over outputs; w_i = 1 when sample_weight is NULL. The gradient is that of */
/* the returned value, so it carries the factor w_i / sum(w).               */
/* The sums are accumulated in double for either dtype. The gradient may    */
/* alias the first argument. With m < 1 the result is NaN; the caller must  */
/* ensure sum(w) > 0 (weights finite and >= 0).                             */
/* ------------------------------------------------------------------------ */

/*
 * Softmax cross-entropy from logits (m, n), fused and stable
 * (max-subtracted log-sum-exp). Targets either as labels (int64, (m,),
 * values in [0, n)) or as a probability matrix y_prob (m, n); exactly one of
 * labels / y_prob is non-NULL. dlogits (m, n) may alias logits.
 * Returns NaN if a label is out of range (the binding checks first), or if
 * n < 1. Terms with y_prob == 0 contribute 0 even for logits of -inf.
 */
double fm_softmax_cross_entropy_f32(int64_t m, int64_t n, const float *logits,
                                    const int64_t *labels, const float *y_prob,
                                    const float *sample_weight, float *dlogits);
double fm_softmax_cross_entropy_f64(int64_t m, int64_t n, const double *logits,
                                    const int64_t *labels, const double *y_prob,
                                    const double *sample_weight, double *dlogits);

/*
 * Sigmoid binary cross-entropy from logits (m, n) against y (m, n) in [0, 1],
 * each column an independent binary output (multilabel). Stable for any
 * |logit|: l = max(z, 0) - z*y + log1p(exp(-|z|)).
 */
double fm_sigmoid_binary_cross_entropy_f32(int64_t m, int64_t n, const float *logits,
                                           const float *y, const float *sample_weight,
                                           float *dlogits);
double fm_sigmoid_binary_cross_entropy_f64(int64_t m, int64_t n, const double *logits,
                                           const double *y, const double *sample_weight,
                                           double *dlogits);

typedef enum {
    FM_LOSS_SQUARED_ERROR = 0, /* 0.5 * (p - y)^2 */
    FM_LOSS_ABSOLUTE_ERROR,    /* |p - y|, gradient sign(p - y) (0 at 0) */
    FM_LOSS_HUBER,             /* 0.5 r^2 if |r| <= delta else delta (|r| - delta / 2) */
    FM_LOSS_POISSON,           /* half deviance with log link, p = log(mean):
                                  exp(p) - y p + xlogy(y, y) - y */
    FM_LOSS_COUNT
} fm_regression_loss_kind;

/* Regression loss of predictions pred (m, n) against y (m, n). */
double fm_regression_loss_f32(fm_regression_loss_kind kind, double param, int64_t m, int64_t n,
                              const float *pred, const float *y, const float *sample_weight,
                              float *grad);
double fm_regression_loss_f64(fm_regression_loss_kind kind, double param, int64_t m, int64_t n,
                              const double *pred, const double *y, const double *sample_weight,
                              double *grad);

/* ------------------------------------------------------------------------ */
/* Optimizer steps, in place over n contiguous parameters, with exactly     */
/* scikit-learn's formulas and operation order (scalars rounded to the      */
/* array's dtype first, as NumPy does), so results match bit for bit.       */
/* ------------------------------------------------------------------------ */

/*
 * SGD with momentum (scikit-learn's SGDOptimizer):
 *   velocity = momentum * velocity - lr * grad
 *   update   = momentum * velocity - lr * grad   if nesterov
 *              velocity                          otherwise
 *   param   += update
 */
void fm_sgd_step_f32(int64_t n, float *param, const float *grad, float *velocity,
                     double learning_rate, double momentum, int nesterov);
void fm_sgd_step_f64(int64_t n, double *param, const double *grad, double *velocity,
                     double learning_rate, double momentum, int nesterov);

/*
 * Adam (scikit-learn's AdamOptimizer), t >= 1 the step number after increment:
 *   m = beta_1 * m + (1 - beta_1) * grad
 *   v = beta_2 * v + (1 - beta_2) * grad^2
 *   lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)     (in double)
 *   param += -lr_t * m / (sqrt(v) + epsilon)
 * lr_t is a NumPy float64 scalar in scikit-learn, which under NumPy >= 2
 * (NEP 50) promotes the last line to double for float32 arrays: the update
 * is computed in double and the sum rounded back to float, as here.
 */
void fm_adam_step_f32(int64_t n, float *param, const float *grad, float *m, float *v, int64_t t,
                      double learning_rate, double beta_1, double beta_2, double epsilon);
void fm_adam_step_f64(int64_t n, double *param, const double *grad, double *m, double *v, int64_t t,
                      double learning_rate, double beta_1, double beta_2, double epsilon);

/*
 * Every optimizer as one kind (train.h's epochs take the same struct).
 *
 * The rules, per parameter, with g the (finished) gradient, t the step
 * number after the increment (t >= 1), lr the learning rate, and, when
 * weight_decay > 0, first the decoupled decay param *= 1 - lr * weight_decay
 * (AdamW's; for every kind):
 *   SGD      scikit-learn's SGDOptimizer (fm_sgd_step above)
 *   ADAM     scikit-learn's AdamOptimizer (fm_adam_step above)
 *   RMSPROP  torch.optim.RMSprop: s = rho * s + (1 - rho) * g^2;
 *            param += -lr * (g / (sqrt(s) + epsilon))
 *   ADAGRAD  torch.optim.Adagrad: s = s + g^2;
 *            param += -lr * (g / (sqrt(s) + epsilon))
 *   ADAMW    torch.optim.AdamW: m, v as Adam;
 *            param += -(lr / (1 - beta_1^t)) * (m / (sqrt(v) / sqrt(1 - beta_2^t) + epsilon))
 *   NADAM    torch.optim.NAdam: mu_t = beta_1 * (1 - 0.5 * 0.96^(t * momentum_decay)),
 *            mu_product = mu_1 * ... * mu_t, m, v as Adam,
 *            d = sqrt(v / (1 - beta_2^t)) + epsilon,
 *            param += -lr * (1 - mu_t) / (1 - mu_product) * (g / d)
 *            param += -lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * (m / d)
 * States (state[0], state[1]; n values each, in the parameters' layout):
 * SGD velocity; ADAM, ADAMW, NADAM first and second moments; RMSPROP the
 * mean square; ADAGRAD the sum of squares.
 *
 * Arithmetic: FM_STEP_SKLEARN reproduces scikit-learn's SGD and Adam bit
 * for bit (NumPy's promotion rules: Adam's float32 update is computed in
 * double; optimizers.c); FM_STEP_PLAIN computes every operation in the
 * array's dtype (float32 in float32, constants rounded once per step),
 * fully vectorised. The kinds other than SGD and ADAM have only the plain
 * form (FM_STEP_SKLEARN means plain for them).
 * FM_STEP_KERAS is Keras 3's form of each rule (keras/src/optimizers/),
 * in the array's dtype with subnormals flushed, as XLA runs it:
 *   moments  m += (g - m) * (1 - beta_1); v += (g^2 - v) * (1 - beta_2)
 *   ADAM     param -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)
 *   ADAMW    ADAM after the decoupled decay (Keras's AdamW is its Adam)
 *   RMSPROP  s = rho * s + (1 - rho) * g^2; param -= lr * g / sqrt(s + epsilon)
 *   ADAGRAD  s += g^2; param -= lr * g / sqrt(s + epsilon)
 *   NADAM    as above with Keras's moments and one division:
 *            param += (coef_m * m + coef_g * g) / d (Keras's u_t is mu_t with
 *            momentum_decay = 1; the optimizer object sets it)
 *   SGD      the plain rule (Keras's is the same expression)
 * and, per call of fm_optimizer_step_* (one Keras variable), the gradient
 * clipped first: clipnorm > 0 scales it by clipnorm / max(norm, clipnorm),
 * clipvalue > 0 clamps it to [-clipvalue, clipvalue]. The training engine
 * (train.h) applies them per Keras variable (each W, b, gamma, beta).
 */
typedef enum {
    FM_OPT_SGD = 0,
    FM_OPT_ADAM = 1,
    FM_OPT_RMSPROP = 2,
    FM_OPT_ADAGRAD = 3,
    FM_OPT_ADAMW = 4,
    FM_OPT_NADAM = 5
} fm_optimizer_kind;
#define FM_OPT_N_KINDS 6

typedef enum { FM_STEP_SKLEARN = 0, FM_STEP_PLAIN = 1, FM_STEP_KERAS = 2 } fm_step_arithmetic;

#define FM_OPT_MAX_STATES 3

typedef struct {
    fm_optimizer_kind kind;
    fm_step_arithmetic arithmetic;
    double learning_rate;
    double momentum;                /* SGD */
    int nesterov;                   /* SGD */
    double beta_1, beta_2;          /* ADAM, ADAMW, NADAM */
    double epsilon;                 /* all but SGD */
    double rho;                     /* RMSPROP: decay of the mean square */
    double momentum_decay;          /* NADAM: psi of mu_t */
    double weight_decay;            /* decoupled, every kind; 0 for none */
    int64_t t;                      /* steps taken so far; advanced by each step */
    double mu_product;              /* NADAM: mu_1 * ... * mu_t (1 before any step) */
    void *state[FM_OPT_MAX_STATES]; /* fm_optimizer_n_states(kind) arrays, the rest NULL */
    double clipnorm;                /* FM_STEP_KERAS, one variable per step: 0 for none */
    double clipvalue;               /* FM_STEP_KERAS: 0 for none */
    /* Per-step rates (a learning-rate schedule's, evaluated by the caller):
     * when lr_steps is not NULL, each step first sets learning_rate =
     * lr_steps[0], then lr_steps advances by one and n_lr_steps drops by
     * one, so an epoch reads one rate per minibatch. The array is read,
     * never written. NULL (with n_lr_steps 0): learning_rate throughout. */
    const double *lr_steps;
    int64_t n_lr_steps;
} fm_optimizer;

/* How many state arrays a kind keeps (0 for an unknown kind). */
int fm_optimizer_n_states(fm_optimizer_kind kind);

/*
 * 1 if `opt` describes a step that can be taken `steps` more times, else 0:
 * a known kind and arithmetic, learning_rate and weight_decay finite and
 * >= 0 (a rate of 0 is legal, as in torch), 0 <= t <= INT64_MAX - steps,
 * and the kind's own hyper-parameters in range: SGD momentum in [0, 1];
 * ADAM, ADAMW, NADAM beta_1 and beta_2 in [0, 1); RMSPROP rho in [0, 1);
 * every kind but SGD epsilon finite and > 0; NADAM momentum_decay finite
 * and >= 0 and mu_product in [0, 1]; clipnorm and clipvalue finite and
 * >= 0, nonzero only with FM_STEP_KERAS; without lr_steps, n_lr_steps 0;
 * with lr_steps, at least `steps` of them (n_lr_steps >= steps) and each
 * of the n_lr_steps finite and >= 0. The state arrays are not looked at.
 */
int fm_optimizer_valid(const fm_optimizer *opt, int64_t steps);

/*
 * One step of `opt` over n contiguous parameters with gradient grad (same
 * dtype as the states): advances opt->t (and NADAM's mu_product), then
 * applies the rule above. param, grad and the states must not overlap.
 * FM_ERR_ARGUMENT for an invalid optimizer (fm_optimizer_valid) or a
 * missing state array.
 */
fm_status fm_optimizer_step_f32(fm_optimizer *opt, int64_t n, float *param, const float *grad);
fm_status fm_optimizer_step_f64(fm_optimizer *opt, int64_t n, double *param, const double *grad);

/* ------------------------------------------------------------------------ */
/* Perceptron: Rosenblatt's rule for a layer of threshold units             */
/* ------------------------------------------------------------------------ */

/* The penalties of scikit-learn's SGD, applied the same way (perceptron.c). */
typedef enum {
    FM_PENALTY_NONE = 0,
    FM_PENALTY_L2,        /* alpha/2 ||w||^2: the weights decay by 1 - eta alpha */
    FM_PENALTY_L1,        /* alpha ||w||_1: cumulative truncated gradient */
    FM_PENALTY_ELASTICNET /* alpha (r ||w||_1 + (1 - r)/2 ||w||^2), r = l1_ratio */
} fm_penalty_kind;

typedef struct {
    double eta; /* learning rate, finite and > 0 */
    fm_penalty_kind penalty;
    double alpha;      /* penalty strength, finite and >= 0 */
    double l1_ratio;   /* elastic-net mixing r in [0, 1] (elasticnet only) */
    int fit_intercept; /* 0: the intercepts are left as they are */
} fm_perceptron_options;

/*
 * One epoch of Rosenblatt's perceptron over n_units independent threshold
 * units, visiting the samples order[0], ..., order[n_visits - 1]. For each
 * visit of sample i and each active unit k:
 *   p       = coef[k] . x_i + intercept[k]
 *   y       = 1 if target[i] == k else 0
 *   y_hat   = 1 if p >= 0 else 0                      (heaviside(0) = 1)
 *   update  = eta * (y - y_hat) * cw * sample_weight[i],
 *             cw = weight_pos[k] if y else weight_neg[k]
 *   coef[k] += update * x_i, intercept[k] += update   (if fit_intercept)
 * with, for a penalty, scikit-learn's SGD steps around the update: an L2
 * decay of coef[k] by max(0, 1 - (1 - r) eta alpha) before it and an L1
 * truncation towards 0 of the coefficients of x_i's features after it.
 *
 * Samples (n_samples, n_features): dense rows x + i * ldx (ldx >= n_features)
 *   when indptr == NULL; otherwise CSR with x the values, indices the column
 *   of each value (in [0, n_features): not checked here, the caller checks
 *   once per fit) and indptr (n_samples + 1,) non-decreasing, from 0.
 * target (n_samples,): the unit that should fire for each sample, or -1 for
 *   none (for a binary problem, one unit and -1 for the negative class).
 * sample_weight (n_samples,) or NULL for ones; weight_pos, weight_neg
 *   (n_units,) the class weights of each unit's positive and negative side.
 * active (n_units,) or NULL for all: units with active[k] == 0 are skipped
 *   entirely (they have stopped; their outputs are 0).
 * coef (n_units, n_features) contiguous rows, intercept (n_units,): updated
 *   in place. For L1 and elasticnet, l1_q (n_units, n_features) and *l1_u
 *   carry the truncated-gradient state from epoch to epoch (zeros at the start
 *   of a fit); both may be NULL for the other penalties.
 * Out, per unit: objective[k] = sum over visits of the perceptron criterion
 *   |p| on mistakes (0 otherwise) plus, with a penalty, the penalty of the
 *   weights at that visit (scikit-learn's epoch objective before dividing by
 *   the number of visits); mistakes[k] = number of visits with y != y_hat.
 *
 * Units are independent, so up to n_threads OpenMP threads (<= 0: OpenMP's
 * maximum) each take a contiguous block of units through the whole epoch;
 * the results do not depend on the thread count. Returns FM_ERR_ARGUMENT for
 * an option out of range, a negative size, an order entry outside
 * [0, n_samples) or a target outside [-1, n_units); FM_ERR_NOMEM if the
 * per-unit workspace cannot be allocated. Nothing is modified on error.
 */
fm_status fm_perceptron_epoch_f32(const fm_perceptron_options *options, int n_threads,
                                  int64_t n_samples, int64_t n_features, int64_t n_units,
                                  const float *x, int64_t ldx, const int64_t *indptr,
                                  const int64_t *indices, const int64_t *target,
                                  const float *sample_weight, const double *weight_pos,
                                  const double *weight_neg, int64_t n_visits, const int64_t *order,
                                  const unsigned char *active, float *coef, float *intercept,
                                  double *l1_q, double *l1_u, double *objective, int64_t *mistakes);
fm_status fm_perceptron_epoch_f64(const fm_perceptron_options *options, int n_threads,
                                  int64_t n_samples, int64_t n_features, int64_t n_units,
                                  const double *x, int64_t ldx, const int64_t *indptr,
                                  const int64_t *indices, const int64_t *target,
                                  const double *sample_weight, const double *weight_pos,
                                  const double *weight_neg, int64_t n_visits, const int64_t *order,
                                  const unsigned char *active, double *coef, double *intercept,
                                  double *l1_q, double *l1_u, double *objective, int64_t *mistakes);

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

/* Fortran BLAS ?gemm, as exported by scipy.linalg.cython_blas (32-bit ints). */
typedef void (*fm_sgemm_fn)(const char *transa, const char *transb, const int *m, const int *n,
                            const int *k, const float *alpha, const float *a, const int *lda,
                            const float *b, const int *ldb, const float *beta, float *c,
                            const int *ldc);
typedef void (*fm_dgemm_fn)(const char *transa, const char *transb, const int *m, const int *n,
                            const int *k, const double *alpha, const double *a, const int *lda,
                            const double *b, const int *ldb, const double *beta, double *c,
                            const int *ldc);

/*
 * Picks the kernels for this CPU once (call before anything else; calling it
 * again is harmless). `force` is NULL, or "avx512", "avx2", "neon" (aarch64)
 * or "generic" to override the detection (an instruction set the CPU lacks is refused and
 * detection is used). Returns the name of the instruction set chosen.
 */
const char *fm_init(const char *force);

/* Hands the BLAS fallback its functions (NULL for none). Call once, at import. */
void fm_set_blas(fm_sgemm_fn sgemm, fm_dgemm_fn dgemm);
int fm_has_blas(void);

/* Name of the kernel set in use: "avx512", "avx2", "neon" or "generic". */
const char *fm_isa_name(void);
/*
 * Choose the bf16 tier (fm_init calls it with NULL: the fastest usable).
 * `force` ("amx", "avx512_bf16", "emulated") narrows the choice to that tier
 * or a slower one, never a faster one than the hardware runs; anything else
 * is ignored. AMX needs the CPU (CPUID), the OS (XCR0 tile state), Linux's
 * permission (arch_prctl) and a probe product under a SIGILL guard; it and
 * AVX512_BF16 also need the avx512 instruction set chosen by fm_init.
 * Returns the tier's name. Call it only while no kernel runs.
 */
const char *fm_bf16_init(const char *force);
const char *fm_bf16_tier_name(void);
/* Why each faster tier is not used ("" when the fastest is), e.g.
 * "amx: not supported by this CPU; avx512_bf16: narrowed by FASTMLP_BF16". */
const char *fm_bf16_tier_reason(void);
int fm_has_openmp(void);
/* Threads a call from this thread may use by default: OpenMP's
 * omp_get_max_threads(), or 1 (no OpenMP, inside a parallel region, or in a
 * forked child on the thread that forked, if it had led a team). */
int fm_max_threads(void);
/* 1 if the calling thread has led an OpenMP team of two or more threads
 * (a process forked from this thread then runs it single-threaded). */
int fm_thread_led_team(void);

#ifdef __cplusplus
}
#endif

#endif /* FASTMLP_H */
