/*
 * The training engine for one dtype; included by train.c with T, SUF,
 * T_EPS (the dtype's machine epsilon, scikit-learn's probability clip) and
 * T_IS_DOUBLE defined. See train.h for the interface and the formulas.
 */

#define FM_CAT_(a, b) a##b
#define FM_CAT(a, b) FM_CAT_(a, b)
#define FN(name) FM_CAT(name, SUF)

/* Per-layer views of the workspace buffers, typed. */
#define ACT(ws, l) ((T *)(ws)->act[l])
#define PRE(ws, l) ((T *)(ws)->pre[l])
#define DELTA(ws, l) ((T *)(ws)->delta[l])
#define MASK(ws, l) ((T *)(ws)->mask[l])
#define ZHAT(ws, l) ((T *)(ws)->zhat[l])
#define INV_STD(ws, l) ((T *)(ws)->inv_std[l])
#define DROP(ws, l) ((T *)(ws)->drop[l])
#define HID(ws, l) ((T *)(ws)->hid[l])
/* FM_COMPUTE_BF16: layer l's weights packed as the B operand of the forward
 * product (W) and of the delta passed back (W^T); NULL otherwise. */
#define PACKED_W(ws, l) ((ws)->weights != NULL ? (const void *)(ws)->weights->fwd[l] : NULL)
#define PACKED_WT(ws, l) ((ws)->weights != NULL ? (const void *)(ws)->weights->bwd[l] : NULL)
#define WIN(ws, l) ((int32_t *)(ws)->winner[l])

/* The gather prefetches the rows this many ahead of the one it copies:
 * shuffled rows come from all over X, which no hardware prefetcher follows
 * (MNIST's 3 KB rows: 2, 4 and 8 measured, 8 kept; 30.5 -> 27-28 ms). Into
 * L2 (locality 2, PREFETCHT1), not L1: the 8 rows' 400 lines would wait on
 * L1's few miss buffers (Zen 4, fastmlp.keras at batch 32: the gather 6.2
 * -> 5.2 ms an epoch, four alternating pairs; 16 rows ahead no better). */
#define FM_GATHER_AHEAD 8

/* Minibatches of at most this many rows take the SGD step inside the
 * weight-gradient products (sgd_in_product_): KC, one k block, in every
 * GEMM driver. */
#define FM_STEP_PRODUCT_ROWS 256

/* Dropout applies to weight layer l's input (0..L-1) in this pass. */
#define DROPOUT_ON(net, rng, l) ((rng) != NULL && (net)->layer[l].dropout > 0.0)

/*
 * The rows of one minibatch or chunk: dense rows (gathered or in place), or
 * rows of a CSR matrix, rows[i] (or first + i) for the batch's row i.
 */
typedef struct {
    const T *x;
    int64_t ldx;
    const int64_t *indptr, *indices;
    const T *data;
    const int64_t *rows;
    int64_t first;
} FN(batch_);

static inline int64_t FN(batch_row_)(const FN(batch_) *b, int64_t i)
{
    return b->rows != NULL ? b->rows[i] : b->first + i;
}

/* out (nb, n) = X_batch @ W + bias for CSR rows: each stored value adds a
 * scaled row of W, so the cost is nnz x n, not nb x d x n. */
static void FN(sparse_dense_)(const FN(batch_) *b, int64_t nb, const T *w, const T *bias,
                              int64_t n, T *out)
{
    for (int64_t i = 0; i < nb; i++) {
        T *o = out + i * n;
        for (int64_t j = 0; j < n; j++)
            o[j] = bias != NULL ? bias[j] : (T)0;
        const int64_t r = FN(batch_row_)(b, i);
        for (int64_t p = b->indptr[r]; p < b->indptr[r + 1]; p++) {
            const T v = b->data[p];
            const T *wr = w + b->indices[p] * n;
            for (int64_t j = 0; j < n; j++)
                o[j] += v * wr[j];
        }
    }
}

/* gw (d, n) = X_batch^T @ delta for CSR rows (gw zeroed first). */
static void FN(sparse_t_dense_)(const FN(batch_) *b, int64_t nb, int64_t d, const T *delta,
                                int64_t n, T *gw)
{
    memset(gw, 0, (size_t)(d * n) * sizeof(T));
    for (int64_t i = 0; i < nb; i++) {
        const int64_t r = FN(batch_row_)(b, i);
        const T *di = delta + i * n;
        for (int64_t p = b->indptr[r]; p < b->indptr[r + 1]; p++) {
            const T v = b->data[p];
            T *g = gw + b->indices[p] * n;
            for (int64_t j = 0; j < n; j++)
                g[j] += v * di[j];
        }
    }
}

/*
 * Stage batch_norm (forward; twin: reference.batch_norm_forward). The
 * layer's values x (nb, n): per unit, the batch mean and biased variance,
 * zhat = (x - mean) * inv_std into `zhat` (may be x), y = gamma * zhat +
 * beta into `y`; the running mean and (unbiased or biased, bn_unbiased)
 * variance move towards the batch's by bn_momentum. Statistics in double.
 */
static void FN(batch_norm_forward_)(const fm_layer *ly, int64_t nb, int64_t n, const T *x,
                                    T *zhat, T *inv_std, const T *gamma, const T *beta,
                                    T *running_mean, T *running_var, T *y)
{
    const double m = ly->bn_momentum;
    for (int64_t j = 0; j < n; j++) {
        double mean = 0.0, var = 0.0;
        for (int64_t i = 0; i < nb; i++)
            mean += x[i * n + j];
        mean /= (double)nb;
        for (int64_t i = 0; i < nb; i++) {
            const double c = x[i * n + j] - mean;
            var += c * c;
        }
        var /= (double)nb;
        const double is = 1.0 / sqrt(var + ly->bn_epsilon);
        inv_std[j] = (T)is;
        for (int64_t i = 0; i < nb; i++) {
            const T zh = (T)((x[i * n + j] - mean) * is);
            zhat[i * n + j] = zh;
            y[i * n + j] = gamma[j] * zh + beta[j];
        }
        const double moving =
            ly->bn_unbiased && nb > 1 ? var * (double)nb / (double)(nb - 1) : var;
        running_mean[j] = (T)((1.0 - m) * running_mean[j] + m * mean);
        running_var[j] = (T)((1.0 - m) * running_var[j] + m * moving);
    }
}

/*
 * Stage batch_norm (backward; twin: reference.batch_norm_backward): d (nb, n) holds dL/dy on entry and
 * dL/dz on exit; dgamma and dbeta (n) receive sum_i d*zhat and sum_i d:
 *   dz = gamma * inv_std / nb * (nb * d - dbeta - zhat * dgamma).
 */
static void FN(batch_norm_backward_)(int64_t nb, int64_t n, const T *zhat, const T *inv_std,
                                     const T *gamma, T *d, T *dgamma, T *dbeta)
{
    for (int64_t j = 0; j < n; j++) {
        double sg = 0.0, sb = 0.0;
        for (int64_t i = 0; i < nb; i++) {
            sg += (double)d[i * n + j] * zhat[i * n + j];
            sb += d[i * n + j];
        }
        dgamma[j] = (T)sg;
        dbeta[j] = (T)sb;
        const double scale = (double)gamma[j] * inv_std[j] / (double)nb;
        for (int64_t i = 0; i < nb; i++)
            d[i * n + j] = (T)(scale * ((double)nb * d[i * n + j] - sb - zhat[i * n + j] * sg));
    }
}

/* Stage dropout (forward; twin: reference.dropout_forward): inverted
 * dropout of x (nb, k) with leading dimension ldx: mask = 1 / (1 - rate)
 * with probability 1 - rate (the rng's uniform draws in row order), else
 * 0, into `mask`; x * mask into `out` (nb, k). */
static void FN(dropout_forward_)(uint64_t *rng, double rate, int64_t nb, int64_t k, const T *x,
                                 int64_t ldx, T *mask, T *out)
{
    const T scale = (T)(1.0 / (1.0 - rate));
    for (int64_t i = 0; i < nb; i++)
        for (int64_t j = 0; j < k; j++) {
            mask[i * k + j] = next_uniform(rng) >= rate ? scale : (T)0;
            out[i * k + j] = x[i * ldx + j] * mask[i * k + j];
        }
}

/* Stage dropout (backward; twin: reference.dropout_backward): d *= mask. */
static void FN(dropout_backward_)(int64_t size, const T *mask, T *d)
{
    for (int64_t i = 0; i < size; i++)
        d[i] = d[i] * mask[i];
}

/* T's bit pattern as an unsigned integer. */
#if T_IS_DOUBLE
typedef uint64_t FN(bits_);
#else
typedef uint32_t FN(bits_);
#endif

/*
 * Compress nb dense rows x (leading dimension ldx, d columns) into the
 * workspace by rows and by columns (internal.h, fm_sparse_rows); -0 is a
 * zero. The rows in up to FM_SPARSE_MAX_PARTS parts, one per thread, each
 * into its own share of the buffers: `cap` values in proportion to its
 * rows, and d more (the loop writes every value and advances past the
 * nonzero ones only, without a branch); 0 when a part has more than its
 * share of `cap` (the buffers are then not used). Each part then scatters
 * its values by column after those of the parts before it (each column's
 * rows ascending).
 */
static void FN(sparse_columns_)(fm_mlp_workspace *ws, int64_t nb, int64_t d, int parts);

