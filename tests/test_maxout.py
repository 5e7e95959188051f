"""Maxout units (activation="maxout", maxout_pieces): the kernels against
fastmlp.reference, the engine's forward and backward passes against a NumPy
network and against finite differences, the product's fused output stage
on every path, and the estimators.

Layout under test: a maxout layer of h units with k pieces has weights
(fan_in, h * k) and intercepts (h * k,); unit j's pieces are the columns
j*k .. j*k + k - 1, and of equal maxima the first piece wins (it alone gets
the gradient).

Tolerances.
- The max itself is exact: the kernels and the reference agree bit for bit
  on the same z, and so do the winner masks and routed gradients.
- Networks, C against the NumPy network: the same formulas, with the
  products summed in another order. A product of K <= 10 terms is off by
  up to ~K/2 ulps of the sum of |terms|; through 3 layers and the loss this
  stays below 1e-12 relative in float64 and 2e-5 in float32 (O(1) values),
  the bounds used. That holds only while both pick the same winners, so the
  test data keep every unit's best two pieces at least GAP apart
  (checked, not assumed): then rounding cannot change a winner.
- Finite differences (float64): central differences with h = 1e-6 have
  truncation ~h^2 |f'''| and rounding ~eps |f| / h, both ~1e-10 here;
  rtol 1e-5, atol 1e-7 as in tests/test_mlp.py. The maxout loss is
  piecewise smooth: a perturbation of h moves z by < 1e-5, well inside GAP,
  so no difference crosses a switch of winner.
"""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor, kernels, reference
from conftest import plain_engine, plain_predictor

from elementwise_helpers import FLOAT_DTYPES
from test_mlp import _splitmix64_uniforms, central_difference_check

GAP = 1e-3
NETWORK_RTOL = {np.float32: 2e-5, np.float64: 1e-12}



@pytest.fixture
def threads():
    """Set fastmlp's thread count for one test, then put back the default."""
    yield lambda n: fastmlp.set_config(n_threads=n)
    fastmlp.set_config(n_threads=0)


# --- kernels --------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("pieces", [1, 2, 3, 4, 5, 8])
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (4, 33), (2, 3, 17)])
def test_kernel_matches_reference_exactly(shape, pieces, dtype):
    """Forward, winner mask and routed gradient, every piece count (2, 3, 4
    have their own compiled loops), with ties and NaN in the data."""
    rng = np.random.default_rng(pieces)
    z = rng.integers(-3, 4, shape[:-1] + (shape[-1] * pieces,)).astype(dtype)  # many ties
    z.flat[::7] = rng.normal(size=z.flat[::7].shape)
    if z.size > 10:
        z.flat[5] = np.nan
    g = rng.normal(size=shape).astype(dtype)
    for module in (kernels, reference):
        assert module.activation(z, "maxout", pieces=pieces).shape == shape
    np.testing.assert_array_equal(kernels.activation(z, "maxout", pieces=pieces),
                                  reference.activation(z, "maxout", pieces=pieces))
    np.testing.assert_array_equal(kernels.activation_grad(z, "maxout", pieces=pieces),
                                  reference.activation_grad(z, "maxout", pieces=pieces))
    np.testing.assert_array_equal(kernels.activation_grad(z, "maxout", g, pieces=pieces),
                                  reference.activation_grad(z, "maxout", g, pieces=pieces))
    np.testing.assert_array_equal(kernels.activation(z, "maxout", pieces=pieces),
                                  z.reshape(shape + (pieces,)).max(axis=-1))


