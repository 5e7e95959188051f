"""fastmlp.keras's Sequential.fit / evaluate / predict on the C engine,
against Keras 3's trajectories (tests/data/keras_reference/models.*,
recorded by scripts/record_keras_reference.py with Keras 3.15.1 on JAX;
Keras is not needed here).

Each reference model starts from explicit weights and trains with
``shuffle=False`` (and no dropout), so the arithmetic is the same as
Keras's up to float32 rounding in a different order (our GEMM blocks and
sums against XLA's) over 6 to 15 optimizer steps. Tolerances:

- final weights: rtol 1e-4, atol 1e-6. Adam-like rules divide by
  ``sqrt(v) + 1e-7`` with v the square of the gradient, so a weight whose
  gradient is near zero takes a step of ~lr whose size depends on the
  gradient's last bits; the largest differences measured are 1.8e-4
  relative on weights of magnitude 1e-3 (AdamW with clipnorm; AMD EPYC
  Zen 4), the others below 1e-5;
- History, evaluate: rtol 1e-5 (measured at most 6e-7: means of float32
  losses); accuracies exactly equal counts;
- predict: atol 1e-5 (measured at most 1.5e-6).
"""
import json
import math
import os
import re

import numpy as np
import pytest

from fastmlp import keras, reference
from fastmlp.keras import _engine, callbacks, utils
from fastmlp.network import Layer, Network

DATA = os.path.join(os.path.dirname(__file__), "data", "keras_reference")

with open(os.path.join(DATA, "models.json")) as f:
    MODELS = json.load(f)["models"]
with open(os.path.join(DATA, "text.json")) as f:
    TEXT = json.load(f)
ARRAYS = np.load(os.path.join(DATA, "models.npz"))

L = keras.layers


@pytest.fixture(autouse=True)
def fresh_session():
    utils.clear_session()
    yield
    utils.clear_session()


def _reference_model(name):
    """The reference model with its initial weights, compiled as recorded."""
    case = MODELS[name]
    model = keras.Sequential.from_config(case["config"])
    model.set_weights([ARRAYS[f"{name}/init/{j}"] for j in range(case["n_weights"])])
    compile_kw = dict(case["compile"])
    if isinstance(compile_kw["optimizer"], dict):
        compile_kw["optimizer"] = getattr(keras.optimizers, case["optimizer_class"]).from_config(
            compile_kw["optimizer"])
    model.compile(**compile_kw)
    return model


def _fit_reference(name, **extra):
    case = MODELS[name]
    model = _reference_model(name)
    x, y = ARRAYS[f"{name}/x"], ARRAYS[f"{name}/y"]
    kw = dict(case["fit"])
    if kw.pop("sample_weight", False):
        kw["sample_weight"] = ARRAYS[f"{name}/sample_weight"]
    if "class_weight" in kw:
        kw["class_weight"] = {int(k): v for k, v in kw["class_weight"].items()}
    if "validation_split" not in kw:
        kw["validation_data"] = (ARRAYS[f"{name}/x_val"], ARRAYS[f"{name}/y_val"])
    kw.update(extra)
    history = model.fit(x, y, shuffle=False, verbose=0, **kw)
    return model, history


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fit_evaluate_predict_follow_keras(name):
    case = MODELS[name]
    model, history = _fit_reference(name)
    assert history.params == case["params"]
    assert history.epoch == case["epoch"]
    assert list(history.history) == list(case["history"])  # Keras's key order
    for key, want in case["history"].items():
        got = history.history[key]
        assert all(type(v) is float for v in got)
        np.testing.assert_allclose(got, want, rtol=1e-5, err_msg=key)
    for j, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, ARRAYS[f"{name}/final/{j}"], rtol=1e-4, atol=1e-6,
                                   err_msg=f"weight {j}")
    x_val, y_val = ARRAYS[f"{name}/x_val"], ARRAYS[f"{name}/y_val"]
    got = model.evaluate(x_val, y_val, verbose=0, return_dict=True)
    assert sorted(got) == sorted(case["evaluate"])
    for key, want in case["evaluate"].items():
        np.testing.assert_allclose(got[key], want, rtol=1e-5, err_msg=key)
    listed = model.evaluate(x_val, y_val, verbose=0)
    want = case["evaluate_list"]
    if isinstance(want, list):
        assert isinstance(listed, list) and len(listed) == len(want)
    else:
        assert isinstance(listed, float)
    np.testing.assert_allclose(listed, want, rtol=1e-5)
    pred = model.predict(x_val, verbose=0)
    assert pred.dtype == np.float32 and pred.shape == ARRAYS[f"{name}/predict"].shape
    np.testing.assert_allclose(pred, ARRAYS[f"{name}/predict"], rtol=0, atol=1e-5)
    assert model.optimizer.iterations == case["params"]["steps"] * case["params"]["epochs"]


