"""skl2onnx.to_onnx on pipelines holding fastmlp's MLPs (fastmlp._skl2onnx):
onnxruntime gives what the pipeline's predict / predict_proba give.

Tolerances, as in tests/test_onnx.py (same graph): ULPS_PER_LAYER ulps of
the model's dtype per weight layer, relative to max(1, |output|); labels
exactly (check that no sample is within that of a tie). To hold the MLP's
part to that, the reference feeds the MLP the features that skl2onnx's
graph of the preprocessing computes (its float32 StandardScaler rounds
otherwise than scikit-learn's, by an ulp of the input, which the network
then amplifies); the end-to-end comparison with the scikit-learn pipeline
is made too, at the float32 input's precision.
"""
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits, make_multilabel_classification
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from conftest import require_module

skl2onnx = require_module("skl2onnx")
ort = require_module("onnxruntime")

import fastmlp  # noqa: E402

HIDDEN_ACTIVATIONS = ["identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "selu",
                      "gelu", "softplus"]
ULPS_PER_LAYER = 8



def _run(model, X):
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {session.get_inputs()[0].name: X})))


def _close(got, expected, dtype, n_layers):
    tol = ULPS_PER_LAYER * n_layers * np.finfo(dtype).eps
    err = np.abs(got - expected) / np.maximum(1.0, np.abs(expected))
    assert err.max() <= tol, f"max relative error {err.max():.3g} > {tol:.3g}"
    return tol


def _digits(n=400):
    X, y = load_digits(return_X_y=True)
    return X[:n], y[:n]


def _features(pipe, X):
    """What skl2onnx's graph of the preprocessing steps feeds the MLP."""
    return _run(skl2onnx.to_onnx(Pipeline(pipe.steps[:-1]), X[:1]), X)["variable"]


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch_norm"])
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("model_dtype", [np.float64, np.float32])
def test_classifier_pipeline(activation, batch_norm, model_dtype):
    X, y = _digits()
    mlp = fastmlp.MLPClassifier((16, 8), activation=activation, batch_norm=batch_norm,
                                max_iter=20, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)]).fit(
        X.astype(model_dtype), y)
    X32 = X.astype(np.float32)  # float32 input, also to a float64 model
    out = _run(skl2onnx.to_onnx(pipe, X32[:1], options={id(mlp): {"zipmap": False}}), X32)
    assert out["probabilities"].dtype == np.float32
    features = _features(pipe, X32)
    expected = mlp.predict_proba(features)
    tol = _close(out["probabilities"], expected, np.float32, 3)
    top2 = np.sort(expected, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 4 * tol
    np.testing.assert_array_equal(out["label"][clear], mlp.predict(features)[clear])
    # End to end against the scikit-learn pipeline: float32 preprocessing
    # differs by an ulp of the input, times the network's gain.
    np.testing.assert_allclose(out["probabilities"], pipe.predict_proba(X32), atol=1e-4)


@pytest.mark.parametrize("activation", ["relu", "gelu", "softplus"])
def test_float64_pipeline_and_regressor(activation):
    X, y = _digits()
    mlp = fastmlp.MLPClassifier((16,), activation=activation, batch_norm=True, max_iter=20,
                                random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("pca", PCA(20, random_state=0)),
                     ("mlp", mlp)]).fit(X, y)
    out = _run(skl2onnx.to_onnx(pipe, X[:1], options={id(mlp): {"zipmap": False}}), X)
    assert out["probabilities"].dtype == np.float64
    _close(out["probabilities"], pipe.predict_proba(X), np.float64, 2 + 2)
    np.testing.assert_array_equal(out["label"], pipe.predict(X))

    Xd, yd = load_diabetes(return_X_y=True)
    reg = Pipeline([("scale", StandardScaler()),
                    ("mlp", fastmlp.MLPRegressor(hidden_layer_sizes=(16, 8),
                                                 activation=activation, max_iter=30,
                                                 random_state=0))]).fit(Xd, yd)
    out = _run(skl2onnx.to_onnx(reg, Xd[:1]), Xd)
    assert out["variable"].shape == (len(Xd), 1)  # skl2onnx's regressor shape
    _close(out["variable"].ravel(), reg.predict(Xd), np.float64, 3)
    X32 = Xd.astype(np.float32)
    out = _run(skl2onnx.to_onnx(reg, X32[:1]), X32)
    assert out["variable"].dtype == np.float32
    _close(out["variable"].ravel(), reg[-1].predict(_features(reg, X32)), np.float32, 3)


