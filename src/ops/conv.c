/* conv.c — 2-D convolution and its adjoint (transposed convolution), NCHW.
 *
 *   conv2d            x [N,C,H,W], w [OC,C,KH,KW], bias [OC] or NULL
 *                     -> y [N,OC,OH,OW], OH = (H + pt + pb - KH) / sh + 1
 *   conv_transpose2d  x [N,C,H,W], w [C,OC,KH,KW] (PyTorch layout), bias [OC]
 *                     -> y [N,OC,OH,OW], OH = (H - 1) sh + KH - pt - pb
 *
 * With cols = im2col(x) [K = C KH KW, OH OW] per sample:
 *   conv2d:   y = W cols + b;  dW = sum_n dy cols^T;  dx = col2im(W^T dy);  db = sum dy
 *   conv_transpose2d is conv2d's input gradient with x in the role of dy:
 *             y = col2im(W^T x) + b;  dx = W im2col(dy);  dW = sum_n x im2col(dy)^T
 *
 * With activation = relu, conv2d writes relu(W cols + b): the bias and relu are
 * applied per chunk as the output is written (winograd.c: per tile row), so the
 * pre-activation tensor is never made; the node saves y and its backward runs
 * the above with dy' = dy relu'(y) (relu's backward, the same bits).
 * conv_transpose2d likewise, the bias and relu in one pass after col2im.
 *
 * Stride-1 convolutions with 8+ channels on both sides go to Winograd's minimal
 * filtering where it applies: 3x3, 4x4 and 5x5 to winograd.c (2.25x / 2.56x /
 * 2.8x fewer multiplies), 1 x r and r x 1 (r = 3..7) to winograd1d.c (2x / 2.8x for 3 and
 * 7 taps); everything else is im2col + sgemm.
 *
 * Kernels: samples are processed in chunks whose cols matrix has about
 * COLS_TARGET columns and at most COLS_BYTES bytes, so it stays in cache and
 * each chunk is one cblas_sgemm (per-image / small-chunk GEMMs run ~1.4x faster
 * than one batch-folded GEMM whose operands fall out of cache). A chunk of one
 * sample reads/writes NCHW tensors in place; larger chunks gather dy into
 * [OC, nb OH OW] and scatter the product back to NCHW (adding the bias in the
 * same pass). cols are recomputed in backward rather than stored. A 1x1,
 * stride-1, unpadded conv skips im2col.
 *
 * Design choices, each measured at the DeepOBS layer shapes (bench/ops.lua
 * cases, best of repeated runs, 1 thread, ms fwd+bwd; 2026-11-24):
 * - conv2d's backward is one pass: per chunk, dy is gathered once, cols =
 *   im2col(x) feeds dW, then the same buffer takes W^T dy for col2im.
 * - dW is computed transposed, dW^T = cols dy^T (GEMM M = K instead of OC):
 *   1.15-1.25x on that GEMM at every shape, e.g. wrn 64->64 224 -> 212 ms.
 * - im2col/col2im rows (OW = 6..32 floats) use AVX-512 masked loads/stores,
 *   and stride-1 col2im sums each input row in registers (writing each kw's row
 *   into memory stalled on store-to-load forwarding); together 2c2d conv2
 *   72 -> 56 ms, 3c3d conv2 49 -> 42, wrn 128->128 202 -> 174.
 * - With T > 1 threads the chunks are split across threads, each with its own
 *   scratch and a single-threaded sgemm (OpenBLAS's OpenMP build runs one
 *   thread inside a parallel region); the T partial dW^T are summed in thread
 *   order, so a given thread count always gives the same bits. Against
 *   OpenBLAS threading each GEMM: 1.4-2.2x at 2 threads (2c2d conv2 58 -> 34 ms,
 *   wrn 64->64 216 -> 115).
 * Tried and dropped: cutting 32x32 samples into row blocks of 256/512 columns
 * (the GEMM harness favours N = 256..512, end to end it was 0-5% slower);
 * chunk targets of 256..1024 columns / 1..2 MB caps (within noise); the
 * forward as y^T = cols^T W^T (no faster in a harness); AVX-512 gathers or
 * permutes for the stride-2 rows (gathers 1.15x slower, permutes no change).
 */
#include "ops/ops.h"
#include <omp.h>
#include <stdlib.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

/* Measured at the DeepOBS layer shapes (bench/ops.lua, 1 thread): 256..2048 columns and
   1..4 MB caps are within noise for most layers (re-checked after the changes
   above); WRN's 256->256 on 8x8 (K = 2304) gains ~10% from the larger chunks. */
#define COLS_TARGET 2048                 /* columns of a chunk's cols matrix */
#define COLS_BYTES ((int64_t)4 << 20)    /* and its size cap */

typedef struct {
    int64_t N, C, H, W;          /* image side: conv2d's input */
    int64_t OC, OH, OW;          /* column side: conv2d's output */
    int64_t KH, KW, sh, sw, pt, pl;
    int64_t K, P;                /* C KH KW, OH OW */
    bool direct;                 /* 1x1, stride 1, no padding: cols = x */
} geom;

