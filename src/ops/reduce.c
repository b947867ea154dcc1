/* reduce.c — sum, mean, var, p-norm over dims; max/min/argmax along a dim or
 * over everything; plain double sums and dots for optimizers and metrics.
 *
 *   x [d0, .., dn-1], dims R (ndims = 0: all dims)
 *   out = kept dims of x (keepdim: reduced dims kept with size 1; all
 *         reduced and no keepdim: a 0-dim tensor)
 *
 * Backward (g = dL/dout, spread over the reduced dims; n = count reduced):
 *   sum:  g            mean: g / n
 *   var:  2 (x - mean) g / (n - correction)
 *   norm: g sign(x) |x|^(p-1) / norm^(p-1)   (0 where norm = 0)
 *   max/min: g to the selected element (the first one on ties), 0 elsewhere
 *
 * Determinism. Every sum accumulates in double and is cut into fixed-size
 * chunks of the reduction (CHUNK elements, or a fixed number of rows in the
 * column kernel), each chunk summed in a fixed order (32 double lanes,
 * combined as a tree), and the chunk results are combined in chunk order.
 * The chunking depends only on the shape and strides, never on the thread
 * count, so results are bit-identical for any number of threads.
 *
 * Kernels. The kept dims and the reduced dims are each coalesced (the reduced
 * ones sorted by stride first). Two kernels cover the common layouts:
 *   inner:  the innermost reduced dim is contiguous (sum over the last dims,
 *           over everything, per-channel sums of NCHW) — each output sums
 *           contiguous segments with vectorised double lanes;
 *   column: the innermost kept dim is contiguous and the reduced ones are
 *           outside it (bias gradients [N, C] -> [C]) — rows are added into
 *           a block of double accumulators, vectorised across columns.
 * Anything else runs the inner kernel with strided segments.
 */
#include "ops/ops.h"
#include <math.h>
#include <stdlib.h>

#define CHUNK 16384        /* reduction elements per partial sum */
#define KB 512             /* columns per block in the column kernel */
#define MIN_ROWS 64        /* least rows per chunk in the column kernel */
#define LANES 32

enum { R_SUM, R_ABS, R_SQ, R_POW, R_CSQ };

/* ---- geometry --------------------------------------------------------------------- */

typedef struct geom {
    int ndim;                         /* of x */
    uint32_t mask;                    /* bit d: dim d of x is reduced */
    int ko, ro;                       /* coalesced kept / reduced dims */
    int64_t ks[DOB_MAX_DIMS], kst[DOB_MAX_DIMS];
    int64_t rs[DOB_MAX_DIMS], rst[DOB_MAX_DIMS];
    int64_t nout, nred;
    int out_ndim;
    int64_t out_size[DOB_MAX_DIMS];
} geom;

static int coalesce(int n, int64_t *sz, int64_t *st)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m > 0 && st[m - 1] == st[i] * sz[i]) {
            sz[m - 1] *= sz[i];
            st[m - 1] = st[i];
        } else {
            sz[m] = sz[i];
            st[m] = st[i];
            m++;
        }
    }
    return m;
}

/* mask of reduced dims from (ndims, dims); -1 with an error naming op */
static int64_t dims_mask(const char *op, const dob_tensor *x, int ndims, const int *dims)
{
    DOB_CHECK_INT(ndims >= 0 && ndims <= DOB_MAX_DIMS, "%s: bad number of dims %d", op, ndims);
    if (ndims == 0) return x->ndim ? (int64_t)((1u << x->ndim) - 1) : 0;
    DOB_CHECK_INT(dims != NULL, "%s: dims is NULL", op);
    uint32_t mask = 0;
    for (int i = 0; i < ndims; i++) {
        int w = dob__wrap_dim(dims[i], x->ndim);
        DOB_CHECK_INT(w >= 0, "%s: dim %d (0-based) is out of range for a tensor %s (%d dims)", op, dims[i],
                      dob__shape(x), x->ndim);
        DOB_CHECK_INT(!(mask & (1u << w)), "%s: dim %d (0-based) appears more than once in the dims", op, dims[i]);
        mask |= 1u << w;
    }
    return mask;
}

