/* The SRCNN evaluation protocol: Y channel, modcrop, MATLAB bicubic down and
 * up, shave, uint8 rounding, PSNR and Wang's SSIM (see perceptcl/sr.h). */
#include "runtime/internal.h"
#include "perceptcl/color.h"
#include "perceptcl/datasets.h"
#include "perceptcl/resize.h"
#include "perceptcl/sr.h"
#include "perceptcl/ssim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
                                             : pcl_color_rgb_to_y(image, PCL_YCBCR_MODE_ROUND_U8, &y);
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
    float *data = (*out)->data;
    for (size_t i = 0, n = pcl_image_size(*out); i < n; i++) {
        float v = data[i];
        data[i] = v <= 0.0f ? 0.0f : v >= 255.0f ? 255.0f : floorf(v + 0.5f);
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

pcl_status pcl_sr_score_crop(pcl_context *context, const pcl_image *ground_truth, const pcl_image *estimate,
                             const int crop[4], pcl_sr_score *score)
{
    pcl_image *y = NULL, *ty = NULL, *yc = NULL, *tc = NULL;
    pcl_status s = estimate->channels == 3 ? pcl_color_rgb_to_y(estimate, PCL_YCBCR_MODE_ROUND_U8, &y)
                                           : pcl_image_clone(estimate, &y);
    if (s == PCL_OK) s = pcl_color_channel(ground_truth, 0, &ty);
    if (s == PCL_OK) s = pcl_image_crop(y, crop[0], crop[1], crop[2], crop[3], &yc);
    if (s == PCL_OK) s = pcl_image_crop(ty, crop[0], crop[1], crop[2], crop[3], &tc);
    *score = (pcl_sr_score){0, 0};
    if (s == PCL_OK && crop[2] >= 11 && crop[3] >= 11) s = pcl_sr_score_pair(context, tc, yc, 0, score);
    else if (s == PCL_OK) s = pcl_sr_psnr(tc, yc, &score->psnr);
    pcl_image_destroy(y);
    pcl_image_destroy(ty);
    pcl_image_destroy(yc);
    pcl_image_destroy(tc);
    return s;
}

/* One image: the scores of the bicubic baseline and of each estimator,
 * scores[2 k] (PSNR) and scores[2 k + 1] (SSIM) for column k. */
static pcl_status evaluate_image(pcl_context *context, const char *path, int scale, const pcl_sr_estimator *estimators,
                                 int estimator_count, double *scores)
{
    pcl_image *image = NULL, *truth = NULL, *bicubic = NULL;
    pcl_sr_score score;
    pcl_status status = pcl_image_read(path, &image);
    if (status == PCL_OK) status = pcl_sr_prepare(image, scale, &truth, &bicubic);
    if (status == PCL_OK) status = pcl_sr_score_pair(context, truth, bicubic, scale, &score);
    if (status == PCL_OK) scores[0] = score.psnr, scores[1] = score.ssim;
    for (int k = 0; k < estimator_count && status == PCL_OK; k++) {
        pcl_image *estimate = NULL;
        status = estimators[k].estimate(estimators[k].user, bicubic, &estimate);
        if (status == PCL_OK) status = pcl_sr_score_pair(context, truth, estimate, scale, &score);
        if (status == PCL_OK) scores[2 * (1 + k)] = score.psnr, scores[2 * (1 + k) + 1] = score.ssim;
        pcl_image_destroy(estimate);
    }
    pcl_image_destroy(image);
    pcl_image_destroy(truth);
    pcl_image_destroy(bicubic);
    return status;
}

/* Images [begin, end) of the dataset into scores (a row of 2 (1 + K) per
 * image); a failure names the image. */
static pcl_status evaluate_images(pcl_context *context, const pcl_dataset *dataset, const char *folder, size_t begin,
                                  size_t end, int scale, const pcl_sr_estimator *estimators, int estimator_count,
                                  double *scores)
{
    const size_t row = 2 * (size_t)(1 + estimator_count);
    pcl_status status = PCL_OK;
    for (size_t i = begin; i < end && status == PCL_OK; i++) {
        pcl_record_info info = {0};
        status = pcl_dataset_record_info(dataset, i, &info);
        if (!info.path) info.path = folder;
        if (status == PCL_OK)
            status = evaluate_image(context, info.path, scale, estimators, estimator_count, scores + (i - begin) * row);
        if (status != PCL_OK && strstr(pcl_last_error(), info.path) == NULL) {
            char why[1024];
            snprintf(why, sizeof why, "%s", pcl_last_error());
            status = pcl_fail(status, "%s: %s", info.path, why);
        }
    }
    return status;
}

pcl_status pcl_sr_evaluate_folder(pcl_context *context, const char *folder, int scale,
                                  const pcl_sr_estimator *estimators, int estimator_count, size_t *images,
                                  pcl_sr_score *means)
{
    return pcl_sr_evaluate_folder_sharded(context, NULL, folder, scale, estimators, estimator_count, images, means);
}

pcl_status pcl_sr_evaluate_folder_sharded(pcl_context *context, pcl_comm *comm, const char *folder, int scale,
                                          const pcl_sr_estimator *estimators, int estimator_count, size_t *images,
                                          pcl_sr_score *means)
{
    if (!context || !folder || !images || !means || estimator_count < 0 || (estimator_count && !estimators))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_sr_evaluate_folder: NULL or negative argument");
    *images = 0;
    for (int k = 0; k <= estimator_count; k++) means[k] = (pcl_sr_score){0, 0};
    pcl_folder_options options = {0};
    pcl_dataset *dataset = NULL;
    PCL_TRY(pcl_dataset_open_folder(folder, &options, &dataset));
    const size_t count = pcl_dataset_count(dataset), row = 2 * (size_t)(1 + estimator_count);
    size_t begin, end; /* this rank's images */
    pcl_comm_shard(comm, count, &begin, &end);
    double *all = malloc(count * row * sizeof *all + 1);
    pcl_status status = !count ? pcl_fail(PCL_ERR_INVALID_ARGUMENT, "no images in %s", folder)
                        : !all ? pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu images' scores", folder,
                                          count)
                               : PCL_OK;
    double *mine = all ? all + begin * row : NULL; /* this rank's rows, gathered in place */
    if (status == PCL_OK)
        status = evaluate_images(context, dataset, folder, begin, end, scale, estimators, estimator_count, mine);
    /* every rank's scores in image order, then the means as one process sums
     * them (each score / count, image after image): the same bits for any N */
    if (status == PCL_OK) status = pcl_comm_gather_doubles(comm, mine, (end - begin) * row, all, count * row);
    for (size_t i = 0; i < count && status == PCL_OK; i++)
        for (int k = 0; k <= estimator_count; k++) {
            means[k].psnr += all[i * row + 2 * (size_t)k] / (double)count;
            means[k].ssim += all[i * row + 2 * (size_t)k + 1] / (double)count;
        }
    free(all);
    pcl_dataset_destroy(dataset);
    if (status == PCL_OK) *images = count;
    return status;
}
