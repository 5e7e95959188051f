"""Conversion between fastmlp's and scikit-learn's fitted MLPs.

Both keep the same fitted attributes (scikit-learn's names and layouts), so
conversion copies them across: a fitted scikit-learn model predicts faster
through fastmlp without retraining, and a fastmlp model whose network
scikit-learn can express becomes a scikit-learn one.
"""
import numpy as np
from sklearn import neural_network as sk
from sklearn.utils.validation import check_is_fitted

from fastmlp._mlp import _new_optimizer

# Fitted attributes that both libraries have, copied as they are.
_SHARED_ATTRIBUTES = ("n_layers_", "n_outputs_", "out_activation_", "n_features_in_",
                      "feature_names_in_", "loss_", "loss_curve_", "best_loss_",
                      "validation_scores_", "best_validation_score_", "n_iter_", "t_",
                      "classes_", "_label_binarizer", "_no_improvement_count")
_SKLEARN_ACTIVATIONS = {"identity", "logistic", "tanh", "relu"}


def _copy_fitted(source, target, coefs, intercepts):
    for name in _SHARED_ATTRIBUTES:
        if hasattr(source, name):
            value = getattr(source, name)
            setattr(target, name, list(value) if isinstance(value, list) else value)
    target.coefs_ = [np.array(c, order="C") for c in coefs]
    target.intercepts_ = [np.array(b) for b in intercepts]
    return target


def _optimizer_to_sklearn(ours, theirs):
    """scikit-learn's optimizer object from fastmlp's state (same parameter
    order: coefficients, then intercepts), so partial_fit continues alike."""
    from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

    state = getattr(ours, "optimizer_", None)
    if state is None or ours.solver not in ("sgd", "adam"):
        return
    params = theirs.coefs_ + theirs.intercepts_
    network = ours.network_

    def split(flat):  # W and b views of the flat state, in the engine's layout
        coefs, intercepts, _, _ = network.unflatten(flat)
        return [a.copy() for a in coefs + intercepts]

    if ours.solver == "sgd":
        opt = SGDOptimizer(params, ours.learning_rate_init, ours.learning_rate, ours.momentum,
                           ours.nesterovs_momentum, ours.power_t)
        opt.learning_rate = state.learning_rate
        opt.velocities = split(state.state[0])
    else:
        opt = AdamOptimizer(params, ours.learning_rate_init, ours.beta_1, ours.beta_2,
                            ours.epsilon)
        opt.t = state.t
        opt.ms, opt.vs = split(state.state[0]), split(state.state[1])
    theirs._optimizer = opt


def _optimizer_from_sklearn(theirs, ours):
    """fastmlp's optimizer object from scikit-learn's (same parameter order)."""
    opt = getattr(theirs, "_optimizer", None)
    if opt is None or theirs.solver not in ("sgd", "adam"):
        return
    flat = lambda arrays: np.concatenate([a.ravel() for a in arrays])  # noqa: E731
    if theirs.solver == "sgd":
        state = [flat(opt.velocities)]
    else:
        state = [flat(opt.ms), flat(opt.vs)]
    ours._optimizer = _new_optimizer(ours, state[0].size, state[0].dtype)
    ours._optimizer.state = state
    if theirs.solver == "sgd":
        ours._optimizer.learning_rate = opt.learning_rate
    else:
        # scikit-learn's Adam keeps its last bias-corrected step size in
        # learning_rate; the rate itself stays learning_rate_init.
        ours._optimizer.t = opt.t


