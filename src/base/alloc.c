/* alloc.c — the allocator seam, the default caching allocator for tensor
 * storage and scratch, and the memory counters.
 *
 * Why: a first write to a fresh page costs ~11 us on this VM, so a framework
 * that gives big buffers back to the OS each step spends most of the step in
 * page faults. Freed memory is kept and reused by later requests.
 *
 * Small requests (under 2 MiB) go to size classes, 4 per power of two (at
 * most 25% slack), one free list each. Large ones are carved out of segments:
 * mappings of whole 2 MiB huge pages (at least 64 MiB), 2 MiB-aligned and
 * advised as huge pages (they fault in ~10x faster). A segment holds a row of
 * blocks, each with a 64-byte header (its size, its neighbours); a request
 * takes the smallest free block that fits and splits off the rest, and a freed
 * block merges with free neighbours. Only written pages are resident, and the
 * counters count those (a new segment's unwritten rest is neither live nor
 * cached). So sizes that differ (the branches of an Inception module, a
 * 513 MB parameter buffer) share memory without a size class's slack, and the
 * memory a step holds stays close to the peak of what it has live at once.
 * Only the Lua thread allocates (kernels running in OpenMP regions get their
 * buffers before the region starts), so there is no locking.
 *
 * The cache is bounded by the working set, not the history: when a request
 * needs memory from the OS and the bytes held (live + cached) would pass the
 * budget, the least recently used small blocks and wholly free segments (or
 * free segment ends) go back to the OS first. The budget is the peak of live
 * bytes plus an eighth, at least 256 MB (a small network's step cycles through
 * several times its peak in differently sized blocks), or what
 * dob_mem_set_cache_limit sets. A pattern that needs more (the freed memory
 * does not fit the next requests) would give back and fault in the same memory
 * every step, so the slack doubles, up to a whole peak, when a peak's worth is
 * evicted within eight peaks' worth of requests. A training step asks for the
 * same sizes every step, so in the steady state it takes nothing from the OS;
 * what goes is memory of a phase that ended (evaluation's batch size, an
 * epoch's shuffled copy).
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
#define GRAIN ((size_t)64 << 10)      /* large blocks are whole grains (header included) */
#define MIN_SPLIT ((size_t)1 << 20)   /* a remainder this large becomes a free block of its own */
#define SEGMENT_MIN ((size_t)64 << 20) /* a new segment's least size (unwritten pages cost nothing) */
#define SLACK_MIN ((int64_t)256 << 20)  /* the automatic budget's least slack */

/* a cached small block, in its own first bytes */
typedef struct block { struct block *next; } block;

/* the header of a large block, in its first 64 bytes; the data follows */
typedef struct large {
    struct large *prev, *next;     /* neighbours in the segment, in address order */
    struct large *fprev, *fnext;   /* the free list (free blocks) */
    size_t bytes;                  /* the block, header included */
    size_t resident;               /* free blocks: the bytes of it counted as cached */
    uint64_t freed;                /* free blocks: the tick it was freed at */
    int free;
} large;
#define HEADER ((size_t)64)
_Static_assert(sizeof(large) <= HEADER, "a large block's header fits in 64 bytes");

static block *free_list[NCLASSES];
static uint64_t class_last_use[NCLASSES];   /* tick of the class's last hit or free */
static large *free_large;                    /* free large blocks, latest freed first */
static uint64_t tick;
static int64_t cache_limit = -1;            /* -1: the automatic budget */
static int slack_shift = 3;                 /* the automatic budget's slack: peak >> slack_shift */
static int64_t evicted_mark, allocated_mark; /* the counters when a peak's worth was last evicted */
static dob_mem_stats stats;

/* ---- the OS ----------------------------------------------------------------------- */

/* Blocks of 2 MiB and more are mapped and unmapped directly, 2 MiB-aligned, so
   an evicted one goes back to the OS at once (glibc keeps freed blocks under
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

/* ---- small blocks: size classes --------------------------------------------------- */

static bool is_large(size_t n) { return n > HUGE_BYTES - HEADER; }

