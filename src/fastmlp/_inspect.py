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
        activation (maxout with its pieces per unit), the dropout rate of its
        output, batch normalisation (its placement) and parameter count (a
        maxout layer's weights and biases for every piece), then the totals.
    """
    network = est.network_
    layers = network.layers
    n_hidden = len(layers) - 1
    header = ("Layer", "Units", "Activation", "Dropout", "Batch norm", "Params")
    # Dropout acts on a layer's input: the input's rate is the first layer's.
    rows = [("input", str(network.n_inputs), "",
             f"{layers[0].dropout:g}" if layers[0].dropout else "", "", "0")]
    trained = stats = 0
    for i, (layer, w, b) in enumerate(zip(layers, est.coefs_, est.intercepts_)):
        params = w.size + b.size
        norm = layer.batch_norm or ""
        if layer.batch_norm:
            # gamma and beta are trained; the running mean and variance are
            # statistics (Keras's "non-trainable" parameters).
            params += 2 * layer.units
            stats += 2 * layer.units
        trained += params
        if i < n_hidden:
            act = layer.activation
            if act == "maxout":  # a column per piece of each unit
                act = f"maxout ({layer.pieces} pieces)"
            rate = layers[i + 1].dropout  # on this layer's output
            rows.append((f"hidden {i + 1}", str(layer.units), act, f"{rate:g}" if rate else "",
                         norm, _count(params)))
        else:
            rows.append(("output", str(layer.units), est.out_activation_, "", "",
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