/* geometry of reducing a tensor of this shape/strides over mask */
static void make_geom(geom *g, int ndim, const int64_t *size, const int64_t *stride, uint32_t mask,
                      bool keepdim, bool sort_red)
{
    g->ndim = ndim;
    g->mask = mask;
    g->ko = g->ro = 0;
    g->nout = g->nred = 1;
    g->out_ndim = 0;
    for (int d = 0; d < ndim; d++) {
        bool r = mask & (1u << d);
        if (r) {
            g->nred *= size[d];
            if (keepdim) g->out_size[g->out_ndim++] = 1;
            if (size[d] != 1) { g->rs[g->ro] = size[d]; g->rst[g->ro] = stride[d]; g->ro++; }
        } else {
            g->nout *= size[d];
            g->out_size[g->out_ndim++] = size[d];
            if (size[d] != 1) { g->ks[g->ko] = size[d]; g->kst[g->ko] = stride[d]; g->ko++; }
        }
    }
    if (sort_red) {   /* largest stride first: memory order (a stable insertion sort) */
        for (int i = 1; i < g->ro; i++) {
            int64_t s = g->rs[i], t = g->rst[i];
            int j = i;
            while (j > 0 && g->rst[j - 1] < t) { g->rs[j] = g->rs[j - 1]; g->rst[j] = g->rst[j - 1]; j--; }
            g->rs[j] = s;
            g->rst[j] = t;
        }
    }
    g->ko = coalesce(g->ko, g->ks, g->kst);
    g->ro = coalesce(g->ro, g->rs, g->rst);
    if (g->ro == 0) { g->ro = 1; g->rs[0] = 1; g->rst[0] = 1; }
}

/* offset in x of the first element reduced into output o (kept dims from..to-1) */
static inline int64_t kept_offset(const geom *g, int64_t o, int upto)
{
    int64_t off = 0;
    for (int d = upto - 1; d >= 0 && o > 0; d--) {
        off += (o % g->ks[d]) * g->kst[d];
        o /= g->ks[d];
    }
    return off;
}

/* ---- segment sums ------------------------------------------------------------------- */

/* sum of EXPR(v) over n elements x[i*s] in double, 32 lanes combined as a tree */
#define LANE_SUM(EXPR)                                                                       \
    do {                                                                                     \
        double acc[LANES] = {0};                                                             \
        int64_t i = 0;                                                                       \
        if (s == 1) {                                                                        \
            for (; i + LANES <= n; i += LANES)                                               \
                for (int j = 0; j < LANES; j++) { double v = x[i + j]; acc[j] += (EXPR); }   \
        } else {                                                                             \
            for (; i + LANES <= n; i += LANES)                                               \
                for (int j = 0; j < LANES; j++) { double v = x[(i + j) * s]; acc[j] += (EXPR); } \
        }                                                                                    \
        for (int j = 0; i + j < n; j++) { double v = x[(i + j) * s]; acc[j] += (EXPR); }     \
        for (int w = LANES / 2; w > 0; w /= 2)                                               \
            for (int j = 0; j < w; j++) acc[j] += acc[j + w];                                \
        return acc[0];                                                                       \
    } while (0)

static double seg_sum(int op, const float *x, int64_t n, int64_t s, double p, double m)
{
    switch (op) {
    case R_SUM: LANE_SUM(v);
    case R_ABS: LANE_SUM(fabs(v));
    case R_SQ: LANE_SUM(v * v);
    case R_CSQ: LANE_SUM((v - m) * (v - m));
    default: LANE_SUM(pow(fabs(v), p));
    }
}

static double seg_dot(const float *x, const float *y, int64_t n)
{
    double acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += (double)x[i + j] * (double)y[i + j];
    for (int j = 0; i + j < n; j++) acc[j] += (double)x[i + j] * (double)y[i + j];
    for (int w = LANES / 2; w > 0; w /= 2)
        for (int j = 0; j < w; j++) acc[j] += acc[j + w];
    return acc[0];
}

/* ---- the two kernels ------------------------------------------------------------------ */