def test_zipmap_labels_and_options():
    X, y = _digits()
    names = np.array(list("abcdefghij"))
    mlp = fastmlp.MLPClassifier((8,), max_iter=20, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)]).fit(X, names[y])
    # Default options: skl2onnx's ZipMap, a dict per row (float32 even for
    # float64 input, the only type ZipMap takes).
    for X_in in (X, X.astype(np.float32)):
        out = _run(skl2onnx.to_onnx(pipe, X_in[:1]), X_in)
        np.testing.assert_array_equal(out["output_label"], pipe.predict(X))
        first = out["output_probability"][0]
        assert sorted(first) == list(names)
        np.testing.assert_allclose([first[k] for k in names], pipe.predict_proba(X[:1])[0],
                                   rtol=1e-5, atol=1e-6)
    # nocl: class indices; integer labels are int64.
    out = _run(skl2onnx.to_onnx(pipe, X[:1], options={id(mlp): {"zipmap": False,
                                                                  "nocl": True}}), X)
    np.testing.assert_array_equal(out["label"], np.searchsorted(mlp.classes_, pipe.predict(X)))
    ints = fastmlp.MLPClassifier((8,), max_iter=20, random_state=0).fit(X, y.astype(np.int32))
    out = _run(skl2onnx.to_onnx(ints, X[:1], options={id(ints): {"zipmap": False}}), X)
    assert out["label"].dtype == np.int64
    np.testing.assert_array_equal(out["label"], ints.predict(X))


def test_binary_multilabel_and_single_class():
    X, y = _digits()
    binary = fastmlp.MLPClassifier((8,), max_iter=20, random_state=0).fit(X, y % 2)
    out = _run(skl2onnx.to_onnx(binary, X[:1], options={id(binary): {"zipmap": False}}), X)
    _close(out["probabilities"], binary.predict_proba(X), np.float64, 2)
    np.testing.assert_array_equal(out["label"], binary.predict(X))
    Xm, Ym = make_multilabel_classification(n_samples=80, n_classes=3, random_state=0)
    multi = fastmlp.MLPClassifier((8,), max_iter=30, random_state=0).fit(Xm, Ym)
    out = _run(skl2onnx.to_onnx(multi, Xm[:1], options={id(multi): {"zipmap": False}}), Xm)
    _close(out["probabilities"], multi.predict_proba(Xm), np.float64, 2)
    np.testing.assert_array_equal(out["label"], multi.predict(Xm))
    one = fastmlp.MLPClassifier((8,), max_iter=5, random_state=0).fit(X, np.full(len(X), 7))
    out = _run(skl2onnx.to_onnx(one, X[:1], options={id(one): {"zipmap": False}}), X)
    assert (out["label"] == 7).all()
    _close(out["probabilities"], one.predict_proba(X), np.float64, 2)


def test_old_opsets_and_other_inputs_are_refused():
    X, y = _digits()
    mlp = fastmlp.MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(RuntimeError, match="needs opset >= 13"):
        skl2onnx.to_onnx(mlp, X[:1], target_opset=12)
    with pytest.raises(TypeError, match="float32 or float64 input"):
        skl2onnx.to_onnx(mlp, X[:1].astype(np.int64))


def test_registration_is_lazy():
    """import fastmlp does not import skl2onnx; importing skl2onnx afterwards
    registers the converters (the finder then leaves sys.meta_path); with
    skl2onnx imported first, import fastmlp registers at once."""
    code = """
import sys
import fastmlp
from fastmlp._skl2onnx import _RegisterAfterImport
assert "skl2onnx" not in sys.modules
assert any(isinstance(f, _RegisterAfterImport) for f in sys.meta_path)
import skl2onnx
from skl2onnx._supported_operators import sklearn_operator_name_map
assert sklearn_operator_name_map[fastmlp.MLPClassifier] == "FastmlpMLPClassifier"
assert sklearn_operator_name_map[fastmlp.MLPRegressor] == "FastmlpMLPRegressor"
assert not any(isinstance(f, _RegisterAfterImport) for f in sys.meta_path)
"""
    subprocess.run([sys.executable, "-c", code], check=True)
    code_first = """
import skl2onnx
import fastmlp
from skl2onnx._supported_operators import sklearn_operator_name_map
assert sklearn_operator_name_map[fastmlp.MLPClassifier] == "FastmlpMLPClassifier"
"""
    subprocess.run([sys.executable, "-c", code_first], check=True)


def test_bfloat16_batch_norm_pipeline_gives_predict_proba():
    """A bfloat16 model with batch norm through skl2onnx: the graph rounds
    the products' operands to bfloat16 as predict does, so it gives
    predict_proba's numbers (atol 1e-3, tests/test_bf16_training.py says
    why), not float32's, which differed by 0.030 (issue 18)."""
    import warnings

    X, y = _digits()
    X = X.astype(np.float32)
    mlp = fastmlp.MLPClassifier((32, 16), batch_norm=True, max_iter=20, random_state=0,
                                compute_dtype="bfloat16")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)]).fit(X, y)
    out = _run(skl2onnx.to_onnx(pipe, X[:1], options={id(mlp): {"zipmap": False}}), X)
    np.testing.assert_allclose(out["probabilities"], mlp.predict_proba(_features(pipe, X)),
                               atol=1e-3)
