/* Batch normalisation per channel (per feature for n x f x 1 x 1 inputs),
 * training with batch statistics, inference with running ones
 * (kernels/batchnorm.cl). */
#include "nn/layer_internal.h"

typedef struct batchnorm_impl {
    int channels;
    float momentum, epsilon;
    cl_mem partial, mean, var, s1, s2; /* scratch: n*c partials, batch stats, sums */
    size_t partial_bytes, stat_bytes;
} batchnorm_impl;

enum { P_GAMMA = 0, P_BETA = 1 };
enum { B_MEAN = 0, B_VAR = 1 };

static pcl_status output_shape(const pcl_layer *layer, const int in[4], int out[4])
{
    const batchnorm_impl *impl = layer->impl;
    if (in[1] != impl->channels)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "batchnorm: input has %d channels, the layer %d", in[1],
                        impl->channels);
    for (int i = 0; i < 4; i++) out[i] = in[i];
    return PCL_OK;
}

static pcl_status partial(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *dy, int mode, cl_mem mean)
{
    batchnorm_impl *impl = layer->impl;
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(layer->context, "batchnorm.cl", NULL, "bn_partial", &kernel));
    cl_int n = x->n, c = x->c, hw = x->h * x->w, m = mode;
    cl_mem dym = dy ? dy->mem : x->mem;
    PCL_TRY(pcl_kernel_set_args(kernel, "bn_partial", 8, sizeof n, &n, sizeof c, &c, sizeof hw, &hw, sizeof m, &m,
                                sizeof(cl_mem), &x->mem, sizeof(cl_mem), &dym, sizeof(cl_mem), &mean, sizeof(cl_mem),
                                &impl->partial));
    return pcl_launch_1d(layer->context, kernel, "bn_partial", (size_t)n * c);
}

static pcl_status stats(pcl_layer *layer, const pcl_tensor *x, int mode, cl_mem stat, cl_mem running, int update)
{
    batchnorm_impl *impl = layer->impl;
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(layer->context, "batchnorm.cl", NULL, "bn_stats", &kernel));
    cl_int n = x->n, c = x->c, m = mode, up = update;
    float count = (float)((double)x->n * x->h * x->w), momentum = impl->momentum;
    PCL_TRY(pcl_kernel_set_args(kernel, "bn_stats", 9, sizeof n, &n, sizeof c, &c, sizeof m, &m, sizeof count,
                                &count, sizeof up, &up, sizeof momentum, &momentum, sizeof(cl_mem), &impl->partial,
                                sizeof(cl_mem), &stat, sizeof(cl_mem), &running));
    return pcl_launch_1d(layer->context, kernel, "bn_stats", (size_t)c);
}

static pcl_status channel_sum(pcl_layer *layer, const pcl_tensor *x, cl_mem out)
{
    batchnorm_impl *impl = layer->impl;
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(layer->context, "batchnorm.cl", NULL, "bn_sum", &kernel));
    cl_int n = x->n, c = x->c;
    PCL_TRY(pcl_kernel_set_args(kernel, "bn_sum", 4, sizeof n, &n, sizeof c, &c, sizeof(cl_mem), &impl->partial,
                                sizeof(cl_mem), &out));
    return pcl_launch_1d(layer->context, kernel, "bn_sum", (size_t)c);
}

static pcl_status reserve(pcl_layer *layer, const pcl_tensor *x)
{
    batchnorm_impl *impl = layer->impl;
    pcl_context *ctx = layer->context;
    size_t stat_bytes = (size_t)impl->channels * sizeof(float);
    PCL_TRY(pcl_scratch_reserve(ctx, &impl->partial, &impl->partial_bytes, (size_t)x->n * x->c * sizeof(float)));
    if (!impl->mean) {
        PCL_TRY(pcl_buffer_create(ctx, stat_bytes, &impl->mean));
        PCL_TRY(pcl_buffer_create(ctx, stat_bytes, &impl->var));
        PCL_TRY(pcl_buffer_create(ctx, stat_bytes, &impl->s1));
        PCL_TRY(pcl_buffer_create(ctx, stat_bytes, &impl->s2));
        impl->stat_bytes = stat_bytes;
    }
    return PCL_OK;
}

/* The statistics forward and backward use in the current mode. */
static void current_stats(pcl_layer *layer, cl_mem *mean, cl_mem *var)
{
    batchnorm_impl *impl = layer->impl;
    if (layer->training) {
        *mean = impl->mean;
        *var = impl->var;
    } else {
        *mean = layer->buffers[B_MEAN]->mem;
        *var = layer->buffers[B_VAR]->mem;
    }
}

/* Global (hw / 16 rounded up, n * c) of the elementwise kernels (16 values per item). */
static pcl_status launch_planes(pcl_layer *layer, cl_kernel kernel, const char *name, const pcl_tensor *x)
{
    size_t global[2] = {((size_t)x->h * x->w + 15) / 16, (size_t)x->n * x->c};
    return pcl_kernel_launch(layer->context, kernel, name, 2, global, NULL);
}

