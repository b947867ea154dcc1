/* winograd1d.c — 1 x r and r x 1 stride-1 conv2d by Winograd's minimal filtering
 * F(m, r) along the kernel's long side (Inception-v3's 1x7, 7x1, 1x3 and 3x1).
 *
 * conv.c hands every pass of such a conv2d with enough channels here. Each tile
 * of m outputs along the row (1 x r) or column (r x 1) is computed from the
 * a = m + r - 1 inputs d under it (zero outside the image):
 *   y = A^T [U ⊙ V],   U = G g (per oc, c),   V = B^T d (per c, tile)
 * and the sum over c becomes, for each of the a points ξ, one GEMM over all
 * tiles T of a chunk of samples:
 *   M[ξ] (OC x T) = U[ξ] (OC x C) V[ξ] (C x T)
 * a multiplies per tile and channel pair instead of m r: 1x7 with m = 4 does
 * 10 instead of 28 (2.8x less GEMM work), 1x3 with m = 4 does 6 instead of 12.
 * Backward applies the adjoints of the same linear maps, so the gradients are
 * exact for the function the forward computed:
 *   dM = A dy;  dU[ξ] = sum over tiles dM[ξ] V[ξ]^T;  dg = G^T dU;
 *   dV[ξ] = U[ξ]^T dM[ξ];  dd = B dV, summed into dx where tiles overlap.
 *
 * The matrices are Toom-Cook's for the points p_0 .. p_{a-2} and infinity
 * (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
 *   A^T[i][j] = p_j^i,  G[j][k] = p_j^k / f_j,  f_j = prod_{l != j} (p_j - p_l),
 *   row j of B^T = the coefficients of prod_{l != j} (x - p_l),
 * and for the point at infinity A^T[m-1][a-1] = G[a-1][r-1] = 1, B^T's last row
 * the coefficients of prod_l (x - p_l). The points are 0, 1, -1, 2, -2, 1/2,
 * -1/2, 3/4, -3/4, as many as a tile needs; B^T is exact in float. The price
 * of F(4, 7)'s 2.8x is accuracy, as with cuDNN's and oneDNN's larger Winograd
 * tiles: on Inception's 128- and 192-channel layers its float32 result is
 * within 7e-6 of the largest output (against sums in double precision), where
 * winograd.c's F(2x2, 5x5) is within 3e-6 and im2col + sgemm 2-5e-7. F(2, 7)
 * keeps im2col's accuracy but measured 1.3x slower, and 3/4 in place of 3/2
 * for the last pair halved the 192-channel error. Measured (1 thread, batch
 * 32, ms forward + backward, 1x7 128->128 on 17x17): im2col + sgemm 34,
 * F(2, 7) 29, F(4, 7) 23.
 *
 * Layout: a plane is handled as lines along the kernel's axis, Q[u][o] at
 * position u along it and o across (the zero-padded plane itself for r x 1, its
 * transpose for 1 x r), so a tile row of the chunk is contiguous runs of Q's
 * rows: element j of the tiles at step s along the axis is Q's row m s + j.
 * Element j of tile t of channel c sits at V[j][c][t], the tiles of a chunk of
 * samples side by side, and every transform runs over all of them at once.
 * Chunks of samples are split across threads with their own scratch and
 * single-threaded GEMMs (dob__gemm_nopack for the products with U), partial dU
 * summed in thread order: the same thread count gives the same bits.
 */
#include "ops/ops.h"
#include <omp.h>

#define TILE_OUTPUTS 4                   /* m: F(4, r) for every r (the header says why) */
#define AMAX 10                          /* longest tile, TILE_OUTPUTS + RMAX - 1 */
#define RMAX 7                           /* longest kernel */
#define TILES_TARGET 512                 /* tiles of one chunk */
#define CHUNK_BYTES ((int64_t)8 << 20)   /* cap on a chunk's V or M buffer */
#define MAX_THREADS 64
#define PAR_FLOPS 16e6                   /* below this much GEMM work: one thread */
#define BLOCK 32                         /* tiles a transform keeps in registers */

/* The finite interpolation points, in the order tiles take them. */
static const double POINTS[AMAX - 1] = {0, 1, -1, 2, -2, 0.5, -0.5, 0.75, -0.75};

