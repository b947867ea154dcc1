/* autograd.c — the reverse-mode graph: recording nodes, backward, grad mode.
 *
 * Every recorded op creates a node that holds a reference to the node (or
 * the leaf) behind each input, the tensors it saved for backward, and the
 * shapes of its inputs and outputs. Outputs hold a reference to their node;
 * saved tensors are detached aliases, so the graph has no cycles and is
 * freed by reference counting when the last output dies. A saved tensor that
 * an input's producer can make again from what it saved itself (batch norm's
 * output, from its input) is kept as that recipe: the producer's output then
 * dies with its last Lua reference, and the consumer's backward gets a fresh
 * copy, freed as soon as it ran (recomputing where storing would double the
 * activations, as gradient checkpointing does, only here for one cheap op).
 *
 * Nodes are numbered in creation order. An op's inputs always exist before
 * it, so visiting the reachable nodes in decreasing number is a topological
 * order: backward needs no recursion and no dependency counting.
 */
#include "autograd/autograd.h"
#include <stdlib.h>

/* elements per piece of a gradient sum (as the elementwise ops' pieces) */
#define ACCUMULATE_CHUNK 16384

static uint64_t node_seq, backward_pass;

/* ---- nodes ---------------------------------------------------------------------- */

static void free_saved(dob_node *n)
{
    for (int i = 0; i < n->nsaved; i++) {
        dob_release(n->saved[i]);
        n->saved[i] = NULL;
        n->saved_from[i] = 0;
    }
    n->nsaved = 0;
}

static void node_release(dob_node *n)
{
    /* an explicit stack: a long chain of nodes (an unrolled RNN, a loop of
       ops) must not recurse once per node */
    dob_node *stack_small[64], **stack = stack_small;
    int cap = 64, top = 0;
    stack[top++] = n;
    while (top > 0) {
        dob_node *m = stack[--top];
        if (--m->refcount > 0) continue;
        free_saved(m);
        for (int k = 0; k < m->noutputs; k++)
            if (m->gout[k]) dob_release(m->gout[k]);
        for (int i = 0; i < m->ninputs; i++) {
            if (m->next[i].leaf) dob_release(m->next[i].leaf);
            if (m->next[i].node) {
                if (top == cap) {
                    dob_node **bigger = malloc(sizeof *bigger * (size_t)cap * 2);
                    if (!bigger) { m->next[i].node->refcount--; continue; } /* leaks, never crashes */
                    memcpy(bigger, stack, sizeof *stack * (size_t)top);
                    if (stack != stack_small) free(stack);
                    stack = bigger;
                    cap *= 2;
                }
                stack[top++] = m->next[i].node;
            }
        }
        free(m);
        dob__count_nodes(-1);
    }
    if (stack != stack_small) free(stack);
}

/* What dob__record returns when it cannot allocate the node: ops fill it in
   like a node (nothing sticks), and dob__recorded then fails the op. */
static _Thread_local dob_node failed_node = {.failed = true};

dob_node *dob__record(const char *name, dob_backward_fn fn, int ninputs,
                      dob_tensor *const *inputs, int noutputs)
{
    if (!dob__grad_mode()) return NULL;
    bool any = false;
    for (int i = 0; i < ninputs; i++)
        if (inputs[i] && inputs[i]->dtype == DOB_F32 && dob__tracks(inputs[i])) any = true;
    if (!any) return NULL;
    dob_node *n = calloc(1, sizeof *n + sizeof(dob_edge) * (size_t)ninputs);
    if (!n) {
        dob__fail("%s: out of memory recording the op for backward", name);
        return &failed_node;
    }
    dob__count_nodes(1);
    n->base.release = node_release;
    n->refcount = 0;       /* outputs and consumers add theirs */
    n->seq = ++node_seq;
    n->name = name;
    n->backward = fn;
    n->noutputs = noutputs;
    n->ninputs = ninputs;
    for (int i = 0; i < ninputs; i++) {
        dob_tensor *t = inputs[i];
        dob_edge *e = &n->next[i];
        if (!t) continue;
        e->ndim = t->ndim;
        memcpy(e->size, t->size, sizeof e->size);
        if (t->dtype != DOB_F32) continue;
        if (t->grad_fn) {
            e->node = t->grad_fn;
            e->output_nr = t->output_nr;
            e->node->refcount++;
        } else if (t->requires_grad) {
            e->leaf = t;
            t->refcount++;
        }
    }
    return n;
}

