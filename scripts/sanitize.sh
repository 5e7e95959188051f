#!/usr/bin/env bash
# Build fastmlp with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DFASTMLP_SANITIZE=ON) in a fresh virtual environment and run the kernel
# and estimator tests under it. Any sanitizer report fails the run.
#
# Usage: bash scripts/sanitize.sh [pytest arguments]   (default: the kernel,
#        training-engine and estimator test files)
# Python itself is not instrumented, so the ASan runtime is preloaded;
# leak detection is off because CPython's own allocations would drown it
# (tests/test_reliability.py covers leaks by resident memory instead).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${FASTMLP_SANITIZE_VENV:-.venv-sanitize}"
rm -rf "$venv"
python3 -m venv "$venv"
# shellcheck disable=SC1091
. "$venv/bin/activate"
python -m pip install --quiet --upgrade pip
python -m pip install --quiet scikit-build-core cython cython-cmake numpy ninja
python -m pip install --quiet --no-build-isolation \
    -Ccmake.define.FASTMLP_SANITIZE=ON -Cbuild-dir=build/sanitize ".[test]"

asan="$(gcc -print-file-name=libasan.so)"
ubsan="$(gcc -print-file-name=libubsan.so)"
export LD_PRELOAD="$asan:$ubsan"
# allocator_may_return_null: a huge request fails as it does uninstrumented
# (MemoryError), instead of ASan aborting (test_absurd_sizes_fail_cleanly).
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
if [ "$#" -eq 0 ]; then
    set -- tests/test_gemm.py tests/test_activations.py tests/test_losses.py \
        tests/test_optimizers.py tests/test_mlp.py tests/test_sklearn_parity.py \
        tests/test_perceptron.py tests/test_reliability.py -x -q -p no:cacheprovider \
        --deselect tests/test_reliability.py::test_no_memory_growth_over_1000_fit_predict_cycles
    # (ASan keeps freed memory in quarantine, so resident memory grows by
    # design there; that test measures leaks in the normal run.)
fi
python -m pytest "$@"
