/*
 * The AMX tier: TDPBF16PS on 16 x 16 float tiles (compiled with -mamx-tile
 * -mamx-bf16; Linux x86-64 only; cpu.c chooses it after the permission
 * request and fm_amx_probe).
 *
 * A block of C is up to 2 x 2 tiles (tmm0..3), computed over all of K with
 * per chunk two A tiles (tmm4, 5: 16 rows x 32 bf16, one packed A chunk
 * each) and two B tiles (tmm6, 7: 16 pairs x 16 columns, one packed B chunk
 * each), then stored to the float block. The tile configuration is loaded
 * once per C call and per thread (begin) and released at its end (end), so
 * no thread leaves tile state behind (it would cost every context switch).
 *
 * Arithmetic of TDPBF16PS measured on this project's Sapphire Rapids (see
 * bf16.h and tests/test_bf16.py): per element and instruction, e and o
 * chains of 16 float FMAs each (even / odd K of the pairs) from +0, then
 * c + (e + o); DAZ, FTZ, round to nearest even. The emulated tier mirrors it.
 */
#include <immintrin.h>
#include <string.h>
#include "internal.h"

typedef struct {
    uint8_t palette_id;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((aligned(64))) tile_config;

static void amx_begin(void)
{
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette_id = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    /* Not _tile_loadconfig: gcc 12 declares its operand pointer-sized, so
     * the stores to colsb / rows above were removed as dead (a #GP, SIGSEGV,
     * at ldtilecfg). The whole struct as the operand keeps them. */
    __asm__ volatile("ldtilecfg %0" : : "m"(cfg));
}

static void amx_end(void) { _tile_release(); }

/*
 * One C block of mt x nt tiles (1 or 2 each; compile-time constants in
 * every call, so the tile numbers stay immediates and the unused tiles'
 * instructions vanish): C tiles tmm0 (rows 0-15, columns 0-15), tmm1 (0-15,
 * 16-31), tmm2 (16-31, 0-15), tmm3 (16-31, 16-31), each from the float acc
 * (continuing a K range) or +0; per K chunk A tiles tmm4/5 and B tiles
 * tmm6/7, then the C tiles back to acc.
 */
static inline __attribute__((always_inline)) void amx_tiles(const int mt, const int nt, int64_t kq,
                                                            int64_t panel, const uint16_t *a,
                                                            const uint16_t *b, int accumulate,
                                                            float *acc)
{
    const uint16_t *a1 = a + panel, *b1 = b + panel;
    enum { LD = FM_BF16_BLOCK * (int)sizeof(float) };
    float *acc01 = acc + FM_BF16_PANEL, *acc10 = acc + FM_BF16_PANEL * FM_BF16_BLOCK;
    float *acc11 = acc10 + FM_BF16_PANEL;
    if (accumulate) {
        _tile_loadd(0, acc, LD);
        if (nt == 2)
            _tile_loadd(1, acc01, LD);
        if (mt == 2)
            _tile_loadd(2, acc10, LD);
        if (mt == 2 && nt == 2)
            _tile_loadd(3, acc11, LD);
    } else {
        _tile_zero(0);
        if (nt == 2)
            _tile_zero(1);
        if (mt == 2)
            _tile_zero(2);
        if (mt == 2 && nt == 2)
            _tile_zero(3);
    }
    for (int64_t q = 0; q < kq; q++) {
        const int64_t o = q * FM_BF16_CHUNK_ELEMS;
        _tile_loadd(4, a + o, 64);
        _tile_loadd(6, b + o, 64);
        if (nt == 2)
            _tile_loadd(7, b1 + o, 64);
        _tile_dpbf16ps(0, 4, 6);
        if (nt == 2)
            _tile_dpbf16ps(1, 4, 7);
        if (mt == 2) {
            _tile_loadd(5, a1 + o, 64);
            _tile_dpbf16ps(2, 5, 6);
            if (nt == 2)
                _tile_dpbf16ps(3, 5, 7);
        }
    }
    _tile_stored(0, acc, LD);
    if (nt == 2)
        _tile_stored(1, acc01, LD);
    if (mt == 2)
        _tile_stored(2, acc10, LD);
    if (mt == 2 && nt == 2)
        _tile_stored(3, acc11, LD);
}

static void amx_block(int64_t kq, int64_t panel, const uint16_t *a, const uint16_t *b, int mt,
                      int nt, int accumulate, float *acc)
{
    if (mt == 2 && nt == 2)
        amx_tiles(2, 2, kq, panel, a, b, accumulate, acc);
    else if (mt == 2)
        amx_tiles(2, 1, kq, panel, a, b, accumulate, acc);
    else if (nt == 2)
        amx_tiles(1, 2, kq, panel, a, b, accumulate, acc);
    else
        amx_tiles(1, 1, kq, panel, a, b, accumulate, acc);
}

/* Packs with VCVTNE2PS2BF16 (gemm_avx512bf16.c); cpu.c requires the CPU's
 * AVX512_BF16 for this tier. */
const fm_bf16_tier fm_bf16_amx = {"amx",
                                  amx_begin,
                                  amx_block,
                                  amx_end,
#ifdef FASTMLP_AVX512BF16_KERNELS
                                  fm_bf16_pack_a_avx512bf16,
                                  fm_bf16_pack_b_avx512bf16
#else
                                  NULL,  NULL
#endif
};

/* The probe (cpu.c runs it under a SIGILL guard before choosing this tier):
 * one tile product of known values (all ones: every element of C is 32);
 * writes 1 to *ok only if the hardware got it right. */
void fm_amx_probe(void *ok)
{
    static uint16_t ones[FM_BF16_CHUNK_ELEMS] __attribute__((aligned(64)));
    float c[FM_BF16_BLOCK * FM_BF16_BLOCK] __attribute__((aligned(64)));
    for (int i = 0; i < FM_BF16_CHUNK_ELEMS; i++)
        ones[i] = 0x3f80; /* 1.0 */
    amx_begin();
    amx_block(1, FM_BF16_CHUNK_ELEMS, ones, ones, 1, 1, 0, c);
    amx_end();
    int good = 1;
    for (int i = 0; i < FM_BF16_PANEL; i++)
        for (int j = 0; j < FM_BF16_PANEL; j++)
            good &= c[i * FM_BF16_BLOCK + j] == 32.0f;
    *(int *)ok = good;
}
