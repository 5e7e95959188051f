"""Bad input at every public entry point: the exception type, and a message
that says what is wrong (naming the argument where the message is ours).

Entry points: MLPClassifier, MLPRegressor and Perceptron (fit, partial_fit,
predict, predict_proba / predict_log_proba / decision_function, score), every
function of fastmlp.kernels, and the command line. Categories: non-finite
values, empty arrays, zero features, wrong dimensionality, mismatched
lengths, complex data, strings and other objects, unsupported dtypes, absurd
parameters (negative, zero, non-finite, huge layer sizes), objects in
labels, a feature count that differs at predict, corrupted sparse matrices,
not-fitted models. docs/bad_input.md is the table of what each gets.

Where scikit-learn has a message for a case (its validate_data, parameter
constraints and metrics), the estimators keep it: the regexes below are its
messages, which scikit-learn's estimator checks also look for.
"""
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from fastmlp import MLPClassifier, MLPRegressor, Perceptron, _mlp, kernels, reference
from fastmlp._mlp import _gather_checks_finite
from fastmlp.__main__ import main as cli_main


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # NumPy's own warnings when the twin or scikit-learn meet a NaN on purpose.
        warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
        yield


RNG = np.random.default_rng(0)
X = RNG.random((20, 4))
Y_CLASS = np.arange(20) % 3
Y_REG = RNG.random(20)
CLASSES = np.arange(3)

MAKE = {
    "MLPClassifier": lambda **kw: MLPClassifier(
        **{"hidden_layer_sizes": (3,), "max_iter": 2, "random_state": 0, **kw}),
    "MLPRegressor": lambda **kw: MLPRegressor(
        **{"hidden_layer_sizes": (3,), "max_iter": 2, "random_state": 0, **kw}),
    "Perceptron": lambda **kw: Perceptron(**{"max_iter": 2, "random_state": 0, **kw}),
}
TARGETS = {"MLPClassifier": Y_CLASS, "MLPRegressor": Y_REG, "Perceptron": Y_CLASS}
PREDICTORS = {"MLPClassifier": ["predict", "predict_proba", "predict_log_proba", "score"],
              "MLPRegressor": ["predict", "score"],
              "Perceptron": ["predict", "decision_function", "score"]}
ESTIMATORS = list(MAKE)
_FITTED = {}


def fitted(name):
    """A model of each kind fitted on (X, y), shared by the tests (never modified)."""
    if name not in _FITTED:
        _FITTED[name] = MAKE[name]().fit(X, TARGETS[name])
    return _FITTED[name]


def partial_fit(est, name, X_, y_, **kw):
    extra = {} if name == "MLPRegressor" else {"classes": CLASSES}
    return est.partial_fit(X_, y_, **{**extra, **kw})


def entry_points(name):
    """(label, call(X_, y_)) for every method of `name` that takes X."""
    points = [("fit", lambda X_, y_: MAKE[name]().fit(X_, y_)),
              ("partial_fit", lambda X_, y_: partial_fit(MAKE[name](), name, X_, y_))]
    for method in PREDICTORS[name]:
        if method == "score":
            points.append(("score", lambda X_, y_: fitted(name).score(X_, y_)))
        else:
            points.append((method, lambda X_, y_, m=method: getattr(fitted(name), m)(X_)))
    return points


def _csr_with(edit):
    M = sp.csr_matrix(X)
    M.indptr = M.indptr.copy()
    M.indices = M.indices.copy()
    edit(M)
    return M


def _with(value, at=(3, 2)):
    Xb = X.copy()
    Xb[at] = value
    return Xb


def _object_with_dict():
    Xb = X.astype(object)
    Xb[0, 0] = {"a": 1}
    return Xb


def _csr_nan():
    M = sp.csr_matrix(X)
    M.data[0] = np.nan
    return M


# Bad X: builder, number of rows (to cut y to), exception, message.
BAD_X = {
    "NaN": (lambda: _with(np.nan), 20, ValueError, r"Input X contains NaN"),
    "+inf": (lambda: _with(np.inf), 20, ValueError, r"Input X contains infinity"),
    "-inf": (lambda: _with(-np.inf), 20, ValueError, r"Input X contains infinity"),
    "NaN in a sparse matrix": (_csr_nan, 20, ValueError, r"Input X contains NaN"),
    "no samples": (lambda: X[:0], 0, ValueError,
                   r"Found array with 0 sample\(s\) \(shape=\(0, 4\)\) while a minimum of 1 "
                   r"is required"),
    "no samples, sparse": (lambda: sp.csr_matrix((0, 4)), 0, ValueError,
                           r"Found array with 0 sample\(s\)"),
    "zero features": (lambda: X[:, :0], 20, ValueError,
                      r"Found array with 0 feature\(s\) \(shape=\(20, 0\)\) while a minimum "
                      r"of 1 is required"),
    "1-d": (lambda: X[:, 0], 20, ValueError, r"Expected 2D array, got 1D array instead"),
    "3-d": (lambda: X[:, :, None], 20, ValueError, r"Found array with dim 3"),
    "scalar": (lambda: np.float64(1.0), 20, ValueError,
               r"Expected 2D array, got scalar array instead"),
    "None": (lambda: None, 20, ValueError, r"Expected 2D array, got scalar array instead"),
    "complex": (lambda: X.astype(complex), 20, ValueError, r"Complex data not supported"),
    "complex sparse": (lambda: sp.csr_matrix(X.astype(complex)), 20, ValueError,
                       r"Complex data not supported"),
    "strings": (lambda: np.full((20, 4), "a"), 20, ValueError,
                r"could not convert string to float: .*'a'"),
    "object holding a dict": (_object_with_dict, 20, TypeError,
                              r"float\(\) argument must be a string or a (real )?number, "
                              r"not 'dict'"),
    "ragged lists": (lambda: [[1.0, 2.0], [3.0]] * 10, 20, ValueError,
                     r"inhomogeneous shape"),
    "sparse with indptr out of range": (
        lambda: _csr_with(lambda M: M.indptr.__setitem__(5, 10**8)), 20, ValueError,
        r"the sparse matrix X has an invalid indptr: its offsets must be non-negative, "
        r"non-decreasing"),
    "sparse with negative indptr": (
        lambda: _csr_with(lambda M: M.indptr.__setitem__(0, -(10**8))), 20, ValueError,
        r"the sparse matrix X has an invalid indptr"),
    "sparse with column indices out of range": (
        lambda: _csr_with(lambda M: M.indices.__setitem__(3, 10**7)), 20, ValueError,
        r"the sparse matrix X has column indices outside \[0, 4\)"),
}


@pytest.mark.parametrize("case", list(BAD_X))
@pytest.mark.parametrize("name", ESTIMATORS)
def test_bad_X(name, case):
    build, n_rows, exc, pattern = BAD_X[case]
    y = TARGETS[name][:n_rows]
    for method, call in entry_points(name):
        with pytest.raises(exc, match=pattern):
            call(build(), y)


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("name", ESTIMATORS)
def test_feature_count_differs_from_fit(name, fmt):
    X3 = X[:, :3] if fmt == "dense" else sp.csr_matrix(X[:, :3])
    pattern = rf"X has 3 features, but {name} is expecting 4 features as input"
    for method in PREDICTORS[name]:
        with pytest.raises(ValueError, match=pattern):
            if method == "score":
                fitted(name).score(X3, TARGETS[name])
            else:
                getattr(fitted(name), method)(X3)
    # partial_fit after a first call, and fit with warm_start, keep the width.
    est = partial_fit(MAKE[name](), name, X, TARGETS[name])
    with pytest.raises(ValueError, match=pattern):
        partial_fit(est, name, X3, TARGETS[name])


@pytest.mark.parametrize("name", ESTIMATORS)
def test_not_fitted(name):
    est = MAKE[name]()
    for method in PREDICTORS[name]:
        args = (X, TARGETS[name]) if method == "score" else (X,)
        with pytest.raises(NotFittedError, match=rf"This {name} instance is not fitted yet"):
            getattr(est, method)(*args)


