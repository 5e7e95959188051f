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
 * architecture's undefined instruction.
 *
 * Prints one line per check, "ok ..." or "FAIL ...", "value ..." lines with
 * figures, and exits 1 if any check failed.
 */
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
        check_bf16_emulated(isa);
    }
    fm_init(NULL);
    check_optimizers_f32();
    check_optimizers_f64();
    check_sigill_guard();
    printf("%d passed, %d failed\n", passed, failures);
    return failures ? 1 : 0;
}
