/* norm.c — batch normalisation and layer normalisation on float tensors.
 *
 *   batch_norm  x [N,C,*] (e.g. [N,C,H,W] or [N,C]); weight, bias, running
 *               stats [C] or NULL. Statistics per channel over M = N * prod(*).
 *   layer_norm  x [..., D1..Dk], normalised over the last k dims; weight and
 *               bias [D1..Dk] or NULL.
 *
 * batch_norm may apply relu to y as it writes it (activation); its backward
 * masks g by relu'(y) first, as relu's backward would. The node saves x and
 * each channel's y = x * a + b (the floats a, b), not y: y is made again from
 * them, bit for bit, for the mask and for a consumer that saved y (regen), so
 * a conv after it keeps only bn's input alive, as in-place activated batch
 * norm does (Rota Bulo et al., 2018, "In-Place Activated BatchNorm").
 *
 * Forward: xh = (x - mean) * invstd, invstd = 1 / sqrt(var + eps) with the
 * biased variance; y = xh * gamma + beta. batch_norm in training mode uses the
 * batch statistics and updates running_mean/var in place (running = (1 - m)
 * running + m batch, unbiased variance for running_var; PyTorch convention);
 * in eval mode it uses the running statistics.
 *
 * Backward (g = dL/dy, sums over the normalised set of M elements):
 *   training / layer norm:  dx = gamma invstd / M (M g - sum g - xh sum(g xh))
 *                           (for layer norm gamma is elementwise: g -> g gamma)
 *   batch norm eval:        dx = gamma invstd g
 *   dgamma = sum g xh,  dbeta = sum g  (batch norm: per channel; layer norm:
 *   per element of the normalised shape, summed over rows).
 *
 * Sums accumulate in double, in LANES interleaved accumulators combined in a
 * fixed order (vectorisable, independent of the thread count). Batch norm runs
 * in parallel over channels, layer norm over rows (forward, dx) and over
 * column blocks (dgamma, dbeta), so results are deterministic.
 */
#include "ops/ops.h"
#include <math.h>
#include <stdlib.h>

#define LANES 8

static inline double lanes_total(const double *acc)
{
    double s = 0;
    for (int k = 0; k < LANES; k++) s += acc[k];
    return s;
}

/* acc += x */
static inline void acc_sum(const float *restrict x, int64_t n, double *restrict acc)
{
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) acc[k] += (double)x[i + k];
    for (int k = 0; i < n; i++, k++) acc[k] += (double)x[i];
}

/* acc += (x - m)^2 */
static inline void acc_sq(const float *restrict x, int64_t n, double m, double *restrict acc)
{
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) { double d = (double)x[i + k] - m; acc[k] += d * d; }
    for (int k = 0; i < n; i++, k++) { double d = (double)x[i] - m; acc[k] += d * d; }
}

/* a += g, b += g (x - m) */
static inline void acc_grad(const float *restrict g, const float *restrict x, int64_t n, double m,
                            double *restrict a, double *restrict b)
{
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) {
            double v = (double)g[i + k];
            a[k] += v;
            b[k] += v * ((double)x[i + k] - m);
        }
    for (int k = 0; i < n; i++, k++) {
        double v = (double)g[i];
        a[k] += v;
        b[k] += v * ((double)x[i] - m);
    }
}

/* y = act(x * a + b) */
static inline void affine_row(float *restrict y, const float *restrict x, int64_t n, float a, float b, int act)
{
    if (act == DOB_ACT_RELU) for (int64_t i = 0; i < n; i++) y[i] = dob__relu(x[i] * a + b);
    else for (int64_t i = 0; i < n; i++) y[i] = x[i] * a + b;
}

/* element c of a 1-dim tensor (any stride), or dflt for NULL */
static inline float elem(const dob_tensor *t, int64_t c, float dflt)
{
    return t ? dob__f32(t)[c * t->stride[0]] : dflt;
}

static int check_vec(const char *op, const char *name, const dob_tensor *t, int64_t C)
{
    if (!t) return 0;
    DOB_CHECK_INT(dob_is_valid(t), "%s: argument '%s' is not a valid tensor (freed)", op, name);
    DOB_CHECK_INT(t->dtype == DOB_F32, "%s: argument '%s' must be float32, got %s", op, name,
                  dob__dtype_name(t->dtype));
    DOB_CHECK_INT(t->ndim == 1 && t->size[0] == C, "%s: '%s' must have shape [%lld] (one per channel), got %s",
                  op, name, (long long)C, dob__shape(t));
    return 0;
}

