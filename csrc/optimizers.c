/* optimizers: to be written (see fastmlp.h). */
#include "fastmlp.h"
