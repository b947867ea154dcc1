/* elementwise.c — binary, unary and ternary elementwise ops on F32 tensors,
 * with numpy broadcasting, their in-place forms, and comparisons.
 *
 *   out = a OP b        a [..], b [..] broadcast to a common shape
 *   out = f(a)          unary activations and math functions
 *
 * Backward (g = dL/dout, reduced back over broadcast dims):
 *   add: g, g   sub: g, -g   mul: g b, g a   div: g / b, -g a / b^2
 *   pow: g y x^(y-1), g out ln x   maximum/minimum: g to the larger/smaller
 *   (ties split the gradient in half, as torch does)
 *   unary: g f'(x), computed by one fused kernel from x and out.
 *
 * NaN in gives NaN out, as in PyTorch (1.13, checked op by op) and TensorFlow,
 * so a diverging run stays visibly NaN: relu and clamp return a NaN input,
 * maximum/minimum the NaN operand. Gradients at a NaN input follow PyTorch:
 * relu, elu and maximum/minimum pass g, clamp and abs give 0; sign(NaN) is 0
 * there, and so here.
 *
 * Kernels walk rows of the coalesced iteration (tensor/tensor.h); a row that is
 * contiguous in every operand becomes a plain loop that gcc vectorises.
 * Work is split into rows x chunks of CHUNK elements, so long contiguous
 * tensors also run in parallel; elementwise results do not depend on the
 * split.
 */
#include "ops/ops.h"
#include <math.h>
#include <stdlib.h>

#define CHUNK 16384

/* ---- the row kernels ------------------------------------------------------------ */

static inline float maximum_f(float x, float y) { return (x > y || isnan(x)) ? x : y; }
static inline float minimum_f(float x, float y) { return (x < y || isnan(x)) ? x : y; }

#define BINARY_ROW(EXPR)                                                              \
    do {                                                                              \
        if (os == 1 && as == 1 && bs == 1) {                                          \
            for (int64_t i = 0; i < n; i++) { float x = a[i], y = b[i]; o[i] = (EXPR); } \
        } else if (os == 1 && as == 1 && bs == 0) {                                   \
            float y = b[0];                                                           \
            for (int64_t i = 0; i < n; i++) { float x = a[i]; o[i] = (EXPR); }        \
        } else if (os == 1 && as == 0 && bs == 1) {                                   \
            float x = a[0];                                                           \
            for (int64_t i = 0; i < n; i++) { float y = b[i]; o[i] = (EXPR); }        \
        } else {                                                                      \
            for (int64_t i = 0; i < n; i++) {                                         \
                float x = a[i * as], y = b[i * bs];                                   \
                o[i * os] = (EXPR);                                                   \
            }                                                                         \
        }                                                                             \
    } while (0)

static void binary_row(int op, int64_t n, float *o, int64_t os, const float *a, int64_t as,
                       const float *b, int64_t bs)
{
    switch (op) {
    case DOB_ADD: BINARY_ROW(x + y); break;
    case DOB_SUB: BINARY_ROW(x - y); break;
    case DOB_MUL: BINARY_ROW(x * y); break;
    case DOB_DIV: BINARY_ROW(x / y); break;
    case DOB_POW: BINARY_ROW(powf(x, y)); break;
    case DOB_MAXIMUM: BINARY_ROW(maximum_f(x, y)); break;
    case DOB_MINIMUM: BINARY_ROW(minimum_f(x, y)); break;
    }
}

/* internal unary ops extend the public list with parametric ones */
enum { U_ELU = DOB_UNARY_COUNT, U_LEAKY, U_CLAMP };

static inline float sigmoid_f(float x)
{
    return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
}
static inline float softplus_f(float x) { return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x))); }
static inline float gelu_f(float x) { return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2)); }

#define UNARY_ROW(EXPR)                                                                \
    do {                                                                               \
        if (os == 1 && as == 1) for (int64_t i = 0; i < n; i++) { float x = a[i]; o[i] = (EXPR); } \
        else for (int64_t i = 0; i < n; i++) { float x = a[i * as]; o[i * os] = (EXPR); } \
    } while (0)

static void unary_row(int op, double p0, double p1, int64_t n, float *o, int64_t os,
                      const float *a, int64_t as)
{
    float q0 = (float)p0, q1 = (float)p1;
    switch (op) {
    case DOB_NEG: UNARY_ROW(-x); break;
    case DOB_EXP: UNARY_ROW(expf(x)); break;
    case DOB_LOG: UNARY_ROW(logf(x)); break;
    case DOB_SQRT: UNARY_ROW(sqrtf(x)); break;
    case DOB_ABS: UNARY_ROW(fabsf(x)); break;
    case DOB_RELU: UNARY_ROW(dob__relu(x)); break;
    case DOB_SIGMOID: UNARY_ROW(sigmoid_f(x)); break;
    case DOB_TANH: UNARY_ROW(tanhf(x)); break;
    case DOB_SOFTPLUS: UNARY_ROW(softplus_f(x)); break;
    case DOB_GELU: UNARY_ROW(gelu_f(x)); break;
    case DOB_SQUARE: UNARY_ROW(x * x); break;
    case DOB_RSQRT: UNARY_ROW(1.0f / sqrtf(x)); break;
    case DOB_SIGN: UNARY_ROW((float)((x > 0) - (x < 0))); break;
    case U_ELU: UNARY_ROW(x > 0 ? x : q0 * expm1f(x)); break;
    case U_LEAKY: UNARY_ROW(x > 0 ? x : q0 * x); break;
    case U_CLAMP: UNARY_ROW(x != x ? x : fminf(fmaxf(x, q0), q1)); break;
    }
}