def to_sklearn(estimator):
    """A fitted scikit-learn MLP with the same weights as a fastmlp one.

    Batch normalisation is folded into the weights (as fastmlp predicts);
    dropout only acts in training. The optimizer state goes along, so that
    ``partial_fit`` continues alike (not with batch norm). Networks
    scikit-learn cannot express are refused.

    Parameters
    ----------
    estimator : fastmlp.MLPClassifier or fastmlp.MLPRegressor
        A fitted estimator.

    Returns
    -------
    sklearn_estimator : sklearn.neural_network.MLPClassifier or MLPRegressor
        Fitted, predicting what `estimator` predicts.

    Raises
    ------
    ValueError
        If the network uses an activation (maxout among them), output
        activation or loss that scikit-learn does not have, or the estimator
        a solver or learning-rate schedule object scikit-learn does not have.
    """
    from fastmlp._mlp import MLPClassifier, MLPRegressor
    from fastmlp.network import fitted_network

    check_is_fitted(estimator)
    if estimator.solver not in ("lbfgs", "sgd", "adam"):
        raise ValueError(f"scikit-learn has no solver {estimator.solver!r}; set solver to "
                         "'adam', 'sgd' or 'lbfgs' first (set_params) to convert the weights")
    if estimator.penalty != "l2":
        raise ValueError(f"scikit-learn's MLP has only the l2 penalty, not "
                         f"{estimator.penalty!r}")
    if not isinstance(estimator.learning_rate, str):
        raise ValueError("scikit-learn's learning_rate is one of 'constant', 'invscaling', "
                         "'adaptive'; set it first (set_params) to convert the weights")
    activation = estimator.activation
    if "maxout" in ([activation] if isinstance(activation, str) else list(activation)):
        raise ValueError("scikit-learn's MLP has no maxout units: a maxout layer's weights "
                         "(n_in, units * maxout_pieces) have no scikit-learn equivalent; "
                         "export it with fastmlp.export_onnx instead")
    if not isinstance(activation, str) or activation not in _SKLEARN_ACTIVATIONS:
        raise ValueError(f"scikit-learn has no hidden activation {activation!r}; it has "
                         f"{sorted(_SKLEARN_ACTIVATIONS)}")
    if isinstance(estimator, MLPRegressor):
        if estimator.loss not in ("squared_error", "poisson"):
            raise ValueError(f"scikit-learn's MLPRegressor has no loss {estimator.loss!r}")
        if estimator.out_activation not in (None, "identity"):
            raise ValueError("scikit-learn's MLPRegressor has no output activation "
                             f"{estimator.out_activation!r}")
        cls = sk.MLPRegressor
    elif isinstance(estimator, MLPClassifier):
        cls = sk.MLPClassifier
    else:
        raise TypeError(f"expected a fastmlp MLPClassifier or MLPRegressor, got "
                        f"{type(estimator).__name__}")
    names = cls().get_params().keys()
    params = {k: v for k, v in estimator.get_params().items() if k in names}
    dtype = estimator.coefs_[0].dtype
    _, coefs, intercepts = fitted_network(estimator, dtype)
    theirs = _copy_fitted(estimator, cls(**params), coefs, intercepts)
    if getattr(estimator, "bn_gammas_", None) is None:
        # With batch norm the folded network is another one: no optimizer
        # state carries over (the result predicts; further training restarts).
        _optimizer_to_sklearn(estimator, theirs)
    return theirs


def from_sklearn(estimator):
    """A fastmlp estimator with the weights of a fitted scikit-learn MLP.

    Parameters
    ----------
    estimator : sklearn.neural_network.MLPClassifier or MLPRegressor
        A fitted estimator.

    Returns
    -------
    fastmlp_estimator : fastmlp.MLPClassifier or fastmlp.MLPRegressor
        Fitted, with the same parameters and weights: it predicts what
        `estimator` predicts (to rounding), through fastmlp's kernels, and can
        continue training with ``partial_fit`` or ``warm_start``.
    """
    from fastmlp._mlp import MLPClassifier, MLPRegressor

    if isinstance(estimator, sk.MLPClassifier):
        cls = MLPClassifier
    elif isinstance(estimator, sk.MLPRegressor):
        cls = MLPRegressor
    else:
        raise TypeError("expected a scikit-learn MLPClassifier or MLPRegressor, got "
                        f"{type(estimator).__name__}")
    check_is_fitted(estimator)
    ours = cls(**estimator.get_params())
    ours = _copy_fitted(estimator, ours, estimator.coefs_, estimator.intercepts_)
    ours._hidden_sizes = [c.shape[1] for c in estimator.coefs_[:-1]]
    ours.bn_gammas_ = ours.bn_betas_ = ours.bn_running_means_ = ours.bn_running_vars_ = None
    ours.network_ = ours._fitted_network()
    ours.validation_loss_curve_ = None
    _optimizer_from_sklearn(estimator, ours)
    return ours


# -- fastmlp.keras ------------------------------------------------------------

