/*
 * The MLP training engine (see train.h): workspace management here, the
 * per-dtype epoch / loss-gradient / predict code in train_tmpl.h.
 */
#include <float.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <time.h>
#ifdef FASTMLP_OPENMP
#include <omp.h>
#endif
#include "internal.h"
#include "loss_math.h"
#include "train.h"

/* The engine's element-wise passes compiled for AVX2 and the baseline,
 * chosen at load time: IEEE operations without contraction, so both give
 * the same bits (as optimizers.c's steps). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define FM_ELEMENTWISE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FM_ELEMENTWISE_CLONES
#endif

/* splitmix64: a small, fast, well-mixed generator for dropout masks. */
static inline uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform double in [0, 1) from the top 53 bits. */
static inline double next_uniform(uint64_t *state)
{
    return (double)(next_random(state) >> 11) * 0x1.0p-53;
}

/*
 * The optimizer step runs over the parameters in blocks of at most
 * FM_STEP_BLOCK values, each inside one parameter array (a layer's
 * coefficients, intercepts, or batch norm's gammas or betas): blocks small
 * enough that a thread's four arrays (parameters, gradient, two states)
 * stay in L2 while the block's squared norm is taken, and the unit of work
 * that threads share. Block boundaries depend only on the network, so the
 * sum of squares (added block by block, in order) does not depend on the
 * thread count.
 */
#define FM_STEP_BLOCK 8192

/* Values per step block of a coefficient matrix with n_cols columns. A
 * FM_COMPUTE_BF16 network's blocks are whole multiples of FM_BF16_KCHUNK (32)
 * rows, so that each block packs its own rows into both bfloat16 layouts
 * (whole K chunks of W's forward panels, whole 16-column panels of W^T)
 * right after its step, while they are in cache (pack_rows_f32). */
static int64_t coef_block_len(const fm_mlp *net, int64_t n_cols)
{
    if (net->compute != FM_COMPUTE_BF16)
        return FM_STEP_BLOCK;
    int64_t rows = FM_STEP_BLOCK / n_cols / FM_BF16_KCHUNK * FM_BF16_KCHUNK;
    return (rows > FM_BF16_KCHUNK ? rows : FM_BF16_KCHUNK) * n_cols;
}

/*
 * The fused weight-gradient step (epochs; issue 22): a coefficient matrix
 * of more than FM_FUSE_MIN values has its gradient computed in chunks of
 * whole rows of about FM_FUSE_CHUNK values (256 KiB in float32) into one
 * small buffer, each chunk stepped right after its product, while it is in
 * L2: the gradient of a large layer never goes out to memory and back (at
 * batch 32 on Zen 4, writing it was a tenth of a deep network's bfloat16
 * epoch: the output stage's stores). A gradient that fits in L2 anyway
 * (FM_FUSE_MIN: 1 MiB of float32, a Zen 4 core's L2) gains nothing from
 * it and pays the chunks' repacking of the deltas (measured on MNIST's
 * 784 x 256: no gain at batch 32). A bfloat16 network's chunks are whole
 * step blocks of rows (each packs its rows after its step). Each value gets
 * the operations of the unfused step (element-wise; block sums of squares
 * over whole blocks), so the results are the same bits.
 */
#define FM_FUSE_CHUNK 65536
#define FM_FUSE_MIN 262144

/*
 * The compressed input (fm_mlp_workspace_sparse_input): FM_SPARSE_AUTO
 * takes it for minibatches with at most FM_SPARSE_DENSITY of their values
 * nonzero. Zen 4, a 784 x 300 first layer, float32, one thread, us (C
 * driver, nonzeros placed at random; forward + weight gradient +
 * compression): batch 32 dense 142 + 162; at 18% nonzero 70 + 75 + 23, at
 * 30% 103 + 99 + 28, at 40% 132 + 120 + 34. Batch 200 dense 875 + 859; at
 * 30% 624 + 608 + 182, at 40% 812 + 788 + 208 (slower). Minibatches of at
 * most FM_SPARSE_MAX_ROWS rows (the buffers are sized by them).
 */
#define FM_SPARSE_DENSITY 0.3
#define FM_SPARSE_MAX_ROWS 1024
/* Threads (parts of the minibatch's rows) that compress it at most. */
#define FM_SPARSE_MAX_PARTS 8

/* Rows per chunk of layer l's fused weight gradient; 0: not fused. */
static int64_t fuse_chunk_rows(const fm_mlp *net, int l)
{
    const int64_t n = fm_mlp_cols(net, l), k = fm_mlp_width(net, l);
    if (k * n <= FM_FUSE_MIN)
        return 0;
    const int64_t unit = net->compute == FM_COMPUTE_BF16 ? coef_block_len(net, n) / n : 1;
    const int64_t rows = FM_FUSE_CHUNK / n / unit * unit;
    return rows > unit ? rows : unit;
}

typedef enum { FM_SEG_COEF = 0, FM_SEG_INTERCEPT, FM_SEG_GAMMA, FM_SEG_BETA } fm_segment_kind;

typedef struct {
    fm_segment_kind kind;
    int layer;
    int64_t start; /* first value within the parameter array */
    int64_t len;
    int64_t flat; /* offset of that value in the flat gradient and optimizer state */
} fm_step_block;

/* Threads pay for the step (and other element-wise passes, such as the
 * minibatch gather) only above this many values per thread. */
#define FM_MIN_STEP_PER_THREAD ((int64_t)1 << 15)

static int step_threads(int requested, int64_t n_values)
{
    return fm_team_size(requested, (double)(n_values / FM_MIN_STEP_PER_THREAD));
}