static void geom_init(geom *g, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t KH,
                      int64_t KW, int64_t sh, int64_t sw, int64_t pt, int64_t pb, int64_t pl, int64_t pr)
{
    g->N = N; g->C = C; g->H = H; g->W = W; g->OC = OC;
    g->KH = KH; g->KW = KW; g->sh = sh; g->sw = sw; g->pt = pt; g->pl = pl;
    g->OH = (H + pt + pb - KH) / sh + 1;
    g->OW = (W + pl + pr - KW) / sw + 1;
    g->K = C * KH * KW;
    g->P = g->OH * g->OW;
    g->direct = KH == 1 && KW == 1 && sh == 1 && sw == 1 && pt == 0 && pb == 0 && pl == 0 && pr == 0;
}

static int64_t chunk_samples(const geom *g)
{
    int64_t cols = COLS_TARGET, cap = COLS_BYTES / (4 * (g->K > 0 ? g->K : 1));
    if (cols > cap) cols = cap;
    int64_t nb = g->P > 0 ? cols / g->P : g->N;
    if (nb < 1) nb = 1;
    if (nb > g->N) nb = g->N;
    if (nb < 1) return 1;
    int64_t chunks = (g->N + nb - 1) / nb;   /* even chunks */
    return (g->N + chunks - 1) / chunks;
}

static inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* output columns ow whose input column ow sw - pl + kw lies in [0, W) */
static inline void ow_range(const geom *g, int64_t kw, int64_t *lo, int64_t *hi)
{
    int64_t l = -floor_div(kw - g->pl, g->sw), h = floor_div(g->W - 1 + g->pl - kw, g->sw) + 1;
    if (l < 0) l = 0;
    if (h > g->OW) h = g->OW;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

/* Rows are short (OW = 6..32), so copies and fills are plain loops that gcc
   vectorises inline rather than memcpy/memset calls (DOB_NO_LIBCALLS). */

#ifdef __AVX512F__
/* Stride-1 rows are short (OW = 6..32) and their valid part [lo, hi) is the
   same for every row of a kernel column kw, so with AVX-512 a row is copied as
   a few 16-lane pieces: a masked load that reads only the valid lanes (masked
   lanes never fault, so the row pointer may point before the plane) and a
   masked store of the whole piece. That replaces a scalar prologue/epilogue
   per 6..32-float row, which made im2col/col2im 20-35% of 2c2d conv2's time. */
#define ROW_PIECES 8                      /* OW up to 128 takes the masked path */
typedef struct { __mmask16 out, valid; } row_masks;

static int row_masks_for(int64_t OW, int64_t lo, int64_t hi, row_masks *m)
{
    int np = (int)((OW + 15) / 16);
    for (int j = 0; j < np; j++) {
        int64_t j0 = 16 * (int64_t)j, n = OW - j0 < 16 ? OW - j0 : 16;
        int64_t a = lo - j0 < 0 ? 0 : lo - j0, b = hi - j0 > n ? n : hi - j0;
        m[j].out = (__mmask16)((1u << n) - 1);
        m[j].valid = b > a ? (__mmask16)(((1u << b) - 1) & ~((1u << a) - 1)) : 0;
    }
    return np;
}
#endif

/* Non-overlapping patches (kernel = stride, no padding, every patch inside the
   image: a ViT's 16x16/16 patch embedding). im2col then only reorders: each
   input row goes to KW cols rows, so it is read once while it sits in L1 (the
   generic loop below reads such rows KW times, one cache line per element,
   2.5x slower at 96x96, 16x16/16). The same values as the generic loop. */
static bool is_patches(const geom *g)
{
    return g->sh == g->KH && g->sw == g->KW && g->pt == 0 && g->pl == 0 && g->OH * g->KH <= g->H &&
           g->OW * g->KW <= g->W;
}

DOB_NO_LIBCALLS static void im2col_patches(const geom *g, const float *x, int64_t nb, float *cols, int64_t ld)
{
    const int64_t C = g->C, H = g->H, W = g->W, KH = g->KH, KW = g->KW, OH = g->OH, OW = g->OW, P = g->P;
#pragma omp parallel for schedule(static) if (nb * C > 1 && g->K * nb * P >= DOB_PAR_MIN)
    for (int64_t sc = 0; sc < nb * C; sc++) {
        int64_t s = sc / C, c = sc % C;
        const float *plane = x + (s * C + c) * H * W;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t kh = 0; kh < KH; kh++) {
                const float *xr = plane + (oh * KH + kh) * W;
                float *dst = cols + (c * KH + kh) * KW * ld + s * P + oh * OW;
                for (int64_t kw = 0; kw < KW; kw++)
                    for (int64_t ow = 0; ow < OW; ow++) dst[kw * ld + ow] = xr[ow * KW + kw];
            }
    }
}

