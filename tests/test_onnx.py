"""fastmlp.export_onnx: the exported graph, run by onnxruntime, predicts what
the estimator predicts, for every hidden activation x every output x both
dtypes, batch norm, per-layer activations and any class labels; bad input
is a clear exception.

Tolerances. The graph and the estimator compute the same formulas from the
same weights; they differ only in rounding:

- the products: onnxruntime's MatMul sums each dot product in another order
  than fastmlp's GEMM, which moves a result by up to (K - 1) / 2 ulps of
  the sum of the |terms| for K terms (K <= 8 here);
- the functions: onnxruntime's Exp, Log and Tanh against glibc's, and the
  compositions that stand in for expm1, log1p and erfc (see
  fastmlp._onnx). Measured one function at a time on a wide grid
  (test_activation_matches_the_c_formula, identity weights so that nothing
  but the function differs): at most 4 ulps, 7 for float64 tanh
  (onnxruntime's own Tanh) and 15 for float64 gelu (the float64 erfc
  composition is within 12 ulps of the exact value, plus glibc's error);
  the tests allow 4, 8 and 16 (FUNCTION_ULPS).

A layer therefore adds a few ulps of the scale of its values (summation
<= 3.5 ulps for K <= 8, the function <= 4 relative to its own value), plus
what its weights amplify of the error coming in. Networks are compared at
ULPS_PER_LAYER = 8 ulps of their dtype per weight layer, relative to
max(1, |output|): 2.9e-6 for a float32 network of 3 weight layers, 5.3e-15
in float64. The largest error observed over all the models here is 2 such
ulps, a 12x margin. Labels must be equal exactly: they are taken from the
probabilities, and check_mlp verifies that no sample of these data is
within the tolerance of a tie, where they could legitimately differ.
"""
import sys

import numpy as np
import pytest
from sklearn import neural_network as sk
from sklearn.exceptions import NotFittedError

from conftest import require_module

onnx = require_module("onnx")
ort = require_module("onnxruntime")

import fastmlp  # noqa: E402
from fastmlp import MLPClassifier, MLPRegressor, Perceptron, export_onnx  # noqa: E402

HIDDEN_ACTIVATIONS = ["identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "selu",
                      "gelu", "softplus", "maxout"]
CLASSIFIER_OUTPUTS = ["multiclass", "binary", "multilabel"]
REGRESSOR_OUTPUTS = ["identity", "relu", "softplus", "logistic", "tanh", "poisson"]
DTYPES = [np.float32, np.float64]
ULPS_PER_LAYER = 8



def test_the_hidden_activations_tested_are_all_there_are():
    from fastmlp._mlp import _HIDDEN_ACTIVATIONS

    assert set(HIDDEN_ACTIVATIONS) == _HIDDEN_ACTIVATIONS
    assert set(REGRESSOR_OUTPUTS) - {"poisson"} == set(
        MLPRegressor._parameter_constraints["out_activation"][0].options)


# -- helpers ----------------------------------------------------------------------


def run_onnx(est, tmp_path, X):
    """Export `est`, load the file in onnxruntime, run it on X: {output name: array}."""
    path = tmp_path / "model.onnx"
    model = export_onnx(est, path)
    assert path.read_bytes() == model.SerializeToString()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": X})))


def tolerance(dtype, n_layers):
    return ULPS_PER_LAYER * n_layers * np.finfo(dtype).eps


def assert_close(got, want, n_layers):
    """got == want within the module's tolerance (see the docstring)."""
    assert got.dtype == want.dtype and got.shape == want.shape
    tol = tolerance(want.dtype, n_layers)
    scale = max(1.0, float(np.max(np.abs(want))))
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


