/* Image augmentation of DeepOBS 1.1's CIFAR/SVHN pipelines (TF image ops) on
   batches x [N,C,H,W] float32. Not differentiable, not recorded. Random
   parameters are drawn by the caller (one per image) and passed as tensors of
   N elements, so a seed reproduces them. Each returns a new tensor.
   pad_crop: zero-pad by `pad` on all four sides, then crop out_h x out_w at
     offsets[n] = (top, left) in padded coordinates (I64 [N,2], each in
     0..H+2pad-out_h / 0..W+2pad-out_w).
   flip_lr: mirror along W the images whose mask[n] (U8 [N]) is nonzero.
   adjust_brightness: x + delta[n] (F32 [N]).
   adjust_saturation: TF adjust_saturation (C = 3, RGB): to HSV, S = clamp(S f[n], 0, 1), back.
   adjust_contrast: (x - mean_c) f[n] + mean_c, mean_c over H, W of each image and channel.
   per_image_standardize: (x - mean) / max(std, 1/sqrt(C H W)), mean and
     population std over each image's C*H*W values (TF per_image_standardization). */
dob_tensor *dob_pad_crop(dob_tensor *x, int pad, int out_h, int out_w, dob_tensor *offsets);
dob_tensor *dob_flip_lr(dob_tensor *x, dob_tensor *mask);
dob_tensor *dob_adjust_brightness(dob_tensor *x, dob_tensor *delta);
dob_tensor *dob_adjust_saturation(dob_tensor *x, dob_tensor *factor);
dob_tensor *dob_adjust_contrast(dob_tensor *x, dob_tensor *factor);
dob_tensor *dob_per_image_standardize(dob_tensor *x);
