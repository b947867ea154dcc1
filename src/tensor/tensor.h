/*
 * tensor/tensor.h — storage, tensor headers, sizes, memory overlap, strided
 * iteration and the grad-mode flag. Sits on base/; knows autograd nodes only
 * as the opaque pointer a tensor holds (see dob_node_base).
 */
#ifndef DOB_TENSOR_TENSOR_H
#define DOB_TENSOR_TENSOR_H

#include "base/alloc.h"
#include "base/error.h"
#include "base/threads.h"

#define DOB_MAGIC 0x7e45012bu

typedef struct dob_storage {
    void *data;
    size_t nbytes;
    const dob_allocator *allocator;   /* made data; gets it back */
    int64_t refcount;
    uint64_t version;                 /* bumped by every in-place write */
} dob_storage;

/* An autograd node, defined by the autograd layer above. What this layer
   knows of one is its first member: how to drop a reference to it, set by
   autograd when it records the node (a per-object function, as a virtual
   destructor), so releasing a tensor frees its node without calling up. */
typedef struct dob_node dob_node;
typedef struct dob_node_base {
    void (*release)(dob_node *n);
} dob_node_base;

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

/* "[2x3]" of a tensor, as dob__sizes_str */
const char *dob__shape(const dob_tensor *t);
const char *dob__dtype_name(int dtype);

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

/* ---- grad mode ------------------------------------------------------------------ */
/* The thread's grad-mode flag lives here, below autograd (as PyTorch keeps
   GradMode in c10/core): in-place writes consult it, autograd sets it. */
bool dob__grad_mode(void);
static inline bool dob__tracks(const dob_tensor *t)
{
    return t && (t->requires_grad || t->grad_fn);
}

/* ---- in-place writes ------------------------------------------------------------ */
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
/* Runs body (with int64_t off[3], start, len in scope) over every piece of at
   most `chunk` elements of the rows of it, the pieces spread over threads. A
   piece is always computed the same way, so results do not depend on the
   thread count. */
#define DOB_FOR_EACH_CHUNK(it, chunk, ...)                                             \
    do {                                                                               \
        int64_t per_row = ((it).row_len + (chunk) - 1) / (chunk);                      \
        int64_t items = (it).nrows * per_row;                                          \
        int64_t total = (it).nrows * (it).row_len;                                     \
        _Pragma("omp parallel for schedule(static) if (items > 1 && total >= DOB_PAR_MIN)") \
        for (int64_t w = 0; w < items; w++) {                                          \
            int64_t off[3];                                                            \
            dob__iter_row(&(it), w / per_row, off);                                    \
            int64_t start = (w % per_row) * (chunk);                                   \
            int64_t len = (it).row_len - start < (chunk) ? (it).row_len - start : (chunk); \
            __VA_ARGS__;                                                               \
        }                                                                              \
    } while (0)

#endif
