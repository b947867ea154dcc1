/* lstm.c — a single-layer LSTM over a whole sequence, forward and backward
 * through time.
 *
 *   x [T,B,I], w_ih [4H,I], w_hh [4H,H], bias [4H] (or NULL), h0, c0 [B,H]
 *   (or NULL = zeros). Gates stacked [i, f, g, o] (PyTorch layout):
 *     a_t = x_t W_ihᵀ + bias + h_{t-1} W_hhᵀ            [B,4H]
 *     i = σ(a_i)  f = σ(a_f + forget_bias)  g = tanh(a_g)  o = σ(a_o)
 *     c_t = f c_{t-1} + i g        h_t = o tanh(c_t)
 *   -> outputs [T,B,H] (h_1..h_T), hn = h_T, cn = c_T.
 *
 * Forward: one sgemm for the input projections of all steps ([T·B,I]·W_ihᵀ),
 * then per step one recurrent sgemm into the same buffer and a fused gate
 * kernel that overwrites the pre-activations with the activated gates.
 * Saved: x, W_ih, W_hh, gates [T,B,4H], hs [T+1,B,H] (h0..h_T), cs [T+1,B,H].
 * The outputs tensor is a view of hs (from h_1 on).
 *
 * Backward (dh, dc carried from t = T-1 down to 0; dh gets dOut_t each step):
 *   tc = tanh(c_t); dc += dh o (1 - tc²)
 *   da_o = dh tc o(1-o)   da_i = dc g i(1-i)   da_g = dc i (1-g²)
 *   da_f = dc c_{t-1} f(1-f)            dc_{t-1} = dc f
 *   dh_{t-1} = da_t W_hh                  (one sgemm per step)
 *   dW_hh = daᵀ [h_0..h_{T-1}]   dW_ih = daᵀ X   dX = da W_ih   (one sgemm each)
 *   dbias = column sums of da (double, in row order).
 */
#include "ops/ops.h"
#include <math.h>
#include <stdlib.h>

/* exp, sigmoid and tanh written so gcc vectorises the gate loops (libm's
   expf/tanhf are scalar calls and dominated the step time). exp is Cephes'
   expf (range reduction by ln 2, degree-6 polynomial): ~1-2 ulp for
   x in [-87, 88], clamped outside. tanh uses a short series near 0 where
   (1 - e) / (1 + e) would cancel. */
static inline float exp_v(float x)
{
    x = x < -87.0f ? -87.0f : x;   /* NaN passes through to p */
    x = x > 88.0f ? 88.0f : x;
    /* round to nearest with the 1.5·2^23 trick (floorf does not vectorise) */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}
static inline float sigm(float x) { return 1.0f / (1.0f + exp_v(-x)); }
static inline float tanh_v(float x)
{
    float a = fabsf(x), e = exp_v(-2.0f * a);
    float t = (1.0f - e) / (1.0f + e);
    float a2 = a * a;
    float s = a * (1.0f + a2 * (-1.0f / 3 + a2 * (2.0f / 15 + a2 * (-17.0f / 315))));
    t = a < 0.05f ? s : t;
    return copysignf(t, x);
}

/* gates: [B,4H] pre-activations -> activated; c, h from c_prev */
static void gate_forward(int64_t B, int64_t H, float fb, float *gates, const float *c_prev,
                         float *c, float *h)
{
#pragma omp parallel for schedule(static) if (B > 1 && B * H >= DOB_PAR_MIN / 8)
    for (int64_t b = 0; b < B; b++) {
        float *a = gates + b * 4 * H;
        const float *cp = c_prev + b * H;
        float *cb = c + b * H, *hb = h + b * H;
#pragma omp simd
        for (int64_t j = 0; j < H; j++) {
            float ig = sigm(a[j]), fg = sigm(a[H + j] + fb), gg = tanh_v(a[2 * H + j]), og = sigm(a[3 * H + j]);
            a[j] = ig;
            a[H + j] = fg;
            a[2 * H + j] = gg;
            a[3 * H + j] = og;
            float cv = fg * cp[j] + ig * gg;
            cb[j] = cv;
            hb[j] = og * tanh_v(cv);
        }
    }
}