static int FN(compress_)(fm_mlp_workspace *ws, const T *x, int64_t ldx, int64_t nb, int64_t d,
                         int64_t cap, int n_threads)
{
    int32_t *rptr = ws->sp_rptr, *rend = ws->sp_rend, *ridx = ws->sp_ridx;
    int32_t *counts = ws->sp_counts;
    T *rval = (T *)ws->sp_rval;
    /* (as the gather: 32768 values a thread; a batch of 32 MNIST rows in
     * two parts lengthened the 2-thread epochs' gather, 16-17 -> 18-21 ms) */
    int parts = step_threads(n_threads, nb * d);
    parts = parts < FM_SPARSE_MAX_PARTS ? parts : FM_SPARSE_MAX_PARTS;
    parts = parts < nb ? parts : (int)nb;
    int over = 0;
#ifdef FASTMLP_OPENMP
#pragma omp parallel for num_threads(parts) schedule(static, 1) if (parts > 1) reduction(| : over)
#endif
    for (int t = 0; t < parts; t++) {
        const int64_t r0 = nb * t / parts, r1 = nb * (t + 1) / parts;
        const int64_t limit = cap * r1 / nb + t * d; /* the next part's share starts d on */
        int32_t q = (int32_t)(cap * r0 / nb + t * d), *count = counts + t * d;
        memset(count, 0, (size_t)d * sizeof(int32_t));
        for (int64_t i = r0; i < r1 && !over; i++) {
            rptr[i] = q;
            const T *xi = x + i * ldx;
            int64_t j = 0;
            /* Runs of 8 zeros skipped whole (MNIST: 61% of them), tested by
             * their bit patterns OR-ed less the sign bit (-0 is a zero; NaN
             * and infinity are not): 32 x 784 MNIST pixels 22 -> 14 us on
             * Zen 4, where comparing the values did not vectorize. */
            for (; j + 8 <= d; j += 8) {
                FN(bits_) bits[8], any = 0;
                memcpy(bits, xi + j, sizeof(bits));
                for (int u = 0; u < 8; u++)
                    any |= bits[u];
                if ((FN(bits_))(any << 1) == 0)
                    continue;
                for (int u = 0; u < 8; u++) {
                    const T v = xi[j + u];
                    ridx[q] = (int32_t)(j + u);
                    rval[q] = v;
                    q += v != (T)0;
                }
            }
            for (; j < d; j++) {
                const T v = xi[j];
                ridx[q] = (int32_t)j;
                rval[q] = v;
                q += v != (T)0;
            }
            rend[i] = q;
            over |= q > limit;
        }
        for (int64_t i = r0; i < r1 && !over; i++)
            for (int32_t p = rptr[i]; p < rend[i]; p++)
                count[ridx[p]]++;
    }
    if (over)
        return 0;
    FN(sparse_columns_)(ws, nb, d, parts);
    return 1;
}

/*
 * The compressed minibatch by columns from its rows (compress_,
 * compress_csr_): the nb rows in `parts` parts, part t's rows
 * [nb * t / parts, nb * (t + 1) / parts), whose values per column are in
 * ws->sp_counts[t * d ...]. Column j's values: part 0's rows, then part
 * 1's, ..., each part's rows ascending.
 */
static void FN(sparse_columns_)(fm_mlp_workspace *ws, int64_t nb, int64_t d, int parts)
{
    const int32_t *rptr = ws->sp_rptr, *rend = ws->sp_rend, *ridx = ws->sp_ridx;
    int32_t *cptr = ws->sp_cptr, *cidx = ws->sp_cidx, *counts = ws->sp_counts;
    const T *rval = (const T *)ws->sp_rval;
    T *cval = (T *)ws->sp_cval;
    /* The counts become each part's cursors. */
    int32_t total = 0;
    for (int64_t j = 0; j < d; j++) {
        cptr[j] = total;
        for (int t = 0; t < parts; t++) {
            const int32_t c = counts[t * d + j];
            counts[t * d + j] = total;
            total += c;
        }
    }
    cptr[d] = total;
#ifdef FASTMLP_OPENMP
#pragma omp parallel for num_threads(parts) schedule(static, 1) if (parts > 1)
#endif
    for (int t = 0; t < parts; t++) {
        int32_t *next = counts + t * d;
        for (int64_t i = nb * t / parts; i < nb * (t + 1) / parts; i++)
            for (int32_t p = rptr[i]; p < rend[i]; p++) {
                const int32_t at = next[ridx[p]]++;
                cidx[at] = (int32_t)i;
                cval[at] = rval[p];
            }
    }
}

/*
 * Compress nb rows of a CSR input (xb) as compress_ does dense rows: their
 * nonzero stored values by rows, then by columns, into the workspace (room
 * for the minibatch's stored values, sparse_reserve), in one part. 0 when
 * a row's column indices are not strictly increasing (SciPy allows any
 * order and repeats; the products need each row's columns ascending and
 * once): the minibatch then takes the CSR loops (sparse_dense_).
 */
static int FN(compress_csr_)(fm_mlp_workspace *ws, const FN(batch_) *xb, int64_t nb, int64_t d)
{
    int64_t stored = 0;
    for (int64_t i = 0; i < nb; i++) {
        const int64_t r = FN(batch_row_)(xb, i);
        stored += xb->indptr[r + 1] - xb->indptr[r];
    }
    if (stored >= INT32_MAX)
        return 0;
    /* (twice the room: a larger minibatch later reallocates rarely) */
    if (!sparse_reserve(ws, d, stored + 1 > ws->sparse_cap ? 2 * stored + 1 : 0))
        return 0;
    int32_t *rptr = ws->sp_rptr, *rend = ws->sp_rend, *ridx = ws->sp_ridx;
    int32_t *count = ws->sp_counts;
    T *rval = (T *)ws->sp_rval;
    memset(count, 0, (size_t)d * sizeof(int32_t));
    int32_t q = 0;
    for (int64_t i = 0; i < nb; i++) {
        const int64_t r = FN(batch_row_)(xb, i);
        rptr[i] = q;
        int64_t last = -1;
        for (int64_t p = xb->indptr[r]; p < xb->indptr[r + 1]; p++) {
            const int64_t j = xb->indices[p];
            const T v = xb->data[p];
            if (j <= last)
                return 0;
            last = j;
            ridx[q] = (int32_t)j;
            rval[q] = v;
            q += v != (T)0; /* a stored zero is skipped as compress_ skips it */
        }
        rend[i] = q;
        for (int32_t p = rptr[i]; p < q; p++)
            count[ridx[p]]++;
    }
    FN(sparse_columns_)(ws, nb, d, 1);
    return 1;
}

/* The first layer's input as op(A) of `pr` where this minibatch runs on the
 * compressed input (sparse_row0 >= 0; ws->sparse_now): x by rows for
 * x @ W, x^T from its row sparse_row0 (a fused chunk's first) by x's
 * columns for the weight gradient. */
static void FN(sparse_operand_)(const fm_mlp_workspace *ws, int trans_a, int64_t sparse_row0,
                                FM_CAT(fm_gemm_problem_, SUF) *pr)
{
    if (sparse_row0 < 0 || !ws->sparse_now)
        return;
    pr->sparse_a.ptr = trans_a ? ws->sp_cptr + sparse_row0 : ws->sp_rptr;
    pr->sparse_a.end = trans_a ? NULL : ws->sp_rend;
    pr->sparse_a.idx = trans_a ? ws->sp_cidx : ws->sp_ridx;
    pr->sparse_a.val = (const T *)(trans_a ? ws->sp_cval : ws->sp_rval);
}

/* Whether an epoch's minibatches of up to batch_size rows of X may run the
 * first layer on the compressed input (train.h, fm_mlp_workspace_sparse_input):
 * dense rows compressed by compress_, CSR rows by compress_csr_, indexed
 * by int32. */
static int FN(sparse_possible_)(const fm_mlp *net, const fm_mlp_workspace *ws, const fm_input *X,
                                int64_t batch_size)
{
    const fm_layer *first = &net->layer[0];
    /* (dense: the buffers' size follows the rows, sparse_cap; CSR: the
     * minibatch's stored values) */
    const int fits = X->dense != NULL ? batch_size <= FM_SPARSE_MAX_ROWS &&
                                            (batch_size + FM_SPARSE_MAX_PARTS) * net->n_inputs <=
                                                INT32_MAX
                                      : net->n_inputs < INT32_MAX;
    return ws->sparse_mode != FM_SPARSE_OFF && !ws->bf16 && fits && first->dropout == 0.0 &&
           first->activation.kind != FM_ACT_MAXOUT && fm_mlp_cols(net, 0) >= 2;
}

/* The engine's products: c = act(op(a) @ op(b) + bias) through the native
 * GEMM, packing into the workspace's buffer; the one place where the
 * network's compute type reaches the kernels. FM_COMPUTE_BF16 products round
 * a and b to bfloat16 as the GEMM packs them, or take b already packed
 * (`b_packed`, the weights packed once per optimizer step; NULL for the
 * weight gradient's a^T @ delta, whose operands are both new). Maxout: c
 * receives z, and the output stage (float, bfloat16 products alike) writes
 * the units into act_out (ld_act) and the winning pieces into winner (same
 * leading dimension; NULL when not needed). */
static fm_status FN(product_)(fm_mlp_workspace *ws, int n_threads, int trans_a, int trans_b,
                              int64_t m, int64_t n, int64_t k, const T *a, int64_t lda,
                              const T *b, int64_t ldb, const void *b_packed, T *c, int64_t ldc,
                              const T *bias, fm_activation act, T *act_out, int64_t ld_act,
                              int32_t *winner, int64_t sparse_row0)
{
    FM_CAT(fm_gemm_problem_, SUF) pr = {trans_a, trans_b, m, n, k, (T)1, a, lda, b, ldb,
                                       (T)0, c, ldc, bias, act, (T *)ws->scratch,
                                       ws->scratch_elems, ws->bf16, b_packed, act_out,
                                       ld_act, winner};
    FN(sparse_operand_)(ws, trans_a, sparse_row0, &pr);
    /* The weight gradients (a^T @ delta: the engine's only products with A
     * transposed) of a minibatch whose step may run in them (sgd_in_product_). */
    pr.flush = trans_a && ws->flush_grads;
    const double t0 = profile_clock(ws);
    const fm_status st = FN(fm_gemm_problem_run_)(FM_GEMM_NATIVE, n_threads, &pr);
    profile_add(ws, FM_PROFILE_PRODUCTS, t0);
    return st;
}

/* The packing buffer all of those products need for `rows` rows on
 * OpenMP's thread count: forward (any activation), and for training the
 * weight gradients a^T @ delta and the input gradients delta @ W^T. */
