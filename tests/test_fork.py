"""Fork safety: every fastmlp call works in a forked child, with the parent's results.

GNU libgomp cannot run a parallel region in a child forked from a thread
that had led an OpenMP team: the child waits forever for workers that fork
did not copy. fastmlp's C layer notes which threads led a team and, in a
forked child, runs those threads single-threaded (csrc/dispatch.c,
fm_team_size). Each scenario runs in its own interpreter
(tests/fork_scenario.py) with OMP_NUM_THREADS=2, under a timeout in its own
session, so a hang fails the test and its processes are killed. The
scenario checks bit for bit that each child's predict equals the parent's
and that a fit in the child equals the same fit in the parent.
"""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import fastmlp

SCRIPT = Path(__file__).with_name("fork_scenario.py")
TIMEOUT = 240  # the whole scenario; about 5 s when nothing hangs

pytestmark = pytest.mark.skipif(
    not fastmlp._kernels._runtime_info()["openmp"], reason="built without OpenMP")


def _run(mechanism, prior, **env):
    env = dict(os.environ, OMP_NUM_THREADS="2", **env)
    proc = subprocess.Popen([sys.executable, str(SCRIPT), mechanism, prior], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the scenario and its hung children
        out, _ = proc.communicate()
        pytest.fail(f"{mechanism} after {prior} hung:\n{out}")
    assert proc.returncode == 0, out
    assert out.rstrip().endswith("ok"), out
    return [int(line.split()[-1]) for line in out.splitlines()
            if line.startswith("child max_threads")]


@pytest.mark.parametrize("prior", ["fit", "predict"])
@pytest.mark.parametrize("mechanism", ["os_fork", "mp_pool", "process_pool", "joblib",
                                       "thread_fork"])
def test_forked_children_match_the_parent(mechanism, prior):
    # The forking thread led a team: its children run it on one thread.
    assert set(_run(mechanism, prior)) == {1}


@pytest.mark.parametrize("mechanism,prior", [("os_fork", "partial_fit"),
                                             ("mp_pool", "pickle")])
def test_after_partial_fit_and_a_loaded_pickle(mechanism, prior):
    assert set(_run(mechanism, prior)) == {1}


def test_a_thread_started_in_the_child_has_its_threads_back():
    assert _run("child_thread", "fit") == [2]


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_spawn_and_forkserver_children_keep_their_threads(method):
    assert set(_run(method, "fit")) == {2}


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
def test_every_cpu_tier(isa):
    # A tier the CPU lacks falls back to detection (tests/test_dispatch.py).
    assert set(_run("os_fork", "fit", FASTMLP_ISA=isa)) == {1}
