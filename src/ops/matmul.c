/* matmul.c — matrix products through cblas_sgemm (row-major).
 *
 *   matmul  a [..., n, k] @ b [..., k, m] -> [bcast(...), n, m]; batch dims
 *           broadcast numpy-style; a 1-D a is [1, k] (dim dropped from the
 *           result), a 1-D b is [k, 1] (likewise)
 *   bmm     a [B, n, k] @ b [B, k, m] -> [B, n, m]
 *   addmm   beta * c + alpha * a @ b, a [n, k], b [k, m], c broadcast to [n, m]
 *   linear  x [..., in], W [out, in], bias [out] or NULL -> x W^T + bias [..., out],
 *           or relu of it (activation; the node then saves the output, and its
 *           backward first masks g by relu'(out), as relu's backward would)
 *
 * Backward (g = dL/dout):
 *   dA = g B^T, dB = A^T g, each summed over the batch dims its operand was
 *   broadcast along (the sum is folded into the GEMM's K, or accumulated
 *   with beta = 1 in a fixed order);  addmm: dc = beta g (summed to c's shape),
 *   dA, dB scaled by alpha;  linear: dX = g W, dW = g^T X (one GEMM with all
 *   batch dims folded into K), db = column sums of g (double accumulation).
 *
 * Operands are passed to BLAS as they are when their last two dims have a
 * unit stride on either side (a transposed view goes in as Trans); only other
 * layouts are copied. Batch dims that line up with the row (M) or reduction
 * (K) dims are folded into one GEMM, so x [T, B, in] @ W^T is a single call.
 */
#include "ops/ops.h"
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

/* a strided view with up to DOB_MAX_DIMS dims over a tensor's storage */
typedef struct {
    int nd;
    int64_t size[DOB_MAX_DIMS], stride[DOB_MAX_DIMS];
    int64_t off;              /* element offset into t's storage */
    const dob_tensor *t;
} tview;

static tview view_of(const dob_tensor *t)
{
    tview v;
    memset(&v, 0, sizeof v);
    v.nd = t->ndim;
    for (int d = 0; d < t->ndim; d++) {
        v.size[d] = t->size[d];
        v.stride[d] = t->stride[d];
    }
    v.off = t->offset;
    v.t = t;
    return v;
}

/* inserts a size-1 dim before dim `at` */
static void insert_one(tview *v, int at)
{
    for (int d = v->nd; d > at; d--) {
        v->size[d] = v->size[d - 1];
        v->stride[d] = v->stride[d - 1];
    }
    v->size[at] = 1;
    v->stride[at] = 1;
    v->nd++;
}

static tview transposed(tview v)
{
    int64_t s = v.size[v.nd - 1], st = v.stride[v.nd - 1];
    v.size[v.nd - 1] = v.size[v.nd - 2];
    v.stride[v.nd - 1] = v.stride[v.nd - 2];
    v.size[v.nd - 2] = s;
    v.stride[v.nd - 2] = st;
    return v;
}

/* a contiguous view of shape sizes over t (which has that many elements) */
static tview contig_view(const dob_tensor *t, int nd, const int64_t *sizes)
{
    tview v;
    memset(&v, 0, sizeof v);
    v.nd = nd;
    int64_t s = 1;
    for (int d = nd - 1; d >= 0; d--) {
        v.size[d] = sizes[d];
        v.stride[d] = s;
        s *= sizes[d];
    }
    v.off = t->offset;
    v.t = t;
    return v;
}

/* one matrix of a batch: rows, cols and their strides, plus batch strides */
typedef struct {
    float *p;
    int64_t r, c, rs, cs;
    int64_t bst[DOB_MAX_DIMS];
} mat;

static inline int64_t max1(int64_t v) { return v > 1 ? v : 1; }

