/* views.c — shape ops that share storage (view, reshape, transpose, permute,
 * narrow, slice, select, expand, squeeze, unsqueeze, as_strided) and the copies
 * built on them (contiguous, clone, cat, stack).
 *
 * Backward: view-like reshapes give back gout reshaped to the input shape;
 * transpose/permute apply the inverse permutation; narrow/slice/select write
 * gout into a zero tensor of the input shape through the same view; expand
 * sums gout over the expanded dims; cat/stack hand each input its slice.
 */
#include "ops/ops.h"
#include <stdlib.h>

/* ---- helpers -------------------------------------------------------------------- */

static dob_tensor *finish_view(dob_tensor *t, dob_tensor *out, const char *name, dob_backward_fn fn,
                               const int64_t *attrs, int nattrs)
{
    if (!out) return NULL;
    dob_node *n = dob__record(name, fn, 1, &t, 1);
    if (n) {
        for (int i = 0; i < nattrs; i++) n->iattr[i] = attrs[i];
        dob__set_output(n, 0, out);
    }
    return dob__recorded(n, out);
}

/* gout viewed with the input's shape */
static int reshape_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    dob_tensor *g = dob__contig(gout[0]);
    if (!g) return -1;
    int64_t st[DOB_MAX_DIMS], s = 1;
    for (int d = n->next[0].ndim - 1; d >= 0; d--) { st[d] = s; s *= n->next[0].size[d]; }
    gin[0] = dob__alias(g, n->next[0].ndim, n->next[0].size, st, g->offset);
    dob_release(g);
    return gin[0] ? 0 : -1;
}

/* strides that express t with a new shape without copying, or false
   (PyTorch's rule: each run of old dims that are contiguous with one another
   may be split or merged freely, but runs may not be mixed) */
