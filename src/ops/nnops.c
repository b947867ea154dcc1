/* nnops.c — neural-network building blocks: dropout, softmax / log-softmax,
 * embedding, one_hot, index_select. (The LSTM is in lstm.c, attention in
 * attention.c.)
 *
 *   dropout(x, p, training)   x [..] -> [..]; mask m = bernoulli(1-p) / (1-p)
 *                              drawn from the global Philox generator (kept
 *                              as bytes: keep or not); out = x m.  Backward: g m.
 *                              p = 0 or training = 0: x itself (a new reference).
 *   softmax(x, dim)           y = exp(x - max) / sum exp(x - max) along dim
 *                              Backward: y (g - sum(g y))
 *   log_softmax(x, dim)       y = x - max - log sum exp(x - max)
 *                              Backward: g - exp(y) sum(g)
 *   embedding(W [V,D], idx)   idx I64 [..] -> [.., D], out[k] = W[idx[k]]
 *                              Backward: dW[idx[k]] += g[k], serial over k
 *                              (deterministic; repeated indices accumulate).
 *   one_hot(idx, depth)       I64 [..] -> F32 [.., depth] (not differentiable)
 *   index_select(t, dim, idx) idx I64 [K]: out = t with dim replaced by K
 *                              entries t[.., idx[k], ..]. Backward: scatter-add.
 *
 * Sums accumulate in double; row-wise work is split over rows only, so results
 * do not depend on the thread count.
 */
#include "ops/ops.h"
#include <math.h>
#include <stdlib.h>

/* ---- dropout ------------------------------------------------------------------- */

/* saved[0] = the keep mask (bytes, x's shape); fattr[0] = the scale 1/(1-p) */
static int dropout_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    if (!dob__input_needs_grad(n, 0)) return 0;
    dob_tensor *m = n->saved[0];
    dob_tensor *g = dob__contig(gout[0]);
    if (!g) return -1;
    dob_tensor *r = dob__new_like_shape(DOB_F32, m->ndim, m->size);
    if (!r) { dob_release(g); return -1; }
    int64_t total = dob__numel_of(m->ndim, m->size);
    const float *pg = dob__f32(g);
    const uint8_t *pm = dob__u8(m);
    float *pr = dob__f32(r), scale = (float)n->fattr[0];
#pragma omp parallel for schedule(static) if (total >= DOB_PAR_MIN)
    for (int64_t i = 0; i < total; i++) pr[i] = pg[i] * (pm[i] ? scale : 0.0f);
    dob_release(g);
    gin[0] = r;
    return 0;
}

dob_tensor *dob_dropout(dob_tensor *x, double p, int training)
{
    DOB_CHECK_F32(x, "dropout", "x");
    DOB_CHECK(p >= 0 && p <= 1, "dropout: probability %g is not in [0, 1]", p);
    if (!training || p == 0) {
        x->refcount++;
        return x;
    }
    /* the mask as bytes: a quarter of a float mask's memory, held until backward */
    dob_tensor *mask = dob__new_like_shape(DOB_U8, x->ndim, x->size);
    dob_tensor *xc = mask ? dob__contig(x) : NULL;
    dob_tensor *out = xc ? dob__new_like_shape(DOB_F32, x->ndim, x->size) : NULL;
    float scale = p < 1 ? (float)(1.0 / (1.0 - p)) : 0.0f;
    if (!out || dob__bernoulli_bytes(dob__u8(mask), dob__numel_of(x->ndim, x->size), 1.0 - p, dob__f32(xc),
                                     dob__f32(out), scale)) {
        dob_release(xc);
        dob_release(mask);
        dob_release(out);
        return NULL;
    }
    dob_release(xc);
    dob_node *n = dob__record("dropout", dropout_backward, 1, &x, 1);
    if (n) {
        n->fattr[0] = scale;
        dob__save(n, mask);
        dob__set_output(n, 0, out);
    }
    dob_release(mask);
    return dob__recorded(n, out);
}

/* ---- softmax / log-softmax --------------------------------------------------------- */

/* x viewed as [outer, len, inner] (contiguous) */
static void split_dims(const dob_tensor *t, int dim, int64_t *outer, int64_t *len, int64_t *inner)
{
    *outer = 1;
    *inner = 1;
    for (int d = 0; d < dim; d++) *outer *= t->size[d];
    for (int d = dim + 1; d < t->ndim; d++) *inner *= t->size[d];
    *len = t->ndim ? t->size[dim] : 1;
}

