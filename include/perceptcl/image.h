/* perceptcl: host images, their files, crops and patches.
 *
 * A pcl_image holds float32 pixels, interleaved (HWC: row 0 is the top row,
 * pixel (x, y) channel c is data[(y * width + x) * channels + c]), with 1
 * (gray), 3 (RGB) or 4 (RGBA) channels as the file stores them (gray+alpha
 * files keep 2 channels). Values are in the file's natural scale: 8-bit files
 * give integers 0..255, 16-bit files 0..65535, PNM files 0..maxval, PFM files
 * the floats as stored. Integers up to 2^24 are exact in float32, so 8- and
 * 16-bit data round-trips bit-exactly; no separate u8 reader is needed.
 *
 * Readers pick the format from the first bytes of the file, never from its
 * name: PNG, JPEG (baseline/progressive, gray or RGB), PNM (P2/P3/P5/P6,
 * maxval up to 65535), PFM (Pf/PF) and BMP (uncompressed 8-bit paletted,
 * 24-bit, 32-bit; bottom-up or top-down). Truncated or corrupt files fail
 * with PCL_ERR_FORMAT and a message naming the file, the byte offset or row,
 * and what was expected; no partial image is ever returned (*out is NULL).
 * PFM files holding NaN or infinity are refused (PCL_ERR_FORMAT naming the
 * file and the pixel): every image a reader returns is finite.
 *
 * Writers are atomic: they write "<path>.tmp.<pid>" and rename it over path,
 * so a failed write leaves no file (and an old file at path untouched). */
#ifndef PERCEPTCL_IMAGE_H
#define PERCEPTCL_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "perceptcl/export.h"
#include "perceptcl/rng.h"
#include "perceptcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pcl_image {
    int width;
    int height;
    int channels;     /* 1, 2, 3 or 4 */
    float max_value;  /* natural white of the source: 255, 65535, PNM maxval; 1 for PFM; 255 for created images */
    float *data;      /* height * width * channels floats, HWC, owned by the image */
} pcl_image;

/* Memory layout of extracted patches. */
typedef enum pcl_layout {
    PCL_LAYOUT_HWC = 0, /* per patch: rows, then pixels, then channels (like pcl_image) */
    PCL_LAYOUT_CHW      /* per patch: channel planes, each row-major (network input order) */
} pcl_layout;

/* Allocates a zero-filled width x height x channels image (1 <= channels <= 4),
 * max_value 255. */
PCL_API pcl_status pcl_image_create(pcl_image **out, int width, int height, int channels);
PCL_API void pcl_image_destroy(pcl_image *image);
PCL_API pcl_status pcl_image_clone(const pcl_image *src, pcl_image **out);

/* Number of floats in the image (width * height * channels). */
PCL_API size_t pcl_image_size(const pcl_image *image);

/* The most pixels (width x height) a reader decodes: a file whose header claims
 * more is refused with PCL_ERR_TOO_LARGE before any pixel is decoded, so a small
 * compressed file cannot make a reader allocate gigabytes (a decompression
 * bomb). The default, PCL_IMAGE_DEFAULT_MAX_PIXELS = 2^25 (33.5 megapixels:
 * an 8K UHD frame, 7680x4320, fits; every image of the SR and autoencoder
 * corpora is under 0.5 megapixels), is replaced by the environment variable
 * PERCEPTCL_MAX_PIXELS (a whole number >= 1; anything else makes the readers
 * fail with PCL_ERR_INVALID_ARGUMENT naming it), and both by
 * pcl_image_set_max_pixels (0 restores environment/default; the apps'
 * --max-pixels N). Process-wide, not thread-safe to change while reading. */
#define PCL_IMAGE_DEFAULT_MAX_PIXELS ((size_t)1 << 25)
PCL_API pcl_status pcl_image_set_max_pixels(size_t pixels);
PCL_API pcl_status pcl_image_max_pixels(size_t *pixels);

/* PCL_ERR_FORMAT naming path, the pixel and the channel of the first NaN or
 * infinite value (the PFM reader calls it: every reader returns finite pixels). */
PCL_API pcl_status pcl_image_check_finite(const char *path, const pcl_image *image);

/* Reads any supported file; the format is detected from its magic bytes.
 * A directory is refused as such (PCL_ERR_IO, "is a directory"). */
PCL_API pcl_status pcl_image_read(const char *path, pcl_image **out);

/* Format-specific readers (pcl_image_read dispatches to these). */
PCL_API pcl_status pcl_image_read_png(const char *path, pcl_image **out);
PCL_API pcl_status pcl_image_read_jpeg(const char *path, pcl_image **out);
PCL_API pcl_status pcl_image_read_pnm(const char *path, pcl_image **out); /* P2 P3 P5 P6 Pf PF */
PCL_API pcl_status pcl_image_read_bmp(const char *path, pcl_image **out);

/* 16-bit PNG, same channels: each value v is written as round(v * 65535 /
 * max_value) clamped to 0..65535 (exact for max_value 65535, the 16-bit files'
 * scale); NaN is refused. The depth-keeping writer for max_value > 255. */
PCL_API pcl_status pcl_image_write_png16(const char *path, const pcl_image *image);
/* 8-bit PNG of 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels.
 * Values are clamped to 0..255 and rounded to nearest (halves away from zero);
 * NaN is refused with PCL_ERR_INVALID_ARGUMENT. */
PCL_API pcl_status pcl_image_write_png(const char *path, const pcl_image *image);
/* 8-bit binary PGM (P5, 1 channel) or PPM (P6, 3 channels), same rounding. */
PCL_API pcl_status pcl_image_write_pnm(const char *path, const pcl_image *image);
/* PFM of 1 ('Pf') or 3 ('PF') channels, little-endian (scale -1), float32 as is. */
PCL_API pcl_status pcl_image_write_pfm(const char *path, const pcl_image *image);

/* Copies the rectangle (x, y, width, height), which must lie inside src. */
PCL_API pcl_status pcl_image_crop(const pcl_image *src, int x, int y, int width, int height, pcl_image **out);
/* Crops the bottom/right so width and height are multiples of scale (MATLAB
 * modcrop: keeps the top-left corner). */
PCL_API pcl_status pcl_image_modcrop(const pcl_image *src, int scale, pcl_image **out);
/* Crops a width x height window at a uniformly random position drawn from
 * *rng_state (a splitmix64 state, rng.h, the caller seeds and owns; it is
 * advanced: x = pcl_rng_below(rng_state, width range), then y likewise).
 * x_out/y_out may be NULL. */
PCL_API pcl_status pcl_image_random_crop(const pcl_image *src, int width, int height, uint64_t *rng_state,
                                         pcl_image **out, int *x_out, int *y_out);

/* Number of size x size patches at stride: positions 0, stride, 2*stride, ...
 * while the patch fits (SRCNN's generate_train.m rule). */
PCL_API pcl_status pcl_image_patch_count(const pcl_image *image, int size, int stride, size_t *count);
/* Writes all patches (row of positions by row, left to right) to dst, which
 * holds capacity floats; each patch takes size*size*channels floats. */
PCL_API pcl_status pcl_image_extract_patches(const pcl_image *image, int size, int stride, pcl_layout layout,
                                             float *dst, size_t capacity, size_t *count);

#ifdef __cplusplus
}
#endif
#endif
