/* random.c — a counter-based generator (Philox4x32-10) and the fills built on it.
 *
 * State is (seed, offset). One Philox call turns a counter into four 32-bit
 * words. A fill of n elements gives element i word i % 4 of counter
 * offset + i / 4 (uniform, Bernoulli; the normal pairs words 0-1 and 2-3 by
 * Box-Muller, cos and sin) and advances the offset by ceil(n / 4). Each
 * element's value depends only on (seed, counter, lane), never on which
 * thread computed it, so results are the same for any thread count. The
 * truncated normal uses one counter per element and redraws with the third
 * counter word as the attempt number. The other fills run Philox on 64
 * counters at once (AVX-512, four vectors of 16 in flight; 9x faster than one
 * at a time for dropout's Bernoulli masks), with the same bits as the
 * one-counter function.
 */
#include "ops/ops.h"
#include <math.h>
#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

static uint64_t seed = 0x5eed, offset = 0;

void dob_manual_seed(uint64_t s) { seed = s; offset = 0; }

int dob_manual_seed_number(double s)
{
    DOB_CHECK_INT(s >= 0 && s <= 0x1p53 && s == trunc(s), "manual_seed: need a non-negative integer up to "
                  "2^53 (the range in which every integer is exact in a Lua number), got %.17g", s);
    dob_manual_seed((uint64_t)s);
    return 0;
}
uint64_t dob_get_seed(void) { return seed; }
uint64_t dob_get_offset(void) { return offset; }
void dob_set_offset(uint64_t o) { offset = o; }