/* ---- batch norm ----------------------------------------------------------------- */

/* what batch norm reads of an input: t itself (a new reference), or a copy when
   t shares memory with a running statistic (rm, rv; NULL when none is written),
   which the kernel writes while it reads the inputs */
static dob_tensor *read_apart(dob_tensor *t, const dob_tensor *rm, const dob_tensor *rv)
{
    if (rm && (dob__overlap(t, rm) != DOB_OVERLAP_NONE || dob__overlap(t, rv) != DOB_OVERLAP_NONE)) {
        dob_tensor *c = dob__new_like_shape(t->dtype, t->ndim, t->size);
        if (c) dob__copy_strided(c, t);
        return c;
    }
    t->refcount++;
    return t;
}

/* the rows of x [N,C,HW] through y = act(x * a[c] + b[c]); ab = [a; b] [2,C] */
static void apply_affine(float *y, const float *x, const float *ab, int64_t N, int64_t C, int64_t HW, int act)
{
#pragma omp parallel for schedule(static) if (N * C > 1 && N * C * HW >= DOB_PAR_MIN)
    for (int64_t r = 0; r < N * C; r++) {
        int64_t c = r % C;
        affine_row(y + r * HW, x + r * HW, HW, ab[c], ab[C + c], act);
    }
}

/* saved: x (contiguous), weight or NULL, mean [C], invstd [C], ab [2,C] */
static dob_tensor *batch_norm_regen(dob_node *n, int k)
{
    const dob_tensor *x = n->saved[0];
    dob_tensor *y = dob__new_like_shape(DOB_F32, x->ndim, x->size);
    if (y) apply_affine(dob__f32(y), dob__f32(x), dob__f32(n->saved[4]), x->size[0], x->size[1],
                        dob__numel_of(x->ndim - 2, x->size + 2), (int)n->iattr[1]);
    return y;
}

/* g * relu'(y) with y = x * a + b recomputed as the forward computed it: the gradient at the
   pre-activation (contiguous, a new reference; g itself, masked in place, when nothing else holds it) */
static dob_tensor *relu_masked(dob_tensor *g, const dob_tensor *x, const float *ab)
{
    dob_tensor *gc, *gm = dob__mask_target(g, &gc);
    if (gm) {
        int64_t N = x->size[0], C = x->size[1], HW = dob__numel_of(x->ndim - 2, x->size + 2);
        const float *px = dob__f32(x), *pg = dob__f32(gc);
        float *pm = dob__f32(gm);
#pragma omp parallel for schedule(static) if (N * C > 1 && N * C * HW >= DOB_PAR_MIN)
        for (int64_t r = 0; r < N * C; r++) {
            float a = ab[r % C], b = ab[C + r % C];
            const float *restrict xr = px + r * HW, *restrict gr = pg + r * HW;
            float *mr = pm + r * HW;
            for (int64_t j = 0; j < HW; j++) mr[j] = gr[j] * dob__relu_slope(xr[j] * a + b);
        }
    }
    dob_release(gc);
    return gm;
}

/* iattr: training, activation; saved: x (contiguous), weight or NULL, mean [C], invstd [C],
   ab [2,C] (y = act(x * a + b) per channel) */
static int batch_norm_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    dob_tensor *gy = n->iattr[1] == DOB_ACT_RELU ? relu_masked(gout[0], n->saved[0], dob__f32(n->saved[4]))
                                                 : dob__contig(gout[0]);
    if (!gy) return -1;
    const dob_tensor *x = n->saved[0], *w = n->saved[1], *mt = n->saved[2], *it = n->saved[3];
    bool training = n->iattr[0] != 0;
    bool need_x = dob__input_needs_grad(n, 0), need_w = dob__input_needs_grad(n, 1),
         need_b = dob__input_needs_grad(n, 2);
    int64_t N = x->size[0], C = x->size[1], HW = dob__numel_of(x->ndim - 2, x->size + 2), M = N * HW;
    dob_tensor *gx = need_x ? dob__new_like_shape(DOB_F32, x->ndim, x->size) : NULL;
    dob_tensor *gw = need_w ? dob__new_like_shape(DOB_F32, 1, &C) : NULL;
    dob_tensor *gb = need_b ? dob__new_like_shape(DOB_F32, 1, &C) : NULL;
    if ((need_x && !gx) || (need_w && !gw) || (need_b && !gb)) {
        dob_release(gx); dob_release(gw); dob_release(gb); dob_release(gy);
        return -1;
    }
    const float *pg = dob__f32(gy), *px = dob__f32(x), *pm = dob__f32(mt), *pi = dob__f32(it);
    float *pgx = gx ? dob__f32(gx) : NULL, *pgw = gw ? dob__f32(gw) : NULL, *pgb = gb ? dob__f32(gb) : NULL;
    bool need_sums = training || need_w || need_b;