static int64_t FN(scratch_elems_)(const fm_mlp *net, int64_t rows, int forward_only)
{
    int64_t most = 0;
    for (int l = 0; l < net->n_layers; l++) {
        const int64_t k = fm_mlp_width(net, l), n = fm_mlp_cols(net, l);
        FM_CAT(fm_gemm_problem_, SUF) pr = {0, 0, rows, n, k, (T)1, NULL, k, NULL, n, (T)0,
                                           NULL, n, NULL, {FM_ACT_IDENTITY, 0.0}, NULL, 0,
                                           net->compute == FM_COMPUTE_BF16, NULL, NULL, 0,
                                           NULL};
        const int maxout = l + 1 < net->n_layers && net->layer[l].activation.kind == FM_ACT_MAXOUT;
        for (int pass = 0; pass < (forward_only ? 2 : 5); pass++) {
            FM_CAT(fm_gemm_problem_, SUF) p = pr;
            if (pass == 1 && maxout) /* whole units per column slice */
                p.act = net->layer[l].activation;
            else if (pass == 1) /* softmax splits rows among threads, not columns */
                p.act.kind = FM_ACT_SOFTMAX;
            if (pass == 2) { /* weight gradient (k, n) = a^T (k, rows) @ delta (rows, n) */
                p.trans_a = 1; p.m = k; p.n = n; p.k = rows;
                /* with the step in it (sgd_in_product_): the fallback's
                 * sums where the blocked path cannot take it */
                p.step.on = net->compute != FM_COMPUTE_BF16 && rows <= FM_STEP_PRODUCT_ROWS;
            }
            if (pass == 3) { /* input gradient (rows, k) = delta (rows, n) @ W^T */
                p.trans_b = 1; p.m = rows; p.n = k; p.k = n;
            }
            if (pass == 4) { /* a chunk of the fused weight gradient (train.c) */
                const int64_t chunk = fuse_chunk_rows(net, l);
                if (chunk == 0)
                    continue;
                p.trans_a = 1; p.m = chunk < k ? chunk : k; p.n = n; p.k = rows;
            }
            int64_t e = FN(fm_gemm_scratch_)(0, &p);
            /* Training's first-layer forward and weight-gradient products
             * on the compressed input (sparse_operand_) take gemm_sparse's
             * buffer (cursors, rows of sums, a packed strip of B), sized
             * here with a stand-in for the cursors, which the thread split
             * offsets. (Not for prediction: a one-row predict would carry
             * this buffer for nothing.) */
            if (!forward_only && l == 0 && pass != 1 && pass != 3 &&
                net->compute != FM_COMPUTE_BF16) {
                int32_t *stand_in = fm_malloc((size_t)(p.m + 1) * sizeof(int32_t));
                if (stand_in != NULL) {
                    p.sparse_a.ptr = stand_in;
                    const int64_t sparse = FN(fm_gemm_scratch_)(0, &p);
                    e = sparse > e ? sparse : e;
                    fm_free(stand_in);
                }
            }
            most = e > most ? e : most;
        }
    }
    return most;
}

/*
 * Stage product (twin: reference.dense, reference.maxout): layer l's
 * z = in @ W (+ bias) (nb, cols) into z, and, when `a` is not NULL, the
 * activation a = act(z) (nb, units) too, fused into the product's output
 * stage where the GEMM does it (a == z: scikit-learn's activations; maxout:
 * the max over pieces, the winners into `win` when not NULL). `in` NULL:
 * the CSR rows of xb (the first layer), a sparse x dense product.
 */
static fm_status FN(product_stage_)(const fm_mlp *net, fm_mlp_workspace *ws, int n_threads,
                                    const FN(batch_) *xb, int l, const T *in, int64_t ld_in,
                                    const T *w, const T *bias, fm_activation act, int64_t nb,
                                    T *z, T *a, int32_t *win)
{
    const int64_t k = fm_mlp_width(net, l), n = net->layer[l].units, cols = fm_mlp_cols(net, l);
    const fm_activation identity = {FM_ACT_IDENTITY, 0.0};
    const int maxout = a != NULL && act.kind == FM_ACT_MAXOUT;
    if (in == NULL && !ws->sparse_now) { /* CSR rows not compressed (compress_csr_) */
        FN(sparse_dense_)(xb, nb, w, bias, cols, z);
        if (maxout)
            FN(fm_maxout_forward_)(nb, n, cols / n, z, cols, a, n, win, n);
        else if (a != NULL && (act.kind != FM_ACT_IDENTITY || a != z))
            FN(fm_activation_forward_)(act, nb, n, z, n, a, n);
        return FM_OK;
    }
    const int64_t sparse = l == 0 ? 0 : -1; /* (the input compressed: sparse_operand_) */
    if (maxout)
        return FN(product_)(ws, n_threads, 0, 0, nb, cols, k, in, ld_in, w, cols, PACKED_W(ws, l),
                            z, cols, bias, act, a, n, win, sparse);
    if (a == z) /* the fused path: bias and activation in the output stage */
        return FN(product_)(ws, n_threads, 0, 0, nb, n, k, in, ld_in, w, n, PACKED_W(ws, l), z, n,
                            bias, act, NULL, 0, NULL, sparse);
    fm_status st = FN(product_)(ws, n_threads, 0, 0, nb, n, k, in, ld_in, w, n, PACKED_W(ws, l),
                                z, n, bias, identity, NULL, 0, NULL, sparse);
    if (st == FM_OK && a != NULL)
        FN(fm_activation_forward_)(act, nb, n, z, n, a, n);
    return st;
}

/*
 * The forward pass through the first n_run layers (1..L; L for the whole
 * network) of nb rows (xb: dense rows with ldx, or CSR): ACT(ws, l) for
 * l = 1..n_run, the last into `out` when given (leading dimension its
 * units); with n_run < L that is a hidden layer, activated as in training
 * (transform: features for another model). Per layer, the stages of
 * fm_layer (train.h): dropout of the input (training: `rng` given), product
 * (+ bias), batch norm before, activation, batch norm after. Kept for
 * backward: PRE the activation's input where its derivative needs it (the
 * activations scikit-learn lacks; maxout's pieces), WIN maxout's winners,
 * ZHAT / INV_STD batch norm's, HID the activation's output under a batch
 * norm after it, MASK and DROP the dropout masks and dropped inputs.
 */
static fm_status FN(forward_)(const fm_mlp *net, T *const *coefs, T *const *intercepts,
                              T *const *bn, const FN(batch_) *xb, int64_t nb,
                              fm_mlp_workspace *ws, T *out, int n_threads, uint64_t *rng,
                              int n_run)
{
    const int L = net->n_layers;
    const T *in = xb->x;
    int64_t ld_in = xb->ldx;
    for (int l = 0; l < n_run; l++) {
        const fm_layer *ly = &net->layer[l];
        const int64_t k = fm_mlp_width(net, l), n = ly->units;
        T *dst = l == n_run - 1 && out != NULL ? out : ACT(ws, l + 1);
        if (DROPOUT_ON(net, rng, l)) {
            if (in == NULL) /* CSR input: no dropout of its values */
                return FM_ERR_ARGUMENT;
            FN(dropout_forward_)(rng, ly->dropout, nb, k, in, ld_in, MASK(ws, l), DROP(ws, l));
            in = DROP(ws, l);
            ld_in = k;
        }
        if (ly->batch_norm != FM_BN_OFF && (bn == NULL || bn[4 * l] == NULL))
            return FM_ERR_ARGUMENT;
        const T *bias = ly->use_bias ? intercepts[l] : NULL;
        /* a: the activation's output (the layer's, unless batch norm follows). */
        T *a = ly->batch_norm == FM_BN_AFTER ? HID(ws, l + 1) : dst;
        fm_status st;
        if (ly->batch_norm == FM_BN_BEFORE) {
            T *z = ZHAT(ws, l + 1), *y = PRE(ws, l + 1) != NULL ? PRE(ws, l + 1) : a;
            st = FN(product_stage_)(net, ws, n_threads, xb, l, in, ld_in, coefs[l], bias,
                                    ly->activation, nb, z, NULL, NULL);
            if (st != FM_OK)
                return st;
            FN(batch_norm_forward_)(ly, nb, n, z, z, INV_STD(ws, l + 1), bn[4 * l],
                                    bn[4 * l + 1], bn[4 * l + 2], bn[4 * l + 3], y);
            if (ly->activation.kind != FM_ACT_IDENTITY || y != a)
                FN(fm_activation_forward_)(ly->activation, nb, n, y, n, a, n);
        } else {
            T *z = PRE(ws, l + 1) != NULL ? PRE(ws, l + 1) : a;
            st = FN(product_stage_)(net, ws, n_threads, xb, l, in, ld_in, coefs[l], bias,
                                    ly->activation, nb, z, a, WIN(ws, l + 1));
            if (st != FM_OK)
                return st;
        }
        if (ly->batch_norm == FM_BN_AFTER)
            FN(batch_norm_forward_)(ly, nb, n, a, ZHAT(ws, l + 1), INV_STD(ws, l + 1), bn[4 * l],
                                    bn[4 * l + 1], bn[4 * l + 2], bn[4 * l + 3], dst);
        if (l == L - 1 && net->output == FM_OUTPUT_REGRESSION && net->loss == FM_LOSS_POISSON) {
            /* Poisson's log link: scikit-learn's inplace_exp on the output. */
            for (int64_t i = 0; i < nb * n; i++)
                dst[i] = (T)exp((double)dst[i]);
        }
        in = dst;
        ld_in = n;
    }
    return FM_OK;
}

/* The divisor of a minibatch's weighted loss sum: sum(w) over nb rows, as
 * scikit-learn's sw_sum (n when unweighted); Keras's convention: nb. */
static double FN(weight_sum_)(const fm_mlp *net, const T *sw, int64_t nb)
{
    if (sw == NULL || net->convention == FM_CONVENTION_KERAS)
        return (double)nb;
    double s = 0.0;
    for (int64_t i = 0; i < nb; i++)
        s += sw[i];
    return s;
}

