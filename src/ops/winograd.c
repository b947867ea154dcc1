/* winograd.c — 3x3, 4x4 and 5x5 stride-1 conv2d by Winograd's minimal filtering
 * F(2x2, 3x3), F(2x2, 4x4) and F(2x2, 5x5).
 *
 * conv.c hands every pass of such a conv2d with enough channels here. Each 2x2
 * output tile is computed from the a x a input tile d under it (a = r + 1 for
 * an r x r kernel; tiles step by 2; zero outside the image):
 *   Y = A^T [U ⊙ V] A,   U = G g G^T (per oc, c),   V = B^T d B (per c, tile)
 * and the sum over c becomes, for each of the a^2 positions ξ of the a x a
 * product, one GEMM over all tiles T of a chunk of samples:
 *   M[ξ] (OC x T) = U[ξ] (OC x C) V[ξ] (C x T)
 * a^2 multiplies per tile and channel pair instead of 4 r^2: 2.25x less GEMM
 * work for 3x3 (16 vs 36), 2.56x for 4x4 (25 vs 64), 2.8x for 5x5 (36 vs 100).
 * Backward applies the
 * adjoints of the same linear maps, so the gradients are exact for the function
 * the forward computed:
 *   dM = A dY A^T;  dU[ξ] = sum over tiles dM[ξ] V[ξ]^T;  dg = G^T dU G;
 *   dV[ξ] = U[ξ]^T dM[ξ];  dd = B dV B^T, summed into dx where tiles overlap.
 *
 * F(2, 3), points 0, 1, -1, inf:
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * F(2, 4), points 0, 1, -1, 2, inf (Toom-Cook, as winograd1d.c builds them):
 *   B^T = [2 -1 -2 1 0; 0 -2 -1 1 0; 0 2 -3 1 0; 0 -1 0 1 0; 0 2 -1 -2 1]
 *   G = [1/2 0 0 0; -1/2 (x4); -1/6 1/6 -1/6 1/6; 1/6 1/3 2/3 4/3; 0 0 0 1]
 *   A^T = [1 1 1 1 0; 0 1 -1 2 1]
 * F(2, 5), points 0, 1, -1, 2, -2, inf (Toom-Cook; B^T and A^T are integers, so
 * exact in float):
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *   G = [1/4 0 0 0 0; -1/6 (x5); -1/6 1/6 -1/6 1/6 -1/6; 1/24 1/12 1/6 1/3 2/3;
 *        1/24 -1/12 1/6 -1/3 2/3; 0 0 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 1]
 *
 * conv2d's fused relu is applied to the output rows of each chunk right after
 * A^T M A + bias, while they are in cache; store_y then writes y itself.
 *
 * Layout: a chunk's tiles are gathered straight into V (and dY's into M): for
 * channel c, element ξ of tile t sits at V[ξ][c][t], and every transform runs
 * in place over all T tiles at once (full-width vectors whatever the image
 * size). Planes 15+ outputs wide are first split into zero-padded even and odd
 * columns, so the a columns of a tile are e[tw], o[tw], e[tw+1], ... and tile
 * rows copy as contiguous runs; narrower planes, where those runs would be a
 * few floats, are split whole and B^T d B is made straight from the split plane
 * (narrow_input; narrow_dx is its adjoint; even tile sides), while y and dY go
 * through index maps built once per pass; under 6 tile columns (and for 4x4)
 * every tile element is gathered through index maps. Samples are the
 * outer loop, so planes are read and written in memory order. Planes of more
 * than 256 tiles (Inception's stem, VGG at 224x224) are cut into bands of tile
 * rows, a band a chunk, so that V and M stay in cache (a whole 147x147 sample
 * was 11 MB of V); where a band's dx rows overlap the previous band's they are
 * added. Chunks are split across threads as in conv.c, whole samples to a
 * thread: own scratch, single-threaded GEMMs (dob__gemm_nopack for the
 * products with U), partial dU summed in thread order; the same thread count
 * gives the same bits.
 *
 * Measured (bench/ops.lua, 1 thread, ms fwd+bwd, against the im2col + sgemm path
 * it replaces): WRN 64->64 on 32x32 215 -> 130, 3c3d conv2 62 -> 29, 2c2d conv2
 * (5x5) 55 -> 35, 3c3d conv3 (6x6 planes) 31 -> 12 with index maps and in-place
 * gathers; 2c2d conv2 then 31 -> 27 (batch 128) with narrow_input and narrow_dx
 * instead of index-map gathers of every tile element (which stay faster under 6
 * tile columns: 4x4 planes 7.0 against 10.6, 6x6 9.8 against 11.7). The VAEs'
 * 4x4 64->64 on 14x14 (batch 64) 28.6 -> 20.1, on 7x7 8.4 ->
 * 6.3. 256 tiles per chunk measured best for 32x32 planes and within noise of
 * 512-1024 for small ones. Bands (batch 32): Inception's
 * 32->64 on 147x147 500 -> 300 ms, 32->32 on 149x149 290 -> 186, 80->192 on
 * 73x73 490 -> 411; bands of 128 tiles were 1.07-1.28x slower than 256.
 */
#include "ops/ops.h"
#include <omp.h>

#define TILES_TARGET 256                 /* tiles of one chunk */
#define CHUNK_BYTES ((int64_t)8 << 20)   /* cap on a chunk's V or M buffer */
#define AMAX 6                           /* largest tile side a */
#define WIDE_TW 8                        /* tile columns from which planes are split in bands */
#define NARROW_TW 6                      /* tile columns from which narrower planes are transformed from the split plane */
#define MAX_THREADS 64
#define PAR_FLOPS 16e6                   /* below this much GEMM work: one thread */

