/*
 * autograd/autograd.h — the reverse-mode graph: nodes, edges, and how an op
 * records itself. Sits on tensor/; the ops above record through it.
 */
#ifndef DOB_AUTOGRAD_AUTOGRAD_H
#define DOB_AUTOGRAD_AUTOGRAD_H

#include "tensor/tensor.h"

#define DOB_NODE_MAX_SAVED 12
#define DOB_NODE_MAX_OUT 4

/* Computes gradients of the inputs from the gradients of the outputs.
   gout[k] is never NULL (missing output grads are zero-filled); gin[i] is
   pre-set to NULL and must be filled (new reference) where
   dob__input_needs_grad(n, i). Runs with grad mode off. */
typedef int (*dob_backward_fn)(dob_node *n, dob_tensor *const *gout, dob_tensor **gin);

/* Recomputes output k of n, bit for bit, from what n saved (a new, contiguous
   reference), or NULL with the error set. An op whose output is cheap to make
   again from its saved tensors sets n->regen; then a consumer that saves that
   output keeps a recipe instead of the tensor (see dob__save). */
typedef dob_tensor *(*dob_regen_fn)(dob_node *n, int k);

typedef struct dob_edge {
    dob_node *node;        /* producer of the input (referenced), or NULL */
    int output_nr;
    dob_tensor *leaf;      /* a leaf that requires grad (referenced), or NULL */
    int ndim;
    int64_t size[DOB_MAX_DIMS];
} dob_edge;

struct dob_node {
    dob_node_base base;    /* first: what the tensor layer calls to release it */
    int64_t refcount;
    uint64_t seq;          /* creation order: reverse order is topological */
    uint64_t visit;        /* backward pass that last collected this node */
    const char *name;
    dob_backward_fn backward;
    dob_regen_fn regen;    /* or NULL: the outputs cannot be recomputed */
    bool released;         /* saved tensors already freed by a backward */
    bool failed;           /* recording ran out of memory or saved too much */
    int noutputs;
    int out_ndim[DOB_NODE_MAX_OUT];
    int64_t out_size[DOB_NODE_MAX_OUT][DOB_MAX_DIMS];
    uint64_t out_version[DOB_NODE_MAX_OUT];  /* the outputs' storage versions when made */
    dob_tensor *gout[DOB_NODE_MAX_OUT];   /* grads gathered during backward */
    int nsaved;
    dob_tensor *saved[DOB_NODE_MAX_SAVED];
    uint64_t saved_version[DOB_NODE_MAX_SAVED];
    /* 1 + the input whose producer recomputes saved[i] for the backward (saved[i]
       is NULL until then), or 0: saved[i] is the tensor itself */
    int saved_from[DOB_NODE_MAX_SAVED];
    int64_t iattr[16];
    double fattr[8];
    int ninputs;
    dob_edge next[];       /* one per input */
};

/* Starts recording an op with these inputs. Returns NULL (and records
   nothing) when grad mode is off or no input needs grad: callers just skip
   saving. NULL inputs are allowed (optional arguments). Recording that runs
   out of memory, or saves more than DOB_NODE_MAX_SAVED tensors, marks the
   node failed: the op ends with `return dob__recorded(n, out)`, which then
   releases out and returns NULL (the error is set) - a result must never
   silently stop tracking gradients. */
dob_node *dob__record(const char *name, dob_backward_fn fn, int ninputs,
                      dob_tensor *const *inputs, int noutputs);
/* Saves t for backward (a detached alias; its version is checked later).
   When t is, unchanged and whole, the output of an input's producer that can
   recompute it (regen), only that recipe is kept: t's memory goes when the
   caller drops t, and the backward of n sees a recomputed copy, made just
   before it runs and freed right after. */
void dob__save(dob_node *n, dob_tensor *t);
/* Makes out the k-th output of n. */
void dob__set_output(dob_node *n, int k, dob_tensor *out);
/* out, or NULL (out released) when recording n failed */
dob_tensor *dob__recorded(dob_node *n, dob_tensor *out);
static inline bool dob__input_needs_grad(const dob_node *n, int i)
{
    return n->next[i].node != NULL || n->next[i].leaf != NULL;
}
/* Where input i's gradient may be added in place, or NULL: the .grad of a leaf
   input that already has one (contiguous, sharing no memory with `reads`, the
   tensors the backward reads). A backward that adds into it (e.g. a GEMM with
   beta = 1) leaves gin[i] NULL and calls dob__grad_sink_done, so a large
   weight gradient is not computed into a temporary first. */
dob_tensor *dob__grad_sink(const dob_node *n, int i, dob_tensor *const *reads, int nreads);
void dob__grad_sink_done(dob_tensor *sink);

#endif
