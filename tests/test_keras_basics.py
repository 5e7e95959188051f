"""fastmlp.keras's parts that need no engine, against what Keras 3 computed
(tests/data/keras_reference/, recorded by scripts/record_keras_reference.py;
Keras is not needed here): losses and their gradients, metrics and the
accuracy rule, initializers, regularizers, MaxNorm, to_categorical.

Tolerances: Keras computes in float32 (the recorded inputs are float32):
values to 1e-6 relative (a float32 sum over a few elements), gradients to
1e-5 relative + 1e-7 absolute.
"""
import json
import os

import numpy as np
import pytest

from fastmlp.keras import constraints, initializers, losses, metrics, regularizers, utils

DATA = os.path.join(os.path.dirname(__file__), "data", "keras_reference")


def _load(name):
    with open(os.path.join(DATA, name + ".json")) as f:
        meta = json.load(f)
    path = os.path.join(DATA, name + ".npz")
    return meta, (np.load(path) if os.path.exists(path) else None)


LOSS_META, LOSS_ARRAYS = _load("losses")
TEXT, _ = _load("text")


@pytest.mark.parametrize("name", sorted(LOSS_META["losses"]))
def test_loss_values_and_gradients_match_keras(name):
    case = LOSS_META["losses"][name]
    t, p = LOSS_ARRAYS[case["y_true"]], LOSS_ARRAYS[case["y_pred"]]
    loss = losses.get(name)
    assert loss(t, p) == pytest.approx(case["value"], rel=1e-6)
    np.testing.assert_allclose(type(loss).fn(t, p) if loss.fn else loss._per_sample(t, p),
                               LOSS_ARRAYS["per_sample/" + name], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(loss.gradient(t, p), LOSS_ARRAYS["grad/" + name],
                               rtol=1e-5, atol=1e-7)


def test_loss_gradients_are_the_derivative_of_the_value(rng):
    """Central differences in float64 (the clipping kept away from)."""
    t = rng.standard_normal((5, 3))
    p = rng.standard_normal((5, 3))
    proba = rng.random((5, 3)) * 0.8 + 0.1
    onehot = np.eye(3)[rng.integers(0, 3, 5)]
    cases = [("mse", t, p), ("mae", t, p), ("huber", t, p), ("log_cosh", t, p),
             ("binary_crossentropy", (t > 0).astype(float), proba),
             ("categorical_crossentropy", onehot, proba),
             ("sparse_categorical_crossentropy", onehot.argmax(1), proba)]
    for name, yt, yp in cases:
        loss = losses.get(name)
        g = loss.gradient(yt, yp)
        h = 1e-6
        num = np.zeros_like(yp)
        for idx in np.ndindex(yp.shape):
            a, b = yp.copy(), yp.copy()
            a[idx] += h
            b[idx] -= h
            num[idx] = (loss(yt, a) - loss(yt, b)) / (2 * h)
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8, err_msg=name)


def test_loss_names_resolve_as_keras():
    want = {"mse": "mean_squared_error", "MSE": "mean_squared_error",
            "mae": "mean_absolute_error", "MAE": "mean_absolute_error",
            "mean_squared_error": "mean_squared_error", "huber": "huber",
            "binary_crossentropy": "binary_crossentropy",
            "categorical_crossentropy": "categorical_crossentropy",
            "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
            "log_cosh": "log_cosh"}
    for spelling, fn_name in want.items():
        assert LOSS_META["resolution"][spelling] == fn_name  # the recorded resolution
        loss = losses.get(spelling)
        assert (loss.fn.__name__ if loss.fn else "huber") == fn_name
    assert isinstance(losses.get("MeanSquaredError"), losses.MeanSquaredError)
    assert isinstance(losses.get(losses.mean_absolute_error), losses.MeanAbsoluteError)
    with pytest.raises(ValueError, match="fastmlp.keras has no 'kl_divergence' loss"):
        losses.get("kl_divergence")


def test_categorical_crossentropy_on_integer_labels_is_keras_shape_error():
    with pytest.raises(ValueError, match=r"target.shape=\(4,\), output.shape=\(4, 3\)"):
        losses.categorical_crossentropy(np.arange(4) % 3, np.full((4, 3), 1 / 3))


def test_sample_weights_and_reductions():
    t, p = np.zeros((4, 1)), np.array([[1.0], [2.0], [0.0], [1.0]])
    assert losses.MeanSquaredError()(t, p) == pytest.approx(1.5)
    assert losses.MeanSquaredError()(t, p, sample_weight=[1, 0, 0, 1]) == pytest.approx(0.5)
    assert losses.MeanSquaredError(reduction="sum")(t, p) == pytest.approx(6.0)
    np.testing.assert_allclose(losses.MeanSquaredError(reduction="none")(t, p), [1, 4, 0, 1])


@pytest.mark.parametrize("name", sorted(LOSS_META["metrics"]))
def test_metric_values_match_keras(name):
    case = LOSS_META["metrics"][name]
    m = metrics.get(name)
    t, p = LOSS_ARRAYS[case["y_true"]], LOSS_ARRAYS[case["y_pred"]]
    m.update_state(t[:3], p[:3])  # two batches, as fit accumulates them
    m.update_state(t[3:], p[3:])
    assert m.result() == pytest.approx(case["value"], rel=1e-6)
    m.reset_state()
    assert m.result() == 0.0


