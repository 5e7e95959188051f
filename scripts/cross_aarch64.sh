#!/usr/bin/env bash
# The C layer on Linux aarch64, without ARM hardware: cross-compiled through
# its own csrc/CMakeLists.txt (cmake/aarch64-linux-gnu.cmake, Debian's
# gcc-aarch64-linux-gnu, OpenMP from the cross libgomp) and its C-level
# tests (tests/c/test_kernels.c: every kernel set's GEMM against a double
# reference, the fused dense layer, optimizer steps, training epochs on 1
# and 2 threads, the emulated bfloat16 product, the SIGILL guard, Arm's
# BFMMLA against its portable emulation bit for bit: qemu's -cpu max has
# FEAT_BF16) run under
# qemu-aarch64 (user-mode emulation: correctness only, no timing). The same
# tests are built and run natively first (seconds).
#
# Usage: bash scripts/cross_aarch64.sh
#   FASTMLP_CROSS_BUILD  build directory root (default build/cross)
# Needs cmake, ninja or make, gcc-aarch64-linux-gnu, libc6-dev-arm64-cross,
# qemu-user and python3; installs cmake and the aarch64 packages with apt-get
# when missing and running as root. It also prints the NEON micro-kernel's disassembly figures
# (FMAs, stack spills) that docs/guide/config.md quotes.
#
# Cost (Zen 4, 2 cores): 1 min 45 s of CPU in all (the two builds of csrc/
# most of it, the tests 2 s natively and about 25 s under qemu); 5.5 minutes
# of wall clock measured with the 2 cores shared by seven jobs, about 2
# minutes alone; plus apt-get on a fresh machine (about 1 minute).
set -euo pipefail
cd "$(dirname "$0")/.."
root="${FASTMLP_CROSS_BUILD:-build/cross}"
sysroot=/usr/aarch64-linux-gnu

if ! command -v aarch64-linux-gnu-gcc > /dev/null || ! command -v qemu-aarch64 > /dev/null ||
    ! command -v cmake > /dev/null || [ ! -e "$sysroot/lib/ld-linux-aarch64.so.1" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
        echo "cross_aarch64.sh: installing the aarch64 cross compiler and qemu-user (apt-get)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu \
            libc6-dev-arm64-cross binutils-aarch64-linux-gnu qemu-user cmake > /dev/null
    fi
    command -v aarch64-linux-gnu-gcc > /dev/null && command -v qemu-aarch64 > /dev/null &&
        command -v cmake > /dev/null || {
        echo "cross_aarch64.sh: need gcc-aarch64-linux-gnu, qemu-user and cmake" >&2
        exit 1
    }
fi
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)

echo "== native build and run of tests/c/test_kernels.c"
cmake -S tests/c -B "$root/native" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release > /dev/null
# Build output to a log, shown whole when the build fails (ninja prints
# compiler errors on stdout).
build() {
    cmake --build "$1" > "$1.log" 2>&1 || { cat "$1.log"; exit 1; }
}
build "$root/native"
"$root/native/test_kernels" | grep -v '^ok '

echo "== aarch64 cross build (cmake/aarch64-linux-gnu.cmake) and run under qemu-aarch64"
cmake -S tests/c -B "$root/aarch64" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" > /dev/null
build "$root/aarch64"
qemu-aarch64 -L "$sysroot" "$root/aarch64/test_kernels" | grep -v '^ok '

# The micro-kernels' inner loops in figures (docs/guide/config.md, "on
# paper"): FMAs, instructions, spills and registers from the disassembly.
echo "== float32 micro-kernels' inner loops (aarch64-linux-gnu-objdump -d)"
objs="$root/aarch64/csrc/CMakeFiles/fastmlp_c.dir/kernels"
listing="$root/aarch64/kernels.dis"
aarch64-linux-gnu-objdump -d "$objs/gemm_neon.c.o" "$objs/gemm_generic.c.o" > "$listing"
python3 scripts/disasm_loops.py "$listing" neon_f32_microkernel 1
python3 scripts/disasm_loops.py "$listing" neon_f64_microkernel 1
generic="$(grep -o '<generic_f32_microkernel[^>]*>:' "$listing" | head -1 | tr -d '<>:')"
python3 scripts/disasm_loops.py "$listing" "$generic" 1
echo "== the bfmmla tier's inner loop"
aarch64-linux-gnu-objdump -d "$objs/gemm_bf16_bfmmla.c.o" > "$root/aarch64/bfmmla.dis"
python3 scripts/disasm_loops.py "$root/aarch64/bfmmla.dis" bfmmla_block 1