/* Derivative of a regression output activation, from its output p. */
static inline T FN(out_derivative_)(fm_activation_kind kind, T p)
{
    switch (kind) {
    case FM_ACT_RELU:
        return p > (T)0 ? (T)1 : (T)0;
    case FM_ACT_LOGISTIC:
        return p * ((T)1 - p);
    case FM_ACT_TANH:
        return (T)1 - p * p;
    case FM_ACT_SOFTPLUS:
        return (T)(-expm1(-(double)p)); /* sigmoid(z) = 1 - exp(-softplus(z)) */
    default:
        return (T)1;
    }
}

/*
 * Loss of the output p (nb, n_out) against y (scikit-learn's LOSS_FUNCTIONS,
 * averaged over samples with weights, summed over outputs for log losses and
 * Poisson, averaged over outputs for the others), and the first delta into
 * DELTA(ws, L): d loss / d z per row, times the row's weight.
 */
static double FN(output_loss_delta_)(const fm_mlp *net, const T *p, const T *y, const T *sw,
                                     int64_t nb, double sw_sum, T *delta)
{
    const int64_t n_out = net->layer[net->n_layers - 1].units;
    const int keras = net->convention == FM_CONVENTION_KERAS;
    const T eps = keras ? (T)1e-7 : T_EPS; /* keras.backend.epsilon() */
    /* Keras's squared error is not halved; its binary cross-entropy is a
     * mean over the outputs (scikit-learn's a sum). */
    const int doubled = keras && net->output == FM_OUTPUT_REGRESSION &&
                        net->loss == FM_LOSS_SQUARED_ERROR;
    const int averaged = keras && net->output == FM_OUTPUT_LOGISTIC_LOG_LOSS && n_out > 1;
    double total = 0.0;
    for (int64_t i = 0; i < nb; i++) {
        const T *pi = p + i * n_out, *yi = y + i * n_out;
        T *di = delta + i * n_out;
        double row = 0.0;
        for (int64_t j = 0; j < n_out; j++) {
            const T pij = pi[j], yij = yi[j];
            /* The formulas: loss_math.h, scikit-learn's forms. */
            T d = pij - yij; /* canonical link: d loss / d z = p - y */
            switch (net->output) {
            case FM_OUTPUT_SOFTMAX_LOG_LOSS:
                row += FN(fm_loss_log_clipped_)(pij, yij, eps);
                break;
            case FM_OUTPUT_LOGISTIC_LOG_LOSS:
                row += FN(fm_loss_binary_log_clipped_)(pij, yij, eps);
                break;
            case FM_OUTPUT_REGRESSION: {
                double g;
                switch (net->loss) {
                case FM_LOSS_POISSON: /* exp output: p is the mean, d = p - y */
                    row += FN(fm_loss_poisson_mean_)(pij, yij, 0.0, &g);
                    break;
                case FM_LOSS_ABSOLUTE_ERROR:
                    row += FN(fm_loss_absolute_error_)(pij, yij, 0.0, &g);
                    break;
                case FM_LOSS_HUBER:
                    row += FN(fm_loss_huber_)(pij, yij, net->loss_param, &g);
                    break;
                default:
                    row += FN(fm_loss_squared_error_)(pij, yij, 0.0, &g);
                    break;
                }
                /* g rounded once: for p - y the same bits as d above (x 2 is exact). */
                d = doubled ? (T)(2.0 * g) : (T)g;
                if (net->loss != FM_LOSS_POISSON)
                    d = d * FN(out_derivative_)(net->layer[net->n_layers - 1].activation.kind, pij);
                break;
            }
            }
            di[j] = averaged ? d / (T)n_out : d;
        }
        if (doubled)
            row *= 2.0;
        else if (averaged)
            row /= (double)n_out;
        if (sw != NULL) {
            row *= sw[i];
            for (int64_t j = 0; j < n_out; j++)
                di[j] = di[j] * sw[i];
        }
        total += row;
    }
    total /= sw_sum;
    /* Squared, absolute and Huber losses are averaged over outputs. */
    if (net->output == FM_OUTPUT_REGRESSION && net->loss != FM_LOSS_POISSON)
        total /= (double)n_out;
    return total;
}

/* The minibatch's right predictions (fm_mlp_workspace_accuracy): p the
 * output layer's (nb, n_out), y the targets, sw the weights or NULL. */
static void FN(count_right_)(const fm_mlp *net, const T *p, const T *y, const T *sw, int64_t nb,
                             double *right, double *weight)
{
    const int64_t n_out = net->layer[net->n_layers - 1].units;
    for (int64_t i = 0; i < nb; i++) {
        const T *pi = p + i * n_out, *yi = y + i * n_out;
        const double w = sw != NULL ? (double)sw[i] : 1.0;
        double r = 0.0;
        if (net->output == FM_OUTPUT_SOFTMAX_LOG_LOSS) {
            int64_t bp = 0, by = 0;
            for (int64_t j = 1; j < n_out; j++) {
                bp = pi[j] > pi[bp] ? j : bp;
                by = yi[j] > yi[by] ? j : by;
            }
            r = bp == by;
        } else if (net->output == FM_OUTPUT_LOGISTIC_LOG_LOSS) {
            for (int64_t j = 0; j < n_out; j++)
                r += (pi[j] > (T)0.5) == (yi[j] > (T)0.5);
            r /= (double)n_out;
        } else {
            return; /* regression: no accuracy */
        }
        *right += w * r;
        *weight += w;
    }
}

/* The minibatch's training metrics (fm_mlp_workspace_metrics): p the
 * output layer's (nb, n_out), y the targets; every row counts once. */
static void FN(count_metrics_)(const fm_mlp *net, const T *p, const T *y, int64_t nb, double *m)
{
    const int64_t n_out = net->layer[net->n_layers - 1].units;
    for (int64_t i = 0; i < nb; i++) {
        const T *pi = p + i * n_out, *yi = y + i * n_out;
        int64_t bp = 0, by = 0;
        double thr = 0.0, sq = 0.0, ab = 0.0;
        for (int64_t j = 0; j < n_out; j++) {
            bp = pi[j] > pi[bp] ? j : bp;
            by = yi[j] > yi[by] ? j : by;
            thr += (pi[j] > (T)0.5) == (yi[j] > (T)0.5);
            const double r = (double)pi[j] - (double)yi[j];
            sq += r * r;
            ab += fabs(r);
        }
        m[FM_METRIC_WEIGHT] += 1.0;
        m[FM_METRIC_ARGMAX] += bp == by;
        m[FM_METRIC_THRESHOLD] += thr / (double)n_out;
        m[FM_METRIC_SQUARED] += sq / (double)n_out;
        m[FM_METRIC_ABSOLUTE] += ab / (double)n_out;
    }
}

/* delta = 0 where relu's output a is 0: a select, not a branch, so that it
 * vectorises (the same values as `if (a == 0) delta = 0`). */
static FM_ELEMENTWISE_CLONES void FN(relu_derivative_)(int64_t size, const T *restrict a,
                                                        T *restrict delta)
{
    for (int64_t i = 0; i < size; i++)
        delta[i] = a[i] == (T)0 ? (T)0 : delta[i];
}

/* gb (n) = column sums of d (nb, n), each summed over rows in order (as
 * scikit-learn's np.sum(delta, 0) is held to: the same additions); with
 * restrict, the loop over columns vectorises. */
static FM_ELEMENTWISE_CLONES void FN(column_sums_)(int64_t nb, int64_t n, const T *restrict d,
                                                    T *restrict gb)
{
    for (int64_t j = 0; j < n; j++)
        gb[j] = 0;
    for (int64_t i = 0; i < nb; i++)
        for (int64_t j = 0; j < n; j++)
            gb[j] = gb[j] + d[i * n + j];
}

/* delta *= act'(a) for a hidden layer, from its output a (scikit-learn's
 * in-place derivatives) or, for the activations scikit-learn lacks, from the
 * pre-activation z kept in PRE. */
static void FN(hidden_derivative_)(fm_activation act, int64_t nb, int64_t n, const T *a,
                                   const T *z, T *delta)
{
    const int64_t size = nb * n;
    switch (act.kind) {
    case FM_ACT_IDENTITY:
        return;
    case FM_ACT_RELU:
        FN(relu_derivative_)(size, a, delta);
        return;
    case FM_ACT_LOGISTIC:
        for (int64_t i = 0; i < size; i++) {
            delta[i] = delta[i] * a[i];
            delta[i] = delta[i] * ((T)1 - a[i]);
        }
        return;
    case FM_ACT_TANH:
        for (int64_t i = 0; i < size; i++)
            delta[i] = delta[i] * ((T)1 - a[i] * a[i]);
        return;
    default:
        FN(fm_activation_backward_)(act, nb, n, z, delta, delta);
        return;
    }
}

/* sum ||W[l]||^2 (and sum |W[l]| for the L1 penalties) over the layers,
 * in double, block by block in the optimizer step's blocks (so that it
 * equals the sums the step returns). */
static fm_coef_norms FN(coef_norms_)(const fm_mlp *net, T *const *coefs)
{
    fm_coef_norms norms = {0.0, 0.0};
    for (int l = 0; l < net->n_layers && alpha_term(net); l++) {
        const int64_t size = fm_mlp_width(net, l) * fm_mlp_cols(net, l);
        const int64_t block = coef_block_len(net, fm_mlp_cols(net, l));
        for (int64_t start = 0; start < size; start += block) {
            const int64_t len = size - start < block ? size - start : block;
            norms.squares += FN(fm_sum_squares_)(len, coefs[l] + start);
            if (needs_abs(net))
                norms.abs += FN(fm_sum_abs_)(len, coefs[l] + start);
        }
    }
    return norms;
}

/* The layers' own penalties (Keras's scale, not divided by sum(w)):
 * sum over layers of kernel_l2 sum(W^2) + kernel_l1 sum|W| + the same on b. */
