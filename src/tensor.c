/* tensor.c — storage and tensor handles: lifetime, creation, metadata,
 * element access, dtype conversion, fill and copy.
 *
 * A tensor is a header (sizes, strides in elements, offset) on a
 * reference-counted storage. Headers are pooled: a released header goes to a
 * free list with its magic cleared, so a stale handle is recognised as
 * invalid until the header is reused.
 */
#include "core.h"
#include <math.h>
#include <stdlib.h>

int64_t dob__live_tensors, dob__live_nodes;
static dob_tensor *header_pool;   /* reuses the storage field as the link */

const char *dob_version(void) { return "0.1.0"; }

int dob_is_valid(const dob_tensor *t) { return t && t->magic == DOB_MAGIC; }

int64_t dob__numel_of(int ndim, const int64_t *sizes)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= sizes[d];
    return n;
}

bool dob__checked_numel(int ndim, const int64_t *sizes, int64_t *numel)
{
    int64_t n = 1, bound = 1;
    for (int d = 0; d < ndim; d++) {
        if (sizes[d] < 0 || dob__mul_overflow(bound, sizes[d] ? sizes[d] : 1, &bound) || bound > DOB_MAX_NUMEL)
            return false;
        n *= sizes[d];
    }
    *numel = n;
    return true;
}

int dob__check_sizes(const char *op, int ndim, const int64_t *sizes)
{
    DOB_CHECK_INT(ndim >= 0 && ndim <= DOB_MAX_DIMS, "%s: %d dims (at most %d are supported)",
                  op, ndim, DOB_MAX_DIMS);
    DOB_CHECK_INT(ndim == 0 || sizes, "%s: sizes is NULL", op);
    for (int d = 0; d < ndim; d++)
        DOB_CHECK_INT(sizes[d] >= 0, "%s: negative size %lld in dim %d", op, (long long)sizes[d], d);
    int64_t n;
    DOB_CHECK_INT(dob__checked_numel(ndim, sizes, &n), "%s: a tensor of %s elements is too large (at most "
                  "2^40 elements, counting size-0 dims as 1)", op, dob__sizes_str(ndim, sizes));
    return 0;
}

static dob_storage *storage_new(size_t nbytes)
{
    dob_storage *s = malloc(sizeof *s);
    if (!s) return dob__failp("out of memory (storage header)");
    s->data = dob__alloc(nbytes);
    if (!s->data) { free(s); return NULL; }
    s->nbytes = nbytes;
    s->refcount = 1;
    s->version = 0;
    return s;
}

static void storage_release(dob_storage *s)
{
    if (--s->refcount == 0) {
        dob__free(s->data, s->nbytes);
        free(s);
    }
}

static dob_tensor *header_new(void)
{
    dob_tensor *t = header_pool;
    if (t) header_pool = (dob_tensor *)t->storage;
    else if (!(t = malloc(sizeof *t))) return dob__failp("out of memory (tensor header)");
    memset(t, 0, sizeof *t);
    t->magic = DOB_MAGIC;
    t->refcount = 1;
    dob__live_tensors++;
    return t;
}

void dob_retain(dob_tensor *t)
{
    if (dob_is_valid(t)) t->refcount++;
}

extern void dob__node_release(dob_node *n);

void dob_release(dob_tensor *t)
{
    if (!dob_is_valid(t) || --t->refcount > 0) return;
    if (t->grad) dob_release(t->grad);
    if (t->grad_fn) dob__node_release(t->grad_fn);
    storage_release(t->storage);
    t->magic = 0;
    t->storage = (dob_storage *)header_pool;
    header_pool = t;
    dob__live_tensors--;
}

static void set_contiguous_strides(dob_tensor *t)
{
    int64_t s = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        t->stride[d] = s;
        s *= t->size[d];
    }
}