/* dL/dx from g, x and out (all contiguous, same length). One loop per op,
   so each loop vectorises (a switch inside the loop would stop that). */
#define GRAD_ROW(EXPR) for (int64_t i = 0; i < n; i++) { float v = x[i], o = y[i]; (void)v; (void)o; gx[i] = g[i] * (EXPR); }

static void unary_grad_row(int op, double p0, double p1, int64_t n, float *gx, const float *g,
                           const float *x, const float *y)
{
    float q0 = (float)p0, q1 = (float)p1;
    const float inv_sqrt_2pi = 0.3989422804014327f;
    switch (op) {
    case DOB_NEG: GRAD_ROW(-1.0f); break;
    case DOB_EXP: GRAD_ROW(o); break;
    case DOB_LOG: GRAD_ROW(1.0f / v); break;
    case DOB_SQRT: GRAD_ROW(0.5f / o); break;
    case DOB_ABS: GRAD_ROW((float)((v > 0) - (v < 0))); break;
    case DOB_RELU: GRAD_ROW(dob__relu_slope(o)); break;   /* the output: relu keeps only it */
    case DOB_SIGMOID: GRAD_ROW(o * (1 - o)); break;
    case DOB_TANH: GRAD_ROW(1 - o * o); break;
    case DOB_SOFTPLUS: GRAD_ROW(sigmoid_f(v)); break;
    case DOB_GELU: GRAD_ROW(0.5f * (1 + erff(v * (float)M_SQRT1_2)) + v * inv_sqrt_2pi * expf(-0.5f * v * v)); break;
    case DOB_SQUARE: GRAD_ROW(2 * v); break;
    case DOB_RSQRT: GRAD_ROW(-0.5f * o * o * o); break;
    case U_ELU: GRAD_ROW(v <= 0 ? o + q0 : 1.0f); break;
    case U_LEAKY: GRAD_ROW(v > 0 ? 1.0f : q0); break;
    case U_CLAMP: GRAD_ROW((v >= q0 && v <= q1) ? 1.0f : 0.0f); break;
    default: GRAD_ROW(0.0f); break;   /* sign */
    }
}

/* ---- drivers -------------------------------------------------------------------- */

/* Runs body(row offsets, start, len) over every chunk of the iteration. */
#define FOR_EACH_CHUNK(it, ...) DOB_FOR_EACH_CHUNK(it, CHUNK, __VA_ARGS__)

/* out = a op b over out's shape; a and b are broadcast to it */
static void binary_into(int op, dob_tensor *out, const dob_tensor *a, const dob_tensor *b)
{
    int64_t sa[DOB_MAX_DIMS], sb[DOB_MAX_DIMS];
    dob__broadcast_strides(a, out->ndim, out->size, sa);
    dob__broadcast_strides(b, out->ndim, out->size, sb);
    const int64_t *strides[3] = {out->stride, sa, sb};
    dob_iter it;
    dob__iter_init(&it, 3, out->ndim, out->size, strides);
    float *po = dob__f32(out);
    const float *pa = dob__f32(a), *pb = dob__f32(b);
    FOR_EACH_CHUNK(it, {
        int64_t os = it.inner_stride[0], as = it.inner_stride[1], bs = it.inner_stride[2];
        binary_row(op, len, po + off[0] + start * os, os, pa + off[1] + start * as, as,
                   pb + off[2] + start * bs, bs);
    });
}

static void unary_into(int op, double p0, double p1, dob_tensor *out, const dob_tensor *a)
{
    const int64_t *strides[2] = {out->stride, a->stride};
    dob_iter it;
    dob__iter_init(&it, 2, out->ndim, out->size, strides);
    float *po = dob__f32(out);
    const float *pa = dob__f32(a);
    FOR_EACH_CHUNK(it, {
        int64_t os = it.inner_stride[0], as = it.inner_stride[1];
        unary_row(op, p0, p1, len, po + off[0] + start * os, os, pa + off[1] + start * as, as);
    });
}

static const char *binary_name(int op)
{
    static const char *names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum"};
    return op >= 0 && op < DOB_BINARY_COUNT ? names[op] : "binary";
}

static const char *unary_name(int op)
{
    static const char *names[] = {"neg", "exp", "log", "sqrt", "abs", "relu", "sigmoid", "tanh",
                                  "softplus", "gelu", "square", "rsqrt", "sign", "elu",
                                  "leaky_relu", "clamp"};
    return op >= 0 && op <= U_CLAMP ? names[op] : "unary";
}

/* ---- binary: tensor OP tensor ------------------------------------------------------ */

dob_tensor *dob__reduce_grad(dob_tensor *g, const dob_edge *e)
{
    if (g->ndim == e->ndim && !memcmp(g->size, e->size, sizeof(int64_t) * (size_t)e->ndim)) {
        g->refcount++;
        return g;
    }
    return dob_sum_to_shape(g, e->ndim, e->size);
}

/* gin[i] = reduce(t) and release t */
static int give(dob_node *n, dob_tensor **gin, int i, dob_tensor *t)
{
    if (!t) return -1;
    gin[i] = dob__reduce_grad(t, &n->next[i]);
    dob_release(t);
    return gin[i] ? 0 : -1;
}

