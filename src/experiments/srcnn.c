/* SRCNN 9-5-5: the network as a pcl_model (its table in architectures.c), tiled
 * test-time inference and the training sub-images (see perceptcl/srcnn.h). */
#include "runtime/internal.h"
#include "perceptcl/architectures.h"
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
    if (mode != PCL_SRCNN_VALID && mode != PCL_SRCNN_REPLICATE)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: unknown mode %d", (int)mode);
    return pcl_model_build_architecture(context, mode == PCL_SRCNN_VALID ? &pcl_arch_srcnn_955 : &pcl_arch_srcnn_955_replicate,
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
        ok = pcl_layer_get_kind(layer) == PCL_LAYER_CONV2D && pcl_layer_param_count(layer) == 2 &&
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

/* Tile side of the test-time pass (output pixels): bounds conv2's im2col
 * scratch (64*25 floats per pixel) to about 100 MB per tile. */
#define TILE 128

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

/* ---- training sub-images -------------------------------------------------- */

pcl_status pcl_srcnn_patches_create(int scale, int input_size, int stride, pcl_srcnn_patches **patches)
{
    *patches = NULL;
    if (scale < 2 || scale > 8) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: scale must be 2..8, not %d", scale);
    if (input_size <= 2 * PCL_SRCNN_BORDER || input_size > 1024)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: sub-image size must be %d..1024, not %d",
                        2 * PCL_SRCNN_BORDER + 1, input_size);
    if (stride < 1) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: stride must be >= 1, not %d", stride);
    pcl_srcnn_patches *p = calloc(1, sizeof *p);
    if (!p) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "srcnn: out of memory");
    p->scale = scale;
    p->input_size = input_size;
    p->label_size = input_size - 2 * PCL_SRCNN_BORDER;
    p->stride = stride;
    *patches = p;
    return PCL_OK;
}

void pcl_srcnn_patches_destroy(pcl_srcnn_patches *patches)
{
    if (!patches) return;
    free(patches->input);
    free(patches->label);
    free(patches);
}

static pcl_status reserve(pcl_srcnn_patches *p, size_t needed)
{
    if (needed <= p->capacity) return PCL_OK;
    size_t capacity = p->capacity ? p->capacity : 1024;
    while (capacity < needed) capacity *= 2;
    size_t in = (size_t)p->input_size * p->input_size, lab = (size_t)p->label_size * p->label_size;
    float *a = realloc(p->input, capacity * in * sizeof(float));
    if (!a) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "srcnn: out of memory for %zu sub-images", capacity);
    p->input = a;
    float *b = realloc(p->label, capacity * lab * sizeof(float));
    if (!b) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "srcnn: out of memory for %zu sub-images", capacity);
    p->label = b;
    p->capacity = capacity;
    return PCL_OK;
}

pcl_status pcl_srcnn_patches_add_image(pcl_srcnn_patches *patches, const pcl_image *image, size_t *added)
{
    if (added) *added = 0;
    pcl_image *truth = NULL, *bicubic = NULL;
    PCL_TRY(pcl_sr_prepare(image, patches->scale, &truth, &bicubic));
    const int s = patches->input_size, l = patches->label_size, st = patches->stride, pad = PCL_SRCNN_BORDER;
    const int W = truth->width, H = truth->height;
    size_t rows = H >= s ? (size_t)((H - s) / st + 1) : 0, cols = W >= s ? (size_t)((W - s) / st + 1) : 0;
    pcl_status status = reserve(patches, patches->count + rows * cols);
    for (size_t r = 0; r < rows && status == PCL_OK; r++)
        for (size_t c = 0; c < cols; c++) {
            size_t k = patches->count++;
            float *in = patches->input + k * (size_t)s * s, *lab = patches->label + k * (size_t)l * l;
            int y0 = (int)r * st, x0 = (int)c * st;
            for (int i = 0; i < s; i++)
                for (int j = 0; j < s; j++) in[i * s + j] = bicubic->data[(size_t)(y0 + i) * W + x0 + j] / 255.0f;
            for (int i = 0; i < l; i++)
                for (int j = 0; j < l; j++)
                    lab[i * l + j] = truth->data[(size_t)(y0 + pad + i) * W + x0 + pad + j] / 255.0f;
        }
    pcl_image_destroy(truth);
    pcl_image_destroy(bicubic);
    if (status == PCL_OK) {
        patches->images++;
        if (added) *added = rows * cols;
    }
    return status;
}

pcl_status pcl_srcnn_patches_add_folder(pcl_srcnn_patches *patches, const char *dir)
{
    pcl_folder_options options = {0};
    pcl_dataset *dataset = NULL;
    PCL_TRY(pcl_dataset_open_folder(dir, &options, &dataset));
    size_t n = pcl_dataset_count(dataset);
    pcl_status status = n ? PCL_OK : pcl_fail(PCL_ERR_INVALID_ARGUMENT, "srcnn: no images in %s", dir);
    for (size_t i = 0; i < n && status == PCL_OK; i++) {
        pcl_record_info info;
        pcl_image *image = NULL;
        status = pcl_dataset_record_info(dataset, i, &info);
        /* pcl_image_read keeps the file's channels and 8-bit scale, as the protocol needs. */
        if (status == PCL_OK) status = pcl_image_read(info.path, &image);
        if (status == PCL_OK) status = pcl_srcnn_patches_add_image(patches, image, NULL);
        pcl_image_destroy(image);
    }
    pcl_dataset_destroy(dataset);
    return status;
}
