/*
 * deepobs.h — the public C API of the deepobs engine.
 *
 * A small library of strided tensors, CPU kernels and a reverse-mode autograd
 * graph, written to be driven from LuaJIT's FFI (lua/deepobs/C.lua turns this
 * header, with the api/ parts it includes, into ffi.cdef text).
 *
 * Tensors. `dob_tensor` is an opaque, reference-counted handle: sizes, strides
 * (in elements), an offset and a reference-counted storage. Views (view,
 * transpose, narrow, select, expand, ...) share the storage. dtypes are
 * DOB_F32 (all arithmetic), DOB_I64 (labels, indices) and DOB_U8 (raw bytes,
 * masks). Every function that returns a `dob_tensor *` returns a new reference
 * that the caller must dob_release(); NULL means failure.
 *
 * Errors. Functions returning `int` return 0 on success and -1 on failure;
 * functions returning a pointer return NULL on failure. The message (naming
 * the op and the shapes involved) is in dob_last_error(). The library never
 * prints, exits, longjmps or calls back into Lua.
 *
 * Autograd. An op records a node when grad mode is on and one of its inputs
 * requires grad; the output then carries that node. dob_backward(root, g)
 * walks the reachable nodes in reverse creation order, accumulating gradients
 * into leaves' .grad tensors (fan-out accumulates). A node's saved tensors are
 * freed as soon as its backward ran (unless retain_graph). Modifying a saved tensor in place before backward is
 * detected (storage version counters) and is an error.
 *
 * Memory. Storage comes from a size-class caching allocator: freed blocks are
 * kept for reuse rather than returned to the OS, because a first touch of a
 * fresh page is expensive. The cache is bounded: by default live + cached
 * bytes stay within the peak of live bytes plus an eighth or 256 MB (what was
 * used least recently goes first); dob_mem_set_cache_limit() sets a fixed cap
 * on the cached bytes instead. dob_mem_trim() empties the cache.
 *
 * Threads. Kernels use OpenMP; reductions split work into fixed-size chunks
 * combined in order, so the same seed and thread count give bit-identical
 * results. GEMM goes to OpenBLAS (its OpenMP build), which shares the same
 * pool. dob_set_threads() sets both.
 */
#ifndef DEEPOBS_H
#define DEEPOBS_H

#include <stdint.h>
#include <stddef.h>

#define DOB_MAX_DIMS 8

typedef struct dob_tensor dob_tensor;

enum { DOB_F32 = 0, DOB_I64 = 1, DOB_U8 = 2 };

/* ---- errors, version ------------------------------------------------------ */
const char *dob_last_error(void);
void dob_clear_error(void);
const char *dob_version(void);

/* ---- lifetime -------------------------------------------------------------- */
void dob_retain(dob_tensor *t);
void dob_release(dob_tensor *t);
int dob_is_valid(const dob_tensor *t);

/* ---- creation ---------------------------------------------------------------- */
dob_tensor *dob_empty(int dtype, int ndim, const int64_t *sizes);
dob_tensor *dob_zeros(int dtype, int ndim, const int64_t *sizes);
dob_tensor *dob_full(int dtype, int ndim, const int64_t *sizes, double value);
/* copies numel elements of the given dtype from data (a C array) */
dob_tensor *dob_from_buffer(int dtype, int ndim, const int64_t *sizes, const void *data);
/* numel values converted to the dtype; each must be exact in it (see fill_) */
dob_tensor *dob_from_doubles(int dtype, int ndim, const int64_t *sizes, const double *values);
/* [start, stop) by step */
dob_tensor *dob_arange(int dtype, double start, double stop, double step);

