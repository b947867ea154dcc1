/* Batch norm over [N,C,H,W] (or [N,C]) per channel. In training mode it uses
   batch statistics and, if running_mean/var are given, updates them in place:
   running = (1 - momentum) * running + momentum * batch (PyTorch convention;
   TF momentum m corresponds to 1 - m), with the unbiased batch variance.
   In eval mode it uses the running statistics. weight/bias may be NULL.
   activation: DOB_ACT_NONE, or DOB_ACT_RELU for relu(batch_norm(x)) in one op. */
dob_tensor *dob_batch_norm(dob_tensor *x, dob_tensor *weight, dob_tensor *bias,
                           dob_tensor *running_mean, dob_tensor *running_var,
                           int training, double momentum, double eps, int activation);
/* layer norm over the last `ndims` dims; weight/bias of that shape or NULL */
dob_tensor *dob_layer_norm(dob_tensor *x, int ndims, dob_tensor *weight, dob_tensor *bias,
                           double eps);