# Keras optimizer class -> (estimator solver, {estimator parameter: optimizer attribute}).
_KERAS_SOLVERS = {
    "SGD": ("sgd", {"momentum": "momentum", "nesterovs_momentum": "nesterov"}),
    "Adam": ("adam", {"beta_1": "beta_1", "beta_2": "beta_2", "epsilon": "epsilon"}),
    "AdamW": ("adamw", {"beta_1": "beta_1", "beta_2": "beta_2", "epsilon": "epsilon",
                        "weight_decay": "weight_decay"}),
    "Nadam": ("nadam", {"beta_1": "beta_1", "beta_2": "beta_2", "epsilon": "epsilon"}),
    "RMSprop": ("rmsprop", {"rho": "rho", "epsilon": "epsilon"}),
    "Adagrad": ("adagrad", {"initial_accumulator_value": "initial_accumulator_value",
                            "epsilon": "epsilon"}),
}
_KERAS_LOSSES = {"squared_error": "mse", "absolute_error": "mae"}


def _solver_params(optimizer):
    """The estimator's solver parameters of a fastmlp.keras optimizer."""
    if optimizer is None:
        return {}
    name = type(optimizer).__name__
    if name not in _KERAS_SOLVERS:
        raise ValueError(f"The estimators have no solver for the optimizer {name}")
    solver, names = _KERAS_SOLVERS[name]
    # Keras keeps the rate as float32: its shortest decimal (0.001, not 0.0010000000474...)
    params = {"solver": solver,
              "learning_rate_init": float(str(np.float32(optimizer.learning_rate)))}
    params.update({ours: getattr(optimizer, theirs) for ours, theirs in names.items()})
    if params.get("weight_decay", 0) is None:
        del params["weight_decay"]
    if optimizer.global_clipnorm is not None:
        params["clip_grad_norm"] = optimizer.global_clipnorm
    if optimizer.clipvalue is not None:
        params["clip_grad_value"] = optimizer.clipvalue
    if optimizer.clipnorm is not None:
        raise ValueError("Keras's clipnorm clips each variable's gradient; the estimators "
                         "clip the whole gradient (clip_grad_norm, Keras's global_clipnorm)")
    return params


def _keras_optimizer(estimator):
    """The fastmlp.keras optimizer of an estimator's solver, or None (L-BFGS)."""
    from fastmlp.keras import optimizers

    for name, (solver, names) in _KERAS_SOLVERS.items():
        if solver == estimator.solver:
            kwargs = {theirs: getattr(estimator, ours) for ours, theirs in names.items()}
            if kwargs.get("weight_decay") == "auto":
                del kwargs["weight_decay"]
            return getattr(optimizers, name)(learning_rate=estimator.learning_rate_init,
                                             **kwargs)
    return None


def _uniform(values, what):
    """One value for all layers (an estimator parameter), or ValueError."""
    values = list(values)
    if len(set(map(repr, values))) > 1:
        raise ValueError(f"The estimators have one {what} for every layer; this model has "
                         f"{values}")
    return values[0] if values else None


