/*
 * CPU detection and the choice of the kernel set and of the bfloat16 tier:
 * the one file that asks the hardware (CPUID / XGETBV, sysctl, Linux's AMX
 * permission, the guarded AMX probe) and applies FASTMLP_ISA /
 * FASTMLP_BF16's values (BLIS keeps detection in one file, bli_cpuid.c, for
 * the same reason: one place to read and to extend). The kernel files only
 * provide kernels and their tables; nothing here is compiled with
 * instruction-set flags.
 *
 * The chosen table and tier are the C layer's dispatch state: written once
 * at import (fm_init, fm_bf16_init), before any kernel runs, and only read
 * afterwards.
 */
#include <stdio.h>
#include <string.h>
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#define FM_CPU_X86 1
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h> /* __cpuidex, _xgetbv */
#else
#include <cpuid.h> /* gcc, clang, clang-cl, MinGW */
#endif
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <setjmp.h>
#include <signal.h>
#define FM_HAVE_SIGILL_GUARD 1
#endif
#if defined(__linux__) && defined(FASTMLP_AMX_KERNELS)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__APPLE__) && defined(__aarch64__)
#include <sys/sysctl.h>
#endif
#if defined(__linux__) && defined(__aarch64__)
#include <sys/auxv.h> /* getauxval */
#ifndef HWCAP2_BF16
#define HWCAP2_BF16 (1ul << 14) /* asm/hwcap.h, Linux 5.10 */
#endif
#endif

/* ------------------------------------------------------------------------ */
/* Detection                                                                */
/* ------------------------------------------------------------------------ */

#ifdef FM_CPU_X86
/* CPUID leaf / subleaf into r[0..3] = eax, ebx, ecx, edx; 0 if the leaf is
 * above the CPU's maximum. */
static int cpuid(unsigned leaf, unsigned sub, unsigned r[4])
{
#if defined(_MSC_VER) && !defined(__clang__)
    int max[4], out[4];
    __cpuid(max, (int)(leaf & 0x80000000u));
    if ((unsigned)max[0] < leaf)
        return 0;
    __cpuidex(out, (int)leaf, (int)sub);
    for (int i = 0; i < 4; i++)
        r[i] = (unsigned)out[i];
    return 1;
#else
    if ((unsigned)__get_cpuid_max(leaf & 0x80000000u, NULL) < leaf)
        return 0;
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
    return 1;
#endif
}

/* XCR0: which register states the OS saves (call only if OSXSAVE). Inline
 * assembly rather than _xgetbv on gcc/clang: their intrinsic needs the
 * xsave target flag, which this file must not have. */
static unsigned long long xcr0(void)
{
#if defined(_MSC_VER) && !defined(__clang__)
    return _xgetbv(0);
#else
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
#endif
}
#endif

static fm_cpu_features detect_features(void)
{
    fm_cpu_features f;
    memset(&f, 0, sizeof f);
#ifdef FM_CPU_X86
    unsigned r1[4], r7[4], r71[4];
    if (!cpuid(1, 0, r1))
        return f;
    const int osxsave = (r1[2] >> 27) & 1u;
    const unsigned long long xcr = osxsave ? xcr0() : 0;
    const int ymm_os = (xcr & 0x6u) == 0x6u;   /* SSE, AVX state */
    const int zmm_os = (xcr & 0xe6u) == 0xe6u; /* + opmask, ZMM_Hi256, Hi16_ZMM */
    const int fma = (r1[2] >> 12) & 1u, avx = (r1[2] >> 28) & 1u;
    if (!cpuid(7, 0, r7))
        return f;
    f.avx2_fma = ymm_os && avx && fma && ((r7[1] >> 5) & 1u);
    f.avx512f = f.avx2_fma && zmm_os && ((r7[1] >> 16) & 1u);
    /* The tier's kernels are compiled with -mavx512bf16, which implies
     * AVX512BW (its packing interleaves 16-bit values): every CPU with
     * AVX512_BF16 has BW, but the tier asks for both. */
    f.avx512bf16 = f.avx512f && ((r7[1] >> 30) & 1u) && cpuid(7, 1, r71) && ((r71[0] >> 5) & 1u);
    f.amx_bf16 = ((r7[3] >> 24) & 1u) && ((r7[3] >> 22) & 1u); /* AMX-TILE, AMX-BF16 */
    f.amx_os = (xcr & (3ull << 17)) == (3ull << 17);
#elif defined(__APPLE__) && defined(__aarch64__)
    int value = 0;
    size_t size = sizeof value;
    if (sysctlbyname("hw.optional.arm.FEAT_BF16", &value, &size, NULL, 0) == 0)
        f.arm_bf16 = value != 0;
#elif defined(__linux__) && defined(__aarch64__)
    f.arm_bf16 = (getauxval(AT_HWCAP2) & HWCAP2_BF16) != 0;
#endif
    return f;
}