dob_tensor *dob__new_like_shape(int dtype, int ndim, const int64_t *sizes)
{
    DOB_CHECK(dtype == DOB_F32 || dtype == DOB_I64 || dtype == DOB_U8, "unknown dtype %d", dtype);
    if (dob__check_sizes("empty", ndim, sizes)) return NULL;
    int64_t n = dob__numel_of(ndim, sizes);
    dob_tensor *t = header_new();
    if (!t) return NULL;
    t->dtype = dtype;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->size[d] = sizes[d];
    set_contiguous_strides(t);
    t->storage = storage_new((size_t)n * dob__dtype_size(dtype));
    if (!t->storage) {
        t->storage = (dob_storage *)header_pool;
        t->magic = 0;
        header_pool = t;
        dob__live_tensors--;
        return NULL;
    }
    return t;
}

dob_tensor *dob_empty(int dtype, int ndim, const int64_t *sizes)
{
    return dob__new_like_shape(dtype, ndim, sizes);
}

dob_tensor *dob__empty_like(const dob_tensor *t)
{
    return dob__new_like_shape(DOB_F32, t->ndim, t->size);
}

dob_tensor *dob_zeros(int dtype, int ndim, const int64_t *sizes)
{
    dob_tensor *t = dob__new_like_shape(dtype, ndim, sizes);
    if (t) memset(t->storage->data, 0, t->storage->nbytes);
    return t;
}

dob_tensor *dob__zeros_like(const dob_tensor *t)
{
    return dob_zeros(DOB_F32, t->ndim, t->size);
}

static int check_scalar(const char *op, int dtype, double v);
static int fill(dob_tensor *t, double value, const char *op);
static void store(void *base, int dtype, int64_t off, double v);

dob_tensor *dob_full(int dtype, int ndim, const int64_t *sizes, double value)
{
    DOB_CHECK(dtype == DOB_F32 || dtype == DOB_I64 || dtype == DOB_U8, "full: unknown dtype %d", dtype);
    if (check_scalar("full", dtype, value)) return NULL;
    dob_tensor *t = dob__new_like_shape(dtype, ndim, sizes);
    if (t && fill(t, value, "full")) { dob_release(t); return NULL; }
    return t;
}

dob_tensor *dob_from_buffer(int dtype, int ndim, const int64_t *sizes, const void *data)
{
    DOB_CHECK(data, "from_buffer: data is NULL");
    dob_tensor *t = dob__new_like_shape(dtype, ndim, sizes);
    if (t) memcpy(t->storage->data, data, (size_t)dob__numel_of(ndim, sizes) * dob__dtype_size(dtype));
    return t;
}

dob_tensor *dob_from_doubles(int dtype, int ndim, const int64_t *sizes, const double *values)
{
    DOB_CHECK(dtype == DOB_F32 || dtype == DOB_I64 || dtype == DOB_U8, "from_doubles: unknown dtype %d", dtype);
    if (dob__check_sizes("from_doubles", ndim, sizes)) return NULL;
    int64_t n = dob__numel_of(ndim, sizes);
    DOB_CHECK(values || n == 0, "from_doubles: values is NULL");
    for (int64_t i = 0; i < n; i++)
        if (check_scalar("from_doubles", dtype, values[i])) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", dob_last_error());
            return dob__failp("%s (element %lld, 0-based)", msg, (long long)i);
        }
    dob_tensor *t = dob__new_like_shape(dtype, ndim, sizes);
    if (t)
        for (int64_t i = 0; i < n; i++) store(t->storage->data, dtype, i, values[i]);
    return t;
}

dob_tensor *dob_arange(int dtype, double start, double stop, double step)
{
    DOB_CHECK(dtype == DOB_F32 || dtype == DOB_I64 || dtype == DOB_U8, "arange: unknown dtype %d", dtype);
    DOB_CHECK(step != 0 && isfinite(start) && isfinite(stop) && isfinite(step),
              "arange: need finite start, stop and a nonzero step (got %g, %g, %g)", start, stop, step);
    double span = ceil((stop - start) / step);
    DOB_CHECK(!(span > (double)DOB_MAX_NUMEL), "arange: [%g, %g) by %g has %g elements (at most 2^40)", start,
              stop, step, span);
    int64_t n = span > 0 ? (int64_t)span : 0;
    /* the values are monotone, so the ends bound the range; with integral
       first and second values every value is integral. (Checking each of up
       to 2^40 values took hours before the allocation could fail.) */
    int64_t probes[3] = {0, 1, n - 1};
    for (int k = 0; k < 3; k++)
        if (probes[k] >= 0 && probes[k] < n && check_scalar("arange", dtype, start + (double)probes[k] * step))
            return NULL;
    dob_tensor *t = dob__new_like_shape(dtype, 1, &n);
    if (!t) return NULL;
    for (int64_t i = 0; i < n; i++) store(t->storage->data, dtype, i, start + (double)i * step);
    return t;
}