static double FN(layer_penalties_)(const fm_mlp *net, T *const *coefs, T *const *intercepts)
{
    double total = 0.0;
    for (int l = 0; l < net->n_layers; l++) {
        const fm_layer *ly = &net->layer[l];
        const int64_t cols = fm_mlp_cols(net, l), size = fm_mlp_width(net, l) * cols;
        if (ly->kernel_l2 > 0.0)
            total += ly->kernel_l2 * FN(fm_sum_squares_)(size, coefs[l]);
        if (ly->kernel_l1 > 0.0)
            total += ly->kernel_l1 * FN(fm_sum_abs_)(size, coefs[l]);
        if (ly->bias_l2 > 0.0)
            total += ly->bias_l2 * FN(fm_sum_squares_)(cols, intercepts[l]);
        if (ly->bias_l1 > 0.0)
            total += ly->bias_l1 * FN(fm_sum_abs_)(cols, intercepts[l]);
    }
    return total;
}

/* Layer l's actual input in the backward pass (after dropout where it was
 * applied), NULL for CSR rows; its leading dimension into *ld. */
static const T *FN(layer_input_)(const fm_mlp *net, fm_mlp_workspace *ws, const FN(batch_) *xb,
                                 int l, int dropped, int64_t *ld)
{
    *ld = l == 0 && !dropped ? xb->ldx : fm_mlp_width(net, l);
    return dropped ? DROP(ws, l) : l == 0 ? xb->x : ACT(ws, l);
}

/* Whether layer l's input is there for a product: dense rows, or the
 * compressed minibatch of a CSR input (compress_csr_). */
static int FN(input_ready_)(const fm_mlp *net, fm_mlp_workspace *ws, const FN(batch_) *xb, int l,
                            int dropped)
{
    int64_t ld;
    return FN(layer_input_)(net, ws, xb, l, dropped, &ld) != NULL ||
           (l == 0 && !dropped && ws->sparse_now);
}

/* The layers whose weight gradient an epoch's optimizer step computes
 * itself, chunk by chunk (bit l; train.c, FM_FUSE_CHUNK): large ones, when
 * the workspace allows it, without clip_grad_norm (the norm needs the whole
 * gradient first), not frozen (no gradient), its input there
 * (input_ready_), and not under a maxout layer (whose backward writes its
 * delta over the layer's input, ACT). Keras's per-variable clipnorm, once
 * the engine reads it (fastmlp.h), will need the whole layer's norm first
 * too. */
static uint64_t FN(fused_layers_)(const fm_mlp *net, fm_mlp_workspace *ws, const FN(batch_) *xb)
{
    uint64_t mask = 0;
    if (!ws->fuse_step || net->clip_grad_norm > 0.0)
        return 0;
    for (int l = 0; l < net->n_layers; l++) {
        const int dropped = net->layer[l].dropout > 0.0;
        if (fuse_chunk_rows(net, l) > 0 && !net->layer[l].frozen &&
            FN(input_ready_)(net, ws, xb, l, dropped) &&
            !(l > 0 && net->layer[l - 1].activation.kind == FM_ACT_MAXOUT))
            mask |= UINT64_C(1) << l;
    }
    return mask;
}

/*
 * Layer l's weight gradient and its step in one product (train.h,
 * fm_mlp_workspace_product_steps): the output stage takes the SGD `rule`'s
 * step from the tile of sums a_in^T @ delta (internal.h, fm_gemm_step: the
 * layer's penalty, / sum(w), the clipping by value, the decay, the
 * momentum or Nesterov velocity from opt's state, or none in Keras's rule
 * without momentum), in the order of the finished gradient followed by the
 * step (optimizers_tmpl.h finish_, sgd_), so the same bits; flushed when
 * the rule is.
 */
static fm_status FN(step_product_)(const fm_mlp *net, fm_mlp_workspace *ws, int n_threads,
                                   const FN(batch_) *xb, int l, int dropped, T *w, int64_t nb,
                                   const fm_step_rule *rule, const fm_optimizer *opt,
                                   double sw_sum)
{
    const int64_t k = fm_mlp_width(net, l), n = fm_mlp_cols(net, l);
    int64_t ld_in;
    const T *a_in = FN(layer_input_)(net, ws, xb, l, dropped, &ld_in);
    FM_CAT(fm_gemm_problem_, SUF) pr = {1, 0, k, n, nb, (T)1, a_in, ld_in,
                                       DELTA(ws, l + 1), n, (T)1, w, n, NULL,
                                       (fm_activation){FM_ACT_IDENTITY, 0.0}, (T *)ws->scratch,
                                       ws->scratch_elems};
    fm_grad_finish f = layer_finish(net, l, 0, sw_sum);
    f.clip = step_clip(net, opt);
    T *velocity = opt->state[0] != NULL ? (T *)opt->state[0] + ws->layout.coef[l] : NULL;
    pr.step = FN(fm_gemm_step_of_)(rule, &f, velocity);
    pr.flush = rule->flush;
    FN(sparse_operand_)(ws, 1, l == 0 ? 0 : -1, &pr);
    const double t0 = profile_clock(ws);
    const fm_status st = FN(fm_gemm_problem_run_)(FM_GEMM_NATIVE, n_threads, &pr);
    profile_add(ws, FM_PROFILE_PRODUCTS, t0);
    ws->product_steps++;
    return st;
}

/*
 * The layers whose step this minibatch applies inside their weight-gradient
 * product (step_product_): SGD in any form (Keras's or scikit-learn's,
 * momentum, Nesterov, weight decay, clipping by value, any penalty), float
 * or double products, no gradient scale (clip_grad_norm, Keras's clipnorm:
 * the norm needs the whole gradient first), the layer not frozen, its input
 * dense and not a maxout layer's (the input gradient, which needs the old
 * W, is computed first and goes there), at most FM_STEP_PRODUCT_ROWS rows
 * (one KC block of every driver: the tile's sums are whole in registers;
 * beyond, the product would keep them in a buffer of its own per call,
 * gemm_step). Sets ws->flush_grads when the rule runs flushed (internal.h;
 * not scikit-learn's exact SGD), for all of the minibatch's weight
 * gradients, so that a gradient computed whole (these conditions failing,
 * or fm_mlp_workspace_fuse_step off) gets the same bits as in the product.
 */
static uint64_t FN(sgd_in_product_)(const fm_mlp *net, fm_mlp_workspace *ws,
                                    const fm_optimizer *opt, const fm_step_rule *rule,
                                    const FN(batch_) *xb, int64_t nb, uint64_t *rng)
{
    const int sgd = rule->kind == FM_OPT_SGD && !ws->bf16 && !step_scaled(net, opt);
    ws->flush_grads = sgd && rule->flush;
    if (!sgd || !ws->fuse_step || nb > FM_STEP_PRODUCT_ROWS)
        return 0;
    uint64_t mask = 0;
    for (int l = 0; l < net->n_layers; l++) {
        if (!net->layer[l].frozen && FN(input_ready_)(net, ws, xb, l, DROPOUT_ON(net, rng, l)) &&
            !(l > 0 && net->layer[l - 1].activation.kind == FM_ACT_MAXOUT))
            mask |= UINT64_C(1) << l;
    }
    return mask;
}

/*
 * Forward, loss and backward for nb rows (x with ldx, y, sw or NULL):
 * returns the minibatch loss (with the penalty; `sw_sum` is sum(w) of the
 * rows, weight_sum_, and `norms` those of the current coefficients) and
 * leaves the flat gradient in the workspace:
 * finished, or with `raw` the sums before scikit-learn's last two
 * operations (+ alpha * W for coefficients, / sum(w)), which the fused
 * optimizer step applies. The weight gradients of the layers in `deferred`
 * (raw only; fused_layers_) are left to the optimizer step; those in
 * `stepped` (raw only; sgd_in_product_) are never stored: their product
 * applies the step `rule` to W, once the input gradient has read the old W.
 */