def assert_same_labels(got, want):
    if want.dtype.kind == "U":
        assert got.dtype == object  # onnxruntime returns str objects
    else:
        assert got.dtype == want.dtype
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def features(dtype, n=120, seed=0):
    """Features that drive the hidden units over both signs and into the
    tails: mostly N(0, 1.5^2), one row in ten scaled up by 6."""
    rng = np.random.default_rng(seed)
    X = 1.5 * rng.standard_normal((n, 5))
    X[::10] *= 6.0
    return X.astype(dtype)


def targets(output, X, seed=1):
    """Training targets for each kind of output."""
    rng = np.random.default_rng(seed)
    lin = X.astype(np.float64) @ rng.standard_normal((X.shape[1], 3)) / 4
    if output == "multiclass":
        return np.argmax(lin, axis=1)
    if output == "binary":
        return (lin[:, 0] > 0).astype(np.int64)
    if output == "multilabel":
        return (lin > 0).astype(np.int64)
    y = np.sin(lin[:, 0]) + lin[:, 1]
    if output == "relu" or output == "softplus":
        return np.abs(y)
    if output == "logistic":
        return 1 / (1 + np.exp(-y))
    if output == "tanh":
        return np.tanh(y)
    if output == "poisson":
        return rng.poisson(np.exp(np.clip(y / 2, -3, 3))).astype(np.float64)
    return y


def fit(output, activation, dtype, **params):
    """A small network (two hidden layers) fitted for `output`."""
    X = features(dtype)
    y = targets(output, X)
    common = dict(hidden_layer_sizes=(8, 6), activation=activation, max_iter=40,
                  learning_rate_init=0.02, random_state=0)
    common.update(params)
    if output in CLASSIFIER_OUTPUTS:
        est = MLPClassifier(**common)
    elif output == "poisson":
        est = MLPRegressor(loss="poisson", **common)
    else:
        est = MLPRegressor(out_activation=output, **common)
    return est.fit(X, y), features(dtype, n=300, seed=2)


def decision_margin(est, proba):
    """How far the probabilities of each sample are from changing its label,
    at the least: the gap between the top two classes, or |p - 0.5|."""
    if est.out_activation_ == "softmax":
        top = np.sort(proba, axis=1)
        return float(np.min(top[:, -1] - top[:, -2]))
    return float(np.min(np.abs(proba[:, 1:] - 0.5)))


def check_mlp(est, X, tmp_path):
    """The exported graph's outputs against the estimator's methods on X."""
    out = run_onnx(est, tmp_path, X)
    n_layers = len(est.coefs_)
    if isinstance(est, MLPClassifier):
        assert sorted(out) == ["label", "probabilities"]
        proba = est.predict_proba(X)
        assert_close(out["probabilities"], proba, n_layers)
        # Exact equality of labels is only meaningful if no sample is within
        # rounding of a tie; these data have none (checked, not assumed).
        assert decision_margin(est, proba) > tolerance(proba.dtype, n_layers)
        assert_same_labels(out["label"], est.predict(X))
    else:
        assert list(out) == ["variable"]
        assert_close(out["variable"], est.predict(X), n_layers)
    return out


# -- every activation x every output x both dtypes ----------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("output", CLASSIFIER_OUTPUTS + REGRESSOR_OUTPUTS)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_predictions_match(activation, output, dtype, tmp_path):
    est, X = fit(output, activation, dtype)
    assert est.coefs_[0].dtype == dtype
    out = check_mlp(est, X, tmp_path)
    if output == "multiclass":
        assert out["probabilities"].shape == (len(X), 3)
    elif output == "binary":
        assert out["probabilities"].shape == (len(X), 2)
        assert out["label"].shape == (len(X),)
    elif output == "multilabel":
        assert out["label"].shape == (len(X), 3)
        assert out["label"].dtype == np.int64
    else:
        assert out["variable"].shape == (len(X),)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("activation", [a for a in HIDDEN_ACTIVATIONS if a != "maxout"])