/* cols[k ld + s P + oh OW + ow] = x[s, c, oh sh - pt + kh, ow sw - pl + kw] (0 outside) */
DOB_NO_LIBCALLS static void im2col(const geom *g, const float *x, int64_t nb, float *cols, int64_t ld)
{
    if (is_patches(g)) {
        im2col_patches(g, x, nb, cols, ld);
        return;
    }
    const int64_t K = g->K, KHW = g->KH * g->KW, OW = g->OW, P = g->P;
#pragma omp parallel for schedule(static) if (K > 1 && K * nb * P >= DOB_PAR_MIN)
    for (int64_t k = 0; k < K; k++) {
        int64_t c = k / KHW, kh = (k / g->KW) % g->KH, kw = k % g->KW, lo, hi;
        ow_range(g, kw, &lo, &hi);
#ifdef __AVX512F__
        if (g->sw == 1 && OW <= 16 * ROW_PIECES) {
            row_masks m[ROW_PIECES];
            int np = row_masks_for(OW, lo, hi, m);
            for (int64_t s = 0; s < nb; s++) {
                const float *plane = x + (s * g->C + c) * g->H * g->W;
                float *row = cols + k * ld + s * P;
                for (int64_t oh = 0; oh < g->OH; oh++) {
                    float *dst = row + oh * OW;
                    int64_t ih = oh * g->sh - g->pt + kh;
                    bool in = ih >= 0 && ih < g->H;
                    /* pointer arithmetic stays inside the plane's allocation or is never dereferenced */
                    const float *xr = plane + (in ? ih * g->W : 0) + kw - g->pl;
                    for (int j = 0; j < np; j++) {
                        __m512 v = _mm512_maskz_loadu_ps(in ? m[j].valid : 0, xr + 16 * j);
                        _mm512_mask_storeu_ps(dst + 16 * j, m[j].out, v);
                    }
                }
            }
            continue;
        }
#endif
        for (int64_t s = 0; s < nb; s++) {
            const float *plane = x + (s * g->C + c) * g->H * g->W;
            float *row = cols + k * ld + s * P;
            for (int64_t oh = 0; oh < g->OH; oh++) {
                float *dst = row + oh * OW;
                int64_t ih = oh * g->sh - g->pt + kh;
                if (ih < 0 || ih >= g->H) {
                    for (int64_t ow = 0; ow < OW; ow++) dst[ow] = 0;
                    continue;
                }
                const float *xr = plane + ih * g->W + kw - g->pl;  /* indexed from lo on */
                for (int64_t ow = 0; ow < lo; ow++) dst[ow] = 0;
                if (g->sw == 1) for (int64_t ow = lo; ow < hi; ow++) dst[ow] = xr[ow];
                else for (int64_t ow = lo; ow < hi; ow++) dst[ow] = xr[ow * g->sw];
                for (int64_t ow = hi; ow < OW; ow++) dst[ow] = 0;
            }
        }
    }
}

/* dx[s, c, ih, iw] = sum of the cols entries im2col would take from there
   (overwrites the nb samples of dx) */
#ifdef __AVX512F__
#define MAX_KW 16
/* Stride-1 (in w) col2im one input row at a time: the row's sum over (kh, kw)
   is built in registers from masked loads of the cols rows, shifted by kw, and
   stored once. Adding each kw's row into memory instead made every masked load
   hit a just-stored, overlapping masked store (store-to-load forwarding fails),
   which cost ~20 cycles per 6..32-float row. Same summation order (kh, kw) as
   the scalar loop, so the same bits. */
static void col2im_rows(const geom *g, const float *cols, int64_t ld, int64_t nb, float *dx)
{
    const int64_t C = g->C, H = g->H, W = g->W, HW = H * W, OW = g->OW, OH = g->OH, P = g->P;
    const int64_t KH = g->KH, KW = g->KW;
    row_masks m[MAX_KW][ROW_PIECES];
    int np = 0;
    /* input column iw takes ow = iw - kw + pl for kw: valid iw in [kw - pl, kw - pl + OW) */
    for (int64_t kw = 0; kw < KW; kw++) np = row_masks_for(W, kw - g->pl, kw - g->pl + OW, m[kw]);
#pragma omp parallel for schedule(static) if (nb * C > 1 && g->K * nb * P >= DOB_PAR_MIN)
    for (int64_t sc = 0; sc < nb * C; sc++) {
        int64_t s = sc / C, c = sc % C;
        float *plane = dx + sc * HW;
        for (int64_t ih = 0; ih < H; ih++) {
            __m512 acc[ROW_PIECES];
            for (int j = 0; j < np; j++) acc[j] = _mm512_setzero_ps();
            for (int64_t kh = 0; kh < KH; kh++) {
                int64_t t = ih + g->pt - kh, oh = t / g->sh;
                if (t < 0 || t % g->sh || oh >= OH) continue;
                const float *row = cols + (c * KH + kh) * KW * ld + s * P + oh * OW + g->pl;
                for (int64_t kw = 0; kw < KW; kw++, row += ld - 1)  /* src[iw] is ow = iw - kw + pl */
                    for (int j = 0; j < np; j++)
                        acc[j] = _mm512_add_ps(acc[j], _mm512_maskz_loadu_ps(m[kw][j].valid, row + 16 * j));
            }
            for (int j = 0; j < np; j++) _mm512_mask_storeu_ps(plane + ih * W + 16 * j, m[0][j].out, acc[j]);
        }
    }
}
#endif