static fm_status FN(loss_grad_rows_)(const fm_mlp *net, T *const *coefs, T *const *intercepts,
                                     T *const *bn, const FN(batch_) *xb, const T *y,
                                     const T *sw, double sw_sum, int64_t nb,
                                     fm_mlp_workspace *ws, int n_threads, uint64_t *rng,
                                     fm_coef_norms norms, int raw, uint64_t deferred,
                                     uint64_t stepped, const fm_step_rule *rule,
                                     const fm_optimizer *opt, double *loss)
{
    const int L = net->n_layers;
    fm_status st = FN(forward_)(net, coefs, intercepts, bn, xb, nb, ws, NULL, n_threads, rng,
                                net->n_layers);
    if (st != FM_OK)
        return st;

    double value = FN(output_loss_delta_)(net, ACT(ws, L), y, sw, nb, sw_sum, DELTA(ws, L));
    *loss = value + penalty_value(net, norms) / sw_sum;
    if (ws->accuracy_on && rng != NULL) /* training epochs */
        FN(count_right_)(net, ACT(ws, L), y, sw, nb, &ws->right, &ws->weight);
    if (ws->metrics_on && rng != NULL)
        FN(count_metrics_)(net, ACT(ws, L), y, nb, ws->metrics);
    if (any_layer_penalty(net))
        *loss += FN(layer_penalties_)(net, coefs, intercepts);

    /* Backward, layer by layer from the output: the gradients of W[l] and
     * b[l] from layer l's input and its delta (dL/dz, DELTA(ws, l + 1)),
     * then the delta of the layer below, through its stages in reverse. */
    T *grad = (T *)ws->grad;
    const fm_mlp_layout *layout = &ws->layout;
    const T divisor = (T)sw_sum;
    for (int l = L - 1; l >= 0; l--) {
        const fm_layer *ly = &net->layer[l];
        /* fan_out: W[l]'s columns (maxout: the pieces), d's width. */
        const int64_t fan_in = fm_mlp_width(net, l), fan_out = fm_mlp_cols(net, l);
        /* The layer's actual input: after dropout where it was applied. */
        const int dropped = DROPOUT_ON(net, rng, l);
        int64_t ld_in;
        const T *a_in = FN(layer_input_)(net, ws, xb, l, dropped, &ld_in);
        const T *d = DELTA(ws, l + 1);
        T *gw = grad + layout->coef[l], *gb = grad + layout->intercept[l];
        /* A frozen layer's epochs need its delta, not its gradient. */
        const int frozen = raw && ly->frozen;
        const int deferred_here = raw && ((deferred >> l) & 1);
        const int stepped_here = raw && ((stepped >> l) & 1);
        if (!frozen && a_in == NULL && !ws->sparse_now) {
            FN(sparse_t_dense_)(xb, nb, fan_in, d, fan_out, gw);
        } else if (!frozen && !deferred_here && !stepped_here) {
            st = FN(product_)(ws, n_threads, 1, 0, fan_in, fan_out, nb, a_in, ld_in, d, fan_out,
                              NULL, gw, fan_out, NULL, (fm_activation){FM_ACT_IDENTITY, 0.0},
                              NULL, 0, NULL, l == 0 ? 0 : -1);
            if (st != FM_OK)
                return st;
        }
        const T *w = coefs[l];
        if (!raw) {
            const fm_grad_finish finish = layer_finish(net, l, 0, sw_sum);
            FN(fm_grad_finish_)(fan_in * fan_out, gw, w, &finish);
        }
        /* Stage bias (backward): column sums of d; none without a bias. */
        if (frozen || !ly->use_bias)
            for (int64_t j = 0; j < fan_out; j++)
                gb[j] = 0;
        else
            FN(column_sums_)(nb, fan_out, d, gb);
        if (!raw && (ly->bias_l1 > 0.0 || ly->bias_l2 > 0.0)) {
            const fm_grad_finish finish = layer_finish(net, l, 1, sw_sum);
            FN(fm_grad_finish_)(fan_out, gb, intercepts[l], &finish);
        } else if (!raw) {
            for (int64_t j = 0; j < fan_out; j++)
                gb[j] = gb[j] / divisor;
        }
        if (l == 0) {
            if (stepped_here)
                return FN(step_product_)(net, ws, n_threads, xb, l, dropped, coefs[l], nb, rule,
                                         opt, sw_sum);
            break;
        }
        /* The layer below (its output is layer l's input), stages reversed. */
        const fm_layer *below = &net->layer[l - 1];
        const int64_t units = below->units;
        T *d_prev = DELTA(ws, l);
        /* dL/d(output) of the units: into ACT (layer l's input, not needed
         * after gw above) when a maxout layer routes it to its pieces. */
        const int maxout = below->activation.kind == FM_ACT_MAXOUT;
        T *d_units = maxout ? ACT(ws, l) : d_prev;
        st = FN(product_)(ws, n_threads, 0, 1, nb, fan_in, fan_out, d, fan_out, w, fan_out,
                          PACKED_WT(ws, l), d_units, fan_in, NULL,
                          (fm_activation){FM_ACT_IDENTITY, 0.0}, NULL, 0, NULL, -1);
        if (st == FM_OK && stepped_here) /* the old W read: now the step */
            st = FN(step_product_)(net, ws, n_threads, xb, l, dropped, coefs[l], nb, rule,
                                   opt, sw_sum);
        if (st != FM_OK)
            return st;
        if (dropped)
            FN(dropout_backward_)(nb * fan_in, MASK(ws, l), d_units);
        if (below->batch_norm != FM_BN_OFF) {
            T *dgamma = grad + layout->gamma[l - 1], *dbeta = grad + layout->beta[l - 1];
            /* After the activation: dL/da from dL/dy, before the derivative. */
            if (below->batch_norm == FM_BN_AFTER)
                FN(batch_norm_backward_)(nb, units, ZHAT(ws, l), INV_STD(ws, l),
                                         bn[4 * (l - 1)], d_units, dgamma, dbeta);
            if (maxout)
                FN(fm_maxout_backward_)(nb, units, fm_mlp_cols(net, l - 1) / units, WIN(ws, l),
                                        d_units, d_prev);
            else
                FN(hidden_derivative_)(below->activation, nb, units,
                                       below->batch_norm == FM_BN_AFTER ? HID(ws, l) : ACT(ws, l),
                                       PRE(ws, l), d_prev);
            if (below->batch_norm == FM_BN_BEFORE)
                FN(batch_norm_backward_)(nb, units, ZHAT(ws, l), INV_STD(ws, l),
                                         bn[4 * (l - 1)], d_prev, dgamma, dbeta);
            if (!raw)
                for (int64_t j = 0; j < units; j++) {
                    dgamma[j] = dgamma[j] / divisor;
                    dbeta[j] = dbeta[j] / divisor;
                }
        } else if (maxout) {
            FN(fm_maxout_backward_)(nb, units, fm_mlp_cols(net, l - 1) / units, WIN(ws, l),
                                    d_units, d_prev);
        } else {
            FN(hidden_derivative_)(below->activation, nb, units, ACT(ws, l), PRE(ws, l), d_prev);
        }
    }
    return FM_OK;
}

/* Whether block `blk` belongs to a frozen layer's W or b (no step). */
static inline int FN(block_frozen_)(const fm_mlp *net, const fm_step_block *blk)
{
    return (blk->kind == FM_SEG_COEF || blk->kind == FM_SEG_INTERCEPT) &&
           net->layer[blk->layer].frozen;
}

static inline T *FN(block_param_)(const fm_step_block *blk, T *const *coefs,
                                  T *const *intercepts, T *const *bn)
{
    T *param = blk->kind == FM_SEG_COEF        ? coefs[blk->layer]
               : blk->kind == FM_SEG_INTERCEPT ? intercepts[blk->layer]
                                               : bn[4 * blk->layer + (blk->kind - FM_SEG_GAMMA)];
    return param + blk->start;
}

/* max_norm: each column of W[l] (fan_in values, stride fan_out: a maxout
 * layer's columns are its pieces, each constrained, as Goodfellow et al.
 * constrain each piece's weight vector) with an L2 norm above max_norm is
 * scaled down to it; single-threaded, in row order, so the result does not
 * depend on the thread count. */
static void FN(apply_max_norm_)(const fm_mlp *net, T *const *coefs, double *col_squares)
{
    for (int l = 0; l < net->n_layers; l++) {
        const double max_norm = net->layer[l].max_norm;
        if (net->layer[l].frozen || max_norm <= 0.0)
            continue;
        const int64_t fan_in = fm_mlp_width(net, l), fan_out = fm_mlp_cols(net, l);
        T *w = coefs[l];
        for (int64_t j = 0; j < fan_out; j++)
            col_squares[j] = 0.0;
        for (int64_t i = 0; i < fan_in; i++)
            for (int64_t j = 0; j < fan_out; j++)
                col_squares[j] += (double)w[i * fan_out + j] * (double)w[i * fan_out + j];
        for (int64_t j = 0; j < fan_out; j++) {
            const double norm = sqrt(col_squares[j]);
            col_squares[j] = norm > max_norm ? max_norm / norm : 1.0;
        }
        for (int64_t i = 0; i < fan_in; i++)
            for (int64_t j = 0; j < fan_out; j++)
                if (col_squares[j] != 1.0)
                    w[i * fan_out + j] = (T)((double)w[i * fan_out + j] * col_squares[j]);
    }
}

/* The new coefficients' block sums (squares, absolute values) and bfloat16
 * packing of step block i. */
static void FN(block_after_)(const fm_mlp *net, fm_mlp_workspace *ws, T *const *coefs,
                             T *const *intercepts, T *const *bn, int64_t i)
{
    const fm_step_block *blk = &ws->steps[i];
    const T *param = FN(block_param_)(blk, coefs, intercepts, bn);
    const int is_coef = blk->kind == FM_SEG_COEF;
    ws->step_squares[i] = is_coef && alpha_term(net) ? FN(fm_sum_squares_)(blk->len, param) : 0.0;
    ws->step_abs[i] = is_coef && needs_abs(net) ? FN(fm_sum_abs_)(blk->len, param) : 0.0;
    /* bfloat16 products: the new rows into the packed weights (param is
     * this block's rows of a coefficient matrix). */
    FN(pack_block_)(net, ws, blk, blk->kind == FM_SEG_COEF ? coefs[blk->layer] : NULL);
}

/* Layer l's fused weight gradient and step: per chunk of rows [r0, r1),
 * the gradient a_in[:, r0:r1]^T @ delta (the product of the unfused
 * backward pass, restricted to those rows of C) into ws->fused_grad, the
 * step of those values in pieces of FM_STEP_BLOCK (element-wise: any
 * split gives the same bits), then the block sums and packing of the step
 * blocks the chunk completed. */
static fm_status FN(fused_step_)(const fm_mlp *net, T *const *coefs, T *const *intercepts,
                                 T *const *bn, const FN(batch_) *xb, int64_t nb, int l,
                                 const fm_step_rule *rule, const fm_grad_finish *finish,
                                 fm_optimizer *opt, fm_mlp_workspace *ws, int n_threads)
{
    const int64_t k = fm_mlp_width(net, l), n = fm_mlp_cols(net, l);
    const int64_t chunk = fuse_chunk_rows(net, l);
    const int n_states = fm_optimizer_n_states(opt->kind);
    int64_t ld_in;
    const T *a_in = FN(layer_input_)(net, ws, xb, l, net->layer[l].dropout > 0.0, &ld_in);
    const T *d = DELTA(ws, l + 1);
    T *g = (T *)ws->fused_grad, *w = coefs[l];
    const int64_t flat = ws->layout.coef[l];
    int64_t next = ws->coef_blocks[l];
    const int64_t end = ws->coef_blocks[l + 1];
    for (int64_t r0 = 0; r0 < k; r0 += chunk) {
        const int64_t r1 = r0 + chunk < k ? r0 + chunk : k;
        /* (a_in NULL: the compressed CSR minibatch, from its column r0) */
        const fm_status st = FN(product_)(ws, n_threads, 1, 0, r1 - r0, n, nb,
                                          a_in != NULL ? a_in + r0 : NULL, ld_in,
                                          d, n, NULL, g, n, NULL,
                                          (fm_activation){FM_ACT_IDENTITY, 0.0}, NULL, 0, NULL,
                                          l == 0 ? r0 : -1);
        if (st != FM_OK)
            return st;
        ws->fused_chunks++;
        const int64_t len = (r1 - r0) * n, first = r0 * n;
        const int64_t pieces = (len + FM_STEP_BLOCK - 1) / FM_STEP_BLOCK;
        const int threads = step_threads(n_threads, len);
        (void)threads;
#ifdef FASTMLP_OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
        for (int64_t i = 0; i < pieces; i++) {
            const int64_t o = i * FM_STEP_BLOCK;
            T *state[FM_OPT_MAX_STATES] = {NULL};
            for (int s = 0; s < n_states; s++)
                state[s] = (T *)opt->state[s] + flat + first + o;
            FN(fm_fused_step_)(rule, len - o < FM_STEP_BLOCK ? len - o : FM_STEP_BLOCK,
                               w + first + o, g + o, state, finish);
        }
        /* The step blocks that end in this chunk are final. */
        const int64_t done = next;
        while (next < end && ws->steps[next].start + ws->steps[next].len <= r1 * n)
            next++;
        const int after_threads = step_threads(n_threads, (next - done) * FM_STEP_BLOCK);
        (void)after_threads;
#ifdef FASTMLP_OPENMP
#pragma omp parallel for num_threads(after_threads) schedule(static) if (after_threads > 1)
#endif
        for (int64_t i = done; i < next; i++)
            FN(block_after_)(net, ws, coefs, intercepts, bn, i);
    }
    return FM_OK;
}

