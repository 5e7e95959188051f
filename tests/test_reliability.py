"""Reliability: concurrency, determinism, memory, absurd sizes."""
import threading
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

from fastmlp import MLPClassifier, MLPRegressor



@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


def _run_threads(target, n):
    errors = []

    def wrapped(i):
        try:
            target(i)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_predict_from_eight_threads_is_identical(digits):
    """The kernels release the GIL: real concurrency on one fitted model."""
    X, y = digits
    est = MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=5, random_state=0).fit(X, y)
    expected = est.predict_proba(X)
    results = [None] * 8

    def work(i):
        for _ in range(10):
            results[i] = est.predict_proba(X)

    _run_threads(work, 8)
    for r in results:
        np.testing.assert_array_equal(r, expected)


def test_fitting_in_several_threads_at_once(digits):
    X, y = digits
    alone = [MLPClassifier(hidden_layer_sizes=(32,), max_iter=4, random_state=s).fit(X, y)
             for s in range(4)]
    together = [None] * 4

    def work(i):
        together[i] = MLPClassifier(hidden_layer_sizes=(32,), max_iter=4,
                                    random_state=i).fit(X, y)

    _run_threads(work, 4)
    for a, b in zip(alone, together):
        for ca, cb in zip(a.coefs_, b.coefs_):
            np.testing.assert_array_equal(ca, cb)


@pytest.mark.parametrize("params", [dict(solver="adam"), dict(solver="sgd", dropout=0.2),
                                    dict(batch_norm=True), dict(solver="lbfgs")])
def test_same_random_state_gives_bit_identical_runs(digits, params):
    X, y = digits
    a = MLPClassifier(hidden_layer_sizes=(40,), max_iter=6, random_state=3, **params).fit(X, y)
    b = MLPClassifier(hidden_layer_sizes=(40,), max_iter=6, random_state=3, **params).fit(X, y)
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(ca, cb)


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/statm"),
                    reason="needs Linux /proc")
def test_no_memory_growth_over_1000_fit_predict_cycles():
    rng = np.random.default_rng(0)
    X = rng.random((60, 8), dtype=np.float32)
    y = rng.integers(0, 3, 60)
    Xr = rng.random((60, 8))

    def cycle():
        clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=2, random_state=0).fit(X, y)
        clf.predict_proba(X)
        reg = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=2).fit(Xr, Xr[:, 0])
        reg.predict(Xr)

    for _ in range(100):  # warm up allocator pools and caches
        cycle()
    before = _rss_bytes()
    for _ in range(1000):
        cycle()
    growth = _rss_bytes() - before
    # A leak of even one 60x16 workspace per cycle would add > 4 MB; allow
    # 10 MB for allocator noise.
    assert growth < 10 * 2**20, f"resident memory grew by {growth / 2**20:.1f} MiB"


def test_absurd_sizes_fail_cleanly(digits):
    X, y = digits
    with pytest.raises((MemoryError, ValueError)):
        MLPClassifier(hidden_layer_sizes=(10**12,), max_iter=1).fit(X, y)
    from fastmlp._kernels import MLPEngine

    # Workspace sizes whose byte count overflows are refused, not wrapped.
    with pytest.raises(MemoryError):
        MLPEngine([2**40, 2**30, 2], [("relu", {})], "softmax", ("identity", {}),
                  "squared_error", 1.0, 0.0, 2**30, np.float64, None, True)


def _check_prediction(result, n_rows, n_classes):
    """A concurrent predict_proba: an exception, or probabilities of the
    right shape (from the old network or the new one)."""
    if isinstance(result, Exception):
        return
    assert result.shape == (n_rows, n_classes), f"silently wrong shape {result.shape}"
    np.testing.assert_allclose(result.sum(axis=1), 1.0, rtol=1e-5)


def test_predict_at_every_line_of_a_refit_with_other_layers(digits):
    """Deterministic: at every line the refit executes in fastmlp/_mlp.py
    (traced), another thread predicts with the shared model, so every
    intermediate state a concurrent predict could see is tried. Each gives
    the right shape or an exception, never a half-built network's outputs
    (issue 18: wrong shapes in 4 of 7 runs)."""
    import sys

    X, y = digits
    X = X[:300]
    est = MLPClassifier(hidden_layer_sizes=(16,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y[:300])
    results = []

    def predict():
        try:
            results.append(est.predict_proba(X[:5]))
        except Exception as exc:
            results.append(exc)

    def trace(frame, event, arg):
        if not frame.f_code.co_filename.endswith("_mlp.py"):
            return None
        if event == "line":
            t = threading.Thread(target=predict)
            t.start()
            t.join()
        return trace

    est.set_params(hidden_layer_sizes=(12, 8, 4))
    sys.settrace(trace)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y[:300])
    finally:
        sys.settrace(None)
    assert len(results) > 100
    for r in results:
        _check_prediction(r, 5, 10)
    # The last predictions see the new network.
    np.testing.assert_array_equal(results[-1], est.predict_proba(X[:5]))


def test_refit_with_other_layers_while_threads_predict(digits):
    """The same with real threads: four predict in a loop while the model is
    refitted with other hidden_layer_sizes."""
    X, y = digits
    est = MLPClassifier(hidden_layer_sizes=(64,), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    done = threading.Event()
    results = []

    def work(i):
        while not done.is_set():
            try:
                results.append(est.predict_proba(X[:7]))
            except Exception as exc:
                results.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        for sizes in [(32, 16), (128,), (8, 8, 8), (64,)] * 3:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.set_params(hidden_layer_sizes=sizes).fit(X, y)
    finally:
        done.set()
        for t in threads:
            t.join()
    assert results
    for r in results:
        _check_prediction(r, 7, 10)