DOB_NO_LIBCALLS static void col2im(const geom *g, const float *cols, int64_t ld, int64_t nb, float *dx)
{
#ifdef __AVX512F__
    if (g->sw == 1 && g->W <= 16 * ROW_PIECES && g->KW <= MAX_KW) {
        col2im_rows(g, cols, ld, nb, dx);
        return;
    }
#endif
    const int64_t C = g->C, HW = g->H * g->W, OW = g->OW, P = g->P;
#pragma omp parallel for schedule(static) if (nb * C > 1 && g->K * nb * P >= DOB_PAR_MIN)
    for (int64_t sc = 0; sc < nb * C; sc++) {
        int64_t s = sc / C, c = sc % C;
        float *plane = dx + sc * HW;
        memset(plane, 0, sizeof(float) * (size_t)HW);
        for (int64_t kh = 0; kh < g->KH; kh++) {
            for (int64_t kw = 0; kw < g->KW; kw++) {
                int64_t lo, hi;
                ow_range(g, kw, &lo, &hi);
                const float *row = cols + ((c * g->KH + kh) * g->KW + kw) * ld + s * P;
                for (int64_t oh = 0; oh < g->OH; oh++) {
                    int64_t ih = oh * g->sh - g->pt + kh;
                    if (ih < 0 || ih >= g->H) continue;
                    float *xr = plane + ih * g->W + kw - g->pl;
                    const float *src = row + oh * OW;
                    if (g->sw == 1) for (int64_t ow = lo; ow < hi; ow++) xr[ow] += src[ow];
                    else for (int64_t ow = lo; ow < hi; ow++) xr[ow * g->sw] += src[ow];
                }
            }
        }
    }
}

/* dst [R, nb P] <- src [nb, R, P] */
static void gather(const float *src, int64_t nb, int64_t R, int64_t P, float *dst)
{
#pragma omp parallel for schedule(static) if (nb * R > 1 && nb * R * P >= DOB_PAR_MIN)
    for (int64_t rs = 0; rs < R * nb; rs++) {
        int64_t r = rs / nb, s = rs % nb;
        memcpy(dst + r * nb * P + s * P, src + (s * R + r) * P, sizeof(float) * (size_t)P);
    }
}

/* dst [nb, R, P] <- act(src [R, nb P] (+ bias[r])) */
static void scatter(const float *src, int64_t nb, int64_t R, int64_t P, const float *bias, int act, float *dst)
{
#pragma omp parallel for schedule(static) if (nb * R > 1 && nb * R * P >= DOB_PAR_MIN)
    for (int64_t sr = 0; sr < nb * R; sr++) {
        int64_t s = sr / R, r = sr % R;
        const float *a = src + r * nb * P + s * P;
        float *o = dst + sr * P;
        float b = bias ? bias[r] : 0.0f;
        if (act == DOB_ACT_RELU && bias) for (int64_t p = 0; p < P; p++) o[p] = dob__relu(a[p] + b);
        else if (act == DOB_ACT_RELU) for (int64_t p = 0; p < P; p++) o[p] = dob__relu(a[p]);
        else if (bias) for (int64_t p = 0; p < P; p++) o[p] = a[p] + b;
        else memcpy(o, a, sizeof(float) * (size_t)P);
    }
}

/* y [nb, R, P] = act(y + bias[r]) (bias may be NULL) */
static void bias_act(float *y, int64_t nb, int64_t R, int64_t P, const float *bias, int act)
{
    if (!bias && act == DOB_ACT_NONE) return;
#pragma omp parallel for schedule(static) if (nb * R > 1 && nb * R * P >= DOB_PAR_MIN)
    for (int64_t sr = 0; sr < nb * R; sr++) {
        float b = bias ? bias[sr % R] : 0.0f, *o = y + sr * P;
        if (act == DOB_ACT_RELU && bias) for (int64_t p = 0; p < P; p++) o[p] = dob__relu(o[p] + b);
        else if (act == DOB_ACT_RELU) for (int64_t p = 0; p < P; p++) o[p] = dob__relu(o[p]);
        else for (int64_t p = 0; p < P; p++) o[p] += b;
    }
}

/* out[r] = sum over n, p of y[n, r, p] (double accumulation, fixed order) */
static void channel_sums(const float *y, int64_t N, int64_t R, int64_t P, float *out)
{
#pragma omp parallel for schedule(static) if (R > 1 && N * R * P >= DOB_PAR_MIN)
    for (int64_t r = 0; r < R; r++) {
        double acc = 0;
        for (int64_t n = 0; n < N; n++) {
            const float *row = y + (n * R + r) * P;
            double part = 0;
            /* a fixed-width simd reduction: vectorised (the plain double loop ran at
               one add per cycle, 2-3% of a conv's backward) and still a fixed order */
#pragma omp simd reduction(+ : part)
            for (int64_t p = 0; p < P; p++) part += row[p];
            acc += part;
        }
        out[r] = (float)acc;
    }
}

/* What one pass over the batch computes, chunk by chunk (any subset):
     cols = im2col(x)                       when x is given (y or dw need it)
     y = act(W cols (+ bias))               when y is given
     dw = sum over chunks of dy cols^T      when dw is given
     dx = col2im(W^T dy)                    when dx is given
   x, dx [N,C,H,W]; y, dy [N,OC,OH,OW]; w, dw [OC,K]. conv2d's backward does dw
   and dx in one pass so dy is gathered once per chunk. */
typedef struct {
    const geom *g;
    const float *x, *w, *bias, *dy;
    float *y, *dw, *dx;
    int act;                     /* y's activation */
} pass;

