"""Callbacks: code that runs around the training epochs, after Keras's.

Pass them as ``MLPClassifier(callbacks=[...])`` (stochastic solvers). A
callback is an instance of :class:`Callback` (or any object with some of its
methods), or a plain callable ``f(estimator, logs)``, which is called as
``on_epoch_end``. The hooks, in order:

- ``on_train_begin(estimator, logs)``: before the first epoch of ``fit``
  (and of the first ``partial_fit`` of a fresh model); ``logs`` holds
  ``"epoch"``, the epochs already in ``history_`` (0 unless warm_start
  continues a fit).
- ``on_epoch_begin(estimator, logs)``: before each epoch; ``logs`` holds
  ``"epoch"``, the number the epoch will have, and ``"learning_rate"``, the
  rate it will use.
- ``on_epoch_end(estimator, logs)``: after each epoch and scikit-learn's own
  bookkeeping; ``logs`` is the epoch's row of ``estimator.history_``
  (``epoch``, ``loss``, ``learning_rate``, ``time``, and with validation data
  ``validation_loss`` and ``validation_<metric>`` per metric of
  ``scoring``, ``validation_score`` when scoring is None). Returning True
  stops training after this epoch (fit; partial_fit runs its one epoch).
- ``on_train_end(estimator, logs)``: after the last epoch of ``fit``
  (stopped or not, Ctrl-C included), with the last epoch's logs.

What a callback may do to the estimator, all public:
``estimator.get_learning_rate()`` / ``set_learning_rate(value)`` (the rate
of the next epoch; a schedule that computes the rate from the epoch,
'invscaling', replaces it after that epoch), ``estimator.get_weights()`` /
``set_weights(weights)`` (copies of the parameters, put back in place), and
``estimator.history_``.

``epoch`` counts the epochs of the model's history: it continues across
warm_start fits and partial_fit calls.
"""
import csv
import math
import os
import pickle
import warnings

import numpy as np

__all__ = ["Callback", "CSVLogger", "EarlyStopping", "LearningRateScheduler",
           "ModelCheckpoint", "ReduceLROnPlateau", "TerminateOnNaN"]


class Callback:
    """Base class of the callbacks: every hook does nothing.

    Subclass it and override the hooks you need; see the module docstring
    for when each runs and what ``logs`` holds. Its ``__deepcopy__`` (used
    by ``sklearn.base.clone``) makes a new instance from the constructor's
    parameters, so a cloned estimator's callbacks start afresh; a subclass
    whose constructor takes other arguments than its attributes of the same
    names should override it.
    """

    def on_train_begin(self, estimator, logs):
        """Called before the first epoch.

        Parameters
        ----------
        estimator : MLPClassifier or MLPRegressor
            The estimator being trained.
        logs : dict
            ``{"epoch": epochs already trained}``.
        """

    def on_epoch_begin(self, estimator, logs):
        """Called before each epoch.

        Parameters
        ----------
        estimator : MLPClassifier or MLPRegressor
            The estimator being trained.
        logs : dict
            ``{"epoch": this epoch's number, "learning_rate": its rate}``.
        """

    def on_epoch_end(self, estimator, logs):
        """Called after each epoch.

        Parameters
        ----------
        estimator : MLPClassifier or MLPRegressor
            The estimator being trained.
        logs : dict
            The epoch's row of ``estimator.history_``.

        Returns
        -------
        stop : bool or None
            True stops training after this epoch.
        """
        return False

    def on_train_end(self, estimator, logs):
        """Called after the last epoch of fit.

        Parameters
        ----------
        estimator : MLPClassifier or MLPRegressor
            The estimator being trained.
        logs : dict
            The last epoch's logs (empty if no epoch completed).
        """

    def _params(self):
        """The constructor's parameters, from the attributes of their names."""
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def __deepcopy__(self, memo):
        # clone() deep-copies parameters: a copy starts afresh.
        return type(self)(**self._params())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({args})"


def _hook_doc(hook):
    """Give a subclass's hook the Parameters (and Returns) of Callback's.

    The subclass's docstring is its summary; the sections after it are the
    base class's hook of the same name's, so each is documented once.
    """
    import inspect

    base = inspect.getdoc(getattr(Callback, hook.__name__))
    if base is None or hook.__doc__ is None:  # python -OO
        return hook
    hook.__doc__ = f"{inspect.getdoc(hook)}\n\n{base[base.index('Parameters'):]}\n"
    return hook