/* part[c * nout + o] = chunk c of output o; chunks of CHUNK reduction elements */
static void inner_kernel(const geom *g, const float *x, int op, double p, const double *mean,
                         int64_t nchunks, double *part)
{
    int64_t nout = g->nout, nred = g->nred, items = nout * nchunks;
    int ro = g->ro;
    int64_t L = g->rs[ro - 1], ls = g->rst[ro - 1];
#pragma omp parallel for schedule(static) if (items > 1 && nout * nred >= DOB_PAR_MIN)
    for (int64_t it = 0; it < items; it++) {
        int64_t o = it / nchunks, c = it % nchunks;
        int64_t j = c * CHUNK, j1 = j + CHUNK < nred ? j + CHUNK : nred;
        const float *base = x + kept_offset(g, o, g->ko);
        double m = mean ? mean[o] : 0;
        int64_t idx[DOB_MAX_DIMS], roff = 0, row = j / L, pos = j % L;
        for (int d = ro - 2; d >= 0; d--) {
            idx[d] = row % g->rs[d];
            row /= g->rs[d];
            roff += idx[d] * g->rst[d];
        }
        double acc = 0;
        while (j < j1) {
            int64_t len = L - pos < j1 - j ? L - pos : j1 - j;
            acc += seg_sum(op, base + roff + pos * ls, len, ls, p, m);
            j += len;
            pos = 0;
            for (int d = ro - 2; d >= 0; d--) {
                roff += g->rst[d];
                if (++idx[d] < g->rs[d]) break;
                roff -= g->rs[d] * g->rst[d];
                idx[d] = 0;
            }
        }
        part[c * nout + o] = acc;
    }
}

/* innermost kept dim contiguous: blocks of KB columns accumulate rows; chunks of rpc rows */
static void column_kernel(const geom *g, const float *x, int op, double p, const double *mean,
                          int64_t rpc, int64_t nchunks, double *part)
{
    int64_t nout = g->nout, nred = g->nred;
    int64_t K = g->ks[g->ko - 1], nq = nout / K, nb = (K + KB - 1) / KB;
    int64_t items = nq * nchunks * nb;
    int ro = g->ro;
#pragma omp parallel for schedule(static) if (items > 1 && nout * nred >= DOB_PAR_MIN)
    for (int64_t it = 0; it < items; it++) {
        int64_t b = it % nb, c = (it / nb) % nchunks, q = it / (nb * nchunks);
        int64_t k0 = b * KB, kn = K - k0 < KB ? K - k0 : KB;
        const float *base = x + kept_offset(g, q, g->ko - 1) + k0;
        const double *mm = mean ? mean + q * K + k0 : NULL;
        double acc[KB];
        for (int64_t i = 0; i < kn; i++) acc[i] = 0;
        int64_t j = c * rpc, j1 = j + rpc < nred ? j + rpc : nred;
        int64_t idx[DOB_MAX_DIMS], roff = 0, r = j;
        for (int d = ro - 1; d >= 0; d--) {
            idx[d] = r % g->rs[d];
            r /= g->rs[d];
            roff += idx[d] * g->rst[d];
        }
        /* plain sums: four rows per pass over the accumulators (a fixed grouping
           from the chunk start, so still independent of threads) */
        while (op == R_SUM && j + 4 <= j1) {
            const float *r4[4];
            for (int k = 0; k < 4; k++) {
                r4[k] = base + roff;
                for (int d = ro - 1; d >= 0; d--) {
                    roff += g->rst[d];
                    if (++idx[d] < g->rs[d]) break;
                    roff -= g->rs[d] * g->rst[d];
                    idx[d] = 0;
                }
            }
            const float *a0 = r4[0], *a1 = r4[1], *a2 = r4[2], *a3 = r4[3];
            for (int64_t i = 0; i < kn; i++)
                acc[i] += ((double)a0[i] + (double)a1[i]) + ((double)a2[i] + (double)a3[i]);
            j += 4;
        }
        for (; j < j1; j++) {
            const float *row = base + roff;
            switch (op) {
            case R_SUM: for (int64_t i = 0; i < kn; i++) acc[i] += (double)row[i]; break;
            case R_ABS: for (int64_t i = 0; i < kn; i++) acc[i] += fabs((double)row[i]); break;
            case R_SQ: for (int64_t i = 0; i < kn; i++) { double v = row[i]; acc[i] += v * v; } break;
            case R_CSQ: for (int64_t i = 0; i < kn; i++) { double v = row[i] - mm[i]; acc[i] += v * v; } break;
            default: for (int64_t i = 0; i < kn; i++) acc[i] += pow(fabs((double)row[i]), p); break;
            }
            for (int d = ro - 1; d >= 0; d--) {
                roff += g->rst[d];
                if (++idx[d] < g->rs[d]) break;
                roff -= g->rs[d] * g->rst[d];
                idx[d] = 0;
            }
        }
        double *dst = part + c * nout + q * K + k0;
        for (int64_t i = 0; i < kn; i++) dst[i] = acc[i];
    }
}

