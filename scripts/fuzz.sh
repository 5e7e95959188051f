#!/usr/bin/env bash
# Build the libFuzzer targets of the C layer (fuzz/) with Clang,
# AddressSanitizer and UndefinedBehaviorSanitizer, and run each for a
# bounded time, starting from its committed seed corpus (fuzz/corpus/NAME).
# Any sanitizer report or failed check stops the target and fails the run.
#
# Usage: bash scripts/fuzz.sh [TARGET...]     (default: every target)
#   FASTMLP_FUZZ_SECONDS  seconds per target (default 30)
#   FASTMLP_FUZZ_JOBS     parallel fuzzing processes per target (default 1)
#   FASTMLP_FUZZ_BUILD    build directory (default build/fuzz)
# Needs clang, libFuzzer's runtime (Debian: libclang-rt-<version>-dev) and
# CMake; installs them with apt-get when missing and running as root.
# New inputs that add coverage go to build/fuzz/corpus/NAME, not to the
# committed corpus; crashes to build/fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FASTMLP_FUZZ_SECONDS:-30}"
jobs="${FASTMLP_FUZZ_JOBS:-1}"
build="${FASTMLP_FUZZ_BUILD:-build/fuzz}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_gemm fuzz_epoch)

# Does this clang link -fsanitize=fuzzer?
have_libfuzzer() {
    command -v clang > /dev/null && command -v cmake > /dev/null || return 1
    echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
        clang -x c -fsanitize=fuzzer -o /dev/null - 2> /dev/null
}
if ! have_libfuzzer; then
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
        echo "fuzz.sh: installing clang, libFuzzer and CMake (apt-get)"
        apt-get update -qq
        apt-get install -y -qq clang cmake > /dev/null
        # libFuzzer ships in the compiler-rt development package of clang's version.
        major="$(clang -dumpversion | cut -d. -f1)"
        apt-get install -y -qq "libclang-rt-$major-dev" > /dev/null 2>&1 ||
            apt-get install -y -qq "libfuzzer-$major-dev" > /dev/null
    fi
    have_libfuzzer || { echo "fuzz.sh: need clang with libFuzzer, and cmake" >&2; exit 1; }
fi

flags="-g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined"
flags="$flags -fno-sanitize-recover=all"
cmake -S fuzz -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS="$flags" > "$build.log" 2>&1 || { cat "$build.log"; exit 1; }
cmake --build "$build" -j 2 >> "$build.log" 2>&1 || { cat "$build.log"; exit 1; }

export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
status=0
for t in "${targets[@]}"; do
    corpus="$build/corpus/$t"
    mkdir -p "$corpus"
    echo "fuzz.sh: $t for ${seconds}s"
    # -jobs/-workers run copies that share the corpus directory.
    seeds="$PWD/fuzz/corpus/$t"
    # From the build directory, where libFuzzer writes crash-* and fuzz-*.log.
    if ! (cd "$build" && "./$t" -max_total_time="$seconds" -max_len=4096 -len_control=0 \
            -timeout=20 -jobs="$jobs" -workers="$jobs" -print_final_stats=1 \
            "corpus/$t" "$seeds") > "$build/$t.log" 2>&1; then
        status=1
        cat "$build/$t.log"
        for log in "$build"/fuzz-*.log; do [ -e "$log" ] && cat "$log"; done
        echo "fuzz.sh: $t FAILED (crash inputs: $build/crash-*)" >&2
    fi
    # The final statistics: executions and their rate.
    grep -h "stat::number_of_executed_units\|stat::average_exec_per_sec\|cov:" \
        "$build/$t.log" | tail -3 || true
done
exit "$status"
