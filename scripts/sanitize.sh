#!/usr/bin/env bash
# Build fastmlp with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DFASTMLP_SANITIZE=ON) in a fresh virtual environment and run the kernel,
# estimator and reliability tests under it. Any sanitizer report fails the
# run (halt_on_error / abort_on_error), as does any failing test.
#
# Usage: bash scripts/sanitize.sh [pytest arguments]   (default: the test
#        files listed below)
# Needs: python3 with venv, a C compiler with its ASan/UBSan runtimes (GCC:
# libasan and libubsan, shipped with gcc on Debian/Ubuntu/Fedora), and PyPI;
# nothing else installed by hand (CMake and Ninja come from PyPI). CC picks
# the compiler (default cc); the same one builds fastmlp and provides the
# runtime preloaded into Python.
# Python itself is not instrumented, so the ASan runtime is preloaded;
# leak detection is off because CPython's own allocations would drown it
# (tests/test_reliability.py covers leaks by resident memory instead).
# Takes about 3 minutes on 2 cores (build 1, tests 2).
set -euo pipefail
cd "$(dirname "$0")/.."

cc="${CC:-cc}"
if ! command -v "$cc" > /dev/null; then
    echo "sanitize.sh: no C compiler '$cc' (set CC)" >&2
    exit 1
fi
# The compiler's own runtimes: GCC names them libasan.so / libubsan.so,
# Clang libclang_rt.asan-<arch>.so (which includes UBSan's standalone part).
asan="$("$cc" -print-file-name=libasan.so)"
ubsan="$("$cc" -print-file-name=libubsan.so)"
if [ ! -e "$asan" ]; then
    arch="$(uname -m)"
    asan="$("$cc" -print-file-name="libclang_rt.asan-$arch.so")"
    ubsan=""
fi
if [ ! -e "$asan" ]; then
    echo "sanitize.sh: $cc has no AddressSanitizer runtime (for GCC install libasan," \
         "e.g. the libgcc-<version>-dev package)" >&2
    exit 1
fi
preload="$asan"
if [ -n "$ubsan" ] && [ -e "$ubsan" ]; then
    preload="$asan:$ubsan"
fi
echo "sanitize.sh: compiler $cc, preloading $preload"
export CC="$cc"

venv="${FASTMLP_SANITIZE_VENV:-.venv-sanitize}"
rm -rf "$venv"
python3 -m venv "$venv"
# shellcheck disable=SC1091
. "$venv/bin/activate"
python -m pip install --quiet --upgrade pip
python -m pip install --quiet scikit-build-core cython cython-cmake numpy ninja cmake
# The package and what the sanitized test files import (not the whole test
# extra: ONNX and Dask are not among them, and take minutes to install).
python -m pip install --quiet --no-build-isolation \
    -Ccmake.define.FASTMLP_SANITIZE=ON -Cbuild-dir=build/sanitize . pytest pytest-xdist hypothesis pandas
# The installed extension must be the instrumented one (checked without
# importing it: that needs the runtime preloaded, below).
python - <<'PY'
import importlib.util, pathlib
package = pathlib.Path(importlib.util.find_spec("fastmlp").origin).parent
so = next(package.glob("_kernels*.so"))
assert b"__asan_" in so.read_bytes() and b"__ubsan_" in so.read_bytes(), f"{so} not instrumented"
print("sanitize.sh: instrumented", so)
PY

export LD_PRELOAD="$preload"
# allocator_may_return_null: a huge request fails as it does uninstrumented
# (MemoryError), instead of ASan aborting (test_absurd_sizes_fail_cleanly).
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
if [ "$#" -eq 0 ]; then
    set -- tests/test_gemm.py tests/test_activations.py tests/test_losses.py \
        tests/test_optimizers.py tests/test_mlp.py tests/test_sklearn_parity.py \
        tests/test_perceptron.py tests/test_predict.py tests/test_threads.py \
        tests/test_reliability.py tests/test_bad_input.py tests/test_accepted_input.py \
        tests/test_sizes_64bit.py tests/test_properties.py tests/test_fused_step.py \
        -x -q -p no:cacheprovider \
        --deselect tests/test_reliability.py::test_no_memory_growth_over_1000_fit_predict_cycles
    # (ASan keeps freed memory in quarantine, so resident memory grows by
    # design there; that test measures leaks in the normal run.)
fi
python -m pytest "$@"