static bool view_strides(const dob_tensor *t, int ndim, const int64_t *sizes, int64_t *st)
{
    int on = t->ndim;
    const int64_t one = 1;
    const int64_t *osz = on ? t->size : &one, *ost = on ? t->stride : &one;
    if (!on) on = 1;
    int view_d = ndim - 1;
    int64_t base = ost[on - 1], tensor_numel = 1, view_numel = 1;
    for (int td = on - 1; td >= 0; td--) {
        tensor_numel *= osz[td];
        if (td == 0 || (osz[td - 1] != 1 && ost[td - 1] != tensor_numel * base)) {
            while (view_d >= 0 && (view_numel < tensor_numel || sizes[view_d] == 1)) {
                st[view_d] = view_numel * base;
                view_numel *= sizes[view_d];
                view_d--;
            }
            if (view_numel != tensor_numel) return false;
            if (td > 0) {
                base = ost[td - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    return view_d == -1;
}

static int infer_sizes(const char *op, const dob_tensor *t, int ndim, const int64_t *in, int64_t *out)
{
    DOB_CHECK_INT(ndim >= 0 && ndim <= DOB_MAX_DIMS, "%s: %d dims (at most %d)", op, ndim, DOB_MAX_DIMS);
    DOB_CHECK_INT(ndim == 0 || in, "%s: sizes is NULL", op);
    int infer = -1;
    int64_t known = 1, numel = dob__numel_of(t->ndim, t->size);
    for (int d = 0; d < ndim; d++) {
        out[d] = in[d];
        if (in[d] == -1) {
            DOB_CHECK_INT(infer < 0, "%s: only one size may be -1", op);
            infer = d;
        } else {
            DOB_CHECK_INT(in[d] >= 0, "%s: invalid size %lld", op, (long long)in[d]);
            DOB_CHECK_INT(!dob__mul_overflow(known, in[d], &known), "%s: shape %s is invalid for a tensor %s "
                          "(%lld elements)", op, dob__sizes_str(ndim, in), dob__shape(t), (long long)numel);
        }
    }
    if (infer >= 0) {
        DOB_CHECK_INT(known > 0 && numel % known == 0, "%s: cannot infer the -1 size of %s for a tensor %s",
                      op, dob__sizes_str(ndim, in), dob__shape(t));
        out[infer] = numel / known;
        known *= out[infer];
    }
    DOB_CHECK_INT(known == numel, "%s: shape %s is invalid for a tensor %s (%lld elements)", op,
                  dob__sizes_str(ndim, in), dob__shape(t), (long long)numel);
    /* size-0 dims allow any other size: keep the shape within the element limit */
    return dob__check_sizes(op, ndim, out);
}

/* ---- view / reshape ------------------------------------------------------------ */

dob_tensor *dob_view(dob_tensor *t, int ndim, const int64_t *sizes)
{
    DOB_CHECK_TENSOR(t, "view", "self");
    int64_t sz[DOB_MAX_DIMS], st[DOB_MAX_DIMS];
    if (infer_sizes("view", t, ndim, sizes, sz)) return NULL;
    if (dob__is_contiguous(t) || dob__numel_of(ndim, sz) == 0) {
        int64_t s = 1;
        for (int d = ndim - 1; d >= 0; d--) { st[d] = s; s *= sz[d]; }
    } else if (!view_strides(t, ndim, sz, st)) {
        return dob__failp("view: a tensor %s with these strides cannot be viewed as %s; "
                          "use reshape() (which copies) or contiguous() first",
                          dob__shape(t), dob__sizes_str(ndim, sz));
    }
    return finish_view(t, dob__alias(t, ndim, sz, st, t->offset), "view", reshape_backward, NULL, 0);
}

dob_tensor *dob_reshape(dob_tensor *t, int ndim, const int64_t *sizes)
{
    DOB_CHECK_TENSOR(t, "reshape", "self");
    int64_t sz[DOB_MAX_DIMS], st[DOB_MAX_DIMS];
    if (infer_sizes("reshape", t, ndim, sizes, sz)) return NULL;
    if (dob__is_contiguous(t) || view_strides(t, ndim, sz, st)) return dob_view(t, ndim, sz);
    dob_tensor *c = dob_contiguous(t);
    if (!c) return NULL;
    dob_tensor *r = dob_view(c, ndim, sz);
    dob_release(c);
    return r;
}

static dob_tensor *squeeze_impl(dob_tensor *t, int dim)
{
    int64_t sz[DOB_MAX_DIMS], st[DOB_MAX_DIMS];
    int n = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (t->size[d] == 1 && (dim < 0 || d == dim)) continue;
        sz[n] = t->size[d];
        st[n++] = t->stride[d];
    }
    return finish_view(t, dob__alias(t, n, sz, st, t->offset), "squeeze", reshape_backward, NULL, 0);
}

dob_tensor *dob_squeeze(dob_tensor *t, int dim)
{
    DOB_CHECK_TENSOR(t, "squeeze", "self");
    int d = dob__wrap_dim(dim, t->ndim);
    DOB_CHECK(d >= 0, "squeeze: dim %d out of range for a tensor %s", dim, dob__shape(t));
    return squeeze_impl(t, d);
}

dob_tensor *dob_squeeze_all(dob_tensor *t)
{
    DOB_CHECK_TENSOR(t, "squeeze", "self");
    return squeeze_impl(t, -1);
}

dob_tensor *dob_unsqueeze(dob_tensor *t, int dim)
{
    DOB_CHECK_TENSOR(t, "unsqueeze", "self");
    int d0 = dob__wrap_dim(dim, t->ndim + 1);
    DOB_CHECK(d0 >= 0, "unsqueeze: dim %d out of range for a tensor %s", dim, dob__shape(t));
    DOB_CHECK(t->ndim < DOB_MAX_DIMS, "unsqueeze: tensor %s already has %d dims", dob__shape(t), DOB_MAX_DIMS);
    int64_t sz[DOB_MAX_DIMS], st[DOB_MAX_DIMS];
    for (int d = 0, k = 0; d <= t->ndim; d++) {
        if (d == d0) {
            sz[d] = 1;
            st[d] = d < t->ndim ? t->stride[d] * t->size[d] : 1;
        } else {
            sz[d] = t->size[k];
            st[d] = t->stride[k++];
        }
    }
    return finish_view(t, dob__alias(t, t->ndim + 1, sz, st, t->offset), "unsqueeze", reshape_backward, NULL, 0);
}

/* ---- transpose / permute -------------------------------------------------------- */

static int permute_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    int inv[DOB_MAX_DIMS], nd = n->next[0].ndim;
    for (int d = 0; d < nd; d++) inv[n->iattr[d]] = d;
    gin[0] = dob_permute(gout[0], nd, inv);
    return gin[0] ? 0 : -1;
}

dob_tensor *dob_permute(dob_tensor *t, int ndim, const int *dims)
{
    DOB_CHECK_TENSOR(t, "permute", "self");
    DOB_CHECK(ndim == t->ndim && (ndim == 0 || dims), "permute: %d dims given for a tensor %s",
              ndim, dob__shape(t));
    int64_t sz[DOB_MAX_DIMS], st[DOB_MAX_DIMS], attrs[DOB_MAX_DIMS];
    bool seen[DOB_MAX_DIMS] = {false};
    for (int d = 0; d < ndim; d++) {
        int s = dob__wrap_dim(dims[d], ndim);
        DOB_CHECK(s >= 0 && !seen[s], "permute: dims must be a permutation of 0..%d for a tensor %s",
                  ndim - 1, dob__shape(t));
        seen[s] = true;
        sz[d] = t->size[s];
        st[d] = t->stride[s];
        attrs[d] = s;
    }
    return finish_view(t, dob__alias(t, ndim, sz, st, t->offset), "permute", permute_backward, attrs, ndim);
}

dob_tensor *dob_transpose(dob_tensor *t, int dim0, int dim1)
{
    DOB_CHECK_TENSOR(t, "transpose", "self");
    int a = dob__wrap_dim(dim0, t->ndim), b = dob__wrap_dim(dim1, t->ndim);
    DOB_CHECK(a >= 0 && b >= 0, "transpose: dims %d, %d out of range for a tensor %s", dim0, dim1,
              dob__shape(t));
    int perm[DOB_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++) perm[d] = d;
    perm[a] = b;
    perm[b] = a;
    return dob_permute(t, t->ndim, perm);
}

/* ---- narrow / slice / select ----------------------------------------------------- */

/* iattr: dim, start, step, count, keep (0 for select, which drops the dim) */
static int slice_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    dob_tensor *g = dob_zeros(DOB_F32, n->next[0].ndim, n->next[0].size);
    if (!g) return -1;
    int dim = (int)n->iattr[0];
    int64_t sz[DOB_MAX_DIMS], st[DOB_MAX_DIMS], off = n->iattr[1] * g->stride[dim];
    int k = 0;
    for (int d = 0; d < g->ndim; d++) {
        if (d == dim) {
            if (!n->iattr[4]) continue;
            sz[k] = n->iattr[3];
            st[k++] = n->iattr[3] > 1 ? g->stride[d] * n->iattr[2] : g->stride[d];
        } else {
            sz[k] = g->size[d];
            st[k++] = g->stride[d];
        }
    }
    dob_tensor *win = dob__alias(g, k, sz, st, off);
    if (!win) { dob_release(g); return -1; }
    dob__copy_strided(win, gout[0]);
    dob_release(win);
    gin[0] = g;
    return 0;
}

dob_tensor *dob_slice(dob_tensor *t, int dim, int64_t start, int64_t stop, int64_t step)
{
    DOB_CHECK_TENSOR(t, "slice", "self");
    int d = dob__wrap_dim(dim, t->ndim);
    DOB_CHECK(d >= 0, "slice: dim %d out of range for a tensor %s", dim, dob__shape(t));
    DOB_CHECK(step >= 1, "slice: step must be >= 1 (got %lld)", (long long)step);
    int64_t n = t->size[d];
    if (start < 0) start += n;
    if (stop < 0) stop += n;
    if (stop > n) stop = n;
    DOB_CHECK(start >= 0 && start <= n, "slice: start %lld out of range for size %lld of dim %d of %s",
              (long long)start, (long long)n, d, dob__shape(t));
    int64_t count = stop > start ? (stop - start - 1) / step + 1 : 0;
    int64_t sz[DOB_MAX_DIMS], st[DOB_MAX_DIMS];
    memcpy(sz, t->size, sizeof sz);
    memcpy(st, t->stride, sizeof st);
    sz[d] = count;
    /* with two or more elements step < n, so the product stays small */
    st[d] = count > 1 ? t->stride[d] * step : t->stride[d];
    int64_t attrs[5] = {d, start, step, count, 1};
    return finish_view(t, dob__alias(t, t->ndim, sz, st, t->offset + start * t->stride[d]),
                       "slice", slice_backward, attrs, 5);
}

dob_tensor *dob_narrow(dob_tensor *t, int dim, int64_t start, int64_t length)
{
    DOB_CHECK_TENSOR(t, "narrow", "self");
    int d = dob__wrap_dim(dim, t->ndim);
    DOB_CHECK(d >= 0, "narrow: dim %d out of range for a tensor %s", dim, dob__shape(t));
    DOB_CHECK(start >= 0 && length >= 0 && start <= t->size[d] && length <= t->size[d] - start,
              "narrow: [%lld, %lld) is out of range for size %lld of dim %d of %s", (long long)start,
              (long long)(start + length), (long long)t->size[d], d, dob__shape(t));
    return dob_slice(t, d, start, start + length, 1);
}

dob_tensor *dob_select(dob_tensor *t, int dim, int64_t index)
{
    DOB_CHECK_TENSOR(t, "select", "self");
    int d = dob__wrap_dim(dim, t->ndim);
    DOB_CHECK(d >= 0, "select: dim %d out of range for a tensor %s", dim, dob__shape(t));
    int64_t i = index < 0 ? index + t->size[d] : index;
    DOB_CHECK(i >= 0 && i < t->size[d], "select: index %lld out of range for size %lld of dim %d of %s",
              (long long)index, (long long)t->size[d], d, dob__shape(t));
    int64_t sz[DOB_MAX_DIMS], st[DOB_MAX_DIMS];
    int k = 0;
    for (int j = 0; j < t->ndim; j++) {
        if (j == d) continue;
        sz[k] = t->size[j];
        st[k++] = t->stride[j];
    }
    int64_t attrs[5] = {d, i, 1, 1, 0};
    return finish_view(t, dob__alias(t, k, sz, st, t->offset + i * t->stride[d]),
                       "select", slice_backward, attrs, 5);
}

/* ---- expand -------------------------------------------------------------------- */

static int expand_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    gin[0] = dob_sum_to_shape(gout[0], n->next[0].ndim, n->next[0].size);
    return gin[0] ? 0 : -1;
}

