/* SRCNN 9-5-5: the network as a pcl_model, its weight files, tiled
 * test-time inference and the training sub-images (see perceptcl/srcnn.h). */
#include "runtime/internal.h"
#include "perceptcl/datasets.h"
#include "perceptcl/sr.h"
#include "perceptcl/srcnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Layer index in the model of conv1, conv2, conv3 (ReLUs in between). */
static const int conv_index[3] = {0, 2, 4};
static const int conv_out[3] = {64, 32, 1};
static const int conv_in[3] = {1, 64, 32};
static const int conv_size[3] = {9, 5, 5};
static const char *const conv_name[3] = {"conv1", "conv2", "conv3"};

pcl_status pcl_srcnn_create(pcl_context *context, pcl_srcnn_mode mode, pcl_model **model)
{
    *model = NULL;
    if (mode != PCL_SRCNN_VALID && mode != PCL_SRCNN_REPLICATE)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: unknown mode %d", (int)mode);
    pcl_model *m = NULL;
    PCL_TRY(pcl_model_create(context, &m));
    pcl_status status = PCL_OK;
    for (int k = 0; k < 3 && status == PCL_OK; k++) {
        pcl_conv2d_config config = {0};
        config.in_channels = conv_in[k];
        config.out_channels = conv_out[k];
        config.kernel_h = config.kernel_w = conv_size[k];
        config.stride = 1;
        if (mode == PCL_SRCNN_REPLICATE) {
            config.pad_h = config.pad_w = conv_size[k] / 2;
            config.padding = PCL_PADDING_REPLICATE;
        }
        config.backend = PCL_GEMM_AUTO;
        pcl_layer *layer = NULL;
        status = pcl_conv2d_create(context, &config, &layer);
        if (status == PCL_OK) status = pcl_model_add(m, layer);
        if (status == PCL_OK && k < 2) {
            status = pcl_activation_create(context, PCL_ACTIVATION_RELU, &layer);
            if (status == PCL_OK) status = pcl_model_add(m, layer);
        }
    }
    if (status != PCL_OK) {
        pcl_model_destroy(m);
        return status;
    }
    *model = m;
    return PCL_OK;
}

/* The weight and bias tensors of conv k (0..2); fails when model is not an SRCNN. */
static pcl_status conv_tensors(const pcl_model *model, int k, pcl_tensor **weight, pcl_tensor **bias)
{
    pcl_layer *layer = pcl_model_layer(model, conv_index[k]);
    if (pcl_model_layer_count(model) != 5 || !layer || pcl_layer_get_kind(layer) != PCL_LAYER_CONV2D ||
        pcl_layer_param_count(layer) != 2)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: the model is not a 9-5-5 SRCNN (layer %d)", conv_index[k]);
    PCL_TRY(pcl_layer_param(layer, 0, weight, NULL, NULL));
    PCL_TRY(pcl_layer_param(layer, 1, bias, NULL, NULL));
    const pcl_tensor *w = *weight;
    if (w->n != conv_out[k] || w->c != conv_in[k] || w->h != conv_size[k] || w->w != conv_size[k])
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: %s.weight is %dx%dx%dx%d, expected %dx%dx%dx%d",
                        conv_name[k], w->n, w->c, w->h, w->w, conv_out[k], conv_in[k], conv_size[k], conv_size[k]);
    return PCL_OK;
}

pcl_status pcl_srcnn_init(pcl_model *model, double std, uint64_t seed)
{
    if (!(std > 0) || !isfinite(std)) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: init std must be > 0");
    pcl_tensor *w, *b;
    PCL_TRY(conv_tensors(model, 0, &w, &b));
    return pcl_model_init_weights(model, PCL_INIT_GAUSSIAN, std, seed);
}

pcl_status pcl_srcnn_copy_weights(pcl_model *dst, const pcl_model *src)
{
    for (int k = 0; k < 3; k++) {
        pcl_tensor *dw, *db, *sw, *sb;
        PCL_TRY(conv_tensors(dst, k, &dw, &db));
        PCL_TRY(conv_tensors(src, k, &sw, &sb));
        PCL_TRY(pcl_tensor_copy(dw, sw));
        PCL_TRY(pcl_tensor_copy(db, sb));
    }
    return PCL_OK;
}

pcl_status pcl_srcnn_weights(const pcl_model *model, pcl_train_weights **weights)
{
    *weights = NULL;
    pcl_train_weights *tw = NULL;
    PCL_TRY(pcl_train_weights_create(&tw));
    pcl_status status = PCL_OK;
    for (int k = 0; k < 3 && status == PCL_OK; k++) {
        pcl_tensor *w, *b;
        char name[32];
        status = conv_tensors(model, k, &w, &b);
        snprintf(name, sizeof name, "%s.weight", conv_name[k]);
        if (status == PCL_OK) status = pcl_train_weights_add(tw, name, w);
        snprintf(name, sizeof name, "%s.bias", conv_name[k]);
        int64_t bias_shape[1] = {conv_out[k]}; /* (C), as in the weight files */
        if (status == PCL_OK) status = pcl_train_weights_add_shaped(tw, name, b, 1, bias_shape);
    }
    if (status != PCL_OK) {
        pcl_train_weights_destroy(tw);
        return status;
    }
    *weights = tw;
    return PCL_OK;
}

