#!/usr/bin/env bash
# Style checks: ruff check on the Python (rules in pyproject.toml) and
# clang-format (.clang-format) on the C of csrc/, tests/c/ and fuzz/.
# Fails on any finding; changes nothing. To apply the C style:
#   bash scripts/lint.sh --fix
# Usage: bash scripts/lint.sh
# Needs: ruff (pyproject's `lint` extra; installed into the active Python if
# missing) and clang-format (installed with apt-get when missing and root).
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON:-python3}"
if ! "$py" -m ruff --version > /dev/null 2>&1; then
    "$py" -m pip install --quiet ruff
fi
if ! command -v clang-format > /dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
        apt-get update -qq && apt-get install -y -qq clang-format > /dev/null
    else
        echo "lint.sh: needs clang-format" >&2
        exit 1
    fi
fi
status=0
"$py" -m ruff check . || status=1
# Not gemm_kernel.h and train_tmpl.h: clang-format 14 reads their
# statements `FM_NAME(row_pass)(...);` / `FN(batch_norm_forward_)(...);`
# (function names built by macros) as declarations, breaks them before the
# argument list, and does not reach a fixed point on gemm_kernel.h.
mapfile -t c_files < <(git ls-files 'csrc/*.[ch]' 'tests/c/*.[ch]' 'fuzz/*.[ch]' |
    grep -v -e '^csrc/kernels/gemm_kernel.h$' -e '^csrc/engine/train_tmpl.h$')
if [ "${1:-}" = "--fix" ]; then
    clang-format -i "${c_files[@]}"
fi
clang-format --dry-run -Werror "${c_files[@]}" || status=1
[ "$status" = 0 ] && echo "lint.sh: ruff and clang-format clean"
exit "$status"
