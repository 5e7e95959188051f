"""The fused weight-gradient step (issue 22) against the unfused one, bit for bit.

In training epochs a layer whose coefficient matrix exceeds 262144 values
gets its weight gradient inside the optimizer step, chunk by chunk of rows,
each chunk stepped while in cache (csrc/engine/train.c, FM_FUSE_CHUNK),
instead of written whole by the backward pass and read back by the step.
Every value goes through the same operations either way (the products of
whole register tiles of rows, the element-wise step, the block sums of
squares over whole blocks), so the two paths must give the same bits: the
weights, the optimizer state and the loss, for every optimizer, arithmetic
and dtype, with penalties, clipping by value, max-norm, weight decay,
dropout and batch norm, on 1 and 2 threads. ``_kernels._fused_step(False)``
makes engines that take the unfused path; the engine's chunk count shows
that the fused one ran. .ci/run runs this file under every narrower
FASTMLP_ISA and under FASTMLP_BF16=emulated.
"""
import warnings

import numpy as np
import pytest
from conftest import engine_setting
from threadpoolctl import threadpool_limits

from fastmlp import MLPClassifier, _kernels, optimizers

# 200 -> 1400 -> 200 -> 6 classes: W[0] and W[1] (280000 values each) are
# fused, in chunks of 46 and 327 rows (5 each, the last ones shorter), whose
# ends cut through float32's and float64's step blocks of 8192 values; with
# bfloat16 products chunks of 32 and 320 rows (whole step blocks); W[2] is
# not fused.
HIDDEN = (1400, 200)
N, D, BATCH = 230, 200, 32


def _data(dtype):
    rng = np.random.default_rng(0)
    X = rng.random((N, D)).astype(dtype)
    y = (X[:, :3].sum(axis=1) * 2).astype(int)
    return X, y