/* the last element a geometry reaches (offset when it has no elements);
   false on overflow or a negative stride or offset */
static bool reach_of(int ndim, const int64_t *sizes, const int64_t *strides, int64_t offset, int64_t *last)
{
    int64_t r = offset;
    if (offset < 0) return false;
    for (int d = 0; d < ndim; d++) {
        int64_t step;
        if (sizes[d] == 0) { *last = offset; return true; }
        if (strides[d] < 0 || dob__mul_overflow(sizes[d] - 1, strides[d], &step) || dob__add_overflow(r, step, &r))
            return false;
    }
    *last = r;
    return true;
}

dob_tensor *dob__alias(const dob_tensor *t, int ndim, const int64_t *sizes,
                       const int64_t *strides, int64_t offset)
{
    int64_t n, last, avail = (int64_t)(t->storage->nbytes / dob__dtype_size(t->dtype));
    if (ndim < 0 || ndim > DOB_MAX_DIMS || !dob__checked_numel(ndim, sizes, &n))
        return dob__failp("view: a view %s of a tensor %s has too many elements (at most 2^40)",
                          dob__sizes_str(ndim < 0 || ndim > DOB_MAX_DIMS ? 0 : ndim, sizes), dob__shape(t));
    if (!reach_of(ndim, sizes, strides, offset, &last) || (n > 0 && last >= avail))
        return dob__failp("view: a view %s with strides %s at offset %lld reaches outside the storage of "
                          "%lld elements of a tensor %s", dob__sizes_str(ndim, sizes), dob__sizes_str(ndim, strides),
                          (long long)offset, (long long)avail, dob__shape(t));
    dob_tensor *a = header_new();
    if (!a) return NULL;
    a->dtype = t->dtype;
    a->ndim = ndim;
    for (int d = 0; d < ndim; d++) {
        a->size[d] = sizes[d];
        a->stride[d] = strides[d];
    }
    a->offset = offset;
    a->storage = t->storage;
    t->storage->refcount++;
    return a;
}

/* ---- metadata ------------------------------------------------------------------ */

int dob_dtype(const dob_tensor *t) { return dob_is_valid(t) ? t->dtype : -1; }
int dob_ndim(const dob_tensor *t) { return dob_is_valid(t) ? t->ndim : -1; }

int64_t dob_size(const dob_tensor *t, int dim)
{
    if (!dob_is_valid(t)) return -1;
    dim = dob__wrap_dim(dim, t->ndim);
    return dim < 0 ? -1 : t->size[dim];
}

int64_t dob_stride(const dob_tensor *t, int dim)
{
    if (!dob_is_valid(t)) return -1;
    dim = dob__wrap_dim(dim, t->ndim);
    return dim < 0 ? -1 : t->stride[dim];
}

int64_t dob_numel(const dob_tensor *t)
{
    return dob_is_valid(t) ? dob__numel_of(t->ndim, t->size) : -1;
}

int64_t dob_storage_offset(const dob_tensor *t) { return dob_is_valid(t) ? t->offset : -1; }

bool dob__is_contiguous(const dob_tensor *t)
{
    int64_t s = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->size[d] != 1 && t->stride[d] != s) return false;
        s *= t->size[d];
    }
    return true;
}

int dob_is_contiguous(const dob_tensor *t) { return dob_is_valid(t) && dob__is_contiguous(t); }

bool dob__same_shape(const dob_tensor *a, const dob_tensor *b)
{
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->size[d] != b->size[d]) return false;
    return true;
}

