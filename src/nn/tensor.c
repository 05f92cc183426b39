/* Device tensors: NCHW float32 buffers, views, transfers and seeded initialisers. */
#include "perceptcl/tensor.h"

#include "runtime/internal.h"
#include "perceptcl/rng.h"

#include <math.h>
#include <stdlib.h>

static int extents_valid(int n, int c, int h, int w)
{
    return n >= 1 && c >= 1 && h >= 1 && w >= 1;
}

pcl_status pcl_tensor_create(pcl_context *context, int n, int c, int h, int w, pcl_tensor **tensor)
{
    if (!tensor) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_tensor_create: tensor is NULL");
    *tensor = NULL;
    if (!context) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_tensor_create: context is NULL");
    if (!extents_valid(n, c, h, w))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_tensor_create: shape %dx%dx%dx%d has an extent < 1", n, c, h,
                        w);
    pcl_tensor *t = calloc(1, sizeof *t);
    if (!t) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_tensor_create: out of host memory");
    t->context = context;
    t->n = n, t->c = c, t->h = h, t->w = w;
    pcl_status status = pcl_buffer_create(context, pcl_tensor_count(t) * sizeof(float), &t->mem);
    if (status != PCL_OK) {
        free(t);
        return status;
    }
    *tensor = t;
    return PCL_OK;
}

/* A new tensor of shape n x c x h x w on src's buffer (retained). */
static pcl_status make_view(const pcl_tensor *src, int n, int c, int h, int w, const char *what, pcl_tensor **view)
{
    pcl_tensor *t = calloc(1, sizeof *t);
    if (!t) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of host memory", what);
    *t = *src;
    t->n = n, t->c = c, t->h = h, t->w = w;
    cl_int error = clRetainMemObject(t->mem);
    if (error != CL_SUCCESS) {
        free(t);
        return pcl_fail_cl(error, "clRetainMemObject");
    }
    *view = t;
    return PCL_OK;
}

pcl_status pcl_tensor_view(const pcl_tensor *src, int n, int c, int h, int w, pcl_tensor **view)
{
    if (!view) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_tensor_view: view is NULL");
    *view = NULL;
    if (!src) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_tensor_view: src is NULL");
    if (!extents_valid(n, c, h, w) || (size_t)n * c * h * w != pcl_tensor_count(src))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_tensor_view: %dx%dx%dx%d does not hold the %zu elements of %dx%dx%dx%d",
                        n, c, h, w, pcl_tensor_count(src), src->n, src->c, src->h, src->w);
    return make_view(src, n, c, h, w, "pcl_tensor_view", view);
}

pcl_status pcl_tensor_view_front(const pcl_tensor *src, int n, int c, int h, int w, pcl_tensor **view)
{
    *view = NULL;
    if (!extents_valid(n, c, h, w) || (size_t)n * c * h * w > pcl_tensor_count(src))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                        "pcl_tensor_view_front: %dx%dx%dx%d does not fit the %zu elements of %dx%dx%dx%d", n, c, h, w,
                        pcl_tensor_count(src), src->n, src->c, src->h, src->w);
    return make_view(src, n, c, h, w, "pcl_tensor_view_front", view);
}

void pcl_tensor_destroy(pcl_tensor *tensor)
{
    if (!tensor) return;
    pcl_buffer_release(tensor->mem);
    free(tensor);
}

size_t pcl_tensor_count(const pcl_tensor *t)
{
    return t ? (size_t)t->n * t->c * t->h * t->w : 0;
}

size_t pcl_tensor_image_count(const pcl_tensor *t)
{
    return t ? (size_t)t->c * t->h * t->w : 0;
}

int pcl_tensor_same_shape(const pcl_tensor *a, const pcl_tensor *b)
{
    return a && b && a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w;
}

pcl_status pcl_tensor_upload(pcl_tensor *tensor, const float *host)
{
    if (!tensor || !host) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_tensor_upload: NULL argument");
    return pcl_buffer_write(tensor->context, tensor->mem, 0, pcl_tensor_count(tensor) * sizeof(float), host);
}

