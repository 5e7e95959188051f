"""Maxout units with the other branches' features: bfloat16 products
(compute_dtype='bfloat16'), the optimizer objects' step blocks, transform,
summary() and skl2onnx.

What is held, and why these tolerances:

- bfloat16 products: a maxout layer's product goes through the bfloat16
  driver, whose row-complete output stage is the float drivers' own
  (fm_gemm_rows_stage_f32). A fitted model's forward pass equals a NumPy
  network that rounds both operands of every product to bfloat16 and
  multiplies in float64, to float32 accumulation rounding (rtol 2e-5, as
  tests/test_bf16_training.py; max is exact, so maxout adds no error), and
  is farther than that from the float32 network. transform stops that pass
  at a maxout layer: its units, not its pieces.
- Accuracy: bfloat16 training of a maxout network on digits is within 0.5
  points of float32 maxout's mean test accuracy over 3 seeds, each seed
  within 2 (the float32 target of tests/test_bf16_training.py).
- Determinism: the bits depend on the seed only: not on the thread count
  (column slices hold whole 32-column blocks and whole units), nor on the
  tier (FASTMLP_BF16=emulated in a subprocess gives AMX's bits; the
  avx512_bf16 tier has its own summation order, so there the two agree to
  the bfloat16 error only).
- Step blocks: one full-batch RMSprop step of a maxout network (every
  piece's weight its own state) equals fastmlp.reference.rmsprop_step on
  the NumPy gradient, to 1e-12 (float64).
- transform and skl2onnx: a maxout layer's activations against NumPy (rtol
  1e-12 / 1e-5 as tests/test_inspect.py), skl2onnx's graph against predict
  within tests/test_skl2onnx.py's ulps per layer.
"""
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from fastmlp.network import fitted_network
from fastmlp import MLPClassifier, MLPRegressor, reference
from test_bf16_training import _fit_in_subprocess

SEEDS = (0, 1, 2)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message=".*bfloat16.*emulation.*")
        yield


def _act(z, name, pieces):
    return reference.activation(z, name, **({"pieces": pieces} if name == "maxout" else {}))