def test_batch_norm_uses_the_folded_weights(activation, dtype, tmp_path):
    # (maxout does not combine with batch_norm: tests/test_maxout.py)
    est, X = fit("multiclass", activation, dtype, batch_norm=True)
    # Trained statistics, not the initial ones: the folding matters.
    assert not np.allclose(est.bn_running_means_[0], 0)
    assert not np.allclose(est.bn_running_vars_[0], 1)
    check_mlp(est, X, tmp_path)
    reg, X = fit("identity", activation, dtype, batch_norm=True)
    check_mlp(reg, X, tmp_path)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("activations", [("gelu", "selu", "softplus"),
                                         ("logistic", "leaky_relu", "elu"),
                                         ("tanh", "relu", "identity"),
                                         ("maxout", "tanh", "maxout")])
def test_per_layer_activations(activations, dtype, tmp_path):
    for output in ("multiclass", "tanh"):
        est, X = fit(output, list(activations), dtype, hidden_layer_sizes=(8, 7, 6))
        check_mlp(est, X, tmp_path)


@pytest.mark.parametrize("pieces", [3, 5])
def test_maxout_pieces(pieces, tmp_path):
    """Reshape + ReduceMax follows the piece layout (unit j: columns j*k ..
    j*k + k - 1) for other piece counts, in a list with other activations."""
    for output in ("multiclass", "identity"):
        est, X = fit(output, ["relu", "maxout"], np.float64, maxout_pieces=pieces)
        assert est.coefs_[1].shape == (8, 6 * pieces)
        check_mlp(est, X, tmp_path)


def test_regression_with_several_outputs(tmp_path):
    X = features(np.float64)
    Y = np.column_stack([targets("identity", X, seed=s) for s in (1, 2, 3)])
    est = MLPRegressor(hidden_layer_sizes=(8,), activation="gelu", max_iter=40,
                       learning_rate_init=0.02, random_state=0).fit(X, Y)
    out = check_mlp(est, X, tmp_path)
    assert out["variable"].shape == (len(X), 3)


@pytest.mark.parametrize("labels", [
    np.array(["cat", "dog", "fish"]), np.array(["no", "yes"]),
    np.array(["ünï", "côdé", "字"], dtype=object), np.array([3, 5, 9], dtype=np.int32),
    np.array([-1, 1], dtype=np.int8), np.array([0.0, 1.0, 2.0]), np.array([False, True])],
    ids=lambda a: f"{a.dtype}-{len(a)}")
def test_class_labels_of_any_dtype(labels, tmp_path):
    X = features(np.float32)
    index = targets("multiclass" if len(labels) == 3 else "binary", X)
    est = MLPClassifier(hidden_layer_sizes=(6,), max_iter=30, learning_rate_init=0.02,
                        random_state=0).fit(X, labels[index])
    out = check_mlp(est, X, tmp_path)
    assert set(out["label"]) <= set(labels.tolist())


def test_single_class_model(tmp_path):
    # Trained on one class (scikit-learn's constant model): the label is that class.
    X = features(np.float64)
    est = MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(
        X, np.full(len(X), "only"))
    out = check_mlp(est, X, tmp_path)
    assert (out["label"] == "only").all() and out["probabilities"].shape == (len(X), 2)


# -- one function at a time, over its whole range ---------------------------------


# Ulps allowed per function (see the module docstring), by dtype.
FUNCTION_ULPS = {np.float32: dict(default=4), np.float64: dict(default=4, tanh=8, gelu=16)}


def argument_grid(dtype):
    """Both signs, from 1e-30 to where exp overflows, densely around 0..20."""
    big = 88.0 if dtype == np.float32 else 709.0
    magnitudes = np.concatenate([np.logspace(-30, np.log10(big), 3000),
                                 np.linspace(0.0, 20.0, 2001)])
    return np.concatenate([-magnitudes, magnitudes]).astype(dtype)[:, None]