@pytest.mark.parametrize("module", [kernels, reference], ids=["C", "reference"])
def test_ties_go_to_the_first_piece_and_nan_propagates(module):
    z = np.array([[2.0, 2.0, 1.0, 3.0, 3.0, 3.0, -1.0, np.nan, 5.0, 0.0, -0.0, -1.0]])
    np.testing.assert_array_equal(module.activation(z, "maxout", pieces=3),
                                  [[2.0, 3.0, np.nan, 0.0]])
    np.testing.assert_array_equal(
        module.activation_grad(z, "maxout", pieces=3),
        [[1, 0, 0, 1, 0, 0, np.nan, np.nan, np.nan, 1, 0, 0]])
    np.testing.assert_array_equal(
        module.activation_grad(z, "maxout", np.array([[5.0, 6.0, 7.0, 8.0]]), pieces=3),
        [[5, 0, 0, 6, 0, 0, np.nan, np.nan, np.nan, 8, 0, 0]])
    # Default: 2 pieces.
    np.testing.assert_array_equal(module.activation(z[:, :4], "maxout"), [[2.0, 3.0]])


def test_kernel_layouts_and_out():
    """Strided z is read correctly; out may be given; grad may overwrite z."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 12))
    want = z.reshape(6, 4, 3).max(axis=-1)
    for view in (np.asfortranarray(z), np.zeros((12, 12))[::2]):
        view[...] = z
        np.testing.assert_array_equal(kernels.activation(view, "maxout", pieces=3), want)
    out = np.empty((6, 4))
    assert kernels.activation(z, "maxout", out=out, pieces=3) is out
    np.testing.assert_array_equal(out, want)
    g = rng.normal(size=(6, 4))
    expected = reference.activation_grad(z, "maxout", g, pieces=3)
    zc = z.copy()
    assert kernels.activation_grad(zc, "maxout", g, out=zc, pieces=3) is zc
    np.testing.assert_array_equal(zc, expected)


def test_kernel_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(5, 12))
    pieces = z.reshape(5, 4, 3)
    top2 = np.sort(pieces, axis=-1)[..., -2:]
    assert np.min(top2[..., 1] - top2[..., 0]) > GAP  # away from ties
    g = rng.normal(size=(5, 4))
    grad = kernels.activation_grad(z, "maxout", g, pieces=3)
    numeric = np.empty_like(z)
    h = 1e-6
    for i in np.ndindex(z.shape):
        up, down = z.copy(), z.copy()
        up[i] += h
        down[i] -= h
        numeric[i] = (np.sum(g * kernels.activation(up, "maxout", pieces=3))
                      - np.sum(g * kernels.activation(down, "maxout", pieces=3))) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("module", [kernels, reference], ids=["C", "reference"])
def test_kernel_bad_arguments(module):
    z = np.zeros((2, 6))
    with pytest.raises(ValueError, match="multiple of 4"):
        module.activation(z, "maxout", pieces=4)
    with pytest.raises(ValueError, match="pieces must be in"):
        module.activation(z, "maxout", pieces=0)
    for bad in (2.0, "2", True):
        with pytest.raises(TypeError, match="pieces must be an integer"):
            module.activation(z, "maxout", pieces=bad)
    with pytest.raises(ValueError, match="maxout's output shape"):
        module.activation_grad(z, "maxout", np.zeros((2, 6)), pieces=2)
    with pytest.raises(ValueError, match="no maxout output stage"):
        module.dense(z, np.zeros((6, 4)), None, "maxout")


# --- the engine -----------------------------------------------------------------

def _cols(units, pieces):
    return [u * k for u, k in zip(units[1:], pieces)]


def _draw(rng, units, pieces, dtype, scale=0.7):
    cols = _cols(units, pieces)
    coefs = [rng.normal(0, scale, (a, c)).astype(dtype) for a, c in zip(units[:-1], cols)]
    intercepts = [rng.normal(0, 0.3, c).astype(dtype) for c in cols]
    return coefs, intercepts


def _numpy_forward(X, coefs, intercepts, acts, pieces):
    """The network in NumPy: (inputs of each layer, z of each layer)."""
    a, inputs, zs = X, [], []
    for i, (w, b) in enumerate(zip(coefs, intercepts)):
        inputs.append(a)
        z = np.asarray(a @ w) + b
        zs.append(z)
        if i < len(acts):
            a = reference.activation(z, acts[i], **({"pieces": pieces[i]}
                                                    if acts[i] == "maxout" else {}))
    return inputs, zs


def _numpy_loss_grad(X, Y, sw, coefs, intercepts, acts, pieces, alpha):
    """Softmax log loss + L2 and its gradient, in scikit-learn's flat order."""
    inputs, zs = _numpy_forward(X, coefs, intercepts, acts, pieces)
    weight = np.sum(sw)
    loss, delta = reference.softmax_cross_entropy(zs[-1], Y, sample_weight=sw)
    loss += 0.5 * alpha * sum(np.sum(w.astype(np.float64) ** 2) for w in coefs) / weight
    gw, gb = [None] * len(coefs), [None] * len(coefs)
    for i in range(len(coefs) - 1, -1, -1):
        gw[i] = np.asarray(inputs[i].T @ delta) + alpha * coefs[i] / coefs[i].dtype.type(weight)
        gb[i] = delta.sum(axis=0)
        if i > 0:
            p = {"pieces": pieces[i - 1]} if acts[i - 1] == "maxout" else {}
            delta = reference.activation_grad(zs[i - 1], acts[i - 1], delta @ coefs[i].T, **p)
    return loss, np.concatenate([g.ravel() for g in gw + gb])


