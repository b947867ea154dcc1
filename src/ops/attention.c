/* attention.c — scaled dot-product attention.
 *
 *   attention       q [B,H,Tq,D], k [B,H,Tk,D], v [B,H,Tk,Dv] -> out [B,H,Tq,Dv]
 *   self_attention  qkv [B,T,3 H D] -> out [B,T,H D]: q, k, v are the three
 *                   thirds of the last dim, each split into H heads of D
 *                   (qkv.view(B,T,3,H,D)), and head h of out is columns
 *                   [h D, (h+1) D): what attention on the permuted thirds
 *                   gives, transposed back to [B,T,H,D], without the copies.
 *   S = q kᵀ · scale (+ -inf where j > i when causal); P = softmax_rows(S);
 *   Pd = P ∘ M with M = bernoulli(1-p) / (1-p) when training with dropout p
 *   (drawn from the global generator in [B,H,Tq,Tk] order), else Pd = P;
 *   out = Pd v. scale <= 0 means 1/sqrt(D).
 *
 * Backward per (batch, head):
 *   dPd = dO vᵀ        dV = Pdᵀ dO         dP = dPd ∘ M
 *   dS = P ∘ (dP − rowsum(dP ∘ P))         dQ = dS k · scale     dK = dSᵀ q · scale
 *
 * Saved: q, k, v (contiguous; self_attention: qkv), P [B,H,Tq,Tk] and the mask
 * M as keep bytes (or none; M = keep / (1-p)).
 * Both ops run one core on strided (batch, head) blocks: one sgemm per block
 * and product, the row softmax in between. With several threads and enough
 * blocks, the blocks are split over the threads, each with its own scratch
 * and a single-threaded sgemm (OpenBLAS's OpenMP build runs one thread inside
 * a parallel region); otherwise the blocks run in order and each sgemm may use
 * the threads. Every block's numbers are computed the same way either way.
 */
#include "ops/ops.h"
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#define MAX_THREADS 64

/* rows of block (b, h) of a [B,H,T,*] operand: row i at p + b sb + h sh + i ld */
typedef struct {
    float *p;
    int64_t sb, sh, ld;
} blocks;

static inline float *block_at(blocks m, int64_t b, int64_t h) { return m.p + b * m.sb + h * m.sh; }

typedef struct {
    int64_t B, NH, Tq, Tk, D, Dv;
    bool causal;
    float scale, ms;       /* ms: the mask's 1/(1-p) */
    blocks q, k, v;
    float *P;              /* [B,H,Tq,Tk] contiguous */
    const uint8_t *M;      /* keep bytes [B,H,Tq,Tk], or NULL */
} problem;

/* threads to split the blocks over: 1 unless each thread gets a couple of blocks */
static int block_threads(int64_t BH)
{
    int T = dob__threads();
    if (T > MAX_THREADS) T = MAX_THREADS;
    return BH >= 2 * (int64_t)T ? T : 1;
}

/* Pd = P ∘ M of one block into pd */
static void apply_mask(const problem *pr, const float *Pb, const uint8_t *Mb, float *pd)
{
    int64_t n = pr->Tq * pr->Tk;
    float ms = pr->ms;
    for (int64_t i = 0; i < n; i++) pd[i] = Pb[i] * (Mb[i] ? ms : 0.0f);
}

static void forward_block(const problem *pr, int64_t b, int64_t h, blocks out, float *pd)
{
    int64_t Tq = pr->Tq, Tk = pr->Tk, bh = b * pr->NH + h;
    float *Sb = pr->P + bh * Tq * Tk;
    dob__gemm(false, true, Tq, Tk, pr->D, pr->scale, block_at(pr->q, b, h), pr->q.ld, block_at(pr->k, b, h), pr->k.ld,
              0.0f, Sb, Tk);
#pragma omp parallel for schedule(static) if (Tq > 1 && Tq * Tk >= DOB_PAR_MIN && !omp_in_parallel())
    for (int64_t i = 0; i < Tq; i++) {
        float *r = Sb + i * Tk;
        int64_t lim = pr->causal ? (i + 1 < Tk ? i + 1 : Tk) : Tk;   /* columns j < lim are kept */
        /* the row max, NaN skipped as fmaxf does (a compare, which vectorises) */
        float m = -INFINITY;
        for (int64_t j = 0; j < lim; j++) m = r[j] > m ? r[j] : m;
        /* float exp (vectorised, ops/ops.h), summed in double in a fixed-width simd order */
        for (int64_t j = 0; j < lim; j++) r[j] = expf(r[j] - m);
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < lim; j++) s += r[j];
        float inv = (float)(1.0 / s);
        for (int64_t j = 0; j < lim; j++) r[j] *= inv;
        for (int64_t j = lim; j < Tk; j++) r[j] = 0.0f;
    }
    const float *use = Sb;
    if (pr->M) {
        apply_mask(pr, Sb, pr->M + bh * Tq * Tk, pd);
        use = pd;
    }
    dob__gemm(false, false, Tq, pr->Dv, Tk, 1.0f, use, Tk, block_at(pr->v, b, h), pr->v.ld, 0.0f, block_at(out, b, h),
              out.ld);
}

