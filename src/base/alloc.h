/*
 * base/alloc.h — where storage and scratch memory come from, and the
 * engine's memory counters.
 *
 * The allocator seam (as TH's THAllocator): a storage records the allocator
 * that made it and gives its memory back to that one, so a caching, arena or
 * device allocator can be put in place without touching the ops. The default
 * is the size-class caching allocator of alloc.c. The counters of
 * dob_mem_get_stats (bytes, tensors, nodes) all live in alloc.c.
 */
#ifndef DOB_BASE_ALLOC_H
#define DOB_BASE_ALLOC_H

#include "base/error.h"

typedef struct dob_allocator {
    /* 64-byte aligned memory of at least nbytes; NULL with the error set */
    void *(*alloc)(void *ctx, size_t nbytes);
    /* gives back p, which alloc made with this nbytes (NULL is a no-op) */
    void (*free)(void *ctx, void *p, size_t nbytes);
    void *ctx;
} dob_allocator;

/* the allocator new storage comes from */
const dob_allocator *dob__allocator(void);
/* makes a the allocator of new storage (NULL: the default); storage made
   before keeps freeing through its own. Called between ops on the thread that
   drives the engine, as every allocation is. */
void dob__set_allocator(const dob_allocator *a);

/* scratch buffers for kernels (im2col, ...), from the current allocator;
   taken and given back within one op */
void *dob__alloc(size_t nbytes);
void dob__free(void *p, size_t nbytes);
#define dob__scratch_alloc dob__alloc
#define dob__scratch_free dob__free

/* the tensor and node counts of dob_mem_get_stats (delta +1 or -1) */
void dob__count_tensors(int delta);
void dob__count_nodes(int delta);

#endif
