/* Elementwise ops on F32 tensors, with numpy broadcasting between operands.
   All are differentiable unless noted. Comparisons return U8 masks (0/1). */
enum {
    DOB_ADD = 0, DOB_SUB, DOB_MUL, DOB_DIV, DOB_POW, DOB_MAXIMUM, DOB_MINIMUM,
    DOB_BINARY_COUNT
};
enum {
    DOB_EQ = 0, DOB_NE, DOB_LT, DOB_LE, DOB_GT, DOB_GE
};
enum {
    DOB_NEG = 0, DOB_EXP, DOB_LOG, DOB_SQRT, DOB_ABS, DOB_RELU, DOB_SIGMOID,
    DOB_TANH, DOB_SOFTPLUS, DOB_GELU, DOB_SQUARE, DOB_RSQRT, DOB_SIGN,
    DOB_UNARY_COUNT
};
/* binary op between tensors (op = DOB_ADD ...) */
dob_tensor *dob_binary(int op, dob_tensor *a, dob_tensor *b);
/* binary op with a scalar: reversed != 0 computes s OP a */
dob_tensor *dob_binary_scalar(int op, dob_tensor *a, double s, int reversed);
/* a += alpha * b (b broadcast to a), a *= b, ... in place; not recorded */
int dob_binary_(int op, dob_tensor *a, const dob_tensor *b);
int dob_binary_scalar_(int op, dob_tensor *a, double s);
/* a += alpha * b (the axpy of optimizers) */
int dob_add_scaled_(dob_tensor *a, const dob_tensor *b, double alpha);
/* a = a + value * b * c and a = a + value * b / c (torch addcmul/addcdiv) */
int dob_addcmul_(dob_tensor *a, double value, const dob_tensor *b, const dob_tensor *c);
int dob_addcdiv_(dob_tensor *a, double value, const dob_tensor *b, const dob_tensor *c);
/* a += alpha * b in place, a *= s: lerp etc. are compositions */
dob_tensor *dob_unary(int op, dob_tensor *a);
int dob_unary_(int op, dob_tensor *a);
/* elu(x) = x > 0 ? x : alpha (exp(x) - 1); leaky_relu(x) = x > 0 ? x : slope x */
dob_tensor *dob_elu(dob_tensor *a, double alpha);
dob_tensor *dob_leaky_relu(dob_tensor *a, double slope);
dob_tensor *dob_clamp(dob_tensor *a, double lo, double hi);
int dob_clamp_(dob_tensor *a, double lo, double hi);
/* comparisons (not differentiable): U8 result */
dob_tensor *dob_compare(int op, const dob_tensor *a, const dob_tensor *b);
dob_tensor *dob_compare_scalar(int op, const dob_tensor *a, double s);
/* where(cond, a, b): cond U8 or F32 (nonzero = true); grads flow to a and b */
dob_tensor *dob_where(const dob_tensor *cond, dob_tensor *a, dob_tensor *b);
/* sum g over the dims that were broadcast so it has the given shape */
dob_tensor *dob_sum_to_shape(dob_tensor *g, int ndim, const int64_t *sizes);
/* true if all elements are finite */
int dob_all_finite(const dob_tensor *t);