/* scratch: Tq Tk floats per thread for Pd (with a mask) */
static int run_forward(const problem *pr, blocks out)
{
    int64_t BH = pr->B * pr->NH;
    int T = block_threads(BH);
    size_t sbytes = pr->M ? sizeof(float) * (size_t)(pr->Tq * pr->Tk) : 0;
    float *scratch = sbytes ? dob__alloc(sbytes * (size_t)T) : NULL;
    if (sbytes && !scratch) return -1;
    if (T == 1) {
        for (int64_t bh = 0; bh < BH; bh++) forward_block(pr, bh / pr->NH, bh % pr->NH, out, scratch);
    } else {
#pragma omp parallel for schedule(static) num_threads(T)
        for (int64_t bh = 0; bh < BH; bh++) {
            float *pd = scratch ? scratch + (size_t)omp_get_thread_num() * (sbytes / sizeof(float)) : NULL;
            forward_block(pr, bh / pr->NH, bh % pr->NH, out, pd);
        }
    }
    if (scratch) dob__free(scratch, sbytes * (size_t)T);
    return 0;
}

/* gradients of one block; dq, dk, dv with p == NULL are not wanted. scratch:
   dS and (with a mask) Pd, Tq Tk floats each */
static void backward_block(const problem *pr, int64_t b, int64_t h, blocks g, blocks dq, blocks dk, blocks dv,
                           float *dS, float *pd)
{
    int64_t Tq = pr->Tq, Tk = pr->Tk, D = pr->D, Dv = pr->Dv, bh = b * pr->NH + h;
    const float *Pb = pr->P + bh * Tq * Tk, *gb = block_at(g, b, h);
    const uint8_t *Mb = pr->M ? pr->M + bh * Tq * Tk : NULL;
    float ms = pr->ms;
    if (dv.p) {   /* dV = Pdᵀ dO */
        const float *use = Pb;
        if (Mb) {
            apply_mask(pr, Pb, Mb, pd);
            use = pd;
        }
        dob__gemm(true, false, Tk, Dv, Tq, 1.0f, use, Tk, gb, g.ld, 0.0f, block_at(dv, b, h), dv.ld);
    }
    if (!dq.p && !dk.p) return;
    dob__gemm(false, true, Tq, Tk, Dv, 1.0f, gb, g.ld, block_at(pr->v, b, h), pr->v.ld, 0.0f, dS, Tk);   /* dPd = dO vᵀ */
#pragma omp parallel for schedule(static) if (Tq > 1 && Tq * Tk >= DOB_PAR_MIN && !omp_in_parallel())
    for (int64_t i = 0; i < Tq; i++) {
        float *r = dS + i * Tk;
        const float *p = Pb + i * Tk;
        const uint8_t *m = Mb ? Mb + i * Tk : NULL;
        if (m)
            for (int64_t j = 0; j < Tk; j++) r[j] *= m[j] ? ms : 0.0f;
        /* summed in double in a fixed-width simd order, as the forward's row sums */
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < Tk; j++) s += (double)r[j] * p[j];
        for (int64_t j = 0; j < Tk; j++) r[j] = (float)(p[j] * (r[j] - s));
    }
    if (dq.p)
        dob__gemm(false, false, Tq, D, Tk, pr->scale, dS, Tk, block_at(pr->k, b, h), pr->k.ld, 0.0f, block_at(dq, b, h),
                  dq.ld);
    if (dk.p)
        dob__gemm(true, false, Tk, D, Tq, pr->scale, dS, Tk, block_at(pr->q, b, h), pr->q.ld, 0.0f, block_at(dk, b, h),
                  dk.ld);
}