def _fitted(dtype, **params):
    """An estimator after one epoch (its network and weights)."""
    X, y = _data(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MLPClassifier(HIDDEN, batch_size=BATCH, max_iter=1, random_state=0,
                             **params).fit(X, y)


@pytest.fixture
def fused_off():
    """fused_off(enable): engines made inside the `with` take the fused
    path or not."""
    return lambda enable: engine_setting(_kernels._fused_step, enable)


OPTIMIZERS = [
    ("sgd", "sklearn", dict(momentum=0.9, nesterov=True)),
    ("sgd", "plain", dict(momentum=0.0, nesterov=False)),
    ("sgd", "keras", dict(momentum=0.9, nesterov=False)),
    ("sgd", "keras", dict(momentum=0.0)),
    ("adam", "sklearn", {}),
    ("adam", "plain", {}),
    ("adam", "keras", {}),
    ("rmsprop", "plain", {}),
    ("rmsprop", "keras", {}),
    ("adagrad", "plain", {}),
    ("adamw", "plain", {}),
    ("nadam", "plain", {}),
    ("nadam", "keras", {}),
]
CLASSES = {"sgd": optimizers.SGD, "adam": optimizers.Adam, "rmsprop": optimizers.RMSprop,
           "adagrad": optimizers.Adagrad, "adamw": optimizers.AdamW, "nadam": optimizers.NAdam}
NETWORKS = {
    "plain": {},
    # Keras's convention without penalties
    "keras-convention": dict(alpha=0.0),
    "elasticnet-clipvalue-maxnorm": dict(penalty="elasticnet", alpha=1e-3, clip_grad_value=0.01,
                                         max_norm=0.5),
    "dropout-l1": dict(dropout=0.2, input_dropout=0.1, penalty="l1", alpha=1e-3),
}


def _epochs(est, dtype, kind, arithmetic, opt_params, threads, fuse, fused_off, epochs=2,
            convention="sklearn"):
    """`epochs` engine epochs from the estimator's weights on copies; the
    weights, the optimizer state, the losses, the fused chunk count and the
    count of weight matrices stepped in their products."""
    X, y = _data(dtype)
    Y = np.eye(len(est.classes_), dtype=dtype)[np.searchsorted(est.classes_, y)]
    coefs = [c.astype(dtype, copy=True) for c in est.coefs_]
    intercepts = [b.astype(dtype, copy=True) for b in est.intercepts_]
    with fused_off(fuse):
        engine = est.network_.replace(convention=convention).engine(BATCH, dtype,
                                                                    gather_rows=True)
    opt = CLASSES[kind](engine.n_params, dtype, arithmetic=arithmetic, **opt_params)
    rng = np.random.default_rng(1)
    losses = []
    with threadpool_limits(limits=threads, user_api="openmp"):
        for e in range(epochs):
            order = rng.permutation(N)
            losses.append(engine.epoch(coefs, intercepts, X, Y, None, order, BATCH, opt,
                                       seed=e))
    return coefs + intercepts, [np.array(s, copy=True) for s in opt.state], losses, \
        engine._fused_chunks(), engine._product_steps()


def _assert_same(a, b):
    for x, y in zip(a[0] + a[1], b[0] + b[1]):
        np.testing.assert_array_equal(x, y)
    assert a[2] == b[2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind, arithmetic, opt_params", OPTIMIZERS,
                         ids=[f"{k}-{a}" for k, a, _ in OPTIMIZERS])
@pytest.mark.parametrize("network", list(NETWORKS))
def test_fused_step_gives_the_unfused_bits(dtype, kind, arithmetic, opt_params, network,
                                           fused_off):
    est = _fitted(dtype, **NETWORKS[network])
    convention = "keras" if network == "keras-convention" else "sklearn"
    fused = _epochs(est, dtype, kind, arithmetic, opt_params, 1, True, fused_off,
                    convention=convention)
    unfused = _epochs(est, dtype, kind, arithmetic, opt_params, 1, False, fused_off,
                      convention=convention)
    if kind == "sgd":
        # SGD (any penalty, clipping by value): each minibatch (8 per epoch;
        # the last of 6 rows divides by 6, the others multiply by 1 / 32)
        # steps all three weight matrices inside their products.
        assert fused[4] == 3 * -(-N // BATCH) * 2
        assert fused[3] == 0
    else:
        # Two fused layers of 5 chunks each, per minibatch (8 per epoch), 2 epochs.
        assert fused[3] == 2 * 5 * -(-N // BATCH) * 2
        assert fused[4] == 0
    assert unfused[3] == 0 and unfused[4] == 0
    _assert_same(fused, unfused)
    # The step moved the weights (a fused step that did nothing would fail).
    assert not np.array_equal(fused[0][0], est.coefs_[0].astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_step_on_two_threads_gives_the_unfused_bits(dtype, fused_off):
    est = _fitted(dtype, alpha=1e-3)
    one = _epochs(est, dtype, "adam", "plain", {}, 1, False, fused_off)
    two = _epochs(est, dtype, "adam", "plain", {}, 2, True, fused_off)
    _assert_same(one, two)


STEP_RULES = [("keras", dict(momentum=0.0), "keras", dict(alpha=0.0)),
              ("sklearn", dict(momentum=0.9, nesterov=True), "sklearn",
               dict(alpha=1e-3, dropout=0.2)),
              ("plain", dict(momentum=0.5, nesterov=False), "sklearn", dict(alpha=1e-3)),
              ("keras", dict(momentum=0.9, clipvalue=0.01, weight_decay=0.01), "keras",
               dict(alpha=1e-3, penalty="elasticnet"))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("arithmetic, opt_params, convention, network", STEP_RULES,
                         ids=["keras", "sklearn-nesterov-l2-dropout", "plain-momentum",
                              "keras-momentum-clipvalue-decay-elasticnet"])
def test_step_in_product_on_two_threads_gives_the_unfused_bits(dtype, arithmetic, opt_params,
                                                               convention, network, fused_off):
    """SGD stepped inside the weight-gradient products (Keras's rule without
    momentum; scikit-learn's Nesterov momentum with L2 and dropout; plain
    momentum, flushed; Keras's momentum with clipvalue, weight decay and an
    elastic-net penalty), each thread stepping its part of W and of the
    velocity: the bits of one thread's gradient followed by the step."""
    est = _fitted(dtype, **network)
    one = _epochs(est, dtype, "sgd", arithmetic, opt_params, 1, False, fused_off,
                  convention=convention)
    two = _epochs(est, dtype, "sgd", arithmetic, opt_params, 2, True, fused_off,
                  convention=convention)
    assert two[4] == 3 * -(-N // BATCH) * 2 and one[4] == 0
    _assert_same(one, two)
    assert not np.array_equal(two[0][0], est.coefs_[0].astype(dtype))


def test_step_in_product_at_learning_rate_zero(fused_off):
    """A rate that is 0 in float32 (1e-60; a schedule's decayed to nothing)
    is still a step in the product, param - g * 0: the weights keep their
    bits, as unfused."""
    est = _fitted(np.float32, alpha=0.0)
    params = dict(momentum=0.0, learning_rate_init=1e-60)
    fused = _epochs(est, np.float32, "sgd", "keras", params, 1, True, fused_off,
                    convention="keras")
    unfused = _epochs(est, np.float32, "sgd", "keras", params, 1, False, fused_off,
                      convention="keras")
    assert fused[4] > 0
    _assert_same(fused, unfused)
    for w, w0 in zip(fused[0], est.coefs_):
        np.testing.assert_array_equal(w, w0)


def test_fused_step_with_bfloat16_products_gives_the_unfused_bits(fused_off):
    """bfloat16 products: chunks of whole step blocks (32-row multiples),
    each packing its rows into both bfloat16 layouts after its step."""
    est = _fitted(np.float32, compute_dtype="bfloat16")
    for threads in (1, 2):
        fused = _epochs(est, np.float32, "adam", "plain", {}, threads, True, fused_off)
        unfused = _epochs(est, np.float32, "adam", "plain", {}, threads, False, fused_off)
        assert fused[3] > 0 and unfused[3] == 0
        _assert_same(fused, unfused)


FITS = [
    (dict(solver="adam"), "adam"),
    (dict(solver="sgd", momentum=0.9, nesterovs_momentum=True, alpha=1e-3), "sgd-nesterov-l2"),
    (dict(solver="adam", batch_norm=True, dropout=0.2), "adam-bn-dropout"),
    (dict(solver="nadam", weight_decay=0.01, max_norm=0.5), "nadam-decay-maxnorm"),
    (dict(solver="rmsprop", frozen_layers=(1,), penalty="l1", alpha=1e-3), "rmsprop-frozen-l1"),
    (dict(solver="adam", clip_grad_norm=0.05), "adam-clipnorm-unfused"),
]
# bfloat16 products train in float32 only.
FIT_CASES = [(p, d) for p, _ in FITS for d in (np.float32, np.float64)] + [
    (dict(solver="adam", compute_dtype="bfloat16"), np.float32)]
FIT_IDS = [f"{i}-{d.__name__}" for _, i in FITS for d in (np.float32, np.float64)] + [
    "adam-bf16-float32"]


@pytest.mark.parametrize("params, dtype", FIT_CASES, ids=FIT_IDS)
def test_estimator_fits_fused_and_unfused_give_the_same_bits(params, dtype, fused_off):
    """Whole fits (the estimator's own engine and optimizer), batch norm
    and frozen layers included; clip_grad_norm always takes the unfused
    path (the norm needs the whole gradient before the step)."""
    X, y = _data(dtype)
    fits = []
    for fuse in (True, False):
        with fused_off(fuse), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.append(MLPClassifier(HIDDEN, batch_size=BATCH, max_iter=3, random_state=0,
                                      **params).fit(X, y))
    a, b = fits
    for x, z in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(x, z)
    assert a.loss_curve_ == b.loss_curve_
