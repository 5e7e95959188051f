"""MLPClassifier and MLPRegressor: scikit-learn's estimators on the C engine.

The control flow (input validation, initialisation order, the shuffling
stream, the validation split, learning-rate schedules, stopping rules,
warm_start and partial_fit) mirrors scikit-learn 1.9's
``sklearn/neural_network/_multilayer_perceptron.py`` step by step, so that
the same options and random_state give the same numbers. What differs is
where the arithmetic runs: a whole epoch (minibatch gathering, forward pass,
loss, backward pass, optimizer steps) is one call into C
(:class:`fastmlp._kernels.MLPEngine`, ``csrc/engine/train.c``) with the GIL
released; Python runs once per epoch. L-BFGS uses SciPy with one C call per
loss-and-gradient evaluation.
"""
import dataclasses
import inspect
import operator
import time
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn import get_config
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
    _fit_context,
    is_classifier,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import TransformerTags, check_random_state, column_or_1d, shuffle
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    type_of_target,
    unique_labels,
)
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import (
    _assert_all_finite,
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from fastmlp import _kernels
from fastmlp._kernels import NonFiniteInput
from fastmlp.network import Layer, Network
from fastmlp._persist import VersionedPickleMixin
from fastmlp._validation import (
    LabelCheckedScoreMixin,
    check_callbacks,
    check_class_weight,
    check_label_types,
    check_layer_sizes,
    check_network_size,
    check_sparse_structure,
)
from fastmlp import optimizers
from fastmlp._history import FIRST_COLUMNS, append_row, validation_metrics, validation_scorers
from fastmlp.callbacks import CallbackList

_STOCHASTIC_SOLVERS = ["sgd", "adam", "rmsprop", "adagrad", "adamw", "nadam"]
# For messages: every solver that trains by minibatches, named.
_STOCHASTIC_NAMES = "a stochastic solver (%s)" % ", ".join(repr(s) for s in _STOCHASTIC_SOLVERS)
# scikit-learn's hidden activations, and those it declined to add.
_SKLEARN_ACTIVATIONS = {"identity", "logistic", "tanh", "relu"}
_HIDDEN_ACTIVATIONS = _SKLEARN_ACTIVATIONS | {"leaky_relu", "elu", "selu", "gelu", "softplus",
                                              "maxout"}
_INITS = {"glorot_uniform", "he_uniform", "he_normal"}
# Rows per C call when predicting (bounds the workspace, not the result).
_PREDICT_CHUNK = 4096
# Batch normalisation: running-statistics momentum and variance offset
# (PyTorch's defaults).
_BN_MOMENTUM = 0.1
_BN_EPSILON = 1e-5


class _LearningRate:
    """Only for unpickling: what fastmlp's pickles held in ``_optimizer["lr"]``
    before the optimizer became an object (fastmlp.optimizers); converted
    on load by ``_optimizer_from_legacy``."""


def _optimizer_from_legacy(state):
    """The optimizer object of an old pickle's ``{"lr", "t", "a", "b"}``
    dict, with the estimator's hyper-parameters (from its pickled state)."""
    legacy = state["_optimizer"]
    lr = legacy["lr"]
    a = legacy["a"]
    if state["solver"] == "sgd":
        opt = optimizers.SGD(0, a.dtype, learning_rate_init=state["learning_rate_init"],
                             lr_schedule=state["learning_rate"], momentum=state["momentum"],
                             nesterov=state["nesterovs_momentum"], power_t=state["power_t"])
        opt.state = [a]
    else:
        opt = optimizers.Adam(0, a.dtype, learning_rate_init=state["learning_rate_init"],
                              beta_1=state["beta_1"], beta_2=state["beta_2"],
                              epsilon=state["epsilon"])
        opt.state = [a, legacy["b"]]
    opt.t = legacy["t"]
    opt.learning_rate = lr.learning_rate
    return opt


class _Clock:
    """Seconds of training in a history: since this call began, plus the
    time its earlier rows (warm_start, partial_fit) had reached."""

    def __init__(self, history):
        times = history["time"]
        self._offset = times[-1] if times else 0.0
        self._start = time.perf_counter()

    def __call__(self):
        return self._offset + (time.perf_counter() - self._start)


def _gather_checks_finite(estimator, X):
    """Whether the first epoch's gather, not validation, checks X for
    NaN and infinity: dense X whose rows are all gathered (shuffled,
    none held out for early stopping) by a stochastic solver."""
    return (estimator.solver in _STOCHASTIC_SOLVERS and estimator.shuffle
            and not estimator.early_stopping and not sp.issparse(X))


def _new_optimizer(estimator, n_params, dtype):
    """The solver's optimizer object (fastmlp.optimizers) for a new fit of
    `estimator`, read from its parameters; with bfloat16 products (no
    scikit-learn numbers to match) SGD and Adam take the plain, vectorised
    float32 step too."""
    weight_decay = estimator.weight_decay
    if weight_decay == "auto":
        weight_decay = 0.01 if estimator.solver == "adamw" else 0.0
    # scikit-learn's schedule strings act on 'sgd' only (the other
    # solvers ignore them, as scikit-learn's Adam does); a schedule
    # object acts on every solver.
    schedule = estimator.learning_rate
    if isinstance(schedule, str) and estimator.solver != "sgd":
        schedule = "constant"
    common = dict(learning_rate_init=estimator.learning_rate_init, lr_schedule=schedule,
                  weight_decay=weight_decay)
    adam_like = dict(beta_1=estimator.beta_1, beta_2=estimator.beta_2, epsilon=estimator.epsilon)
    bf16_step = {"arithmetic": "plain"} if estimator.compute_dtype == "bfloat16" else {}
    if estimator.solver == "sgd":
        return optimizers.SGD(n_params, dtype, momentum=estimator.momentum,
                              nesterov=estimator.nesterovs_momentum, power_t=estimator.power_t,
                              **common, **bf16_step)
    if estimator.solver == "adam":
        # float64 takes scikit-learn's exact step. float32 takes the plain
        # float32 step (vectorised, about 3x faster): scikit-learn computes
        # float32's Adam update in float64 (NumPy's promotion), which only
        # matters bit for bit, and float32 fits already differ from
        # scikit-learn's by ~1e-4 through the products' rounding
        # (tests/test_sklearn_parity.py holds both to 1e-3).
        arithmetic = "plain" if np.dtype(dtype) == np.float32 else "sklearn"
        return optimizers.Adam(n_params, dtype, **adam_like, **common,
                               **{"arithmetic": arithmetic, **bf16_step})
    if estimator.solver == "adamw":
        return optimizers.AdamW(n_params, dtype, **adam_like, **common)
    if estimator.solver == "nadam":
        return optimizers.NAdam(n_params, dtype, momentum_decay=estimator.momentum_decay,
                                **adam_like, **common)
    if estimator.solver == "rmsprop":
        return optimizers.RMSprop(n_params, dtype, rho=estimator.rho, epsilon=estimator.epsilon,
                                  **common)
    return optimizers.Adagrad(n_params, dtype, epsilon=estimator.epsilon,
                              initial_accumulator_value=estimator.initial_accumulator_value,
                              **common)


def _indicator(binarizer, y):
    """LabelBinarizer.transform(y).astype(bool) for its common cases, 1-D
    integer labels that are all among classes_ (multiclass, or binary
    with two classes), without its validation (~7 ms a call for 60000
    labels, every partial_fit); None for every other case."""
    classes = binarizer.classes_
    if (y.ndim != 1 or y.dtype.kind not in "iu" or classes.dtype.kind not in "iu"
            or binarizer.sparse_output or binarizer.neg_label != 0
            or binarizer.pos_label != 1 or len(classes) < 2
            or binarizer.y_type_ not in ("multiclass", "binary")):
        return None
    index = np.minimum(np.searchsorted(classes, y), len(classes) - 1)
    if not np.array_equal(classes[index], y):
        return None  # labels not in classes_: LabelBinarizer says which
    if binarizer.y_type_ == "binary":
        return (index == 1).reshape(-1, 1)
    indicator = np.zeros((len(y), len(classes)), dtype=bool)
    indicator[np.arange(len(y)), index] = True
    return indicator


class BaseMultilayerPerceptron(VersionedPickleMixin, ClassNamePrefixFeaturesOutMixin,
                               TransformerMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class for the MLP classifier and regressor (not for direct use).

    Also a transformer (the last hidden layer's activations): ``transform``,
    ``fit_transform(X, y)``, ``get_feature_names_out`` (scikit-learn's
    prefixed names, "mlpclassifier0", ...) and ``set_output``, so that a
    fitted network can be a step of a Pipeline, intermediate or last.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(_HIDDEN_ACTIVATIONS), list, tuple],
        "maxout_pieces": [Interval(Integral, 2, None, closed="left")],
        "solver": [StrOptions({"lbfgs", *_STOCHASTIC_SOLVERS})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"}), callable],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "rho": [Interval(Real, 0, 1, closed="left")],
        "initial_accumulator_value": [Interval(Real, 0, None, closed="left")],
        "momentum_decay": [Interval(Real, 0, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"})],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "clip_grad_value": [Interval(Real, 0, None, closed="neither"), None],
        "max_norm": [Interval(Real, 0, None, closed="neither"), None],
        "frozen_layers": [list, tuple],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions(_INITS)],
        "dropout": [Interval(Real, 0, 1, closed="left"), list, tuple],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean", list, tuple],
        "activation_params": [dict, list, tuple, None],
        "callbacks": [list, tuple, None],
        "progress": ["boolean"],
        "scoring": [str, callable, list, tuple, dict, None],
        "compute_dtype": [StrOptions({"bfloat16"}), None],
    }

    # -- the network --------------------------------------------------------

    def _hidden_activations(self, n_hidden):
        """The activation of each hidden layer, validated."""
        if isinstance(self.activation, str):
            return [self.activation] * n_hidden
        acts = list(self.activation)
        if len(acts) != n_hidden:
            raise ValueError(
                f"activation has {len(acts)} entries but there are {n_hidden} hidden layers")
        for a in acts:
            if a not in _HIDDEN_ACTIVATIONS:
                raise ValueError(
                    f"activation entries must be among {sorted(_HIDDEN_ACTIVATIONS)}, got {a!r}")
        return acts

    def _layer_pieces(self, n_hidden):
        """Pieces per unit of each weight layer's outputs: maxout_pieces for
        a maxout hidden layer, else 1 (the output layer too). Layer i's
        weights are (units[i], units[i + 1] * pieces[i])."""
        return [self.maxout_pieces if a == "maxout" else 1
                for a in self._hidden_activations(n_hidden)] + [1]

    def _check_maxout(self, n_hidden):
        """What maxout does not combine with, before any work."""
        for act, place in zip(self._hidden_activations(n_hidden),
                              self._batch_norm_placements(n_hidden)):
            if act == "maxout" and place == "before":
                raise ValueError("batch_norm is not supported with maxout layers: it would "
                                 "normalise each piece, not each unit (batch norm 'after' "
                                 "the activation normalises the units)")

    def _dropout_rates(self, n_hidden):
        """The dropout rate of each hidden layer, validated."""
        if isinstance(self.dropout, Real):
            rates = [float(self.dropout)] * n_hidden
        else:
            rates = [float(r) for r in self.dropout]
            if len(rates) != n_hidden:
                raise ValueError(f"dropout has {len(rates)} entries but there are {n_hidden} "
                                 "hidden layers")
        if not all(0.0 <= r < 1.0 for r in rates):
            raise ValueError(f"dropout rates must be in [0, 1), got {self.dropout}")
        if not 0.0 <= float(self.input_dropout) < 1.0:
            raise ValueError(f"input_dropout must be in [0, 1), got {self.input_dropout}")
        if (any(rates) or self.input_dropout) and self.solver == "lbfgs":
            raise ValueError(f"dropout needs {_STOCHASTIC_NAMES}: it makes the loss random, "
                             "which L-BFGS's line search cannot use")
        if self.solver == "lbfgs":
            for name in ("clip_grad_norm", "clip_grad_value", "max_norm"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name} acts on the minibatch steps of "
                                     f"{_STOCHASTIC_NAMES}; L-BFGS takes none")
        if any(self._batch_norm_placements(n_hidden)) and self.solver == "lbfgs":
            raise ValueError(f"batch_norm needs {_STOCHASTIC_NAMES}: its statistics are per "
                             "minibatch")
        return rates

    def _batch_norm_placements(self, n_hidden):
        """Where each hidden layer's batch norm sits: None, 'before' or
        'after' its activation (batch_norm True: 'before' on every layer)."""
        if isinstance(self.batch_norm, (bool, np.bool_)):
            return ["before" if self.batch_norm else None] * n_hidden
        places = list(self.batch_norm)
        if len(places) != n_hidden:
            raise ValueError(f"batch_norm has {len(places)} entries but there are {n_hidden} "
                             "hidden layers")
        out = []
        for p in places:
            if p is None or p is False:
                out.append(None)
            elif p is True or p == "before":
                out.append("before")
            elif p == "after":
                out.append("after")
            else:
                raise ValueError(f"batch_norm entries must be False, True, 'before' or 'after',"
                                 f" got {p!r}")
        return out

    def _layer_activation_params(self, n_hidden):
        """Each hidden layer's activation parameters (a dict, or None)."""
        params = self.activation_params
        if params is None or isinstance(params, dict):
            return [dict(params) if params else None] * n_hidden
        params = list(params)
        if len(params) != n_hidden:
            raise ValueError(f"activation_params has {len(params)} entries but there are "
                             f"{n_hidden} hidden layers")
        for p in params:
            if p is not None and not isinstance(p, dict):
                raise ValueError(f"activation_params entries must be dicts or None, got {p!r}")
        return [dict(p) if p else None for p in params]

    @abstractmethod
    def _output_layer(self):
        """(output activation, loss, loss parameter) of the Network."""

    def _network(self, layer_units, pieces):
        """The Network these parameters describe (fastmlp.network): the
        estimator's scikit-learn parameters translated, layer by layer.

        scikit-learn picks the Glorot factor from `activation` for every
        layer (2 for logistic, else 6); with a per-layer list, from the
        activation the layer feeds. ``batch_norm=True`` normalises every
        hidden layer's product before its activation, whose bias is then
        unused (beta takes its role)."""
        n_hidden = len(layer_units) - 2
        acts = self._hidden_activations(n_hidden)
        rates = [float(self.input_dropout)] + self._dropout_rates(n_hidden)
        places = self._batch_norm_placements(n_hidden) + [None]
        act_params = self._layer_activation_params(n_hidden)
        frozen = set(self._frozen_layers(n_hidden + 1))
        out_act, loss, loss_param = self._output_layer()
        layers = []
        for i in range(n_hidden + 1):
            last = i == n_hidden
            act = out_act if last else acts[i]
            init_act = (self.activation if isinstance(self.activation, str)
                        else acts[min(i, n_hidden - 1)] if acts else "identity")
            kernel_init = self.init
            if self.init == "glorot_uniform" and init_act == "logistic":
                kernel_init = "glorot_uniform_logistic"
            params = None if last else act_params[i]
            if act == "maxout":
                params = {**(params or {}), "pieces": int(pieces[i])}
            layers.append(Layer(
                layer_units[i + 1], act, activation_params=params, dropout=rates[i],
                batch_norm=places[i], bn_momentum=_BN_MOMENTUM,
                bn_epsilon=_BN_EPSILON, kernel_initializer=kernel_init,
                bias_initializer="glorot_uniform" if self.init == "glorot_uniform" else "zeros",
                max_norm=self.max_norm, frozen=i in frozen, use_bias=places[i] != "before"))
        return Network(layer_units[0], layers, loss=loss, loss_param=loss_param,
                       alpha=self.alpha, penalty=self.penalty, l1_ratio=self.l1_ratio,
                       clip_grad_norm=self.clip_grad_norm, clip_grad_value=self.clip_grad_value,
                       compute_dtype=self.compute_dtype)

    def _fitted_network(self):
        """The fitted model's Network: the one its fit built, or (a model
        unpickled from an older fastmlp, or from_sklearn) the one its
        parameters and fitted shapes describe."""
        network = self.__dict__.get("network_")
        if network is not None:
            compute_dtype = getattr(self, "compute_dtype", None)
            if network.compute_dtype != compute_dtype:
                # What the products multiply may change between fit and
                # predict (set_params): prediction follows the parameter.
                network = network.replace(compute_dtype=compute_dtype)
            return network
        units, pieces = _fitted_units(self.coefs_)
        network = self._network(units, pieces)
        if getattr(self, "bn_gammas_", None) is None:
            network = network.replace(layers=[
                dataclasses.replace(layer, batch_norm=None, use_bias=True)
                for layer in network.layers])
        return network

    def _frozen_layers(self, n_layers):
        """The frozen weight layers' indices, validated (negative ones count
        from the output layer, as Python's)."""
        frozen = []
        for layer in self.frozen_layers:
            if isinstance(layer, (bool, np.bool_)) or not isinstance(layer, Integral):
                raise ValueError(f"frozen_layers holds weight-layer indices (int), got {layer!r}")
            if not -n_layers <= layer < n_layers:
                raise ValueError(f"frozen_layers index {layer} is out of range for "
                                 f"{n_layers} weight layers")
            frozen.append(int(layer) % n_layers)
        if len(set(frozen)) == n_layers:
            raise ValueError("frozen_layers freezes every weight layer: nothing would train")
        return sorted(set(frozen))

    def _input_dtypes(self):
        """The float dtypes X is trained in: its own (float64 or float32), or
        float32 with bfloat16 products, whose master weights are float32."""
        return np.float32 if self.compute_dtype == "bfloat16" else (np.float64, np.float32)

    def _weights_dtype(self):
        """The dtype incremental fits keep: the weights', float32 with
        bfloat16 products."""
        return np.dtype(np.float32) if self.compute_dtype == "bfloat16" else self.coefs_[0].dtype

    def _bn_arrays(self):
        """Batch norm's arrays in the engine's order (4 per hidden layer)."""
        if getattr(self, "bn_gammas_", None) is None:
            return None
        return [a for group in zip(self.bn_gammas_, self.bn_betas_, self.bn_running_means_,
                                   self.bn_running_vars_) for a in group]

    def _prediction_params(self, dtype, weights=None):
        """(coefs, intercepts) for prediction: batch norm folded
        (Network.fold).

        `weights` is a :func:`_weights_snapshot` (default: taken now). The
        folded arrays are copies, made per call (the rule on derived
        copies, above _publish_weights)."""
        coefs, intercepts, bn = _weights_snapshot(self) if weights is None else weights
        flat_bn = [] if bn is None else [a for group in zip(*bn) for a in group]
        return self._fitted_network().fold(coefs, intercepts, flat_bn, dtype)

    def _initialize(self, y, layer_units, dtype, network):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        # scikit-learn's draws, from the stream that goes on to shuffle.
        coefs, intercepts, bn = network.init_params(self._random_state, dtype)
        _publish_weights(self, coefs, intercepts,
                         [bn[0::4], bn[1::4], bn[2::4], bn[3::4]] if bn else None)
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [i.copy() for i in self.intercepts_]
        self._best_bn = [a.copy() for a in bn] if bn else None
        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None
        self.validation_loss_curve_ = None
        self.history_ = {key: [] for key in FIRST_COLUMNS}

    # -- fitting ------------------------------------------------------------

    def _fit(self, X, y, sample_weight=None, incremental=False, validation=None):
        hidden_layer_sizes = check_layer_sizes(self.hidden_layer_sizes)
        if np.any(np.array(hidden_layer_sizes) <= 0):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % hidden_layer_sizes)
        self._hidden_activations(len(hidden_layer_sizes))  # validate before any work
        self._check_maxout(len(hidden_layer_sizes))
        check_callbacks(self.callbacks)
        use_dropout = any(self._dropout_rates(len(hidden_layer_sizes))) or bool(
            self.input_dropout)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)

        # Shuffled dense rows are checked for NaN and infinity by the first
        # epoch's gather (the pass that reads every row anyway; a pass of its
        # own cost ~13 ms per MNIST-sized partial_fit) instead of here. If it
        # finds one, the estimator is put back as it was and scikit-learn's
        # own check raises its error.
        gather_checks = _gather_checks_finite(self, X)
        given, state_before = (X, y), (self.__dict__.copy() if gather_checks else None)
        X, y = self._validate_input(X, y, incremental, reset=first_pass,
                                    ensure_all_finite=not gather_checks)
        if gather_checks and sp.issparse(X):  # a sparse DataFrame: no gather after all
            _assert_all_finite(X.data, input_name="X", estimator_name=type(self).__name__)
            gather_checks = False
        if incremental and not first_pass:
            # partial_fit continues in the dtype of the model's weights (as
            # scikit-learn's keep theirs): a float32 batch for a float64 model
            # is converted to float64, and the reverse; bfloat16 products have
            # float32 weights (converted, with the optimizer's state, if the
            # model was fitted before compute_dtype was set).
            X = X.astype(self._weights_dtype(), copy=False)
        if self.compute_dtype == "bfloat16":
            _warn_if_bf16_emulated()
        if sp.issparse(X) and self.input_dropout:
            raise ValueError("input_dropout drops input values, which sparse X does not "
                             "store: pass dense X, or input_dropout=0")
        if sp.issparse(X):
            # The engine multiplies CSR rows by the first layer's weights
            # directly (sparse x dense in C): X is never densified.
            X = X.tocsr()
        n_samples, n_features = X.shape
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        layer_units = [n_features] + hidden_layer_sizes + [self.n_outputs_]
        pieces = self._layer_pieces(len(hidden_layer_sizes))
        n_params = check_network_size(layer_units, X.dtype.itemsize, pieces)
        self._hidden_sizes = hidden_layer_sizes
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self.out_activation_ = self._out_activation_name(y)
        # The network, built once per fit and handed down.
        network = self._network(layer_units, pieces)
        if self.__dict__.get("network_") == network:  # the same: keep it (and its predictor)
            network = self.network_
        self.network_ = network
        if first_pass:
            try:
                self._initialize(y, layer_units, X.dtype, network)
            except MemoryError as exc:
                raise MemoryError(
                    f"hidden_layer_sizes={self.hidden_layer_sizes!r}: cannot allocate the "
                    f"{n_params} weights ({n_params * X.dtype.itemsize / 2**30:.3g} GiB) of a "
                    f"network with layers {layer_units}") from exc
        elif [c.shape for c in self.coefs_] != [
                (fan_in, fan_out * k)
                for fan_in, fan_out, k in zip(layer_units[:-1], layer_units[1:], pieces)]:
            raise ValueError(
                "The network's shape changed since the previous fit (hidden_layer_sizes, "
                "maxout layers or the number of features/outputs); refit without warm_start.")
        Y = np.ascontiguousarray(y, dtype=X.dtype)
        if validation is not None:  # fit's (X_val, y_val, sample_weight_val)
            validation = self._prepare_validation(validation, X.dtype)
        # The engine updates the weights in place: they must be writeable and
        # C-ordered (they may not be after unpickling from a read-only memmap).
        if len(network.bn_layers) != len(getattr(self, "bn_gammas_", None) or []):
            raise ValueError("batch_norm changed since the previous fit; refit without "
                             "warm_start")
        _publish_weights(
            self, [np.require(c, X.dtype, ["C", "W"]) for c in self.coefs_],
            [np.require(b, X.dtype, ["C", "W"]) for b in self.intercepts_],
            [[np.require(a, X.dtype, ["C", "W"]) for a in getattr(self, name)]
             for name in _BN_ATTRS] if network.bn_layers else None)

        if getattr(self, "history_", None) is None:  # from_sklearn, an older pickle
            self.history_ = {key: [] for key in FIRST_COLUMNS}
        if self.solver in _STOCHASTIC_SOLVERS:
            try:
                self._fit_stochastic(X, Y, sample_weight, incremental, y, validation,
                                     use_dropout, check_finite=gather_checks)
            except NonFiniteInput:
                self.__dict__.clear()
                self.__dict__.update(state_before)
                self._validate_input(*given, incremental, reset=first_pass)  # raises
                raise
        else:
            clock = _Clock(self.history_)
            self._fit_lbfgs(X, Y, sample_weight)
            # One row: L-BFGS's iterations are not epochs.
            logs = {"epoch": len(self.history_["epoch"]) + 1, "loss": self.loss_,
                    "learning_rate": np.nan, "time": clock()}
            if validation is not None:
                X_val, y_val, Y_val, sw_val = validation
                logs["validation_loss"] = self._validation_loss(X_val, Y_val, sw_val)
                metrics = validation_metrics(self, validation_scorers(self, self.scoring),
                                             X_val, y_val, sw_val)
                logs.update(metrics)
                self.validation_scores_ = [next(iter(metrics.values()))]
                self.validation_loss_curve_ = [logs["validation_loss"]]
            append_row(self.history_, logs)

        if not all(np.isfinite(w).all() for w in self.coefs_ + self.intercepts_):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed."
            )
        self._predictor()  # built here, so that predicting leaves __dict__ as it is
        return self

    @staticmethod
    def _validation_arguments(validation_data, X_val, y_val, sample_weight_val):
        """fit's validation arguments as one (X_val, y_val, sample_weight_val)
        triple, or None: X_val/y_val (scikit-learn's convention, from
        HistGradientBoosting*) or their alias validation_data, never both."""
        if validation_data is not None:
            if X_val is not None or y_val is not None:
                raise ValueError("pass the validation data either as X_val and y_val or as "
                                 "validation_data=(X_val, y_val), not both")
            try:
                X_val, y_val = validation_data
            except (TypeError, ValueError):
                raise ValueError("validation_data must be a pair (X_val, y_val)") from None
        if X_val is None and y_val is None:
            if sample_weight_val is not None:
                raise ValueError("sample_weight_val is provided, but X_val and y_val were not")
            return None
        if y_val is None:
            raise ValueError("X_val is provided, but y_val was not provided.")
        if X_val is None:
            raise ValueError("y_val is provided, but X_val was not provided.")
        return X_val, y_val, sample_weight_val

    def _prepare_validation(self, validation, dtype):
        """(X_val, y_val as given, y_val as the engine's target matrix,
        sample_weight_val or None) from fit's validation triple."""
        X_val, y_val, sample_weight_val = validation
        check_sparse_structure(X_val, "X_val")
        X_val = validate_data(self, X_val, accept_sparse=["csr", "csc"], dtype=dtype, reset=False)
        y_val = check_array(y_val, ensure_2d=False, dtype=None, input_name="y_val")
        check_consistent_length(X_val, y_val)
        if X_val.shape[0] < 1:
            raise ValueError("the validation data (X_val) must hold at least one sample")
        Y_val = self._target_matrix(y_val, dtype)
        if Y_val.shape[1] != self.n_outputs_:
            raise ValueError(f"y_val has {Y_val.shape[1]} outputs, the training targets "
                             f"{self.n_outputs_}")
        X_val = X_val.tocsr() if sp.issparse(X_val) else np.ascontiguousarray(X_val)
        if sample_weight_val is not None:
            sample_weight_val = _check_sample_weight(sample_weight_val, X_val, dtype=dtype)
        return X_val, y_val, Y_val, sample_weight_val

    def _validation_loss(self, X_val, Y_val, sample_weight=None):
        """Loss on validation data, as loss_curve_ measures the training loss
        (the penalty on the trained weights, the data term on the network as
        it predicts: batch norm folded, no dropout)."""
        network = self._fitted_network()
        engine = network.for_prediction().replace(alpha=0.0).engine(
            min(X_val.shape[0], _PREDICT_CHUNK), X_val.dtype)
        coefs, intercepts = self._prediction_params(X_val.dtype)
        data_loss = engine.loss(coefs, intercepts, X_val, Y_val, sample_weight)
        weight = X_val.shape[0] if sample_weight is None else float(np.sum(sample_weight))
        return data_loss + network.penalty_value(self.coefs_, self.intercepts_, weight)

    def _fit_lbfgs(self, X, Y, sample_weight):
        params = self.coefs_ + self.intercepts_
        packed = np.concatenate([p.ravel() for p in params]).astype(np.float64)
        iprint = 1 if self.verbose is True or self.verbose >= 1 else -1
        # One engine (workspace of all rows) for every evaluation of this fit.
        self._lbfgs_engine = self.network_.for_prediction().engine(X.shape[0], X.dtype)
        try:
            opt_res = scipy.optimize.minimize(
                self._loss_grad_lbfgs, packed, method="L-BFGS-B", jac=True,
                args=(X, Y, sample_weight, None, None, None, None),
                options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol,
                         **_lbfgs_iprint(iprint)},
            )
        finally:
            del self._lbfgs_engine
        self.n_iter_ = _check_optimize_result("lbfgs", opt_res, self.max_iter)
        self.loss_ = opt_res.fun
        self._unpack(opt_res.x)

    def _unpack(self, packed):
        """Copy the flat parameter vector (coefs then intercepts, scikit-learn's
        order) into coefs_ and intercepts_, in place."""
        coefs, intercepts, _, _ = self._fitted_network().unflatten(packed)
        for p, v in zip(self.coefs_ + self.intercepts_, coefs + intercepts):
            p[...] = v

    def _loss_grad_lbfgs(self, packed_coef_inter, X, y, sample_weight, activations=None,
                         deltas=None, coef_grads=None, intercept_grads=None):
        """Loss and flat gradient at the packed parameters: L-BFGS's objective.

        scikit-learn's private method of the same name and signature (its
        tests call it): the parameters are copied into ``coefs_`` and
        ``intercepts_``, then one C call computes the full-batch loss and
        gradient.

        Parameters
        ----------
        packed_coef_inter : ndarray of shape (n_params,)
            Coefficients then intercepts of every layer, flattened.
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Validated input.
        y : ndarray of shape (n_samples, n_outputs)
            Targets as the network sees them (binarized labels).
        sample_weight : ndarray of shape (n_samples,) or None
            Sample weights.
        activations, deltas : list, default=None
            Unused (scikit-learn's work arrays; the C engine has its own).
        coef_grads, intercept_grads : list of ndarray, default=None
            When given, filled with the gradient of each layer's parameters.

        Returns
        -------
        loss : float
            Loss including the L2 term.
        grad : ndarray of shape (n_params,)
            Its gradient, float64.
        """
        self._unpack(packed_coef_inter)
        dtype = self.coefs_[0].dtype
        if sp.issparse(X):
            X = X.tocsr().astype(dtype, copy=False)
        else:
            X = np.ascontiguousarray(X, dtype=dtype)
        Y = np.ascontiguousarray(np.asarray(y, dtype=dtype).reshape(X.shape[0], -1))
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(sample_weight, dtype=dtype)
        engine = getattr(self, "_lbfgs_engine", None)
        if engine is None:  # called outside fit (scikit-learn's test_gradient does)
            engine = self._fitted_network().for_prediction().engine(X.shape[0], dtype)
        loss, grad = engine.loss_grad(self.coefs_, self.intercepts_, X, Y, sample_weight)
        grad = grad.astype(np.float64)
        # Frozen layers: a zero gradient keeps L-BFGS's steps off them.
        network = self._fitted_network()
        views = network.unflatten(grad)
        for i, layer in enumerate(network.layers):
            if layer.frozen:
                views[0][i][...] = 0.0
                views[1][i][...] = 0.0
        if coef_grads is not None and intercept_grads is not None:
            for g, v in zip(coef_grads + intercept_grads, views[0] + views[1]):
                g[...] = v
        return loss, grad

    def _fit_stochastic(self, X, Y, sample_weight, incremental, y, validation=None,
                        use_dropout=False, check_finite=False):
        """Epochs of minibatch training, one C call each. Y is y as a float
        matrix of X's dtype; y (as validated) stratifies the validation split
        exactly as scikit-learn does. With `check_finite`, the first epoch's
        gather checks X's rows (NonFiniteInput: the state is restored to the
        epoch's start before it propagates)."""
        if not incremental or not hasattr(self, "_optimizer"):
            # scikit-learn's optimizer (velocities, or moments and step
            # count), in its parameter order, kept across partial_fit.
            self._optimizer = _new_optimizer(self, self.network_.n_params, X.dtype)
        opt = self._optimizer
        # The engine updates the optimizer state in place: it must be writeable
        # (it is not after loading with joblib's mmap_mode="r") and of the
        # weights' dtype (partial_fit may have converted them).
        opt.writeable(X.dtype)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        X_train, Y_train, sw_train, val = self._split_validation(X, Y, sample_weight, y,
                                                                 validation)
        scorers = validation_scorers(self, self.scoring) if val is not None else None
        n_samples = X_train.shape[0]
        sample_idx = np.arange(n_samples, dtype=int)
        batch_size = self._batch_size(n_samples)
        engine = self.network_.engine(batch_size, X.dtype,
                                      gather_rows=self.shuffle and not sp.issparse(X_train))
        callbacks = CallbackList(self.callbacks)
        if not incremental or not self.history_["epoch"]:
            callbacks.on_train_begin(self, {"epoch": len(self.history_["epoch"])})
        clock = _Clock(self.history_)
        bar = self._progress_bar(1 if incremental else self.max_iter)
        snapshot, logs = None, {}
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                # What Ctrl-C during this epoch restores: never half an epoch.
                snapshot = self._training_state(into=snapshot)
                epoch = len(self.history_["epoch"]) + 1
                callbacks.on_epoch_begin(self, {"epoch": epoch,
                                                "learning_rate": opt.learning_rate})
                learning_rate = opt.learning_rate
                order = None
                if self.shuffle:
                    sample_idx = shuffle(sample_idx, random_state=self._random_state)
                    order = sample_idx
                # Dropout masks come from a seed drawn only when dropout is on,
                # so that without it the random stream is scikit-learn's.
                seed = (int(self._random_state.randint(np.iinfo(np.int64).max, dtype=np.int64))
                        if use_dropout else 0)
                try:
                    loss_sum = engine.epoch(self.coefs_, self.intercepts_, X_train, Y_train,
                                            sw_train, order, batch_size, opt, seed,
                                            self._bn_arrays(),
                                            check_finite=check_finite and self.n_iter_ == 0)
                except NonFiniteInput:
                    self._restore_training_state(snapshot)
                    raise
                self.n_iter_ += 1
                self.t_ += n_samples
                logs = self._end_epoch(loss_sum / n_samples, val, scorers, epoch,
                                       learning_rate, clock())
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix({k: v for k, v in logs.items() if k != "epoch"})
                if callbacks.on_epoch_end(self, logs):
                    if self.verbose:
                        print("Training stopped by a callback.")
                    break
                if self._stalled() or incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet." % self.max_iter,
                        ConvergenceWarning)
        except KeyboardInterrupt:
            if snapshot is not None:
                self._restore_training_state(snapshot)
            warnings.warn("Training interrupted by user; the model keeps the weights of the "
                          f"last completed epoch ({self.n_iter_} this call).")
        finally:
            if bar is not None:
                bar.close()
        if not incremental:
            callbacks.on_train_end(self, logs)
        if self.early_stopping:
            best = getattr(self, "_best_bn", None)
            _publish_weights(self, self._best_coefs, self._best_intercepts,
                             [best[0::4], best[1::4], best[2::4], best[3::4]]
                             if best is not None else None)

    def _batch_size(self, n_samples):
        """scikit-learn's minibatch size for n_samples training rows."""
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than "
                          "sample size. It is going to be clipped")
        return int(np.clip(self.batch_size, 1, n_samples))

    def _split_validation(self, X, Y, sample_weight, y, validation):
        """(X_train, Y_train, sw_train, val): the explicit validation data, or
        early stopping's held-out split (scikit-learn's, stratified for one
        output), or none; val is (X_val, y_val, Y_val, sw_val) or None
        (sw_val: sample_weight_val, or the split's share of sample_weight)."""
        if validation is not None:
            val = validation
        elif self.early_stopping:
            should_stratify = is_classifier(self) and self.n_outputs_ == 1
            stratify = y if should_stratify else None
            arrays = (X, Y) if sample_weight is None else (X, Y, sample_weight)
            parts = train_test_split(*arrays, random_state=self._random_state,
                                     test_size=self.validation_fraction, stratify=stratify)
            X, X_val, Y, Y_val = parts[:4]
            sw_val = None
            if sample_weight is not None:
                sample_weight, sw_val = parts[4:]
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset.")
            if not sp.issparse(X):
                X = np.ascontiguousarray(X)
            Y = np.ascontiguousarray(Y)
            val = (X_val, self._validation_targets(Y_val), Y_val, sw_val)
        else:
            return X, Y, sample_weight, None
        if getattr(self, "validation_loss_curve_", None) is None:
            self.validation_loss_curve_ = []
        if getattr(self, "validation_scores_", None) is None:
            self.validation_scores_ = []
        return X, Y, sample_weight, val

    def _end_epoch(self, loss, val, scorers, epoch, learning_rate, elapsed):
        """scikit-learn's bookkeeping after an epoch (loss_curve_, validation
        scores, the stopping counters, the learning-rate schedule) and the
        epoch's row of history_, returned as the callbacks' logs."""
        self.loss_ = loss
        self.loss_curve_.append(loss)
        if self.verbose:
            print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
        logs = {"epoch": epoch, "loss": loss, "learning_rate": learning_rate,
                "time": elapsed}
        if val is not None:
            X_val, y_val, Y_val, sw_val = val
            logs["validation_loss"] = self._validation_loss(X_val, Y_val, sw_val)
            metrics = validation_metrics(self, scorers, X_val, y_val, sw_val)
            logs.update(metrics)
            self.validation_loss_curve_.append(logs["validation_loss"])
            # The first metric is scikit-learn's validation score.
            self.validation_scores_.append(next(iter(metrics.values())))
        self._update_no_improvement_count()
        self._optimizer.iteration_ends(self.t_)
        append_row(self.history_, logs)
        return logs

    def _stalled(self):
        """scikit-learn's n_iter_no_change rule: True to stop (the
        optimizer decides, 'adaptive' lowering its rate instead)."""
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        if self.early_stopping:
            msg = ("Validation score did not improve more than tol=%f for %d consecutive "
                   "epochs." % (self.tol, self.n_iter_no_change))
        else:
            msg = ("Training loss did not improve more than tol=%f for %d consecutive "
                   "epochs." % (self.tol, self.n_iter_no_change))
        if self._optimizer.trigger_stopping(msg, self.verbose):
            return True
        self._no_improvement_count = 0
        return False

    # -- what callbacks use --------------------------------------------------

    def get_learning_rate(self):
        """The learning rate the next epoch will use.

        Returns
        -------
        learning_rate : float
            The optimizer's current learning rate.
        """
        check_is_fitted(self, "_optimizer")
        return float(self._optimizer.learning_rate)

    @property
    def optimizer_(self):
        """The stochastic solver's state (a :mod:`fastmlp.optimizers` object).

        Its step counter ``t``, learning rate and moment arrays (``state``,
        in the network's flat parameter layout, :meth:`fastmlp.network.Network.unflatten`)
        are what ``partial_fit`` and ``warm_start`` continue from. The same
        object scikit-learn keeps as ``_optimizer``; absent (AttributeError)
        before the first fit and for 'lbfgs'.
        """
        check_is_fitted(self)
        if "_optimizer" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__} keeps no optimizer state with "
                                 f"solver='lbfgs': optimizer_ is the stochastic solvers'")
        return self._optimizer

    def set_learning_rate(self, learning_rate):
        """Set the learning rate of the following epochs (from a callback).

        A schedule that computes the rate from the epoch ('invscaling')
        replaces it after the next epoch; 'constant' and 'adaptive' keep it
        (the latter divides it by 5 on a stall, as scikit-learn does).

        Parameters
        ----------
        learning_rate : float
            A finite number >= 0 (0 is legal, as in torch: the steps then
            leave the weights as they are).
        """
        check_is_fitted(self, "_optimizer")
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, Real) or not (
                np.isfinite(learning_rate) and learning_rate >= 0):
            raise ValueError(f"learning_rate must be a finite number >= 0, got "
                             f"{learning_rate!r}")
        self._optimizer.learning_rate = float(learning_rate)

    def get_weights(self):
        """Copies of the network's parameters (Keras's get_weights).

        Returns
        -------
        weights : list of ndarray
            ``coefs_``, then ``intercepts_``, then with batch normalisation
            each hidden layer's gamma, beta, running mean and running
            variance; copies, which :meth:`set_weights` puts back.
        """
        self._check_fitted()
        return [a.copy() for a in self._weight_arrays()]

    def set_weights(self, weights):
        """Put back parameters that :meth:`get_weights` returned (in place).

        Parameters
        ----------
        weights : list of ndarray
            Arrays of the shapes :meth:`get_weights` gives, in its order.
        """
        self._check_fitted()
        targets = self._weight_arrays()
        if len(weights) != len(targets) or any(
                np.shape(w) != t.shape for w, t in zip(weights, targets)):
            raise ValueError("weights must be what get_weights() returns: "
                             f"{len(targets)} arrays of shapes {[t.shape for t in targets]}")
        for dst, src in zip(targets, weights):
            dst[...] = src

    def _weight_arrays(self):
        return self.coefs_ + self.intercepts_ + (self._bn_arrays() or [])

    def _progress_bar(self, total):
        """A tqdm bar over epochs when progress=True (tqdm is optional)."""
        if not self.progress:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            raise ImportError("progress=True draws its bar with tqdm, which is not installed: "
                              "pip install tqdm (or fastmlp[progress])") from None
        return tqdm(total=total, desc=type(self).__name__, unit="epoch", leave=False)

    def _training_state(self, into=None):
        """Copies of everything an epoch changes (weights, batch norm's
        arrays, the optimizer's state arrays and counters), for
        _restore_training_state; into the arrays of a previous state `into`
        when given, so that a fit keeps one set of copies rather than
        allocating (and briefly holding two of) them every epoch."""
        opt = self._optimizer
        sources = self.coefs_ + self.intercepts_ + (self._bn_arrays() or []) + opt.state
        if into is None:
            copies = [a.copy() for a in sources]
        else:
            copies = into[0]
            for dst, src in zip(copies, sources):
                np.copyto(dst, src)
        return copies, opt.counters()

    def _restore_training_state(self, state):
        copies, counters = state
        opt = self._optimizer
        targets = self.coefs_ + self.intercepts_ + (self._bn_arrays() or []) + opt.state
        for dst, src in zip(targets, copies):
            dst[...] = src
        opt.set_counters(counters)

    def _update_no_improvement_count(self):
        """scikit-learn's counter of epochs without improvement, on the
        validation score with early stopping (the first metric of scoring),
        else on the training loss; keeps the best epoch's weights."""
        if self.early_stopping:
            if self.verbose:
                print("Validation score: %f" % self.validation_scores_[-1])
            last_valid_score = self.validation_scores_[-1]
            if last_valid_score < (self.best_validation_score_ + self.tol):
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last_valid_score > self.best_validation_score_:
                self.best_validation_score_ = last_valid_score
                self._best_coefs = [c.copy() for c in self.coefs_]
                self._best_intercepts = [i.copy() for i in self.intercepts_]
                if self._bn_arrays() is not None:
                    self._best_bn = [a.copy() for a in self._bn_arrays()]
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    # -- prediction ---------------------------------------------------------

    def _predictor(self):
        """The C forward pass over the prediction weights (MLPPredictor).

        Built from one snapshot of the weight lists (_weights_snapshot), so
        that a concurrent refit gives the old network or the new one, or an
        error, never a mix. It references the parameter arrays themselves,
        so values changed in place (by an epoch, set_weights, a user) are
        seen, and nothing derived from them is kept (the rule above
        _publish_weights): it is
        kept in ``_cached_predictor`` while ``coefs_`` and ``intercepts_``
        hold the same array objects and the parameters it was described with
        are unchanged. With batch norm the folded weights are copies, so
        those models build one per call.
        """
        weights = _weights_snapshot(self)
        coefs, intercepts, bn = weights
        # What the predictor's description depends on: the fitted network
        # (network_, replaced by every fit) and compute_dtype, which
        # prediction follows (set_params after fit).
        description = (getattr(self, "compute_dtype", None), id(self.__dict__.get("network_")))
        cached = self.__dict__.get("_cached_predictor")
        if (cached is not None and bn is None and cached[1] == description
                and len(cached[0]) == len(coefs) + len(intercepts)
                and all(a is b for a, b in zip(cached[0], coefs + intercepts))):
            return cached[2]
        n_outputs = self.__dict__.get("n_outputs_")
        if (not coefs or len(coefs) != len(intercepts) or coefs[-1].ndim != 2
                or (n_outputs is not None and coefs[-1].shape[1] != n_outputs)):
            raise ValueError(
                "coefs_ and intercepts_ do not form a network of the model's "
                f"{n_outputs} outputs (were they replaced while predicting, e.g. by a "
                "concurrent fit?)")
        network = self._fitted_network()
        prediction_coefs, prediction_intercepts = self._prediction_params(coefs[0].dtype,
                                                                          weights)
        predictor = network.predictor(prediction_coefs, prediction_intercepts)
        sources = coefs + intercepts
        if all(a is b for a, b in zip(prediction_coefs + prediction_intercepts, sources)):
            self._cached_predictor = (sources, description, predictor)
        return predictor

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_cached_predictor", None)  # C pointers: rebuilt on first use
        return state

    def __setstate__(self, state):
        if isinstance(state.get("_optimizer"), dict):  # pickled by an older fastmlp
            state = {**state, "_optimizer": _optimizer_from_legacy(state)}
        # Parameters added since the model was saved take their defaults.
        defaults = {name: p.default for name, p in
                    inspect.signature(type(self).__init__).parameters.items() if name != "self"}
        state = {**defaults, **state}
        super().__setstate__(state)
        if "coefs_" in state and "network_" not in state:
            # Pickled before the network was one description: the one its
            # parameters and fitted shapes describe.
            self.network_ = self._fitted_network()

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coefs_")

    def _check_fitted(self):
        """check_is_fitted without its cost (~7 us of tag lookups) when fitted."""
        if not hasattr(self, "coefs_"):
            check_is_fitted(self)

    def _forward_pass_fast(self, X, check_input=True, n_layers=None):
        """The output layer's activations for X (one C call), or those of
        the layer after the first `n_layers` layers of weights."""
        if check_input:
            X = self._validate_for_predict(X)
        predictor = self._predictor()
        dtype = predictor.dtype
        if sp.issparse(X):
            X = X.tocsr().astype(dtype, copy=False)
        elif X.dtype != dtype or not X.flags.c_contiguous:
            X = np.ascontiguousarray(X, dtype=dtype)
        return predictor.predict(X, n_layers)

    @property
    def _n_features_out(self):
        """Width of what transform gives: the last hidden layer's units
        (ClassNamePrefixFeaturesOutMixin's names count; AttributeError when
        not fitted, which check_is_fitted reads)."""
        if not hasattr(self, "coefs_"):
            raise AttributeError("_n_features_out")
        return self.coefs_[-1].shape[0]

    def fit_transform(self, X, y, **fit_params):
        """Fit the network to X and y, then give the activations of its last hidden layer.

        ``fit(X, y, **fit_params).transform(X)``: what a Pipeline calls on an
        intermediate step. Unlike an unsupervised transformer, the network
        needs the targets `y`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets, as ``fit`` takes them.
        **fit_params : dict
            The other arguments of ``fit`` (sample_weight, X_val, y_val, ...).

        Returns
        -------
        activations : ndarray of shape (n_samples, hidden_layer_sizes[-1])
            The last hidden layer's outputs (a DataFrame with ``set_output``).
        """
        return self.fit(X, y, **fit_params).transform(X)

    def transform(self, X, layer=-1):
        """The activations of a hidden layer: the network as features.

        The forward pass of ``predict`` (batch normalisation folded into the
        weights, no dropout), stopped in C after hidden layer `layer`, so a
        fitted network can feed another model (e.g. as a step of a
        Pipeline). The default, the last hidden layer, is the transformer's
        output: its columns are named by ``get_feature_names_out()``
        ("mlpclassifier0", "mlpclassifier1", ...: scikit-learn's names for
        the features a transformer makes, as PCA's "pca0") and
        ``set_output(transform="pandas")`` gives a DataFrame of them. Another
        layer's activations come as an array only (the output container's
        columns are the last hidden layer's).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        layer : int, default=-1
            Which hidden layer, indexed as ``hidden_layer_sizes`` (0 is the
            first; negative counts from the last, -1 being the last hidden
            layer).

        Returns
        -------
        activations : ndarray of shape (n_samples, hidden_layer_sizes[layer])
            That layer's outputs after its activation, in the model's dtype
            (for the last hidden layer, a DataFrame when ``set_output``
            asks for one).
        """
        self._check_fitted()
        n_hidden = len(self.coefs_) - 1
        if isinstance(layer, bool) or not isinstance(layer, Integral):
            raise TypeError(f"layer must be an int, got {layer!r}")
        if not -n_hidden <= layer < n_hidden:
            raise ValueError(f"layer must be in [{-n_hidden}, {n_hidden - 1}] (the model has "
                             f"{n_hidden} hidden layers), got {layer}")
        if layer % n_hidden != n_hidden - 1:
            container = getattr(self, "_sklearn_output_config", {}).get(
                "transform", get_config()["transform_output"])
            if container != "default":
                raise ValueError(
                    f"transform(X, layer={layer}) gives hidden layer {layer % n_hidden}'s "
                    f"activations, but the output is set to {container!r}, whose columns "
                    "(get_feature_names_out) are the last hidden layer's; use "
                    "set_output(transform='default') for the other layers")
        index = layer % n_hidden
        h = self._forward_pass_fast(X, n_layers=index + 1)
        network = self._fitted_network()
        if network.layers[index].batch_norm == "after":
            # Folded into the next layer's weights for predict: applied here.
            k = network.bn_layers.index(index)
            gamma, beta, mean, var = self._bn_arrays()[4 * k:4 * k + 4]
            scale = gamma / np.sqrt(var + network.layers[index].bn_epsilon)
            h = (h * scale + (beta - mean * scale)).astype(h.dtype, copy=False)
        return h

    def summary(self):
        """Print and return a table of the fitted network, as Keras's summary.

        One row per layer: units, activation, dropout rate, batch
        normalisation and parameter count (weights and biases; with batch
        normalisation also its scale and shift, while its running mean and
        variance are counted apart as statistics, not trained).

        Returns
        -------
        table : str
            The table that was printed.
        """
        from fastmlp._inspect import summary_table

        self._check_fitted()
        table = summary_table(self)
        print(table)
        return table

    def _validate_for_predict(self, X):
        """validate_data for prediction, with a fast path for the common case.

        A float32/float64 ndarray of the fitted width, from a model fitted
        without feature names, needs only the finiteness check (a few
        microseconds, where validate_data's generality costs ~60 for one
        row); everything else goes through scikit-learn's validation, whose
        messages the fast path's failures also come from.
        """
        if (type(X) is np.ndarray and X.ndim == 2 and X.shape[0] > 0
                and X.dtype in (np.float32, np.float64)
                and X.shape[1] == getattr(self, "n_features_in_", -1)
                and not hasattr(self, "feature_names_in_") and np.isfinite(X).all()):
            return X
        check_sparse_structure(X)
        return validate_data(self, X, accept_sparse=["csr", "csc"],
                             dtype=(np.float64, np.float32), reset=False)

    def _score_with_function(self, X, y, sample_weight, score_function):
        """Score without input validation (keeps feature names out of it)."""
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return score_function(y, y_pred, sample_weight=sample_weight)

    def to_sklearn(self):
        """This fitted model as a scikit-learn MLP with the same weights.

        Returns
        -------
        sklearn_estimator : sklearn.neural_network.MLPClassifier or MLPRegressor
            Fitted; batch normalisation is folded into its weights.
        """
        from fastmlp._convert import to_sklearn

        return to_sklearn(self)

    def to_keras(self):
        """This fitted model as a ``fastmlp.keras`` Sequential model, same weights.

        Returns
        -------
        model : fastmlp.keras.Sequential
            Its layers, weights and (for the stochastic solvers) compiled
            optimizer and loss; see :func:`fastmlp.to_keras`.
        """
        from fastmlp._convert import to_keras

        return to_keras(self)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                "%s is not stochastic." % self.solver)
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # transform() gives hidden activations, in the model's dtype.
        tags.transformer_tags = TransformerTags(preserves_dtype=["float64", "float32"])
        return tags