/* da [B,4H] from the activated gates; dc updated in place to dc_{t-1} */
static void gate_backward(int64_t B, int64_t H, const float *gates, const float *c_prev,
                          const float *c, const float *dh, float *dc, float *da)
{
#pragma omp parallel for schedule(static) if (B > 1 && B * H >= DOB_PAR_MIN / 8)
    for (int64_t b = 0; b < B; b++) {
        const float *a = gates + b * 4 * H;
        const float *cp = c_prev + b * H, *cb = c + b * H, *dhb = dh + b * H;
        float *dcb = dc + b * H, *d = da + b * 4 * H;
#pragma omp simd
        for (int64_t j = 0; j < H; j++) {
            float ig = a[j], fg = a[H + j], gg = a[2 * H + j], og = a[3 * H + j];
            float tc = tanh_v(cb[j]);
            float dcv = dcb[j] + dhb[j] * og * (1 - tc * tc);
            d[j] = dcv * gg * ig * (1 - ig);
            d[H + j] = dcv * cp[j] * fg * (1 - fg);
            d[2 * H + j] = dcv * ig * (1 - gg * gg);
            d[3 * H + j] = dhb[j] * tc * og * (1 - og);
            dcb[j] = dcv * fg;
        }
    }
}

/* inputs: x, w_ih, w_hh, bias, h0, c0; outputs: out, hn, cn
   saved: x, w_ih, w_hh, gates, hs, cs */
static int lstm_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    dob_tensor *x = n->saved[0], *wih = n->saved[1], *whh = n->saved[2];
    dob_tensor *gates = n->saved[3], *hs = n->saved[4], *cs = n->saved[5];
    int64_t T = x->size[0], B = x->size[1], NI = x->size[2], H = whh->size[1], G = 4 * H;
    dob_tensor *gout_c = dob__contig(gout[0]);
    dob_tensor *dh = dob__new_like_shape(DOB_F32, 2, (int64_t[]){B, H});
    dob_tensor *dc = dob__new_like_shape(DOB_F32, 2, (int64_t[]){B, H});
    dob_tensor *da = dob__new_like_shape(DOB_F32, 3, (int64_t[]){T, B, G});
    int rc = -1;
    if (!gout_c || !dh || !dc || !da) goto done;
    if (dob__copy_strided(dh, gout[1]) || dob__copy_strided(dc, gout[2])) goto done;
    const float *pgo = dob__f32(gout_c), *pgates = dob__f32(gates), *phs = dob__f32(hs), *pcs = dob__f32(cs);
    float *pdh = dob__f32(dh), *pdc = dob__f32(dc), *pda = dob__f32(da);
    const float *pwhh = dob__f32(whh), *pwih = dob__f32(wih), *px = dob__f32(x);
    int64_t BH = B * H;
    for (int64_t t = T - 1; t >= 0; t--) {
        const float *go = pgo + t * BH;
        for (int64_t i = 0; i < BH; i++) pdh[i] += go[i];
        float *dat = pda + t * B * G;
        gate_backward(B, H, pgates + t * B * G, pcs + t * BH, pcs + (t + 1) * BH, pdh, pdc, dat);
        /* dh_{t-1} = da_t W_hh  ([B,4H]·[4H,H]) */
        dob__gemm(false, false, B, H, G, 1.0f, dat, G, pwhh, H, 0.0f, pdh, H);
    }
    if (dob__input_needs_grad(n, 0)) {   /* dX = da W_ih: [T·B,4H]·[4H,NI] */
        dob_tensor *r = dob__new_like_shape(DOB_F32, 3, x->size);
        if (!r) goto done;
        dob__gemm(false, false, T * B, NI, G, 1.0f, pda, G, pwih, NI, 0.0f, dob__f32(r), NI);
        gin[0] = r;
    }
    if (dob__input_needs_grad(n, 1)) {   /* dW_ih = daᵀ X: [4H,T·B]·[T·B,NI] */
        dob_tensor *r = dob__new_like_shape(DOB_F32, 2, wih->size);
        if (!r) goto done;
        dob__gemm(true, false, G, NI, T * B, 1.0f, pda, G, px, NI, 0.0f, dob__f32(r), NI);
        gin[1] = r;
    }
    if (dob__input_needs_grad(n, 2)) {   /* dW_hh = daᵀ [h_0..h_{T-1}] */
        dob_tensor *r = dob__new_like_shape(DOB_F32, 2, whh->size);
        if (!r) goto done;
        dob__gemm(true, false, G, H, T * B, 1.0f, pda, G, phs, H, 0.0f, dob__f32(r), H);
        gin[2] = r;
    }
    if (dob__input_needs_grad(n, 3)) {   /* dbias = column sums */
        dob_tensor *r = dob__new_like_shape(DOB_F32, 1, &G);
        double *acc = r ? calloc((size_t)G, sizeof *acc) : NULL;
        if (!acc) { dob_release(r); if (r) dob__fail("lstm backward: out of memory"); goto done; }
        for (int64_t row = 0; row < T * B; row++)
            for (int64_t j = 0; j < G; j++) acc[j] += pda[row * G + j];
        float *pr = dob__f32(r);
        for (int64_t j = 0; j < G; j++) pr[j] = (float)acc[j];
        free(acc);
        gin[3] = r;
    }
    if (dob__input_needs_grad(n, 4)) { dh->refcount++; gin[4] = dh; }
    if (dob__input_needs_grad(n, 5)) { dc->refcount++; gin[5] = dc; }
    rc = 0;