#pragma omp parallel for schedule(static) if (C > 1 && M * C >= DOB_PAR_MIN)
    for (int64_t c = 0; c < C; c++) {
        double m = pm[c], inv = pi[c];
        double sg = 0, sgx = 0;   /* sum g, sum g (x - mean) */
        if (need_sums) {
            double a[LANES] = {0}, b[LANES] = {0};
            for (int64_t i = 0; i < N; i++) {
                int64_t o = (i * C + c) * HW;
                acc_grad(pg + o, px + o, HW, m, a, b);
            }
            sg = lanes_total(a);
            sgx = lanes_total(b);
        }
        if (pgw) pgw[c] = (float)(sgx * inv);
        if (pgb) pgb[c] = (float)sg;
        if (pgx) {
            double gamma = elem(w, c, 1.0f), ka = gamma * inv;
            /* training: dx = ka (g - sg/M - (x - m) inv^2 sgx/M) = A g + B x + D */
            double A = ka, B = training ? -ka * inv * inv * sgx / (double)M : 0.0;
            double D = training ? -ka * sg / (double)M - B * m : 0.0;
            float fa = (float)A, fb = (float)B, fd = (float)D;
            for (int64_t i = 0; i < N; i++) {
                int64_t o = (i * C + c) * HW;
                const float *restrict gr = pg + o, *restrict xr = px + o;
                float *restrict dr = pgx + o;
                for (int64_t j = 0; j < HW; j++) dr[j] = fa * gr[j] + fb * xr[j] + fd;
            }
        }
    }
    gin[0] = gx;
    gin[1] = gw;
    gin[2] = gb;
    dob_release(gy);
    return 0;
}