typedef struct {
    int64_t N, C, H, W, OC, OH, OW, pt, pl;
    int r, m, a;                         /* kernel taps, outputs per tile, tile length m + r - 1 */
    bool vertical;                       /* an r x 1 kernel: the lines are the plane's columns */
    int64_t steps, across;               /* tiles along a line, lines (output positions across) */
    int64_t QR;                          /* rows of a line plane: steps m + r - 1 */
    int64_t TPS;                         /* tiles per sample, steps x across; tile s across + o */
    int64_t L;                           /* row length of a chunk's tiles (rounded up to BLOCK) */
    float AT[AMAX * AMAX], G[AMAX * RMAX], BT[AMAX * AMAX];   /* m x a, a x r, a x a, row-major */
} geom1d;

bool dob__winograd1d_applies(int64_t C, int64_t OC, int64_t KH, int64_t KW, int64_t sh, int64_t sw)
{
    const int64_t r = KH == 1 ? KW : KH;
    return (KH == 1) != (KW == 1) && r >= 3 && r <= RMAX && sh == 1 && sw == 1 && C >= 8 && OC >= 8;
}

/* the Toom-Cook matrices of F(m, r) (see the top of this file) */
static void build_matrices(geom1d *g)
{
    const int m = g->m, r = g->r, a = g->a;
    memset(g->AT, 0, sizeof g->AT);
    memset(g->G, 0, sizeof g->G);
    memset(g->BT, 0, sizeof g->BT);
    for (int j = 0; j < a; j++) {
        double poly[AMAX] = {1}, f = 1;  /* prod over l != j of (x - p_l); all l for the point at infinity */
        int deg = 0;
        for (int l = 0; l < a - 1; l++) {
            if (l == j) continue;
            if (j < a - 1) f *= POINTS[j] - POINTS[l];
            deg++;
            for (int t = deg; t > 0; t--) poly[t] = poly[t - 1] - POINTS[l] * poly[t];
            poly[0] *= -POINTS[l];
        }
        for (int n = 0; n <= deg; n++) g->BT[j * a + n] = (float)poly[n];
        if (j == a - 1) continue;
        double pw = 1;
        for (int i = 0; i < m || i < r; i++, pw *= POINTS[j]) {
            if (i < m) g->AT[i * a + j] = (float)pw;
            if (i < r) g->G[j * r + i] = (float)(pw / f);
        }
    }
    g->AT[(m - 1) * a + a - 1] = 1;
    g->G[(a - 1) * r + r - 1] = 1;
}

/* out_i[t] = bias + sum_k M[i][k] in_k[t] for t < n, with M nout x nin (row-major; transposed:
   M is given as its nin x nout transpose). Rows of BLOCK tiles are summed in registers. */
static void transform(const float *M, int nout, int nin, bool transposed, const float *in, int64_t ldi, float *out,
                      int64_t ldo, float bias, int64_t n)
{
    for (int64_t t0 = 0; t0 < n; t0 += BLOCK)
        for (int i = 0; i < nout; i++) {
            float acc[BLOCK];
            for (int t = 0; t < BLOCK; t++) acc[t] = bias;
            for (int k = 0; k < nin; k++) {
                const float c = transposed ? M[k * nout + i] : M[i * nin + k];
                if (c == 0) continue;
                const float *restrict src = in + k * ldi + t0;
#pragma omp simd
                for (int t = 0; t < BLOCK; t++) acc[t] += c * src[t];
            }
            float *restrict dst = out + i * ldo + t0;
            for (int t = 0; t < BLOCK; t++) dst[t] = acc[t];
        }
}

#define FILTER_BLOCK 64   /* filters transformed together, vectorised across the block */

/* The filter transform U[ξ][k] = (G g_k)[ξ] for the ld = OC C filters g_k of w (adjoint false:
   src = w, dst = U), or its adjoint dw_k = G^T dU[.][k] (adjoint true: src = dU, dst = dw). */