def _min_gap(X, coefs, intercepts, acts, pieces):
    """Smallest gap between a maxout unit's best two pieces (float64)."""
    c64 = [c.astype(np.float64) for c in coefs]
    b64 = [b.astype(np.float64) for b in intercepts]
    _, zs = _numpy_forward(X.astype(np.float64), c64, b64, acts, pieces)
    gaps = [np.inf]
    for z, act, k in zip(zs, acts, pieces):
        if act == "maxout":
            top2 = np.sort(z.reshape(len(z), -1, k), axis=-1)[..., -2:]
            gaps.append(np.min(top2[..., 1] - top2[..., 0]))
    return min(gaps)


def _separated_network(seed, units, acts, pieces, dtype, n=9, sparse=False):
    """Data and weights whose maxout units are all GAP clear of a tie
    (with `sparse`, data about 60% zeros)."""
    for attempt in range(200):
        rng = np.random.default_rng(seed * 1000 + attempt)
        X = rng.normal(size=(n, units[0])).astype(dtype)
        if sparse:
            X[np.abs(X) < 0.8] = 0
        coefs, intercepts = _draw(rng, units, pieces, dtype)
        if _min_gap(X, coefs, intercepts, acts, pieces) > GAP:
            Y = np.eye(units[-1], dtype=dtype)[rng.integers(0, units[-1], n)]
            sw = rng.uniform(0.5, 2.0, n).astype(dtype)
            return X, Y, sw, coefs, intercepts
    raise AssertionError("no draw kept the maxout units away from ties")


NETWORKS = [
    (["maxout"], [3]),
    (["maxout", "tanh"], [2, 1]),
    (["relu", "maxout"], [1, 4]),
    (["maxout", "maxout"], [3, 2]),
    (["gelu", "maxout"], [1, 5]),
]


def _engine(units, acts, pieces, alpha, rows, dtype, dropout=None):
    hidden = [(a, {"pieces": k} if a == "maxout" else {}) for a, k in zip(acts, pieces)]
    return plain_engine(units, hidden, "softmax", ("identity", {}), "squared_error", 0.0, alpha,
                     rows, dtype, dropout)


