/* SRCNN 9-5-5: the network as a pcl_model (its table in architectures.c), tiled
 * test-time inference and the training sub-images (see perceptcl/srcnn.h). */
#include "runtime/internal.h"
#include "perceptcl/architectures.h"
#include "perceptcl/color.h"
#include "perceptcl/resize.h"
#include "perceptcl/datasets.h"
#include "perceptcl/sr.h"
#include "perceptcl/srcnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Layer index in the model of conv1, conv2, conv3 (ReLUs in between). */
static const int conv_index[3] = {0, 2, 4};

pcl_status pcl_srcnn_create(pcl_context *context, pcl_srcnn_mode mode, pcl_model **model)
{
    *model = NULL;
    if (mode != PCL_SRCNN_MODE_VALID && mode != PCL_SRCNN_MODE_REPLICATE)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: unknown mode %d", (int)mode);
    return pcl_model_build_architecture(context, mode == PCL_SRCNN_MODE_VALID ? &pcl_arch_srcnn_955 : &pcl_arch_srcnn_955_replicate,
                                        model);
}

/* Fails when model is not a 9-5-5 SRCNN (the valid table's tensors). */
static pcl_status check_srcnn(const pcl_model *model)
{
    const pcl_layer_spec *spec = pcl_arch_srcnn_955.spec;
    int ok = pcl_model_layer_count(model) == pcl_arch_srcnn_955.count;
    for (int k = 0; k < 3 && ok; k++) {
        pcl_layer *layer = pcl_model_layer(model, conv_index[k]);
        pcl_tensor *w = NULL;
        ok = pcl_layer_get_kind(layer) == PCL_LAYER_KIND_CONV2D && pcl_layer_param_count(layer) == 2 &&
             pcl_layer_param(layer, 0, &w, NULL, NULL) == PCL_OK;
        const pcl_layer_spec *e = &spec[conv_index[k]];
        ok = ok && w->n == e->out && w->c == e->in && w->h == e->kernel && w->w == e->kernel;
    }
    if (!ok) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: the model is not a 9-5-5 SRCNN");
    return PCL_OK;
}

pcl_status pcl_srcnn_init(pcl_model *model, double std, uint64_t seed)
{
    if (!(std > 0) || !isfinite(std)) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: init std must be > 0");
    PCL_TRY(check_srcnn(model));
    return pcl_model_init_weights(model, PCL_INIT_GAUSSIAN, std, seed);
}

/* Device bytes per image pixel of the test-time pass, a bound: the input,
 * conv1's 64 outputs and their ReLU, conv2's padded copy of them, the 32 of
 * conv2 and theirs, conv3's padded copy, its output (about 290 floats). */
#define APPLY_BYTES_PER_PIXEL ((size_t)300 * sizeof(float))

/* At most 2^19 pixels per forward (about 0.6 GB; BSD100 and Set14 images
 * go whole): larger images go in full-width strips. Measured on `srcnn
 * upscale` x4 of a 481x321 image (1924x1284, PoCL, 2 cores): 2^20 pixels per
 * forward and 2^19 took the same time (5.4-5.8 s; the halos add 6%), max RSS
 * 1.37 GB and 0.78 GB; 2^18: 5-10% slower, 0.46 GB. With strips of one size
 * (buffers made once) and the ReLUs fused, medians of 3 alternated rounds
 * (load 4.1-4.5): 2^19 4.98 s wall / 4.0 s CPU / 0.55 GB, 2^18 5.19 / 4.6 /
 * 0.37 GB, 2^17 5.34 / 4.2 / 0.30 GB. */
#define APPLY_MAX_PIXELS ((size_t)1 << 19)

/* The pixels (halo included) one forward may take: APPLY_MAX_PIXELS, its
 * largest buffer (64 channels) within the device's allocation limit and all
 * of them within an eighth of its global memory; PERCEPTCL_SRCNN_TILE_PIXELS
 * lowers it (tests, memory-bound hosts). */
