/* alloc.c — the allocator seam, the default size-class caching allocator for
 * tensor storage and scratch, and the memory counters.
 *
 * Why: a first write to a fresh page costs ~11 us on this VM, so a framework
 * that gives big buffers back to the OS each step spends most of the step in
 * page faults. Freed blocks are kept and the next request of their size
 * reuses them. Below 2 MiB sizes go to classes, 4 per power of two (at most
 * 25% slack), one free list each. From 2 MiB on a block is a whole number of
 * 2 MiB huge pages (at most 2 MiB of slack, instead of a class's quarter: a
 * 513 MB parameter buffer would take a 640 MB class), mapped directly and
 * 2 MiB-aligned, and cached blocks are matched by exact size (a training step
 * asks for the same sizes every time). Only the Lua thread allocates (kernels
 * running in OpenMP regions get their buffers before the region starts), so
 * there is no locking.
 *
 * The cache is bounded by the working set, not the history: when a request
 * misses and the bytes held (live + cached) would pass the budget, cached
 * blocks of the least recently used classes go back to the OS first. The
 * budget is the peak of live bytes plus an eighth (slack for blocks whose class
 * is not the one asked for), or what dob_mem_set_cache_limit sets. A training
 * step asks for the same classes every step, so in the steady state it hits and
 * the bound costs nothing; blocks of a phase that ended (evaluation's batch
 * size, an epoch's shuffled copy) are what goes.
 *
 * Every counter of dob_mem_get_stats lives here: the default allocator's bytes,
 * and the tensor and node counts that the layers above report through
 * dob__count_tensors and dob__count_nodes. An allocator put in place with
 * dob__set_allocator keeps its own byte counts.
 */
#include "base/alloc.h"
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define NCLASSES 256
#define HUGE_BYTES ((size_t)2 << 20)

/* a cached block, in its own first bytes */
typedef struct block {
    struct block *next;
    size_t bytes;                            /* large blocks: their size */
    uint64_t freed;                          /* large blocks: the tick they were freed at */
} block;

static block *free_list[NCLASSES];
static uint64_t class_last_use[NCLASSES];   /* tick of the class's last hit or free */
static block *large_list;                    /* cached blocks of HUGE_BYTES and more, latest first */
static uint64_t tick;
static int64_t cache_limit = -1;            /* -1: the automatic budget */
static dob_mem_stats stats;

/* the class of n bytes and its size; n above HUGE_BYTES: NCLASSES and n
   rounded up to whole huge pages (the large blocks) */
