/* loss.c — per-example losses (shape [N]; reduce them with mean/sum) and the
 * accuracy metric.
 *
 *   softmax_cross_entropy(x [N,C], y, s): target t = y (1-s) + s/C where y is
 *     the one-hot of I64 labels [N] or F32 probabilities [N,C];
 *     loss_n = Σ_j t_j (lse_n − x_nj) = lse_n Σ_j t_j − Σ_j t_j x_nj,
 *     lse_n = m + log Σ exp(x_nj − m).  Backward: dx = g_n (softmax · Σt − t).
 *     The labels get no gradient.
 *   sigmoid_cross_entropy(x, z [N,...]): Σ over non-batch dims of
 *     max(x,0) − x z + log(1 + exp(−|x|)).  dx = g_n (σ(x) − z), dz = −g_n x.
 *   squared_error(p, t [N,...]): Σ (p − t)².  dp = 2 g_n (p − t), dt = −dp.
 *   accuracy(x [N,C], y I64 [N] or F32 [N,C]): fraction of rows whose first
 *     argmax equals the label (for F32 labels, their first argmax).
 *
 * Row sums accumulate in double; work is split over rows only, so results do
 * not depend on the thread count.
 */
#include "ops/ops.h"
#include <math.h>
#include <stdlib.h>

/* g [N] (any strides) -> a contiguous new reference */
static dob_tensor *contig_g(dob_tensor *g) { return dob__contig(g); }

/* ---- softmax cross-entropy ----------------------------------------------------------- */

/* target weight of class j in row n */
static inline double target_of(const int64_t *yi, const float *yf, int64_t n, int64_t j, int64_t C,
                               double s)
{
    double y = yi ? (yi[n] == j ? 1.0 : 0.0) : yf[n * C + j];
    return y * (1 - s) + s / (double)C;
}

/* fattr[0] = smoothing; saved: logits (contiguous), labels (contiguous) */
static int sce_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    if (!dob__input_needs_grad(n, 0)) return 0;
    dob_tensor *x = n->saved[0], *y = n->saved[1];
    double s = n->fattr[0];
    int64_t N = x->size[0], C = x->size[1];
    dob_tensor *g = contig_g(gout[0]);
    dob_tensor *r = g ? dob__new_like_shape(DOB_F32, 2, x->size) : NULL;
    if (!r) { dob_release(g); return -1; }
    const float *px = dob__f32(x), *pg = dob__f32(g);
    const int64_t *yi = y->dtype == DOB_I64 ? dob__i64(y) : NULL;
    const float *yf = y->dtype == DOB_F32 ? dob__f32(y) : NULL;
    float *pr = dob__f32(r);
#pragma omp parallel for schedule(static) if (N > 1 && N * C >= DOB_PAR_MIN)
    for (int64_t i = 0; i < N; i++) {
        const float *xr = px + i * C;
        float *rr = pr + i * C;
        float m = -INFINITY;
        for (int64_t j = 0; j < C; j++) m = fmaxf(m, xr[j]);
        double se = 0, st = 0;
        for (int64_t j = 0; j < C; j++) {
            se += exp((double)xr[j] - m);
            st += target_of(yi, yf, i, j, C, s);
        }
        double gi = pg[i];
        for (int64_t j = 0; j < C; j++)
            rr[j] = (float)(gi * (exp((double)xr[j] - m) / se * st - target_of(yi, yf, i, j, C, s)));
    }
    dob_release(g);
    gin[0] = r;
    return 0;
}

