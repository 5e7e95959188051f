"""Callbacks: code that runs at the end of every training epoch.

Pass them as ``MLPClassifier(callbacks=[...])`` (stochastic solvers). Each
is called once per epoch, after scikit-learn's own bookkeeping, as
``callback(estimator, logs)`` (or ``callback.on_epoch_end(estimator, logs)``
if it has that method), where ``logs`` holds the epoch's figures:

- ``"epoch"``: epochs completed in this call to fit (1, 2, ...),
- ``"loss"``: the training loss (as ``loss_curve_``),
- ``"validation_score"`` and ``"validation_loss"``: when there is validation
  data (``early_stopping=True`` or ``fit(..., validation_data=...)``),
- ``"learning_rate"``: the current learning rate.

A callback that returns True stops training after this epoch.
"""
import os
import pickle

__all__ = ["EarlyStopping", "ModelCheckpoint"]


class EarlyStopping:
    """Stop when a monitored figure stops improving; keep the best weights.

    Parameters
    ----------
    monitor : {"validation_loss", "validation_score", "loss"}, default="validation_loss"
        The figure to watch; losses should fall, scores rise.
    patience : int, default=5
        Epochs without improvement before stopping.
    min_delta : float, default=0.0
        Smallest change that counts as an improvement.
    restore_best_weights : bool, default=True
        On stopping, put back the weights (and batch norm's statistics) of
        the best epoch.

    Attributes
    ----------
    best_ : float
        Best value seen.
    best_epoch_ : int
        Epoch at which it was seen.
    stopped_epoch_ : int or None
        Epoch at which training was stopped, if it was.
    """

    def __init__(self, monitor="validation_loss", patience=5, min_delta=0.0,
                 restore_best_weights=True):
        if monitor not in ("validation_loss", "validation_score", "loss"):
            raise ValueError("monitor must be 'validation_loss', 'validation_score' or 'loss', "
                             f"got {monitor!r}")
        if patience < 0 or min_delta < 0:
            raise ValueError("patience and min_delta must be >= 0")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self._reset()

    def _reset(self):
        self.best_ = None
        self.best_epoch_ = 0
        self.stopped_epoch_ = None
        self._wait = 0
        self._best_state = None

    def on_epoch_end(self, estimator, logs):
        """Record the epoch; return True to stop.

        Parameters
        ----------
        estimator : MLPClassifier or MLPRegressor
            The estimator being trained.
        logs : dict
            The epoch's figures (see the module docstring).

        Returns
        -------
        stop : bool
            Whether training should stop now.
        """
        if logs["epoch"] == 1:
            self._reset()
        value = logs.get(self.monitor)
        if value is None:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, which this fit does not "
                             "produce: pass validation_data= or early_stopping=True, or monitor "
                             "'loss'")
        sign = 1.0 if self.monitor == "validation_score" else -1.0
        if self.best_ is None or sign * (value - self.best_) > self.min_delta:
            self.best_, self.best_epoch_, self._wait = value, logs["epoch"], 0
            if self.restore_best_weights:
                self._best_state = estimator._training_state(into=self._best_state)
            return False
        self._wait += 1
        if self._wait >= self.patience:
            self.stopped_epoch_ = logs["epoch"]
            if self.restore_best_weights and self._best_state is not None:
                estimator._restore_training_state(self._best_state)
            return True
        return False

    def __repr__(self):
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
                f"min_delta={self.min_delta}, restore_best_weights={self.restore_best_weights})")

    def __deepcopy__(self, memo):
        # clone() deep-copies parameters: a copy starts afresh.
        return EarlyStopping(self.monitor, self.patience, self.min_delta,
                             self.restore_best_weights)


class ModelCheckpoint:
    """Save the estimator with pickle every `every` epochs.

    Parameters
    ----------
    path : str
        File to write; ``{epoch}`` in it is replaced by the epoch number
        (e.g. ``"model-{epoch:03d}.pkl"``), otherwise the file is overwritten.
    every : int, default=1
        Save after every `every`-th epoch.

    Attributes
    ----------
    saved_ : list of str
        The files written.
    """

    def __init__(self, path, every=1):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.path = os.fspath(path)
        self.every = every
        self.saved_ = []

    def on_epoch_end(self, estimator, logs):
        """Save the estimator if this epoch is due.

        Parameters
        ----------
        estimator : MLPClassifier or MLPRegressor
            The estimator being trained.
        logs : dict
            The epoch's figures.

        Returns
        -------
        stop : bool
            Always False.
        """
        if logs["epoch"] % self.every == 0:
            target = self.path.format(epoch=logs["epoch"])
            tmp = target + ".tmp"
            with open(tmp, "wb") as f:  # write then rename: never a half file
                pickle.dump(estimator, f)
            os.replace(tmp, target)
            self.saved_.append(target)
        return False

    def __repr__(self):
        return f"ModelCheckpoint(path={self.path!r}, every={self.every})"

    def __deepcopy__(self, memo):
        return ModelCheckpoint(self.path, self.every)


def run_callbacks(callbacks, estimator, logs):
    """Call each callback with the epoch's figures; True if one asks to stop."""
    stop = False
    for cb in callbacks or ():
        hook = getattr(cb, "on_epoch_end", None)
        result = hook(estimator, logs) if hook is not None else cb(estimator, logs)
        stop = stop or bool(result)
    return stop