typedef struct {
    int64_t N, C, H, W, OC, OH, OW, pt, pl;
    int r, a;                            /* kernel side, tile side r + 1 */
    int64_t TH, TW, TPS;                 /* tile rows, tile columns, tiles per sample */
    int64_t band, bands;                 /* tile rows of a chunk, chunks per sample (wide planes; else TH, 1) */
    int64_t L;                           /* row length of a chunk's tile rows (tiles rounded up to 16) */
    /* Wide planes (TW >= WIDE_TW) are split into zero-padded even and odd columns, so the tile
       rows are copied as contiguous runs: */
    int64_t PR, PW;                      /* split plane: rows (2 band + a - 2), even/odd row length (TW + (a-1)/2) */
    /* Narrower ones are split whole, and their input transform and its adjoint run straight
       on the split plane (narrow_input, narrow_dx) from NARROW_TW tile columns on; tiny ones
       gather every tile element through index maps. Both take y and dY through index maps
       (NULL for wide planes), as offsets within one sample (-1: zero):
         dy_idx [4][TPS]    dY plane offset of output (a', b') of tile p
         y_idx [OH OW]      offset in M ((2 a' + b') OC L + p) of output pixel q
       and, for tiny planes only,
         in_idx [a^2][TPS]  x plane offset of element ξ of tile p
         dx_idx [K][H W]    offset in V (ξ C L + p) of the k-th tile element over input pixel q */
    bool narrow;
    int32_t *dy_idx, *y_idx, *in_idx, *dx_idx;
    int K;                               /* tiles that overlap one input pixel, at most ((a+1)/2)^2 */
} wgeom;

bool dob__winograd_applies(int64_t C, int64_t OC, int64_t KH, int64_t KW, int64_t sh, int64_t sw)
{
    return KH == KW && KH >= 3 && KH <= 5 && sh == 1 && sw == 1 && C >= 8 && OC >= 8;
}

/* e[r][k] = src[r - top][2k - left], o[r][k] = src[r - top][2k + 1 - left] (0 outside src) */
DOB_NO_LIBCALLS static void split(const float *restrict src, int64_t H, int64_t W, int64_t top, int64_t left,
                                  int64_t rows, int64_t PW, float *restrict e, float *restrict o)
{
    /* k in [k0, k1): both 2k - left and 2k + 1 - left lie inside the row */
    int64_t k0 = (left + 1) / 2, k1 = (W + left) / 2;
    if (k1 > PW) k1 = PW;
    if (k1 < k0) k1 = k0;
    for (int64_t r = 0; r < rows; r++, e += PW, o += PW) {
        int64_t ih = r - top;
        if (ih < 0 || ih >= H) {
            for (int64_t k = 0; k < PW; k++) e[k] = o[k] = 0;
            continue;
        }
        const float *row = src + ih * W;
        for (int64_t k = 0; k < k0; k++) {
            int64_t iw = 2 * k - left;
            e[k] = iw >= 0 ? row[iw] : 0;
            o[k] = iw + 1 >= 0 && iw + 1 < W ? row[iw + 1] : 0;
        }
        for (int64_t k = k0; k < k1; k++) {
            e[k] = row[2 * k - left];
            o[k] = row[2 * k + 1 - left];
        }
        for (int64_t k = k1; k < PW; k++) {
            int64_t iw = 2 * k - left;
            e[k] = iw < W ? row[iw] : 0;
            o[k] = iw + 1 < W ? row[iw + 1] : 0;
        }
    }
}

/* dst[i] = element i + start of the row whose even and odd columns are e and o (i < n); add:
   dst[i] += it (the rows where a chunk's tiles overlap the previous chunk's) */
DOB_NO_LIBCALLS static void merge(const float *restrict e, const float *restrict o, int64_t start, int64_t n,
                                  bool add, float *restrict dst)
{
    if (add) {
        for (int64_t i = 0; i < n; i++) dst[i] += (start + i) & 1 ? o[(start + i) >> 1] : e[(start + i) >> 1];
        return;
    }
    int64_t i = 0;
    if (start & 1 && n > 0) dst[i++] = o[start >> 1];
    const float *ep = e + ((start + i) >> 1), *op = o + ((start + i) >> 1);
    int64_t pairs = (n - i) / 2;
    for (int64_t j = 0; j < pairs; j++) {
        dst[i + 2 * j] = ep[j];
        dst[i + 2 * j + 1] = op[j];
    }
    if (i + 2 * pairs < n) dst[n - 1] = ep[pairs];
}

/* out[q] = base[idx[q]], or 0 where idx[q] < 0 */
static void gather(const float *restrict base, const int32_t *restrict idx, int64_t n, float *restrict out)
{
    for (int64_t q = 0; q < n; q++) out[q] = idx[q] >= 0 ? base[idx[q]] : 0.0f;
}

/* out[q] += base[idx[q]] where idx[q] >= 0 */
static void gather_add(const float *restrict base, const int32_t *restrict idx, int64_t n, float *restrict out)
{
    for (int64_t q = 0; q < n; q++) out[q] += idx[q] >= 0 ? base[idx[q]] : 0.0f;
}

/* The 1-D transforms, applied to n-long rows: out_i[t] = sum_k M[i][k] in_k[t].
   Explicit code per tile side, so every loop is a plain vector loop. */
#define ROWS4(p) float *restrict p##0 = p[0], *restrict p##1 = p[1], *restrict p##2 = p[2], *restrict p##3 = p[3]
#define ROWS5(p) ROWS4(p); float *restrict p##4 = p[4]
#define ROWS6(p) ROWS5(p); float *restrict p##5 = p[5]

#define INLINE static inline __attribute__((always_inline))

/* out = B^T in */
INLINE void bt_rows(int a, float *const *in, float *const *out, int64_t n)
{
    if (a == 4) {
        ROWS4(in); ROWS4(out);
#pragma omp simd
        for (int64_t t = 0; t < n; t++) {
            out0[t] = in0[t] - in2[t];
            out1[t] = in1[t] + in2[t];
            out2[t] = in2[t] - in1[t];
            out3[t] = in1[t] - in3[t];
        }
    } else if (a == 5) {
        ROWS5(in); ROWS5(out);
#pragma omp simd
        for (int64_t t = 0; t < n; t++) {
            out0[t] = in3[t] - in1[t] + 2 * (in0[t] - in2[t]);
            out1[t] = in3[t] - in2[t] - 2 * in1[t];
            out2[t] = in3[t] - 3 * in2[t] + 2 * in1[t];
            out3[t] = in3[t] - in1[t];
            out4[t] = in4[t] - in2[t] + 2 * (in1[t] - in3[t]);
        }
    } else {
        ROWS6(in); ROWS6(out);
#pragma omp simd
        for (int64_t t = 0; t < n; t++) {
            out0[t] = 4 * in0[t] - 5 * in2[t] + in4[t];
            out1[t] = in3[t] + in4[t] - 4 * (in1[t] + in2[t]);
            out2[t] = in4[t] - in3[t] + 4 * (in1[t] - in2[t]);
            out3[t] = in4[t] - in2[t] + 2 * (in3[t] - in1[t]);
            out4[t] = in4[t] - in2[t] + 2 * (in1[t] - in3[t]);
            out5[t] = 4 * in1[t] - 5 * in3[t] + in5[t];
        }
    }
}