static size_t apply_budget(pcl_context *context)
{
    const pcl_device_info *device = pcl_context_device(context);
    size_t budget = APPLY_MAX_PIXELS;
    if (device->max_allocation && device->max_allocation / (64 * sizeof(float)) < budget)
        budget = (size_t)(device->max_allocation / (64 * sizeof(float)));
    if (device->global_memory && device->global_memory / 8 / APPLY_BYTES_PER_PIXEL < budget)
        budget = (size_t)(device->global_memory / 8 / APPLY_BYTES_PER_PIXEL);
    const char *env = getenv("PERCEPTCL_SRCNN_TILE_PIXELS");
    if (env && atol(env) > 0 && (size_t)atol(env) < budget) budget = (size_t)atol(env);
    return budget;
}

pcl_status pcl_srcnn_apply(pcl_model *model, const pcl_image *bicubic_y, pcl_image **out)
{
    *out = NULL;
    if (bicubic_y->channels != 1)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: expects a 1-channel Y image, not %d channels",
                        bicubic_y->channels);
    PCL_TRY(check_srcnn(model));
    {
        pcl_layer *first = pcl_model_layer(model, 0);
        int in[4] = {1, 1, 1, 1}, o[4];
        if (pcl_layer_output_shape(first, in, o) != PCL_OK || o[2] != 1)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: test-time inference needs a replicate-padded model");
    }
    const int W = bicubic_y->width, H = bicubic_y->height, halo = PCL_SRCNN_BORDER;
    pcl_context *context = pcl_model_context(model);
    /* Tiles: the whole image where it fits the budget (no halo at all), else
     * full-width strips of at least 8 halos' height, else squares. */
    size_t budget = apply_budget(context);
    int tile_w = W, tile_h = H;
    if ((size_t)W * H > budget) {
        if ((size_t)W * (10 * halo) <= budget) {
            tile_h = (int)(budget / (size_t)W) - 2 * halo;
        } else {
            int side = (int)sqrt((double)budget) - 2 * halo;
            if (side < 1)
                return pcl_fail(PCL_ERR_TOO_LARGE, "srcnn: the device allows %zu pixels per forward, under a %dx%d tile",
                                budget, 2 * halo + 1, 2 * halo + 1);
            tile_w = side < W ? side : W;
            tile_h = side < H ? side : H;
        }
    }
    /* Tiles of equal size (the last one not smaller than the others), so
     * that the model's activations are made and first touched once, not per
     * tile: 2.47 Mpixels in five strips spent 16% of `srcnn upscale` in page
     * faults when each strip's shape differed from the one before. */
    tile_w = (W + (W + tile_w - 1) / tile_w - 1) / ((W + tile_w - 1) / tile_w);
    tile_h = (H + (H + tile_h - 1) / tile_h - 1) / ((H + tile_h - 1) / tile_h);
    /* Every tile's input: iw x ih pixels, the output block plus a halo on
     * each side it shares with another tile, moved inward at the image edges
     * (where the network's own replicate padding takes over exactly as on
     * the whole image); a block is then at least a halo away from every
     * edge of its input that is not an image edge. */
    const int iw = tile_w + 2 * halo < W ? tile_w + 2 * halo : W;
    const int ih = tile_h + 2 * halo < H ? tile_h + 2 * halo : H;
    pcl_image *result = NULL;
    PCL_TRY(pcl_image_create(&result, W, H, 1));
    pcl_model_set_training(model, 0);
    float *tile_in = malloc(sizeof(float) * (size_t)iw * ih);
    float *tile_out = malloc(sizeof(float) * (size_t)iw * ih);
    pcl_status status = tile_in && tile_out ? PCL_OK : pcl_fail(PCL_ERR_OUT_OF_MEMORY, "srcnn: out of memory");
    pcl_tensor *x = NULL;
    if (status == PCL_OK) status = pcl_tensor_create(context, 1, 1, ih, iw, &x);
    for (int ty = 0; ty < H && status == PCL_OK; ty += tile_h) {
        for (int tx = 0; tx < W && status == PCL_OK; tx += tile_w) {
            /* Output block [tx, tx+bw) x [ty, ty+bh); its input [x0, x0+iw) x [y0, y0+ih). */
            int bw = W - tx < tile_w ? W - tx : tile_w, bh = H - ty < tile_h ? H - ty : tile_h;
            int x0 = tx - halo < 0 ? 0 : tx - halo > W - iw ? W - iw : tx - halo;
            int y0 = ty - halo < 0 ? 0 : ty - halo > H - ih ? H - ih : ty - halo;
            for (int r = 0; r < ih; r++)
                for (int c = 0; c < iw; c++)
                    tile_in[(size_t)r * iw + c] = bicubic_y->data[(size_t)(y0 + r) * W + x0 + c] / 255.0f;
            pcl_tensor *y = NULL;
            status = pcl_tensor_upload(x, tile_in);
            if (status == PCL_OK) status = pcl_model_forward(model, x, &y);
            if (status == PCL_OK) status = pcl_tensor_download(y, tile_out);
            for (int r = 0; r < bh && status == PCL_OK; r++)
                for (int c = 0; c < bw; c++)
                    result->data[(size_t)(ty + r) * W + tx + c] =
                        tile_out[(size_t)(ty - y0 + r) * iw + (tx - x0 + c)] * 255.0f;
        }
    }
    pcl_tensor_destroy(x);
    free(tile_in);
    free(tile_out);
    for (size_t i = 0; status == PCL_OK && i < pcl_image_size(result); i++)
        if (!isfinite(result->data[i]))
            status = pcl_fail(PCL_ERR_UNDEFINED, "srcnn: the network output is not finite at pixel %zu", i);
    if (status != PCL_OK) {
        pcl_image_destroy(result);
        return status;
    }
    *out = result;
    return PCL_OK;
}