static fm_cpu_features features;
static int features_read = 0;

const fm_cpu_features *fm_cpu(void)
{
    if (!features_read) { /* first called from fm_init, at import */
        features = detect_features();
        features_read = 1;
    }
    return &features;
}

/* ------------------------------------------------------------------------ */
/* Guarded execution (the AMX probe)                                        */
/* ------------------------------------------------------------------------ */

#ifdef FM_HAVE_SIGILL_GUARD
static _Thread_local sigjmp_buf guard_jump;

static void on_sigill(int sig)
{
    (void)sig;
    siglongjmp(guard_jump, 1);
}

int fm_run_guarded(void (*fn)(void *), void *arg)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigill;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGILL, &sa, &old) != 0)
        return -1;
    /* volatile: read after siglongjmp. */
    volatile int rc = -1;
    if (sigsetjmp(guard_jump, 1) == 0) {
        fn(arg);
        rc = 0;
    }
    sigaction(SIGILL, &old, NULL); /* e.g. faulthandler's, as it was */
    return rc;
}
#else
int fm_run_guarded(void (*fn)(void *), void *arg)
{
    (void)fn;
    (void)arg;
    return -1; /* no way to catch an illegal instruction: do not try */
}
#endif

/* ------------------------------------------------------------------------ */
/* The kernel set (fm_init)                                                 */
/* ------------------------------------------------------------------------ */

static const fm_kernel_table *chosen = &fm_kernels_generic;

/* Kernel sets from narrowest to widest. */
static const fm_kernel_table *const by_width[] = {
    &fm_kernels_generic,
#ifdef FASTMLP_X86_KERNELS
    &fm_kernels_avx2,
    &fm_kernels_avx512,
#endif
#ifdef FASTMLP_NEON_KERNELS
    &fm_kernels_neon,
#endif
};
#define N_SETS (sizeof(by_width) / sizeof(by_width[0]))

/* The best kernel set this CPU (and its OS, for the wide registers) runs. */
static const fm_kernel_table *detect(void)
{
#ifdef FASTMLP_X86_KERNELS
    if (fm_cpu()->avx512f)
        return &fm_kernels_avx512;
    if (fm_cpu()->avx2_fma)
        return &fm_kernels_avx2;
#endif
#ifdef FASTMLP_NEON_KERNELS
    return &fm_kernels_neon; /* Advanced SIMD is mandatory on AArch64 */
#endif
    return &fm_kernels_generic;
}

static size_t width_rank(const fm_kernel_table *t)
{
    for (size_t i = 0; i < N_SETS; i++)
        if (by_width[i] == t)
            return i;
    return 0;
}

const char *fm_init(const char *force)
{
    const fm_kernel_table *best = detect();
    chosen = best;
    /* A forced set (FASTMLP_ISA) is honoured only if the CPU can run it. */
    if (force != NULL && force[0] != '\0')
        for (size_t i = 0; i < N_SETS; i++)
            if (strcmp(by_width[i]->name, force) == 0 && i <= width_rank(best))
                chosen = by_width[i];
    /* The bf16 tier depends on the chosen set; fm_bf16_init narrows it. */
    fm_bf16_init(NULL);
    return chosen->name;
}

const fm_kernel_table *fm_kernels(void) { return chosen; }
const char *fm_isa_name(void) { return chosen->name; }
const char *fm_isa_best_name(void) { return detect()->name; }

/* ------------------------------------------------------------------------ */
/* The bfloat16 tier (fm_bf16_init)                                         */
/* ------------------------------------------------------------------------ */

static const fm_bf16_tier *bf16_chosen = &fm_bf16_emulated_generic;
static char bf16_reason[256] = "";

const fm_bf16_tier *fm_bf16_kernels(void) { return bf16_chosen; }
const char *fm_bf16_tier_name(void) { return bf16_chosen->name; }
const char *fm_bf16_tier_reason(void) { return bf16_reason; }

static void add_reason(const char *tier, const char *why)
{
    size_t used = strlen(bf16_reason);
    if (used + 8 >= sizeof bf16_reason)
        return;
    snprintf(bf16_reason + used, sizeof bf16_reason - used, "%s%s: %s", used ? "; " : "", tier,
             why);
}

#ifdef FASTMLP_AMX_KERNELS
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

/* 0 if this process may use AMX tiles, else why not in *reason. The
 * hardware and the OS do not change while the process runs: decided once
 * (the permission request and the probe have effects). */
