"""Keras's layers for multilayer perceptrons, as configuration objects.

Each layer takes Keras 3's arguments and defaults, names itself from the
session's counters as Keras does (``dense``, ``dense_1``, ...; reset by
:func:`fastmlp.keras.utils.clear_session`), returns Keras's ``get_config``,
and once built (its input width known) holds its weights as NumPy arrays
in Keras's order. Passing ``input_shape`` / ``input_dim`` to a layer warns
as Keras 3 warns, and works.

:class:`Maxout` is fastmlp's extension (``units`` outputs, each the max of
``pieces`` affine pieces). The layers of other kinds of networks (Conv2D,
LSTM, Embedding, ...) raise NotImplementedError naming what fastmlp.keras
has.
"""
import re
import warnings

import numpy as np

from fastmlp.keras import constraints as _constraints
from fastmlp.keras import initializers as _initializers
from fastmlp.keras import regularizers as _regularizers

__all__ = ["Layer", "InputLayer", "Input", "KerasTensor", "Dense", "Activation", "Dropout",
           "BatchNormalization", "Flatten", "LeakyReLU", "ELU", "ReLU", "Softmax", "Maxout",
           "SUPPORTED"]

#: The layer classes fastmlp.keras has.
SUPPORTED = ("Input", "InputLayer", "Dense", "Activation", "Dropout", "BatchNormalization",
             "Flatten", "LeakyReLU", "ELU", "ReLU", "Softmax", "Maxout")

# Keras's activation names -> the engine's (fastmlp's) names.
ACTIVATIONS = {"linear": "identity", None: "identity", "relu": "relu", "sigmoid": "logistic",
               "tanh": "tanh", "softmax": "softmax", "elu": "elu", "selu": "selu",
               "gelu": "gelu", "softplus": "softplus", "leaky_relu": "leaky_relu"}

_INPUT_WARNING = ("Do not pass an `input_shape`/`input_dim` argument to a layer. When using "
                  "Sequential models, prefer using an `Input(shape)` object as the first layer "
                  "in the model instead.")

_COUNTERS = {}


def _reset_names():
    _COUNTERS.clear()


