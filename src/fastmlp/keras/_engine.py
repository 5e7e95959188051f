"""A Sequential stack as the engine's network description (``Network``).

:func:`translate` walks the layers once and returns a :class:`Plan`: the
:class:`~fastmlp.network.Network` (with Keras's loss convention) and where
each Keras weight (``get_weights``'s order) lives among the engine's
arrays. The stacks the engine runs:

- ``Flatten`` first (the input is reshaped to rows), or anywhere the data
  is already flat (then it does nothing);
- ``Dense`` / ``Maxout``, each opening a weight layer;
- after a ``Dense`` with no activation of its own, at most one activation
  layer (``Activation``, ``LeakyReLU``, ``ELU``, ``ReLU``, ``Softmax``),
  folded into that layer;
- ``Dropout`` before a ``Dense`` (on the input too): the dropout of that
  layer's input;
- ``BatchNormalization`` after a hidden ``Dense``, before its activation
  (``Dense(8), BatchNormalization(), Activation('relu')``) or after it
  (``Dense(8, activation='relu'), BatchNormalization()``).

Anything else (batch normalisation of the raw input or of the output,
dropout after the last layer, two activations in a row) raises
NotImplementedError naming these placements.
"""
from dataclasses import dataclass

import numpy as np

from fastmlp.keras import layers as _layers
from fastmlp.keras import losses as _losses
from fastmlp.network import Layer, Network

__all__ = ["Plan", "translate", "network_loss", "PLACEMENTS"]

#: The stacks fastmlp.keras runs, for error messages.
PLACEMENTS = ("Flatten first; Dense/Maxout layers; after a Dense without an activation, at "
              "most one Activation/LeakyReLU/ELU/ReLU/Softmax layer; Dropout before a Dense "
              "(or on the input); BatchNormalization after a hidden Dense, before or after its "
              "activation (not on the raw input, not after the last Dense)")

# Keras's default parameters of the activations named by a string.
_STRING_PARAMS = {"leaky_relu": {"negative_slope": 0.2}, "elu": {"alpha": 1.0}}
_REGRESSION_OUTPUTS = ("identity", "relu", "softplus", "logistic", "tanh")


def _unsupported(what):
    return NotImplementedError(f"fastmlp.keras cannot run {what}. Supported: {PLACEMENTS}.")


@dataclass
class Plan:
    """A Sequential model as the engine runs it.

    Attributes
    ----------
    network : fastmlp.network.Network
        The description (``convention="keras"``, the loss of
        :func:`network_loss` or, before compile, one matching the output).
    slots : list of tuple
        Per Keras weight, in ``get_weights`` order: ``("coef", l)``,
        ``("intercept", l)`` or ``("bn", k)`` (index into the engine's
        batch-norm list, 4 per batch-normalised layer).
    n_inputs : int
        The input's width after Flatten.
    """

    network: Network
    slots: list
    n_inputs: int

    def engine_arrays(self, weights, dtype=np.float32):
        """Keras's weights as the engine's arrays (copies).

        Parameters
        ----------
        weights : list of ndarray
            ``get_weights`` of the model.
        dtype : numpy dtype, default=float32
            The arrays' dtype.

        Returns
        -------
        coefs, intercepts, bn : list of ndarray
            Writeable C-contiguous arrays; a layer without bias has zeros.
        """
        net = self.network
        coefs = [None] * len(net.layers)
        intercepts = [np.zeros(layer.cols, dtype) for layer in net.layers]
        bn = [None] * (4 * len(net.bn_layers))
        for (kind, index), w in zip(self.slots, weights):
            arr = np.array(w, dtype=dtype, order="C", copy=True)
            {"coef": coefs, "intercept": intercepts, "bn": bn}[kind][index] = arr
        return coefs, intercepts, bn

    def keras_weights(self, coefs, intercepts, bn):
        """The engine's arrays back in ``get_weights`` order.

        Parameters
        ----------
        coefs, intercepts, bn : list of ndarray
            As :meth:`engine_arrays` returns them.

        Returns
        -------
        list of ndarray
        """
        source = {"coef": coefs, "intercept": intercepts, "bn": bn}
        return [source[kind][index] for kind, index in self.slots]

    def predictor_arrays(self, weights):
        """The prediction weights: float32, batch norm folded in.

        Parameters
        ----------
        weights : list of ndarray
            ``get_weights`` of the model.

        Returns
        -------
        coefs, intercepts : list of ndarray
        """
        coefs, intercepts, bn = self.engine_arrays(weights, np.float32)
        return self.network.fold(coefs, intercepts, bn, np.float32)


