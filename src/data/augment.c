/* augment.c — the image augmentation of DeepOBS 1.1's CIFAR-10/100 and SVHN
 * input pipelines (TensorFlow image ops), batched over NCHW float32 images.
 *
 *   pad_crop     y[n,c,i,j] = xp[n,c,i+top_n,j+left_n], xp = x zero-padded by p
 *                (resize_image_with_crop_or_pad to 36 then random_crop 32)
 *   flip_lr      y[n,c,i,j] = x[n,c,i,W-1-j] where mask_n, else x
 *   brightness   y = x + delta_n                        (adjust_brightness)
 *   saturation   per pixel (r,g,b) -> (h,s,v); s = min(1, max(0, s f_n)) -> rgb
 *                (the fused AdjustSaturation kernel of TF, same float steps)
 *   contrast     y = (x - m_nc) f_n + m_nc, m_nc = mean over the H*W plane
 *   standardize  y = (x - m_n) / max(sd_n, 1/sqrt(CHW)), m_n and the population
 *                variance E[x^2] - m^2 (clamped at 0) over the image's CHW values
 *
 * The data pipeline only: no autograd, inputs are never written. The random
 * parameters (one per image) come in as tensors drawn by the caller. Every
 * image is handled by one thread, in a fixed order, and means are summed in
 * double, so results do not depend on the thread count.
 */
#include "tensor/tensor.h"
#include <math.h>
#include <stdlib.h>

/* checks x is F32 [N,C,H,W]; returns a contiguous reference or NULL */
static dob_tensor *images_in(dob_tensor *x, const char *op)
{
    DOB_CHECK_F32(x, op, "x");
    DOB_CHECK(x->ndim == 4, "%s: expected images [N,C,H,W], got %s", op, dob__shape(x));
    return dob__contig(x);
}

/* checks a per-image parameter tensor (dtype, N elements [, k columns]);
   returns a contiguous reference or NULL */
static dob_tensor *params_in(dob_tensor *p, int dtype, int64_t n, int64_t per_image, const char *op,
                             const char *name)
{
    DOB_CHECK(dob_is_valid(p), "%s: argument '%s' is not a valid tensor (NULL or freed)", op, name);
    DOB_CHECK(p->dtype == dtype, "%s: argument '%s' must be %s, got %s", op, name, dob__dtype_name(dtype),
              dob__dtype_name(p->dtype));
    DOB_CHECK(dob__numel_of(p->ndim, p->size) == n * per_image,
              "%s: argument '%s' must hold %lld value(s) per image for %lld images, got %s", op, name,
              (long long)per_image, (long long)n, dob__shape(p));
    return dob__contig(p);
}

/* the common shape of the ops with one per-image parameter: returns 0 and
   sets *xc, *pc, *out, or -1 (nothing to release) */
static int unary_setup(dob_tensor *x, dob_tensor *p, int dtype, const char *op, const char *name,
                       dob_tensor **xc, dob_tensor **pc, dob_tensor **out)
{
    *xc = images_in(x, op);
    if (!*xc) return -1;
    *pc = params_in(p, dtype, x->size[0], 1, op, name);
    if (!*pc) { dob_release(*xc); return -1; }
    *out = dob__new_like_shape(DOB_F32, 4, x->size);
    if (!*out) { dob_release(*xc); dob_release(*pc); return -1; }
    return 0;
}

static void release3(dob_tensor *a, dob_tensor *b, dob_tensor *c)
{
    dob_release(a);
    dob_release(b);
    dob_release(c);
}

/* ---- pad + crop ------------------------------------------------------------------------ */