struct fm_mlp_workspace {
    int64_t max_rows;
    size_t elem;
    void *act[FM_MLP_MAX_LAYERS + 1];     /* act[0]: the gathered input rows */
    void *pre[FM_MLP_MAX_LAYERS + 1];     /* pre-activations, where the derivative needs them */
    void *delta[FM_MLP_MAX_LAYERS + 1];   /* delta[l], l = 1..L */
    void *mask[FM_MLP_MAX_LAYERS + 1];    /* dropout: 0 or 1 / (1 - rate) per unit */
    void *drop[FM_MLP_MAX_LAYERS + 1];    /* dropout: act * mask, the next layer's input */
    void *zhat[FM_MLP_MAX_LAYERS + 1];    /* batch norm: its normalised input */
    void *hid[FM_MLP_MAX_LAYERS + 1];     /* batch norm after the activation: a before it */
    void *inv_std[FM_MLP_MAX_LAYERS + 1]; /* batch norm: 1 / sqrt(var + eps) per unit */
    void *winner[FM_MLP_MAX_LAYERS + 1];  /* maxout: int32 winning piece (0..k-1) per unit */
    void *y, *sw;                         /* gathered targets and weights */
    void *grad;                           /* flat gradient, n_params */
    void *block;                          /* the single allocation behind all of the above */
    void *scratch;                        /* the products' packing buffers (all threads) */
    int64_t scratch_elems;
    void *fused_grad;      /* a chunk of the fused weight gradient */
    int fuse_step;         /* fm_mlp_workspace_fuse_step (default on) */
    int64_t fused_chunks;  /* fused weight-gradient chunks so far */
    int64_t product_steps; /* weight matrices stepped in their product (sgd_in_product_) */
    int flush_grads;       /* this minibatch's weight-gradient products run flushed */
    fm_step_block *steps;  /* the optimizer step's blocks, in flat order */
    double *step_squares;  /* per block: sum of squares of new coefficients, */
    double *step_abs;      /* their sum of absolute values (L1 penalties), */
    double *grad_squares;  /* sum of squares of the gradient (clip_grad_norm) */
    double *col_squares;   /* max_norm: a layer's column sums of squares */
    fm_mlp_layout layout;  /* the flat vector's offsets (fm_mlp_fill_layout) */
    int64_t n_steps;
    /* The first step block of each W[l] (and of the intercepts, [L]). */
    int64_t coef_blocks[FM_MLP_MAX_LAYERS + 1];
    /* The compressed minibatch (fm_mlp_workspace_sparse_input; train_tmpl.h,
     * compress_): by rows (row i at [rptr[i], rend[i]) of ridx / rval, in
     * one part per thread) and by columns (cptr over the inputs, cidx /
     * cval; counts: per part, its values per column, then its cursors),
     * room for sparse_cap values, allocated by the first epoch using it. */
    int sparse_mode;        /* FM_SPARSE_OFF, _AUTO (default) or _ALWAYS */
    int sparse_now;         /* this minibatch's first layer runs on them */
    int64_t sparse_batches; /* minibatches run so since the last call */
    int64_t sparse_cap;     /* values each of ridx / rval / cidx / cval hold */
    int32_t *sp_rptr, *sp_rend, *sp_ridx, *sp_cptr, *sp_cidx, *sp_counts;
    void *sp_rval, *sp_cval;
    int64_t n_params;                 /* fm_mlp_n_params(net) */
    int bf16;                         /* FM_COMPUTE_BF16: the products' compute type */
    fm_mlp_packed *own_packed;        /* bf16: the weights packed by this workspace */
    const fm_mlp_packed *weights;     /* bf16: the packed weights the products read */
    int accuracy_on;                  /* fm_mlp_workspace_accuracy */
    double right, weight;             /* its sums of w * right and of w */
    int metrics_on;                   /* fm_mlp_workspace_metrics */
    double metrics[FM_METRIC_COUNT];  /* its sums */
    int profile_on;                   /* fm_mlp_workspace_profile */
    double profile[FM_PROFILE_COUNT]; /* seconds per part while profile_on */
};

struct fm_mlp_packed {
    int n_layers, backward;
    void *fwd[FM_MLP_MAX_LAYERS]; /* W[l] as the B operand of a @ W[l] */
    void *bwd[FM_MLP_MAX_LAYERS]; /* W[l]^T as the B operand of delta @ W[l]^T (l >= 1) */
    void *block;                  /* the single allocation behind all of them */
};