def _activation(keras_name, params=None):
    name = _layers.ACTIVATIONS[keras_name]
    merged = dict(_STRING_PARAMS.get(keras_name, {}))
    merged.update(params or {})
    return name, merged or None


def _regularizer(reg, where):
    if reg is None:
        return 0.0, 0.0
    if not hasattr(reg, "l1") or not hasattr(reg, "l2"):
        raise _unsupported(f"the regularizer {reg!r} of {where}")
    return float(reg.l1), float(reg.l2)


def translate(model, loss=None):
    """The engine's description of a built Sequential model.

    Parameters
    ----------
    model : fastmlp.keras.Sequential
        Built (its input width known).
    loss : fastmlp.keras.losses.Loss or None, default=None
        The compiled loss (None: one matching the output activation, for
        prediction).

    Returns
    -------
    Plan

    Raises
    ------
    NotImplementedError
        A stack or a loss the engine cannot run (the message names what it
        runs).
    """
    if not model.built:
        raise ValueError(f"The model {model.name} is not built: give it an input shape "
                         f"(keras.Input(shape), input_shape=..., or build()).")
    shape = model.input_shape
    n_inputs = int(np.prod(shape[1:]))
    out, slots = [], []
    current = None  # the Layer being filled; its activation / bn still open
    has_activation = False
    pending_dropout = 0.0
    n_bn = 0
    trainable = model.trainable
    for layer in model.layers:
        name = f"{layer.name} ({type(layer).__name__})"
        if isinstance(layer, _layers.Flatten):
            continue  # the input is reshaped; flat data stays flat
        if isinstance(layer, _layers.Dense):  # Maxout too
            if layer.bias_constraint is not None:
                raise _unsupported(f"a bias constraint ({name})")
            k_l1, k_l2 = _regularizer(layer.kernel_regularizer, name)
            b_l1, b_l2 = _regularizer(layer.bias_regularizer, name)
            max_norm = None
            if layer.kernel_constraint is not None:
                c = layer.kernel_constraint
                if type(c).__name__ != "MaxNorm" or c.axis not in (0, -2):
                    raise _unsupported(f"the kernel constraint {c!r} of {name} (MaxNorm "
                                       f"with axis=0 only)")
                max_norm = float(c.max_value)
            if isinstance(layer, _layers.Maxout):
                act, params = "maxout", {"pieces": layer.pieces}
            else:
                act, params = _activation(layer.activation)
            current = Layer(layer.units, act, params, dropout=pending_dropout,
                            kernel_initializer="zeros", bias_initializer="zeros",
                            kernel_l1=k_l1, kernel_l2=k_l2, bias_l1=b_l1, bias_l2=b_l2,
                            max_norm=max_norm, frozen=not (layer.trainable and trainable),
                            use_bias=layer.use_bias)
            out.append(current)
            has_activation = act != "identity"
            pending_dropout = 0.0
            slots.append(("coef", len(out) - 1))
            if layer.use_bias:
                slots.append(("intercept", len(out) - 1))
            continue
        if isinstance(layer, _layers.Dropout):
            # independent masks in a row: keep probability multiplies
            pending_dropout = layer.rate if not pending_dropout else (
                1.0 - (1.0 - pending_dropout) * (1.0 - layer.rate))
            continue
        if current is None:
            raise _unsupported(f"{name} before the first Dense")
        if pending_dropout:
            raise _unsupported(f"{name} after a Dropout (Dropout goes before a Dense)")
        if isinstance(layer, _layers.BatchNormalization):
            if current.batch_norm:
                raise _unsupported(f"a second BatchNormalization on one Dense ({name})")
            if not (layer.center and layer.scale) or not layer.trainable or any(
                    r is not None for r in (layer.beta_regularizer, layer.gamma_regularizer,
                                            layer.beta_constraint, layer.gamma_constraint)):
                raise _unsupported(f"{name} without center and scale, frozen, or with "
                                   f"regularizers or constraints")
            current.batch_norm = "after" if has_activation else "before"
            current.bn_momentum = 1.0 - layer.momentum
            current.bn_epsilon = layer.epsilon
            current.bn_moving_variance = "biased"
            slots += [("bn", 4 * n_bn + j) for j in range(4)]
            n_bn += 1
            continue
        if hasattr(layer, "activation"):  # Activation, LeakyReLU, ELU, ReLU, Softmax
            if has_activation or current.batch_norm == "after":
                raise _unsupported(f"{name}: a second activation on one Dense")
            if isinstance(layer, _layers.LeakyReLU) or (
                    isinstance(layer, _layers.ReLU) and layer.negative_slope):
                act, params = "leaky_relu", {"negative_slope": layer.negative_slope}
            elif isinstance(layer, _layers.ELU):
                act, params = "elu", {"alpha": layer.alpha}
            elif isinstance(layer, (_layers.ReLU, _layers.Softmax)):
                act, params = layer.activation, None
            else:
                act, params = _activation(layer.activation)
            current.activation, current.activation_params = act, params
            has_activation = act != "identity"
            continue
        raise _unsupported(name)
    if current is None:
        raise _unsupported("a model without a Dense layer")
    if pending_dropout:
        raise _unsupported("a Dropout after the last Dense")
    if current.batch_norm:
        raise _unsupported("a BatchNormalization after the last Dense")
    net_loss, loss_param = network_loss(loss, current.activation)
    network = Network(n_inputs, out, loss=net_loss, loss_param=loss_param, convention="keras")
    return Plan(network, slots, n_inputs)