class CallbackList:
    """The estimator's callbacks, each hook called on each in order (plain
    callables on on_epoch_end only). Used by the estimators' epoch loop."""

    def __init__(self, callbacks):
        self.callbacks = list(callbacks or ())

    def _call(self, hook, estimator, logs):
        results = []
        for cb in self.callbacks:
            method = getattr(cb, hook, None)
            if method is not None:
                results.append(method(estimator, logs))
            elif hook == "on_epoch_end":
                results.append(cb(estimator, logs))
        return results

    def on_train_begin(self, estimator, logs):
        self._call("on_train_begin", estimator, logs)

    def on_epoch_begin(self, estimator, logs):
        self._call("on_epoch_begin", estimator, logs)

    def on_epoch_end(self, estimator, logs):
        """True if any callback asks to stop (every callback is called)."""
        return any(bool(r) for r in self._call("on_epoch_end", estimator, logs))

    def on_train_end(self, estimator, logs):
        self._call("on_train_end", estimator, logs)


# -- monitoring a logged figure ---------------------------------------------------


def _direction(mode, monitor):
    """"min" or "max": whether `monitor` should fall or rise under `mode`."""
    if mode == "auto":
        # Losses fall; every other logged figure that can be monitored is a
        # scikit-learn score (accuracy, r2, neg_log_loss, make_scorer's),
        # which rises.
        if monitor in ("epoch", "time", "learning_rate"):
            raise ValueError(f"mode='auto' cannot tell whether {monitor!r} should rise or "
                             "fall: pass mode='min' or 'max'")
        return "min" if monitor in ("loss", "validation_loss") else "max"
    if mode in ("min", "max"):
        return mode
    raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")


def _improves(direction, value, best, delta):
    """Whether `value` improves on `best` by more than `delta`."""
    return value < best - delta if direction == "min" else value > best + delta


def _monitored(logs, monitor, who):
    """logs[monitor], or an error listing what is logged."""
    value = logs.get(monitor)
    if value is None:
        hint = ""
        if monitor.startswith("validation_"):
            hint = ": pass X_val= and y_val= to fit, or early_stopping=True"
        raise ValueError(f"{who} monitors {monitor!r}, which this fit does not produce "
                         f"(it logs {sorted(logs)}){hint}")
    return value


def _check_non_negative(**values):
    for name, value in values.items():
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")


class EarlyStopping(Callback):
    """Stop when a monitored figure stops improving; optionally keep the best weights.

    Keras's EarlyStopping, with Keras's defaults (``patience=0``,
    ``restore_best_weights=False``): after each epoch the monitored value
    is compared with the best so far; `patience` epochs in a row without an
    improvement of more than `min_delta` stop training (with 0, the first
    epoch that does not improve). With `restore_best_weights`, the best
    epoch's weights (and batch norm's arrays) are put back when training
    stops. The one difference from Keras is the name of the logged keys:
    fastmlp's validation loss is "validation_loss" (Keras's "val_loss").
    A typical use waits a few epochs and keeps the best model:
    ``EarlyStopping(patience=5, restore_best_weights=True)``.

    Parameters
    ----------
    monitor : str, default="validation_loss"
        A key of the logs (``estimator.history_``): "loss",
        "validation_loss", "validation_score", "validation_<metric>".
    patience : int, default=0
        Epochs without improvement before stopping (Keras's default).
    min_delta : float, default=0.0
        Smallest change that counts as an improvement.
    mode : {"auto", "min", "max"}, default="auto"
        Whether the figure should fall or rise; "auto" lets losses fall and
        scores (scikit-learn's scorers, all greater-is-better) rise.
    restore_best_weights : bool, default=False
        On stopping, put back the weights of the best epoch (Keras's
        default: keep the last epoch's).

    Attributes
    ----------
    best_ : float
        Best value seen.
    best_epoch_ : int
        Epoch at which it was seen.
    stopped_epoch_ : int or None
        Epoch at which training was stopped, if it was.
    """

    def __init__(self, monitor="validation_loss", patience=0, min_delta=0.0, mode="auto",
                 restore_best_weights=False):
        _check_non_negative(patience=patience, min_delta=min_delta)
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.mode = mode
        self.restore_best_weights = restore_best_weights
        self._direction = _direction(mode, monitor)
        self.on_train_begin(None, {})

    @_hook_doc
    def on_train_begin(self, estimator, logs):
        """Start afresh (see :meth:`Callback.on_train_begin`)."""
        self.best_ = None
        self.best_epoch_ = 0
        self.stopped_epoch_ = None
        self._wait = 0
        self._best_weights = None

    @_hook_doc
    def on_epoch_end(self, estimator, logs):
        """Record the epoch; return True to stop (see :meth:`Callback.on_epoch_end`)."""
        value = _monitored(logs, self.monitor, "EarlyStopping")
        if self.best_ is None or _improves(self._direction, value, self.best_, self.min_delta):
            self.best_, self.best_epoch_, self._wait = value, logs["epoch"], 0
            if self.restore_best_weights:
                self._best_weights = estimator.get_weights()
            return False
        self._wait += 1
        if self._wait >= self.patience:
            self.stopped_epoch_ = logs["epoch"]
            if self.restore_best_weights and self._best_weights is not None:
                estimator.set_weights(self._best_weights)
            return True
        return False