# Derived copies of the weights (packed in bfloat16, folded with batch
# norm's statistics, converted to another dtype): none outlives the call
# that makes it. Every C call that multiplies by the weights in bfloat16 packs
# them itself (an epoch at its start and after each step, a loss or
# validation loss, each predict), batch norm is folded per predict and
# validation-loss call, and a cached MLPPredictor holds only references to the
# live arrays. So no write to the weights, by whatever door (an optimizer
# step, set_weights, assignment or an in-place edit of coefs_ such as
# ``coefs_[0][...] = x``, a callback's or early stopping's restore, Ctrl-C,
# warm_start, partial_fit, unpickling), can leave a stale copy to be used.
# The price: a bfloat16 predict call reads the float32 weights once to pack
# them (amortised over its rows). A new cache of a derived copy must be keyed
# on something every write changes; none cheap and exact exists for in-place
# edits, hence this rule.

_BN_ATTRS = ("bn_gammas_", "bn_betas_", "bn_running_means_", "bn_running_vars_")


def _publish_weights(est, coefs, intercepts, bn=None):
    """Give the model new weight lists (coefs, intercepts and batch norm's 4
    lists, or None) in one step, a single dict update (atomic under the GIL):
    a concurrent predict sees the old network or the new one, never a
    half-built or mixed one."""
    new = {"coefs_": list(coefs), "intercepts_": list(intercepts)}
    new.update(zip(_BN_ATTRS, [None] * 4 if bn is None else [list(a) for a in bn]))
    est.__dict__.update(new)


