/* parallel.c — thread count for our OpenMP kernels and OpenBLAS, and what
 * OpenBLAS reports about itself.
 *
 * OpenBLAS is linked in its OpenMP build so that it and our kernels share one
 * libgomp pool (two spinning pools on two cores cost up to 20x). Small GEMMs
 * run on one thread: below a few MFLOP, waking a second thread costs more
 * than it saves. That build takes its thread count from OpenMP's setting
 * (openblas_set_num_threads writes omp_set_num_threads), which our own
 * parallel regions read too: a small GEMM narrows it and puts it back right
 * after, or every kernel after it would run on one thread.
 */
#include "base/threads.h"
#include <omp.h>

void openblas_set_num_threads(int n);
char *openblas_get_corename(void);
char *openblas_get_config(void);

static int threads = 0;       /* 0: not set yet, use OpenMP's default */

int dob__threads(void)
{
    if (threads <= 0) threads = omp_get_max_threads();
    return threads;
}

int dob_max_threads(void)
{
    int cpus = omp_get_num_procs(), most = cpus < 64 ? 4 * cpus : 256;
    return most < 16 ? 16 : most;
}

int dob_set_threads(int n)
{
    int most = dob_max_threads();
    DOB_CHECK_INT(n >= 1 && n <= most, "set_threads: need 1 <= n <= %d (4 per CPU, at least 16, at most 256; "
                  "this process may use %d CPUs), got %d", most, omp_get_num_procs(), n);
    threads = n;
    openblas_set_num_threads(n);
    omp_set_num_threads(n);
    return 0;
}

int dob_get_threads(void) { return omp_get_max_threads(); }

#define SMALL_GEMM_FLOPS 8e6

bool dob__blas_threads_begin(int64_t flops)
{
    bool narrow = (double)flops < SMALL_GEMM_FLOPS && !omp_in_parallel() && dob__threads() > 1;
    if (narrow) omp_set_num_threads(1);
    return narrow;
}

void dob__blas_threads_end(bool narrowed)
{
    if (narrowed) omp_set_num_threads(dob__threads());
}

const char *dob_blas_corename(void) { return openblas_get_corename(); }
const char *dob_blas_config(void) { return openblas_get_config(); }
