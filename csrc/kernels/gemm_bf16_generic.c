/*
 * The emulated bf16 tier in portable C (no instruction-set flags): the
 * arithmetic of TDPBF16PS (bf16.h) for any CPU, used when the kernel set
 * is the generic one.
 */
#include <float.h>
#include <math.h>
#include <string.h>
#include "internal.h"
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#include <xmmintrin.h> /* _mm_getcsr / _mm_setcsr: SSE, in every x86-64 */
#define FM_HAVE_MXCSR 1
#endif

/* ------------------------------------------------------------------------ */
/* The emulated tier in portable C                                          */
/* ------------------------------------------------------------------------ */

/* fma(a, b, c) in float with the result flushed if denormal. a * b is a
 * product of two bfloat16 (16 significant bits), exact in double; the sum
 * of it and a float rounded to double and then to float equals the float
 * fma (double rounding is harmless when the wider format has >= 2 * 24 + 2
 * bits). On x86 the caller sets MXCSR's FTZ/DAZ, which flushes the
 * conversion exactly as the hardware does; elsewhere the flush is explicit
 * (it can differ from x86's in a 2^-150-wide window below 2^-126). */
static inline float fma_ftz(float a, float b, float c)
{
    float r = (float)((double)a * (double)b + (double)c);
#ifndef FM_HAVE_MXCSR
    if (fabsf(r) < FLT_MIN)
        r = copysignf(0.0f, r);
#endif
    return r;
}

static inline float add_ftz(float a, float b)
{
    float r = a + b;
#ifndef FM_HAVE_MXCSR
    if (fabsf(r) < FLT_MIN)
        r = copysignf(0.0f, r);
#endif
    return r;
}

static void emulated_generic_block(int64_t kq, int64_t panel, const uint16_t *a, const uint16_t *b,
                                   int mt, int nt, int accumulate, float *acc)
{
#ifdef FM_HAVE_MXCSR
    const unsigned csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040u); /* FTZ | DAZ */
#endif
    for (int i = 0; i < FM_BF16_PANEL * mt; i++)
        for (int j = 0; j < FM_BF16_PANEL * nt; j++) {
            const uint16_t *ap = a + i / FM_BF16_PANEL * panel + i % FM_BF16_PANEL * 32;
            const uint16_t *bp = b + j / FM_BF16_PANEL * panel + j % FM_BF16_PANEL * 2;
            float c = accumulate ? acc[i * FM_BF16_BLOCK + j] : 0.0f;
            for (int64_t q = 0; q < kq; q++) {
                float e = 0.0f, o = 0.0f;
                for (int p = 0; p < 16; p++) {
                    e = fma_ftz(fm_f32_from_bf16(ap[2 * p]), fm_f32_from_bf16(bp[p * 32]), e);
                    o = fma_ftz(fm_f32_from_bf16(ap[2 * p + 1]), fm_f32_from_bf16(bp[p * 32 + 1]),
                                o);
                }
                c = add_ftz(c, add_ftz(e, o));
                ap += FM_BF16_CHUNK_ELEMS;
                bp += FM_BF16_CHUNK_ELEMS;
            }
            acc[i * FM_BF16_BLOCK + j] = c;
        }
#ifdef FM_HAVE_MXCSR
    _mm_setcsr(csr);
#endif
}

const fm_bf16_tier fm_bf16_emulated_generic = {"emulated", NULL, emulated_generic_block,
                                               NULL,       NULL, NULL};
