/* The calls every layer kind shares: dispatch, parameters, modes, scratch. */
#include "nn/layer_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"conv2d", "dense", "upsample", "activation",
                                         "binary", "batchnorm", "reshape", "vae_sampler"};

const char *pcl_layer_kind_name(pcl_layer_kind kind)
{
    return (unsigned)kind < sizeof kind_names / sizeof kind_names[0] ? kind_names[kind] : "unknown";
}

pcl_layer_kind pcl_layer_get_kind(const pcl_layer *layer)
{
    return layer->kind;
}

pcl_status pcl_layer_alloc(pcl_context *context, pcl_layer_kind kind, const pcl_layer_ops *ops, size_t impl_size,
                           pcl_layer **layer)
{
    *layer = NULL;
    if (!context) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s layer: context is NULL", pcl_layer_kind_name(kind));
    pcl_layer *l = calloc(1, sizeof *l);
    void *impl = impl_size ? calloc(1, impl_size) : NULL;
    if (!l || (impl_size && !impl)) {
        free(l);
        free(impl);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s layer: out of host memory", pcl_layer_kind_name(kind));
    }
    l->kind = kind;
    l->ops = ops;
    l->context = context;
    l->training = 1;
    l->impl = impl;
    *layer = l;
    return PCL_OK;
}

pcl_status pcl_layer_add_param(pcl_layer *layer, const char *name, int n, int c, int h, int w)
{
    int i = layer->param_count;
    if (i >= PCL_LAYER_MAX_PARAMS) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "layer: too many parameters");
    PCL_TRY(pcl_tensor_create(layer->context, n, c, h, w, &layer->params[i]));
    pcl_status status = pcl_tensor_create(layer->context, n, c, h, w, &layer->grads[i]);
    if (status != PCL_OK) {
        pcl_tensor_destroy(layer->params[i]);
        layer->params[i] = NULL;
        return status;
    }
    layer->param_names[i] = name;
    layer->param_count++;
    PCL_TRY(pcl_tensor_fill(layer->params[i], 0.0f));
    return pcl_tensor_fill(layer->grads[i], 0.0f);
}

pcl_status pcl_layer_add_buffer(pcl_layer *layer, const char *name, int n, int c, int h, int w, float value)
{
    int i = layer->buffer_count;
    if (i >= PCL_LAYER_MAX_PARAMS) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "layer: too many buffers");
    PCL_TRY(pcl_tensor_create(layer->context, n, c, h, w, &layer->buffers[i]));
    layer->buffer_names[i] = name;
    layer->buffer_count++;
    return pcl_tensor_fill(layer->buffers[i], value);
}

const char *pcl_layer_torch_name(const char *name)
{
    if (!strcmp(name, "gamma")) return "weight";
    if (!strcmp(name, "beta")) return "bias";
    return name;
}

pcl_status pcl_layer_output_shape(const pcl_layer *layer, const int in[4], int out[4])
{
    if (!layer || !in || !out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_layer_output_shape: NULL argument");
    if (in[0] < 1 || in[1] < 1 || in[2] < 1 || in[3] < 1)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s layer: input shape %dx%dx%dx%d has an extent < 1",
                        pcl_layer_kind_name(layer->kind), in[0], in[1], in[2], in[3]);
    return layer->ops->output_shape(layer, in, out);
}

pcl_status pcl_layer_check_io(const pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, const char *what)
{
    const char *kind = pcl_layer_kind_name(layer->kind);
    if (!x || !y) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s %s: NULL tensor", kind, what);
    if (x->context != layer->context || y->context != layer->context)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s %s: tensor from another context", kind, what);
    int in[4] = {x->n, x->c, x->h, x->w}, out[4];
    PCL_TRY(layer->ops->output_shape(layer, in, out));
    if (y->n != out[0] || y->c != out[1] || y->h != out[2] || y->w != out[3])
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s %s: output is %dx%dx%dx%d, expected %dx%dx%dx%d for input %dx%dx%dx%d",
                        kind, what, y->n, y->c, y->h, y->w, out[0], out[1], out[2], out[3], in[0], in[1], in[2], in[3]);
    return PCL_OK;
}