static pcl_status normalise(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y, int relu)
{
    batchnorm_impl *impl = layer->impl;
    PCL_TRY(reserve(layer, x));
    if (layer->training) {
        PCL_TRY(partial(layer, x, NULL, 0, impl->mean));
        PCL_TRY(stats(layer, x, 0, impl->mean, layer->buffers[B_MEAN]->mem, 1));
        PCL_TRY(partial(layer, x, NULL, 1, impl->mean));
        PCL_TRY(stats(layer, x, 1, impl->var, layer->buffers[B_VAR]->mem, 1));
    }
    cl_mem mean, var;
    current_stats(layer, &mean, &var);
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(layer->context, "batchnorm.cl", NULL, "bn_forward", &kernel));
    cl_int planes = x->n * x->c, c = x->c, hw = x->h * x->w, fuse_relu = relu != 0;
    float eps = impl->epsilon;
    PCL_TRY(pcl_kernel_set_args(kernel, "bn_forward", 11, sizeof planes, &planes, sizeof c, &c, sizeof hw, &hw,
                                sizeof eps, &eps, sizeof(cl_mem), &x->mem, sizeof(cl_mem), &mean, sizeof(cl_mem), &var,
                                sizeof(cl_mem), &layer->params[P_GAMMA]->mem, sizeof(cl_mem),
                                &layer->params[P_BETA]->mem, sizeof fuse_relu, &fuse_relu, sizeof(cl_mem), &y->mem));
    return launch_planes(layer, kernel, "bn_forward", x);
}

static pcl_status forward(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y)
{
    return normalise(layer, x, y, 0);
}

pcl_status pcl_batchnorm_forward_relu(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y)
{
    if (layer->kind != PCL_LAYER_KIND_BATCHNORM)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_batchnorm_forward_relu: not a batchnorm layer");
    PCL_TRY(pcl_layer_check_io(layer, x, y, "forward"));
    return normalise(layer, x, y, 1);
}

static pcl_status backward(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, const pcl_tensor *dy,
                           pcl_tensor *dx)
{
    (void)y;
    batchnorm_impl *impl = layer->impl;
    PCL_TRY(reserve(layer, x));
    cl_mem mean, var;
    current_stats(layer, &mean, &var);
    PCL_TRY(partial(layer, x, dy, 2, mean));
    PCL_TRY(channel_sum(layer, x, impl->s1));
    PCL_TRY(partial(layer, x, dy, 3, mean));
    PCL_TRY(channel_sum(layer, x, impl->s2));
    float eps = impl->epsilon;
    cl_int c = x->c;
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(layer->context, "batchnorm.cl", NULL, "bn_param_grad", &kernel));
    PCL_TRY(pcl_kernel_set_args(kernel, "bn_param_grad", 7, sizeof c, &c, sizeof eps, &eps, sizeof(cl_mem), &var,
                                sizeof(cl_mem), &impl->s1, sizeof(cl_mem), &impl->s2, sizeof(cl_mem),
                                &layer->grads[P_GAMMA]->mem, sizeof(cl_mem), &layer->grads[P_BETA]->mem));
    PCL_TRY(pcl_launch_1d(layer->context, kernel, "bn_param_grad", (size_t)c));
    if (!dx) return PCL_OK;
    cl_int planes = x->n * x->c, hw = x->h * x->w, training = layer->training;
    float count = (float)((double)x->n * hw);
    PCL_TRY(pcl_kernel_get(layer->context, "batchnorm.cl", NULL, "bn_backward", &kernel));
    PCL_TRY(pcl_kernel_set_args(kernel, "bn_backward", 14, sizeof planes, &planes, sizeof c, &c, sizeof hw, &hw,
                                sizeof eps, &eps, sizeof count, &count, sizeof training, &training, sizeof(cl_mem),
                                &x->mem, sizeof(cl_mem), &dy->mem, sizeof(cl_mem), &mean, sizeof(cl_mem), &var,
                                sizeof(cl_mem), &layer->params[P_GAMMA]->mem, sizeof(cl_mem), &impl->s1,
                                sizeof(cl_mem), &impl->s2, sizeof(cl_mem), &dx->mem));
    return launch_planes(layer, kernel, "bn_backward", x);
}

static void destroy(pcl_layer *layer)
{
    batchnorm_impl *impl = layer->impl;
    pcl_buffer_release(impl->partial);
    pcl_buffer_release(impl->mean);
    pcl_buffer_release(impl->var);
    pcl_buffer_release(impl->s1);
    pcl_buffer_release(impl->s2);
}

static const pcl_layer_ops ops = {output_shape, forward, backward, destroy};

pcl_status pcl_batchnorm_create(pcl_context *context, int channels, float momentum, float epsilon,
                                pcl_layer **layer)
{
    if (!layer) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_batchnorm_create: layer is NULL");
    *layer = NULL;
    if (channels < 1) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_batchnorm_create: %d channels", channels);
    if (!(momentum >= 0.0f && momentum <= 1.0f))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_batchnorm_create: momentum %g not in [0, 1]", momentum);
    if (!(epsilon > 0.0f)) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_batchnorm_create: epsilon %g must be > 0", epsilon);
    PCL_TRY(pcl_layer_alloc(context, PCL_LAYER_KIND_BATCHNORM, &ops, sizeof(batchnorm_impl), layer));
    pcl_layer *l = *layer;
    batchnorm_impl *impl = l->impl;
    impl->channels = channels;
    impl->momentum = momentum;
    impl->epsilon = epsilon;
    pcl_status status;
    if ((status = pcl_layer_add_param(l, "gamma", 1, channels, 1, 1)) != PCL_OK ||
        (status = pcl_tensor_fill(l->params[P_GAMMA], 1.0f)) != PCL_OK ||
        (status = pcl_layer_add_param(l, "beta", 1, channels, 1, 1)) != PCL_OK ||
        (status = pcl_layer_add_buffer(l, "running_mean", 1, channels, 1, 1, 0.0f)) != PCL_OK ||
        (status = pcl_layer_add_buffer(l, "running_var", 1, channels, 1, 1, 1.0f)) != PCL_OK) {
        pcl_layer_destroy(l);
        *layer = NULL;
        return status;
    }
    return PCL_OK;
}
