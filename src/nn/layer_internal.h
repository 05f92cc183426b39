/* The private shape every layer kind shares (src/layer_*.c), and helpers. */
#ifndef PERCEPTCL_LAYER_INTERNAL_H
#define PERCEPTCL_LAYER_INTERNAL_H

#include "runtime/internal.h"
#include "perceptcl/layers.h"

#define PCL_LAYER_MAX_PARAMS 4

typedef struct pcl_layer_ops {
    pcl_status (*output_shape)(const pcl_layer *layer, const int in[4], int out[4]);
    pcl_status (*forward)(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y);
    pcl_status (*backward)(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, const pcl_tensor *dy,
                           pcl_tensor *dx);
    void (*destroy)(pcl_layer *layer); /* frees impl only */
} pcl_layer_ops;

struct pcl_layer {
    pcl_layer_kind kind;
    const pcl_layer_ops *ops;
    pcl_context *context;
    int training;
    int param_count;
    pcl_tensor *params[PCL_LAYER_MAX_PARAMS];
    pcl_tensor *grads[PCL_LAYER_MAX_PARAMS];
    const char *param_names[PCL_LAYER_MAX_PARAMS];
    int buffer_count;
    pcl_tensor *buffers[PCL_LAYER_MAX_PARAMS];
    const char *buffer_names[PCL_LAYER_MAX_PARAMS];
    void *impl;
};

/* Allocates a layer with impl_size bytes of zeroed impl. */
pcl_status pcl_layer_alloc(pcl_context *context, pcl_layer_kind kind, const pcl_layer_ops *ops, size_t impl_size,
                           pcl_layer **layer);
/* Adds a parameter (and its gradient, zeroed) of the given shape. */
pcl_status pcl_layer_add_param(pcl_layer *layer, const char *name, int n, int c, int h, int w);
pcl_status pcl_layer_add_buffer(pcl_layer *layer, const char *name, int n, int c, int h, int w, float value);

/* The name PyTorch's module gives a parameter: batch normalisation's gamma
 * and beta are its weight and bias; other names are the same. */
const char *pcl_layer_torch_name(const char *name);

/* Grows *buffer to at least bytes (scratch kept between calls). */
pcl_status pcl_scratch_reserve(pcl_context *context, cl_mem *buffer, size_t *capacity, size_t bytes);

/* A tensor of shape n x c x h x w on the first n*c*h*w floats of src's
 * buffer, which may hold more (the model's shared gradient buffers). */
pcl_status pcl_tensor_view_front(const pcl_tensor *src, int n, int c, int h, int w, pcl_tensor **view);

/* 1 when the layer's backward reads only x and dy, never its output y (the
 * model may then let the next layer overwrite y in place). */
int pcl_layer_backward_ignores_y(const pcl_layer *layer);

/* 1 when the layer is a ReLU activation. */
int pcl_activation_is_relu(const pcl_layer *layer);

/* y = ReLU(conv2d(x)) in one pass where the layer takes the direct path
 * (*fused = 1: the ReLU stored with the output, bitwise what the ReLU layer
 * would give), else the plain forward (*fused = 0: the ReLU still to run). */
pcl_status pcl_conv2d_forward_relu(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y, int *fused);

/* y = ReLU(batchnorm(x)) in one pass, bitwise what the two layers give. */
pcl_status pcl_batchnorm_forward_relu(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y);

/* The conv2d's configuration as created. */
const pcl_conv2d_config *pcl_conv2d_get_config(const pcl_layer *layer);

/* The factor of an upsample layer. */
int pcl_upsample_factor(const pcl_layer *layer);

/* Nearest 2x upsampling followed by this conv2d, run as one sub-pixel
 * convolution of the low-resolution input (src/nn/conv2d_upsampled.c): the
 * model uses it for each upsample + conv2d pair of a decoder, without making
 * the upsampled map. Applies when pcl_conv2d_takes_upsampled: stride 1, a
 * square odd kernel >= 5, padding (kernel - 1) / 2. y is n x O x 2h x 2w for
 * x of n x C x h x w; relu: store ReLU(y) (as forward_relu); the
 * backward writes dx (x's shape; NULL skips it) and adds to the layer's
 * parameter gradients, as pcl_layer_backward does. */
int pcl_conv2d_takes_upsampled(const pcl_layer *layer);
pcl_status pcl_conv2d_forward_upsampled(pcl_layer *layer, const pcl_tensor *x, pcl_tensor *y, int relu);
pcl_status pcl_conv2d_backward_upsampled(pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *dy, pcl_tensor *dx);
/* The sub-pixel form's phase layer, kept (and destroyed) by the conv2d layer. */
pcl_layer **pcl_conv2d_phase_layer_slot(pcl_layer *layer);

/* Launches an elementwise kernel over count items (1-D). */
pcl_status pcl_launch_1d(pcl_context *context, cl_kernel kernel, const char *name, size_t count);

/* Checks x/y shapes against the layer's output_shape. */
pcl_status pcl_layer_check_io(const pcl_layer *layer, const pcl_tensor *x, const pcl_tensor *y, const char *what);

#endif
