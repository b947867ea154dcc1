/* Images: JPEG decoding / encoding through libjpeg(-turbo) and the crops of
   the input pipelines (not differentiable; data preparation only).
   Decoded images are uint8 [3,H,W] (RGB, planar: NCHW without the N);
   grayscale and CMYK files are converted to RGB. `name` only labels error
   messages (a file name; NULL for "<memory>"). A file whose header claims more
   than DOB_IMAGE_MAX_PIXELS (2^26, e.g. 8192x8192) pixels is refused before
   anything is allocated. */
#define DOB_IMAGE_MAX_PIXELS 67108864
dob_tensor *dob_image_decode_jpeg(const void *data, size_t nbytes, const char *name);
dob_tensor *dob_image_decode_jpeg_file(const char *path);
/* decodes n files in parallel (one file per thread) into out[0..n-1]; on any
   failure every out[i] is NULL and the error names the first failing file */
int dob_image_decode_jpeg_files(int n, const char *const *paths, dob_tensor **out);
/* baseline JPEG, 4:4:4 (no chroma subsampling), quality 1..100, of a uint8
   [3,H,W] (RGB), [1,H,W] (grayscale) or [4,H,W] (CMYK, with an Adobe
   marker) image; returns the file bytes as a uint8 [nbytes] tensor */
dob_tensor *dob_image_encode_jpeg(const dob_tensor *img, int quality);
/* crop a window of h x w at (top, left) from float32 x [..,H,W] (any leading
   dims), zero where the window leaves the image (negative offsets pad);
   flip != 0 mirrors the window left-right. Returns a new [..,h,w] tensor. */
dob_tensor *dob_image_crop(const dob_tensor *x, int64_t top, int64_t left, int64_t h, int64_t w, int flip);
