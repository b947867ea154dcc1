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
/* Around a GEMM of this many flops: a small one (outside a parallel region) runs
   on one thread; _end(what _begin returned) gives every thread back. */
bool dob__blas_threads_begin(int64_t flops);
void dob__blas_threads_end(bool narrowed);

#endif
