/*
 * The emulated bf16 tier's kernel in float vector code, written once and
 * compiled per instruction set (gemm_bf16_avx2.c, gemm_bf16_avx512.c).
 *
 * acc (32 x 32, row stride 32) = (mt A panels) @ (nt B panels) over kq
 * chunks, in packed layouts (bf16.h), with exactly TDPBF16PS's operations:
 * per chunk two chains e (even K) and o (odd K) of fused multiply-adds from
 * +0, then c = c + (e + o); MXCSR's FTZ and DAZ are set for the product, as
 * the AMX unit flushes (and restored before the float output stage). A
 * bf16 value is the top half of a float: a B row of 16 (even, odd) pairs is
 * one 512-bit load, its even values (x << 16) and odd ones (x & 0xffff0000)
 * two integer operations away.
 *
 * The including file defines PREFIX, VW (float lanes), RG (rows per pass),
 * VEC / VINT, VLOADI(p) (VW 32-bit pairs), VEVEN(v), VODD(v), VSET1(x),
 * VZERO(), VFMA(a, b, c) = a * b + c, VADD, VLOAD, VSTORE.
 */
#include <immintrin.h>

#define FM_CAT_(a, b) a##b
#define FM_CAT(a, b) FM_CAT_(a, b)
#define FM_NAME(x) FM_CAT(PREFIX, x)

_Static_assert(FM_BF16_PANEL % VW == 0 && FM_BF16_PANEL % RG == 0, "whole vectors and row groups");

static void FM_NAME(block)(int64_t kq, int64_t panel, const uint16_t *a, const uint16_t *b, int mt,
                           int nt, int accumulate, float *acc)
{
    const unsigned csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040u); /* FTZ | DAZ */
    for (int pi = 0; pi < mt; pi++)
        for (int r0 = 0; r0 < FM_BF16_PANEL; r0 += RG)
            for (int jv = 0; jv < nt * FM_BF16_PANEL; jv += VW) {
                const uint16_t *ap = a + pi * panel + r0 * 32;
                /* column jv: panel jv / 16, pairs (jv % 16) .. of each row */
                const uint16_t *bp = b + jv / FM_BF16_PANEL * panel + jv % FM_BF16_PANEL * 2;
                VEC c[RG];
#pragma GCC unroll 8
                for (int r = 0; r < RG; r++)
                    c[r] = accumulate
                               ? VLOAD(acc + (pi * FM_BF16_PANEL + r0 + r) * FM_BF16_BLOCK + jv)
                               : VZERO();
                for (int64_t q = 0; q < kq; q++) {
                    VEC e[RG], o[RG];
#pragma GCC unroll 8
                    for (int r = 0; r < RG; r++)
                        e[r] = o[r] = VZERO();
                    for (int p = 0; p < 16; p++) {
                        const VINT bv = VLOADI(bp + p * 32);
                        const VEC be = VEVEN(bv), bo = VODD(bv);
#pragma GCC unroll 8
                        for (int r = 0; r < RG; r++) {
                            uint32_t pair;
                            memcpy(&pair, ap + r * 32 + 2 * p, sizeof pair);
                            const uint32_t ue = pair << 16, uo = pair & 0xffff0000u;
                            float fe, fo;
                            memcpy(&fe, &ue, sizeof fe);
                            memcpy(&fo, &uo, sizeof fo);
                            e[r] = VFMA(VSET1(fe), be, e[r]);
                            o[r] = VFMA(VSET1(fo), bo, o[r]);
                        }
                    }
#pragma GCC unroll 8
                    for (int r = 0; r < RG; r++)
                        c[r] = VADD(c[r], VADD(e[r], o[r]));
                    ap += FM_BF16_CHUNK_ELEMS;
                    bp += FM_BF16_CHUNK_ELEMS;
                }
#pragma GCC unroll 8
                for (int r = 0; r < RG; r++)
                    VSTORE(acc + (pi * FM_BF16_PANEL + r0 + r) * FM_BF16_BLOCK + jv, c[r]);
            }
    _mm_setcsr(csr);
}

#undef FM_NAME
#undef FM_CAT
#undef FM_CAT_
#undef PREFIX
#undef VW
#undef RG
#undef VEC
#undef VINT
#undef VLOADI
#undef VEVEN
#undef VODD
#undef VSET1
#undef VZERO
#undef VFMA
#undef VADD
#undef VLOAD
#undef VSTORE