pcl_status pcl_tensor_download(const pcl_tensor *tensor, float *host)
{
    if (!tensor || !host) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_tensor_download: NULL argument");
    return pcl_buffer_read(tensor->context, tensor->mem, 0, pcl_tensor_count(tensor) * sizeof(float), host);
}

pcl_status pcl_tensor_fill(pcl_tensor *tensor, float value)
{
    if (!tensor) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_tensor_fill: tensor is NULL");
    return pcl_buffer_fill(tensor->context, tensor->mem, 0, pcl_tensor_count(tensor) * sizeof(float), value);
}

pcl_status pcl_tensor_copy(pcl_tensor *dst, const pcl_tensor *src)
{
    if (!dst || !src) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_tensor_copy: NULL argument");
    if (pcl_tensor_count(dst) != pcl_tensor_count(src))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_tensor_copy: %zu elements into %zu", pcl_tensor_count(src),
                        pcl_tensor_count(dst));
    if (dst->mem == src->mem) return PCL_OK;
    PCL_CL_CHECK(clEnqueueCopyBuffer(pcl_context_queue(dst->context), src->mem, dst->mem, 0, 0,
                                     pcl_tensor_count(src) * sizeof(float), 0, NULL, NULL),
                 "clEnqueueCopyBuffer(tensor)");
    return PCL_OK;
}

double pcl_random_uniform(uint64_t *state)
{
    return (double)(pcl_rng_next(state) >> 11) * 0x1.0p-53;
}

static double random_gaussian(uint64_t *state)
{
    double u1 = 1.0 - pcl_random_uniform(state); /* (0, 1]: log is finite */
    double u2 = pcl_random_uniform(state);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void pcl_random_gaussian_fill(float *dst, size_t count, uint64_t *state)
{
    for (size_t i = 0; i < count; i++) dst[i] = (float)random_gaussian(state);
}

typedef enum init_kind { INIT_GAUSSIAN, INIT_UNIFORM } init_kind;

static pcl_status init_tensor(pcl_tensor *tensor, init_kind kind, double scale, uint64_t seed, const char *what)
{
    if (!tensor) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s: tensor is NULL", what);
    if (!(scale >= 0.0) || !isfinite(scale))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s: scale %g is not a finite value >= 0", what, scale);
    size_t count = pcl_tensor_count(tensor);
    float *host = malloc(count * sizeof *host);
    if (!host) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: %zu floats", what, count);
    uint64_t state = seed;
    for (size_t i = 0; i < count; i++) {
        double v = kind == INIT_GAUSSIAN ? random_gaussian(&state) : 2.0 * pcl_random_uniform(&state) - 1.0;
        host[i] = (float)(v * scale);
    }
    pcl_status status = pcl_tensor_upload(tensor, host);
    free(host);
    return status;
}

pcl_status pcl_tensor_init_gaussian(pcl_tensor *tensor, double std, uint64_t seed)
{
    return init_tensor(tensor, INIT_GAUSSIAN, std, seed, "pcl_tensor_init_gaussian");
}

pcl_status pcl_tensor_init_xavier_uniform(pcl_tensor *tensor, int fan_in, int fan_out, uint64_t seed)
{
    if (fan_in < 1 || fan_out < 1)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_tensor_init_xavier_uniform: fan_in %d, fan_out %d must be >= 1",
                        fan_in, fan_out);
    return init_tensor(tensor, INIT_UNIFORM, sqrt(6.0 / ((double)fan_in + fan_out)), seed,
                       "pcl_tensor_init_xavier_uniform");
}

pcl_status pcl_tensor_init_he_normal(pcl_tensor *tensor, int fan_in, uint64_t seed)
{
    if (fan_in < 1) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_tensor_init_he_normal: fan_in %d must be >= 1", fan_in);
    return init_tensor(tensor, INIT_GAUSSIAN, sqrt(2.0 / fan_in), seed, "pcl_tensor_init_he_normal");
}
