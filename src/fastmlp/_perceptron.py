"""Perceptron: Rosenblatt's single layer of threshold units, scikit-learn's API.

Design
------
The estimator mirrors ``sklearn.linear_model.Perceptron`` (scikit-learn
1.9, ``_stochastic_gradient.py`` and ``_sgd_fast.pyx.tp``): the same
parameters, attributes, label encoding, one-vs-rest units, class weights,
penalties, epoch objective and stopping rule, so results can be compared
attribute by attribute. What differs is the learning rule (Rosenblatt's,
see the class docstring) and where the work happens: one epoch over all the
units is one call into C (``csrc/engine/perceptron.c`` through
:func:`fastmlp._kernels.perceptron_epoch`) with the GIL released. Python runs
once per epoch: it shuffles the visiting order, tests the stopping rule and
checks the weights are finite.

The one-vs-rest units are independent, so scikit-learn fits them one after
the other (or in joblib threads), each with its own shuffled order and its
own stopping time. Here all the units of an epoch share one visiting order
and the C loop is sample-major, so a sample is read once for all units; a
unit that meets the stopping rule is switched off (``active``) while the
others go on, which keeps each unit's stopping time its own.
"""
import time
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    unique_labels,
)
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from fastmlp import kernels
from fastmlp._kernels import perceptron_epoch
from fastmlp._persist import VersionedPickleMixin
from fastmlp._validation import (LabelCheckedScoreMixin, check_label_types,
                                 check_sparse_structure)

_L1_PENALTIES = ("l1", "elasticnet")


