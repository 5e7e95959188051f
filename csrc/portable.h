/*
 * Compiler differences in one place: gcc and clang (Linux, macOS, MinGW,
 * clang-cl) spell these with GNU attributes and builtins, MSVC with its
 * own keywords or not at all. Everything else of csrc/ is C11.
 *
 * MSVC notes: `#pragma GCC unroll` is an unknown pragma there (warning
 * C4068, disabled in csrc/CMakeLists.txt: a hint, not a meaning); OpenMP is
 * version 2.0 (no `omp atomic write`, `omp simd`, `collapse`, unsigned loop
 * indices), which csrc/ keeps to.
 */
#ifndef FASTMLP_PORTABLE_H
#define FASTMLP_PORTABLE_H

#include <stdint.h>

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define FM_ALWAYS_INLINE __forceinline
#define FM_NOINLINE __declspec(noinline)
#define FM_EXPECT(x, v) (x)
/* A read (rw 0) or write prefetch to all cache levels; MSVC has no write
 * hint on x86, and the locality argument is ignored. */
#if defined(_M_X64) || defined(_M_IX86)
#define FM_PREFETCH(p, ...) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#else
#define FM_PREFETCH(p, ...) ((void)(p))
#endif
#else
#define FM_ALWAYS_INLINE inline __attribute__((always_inline))
#define FM_NOINLINE __attribute__((noinline))
#define FM_EXPECT(x, v) __builtin_expect((x), (v))
#define FM_PREFETCH(...) __builtin_prefetch(__VA_ARGS__)
#endif

/* *out = a + b or a * b; 1 if it overflows int64 (then *out is unset). */
static inline int fm_add_overflow_i64(int64_t a, int64_t b, int64_t *out)
{
#if defined(_MSC_VER) && !defined(__clang__)
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b))
        return 1;
    *out = a + b;
    return 0;
#else
    return __builtin_add_overflow(a, b, out);
#endif
}

static inline int fm_mul_overflow_i64(int64_t a, int64_t b, int64_t *out)
{
#if defined(_MSC_VER) && !defined(__clang__)
    if (a != 0 && b != 0) {
        if (a == -1 || b == -1) {
            if (a == INT64_MIN || b == INT64_MIN)
                return 1;
        } else if (a > 0 ? (b > 0 ? a > INT64_MAX / b : b < INT64_MIN / a)
                         : (b > 0 ? a < INT64_MIN / b : a < INT64_MAX / b)) {
            return 1;
        }
    }
    *out = a * b;
    return 0;
#else
    return __builtin_mul_overflow(a, b, out);
#endif
}

#endif /* FASTMLP_PORTABLE_H */