done:
    dob_release(gout_c);
    dob_release(dh);
    dob_release(dc);
    dob_release(da);
    return rc;
}

static bool is_size(const dob_tensor *t, int ndim, int64_t a, int64_t b)
{
    return t->ndim == ndim && t->size[0] == a && (ndim < 2 || t->size[1] == b);
}

dob_tensor *dob_lstm(dob_tensor *x, dob_tensor *w_ih, dob_tensor *w_hh, dob_tensor *bias,
                     dob_tensor *h0, dob_tensor *c0, double forget_bias,
                     dob_tensor **hn, dob_tensor **cn)
{
    if (hn) *hn = NULL;
    if (cn) *cn = NULL;
    DOB_CHECK_F32(x, "lstm", "x");
    DOB_CHECK_F32(w_ih, "lstm", "w_ih");
    DOB_CHECK_F32(w_hh, "lstm", "w_hh");
    DOB_CHECK(x->ndim == 3, "lstm: x must be [T,B,I], got %s", dob__shape(x));
    DOB_CHECK(w_hh->ndim == 2 && w_hh->size[1] >= 1 && w_hh->size[0] == 4 * w_hh->size[1],
              "lstm: w_hh must be [4H,H], got %s", dob__shape(w_hh));
    int64_t T = x->size[0], B = x->size[1], NI = x->size[2], H = w_hh->size[1], G = 4 * H;
    DOB_CHECK(T >= 1 && B >= 1 && NI >= 1, "lstm: x %s must have nonzero sizes", dob__shape(x));
    DOB_CHECK(is_size(w_ih, 2, G, NI), "lstm: w_ih must be [4H,I] = [%lld x %lld] for x %s and w_hh %s, got %s",
              (long long)G, (long long)NI, dob__shape(x), dob__shape(w_hh), dob__shape(w_ih));
    if (bias) {
        DOB_CHECK_F32(bias, "lstm", "bias");
        DOB_CHECK(is_size(bias, 1, G, 0), "lstm: bias must be [4H] = [%lld], got %s", (long long)G,
                  dob__shape(bias));
    }
    if (h0) {
        DOB_CHECK_F32(h0, "lstm", "h0");
        DOB_CHECK(is_size(h0, 2, B, H), "lstm: h0 must be [B,H] = [%lldx%lld], got %s", (long long)B,
                  (long long)H, dob__shape(h0));
    }
    if (c0) {
        DOB_CHECK_F32(c0, "lstm", "c0");
        DOB_CHECK(is_size(c0, 2, B, H), "lstm: c0 must be [B,H] = [%lldx%lld], got %s", (long long)B,
                  (long long)H, dob__shape(c0));
    }
    DOB_CHECK(isfinite(forget_bias), "lstm: forget_bias must be finite, got %g", forget_bias);

    dob_tensor *xc = dob__contig(x), *wih = dob__contig(w_ih), *whh = dob__contig(w_hh);
    dob_tensor *gates = dob__new_like_shape(DOB_F32, 3, (int64_t[]){T, B, G});
    dob_tensor *hs = dob__new_like_shape(DOB_F32, 3, (int64_t[]){T + 1, B, H});
    dob_tensor *cs = dob__new_like_shape(DOB_F32, 3, (int64_t[]){T + 1, B, H});
    dob_tensor *out = NULL, *hT = NULL, *cT = NULL;
    if (!xc || !wih || !whh || !gates || !hs || !cs) goto fail;
    int64_t BH = B * H;
    float *pg = dob__f32(gates), *phs = dob__f32(hs), *pcs = dob__f32(cs);
    /* initial states */
    if (h0) {
        dob_tensor *v = dob__alias(hs, 2, (int64_t[]){B, H}, (int64_t[]){H, 1}, hs->offset);
        int r = v ? dob__copy_strided(v, h0) : -1;
        dob_release(v);
        if (r) goto fail;
    } else memset(phs, 0, sizeof(float) * (size_t)BH);
    if (c0) {
        dob_tensor *v = dob__alias(cs, 2, (int64_t[]){B, H}, (int64_t[]){H, 1}, cs->offset);
        int r = v ? dob__copy_strided(v, c0) : -1;
        dob_release(v);
        if (r) goto fail;
    } else memset(pcs, 0, sizeof(float) * (size_t)BH);
    /* input projections of all steps, bias included */
    if (bias) {
        dob_tensor *bc = dob__contig(bias);
        if (!bc) goto fail;
        const float *pb = dob__f32(bc);
        for (int64_t r = 0; r < T * B; r++) memcpy(pg + r * G, pb, sizeof(float) * (size_t)G);
        dob_release(bc);
    }
    dob__gemm(false, true, T * B, G, NI, 1.0f, dob__f32(xc), NI, dob__f32(wih), NI, bias ? 1.0f : 0.0f, pg, G);
    const float *pwhh = dob__f32(whh);
    for (int64_t t = 0; t < T; t++) {
        float *gt = pg + t * B * G;
        dob__gemm(false, true, B, G, H, 1.0f, phs + t * BH, H, pwhh, H, 1.0f, gt, G);
        gate_forward(B, H, (float)forget_bias, gt, pcs + t * BH, pcs + (t + 1) * BH, phs + (t + 1) * BH);
    }
    out = dob__alias(hs, 3, (int64_t[]){T, B, H}, (int64_t[]){BH, H, 1}, hs->offset + BH);
    if (!out) goto fail;
    /* hn, cn are always made (the node records their shapes); dropped below
       when the caller does not ask for them */
    hT = dob__new_like_shape(DOB_F32, 2, (int64_t[]){B, H});
    cT = dob__new_like_shape(DOB_F32, 2, (int64_t[]){B, H});
    if (!hT || !cT) goto fail;
    memcpy(dob__f32(hT), phs + T * BH, sizeof(float) * (size_t)BH);
    memcpy(dob__f32(cT), pcs + T * BH, sizeof(float) * (size_t)BH);
    dob_tensor *ins[6] = {x, w_ih, w_hh, bias, h0, c0};
    dob_node *n = dob__record("lstm", lstm_backward, 6, ins, 3);
    if (n) {
        n->fattr[0] = forget_bias;
        dob__save(n, xc);
        dob__save(n, wih);
        dob__save(n, whh);
        dob__save(n, gates);
        dob__save(n, hs);
        dob__save(n, cs);
        dob__set_output(n, 0, out);
        dob__set_output(n, 1, hT);
        dob__set_output(n, 2, cT);
    }
    dob_release(xc);
    dob_release(wih);
    dob_release(whh);
    dob_release(gates);
    dob_release(hs);
    dob_release(cs);
    if (!dob__recorded(n, out)) {   /* released out; hT and cT go with it */
        dob_release(hT);
        dob_release(cT);
        return NULL;
    }
    if (hn) *hn = hT; else dob_release(hT);
    if (cn) *cn = cT; else dob_release(cT);
    return out;
fail:
    dob_release(xc);
    dob_release(wih);
    dob_release(whh);
    dob_release(gates);
    dob_release(hs);
    dob_release(cs);
    dob_release(out);
    dob_release(hT);
    dob_release(cT);
    return NULL;
}