dob_tensor *dob_expand(dob_tensor *t, int ndim, const int64_t *sizes)
{
    DOB_CHECK_TENSOR(t, "expand", "self");
    DOB_CHECK(ndim >= 0 && ndim <= DOB_MAX_DIMS, "expand: %d dims (at most %d are supported)", ndim, DOB_MAX_DIMS);
    DOB_CHECK(ndim == 0 || sizes, "expand: sizes is NULL");
    int64_t sz[DOB_MAX_DIMS], st[DOB_MAX_DIMS];
    /* the sizes asked for first (negative, beyond the limit, wrapping; -1 keeps a size), then
       whether the tensor can take them */
    for (int d = 0; d < ndim; d++) sz[d] = sizes[d] == -1 ? 1 : sizes[d];
    if (dob__check_sizes("expand", ndim, sz)) return NULL;
    DOB_CHECK(ndim >= t->ndim, "expand: cannot expand a tensor %s to %d dims", dob__shape(t), ndim);
    for (int d = 0; d < ndim; d++) {
        int s = d - (ndim - t->ndim);
        DOB_CHECK(s >= 0 || sizes[d] >= 0, "expand: size -1 is not allowed for a new leading dim");
        sz[d] = (s >= 0 && sizes[d] == -1) ? t->size[s] : sizes[d];
        if (s < 0) {
            st[d] = 0;
        } else if (sz[d] == t->size[s]) {
            st[d] = t->stride[s];
        } else {
            DOB_CHECK(t->size[s] == 1, "expand: the size %lld of dim %d of %s cannot be expanded to %s",
                      (long long)t->size[s], s, dob__shape(t), dob__sizes_str(ndim, sizes));
            st[d] = 0;
        }
    }
    if (dob__check_sizes("expand", ndim, sz)) return NULL;
    return finish_view(t, dob__alias(t, ndim, sz, st, t->offset), "expand", expand_backward, NULL, 0);
}