def test_the_references_cover_every_optimizer_loss_and_clipping():
    optimizers, losses, clipping, sgd_forms = set(), set(), set(), set()
    for name in MODELS:
        model = _reference_model(name)
        opt = model.optimizer
        optimizers.add(type(opt).__name__)
        losses.add(type(model.loss).__name__)
        for clip in ("clipnorm", "clipvalue", "global_clipnorm"):
            if getattr(opt, clip) is not None:
                clipping.add(clip)
        if isinstance(opt, keras.optimizers.SGD):
            sgd_forms.add((opt.momentum > 0, opt.nesterov))
    assert optimizers >= {"SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Nadam"}
    assert losses >= {"MeanSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossentropy",
                      "CategoricalCrossentropy", "SparseCategoricalCrossentropy"}
    assert clipping == {"clipnorm", "clipvalue", "global_clipnorm"}
    assert sgd_forms == {(False, False), (True, False), (True, True)}
    fits = [MODELS[n]["fit"] for n in MODELS]
    assert any(f.get("sample_weight") for f in fits)
    assert any("class_weight" in f for f in fits)
    assert any("validation_split" in f for f in fits)


@pytest.mark.parametrize("loss, activation, n_out", [
    ("squared_error", "identity", 2), ("absolute_error", "tanh", 1), ("huber", "identity", 2),
    ("binary_log_loss", "logistic", 3), ("log_loss", "softmax", 3)])
def test_keras_convention_is_the_reference_loss(loss, activation, n_out):
    """The engine's loss with convention='keras' (sum(w * loss) / n, MSE not
    halved, binary cross-entropy averaged over outputs) against the NumPy
    twin, and against fastmlp.keras.losses (Keras's formulas), float64."""
    rng = np.random.default_rng(0)
    net = Network(4, [Layer(5, "tanh", kernel_l2=0.01), Layer(n_out, activation)], loss=loss,
                  convention="keras")
    coefs = [rng.normal(size=(4, 5)), rng.normal(size=(5, n_out))]
    intercepts = [rng.normal(size=5), rng.normal(size=n_out)]
    X = rng.normal(size=(9, 4))
    Y = rng.integers(0, 2, size=(9, n_out)).astype(float)
    if loss == "log_loss":
        Y = np.eye(n_out)[rng.integers(0, n_out, 9)]
    sw = rng.uniform(0.0, 2.0, 9)
    engine = net.engine(9, np.float64)
    got, _ = engine.loss_grad(coefs, intercepts, X, Y, sw)
    if loss in ("squared_error", "binary_log_loss", "log_loss"):
        want = reference.network_loss(net, coefs, intercepts, [], X, Y, sw)
        np.testing.assert_allclose(got, want, rtol=1e-12)
    keras_loss = {"squared_error": keras.losses.MeanSquaredError(),
                  "absolute_error": keras.losses.MeanAbsoluteError(),
                  "huber": keras.losses.Huber(),
                  "binary_log_loss": keras.losses.BinaryCrossentropy(),
                  "log_loss": keras.losses.CategoricalCrossentropy()}[loss]
    p = net.predictor([c.copy() for c in coefs], [b.copy() for b in intercepts]).predict(X)
    want = keras_loss(Y, p, sample_weight=sw) + 0.01 * float(np.sum(coefs[0] ** 2))
    np.testing.assert_allclose(got, want, rtol=1e-10)
    # scikit-learn's convention stays: weighted mean over sum(w), MSE halved
    sk = net.replace(convention="sklearn")
    got_sk, _ = sk.engine(9, np.float64).loss_grad(coefs, intercepts, X, Y, sw)
    if loss == "squared_error":
        want_sk = 0.5 * np.sum(sw * ((p - Y) ** 2).mean(1)) / sw.sum()
        np.testing.assert_allclose(got_sk, want_sk + 0.01 * float(np.sum(coefs[0] ** 2)),
                                   rtol=1e-10)