static dob_tensor *compare_impl(int op, const dob_tensor *a, const dob_tensor *b, double s);

/* The share of g that maximum/minimum hands an operand, from the comparison
   `loses` of a with b (or with the scalar s when b is NULL): 1 - loses - ties/2,
   so 1 where it wins, 0.5 on ties, 0 where it loses, and 1 where a NaN makes
   every comparison false (the NaN's gradient passes, as in PyTorch). */
static dob_tensor *extremum_weight(int loses, const dob_tensor *a, const dob_tensor *b, double s)
{
    dob_tensor *lose = compare_impl(loses, a, b, s), *tie = lose ? compare_impl(DOB_EQ, a, b, s) : NULL;
    dob_tensor *lf = tie ? dob_to_dtype(lose, DOB_F32) : NULL, *tf = lf ? dob_to_dtype(tie, DOB_F32) : NULL;
    dob_tensor *w = tf && !dob_add_scaled_(lf, tf, 0.5) ? dob_binary_scalar(DOB_SUB, lf, 1.0, 1) : NULL;
    dob_release(lose);
    dob_release(tie);
    dob_release(lf);
    dob_release(tf);
    return w;
}

static int binary_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    int op = (int)n->iattr[0];
    dob_tensor *g = gout[0], *a = n->saved[0], *b = n->saved[1];
    bool ga = dob__input_needs_grad(n, 0), gb = dob__input_needs_grad(n, 1);
    switch (op) {
    case DOB_ADD:
        if (ga && give(n, gin, 0, (g->refcount++, g))) return -1;
        if (gb && give(n, gin, 1, (g->refcount++, g))) return -1;
        return 0;
    case DOB_SUB:
        if (ga && give(n, gin, 0, (g->refcount++, g))) return -1;
        if (gb && give(n, gin, 1, dob_unary(DOB_NEG, g))) return -1;
        return 0;
    case DOB_MUL:
        if (ga && give(n, gin, 0, dob_binary(DOB_MUL, g, b))) return -1;
        if (gb && give(n, gin, 1, dob_binary(DOB_MUL, g, a))) return -1;
        return 0;
    case DOB_DIV: {
        if (ga && give(n, gin, 0, dob_binary(DOB_DIV, g, b))) return -1;
        if (gb) {  /* -g a / b^2 */
            dob_tensor *q = dob_binary(DOB_DIV, a, b), *t = q ? dob_binary(DOB_DIV, q, b) : NULL;
            dob_tensor *u = t ? dob_binary(DOB_MUL, g, t) : NULL;
            dob_release(q);
            dob_release(t);
            if (!u || dob_unary_(DOB_NEG, u)) { dob_release(u); return -1; }
            if (give(n, gin, 1, u)) return -1;
        }
        return 0;
    }
    case DOB_POW: {
        dob_tensor *out = dob_binary(DOB_POW, a, b);
        if (!out) return -1;
        int rc = 0;
        if (ga) {  /* g y x^(y-1) = g y out / x */
            dob_tensor *t = dob_binary(DOB_MUL, g, b), *u = t ? dob_binary(DOB_MUL, t, out) : NULL;
            dob_tensor *v = u ? dob_binary(DOB_DIV, u, a) : NULL;
            dob_release(t);
            dob_release(u);
            /* x = 0 with y >= 1: the limit y x^(y-1) is finite; recompute there */
            if (v) {
                dob_tensor *ym1 = dob_binary_scalar(DOB_SUB, b, 1.0, 0);
                dob_tensor *p = ym1 ? dob_binary(DOB_POW, a, ym1) : NULL;
                dob_tensor *w = p ? dob_binary(DOB_MUL, p, b) : NULL;
                dob_tensor *gw = w ? dob_binary(DOB_MUL, g, w) : NULL;
                dob_release(ym1);
                dob_release(p);
                dob_release(w);
                dob_release(v);
                v = gw;
            }
            rc = give(n, gin, 0, v);
        }
        if (!rc && gb) {  /* g out ln x */
            dob_tensor *l = dob_unary(DOB_LOG, a), *t = l ? dob_binary(DOB_MUL, out, l) : NULL;
            dob_tensor *u = t ? dob_binary(DOB_MUL, g, t) : NULL;
            dob_release(l);
            dob_release(t);
            rc = give(n, gin, 1, u);
        }
        dob_release(out);
        return rc;
    }
    case DOB_MAXIMUM:
    case DOB_MINIMUM: {
        int a_loses = op == DOB_MAXIMUM ? DOB_LT : DOB_GT, b_loses = op == DOB_MAXIMUM ? DOB_GT : DOB_LT;
        int rc = 0;
        if (ga) {
            dob_tensor *w = extremum_weight(a_loses, a, b, 0);
            rc = w ? give(n, gin, 0, dob_binary(DOB_MUL, g, w)) : -1;
            dob_release(w);
        }
        if (!rc && gb) {
            dob_tensor *w = extremum_weight(b_loses, a, b, 0);
            rc = w ? give(n, gin, 1, dob_binary(DOB_MUL, g, w)) : -1;
            dob_release(w);
        }
        return rc;
    }
    }
    return dob__fail("backward: unknown binary op %d", op);
}

