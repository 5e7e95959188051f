"""The network as one description: :class:`Layer` and :class:`Network`.

A :class:`Network` is what the C engine trains and predicts with: its
layers (units, activation and its parameters, dropout of the layer's input,
batch normalisation and where it sits, initialisers, penalties, max-norm,
frozen, bias), the output's loss, the scikit-learn penalty ``alpha`` and the
gradient clipping. The estimators translate their scikit-learn parameters
into one (``MLPClassifier._network``); the engine and the predictor are
built from it (:meth:`Network.engine`, :meth:`Network.predictor`), and ONNX
export, ``summary``, ``transform`` and the conversions read it.

The flat parameter vector (gradients, optimizer state) follows
scikit-learn's order, ``W[0..L-1]``, ``b[0..L-1]``, then the gammas and the
betas of the batch-normalised layers; :attr:`Network.layout` is computed by
the engine's one function for it (``fm_mlp_fill_layout``).

Examples
--------
>>> from fastmlp.network import Layer, Network
>>> net = Network(4, [Layer(8, "elu", activation_params={"alpha": 0.5}, dropout=0.1,
...                         batch_norm="after"),
...                   Layer(3, "softmax")], loss="log_loss")
>>> net.layout["n_params"]  # W 4x8 + 8x3, b 8 + 3, gamma and beta 8 + 8
83
"""
import copy
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["Layer", "Network", "fitted_network"]

_KERNEL_INITIALIZERS = ("glorot_uniform", "glorot_uniform_logistic", "he_uniform", "he_normal",
                        "zeros")
_BIAS_INITIALIZERS = ("glorot_uniform", "zeros")


@dataclass
class Layer:
    """One weight layer: ``z = dropout(x) @ W + b``, batch norm, activation.

    Parameters
    ----------
    units : int
        Output units.
    activation : str, default="relu"
        Any activation of :func:`fastmlp.kernels.activation` for a hidden
        layer ("maxout" included); the output layer's is the output's
        ("softmax" with ``loss="log_loss"``, "logistic" with
        "binary_log_loss", a regression output activation otherwise).
    activation_params : dict, default=None
        The activation's parameter, e.g. ``{"negative_slope": 0.1}`` for
        leaky_relu, ``{"alpha": 0.5}`` for elu, ``{"pieces": 3}`` for maxout
        (its weights then have ``units * pieces`` columns, unit j's pieces
        in columns ``j * pieces .. j * pieces + pieces - 1``).
    dropout : float, default=0.0
        Inverted dropout rate of the layer's INPUT in training epochs (the
        first layer's: the network's input).
    batch_norm : {None, "before", "after"}, default=None
        Batch normalisation of the product (+ bias), before the activation,
        or of the activation's output; hidden layers only.
    bn_momentum : float, default=0.1
        Weight of the batch statistics in the running ones (PyTorch's
        convention; Keras's ``momentum=m`` is ``1 - m`` here).
    bn_epsilon : float, default=1e-5
        Added to the variance.
    bn_moving_variance : {"unbiased", "biased"}, default="unbiased"
        Which batch variance the running variance moves towards (PyTorch's,
        Keras's); the batch itself is always normalised by the biased one.
    kernel_initializer : str, default="glorot_uniform"
        "glorot_uniform" (scikit-learn's draw, bound ``sqrt(6 / (fan_in +
        units))``), "glorot_uniform_logistic" (scikit-learn's bound for
        logistic layers, ``sqrt(2 / (fan_in + units))``), "he_uniform",
        "he_normal", "zeros".
    bias_initializer : {"glorot_uniform", "zeros"}, default="glorot_uniform"
        "glorot_uniform": drawn from the kernel's Glorot bound after the
        kernel (scikit-learn's order); "zeros": no draw.
    kernel_l1, kernel_l2, bias_l1, bias_l2 : float, default=0.0
        The layer's penalties at Keras's scale: ``l2 * sum(W**2) + l1 *
        sum(|W|)`` added to the mean minibatch loss (gradient ``2 * l2 * W``),
        on top of the network's scikit-learn ``alpha``.
    max_norm : float or None, default=None
        After each step, every column of W (a unit's incoming weights) with
        an L2 norm above it is scaled down to it.
    frozen : bool, default=False
        W and b are not trained (deltas still flow through).
    use_bias : bool, default=True
        Without it b stays in the layout (scikit-learn's order) but is
        neither used nor trained, and initialised to zero (after its draw,
        which keeps the random stream of scikit-learn's order).
    """

    units: int
    activation: str = "relu"
    activation_params: dict = None
    dropout: float = 0.0
    batch_norm: str = None
    bn_momentum: float = 0.1
    bn_epsilon: float = 1e-5
    bn_moving_variance: str = "unbiased"
    kernel_initializer: str = "glorot_uniform"
    bias_initializer: str = "glorot_uniform"
    kernel_l1: float = 0.0
    kernel_l2: float = 0.0
    bias_l1: float = 0.0
    bias_l2: float = 0.0
    max_norm: float = None
    frozen: bool = False
    use_bias: bool = True

    @property
    def pieces(self):
        """Columns per unit: maxout's pieces, else 1."""
        if self.activation == "maxout":
            return int((self.activation_params or {}).get("pieces", 2))
        return 1

    @property
    def cols(self):
        """Columns of W and b: ``units * pieces``."""
        return self.units * self.pieces