def _numpy_forward(model, X, n_layers=None, bf16=False):
    """The first n_layers layers (all by default) of a fitted model in
    float64, product operands rounded to bfloat16 when `bf16`."""
    network, coefs, intercepts = fitted_network(model)
    acts = [layer.activation for layer in network.layers[:-1]]
    n_layers = len(coefs) if n_layers is None else n_layers
    a = np.asarray(X, dtype=coefs[0].dtype)
    for i in range(n_layers):
        w = coefs[i]
        lhs, rhs = ((reference._round_bfloat16(a), reference._round_bfloat16(w)) if bf16
                    else (a, w))
        z = lhs.astype(np.float64) @ rhs.astype(np.float64) + intercepts[i]
        if i < len(coefs) - 1:
            units = coefs[i + 1].shape[0]
            a = _act(z, acts[i], w.shape[1] // units).astype(coefs[0].dtype)
        else:
            a = z
    return a


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _problem(n=300, d=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (X[:, :3].sum(axis=1) > 0).astype(int) + (X[:, 3] > 1)
    return X, y


def _digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


# -- bfloat16 products ----------------------------------------------------------------

@pytest.mark.parametrize("acts, pieces", [("maxout", 3), (["maxout", "relu"], 2),
                                          (["tanh", "maxout"], 4)])
def test_bf16_forward_pass_rounds_the_maxout_products(acts, pieces):
    X, y = _problem()
    model = MLPClassifier((40, 24) if isinstance(acts, list) else (40,), activation=acts,
                          maxout_pieces=pieces, max_iter=5, random_state=0,
                          compute_dtype="bfloat16").fit(X, y)
    got = model.predict_proba(X)
    want = _softmax(_numpy_forward(model, X, bf16=True))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    plain = _softmax(_numpy_forward(model, X))
    assert np.max(np.abs(got - plain)) > 20 * np.max(np.abs(got - want))
    # transform stops the bfloat16 pass at each hidden layer: units, not pieces.
    for layer in range(len(model.coefs_) - 1):
        h = model.transform(X, layer=layer)
        assert h.shape == (len(X), model.coefs_[layer + 1].shape[0]) and h.dtype == np.float32
        np.testing.assert_allclose(h, _numpy_forward(model, X, layer + 1, bf16=True),
                                   rtol=2e-5, atol=2e-6)


def test_bf16_sparse_first_maxout_layer_stays_float32():
    X, y = _problem()
    X[np.abs(X) < 0.7] = 0
    model = MLPClassifier((32,), activation="maxout", maxout_pieces=3, max_iter=3,
                          random_state=0, compute_dtype="bfloat16").fit(sp.csr_matrix(X), y)
    coefs, intercepts = model.coefs_, model.intercepts_
    h = _act(X.astype(np.float64) @ coefs[0] + intercepts[0], "maxout", 3).astype(np.float32)
    np.testing.assert_allclose(model.transform(sp.csr_matrix(X)), h, rtol=1e-5, atol=1e-6)
    z = (reference._round_bfloat16(h).astype(np.float64)
         @ reference._round_bfloat16(coefs[1]).astype(np.float64) + intercepts[1])
    np.testing.assert_allclose(model.predict_proba(sp.csr_matrix(X)), _softmax(z), rtol=2e-5,
                               atol=2e-6)


def test_bf16_maxout_accuracy_matches_float32_maxout():
    X_train, X_test, y_train, y_test = _digits()
    gaps = []
    for seed in SEEDS:
        scores = {}
        for compute in (None, "bfloat16"):
            model = MLPClassifier((64,), activation="maxout", maxout_pieces=3, max_iter=40,
                                  random_state=seed, compute_dtype=compute).fit(X_train, y_train)
            curve = np.array(model.loss_curve_)
            assert np.isfinite(curve).all() and curve[-1] < 0.2 * curve[0]
            scores[compute] = model.score(X_test, y_test)
        assert scores[None] > 0.93
        gaps.append(100 * (scores["bfloat16"] - scores[None]))
    assert max(abs(g) for g in gaps) < 2.0, gaps
    assert abs(np.mean(gaps)) < 0.5, gaps


@pytest.mark.parametrize("solver", ["adam", "adamw", "sgd"])
def test_bf16_maxout_one_and_two_threads_give_identical_bits(solver):
    """Big enough (>= 2^20 multiply-adds per thread) that the products, the
    step and the packing use 2 threads; 3 pieces make a column slice a
    multiple of 96 (whole 32-column blocks holding whole units)."""
    rng = np.random.default_rng(0)
    X = rng.random((400, 64)).astype(np.float32)
    y = (X[:, :3].sum(axis=1) * 2).astype(int)
    fits = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="openmp"):
            fits.append(MLPClassifier((300, 128), activation=["maxout", "relu"],
                                      maxout_pieces=3, batch_size=200, max_iter=3,
                                      solver=solver, dropout=0.1, random_state=0,
                                      compute_dtype="bfloat16").fit(X, y))
    one, two = fits
    assert one.coefs_[0].shape == (64, 900)
    for a, b in zip(one.coefs_ + one.intercepts_, two.coefs_ + two.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert one.loss_curve_ == two.loss_curve_
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))


_SUBPROCESS_FIT = textwrap.dedent("""
    import sys, warnings
    import numpy as np
    from fastmlp import MLPClassifier, _kernels
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 40)).astype(np.float32)
    y = (X[:, :3].sum(axis=1) > 0).astype(int)
    m = MLPClassifier((50, 48), activation=["maxout", "maxout"], maxout_pieces=3, max_iter=3,
                      solver="adamw", random_state=0, compute_dtype="bfloat16").fit(X, y)
    np.savez(sys.argv[1], *m.coefs_, *m.intercepts_, proba=m.predict_proba(X),
             hidden=m.transform(X, layer=0), tier=_kernels._runtime_info()["bf16_tier"])
""")


def test_bf16_maxout_emulation_gives_the_native_tiers_bits(tmp_path):
    emulated = _fit_in_subprocess(tmp_path, "emulated", "emulated", _SUBPROCESS_FIT)
    native = _fit_in_subprocess(tmp_path, "native", None, _SUBPROCESS_FIT)
    assert str(emulated["tier"]) == "emulated"
    keys = [k for k in native.files if k != "tier"]
    if str(native["tier"]) in ("amx", "emulated"):  # the same operations: the same bits
        for key in keys:
            np.testing.assert_array_equal(emulated[key], native[key], err_msg=key)
    else:  # avx512_bf16: another summation order, within bfloat16's error
        np.testing.assert_allclose(emulated["proba"], native["proba"], atol=0.05)