/* the input of n whose producer can recompute t exactly as t is now, or -1 */
static int regen_source(const dob_node *n, const dob_tensor *t)
{
    const dob_node *p = t ? t->grad_fn : NULL;
    if (!p || !p->regen || p == n || t->offset != 0 || !dob__is_contiguous(t)) return -1;
    int k = t->output_nr;
    if (t->storage->version != p->out_version[k] || t->ndim != p->out_ndim[k] ||
        memcmp(t->size, p->out_size[k], sizeof(int64_t) * (size_t)t->ndim))
        return -1;
    for (int i = 0; i < n->ninputs; i++)
        if (n->next[i].node == p && n->next[i].output_nr == k) return i;
    return -1;
}

void dob__save(dob_node *n, dob_tensor *t)
{
    if (!n || n->failed) return;
    if (n->nsaved == DOB_NODE_MAX_SAVED) {
        n->failed = true;
        dob__fail("%s: internal error: the op saves more than %d tensors for backward", n->name,
                  DOB_NODE_MAX_SAVED);
        return;
    }
    int from = regen_source(n, t);
    if (from >= 0) {
        int i = n->nsaved++;
        n->saved[i] = NULL;
        n->saved_from[i] = 1 + from;
        return;
    }
    dob_tensor *alias = t ? dob__alias(t, t->ndim, t->size, t->stride, t->offset) : NULL;
    if (t && !alias) {
        n->failed = true;
        dob__fail("%s: out of memory saving a tensor for backward", n->name);
        return;
    }
    int i = n->nsaved++;
    n->saved[i] = alias;
    n->saved_version[i] = t ? t->storage->version : 0;
}

dob_tensor *dob__recorded(dob_node *n, dob_tensor *out)
{
    if (!n || !n->failed) return out;
    if (n != &failed_node && n->refcount == 0) {   /* no output holds it yet */
        n->refcount = 1;
        node_release(n);
    }
    dob_release(out);
    return NULL;
}

void dob__set_output(dob_node *n, int k, dob_tensor *out)
{
    if (!n || n->failed || !out) return;
    out->grad_fn = n;
    out->output_nr = k;
    out->requires_grad = 1;
    n->refcount++;
    n->out_version[k] = out->storage->version;
    n->out_ndim[k] = out->ndim;
    memcpy(n->out_size[k], out->size, sizeof n->out_size[k]);
}

/* ---- leaf flags and gradients -------------------------------------------------- */

int dob_requires_grad(const dob_tensor *t) { return dob_is_valid(t) && dob__tracks(t); }
int dob_is_leaf(const dob_tensor *t) { return dob_is_valid(t) && !t->grad_fn; }

const char *dob_grad_fn_name(const dob_tensor *t)
{
    return dob_is_valid(t) && t->grad_fn ? t->grad_fn->name : "";
}

int dob_set_requires_grad(dob_tensor *t, int flag)
{
    DOB_CHECK_TENSOR_INT(t, "set_requires_grad", "self");
    DOB_CHECK_INT(!t->grad_fn, "set_requires_grad: only leaves can change requires_grad; "
                  "this tensor was produced by '%s' (detach() it first)", t->grad_fn->name);
    DOB_CHECK_INT(!flag || t->dtype == DOB_F32, "set_requires_grad: only float32 tensors can "
                  "require grad, this one is %s", dob__dtype_name(t->dtype));
    t->requires_grad = flag != 0;
    return 0;
}

dob_tensor *dob_grad(const dob_tensor *t)
{
    if (!dob_is_valid(t) || !t->grad) return NULL;
    t->grad->refcount++;
    return t->grad;
}