/* The profile's clock: seconds (0 when the profile is off, read nothing). */
static inline double profile_clock(const fm_mlp_workspace *ws)
{
    if (FM_EXPECT(!ws->profile_on, 1))
        return 0.0;
    struct timespec ts;
#if defined(_MSC_VER) && !defined(__clang__)
    timespec_get(&ts, TIME_UTC); /* MSVC has no clock_gettime (C11's call) */
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Add the time since `since` (a profile_clock reading) to part `part`. */
static inline void profile_add(fm_mlp_workspace *ws, int part, double since)
{
    if (FM_EXPECT(ws->profile_on, 0))
        ws->profile[part] += profile_clock(ws) - since;
}

void fm_mlp_workspace_accuracy(fm_mlp_workspace *ws, int enable, double *out)
{
    if (out != NULL) {
        out[0] = ws->right;
        out[1] = ws->weight;
    }
    ws->right = ws->weight = 0.0;
    ws->accuracy_on = enable != 0;
}

int64_t fm_mlp_workspace_fuse_step(fm_mlp_workspace *ws, int enable)
{
    const int64_t chunks = ws->fused_chunks;
    ws->fuse_step = enable != 0;
    ws->fused_chunks = 0;
    return chunks;
}

int64_t fm_mlp_workspace_sparse_input(fm_mlp_workspace *ws, int mode)
{
    const int64_t batches = ws->sparse_batches;
    ws->sparse_mode = mode == FM_SPARSE_OFF || mode == FM_SPARSE_ALWAYS ? mode : FM_SPARSE_AUTO;
    ws->sparse_batches = 0;
    return batches;
}

/* Free the compressed minibatch's buffers (none: no-op). */
static void sparse_free(fm_mlp_workspace *ws)
{
    free(ws->sp_rptr);
    free(ws->sp_rend);
    free(ws->sp_ridx);
    free(ws->sp_cptr);
    free(ws->sp_cidx);
    free(ws->sp_counts);
    free(ws->sp_rval);
    free(ws->sp_cval);
    ws->sp_rptr = ws->sp_rend = ws->sp_ridx = ws->sp_cptr = ws->sp_cidx = ws->sp_counts = NULL;
    ws->sp_rval = ws->sp_cval = NULL;
    ws->sparse_cap = 0;
}

/* The nonzero values a minibatch of `values` (rows x inputs) may have to be
 * compressed (FM_SPARSE_ALWAYS: all). */
static int64_t sparse_cap(const fm_mlp_workspace *ws, int64_t values)
{
    return ws->sparse_mode == FM_SPARSE_ALWAYS ? values
                                               : (int64_t)(FM_SPARSE_DENSITY * (double)values);
}

/* Room for `cap` values of a minibatch compressed by rows and by columns
 * (n_inputs columns, max_rows rows); 0 if the allocation fails. */
static int sparse_reserve(fm_mlp_workspace *ws, int64_t n_inputs, int64_t cap)
{
    if (ws->sparse_cap >= cap)
        return 1;
    sparse_free(ws);
    ws->sp_rptr = malloc((size_t)ws->max_rows * sizeof(int32_t));
    ws->sp_rend = malloc((size_t)ws->max_rows * sizeof(int32_t));
    ws->sp_cptr = malloc((size_t)(n_inputs + 1) * sizeof(int32_t));
    ws->sp_counts = malloc((size_t)(FM_SPARSE_MAX_PARTS * n_inputs) * sizeof(int32_t));
    ws->sp_ridx = malloc((size_t)cap * sizeof(int32_t));
    ws->sp_cidx = malloc((size_t)cap * sizeof(int32_t));
    ws->sp_rval = malloc((size_t)cap * ws->elem);
    ws->sp_cval = malloc((size_t)cap * ws->elem);
    if (ws->sp_rptr == NULL || ws->sp_rend == NULL || ws->sp_cptr == NULL ||
        ws->sp_counts == NULL || ws->sp_ridx == NULL || ws->sp_cidx == NULL ||
        ws->sp_rval == NULL || ws->sp_cval == NULL) {
        sparse_free(ws);
        return 0;
    }
    ws->sparse_cap = cap;
    return 1;
}

int64_t fm_mlp_workspace_product_steps(fm_mlp_workspace *ws)
{
    const int64_t steps = ws->product_steps;
    ws->product_steps = 0;
    return steps;
}

void fm_mlp_workspace_metrics(fm_mlp_workspace *ws, int enable, double *out)
{
    for (int i = 0; i < FM_METRIC_COUNT; i++) {
        if (out != NULL)
            out[i] = ws->metrics[i];
        ws->metrics[i] = 0.0;
    }
    ws->metrics_on = enable != 0;
}

void fm_mlp_workspace_profile(fm_mlp_workspace *ws, int enable, double *out)
{
    for (int i = 0; i < FM_PROFILE_COUNT; i++) {
        if (out != NULL)
            out[i] = ws->profile[i];
        ws->profile[i] = 0.0;
    }
    ws->profile_on = enable != 0;
}

/* The optimizer step's blocks of `net` into `out` (when not NULL); returns
 * their number. Flat order is the layout's (fm_mlp_fill_layout): all
 * coefficients, all intercepts, then batch norm's gammas and betas. */
static int64_t step_blocks(const fm_mlp *net, const fm_mlp_layout *layout, fm_step_block *out)
{
    const int L = net->n_layers;
    int64_t count = 0;
    for (int pass = 0; pass < 4; pass++) {
        for (int l = 0; l < L; l++) {
            const int64_t *offsets = pass == 0   ? layout->coef
                                     : pass == 1 ? layout->intercept
                                     : pass == 2 ? layout->gamma
                                                 : layout->beta;
            if (offsets[l] < 0)
                continue; /* no batch norm on this layer */
            const int64_t cols = fm_mlp_cols(net, l);
            const int64_t size = pass == 0   ? fm_mlp_width(net, l) * cols
                                 : pass == 1 ? cols
                                             : net->layer[l].units;
            const int64_t block = pass == 0 ? coef_block_len(net, cols) : FM_STEP_BLOCK;
            for (int64_t start = 0; start < size; start += block) {
                if (out != NULL) {
                    out[count].kind = (fm_segment_kind)pass;
                    out[count].layer = l;
                    out[count].start = start;
                    out[count].len = size - start < block ? size - start : block;
                    out[count].flat = offsets[l] + start;
                }
                count++;
            }
        }
    }
    return count;
}

/* a * b + c into *out, or 0 if it overflows int64 (sizes must never wrap). */
static int checked_mul_add(int64_t a, int64_t b, int64_t c, int64_t *out)
{
    int64_t product;
    return !fm_mul_overflow_i64(a, b, &product) && !fm_add_overflow_i64(product, c, out);
}

/* fm_mlp_cols(net, l) into *cols, or 0 if maxout's piece count is not an
 * integer >= 1 or the product overflows. */
static int checked_cols(const fm_mlp *net, int l, int64_t *cols)
{
    if (l + 1 < net->n_layers && net->layer[l].activation.kind == FM_ACT_MAXOUT) {
        const int64_t k = fm_maxout_pieces(net->layer[l].activation);
        return k > 0 && checked_mul_add(net->layer[l].units, k, 0, cols);
    }
    *cols = net->layer[l].units;
    return 1;
}

/* The one place the flat layout is computed (see train.h). */
int fm_mlp_fill_layout(const fm_mlp *net, fm_mlp_layout *out)
{
    const int L = net->n_layers;
    int64_t at = 0, cols;
    if (L < 1 || L > FM_MLP_MAX_LAYERS)
        return 0;
    for (int l = 0; l < L; l++) { /* W[0..L-1] */
        out->coef[l] = at;
        if (!checked_cols(net, l, &cols) || !checked_mul_add(fm_mlp_width(net, l), cols, at, &at))
            return 0;
    }
    for (int l = 0; l < L; l++) { /* b[0..L-1] */
        out->intercept[l] = at;
        if (!checked_cols(net, l, &cols) || fm_add_overflow_i64(at, cols, &at))
            return 0;
    }
    for (int pass = 0; pass < 2; pass++) /* gammas, then betas */
        for (int l = 0; l < L; l++) {
            int64_t *offset = pass == 0 ? &out->gamma[l] : &out->beta[l];
            *offset = -1;
            if (net->layer[l].batch_norm == FM_BN_OFF)
                continue;
            *offset = at;
            if (fm_add_overflow_i64(at, net->layer[l].units, &at))
                return 0;
        }
    out->n_params = at;
    return 1;
}

int64_t fm_mlp_n_params(const fm_mlp *net)
{
    fm_mlp_layout layout;
    return fm_mlp_fill_layout(net, &layout) ? layout.n_params : -1;
}

/* Hidden activations whose derivative needs the pre-activation (those
 * scikit-learn lacks); scikit-learn's own use their output, as it does.
 * (Maxout keeps its pieces' z there, the product's output that the output
 * stage reduces to the units; its derivative needs only the winners.) */
static int needs_preactivation(fm_activation_kind kind)
{
    return !(kind == FM_ACT_IDENTITY || kind == FM_ACT_RELU || kind == FM_ACT_LOGISTIC ||
             kind == FM_ACT_TANH);
}

/* Whether any layer has a max-norm constraint. */
static int any_max_norm(const fm_mlp *net)
{
    for (int l = 0; l < net->n_layers; l++)
        if (net->layer[l].max_norm > 0.0)
            return 1;
    return 0;
}

static int valid_network(const fm_mlp *net)
{
    const int L = net->n_layers;
    if (L < 1 || L > FM_MLP_MAX_LAYERS || net->n_inputs < 1)
        return 0;
    for (int l = 0; l < L; l++) {
        const fm_layer *ly = &net->layer[l];
        const int last = l == L - 1;
        if (ly->units < 1 || (unsigned)ly->activation.kind >= FM_ACT_COUNT ||
            !isfinite(ly->activation.param) || !(ly->dropout >= 0.0 && ly->dropout < 1.0) ||
            !(ly->max_norm >= 0.0) || !(ly->kernel_l1 >= 0.0 && isfinite(ly->kernel_l1)) ||
            !(ly->kernel_l2 >= 0.0 && isfinite(ly->kernel_l2)) ||
            !(ly->bias_l1 >= 0.0 && isfinite(ly->bias_l1)) ||
            !(ly->bias_l2 >= 0.0 && isfinite(ly->bias_l2)) ||
            (unsigned)ly->batch_norm > FM_BN_AFTER)
            return 0;
        if (ly->batch_norm != FM_BN_OFF &&
            (last || !(ly->bn_epsilon > 0.0 && ly->bn_momentum >= 0.0 && ly->bn_momentum <= 1.0)))
            return 0; /* no batch norm on the output layer */
        if (last)
            continue; /* the output's activation: checked with the output below */
        if (ly->activation.kind == FM_ACT_SOFTMAX || ly->activation.kind == FM_ACT_HEAVISIDE)
            return 0;
        /* Batch norm before maxout would normalise each piece. */
        if (ly->activation.kind == FM_ACT_MAXOUT &&
            (fm_maxout_pieces(ly->activation) == 0 || ly->batch_norm == FM_BN_BEFORE))
            return 0;
    }
    const fm_activation_kind out = net->layer[L - 1].activation.kind;
    if ((unsigned)net->output > FM_OUTPUT_REGRESSION ||
        (unsigned)net->convention > FM_CONVENTION_KERAS)
        return 0;
    if (net->output == FM_OUTPUT_SOFTMAX_LOG_LOSS && out != FM_ACT_SOFTMAX)
        return 0;
    if (net->output == FM_OUTPUT_LOGISTIC_LOG_LOSS && out != FM_ACT_LOGISTIC)
        return 0;
    if (net->output == FM_OUTPUT_REGRESSION) {
        /* The output activations the estimators offer (Poisson's exp is its loss's link). */
        if ((unsigned)net->loss >= FM_LOSS_COUNT ||
            (out != FM_ACT_IDENTITY && out != FM_ACT_RELU && out != FM_ACT_SOFTPLUS &&
             out != FM_ACT_LOGISTIC && out != FM_ACT_TANH))
            return 0;
        if (net->loss == FM_LOSS_HUBER && !(net->loss_param > 0.0 && isfinite(net->loss_param)))
            return 0;
    }
    if (!(net->alpha >= 0.0 && isfinite(net->alpha)))
        return 0;
    if (net->compute != FM_COMPUTE_NATIVE && net->compute != FM_COMPUTE_BF16)
        return 0;
    /* 0 turns clipping off; NaN is refused. */
    if ((unsigned)net->penalty > FM_PENALTY_ELASTICNET ||
        !(net->l1_ratio >= 0.0 && net->l1_ratio <= 1.0) || !(net->clip_grad_norm >= 0.0) ||
        !(net->clip_grad_value >= 0.0))
        return 0;
    return 1;
}

/* The packed B operands of layer l: job 2l the forward W[l], job 2l + 1 the
 * backward W[l]^T (op(B) (cols, units[l]) of the row-major W[l], cols =
 * fm_mlp_cols: a maxout layer's pieces). */
static int64_t packed_job_bytes(const fm_mlp *net, int job)
{
    const int l = job / 2;
    const int64_t k = fm_mlp_width(net, l), n = fm_mlp_cols(net, l);
    return job % 2 == 0 ? fm_bf16_packed_b_bytes(0, k, n) : fm_bf16_packed_b_bytes(1, n, k);
}

static int packed_job_used(const fm_mlp_packed *p, int job)
{
    return job % 2 == 0 || (p->backward && job / 2 >= 1);
}

fm_mlp_packed *fm_mlp_packed_new(const fm_mlp *net, int backward)
{
    if (!valid_network(net) || net->compute != FM_COMPUTE_BF16 || fm_mlp_n_params(net) < 0)
        return NULL;
    fm_mlp_packed *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->n_layers = net->n_layers;
    p->backward = backward != 0;
    size_t total = 0;
    for (int job = 0; job < 2 * net->n_layers; job++) {
        if (!packed_job_used(p, job))
            continue;
        const int64_t bytes = packed_job_bytes(net, job);
        if (bytes < 0 || (uint64_t)bytes > SIZE_MAX / 4 - total - 64) {
            free(p);
            return NULL;
        }
        total += ((size_t)bytes + 63) / 64 * 64;
    }
    p->block = fm_malloc(total > 0 ? total : 64);
    if (p->block == NULL) {
        free(p);
        return NULL;
    }
    char *at = p->block;
    for (int job = 0; job < 2 * net->n_layers; job++) {
        if (!packed_job_used(p, job))
            continue;
        (job % 2 == 0 ? p->fwd : p->bwd)[job / 2] = at;
        at += ((size_t)packed_job_bytes(net, job) + 63) / 64 * 64;
    }
    return p;
}

void fm_mlp_packed_free(fm_mlp_packed *p)
{
    if (p == NULL)
        return;
    fm_free(p->block);
    free(p);
}

/* Rows [r0, r1) of layer l's W (units[l], fm_mlp_cols) row-major, r0 a
 * multiple of FM_BF16_KCHUNK, into p: the forward layout's K chunks
 * r0/32 .. of every 16-column panel, and (backward, l >= 1) the panels
 * r0/16 .. of W^T. The tier's layout (bf16.h) keeps a panel's chunks
 * together, so a panel's rows pack as a matrix of their own. */
static void pack_rows_f32(const fm_mlp *net, const fm_mlp_packed *p, int l, const float *w,
                          int64_t r0, int64_t r1)
{
    const int64_t k = fm_mlp_width(net, l), n = fm_mlp_cols(net, l);
    fm_bf16_pack_b_strided(0, r1 - r0, n, w + r0 * n, n,
                           (uint16_t *)p->fwd[l] + r0 / FM_BF16_KCHUNK * FM_BF16_CHUNK_ELEMS,
                           fm_bf16_chunks(k) * FM_BF16_CHUNK_ELEMS);
    if (packed_job_used(p, 2 * l + 1))
        fm_bf16_pack_b(1, n, r1 - r0, w + r0 * n, n,
                       (void *)fm_bf16_packed_b_columns(p->bwd[l], n, r0));
}

fm_status fm_mlp_pack_f32(const fm_mlp *net, float *const *coefs, fm_mlp_packed *p, int n_threads)
{
    if (p == NULL || net->n_layers != p->n_layers || net->compute != FM_COMPUTE_BF16)
        return FM_ERR_ARGUMENT;
    /* The optimizer step's coefficient blocks (whole K chunks), shared
     * among threads; each value is packed alike whatever the split. */
    int64_t n_blocks = 0, values = 0;
    int64_t first[FM_MLP_MAX_LAYERS + 1];
    for (int l = 0; l < net->n_layers; l++) {
        const int64_t cols = fm_mlp_cols(net, l);
        const int64_t rows = coef_block_len(net, cols) / cols;
        first[l] = n_blocks;
        n_blocks += (fm_mlp_width(net, l) + rows - 1) / rows;
        values += fm_mlp_width(net, l) * cols;
    }
    first[net->n_layers] = n_blocks;
    const int threads = step_threads(n_threads, values);
    (void)threads;
#ifdef FASTMLP_OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t i = 0; i < n_blocks; i++) {
        int l = 0;
        while (first[l + 1] <= i)
            l++;
        const int64_t cols = fm_mlp_cols(net, l);
        const int64_t rows = coef_block_len(net, cols) / cols;
        const int64_t r0 = (i - first[l]) * rows;
        const int64_t r1 = r0 + rows < fm_mlp_width(net, l) ? r0 + rows : fm_mlp_width(net, l);
        pack_rows_f32(net, p, l, coefs[l], r0, r1);
    }
    return FM_OK;
}

