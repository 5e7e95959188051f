"""fastmlp.keras's learning-rate schedules against Keras 3's recorded values,
and the engine's per-step rates.

The reference values (tests/data/keras_reference/schedules.*) were recorded
with Keras 3 on JAX by scripts/record_keras_schedules.py. Tolerances:

- schedule values: rtol 1e-6, atol 1e-12. Both evaluate Keras's formulas
  in float32, operation for operation, but NumPy's float32 ``power`` and
  ``cos`` may round differently from XLA's by an ulp or two (6e-8 each);
  atol for a cosine decay's end, cos(float32(pi)) giving about 1e-8 * lr.
- fit with a schedule: as tests/test_keras_fit.py (History rtol 1e-5, final
  weights rtol 1e-4 atol 1e-6: float32 sums in another order than XLA's,
  over a few epochs).
- the engine's per-step rates against the same steps taken one minibatch
  per call with the scalar changed in between: bit for bit (the same C
  operations on the same values).
"""
import json
import os

import numpy as np
import pytest

from fastmlp import keras
from fastmlp import optimizers as fm_optimizers
from fastmlp.keras import callbacks, schedules, utils
from fastmlp.network import Layer, Network

DATA = os.path.join(os.path.dirname(__file__), "data", "keras_reference")
with open(os.path.join(DATA, "schedules.json")) as f:
    META = json.load(f)
ARRAYS = dict(np.load(os.path.join(DATA, "schedules.npz")))
STEPS = np.array(META["steps"], np.int64)
L = keras.layers
S = keras.optimizers.schedules


@pytest.fixture(autouse=True)
def fresh_session():
    utils.clear_session()
    yield
    utils.clear_session()


def _schedule(name):
    case = META["schedules"][name]
    return getattr(S, case["class_name"])(**case["config"])


@pytest.mark.parametrize("name", sorted(META["schedules"]))
def test_schedule_values_follow_keras(name):
    schedule = _schedule(name)
    want = ARRAYS["schedule/" + name]
    got = schedule(STEPS)  # vectorised over the steps, as fit evaluates it
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)
    for k in (0, 5, len(STEPS) - 1):  # a scalar step gives the same float32
        one = schedule(int(STEPS[k]))
        assert isinstance(one, np.float32) and one == got[k]


@pytest.mark.parametrize("name", sorted(META["schedules"]))
def test_optimizer_config_holds_the_schedule_as_keras_serializes_it(name):
    case = META["schedules"][name]
    opt = keras.optimizers.SGD(_schedule(name))
    assert opt.get_config()["learning_rate"] == case["optimizer_config_learning_rate"]
    back = keras.optimizers.SGD.from_config(opt.get_config())
    assert type(back._learning_rate) is type(opt._learning_rate)
    assert back._learning_rate.get_config() == opt._learning_rate.get_config()
    np.testing.assert_array_equal(back._learning_rate(STEPS), opt._learning_rate(STEPS))


_MODELS = {
    "sgd_exponential": (lambda: [keras.Input((4,)), L.Dense(6, activation="tanh"), L.Dense(1)],
                        keras.optimizers.SGD),
    "adam_cosine_warmup": (lambda: [keras.Input((4,)), L.Dense(8, activation="relu"),
                                    L.Dense(3, activation="softmax")], keras.optimizers.Adam),
    "sgd_momentum_piecewise": (lambda: [keras.Input((4,)), L.Dense(5, activation="sigmoid"),
                                        L.Dense(1)], keras.optimizers.SGD),
}


@pytest.mark.parametrize("name", sorted(META["models"]))
def test_fit_with_a_schedule_follows_keras(name):
    case = META["models"][name]
    layers, optimizer_class = _MODELS[name]
    model = keras.Sequential(layers())
    model.set_weights([ARRAYS[f"{name}/init/{j}"] for j in range(case["n_weights"])])
    # the optimizer from Keras's own config (its serialized schedule)
    optimizer = optimizer_class.from_config(dict(case["optimizer_config"]))
    assert isinstance(optimizer._learning_rate, schedules.LearningRateSchedule)
    model.compile(loss=case["loss"], optimizer=optimizer)
    history = model.fit(ARRAYS[f"{name}/x"], ARRAYS[f"{name}/y"], shuffle=False, verbose=0,
                        **case["fit"])
    for key, want in case["history"].items():
        np.testing.assert_allclose(history.history[key], want, rtol=1e-5, err_msg=key)
    for j, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, ARRAYS[f"{name}/final/{j}"], rtol=1e-4, atol=1e-6,
                                   err_msg=f"weight {j}")
    assert optimizer.iterations == case["iterations"]
    np.testing.assert_allclose(optimizer.learning_rate, case["learning_rate"], rtol=1e-6)


