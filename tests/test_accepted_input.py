"""Every input form scikit-learn accepts works, with the same results as the
equivalent C-contiguous float array.

The dtype rule is scikit-learn's (validate_data with dtype=(float64,
float32)): float32 data train float32 weights; float64 data train float64;
everything else (float16, integers, bools, lists, DataFrames of such
columns) is converted to float64 and trains float64, exactly as if the
caller had converted it. Prediction computes in the weights' dtype.

Dense layouts (Fortran order, row- or column-strided and reversed views,
read-only arrays and memory maps) give bit-identical models and
predictions: the data reach C as the same C-ordered values. Sparse
matrices train through the sparse x dense product in C, so their results
agree to rounding, not bit for bit.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Perceptron as SkPerceptron
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from fastmlp import MLPClassifier, MLPRegressor, Perceptron

from conftest import require_module

pd = require_module("pandas")



RNG = np.random.default_rng(7)
X = RNG.random((60, 6))
Y_CLASS = (X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 2] > 0.7)
Y_REG = X @ RNG.standard_normal(6)

MAKE = {
    "MLPClassifier": lambda: MLPClassifier(hidden_layer_sizes=(7,), max_iter=4, batch_size=16,
                                           random_state=0),
    "MLPRegressor": lambda: MLPRegressor(hidden_layer_sizes=(7,), solver="sgd", max_iter=4,
                                         batch_size=16, random_state=0),
    "MLPRegressor-lbfgs": lambda: MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs",
                                               max_iter=5, random_state=0),
    "Perceptron": lambda: Perceptron(max_iter=4, random_state=0),
}
TARGETS = {"MLPClassifier": Y_CLASS, "MLPRegressor": Y_REG, "MLPRegressor-lbfgs": Y_REG,
           "Perceptron": Y_CLASS}


def outputs(est, X_):
    """Everything the model computes from X_."""
    out = [est.predict(X_)]
    for method in ("predict_proba", "decision_function"):
        if hasattr(est, method):
            out.append(getattr(est, method)(X_))
    return out


def weights(est):
    if hasattr(est, "coefs_"):
        return est.coefs_ + est.intercepts_
    return [est.coef_, est.intercept_]


def _readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def _memmap(tmp_path, a):
    path = tmp_path / "X.npy"
    np.save(path, a)
    mm = np.load(path, mmap_mode="r")
    assert isinstance(mm, np.memmap) and not mm.flags.writeable
    return mm


# name -> (variant(X, tmp_path), the equivalent C-contiguous array, dtype trained in)
X32 = X.astype(np.float32)
X16 = X.astype(np.float16)
XI = np.round(X * 10).astype(np.int32)
DENSE_VARIANTS = {
    "read-only memmap": (lambda t: _memmap(t, X), X, np.float64),
    "read-only memmap float32": (lambda t: _memmap(t, X32), X32, np.float32),
    "read-only array": (lambda t: _readonly(X), X, np.float64),
    "Fortran order": (lambda t: np.asfortranarray(X), X, np.float64),
    "Fortran order float32": (lambda t: np.asfortranarray(X32), X32, np.float32),
    "rows strided X[::2]": (lambda t: np.repeat(X, 2, axis=0)[::2], X, np.float64),
    "columns strided X[:, ::2]": (lambda t: np.repeat(X, 2, axis=1)[:, ::2], X, np.float64),
    "reversed rows (negative stride)": (lambda t: np.ascontiguousarray(X[::-1])[::-1], X,
                                        np.float64),
    "float16": (lambda t: X16, X16.astype(np.float64), np.float64),
    "int32": (lambda t: XI, XI.astype(np.float64), np.float64),
    "int64": (lambda t: XI.astype(np.int64), XI.astype(np.float64), np.float64),
    "uint8": (lambda t: XI.astype(np.uint8), XI.astype(np.float64), np.float64),
    "bool": (lambda t: X > 0.5, (X > 0.5).astype(np.float64), np.float64),
    "list of lists": (lambda t: X.tolist(), X, np.float64),
    "object array of floats": (lambda t: X.astype(object), X, np.float64),
    "DataFrame": (lambda t: pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]), X,
                  np.float64),
    "DataFrame float32": (lambda t: pd.DataFrame(X32, columns=[f"f{i}" for i in range(6)]),
                          X32, np.float32),
    "DataFrame of int and float columns": (
        lambda t: pd.DataFrame({"a": XI[:, 0], "b": X[:, 1], "c": XI[:, 2], "d": X[:, 3],
                                "e": X[:, 4], "f": X[:, 5]}),
        np.column_stack([XI[:, 0], X[:, 1], XI[:, 2], X[:, 3:]]).astype(np.float64),
        np.float64),
}


@pytest.mark.parametrize("variant", list(DENSE_VARIANTS))
@pytest.mark.parametrize("name", list(MAKE))
def test_dense_forms_give_identical_models(name, variant, tmp_path):
    build, equivalent, dtype = DENSE_VARIANTS[variant]
    X_variant = build(tmp_path)
    y = TARGETS[name]
    ref = MAKE[name]().fit(np.ascontiguousarray(equivalent), y)
    est = MAKE[name]().fit(X_variant, y)
    assert all(w.dtype == dtype for w in weights(est)), [w.dtype for w in weights(est)]
    for a, b in zip(weights(est), weights(ref)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(outputs(est, X_variant), outputs(ref, equivalent)):
        np.testing.assert_array_equal(a, b)
    # And a model fitted on plain data predicts from the variant as from it
    # (warning, for a DataFrame, that it was fitted without feature names).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "X has feature names", UserWarning)
        for a, b in zip(outputs(ref, X_variant), outputs(ref, equivalent)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "csr_array", "float32 csr"])
@pytest.mark.parametrize("name", list(MAKE))
def test_sparse_forms_agree_with_dense(name, fmt):
    dense = X32 if fmt.startswith("float32") else X
    Xs = {"csr": sp.csr_matrix, "csc": sp.csc_matrix, "coo": sp.coo_matrix,
          "csr_array": sp.csr_array, "float32 csr": sp.csr_matrix}[fmt](dense)
    y = TARGETS[name]
    ref = MAKE[name]().fit(dense, y)
    est = MAKE[name]().fit(Xs, y)
    assert all(w.dtype == dense.dtype for w in weights(est))
    rtol = 1e-4 if dense.dtype == np.float32 else 1e-9
    for a, b in zip(weights(est), weights(ref)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)
    # The sparse-trained model on sparse input, and the dense-trained one on
    # sparse input, against the dense-trained one on dense input: class
    # labels exactly, computed values to rounding.
    for model in (est, ref):
        for a, b in zip(outputs(model, Xs), outputs(ref, dense)):
            if a.dtype.kind == "f":
                np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)
            else:
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor", "Perceptron"])
def test_partial_fit_accepts_the_same_forms(name, tmp_path):
    y = TARGETS[name]
    extra = {} if name.startswith("MLPRegressor") else {"classes": np.unique(Y_CLASS)}
    ref = MAKE[name]().partial_fit(X, y, **extra)
    for variant in ("read-only memmap", "Fortran order", "columns strided X[:, ::2]",
                    "list of lists", "DataFrame"):
        est = MAKE[name]().partial_fit(DENSE_VARIANTS[variant][0](tmp_path), y, **extra)
        for a, b in zip(weights(est), weights(ref)):
            np.testing.assert_array_equal(a, b)


def test_labels_in_any_form():
    """Class labels as strings, objects, floats, bools, negative ints or a
    pandas Series give the same model as integer labels 0..k-1, with
    classes_ in the caller's form."""
    ref = MAKE["MLPClassifier"]().fit(X, Y_CLASS)
    names = np.array(["cat", "dog", "emu"])
    forms = {"strings": names[Y_CLASS], "objects": names[Y_CLASS].astype(object),
             "floats": Y_CLASS.astype(float), "negative ints": Y_CLASS - 5,
             "Series": pd.Series(names[Y_CLASS]), "list": names[Y_CLASS].tolist()}
    for label, y in forms.items():
        for make in (MAKE["MLPClassifier"], MAKE["Perceptron"]):
            base = make().fit(X, Y_CLASS)
            est = make().fit(X, y)
            for a, b in zip(weights(est), weights(base)):
                np.testing.assert_array_equal(a, b, err_msg=label)
            assert list(est.classes_) == sorted(set(np.asarray(y).tolist())), label
            # The same predictions, as the caller's labels.
            expected = np.unique(np.asarray(y))[np.searchsorted(base.classes_,
                                                                base.predict(X))]
            np.testing.assert_array_equal(est.predict(X), expected, err_msg=label)
    bool_model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(
        X, Y_CLASS > 0)
    assert bool_model.classes_.dtype == bool and bool_model.predict(X).dtype == bool
    assert ref.score(X, Y_CLASS) == ref.score(X, pd.Series(Y_CLASS))