/* ---- as_strided ----------------------------------------------------------------------- */

/* Not recorded: its gradient would have to scatter into the input through an
   arbitrary, possibly overlapping geometry. Its users (restoring saved views,
   lua/deepobs/serialize.lua) work on plain data. */
dob_tensor *dob_as_strided(dob_tensor *t, int ndim, const int64_t *sizes, const int64_t *strides,
                           int64_t storage_offset)
{
    DOB_CHECK_TENSOR(t, "as_strided", "self");
    DOB_CHECK(ndim >= 0 && ndim <= DOB_MAX_DIMS, "as_strided: %d dims (0 to %d are supported)", ndim,
              DOB_MAX_DIMS);
    DOB_CHECK(ndim == 0 || (sizes && strides), "as_strided: sizes or strides is NULL");
    DOB_CHECK(!(dob__grad_mode() && dob__tracks(t)), "as_strided: the tensor %s requires grad and "
              "as_strided is not differentiable; call it under no_grad or on a detach()ed tensor",
              dob__shape(t));
    int64_t avail = dob_storage_numel(t);
    DOB_CHECK(storage_offset >= 0 && storage_offset <= avail,
              "as_strided: storage offset %lld (0-based) is outside the storage of %lld elements",
              (long long)storage_offset, (long long)avail);
    const int64_t too_many = (int64_t)1 << 40;
    int64_t numel = 1, last = storage_offset;
    for (int d = 0; d < ndim; d++) {
        DOB_CHECK(sizes[d] >= 0 && strides[d] >= 0, "as_strided: size %lld and stride %lld of dim %d "
                  "(both must be >= 0)", (long long)sizes[d], (long long)strides[d], d);
        DOB_CHECK(sizes[d] == 0 || numel <= too_many / sizes[d], "as_strided: sizes %s give too many "
                  "elements", dob__sizes_str(ndim, sizes));
        numel *= sizes[d];
    }
    for (int d = 0; d < ndim && numel > 0; d++) {
        int64_t reach = sizes[d] - 1;
        DOB_CHECK(strides[d] == 0 || reach <= (avail - 1 - last) / strides[d],
                  "as_strided: sizes %s with strides %s from offset %lld (0-based) reach past the "
                  "storage of %lld elements", dob__sizes_str(ndim, sizes), dob__sizes_str(ndim, strides),
                  (long long)storage_offset, (long long)avail);
        last += reach * strides[d];
    }
    DOB_CHECK(numel == 0 || last < avail, "as_strided: offset %lld (0-based) is outside the storage "
              "of %lld elements", (long long)storage_offset, (long long)avail);
    return dob__alias(t, ndim, sizes, strides, storage_offset);
}

