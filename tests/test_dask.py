"""Scaling out with existing engines: Dask, dask-ml and joblib's loky.

fastmlp has no cluster code of its own. scikit-learn's GridSearchCV runs its
fits on a Dask cluster through joblib's "dask" backend (or in joblib's loky
worker processes), and ``dask_ml.wrappers.Incremental`` feeds a dask.array
to ``partial_fit`` one block at a time. The tests check that each gives
exactly the numbers of the same work done serially with NumPy, and that
every worker runs fastmlp's kernels on one OpenMP thread: two
single-threaded workers on a two-core machine must not start four threads.

Workers are processes, so the limit is the environment they start with
(``OMP_NUM_THREADS``), read by OpenMP when it loads; fastmlp's kernels then
take ``omp_get_max_threads()``. (``threadpoolctl.threadpool_limits`` would
not do for threads: OpenMP keeps that limit per calling thread, and Dask
runs tasks in threads other than the one ``client.run`` uses.)
"""
import contextlib
import os
import signal
import sys
import threading
import time

import joblib
import numpy as np
import pytest
import threadpoolctl
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.utils import check_random_state

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor, _kernels
from conftest import require_module

# The optional dependencies (fastmlp[dask]); cloudpickle and psutil come with them.
da = require_module("dask.array")
distributed = require_module("distributed")
dask_ml_wrappers = require_module("dask_ml.wrappers")
cloudpickle = require_module("cloudpickle")
psutil = require_module("psutil")

# Fits in the workers may stop at max_iter; that is the point of a small test.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Environment of the worker processes: one thread for OpenMP (fastmlp's
# kernels) and for the BLAS under NumPy and SciPy.
SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# Upper bound on any one test's blocking work (they take a few seconds).
DEADLINE_SECONDS = 90


@contextlib.contextmanager
def deadline(seconds=DEADLINE_SECONDS):
    """Raise TimeoutError in the main thread if the block runs longer than
    `seconds` (POSIX; elsewhere the block just runs)."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    if not hasattr(signal, "setitimer") or not in_main_thread:
        yield
        return

    def expired(signum, frame):
        raise TimeoutError(f"Dask test still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module", autouse=True)
def pickle_this_module_by_value():
    """Ship the scorers below to the workers by value: the worker processes
    need not be able to import this test file."""
    module = sys.modules[__name__]
    picklers = [cloudpickle]
    try:  # joblib before 1.5 pickles loky's tasks with its own copy
        from joblib.externals import cloudpickle as joblib_cloudpickle
        picklers.append(joblib_cloudpickle)
    except ImportError:
        pass
    for pickler in picklers:
        pickler.register_pickle_by_value(module)
    yield
    for pickler in picklers:
        pickler.unregister_pickle_by_value(module)


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes on the loopback interface;
    closed after the module's tests, and their processes checked gone."""
    with deadline():
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, env=SINGLE_THREADED)
    with cluster, distributed.Client(cluster, timeout="30s") as client:
        worker_pids = list(client.run(os.getpid).values())
        yield client
    stop = time.monotonic() + 10
    while any(psutil.pid_exists(pid) for pid in worker_pids) and time.monotonic() < stop:
        time.sleep(0.05)
    leaked = [pid for pid in worker_pids if psutil.pid_exists(pid)]
    assert not leaked, f"Dask worker processes {leaked} outlived the cluster"


# -- what runs in the workers -------------------------------------------------

def fastmlp_threads():
    """The most OpenMP threads a fastmlp kernel called from this thread may
    use: fastmlp's n_threads setting, or else OpenMP's limit."""
    return fastmlp.get_config()["n_threads"] or _kernels._runtime_info()["max_threads"]


def threads_scorer(estimator, X, y):
    """A 'score' that reports fastmlp's thread limit in the task that fitted
    `estimator` (GridSearchCV scores in the same process and thread)."""
    return float(fastmlp_threads())


def pid_scorer(estimator, X, y):
    """A 'score' that reports which process fitted `estimator`."""
    return float(os.getpid())