/* tot[o] = the reduction of op over output o's elements (double) */
static int reduce_totals(const geom *g, const float *x, int op, double p, const double *mean, double *tot)
{
    int64_t nout = g->nout, nred = g->nred;
    if (nout == 0) return 0;
    if (nred == 0) {
        for (int64_t o = 0; o < nout; o++) tot[o] = 0;
        return 0;
    }
    bool column = g->ko >= 1 && g->kst[g->ko - 1] == 1 && g->rst[g->ro - 1] != 1;
    int64_t rpc = 0, nchunks;
    if (column) {
        rpc = CHUNK / g->ks[g->ko - 1];
        if (rpc < MIN_ROWS) rpc = MIN_ROWS;
        nchunks = (nred + rpc - 1) / rpc;
    } else {
        nchunks = (nred + CHUNK - 1) / CHUNK;
    }
    size_t pbytes = sizeof(double) * (size_t)(nout * nchunks);
    double *part = nchunks > 1 ? dob__alloc(pbytes) : tot;
    if (!part) return -1;
    if (column) column_kernel(g, x, op, p, mean, rpc, nchunks, part);
    else inner_kernel(g, x, op, p, mean, nchunks, part);
    if (part != tot) {
        for (int64_t o = 0; o < nout; o++) tot[o] = part[o];
        for (int64_t c = 1; c < nchunks; c++) {
            const double *pc = part + c * nout;
            for (int64_t o = 0; o < nout; o++) tot[o] += pc[o];
        }
        dob__free(part, pbytes);
    }
    return 0;
}

/* ---- backward: spread the output gradient over x's shape ---------------------------- */

enum { B_SUM, B_VAR, B_NORM };

/* gx[x's shape] from g (contiguous, output-shaped) and per element:
   B_SUM: g sc   B_VAR: g sc (x - aux)   B_NORM: g sign(x)|x|^(p-1) / aux^(p-1) */
static dob_tensor *spread(int kind, int ndim, const int64_t *size, uint32_t mask, const dob_tensor *x,
                          const dob_tensor *gc, const dob_tensor *aux, double sc, double p)
{
    dob_tensor *gx = dob__new_like_shape(DOB_F32, ndim, size);
    if (!gx) return NULL;
    int64_t ost[DOB_MAX_DIMS], s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        if (mask & (1u << d)) ost[d] = 0;
        else { ost[d] = s; s *= size[d]; }
    }
    const int64_t *strides[3] = {gx->stride, x ? x->stride : gx->stride, ost};
    dob_iter it;
    dob__iter_init(&it, 3, ndim, size, strides);
    float *pgx = dob__f32(gx);
    const float *px = x ? dob__f32(x) : NULL, *pg = dob__f32(gc), *pa = aux ? dob__f32(aux) : NULL;
    float fsc = (float)sc;
    int64_t per_row = (it.row_len + CHUNK - 1) / CHUNK, items = it.nrows * per_row;
    int64_t total = it.nrows * it.row_len;
#pragma omp parallel for schedule(static) if (items > 1 && total >= DOB_PAR_MIN)
    for (int64_t w = 0; w < items; w++) {
        int64_t r = w / per_row, start = (w % per_row) * CHUNK;
        int64_t len = it.row_len - start < CHUNK ? it.row_len - start : CHUNK;
        int64_t off[3];
        dob__iter_row(&it, r, off);
        int64_t ds = it.inner_stride[0], xs = it.inner_stride[1], gs = it.inner_stride[2];
        float *d = pgx + off[0] + start * ds;
        const float *gg = pg + off[2] + start * gs;
        const float *xv = px ? px + off[1] + start * xs : NULL;
        const float *aa = pa ? pa + off[2] + start * gs : NULL;
        switch (kind) {
        case B_SUM:
            if (ds == 1 && gs == 0) { float v = gg[0] * fsc; for (int64_t i = 0; i < len; i++) d[i] = v; }
            else for (int64_t i = 0; i < len; i++) d[i * ds] = gg[i * gs] * fsc;
            break;
        case B_VAR:
            for (int64_t i = 0; i < len; i++) d[i * ds] = gg[i * gs] * fsc * (xv[i * xs] - aa[i * gs]);
            break;
        default:
            for (int64_t i = 0; i < len; i++) {
                float v = xv[i * xs], nv = aa[i * gs], r2;
                if (nv == 0 || v == 0) r2 = 0;
                else if (p == 2) r2 = v / nv;
                else if (p == 1) r2 = v > 0 ? 1.0f : -1.0f;
                else r2 = (float)((v > 0 ? 1 : -1) * pow(fabs((double)v) / nv, p - 1));
                d[i * ds] = gg[i * gs] * r2;
            }
            break;
        }
    }
    return gx;
}

