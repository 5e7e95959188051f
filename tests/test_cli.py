"""python -m fastmlp: commands, help and bad usage."""
import subprocess
import sys


def _run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "fastmlp", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_help_lists_the_commands():
    proc = _run("--help")
    assert proc.returncode == 0
    for command in ("demo", "bench", "info"):
        assert command in proc.stdout


def test_info_and_bench():
    assert "instruction set" in _run("info").stdout
    proc = _run("bench", "--scale", "0.005", "--epochs", "1")
    assert proc.returncode == 0, proc.stderr
    assert "mnist" in proc.stdout and "tabular" in proc.stdout and "speed-up" in proc.stdout


def test_bad_usage_is_a_short_message_and_exit_2():
    for args in (["nonsense"], ["demo", "--epochs", "0"], ["bench", "--scale", "3"],
                 ["demo", "--epochs", "many"], []):
        proc = _run(*args)
        assert proc.returncode == 2, args
        assert "Traceback" not in proc.stderr


def test_demo_says_what_the_weight_difference_means():
    """The demo's float32 weights differ from scikit-learn's by rounding
    (2e-3 after 30 epochs); it says so and shows the float64 run agreeing to
    float64 rounding (issue 18: the bare 2.0e-03 sat next to the claim of
    the same numbers)."""
    import re

    proc = _run("demo", "--epochs", "3")
    assert proc.returncode == 0, proc.stderr
    assert "in float32" in proc.stdout and "rounding" in proc.stdout
    found = re.search(r"in float64 \(3 epochs\): largest difference ([0-9.e+-]+)", proc.stdout)
    assert found, proc.stdout
    assert float(found.group(1)) < 1e-10
