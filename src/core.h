/*
 * core.h — internals shared by the kernel files: the tensor and autograd node
 * structs, argument-check macros, the allocator, and strided iteration.
 * Nothing here is part of the public API.
 */
#ifndef DOB_CORE_H
#define DOB_CORE_H

#include "deepobs.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define DOB_MAGIC 0x7e45012bu
#define DOB_NODE_MAX_SAVED 12
#define DOB_NODE_MAX_OUT 4

typedef struct dob_storage {
    void *data;
    size_t nbytes;
    int64_t refcount;
    uint64_t version;      /* bumped by every in-place write */
} dob_storage;

typedef struct dob_node dob_node;

struct dob_tensor {
    uint32_t magic;
    int dtype;
    int ndim;
    int requires_grad;     /* leaf flag, or "produced by a recorded op" */
    int64_t refcount;
    int64_t size[DOB_MAX_DIMS];
    int64_t stride[DOB_MAX_DIMS];
    int64_t offset;
    dob_storage *storage;
    dob_tensor *grad;      /* leaves: where backward accumulates */
    dob_node *grad_fn;     /* producing node (holds a reference) */
    int output_nr;
};

/* ---- autograd nodes ---------------------------------------------------------- */
/* Computes gradients of the inputs from the gradients of the outputs.
   gout[k] is never NULL (missing output grads are zero-filled); gin[i] is
   pre-set to NULL and must be filled (new reference) where
   dob__input_needs_grad(n, i). Runs with grad mode off. */
typedef int (*dob_backward_fn)(dob_node *n, dob_tensor *const *gout, dob_tensor **gin);

typedef struct dob_edge {
    dob_node *node;        /* producer of the input (referenced), or NULL */
    int output_nr;
    dob_tensor *leaf;      /* a leaf that requires grad (referenced), or NULL */
    int ndim;
    int64_t size[DOB_MAX_DIMS];
} dob_edge;

struct dob_node {
    int64_t refcount;
    uint64_t seq;          /* creation order: reverse order is topological */
    uint64_t visit;        /* backward pass that last collected this node */
    const char *name;
    dob_backward_fn backward;
    bool released;         /* saved tensors already freed by a backward */
    bool failed;           /* recording ran out of memory or saved too much */
    int noutputs;
    int out_ndim[DOB_NODE_MAX_OUT];
    int64_t out_size[DOB_NODE_MAX_OUT][DOB_MAX_DIMS];
    dob_tensor *gout[DOB_NODE_MAX_OUT];   /* grads gathered during backward */
    int nsaved;
    dob_tensor *saved[DOB_NODE_MAX_SAVED];
    uint64_t saved_version[DOB_NODE_MAX_SAVED];
    int64_t iattr[16];
    double fattr[8];
    int ninputs;
    dob_edge next[];       /* one per input */
};

/* Starts recording an op with these inputs. Returns NULL (and records
   nothing) when grad mode is off or no input needs grad: callers just skip
   saving. NULL inputs are allowed (optional arguments). Recording that runs
   out of memory, or saves more than DOB_NODE_MAX_SAVED tensors, marks the
   node failed: the op ends with `return dob__recorded(n, out)`, which then
   releases out and returns NULL (the error is set) - a result must never
   silently stop tracking gradients. */
dob_node *dob__record(const char *name, dob_backward_fn fn, int ninputs,
                      dob_tensor *const *inputs, int noutputs);
/* Saves t for backward (a detached alias; its version is checked later). */
void dob__save(dob_node *n, dob_tensor *t);
/* Makes out the k-th output of n. */
void dob__set_output(dob_node *n, int k, dob_tensor *out);
/* out, or NULL (out released) when recording n failed */
dob_tensor *dob__recorded(dob_node *n, dob_tensor *out);
static inline bool dob__input_needs_grad(const dob_node *n, int i)
{
    return n->next[i].node != NULL || n->next[i].leaf != NULL;
}
bool dob__grad_mode(void);
static inline bool dob__tracks(const dob_tensor *t)
{
    return t && (t->requires_grad || t->grad_fn);
}