dob_tensor *dob_softmax_cross_entropy(dob_tensor *logits, const dob_tensor *labels,
                                      double label_smoothing)
{
    const char *op = "softmax_cross_entropy";
    DOB_CHECK_F32(logits, op, "logits");
    DOB_CHECK(logits->ndim == 2 && logits->size[1] >= 1, "%s: logits must be [N,C] with C >= 1, got %s", op,
              dob__shape(logits));
    DOB_CHECK(dob_is_valid(labels), "%s: argument 'labels' is not a valid tensor (NULL or freed)", op);
    DOB_CHECK(label_smoothing >= 0 && label_smoothing <= 1, "%s: label_smoothing %g is not in [0, 1]", op,
              label_smoothing);
    int64_t N = logits->size[0], C = logits->size[1];
    if (labels->dtype == DOB_I64) {
        DOB_CHECK(labels->ndim == 1 && labels->size[0] == N,
                  "%s: int64 labels must be [N] = [%lld] for logits %s, got %s", op, (long long)N,
                  dob__shape(logits), dob__shape(labels));
    } else if (labels->dtype == DOB_F32) {
        DOB_CHECK(dob__same_shape(labels, logits), "%s: float32 labels %s must match logits %s", op,
                  dob__shape(labels), dob__shape(logits));
    } else {
        return dob__failp("%s: labels must be int64 class indices or float32 probabilities, got %s", op,
                          dob__dtype_name(labels->dtype));
    }
    dob_tensor *y = dob__contig((dob_tensor *)labels);
    if (!y) return NULL;
    const int64_t *yi = y->dtype == DOB_I64 ? dob__i64(y) : NULL;
    const float *yf = y->dtype == DOB_F32 ? dob__f32(y) : NULL;
    if (yi)
        for (int64_t i = 0; i < N; i++)
            if (yi[i] < 0 || yi[i] >= C) {
                dob_release(y);
                return dob__failp("%s: label %lld of example %lld is out of range [0, %lld) for logits %s", op,
                                  (long long)yi[i], (long long)i, (long long)C, dob__shape(logits));
            }
    dob_tensor *x = dob__contig(logits);
    dob_tensor *out = x ? dob__new_like_shape(DOB_F32, 1, &N) : NULL;
    if (!out) { dob_release(x); dob_release(y); return NULL; }
    const float *px = dob__f32(x);
    float *po = dob__f32(out);
    double s = label_smoothing;
#pragma omp parallel for schedule(static) if (N > 1 && N * C >= DOB_PAR_MIN)
    for (int64_t i = 0; i < N; i++) {
        const float *xr = px + i * C;
        float m = -INFINITY;
        for (int64_t j = 0; j < C; j++) m = fmaxf(m, xr[j]);
        double se = 0, st = 0, stx = 0;
        for (int64_t j = 0; j < C; j++) {
            se += exp((double)xr[j] - m);
            double t = target_of(yi, yf, i, j, C, s);
            if (t != 0) { st += t; stx += t * xr[j]; }
        }
        po[i] = (float)((m + log(se)) * st - stx);
    }
    dob_node *n = dob__record(op, sce_backward, 1, &logits, 1);
    if (n) {
        n->fattr[0] = s;
        dob__save(n, x);
        dob__save(n, y);
        dob__set_output(n, 0, out);
    }
    dob_release(x);
    dob_release(y);
    return dob__recorded(n, out);
}

/* ---- pairwise losses summed over non-batch dims ---------------------------------------- */

enum { L_SIGMOID_XENT, L_SQUARED };

/* iattr[0] = kind; saved: a (contiguous), b (contiguous) */
static int pair_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    int kind = (int)n->iattr[0];
    dob_tensor *a = n->saved[0], *b = n->saved[1];
    bool ga = dob__input_needs_grad(n, 0), gb = dob__input_needs_grad(n, 1);
    int64_t N = a->size[0], total = dob__numel_of(a->ndim, a->size), per = N ? total / N : 0;
    dob_tensor *g = contig_g(gout[0]);
    dob_tensor *ra = ga && g ? dob__new_like_shape(DOB_F32, a->ndim, a->size) : NULL;
    dob_tensor *rb = gb && g ? dob__new_like_shape(DOB_F32, b->ndim, b->size) : NULL;
    if (!g || (ga && !ra) || (gb && !rb)) {
        dob_release(g);
        dob_release(ra);
        dob_release(rb);
        return -1;
    }
    const float *pa = dob__f32(a), *pb = dob__f32(b), *pg = dob__f32(g);
    float *qa = ra ? dob__f32(ra) : NULL, *qb = rb ? dob__f32(rb) : NULL;
#pragma omp parallel for schedule(static) if (total >= DOB_PAR_MIN)
    for (int64_t i = 0; i < total; i++) {
        float gi = pg[per ? i / per : 0], x = pa[i], z = pb[i];
        if (kind == L_SIGMOID_XENT) {
            float sg = x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
            if (qa) qa[i] = gi * (sg - z);
            if (qb) qb[i] = -gi * x;
        } else {
            float d = 2 * gi * (x - z);
            if (qa) qa[i] = d;
            if (qb) qb[i] = -d;
        }
    }
    dob_release(g);
    gin[0] = ra;
    gin[1] = rb;
    return 0;
}

