/* 2-D convolution, NCHW. x [N,C,H,W], w [OC,C,KH,KW], bias [OC] or NULL.
   pad_top/bottom/left/right are explicit so TensorFlow's asymmetric SAME
   padding is exact. out H = (H + pt + pb - KH) / sh + 1. activation
   (DOB_ACT_NONE or DOB_ACT_RELU) is applied to conv + bias as it is written. */
dob_tensor *dob_conv2d(dob_tensor *x, dob_tensor *w, dob_tensor *bias,
                       int stride_h, int stride_w,
                       int pad_top, int pad_bottom, int pad_left, int pad_right, int activation);
/* transposed convolution (the gradient of conv2d w.r.t. its input):
   x [N,C,H,W], w [C,OC,KH,KW] (PyTorch layout), output size given by out_h/out_w
   so TF's SAME conv2d_transpose is exact: out = (H-1)*s + KH - pt - pb.
   activation as conv2d's. */
dob_tensor *dob_conv_transpose2d(dob_tensor *x, dob_tensor *w, dob_tensor *bias,
                                 int stride_h, int stride_w,
                                 int pad_top, int pad_bottom, int pad_left, int pad_right, int activation);