def identity_network(est, dtype):
    """Set a fitted 1-1-1 network's weights to 1 and biases to 0: then both
    the estimator and the graph compute act(x) with exact products, and any
    difference is the function's. (Maxout's unit has two pieces, weighted
    1 and -0.5, exact too: max(x, -x / 2).)"""
    first = np.ones((1, 1), dtype) if est.activation != "maxout" else np.array([[1, -0.5]], dtype)
    est.coefs_ = [first, np.ones((1, 1), dtype)]
    est.intercepts_ = [np.zeros(first.shape[1], dtype), np.zeros(1, dtype)]
    return est


def assert_within_ulps(got, want, ulps):
    assert got.dtype == want.dtype
    tiny = np.finfo(want.dtype).tiny  # below it, results are subnormal: absolute
    error = np.abs(got.astype(np.float64) - want.astype(np.float64))
    allowed = ulps * np.spacing(np.abs(want)).astype(np.float64)
    bad = error > np.maximum(allowed, tiny)
    assert not bad.any(), (f"{bad.sum()} values beyond {ulps} ulps, e.g. got "
                           f"{got[bad][:3]} for {want[bad][:3]}")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_activation_matches_the_c_formula(activation, dtype, tmp_path):
    x = argument_grid(dtype)
    est = MLPRegressor(hidden_layer_sizes=(1,), activation=activation, max_iter=1)
    est = identity_network(est.fit(np.zeros((4, 1), dtype), np.zeros(4)), dtype)
    got = run_onnx(est, tmp_path, x)["variable"]
    ulps = FUNCTION_ULPS[dtype].get(activation, FUNCTION_ULPS[dtype]["default"])
    assert_within_ulps(got, est.predict(x), ulps)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("output", REGRESSOR_OUTPUTS + ["binary"])
def test_output_activation_matches_the_c_formula(output, dtype, tmp_path):
    x = argument_grid(dtype)
    if output == "poisson":
        x = x[x[:, 0] < np.log(np.finfo(dtype).max)]  # exp(x) finite
    if output == "binary":
        est = MLPClassifier(hidden_layer_sizes=(1,), activation="identity", max_iter=1)
        est.fit(np.zeros((4, 1), dtype), [0, 1, 0, 1])
    elif output == "poisson":
        est = MLPRegressor(loss="poisson", hidden_layer_sizes=(1,), activation="identity",
                           max_iter=1).fit(np.zeros((4, 1), dtype), np.ones(4))
    else:
        est = MLPRegressor(out_activation=output, hidden_layer_sizes=(1,),
                           activation="identity", max_iter=1)
        est.fit(np.zeros((4, 1), dtype), np.full(4, 0.5))
    est = identity_network(est, dtype)
    out = run_onnx(est, tmp_path, x)
    ulps = FUNCTION_ULPS[dtype].get(output, FUNCTION_ULPS[dtype]["default"])
    if output == "binary":
        assert_within_ulps(out["probabilities"][:, 1], est.predict_proba(x)[:, 1], ulps)
        assert_same_labels(out["label"], est.predict(x))
    else:
        assert_within_ulps(out["variable"], est.predict(x), ulps)


# -- the Perceptron -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("labels", [np.array([0, 1]), np.array(["a", "b", "c", "d"])],
                         ids=["binary", "multiclass-str"])
def test_perceptron(labels, dtype, tmp_path):
    X = features(dtype)
    rng = np.random.default_rng(3)
    index = np.argmax(X.astype(np.float64) @ rng.standard_normal((5, len(labels))), axis=1)
    est = Perceptron(max_iter=20, tol=None).fit(X, labels[index])
    assert est.coef_.dtype == dtype
    X_test = features(dtype, n=300, seed=2)
    out = run_onnx(est, tmp_path, X_test)
    assert sorted(out) == ["label", "scores"]
    assert_close(out["scores"], est.decision_function(X_test), 1)
    assert_same_labels(out["label"], est.predict(X_test))