/* how cblas can read m: 0 NoTrans, 1 Trans, -1 neither; *ld its leading dim */
static int layout(const mat *m, int64_t *ld)
{
    if ((m->cs == 1 || m->c == 1) && (m->r == 1 || m->rs >= max1(m->c))) {
        *ld = m->r == 1 ? max1(m->c) : m->rs;
        return 0;
    }
    if ((m->rs == 1 || m->r == 1) && (m->c == 1 || m->cs >= max1(m->r))) {
        *ld = m->c == 1 ? max1(m->r) : m->cs;
        return 1;
    }
    return -1;
}

static void scale_block(const mat *C, float beta)
{
    for (int64_t i = 0; i < C->r; i++) {
        float *row = C->p + i * C->rs;
        for (int64_t j = 0; j < C->c; j++) row[j * C->cs] = beta == 0 ? 0.0f : beta * row[j * C->cs];
    }
}

static void sgemm(const mat *A, const mat *B, const mat *C, int64_t oa, int64_t ob, int64_t oc,
                  float alpha, float beta)
{
    int64_t M = A->r, N = B->c, K = A->c, lda = 1, ldb = 1, ldc = 1;
    if (M == 0 || N == 0) return;
    if (K == 0) {
        mat c = *C;
        c.p += oc;
        scale_block(&c, beta);
        return;
    }
    int ta = layout(A, &lda), tb = layout(B, &ldb);
    layout(C, &ldc);
    dob__gemm(ta, tb, M, N, K, alpha, A->p + oa, lda, B->p + ob, ldb, beta, C->p + oc, ldc);
}

/* tries to fold batch dim d (the innermost one left) into M or K */
static bool fold(int d, int64_t n, mat *A, mat *B, mat *C)
{
    int64_t ld;
    mat a = *A, b = *B, c = *C;
    if (B->bst[d] == 0 && (A->r == 1 || A->bst[d] == A->r * A->rs) &&
        (C->r == 1 || C->bst[d] == C->r * C->rs)) {
        if (a.r == 1) a.rs = A->bst[d];
        if (c.r == 1) c.rs = C->bst[d];
        a.r *= n;
        c.r *= n;
        if (layout(&a, &ld) >= 0 && layout(&c, &ld) == 0) { *A = a; *C = c; return true; }
        a = *A;
        c = *C;
    }
    if (C->bst[d] == 0 && (A->c == 1 || A->bst[d] == A->c * A->cs) &&
        (B->r == 1 || B->bst[d] == B->r * B->rs)) {
        if (a.c == 1) a.cs = A->bst[d];
        if (b.r == 1) b.rs = B->bst[d];
        a.c *= n;
        b.r *= n;
        if (layout(&a, &ld) >= 0 && layout(&b, &ld) >= 0) { *A = a; *B = b; return true; }
    }
    return false;
}

/* C[i] = alpha A[i] B[i] + beta C[i] over the batch shape bs (nb dims). Where
   C's batch stride is 0 the products are summed: the first one with beta,
   the rest with 1, in index order. */
static void gemm_batched(int nb, const int64_t *bs, mat A, mat B, mat C, float alpha, float beta)
{
    int64_t sz[DOB_MAX_DIMS];
    int k = 0;
    for (int d = 0; d < nb; d++) {      /* drop size-1 batch dims */
        if (bs[d] == 1) continue;
        sz[k] = bs[d];
        A.bst[k] = A.bst[d];
        B.bst[k] = B.bst[d];
        C.bst[k] = C.bst[d];
        k++;
    }
    nb = k;
    while (nb > 0 && fold(nb - 1, sz[nb - 1], &A, &B, &C)) nb--;
    int64_t total = dob__numel_of(nb, sz), idx[DOB_MAX_DIMS] = {0};
    for (int64_t t = 0; t < total; t++) {
        int64_t oa = 0, ob = 0, oc = 0;
        bool first = true;
        for (int d = 0; d < nb; d++) {
            oa += idx[d] * A.bst[d];
            ob += idx[d] * B.bst[d];
            oc += idx[d] * C.bst[d];
            if (C.bst[d] == 0 && idx[d] > 0) first = false;
        }
        sgemm(&A, &B, &C, oa, ob, oc, alpha, first ? beta : 1.0f);
        for (int d = nb - 1; d >= 0; d--) {
            if (++idx[d] < sz[d]) break;
            idx[d] = 0;
        }
    }
}