# --- targets and labels ------------------------------------------------------

def _labels(values):
    return np.array(values * 10, dtype=object)


# Bad y for the classifiers: value, exception, message (fit and partial_fit).
BAD_LABELS = {
    "NaN": (np.where(np.arange(20) == 0, np.nan, Y_CLASS), ValueError, r"Input y contains NaN"),
    "length differs from X": (Y_CLASS[:-1], ValueError,
                              r"Found input variables with inconsistent numbers of samples: "
                              r"\[20, 19\]"),
    "3-d": (Y_CLASS[:, None, None], ValueError, r"Found array with dim 3"),
    "complex": (Y_CLASS.astype(complex), ValueError, r"Complex data not supported"),
    "strings and numbers mixed": (_labels([1, "a"]), TypeError,
                                  r"y must hold class labels of one kind \(all strings or all "
                                  r"numbers\), got a mix of int, str"),
    "None among the labels": (_labels([None, 1]), TypeError,
                              r"y must hold class labels of one kind .*got a mix of NoneType, "
                              r"int"),
    "dicts as labels": (_labels([{"a": 1}, {"b": 2}]), TypeError,
                        r"y must hold class labels that are strings or numbers, got objects "
                        r"of type dict"),
    "continuous values": (Y_REG, ValueError, r"Unknown label type"),
    "None": (None, ValueError,
             r"requires y to be passed, but the target y is None"),
}


@pytest.mark.parametrize("case", list(BAD_LABELS))
@pytest.mark.parametrize("name", ["MLPClassifier", "Perceptron"])
def test_bad_labels(name, case):
    y, exc, pattern = BAD_LABELS[case]
    with pytest.raises(exc, match=pattern):
        MAKE[name]().fit(X, y)
    with pytest.raises(exc, match=pattern):
        partial_fit(MAKE[name](), name, X, y)


def test_single_class():
    # scikit-learn's Perceptron refuses one class; its MLPClassifier trains a
    # constant model, and so does fastmlp's (tests/test_sklearn_workflows.py).
    with pytest.raises(ValueError, match="greater than one; got 1 class"):
        MAKE["Perceptron"]().fit(X, np.zeros(20))
    assert (MAKE["MLPClassifier"]().fit(X, np.zeros(20)).predict(X) == 0).all()


# Bad y for the regressor.
BAD_TARGETS = {
    "NaN": (np.where(np.arange(20) == 0, np.nan, Y_REG), ValueError, r"Input y contains NaN"),
    "inf": (np.where(np.arange(20) == 0, np.inf, Y_REG), ValueError,
            r"Input y contains infinity"),
    "None in an object array": (np.array([None, 1.0] * 10, dtype=object), ValueError,
                                r"Input y contains NaN"),
    "length differs from X": (Y_REG[:-1], ValueError,
                              r"inconsistent numbers of samples: \[20, 19\]"),
    "3-d": (Y_REG[:, None, None], ValueError, r"Found array with dim 3"),
    "complex": (Y_REG.astype(complex), ValueError, r"Complex data not supported"),
    "strings": (np.array(["a", "b"] * 10), ValueError, r"could not convert string to float"),
    "None": (None, ValueError, r"requires y to be passed, but the target y is None"),
}


@pytest.mark.parametrize("case", list(BAD_TARGETS))
def test_bad_regression_targets(case):
    y, exc, pattern = BAD_TARGETS[case]
    with pytest.raises(exc, match=pattern):
        MAKE["MLPRegressor"]().fit(X, y)
    with pytest.raises(exc, match=pattern):
        MAKE["MLPRegressor"]().partial_fit(X, y)


def test_poisson_needs_non_negative_targets():
    with pytest.raises(ValueError, match=r"loss='poisson' requires y >= 0"):
        MLPRegressor(loss="poisson", max_iter=2).fit(X, -Y_REG)


# score: y goes to scikit-learn's metrics, whose messages name y_true.
BAD_SCORE_Y = {
    "NaN": (lambda y: np.where(np.arange(20) == 0, np.nan, y), ValueError,
            r"Input (y_true )?contains NaN"),
    "length differs from X": (lambda y: y[:-1], ValueError,
                              r"inconsistent numbers of samples"),
    "None": (lambda y: None, ValueError, r"The 'y_true' parameter of \w+ must be"),
}


@pytest.mark.parametrize("case", list(BAD_SCORE_Y))
@pytest.mark.parametrize("name", ESTIMATORS)
def test_bad_y_in_score(name, case):
    edit, exc, pattern = BAD_SCORE_Y[case]
    with pytest.raises(exc, match=pattern):
        fitted(name).score(X, edit(TARGETS[name]))


@pytest.mark.parametrize("name", ["MLPClassifier", "Perceptron"])
def test_mixed_labels_in_score(name):
    with pytest.raises(TypeError, match=r"y must hold class labels of one kind"):
        fitted(name).score(X, _labels([1, "a"]))


# --- sample weights ----------------------------------------------------------

BAD_WEIGHTS = {
    "NaN": (np.where(np.arange(20) == 0, np.nan, 1.0), ValueError,
            r"Input sample_weight contains NaN"),
    "inf": (np.where(np.arange(20) == 0, np.inf, 1.0), ValueError,
            r"Input sample_weight contains infinity"),
    "length differs from X": (np.ones(19), ValueError,
                              r"sample_weight.shape == \(19,\), expected \(20,\)"),
    "2-d": (np.ones((20, 1)), ValueError, r"Sample weights must be 1D array or scalar"),
    "strings": (np.array(["a"] * 20), ValueError, r"could not convert string to float"),
    "all zero": (np.zeros(20), ValueError,
                 r"Sample weights must contain at least one non-zero number"),
    "complex": (np.ones(20, complex), ValueError, r"Complex data not supported"),
}


@pytest.mark.parametrize("case", list(BAD_WEIGHTS))
@pytest.mark.parametrize("name", ESTIMATORS)
def test_bad_sample_weight(name, case):
    sw, exc, pattern = BAD_WEIGHTS[case]
    with pytest.raises(exc, match=pattern):
        MAKE[name]().fit(X, TARGETS[name], sample_weight=sw)
    with pytest.raises(exc, match=pattern):
        partial_fit(MAKE[name](), name, X, TARGETS[name], sample_weight=sw)


def test_perceptron_refuses_negative_weights():
    # (The MLPs accept them, as scikit-learn's MLPs do.)
    with pytest.raises(ValueError, match=r"Negative values in data passed to `sample_weight`"):
        MAKE["Perceptron"]().fit(X, Y_CLASS, sample_weight=-np.ones(20))
    with pytest.raises(ValueError, match=r"class_weight must be finite and non-negative"):
        MAKE["Perceptron"](class_weight={0: -1.0}).fit(X, Y_CLASS)


# --- parameters --------------------------------------------------------------

def _constraint(param, name):
    return rf"The '{param}' parameter of {name} must be"


