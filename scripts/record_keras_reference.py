"""Record what Keras 3 (JAX backend) computes, as test data for fastmlp.keras.

Run in a virtual environment with Keras 3 and JAX (the test suite never needs
them)::

    python3 -m venv /tmp/kerasref && /tmp/kerasref/bin/pip install keras jax h5py
    KERAS_BACKEND=jax /tmp/kerasref/bin/python scripts/record_keras_reference.py

It writes tests/data/keras_reference/ (a few tens of KB):

- ``optimizers.npz`` / ``optimizers.json``: each optimizer configuration applied to
  two fixed float32 variables (a 3 x 4 kernel and a bias of 4) with a fixed
  sequence of gradients; the variables after every step.
- ``losses.npz`` / ``losses.json``: loss and metric values on fixed inputs, and
  each loss's gradient with respect to the predictions (jax.grad).
- ``models.npz`` / ``models.json``: small Sequential models with explicit initial
  weights, fit with ``shuffle=False``: History, final weights, ``evaluate``,
  ``predict``, ``get_config``, the optimizer's variable count.
- ``text.json``: what ``summary()`` prints for the decks' models, and fit's
  progress lines at ``verbose=1`` and ``verbose=2``.
- ``tiny.keras``: a 2-3-1 model saved by ``model.save``.

Every file records the Keras and JAX versions.
"""
import contextlib
import io
import json
import os
import sys
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "keras_reference")
VERSIONS = {"keras": keras.__version__, "jax": jax.__version__, "backend": keras.backend.backend()}


def _write(name, meta, arrays):
    meta = dict(meta, versions=VERSIONS)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    if arrays is not None:
        np.savez_compressed(os.path.join(OUT, name + ".npz"), **arrays)


# --- (a) optimizer trajectories ------------------------------------------------

OPTIMIZERS = {
    "sgd": ("SGD", {}),
    "sgd_custom": ("SGD", {"learning_rate": 0.1}),
    "sgd_momentum": ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    "sgd_nesterov": ("SGD", {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True}),
    "rmsprop": ("RMSprop", {}),
    "rmsprop_custom": ("RMSprop", {"learning_rate": 0.01, "rho": 0.8, "epsilon": 1e-4}),
    "adam": ("Adam", {}),
    "adam_custom": ("Adam", {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.99,
                             "epsilon": 1e-5}),
    "adamw": ("AdamW", {}),
    "adamw_custom": ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1, "beta_1": 0.85}),
    "adagrad": ("Adagrad", {}),
    "adagrad_custom": ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5,
                                   "epsilon": 1e-5}),
    "nadam": ("Nadam", {}),
    "nadam_custom": ("Nadam", {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99}),
    "sgd_clipnorm": ("SGD", {"learning_rate": 0.1, "clipnorm": 1.0}),
    "adam_clipnorm": ("Adam", {"learning_rate": 0.01, "clipnorm": 0.5}),
    "sgd_clipvalue": ("SGD", {"learning_rate": 0.1, "clipvalue": 0.3}),
    "rmsprop_clipvalue": ("RMSprop", {"learning_rate": 0.01, "clipvalue": 0.3}),
    "sgd_global_clipnorm": ("SGD", {"learning_rate": 0.1, "global_clipnorm": 1.0}),
    "adam_global_clipnorm": ("Adam", {"learning_rate": 0.01, "global_clipnorm": 0.5}),
    "sgd_weight_decay": ("SGD", {"learning_rate": 0.1, "momentum": 0.5, "weight_decay": 0.05}),
    "adam_weight_decay": ("Adam", {"learning_rate": 0.01, "weight_decay": 0.1}),
    "rmsprop_weight_decay": ("RMSprop", {"learning_rate": 0.01, "weight_decay": 0.1}),
}
N_STEPS = 12