class ReduceLROnPlateau(Callback):
    """Lower the learning rate when a monitored figure stops improving.

    Keras's ReduceLROnPlateau: after `patience` epochs in a row without an
    improvement of more than `min_delta`, the learning rate becomes
    ``max(lr * factor, min_lr)`` for the following epochs; then `cooldown`
    epochs pass before epochs without improvement are counted again. Works
    with every stochastic solver.

    Parameters
    ----------
    monitor : str, default="validation_loss"
        A key of the logs ("loss", "validation_loss", "validation_<metric>").
    factor : float, default=0.1
        Multiplier of the learning rate, in (0, 1).
    patience : int, default=10
        Epochs without improvement before lowering the rate.
    min_lr : float, default=0.0
        Lower bound of the learning rate.
    cooldown : int, default=0
        Epochs after a reduction during which none is counted.
    mode : {"auto", "min", "max"}, default="auto"
        As for :class:`EarlyStopping`.
    min_delta : float, default=1e-4
        Smallest change that counts as an improvement.
    verbose : bool, default=False
        Print each reduction.

    Attributes
    ----------
    reductions_ : list of (int, float)
        (epoch, new learning rate) of each reduction.
    """

    def __init__(self, monitor="validation_loss", factor=0.1, patience=10, min_lr=0.0,
                 cooldown=0, mode="auto", min_delta=1e-4, verbose=False):
        if not 0.0 < factor < 1.0:
            raise ValueError(f"factor must be in (0, 1), got {factor}")
        _check_non_negative(patience=patience, min_lr=min_lr, cooldown=cooldown,
                            min_delta=min_delta)
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.min_lr = min_lr
        self.cooldown = cooldown
        self.mode = mode
        self.min_delta = min_delta
        self.verbose = verbose
        self._direction = _direction(mode, monitor)
        self.on_train_begin(None, {})

    @_hook_doc
    def on_train_begin(self, estimator, logs):
        """Start afresh (see :meth:`Callback.on_train_begin`)."""
        self._best = None
        self._wait = 0
        self._cooldown_left = 0
        self.reductions_ = []

    @_hook_doc
    def on_epoch_end(self, estimator, logs):
        """Count the epoch; lower the rate when due (see :meth:`Callback.on_epoch_end`)."""
        value = _monitored(logs, self.monitor, "ReduceLROnPlateau")
        if self._cooldown_left > 0:
            self._cooldown_left -= 1
            self._wait = 0
        if self._best is None or _improves(self._direction, value, self._best, self.min_delta):
            self._best, self._wait = value, 0
        elif self._cooldown_left == 0:
            self._wait += 1
            if self._wait >= self.patience:
                old = estimator.get_learning_rate()
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    estimator.set_learning_rate(new)
                    self.reductions_.append((logs["epoch"], new))
                    if self.verbose:
                        print(f"Epoch {logs['epoch']}: ReduceLROnPlateau sets the learning "
                              f"rate to {new:g}.")
                    self._cooldown_left = self.cooldown
                    self._wait = 0
        return False