/* one chunk of samples [n0, n0 + nb); dw_acc [K, OC] (dw transposed) gets beta = 0 on the first chunk */
static void run_chunk(const pass *ps, int64_t n0, int64_t nb, float *colsbuf, float *buf, float *dw_acc,
                      bool first)
{
    const geom *g = ps->g;
    const int64_t C = g->C, OC = g->OC, K = g->K, P = g->P, CHW = g->C * g->H * g->W, nc = nb * P;
    const float *cols = colsbuf;
    if (ps->x) {
        const float *xs = ps->x + n0 * CHW;
        if (g->direct && nb == 1) cols = xs;
        else if (g->direct) gather(xs, nb, C, P, colsbuf);
        else im2col(g, xs, nb, colsbuf, nc);
    }
    if (ps->y) {
        float *ys = ps->y + n0 * OC * P;
        if (K == 0) {
            if (nb == 1) memset(ys, 0, sizeof(float) * (size_t)(OC * P));
            else memset(buf, 0, sizeof(float) * (size_t)(OC * nc));
        } else {
            dob__gemm(false, false, OC, nc, K, 1.0f, ps->w, K, cols, nc, 0.0f, nb == 1 ? ys : buf, nc);
        }
        /* the bias and the activation are applied while the chunk's output is in cache */
        if (nb == 1) bias_act(ys, 1, OC, P, ps->bias, ps->act);
        else scatter(buf, nb, OC, P, ps->bias, ps->act, ys);
    }
    const float *dys = NULL;
    if (ps->dy && ((ps->dw && K > 0) || ps->dx)) {
        dys = ps->dy + n0 * OC * P;
        if (nb > 1) {
            gather(dys, nb, OC, P, buf);
            dys = buf;
        }
    }
    /* dw^T = cols dy^T: M = K (144..2304) suits OpenBLAS better than M = OC;
       measured 1.15-1.25x faster than dw = dy cols^T at every DeepOBS shape */
    if (ps->dw && K > 0) dob__gemm(false, true, K, OC, nc, 1.0f, cols, nc, dys, nc, first ? 0.0f : 1.0f, dw_acc, OC);
    if (ps->dx && CHW > 0) {
        float *dxs = ps->dx + n0 * CHW;
        if (g->direct && nb == 1) {
            dob__gemm(true, false, K, P, OC, 1.0f, ps->w, K, dys, P, 0.0f, dxs, P);
            return;
        }
        dob__gemm(true, false, K, nc, OC, 1.0f, ps->w, K, dys, nc, 0.0f, colsbuf, nc);
        if (g->direct) scatter(colsbuf, nb, C, P, NULL, DOB_ACT_NONE, dxs);
        else col2im(g, colsbuf, nc, nb, dxs);
    }
}

#define MAX_THREADS 64
/* Below this much GEMM work a pass stays on one thread (and lets OpenBLAS decide). */
#define PAR_CHUNKS_FLOPS 16e6

/* Chunks are independent except for dw, so with T threads each thread takes a
   contiguous range of chunks with its own scratch and a single-threaded sgemm
   (OpenBLAS's OpenMP build runs one thread inside a parallel region), and the
   T partial dw^T are summed in thread order: the same thread count gives the
   same bits. */
static int run_pass(const pass *ps)
{
    const geom *g = ps->g;
    const int64_t N = g->N, OC = g->OC, K = g->K, P = g->P, CHW = g->C * g->H * g->W;
    if (ps->dw && (N == 0 || P == 0 || K == 0)) memset(ps->dw, 0, sizeof(float) * (size_t)(OC * K));
    if (ps->dx && N * CHW > 0 && (P == 0 || OC == 0)) memset(ps->dx, 0, sizeof(float) * (size_t)(N * CHW));
    if (N == 0 || P == 0 || OC == 0) return 0;
    const bool square = dob__winograd_applies(g->C, OC, g->KH, g->KW, g->sh, g->sw);
    if (square || dob__winograd1d_applies(g->C, OC, g->KH, g->KW, g->sh, g->sw)) {
        dob_conv_pass wp = {N, g->C, g->H, g->W, OC, g->OH, g->OW, g->KH, g->KW, g->pt, g->pl,
                            ps->x, ps->w, ps->bias, ps->dy, ps->y, ps->dw, ps->dx, ps->act};
        return square ? dob__winograd_pass(&wp) : dob__winograd1d_pass(&wp);
    }
    int64_t nb0 = chunk_samples(g), ncmax = nb0 * P, nchunks = (N + nb0 - 1) / nb0;
    int T = dob__threads();
    if (T > MAX_THREADS) T = MAX_THREADS;
    if (T > nchunks) T = (int)nchunks;
    if ((double)2 * OC * K * P * N < PAR_CHUNKS_FLOPS) T = 1;
    int64_t cols_n, buf_n;
    if (dob__mul_overflow(K, ncmax, &cols_n) || dob__mul_overflow(OC, ncmax, &buf_n) || cols_n > DOB_MAX_NUMEL ||
        buf_n > DOB_MAX_NUMEL)
        return dob__fail("conv: the scratch for %lld kernel taps x %lld output positions is too large",
                         (long long)K, (long long)ncmax);
    bool need_cols = !(g->direct && nb0 == 1) && (ps->x || ps->dx);
    size_t cols_bytes = need_cols ? sizeof(float) * (size_t)(K * ncmax) : 0;
    size_t buf_bytes = nb0 > 1 ? sizeof(float) * (size_t)(OC * ncmax) : 0;
    size_t dwt_bytes = ps->dw && K > 0 ? sizeof(float) * (size_t)(K * OC) : 0;
    float *colsbuf[MAX_THREADS] = {0}, *buf[MAX_THREADS] = {0}, *dwt[MAX_THREADS] = {0};
    int rc = -1;
    for (int t = 0; t < T; t++) {
        colsbuf[t] = cols_bytes ? dob__alloc(cols_bytes) : NULL;
        buf[t] = buf_bytes ? dob__alloc(buf_bytes) : NULL;
        dwt[t] = dwt_bytes ? dob__alloc(dwt_bytes) : NULL;
        if ((cols_bytes && !colsbuf[t]) || (buf_bytes && !buf[t]) || (dwt_bytes && !dwt[t])) goto done;
    }
    if (T == 1) {
        for (int64_t n0 = 0; n0 < N; n0 += nb0)
            run_chunk(ps, n0, N - n0 < nb0 ? N - n0 : nb0, colsbuf[0], buf[0], dwt[0], n0 == 0);
    } else {
#pragma omp parallel num_threads(T)
        {
            int t = omp_get_thread_num();
            int64_t c0 = nchunks * t / T, c1 = nchunks * (t + 1) / T;
            for (int64_t c = c0; c < c1; c++) {
                int64_t n0 = c * nb0;
                run_chunk(ps, n0, N - n0 < nb0 ? N - n0 : nb0, colsbuf[t], buf[t], dwt[t], c == c0);
            }
        }
        for (int t = 1; t < T && dwt[0]; t++)
            for (int64_t i = 0; i < K * OC; i++) dwt[0][i] += dwt[t][i];
    }
    if (dwt[0])
        for (int64_t oc = 0; oc < OC; oc++)
            for (int64_t k = 0; k < K; k++) ps->dw[oc * K + k] = dwt[0][k * OC + oc];
    rc = 0;
done:
    for (int t = 0; t < T; t++) {
        dob__free(colsbuf[t], cols_bytes);
        dob__free(buf[t], buf_bytes);
        dob__free(dwt[t], dwt_bytes);
    }
    return rc;
}