/* matrix m of view v broadcast over batch shape (nb dims) */
static mat mat_of(const tview *v, int nb)
{
    mat m;
    m.p = (float *)v->t->storage->data + v->off;
    m.r = v->size[v->nd - 2];
    m.c = v->size[v->nd - 1];
    m.rs = v->stride[v->nd - 2];
    m.cs = v->stride[v->nd - 1];
    int vb = v->nd - 2;
    for (int i = 0; i < nb; i++) {
        int d = vb - nb + i;
        m.bst[i] = (d < 0 || v->size[d] == 1) ? 0 : v->stride[d];
    }
    return m;
}

/* replaces v by a contiguous copy when BLAS cannot read its matrices */
static int make_gemmable(tview *v, dob_tensor **hold)
{
    mat m = mat_of(v, 0);
    int64_t ld;
    *hold = NULL;
    if (layout(&m, &ld) >= 0) return 0;
    dob_tensor *al = dob__alias(v->t, v->nd, v->size, v->stride, v->off);
    if (!al) return -1;
    dob_tensor *c = dob__contig(al);
    dob_release(al);
    if (!c) return -1;
    *hold = c;
    *v = contig_view(c, v->nd, v->size);
    return 0;
}

/* c (a contiguous view over a fresh tensor) = alpha a @ b + beta c, with the
   batch dims of a and b broadcast, summed where c's batch dim is 1 or absent */
static int bgemm(tview a, tview b, tview c, float alpha, float beta)
{
    dob_tensor *ha, *hb;
    if (make_gemmable(&a, &ha)) return -1;
    if (make_gemmable(&b, &hb)) { dob_release(ha); return -1; }
    int nb;
    int64_t bs[DOB_MAX_DIMS];
    dob__broadcast_shape(a.nd - 2, a.size, b.nd - 2, b.size, &nb, bs);
    if (dob__numel_of(nb, bs) == 0) {   /* nothing to sum: c = beta c */
        float *p = (float *)c.t->storage->data + c.off;
        int64_t n = dob__numel_of(c.nd, c.size);
        for (int64_t i = 0; i < n; i++) p[i] = beta == 0 ? 0.0f : beta * p[i];
    } else {
        gemm_batched(nb, bs, mat_of(&a, nb), mat_of(&b, nb), mat_of(&c, nb), alpha, beta);
    }
    dob_release(ha);
    dob_release(hb);
    return 0;
}

/* ---- matmul / bmm ------------------------------------------------------------------ */

/* a, b promoted to >= 2 dims; g (if given) promoted to match */
static void promote(const dob_tensor *a, const dob_tensor *b, tview *av, tview *bv, tview *gv)
{
    *av = view_of(a);
    *bv = view_of(b);
    if (a->ndim == 1) insert_one(av, 0);
    if (b->ndim == 1) insert_one(bv, 1);
    if (gv) {
        if (a->ndim == 1) insert_one(gv, gv->nd - (b->ndim == 1 ? 0 : 1));
        if (b->ndim == 1) insert_one(gv, gv->nd);
    }
}

static int matmul_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    dob_tensor *a = n->saved[0], *b = n->saved[1];
    tview av, bv, gv = view_of(gout[0]);
    promote(a, b, &av, &bv, &gv);
    if (dob__input_needs_grad(n, 0)) {
        dob_tensor *ga = dob__new_like_shape(DOB_F32, a->ndim, a->size);
        if (!ga || bgemm(gv, transposed(bv), contig_view(ga, av.nd, av.size), 1, 0)) {
            dob_release(ga);
            return -1;
        }
        gin[0] = ga;
    }
    if (dob__input_needs_grad(n, 1)) {
        dob_tensor *gb = dob__new_like_shape(DOB_F32, b->ndim, b->size);
        if (!gb || bgemm(transposed(av), gv, contig_view(gb, bv.nd, bv.size), 1, 0)) {
            dob_release(gb);
            return -1;
        }
        gin[1] = gb;
    }
    return 0;
}

