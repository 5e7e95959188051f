"""Versioned pickles: a fastmlp estimator records the fastmlp version it was saved with.

Design
------
scikit-learn's ``BaseEstimator.__getstate__`` / ``__setstate__`` stamp
``_sklearn_version`` into the pickled state, but only for classes whose
module starts with ``sklearn.``, so fastmlp's estimators get no stamp from
it. :class:`VersionedPickleMixin` adds fastmlp's own, cooperatively: it calls
``super()`` for the state (so scikit-learn's behaviour, whatever it becomes,
is kept) and only adds or removes one key, ``_fastmlp_version``. Placed before
``BaseEstimator`` in the bases of each estimator, it covers pickle, joblib,
``copy.copy`` / ``copy.deepcopy`` and anything else that goes through the
pickle protocol.

Loading a state saved by another fastmlp version (or by a fastmlp that did
not record versions) issues an :class:`InconsistentVersionWarning` naming
both versions; the model is still loaded. A same-version load is silent.
"""
import warnings

from fastmlp import _version

# The key under which the pickled state records the fastmlp version.
_VERSION_KEY = "_fastmlp_version"
# What a state without the key is reported as.
_UNKNOWN_VERSION = "unknown (saved before fastmlp recorded its version)"


def _current_version():
    """fastmlp's version, read at call time (a test may stand in another)."""
    return _version.__version__


class InconsistentVersionWarning(UserWarning):
    """Warning issued when a fastmlp estimator is unpickled by another fastmlp version.

    The model loads, but its fitted state was written by code that may store
    or interpret it differently: re-fit or re-save it with this version.
    fastmlp's counterpart of
    :class:`sklearn.exceptions.InconsistentVersionWarning`.

    Parameters
    ----------
    estimator_name : str
        Class name of the estimator that was loaded.
    current_fastmlp_version : str
        The fastmlp version doing the loading.
    original_fastmlp_version : str
        The fastmlp version that saved the estimator ("unknown ..." if the
        pickle does not say).

    Attributes
    ----------
    estimator_name, current_fastmlp_version, original_fastmlp_version : str
        The parameters, as given.
    """

    def __init__(self, estimator_name, current_fastmlp_version, original_fastmlp_version):
        # All three go to args, so that the warning itself pickles and
        # unpickles (as exceptions are rebuilt from their args).
        super().__init__(estimator_name, current_fastmlp_version, original_fastmlp_version)
        self.estimator_name = estimator_name
        self.current_fastmlp_version = current_fastmlp_version
        self.original_fastmlp_version = original_fastmlp_version

    def __str__(self):
        return (f"Trying to unpickle estimator {self.estimator_name} from fastmlp version "
                f"{self.original_fastmlp_version} when using version "
                f"{self.current_fastmlp_version}. This might lead to breaking code or invalid "
                "results; refit the model or save it again with this version.")


class VersionedPickleMixin:
    """Mixin that records the fastmlp version in an estimator's pickled state.

    Put it before ``BaseEstimator`` in the bases. ``__getstate__`` adds the
    key ``_fastmlp_version`` to the state that ``super().__getstate__()``
    returns; ``__setstate__`` removes it, warns with
    :class:`InconsistentVersionWarning` if it differs from the running
    version (or is missing), and hands the rest to ``super().__setstate__``.
    """

    def __getstate__(self):
        """The state to pickle: the parent class's, plus the fastmlp version.

        Returns
        -------
        state : dict
            A new dict (the instance's ``__dict__`` is not modified) with the
            key ``_fastmlp_version`` set to ``fastmlp.__version__``.
        """
        state = super().__getstate__()
        return {**state, _VERSION_KEY: _current_version()}

    def __setstate__(self, state):
        """Restore a pickled state, warning if another fastmlp version wrote it.

        Parameters
        ----------
        state : dict
            As returned by :meth:`__getstate__` (possibly by another version).

        Warns
        -----
        InconsistentVersionWarning
            If the recorded version is not the running one, or is missing.
        """
        state = dict(state)
        original = state.pop(_VERSION_KEY, _UNKNOWN_VERSION)
        current = _current_version()
        if original != current:
            warnings.warn(InconsistentVersionWarning(type(self).__name__, current, original),
                          stacklevel=2)
        super().__setstate__(state)


def trusted_types():
    """The names of fastmlp's own types that a saved fastmlp model can hold.

    skops (``skops.io``) loads only types it is told to trust: scikit-learn's
    and NumPy's by default, not fastmlp's. A fastmlp model holds its
    estimator class, its network (:mod:`fastmlp.network`), its optimizer
    (:mod:`fastmlp.optimizers`), its learning-rate schedule
    (:mod:`fastmlp.schedules`) and the callbacks passed to it
    (:mod:`fastmlp.callbacks`); this is the list of all of them, for
    ``skops.io.load(path, trusted=fastmlp.trusted_types())``.
    ``skops.io.get_untrusted_types(file=path)`` lists what a given file
    needs; anything it lists that is not here (a callback class of your own,
    say) is not fastmlp's to vouch for.

    Returns
    -------
    names : list of str
        Fully qualified class names, sorted.

    Examples
    --------
    >>> import skops.io as sio
    >>> from sklearn.datasets import load_iris
    >>> import fastmlp
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = fastmlp.MLPClassifier(hidden_layer_sizes=(8,), max_iter=300).fit(X, y)
    >>> sio.dump(clf, "iris.skops")
    >>> sio.get_untrusted_types(file="iris.skops")  # doctest: +NORMALIZE_WHITESPACE
    ['fastmlp._mlp.MLPClassifier', 'fastmlp.network.Layer',
     'fastmlp.network.Network', 'fastmlp.optimizers.Adam']
    >>> clf2 = sio.load("iris.skops", trusted=fastmlp.trusted_types())
    """
    from fastmlp import _mlp, _perceptron, callbacks, network, optimizers, schedules

    classes = [_mlp.MLPClassifier, _mlp.MLPRegressor, _perceptron.Perceptron]
    classes += [network.Layer, network.Network]
    classes += [getattr(optimizers, name) for name in optimizers.__all__]
    classes += [getattr(callbacks, name) for name in callbacks.__all__]
    classes += [getattr(schedules, name) for name in schedules.__all__]
    return sorted(f"{c.__module__}.{c.__qualname__}" for c in classes if isinstance(c, type))
