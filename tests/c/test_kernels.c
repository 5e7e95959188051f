/*
 * C-level tests of the kernel layer, for any target the C layer builds for:
 * scripts/cross_aarch64.sh runs them natively (x86-64) and, cross-compiled,
 * under qemu-aarch64, where no Python is needed.
 *
 * For every kernel set this build has and this CPU runs (fm_init by name:
 * generic, avx2, avx512, neon), both dtypes:
 *  - GEMM against a naive triple loop in double, many shapes (one per
 *    driver path), every transpose, padded leading dimensions, three
 *    (alpha, beta), with a stated error bound (test_kernels_tmpl.h), 1 and
 *    2 threads bit-identical; and against the generic set;
 *  - the fused dense forward with six activations;
 *  - a few epochs of a small network: the loss falls, 1 and 2 threads
 *    give the same bits.
 * Once: the optimizer steps bit for bit against scalar loops, the emulated
 * bfloat16 product of each set bit for bit against a scalar model of its
 * arithmetic (bf16.h), and the SIGILL guard of the AMX probe on this
 * architecture's undefined instruction. Arm's bfloat16 arithmetic
 * (BFMMLA, round to odd): its portable emulation on hand-worked cases and
 * as a tier against a model and an error bound; where the CPU has
 * FEAT_BF16 (qemu-aarch64 -cpu max), the instruction itself against the
 * emulation bit for bit, one BFMMLA at a time and as the bfmmla tier.
 *
 * Prints one line per check, "ok ..." or "FAIL ...", "value ..." lines with
 * figures, and exits 1 if any check failed.
 */
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "train.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static int failures = 0, passed = 0;

static void check(int ok, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    printf("%s ", ok ? "ok" : "FAIL");
    vprintf(fmt, args);
    printf("\n");
    va_end(args);
    failures += !ok;
    passed += ok;
}

/* Uniform in [-1, 1), from a fixed seed (xorshift64*): the same data on
 * every machine. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double uniform(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    const uint64_t r = rng_state * 0x2545F4914F6CDD1Dull;
    return (double)(r >> 11) * 0x1p-52 - 1.0;
}

#define T float
#define SUF f32
#define U 0x1p-24
#include "test_kernels_tmpl.h"

#define T double
#define SUF f64
#define U 0x1p-53
#include "test_kernels_tmpl.h"

/*
 * The emulated bfloat16 tier against bf16.h's arithmetic, written out:
 * operands rounded by fm_bf16_from_f32, per chunk of 32 K values the even
 * and the odd K in two fused multiply-add chains from +0, then
 * c = c + (even + odd). The data has no denormal partial result, so the
 * flush to zero does not come into play: bit for bit.
 */
