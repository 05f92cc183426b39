/* Internal helpers shared by the image readers and writers (not installed). */
#ifndef PERCEPTCL_IMAGE_IO_H
#define PERCEPTCL_IMAGE_IO_H

#include "perceptcl/image.h"
#include "io/file_atomic.h"

#include <stdio.h>

/* Largest width or height a reader accepts, and the largest float count;
 * a header claiming more is treated as corrupt rather than tried. */
#define PCL_IMAGE_MAX_SIDE (1 << 20)
#define PCL_IMAGE_MAX_FLOATS ((size_t)1 << 30)

/* PCL_ERR_IO naming path if it cannot be opened or is a directory (which
 * fopen accepts and read reports as 0 bytes). */
pcl_status pcl_file_check_regular(const char *path);

/* PCL_ERR_TOO_LARGE naming path if width x height exceeds pcl_image_max_pixels;
 * readers call it on the header's size, before decoding (decompression bombs). */
pcl_status pcl_image_check_pixels(const char *path, long width, long height);

/* Reads the whole file into a malloc'd buffer (*size bytes). PCL_ERR_IO on failure. */
pcl_status pcl_file_load(const char *path, unsigned char **data, size_t *size);

/* Checks reader-reported dimensions and creates the image; PCL_ERR_FORMAT
 * naming path if they are out of range. */
pcl_status pcl_image_create_checked(const char *path, int width, int height, int channels,
                                    pcl_image **out);

/* Writers stream into a pcl_file_atomic (io/file_atomic.h). */

/* Clamps to 0..255 and rounds to nearest (halves up, i.e. away from zero). */
static inline unsigned char pcl_to_u8(float v)
{
    if (!(v > 0.0f)) return 0; /* also NaN; writers refuse NaN before calling this */
    if (v >= 255.0f) return 255;
    return (unsigned char)((double)v + 0.5); /* double: v + 0.5f misrounds just below 0.5 */
}

/* Returns PCL_ERR_INVALID_ARGUMENT naming path if the image holds a NaN. */
pcl_status pcl_image_check_finite_for_write(const char *path, const pcl_image *image);

#endif
