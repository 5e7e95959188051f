"""bfloat16 products (compute_dtype="bfloat16"): rounding, packing, every tier.

Each tier this machine runs is selected in-process with the private
``_kernels._bf16_init`` (the import-time choice, narrowed as FASTMLP_BF16
does) and held bit for bit against its exact NumPy mirror
(``fastmlp.reference._bf16_product``): the AMX and emulated tiers against
the one order documented in csrc/bf16.h, the AVX512_BF16 tier against its
own. The emulated tier's AVX2 and generic builds run in subprocesses with
FASTMLP_ISA. Arm's BFMMLA arithmetic (round to odd) runs on every machine
as the bfmmla_emulated tier, against its own mirror (the BFMMLA instruction
itself against that emulation: tests/c/test_kernels.c under qemu-aarch64).
Which tiers ran is in the test ids (test_tiers_available prints them).
"""
import itertools
import os
import platform
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastmlp
from fastmlp import _kernels, kernels, reference

TIER_ORDER = ("amx", "avx512_bf16", "bfmmla", "emulated")  # FASTMLP_BF16 narrows along it
EXPLICIT = ("bfmmla_emulated",)  # chosen by name only: another CPU's arithmetic
# show_config names bfmmla (why it is not used) on Arm builds only.
NAMED = tuple(t for t in TIER_ORDER
              if t != "bfmmla" or platform.machine().lower() in ("aarch64", "arm64"))
MIRROR = {"amx": "amx", "emulated": "amx", "avx512_bf16": "avx512_bf16", "bfmmla": "bfmmla",
          "bfmmla_emulated": "bfmmla"}


def _available_tiers():
    """Tiers this machine runs: each name forced, kept when it is honoured."""
    default = _kernels._runtime_info()["bf16_tier"]
    found = []
    for tier in TIER_ORDER + EXPLICIT:
        if _kernels._bf16_init(tier)[0] == tier:
            found.append(tier)
    _kernels._bf16_init(default if default != TIER_ORDER[0] else None)
    return found


TIERS = _available_tiers()


@pytest.fixture
def tier(request):
    """Run the test on one tier, then restore the import-time choice."""
    default = _kernels._runtime_info()["bf16_tier"]
    name, _ = _kernels._bf16_init(request.param)
    assert name == request.param
    yield name
    _kernels._bf16_init(os.environ.get("FASTMLP_BF16") or None)
    assert _kernels._runtime_info()["bf16_tier"] == default


def _bits(x):
    return np.ascontiguousarray(x, np.float32).view(np.uint32)


def _run(code, **env):
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=dict(os.environ, **env), timeout=300)
    return proc


def test_tiers_available():
    # The emulations always run; on this project's Sapphire Rapids amx and
    # avx512_bf16 too, on an Armv8.6 CPU (or qemu-aarch64 -cpu max) bfmmla.
    assert "emulated" in TIERS and "bfmmla_emulated" in TIERS
    print("bf16 tiers on this machine:", TIERS)
    info = _kernels._runtime_info()
    assert info["bf16_tier"] == TIERS[0]


# ---------------------------------------------------------------------------
# Rounding to bfloat16 (in the packing)
# ---------------------------------------------------------------------------

F32 = np.float32
ROUNDING_CASES = [  # (float32 bits, bfloat16 bits)
    (0x3F800000, 0x3F80),  # 1
    (0x3F808000, 0x3F80),  # 1 + 2^-8: a tie, to the even 1
    (0x3F818000, 0x3F82),  # 1 + 3 * 2^-8: a tie, to the even 1 + 2^-6
    (0x3F808001, 0x3F81),  # just above the tie: up
    (0x3F80FFFF, 0x3F81),  # just below the next: up
    (0xBF808000, 0xBF80),  # -(1 + 2^-8): ties to even with the sign
    (0x00000000, 0x0000),  # +0
    (0x80000000, 0x8000),  # -0
    (0x00000001, 0x0000),  # smallest denormal: zero (denormal inputs are zero)
    (0x807FFFFF, 0x8000),  # largest negative denormal: -0, not rounded up to -2^-126
    (0x00800000, 0x0080),  # 2^-126, the smallest normal
    (0x7F800000, 0x7F80),  # inf
    (0xFF800000, 0xFF80),  # -inf
    (0x7F7FFFFF, 0x7F80),  # largest float rounds up to inf
    (0x7FC00000, 0x7FC0),  # quiet NaN
    (0x7F800001, 0x7FC0),  # signalling NaN whose payload is in the low bits: quiet
    (0xFFC12345, 0xFFC1),  # negative NaN keeps sign and top payload
]