/* the class of n small bytes and its size */
static int size_class(size_t n, size_t *class_bytes)
{
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

/* ---- large blocks: segments ------------------------------------------------------- */

static void unlink_free(large *b)
{
    if (b->fprev) b->fprev->fnext = b->fnext;
    else free_large = b->fnext;
    if (b->fnext) b->fnext->fprev = b->fprev;
    b->fprev = b->fnext = NULL;
}

static void push_free(large *b)
{
    b->free = 1;
    b->freed = ++tick;
    b->fprev = NULL;
    b->fnext = free_large;
    if (free_large) free_large->fprev = b;
    free_large = b;
}

/* b keeps its first `keep` bytes; the rest becomes a free block after it */
static void split(large *b, size_t keep, size_t resident)
{
    large *r = (large *)((char *)b + keep);
    r->bytes = b->bytes - keep;
    r->resident = resident;
    r->prev = b;
    r->next = b->next;
    if (b->next) b->next->prev = r;
    b->next = r;
    b->bytes = keep;
    push_free(r);
}

/* a wholly free segment: one free block with no neighbours */
static bool whole_segment(const large *b) { return b->free && !b->prev && !b->next; }

/* A free block that can go back to the OS: a whole segment, or the free end of
   a mapped one (unmapped, the segment just gets shorter). */
static bool evictable(const large *b) { return whole_segment(b) || (MAP_DIRECTLY(HUGE_BYTES) && !b->next); }

/* gives an evictable block back to the OS; returns the resident bytes that went */
static size_t release_large(large *b)
{
    size_t bytes = b->resident;
    unlink_free(b);
    if (b->prev) {
        b->prev->next = NULL;
        munmap(b, b->bytes);
    } else {
        os_free(b, b->bytes);
    }
    return bytes;
}

/* drops the pages of a free block between live ones (its header's page stays:
   a block is at least 1 MiB, so that is under 0.4% of it); returns the
   resident bytes that went */
static size_t purge_large(large *b)
{
    const uintptr_t page = 4096;
    uintptr_t from = ((uintptr_t)b + HEADER + page - 1) & ~(page - 1);
    uintptr_t to = ((uintptr_t)b + b->bytes) & ~(page - 1);
    if (to > from) madvise((void *)from, to - from, MADV_DONTNEED);
    size_t bytes = b->resident;
    b->resident = 0;
    return bytes;
}

/* ---- the budget --------------------------------------------------------------------- */

/* cached memory goes to the OS, least recently used first, until `want` more
   bytes fit in the budget, live bytes about to grow by `grows` (or until
   nothing more can go). Under the automatic budget a free block between live
   ones in a segment stays, as dropping its pages would only have the next step
   fault them in again; under a limit set by dob_mem_set_cache_limit its pages
   go, last of all, as the limit is a promise. */
static void evict_for(int64_t want, int64_t grows)
{
    int64_t budget;
    if (cache_limit >= 0) {
        budget = stats.live_bytes + want + cache_limit;
    } else {
        int64_t peak = stats.live_bytes + grows > stats.peak_live_bytes ? stats.live_bytes + grows
                                                                        : stats.peak_live_bytes;
        /* A cycle that needs more than the budget would evict and fault in the same
           memory every step: when a peak's worth went within eight peaks' worth of
           requests, the slack doubles (up to a whole peak). A change of phase
           (training, evaluation) evicts once per many steps and keeps it. */
        if (stats.evicted_total - evicted_mark > peak) {
            if (slack_shift > 0 && stats.allocated_total - allocated_mark < 8 * peak) slack_shift--;
            evicted_mark = stats.evicted_total;
            allocated_mark = stats.allocated_total;
        }
        int64_t slack = peak >> slack_shift;
        budget = peak + (slack > SLACK_MIN ? slack : SLACK_MIN);
    }
    while (stats.cached_bytes > 0 && stats.live_bytes + stats.cached_bytes + want > budget) {
        int lru = -1;
        for (int c = 0; c < NCLASSES; c++)
            if (free_list[c] && (lru < 0 || class_last_use[c] < class_last_use[lru])) lru = c;
        large *seg = NULL, *hole = NULL;   /* the oldest evictable block, the oldest other one */
        for (large *b = free_large; b; b = b->fnext) {
            if (b->resident == 0) continue;
            large **oldest = evictable(b) ? &seg : &hole;
            if (!*oldest || b->freed < (*oldest)->freed) *oldest = b;
        }
        size_t bytes;
        if (seg && (lru < 0 || seg->freed < class_last_use[lru])) {
            bytes = release_large(seg);
        } else if (lru >= 0) {
            block *b = free_list[lru];
            free_list[lru] = b->next;
            bytes = class_bytes(lru);
            os_free(b, bytes);
        } else if (cache_limit >= 0 && hole) {
            bytes = purge_large(hole);
        } else {
            break;
        }
        stats.cached_bytes -= (int64_t)bytes;
        stats.evicted_total += (int64_t)bytes;
    }
}

/* ---- allocate and free -------------------------------------------------------------- */

/* cb bytes from the OS for a request of nbytes; when it refuses, the cache may
   hold enough memory: it goes back and the OS is asked once more */
static void *os_alloc_or_trim(size_t cb, size_t nbytes)
{
    void *p = os_alloc(cb);
    if (!p) {
        dob_mem_trim();
        if (!(p = os_alloc(cb))) return dob__failp("out of memory allocating %zu bytes", nbytes);
    }
    return p;
}

static void count_live(size_t cb)
{
    stats.live_bytes += (int64_t)cb;
    stats.allocated_total += (int64_t)cb;
    if (stats.live_bytes > stats.peak_live_bytes) stats.peak_live_bytes = stats.live_bytes;
}

static void *alloc_large(size_t nbytes)
{
    if (nbytes > SIZE_MAX - HEADER - SEGMENT_MIN) return dob__failp("out of memory allocating %zu bytes", nbytes);
    size_t want = (nbytes + HEADER + GRAIN - 1) & ~(GRAIN - 1);
    large *b = NULL;
    for (large *f = free_large; f; f = f->fnext)       /* the best fit */
        if (f->bytes >= want && (!b || f->bytes < b->bytes)) b = f;
    if (b) {
        unlink_free(b);
        stats.cached_bytes -= (int64_t)b->resident;
    } else {
        /* a new segment, none of it resident until written */
        size_t seg = (want + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
        if (seg < SEGMENT_MIN) seg = SEGMENT_MIN;
        if (!(b = os_alloc_or_trim(seg, nbytes))) return NULL;
        b->prev = b->next = b->fprev = b->fnext = NULL;
        b->bytes = seg;
        b->resident = 0;
    }
    b->free = 0;
    /* which pages of a block are resident is not tracked, only how many: the kept
       part is taken to hold them first */
    size_t resident = b->resident, rest = 0;
    if (b->bytes - want >= MIN_SPLIT) {
        rest = resident > want ? resident - want : 0;
        split(b, want, rest);
        stats.cached_bytes += (int64_t)rest;
    }
    size_t fresh = b->bytes - (resident - rest);        /* pages the OS hands out as they are written */
    if (fresh) evict_for((int64_t)fresh, (int64_t)b->bytes);
    stats.obtained_total += (int64_t)fresh;
    count_live(b->bytes);
    return (char *)b + HEADER;
}

static void free_large_block(void *p)
{
    large *b = (large *)((char *)p - HEADER);
    stats.live_bytes -= (int64_t)b->bytes;
    stats.cached_bytes += (int64_t)b->bytes;
    b->resident = b->bytes;
    if (b->next && b->next->free) {                /* absorb the free block after */
        large *n = b->next;
        unlink_free(n);
        b->bytes += n->bytes;
        b->resident += n->resident;
        b->next = n->next;
        if (n->next) n->next->prev = b;
    }
    if (b->prev && b->prev->free) {                /* join the free block before */
        large *q = b->prev;
        unlink_free(q);
        q->bytes += b->bytes;
        q->resident += b->resident;
        q->next = b->next;
        if (b->next) b->next->prev = q;
        b = q;
    }
    push_free(b);
}

static void *cache_alloc(void *ctx, size_t nbytes)
{
    if (is_large(nbytes)) return alloc_large(nbytes);
    size_t cb;
    int c = size_class(nbytes ? nbytes : 1, &cb);
    class_last_use[c] = ++tick;
    void *p = free_list[c];
    if (p) {
        free_list[c] = free_list[c]->next;
        stats.cached_bytes -= (int64_t)cb;
    } else {
        evict_for((int64_t)cb, (int64_t)cb);
        if (!(p = os_alloc_or_trim(cb, nbytes))) return NULL;
        stats.obtained_total += (int64_t)cb;
    }
    count_live(cb);
    return p;
}

static void cache_free(void *ctx, void *p, size_t nbytes)
{
    if (!p) return;
    if (is_large(nbytes)) {
        free_large_block(p);
    } else {
        size_t cb;
        int c = size_class(nbytes ? nbytes : 1, &cb);
        block *b = p;
        b->next = free_list[c];
        free_list[c] = b;
        class_last_use[c] = ++tick;
        stats.live_bytes -= (int64_t)cb;
        stats.cached_bytes += (int64_t)cb;
    }
    if (cache_limit >= 0) evict_for(0, 0);
}

int dob_mem_set_cache_limit(int64_t bytes)
{
    DOB_CHECK_INT(bytes >= -1, "set_cache_limit: the limit is a number of bytes >= 0, or -1 for "
                  "the automatic budget (the peak of live bytes plus an eighth or 256 MB); got %lld",
                  (long long)bytes);
    cache_limit = bytes;
    evict_for(0, 0);
    return 0;
}

int64_t dob_mem_cache_limit(void) { return cache_limit; }

void dob_mem_reset_peak(void)
{
    stats.peak_live_bytes = stats.live_bytes;
    slack_shift = 3;
    evicted_mark = stats.evicted_total;
    allocated_mark = stats.allocated_total;
}

void dob_mem_trim(void)
{
    for (int c = 0; c < NCLASSES; c++) {
        while (free_list[c]) {
            block *b = free_list[c];
            free_list[c] = b->next;
            os_free(b, class_bytes(c));
            stats.cached_bytes -= (int64_t)class_bytes(c);
        }
    }
    /* wholly free segments go; a free block beside a live one keeps its mapping and drops
       its pages, as asked: the cache ends empty whatever the segments hold */
    for (large *b = free_large, *next; b; b = next) {
        next = b->fnext;
        if (evictable(b)) stats.cached_bytes -= (int64_t)release_large(b);
        else if (b->resident) stats.cached_bytes -= (int64_t)purge_large(b);
    }
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