# (parameter, value, exception, message); {name} is the estimator's name.
MLP_BAD_PARAMS = [
    ("hidden_layer_sizes", (0,), ValueError, r"hidden_layer_sizes must be > 0, got \[0\]"),
    ("hidden_layer_sizes", (5, -1), ValueError, r"hidden_layer_sizes must be > 0, got \[5, -1\]"),
    ("hidden_layer_sizes", (3.5,), TypeError,
     r"hidden_layer_sizes must hold integers \(the width of each hidden layer\), got \(3.5,\)"),
    ("hidden_layer_sizes", ("a",), TypeError, r"hidden_layer_sizes must hold integers"),
    ("hidden_layer_sizes", ((2, 3),), TypeError, r"hidden_layer_sizes must hold integers"),
    ("hidden_layer_sizes", None, ValueError, "constraint"),
    ("hidden_layer_sizes", (2**62,), ValueError,
     r"hidden_layer_sizes gives a 4 x 4611686018427387904 weight matrix .*the most an array "
     r"can hold"),
    ("hidden_layer_sizes", (2**64,), ValueError, r"hidden_layer_sizes gives a 4 x 1844674407"),
    ("hidden_layer_sizes", 10**30, ValueError, r"hidden_layer_sizes gives a 4 x 10{30}"),
    ("hidden_layer_sizes", (10**12,), MemoryError,
     r"hidden_layer_sizes=\(1000000000000,\): cannot allocate the \d+ weights \([\d.e+]+ GiB\)"),
    ("hidden_layer_sizes", (10**6, 10**9), MemoryError,
     r"hidden_layer_sizes=\(1000000, 1000000000\): cannot allocate"),
    ("activation", "swish", ValueError, "constraint"),
    ("activation", ["relu", "swish"], ValueError,
     r"activation has 2 entries but there are 1 hidden layers"),
    ("solver", "newton", ValueError, "constraint"),
    ("alpha", -1.0, ValueError, "constraint"),
    ("alpha", np.nan, ValueError, "constraint"),
    ("alpha", np.inf, ValueError, "constraint"),
    ("batch_size", 0, ValueError, "constraint"),
    ("batch_size", -5, ValueError, "constraint"),
    ("batch_size", 2.5, ValueError, "constraint"),
    ("learning_rate", "fast", ValueError, "constraint"),
    ("learning_rate_init", 0.0, ValueError, "constraint"),
    ("learning_rate_init", -1e-3, ValueError, "constraint"),
    ("learning_rate_init", np.nan, ValueError, "constraint"),
    ("learning_rate_init", "big", ValueError, "constraint"),
    ("power_t", -0.5, ValueError, "constraint"),
    ("max_iter", 0, ValueError, "constraint"),
    ("max_iter", -1, ValueError, "constraint"),
    ("max_iter", 2.5, ValueError, "constraint"),
    ("tol", -1.0, ValueError, "constraint"),
    ("tol", np.nan, ValueError, "constraint"),
    ("momentum", 1.5, ValueError, "constraint"),
    ("momentum", -0.1, ValueError, "constraint"),
    ("validation_fraction", 1.0, ValueError, "constraint"),
    ("validation_fraction", -0.1, ValueError, "constraint"),
    ("beta_1", 1.0, ValueError, "constraint"),
    ("beta_2", -0.1, ValueError, "constraint"),
    ("epsilon", 0.0, ValueError, "constraint"),
    ("n_iter_no_change", 0, ValueError, "constraint"),
    ("max_fun", 0, ValueError, "constraint"),
    ("random_state", -1, ValueError, "constraint"),
    ("random_state", "seed", ValueError, "constraint"),
    ("shuffle", "yes", ValueError, "constraint"),
    ("init", "zeros", ValueError, "constraint"),
    ("dropout", 1.0, ValueError, "constraint"),
    ("dropout", -0.1, ValueError, "constraint"),
    ("dropout", np.nan, ValueError, "constraint"),
    ("dropout", [0.5, 0.5], ValueError, r"dropout has 2 entries but there are 1 hidden layers"),
    ("dropout", [1.5], ValueError, r"dropout rates must be in \[0, 1\)"),
    ("batch_norm", "yes", ValueError, "constraint"),
    ("callbacks", 3, ValueError, "constraint"),
    ("callbacks", [3], TypeError,
     r"callbacks\[0\] must be callable as f\(estimator, logs\) or have an "
     r"on_epoch_end\(estimator, logs\) method \(or another hook of "
     r"fastmlp.callbacks.Callback\), got 3"),
    ("progress", "yes", ValueError, "constraint"),
    ("scoring", 3, ValueError, "constraint"),
]
CLASSIFIER_BAD_PARAMS = [
    ("class_weight", "uniform", ValueError, "constraint"),
    ("class_weight", {0: -1.0}, ValueError,
     r"class_weight must map each class to a finite, non-negative weight, got -1.0 for "
     r"class 0"),
    ("class_weight", {0: np.nan}, ValueError,
     r"class_weight must map each class to a finite, non-negative weight, got nan"),
    ("class_weight", {0: "heavy"}, ValueError, r"class_weight must map each class"),
    ("class_weight", {7: 1.0}, ValueError, r"The classes, \[0, 1, 2\], are not in class_weight"),
]
REGRESSOR_BAD_PARAMS = [
    ("loss", "hinge", ValueError, "constraint"),
    ("huber_delta", 0.0, ValueError, "constraint"),
    ("huber_delta", -1.0, ValueError, "constraint"),
    ("out_activation", "softmax", ValueError, "constraint"),
]
PERCEPTRON_BAD_PARAMS = [
    ("penalty", "l3", ValueError, "constraint"),
    ("alpha", -1.0, ValueError, "constraint"),
    ("alpha", np.nan, ValueError, "constraint"),
    ("l1_ratio", 2.0, ValueError, "constraint"),
    ("max_iter", 0, ValueError, "constraint"),
    ("tol", -1.0, ValueError, "constraint"),
    ("eta0", 0.0, ValueError, "constraint"),
    ("eta0", -1.0, ValueError, "constraint"),
    ("eta0", np.inf, ValueError, "constraint"),
    ("n_jobs", "all", ValueError, "constraint"),
    ("n_jobs", 0, ValueError, r"n_jobs == 0 in Parallel has no meaning"),
    ("validation_fraction", 0.0, ValueError, "constraint"),
    ("validation_fraction", 1.0, ValueError, "constraint"),
    ("n_iter_no_change", 0, ValueError, "constraint"),
    ("class_weight", "uniform", ValueError, "constraint"),
    ("class_weight", {0: np.inf}, ValueError, r"class_weight must be finite and non-negative"),
    ("random_state", "seed", ValueError, "constraint"),
]
PARAM_CASES = ([(n, *c) for n in ("MLPClassifier", "MLPRegressor") for c in MLP_BAD_PARAMS]
               + [("MLPClassifier", *c) for c in CLASSIFIER_BAD_PARAMS]
               + [("MLPRegressor", *c) for c in REGRESSOR_BAD_PARAMS]
               + [("Perceptron", *c) for c in PERCEPTRON_BAD_PARAMS])


@pytest.mark.parametrize("name,param,value,exc,pattern", PARAM_CASES,
                         ids=[f"{c[0]}-{c[1]}={c[2]!r}" for c in PARAM_CASES])
def test_bad_parameter(name, param, value, exc, pattern):
    if pattern == "constraint":
        pattern = _constraint(param, name)
    extra = {"early_stopping": True} if param == "validation_fraction" else {}
    with pytest.raises(exc, match=pattern):
        MAKE[name](**{param: value}, **extra).fit(X, TARGETS[name])
    if param == "solver":  # partial_fit exists for the stochastic solvers only
        with pytest.raises(AttributeError, match=rf"This '{name}' has no attribute "
                                                 r"'partial_fit'"):
            _ = MAKE[name](**{param: value}).partial_fit
        return
    # partial_fit validates the same parameters, with the same messages.
    with pytest.raises(exc, match=pattern):
        partial_fit(MAKE[name](**{param: value}, **extra), name, X, TARGETS[name])


def test_huge_batch_size_is_clipped_with_scikit_learns_warning():
    with pytest.warns(UserWarning, match=r"Got `batch_size` less than 1 or larger than sample "
                                         r"size. It is going to be clipped"):
        MLPClassifier(hidden_layer_sizes=(3,), batch_size=10**12, max_iter=1).fit(X, Y_CLASS)


def test_divergence_raises_scikit_learns_non_finite_weights_error():
    with pytest.raises(ValueError, match=r"Solver produced non-finite parameter weights"):
        MLPRegressor(hidden_layer_sizes=(3,), solver="sgd", learning_rate_init=1e5,
                     max_iter=5, random_state=0).fit(X * 1e150, Y_REG * 1e150)
    est = MLPRegressor(hidden_layer_sizes=(3,), solver="sgd", learning_rate_init=1e5,
                       random_state=0).partial_fit(X * 1e150, Y_REG * 1e150)  # 1 epoch: finite
    with pytest.raises(ValueError, match=r"Solver produced non-finite parameter weights"):
        est.partial_fit(X * 1e150, Y_REG * 1e150)
    with pytest.raises(ValueError, match=r"Floating-point under-/overflow occurred at epoch"):
        Perceptron(eta0=1e308, max_iter=5).fit(X * 1e308, Y_CLASS)


