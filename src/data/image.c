/* image.c — JPEG decode / encode (libjpeg-turbo's libjpeg API) and the crop
 * of the image input pipelines. Data preparation only: nothing here records
 * autograd nodes.
 *
 *   decode_jpeg(bytes)       -> uint8 [3,H,W], RGB planar. Grayscale files are
 *                               replicated to three channels; CMYK / YCCK files
 *                               are converted with R = C K / 255 (Adobe files
 *                               store inverted CMYK, others are inverted first).
 *                               IDCT: JDCT_ISLOW (libjpeg's accurate default).
 *                               Any libjpeg error, and a file that ends before
 *                               its image does ("Premature end of JPEG file",
 *                               a warning in libjpeg that would return grey
 *                               rows), fails with the file's name. Other
 *                               warnings (extraneous bytes) are ignored, as
 *                               TensorFlow's and PIL's decoders do.
 *   decode_jpeg_files(n, paths) the same for n files, decoded in parallel
 *                               (OpenMP, one whole file per thread, dynamic
 *                               schedule); the results do not depend on the
 *                               thread count.
 *   encode_jpeg(img, q)      uint8 [3|1|4,H,W] -> baseline JPEG bytes, 4:4:4
 *                               (4 channels: CMYK stored as given, with libjpeg's
 *                               Adobe marker, i.e. read back as inverted CMYK).
 *   crop(x, top, left, h, w, flip)
 *                            x [..,H,W] -> y [..,h,w],
 *                            y[.., i, j] = x[.., top + i, left + (flip ? w-1-j : j)]
 *                            where that is inside the image, else 0 (padding;
 *                            TF's resize_image_with_crop_or_pad pads zeros).
 *
 * libjpeg reports errors through error_exit, which must not return; it
 * longjmps back into the decode/encode call that set the jump buffer, so no
 * jump ever leaves this file (the library never longjmps into its caller).
 */
#include "tensor/tensor.h"
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jpeglib.h>
#include <jerror.h>