/* out = B in (the adjoint of bt_rows) */
INLINE void b_rows(int a, float *const *in, float *const *out, int64_t n)
{
    if (a == 4) {
        ROWS4(in); ROWS4(out);
#pragma omp simd
        for (int64_t t = 0; t < n; t++) {
            out0[t] = in0[t];
            out1[t] = in1[t] - in2[t] + in3[t];
            out2[t] = in1[t] + in2[t] - in0[t];
            out3[t] = -in3[t];
        }
    } else if (a == 5) {
        ROWS5(in); ROWS5(out);
#pragma omp simd
        for (int64_t t = 0; t < n; t++) {
            out0[t] = 2 * in0[t];
            out1[t] = 2 * (in2[t] + in4[t] - in1[t]) - in0[t] - in3[t];
            out2[t] = -2 * in0[t] - in1[t] - 3 * in2[t] - in4[t];
            out3[t] = in0[t] + in1[t] + in2[t] + in3[t] - 2 * in4[t];
            out4[t] = in4[t];
        }
    } else {
        ROWS6(in); ROWS6(out);
#pragma omp simd
        for (int64_t t = 0; t < n; t++) {
            out0[t] = 4 * in0[t];
            out1[t] = 4 * (in2[t] - in1[t] + in5[t]) + 2 * (in4[t] - in3[t]);
            out2[t] = -5 * in0[t] - 4 * (in1[t] + in2[t]) - in3[t] - in4[t];
            out3[t] = in1[t] - in2[t] + 2 * (in3[t] - in4[t]) - 5 * in5[t];
            out4[t] = in0[t] + in1[t] + in2[t] + in3[t] + in4[t];
            out5[t] = in5[t];
        }
    }
}

/* out[0..1] = A^T in + bias */
static void at_rows(int a, float *const *in, float *const *out, float bias, int64_t n)
{
    float *restrict out0 = out[0], *restrict out1 = out[1];
    if (a == 4) {
        ROWS4(in);
#pragma omp simd
        for (int64_t t = 0; t < n; t++) {
            out0[t] = in0[t] + in1[t] + in2[t] + bias;
            out1[t] = in1[t] - in2[t] - in3[t] + bias;
        }
    } else if (a == 5) {
        ROWS5(in);
#pragma omp simd
        for (int64_t t = 0; t < n; t++) {
            out0[t] = in0[t] + in1[t] + in2[t] + in3[t] + bias;
            out1[t] = in1[t] - in2[t] + 2 * in3[t] + in4[t] + bias;
        }
    } else {
        ROWS6(in);
#pragma omp simd
        for (int64_t t = 0; t < n; t++) {
            out0[t] = in0[t] + in1[t] + in2[t] + in3[t] + in4[t] + bias;
            out1[t] = in1[t] - in2[t] + 2 * (in3[t] - in4[t]) + in5[t] + bias;
        }
    }
}

/* out = A in[0..1] (the adjoint of at_rows) */
static void am_rows(int a, float *const *in, float *const *out, int64_t n)
{
    const float *restrict in0 = in[0], *restrict in1 = in[1];
    if (a == 4) {
        ROWS4(out);
#pragma omp simd
        for (int64_t t = 0; t < n; t++) {
            out0[t] = in0[t];
            out1[t] = in0[t] + in1[t];
            out2[t] = in0[t] - in1[t];
            out3[t] = -in1[t];
        }
    } else if (a == 5) {
        ROWS5(out);
#pragma omp simd
        for (int64_t t = 0; t < n; t++) {
            out0[t] = in0[t];
            out1[t] = in0[t] + in1[t];
            out2[t] = in0[t] - in1[t];
            out3[t] = in0[t] + 2 * in1[t];
            out4[t] = in1[t];
        }
    } else {
        ROWS6(out);
#pragma omp simd
        for (int64_t t = 0; t < n; t++) {
            out0[t] = in0[t];
            out1[t] = in0[t] + in1[t];
            out2[t] = in0[t] - in1[t];
            out3[t] = in0[t] + 2 * in1[t];
            out4[t] = in0[t] - 2 * in1[t];
            out5[t] = in1[t];
        }
    }
}

/* G (a x r), row-major */
static const float G4[4 * 3] = {1, 0, 0, .5f, .5f, .5f, .5f, -.5f, .5f, 0, 0, 1};
static const float G5[5 * 4] = {
    1.f / 2, 0, 0, 0,
    -1.f / 2, -1.f / 2, -1.f / 2, -1.f / 2,
    -1.f / 6, 1.f / 6, -1.f / 6, 1.f / 6,
    1.f / 6, 1.f / 3, 2.f / 3, 4.f / 3,
    0, 0, 0, 1};
static const float G6[6 * 5] = {
    1.f / 4, 0, 0, 0, 0,
    -1.f / 6, -1.f / 6, -1.f / 6, -1.f / 6, -1.f / 6,
    -1.f / 6, 1.f / 6, -1.f / 6, 1.f / 6, -1.f / 6,
    1.f / 24, 1.f / 12, 1.f / 6, 1.f / 3, 2.f / 3,
    1.f / 24, -1.f / 12, 1.f / 6, -1.f / 3, 2.f / 3,
    0, 0, 0, 0, 1};

/* The 2-D transforms run over the n tiles of a chunk, one 1-D transform of rows
   after another: a tile's a x a input (row i, column j) is element t of row
   a i + j, rows ld apart; w is scratch of a^2 rows. Each may run in place
   (its output over its input): the first pass reads all input rows into w. */