class LearningRateScheduler(Callback):
    """Set the learning rate before each epoch from a function.

    Keras's LearningRateScheduler: ``schedule(epoch, lr)`` gets the epoch's
    index from 0 (Keras's convention; ``logs["epoch"]`` numbers it from 1)
    and the current rate, and returns the epoch's rate.

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch_index, learning_rate) -> float``.
    verbose : bool, default=False
        Print each rate set.
    """

    def __init__(self, schedule, verbose=False):
        if not callable(schedule):
            raise TypeError(f"schedule must be callable as schedule(epoch, lr), got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    @_hook_doc
    def on_epoch_begin(self, estimator, logs):
        """Set this epoch's rate (see :meth:`Callback.on_epoch_begin`)."""
        lr = float(self.schedule(logs["epoch"] - 1, estimator.get_learning_rate()))
        if not (math.isfinite(lr) and lr >= 0):
            raise ValueError(f"LearningRateScheduler: schedule gave the learning rate {lr!r} "
                             f"for epoch {logs['epoch']}; it must be a finite number >= 0")
        estimator.set_learning_rate(lr)
        logs["learning_rate"] = lr
        if self.verbose:
            print(f"Epoch {logs['epoch']}: LearningRateScheduler sets the learning rate to "
                  f"{lr:g}.")


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file.

    Keras's CSVLogger: a header of the logged keys, then one row per epoch,
    written (and flushed) as each epoch ends.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    separator : str, default=","
        Field separator.
    append : bool, default=False
        Add to an existing file (its header is kept) instead of replacing it.
    """

    def __init__(self, path, separator=",", append=False):
        self.path = os.fspath(path)
        self.separator = separator
        self.append = append
        self._file = self._writer = None

    @_hook_doc
    def on_train_begin(self, estimator, logs):
        """Open the file (see :meth:`Callback.on_train_begin`)."""
        self._close()
        has_rows = self.append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        self._file = open(self.path, "a" if self.append else "w", newline="", encoding="utf-8")
        self._writer = None
        self._header_written = has_rows

    @_hook_doc
    def on_epoch_end(self, estimator, logs):
        """Write the epoch's row (see :meth:`Callback.on_epoch_end`)."""
        if self._file is None:  # partial_fit of a model that began elsewhere
            self.on_train_begin(estimator, {})
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=list(logs),
                                          delimiter=self.separator, extrasaction="ignore")
            if not self._header_written:
                self._writer.writeheader()
        self._writer.writerow({k: _csv_value(v) for k, v in logs.items()})
        self._file.flush()
        return False

    @_hook_doc
    def on_train_end(self, estimator, logs):
        """Close the file (see :meth:`Callback.on_train_end`)."""
        self._close()

    def _close(self):
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None

    def __getstate__(self):  # an open file does not pickle (ModelCheckpoint)
        state = self.__dict__.copy()
        state["_file"] = state["_writer"] = None
        return state


def _csv_value(value):
    return repr(float(value)) if isinstance(value, (float, np.floating)) else value


class TerminateOnNaN(Callback):
    """Stop training when the training loss becomes NaN or infinite.

    Keras's TerminateOnNaN (checked per epoch here: an epoch is one C call).
    The fit then raises scikit-learn's error about non-finite weights if the
    weights are not finite.
    """

    def __init__(self):
        pass

    @_hook_doc
    def on_epoch_end(self, estimator, logs):
        """Stop on a non-finite loss (see :meth:`Callback.on_epoch_end`)."""
        if not math.isfinite(logs["loss"]):
            warnings.warn(f"Epoch {logs['epoch']}: the training loss is {logs['loss']}; "
                          "TerminateOnNaN stops training", RuntimeWarning, stacklevel=2)
            return True
        return False


class ModelCheckpoint(Callback):
    """Save the estimator with pickle every `every` epochs, or its best epochs.

    Keras's ModelCheckpoint (``save_freq`` in epochs is `every`).

    Parameters
    ----------
    path : str or os.PathLike
        File to write; format fields are replaced by the epoch's logs
        (``"model-{epoch:03d}-{validation_loss:.3f}.pkl"``), otherwise the
        file is overwritten.
    monitor : str or None, default=None
        The figure `save_best_only` compares: a key of the logs; None means
        "validation_loss" when it is logged, else "loss".
    save_best_only : bool, default=False
        Save only when the monitored figure improved on every earlier saved
        epoch's.
    mode : {"auto", "min", "max"}, default="auto"
        As for :class:`EarlyStopping`.
    every : int, default=1
        Consider saving after every `every`-th epoch.

    Attributes
    ----------
    saved_ : list of str
        The files written.
    best_ : float or None
        With save_best_only, the monitored value of the last saved epoch.
    """

    def __init__(self, path, monitor=None, save_best_only=False, mode="auto", every=1):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if monitor is not None:
            _direction(mode, monitor)  # validate mode now
        self.path = os.fspath(path)
        self.monitor = monitor
        self.save_best_only = save_best_only
        self.mode = mode
        self.every = every
        self.saved_ = []
        self.best_ = None

    @_hook_doc
    def on_train_begin(self, estimator, logs):
        """Forget the best value (see :meth:`Callback.on_train_begin`)."""
        self.best_ = None

    @_hook_doc
    def on_epoch_end(self, estimator, logs):
        """Save the estimator if this epoch is due (see :meth:`Callback.on_epoch_end`)."""
        if logs["epoch"] % self.every:
            return False
        if self.save_best_only:
            monitor = self.monitor
            if monitor is None:
                monitor = "validation_loss" if "validation_loss" in logs else "loss"
            value = _monitored(logs, monitor, "ModelCheckpoint")
            if self.best_ is not None and not _improves(_direction(self.mode, monitor), value,
                                                        self.best_, 0.0):
                return False
            self.best_ = value
        target = self.path.format(**logs)
        tmp = target + ".tmp"
        with open(tmp, "wb") as f:  # write then rename: never a half file
            pickle.dump(estimator, f)
        os.replace(tmp, target)
        self.saved_.append(target)
        return False