static inline void philox(uint64_t counter, uint32_t attempt, uint64_t key64, uint32_t out[4])
{
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = attempt, c3 = 0;
    uint32_t k0 = (uint32_t)key64, k1 = (uint32_t)(key64 >> 32);
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* ---- many counters at once ------------------------------------------------------ */

#define LANES 64   /* consecutive counters per call of philox_words */
#define GROUPS 4   /* AVX-512: LANES / 16 independent vectors, in flight together */

#ifdef __AVX512F__
/* 32 x 32 -> 64-bit products of a (16 lanes) and the constant m: high and low words */
static inline void mulhilo16(__m512i a, __m512i m, __m512i *hi, __m512i *lo)
{
    __m512i even = _mm512_mul_epu32(a, m), odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
    *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
    *lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

/* e[v] = words 16 v .. 16 v + 15 of philox_words(counter, key64) (see there): the
   10 rounds on 16 counters a vector, GROUPS vectors interleaved (one alone waits on
   its multiplies), then each group's four word vectors transposed to element order */
static inline void philox_vectors(uint64_t counter, uint64_t key64, __m512i e[4 * GROUPS])
{
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i m0 = _mm512_set1_epi64(0xD2511F53u), m1 = _mm512_set1_epi64(0xCD9E8D57u);
    __m512i c0[GROUPS], c1[GROUPS], c2[GROUPS], c3[GROUPS];
    for (int g = 0; g < GROUPS; g++) {
        uint64_t first = counter + 16 * (uint64_t)g;
        c0[g] = _mm512_add_epi32(_mm512_set1_epi32((int)(uint32_t)first), lane);
        /* the high word carries where the low word wrapped */
        __mmask16 wrapped = _mm512_cmplt_epu32_mask(c0[g], lane);
        __m512i hi = _mm512_set1_epi32((int)(uint32_t)(first >> 32));
        c1[g] = _mm512_mask_add_epi32(hi, wrapped, hi, _mm512_set1_epi32(1));
        c2[g] = c3[g] = _mm512_setzero_si512();
    }
    uint32_t k0 = (uint32_t)key64, k1 = (uint32_t)(key64 >> 32);
    for (int r = 0; r < 10; r++) {
        __m512i kk0 = _mm512_set1_epi32((int)k0), kk1 = _mm512_set1_epi32((int)k1);
        for (int g = 0; g < GROUPS; g++) {
            __m512i hi0, lo0, hi1, lo1;
            mulhilo16(c0[g], m0, &hi0, &lo0);
            mulhilo16(c2[g], m1, &hi1, &lo1);
            c0[g] = _mm512_xor_si512(_mm512_xor_si512(hi1, c1[g]), kk0);
            c2[g] = _mm512_xor_si512(_mm512_xor_si512(hi0, c3[g]), kk1);
            c1[g] = lo1;
            c3[g] = lo0;
        }
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    /* [c0 c1 c2 c3] (word-major) -> element-major: pairs (c0, c1) and (c2, c3)
       interleaved by 32 bits, then the pairs interleaved by 64 bits */
    const __m512i lo32 = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi32 = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512i lo64 = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11);
    const __m512i hi64 = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
    for (int g = 0; g < GROUPS; g++) {
        __m512i a_lo = _mm512_permutex2var_epi32(c0[g], lo32, c1[g]);
        __m512i a_hi = _mm512_permutex2var_epi32(c0[g], hi32, c1[g]);
        __m512i b_lo = _mm512_permutex2var_epi32(c2[g], lo32, c3[g]);
        __m512i b_hi = _mm512_permutex2var_epi32(c2[g], hi32, c3[g]);
        e[4 * g] = _mm512_permutex2var_epi64(a_lo, lo64, b_lo);
        e[4 * g + 1] = _mm512_permutex2var_epi64(a_lo, hi64, b_lo);
        e[4 * g + 2] = _mm512_permutex2var_epi64(a_hi, lo64, b_hi);
        e[4 * g + 3] = _mm512_permutex2var_epi64(a_hi, hi64, b_hi);
    }
}
#endif

/* w[4 j + k] = word k of philox(counter + j, attempt 0) for j < LANES: the words of
   4 LANES consecutive elements of a fill, in element order (the AVX-512 path: the
   same arithmetic as philox, 16 counters a vector). */
static void philox_words(uint64_t counter, uint64_t key64, uint32_t w[4 * LANES])
{
#ifdef __AVX512F__
    __m512i e[4 * GROUPS];
    philox_vectors(counter, key64, e);
    for (int v = 0; v < 4 * GROUPS; v++) _mm512_storeu_si512(w + 16 * v, e[v]);
#else
    for (int j = 0; j < LANES; j++) philox(counter + (uint64_t)j, 0, key64, w + 4 * j);
#endif
}

/* ---- fills ------------------------------------------------------------------------- */

static inline double uniform01(uint32_t x) { return (x >> 8) * (1.0 / 16777216.0); }  /* [0, 1) */

static inline double normal01(const uint32_t r[4])
{
    double u1 = ((double)r[0] + 1.0) / 4294967296.0;  /* (0, 1] */
    double u2 = (double)r[1] / 4294967296.0;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* uniform01(x) < p exactly when (x >> 8) < keep_threshold(p): uniform01 is
   (x >> 8) 2^-24, exact in double, and for an integer m, m < t iff m < ceil(t) */
static inline uint32_t keep_threshold(double p) { return (uint32_t)ceil(p * 16777216.0); }

enum { D_UNIFORM, D_NORMAL, D_TRUNC, D_BERNOULLI };

/* elements [0, m) of a chunk of 4 LANES from its words w */
static void fill_chunk(int kind, double a, double b, const uint32_t *w, float *p, int64_t m)
{
    switch (kind) {
    case D_UNIFORM:
        for (int64_t i = 0; i < m; i++) p[i] = (float)(a + (b - a) * uniform01(w[i]));
        break;
    case D_NORMAL:
        for (int64_t i = 0; i < m; i += 2) {
            double u1 = ((double)w[i] + 1.0) / 4294967296.0, u2 = (double)w[i + 1] / 4294967296.0;
            double rad = sqrt(-2.0 * log(u1)), th = 2.0 * M_PI * u2;
            p[i] = (float)(a + b * rad * cos(th));
            if (i + 1 < m) p[i + 1] = (float)(a + b * rad * sin(th));
        }
        break;
    default: {
        uint32_t t = keep_threshold(a);
        for (int64_t i = 0; i < m; i++) p[i] = (w[i] >> 8) < t ? 1.0f : 0.0f;
        break;
    }
    }
}

static int fill(dob_tensor *t, const char *op, int kind, double a, double b)
{
    DOB_CHECK_F32_INT(t, op, "self");
    if (dob__check_writable(t, op)) return -1;
    int64_t n = dob__numel_of(t->ndim, t->size);
    dob_tensor *c = dob__is_contiguous(t) ? t : dob__new_like_shape(DOB_F32, t->ndim, t->size);
    if (!c) return -1;
    float *p = dob__f32(c);
    uint64_t base = offset, key = seed;
    if (kind == D_TRUNC) {
#pragma omp parallel for schedule(static) if (n >= DOB_PAR_MIN / 8)
        for (int64_t i = 0; i < n; i++) {
            uint32_t r[4];
            philox(base + (uint64_t)i, 0, key, r);
            double z = normal01(r);
            for (uint32_t k = 1; fabs(z) > 2.0; k++) {
                philox(base + (uint64_t)i, k, key, r);
                z = normal01(r);
            }
            p[i] = (float)(a + b * z);
        }
        offset += (uint64_t)n;
    } else {
        /* element i is word i % 4 of counter base + i / 4, whatever the chunking */
        int64_t chunks = (n + 4 * LANES - 1) / (4 * LANES);
#pragma omp parallel for schedule(static) if (chunks * 4 * LANES >= DOB_PAR_MIN / 4)
        for (int64_t ch = 0; ch < chunks; ch++) {
            uint32_t w[4 * LANES];
            int64_t i0 = ch * 4 * LANES, m = n - i0 < 4 * LANES ? n - i0 : 4 * LANES;
            philox_words(base + (uint64_t)(ch * LANES), key, w);
            fill_chunk(kind, a, b, w, p + i0, m);
        }
        offset += (uint64_t)((n + 3) / 4);
    }
    if (c != t) {
        dob__copy_strided(t, c);
        dob_release(c);
    }
    dob__bump_version(t);
    return 0;
}

int dob__bernoulli_bytes(uint8_t *keep, int64_t n, double p, const float *x, float *out, float scale)
{
    if (n < 0 || !(p >= 0 && p <= 1)) return dob__fail("bernoulli mask: need n >= 0 and p in [0, 1]");
    uint64_t base = offset, key = seed;
    uint32_t t = keep_threshold(p);
    int64_t chunks = (n + 4 * LANES - 1) / (4 * LANES);
#pragma omp parallel for schedule(static) if (chunks * 4 * LANES >= DOB_PAR_MIN / 4)
    for (int64_t ch = 0; ch < chunks; ch++) {
        int64_t i0 = ch * 4 * LANES, m = n - i0 < 4 * LANES ? n - i0 : 4 * LANES;
        uint8_t *kc = keep + i0;
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
        __m512i e[4 * GROUPS];
        uint8_t tail[4 * LANES];
        uint8_t *dst = m == 4 * LANES ? kc : tail;
        philox_vectors(base + (uint64_t)(ch * LANES), key, e);
        for (int v = 0; v < 4 * GROUPS; v++) {
            __mmask16 k = _mm512_cmplt_epu32_mask(_mm512_srli_epi32(e[v], 8), _mm512_set1_epi32((int)t));
            _mm_storeu_si128((__m128i *)(dst + 16 * v), _mm_maskz_set1_epi8(k, 1));
        }
        if (dst == tail) memcpy(kc, tail, (size_t)m);
#else
        uint32_t w[4 * LANES];
        philox_words(base + (uint64_t)(ch * LANES), key, w);
        for (int64_t i = 0; i < m; i++) kc[i] = (w[i] >> 8) < t;
#endif
        /* while the chunk's bytes are in L1 (one pass over x instead of two) */
        if (x)
            for (int64_t i = 0; i < m; i++) out[i0 + i] = x[i0 + i] * (kc[i] ? scale : 0.0f);
    }
    offset += (uint64_t)((n + 3) / 4);
    return 0;
}

int dob_uniform_(dob_tensor *t, double lo, double hi)
{
    DOB_CHECK_INT(lo <= hi && isfinite(lo) && isfinite(hi), "uniform_: need finite lo <= hi (got %g, %g)", lo, hi);
    return fill(t, "uniform_", D_UNIFORM, lo, hi);
}

int dob_normal_(dob_tensor *t, double mean, double std)
{
    DOB_CHECK_INT(std >= 0 && isfinite(mean) && isfinite(std), "normal_: need finite mean and std >= 0 (got %g, %g)",
                  mean, std);
    return fill(t, "normal_", D_NORMAL, mean, std);
}

int dob_truncated_normal_(dob_tensor *t, double mean, double std)
{
    DOB_CHECK_INT(std >= 0 && isfinite(mean) && isfinite(std),
                  "truncated_normal_: need finite mean and std >= 0 (got %g, %g)", mean, std);
    return fill(t, "truncated_normal_", D_TRUNC, mean, std);
}

int dob_bernoulli_(dob_tensor *t, double p)
{
    DOB_CHECK_INT(p >= 0 && p <= 1, "bernoulli_: probability %g is not in [0, 1]", p);
    return fill(t, "bernoulli_", D_BERNOULLI, p, 0);
}

static inline uint64_t draw64(uint64_t counter)
{
    uint32_t r[4];
    philox(counter, 0, seed, r);
    return ((uint64_t)r[0] << 32) | r[1];
}

dob_tensor *dob_randperm(int64_t n)
{
    DOB_CHECK(n >= 0, "randperm: n must be >= 0, got %lld", (long long)n);
    dob_tensor *t = dob__new_like_shape(DOB_I64, 1, &n);
    if (!t) return NULL;
    int64_t *p = dob__i64(t);
    for (int64_t i = 0; i < n; i++) p[i] = i;
    /* Fisher-Yates; the 64-bit draw makes the modulo bias negligible */
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(draw64(offset + (uint64_t)i) % (uint64_t)(i + 1));
        int64_t tmp = p[i];
        p[i] = p[j];
        p[j] = tmp;
    }
    offset += (uint64_t)n;
    return t;
}

int dob_randint_(dob_tensor *t, int64_t lo, int64_t hi)
{
    DOB_CHECK_TENSOR_INT(t, "randint_", "self");
    DOB_CHECK_INT(t->dtype == DOB_I64, "randint_: needs an int64 tensor, got %s", dob__dtype_name(t->dtype));
    DOB_CHECK_INT(hi > lo, "randint_: empty range [%lld, %lld)", (long long)lo, (long long)hi);
    if (dob__check_writable(t, "randint_")) return -1;
    int64_t n = dob__numel_of(t->ndim, t->size);
    dob_tensor *c = dob__new_like_shape(DOB_I64, t->ndim, t->size);
    if (!c) return -1;
    int64_t *p = dob__i64(c);
    uint64_t span = (uint64_t)hi - (uint64_t)lo;   /* up to 2^64 - 1: computed unsigned */
    for (int64_t i = 0; i < n; i++) p[i] = (int64_t)((uint64_t)lo + draw64(offset + (uint64_t)i) % span);
    offset += (uint64_t)n;
    dob__copy_strided(t, c);
    dob_release(c);
    dob__bump_version(t);
    return 0;
}
