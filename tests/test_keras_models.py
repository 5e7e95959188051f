"""fastmlp.keras's layers, Sequential (construction, names, summary, config,
weights, compile), progress lines, callbacks and .keras files, against what
Keras 3 printed and returned (tests/data/keras_reference/, recorded by
scripts/record_keras_reference.py; Keras is not needed here).
"""
import json
import os
import re
import warnings

import numpy as np
import pytest

from fastmlp import keras
from fastmlp.keras import _format, callbacks, saving, utils

DATA = os.path.join(os.path.dirname(__file__), "data", "keras_reference")

with open(os.path.join(DATA, "text.json")) as f:
    TEXT = json.load(f)
with open(os.path.join(DATA, "models.json")) as f:
    MODELS = json.load(f)["models"]
ARRAYS = np.load(os.path.join(DATA, "models.npz"))

L = keras.layers


@pytest.fixture(autouse=True)
def fresh_session():
    utils.clear_session()
    yield
    utils.clear_session()


def _capture_summary(model):
    out = []
    model.summary(print_fn=out.append)
    return out[0] + "\n"


DECKS = {
    "deck004_mnist": lambda: keras.Sequential([L.Flatten(input_shape=[28, 28]),
                                               L.Dense(300, activation="relu"),
                                               L.Dense(100, activation="relu"),
                                               L.Dense(10, activation="softmax")]),
    "deck001_activation": lambda: keras.Sequential([L.Dense(32, input_shape=(784,)),
                                                    L.Activation("relu"), L.Dense(10),
                                                    L.Activation("softmax")]),
    "deck001_dropout": lambda: keras.Sequential([L.Dense(64, activation="relu", input_dim=20),
                                                 L.Dropout(0.5), L.Dense(64, activation="relu"),
                                                 L.Dropout(0.5),
                                                 L.Dense(10, activation="softmax")]),
    "deck000_xor": lambda: keras.Sequential([L.Dense(10, input_dim=2, activation="sigmoid"),
                                             L.Dense(10, activation="sigmoid"),
                                             L.Dense(1, activation="sigmoid")]),
    "bn_leaky": lambda: keras.Sequential([keras.Input((16,)), L.Dense(32),
                                          L.BatchNormalization(), L.LeakyReLU(),
                                          L.Dense(4, activation="softmax")]),
    "unbuilt": lambda: keras.Sequential([L.Dense(8), L.Dense(2)]),
}


@pytest.mark.parametrize("deck", sorted(DECKS))
def test_summary_and_warnings_are_keras_own(deck):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = DECKS[deck]()
    assert [str(w.message) for w in caught] == TEXT[deck + "/warnings"]
    assert [lay.name for lay in model.layers] == TEXT[deck + "/layer_names"]
    assert _capture_summary(model) == TEXT[deck + "/summary"]


def test_summary_after_fit_counts_the_optimizer():
    model = keras.Sequential([keras.Input((20,)), L.Dense(16, activation="relu"),
                              L.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(0.01, momentum=0.9), metrics=["accuracy"])
    model._optimizer_built = True  # what fit sets once the engine has run
    assert _capture_summary(model) == TEXT["summary_after_fit"]


def test_name_counters_go_on_across_models_until_clear_session():
    names = []
    for _ in range(3):
        m = keras.Sequential([keras.Input((3,)), L.Dense(2), L.BatchNormalization(),
                              L.Dropout(0.1), L.Dense(1)])
        names.append([m.name] + [lay.name for lay in m.layers])
    assert names == TEXT["name_counters"]
    utils.clear_session()
    assert L.Dense(1).name == "dense"


@pytest.mark.parametrize("name", sorted(TEXT["layer_configs"]))
def test_layer_configs_are_keras_own(name):
    want = dict(TEXT["layer_configs"][name])
    got = getattr(L, name)(**({"units": 3} if name == "Dense" else
                              {"rate": 0.5} if name == "Dropout" else
                              {"activation": "relu"} if name == "Activation" else {})).get_config()
    want.pop("name")
    got.pop("name")
    assert got == want


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_configs_and_weight_order_are_keras_own(name):
    cfg = MODELS[name]["config"]
    model = keras.Sequential.from_config(cfg)
    assert model.built
    got = model.get_config()

    def strip(c):  # names carry the recording session's counters
        c = json.loads(json.dumps(c))
        c.pop("name", None)
        for lay in c["layers"]:
            lay["config"].pop("name", None)
        return c

    assert strip(got) == strip(cfg)
    init = [ARRAYS[f"{name}/init/{j}"] for j in range(MODELS[name]["n_weights"])]
    model.set_weights(init)
    for a, b in zip(model.get_weights(), init):
        np.testing.assert_array_equal(a, b)
    trainable = sum(lay.count_trainable_params() for lay in model.layers)
    opt = keras.optimizers.get(MODELS[name]["compile"]["optimizer"]) if isinstance(
        MODELS[name]["compile"]["optimizer"], str) else getattr(
        keras.optimizers, MODELS[name]["optimizer_class"]).from_config(
        MODELS[name]["compile"]["optimizer"])
    sizes = [w.size for lay in model.layers for (_, _, t), w in
             zip(lay._weight_specs(), lay.weights) if t]
    assert sum(sizes) == trainable
    assert opt.count_params(sizes) == MODELS[name]["optimizer_variables"]


def test_compile_resolves_like_keras():
    model = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="SGD",
                  metrics=["accuracy"])
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert model.optimizer.learning_rate == pytest.approx(0.01)
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert model.metrics[0]._direction == "up"
    with pytest.raises(ValueError, match="labels must be integers in"):
        model.fit(np.zeros((2, 4)), np.array([0, 3]), verbose=0)  # 3 outputs: 0, 1, 2
    with pytest.raises(ValueError, match="Could not interpret metric"):
        model.compile(loss="mse", optimizer="adam", metrics=["f1_scoree"])
    model.compile(loss="mse")  # Keras's default optimizer
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)


