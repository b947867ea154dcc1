/* alloc.c — the allocator seam, the default size-class caching allocator for
 * tensor storage and scratch, and the memory counters.
 *
 * Why: a first write to a fresh page costs ~11 us on this VM, so a framework
 * that gives big buffers back to the OS each step spends most of the step in
 * page faults. Freed blocks go to a free list per size class and the next
 * request of that class reuses them. Classes are 4 per power of two (at most
 * 25% slack). Blocks of 2 MiB and more are 2 MiB-aligned and advised as huge
 * pages, which fault in ~10x faster. Only the Lua thread allocates (kernels
 * running in OpenMP regions get their buffers before the region starts), so
 * there is no locking.
 *
 * Every counter of dob_mem_get_stats lives here: the default allocator's bytes,
 * and the tensor and node counts that the layers above report through
 * dob__count_tensors and dob__count_nodes. An allocator put in place with
 * dob__set_allocator keeps its own byte counts.
 */
#include "base/alloc.h"
#include <stdlib.h>
#include <sys/mman.h>

#define NCLASSES 256
#define HUGE_BYTES ((size_t)2 << 20)

typedef struct block { struct block *next; } block;

static block *free_list[NCLASSES];
static dob_mem_stats stats;

static int size_class(size_t n, size_t *class_bytes)
{
    if (n <= 64) { *class_bytes = 64; return 0; }
    int e = 63 - __builtin_clzll((unsigned long long)(n - 1));  /* 2^e < n <= 2^(e+1) */
    size_t base = (size_t)1 << e, quarter = base / 4;
    size_t sub = (n - base + quarter - 1) / quarter;             /* 1..4 */
    *class_bytes = base + sub * quarter;
    return (e - 5) * 4 + (int)sub - 1;
}

static void *cache_alloc(void *ctx, size_t nbytes)
{
    size_t cb;
    int c = size_class(nbytes ? nbytes : 1, &cb);
    void *p = NULL;
    if (c < NCLASSES && free_list[c]) {
        p = free_list[c];
        free_list[c] = free_list[c]->next;
        stats.cached_bytes -= (int64_t)cb;
    } else {
        size_t align = cb >= HUGE_BYTES ? HUGE_BYTES : 64;
        if (posix_memalign(&p, align, cb) != 0) {
            /* the cache may hold enough memory: give it back and retry once */
            dob_mem_trim();
            if (posix_memalign(&p, align, cb) != 0)
                return dob__failp("out of memory allocating %zu bytes", nbytes);
        }
        if (cb >= HUGE_BYTES) madvise(p, cb, MADV_HUGEPAGE);
    }
    stats.live_bytes += (int64_t)cb;
    stats.allocated_total += (int64_t)cb;
    if (stats.live_bytes > stats.peak_live_bytes) stats.peak_live_bytes = stats.live_bytes;
    return p;
}

static void cache_free(void *ctx, void *p, size_t nbytes)
{
    if (!p) return;
    size_t cb;
    int c = size_class(nbytes ? nbytes : 1, &cb);
    stats.live_bytes -= (int64_t)cb;
    if (c >= NCLASSES) { free(p); return; }
    block *b = p;
    b->next = free_list[c];
    free_list[c] = b;
    stats.cached_bytes += (int64_t)cb;
}

void dob_mem_trim(void)
{
    for (int c = 0; c < NCLASSES; c++) {
        while (free_list[c]) {
            block *b = free_list[c];
            free_list[c] = b->next;
            free(b);
        }
    }
    stats.cached_bytes = 0;
}

int64_t dob_mem_live_bytes(void) { return stats.live_bytes; }

void dob_mem_get_stats(dob_mem_stats *out)
{
    if (!out) return;
    *out = stats;
}

void dob__count_tensors(int delta) { stats.live_tensors += delta; }
void dob__count_nodes(int delta) { stats.live_nodes += delta; }

/* ---- the seam ------------------------------------------------------------------- */

static const dob_allocator caching_allocator = {cache_alloc, cache_free, NULL};
static const dob_allocator *current = &caching_allocator;

const dob_allocator *dob__allocator(void) { return current; }
void dob__set_allocator(const dob_allocator *a) { current = a ? a : &caching_allocator; }

void *dob__alloc(size_t nbytes) { return current->alloc(current->ctx, nbytes); }
void dob__free(void *p, size_t nbytes) { current->free(current->ctx, p, nbytes); }
