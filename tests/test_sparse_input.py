"""A mostly-zero dense input run on its nonzeros, against the dense path, bit for bit.

Training epochs compress each minibatch of a mostly-zero dense input by rows
and by columns, and the first layer's products (x @ W, the weight gradient
x^T @ delta, the SGD step inside it, the fused chunks of a large layer's
gradient) skip the zeros (csrc/kernels/gemm_kernel.h, gemm_sparse). Per
value they perform the dense path's operations less its zero terms, which
leave a sum as it is, so the weights, the optimizer state and the losses
must be the same bits as the dense path's, for every optimizer, arithmetic
and dtype, with penalties, clipping, max-norm, batch norm, a frozen first
layer, on 1 and 2 threads, with minibatches beyond one KC block (256 rows).
``_kernels._sparse_input_mode`` makes engines that always ("always") or
never ("off") take the sparse path; the engine's count of sparse
minibatches shows which ran. "auto" (the default) takes it when the epoch's
first minibatch is at most 30% nonzero. A SciPy CSR input takes the same
products (the end of the file). .ci/run runs this file under every narrower
FASTMLP_ISA.
"""
import warnings

import numpy as np
import pytest
from conftest import engine_setting
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from fastmlp import MLPClassifier, _kernels, keras, optimizers

# 200 -> 1400 -> 200 -> 6 classes: the first layer (280000 values) has its
# gradient fused into the step in chunks for the other optimizers, stepped
# in its product for SGD.
HIDDEN = (1400, 200)
N, D, BATCH = 230, 200, 32