dob_tensor *dob_binary(int op, dob_tensor *a, dob_tensor *b)
{
    DOB_CHECK(op >= 0 && op < DOB_BINARY_COUNT, "binary: unknown op %d", op);
    const char *name = binary_name(op);
    DOB_CHECK_F32(a, name, "a");
    DOB_CHECK_F32(b, name, "b");
    int on;
    int64_t os[DOB_MAX_DIMS];
    DOB_CHECK(dob__broadcast_shape(a->ndim, a->size, b->ndim, b->size, &on, os),
              "%s: shapes %s and %s cannot be broadcast together", name, dob__shape(a), dob__shape(b));
    dob_tensor *out = dob__new_like_shape(DOB_F32, on, os);
    if (!out) return NULL;
    binary_into(op, out, a, b);
    dob_tensor *ins[2] = {a, b};
    dob_node *n = dob__record(name, binary_backward, 2, ins, 1);
    if (n) {
        /* only what binary_backward reads: nothing for add and sub, the other
           factor of a product for each input that needs a gradient */
        bool ga = dob__input_needs_grad(n, 0), gb = dob__input_needs_grad(n, 1);
        bool keep_a = op == DOB_MUL ? gb : op == DOB_DIV ? gb : op != DOB_ADD && op != DOB_SUB;
        bool keep_b = op == DOB_MUL ? ga : op != DOB_ADD && op != DOB_SUB;
        n->iattr[0] = op;
        dob__save(n, keep_a ? a : NULL);
        dob__save(n, keep_b ? b : NULL);
        dob__set_output(n, 0, out);
    }
    return dob__recorded(n, out);
}

/* ---- binary with a scalar ---------------------------------------------------------- */

/* a 0-dim tensor on the stack over *v, so scalar ops reuse the broadcasting
   kernels without allocating */
static void scalar_tensor(dob_tensor *t, dob_storage *s, float *v)
{
    memset(t, 0, sizeof *t);
    s->data = v;
    s->nbytes = sizeof *v;
    s->refcount = 1;
    s->version = 0;
    t->magic = DOB_MAGIC;
    t->dtype = DOB_F32;
    t->refcount = 1;
    t->storage = s;
}

/* iattr[0] = op, iattr[1] = reversed; fattr[0] = s; saved[0] = a */
static int scalar_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    int op = (int)n->iattr[0];
    bool rev = n->iattr[1];
    double s = n->fattr[0];
    dob_tensor *g = gout[0], *a = n->saved[0], *r = NULL;
    switch (op) {
    case DOB_ADD: g->refcount++; r = g; break;
    case DOB_SUB: if (rev) r = dob_unary(DOB_NEG, g); else { g->refcount++; r = g; } break;
    case DOB_MUL: r = dob_binary_scalar(DOB_MUL, g, s, 0); break;
    case DOB_DIV:
        if (!rev) r = dob_binary_scalar(DOB_MUL, g, 1.0 / s, 0);
        else {  /* d(s/a) = -s / a^2 */
            dob_tensor *a2 = dob_unary(DOB_SQUARE, a), *q = a2 ? dob_binary(DOB_DIV, g, a2) : NULL;
            r = q ? dob_binary_scalar(DOB_MUL, q, -s, 0) : NULL;
            dob_release(a2);
            dob_release(q);
        }
        break;
    case DOB_POW:
        if (!rev) {  /* s a^(s-1) */
            dob_tensor *p = dob_binary_scalar(DOB_POW, a, s - 1, 0), *q = p ? dob_binary(DOB_MUL, g, p) : NULL;
            r = q ? dob_binary_scalar(DOB_MUL, q, s, 0) : NULL;
            dob_release(p);
            dob_release(q);
        } else {     /* s^a ln s */
            dob_tensor *p = dob_binary_scalar(DOB_POW, a, s, 1), *q = p ? dob_binary(DOB_MUL, g, p) : NULL;
            r = q ? dob_binary_scalar(DOB_MUL, q, log(s), 0) : NULL;
            dob_release(p);
            dob_release(q);
        }
        break;
    case DOB_MAXIMUM:
    case DOB_MINIMUM: {
        dob_tensor *w = extremum_weight(op == DOB_MAXIMUM ? DOB_LT : DOB_GT, a, NULL, s);
        r = w ? dob_binary(DOB_MUL, g, w) : NULL;
        dob_release(w);
        break;
    }
    }
    gin[0] = r;
    return r ? 0 : -1;
}

dob_tensor *dob_binary_scalar(int op, dob_tensor *a, double s, int reversed)
{
    DOB_CHECK(op >= 0 && op < DOB_BINARY_COUNT, "binary: unknown op %d", op);
    const char *name = binary_name(op);
    DOB_CHECK_F32(a, name, "a");
    dob_tensor *out = dob__empty_like(a);
    if (!out) return NULL;
    float sv = (float)s;
    dob_storage ss;
    dob_tensor sc;
    scalar_tensor(&sc, &ss, &sv);
    if (reversed) binary_into(op, out, &sc, a);
    else binary_into(op, out, a, &sc);
    dob_node *n = dob__record(name, scalar_backward, 1, &a, 1);
    if (n) {
        n->iattr[0] = op;
        n->iattr[1] = reversed != 0;
        n->fattr[0] = s;
        /* add, sub, mul and a / s do not read a */
        bool reads_a = op == DOB_POW || op == DOB_MAXIMUM || op == DOB_MINIMUM || (op == DOB_DIV && reversed);
        dob__save(n, reads_a ? a : NULL);
        dob__set_output(n, 0, out);
    }
    return dob__recorded(n, out);
}