# -- the model itself ----------------------------------------------------------------


def test_batch_dimension_is_dynamic(tmp_path):
    est, _ = fit("multiclass", "relu", np.float32)
    path = tmp_path / "model.onnx"
    model = export_onnx(est, path)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and dims[1].dim_value == 5
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (1, 7, 5000):
        X = features(np.float32, n=n, seed=n)
        label, proba = session.run(["label", "probabilities"], {"X": X})
        assert proba.shape == (n, 3)
        np.testing.assert_array_equal(label, est.predict(X))


def test_model_metadata_and_opset(tmp_path):
    est, _ = fit("identity", "tanh", np.float64)
    model = export_onnx(est, tmp_path / "m.onnx")
    assert model.producer_name == "fastmlp"
    assert model.producer_version == fastmlp.__version__
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    assert model.ir_version == 8
    props = {p.key: p.value for p in model.metadata_props}
    assert props == {"estimator": "MLPRegressor", "fastmlp_version": fastmlp.__version__}
    onnx.checker.check_model(onnx.load(str(tmp_path / "m.onnx")), full_check=True)
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


def test_accepts_path_objects_and_strings(tmp_path):
    est, X = fit("binary", "elu", np.float64)
    export_onnx(est, str(tmp_path / "a.onnx"))
    export_onnx(est, tmp_path / "b.onnx")
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()


def test_from_sklearn_model_exports(tmp_path):
    X = features(np.float64)
    y = targets("multiclass", X)
    theirs = sk.MLPClassifier(hidden_layer_sizes=(6,), max_iter=30, random_state=0).fit(X, y)
    out = check_mlp(fastmlp.from_sklearn(theirs), X, tmp_path)
    np.testing.assert_array_equal(out["label"], theirs.predict(X))


# -- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize("make", [MLPClassifier, MLPRegressor, Perceptron])
def test_unfitted_estimator(make, tmp_path):
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        export_onnx(make(), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_wrong_object_type(tmp_path):
    X = features(np.float64)
    theirs = sk.MLPRegressor(hidden_layer_sizes=(3,), max_iter=5).fit(X, X[:, 0])
    with pytest.raises(TypeError, match=r"sklearn\.neural_network.*fastmlp\.from_sklearn"):
        export_onnx(theirs, tmp_path / "m.onnx")
    for obj in (None, "model", {"coefs_": []}):
        with pytest.raises(TypeError, match="export_onnx exports a fitted fastmlp "
                                            "MLPClassifier, MLPRegressor or Perceptron"):
            export_onnx(obj, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_unwritable_path(tmp_path):
    est, _ = fit("binary", "relu", np.float32)
    missing = tmp_path / "no_such_directory" / "m.onnx"
    with pytest.raises(FileNotFoundError, match="no_such_directory"):
        export_onnx(est, missing)
    with pytest.raises(IsADirectoryError):
        export_onnx(est, tmp_path)
    with pytest.raises(TypeError):
        export_onnx(est, 42.0)


def test_labels_onnx_cannot_hold(tmp_path):
    # fit() only makes classes_ of numbers, booleans or str; set by hand,
    # anything else is refused with the reason, not written half-way.
    est, _ = fit("multiclass", "relu", np.float64)
    est.classes_ = np.array([1, "b", 3.0], dtype=object)
    with pytest.raises(TypeError, match=r"object array of \['float', 'int', 'str'\]"):
        export_onnx(est, tmp_path / "m.onnx")
    est.classes_ = np.array(["2024-01-01", "2024-01-02", "2024-01-03"], dtype="datetime64[D]")
    with pytest.raises(TypeError, match=r"dtype datetime64\[D\]"):
        export_onnx(est, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_missing_onnx_names_the_extra(monkeypatch, tmp_path):
    est, _ = fit("binary", "relu", np.float64)
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "fastmlp\[onnx\]"'):
        export_onnx(est, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