@pytest.mark.parametrize("acts,pieces", NETWORKS, ids=lambda v: "-".join(map(str, v)))
def test_engine_gradient_matches_finite_differences(acts, pieces):
    units = [4] + [5, 3][:len(acts)] + [3]
    pieces = pieces + [1]
    X, Y, sw, coefs, intercepts = _separated_network(0, units, acts, pieces, np.float64)
    engine = _engine(units, acts, pieces, 0.01, len(X), np.float64)
    assert [c.shape for c in coefs] == list(zip(units[:-1], _cols(units, pieces)))
    grad = central_difference_check(engine, coefs, intercepts, X, Y, sw)
    # The losing pieces' weights get no gradient from a row, so some of the
    # first layer's gradient columns may be 0, never all.
    assert np.count_nonzero(grad) > grad.size // 2


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("acts,pieces", NETWORKS, ids=lambda v: "-".join(map(str, v)))
def test_engine_matches_numpy_network(acts, pieces, dtype, sparse):
    """Loss and gradient (forward and backward passes), loss alone and
    predictions, dense and CSR input, against the NumPy network."""
    units = [6] + [7, 4][:len(acts)] + [3]
    pieces = pieces + [1]
    X, Y, sw, coefs, intercepts = _separated_network(1, units, acts, pieces, dtype, n=40,
                                                     sparse=sparse)
    Xin = sp.csr_matrix(X) if sparse else X
    engine = _engine(units, acts, pieces, 0.1, len(X), dtype)
    loss, grad = engine.loss_grad(coefs, intercepts, Xin, Y, sw)
    want_loss, want_grad = _numpy_loss_grad(X, Y, sw, coefs, intercepts, acts, pieces, 0.1)
    rtol = NETWORK_RTOL[dtype]
    assert grad.dtype == dtype
    np.testing.assert_allclose(loss, want_loss, rtol=rtol)
    np.testing.assert_allclose(grad, want_grad, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(engine.loss(coefs, intercepts, Xin, Y, sw), want_loss, rtol=rtol)
    hidden = [(a, {"pieces": k} if a == "maxout" else {}) for a, k in zip(acts, pieces)]
    predictor = plain_predictor(units, hidden, "softmax", ("identity", {}), "squared_error", 0.0,
                             coefs, intercepts)
    _, zs = _numpy_forward(X, coefs, intercepts, acts, pieces)
    np.testing.assert_allclose(predictor.predict(Xin), reference.activation(zs[-1], "softmax"),
                               rtol=rtol, atol=rtol)


def test_engine_ties_route_to_the_first_piece():
    """Two identical pieces per unit (same weights and intercepts, so the
    same z to the bit): the first piece gets the whole gradient, the second
    none, and the network equals the one-piece (identity) network."""
    rng = np.random.default_rng(3)
    units = [4, 5, 3]
    X = rng.normal(size=(8, 4))
    Y = np.eye(3)[rng.integers(0, 3, 8)]
    w0, b0 = rng.normal(size=(4, 5)), rng.normal(size=5)
    w1, b1 = rng.normal(size=(5, 3)), rng.normal(size=3)
    coefs = [np.repeat(w0, 2, axis=1), w1]  # columns 2j and 2j + 1 equal
    intercepts = [np.repeat(b0, 2), b1]
    _, grad = _engine(units, ["maxout"], [2, 1], 0.0, 8, np.float64).loss_grad(
        coefs, intercepts, X, Y, None)
    _, plain = _engine(units, ["identity"], [1, 1], 0.0, 8, np.float64).loss_grad(
        [w0, w1], [b0, b1], X, Y, None)
    gw0 = grad[:40].reshape(4, 10)
    np.testing.assert_array_equal(gw0[:, 1::2], 0)
    np.testing.assert_allclose(gw0[:, 0::2], plain[:20].reshape(4, 5), rtol=1e-13)
    gb0 = grad[55:65]
    np.testing.assert_array_equal(gb0[1::2], 0)
    np.testing.assert_allclose(gb0[0::2], plain[35:40], rtol=1e-13)


# The product's output stage on each of its paths: one row (the GEMV), row
# blocks, more columns than one column block (NC = 4096: the stage runs
# after the whole product), prediction chunks of 4096 rows, and threads
# splitting rows or columns (columns in whole units).
PREDICT_CASES = [
    (1, 16, 40, 3),
    (300, 16, 40, 2),
    (50, 8, 1400, 3),
    (5000, 8, 30, 5),
    (200, 64, 500, 3),
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("rows,fan_in,units,pieces", PREDICT_CASES)
def test_prediction_paths_and_threads(rows, fan_in, units, pieces, dtype, threads):
    rng = np.random.default_rng(rows)
    net = [fan_in, units, 3]
    X = rng.normal(size=(rows, fan_in)).astype(dtype)
    coefs, intercepts = _draw(rng, net, [pieces, 1], dtype, scale=0.3)
    hidden = [("maxout", {"pieces": pieces})]
    predictor = plain_predictor(net, hidden, "softmax", ("identity", {}), "squared_error", 0.0,
                             coefs, intercepts)
    z0 = X.astype(np.float64) @ coefs[0] + intercepts[0]
    a1 = z0.reshape(rows, units, pieces).max(axis=-1)
    want = reference.activation(a1 @ coefs[1] + intercepts[1], "softmax")
    threads(1)
    one = predictor.predict(X)
    threads(2)
    two = predictor.predict(X)
    np.testing.assert_array_equal(one, two)
    # Near-ties may pick the other piece in float32, but then both pieces
    # are within rounding of each other, so the unit's value hardly moves.
    rtol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(one, want, rtol=rtol, atol=rtol)


def test_training_on_one_and_two_threads_gives_identical_bits(threads):
    rng = np.random.default_rng(0)
    X = rng.random((400, 64))
    y = (X[:, :3].sum(axis=1) * 2).astype(int)
    fits = []
    for n in (1, 2):
        threads(n)
        fits.append(MLPClassifier((512, 256), activation="maxout", maxout_pieces=3,
                                  dropout=0.1, batch_size=200, max_iter=2,
                                  random_state=0).fit(X, y))
    for a, b in zip(fits[0].coefs_ + fits[0].intercepts_, fits[1].coefs_ + fits[1].intercepts_):
        np.testing.assert_array_equal(a, b)
    assert fits[0].loss_curve_ == fits[1].loss_curve_


def test_dropout_step_matches_numpy():
    """One full-batch SGD step with dropout on a maxout layer equals the same
    step in NumPy with the same masks: the mask acts on the units (after the
    max), forward and backward. Through the estimator: its initial weights
    are the Glorot draws from random_state, then the epoch's dropout seed."""
    rng = np.random.default_rng(0)
    n, rate, lr, k = 6, 0.4, 0.1, 3
    X, y = rng.normal(size=(n, 3)), rng.normal(size=n)
    est = MLPRegressor(hidden_layer_sizes=(5,), activation="maxout", maxout_pieces=k,
                       solver="sgd", momentum=0.0, learning_rate_init=lr, alpha=0.0,
                       batch_size=n, shuffle=False, max_iter=1, dropout=rate,
                       random_state=0).fit(X, y)
    rs = np.random.RandomState(0)
    bound0, bound1 = np.sqrt(6 / (3 + 5)), np.sqrt(6 / (5 + 1))
    W0, b0 = rs.uniform(-bound0, bound0, (3, 5 * k)), rs.uniform(-bound0, bound0, 5 * k)
    W1, b1 = rs.uniform(-bound1, bound1, (5, 1)), rs.uniform(-bound1, bound1, 1)
    seed = int(rs.randint(np.iinfo(np.int64).max, dtype=np.int64))

    Y = y[:, None]
    z1 = X @ W0 + b0
    a1 = reference.activation(z1, "maxout", pieces=k)
    keep = _splitmix64_uniforms(seed, n * 5).reshape(n, 5) >= rate
    mask = keep / (1 - rate)
    d1 = a1 * mask
    delta2 = d1 @ W1 + b1 - Y
    delta1 = reference.activation_grad(z1, "maxout", (delta2 @ W1.T) * mask, pieces=k)
    expected = [W0 - lr * X.T @ delta1 / n, W1 - lr * d1.T @ delta2 / n]
    expected_b = [b0 - lr * delta1.sum(0) / n, b1 - lr * delta2.sum(0) / n]
    for got, want in zip(est.coefs_ + est.intercepts_, expected + expected_b):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert 0 < keep.mean() < 1


# --- the estimators -------------------------------------------------------------

def _digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, random_state=0, stratify=y)


def test_learns_digits_as_well_as_relu():
    X_tr, X_te, y_tr, y_te = _digits()
    scores = {}
    for act in ("relu", "maxout"):
        est = MLPClassifier((64,), activation=act, max_iter=60, random_state=0).fit(X_tr, y_tr)
        scores[act] = est.score(X_te, y_te)
    assert scores["maxout"] >= scores["relu"] - 0.02
    assert scores["maxout"] > 0.95
    lists = MLPClassifier((40, 30), activation=["maxout", "relu"], maxout_pieces=3,
                          max_iter=60, random_state=0).fit(X_tr, y_tr)
    assert [c.shape for c in lists.coefs_] == [(64, 120), (40, 30), (30, 10)]
    assert lists.score(X_te, y_te) > 0.93


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_lbfgs_is_deterministic_and_learns(dtype):
    X_tr, X_te, y_tr, y_te = _digits()
    X_tr, X_te = X_tr.astype(dtype), X_te.astype(dtype)
    make = lambda: MLPClassifier((32,), activation="maxout", solver="lbfgs",  # noqa: E731
                                 max_iter=80, random_state=0)
    a, b = make().fit(X_tr, y_tr), make().fit(X_tr, y_tr)
    assert a.coefs_[0].dtype == dtype and a.coefs_[0].shape == (64, 64)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(p, q)
    assert a.score(X_te, y_te) > 0.93
    reg = MLPRegressor(hidden_layer_sizes=(16,), activation="maxout", solver="lbfgs",
                       max_iter=200, random_state=0).fit(X_tr, y_tr.astype(dtype))
    assert reg.score(X_te, y_te) > 0.5


def test_sparse_input_gives_the_dense_model():
    X_tr, _, y_tr, _ = _digits()
    params = dict(hidden_layer_sizes=(20,), activation="maxout", maxout_pieces=3, max_iter=3,
                  random_state=0)
    dense = MLPClassifier(**params).fit(X_tr, y_tr)
    sparse = MLPClassifier(**params).fit(sp.csr_matrix(X_tr), y_tr)
    for p, q in zip(dense.coefs_, sparse.coefs_):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(X_tr)),
                               sparse.predict_proba(X_tr), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("init", ["glorot_uniform", "he_uniform", "he_normal"])