def from_keras(model):
    """A fitted fastmlp estimator with the layers and weights of a Sequential model.

    The model's layers become the estimator's parameters (hidden layer
    sizes, per-layer activations and their parameters, dropout, batch norm
    and where it sits, frozen layers) through the network description
    (:class:`fastmlp.network.Network`), its compiled optimizer the solver
    and its hyperparameters, and the estimator has Keras's ``batch_size=32``
    and no ``alpha`` penalty. The output decides the estimator: softmax
    (categorical cross-entropy) or sigmoid with binary cross-entropy give an
    :class:`~fastmlp.MLPClassifier` whose ``classes_`` are the column
    indices ``0 .. units - 1`` (Keras's integer labels; a two-unit softmax
    becomes the equivalent single logistic unit); anything else an
    :class:`~fastmlp.MLPRegressor` with the model's output activation and
    loss (mean squared, absolute or Huber).

    ``predict_proba`` (classifier) and ``predict`` (regressor) then give
    what the Sequential's ``predict`` gives, from the same weights (to
    float32 rounding). Further training follows the estimator's own rules
    (its loss scale, its optimizer arithmetic, stopping by ``tol``), not
    Keras's.

    Parameters
    ----------
    model : fastmlp.keras.Sequential
        Built; compiled or not.

    Returns
    -------
    estimator : fastmlp.MLPClassifier or fastmlp.MLPRegressor
        Fitted. A model whose input is ``Flatten``-ed (images) takes the
        flattened rows, ``X.reshape(len(X), -1)``.

    Raises
    ------
    NotImplementedError
        For a layer order the engine does not run (the translation that
        ``fit`` uses says which).
    ValueError
        For what the estimators cannot express: a hidden activation they
        have not (softmax), per-layer kernel or bias regularizers, different
        max-norm constraints or maxout pieces per layer, Keras's per-variable
        ``clipnorm``, an optimizer without a solver.
    """
    from fastmlp._mlp import _BN_EPSILON, _HIDDEN_ACTIVATIONS, MLPClassifier, MLPRegressor
    from fastmlp.keras._network import sequential_network
    from sklearn.preprocessing import LabelBinarizer

    network, coefs, intercepts, bn = sequential_network(model)
    layers = network.layers
    hidden, out = layers[:-1], layers[-1]
    for i, layer in enumerate(hidden):
        if layer.activation not in _HIDDEN_ACTIVATIONS:
            raise ValueError(f"The estimators have no hidden activation {layer.activation!r} "
                             f"(layer {i}); they have {sorted(_HIDDEN_ACTIVATIONS)}")
    for layer in layers:
        if layer.kernel_l1 or layer.kernel_l2 or layer.bias_l1 or layer.bias_l2:
            raise ValueError("The estimators have one penalty for all layers (alpha, "
                             "scikit-learn's scale), not Keras's per-layer kernel/bias "
                             "regularizers; remove them to convert")
    params = {"hidden_layer_sizes": tuple(layer.units for layer in hidden),
              "alpha": 0.0, "batch_size": 32, "shuffle": True}
    params.update(_solver_params(getattr(model, "optimizer", None)))
    if hidden:
        acts = [layer.activation for layer in hidden]
        params["activation"] = acts[0] if len(set(acts)) == 1 else acts
        act_params = [{k: v for k, v in (layer.activation_params or {}).items()
                       if k != "pieces"} or None for layer in hidden]
        if any(act_params):
            params["activation_params"] = act_params
        pieces = {layer.pieces for layer in hidden if layer.activation == "maxout"}
        if pieces:
            params["maxout_pieces"] = _uniform(pieces, "maxout_pieces")
        params["dropout"] = [layer.dropout for layer in hidden[1:]] + [out.dropout]
        params["batch_norm"] = [layer.batch_norm or False for layer in hidden]
    elif out.dropout:
        raise ValueError("A Dropout before a single Dense layer: the estimators drop the "
                         "inputs of hidden layers (input_dropout) only with a hidden layer")
    params["input_dropout"] = layers[0].dropout if hidden else 0.0
    max_norm = _uniform([layer.max_norm for layer in layers], "max_norm")
    if max_norm is not None:
        params["max_norm"] = max_norm
    frozen = [i for i, layer in enumerate(layers) if layer.frozen]
    if frozen:
        params["frozen_layers"] = frozen

    # Batch norm: the estimators' epsilon (and no bias before a normalisation,
    # whose shift beta replaces it): the running statistics are adjusted so that
    # the folded prediction weights stay the same.
    coefs = [np.array(c) for c in coefs]
    intercepts = [np.array(b) for b in intercepts]
    gammas, betas, means, variances = [], [], [], []
    k = 0
    for i in network.bn_layers:
        layer = layers[i]
        gamma, beta, mean, var = (np.array(a, dtype=coefs[i].dtype) for a in bn[k:k + 4])
        k += 4
        var = var + layer.bn_epsilon - _BN_EPSILON
        if np.any(var < 0):
            raise ValueError(f"BatchNormalization's epsilon {layer.bn_epsilon} with moving "
                             f"variances below {_BN_EPSILON - layer.bn_epsilon}: the "
                             f"estimators' epsilon {_BN_EPSILON} cannot give the same scale")
        if layer.batch_norm == "before":
            mean = mean - intercepts[i]
            intercepts[i] = np.zeros_like(intercepts[i])
        gammas.append(gamma)
        betas.append(beta)
        means.append(mean)
        variances.append(var)

    n_out = out.units
    if network.loss in ("log_loss", "binary_log_loss"):
        cls = MLPClassifier
        if network.loss == "log_loss" and n_out == 2:
            # softmax over two columns = logistic of their difference
            coefs[-1] = (coefs[-1][:, 1] - coefs[-1][:, 0])[:, None]
            intercepts[-1] = intercepts[-1][1:] - intercepts[-1][:1]
            out_activation = "logistic"
        elif network.loss == "log_loss":
            if n_out < 2:
                raise ValueError("A softmax over one unit (always 1) has no classifier")
            out_activation = "softmax"
        else:
            out_activation = "logistic"
        binarizer = LabelBinarizer()
        if out_activation == "logistic" and coefs[-1].shape[1] > 1:  # multilabel
            binarizer.fit(np.eye(n_out, dtype=int))
        else:
            binarizer.fit(np.arange(max(n_out, 2)))
    else:
        cls = MLPRegressor
        params["loss"] = network.loss
        if network.loss == "huber":
            params["huber_delta"] = network.loss_param
        if out.activation != "identity":
            params["out_activation"] = out.activation
        out_activation = out.activation
    estimator = cls(**params)
    estimator._validate_params()  # scikit-learn checks them at fit: check them now
    estimator.n_features_in_ = int(network.n_inputs)
    estimator.n_layers_ = len(layers) + 1
    estimator.n_outputs_ = coefs[-1].shape[1]
    estimator.out_activation_ = out_activation
    if cls is MLPClassifier:
        estimator._label_binarizer = binarizer
        estimator.classes_ = binarizer.classes_
    estimator.n_iter_ = estimator.t_ = 0
    estimator.loss_ = None
    estimator.loss_curve_ = []
    estimator.best_loss_ = np.inf  # as a first fit starts (warm_start continues from it)
    estimator.validation_scores_ = estimator.best_validation_score_ = None
    estimator._no_improvement_count = 0
    estimator._hidden_sizes = [layer.units for layer in hidden]
    estimator.coefs_ = [np.ascontiguousarray(c) for c in coefs]
    estimator.intercepts_ = [np.ascontiguousarray(b) for b in intercepts]
    if gammas:
        estimator.bn_gammas_, estimator.bn_betas_ = gammas, betas
        estimator.bn_running_means_, estimator.bn_running_vars_ = means, variances
    else:
        estimator.bn_gammas_ = estimator.bn_betas_ = None
        estimator.bn_running_means_ = estimator.bn_running_vars_ = None
    estimator.network_ = estimator._fitted_network()
    estimator.validation_loss_curve_ = None
    return estimator