/* iattr[0] = mask, iattr[1] = kind; fattr[0] = scale, fattr[1] = p; saved: x, aux (var, norm) */
static int reduce_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    int kind = (int)n->iattr[1];
    dob_tensor *g = dob__contig(gout[0]);
    if (!g) return -1;
    dob_tensor *x = kind == B_SUM ? NULL : n->saved[0], *aux = kind == B_SUM ? NULL : n->saved[1];
    gin[0] = spread(kind, n->next[0].ndim, n->next[0].size, (uint32_t)n->iattr[0], x, g, aux,
                    n->fattr[0], n->fattr[1]);
    dob_release(g);
    return gin[0] ? 0 : -1;
}

/* ---- sum, mean, var, norm --------------------------------------------------------------- */

static dob_tensor *finish(dob_tensor *t, dob_tensor *out, const geom *g, int kind, double sc, double p,
                          dob_tensor *aux, const char *name)
{
    dob_node *n = dob__record(name, reduce_backward, 1, &t, 1);
    if (n) {
        n->iattr[0] = g->mask;
        n->iattr[1] = kind;
        n->fattr[0] = sc;
        n->fattr[1] = p;
        if (kind != B_SUM) {
            dob__save(n, t);
            dob__save(n, aux);
        }
        dob__set_output(n, 0, out);
    }
    return dob__recorded(n, out);
}

/* the shared front half: checks, geometry, totals of op; returns the output
   tensor (uninitialised) and the totals (caller frees with free_tot) */
static dob_tensor *prepare(const char *op, dob_tensor *t, int ndims, const int *dims, int keepdim,
                           geom *g, double **tot)
{
    DOB_CHECK_F32(t, op, "self");
    int64_t mask = dims_mask(op, t, ndims, dims);
    if (mask < 0) return NULL;
    make_geom(g, t->ndim, t->size, t->stride, (uint32_t)mask, keepdim != 0, true);
    dob_tensor *out = dob__new_like_shape(DOB_F32, g->out_ndim, g->out_size);
    if (!out) return NULL;
    *tot = dob__alloc(sizeof(double) * (size_t)(g->nout ? g->nout : 1));
    if (!*tot) { dob_release(out); return NULL; }
    return out;
}

static void free_tot(const geom *g, double *tot)
{
    dob__free(tot, sizeof(double) * (size_t)(g->nout ? g->nout : 1));
}

static dob_tensor *sum_mean(const char *name, bool mean, dob_tensor *t, int ndims, const int *dims, int keepdim)
{
    geom g;
    double *tot;
    dob_tensor *out = prepare(name, t, ndims, dims, keepdim, &g, &tot);
    if (!out) return NULL;
    if (reduce_totals(&g, dob__f32(t), R_SUM, 0, NULL, tot)) {
        free_tot(&g, tot);
        dob_release(out);
        return NULL;
    }
    double sc = mean ? 1.0 / (double)g.nred : 1.0;
    float *po = dob__f32(out);
    for (int64_t o = 0; o < g.nout; o++) po[o] = (float)(mean ? tot[o] / (double)g.nred : tot[o]);
    free_tot(&g, tot);
    return finish(t, out, &g, B_SUM, sc, 0, NULL, name);
}

dob_tensor *dob_sum(dob_tensor *t, int ndims, const int *dims, int keepdim)
{
    return sum_mean("sum", false, t, ndims, dims, keepdim);
}

dob_tensor *dob_mean(dob_tensor *t, int ndims, const int *dims, int keepdim)
{
    return sum_mean("mean", true, t, ndims, dims, keepdim);
}