def test_initialisation_draws_and_bounds(init):
    """A maxout layer of h units draws (fan_in, h * k) weights, then h * k
    intercepts, from the same stream as any layer, with the bound of h
    units (Glorot) or of its fan-in (He). The step is too small to change a
    weight (only to move a zero intercept to ~1e-302), so the fitted weights
    are the initial ones."""
    X = np.random.default_rng(0).normal(size=(30, 6))
    y = np.arange(30) % 3
    est = MLPClassifier((5,), activation="maxout", maxout_pieces=4, init=init, solver="sgd",
                        momentum=0.0, learning_rate_init=1e-300, max_iter=1,
                        random_state=7).fit(X, y)
    rs = np.random.RandomState(7)
    if init == "glorot_uniform":
        b0, b1 = np.sqrt(6 / (6 + 5)), np.sqrt(6 / (5 + 3))
        want = [rs.uniform(-b0, b0, (6, 20)), rs.uniform(-b0, b0, 20),
                rs.uniform(-b1, b1, (5, 3)), rs.uniform(-b1, b1, 3)]
    elif init == "he_uniform":
        b0, b1 = np.sqrt(6 / 6), np.sqrt(6 / 5)
        want = [rs.uniform(-b0, b0, (6, 20)), np.zeros(20), rs.uniform(-b1, b1, (5, 3)),
                np.zeros(3)]
    else:
        want = [rs.normal(0, np.sqrt(2 / 6), (6, 20)), np.zeros(20),
                rs.normal(0, np.sqrt(2 / 5), (5, 3)), np.zeros(3)]
    got = [est.coefs_[0], est.intercepts_[0], est.coefs_[1], est.intercepts_[1]]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-290)