def _unique_name(base):
    """Keras's global names: ``base``, ``base_1``, ``base_2``, ..."""
    n = _COUNTERS.get(base, 0)
    _COUNTERS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _snake(name):
    """Keras's snake case of a class name (``BatchNormalization`` ->
    ``batch_normalization``, ``ReLU`` -> ``re_lu``)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _activation_name(activation):
    if callable(activation) and not isinstance(activation, str):
        activation = getattr(activation, "__name__", activation)
    if activation not in ACTIVATIONS:
        raise ValueError(f"fastmlp.keras has no activation {activation!r}; it has "
                         f"{sorted(a for a in ACTIVATIONS if a)}")
    return "linear" if activation is None else activation


def _serialize(obj, module):
    if obj is None:
        return None
    return {"module": f"keras.{module}", "class_name": type(obj).__name__,
            "config": obj.get_config(), "registered_name": None}


class Layer:
    """What every layer shares: a name, ``trainable``, the input-size keywords.

    Parameters
    ----------
    name : str or None, default=None
        The session's next name for the class when None.
    trainable : bool, default=True
    dtype : str or None, default=None
        'float32' (the engine's dtype; 'float64' is accepted too).
    input_shape : tuple of int, optional
        Keras 2's way to give the input width (warns, as Keras 3).
    input_dim : int, optional
        The same, for a Dense layer (warns).
    """

    #: Whether the layer holds weights.
    has_weights = False

    def __init__(self, name=None, trainable=True, dtype=None, **kwargs):
        input_shape = kwargs.pop("input_shape", None)
        input_dim = kwargs.pop("input_dim", None)
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        kwargs.pop("batch_size", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                             f"{kwargs}")
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None and input_shape is None:
            input_shape = tuple(batch_input_shape)[1:]
        if input_shape is not None:
            warnings.warn(_INPUT_WARNING, UserWarning, stacklevel=3)
            input_shape = (int(input_shape),) if np.isscalar(input_shape) else tuple(
                int(d) for d in input_shape)
        self._input_shape_arg = input_shape
        self.name = name if name is not None else _unique_name(_snake(type(self).__name__))
        self.trainable = bool(trainable)
        self.dtype = dtype or "float32"
        self.built = False
        self.input_shape = None
        self._weights = []

    # --- shapes and weights -------------------------------------------------

    def compute_output_shape(self, input_shape):
        """The output shape for an input shape (``None`` for the batch).

        Parameters
        ----------
        input_shape : tuple

        Returns
        -------
        tuple
        """
        return tuple(input_shape)

    def build(self, input_shape):
        """Create the weights for an input shape (``(None, width)``).

        Parameters
        ----------
        input_shape : tuple
        """
        self.input_shape = tuple(input_shape)
        self.built = True

    @property
    def output_shape(self):
        """The output shape once built (``(None, units)``)."""
        if not self.built:
            raise ValueError(f"The layer {self.name} has never been called and thus has no "
                             "defined output shape.")
        return self.compute_output_shape(self.input_shape)

    def _weight_specs(self):
        """[(name, shape, trainable)] of the weights, in Keras's order."""
        return []

    def get_weights(self):
        """Copies of the weights, in Keras's order.

        Returns
        -------
        list of ndarray
        """
        return [w.copy() for w in self._weights]

    def set_weights(self, weights):
        """Replace the weights (shapes must match).

        Parameters
        ----------
        weights : list of array-like
        """
        specs = self._weight_specs()
        if len(weights) != len(specs):
            raise ValueError(f"Layer {self.name} expects {len(specs)} weights, but the given "
                             f"weights list has {len(weights)}")
        new = []
        for (name, shape, _), w in zip(specs, weights):
            w = np.asarray(w)
            if w.shape != tuple(shape):
                raise ValueError(f"Layer {self.name} weight shape {tuple(shape)} is not "
                                 f"compatible with provided weight shape {w.shape}.")
            new.append(np.array(w, dtype=self.dtype))
        self._weights = new

    @property
    def weights(self):
        """The weight arrays (not copies)."""
        return list(self._weights)

    def count_params(self):
        """Number of weight values (0 before build).

        Returns
        -------
        int
        """
        return int(sum(w.size for w in self._weights))

    def count_trainable_params(self):
        """Number of trainable weight values.

        Returns
        -------
        int
        """
        if not self.built or not self.trainable:
            return 0
        return int(sum(w.size for (_, _, t), w in zip(self._weight_specs(), self._weights)
                       if t))

    # --- configuration ------------------------------------------------------

    def _config(self):
        return {}

    def get_config(self):
        """Keras 3's configuration dict.

        Returns
        -------
        dict
        """
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": {"module": "keras", "class_name": "DTypePolicy",
                            "config": {"name": self.dtype}, "registered_name": None}}
        config.update(self._config())
        return config

    @classmethod
    def from_config(cls, config):
        """Build from a Keras config dict.

        Parameters
        ----------
        config : dict

        Returns
        -------
        Layer
        """
        config = dict(config)
        dtype = config.pop("dtype", None)
        if isinstance(dtype, dict):
            dtype = dtype.get("config", {}).get("name", "float32")
        for key in ("quantization_config", "lora_rank", "lora_alpha", "batch_input_shape",
                    "renorm", "renorm_clipping", "renorm_momentum", "synchronized",
                    "noise_shape", "seed", "data_format", "activity_regularizer",
                    "bias_constraint", "beta_regularizer", "gamma_regularizer",
                    "beta_constraint", "gamma_constraint", "beta_initializer",
                    "gamma_initializer", "moving_mean_initializer",
                    "moving_variance_initializer", "axis", "center", "scale",
                    "threshold", "max_value"):
            if key in config and key not in cls._own_config_keys:
                config.pop(key)
        return cls(dtype=dtype, **config)

    _own_config_keys = ()

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


class KerasTensor:
    """What :func:`Input` returns: a symbolic input of a known shape.

    Parameters
    ----------
    shape : tuple
        With the batch axis (``(None, 784)``).
    name : str
    """

    def __init__(self, shape, name):
        self.shape = tuple(shape)
        self.name = name
        self.dtype = "float32"

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype=float32, name={self.name}>"