/* ---- in-place forms (not recorded) ------------------------------------------------ */

static int check_inplace_broadcast(const char *op, const dob_tensor *a, const dob_tensor *b)
{
    int on;
    int64_t os[DOB_MAX_DIMS];
    bool ok = dob__broadcast_shape(a->ndim, a->size, b->ndim, b->size, &on, os) && on == a->ndim;
    for (int d = 0; ok && d < on; d++) ok = os[d] == a->size[d];
    DOB_CHECK_INT(ok, "%s: %s cannot be broadcast to the shape %s of the tensor written in place",
                  op, dob__shape(b), dob__shape(a));
    return 0;
}

int dob_binary_(int op, dob_tensor *a, const dob_tensor *b)
{
    DOB_CHECK_INT(op >= 0 && op < DOB_BINARY_COUNT, "binary_: unknown op %d", op);
    const char *name = binary_name(op);
    DOB_CHECK_F32_INT(a, name, "self");
    DOB_CHECK_F32_INT(b, name, "other");
    if (check_inplace_broadcast(name, a, b) || dob__check_writable(a, name)) return -1;
    dob_tensor *src = dob__inplace_source(a, b);
    if (!src) return -1;
    binary_into(op, a, a, src);
    dob_release(src);
    dob__bump_version(a);
    return 0;
}

int dob_binary_scalar_(int op, dob_tensor *a, double s)
{
    DOB_CHECK_INT(op >= 0 && op < DOB_BINARY_COUNT, "binary_: unknown op %d", op);
    const char *name = binary_name(op);
    DOB_CHECK_F32_INT(a, name, "self");
    if (dob__check_writable(a, name)) return -1;
    float sv = (float)s;
    dob_storage ss;
    dob_tensor sc;
    scalar_tensor(&sc, &ss, &sv);
    binary_into(op, a, a, &sc);
    dob__bump_version(a);
    return 0;
}

/* a += alpha * b over chunks; b broadcast to a */
int dob_add_scaled_(dob_tensor *a, const dob_tensor *b, double alpha)
{
    DOB_CHECK_F32_INT(a, "add_", "self");
    DOB_CHECK_F32_INT(b, "add_", "other");
    if (check_inplace_broadcast("add_", a, b) || dob__check_writable(a, "add_")) return -1;
    dob_tensor *src = dob__inplace_source(a, b);
    if (!src) return -1;
    b = src;
    int64_t sb[DOB_MAX_DIMS];
    dob__broadcast_strides(b, a->ndim, a->size, sb);
    const int64_t *strides[2] = {a->stride, sb};
    dob_iter it;
    dob__iter_init(&it, 2, a->ndim, a->size, strides);
    float *pa = dob__f32(a), al = (float)alpha;
    const float *pb = dob__f32(b);
    FOR_EACH_CHUNK(it, {
        int64_t as = it.inner_stride[0], bs = it.inner_stride[1];
        float *x = pa + off[0] + start * as;
        const float *y = pb + off[1] + start * bs;
        if (as == 1 && bs == 1) for (int64_t i = 0; i < len; i++) x[i] += al * y[i];
        else for (int64_t i = 0; i < len; i++) x[i * as] += al * y[i * bs];
    });
    dob_release(src);
    dob__bump_version(a);
    return 0;
}

static int addc_(const char *name, bool divide, dob_tensor *a, double value, const dob_tensor *b,
                 const dob_tensor *c)
{
    DOB_CHECK_F32_INT(a, name, "self");
    DOB_CHECK_F32_INT(b, name, "tensor1");
    DOB_CHECK_F32_INT(c, name, "tensor2");
    if (check_inplace_broadcast(name, a, b) || check_inplace_broadcast(name, a, c) ||
        dob__check_writable(a, name)) return -1;
    dob_tensor *bsrc = dob__inplace_source(a, b), *csrc = bsrc ? dob__inplace_source(a, c) : NULL;
    if (!csrc) { dob_release(bsrc); return -1; }
    b = bsrc;
    c = csrc;
    int64_t sb[DOB_MAX_DIMS], sc[DOB_MAX_DIMS];
    dob__broadcast_strides(b, a->ndim, a->size, sb);
    dob__broadcast_strides(c, a->ndim, a->size, sc);
    const int64_t *strides[3] = {a->stride, sb, sc};
    dob_iter it;
    dob__iter_init(&it, 3, a->ndim, a->size, strides);
    float *pa = dob__f32(a), v = (float)value;
    const float *pb = dob__f32(b), *pc = dob__f32(c);
    FOR_EACH_CHUNK(it, {
        int64_t as = it.inner_stride[0], bs = it.inner_stride[1], cs = it.inner_stride[2];
        float *x = pa + off[0] + start * as;
        const float *y = pb + off[1] + start * bs, *z = pc + off[2] + start * cs;
        if (divide) for (int64_t i = 0; i < len; i++) x[i * as] += v * y[i * bs] / z[i * cs];
        else for (int64_t i = 0; i < len; i++) x[i * as] += v * y[i * bs] * z[i * cs];
    });
    dob_release(bsrc);
    dob_release(csrc);
    dob__bump_version(a);
    return 0;
}

int dob_addcmul_(dob_tensor *a, double value, const dob_tensor *b, const dob_tensor *c)
{
    return addc_("addcmul_", false, a, value, b, c);
}

int dob_addcdiv_(dob_tensor *a, double value, const dob_tensor *b, const dob_tensor *c)
{
    return addc_("addcdiv_", true, a, value, b, c);
}