def _frame(columns):
    return pd.DataFrame(X, columns=columns)


COLUMNS = [f"f{i}" for i in range(6)]


@pytest.mark.parametrize("ours,theirs", [
    (lambda: MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0),
     lambda: SkMLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0)),
    (lambda: Perceptron(max_iter=3), lambda: SkPerceptron(max_iter=3)),
], ids=["MLPClassifier", "Perceptron"])
def test_feature_names_behave_as_in_scikit_learn(ours, theirs):
    """feature_names_in_ is set from a DataFrame's columns; predicting with
    missing, renamed or reordered names warns or fails exactly as
    scikit-learn's estimator does."""
    fitted = {"ours": ours().fit(_frame(COLUMNS), Y_CLASS),
              "theirs": theirs().fit(_frame(COLUMNS), Y_CLASS)}
    np.testing.assert_array_equal(fitted["ours"].feature_names_in_, COLUMNS)
    assert fitted["ours"].n_features_in_ == 6

    def outcome(est, X_):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                est.predict(X_)
                result = "ok"
            except Exception as exc:  # compared with scikit-learn's below
                result = (type(exc), str(exc).replace(type(est).__name__, "EST"))
        names = [str(w.message).replace(type(est).__name__, "EST") for w in caught
                 if issubclass(w.category, UserWarning)]
        return result, names

    cases = {"same names": _frame(COLUMNS), "ndarray": X,
             "renamed": _frame([f"g{i}" for i in range(6)]),
             "reordered": _frame(COLUMNS[::-1]), "one missing": _frame(COLUMNS).iloc[:, :5]}
    for label, X_ in cases.items():
        assert outcome(fitted["ours"], X_) == outcome(fitted["theirs"], X_), label
    result, names = outcome(fitted["ours"], X)
    assert result == "ok" and any("does not have valid feature names" in n for n in names)
    result, _ = outcome(fitted["ours"], cases["renamed"])
    assert result[0] is ValueError and "feature names should match" in result[1]
    # Fitted on an array, predicting from a DataFrame warns the other way.
    plain = {"ours": ours().fit(X, Y_CLASS), "theirs": theirs().fit(X, Y_CLASS)}
    assert not hasattr(plain["ours"], "feature_names_in_")
    assert outcome(plain["ours"], cases["same names"]) == outcome(plain["theirs"],
                                                                  cases["same names"])
    assert any("fitted without feature names" in n
               for n in outcome(plain["ours"], cases["same names"])[1])