static dob_tensor *matmul_impl(const char *name, dob_tensor *a, dob_tensor *b)
{
    DOB_CHECK_F32(a, name, "a");
    DOB_CHECK_F32(b, name, "b");
    DOB_CHECK(a->ndim >= 1 && b->ndim >= 1, "%s: operands must have at least 1 dim, got %s and %s",
              name, dob__shape(a), dob__shape(b));
    tview av, bv;
    promote(a, b, &av, &bv, NULL);
    DOB_CHECK(av.size[av.nd - 1] == bv.size[bv.nd - 2],
              "%s: inner dimensions do not match: %s @ %s", name, dob__shape(a), dob__shape(b));
    int nb;
    int64_t os[DOB_MAX_DIMS + 2];
    DOB_CHECK(dob__broadcast_shape(av.nd - 2, av.size, bv.nd - 2, bv.size, &nb, os),
              "%s: batch dims of %s and %s cannot be broadcast together", name, dob__shape(a),
              dob__shape(b));
    int64_t nn = av.size[av.nd - 2], mm = bv.size[bv.nd - 1];
    int ond = nb;
    if (a->ndim > 1) os[ond++] = nn;
    if (b->ndim > 1) os[ond++] = mm;
    dob_tensor *out = dob__new_like_shape(DOB_F32, ond, os);
    if (!out) return NULL;
    int64_t cs[DOB_MAX_DIMS];
    memcpy(cs, os, sizeof(int64_t) * (size_t)nb);
    cs[nb] = nn;
    cs[nb + 1] = mm;
    if (bgemm(av, bv, contig_view(out, nb + 2, cs), 1, 0)) { dob_release(out); return NULL; }
    dob_tensor *ins[2] = {a, b};
    dob_node *n = dob__record(name, matmul_backward, 2, ins, 1);
    if (n) {
        dob__save(n, a);
        dob__save(n, b);
        dob__set_output(n, 0, out);
    }
    return dob__recorded(n, out);
}

dob_tensor *dob_matmul(dob_tensor *a, dob_tensor *b) { return matmul_impl("matmul", a, b); }

dob_tensor *dob_bmm(dob_tensor *a, dob_tensor *b)
{
    DOB_CHECK_F32(a, "bmm", "a");
    DOB_CHECK_F32(b, "bmm", "b");
    DOB_CHECK(a->ndim == 3 && b->ndim == 3 && a->size[0] == b->size[0],
              "bmm: expects [B,n,k] and [B,k,m] with the same B, got %s and %s", dob__shape(a),
              dob__shape(b));
    return matmul_impl("bmm", a, b);
}

/* ---- addmm ---------------------------------------------------------------------------- */

/* iattr: has_c; fattr: beta, alpha; saved: a, b */
static int addmm_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    dob_tensor *g = gout[0], *a = n->saved[0], *b = n->saved[1];
    double beta = n->fattr[0], alpha = n->fattr[1];
    if (dob__input_needs_grad(n, 0)) {
        dob_tensor *s = dob__reduce_grad(g, &n->next[0]);
        gin[0] = s ? dob_binary_scalar(DOB_MUL, s, beta, 0) : NULL;
        dob_release(s);
        if (!gin[0]) return -1;
    }
    tview av = view_of(a), bv = view_of(b), gv = view_of(g);
    if (dob__input_needs_grad(n, 1)) {
        dob_tensor *ga = dob__empty_like(a);
        if (!ga || bgemm(gv, transposed(bv), contig_view(ga, 2, a->size), (float)alpha, 0)) {
            dob_release(ga);
            return -1;
        }
        gin[1] = ga;
    }
    if (dob__input_needs_grad(n, 2)) {
        dob_tensor *gb = dob__empty_like(b);
        if (!gb || bgemm(transposed(av), gv, contig_view(gb, 2, b->size), (float)alpha, 0)) {
            dob_release(gb);
            return -1;
        }
        gin[2] = gb;
    }
    return 0;
}

