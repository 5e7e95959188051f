"""Record Keras 3's learning-rate schedules (JAX backend), as test data for
fastmlp.keras.schedules.

Run in a virtual environment with Keras 3 and JAX (the test suite never needs
them)::

    KERAS_BACKEND=jax /tmp/kerasref/bin/python scripts/record_keras_schedules.py

It writes tests/data/keras_reference/schedules.json and schedules.npz:

- each schedule configuration evaluated by Keras at the steps ``STEPS``
  (float32 values);
- small Sequential models fit with a schedule and ``shuffle=False`` from
  explicit initial weights: History, final weights and the optimizer's
  learning rate and iteration count after fit.
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "keras_reference")
VERSIONS = {"keras": keras.__version__, "jax": jax.__version__, "backend": keras.backend.backend()}
STEPS = np.array(list(range(0, 41)) + [47, 50, 99, 100, 101, 250, 999, 1000, 1001, 12345],
                 np.int64)

SCHEDULES = {
    "exponential": ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=7,
                                             decay_rate=0.8)),
    "exponential_staircase": ("ExponentialDecay", dict(initial_learning_rate=0.05,
                                                       decay_steps=5, decay_rate=0.5,
                                                       staircase=True)),
    "inverse_time": ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=3,
                                              decay_rate=0.7)),
    "inverse_time_staircase": ("InverseTimeDecay", dict(initial_learning_rate=0.2,
                                                        decay_steps=4, decay_rate=1.5,
                                                        staircase=True)),
    "piecewise": ("PiecewiseConstantDecay", dict(boundaries=[3, 10, 100],
                                                 values=[0.1, 0.05, 0.01, 0.001])),
    "polynomial": ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=30)),
    "polynomial_power": ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=25,
                                                 end_learning_rate=0.01, power=0.5)),
    "polynomial_cycle": ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=9,
                                                 end_learning_rate=0.001, power=2.0,
                                                 cycle=True)),
    "cosine": ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=33)),
    "cosine_alpha": ("CosineDecay", dict(initial_learning_rate=0.02, decay_steps=20,
                                         alpha=0.1)),
    "cosine_warmup": ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=25,
                                          warmup_target=0.1, warmup_steps=8)),
    "cosine_warmup_alpha": ("CosineDecay", dict(initial_learning_rate=0.01, decay_steps=17,
                                                alpha=0.2, warmup_target=0.05,
                                                warmup_steps=5)),
}


def _models():
    L = keras.layers
    S = keras.optimizers.schedules
    return {
        # name: (layers, optimizer builder, loss, data kind, fit kwargs)
        "sgd_exponential": (lambda: [keras.Input((4,)), L.Dense(6, activation="tanh"),
                                     L.Dense(1)],
                            lambda: keras.optimizers.SGD(S.ExponentialDecay(0.1, 3, 0.7)),
                            "mse", "regression", dict(epochs=3, batch_size=8)),
        "adam_cosine_warmup": (lambda: [keras.Input((4,)), L.Dense(8, activation="relu"),
                                        L.Dense(3, activation="softmax")],
                               lambda: keras.optimizers.Adam(S.CosineDecay(
                                   0.001, 10, alpha=0.1, warmup_target=0.02,
                                   warmup_steps=4)),
                               "sparse_categorical_crossentropy", "sparse",
                               dict(epochs=3, batch_size=8)),
        "sgd_momentum_piecewise": (lambda: [keras.Input((4,)), L.Dense(5, activation="sigmoid"),
                                            L.Dense(1)],
                                   lambda: keras.optimizers.SGD(S.PiecewiseConstantDecay(
                                       [4, 9], [0.1, 0.03, 0.01]), momentum=0.9),
                                   "mse", "regression", dict(epochs=3, batch_size=10)),
    }


def _data(rng, n, kind):
    x = rng.standard_normal((n, 4)).astype(np.float32)
    if kind == "sparse":
        y = rng.integers(0, 3, n)
    else:
        y = (x[:, :2] @ np.array([[1.0], [-0.5]], np.float32) + 0.1).astype(np.float32)
    return x, y


def main():
    meta = {"steps": STEPS.tolist(), "schedules": {}, "models": {}, "versions": VERSIONS}
    arrays = {}
    for name, (cls, cfg) in SCHEDULES.items():
        schedule = getattr(keras.optimizers.schedules, cls)(**cfg)
        values = np.array([np.asarray(schedule(int(s))) for s in STEPS])
        assert values.dtype == np.float32, values.dtype
        arrays["schedule/" + name] = values
        opt = keras.optimizers.SGD(schedule)
        meta["schedules"][name] = {"class_name": cls, "config": cfg,
                                   "optimizer_config_learning_rate":
                                       opt.get_config()["learning_rate"]}
    for i, (name, (layers, optimizer, loss, kind, fit_kw)) in enumerate(_models().items()):
        keras.utils.set_random_seed(i)
        rng = np.random.default_rng(500 + i)
        x, y = _data(rng, 36, kind)
        model = keras.Sequential(layers())
        init = [rng.uniform(-0.7, 0.7, w.shape).astype(np.float32) if w.ndim == 2 else
                (w + rng.uniform(-0.1, 0.1, w.shape)).astype(np.float32)
                for w in model.get_weights()]
        model.set_weights(init)
        model.compile(loss=loss, optimizer=optimizer())
        hist = model.fit(x, y, shuffle=False, verbose=0, **fit_kw)
        arrays[name + "/x"], arrays[name + "/y"] = x, y
        for j, w in enumerate(init):
            arrays[f"{name}/init/{j}"] = w
        for j, w in enumerate(model.get_weights()):
            arrays[f"{name}/final/{j}"] = w
        meta["models"][name] = {
            "loss": loss, "fit": fit_kw, "n_weights": len(init),
            "optimizer_config": json.loads(json.dumps(model.optimizer.get_config(),
                                                      default=float)),
            "history": {k: [float(v) for v in vs] for k, vs in hist.history.items()},
            "iterations": int(model.optimizer.iterations),
            "learning_rate": float(np.asarray(model.optimizer.learning_rate)),
        }
    with open(os.path.join(OUT, "schedules.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    np.savez_compressed(os.path.join(OUT, "schedules.npz"), **arrays)
    print("recorded schedules")


if __name__ == "__main__":
    main()
