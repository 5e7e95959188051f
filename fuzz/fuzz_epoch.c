/*
 * libFuzzer target: the training engine (train.h) on random small networks
 * (1-3 weight layers of 1-8 units, any hidden activation the engine takes,
 * every output kind, regression loss and output activation, L2, dropout,
 * batch normalisation, maxout, every optimizer) over random data (1-16 rows, dense or
 * CSR, in order or shuffled, with or without sample weights), float and
 * double, on every kernel set the CPU runs. An epoch, then (without batch
 * norm) the full-batch loss and gradient, the loss and the prediction
 * (of the output layer or, as transform, of a hidden one).
 * The CSR matrices are random too, and fed to the engine only when they
 * pass the binding's check (src/fastmlp/_train.pxi), written again here as
 * csr_valid: the engine follows indptr and indices unchecked, so this
 * target also shows that the check is enough. AddressSanitizer and UBSan
 * do the checking; the numbers are the test suite's business.
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
    net.n_layers = (int)fuzz_range(&in, 1, 3);
    net.n_inputs = fuzz_range(&in, 1, 8);
    for (int l = 0; l < net.n_layers; l++) {
        net.layer[l].units = fuzz_range(&in, 1, 8);
        net.layer[l].use_bias = 1;
    }
    for (int l = 0; l + 1 < net.n_layers; l++) {
        /* Any kind but softmax and heaviside, which hidden layers refuse:
         * those before softmax, and maxout with 1-3 pieces. */
        fm_layer *ly = &net.layer[l];
        const int kind = fuzz_u8(&in) % (FM_ACT_SOFTMAX + 1);
        ly->activation.kind = kind == FM_ACT_SOFTMAX ? FM_ACT_MAXOUT : (fm_activation_kind)kind;
        ly->activation.param = ly->activation.kind == FM_ACT_MAXOUT
                                   ? (double)(1 + fuzz_u8(&in) % 3)
                                   : (double)(fuzz_u8(&in) % 17) / 16.0;
        /* dropout on the next layer's input: this layer's output */
        net.layer[l + 1].dropout = (fuzz_u8(&in) & 1) ? (double)(fuzz_u8(&in) % 9) / 10.0 : 0.0;
    }
    net.output = (fm_output_kind)(fuzz_u8(&in) % 3);
    fm_layer *out = &net.layer[net.n_layers - 1];
    out->activation.kind =
        net.output == FM_OUTPUT_SOFTMAX_LOG_LOSS ? FM_ACT_SOFTMAX : FM_ACT_LOGISTIC;
    if (net.output == FM_OUTPUT_REGRESSION) {
        static const fm_activation_kind outs[] = {FM_ACT_IDENTITY, FM_ACT_RELU, FM_ACT_SOFTPLUS,
                                                  FM_ACT_LOGISTIC, FM_ACT_TANH};
        net.loss = (fm_regression_loss_kind)(fuzz_u8(&in) % FM_LOSS_COUNT);
        out->activation.kind = outs[fuzz_u8(&in) % 5];
        net.loss_param = (double)(1 + fuzz_u8(&in) % 16) / 8.0;
    }
    net.alpha = (double)(fuzz_u8(&in) % 4) / 100.0;
    /* Batch norm before or after the activation (before does not combine
     * with maxout: an invalid network), its running variance either way. */
    const int bn = fuzz_u8(&in) % 3;
    for (int l = 0; l + 1 < net.n_layers && bn != 0; l++) {
        fm_layer *ly = &net.layer[l];
        ly->batch_norm =
            bn == 1 && ly->activation.kind != FM_ACT_MAXOUT ? FM_BN_BEFORE : FM_BN_AFTER;
        ly->bn_momentum = 0.1;
        ly->bn_epsilon = 1e-5;
        ly->bn_unbiased = bn == 1;
        ly->use_bias = ly->batch_norm != FM_BN_BEFORE;
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
        if (!csr_valid(dd.n, n_cols, indptr, indices, dd.nnz)) {
            free(indptr);
            free(indices);
            return 0;
        }
        dd.indptr = indptr;
        dd.indices = indices;
    }
    if (fuzz_u8(&in) & 1)
        run_case_f64(&in, &net, &dd);
    else
        run_case_f32(&in, &net, &dd);
    free(indptr);
    free(indices);
    return 0;
}