static void filters(const geom1d *g, bool adjoint, const float *src, int64_t ld, float *dst)
{
    const int a = g->a, r = g->r;
    float in[AMAX][FILTER_BLOCK], out[AMAX][FILTER_BLOCK];
    for (int64_t k0 = 0; k0 < ld; k0 += FILTER_BLOCK) {
        const int64_t nk = ld - k0 < FILTER_BLOCK ? ld - k0 : FILTER_BLOCK;
        if (adjoint) {
            for (int x = 0; x < a; x++)
                for (int64_t k = 0; k < nk; k++) in[x][k] = src[x * ld + k0 + k];
            transform(g->G, r, a, true, in[0], FILTER_BLOCK, out[0], FILTER_BLOCK, 0.0f, nk);
            for (int64_t k = 0; k < nk; k++)
                for (int q = 0; q < r; q++) dst[(k0 + k) * r + q] = out[q][k];
        } else {
            for (int64_t k = 0; k < nk; k++)
                for (int q = 0; q < r; q++) in[q][k] = src[(k0 + k) * r + q];
            transform(g->G, a, r, false, in[0], FILTER_BLOCK, out[0], FILTER_BLOCK, 0.0f, nk);
            for (int x = 0; x < a; x++)
                for (int64_t k = 0; k < nk; k++) dst[x * ld + k0 + k] = out[x][k];
        }
    }
}

/* per-thread scratch: V and M of a chunk, w = AMAX rows of L, a line plane, the partial dU */
typedef struct {
    float *v, *m, *w, *q, *du;
} scratch;

/* A plane of len x wid (rows x columns; dx and x: H x W, y and dy: OH x OW) seen as lines: along
   the axis, position u, pad before it along and o, pad across; stride along/across in the plane. */
typedef struct {
    int64_t along, across, pad_along, pad_across, stride_along, stride_across;
} lines;

static lines as_lines(const geom1d *g, int64_t rows, int64_t cols, int64_t pt, int64_t pl)
{
    return g->vertical ? (lines){rows, cols, pt, pl, cols, 1} : (lines){cols, rows, pl, pt, 1, cols};
}

/* q[u][o] = the plane at (u - pad_along, o - pad_across) along and across, 0 outside it, for
   u < g->QR, o < g->across */
DOB_NO_LIBCALLS static void load_lines(const geom1d *g, lines l, const float *restrict plane, float *restrict q)
{
    const int64_t A = g->across, o0 = l.pad_across < A ? l.pad_across : A;
    const int64_t o1 = l.pad_across + l.across < A ? l.pad_across + l.across : A, sc = l.stride_across;
    for (int64_t u = 0; u < g->QR; u++) {
        float *restrict row = q + u * A;
        const int64_t pu = u - l.pad_along;
        if (pu < 0 || pu >= l.along) {
            for (int64_t o = 0; o < A; o++) row[o] = 0;
            continue;
        }
        const float *restrict src = plane + pu * l.stride_along - l.pad_across * sc;
        for (int64_t o = 0; o < o0; o++) row[o] = 0;
        if (sc == 1)
            for (int64_t o = o0; o < o1; o++) row[o] = src[o];
        else
            for (int64_t o = o0; o < o1; o++) row[o] = src[o * sc];
        for (int64_t o = o1; o < A; o++) row[o] = 0;
    }
}

/* the plane = q where it lies over it (the reverse of load_lines) */
static void store_lines(const geom1d *g, lines l, const float *restrict q, float *restrict plane)
{
    for (int64_t pu = 0; pu < l.along; pu++) {
        const float *restrict row = q + (pu + l.pad_along) * g->across + l.pad_across;
        for (int64_t po = 0; po < l.across; po++) plane[pu * l.stride_along + po * l.stride_across] = row[po];
    }
}

/* dst[j L + s across + o] = q[m s + j][o] for j < cnt: cnt tile rows of one sample */
DOB_NO_LIBCALLS static void lines_to_tiles(const geom1d *g, int cnt, const float *restrict q, float *restrict dst)
{
    const int64_t A = g->across;
    for (int j = 0; j < cnt; j++)
        for (int64_t s = 0; s < g->steps; s++) {
            const float *restrict src = q + (g->m * s + j) * A;
            float *restrict out = dst + j * g->L + s * A;
            for (int64_t o = 0; o < A; o++) out[o] = src[o];
        }
}