def test_engine_training_metrics_count_rows_before_each_step():
    """fm_mlp_workspace_metrics: one minibatch, so the counts are those of
    the initial weights' predictions (unweighted, as Keras's metrics)."""
    rng = np.random.default_rng(1)
    net = Network(3, [Layer(4, "relu"), Layer(2, "logistic")], loss="binary_log_loss",
                  convention="keras")
    coefs = [rng.normal(size=(3, 4)).astype(np.float32),
             rng.normal(size=(4, 2)).astype(np.float32)]
    intercepts = [np.zeros(4, np.float32), np.zeros(2, np.float32)]
    X = rng.normal(size=(7, 3)).astype(np.float32)
    Y = rng.integers(0, 2, size=(7, 2)).astype(np.float32)
    p = net.predictor([c.copy() for c in coefs], [b.copy() for b in intercepts]).predict(X)
    engine = net.engine(7, np.float32)
    assert engine.metrics(True)["weight"] == 0.0
    opt = keras.optimizers.SGD(0.1).fastmlp_optimizer(net.n_params)
    engine.epoch(coefs, intercepts, X, Y, np.full(7, 3.0, np.float32), None, 7, opt)
    sums = engine.metrics(False)
    assert sums["weight"] == 7
    assert sums["argmax"] == np.sum(p.argmax(1) == Y.argmax(1))
    np.testing.assert_allclose(sums["threshold"], np.sum(((p > 0.5) == (Y > 0.5)).mean(1)))
    np.testing.assert_allclose(sums["squared"], np.sum(((p - Y) ** 2).mean(1)), rtol=1e-6)
    np.testing.assert_allclose(sums["absolute"], np.sum(np.abs(p - Y).mean(1)), rtol=1e-6)
    engine.epoch(coefs, intercepts, X, Y, None, None, 7, opt)
    assert engine.metrics()["weight"] == 0.0  # off since the last call


def _small_classifier(**dense):
    model = keras.Sequential([keras.Input((4,)), L.Dense(8, activation="relu", **dense),
                              L.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])
    return model


def _data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)


def test_predict_shapes_dtypes_and_flatten():
    model = keras.Sequential([keras.Input((2, 2)), L.Flatten(), L.Dense(5, activation="relu"),
                              L.Dense(3, activation="softmax")])
    x = np.random.default_rng(0).normal(size=(6, 2, 2))  # float64 in, float32 out
    p = model.predict(x, verbose=0)
    assert p.dtype == np.float32 and p.shape == (6, 3)
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-6)
    w1, b1, w2, b2 = model.get_weights()
    h = np.maximum(x.reshape(6, 4) @ w1 + b1, 0) @ w2 + b2
    want = np.exp(h - h.max(1, keepdims=True))
    np.testing.assert_allclose(p, want / want.sum(1, keepdims=True), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="incompatible"):
        model.predict(np.zeros((2, 4)), verbose=0)