dob_tensor *dob_pad_crop(dob_tensor *x, int pad, int out_h, int out_w, dob_tensor *offsets)
{
    const char *op = "pad_crop";
    DOB_CHECK_F32(x, op, "x");
    DOB_CHECK(x->ndim == 4, "%s: expected images [N,C,H,W], got %s", op, dob__shape(x));
    DOB_CHECK(pad >= 0, "%s: padding must be >= 0, got %d", op, pad);
    int64_t N = x->size[0], C = x->size[1], H = x->size[2], W = x->size[3];
    int64_t PH = H + 2 * (int64_t)pad, PW = W + 2 * (int64_t)pad;
    DOB_CHECK(out_h >= 1 && out_w >= 1 && out_h <= PH && out_w <= PW,
              "%s: crop %dx%d must be positive and fit the padded %lldx%lld image of %s", op, out_h, out_w,
              (long long)PH, (long long)PW, dob__shape(x));
    dob_tensor *oc = params_in(offsets, DOB_I64, N, 2, op, "offsets");
    if (!oc) return NULL;
    const int64_t *po = dob__i64(oc);
    for (int64_t n = 0; n < N; n++) {
        if (po[2 * n] < 0 || po[2 * n] > PH - out_h || po[2 * n + 1] < 0 || po[2 * n + 1] > PW - out_w) {
            dob_release(oc);
            return dob__failp("%s: offsets of image %lld are (%lld, %lld); they must lie in 0..%lld, 0..%lld",
                              op, (long long)n, (long long)po[2 * n], (long long)po[2 * n + 1],
                              (long long)(PH - out_h), (long long)(PW - out_w));
        }
    }
    dob_tensor *xc = dob__contig(x);
    int64_t os[4] = {N, C, out_h, out_w};
    dob_tensor *out = xc ? dob__new_like_shape(DOB_F32, 4, os) : NULL;
    if (!out) { release3(oc, xc, NULL); return NULL; }
    const float *px = dob__f32(xc);
    float *py = dob__f32(out);
    int64_t OH = out_h, OW = out_w;
#pragma omp parallel for schedule(static) if (N > 1 && N * C * OH * OW >= DOB_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        /* source row/col of output (i, j): i + top - pad */
        int64_t dy = po[2 * n] - pad, dx = po[2 * n + 1] - pad;
        for (int64_t c = 0; c < C; c++) {
            const float *src = px + (n * C + c) * H * W;
            float *dst = py + (n * C + c) * OH * OW;
            for (int64_t i = 0; i < OH; i++) {
                int64_t si = i + dy;
                float *row = dst + i * OW;
                if (si < 0 || si >= H) {
                    for (int64_t j = 0; j < OW; j++) row[j] = 0.0f;
                    continue;
                }
                for (int64_t j = 0; j < OW; j++) {
                    int64_t sj = j + dx;
                    row[j] = (sj >= 0 && sj < W) ? src[si * W + sj] : 0.0f;
                }
            }
        }
    }
    release3(oc, xc, NULL);
    return out;
}

/* ---- flip ---------------------------------------------------------------------------------- */

dob_tensor *dob_flip_lr(dob_tensor *x, dob_tensor *mask)
{
    dob_tensor *xc, *mc, *out;
    if (unary_setup(x, mask, DOB_U8, "flip_lr", "mask", &xc, &mc, &out)) return NULL;
    int64_t N = x->size[0], C = x->size[1], H = x->size[2], W = x->size[3];
    const float *px = dob__f32(xc);
    const uint8_t *pm = dob__u8(mc);
    float *py = dob__f32(out);
#pragma omp parallel for schedule(static) if (N > 1 && N * C * H * W >= DOB_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        for (int64_t r = 0; r < C * H; r++) {
            const float *s = px + (n * C * H + r) * W;
            float *d = py + (n * C * H + r) * W;
            if (pm[n])
                for (int64_t j = 0; j < W; j++) d[j] = s[W - 1 - j];
            else
                for (int64_t j = 0; j < W; j++) d[j] = s[j];
        }
    }
    release3(xc, mc, NULL);
    return out;
}

/* ---- brightness ------------------------------------------------------------------------------ */

dob_tensor *dob_adjust_brightness(dob_tensor *x, dob_tensor *delta)
{
    dob_tensor *xc, *dc, *out;
    if (unary_setup(x, delta, DOB_F32, "adjust_brightness", "delta", &xc, &dc, &out)) return NULL;
    int64_t N = x->size[0], img = x->size[1] * x->size[2] * x->size[3];
    const float *px = dob__f32(xc), *pd = dob__f32(dc);
    float *py = dob__f32(out);
#pragma omp parallel for schedule(static) if (N > 1 && N * img >= DOB_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        float d = pd[n];
        for (int64_t k = 0; k < img; k++) py[n * img + k] = px[n * img + k] + d;
    }
    release3(xc, dc, NULL);
    return out;
}

/* ---- saturation ------------------------------------------------------------------------------ */

/* TF's rgb_to_hsv / hsv_to_rgb of the AdjustSaturation CPU kernel
   (core/kernels/adjust_saturation_op.cc), step for step
   (hue in [0, 1]; the data need not lie in [0, 1]: DeepOBS feeds 0..255).
   std::max / std::min as TF calls them (no libm call, same NaN-free results) */
static inline float smax(float a, float b) { return a < b ? b : a; }
static inline float smin(float a, float b) { return b < a ? b : a; }

static inline void rgb_to_hsv(float r, float g, float b, float *h, float *s, float *v)
{
    float vv = smax(r, smax(g, b));
    float range = vv - smin(r, smin(g, b));
    *s = vv > 0 ? range / vv : 0.0f;
    float norm = 1.0f / (6.0f * range);
    float hh;
    if (r == vv) hh = norm * (g - b);
    /* TF adds the double 2.0 / 6.0 to a float product, rounding once to float */
    else if (g == vv) hh = (float)((double)(norm * (b - r)) + 2.0 / 6.0);
    else hh = (float)((double)(norm * (r - g)) + 4.0 / 6.0);
    if (range <= 0.0f) hh = 0;
    if (hh < 0.0f) hh = hh + 1;
    *v = vv;
    *h = hh;
}

