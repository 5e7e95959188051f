"""The C engine refuses invalid network and optimizer descriptions on its
own, field by field (tests/c/test_descriptions.c, compiled here against
csrc/ as tests/test_sizes_64bit.py compiles its program, under ASan + UBSan
where the compiler has them). The binding checks the same rules first, with
messages (tests/test_bad_input.py); the fuzzer (fuzz/fuzz_epoch.c) varies
every field, valid or not, against the same rules.
"""
import subprocess

import pytest

from test_sizes_64bit import ROOT, _compiler, _plain_env


@pytest.fixture(scope="module")
def description_program(tmp_path_factory):
    cc = _compiler()
    if cc is None:  # pragma: no cover - the package itself needs a C compiler
        pytest.skip("no C compiler")
    out = tmp_path_factory.mktemp("c") / "test_descriptions"
    csrc = ROOT / "csrc"
    sources = [csrc / f for f in ("cpu.c", "dispatch.c", "ops/gemm.c",
                                  "kernels/gemm_generic.c", "kernels/gemm_bf16_generic.c",
                                  "kernels/gemm_bf16_bfmmla_emulated.c",
                                  "ops/gemm_bf16.c", "ops/activations.c", "ops/losses.c",
                                  "ops/optimizers.c", "engine/train.c", "engine/perceptron.c")]
    includes = [f"-I{csrc / d}" for d in ("", "kernels", "ops", "engine")]
    base = [*cc, "-std=gnu11", "-O0", "-g", *includes,
            str(ROOT / "tests" / "c" / "test_descriptions.c"), *map(str, sources), "-o",
            str(out), "-lm"]
    sanitizers = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                  "-fno-omit-frame-pointer"]
    env = _plain_env()
    proc = subprocess.run(base[:1] + sanitizers + base[1:], capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:  # a compiler without the sanitizer runtimes: plain build
        proc = subprocess.run(base, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return out


def test_engine_refuses_every_invalid_description(description_program):
    env = dict(_plain_env(), ASAN_OPTIONS="detect_leaks=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    proc = subprocess.run([str(description_program)], capture_output=True, text=True, env=env,
                          timeout=120)
    lines = proc.stdout.splitlines()
    failed = [line for line in lines if line.startswith("FAIL")]
    assert not failed, failed
    assert proc.returncode == 0 and proc.stderr == "", proc.stdout + proc.stderr
    n = sum(line.startswith("ok ") for line in lines)
    assert lines[-1] == f"checks {n}" and n == 129, lines
