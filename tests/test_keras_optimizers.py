"""Keras's optimizer arithmetic: the C step against its NumPy twin (equal, bit
for bit, float32 and float64), and both against the trajectories Keras 3
recorded (tests/data/keras_reference/optimizers.*, written by
scripts/record_keras_reference.py; Keras is not needed here).

Tolerance against Keras: after 12 float32 steps, |ours - Keras| <= 2e-6 +
1e-5 |Keras|. The rules are Keras's expressions in Keras's order, but Keras
computes the bias corrections ``sqrt(1 - beta_2**t) / (1 - beta_1**t)`` and
Nadam's ``u_t`` product in float32 where we compute them in double and round
once, and decays as ``w - w * wd * lr`` where we multiply by
``1 - lr * wd``: differences of one float32 rounding per step, which the
momentum states carry on (measured: at most 1e-6 absolute, SGD, RMSprop and
Adagrad bit for bit).
"""
import json
import os
import warnings

import numpy as np
import pytest

from fastmlp import kernels, reference
from fastmlp import optimizers as fm_optimizers
from fastmlp.keras import optimizers

from elementwise_helpers import FLOAT_DTYPES

DATA = os.path.join(os.path.dirname(__file__), "data", "keras_reference")


def _recorded():
    with open(os.path.join(DATA, "optimizers.json")) as f:
        meta = json.load(f)
    return meta, np.load(os.path.join(DATA, "optimizers.npz"))


META, ARRAYS = _recorded()
CASES = sorted(META["cases"])


def _keras_object(case):
    c = META["cases"][case]
    return getattr(optimizers, c["class"])(**c["args"])


@pytest.mark.parametrize("case", CASES)
def test_front_end_objects_follow_the_keras_trajectory(case):
    opt = _keras_object(case)
    w, b = ARRAYS["w0"].copy(), ARRAYS["b0"].copy()
    for k in range(META["n_steps"]):
        opt.apply([ARRAYS["grad_w"][k], ARRAYS["grad_b"][k]], [w, b])
        np.testing.assert_allclose(w, ARRAYS[case + "/w"][k], rtol=1e-5, atol=2e-6)
        np.testing.assert_allclose(b, ARRAYS[case + "/b"][k], rtol=1e-5, atol=2e-6)
    assert opt.iterations == META["n_steps"]


