/*
 * The "bfmmla" bf16 tier: Arm's BFMMLA (FEAT_BF16, Armv8.6; compiled with
 * -march=armv8.2-a+bf16 for aarch64 only, chosen at run time when Linux's
 * HWCAP2_BF16 or macOS's hw.optional.arm.FEAT_BF16 says the CPU has it).
 *
 * BFMMLA vd.4s, vn.8h, vm.8h: vd (2 x 2 floats, [c00 c01 c10 c11]) +=
 * vn (2 rows x 4 K) @ vm^T (2 columns x 4 K), each element one BFDotAdd
 * over K pairs (0, 1) then (2, 3): the arithmetic of
 * gemm_bf16_bfmmla_emulated.c (round to odd, flush to zero, default NaN;
 * FPCR.EBF is cleared around the product, as it selects another rounding
 * on CPUs with FEAT_EBF16), which computes the same bits on any CPU.
 *
 * Register tile: 8 rows x 8 columns of C per pass, 16 accumulators of
 * 2 x 2; per 4 K values, A as 4 row pairs (each two rows' 4 K values, two
 * 64-bit loads from the packed rows) and B as 4 column pairs (zip of
 * 32-bit lanes of two packed pair rows: the VNNI layout's (even, odd)
 * pairs of 4 columns), 16 BFMMLA (256 multiply-adds); 24 of the 32 vector
 * registers, no spill in the loop.
 */
#include <arm_neon.h>
#include <string.h>
#include "internal.h"

#define FPCR_EBF (1ull << 13)

static inline uint64_t get_fpcr(void)
{
    uint64_t v;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(v));
    return v;
}

static inline void set_fpcr(uint64_t v) { __asm__ __volatile__("msr fpcr, %0" : : "r"(v)); }

static void bfmmla_block(int64_t kq, int64_t panel, const uint16_t *a, const uint16_t *b, int mt,
                         int nt, int accumulate, float *acc)
{
    const uint64_t fpcr = get_fpcr();
    if (fpcr & FPCR_EBF)
        set_fpcr(fpcr & ~FPCR_EBF);
    for (int pi = 0; pi < mt; pi++)
        for (int r0 = 0; r0 < FM_BF16_PANEL; r0 += 8)
            for (int jv = 0; jv < nt * FM_BF16_PANEL; jv += 8) {
                float32x4_t c[4][4];
#pragma GCC unroll 4
                for (int rp = 0; rp < 4; rp++)
#pragma GCC unroll 4
                    for (int cp = 0; cp < 4; cp++) {
                        const float *row =
                            acc + (pi * FM_BF16_PANEL + r0 + 2 * rp) * FM_BF16_BLOCK + jv + 2 * cp;
                        c[rp][cp] = accumulate
                                        ? vcombine_f32(vld1_f32(row), vld1_f32(row + FM_BF16_BLOCK))
                                        : vdupq_n_f32(0.0f);
                    }
                const uint16_t *ap = a + pi * panel + r0 * 32;
                /* columns jv..jv+7: panel jv / 16, pairs of column jv % 16 on */
                const uint16_t *bp = b + jv / FM_BF16_PANEL * panel + jv % FM_BF16_PANEL * 2;
                for (int64_t q = 0; q < kq; q++) {
                    for (int kk = 0; kk < FM_BF16_KCHUNK; kk += 8) {
#pragma GCC unroll 2
                        for (int h = 0; h < 2; h++) {
                            const int p = kk / 2 + 2 * h; /* pair rows p, p + 1 */
                            bfloat16x8_t av[4], bv[4];
#pragma GCC unroll 4
                            for (int rp = 0; rp < 4; rp++) /* rows 2rp, 2rp+1: K 4 values */
                                av[rp] = vreinterpretq_bf16_u64(vcombine_u64(
                                    vld1_u64((const uint64_t *)(const void *)(ap + 2 * rp * 32 +
                                                                              kk + 4 * h)),
                                    vld1_u64((const uint64_t *)(const void *)(ap +
                                                                              (2 * rp + 1) * 32 +
                                                                              kk + 4 * h))));
#pragma GCC unroll 2
                            for (int cg = 0; cg < 2; cg++) {
                                const uint32x4_t x = vld1q_u32(
                                    (const uint32_t *)(const void *)(bp + p * 32 + cg * 8));
                                const uint32x4_t y = vld1q_u32(
                                    (const uint32_t *)(const void *)(bp + (p + 1) * 32 + cg * 8));
                                bv[2 * cg] = vreinterpretq_bf16_u32(vzip1q_u32(x, y));
                                bv[2 * cg + 1] = vreinterpretq_bf16_u32(vzip2q_u32(x, y));
                            }
#pragma GCC unroll 4
                            for (int rp = 0; rp < 4; rp++)
#pragma GCC unroll 4
                                for (int cp = 0; cp < 4; cp++)
                                    c[rp][cp] = vbfmmlaq_f32(c[rp][cp], av[rp], bv[cp]);
                        }
                    }
                    ap += FM_BF16_CHUNK_ELEMS;
                    bp += FM_BF16_CHUNK_ELEMS;
                }
#pragma GCC unroll 4
                for (int rp = 0; rp < 4; rp++)
#pragma GCC unroll 4
                    for (int cp = 0; cp < 4; cp++) {
                        float *row =
                            acc + (pi * FM_BF16_PANEL + r0 + 2 * rp) * FM_BF16_BLOCK + jv + 2 * cp;
                        vst1_f32(row, vget_low_f32(c[rp][cp]));
                        vst1_f32(row + FM_BF16_BLOCK, vget_high_f32(c[rp][cp]));
                    }
            }
    if (fpcr & FPCR_EBF)
        set_fpcr(fpcr);
}

const fm_bf16_tier fm_bf16_bfmmla = {"bfmmla", NULL, bfmmla_block, NULL, NULL, NULL};

void fm_bfmmla_once(const float c[4], const uint16_t a[8], const uint16_t b[8], float out[4])
{
    const uint64_t fpcr = get_fpcr();
    if (fpcr & FPCR_EBF)
        set_fpcr(fpcr & ~FPCR_EBF);
    const bfloat16x8_t av = vreinterpretq_bf16_u16(vld1q_u16(a));
    const bfloat16x8_t bv = vreinterpretq_bf16_u16(vld1q_u16(b));
    vst1q_f32(out, vbfmmlaq_f32(vld1q_f32(c), av, bv));
    if (fpcr & FPCR_EBF)
        set_fpcr(fpcr);
}