pcl_status pcl_layer_forward(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y)
{
    if (!layer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_layer_forward: layer is NULL");
    PCL_TRY(pcl_layer_check_io(layer, x, y, "forward"));
    return layer->ops->forward(layer, x, y);
}

pcl_status pcl_layer_backward(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, const pcl_tensor *dy,
                              pcl_tensor *dx)
{
    if (!layer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_layer_backward: layer is NULL");
    const char *kind = pcl_layer_kind_name(layer->kind);
    PCL_TRY(pcl_layer_check_io(layer, x, y, "backward"));
    if (!dy || !pcl_tensor_same_shape(dy, y))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s backward: dy missing or not shaped like y", kind);
    if (dx && !pcl_tensor_same_shape(dx, x))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s backward: dx is %dx%dx%dx%d, x is %dx%dx%dx%d", kind, dx->n,
                        dx->c, dx->h, dx->w, x->n, x->c, x->h, x->w);
    return layer->ops->backward(layer, x, y, dy, dx);
}

int pcl_layer_backward_ignores_y(const pcl_layer *layer)
{
    /* conv2d reads y's shape only; dense, upsample and batchnorm (x, dy and
     * its statistics) not even that. */
    return layer->kind == PCL_LAYER_KIND_CONV2D || layer->kind == PCL_LAYER_KIND_DENSE ||
           layer->kind == PCL_LAYER_KIND_UPSAMPLE || layer->kind == PCL_LAYER_KIND_BATCHNORM;
}

void pcl_layer_set_training(pcl_layer *layer, int training)
{
    if (layer) layer->training = training ? 1 : 0;
}

int pcl_layer_is_training(const pcl_layer *layer)
{
    return layer ? layer->training : 0;
}

int pcl_layer_param_count(const pcl_layer *layer)
{
    return layer ? layer->param_count : 0;
}

pcl_status pcl_layer_param(pcl_layer *layer, int index, pcl_tensor **value, pcl_tensor **grad, const char **name)
{
    if (!layer || index < 0 || index >= layer->param_count)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_layer_param: index %d out of range", index);
    if (value) *value = layer->params[index];
    if (grad) *grad = layer->grads[index];
    if (name) *name = layer->param_names[index];
    return PCL_OK;
}

pcl_status pcl_layer_zero_grad(pcl_layer *layer)
{
    if (!layer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_layer_zero_grad: layer is NULL");
    for (int i = 0; i < layer->param_count; i++) PCL_TRY(pcl_tensor_fill(layer->grads[i], 0.0f));
    return PCL_OK;
}

int pcl_layer_buffer_count(const pcl_layer *layer)
{
    return layer ? layer->buffer_count : 0;
}

pcl_status pcl_layer_buffer(pcl_layer *layer, int index, pcl_tensor **value, const char **name)
{
    if (!layer || index < 0 || index >= layer->buffer_count)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_layer_buffer: index %d out of range", index);
    if (value) *value = layer->buffers[index];
    if (name) *name = layer->buffer_names[index];
    return PCL_OK;
}

void pcl_layer_destroy(pcl_layer *layer)
{
    if (!layer) return;
    if (layer->ops && layer->ops->destroy) layer->ops->destroy(layer);
    for (int i = 0; i < layer->param_count; i++) {
        pcl_tensor_destroy(layer->params[i]);
        pcl_tensor_destroy(layer->grads[i]);
    }
    for (int i = 0; i < layer->buffer_count; i++) pcl_tensor_destroy(layer->buffers[i]);
    free(layer->impl);
    free(layer);
}

pcl_status pcl_scratch_reserve(pcl_context *context, cl_mem *buffer, size_t *capacity, size_t bytes)
{
    if (*buffer && *capacity >= bytes) return PCL_OK;
    if (*buffer) pcl_buffer_release(*buffer);
    *buffer = NULL;
    *capacity = 0;
    PCL_TRY(pcl_buffer_create(context, bytes ? bytes : 4, buffer));
    *capacity = bytes;
    return PCL_OK;
}

pcl_status pcl_launch_1d(pcl_context *context, cl_kernel kernel, const char *name, size_t count)
{
    return pcl_kernel_launch(context, kernel, name, 1, &count, NULL);
}