# -- the optimizer objects' step blocks ----------------------------------------------

def test_one_rmsprop_step_of_a_maxout_network_matches_numpy():
    """Full batch, one step: every coefficient and intercept of every piece
    meets its own gradient and state (step blocks over fm_mlp_cols)."""
    rng = np.random.default_rng(0)
    n, k, lr, rho = 12, 3, 0.01, 0.9
    X, y = rng.normal(size=(n, 4)), rng.normal(size=n)
    est = MLPRegressor(hidden_layer_sizes=(5,), activation="maxout", maxout_pieces=k,
                       solver="rmsprop", rho=rho, learning_rate_init=lr, alpha=0.0,
                       batch_size=n, shuffle=False, max_iter=1, random_state=0).fit(X, y)
    rs = np.random.RandomState(0)  # the Glorot draws of random_state=0
    bound0, bound1 = np.sqrt(6 / (4 + 5)), np.sqrt(6 / (5 + 1))
    W0, b0 = rs.uniform(-bound0, bound0, (4, 5 * k)), rs.uniform(-bound0, bound0, 5 * k)
    W1, b1 = rs.uniform(-bound1, bound1, (5, 1)), rs.uniform(-bound1, bound1, 1)
    z1 = X @ W0 + b0
    a1 = _act(z1, "maxout", k)
    delta2 = a1 @ W1 + b1 - y[:, None]
    delta1 = reference.activation_grad(z1, "maxout", delta2 @ W1.T, pieces=k)
    params = [W0, W1, b0, b1]
    grads = [X.T @ delta1 / n, a1.T @ delta2 / n, delta1.sum(0) / n, delta2.sum(0) / n]
    for p, g in zip(params, grads):
        reference.rmsprop_step(p, g, np.zeros_like(p), learning_rate=lr, rho=rho,
                               epsilon=est.epsilon)
    for got, want in zip(est.coefs_ + est.intercepts_, params):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("solver", ["rmsprop", "adagrad", "adamw", "nadam"])
@pytest.mark.parametrize("compute", [None, "bfloat16"])
def test_new_solvers_train_maxout_networks(solver, compute):
    X_train, X_test, y_train, y_test = _digits()
    lr = {"adagrad": 0.05}.get(solver, 0.002)
    model = MLPClassifier((48, 32), activation=["maxout", "relu"], maxout_pieces=2,
                          solver=solver, learning_rate_init=lr, max_iter=25, random_state=0,
                          compute_dtype=compute).fit(X_train, y_train)
    assert np.isfinite(model.loss_curve_).all()
    assert model.loss_curve_[-1] < 0.3 * model.loss_curve_[0]
    assert model.score(X_test, y_test) > 0.9


# -- transform, summary, skl2onnx ---------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transform_of_maxout_layers(dtype):
    rng = np.random.default_rng(1)
    X = rng.random((300, 12)).astype(dtype)
    y = (X[:, 0] * 3).astype(int) % 3
    clf = MLPClassifier((16, 8, 5), activation=["maxout", "tanh", "maxout"], maxout_pieces=3,
                        dropout=0.2, max_iter=5, random_state=0).fit(X, y)
    rtol = {np.float32: 1e-5, np.float64: 1e-12}[dtype]
    for layer, width in [(0, 16), (1, 8), (2, 5), (-1, 5)]:
        h = clf.transform(X, layer=layer)
        assert h.shape == (len(X), width) and h.dtype == dtype
        np.testing.assert_allclose(h, _numpy_forward(clf, X, layer % 3 + 1), rtol=rtol,
                                   atol=rtol)
    np.testing.assert_allclose(clf.transform(sp.csr_matrix(X), layer=0),
                               clf.transform(X, layer=0), rtol=rtol, atol=rtol)


