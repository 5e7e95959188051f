"""Keras's Sequential model for MLPs (``keras.Sequential``, ``keras.models``).

:class:`Sequential` is the layer stack with Keras's construction (a list
or ``.add``, ``Input`` / ``input_shape`` / ``input_dim``), names,
``summary()``, ``get_config`` / ``from_config``, ``get_weights`` /
``set_weights`` in Keras's order (per layer: kernel, bias; BatchNormalization's
gamma, beta, moving mean, moving variance), and ``compile`` (the loss, the
optimizer and the metrics resolved as Keras resolves them).

``fit``, ``evaluate`` and ``predict`` run on the C engine through the
network description (``Network``, :mod:`fastmlp.keras._engine` translates
the stack): each training epoch is one C call, prediction one C call.
"""

import math
import time

import numpy as np

from fastmlp.keras import _engine
from fastmlp.keras import _format
from fastmlp.keras import layers as _layers
from fastmlp.keras import losses as _losses
from fastmlp.keras import metrics as _metrics
from fastmlp.keras import optimizers as _optimizers

__all__ = ["Sequential", "Model", "load_model", "clone_model"]


# The metrics the engine counts per minibatch (fm_mlp_workspace_metrics's sums).
_COUNTED = {_metrics.BinaryAccuracy: "threshold", _metrics.CategoricalAccuracy: "argmax",
            _metrics.SparseCategoricalAccuracy: "argmax", _metrics.MeanSquaredError: "squared",
            _metrics.MeanAbsoluteError: "absolute", _metrics.RootMeanSquaredError: "squared"}


class Model:
    """Keras's functional ``Model(inputs, outputs)``: not in fastmlp.keras.

    fastmlp.keras runs Sequential stacks of the layers in
    ``fastmlp.keras.layers.SUPPORTED``; branching graphs and
    subclassed models are not multilayer perceptrons it can run.

    Parameters
    ----------
    *args, **kwargs
        Anything: the constructor raises.
    """

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            "fastmlp.keras runs Sequential models only (keras.Sequential([...]) or .add); "
            "the functional Model(inputs, outputs) API and subclassed models are not "
            f"supported. Layers: {', '.join(_layers.SUPPORTED)}.")


