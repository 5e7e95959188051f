/*
 * bfloat16 products (internal; included by internal.h).
 *
 * A bf16 product rounds op(A) (m, k) and op(B) (k, n) to bfloat16 while
 * packing them (never as a separate pass), multiplies the bf16 pairs (exact
 * in float) and accumulates in float; the output stage (alpha, beta, bias,
 * activation) is float, as in the float GEMM.
 *
 * Rounding, fm_bf16_from_f32: round to nearest, ties to even; float
 * denormals become a zero of the same sign (the hardware treats denormal
 * inputs as zero, so every tier does); +-0, +-inf keep their value; NaN stays
 * NaN (quiet, same sign).
 *
 * Packed layout, shared by every tier (the engine packs a weight matrix once
 * per step and any tier reads it). K is padded with zeros to kq = ceil(k/32)
 * chunks of 32; a zero pair adds nothing but the sign of a zero sum.
 *  - B: ceil(n/16) panels of 16 columns, each kq chunks of 512 bf16 (1 KiB,
 *    one AMX B tile): [pair p = 0..15][column c = 0..15][2], i.e.
 *    B[q*32 + 2p + t][16 j + c] at panel j, chunk q, index (p*16 + c)*2 + t
 *    ("VNNI": the two K values of a pair adjacent). Columns past n are zero.
 *  - A: ceil(rows/16) panels of 16 rows, each kq chunks of 512 bf16 (one
 *    AMX A tile): [row r = 0..15][32 K values]. Rows past m are zero.
 *
 * Arithmetic (each tier's order; measured on Sapphire Rapids, see
 * docs/architecture.md and tests/test_bf16.py):
 *  - "amx" (TDPBF16PS) and "emulated": per 32-K chunk, two float chains
 *    e = sum over the 16 pairs of a[2p] * b[2p] and o = the same over
 *    a[2p+1] * b[2p+1], each started at +0, each step one fused multiply-add
 *    rounded to nearest even; then c = c + (e + o). c starts at +0 and runs
 *    over the chunks in order. Every result that is a float denormal is
 *    flushed to a zero of its sign (FTZ), denormal inputs are zero (DAZ).
 *    The emulated tier performs exactly these operations: same bits.
 *  - "avx512_bf16" (VDPBF16PS): one chain over the pairs in order,
 *    c = fma(a[2p+1], b[2p+1], c) then c = fma(a[2p], b[2p], c), started at
 *    +0, FTZ/DAZ. Its own order: its results differ from the other two in
 *    the last bits (they are within the same error bound).
 *  - "bfmmla" (Arm BFMMLA, FEAT_BF16) and "bfmmla_emulated" (its exact
 *    emulation in portable C, on every target): one chain over the pairs in
 *    order, c = BFDotAdd(c, pair): the pair's two exact products summed,
 *    then added to c, each sum rounded to odd (not to nearest), FTZ on
 *    inputs and results, the default NaN (gemm_bf16_bfmmla_emulated.c).
 *    Within twice the others' error bound (a rounding to odd errs by up to
 *    one unit in the last place).
 */
#ifndef FASTMLP_BF16_H
#define FASTMLP_BF16_H

#include <stdint.h>
#include <string.h>

#define FM_BF16_KCHUNK 32 /* K values per chunk (one AMX tile row) */
#define FM_BF16_PANEL 16  /* rows of an A panel, columns of a B panel */
#define FM_BF16_CHUNK_ELEMS 512
/* A block of C computed at once: up to 2 x 2 panels (32 x 32). Threads
 * split C in whole blocks. */
#define FM_BF16_BLOCK 32

static inline uint16_t fm_bf16_from_f32(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0) /* zero or denormal: a zero of that sign */
        return (uint16_t)((u >> 16) & 0x8000u);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep the top bits, quiet */
        return (uint16_t)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u); /* ties to even; may carry up to inf */
    return (uint16_t)(u >> 16);
}