/* ---- unary ----------------------------------------------------------------------------- */

/* iattr[0] = op, fattr = params; saved: x, out */
/* What each op's gradient reads (unary_grad_row's v and o): the op saves only
   that, so relu or tanh do not keep their input alive until backward. */
static bool unary_grad_reads_input(int op)
{
    return !(op == DOB_NEG || op == DOB_EXP || op == DOB_SQRT || op == DOB_RELU || op == DOB_SIGMOID ||
             op == DOB_TANH || op == DOB_RSQRT || op == DOB_SIGN);
}

static bool unary_grad_reads_output(int op)
{
    return op == DOB_EXP || op == DOB_SQRT || op == DOB_RELU || op == DOB_SIGMOID || op == DOB_TANH ||
           op == DOB_RSQRT || op == U_ELU;
}

static int unary_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    dob_tensor *g = dob__contig(gout[0]);
    dob_tensor *x = n->saved[0] ? dob__contig(n->saved[0]) : NULL;
    dob_tensor *y = n->saved[1] ? dob__contig(n->saved[1]) : NULL;
    dob_tensor *gx = g ? dob__empty_like(g) : NULL;
    int rc = (g && gx && (x || !n->saved[0]) && (y || !n->saved[1])) ? 0 : -1;
    if (!rc) {
        int64_t total = dob__numel_of(g->ndim, g->size);
        int op = (int)n->iattr[0];
        double p0 = n->fattr[0], p1 = n->fattr[1];
        float *pgx = dob__f32(gx);
        /* a value the gradient does not read points at g (never dereferenced for it) */
        const float *pg = dob__f32(g), *px = x ? dob__f32(x) : pg, *py = y ? dob__f32(y) : pg;
        int64_t items = (total + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (items > 1 && total >= DOB_PAR_MIN)
        for (int64_t w = 0; w < items; w++) {
            int64_t s = w * CHUNK, len = total - s < CHUNK ? total - s : CHUNK;
            unary_grad_row(op, p0, p1, len, pgx + s, pg + s, px + s, py + s);
        }
        gin[0] = gx;
    } else {
        dob_release(gx);
    }
    dob_release(g);
    dob_release(x);
    dob_release(y);
    return rc;
}

static dob_tensor *unary_op(int op, double p0, double p1, dob_tensor *a)
{
    const char *name = unary_name(op);
    DOB_CHECK_F32(a, name, "self");
    dob_tensor *out = dob__empty_like(a);
    if (!out) return NULL;
    unary_into(op, p0, p1, out, a);
    dob_node *n = dob__record(name, unary_backward, 1, &a, 1);
    if (n) {
        n->iattr[0] = op;
        n->fattr[0] = p0;
        n->fattr[1] = p1;
        dob__save(n, unary_grad_reads_input(op) ? a : NULL);
        dob__save(n, unary_grad_reads_output(op) ? out : NULL);
        dob__set_output(n, 0, out);
    }
    return dob__recorded(n, out);
}

/* ---- the relu epilogue of conv2d, linear and batch_norm ----------------------------- */

int dob__check_activation(const char *op, int act)
{
    DOB_CHECK_INT(act == DOB_ACT_NONE || act == DOB_ACT_RELU,
                  "%s: activation must be DOB_ACT_NONE (0) or DOB_ACT_RELU (1), got %d", op, act);
    return 0;
}

void dob__relu_inplace(float *y, int64_t n)
{
    int64_t items = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (items > 1 && n >= DOB_PAR_MIN)
    for (int64_t w = 0; w < items; w++) {
        float *row = y + w * CHUNK;
        int64_t len = n - w * CHUNK < CHUNK ? n - w * CHUNK : CHUNK;
        for (int64_t i = 0; i < len; i++) row[i] = dob__relu(row[i]);
    }
}

/* where a gradient's elementwise mask goes (ops.h) */
dob_tensor *dob__mask_target(dob_tensor *g, dob_tensor **gc)
{
    bool owned = g->refcount == 1 && g->storage->refcount == 1 && dob__is_contiguous(g);
    *gc = dob__contig(g);
    if (!*gc) return NULL;
    dob_tensor *out = owned ? ((*gc)->refcount++, *gc) : dob__empty_like(*gc);
    if (!out) {
        dob_release(*gc);
        *gc = NULL;
    }
    return out;
}

/* relu's output is 0 exactly where its input is <= 0, and NaN where the input is,
   so y gives the same factor as the input would: the same bits as relu's backward.
   A gradient nothing else holds (the engine's gradient slot, as its accumulation
   checks) is masked in place, so the op's backward needs no second buffer of
   the output's size. */
dob_tensor *dob__relu_grad(dob_tensor *g, dob_tensor *y)
{
    dob_tensor *gc, *gx = dob__mask_target(g, &gc), *yc = gx ? dob__contig(y) : NULL;
    if (gx && !yc) {
        dob_release(gx);
        gx = NULL;
    }
    if (gx) {
        int64_t total = dob__numel_of(gc->ndim, gc->size), items = (total + CHUNK - 1) / CHUNK;
        float *pgx = dob__f32(gx);
        const float *pg = dob__f32(gc), *py = dob__f32(yc);
#pragma omp parallel for schedule(static) if (items > 1 && total >= DOB_PAR_MIN)
        for (int64_t w = 0; w < items; w++) {
            int64_t s = w * CHUNK, len = total - s < CHUNK ? total - s : CHUNK;
            for (int64_t i = s; i < s + len; i++) pgx[i] = pg[i] * dob__relu_slope(py[i]);
        }
    }
    dob_release(gc);
    dob_release(yc);
    return gx;
}

