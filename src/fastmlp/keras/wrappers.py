"""Keras 3's scikit-learn wrappers (``keras.wrappers``) over fastmlp.keras.

:class:`SKLearnClassifier`, :class:`SKLearnRegressor` and
:class:`SKLearnTransformer` take Keras 3's arguments (``model``: a compiled
Sequential, or a callable building one from ``X`` and ``y``;
``warm_start``; ``model_kwargs``; ``fit_kwargs``) and behave as Keras's do
(``keras/src/wrappers/sklearn_wrapper.py``): the classifier one-hot encodes
``y`` for the model and turns its outputs back into labels by argmax; a
model instance is cloned (:func:`fastmlp.keras.models.clone_model`) before
each fit unless ``warm_start``. So they sit in ``cross_val_score``,
``GridSearchCV`` and ``Pipeline``, and pass scikit-learn's estimator checks
except those Keras's own are expected to fail (tests/test_keras_wrappers.py
lists them and why).

Two of Keras 3.15's slips are not copied: ``warm_start=True`` reuses the
fitted model (as Keras's development version does), and ``fit_kwargs`` is
neither mutated by ``fit``'s keyword arguments nor dropped by ``clone``.

For a scikit-learn estimator with the estimators' own training rules (no
wrapper), convert the model: :meth:`fastmlp.keras.Sequential.to_sklearn`.
"""
import copy

import numpy as np
from sklearn.base import (BaseEstimator, ClassifierMixin, RegressorMixin,
                          TransformerMixin)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]


def _target_type(y):
    """scikit-learn's type of target, with Keras's error for an unknown one."""
    target_type = type_of_target(y)
    if target_type == "unknown":
        raise ValueError(f"Unknown label type for data: {y!r}")
    return target_type


def _check_model(model):
    """Keras's rule: the model must be compiled, with a loss and an optimizer."""
    if not getattr(model, "compiled", False) or not model.loss or not model.optimizer:
        raise RuntimeError("Given model needs to be compiled, and have a loss and an "
                           "optimizer.")


class _TargetReshaper(TransformerMixin, BaseEstimator):
    """Make a 1-D target 2-D for the encoder, and back (Keras's helper)."""

    def fit(self, y):
        """Remember the target's number of dimensions.

        Parameters
        ----------
        y : ndarray
            The target.

        Returns
        -------
        self : _TargetReshaper
            Fitted.
        """
        self.ndim_ = y.ndim
        return self

    def transform(self, y):
        """A 1-D target as one column.

        Parameters
        ----------
        y : ndarray
            The target.

        Returns
        -------
        ndarray
            At least 2-D.
        """
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def inverse_transform(self, y):
        """Back to 1-D if the fitted target was.

        Parameters
        ----------
        y : ndarray
            2-D.

        Returns
        -------
        ndarray
            1-D if the target was and `y` has one column.
        """
        check_is_fitted(self)
        if self.ndim_ == 1 and y.ndim == 2:
            return np.squeeze(y, axis=1)
        return y


