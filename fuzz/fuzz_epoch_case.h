/*
 * One engine case for dtype T (suffix SUF), included by fuzz_epoch.c once
 * per dtype: a random small network and data set, then an epoch, the
 * full-batch loss and gradient, the loss and the prediction, as the binding
 * calls them (src/fastmlp/_train.pxi). Every array has exactly its size.
 */
#define FZ_CAT_(a, b) a##b
#define FZ_CAT(a, b) FZ_CAT_(a, b)

static void FZ_CAT(run_case_, SUF)(fuzz_bytes *in, const fm_mlp *net, const fuzz_data *dd)
{
    const int L = net->n_layers;
    const int64_t n = dd->n, d = net->units[0], n_out = net->units[L];
    const int64_t n_params = fm_mlp_n_params(net);
    T *coefs[FM_MLP_MAX_LAYERS], *intercepts[FM_MLP_MAX_LAYERS];
    T *bn[4 * FM_MLP_MAX_LAYERS];
    for (int l = 0; l < L; l++) {
        const int64_t fan_in = net->units[l], fan_out = net->units[l + 1];
        coefs[l] = fuzz_alloc((size_t)(fan_in * fan_out) * sizeof(T));
        intercepts[l] = fuzz_alloc((size_t)fan_out * sizeof(T));
        for (int64_t i = 0; i < fan_in * fan_out; i++)
            coefs[l][i] = (T)(fuzz_value(in) / 4.0);
        for (int64_t j = 0; j < fan_out; j++)
            intercepts[l][j] = (T)(fuzz_value(in) / 4.0);
    }
    const int n_bn = net->batch_norm ? 4 * (L - 1) : 0;
    for (int i = 0; i < n_bn; i++) {
        const int64_t width = net->units[i / 4 + 1];
        bn[i] = fuzz_alloc((size_t)width * sizeof(T));
        for (int64_t j = 0; j < width; j++) /* gamma, beta, mean, variance (> 0) */
            bn[i][j] = (T)(i % 4 == 3 ? 1.0 + fabs(fuzz_value(in)) : fuzz_value(in));
    }
    T *X = fuzz_alloc((size_t)(n * d) * sizeof(T)), *Y = fuzz_alloc((size_t)(n * n_out) * sizeof(T));
    T *sw = fuzz_alloc((size_t)n * sizeof(T));
    T *values = fuzz_alloc((size_t)dd->nnz * sizeof(T));
    for (int64_t i = 0; i < n * d; i++)
        X[i] = (T)fuzz_value(in);
    for (int64_t i = 0; i < dd->nnz; i++)
        values[i] = (T)fuzz_value(in);
    for (int64_t i = 0; i < n * n_out; i++)
        Y[i] = (T)dd->y[i];
    for (int64_t i = 0; i < n; i++)
        sw[i] = (T)(fuzz_u8(in) % 4);
    const int with_sw = fuzz_u8(in) & 1;

    fm_input input = {0};
    if (dd->indptr != NULL) {
        input.indptr = dd->indptr;
        input.indices = dd->indices;
        input.data = values;
    } else {
        input.dense = X;
        input.ld = d;
    }

    fm_optimizer opt = {0};
    opt.kind = fuzz_u8(in) & 1 ? FM_OPT_ADAM : FM_OPT_SGD;
    opt.learning_rate = (double)(1 + fuzz_u8(in) % 8) / 64.0;
    opt.momentum = (double)(fuzz_u8(in) % 10) / 10.0;
    opt.nesterov = fuzz_u8(in) & 1;
    opt.beta_1 = 0.9;
    opt.beta_2 = 0.999;
    opt.epsilon = 1e-8;
    opt.state_a = calloc((size_t)n_params, sizeof(T));
    opt.state_b = opt.kind == FM_OPT_ADAM ? calloc((size_t)n_params, sizeof(T)) : NULL;
    const int64_t batch_size = fuzz_range(in, 1, n);
    const int shuffled = fuzz_u8(in) & 1;
    fm_mlp_workspace *ws = fm_mlp_workspace_new(net, batch_size, sizeof(T), shuffled);
    if (ws == NULL)
        abort(); /* the network was built valid: a small workspace must succeed */
    double loss = 0.0;
    fm_status st = FZ_CAT(fm_mlp_epoch_, SUF)(net, coefs, intercepts, n_bn ? bn : NULL, &input, Y,
                                              with_sw ? sw : NULL, shuffled ? dd->order : NULL, n,
                                              batch_size, &opt, ws, 1, fuzz_u8(in), &loss);
    if (st != FM_OK)
        abort();
    fm_mlp_workspace_free(ws);

    if (!net->batch_norm) {
        /* L-BFGS's full batch, the validation loss, prediction. */
        ws = fm_mlp_workspace_new(net, n, sizeof(T), 0);
        if (ws == NULL)
            abort();
        st = FZ_CAT(fm_mlp_loss_grad_, SUF)(net, coefs, intercepts, &input, Y,
                                            with_sw ? sw : NULL, n, ws, 1, &loss);
        if (st != FM_OK)
            abort();
        st = FZ_CAT(fm_mlp_loss_, SUF)(net, coefs, intercepts, &input, Y, with_sw ? sw : NULL, n,
                                       ws, 1, &loss);
        if (st != FM_OK)
            abort();
        fm_mlp_workspace_free(ws);
        T *out = fuzz_alloc((size_t)(n * n_out) * sizeof(T));
        st = FZ_CAT(fm_mlp_predict_, SUF)(net, coefs, intercepts, &input, n, out, NULL, 1);
        if (st != FM_OK)
            abort();
        free(out);
    }

    for (int l = 0; l < L; l++) {
        free(coefs[l]);
        free(intercepts[l]);
    }
    for (int i = 0; i < n_bn; i++)
        free(bn[i]);
    free(X);
    free(Y);
    free(sw);
    free(values);
    free(opt.state_a);
    free(opt.state_b);
}

#undef FZ_CAT
#undef FZ_CAT_
