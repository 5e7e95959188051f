"""Per-epoch records of the MLP estimators: ``history_`` and the validation
metrics of ``scoring``.

``history_`` is a dict of equal-length lists, one row per epoch, so that
``pandas.DataFrame(est.history_)`` is the learning curve: ``epoch``,
``loss``, ``learning_rate``, ``time`` and, with validation data,
``validation_loss`` and ``validation_<metric>`` for each metric of
``scoring``. A row that lacks a column another row has (a warm_start fit
with validation data after one without) holds NaN there.
"""
import math
import numbers
import warnings

from sklearn.metrics import check_scoring

__all__ = ["append_row", "validation_metrics", "validation_scorers"]

FIRST_COLUMNS = ("epoch", "loss", "learning_rate", "time")


def append_row(history, row):
    """Append `row` (a dict) to `history` (a dict of lists), keeping every
    list of the same length: columns new in `row` are NaN in earlier rows,
    columns absent from `row` get NaN."""
    n = len(history["epoch"]) if history else 0
    for key in row:
        if key not in history:
            history[key] = [math.nan] * n
    for key, values in history.items():
        values.append(row.get(key, math.nan))


def validation_scorers(estimator, scoring):
    """{metric name: scorer} for `scoring`, in its order.

    None gives ``{"score": None}`` (the estimator's own score: accuracy or
    R^2, scikit-learn's choice); a scorer name gives ``{name: scorer}``; a
    callable ``{"score": callable}``; a list or tuple of names and a dict of
    name to name or callable, one entry each (scikit-learn's scoring forms,
    as cross_validate takes them).
    """
    if scoring is None:
        return {"score": None}
    if isinstance(scoring, str):
        return {scoring: check_scoring(estimator, scoring)}
    if callable(scoring):
        return {"score": scoring}
    if isinstance(scoring, (list, tuple, set)):
        names = list(scoring)
        if not names or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
            raise ValueError("scoring as a list must hold distinct scorer names, got "
                             f"{scoring!r}")
        return {n: check_scoring(estimator, n) for n in names}
    if isinstance(scoring, dict):
        if not scoring or not all(isinstance(k, str) for k in scoring):
            raise ValueError("scoring as a dict must map metric names (str) to scorer names "
                             f"or callables, got {scoring!r}")
        return {k: check_scoring(estimator, v) if isinstance(v, str) else v
                for k, v in scoring.items()}
    raise TypeError(f"scoring must be None, a scorer name, a callable, a list or a dict, got "
                    f"{scoring!r}")


def validation_metrics(estimator, scorers, X, y, sample_weight):
    """{"validation_<name>": value} of each scorer on (X, y)."""
    out = {}
    with warnings.catch_warnings():
        # X is the validated array, without the DataFrame's column names the
        # model may have been fitted with.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        for name, scorer in scorers.items():
            if scorer is None:
                value = estimator._score(X, y, sample_weight)
            elif sample_weight is None:
                value = scorer(estimator, X, y)
            else:
                value = scorer(estimator, X, y, sample_weight=sample_weight)
            if not isinstance(value, numbers.Real):
                raise TypeError(f"scoring {name!r} must return a number, got {value!r}")
            out[f"validation_{name}"] = float(value)
    return out
