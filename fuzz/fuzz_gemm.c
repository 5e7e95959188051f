/*
 * libFuzzer target: fm_gemm_* and fm_dense_forward_* (float and double) on
 * every kernel set the CPU runs, with random shapes (0..40 rows and
 * columns, k up to 600), transposes, leading dimensions (including one too
 * short, which must be refused), alpha, beta, bias and activation. Checks
 * the result against a triple loop; AddressSanitizer checks that no kernel
 * touches memory outside each array's exact span. scripts/fuzz.sh builds it.
 */
#include <math.h>

#include "fuzz_bytes.h"

#define T float
#define SUF f32
#include "fuzz_gemm_case.h"
#undef T
#undef SUF
#define T double
#define SUF f64
#include "fuzz_gemm_case.h"
#undef T
#undef SUF

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_bytes in = {data, size};
    fuzz_pick_isa(&in);
    if (fuzz_u8(&in) & 1)
        run_case_f64(&in);
    else
        run_case_f32(&in);
    return 0;
}