def test_accuracy_resolves_from_the_shapes_as_keras():
    assert isinstance(metrics.resolve("accuracy", (8, 1), (8, 1)), metrics.BinaryAccuracy)
    assert isinstance(metrics.resolve("accuracy", (8,), (8, 10)),
                      metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.resolve("acc", (8, 1), (8, 10)), metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.resolve("accuracy", (8, 10), (8, 10)),
                      metrics.CategoricalAccuracy)
    assert metrics.resolve("acc", (8,), (8, 3)).name == "acc"
    assert metrics.resolve("mse", (8, 1), (8, 1)).name == "mse"
    with pytest.raises(ValueError, match="Could not interpret metric identifier: 'f1'|f1"):
        metrics.get("f1")


def test_to_categorical_matches_keras():
    got = utils.to_categorical([0, 2, 1, 2], 4)
    np.testing.assert_array_equal(got, TEXT["to_categorical"])
    assert got.dtype == np.float64
    assert utils.to_categorical(np.array([[1], [0]])).shape == (2, 2)


def test_set_random_seed_makes_initial_weights_reproducible():
    utils.set_random_seed(7)
    a = initializers.GlorotUniform()((30, 20))
    utils.set_random_seed(7)
    b = initializers.GlorotUniform()((30, 20))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, initializers.GlorotUniform()((30, 20)))
    with pytest.raises(ValueError, match="positive integer"):
        utils.set_random_seed(-1)


@pytest.mark.parametrize("name,kind,bound", [
    ("glorot_uniform", "uniform", np.sqrt(6 / (400 + 300))),
    ("he_uniform", "uniform", np.sqrt(6 / 400)),
    ("lecun_uniform", "uniform", np.sqrt(3 / 400)),
    ("glorot_normal", "normal", np.sqrt(2 / (400 + 300))),
    ("he_normal", "normal", np.sqrt(2 / 400)),
    ("lecun_normal", "normal", np.sqrt(1 / 400)),
])
def test_variance_scaling_initializers_have_keras_distributions(name, kind, bound):
    w = initializers.get(name)((400, 300))
    assert w.dtype == np.float32 and w.shape == (400, 300)
    if kind == "uniform":
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.99 * bound
        assert np.std(w) == pytest.approx(bound / np.sqrt(3), rel=0.01)
    else:  # truncated at 2 stddev of the pre-truncation normal, variance as asked
        pre = bound / 0.87962566103423978
        assert np.abs(w).max() <= 2 * pre
        assert np.std(w) == pytest.approx(bound, rel=0.01)


def test_plain_initializers_and_seeds():
    w = initializers.RandomNormal(seed=3)((200, 200))
    assert np.std(w) == pytest.approx(0.05, rel=0.02)
    np.testing.assert_array_equal(w, initializers.RandomNormal(seed=3)((200, 200)))
    u = initializers.RandomUniform()((200, 200))
    assert u.min() >= -0.05 and u.max() < 0.05
    np.testing.assert_array_equal(initializers.get("zeros")((3,)), np.zeros(3))
    np.testing.assert_array_equal(initializers.get("ones")((3,)), np.ones(3))
    np.testing.assert_array_equal(initializers.Constant(2.5)((2,)), [2.5, 2.5])
    assert np.abs(initializers.TruncatedNormal(stddev=1.0)((1000,))).max() <= 2.0
    assert initializers.get({"class_name": "GlorotUniform",
                             "config": {"seed": 4, "input_axes": None}}).seed == 4
    with pytest.raises(ValueError, match="Could not interpret initializer"):
        initializers.get("orthogonal_but_wrong")


def test_regularizers_configs_and_penalties_match_keras():
    cfg = TEXT["regularizer_configs"]
    assert regularizers.l1().get_config() == cfg["l1"]
    assert regularizers.l2().get_config() == cfg["l2"]
    assert regularizers.l1_l2().get_config() == cfg["l1_l2"]
    assert regularizers.L1L2(l1=0.1).get_config() == cfg["L1L2"]
    w = np.array([[1.0, -2.0], [0.5, 0.0]])
    assert regularizers.l2(0.01)(w) == pytest.approx(0.01 * 5.25)
    assert regularizers.L1(0.5)(w) == pytest.approx(0.5 * 3.5)
    np.testing.assert_allclose(regularizers.L1L2(0.1, 0.2).gradient(w),
                               0.1 * np.sign(w) + 0.4 * w)
    assert isinstance(regularizers.get("l2"), regularizers.L2)
    assert regularizers.get({"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.0}}).l1 == 0.1
    with pytest.raises(ValueError, match="non-negative"):
        regularizers.L2(-1.0)


def test_maxnorm_matches_keras():
    assert constraints.MaxNorm().get_config() == TEXT["maxnorm_config"]
    case = TEXT["maxnorm_case"]
    w = np.array(case["w"], np.float32)
    np.testing.assert_allclose(constraints.MaxNorm(1.5)(w), case["out"], rtol=1e-6)
    assert isinstance(constraints.get("max_norm"), constraints.MaxNorm)
    with pytest.raises(ValueError, match="fastmlp.keras has MaxNorm"):
        constraints.get("unit_norm")
