"""Figures of a micro-kernel's inner loops from an AArch64 disassembly.

Usage: python3 scripts/disasm_loops.py OBJDUMP_LISTING FUNCTION [N]

Reads ``aarch64-linux-gnu-objdump -d`` output, takes FUNCTION's loops (the
instructions from each backward branch's target to the branch, at most 300
instructions: the tight loops, not the switch that dispatches them) and
prints the N with the most multiply-adds: vector FMAs (``fmla``), bfloat16
matrix multiply-adds (``bfmmla``, 16 multiply-adds each), vector
multiplications and additions (the portable kernel as the compiler
vectorized it), scalar multiply-adds, multiplications and additions,
instructions, stack
loads/stores (spills and reloads, ``[sp``) and vector registers named; then
the stack loads/stores of the whole function. scripts/cross_aarch64.sh runs
it on the NEON and portable float32 micro-kernels (docs/guide/config.md).
"""
import collections
import re
import sys


def loops(listing, function):
    """(fmla, scalar FP ops, instructions, stack accesses, vector registers,
    start address) per inner loop of `function`, and its stack accesses."""
    ins, current = [], None
    for line in listing.splitlines():
        head = re.match(r"^([0-9a-f]+) <(.+)>:", line)
        if head:
            current = head.group(2)
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s+[0-9a-f]{8}\s+(\S+)\s*(.*)", line)
        if m and current == function:
            ins.append((int(m.group(1), 16), m.group(2), m.group(3)))
    index = {a: i for i, (a, _, _) in enumerate(ins)}

    def stack(op, args):
        return "[sp" in args and op.startswith(("ld", "st"))

    found = []
    for i, (a, op, args) in enumerate(ins):
        target = re.search(r"\b([0-9a-f]+) <", args)
        # Conditional branches only: an unconditional `b` back to a shared
        # epilogue is no loop.
        if not (op.startswith("b.") or op in ("cbnz", "cbz", "tbnz", "tbz")) or not target:
            continue
        t = int(target.group(1), 16)
        if t > a or t not in index or i - index[t] >= 300:
            continue
        body = ins[index[t]:i + 1]
        text = " ".join(x for _, _, x in body)
        vregs = set(re.findall(r"\bv(\d+)\.", text))
        vregs |= set(re.findall(r"\b[qsd](\d+)\b", " ".join(
            x for _, o, x in body if o.startswith(("ld", "st", "f", "dup", "mov")))))
        ops = collections.Counter(o for _, o, _ in body)
        # Vector fmul + fadd: the portable kernel vectorized by the compiler
        # (-ffp-contract=off keeps its a * b + c unfused).
        vmuladd = sum(1 for _, o, x in body if o in ("fmul", "fadd") and x.startswith("v"))
        scalar = sum(ops[o] for o in ("fmadd", "fmul", "fadd")) - vmuladd
        found.append((ops["fmla"] + 4 * ops["bfmmla"], ops["fmla"],
                      ops["bfmmla"], scalar, vmuladd, len(body),
                      sum(stack(o, x) for _, o, x in body), len(vregs), hex(t)))
    found.sort(key=lambda f: (f[0], f[4], f[3]), reverse=True)
    return found, sum(stack(o, x) for _, o, x in ins)


def main():
    listing = open(sys.argv[1]).read()
    function = sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    found, spills = loops(listing, function)
    for _, fmla, bfmmla, scalar, vmuladd, size, stack, vregs, start in found[:n]:
        mm = f"{bfmmla} bfmmla, " if bfmmla else ""
        vm = f"{vmuladd} vector fmul/fadd, " if vmuladd else ""
        print(f"{function} loop at {start}: {fmla} fmla, {mm}{vm}{scalar} scalar fmadd/fmul/fadd, "
              f"{size} instructions, {stack} stack loads/stores, {vregs} vector registers")
    print(f"{function}: {spills} stack loads/stores in the whole function")


if __name__ == "__main__":
    main()