def test_rounding_reference_cases():
    x = np.array([c[0] for c in ROUNDING_CASES], np.uint32).view(F32)
    expected = np.array([c[1] for c in ROUNDING_CASES], np.uint16)
    np.testing.assert_array_equal(reference._bfloat16_bits(x), expected)


def _rounding_inputs():
    rng = np.random.default_rng(1)
    special = np.array([c[0] for c in ROUNDING_CASES], np.uint32)
    random_bits = rng.integers(0, 2**32, size=4000, dtype=np.uint64).astype(np.uint32)
    return np.concatenate([special, random_bits]).view(F32)


def _check_rounding_in_every_packing(x):
    """Pack x as A and as B, each stored plain and transposed: every element
    must be its reference rounding (the four packing loops round alike)."""
    want = reference._bfloat16_bits(x)
    block = x[: (x.size // 48) * 48].reshape(48, -1)  # 48 rows: 3 A panels
    bits = reference._bfloat16_bits(block)
    for trans in (False, True):
        stored = np.ascontiguousarray(block.T) if trans else block
        a = _kernels._bf16_pack_a(stored, trans_a=trans)
        np.testing.assert_array_equal(a, _expected_pack_a(block))
        stored = np.ascontiguousarray(block) if trans else np.ascontiguousarray(block.T)
        b = _kernels._bf16_pack_b(stored, trans_b=trans)  # op(b) = block.T
        np.testing.assert_array_equal(b, _expected_pack_b(block.T))
    row = _kernels._bf16_pack_a(x[None, :])[0, :, 0, :].reshape(-1)[: x.size]
    np.testing.assert_array_equal(row, want)
    return bits


@pytest.mark.parametrize("tier", TIERS, indirect=True)
def test_rounding_in_packing_matches_reference(tier):
    # Each tier packs with its own conversion (the hardware tiers with
    # VCVTNE2PS2BF16, the emulated one in integer lanes): the same bits.
    x = _rounding_inputs()
    _check_rounding_in_every_packing(x)
    row = _kernels._bf16_pack_a(x[None, :])[0, :, 0, :].reshape(-1)
    np.testing.assert_array_equal(row[: len(ROUNDING_CASES)], [c[1] for c in ROUNDING_CASES])


# ---------------------------------------------------------------------------
# Packing layouts with K and N tails
# ---------------------------------------------------------------------------

def _expected_pack_b(op_b):
    k, n = op_b.shape
    kq, nq = -(-k // 32), -(-n // 16)
    full = np.zeros((kq * 32, nq * 16), np.uint16)
    full[:k, :n] = reference._bfloat16_bits(op_b)
    # [panel j][chunk q][pair p][column c][parity t] = op_b[32 q + 2 p + t, 16 j + c]
    return full.reshape(kq, 16, 2, nq, 16).transpose(3, 0, 1, 4, 2)


def _expected_pack_a(op_a):
    m, k = op_a.shape
    kq, mq = -(-k // 32), -(-m // 16)
    full = np.zeros((mq * 16, kq * 32), np.uint16)
    full[:m, :k] = reference._bfloat16_bits(op_a)
    # [panel i][chunk q][row r][kk] = op_a[16 i + r, 32 q + kk]
    return full.reshape(mq, 16, kq, 32).transpose(0, 2, 1, 3)


@pytest.mark.parametrize("tier", TIERS, indirect=True)
@pytest.mark.parametrize("trans", [False, True])
# (300, 48), (1024, 32): whole panels of more than one group of whole chunks
# (the transposed packing's order, gemm_bf16_pack_avx512.h TRANS_GROUP).
@pytest.mark.parametrize("k,n", [(1, 1), (10, 10), (32, 16), (33, 17), (64, 129), (784, 10),
                                 (300, 48), (1024, 32)])
def test_pack_b_layout(tier, trans, k, n):
    rng = np.random.default_rng(k * 1000 + n)
    op_b = rng.standard_normal((k, n)).astype(F32)
    stored = np.ascontiguousarray(op_b.T) if trans else op_b
    packed = _kernels._bf16_pack_b(stored, trans_b=trans)
    np.testing.assert_array_equal(packed, _expected_pack_b(op_b))


@pytest.mark.parametrize("tier", TIERS, indirect=True)
@pytest.mark.parametrize("k,n", [(1024, 16), (300, 48), (40, 33), (2048, 17)])
def test_pack_b_transposed_rows_4_kib_apart(tier, k, n):
    # W^T from rows of W 4 KiB (1024 floats) or 8 KiB apart, as the engine
    # packs a layer 1024 or 2048 wide: the staged order of the AVX-512 tiers
    # (gemm_bf16_pack_avx512.h), whole groups of chunks and a last partial
    # one (k < the row stride: 300 = 9 whole chunks and a tail), edge panels.
    rng = np.random.default_rng(k + n)
    stride = 1024 if k <= 1024 else 2048
    stored = rng.standard_normal((n, stride)).astype(F32)[:, :k]  # op(b) = stored.T
    packed = _kernels._bf16_pack_b(stored, trans_b=True)
    np.testing.assert_array_equal(packed, _expected_pack_b(stored.T))


@pytest.mark.parametrize("tier", TIERS, indirect=True)
@pytest.mark.parametrize("trans", [False, True])
@pytest.mark.parametrize("m,k", [(1, 1), (17, 10), (16, 33), (200, 784)])
def test_pack_a_layout(tier, trans, m, k):
    rng = np.random.default_rng(m * 1000 + k)
    op_a = rng.standard_normal((m, k)).astype(F32)
    stored = np.ascontiguousarray(op_a.T) if trans else op_a
    np.testing.assert_array_equal(_kernels._bf16_pack_a(stored, trans_a=trans),
                                  _expected_pack_a(op_a))


# ---------------------------------------------------------------------------
# Every tier, bit for bit against its mirror
# ---------------------------------------------------------------------------

SHAPES = list(itertools.product([1, 17, 200], [10, 33, 784], [10, 129]))
TRANS = list(itertools.product([False, True], [False, True]))
_MIRRORS = {}


def _operands(m, k, n, ta, tb):
    rng = np.random.default_rng(m * 7919 + k * 31 + n)
    op_a = rng.standard_normal((m, k)).astype(F32)
    op_b = rng.standard_normal((k, n)).astype(F32)
    a = np.ascontiguousarray(op_a.T) if ta else op_a
    b = np.ascontiguousarray(op_b.T) if tb else op_b
    return op_a, op_b, a, b


def _mirror(order, m, k, n):
    key = (order, m, k, n)
    if key not in _MIRRORS:
        op_a, op_b, _, _ = _operands(m, k, n, False, False)
        _MIRRORS[key] = reference._bf16_product(op_a, op_b, order)
    return _MIRRORS[key]


@pytest.mark.parametrize("tier", TIERS, indirect=True)
@pytest.mark.parametrize("m,k,n", SHAPES)
def test_tier_matches_its_mirror_bit_for_bit(tier, m, k, n):
    want = _mirror(MIRROR[tier], m, k, n)
    for ta, tb in TRANS:
        _, _, a, b = _operands(m, k, n, ta, tb)
        got = kernels.gemm(a, b, trans_a=ta, trans_b=tb, compute_dtype="bfloat16")
        np.testing.assert_array_equal(_bits(got), _bits(want), err_msg=f"trans {ta, tb}")


@pytest.mark.parametrize("tier", TIERS, indirect=True)
def test_k_ranges_and_row_blocks_keep_bits(tier):
    # k = 1000 is 32 chunks, run in 3 K ranges (11, 11, 10) continued from the
    # stored float tiles; m = 700 is two packed row blocks (512 + 188 rows).
    m, k, n = 700, 1000, 40
    rng = np.random.default_rng(13)
    a = rng.standard_normal((m, k)).astype(F32)
    b = rng.standard_normal((k, n)).astype(F32)
    want = reference._bf16_product(a, b, MIRROR[tier])
    for ta in (False, True):
        aa = np.ascontiguousarray(a.T) if ta else a
        got = kernels.gemm(aa, b, trans_a=ta, compute_dtype="bfloat16")
        np.testing.assert_array_equal(_bits(got), _bits(want), err_msg=f"trans_a {ta}")


def test_reference_gemm_is_the_amx_mirror():
    op_a, op_b, _, _ = _operands(17, 33, 10, False, False)
    np.testing.assert_array_equal(
        _bits(reference.gemm(op_a, op_b, compute_dtype="bfloat16")),
        _bits(reference._bf16_product(op_a, op_b, "amx")))


def test_bfmmla_mirror_hand_worked_cases():
    # Arm's BFDotAdd chain, c = c + (a0 b0 + a1 b1) with both sums rounded to
    # odd, through the whole product (a row of 4 K values, two pairs, times
    # a column): each case's bits differ from nearest-even or fused sums.
    # The same cases at the C level, with denormal and overflow addends:
    # tests/c/test_kernels.c (check_bf16_arm_cases).
    def f(*values):
        return np.array(values, F32)
    cases = [
        # (1 + 2^-22) + 2^-24 is a tie: to odd, ..03 (nearest even: ..02)
        (f(1, 2**-22, 1, 0), f(1, 1, 2**-24, 0), 0x3F800003),
        # 1 + 2^-30: inexact, 1 with its last bit set (nearest: 1)
        (f(1, 0, 1, 0), f(1, 0, 2**-30, 0), 0x3F800001),
        # -1 + (1 + 2^-30): the pair's sum rounds first (to 1 + 2^-23)
        (f(1, 0, 1, 2**-30), f(-1, 0, 1, 1), 0x34000000),
        # 2^127 * 4 overflows to inf
        (f(2**127, 0, 0, 0), f(4, 0, 0, 0), 0x7F800000),
        # 2^-125 - 2^-125 (1 - 2^-8) = 2^-133 is flushed to +0
        (f(2**-125, 0, -(2**-125), 0), f(1, 0, 1 - 2**-8, 0), 0x00000000),
        # a negative NaN with a payload: the default NaN
        (f(1, 0, 0, 0), np.array([0xFFC12345, 0, 0, 0], np.uint32).view(F32), 0x7FC00000),
        # -0 * 1 + 0 * 0 is +0 (a -0 survives only a sum of two -0)
        (f(-0.0, 0, 0, 0), f(1, 0, 0, 0), 0x00000000),
    ]
    default = _kernels._runtime_info()["bf16_tier"]
    try:
        assert _kernels._bf16_init("bfmmla_emulated")[0] == "bfmmla_emulated"
        for a, b, want in cases:
            mirror = reference._bf16_product(a[None, :], b[:, None], "bfmmla")
            got = kernels.gemm(a[None, :], b[:, None], compute_dtype="bfloat16")
            assert _bits(mirror)[0, 0] == want, (a, b, hex(_bits(mirror)[0, 0]))
            assert _bits(got)[0, 0] == want, (a, b, hex(_bits(got)[0, 0]))
    finally:
        _kernels._bf16_init(os.environ.get("FASTMLP_BF16") or None)
    assert _kernels._runtime_info()["bf16_tier"] == default


def test_bfmmla_order_is_its_own():
    # The bfmmla mirror is not the amx one (the test above tells them apart
    # value by value; here on ordinary data, in the last bits only).
    op_a, op_b, _, _ = _operands(17, 784, 129, False, False)
    arm = reference._bf16_product(op_a, op_b, "bfmmla")
    amx = reference._bf16_product(op_a, op_b, "amx")
    assert not np.array_equal(_bits(arm), _bits(amx))
    np.testing.assert_allclose(arm, amx, rtol=1e-4, atol=1e-4)


ISA_ORDER = ("generic", "avx2", "avx512")


def _isa_honoured(isa):
    """The kernel set FASTMLP_ISA=isa gives here: isa, or the CPU's best if
    the CPU cannot run isa (an AVX2-only CPU runs avx2 for "avx512")."""
    best = _kernels._runtime_info()["isa_best"]
    if best in ISA_ORDER and ISA_ORDER.index(isa) > ISA_ORDER.index(best):
        return best
    return isa


@pytest.mark.parametrize("isa", ["avx2", "generic"])
def test_emulated_tier_on_narrower_instruction_sets(isa):
    # The emulated tier's AVX2 and portable C builds: same bits as the mirror
    # (on a CPU without AVX2, FASTMLP_ISA=avx2 runs the generic set).
    code = f"""
        import itertools, sys, numpy as np, fastmlp
        from fastmlp import _kernels, kernels, reference
        info = _kernels._runtime_info()
        assert info["isa"] == "{_isa_honoured(isa)}" and info["bf16_tier"] == "emulated", info
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        import test_bf16  # the portable packing: same rounding and layouts
        test_bf16._check_rounding_in_every_packing(test_bf16._rounding_inputs())
        rng = np.random.default_rng(5)
        for m, k, n in [(1, 10, 10), (17, 33, 129), (200, 784, 10), (33, 100, 40)]:
            a = rng.standard_normal((m, k)).astype(np.float32)
            b = rng.standard_normal((k, n)).astype(np.float32)
            want = reference._bf16_product(a, b, "amx").view(np.uint32)
            for ta, tb in itertools.product([0, 1], [0, 1]):
                aa = np.ascontiguousarray(a.T) if ta else a
                bb = np.ascontiguousarray(b.T) if tb else b
                got = kernels.gemm(aa, bb, trans_a=ta, trans_b=tb, compute_dtype="bfloat16")
                assert np.array_equal(got.view(np.uint32), want), (m, k, n, ta, tb)
        print("ok")
    """
    proc = _run(code, FASTMLP_ISA=isa)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def _awkward_operands(m, k, n, seed):
    """Values spanning many binades, exact zeros, tiny values whose products
    and partial sums are float32 denormals (flushed), and cancellation."""
    rng = np.random.default_rng(seed)
    def block(shape):
        x = rng.standard_normal(shape) * np.exp2(rng.integers(-70, 20, size=shape))
        x[rng.random(shape) < 0.1] = 0.0
        x[rng.random(shape) < 0.05] *= -1e-38
        return x.astype(F32)
    return block((m, k)), block((k, n))


@pytest.mark.parametrize("tier", TIERS, indirect=True)
def test_tier_matches_mirror_on_awkward_values(tier):
    for seed, (m, k, n) in enumerate([(17, 33, 129), (40, 200, 20)]):
        a, b = _awkward_operands(m, k, n, seed)
        got = kernels.gemm(a, b, compute_dtype="bfloat16")
        want = reference._bf16_product(a, b, MIRROR[tier])
        np.testing.assert_array_equal(_bits(got), _bits(want))


@pytest.mark.parametrize("tier", [t for t in TIERS if MIRROR[t] == "amx"], indirect=True)
def test_amx_and_emulated_share_bits_on_awkward_values(tier):
    # The claim that matters for portability: the tier a laptop without AMX
    # runs (emulated) gives Sapphire Rapids' AMX bits (avx512_bf16 has its
    # own order, held against its own mirror above).
    a, b = _awkward_operands(64, 96, 48, 7)
    want = reference._bf16_product(a, b, "amx")
    np.testing.assert_array_equal(_bits(kernels.gemm(a, b, compute_dtype="bfloat16")),
                                  _bits(want))


# ---------------------------------------------------------------------------
# Error bound against float64
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("tier", TIERS, indirect=True)
@pytest.mark.parametrize("m,k,n", [(17, 10, 129), (200, 784, 10), (1, 33, 129)])
def test_error_bound_against_float64(tier, m, k, n):
    # Compared with the exact (float64) product of the *rounded* operands:
    # every bf16 x bf16 product is exact in float32, so the only errors are
    # the float32 roundings of the sums. A product's value passes through at
    # most k of them on any tier (amx/emulated: <= 15 in its chain, 1 for
    # even + odd, ceil(k/32) - 1 in the chunk chain; avx512_bf16: k - 1 in
    # its one chain), each of relative error <= u = 2^-24, so the classic
    # bound for recursive summation gives
    #   |c - exact| <= gamma_k * sum_p |a_ip b_pj|,  gamma_k = k u / (1 - k u),
    # i.e. k * 2^-24 * sum |a| |b| to first order. (Flushed denormals would
    # add up to 2^-126 each; these operands make none.) bfmmla rounds to odd,
    # an error of up to a whole unit in the last place (2u), twice per K
    # pair: the same count of roundings, twice the unit.
    _, _, a, b = _operands(m, k, n, False, False)
    ra = reference._round_bfloat16(a).astype(np.float64)
    rb = reference._round_bfloat16(b).astype(np.float64)
    exact = ra @ rb
    u = 2.0**-24 * (2 if MIRROR[tier] == "bfmmla" else 1)
    bound = k * u / (1 - k * u) * (np.abs(ra) @ np.abs(rb))
    got = kernels.gemm(a, b, compute_dtype="bfloat16").astype(np.float64)
    assert np.all(np.abs(got - exact) <= bound)
    # and the bound is not vacuous: the error is really there, and small.
    assert np.abs(got - exact).max() > 0


# ---------------------------------------------------------------------------
# The output stage, the packed-B route, threads, degenerate sizes
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("tier", TIERS, indirect=True)
def test_gemm_alpha_beta_out(tier):
    op_a, op_b, a, b = _operands(17, 33, 129, False, False)
    c0 = np.random.default_rng(3).standard_normal((17, 129)).astype(F32)
    for alpha, beta in [(1.0, 1.0), (0.5, -2.0), (-3.0, 0.0)]:
        got = kernels.gemm(a, b, alpha=alpha, beta=beta, out=c0.copy(), compute_dtype="bfloat16")
        prod = reference._bf16_product(op_a, op_b, MIRROR[tier])
        want = F32(alpha) * prod + (F32(beta) * c0 if beta != 0 else 0)
        np.testing.assert_array_equal(_bits(got), _bits(want.astype(F32)))


@pytest.mark.parametrize("tier", TIERS, indirect=True)
@pytest.mark.parametrize("act", ["identity", "relu", "tanh", "logistic", "softmax"])
def test_dense_bias_activation_in_float32(tier, act):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((200, 256)).astype(F32)
    w = rng.standard_normal((256, 40)).astype(F32) * F32(0.1)
    bias = rng.standard_normal(40).astype(F32)
    got = kernels.dense(x, w, bias, act, compute_dtype="bfloat16")
    z = reference._bf16_product(x, w, MIRROR[tier]) + bias
    want = reference.activation(z, act)
    if act in ("identity", "relu"):  # applied in registers: exactly the mirror's
        np.testing.assert_array_equal(_bits(got), _bits(want))
    else:  # the float32 activation kernels, within their own tolerance
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7)
    if act in ("identity", "relu"):  # reference.dense is the amx order's mirror
        np.testing.assert_array_equal(
            _bits(reference.dense(x, w, bias, act, compute_dtype="bfloat16")),
            _bits(want) if MIRROR[tier] == "amx" else _bits(
                reference.activation(reference._bf16_product(x, w, "amx") + bias, act)))


@pytest.mark.parametrize("tier", TIERS, indirect=True)
@pytest.mark.parametrize("use_scratch", [False, True])
def test_prepacked_b_route_same_bits(tier, use_scratch):
    # The engine's route: B packed once (fm_bf16_pack_b), then products with
    # b_packed, split over threads by whole packed panels.
    for m, k, n, ta in [(200, 784, 256, False), (784, 200, 129, True), (17, 33, 10, False)]:
        rng = np.random.default_rng(m + k + n)
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(F32)
        b = rng.standard_normal((k, n)).astype(F32)
        packed = _kernels._bf16_pack_b(b).reshape(-1)
        got = _kernels._bf16_gemm_prepacked(a, packed, n, trans_a=ta, use_scratch=use_scratch)
        want = kernels.gemm(a, b, trans_a=ta, compute_dtype="bfloat16")
        np.testing.assert_array_equal(_bits(got), _bits(want))


@pytest.mark.parametrize("tier", TIERS, indirect=True)
def test_thread_count_does_not_change_bits(tier):
    a, b = _awkward_operands(300, 200, 300, 9)
    try:
        fastmlp.set_config(n_threads=1)
        one = kernels.gemm(a, b, compute_dtype="bfloat16")
        fastmlp.set_config(n_threads=2)
        two = kernels.gemm(a, b, compute_dtype="bfloat16")
    finally:
        fastmlp.set_config(n_threads=0)
    np.testing.assert_array_equal(_bits(one), _bits(two))


@pytest.mark.parametrize("tier", TIERS, indirect=True)
def test_degenerate_sizes(tier):
    c0 = np.ones((3, 4), F32)
    bias = np.arange(4, dtype=F32)
    # k == 0: no product, beta * out (+ bias) as in float32
    got = kernels.gemm(np.zeros((3, 0), F32), np.zeros((0, 4), F32), beta=2.0, out=c0.copy(),
                       compute_dtype="bfloat16")
    np.testing.assert_array_equal(got, 2 * c0)
    got = kernels.dense(np.zeros((3, 0), F32), np.zeros((0, 4), F32), bias,
                        compute_dtype="bfloat16")
    np.testing.assert_array_equal(got, np.broadcast_to(bias, (3, 4)))
    assert kernels.gemm(np.zeros((0, 5), F32), np.zeros((5, 4), F32),
                        compute_dtype="bfloat16").shape == (0, 4)
    # alpha == 0 never multiplies (NaN operands do not leak)
    got = kernels.gemm(np.full((3, 5), np.nan, F32), np.ones((5, 4), F32), alpha=0.0,
                       beta=1.0, out=c0.copy(), compute_dtype="bfloat16")
    np.testing.assert_array_equal(got, c0)


def test_compute_dtype_validation():
    a = np.ones((2, 3))
    with pytest.raises(TypeError, match="float32"):
        kernels.gemm(a, a.T, compute_dtype="bfloat16")
    with pytest.raises(TypeError, match="float32"):
        reference.gemm(a, a.T, compute_dtype="bfloat16")
    with pytest.raises(ValueError, match="compute_dtype"):
        kernels.gemm(a, a.T, compute_dtype="float16")
    with pytest.raises(ValueError, match="compute_dtype"):
        kernels.dense(a.astype(F32), a.T.astype(F32), None, compute_dtype="int8")
    np.testing.assert_array_equal(kernels.gemm(a, a.T, compute_dtype="float64"), a @ a.T)


# ---------------------------------------------------------------------------
# Tier selection, FASTMLP_BF16, the probe's guard, fork
# ---------------------------------------------------------------------------

_SHOW = ("import fastmlp; from fastmlp import _kernels; "
         "i = _kernels._runtime_info(); print(i['bf16_tier']); print(i['bf16_reason'])")


@pytest.mark.parametrize("force", ["amx", "avx512_bf16", "bfmmla", "emulated", "bfmmla_emulated",
                                   "bogus", ""])
def test_fastmlp_bf16_narrows_never_widens(force):
    proc = _run(_SHOW, FASTMLP_BF16=force)
    assert proc.returncode == 0, proc.stderr
    tier, reason = proc.stdout.split("\n")[:2]
    if force in EXPLICIT:  # by name, on any CPU
        assert tier == force
        assert reason == f"{force}: chosen by FASTMLP_BF16 (BFMMLA's arithmetic in C)"
        return
    if force in TIER_ORDER:
        allowed = TIER_ORDER[TIER_ORDER.index(force):]
        # the fastest allowed tier this machine has
        assert tier == next(t for t in allowed if t in TIERS)
        for faster in TIER_ORDER[:TIER_ORDER.index(force)]:
            assert (f"{faster}: narrowed by FASTMLP_BF16" in reason) == (faster in NAMED)
    else:  # unknown or empty: the machine's best
        assert tier == TIERS[0]
        assert "FASTMLP_BF16" not in reason
    if force not in ("avx512_bf16", "bfmmla", "emulated"):  # (there FASTMLP_BF16 is named first)
        _check_isa_reason(reason)


def _check_isa_reason(reason):
    """FASTMLP_ISA is blamed only when it narrowed the kernel set: on a CPU
    without AVX-512 the reason is the CPU (issues 18, 21: an AVX2-only CPU
    was told "narrowed below avx512 (FASTMLP_ISA)" with no FASTMLP_ISA)."""
    info = _kernels._runtime_info()  # this process: the same FASTMLP_ISA
    narrowed = info["isa"] != info["isa_best"]
    assert ("FASTMLP_ISA" in reason) == (narrowed and info["isa_best"] == "avx512"), reason
    if info["isa_best"] != "avx512":
        assert "avx512_bf16: not" in reason and "narrowed below" not in reason, reason


def test_show_config_prints_the_tier_and_why():
    import io
    buf = io.StringIO()
    fastmlp.show_config(file=buf)
    line = [ln for ln in buf.getvalue().splitlines() if "bfloat16 tier" in ln]
    assert len(line) == 1 and TIERS[0] in line[0]
    proc = _run("import fastmlp; fastmlp.show_config()", FASTMLP_BF16="emulated")
    assert "bfloat16 tier   : emulated (" in proc.stdout
    if "amx" in TIERS:
        assert "amx: narrowed by FASTMLP_BF16" in proc.stdout


def test_instruction_set_narrowed_below_avx512_uses_emulation():
    proc = _run(_SHOW, FASTMLP_ISA="avx2")
    tier, reason = proc.stdout.split("\n")[:2]
    assert tier == "emulated"
    best = _kernels._runtime_info()["isa_best"]
    # Blamed on FASTMLP_ISA only where the CPU has AVX-512; else on the CPU.
    assert ("FASTMLP_ISA" in reason) == (best == "avx512"), reason
    if best != "avx512":
        assert "lacks" in reason or "not supported by this CPU" in reason, reason


def test_isa_best_is_the_default_choice():
    # Without FASTMLP_ISA the kernel set is the widest the CPU runs, and
    # FASTMLP_ISA never widens it.
    for forced in ("", "generic", "avx2", "avx512", "bogus"):
        proc = _run("from fastmlp import _kernels; i = _kernels._runtime_info(); "
                    "print(i['isa'], i['isa_best'])", FASTMLP_ISA=forced)
        isa, best = proc.stdout.split()
        assert best == _kernels._runtime_info()["isa_best"]
        want = _isa_honoured(forced) if forced in ISA_ORDER else best
        assert isa == want, (forced, isa, best)


@pytest.mark.skipif(sys.platform == "win32",
                    reason="no SIGILL guard on Windows (AMX is Linux-only)")
def test_probe_guard_survives_sigill_and_keeps_faulthandler():
    # The AMX probe runs under a SIGILL guard: a refused instruction means the
    # next tier, never a crash. Here the guard runs an undefined instruction
    # (ud2 on x86, udf #0 on AArch64, where __builtin_trap's brk would raise
    # SIGTRAP instead and kill the process) and must return -1, run a
    # harmless function normally, and then give SIGILL back to faulthandler
    # (pytest's), whose report must appear. tests/c/test_kernels.c runs the
    # same guard on udf under qemu-aarch64 (scripts/cross_aarch64.sh).
    bad, good, ran = _kernels._bf16_guard_selftest()
    assert (bad, good, ran) == (-1, 0, True)
    code = """
        import faulthandler, os, signal, sys
        faulthandler.enable()
        from fastmlp import _kernels
        print(_kernels._bf16_guard_selftest(), flush=True)
        os.kill(os.getpid(), signal.SIGILL)
    """
    proc = _run(code)
    assert proc.stdout.strip() == "(-1, 0, True)"
    assert "Fatal Python error" in proc.stderr and "Illegal instruction" in proc.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_after_bf16_products():
    # Tile permission and state are per process: a forked child (e.g. a
    # joblib/multiprocessing worker) computes the same bits.
    a, b = _awkward_operands(64, 100, 48, 3)
    parent = kernels.gemm(a, b, compute_dtype="bfloat16")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            child = kernels.gemm(a, b, compute_dtype="bfloat16")
            os.write(w, b"1" if np.array_equal(_bits(child), _bits(parent)) else b"0")
        finally:
            os._exit(0)
    os.close(w)
    result = os.read(r, 1)
    os.waitpid(pid, 0)
    assert result == b"1"