def openmp_and_blas_pools():
    """threadpoolctl's view of this process: (library path, threads) of
    every OpenMP and BLAS runtime loaded."""
    return [(pool["filepath"], pool["num_threads"]) for pool in threadpoolctl.threadpool_info()
            if pool["user_api"] in ("openmp", "blas")]


# -- data and searches --------------------------------------------------------

def classification_data(n_samples=240):
    X, y = make_classification(n_samples=n_samples, n_features=12, n_informative=6,
                               n_classes=3, class_sep=1.5, random_state=0)
    return ((X - X.mean(0)) / X.std(0)), y


def regression_data(n_samples=240):
    X, y = make_regression(n_samples=n_samples, n_features=8, n_informative=5, noise=5.0,
                           random_state=0)
    return ((X - X.mean(0)) / X.std(0)), (y - y.mean()) / y.std()


SEARCHES = {
    # adam (one C call per epoch) for the classifier, L-BFGS for the regressor.
    "MLPClassifier": (
        lambda: MLPClassifier(learning_rate_init=0.01, max_iter=60, random_state=0),
        {"hidden_layer_sizes": [(8,), (16,)], "alpha": [1e-4, 1.0]},
        "accuracy", classification_data),
    "MLPRegressor": (
        lambda: MLPRegressor(solver="lbfgs", max_iter=60, random_state=0),
        {"hidden_layer_sizes": [(8,), (8, 4)], "alpha": [1e-3, 1.0]},
        "r2", regression_data),
}


def grid_search(name, **search_options):
    """GridSearchCV over a fastmlp estimator; besides the score, each fit
    reports its process and fastmlp's thread limit where it ran."""
    make_estimator, grid, score, data = SEARCHES[name]
    X, y = data()
    search = GridSearchCV(make_estimator(), grid, cv=3, refit="score",
                          scoring={"score": score, "threads": threads_scorer, "pid": pid_scorer},
                          **search_options)
    return search.fit(X, y)


def split_scores(search, metric):
    """Every (candidate, fold) test score of `metric`, shape (n_candidates, n_splits)."""
    return np.column_stack([search.cv_results_[f"split{k}_test_{metric}"]
                            for k in range(search.n_splits_)])


def assert_same_search(search, serial):
    """The distributed search found what the serial one did, fit for fit."""
    assert len(np.unique(serial.cv_results_["mean_test_score"])) > 1  # a choice was made
    assert search.best_params_ == serial.best_params_
    assert search.cv_results_["params"] == serial.cv_results_["params"]
    np.testing.assert_allclose(split_scores(search, "score"), split_scores(serial, "score"),
                               rtol=1e-12, atol=0)
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               serial.cv_results_["mean_test_score"], rtol=1e-12, atol=0)
    for a, b in zip(search.best_estimator_.coefs_, serial.best_estimator_.coefs_):
        np.testing.assert_array_equal(a, b)


# -- the tests ----------------------------------------------------------------

def test_dask_workers_run_fastmlp_on_one_thread(client):
    with deadline():
        limits = client.run(fastmlp_threads)           # each worker's event-loop thread
        pools = client.run(openmp_and_blas_pools)
        in_tasks = client.gather([client.submit(fastmlp_threads, pure=False, workers=[w])
                                  for w in limits])    # a task thread of each worker
    assert len(limits) == 2
    assert set(limits.values()) == {1}
    assert in_tasks == [1, 1]
    for worker, worker_pools in pools.items():
        assert worker_pools, worker
        # fastmlp's OpenMP is among them: client.run imported fastmlp above.
        assert {threads for _, threads in worker_pools} == {1}, (worker, worker_pools)


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_grid_search_on_dask_equals_serial(client, name):
    serial = grid_search(name)
    worker_pids = set(client.run(os.getpid).values())
    with deadline(), joblib.parallel_config(backend="dask"):
        search = grid_search(name, n_jobs=-1)
    assert_same_search(search, serial)
    # Every fit ran in a worker process, with fastmlp on one thread.
    assert set(split_scores(search, "pid").ravel().astype(int)) <= worker_pids
    assert set(split_scores(search, "threads").ravel()) == {1.0}


