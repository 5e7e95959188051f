"""One fork scenario, run by tests/test_fork.py in its own interpreter.

    python fork_scenario.py MECHANISM PRIOR

PRIOR is what the parent does before the fork: "fit" (a fit on two
threads), "predict" (a one-thread fit, then a two-thread predict),
"partial_fit" (two-thread partial_fit calls) or "pickle" (a model loaded
from a pickle, then a two-thread predict). MECHANISM is how the children
are made: "os_fork", "mp_pool" (multiprocessing.Pool, fork), "process_pool"
(ProcessPoolExecutor, fork), "joblib" (joblib's multiprocessing backend),
"thread_fork" (os.fork from a thread other than the main one, after that
thread did PRIOR), "child_thread" (os.fork; the child works on a thread it
starts, which may lead a team of its own), "spawn" and "forkserver" (Pool with those methods).

Each child predicts with the parent's model and repeats the parent's fit;
the parent checks both against its own results bit for bit (fastmlp's
results do not depend on the thread count) and exits 0. Every wait on a
child has a timeout, so a hang ends in an error; tests/test_fork.py also
runs this script under a timeout in its own session and kills the whole
process group. Run with OMP_NUM_THREADS=2.
"""
import concurrent.futures
import hashlib
import multiprocessing
import os
import pickle
import sys
import threading
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

import fastmlp
from fastmlp import MLPClassifier

TIMEOUT = 60  # seconds for one child's work (about 1 s when nothing hangs)


def data():
    # Big enough that the products (>= 2^20 multiply-adds per thread) and
    # the optimizer step (>= 2^15 parameters per thread) use two threads.
    rng = np.random.default_rng(0)
    X = rng.random((400, 64))
    return X, (X[:, :3].sum(axis=1) * 2).astype(int)


def make():
    return MLPClassifier((512, 256), batch_size=200, max_iter=2, random_state=0)


def digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def fit_digest():
    """The fit every process repeats: its weights and its predictions."""
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = make().fit(X, y)
    return digest(*m.coefs_, *m.intercepts_, m.predict_proba(X))


def child_work(blob):
    """What a child does: predict with the parent's model, then fit anew."""
    model = pickle.loads(blob)
    X, _ = data()
    info = fastmlp._kernels._runtime_info()
    return digest(model.predict_proba(X)), fit_digest(), info["max_threads"]


def prior(kind):
    """The parent's work before the fork; returns its model."""
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if kind == "fit":
            model = make().fit(X, y)
        elif kind == "partial_fit":
            model = make()
            for _ in range(2):
                model.partial_fit(X, y, classes=np.unique(y))
        elif kind in ("predict", "pickle"):
            fastmlp.set_config(n_threads=1)
            model = make().fit(X, y)
            fastmlp.set_config(n_threads=0)
            assert not fastmlp._kernels._runtime_info()["thread_led_team"]
            if kind == "pickle":
                model = pickle.loads(pickle.dumps(model))
            model.predict_proba(X)
        else:
            raise ValueError(kind)
    # The scenario's premise: this thread has led a team of two.
    assert fastmlp._kernels._runtime_info()["thread_led_team"], "no two-thread region ran"
    return model


def run_os_fork(blob, in_thread=False):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(r)
            if in_thread:
                out = []
                t = threading.Thread(target=lambda: out.append(child_work(blob)))
                t.start()
                t.join()
                result = out[0]
            else:
                result = child_work(blob)
            os.write(w, pickle.dumps(result))
            code = 0
        except BaseException:
            code = 1
        os._exit(code)
    os.close(w)
    # The parent waits for the child's answer with a timeout.
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(r, selectors.EVENT_READ)
    chunks = []
    while True:
        if not sel.select(timeout=TIMEOUT):
            os.kill(pid, 9)
            raise TimeoutError("forked child hung")
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "child failed"
    return [pickle.loads(b"".join(chunks))]


def run_pool(blob, method):
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(2) as pool:
        async_results = [pool.apply_async(child_work, (blob,)) for _ in range(2)]
        return [a.get(timeout=TIMEOUT) for a in async_results]


def run_process_pool(blob):
    ctx = multiprocessing.get_context("fork")
    ex = concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx)
    try:
        futures = [ex.submit(child_work, blob) for _ in range(2)]
        return [f.result(timeout=TIMEOUT) for f in futures]
    finally:
        ex.shutdown(wait=False, cancel_futures=True)


def run_joblib(blob):
    from joblib import Parallel, delayed
    return Parallel(n_jobs=2, backend="multiprocessing", timeout=TIMEOUT)(
        delayed(child_work)(blob) for _ in range(2))


def main(mechanism, kind):
    if mechanism == "thread_fork":
        out = {}

        def body():
            out["model"] = prior(kind)
            out["results"] = run_os_fork(pickle.dumps(out["model"]))
        t = threading.Thread(target=body)
        t.start()
        t.join()
        model, results = out["model"], out["results"]
    else:
        model = prior(kind)
        blob = pickle.dumps(model)
        if mechanism in ("os_fork", "child_thread"):
            results = run_os_fork(blob, in_thread=mechanism == "child_thread")
        elif mechanism in ("mp_pool", "spawn", "forkserver"):
            results = run_pool(blob, "fork" if mechanism == "mp_pool" else mechanism)
        elif mechanism == "process_pool":
            results = run_process_pool(blob)
        elif mechanism == "joblib":
            results = run_joblib(blob)
        else:
            raise ValueError(mechanism)
    X, _ = data()
    expect = (digest(model.predict_proba(X)), fit_digest())
    for predicted, fitted, max_threads in results:
        assert predicted == expect[0], "child's predict differs from the parent's"
        assert fitted == expect[1], "child's fit differs from the parent's"
        print("child max_threads", max_threads)
    print("ok")


if __name__ == "__main__":
    main(*sys.argv[1:])