static void softmax_kernel(bool logsm, const float *x, float *y, int64_t outer, int64_t len,
                           int64_t inner)
{
    int64_t lines = outer * inner;
#pragma omp parallel for schedule(static) if (lines > 1 && lines * len >= DOB_PAR_MIN)
    for (int64_t l = 0; l < lines; l++) {
        int64_t o = l / inner, in = l % inner;
        const float *xs = x + o * len * inner + in;
        float *ys = y + o * len * inner + in;
        float m = -INFINITY;
        for (int64_t i = 0; i < len; i++) m = fmaxf(m, xs[i * inner]);
        if (m == -INFINITY) m = 0;   /* all -inf: keep the result nan-free where possible */
        double s = 0;
        for (int64_t i = 0; i < len; i++) s += exp((double)xs[i * inner] - m);
        if (logsm) {
            double lse = m + log(s);
            for (int64_t i = 0; i < len; i++) ys[i * inner] = (float)(xs[i * inner] - lse);
        } else {
            double inv = 1.0 / s;
            for (int64_t i = 0; i < len; i++) ys[i * inner] = (float)(exp((double)xs[i * inner] - m) * inv);
        }
    }
}

/* iattr[0] = dim, iattr[1] = log; saved[0] = output y (contiguous) */
static int softmax_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    if (!dob__input_needs_grad(n, 0)) return 0;
    int dim = (int)n->iattr[0];
    bool logsm = n->iattr[1];
    dob_tensor *y = n->saved[0];
    dob_tensor *g = dob__contig(gout[0]);
    if (!g) return -1;
    dob_tensor *r = dob__new_like_shape(DOB_F32, y->ndim, y->size);
    if (!r) { dob_release(g); return -1; }
    int64_t outer, len, inner;
    split_dims(y, dim, &outer, &len, &inner);
    const float *py = dob__f32(y), *pg = dob__f32(g);
    float *pr = dob__f32(r);
    int64_t lines = outer * inner;
#pragma omp parallel for schedule(static) if (lines > 1 && lines * len >= DOB_PAR_MIN)
    for (int64_t l = 0; l < lines; l++) {
        int64_t o = l / inner, in = l % inner, base = o * len * inner + in;
        const float *ys = py + base, *gs = pg + base;
        float *rs = pr + base;
        double s = 0;
        if (logsm) {
            for (int64_t i = 0; i < len; i++) s += gs[i * inner];
            for (int64_t i = 0; i < len; i++)
                rs[i * inner] = (float)(gs[i * inner] - exp((double)ys[i * inner]) * s);
        } else {
            for (int64_t i = 0; i < len; i++) s += (double)gs[i * inner] * ys[i * inner];
            for (int64_t i = 0; i < len; i++) rs[i * inner] = (float)(ys[i * inner] * (gs[i * inner] - s));
        }
    }
    dob_release(g);
    gin[0] = r;
    return 0;
}

static dob_tensor *softmax_impl(dob_tensor *x, int dim, bool logsm)
{
    const char *op = logsm ? "log_softmax" : "softmax";
    DOB_CHECK_F32(x, op, "x");
    int d = x->ndim == 0 ? ((dim == 0 || dim == -1) ? 0 : -1) : dob__wrap_dim(dim, x->ndim);
    DOB_CHECK(d >= 0, "%s: dim %d out of range for %s", op, dim, dob__shape(x));
    dob_tensor *xc = dob__contig(x);
    dob_tensor *out = xc ? dob__new_like_shape(DOB_F32, x->ndim, x->size) : NULL;
    if (!out) { dob_release(xc); return NULL; }
    int64_t outer, len, inner;
    split_dims(xc, d, &outer, &len, &inner);
    if (len > 0) softmax_kernel(logsm, dob__f32(xc), dob__f32(out), outer, len, inner);
    dob_release(xc);
    dob_node *n = dob__record(op, softmax_backward, 1, &x, 1);
    if (n) {
        n->iattr[0] = d;
        n->iattr[1] = logsm;
        dob__save(n, out);
        dob__set_output(n, 0, out);
    }
    return dob__recorded(n, out);
}

dob_tensor *dob_softmax(dob_tensor *x, int dim) { return softmax_impl(x, dim, false); }
dob_tensor *dob_log_softmax(dob_tensor *x, int dim) { return softmax_impl(x, dim, true); }

/* ---- index checks shared by embedding / one_hot / index_select -------------------- */

/* -1 with an error if any index is outside [0, limit) */
static int check_indices(const char *op, const dob_tensor *idx, int64_t limit)
{
    int64_t n = dob__numel_of(idx->ndim, idx->size);
    const int64_t *p = dob__i64(idx);
    for (int64_t i = 0; i < n; i++)
        DOB_CHECK_INT(p[i] >= 0 && p[i] < limit, "%s: index %lld at flat offset %lld is out of range "
                      "[0, %lld)", op, (long long)p[i], (long long)i, (long long)limit);
    return 0;
}

