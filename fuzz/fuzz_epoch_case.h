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
    const int64_t n = dd->n, d = net->n_inputs, n_out = net->layer[L - 1].units;
    const int64_t n_params = fm_mlp_n_params(net);
    T *coefs[FM_MLP_MAX_LAYERS], *intercepts[FM_MLP_MAX_LAYERS];
    T *bn[4 * FM_MLP_MAX_LAYERS];
    for (int l = 0; l < L; l++) {
        /* fm_mlp_cols: a maxout layer's weights have a column per piece. */
        const int64_t fan_in = fm_mlp_width(net, l), fan_out = fm_mlp_cols(net, l);
        coefs[l] = fuzz_alloc((size_t)(fan_in * fan_out) * sizeof(T));
        intercepts[l] = fuzz_alloc((size_t)fan_out * sizeof(T));
        for (int64_t i = 0; i < fan_in * fan_out; i++)
            coefs[l][i] = (T)(fuzz_value(in) / 4.0);
        for (int64_t j = 0; j < fan_out; j++)
            intercepts[l][j] = (T)(fuzz_value(in) / 4.0);
    }
    /* Batch norm's 4 arrays per layer (NULL where it has none). */
    int has_bn = 0;
    for (int l = 0; l < L; l++)
        has_bn |= net->layer[l].batch_norm != FM_BN_OFF;
    for (int i = 0; i < 4 * L; i++) {
        bn[i] = NULL;
        if (net->layer[i / 4].batch_norm == FM_BN_OFF)
            continue;
        const int64_t width = net->layer[i / 4].units;
        bn[i] = fuzz_alloc((size_t)width * sizeof(T));
        for (int64_t j = 0; j < width; j++) /* gamma, beta, mean, variance (> 0) */
            bn[i][j] = (T)(i % 4 == 3 ? 1.0 + fabs(fuzz_value(in)) : fuzz_value(in));
    }
    T *X = fuzz_alloc((size_t)(n * d) * sizeof(T)),
      *Y = fuzz_alloc((size_t)(n * n_out) * sizeof(T));
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

    fm_optimizer opt = fuzz_optimizer(in);
    const int opt_states = fm_optimizer_n_states(opt.kind); /* 0 for an unknown kind */
    for (int k = 0; k < opt_states; k++)
        opt.state[k] = calloc((size_t)n_params, sizeof(T));
    const int64_t batch_size = fuzz_range(in, 1, n);
    const int shuffled = fuzz_u8(in) & 1;
    input.check_finite = fuzz_u8(in) & 1; /* the gather's row check */
    const int has_nan = dd->indptr == NULL && (fuzz_u8(in) & 3) == 0;
    if (has_nan)
        X[fuzz_range(in, 0, n * d - 1)] = (T)NAN;
    fm_mlp_workspace *ws = fm_mlp_workspace_new(net, batch_size, sizeof(T), shuffled);
    if (ws == NULL)
        abort(); /* the network is valid: a small workspace must succeed */
    fm_mlp_workspace_metrics(ws, fuzz_u8(in) & 1, NULL); /* the training metrics, now and then */
    /* The engine's step count: one step per minibatch (its rule for t's room). */
    const int64_t n_steps = n / batch_size + (n % batch_size != 0);
    /* A schedule's per-step rates a quarter of the time: one per step, now
     * and then one too few or one more, each drawn as a rate (NaN, negative
     * now and then). */
    double rates[FUZZ_MAX_ROWS + 1];
    if ((fuzz_u8(in) & 3) == 0) {
        const int64_t count = n_steps + fuzz_range(in, -1, 1);
        for (int64_t k = 0; k < count; k++)
            rates[k] = fuzz_param(in, 0.0, 0.125);
        opt.lr_steps = rates;
        opt.n_lr_steps = count;
    }
    const int opt_ok = optimizer_valid(&opt, n_steps);
    const T first_weight = coefs[0][0];
    double loss = 0.0;
    fm_status st = FZ_CAT(fm_mlp_epoch_, SUF)(net, coefs, intercepts, has_bn ? bn : NULL, &input, Y,
                                              with_sw ? sw : NULL, shuffled ? dd->order : NULL, n,
                                              batch_size, &opt, ws, 1, fuzz_u8(in), &loss);
    if (!opt_ok) {
        /* Refused before anything changed (the first weight stands for them). */
        if (st != (fm_status)FM_ERR_ARGUMENT || memcmp(&first_weight, &coefs[0][0], sizeof(T)))
            abort();
        st = FM_OK;
    }
    /* Sample weights u8 % 4 can make a minibatch's sum 0: refused, as the binding does. */
    const int zero_weight_ok = with_sw && st == (fm_status)FM_ERR_ZERO_WEIGHT;
    /* A NaN in shuffled rows that are checked must be reported (by an epoch that ran). */
    const int must_find = opt_ok && has_nan && shuffled && input.check_finite;
    const int nonfinite_ok = must_find && st == (fm_status)FM_ERR_NONFINITE_INPUT;
    if (st != FM_OK && !zero_weight_ok && !nonfinite_ok)
        abort();
    if (must_find && st == FM_OK)
        abort();
    fm_mlp_workspace_free(ws);

    if (!has_bn) {
        /* L-BFGS's full batch, the validation loss, prediction. */
        ws = fm_mlp_workspace_new(net, n, sizeof(T), 0);
        if (ws == NULL)
            abort();
        st = FZ_CAT(fm_mlp_loss_grad_, SUF)(net, coefs, intercepts, NULL, &input, Y,
                                            with_sw ? sw : NULL, n, ws, 1, &loss);
        if (st != FM_OK && !(with_sw && st == (fm_status)FM_ERR_ZERO_WEIGHT))
            abort();
        st = FZ_CAT(fm_mlp_loss_, SUF)(net, coefs, intercepts, &input, Y, with_sw ? sw : NULL, n,
                                       ws, 1, &loss);
        if (st != FM_OK)
            abort();
        fm_mlp_workspace_free(ws);
        /* The output layer, or (transform) a hidden layer's activations. */
        const int n_run = (int)fuzz_range(in, 1, L);
        T *out = fuzz_alloc((size_t)(n * fm_mlp_width(net, n_run)) * sizeof(T));
        st = FZ_CAT(fm_mlp_predict_, SUF)(net, coefs, intercepts, &input, n, out, NULL, NULL, 1,
                                          n_run);
        if (st != FM_OK)
            abort();
        free(out);
    }

    for (int l = 0; l < L; l++) {
        free(coefs[l]);
        free(intercepts[l]);
    }
    for (int i = 0; i < 4 * L; i++)
        free(bn[i]);
    free(X);
    free(Y);
    free(sw);
    free(values);
    for (int k = 0; k < FM_OPT_MAX_STATES; k++)
        free(opt.state[k]);
}

#undef FZ_CAT
#undef FZ_CAT_