def test_partial_fit_and_warm_start_continue_exactly():
    """With plain SGD and no shuffling, 4 epochs = 2 + 2 (warm_start) = 4
    partial_fit calls, bit for bit."""
    X_tr, _, y_tr, _ = _digits()
    params = dict(hidden_layer_sizes=(16,), activation="maxout", maxout_pieces=3,
                  solver="sgd", momentum=0.0, shuffle=False, random_state=0)
    full = MLPClassifier(max_iter=4, **params).fit(X_tr, y_tr)
    warm = MLPClassifier(max_iter=2, warm_start=True, **params).fit(X_tr, y_tr).fit(X_tr, y_tr)
    part = MLPClassifier(**params)
    for _ in range(4):
        part.partial_fit(X_tr, y_tr, classes=np.arange(10))
    for other in (warm, part):
        for p, q in zip(full.coefs_ + full.intercepts_, other.coefs_ + other.intercepts_):
            np.testing.assert_array_equal(p, q)
    warm.set_params(maxout_pieces=2)
    with pytest.raises(ValueError, match="shape changed"):
        warm.fit(X_tr, y_tr)


def test_pickle_round_trip_and_continued_training():
    X_tr, X_te, y_tr, _ = _digits()
    est = MLPClassifier((16, 8), activation=["maxout", "maxout"], maxout_pieces=3, max_iter=3,
                        random_state=0).fit(X_tr, y_tr)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict_proba(X_te), est.predict_proba(X_te))
    assert [c.shape for c in loaded.coefs_] == [(64, 48), (16, 24), (8, 10)]
    est.partial_fit(X_tr, y_tr)
    loaded.partial_fit(X_tr, y_tr)
    np.testing.assert_array_equal(loaded.predict_proba(X_te), est.predict_proba(X_te))