int dob_set_grad(dob_tensor *t, dob_tensor *g)
{
    DOB_CHECK_TENSOR_INT(t, "set_grad", "self");
    if (g) {
        DOB_CHECK_F32_INT(g, "set_grad", "grad");
        DOB_CHECK_INT(dob__same_shape(t, g), "set_grad: gradient %s does not match tensor %s",
                      dob__shape(g), dob__shape(t));
        /* backward accumulates into g in place */
        DOB_CHECK_INT(!dob__has_internal_overlap(g), "set_grad: more than one element of the gradient "
                      "tensor %s refers to a single memory location (an expand()ed view), so backward "
                      "would add into it several times; clone() it first", dob__shape(g));
        DOB_CHECK_INT(dob__overlap(t, g) == DOB_OVERLAP_NONE, "set_grad: the gradient shares memory with the "
                      "tensor %s itself, so backward would change the tensor; give it a buffer of its own",
                      dob__shape(t));
        g->refcount++;
    }
    if (t->grad) dob_release(t->grad);
    t->grad = g;
    return 0;
}

dob_tensor *dob_detach(dob_tensor *t)
{
    DOB_CHECK_TENSOR(t, "detach", "self");
    return dob__alias(t, t->ndim, t->size, t->stride, t->offset);
}

/* ---- backward ------------------------------------------------------------------- */

static void add_row(int64_t n, float *d, int64_t ds, const float *x, int64_t xs, const float *y, int64_t ys)
{
    if (ds == 1 && xs == 1 && ys == 1) for (int64_t i = 0; i < n; i++) d[i] = x[i] + y[i];
    else for (int64_t i = 0; i < n; i++) d[i * ds] = x[i * xs] + y[i * ys];
}

/* dst = a + b elementwise, for tensors of one shape (dst may be a); the same
   per-element sums as the public add, so gradients are the same bits */
static void add_into(dob_tensor *dst, const dob_tensor *a, const dob_tensor *b)
{
    const int64_t *strides[3] = {dst->stride, a->stride, b->stride};
    dob_iter it;
    dob__iter_init(&it, 3, dst->ndim, dst->size, strides);
    float *pd = dob__f32(dst);
    const float *pa = dob__f32(a), *pb = dob__f32(b);
    DOB_FOR_EACH_CHUNK(it, ACCUMULATE_CHUNK, {
        int64_t ds = it.inner_stride[0], as = it.inner_stride[1], bs = it.inner_stride[2];
        add_row(len, pd + off[0] + start * ds, ds, pa + off[1] + start * as, as, pb + off[2] + start * bs, bs);
    });
}

/* g joins the gradient gathered in dst, in place (dst is owned and has g's
   shape); g is released */
static int add_in_place(dob_tensor *dst, dob_tensor *g)
{
    dob_tensor *src = dob__inplace_source(dst, g);
    dob_release(g);
    if (!src) return -1;
    add_into(dst, dst, src);
    dob_release(src);
    dob__bump_version(dst);
    return 0;
}

/* g joins the gradient gathered in *slot: the first one is kept as it is,
   later ones are added. A kept tensor may be shared (an op can hand the same
   gradient to two inputs), so we add in place only into tensors we own. */
static int accumulate(dob_tensor **slot, dob_tensor *g)
{
    if (!*slot) { *slot = g; return 0; }
    dob_tensor *cur = *slot;
    if (cur->refcount == 1 && cur->storage->refcount == 1 && dob__is_contiguous(cur))
        return add_in_place(cur, g);
    dob_tensor *sum = dob__new_like_shape(DOB_F32, cur->ndim, cur->size);
    if (sum) add_into(sum, cur, g);
    dob_release(g);
    if (!sum) return -1;
    dob_release(cur);
    *slot = sum;
    return 0;
}

static int accumulate_leaf(dob_tensor *leaf, dob_tensor *g)
{
    if (!leaf->grad) {
        /* a gradient nothing else holds becomes the leaf's grad as it is (as
           PyTorch's AccumulateGrad steals it); anything else is copied into a
           fresh, owned buffer with the leaf's shape */
        if (g->refcount == 1 && g->storage->refcount == 1 && !g->grad_fn && g->dtype == DOB_F32 &&
            g->offset == 0 && dob__is_contiguous(g) && dob__same_shape(g, leaf)) {
            leaf->grad = g;
            return 0;
        }
        dob_tensor *buf = dob__new_like_shape(DOB_F32, leaf->ndim, leaf->size);
        if (!buf) { dob_release(g); return -1; }
        dob__copy_strided(buf, g);
        dob_release(g);
        leaf->grad = buf;
        return 0;
    }
    return add_in_place(leaf->grad, g);
}