_read_weights = operator.itemgetter("coefs_", "intercepts_", *_BN_ATTRS)


def _weights_snapshot(est):
    """(coefs, intercepts, bn) of the model read in one step, bn being batch
    norm's 4 lists (gammas, betas, running means, running variances) or None;
    the lists are copies, the arrays not. One itemgetter call on __dict__
    (str keys: no Python code runs between the lookups, so it is atomic under
    the GIL, as _publish_weights' update is) instead of a copy of the whole
    __dict__ (about 1 us of a 20 us one-row predict); a model without the
    batch-norm keys (set by every fit, absent in hand-made ones) takes the
    copy."""
    state = est.__dict__
    try:
        coefs, intercepts, *bn = _read_weights(state)
    except KeyError:
        state = state.copy()
        coefs, intercepts = state["coefs_"], state["intercepts_"]
        bn = [state.get(name) for name in _BN_ATTRS]
    return list(coefs), list(intercepts), (None if bn[0] is None else [list(a) for a in bn])


def _hashable(value):
    """A parameter value as a comparable key (lists become tuples)."""
    return tuple(value) if isinstance(value, list) else value


_bf16_warned = False


def _warn_if_bf16_emulated():
    """Warn once per process when bfloat16 products run on an exact
    emulation (a CPU without AMX, AVX512_BF16 or BFMMLA, or FASTMLP_BF16=emulated
    or bfmmla_emulated): the same numbers as the native tiers, at no gain over
    float32."""
    global _bf16_warned
    info = _kernels._runtime_info()
    tier = info["bf16_tier"]
    if _bf16_warned or tier not in ("emulated", "bfmmla_emulated"):
        return
    _bf16_warned = True
    native = "AMX or AVX512_BF16" if tier == "emulated" else "Arm's BFMMLA"
    warnings.warn(
        f"compute_dtype='bfloat16' runs on the exact emulation here ({info['bf16_reason']}): the "
        f"same numbers as on {native}, but not faster than float32 on this CPU.",
        UserWarning, stacklevel=3)