@dataclass
class Network:
    """A multilayer perceptron as the engine runs it.

    Parameters
    ----------
    n_inputs : int
        The input's width.
    layers : list of Layer
        The weight layers, the output layer last.
    loss : str, default="squared_error"
        "log_loss" (softmax output), "binary_log_loss" (logistic output),
        or a regression loss: "squared_error", "absolute_error", "huber",
        "poisson" (identity output activation; the engine applies the log
        link's exp).
    loss_param : float, default=1.0
        Huber's delta.
    alpha : float, default=0.0
        scikit-learn's penalty strength on the coefficients, divided by
        sum(w): ``0.5 * alpha * ||W||^2`` for "l2".
    penalty : {"l2", "l1", "elasticnet"}, default="l2"
        The kind of ``alpha``'s penalty.
    l1_ratio : float, default=0.15
        Elastic-net mixing.
    clip_grad_norm, clip_grad_value : float or None, default=None
        Gradient clipping in training epochs.
    compute_dtype : {None, "bfloat16"}, default=None
        What the products multiply.
    convention : {"sklearn", "keras"}, default="sklearn"
        The loss's scale: scikit-learn's (``sum(w * loss) / sum(w)``,
        squared error halved, probabilities clipped at the dtype's epsilon,
        torch's ``clip_grad_norm``) or Keras 3's (``sum(w * loss) / n`` per
        minibatch, squared error not halved, clip at 1e-7, binary
        cross-entropy averaged over outputs, ``clip_grad_norm`` as Keras's
        ``global_clipnorm``).
    """

    n_inputs: int
    layers: list
    loss: str = "squared_error"
    loss_param: float = 1.0
    alpha: float = 0.0
    penalty: str = "l2"
    l1_ratio: float = 0.15
    clip_grad_norm: float = None
    clip_grad_value: float = None
    compute_dtype: str = None
    convention: str = "sklearn"
    _layout: dict = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        self.layers = list(self.layers)

    # -- shapes and the flat layout ----------------------------------------

    @property
    def units(self):
        """Widths of all layers, the input's first."""
        return [int(self.n_inputs)] + [int(layer.units) for layer in self.layers]

    @property
    def coef_shapes(self):
        """Shape of each W: ``(fan_in, units * pieces)``."""
        return [(fan_in, layer.cols) for fan_in, layer in zip(self.units, self.layers)]

    @property
    def bn_layers(self):
        """Indices of the batch-normalised layers."""
        return [i for i, layer in enumerate(self.layers) if layer.batch_norm]

    @property
    def layout(self):
        """Offsets of W, b, gamma and beta per layer in the flat vector.

        -1 where a layer has no batch norm, and ``n_params``: the engine's
        ``fm_mlp_fill_layout``, computed once per description.
        """
        if self._layout is None:
            from fastmlp._kernels import network_layout

            self._layout = network_layout(self)
        return self._layout

    @property
    def n_params(self):
        """Length of the flat parameter vector the optimizer steps."""
        return self.layout["n_params"]

    def unflatten(self, flat):
        """Views of a flat vector (a gradient, an optimizer state) as the layout's arrays.

        Parameters
        ----------
        flat : ndarray of shape (n_params,) or (n_coefs + n_intercepts,)
            In the layout's order (L-BFGS's vector stops after the
            intercepts).

        Returns
        -------
        coefs, intercepts : list of ndarray
            Views shaped as each layer's W and b.
        gammas, betas : list of ndarray
            Views of the batch-normalised layers' scale and shift (empty
            when `flat` stops after the intercepts).
        """
        layout = self.layout
        coefs = [flat[o:o + a * b].reshape(a, b)
                 for o, (a, b) in zip(layout["coef"], self.coef_shapes)]
        intercepts = [flat[o:o + b] for o, (_, b) in zip(layout["intercept"], self.coef_shapes)]
        gammas, betas = [], []
        if len(flat) == layout["n_params"]:
            for i in self.bn_layers:
                u = self.layers[i].units
                gammas.append(flat[layout["gamma"][i]:layout["gamma"][i] + u])
                betas.append(flat[layout["beta"][i]:layout["beta"][i] + u])
        return coefs, intercepts, gammas, betas

    def replace(self, **changes):
        """A copy with some fields changed.

        Parameters
        ----------
        **changes
            New values of Network fields (the layers are copied unless
            given).

        Returns
        -------
        Network
            The copy.
        """
        changes.setdefault("layers", [copy.copy(layer) for layer in self.layers])
        return replace(self, **changes)

    def for_prediction(self):
        """The description prediction and validation losses run.

        Batch norm is folded into the weights (:meth:`fold`), every bias is
        used, and nothing of training's acts (dropout, clipping, max-norm,
        frozen layers).

        Returns
        -------
        Network
            A copy with those fields off.
        """
        layers = [replace(layer, dropout=0.0, batch_norm=None, use_bias=True, max_norm=None,
                          frozen=False) for layer in self.layers]
        return replace(self, layers=layers, clip_grad_norm=None, clip_grad_value=None)

    # -- parameters ----------------------------------------------------------

    def init_params(self, random_state, dtype=np.float64):
        """Initial parameters, drawn from `random_state` in scikit-learn's order.

        Layer by layer, W then b.

        Parameters
        ----------
        random_state : int, RandomState or None
            The stream (an estimator passes its own RandomState, which goes
            on to shuffle).
        dtype : numpy dtype, default=float64
            The parameters' dtype.

        Returns
        -------
        coefs, intercepts : list of ndarray
            One per layer.
        bn : list of ndarray
            Gamma (ones), beta (zeros), running mean (zeros) and running
            variance (ones) of each batch-normalised layer, in layer order.
        """
        rs = check_random_state(random_state)
        coefs, intercepts = [], []
        for fan_in, layer in zip(self.units, self.layers):
            coef, intercept = _draw_layer(rs, fan_in, layer)
            if not layer.use_bias:
                intercept[...] = 0
            coefs.append(coef.astype(dtype, copy=False))
            intercepts.append(intercept.astype(dtype, copy=False))
        bn = []
        for i in self.bn_layers:
            u = self.layers[i].units
            bn += [np.ones(u, dtype), np.zeros(u, dtype), np.zeros(u, dtype), np.ones(u, dtype)]
        return coefs, intercepts, bn

    def fold(self, coefs, intercepts, bn, dtype):
        """The prediction weights, with batch norm's running statistics folded in.

        With ``s = gamma / sqrt(var +
        epsilon)``: before the activation, into the layer's own,
        ``W' = W * s``, ``b' = (b - mean) * s + beta``; after it, into the
        next layer's, ``W'_next = s[:, None] * W_next``, ``b'_next = b_next +
        (beta - mean * s) @ W_next``. b is taken as stored (a layer without
        bias keeps it at zero: its initial value, never stepped).

        Parameters
        ----------
        coefs, intercepts : list of ndarray
            The trained parameters.
        bn : list of ndarray or None
            4 arrays per batch-normalised layer (gamma, beta, running mean,
            running variance).
        dtype : numpy dtype
            The result's dtype.

        Returns
        -------
        coefs, intercepts : list of ndarray
            Contiguous arrays of `dtype`: the given ones where nothing is
            folded (no copy when they already are).
        """
        coefs = [np.ascontiguousarray(c, dtype=dtype) for c in coefs]
        intercepts = [np.ascontiguousarray(b, dtype=dtype) for b in intercepts]
        bn_index = {layer: k for k, layer in enumerate(self.bn_layers)}
        after = None  # (scale, shift) of a batch norm after the previous activation
        for i, layer in enumerate(self.layers):
            if after is not None:
                scale, shift = after
                w = coefs[i]
                intercepts[i] = (intercepts[i] + shift @ w).astype(dtype)
                coefs[i] = np.ascontiguousarray(scale[:, None] * w, dtype=dtype)
                after = None
            if i not in bn_index:
                continue
            k = bn_index[i]
            gamma, beta, mean, var = bn[4 * k:4 * k + 4]
            scale = gamma / np.sqrt(var + layer.bn_epsilon)
            if layer.batch_norm == "before":
                coefs[i] = np.ascontiguousarray(coefs[i] * scale, dtype=dtype)
                intercepts[i] = ((intercepts[i] - mean) * scale + beta).astype(dtype)
            else:
                after = (scale, beta - mean * scale)
        return coefs, intercepts

    def penalty_value(self, coefs, intercepts=None, weight=1.0):
        """The penalties of the parameters as the engine adds them to a loss.

        Parameters
        ----------
        coefs : list of ndarray
            The weights W.
        intercepts : list of ndarray, default=None
            The biases b (for the layers' bias penalties).
        weight : float, default=1.0
            The loss's total sample weight, sum(w): alpha's penalty is
            divided by it, the layers' own (Keras's scale) are not.

        Returns
        -------
        float
            The penalty term of the loss.
        """
        squares = sum(float(np.dot(c.ravel(), c.ravel())) for c in coefs)
        if self.penalty == "l2":
            value = 0.5 * self.alpha * squares
        else:
            abs_sum = sum(float(np.abs(c).sum()) for c in coefs)
            if self.penalty == "l1":
                value = self.alpha * abs_sum
            else:
                value = self.alpha * (self.l1_ratio * abs_sum
                                      + 0.5 * (1.0 - self.l1_ratio) * squares)
        value /= weight
        for i, layer in enumerate(self.layers):
            w = coefs[i]
            value += layer.kernel_l2 * float(np.sum(w * w)) + layer.kernel_l1 * float(
                np.abs(w).sum())
            if intercepts is not None:
                b = intercepts[i]
                value += layer.bias_l2 * float(np.sum(b * b)) + layer.bias_l1 * float(
                    np.abs(b).sum())
        return value

    # -- the engine ----------------------------------------------------------

    def engine(self, max_rows, dtype, gather_rows=False):
        """The C training engine of this description.

        Parameters
        ----------
        max_rows : int
            Rows its workspace holds (the batch size; n for full batches).
        dtype : numpy dtype
            float32 or float64.
        gather_rows : bool, default=False
            Reserve the buffer that epochs gather shuffled dense rows into.

        Returns
        -------
        fastmlp._kernels.MLPEngine
            Its ``epoch``, ``loss_grad`` and ``loss`` run in C.
        """
        from fastmlp._kernels import MLPEngine

        return MLPEngine(self, max_rows, dtype, gather_rows)

    def predictor(self, coefs, intercepts):
        """The C forward pass over prediction weights.

        Parameters
        ----------
        coefs, intercepts : list of ndarray
            Prediction weights (batch norm already folded: :meth:`fold`).

        Returns
        -------
        fastmlp._kernels.MLPPredictor
            Its ``predict(X, n_layers=None)`` runs the forward pass in C.
        """
        from fastmlp._kernels import MLPPredictor

        return MLPPredictor(self.for_prediction(), list(coefs), list(intercepts))


