# Declarations of the C kernel layer (csrc/fastmlp.h) for Cython.
from libc.stdint cimport int64_t, uint64_t

cdef extern from "fastmlp.h" nogil:
    ctypedef enum fm_status:
        FM_OK
        FM_ERR_NOMEM
        FM_ERR_ARGUMENT
        FM_ERR_BLAS

    ctypedef enum fm_activation_kind:
        FM_ACT_IDENTITY
        FM_ACT_LOGISTIC
        FM_ACT_TANH
        FM_ACT_RELU
        FM_ACT_LEAKY_RELU
        FM_ACT_ELU
        FM_ACT_SELU
        FM_ACT_GELU
        FM_ACT_SOFTPLUS
        FM_ACT_SOFTMAX
        FM_ACT_HEAVISIDE
        FM_ACT_MAXOUT

    ctypedef struct fm_activation:
        fm_activation_kind kind
        double param

    void fm_activation_forward_f32(fm_activation act, int64_t m, int64_t n,
                                   const float *z, int64_t ldz, float *out, int64_t ldo)
    void fm_activation_forward_f64(fm_activation act, int64_t m, int64_t n,
                                   const double *z, int64_t ldz, double *out, int64_t ldo)
    void fm_activation_backward_f32(fm_activation act, int64_t m, int64_t n, const float *z,
                                    const float *grad_out, float *grad_in)
    void fm_activation_backward_f64(fm_activation act, int64_t m, int64_t n, const double *z,
                                    const double *grad_out, double *grad_in)

    ctypedef enum fm_gemm_backend:
        FM_GEMM_AUTO
        FM_GEMM_NATIVE
        FM_GEMM_BLAS

    fm_status fm_gemm_f32(fm_gemm_backend backend, int n_threads, int trans_a, int trans_b,
                          int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                          int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                          int64_t ldc)
    fm_status fm_gemm_f64(fm_gemm_backend backend, int n_threads, int trans_a, int trans_b,
                          int64_t m, int64_t n, int64_t k, double alpha, const double *a,
                          int64_t lda, const double *b, int64_t ldb, double beta, double *c,
                          int64_t ldc)
    fm_status fm_dense_forward_f32(fm_gemm_backend backend, int n_threads, int trans_x,
                                   int trans_w, int64_t m, int64_t n, int64_t k,
                                   const float *x, int64_t ldx, const float *w, int64_t ldw,
                                   const float *bias, fm_activation act, float *out,
                                   int64_t ldo)
    fm_status fm_dense_forward_f64(fm_gemm_backend backend, int n_threads, int trans_x,
                                   int trans_w, int64_t m, int64_t n, int64_t k,
                                   const double *x, int64_t ldx, const double *w, int64_t ldw,
                                   const double *bias, fm_activation act, double *out,
                                   int64_t ldo)

    double fm_softmax_cross_entropy_f32(int64_t m, int64_t n, const float *logits,
                                        const int64_t *labels, const float *y_prob,
                                        const float *sample_weight, float *dlogits)
    double fm_softmax_cross_entropy_f64(int64_t m, int64_t n, const double *logits,
                                        const int64_t *labels, const double *y_prob,
                                        const double *sample_weight, double *dlogits)
    double fm_sigmoid_binary_cross_entropy_f32(int64_t m, int64_t n, const float *logits,
                                               const float *y, const float *sample_weight,
                                               float *dlogits)
    double fm_sigmoid_binary_cross_entropy_f64(int64_t m, int64_t n, const double *logits,
                                               const double *y, const double *sample_weight,
                                               double *dlogits)

    ctypedef enum fm_regression_loss_kind:
        FM_LOSS_SQUARED_ERROR
        FM_LOSS_ABSOLUTE_ERROR
        FM_LOSS_HUBER
        FM_LOSS_POISSON

    double fm_regression_loss_f32(fm_regression_loss_kind kind, double param, int64_t m,
                                  int64_t n, const float *pred, const float *y,
                                  const float *sample_weight, float *grad)
    double fm_regression_loss_f64(fm_regression_loss_kind kind, double param, int64_t m,
                                  int64_t n, const double *pred, const double *y,
                                  const double *sample_weight, double *grad)

    void fm_sgd_step_f32(int64_t n, float *param, const float *grad, float *velocity,
                         double learning_rate, double momentum, int nesterov)
    void fm_sgd_step_f64(int64_t n, double *param, const double *grad, double *velocity,
                         double learning_rate, double momentum, int nesterov)
    void fm_adam_step_f32(int64_t n, float *param, const float *grad, float *m, float *v,
                          int64_t t, double learning_rate, double beta_1, double beta_2,
                          double epsilon)
    void fm_adam_step_f64(int64_t n, double *param, const double *grad, double *m, double *v,
                          int64_t t, double learning_rate, double beta_1, double beta_2,
                          double epsilon)

    ctypedef enum fm_optimizer_kind:
        FM_OPT_SGD
        FM_OPT_ADAM
        FM_OPT_RMSPROP
        FM_OPT_ADAGRAD
        FM_OPT_ADAMW
        FM_OPT_NADAM

    ctypedef enum fm_step_arithmetic:
        FM_STEP_SKLEARN
        FM_STEP_PLAIN
        FM_STEP_KERAS

    enum: FM_OPT_MAX_STATES

    ctypedef struct fm_optimizer:
        fm_optimizer_kind kind
        fm_step_arithmetic arithmetic
        double learning_rate
        double momentum
        int nesterov
        double beta_1, beta_2, epsilon
        double rho, momentum_decay, weight_decay
        int64_t t
        double mu_product
        void *state[FM_OPT_MAX_STATES]
        double clipnorm
        double clipvalue
        const double *lr_steps
        int64_t n_lr_steps

    int fm_optimizer_n_states(fm_optimizer_kind kind)
    fm_status fm_optimizer_step_f32(fm_optimizer *opt, int64_t n, float *param,
                                    const float *grad)
    fm_status fm_optimizer_step_f64(fm_optimizer *opt, int64_t n, double *param,
                                    const double *grad)

    ctypedef enum fm_penalty_kind:
        FM_PENALTY_NONE
        FM_PENALTY_L2
        FM_PENALTY_L1
        FM_PENALTY_ELASTICNET

    ctypedef struct fm_perceptron_options:
        double eta
        fm_penalty_kind penalty
        double alpha
        double l1_ratio
        int fit_intercept

    fm_status fm_perceptron_epoch_f32(const fm_perceptron_options *options, int n_threads,
                                      int64_t n_samples, int64_t n_features, int64_t n_units,
                                      const float *x, int64_t ldx, const int64_t *indptr,
                                      const int64_t *indices, const int64_t *target,
                                      const float *sample_weight, const double *weight_pos,
                                      const double *weight_neg, int64_t n_visits,
                                      const int64_t *order, const unsigned char *active,
                                      float *coef, float *intercept, double *l1_q,
                                      double *l1_u, double *objective, int64_t *mistakes)
    fm_status fm_perceptron_epoch_f64(const fm_perceptron_options *options, int n_threads,
                                      int64_t n_samples, int64_t n_features, int64_t n_units,
                                      const double *x, int64_t ldx, const int64_t *indptr,
                                      const int64_t *indices, const int64_t *target,
                                      const double *sample_weight, const double *weight_pos,
                                      const double *weight_neg, int64_t n_visits,
                                      const int64_t *order, const unsigned char *active,
                                      double *coef, double *intercept, double *l1_q,
                                      double *l1_u, double *objective, int64_t *mistakes)

    ctypedef void (*fm_sgemm_fn)(const char *transa, const char *transb, const int *m,
                                 const int *n, const int *k, const float *alpha,
                                 const float *a, const int *lda, const float *b,
                                 const int *ldb, const float *beta, float *c, const int *ldc)
    ctypedef void (*fm_dgemm_fn)(const char *transa, const char *transb, const int *m,
                                 const int *n, const int *k, const double *alpha,
                                 const double *a, const int *lda, const double *b,
                                 const int *ldb, const double *beta, double *c,
                                 const int *ldc)
    fm_status fm_gemm_bf16_f32(int n_threads, int trans_a, int trans_b, int64_t m, int64_t n,
                               int64_t k, float alpha, const float *a, int64_t lda,
                               const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
    fm_status fm_dense_forward_bf16_f32(int n_threads, int trans_x, int trans_w, int64_t m,
                                        int64_t n, int64_t k, const float *x, int64_t ldx,
                                        const float *w, int64_t ldw, const float *bias,
                                        fm_activation act, float *out, int64_t ldo)
    const char *fm_bf16_init(const char *force)
    const char *fm_bf16_tier_name()
    const char *fm_bf16_tier_reason()
    const char *fm_init(const char *force)
    void fm_set_blas(fm_sgemm_fn sgemm, fm_dgemm_fn dgemm)
    int fm_has_blas()
    const char *fm_isa_name()
    int fm_has_openmp()
    int fm_max_threads()
    int fm_thread_led_team()

cdef extern from "train.h" nogil:
    ctypedef enum fm_output_kind:
        FM_OUTPUT_SOFTMAX_LOG_LOSS
        FM_OUTPUT_LOGISTIC_LOG_LOSS
        FM_OUTPUT_REGRESSION

    enum: FM_MLP_MAX_LAYERS
    enum: FM_ERR_ZERO_WEIGHT
    enum: FM_ERR_NONFINITE_INPUT

    ctypedef enum fm_compute_kind:
        FM_COMPUTE_NATIVE
        FM_COMPUTE_BF16

    ctypedef enum fm_loss_convention:
        FM_CONVENTION_SKLEARN
        FM_CONVENTION_KERAS

    ctypedef enum fm_bn_placement:
        FM_BN_OFF
        FM_BN_BEFORE
        FM_BN_AFTER

    ctypedef struct fm_layer:
        int64_t units
        fm_activation activation
        double dropout
        fm_bn_placement batch_norm
        double bn_momentum, bn_epsilon
        int bn_unbiased
        double kernel_l1, kernel_l2, bias_l1, bias_l2
        double max_norm
        int frozen
        int use_bias

    ctypedef struct fm_mlp:
        int n_layers
        int64_t n_inputs
        fm_layer layer[FM_MLP_MAX_LAYERS]
        fm_output_kind output
        fm_regression_loss_kind loss
        double loss_param
        double alpha
        fm_penalty_kind penalty
        double l1_ratio
        double clip_grad_norm, clip_grad_value
        fm_compute_kind compute
        fm_loss_convention convention

    ctypedef struct fm_mlp_layout:
        int64_t coef[FM_MLP_MAX_LAYERS]
        int64_t intercept[FM_MLP_MAX_LAYERS]
        int64_t gamma[FM_MLP_MAX_LAYERS]
        int64_t beta[FM_MLP_MAX_LAYERS]
        int64_t n_params

    int fm_mlp_fill_layout(const fm_mlp *net, fm_mlp_layout *out)
    int64_t fm_mlp_width(const fm_mlp *net, int l)

    ctypedef struct fm_input:
        const void *dense
        int64_t ld
        const int64_t *indptr
        const int64_t *indices
        const void *data
        int check_finite

    ctypedef struct fm_mlp_workspace:
        pass

    ctypedef struct fm_mlp_packed:
        pass

    fm_mlp_packed *fm_mlp_packed_new(const fm_mlp *net, int backward)
    void fm_mlp_packed_free(fm_mlp_packed *p)
    fm_status fm_mlp_pack_f32(const fm_mlp *net, float *const *coefs, fm_mlp_packed *p,
                              int n_threads)

    fm_mlp_workspace *fm_mlp_workspace_new(const fm_mlp *net, int64_t max_rows, size_t elem_size,
                                           int gather_rows)
    void fm_mlp_workspace_free(fm_mlp_workspace *ws)
    int64_t fm_mlp_n_params(const fm_mlp *net)
    int64_t fm_mlp_cols(const fm_mlp *net, int l)
    void *fm_mlp_workspace_grad(fm_mlp_workspace *ws)
    enum:
        FM_PROFILE_PRODUCTS
        FM_PROFILE_PASSES
        FM_PROFILE_STEP
        FM_PROFILE_GATHER
        FM_PROFILE_COUNT
    void fm_mlp_workspace_profile(fm_mlp_workspace *ws, int enable, double *out)
    int64_t fm_mlp_workspace_fuse_step(fm_mlp_workspace *ws, int enable)
    int64_t fm_mlp_workspace_product_steps(fm_mlp_workspace *ws)
    enum:
        FM_SPARSE_OFF
        FM_SPARSE_AUTO
        FM_SPARSE_ALWAYS
    int64_t fm_mlp_workspace_sparse_input(fm_mlp_workspace *ws, int mode)
    void fm_mlp_workspace_accuracy(fm_mlp_workspace *ws, int enable, double *out)
    enum:
        FM_METRIC_WEIGHT
        FM_METRIC_ARGMAX
        FM_METRIC_THRESHOLD
        FM_METRIC_SQUARED
        FM_METRIC_ABSOLUTE
        FM_METRIC_COUNT
    void fm_mlp_workspace_metrics(fm_mlp_workspace *ws, int enable, double *out)

    fm_status fm_mlp_epoch_f32(const fm_mlp *net, float *const *coefs, float *const *intercepts,
                               float *const *bn,
                               const fm_input *X, const float *Y, const float *sw,
                               const int64_t *order, int64_t n, int64_t batch_size,
                               fm_optimizer *opt, fm_mlp_workspace *ws, int n_threads,
                               uint64_t seed, double *loss_sum)
    fm_status fm_mlp_epoch_f64(const fm_mlp *net, double *const *coefs, double *const *intercepts,
                               double *const *bn,
                               const fm_input *X, const double *Y, const double *sw,
                               const int64_t *order, int64_t n, int64_t batch_size,
                               fm_optimizer *opt, fm_mlp_workspace *ws, int n_threads,
                               uint64_t seed, double *loss_sum)
    fm_status fm_mlp_loss_grad_f32(const fm_mlp *net, float *const *coefs,
                                   float *const *intercepts, float *const *bn, const fm_input *X,
                                   const float *Y, const float *sw, int64_t n,
                                   fm_mlp_workspace *ws, int n_threads, double *loss)
    fm_status fm_mlp_loss_grad_f64(const fm_mlp *net, double *const *coefs,
                                   double *const *intercepts, double *const *bn, const fm_input *X,
                                   const double *Y, const double *sw, int64_t n,
                                   fm_mlp_workspace *ws, int n_threads, double *loss)
    fm_status fm_mlp_loss_f32(const fm_mlp *net, float *const *coefs, float *const *intercepts,
                              const fm_input *X, const float *Y, const float *sw,
                              int64_t n, fm_mlp_workspace *ws, int n_threads, double *loss)
    fm_status fm_mlp_loss_f64(const fm_mlp *net, double *const *coefs,
                              double *const *intercepts, const fm_input *X,
                              const double *Y, const double *sw, int64_t n,
                              fm_mlp_workspace *ws, int n_threads, double *loss)
    fm_status fm_mlp_predict_f32(const fm_mlp *net, float *const *coefs,
                                 float *const *intercepts, const fm_input *X,
                                 int64_t n, float *out, fm_mlp_workspace *ws,
                                 const fm_mlp_packed *packed, int n_threads, int n_run)
    fm_status fm_mlp_predict_f64(const fm_mlp *net, double *const *coefs,
                                 double *const *intercepts, const fm_input *X,
                                 int64_t n, double *out, fm_mlp_workspace *ws,
                                 const fm_mlp_packed *packed, int n_threads, int n_run)

cdef extern from "internal.h" nogil:
    ctypedef struct fm_gemm_problem_f32:
        int trans_a, trans_b
        int64_t m, n, k
        float alpha
        const float *a
        int64_t lda
        const float *b
        int64_t ldb
        float beta
        float *c
        int64_t ldc
        const float *bias
        fm_activation act
        float *scratch
        int64_t scratch_elems
        int compute_bf16
        const void *b_packed
    fm_status fm_gemm_problem_run_f32(fm_gemm_backend backend, int n_threads,
                                      const fm_gemm_problem_f32 *pr)
    int64_t fm_gemm_scratch_f32(int n_threads, const fm_gemm_problem_f32 *pr)
    int64_t fm_bf16_packed_b_bytes(int trans_b, int64_t k, int64_t n)
    void fm_bf16_pack_b(int trans_b, int64_t k, int64_t n, const float *b, int64_t ldb,
                        void *out)
    void fm_bf16_pack_a(int trans_a, int64_t rows, int64_t k, const float *a, int64_t lda,
                        unsigned short *out)
    int fm_run_guarded(void (*fn)(void *) noexcept nogil, void *arg)
    const char *fm_isa_best_name()