def _data(dtype, n=N, zeros=0.8, seed=0):
    """Rows `zeros` zero (some rows all zero, some -0.0), 6 classes."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, D)).astype(dtype)
    X[rng.random((n, D)) < zeros] = 0.0
    X[3] = 0.0
    X[5, ::7] = -0.0
    y = (X[:, :20].sum(axis=1) * 1.5).astype(int) % 6
    return X, y


def _fitted(dtype, hidden=HIDDEN, **params):
    """An estimator after one epoch (its network and weights)."""
    X, y = _data(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MLPClassifier(hidden, batch_size=BATCH, max_iter=1, random_state=0,
                             **params).fit(X, y)


def _Mode(mode):
    """Engines made inside the `with` treat the input by `mode`."""
    return engine_setting(_kernels._sparse_input_mode, mode)


CLASSES = {"sgd": optimizers.SGD, "adam": optimizers.Adam, "rmsprop": optimizers.RMSprop,
           "adagrad": optimizers.Adagrad, "nadam": optimizers.NAdam}


def _epochs(est, dtype, kind, arithmetic, opt_params, mode, threads=1, X=None, y=None,
            batch=BATCH, epochs=2, convention="sklearn", shuffle=True):
    """`epochs` engine epochs from the estimator's weights (rows shuffled
    unless not `shuffle`), on copies: the weights, the optimizer state, the losses and the number of
    minibatches that ran on the compressed input."""
    if X is None:
        X, y = _data(dtype)
    Y = np.eye(len(est.classes_), dtype=dtype)[np.searchsorted(est.classes_, y)]
    coefs = [c.astype(dtype, copy=True) for c in est.coefs_]
    intercepts = [b.astype(dtype, copy=True) for b in est.intercepts_]
    bn = None
    if getattr(est, "bn_gammas_", None) is not None:
        bn = [a.astype(dtype, copy=True)
              for group in zip(est.bn_gammas_, est.bn_betas_, est.bn_running_means_,
                               est.bn_running_vars_) for a in group]
    with _Mode(mode):
        engine = est.network_.replace(convention=convention).engine(batch, dtype,
                                                                    gather_rows=True)
    opt = CLASSES[kind](engine.n_params, dtype, arithmetic=arithmetic, **opt_params)
    rng = np.random.default_rng(1)
    losses = []
    with threadpool_limits(limits=threads, user_api="openmp"):
        for e in range(epochs):
            order = rng.permutation(X.shape[0]) if shuffle else None
            losses.append(engine.epoch(coefs, intercepts, X, Y, None, order, batch, opt,
                                       seed=e, bn=bn))
    return (coefs + intercepts + (bn or []), [np.array(s, copy=True) for s in opt.state], losses,
            engine._sparse_batches())


def _assert_same(a, b):
    for x, y in zip(a[0] + a[1], b[0] + b[1]):
        np.testing.assert_array_equal(x, y)
    assert a[2] == b[2]


def _batches(n=N, batch=BATCH, epochs=2):
    return -(-n // batch) * epochs


OPTIMIZERS = [
    ("sgd", "keras", dict(momentum=0.0)),
    ("sgd", "sklearn", dict(momentum=0.9, nesterov=True)),
    ("sgd", "plain", dict(momentum=0.5)),
    ("adam", "keras", {}),
    ("adam", "sklearn", {}),
    ("rmsprop", "keras", {}),
    ("adagrad", "plain", {}),
    ("nadam", "keras", {}),
]
NETWORKS = {
    "plain": {},
    "keras-convention": dict(alpha=0.0),
    "tanh-l1": dict(activation="tanh", penalty="l1", alpha=1e-3),
    "elasticnet-clipvalue-maxnorm": dict(penalty="elasticnet", alpha=1e-3, clip_grad_value=0.01,
                                         max_norm=0.5),
    "batchnorm-dropout": dict(batch_norm=True, dropout=0.2),
    "first-layer-frozen": dict(frozen_layers=(0,)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind, arithmetic, opt_params", OPTIMIZERS,
                         ids=[f"{k}-{a}" for k, a, _ in OPTIMIZERS])
@pytest.mark.parametrize("network", list(NETWORKS))
def test_sparse_input_gives_the_dense_bits(dtype, kind, arithmetic, opt_params, network):
    est = _fitted(dtype, **NETWORKS[network])
    convention = "keras" if network == "keras-convention" else "sklearn"
    sparse = _epochs(est, dtype, kind, arithmetic, opt_params, "always", convention=convention)
    dense = _epochs(est, dtype, kind, arithmetic, opt_params, "off", convention=convention)
    assert sparse[3] == _batches() and dense[3] == 0
    _assert_same(sparse, dense)
    # The epochs moved the weights (a sparse path that did nothing would fail).
    assert not np.array_equal(sparse[0][1], est.coefs_[1].astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind, arithmetic, opt_params", [OPTIMIZERS[1], OPTIMIZERS[3]],
                         ids=["sgd-nesterov", "adam"])
def test_sparse_input_on_two_threads_gives_one_threads_dense_bits(dtype, kind, arithmetic,
                                                                   opt_params):
    est = _fitted(dtype, alpha=1e-3)
    one = _epochs(est, dtype, kind, arithmetic, opt_params, "off", threads=1)
    two = _epochs(est, dtype, kind, arithmetic, opt_params, "always", threads=2)
    assert two[3] == _batches()
    _assert_same(one, two)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind, arithmetic, opt_params", [OPTIMIZERS[0], OPTIMIZERS[3]],
                         ids=["sgd-keras", "adam"])
def test_sparse_input_beyond_one_k_block(dtype, kind, arithmetic, opt_params):
    """Minibatches of 350 rows: the weight gradient's sum over rows runs in
    two KC blocks (and SGD's step is no longer in the product); the last
    minibatch is partial. On two threads the minibatch (70000 values) is
    compressed in two parts, one per thread."""
    est = _fitted(dtype, hidden=(64,))
    X, y = _data(dtype, n=800, seed=1)
    y = est.classes_[y % len(est.classes_)]
    dense = _epochs(est, dtype, kind, arithmetic, opt_params, "off", X=X, y=y, batch=350)
    for threads in (1, 2):
        sparse = _epochs(est, dtype, kind, arithmetic, opt_params, "always", threads=threads,
                         X=X, y=y, batch=350)
        assert sparse[3] == _batches(800, 350)
        _assert_same(sparse, dense)
        auto = _epochs(est, dtype, kind, arithmetic, opt_params, "auto", threads=threads,
                       X=X, y=y, batch=350)
        assert auto[3] == _batches(800, 350)
        _assert_same(auto, dense)


def test_auto_takes_the_sparse_path_by_the_first_minibatch():
    est = _fitted(np.float32, hidden=(64,))
    # 80% zero: every minibatch.
    assert _epochs(est, np.float32, "adam", "keras", {}, "auto")[3] == _batches()
    # Dense: none.
    X, y = _data(np.float32, zeros=0.0)
    assert _epochs(est, np.float32, "adam", "keras", {}, "auto", X=X, y=y)[3] == 0
    # Half zero: none (more than 30% nonzero).
    X, y = _data(np.float32, zeros=0.5)
    assert _epochs(est, np.float32, "adam", "keras", {}, "auto", X=X, y=y)[3] == 0
    # A dense minibatch (the third, unshuffled) among sparse ones runs
    # dense, with the same bits.
    X, y = _data(np.float32)
    X[64:96] = np.random.default_rng(2).random((32, D))
    auto = _epochs(est, np.float32, "adam", "keras", {}, "auto", X=X, y=y, shuffle=False)
    off = _epochs(est, np.float32, "adam", "keras", {}, "off", X=X, y=y, shuffle=False)
    assert auto[3] == _batches() - 2
    _assert_same(auto, off)


@pytest.mark.parametrize("params", [dict(input_dropout=0.1), dict(activation="maxout"),
                                    dict(compute_dtype="bfloat16")],
                         ids=["input-dropout", "maxout", "bfloat16"])
def test_sparse_input_not_taken_where_it_does_not_apply(params):
    """Dropout on the input (its dropped copy is dense), a maxout first layer
    and bfloat16 products keep the dense path even when asked for always."""
    est = _fitted(np.float32, hidden=(64,), **params)
    assert _epochs(est, np.float32, "adam", "keras", {}, "always")[3] == 0


def test_sparse_input_mode_checks_its_argument():
    with pytest.raises(ValueError, match="mode must be one of"):
        _kernels._sparse_input_mode("sometimes")


def _mnist(rows=600):
    import os
    data = np.load(os.path.join(os.path.dirname(__file__), "data", "mnist_4class_subset.npz"))
    return data["X_train"][:rows].reshape(rows, -1).astype(np.float32), data["y_train"][:rows]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_keras_face_on_mnist_same_with_and_without(optimizer):
    """fastmlp.keras on MNIST's pixels (18% nonzero: auto compresses them):
    the weights and History of the dense path."""
    X, y = _mnist()
    runs = []
    for mode in ("auto", "off"):
        with _Mode(mode):
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((784,)),
                                      keras.layers.Dense(64, activation="relu"),
                                      keras.layers.Dense(4, activation="softmax")])
            opt = keras.optimizers.SGD(0.01, momentum=0.9) if optimizer == "momentum" \
                else optimizer
            model.compile(optimizer=opt, loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
            history = model.fit(X, np.searchsorted([0, 1, 6, 9], y), batch_size=32, epochs=2,
                                verbose=0)
        runs.append((model.get_weights(), history.history))
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(a, b)
    assert runs[0][1] == runs[1][1]


def test_estimator_on_mnist_same_with_and_without():
    X, y = _mnist()
    fits = []
    for mode in ("auto", "off"):
        with _Mode(mode), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.append(MLPClassifier((64,), solver="sgd", batch_size=50, max_iter=3,
                                      random_state=0).fit(X.astype(np.float64), y))
    for a, b in zip(fits[0].coefs_ + fits[0].intercepts_, fits[1].coefs_ + fits[1].intercepts_):
        np.testing.assert_array_equal(a, b)
    assert fits[0].loss_curve_ == fits[1].loss_curve_


# A SciPy CSR input: each minibatch's rows are copied into the same
# compressed form (the engine's compress_csr_), so the first layer's
# products are those of the dense input's sparse path, bit for bit, and
# stored zeros are skipped as the dense compression skips zeros. Rows whose
# column indices are not strictly increasing (SciPy allows any order and
# repeats) send their minibatch to the CSR loops, as "off" does.

def _csr(X):
    import scipy.sparse as sp

    return sp.csr_matrix(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind, arithmetic, opt_params", OPTIMIZERS,
                         ids=[f"{k}-{a}-{i}" for i, (k, a, _) in enumerate(OPTIMIZERS)])
def test_csr_input_gives_the_dense_inputs_bits(dtype, kind, arithmetic, opt_params):
    est = _fitted(dtype)
    X, y = _data(dtype)
    dense = _epochs(est, dtype, kind, arithmetic, opt_params, "always", X=X, y=y)
    csr = _epochs(est, dtype, kind, arithmetic, opt_params, "auto", X=_csr(X), y=y)
    assert dense[3] == csr[3] == _batches()
    _assert_same(dense, csr)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_csr_input_on_two_threads_and_beyond_one_k_block(dtype):
    """Two threads, and 350-row minibatches (two KC blocks of the weight
    gradient), against the dense input's sparse path on one thread."""
    est = _fitted(dtype)
    X, y = _data(dtype, n=700)
    for batch, threads in ((BATCH, 2), (350, 1), (350, 2)):
        for kind, arithmetic, opt_params in (OPTIMIZERS[1], OPTIMIZERS[4]):
            dense = _epochs(est, dtype, kind, arithmetic, opt_params, "always", X=X, y=y,
                            batch=batch)
            csr = _epochs(est, dtype, kind, arithmetic, opt_params, "auto", threads=threads,
                          X=_csr(X), y=y, batch=batch)
            assert csr[3] == _batches(n=700, batch=batch)
            _assert_same(dense, csr)


def test_csr_input_skips_stored_zeros():
    """Explicitly stored zeros (+0 and -0) leave the dense input's bits."""
    import scipy.sparse as sp

    X, y = _data(np.float32)
    A = _csr(X)
    rng = np.random.default_rng(3)
    rows, cols = np.nonzero((X == 0) & (rng.random(X.shape) < 0.05))
    Z = sp.csr_matrix((np.where(np.arange(len(rows)) % 2, -0.0, 0.0).astype(np.float32),
                       (rows, cols)), shape=X.shape)
    Xs = sp.csr_matrix((np.concatenate([A.data, Z.data]),
                        (np.concatenate([A.nonzero()[0], rows]),
                         np.concatenate([A.nonzero()[1], cols]))), shape=X.shape)
    Xs.sum_duplicates()  # sorted, once each: the zeros stay stored
    assert (Xs.data == 0).sum() == len(rows)
    est = _fitted(np.float32)
    dense = _epochs(est, np.float32, "adam", "sklearn", {}, "always", X=X, y=y)
    csr = _epochs(est, np.float32, "adam", "sklearn", {}, "auto", X=Xs, y=y)
    assert csr[3] == _batches()
    _assert_same(dense, csr)


def test_csr_input_with_unsorted_indices_takes_the_csr_loops():
    import scipy.sparse as sp

    X, y = _data(np.float64)
    A = _csr(X)
    # Each row's stored values in reverse column order.
    data, indices = A.data.copy(), A.indices.copy()
    for r in range(A.shape[0]):
        s = slice(A.indptr[r], A.indptr[r + 1])
        data[s], indices[s] = data[s][::-1], indices[s][::-1]
    U = sp.csr_matrix((data, indices, A.indptr.copy()), shape=A.shape)
    assert not U.has_sorted_indices
    est = _fitted(np.float64)
    unsorted = _epochs(est, np.float64, "adam", "sklearn", {}, "auto", X=U, y=y)
    off = _epochs(est, np.float64, "adam", "sklearn", {}, "off", X=U, y=y)
    assert unsorted[3] == 0 and off[3] == 0
    _assert_same(unsorted, off)
    # The CSR loops add the bias first, then the row's values: the same
    # training to rounding.
    compressed = _epochs(est, np.float64, "adam", "sklearn", {}, "auto", X=A, y=y)
    for a, b in zip(compressed[0], off[0]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_estimator_on_csr_and_dense_input_same():
    """MLPClassifier and MLPRegressor fitted on a CSR matrix and on the same
    values dense: the same weights and losses."""
    from fastmlp import MLPRegressor

    X, y = _data(np.float64, n=400)
    for est in (MLPClassifier((300,), solver="sgd", batch_size=50, max_iter=3, random_state=0),
                MLPClassifier((300,), batch_size=50, max_iter=3, random_state=0),
                MLPRegressor(hidden_layer_sizes=(300,), batch_size=50, max_iter=3,
                             random_state=0)):
        fits = []
        for Xin in (X, _csr(X)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fits.append(clone(est).fit(Xin, y.astype(float)
                                           if isinstance(est, MLPRegressor) else y))
        for a, b in zip(fits[0].coefs_ + fits[0].intercepts_,
                        fits[1].coefs_ + fits[1].intercepts_):
            np.testing.assert_array_equal(a, b)
        assert fits[0].loss_curve_ == fits[1].loss_curve_


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predict_on_csr_and_dense_input_same(dtype):
    """Prediction compresses a CSR input's chunks of rows (4096 a chunk):
    the same outputs as the same values dense, bit for bit; bfloat16
    networks keep the CSR loops (their products read packed weights)."""
    from fastmlp import MLPRegressor

    X, y = _data(dtype, n=5000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier((64, 32), max_iter=2, random_state=0).fit(X, y)
        reg = MLPRegressor(hidden_layer_sizes=(64,), max_iter=2, random_state=0).fit(
            X, y.astype(dtype))
        bf16 = MLPClassifier((64,), max_iter=2, random_state=0,
                             compute_dtype="bfloat16").fit(X.astype(np.float32), y)
    A = _csr(X)
    np.testing.assert_array_equal(clf.predict_proba(A), clf.predict_proba(X))
    np.testing.assert_array_equal(clf.transform(A), clf.transform(X))
    np.testing.assert_array_equal(reg.predict(A), reg.predict(X))
    np.testing.assert_allclose(bf16.predict_proba(_csr(X.astype(np.float32))),
                               bf16.predict_proba(X.astype(np.float32)), rtol=0, atol=1e-2)