def test_activation_layers_dropout_and_batch_norm_predict_as_keras_computes():
    """Activation layers fold into the Dense before them, Dropout does
    nothing in prediction, BatchNormalization uses its moving statistics
    (before or after the activation)."""
    rng = np.random.default_rng(2)
    model = keras.Sequential([keras.Input((3,)), L.Dropout(0.2), L.Dense(4),
                              L.BatchNormalization(), L.LeakyReLU(0.1), L.Dropout(0.3),
                              L.Dense(4, activation="elu"), L.BatchNormalization(epsilon=0.01),
                              L.Dense(2), L.Activation("sigmoid")])
    weights = [rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()]
    for j in (5, 11):  # moving variances > 0
        weights[j] = np.abs(weights[j]) + 0.5
    model.set_weights(weights)
    w1, b1, g1, be1, m1, v1, w2, b2, g2, be2, m2, v2, w3, b3 = weights
    x = rng.normal(size=(5, 3)).astype(np.float32)
    z = (x @ w1 + b1 - m1) / np.sqrt(v1 + 1e-3) * g1 + be1
    a = np.where(z > 0, z, 0.1 * z)
    z = a @ w2 + b2
    a = np.where(z > 0, z, np.expm1(z))
    a = (a - m2) / np.sqrt(v2 + 0.01) * g2 + be2
    want = 1 / (1 + np.exp(-(a @ w3 + b3)))
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
    plan = _engine.translate(model)
    assert [(ly.batch_norm, ly.activation, ly.dropout) for ly in plan.network.layers] == [
        ("before", "leaky_relu", 0.2), ("after", "elu", 0.3), (None, "logistic", 0.0)]


@pytest.mark.parametrize("layers, match", [
    (lambda: [L.BatchNormalization(), L.Dense(2)], "before the first Dense"),
    (lambda: [L.Dense(2), L.BatchNormalization()], "after the last Dense"),
    (lambda: [L.Dense(2), L.Dropout(0.5)], "Dropout after the last Dense"),
    (lambda: [L.Dense(2, activation="relu"), L.Activation("tanh"), L.Dense(1)],
     "second activation"),
    (lambda: [L.Dense(2), L.Dropout(0.5), L.BatchNormalization(), L.Dense(1)],
     "after a Dropout"),
])
def test_stacks_the_engine_cannot_run_name_what_it_runs(layers, match):
    model = keras.Sequential([keras.Input((3,))] + layers())
    with pytest.raises(NotImplementedError, match=match) as err:
        model.predict(np.zeros((2, 3)), verbose=0)
    assert "BatchNormalization after a hidden Dense" in str(err.value)


def test_losses_the_output_cannot_train_raise_clearly():
    model = keras.Sequential([keras.Input((3,)), L.Dense(2, activation="relu")])
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    with pytest.raises(NotImplementedError, match="softmax output"):
        model.fit(np.zeros((4, 3)), np.eye(2)[[0, 1, 0, 1]], verbose=0)
    model.compile(loss="log_cosh", optimizer="sgd")
    with pytest.raises(NotImplementedError, match="not log_cosh"):
        model.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0)
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    with pytest.raises(ValueError, match="same shape"):
        model.evaluate(np.zeros((4, 3)), np.array([0, 1, 0, 1]), verbose=0)
    with pytest.raises(RuntimeError, match="compile"):
        keras.Sequential([keras.Input((3,)), L.Dense(1)]).fit(np.zeros((2, 3)), np.zeros(2))


