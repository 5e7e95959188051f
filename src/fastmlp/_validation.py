"""Input checks shared by the estimators, beyond scikit-learn's validate_data.

Each closes a gap where scikit-learn's own checks let bad input through to a
confusing failure further on; each error names the argument and the problem.
"""
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp


def check_label_types(labels, name="y"):
    """Class labels must be all strings, all bytes or all real numbers.

    scikit-learn sorts the labels (``np.unique``), which for an object array
    mixing types fails with ``'<' not supported between instances of 'str'
    and 'int'`` and for other objects (None, dicts) with similar messages
    that name neither the argument nor the problem. Only object arrays can
    hold such labels; other dtypes return at once.

    Parameters
    ----------
    labels : array-like
        The labels (any shape: 1-d labels or a 2-d multilabel matrix).
    name : str, default="y"
        The argument's name, for the message.

    Raises
    ------
    TypeError
        If the labels are of several kinds, or of a kind that is not a label.
    """
    if not isinstance(labels, np.ndarray):
        try:
            labels = np.asarray(labels)
        except (TypeError, ValueError):
            return  # not array-like at all: scikit-learn's validation reports it
    if labels.dtype != object or labels.ndim == 0 or labels.size == 0:
        return  # (a 0-d input, e.g. None, is reported by scikit-learn's validation)
    types = {type(v) for v in labels.ravel()}
    kinds = {"str" if issubclass(t, str) else "bytes" if issubclass(t, bytes)
             else "number" if issubclass(t, (Real, np.bool_)) else t.__name__ for t in types}
    if len(kinds) == 1 and kinds <= {"str", "bytes", "number"}:
        return
    names = sorted(t.__name__ for t in types)
    if len(kinds) > 1:
        raise TypeError(f"{name} must hold class labels of one kind (all strings or all "
                        f"numbers), got a mix of {', '.join(names)}")
    raise TypeError(f"{name} must hold class labels that are strings or numbers, got "
                    f"objects of type {', '.join(names)}")


def check_layer_sizes(hidden_layer_sizes):
    """hidden_layer_sizes as a list of ints, or a TypeError naming it.

    scikit-learn's constraint admits any array-like; a float or a nested
    sequence in it fails later, inside NumPy, with a message that does not
    mention the parameter.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int
        The parameter.

    Returns
    -------
    sizes : list of int
    """
    sizes = hidden_layer_sizes
    if not hasattr(sizes, "__iter__"):
        sizes = [sizes]
    sizes = list(sizes)
    for size in sizes:
        if not isinstance(size, Integral):
            raise TypeError(f"hidden_layer_sizes must hold integers (the width of each hidden "
                            f"layer), got {hidden_layer_sizes!r}")
    return [int(s) for s in sizes]


def check_network_size(layer_units, itemsize, pieces=None):
    """The number of parameters of a network, or a ValueError naming
    hidden_layer_sizes when a weight matrix could not be an array at all.

    Parameters
    ----------
    layer_units : list of int
        Widths of all layers, input first.
    itemsize : int
        Bytes per weight.
    pieces : list of int, optional
        Pieces per unit of each weight layer (maxout; 1 elsewhere): layer
        i's weights are (layer_units[i], layer_units[i + 1] * pieces[i]).

    Returns
    -------
    n_params : int
        Weights and biases (Python int: exact, whatever the size).
    """
    max_elements = np.iinfo(np.intp).max // itemsize
    n_params = 0
    if pieces is None:
        pieces = [1] * (len(layer_units) - 1)
    for fan_in, units, k in zip(layer_units[:-1], layer_units[1:], pieces):
        fan_out = units * k
        if fan_in * fan_out > max_elements:
            raise ValueError(f"hidden_layer_sizes gives a {fan_in} x {fan_out} weight matrix "
                             f"(layers {layer_units}): more than {max_elements} values, the "
                             f"most an array can hold")
        n_params += (fan_in + 1) * fan_out
    return n_params


def check_class_weight(class_weight):
    """A class_weight dict must map labels to finite, non-negative numbers.

    Without this check a NaN weight surfaces as "Input sample_weight contains
    NaN" (an argument the caller did not pass) and a negative one silently
    reverses the updates of that class.

    Parameters
    ----------
    class_weight : dict, str or None
        The parameter; only dicts are checked.

    Raises
    ------
    ValueError
        If a weight is not a finite number >= 0.
    """
    if not isinstance(class_weight, dict):
        return
    for label, weight in class_weight.items():
        ok = (isinstance(weight, Real) and not isinstance(weight, (bool, np.bool_))
              and np.isfinite(weight) and weight >= 0)
        if not ok:
            raise ValueError(f"class_weight must map each class to a finite, non-negative "
                             f"weight, got {weight!r} for class {label!r}")


