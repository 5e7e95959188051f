#!/usr/bin/env bash
# The C layer for Windows and macOS, without those machines: csrc/ compiled
# through its own CMakeLists (cmake/cross_c_layer: every csrc/**/*.c the
# extension builds for that target, each instruction-set file with its
# flags) by zig's C compiler (clang with each target's headers: MinGW-w64's
# for Windows, Apple's libc headers for macOS) as a stand-in for the native
# compilers, warnings shown, failing on any error. Compiled only: nothing
# runs (no such machine here). OpenMP is off: zig ships no omp.h / libomp
# for these targets (the wheels get LLVM's libomp on macOS, MSVC's OpenMP
# 2.0 on Windows; csrc/ops/gemm_api.h keeps to what 2.0 has).
#
# Targets: x86_64-windows-gnu (MinGW ABI), x86_64-macos, aarch64-macos.
# (x86_64-windows-msvc: zig has no MSVC headers (it needs the Windows SDK),
# so the MSVC syntax rules are held by csrc/portable.h and the clang-cl /
# MSVC wheel build, not here.)
#
# Usage: bash scripts/cross_compile.sh [target ...]
#   FASTMLP_CROSS_BUILD  build directory root (default build/cross)
# Needs pip: installs ziglang (and cmake, ninja if there is no cmake) from
# PyPI into the active Python environment when missing.
#
# Cost (Zen 4, 2 cores shared with other jobs): about 2 minutes per target
# of wall clock the first time (zig builds and caches its target headers'
# checks), under a minute per target after; see docs/guide/config.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root="${FASTMLP_CROSS_BUILD:-build/cross}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-windows-gnu x86_64-macos aarch64-macos)

python=python3
command -v python > /dev/null && python=python
if ! "$python" -m ziglang version > /dev/null 2>&1; then
    echo "cross_compile.sh: installing ziglang (pip)"
    "$python" -m pip install --quiet ziglang
fi
if ! command -v cmake > /dev/null; then
    echo "cross_compile.sh: installing cmake and ninja (pip)"
    "$python" -m pip install --quiet cmake ninja
fi
echo "cross_compile.sh: zig $("$python" -m ziglang version)"
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)

# zig cc / ar / ranlib as single programs for CMake (the target from the
# environment: one wrapper for every target).
tools="$PWD/$root/zig-tools"
mkdir -p "$tools"
for tool in cc ar ranlib; do
    printf '#!/bin/sh\nexec "%s" -m ziglang %s %s"$@"\n' "$(command -v "$python")" "$tool" \
        "$([ "$tool" = cc ] && echo '-target "$FASTMLP_ZIG_TARGET" ')" > "$tools/zig-$tool"
    chmod +x "$tools/zig-$tool"
done

status=0
for target in "${targets[@]}"; do
    case "$target" in
        x86_64-windows*) system=Windows processor=AMD64 ;;
        x86_64-macos*) system=Darwin processor=x86_64 ;;
        aarch64-macos*) system=Darwin processor=arm64 ;;
        *) echo "cross_compile.sh: unknown target $target" >&2; exit 2 ;;
    esac
    echo "== $target (CMAKE_SYSTEM_NAME=$system, processor $processor, OpenMP off)"
    build="$root/$target"
    rm -rf "$build"
    export FASTMLP_ZIG_TARGET="$target"
    start=$SECONDS
    # Checks compile a static library instead of linking a program: no
    # target libc to build, and nothing to run.
    if ! cmake -S cmake/cross_c_layer -B "$build" "${generator[@]}" \
        -DCMAKE_SYSTEM_NAME="$system" -DCMAKE_SYSTEM_PROCESSOR="$processor" \
        -DCMAKE_C_COMPILER="$tools/zig-cc" -DCMAKE_AR="$tools/zig-ar" \
        -DCMAKE_RANLIB="$tools/zig-ranlib" -DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY \
        -DCMAKE_OSX_SYSROOT=/ -DCMAKE_OSX_ARCHITECTURES= -DFASTMLP_OPENMP=OFF > "$build.log" 2>&1; then
        cat "$build.log"
        echo "cross_compile.sh: $target: configure failed" >&2
        status=1
        continue
    fi
    grep -E "FASTMLP_HAVE_[A-Z0-9_]+ - " "$build.log" | sed 's/^-- /   /' || true
    if cmake --build "$build" -- -k 0 2>&1 | grep -E "warning|error|note|^\s+[0-9]+ \||\^" ; then
        :
    fi
    if [ ! -f "$build/csrc/libfastmlp_c.a" ]; then
        echo "cross_compile.sh: $target: compile errors (above)" >&2
        status=1
        continue
    fi
    objects=$(find "$build/csrc" -name '*.o' -o -name '*.obj' | wc -l)
    echo "   ok: $objects object files, libfastmlp_c.a, $((SECONDS - start)) s"
done
exit $status