class InputLayer(Layer):
    """The input of a model: its shape.

    Parameters
    ----------
    shape : tuple of int
        Without the batch axis.
    batch_size : int or None, default=None
    dtype : str or None, default=None
    batch_shape : tuple or None, default=None
        With the batch axis (instead of ``shape``).
    name : str or None, default=None
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 name=None, **kwargs):
        super().__init__(name=name, dtype=dtype)
        if batch_shape is None:
            if shape is None:
                raise ValueError("You must pass a `shape` argument.")
            shape = (int(shape),) if np.isscalar(shape) else tuple(shape)
            batch_shape = (batch_size,) + shape
        self.batch_shape = tuple(batch_shape)
        self.build(self.batch_shape)

    def _config(self):
        return {"batch_shape": self.batch_shape, "sparse": False, "ragged": False}

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "sparse": False,
                "ragged": False, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(batch_shape=tuple(config["batch_shape"]), dtype=config.get("dtype"),
                   name=config.get("name"))


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None):
    """A model's input of a given shape (``keras.Input``).

    Parameters
    ----------
    shape : tuple of int
        Without the batch axis: ``(784,)``, ``(28, 28)``.
    batch_size : int or None, default=None
        A fixed batch size (the shape's first axis).
    dtype : str or None, default=None
        'float32' when None.
    sparse : None
        Not supported (sparse inputs go through the estimators).
    batch_shape : tuple or None, default=None
        The shape with the batch axis, instead of ``shape``.
    name : str or None, default=None
        ``input_layer``, ``input_layer_1``, ... when None.
    tensor : None
        Not supported.

    Returns
    -------
    KerasTensor
        What ``Sequential([Input(shape), ...])`` takes as its first item.
    """
    if sparse or tensor is not None:
        raise NotImplementedError("fastmlp.keras.Input takes a shape only")
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype,
                       batch_shape=batch_shape, name=name)
    tensor = KerasTensor(layer.batch_shape, layer.name)
    tensor._layer = layer
    return tensor


class Dense(Layer):
    """A fully connected layer: ``activation(x @ kernel + bias)``.

    Parameters
    ----------
    units : int
        > 0.
    activation : str or None, default=None
        Keras's names: 'relu', 'sigmoid', 'tanh', 'softmax', 'linear' (None),
        'elu', 'selu', 'gelu', 'softplus', 'leaky_relu'.
    use_bias : bool, default=True
    kernel_initializer : str or Initializer, default='glorot_uniform'
    bias_initializer : str or Initializer, default='zeros'
    kernel_regularizer, bias_regularizer : Regularizer or None, default=None
    activity_regularizer : None
        Not supported.
    kernel_constraint, bias_constraint : Constraint or None, default=None
    **kwargs
        ``name``, ``trainable``, ``dtype``, ``input_shape``, ``input_dim``.
    """

    has_weights = True
    _own_config_keys = ("bias_constraint",)

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units}")
        if activity_regularizer is not None or lora_rank:
            raise NotImplementedError("fastmlp.keras's Dense has no activity_regularizer or "
                                      "LoRA")
        self.units = int(units)
        self.activation = _activation_name(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.kernel_constraint = _constraints.get(kernel_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def _weight_specs(self):
        n_in = self.input_shape[-1]
        specs = [("kernel", (n_in, self.units), True)]
        if self.use_bias:
            specs.append(("bias", (self.units,), True))
        return specs

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"fastmlp.keras's Dense takes flat inputs (None, width); got "
                             f"{tuple(input_shape)}: add a Flatten layer first")
        super().build(input_shape)
        self._weights = [self.kernel_initializer((input_shape[-1], self.units), self.dtype)]
        if self.use_bias:
            self._weights.append(self.bias_initializer((self.units,), self.dtype))

    def _config(self):
        return {"units": self.units, "activation": self.activation, "use_bias": self.use_bias,
                "kernel_initializer": _serialize(self.kernel_initializer, "initializers"),
                "bias_initializer": _serialize(self.bias_initializer, "initializers"),
                "kernel_regularizer": _serialize(self.kernel_regularizer, "regularizers"),
                "bias_regularizer": _serialize(self.bias_regularizer, "regularizers"),
                "kernel_constraint": _serialize(self.kernel_constraint, "constraints"),
                "bias_constraint": _serialize(self.bias_constraint, "constraints"),
                "quantization_config": None}


class Maxout(Dense):
    """fastmlp's extension: ``units`` outputs, each the max of ``pieces``
    affine pieces of the input (Goodfellow et al., 2013).

    The kernel is ``(n_in, units * pieces)`` and the bias ``(units *
    pieces,)``, piece ``k`` of unit ``j`` in column ``j * pieces + k``.

    Parameters
    ----------
    units : int
    pieces : int, default=2
        >= 2.
    use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
    bias_regularizer, kernel_constraint, bias_constraint, **kwargs
        As :class:`Dense` (no activation: the max is the activation).
    """

    _own_config_keys = ("bias_constraint",)

    def __init__(self, units, pieces=2, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        kwargs.pop("activation", None)
        super().__init__(units, None, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, None, kernel_constraint,
                         bias_constraint, **kwargs)
        if isinstance(pieces, bool) or not isinstance(pieces, (int, np.integer)) or pieces < 2:
            raise ValueError(f"pieces must be an integer >= 2, got {pieces!r}")
        self.pieces = int(pieces)
        self.activation = "maxout"

    def _weight_specs(self):
        n_in, cols = self.input_shape[-1], self.units * self.pieces
        return [("kernel", (n_in, cols), True)] + ([("bias", (cols,), True)]
                                                  if self.use_bias else [])

    def build(self, input_shape):
        Layer.build(self, input_shape)
        cols = self.units * self.pieces
        self._weights = [self.kernel_initializer((input_shape[-1], cols), self.dtype)]
        if self.use_bias:
            self._weights.append(self.bias_initializer((cols,), self.dtype))

    def _config(self):
        config = super()._config()
        del config["activation"]
        config["pieces"] = self.pieces
        return config


class Activation(Layer):
    """An activation function as a layer.

    Parameters
    ----------
    activation : str
        As :class:`Dense`'s.
    **kwargs
        ``name``, ``trainable``, ``dtype``, ``input_shape``.
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = _activation_name(activation)

    def _config(self):
        return {"activation": self.activation}


class Dropout(Layer):
    """Zero a fraction ``rate`` of the inputs while training (inverted dropout).

    Parameters
    ----------
    rate : float
        In [0, 1).
    noise_shape : None
        Not supported.
    seed : int or None, default=None
    **kwargs
        ``name``, ``trainable``, ``dtype``, ``input_shape``.
    """

    _own_config_keys = ("noise_shape", "seed")

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float "
                             f"value between 0 and 1. Received: rate={rate}")
        if noise_shape is not None:
            raise NotImplementedError("fastmlp.keras's Dropout has no noise_shape")
        self.rate, self.noise_shape, self.seed = float(rate), None, seed

    def _config(self):
        return {"rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


class BatchNormalization(Layer):
    """Normalise each feature by the batch's mean and variance, then scale and shift.

    Anywhere in the stack (after a Dense, after an activation). In
    training, ``y = gamma * (x - mean_batch) / sqrt(var_batch + epsilon) +
    beta``, and the moving statistics follow ``moving = moving * momentum
    + batch * (1 - momentum)``; in prediction the moving statistics are
    used.

    Parameters
    ----------
    axis : int, default=-1
        Only -1 (the features of a flat input).
    momentum : float, default=0.99
    epsilon : float, default=0.001
    center, scale : bool, default=True
    beta_initializer : default='zeros'
    gamma_initializer : default='ones'
    moving_mean_initializer : default='zeros'
    moving_variance_initializer : default='ones'
    beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint : None
    **kwargs
        ``name``, ``trainable``, ``dtype``, ``input_shape``.
    """

    has_weights = True
    _own_config_keys = ("axis", "center", "scale", "beta_initializer", "gamma_initializer",
                        "moving_mean_initializer", "moving_variance_initializer",
                        "beta_regularizer", "gamma_regularizer", "beta_constraint",
                        "gamma_constraint")

    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, **kwargs):
        for key in ("renorm", "renorm_clipping", "renorm_momentum"):
            if kwargs.pop(key, None):
                raise NotImplementedError("fastmlp.keras's BatchNormalization has no renorm")
        super().__init__(**kwargs)
        if axis not in (-1, 1):
            raise NotImplementedError("fastmlp.keras's BatchNormalization normalises the "
                                      "features of flat inputs (axis=-1)")
        self.axis = -1
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = _initializers.get(beta_initializer)
        self.gamma_initializer = _initializers.get(gamma_initializer)
        self.moving_mean_initializer = _initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = _initializers.get(moving_variance_initializer)
        self.beta_regularizer = _regularizers.get(beta_regularizer)
        self.gamma_regularizer = _regularizers.get(gamma_regularizer)
        self.beta_constraint = _constraints.get(beta_constraint)
        self.gamma_constraint = _constraints.get(gamma_constraint)

    def _weight_specs(self):
        n = self.input_shape[-1]
        specs = []
        if self.scale:
            specs.append(("gamma", (n,), True))
        if self.center:
            specs.append(("beta", (n,), True))
        return specs + [("moving_mean", (n,), False), ("moving_variance", (n,), False)]

    def build(self, input_shape):
        super().build(input_shape)
        n = (input_shape[-1],)
        inits = {"gamma": self.gamma_initializer, "beta": self.beta_initializer,
                 "moving_mean": self.moving_mean_initializer,
                 "moving_variance": self.moving_variance_initializer}
        self._weights = [inits[name](n, self.dtype) for name, _, _ in self._weight_specs()]

    def _config(self):
        return {"axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": _serialize(self.beta_initializer, "initializers"),
                "gamma_initializer": _serialize(self.gamma_initializer, "initializers"),
                "moving_mean_initializer": _serialize(self.moving_mean_initializer,
                                                      "initializers"),
                "moving_variance_initializer": _serialize(self.moving_variance_initializer,
                                                          "initializers"),
                "beta_regularizer": _serialize(self.beta_regularizer, "regularizers"),
                "gamma_regularizer": _serialize(self.gamma_regularizer, "regularizers"),
                "beta_constraint": _serialize(self.beta_constraint, "constraints"),
                "gamma_constraint": _serialize(self.gamma_constraint, "constraints"),
                "synchronized": False, "renorm": False, "renorm_clipping": None,
                "renorm_momentum": 0.99}