dob_tensor *dob_var(dob_tensor *t, int ndims, const int *dims, int correction, int keepdim)
{
    DOB_CHECK(correction >= 0, "var: correction must be >= 0, got %d", correction);
    geom g;
    double *tot;
    dob_tensor *out = prepare("var", t, ndims, dims, keepdim, &g, &tot);
    if (!out) return NULL;
    dob_tensor *mean = dob__new_like_shape(DOB_F32, g.out_ndim, g.out_size);
    size_t mbytes = sizeof(double) * (size_t)(g.nout ? g.nout : 1);
    double *mu = mean ? dob__alloc(mbytes) : NULL;
    int rc = mu ? reduce_totals(&g, dob__f32(t), R_SUM, 0, NULL, mu) : -1;
    if (!rc) {
        for (int64_t o = 0; o < g.nout; o++) mu[o] /= (double)g.nred;
        rc = reduce_totals(&g, dob__f32(t), R_CSQ, 0, mu, tot);
    }
    double denom = (double)(g.nred - correction);
    if (!rc) {
        float *po = dob__f32(out), *pm = dob__f32(mean);
        for (int64_t o = 0; o < g.nout; o++) {
            po[o] = denom > 0 ? (float)(tot[o] / denom) : NAN;
            pm[o] = (float)mu[o];
        }
    }
    if (mu) dob__free(mu, mbytes);
    free_tot(&g, tot);
    if (rc) {
        dob_release(mean);
        dob_release(out);
        return NULL;
    }
    out = finish(t, out, &g, B_VAR, denom > 0 ? 2.0 / denom : NAN, 0, mean, "var");
    dob_release(mean);
    return out;
}

dob_tensor *dob_norm(dob_tensor *t, double p, int ndims, const int *dims, int keepdim)
{
    DOB_CHECK(p > 0 && isfinite(p), "norm: p must be positive and finite, got %g", p);
    geom g;
    double *tot;
    dob_tensor *out = prepare("norm", t, ndims, dims, keepdim, &g, &tot);
    if (!out) return NULL;
    int op = p == 2 ? R_SQ : p == 1 ? R_ABS : R_POW;
    if (reduce_totals(&g, dob__f32(t), op, p, NULL, tot)) {
        free_tot(&g, tot);
        dob_release(out);
        return NULL;
    }
    float *po = dob__f32(out);
    for (int64_t o = 0; o < g.nout; o++)
        po[o] = (float)(op == R_SQ ? sqrt(tot[o]) : op == R_ABS ? tot[o] : pow(tot[o], 1.0 / p));
    free_tot(&g, tot);
    return finish(t, out, &g, B_NORM, 1.0, p, out, "norm");
}

/* ---- plain doubles -------------------------------------------------------------------------- */

double dob_sum_all_double(const dob_tensor *t)
{
    if (!dob_is_valid(t)) { dob__fail("sum_all_double: argument 'self' is not a valid tensor (NULL or freed)"); return NAN; }
    if (t->dtype != DOB_F32) {
        dob__fail("sum_all_double: argument 'self' must be float32, got %s", dob__dtype_name(t->dtype));
        return NAN;
    }
    geom g;
    make_geom(&g, t->ndim, t->size, t->stride, t->ndim ? (1u << t->ndim) - 1 : 0, false, true);
    double tot = 0;
    if (reduce_totals(&g, dob__f32(t), R_SUM, 0, NULL, &tot)) return NAN;
    return tot;
}