/* d[(a i + j) ld + tw] for one tile row: the input tile rows r0 .. r0 + a - 1 of a split plane */
DOB_NO_LIBCALLS static void gather_tiles(const wgeom *g, int a, const float *restrict pe, const float *restrict po,
                                         int64_t r0, float *restrict d, int64_t ld)
{
    const int64_t TW = g->TW, PW = g->PW;
    for (int i = 0; i < a; i++)
        for (int j = 0; j < a; j++) {
            const float *src = ((j & 1) ? po : pe) + (r0 + i) * PW + j / 2;
            float *dst = d + (a * i + j) * ld;
            for (int64_t tw = 0; tw < TW; tw++) dst[tw] = src[tw];
        }
}

/* adds one tile row of dd into the split plane rows r0 .. r0 + a - 1 (the reverse of gather_tiles) */
DOB_NO_LIBCALLS static void scatter_tiles(const wgeom *g, int a, const float *restrict dd, int64_t ld, int64_t r0,
                                          float *restrict pe, float *restrict po)
{
    const int64_t TW = g->TW, PW = g->PW;
    for (int i = 0; i < a; i++)
        for (int j = 0; j < a; j++) {
            float *dst = ((j & 1) ? po : pe) + (r0 + i) * PW + j / 2;
            const float *src = dd + (a * i + j) * ld;
            for (int64_t tw = 0; tw < TW; tw++) dst[tw] += src[tw];
        }
}

/* out[i] = the row base + (first + step i) ld, i < cnt */
static void rows(float *base, int64_t first, int64_t step, int cnt, int64_t ld, float **out)
{
    for (int i = 0; i < cnt; i++) out[i] = base + (first + step * i) * ld;
}

/* v[ξ ldx + t] = (B^T d B)[ξ] */
static void input_transform(int a, float *d, int64_t ldd, int64_t n, float *w, float *v, int64_t ldx)
{
    float *in[AMAX], *out[AMAX];
    for (int i = 0; i < a; i++) {          /* w[i][j] = (d B)[i][j] */
        rows(d, a * i, 1, a, ldd, in);
        rows(w, a * i, 1, a, n, out);
        bt_rows(a, in, out, n);
    }
    for (int j = 0; j < a; j++) {          /* v[i][j] = (B^T w)[i][j] */
        rows(w, j, a, a, n, in);
        rows(v, j, a, a, ldx, out);
        bt_rows(a, in, out, n);
    }
}

/* the adjoint: dd[(a k + l) L + t] = (B dV B^T)[k][l] */
static void input_adjoint(int a, float *dv, int64_t ldx, int64_t n, float *w, float *dd, int64_t ldd)
{
    float *in[AMAX], *out[AMAX];
    for (int j = 0; j < a; j++) {          /* w[k][j] = (B dV)[k][j] */
        rows(dv, j, a, a, ldx, in);
        rows(w, j, a, a, n, out);
        b_rows(a, in, out, n);
    }
    for (int k = 0; k < a; k++) {          /* dd[k][l] = (w B^T)[k][l] */
        rows(w, a * k, 1, a, n, in);
        rows(dd, a * k, 1, a, ldd, out);
        b_rows(a, in, out, n);
    }
}

/* yt[(2 a' + b') L + t] = (A^T M A)[a'][b'] + bias */
static void output_transform(int a, float *m, int64_t ldx, int64_t n, float bias, float *w, float *yt, int64_t ldy)
{
    float *in[AMAX], *out[AMAX];
    for (int i = 0; i < a; i++) {          /* w[i][c] = (M A)[i][c] */
        rows(m, a * i, 1, a, ldx, in);
        rows(w, 2 * i, 1, 2, n, out);
        at_rows(a, in, out, 0.0f, n);
    }
    for (int c = 0; c < 2; c++) {          /* yt[r][c] = (A^T w)[r][c] + bias */
        rows(w, c, 2, a, n, in);
        rows(yt, c, 2, 2, ldy, out);
        at_rows(a, in, out, bias, n);
    }
}

/* the adjoint: dm[ξ ldx + t] = (A dY A^T)[ξ], from gy[(2 a' + b') L + t] = dY[a'][b'] */
static void output_adjoint(int a, float *gy, int64_t ldg, int64_t n, float *w, float *dm, int64_t ldx)
{
    float *in[AMAX], *out[AMAX];
    for (int r = 0; r < 2; r++) {          /* w[r][j] = (dY A^T)[r][j] */
        rows(gy, 2 * r, 1, 2, ldg, in);
        rows(w, a * r, 1, a, n, out);
        am_rows(a, in, out, n);
    }
    for (int j = 0; j < a; j++) {          /* dm[i][j] = (A w)[i][j] */
        rows(w, j, a, 2, n, in);
        rows(dm, j, a, a, ldx, out);
        am_rows(a, in, out, n);
    }
}

#define FILTER_BLOCK 64   /* filters transformed together, vectorised across the block */

/* out[i][j][k] = sum_{q,l} M[i][q] in[q][l][k] M[j][l] for the nk filters k of a
   block, with M = G (a x r; in r x r) or, transposed, M = G^T (r x a; in a x a) */
static void sandwich(const float *G, int a, int r, bool transposed, float (*in)[FILTER_BLOCK],
                     float (*out)[FILTER_BLOCK], int64_t nk)
{
    const int m = transposed ? r : a, k = transposed ? a : r;
    float t[AMAX * AMAX][FILTER_BLOCK];
    for (int i = 0; i < m; i++)
        for (int l = 0; l < k; l++) {
            float *dst = t[i * k + l];
            for (int64_t f = 0; f < nk; f++) dst[f] = 0;
            for (int q = 0; q < k; q++) {
                float c = transposed ? G[q * r + i] : G[i * r + q];
                const float *src = in[q * k + l];
                if (c != 0)
                    for (int64_t f = 0; f < nk; f++) dst[f] += c * src[f];
            }
        }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            float *dst = out[i * m + j];
            for (int64_t f = 0; f < nk; f++) dst[f] = 0;
            for (int l = 0; l < k; l++) {
                float c = transposed ? G[l * r + j] : G[j * r + l];
                const float *src = t[i * k + l];
                if (c != 0)
                    for (int64_t f = 0; f < nk; f++) dst[f] += c * src[f];
            }
        }
}

