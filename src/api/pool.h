/* Pooling, NCHW, explicit four-sided padding. Max pooling pads with -inf.
   Average pooling with count_include_pad = 0 divides by the number of
   non-padded cells (TF SAME); 1 divides by KH*KW. */
dob_tensor *dob_max_pool2d(dob_tensor *x, int kh, int kw, int sh, int sw,
                           int pad_top, int pad_bottom, int pad_left, int pad_right);
dob_tensor *dob_avg_pool2d(dob_tensor *x, int kh, int kw, int sh, int sw,
                           int pad_top, int pad_bottom, int pad_left, int pad_right,
                           int count_include_pad);
/* bilinear resize, TF1 semantics (align_corners = False, no half-pixel
   centres): src = dst * in / out. x [N,C,H,W] -> [N,C,out_h,out_w] */
dob_tensor *dob_resize_bilinear(dob_tensor *x, int out_h, int out_w);