/* ---- argument checks --------------------------------------------------------------------- */

static int check_common(const char *op, const dob_tensor *x, const dob_tensor *w, const dob_tensor *bias,
                        int64_t bias_len, int sh, int sw, int pt, int pb, int pl, int pr)
{
    DOB_CHECK_INT(sh >= 1 && sw >= 1, "%s: strides must be >= 1, got %dx%d", op, sh, sw);
    DOB_CHECK_INT(pt >= 0 && pb >= 0 && pl >= 0 && pr >= 0,
                  "%s: padding must be >= 0, got top %d bottom %d left %d right %d", op, pt, pb, pl, pr);
    DOB_CHECK_INT(w->size[2] >= 1 && w->size[3] >= 1, "%s: weight %s has an empty kernel", op,
                  dob__shape(w));
    if (bias) {
        DOB_CHECK_INT(dob_is_valid(bias) && bias->dtype == DOB_F32,
                      "%s: argument 'bias' must be a valid float32 tensor", op);
        DOB_CHECK_INT(bias->ndim == 1 && bias->size[0] == bias_len,
                      "%s: bias must be [%lld] for weight %s, got %s", op, (long long)bias_len,
                      dob__shape(w), dob__shape(bias));
    }
    (void)x;
    return 0;
}

/* contiguous copies (new references) of x, w and bias (bias may be NULL) */
static int contig3(dob_tensor *x, dob_tensor *w, dob_tensor *b, dob_tensor **xc, dob_tensor **wc,
                   dob_tensor **bc)
{
    *xc = dob__contig(x);
    *wc = *xc ? dob__contig(w) : NULL;
    *bc = (b && *wc) ? dob__contig(b) : NULL;
    if (!*xc || !*wc || (b && !*bc)) {
        dob_release(*xc);
        dob_release(*wc);
        dob_release(*bc);
        return -1;
    }
    return 0;
}

/* ---- conv2d -------------------------------------------------------------------------------- */

/* iattr: sh, sw, pt, pb, pl, pr, activation; saved: x, w (with a relu: then the output) */
static void geom_of_node(const dob_node *n, const dob_tensor *x, const dob_tensor *w, geom *g, bool transpose)
{
    const int64_t *a = n->iattr;
    if (!transpose) {
        geom_init(g, x->size[0], x->size[1], x->size[2], x->size[3], w->size[0], w->size[2], w->size[3],
                  a[0], a[1], a[2], a[3], a[4], a[5]);
    } else {
        int64_t OH = (x->size[2] - 1) * a[0] + w->size[2] - a[2] - a[3];
        int64_t OW = (x->size[3] - 1) * a[1] + w->size[3] - a[4] - a[5];
        geom_init(g, x->size[0], w->size[1], OH, OW, w->size[0], w->size[2], w->size[3],
                  a[0], a[1], a[2], a[3], a[4], a[5]);
    }
}

static int bias_grad(dob_node *n, dob_tensor **gin, int i, const float *g, int64_t N, int64_t R, int64_t P)
{
    if (!dob__input_needs_grad(n, i)) return 0;
    dob_tensor *gb = dob__new_like_shape(DOB_F32, 1, &R);
    if (!gb) return -1;
    channel_sums(g, N, R, P, dob__f32(gb));
    gin[i] = gb;
    return 0;
}