dob_tensor *dob_unary(int op, dob_tensor *a)
{
    DOB_CHECK(op >= 0 && op < DOB_UNARY_COUNT, "unary: unknown op %d", op);
    return unary_op(op, 0, 0, a);
}

dob_tensor *dob_elu(dob_tensor *a, double alpha) { return unary_op(U_ELU, alpha, 0, a); }
dob_tensor *dob_leaky_relu(dob_tensor *a, double slope) { return unary_op(U_LEAKY, slope, 0, a); }

dob_tensor *dob_clamp(dob_tensor *a, double lo, double hi)
{
    DOB_CHECK(lo <= hi, "clamp: need bounds lo <= hi that are not NaN, got %g and %g", lo, hi);
    return unary_op(U_CLAMP, lo, hi, a);
}

static int unary_inplace(int op, double p0, double p1, dob_tensor *a)
{
    const char *name = unary_name(op);
    DOB_CHECK_F32_INT(a, name, "self");
    if (dob__check_writable(a, name)) return -1;
    unary_into(op, p0, p1, a, a);
    dob__bump_version(a);
    return 0;
}

int dob_unary_(int op, dob_tensor *a)
{
    DOB_CHECK_INT(op >= 0 && op < DOB_UNARY_COUNT, "unary_: unknown op %d", op);
    return unary_inplace(op, 0, 0, a);
}

int dob_clamp_(dob_tensor *a, double lo, double hi)
{
    DOB_CHECK_INT(lo <= hi, "clamp_: need bounds lo <= hi that are not NaN, got %g and %g", lo, hi);
    return unary_inplace(U_CLAMP, lo, hi, a);
}

/* ---- comparisons and where ------------------------------------------------------------- */

static inline bool compare_f(int op, float x, float y)
{
    switch (op) {
    case DOB_EQ: return x == y;
    case DOB_NE: return x != y;
    case DOB_LT: return x < y;
    case DOB_LE: return x <= y;
    case DOB_GT: return x > y;
    default: return x >= y;
    }
}

static dob_tensor *compare_impl(int op, const dob_tensor *a, const dob_tensor *b, double s)
{
    DOB_CHECK(op >= DOB_EQ && op <= DOB_GE, "compare: unknown op %d", op);
    DOB_CHECK_F32(a, "compare", "a");
    int on = a->ndim;
    int64_t os[DOB_MAX_DIMS];
    memcpy(os, a->size, sizeof os);
    if (b) {
        DOB_CHECK_F32(b, "compare", "b");
        DOB_CHECK(dob__broadcast_shape(a->ndim, a->size, b->ndim, b->size, &on, os),
                  "compare: shapes %s and %s cannot be broadcast together", dob__shape(a), dob__shape(b));
    }
    dob_tensor *out = dob__new_like_shape(DOB_U8, on, os);
    if (!out) return NULL;
    int64_t sa[DOB_MAX_DIMS], sb[DOB_MAX_DIMS] = {0};
    dob__broadcast_strides(a, on, os, sa);
    if (b) dob__broadcast_strides(b, on, os, sb);
    const int64_t *strides[3] = {out->stride, sa, sb};
    dob_iter it;
    dob__iter_init(&it, 3, on, os, strides);
    uint8_t *po = dob__u8(out);
    const float *pa = dob__f32(a), *pb = b ? dob__f32(b) : NULL;
    float sv = (float)s;
    FOR_EACH_CHUNK(it, {
        int64_t o_s = it.inner_stride[0], as = it.inner_stride[1], bs = it.inner_stride[2];
        for (int64_t i = start; i < start + len; i++)
            po[off[0] + i * o_s] = compare_f(op, pa[off[1] + i * as], pb ? pb[off[2] + i * bs] : sv);
    });
    return out;
}

dob_tensor *dob_compare(int op, const dob_tensor *a, const dob_tensor *b)
{
    DOB_CHECK_TENSOR(b, "compare", "b");
    return compare_impl(op, a, b, 0);
}

dob_tensor *dob_compare_scalar(int op, const dob_tensor *a, double s) { return compare_impl(op, a, NULL, s); }

/* saved[0] = cond as F32 0/1 */
static int where_backward(dob_node *n, dob_tensor *const *gout, dob_tensor **gin)
{
    dob_tensor *m = n->saved[0];
    if (dob__input_needs_grad(n, 1) && give(n, gin, 1, dob_binary(DOB_MUL, gout[0], m))) return -1;
    if (dob__input_needs_grad(n, 2)) {
        dob_tensor *inv = dob_binary_scalar(DOB_SUB, m, 1.0, 1);
        int rc = inv ? give(n, gin, 2, dob_binary(DOB_MUL, gout[0], inv)) : -1;
        dob_release(inv);
        return rc;
    }
    return 0;
}