/*
 * One optimizer step over all parameters from the raw gradient in the
 * workspace (see loss_grad_rows_), fused with the gradient's last
 * operations (internal.h, fm_grad_finish), block by block (train.c), blocks
 * shared among threads. Each value goes through the same operations
 * whatever the thread count: clip_grad_norm's norm is a first pass of
 * per-block sums added in block order. Frozen layers' blocks are skipped.
 * The layers in `deferred` (fused_layers_) get their weight gradient here,
 * from the minibatch's nb rows xb still in the workspace, chunk by chunk
 * (fused_step_); those in `stepped` had theirs applied in the backward pass
 * (step_product_), by the same `step_rule` (opt advanced before the pass).
 * Returns the norms of the updated coefficients (the next minibatch's
 * penalty).
 */
static fm_coef_norms FN(optimizer_step_)(const fm_mlp *net, T *const *coefs,
                                         T *const *intercepts, T *const *bn, double sw_sum,
                                         fm_optimizer *opt, const fm_step_rule *step_rule,
                                         fm_mlp_workspace *ws, int n_threads,
                                         const FN(batch_) *xb, int64_t nb, uint64_t deferred,
                                         uint64_t stepped, fm_status *status)
{
    const fm_step_rule rule = *step_rule;
    const int n_states = fm_optimizer_n_states(opt->kind);
    const T *grad = (const T *)ws->grad;
    const int64_t n_blocks = ws->n_steps;
    const fm_step_block *blocks = ws->steps;
    double *block_squares = ws->step_squares, *block_abs = ws->step_abs;
    const int threads = step_threads(n_threads, ws->n_params);
    (void)threads;
    /* Clipping's scale and bound, the same for every block, and Keras's
     * per-variable clipnorm (a scale per W[l], b[l], gamma, beta). */
    double clip_scale = 1.0;
    const double clip = step_clip(net, opt);
    const double clipnorm = opt->arithmetic == FM_STEP_KERAS ? opt->clipnorm : 0.0;
    double *block_grad = ws->grad_squares;
    if (net->clip_grad_norm > 0.0 || clipnorm > 0.0) {
#ifdef FASTMLP_OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
        for (int64_t i = 0; i < n_blocks; i++) {
            const fm_step_block *blk = &blocks[i];
            const fm_grad_finish finish = block_finish(net, blk, sw_sum, 1.0, clip);
            block_grad[i] = FN(block_frozen_)(net, blk)
                                ? 0.0
                                : FN(fm_grad_squares_)(blk->len, grad + blk->flat,
                                                       FN(block_param_)(blk, coefs, intercepts, bn),
                                                       &finish);
        }
        double total = 0.0;
        for (int64_t i = 0; i < n_blocks; i++)
            total += block_grad[i];
        if (net->clip_grad_norm > 0.0 && net->convention == FM_CONVENTION_KERAS) {
            /* Keras's clip_by_global_norm: clip / max(norm, clip). */
            const double norm = sqrt(total);
            clip_scale = norm > net->clip_grad_norm ? net->clip_grad_norm / norm : 1.0;
        } else if (net->clip_grad_norm > 0.0) {
            /* torch.nn.utils.clip_grad_norm_: max_norm / (norm + 1e-6), at most 1. */
            const double factor = net->clip_grad_norm / (sqrt(total) + 1e-6);
            clip_scale = factor < 1.0 ? factor : 1.0;
        }
        /* Keras's clip_by_norm per variable: its blocks are consecutive
         * (same kind and layer); block_grad[i] becomes block i's scale. */
        for (int64_t i = 0; clipnorm > 0.0 && i < n_blocks;) {
            int64_t end = i;
            double squares = 0.0;
            while (end < n_blocks && blocks[end].kind == blocks[i].kind &&
                   blocks[end].layer == blocks[i].layer)
                squares += block_grad[end++];
            const double norm = sqrt(squares);
            const double scale = norm > clipnorm ? clipnorm / norm : 1.0;
            for (; i < end; i++)
                block_grad[i] = scale;
        }
    }
#ifdef FASTMLP_OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (int64_t i = 0; i < n_blocks; i++) {
        const fm_step_block *blk = &blocks[i];
        if (blk->kind == FM_SEG_COEF && ((deferred >> blk->layer) & 1))
            continue; /* fused_step_ below */
        T *param = FN(block_param_)(blk, coefs, intercepts, bn);
        /* (a layer in `stepped`: its W stepped in its gradient's product) */
        if (!FN(block_frozen_)(net, blk) &&
            !(blk->kind == FM_SEG_COEF && ((stepped >> blk->layer) & 1))) {
            T *state[FM_OPT_MAX_STATES] = {NULL};
            for (int k = 0; k < n_states; k++)
                state[k] = (T *)opt->state[k] + blk->flat;
            const double scale = clipnorm > 0.0 ? clip_scale * block_grad[i] : clip_scale;
            const fm_grad_finish finish = block_finish(net, blk, sw_sum, scale, clip);
            FN(fm_fused_step_)(&rule, blk->len, param, grad + blk->flat, state, &finish);
        }
        FN(block_after_)(net, ws, coefs, intercepts, bn, i);
    }
    *status = FM_OK;
    for (int l = 0; l < net->n_layers && *status == FM_OK; l++) {
        if (!((deferred >> l) & 1))
            continue;
        const fm_step_block *blk = &blocks[ws->coef_blocks[l]];
        const fm_grad_finish finish = block_finish(net, blk, sw_sum, clip_scale, clip);
        *status = FN(fused_step_)(net, coefs, intercepts, bn, xb, nb, l, &rule, &finish, opt, ws,
                                  n_threads);
    }
    if (any_max_norm(net)) {
        FN(apply_max_norm_)(net, coefs, ws->col_squares);
        /* bfloat16 products: max_norm rescaled columns after the blocks
         * packed their rows: pack the final weights. */
        FN(pack_into_workspace_)(net, coefs, ws, n_threads);
        return FN(coef_norms_)(net, coefs);
    }
    fm_coef_norms norms = {0.0, 0.0};
    for (int64_t i = 0; i < n_blocks && blocks[i].kind == FM_SEG_COEF; i++) {
        norms.squares += block_squares[i];
        norms.abs += block_abs[i];
    }
    return norms;
}

/* The batch view of rows [start, start + nb) of X (in `order` if given). */
static FN(batch_) FN(rows_of_)(const fm_input *X, const int64_t *order, int64_t start)
{
    FN(batch_) b;
    memset(&b, 0, sizeof(b));
    if (X->dense != NULL) {
        b.x = (const T *)X->dense + start * X->ld;
        b.ldx = X->ld;
    } else {
        b.indptr = X->indptr;
        b.indices = X->indices;
        b.data = (const T *)X->data;
        b.rows = order != NULL ? order + start : NULL;
        b.first = start;
    }
    return b;
}