/* The engine's products read the packed weights the workspace points at
 * (FM_COMPUTE_BF16); before a pass over new weights, pack them there. */
static fm_status pack_into_workspace_f32(const fm_mlp *net, float *const *coefs,
                                         fm_mlp_workspace *ws, int n_threads)
{
    if (ws->own_packed == NULL)
        return FM_OK;
    ws->weights = ws->own_packed;
    return fm_mlp_pack_f32(net, coefs, ws->own_packed, n_threads);
}

static fm_status pack_into_workspace_f64(const fm_mlp *net, double *const *coefs,
                                         fm_mlp_workspace *ws, int n_threads)
{
    (void)net;
    (void)coefs;
    (void)ws;
    (void)n_threads;
    return FM_OK; /* float64 networks are never FM_COMPUTE_BF16 */
}

/* After the optimizer step of a coefficient block (rows of one W): pack
 * those rows into the workspace's bfloat16 copies (FM_COMPUTE_BF16). */
static void pack_block_f32(const fm_mlp *net, fm_mlp_workspace *ws, const fm_step_block *blk,
                           const float *w)
{
    if (ws->own_packed == NULL || blk->kind != FM_SEG_COEF)
        return;
    const int64_t n = fm_mlp_cols(net, blk->layer);
    pack_rows_f32(net, ws->own_packed, blk->layer, w, blk->start / n, (blk->start + blk->len) / n);
}

