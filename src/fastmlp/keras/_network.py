"""A Sequential model as a :class:`fastmlp.network.Network`, and back.

The layer stack of Keras (Dense, then optional Activation-like layers,
BatchNormalization and Dropout between them) is grouped into the Network's
weight layers: a Dense (or Maxout) starts a layer; a Dropout before it is
that layer's input dropout; an activation layer after a linear Dense is the
layer's activation; a BatchNormalization sits ``"before"`` the activation
(when it follows a linear Dense that an activation layer may follow) or
``"after"`` it. Orders that a Network cannot describe (two activations in a
row, a Dropout between a Dense and its activation, a BatchNormalization on
the input or on the output, ...) raise ValueError saying so.

The weights go along in the Network's terms (``coefs``, ``intercepts`` and
batch norm's gamma, beta, moving mean and variance per normalised layer),
with Keras's conventions kept in the description: ``bn_momentum = 1 -
momentum``, Keras's epsilon, the biased moving variance.
"""
import numpy as np

from fastmlp.keras import layers as _layers
from fastmlp.network import Layer, Network

# Keras's activation names (a Dense's, an Activation layer's) -> the engine's.
_TO_ENGINE = dict(_layers.ACTIVATIONS)
# keras.activations.leaky_relu's default slope (the LeakyReLU layer's is 0.3).
_KERAS_LEAKY_SLOPE = 0.2
_REGRESSION_LOSSES = {"MeanSquaredError": "squared_error", "MeanAbsoluteError": "absolute_error",
                      "Huber": "huber"}


def _unsupported(what):
    return ValueError(f"{what}: the network description (fastmlp.network.Network) has no "
                      "equivalent, so neither have the estimators")


def _activation_of(layer):
    """(engine activation name, its parameters) of an activation-like layer."""
    if isinstance(layer, _layers.LeakyReLU):
        return "leaky_relu", {"negative_slope": layer.negative_slope}
    if isinstance(layer, _layers.ReLU):
        if layer.negative_slope:
            return "leaky_relu", {"negative_slope": layer.negative_slope}
        return "relu", None
    if isinstance(layer, _layers.ELU):
        return "elu", {"alpha": layer.alpha}
    if isinstance(layer, _layers.Softmax):
        return "softmax", None
    return _dense_activation(layer.activation)


def _dense_activation(name):
    act = _TO_ENGINE[name]
    if act == "leaky_relu":
        return act, {"negative_slope": _KERAS_LEAKY_SLOPE}
    return act, None


def sequential_network(model):
    """The Network of a built Sequential model, and its weights.

    Parameters
    ----------
    model : fastmlp.keras.Sequential
        Built (its input width known).

    Returns
    -------
    network : fastmlp.network.Network
        Its weight layers; the loss from the compiled loss (or, not
        compiled, from the output activation).
    coefs, intercepts : list of ndarray
        Each layer's kernel and bias (zeros for a Dense without bias).
    bn : list of ndarray
        Gamma, beta, moving mean and moving variance of each normalised
        layer, in layer order.

    Raises
    ------
    ValueError
        If the model is not built, or its layer order has no Network
        equivalent.
    """
    if not model.built:
        raise ValueError(f"The model {model.name} is not built: give it an input shape "
                         "(Input(shape) first, or input_shape=/input_dim= on its first layer)")
    groups, pending_dropout = [], 0.0
    for layer in model.layers:
        if isinstance(layer, _layers.Flatten):
            continue  # the estimators take flat rows: (n, 28, 28) becomes (n, 784)
        if isinstance(layer, _layers.Dropout):
            if layer.rate == 0:
                continue
            if pending_dropout:
                raise _unsupported("Two Dropout layers in a row")
            pending_dropout = layer.rate
            continue
        if isinstance(layer, _layers.Dense):  # Maxout too
            act, params = (("maxout", {"pieces": layer.pieces})
                           if isinstance(layer, _layers.Maxout)
                           else _dense_activation(layer.activation))
            groups.append({"dense": layer, "act": act, "params": params,
                           "dropout": pending_dropout, "bn": None, "place": None})
            pending_dropout = 0.0
            continue
        if not groups:
            raise _unsupported(f"{type(layer).__name__} {layer.name!r} before the first Dense "
                               "layer (on the input)")
        group = groups[-1]
        if pending_dropout:
            raise _unsupported(f"Dropout between Dense {group['dense'].name!r} and "
                               f"{type(layer).__name__} {layer.name!r} (a Dropout drops the "
                               "input of the next Dense layer)")
        if isinstance(layer, _layers.BatchNormalization):
            if group["bn"] is not None:
                raise _unsupported("Two BatchNormalization layers on one Dense layer")
            group["bn"] = layer
            group["place"] = "before" if group["act"] == "identity" else "after"
            continue
        act, params = _activation_of(layer)
        if group["act"] != "identity":
            raise _unsupported(f"{type(layer).__name__} {layer.name!r} after the activation "
                               f"{group['act']!r} of Dense {group['dense'].name!r} (one "
                               "activation per layer)")
        group["act"], group["params"] = act, params
    if not groups:
        raise ValueError(f"The model {model.name} has no Dense layer")
    if pending_dropout:
        raise _unsupported("Dropout after the output layer")
    if groups[-1]["bn"] is not None:
        raise _unsupported("BatchNormalization on the output layer")
    for group in groups[:-1]:
        if group["act"] == "softmax":
            raise _unsupported(f"softmax in the hidden layer {group['dense'].name!r}")

    layers, coefs, intercepts, bn = [], [], [], []
    for group in groups:
        dense, norm = group["dense"], group["bn"]
        weights = dense.get_weights()
        kernel = weights[0]
        bias = weights[1] if dense.use_bias else np.zeros(kernel.shape[1], kernel.dtype)
        reg_k, reg_b, constraint = (dense.kernel_regularizer, dense.bias_regularizer,
                                    dense.kernel_constraint)
        kwargs = {}
        if norm is not None:
            kwargs = {"batch_norm": group["place"], "bn_momentum": 1.0 - norm.momentum,
                      "bn_epsilon": norm.epsilon, "bn_moving_variance": "biased"}
            named = dict(zip([name for name, _, _ in norm._weight_specs()], norm.get_weights()))
            n = kernel.shape[1]
            bn += [named.get("gamma", np.ones(n, kernel.dtype)),
                   named.get("beta", np.zeros(n, kernel.dtype)),
                   named["moving_mean"], named["moving_variance"]]
        layers.append(Layer(
            dense.units, group["act"], activation_params=group["params"],
            dropout=group["dropout"], kernel_l1=getattr(reg_k, "l1", 0.0),
            kernel_l2=getattr(reg_k, "l2", 0.0), bias_l1=getattr(reg_b, "l1", 0.0),
            bias_l2=getattr(reg_b, "l2", 0.0),
            max_norm=None if constraint is None else constraint.max_value,
            frozen=not (dense.trainable and model.trainable), use_bias=dense.use_bias,
            kernel_initializer="zeros", bias_initializer="zeros", **kwargs))
        coefs.append(kernel)
        intercepts.append(bias)
    loss, loss_param = _network_loss(model, groups[-1]["act"])
    n_inputs = coefs[0].shape[0]
    return Network(n_inputs, layers, loss=loss, loss_param=loss_param), coefs, intercepts, bn