/* ---- errors -------------------------------------------------------------------- */
int dob__fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *dob__failp(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "[2x3]" in one of a ring of thread-local buffers (valid for a few calls) */
const char *dob__shape(const dob_tensor *t);
const char *dob__sizes_str(int ndim, const int64_t *sizes);
const char *dob__dtype_name(int dtype);

/* Argument checks. They return NULL from pointer-returning ops. */
#define DOB_CHECK(cond, ...) do { if (!(cond)) return dob__failp(__VA_ARGS__); } while (0)
#define DOB_CHECK_INT(cond, ...) do { if (!(cond)) return dob__fail(__VA_ARGS__); } while (0)
#define DOB_CHECK_TENSOR(t, op, name) \
    DOB_CHECK(dob_is_valid(t), "%s: argument '%s' is not a valid tensor (NULL or freed)", op, name)
#define DOB_CHECK_F32(t, op, name) do { DOB_CHECK_TENSOR(t, op, name); \
    DOB_CHECK((t)->dtype == DOB_F32, "%s: argument '%s' must be float32, got %s", op, name, \
              dob__dtype_name((t)->dtype)); } while (0)
#define DOB_CHECK_TENSOR_INT(t, op, name) \
    DOB_CHECK_INT(dob_is_valid(t), "%s: argument '%s' is not a valid tensor (NULL or freed)", op, name)
#define DOB_CHECK_F32_INT(t, op, name) do { DOB_CHECK_TENSOR_INT(t, op, name); \
    DOB_CHECK_INT((t)->dtype == DOB_F32, "%s: argument '%s' must be float32, got %s", op, name, \
                  dob__dtype_name((t)->dtype)); } while (0)
/* The one check of every in-place write: refuses a destination that autograd
   tracks while grad mode is on, and one whose elements share memory (an
   expanded or overlapping view, where a write would land several times). */
int dob__check_writable(const dob_tensor *t, const char *op);
/* true when two indices of t refer to one element (exact; stride 0 on a dim of
   size > 1 is the common case) */
bool dob__has_internal_overlap(const dob_tensor *t);
/* how two tensors' memory relates: none, the identical view (elementwise ops
   may read and write it in place), or some other overlap */
typedef enum { DOB_OVERLAP_NONE, DOB_OVERLAP_FULL, DOB_OVERLAP_PARTIAL } dob_overlap;
dob_overlap dob__overlap(const dob_tensor *a, const dob_tensor *b);
/* a source an in-place op can read while it writes dst: src itself (a new
   reference) unless it partially overlaps dst, else a copy of it; NULL on OOM */
dob_tensor *dob__inplace_source(const dob_tensor *dst, const dob_tensor *src);

/* ---- allocation ---------------------------------------------------------------- */
void *dob__alloc(size_t nbytes);   /* 64-byte aligned, cached; NULL + error on OOM */
void dob__free(void *p, size_t nbytes);
/* scratch buffers for kernels (im2col, ...): same cache */
#define dob__scratch_alloc dob__alloc
#define dob__scratch_free dob__free

/* ---- sizes ----------------------------------------------------------------------- */
/* Every tensor, view or not, has at most 2^40 elements counting size-0 dims as
   1: products of sizes, contiguous strides and byte counts then fit in int64
   with room to spare, so only the entry points that accept sizes need checks. */
#define DOB_MAX_NUMEL ((int64_t)1 << 40)
static inline bool dob__mul_overflow(int64_t a, int64_t b, int64_t *r) { return __builtin_mul_overflow(a, b, r); }
static inline bool dob__add_overflow(int64_t a, int64_t b, int64_t *r) { return __builtin_add_overflow(a, b, r); }
/* the element count of non-negative sizes; false when the product of the
   sizes (size 0 counted as 1) exceeds DOB_MAX_NUMEL */
bool dob__checked_numel(int ndim, const int64_t *sizes, int64_t *numel);
/* checks sizes for a new tensor or view: ndim in range, sizes >= 0, not too many
   elements; -1 with an error naming op otherwise */
int dob__check_sizes(const char *op, int ndim, const int64_t *sizes);

/* ---- tensors ------------------------------------------------------------------ */
static inline size_t dob__dtype_size(int dtype)
{
    return dtype == DOB_F32 ? 4 : dtype == DOB_I64 ? 8 : 1;
}
dob_tensor *dob__new_like_shape(int dtype, int ndim, const int64_t *sizes);  /* uninitialised */
dob_tensor *dob__empty_like(const dob_tensor *t);                           /* F32, same shape */
dob_tensor *dob__zeros_like(const dob_tensor *t);
/* a new header on t's storage with the given geometry (no autograd); NULL with
   an error when the geometry has too many elements or reaches outside the storage */
dob_tensor *dob__alias(const dob_tensor *t, int ndim, const int64_t *sizes,
                       const int64_t *strides, int64_t offset);