/* ---- training data ------------------------------------------------------------ */

/* ---- colour images ---------------------------------------------------------- */

pcl_status pcl_srcnn_colour_input(const pcl_image *image, pcl_image **ycbcr)
{
    *ycbcr = NULL;
    if (image->max_value != 255.0f) {
        pcl_image *scaled = NULL;
        PCL_TRY(pcl_image_clone(image, &scaled));
        for (size_t i = 0; i < pcl_image_size(scaled); i++)
            scaled->data[i] = roundf(scaled->data[i] * 255.0f / image->max_value);
        scaled->max_value = 255.0f;
        pcl_status s = pcl_srcnn_colour_input(scaled, ycbcr);
        pcl_image_destroy(scaled);
        return s;
    }
    if (image->channels == 1) return pcl_image_clone(image, ycbcr);
    if (image->channels == 2) return pcl_color_channel(image, 0, ycbcr); /* gray + alpha: the gray */
    return pcl_color_rgb_to_ycbcr(image, PCL_YCBCR_MODE_ROUND_U8, ycbcr);
}

pcl_status pcl_srcnn_colour_output(pcl_model *model, const pcl_image *ycbcr_up, pcl_image **rgb)
{
    *rgb = NULL;
    pcl_image *planes[3] = {0}, *y = NULL, *merged = NULL;
    pcl_status s = pcl_color_split(ycbcr_up, planes);
    if (s == PCL_OK) s = model ? pcl_srcnn_apply(model, planes[0], &y) : pcl_image_clone(planes[0], &y);
    if (s == PCL_OK) {
        pcl_image_destroy(planes[0]);
        planes[0] = y;
        y = NULL;
        s = pcl_color_merge(planes, ycbcr_up->channels, &merged);
    }
    if (s == PCL_OK && ycbcr_up->channels == 3) s = pcl_color_ycbcr_to_rgb(merged, PCL_YCBCR_MODE_ROUND_U8, rgb);
    else if (s == PCL_OK) {
        for (size_t i = 0; i < pcl_image_size(merged); i++) {
            float v = merged->data[i];
            merged->data[i] = v <= 0 ? 0 : v >= 255 ? 255 : floorf(v + 0.5f);
        }
        *rgb = merged;
        merged = NULL;
    }
    for (int c = 0; c < 3; c++) pcl_image_destroy(planes[c]);
    pcl_image_destroy(y);
    pcl_image_destroy(merged);
    return s;
}