# --- partial_fit and validation data ------------------------------------------

@pytest.mark.parametrize("name", ["MLPClassifier", "Perceptron"])
def test_partial_fit_errors(name):
    with pytest.raises(ValueError, match=r"classes must be passed on the first call to "
                                         r"partial_fit"):
        MAKE[name]().partial_fit(X, Y_CLASS)
    with pytest.raises(TypeError, match=r"classes must hold class labels of one kind"):
        MAKE[name]().partial_fit(X, Y_CLASS, classes=_labels([0, "a"]))
    unknown = {"MLPClassifier": r"`y` has classes not in `self.classes_`",
               "Perceptron": r"y contains labels \[2\] that are not in classes \[0, 1\]"}
    with pytest.raises(ValueError, match=unknown[name]):
        MAKE[name]().partial_fit(X, Y_CLASS, classes=[0, 1])
    est = MAKE[name]().partial_fit(X, Y_CLASS, classes=CLASSES)
    with pytest.raises(ValueError, match=r"is not the same as on last call to partial_fit"):
        est.partial_fit(X, Y_CLASS, classes=np.arange(4))
    balanced = {"MLPClassifier": r"class_weight='balanced' needs the whole training set",
                "Perceptron": r"class_weight 'balanced' is not supported for partial_fit"}
    with pytest.raises(ValueError, match=balanced[name]):
        MAKE[name](class_weight="balanced").partial_fit(X, Y_CLASS, classes=CLASSES)


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_partial_fit_needs_a_stochastic_solver(name):
    with pytest.raises(AttributeError, match=rf"This '{name}' has no attribute 'partial_fit'"):
        _ = MAKE[name](solver="lbfgs").partial_fit
    with pytest.raises(ValueError, match=r"partial_fit does not support early_stopping=True"):
        partial_fit(MAKE[name](early_stopping=True), name, X, TARGETS[name])


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_bad_validation_data(name):
    y = TARGETS[name]
    cases = [((X,), ValueError, r"validation_data must be a pair \(X_val, y_val\)"),
             ((X[:, :3], y), ValueError, r"X has 3 features, but \w+ is expecting 4"),
             ((X, y[:-1]), ValueError, r"inconsistent numbers of samples"),
             ((X[:0], y[:0]), ValueError, r"Found array with 0 sample"),
             ((_with(np.nan), y), ValueError, r"Input X contains NaN"),
             ((_csr_with(lambda M: M.indptr.__setitem__(2, 10**8)), y), ValueError,
              r"the sparse matrix X_val has an invalid indptr")]
    if name == "MLPClassifier":
        cases.append(((X, y + 5), ValueError, r"y_val has classes not seen in training: "
                                              r"\[5, 6, 7\]"))
    else:
        cases.append(((X, np.c_[y, y]), ValueError, r"y_val has 2 outputs, the training "
                                                    r"targets 1"))
    for data, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            MAKE[name]().fit(X, y, validation_data=data)


def test_warm_start_with_a_changed_network():
    est = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, warm_start=True).fit(X, Y_CLASS)
    est.set_params(hidden_layer_sizes=(4,))
    with pytest.raises(ValueError, match=r"The network's shape changed since the previous fit"):
        est.fit(X, Y_CLASS)
    est = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, warm_start=True).fit(X, Y_CLASS)
    with pytest.raises(ValueError, match=r"warm_start can only be used where `y` has the same "
                                         r"classes"):
        est.fit(X, Y_CLASS % 2)


# --- fastmlp.kernels -------------------------------------------------------------

A = RNG.random((3, 4))
B = RNG.random((4, 5))
BIAS = RNG.random(5)
Z = RNG.standard_normal((3, 4))
LABELS = np.array([0, 3, 1])


def _readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def _step_arrays(dtype=np.float64, n=6):
    return np.ones(n, dtype), np.full(n, 0.5, dtype), np.zeros(n, dtype), np.zeros(n, dtype)


def _sgd(**kw):
    p, g, v, _ = _step_arrays()
    args = {"param": p, "grad": g, "velocity": v, "learning_rate": 0.1, **kw}
    return lambda k: k.sgd_step(args["param"], args["grad"], args["velocity"],
                                **{a: args[a] for a in args if a not in ("param", "grad",
                                                                          "velocity")})


def _adam(**kw):
    p, g, m, v = _step_arrays()
    args = {"param": p, "grad": g, "m": m, "v": v, "t": 1, **kw}
    return lambda k: k.adam_step(args["param"], args["grad"], args["m"], args["v"],
                                 **{a: args[a] for a in args
                                    if a not in ("param", "grad", "m", "v")})


def _torch_rule(rule, s0=None, s1=None, **kw):
    p, g, m, v = _step_arrays()
    states = [m if s0 is None else s0] + ([v if s1 is None else s1]
                                          if rule in ("adamw", "nadam") else [])
    return lambda k: getattr(k, rule + "_step")(p, g, *states, **kw)


_shared = np.zeros(6)
_big_a, _big_b = np.zeros((2**20, 1), np.float32), np.zeros((1, 2**20), np.float32)

