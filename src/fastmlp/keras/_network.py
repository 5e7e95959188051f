"""A Sequential model as a :class:`fastmlp.network.Network` with its weights, and back.

One way is the engine's translation (:func:`fastmlp.keras._engine.translate`:
the same walk over the layers that ``fit`` and ``predict`` run), with the
weights taken out of Keras's order; the other builds the layer stack that
translation reads back as the same Network: per weight layer an optional
Dropout, a Dense (or Maxout), and the activation and BatchNormalization
layers in the layer's order.
"""
import numpy as np

from fastmlp.keras import _engine
from fastmlp.keras import layers as _layers

# The engine's activation names -> Keras's (a Dense's, an Activation layer's).
_FROM_ENGINE = {engine: keras for keras, engine in _layers.ACTIVATIONS.items() if keras}


def sequential_network(model):
    """The Network of a built Sequential model, and its weights.

    Parameters
    ----------
    model : fastmlp.keras.Sequential
        Built (its input width known); compiled or not.

    Returns
    -------
    network : fastmlp.network.Network
        The engine's description (Keras's loss convention), with the
        compiled loss, or the output activation's when not compiled.
    coefs, intercepts : list of ndarray
        Each layer's kernel and bias (zeros for a Dense without bias),
        float32 as Keras keeps them.
    bn : list of ndarray
        Gamma, beta, moving mean and moving variance of each normalised
        layer, in layer order.

    Raises
    ------
    ValueError
        If the model is not built.
    NotImplementedError
        For a layer order or a loss the engine does not run (the message
        names what it runs).
    """
    plan = _engine.translate(model, model.loss if model.compiled else None)
    coefs, intercepts, bn = plan.engine_arrays(model.get_weights(), np.float32)
    return plan.network, coefs, intercepts, bn


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
        elif act in _FROM_ENGINE or act == "maxout":
            act_layer = None
        else:
            raise ValueError(f"Keras's Dense has no activation {act!r} (layer {i})")
        separate = act_layer is not None or layer.batch_norm == "before"
        if act == "maxout":
            dense = _layers.Maxout(layer.units, pieces=layer.pieces, use_bias=layer.use_bias)
        else:
            dense = _layers.Dense(layer.units, use_bias=layer.use_bias,
                                  activation="linear" if separate else _FROM_ENGINE[act])
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
                          _layers.Activation(_FROM_ENGINE[act]))
            weights += [gamma, beta, mean, var]
        elif act_layer is not None:
            model.add(act_layer)
    model.set_weights(weights)
    return model
