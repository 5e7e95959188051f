"""Keras's callbacks, with Keras 3's meanings and defaults (``keras.callbacks``).

A callback sees the model through a small interface, which
:class:`~fastmlp.keras.models.Sequential` provides: ``model.stop_training``
(set to True to stop after the current epoch), ``model.optimizer.learning_rate``
(read and written between epochs), ``model.get_weights()`` /
``model.set_weights(weights)``, ``model.save(path)`` /
``model.save_weights(path)``, and ``model.metrics`` (objects with ``name``
and ``_direction``, for ``mode='auto'``). ``fit`` calls the hooks with
Keras's arguments: ``on_train_begin(logs)``, ``on_epoch_begin(epoch, logs)``,
``on_epoch_end(epoch, logs)`` with the epoch's History row, and
``on_train_end(logs)``. The batch hooks exist with Keras's names but are
not called: the engine runs a whole epoch in C.
"""
import csv
import math
import os
import warnings

import numpy as np

__all__ = ["Callback", "CallbackList", "History", "EarlyStopping", "ModelCheckpoint",
           "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger", "TerminateOnNaN"]


class Callback:
    """Base class: every hook does nothing (Keras's hook names and arguments).

    ``self.model`` and ``self.params`` (``{'verbose', 'epochs', 'steps'}``)
    are set by ``fit`` before the first hook. The batch hooks
    (``on_train_batch_begin`` / ``_end`` and the test and predict ones) are
    not called: the engine runs each epoch in C without returning to
    Python per batch.
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        """Attach the model.

        Parameters
        ----------
        model : Sequential
        """
        self.model = model

    def set_params(self, params):
        """Attach ``fit``'s parameters.

        Parameters
        ----------
        params : dict
        """
        self.params = params

    def on_train_begin(self, logs=None):
        """Before the first epoch.

        Parameters
        ----------
        logs : dict or None
        """

    def on_train_end(self, logs=None):
        """After the last epoch (the last epoch's logs).

        Parameters
        ----------
        logs : dict or None
        """

    def on_epoch_begin(self, epoch, logs=None):
        """Before each epoch.

        Parameters
        ----------
        epoch : int
            Counted from 0 (``initial_epoch`` first).
        logs : dict or None
        """

    def on_epoch_end(self, epoch, logs=None):
        """After each epoch.

        Parameters
        ----------
        epoch : int
        logs : dict
            The epoch's History row: ``loss``, each metric, ``val_`` ones.
        """

    def on_test_begin(self, logs=None):
        """Before ``evaluate`` (or the validation of an epoch).

        Parameters
        ----------
        logs : dict or None
        """

    def on_test_end(self, logs=None):
        """After ``evaluate``.

        Parameters
        ----------
        logs : dict or None
        """

    def on_predict_begin(self, logs=None):
        """Before ``predict``.

        Parameters
        ----------
        logs : dict or None
        """

    def on_predict_end(self, logs=None):
        """After ``predict``.

        Parameters
        ----------
        logs : dict or None
        """

    def on_train_batch_begin(self, batch, logs=None):
        """Not called (see the class docstring).

        Parameters
        ----------
        batch : int
        logs : dict or None
        """

    def on_train_batch_end(self, batch, logs=None):
        """Not called (see the class docstring).

        Parameters
        ----------
        batch : int
        logs : dict or None
        """


class CallbackList(Callback):
    """What ``fit`` calls: every callback's hook in order.

    Parameters
    ----------
    callbacks : list of Callback or None
    model : Sequential or None
    params : dict or None
    """

    def __init__(self, callbacks=None, model=None, params=None):
        super().__init__()
        self.callbacks = list(callbacks or [])
        for c in self.callbacks:
            if not isinstance(c, Callback):
                raise TypeError(f"callbacks must be keras.callbacks.Callback instances, got "
                                f"{type(c).__name__}")
        if model is not None:
            self.set_model(model)
        if params is not None:
            self.set_params(params)

    def set_model(self, model):
        super().set_model(model)
        for c in self.callbacks:
            c.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for c in self.callbacks:
            c.set_params(params)

    def _each(self, hook, *args):
        for c in self.callbacks:
            getattr(c, hook)(*args)

    def on_train_begin(self, logs=None):
        self._each("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._each("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._each("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._each("on_epoch_end", epoch, logs)


class History(Callback):
    """What ``fit`` returns: the per-epoch logs.

    Attributes
    ----------
    history : dict
        ``{'loss': [...], 'accuracy': [...], 'val_loss': [...], ...}``,
        Python floats, one per epoch.
    epoch : list of int
        The epochs run (``[0, 1, ..., epochs - 1]``).
    params : dict
        ``{'verbose': ..., 'epochs': ..., 'steps': ...}``.
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class _Monitor(Callback):
    """Keras's MonitorCallback: which way a monitored value improves."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto "
                          "mode.", stacklevel=3)
            mode = "auto"
        self.monitor, self.mode, self.best = monitor, mode, baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = np.less
        elif self.mode == "max":
            self.monitor_op = np.greater
        else:
            name = self.monitor.removeprefix("val_")
            if name == "loss":
                self.monitor_op = np.less
            for m in getattr(self.model, "metrics", None) or []:
                if getattr(m, "name", None) == name and hasattr(m, "_direction"):
                    self.monitor_op = np.greater if m._direction == "up" else np.less
            if self.monitor_op is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but "
                    "Keras isn't able to automatically determine whether that metric should "
                    "be maximized or minimized. Pass `mode='max'` in order to monitor based "
                    "on the highest metric value, or pass `mode='min'` in order to use the "
                    "lowest value.")
        if self.monitor_op is np.less:
            self.min_delta *= -1

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        return bool(self.monitor_op(value - self.min_delta, reference))


class EarlyStopping(_Monitor):
    """Stop when a monitored value has stopped improving (Keras's rule).

    After each epoch from ``start_from_epoch`` on: an improvement by more
    than ``min_delta`` resets the wait (and records the weights with
    ``restore_best_weights``); otherwise, once ``patience`` epochs have
    passed without one (and not at epoch 0), training stops.

    Parameters
    ----------
    monitor : str, default='val_loss'
    min_delta : float, default=0
    patience : int, default=0
    verbose : int, default=0
    mode : {'auto', 'min', 'max'}, default='auto'
    baseline : float or None, default=None
    restore_best_weights : bool, default=False
    start_from_epoch : int, default=0
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience, self.verbose, self.baseline = patience, verbose, baseline
        self.wait, self.stopped_epoch = 0, 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch = 0, 0
        self.best, self.best_weights, self.best_epoch = None, None, 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs or {})}",
                          stacklevel=2)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when a value stops improving.

    Parameters
    ----------
    monitor : str, default='val_loss'
    factor : float, default=0.1
        < 1.
    patience : int, default=10
    verbose : int, default=0
    mode : {'auto', 'min', 'max'}, default='auto'
    min_delta : float, default=1e-4
    cooldown : int, default=0
    min_lr : float, default=0.0
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received "
                             f"factor={factor}")
        self.factor, self.min_lr, self.patience = factor, min_lr, patience
        self.verbose, self.cooldown = verbose, cooldown
        self.cooldown_counter, self.wait = 0, 0

    def on_train_begin(self, logs=None):
        self.best, self.cooldown_counter, self.wait = None, 0, 0

    def in_cooldown(self):
        """Whether the cooldown after a reduction is running.

        Returns
        -------
        bool
        """
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                          f"which is not available. Available metrics are: "
                          f"{','.join(logs)}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best, self.wait = current, 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                opt = self.model.optimizer
                old_lr = float(opt.learning_rate)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    opt.learning_rate = float(np.float32(new_lr))
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new_lr}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Set the learning rate before each epoch from ``schedule(epoch, lr)``.

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch, lr) -> float`` (or ``schedule(epoch)``), epochs
        counted from 0.
    verbose : int, default=0
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        lr = float(opt.learning_rate)
        try:
            lr = self.schedule(epoch, lr)
        except TypeError:  # Keras's fallback: a schedule of the epoch only
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.floating, int)) or isinstance(lr, bool):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: "
                             f"{lr}")
        opt.learning_rate = float(np.float32(lr))
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{float(lr)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file.

    The header is ``epoch`` then the logs' keys sorted; values as Keras
    writes them (``str`` of the float).

    Parameters
    ----------
    filename : str or path
    separator : str, default=','
    append : bool, default=False
        Add to an existing file (without a second header).
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self.writer, self.keys, self._file = None, None, None

    def on_train_begin(self, logs=None):
        self._append_header = not (self.append and os.path.exists(self.filename)
                                   and os.path.getsize(self.filename) > 0)
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self.writer, self.keys = None, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            self.writer = csv.DictWriter(self._file, fieldnames=["epoch"] + self.keys,
                                         delimiter=self.sep)
            if self._append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update({k: logs.get(k, "NA") for k in self.keys})
        self.writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file, self.writer = None, None


class TerminateOnNaN(Callback):
    """Stop training when the loss is NaN or infinite.

    Keras checks after each batch; here after each epoch (the epoch's mean
    loss is NaN or infinite once any batch's is).
    """

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Epoch {epoch}: Invalid loss, terminating training")
            self.model.stop_training = True


class ModelCheckpoint(_Monitor):
    """Save the model (or its weights) after epochs.

    ``filepath`` may hold ``{epoch}`` (counted from 1) and any log key
    (``{val_loss:.2f}``). With ``save_best_only`` only an improvement of
    ``monitor`` saves. Keras 3's file names: ``.keras`` for a model,
    ``.weights.h5`` with ``save_weights_only``.

    Parameters
    ----------
    filepath : str or path
    monitor : str, default='val_loss'
    verbose : int, default=0
    save_best_only : bool, default=False
    save_weights_only : bool, default=False
    mode : {'auto', 'min', 'max'}, default='auto'
    save_freq : 'epoch', default='epoch'
        Only per epoch (the engine runs an epoch in C).
    initial_value_threshold : float or None, default=None
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.filepath = os.fspath(filepath)
        self.verbose, self.save_best_only = verbose, save_best_only
        self.save_weights_only = save_weights_only
        if save_freq != "epoch":
            raise NotImplementedError("fastmlp.keras's ModelCheckpoint saves per epoch "
                                      "(save_freq='epoch')")
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the "
                             "filepath provided must end in `.weights.h5` (Keras weights "
                             f"format). Received: filepath={self.filepath}")
        if not save_weights_only and not self.filepath.endswith(".keras"):
            raise ValueError("The filepath provided must end in `.keras` (Keras model "
                             f"format). Received: filepath={self.filepath}")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            if self.monitor_op is None:
                self._set_monitor_op()
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"Can save best model only with {self.monitor} available.",
                              stacklevel=2)
                return
            if not self._is_improvement(current, self.best):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