# (label, call(module), exception, message); module is kernels (or reference).
KERNEL_CASES = [
    # gemm
    ("gemm a list", lambda k: k.gemm(A.tolist(), B), TypeError,
     r"a must be a numpy.ndarray, got list"),
    ("gemm a None", lambda k: k.gemm(None, B), TypeError,
     r"a must be a numpy.ndarray, got NoneType"),
    ("gemm a int64", lambda k: k.gemm(A.astype(np.int64), B), TypeError,
     r"a must have dtype float32 or float64, got int64"),
    ("gemm a float16", lambda k: k.gemm(A.astype(np.float16), B), TypeError,
     r"a must have dtype float32 or float64, got float16"),
    ("gemm a complex", lambda k: k.gemm(A.astype(complex), B), TypeError,
     r"a must have dtype float32 or float64, got complex128"),
    ("gemm a strings", lambda k: k.gemm(A.astype(str), B), TypeError,
     r"a must have dtype float32 or float64, got <U"),
    ("gemm a object", lambda k: k.gemm(A.astype(object), B), TypeError,
     r"a must have dtype float32 or float64, got object"),
    ("gemm a bool", lambda k: k.gemm(A > 0.5, B), TypeError,
     r"a must have dtype float32 or float64, got bool"),
    ("gemm b other dtype", lambda k: k.gemm(A, B.astype(np.float32)), TypeError,
     r"b must have dtype float64 like the other inputs, got float32"),
    ("gemm a 1-d", lambda k: k.gemm(A[0], B), ValueError, r"a.* must be 2-dimensional"),
    ("gemm b 3-d", lambda k: k.gemm(A, B[None]), ValueError, r"b.* must be 2-dimensional"),
    ("gemm inner sizes differ", lambda k: k.gemm(A, B[:3]), ValueError,
     r"op\(a\) has 4 columns but op\(b\) has 3 rows"),
    ("gemm trans_a sizes differ", lambda k: k.gemm(A, B, trans_a=True), ValueError,
     r"op\(a\) has 3 columns but op\(b\) has 4 rows"),
    ("gemm alpha string", lambda k: k.gemm(A, B, alpha="2"), TypeError,
     r"alpha must be a real number, got '2'"),
    ("gemm alpha None", lambda k: k.gemm(A, B, alpha=None), TypeError,
     r"alpha must be a real number, got None"),
    ("gemm alpha NaN", lambda k: k.gemm(A, B, alpha=np.nan), ValueError,
     r"alpha must be finite, got nan"),
    ("gemm beta inf", lambda k: k.gemm(A, B, beta=np.inf, out=np.zeros((3, 5))), ValueError,
     r"beta must be finite, got inf"),
    ("gemm out list", lambda k: k.gemm(A, B, out=[[0.0] * 5] * 3), TypeError,
     r"out must be a numpy.ndarray, got list"),
    ("gemm out dtype", lambda k: k.gemm(A, B, out=np.zeros((3, 5), np.float32)), TypeError,
     r"out must have dtype float64, got float32"),
    ("gemm out shape", lambda k: k.gemm(A, B, out=np.zeros((5, 3))), ValueError,
     r"out must have shape \(3, 5\), got \(5, 3\)"),
    ("gemm out Fortran", lambda k: k.gemm(A, B, out=np.zeros((3, 5), order="F")), ValueError,
     r"out must be C-contiguous"),
    ("gemm out read-only", lambda k: k.gemm(A, B, out=_readonly(np.zeros((3, 5)))),
     ValueError, r"out must be writeable"),
    ("gemm huge result", lambda k: k.gemm(_big_a, _big_b), MemoryError,
     r"Unable to allocate 4.00 TiB for an array with shape \(1048576, 1048576\)"),
    # dense
    ("dense x int", lambda k: k.dense(A.astype(int), B, BIAS), TypeError,
     r"x must have dtype float32 or float64, got int64"),
    ("dense w other dtype", lambda k: k.dense(A, B.astype(np.float32), BIAS), TypeError,
     r"w must have dtype float64 like the other inputs, got float32"),
    ("dense b list", lambda k: k.dense(A, B, BIAS.tolist()), TypeError,
     r"b must be a numpy.ndarray, got list"),
    ("dense b shape", lambda k: k.dense(A, B, BIAS[:4]), ValueError,
     r"b must have shape \(5,\) to match w, got \(4,\)"),
    ("dense x/w sizes differ", lambda k: k.dense(A[:, :3], B, BIAS), ValueError,
     r"x has 3 features \(columns\) but w has 4 rows"),
    ("dense x 3-d", lambda k: k.dense(A[None], B, BIAS), ValueError,
     r"x.* must be 2-dimensional"),
    ("dense unknown activation", lambda k: k.dense(A, B, BIAS, "swish"), ValueError,
     r"activation must be one of \[.*\], got 'swish'"),
    ("dense parameter the activation lacks", lambda k: k.dense(A, B, BIAS, "relu", alpha=1.0),
     TypeError, r"activation 'relu' got unexpected parameter\(s\) \['alpha'\]"),
    ("dense NaN parameter", lambda k: k.dense(A, B, BIAS, "leaky_relu",
                                              negative_slope=np.nan),
     ValueError, r"negative_slope must be finite, got nan"),
    ("dense string parameter", lambda k: k.dense(A, B, BIAS, "elu", alpha="big"), TypeError,
     r"alpha must be a real number, got 'big'"),
    # activation, activation_grad
    ("activation 0-d z", lambda k: k.activation(np.array(1.0), "tanh"), ValueError,
     r"z must have at least 1 dimension, got a 0-dimensional array"),
    ("activation z list", lambda k: k.activation([1.0, 2.0], "tanh"), TypeError,
     r"z must be a numpy.ndarray, got list"),
    ("activation z int", lambda k: k.activation(np.arange(4), "tanh"), TypeError,
     r"z must have dtype float32 or float64, got int64"),
    ("activation z complex", lambda k: k.activation(Z.astype(complex), "tanh"), TypeError,
     r"z must have dtype float32 or float64, got complex128"),
    ("activation unknown name", lambda k: k.activation(Z, "Tanh"), ValueError,
     r"name must be one of \[.*\], got 'Tanh'"),
    ("activation name not a string", lambda k: k.activation(Z, 3), ValueError,
     r"name must be one of \[.*\], got 3"),
    ("activation infinite parameter", lambda k: k.activation(Z, "elu", alpha=np.inf),
     ValueError, r"alpha must be finite, got inf"),
    ("activation out shape", lambda k: k.activation(Z, "tanh", out=np.zeros(12)), ValueError,
     r"out must have shape \(3, 4\), got \(12,\)"),
    ("activation out read-only", lambda k: k.activation(Z, "tanh", out=_readonly(Z)),
     ValueError, r"out must be writeable"),
    ("activation_grad of heaviside", lambda k: k.activation_grad(Z, "heaviside"), ValueError,
     r"activation 'heaviside' is forward-only"),
    ("activation_grad softmax without grad_output", lambda k: k.activation_grad(Z, "softmax"),
     ValueError, r"softmax's derivative is a Jacobian matrix.*pass grad_output"),
    ("activation_grad grad_output shape", lambda k: k.activation_grad(Z, "tanh", Z[:2]),
     ValueError, r"grad_output must have the shape of z \(3, 4\), got \(2, 4\)"),
    ("activation_grad grad_output dtype",
     lambda k: k.activation_grad(Z, "tanh", Z.astype(np.float32)), TypeError,
     r"grad_output must have dtype float64 like the other inputs, got float32"),
    # softmax_cross_entropy
    ("softmax_cross_entropy 1-d logits", lambda k: k.softmax_cross_entropy(Z[0], LABELS[:1]),
     ValueError, r"logits must be 2-dimensional \(n_samples, n_classes\), got shape \(4,\)"),
    ("softmax_cross_entropy no samples",
     lambda k: k.softmax_cross_entropy(Z[:0], LABELS[:0]), ValueError,
     r"logits must have at least one sample and one class, got shape \(0, 4\)"),
    ("softmax_cross_entropy no classes",
     lambda k: k.softmax_cross_entropy(Z[:, :0], LABELS), ValueError,
     r"logits must have at least one sample and one class, got shape \(3, 0\)"),
    ("softmax_cross_entropy logits int",
     lambda k: k.softmax_cross_entropy(np.ones((3, 4), int), LABELS), TypeError,
     r"logits must have dtype float32 or float64, got int64"),
    ("softmax_cross_entropy y list", lambda k: k.softmax_cross_entropy(Z, [0, 1, 2]),
     TypeError, r"y must be a numpy.ndarray, got list"),
    ("softmax_cross_entropy label too large",
     lambda k: k.softmax_cross_entropy(Z, np.array([0, 7, 1])), ValueError,
     r"labels in y must be in \[0, 4\) for 4 classes, got values from 0 to 7"),
    ("softmax_cross_entropy negative label",
     lambda k: k.softmax_cross_entropy(Z, np.array([0, -1, 1])), ValueError,
     r"labels in y must be in \[0, 4\) for 4 classes, got values from -1 to 1"),
    ("softmax_cross_entropy labels length",
     lambda k: k.softmax_cross_entropy(Z, LABELS[:2]), ValueError,
     r"integer labels y must have shape \(3,\), got \(2,\)"),
    ("softmax_cross_entropy probabilities shape",
     lambda k: k.softmax_cross_entropy(Z, Z[:, :3]), ValueError,
     r"probability targets y must have the shape of logits \(3, 4\), got \(3, 3\)"),
    ("softmax_cross_entropy probabilities dtype",
     lambda k: k.softmax_cross_entropy(Z, Z.astype(np.float32)), TypeError,
     r"y must have dtype float64 like the other inputs, got float32"),
    ("softmax_cross_entropy string labels",
     lambda k: k.softmax_cross_entropy(Z, np.array(["a", "b", "c"])), TypeError,
     r"y must hold integer class labels or float probabilities, got dtype <U1"),
    ("softmax_cross_entropy complex y",
     lambda k: k.softmax_cross_entropy(Z, Z.astype(complex)), TypeError,
     r"y must hold integer class labels or float probabilities, got dtype complex128"),
    # sample_weight (the same check in every loss)
    ("sample_weight NaN",
     lambda k: k.softmax_cross_entropy(Z, LABELS, np.array([1.0, np.nan, 1.0])), ValueError,
     r"sample_weight must be finite \(as float64\), got a NaN or inf"),
    ("sample_weight overflowing float32",
     lambda k: k.softmax_cross_entropy(Z.astype(np.float32), LABELS, np.array([1e39, 1, 1])),
     ValueError, r"sample_weight must be finite \(as float32\)"),
    ("sample_weight negative",
     lambda k: k.sigmoid_binary_cross_entropy(Z, Z > 0, np.array([1.0, -2.0, 1.0])),
     ValueError, r"sample_weight must be non-negative, got a minimum of -2.0"),
    ("sample_weight all zero", lambda k: k.regression_loss(Z, Z, "huber", np.zeros(3)),
     ValueError, r"sample_weight must have a positive sum, got all zeros"),
    ("sample_weight sum overflows",
     lambda k: k.regression_loss(Z, Z, "squared_error", np.full(3, 1e308)), ValueError,
     r"sample_weight must have a finite sum, got an overflow"),
    ("sample_weight length", lambda k: k.regression_loss(Z, Z, "squared_error", np.ones(2)),
     ValueError, r"sample_weight must have shape \(3,\), one weight per sample, got \(2,\)"),
    ("sample_weight strings",
     lambda k: k.regression_loss(Z, Z, "squared_error", np.array(["1", "1", "1"])), TypeError,
     r"sample_weight must contain real numbers, got dtype <U1"),
    # sigmoid_binary_cross_entropy
    ("sigmoid_binary_cross_entropy 3-d logits",
     lambda k: k.sigmoid_binary_cross_entropy(Z[None], Z[None] > 0), ValueError,
     r"logits must be 1-dimensional \(n_samples,\) or 2-dimensional"),
    ("sigmoid_binary_cross_entropy no samples",
     lambda k: k.sigmoid_binary_cross_entropy(Z[:0], Z[:0] > 0), ValueError,
     r"logits must have at least one sample, got shape \(0, 4\)"),
    ("sigmoid_binary_cross_entropy y shape",
     lambda k: k.sigmoid_binary_cross_entropy(Z, Z[:, :2] > 0), ValueError,
     r"y must have the shape of the predictions \(3, 4\), got \(3, 2\)"),
    ("sigmoid_binary_cross_entropy integer y not 0/1",
     lambda k: k.sigmoid_binary_cross_entropy(Z, np.full((3, 4), 2)), ValueError,
     r"integer y must contain only 0 and 1 \(binary targets\), got values from 2 to 2"),
    ("sigmoid_binary_cross_entropy y strings",
     lambda k: k.sigmoid_binary_cross_entropy(Z, np.full((3, 4), "1")), TypeError,
     r"y must have a float, integer or bool dtype, got <U1"),
    # regression_loss and its shorthands
    ("regression_loss unknown loss", lambda k: k.regression_loss(Z, Z, "hinge"), ValueError,
     r"loss must be one of \[.*\], got 'hinge'"),
    ("regression_loss loss None", lambda k: k.regression_loss(Z, Z, None), ValueError,
     r"loss must be one of \[.*\], got None"),
    ("regression_loss parameter the loss lacks",
     lambda k: k.regression_loss(Z, Z, "squared_error", delta=1.0), TypeError,
     r"loss 'squared_error' got unexpected parameter\(s\) \['delta'\]"),
    ("regression_loss delta zero", lambda k: k.regression_loss(Z, Z, "huber", delta=0.0),
     ValueError, r"delta must be > 0, got 0.0"),
    ("regression_loss delta NaN", lambda k: k.regression_loss(Z, Z, "huber", delta=np.nan),
     ValueError, r"delta must be finite, got nan"),
    ("regression_loss delta string", lambda k: k.regression_loss(Z, Z, "huber", delta="1"),
     TypeError, r"delta must be a real number, got '1'"),
    ("regression_loss y_pred int", lambda k: k.regression_loss(np.ones((3, 4), int), Z),
     TypeError, r"y_pred must have dtype float32 or float64, got int64"),
    ("regression_loss y_pred 3-d", lambda k: k.regression_loss(Z[None], Z[None]), ValueError,
     r"y_pred must be 1-dimensional \(n_samples,\) or 2-dimensional"),
    ("regression_loss no samples", lambda k: k.regression_loss(Z[:0], Z[:0]), ValueError,
     r"y_pred must have at least one sample, got shape \(0, 4\)"),
    ("regression_loss y shape", lambda k: k.regression_loss(Z, Z.T), ValueError,
     r"y must have the shape of the predictions \(3, 4\), got \(4, 3\)"),
    ("regression_loss y complex", lambda k: k.regression_loss(Z, Z.astype(complex)), TypeError,
     r"y must have a float, integer or bool dtype, got complex128"),
    ("squared_error y shape", lambda k: k.squared_error(Z, Z[:2]), ValueError,
     r"y must have the shape of the predictions"),
    ("absolute_error y_pred list", lambda k: k.absolute_error(Z.tolist(), Z), TypeError,
     r"y_pred must be a numpy.ndarray, got list"),
    ("huber negative delta", lambda k: k.huber(Z, Z, delta=-1.0), ValueError,
     r"delta must be > 0, got -1.0"),
    ("poisson negative targets", lambda k: k.poisson(Z, -np.abs(Z) - 1), ValueError,
     r"y must be non-negative for the poisson loss, got a minimum of -"),
    # sgd_step
    ("sgd_step param list", lambda k: k.sgd_step([1.0], np.ones(1), np.zeros(1),
                                                 learning_rate=0.1),
     TypeError, r"param must be a numpy.ndarray, got list"),
    ("sgd_step param int", lambda k: k.sgd_step(np.ones(3, int), np.ones(3), np.zeros(3),
                                                learning_rate=0.1),
     TypeError, r"param must have dtype float32 or float64, got int64"),
    ("sgd_step param not contiguous",
     lambda k: k.sgd_step(np.ones(12)[::2], np.ones(6), np.zeros(6), learning_rate=0.1),
     ValueError, r"param must be C-contiguous \(it is updated in place\)"),
    ("sgd_step param read-only",
     lambda k: k.sgd_step(_readonly(np.ones(6)), np.ones(6), np.zeros(6), learning_rate=0.1),
     ValueError, r"param must be writeable \(it is updated in place\)"),
    ("sgd_step velocity shape", _sgd(velocity=np.zeros(5)), ValueError,
     r"velocity must have the shape of param \(6,\), got \(5,\)"),
    ("sgd_step grad dtype", _sgd(grad=np.ones(6, np.float32)), TypeError,
     r"grad must have dtype float64 like the other inputs, got float32"),
    ("sgd_step grad shape", _sgd(grad=np.ones(7)), ValueError,
     r"grad must have the shape of param \(6,\), got \(7,\)"),
    ("sgd_step param and velocity overlap", _sgd(param=_shared, velocity=_shared), ValueError,
     r"param and velocity must not overlap"),
    ("sgd_step learning_rate negative", _sgd(learning_rate=-1.0), ValueError,
     r"learning_rate must be >= 0, got -1.0"),
    ("sgd_step learning_rate NaN", _sgd(learning_rate=np.nan), ValueError,
     r"learning_rate must be finite, got nan"),
    ("sgd_step learning_rate bool", _sgd(learning_rate=True), TypeError,
     r"learning_rate must be a real number, got True"),
    ("sgd_step learning_rate string", _sgd(learning_rate="0.1"), TypeError,
     r"learning_rate must be a real number, got '0.1'"),
    ("sgd_step momentum above 1", _sgd(momentum=1.5), ValueError,
     r"momentum must be in \[0, 1\], got 1.5"),
    ("sgd_step momentum negative", _sgd(momentum=-0.1), ValueError,
     r"momentum must be in \[0, 1\], got -0.1"),
    # adam_step
    ("adam_step t zero", _adam(t=0), ValueError,
     r"t must be >= 1 \(the step number, counted from 1\), got 0"),
    ("adam_step t negative", _adam(t=-5), ValueError, r"t must be >= 1 .*got -5"),
    ("adam_step t float", _adam(t=2.5), TypeError,
     r"t must be an integer \(the step number\), got 2.5"),
    ("adam_step t bool", _adam(t=True), TypeError, r"t must be an integer .*got True"),
    ("adam_step t string", _adam(t="1"), TypeError, r"t must be an integer .*got '1'"),
    ("adam_step beta_1 one", _adam(beta_1=1.0), ValueError,
     r"beta_1 must be in \[0, 1\), got 1.0"),
    ("adam_step beta_2 negative", _adam(beta_2=-0.1), ValueError,
     r"beta_2 must be in \[0, 1\), got -0.1"),
    ("adam_step epsilon zero", _adam(epsilon=0.0), ValueError, r"epsilon must be > 0, got 0.0"),
    ("adam_step epsilon inf", _adam(epsilon=np.inf), ValueError,
     r"epsilon must be finite, got inf"),
    ("adam_step learning_rate negative", _adam(learning_rate=-1e-3), ValueError,
     r"learning_rate must be >= 0"),
    ("adam_step m and v overlap", _adam(m=_shared, v=_shared), ValueError,
     r"m and v must not overlap"),
    ("adam_step v shape", _adam(v=np.zeros((2, 3))), ValueError,
     r"v must have the shape of param \(6,\), got \(2, 3\)"),
    ("adam_step m float32", _adam(m=np.zeros(6, np.float32)), TypeError,
     r"m must have dtype float64 like the other inputs, got float32"),
    # the torch.optim rules share the checks
    ("rmsprop_step rho one", _torch_rule("rmsprop", rho=1.0), ValueError,
     r"rho must be in \[0, 1\), got 1.0"),
    ("rmsprop_step square_avg float32", _torch_rule("rmsprop", s0=np.zeros(6, np.float32)),
     TypeError, r"square_avg must have dtype float64 like the other inputs, got float32"),
    ("adagrad_step epsilon zero", _torch_rule("adagrad", epsilon=0.0), ValueError,
     r"epsilon must be > 0, got 0.0"),
    ("adagrad_step state_sum read-only", _torch_rule("adagrad", s0=_readonly(np.zeros(6))),
     ValueError, r"state_sum must be writeable"),
    ("adamw_step t zero", _torch_rule("adamw", t=0), ValueError, r"t must be >= 1"),
    ("adamw_step weight_decay negative", _torch_rule("adamw", t=1, weight_decay=-0.1),
     ValueError, r"weight_decay must be >= 0, got -0.1"),
    ("nadam_step momentum_decay string",
     _torch_rule("nadam", t=1, mu_product=1.0, momentum_decay="0.004"), TypeError,
     r"momentum_decay must be a real number"),
    ("nadam_step m and v overlap", _torch_rule("nadam", t=1, mu_product=1.0, s0=_shared,
                                               s1=_shared), ValueError,
     r"m and v must not overlap"),
    # one step of an optimizer object (Keras's arithmetic among them)
    ("optimizer_step state shape", lambda mod: mod.optimizer_step(
        np.zeros(6), np.ones(6), _keras_adam(state=[np.zeros(6), np.zeros(5)])), ValueError,
     r"shape"),
    ("optimizer_step unknown kind", lambda mod: mod.optimizer_step(
        np.zeros(6), np.ones(6), _keras_adam(kind="sgdd")), ValueError,
     r"unknown optimizer kind 'sgdd'"),
]