static int conv2d_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    dob_tensor *x = n->saved[0], *w = n->saved[1];
    geom g;
    geom_of_node(n, x, w, &g, false);
    bool nx = dob__input_needs_grad(n, 0), nw = dob__input_needs_grad(n, 1);
    /* with a fused relu, the gradient at the pre-activation is g masked by the saved output */
    dob_tensor *gy = n->iattr[6] == DOB_ACT_RELU ? dob__relu_grad(gout[0], n->saved[2]) : dob__contig(gout[0]);
    dob_tensor *xc = NULL, *wc = NULL, *gx = NULL, *gw = NULL;
    int rc = gy ? 0 : -1;
    if (!rc && (nx || nw)) {
        wc = dob__contig(w);
        xc = wc && nw ? dob__contig(x) : NULL;
        gx = wc && nx ? dob__empty_like(x) : NULL;
        gw = wc && nw ? dob__empty_like(w) : NULL;
        if (!wc || (nw && (!xc || !gw)) || (nx && !gx)) rc = -1;
        else {
            pass ps = {&g, xc ? dob__f32(xc) : NULL, dob__f32(wc), NULL, dob__f32(gy), NULL,
                       gw ? dob__f32(gw) : NULL, gx ? dob__f32(gx) : NULL, DOB_ACT_NONE};
            rc = run_pass(&ps);
        }
    }
    if (!rc) rc = bias_grad(n, gin, 2, dob__f32(gy), g.N, g.OC, g.P);
    if (!rc) {
        gin[0] = gx;
        gin[1] = gw;
    } else {
        dob_release(gx);
        dob_release(gw);
    }
    dob_release(gy);
    dob_release(xc);
    dob_release(wc);
    return rc;
}

dob_tensor *dob_conv2d(dob_tensor *x, dob_tensor *w, dob_tensor *bias, int stride_h, int stride_w,
                       int pad_top, int pad_bottom, int pad_left, int pad_right, int activation)
{
    if (dob__check_activation("conv2d", activation)) return NULL;
    DOB_CHECK_F32(x, "conv2d", "x");
    DOB_CHECK_F32(w, "conv2d", "weight");
    DOB_CHECK(x->ndim == 4, "conv2d: input must be 4-D [N,C,H,W], got %s", dob__shape(x));
    DOB_CHECK(w->ndim == 4, "conv2d: weight must be 4-D [OC,C,KH,KW], got %s", dob__shape(w));
    DOB_CHECK(x->size[1] == w->size[1], "conv2d: input %s has %lld channels but weight %s expects %lld",
              dob__shape(x), (long long)x->size[1], dob__shape(w), (long long)w->size[1]);
    if (check_common("conv2d", x, w, bias, w->size[0], stride_h, stride_w, pad_top, pad_bottom,
                     pad_left, pad_right)) return NULL;
    DOB_CHECK(x->size[2] + pad_top + pad_bottom >= w->size[2] && x->size[3] + pad_left + pad_right >= w->size[3],
              "conv2d: kernel %lldx%lld is larger than the padded input %lldx%lld (input %s)",
              (long long)w->size[2], (long long)w->size[3], (long long)(x->size[2] + pad_top + pad_bottom),
              (long long)(x->size[3] + pad_left + pad_right), dob__shape(x));
    int64_t osz[4] = {x->size[0], w->size[0], (x->size[2] + pad_top + pad_bottom - w->size[2]) / stride_h + 1,
                      (x->size[3] + pad_left + pad_right - w->size[3]) / stride_w + 1};
    if (dob__check_sizes("conv2d", 4, osz)) return NULL;
    geom g;
    geom_init(&g, x->size[0], x->size[1], x->size[2], x->size[3], w->size[0], w->size[2], w->size[3],
              stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right);
    dob_tensor *xc, *wc, *bc;
    if (contig3(x, w, bias, &xc, &wc, &bc)) return NULL;
    int64_t os[4] = {g.N, g.OC, g.OH, g.OW};
    dob_tensor *out = dob__new_like_shape(DOB_F32, 4, os);
    pass ps = {&g, dob__f32(xc), dob__f32(wc), bc ? dob__f32(bc) : NULL, NULL, out ? dob__f32(out) : NULL, NULL, NULL,
               activation};
    if (out && run_pass(&ps)) {
        dob_release(out);
        out = NULL;
    }
    dob_release(xc);
    dob_release(wc);
    dob_release(bc);
    if (!out) return NULL;
    dob_tensor *ins[3] = {x, w, bias};
    bool relu = activation == DOB_ACT_RELU;
    dob_node *n = dob__record(relu ? "conv2d_relu" : "conv2d", conv2d_backward, 3, ins, 1);
    if (n) {
        int64_t a[7] = {stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right, activation};
        memcpy(n->iattr, a, sizeof a);
        dob__save(n, x);
        dob__save(n, w);
        if (relu) dob__save(n, out);
        dob__set_output(n, 0, out);
    }
    return dob__recorded(n, out);
}

/* ---- conv_transpose2d --------------------------------------------------------------------- */