/* G for tile side a */
static const float *g_matrix(int a) { return a == 4 ? G4 : a == 5 ? G5 : G6; }

/* The filter transform U[ξ][k] = (G g_k G^T)[ξ] for the ld = OC C filters g_k of
   w [OC, C, r, r] (adjoint false: src = w, dst = U), or its adjoint
   dw_k = G^T dU[.][k] G (adjoint true: src = dU, dst = dw). */
DOB_NO_LIBCALLS static void filters(int r, bool adjoint, const float *src, int64_t ld, float *dst)
{
    const int a = r + 1, A2 = a * a, R2 = r * r;
    float in[AMAX * AMAX][FILTER_BLOCK], out[AMAX * AMAX][FILTER_BLOCK];
    for (int64_t k0 = 0; k0 < ld; k0 += FILTER_BLOCK) {
        int64_t nk = ld - k0 < FILTER_BLOCK ? ld - k0 : FILTER_BLOCK;
        if (adjoint) {
            for (int x = 0; x < A2; x++)
                for (int64_t k = 0; k < nk; k++) in[x][k] = src[x * ld + k0 + k];
            sandwich(g_matrix(a), a, r, true, in, out, nk);
            for (int64_t k = 0; k < nk; k++)
                for (int x = 0; x < R2; x++) dst[(k0 + k) * R2 + x] = out[x][k];
        } else {
            for (int64_t k = 0; k < nk; k++)
                for (int x = 0; x < R2; x++) in[x][k] = src[(k0 + k) * R2 + x];
            sandwich(g_matrix(a), a, r, false, in, out, nk);
            for (int x = 0; x < A2; x++)
                for (int64_t k = 0; k < nk; k++) dst[x * ld + k0 + k] = out[x][k];
        }
    }
}

/* per-thread scratch: V and M of a chunk, w = a^2 rows of n, a split plane, and (narrow planes)
   the a rows y of narrow_input and narrow_dx */
typedef struct {
    float *v, *m, *w, *pe, *po, *y, *du;
} scratch;

/* The tile rows th0 .. th1 - 1 of one sample (ld apart, at dst/src) from and to its planes; the
   narrow planes' functions take whole samples. */

/* the a^2 input rows, from the x plane (wide and tiny planes) */
static void load_x(const wgeom *g, const scratch *s, const float *plane, int64_t th0, int64_t th1, float *dst,
                   int64_t ld)
{
    const int a = g->a;
    if (g->in_idx) {
        for (int x = 0; x < a * a; x++) gather(plane, g->in_idx + x * g->TPS, g->TPS, dst + x * ld);
        return;
    }
    split(plane, g->H, g->W, g->pt - 2 * th0, g->pl, 2 * (th1 - th0) + a - 2, g->PW, s->pe, s->po);
    for (int64_t th = th0; th < th1; th++)
        gather_tiles(g, a, s->pe, s->po, 2 * (th - th0), dst + (th - th0) * g->TW, ld);
}

/* the y plane from the 4 output rows (y_idx counts rows ld apart) */
static void store_y(const wgeom *g, const float *src, int64_t ld, int64_t th0, int64_t th1, float *plane)
{
    if (g->y_idx) {
        gather(src, g->y_idx, g->OH * g->OW, plane);
        return;
    }
    const int64_t end = 2 * th1 < g->OH ? 2 * th1 : g->OH;
    for (int64_t oh = 2 * th0; oh < end; oh++) {
        const float *yt = src + (oh & 1) * 2 * ld + ((oh >> 1) - th0) * g->TW;
        merge(yt, yt + ld, 0, g->OW, false, plane + oh * g->OW);
    }
}

/* the 4 output-gradient rows, from the dY plane */
DOB_NO_LIBCALLS static void load_dy(const wgeom *g, const scratch *s, const float *plane, int64_t th0, int64_t th1,
                                    float *dst, int64_t ld)
{
    if (g->dy_idx) {
        for (int r = 0; r < 4; r++) gather(plane, g->dy_idx + r * g->TPS, g->TPS, dst + r * ld);
        return;
    }
    split(plane, g->OH, g->OW, -2 * th0, 0, 2 * (th1 - th0), g->PW, s->pe, s->po);
    for (int64_t oh = 0; oh < 2 * (th1 - th0); oh++) {   /* dY row 2 th0 + oh is row oh % 2 of tile row oh / 2 */
        float *gy = dst + (oh & 1) * 2 * ld + (oh >> 1) * g->TW;
        const float *e = s->pe + oh * g->PW, *o = s->po + oh * g->PW;
        for (int64_t tw = 0; tw < g->TW; tw++) {
            gy[tw] = e[tw];
            gy[ld + tw] = o[tw];
        }
    }
}

/* the dx plane: the a^2 rows summed where tiles overlap (wide and tiny planes; dx_idx counts
   rows ld apart). Tile rows from th0 > 0 overlap the previous chunk's in their first a - 2
   rows, which are added to what that chunk wrote (a sample's chunks run in order, on one
   thread). */
static void store_dx(const wgeom *g, const scratch *s, const float *src, int64_t ld, int64_t th0, int64_t th1,
                     float *plane)
{
    if (g->dx_idx) {
        const int64_t HW = g->H * g->W;
        gather(src, g->dx_idx, HW, plane);
        for (int k = 1; k < g->K; k++) gather_add(src, g->dx_idx + k * HW, HW, plane);
        return;
    }
    const int64_t rows = 2 * (th1 - th0) + g->a - 2;   /* padded rows 2 th0 .. 2 th0 + rows - 1 */
    memset(s->pe, 0, sizeof(float) * (size_t)(rows * g->PW));
    memset(s->po, 0, sizeof(float) * (size_t)(rows * g->PW));
    for (int64_t th = th0; th < th1; th++)
        scatter_tiles(g, g->a, src + (th - th0) * g->TW, ld, 2 * (th - th0), s->pe, s->po);
    for (int64_t r = 0; r < rows; r++) {
        const int64_t ih = 2 * th0 + r - g->pt;
        if (ih >= 0 && ih < g->H)
            merge(s->pe + r * g->PW, s->po + r * g->PW, g->pl, g->W, th0 > 0 && r < g->a - 2, plane + ih * g->W);
    }
}