def _keras_adam(**damage):
    from fastmlp.optimizers import Adam

    opt = Adam(6, arithmetic="keras")
    for name, value in damage.items():
        setattr(opt, name, value)
    return opt


@pytest.mark.parametrize("label,call,exc,pattern", KERNEL_CASES,
                         ids=[c[0] for c in KERNEL_CASES])
def test_bad_kernel_arguments(label, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call(kernels)


# The twin raises the same exception types (its messages differ in places);
# the huge-allocation case is left out, since NumPy would try to compute it.
@pytest.mark.parametrize("label,call,exc,pattern",
                         [c for c in KERNEL_CASES if c[0] != "gemm huge result"],
                         ids=[c[0] for c in KERNEL_CASES if c[0] != "gemm huge result"])
def test_reference_raises_the_same_exception_types(label, call, exc, pattern):
    with pytest.raises(exc):
        call(reference)


def test_every_kernel_is_covered():
    called = {c[0].split()[0] for c in KERNEL_CASES}
    assert set(kernels.__all__) <= called, set(kernels.__all__) - called


def _nan_inf(shape, dtype=np.float64):
    a = RNG.standard_normal(shape).astype(dtype)
    a.flat[1], a.flat[-1] = np.nan, np.inf
    return a


# Non-finite values inside arrays are data to the kernels, not errors: NaN
# in gives NaN out, inf follows the IEEE rules. Element-wise kernels put them
# exactly where the NumPy twin does; the two that couple a row (softmax and
# its cross-entropy) make some output of each such row non-finite in both,
# though not necessarily the same elements (the C cross-entropy gradient of
# a row with a +inf logit is NaN only there, the twin's is NaN throughout).
# Each call: (name, row-coupled, call(module, dtype)).
NON_FINITE_CALLS = [
    ("gemm", False, lambda k, d: k.gemm(_nan_inf((3, 4), d), np.ones((4, 5), d))),
    ("dense relu", False, lambda k, d: k.dense(_nan_inf((3, 4), d), np.ones((4, 5), d),
                                               np.zeros(5, d), "relu")),
    ("activation tanh", False, lambda k, d: k.activation(_nan_inf((3, 4), d), "tanh")),
    ("activation_grad logistic", False,
     lambda k, d: k.activation_grad(_nan_inf((3, 4), d), "logistic")),
    ("sigmoid_binary_cross_entropy", False,
     lambda k, d: k.sigmoid_binary_cross_entropy(_nan_inf((3, 4), d), np.ones((3, 4), d))[1]),
    ("regression_loss", False,
     lambda k, d: k.regression_loss(_nan_inf((3, 4), d), np.zeros((3, 4), d))[1]),
    ("activation softmax", True, lambda k, d: k.activation(_nan_inf((3, 4), d), "softmax")),
    ("softmax_cross_entropy", True,
     lambda k, d: k.softmax_cross_entropy(_nan_inf((3, 4), d), LABELS)[1]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("label,rows,call", NON_FINITE_CALLS,
                         ids=[c[0] for c in NON_FINITE_CALLS])
def test_non_finite_values_propagate_like_the_reference(label, rows, call, dtype):
    state = RNG.bit_generator.state
    got = call(kernels, dtype)
    RNG.bit_generator.state = state
    want = call(reference, dtype)
    RNG.bit_generator.state = state
    bad_rows = ~np.isfinite(_nan_inf((3, 4), dtype)).all(axis=1)  # rows 0 and 2
    assert bad_rows.tolist() == [True, False, True]
    if rows:
        for out in (got, want):
            assert (~np.isfinite(out[bad_rows])).any(axis=1).all()
    else:
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
        np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
        assert np.isnan(got[0]).any()  # the NaN input's row
    for out in (got, want):
        assert np.isfinite(out[~bad_rows]).all()
    np.testing.assert_allclose(got[~bad_rows], want[~bad_rows], rtol=1e-5)


def test_non_finite_values_in_optimizer_steps_propagate():
    for step in ("sgd", "adam", "rmsprop", "adagrad", "adamw", "nadam"):
        p, g, a, b = _step_arrays()
        g[2] = np.nan
        if step == "sgd":
            kernels.sgd_step(p, g, a, learning_rate=0.1)
        elif step == "adam":
            kernels.adam_step(p, g, a, b, t=1)
        elif step in ("rmsprop", "adagrad"):
            getattr(kernels, step + "_step")(p, g, a)
        elif step == "adamw":
            kernels.adamw_step(p, g, a, b, t=1)
        else:
            kernels.nadam_step(p, g, a, b, t=1, mu_product=1.0)
        assert np.isnan(p[2]) and np.isfinite(np.delete(p, 2)).all(), step


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_and_zero_width_arrays_are_valid_kernel_input(dtype):
    """Sizes of zero are not errors where the result is defined: an empty
    product, a sum over k = 0 (zeros, plus the bias in dense), an
    activation of nothing, an optimizer step over nothing."""
    a, b = np.ones((0, 4), dtype), np.ones((4, 5), dtype)
    assert kernels.gemm(a, b).shape == (0, 5)
    out = kernels.gemm(np.ones((3, 0), dtype), np.ones((0, 5), dtype))
    np.testing.assert_array_equal(out, np.zeros((3, 5), dtype))
    bias = np.arange(5, dtype=dtype)
    np.testing.assert_array_equal(
        kernels.dense(np.ones((3, 0), dtype), np.ones((0, 5), dtype), bias, "relu"),
        np.broadcast_to(bias, (3, 5)))
    for z in (np.ones((0, 4), dtype), np.ones((3, 0), dtype), np.ones((2, 0, 3), dtype)):
        assert kernels.activation(z, "softmax").shape == z.shape
        assert kernels.activation_grad(z, "tanh").shape == z.shape
    p = np.ones(0, dtype)
    kernels.sgd_step(p, p.copy(), np.zeros(0, dtype), learning_rate=0.1)
    kernels.adam_step(p, p.copy(), np.zeros(0, dtype), np.zeros(0, dtype), t=1)


# --- command line ------------------------------------------------------------------

CLI_CASES = [
    (["nonsense"], r"argument command: invalid choice: 'nonsense'"),
    (["--bogus"], r"unrecognized arguments: --bogus"),
    (["info", "extra"], r"unrecognized arguments: extra"),
    (["demo", "--epochs"], r"argument --epochs: expected one argument"),
    (["demo", "--epochs", "many"], r"argument --epochs: invalid int value: 'many'"),
    (["demo", "--epochs", "1.5"], r"argument --epochs: invalid int value: '1.5'"),
    (["demo", "--epochs", "0"], r"--epochs must be at least 1"),
    (["demo", "--epochs", "-3"], r"--epochs must be at least 1"),
    (["demo", "--seed", "-1"], r"--seed must be in \[0, 2\*\*32 - 1\]"),
    (["demo", "--seed", str(2**32)], r"--seed must be in \[0, 2\*\*32 - 1\]"),
    (["demo", "--seed", "abc"], r"argument --seed: invalid int value: 'abc'"),
    (["bench", "--scale", "3"], r"--scale must be in \(0, 1\]"),
    (["bench", "--scale", "0"], r"--scale must be in \(0, 1\]"),
    (["bench", "--scale", "-0.5"], r"--scale must be in \(0, 1\]"),
    (["bench", "--scale", "nan"], r"--scale must be in \(0, 1\]"),
    (["bench", "--scale", "inf"], r"--scale must be in \(0, 1\]"),
    (["bench", "--scale", "half"], r"argument --scale: invalid float value: 'half'"),
    (["bench", "--epochs", "0"], r"--epochs must be at least 1"),
]


@pytest.mark.parametrize("argv,pattern", CLI_CASES, ids=[" ".join(c[0]) for c in CLI_CASES])
def test_cli_bad_usage(argv, pattern, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert re.search(pattern, err), err
    assert err.startswith("usage: python -m fastmlp") and "Traceback" not in err


def test_cli_without_a_command_prints_help_and_returns_2(capsys):
    assert cli_main([]) == 2
    assert "demo" in capsys.readouterr().out


# --- NaN / infinity found by the gather ----------------------------------------
#
# Shuffled dense X is checked row by row by the first epoch's gather (the pass
# that reads it anyway) instead of by validate_data. Whatever minibatch finds
# the bad row, the estimator must end as scikit-learn's would: the same error
# message, and no trace of the call (unfitted after a first fit; the previous
# state, bit for bit, after partial_fit or a warm start).

def _gather_problem(regressor, bad, row, n=450):
    rng = np.random.default_rng(0)
    X = rng.random((n, 6))
    y = X[:, 1] if regressor else (X[:, 0] > 0.5).astype(int)
    X_bad = X.copy()
    X_bad[row, 3] = bad
    return X, X_bad, y


@pytest.mark.parametrize("regressor", [False, True], ids=["classifier", "regressor"])
@pytest.mark.parametrize("bad, row", [(np.nan, 0), (np.inf, 225), (-np.inf, 449)])
@pytest.mark.parametrize("compute_dtype", [None, "bfloat16"])
def test_gather_finds_non_finite_x_as_scikit_learn_validation(regressor, bad, row,
                                                             compute_dtype):
    import sklearn.neural_network as sk

    X, X_bad, y = _gather_problem(regressor, bad, row)
    cls = MLPRegressor if regressor else MLPClassifier
    params = dict(hidden_layer_sizes=(4,), max_iter=3, random_state=0, batch_size=50)
    est = cls(compute_dtype=compute_dtype, **params)
    assert _gather_checks_finite(est, X_bad)
    with pytest.raises(ValueError) as ours:
        est.fit(X_bad, y)
    # (bfloat16 mode trains float32: scikit-learn's message for float32 X.)
    X_theirs = X_bad.astype(np.float32) if compute_dtype else X_bad
    with pytest.raises(ValueError) as theirs:
        getattr(sk, cls.__name__)(**params).fit(X_theirs, y)
    assert str(ours.value) == str(theirs.value)
    assert not hasattr(est, "coefs_") and not hasattr(est, "n_features_in_")

    # partial_fit and a warm-started fit: the model is left as it was.
    import pickle

    for warm in (False, True):
        est = cls(compute_dtype=compute_dtype, warm_start=warm, **params)
        est.fit(X, y)
        before = pickle.dumps(est)
        with pytest.raises(ValueError, match="Input X contains"):
            if warm:
                est.fit(X_bad, y)
            else:
                est.partial_fit(X_bad, y)
        assert pickle.dumps(est) == before
        est.partial_fit(X, y)  # and it trains on as before
        assert est.n_iter_ == 1


def test_paths_without_the_gather_keep_validate_datas_check():
    X, X_bad, y = _gather_problem(False, np.nan, 100)
    for params in (dict(shuffle=False), dict(early_stopping=True), dict(solver="lbfgs")):
        est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, **params)
        assert not _gather_checks_finite(est, X_bad)
        with pytest.raises(ValueError, match="Input X contains NaN"):
            est.fit(X_bad, y)
    assert not _gather_checks_finite(MLPClassifier(), sp.csr_matrix(X_bad))


def test_sparse_dataframe_x_is_checked_after_validation():
    """A DataFrame looks dense before validation but may become sparse: then
    nothing is gathered and its values are checked as scikit-learn does."""
    import sklearn.neural_network as sk
    from conftest import require_module

    pd = require_module("pandas")
    X = sp.random(60, 5, density=0.5, random_state=0, format="csr")
    X.data[3] = np.nan
    frame = pd.DataFrame.sparse.from_spmatrix(X)
    y = np.arange(60) % 2
    messages = []
    for cls in (MLPClassifier, sk.MLPClassifier):
        with pytest.raises(ValueError) as caught:
            cls(max_iter=2).fit(frame, y)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and messages[0].startswith("Input X contains NaN")


def test_engine_epoch_check_finite_flag():
    """The engine checks rows only when asked (the estimator asks for the
    first epoch of a call): unasked, NaN rows train through."""
    from fastmlp._kernels import MLPEngine, NonFiniteInput

    X, X_bad, y = _gather_problem(True, np.nan, 7, n=40)
    est = MLPRegressor(hidden_layer_sizes=(3,), max_iter=1, random_state=0).fit(X, y)
    engine = est.network_.engine(20, np.float64, gather_rows=True)
    assert isinstance(engine, MLPEngine)
    Y = y.reshape(-1, 1)
    order = np.arange(40)
    coefs = [c.copy() for c in est.coefs_]
    intercepts = [b.copy() for b in est.intercepts_]
    opt = _mlp._new_optimizer(est, engine.n_params, np.float64)
    with pytest.raises(NonFiniteInput):
        engine.epoch(coefs, intercepts, X_bad, Y, None, order, 20, opt, check_finite=True)
    assert opt.t == 0  # row 7 is in the first minibatch: nothing stepped
    loss = engine.epoch(coefs, intercepts, X_bad, Y, None, order, 20, opt)
    assert np.isnan(loss) and opt.t == 2