def check_callbacks(callbacks):
    """Every callback must be callable or have one of Callback's hooks.

    Checked before training, so that a wrong entry is reported at once, by
    its position, rather than as "'int' object is not callable" after the
    first epoch.

    Parameters
    ----------
    callbacks : list, tuple or None
        The parameter.

    Raises
    ------
    TypeError
        For an entry that is neither.
    """
    hooks = ("on_train_begin", "on_epoch_begin", "on_epoch_end", "on_train_end")
    for i, cb in enumerate(callbacks or ()):
        if not (any(callable(getattr(cb, h, None)) for h in hooks) or callable(cb)):
            raise TypeError(f"callbacks[{i}] must be callable as f(estimator, logs) or have "
                            f"an on_epoch_end(estimator, logs) method (or another hook of "
                            f"fastmlp.callbacks.Callback), got {cb!r}")


def check_sparse_structure(X, name="X"):
    """The index arrays of a SciPy CSR, CSC or COO matrix must be in range.

    SciPy checks them only partly when a matrix is built and not at all once
    its arrays are edited in place, and scikit-learn's validation does not
    look at them; code that follows them (SciPy's own conversions and
    products, fastmlp's C loops) then reads outside the arrays and crashes.
    This check costs one pass over the indices, before any of that code runs.
    Other inputs, dense ones included, are left alone.

    Parameters
    ----------
    X : object
        The input as given.
    name : str, default="X"
        The argument's name, for the message.

    Raises
    ------
    ValueError
        If an offset or index is out of range.
    """
    if not sp.issparse(X) or X.format not in ("csr", "csc", "coo"):
        return
    n_rows, n_cols = X.shape
    if X.format == "coo":
        for idx, size, what in ((X.row, n_rows, "row"), (X.col, n_cols, "column")):
            if idx.size and (idx.min() < 0 or idx.max() >= size):
                raise ValueError(f"the sparse matrix {name} has {what} indices outside "
                                 f"[0, {size})")
        return
    major, minor = (n_rows, n_cols) if X.format == "csr" else (n_cols, n_rows)
    indptr, indices = X.indptr, X.indices
    if (indptr.ndim != 1 or indptr.shape[0] != major + 1 or indptr[0] < 0
            or indptr[-1] > min(indices.size, X.data.size) or np.any(np.diff(indptr) < 0)):
        raise ValueError(f"the sparse matrix {name} has an invalid indptr: its offsets must "
                         f"be non-negative, non-decreasing and at most the number of stored "
                         f"values")
    stored = indices[indptr[0]:indptr[-1]]
    if stored.size and (stored.min() < 0 or stored.max() >= minor):
        what = "column" if X.format == "csr" else "row"
        raise ValueError(f"the sparse matrix {name} has {what} indices outside [0, {minor})")


class LabelCheckedScoreMixin:
    """ClassifierMixin.score with fastmlp's label check first (put it before
    ClassifierMixin in the bases)."""

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against ``y`` (scikit-learn's).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            ``accuracy_score(y, self.predict(X), sample_weight=sample_weight)``.
        """
        # As ClassifierMixin.score, but labels of mixed types are reported as
        # such rather than as a failed comparison inside the metric.
        check_label_types(y)
        return super().score(X, y, sample_weight=sample_weight)


# The ranges of the optimizers' hyper-parameters (fastmlp.optimizers and the
# NumPy steps of fastmlp.reference): (low, high, low closed, high closed).
_OPTIMIZER_RANGES = {
    "learning_rate": (0.0, np.inf, True, False),  # 0 is legal (as in torch)
    "learning_rate_init": (0.0, np.inf, False, False),
    "momentum": (0.0, 1.0, True, True),
    "beta_1": (0.0, 1.0, True, False),
    "beta_2": (0.0, 1.0, True, False),
    "epsilon": (0.0, np.inf, False, False),
    "rho": (0.0, 1.0, True, False),
    "initial_accumulator_value": (0.0, np.inf, True, False),
    "momentum_decay": (0.0, np.inf, True, False),
    "weight_decay": (0.0, np.inf, True, False),
}


def check_optimizer_hyper(**values):
    """Each named optimizer hyper-parameter within its range.

    Parameters
    ----------
    **values : float
        Hyper-parameters by name (keys of ``_OPTIMIZER_RANGES``).

    Raises
    ------
    ValueError
        Naming the first one out of range, and the range.
    """
    for name, value in values.items():
        low, high, low_closed, high_closed = _OPTIMIZER_RANGES[name]
        above = value >= low if low_closed else value > low
        below = value <= high if high_closed else value < high
        if not (above and below):
            if high == np.inf:
                rule = f">= {low:g}" if low_closed else f"> {low:g}"
            else:
                left, right = "[" if low_closed else "(", "]" if high_closed else ")"
                rule = f"in {left}{low:g}, {high:g}{right}"
            raise ValueError(f"{name} must be {rule}, got {value}")