static int size_class(size_t n, size_t *class_bytes)
{
    if (n > HUGE_BYTES) {
        *class_bytes = n > SIZE_MAX - HUGE_BYTES ? SIZE_MAX : (n + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
        return NCLASSES;
    }
    if (n <= 64) { *class_bytes = 64; return 0; }
    int e = 63 - __builtin_clzll((unsigned long long)(n - 1));  /* 2^e < n <= 2^(e+1) */
    size_t base = (size_t)1 << e, quarter = base / 4;
    size_t sub = (n - base + quarter - 1) / quarter;             /* 1..4 */
    *class_bytes = base + sub * quarter;
    return (e - 5) * 4 + (int)sub - 1;
}

static size_t class_bytes(int c)
{
    if (c == 0) return 64;
    int e = c / 4 + 5, sub = c % 4 + 1;
    return ((size_t)1 << e) + (size_t)sub * ((size_t)1 << e) / 4;
}

/* Blocks of 2 MiB and more are mapped and unmapped directly, 2 MiB-aligned, so
   an evicted block goes back to the OS at once (glibc keeps freed blocks under
   its moving mmap threshold in its heap, where resident memory only grows).
   Under AddressSanitizer everything goes through malloc, whose size limit the
   ASan test run relies on. */
#if defined(__SANITIZE_ADDRESS__)
#define MAP_DIRECTLY(cb) false
#else
#define MAP_DIRECTLY(cb) ((cb) >= HUGE_BYTES)
#endif

static void *os_alloc(size_t cb)
{
    if (!MAP_DIRECTLY(cb)) {
        void *p = NULL;
        return posix_memalign(&p, 64, cb) == 0 ? p : NULL;
    }
    if (cb > SIZE_MAX - HUGE_BYTES) return NULL;
    char *m = mmap(NULL, cb + HUGE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    char *p = (char *)(((uintptr_t)m + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1));
    if (p > m) munmap(m, (size_t)(p - m));
    if (p + cb < m + cb + HUGE_BYTES) munmap(p + cb, (size_t)(m + cb + HUGE_BYTES - (p + cb)));
    madvise(p, cb, MADV_HUGEPAGE);
    return p;
}

static void os_free(void *p, size_t cb)
{
    if (MAP_DIRECTLY(cb)) munmap(p, cb);
    else free(p);
}

/* cached blocks go to the OS, least recently used class first, until `want`
   more bytes fit in the budget (or the cache is empty) */
static void evict_for(int64_t want)
{
    int64_t budget;
    if (cache_limit >= 0) {
        budget = stats.live_bytes + want + cache_limit;
    } else {
        int64_t peak = stats.live_bytes + want > stats.peak_live_bytes ? stats.live_bytes + want
                                                                       : stats.peak_live_bytes;
        budget = peak + peak / 8;
    }
    while (stats.cached_bytes > 0 && stats.live_bytes + stats.cached_bytes + want > budget) {
        int lru = -1;
        for (int c = 0; c < NCLASSES; c++)
            if (free_list[c] && (lru < 0 || class_last_use[c] < class_last_use[lru])) lru = c;
        block **oldest = NULL;                       /* the large list's last link */
        for (block **l = &large_list; *l; l = &(*l)->next) oldest = l;
        block *b;
        size_t bytes;
        if (oldest && (lru < 0 || (*oldest)->freed < class_last_use[lru])) {
            b = *oldest;
            *oldest = NULL;
            bytes = b->bytes;
        } else {
            b = free_list[lru];
            free_list[lru] = b->next;
            bytes = class_bytes(lru);
        }
        os_free(b, bytes);
        stats.cached_bytes -= (int64_t)bytes;
        stats.evicted_total += (int64_t)bytes;
    }
}

/* a cached large block of exactly `bytes`, unlinked, or NULL */
static block *take_large(size_t bytes)
{
    for (block **l = &large_list; *l; l = &(*l)->next) {
        if ((*l)->bytes == bytes) {
            block *b = *l;
            *l = b->next;
            return b;
        }
    }
    return NULL;
}

static void *cache_alloc(void *ctx, size_t nbytes)
{
    size_t cb;
    int c = size_class(nbytes ? nbytes : 1, &cb);
    void *p = NULL;
    if (c < NCLASSES) class_last_use[c] = ++tick;
    if (c < NCLASSES && free_list[c]) {
        p = free_list[c];
        free_list[c] = free_list[c]->next;
        stats.cached_bytes -= (int64_t)cb;
    } else if (c == NCLASSES && (p = take_large(cb))) {
        stats.cached_bytes -= (int64_t)cb;
    } else {
        evict_for((int64_t)cb);
        if (!(p = os_alloc(cb))) {
            /* the cache may hold enough memory: give it back and retry once */
            dob_mem_trim();
            if (!(p = os_alloc(cb))) return dob__failp("out of memory allocating %zu bytes", nbytes);
        }
        stats.obtained_total += (int64_t)cb;
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
    block *b = p;
    if (c == NCLASSES) {
        b->bytes = cb;
        b->freed = ++tick;
        b->next = large_list;
        large_list = b;
    } else {
        b->next = free_list[c];
        free_list[c] = b;
        class_last_use[c] = ++tick;
    }
    stats.cached_bytes += (int64_t)cb;
    if (cache_limit >= 0) evict_for(0);
}

int dob_mem_set_cache_limit(int64_t bytes)
{
    DOB_CHECK_INT(bytes >= -1, "set_cache_limit: the limit is a number of bytes >= 0, or -1 for "
                  "the automatic budget (the peak of live bytes plus an eighth); got %lld",
                  (long long)bytes);
    cache_limit = bytes;
    evict_for(0);
    return 0;
}

int64_t dob_mem_cache_limit(void) { return cache_limit; }

void dob_mem_reset_peak(void) { stats.peak_live_bytes = stats.live_bytes; }

void dob_mem_trim(void)
{
    for (int c = 0; c < NCLASSES; c++) {
        while (free_list[c]) {
            block *b = free_list[c];
            free_list[c] = b->next;
            os_free(b, class_bytes(c));
        }
    }
    while (large_list) {
        block *b = large_list;
        large_list = b->next;
        os_free(b, b->bytes);
    }
    stats.cached_bytes = 0;
}

int64_t dob_mem_live_bytes(void) { return stats.live_bytes; }
int64_t dob_mem_allocated_total(void) { return stats.allocated_total; }

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
