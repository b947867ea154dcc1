/* attention.c — scaled dot-product attention.
 *
 *   q [B,H,Tq,D], k [B,H,Tk,D], v [B,H,Tk,Dv] -> out [B,H,Tq,Dv]
 *   S = q kᵀ · scale (+ -inf where j > i when causal); P = softmax_rows(S);
 *   Pd = P ∘ M with M = bernoulli(1-p) / (1-p) when training with dropout p
 *   (drawn from the global generator), else Pd = P;  out = Pd v.
 *   scale <= 0 means 1/sqrt(D).
 *
 * Backward per (batch, head):
 *   dPd = dO vᵀ        dV = Pdᵀ dO         dP = dPd ∘ M
 *   dS = P ∘ (dP − rowsum(dP ∘ P))         dQ = dS k · scale     dK = dSᵀ q · scale
 *
 * Saved: q, k, v (contiguous), P [B,H,Tq,Tk] and the mask M as keep bytes (or
 * none; M = keep / (1-p)).
 * One sgemm per (batch, head) and product; the row softmax runs in OpenMP
 * between the GEMMs (never around them).
 */
#include "ops/ops.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>

static void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                 int64_t lda, const float *B, int64_t ldb, float beta, float *Cm, int64_t ldc)
{
    if (M == 0 || N == 0) return;
    dob__blas_threads_for(2 * M * N * K);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, Cm, (int)ldc);
}

/* iattr[0] = causal, iattr[1] = has mask; fattr[0] = scale, fattr[1] = the mask's 1/(1-p)
   saved: q, k, v, P, mask (may be NULL) */
static int attention_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    dob_tensor *q = n->saved[0], *k = n->saved[1], *v = n->saved[2], *P = n->saved[3];
    dob_tensor *M = n->iattr[1] ? n->saved[4] : NULL;
    float scale = (float)n->fattr[0], ms = (float)n->fattr[1];
    int64_t BH = q->size[0] * q->size[1], Tq = q->size[2], D = q->size[3], Tk = k->size[2], Dv = v->size[3];
    bool gq = dob__input_needs_grad(n, 0), gk = dob__input_needs_grad(n, 1), gv = dob__input_needs_grad(n, 2);
    dob_tensor *g = dob__contig(gout[0]);
    dob_tensor *dq = gq ? dob__new_like_shape(DOB_F32, 4, q->size) : NULL;
    dob_tensor *dk = gk ? dob__new_like_shape(DOB_F32, 4, k->size) : NULL;
    dob_tensor *dv = gv ? dob__new_like_shape(DOB_F32, 4, v->size) : NULL;
    size_t sbytes = sizeof(float) * (size_t)(Tq * Tk);
    float *dS = dob__alloc(sbytes), *Pd = M ? dob__alloc(sbytes) : NULL;
    int rc = -1;
    if (!g || (gq && !dq) || (gk && !dk) || (gv && !dv) || !dS || (M && !Pd)) goto done;
    const float *pq = dob__f32(q), *pk = dob__f32(k), *pv = dob__f32(v), *pP = dob__f32(P);
    const float *pg = dob__f32(g);
    const uint8_t *pM = M ? dob__u8(M) : NULL;
    for (int64_t bh = 0; bh < BH; bh++) {
        const float *qb = pq + bh * Tq * D, *kb = pk + bh * Tk * D, *vb = pv + bh * Tk * Dv;
        const float *Pb = pP + bh * Tq * Tk, *gb = pg + bh * Tq * Dv;
        const uint8_t *Mb = pM ? pM + bh * Tq * Tk : NULL;
        if (gv) {   /* dV = Pdᵀ dO */
            const float *use = Pb;
            if (Mb) {
                for (int64_t i = 0; i < Tq * Tk; i++) Pd[i] = Pb[i] * (Mb[i] ? ms : 0.0f);
                use = Pd;
            }
            gemm(true, false, Tk, Dv, Tq, 1.0f, use, Tk, gb, Dv, 0.0f, dob__f32(dv) + bh * Tk * Dv, Dv);
        }
        if (!gq && !gk) continue;
        gemm(false, true, Tq, Tk, Dv, 1.0f, gb, Dv, vb, Dv, 0.0f, dS, Tk);   /* dPd = dO vᵀ */
#pragma omp parallel for schedule(static) if (Tq > 1 && Tq * Tk >= DOB_PAR_MIN)
        for (int64_t i = 0; i < Tq; i++) {
            float *r = dS + i * Tk;
            const float *p = Pb + i * Tk;
            const uint8_t *m = Mb ? Mb + i * Tk : NULL;
            if (m) for (int64_t j = 0; j < Tk; j++) r[j] *= m[j] ? ms : 0.0f;
            double s = 0;
            for (int64_t j = 0; j < Tk; j++) s += (double)r[j] * p[j];
            for (int64_t j = 0; j < Tk; j++) r[j] = (float)(p[j] * (r[j] - s));
        }
        if (gq) gemm(false, false, Tq, D, Tk, scale, dS, Tk, kb, D, 0.0f, dob__f32(dq) + bh * Tq * D, D);
        if (gk) gemm(true, false, Tk, D, Tq, scale, dS, Tk, qb, D, 0.0f, dob__f32(dk) + bh * Tk * D, D);
    }
    gin[0] = dq;
    gin[1] = dk;
    gin[2] = dv;
    dq = dk = dv = NULL;
    rc = 0;