def record_optimizers():
    rng = np.random.default_rng(20)
    w0 = rng.standard_normal((3, 4)).astype(np.float32)
    b0 = rng.standard_normal(4).astype(np.float32)
    # gradients of several scales, a zero column (a dead unit) and sign changes
    gw = rng.standard_normal((N_STEPS, 3, 4)).astype(np.float32) * np.float32(2.0)
    gw[:, :, 3] = 0.0
    gb = (rng.standard_normal((N_STEPS, 4)) * 0.1).astype(np.float32)
    arrays = {"w0": w0, "b0": b0, "grad_w": gw, "grad_b": gb}
    meta = {"n_steps": N_STEPS, "cases": {}}
    for name, (cls, cfg) in OPTIMIZERS.items():
        opt = getattr(keras.optimizers, cls)(**cfg)
        w, b = keras.Variable(w0, name="w"), keras.Variable(b0, name="b")
        opt.build([w, b])
        ws, bs = [], []
        for k in range(N_STEPS):
            opt.apply([gw[k], gb[k]], [w, b])
            ws.append(np.asarray(w.value))
            bs.append(np.asarray(b.value))
        arrays[name + "/w"] = np.stack(ws)
        arrays[name + "/b"] = np.stack(bs)
        meta["cases"][name] = {"class": cls, "args": cfg, "config": _jsonable(opt.get_config()),
                               "n_variables": len(opt.variables)}
    _write("optimizers", meta, arrays)


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    return repr(x)


# --- (b) losses and metrics ------------------------------------------------------

def record_losses():
    rng = np.random.default_rng(21)
    n, k = 6, 4
    reg_true = rng.standard_normal((n, 2)).astype(np.float32)
    reg_pred = (reg_true + rng.standard_normal((n, 2)) * 1.5).astype(np.float32)
    bin_true = (rng.random((n, 1)) > 0.5).astype(np.float32)
    bin_pred = rng.random((n, 1)).astype(np.float32)
    bin_pred[0, 0] = 0.0  # the clipping at epsilon
    bin_pred[1, 0] = 1.0
    labels = rng.integers(0, k, n)
    onehot = np.eye(k, dtype=np.float32)[labels]
    logits = rng.standard_normal((n, k)).astype(np.float32)
    proba = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    proba[2] = [0.0, 0.0, 1.0, 0.0]  # zeros in the clipped log
    arrays = {"reg_true": reg_true, "reg_pred": reg_pred, "bin_true": bin_true,
              "bin_pred": bin_pred, "labels": labels.astype(np.int64), "onehot": onehot,
              "proba": proba}
    cases = {
        "mean_squared_error": ("reg_true", "reg_pred"),
        "mean_absolute_error": ("reg_true", "reg_pred"),
        "huber": ("reg_true", "reg_pred"),
        "log_cosh": ("reg_true", "reg_pred"),
        "binary_crossentropy": ("bin_true", "bin_pred"),
        "categorical_crossentropy": ("onehot", "proba"),
        "sparse_categorical_crossentropy": ("labels", "proba"),
    }
    meta = {"losses": {}, "metrics": {}, "resolution": {}}
    for name, (yt, yp) in cases.items():
        fn = keras.losses.get(name)  # the per-sample function; the loss is its mean
        value = float(keras.ops.mean(fn(arrays[yt], arrays[yp])))
        per_sample = np.asarray(fn(arrays[yt], arrays[yp]))
        grad = np.asarray(jax.grad(lambda p: keras.ops.mean(fn(arrays[yt], p)))(
            arrays[yp]))
        arrays["grad/" + name] = grad
        arrays["per_sample/" + name] = per_sample
        meta["losses"][name] = {"y_true": yt, "y_pred": yp, "value": value}
    for spelling in ["mse", "MSE", "mae", "MAE", "mean_squared_error", "huber",
                     "binary_crossentropy", "categorical_crossentropy",
                     "sparse_categorical_crossentropy", "log_cosh", "kl_divergence"]:
        obj = keras.losses.get(spelling)
        meta["resolution"][spelling] = getattr(obj, "__name__", type(obj).__name__)
    metric_cases = {
        "binary_accuracy": ("bin_true", "bin_pred"),
        "categorical_accuracy": ("onehot", "proba"),
        "sparse_categorical_accuracy": ("labels", "proba"),
        "mean_squared_error": ("reg_true", "reg_pred"),
        "mean_absolute_error": ("reg_true", "reg_pred"),
        "root_mean_squared_error": ("reg_true", "reg_pred"),
        "mean_absolute_percentage_error": ("reg_true", "reg_pred"),
        "binary_crossentropy": ("bin_true", "bin_pred"),
        "categorical_crossentropy": ("onehot", "proba"),
        "sparse_categorical_crossentropy": ("labels", "proba"),
    }
    for name, (yt, yp) in metric_cases.items():
        m = keras.metrics.get(name)
        if not isinstance(m, keras.metrics.Metric):
            m = keras.metrics.MeanMetricWrapper(m)
        m.update_state(arrays[yt], arrays[yp])
        meta["metrics"][name] = {"y_true": yt, "y_pred": yp, "value": float(m.result())}
    _write("losses", meta, arrays)