static void pack_block_f64(const fm_mlp *net, fm_mlp_workspace *ws, const fm_step_block *blk,
                           const double *w)
{
    (void)net;
    (void)ws;
    (void)blk;
    (void)w;
}

/* Packing-buffer elements of the engine's products for `rows` rows (train_tmpl.h). */
static int64_t scratch_elems_f32(const fm_mlp *net, int64_t rows, int forward_only);
static int64_t scratch_elems_f64(const fm_mlp *net, int64_t rows, int forward_only);

/* A workspace as fm_mlp_workspace_new's, or with `forward_only` just the
 * hidden layers' activations (and pre-activations where needed): enough for
 * fm_mlp_predict, which writes the output layer to the caller's array. A
 * FM_COMPUTE_BF16 network's workspace owns packed weights, unless
 * `borrow_packed` (a predict call given its predictor's). */
static fm_mlp_workspace *workspace_new(const fm_mlp *net, int64_t max_rows, size_t elem_size,
                                       int gather_rows, int forward_only, int borrow_packed)
{
    if (!valid_network(net) || max_rows < 1 || fm_mlp_n_params(net) < 0 ||
        (elem_size != sizeof(float) && elem_size != sizeof(double)) ||
        (net->compute == FM_COMPUTE_BF16 && elem_size != sizeof(float)))
        return NULL;
    fm_mlp_workspace *ws = calloc(1, sizeof(*ws));
    if (ws == NULL)
        return NULL;
    ws->max_rows = max_rows;
    fm_mlp_fill_layout(net, &ws->layout);
    ws->n_params = ws->layout.n_params;
    ws->elem = elem_size;

    /* Lay every buffer out in one block, each 64-byte aligned. Sizes in
     * elements; the two passes compute offsets, then assign pointers. */
    const int L = net->n_layers;
    int64_t sizes[9 * (FM_MLP_MAX_LAYERS + 1) + 5]; /* per layer at most 9, 5 more */
    void **slots[9 * (FM_MLP_MAX_LAYERS + 1) + 5];
    int count = 0;
    for (int l = 0; l <= L; l++) {
        /* Width of layer l's pre-activations and deltas: its pieces for maxout. */
        const int64_t cols = l >= 1 ? fm_mlp_cols(net, l - 1) : net->n_inputs;
        const int64_t width = fm_mlp_width(net, l);
        const fm_layer *ly = l >= 1 ? &net->layer[l - 1] : NULL; /* the layer that outputs l */
        const int hidden = l >= 1 && l < L;
        const int maxout = hidden && ly->activation.kind == FM_ACT_MAXOUT;
        if ((l > 0 || gather_rows) && !(forward_only && l == L)) {
            if (!checked_mul_add(max_rows, width, 0, &sizes[count]))
                goto too_big;
            slots[count++] = &ws->act[l];
        }
        if (l >= 1 && !forward_only) {
            if (!checked_mul_add(max_rows, cols, 0, &sizes[count]))
                goto too_big;
            slots[count++] = &ws->delta[l];
        }
        if (hidden && needs_preactivation(ly->activation.kind)) {
            if (!checked_mul_add(max_rows, cols, 0, &sizes[count]))
                goto too_big;
            slots[count++] = &ws->pre[l];
        }
        if (maxout && !forward_only) {
            /* int32 winners in elements of elem_size >= 4 bytes: enough room. */
            if (!checked_mul_add(max_rows, width, 0, &sizes[count]))
                goto too_big;
            slots[count++] = &ws->winner[l];
        }
        if (hidden && ly->batch_norm != FM_BN_OFF) {
            if (!checked_mul_add(max_rows, width, 0, &sizes[count]))
                goto too_big;
            slots[count++] = &ws->zhat[l];
            sizes[count] = width;
            slots[count++] = &ws->inv_std[l];
            if (ly->batch_norm == FM_BN_AFTER) {
                if (!checked_mul_add(max_rows, width, 0, &sizes[count]))
                    goto too_big;
                slots[count++] = &ws->hid[l];
            }
        }
        if (l < L && net->layer[l].dropout > 0.0 && !forward_only) {
            /* Dropout on weight layer l's input (layer 0: the network's). */
            if (!checked_mul_add(max_rows, width, 0, &sizes[count]))
                goto too_big;
            slots[count++] = &ws->mask[l];
            if (!checked_mul_add(max_rows, width, 0, &sizes[count]))
                goto too_big;
            slots[count++] = &ws->drop[l];
        }
    }
    if (!forward_only) {
        if (!checked_mul_add(max_rows, net->layer[L - 1].units, 0, &sizes[count]))
            goto too_big;
        slots[count++] = &ws->y;
        sizes[count] = max_rows;
        slots[count++] = &ws->sw;
        sizes[count] = ws->n_params;
        slots[count++] = &ws->grad;
        int64_t chunk = 0; /* the largest fused chunk */
        for (int l = 0; l < L; l++) {
            const int64_t values = fuse_chunk_rows(net, l) * fm_mlp_cols(net, l);
            chunk = values > chunk ? values : chunk;
        }
        sizes[count] = chunk;
        slots[count++] = &ws->fused_grad;
    }
    /* The GEMM packs into the workspace rather than allocating per call. */
    ws->scratch_elems = elem_size == sizeof(float) ? scratch_elems_f32(net, max_rows, forward_only)
                                                   : scratch_elems_f64(net, max_rows, forward_only);
    sizes[count] = ws->scratch_elems;
    slots[count++] = &ws->scratch;

    size_t total = 0;
    for (int i = 0; i < count; i++) {
        if (sizes[i] > (int64_t)(SIZE_MAX / 4 / elem_size))
            goto too_big;
        total += ((size_t)sizes[i] * elem_size + 63) / 64 * 64;
        if (total > SIZE_MAX / 4)
            goto too_big;
    }
    ws->block = fm_malloc(total);
    ws->n_steps = forward_only ? 0 : step_blocks(net, &ws->layout, NULL);
    if (ws->block != NULL) {
        int64_t widest = 0; /* W's most columns (a maxout layer's pieces) */
        for (int l = 0; l < L; l++)
            widest = fm_mlp_cols(net, l) > widest ? fm_mlp_cols(net, l) : widest;
        ws->steps = malloc((size_t)ws->n_steps * sizeof(fm_step_block) + 1);
        ws->step_squares = malloc(3 * (size_t)ws->n_steps * sizeof(double) + 1);
        ws->col_squares = malloc((size_t)widest * sizeof(double) + 1);
        ws->step_abs = ws->step_squares + ws->n_steps;
        ws->grad_squares = ws->step_abs + ws->n_steps;
    }
    ws->bf16 = net->compute == FM_COMPUTE_BF16;
    if (ws->bf16 && !borrow_packed)
        ws->own_packed = fm_mlp_packed_new(net, !forward_only);
    if (ws->block == NULL || ws->steps == NULL || ws->step_squares == NULL ||
        ws->col_squares == NULL || (ws->bf16 && !borrow_packed && ws->own_packed == NULL)) {
        fm_mlp_workspace_free(ws);
        return NULL;
    }
    if (!forward_only) {
        step_blocks(net, &ws->layout, ws->steps);
        /* Coefficient blocks come first, layer by layer (step_blocks). */
        int64_t i = 0;
        for (int l = 0; l <= L; l++) {
            ws->coef_blocks[l] = i;
            while (l < L && i < ws->n_steps && ws->steps[i].kind == FM_SEG_COEF &&
                   ws->steps[i].layer == l)
                i++;
        }
        ws->fuse_step = 1;
    }
    ws->sparse_mode = FM_SPARSE_AUTO; /* (prediction: a CSR input's chunks) */
    char *p = ws->block;
    for (int i = 0; i < count; i++) {
        *slots[i] = p;
        p += ((size_t)sizes[i] * elem_size + 63) / 64 * 64;
    }
    return ws;

too_big: /* a size that does not fit in memory's address arithmetic */
    free(ws);
    return NULL;
}