@pytest.mark.parametrize("case", CASES)
def test_twin_follows_the_keras_trajectory(case):
    """The NumPy twin, step by step, as the front end drives the C step."""
    opt = _keras_object(case)
    w, b = ARRAYS["w0"].copy(), ARRAYS["b0"].copy()
    ow, ob = opt.fastmlp_optimizer(12), opt.fastmlp_optimizer(4)
    ow.state = [s.reshape(3, 4) for s in ow.state]
    for k in range(META["n_steps"]):
        gw, gb = ARRAYS["grad_w"][k], ARRAYS["grad_b"][k]
        if opt.global_clipnorm:
            gw, gb = reference.keras_global_clip([gw, gb], opt.global_clipnorm)
        reference.optimizer_step(w, gw, ow)
        reference.optimizer_step(b, gb, ob)
    np.testing.assert_allclose(w, ARRAYS[case + "/w"][-1], rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(b, ARRAYS[case + "/b"][-1], rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("case", CASES)
def test_optimizer_variables_count_as_keras(case):
    opt = _keras_object(case)
    # the recorded variable count: iterations, learning_rate, the slots of w
    # and b (and Nadam's u_product); count_params counts values: with two
    # variables of one value each, the counts are the same
    assert opt.count_params([1, 1]) == META["cases"][case]["n_variables"]


KERAS_RULES = [
    ("sgd", dict(momentum=0.0, nesterov=False)), ("sgd", dict(momentum=0.9, nesterov=True)),
    ("adam", {}), ("adam", dict(weight_decay=0.05, clipnorm=0.5)),
    ("adamw", dict(weight_decay=0.1)), ("rmsprop", dict(clipvalue=0.2)),
    ("rmsprop", dict(rho=0.8, weight_decay=0.01)), ("adagrad", dict(clipnorm=1.0)),
    ("nadam", {}), ("nadam", dict(beta_1=0.8, momentum_decay=1.0, clipvalue=0.5)),
]
_CLASSES = {"sgd": fm_optimizers.SGD, "adam": fm_optimizers.Adam,
            "adamw": fm_optimizers.AdamW, "rmsprop": fm_optimizers.RMSprop,
            "adagrad": fm_optimizers.Adagrad, "nadam": fm_optimizers.NAdam}


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("kind,hyper", KERAS_RULES)
def test_keras_arithmetic_c_equals_numpy_twin(rng, dtype, kind, hyper):
    """Same operations in the same order, constants rounded once: equal."""
    shape = (37, 5)  # a tail after the vector width, a norm over 185 values
    param = rng.standard_normal(shape).astype(dtype)
    grads = [(rng.standard_normal(shape) * 3).astype(dtype) for _ in range(7)]
    grads[2][:, 1] = 0  # zeros: a dead unit's moments decay towards subnormals
    results = []
    for mod in (kernels, reference):
        opt = _CLASSES[kind](param.size, dtype, learning_rate_init=0.01, arithmetic="keras",
                             **hyper)
        opt.state = [s.reshape(shape) for s in opt.state]
        p = param.copy()
        for g in grads:
            mod.optimizer_step(p, g, opt)
        results.append((p, opt))
    (pc, oc), (pr, orr) = results
    np.testing.assert_array_equal(pc, pr)
    for a, b in zip(oc.state, orr.state):
        np.testing.assert_array_equal(a, b)
    assert oc.t == orr.t == len(grads)
    assert getattr(oc, "mu_product", 1.0) == getattr(orr, "mu_product", 1.0)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("kind", ["sgd", "adam", "rmsprop", "adagrad", "adamw", "nadam"])
def test_plain_and_sklearn_objects_step_as_their_twins(rng, dtype, kind):
    """optimizer_step is one door for every arithmetic: the plain (and
    scikit-learn) forms equal their named twins through it."""
    param = rng.standard_normal(50).astype(dtype)
    grads = [rng.standard_normal(50).astype(dtype) for _ in range(4)]
    results = []
    for mod in (kernels, reference):
        opt = _CLASSES[kind](50, dtype, learning_rate_init=0.01)
        p = param.copy()
        for g in grads:
            mod.optimizer_step(p, g, opt)
        results.append(p)
    np.testing.assert_array_equal(*results)


def test_keras_rmsprop_and_adagrad_put_epsilon_under_the_root():
    g = np.array([1e-4], np.float64)
    for cls in (fm_optimizers.RMSprop, fm_optimizers.Adagrad):
        kw = dict(initial_accumulator_value=0.0) if cls is fm_optimizers.Adagrad else dict(
            rho=0.0)
        p = np.zeros(1)
        opt = cls(1, np.float64, learning_rate_init=1.0, epsilon=1e-6, arithmetic="keras", **kw)
        kernels.optimizer_step(p, g, opt)
        assert p[0] == pytest.approx(-1e-4 / np.sqrt(1e-8 + 1e-6), rel=1e-14)
        p = np.zeros(1)
        opt = cls(1, np.float64, learning_rate_init=1.0, epsilon=1e-6, **kw)
        kernels.optimizer_step(p, g, opt)
        assert p[0] == pytest.approx(-1e-4 / (1e-4 + 1e-6), rel=1e-14)


def test_keras_global_clip_scales_all_gradients_by_one_factor():
    a, b = np.array([3.0, 0.0]), np.array([4.0])
    ca, cb = reference.keras_global_clip([a, b], 1.0)
    np.testing.assert_allclose(np.concatenate([ca, cb]), [0.6, 0.0, 0.8])
    ca, cb = reference.keras_global_clip([a, b], 10.0)  # below the bound: unchanged
    np.testing.assert_array_equal(ca, a)
    assert np.isnan(reference.keras_global_clip([np.array([np.inf])], 1.0)[0]).all()


def test_clipping_needs_keras_arithmetic():
    with pytest.raises(ValueError, match="arithmetic='keras'"):
        fm_optimizers.Adam(3, clipnorm=1.0)
    with pytest.raises(ValueError, match="at most one"):
        fm_optimizers.Adam(3, arithmetic="keras", clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="> 0"):
        fm_optimizers.Adam(3, arithmetic="keras", clipnorm=-1.0)
    with pytest.raises(ValueError, match="'plain' or 'keras'"):
        fm_optimizers.RMSprop(3, arithmetic="sklearn")


@pytest.mark.parametrize("clip", [{"clipnorm": 0.3}, {"clipvalue": 0.05}])
def test_engine_clips_per_keras_variable(clip):
    """The engine's clipnorm / clipvalue act on each W and b on its own:
    one minibatch equals the full-batch gradient stepped variable by
    variable with the one-variable C step (float64: only the summation
    order of the norms differs)."""
    from test_optimizers import _tiny_engine

    engine, coefs, intercepts, X, Y = _tiny_engine()
    opt = fm_optimizers.Adam(engine.n_params, arithmetic="keras", **clip)
    variables = [c.copy() for c in coefs] + [b.copy() for b in intercepts]
    _, grad = engine.loss_grad(variables[:2], variables[2:], X, Y, None)
    engine.epoch(coefs, intercepts, X, Y, None, None, len(X), opt)
    assert opt.t == 1
    offset, clipped = 0, 0
    for v in variables:
        g = grad[offset:offset + v.size].reshape(v.shape)
        offset += v.size
        free, one = v.copy(), fm_optimizers.Adam(v.size, arithmetic="keras", **clip)
        unclipped = fm_optimizers.Adam(v.size, arithmetic="keras")
        for o in (one, unclipped):
            o.state = [s.reshape(v.shape) for s in o.state]
        kernels.optimizer_step(free, g, unclipped)
        kernels.optimizer_step(v, g, one)
        clipped += not np.allclose(free, v, rtol=1e-9, atol=0)
    for got, want in zip(coefs + intercepts, variables):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert clipped >= 1  # the clipping acted on some variable


def test_keras_names_defaults_and_configs():
    with open(os.path.join(DATA, "text.json")) as f:
        configs = json.load(f)["optimizer_configs"]
    for cls_name, want in configs.items():
        got = getattr(optimizers, cls_name)().get_config()
        for key, value in want.items():
            if key == "name":
                continue  # Keras 3.15 writes snake-case names ("adam_w", "rm_sprop")
            assert got[key] == pytest.approx(value) if isinstance(value, float) else \
                got[key] == value, (cls_name, key)
    sgd = optimizers.get("SGD")
    assert (sgd.learning_rate, sgd.momentum, sgd.nesterov) == (np.float32(0.01), 0.0, False)
    for spelling in ["adam", "Adam", "ADAM", "rmsprop", "RMSprop", "adagrad", "nadam", "adamw"]:
        assert isinstance(optimizers.get(spelling), optimizers.Optimizer)
    assert optimizers.get({"class_name": "Adam", "config": {"learning_rate": 0.5}}
                          ).learning_rate == 0.5
    with pytest.raises(ValueError, match="fastmlp.keras has no 'adadelta'"):
        optimizers.get("adadelta")
    with pytest.raises(ValueError, match="Could not interpret"):
        optimizers.get("sgdd")


def test_keras2_spellings_warn_and_work():
    with pytest.warns(DeprecationWarning, match="`lr`"), \
            pytest.warns(UserWarning, match="`decay` is no longer supported"):
        sgd = optimizers.SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    assert sgd.get_config()["learning_rate"] == pytest.approx(0.0099999998)
    assert (sgd.momentum, sgd.nesterov, sgd.weight_decay) == (0.9, True, None)
    with pytest.raises(ValueError, match=r"Argument\(s\) not recognized: \{'foo': 1\}"):
        optimizers.Adam(foo=1)
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipnorm=1.0, global_clipnorm=1.0)
    with pytest.raises(NotImplementedError, match="momentum=0"):
        optimizers.RMSprop(momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizers.SGD(0.1)  # no warning for Keras 3's spelling
