/* Counter-based random numbers (Philox4x32-10). The generator state is a seed
   and a counter; a fill of n elements uses counters [c, c + n) and advances
   the counter by n, so the numbers do not depend on the thread count. */
void dob_manual_seed(uint64_t seed);
/* the seed as a Lua number: an integer in [0, 2^53], the range in which
   every integer is exact in a double (a 64-bit seed goes to dob_manual_seed) */
int dob_manual_seed_number(double seed);
uint64_t dob_get_seed(void);
uint64_t dob_get_offset(void);
void dob_set_offset(uint64_t offset);
/* in-place fills of F32 tensors (not recorded) */
int dob_uniform_(dob_tensor *t, double lo, double hi);
int dob_normal_(dob_tensor *t, double mean, double std);
/* N(mean, std^2) with samples beyond mean +- 2 std redrawn (TF1 truncated_normal) */
int dob_truncated_normal_(dob_tensor *t, double mean, double std);
/* 1 with probability p, else 0 */
int dob_bernoulli_(dob_tensor *t, double p);
/* a random permutation of 0..n-1 as I64 */
dob_tensor *dob_randperm(int64_t n);
/* I64 integers uniform in [lo, hi) */
int dob_randint_(dob_tensor *t, int64_t lo, int64_t hi);