fm_mlp_workspace *fm_mlp_workspace_new(const fm_mlp *net, int64_t max_rows, size_t elem_size,
                                       int gather_rows)
{
    return workspace_new(net, max_rows, elem_size, gather_rows, 0, 0);
}

/* Rows per chunk of prediction with its own workspace: big enough for the
 * GEMM to amortise packing the weights, small enough for the hidden
 * activations of common widths to stay in L2/L3. */
#define FM_PREDICT_CHUNK 4096

void fm_mlp_workspace_free(fm_mlp_workspace *ws)
{
    if (ws == NULL)
        return;
    fm_free(ws->block);
    sparse_free(ws);
    fm_mlp_packed_free(ws->own_packed);
    free(ws->steps);
    free(ws->step_squares);
    free(ws->col_squares);
    free(ws);
}

void *fm_mlp_workspace_grad(fm_mlp_workspace *ws) { return ws->grad; }

/* sum ||W||^2 and sum |W| of the coefficients (the penalties' norms). */
typedef struct {
    double squares, abs;
} fm_coef_norms;

/* Whether the loss carries alpha's penalty term (penalty_value), so that
 * the epoch needs the coefficients' norms. Keras's convention has no such
 * term (its penalties are the layers' own): at alpha 0 it is not computed,
 * which spares the step a pass over the coefficients per minibatch
 * (scikit-learn's convention keeps computing 0 * ||W||^2, NaN included). */