static inline float fm_f32_from_bf16(uint16_t h)
{
    const uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static inline int64_t fm_bf16_chunks(int64_t k)
{
    return (k + FM_BF16_KCHUNK - 1) / FM_BF16_KCHUNK;
}

/* Bytes of op(B) (k, n) packed by fm_bf16_pack_b. */
int64_t fm_bf16_packed_b_bytes(int trans_b, int64_t k, int64_t n);
/* Pack op(B) (k, n) (B stored (k, n) with ldb, or (n, k) if trans_b) into
 * `out` (fm_bf16_packed_b_bytes bytes; any alignment, 64 bytes is fastest)
 * in the layout above, rounding to bfloat16. */
void fm_bf16_pack_b(int trans_b, int64_t k, int64_t n, const float *b, int64_t ldb, void *out);
/* The same with consecutive panels `panel_stride` bf16 apart (at least
 * fm_bf16_chunks(k) * FM_BF16_CHUNK_ELEMS): rows of a taller B packed into
 * their place in its layout (the engine's weights, a block of rows after
 * each optimizer step), across all panels in one call. */
void fm_bf16_pack_b_strided(int trans_b, int64_t k, int64_t n, const float *b, int64_t ldb,
                            void *out, int64_t panel_stride);
/* Pack rows [0, rows) of op(A) ((rows, k); A stored (rows, k) with lda, or
 * (k, rows) if trans_a) into ceil(rows/16) A panels. */
void fm_bf16_pack_a(int trans_a, int64_t rows, int64_t k, const float *a, int64_t lda,
                    uint16_t *out);
/* The packed B of columns from `col` on (col a multiple of 16). */
const void *fm_bf16_packed_b_columns(const void *b_packed, int64_t k, int64_t col);

/*
 * One tier's product kernel: acc (32 x 32 floats, row stride 32) =
 * (mt A panels at a) @ (nt B panels at b), mt, nt in {1, 2}, over `chunks`
 * chunks from a and b on (the second panel `panel` bf16 after the first).
 * accumulate = 0 starts the chunk chain c at +0; 1 continues it from acc
 * (a stored float is exactly the chain's value, so a K range split in
 * consecutive calls gives the whole range's bits). begin/end bracket one C
 * call on one thread (AMX: tile configuration and release); NULL when not
 * needed.
 */
typedef struct {
    const char *name;
    void (*begin)(void);
    void (*block)(int64_t chunks, int64_t panel, const uint16_t *a, const uint16_t *b, int mt,
                  int nt, int accumulate, float *acc);
    void (*end)(void);
    /* fm_bf16_pack_a / _b as this tier's instructions do them (same bits);
     * NULL: the portable packing. */
    void (*pack_a)(int trans_a, int64_t rows, int64_t k, const float *a, int64_t lda,
                   uint16_t *out);
    void (*pack_b)(int trans_b, int64_t k, int64_t n, const float *b, int64_t ldb, void *out,
                   int64_t panel_stride);
} fm_bf16_tier;

extern const fm_bf16_tier fm_bf16_emulated_generic;
#ifdef FASTMLP_X86_KERNELS
extern const fm_bf16_tier fm_bf16_emulated_avx2;
extern const fm_bf16_tier fm_bf16_emulated_avx512;
/* fm_bf16_pack_a / _b with AVX-512F (same bits), used with the avx512 set. */
void fm_bf16_pack_a_avx512(int trans_a, int64_t rows, int64_t k, const float *a, int64_t lda,
                           uint16_t *out);
void fm_bf16_pack_b_avx512(int trans_b, int64_t k, int64_t n, const float *b, int64_t ldb,
                           void *out, int64_t panel_stride);
#endif
#ifdef FASTMLP_AMX_KERNELS
extern const fm_bf16_tier fm_bf16_amx;
/* One tile product of known values; writes 1 to *(int *)ok if right. Run
 * it only under fm_run_guarded, after Linux's permission (cpu.c). */
void fm_amx_probe(void *ok);
#endif
#ifdef FASTMLP_AVX512BF16_KERNELS
extern const fm_bf16_tier fm_bf16_avx512bf16;
/* fm_bf16_pack_a / _b with VCVTNE2PS2BF16 (same bits), used with the amx
 * and avx512_bf16 tiers. */
void fm_bf16_pack_a_avx512bf16(int trans_a, int64_t rows, int64_t k, const float *a, int64_t lda,
                               uint16_t *out);
void fm_bf16_pack_b_avx512bf16(int trans_b, int64_t k, int64_t n, const float *b, int64_t ldb,
                               void *out, int64_t panel_stride);
#endif

/* BFMMLA's arithmetic in portable C (every target). */
extern const fm_bf16_tier fm_bf16_bfmmla_emulated;
/* One BFDotAdd (Arm ARM, FPCR.EBF == 0): c + (a0 * b0 + a1 * b1), each sum
 * rounded to odd, FTZ, default NaN; a0, a1, b0, b1 bfloat16 bits. */
float fm_bf16_dot_add_arm(float c, uint16_t a0, uint16_t a1, uint16_t b0, uint16_t b1);
#ifdef FASTMLP_BFMMLA_KERNELS
extern const fm_bf16_tier fm_bf16_bfmmla;
/* One BFMMLA: out (2 x 2, [c00 c01 c10 c11]) = c + a (2 rows x 4 K) @
 * b (2 columns x 4 K)^T; for tests (run it only where FEAT_BF16 is). */
void fm_bfmmla_once(const float c[4], const uint16_t a[8], const uint16_t b[8], float out[4]);
#endif

/* The tier chosen by fm_bf16_init (the emulated generic one until then). */
const fm_bf16_tier *fm_bf16_kernels(void);

/* The single-threaded bf16 driver and its packing buffer (floats). */
fm_status fm_bf16_gemm_f32(const fm_gemm_problem_f32 *pr);
int64_t fm_bf16_scratch_elems(const fm_gemm_problem_f32 *pr);

#endif /* FASTMLP_BF16_H */