def _store_parameters(estimator, params):
    """The estimators' one ``__init__`` body: each parameter stored under
    its own name, nothing else (scikit-learn's contract). The parameters'
    constraints are BaseMultilayerPerceptron._parameter_constraints, their
    text _COMMON_DOC; tests/test_parameters.py holds the signatures, the
    constraints and the docstrings together."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def _fitted_units(coefs):
    """(layer widths, pieces per weight layer) of fitted weights: a hidden
    layer's width is the next layer's fan-in, its pieces the columns per
    unit (maxout), whatever the parameters say now."""
    units = [coefs[0].shape[0]] + [c.shape[0] for c in coefs[1:]] + [coefs[-1].shape[1]]
    pieces = [c.shape[1] // u for c, u in zip(coefs[:-1], units[1:-1])] + [1]
    return units, pieces


def _lbfgs_iprint(iprint):
    """SciPy's L-BFGS-B verbosity option, in the form this SciPy accepts."""
    try:
        from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
    except ImportError:  # pragma: no cover - older or newer scikit-learn
        return {}
    return _get_additional_lbfgs_options_dict("iprint", iprint)


_COMMON_DOC = """
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.
    activation : str or list of str, default='relu'
        Hidden activation: 'identity', 'logistic', 'tanh', 'relu' (as in
        scikit-learn) or 'leaky_relu', 'elu', 'selu', 'gelu', 'softplus',
        'maxout'; a list gives one per hidden layer.
    maxout_pieces : int, default=2
        Pieces per unit of the 'maxout' layers (Goodfellow et al., 2013),
        >= 2: a maxout layer of h units computes z = a @ W + b with W of
        shape (fan_in, h * maxout_pieces) and b of (h * maxout_pieces,), and
        unit j outputs the largest of its pieces, the columns
        j * maxout_pieces .. (j + 1) * maxout_pieces - 1 of z (of equal
        maxima the first, which alone receives the gradient). The next
        layer's weights have h rows. Initialised as the layer's h units
        would be, over all h * maxout_pieces columns. Not with batch_norm;
        dropout applies to the units.
    solver : {'lbfgs', 'sgd', 'adam', 'rmsprop', 'adagrad', 'adamw', 'nadam'}, default='adam'
        The weight optimizer. 'lbfgs', 'sgd' and 'adam' are scikit-learn's
        (same numbers). The others follow torch.optim (with ``g`` the
        minibatch gradient, ``lr`` the learning rate, ``t`` the step number
        from 1, and the moments ``m = beta_1 m + (1 - beta_1) g``,
        ``v = beta_2 v + (1 - beta_2) g^2`` where used):

        - 'rmsprop' (RMSprop): ``s = rho s + (1 - rho) g^2``,
          ``param -= lr g / (sqrt(s) + epsilon)``.
        - 'adagrad' (Adagrad): ``s = s + g^2`` from
          ``initial_accumulator_value``, ``param -= lr g / (sqrt(s) + epsilon)``.
        - 'adamw' (AdamW): ``param *= 1 - lr weight_decay``, then
          ``param -= lr / (1 - beta_1^t) m / (sqrt(v) / sqrt(1 - beta_2^t) + epsilon)``.
        - 'nadam' (NAdam): ``mu_t = beta_1 (1 - 0.5 0.96^(t momentum_decay))``,
          ``P_t = mu_1 ... mu_t``, ``d = sqrt(v / (1 - beta_2^t)) + epsilon``,
          ``param -= lr (1 - mu_t) / (1 - P_t) g / d + lr mu_{t+1} / (1 - P_t mu_{t+1}) m / d``.

        Each solver's state is ``_optimizer`` (:mod:`fastmlp.optimizers`).
    alpha : float, default=0.0001
        Strength of the L2 penalty (divided by the sample size when added to
        the loss).
    batch_size : int or 'auto', default='auto'
        Minibatch size for the stochastic solvers; 'auto' is min(200, n_samples).
    learning_rate : {'constant', 'invscaling', 'adaptive'} or callable, default='constant'
        Learning-rate schedule. The strings are scikit-learn's and act on
        'sgd' only: 'invscaling' sets ``learning_rate_init / (t_ + 1) **
        power_t`` after each epoch, 'adaptive' divides the rate by 5 when
        `n_iter_no_change` epochs did not improve. A schedule from
        :mod:`fastmlp.schedules` (StepDecay, ExponentialDecay,
        CosineAnnealing, OneCycle, WarmupCosine) or any callable
        ``f(epoch, learning_rate_init) -> rate`` acts on every stochastic
        solver: epoch 0 trains at `learning_rate_init`, epoch ``e`` at
        ``f(e, learning_rate_init)``. The rate of each epoch is the
        callbacks' ``learning_rate``.
    learning_rate_init : float, default=0.001
        Initial learning rate (stochastic solvers).
    power_t : float, default=0.5
        Exponent of 'invscaling'.
    max_iter : int, default=200
        Epochs for the stochastic solvers, iterations for 'lbfgs'.
    shuffle : bool, default=True
        Shuffle the samples each epoch.
    random_state : int, RandomState instance or None, default=None
        Initialisation, validation split and shuffling.
    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement.
    verbose : bool, default=False
        Print scikit-learn's per-epoch lines.
    warm_start : bool, default=False
        Continue from the previous fit's weights.
    momentum : float, default=0.9
        Momentum for 'sgd'.
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for 'sgd'.
    early_stopping : bool, default=False
        Hold out `validation_fraction` of the data and stop when its score
        stops improving.
    validation_fraction : float, default=0.1
        Fraction held out for early stopping.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Decay rates of the moment estimates ('adam', 'adamw', 'nadam') and
        the denominator's offset (every solver but 'sgd'; see `solver`).
    n_iter_no_change : int, default=10
        Epochs without `tol` improvement before stopping.
    max_fun : int, default=15000
        Maximum loss evaluations for 'lbfgs'.
    init : {'glorot_uniform', 'he_uniform', 'he_normal'}, default='glorot_uniform'
        Weight initialisation; 'glorot_uniform' is scikit-learn's (factor 2
        for logistic, 6 otherwise) and draws the same numbers from the same
        random_state. The He variants suit relu-family activations and start
        the intercepts at zero.
    dropout : float or list of float, default=0.0
        Inverted dropout rate of the hidden layers (one rate, or one per
        hidden layer), in [0, 1): during training each hidden unit is dropped
        with this probability and the kept ones scaled by 1 / (1 - rate);
        prediction uses the whole network. Stochastic solvers only.
    input_dropout : float, default=0.0
        Inverted dropout rate of the input features, in [0, 1), before the
        first layer (training only, dense X, stochastic solvers).
    batch_norm : bool or list, default=False
        Batch normalisation of the hidden layers: True normalises every
        hidden layer before its activation; a list gives one entry per hidden
        layer, False, 'before' or 'after' (the activation). In training, by
        the minibatch's mean and variance, with a learned scale (gamma) and
        shift (beta; before the activation it replaces the layer's
        intercept); for prediction, by running averages (momentum 0.1,
        epsilon 1e-5) folded into the weights (the layer's own, or after the
        activation the next layer's). Stochastic solvers only.
    activation_params : dict or list of dict, default=None
        Parameters of the hidden activations: one dict for every hidden
        layer or one per hidden layer (None for the defaults), e.g.
        ``{'negative_slope': 0.1}`` for 'leaky_relu', ``{'alpha': 0.5}`` for
        'elu'.
    callbacks : list or None, default=None
        :class:`fastmlp.callbacks.Callback` objects (hooks at the beginning
        and end of training and of every epoch) or callables
        ``f(estimator, logs)`` run after every epoch (stochastic solvers);
        one returning True stops training. See :mod:`fastmlp.callbacks`
        (EarlyStopping, ReduceLROnPlateau, LearningRateScheduler,
        ModelCheckpoint, CSVLogger, TerminateOnNaN).
    progress : bool, default=False
        Show a progress bar over epochs with the loss and validation figures
        (needs the optional dependency tqdm).
    rho : float, default=0.99
        'rmsprop': decay of the mean square (torch's ``alpha``), in [0, 1).
    initial_accumulator_value : float, default=0.0
        'adagrad': starting value of the sum of squares, >= 0.
    momentum_decay : float, default=0.004
        'nadam': ``momentum_decay`` of ``mu_t`` (see `solver`), >= 0.
    weight_decay : float or 'auto', default='auto'
        Decoupled weight decay, applied before each step of a stochastic
        solver as AdamW does: ``param *= 1 - lr * weight_decay`` (every
        parameter). 'auto' is 0.01 for 'adamw' and 0 for the others. This is
        not `alpha`'s L2 penalty, which is part of the gradient.
    scoring : str, callable, list, dict or None, default=None
        Metrics of the validation data (fit's ``X_val``, ``y_val``, or early
        stopping's split) after every epoch, logged in ``history_`` as
        ``validation_<name>``: scikit-learn's scorer names and
        ``make_scorer`` objects, in the forms ``cross_validate`` takes (a
        single callable is named "score"). With ``early_stopping=True`` the
        first metric decides; None is the estimator's ``score`` (accuracy or
        R^2), logged as ``validation_score``.
    penalty : {'l2', 'l1', 'elasticnet'}, default='l2'
        The penalty of strength `alpha` on the coefficients (not the
        intercepts), added to the loss divided by the samples' total weight
        as scikit-learn adds its L2 term: 'l2' ``0.5 * ||W||^2``
        (scikit-learn's), 'l1' ``||W||_1``, 'elasticnet'
        ``l1_ratio * ||W||_1 + 0.5 * (1 - l1_ratio) * ||W||^2``
        (SGDClassifier's convention). The gradient is the (sub)gradient
        of the same term, ``sign(0) = 0``; ``loss_curve_`` reports it.
        Every solver, 'lbfgs' included.
    l1_ratio : float, default=0.15
        The elastic net's mixing, in [0, 1] ('elasticnet' only).
    clip_grad_norm : float or None, default=None
        Stochastic solvers: scale each minibatch gradient (all parameters'
        together) by ``clip_grad_norm / (norm + 1e-6)`` when its global L2
        norm exceeds clip_grad_norm (``torch.nn.utils.clip_grad_norm_``). The
        norm is summed in a fixed order: results do not depend on threads.
    clip_grad_value : float or None, default=None
        Stochastic solvers: clamp each gradient value to
        ``[-clip_grad_value, clip_grad_value]`` (after clip_grad_norm).
    max_norm : float or None, default=None
        Stochastic solvers: after each step, every unit's incoming weight
        vector (a column of a weight matrix, shape (fan_in,); for a maxout
        layer each piece's) whose L2 norm exceeds max_norm is scaled to norm
        max_norm (Keras' max_norm constraint on axis 0, without its
        epsilon).
    frozen_layers : sequence of int, default=()
        Indices of weight layers (0 = the first, -1 = the output layer)
        whose coefficients and intercepts keep their values, e.g. to
        fine-tune the top of a network (warm_start, from_sklearn). Their
        weight gradients and optimizer steps are skipped; deltas still flow
        through them. With 'lbfgs' their gradient is set to zero.
    compute_dtype : {'bfloat16'} or None, default=None
        What the matrix products multiply. None: the input's float dtype, as
        scikit-learn computes (its numbers). 'bfloat16': every product of
        training and prediction rounds its operands (inputs, activations,
        deltas, weights) to bfloat16 and accumulates in float32, on AMX or
        AVX512_BF16 where the CPU has them (``fastmlp.show_config()`` says
        which); the weights, biases, optimizer state, losses, softmax and
        derivatives stay float32, so ``coefs_`` are float32 arrays. float64
        input is trained in float32. The first layer's products with sparse
        input stay float32.
"""