class Flatten(Layer):
    """Flatten each sample to one row (``(None, 28, 28)`` -> ``(None, 784)``).

    Parameters
    ----------
    data_format : None
        Ignored (no channels in an MLP's input).
    **kwargs
        ``name``, ``trainable``, ``dtype``, ``input_shape``.
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        width = int(np.prod([d for d in input_shape[1:]])) if len(input_shape) > 1 else 1
        return (input_shape[0], width)

    def _config(self):
        return {"data_format": "channels_last"}


class LeakyReLU(Layer):
    """``x`` if ``x >= 0`` else ``negative_slope * x``.

    Parameters
    ----------
    negative_slope : float, default=0.3
    **kwargs
        ``name``, ``trainable``, ``dtype``, ``input_shape``.
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:  # Keras 2's name
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.",
                          UserWarning, stacklevel=2)
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None "
                             f"or negative, Expected a float. Received: "
                             f"negative_slope={negative_slope}")
        self.negative_slope = float(negative_slope)
        self.activation = "leaky_relu"

    def _config(self):
        return {"negative_slope": self.negative_slope}


class ELU(Layer):
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``.

    Parameters
    ----------
    alpha : float, default=1.0
    **kwargs
        ``name``, ``trainable``, ``dtype``, ``input_shape``.
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)
        self.activation = "elu"

    def _config(self):
        return {"alpha": self.alpha}