void *dob_data(const dob_tensor *t)
{
    if (!dob_is_valid(t)) return NULL;
    return (char *)t->storage->data + (size_t)t->offset * dob__dtype_size(t->dtype);
}

int dob_same_storage(const dob_tensor *a, const dob_tensor *b)
{
    return dob_is_valid(a) && dob_is_valid(b) && a->storage == b->storage;
}

uint64_t dob_storage_version(const dob_tensor *t) { return dob_is_valid(t) ? t->storage->version : 0; }
void dob_mark_modified(dob_tensor *t) { if (dob_is_valid(t)) dob__bump_version(t); }

/* offset in elements of logical element `index` */
static int64_t element_offset(const dob_tensor *t, int64_t index)
{
    int64_t off = t->offset;
    for (int d = t->ndim - 1; d >= 0; d--) {
        off += (index % t->size[d]) * t->stride[d];
        index /= t->size[d];
    }
    return off;
}

/* ---- conversions ------------------------------------------------------------------ */

/* Scalars given to fill_, set, full, arange and from_doubles must be exact in
   the dtype: int64 takes integers in [-2^63, 2^63), uint8 integers in 0..255,
   float32 anything but a finite value beyond its range (it would become inf).
   So NaN and inf are float32 values only. */
static int check_scalar(const char *op, int dtype, double v)
{
    switch (dtype) {
    case DOB_F32:
        /* below FLT_MAX + half an ulp a double rounds to a finite float */
        DOB_CHECK_INT(!isfinite(v) || fabs(v) < 0x1.ffffffp+127,
                      "%s: %g is beyond the range of float32 (about +-3.4e38)", op, v);
        return 0;
    case DOB_I64:
        DOB_CHECK_INT(v == trunc(v) && v >= -0x1p63 && v < 0x1p63,
                      "%s: %.17g is not an int64 value (an integer in [-2^63, 2^63))", op, v);
        return 0;
    default:
        DOB_CHECK_INT(v == trunc(v) && v >= 0 && v <= 255,
                      "%s: %.17g is not a uint8 value (an integer in 0..255)", op, v);
        return 0;
    }
}

/* Casts (to_dtype, copy_ between dtypes) truncate toward zero, as C, PyTorch
   and TensorFlow do; a value whose truncation does not fit the target is an
   error, never a wrapped number. */
static bool cast_fits(double v, int dtype)
{
    switch (dtype) {
    case DOB_I64: return v >= -0x1p63 && v < 0x1p63;
    case DOB_U8: return v > -1 && v < 256;
    default: return true;   /* float32 rounds int64 values; uint8 always fits */
    }
}

static double load(const void *base, int dtype, int64_t off);

static int check_cast(const char *op, const dob_tensor *src, int dtype)
{
    if (dtype == DOB_F32 || src->dtype == dtype || src->dtype == DOB_U8) return 0;
    const int64_t *strides[1] = {src->stride};
    dob_iter it;
    dob__iter_init(&it, 1, src->ndim, src->size, strides);
    for (int64_t r = 0; r < it.nrows; r++) {
        int64_t off[1];
        dob__iter_row(&it, r, off);
        for (int64_t i = 0; i < it.row_len; i++) {
            double v = load(src->storage->data, src->dtype, src->offset + off[0] + i * it.inner_stride[0]);
            if (!cast_fits(v, dtype))
                return dob__fail("%s: the %s value %.17g does not fit in %s (%s); clamp the values first",
                                 op, dob__dtype_name(src->dtype), v, dob__dtype_name(dtype),
                                 dtype == DOB_U8 ? "0..255 after truncation" : "[-2^63, 2^63), not NaN");
        }
    }
    return 0;
}

static double load(const void *base, int dtype, int64_t off)
{
    switch (dtype) {
    case DOB_F32: return ((const float *)base)[off];
    case DOB_I64: return (double)((const int64_t *)base)[off];
    default: return ((const uint8_t *)base)[off];
    }
}

static void store(void *base, int dtype, int64_t off, double v)
{
    switch (dtype) {
    case DOB_F32: ((float *)base)[off] = (float)v; break;
    case DOB_I64: ((int64_t *)base)[off] = (int64_t)v; break;
    default: ((uint8_t *)base)[off] = (uint8_t)v; break;
    }
}