_ATTRIBUTES_DOC = """
    Attributes
    ----------
    coefs_, intercepts_ : list of ndarray
        Weight matrices (n_in, n_out) and bias vectors (n_out,) of each
        layer; for a maxout layer of h units, (n_in, h * maxout_pieces) and
        (h * maxout_pieces,), unit j's pieces in columns j * maxout_pieces
        .. (j + 1) * maxout_pieces - 1.
    loss_ : float
        Loss at the end of training.
    loss_curve_ : list of float
        Training loss after each epoch (stochastic solvers).
    best_loss_, validation_scores_, best_validation_score_
        As in scikit-learn.
    history_ : dict of list
        One row per epoch, continued by warm_start and partial_fit
        (``pandas.DataFrame(est.history_)`` is the learning curve):
        ``epoch``, ``loss``, ``learning_rate`` (the rate the epoch used),
        ``time`` (seconds of training since the history began) and, with
        validation data, ``validation_loss`` and ``validation_<metric>`` for
        each metric of `scoring`. L-BFGS adds one row per fit (its
        learning_rate is NaN).
    n_iter_ : int
        Epochs (or L-BFGS iterations) run.
    t_ : int
        Training samples seen.
    n_layers_, n_outputs_, out_activation_, n_features_in_, feature_names_in_
        As in scikit-learn.
    bn_gammas_, bn_betas_, bn_running_means_, bn_running_vars_ : list of ndarray or None
        Batch normalisation's parameters and statistics, one array per
        batch-normalised hidden layer (None without batch_norm).
    network_ : fastmlp.network.Network
        The network the last fit trained (layers, output, penalties), which
        prediction, ``transform``, ``summary`` and the exports read.
    optimizer_ : fastmlp.optimizers.BaseOptimizer
        The stochastic solver's state (step count, learning rate, moments),
        which ``partial_fit`` and ``warm_start`` continue.
"""