# --- (c) whole models ---------------------------------------------------------------

def _data(rng, n, d, kind, k=3):
    x = rng.standard_normal((n, d)).astype(np.float32)
    if kind == "sparse":
        y = rng.integers(0, k, n)
    elif kind == "onehot":
        y = np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]
    elif kind == "binary":
        y = (x[:, :1] * x[:, 1:2] > 0).astype(np.float32)
    else:
        y = (x[:, :2] @ np.array([[1.0], [-0.5]], np.float32) + 0.1).astype(np.float32)
    return x, y


def _models():
    L = keras.layers
    R = keras.regularizers
    return {
        # name: (layers builder, compile kwargs, data kind, fit kwargs)
        "classifier_adam": (lambda: [keras.Input((4,)), L.Dense(8, activation="relu"),
                                     L.Dense(3, activation="softmax")],
                            dict(loss="sparse_categorical_crossentropy", optimizer="adam",
                                 metrics=["accuracy"]),
                            "sparse", dict(epochs=3, batch_size=8)),
        "classifier_sgd_onehot": (lambda: [keras.Input((4,)), L.Dense(8, activation="relu"),
                                           L.Dense(3, activation="softmax")],
                                  dict(loss="categorical_crossentropy",
                                       optimizer=keras.optimizers.SGD(0.05, momentum=0.9,
                                                                      nesterov=True),
                                       metrics=["accuracy"]),
                                  "onehot", dict(epochs=3, batch_size=16)),
        "xor_mse_sgd": (lambda: [keras.Input((2,)), L.Dense(10, activation="sigmoid"),
                                 L.Dense(10, activation="sigmoid"),
                                 L.Dense(1, activation="sigmoid")],
                        dict(loss="mean_squared_error", optimizer="SGD"),
                        "binary", dict(epochs=4, batch_size=4)),
        "binary_rmsprop": (lambda: [keras.Input((4,)), L.Dense(6, activation="tanh"),
                                    L.Dense(1, activation="sigmoid")],
                           dict(loss="binary_crossentropy", optimizer="rmsprop",
                                metrics=["accuracy"]),
                           "binary", dict(epochs=3, batch_size=10)),
        "bn_after_relu": (lambda: [keras.Input((4,)), L.Dense(8, activation="relu"),
                                   L.BatchNormalization(), L.Dense(3, activation="softmax")],
                          dict(loss="sparse_categorical_crossentropy", optimizer="adam",
                               metrics=["accuracy"]),
                          "sparse", dict(epochs=3, batch_size=8)),
        "bn_before_relu": (lambda: [keras.Input((4,)), L.Dense(8), L.BatchNormalization(),
                                    L.Activation("relu"), L.Dense(3, activation="softmax")],
                           dict(loss="sparse_categorical_crossentropy", optimizer="sgd",
                                metrics=["accuracy"]),
                           "sparse", dict(epochs=3, batch_size=8)),
        "regularized": (lambda: [keras.Input((4,)),
                                 L.Dense(8, activation="relu", kernel_regularizer=R.l2(0.01),
                                         bias_regularizer=R.l1(0.01)),
                                 L.Dense(1, kernel_regularizer=R.l1_l2(l1=0.005, l2=0.02))],
                        dict(loss="mse", optimizer="adam", metrics=["mae"]),
                        "regression", dict(epochs=3, batch_size=8)),
        "maxnorm": (lambda: [keras.Input((4,)),
                             L.Dense(8, activation="relu",
                                     kernel_constraint=keras.constraints.MaxNorm(0.5)),
                             L.Dense(1)],
                    dict(loss="huber", optimizer=keras.optimizers.SGD(0.1)),
                    "regression", dict(epochs=3, batch_size=8)),
        "adagrad_mae": (lambda: [keras.Input((4,)), L.Dense(5, activation="elu"), L.Dense(1)],
                        dict(loss="mae", optimizer="adagrad", metrics=["mse"]),
                        "regression", dict(epochs=3, batch_size=32)),
        "nadam_adamw_leaky": (lambda: [keras.Input((4,)), L.Dense(6), L.LeakyReLU(),
                                       L.Dense(3, activation="softmax")],
                              dict(loss="sparse_categorical_crossentropy", optimizer="nadam",
                                   metrics=["accuracy"]),
                              "sparse", dict(epochs=2, batch_size=8)),
        # appended cases (each model's seeds come from its index: the ones above keep theirs)
        "adamw_clipnorm": (lambda: [keras.Input((4,)), L.Dense(8, activation="relu"),
                                    L.Dense(3, activation="softmax")],
                           dict(loss="sparse_categorical_crossentropy",
                                optimizer=keras.optimizers.AdamW(0.02, weight_decay=0.05,
                                                                 clipnorm=0.2),
                                metrics=["accuracy"]),
                           "sparse", dict(epochs=3, batch_size=8)),
        "sgd_momentum_clipvalue": (lambda: [keras.Input((4,)), L.Dense(6, activation="tanh"),
                                            L.Dense(1)],
                                   dict(loss="mse",
                                        optimizer=keras.optimizers.SGD(0.05, momentum=0.9,
                                                                       clipvalue=0.05),
                                        metrics=["mae", "mse"]),
                                   "regression", dict(epochs=3, batch_size=8)),
        "rmsprop_global_clipnorm": (lambda: [keras.Input((4,)), L.Dense(6, activation="relu"),
                                             L.Dense(1, activation="sigmoid")],
                                    dict(loss="binary_crossentropy",
                                         optimizer=keras.optimizers.RMSprop(
                                             0.01, global_clipnorm=0.1),
                                         metrics=["accuracy"]),
                                    "binary", dict(epochs=3, batch_size=10)),
        # sample weights: Keras's sum(w * loss) / rows per batch, weighted metrics
        "sample_weight": (lambda: [keras.Input((4,)), L.Dense(8, activation="relu"),
                                   L.Dense(3, activation="softmax")],
                          dict(loss="sparse_categorical_crossentropy", optimizer="adam",
                               metrics=["accuracy"]),
                          "sparse", dict(epochs=2, batch_size=8, sample_weight=True)),
        "class_weight": (lambda: [keras.Input((4,)), L.Dense(8, activation="elu"),
                                  L.Dense(3, activation="softmax")],
                         dict(loss="categorical_crossentropy",
                              optimizer=keras.optimizers.SGD(0.1), metrics=["accuracy"]),
                         "onehot", dict(epochs=2, batch_size=16,
                                        class_weight={0: 0.5, 1: 2.0, 2: 1.0})),
        # validation_split: the last 25% of the rows, no validation_data
        "validation_split": (lambda: [keras.Input((4,)), L.Dense(5, activation="sigmoid"),
                                      L.Dense(1)],
                             dict(loss="huber", optimizer="adam", metrics=["mae"]),
                             "regression", dict(epochs=2, batch_size=8,
                                                validation_split=0.25)),
    }