/* ---- contiguous / clone ----------------------------------------------------------- */

static int identity_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    (void)n;
    gout[0]->refcount++;
    gin[0] = gout[0];
    return 0;
}

dob_tensor *dob_clone(dob_tensor *t)
{
    DOB_CHECK_TENSOR(t, "clone", "self");
    dob_tensor *r = dob__new_like_shape(t->dtype, t->ndim, t->size);
    if (r) dob__copy_strided(r, t);
    return finish_view(t, r, "clone", identity_backward, NULL, 0);
}

dob_tensor *dob_contiguous(dob_tensor *t)
{
    DOB_CHECK_TENSOR(t, "contiguous", "self");
    if (dob__is_contiguous(t)) { t->refcount++; return t; }
    return dob_clone(t);
}

/* ---- cat / stack ------------------------------------------------------------------ */

/* iattr[0] = dim; iattr[1] = 1 for stack; input i starts at offset i in gout */
static int cat_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    int dim = (int)n->iattr[0];
    bool stack = n->iattr[1];
    int64_t at = 0;
    for (int i = 0; i < n->ninputs; i++) {
        int64_t len = stack ? 1 : n->next[i].size[dim];
        if (dob__input_needs_grad(n, i)) {
            dob_tensor *g = stack ? dob_select(gout[0], dim, at) : dob_narrow(gout[0], dim, at, len);
            if (!g) return -1;
            gin[i] = dob__contig(g);
            dob_release(g);
            if (!gin[i]) return -1;
        }
        at += len;
    }
    return 0;
}