typedef struct jerr_ctx {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jerr_ctx;

static void on_error_exit(j_common_ptr cinfo)
{
    jerr_ctx *e = (jerr_ctx *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}

/* warnings: those that mean the pixels are not the file's (data cut short, a marker or a
   Huffman code where image data should be, data that has to be resynchronised) are errors,
   since libjpeg would fill the rest with grey; the others (e.g. extraneous bytes before a
   marker, common in real photo collections) are counted and ignored */
static void on_emit_message(j_common_ptr cinfo, int level)
{
    jerr_ctx *e = (jerr_ctx *)cinfo->err;
    if (level < 0) {
        int code = cinfo->err->msg_code;
        if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE ||
            code == JWRN_MUST_RESYNC) {
            (*cinfo->err->format_message)(cinfo, e->msg);
            longjmp(e->jump, 1);
        }
        cinfo->err->num_warnings++;
    }
}

static void on_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void jerr_init(jerr_ctx *e)
{
    jpeg_std_error(&e->pub);
    e->pub.error_exit = on_error_exit;
    e->pub.emit_message = on_emit_message;
    e->pub.output_message = on_output_message;
    e->msg[0] = 0;
}

/* ---- decode --------------------------------------------------------------------- */

/* The decode proper, thread-safe (no tensors, no error state): returns a
   malloc'd planar RGB buffer [3,H,W] and its size, or NULL with the reason
   in msg. */
static uint8_t *decode_raw(const unsigned char *b, size_t nbytes, char *msg, int64_t *oh, int64_t *ow)
{
    if (nbytes < 4 || b[0] != 0xFF || b[1] != 0xD8) {
        if (nbytes < 4) snprintf(msg, JMSG_LENGTH_MAX, "not a JPEG file: %zu bytes", nbytes);
        else snprintf(msg, JMSG_LENGTH_MAX, "not a JPEG file: starts with %02x %02x, JPEG files start with ff d8",
                      b[0], b[1]);
        return NULL;
    }
    if (nbytes > (size_t)0xFFFFFFFFu) {
        snprintf(msg, JMSG_LENGTH_MAX, "file too large (%zu bytes)", nbytes);
        return NULL;
    }
    struct jpeg_decompress_struct cinfo;
    jerr_ctx err;
    jerr_init(&err);
    cinfo.err = &err.pub;
    uint8_t *volatile out = NULL;
    JSAMPLE *volatile row = NULL;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(row);
        free(out);
        snprintf(msg, JMSG_LENGTH_MAX, "corrupt or truncated JPEG: %s", err.msg);
        return NULL;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, b, (unsigned long)nbytes);
    jpeg_read_header(&cinfo, TRUE);
    /* the header's claim, checked before anything of that size is allocated: against the
       reader's limit, and against the file's size (even a progressive scan of one flat colour
       spends over a bit per 8x8 block, i.e. fewer than 1024 pixels per byte) */
    int64_t claimed = (int64_t)cinfo.image_width * cinfo.image_height;
    if (claimed > DOB_IMAGE_MAX_PIXELS) {
        snprintf(err.msg, sizeof err.msg, "the header claims %ux%u pixels, more than the %d (2^26) this reader "
                 "accepts", (unsigned)cinfo.image_width, (unsigned)cinfo.image_height, DOB_IMAGE_MAX_PIXELS);
        longjmp(err.jump, 1);
    }
    if (claimed > (int64_t)nbytes * 1024) {
        snprintf(err.msg, sizeof err.msg, "the header claims %ux%u pixels, more than a file of %zu bytes can hold",
                 (unsigned)cinfo.image_width, (unsigned)cinfo.image_height, nbytes);
        longjmp(err.jump, 1);
    }
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    int gray = cinfo.jpeg_color_space == JCS_GRAYSCALE;
    cinfo.out_color_space = cmyk ? JCS_CMYK : gray ? JCS_GRAYSCALE : JCS_RGB;
    cinfo.dct_method = JDCT_ISLOW;
    jpeg_start_decompress(&cinfo);
    int64_t H = cinfo.output_height, W = cinfo.output_width;
    int nc = cinfo.output_components;
    if (H < 1 || W < 1 || H * W > DOB_IMAGE_MAX_PIXELS || (nc != 1 && nc != 3 && nc != 4)) {
        snprintf(err.msg, sizeof err.msg, "unsupported image %lldx%lld with %d components", (long long)H,
                 (long long)W, nc);
        longjmp(err.jump, 1);
    }
    out = malloc((size_t)(3 * H * W));
    row = malloc((size_t)W * (size_t)nc);
    if (!out || !row) {
        snprintf(err.msg, sizeof err.msg, "out of memory for a %lldx%lld image", (long long)H, (long long)W);
        longjmp(err.jump, 1);
    }
    uint8_t *po = out;
    int64_t plane = H * W;
    int adobe_inverted = cmyk && cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < cinfo.output_height) {
        int64_t y = cinfo.output_scanline;
        JSAMPROW rp = row;
        jpeg_read_scanlines(&cinfo, &rp, 1);
        uint8_t *r = po + y * W, *g = r + plane, *bl = g + plane;
        const JSAMPLE *s = row;
        if (nc == 3) {
            for (int64_t x = 0; x < W; x++) { r[x] = s[3 * x]; g[x] = s[3 * x + 1]; bl[x] = s[3 * x + 2]; }
        } else if (nc == 1) {
            for (int64_t x = 0; x < W; x++) r[x] = g[x] = bl[x] = s[x];
        } else {
            for (int64_t x = 0; x < W; x++) {
                int c = s[4 * x], m = s[4 * x + 1], yy = s[4 * x + 2], k = s[4 * x + 3];
                if (!adobe_inverted) { c = 255 - c; m = 255 - m; yy = 255 - yy; k = 255 - k; }
                r[x] = (uint8_t)((c * k + 127) / 255);
                g[x] = (uint8_t)((m * k + 127) / 255);
                bl[x] = (uint8_t)((yy * k + 127) / 255);
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    *oh = H;
    *ow = W;
    return out;
}

/* reads a whole regular file; NULL with the reason in msg. Opened without
   blocking and checked with fstat first: a FIFO or device in place of an image
   would otherwise block or never end. */
static unsigned char *read_file(const char *path, size_t *n_out, char *msg)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) { snprintf(msg, JMSG_LENGTH_MAX, "cannot open (%s)", strerror(errno)); return NULL; }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        const char *kind = S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a named pipe (FIFO)"
                           : S_ISSOCK(st.st_mode) ? "a socket" : "a device";
        snprintf(msg, JMSG_LENGTH_MAX, "is %s, not an image file", kind);
        return NULL;
    }
    if (st.st_size > (off_t)0xFFFFFFFF) {
        close(fd);
        snprintf(msg, JMSG_LENGTH_MAX, "file too large (%lld bytes; JPEG files stay below 4 GiB)",
                 (long long)st.st_size);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = malloc(n > 0 ? n : 1);
    if (!buf) { close(fd); snprintf(msg, JMSG_LENGTH_MAX, "out of memory (%zu bytes)", n); return NULL; }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        free(buf);
        snprintf(msg, JMSG_LENGTH_MAX, "read error (%zu of %zu bytes)", got, n);
        return NULL;
    }
    *n_out = n;
    return buf;
}

