/* Host images: allocation and the helpers the codecs share (file loading,
 * checked sizes, the NaN check before writing); the codecs call these, never
 * the reverse. Reading by format is image_read.c (writes go through
 * io/file_atomic.h). */
#include "image/image_io.h"
#include "runtime/internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* 0: not set by pcl_image_set_max_pixels (the environment or the default applies). */
static size_t max_pixels_set;

pcl_status pcl_image_set_max_pixels(size_t pixels)
{
    max_pixels_set = pixels;
    return PCL_OK;
}

pcl_status pcl_image_max_pixels(size_t *pixels)
{
    if (!pixels) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_max_pixels: pixels is NULL");
    *pixels = PCL_IMAGE_DEFAULT_MAX_PIXELS;
    if (max_pixels_set) {
        *pixels = max_pixels_set;
        return PCL_OK;
    }
    const char *text = getenv("PERCEPTCL_MAX_PIXELS");
    if (!text || !*text) return PCL_OK;
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (*end || errno || value < 1 || text[0] == '-')
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                        "PERCEPTCL_MAX_PIXELS: expected a whole number of pixels >= 1, got '%s'", text);
    *pixels = (size_t)value;
    return PCL_OK;
}

pcl_status pcl_image_check_pixels(const char *path, long width, long height)
{
    size_t limit;
    PCL_TRY(pcl_image_max_pixels(&limit));
    if (width >= 1 && height >= 1 && (double)width * (double)height > (double)limit)
        return pcl_fail(PCL_ERR_TOO_LARGE,
                        "%s: %ldx%ld is %.0f pixels, over the limit of %zu (a decompression bomb?); "
                        "--max-pixels N or PERCEPTCL_MAX_PIXELS=N raises it",
                        path, width, height, (double)width * (double)height, limit);
    return PCL_OK;
}

pcl_status pcl_image_create(pcl_image **out, int width, int height, int channels)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_create: out is NULL");
    *out = NULL;
    if (width < 1 || height < 1 || width > PCL_IMAGE_MAX_SIDE || height > PCL_IMAGE_MAX_SIDE)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                        "pcl_image_create: size %dx%d outside 1..%d", width, height, PCL_IMAGE_MAX_SIDE);
    if (channels < 1 || channels > 4)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_create: channels %d outside 1..4", channels);
    size_t count = (size_t)width * (size_t)height * (size_t)channels;
    if (count > PCL_IMAGE_MAX_FLOATS)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_create: %dx%dx%d exceeds %zu floats",
                        width, height, channels, PCL_IMAGE_MAX_FLOATS);
    pcl_image *image = malloc(sizeof *image);
    float *data = calloc(count, sizeof *data);
    if (!image || !data) {
        free(image);
        free(data);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_image_create: cannot allocate %dx%dx%d floats",
                        width, height, channels);
    }
    image->width = width;
    image->height = height;
    image->channels = channels;
    image->max_value = 255.0f;
    image->data = data;
    *out = image;
    return PCL_OK;
}

void pcl_image_destroy(pcl_image *image)
{
    if (!image) return;
    free(image->data);
    free(image);
}

size_t pcl_image_size(const pcl_image *image)
{
    return image ? (size_t)image->width * (size_t)image->height * (size_t)image->channels : 0;
}

pcl_status pcl_image_clone(const pcl_image *src, pcl_image **out)
{
    if (!src || !out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_clone: NULL argument");
    PCL_TRY(pcl_image_create(out, src->width, src->height, src->channels));
    (*out)->max_value = src->max_value;
    memcpy((*out)->data, src->data, pcl_image_size(src) * sizeof(float));
    return PCL_OK;
}

pcl_status pcl_image_create_checked(const char *path, int width, int height, int channels,
                                    pcl_image **out)
{
    *out = NULL;
    if (width < 1 || height < 1 || width > PCL_IMAGE_MAX_SIDE || height > PCL_IMAGE_MAX_SIDE ||
        (size_t)width * (size_t)height * (size_t)channels > PCL_IMAGE_MAX_FLOATS)
        return pcl_fail(PCL_ERR_FORMAT, "%s: header: expected a size within 1..%d per side, got %dx%d",
                        path, PCL_IMAGE_MAX_SIDE, width, height);
    PCL_TRY(pcl_image_check_pixels(path, width, height));
    pcl_status status = pcl_image_create(out, width, height, channels);
    if (status == PCL_ERR_OUT_OF_MEMORY)
        return pcl_fail(status, "%s: cannot allocate a %dx%dx%d image", path, width, height, channels);
    return status;
}

pcl_status pcl_file_check_regular(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return pcl_fail(PCL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return pcl_fail(PCL_ERR_IO, "%s: is a directory, not an image file", path);
    return PCL_OK;
}

pcl_status pcl_file_load(const char *path, unsigned char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    PCL_TRY(pcl_file_check_regular(path));
    FILE *file = fopen(path, "rb");
    if (!file) return pcl_fail(PCL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char *buffer = NULL;
    size_t length = 0, capacity = 0;
    for (;;) {
        if (length == capacity) {
            size_t grown = capacity ? capacity * 2 : 65536;
            unsigned char *bigger = realloc(buffer, grown);
            if (!bigger) {
                free(buffer);
                fclose(file);
                return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", path, grown);
            }
            buffer = bigger;
            capacity = grown;
        }
        size_t got = fread(buffer + length, 1, capacity - length, file);
        length += got;
        if (got == 0) break;
    }
    int failed = ferror(file);
    int saved = errno;
    fclose(file);
    if (failed) {
        free(buffer);
        return pcl_fail(PCL_ERR_IO, "%s: read error at offset %zu: %s", path, length, strerror(saved));
    }
    *data = buffer;
    *size = length;
    return PCL_OK;
}

pcl_status pcl_image_check_finite_for_write(const char *path, const pcl_image *image)
{
    size_t n = pcl_image_size(image);
    for (size_t i = 0; i < n; i++) {
        if (isnan(image->data[i])) {
            size_t pixel = i / (size_t)image->channels;
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s: pixel (%zu, %zu) channel %zu is NaN; not written",
                            path, pixel % (size_t)image->width, pixel / (size_t)image->width,
                            i % (size_t)image->channels);
        }
    }
    return PCL_OK;
}

pcl_status pcl_image_check_finite(const char *path, const pcl_image *image)
{
    if (!image || !image->data) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_check_finite: image is NULL");
    size_t n = pcl_image_size(image);
    for (size_t i = 0; i < n; i++) {
        if (isfinite(image->data[i])) continue;
        size_t pixel = i / (size_t)image->channels;
        return pcl_fail(PCL_ERR_FORMAT, "%s: pixel (%zu, %zu) channel %zu is %s: only finite pixel values are read",
                        path ? path : "image", pixel % (size_t)image->width, pixel / (size_t)image->width,
                        i % (size_t)image->channels, isnan(image->data[i]) ? "NaN" : "infinite");
    }
    return PCL_OK;
}