def test_prediction_follows_the_fitted_weights_not_the_parameter():
    """Changing maxout_pieces after fitting does not change predictions
    (the pieces come from the weights' shapes, as the widths do)."""
    X_tr, X_te, y_tr, _ = _digits()
    est = MLPClassifier((16,), activation="maxout", max_iter=3, random_state=0).fit(X_tr, y_tr)
    before = est.predict_proba(X_te)
    est.set_params(maxout_pieces=5)
    est.__dict__.pop("_cached_predictor")
    np.testing.assert_array_equal(est.predict_proba(X_te), before)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_parameter_validation(cls):
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    for bad in (1, 0, 2.5, "2", None):
        with pytest.raises(ValueError, match="maxout_pieces"):
            cls(activation="maxout", maxout_pieces=bad, max_iter=1).fit(X, y)
    for activation in ("maxout", ["relu", "maxout"]):
        with pytest.raises(ValueError, match="batch_norm is not supported with maxout"):
            cls(hidden_layer_sizes=(4, 4), activation=activation, batch_norm=True,
                max_iter=1).fit(X, y)
    # maxout_pieces is ignored without maxout layers (the shapes say so).
    est = cls(hidden_layer_sizes=(4,), activation="relu", maxout_pieces=7, max_iter=1).fit(X, y)
    assert est.coefs_[0].shape == (3, 4)


def test_binding_refuses_what_the_engine_cannot_do():
    with pytest.raises(ValueError, match="batch_norm is not supported with maxout"):
        plain_engine([3, 4, 2], [("maxout", {"pieces": 2})], "softmax", ("identity", {}),
                  "squared_error", 0.0, 0.0, 5, np.float64, None, False, True)
    with pytest.raises(ValueError, match="hidden activation only"):
        plain_engine([3, 4, 2], [("relu", {})], "regression", ("maxout", {}), "squared_error",
                  0.0, 0.0, 5, np.float64)
    engine = _engine([3, 4, 2], ["maxout"], [3, 1], 0.0, 5, np.float64)
    with pytest.raises(ValueError, match=r"coefs\[0\] must be .* of shape \(3, 12\)"):
        engine.loss_grad([np.zeros((3, 4)), np.zeros((4, 2))], [np.zeros(12), np.zeros(2)],
                         np.zeros((5, 3)), np.zeros((5, 2)), None)


def test_to_sklearn_refuses_maxout():
    X_tr, _, y_tr, _ = _digits()
    for activation in ("maxout", ["maxout"]):
        est = MLPClassifier((8,), activation=activation, max_iter=1).fit(X_tr, y_tr)
        with pytest.raises(ValueError, match="scikit-learn's MLP has no maxout units"):
            est.to_sklearn()