pcl_status pcl_srcnn_save(const pcl_model *model, const char *path, const pcl_checkpoint *extra)
{
    pcl_checkpoint *cp = NULL;
    float *host = NULL;
    PCL_TRY(pcl_checkpoint_create(&cp));
    pcl_status status = PCL_OK;
    for (int k = 0; k < 3 && status == PCL_OK; k++) {
        pcl_tensor *w, *b;
        char name[32];
        status = conv_tensors(model, k, &w, &b);
        if (status != PCL_OK) break;
        int64_t wshape[4] = {w->n, w->c, w->h, w->w}, bshape[1] = {conv_out[k]};
        float *grown = realloc(host, pcl_tensor_count(w) * sizeof(float));
        if (!grown) {
            status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "srcnn: out of memory saving %s", path);
            break;
        }
        host = grown;
        snprintf(name, sizeof name, "%s.weight", conv_name[k]);
        status = pcl_tensor_download(w, host);
        if (status == PCL_OK) status = pcl_checkpoint_add(cp, name, 4, wshape, host);
        snprintf(name, sizeof name, "%s.bias", conv_name[k]);
        if (status == PCL_OK) status = pcl_tensor_download(b, host);
        if (status == PCL_OK) status = pcl_checkpoint_add(cp, name, 1, bshape, host);
    }
    free(host);
    if (status == PCL_OK) status = pcl_checkpoint_set_metadata(cp, "format", "perceptcl-srcnn-1");
    if (status == PCL_OK) status = pcl_checkpoint_set_metadata(cp, "architecture", "9-5-5");
    if (status == PCL_OK)
        status = pcl_checkpoint_set_metadata(cp, "input", "Y/255 of bicubic-upscaled BT.601 Y");
    for (int i = 0; extra && i < pcl_checkpoint_metadata_count(extra) && status == PCL_OK; i++) {
        const char *key, *value;
        pcl_checkpoint_metadata_entry(extra, i, &key, &value);
        status = pcl_checkpoint_set_metadata(cp, key, value);
    }
    if (status == PCL_OK) status = pcl_checkpoint_write(cp, path);
    pcl_checkpoint_destroy(cp);
    return status;
}

pcl_status pcl_srcnn_load(pcl_model *model, const char *path, pcl_checkpoint **metadata)
{
    if (metadata) *metadata = NULL;
    pcl_tensor *tensors[6];
    for (int k = 0; k < 3; k++) PCL_TRY(conv_tensors(model, k, &tensors[2 * k], &tensors[2 * k + 1]));
    pcl_checkpoint *cp = NULL;
    PCL_TRY(pcl_checkpoint_read(path, &cp));
    /* Find and check everything before touching the model. */
    const float *data[6] = {0};
    pcl_status status = PCL_OK;
    for (int k = 0; k < 3 && status == PCL_OK; k++) {
        char name[32];
        int64_t wshape[4] = {conv_out[k], conv_in[k], conv_size[k], conv_size[k]};
        snprintf(name, sizeof name, "%s.weight", conv_name[k]);
        status = pcl_checkpoint_find(cp, name, 4, wshape, &data[2 * k]);
        if (status != PCL_OK) break;
        snprintf(name, sizeof name, "%s.bias", conv_name[k]);
        int64_t b1[1] = {conv_out[k]}, b4a[4] = {conv_out[k], 1, 1, 1}, b4b[4] = {1, conv_out[k], 1, 1};
        int ndim = 0;
        const int64_t *shape = NULL;
        int found = 0;
        for (int e = 0; e < pcl_checkpoint_count(cp); e++) {
            const char *entry;
            const float *d;
            pcl_checkpoint_entry(cp, e, &entry, &ndim, &shape, &d);
            if (strcmp(entry, name) != 0) continue;
            found = 1;
            if ((ndim == 1 && shape[0] == b1[0]) || (ndim == 4 && memcmp(shape, b4a, sizeof b4a) == 0) ||
                (ndim == 4 && memcmp(shape, b4b, sizeof b4b) == 0))
                data[2 * k + 1] = d;
            else status = pcl_checkpoint_find(cp, name, 1, b1, &data[2 * k + 1]); /* names both shapes */
        }
        if (!found && status == PCL_OK) status = pcl_checkpoint_find(cp, name, 1, b1, &data[2 * k + 1]);
    }
    for (int i = 0; i < 6 && status == PCL_OK; i++) {
        size_t n = pcl_tensor_count(tensors[i]);
        for (size_t j = 0; j < n; j++)
            if (!isfinite(data[i][j])) {
                status = pcl_fail(PCL_ERR_FORMAT, "%s: %s.%s element %zu is not finite", path, conv_name[i / 2],
                                  i % 2 ? "bias" : "weight", j);
                break;
            }
    }
    for (int i = 0; i < 6 && status == PCL_OK; i++) status = pcl_tensor_upload(tensors[i], data[i]);
    if (status == PCL_OK && metadata) *metadata = cp;
    else pcl_checkpoint_destroy(cp);
    return status;
}

