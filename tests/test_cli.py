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
