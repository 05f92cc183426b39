/* Crops, modcrop, seeded random crops and patch extraction for training data. */
#include "image/image_io.h"
#include "perceptcl/rng.h"
#include "runtime/internal.h"

#include <string.h>

pcl_status pcl_image_crop(const pcl_image *src, int x, int y, int width, int height, pcl_image **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_crop: out is NULL");
    *out = NULL;
    if (!src || !src->data) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_crop: source image is NULL");
    if (x < 0 || y < 0 || width < 1 || height < 1 || width > src->width - x || height > src->height - y)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_crop: rectangle (%d, %d) %dx%d not inside a %dx%d image",
                        x, y, width, height, src->width, src->height);
    pcl_image *dst;
    PCL_TRY(pcl_image_create(&dst, width, height, src->channels));
    dst->max_value = src->max_value;
    size_t ch = (size_t)src->channels, row = (size_t)width * ch;
    for (int r = 0; r < height; r++)
        memcpy(dst->data + (size_t)r * row, src->data + ((size_t)(y + r) * (size_t)src->width + (size_t)x) * ch,
               row * sizeof(float));
    *out = dst;
    return PCL_OK;
}

pcl_status pcl_image_modcrop(const pcl_image *src, int scale, pcl_image **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_modcrop: out is NULL");
    *out = NULL;
    if (!src || !src->data) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_modcrop: source image is NULL");
    if (scale < 1 || scale > src->width || scale > src->height)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_modcrop: scale %d outside 1..min(%d, %d)", scale,
                        src->width, src->height);
    return pcl_image_crop(src, 0, 0, src->width - src->width % scale, src->height - src->height % scale, out);
}

pcl_status pcl_image_random_crop(const pcl_image *src, int width, int height, uint64_t *rng_state,
                                 pcl_image **out, int *x_out, int *y_out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_random_crop: out is NULL");
    *out = NULL;
    if (!src || !src->data || !rng_state)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_random_crop: NULL argument");
    if (width < 1 || height < 1 || width > src->width || height > src->height)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_random_crop: %dx%d window does not fit a %dx%d image",
                        width, height, src->width, src->height);
    int x = (int)pcl_rng_below(rng_state, (uint64_t)(src->width - width + 1));
    int y = (int)pcl_rng_below(rng_state, (uint64_t)(src->height - height + 1));
    PCL_TRY(pcl_image_crop(src, x, y, width, height, out));
    if (x_out) *x_out = x;
    if (y_out) *y_out = y;
    return PCL_OK;
}

static pcl_status patch_grid(const pcl_image *image, int size, int stride, size_t *nx, size_t *ny)
{
    if (!image || !image->data) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "patches: image is NULL");
    if (size < 1 || stride < 1)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "patches: size %d and stride %d must be >= 1", size, stride);
    *nx = image->width >= size ? (size_t)((image->width - size) / stride + 1) : 0;
    *ny = image->height >= size ? (size_t)((image->height - size) / stride + 1) : 0;
    return PCL_OK;
}

pcl_status pcl_image_patch_count(const pcl_image *image, int size, int stride, size_t *count)
{
    if (!count) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_patch_count: count is NULL");
    size_t nx = 0, ny = 0;
    PCL_TRY(patch_grid(image, size, stride, &nx, &ny));
    *count = nx * ny;
    return PCL_OK;
}

pcl_status pcl_image_extract_patches(const pcl_image *image, int size, int stride, pcl_layout layout,
                                     float *dst, size_t capacity, size_t *count)
{
    if (!dst || !count) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_extract_patches: NULL argument");
    if (layout != PCL_LAYOUT_HWC && layout != PCL_LAYOUT_CHW)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_image_extract_patches: unknown layout %d", (int)layout);
    size_t nx = 0, ny = 0;
    PCL_TRY(patch_grid(image, size, stride, &nx, &ny));
    size_t ch = (size_t)image->channels, s = (size_t)size, per_patch = s * s * ch;
    if (nx * ny > capacity / per_patch)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                        "pcl_image_extract_patches: %zu patches of %zu floats need %zu floats, capacity %zu",
                        nx * ny, per_patch, nx * ny * per_patch, capacity);
    float *patch = dst;
    for (size_t py = 0; py < ny; py++) {
        for (size_t px = 0; px < nx; px++) {
            size_t x0 = px * (size_t)stride, y0 = py * (size_t)stride;
            for (size_t r = 0; r < s; r++) {
                const float *src = image->data + ((y0 + r) * (size_t)image->width + x0) * ch;
                if (layout == PCL_LAYOUT_HWC) {
                    memcpy(patch + r * s * ch, src, s * ch * sizeof(float));
                } else {
                    for (size_t x = 0; x < s; x++)
                        for (size_t c = 0; c < ch; c++) patch[(c * s + r) * s + x] = src[x * ch + c];
                }
            }
            patch += per_patch;
        }
    }
    *count = nx * ny;
    return PCL_OK;
}