/* Narrow planes: a tile row is TW < WIDE_TW floats, too short to copy, so V = B^T d B is made
   straight from the split plane, separably and in input_transform's order: first along the
   width, one padded row R at a time, into y_j = (d B)[R][j] for every tile column (rows TW
   apart, even rows before odd ones); then along the height over all of the sample's tiles at
   once, since tile row th's input rows 2 th + k are row th + k/2 of y's even (k even) or odd
   block. The row pass runs LANES wide: lanes from TW on are the next row's, which is written
   later (or scratch), so every loop is a full vector. narrow_dx applies the adjoints in reverse
   order and adds the tiles' overlaps on the way. */
#define LANES 8
_Static_assert(WIDE_TW <= LANES + 1, "a narrow tile row must fit in LANES");

/* scratch floats of a split plane (with room for the spare lanes) and of y */
static int64_t split_floats(const wgeom *g) { return g->PR * g->PW + LANES + AMAX; }
static int64_t y_stride(const wgeom *g) { return g->PR * g->TW + LANES; }

/* y_j = (d B)[R][j] for every padded row R of a split plane, LANES tile columns a row (a is a
   constant where this is inlined, so each row is a few full-vector operations) */
INLINE void width_pass(int a, const wgeom *g, const scratch *s)
{
    const int64_t TW = g->TW, PW = g->PW, half = g->PR / 2, ldy = y_stride(g);
    float *in[AMAX], *out[AMAX];
    for (int parity = 0; parity < 2; parity++)
        for (int64_t h = 0; h < half; h++) {
            const int64_t R = 2 * h + parity;
            for (int l = 0; l < a; l++) in[l] = ((l & 1) ? s->po : s->pe) + R * PW + l / 2;
            rows(s->y + (parity * half + h) * TW, 0, 1, a, ldy, out);
            bt_rows(a, in, out, LANES);
        }
}

/* the adjoint of width_pass: the split plane (zeroed first) from the y_j */
INLINE void width_adjoint(int a, const wgeom *g, const scratch *s)
{
    const int64_t TW = g->TW, PW = g->PW, half = g->PR / 2, ldy = y_stride(g);
    float *in[AMAX], *out[AMAX], t[AMAX][LANES];
    const size_t plane_bytes = sizeof(float) * (size_t)split_floats(g);
    memset(s->pe, 0, plane_bytes);
    memset(s->po, 0, plane_bytes);
    for (int l = 0; l < a; l++) out[l] = t[l];
    for (int parity = 0; parity < 2; parity++)
        for (int64_t h = 0; h < half; h++) {
            const int64_t R = 2 * h + parity;
            rows(s->y + (parity * half + h) * TW, 0, 1, a, ldy, in);
            b_rows(a, in, out, LANES);
            for (int l = 0; l < a; l++) {
                float *restrict dst = ((l & 1) ? s->po : s->pe) + R * PW + l / 2;
                for (int lane = 0; lane < LANES; lane++) dst[lane] += lane < TW ? t[l][lane] : 0.0f;
            }
        }
}

/* the a^2 V rows (ld apart) of one sample's tiles, from its x plane */
static void narrow_input(const wgeom *g, const scratch *s, const float *plane, float *dst, int64_t ld)
{
    const int a = g->a;
    const int64_t TW = g->TW, half = g->PR / 2, ldy = y_stride(g);
    float *in[AMAX], *out[AMAX];
    split(plane, g->H, g->W, g->pt, g->pl, g->PR, g->PW, s->pe, s->po);
    if (a == 4) width_pass(4, g, s);
    else width_pass(6, g, s);
    for (int j = 0; j < a; j++) {
        for (int k = 0; k < a; k++) in[k] = s->y + j * ldy + ((k & 1) * half + k / 2) * TW;
        rows(dst, j, a, a, ld, out);
        bt_rows(a, in, out, g->TPS);
    }
}

/* the dx plane of one sample from the a^2 dV rows (ld apart) of its tiles: the adjoint of
   narrow_input */
DOB_NO_LIBCALLS static void narrow_dx(const wgeom *g, const scratch *s, const float *src, int64_t ld, float *plane)
{
    const int a = g->a;
    const int64_t TW = g->TW, PW = g->PW, half = g->PR / 2, ldy = y_stride(g), TPS = g->TPS;
    float *in[AMAX], *out[AMAX];
    memset(s->y, 0, sizeof(float) * (size_t)(a * ldy));
    for (int j = 0; j < a; j++) {   /* along the height: w_k = (B dV)[k][j], added at y_j's rows th + k/2 */
        rows((float *)src, j, a, a, ld, in);
        rows(s->w, 0, 1, a, TPS, out);
        b_rows(a, in, out, TPS);
        for (int k = 0; k < a; k++) {
            float *restrict dst = s->y + j * ldy + ((k & 1) * half + k / 2) * TW;
            const float *restrict w = s->w + k * TPS;
            for (int64_t t = 0; t < TPS; t++) dst[t] += w[t];
        }
    }
    if (a == 4) width_adjoint(4, g, s);
    else width_adjoint(6, g, s);
    for (int64_t R = 0; R < g->PR; R++) {
        const int64_t ih = R - g->pt;
        if (ih >= 0 && ih < g->H) merge(s->pe + R * PW, s->po + R * PW, g->pl, g->W, false, plane + ih * g->W);
    }
}

/* One chunk. Tile rows are gathered straight into V and M (channel c's rows at
   c L, ld C L or OC L) and transformed there in place, so planes are read and
   written in memory order (samples outer, channels inner). */