double dob_dot_double(const dob_tensor *a, const dob_tensor *b)
{
    if (!dob_is_valid(a) || !dob_is_valid(b)) {
        dob__fail("dot_double: argument '%s' is not a valid tensor (NULL or freed)", dob_is_valid(a) ? "other" : "self");
        return NAN;
    }
    if (a->dtype != DOB_F32 || b->dtype != DOB_F32) {
        dob__fail("dot_double: arguments must be float32, got %s and %s", dob__dtype_name(a->dtype),
                  dob__dtype_name(b->dtype));
        return NAN;
    }
    if (!dob__same_shape(a, b)) {
        dob__fail("dot_double: shapes %s and %s differ", dob__shape(a), dob__shape(b));
        return NAN;
    }
    dob_tensor *ca = dob__contig((dob_tensor *)a), *cb = ca ? dob__contig((dob_tensor *)b) : NULL;
    if (!ca || !cb) { dob_release(ca); return NAN; }
    int64_t n = dob__numel_of(a->ndim, a->size), nchunks = (n + CHUNK - 1) / CHUNK;
    double res = 0;
    if (nchunks > 0) {
        size_t pbytes = sizeof(double) * (size_t)nchunks;
        double *part = dob__alloc(pbytes);
        if (!part) { dob_release(ca); dob_release(cb); return NAN; }
        const float *x = dob__f32(ca), *y = dob__f32(cb);
#pragma omp parallel for schedule(static) if (nchunks > 1 && n >= DOB_PAR_MIN)
        for (int64_t c = 0; c < nchunks; c++) {
            int64_t s = c * CHUNK, len = n - s < CHUNK ? n - s : CHUNK;
            part[c] = seg_dot(x + s, y + s, len);
        }
        for (int64_t c = 0; c < nchunks; c++) res += part[c];
        dob__free(part, pbytes);
    }
    dob_release(ca);
    dob_release(cb);
    return res;
}

/* ---- max / min / argmax ------------------------------------------------------------------- */

static inline bool better(bool is_max, float v, float b)
{
    return is_max ? (v > b || (isnan(v) && !isnan(b))) : (v < b || (isnan(v) && !isnan(b)));
}

/* best value and its index along one (coalesced) run per output, chunked */
static int select_kernel(const geom *g, const float *x, bool is_max, float *val, int64_t *idx)
{
    int64_t nout = g->nout, n = g->nred, nchunks = (n + CHUNK - 1) / CHUNK, items = nout * nchunks;
    int64_t s = g->rst[0];
    size_t vb = sizeof(float) * (size_t)items, ib = sizeof(int64_t) * (size_t)items;
    float *pv = nchunks > 1 ? dob__alloc(vb) : val;
    int64_t *pi = nchunks > 1 ? dob__alloc(ib) : idx;
    if (!pv || !pi) {
        if (nchunks > 1) { if (pv) dob__free(pv, vb); if (pi) dob__free(pi, ib); }
        return -1;
    }
#pragma omp parallel for schedule(static) if (items > 1 && nout * n >= DOB_PAR_MIN)
    for (int64_t it = 0; it < items; it++) {
        int64_t o = it / nchunks, c = it % nchunks;
        int64_t j0 = c * CHUNK, j1 = j0 + CHUNK < n ? j0 + CHUNK : n;
        const float *base = x + kept_offset(g, o, g->ko);
        float b = base[j0 * s];
        int64_t bi = j0;
        for (int64_t j = j0 + 1; j < j1; j++) {
            float v = base[j * s];
            if (better(is_max, v, b)) { b = v; bi = j; }
        }
        pv[o * nchunks + c] = b;
        pi[o * nchunks + c] = bi;
    }
    if (nchunks > 1) {
        for (int64_t o = 0; o < nout; o++) {
            float b = pv[o * nchunks];
            int64_t bi = pi[o * nchunks];
            for (int64_t c = 1; c < nchunks; c++)
                if (better(is_max, pv[o * nchunks + c], b)) { b = pv[o * nchunks + c]; bi = pi[o * nchunks + c]; }
            val[o] = b;
            idx[o] = bi;
        }
        dob__free(pv, vb);
        dob__free(pi, ib);
    }
    return 0;
}

/* iattr[0] = dim, or -1 for the whole tensor (flat index in iattr[1]); saved: indices */
static int select_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    int ndim = n->next[0].ndim;
    const int64_t *size = n->next[0].size;
    dob_tensor *gx = dob_zeros(DOB_F32, ndim, size);
    dob_tensor *g = gx ? dob__contig(gout[0]) : NULL;
    if (!g) { dob_release(gx); return -1; }
    float *pgx = dob__f32(gx);
    const float *pg = dob__f32(g);
    int dim = (int)n->iattr[0];
    if (dim < 0) {
        pgx[n->iattr[1]] = pg[0];
    } else {
        int64_t cs[DOB_MAX_DIMS], s = 1;
        for (int d = ndim - 1; d >= 0; d--) { cs[d] = s; s *= size[d]; }
        geom gm;
        make_geom(&gm, ndim, size, cs, 1u << dim, false, false);
        dob_tensor *ic = dob__contig(n->saved[0]);
        if (!ic) { dob_release(g); dob_release(gx); return -1; }
        const int64_t *pi = dob__i64(ic);
        int64_t nout = gm.nout, ds = cs[dim];
#pragma omp parallel for schedule(static) if (nout >= DOB_PAR_MIN)
        for (int64_t o = 0; o < nout; o++) pgx[kept_offset(&gm, o, gm.ko) + pi[o] * ds] = pg[o];
        dob_release(ic);
    }
    dob_release(g);
    gin[0] = gx;
    return 0;
}