dob_tensor *dob_addmm(dob_tensor *c, dob_tensor *a, dob_tensor *b, double beta, double alpha)
{
    DOB_CHECK_F32(c, "addmm", "c");
    DOB_CHECK_F32(a, "addmm", "a");
    DOB_CHECK_F32(b, "addmm", "b");
    DOB_CHECK(a->ndim == 2 && b->ndim == 2 && a->size[1] == b->size[0],
              "addmm: expects a [n,k] and b [k,m], got %s and %s", dob__shape(a), dob__shape(b));
    int64_t os[2] = {a->size[0], b->size[1]};
    int on;
    int64_t bs[DOB_MAX_DIMS];
    DOB_CHECK(c->ndim <= 2 && dob__broadcast_shape(c->ndim, c->size, 2, os, &on, bs) &&
              bs[0] == os[0] && bs[1] == os[1],
              "addmm: c %s cannot be broadcast to the product's shape [%lldx%lld]", dob__shape(c),
              (long long)os[0], (long long)os[1]);
    dob_tensor *out = dob__new_like_shape(DOB_F32, 2, os);
    if (!out) return NULL;
    if (beta != 0) {
        int64_t st[2];
        dob__broadcast_strides(c, 2, os, st);
        float *po = dob__f32(out);
        const float *pc = dob__f32(c);
        for (int64_t i = 0; i < os[0]; i++)
            for (int64_t j = 0; j < os[1]; j++) po[i * os[1] + j] = pc[i * st[0] + j * st[1]];
    }
    if (bgemm(view_of(a), view_of(b), contig_view(out, 2, os), (float)alpha, (float)beta)) {
        dob_release(out);
        return NULL;
    }
    dob_tensor *ins[3] = {c, a, b};
    dob_node *n = dob__record("addmm", addmm_backward, 3, ins, 1);
    if (n) {
        n->fattr[0] = beta;
        n->fattr[1] = alpha;
        dob__save(n, a);
        dob__save(n, b);
        dob__set_output(n, 0, out);
    }
    return dob__recorded(n, out);
}

/* ---- linear ------------------------------------------------------------------------------ */

/* column sums of g viewed as [rows, m] (contiguous), double accumulation */
static void column_sums(const float *g, int64_t rows, int64_t m, float *out)
{
    enum { CB = 64 };
    int64_t nblk = (m + CB - 1) / CB;
#pragma omp parallel for schedule(static) if (nblk > 1 && rows * m >= DOB_PAR_MIN)
    for (int64_t blk = 0; blk < nblk; blk++) {
        int64_t j0 = blk * CB, len = m - j0 < CB ? m - j0 : CB;
        double acc[CB] = {0};
        for (int64_t i = 0; i < rows; i++) {
            const float *row = g + i * m + j0;
            for (int64_t j = 0; j < len; j++) acc[j] += row[j];
        }
        for (int64_t j = 0; j < len; j++) out[j0 + j] = (float)acc[j];
    }
}