def _glorot_bound(fan_in, layer):
    factor = 2.0 if layer.kernel_initializer == "glorot_uniform_logistic" else 6.0
    return np.sqrt(factor / (fan_in + layer.units))


def _draw_layer(rs, fan_in, layer):
    """One layer's (W, b) in scikit-learn's draw order: W, then b. A maxout
    layer draws all its piece columns with the bound of its units (each
    input reaches `units` units, backward through one piece of each)."""
    cols = layer.cols
    kind = layer.kernel_initializer
    if kind not in _KERNEL_INITIALIZERS:
        raise ValueError(f"kernel_initializer must be one of {_KERNEL_INITIALIZERS}, got {kind!r}")
    if layer.bias_initializer not in _BIAS_INITIALIZERS:
        raise ValueError(f"bias_initializer must be one of {_BIAS_INITIALIZERS}, got "
                         f"{layer.bias_initializer!r}")
    if kind.startswith("glorot"):
        bound = _glorot_bound(fan_in, layer)
        coef = rs.uniform(-bound, bound, (fan_in, cols))
    elif kind == "he_uniform":
        bound = np.sqrt(6.0 / fan_in)
        coef = rs.uniform(-bound, bound, (fan_in, cols))
    elif kind == "he_normal":
        coef = rs.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, cols))
    else:
        coef = np.zeros((fan_in, cols))
    if layer.bias_initializer == "glorot_uniform":
        bound = _glorot_bound(fan_in, layer)
        intercept = rs.uniform(-bound, bound, cols)
    else:
        intercept = np.zeros(cols)
    return coef, intercept


def fitted_network(estimator, dtype=None):
    """The Network of a fitted MLP and the weights it predicts with.

    Read from the estimator's public attributes (MLPClassifier or
    MLPRegressor).

    Parameters
    ----------
    estimator : fastmlp.MLPClassifier or fastmlp.MLPRegressor
        Fitted.
    dtype : numpy dtype, default=None
        The weights' dtype (the model's when None).

    Returns
    -------
    network : Network
        ``estimator.network_``.
    coefs, intercepts : list of ndarray
        The prediction weights: batch norm folded (:meth:`Network.fold`).
    """
    network = estimator.network_
    bn = []
    if getattr(estimator, "bn_gammas_", None) is not None:
        for group in zip(estimator.bn_gammas_, estimator.bn_betas_,
                         estimator.bn_running_means_, estimator.bn_running_vars_):
            bn.extend(group)
    dtype = estimator.coefs_[0].dtype if dtype is None else dtype
    coefs, intercepts = network.fold(estimator.coefs_, estimator.intercepts_, bn, dtype)
    return network, coefs, intercepts
