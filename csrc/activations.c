/* activations: to be written (see fastmlp.h). */
#include "fastmlp.h"
void fm_activation_forward_f32(fm_activation act, int64_t m, int64_t n, const float *z,
                               int64_t ldz, float *out, int64_t ldo) {}
void fm_activation_forward_f64(fm_activation act, int64_t m, int64_t n, const double *z,
                               int64_t ldz, double *out, int64_t ldo) {}