static inline void hsv_to_rgb(float h, float s, float v, float *r, float *g, float *b)
{
    float c = s * v, m = v - c, dh = h * 6;
    int cat = (int)dh;
    /* TF: while (fmodu <= 0) fmodu += 2; while (fmodu >= 2) fmodu -= 2. Here
       dh is in [0, 6] (h in [0, 1]), where every such step is exact, so
       subtracting 4 then 2 where they fit gives the same float */
    float fm = dh;
    if (fm <= 0) fm += 2.0f;
    if (fm >= 4.0f) fm -= 4.0f;
    if (fm >= 2.0f) fm -= 2.0f;
    float xx = c * (1 - fabsf(fm - 1));
    float rr, gg, bb;
    switch (cat) {
    case 0: rr = c; gg = xx; bb = 0; break;
    case 1: rr = xx; gg = c; bb = 0; break;
    case 2: rr = 0; gg = c; bb = xx; break;
    case 3: rr = 0; gg = xx; bb = c; break;
    case 4: rr = xx; gg = 0; bb = c; break;
    case 5: rr = c; gg = 0; bb = xx; break;
    default: rr = 0; gg = 0; bb = 0;
    }
    *r = rr + m;
    *g = gg + m;
    *b = bb + m;
}

dob_tensor *dob_adjust_saturation(dob_tensor *x, dob_tensor *factor)
{
    DOB_CHECK_F32(x, "adjust_saturation", "x");
    DOB_CHECK(x->ndim == 4 && x->size[1] == 3, "adjust_saturation: expected RGB images [N,3,H,W], got %s",
              dob__shape(x));
    dob_tensor *xc, *fc, *out;
    if (unary_setup(x, factor, DOB_F32, "adjust_saturation", "factor", &xc, &fc, &out)) return NULL;
    int64_t N = x->size[0], P = x->size[2] * x->size[3];
    const float *px = dob__f32(xc), *pf = dob__f32(fc);
    float *py = dob__f32(out);
#pragma omp parallel for schedule(static) if (N > 1 && N * 3 * P >= DOB_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        const float *R = px + n * 3 * P, *G = R + P, *B = G + P;
        float *r = py + n * 3 * P, *g = r + P, *b = g + P;
        float f = pf[n];
        for (int64_t k = 0; k < P; k++) {
            float h, s, v;
            rgb_to_hsv(R[k], G[k], B[k], &h, &s, &v);
            s = smin(1.0f, smax(0.0f, s * f));
            hsv_to_rgb(h, s, v, r + k, g + k, b + k);
        }
    }
    release3(xc, fc, NULL);
    return out;
}

/* ---- contrast ---------------------------------------------------------------------------------- */

dob_tensor *dob_adjust_contrast(dob_tensor *x, dob_tensor *factor)
{
    dob_tensor *xc, *fc, *out;
    if (unary_setup(x, factor, DOB_F32, "adjust_contrast", "factor", &xc, &fc, &out)) return NULL;
    int64_t N = x->size[0], C = x->size[1], P = x->size[2] * x->size[3];
    const float *px = dob__f32(xc), *pf = dob__f32(fc);
    float *py = dob__f32(out);
#pragma omp parallel for schedule(static) if (N > 1 && N * C * P >= DOB_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        float f = pf[n];
        for (int64_t c = 0; c < C; c++) {
            const float *s = px + (n * C + c) * P;
            float *d = py + (n * C + c) * P;
            double sum = 0;
            for (int64_t k = 0; k < P; k++) sum += s[k];
            float m = P > 0 ? (float)(sum / (double)P) : 0.0f;
            for (int64_t k = 0; k < P; k++) d[k] = (s[k] - m) * f + m;
        }
    }
    release3(xc, fc, NULL);
    return out;
}

/* ---- per-image standardisation ---------------------------------------------------------------- */

dob_tensor *dob_per_image_standardize(dob_tensor *x)
{
    const char *op = "per_image_standardize";
    dob_tensor *xc = images_in(x, op);
    if (!xc) return NULL;
    int64_t N = x->size[0], img = x->size[1] * x->size[2] * x->size[3];
    if (img == 0) { dob_release(xc); return dob__failp("%s: empty images %s", op, dob__shape(x)); }
    dob_tensor *out = dob__new_like_shape(DOB_F32, 4, x->size);
    if (!out) { dob_release(xc); return NULL; }
    const float *px = dob__f32(xc);
    float *py = dob__f32(out);
    float min_sd = (float)(1.0 / sqrt((double)img));
#pragma omp parallel for schedule(static) if (N > 1 && N * img >= DOB_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        const float *s = px + n * img;
        float *d = py + n * img;
        double sum = 0, sq = 0;
        for (int64_t k = 0; k < img; k++) {
            sum += s[k];
            sq += (double)s[k] * s[k];
        }
        double mean = sum / (double)img, var = sq / (double)img - mean * mean;
        if (var < 0) var = 0;
        float m = (float)mean, sd = fmaxf((float)sqrt(var), min_sd);
        for (int64_t k = 0; k < img; k++) d[k] = (s[k] - m) / sd;
    }
    dob_release(xc);
    return out;
}