def record_models():
    meta = {"models": {}}
    arrays = {}
    for i, (name, (layers, compile_kw, kind, fit_kw)) in enumerate(_models().items()):
        keras.utils.set_random_seed(i)
        rng = np.random.default_rng(100 + i)
        x, y = _data(rng, 40, 4 if kind != "binary" or name != "xor_mse_sgd" else 2, kind)
        xv, yv = _data(rng, 12, x.shape[1], kind)
        model = keras.Sequential(layers())
        init = []
        for w in model.get_weights():
            if w.ndim == 2:
                init.append(rng.uniform(-0.7, 0.7, w.shape).astype(np.float32))
            else:
                init.append(w + rng.uniform(-0.1, 0.1, w.shape).astype(np.float32)
                            if w.ndim == 1 and not np.all(w == 1) else w)
        model.set_weights(init)
        model.compile(**compile_kw)
        kw = dict(fit_kw)
        if kw.pop("sample_weight", False):
            kw["sample_weight"] = rng.uniform(0.2, 2.0, len(x)).astype(np.float32)
            arrays[name + "/sample_weight"] = kw["sample_weight"]
        if "validation_split" not in kw:
            kw["validation_data"] = (xv, yv)
        hist = model.fit(x, y, shuffle=False, verbose=0, **kw)
        ev = model.evaluate(xv, yv, verbose=0, return_dict=True)
        ev_list = model.evaluate(xv, yv, verbose=0)
        pred = model.predict(xv, verbose=0)
        arrays[name + "/x"], arrays[name + "/y"] = x, y
        arrays[name + "/x_val"], arrays[name + "/y_val"] = xv, yv
        for j, w in enumerate(init):
            arrays[f"{name}/init/{j}"] = w
        for j, w in enumerate(model.get_weights()):
            arrays[f"{name}/final/{j}"] = w
        arrays[name + "/predict"] = pred
        meta["models"][name] = {
            "compile": _jsonable({k: (v if isinstance(v, (str, list)) else v.get_config())
                                  for k, v in compile_kw.items()}),
            "optimizer_class": type(model.optimizer).__name__,
            "fit": {k: (v if k != "class_weight" else {str(c): w for c, w in v.items()})
                    for k, v in fit_kw.items()},
            "history": _jsonable(hist.history), "params": _jsonable(hist.params),
            "epoch": hist.epoch, "evaluate": _jsonable(ev), "evaluate_list": _jsonable(ev_list),
            "n_weights": len(init), "config": _jsonable(model.get_config()),
            "layer_names": [lay.name for lay in model.layers],
            "optimizer_variables": int(sum(np.prod(v.shape) for v in model.optimizer.variables)),
        }
    _write("models", meta, arrays)


