"""Keras's Sequential model for MLPs (``keras.Sequential``, ``keras.models``).

:class:`Sequential` is the layer stack with Keras's construction (a list
or ``.add``, ``Input`` / ``input_shape`` / ``input_dim``), names,
``summary()``, ``get_config`` / ``from_config``, ``get_weights`` /
``set_weights`` in Keras's order (per layer: kernel, bias; BatchNormalization's
gamma, beta, moving mean, moving variance), and ``compile`` (the loss, the
optimizer and the metrics resolved as Keras resolves them).

``fit``, ``evaluate`` and ``predict`` run on the C engine through the
network description (``Network``), which is being built; until it is wired
they raise NotImplementedError (they do not train in Python).
"""

from fastmlp.keras import _format
from fastmlp.keras import layers as _layers
from fastmlp.keras import losses as _losses
from fastmlp.keras import metrics as _metrics
from fastmlp.keras import optimizers as _optimizers

__all__ = ["Sequential", "Model", "load_model", "clone_model"]

_WAITING = ("fastmlp.keras: Sequential.{what} runs on the C training engine through the "
            "Network description, which this version does not wire yet. The "
            "model's construction, summary(), get_config(), get_weights()/set_weights() and "
            "compile() work; for training today use fastmlp.MLPClassifier / MLPRegressor.")


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

    def fit(self, *args, **kwargs):
        """Train (waits for the engine wiring: raises NotImplementedError).

        Parameters
        ----------
        *args, **kwargs
            Keras's ``fit`` arguments.
        """
        raise NotImplementedError(_WAITING.format(what="fit"))

    def evaluate(self, *args, **kwargs):
        """Evaluate (waits for the engine wiring: raises NotImplementedError).

        Parameters
        ----------
        *args, **kwargs
            Keras's ``evaluate`` arguments.
        """
        raise NotImplementedError(_WAITING.format(what="evaluate"))

    def predict(self, *args, **kwargs):
        """Predict (waits for the engine wiring: raises NotImplementedError).

        Parameters
        ----------
        *args, **kwargs
            Keras's ``predict`` arguments.
        """
        raise NotImplementedError(_WAITING.format(what="predict"))

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