def to_keras(estimator):
    """A Sequential model with the layers and weights of a fitted fastmlp estimator.

    Each weight layer of the estimator's network description becomes a
    Dense (or Maxout) layer with its activation (a separate LeakyReLU or ELU
    layer when the activation has a parameter), preceded by a Dropout of
    the layer's input rate and followed by a BatchNormalization where the
    estimator normalises (with the estimator's momentum and epsilon, in
    Keras's convention), then the output: softmax, sigmoid or the
    regressor's output activation. The model is compiled with the loss that
    trains that output (sparse categorical cross-entropy: the column index
    is the position in ``estimator.classes_``; binary cross-entropy; mean
    squared, absolute or Huber error) and the Keras optimizer of the
    estimator's solver with its hyperparameters (not compiled for L-BFGS,
    which Keras has not). Its ``predict`` gives the estimator's
    ``predict_proba`` (classifier; one column for a binary one, as Keras's
    sigmoid) or ``predict`` (regressor) as float32.

    Parameters
    ----------
    estimator : fastmlp.MLPClassifier or fastmlp.MLPRegressor
        Fitted.

    Returns
    -------
    model : fastmlp.keras.Sequential
        Built, with the estimator's weights (float32, as Keras keeps them).

    Raises
    ------
    ValueError
        For the Poisson loss (its exp output, which Keras's Dense has not).
    """
    from fastmlp._mlp import MLPClassifier
    from fastmlp.keras import losses
    from fastmlp.keras._network import network_sequential
    from fastmlp.network import fitted_network

    check_is_fitted(estimator)
    network, _, _ = fitted_network(estimator)
    if estimator.out_activation_ == "exp":
        raise ValueError("The Poisson loss's exp output has no Keras Dense activation; "
                         "fastmlp.keras converts identity, logistic, softmax, relu, tanh and "
                         "softplus outputs")
    bn = []
    if getattr(estimator, "bn_gammas_", None) is not None:
        for group in zip(estimator.bn_gammas_, estimator.bn_betas_,
                         estimator.bn_running_means_, estimator.bn_running_vars_):
            bn.extend(group)
    model = network_sequential(network, estimator.coefs_, estimator.intercepts_, bn)
    optimizer = _keras_optimizer(estimator)
    if optimizer is not None:
        if isinstance(estimator, MLPClassifier):
            loss = ("sparse_categorical_crossentropy" if estimator.out_activation_ == "softmax"
                    else "binary_crossentropy")
            model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
        else:
            loss = (losses.Huber(delta=estimator.huber_delta) if estimator.loss == "huber"
                    else _KERAS_LOSSES[estimator.loss])
            model.compile(optimizer=optimizer, loss=loss)
    return model