# --- (d) printed text -----------------------------------------------------------------

def _capture(fn):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = fn()
    return buf.getvalue(), [str(x.message) for x in w], out


def record_text():
    L = keras.layers
    text = {}
    keras.utils.clear_session()
    decks = {
        "deck004_mnist": lambda: keras.Sequential([L.Flatten(input_shape=[28, 28]),
                                                   L.Dense(300, activation="relu"),
                                                   L.Dense(100, activation="relu"),
                                                   L.Dense(10, activation="softmax")]),
        "deck001_activation": lambda: keras.Sequential([L.Dense(32, input_shape=(784,)),
                                                        L.Activation("relu"), L.Dense(10),
                                                        L.Activation("softmax")]),
        "deck001_dropout": lambda: keras.Sequential([L.Dense(64, activation="relu", input_dim=20),
                                                     L.Dropout(0.5),
                                                     L.Dense(64, activation="relu"),
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
    for name, make in decks.items():
        keras.utils.clear_session()
        out, warns, model = _capture(make)
        text[name + "/warnings"] = warns
        text[name + "/summary"] = _capture(model.summary)[0]
        text[name + "/layer_names"] = [lay.name for lay in model.layers]
    # after compile + fit: the optimizer line, and the progress lines
    keras.utils.clear_session()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((100, 20)).astype(np.float32)
    y = rng.integers(0, 10, 100)
    model = keras.Sequential([keras.Input((20,)), L.Dense(16, activation="relu"),
                              L.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(0.01, momentum=0.9), metrics=["accuracy"])
    for verbose in (1, 2):
        text[f"fit_verbose{verbose}"] = _capture(lambda: model.fit(
            x, y, epochs=2, batch_size=32, validation_data=(x[:20], y[:20]),
            verbose=verbose))[0]
    text["evaluate_verbose1"] = _capture(lambda: model.evaluate(x, y))[0]
    text["predict_verbose1"] = _capture(lambda: model.predict(x[:3]))[0]
    text["summary_after_fit"] = _capture(model.summary)[0]
    # names: counters go on across models until clear_session
    keras.utils.clear_session()
    names = []
    for _ in range(3):
        m = keras.Sequential([keras.Input((3,)), L.Dense(2), L.BatchNormalization(),
                              L.Dropout(0.1), L.Dense(1)])
        names.append([m.name] + [lay.name for lay in m.layers])
    text["name_counters"] = names
    # configs of single layers with their defaults
    cfgs = {}
    for lname, lay in {"Dense": L.Dense(3), "Dropout": L.Dropout(0.5),
                       "BatchNormalization": L.BatchNormalization(),
                       "Activation": L.Activation("relu"), "Flatten": L.Flatten(),
                       "LeakyReLU": L.LeakyReLU(), "ELU": L.ELU(), "ReLU": L.ReLU(),
                       "Softmax": L.Softmax()}.items():
        cfgs[lname] = _jsonable(lay.get_config())
    text["layer_configs"] = cfgs
    text["optimizer_configs"] = {n: _jsonable(getattr(keras.optimizers, n)().get_config())
                                 for n in ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad",
                                           "Nadam"]}
    text["regularizer_configs"] = {
        "l1": _jsonable(keras.regularizers.l1().get_config()),
        "l2": _jsonable(keras.regularizers.l2().get_config()),
        "l1_l2": _jsonable(keras.regularizers.l1_l2().get_config()),
        "L1L2": _jsonable(keras.regularizers.L1L2(l1=0.1).get_config())}
    text["maxnorm_config"] = _jsonable(keras.constraints.MaxNorm().get_config())
    w = np.random.default_rng(4).standard_normal((5, 3)).astype(np.float32) * 2
    text["maxnorm_case"] = {"w": w.tolist(),
                            "out": np.asarray(keras.constraints.MaxNorm(1.5)(w)).tolist()}
    text["to_categorical"] = np.asarray(keras.utils.to_categorical([0, 2, 1, 2], 4)).tolist()
    _write("text", text, None)
    # a tiny .keras file
    keras.utils.clear_session()
    tiny = keras.Sequential([keras.Input((2,)), L.Dense(3, activation="relu"),
                             L.Dense(1, activation="sigmoid")])
    tiny.set_weights([np.arange(6, dtype=np.float32).reshape(2, 3) / 10,
                      np.array([0.1, -0.1, 0.0], np.float32),
                      np.array([[0.5], [-0.5], [0.25]], np.float32),
                      np.array([0.05], np.float32)])
    tiny.compile(loss="binary_crossentropy", optimizer="adam")
    tiny.save(os.path.join(OUT, "tiny.keras"))


def main():
    os.makedirs(OUT, exist_ok=True)
    steps = sys.argv[1:] or ["optimizers", "losses", "models", "text"]
    for step in steps:
        globals()["record_" + step]()
        print("recorded", step)


if __name__ == "__main__":
    main()