static int run_backward(const problem *pr, blocks g, blocks dq, blocks dk, blocks dv)
{
    int64_t BH = pr->B * pr->NH, per = pr->Tq * pr->Tk * (pr->M ? 2 : 1);
    int T = block_threads(BH);
    size_t bytes = sizeof(float) * (size_t)per * (size_t)T;
    float *scratch = dob__alloc(bytes);
    if (!scratch) return -1;
    if (T == 1) {
        for (int64_t bh = 0; bh < BH; bh++)
            backward_block(pr, bh / pr->NH, bh % pr->NH, g, dq, dk, dv, scratch,
                           pr->M ? scratch + pr->Tq * pr->Tk : NULL);
    } else {
#pragma omp parallel for schedule(static) num_threads(T)
        for (int64_t bh = 0; bh < BH; bh++) {
            float *s = scratch + (int64_t)omp_get_thread_num() * per;
            backward_block(pr, bh / pr->NH, bh % pr->NH, g, dq, dk, dv, s, pr->M ? s + pr->Tq * pr->Tk : NULL);
        }
    }
    dob__free(scratch, bytes);
    return 0;
}

/* P [B,H,Tq,Tk] and, when training with dropout, the keep bytes: pr's P and M */
static int new_probabilities(problem *pr, double dropout_p, bool drop, dob_tensor **P, dob_tensor **M)
{
    *P = dob__new_like_shape(DOB_F32, 4, (int64_t[]){pr->B, pr->NH, pr->Tq, pr->Tk});
    if (!*P) return -1;
    pr->P = dob__f32(*P);
    pr->ms = dropout_p < 1 ? (float)(1.0 / (1.0 - dropout_p)) : 0.0f;
    if (!drop) return 0;
    *M = dob__new_like_shape(DOB_U8, 4, (*P)->size);
    if (!*M || dob__bernoulli_bytes(dob__u8(*M), pr->B * pr->NH * pr->Tq * pr->Tk, 1.0 - dropout_p, NULL, NULL,
                                       0.0f)) return -1;
    pr->M = dob__u8(*M);
    return 0;
}

static blocks heads_of(dob_tensor *t)   /* contiguous [B,H,T,D] */
{
    int64_t T = t->size[2], D = t->size[3];
    return (blocks){dob__f32(t), t->size[1] * T * D, T * D, D};
}

/* ---- attention on [B,H,T,D] ---------------------------------------------------------------- */

/* iattr[0] = causal, iattr[1] = has mask; fattr[0] = scale, fattr[1] = the mask's 1/(1-p)
   saved: q, k, v, P, mask (may be NULL) */
static problem saved_problem(dob_node *n, int64_t D, int64_t Dv)
{
    dob_tensor *P = n->saved[n->iattr[2]], *M = n->iattr[1] ? n->saved[n->iattr[2] + 1] : NULL;
    return (problem){.B = P->size[0], .NH = P->size[1], .Tq = P->size[2], .Tk = P->size[3], .D = D, .Dv = Dv,
                     .causal = n->iattr[0] != 0, .scale = (float)n->fattr[0], .ms = (float)n->fattr[1],
                     .P = dob__f32(P), .M = M ? dob__u8(M) : NULL};
}

static int attention_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    dob_tensor *q = n->saved[0], *k = n->saved[1], *v = n->saved[2];
    problem pr = saved_problem(n, q->size[3], v->size[3]);
    pr.q = heads_of(q);
    pr.k = heads_of(k);
    pr.v = heads_of(v);
    bool gq = dob__input_needs_grad(n, 0), gk = dob__input_needs_grad(n, 1), gv = dob__input_needs_grad(n, 2);
    dob_tensor *g = dob__contig(gout[0]);
    dob_tensor *dq = gq ? dob__new_like_shape(DOB_F32, 4, q->size) : NULL;
    dob_tensor *dk = gk ? dob__new_like_shape(DOB_F32, 4, k->size) : NULL;
    dob_tensor *dv = gv ? dob__new_like_shape(DOB_F32, 4, v->size) : NULL;
    int rc = -1;
    if (!g || (gq && !dq) || (gk && !dk) || (gv && !dv)) goto done;
    blocks none = {0};
    if (run_backward(&pr, heads_of(g), dq ? heads_of(dq) : none, dk ? heads_of(dk) : none, dv ? heads_of(dv) : none))
        goto done;
    gin[0] = dq;
    gin[1] = dk;
    gin[2] = dv;
    dq = dk = dv = NULL;
    rc = 0;