static int alpha_term(const fm_mlp *net)
{
    return net->penalty != FM_PENALTY_NONE &&
           !(net->convention == FM_CONVENTION_KERAS && net->alpha == 0.0);
}

static int needs_abs(const fm_mlp *net)
{
    return alpha_term(net) &&
           (net->penalty == FM_PENALTY_L1 || net->penalty == FM_PENALTY_ELASTICNET);
}

/* The penalty of alpha times sum(w) (the caller divides): scikit-learn's
 * 0.5 * alpha * ||W||^2 for L2, SGDClassifier's forms for the others. */
static double penalty_value(const fm_mlp *net, fm_coef_norms norms)
{
    if (!alpha_term(net))
        return 0.0;
    switch (net->penalty) {
    case FM_PENALTY_L2:
        return 0.5 * net->alpha * norms.squares;
    case FM_PENALTY_L1:
        return net->alpha * norms.abs;
    case FM_PENALTY_ELASTICNET:
        return net->alpha *
               (net->l1_ratio * norms.abs + 0.5 * (1.0 - net->l1_ratio) * norms.squares);
    default:
        return 0.0;
    }
}

/* How layer l's coefficient gradient (or, `bias`, its intercept gradient)
 * is finished: the penalties' derivative, / sum(w), no clipping (the epoch
 * sets scale and clip). scikit-learn's alpha acts on coefficients before
 * the division; the layer's Keras-scaled l1 / l2 act after it, so they
 * enter multiplied by sum(w) (2 l2 W: the derivative of l2 sum(W^2)). */