dob_tensor *dob_batch_norm(dob_tensor *x, dob_tensor *weight, dob_tensor *bias,
                           dob_tensor *running_mean, dob_tensor *running_var,
                           int training, double momentum, double eps, int activation)
{
    const char *op = "batch_norm";
    if (dob__check_activation(op, activation)) return NULL;
    DOB_CHECK_F32(x, op, "x");
    DOB_CHECK(x->ndim >= 2, "batch_norm: expected an input [N,C] or [N,C,H,W], got %s", dob__shape(x));
    int64_t N = x->size[0], C = x->size[1], HW = dob__numel_of(x->ndim - 2, x->size + 2), M = N * HW;
    if (check_vec(op, "weight", weight, C) || check_vec(op, "bias", bias, C) ||
        check_vec(op, "running_mean", running_mean, C) || check_vec(op, "running_var", running_var, C))
        return NULL;
    DOB_CHECK(!running_mean == !running_var, "batch_norm: give both running_mean and running_var, or neither");
    DOB_CHECK(training || running_mean, "batch_norm: eval mode (training = false) needs running_mean and "
              "running_var");
    DOB_CHECK(!training || M > 1, "batch_norm: training needs more than one value per channel, input %s",
              dob__shape(x));
    DOB_CHECK(eps >= 0 && isfinite(eps), "batch_norm: eps must be a non-negative number, got %g", eps);
    DOB_CHECK(momentum >= 0 && momentum <= 1, "batch_norm: momentum must be in [0, 1], got %g", momentum);
    DOB_CHECK(C >= 1 && M >= 1, "batch_norm: empty input %s", dob__shape(x));
    const dob_tensor *wrm = NULL, *wrv = NULL;   /* the running statistics this call writes */
    if (training && running_mean) {
        if (dob__check_writable(running_mean, "batch_norm (running_mean)") ||
            dob__check_writable(running_var, "batch_norm (running_var)"))
            return NULL;
        DOB_CHECK(dob__overlap(running_mean, running_var) == DOB_OVERLAP_NONE, "batch_norm: running_mean "
                  "and running_var share memory, so updating one would overwrite the other; give separate tensors");
        wrm = running_mean;
        wrv = running_var;
    }
    dob_tensor *xr = read_apart(x, wrm, wrv);
    dob_tensor *wr = xr && weight ? read_apart(weight, wrm, wrv) : NULL;
    dob_tensor *br = xr && bias ? read_apart(bias, wrm, wrv) : NULL;
    dob_tensor *xc = xr && (wr || !weight) && (br || !bias) ? dob__contig(xr) : NULL;
    dob_release(xr);
    int64_t two_c[2] = {2, C};
    dob_tensor *out = xc ? dob__new_like_shape(DOB_F32, x->ndim, x->size) : NULL;
    dob_tensor *mt = out ? dob__new_like_shape(DOB_F32, 1, &C) : NULL;
    dob_tensor *it = mt ? dob__new_like_shape(DOB_F32, 1, &C) : NULL;
    dob_tensor *ab = it ? dob__new_like_shape(DOB_F32, 2, two_c) : NULL;
    if (!ab) {
        dob_release(xc); dob_release(wr); dob_release(br); dob_release(out); dob_release(mt); dob_release(it);
        return NULL;
    }
    const float *px = dob__f32(xc);
    float *py = dob__f32(out), *pm = dob__f32(mt), *pi = dob__f32(it), *pab = dob__f32(ab);
    float *rm = running_mean ? dob__f32(running_mean) : NULL, *rv = running_var ? dob__f32(running_var) : NULL;
    int64_t rms = running_mean ? running_mean->stride[0] : 0, rvs = running_var ? running_var->stride[0] : 0;
    float mom = (float)momentum;
#pragma omp parallel for schedule(static) if (C > 1 && M * C >= DOB_PAR_MIN)
    for (int64_t c = 0; c < C; c++) {
        double mean, var;
        if (training) {
            double a[LANES] = {0};
            for (int64_t i = 0; i < N; i++) acc_sum(px + (i * C + c) * HW, HW, a);
            mean = lanes_total(a) / (double)M;
            double q[LANES] = {0};
            for (int64_t i = 0; i < N; i++) acc_sq(px + (i * C + c) * HW, HW, mean, q);
            var = lanes_total(q) / (double)M;
            if (rm) {
                /* running stats never require grad: written directly, version bumped below */
                float *r0 = rm + c * rms, *r1 = rv + c * rvs;
                *r0 = (1.0f - mom) * *r0 + mom * (float)mean;
                *r1 = (1.0f - mom) * *r1 + mom * (float)(var * (double)M / (double)(M - 1));
            }
        } else {
            mean = rm[c * rms];
            var = rv[c * rvs];
        }
        double inv = 1.0 / sqrt(var + eps);
        pm[c] = (float)mean;
        pi[c] = (float)inv;
        double gamma = elem(wr, c, 1.0f), beta = elem(br, c, 0.0f);
        pab[c] = (float)(gamma * inv);
        pab[C + c] = (float)(beta - mean * gamma * inv);
    }
    apply_affine(py, px, pab, N, C, HW, activation);
    if (training && rm) {
        dob__bump_version(running_mean);
        dob__bump_version(running_var);
    }
    dob_tensor *ins[3] = {x, weight, bias};
    bool relu = activation == DOB_ACT_RELU;
    dob_node *n = dob__record(relu ? "batch_norm_relu" : "batch_norm", batch_norm_backward, 3, ins, 1);
    if (n) {
        n->iattr[0] = training != 0;
        n->iattr[1] = activation;
        n->regen = batch_norm_regen;
        dob__save(n, xc);
        dob__save(n, wr);
        dob__save(n, mt);
        dob__save(n, it);
        dob__save(n, ab);
        dob__set_output(n, 0, out);
    }
    dob_release(xc);
    dob_release(wr);
    dob_release(br);
    dob_release(mt);
    dob_release(it);
    dob_release(ab);
    return dob__recorded(n, out);
}

/* ---- layer norm ----------------------------------------------------------------- */

#define LN_COLS 256   /* column block for dgamma / dbeta */