/* q[m s + j][o] (+)= src[j L + s across + o] for j < cnt; add: summed where tiles overlap */
DOB_NO_LIBCALLS static void tiles_to_lines(const geom1d *g, int cnt, bool add, const float *restrict src,
                                           float *restrict q)
{
    const int64_t A = g->across;
    for (int j = 0; j < cnt; j++)
        for (int64_t s = 0; s < g->steps; s++) {
            const float *restrict in = src + j * g->L + s * A;
            float *restrict row = q + (g->m * s + j) * A;
            if (add)
                for (int64_t o = 0; o < A; o++) row[o] += in[o];
            else
                for (int64_t o = 0; o < A; o++) row[o] = in[o];
        }
}

/* One chunk of nb samples from n0: planes come in as line planes, their tile rows go to w, and
   are transformed from there into V and M (and back), channel by channel over all tiles. */
static void run_chunk(const geom1d *g, const dob_conv_pass *p, const float *u, int64_t n0, int64_t nb,
                      const scratch *s, bool first)
{
    const int a = g->a, m = g->m;
    const int64_t C = g->C, OC = g->OC, n = nb * g->TPS, L = g->L, TPS = g->TPS, ldv = C * L, ldm = OC * L;
    const int64_t HW = g->H * g->W, OHW = g->OH * g->OW;
    const lines in = as_lines(g, g->H, g->W, g->pt, g->pl), out = as_lines(g, g->OH, g->OW, 0, 0);
    if (p->x && (p->y || p->dw))
        for (int64_t c = 0; c < C; c++) {
            for (int64_t i = 0; i < nb; i++) {
                load_lines(g, in, p->x + ((n0 + i) * C + c) * HW, s->q);
                lines_to_tiles(g, a, s->q, s->w + i * TPS);
            }
            transform(g->BT, a, a, false, s->w, L, s->v + c * L, ldv, 0.0f, n);
        }
    if (p->y) {
        for (int x = 0; x < a; x++)
            dob__gemm_nopack(false, OC, n, C, u + x * OC * C, C, s->v + x * ldv, L, s->m + x * ldm, L);
        for (int64_t oc = 0; oc < OC; oc++) {
            transform(g->AT, m, a, false, s->m + oc * L, ldm, s->w, L, p->bias ? p->bias[oc] : 0.0f, n);
            if (p->act == DOB_ACT_RELU)   /* the m output rows of channel oc, still in cache */
                for (int o = 0; o < m; o++) dob__relu_row(s->w + o * L, n);
            for (int64_t i = 0; i < nb; i++) {
                tiles_to_lines(g, m, false, s->w + i * TPS, s->q);
                store_lines(g, out, s->q, p->y + ((n0 + i) * OC + oc) * OHW);
            }
        }
    }
    if (!p->dy || !(p->dw || p->dx)) return;
    for (int64_t oc = 0; oc < OC; oc++) {
        for (int64_t i = 0; i < nb; i++) {
            load_lines(g, out, p->dy + ((n0 + i) * OC + oc) * OHW, s->q);
            lines_to_tiles(g, m, s->q, s->w + i * TPS);
        }
        transform(g->AT, a, m, true, s->w, L, s->m + oc * L, ldm, 0.0f, n);
    }
    if (p->dw)
        for (int x = 0; x < a; x++)
            dob__gemm(false, true, OC, C, n, 1.0f, s->m + x * ldm, L, s->v + x * ldv, L, first ? 0.0f : 1.0f,
                      s->du + x * OC * C, C);
    if (p->dx) {
        for (int x = 0; x < a; x++)
            dob__gemm_nopack(true, C, n, OC, u + x * OC * C, C, s->m + x * ldm, L, s->v + x * ldv, L);
        for (int64_t c = 0; c < C; c++) {
            transform(g->BT, a, a, true, s->v + c * L, ldv, s->w, L, 0.0f, n);
            for (int64_t i = 0; i < nb; i++) {
                memset(s->q, 0, sizeof(float) * (size_t)(g->QR * g->across));
                tiles_to_lines(g, a, true, s->w + i * TPS, s->q);
                store_lines(g, in, s->q, p->dx + ((n0 + i) * C + c) * HW);
            }
        }
    }
}