static int amx_usable(const char **reason)
{
    static int decided = 0, verdict = -1;
    static const char *why = "";
    if (!decided) {
        decided = 1;
        if (!fm_cpu()->amx_bf16) {
            why = "not supported by this CPU";
        } else if (!fm_cpu()->amx_os) {
            why = "tile state not enabled by the OS (XCR0)";
        } else if (!fm_cpu()->avx512bf16) {
            why = "needs AVX512_BF16 too (its packing)";
        } else if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0) {
            why = "permission refused by Linux (arch_prctl ARCH_REQ_XCOMP_PERM)";
        } else {
            int ok = 0;
            if (fm_run_guarded(fm_amx_probe, &ok) != 0)
                why = "probe raised SIGILL";
            else if (!ok)
                why = "probe computed a wrong product";
            else
                verdict = 0;
        }
    }
    *reason = why;
    return verdict;
}
#endif

#ifdef FASTMLP_X86_KERNELS
/* Why a tier that needs the avx512 kernel set cannot have it: the CPU lacks
 * AVX-512, or FASTMLP_ISA chose a narrower set. */
static const char *below_avx512(void)
{
    return fm_cpu()->avx512f ? "instruction set narrowed below avx512 (FASTMLP_ISA)"
                             : "needs AVX-512, which this CPU lacks";
}
#endif

/* The tiers FASTMLP_BF16 narrows through, from the fastest. */
static const char *const bf16_order[] = {"amx", "avx512_bf16", "bfmmla", "emulated"};
#define N_BF16_ORDER 4

const char *fm_bf16_init(const char *force)
{
    /* A forced name allows that tier and the slower ones. */
    int first = 0;
    bf16_reason[0] = '\0';
    if (force != NULL && force[0] != '\0') {
        for (int i = 0; i < N_BF16_ORDER; i++)
            if (strcmp(force, bf16_order[i]) == 0)
                first = i;
        /* Not a narrowing: another CPU's arithmetic, asked for by name. */
        if (strcmp(force, "bfmmla_emulated") == 0) {
            bf16_chosen = &fm_bf16_bfmmla_emulated;
            add_reason("bfmmla_emulated", "chosen by FASTMLP_BF16 (BFMMLA's arithmetic in C)");
            return bf16_chosen->name;
        }
    }
    const char *isa = fm_kernels()->name;
    const int wide = strcmp(isa, "avx512") == 0;
    (void)wide;
    bf16_chosen = NULL;

    if (first > 0) {
        add_reason("amx", "narrowed by FASTMLP_BF16");
    } else {
#ifdef FASTMLP_AMX_KERNELS
        const char *why = NULL;
        if (!fm_cpu()->amx_bf16)
            add_reason("amx", "not supported by this CPU");
        else if (!wide)
            add_reason("amx", below_avx512());
        else if (amx_usable(&why) == 0)
            bf16_chosen = &fm_bf16_amx;
        else
            add_reason("amx", why);
#else
        add_reason("amx", "not compiled in (needs x86-64 Linux and a compiler with -mamx-bf16)");
#endif
    }
    if (bf16_chosen == NULL) {
        if (first > 1) {
            add_reason("avx512_bf16", "narrowed by FASTMLP_BF16");
        } else {
#ifdef FASTMLP_AVX512BF16_KERNELS
            if (!fm_cpu()->avx512bf16)
                add_reason("avx512_bf16", "not supported by this CPU");
            else if (!wide)
                add_reason("avx512_bf16", below_avx512());
            else
                bf16_chosen = &fm_bf16_avx512bf16;
#else
            add_reason("avx512_bf16", "not compiled in (needs a compiler with -mavx512bf16)");
#endif
        }
    }
#ifdef __aarch64__ /* (x86 builds do not mention it) */
    if (bf16_chosen == NULL) {
        if (first > 2) {
            add_reason("bfmmla", "narrowed by FASTMLP_BF16");
        } else {
#ifdef FASTMLP_BFMMLA_KERNELS
            if (!fm_cpu()->arm_bf16)
                add_reason("bfmmla", "not supported by this CPU (no FEAT_BF16)");
            else if (strcmp(isa, "neon") != 0)
                add_reason("bfmmla", "instruction set narrowed below neon (FASTMLP_ISA)");
            else
                bf16_chosen = &fm_bf16_bfmmla;
#else
            add_reason("bfmmla", "not compiled in (needs a compiler with +bf16)");
#endif
        }
    }
#endif
    if (bf16_chosen == NULL) { /* the emulation built for the chosen set */
        bf16_chosen = &fm_bf16_emulated_generic;
#ifdef FASTMLP_X86_KERNELS
        if (wide)
            bf16_chosen = &fm_bf16_emulated_avx512;
        else if (strcmp(isa, "avx2") == 0)
            bf16_chosen = &fm_bf16_emulated_avx2;
#endif
    }
    return bf16_chosen->name;
}