/* Tile side of the test-time pass (output pixels): bounds conv2's im2col
 * scratch (64*25 floats per pixel) to about 100 MB per tile. */
#define TILE 128

pcl_status pcl_srcnn_apply(pcl_model *model, const pcl_image *bicubic_y, pcl_image **out)
{
    *out = NULL;
    if (bicubic_y->channels != 1)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: expects a 1-channel Y image, not %d channels",
                        bicubic_y->channels);
    pcl_tensor *w, *b;
    PCL_TRY(conv_tensors(model, 0, &w, &b));
    {
        pcl_layer *first = pcl_model_layer(model, 0);
        int in[4] = {1, 1, 1, 1}, o[4];
        if (pcl_layer_output_shape(first, in, o) != PCL_OK || o[2] != 1)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: test-time inference needs a replicate-padded model");
    }
    const int W = bicubic_y->width, H = bicubic_y->height, halo = PCL_SRCNN_BORDER;
    pcl_image *result = NULL;
    PCL_TRY(pcl_image_create(&result, W, H, 1));
    pcl_context *context = pcl_model_context(model);
    pcl_model_set_training(model, 0);
    float *tile_in = malloc(sizeof(float) * (TILE + 2 * halo) * (TILE + 2 * halo));
    float *tile_out = malloc(sizeof(float) * (TILE + 2 * halo) * (TILE + 2 * halo));
    pcl_status status = tile_in && tile_out ? PCL_OK : pcl_fail(PCL_ERR_OUT_OF_MEMORY, "srcnn: out of memory");
    pcl_tensor *x = NULL;
    int x_w = 0, x_h = 0;
    for (int ty = 0; ty < H && status == PCL_OK; ty += TILE) {
        for (int tx = 0; tx < W && status == PCL_OK; tx += TILE) {
            /* Output block [tx, tx+bw) x [ty, ty+bh); input block with a halo
             * clipped at the image edges, where the network's own replicate
             * padding takes over exactly as on the whole image. */
            int bw = W - tx < TILE ? W - tx : TILE, bh = H - ty < TILE ? H - ty : TILE;
            int x0 = tx - halo < 0 ? 0 : tx - halo, y0 = ty - halo < 0 ? 0 : ty - halo;
            int x1 = tx + bw + halo > W ? W : tx + bw + halo, y1 = ty + bh + halo > H ? H : ty + bh + halo;
            int iw = x1 - x0, ih = y1 - y0;
            for (int r = 0; r < ih; r++)
                for (int c = 0; c < iw; c++)
                    tile_in[r * iw + c] = bicubic_y->data[(size_t)(y0 + r) * W + x0 + c] / 255.0f;
            if (!x || x_w != iw || x_h != ih) {
                pcl_tensor_destroy(x);
                x = NULL;
                status = pcl_tensor_create(context, 1, 1, ih, iw, &x);
                x_w = iw;
                x_h = ih;
            }
            pcl_tensor *y = NULL;
            if (status == PCL_OK) status = pcl_tensor_upload(x, tile_in);
            if (status == PCL_OK) status = pcl_model_forward(model, x, &y);
            if (status == PCL_OK) status = pcl_tensor_download(y, tile_out);
            for (int r = 0; r < bh && status == PCL_OK; r++)
                for (int c = 0; c < bw; c++)
                    result->data[(size_t)(ty + r) * W + tx + c] = tile_out[(ty - y0 + r) * iw + (tx - x0 + c)] * 255.0f;
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

pcl_status pcl_srcnn_training_pipeline(const char *const *dirs, int count, int scale, int stride, size_t limit,
                                       pcl_pipeline **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_srcnn_training_pipeline: out is NULL");
    *out = NULL;
    if (!dirs || count < 1) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: no training folder");
    const pcl_transform steps[] = {
        {.kind = PCL_TRANSFORM_YCBCR_Y},
        {.kind = PCL_TRANSFORM_SR_DEGRADE, .scale = scale},
        {.kind = PCL_TRANSFORM_SCALE, .range = PCL_RANGE_UNIT},
        {.kind = PCL_TRANSFORM_PATCHES,
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
