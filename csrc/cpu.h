/*
 * What this CPU and its OS run, and the choice of the kernel set and the
 * bfloat16 tier made from it (cpu.c: the one file that asks the hardware,
 * reads FASTMLP_ISA / FASTMLP_BF16's values and decides; the kernel files
 * only provide kernels). Internal (included by internal.h).
 */
#ifndef FASTMLP_CPU_H
#define FASTMLP_CPU_H

/* Features read once (CPUID and XGETBV on x86, getauxval on Linux aarch64,
 * sysctl on macOS arm64): a
 * vector feature counts only if the OS also saves its registers. */
typedef struct {
    int avx2_fma;   /* AVX2 and FMA, YMM state enabled (XCR0) */
    int avx512f;    /* AVX-512F, ZMM and opmask state enabled */
    int avx512bf16; /* AVX512_BF16 (with avx512f) */
    int amx_bf16;   /* AMX-TILE and AMX-BF16 in CPUID */
    int amx_os;     /* tile state enabled by the OS (XCR0 bits 17, 18) */
    int arm_bf16;   /* aarch64 FEAT_BF16 (Linux: AT_HWCAP2 & HWCAP2_BF16;
                       macOS: hw.optional.arm.FEAT_BF16) */
} fm_cpu_features;

/* The features of this machine (detected on the first call). */
const fm_cpu_features *fm_cpu(void);

/* Name of the widest kernel set this CPU runs (what fm_init picks without
 * FASTMLP_ISA): "avx512", "avx2" or "generic". */
const char *fm_isa_best_name(void);

/* Run a function with SIGILL caught: 0 if it returned, -1 if it raised
 * SIGILL (the previous handler is restored either way), or -1 without
 * calling it where no guard exists (Windows). */
int fm_run_guarded(void (*fn)(void *), void *arg);

#endif /* FASTMLP_CPU_H */