/* saved: x (contiguous), weight (contiguous) or NULL, mean [R], invstd [R] */
static int layer_norm_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    const dob_tensor *x = n->saved[0], *w = n->saved[1], *mt = n->saved[2], *it = n->saved[3];
    int64_t R = mt->size[0], D = dob__numel_of(x->ndim, x->size) / (R > 0 ? R : 1);
    bool need_x = dob__input_needs_grad(n, 0), need_w = dob__input_needs_grad(n, 1),
         need_b = dob__input_needs_grad(n, 2);
    dob_tensor *gy = dob__contig(gout[0]);
    if (!gy) return -1;
    const dob_edge *ew = &n->next[1], *eb = &n->next[2];
    dob_tensor *gx = need_x ? dob__new_like_shape(DOB_F32, x->ndim, x->size) : NULL;
    dob_tensor *gw = need_w ? dob__new_like_shape(DOB_F32, ew->ndim, ew->size) : NULL;
    dob_tensor *gb = need_b ? dob__new_like_shape(DOB_F32, eb->ndim, eb->size) : NULL;
    size_t nb = sizeof(double) * 2 * (size_t)D;
    double *acc = (need_w || need_b) ? dob__scratch_alloc(nb) : NULL;
    if ((need_x && !gx) || (need_w && !gw) || (need_b && !gb) || ((need_w || need_b) && !acc)) {
        if (acc) dob__scratch_free(acc, nb);
        dob_release(gx); dob_release(gw); dob_release(gb); dob_release(gy);
        return -1;
    }
    const float *pg = dob__f32(gy), *px = dob__f32(x), *pm = dob__f32(mt), *pi = dob__f32(it);
    const float *pw = w ? dob__f32(w) : NULL;
    if (gx) {
        float *pgx = dob__f32(gx);
#pragma omp parallel for schedule(static) if (R > 1 && R * D >= DOB_PAR_MIN)
        for (int64_t r = 0; r < R; r++) {
            const float *restrict g = pg + r * D, *restrict xr = px + r * D;
            float *restrict dx = pgx + r * D;
            double m = pm[r], inv = pi[r];
            double a[LANES] = {0}, b[LANES] = {0};
            if (pw) {
                /* gw = g * gamma into dx first, then reuse it */
                for (int64_t j = 0; j < D; j++) dx[j] = g[j] * pw[j];
                acc_grad(dx, xr, D, m, a, b);
            } else {
                acc_grad(g, xr, D, m, a, b);
            }
            double sg = lanes_total(a), sgx = lanes_total(b);
            double B = -inv * inv * inv * sgx / (double)D, Dc = -inv * sg / (double)D - B * m;
            float fa = (float)inv, fb = (float)B, fd = (float)Dc;
            const float *restrict src = pw ? dx : g;
            for (int64_t j = 0; j < D; j++) dx[j] = fa * src[j] + fb * xr[j] + fd;
        }
    }
    if (acc) {
        int64_t nblk = (D + LN_COLS - 1) / LN_COLS;
#pragma omp parallel for schedule(static) if (nblk > 1 && R * D >= DOB_PAR_MIN)
        for (int64_t k = 0; k < nblk; k++) {
            int64_t j0 = k * LN_COLS, j1 = j0 + LN_COLS < D ? j0 + LN_COLS : D;
            double *sw = acc + j0, *sb = acc + D + j0;
            for (int64_t j = 0; j < j1 - j0; j++) sw[j] = sb[j] = 0;
            for (int64_t r = 0; r < R; r++) {
                const float *restrict g = pg + r * D + j0, *restrict xr = px + r * D + j0;
                double m = pm[r], inv = pi[r];
                for (int64_t j = 0; j < j1 - j0; j++) {
                    double v = (double)g[j];
                    sb[j] += v;
                    sw[j] += v * ((double)xr[j] - m) * inv;
                }
            }
        }
        if (gw) { float *p = dob__f32(gw); for (int64_t j = 0; j < D; j++) p[j] = (float)acc[j]; }
        if (gb) { float *p = dob__f32(gb); for (int64_t j = 0; j < D; j++) p[j] = (float)acc[D + j]; }
        dob__scratch_free(acc, nb);
    }
    gin[0] = gx;
    gin[1] = gw;
    gin[2] = gb;
    dob_release(gy);
    return 0;
}

