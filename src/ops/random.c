/* random.c — a counter-based generator (Philox4x32-10) and the fills built on it.
 *
 * State is (seed, offset). One Philox call turns a counter into four 32-bit
 * words. A fill of n elements gives element i word i % 4 of counter
 * offset + i / 4 (uniform, Bernoulli; the normal pairs words 0-1 and 2-3 by
 * Box-Muller, cos and sin) and advances the offset by ceil(n / 4). Each
 * element's value depends only on (seed, counter, lane), never on which
 * thread computed it, so results are the same for any thread count. The
 * truncated normal uses one counter per element and redraws with the third
 * counter word as the attempt number.
 */
#include "ops/ops.h"
#include <math.h>

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

static inline double uniform01(uint32_t x) { return (x >> 8) * (1.0 / 16777216.0); }  /* [0, 1) */

static inline double normal01(const uint32_t r[4])
{
    double u1 = ((double)r[0] + 1.0) / 4294967296.0;  /* (0, 1] */
    double u2 = (double)r[1] / 4294967296.0;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

enum { D_UNIFORM, D_NORMAL, D_TRUNC, D_BERNOULLI };

static void fill_block(int kind, double a, double b, const uint32_t r[4], double v[4])
{
    switch (kind) {
    case D_UNIFORM:
        for (int k = 0; k < 4; k++) v[k] = a + (b - a) * uniform01(r[k]);
        break;
    case D_NORMAL:
        for (int k = 0; k < 4; k += 2) {
            double u1 = ((double)r[k] + 1.0) / 4294967296.0, u2 = (double)r[k + 1] / 4294967296.0;
            double rad = sqrt(-2.0 * log(u1)), th = 2.0 * M_PI * u2;
            v[k] = a + b * rad * cos(th);
            v[k + 1] = a + b * rad * sin(th);
        }
        break;
    default:
        for (int k = 0; k < 4; k++) v[k] = uniform01(r[k]) < a ? 1.0 : 0.0;
        break;
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
        int64_t blocks = (n + 3) / 4;
#pragma omp parallel for schedule(static) if (blocks >= DOB_PAR_MIN / 16)
        for (int64_t blk = 0; blk < blocks; blk++) {
            uint32_t r[4];
            double v[4];
            philox(base + (uint64_t)blk, 0, key, r);
            fill_block(kind, a, b, r, v);
            int64_t i0 = blk * 4, m = n - i0 < 4 ? n - i0 : 4;
            for (int64_t k = 0; k < m; k++) p[i0 + k] = (float)v[k];
        }
        offset += (uint64_t)blocks;
    }
    if (c != t) {
        dob__copy_strided(t, c);
        dob_release(c);
    }
    dob__bump_version(t);
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