/* the input gradients from g = dL/d(x W^T + b) */
static int linear_grads(dob_node *n, dob_tensor *g, dob_tensor **gin)
{
    dob_tensor *x = n->saved[0], *w = n->saved[1];
    tview xv = view_of(x), wv = view_of(w), gv = view_of(g);
    if (x->ndim == 1) {
        insert_one(&xv, 0);
        insert_one(&gv, 0);
    }
    if (dob__input_needs_grad(n, 0)) {
        dob_tensor *gx = dob__empty_like(x);
        if (!gx || bgemm(gv, wv, contig_view(gx, xv.nd, xv.size), 1, 0)) {
            dob_release(gx);
            return -1;
        }
        gin[0] = gx;
    }
    dob_tensor *reads[3] = {x, g, w};
    dob_tensor *sink = dob__input_needs_grad(n, 1) ? dob__grad_sink(n, 1, reads, 3) : NULL;
    if (sink) {   /* weight.grad += g^T x in one GEMM: no temporary as large as the weight */
        if (bgemm(transposed(gv), xv, contig_view(sink, 2, w->size), 1, 1)) return -1;
        dob__grad_sink_done(sink);
    } else if (dob__input_needs_grad(n, 1)) {
        dob_tensor *gw = dob__empty_like(w);
        if (!gw || bgemm(transposed(gv), xv, contig_view(gw, 2, w->size), 1, 0)) {
            dob_release(gw);
            return -1;
        }
        gin[1] = gw;
    }
    if (dob__input_needs_grad(n, 2)) {
        dob_tensor *gc = dob__contig(g), *gb = gc ? dob__new_like_shape(DOB_F32, 1, &w->size[0]) : NULL;
        if (!gb) { dob_release(gc); return -1; }
        int64_t m = w->size[0];
        column_sums(dob__f32(gc), m ? dob__numel_of(g->ndim, g->size) / m : 0, m, dob__f32(gb));
        dob_release(gc);
        gin[2] = gb;
    }
    return 0;
}

/* saved: x, w (with a relu: then the output); iattr[0]: the activation */
static int linear_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    if (n->iattr[0] != DOB_ACT_RELU) return linear_grads(n, gout[0], gin);
    /* the gradient at the pre-activation: g masked by the saved output, as relu's backward */
    dob_tensor *g = dob__relu_grad(gout[0], n->saved[2]);
    int rc = g ? linear_grads(n, g, gin) : -1;
    dob_release(g);
    return rc;
}

dob_tensor *dob_linear(dob_tensor *x, dob_tensor *w, dob_tensor *bias, int activation)
{
    if (dob__check_activation("linear", activation)) return NULL;
    DOB_CHECK_F32(x, "linear", "x");
    DOB_CHECK_F32(w, "linear", "weight");
    DOB_CHECK(w->ndim == 2, "linear: weight must be [out, in], got %s", dob__shape(w));
    DOB_CHECK(x->ndim >= 1 && x->size[x->ndim - 1] == w->size[1],
              "linear: input %s does not end in the weight's input size %lld (weight %s)",
              dob__shape(x), (long long)w->size[1], dob__shape(w));
    if (bias) {
        DOB_CHECK_F32(bias, "linear", "bias");
        DOB_CHECK(bias->ndim == 1 && bias->size[0] == w->size[0],
                  "linear: bias must be [%lld] for weight %s, got %s", (long long)w->size[0],
                  dob__shape(w), dob__shape(bias));
    }
    int64_t os[DOB_MAX_DIMS];
    memcpy(os, x->size, sizeof os);
    int64_t m = w->size[0];
    os[x->ndim - 1] = m;
    dob_tensor *out = dob__new_like_shape(DOB_F32, x->ndim, os);
    if (!out) return NULL;
    int64_t rows = m ? dob__numel_of(x->ndim, os) / m : 0;
    if (bias) {   /* rows start as the bias; the GEMM adds onto them */
        float *po = dob__f32(out);
        const float *pb = dob__f32(bias);
        int64_t bs = bias->stride[0];
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < m; j++) po[i * m + j] = pb[j * bs];
    }
    tview xv = view_of(x), cv = contig_view(out, x->ndim, os);
    if (x->ndim == 1) {
        insert_one(&xv, 0);
        insert_one(&cv, 0);
    }
    if (bgemm(xv, transposed(view_of(w)), cv, 1, bias ? 1.0f : 0.0f)) {
        dob_release(out);
        return NULL;
    }
    bool relu = activation == DOB_ACT_RELU;
    if (relu) dob__relu_inplace(dob__f32(out), rows * m);
    dob_tensor *ins[3] = {x, w, bias};
    dob_node *n = dob__record(relu ? "linear_relu" : "linear", linear_backward, 3, ins, 1);
    if (n) {
        n->iattr[0] = activation;
        dob__save(n, x);
        dob__save(n, w);
        if (relu) dob__save(n, out);
        dob__set_output(n, 0, out);
    }
    return dob__recorded(n, out);
}