static dob_tensor *pair_loss(int kind, const char *op, const char *an, const char *bn, dob_tensor *a,
                             dob_tensor *b)
{
    DOB_CHECK_F32(a, op, an);
    DOB_CHECK_F32(b, op, bn);
    DOB_CHECK(a->ndim >= 1, "%s: %s must have a batch dim, got %s", op, an, dob__shape(a));
    DOB_CHECK(dob__same_shape(a, b), "%s: %s %s and %s %s must have the same shape", op, an, dob__shape(a), bn,
              dob__shape(b));
    int64_t N = a->size[0], total = dob__numel_of(a->ndim, a->size), per = N ? total / N : 0;
    dob_tensor *ac = dob__contig(a), *bc = dob__contig(b);
    dob_tensor *out = ac && bc ? dob__new_like_shape(DOB_F32, 1, &N) : NULL;
    if (!out) { dob_release(ac); dob_release(bc); return NULL; }
    const float *pa = dob__f32(ac), *pb = dob__f32(bc);
    float *po = dob__f32(out);
#pragma omp parallel for schedule(static) if (N > 1 && total >= DOB_PAR_MIN)
    for (int64_t i = 0; i < N; i++) {
        const float *x = pa + i * per, *z = pb + i * per;
        double s = 0;
        if (kind == L_SIGMOID_XENT)
            for (int64_t j = 0; j < per; j++) {
                double v = x[j];
                s += (v > 0 ? v : 0) - v * z[j] + log1p(exp(-fabs(v)));
            }
        else
            for (int64_t j = 0; j < per; j++) {
                double d = (double)x[j] - z[j];
                s += d * d;
            }
        po[i] = (float)s;
    }
    dob_tensor *ins[2] = {a, b};
    dob_node *n = dob__record(op, pair_backward, 2, ins, 1);
    if (n) {
        n->iattr[0] = kind;
        dob__save(n, ac);
        dob__save(n, bc);
        dob__set_output(n, 0, out);
    }
    dob_release(ac);
    dob_release(bc);
    return dob__recorded(n, out);
}

dob_tensor *dob_sigmoid_cross_entropy(dob_tensor *logits, dob_tensor *targets)
{
    return pair_loss(L_SIGMOID_XENT, "sigmoid_cross_entropy", "logits", "targets", logits, targets);
}

dob_tensor *dob_squared_error(dob_tensor *pred, dob_tensor *target)
{
    return pair_loss(L_SQUARED, "squared_error", "pred", "target", pred, target);
}

/* ---- accuracy ------------------------------------------------------------------------------ */

/* the first largest entry; a NaN counts as the largest, as in dob_argmax */
static int64_t argmax_row(const float *x, int64_t C)
{
    int64_t best = 0;
    for (int64_t j = 1; j < C && x[best] == x[best]; j++)
        if (x[j] > x[best] || x[j] != x[j]) best = j;
    return best;
}

double dob_accuracy(const dob_tensor *logits, const dob_tensor *labels)
{
    const char *op = "accuracy";
    if (!dob_is_valid(logits) || logits->dtype != DOB_F32 || logits->ndim != 2 || logits->size[1] < 1) {
        if (!dob_is_valid(logits)) dob__fail("%s: argument 'logits' is not a valid tensor (NULL or freed)", op);
        else dob__fail("%s: logits must be float32 [N,C] with C >= 1, got %s %s", op,
                       dob__dtype_name(logits->dtype), dob__shape(logits));
        return NAN;
    }
    int64_t N = logits->size[0], C = logits->size[1];
    if (!dob_is_valid(labels)) {
        dob__fail("%s: argument 'labels' is not a valid tensor (NULL or freed)", op);
        return NAN;
    }
    bool ok = labels->dtype == DOB_I64 ? (labels->ndim == 1 && labels->size[0] == N)
            : labels->dtype == DOB_F32 ? dob__same_shape(labels, logits) : false;
    if (!ok) {
        dob__fail("%s: labels must be int64 [N] or float32 [N,C] for logits %s, got %s %s", op,
                  dob__shape(logits), dob__dtype_name(labels->dtype), dob__shape(labels));
        return NAN;
    }
    if (N == 0) return 0.0;
    dob_tensor *x = dob__contig((dob_tensor *)logits), *y = dob__contig((dob_tensor *)labels);
    if (!x || !y) { dob_release(x); dob_release(y); return NAN; }
    const float *px = dob__f32(x);
    if (y->dtype == DOB_I64)
        for (int64_t i = 0; i < N; i++) {
            int64_t label = dob__i64(y)[i];
            if (label < 0 || label >= C) {
                dob__fail("%s: label %lld of example %lld is out of range [0, %lld) for logits %s", op,
                          (long long)label, (long long)i, (long long)C, dob__shape(logits));
                dob_release(x);
                dob_release(y);
                return NAN;
            }
        }
    int64_t correct = 0;
    for (int64_t i = 0; i < N; i++) {
        int64_t want = y->dtype == DOB_I64 ? dob__i64(y)[i] : argmax_row(dob__f32(y) + i * C, C);
        if (argmax_row(px + i * C, C) == want) correct++;
    }
    dob_release(x);
    dob_release(y);
    return (double)correct / (double)N;
}