double dob_get(const dob_tensor *t, int64_t index)
{
    if (!dob_is_valid(t)) { dob__fail("get: invalid tensor"); return NAN; }
    int64_t n = dob__numel_of(t->ndim, t->size);
    if (index < 0 || index >= n) {
        dob__fail("get: index %lld out of range for a tensor of %lld elements %s",
                  (long long)index, (long long)n, dob__shape(t));
        return NAN;
    }
    return load(t->storage->data, t->dtype, element_offset(t, index));
}

int dob_set(dob_tensor *t, int64_t index, double value)
{
    DOB_CHECK_TENSOR_INT(t, "set", "self");
    if (dob__check_writable(t, "set") || check_scalar("set", t->dtype, value)) return -1;
    int64_t n = dob__numel_of(t->ndim, t->size);
    DOB_CHECK_INT(index >= 0 && index < n, "set: index %lld out of range for a tensor of %lld elements %s",
                  (long long)index, (long long)n, dob__shape(t));
    store(t->storage->data, t->dtype, element_offset(t, index), value);
    dob__bump_version(t);
    return 0;
}

/* ---- memory overlap --------------------------------------------------------------- */

/* exact answer for geometries the stride rule cannot decide: marks every
   element's offset (relative to t->offset) in a bitmap of `reach + 1` bits */
static bool overlap_by_marking(const dob_tensor *t, int64_t reach)
{
    uint8_t *seen = calloc((size_t)(reach / 8 + 1), 1);
    if (!seen) return true;   /* cannot tell: refusing the write is the safe answer */
    const int64_t *strides[1] = {t->stride};
    dob_iter it;
    dob__iter_init(&it, 1, t->ndim, t->size, strides);
    bool twice = false;
    for (int64_t r = 0; r < it.nrows && !twice; r++) {
        int64_t off[1];
        dob__iter_row(&it, r, off);
        for (int64_t i = 0; i < it.row_len; i++) {
            int64_t o = off[0] + i * it.inner_stride[0];
            if (seen[o / 8] & (1u << (o % 8))) { twice = true; break; }
            seen[o / 8] |= (uint8_t)(1u << (o % 8));
        }
    }
    free(seen);
    return twice;
}

bool dob__has_internal_overlap(const dob_tensor *t)
{
    if (dob__is_contiguous(t)) return false;
    int64_t sz[DOB_MAX_DIMS], st[DOB_MAX_DIMS];
    int n = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (t->size[d] == 0) return false;
        if (t->size[d] == 1) continue;
        if (t->stride[d] == 0) return true;
        /* insertion by stride, smallest first */
        int k = n++;
        for (; k > 0 && st[k - 1] > t->stride[d]; k--) { st[k] = st[k - 1]; sz[k] = sz[k - 1]; }
        st[k] = t->stride[d];
        sz[k] = t->size[d];
    }
    /* no overlap when each dim steps past everything the smaller-stride dims reach */
    int64_t reach = 0;
    bool nested = true;
    for (int k = 0; k < n; k++) {
        if (st[k] <= reach) nested = false;
        reach += (sz[k] - 1) * st[k];
    }
    return nested ? false : overlap_by_marking(t, reach);
}

/* the last element offset t reaches (t must have elements) */
static int64_t last_offset(const dob_tensor *t)
{
    int64_t last = t->offset;
    for (int d = 0; d < t->ndim; d++) last += (t->size[d] - 1) * t->stride[d];
    return last;
}

dob_overlap dob__overlap(const dob_tensor *a, const dob_tensor *b)
{
    if (a->storage != b->storage || dob__numel_of(a->ndim, a->size) == 0 ||
        dob__numel_of(b->ndim, b->size) == 0)
        return DOB_OVERLAP_NONE;
    bool same = a->offset == b->offset && dob__same_shape(a, b);
    for (int d = 0; same && d < a->ndim; d++) same = a->size[d] == 1 || a->stride[d] == b->stride[d];
    if (same) return DOB_OVERLAP_FULL;
    if (last_offset(a) < b->offset || last_offset(b) < a->offset) return DOB_OVERLAP_NONE;
    return DOB_OVERLAP_PARTIAL;
}