static void run_chunk(const wgeom *g, const dob_conv_pass *p, const float *u, int64_t n0, int64_t nb,
                      int64_t th0, int64_t th1, const scratch *s, bool first)
{
    const int a = g->a, A2 = a * a;
    const int64_t TPS = (th1 - th0) * g->TW;            /* tiles of one sample in this chunk */
    const int64_t C = g->C, OC = g->OC, n = nb * TPS, L = g->L, ldv = C * L, ldm = OC * L;
    const int64_t HW = g->H * g->W, OHW = g->OH * g->OW;
    if (p->x && (p->y || p->dw)) {
        for (int64_t i = 0; i < nb; i++)
            for (int64_t c = 0; c < C; c++) {
                const float *x = p->x + ((n0 + i) * C + c) * HW;
                if (g->narrow) narrow_input(g, s, x, s->v + c * L + i * TPS, ldv);
                else load_x(g, s, x, th0, th1, s->v + c * L + i * TPS, ldv);
            }
        if (!g->narrow)
            for (int64_t c = 0; c < C; c++) input_transform(a, s->v + c * L, ldv, n, s->w, s->v + c * L, ldv);
    }
    if (p->y) {
        for (int x = 0; x < A2; x++)
            dob__gemm_nopack(false, OC, n, C, u + x * OC * C, C, s->v + x * ldv, L, s->m + x * ldm, L);
        for (int64_t oc = 0; oc < OC; oc++) {
            output_transform(a, s->m + oc * L, ldm, n, p->bias ? p->bias[oc] : 0.0f, s->w, s->m + oc * L, ldm);
            if (p->act == DOB_ACT_RELU)   /* the 4 output rows of channel oc, still in cache */
                for (int r = 0; r < 4; r++) dob__relu_row(s->m + oc * L + r * ldm, n);
        }
        for (int64_t i = 0; i < nb; i++)
            for (int64_t oc = 0; oc < OC; oc++)
                store_y(g, s->m + oc * L + i * TPS, ldm, th0, th1, p->y + ((n0 + i) * OC + oc) * OHW);
    }
    if (!p->dy || !(p->dw || p->dx)) return;
    for (int64_t i = 0; i < nb; i++)
        for (int64_t oc = 0; oc < OC; oc++)
            load_dy(g, s, p->dy + ((n0 + i) * OC + oc) * OHW, th0, th1, s->m + oc * L + i * TPS, ldm);
    for (int64_t oc = 0; oc < OC; oc++) output_adjoint(a, s->m + oc * L, ldm, n, s->w, s->m + oc * L, ldm);
    if (p->dw)
        for (int x = 0; x < A2; x++)
            dob__gemm(false, true, OC, C, n, 1.0f, s->m + x * ldm, L, s->v + x * ldv, L, first ? 0.0f : 1.0f,
                      s->du + x * OC * C, C);
    if (p->dx) {
        for (int x = 0; x < A2; x++)
            dob__gemm_nopack(true, C, n, OC, u + x * OC * C, C, s->m + x * ldm, L, s->v + x * ldv, L);
        if (!g->narrow)
            for (int64_t c = 0; c < C; c++) input_adjoint(a, s->v + c * L, ldv, n, s->w, s->v + c * L, ldv);
        for (int64_t i = 0; i < nb; i++)
            for (int64_t c = 0; c < C; c++) {
                float *dx = p->dx + ((n0 + i) * C + c) * HW;
                if (g->narrow) narrow_dx(g, s, s->v + c * L + i * TPS, ldv, dx);
                else store_dx(g, s, s->v + c * L + i * TPS, ldv, th0, th1, dx);
            }
    }
}

/* The chunks of sample groups [g0, g1) (nb samples a group), in order: a thread's share. */
static void run_groups(const wgeom *g, const dob_conv_pass *p, const float *u, int64_t nb, int64_t g0, int64_t g1,
                       const scratch *s)
{
    for (int64_t k = g0; k < g1; k++) {
        const int64_t n0 = k * nb, cnt = g->N - n0 < nb ? g->N - n0 : nb;
        for (int64_t b = 0; b < g->bands; b++) {
            const int64_t th0 = b * g->band, th1 = th0 + g->band < g->TH ? th0 + g->band : g->TH;
            run_chunk(g, p, u, n0, cnt, th0, th1, s, k == g0 && b == 0);
        }
    }
}

/* fills the index maps of g (see wgeom) */
static void build_maps(wgeom *g)
{
    const int64_t TW = g->TW, TPS = g->TPS, L = g->L, OH = g->OH, OW = g->OW;
    for (int64_t t = 0; t < TPS; t++)
        for (int r = 0; r < 4; r++) {
            int64_t oh = 2 * (t / TW) + r / 2, ow = 2 * (t % TW) + r % 2;
            g->dy_idx[r * TPS + t] = oh < OH && ow < OW ? (int32_t)(oh * OW + ow) : -1;
        }
    for (int64_t q = 0; q < OH * OW; q++) {
        int64_t oh = q / OW, ow = q % OW;
        g->y_idx[q] = (int32_t)((2 * (oh & 1) + (ow & 1)) * g->OC * L + (oh >> 1) * TW + (ow >> 1));
    }
    if (!g->in_idx) return;
    const int a = g->a;
    const int64_t H = g->H, W = g->W;
    for (int64_t t = 0; t < TPS; t++)
        for (int i = 0; i < a; i++)
            for (int j = 0; j < a; j++) {
                int64_t ih = 2 * (t / TW) + i - g->pt, iw = 2 * (t % TW) + j - g->pl;
                g->in_idx[(a * i + j) * TPS + t] = ih >= 0 && ih < H && iw >= 0 && iw < W ? (int32_t)(ih * W + iw) : -1;
            }
    for (int64_t q = 0; q < H * W; q++) {
        int64_t R = q / W + g->pt, Cc = q % W + g->pl;   /* in padded coordinates */
        int k = 0;
        for (int64_t th = 0; th < g->TH; th++)
            for (int64_t tw = 0; tw < TW; tw++) {
                int64_t i = R - 2 * th, j = Cc - 2 * tw;
                if (i >= 0 && i < a && j >= 0 && j < a)
                    g->dx_idx[k++ * H * W + q] = (int32_t)((a * i + j) * g->C * L + th * TW + tw);
            }
        for (; k < g->K; k++) g->dx_idx[k * H * W + q] = -1;
    }
}

