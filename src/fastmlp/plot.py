"""Learning curves with matplotlib (an optional dependency)."""

__all__ = ["plot_learning_curve"]


def plot_learning_curve(estimator, ax=None):
    """Draw the training loss per epoch, and the validation loss and score.

    The validation curves are drawn when the model has them (fitted with
    ``early_stopping`` or ``validation_data``).

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        A model fitted with a stochastic solver (it has ``loss_curve_``).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure's axes when None.

    Returns
    -------
    ax : matplotlib Axes
        The axes with the losses; the validation score, if any, is on a
        twin axis to the right (``ax.right_ax``).
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plot_learning_curve needs matplotlib: pip install matplotlib "
                          "(or fastmlp[plot])") from None
    curve = getattr(estimator, "loss_curve_", None)
    if curve is None:
        raise ValueError("the estimator has no loss_curve_: fit it with solver='sgd' or 'adam'")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    epochs = range(1, len(curve) + 1)
    ax.plot(epochs, curve, label="training loss")
    val_loss = getattr(estimator, "validation_loss_curve_", None)
    if val_loss:
        ax.plot(range(1, len(val_loss) + 1), val_loss, label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    handles, labels = ax.get_legend_handles_labels()
    scores = getattr(estimator, "validation_scores_", None)
    ax.right_ax = None
    if scores:
        right = ax.twinx()
        right.plot(range(1, len(scores) + 1), scores, color="tab:green",
                   label="validation score")
        right.set_ylabel("validation score")
        h, lab = right.get_legend_handles_labels()
        handles, labels = handles + h, labels + lab
        ax.right_ax = right
    ax.legend(handles, labels, loc="center right")
    ax.set_title(f"{type(estimator).__name__} learning curve")
    return ax