int dob__winograd1d_pass(const dob_conv_pass *p)
{
    geom1d g = {.N = p->N, .C = p->C, .H = p->H, .W = p->W, .OC = p->OC, .OH = p->OH, .OW = p->OW,
                .pt = p->pt, .pl = p->pl, .vertical = p->KW == 1};
    g.r = (int)(g.vertical ? p->KH : p->KW);
    g.m = TILE_OUTPUTS;
    g.a = g.m + g.r - 1;
    const int a = g.a;
    g.steps = ((g.vertical ? g.OH : g.OW) + g.m - 1) / g.m;
    g.across = g.vertical ? g.OW : g.OH;
    g.QR = g.steps * g.m + g.r - 1;
    g.TPS = g.steps * g.across;
    build_matrices(&g);
    const int64_t N = g.N, C = g.C, OC = g.OC, CM = C > OC ? C : OC;
    int64_t nb = TILES_TARGET / g.TPS, cap = CHUNK_BYTES / (a * 4 * CM * g.TPS);
    if (nb > cap) nb = cap;
    if (nb < 1) nb = 1;
    if (nb > N) nb = N;
    const int64_t nchunks = (N + nb - 1) / nb;
    nb = (N + nchunks - 1) / nchunks;                    /* even chunks */
    int T = dob__threads();
    if (T > MAX_THREADS) T = MAX_THREADS;
    if (T > nchunks) T = (int)nchunks;
    if (2.0 * a * OC * C * g.TPS * N < PAR_FLOPS) T = 1;

    g.L = (nb * g.TPS + BLOCK - 1) / BLOCK * BLOCK;
    const size_t v_bytes = sizeof(float) * (size_t)(a * C * g.L), m_bytes = sizeof(float) * (size_t)(a * OC * g.L);
    const size_t w_bytes = sizeof(float) * (size_t)(AMAX * g.L);
    const size_t q_bytes = sizeof(float) * (size_t)(g.QR * g.across);
    const size_t u_bytes = sizeof(float) * (size_t)(a * OC * C), du_bytes = p->dw ? u_bytes : 0;
    float *u = (p->y || p->dx) ? dob__alloc(u_bytes) : NULL;
    scratch s[MAX_THREADS] = {{0}};
    int rc = -1;
    if ((p->y || p->dx) && !u) goto done;
    for (int t = 0; t < T; t++) {
        s[t].v = dob__alloc(v_bytes);
        s[t].m = dob__alloc(m_bytes);
        s[t].w = dob__alloc(w_bytes);
        s[t].q = dob__alloc(q_bytes);
        s[t].du = du_bytes ? dob__alloc(du_bytes) : NULL;
        if (!s[t].v || !s[t].m || !s[t].w || !s[t].q || (du_bytes && !s[t].du)) goto done;
    }
    if (u) filters(&g, false, p->w, OC * C, u);
    if (T == 1) {
        for (int64_t c = 0; c < nchunks; c++)
            run_chunk(&g, p, u, c * nb, N - c * nb < nb ? N - c * nb : nb, &s[0], c == 0);
    } else {
#pragma omp parallel num_threads(T)
        {
            int t = omp_get_thread_num();
            int64_t c0 = nchunks * t / T, c1 = nchunks * (t + 1) / T;
            for (int64_t c = c0; c < c1; c++)
                run_chunk(&g, p, u, c * nb, N - c * nb < nb ? N - c * nb : nb, &s[t], c == c0);
        }
        for (int t = 1; t < T && p->dw; t++)
            for (int64_t i = 0; i < a * OC * C; i++) s[0].du[i] += s[t].du[i];
    }
    if (p->dw) filters(&g, true, s[0].du, OC * C, p->dw);
    rc = 0;
done:
    for (int t = 0; t < T; t++) {
        dob__free(s[t].v, v_bytes);
        dob__free(s[t].m, m_bytes);
        dob__free(s[t].w, w_bytes);
        dob__free(s[t].q, q_bytes);
        dob__free(s[t].du, du_bytes);
    }
    dob__free(u, u_bytes);
    return rc;
}