static dob_tensor *cat_impl(int n, dob_tensor *const *ts, int dim, bool stack)
{
    const char *op = stack ? "stack" : "cat";
    DOB_CHECK(n >= 1 && ts, "%s: need at least one tensor", op);
    for (int i = 0; i < n; i++)
        DOB_CHECK(dob_is_valid(ts[i]), "%s: tensor %d is not valid (NULL or freed)", op, i + 1);
    const dob_tensor *t0 = ts[0];
    int ndim = t0->ndim + (stack ? 1 : 0);
    DOB_CHECK(ndim >= 1 && ndim <= DOB_MAX_DIMS, "%s: cannot %s tensors of shape %s", op, op, dob__shape(t0));
    int d = dob__wrap_dim(dim, ndim);
    DOB_CHECK(d >= 0, "%s: dim %d out of range for tensors %s", op, dim, dob__shape(t0));
    int64_t sz[DOB_MAX_DIMS];
    for (int i = 0; i < n; i++) {
        DOB_CHECK(ts[i]->dtype == t0->dtype, "%s: tensor %d is %s but tensor 1 is %s", op, i + 1,
                  dob__dtype_name(ts[i]->dtype), dob__dtype_name(t0->dtype));
        DOB_CHECK(ts[i]->ndim == t0->ndim, "%s: tensor %d %s and tensor 1 %s differ in dims", op,
                  i + 1, dob__shape(ts[i]), dob__shape(t0));
        for (int j = 0; j < t0->ndim; j++)
            DOB_CHECK(ts[i]->size[j] == t0->size[j] || (!stack && j == d),
                      "%s: tensor %d %s does not match tensor 1 %s outside dim %d", op, i + 1,
                      dob__shape(ts[i]), dob__shape(t0), d);
    }
    for (int j = 0, k = 0; j < ndim; j++) {
        if (stack && j == d) { sz[j] = n; continue; }
        sz[j] = t0->size[k++];
    }
    if (!stack) {
        sz[d] = 0;
        for (int i = 0; i < n; i++)
            DOB_CHECK(!dob__add_overflow(sz[d], ts[i]->size[d], &sz[d]), "%s: the result is too large", op);
    }
    dob_tensor *out = dob__new_like_shape(t0->dtype, ndim, sz);
    if (!out) return NULL;
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        int64_t len = stack ? 1 : ts[i]->size[d];
        int64_t wsz[DOB_MAX_DIMS];
        memcpy(wsz, out->size, sizeof wsz);
        wsz[d] = len;
        dob_tensor *win = dob__alias(out, ndim, wsz, out->stride, at * out->stride[d]);
        if (!win) { dob_release(out); return NULL; }
        if (stack) {   /* view input i with the size-1 dim it fills */
            win->ndim = t0->ndim;
            for (int j = d; j < t0->ndim; j++) { win->size[j] = win->size[j + 1]; win->stride[j] = win->stride[j + 1]; }
        }
        dob__copy_strided(win, ts[i]);
        dob_release(win);
        at += len;
    }
    dob_node *node = dob__record(op, cat_backward, n, ts, 1);
    if (node) {
        node->iattr[0] = d;
        node->iattr[1] = stack;
        dob__set_output(node, 0, out);
    }
    return dob__recorded(node, out);
}

dob_tensor *dob_cat(int n, dob_tensor *const *ts, int dim) { return cat_impl(n, ts, dim, false); }
dob_tensor *dob_stack(int n, dob_tensor *const *ts, int dim) { return cat_impl(n, ts, dim, true); }
