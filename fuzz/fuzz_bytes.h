/*
 * Reading a fuzzer's input as a stream of small choices. Past the end every
 * read returns 0, so any input, however short, describes a complete case.
 */
#ifndef FASTMLP_FUZZ_BYTES_H
#define FASTMLP_FUZZ_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastmlp.h"

typedef struct {
    const uint8_t *p;
    size_t left;
} fuzz_bytes;

static inline unsigned fuzz_u8(fuzz_bytes *in)
{
    if (in->left == 0)
        return 0;
    in->left--;
    return *in->p++;
}

/* An integer in [lo, hi]. */
static inline int64_t fuzz_range(fuzz_bytes *in, int64_t lo, int64_t hi)
{
    const unsigned v = fuzz_u8(in) | (fuzz_u8(in) << 8);
    return lo + (int64_t)(v % (unsigned)(hi - lo + 1));
}

/* A value in [-8, 8) in steps of 1/16: exact in float, so the reference
 * products in double see the same inputs as the float kernels. */
static inline double fuzz_value(fuzz_bytes *in) { return (double)(int8_t)fuzz_u8(in) / 16.0; }

/* Picks the kernel set (every tier this CPU runs; fm_init refuses the rest). */
static inline void fuzz_pick_isa(fuzz_bytes *in)
{
    static const char *const sets[] = {"generic", "avx2", "avx512"};
    fm_init(sets[fuzz_u8(in) % 3]);
}

/* An allocation of exactly `bytes` (at least 1), so that AddressSanitizer
 * reports a read or write one element past what the layout allows. */
static inline void *fuzz_alloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (p == NULL)
        abort();
    return p;
}

/* Elements a (rows, cols) array with leading dimension ld spans. */
static inline int64_t fuzz_span(int64_t rows, int64_t cols, int64_t ld)
{
    return rows > 0 && cols > 0 ? (rows - 1) * ld + cols : 0;
}

#endif