pcl_status pcl_srcnn_upscale_colour(pcl_model *model, const pcl_image *image, int scale, pcl_image **out)
{
    *out = NULL;
    if (scale < 2 || scale > 8)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn upscale: scale %d, expected 2..8", scale);
    pcl_image *ycc = NULL, *up = NULL;
    pcl_status s = pcl_srcnn_colour_input(image, &ycc);
    if (s == PCL_OK) s = pcl_resize_bicubic_scale(ycc, (double)scale, PCL_RESIZE_DEFAULT, &up);
    if (s == PCL_OK) s = pcl_srcnn_colour_output(model, up, out);
    pcl_image_destroy(ycc);
    pcl_image_destroy(up);
    return s;
}

pcl_status pcl_srcnn_colour_truth(const pcl_image *image, int scale, pcl_image **truth, pcl_image **bicubic)
{
    *truth = *bicubic = NULL;
    if (scale < 2 || scale > 8) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: scale must be 2..8, not %d", scale);
    pcl_image *ycc = NULL, *low = NULL;
    pcl_status s = pcl_srcnn_colour_input(image, &ycc);
    if (s == PCL_OK) s = pcl_image_modcrop(ycc, scale, truth);
    if (s == PCL_OK) s = pcl_resize_bicubic_scale(*truth, 1.0 / (double)scale, PCL_RESIZE_DEFAULT, &low);
    if (s == PCL_OK) s = pcl_resize_bicubic(low, (*truth)->width, (*truth)->height, PCL_RESIZE_DEFAULT, bicubic);
    pcl_image_destroy(ycc);
    pcl_image_destroy(low);
    if (s != PCL_OK) pcl_image_destroy(*truth), *truth = NULL;
    return s;
}

pcl_status pcl_srcnn_training_pipeline(const char *const *dirs, int count, int scale, int stride, size_t limit,
                                       pcl_pipeline **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_srcnn_training_pipeline: out is NULL");
    *out = NULL;
    if (!dirs || count < 1) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: no training folder");
    const pcl_transform steps[] = {
        {.kind = PCL_TRANSFORM_KIND_YCBCR_Y},
        {.kind = PCL_TRANSFORM_KIND_SR_DEGRADE, .scale = scale},
        {.kind = PCL_TRANSFORM_KIND_SCALE, .range = PCL_RANGE_UNIT},
        {.kind = PCL_TRANSFORM_KIND_PATCHES,
         .size = PCL_SRCNN_INPUT_SIZE,
         .stride = stride,
         .target_size = PCL_SRCNN_INPUT_SIZE - 2 * PCL_SRCNN_BORDER},
    };
    pcl_dataset **datasets = calloc((size_t)count, sizeof *datasets);
    if (!datasets) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "srcnn: out of memory");
    pcl_folder_options options = {0}; /* channels as stored: the protocol takes gray images as Y */
    pcl_status status = PCL_OK;
    for (int d = 0; d < count && status == PCL_OK; d++) {
        status = pcl_dataset_open_folder(dirs[d], &options, &datasets[d]);
        if (status == PCL_OK && pcl_dataset_count(datasets[d]) == 0)
            status = pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: no images in %s", dirs[d]);
    }
    pcl_pipeline_options pipeline_options = {limit};
    if (status == PCL_OK)
        status = pcl_pipeline_create(datasets, count, steps, (int)(sizeof steps / sizeof *steps), &pipeline_options,
                                     out);
    /* The patches are built at create: the folders are no longer needed. */
    for (int d = 0; d < count; d++) pcl_dataset_destroy(datasets[d]);
    free(datasets);
    return status;
}