static int check_ln_param(const char *name, const dob_tensor *t, const dob_tensor *x, int ndims)
{
    if (!t) return 0;
    DOB_CHECK_INT(dob_is_valid(t), "layer_norm: argument '%s' is not a valid tensor (freed)", name);
    DOB_CHECK_INT(t->dtype == DOB_F32, "layer_norm: argument '%s' must be float32, got %s", name,
                  dob__dtype_name(t->dtype));
    bool ok = t->ndim == ndims;
    for (int d = 0; ok && d < ndims; d++) ok = t->size[d] == x->size[x->ndim - ndims + d];
    DOB_CHECK_INT(ok, "layer_norm: '%s' must have the normalised shape %s of input %s, got %s", name,
                  dob__sizes_str(ndims, x->size + x->ndim - ndims), dob__shape(x), dob__shape(t));
    return 0;
}

dob_tensor *dob_layer_norm(dob_tensor *x, int ndims, dob_tensor *weight, dob_tensor *bias,
                           double eps)
{
    DOB_CHECK_F32(x, "layer_norm", "x");
    DOB_CHECK(ndims >= 1 && ndims <= x->ndim, "layer_norm: cannot normalise over the last %d dims of "
              "input %s", ndims, dob__shape(x));
    if (check_ln_param("weight", weight, x, ndims) || check_ln_param("bias", bias, x, ndims)) return NULL;
    DOB_CHECK(eps >= 0 && isfinite(eps), "layer_norm: eps must be a non-negative number, got %g", eps);
    int64_t D = dob__numel_of(ndims, x->size + x->ndim - ndims);
    int64_t R = dob__numel_of(x->ndim - ndims, x->size);
    DOB_CHECK(D >= 1, "layer_norm: empty normalised shape in input %s", dob__shape(x));

    dob_tensor *xc = dob__contig(x);
    dob_tensor *wc = (xc && weight) ? dob__contig(weight) : NULL;
    dob_tensor *bc = (xc && bias) ? dob__contig(bias) : NULL;
    dob_tensor *out = xc ? dob__new_like_shape(DOB_F32, x->ndim, x->size) : NULL;
    dob_tensor *mt = out ? dob__new_like_shape(DOB_F32, 1, &R) : NULL;
    dob_tensor *it = mt ? dob__new_like_shape(DOB_F32, 1, &R) : NULL;
    if (!it || (weight && !wc) || (bias && !bc)) {
        dob_release(xc); dob_release(wc); dob_release(bc); dob_release(out); dob_release(mt); dob_release(it);
        return NULL;
    }
    const float *px = dob__f32(xc), *pw = wc ? dob__f32(wc) : NULL, *pb = bc ? dob__f32(bc) : NULL;
    float *py = dob__f32(out), *pm = dob__f32(mt), *pi = dob__f32(it);
#pragma omp parallel for schedule(static) if (R > 1 && R * D >= DOB_PAR_MIN)
    for (int64_t r = 0; r < R; r++) {
        const float *restrict xr = px + r * D;
        float *restrict yr = py + r * D;
        double a[LANES] = {0}, q[LANES] = {0};
        acc_sum(xr, D, a);
        double mean = lanes_total(a) / (double)D;
        acc_sq(xr, D, mean, q);
        double inv = 1.0 / sqrt(lanes_total(q) / (double)D + eps);
        pm[r] = (float)mean;
        pi[r] = (float)inv;
        float fi = (float)inv, fs = (float)(-mean * inv);
        if (pw && pb) for (int64_t j = 0; j < D; j++) yr[j] = (xr[j] * fi + fs) * pw[j] + pb[j];
        else if (pw) for (int64_t j = 0; j < D; j++) yr[j] = (xr[j] * fi + fs) * pw[j];
        else if (pb) for (int64_t j = 0; j < D; j++) yr[j] = xr[j] * fi + fs + pb[j];
        else for (int64_t j = 0; j < D; j++) yr[j] = xr[j] * fi + fs;
    }
    dob_tensor *ins[3] = {x, weight, bias};
    dob_node *n = dob__record("layer_norm", layer_norm_backward, 3, ins, 1);
    if (n) {
        dob__save(n, xc);
        dob__save(n, wc);
        dob__save(n, mt);
        dob__save(n, it);
        dob__set_output(n, 0, out);
    }
    dob_release(xc);
    dob_release(wc);
    dob_release(bc);
    dob_release(mt);
    dob_release(it);
    return dob__recorded(n, out);
}