def test_regressor_targets_in_any_numeric_form():
    ref = MAKE["MLPRegressor"]().fit(X, Y_REG)
    for y in (Y_REG.tolist(), pd.Series(Y_REG), Y_REG.astype(object), Y_REG[:, None],
              np.repeat(Y_REG, 2)[::2]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (y of shape (n, 1): DataConversionWarning)
            est = MAKE["MLPRegressor"]().fit(X, y)
        for a, b in zip(weights(est), weights(ref)):
            np.testing.assert_array_equal(a, b)
    # float32 targets with float32 X train float32; int targets are converted.
    assert MAKE["MLPRegressor"]().fit(X32, Y_REG.astype(np.float32)).coefs_[0].dtype == \
        np.float32
    yi = np.round(Y_REG).astype(int)
    np.testing.assert_array_equal(MAKE["MLPRegressor"]().fit(X, yi).predict(X),
                                  MAKE["MLPRegressor"]().fit(X, yi.astype(float)).predict(X))


def test_sample_weight_in_any_form():
    sw = RNG.random(60) + 0.5
    ref = MAKE["MLPClassifier"]().fit(X, Y_CLASS, sample_weight=sw)
    for form in (sw.tolist(), pd.Series(sw), sw.astype(object), np.repeat(sw, 2)[::2],
                 _readonly(sw)):
        est = MAKE["MLPClassifier"]().fit(X, Y_CLASS, sample_weight=form)
        for a, b in zip(weights(est), weights(ref)):
            np.testing.assert_array_equal(a, b)
    # A scalar weight is every sample's (scikit-learn's convention).
    a = MAKE["MLPClassifier"]().fit(X, Y_CLASS, sample_weight=2.0)
    b = MAKE["MLPClassifier"]().fit(X, Y_CLASS, sample_weight=np.full(60, 2.0))
    for wa, wb in zip(weights(a), weights(b)):
        np.testing.assert_array_equal(wa, wb)