class Perceptron(VersionedPickleMixin, LabelCheckedScoreMixin, ClassifierMixin, BaseEstimator):
    """Rosenblatt's perceptron: a single layer of threshold units.

    Each unit outputs ``heaviside(x @ w + b)``, 1 if the sum is >= 0 and 0
    otherwise, and learns by Rosenblatt's rule, one sample at a time::

        w += eta0 * (y - y_hat) * x,    b += eta0 * (y - y_hat)

    with ``y`` in {0, 1} the unit's target, scaled by the sample's weight and
    its class weight. A binary problem has one unit, which fires for
    ``classes_[1]``; with more classes there is one unit per class, trained
    one-vs-rest, and the prediction is the class whose unit has the largest
    ``x @ w + b``.

    The interface is that of :class:`sklearn.linear_model.Perceptron`: same
    parameters with the same defaults, same attributes, same stopping rule
    and penalties. The training loop runs in C, one call per epoch, with the
    GIL released; see Notes for where the two differ.

    Parameters
    ----------
    penalty : {'l2', 'l1', 'elasticnet'}, default=None
        Regularization, applied as scikit-learn's SGD applies it: 'l2' decays
        the weights by ``max(0, 1 - eta0 * alpha)`` before each sample's
        update; 'l1' pulls the weights of the sample's features towards zero
        without crossing it (cumulative truncated gradient); 'elasticnet'
        does both with the shares ``1 - l1_ratio`` and ``l1_ratio``. The
        intercept is not penalized.
    alpha : float, default=0.0001
        Constant that multiplies the penalty, if there is one.
    l1_ratio : float, default=0.15
        The Elastic Net mixing parameter, ``0 <= l1_ratio <= 1``: 0 is the L2
        penalty, 1 the L1 penalty. Only used if ``penalty='elasticnet'``.
    fit_intercept : bool, default=True
        Whether to learn the intercepts. If False they stay at zero (or at
        ``intercept_init``) and the data are assumed to be centered.
    max_iter : int, default=1000
        Maximum number of passes over the training data (epochs). Only used
        by :meth:`fit`; :meth:`partial_fit` makes one pass.
    tol : float or None, default=1e-3
        Stopping criterion: an epoch counts as "no improvement" when its
        objective (mean perceptron criterion plus penalty, see Notes) is
        above the best so far minus ``tol``, or with ``early_stopping`` when
        its validation accuracy is below the best so far plus ``tol``. None
        disables stopping: all ``max_iter`` epochs run.
    shuffle : bool, default=True
        Whether to shuffle the training samples before each epoch.
    verbose : int, default=0
        Print a line per epoch if > 0.
    eta0 : float, default=1.0
        Learning rate: constant by which the updates are multiplied.
    n_jobs : int, default=None
        Number of threads over which the one-vs-rest units of a multiclass
        problem are spread (each thread takes a block of units through every
        epoch; results do not depend on it). None means 1 unless in a
        ``joblib.parallel_backend`` context; -1 means all processors.
    random_state : int, RandomState instance or None, default=0
        Seeds the shuffling (and the validation split of
        ``early_stopping``). An int gives reproducible fits.
    early_stopping : bool, default=False
        Whether to set aside a stratified ``validation_fraction`` of the
        training data and stop each unit when its validation accuracy has not
        improved by at least ``tol`` for ``n_iter_no_change`` consecutive
        epochs. The final weights are kept, not the best ones.
    validation_fraction : float, default=0.1
        Proportion of the training data set aside for early stopping, in
        (0, 1). Only used if ``early_stopping`` is True.
    n_iter_no_change : int, default=5
        Number of consecutive epochs without improvement before a unit stops.
    class_weight : dict, {class_label: weight} or "balanced", default=None
        Weights of the classes, multiplying the updates of their samples
        (together with ``sample_weight``); classes not given weigh 1.
        "balanced" uses ``n_samples / (n_classes * np.bincount(y))``. As in
        scikit-learn, a multiclass unit weighs its own class by the class's
        weight and all the other samples by 1. Weights must be >= 0.
    warm_start : bool, default=False
        Whether :meth:`fit` starts from the previous solution instead of
        zeros.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    coef_ : ndarray of shape (1, n_features) if n_classes == 2 else \
            (n_classes, n_features)
        The units' weights, float32 if trained on float32 data, else float64.
    intercept_ : ndarray of shape (1,) if n_classes == 2 else (n_classes,)
        The units' biases (thresholds with the opposite sign).
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`. Defined only when `X`
        has feature names that are all strings.
    n_iter_ : int
        Number of epochs run; with several units, the most any unit ran.
    t_ : float
        Number of sample visits plus one, counted as scikit-learn does:
        ``1 + n_iter_ * n_samples`` after :meth:`fit`, increased by
        ``n_samples`` by each :meth:`partial_fit`.

    See Also
    --------
    sklearn.linear_model.Perceptron : The same interface on scikit-learn's SGD.

    Notes
    -----
    **Rosenblatt's rule and scikit-learn's.** scikit-learn encodes a unit's
    targets as -1/+1 and updates when ``y * p <= 0`` for ``p = x @ w + b``,
    so it also updates on a positive sample with ``p == 0``. Here targets are
    0/1 and a unit updates when ``heaviside(p) != y`` with
    ``heaviside(0) = 1``: ``p == 0`` is a correct answer for a positive
    sample and a mistake for a negative one. The size of an update is the
    same (``eta0`` times the weights). Prediction follows the same
    convention: a binary model predicts ``classes_[1]`` when the decision
    function is >= 0 (scikit-learn: > 0). Starting from zero weights the
    two rules differ from the first sample on, so the learned weights are not
    scikit-learn's, only comparable in accuracy.

    **Epochs and the stopping rule** are scikit-learn's. An epoch visits
    every training sample once. Its objective, per unit, is the mean over
    the visits of the perceptron criterion (``|p|`` for a misclassified
    sample, else 0; not weighted by sample or class weights, as in
    scikit-learn) plus the penalty of the weights at each visit. A unit
    stops after ``n_iter_no_change`` consecutive epochs without improvement
    (see ``tol``); training ends when every unit has stopped or after
    ``max_iter`` epochs, and a :class:`~sklearn.exceptions.ConvergenceWarning`
    is issued if :meth:`fit` reached ``max_iter`` with ``tol`` set.

    **Other differences from scikit-learn**, each deliberate:

    - The shuffling uses a NumPy ``RandomState`` (one permutation per epoch,
      shared by all units), so the visiting order is not scikit-learn's.
    - Sparse input trains like the same data in dense form (scikit-learn
      damps the intercept's updates by 0.01 for sparse input). One
      difference remains, shared with scikit-learn: the L1 step is lazy and
      only visits the features stored for a sample, all of them for dense
      input, so with 'l1' or 'elasticnet' the two can differ.
    - The penalty term of the objective uses the exact norms of the weights
      (scikit-learn's running norms miss some changes of the weights).
    - Negative sample or class weights are rejected (scikit-learn accepts
      them, which reverses the updates of those samples).
    - In :meth:`partial_fit`, labels that are not in ``classes`` are a
      ValueError that names them.

    **Data.** Sparse input is converted once per call to CSR (with int64
    indices, duplicates summed) and trained on by a CSR loop that touches only
    the stored entries; it is never densified. Dense input in any layout is
    read in place when its rows are contiguous, otherwise copied once per
    call to C order. float32 data train float32 weights: each weight is
    rounded to float32 once per change, while dot products, updates and the
    intercepts within an epoch are computed in double (the sign of a dot
    product is the unit's decision, where float32 sums would flip some).

    References
    ----------
    F. Rosenblatt, "The perceptron: a probabilistic model for information
    storage and organization in the brain", Psychological Review 65(6),
    386-408, 1958.

    Y. Tsuruoka, J. Tsujii and S. Ananiadou, "Stochastic gradient descent
    training for L1-regularized log-linear models with cumulative penalty",
    ACL 2009 (the L1 penalty).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from fastmlp import Perceptron
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = Perceptron(tol=1e-3, random_state=0).fit(X, y)
    >>> clf.coef_.shape
    (10, 64)
    >>> bool(clf.score(X, y) > 0.9)
    True
    """

    _parameter_constraints: dict = {
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        *,
        penalty=None,
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        eta0=1.0,
        n_jobs=None,
        random_state=0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        class_weight=None,
        warm_start=False,
    ):
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.eta0 = eta0
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start

    # ------------------------------------------------------------------
    # Public API
    # ------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the perceptron, for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 data train in float32, float64 in float64,
            anything else is converted to float64. Sparse matrices are
            converted once to CSR.
        y : array-like of shape (n_samples,)
            Class labels; at least two distinct classes.
        coef_init : ndarray of shape (n_classes, n_features), default=None
            Initial weights (for two classes, (1, n_features) or
            (n_features,)). Defaults to zeros, or to ``coef_`` with
            ``warm_start``. Not modified.
        intercept_init : ndarray of shape (n_classes,), default=None
            Initial intercepts (for two classes, shape (1,) or a scalar).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights multiplying each sample's updates (on top
            of ``class_weight``). None means ones.

        Returns
        -------
        self : Perceptron
            The fitted estimator.
        """
        if self.warm_start and hasattr(self, "coef_"):
            coef_init = self.coef_ if coef_init is None else coef_init
            intercept_init = self.intercept_ if intercept_init is None else intercept_init
        # Forget the previous fit: `classes_` marks partial_fit's later calls.
        for name in ("classes_", "coef_", "intercept_", "n_iter_"):
            if hasattr(self, name):
                delattr(self, name)

        X, y = self._validate_training_data(X, y, reset=True)
        self.classes_ = unique_labels(y)
        self.t_ = 1.0
        self._train(X, y, sample_weight, self.max_iter, self.early_stopping,
                    coef_init, intercept_init)
        if self.tol is not None and self.n_iter_ == self.max_iter:
            warnings.warn("Maximum number of iteration reached before convergence. "
                          "Consider increasing max_iter to improve the fit.",
                          ConvergenceWarning)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on the given samples, from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A batch of training data. The first call fixes the dtype of the
            weights (float32 or float64); later batches are converted to it.
        y : array-like of shape (n_samples,)
            Labels of the batch, all of them in ``classes``.
        classes : array-like of shape (n_classes,), default=None
            All the classes of the problem. Required on the first call (the
            batches need not contain every class); later calls may omit it
            or must pass the same classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights multiplying each sample's updates. None
            means ones.

        Returns
        -------
        self : Perceptron
            The updated estimator.
        """
        first_call = not hasattr(self, "classes_")
        if first_call:
            if self.early_stopping:
                raise ValueError("early_stopping should be False with partial_fit")
            if self.class_weight == "balanced":
                raise ValueError(
                    "class_weight 'balanced' is not supported for partial_fit. "
                    "Compute the weights with compute_class_weight('balanced', "
                    "classes=classes, y=y) on a large enough sample of the targets "
                    "and pass them as a dict.")
        X, y = self._validate_training_data(X, y, reset=first_call)
        if classes is not None:
            check_label_types(classes, "classes")
        _check_partial_fit_first_call(self, classes)
        unknown = np.setdiff1d(unique_labels(y), self.classes_)
        if unknown.size:
            raise ValueError(f"y contains labels {unknown.tolist()} that are not in "
                             f"classes {self.classes_.tolist()}; every label must be in "
                             f"the classes given to the first call to partial_fit")
        if not hasattr(self, "t_"):
            self.t_ = 1.0
        self._train(X, y, sample_weight, 1, False, None, None)
        return self

    def decision_function(self, X):
        """Net input of the threshold units, ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the score of ``classes_[1]`` (predicted where
            >= 0); otherwise one column per class. float32 when both the
            data and the weights are float32, else float64.
        """
        check_is_fitted(self)
        check_sparse_structure(X)
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                          accept_large_sparse=True, reset=False)
        scores = _net_input(X, self.coef_, self.intercept_)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            For two classes, ``classes_[1]`` where the unit fires
            (decision function >= 0) and ``classes_[0]`` elsewhere; otherwise
            the class of the unit with the largest net input (the first one
            on ties).
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores >= 0).astype(np.intp)]
        return self.classes_[np.argmax(scores, axis=1)]

    def __sklearn_is_fitted__(self):
        """Whether a fit (or a partial_fit) has completed.

        Returns
        -------
        fitted : bool
            True once ``coef_`` exists.
        """
        return hasattr(self, "coef_")

    def __sklearn_tags__(self):
        """Estimator tags: a classifier that accepts sparse input.

        Returns
        -------
        tags : sklearn.utils.Tags
            scikit-learn's classifier tags with ``input_tags.sparse = True``.
        """
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------------
    # Training
    # ------------------------------------------------------------------

    def _validate_training_data(self, X, y, reset):
        """Checked X (float32/float64 array or CSR) and 1-d classification y."""
        check_sparse_structure(X)
        X, y = validate_data(self, X, y, accept_sparse="csr",
                             dtype=[np.float64, np.float32], accept_large_sparse=True,
                             reset=reset)
        check_label_types(y)
        check_classification_targets(y)
        return X, y

    def _train(self, X, y, sample_weight, max_iter, early_stopping, coef_init,
               intercept_init):
        """Run up to max_iter epochs on (X, y) from the current or initial weights.

        Sets coef_, intercept_, n_iter_ and advances t_. `classes_` is set
        and contains every label of y.
        """
        n_samples, n_features = X.shape
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(f"The number of classes has to be greater than one; "
                             f"got {n_classes} class")
        # One unit for two classes (it fires for classes_[1]), else one per class.
        n_units = 1 if n_classes == 2 else n_classes
        labels = np.searchsorted(self.classes_, y)
        if n_units == 1:
            target = np.where(labels == 1, 0, -1).astype(np.int64)
        else:
            target = labels.astype(np.int64)

        coef, intercept = self._initial_weights(n_units, n_features, X.dtype, coef_init,
                                                intercept_init)
        dtype = coef.dtype
        data = _epoch_samples(X, dtype)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=dtype,
                                             ensure_non_negative=True,
                                             allow_all_zero_weights=early_stopping)
        weight_pos, weight_neg = self._unit_class_weights(y, n_units)

        rng = check_random_state(self.random_state)
        validation = None
        if early_stopping:
            validation = self._validation_split(X, labels, target, sample_weight, n_units)
            train_idx = np.flatnonzero(~validation["mask"])
        else:
            train_idx = np.arange(n_samples)
        order = train_idx.astype(np.int64)

        penalty = self.penalty
        l1_q = l1_u = None
        if penalty in _L1_PENALTIES:
            l1_q = np.zeros((n_units, n_features), dtype=np.float64)
            l1_u = np.zeros(1, dtype=np.float64)
        tol = -np.inf if self.tol is None else float(self.tol)
        n_threads = max(1, min(effective_n_jobs(self.n_jobs), n_units))

        active = np.ones(n_units, dtype=np.bool_)
        n_iter = np.zeros(n_units, dtype=np.int64)
        no_improvement = np.zeros(n_units, dtype=np.int64)
        best = np.full(n_units, -np.inf if early_stopping else np.inf)
        start = time.perf_counter()
        for epoch in range(max_iter):
            if self.shuffle:
                rng.shuffle(order)
            objective, mistakes = perceptron_epoch(
                data, target, order, coef, intercept, weight_pos=weight_pos,
                weight_neg=weight_neg, sample_weight=sample_weight, active=active,
                eta=self.eta0, penalty=penalty, alpha=self.alpha, l1_ratio=self.l1_ratio,
                fit_intercept=self.fit_intercept, l1_q=l1_q, l1_u=l1_u, n_threads=n_threads)
            n_iter[active] += 1
            if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
                raise ValueError(f"Floating-point under-/overflow occurred at epoch "
                                 f"#{epoch + 1}. Scaling input data with StandardScaler "
                                 f"or MinMaxScaler might help.")

            # scikit-learn's rule, per unit: improving means beating the best
            # validation score by tol, or the best mean objective by tol.
            if early_stopping:
                current = _validation_scores(validation, coef, intercept)
                improved = ~(current < best + tol)
                best = np.maximum(best, current)
            else:
                current = objective / max(order.shape[0], 1)
                improved = ~(current > best - tol)
                best = np.minimum(best, current)
            no_improvement = np.where(improved, 0, no_improvement + 1)
            if self.verbose:
                print(f"-- Epoch {epoch + 1}: units training {int(active.sum())}, "
                      f"mistakes {int(mistakes.sum())}, mean objective "
                      f"{float(np.mean(objective)) / max(order.shape[0], 1):.6f}, "
                      f"weight norm {float(np.linalg.norm(coef)):.2f}, "
                      f"{time.perf_counter() - start:.2f} s")
            active &= no_improvement < self.n_iter_no_change
            if not active.any():
                if self.verbose:
                    print(f"Convergence after {epoch + 1} epochs took "
                          f"{time.perf_counter() - start:.2f} seconds")
                break

        self.coef_ = coef
        self.intercept_ = intercept
        self.n_iter_ = int(n_iter.max())
        self.t_ += self.n_iter_ * n_samples

    def _initial_weights(self, n_units, n_features, dtype, coef_init, intercept_init):
        """coef (n_units, n_features) and intercept (n_units,), C-contiguous and
        writeable, of the existing model's dtype or else `dtype`: the current
        ones (partial_fit), copies of the initial ones, or zeros."""
        if coef_init is None and hasattr(self, "coef_"):
            # partial_fit continues in place (copying only what cannot be
            # written, e.g. a model loaded from a read-only memory map).
            coef = np.require(self.coef_, requirements=["C", "W"])
            intercept = np.require(self.intercept_, requirements=["C", "W"])
            return coef, intercept
        n_classes = len(self.classes_)
        if coef_init is None:
            coef = np.zeros((n_units, n_features), dtype=dtype)
        else:
            coef = np.array(coef_init, dtype=dtype, order="C", copy=True)
            if n_units == 1 and coef.size == n_features:
                coef = coef.reshape(1, n_features)
            if coef.shape != (n_units, n_features):
                expected = (n_classes if n_units > 1 else 1, n_features)
                raise ValueError(f"coef_init must have shape {expected} for {n_classes} "
                                 f"classes and {n_features} features, got {coef.shape}")
        if intercept_init is None:
            intercept = np.zeros(n_units, dtype=dtype)
        else:
            intercept = np.array(intercept_init, dtype=dtype, order="C", copy=True)
            if n_units == 1 and intercept.size == 1:
                intercept = intercept.reshape(1)
            if intercept.shape != (n_units,):
                raise ValueError(f"intercept_init must have shape ({n_units},) for "
                                 f"{n_classes} classes, got {intercept.shape}")
        if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
            raise ValueError("coef_init and intercept_init must be finite")
        return coef, intercept

    def _unit_class_weights(self, y, n_units):
        """Class weights of each unit's positive and negative samples."""
        weights = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
        weights = np.asarray(weights, dtype=np.float64)
        if not (np.isfinite(weights).all() and (weights >= 0).all()):
            raise ValueError(f"class_weight must be finite and non-negative, got "
                             f"{dict(zip(self.classes_.tolist(), weights.tolist()))}")
        if n_units == 1:
            return weights[1:2].copy(), weights[0:1].copy()
        # scikit-learn's one-vs-rest: unit k weighs class k by its weight and
        # every other sample by 1.
        return weights.copy(), np.ones(n_units, dtype=np.float64)

    def _validation_split(self, X, labels, target, sample_weight, n_units):
        """scikit-learn's stratified hold-out for early stopping."""
        n_samples = X.shape[0]
        cv = StratifiedShuffleSplit(test_size=self.validation_fraction,
                                    random_state=self.random_state)
        idx_train, idx_val = next(cv.split(np.zeros((n_samples, 1)), labels))
        if idx_train.shape[0] == 0 or idx_val.shape[0] == 0:
            raise ValueError(
                f"Splitting {n_samples} samples into a train set and a validation set "
                f"with validation_fraction={self.validation_fraction!r} led to an empty "
                f"set ({idx_train.shape[0]} and {idx_val.shape[0]} samples). Please "
                f"either change validation_fraction, increase number of samples, or "
                f"disable early_stopping.")
        if not np.any(sample_weight[idx_val] > 0):
            raise ValueError("The sample weights for validation set are all zero, "
                             "consider using a different random state.")
        mask = np.zeros(n_samples, dtype=np.bool_)
        mask[idx_val] = True
        # Each unit's 0/1 target on the validation samples.
        truth = target[idx_val][:, None] == np.arange(n_units)[None, :]
        return {"mask": mask, "X": X[idx_val], "truth": truth,
                "weight": sample_weight[idx_val].astype(np.float64)}