def test_fit_runs_exactly_the_epochs_and_shuffles_reproducibly():
    x, y = _data()
    utils.set_random_seed(3)
    a = _small_classifier()
    start = a.get_weights()
    h = a.fit(x, y, epochs=4, batch_size=16, verbose=0)
    assert h.epoch == [0, 1, 2, 3] and h.params == {"verbose": 0, "epochs": 4, "steps": 4}
    assert list(h.history) == ["accuracy", "loss"] and len(h.history["loss"]) == 4
    utils.set_random_seed(3)
    b = _small_classifier()
    for w, w0 in zip(b.get_weights(), start):
        np.testing.assert_array_equal(w, w0)
    b.fit(x, y, epochs=4, batch_size=16, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    c = _small_classifier()
    c.set_weights(start)
    c.fit(x, y, epochs=4, batch_size=16, verbose=0, shuffle=False)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(a.get_weights(), c.get_weights()))
    # initial_epoch: epochs counts to, not how many
    h = c.fit(x, y, epochs=6, initial_epoch=4, verbose=0)
    assert h.epoch == [4, 5]
    assert c.optimizer.iterations == 4 * 4 + 2 * 2  # the optimizer's steps go on


def test_two_fits_equal_one_with_the_optimizer_state_kept():
    x, y = _data()
    a, b = _small_classifier(), _small_classifier()
    b.set_weights(a.get_weights())
    a.fit(x, y, epochs=2, batch_size=10, shuffle=False, verbose=0)
    b.fit(x, y, epochs=1, batch_size=10, shuffle=False, verbose=0)
    b.fit(x, y, epochs=1, batch_size=10, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_validation_split_is_the_last_rows_and_sample_weights_scale_like_keras():
    x, y = _data(40)
    a = _small_classifier()
    h = a.fit(x, y, epochs=1, validation_split=0.25, shuffle=False, verbose=0)
    assert h.params["steps"] == 1  # 30 rows in batches of 32
    val = a.evaluate(x[30:], y[30:], verbose=0, return_dict=True)
    assert h.history["val_loss"][0] == val["loss"]
    assert h.history["val_accuracy"][0] == val["accuracy"]
    # Keras's sum(w * loss) / n: doubling every weight doubles the loss
    p = a.predict(x, verbose=0)
    per_row = -np.log(np.clip(p[np.arange(40), y], 1e-7, 1))
    w = np.linspace(0.5, 1.5, 40)
    got = a.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    np.testing.assert_allclose(got["loss"], np.sum(w * per_row) / 40, rtol=1e-6)
    assert got["accuracy"] == a.evaluate(x, y, verbose=0, return_dict=True)["accuracy"]
    with pytest.raises(ValueError, match="at the same time"):
        a.fit(x, y, sample_weight=w, class_weight={0: 1.0}, verbose=0)


def test_validation_split_of_multi_dimensional_input():
    """Rows split off an (n, 2, 2) x are flattened once, as the training rows
    (they were once flattened twice: a shape error)."""
    x, y = _data(40)
    images = x[:, :4].reshape(40, 2, 2)
    model = keras.Sequential([keras.Input((2, 2)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    h = model.fit(images, y, epochs=1, validation_split=0.25, shuffle=False, verbose=0)
    val = model.evaluate(images[30:], y[30:], verbose=0, return_dict=True)
    assert h.history["val_loss"][0] == val["loss"]
    assert h.history["val_accuracy"][0] == val["accuracy"]


def test_callbacks_receive_keras_logs_and_can_stop_and_schedule():
    x, y = _data()
    seen = []

    class Record(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, dict(logs), self.params))

    model = _small_classifier()
    h = model.fit(x, y, epochs=3, verbose=0, validation_data=(x[:10], y[:10]),
                  callbacks=[Record()])
    assert [e for e, _, _ in seen] == [0, 1, 2]
    assert list(seen[0][1]) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert seen[2][1] == {k: v[2] for k, v in h.history.items()}
    assert seen[0][2] == {"verbose": 0, "epochs": 3, "steps": 2}
    # EarlyStopping (patience 0 on a loss that cannot improve: lr 0)
    frozen = _small_classifier()
    frozen.compile(loss="sparse_categorical_crossentropy",
                   optimizer=keras.optimizers.SGD(1e-30), metrics=["accuracy"])
    h = frozen.fit(x, y, epochs=10, verbose=0, shuffle=False,
                   callbacks=[callbacks.EarlyStopping(monitor="loss")])
    assert len(h.epoch) == 2
    # LearningRateScheduler's rate is the one the engine steps with
    before = model.get_weights()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[
        callbacks.LearningRateScheduler(lambda epoch, lr: 1e-30 if epoch == 1 else lr)],
              initial_epoch=1)
    for w, w0 in zip(model.get_weights(), before):
        np.testing.assert_allclose(w, w0, rtol=0, atol=1e-20)


def test_metrics_the_engine_does_not_count_use_the_epoch_end_weights():
    x, y = _data()
    model = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd",
                  metrics=["sparse_categorical_crossentropy", "acc"])
    h = model.fit(x, y, epochs=1, verbose=0, shuffle=False)
    assert list(h.history) == ["acc", "loss", "sparse_categorical_crossentropy"]
    p = model.predict(x, verbose=0)
    want = float(np.mean(-np.log(np.clip(p[np.arange(50), y], 1e-7, 1))))
    np.testing.assert_allclose(h.history["sparse_categorical_crossentropy"][0], want, rtol=1e-5)


def _keras_final_line(text):
    """Keras's progress text without colours, backspaces and its
    intermediate bar states: the last state of each line."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\x08", "")
    return [line.split("\r")[-1] for line in text.split("\n") if line]


def _shape(line):
    """A line with its numbers and durations blanked."""
    line = re.sub(r"\d+(ms|us|s)/step", "T/step", line)
    line = re.sub(r" \d+s ", " Ts ", line)
    line = re.sub(r" - \d+s - ", " - Ts - ", line)
    return re.sub(r"\d+\.\d+(e[-+]\d+)?", "V", line)


@pytest.mark.parametrize("verbose", [1, 2])
def test_progress_lines_have_keras_layout(verbose, capsys):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((100, 20)).astype(np.float32)
    y = rng.integers(0, 10, 100)
    model = keras.Sequential([keras.Input((20,)), L.Dense(16, activation="relu"),
                              L.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(0.01, momentum=0.9), metrics=["accuracy"])
    h = model.fit(x, y, epochs=2, batch_size=32, validation_data=(x[:20], y[:20]),
                  verbose=verbose)
    ours = capsys.readouterr().out.splitlines()
    theirs = _keras_final_line(TEXT[f"fit_verbose{verbose}"])
    assert [_shape(line) for line in ours] == [_shape(line) for line in theirs]
    assert f"loss: {h.history['loss'][1]:.4f}" in ours[-1]
    if verbose == 1:
        model.evaluate(x, y)
        model.predict(x[:3])
        ours = capsys.readouterr().out.splitlines()
        theirs = (_keras_final_line(TEXT["evaluate_verbose1"])
                  + _keras_final_line(TEXT["predict_verbose1"]))
        assert [_shape(line) for line in ours] == [_shape(line) for line in theirs]


def test_summary_after_fit_counts_the_optimizer():
    x, y = _data()
    model = _small_classifier()
    model.fit(x, y, verbose=0)
    out = []
    model.summary(print_fn=out.append)
    trainable = 4 * 8 + 8 + 8 * 3 + 3
    assert f"Optimizer params: {2 + 2 * trainable:,}" in out[0]


def test_dropout_trains_with_masks_and_predicts_without():
    x, y = _data()
    utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), L.Dense(16, activation="relu"),
                              L.Dropout(0.5), L.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])
    h = model.fit(x, y, epochs=3, verbose=0, shuffle=False)
    assert all(math.isfinite(v) for v in h.history["loss"])
    # the training loss (dropout on) is not the evaluation loss (dropout off)
    assert h.history["loss"][-1] != model.evaluate(x, y, verbose=0)[0]
    p1, p2 = model.predict(x, verbose=0), model.predict(x, verbose=0)
    np.testing.assert_array_equal(p1, p2)