/* a contiguous copy (or new reference) of an I64 index tensor */
static dob_tensor *index_contig(const char *op, const dob_tensor *idx, const char *name)
{
    DOB_CHECK(dob_is_valid(idx), "%s: argument '%s' is not a valid tensor (NULL or freed)", op, name);
    DOB_CHECK(idx->dtype == DOB_I64, "%s: argument '%s' must be int64 indices, got %s", op, name,
              dob__dtype_name(idx->dtype));
    return dob__contig((dob_tensor *)idx);
}

/* ---- embedding ----------------------------------------------------------------------- */

/* saved[0] = indices (contiguous I64) */
static int embedding_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    if (!dob__input_needs_grad(n, 0)) return 0;
    dob_tensor *idx = n->saved[0];
    int64_t D = n->next[0].size[1];
    dob_tensor *g = dob__contig(gout[0]);
    if (!g) return -1;
    dob_tensor *dw = dob_zeros(DOB_F32, 2, n->next[0].size);
    if (!dw) { dob_release(g); return -1; }
    int64_t k = dob__numel_of(idx->ndim, idx->size);
    const int64_t *pi = dob__i64(idx);
    const float *pg = dob__f32(g);
    float *pw = dob__f32(dw);
    /* serial over the indices, parallel over column blocks: same bits for any
       thread count */
    int64_t nblk = (D + 63) / 64;
#pragma omp parallel for schedule(static) if (nblk > 1 && k * D >= DOB_PAR_MIN)
    for (int64_t b = 0; b < nblk; b++) {
        int64_t c0 = b * 64, c1 = c0 + 64 < D ? c0 + 64 : D;
        for (int64_t i = 0; i < k; i++) {
            float *dst = pw + pi[i] * D;
            const float *src = pg + i * D;
            for (int64_t c = c0; c < c1; c++) dst[c] += src[c];
        }
    }
    dob_release(g);
    gin[0] = dw;
    return 0;
}

dob_tensor *dob_embedding(dob_tensor *weight, const dob_tensor *indices)
{
    DOB_CHECK_F32(weight, "embedding", "weight");
    DOB_CHECK(weight->ndim == 2, "embedding: weight must be 2-D [V, D], got %s", dob__shape(weight));
    DOB_CHECK(dob_is_valid(indices), "embedding: argument 'indices' is not a valid tensor (NULL or freed)");
    DOB_CHECK(indices->dtype == DOB_I64, "embedding: indices must be int64, got %s",
              dob__dtype_name(indices->dtype));
    DOB_CHECK(indices->ndim < DOB_MAX_DIMS, "embedding: indices %s have too many dims", dob__shape(indices));
    int64_t V = weight->size[0], D = weight->size[1];
    dob_tensor *idx = index_contig("embedding", indices, "indices");
    if (!idx) return NULL;
    if (check_indices("embedding", idx, V)) { dob_release(idx); return NULL; }
    int64_t sz[DOB_MAX_DIMS];
    for (int d = 0; d < idx->ndim; d++) sz[d] = idx->size[d];
    sz[idx->ndim] = D;
    dob_tensor *w = dob__contig(weight);
    dob_tensor *out = w ? dob__new_like_shape(DOB_F32, idx->ndim + 1, sz) : NULL;
    if (!out) { dob_release(w); dob_release(idx); return NULL; }
    int64_t k = dob__numel_of(idx->ndim, idx->size);
    const int64_t *pi = dob__i64(idx);
    const float *pw = dob__f32(w);
    float *po = dob__f32(out);
#pragma omp parallel for schedule(static) if (k * D >= DOB_PAR_MIN)
    for (int64_t i = 0; i < k; i++) memcpy(po + i * D, pw + pi[i] * D, sizeof(float) * (size_t)D);
    dob_release(w);
    dob_node *n = dob__record("embedding", embedding_backward, 1, &weight, 1);
    if (n) {
        dob__save(n, idx);
        dob__set_output(n, 0, out);
    }
    dob_release(idx);
    return dob__recorded(n, out);
}

/* ---- one_hot --------------------------------------------------------------------------- */

