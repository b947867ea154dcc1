/* Reductions over all elements (ndims = 0) or the listed dims. keepdim keeps
   reduced dims with size 1. Sums accumulate in double in fixed-size chunks so
   results are identical for any thread count. */
dob_tensor *dob_sum(dob_tensor *t, int ndims, const int *dims, int keepdim);
dob_tensor *dob_mean(dob_tensor *t, int ndims, const int *dims, int keepdim);
/* var with correction (0 = population, 1 = unbiased) */
dob_tensor *dob_var(dob_tensor *t, int ndims, const int *dims, int correction, int keepdim);
/* p-norm over the dims (p = 2 the Euclidean norm) */
dob_tensor *dob_norm(dob_tensor *t, double p, int ndims, const int *dims, int keepdim);
/* max/min along one dim: values (differentiable) and I64 indices (may be NULL) */
dob_tensor *dob_max_dim(dob_tensor *t, int dim, int keepdim, dob_tensor **indices);
dob_tensor *dob_min_dim(dob_tensor *t, int dim, int keepdim, dob_tensor **indices);
/* max/min of all elements (differentiable, gradient to the first max) */
dob_tensor *dob_max_all(dob_tensor *t);
dob_tensor *dob_min_all(dob_tensor *t);
/* I64 argmax along dim (not differentiable) */
dob_tensor *dob_argmax(const dob_tensor *t, int dim, int keepdim);
/* plain double results for optimizers and metrics (not recorded) */
double dob_sum_all_double(const dob_tensor *t);
double dob_dot_double(const dob_tensor *a, const dob_tensor *b);
