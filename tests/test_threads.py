"""Thread counts: results do not depend on them, and the limits are honoured.

The training engine splits each product among threads in whole register
tiles (every element of a product gets the same operations whatever the
split), runs the optimizer step element-wise over fixed blocks, and adds the
L2 term's sum of squares block by block in a fixed order. So a fit on one
thread and on two must give the same bits, not merely close numbers; the
network here is large enough that both the products (>= 2^20 multiply-adds
per thread) and the step (>= 2^15 parameters per thread) do use 2 threads.
"""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info, threadpool_limits

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor


def _data(dtype, n=400, d=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d)).astype(dtype)
    return X, (X[:, :3].sum(axis=1) * 2).astype(int)


def _fit(est, X, y, threads):
    """Fit with `threads` OpenMP threads (fastmlp's) and one BLAS thread:
    SciPy's L-BFGS takes its dot products from the BLAS, whose threaded sums
    do depend on the thread count (rounding only); fastmlp's do not."""
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"), \
            threadpool_limits(limits=threads, user_api="openmp"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("params", [
    dict(solver="adam"),
    dict(solver="sgd", momentum=0.9, nesterovs_momentum=True, alpha=1e-3),
    dict(solver="adam", batch_norm=True, dropout=0.2),
    dict(solver="lbfgs"),
    dict(solver="nadam", clip_grad_norm=0.05, clip_grad_value=0.01, penalty="elasticnet",
         alpha=1e-3, max_norm=0.5, weight_decay=0.01),
    dict(solver="rmsprop", frozen_layers=(1,), penalty="l1", alpha=1e-3),
], ids=["adam", "sgd-nesterov-l2", "adam-bn-dropout", "lbfgs", "nadam-clip-elasticnet-maxnorm",
        "rmsprop-frozen-l1"])
def test_one_and_two_threads_give_identical_bits(dtype, params):
    X, y = _data(dtype)
    make = lambda: MLPClassifier((512, 256), batch_size=200, max_iter=3,  # noqa: E731
                                 random_state=0, **params)
    one = _fit(make(), X, y, 1)
    two = _fit(make(), X, y, 2)
    for a, b in zip(one.coefs_ + one.intercepts_, two.coefs_ + two.intercepts_):
        np.testing.assert_array_equal(a, b)
    if params["solver"] != "lbfgs":
        assert one.loss_curve_ == two.loss_curve_
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))


def test_set_config_threads_give_identical_bits():
    X, y = _data(np.float32)
    results = []
    try:
        for n in (1, 2):
            fastmlp.set_config(n_threads=n)
            reg = MLPRegressor(hidden_layer_sizes=(512, 256), batch_size=200, max_iter=2,
                               random_state=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                results.append(reg.fit(X, y.astype(np.float32)).coefs_)
    finally:
        fastmlp.set_config(n_threads=0)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_threadpoolctl_sees_and_limits_fastmlp_openmp():
    """fastmlp's OpenMP runtime is visible to threadpoolctl, so joblib's and
    the user's limits (threadpool_limits, GridSearchCV workers) reach it."""
    if not fastmlp._kernels._runtime_info()["openmp"]:
        pytest.skip("built without OpenMP")
    apis = {info["user_api"] for info in threadpool_info()}
    assert "openmp" in apis
    with threadpool_limits(limits=1, user_api="openmp"):
        assert fastmlp._kernels._runtime_info()["max_threads"] == 1


def test_omp_num_threads_is_honoured_and_changes_nothing():
    """OMP_NUM_THREADS=1 and =2 in fresh processes: the same model bytes."""
    code = (
        "import numpy as np, warnings, fastmlp, sys\n"
        "warnings.simplefilter('ignore')\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.random((400, 64)).astype(np.float32); y = (X[:, 0] * 4).astype(int)\n"
        "clf = fastmlp.MLPClassifier((512, 256), batch_size=200, max_iter=2,"
        " random_state=0).fit(X, y)\n"
        "sys.stdout.write(str(fastmlp._kernels._runtime_info()['max_threads']) + ' ')\n"
        "sys.stdout.write(np.concatenate([c.ravel() for c in clf.coefs_]).tobytes().hex()[:4000]"
        " + str(hash(np.concatenate([c.ravel() for c in clf.coefs_]).tobytes())))\n"
    )
    outs = []
    for n in ("1", "2"):
        env = {**os.environ, "OMP_NUM_THREADS": n, "PYTHONHASHSEED": "0"}
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                             capture_output=True, text=True).stdout
        threads, digest = out.split(" ", 1)
        if fastmlp._kernels._runtime_info()["openmp"]:
            assert threads == n
        outs.append(digest)
    assert outs[0] == outs[1]


@pytest.mark.parametrize("user_env", [{}, {"GOMP_SPINCOUNT": "123"},
                                      {"OMP_WAIT_POLICY": "ACTIVE"}])
def test_openmp_wait_policy_is_set_only_while_loading_and_never_over_the_user(user_env):
    """fastmlp shortens its OpenMP threads' spin (GOMP_SPINCOUNT), set for
    its own load only (_config.py): afterwards the environment is as the
    user left it."""
    code = ("import os, fastmlp; print(os.environ.get('GOMP_SPINCOUNT'), "
            "os.environ.get('OMP_WAIT_POLICY'))")
    env = {k: v for k, v in os.environ.items()
           if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", code], env={**env, **user_env}, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == [user_env.get("GOMP_SPINCOUNT", "None"), user_env.get("OMP_WAIT_POLICY", "None")]