class _SKLBase(BaseEstimator):
    """What the three wrappers share (Keras's ``SKLBase``).

    Parameters
    ----------
    model : Sequential or callable
        A compiled :class:`fastmlp.keras.Sequential` (cloned before each
        fit unless `warm_start`), or a callable returning one, called as
        ``model(X=X, y=y, **model_kwargs)`` with the validated ``X`` and the
        target as the model sees it (one-hot for the classifier).
    warm_start : bool, default=False
        Reuse the fitted model (its weights) in the next fit.
    model_kwargs : dict or None, default=None
        Keyword arguments of `model` when it is a callable.
    fit_kwargs : dict or None, default=None
        Keyword arguments of the model's ``fit`` (``epochs``,
        ``batch_size``, ``verbose``, ...); those given to :meth:`fit` take
        precedence.

    Attributes
    ----------
    model_ : Sequential
        The fitted model.
    history_ : History
        What the model's ``fit`` returned (``history_.history`` is the dict
        of per-epoch values).
    n_features_in_ : int
        Number of features seen in fit.
    """

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def __sklearn_clone__(self):
        """A copy with the same parameters (a model instance deep-copied).

        Returns
        -------
        estimator
            Not fitted.
        """
        model = self.model if callable(self.model) else copy.deepcopy(self.model)
        return type(self)(model=model, warm_start=self.warm_start,
                          model_kwargs=self.model_kwargs, fit_kwargs=self.fit_kwargs)

    @property
    def epoch_(self):
        """Epochs run by the last fit (0 before any).

        Returns
        -------
        int
            ``len(history_.epoch)``.
        """
        history = getattr(self, "history_", None)
        return len(history.epoch) if history is not None else 0

    def _get_model(self, X, y):
        from fastmlp.keras.models import Sequential, clone_model

        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if isinstance(self.model, Sequential):
            return self.model if self.warm_start else clone_model(self.model)
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    def fit(self, X, y, **kwargs):
        """Fit the model (built or cloned first) to ``X`` and ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.
        **kwargs
            The model's ``fit`` arguments, over `fit_kwargs`.

        Returns
        -------
        self
            Fitted.
        """
        X, y = validate_data(self, X, y)
        y = self._process_target(y, reset=True)
        model = self._get_model(X, y)
        _check_model(model)
        fit_kwargs = {**(self.fit_kwargs or {}), **kwargs}
        self.history_ = model.fit(X, y, **fit_kwargs)
        self.model_ = model
        return self

    def predict(self, X):
        """The model's outputs for ``X``, as targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The inputs.

        Returns
        -------
        ndarray
            Labels (classifier) or values (regressor; 1-D when ``y`` was).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self._reverse_process_target(self.model_.predict(X, verbose=0))

    def _process_target(self, y, reset=False):
        """Regressors: ``y`` as a column when 1-D."""
        _target_type(y)
        if reset:
            self._target_encoder = _TargetReshaper().fit(y)
        return self._target_encoder.transform(y)

    def _reverse_process_target(self, y):
        return self._target_encoder.inverse_transform(y)


class SKLearnClassifier(ClassifierMixin, _SKLBase):
    """A scikit-learn classifier around a Sequential model (``keras.wrappers.SKLearnClassifier``).

    ``y`` (binary or multiclass labels) is one-hot encoded for the model,
    which should end in ``Dense(n_classes, activation="softmax")`` and be
    compiled with ``categorical_crossentropy``; ``predict`` is the label of
    the largest output.

    Parameters
    ----------
    model : Sequential or callable
        A compiled :class:`fastmlp.keras.Sequential` (cloned before each
        fit unless `warm_start`), or a callable returning one, called as
        ``model(X=X, y=y, **model_kwargs)``.
    warm_start : bool, default=False
        Reuse the fitted model in the next fit.
    model_kwargs : dict or None, default=None
        Keyword arguments of a callable `model`.
    fit_kwargs : dict or None, default=None
        Keyword arguments of the model's ``fit``.

    Attributes
    ----------
    model_ : Sequential
        The fitted model.
    history_ : History
        What the model's ``fit`` returned.
    classes_ : ndarray of shape (n_classes,)
        The labels.
    n_features_in_ : int
        Number of features seen in fit.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import cross_val_score
    >>> from fastmlp import keras
    >>> from fastmlp.keras.wrappers import SKLearnClassifier
    >>> def build(X, y, hidden=16):
    ...     model = keras.Sequential([keras.Input((X.shape[1],)),
    ...                               keras.layers.Dense(hidden, activation="relu"),
    ...                               keras.layers.Dense(y.shape[1], activation="softmax")])
    ...     model.compile(optimizer="adam", loss="categorical_crossentropy")
    ...     return model
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SKLearnClassifier(build, model_kwargs={"hidden": 32},
    ...                         fit_kwargs={"epochs": 50, "verbose": 0})
    >>> scores = cross_val_score(clf, X, y, cv=3)
    >>> scores.shape
    (3,)
    """

    def decision_function(self, X):
        """The model's raw outputs (its ``predict``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The inputs.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
            Probabilities for a softmax output.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.model_.predict(X, verbose=0)

    def _process_target(self, y, reset=False):
        target_type = _target_type(y)
        if target_type not in ("binary", "multiclass"):
            raise ValueError("Only binary and multiclass target types are supported. "
                             f"Target type: {target_type}")
        if reset:
            self._target_encoder = make_pipeline(
                _TargetReshaper(), OneHotEncoder(sparse_output=False)).fit(y)
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError("Classifier can't train when only one class is present.")
        return self._target_encoder.transform(y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class SKLearnRegressor(RegressorMixin, _SKLBase):
    """A scikit-learn regressor around a Sequential model (``keras.wrappers.SKLearnRegressor``).

    Parameters
    ----------
    model : Sequential or callable
        A compiled :class:`fastmlp.keras.Sequential` (cloned before each
        fit unless `warm_start`), or a callable returning one, called as
        ``model(X=X, y=y, **model_kwargs)``.
    warm_start : bool, default=False
        Reuse the fitted model in the next fit.
    model_kwargs : dict or None, default=None
        Keyword arguments of a callable `model`.
    fit_kwargs : dict or None, default=None
        Keyword arguments of the model's ``fit``.

    Attributes
    ----------
    model_ : Sequential
        The fitted model.
    history_ : History
        What the model's ``fit`` returned.
    n_features_in_ : int
        Number of features seen in fit.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class SKLearnTransformer(TransformerMixin, _SKLBase):
    """A scikit-learn transformer around a Sequential model (``keras.wrappers.SKLearnTransformer``).

    ``transform`` is the model's ``predict``: e.g. a model trained to
    reconstruct or to predict, used as a learned feature map in a Pipeline.

    Parameters
    ----------
    model : Sequential or callable
        A compiled :class:`fastmlp.keras.Sequential` (cloned before each
        fit unless `warm_start`), or a callable returning one, called as
        ``model(X=X, y=y, **model_kwargs)``.
    warm_start : bool, default=False
        Reuse the fitted model in the next fit.
    model_kwargs : dict or None, default=None
        Keyword arguments of a callable `model`.
    fit_kwargs : dict or None, default=None
        Keyword arguments of the model's ``fit``.

    Attributes
    ----------
    model_ : Sequential
        The fitted model.
    history_ : History
        What the model's ``fit`` returned.
    n_features_in_ : int
        Number of features seen in fit.
    """

    def transform(self, X):
        """The model's outputs for ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The inputs.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
            float32.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.model_.predict(X, verbose=0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