class Sequential:
    """A stack of layers, each feeding the next (``keras.Sequential``).

    Parameters
    ----------
    layers : list or None, default=None
        Layers, optionally first an ``Input(shape)`` (or an
        ``InputLayer``).
    trainable : bool, default=True
        Whether training updates the weights.
    name : str or None, default=None
        ``sequential``, ``sequential_1``, ... when None.

    Attributes
    ----------
    layers : list of Layer
        The layers (the input excluded, as Keras).
    optimizer, loss : after ``compile``
    stop_training : bool
        Set by callbacks to stop after the current epoch.
    """

    def __init__(self, layers=None, trainable=True, name=None):
        self.name = name if name is not None else _layers._unique_name("sequential")
        self.trainable = trainable
        self._layers = []
        self._input_layer = None
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self._metric_ids = []
        self.stop_training = False
        self._optimizer_built = False
        for layer in layers or []:
            self.add(layer)

    # --- the stack ----------------------------------------------------------

    def add(self, layer):
        """Append a layer (or set the input, first).

        Parameters
        ----------
        layer : Layer, InputLayer or KerasTensor
            A layer, or the model's input (``Input(shape)``), first.
        """
        if isinstance(layer, _layers.KerasTensor):
            layer = layer._layer
        if isinstance(layer, _layers.InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError("An Input can only be the first layer of a Sequential model")
            self._input_layer = layer
            return
        if not isinstance(layer, _layers.Layer):
            raise ValueError(
                "Only instances of `keras.Layer` can be added to a Sequential model. Received: "
                f"{layer!r} (of type {type(layer).__name__}); fastmlp.keras's layers: "
                f"{', '.join(_layers.SUPPORTED)}")
        if any(lay.name == layer.name for lay in self._layers):
            raise ValueError(f"All layers added to a Sequential model should have unique names. "
                             f"Name '{layer.name}' is already the name of a layer in this model.")
        if not self._layers and self._input_layer is None and layer._input_shape_arg:
            self._input_layer = _layers.InputLayer(shape=layer._input_shape_arg)
        self._layers.append(layer)
        self._build_from(len(self._layers) - 1)

    def pop(self):
        """Remove the last layer.

        Returns
        -------
        Layer
            The layer removed.
        """
        if not self._layers:
            raise TypeError("There are no layers in the model.")
        return self._layers.pop()

    @property
    def layers(self):
        """The layers, in order (the input excluded)."""
        return list(self._layers)

    @property
    def input_shape(self):
        """The input's shape with the batch axis, or None."""
        return None if self._input_layer is None else self._input_layer.batch_shape

    @property
    def built(self):
        """Whether every layer knows its input shape."""
        return bool(self._layers) and all(lay.built for lay in self._layers)

    def _build_from(self, start):
        if self._input_layer is None:
            return
        shape = self._input_layer.batch_shape
        for i, layer in enumerate(self._layers):
            if i >= start and not layer.built:
                layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def build(self, input_shape=None):
        """Build every layer for an input shape.

        Parameters
        ----------
        input_shape : tuple or None, default=None
            With the batch axis (``(None, 784)``); None uses the model's input.
        """
        if input_shape is not None:
            if self._input_layer is not None and tuple(input_shape) != self.input_shape:
                raise ValueError(f"The model's input shape is {self.input_shape}, got "
                                 f"{tuple(input_shape)}")
            self._input_layer = _layers.InputLayer(batch_shape=tuple(input_shape))
        if self._input_layer is None:
            raise ValueError("You must provide an `input_shape` argument.")
        self._build_from(0)

    @property
    def output_shape(self):
        """The last layer's output shape."""
        return self._layers[-1].output_shape

    # --- weights ------------------------------------------------------------

    def get_weights(self):
        """Copies of every weight, in Keras's order.

        Returns
        -------
        list of ndarray
            Per layer: kernel, bias; BatchNormalization's gamma, beta,
            moving mean, moving variance.
        """
        return [w for layer in self._layers for w in layer.get_weights()]

    def set_weights(self, weights):
        """Replace every weight (the list :meth:`get_weights` returns).

        Parameters
        ----------
        weights : list of array-like
            In :meth:`get_weights`'s order and shapes.
        """
        weights = list(weights)
        expected = sum(len(lay._weight_specs()) for lay in self._layers if lay.built)
        if not self.built or len(weights) != expected:
            raise ValueError(f"You called `set_weights(weights)` on model {self.name} with a "
                             f"weight list of length {len(weights)}, but the model was "
                             f"expecting {expected} weights.")
        i = 0
        for layer in self._layers:
            n = len(layer._weight_specs())
            layer.set_weights(weights[i:i + n])
            i += n

    @property
    def weights(self):
        """Every weight array (not copies)."""
        return [w for layer in self._layers for w in layer.weights]

    def count_params(self):
        """Number of weight values.

        Returns
        -------
        int
            Trainable and non-trainable weights (not the optimizer's).
        """
        return sum(lay.count_params() for lay in self._layers)

    # --- compile and what waits for the engine ------------------------------

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Choose the optimizer, the loss and the metrics (Keras's defaults).

        Parameters
        ----------
        optimizer : str or Optimizer, default='rmsprop'
            Any case (``'sgd'``, ``'SGD'``, ``'adam'``, ...).
        loss : str or Loss
            See ``fastmlp.keras.losses``.
        loss_weights : None
            One output: not used.
        metrics : list or None, default=None
            Names or objects; ``'accuracy'`` is resolved from the shapes at
            ``fit`` (``fastmlp.keras.metrics.resolve``).
        weighted_metrics : None
            Not supported.
        run_eagerly : bool, default=False
            Accepted and ignored (the engine has one way to run).
        steps_per_execution : int, default=1
            Accepted and ignored.
        jit_compile : str or bool, default='auto'
            Accepted and ignored.
        auto_scale_loss : bool, default=True
            Accepted and ignored.
        """
        if weighted_metrics:
            raise NotImplementedError("fastmlp.keras has no weighted_metrics")
        if loss is None:
            raise ValueError("fastmlp.keras needs a loss to compile (the engine trains it)")
        self.optimizer = _optimizers.get(optimizer)
        self.loss = _losses.get(loss)
        if isinstance(metrics, (str, _metrics.Metric)) or callable(metrics):
            metrics = [metrics]
        self._metric_ids = list(metrics or [])
        for m in self._metric_ids:  # unknown names fail here, as in Keras's compile
            if not (isinstance(m, str) and m.lower() in ("accuracy", "acc")):
                _metrics.get(m)
        self.compiled = True
        self._fm_optimizer = None
        self._optimizer_built = False

    @property
    def metrics(self):
        """The metric objects (``'accuracy'`` resolved once shapes are known)."""
        out = []
        for m in self._metric_ids:
            if isinstance(m, str) and m.lower() in ("accuracy", "acc"):
                out.append(_metrics.SparseCategoricalAccuracy(name=m))  # any accuracy: "up"
            else:
                out.append(_metrics.resolve(m, (1, 1), (1, 1)))
        return out

    # --- running on the engine ------------------------------------------------

    def _plan(self, loss=None):
        return _engine.translate(self, loss)

    def _inputs(self, x):
        """x as float32 rows (Flatten's reshape), building the model from
        its shape if it has no input yet (as Keras's first call does)."""
        if x is None:
            raise ValueError("fastmlp.keras needs x as an array (datasets and generators "
                             "are not supported)")
        x = np.asarray(x)
        if x.dtype.kind not in "biuf" or x.ndim < 2:
            raise ValueError(f"x must be a numeric array of shape (n, ...), got shape "
                             f"{x.shape} and dtype {x.dtype}")
        if not self.built:
            self.build((None,) + x.shape[1:])
        if tuple(x.shape[1:]) != tuple(self.input_shape[1:]):
            raise ValueError(f"Input of shape {x.shape} is incompatible with the model's "
                             f"input shape {self.input_shape}")
        return np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32)

    def _forward(self, x, plan=None):
        plan = plan or self._plan()
        coefs, intercepts = plan.predictor_arrays(self.get_weights())
        return plan.network.predictor(coefs, intercepts).predict(x)

    @staticmethod
    def _verbosity(verbose):
        return 1 if verbose == "auto" else int(verbose)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The outputs of the model for x (Keras's ``predict``).

        One C call on the whole of x (``batch_size`` only sets the progress
        line's step count): batch normalisation uses its moving statistics,
        dropout is off.

        Parameters
        ----------
        x : array-like of shape (n, ...)
            The input, in the model's input shape (Flatten reshapes it).
        batch_size : int or None, default=None
            Rows per step of the progress line (32).
        verbose : {'auto', 0, 1, 2}, default='auto'
            0 prints nothing; 'auto' and 1 the bar's last state; 2 one line.
        steps : None
            Accepted (arrays only).
        callbacks : None
            Accepted; prediction calls no hooks.

        Returns
        -------
        ndarray of float32, shape (n, units of the last Dense)
            Probabilities for softmax and sigmoid outputs.
        """
        start = time.perf_counter()
        x = self._inputs(x)
        out = self._forward(x)
        self._progress(len(x), batch_size, verbose, start, {})
        return out

    def _progress(self, n, batch_size, verbose, start, logs):
        verbose = self._verbosity(verbose)
        if verbose:
            steps = max(1, math.ceil(n / (batch_size or 32)))
            print(_format.progress_line(steps, time.perf_counter() - start, logs, verbose))

    def _targets(self, y, n, n_out):
        """The engine's (n, n_out) float32 targets: one-hot labels for
        sparse categorical cross-entropy, y as given (a column for one
        output) otherwise."""
        y = np.asarray(y)
        if len(y) != n:
            raise ValueError(f"x and y have different numbers of rows: {n} and {len(y)}")
        if isinstance(self.loss, _losses.SparseCategoricalCrossentropy):
            labels = y.reshape(n, -1)
            if labels.shape[1] != 1:
                raise ValueError(f"sparse_categorical_crossentropy takes integer labels of "
                                 f"shape (n,) or (n, 1), got {y.shape}")
            labels = labels[:, 0]
            if np.any(labels != np.round(labels)) or np.any(labels < 0) or np.any(
                    labels >= n_out):
                raise ValueError(f"sparse_categorical_crossentropy's labels must be integers in "
                                 f"[0, {n_out}), the output's columns")
            return np.eye(n_out, dtype=np.float32)[labels.astype(np.int64)]
        if y.ndim == 1 and n_out == 1:
            y = y[:, None]
        if y.shape != (n, n_out):
            raise ValueError(f"Arguments target and output must have the same shape. Received: "
                             f"target.shape={y.shape}, output.shape={(n, n_out)}")
        return np.ascontiguousarray(y, dtype=np.float32)

    def _regularization(self):
        """The layers' penalties at the current weights (Keras's
        ``model.losses``, added to every batch's loss)."""
        total = 0.0
        for layer in self._layers:
            for reg, w in ((getattr(layer, "kernel_regularizer", None), 0),
                           (getattr(layer, "bias_regularizer", None), 1)):
                if reg is not None and w < len(layer.weights):
                    total += float(reg(np.asarray(layer.weights[w], np.float32)))
        return total

    def _metric_objects(self, y_shape, p_shape):
        return [_metrics.resolve(m, y_shape, p_shape) for m in self._metric_ids]

    def _evaluate_arrays(self, x, y, sample_weight):
        """Loss and metrics of float32 rows x against y: {name: value}."""
        p = self._forward(x)
        y = np.asarray(y)
        if not isinstance(self.loss, _losses.SparseCategoricalCrossentropy) and \
                y.ndim == 1 and p.shape[1] == 1:
            y = y[:, None]
        values = np.asarray(self.loss._per_sample(y, p), np.float64).reshape(-1)
        w = None if sample_weight is None else np.asarray(sample_weight, np.float64).reshape(-1)
        data = float(np.sum(values if w is None else values * w) / max(len(values), 1))
        logs = {"loss": data + self._regularization()}
        for m in self._metric_objects(y.shape, p.shape):
            m.update_state(y, p)  # Keras's `metrics` are not weighted
            logs[m.name] = float(m.result())
        return logs

    def _check_compiled(self):
        if not self.compiled:
            raise RuntimeError("You must call `compile()` before using the model.")

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """The loss and metrics on x, y (Keras's ``evaluate``).

        Keras's scale: the mean over the rows of the per-row loss (with
        ``sample_weight``, ``sum(w * loss) / n``), plus the layers'
        regularization penalties; the metrics unweighted (as Keras's
        ``metrics``; ``weighted_metrics`` are not supported).
        Computed on the whole of x in one prediction (``batch_size`` only
        sets the progress line's step count).

        Parameters
        ----------
        x : array-like of shape (n, ...)
            The input, in the model's input shape.
        y : array-like
            Targets as for ``fit``.
        batch_size : int or None, default=None
            Rows per step of the progress line (32).
        verbose : {'auto', 0, 1, 2}, default='auto'
            0 prints nothing; 'auto' and 1 the bar's last state; 2 one line.
        sample_weight : array-like of shape (n,) or None, default=None
            Weights of the rows' losses (``sum(w * loss) / n``).
        steps : None
            Accepted (arrays only).
        callbacks : None
            Accepted; the test hooks are not called.
        return_dict : bool, default=False
            Return ``{name: value}``.

        Returns
        -------
        float, list of float or dict
            The loss alone without metrics; else ``[loss, *metrics]`` in
            compile order; or the dict.
        """
        self._check_compiled()
        start = time.perf_counter()
        x = self._inputs(x)
        y = np.asarray(y)
        if len(y) != len(x):
            raise ValueError(f"x and y have different numbers of rows: {len(x)} and {len(y)}")
        logs = self._evaluate_arrays(x, y, sample_weight)
        logs = {k: float(np.float32(v)) for k, v in logs.items()}
        self._progress(len(x), batch_size, verbose, start, logs)
        if return_dict:
            return {k: logs[k] for k in _format.order_logs(logs)}
        if len(logs) == 1:
            return logs["loss"]
        return list(logs.values())

    def _engine_optimizer(self, n_params):
        """The optimizer object the engine steps, kept across fit calls
        (Keras keeps its optimizer variables) until compile."""
        opt = getattr(self, "_fm_optimizer", None)
        if opt is None or self._fm_n_params != n_params:
            opt = self.optimizer.fastmlp_optimizer(n_params, np.float32)
            self._fm_optimizer, self._fm_n_params = opt, n_params
        return opt

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train for ``epochs - initial_epoch`` epochs (Keras's ``fit``).

        Each epoch is one call into the C engine (minibatches of
        ``batch_size`` rows, each followed by an optimizer step, Keras's
        update rules and loss scale), then the validation data are
        evaluated and the callbacks called with the epoch's logs.

        The training ``loss`` is Keras's: the mean over the epoch's
        minibatches (weighted by their rows) of each minibatch's loss
        before its step, regularization included. Training metrics
        (``accuracy`` in any of Keras's forms, ``mse``, ``mae``, ``rmse``)
        are counted by the engine the same way; any other metric is
        computed on the training rows with the weights at the end of the
        epoch (Keras: the running mean over the batches), a difference of
        the order of one epoch's change.

        Parameters
        ----------
        x : array-like of shape (n, ...)
            The input, in the model's input shape.
        y : array-like
            Integer labels (sparse_categorical_crossentropy), one-hot rows
            (categorical_crossentropy), 0/1 (binary_crossentropy) or values.
        batch_size : int or None, default=None
            Rows per minibatch (32).
        epochs : int, default=1
            The index of the last epoch: ``epochs - initial_epoch`` run.
        verbose : {'auto', 0, 1, 2}, default='auto'
            0 silent; 'auto' and 1 the bar's last state per epoch; 2 one line.
        callbacks : list of Callback or None, default=None
            ``fastmlp.keras.callbacks`` (or subclasses of its Callback).
        validation_split : float, default=0.0
            The LAST fraction of the rows (taken before shuffling), as Keras.
        validation_data : tuple or None, default=None
            ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``.
        shuffle : bool, default=True
            A new order of the rows each epoch (from the session's
            generator, ``utils.set_random_seed``); False keeps their order.
        class_weight : dict or None, default=None
            Weight of each class (label, argmax of a one-hot row, or 0/1).
        sample_weight : array-like of shape (n,) or None, default=None
            Keras's weighting: the minibatch loss is ``sum(w * loss) / rows``;
            the metrics are not weighted (Keras's ``metrics``).
        initial_epoch : int, default=0
            The first epoch's index.
        steps_per_epoch, validation_steps, validation_batch_size : None
            Accepted when None (arrays only).
        validation_freq : int, default=1
            Evaluate the validation data every this many epochs.

        Returns
        -------
        fastmlp.keras.callbacks.History
            ``history`` (``loss``, the metrics, ``val_loss``, ``val_<metric>``),
            ``params`` (``verbose``, ``epochs``, ``steps``), ``epoch``.
        """
        self._check_compiled()
        if steps_per_epoch is not None or validation_steps is not None:
            raise NotImplementedError("fastmlp.keras's fit takes arrays: steps_per_epoch and "
                                      "validation_steps must be None")
        x = self._inputs(x)
        y = np.asarray(y)
        if len(y) != len(x):
            raise ValueError(f"x and y have different numbers of rows: {len(x)} and {len(y)}")
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, np.float32).reshape(-1)
            if sample_weight.shape != (len(x),):
                raise ValueError(f"sample_weight must have shape ({len(x)},), got "
                                 f"{sample_weight.shape}")
        split = validation_data is None and bool(validation_split)
        if split:
            if not 0.0 < validation_split < 1.0:
                raise ValueError(f"validation_split must be in (0, 1), got {validation_split}")
            split_at = int(math.floor(len(x) * (1.0 - validation_split)))
            validation_data = (x[split_at:], y[split_at:]) + (
                () if sample_weight is None else (sample_weight[split_at:],))
            x, y = x[:split_at], y[:split_at]
            sample_weight = None if sample_weight is None else sample_weight[:split_at]
        if validation_data is not None:
            if len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be (x_val, y_val) or (x_val, y_val, "
                                 "sample_weight_val)")
            # Rows split off x above are already in the engine's (flat) form.
            x_val = validation_data[0] if split else self._inputs(validation_data[0])
            y_val = np.asarray(validation_data[1])
            sw_val = validation_data[2] if len(validation_data) == 3 else None
        n = len(x)
        if n == 0:
            raise ValueError("fit needs at least one training row")
        plan = self._plan(self.loss)
        n_out = plan.network.layers[-1].units
        Y = self._targets(y, n, n_out)
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
            classes = Y.argmax(1) if n_out > 1 else (Y[:, 0] > 0.5).astype(np.int64)
            sample_weight = np.array([float(class_weight.get(int(c), 1.0)) for c in classes],
                                     np.float32)
        batch_size = int(batch_size or 32)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        steps = math.ceil(n / batch_size)
        rows = min(batch_size, n)  # the same minibatches; the workspace's size
        net = plan.network
        global_clip = getattr(self.optimizer, "global_clipnorm", None)
        if global_clip is not None:
            net = net.replace(clip_grad_norm=global_clip)
        engine = net.engine(rows, np.float32, gather_rows=bool(shuffle))
        opt = self._engine_optimizer(net.n_params)
        metrics = self._metric_objects(y.shape, (n, n_out))
        kinds = [_COUNTED.get(type(m)) for m in metrics]
        if metrics:
            engine.metrics(True)
        from fastmlp.keras import callbacks as _callbacks
        from fastmlp.keras import utils as _utils

        history = _callbacks.History()
        verbose_level = self._verbosity(verbose)
        params = {"verbose": verbose, "epochs": epochs, "steps": steps}
        hooks = _callbacks.CallbackList(list(callbacks or []) + [history], model=self,
                                        params=params)
        rng = _utils._STATE["rng"]
        self.stop_training = False
        self._optimizer_built = True
        hooks.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            hooks.on_epoch_begin(epoch)
            if verbose_level:
                print(f"Epoch {epoch + 1}/{epochs}")
            start = time.perf_counter()
            order = rng.permutation(n) if shuffle else None
            coefs, intercepts, bn = plan.engine_arrays(self.get_weights())
            opt.learning_rate = self.optimizer.learning_rate
            # A schedule: the epoch's per-step rates, evaluated at once (no Python per step).
            opt.lr_steps = self.optimizer.lr_steps(steps)
            loss_sum = engine.epoch(coefs, intercepts, x, Y, sample_weight, order, rows,
                                    opt, seed=int(rng.integers(2 ** 63)), bn=bn or None)
            opt.lr_steps = None
            self.set_weights(plan.keras_weights(coefs, intercepts, bn))
            self.optimizer.iterations = opt.t
            if hasattr(self.optimizer, "u_product"):
                self.optimizer.u_product = opt.mu_product
            logs = {"loss": loss_sum / n}
            sums = engine.metrics(True) if metrics else None
            late = [m for m, kind in zip(metrics, kinds) if kind is None]
            p_train = self._forward(x, plan) if late else None
            for m, kind in zip(metrics, kinds):
                if kind is None:  # not counted per batch: the epoch's final weights
                    m.reset_state()
                    m.update_state(y, p_train)
                    logs[m.name] = m.result()
                else:
                    value = sums[kind] / sums["weight"] if sums["weight"] else 0.0
                    if isinstance(m, _metrics.RootMeanSquaredError):
                        value = math.sqrt(value)
                    logs[m.name] = value
            if validation_data is not None and (epoch + 1 - initial_epoch) % validation_freq == 0:
                for k, v in self._evaluate_arrays(x_val, y_val, sw_val).items():
                    logs["val_" + k] = v
            logs = {k: float(np.float32(logs[k])) for k in _format.order_logs(logs)}
            if verbose_level:
                print(_format.progress_line(steps, time.perf_counter() - start, logs,
                                            verbose_level))
            hooks.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        hooks.on_train_end()
        history.model = self
        return history

    # --- summary and configuration -------------------------------------------

    def _summary_rows(self):
        rows = []
        for layer in self._layers:
            name = f"{layer.name} ({type(layer).__name__})"
            if layer.built:
                rows.append((name, _format.output_shape_text(layer.output_shape),
                             f"{layer.count_params():,}"))
            elif layer.has_weights:
                rows.append((name, "?", "0 (unbuilt)"))
            else:
                rows.append((name, "?", "0"))
        return rows

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Print the layer table in Keras 3's layout.

        Parameters
        ----------
        line_length : int or None, default=None
            Accepted for Keras's signature; the layout is Keras's default.
        positions : list or None, default=None
            Accepted.
        print_fn : callable or None, default=None
            Called with the text (without its last newline); ``print`` when None.
        expand_nested : bool, default=False
            Accepted.
        show_trainable : bool, default=False
            Accepted.
        layer_range : list or None, default=None
            Accepted.
        """
        trainable = sum(lay.count_trainable_params() for lay in self._layers)
        non_trainable = self.count_params() - trainable
        opt = None
        if self.optimizer is not None and self._optimizer_built:
            opt = self.optimizer.count_params(
                [w.size for lay in self._layers for (_, _, t), w in
                 zip(lay._weight_specs() if lay.built else [], lay.weights)
                 if t and lay.trainable])
        text = _format.summary_text(self.name, self._summary_rows(), trainable, non_trainable,
                                    opt)
        (print_fn or print)(text[:-1])

    def get_config(self):
        """Keras 3's configuration dict of the model.

        Returns
        -------
        dict
            ``name``, ``trainable``, ``dtype``, ``layers`` (each with its
            module, class name, config and build config) and
            ``build_input_shape``.
        """
        layers = []
        if self._input_layer is not None:
            cfg = self._input_layer.get_config()
            cfg["optional"] = False
            layers.append({"module": "keras.layers", "class_name": "InputLayer",
                           "config": cfg, "registered_name": None})
        for layer in self._layers:
            entry = {"module": "keras.layers", "class_name": type(layer).__name__,
                     "config": layer.get_config(), "registered_name": None}
            if isinstance(layer, _layers.Maxout):
                entry["module"] = "fastmlp.keras.layers"
            if layer.has_weights and layer.built:
                entry["build_config"] = {"input_shape": list(layer.input_shape)}
            layers.append(entry)
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": {"module": "keras", "class_name": "DTypePolicy",
                            "config": {"name": "float32"}, "registered_name": None},
                  "layers": layers}
        if self.input_shape is not None:
            config["build_input_shape"] = list(self.input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        """Build a model from :meth:`get_config`'s dict (or Keras's).

        Parameters
        ----------
        config : dict
            A Sequential's configuration (Keras's ``config["config"]``).

        Returns
        -------
        Sequential
            Built when the config has an input shape; weights freshly drawn.
        """
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for entry in config["layers"]:
            name = entry["class_name"]
            if name not in _layers.SUPPORTED:
                getattr(_layers, name)  # NotImplementedError naming what is supported
            model.add(getattr(_layers, name).from_config(entry["config"]))
        if model._input_layer is None and config.get("build_input_shape"):
            model.build(tuple(config["build_input_shape"]))
        return model

    # --- the estimators (fastmlp._convert) ------------------------------------

    def to_sklearn(self):
        """This model as a fitted scikit-learn estimator of fastmlp, same weights.

        Returns
        -------
        estimator : fastmlp.MLPClassifier or fastmlp.MLPRegressor
            Its ``predict_proba`` (classifier) or ``predict`` (regressor) is
            this model's ``predict``; see :func:`fastmlp.from_keras`.
        """
        from fastmlp._convert import from_keras

        return from_keras(self)

    @classmethod
    def from_sklearn(cls, estimator):
        """The Sequential model of a fitted MLP estimator, same weights.

        Parameters
        ----------
        estimator : fastmlp.MLPClassifier, fastmlp.MLPRegressor, or scikit-learn's
            Fitted; scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` go
            through :func:`fastmlp.from_sklearn` first.

        Returns
        -------
        Sequential
            See :func:`fastmlp.to_keras`.
        """
        from sklearn import neural_network

        from fastmlp._convert import from_sklearn, to_keras

        if isinstance(estimator, (neural_network.MLPClassifier, neural_network.MLPRegressor)):
            estimator = from_sklearn(estimator)
        return to_keras(estimator)

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Write a Keras 3 ``.keras`` file (config and weights; needs h5py).

        Parameters
        ----------
        filepath : str or path
            Ending in ``.keras``.
        overwrite : bool, default=True
            Replace an existing file.
        zipped : bool or None, default=None
            Accepted (the file is always zipped).
        **kwargs
            Keras's other arguments, accepted.
        """
        from fastmlp.keras import saving

        saving.save_model(self, filepath, overwrite=overwrite)

    def __repr__(self):
        return f"<Sequential name={self.name}, built={self.built}>"


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a ``.keras`` file (``keras.models.load_model``).

    Parameters
    ----------
    filepath : str or path
    custom_objects, compile, safe_mode
        Keras's arguments (no custom objects are supported).

    Returns
    -------
    Sequential
    """
    from fastmlp.keras import saving

    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile,
                             safe_mode=safe_mode)


def clone_model(model):
    """A new model with the same layers, fresh weights (``keras.models.clone_model``).

    As Keras 3's: the layers' configuration is copied and their weights
    drawn anew by their initializers; a compiled model's clone is compiled
    with a new optimizer of the same configuration, the same loss and
    metrics.

    Parameters
    ----------
    model : Sequential
        The model to copy.

    Returns
    -------
    Sequential
        Built when `model` is, untrained.
    """
    import copy

    clone = Sequential.from_config(model.get_config())
    if model.compiled:
        optimizer = type(model.optimizer).from_config(model.optimizer.get_config())
        clone.compile(optimizer=optimizer, loss=copy.deepcopy(model.loss),
                      metrics=copy.deepcopy(model._metric_ids))
    return clone