class ReLU(Layer):
    """The rectifier as a layer (Keras's defaults: a plain ReLU).

    Parameters
    ----------
    max_value : None
        Only None (no ReLU6).
    negative_slope : float, default=0.0
        A leaky ReLU when > 0.
    threshold : float, default=0.0
        Only 0.
    **kwargs
        ``name``, ``trainable``, ``dtype``, ``input_shape``.
    """

    _own_config_keys = ("max_value", "threshold")

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None or threshold != 0:
            raise NotImplementedError("fastmlp.keras's ReLU has max_value=None and "
                                      "threshold=0 only")
        self.max_value, self.threshold = None, 0.0
        self.negative_slope = float(negative_slope)
        self.activation = "leaky_relu" if self.negative_slope else "relu"

    def _config(self):
        return {"max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class Softmax(Layer):
    """Softmax over the features (the output layer's).

    Parameters
    ----------
    axis : int, default=-1
    **kwargs
        ``name``, ``trainable``, ``dtype``, ``input_shape``.
    """

    _own_config_keys = ("axis",)

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if axis != -1:
            raise NotImplementedError("fastmlp.keras's Softmax is over the features (axis=-1)")
        self.axis = -1
        self.activation = "softmax"

    def _config(self):
        return {"axis": self.axis}


# Keras layers of other networks: a clear error instead of an AttributeError.
_NOT_MLP = {
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D", "DepthwiseConv2D",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
    "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "LSTM", "GRU", "SimpleRNN", "RNN",
    "Bidirectional", "TimeDistributed", "ConvLSTM2D", "Embedding", "MultiHeadAttention",
    "Attention", "LayerNormalization", "GroupNormalization", "UnitNormalization",
    "Concatenate", "Add", "Multiply", "Average", "Maximum", "Minimum", "Subtract", "Dot",
    "Reshape", "Permute", "RepeatVector", "Lambda", "Masking", "Cropping2D", "ZeroPadding2D",
    "UpSampling2D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "TextVectorization", "Normalization", "Rescaling", "Resizing", "CategoryEncoding",
    "StringLookup", "IntegerLookup", "Discretization", "Hashing", "PReLU",
}


def __getattr__(name):
    if name in _NOT_MLP:
        raise NotImplementedError(
            f"fastmlp.keras runs multilayer perceptrons: it has no {name} layer. Its layers: "
            f"{', '.join(SUPPORTED)} (Sequential models only).")
    raise AttributeError(f"module 'fastmlp.keras.layers' has no attribute {name!r}")
