/* Matrix products through cblas_sgemm (row-major).
   matmul: [n,k]x[k,m] -> [n,m]; batched [b,n,k]x[b,k,m] -> [b,n,m]
   (a 2-D operand broadcasts over the batch); 1-D operands as in numpy. */
dob_tensor *dob_matmul(dob_tensor *a, dob_tensor *b);
/* beta * c + alpha * a @ b (c broadcast to [n, m]) */
dob_tensor *dob_addmm(dob_tensor *c, dob_tensor *a, dob_tensor *b, double beta, double alpha);
/* bmm: [b,n,k]x[b,k,m] -> [b,n,m] */
dob_tensor *dob_bmm(dob_tensor *a, dob_tensor *b);
/* linear: x [..., in] W [out, in] bias [out] (may be NULL) -> [..., out];
   activation DOB_ACT_NONE or DOB_ACT_RELU (relu(x W^T + b) in one op) */
dob_tensor *dob_linear(dob_tensor *x, dob_tensor *w, dob_tensor *bias, int activation);