def _network_loss(model, out_act):
    """The Network's loss: the compiled one, or the output activation's."""
    loss = getattr(model, "loss", None)
    name = type(loss).__name__ if loss is not None else None
    if out_act == "softmax":
        if name not in (None, "CategoricalCrossentropy", "SparseCategoricalCrossentropy"):
            raise _unsupported(f"A softmax output trained with {name}")
        return "log_loss", 1.0
    if out_act == "logistic" and name in (None, "BinaryCrossentropy"):
        return "binary_log_loss", 1.0
    if name in (None,):
        return "squared_error", 1.0
    if name not in _REGRESSION_LOSSES:
        raise _unsupported(f"The loss {name} on a {out_act!r} output")
    return _REGRESSION_LOSSES[name], float(getattr(loss, "delta", 1.0))


def network_sequential(network, coefs, intercepts, bn, name=None):
    """A Sequential model with a Network's layers and weights.

    Parameters
    ----------
    network : fastmlp.network.Network
        The description (its layers' activations, dropout, batch norm).
    coefs, intercepts : list of ndarray
        Each layer's W and b.
    bn : list of ndarray
        Gamma, beta, running mean and running variance of each normalised
        layer, in layer order.
    name : str or None, default=None
        The model's name.

    Returns
    -------
    fastmlp.keras.Sequential
        Built, not compiled: Input, then per layer an optional Dropout, a
        Dense (or Maxout), and the activation and BatchNormalization layers
        in the layer's order.

    Raises
    ------
    ValueError
        For an output activation Keras's Dense does not have (Poisson's exp
        link).
    """
    from fastmlp.keras.models import Sequential

    from_engine = {v: k for k, v in _TO_ENGINE.items() if k}
    model = Sequential([_layers.Input(shape=(int(network.n_inputs),))], name=name)
    bn = list(bn)
    weights = []
    for i, (layer, w, b) in enumerate(zip(network.layers, coefs, intercepts)):
        if layer.dropout:
            model.add(_layers.Dropout(layer.dropout))
        act, params = layer.activation, layer.activation_params or {}
        if act == "leaky_relu":
            act_layer = _layers.LeakyReLU(negative_slope=params.get("negative_slope", 0.01))
        elif act == "elu" and params.get("alpha", 1.0) != 1.0:
            act_layer = _layers.ELU(alpha=params["alpha"])
        elif act in from_engine or act == "maxout":
            act_layer = None
        else:
            raise ValueError(f"Keras's Dense has no activation {act!r} (layer {i})")
        separate = act_layer is not None or layer.batch_norm == "before"
        if act == "maxout":
            dense = _layers.Maxout(layer.units, pieces=layer.pieces, use_bias=layer.use_bias)
        else:
            dense = _layers.Dense(layer.units, use_bias=layer.use_bias,
                                  activation="linear" if separate else from_engine[act])
        dense.trainable = not layer.frozen
        model.add(dense)
        weights += [w, b] if layer.use_bias else [w]
        if layer.batch_norm:
            gamma, beta, mean, var = bn[:4]
            del bn[:4]
            norm = _layers.BatchNormalization(momentum=1.0 - layer.bn_momentum,
                                              epsilon=layer.bn_epsilon)
            if layer.batch_norm == "after":
                if act_layer is not None:
                    model.add(act_layer)
                model.add(norm)
            else:
                model.add(norm)
                model.add(act_layer if act_layer is not None else
                          _layers.Activation(from_engine[act]))
            weights += [gamma, beta, mean, var]
        elif act_layer is not None:
            model.add(act_layer)
    model.set_weights(weights)
    return model
