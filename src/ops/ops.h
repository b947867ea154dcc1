/*
 * ops/ops.h — what the op files share: vector math, the GEMM and conv
 * kernels, and gradient reduction to an input's shape. Top layer: sits on
 * autograd/ (which brings tensor/ and base/).
 */
#ifndef DOB_OPS_OPS_H
#define DOB_OPS_OPS_H

#include "autograd/autograd.h"

/* ---- vector math ------------------------------------------------------------------ */
/* glibc's libmvec (x86-64, glibc >= 2.35) has vector versions of these; declared
   simd, gcc calls them from vectorised loops (16 lanes a call under
   AVX-512) instead of one scalar libm call per element. Their results are within
   a few ulp of libm's, and a given element always takes the same path (fixed
   chunks), so the same inputs give the same bits at any thread count. expf and
   logf may set errno, so they vectorise only with -fno-math-errno (Makefile). */
#if defined(__x86_64__) && defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 35) && defined(_OPENMP)
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
float logf(float);
#pragma omp declare simd notinbranch
float erff(float);
#pragma omp declare simd notinbranch
float tanhf(float);
#pragma omp declare simd notinbranch
float log1pf(float);
#pragma omp declare simd notinbranch
float expm1f(float);
#endif

/* For kernels whose copy loops run over a few floats: keeps gcc from turning them
   into memcpy/memset calls, which cost more than such a loop. */
#define DOB_NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))

/* ---- fused activations (elementwise.c) ------------------------------------------------ */
/* relu as the unary op computes it: a NaN passes, -0 and negatives become +0 */
static inline float dob__relu(float x) { return x > 0 || x != x ? x : 0.0f; }
/* relu's gradient factor at a point whose relu output (or input) is y: 1 where y > 0 or NaN, else 0 */
static inline float dob__relu_slope(float y) { return y > 0 || y != y ? 1.0f : 0.0f; }
/* row[t] = relu(row[t]) for t < n, on the calling thread: a fused activation over one row of a
   kernel's scratch while it is in cache */
static inline void dob__relu_row(float *restrict row, int64_t n)
{
#pragma omp simd
    for (int64_t t = 0; t < n; t++) row[t] = dob__relu(row[t]);
}
/* fails (with op's name) unless act is DOB_ACT_NONE or DOB_ACT_RELU */
int dob__check_activation(const char *op, int act);
/* y[i] = relu(y[i]) over n contiguous floats (in parallel for large n) */
void dob__relu_inplace(float *y, int64_t n);
/* g * relu'(y), contiguous (a new reference): the gradient at the input of a fused relu whose
   output is y; g itself, masked in place, when nothing else holds it */
dob_tensor *dob__relu_grad(dob_tensor *g, dob_tensor *y);
/* Where an elementwise mask of gradient g goes: *gc = g made contiguous (a new reference), and
   the result is gc again (masked in place) when nothing else holds g, else a new buffer of its
   shape; NULL, *gc NULL, when out of memory. */
dob_tensor *dob__mask_target(dob_tensor *g, dob_tensor **gc);

/* the gradient of an op's output, reduced to an input's shape (edge sizes) */
dob_tensor *dob__reduce_grad(dob_tensor *g, const dob_edge *e);

/* Row-major C = alpha A B (A, B optionally transposed) + beta C through cblas_sgemm,
   on one thread when small (dob__blas_threads_begin) or inside an OpenMP parallel region. */
void dob__gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
               int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
/* C = A B (A optionally transposed), beta 0, on the calling thread without packing: for a
   small A (a Winograd pass's transformed filters) against many columns of B. */
void dob__gemm_nopack(bool ta, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                      int64_t ldb, float *C, int64_t ldc);

/* random.c: keep[i] = 1 with probability p (else 0) for i < n, the draws that
   bernoulli_(p) on n elements would make (same counters and bits), as bytes; it
   advances the generator as that fill does. Dropout's masks: with x given, also
   out[i] = x[i] (keep[i] ? scale : 0) in the same pass (x, out may be NULL). */
int dob__bernoulli_bytes(uint8_t *keep, int64_t n, double p, const float *x, float *out, float scale);

/* One pass of a stride-1 conv2d [N,C,H,W] * [OC,C,KH,KW] -> [N,OC,OH,OW] over the
   batch, any subset of: y = act(conv(x) + bias); dw = d/dw (needs x, dy); dx = d/dx
   (needs dy). pt, pl: top and left padding (bottom and right follow from OH, OW). */
typedef struct {
    int64_t N, C, H, W, OC, OH, OW, KH, KW, pt, pl;
    const float *x, *w, *bias, *dy;
    float *y, *dw, *dx;
    int act;                     /* y's activation, DOB_ACT_NONE or DOB_ACT_RELU */
} dob_conv_pass;
/* winograd.c: F(2x2, 3x3) and F(2x2, 5x5) for stride-1 convolutions with enough channels */
bool dob__winograd_applies(int64_t C, int64_t OC, int64_t KH, int64_t KW, int64_t sh, int64_t sw);
int dob__winograd_pass(const dob_conv_pass *p);
/* winograd1d.c: F(m, r) along the long side of 1 x r and r x 1 stride-1 convolutions */
bool dob__winograd1d_applies(int64_t C, int64_t OC, int64_t KH, int64_t KW, int64_t sh, int64_t sw);
int dob__winograd1d_pass(const dob_conv_pass *p);

#endif