static void check_bf16_emulated(const char *isa)
{
    static const int64_t shapes[][3] = {{1, 20, 70}, {33, 17, 100}, {64, 40, 32}, {5, 3, 7}};
    const char *tier = fm_bf16_init("emulated");
    check(strcmp(tier, "emulated") == 0, "%s bf16 tier forced to emulated: %s", isa, tier);
    for (int s = 0; s < 4; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                const int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                const int64_t lda = ta ? m : k, ldb = tb ? k : n;
                float *a = random_array_f32(m * k), *b = random_array_f32(k * n);
                float *c = malloc((size_t)(m * n) * sizeof(float));
                const fm_status st =
                    fm_gemm_bf16_f32(1, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
                int64_t differ = 0;
                for (int64_t i = 0; i < m; i++)
                    for (int64_t j = 0; j < n; j++) {
                        float acc = 0.0f;
                        for (int64_t q = 0; q < k; q += 32) {
                            float even = 0.0f, odd = 0.0f;
                            for (int64_t p = q; p < q + 32 && p < k; p++) {
                                const float av = fm_f32_from_bf16(
                                    fm_bf16_from_f32(ta ? a[p * lda + i] : a[i * lda + p]));
                                const float bv = fm_f32_from_bf16(
                                    fm_bf16_from_f32(tb ? b[j * ldb + p] : b[p * ldb + j]));
                                if ((p - q) % 2 == 0)
                                    even = fmaf(av, bv, even);
                                else
                                    odd = fmaf(av, bv, odd);
                            }
                            acc = acc + (even + odd);
                        }
                        differ += memcmp(&acc, &c[i * n + j], sizeof acc) != 0;
                    }
                check(st == FM_OK && differ == 0,
                      "%s bf16 emulated m=%lld n=%lld k=%lld ta=%d tb=%d: %lld values differ", isa,
                      (long long)m, (long long)n, (long long)k, ta, tb, (long long)differ);
                free(a);
                free(b);
                free(c);
            }
    fm_bf16_init(NULL);
}

/*
 * Arm's BFDotAdd (BFMMLA / BFDOT, FPCR.EBF == 0) in portable C,
 * fm_bf16_dot_add_arm, on hand-worked cases where round to odd, the
 * flushes, the unfused pair sum and the default NaN each change the bits
 * (IEEE nearest-even or a fused sum would give the value in the comment).
 */
static float f32_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static uint32_t bits_f32(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static void check_bf16_arm_cases(void)
{
    static const struct {
        uint32_t c;
        uint16_t a0, a1, b0, b1;
        uint32_t want;
        const char *what;
    } cases[] = {
        /* 1 + 2^-30: inexact, cut to 1 with the last bit set (nearest: 1) */
        {0x3F800000u, 0x3F80, 0x0000, 0x3080, 0x0000, 0x3F800001u, "round to odd, up"},
        /* (1 + 2^-22) + 2^-24, a tie: odd 0x3F800003 (nearest even: ..02) */
        {0x3F800002u, 0x3F80, 0x0000, 0x3380, 0x0000, 0x3F800003u, "tie to odd"},
        /* -(1 + 2^-30): the sign kept, magnitude cut */
        {0xBF800000u, 0xBF80, 0x0000, 0x3080, 0x0000, 0xBF800001u, "round to odd, negative"},
        /* 1 + 2^-22 exactly: no rounding, the even last bit stays */
        {0x3F800000u, 0x3F80, 0x0000, 0x3480, 0x0000, 0x3F800002u, "exact sum stays even"},
        /* FLT_MAX + 2^103 (half its last unit, a tie): nearest even
         * overflows to inf, round to odd keeps FLT_MAX */
        {0x7F7FFFFFu, 0x3F80, 0x0000, 0x7300, 0x0000, 0x7F7FFFFFu, "no overflow from a tie"},
        /* 2^127 * 4 = 2^129: a product past the range is inf */
        {0x00000000u, 0x7F00, 0x0000, 0x4080, 0x0000, 0x7F800000u, "product overflow"},
        /* 2^-63 * 2^-64 = 2^-127, a float denormal: +0 (IEEE: 2^-127) */
        {0x00000000u, 0x2000, 0x0000, 0x1F80, 0x0000, 0x00000000u, "product flushed"},
        /* -0 + (-0 * 0 + 0 * -0): every zero negative, so -0 */
        {0x80000000u, 0x8000, 0x0000, 0x0000, 0x8000, 0x80000000u, "-0 kept"},
        /* -0 + (+0 from 0 * 0): +0 */
        {0x80000000u, 0x0000, 0x0000, 0x0000, 0x0000, 0x00000000u, "-0 + +0 is +0"},
        /* a denormal addend is zero: 2^-100 exact (with the denormal
         * kept, round to odd would set the last bit) */
        {0x00000001u, 0x0D80, 0x0000, 0x3F80, 0x0000, 0x0D800000u, "denormal addend"},
        /* a denormal bf16 operand is zero */
        {0x3F800000u, 0x0001, 0x0000, 0x3F80, 0x0000, 0x3F800000u, "denormal operand"},
        /* -1 + (1 * 1 + 2^-30 * 1): the pair sum rounds first, to odd
         * 1 + 2^-23, so 2^-23 (a fused sum: 2^-30) */
        {0xBF800000u, 0x3F80, 0x3080, 0x3F80, 0x3F80, 0x34000000u, "pair sum rounded"},
        /* NaN operand (negative, with payload): the default NaN */
        {0x3F800000u, 0xFFC1, 0x0000, 0x3F80, 0x0000, 0x7FC00000u, "default NaN"},
        /* inf * 0: the default NaN */
        {0x00000000u, 0x7F80, 0x0000, 0x0000, 0x0000, 0x7FC00000u, "inf * 0"},
        /* -inf + (inf * 1): the default NaN */
        {0xFF800000u, 0x7F80, 0x0000, 0x3F80, 0x0000, 0x7FC00000u, "inf - inf"},
        /* 1 - 1: exact cancellation is +0 */
        {0xBF800000u, 0x3F80, 0x0000, 0x3F80, 0x0000, 0x00000000u, "cancellation +0"},
        /* 2^-125 - 2^-125 (1 - 2^-8) = 2^-133, below 2^-126: +0 (IEEE:
         * the denormal 2^-133) */
        {0x01000000u, 0x8100, 0x0000, 0x3F7F, 0x0000, 0x00000000u, "result flushed"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const uint32_t got = bits_f32(fm_bf16_dot_add_arm(f32_bits(cases[i].c), cases[i].a0,
                                                          cases[i].a1, cases[i].b0, cases[i].b1));
        check(got == cases[i].want, "bfmmla emulation %s: %08x (want %08x)", cases[i].what,
              (unsigned)got, (unsigned)cases[i].want);
    }
}

/* One chain of BFDotAdd per element over the K pairs, K padded with zeros
 * to whole chunks of 32, as the packed products run it. */
static float bfmmla_model(const float *a, int64_t lda, int ta, const float *b, int64_t ldb, int tb,
                          int64_t i, int64_t j, int64_t k)
{
    float c = 0.0f;
    const int64_t kp = (k + 31) / 32 * 32;
    for (int64_t p = 0; p < kp; p += 2) {
        uint16_t av[2] = {0, 0}, bv[2] = {0, 0};
        for (int t = 0; t < 2; t++)
            if (p + t < k) {
                av[t] = fm_bf16_from_f32(ta ? a[(p + t) * lda + i] : a[i * lda + p + t]);
                bv[t] = fm_bf16_from_f32(tb ? b[j * ldb + p + t] : b[(p + t) * ldb + j]);
            }
        c = fm_bf16_dot_add_arm(c, av[0], av[1], bv[0], bv[1]);
    }
    return c;
}

/* Values from 2^-100 to 2^80, some zero, some negative tiny (products and
 * sums flushed), to tell rounding orders apart. */
static float *awkward_array(int64_t count)
{
    float *x = malloc((size_t)(count > 0 ? count : 1) * sizeof(float));
    for (int64_t i = 0; i < count; i++) {
        const double u = uniform(), e = floor((uniform() + 1.0) * 0.5 * 60.0) - 40.0;
        x[i] = (float)ldexp(u, (int)e);
        if (uniform() < -0.8)
            x[i] = 0.0f;
        else if (uniform() < -0.9)
            x[i] = (float)ldexp(u, -63);
    }
    return x;
}

/* The bfmmla_emulated tier (this machine, any architecture): the GEMM's
 * packing, K ranges and row blocks give the model's chain bit for bit (on
 * uniform and awkward data), and on uniform data the result is within twice the float bound of the exact product of the
 * rounded operands (a rounding to odd errs by up to one unit, k roundings
 * per element: |c - exact| <= 2 k 2^-24 sum |a||b|). */
static void check_bf16_bfmmla_emulated(void)
{
    static const int64_t shapes[][3] = {
        {1, 20, 70}, {33, 17, 100}, {64, 40, 32}, {5, 3, 7}, {40, 33, 1000}};
    const char *tier = fm_bf16_init("bfmmla_emulated");
    check(strcmp(tier, "bfmmla_emulated") == 0, "bf16 tier forced to bfmmla_emulated: %s", tier);
    for (int s = 0; s < 5; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int kind = 0; kind < 2; kind++) {
                    const int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                    const int64_t lda = ta ? m : k, ldb = tb ? k : n;
                    float *a = kind ? awkward_array(m * k) : random_array_f32(m * k);
                    float *b = kind ? awkward_array(k * n) : random_array_f32(k * n);
                    float *c = malloc((size_t)(m * n) * sizeof(float));
                    const fm_status st =
                        fm_gemm_bf16_f32(1, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
                    int64_t differ = 0, outside = 0;
                    for (int64_t i = 0; i < m; i++)
                        for (int64_t j = 0; j < n; j++) {
                            const float want = bfmmla_model(a, lda, ta, b, ldb, tb, i, j, k);
                            differ += bits_f32(want) != bits_f32(c[i * n + j]);
                            double exact = 0.0, mag = 0.0;
                            for (int64_t p = 0; p < k; p++) {
                                const double x = fm_f32_from_bf16(
                                    fm_bf16_from_f32(ta ? a[p * lda + i] : a[i * lda + p]));
                                const double y = fm_f32_from_bf16(
                                    fm_bf16_from_f32(tb ? b[j * ldb + p] : b[p * ldb + j]));
                                exact += x * y;
                                mag += fabs(x * y);
                            }
                            /* (the bound without flushed values: uniform data) */
                            outside += !kind &&
                                       fabs(c[i * n + j] - exact) > 2.0 * (double)k * 0x1p-24 * mag;
                        }
                    check(st == FM_OK && differ == 0 && outside == 0,
                          "bf16 bfmmla_emulated (%s) m=%lld n=%lld k=%lld ta=%d tb=%d: %lld differ "
                          "from the model, %lld outside the bound",
                          kind ? "awkward" : "uniform", (long long)m, (long long)n, (long long)k,
                          ta, tb, (long long)differ, (long long)outside);
                    free(a);
                    free(b);
                    free(c);
                }
    fm_bf16_init(NULL);
}

#ifdef FASTMLP_BFMMLA_KERNELS
/* bfloat16 bits from every class: mostly normal with exponents near each
 * other (cancellation, inexact sums), some tiny (flushed products), huge
 * (overflow), zero, denormal, inf, NaN. */
static uint16_t awkward_bf16(void)
{
    const double r = (uniform() + 1.0) * 0.5;
    const uint16_t sign = uniform() < 0.0 ? 0x8000 : 0;
    const uint16_t mant = (uint16_t)((uniform() + 1.0) * 64.0) & 0x7f;
    int e;
    if (r < 0.70)
        e = 120 + (int)((uniform() + 1.0) * 8.0); /* 2^-7 .. 2^8 */
    else if (r < 0.78)
        e = 1 + (int)((uniform() + 1.0) * 32.0); /* products below 2^-126 */
    else if (r < 0.86)
        e = 200 + (int)((uniform() + 1.0) * 27.0); /* products past 2^128 */
    else if (r < 0.92)
        return sign; /* zero */
    else if (r < 0.95)
        return (uint16_t)(sign | (mant ? mant : 1)); /* denormal */
    else if (r < 0.98)
        return (uint16_t)(sign | 0x7f80); /* inf */
    else
        return (uint16_t)(sign | 0x7fc0 | mant); /* NaN */
    return (uint16_t)(sign | e << 7 | mant);
}

/*
 * Under qemu-aarch64 -cpu max (or on an Armv8.6 CPU): the BFMMLA
 * instruction against the emulation bit for bit, one instruction at a time
 * on random operands of every class, then the bfmmla tier's GEMM against
 * the bfmmla_emulated tier's.
 */
static void check_bf16_bfmmla_hardware(void)
{
    if (!fm_cpu()->arm_bf16) {
        printf("skip bfmmla: this CPU has no FEAT_BF16\n");
        return;
    }
    int64_t differ = 0, first_bad = -1;
    const int64_t trials = 200000;
    for (int64_t t = 0; t < trials; t++) {
        uint16_t a[8], b[8];
        float c[4], out[4];
        for (int i = 0; i < 8; i++) {
            a[i] = awkward_bf16();
            b[i] = awkward_bf16();
        }
        for (int i = 0; i < 4; i++) /* addends: products' scale, or a bf16-ish float */
            c[i] = uniform() < -0.5 ? 0.0f
                                    : f32_bits((uint32_t)awkward_bf16() << 16 |
                                               (uint32_t)((uniform() + 1.0) * 32767.0));
        fm_bfmmla_once(c, a, b, out);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                float want = fm_bf16_dot_add_arm(c[2 * i + j], a[4 * i], a[4 * i + 1], b[4 * j],
                                                 b[4 * j + 1]);
                want = fm_bf16_dot_add_arm(want, a[4 * i + 2], a[4 * i + 3], b[4 * j + 2],
                                           b[4 * j + 3]);
                if (bits_f32(want) != bits_f32(out[2 * i + j])) {
                    if (first_bad < 0) {
                        first_bad = t;
                        printf("value bfmmla differs: c %08x a %04x %04x %04x %04x b %04x %04x "
                               "%04x %04x: %08x, emulation %08x\n",
                               (unsigned)bits_f32(c[2 * i + j]), a[4 * i], a[4 * i + 1],
                               a[4 * i + 2], a[4 * i + 3], b[4 * j], b[4 * j + 1], b[4 * j + 2],
                               b[4 * j + 3], (unsigned)bits_f32(out[2 * i + j]),
                               (unsigned)bits_f32(want));
                    }
                    differ++;
                }
            }
    }
    check(differ == 0, "BFMMLA instruction = emulation on %lld random 2x4x2 products: %lld differ",
          (long long)trials, (long long)differ);

    static const int64_t shapes[][3] = {{1, 20, 70}, {33, 17, 100},  {64, 40, 32},
                                        {5, 3, 7},   {40, 33, 1000}, {100, 70, 300}};
    for (int s = 0; s < 6; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int kind = 0; kind < 2; kind++) {
                    const int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                    const int64_t lda = ta ? m : k, ldb = tb ? k : n;
                    float *a = kind ? awkward_array(m * k) : random_array_f32(m * k);
                    float *b = kind ? awkward_array(k * n) : random_array_f32(k * n);
                    float *c1 = malloc((size_t)(m * n) * sizeof(float));
                    float *c2 = malloc((size_t)(m * n) * sizeof(float));
                    const char *hw = fm_bf16_init("bfmmla");
                    fm_gemm_bf16_f32(2, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c1, n);
                    fm_bf16_init("bfmmla_emulated");
                    fm_gemm_bf16_f32(1, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c2, n);
                    int64_t d = 0;
                    for (int64_t i = 0; i < m * n; i++)
                        d += bits_f32(c1[i]) != bits_f32(c2[i]);
                    check(strcmp(hw, "bfmmla") == 0 && d == 0,
                          "bf16 %s = bfmmla_emulated (%s) m=%lld n=%lld k=%lld ta=%d tb=%d: "
                          "%lld differ",
                          hw, kind ? "awkward" : "uniform", (long long)m, (long long)n,
                          (long long)k, ta, tb, (long long)d);
                    free(a);
                    free(b);
                    free(c1);
                    free(c2);
                }
    fm_bf16_init(NULL);
}
#endif

/* This architecture's undefined instruction (SIGILL): ud2 on x86, udf #0
 * on AArch64 (__builtin_trap() is brk there, which raises SIGTRAP). */
static void illegal_instruction(void *arg)
{
    (void)arg;
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("ud2");
#elif defined(__aarch64__)
    __asm__ __volatile__(".inst 0x00000000"); /* udf #0 */
#else
    raise(SIGILL);
#endif
}

static void harmless(void *arg) { *(int *)arg = 1; }

static void check_sigill_guard(void)
{
    int ran = 0;
    const int bad = fm_run_guarded(illegal_instruction, NULL);
    const int good = fm_run_guarded(harmless, &ran);
    check(bad == -1 && good == 0 && ran == 1,
          "sigill guard: undefined instruction %d (want -1), harmless %d ran %d", bad, good, ran);
}

int main(void)
{
    static const char *const sets[] = {"generic", "avx2", "avx512", "neon"};
    const char *best = fm_init(NULL);
    printf("value best kernel set %s, openmp %d, bf16 tier %s\n", best, fm_has_openmp(),
           fm_bf16_tier_name());
    for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
        const char *isa = fm_init(sets[s]);
        if (strcmp(isa, sets[s]) != 0) {
            printf("skip %s: not in this build or not run by this CPU\n", sets[s]);
            continue;
        }
        worst_gemm_f32[0] = worst_gemm_f64[0] = 0.0;
        check_gemm_f32(isa);
        check_gemm_f64(isa);
        printf("value %s gemm worst error/bound f32 %.3g f64 %.3g\n", isa, worst_gemm_f32[0],
               worst_gemm_f64[0]);
        if (strcmp(isa, "generic") != 0) {
            check_vs_generic_f32(isa);
            check_vs_generic_f64(isa);
        }
        check_dense_f32(isa);
        check_dense_f64(isa);
        check_training_f32(isa);
        check_training_f64(isa);
        check_step_in_product_f32(isa);
        check_step_in_product_f64(isa);
        check_sparse_a_f32(isa);
        check_sparse_a_f64(isa);
        check_bf16_emulated(isa);
    }
    fm_init(NULL);
    check_optimizers_f32();
    check_optimizers_f64();
    check_reciprocal_divisor_f32();
    check_reciprocal_divisor_f64();
    check_sigill_guard();
    check_bf16_arm_cases();
    check_bf16_bfmmla_emulated();
#ifdef FASTMLP_BFMMLA_KERNELS
    check_bf16_bfmmla_hardware();
#else
    printf("skip bfmmla: not in this build (aarch64 with +bf16 only)\n");
#endif
    printf("%d passed, %d failed\n", passed, failures);
    return failures ? 1 : 0;
}
