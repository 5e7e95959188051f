"""summary(): a fitted MLP as a table of layers, after Keras's Model.summary."""
import numpy as np

__all__ = ["summary_table"]


def _count(n):
    return f"{n:,}"


def summary_table(est):
    """The table that ``est.summary()`` prints.

    Parameters
    ----------
    est : fastmlp.MLPClassifier or fastmlp.MLPRegressor
        A fitted estimator.

    Returns
    -------
    table : str
        One row per layer (input, each hidden layer, output) with its units,
        activation (maxout with its pieces per unit), dropout rate, batch
        normalisation and parameter count (a maxout layer's weights and
        biases for every piece), then the totals.
    """
    n_hidden = len(est.coefs_) - 1
    acts = est._hidden_activations(n_hidden)
    rates = est._dropout_rates(n_hidden) if n_hidden else []
    bn = getattr(est, "bn_gammas_", None) is not None
    header = ("Layer", "Units", "Activation", "Dropout", "Batch norm", "Params")
    rows = [("input", str(est.n_features_in_), "", "", "", "0")]
    trained = stats = 0
    for i, (w, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        params = w.size + b.size
        hidden = i < n_hidden
        norm = ""
        if hidden and bn:
            # gamma and beta are trained; the running mean and variance are
            # statistics (Keras's "non-trainable" parameters).
            params += est.bn_gammas_[i].size + est.bn_betas_[i].size
            stats += est.bn_running_means_[i].size + est.bn_running_vars_[i].size
            norm = "yes"
        trained += params
        if hidden:
            # A hidden layer's units are the next layer's fan-in; a maxout
            # layer's weights have a column per piece of each unit.
            units = est.coefs_[i + 1].shape[0]
            act = acts[i]
            if act == "maxout":
                act = f"maxout ({w.shape[1] // units} pieces)"
            rows.append((f"hidden {i + 1}", str(units), act,
                         f"{rates[i]:g}" if rates[i] else "", norm, _count(params)))
        else:
            rows.append(("output", str(w.shape[1]), est.out_activation_, "", "",
                         _count(params)))
    widths = [max(len(r[c]) for r in rows + [header]) for c in range(len(header))]
    right = {1, 5}  # numbers right-aligned

    def line(cells):
        return "  ".join(c.rjust(w) if j in right else c.ljust(w)
                         for j, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "-" * len(line(tuple("-" * w for w in widths)))
    dtype = np.dtype(est.coefs_[0].dtype).name
    title = (f"{type(est).__name__}: {est.n_features_in_} inputs -> {est.n_outputs_} outputs, "
             f"{dtype}, solver={est.solver!r}")
    out = [title, "=" * len(rule), line(header), rule] + [line(r) for r in rows] + ["=" * len(rule)]
    out.append(f"Total params: {_count(trained + stats)}")
    out.append(f"Trainable params: {_count(trained)}")
    out.append(f"Batch-norm statistics (not trained): {_count(stats)}")
    return "\n".join(out)
