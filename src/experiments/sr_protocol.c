/* The SRCNN evaluation protocol: Y channel, modcrop, MATLAB bicubic down and
 * up, shave, uint8 rounding, PSNR and Wang's SSIM (see perceptcl/sr.h). */
#include "runtime/internal.h"
#include "perceptcl/color.h"
#include "perceptcl/resize.h"
#include "perceptcl/sr.h"
#include "perceptcl/ssim.h"

#include <math.h>
#include <stdlib.h>

pcl_status pcl_sr_prepare(const pcl_image *image, int scale, pcl_image **ground_truth_y, pcl_image **bicubic_y)
{
    if (ground_truth_y) *ground_truth_y = NULL;
    if (bicubic_y) *bicubic_y = NULL;
    if (scale < 2) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "super-resolution scale must be 2 or more, not %d", scale);
    if (image->max_value != 255.0f)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "the SR protocol needs an 8-bit image (this one's white is %g)",
                        (double)image->max_value);
    pcl_image *y = NULL, *gnd = NULL, *low = NULL, *up = NULL;
    /* Gray images are the Y channel as they are (SRCNN: if size(im, 3) > 1). */
    pcl_status status = image->channels == 1 ? pcl_image_clone(image, &y)
                                             : pcl_color_rgb_to_y(image, PCL_YCBCR_ROUND_U8, &y);
    if (status == PCL_OK) status = pcl_image_modcrop(y, scale, &gnd);
    if (status == PCL_OK && bicubic_y) {
        /* The MATLAB code resizes single-precision images: no uint8 rounding. */
        status = pcl_resize_bicubic_scale(gnd, 1.0 / scale, PCL_RESIZE_DEFAULT, &low);
        if (status == PCL_OK) status = pcl_resize_bicubic(low, gnd->width, gnd->height, PCL_RESIZE_DEFAULT, &up);
    }
    pcl_image_destroy(y);
    pcl_image_destroy(low);
    if (status != PCL_OK) {
        pcl_image_destroy(gnd);
        pcl_image_destroy(up);
        return status;
    }
    if (ground_truth_y) *ground_truth_y = gnd;
    else pcl_image_destroy(gnd);
    if (bicubic_y) *bicubic_y = up;
    return PCL_OK;
}

pcl_status pcl_sr_shave_u8(const pcl_image *image, int border, pcl_image **out)
{
    *out = NULL;
    if (image->channels != 1) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "shave expects a 1-channel image");
    if (border < 0 || 2 * border >= image->width || 2 * border >= image->height)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "cannot shave %d pixels from a %dx%d image", border, image->width,
                        image->height);
    PCL_TRY(pcl_image_crop(image, border, border, image->width - 2 * border, image->height - 2 * border, out));
    for (size_t i = 0; i < pcl_image_size(*out); i++) {
        float v = (*out)->data[i];
        (*out)->data[i] = v <= 0.0f ? 0.0f : v >= 255.0f ? 255.0f : floorf(v + 0.5f);
    }
    (*out)->max_value = 255.0f;
    return PCL_OK;
}

pcl_status pcl_sr_psnr(const pcl_image *reference, const pcl_image *test, double *psnr)
{
    if (reference->width != test->width || reference->height != test->height || reference->channels != test->channels)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "PSNR of images of different sizes (%dx%dx%d and %dx%dx%d)",
                        reference->width, reference->height, reference->channels, test->width, test->height,
                        test->channels);
    double sum = 0;
    size_t n = pcl_image_size(reference);
    for (size_t i = 0; i < n; i++) {
        double d = (double)reference->data[i] - (double)test->data[i];
        sum += d * d;
    }
    *psnr = sum == 0 ? INFINITY : 10.0 * log10(255.0 * 255.0 / (sum / (double)n));
    return PCL_OK;
}

static pcl_status ssim_u8(pcl_context *context, const pcl_image *a, const pcl_image *b, double *value)
{
    pcl_ssim_options options = pcl_ssim_options_default();
    options.data_range = 255.0;
    pcl_ssim *plan = NULL;
    cl_mem x = NULL, y = NULL;
    size_t bytes = sizeof(float) * pcl_image_size(a);
    float result = 0;
    pcl_status status = pcl_ssim_create(context, 1, a->height, a->width, &options, &plan);
    if (status == PCL_OK) status = pcl_buffer_create(context, bytes, &x);
    if (status == PCL_OK) status = pcl_buffer_create(context, bytes, &y);
    if (status == PCL_OK) status = pcl_buffer_write(context, x, 0, bytes, a->data);
    if (status == PCL_OK) status = pcl_buffer_write(context, y, 0, bytes, b->data);
    if (status == PCL_OK) status = pcl_ssim_run(plan, x, y, &result, NULL);
    pcl_buffer_release(x);
    pcl_buffer_release(y);
    pcl_ssim_destroy(plan);
    *value = result;
    return status;
}

pcl_status pcl_sr_score_pair(pcl_context *context, const pcl_image *ground_truth, const pcl_image *estimate,
                             int border, pcl_sr_score *score)
{
    if (ground_truth->width != estimate->width || ground_truth->height != estimate->height)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "estimate is %dx%d but the ground truth is %dx%d", estimate->width,
                        estimate->height, ground_truth->width, ground_truth->height);
    pcl_image *g = NULL, *e = NULL;
    pcl_status status = pcl_sr_shave_u8(ground_truth, border, &g);
    if (status == PCL_OK) status = pcl_sr_shave_u8(estimate, border, &e);
    if (status == PCL_OK) status = pcl_sr_psnr(g, e, &score->psnr);
    if (status == PCL_OK) status = ssim_u8(context, g, e, &score->ssim);
    pcl_image_destroy(g);
    pcl_image_destroy(e);
    return status;
}