static fm_grad_finish layer_finish(const fm_mlp *net, int l, int bias, double divisor)
{
    fm_grad_finish f = {FM_FINISH_NONE, 0.0, 0.0, divisor, 1.0, INFINITY};
    double l2 = 0.0, l1 = 0.0;
    if (!bias) {
        switch (net->penalty) {
        case FM_PENALTY_L2:
            l2 = net->alpha;
            break;
        case FM_PENALTY_L1:
            l1 = net->alpha;
            break;
        case FM_PENALTY_ELASTICNET:
            l2 = net->alpha * (1.0 - net->l1_ratio);
            l1 = net->alpha * net->l1_ratio;
            break;
        default:
            break;
        }
    }
    const fm_layer *ly = &net->layer[l];
    const double own_l2 = bias ? ly->bias_l2 : ly->kernel_l2;
    const double own_l1 = bias ? ly->bias_l1 : ly->kernel_l1;
    if (own_l2 > 0.0) /* x + 0 is x: alpha alone keeps its bits */
        l2 += 2.0 * own_l2 * divisor;
    if (own_l1 > 0.0)
        l1 += own_l1 * divisor;
    /* scikit-learn's penalty keeps its kind at alpha 0 (the same operations:
     * g + 0 * W); under Keras's convention alpha 0 is no penalty at all, as
     * in Keras (and its SGD can then run in the product: sgd_in_product_). */
    const int keeps = !(net->convention == FM_CONVENTION_KERAS && net->alpha == 0.0);
    const int both = (l2 != 0.0 || (keeps && net->penalty == FM_PENALTY_ELASTICNET)) && l1 != 0.0;
    if (both || (keeps && !bias && net->penalty == FM_PENALTY_ELASTICNET))
        f.penalty = FM_FINISH_ELASTICNET;
    else if (l1 != 0.0 || (keeps && !bias && net->penalty == FM_PENALTY_L1))
        f.penalty = FM_FINISH_L1;
    else if (l2 != 0.0 || (keeps && !bias && net->penalty == FM_PENALTY_L2))
        f.penalty = FM_FINISH_L2;
    f.l2 = l2;
    f.l1 = l1;
    return f;
}

/* How an optimizer-step block's gradient is finished: its layer's
 * coefficient or intercept finish (batch norm's gammas and betas: none),
 * with the clipping's scale and bound. */
static fm_grad_finish block_finish(const fm_mlp *net, const fm_step_block *blk, double divisor,
                                   double scale, double clip)
{
    fm_grad_finish f = {FM_FINISH_NONE, 0.0, 0.0, divisor, 1.0, INFINITY};
    if (blk->kind == FM_SEG_COEF || blk->kind == FM_SEG_INTERCEPT)
        f = layer_finish(net, blk->layer, blk->kind == FM_SEG_INTERCEPT, divisor);
    f.scale = scale;
    f.clip = clip;
    return f;
}

/* The bound of the step's clipping by value (fm_grad_finish.clip): the
 * network's clip_grad_value and, under Keras's arithmetic, the optimizer's
 * clipvalue, the smaller; INFINITY when neither. */
static double step_clip(const fm_mlp *net, const fm_optimizer *opt)
{
    double clip = INFINITY;
    if (net->clip_grad_value > 0.0)
        clip = net->clip_grad_value;
    if (opt->arithmetic == FM_STEP_KERAS && opt->clipvalue > 0.0 && opt->clipvalue < clip)
        clip = opt->clipvalue;
    return clip;
}

/* Whether the step scales the gradient by a norm (clip_grad_norm, Keras's
 * clipnorm), known only once the whole gradient is. */
static int step_scaled(const fm_mlp *net, const fm_optimizer *opt)
{
    return net->clip_grad_norm > 0.0 || (opt->arithmetic == FM_STEP_KERAS && opt->clipnorm > 0.0);
}

/* Whether any layer has penalties of its own (Keras's scale). */
static int any_layer_penalty(const fm_mlp *net)
{
    for (int l = 0; l < net->n_layers; l++) {
        const fm_layer *ly = &net->layer[l];
        if (ly->kernel_l1 > 0.0 || ly->kernel_l2 > 0.0 || ly->bias_l1 > 0.0 || ly->bias_l2 > 0.0)
            return 1;
    }
    return 0;
}

#define T float
#define SUF f32
#define T_EPS FLT_EPSILON
#define T_IS_DOUBLE 0
#include "train_tmpl.h"

#define T double
#define SUF f64
#define T_EPS DBL_EPSILON
#define T_IS_DOUBLE 1
#include "train_tmpl.h"
