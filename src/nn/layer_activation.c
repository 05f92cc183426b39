/* Activation layers: ReLU and tanh, elementwise (kernels/activation.cl).
 * Both backward passes read the output y only (ReLU's mask y > 0 is x > 0),
 * so a model may run them in place, y and dx sharing x's and dy's buffers. */
#include "nn/layer_internal.h"

typedef struct activation_impl {
    pcl_activation activation;
} activation_impl;

static pcl_status same_shape(const pcl_layer *layer, const int in[4], int out[4])
{
    (void)layer;
    for (int i = 0; i < 4; i++) out[i] = in[i];
    return PCL_OK;
}

static pcl_status run(pcl_layer *layer, const char *name, const pcl_tensor *a, const pcl_tensor *b, pcl_tensor *out)
{
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(layer->context, "activation.cl", NULL, name, &kernel));
    cl_int n = (cl_int)pcl_tensor_count(out);
    if (b)
        PCL_TRY(pcl_kernel_set_args(kernel, name, 4, sizeof n, &n, sizeof(cl_mem), &a->mem, sizeof(cl_mem), &b->mem,
                                    sizeof(cl_mem), &out->mem));
    else
        PCL_TRY(pcl_kernel_set_args(kernel, name, 3, sizeof n, &n, sizeof(cl_mem), &a->mem, sizeof(cl_mem), &out->mem));
    return pcl_launch_1d(layer->context, kernel, name, (size_t)n);
}

static pcl_status forward(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y)
{
    const activation_impl *impl = layer->impl;
    return run(layer, impl->activation == PCL_ACTIVATION_RELU ? "relu_forward" : "tanh_forward", x, NULL, y);
}

static pcl_status backward(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, const pcl_tensor *dy,
                           pcl_tensor *dx)
{
    (void)x;
    const activation_impl *impl = layer->impl;
    if (!dx) return PCL_OK;
    if (impl->activation == PCL_ACTIVATION_RELU) return run(layer, "relu_backward", y, dy, dx);
    return run(layer, "tanh_backward", y, dy, dx);
}

static const pcl_layer_ops ops = {same_shape, forward, backward, NULL};

int pcl_activation_is_relu(const pcl_layer *layer)
{
    return layer->kind == PCL_LAYER_KIND_ACTIVATION &&
           ((const activation_impl *)layer->impl)->activation == PCL_ACTIVATION_RELU;
}

pcl_status pcl_activation_create(pcl_context *context, pcl_activation activation, pcl_layer **layer)
{
    if (!layer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_activation_create: layer is NULL");
    *layer = NULL;
    if (activation != PCL_ACTIVATION_RELU && activation != PCL_ACTIVATION_TANH)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_activation_create: unknown activation %d", (int)activation);
    PCL_TRY(pcl_layer_alloc(context, PCL_LAYER_KIND_ACTIVATION, &ops, sizeof(activation_impl), layer));
    ((activation_impl *)(*layer)->impl)->activation = activation;
    return PCL_OK;
}