done:
    if (dS) dob__free(dS, sbytes);
    if (Pd) dob__free(Pd, sbytes);
    dob_release(g);
    dob_release(dq);
    dob_release(dk);
    dob_release(dv);
    return rc;
}

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
    int64_t B = q->size[0], NH = q->size[1], Tq = q->size[2], D = q->size[3], Tk = k->size[2], Dv = v->size[3];
    int64_t BH = B * NH;
    float sc = scale > 0 ? (float)scale : (float)(D > 0 ? 1.0 / sqrt((double)D) : 1.0);
    bool drop = training && dropout_p > 0;

    dob_tensor *qc = dob__contig(q), *kc = dob__contig(k), *vc = dob__contig(v);
    dob_tensor *P = dob__new_like_shape(DOB_F32, 4, (int64_t[]){B, NH, Tq, Tk});
    dob_tensor *M = NULL, *out = dob__new_like_shape(DOB_F32, 4, (int64_t[]){B, NH, Tq, Dv});
    size_t sbytes = sizeof(float) * (size_t)(Tq * Tk);
    float *Pd = drop ? dob__alloc(sbytes) : NULL;
    if (!qc || !kc || !vc || !P || !out || (drop && !Pd)) goto fail;
    float ms = dropout_p < 1 ? (float)(1.0 / (1.0 - dropout_p)) : 0.0f;
    if (drop) {
        M = dob__new_like_shape(DOB_U8, 4, P->size);
        if (!M || dob__bernoulli_bytes(dob__u8(M), BH * Tq * Tk, 1.0 - dropout_p)) goto fail;
    }
    const float *pq = dob__f32(qc), *pk = dob__f32(kc), *pv = dob__f32(vc);
    float *pP = dob__f32(P), *po = dob__f32(out);
    for (int64_t bh = 0; bh < BH; bh++) {
        float *Sb = pP + bh * Tq * Tk;
        gemm(false, true, Tq, Tk, D, sc, pq + bh * Tq * D, D, pk + bh * Tk * D, D, 0.0f, Sb, Tk);
#pragma omp parallel for schedule(static) if (Tq > 1 && Tq * Tk >= DOB_PAR_MIN)
        for (int64_t i = 0; i < Tq; i++) {
            float *r = Sb + i * Tk;
            int64_t lim = causal ? (i + 1 < Tk ? i + 1 : Tk) : Tk;   /* columns j < lim are kept */
            float m = -INFINITY;
            for (int64_t j = 0; j < lim; j++) m = fmaxf(m, r[j]);
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
        if (drop) {
            const uint8_t *Mb = dob__u8(M) + bh * Tq * Tk;
            for (int64_t i = 0; i < Tq * Tk; i++) Pd[i] = Sb[i] * (Mb[i] ? ms : 0.0f);
            use = Pd;
        }
        gemm(false, false, Tq, Dv, Tk, 1.0f, use, Tk, pv + bh * Tk * Dv, Dv, 0.0f, po + bh * Tq * Dv, Dv);
    }
    if (Pd) dob__free(Pd, sbytes);
    Pd = NULL;
    dob_tensor *ins[3] = {q, k, v};
    dob_node *n = dob__record("attention", attention_backward, 3, ins, 1);
    if (n) {
        n->iattr[0] = causal != 0;
        n->iattr[1] = drop;
        n->fattr[0] = sc;
        n->fattr[1] = ms;
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
    if (Pd) dob__free(Pd, sbytes);
    dob_release(qc);
    dob_release(kc);
    dob_release(vc);
    dob_release(P);
    dob_release(M);
    dob_release(out);
    return NULL;
}
