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