int dob__check_writable(const dob_tensor *t, const char *op)
{
    if (dob__grad_mode() && dob__tracks(t))
        return dob__fail("%s: in-place write to a tensor that requires grad %s; do it under "
                         "no_grad (optimizer updates) or on a detached copy", op, dob__shape(t));
    if (dob__has_internal_overlap(t))
        return dob__fail("%s: unsupported operation: more than one element of the written-to tensor %s "
                         "refers to a single memory location (an expand()ed or overlapping view); clone() "
                         "it first", op, dob__shape(t));
    return 0;
}

dob_tensor *dob__inplace_source(const dob_tensor *dst, const dob_tensor *src)
{
    if (dob__overlap(dst, src) != DOB_OVERLAP_PARTIAL) {
        ((dob_tensor *)src)->refcount++;
        return (dob_tensor *)src;
    }
    dob_tensor *c = dob__new_like_shape(src->dtype, src->ndim, src->size);
    if (c) dob__copy_strided(c, src);
    return c;
}

/* ---- fill and copy ----------------------------------------------------------- */

int dob_fill_(dob_tensor *t, double value)
{
    DOB_CHECK_TENSOR_INT(t, "fill_", "self");
    if (dob__check_writable(t, "fill_")) return -1;
    return fill(t, value, "fill_");
}

static int fill(dob_tensor *t, double value, const char *op)
{
    if (check_scalar(op, t->dtype, value)) return -1;
    const int64_t *strides[1] = {t->stride};
    dob_iter it;
    dob__iter_init(&it, 1, t->ndim, t->size, strides);
    int64_t off[1];
    for (int64_t r = 0; r < it.nrows; r++) {
        dob__iter_row(&it, r, off);
        int64_t base = t->offset + off[0], s = it.inner_stride[0];
        if (t->dtype == DOB_F32) {
            float *p = (float *)t->storage->data + base, v = (float)value;
            for (int64_t i = 0; i < it.row_len; i++) p[i * s] = v;
        } else {
            for (int64_t i = 0; i < it.row_len; i++) store(t->storage->data, t->dtype, base + i * s, value);
        }
    }
    dob__bump_version(t);
    return 0;
}

int dob__copy_strided(dob_tensor *dst, const dob_tensor *src)
{
    int64_t sst[DOB_MAX_DIMS];
    dob__broadcast_strides(src, dst->ndim, dst->size, sst);
    const int64_t *strides[2] = {dst->stride, sst};
    dob_iter it;
    dob__iter_init(&it, 2, dst->ndim, dst->size, strides);
    bool f32 = dst->dtype == DOB_F32 && src->dtype == DOB_F32;
    int64_t rows = it.nrows;
#pragma omp parallel for schedule(static) if (rows > 1 && rows * it.row_len >= DOB_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int64_t off[2];
        dob__iter_row(&it, r, off);
        int64_t d0 = dst->offset + off[0], s0 = src->offset + off[1];
        int64_t ds = it.inner_stride[0], ss = it.inner_stride[1];
        if (f32) {
            float *d = (float *)dst->storage->data + d0;
            const float *s = (const float *)src->storage->data + s0;
            if (ds == 1 && ss == 1) memcpy(d, s, (size_t)it.row_len * sizeof(float));
            else for (int64_t i = 0; i < it.row_len; i++) d[i * ds] = s[i * ss];
        } else {
            for (int64_t i = 0; i < it.row_len; i++)
                store(dst->storage->data, dst->dtype, d0 + i * ds,
                      load(src->storage->data, src->dtype, s0 + i * ss));
        }
    }
    return 0;
}