/* a uint8 [3,H,W] tensor holding a raw buffer from decode_raw (which it frees) */
static dob_tensor *tensor_of(uint8_t *raw, int64_t H, int64_t W)
{
    int64_t sizes[3] = {3, H, W};
    dob_tensor *t = dob__new_like_shape(DOB_U8, 3, sizes);
    if (t) memcpy(dob__u8(t), raw, (size_t)(3 * H * W));
    free(raw);
    return t;
}

dob_tensor *dob_image_decode_jpeg(const void *data, size_t nbytes, const char *name)
{
    const char *nm = name ? name : "<memory>";
    DOB_CHECK(data != NULL || nbytes == 0, "decode_jpeg: %s: data is NULL", nm);
    char msg[JMSG_LENGTH_MAX];
    int64_t H = 0, W = 0;
    uint8_t *raw = decode_raw(data, nbytes, msg, &H, &W);
    if (!raw) return dob__failp("decode_jpeg: %s: %s; re-download or re-extract the file", nm, msg);
    return tensor_of(raw, H, W);
}

dob_tensor *dob_image_decode_jpeg_file(const char *path)
{
    DOB_CHECK(path != NULL, "decode_jpeg_file: path is NULL");
    char msg[JMSG_LENGTH_MAX];
    size_t n = 0;
    unsigned char *buf = read_file(path, &n, msg);
    if (!buf) return dob__failp("decode_jpeg_file: %s: %s", path, msg);
    int64_t H = 0, W = 0;
    uint8_t *raw = decode_raw(buf, n, msg, &H, &W);
    free(buf);
    if (!raw) return dob__failp("decode_jpeg: %s: %s; re-download or re-extract the file", path, msg);
    return tensor_of(raw, H, W);
}

int dob_image_decode_jpeg_files(int n, const char *const *paths, dob_tensor **out)
{
    DOB_CHECK_INT(n >= 0 && n <= (1 << 20), "decode_jpeg_files: count must be in 0..2^20, got %d", n);
    DOB_CHECK_INT(n == 0 || (paths != NULL && out != NULL), "decode_jpeg_files: paths or out is NULL");
    for (int i = 0; i < n; i++) {
        out[i] = NULL;
        DOB_CHECK_INT(paths[i] != NULL, "decode_jpeg_files: path %d is NULL", i);
    }
    if (n == 0) return 0;
    uint8_t **raw = calloc((size_t)n, sizeof *raw);
    int64_t *hw = calloc((size_t)(2 * n), sizeof *hw);
    char (*msg)[JMSG_LENGTH_MAX] = calloc((size_t)n, sizeof *msg);
    int *stage = calloc((size_t)n, sizeof *stage);
    if (!raw || !hw || !msg || !stage) {
        free(raw); free(hw); free(msg); free(stage);
        return dob__fail("decode_jpeg_files: out of memory");
    }
    /* files are independent: one per thread, whole images (dynamic: sizes vary) */
#pragma omp parallel for schedule(dynamic, 1) if (n > 1)
    for (int i = 0; i < n; i++) {
        size_t nb = 0;
        unsigned char *buf = read_file(paths[i], &nb, msg[i]);
        if (!buf) { stage[i] = 1; continue; }
        raw[i] = decode_raw(buf, nb, msg[i], &hw[2 * i], &hw[2 * i + 1]);
        free(buf);
        if (!raw[i]) stage[i] = 2;
    }
    int bad = -1;
    for (int i = 0; i < n && bad < 0; i++)
        if (!raw[i]) bad = i;
    int rc = 0;
    if (bad >= 0) {
        rc = stage[bad] == 1 ? dob__fail("decode_jpeg_file: %s: %s", paths[bad], msg[bad])
                             : dob__fail("decode_jpeg: %s: %s; re-download or re-extract the file", paths[bad],
                                         msg[bad]);
    }
    for (int i = 0; i < n; i++) {
        if (rc == 0) {
            out[i] = tensor_of(raw[i], hw[2 * i], hw[2 * i + 1]);
            if (!out[i]) rc = -1;
        } else {
            free(raw[i]);
        }
    }
    if (rc != 0)
        for (int i = 0; i < n; i++) { dob_release(out[i]); out[i] = NULL; }
    free(raw); free(hw); free(msg); free(stage);
    return rc;
}

/* ---- encode --------------------------------------------------------------------- */