done:
    dob_release(g);
    dob_release(dq);
    dob_release(dk);
    dob_release(dv);
    return rc;
}

static float default_scale(double scale, int64_t D) { return scale > 0 ? (float)scale : (float)(1.0 / sqrt((double)D)); }

dob_tensor *dob_attention(dob_tensor *q, dob_tensor *k, dob_tensor *v, int causal,
                          double scale, double dropout_p, int training)
{
    DOB_CHECK_F32(q, "attention", "q");
    DOB_CHECK_F32(k, "attention", "k");
    DOB_CHECK_F32(v, "attention", "v");
    DOB_CHECK(q->ndim == 4 && k->ndim == 4 && v->ndim == 4,
              "attention: q, k, v must be 4-D [B,H,T,D], got %s, %s, %s", dob__shape(q), dob__shape(k),
              dob__shape(v));
    DOB_CHECK(q->size[0] == k->size[0] && q->size[1] == k->size[1] && q->size[3] == k->size[3],
              "attention: q %s and k %s must agree in batch, heads and head size", dob__shape(q), dob__shape(k));
    DOB_CHECK(v->size[0] == k->size[0] && v->size[1] == k->size[1] && v->size[2] == k->size[2],
              "attention: v %s must match k %s in batch, heads and length", dob__shape(v), dob__shape(k));
    for (int d = 0; d < 4; d++)
        DOB_CHECK(q->size[d] >= 1 && k->size[d] >= 1 && v->size[d] >= 1,
                  "attention: q %s, k %s, v %s must have nonzero sizes", dob__shape(q), dob__shape(k),
                  dob__shape(v));
    DOB_CHECK(dropout_p >= 0 && dropout_p <= 1, "attention: dropout probability %g is not in [0, 1]", dropout_p);
    DOB_CHECK(isfinite(scale), "attention: scale must be finite, got %g", scale);
    bool drop = training && dropout_p > 0;
    problem pr = {.B = q->size[0], .NH = q->size[1], .Tq = q->size[2], .Tk = k->size[2], .D = q->size[3],
                  .Dv = v->size[3], .causal = causal != 0, .scale = default_scale(scale, q->size[3])};
    dob_tensor *qc = dob__contig(q), *kc = dob__contig(k), *vc = dob__contig(v), *P = NULL, *M = NULL;
    dob_tensor *out = dob__new_like_shape(DOB_F32, 4, (int64_t[]){pr.B, pr.NH, pr.Tq, pr.Dv});
    if (!qc || !kc || !vc || !out || new_probabilities(&pr, dropout_p, drop, &P, &M)) goto fail;
    pr.q = heads_of(qc);
    pr.k = heads_of(kc);
    pr.v = heads_of(vc);
    if (run_forward(&pr, heads_of(out))) goto fail;
    dob_tensor *ins[3] = {q, k, v};
    dob_node *n = dob__record("attention", attention_backward, 3, ins, 1);
    if (n) {
        n->iattr[0] = pr.causal;
        n->iattr[1] = drop;
        n->iattr[2] = 3;   /* where P is saved */
        n->fattr[0] = pr.scale;
        n->fattr[1] = pr.ms;
        dob__save(n, qc);
        dob__save(n, kc);
        dob__save(n, vc);
        dob__save(n, P);
        if (drop) dob__save(n, M);
        dob__set_output(n, 0, out);
    }
    dob_release(qc);
    dob_release(kc);
    dob_release(vc);
    dob_release(P);
    dob_release(M);
    return dob__recorded(n, out);
fail:
    dob_release(qc);
    dob_release(kc);
    dob_release(vc);
    dob_release(P);
    dob_release(M);
    dob_release(out);
    return NULL;
}

/* ---- self_attention on packed qkv [B,T,3 H D] ---------------------------------------------- */