int dob_copy_(dob_tensor *dst, const dob_tensor *src)
{
    DOB_CHECK_TENSOR_INT(dst, "copy_", "dst");
    DOB_CHECK_TENSOR_INT(src, "copy_", "src");
    int on;
    int64_t os[DOB_MAX_DIMS];
    DOB_CHECK_INT(dob__broadcast_shape(dst->ndim, dst->size, src->ndim, src->size, &on, os) &&
                  on == dst->ndim && dob__numel_of(on, os) == dob__numel_of(dst->ndim, dst->size),
                  "copy_: source %s cannot be broadcast to destination %s", dob__shape(src), dob__shape(dst));
    for (int d = 0; d < on; d++)
        DOB_CHECK_INT(os[d] == dst->size[d], "copy_: source %s cannot be broadcast to destination %s",
                      dob__shape(src), dob__shape(dst));
    if (dob__check_writable(dst, "copy_") || check_cast("copy_", src, dst->dtype)) return -1;
    dob_tensor *s = dob__inplace_source(dst, src);
    if (!s) return -1;
    dob__copy_strided(dst, s);
    dob_release(s);
    dob__bump_version(dst);
    return 0;
}

dob_tensor *dob_to_dtype(dob_tensor *t, int dtype)
{
    DOB_CHECK_TENSOR(t, "to_dtype", "self");
    DOB_CHECK(dtype == DOB_F32 || dtype == DOB_I64 || dtype == DOB_U8, "to_dtype: unknown dtype %d", dtype);
    if (check_cast("to_dtype", t, dtype)) return NULL;
    dob_tensor *r = dob__new_like_shape(dtype, t->ndim, t->size);
    if (r) dob__copy_strided(r, t);
    return r;
}

dob_tensor *dob__contig(dob_tensor *t)
{
    if (dob__is_contiguous(t)) { t->refcount++; return t; }
    dob_tensor *r = dob__new_like_shape(t->dtype, t->ndim, t->size);
    if (r) dob__copy_strided(r, t);
    return r;
}

/* ---- broadcasting and iteration ------------------------------------------------ */

bool dob__broadcast_shape(int an, const int64_t *as, int bn, const int64_t *bs,
                          int *on, int64_t *os)
{
    int n = an > bn ? an : bn;
    for (int i = 0; i < n; i++) {
        int64_t a = i < an ? as[an - 1 - i] : 1, b = i < bn ? bs[bn - 1 - i] : 1;
        if (a != b && a != 1 && b != 1) return false;
        os[n - 1 - i] = a == 1 ? b : a;
    }
    *on = n;
    return true;
}

void dob__broadcast_strides(const dob_tensor *t, int on, const int64_t *os, int64_t *st)
{
    for (int i = 0; i < on; i++) {
        int d = t->ndim - on + i;
        st[i] = (d < 0 || t->size[d] == 1) ? 0 : t->stride[d];
    }
    (void)os;
}

void dob__iter_init(dob_iter *it, int nops, int ndim, const int64_t *sizes,
                    const int64_t *const *strides)
{
    it->nops = nops;
    int n = 0;
    /* drop size-1 dims, then merge neighbours whose strides line up for every operand */
    for (int d = 0; d < ndim; d++) {
        if (sizes[d] == 1) continue;
        if (n > 0) {
            bool merge = true;
            for (int k = 0; k < nops; k++)
                if (it->stride[k][n - 1] != strides[k][d] * sizes[d]) { merge = false; break; }
            if (merge) {
                it->size[n - 1] *= sizes[d];
                for (int k = 0; k < nops; k++) it->stride[k][n - 1] = strides[k][d];
                continue;
            }
        }
        it->size[n] = sizes[d];
        for (int k = 0; k < nops; k++) it->stride[k][n] = strides[k][d];
        n++;
    }
    bool empty = false;
    for (int d = 0; d < ndim; d++) if (sizes[d] == 0) empty = true;
    if (n == 0) {
        it->size[0] = 1;
        for (int k = 0; k < nops; k++) it->stride[k][0] = 1;
        n = 1;
    }
    it->ndim = n;
    it->row_len = it->size[n - 1];
    for (int k = 0; k < nops; k++) it->inner_stride[k] = it->stride[k][n - 1];
    it->nrows = 1;
    for (int d = 0; d < n - 1; d++) it->nrows *= it->size[d];
    if (empty) it->nrows = 0;
}
