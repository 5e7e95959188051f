/*
 * The arithmetic of Arm's BFMMLA / BFDOT (FEAT_BF16, Armv8.6) in portable
 * C, bit for bit: the exact emulation behind the "bfmmla" tier, compiled on
 * every target (no flags). It is the test oracle of the hardware tier
 * (tests/c/test_kernels.c runs both under qemu-aarch64 and compares bits)
 * and a tier of its own, "bfmmla_emulated" (FASTMLP_BF16=bfmmla_emulated on
 * any CPU: an Arm BF16 machine's bits elsewhere).
 *
 * Which semantics: the Arm ARM's BFDotAdd with FEAT_EBF16 absent or
 * FPCR.EBF == 0 ("standard BFloat16 behaviour", the only one of Armv8.6
 * CPUs: Neoverse V1/V2/N2, Apple M2 and later...; the bfmmla tier clears
 * FPCR.EBF around its products, so an Armv9.2+ CPU with EBF16 computes the
 * same). Per BFDotAdd(c, a0, a1, b0, b1):
 *     c = BFAdd(c, BFAdd(BFMul(a0, b0), BFMul(a1, b1)))
 * each BFMul and BFAdd rounded by BFRound: round to odd (truncate, then set
 * the last bit if anything was cut off; an overflow becomes a signed
 * infinity only at |x| >= 2^128), every input and result below 2^-126 a
 * zero of its sign (FPCR.FZ as 1, judged on the unrounded value), every
 * NaN the default NaN (0x7fc00000), an exact zero sum +0 unless both terms
 * are -0, no exception flags. Products of two bf16 are exact (16 bits), so
 * only range matters for BFMul; the two sums round: not fused, not the IEEE
 * nearest-even of the x86 tiers.
 *
 * BFMMLA (2 x 4 by 4 x 2, per result c[i][j]) is BFDotAdd over the K pairs
 * (0, 1) then (2, 3); BFDOT one BFDotAdd per lane: both reduce to one chain
 * per element of C over the K pairs in order, from +0 (or the stored chain
 * value when a K range continues), the 32-K padding of the packed layout
 * included (a zero pair turns a -0 chain into +0, as on the hardware).
 */
#include <math.h>
#include <string.h>
#include "internal.h"

#define DEFAULT_NAN 0x7fc00000u

static inline uint32_t bits_of(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline float float_of(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* BFRound of a double that is the true value rounded to odd at 53 bits
 * (round to odd at 24 bits of that is round to odd at 24 bits of the true
 * value: the cut-off bits' "any set" survives in the 53-bit last bit).
 * x is nonzero, finite and never a double denormal here (sums and
 * products of floats >= 2^-149 apart). */
static float round_odd(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    const uint32_t sign = (uint32_t)(u >> 63) << 31;
    const int e = (int)((u >> 52) & 0x7ff) - 1023;
    if (e < -126)
        return float_of(sign); /* flushed to a signed zero */
    if (e >= 128)
        return float_of(sign | 0x7f800000u); /* overflow: a signed infinity */
    const uint64_t frac = u & ((1ull << 52) - 1);
    uint32_t m = (uint32_t)(frac >> 29);
    if (frac & ((1ull << 29) - 1))
        m |= 1u; /* inexact: the last bit odd */
    return float_of(sign | (uint32_t)(e + 127) << 23 | m);
}

/* Input flush (FPCR.FZ): a float denormal is a zero of its sign. */
static inline float flush_in(float x)
{
    const uint32_t u = bits_of(x);
    return (u & 0x7f800000u) == 0 ? float_of(u & 0x80000000u) : x;
}

/* BFAdd(x, y) for inputs already flushed. */
static float bf_add(float x, float y)
{
    if (isnan(x) || isnan(y))
        return float_of(DEFAULT_NAN);
    if (isinf(x) || isinf(y)) {
        if (isinf(x) && isinf(y) && signbit(x) != signbit(y))
            return float_of(DEFAULT_NAN);
        return isinf(x) ? x : y;
    }
    if (x == 0.0f && y == 0.0f)
        return signbit(x) && signbit(y) ? -0.0f : 0.0f;
    /* s + t == x + y exactly (TwoSum in double, round to nearest); then the
     * 53-bit round to odd of it: s if exact, else s truncated toward zero
     * (one step down in magnitude when t points inward) with its last bit
     * set. */
    const double dx = x, dy = y;
    const double s = dx + dy;
    if (s == 0.0)
        return 0.0f; /* exact cancellation: +0 */
    const double yy = s - dx;
    const double t = (dx - (s - yy)) + (dy - yy);
    double z = s;
    if (t != 0.0) {
        uint64_t u;
        memcpy(&u, &s, sizeof u);
        if ((t < 0.0) != (s < 0.0))
            u -= 1; /* toward zero (also across a power of two) */
        u |= 1;
        memcpy(&z, &u, sizeof z);
    }
    return round_odd(z);
}

/* BFMul of two bfloat16: exact but for range (flush below 2^-126, infinity
 * from 2^128), denormal inputs zero, NaN and inf * 0 the default NaN. */
static float bf_mul(uint16_t a, uint16_t b)
{
    const float x = flush_in(fm_f32_from_bf16(a)), y = flush_in(fm_f32_from_bf16(b));
    if (isnan(x) || isnan(y) || (isinf(x) && y == 0.0f) || (isinf(y) && x == 0.0f))
        return float_of(DEFAULT_NAN);
    if (isinf(x) || isinf(y) || x == 0.0f || y == 0.0f)
        return x * y;                        /* a signed infinity or zero, exactly */
    return round_odd((double)x * (double)y); /* the exact product */
}

float fm_bf16_dot_add_arm(float c, uint16_t a0, uint16_t a1, uint16_t b0, uint16_t b1)
{
    return bf_add(flush_in(c), bf_add(bf_mul(a0, b0), bf_mul(a1, b1)));
}

/* acc (32 x 32, row stride 32) = (mt A panels) @ (nt B panels) over kq
 * chunks of the packed layouts (bf16.h): per element one BFDotAdd chain
 * over the K pairs in order. */
static void bfmmla_emulated_block(int64_t kq, int64_t panel, const uint16_t *a, const uint16_t *b,
                                  int mt, int nt, int accumulate, float *acc)
{
    for (int i = 0; i < FM_BF16_PANEL * mt; i++)
        for (int j = 0; j < FM_BF16_PANEL * nt; j++) {
            const uint16_t *ap = a + i / FM_BF16_PANEL * panel + i % FM_BF16_PANEL * 32;
            const uint16_t *bp = b + j / FM_BF16_PANEL * panel + j % FM_BF16_PANEL * 2;
            float c = accumulate ? acc[i * FM_BF16_BLOCK + j] : 0.0f;
            for (int64_t q = 0; q < kq; q++) {
                for (int p = 0; p < 16; p++)
                    c = fm_bf16_dot_add_arm(c, ap[2 * p], ap[2 * p + 1], bp[p * 32],
                                            bp[p * 32 + 1]);
                ap += FM_BF16_CHUNK_ELEMS;
                bp += FM_BF16_CHUNK_ELEMS;
            }
            acc[i * FM_BF16_BLOCK + j] = c;
        }
}

const fm_bf16_tier fm_bf16_bfmmla_emulated = {
    "bfmmla_emulated", NULL, bfmmla_emulated_block, NULL, NULL, NULL};