def network_loss(loss, out_activation):
    """The engine's loss for a Keras loss and the output activation.

    Parameters
    ----------
    loss : fastmlp.keras.losses.Loss or None
        None: the loss the output suggests (prediction needs one).
    out_activation : str
        The engine's name of the last layer's activation.

    Returns
    -------
    loss : str
        ``"log_loss"``, ``"binary_log_loss"``, ``"squared_error"``,
        ``"absolute_error"`` or ``"huber"``.
    loss_param : float
        Huber's delta (1.0 otherwise).

    Raises
    ------
    NotImplementedError
        A loss the engine does not train, or one that does not go with the
        output activation.
    """
    if loss is None:
        if out_activation == "softmax":
            return "log_loss", 1.0
        if out_activation == "logistic":
            return "binary_log_loss", 1.0
        return "squared_error", 1.0
    if loss.reduction != "sum_over_batch_size":
        raise NotImplementedError(f"fastmlp.keras trains with reduction='sum_over_batch_size' "
                                  f"only, got {loss.reduction!r}")
    if isinstance(loss, (_losses.CategoricalCrossentropy, _losses.SparseCategoricalCrossentropy)):
        if out_activation != "softmax":
            raise NotImplementedError(f"fastmlp.keras trains {loss.name} on a softmax output "
                                      f"(the last Dense's activation), got {out_activation!r}")
        return "log_loss", 1.0
    if isinstance(loss, _losses.BinaryCrossentropy):
        if out_activation != "logistic":
            raise NotImplementedError(f"fastmlp.keras trains binary_crossentropy on a sigmoid "
                                      f"output, got {out_activation!r}")
        return "binary_log_loss", 1.0
    kinds = {_losses.MeanSquaredError: "squared_error",
             _losses.MeanAbsoluteError: "absolute_error", _losses.Huber: "huber"}
    if type(loss) not in kinds:
        raise NotImplementedError(f"fastmlp.keras trains mean_squared_error, "
                                  f"mean_absolute_error, huber, binary_crossentropy, "
                                  f"categorical_crossentropy and "
                                  f"sparse_categorical_crossentropy; not {loss.name}")
    if out_activation not in _REGRESSION_OUTPUTS:
        raise NotImplementedError(f"fastmlp.keras trains {loss.name} with the last Dense's "
                                  f"activation one of linear, relu, softplus, sigmoid, tanh; "
                                  f"got {out_activation!r}")
    return kinds[type(loss)], float(getattr(loss, "delta", 1.0))