/* the element count of a valid tensor's shape (never overflows: see DOB_MAX_NUMEL) */
int64_t dob__numel_of(int ndim, const int64_t *sizes);
bool dob__is_contiguous(const dob_tensor *t);
bool dob__same_shape(const dob_tensor *a, const dob_tensor *b);
static inline float *dob__f32(const dob_tensor *t)
{
    return (float *)t->storage->data + t->offset;
}
static inline int64_t *dob__i64(const dob_tensor *t)
{
    return (int64_t *)t->storage->data + t->offset;
}
static inline uint8_t *dob__u8(const dob_tensor *t)
{
    return (uint8_t *)t->storage->data + t->offset;
}
static inline void dob__bump_version(dob_tensor *t) { t->storage->version++; }
/* a contiguous F32 tensor with t's values (a new reference: t itself if it
   already is contiguous) — no autograd */
dob_tensor *dob__contig(dob_tensor *t);
/* normalises a possibly negative dim; -1 if out of range */
static inline int dob__wrap_dim(int dim, int ndim)
{
    if (dim < 0) dim += ndim;
    return (dim < 0 || dim >= ndim) ? -1 : dim;
}
/* broadcast shape of a and b into out; false if incompatible */
bool dob__broadcast_shape(int an, const int64_t *as, int bn, const int64_t *bs,
                          int *on, int64_t *os);
/* strides of t viewed with the broadcast shape (0 on broadcast dims) */
void dob__broadcast_strides(const dob_tensor *t, int on, const int64_t *os, int64_t *st);
/* the gradient of an op's output, reduced to an input's shape (edge sizes) */
dob_tensor *dob__reduce_grad(dob_tensor *g, const dob_edge *e);
/* generic n-ary copy with dtype conversion, used by copy_/contiguous */
int dob__copy_strided(dob_tensor *dst, const dob_tensor *src);

/* ---- strided iteration --------------------------------------------------------- */
/* Iterates over a shape with up to three operands' strides. Dims are
   coalesced where all operands allow, the last dim is the "row". Call
   dob__iter_init, then loop rows: for (r = 0; r < it.nrows; r++) {
   dob__iter_row(&it, r, off) gives each operand's element offset of row r. } */
typedef struct dob_iter {
    int nops;
    int ndim;                         /* after coalescing, >= 1 */
    int64_t size[DOB_MAX_DIMS];
    int64_t stride[3][DOB_MAX_DIMS];
    int64_t row_len;                  /* size[ndim-1] */
    int64_t inner_stride[3];          /* stride[.][ndim-1] */
    int64_t nrows;
} dob_iter;
void dob__iter_init(dob_iter *it, int nops, int ndim, const int64_t *sizes,
                    const int64_t *const *strides);
static inline void dob__iter_row(const dob_iter *it, int64_t r, int64_t *off)
{
    for (int k = 0; k < it->nops; k++) off[k] = 0;
    for (int d = it->ndim - 2; d >= 0 && r > 0; d--) {
        int64_t i = r % it->size[d];
        r /= it->size[d];
        for (int k = 0; k < it->nops; k++) off[k] += i * it->stride[k][d];
    }
}

/* ---- threads ------------------------------------------------------------------- */
/* Work below this many elements runs on one thread (thread start-up costs
   more than it saves). */
#define DOB_PAR_MIN 32768
int dob__threads(void);
/* Calls OpenBLAS with this many threads for the duration of a GEMM. */
void dob__blas_threads_for(int64_t flops);

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

/* ---- kernels shared between op files ----------------------------------------- */
/* For kernels whose copy loops run over a few floats: keeps gcc from turning them
   into memcpy/memset calls, which cost more than such a loop. */
#define DOB_NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))

/* Row-major C = A B (A, B optionally transposed) + beta C through cblas_sgemm;
   inside an OpenMP parallel region it runs on the calling thread only. */
void dob__gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
               const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/* One pass of a stride-1 conv2d [N,C,H,W] * [OC,C,R,R] -> [N,OC,OH,OW] over the
   batch, any subset of: y = conv(x) + bias; dw = d/dw (needs x, dy); dx = d/dx
   (needs dy). pt, pl: top and left padding (bottom and right follow from OH, OW). */
typedef struct {
    int64_t N, C, H, W, OC, OH, OW, R, pt, pl;
    const float *x, *w, *bias, *dy;
    float *y, *dw, *dx;
} dob_conv_pass;
/* winograd.c: F(2x2, 3x3) and F(2x2, 5x5) for stride-1 convolutions with enough channels */
bool dob__winograd_applies(int64_t C, int64_t OC, int64_t KH, int64_t KW, int64_t sh, int64_t sw);
int dob__winograd_pass(const dob_conv_pass *p);

#endif