class MLPClassifier(LabelCheckedScoreMixin, ClassifierMixin, BaseMultilayerPerceptron):
    loss = "log_loss"  # scikit-learn's attribute (not a parameter)

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    __doc__ = f"""Multi-layer perceptron classifier, scikit-learn's drop-in on C kernels.

    Same parameters, defaults and fitted attributes as
    :class:`sklearn.neural_network.MLPClassifier`, and the same numbers for the same
    options and random_state; training runs an epoch per C call.

    Parameters
    ----------{_COMMON_DOC}
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplying the sample weights: a dict
        {{label: weight}}, or 'balanced' for n_samples / (n_classes *
        bincount(y)) (not with partial_fit, which sees one batch at a time).
{_ATTRIBUTES_DOC}
    classes_ : ndarray
        Class labels.
    validation_loss_curve_ : list of float or None
        Loss on the validation data after each epoch (with early_stopping
        or X_val, y_val).

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The scikit-learn estimator this one replaces.
    MLPRegressor : The same network for regression.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from fastmlp import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    >>> clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=300, random_state=0)
    >>> clf = clf.fit(X_train, y_train)
    >>> [w.shape for w in clf.coefs_]
    [(64, 64), (64, 10)]
    >>> bool(clf.score(X_test, y_test) > 0.95)
    True
    >>> clf.predict_proba(X_test[:1]).shape
    (1, 10)

    Options scikit-learn does not have are parameters of the same estimator:

    >>> clf = MLPClassifier(hidden_layer_sizes=(64,), solver="adamw", dropout=0.2,
    ...                     batch_norm=True, max_iter=50, random_state=0)
    >>> clf = clf.fit(X_train, y_train, X_val=X_test, y_val=y_test)
    >>> len(clf.history_["validation_loss"]) == clf.n_iter_
    True
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, maxout_pieces=2,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 init="glorot_uniform", dropout=0.0, batch_norm=False, class_weight=None,
                 callbacks=None, progress=False, scoring=None, rho=0.99,
                 initial_accumulator_value=0.0, momentum_decay=0.004, weight_decay="auto",
                 penalty="l2", l1_ratio=0.15, clip_grad_norm=None, clip_grad_value=None,
                 max_norm=None, frozen_layers=(), compute_dtype=None, activation_params=None,
                 input_dropout=0.0):
        _store_parameters(self, locals())

    def _out_activation_name(self, y):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _output_layer(self):
        if self.out_activation_ == "softmax":
            return "softmax", "log_loss", 0.0
        return "logistic", "binary_log_loss", 0.0

    def _validation_targets(self, Y_val):
        return self._label_binarizer.inverse_transform(Y_val)

    def _target_matrix(self, y, dtype):
        unknown = np.setdiff1d(unique_labels(y), self.classes_)
        if len(unknown):
            raise ValueError(f"y_val has classes not seen in training: {unknown.tolist()}")
        Y = self._label_binarizer.transform(y).astype(dtype)
        return Y.reshape(len(Y), -1)

    def _weights_with_classes(self, y, sample_weight, incremental):
        """sample_weight times the class weights of y's labels."""
        if self.class_weight is None:
            return sample_weight
        check_class_weight(self.class_weight)
        check_label_types(y)
        if incremental and isinstance(self.class_weight, str):
            raise ValueError(
                "class_weight='balanced' needs the whole training set; it is not supported "
                "by partial_fit. Pass a dict of class weights instead.")
        weights = compute_sample_weight(self.class_weight, y)
        if sample_weight is not None:
            weights = weights * np.asarray(sample_weight, dtype=np.float64)
        return weights

    def _validate_input(self, X, y, incremental, reset, ensure_all_finite=True):
        check_sparse_structure(X)
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=self._input_dtypes(), reset=reset,
                             ensure_all_finite=ensure_all_finite)
        check_label_types(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            # One class trains as in scikit-learn: LabelBinarizer's all-zero
            # column, a logistic output, and predict gives that class
            # (learning_curve on sorted data, a fold without the rare class,
            # a label column of ClassifierChain / MultiOutputClassifier that is
            # all zeros).
            self.classes_ = self._label_binarizer.classes_
        else:
            fast = None if self.warm_start else _indicator(self._label_binarizer, y)
            if fast is not None:  # every label is one of classes_
                return X, fast
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}.")
        fast = _indicator(self._label_binarizer, y)
        y = fast if fast is not None else self._label_binarizer.transform(y).astype(bool)
        return X, y

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None,
            validation_data=None):
        """Fit the model to data matrix X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels, or a multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Validation data, scored after every epoch (``history_``,
            ``validation_scores_``, ``validation_loss_curve_``, the metrics
            of `scoring`, the callbacks' logs); with
            ``early_stopping=True`` it replaces the ``validation_fraction``
            split. scikit-learn's convention (HistGradientBoosting*): fit
            parameters, routed as metadata, so that in a Pipeline with
            metadata routing enabled, ``Pipeline(steps,
            transform_input=["X_val"])`` and ``set_fit_request(X_val=True,
            y_val=True)`` on this step, X_val goes through the earlier steps
            as X does.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            The validation targets, with X_val.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation samples in the validation loss and
            metrics.
        validation_data : tuple (X_val, y_val), default=None
            The same as ``X_val=X_val, y_val=y_val`` (Keras's name); not with
            them. A Pipeline does not transform it: passed as
            ``pipe.fit(X, y, mlp__validation_data=(X_val, y_val))`` it
            reaches this step untransformed, so use X_val with
            ``transform_input`` there.

        Returns
        -------
        self : MLPClassifier
            The fitted model.
        """
        validation = self._validation_arguments(validation_data, X_val, y_val,
                                                sample_weight_val)
        sample_weight = self._weights_with_classes(y, sample_weight, incremental=False)
        return self._fit(X, y, sample_weight=sample_weight, incremental=False,
                         validation=validation)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            All classes; required on the first call.

        Returns
        -------
        self : MLPClassifier
            The updated model.
        """
        if y is None:  # (type_of_target's message would not say which argument)
            raise ValueError(f"This {type(self).__name__} estimator requires y to be passed, "
                             "but the target y is None.")
        if classes is not None:
            check_label_types(classes, "classes")
        if _check_partial_fit_first_call(self, classes):
            multilabel = type_of_target(y, input_name="y").startswith("multilabel")
            self._label_binarizer = LabelBinarizer()
            if multilabel:
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        sample_weight = self._weights_with_classes(y, sample_weight, incremental=True)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        # LabelBinarizer.inverse_transform's two common cases, without its
        # validation (~60 us a call): the same arithmetic, the same labels.
        binarizer = self._label_binarizer
        if binarizer.y_type_ == "multiclass":
            return binarizer.classes_.take(y_pred.argmax(axis=1), mode="clip")
        if binarizer.y_type_ == "binary" and y_pred.ndim == 1 and len(binarizer.classes_) == 2:
            threshold = (binarizer.pos_label + binarizer.neg_label) / 2.0
            return binarizer.classes_[(y_pred > threshold).astype(int)]
        return binarizer.inverse_transform(y_pred)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Predicted classes (an indicator matrix for multilabel targets).
        """
        self._check_fitted()
        return self._predict(X)

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight, accuracy_score)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of `classes_`.
        """
        self._check_fitted()
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMultilayerPerceptron):
    __doc__ = f"""Multi-layer perceptron regressor, scikit-learn's drop-in on C kernels.

    Same parameters, defaults and fitted attributes as
    :class:`sklearn.neural_network.MLPRegressor`, and the same numbers for the same
    options and random_state; plus losses and output activations that
    scikit-learn lacks.

    Parameters
    ----------
    loss : {{'squared_error', 'poisson', 'absolute_error', 'huber'}}, default='squared_error'
        'squared_error' and 'poisson' as in scikit-learn (half squared error;
        half Poisson deviance with a log link, y >= 0). 'absolute_error' and
        'huber' (quadratic within `huber_delta`, linear beyond) resist
        outliers. Squared, absolute and Huber losses are averaged over outputs.{_COMMON_DOC}
    out_activation : {{'identity', 'relu', 'softplus', 'logistic', 'tanh'}} or None, default=None
        Output activation, for bounded or positive targets. None means
        identity (exp for 'poisson', whose log link it is).
    huber_delta : float, default=1.0
        Where the Huber loss turns from quadratic to linear.
{_ATTRIBUTES_DOC}
    See Also
    --------
    sklearn.neural_network.MLPRegressor : The scikit-learn estimator this one replaces.
    MLPClassifier : The same network for classification.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.model_selection import train_test_split
    >>> from fastmlp import MLPRegressor
    >>> X, y = make_regression(n_samples=500, n_features=10, noise=1.0, random_state=0)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> reg = MLPRegressor(hidden_layer_sizes=(64,), learning_rate_init=0.01,
    ...                    max_iter=500, random_state=0).fit(X_train, y_train)
    >>> bool(reg.score(X_test, y_test) > 0.9)
    True
    >>> reg.predict(X_test[:3]).shape
    (3,)

    A robust loss against outliers in ``y``:

    >>> reg = MLPRegressor(loss="huber", huber_delta=5.0, hidden_layer_sizes=(64,),
    ...                    learning_rate_init=0.01, max_iter=500,
    ...                    random_state=0).fit(X_train, y_train)
    >>> reg.loss
    'huber'
    """

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson", "absolute_error", "huber"})],
        "out_activation": [StrOptions({"identity", "relu", "softplus", "logistic", "tanh"}),
                           None],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 maxout_pieces=2,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 init="glorot_uniform", dropout=0.0, batch_norm=False, out_activation=None,
                 huber_delta=1.0, callbacks=None, progress=False, scoring=None, rho=0.99,
                 initial_accumulator_value=0.0, momentum_decay=0.004, weight_decay="auto",
                 penalty="l2", l1_ratio=0.15, clip_grad_norm=None, clip_grad_value=None,
                 max_norm=None, frozen_layers=(), compute_dtype=None, activation_params=None,
                 input_dropout=0.0):
        _store_parameters(self, locals())

    def _out_activation_name(self, y):
        if self.loss == "poisson":
            return "exp"
        return self.out_activation or "identity"

    def _output_layer(self):
        act = "identity" if self.out_activation_ == "exp" else self.out_activation_
        return act, self.loss, self.huber_delta

    def _validation_targets(self, Y_val):
        return Y_val.ravel() if Y_val.shape[1] == 1 else Y_val

    def _target_matrix(self, y, dtype):
        Y = np.asarray(y, dtype=dtype)
        return np.ascontiguousarray(Y.reshape(len(Y), -1))

    def _validate_input(self, X, y, incremental, reset, ensure_all_finite=True):
        if self.loss == "poisson" and self.out_activation not in (None, "identity"):
            raise ValueError("loss='poisson' uses its log link (exp) as output activation; "
                             f"out_activation must be None, got {self.out_activation!r}")
        check_sparse_structure(X)
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=self._input_dtypes(), reset=reset,
                             ensure_all_finite=ensure_all_finite)
        # validate_data checks y for NaN before converting an object y to
        # float, which turns None into NaN: check again after the conversion.
        _assert_all_finite(y, input_name="y")
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("loss='poisson' requires y >= 0 (counts or rates)")
        return X, y

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None,
            validation_data=None):
        """Fit the model to data matrix X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Validation data, scored after every epoch (``history_``,
            ``validation_scores_``, ``validation_loss_curve_``, the metrics
            of `scoring`, the callbacks' logs); with
            ``early_stopping=True`` it replaces the ``validation_fraction``
            split. scikit-learn's convention (HistGradientBoosting*): fit
            parameters, routed as metadata, so that in a Pipeline with
            metadata routing enabled, ``Pipeline(steps,
            transform_input=["X_val"])`` and ``set_fit_request(X_val=True,
            y_val=True)`` on this step, X_val goes through the earlier steps
            as X does.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            The validation targets, with X_val.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation samples in the validation loss and
            metrics.
        validation_data : tuple (X_val, y_val), default=None
            The same as ``X_val=X_val, y_val=y_val`` (Keras's name); not with
            them. A Pipeline does not transform it: passed as
            ``pipe.fit(X, y, mlp__validation_data=(X_val, y_val))`` it
            reaches this step untransformed, so use X_val with
            ``transform_input`` there.

        Returns
        -------
        self : MLPRegressor
            The fitted model.
        """
        validation = self._validation_arguments(validation_data, X_val, y_val,
                                                sample_weight_val)
        return self._fit(X, y, sample_weight=sample_weight, incremental=False,
                         validation=validation)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : MLPRegressor
            The updated model.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    def predict(self, X):
        """Predict with the fitted network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        self._check_fitted()
        return self._predict(X)

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight, r2_score)