def _validation_scores(validation, coef, intercept):
    """Per unit, the weighted accuracy of its threshold output on the
    validation samples (scikit-learn scores each one-vs-rest unit alone)."""
    fires = _net_input(validation["X"], coef, intercept) >= 0
    correct = fires == validation["truth"]
    weight = validation["weight"]
    return (weight @ correct) / weight.sum()


def _net_input(X, coef, intercept):
    """X @ coef.T + intercept, shape (n_samples, n_units), in the wider of the
    two dtypes: the fused dense kernel for arrays, SciPy for sparse X."""
    dtype = np.promote_types(X.dtype, coef.dtype)
    coef = coef.astype(dtype, copy=False)
    intercept = intercept.astype(dtype, copy=False)
    if sp.issparse(X):
        return np.asarray(X.astype(dtype, copy=False) @ coef.T) + intercept
    return kernels.dense(X.astype(dtype, copy=False), coef.T, intercept)


def _epoch_samples(X, dtype):
    """X as the C epoch reads it, prepared once per call to fit/partial_fit.

    Dense: an array of `dtype` whose rows are row-major (C order or a
    row-strided view, used in place); any other layout is copied once to C
    order. Sparse: the (data, indices, indptr) arrays of a canonical CSR
    matrix (duplicates summed, so each sample is exactly its dense form) with
    int64 indices, checked to lie in [0, n_features).
    """
    if sp.issparse(X):
        X = X.tocsr()
        # The C loop trusts the structure (it indexes the weights with it), and
        # scipy does not check it in full on construction: check it here, once
        # (again: the caller's matrix was checked before any conversion).
        check_sparse_structure(X)
        if X.dtype != dtype or not X.has_canonical_format:
            # A copy first: X may be the caller's matrix, and sum_duplicates
            # works in place.
            X = X.astype(dtype, copy=True)
            X.sum_duplicates()
        return (np.ascontiguousarray(X.data), np.asarray(X.indices, dtype=np.int64),
                np.asarray(X.indptr, dtype=np.int64))
    X = X.astype(dtype, copy=False)
    if not _has_row_major_rows(X):
        X = np.ascontiguousarray(X)
    return X


def _has_row_major_rows(X):
    """True if the 2-D array X has unit column stride and a positive row
    stride of at least one row (C order, or rows sliced from a C array)."""
    n_rows, n_cols = X.shape
    item = X.itemsize
    row_stride, col_stride = X.strides
    if n_cols > 1 and col_stride != item:
        return False
    return n_rows <= 1 or (row_stride > 0 and row_stride % item == 0
                           and row_stride // item >= n_cols)
