"""Learning curves with matplotlib (an optional dependency)."""

__all__ = ["plot_learning_curve"]

_LABELS = {"loss": "training loss"}
# The losses fastmlp logs; every other column (validation_<metric>) is a
# metric, even one whose scorer name ends in "loss" (neg_log_loss: a score,
# higher is better, on the metrics' axis).
_LOSSES = ("loss", "validation_loss")
# One colour per curve across both axes (matplotlib's tab10 order).
_COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
           "tab:pink", "tab:gray", "tab:olive", "tab:cyan"]


def _label(key):
    return _LABELS.get(key, key.replace("_", " "))


def plot_learning_curve(estimator, ax=None, keys=None):
    """Draw columns of the estimator's ``history_`` against the epoch.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        A model fitted with a stochastic solver (it has ``loss_curve_`` and
        ``history_``).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure's axes when None.
    keys : list of str, default=None
        Columns of ``history_`` to draw. The losses ("loss",
        "validation_loss") go on `ax`, every other column (the metrics of
        ``scoring``, "validation_neg_log_loss" included) on a twin axis to
        the right; each curve has its own colour. None draws the losses and
        every validation metric.

    Returns
    -------
    ax : matplotlib Axes
        The axes with the losses; the other columns, if any, are on a twin
        axis to the right (``ax.right_ax``, else None).
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plot_learning_curve needs matplotlib: pip install matplotlib "
                          "(or fastmlp[plot])") from None
    if getattr(estimator, "loss_curve_", None) is None:
        from fastmlp._mlp import _STOCHASTIC_NAMES

        raise ValueError(f"the estimator has no loss_curve_: fit it with {_STOCHASTIC_NAMES}")
    history = estimator.history_
    if keys is None:
        keys = [k for k in history if k in _LOSSES or k.startswith("validation_")]
    unknown = [k for k in keys if k not in history]
    if unknown:
        raise ValueError(f"history_ has no column {unknown[0]!r}; it has {sorted(history)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    epochs = history["epoch"]
    left = [k for k in keys if k in _LOSSES]
    right = [k for k in keys if k not in _LOSSES]
    color = {key: _COLORS[i % len(_COLORS)] for i, key in enumerate(left + right)}
    for key in left:
        ax.plot(epochs, history[key], color=color[key], label=_label(key))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    handles, labels = ax.get_legend_handles_labels()
    ax.right_ax = None
    if right:
        twin = ax.twinx()
        for key in right:
            twin.plot(epochs, history[key], color=color[key], label=_label(key))
        twin.set_ylabel(_label(right[0]) if len(right) == 1 else "metrics")
        h, lab = twin.get_legend_handles_labels()
        handles, labels = handles + h, labels + lab
        ax.right_ax = twin
    ax.legend(handles, labels, loc="center right")
    ax.set_title(f"{type(estimator).__name__} learning curve")
    return ax