dob_tensor *dob_where(const dob_tensor *cond, dob_tensor *a, dob_tensor *b)
{
    DOB_CHECK_TENSOR(cond, "where", "cond");
    DOB_CHECK_F32(a, "where", "a");
    DOB_CHECK_F32(b, "where", "b");
    int n1, on;
    int64_t s1[DOB_MAX_DIMS], os[DOB_MAX_DIMS];
    DOB_CHECK(dob__broadcast_shape(a->ndim, a->size, b->ndim, b->size, &n1, s1) &&
              dob__broadcast_shape(cond->ndim, cond->size, n1, s1, &on, os),
              "where: shapes %s, %s and %s cannot be broadcast together", dob__shape(cond),
              dob__shape(a), dob__shape(b));
    /* mask as F32 0/1 with the condition's shape; then out = b + m (a - b) */
    dob_tensor *m = dob__new_like_shape(DOB_F32, cond->ndim, cond->size);
    if (!m) return NULL;
    dob__copy_strided(m, cond);
    float *pm = dob__f32(m);
    int64_t nm = dob__numel_of(m->ndim, m->size);
    for (int64_t i = 0; i < nm; i++) pm[i] = pm[i] != 0 ? 1.0f : 0.0f;
    dob_tensor *out = dob__new_like_shape(DOB_F32, on, os);
    if (!out) { dob_release(m); return NULL; }
    int64_t sc[DOB_MAX_DIMS], sa[DOB_MAX_DIMS], sb[DOB_MAX_DIMS];
    dob__broadcast_strides(m, on, os, sc);
    dob__broadcast_strides(a, on, os, sa);
    dob__broadcast_strides(b, on, os, sb);
    /* three inputs and an output: iterate the output contiguously by index */
    int64_t total = dob__numel_of(on, os);
    float *po = dob__f32(out);
    const float *pa = dob__f32(a), *pb = dob__f32(b);
#pragma omp parallel for schedule(static) if (total >= DOB_PAR_MIN)
    for (int64_t i = 0; i < total; i++) {
        int64_t r = i, oc = 0, oa = 0, ob = 0;
        for (int d = on - 1; d >= 0; d--) {
            int64_t k = r % os[d];
            r /= os[d];
            oc += k * sc[d];
            oa += k * sa[d];
            ob += k * sb[d];
        }
        po[i] = pm[oc] != 0 ? pa[oa] : pb[ob];
    }
    dob_tensor *ins[3] = {NULL, a, b};
    dob_node *n = dob__record("where", where_backward, 3, ins, 1);
    if (n) {
        dob__save(n, m);
        dob__set_output(n, 0, out);
    }
    dob_release(m);
    return dob__recorded(n, out);
}

/* ---- broadcast reduction, finiteness ------------------------------------------------ */

dob_tensor *dob_sum_to_shape(dob_tensor *g, int ndim, const int64_t *sizes)
{
    DOB_CHECK_F32(g, "sum_to_shape", "self");
    if (dob__check_sizes("sum_to_shape", ndim, sizes)) return NULL;
    DOB_CHECK(ndim <= g->ndim, "sum_to_shape: cannot reduce %s to %s", dob__shape(g),
              dob__sizes_str(ndim, sizes));
    int lead = g->ndim - ndim;
    for (int d = 0; d < ndim; d++)
        DOB_CHECK(sizes[d] == g->size[lead + d] || sizes[d] == 1, "sum_to_shape: cannot reduce %s to %s",
                  dob__shape(g), dob__sizes_str(ndim, sizes));
    dob_tensor *out = dob_zeros(DOB_F32, ndim, sizes);
    if (!out) return NULL;
    int64_t nout = dob__numel_of(ndim, sizes);
    double *acc = calloc((size_t)(nout ? nout : 1), sizeof *acc);
    if (!acc) { dob_release(out); return dob__failp("sum_to_shape: out of memory"); }
    /* output strides over g's shape: 0 on summed dims */
    int64_t ost[DOB_MAX_DIMS], s = 1;
    for (int d = g->ndim - 1; d >= 0; d--) {
        int k = d - lead;
        if (k < 0 || sizes[k] == 1) ost[d] = 0;
        else ost[d] = s;
        if (k >= 0) s *= sizes[k];
    }
    const int64_t *strides[2] = {g->stride, ost};
    dob_iter it;
    dob__iter_init(&it, 2, g->ndim, g->size, strides);
    const float *pg = dob__f32(g);
    for (int64_t r = 0; r < it.nrows; r++) {
        int64_t off[2];
        dob__iter_row(&it, r, off);
        const float *x = pg + off[0];
        double *y = acc + off[1];
        int64_t gs = it.inner_stride[0], ys = it.inner_stride[1];
        if (ys == 0) {
            double t = 0;
            for (int64_t i = 0; i < it.row_len; i++) t += x[i * gs];
            y[0] += t;
        } else {
            for (int64_t i = 0; i < it.row_len; i++) y[i * ys] += x[i * gs];
        }
    }
    float *po = dob__f32(out);
    for (int64_t i = 0; i < nout; i++) po[i] = (float)acc[i];
    free(acc);
    return out;
}

int dob_all_finite(const dob_tensor *t)
{
    if (!dob_is_valid(t) || t->dtype != DOB_F32) return 1;
    const int64_t *strides[1] = {t->stride};
    dob_iter it;
    dob__iter_init(&it, 1, t->ndim, t->size, strides);
    const float *p = dob__f32(t);
    int ok = 1;
    for (int64_t r = 0; r < it.nrows && ok; r++) {
        int64_t off[1];
        dob__iter_row(&it, r, off);
        for (int64_t i = 0; i < it.row_len; i++)
            if (!isfinite(p[off[0] + i * it.inner_stride[0]])) { ok = 0; break; }
    }
    return ok;
}