dob_tensor *dob_image_encode_jpeg(const dob_tensor *img, int quality)
{
    DOB_CHECK_TENSOR(img, "encode_jpeg", "img");
    DOB_CHECK(img->dtype == DOB_U8, "encode_jpeg: image must be uint8, got %s", dob__dtype_name(img->dtype));
    DOB_CHECK(img->ndim == 3 && (img->size[0] == 3 || img->size[0] == 1 || img->size[0] == 4) && img->size[1] >= 1 &&
                  img->size[2] >= 1 && img->size[1] <= 65500 && img->size[2] <= 65500,
              "encode_jpeg: expected an image [3,H,W], [1,H,W] or [4,H,W] (H, W in 1..65500), got %s",
              dob__shape(img));
    DOB_CHECK(quality >= 1 && quality <= 100, "encode_jpeg: quality must be in 1..100, got %d", quality);
    int nc = (int)img->size[0];
    int64_t H = img->size[1], W = img->size[2];
    int64_t s0 = img->stride[0], s1 = img->stride[1], s2 = img->stride[2];
    const uint8_t *src = dob__u8(img);

    struct jpeg_compress_struct cinfo;
    jerr_ctx err;
    jerr_init(&err);
    cinfo.err = &err.pub;
    unsigned char *volatile mem = NULL;
    unsigned long mem_size = 0;
    JSAMPLE *volatile row = malloc((size_t)W * (size_t)nc);
    if (!row) return dob__failp("encode_jpeg: out of memory");
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(row);
        free(mem);
        return dob__failp("encode_jpeg: libjpeg failed (%s)", err.msg);
    }
    jpeg_create_compress(&cinfo);
    unsigned char *m = NULL;
    jpeg_mem_dest(&cinfo, &m, &mem_size);
    cinfo.image_width = (JDIMENSION)W;
    cinfo.image_height = (JDIMENSION)H;
    cinfo.input_components = nc;
    cinfo.in_color_space = nc == 3 ? JCS_RGB : nc == 4 ? JCS_CMYK : JCS_GRAYSCALE;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    for (int c = 0; c < cinfo.num_components; c++) {
        cinfo.comp_info[c].h_samp_factor = 1;
        cinfo.comp_info[c].v_samp_factor = 1;
    }
    cinfo.dct_method = JDCT_ISLOW;
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        int64_t y = cinfo.next_scanline;
        for (int64_t x = 0; x < W; x++)
            for (int c = 0; c < nc; c++) row[x * nc + c] = src[c * s0 + y * s1 + x * s2];
        JSAMPROW rp = row;
        jpeg_write_scanlines(&cinfo, &rp, 1);
    }
    jpeg_finish_compress(&cinfo);
    mem = m;
    jpeg_destroy_compress(&cinfo);
    free(row);
    int64_t n = (int64_t)mem_size;
    dob_tensor *out = dob__new_like_shape(DOB_U8, 1, &n);
    if (out) memcpy(dob__u8(out), mem, (size_t)mem_size);
    free(mem);
    return out;
}

/* ---- crop / pad / flip ------------------------------------------------------------- */

dob_tensor *dob_image_crop(const dob_tensor *x, int64_t top, int64_t left, int64_t h, int64_t w, int flip)
{
    DOB_CHECK_F32(x, "image_crop", "x");
    DOB_CHECK(x->ndim >= 2, "image_crop: expected an image [..,H,W], got %s", dob__shape(x));
    DOB_CHECK(h >= 1 && w >= 1 && h <= (1 << 20) && w <= (1 << 20),
              "image_crop: window size must be in 1..2^20, got %lldx%lld", (long long)h, (long long)w);
    DOB_CHECK(top > -(1 << 20) && top < (1 << 20) && left > -(1 << 20) && left < (1 << 20),
              "image_crop: offsets (%lld, %lld) out of range", (long long)top, (long long)left);
    int nd = x->ndim;
    int64_t H = x->size[nd - 2], W = x->size[nd - 1];
    int64_t planes = 1;
    for (int d = 0; d < nd - 2; d++) planes *= x->size[d];
    int64_t os[DOB_MAX_DIMS];
    for (int d = 0; d < nd - 2; d++) os[d] = x->size[d];
    os[nd - 2] = h;
    os[nd - 1] = w;
    dob_tensor *xc = dob__contig((dob_tensor *)x);
    if (!xc) return NULL;
    dob_tensor *out = dob__new_like_shape(DOB_F32, nd, os);
    if (!out) { dob_release(xc); return NULL; }
    const float *px = dob__f32(xc);
    float *py = dob__f32(out);
    for (int64_t p = 0; p < planes; p++) {
        const float *src = px + p * H * W;
        float *dst = py + p * h * w;
        for (int64_t i = 0; i < h; i++) {
            int64_t sy = top + i;
            float *d = dst + i * w;
            if (sy < 0 || sy >= H) { memset(d, 0, (size_t)w * sizeof(float)); continue; }
            const float *s = src + sy * W;
            for (int64_t j = 0; j < w; j++) {
                int64_t sx = left + (flip ? w - 1 - j : j);
                d[j] = (sx >= 0 && sx < W) ? s[sx] : 0.0f;
            }
        }
    }
    dob_release(xc);
    return out;
}