int dob__winograd_pass(const dob_conv_pass *p)
{
    wgeom g = {.N = p->N, .C = p->C, .H = p->H, .W = p->W, .OC = p->OC, .OH = p->OH, .OW = p->OW,
               .pt = p->pt, .pl = p->pl, .r = (int)p->KH};
    g.a = g.r + 1;
    const int64_t A2 = g.a * g.a;
    g.TH = (g.OH + 1) / 2;
    g.TW = (g.OW + 1) / 2;
    g.TPS = g.TH * g.TW;
    g.PW = g.TW + (g.a - 1) / 2;
    g.K = ((g.a + 1) / 2) * ((g.a + 1) / 2);
    const int64_t N = g.N, C = g.C, OC = g.OC, CM = C > OC ? C : OC;
    /* a chunk: nb whole samples, or, for wide planes of more than TILES_TARGET tiles, a band of
       tile rows of one sample, so V and M stay in cache whatever the image size */
    int64_t nb = TILES_TARGET / g.TPS, cap = CHUNK_BYTES / (A2 * 4 * CM * g.TPS);
    if (nb > cap) nb = cap;
    if (nb < 1) nb = 1;
    if (nb > N) nb = N;
    /* index maps hold offsets into V and M as int32 */
    const bool wide = g.TW >= WIDE_TW || (double)A2 * CM * (nb * g.TPS + 15) >= 2147483647.0;
    g.band = g.TH;
    g.bands = 1;
    if (wide && g.TPS > TILES_TARGET) {
        int64_t band = TILES_TARGET / g.TW, band_cap = CHUNK_BYTES / (A2 * 4 * CM * g.TW);
        if (band > band_cap) band = band_cap;
        if (band < 1) band = 1;
        g.bands = (g.TH + band - 1) / band;
        g.band = (g.TH + g.bands - 1) / g.bands;         /* even bands */
        nb = 1;
    }
    g.PR = 2 * g.band + g.a - 2;
    g.narrow = !wide && g.TW >= NARROW_TW && g.a % 2 == 0;   /* its row blocks pair up rows */
    const bool tiny = !wide && !g.narrow;
    int64_t groups = (N + nb - 1) / nb;                  /* chunks of whole samples, or samples */
    nb = (N + groups - 1) / groups;                      /* even chunks */
    int T = dob__threads();
    if (T > MAX_THREADS) T = MAX_THREADS;
    if (T > groups) T = (int)groups;
    if (2.0 * A2 * OC * C * g.TPS * N < PAR_FLOPS) T = 1;

    const int64_t tiles = (nb * g.band * g.TW + 15) & ~(int64_t)15;
    g.L = tiles;
    const size_t v_bytes = sizeof(float) * (size_t)(A2 * C * tiles), m_bytes = sizeof(float) * (size_t)(A2 * OC * tiles);
    const size_t w_bytes = sizeof(float) * (size_t)(A2 * tiles);
    const size_t map_bytes = wide ? 0 : sizeof(int32_t) * (size_t)(4 * g.TPS + g.OH * g.OW +
                                                        (tiny ? A2 * g.TPS + g.K * g.H * g.W : 0));
    const size_t plane_bytes = sizeof(float) * (size_t)split_floats(&g);
    const size_t y_bytes = g.narrow ? sizeof(float) * (size_t)(g.a * y_stride(&g)) : 0;
    const size_t u_bytes = sizeof(float) * (size_t)(A2 * OC * C), du_bytes = p->dw ? u_bytes : 0;
    float *u = (p->y || p->dx) ? dob__alloc(u_bytes) : NULL;
    scratch s[MAX_THREADS] = {{0}};
    int rc = -1;
    int32_t *maps = wide ? NULL : dob__alloc(map_bytes);
    if (((p->y || p->dx) && !u) || (!wide && !maps)) goto done;
    if (maps) {
        g.dy_idx = maps;
        g.y_idx = g.dy_idx + 4 * g.TPS;
        if (tiny) {
            g.in_idx = g.y_idx + g.OH * g.OW;
            g.dx_idx = g.in_idx + A2 * g.TPS;
        }
        build_maps(&g);
    }
    for (int t = 0; t < T; t++) {
        s[t].v = dob__alloc(v_bytes);
        s[t].m = dob__alloc(m_bytes);
        s[t].w = dob__alloc(w_bytes);
        s[t].pe = dob__alloc(plane_bytes);
        s[t].po = dob__alloc(plane_bytes);
        s[t].y = y_bytes ? dob__alloc(y_bytes) : NULL;
        s[t].du = du_bytes ? dob__alloc(du_bytes) : NULL;
        if (!s[t].v || !s[t].m || !s[t].w || !s[t].pe || !s[t].po || (y_bytes && !s[t].y) ||
            (du_bytes && !s[t].du)) goto done;
        /* the spare lanes past a split plane's or y's last row are read, never used: zeros */
        memset(s[t].pe, 0, plane_bytes);
        memset(s[t].po, 0, plane_bytes);
        if (y_bytes) memset(s[t].y, 0, y_bytes);
    }
    if (u) filters(g.r, false, p->w, OC * C, u);
    if (T == 1) {
        run_groups(&g, p, u, nb, 0, groups, &s[0]);
    } else {
#pragma omp parallel num_threads(T)
        {
            int t = omp_get_thread_num();
            run_groups(&g, p, u, nb, groups * t / T, groups * (t + 1) / T, &s[t]);
        }
        for (int t = 1; t < T && p->dw; t++)
            for (int64_t i = 0; i < A2 * OC * C; i++) s[0].du[i] += s[t].du[i];
    }
    if (p->dw) filters(g.r, true, s[0].du, OC * C, p->dw);
    rc = 0;
done:
    for (int t = 0; t < T; t++) {
        dob__free(s[t].v, v_bytes);
        dob__free(s[t].m, m_bytes);
        dob__free(s[t].w, w_bytes);
        dob__free(s[t].pe, plane_bytes);
        dob__free(s[t].po, plane_bytes);
        dob__free(s[t].y, y_bytes);
        dob__free(s[t].du, du_bytes);
    }
    dob__free(u, u_bytes);
    dob__free(maps, map_bytes);
    return rc;
}
