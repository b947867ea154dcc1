/*
 * base/threads.h — how many threads kernels and OpenBLAS use.
 */
#ifndef DOB_BASE_THREADS_H
#define DOB_BASE_THREADS_H

#include "base/error.h"

/* Work below this many elements runs on one thread (thread start-up costs
   more than it saves). */
#define DOB_PAR_MIN 32768
int dob__threads(void);
/* Calls OpenBLAS with this many threads for the duration of a GEMM. */
void dob__blas_threads_for(int64_t flops);

#endif
