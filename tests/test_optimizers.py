"""fastmlp.kernels.sgd_step / adam_step: bit for bit scikit-learn's optimizers.

No tolerance here: the kernels evaluate scikit-learn's NumPy expressions in
the same order and precision (see csrc/ops/optimizers.c), so parameters and
optimizer state must be *equal* (assert_array_equal) to those of
SGDOptimizer / AdamOptimizer run on the same arrays, step after step, in
float32 and float64. The reference module must match them bit for bit too.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from fastmlp import kernels, optimizers, reference

from elementwise_helpers import FLOAT_DTYPES

MODULES = [pytest.param(kernels, id="kernels"), pytest.param(reference, id="reference")]
# The shapes of a small MLP's coefs_ and intercepts_, and some odd ones.
SHAPES = [(5, 17), (17,), (17, 3), (3,), (1,), (2, 3, 4), (0,), (1000,)]
N_STEPS = 6


def make_problem(rng, dtype, shapes=SHAPES, n_steps=N_STEPS):
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(n_steps)]
    return params, grads


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("momentum", [0.9, 0.0, 0.5, 1.0])
@pytest.mark.parametrize("learning_rate", [0.1, 1e-3, 0.37])
def test_sgd_matches_scikit_learn_bit_for_bit(rng, mod, dtype, nesterov, momentum,
                                              learning_rate):
    params, grads = make_problem(rng, dtype)
    sk_params = [p.copy() for p in params]
    sk = SGDOptimizer(sk_params, learning_rate_init=learning_rate, momentum=momentum,
                      nesterov=nesterov)
    ours = [p.copy() for p in params]
    velocities = [np.zeros_like(p) for p in params]
    for step, g in enumerate(grads):
        sk.update_params(sk_params, g)
        for p, gi, v in zip(ours, g, velocities):
            assert mod.sgd_step(p, gi, v, learning_rate=learning_rate, momentum=momentum,
                                nesterov=nesterov) is None
        for i in range(len(params)):
            np.testing.assert_array_equal(ours[i], sk_params[i], err_msg=f"step {step}")
            np.testing.assert_array_equal(velocities[i], sk.velocities[i])
            assert ours[i].dtype == dtype


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("hyper", [
    {},  # scikit-learn's defaults
    {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-7},
    {"learning_rate": 0.3, "beta_1": 0.0, "beta_2": 0.0, "epsilon": 1e-3},
    {"learning_rate": 1e-4, "beta_1": 0.999, "beta_2": 0.9999, "epsilon": 1e-12},
])
def test_adam_matches_scikit_learn_bit_for_bit(rng, mod, dtype, hyper):
    params, grads = make_problem(rng, dtype)
    sk_params = [p.copy() for p in params]
    sk_kwargs = {("learning_rate_init" if k == "learning_rate" else k): v
                 for k, v in hyper.items()}
    sk = AdamOptimizer(sk_params, **sk_kwargs)
    ours = [p.copy() for p in params]
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    for t, g in enumerate(grads, start=1):
        sk.update_params(sk_params, g)
        for p, gi, m, v in zip(ours, g, ms, vs):
            assert mod.adam_step(p, gi, m, v, t=t, **hyper) is None
        assert sk.t == t
        for i in range(len(params)):
            np.testing.assert_array_equal(ours[i], sk_params[i], err_msg=f"step {t}")
            np.testing.assert_array_equal(ms[i], sk.ms[i])
            np.testing.assert_array_equal(vs[i], sk.vs[i])
            assert ours[i].dtype == dtype


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_adam_float32_update_is_computed_in_double(rng, dtype):
    # Guard the one non-obvious rule (NEP 50): scikit-learn's step size is a
    # NumPy float64, so for float32 parameters the update is computed in
    # float64 and the sum rounded back. A float32-only computation differs
    # in the last bit for a sizeable fraction of elements.
    p0 = rng.standard_normal(4000).astype(dtype)
    g = rng.standard_normal(4000).astype(dtype)
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    kernels.adam_step(p, g, m, v, t=1, learning_rate=0.01)
    lr_t = 0.01 * np.sqrt(1 - 0.999) / (1 - 0.9)
    update = -lr_t * m.astype(np.float64) / (np.sqrt(v) + 1e-8).astype(np.float64)
    np.testing.assert_array_equal(p, (p0.astype(np.float64) + update).astype(dtype))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_grad_in_any_layout(rng, dtype):
    # grad is only read: Fortran-ordered, strided or read-only grads give the
    # same (bit-identical) step.
    shape = (17, 9)
    p0 = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    ro = g.copy()
    ro.flags.writeable = False
    for gl in (np.asfortranarray(g), np.repeat(g, 2, axis=0)[::2], ro):
        for step in ("sgd", "adam"):
            want, got = p0.copy(), p0.copy()
            s1 = [np.zeros_like(p0), np.zeros_like(p0)]
            s2 = [np.zeros_like(p0), np.zeros_like(p0)]
            if step == "sgd":
                kernels.sgd_step(want, g, s1[0], learning_rate=0.1)
                kernels.sgd_step(got, gl, s2[0], learning_rate=0.1)
            else:
                kernels.adam_step(want, g, *s1, t=3)
                kernels.adam_step(got, gl, *s2, t=3)
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(s2[0], s1[0])


def test_grad_overlapping_the_state_is_read_before_it_changes(rng):
    # grad aliasing velocity (a caller's mistake, but well defined): the
    # binding copies grad first, so the step is that of the original values.
    p = rng.standard_normal(50)
    vel = rng.standard_normal(50)
    want_p, want_v = p.copy(), vel.copy()
    kernels.sgd_step(want_p, vel.copy(), want_v, learning_rate=0.1)
    kernels.sgd_step(p, vel, vel, learning_rate=0.1)
    np.testing.assert_array_equal(p, want_p)
    np.testing.assert_array_equal(vel, want_v)


# ---------------------------------------------------------------------------
# Bad input: the same exception, naming the argument, from both modules
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("mod", MODULES)
def test_sgd_bad_input(mod):
    p, g, v = np.zeros((3, 4)), np.zeros((3, 4)), np.zeros((3, 4))
    with pytest.raises(TypeError, match="param must be a numpy.ndarray"):
        mod.sgd_step([0.0], g, v, learning_rate=0.1)
    with pytest.raises(TypeError, match="param must have dtype float32 or float64"):
        mod.sgd_step(p.astype(int), g, v, learning_rate=0.1)
    with pytest.raises(TypeError, match="grad must have dtype float64"):
        mod.sgd_step(p, g.astype(np.float32), v, learning_rate=0.1)
    with pytest.raises(TypeError, match="velocity must have dtype float64"):
        mod.sgd_step(p, g, v.astype(np.float32), learning_rate=0.1)
    with pytest.raises(ValueError, match=r"grad must have the shape of param \(3, 4\)"):
        mod.sgd_step(p, np.zeros(12), v, learning_rate=0.1)
    with pytest.raises(ValueError, match=r"velocity must have the shape of param \(3, 4\)"):
        mod.sgd_step(p, g, np.zeros((4, 3)), learning_rate=0.1)
    with pytest.raises(ValueError, match="param must be C-contiguous"):
        mod.sgd_step(np.zeros((4, 3)).T, g.T, v.T, learning_rate=0.1)
    with pytest.raises(ValueError, match="velocity must be C-contiguous"):
        mod.sgd_step(p, g, np.zeros((4, 3)).T, learning_rate=0.1)
    ro = np.zeros((3, 4))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="param must be writeable"):
        mod.sgd_step(ro, g, v, learning_rate=0.1)
    with pytest.raises(ValueError, match="velocity must be writeable"):
        mod.sgd_step(p, g, ro, learning_rate=0.1)
    with pytest.raises(ValueError, match="param and velocity must not overlap"):
        mod.sgd_step(p, g, p, learning_rate=0.1)
    with pytest.raises(TypeError, match="learning_rate must be a real number"):
        mod.sgd_step(p, g, v, learning_rate="0.1")
    with pytest.raises(TypeError, match="learning_rate must be a real number"):
        mod.sgd_step(p, g, v, learning_rate=None)
    with pytest.raises(ValueError, match="learning_rate must be >= 0"):
        mod.sgd_step(p, g, v, learning_rate=-0.1)
    with pytest.raises(ValueError, match="learning_rate must be finite"):
        mod.sgd_step(p, g, v, learning_rate=np.inf)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\]"):
            mod.sgd_step(p, g, v, learning_rate=0.1, momentum=bad)
    with pytest.raises(TypeError, match="momentum must be a real number"):
        mod.sgd_step(p, g, v, learning_rate=0.1, momentum=True)
    with pytest.raises(TypeError):
        mod.sgd_step(p, g, v)  # learning_rate is required


@pytest.mark.parametrize("mod", MODULES)
def test_adam_bad_input(mod):
    p, g, m, v = (np.zeros(5) for _ in range(4))
    with pytest.raises(TypeError, match="t must be an integer"):
        mod.adam_step(p, g, m, v, t=1.0)
    with pytest.raises(TypeError, match="t must be an integer"):
        mod.adam_step(p, g, m, v, t=True)
    for bad in (0, -3):
        with pytest.raises(ValueError, match="t must be >= 1"):
            mod.adam_step(p, g, m, v, t=bad)
    with pytest.raises(TypeError):
        mod.adam_step(p, g, m, v)  # t is required
    for name, bad in [("beta_1", 1.0), ("beta_1", -0.1), ("beta_2", 1.0), ("beta_2", 2.0)]:
        with pytest.raises(ValueError, match=rf"{name} must be in \[0, 1\)"):
            mod.adam_step(p, g, m, v, t=1, **{name: bad})
    for bad in (0.0, -1e-8):
        with pytest.raises(ValueError, match="epsilon must be > 0"):
            mod.adam_step(p, g, m, v, t=1, epsilon=bad)
    with pytest.raises(ValueError, match="learning_rate must be >= 0"):
        mod.adam_step(p, g, m, v, t=1, learning_rate=-1e-3)
    with pytest.raises(ValueError, match="epsilon must be finite"):
        mod.adam_step(p, g, m, v, t=1, epsilon=np.nan)
    with pytest.raises(ValueError, match="m and v must not overlap"):
        mod.adam_step(p, g, m, m, t=1)
    with pytest.raises(ValueError, match="param and m must not overlap"):
        mod.adam_step(p, g, p, v, t=1)
    with pytest.raises(ValueError, match=r"v must have the shape of param \(5,\)"):
        mod.adam_step(p, g, m, np.zeros(4), t=1)
    with pytest.raises(TypeError, match="m must have dtype float64"):
        mod.adam_step(p, g, m.astype(np.float32), v, t=1)
    # NumPy integers are integers
    mod.adam_step(p, g, m, v, t=np.int64(2))


# ---------------------------------------------------------------------------
# Property-based: hyper-parameters, step numbers and states, still bit for bit
# ---------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(dtype=st.sampled_from(FLOAT_DTYPES), n=st.integers(0, 70),
       learning_rate=st.floats(1e-6, 2.0), momentum=st.floats(0.0, 1.0),
       nesterov=st.booleans(), grad_scale=st.floats(1e-6, 1e6),
       seed=st.integers(0, 2**32 - 1))
def test_property_sgd_bit_for_bit(dtype, n, learning_rate, momentum, nesterov, grad_scale,
                                  seed):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(n).astype(dtype)
    g = (grad_scale * rng.standard_normal(n)).astype(dtype)
    vel0 = rng.standard_normal(n).astype(dtype)
    sk_p = [p.copy()]
    sk = SGDOptimizer(sk_p, learning_rate_init=learning_rate, momentum=momentum,
                      nesterov=nesterov)
    sk.velocities = [vel0.copy()]
    sk.update_params(sk_p, [g])
    vel = vel0.copy()
    kernels.sgd_step(p, g, vel, learning_rate=learning_rate, momentum=momentum,
                     nesterov=nesterov)
    np.testing.assert_array_equal(p, sk_p[0])
    np.testing.assert_array_equal(vel, sk.velocities[0])


@settings(max_examples=60, deadline=None)
@given(dtype=st.sampled_from(FLOAT_DTYPES), n=st.integers(0, 70),
       learning_rate=st.floats(1e-6, 1.0), beta_1=st.floats(0.0, 0.9999),
       beta_2=st.floats(0.0, 0.99999), epsilon=st.floats(1e-12, 1e-2),
       t=st.integers(1, 10**6), grad_scale=st.floats(1e-6, 1e6),
       seed=st.integers(0, 2**32 - 1))
def test_property_adam_bit_for_bit(dtype, n, learning_rate, beta_1, beta_2, epsilon, t,
                                   grad_scale, seed):
    # Arbitrary step number and state: scikit-learn's optimizer is set to
    # step t - 1 with the same moments, then both take step t.
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(n).astype(dtype)
    g = (grad_scale * rng.standard_normal(n)).astype(dtype)
    m0 = rng.standard_normal(n).astype(dtype)
    v0 = np.abs(rng.standard_normal(n)).astype(dtype)
    sk_p = [p.copy()]
    sk = AdamOptimizer(sk_p, learning_rate_init=learning_rate, beta_1=beta_1, beta_2=beta_2,
                       epsilon=epsilon)
    sk.t, sk.ms, sk.vs = t - 1, [m0.copy()], [v0.copy()]
    sk.update_params(sk_p, [g])
    m, v = m0.copy(), v0.copy()
    kernels.adam_step(p, g, m, v, t=t, learning_rate=learning_rate, beta_1=beta_1,
                      beta_2=beta_2, epsilon=epsilon)
    np.testing.assert_array_equal(p, sk_p[0])
    np.testing.assert_array_equal(m, sk.ms[0])
    np.testing.assert_array_equal(v, sk.vs[0])


# --- the optimizer as one object (fastmlp.optimizers) --------------------------

def _tiny_engine(dtype=np.float64):
    from conftest import plain_engine

    engine = plain_engine([3, 4, 2], [("relu", {})], "regression", ("identity", {}),
                       "squared_error", 1.0, 1e-4, 8, dtype)
    rng = np.random.default_rng(0)
    coefs = [rng.normal(size=(3, 4)).astype(dtype), rng.normal(size=(4, 2)).astype(dtype)]
    intercepts = [np.zeros(4, dtype), np.zeros(2, dtype)]
    X, Y = rng.normal(size=(8, 3)).astype(dtype), rng.normal(size=(8, 2)).astype(dtype)
    return engine, coefs, intercepts, X, Y


def test_engine_rejects_an_unknown_kind_instead_of_running_sgd():
    engine, coefs, intercepts, X, Y = _tiny_engine()
    opt = optimizers.SGD(engine.n_params)
    opt.kind = "sgdd"
    before = [c.copy() for c in coefs]
    with pytest.raises(ValueError, match="unknown optimizer kind 'sgdd'"):
        engine.epoch(coefs, intercepts, X, Y, None, None, 4, opt)
    for c, b in zip(coefs, before):
        np.testing.assert_array_equal(c, b)


@pytest.mark.parametrize("damage, match", [
    (lambda o: o.state.pop(), "keeps 2 state array"),
    (lambda o: o.state.__setitem__(1, o.state[1][:-1]), r"state\[1\] must be"),
    (lambda o: o.state.__setitem__(1, o.state[1].astype(np.float32)), r"state\[1\] must be"),
    (lambda o: o.state.__setitem__(1, o.state[0]), "must not overlap"),
    (lambda o: setattr(o, "t", -1), "t must be an integer >= 0"),
    (lambda o: setattr(o, "learning_rate", -1e-3), "learning_rate must be >= 0"),
    (lambda o: setattr(o, "arithmetic", "fast"), "arithmetic must be"),
])
def test_engine_validates_the_optimizer(damage, match):
    engine, coefs, intercepts, X, Y = _tiny_engine()
    opt = optimizers.Adam(engine.n_params)
    damage(opt)
    with pytest.raises(ValueError, match=match):
        engine.epoch(coefs, intercepts, X, Y, None, None, 4, opt)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_engine_advances_t_once_per_minibatch(dtype):
    engine, coefs, intercepts, X, Y = _tiny_engine(dtype)
    for opt in (optimizers.SGD(engine.n_params, dtype), optimizers.Adam(engine.n_params, dtype)):
        engine.epoch(coefs, intercepts, X, Y, None, None, 3, opt)  # 8 rows: 3 + 3 + 2
        assert opt.t == 3
        assert all(np.any(s != 0) for s in opt.state)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_object_step_is_the_public_step_bit_for_bit(rng, dtype):
    """One C body serves kernels.adam_step / sgd_step and the object step."""
    from fastmlp import _kernels

    param, grad = rng.standard_normal(50).astype(dtype), rng.standard_normal(50).astype(dtype)
    for opt in (optimizers.Adam(50, dtype, learning_rate_init=0.01),
                optimizers.SGD(50, dtype, learning_rate_init=0.1, momentum=0.5)):
        p1, p2 = param.copy(), param.copy()
        state = [s.copy() for s in opt.state]
        for t in range(1, 4):
            _kernels.optimizer_step(p1, grad, opt)
            if opt.kind == "adam":
                kernels.adam_step(p2, grad, *state, t=t, learning_rate=0.01)
            else:
                kernels.sgd_step(p2, grad, *state, learning_rate=0.1, momentum=0.5)
            assert opt.t == t
            np.testing.assert_array_equal(p1, p2)
            for a, b in zip(opt.state, state):
                np.testing.assert_array_equal(a, b)


def test_plain_arithmetic_stays_in_float32_and_close_to_sklearn(rng):
    """'plain' Adam on float32 differs from scikit-learn's double update only
    by float32 rounding (a few ulps of the update); on float64 it is equal."""
    from fastmlp import _kernels

    for dtype, exact in ((np.float32, False), (np.float64, True)):
        param = rng.standard_normal(4000).astype(dtype)
        grads = [rng.standard_normal(4000).astype(dtype) for _ in range(5)]
        sk, plain = optimizers.Adam(4000, dtype), optimizers.Adam(4000, dtype, arithmetic="plain")
        p_sk, p_plain = param.copy(), param.copy()
        for g in grads:
            _kernels.optimizer_step(p_sk, g, sk)
            _kernels.optimizer_step(p_plain, g, plain)
        if exact:
            np.testing.assert_array_equal(p_plain, p_sk)
        else:
            assert np.any(p_plain != p_sk)
            # Each step moves a value by about lr = 1e-3; the update's float32
            # rounding is ~1e-3 * 2^-23 relative, so the sum differs by ulps.
            np.testing.assert_allclose(p_plain, p_sk, rtol=0, atol=1e-6)


def test_optimizer_objects_pickle_and_keep_learning_rate(rng):
    import pickle

    opt = optimizers.SGD(10, np.float32, learning_rate_init=0.2, lr_schedule="adaptive")
    opt.state[0][:] = rng.standard_normal(10)
    assert not opt.trigger_stopping("stall.", False) and opt.learning_rate == pytest.approx(0.04)
    back = pickle.loads(pickle.dumps(opt))
    assert back.learning_rate == opt.learning_rate and back.lr_schedule == "adaptive"
    np.testing.assert_array_equal(back.state[0], opt.state[0])
    opt.lr_schedule = "invscaling"
    opt.iteration_ends(99)
    assert opt.learning_rate == pytest.approx(0.2 / 100 ** 0.5)


def test_estimator_optimizer_is_the_object_scikit_learn_reads():
    """scikit-learn's own MLP tests read est._optimizer.learning_rate (its name,
    kept); optimizer_ is the same object, public."""
    from sklearn.datasets import load_digits
    from fastmlp import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16
    est = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", learning_rate="adaptive",
                        max_iter=3, random_state=0, tol=1e9, n_iter_no_change=1)
    with pytest.warns(Warning):
        est.fit(X, y[:300])
    assert isinstance(est._optimizer, optimizers.SGD) and est.optimizer_ is est._optimizer
    assert est._optimizer.learning_rate < est.learning_rate_init  # 'adaptive' divided it
    assert est.optimizer_.t == est.n_iter_ * 2  # 300 rows, batches of 200


# --- the torch.optim rules: RMSprop, Adagrad, AdamW, NAdam ----------------------
#
# The C bodies and the NumPy twins do the same operations in the same order in
# the arrays' dtype, with the step's constants computed in double and rounded
# once: their results must be *equal*, float32 and float64, step after step.

def _run_rule(mod, rule, param, grads, states, hyper):
    mu_product = 1.0
    for t, g in enumerate(grads, start=1):
        if rule == "rmsprop":
            mod.rmsprop_step(param, g, *states, **hyper)
        elif rule == "adagrad":
            mod.adagrad_step(param, g, *states, **hyper)
        elif rule == "adamw":
            mod.adamw_step(param, g, *states, t=t, **hyper)
        else:
            mu_product = mod.nadam_step(param, g, *states, t=t, mu_product=mu_product, **hyper)
    return mu_product


RULES = {
    "rmsprop": (1, [dict(), dict(learning_rate=0.01, rho=0.9, epsilon=1e-6, weight_decay=0.1)]),
    "adagrad": (1, [dict(), dict(learning_rate=0.05, epsilon=1e-10, weight_decay=0.01)]),
    "adamw": (2, [dict(), dict(learning_rate=0.01, beta_1=0.5, beta_2=0.9, weight_decay=0.0)]),
    "nadam": (2, [dict(), dict(learning_rate=0.01, beta_1=0.8, momentum_decay=0.1,
                               weight_decay=0.05)]),
}


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("which", [0, 1])
def test_torch_rules_c_equals_numpy_twin(rng, dtype, rule, which):
    n_states, settings_ = RULES[rule]
    hyper = settings_[which]
    for shape in SHAPES:
        param = rng.standard_normal(shape).astype(dtype)
        grads = [rng.standard_normal(shape).astype(dtype) for _ in range(N_STEPS)]
        init = np.abs(rng.standard_normal(shape)).astype(dtype) if rule == "adagrad" else None
        results = []
        for mod in (kernels, reference):
            p = param.copy()
            states = [np.zeros(shape, dtype) if init is None else init.copy()
                      for _ in range(n_states)]
            mu = _run_rule(mod, rule, p, grads, states, hyper)
            results.append((p, states, mu))
        (pc, sc, muc), (pr, sr, mur) = results
        np.testing.assert_array_equal(pc, pr)
        for a, b in zip(sc, sr):
            np.testing.assert_array_equal(a, b)
        assert muc == mur


def _by_hand(rule, p, grads, lr, b1=0.9, b2=0.999, eps=1e-8, rho=0.99, psi=0.004, wd=0.0,
             s0=0.0):
    """The update formulas written out per scalar in Python floats (double)."""
    m = v = 0.0
    s = s0
    prod = 1.0
    for t, g in enumerate(grads, start=1):
        p = p * (1 - lr * wd)
        if rule == "rmsprop":
            s = rho * s + (1 - rho) * g * g
            p = p - lr * g / (math.sqrt(s) + eps)
            continue
        if rule == "adagrad":
            s = s + g * g
            p = p - lr * g / (math.sqrt(s) + eps)
            continue
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        if rule == "adamw":
            m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
            p = p - lr * m_hat / (math.sqrt(v_hat) + eps)
        else:
            mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
            mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
            prod *= mu
            d = math.sqrt(v / (1 - b2 ** t)) + eps
            p = p - lr * (1 - mu) / (1 - prod) * g / d - lr * mu_next / (1 - prod * mu_next) * m / d
    return p


@pytest.mark.parametrize("rule", list(RULES))
def test_torch_rules_float64_equal_the_formulas_by_hand(rule):
    """A fixed gradient sequence (signs, scales and a zero), in float64: the C
    step agrees with the textbook formulas (written in a different but
    algebraically equal order, so to 1e-12 relative, not bit for bit)."""
    grads = [np.array([0.5, -2.0, 1e-3, 0.0, 30.0]), np.array([0.25, 1.0, -1e-3, 0.0, -30.0]),
             np.array([-1.0, 0.5, 2e-3, 1.0, 10.0]), np.array([0.1, 0.1, 0.1, 0.1, 0.1])]
    p0 = np.array([1.0, -0.5, 0.0, 2.0, 0.3])
    wd = 0.01 if rule == "adamw" else 0.02
    hyper = dict(learning_rate=0.05, weight_decay=wd)
    n_states = RULES[rule][0]
    p = p0.copy()
    s0 = 0.1 if rule == "adagrad" else 0.0
    states = [np.full(5, s0) for _ in range(n_states)]
    _run_rule(kernels, rule, p, grads, states, hyper)
    want = [_by_hand(rule, p0[i], [g[i] for g in grads], 0.05, wd=wd, s0=s0) for i in range(5)]
    np.testing.assert_allclose(p, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("call, match", [
    (lambda m, p, g, s: m.rmsprop_step(p, g, s, rho=1.0), r"rho must be in \[0, 1\)"),
    (lambda m, p, g, s: m.rmsprop_step(p, g, s, learning_rate=-1),
     "learning_rate must be >= 0"),
    (lambda m, p, g, s: m.adagrad_step(p, g, s, epsilon=0.0), "epsilon must be > 0"),
    (lambda m, p, g, s: m.adagrad_step(p, g, s, weight_decay=-1), "weight_decay must be >= 0"),
    (lambda m, p, g, s: m.adamw_step(p, g, s, s.copy(), t=0), "t must be >= 1"),
    (lambda m, p, g, s: m.adamw_step(p, g, s, s.copy(), t=1, beta_2=1.0), "beta_2 must be in"),
    (lambda m, p, g, s: m.nadam_step(p, g, s, s.copy(), t=1, mu_product=1.0,
                                     momentum_decay=-1), "momentum_decay must be >= 0"),
    (lambda m, p, g, s: m.rmsprop_step(p, g, p), "must not overlap"),
    (lambda m, p, g, s: m.rmsprop_step(p, g, s[:-1]), "shape"),
])
def test_torch_rules_bad_input(mod, call, match):
    p, g, s = np.ones(4), np.ones(4), np.zeros(4)
    with pytest.raises(ValueError, match=match):
        call(mod, p, g, s)
    with pytest.raises(TypeError):
        mod.rmsprop_step(p, g, s, rho="0.9")


@pytest.mark.parametrize("solver", ["sgd", "adam", "rmsprop", "adagrad", "adamw", "nadam"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_engine_fused_step_equals_gradient_then_numpy_step(solver, dtype):
    """One minibatch of the whole set: the engine's fused step (+ alpha W,
    / sum(w), decoupled decay, the rule) equals loss_grad's finished
    gradient followed by the NumPy step on the flat parameters, bit for bit
    (the same operations in the same order and precision)."""
    from fastmlp import _mlp

    engine, coefs, intercepts, X, Y = _tiny_engine(dtype)
    flat = np.concatenate([a.ravel() for a in coefs + intercepts])
    _, grad = engine.loss_grad([c.copy() for c in coefs], [b.copy() for b in intercepts],
                               X, Y, None)
    est = _mlp.MLPRegressor(solver=solver, learning_rate_init=0.01, weight_decay=0.1)
    opt = _mlp._new_optimizer(est, engine.n_params, dtype)
    states = [s.copy() for s in opt.state]
    engine.epoch(coefs, intercepts, X, Y, None, None, 8, opt)
    got = np.concatenate([a.ravel() for a in coefs + intercepts])
    hyper = dict(learning_rate=0.01, weight_decay=0.1)
    if solver in ("sgd", "adam"):  # scikit-learn's rules after the decay, in the dtype
        flat = flat * (1 - 0.01 * 0.1)
        if solver == "sgd":
            reference.sgd_step(flat, grad, *states, learning_rate=0.01, momentum=0.9)
        elif dtype == np.float64:
            reference.adam_step(flat, grad, *states, t=1, learning_rate=0.01)
        else:
            # The estimator's float32 Adam is the plain rule (fastmlp.h): every
            # operation in float32, the step size computed in double and
            # rounded once (scikit-learn's form computes the update in double).
            m, v = states
            m[...] = 0.9 * m + (1 - 0.9) * grad
            v[...] = 0.999 * v + (1 - 0.999) * (grad * grad)
            neg_lr_t = np.float32(-(0.01 * math.sqrt(1 - 0.999) / (1 - 0.9)))
            flat += (neg_lr_t * m) / (np.sqrt(v) + 1e-8)
    else:
        _run_rule(reference, solver, flat, [grad], states, hyper)
    np.testing.assert_array_equal(got, flat)
    for a, b in zip(opt.state, states):
        np.testing.assert_array_equal(a, b)
    assert opt.t == 1


# --- subnormals: flushed by the plain rules, kept by scikit-learn's ----------
#
# A weight whose gradient stays zero (a dead ReLU unit) has its moments decay
# into the subnormal range, where every operation takes a microcode assist: the
# plain rules run with subnormals flushed to zero (csrc/internal.h), and the
# NumPy twins flush inputs and results of every operation the same way.

def _subnormal_problem(rng, dtype, n=64):
    tiny = np.finfo(dtype).tiny
    param = rng.standard_normal(n).astype(dtype)
    # Gradients and states mixing normal values, subnormals (both signs) and zeros.
    grad = rng.standard_normal(n).astype(dtype)
    grad[::4] = (tiny * rng.uniform(-0.9, 0.9, n // 4)).astype(dtype)
    grad[1::8] = 0.0
    state = np.abs(rng.standard_normal(n)).astype(dtype) * np.asarray(tiny * 30, dtype)
    state[::3] = np.asarray(tiny * 0.25, dtype)
    assert np.any((state != 0) & (np.abs(state) < tiny)) and np.any(np.abs(grad[::4]) < tiny)
    return param, grad, state


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("rule", list(RULES))
def test_plain_rules_flush_subnormals_as_their_twins(rng, dtype, rule):
    n_states, _ = RULES[rule]
    param, grad, state = _subnormal_problem(rng, dtype)
    tiny = np.finfo(dtype).tiny
    results = []
    for mod in (kernels, reference):
        p = param.copy()
        states = [state.copy() for _ in range(n_states)]
        # Two steps on tiny gradients: moments decay through the subnormal range.
        _run_rule(mod, rule, p, [grad, grad * np.asarray(1e-3, dtype)], states, {})
        results.append([p, *states])
    for c, r in zip(*results):
        np.testing.assert_array_equal(c, r)
        assert not np.any((c != 0) & (np.abs(c) < tiny)), "a subnormal survived the step"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_plain_adam_flushes_and_sklearn_adam_keeps_gradual_underflow(dtype):
    """Zero gradients after a normal one: the first moment decays by beta_1 per
    step. scikit-learn's form (NumPy's arithmetic) reaches subnormals and keeps
    them bit for bit; the plain form flushes them to zero."""
    from fastmlp import _kernels

    tiny = np.finfo(dtype).tiny
    start = np.full(8, tiny * 4, dtype)  # 0.9^k * 4 tiny: subnormal from k = 14
    for arithmetic in ("sklearn", "plain"):
        opt = optimizers.Adam(8, dtype, arithmetic=arithmetic)
        opt.ms[...] = start
        param = np.ones(8, dtype)
        for _ in range(20):
            _kernels.optimizer_step(param, np.zeros(8, dtype), opt)
        if arithmetic == "sklearn":
            sk = AdamOptimizer([np.ones(8, dtype)], learning_rate_init=0.001)
            sk.ms = [start.copy()]
            for _ in range(20):
                sk.update_params([np.ones(8, dtype)], [np.zeros(8, dtype)])
            np.testing.assert_array_equal(opt.ms, sk.ms[0])
            assert np.all((opt.ms > 0) & (opt.ms < tiny))
        else:
            np.testing.assert_array_equal(opt.ms, np.zeros(8, dtype))