def test_summary_shows_units_pieces_and_parameters(capsys):
    X, y = _problem(d=10)
    clf = MLPClassifier((6, 4), activation=["maxout", "relu"], maxout_pieces=3, max_iter=2,
                        random_state=0).fit(X, y)
    table = clf.summary()
    assert capsys.readouterr().out.strip() == table.strip()
    rows = {line.split()[0] + line.split()[1]: line for line in table.splitlines()
            if line.startswith(("hidden", "output"))}
    # hidden 1: 6 units of 3 pieces, (10 + 1) * 18 parameters; hidden 2 reads the 6 units.
    assert rows["hidden1"].split()[2] == "6" and "maxout (3 pieces)" in rows["hidden1"]
    assert rows["hidden1"].split()[-1] == f"{11 * 18:,}"
    assert rows["hidden2"].split()[2] == "4" and rows["hidden2"].split()[-1] == f"{7 * 4:,}"
    n = sum(c.size for c in clf.coefs_) + sum(b.size for b in clf.intercepts_)
    assert f"Trainable params: {n:,}" in table


@pytest.mark.parametrize("model_dtype", [np.float64, np.float32])
def test_skl2onnx_pipeline_with_maxout(model_dtype):
    from conftest import require_module

    skl2onnx = require_module("skl2onnx")
    ort = require_module("onnxruntime")
    X, y = load_digits(return_X_y=True)
    X, y = X[:400], y[:400]
    mlp = MLPClassifier((16, 8), activation=["maxout", "relu"], maxout_pieces=3, max_iter=20,
                        random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)]).fit(X.astype(model_dtype), y)
    X32 = X.astype(np.float32)

    def run(model, data):
        session = ort.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(None, {session.get_inputs()[0].name: data})))

    out = run(skl2onnx.to_onnx(pipe, X32[:1], options={id(mlp): {"zipmap": False}}), X32)
    # The MLP's part against predict_proba on the features skl2onnx's scaler computes.
    features = run(skl2onnx.to_onnx(Pipeline(pipe.steps[:-1]), X32[:1]), X32)["variable"]
    expected = mlp.predict_proba(features)
    tol = 8 * 3 * np.finfo(np.float32).eps
    err = np.abs(out["probabilities"] - expected) / np.maximum(1.0, np.abs(expected))
    assert err.max() <= tol
    top2 = np.sort(expected, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 4 * tol
    np.testing.assert_array_equal(out["label"][clear], mlp.predict(features)[clear])


# -- penalties, max_norm, frozen layers -----------------------------------------------

@pytest.mark.parametrize("compute", [None, "bfloat16"])
def test_max_norm_and_frozen_layers_act_on_every_piece(compute):
    """max_norm bounds each column of a maxout layer's W, i.e. each piece's
    weight vector (Goodfellow et al.); a frozen maxout layer keeps all its
    pieces; an L1 penalty trains through the pieces' columns too."""
    X, y = _problem(d=30)
    clf = MLPClassifier((40, 20), activation=["maxout", "relu"], maxout_pieces=3,
                        learning_rate_init=0.05, max_norm=0.5, max_iter=5, random_state=0,
                        compute_dtype=compute).fit(X, y)
    norms = np.linalg.norm(clf.coefs_[0].astype(np.float64), axis=0)
    assert norms.shape == (120,) and norms.max() <= 0.5 * (1 + 1e-5)
    assert np.sum(norms > 0.49) > 10  # the bound was reached and applied
    fits = [MLPClassifier((40, 20), activation=["maxout", "relu"], maxout_pieces=3,
                          frozen_layers=[0], max_iter=epochs, random_state=0,
                          compute_dtype=compute).fit(X, y) for epochs in (1, 4)]
    # The same initial draws, then 1 or 4 epochs: layer 0 (all pieces) never moves.
    np.testing.assert_array_equal(fits[0].coefs_[0], fits[1].coefs_[0])
    np.testing.assert_array_equal(fits[0].intercepts_[0], fits[1].intercepts_[0])
    assert not np.array_equal(fits[0].coefs_[1], fits[1].coefs_[1])
    l1 = MLPClassifier((40,), activation="maxout", maxout_pieces=3, penalty="l1", alpha=1e-3,
                       max_iter=10, random_state=0, compute_dtype=compute).fit(X, y)
    assert np.isfinite(l1.loss_curve_).all() and l1.loss_curve_[-1] < l1.loss_curve_[0]