static int conv_transpose2d_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    dob_tensor *x = n->saved[0], *w = n->saved[1];
    geom g;
    geom_of_node(n, x, w, &g, true);
    bool nx = dob__input_needs_grad(n, 0), nw = dob__input_needs_grad(n, 1);
    dob_tensor *gy = n->iattr[6] == DOB_ACT_RELU ? dob__relu_grad(gout[0], n->saved[2]) : dob__contig(gout[0]);
    dob_tensor *xc = NULL, *wc = NULL, *gx = NULL, *gw = NULL;
    int rc = gy ? 0 : -1;
    if (!rc && (nx || nw)) {
        /* in conv2d terms: gy is the image, x the output gradient */
        wc = dob__contig(w);
        xc = wc ? dob__contig(x) : NULL;
        gx = xc && nx ? dob__empty_like(x) : NULL;
        gw = xc && nw ? dob__empty_like(w) : NULL;
        if (!xc || (nx && !gx) || (nw && !gw)) rc = -1;
        else {
            pass ps = {&g, dob__f32(gy), dob__f32(wc), NULL, dob__f32(xc), gx ? dob__f32(gx) : NULL,
                       gw ? dob__f32(gw) : NULL, NULL, DOB_ACT_NONE};
            rc = run_pass(&ps);
        }
    }
    if (!rc) rc = bias_grad(n, gin, 2, dob__f32(gy), g.N, g.C, g.H * g.W);
    if (!rc) {
        gin[0] = gx;
        gin[1] = gw;
    } else {
        dob_release(gx);
        dob_release(gw);
    }
    dob_release(gy);
    dob_release(xc);
    dob_release(wc);
    return rc;
}

dob_tensor *dob_conv_transpose2d(dob_tensor *x, dob_tensor *w, dob_tensor *bias, int stride_h, int stride_w,
                                 int pad_top, int pad_bottom, int pad_left, int pad_right, int activation)
{
    if (dob__check_activation("conv_transpose2d", activation)) return NULL;
    DOB_CHECK_F32(x, "conv_transpose2d", "x");
    DOB_CHECK_F32(w, "conv_transpose2d", "weight");
    DOB_CHECK(x->ndim == 4, "conv_transpose2d: input must be 4-D [N,C,H,W], got %s", dob__shape(x));
    DOB_CHECK(w->ndim == 4, "conv_transpose2d: weight must be 4-D [C,OC,KH,KW], got %s", dob__shape(w));
    DOB_CHECK(x->size[1] == w->size[0],
              "conv_transpose2d: input %s has %lld channels but weight %s expects %lld",
              dob__shape(x), (long long)x->size[1], dob__shape(w), (long long)w->size[0]);
    if (check_common("conv_transpose2d", x, w, bias, w->size[1], stride_h, stride_w, pad_top,
                     pad_bottom, pad_left, pad_right)) return NULL;
    DOB_CHECK(x->size[2] >= 1 && x->size[3] >= 1, "conv_transpose2d: input %s has no pixels", dob__shape(x));
    int64_t OH, OW;
    DOB_CHECK(!dob__mul_overflow(x->size[2] - 1, stride_h, &OH) && !dob__mul_overflow(x->size[3] - 1, stride_w, &OW),
              "conv_transpose2d: input %s with strides %dx%d gives too large an output", dob__shape(x),
              stride_h, stride_w);
    OH += w->size[2] - pad_top - pad_bottom;
    OW += w->size[3] - pad_left - pad_right;
    DOB_CHECK(OH >= 1 && OW >= 1, "conv_transpose2d: padding %d,%d,%d,%d leaves an empty output "
              "(%lldx%lld) for input %s and weight %s", pad_top, pad_bottom, pad_left, pad_right,
              (long long)OH, (long long)OW, dob__shape(x), dob__shape(w));
    if (dob__check_sizes("conv_transpose2d", 4, (int64_t[]){x->size[0], w->size[1], OH, OW})) return NULL;
    geom g;
    geom_init(&g, x->size[0], w->size[1], OH, OW, w->size[0], w->size[2], w->size[3],
              stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right);
    dob_tensor *xc, *wc, *bc;
    if (contig3(x, w, bias, &xc, &wc, &bc)) return NULL;
    int64_t os[4] = {g.N, g.C, OH, OW};
    dob_tensor *out = dob__new_like_shape(DOB_F32, 4, os);
    pass ps = {&g, NULL, dob__f32(wc), NULL, dob__f32(xc), NULL, NULL, out ? dob__f32(out) : NULL, DOB_ACT_NONE};
    if (out && run_pass(&ps)) {
        dob_release(out);
        out = NULL;
    }
    /* col2im sums overlapping taps into the output, so the bias and activation follow the pass */
    if (out) bias_act(dob__f32(out), g.N, g.C, OH * OW, bc ? dob__f32(bc) : NULL, activation);
    dob_release(xc);
    dob_release(wc);
    dob_release(bc);
    if (!out) return NULL;
    dob_tensor *ins[3] = {x, w, bias};
    bool relu = activation == DOB_ACT_RELU;
    dob_node *n = dob__record(relu ? "conv_transpose2d_relu" : "conv_transpose2d", conv_transpose2d_backward, 3, ins, 1);
    if (n) {
        int64_t a[7] = {stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right, activation};
        memcpy(n->iattr, a, sizeof a);
        dob__save(n, x);
        dob__save(n, w);
        if (relu) dob__save(n, out);
        dob__set_output(n, 0, out);
    }
    return dob__recorded(n, out);
}