void dob__gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
               int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    if (M == 0 || N == 0) return;
    bool narrowed = dob__blas_threads_begin(2 * M * N * K);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)M, (int)N, (int)K, alpha, A, (int)(lda > 0 ? lda : 1), B,
                (int)(ldb > 0 ? ldb : 1), beta, C, (int)(ldc > 0 ? ldc : 1));
    dob__blas_threads_end(narrowed);
}

/* C = A B with A M x K (or, ta, A^T given K x M), B K x N and C M x N row-major, beta 0.
   Register tiles of MR rows x 32 columns of C sum over k from B's rows as they are (masked at
   N's end) and broadcasts of A: no packing of either operand. A Winograd pass's GEMMs are of
   this kind (A: the transformed filters; B: K channels x a few hundred tiles); on Inception's
   32->64 layer on 147x147 perf had OpenBLAS's packing at 22% of the time, its kernel at 26%. Measured
   (bench/ops.lua, 1 thread, ms forward + backward, OpenBLAS -> this): WRN 64->64 on 32x32
   126 -> 109, All-CNN-C 96->192 105-111 -> 91-94, 3c3d conv2 26.5-26.9 -> 23.6-24.4. At
   K = 384 and 448 it was slower (Inception's 8x8 layers), likely as the K x 32 floats of B
   under one tile outgrow L1, so above NOPACK_MAX_K it hands over to sgemm. */
#define NOPACK_MAX_K 256
#ifdef __AVX512F__
#define MR 8
static inline __attribute__((always_inline)) void nopack_tile(int rows, bool ta, int64_t K, const float *A,
                                                             int64_t lda, const float *B, int64_t ldb, float *C,
                                                             int64_t ldc, __mmask16 m0, __mmask16 m1)
{
    __m512 acc0[MR], acc1[MR];
    for (int i = 0; i < rows; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, B + k * ldb), b1 = _mm512_maskz_loadu_ps(m1, B + k * ldb + 16);
        for (int i = 0; i < rows; i++) {
            const __m512 a = _mm512_set1_ps(ta ? A[k * lda + i] : A[i * lda + k]);
            acc0[i] = _mm512_fmadd_ps(a, b0, acc0[i]);
            acc1[i] = _mm512_fmadd_ps(a, b1, acc1[i]);
        }
    }
    for (int i = 0; i < rows; i++) {
        _mm512_mask_storeu_ps(C + i * ldc, m0, acc0[i]);
        _mm512_mask_storeu_ps(C + i * ldc + 16, m1, acc1[i]);
    }
}

static __mmask16 lanes(int64_t n) { return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1); }

void dob__gemm_nopack(bool ta, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                      int64_t ldb, float *C, int64_t ldc)
{
    if (K > NOPACK_MAX_K) {
        dob__gemm(ta, false, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
        return;
    }
    for (int64_t n0 = 0; n0 < N; n0 += 32) {
        const __mmask16 m0 = lanes(N - n0), m1 = lanes(N - n0 - 16);
        int64_t i = 0;
        for (; i + MR <= M; i += MR)
            nopack_tile(MR, ta, K, ta ? A + i : A + i * lda, lda, B + n0, ldb, C + i * ldc + n0, ldc, m0, m1);
        for (; i < M; i++)
            nopack_tile(1, ta, K, ta ? A + i : A + i * lda, lda, B + n0, ldb, C + i * ldc + n0, ldc, m0, m1);
    }
}
#undef MR
#else
void dob__gemm_nopack(bool ta, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                      int64_t ldb, float *C, int64_t ldc)
{
    dob__gemm(ta, false, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
}
#endif