/* ---- metadata ------------------------------------------------------------------ */
int dob_dtype(const dob_tensor *t);
int dob_ndim(const dob_tensor *t);
int64_t dob_size(const dob_tensor *t, int dim);
int64_t dob_stride(const dob_tensor *t, int dim);
int64_t dob_numel(const dob_tensor *t);
int64_t dob_storage_offset(const dob_tensor *t);
int dob_is_contiguous(const dob_tensor *t);
/* pointer to element [0,...,0]; NULL for an invalid handle */
void *dob_data(const dob_tensor *t);
/* true when a and b view the same storage */
int dob_same_storage(const dob_tensor *a, const dob_tensor *b);
/* an opaque identity of t's storage, equal for every tensor that shares it and
   stable while one of them lives; NULL for an invalid handle */
const void *dob_storage_id(const dob_tensor *t);
/* the storage's length in elements of t's dtype; -1 for an invalid handle */
int64_t dob_storage_numel(const dob_tensor *t);
uint64_t dob_storage_version(const dob_tensor *t);
/* bump the storage version after writing through dob_data() */
void dob_mark_modified(dob_tensor *t);
/* element access by flat index into the logical (row-major) order */
double dob_get(const dob_tensor *t, int64_t index);
int dob_set(dob_tensor *t, int64_t index, double value);

/* ---- views (differentiable; share storage) ------------------------------------ */
/* view: like torch view — fails if the strides cannot express the new shape.
   One size may be -1 (inferred). reshape: a view when possible, else a copy. */
dob_tensor *dob_view(dob_tensor *t, int ndim, const int64_t *sizes);
dob_tensor *dob_reshape(dob_tensor *t, int ndim, const int64_t *sizes);
dob_tensor *dob_transpose(dob_tensor *t, int dim0, int dim1);
dob_tensor *dob_permute(dob_tensor *t, int ndim, const int *dims);
dob_tensor *dob_narrow(dob_tensor *t, int dim, int64_t start, int64_t length);
/* elements start, start+step, ... < stop along dim (step >= 1) */
dob_tensor *dob_slice(dob_tensor *t, int dim, int64_t start, int64_t stop, int64_t step);
dob_tensor *dob_select(dob_tensor *t, int dim, int64_t index);
dob_tensor *dob_expand(dob_tensor *t, int ndim, const int64_t *sizes);
dob_tensor *dob_squeeze(dob_tensor *t, int dim);      /* dim must have size 1 or is kept */
dob_tensor *dob_squeeze_all(dob_tensor *t);            /* drops every size-1 dim */
dob_tensor *dob_unsqueeze(dob_tensor *t, int dim);
/* any geometry on t's storage (offset and strides in elements, 0-based): sizes
   and strides >= 0, every element inside the storage. Not differentiable: it
   refuses a tensor that autograd tracks while grad mode is on; the result is a
   leaf that does not require grad. */
dob_tensor *dob_as_strided(dob_tensor *t, int ndim, const int64_t *sizes, const int64_t *strides,
                           int64_t storage_offset);
/* a new handle on the same storage that is cut from the graph */
dob_tensor *dob_detach(dob_tensor *t);

/* ---- copies --------------------------------------------------------------------- */
dob_tensor *dob_contiguous(dob_tensor *t);      /* differentiable */
dob_tensor *dob_clone(dob_tensor *t);           /* differentiable */
/* integer targets truncate toward zero; a value that then does not fit (NaN,
   inf, beyond int64, outside 0..255 for uint8) is an error, never wrapped */
dob_tensor *dob_to_dtype(dob_tensor *t, int dtype);
dob_tensor *dob_cat(int n, dob_tensor *const *ts, int dim);    /* differentiable */
dob_tensor *dob_stack(int n, dob_tensor *const *ts, int dim);  /* differentiable */

/* ---- in-place (not recorded; error on tensors that require grad in grad mode) --- */
/* Every in-place write (here, the in-place elementwise ops, random fills,
   set_grad's target, batch norm's running statistics) refuses a destination
   in which two indices share one element (an expand()ed view): PyTorch's
   rule. A source that overlaps the destination in memory without being the
   same view is copied first, so x:copy_(x:t()) gives the transpose. */