dob_tensor *dob_one_hot(const dob_tensor *indices, int64_t depth)
{
    DOB_CHECK(depth >= 1, "one_hot: depth must be >= 1, got %lld", (long long)depth);
    DOB_CHECK(dob_is_valid(indices), "one_hot: argument 'indices' is not a valid tensor (NULL or freed)");
    DOB_CHECK(indices->ndim < DOB_MAX_DIMS, "one_hot: indices %s have too many dims", dob__shape(indices));
    dob_tensor *idx = index_contig("one_hot", indices, "indices");
    if (!idx) return NULL;
    if (check_indices("one_hot", idx, depth)) { dob_release(idx); return NULL; }
    int64_t sz[DOB_MAX_DIMS];
    for (int d = 0; d < idx->ndim; d++) sz[d] = idx->size[d];
    sz[idx->ndim] = depth;
    dob_tensor *out = dob_zeros(DOB_F32, idx->ndim + 1, sz);
    if (out) {
        int64_t k = dob__numel_of(idx->ndim, idx->size);
        const int64_t *pi = dob__i64(idx);
        float *po = dob__f32(out);
        for (int64_t i = 0; i < k; i++) po[i * depth + pi[i]] = 1.0f;
    }
    dob_release(idx);
    return out;
}

/* ---- index_select ------------------------------------------------------------------------ */

/* iattr[0] = dim; saved[0] = indices */
static int index_select_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    if (!dob__input_needs_grad(n, 0)) return 0;
    const dob_edge *e = &n->next[0];
    int dim = (int)n->iattr[0];
    dob_tensor *idx = n->saved[0];
    dob_tensor *g = dob__contig(gout[0]);
    if (!g) return -1;
    dob_tensor *r = dob_zeros(DOB_F32, e->ndim, e->size);
    if (!r) { dob_release(g); return -1; }
    int64_t outer = 1, inner = 1, len = e->size[dim], k = dob__numel_of(idx->ndim, idx->size);
    for (int d = 0; d < dim; d++) outer *= e->size[d];
    for (int d = dim + 1; d < e->ndim; d++) inner *= e->size[d];
    const int64_t *pi = dob__i64(idx);
    const float *pg = dob__f32(g);
    float *pr = dob__f32(r);
    /* each outer slice is independent; within one, indices are added in order */
#pragma omp parallel for schedule(static) if (outer > 1 && outer * k * inner >= DOB_PAR_MIN)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < k; j++) {
            float *dst = pr + (o * len + pi[j]) * inner;
            const float *src = pg + (o * k + j) * inner;
            for (int64_t c = 0; c < inner; c++) dst[c] += src[c];
        }
    dob_release(g);
    gin[0] = r;
    return 0;
}

dob_tensor *dob_index_select(dob_tensor *t, int dim, const dob_tensor *indices)
{
    DOB_CHECK_TENSOR(t, "index_select", "self");
    DOB_CHECK(t->ndim >= 1, "index_select: needs a tensor with at least 1 dim, got %s", dob__shape(t));
    int d = dob__wrap_dim(dim, t->ndim);
    DOB_CHECK(d >= 0, "index_select: dim %d out of range for %s", dim, dob__shape(t));
    DOB_CHECK(dob_is_valid(indices), "index_select: argument 'indices' is not a valid tensor (NULL or freed)");
    DOB_CHECK(indices->ndim <= 1, "index_select: indices must be 1-D, got %s", dob__shape(indices));
    dob_tensor *idx = index_contig("index_select", indices, "indices");
    if (!idx) return NULL;
    if (check_indices("index_select", idx, t->size[d])) { dob_release(idx); return NULL; }
    int64_t k = dob__numel_of(idx->ndim, idx->size);
    int64_t sz[DOB_MAX_DIMS];
    memcpy(sz, t->size, sizeof sz);
    sz[d] = k;
    dob_tensor *tc = dob__contig(t);
    dob_tensor *out = tc ? dob__new_like_shape(t->dtype, t->ndim, sz) : NULL;
    if (!out) { dob_release(tc); dob_release(idx); return NULL; }
    int64_t outer = 1, inner = 1, len = t->size[d];
    for (int j = 0; j < d; j++) outer *= t->size[j];
    for (int j = d + 1; j < t->ndim; j++) inner *= t->size[j];
    size_t es = dob__dtype_size(t->dtype);
    const char *src = (const char *)tc->storage->data + tc->offset * (int64_t)es;
    char *dst = (char *)dob_data(out);
    const int64_t *pi = dob__i64(idx);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < k; j++)
            memcpy(dst + (size_t)((o * k + j) * inner) * es, src + (size_t)((o * len + pi[j]) * inner) * es,
                   es * (size_t)inner);
    dob_release(tc);
    dob_node *n = dob__record("index_select", index_select_backward, 1, &t, 1);
    if (n) {
        n->iattr[0] = d;
        dob__save(n, idx);
        dob__set_output(n, 0, out);
    }
    dob_release(idx);
    return dob__recorded(n, out);
}