fm_status FN(fm_mlp_epoch_)(const fm_mlp *net, T *const *coefs, T *const *intercepts,
                            T *const *bn, const fm_input *X, const T *Y, const T *sw,
                            const int64_t *order, int64_t n, int64_t batch_size,
                            fm_optimizer *opt, fm_mlp_workspace *ws, int n_threads,
                            uint64_t seed, double *loss_sum)
{
    uint64_t rng = seed;
    const int64_t d = net->n_inputs, n_out = net->layer[net->n_layers - 1].units;
    if (batch_size < 1 || batch_size > ws->max_rows || ws->elem != sizeof(T) ||
        (order != NULL && X->dense != NULL && ws->act[0] == NULL))
        return FM_ERR_ARGUMENT; /* shuffled dense rows need the gather buffer */
    const int n_states = fm_optimizer_n_states(opt->kind);
    /* One step per minibatch: t must have room for all of this call's, and
     * per-step rates (a schedule's) must cover them. */
    if (n < 0 || !fm_optimizer_valid(opt, n / batch_size + (n % batch_size != 0)))
        return FM_ERR_ARGUMENT;
    for (int k = 0; k < n_states; k++)
        if (opt->state[k] == NULL)
            return FM_ERR_ARGUMENT;
    double total = 0.0;
    fm_coef_norms norms = FN(coef_norms_)(net, coefs);
    fm_status pst = FN(pack_into_workspace_)(net, coefs, ws, n_threads);
    if (pst != FM_OK)
        return pst;
    /* The first layer on the compressed minibatch (train.h,
     * fm_mlp_workspace_sparse_input): auto decides by the first. */
    int sparse = FN(sparse_possible_)(net, ws, X, batch_size);
    if (sparse && X->dense != NULL) /* (CSR: compress_csr_ makes room per minibatch) */
        sparse = sparse_reserve(ws, d, sparse_cap(ws, batch_size * d) + FM_SPARSE_MAX_PARTS * d);
    for (int64_t start = 0; start < n; start += batch_size) {
        const int64_t nb = start + batch_size < n ? batch_size : n - start;
        FN(batch_) xb = FN(rows_of_)(X, order, start);
        const T *yb = Y + start * n_out, *swb = sw ? sw + start : NULL;
        if (order != NULL) {
            const double t_gather = profile_clock(ws);
            /* Gather the minibatch by index into the preallocated buffers
             * (sparse rows are read in place through xb.rows). */
            T *xg = ACT(ws, 0), *yg = (T *)ws->y, *swg = (T *)ws->sw;
            /* Rows come from all over X (DRAM for big inputs): threads share them. */
            const int gather_threads = step_threads(n_threads, X->dense != NULL ? nb * d : 0);
            const int check = X->check_finite;
            int nonfinite = 0;
            (void)gather_threads;
#ifdef FASTMLP_OPENMP
#pragma omp parallel for num_threads(gather_threads) schedule(static) if (gather_threads > 1)     \
    reduction(| : nonfinite)
#endif
            for (int64_t r = 0; r < nb; r++) {
                const int64_t src = order[start + r];
                if (X->dense != NULL) {
                    const T *rows = (const T *)X->dense;
                    if (r + FM_GATHER_AHEAD < nb) {
                        const char *next = (const char *)(rows + order[start + r + FM_GATHER_AHEAD] *
                                                                     X->ld);
                        for (int64_t byte = 0; byte < d * (int64_t)sizeof(T); byte += 64)
                            FM_PREFETCH(next + byte, 0, 2);
                    }
                    memcpy(xg + r * d, rows + src * X->ld, (size_t)d * sizeof(T));
                    if (check) /* the copy, in L1: x * 0 is 0 unless x is NaN or infinite */
                        for (int64_t j = 0; j < d; j++)
                            nonfinite |= xg[r * d + j] * (T)0 != (T)0;
                }
                memcpy(yg + r * n_out, Y + src * n_out, (size_t)n_out * sizeof(T));
                if (sw != NULL)
                    swg[r] = sw[src];
            }
            if (X->dense != NULL) {
                xb.x = xg;
                xb.ldx = d;
            }
            yb = yg;
            swb = sw != NULL ? swg : NULL;
            profile_add(ws, FM_PROFILE_GATHER, t_gather);
            if (nonfinite) {
                *loss_sum = total;
                return (fm_status)FM_ERR_NONFINITE_INPUT;
            }
        }
        double batch_loss;
        const double sw_sum = FN(weight_sum_)(net, swb, nb);
        if (sw_sum == 0.0) {
            *loss_sum = total;
            return (fm_status)FM_ERR_ZERO_WEIGHT;
        }
        ws->sparse_now = 0;
        if (sparse) {
            const double t_compress = profile_clock(ws);
            ws->sparse_now = X->dense != NULL
                                 ? FN(compress_)(ws, xb.x, xb.ldx, nb, d, sparse_cap(ws, nb * d),
                                                 n_threads)
                                 : FN(compress_csr_)(ws, &xb, nb, d);
            ws->sparse_batches += ws->sparse_now;
            /* auto: a dense first minibatch, a dense epoch (CSR: each its own) */
            sparse = ws->sparse_now || start > 0 || X->dense == NULL;
            profile_add(ws, FM_PROFILE_GATHER, t_compress);
        }
        /* Profile: forward, loss and backward count as PASSES less their products. */
        const double t_passes = profile_clock(ws), products0 = ws->profile[FM_PROFILE_PRODUCTS];
        /* The step's rule first: layers in `stepped` take it in the backward pass. */
        fm_optimizer_advance(opt);
        const fm_step_rule rule = fm_step_rule_make(opt);
        const uint64_t stepped = FN(sgd_in_product_)(net, ws, opt, &rule, &xb, nb, &rng);
        const uint64_t deferred = FN(fused_layers_)(net, ws, &xb) & ~stepped;
        fm_status st = FN(loss_grad_rows_)(net, coefs, intercepts, bn, &xb, yb, swb, sw_sum, nb,
                                           ws, n_threads, &rng, norms, 1, deferred, stepped,
                                           &rule, opt, &batch_loss);
        profile_add(ws, FM_PROFILE_PASSES, t_passes);
        ws->profile[FM_PROFILE_PASSES] -= ws->profile[FM_PROFILE_PRODUCTS] - products0;
        if (st != FM_OK) {
            ws->sparse_now = 0;
            return st;
        }
        total += batch_loss * (double)nb;
        /* Profile: the fused weight-gradient products count as PRODUCTS. */
        const double t_step = profile_clock(ws), products1 = ws->profile[FM_PROFILE_PRODUCTS];
        norms = FN(optimizer_step_)(net, coefs, intercepts, bn, sw_sum, opt, &rule, ws,
                                    n_threads, &xb, nb, deferred, stepped, &st);
        profile_add(ws, FM_PROFILE_STEP, t_step);
        ws->profile[FM_PROFILE_STEP] -= ws->profile[FM_PROFILE_PRODUCTS] - products1;
        ws->flush_grads = 0;
        ws->sparse_now = 0;
        if (st != FM_OK)
            return st;
    }
    *loss_sum = total;
    return FM_OK;
}

fm_status FN(fm_mlp_loss_grad_)(const fm_mlp *net, T *const *coefs, T *const *intercepts,
                                T *const *bn, const fm_input *X, const T *Y, const T *sw, int64_t n,
                                fm_mlp_workspace *ws, int n_threads, double *loss)
{
    if (n > ws->max_rows || ws->elem != sizeof(T))
        return FM_ERR_ARGUMENT;
    const FN(batch_) xb = FN(rows_of_)(X, NULL, 0);
    const double sw_sum = FN(weight_sum_)(net, sw, n);
    if (sw_sum == 0.0)
        return (fm_status)FM_ERR_ZERO_WEIGHT;
    const fm_status st = FN(pack_into_workspace_)(net, coefs, ws, n_threads);
    if (st != FM_OK)
        return st;
    ws->flush_grads = 0; /* (only an epoch's minibatch sets it) */
    return FN(loss_grad_rows_)(net, coefs, intercepts, bn, &xb, Y, sw, sw_sum, n, ws,
                               n_threads, NULL, FN(coef_norms_)(net, coefs), 0, 0, 0, NULL, NULL,
                               loss);
}

fm_status FN(fm_mlp_loss_)(const fm_mlp *net, T *const *coefs, T *const *intercepts,
                           const fm_input *X, const T *Y, const T *sw, int64_t n,
                           fm_mlp_workspace *ws, int n_threads, double *loss)
{
    const int L = net->n_layers;
    const int64_t n_out = net->layer[L - 1].units;
    if (ws->elem != sizeof(T) || n < 1)
        return FM_ERR_ARGUMENT;
    fm_status pst = FN(pack_into_workspace_)(net, coefs, ws, n_threads);
    if (pst != FM_OK)
        return pst;
    /* Each chunk's loss is a weighted mean: weight it back by its sum(w). */
    double total = 0.0, weight = 0.0;
    for (int64_t start = 0; start < n; start += ws->max_rows) {
        const int64_t nb = start + ws->max_rows < n ? ws->max_rows : n - start;
        const T *swb = sw != NULL ? sw + start : NULL;
        const FN(batch_) xb = FN(rows_of_)(X, NULL, start);
        fm_status st = FN(forward_)(net, coefs, intercepts, NULL, &xb, nb, ws, NULL, n_threads,
                                    NULL, net->n_layers);
        if (st != FM_OK)
            return st;
        const double chunk_weight = FN(weight_sum_)(net, swb, nb);
        total += chunk_weight * FN(output_loss_delta_)(net, ACT(ws, L), Y + start * n_out, swb,
                                                       nb, chunk_weight, DELTA(ws, L));
        weight += chunk_weight;
    }
    *loss = total / weight + penalty_value(net, FN(coef_norms_)(net, coefs)) / weight;
    if (any_layer_penalty(net))
        *loss += FN(layer_penalties_)(net, coefs, intercepts);
    return FM_OK;
}

fm_status FN(fm_mlp_predict_)(const fm_mlp *net, T *const *coefs, T *const *intercepts,
                              const fm_input *X, int64_t n, T *out,
                              fm_mlp_workspace *ws, const fm_mlp_packed *packed, int n_threads,
                              int n_run)
{
    if (!valid_network(net) || n < 0 || (ws != NULL && ws->elem != sizeof(T)) || n_run < 1 ||
        n_run > net->n_layers ||
        (packed != NULL && (net->compute != FM_COMPUTE_BF16 || packed->n_layers != net->n_layers)))
        return FM_ERR_ARGUMENT;
    const int64_t n_out = fm_mlp_width(net, n_run);
    fm_mlp_workspace *own = NULL;
    if (ws == NULL) {
        own = workspace_new(net, n < FM_PREDICT_CHUNK ? (n > 0 ? n : 1) : FM_PREDICT_CHUNK,
                            sizeof(T), 0, 1, packed != NULL);
        if (own == NULL)
            return FM_ERR_NOMEM;
        ws = own;
    }
    fm_status st = FM_OK;
    if (packed != NULL)
        ws->weights = packed;
    else
        st = FN(pack_into_workspace_)(net, coefs, ws, n_threads);
    /* A CSR input's chunks compressed (compress_csr_): the products of the
     * same values given dense. */
    const int sparse = X->dense == NULL && FN(sparse_possible_)(net, ws, X, ws->max_rows);
    for (int64_t start = 0; start < n && st == FM_OK; start += ws->max_rows) {
        const int64_t nb = start + ws->max_rows < n ? ws->max_rows : n - start;
        const FN(batch_) xb = FN(rows_of_)(X, NULL, start);
        ws->sparse_now = sparse && FN(compress_csr_)(ws, &xb, nb, net->n_inputs);
        st = FN(forward_)(net, coefs, intercepts, NULL, &xb, nb, ws, out + start * n_out,
                          n_threads, NULL, n_run);
        ws->sparse_now = 0;
    }
    fm_mlp_workspace_free(own);
    return st;
}

#undef FN
#undef ACT
#undef PRE
#undef DELTA
#undef MASK
#undef ZHAT
#undef INV_STD
#undef DROP
#undef HID
#undef WIN
#undef DROPOUT_ON
#undef PACKED_W
#undef PACKED_WT
#undef T
#undef SUF
#undef T_EPS
#undef T_IS_DOUBLE