def test_a_schedule_changes_the_training():
    """The per-step rates reach the engine: a schedule decaying to almost
    nothing after the first step trains less than its constant first rate."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    y = x[:, :1] - x[:, 1:2]
    finals = []
    for lr in (0.1, S.ExponentialDecay(0.1, 1, 1e-6)):
        utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((4,)), L.Dense(1)])
        w0 = model.get_weights()
        model.compile(loss="mse", optimizer=keras.optimizers.SGD(lr))
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        finals.append(np.abs(model.get_weights()[0] - w0[0]).sum())
    assert finals[1] < 0.5 * finals[0]


def _engine_case(kind, d=3, units=5):
    rng = np.random.default_rng(7)
    net = Network(d, [Layer(units, "tanh"), Layer(2)], loss="squared_error",
                  convention="keras")
    coefs = [rng.normal(size=(d, units)).astype(np.float32),
             rng.normal(size=(units, 2)).astype(np.float32)]
    intercepts = [rng.normal(size=units).astype(np.float32),
                  rng.normal(size=2).astype(np.float32)]
    X = rng.normal(size=(23, d)).astype(np.float32)
    Y = rng.normal(size=(23, 2)).astype(np.float32)
    cls = {"sgd": fm_optimizers.SGD, "adam": fm_optimizers.Adam,
           "nadam": fm_optimizers.NAdam}[kind]
    extra = {"momentum": 0.9, "nesterov": False} if kind == "sgd" else {}
    opt = cls(net.n_params, np.float32, learning_rate_init=0.05, weight_decay=0.01,
              arithmetic="keras", **extra)
    return net, coefs, intercepts, X, Y, opt


@pytest.mark.parametrize("kind", ["sgd", "adam", "nadam"])
@pytest.mark.parametrize("d, units", [(3, 5), (600, 512)])  # 600 x 512: the fused step
def test_engine_per_step_rates_equal_the_scalar_changed_each_step(kind, d, units):
    batch = 5  # 23 rows: 5 steps, the last of 3 rows
    rates = np.array([0.05, 0.03, 0.0, 0.02, 0.011], np.float64)
    net, coefs, intercepts, X, Y, opt = _engine_case(kind, d, units)
    engine = net.engine(batch, np.float32)
    opt.lr_steps = rates
    loss = engine.epoch(coefs, intercepts, X, Y, None, None, batch, opt)
    assert opt.t == 5 and opt.lr_steps.shape == (0,)  # every rate taken

    net, coefs2, intercepts2, X, Y, opt2 = _engine_case(kind, d, units)
    by_hand = 0.0
    for k, start in enumerate(range(0, 23, batch)):
        opt2.learning_rate = rates[k]
        by_hand += engine.epoch(coefs2, intercepts2, X[start:start + batch],
                                Y[start:start + batch], None, None, batch, opt2)
    assert opt2.t == 5
    for a, b in zip(coefs + intercepts, coefs2 + intercepts2):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(opt.state, opt2.state):
        np.testing.assert_array_equal(a, b)
    assert loss == by_hand


def test_engine_refuses_bad_per_step_rates():
    net, coefs, intercepts, X, Y, opt = _engine_case("sgd")
    engine = net.engine(5, np.float32)
    before = [c.copy() for c in coefs]
    opt.lr_steps = np.array([0.1, 0.1, 0.1, 0.1])  # 5 steps to take
    with pytest.raises(ValueError, match="lr_steps holds 4"):
        engine.epoch(coefs, intercepts, X, Y, None, None, 5, opt)
    for bad in (np.nan, -0.1, np.inf):
        opt.lr_steps = np.array([0.1, bad, 0.1, 0.1, 0.1])
        with pytest.raises(ValueError, match="finite and >= 0"):
            engine.epoch(coefs, intercepts, X, Y, None, None, 5, opt)
    opt.lr_steps = np.array([0.1] * 5, np.float32)
    with pytest.raises(ValueError, match="float64"):
        engine.epoch(coefs, intercepts, X, Y, None, None, 5, opt)
    assert opt.t == 0
    for a, b in zip(coefs, before):
        np.testing.assert_array_equal(a, b)


def test_learning_rate_reads_the_schedule_and_is_not_settable():
    schedule = S.ExponentialDecay(0.1, 2, 0.5)
    opt = keras.optimizers.Adam(schedule)
    assert opt.learning_rate == float(np.float32(0.1))
    opt.iterations = 4
    assert opt.learning_rate == float(schedule(4)) == float(np.float32(0.025))
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.01
    opt.learning_rate = S.PiecewiseConstantDecay([1], [0.2, 0.1])  # a schedule may be set
    assert opt.learning_rate == float(np.float32(0.1))
    plain = keras.optimizers.SGD(0.1)
    plain.learning_rate = S.InverseTimeDecay(0.3, 1, 1.0)
    assert plain.learning_rate == float(np.float32(0.3))
    with pytest.raises(NotImplementedError, match="LearningRateSchedule"):
        keras.optimizers.SGD(lambda: 0.1)
    # apply (one step by hand) uses the rate at iterations
    w, g = np.ones(3, np.float32), np.ones(3, np.float32)
    sgd = keras.optimizers.SGD(S.PiecewiseConstantDecay([0], [0.5, 0.25]))
    sgd.apply([g], [w])
    sgd.apply([g], [w])
    np.testing.assert_array_equal(w, np.float32(1 - 0.5 - 0.25))


def test_optimizer_params_count_no_rate_variable_with_a_schedule():
    assert keras.optimizers.SGD(0.1, momentum=0.9).count_params([10]) == 12
    assert keras.optimizers.SGD(S.CosineDecay(0.1, 5), momentum=0.9).count_params([10]) == 11


def _tiny_model(lr):
    utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), L.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(lr))
    rng = np.random.default_rng(0)
    return model, rng.normal(size=(20, 3)).astype(np.float32), rng.integers(0, 2, 20)


def test_lr_callbacks_refuse_a_schedule_as_keras_does():
    model, x, y = _tiny_model(S.ExponentialDecay(0.1, 5, 0.9))
    with pytest.raises(TypeError, match="not settable"):
        model.fit(x, y, epochs=2, verbose=0,
                  callbacks=[callbacks.LearningRateScheduler(lambda e, lr: lr * 0.5)])
    model, x, y = _tiny_model(S.ExponentialDecay(0.1, 5, 0.9))
    with pytest.raises(TypeError, match="not settable"):
        model.fit(x, y, epochs=3, verbose=0,
                  callbacks=[callbacks.ReduceLROnPlateau("loss", patience=0, min_delta=10.0)])
    # no reduction: nothing set, the rate logged (the schedule's at the epoch's end)
    model, x, y = _tiny_model(S.ExponentialDecay(0.1, 5, 0.9))
    history = model.fit(x, y, epochs=2, batch_size=10, verbose=0,
                        callbacks=[callbacks.ReduceLROnPlateau("loss", patience=5)])
    np.testing.assert_allclose(history.history["learning_rate"],
                               [S.ExponentialDecay(0.1, 5, 0.9)(s) for s in (2, 4)])


def test_keras_file_keeps_the_schedule(tmp_path):
    model, x, y = _tiny_model(S.PolynomialDecay(0.1, 7, power=2.0, cycle=True))
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    back = keras.models.load_model(tmp_path / "m.keras")
    assert back.optimizer.get_config() == model.optimizer.get_config()
    assert isinstance(back.optimizer._learning_rate, S.PolynomialDecay)


def test_schedules_refuse_what_keras_refuses():
    for cls in (S.ExponentialDecay, S.InverseTimeDecay):
        with pytest.raises(ValueError, match="decay_steps"):
            cls(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="decay_steps"):
        S.PolynomialDecay(0.1, -1)
    with pytest.raises(ValueError, match="decay_steps"):
        S.CosineDecay(0.1, 0)
    with pytest.raises(ValueError, match="1 less than"):
        S.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(NotImplementedError):
        schedules.LearningRateSchedule()(0)
    with pytest.raises(ValueError, match="no learning-rate schedule"):
        schedules.deserialize({"class_name": "CosineDecayRestarts", "config": {}})
    # a schedule giving a negative rate is refused before the epoch
    opt = keras.optimizers.SGD(S.PolynomialDecay(0.1, 2, end_learning_rate=-0.5))
    with pytest.raises(ValueError, match="finite and >= 0"):
        opt.lr_steps(4)
    assert keras.optimizers.SGD(0.1).lr_steps(4) is None