/* the q, k, v thirds of contiguous qkv [B,T,3C] (or its gradient) as [B,H,T,D] blocks */
static void thirds(float *p, int64_t T, int64_t NH, int64_t D, blocks *q, blocks *k, blocks *v)
{
    int64_t C = NH * D;
    *q = (blocks){p, T * 3 * C, D, 3 * C};
    *k = (blocks){p + C, T * 3 * C, D, 3 * C};
    *v = (blocks){p + 2 * C, T * 3 * C, D, 3 * C};
}

static blocks merged(float *p, int64_t T, int64_t NH, int64_t D)   /* [B,T,H D] */
{
    return (blocks){p, T * NH * D, D, NH * D};
}

/* iattr as attention's, iattr[3] = heads; saved: qkv, P, mask (may be NULL) */
static int self_attention_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    dob_tensor *qkv = n->saved[0];
    int64_t T = qkv->size[1], NH = n->iattr[3], D = qkv->size[2] / (3 * NH);
    problem pr = saved_problem(n, D, D);
    thirds(dob__f32(qkv), T, NH, D, &pr.q, &pr.k, &pr.v);
    dob_tensor *g = dob__contig(gout[0]);
    dob_tensor *d = dob__new_like_shape(DOB_F32, 3, qkv->size);
    if (!g || !d) goto fail;
    blocks dq, dk, dv;
    thirds(dob__f32(d), T, NH, D, &dq, &dk, &dv);
    if (run_backward(&pr, merged(dob__f32(g), T, NH, D), dq, dk, dv)) goto fail;
    dob_release(g);
    gin[0] = d;
    return 0;
fail:
    dob_release(g);
    dob_release(d);
    return -1;
}

dob_tensor *dob_self_attention(dob_tensor *qkv, int heads, int causal, double scale, double dropout_p, int training)
{
    DOB_CHECK_F32(qkv, "self_attention", "qkv");
    DOB_CHECK(qkv->ndim == 3, "self_attention: qkv must be 3-D [B,T,3 heads D], got %s", dob__shape(qkv));
    DOB_CHECK(heads >= 1, "self_attention: heads must be >= 1, got %d", heads);
    DOB_CHECK(qkv->size[0] >= 1 && qkv->size[1] >= 1 && qkv->size[2] >= 1,
              "self_attention: qkv %s must have nonzero sizes", dob__shape(qkv));
    DOB_CHECK(qkv->size[2] % (3 * (int64_t)heads) == 0,
              "self_attention: the last dim of qkv %s must be 3 x heads x head size (%d heads)", dob__shape(qkv),
              heads);
    DOB_CHECK(dropout_p >= 0 && dropout_p <= 1, "self_attention: dropout probability %g is not in [0, 1]",
              dropout_p);
    DOB_CHECK(isfinite(scale), "self_attention: scale must be finite, got %g", scale);
    int64_t B = qkv->size[0], T = qkv->size[1], D = qkv->size[2] / (3 * heads);
    bool drop = training && dropout_p > 0;
    problem pr = {.B = B, .NH = heads, .Tq = T, .Tk = T, .D = D, .Dv = D, .causal = causal != 0,
                  .scale = default_scale(scale, D)};
    dob_tensor *xc = dob__contig(qkv), *P = NULL, *M = NULL;
    dob_tensor *out = dob__new_like_shape(DOB_F32, 3, (int64_t[]){B, T, heads * D});
    if (!xc || !out || new_probabilities(&pr, dropout_p, drop, &P, &M)) goto fail;
    thirds(dob__f32(xc), T, heads, D, &pr.q, &pr.k, &pr.v);
    if (run_forward(&pr, merged(dob__f32(out), T, heads, D))) goto fail;
    dob_node *n = dob__record("self_attention", self_attention_backward, 1, &qkv, 1);
    if (n) {
        n->iattr[0] = pr.causal;
        n->iattr[1] = drop;
        n->iattr[2] = 1;   /* where P is saved */
        n->iattr[3] = heads;
        n->fattr[0] = pr.scale;
        n->fattr[1] = pr.ms;
        dob__save(n, xc);
        dob__save(n, P);
        if (drop) dob__save(n, M);
        dob__set_output(n, 0, out);
    }
    dob_release(xc);
    dob_release(P);
    dob_release(M);
    return dob__recorded(n, out);
fail:
    dob_release(xc);
    dob_release(P);
    dob_release(M);
    dob_release(out);
    return NULL;
}