/* value must be exact in t's dtype: int64 integers in [-2^63, 2^63), uint8
   integers in 0..255, float32 anything but finite values beyond +-3.4e38 */
int dob_fill_(dob_tensor *t, double value);
/* copies src into dst, broadcasting src, converting dtype (as dob_to_dtype) */
int dob_copy_(dob_tensor *dst, const dob_tensor *src);

/* ---- autograd -------------------------------------------------------------------- */
int dob_requires_grad(const dob_tensor *t);
int dob_set_requires_grad(dob_tensor *t, int flag);   /* leaves only */
int dob_is_leaf(const dob_tensor *t);
/* new reference to t's accumulated gradient, or NULL without error */
dob_tensor *dob_grad(const dob_tensor *t);
/* sets (g may be NULL to clear) the tensor that backward accumulates into:
   g must be F32 with t's shape; a view into a flat buffer is fine */
int dob_set_grad(dob_tensor *t, dob_tensor *g);
/* grad_root may be NULL when root has one element (the seed is 1) */
int dob_backward(dob_tensor *root, dob_tensor *grad_root, int retain_graph);
int dob_grad_enabled(void);
/* returns the previous mode */
int dob_set_grad_enabled(int enabled);
/* name of the op that produced t ("" for leaves) */
const char *dob_grad_fn_name(const dob_tensor *t);

/* ---- memory ---------------------------------------------------------------------- */
typedef struct dob_mem_stats {
    int64_t live_bytes;        /* held by storages now */
    int64_t cached_bytes;      /* freed, kept for reuse */
    int64_t peak_live_bytes;
    int64_t allocated_total;   /* bytes handed out since start (monotone) */
    int64_t live_tensors;      /* tensor handles alive */
    int64_t live_nodes;        /* autograd nodes alive */
    int64_t obtained_total;    /* bytes of fresh pages handed out since start (new memory
                                  and purged blocks reused: page faults, not cache hits) */
    int64_t evicted_total;     /* cached bytes given back to the OS to keep the bound */
} dob_mem_stats;
void dob_mem_get_stats(dob_mem_stats *out);
int64_t dob_mem_live_bytes(void);
int64_t dob_mem_allocated_total(void);
/* the cap on cached bytes: >= 0 a fixed number of bytes, -1 the automatic
   budget (live + cached within the peak of live bytes plus an eighth or 256 MB) */
int dob_mem_set_cache_limit(int64_t bytes);
int64_t dob_mem_cache_limit(void);
/* peak_live_bytes := live_bytes, so the peak of a phase can be measured (the
   automatic cache budget then follows the new peak) */
void dob_mem_reset_peak(void);
void dob_mem_trim(void);

/* ---- threads and BLAS --------------------------------------------------------------- */
/* 1 <= n <= dob_max_threads(): 4 per CPU this process may use, at least 16,
   at most 256 (more threads than that only cost memory and start-up time) */
int dob_set_threads(int n);
int dob_max_threads(void);
/* the threads a kernel runs on now (OpenMP's setting, which OpenBLAS shares) */
int dob_get_threads(void);
const char *dob_blas_corename(void);
const char *dob_blas_config(void);

/* ---- op families ------------------------------------------------------------------ */
/* The activation conv2d, linear and batch_norm may apply to their output in the
   same pass (the pre-activation tensor is never made): NONE, or RELU with relu's
   semantics (a NaN passes, and so does the gradient at a NaN). */
enum { DOB_ACT_NONE = 0, DOB_ACT_RELU = 1 };
#include "api/random.h"
#include "api/elementwise.h"
#include "api/reduce.h"
#include "api/matmul.h"
#include "api/conv.h"
#include "api/pool.h"
#include "api/norm.h"
#include "api/nnops.h"
#include "api/loss.h"
#include "api/augment.h"
#include "api/image.h"

#endif