def test_grid_search_in_loky_workers_uses_one_thread_each(monkeypatch):
    """GridSearchCV(n_jobs=n_cores) in joblib's loky processes: joblib starts
    each worker with OMP_NUM_THREADS = n_cores // n_jobs (= 1), unless the
    parent's environment sets it, and fastmlp takes OpenMP's limit."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    n_jobs = max(2, joblib.cpu_count())
    serial = grid_search("MLPClassifier")
    with deadline(), joblib.parallel_config(backend="loky"):
        search = grid_search("MLPClassifier", n_jobs=n_jobs)
    assert_same_search(search, serial)
    pids = set(split_scores(search, "pid").ravel().astype(int))
    assert os.getpid() not in pids
    assert set(split_scores(search, "threads").ravel()) == {1.0}


# -- out-of-core training: dask_ml.wrappers.Incremental -----------------------

N_BLOCKS = 4
PASSES = 6


def incremental_case(kind):
    """(estimator, X, y, partial_fit keyword arguments) of an out-of-core fit."""
    if kind == "classifier":
        X, y = classification_data(480)
        est = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, batch_size=40,
                            random_state=0)
        return est, X, y, {"classes": np.unique(y)}
    X, y = regression_data(480)
    est = MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, batch_size=40,
                       random_state=0)
    return est, X, y, {}


def fit_blocks_with_numpy(estimator, X, y, order, passes, **kwargs):
    """partial_fit on the NumPy blocks of X, y in `order`, `passes` times."""
    est = clone(estimator)
    bounds = np.linspace(0, len(X), N_BLOCKS + 1).astype(int)
    for _ in range(passes):
        for b in order:
            est.partial_fit(X[bounds[b]:bounds[b + 1]], y[bounds[b]:bounds[b + 1]], **kwargs)
    return est


def assert_same_weights(a, b):
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_incremental_partial_fit_over_dask_blocks_equals_numpy(client, kind):
    est, X, y, kwargs = incremental_case(kind)
    n_train = 3 * len(X) // 4
    X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    chunk = n_train // N_BLOCKS
    X_da = da.from_array(X_train, chunks=(chunk, X.shape[1]))
    y_da = da.from_array(y_train, chunks=chunk)
    assert X_da.numblocks == (N_BLOCKS, 1)

    # Incremental visits the blocks in an order drawn from its random_state
    # (shuffle_blocks=True), the same order on every pass, and passes the
    # keyword arguments (classes=) to every partial_fit call.
    inc = dask_ml_wrappers.Incremental(est, shuffle_blocks=True, random_state=0)
    X_test_da = da.from_array(X_test, chunks=(chunk, X.shape[1]))
    with deadline():
        inc.fit(X_da, y_da, **kwargs)
        for _ in range(PASSES - 1):
            inc.partial_fit(X_da, y_da, **kwargs)
        predicted = inc.predict(X_test_da).compute()   # block by block, in the workers
        if kind == "classifier":
            # (dask-ml's r2_score fails on dask >= 2025.2, dask/dask-ml#1012:
            # the regressor is scored from the predictions instead.)
            dask_score = inc.score(X_test_da, da.from_array(y_test, chunks=chunk))
    order = list(range(N_BLOCKS))
    check_random_state(0).shuffle(order)
    assert order != sorted(order)  # the comparison below checks the order too

    reference = fit_blocks_with_numpy(est, X_train, y_train, order, PASSES, **kwargs)
    assert_same_weights(inc.estimator_, reference)
    assert inc.estimator_.loss_curve_ == reference.loss_curve_
    assert inc.estimator_.t_ == reference.t_ == PASSES * n_train
    np.testing.assert_array_equal(predicted, reference.predict(X_test))
    score = reference.score(X_test, y_test)
    if kind == "classifier":
        assert dask_score == score
    assert score > (0.75 if kind == "classifier" else 0.9)  # 3 classes; r2

    in_order = fit_blocks_with_numpy(est, X_train, y_train, sorted(order), PASSES, **kwargs)
    assert not np.array_equal(in_order.coefs_[0], reference.coefs_[0])
