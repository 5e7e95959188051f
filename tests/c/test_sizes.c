/*
 * Size arithmetic of the C layer at and beyond 2^31 and near 2^63, without
 * allocating anything large: compiled and run by tests/test_sizes_64bit.py
 * (with -fsanitize=address,undefined where the compiler has them, so that a
 * signed overflow in a size computation fails even when its result would
 * happen to be caught afterwards).
 *
 * Prints one line per check, "ok <name>" or "FAIL <name> ...", and exits 1
 * if any check failed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fastmlp.h"
#include "train.h"

static int failures = 0;

static void check(int ok, const char *name, const char *detail)
{
    printf("%s %s%s%s\n", ok ? "ok" : "FAIL", name, ok ? "" : " ", ok ? "" : detail);
    failures += !ok;
}

static fm_mlp network(int n_layers, const int64_t *units, int batch_norm)
{
    fm_mlp net;
    memset(&net, 0, sizeof(net));
    net.n_layers = n_layers;
    net.n_inputs = units[0];
    for (int l = 0; l < n_layers; l++) {
        fm_layer *ly = &net.layer[l];
        ly->units = units[l + 1];
        ly->activation.kind = l + 1 < n_layers ? FM_ACT_RELU : FM_ACT_SOFTMAX;
        ly->use_bias = 1;
        if (batch_norm && l + 1 < n_layers) {
            ly->batch_norm = FM_BN_BEFORE;
            ly->bn_momentum = 0.1;
            ly->bn_epsilon = 1e-5;
        }
    }
    net.output = FM_OUTPUT_SOFTMAX_LOG_LOSS;
    return net;
}

static int blas_calls = 0;
static void dummy_sgemm(const char *ta, const char *tb, const int *m, const int *n, const int *k,
                        const float *alpha, const float *a, const int *lda, const float *b,
                        const int *ldb, const float *beta, float *c, const int *ldc)
{
    blas_calls++;
}
static void dummy_dgemm(const char *ta, const char *tb, const int *m, const int *n, const int *k,
                        const double *alpha, const double *a, const int *lda, const double *b,
                        const int *ldb, const double *beta, double *c, const int *ldc)
{
    blas_calls++;
}

int main(void)
{
    char detail[200];
    const int64_t big = ((int64_t)1 << 31) + 1; /* just above 2^31 */

    /* Parameter counts above 2^31 and 2^62 are exact... */
    {
        const int64_t units[] = {big, big + 2, 5};
        fm_mlp net = network(2, units, 0);
        /* (big + 1) * (big + 2) + (big + 3) * 5, computed by the test in Python too */
        const int64_t expected = (big + 1) * (big + 2) + (big + 3) * 5;
        const int64_t got = fm_mlp_n_params(&net);
        snprintf(detail, sizeof(detail), "got %" PRId64 ", expected %" PRId64, got, expected);
        check(got == expected, "n_params_above_2_62", detail);
        printf("value n_params_above_2_62 %" PRId64 "\n", got);
    }
    {
        const int64_t units[] = {3, big, big, 2};
        fm_mlp net = network(3, units, 1); /* with batch norm's 2 per hidden unit */
        const int64_t got = fm_mlp_n_params(&net);
        printf("value n_params_batch_norm %" PRId64 "\n", got);
        check(got > 0, "n_params_batch_norm", "overflowed");
    }
    /* ...and counts beyond int64 are refused (-1), never wrapped, including
     * widths at INT64_MAX where units + 1 alone would overflow. */
    {
        const int64_t cases[][3] = {{(int64_t)1 << 32, (int64_t)1 << 32, 2},
                                    {INT64_MAX, 1, 2},
                                    {1, INT64_MAX, 2},
                                    {INT64_MAX, INT64_MAX, INT64_MAX},
                                    {2, INT64_MAX / 2, 2}};
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            fm_mlp net = network(2, cases[i], 0);
            const int64_t got = fm_mlp_n_params(&net);
            snprintf(detail, sizeof(detail), "case %zu: got %" PRId64, i, got);
            check(got == -1, "n_params_overflow_refused", detail);
        }
        const int64_t bn_units[] = {1, INT64_MAX / 3, 1};
        fm_mlp net = network(2, bn_units, 1);
        /* 2 * INT64_MAX/3 weights + biases fit; + 2 * INT64_MAX/3 batch norm do not */
        check(fm_mlp_n_params(&net) == -1, "n_params_batch_norm_overflow_refused", "");
    }

    /* Workspaces whose element counts (rows x width) or byte counts overflow
     * are refused before any allocation. */
    {
        const int64_t units[] = {(int64_t)1 << 30, (int64_t)1 << 30, 2};
        fm_mlp net = network(2, units, 0);
        check(fm_mlp_workspace_new(&net, (int64_t)1 << 40, sizeof(double), 1) == NULL,
              "workspace_rows_times_width_overflow", "");
        const int64_t units2[] = {4, (int64_t)1 << 61, 2};
        fm_mlp net2 = network(2, units2, 0);
        check(fm_mlp_workspace_new(&net2, 1, sizeof(double), 0) == NULL, "workspace_bytes_overflow",
              "");
        check(fm_mlp_workspace_new(&net2, INT64_MAX, sizeof(float), 1) == NULL,
              "workspace_int64_max_rows", "");
        const int64_t units3[] = {INT64_MAX, 2, 2};
        fm_mlp net3 = network(2, units3, 0);
        check(fm_mlp_workspace_new(&net3, 1, sizeof(double), 1) == NULL,
              "workspace_int64_max_width", "");
    }

    /* GEMM: negative sizes and leading dimensions below the row length are
     * refused; sizes above 2^31 on the 32-bit BLAS are refused before the
     * BLAS is called (no truncation to int). */
    {
        double a = 1, b = 1, c = 0;
        check(fm_gemm_f64(FM_GEMM_NATIVE, 1, 0, 0, -1, 1, 1, 1.0, &a, 1, &b, 1, 0.0, &c, 1) ==
                  FM_ERR_ARGUMENT,
              "gemm_negative_size", "");
        check(fm_gemm_f64(FM_GEMM_NATIVE, 1, 0, 0, 1, 1, 3, 1.0, &a, 2, &b, 1, 0.0, &c, 1) ==
                  FM_ERR_ARGUMENT,
              "gemm_lda_below_k", "");
        fm_set_blas(dummy_sgemm, dummy_dgemm);
        const int64_t huge = (int64_t)1 << 31;
        check(fm_gemm_f64(FM_GEMM_BLAS, 1, 0, 0, huge, 1, 1, 1.0, &a, 1, &b, 1, 0.0, &c, 1) ==
                  FM_ERR_BLAS,
              "blas_m_above_int_max", "");
        check(fm_gemm_f32(FM_GEMM_BLAS, 1, 0, 0, 1, 1, 1, 1.0f, (const float *)&a, huge,
                          (const float *)&b, 1, 0.0f, (float *)&c, 1) == FM_ERR_BLAS,
              "blas_lda_above_int_max", "");
        check(blas_calls == 0, "blas_not_called_for_large_sizes", "");
        /* the tiny product does reach the (dummy) BLAS */
        check(fm_gemm_f64(FM_GEMM_BLAS, 1, 0, 0, 1, 1, 1, 1.0, &a, 1, &b, 1, 0.0, &c, 1) == FM_OK &&
                  blas_calls == 1,
              "blas_called_for_small_sizes", "");
    }

    /* Perceptron: a unit count whose table would overflow size_t is refused. */
    {
        fm_perceptron_options opt;
        memset(&opt, 0, sizeof(opt));
        opt.eta = 1.0;
        opt.penalty = FM_PENALTY_NONE;
        double coef = 0, intercept = 0, wpos = 1, wneg = 1, objective = 0, x = 0;
        int64_t mistakes = 0;
        check(fm_perceptron_epoch_f64(&opt, 1, 0, 1, (int64_t)1 << 62, &x, 1, NULL, NULL, NULL,
                                      NULL, &wpos, &wneg, 0, NULL, NULL, &coef, &intercept, NULL,
                                      NULL, &objective, &mistakes) == FM_ERR_ARGUMENT,
              "perceptron_units_overflow", "");
    }
    return failures ? 1 : 0;
}