static dob_tensor *select_dim(const char *name, bool is_max, dob_tensor *t, int dim, int keepdim,
                              dob_tensor **indices, bool record)
{
    if (indices) *indices = NULL;
    DOB_CHECK_F32(t, name, "self");
    DOB_CHECK(t->ndim >= 1, "%s: needs a tensor with at least 1 dim along which to reduce, got %s", name,
              dob__shape(t));
    int w = dob__wrap_dim(dim, t->ndim);
    DOB_CHECK(w >= 0, "%s: dim %d (0-based) is out of range for a tensor %s (%d dims)", name, dim, dob__shape(t), t->ndim);
    DOB_CHECK(t->size[w] > 0, "%s: cannot reduce over dim %d (0-based) of size 0 of a tensor %s", name, dim, dob__shape(t));
    geom g;
    make_geom(&g, t->ndim, t->size, t->stride, 1u << w, keepdim != 0, false);
    dob_tensor *val = dob__new_like_shape(DOB_F32, g.out_ndim, g.out_size);
    dob_tensor *ind = val ? dob__new_like_shape(DOB_I64, g.out_ndim, g.out_size) : NULL;
    if (!ind || (g.nout > 0 && select_kernel(&g, dob__f32(t), is_max, dob__f32(val), dob__i64(ind)))) {
        dob_release(val);
        dob_release(ind);
        return NULL;
    }
    dob_node *n = record ? dob__record(name, select_backward, 1, &t, 1) : NULL;
    if (n) {
        n->iattr[0] = w;
        dob__save(n, ind);
        dob__set_output(n, 0, val);
    }
    if (!dob__recorded(n, val)) {
        dob_release(ind);
        return NULL;
    }
    if (indices) *indices = ind;
    else dob_release(ind);
    return val;
}

dob_tensor *dob_max_dim(dob_tensor *t, int dim, int keepdim, dob_tensor **indices)
{
    return select_dim("max", true, t, dim, keepdim, indices, true);
}

dob_tensor *dob_min_dim(dob_tensor *t, int dim, int keepdim, dob_tensor **indices)
{
    return select_dim("min", false, t, dim, keepdim, indices, true);
}

dob_tensor *dob_argmax(const dob_tensor *t, int dim, int keepdim)
{
    dob_tensor *ind = NULL;
    dob_tensor *val = select_dim("argmax", true, (dob_tensor *)t, dim, keepdim, &ind, false);
    if (!val) return NULL;
    dob_release(val);
    return ind;
}

static dob_tensor *select_all(const char *name, bool is_max, dob_tensor *t)
{
    DOB_CHECK_F32(t, name, "self");
    int64_t n = dob__numel_of(t->ndim, t->size);
    DOB_CHECK(n > 0, "%s: the tensor %s has no elements", name, dob__shape(t));
    dob_tensor *c = dob__contig(t);
    if (!c) return NULL;
    geom g;
    int64_t one = 1;
    make_geom(&g, 1, &n, &one, 1u, false, false);
    dob_tensor *val = dob__new_like_shape(DOB_F32, 0, NULL);
    int64_t bi = 0;
    int rc = val ? select_kernel(&g, dob__f32(c), is_max, dob__f32(val), &bi) : -1;
    dob_release(c);
    if (rc) { dob_release(val); return NULL; }
    dob_node *nd = dob__record(name, select_backward, 1, &t, 1);
    if (nd) {
        nd->iattr[0] = -1;
        nd->iattr[1] = bi;
        dob__set_output(nd, 0, val);
    }
    return dob__recorded(nd, val);
}

dob_tensor *dob_max_all(dob_tensor *t) { return select_all("max", true, t); }
dob_tensor *dob_min_all(dob_tensor *t) { return select_all("min", false, t); }