def test_what_is_not_an_mlp_raises_a_clear_error():
    for name in ("Conv2D", "LSTM", "Embedding", "MaxPooling2D"):
        with pytest.raises(NotImplementedError, match=f"no {name} layer.*Dense"):
            getattr(keras.layers, name)
    with pytest.raises(NotImplementedError, match="Sequential models only"):
        keras.Model(inputs=None, outputs=None)
    with pytest.raises(NotImplementedError, match="GradientTape"):
        keras.GradientTape  # noqa: B018
    with pytest.raises(AttributeError):
        keras.layers.Densee  # noqa: B018
    with pytest.raises(ValueError, match="Only instances of `keras.Layer`"):
        keras.Sequential([object()])
    with pytest.raises(ValueError, match="no activation 'swish'"):
        L.Dense(3, activation="swish")


def test_layers_arguments_and_weights():
    dense = L.Dense(4, activation="relu", kernel_regularizer=keras.regularizers.l2(),
                    kernel_constraint=keras.constraints.MaxNorm(2))
    model = keras.Sequential([keras.Input((3,)), dense, L.BatchNormalization(),
                              L.Maxout(2, pieces=3)])
    w = model.get_weights()
    assert [a.shape for a in w] == [(3, 4), (4,), (4,), (4,), (4,), (4,), (4, 6), (6,)]
    assert all(a.dtype == np.float32 for a in w)
    np.testing.assert_array_equal(w[1], 0)  # Keras's zero bias
    np.testing.assert_array_equal(w[2], 1)  # gamma
    assert model.layers[1].count_trainable_params() == 8
    assert model.output_shape == (None, 2)
    with pytest.raises(ValueError, match="expecting 8 weights"):
        model.set_weights(w[:-1])
    with pytest.raises(ValueError, match="not compatible"):
        model.set_weights(w[:-1] + [np.zeros(5)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        keras.Sequential([keras.Input((28, 28)), L.Flatten(), L.Dense(3)])  # no warning
    with pytest.warns(UserWarning, match="negative_slope"):
        assert L.LeakyReLU(alpha=0.1).negative_slope == 0.1


# --- progress lines ------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TIMES = re.compile(r"\d+(s|ms|us)(/step)?")


def _final_lines(text):
    """The last state of each bar (Keras rewrites it with \\b and \\r)."""
    lines = []
    for line in _ANSI.sub("", text).split("\n"):
        if line.strip():
            lines.append(re.split(r"[\r\x08]+", line)[-1].rstrip())
    return lines


@pytest.mark.parametrize("verbose", [1, 2])
def test_progress_lines_have_keras_layout(verbose):
    recorded = _final_lines(TEXT[f"fit_verbose{verbose}"])
    epochs = [line for line in recorded if not line.startswith("Epoch")]
    assert recorded[0] == "Epoch 1/2"
    for line in epochs:
        logs = dict(re.findall(r" - (\w+): ([0-9.e+-]+)", line))
        ours = _format.progress_line(4, 0.0021, {k: float(v) for k, v in logs.items()},
                                     verbose)
        # the same line up to the timings (which no two runs share)
        assert _TIMES.sub("T", ours) == _TIMES.sub("T", line)
    assert _format.progress_line(50, 4.2, {"loss": 1.3754, "accuracy": 0.6944,
                                           "val_loss": 0.772, "val_accuracy": 0.935}, 1) == (
        "50/50 ━━━━━━━━━━━━━━━━━━━━ 4s 84ms/step - accuracy: 0.6944 - loss: 1.3754 - "
        "val_accuracy: 0.9350 - val_loss: 0.7720")
    assert _format.progress_line(4, 0.00395, {"loss": 2e-4}, 2) == (
        "4/4 - 0s - 988us/step - loss: 2.0000e-04")


def test_memory_sizes_as_keras():
    assert _format.readable_memory_size(266610 * 4) == "1.02 MB"
    assert _format.readable_memory_size(0) == "0.00 B"
    assert _format.readable_memory_size(64 * 4) == "256.00 B"


# --- callbacks against the model interface ---------------------------------------

class _Opt:
    learning_rate = 0.01


class _Model:
    """The interface the callbacks use (Sequential gives it to them)."""

    def __init__(self):
        self.stop_training = False
        self.optimizer = _Opt()
        self.w = [np.zeros(2)]
        self.metrics = [keras.metrics.resolve("accuracy", (4,), (4, 3))]
        self.saved = []

    def get_weights(self):
        return [a.copy() for a in self.w]

    def set_weights(self, w):
        self.w = [a.copy() for a in w]

    def save(self, path):
        self.saved.append(path)


def _run(cb, values, key="val_loss", model=None):
    model = model or _Model()
    cbs = callbacks.CallbackList([cb], model=model, params={"epochs": len(values)})
    cbs.on_train_begin()
    stopped = None
    for epoch, v in enumerate(values):
        cbs.on_epoch_begin(epoch)
        model.w = [np.full(2, epoch, float)]
        cbs.on_epoch_end(epoch, {key: v, "loss": v})
        if model.stop_training:
            stopped = epoch
            break
    cbs.on_train_end()
    return model, stopped


def test_early_stopping_keras_defaults_and_rules():
    es = callbacks.EarlyStopping()
    assert (es.monitor, es.patience, es.min_delta, es.restore_best_weights) == (
        "val_loss", 0, 0, False)
    _, stopped = _run(callbacks.EarlyStopping(), [1.0, 0.9, 0.95, 0.5])
    assert stopped == 2  # patience 0: the first epoch without improvement
    model, stopped = _run(callbacks.EarlyStopping(patience=2, restore_best_weights=True),
                          [1.0, 0.8, 0.85, 0.9, 0.1])
    assert stopped == 3
    np.testing.assert_array_equal(model.w[0], [1, 1])  # the best epoch's weights
    _, stopped = _run(callbacks.EarlyStopping(min_delta=0.15), [1.0, 0.9, 0.8])
    assert stopped == 1  # 0.1 is not an improvement of more than 0.15
    _, stopped = _run(callbacks.EarlyStopping(monitor="val_accuracy"), [0.5, 0.6, 0.55],
                      key="val_accuracy")
    assert stopped == 2  # accuracy goes up (mode 'auto')
    with pytest.raises(ValueError, match="automatically determine"):
        _run(callbacks.EarlyStopping(monitor="val_f1"), [0.5], key="val_f1")


def test_reduce_lr_on_plateau_and_scheduler():
    model, _ = _run(callbacks.ReduceLROnPlateau(patience=1, factor=0.5),
                    [1.0, 1.0, 1.0, 1.0])
    # no improvement after epoch 0, patience 1, no cooldown: halved at epochs 1, 2, 3
    assert model.optimizer.learning_rate == pytest.approx(0.01 * 0.125)
    model = _Model()
    _run(callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.1 if epoch else lr),
         [1.0, 1.0], model=model)
    assert model.optimizer.learning_rate == pytest.approx(0.001)
    model = _Model()
    _run(callbacks.LearningRateScheduler(lambda epoch: 0.5 / (epoch + 1)), [1.0, 1.0],
         model=model)
    assert model.optimizer.learning_rate == pytest.approx(0.25)


def test_history_csv_logger_checkpoint_and_nan(tmp_path):
    hist = callbacks.History()
    _run(hist, [1.0, 0.5])
    assert hist.history == {"val_loss": [1.0, 0.5], "loss": [1.0, 0.5]}
    assert hist.epoch == [0, 1]
    path = tmp_path / "log.csv"
    _run(callbacks.CSVLogger(path), [1.0, 0.5])
    assert path.read_text().splitlines() == ["epoch,loss,val_loss", "0,1.0,1.0", "1,0.5,0.5"]
    model, _ = _run(callbacks.ModelCheckpoint(str(tmp_path / "m{epoch}.keras"),
                                              save_best_only=True), [1.0, 2.0, 0.5])
    assert model.saved == [str(tmp_path / "m1.keras"), str(tmp_path / "m3.keras")]
    with pytest.raises(ValueError, match="must end in `.keras`"):
        callbacks.ModelCheckpoint("model.h5")
    _, stopped = _run(callbacks.TerminateOnNaN(), [1.0, float("nan"), 1.0])
    assert stopped == 1


# --- .keras files ---------------------------------------------------------------

def test_reads_the_file_keras_wrote():
    model = saving.load_model(os.path.join(DATA, "tiny.keras"))
    w = model.get_weights()
    np.testing.assert_array_equal(w[0], np.arange(6, dtype=np.float32).reshape(2, 3) / 10)
    np.testing.assert_array_equal(w[3], np.array([0.05], np.float32))
    assert [lay.activation for lay in model.layers] == ["relu", "sigmoid"]
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert isinstance(model.loss, keras.losses.BinaryCrossentropy)


def test_keras_file_round_trip(tmp_path):
    model = keras.Sequential([keras.Input((5,)), L.Dense(4, activation="relu"),
                              L.BatchNormalization(), L.Dropout(0.2),
                              L.Dense(2, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(0.01),
                  metrics=["accuracy"])
    path = tmp_path / "m.keras"
    model.save(path)
    back = keras.models.load_model(path)
    assert back.get_config() == model.get_config()
    for a, b in zip(back.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert back.optimizer.learning_rate == model.optimizer.learning_rate
    with pytest.raises(ValueError, match="must end in `.keras`"):
        model.save(tmp_path / "m.h5")


# --- the recorded fits, read with this package's pieces ---------------------------
#
# What fit must reproduce once it runs on the engine: here, the recorded final
# weights pass through a plain NumPy forward pass (inference: BatchNormalization
# on its moving statistics, Dropout off) and this package's losses,
# regularizers and metrics must give Keras's predict and evaluate.

_ACT = {"linear": lambda z: z, "relu": lambda z: np.maximum(z, 0),
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
        "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
        "softmax": lambda z: np.exp(z - z.max(1, keepdims=True))
        / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)}


def _forward(model, x):
    penalty = 0.0
    for layer in model.layers:
        w = layer.get_weights()
        if isinstance(layer, L.Dense):
            x = _ACT[layer.activation](x @ w[0] + w[1])
            for reg, arr in ((layer.kernel_regularizer, w[0]), (layer.bias_regularizer, w[1])):
                penalty += reg(arr) if reg is not None else 0.0
        elif isinstance(layer, L.BatchNormalization):
            gamma, beta, mean, var = w
            x = gamma * (x - mean) / np.sqrt(var + layer.epsilon) + beta
        elif isinstance(layer, L.Activation):
            x = _ACT[layer.activation](x)
        elif isinstance(layer, L.LeakyReLU):
            x = np.where(x >= 0, x, layer.negative_slope * x)
    return x, penalty


@pytest.mark.parametrize("name", sorted(MODELS))
def test_recorded_fits_read_with_these_losses_metrics_and_regularizers(name):
    rec = MODELS[name]
    model = keras.Sequential.from_config(rec["config"])
    model.set_weights([ARRAYS[f"{name}/final/{j}"] for j in range(rec["n_weights"])])
    xv, yv = ARRAYS[name + "/x_val"], ARRAYS[name + "/y_val"]
    pred, penalty = _forward(model, xv.astype(np.float64))
    # float32 in Keras, float64 here
    np.testing.assert_allclose(pred, ARRAYS[name + "/predict"], rtol=2e-5, atol=1e-6)
    loss = keras.losses.get(rec["compile"]["loss"])
    assert loss(yv, pred) + penalty == pytest.approx(rec["evaluate"]["loss"], rel=1e-5)
    for metric_id in rec["compile"].get("metrics") or []:
        m = keras.metrics.resolve(metric_id, yv.shape, pred.shape)
        m.update_state(yv, pred)
        assert m.result() == pytest.approx(rec["evaluate"][metric_id], rel=1e-5)
    hist = rec["history"]
    assert sorted(hist) == _format.order_logs(hist)  # sorted, training before val_
    for layer in model.layers:  # the constraint holds after the last step
        if getattr(layer, "kernel_constraint", None) is not None:
            kernel = layer.get_weights()[0]
            np.testing.assert_allclose(layer.kernel_constraint(kernel), kernel, rtol=1e-5)
            assert np.sqrt((kernel ** 2).sum(0)).max() <= 0.5 + 1e-6
    assert rec["epoch"] == list(range(rec["fit"]["epochs"]))
    # 40 rows, the last 25% for validation with validation_split=0.25
    n_train = 40 - int(40 * rec["fit"].get("validation_split", 0.0))
    assert rec["params"]["steps"] == -(-n_train // rec["fit"]["batch_size"])