dob_tensor *dob__grad_sink(const dob_node *n, int i, dob_tensor *const *reads, int nreads)
{
    dob_tensor *leaf = n->next[i].leaf, *g = leaf ? leaf->grad : NULL;
    if (!g || g->dtype != DOB_F32 || !dob__is_contiguous(g) || !dob__same_shape(g, leaf)) return NULL;
    for (int k = 0; k < nreads; k++)
        if (reads[k] && dob__overlap(g, reads[k]) != DOB_OVERLAP_NONE) return NULL;
    return g;
}

void dob__grad_sink_done(dob_tensor *sink) { dob__bump_version(sink); }

static int by_seq_desc(const void *a, const void *b)
{
    uint64_t x = (*(dob_node *const *)a)->seq, y = (*(dob_node *const *)b)->seq;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* the reachable nodes, each once, in decreasing creation order */
static dob_node **collect(dob_node *root, int64_t *count)
{
    uint64_t pass = ++backward_pass;
    int64_t cap = 64, n = 0, top = 0;
    dob_node **out = malloc(sizeof *out * (size_t)cap);
    dob_node **stack = malloc(sizeof *stack * (size_t)cap);
    int64_t scap = cap;
    if (!out || !stack) goto oom;
    root->visit = pass;
    stack[top++] = root;
    while (top > 0) {
        dob_node *m = stack[--top];
        if (n == cap) {
            dob_node **b = realloc(out, sizeof *out * (size_t)(cap *= 2));
            if (!b) goto oom;
            out = b;
        }
        out[n++] = m;
        for (int i = 0; i < m->ninputs; i++) {
            dob_node *c = m->next[i].node;
            if (!c || c->visit == pass) continue;
            c->visit = pass;
            if (top == scap) {
                dob_node **b = realloc(stack, sizeof *stack * (size_t)(scap *= 2));
                if (!b) goto oom;
                stack = b;
            }
            stack[top++] = c;
        }
    }
    free(stack);
    qsort(out, (size_t)n, sizeof *out, by_seq_desc);
    *count = n;
    return out;
oom:
    free(out);
    free(stack);
    return dob__failp("backward: out of memory collecting the graph");
}

/* fails unless m's saved tensors are there, unchanged since they were saved */
static int check_saved(const dob_node *m)
{
    if (m->released)
        return dob__fail("backward: trying to backward through the graph a second time "
                         "(through '%s'); its saved tensors were freed. Pass retain_graph the "
                         "first time if you need this", m->name);
    for (int i = 0; i < m->nsaved; i++) {
        const dob_tensor *s = m->saved[i];
        if (s && s->storage->version != m->saved_version[i])
            return dob__fail("backward: a tensor saved by '%s' for backward (%s) was modified "
                             "in place after it was saved; clone() it before modifying it",
                             m->name, dob__shape(s));
    }
    return 0;
}

/* the saved tensors m keeps as recipes, recomputed by their producers */
static int regenerate_saved(dob_node *m)
{
    for (int i = 0; i < m->nsaved; i++) {
        if (!m->saved_from[i] || m->saved[i]) continue;
        const dob_edge *e = &m->next[m->saved_from[i] - 1];
        if (check_saved(e->node)) return -1;
        if (!(m->saved[i] = e->node->regen(e->node, e->output_nr))) return -1;
        m->saved_version[i] = m->saved[i]->storage->version;
    }
    return 0;
}

/* the recomputed copies go as soon as m's backward ran (retain_graph or not) */
static void drop_regenerated(dob_node *m)
{
    for (int i = 0; i < m->nsaved; i++) {
        if (!m->saved_from[i]) continue;
        dob_release(m->saved[i]);
        m->saved[i] = NULL;
    }
}

static int run_node(dob_node *m)
{
    bool any = false;
    for (int k = 0; k < m->noutputs; k++) any |= m->gout[k] != NULL;
    if (m->released) return check_saved(m);
    if (!any) return 0;
    if (check_saved(m)) return -1;
    for (int k = 0; k < m->noutputs; k++) {
        if (!m->gout[k]) {
            m->gout[k] = dob_zeros(DOB_F32, m->out_ndim[k], m->out_size[k]);
            if (!m->gout[k]) return -1;
        }
    }
    dob_tensor *gin_small[8], **gin = gin_small;
    if (m->ninputs > 8 && !(gin = calloc((size_t)m->ninputs, sizeof *gin)))
        return dob__fail("backward: out of memory");
    if (regenerate_saved(m)) {
        drop_regenerated(m);
        if (gin != gin_small) free(gin);
        return -1;
    }
    for (int i = 0; i < m->ninputs && i < 8; i++) gin[i] = NULL;
    int rc = m->backward(m, m->gout, gin);
    drop_regenerated(m);
    for (int i = 0; i < m->ninputs; i++) {
        dob_tensor *g = gin[i];
        if (!g) continue;
        dob_edge *e = &m->next[i];
        if (rc == 0 && (g->ndim != e->ndim ||
                        memcmp(g->size, e->size, sizeof(int64_t) * (size_t)e->ndim))) {
            rc = dob__fail("backward: '%s' produced a gradient %s for an input of shape %s",
                           m->name, dob__shape(g), dob__sizes_str(e->ndim, e->size));
        }
        if (rc) { dob_release(g); continue; }
        if (e->node) rc = accumulate(&e->node->gout[e->output_nr], g);
        else if (e->leaf) rc = accumulate_leaf(e->leaf, g);
        else dob_release(g);
    }
    if (gin != gin_small) free(gin);
    for (int k = 0; k < m->noutputs; k++) {
        dob_release(m->gout[k]);
        m->gout[k] = NULL;
    }
    return rc;
}

int dob_backward(dob_tensor *root, dob_tensor *grad_root, int retain_graph)
{
    DOB_CHECK_F32_INT(root, "backward", "root");
    if (grad_root) {
        DOB_CHECK_F32_INT(grad_root, "backward", "gradient");
        DOB_CHECK_INT(dob__same_shape(root, grad_root), "backward: gradient %s does not match %s",
                      dob__shape(grad_root), dob__shape(root));
    } else {
        DOB_CHECK_INT(dob__numel_of(root->ndim, root->size) == 1,
                      "backward: root %s is not a scalar; pass a gradient of the same shape "
                      "(or reduce it with sum()/mean() first)", dob__shape(root));
    }
    DOB_CHECK_INT(dob__tracks(root), "backward: the tensor does not require grad (was it computed "
                  "under no_grad, or from inputs none of which requires grad?)");
    dob_tensor *seed = grad_root ? dob__contig(grad_root) : dob_full(DOB_F32, root->ndim, root->size, 1.0);
    if (!seed) return -1;
    int old_mode = dob_set_grad_enabled(0);
    int rc = 0;
    if (!root->grad_fn) {
        rc = accumulate_leaf(root, seed);
        dob_set_grad_enabled(old_mode);
        return rc;
    }
    int64_t count = 0;
    dob_node **order = collect(root->grad_fn, &count);
    if (!order) { dob_release(seed); dob_set_grad_enabled(old_mode); return -1; }
    for (int64_t i = 0; i < count; i++)   /* leftovers of an earlier failed pass */
        for (int k = 0; k < order[i]->noutputs; k++)
            if (order[i]->gout[k]) { dob_release(order[i]->gout[k]); order[i]->gout[k] = NULL; }
    root->grad_fn->gout[root->output_nr] = seed;
    for (int64_t i = 0; i < count && rc == 0; i++) {
        rc = run_node(order[i]);
        /* as PyTorch does, a node's saved tensors go as soon as its backward ran:
           the activations of the last layers are freed while the first ones'
           gradients are computed, so backward's peak stays near forward's */
        if (rc == 0 && !retain_graph) {
            free_saved(order[i]);
            order[i]->released = true;
        }
    }
    for (int64_t i = 0; i < count; i++)
        for (int k = 0; k < order[i]->noutputs; k++)
            if (order[i]->gout[k]) { dob_release(order[i]->gout[k]); order[i]->gout[k] = NULL; }
    free(order);
    dob_set_grad_enabled(old_mode);
    return rc;
}
