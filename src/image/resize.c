/* MATLAB-compatible bicubic imresize (see resize.h for the algorithm).
 *
 * Written from the description of MATLAB's imresize: per output index a set
 * of weights over P = ceil(kernel_width) + 2 source indices (contributions),
 * then one separable pass per dimension. Intermediates are float64. */
#include "perceptcl/resize.h"

#include "image/image_io.h"
#include "runtime/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double pcl_resize_cubic(double x)
{
    double ax = fabs(x), ax2 = ax * ax, ax3 = ax2 * ax;
    if (ax <= 1.0) return 1.5 * ax3 - 2.5 * ax2 + 1.0;
    if (ax <= 2.0) return -0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0;
    return 0.0;
}

typedef struct contributions {
    int taps;     /* P: weights per output index */
    int *index;   /* out_length * taps source indices, 0-based, already mirrored */
    double *weight;
} contributions;

static void contributions_free(contributions *c)
{
    free(c->index);
    free(c->weight);
}

static pcl_status contributions_make(int in_length, int out_length, double scale, int antialias,
                                     contributions *c)
{
    double kernel_width = 4.0;
    int stretch = scale < 1.0 && antialias;
    if (stretch) kernel_width /= scale; /* h(t) = s k(s t) has support 4 / s */
    int taps = (int)ceil(kernel_width) + 2;
    c->taps = taps;
    c->index = malloc(sizeof(int) * (size_t)out_length * (size_t)taps);
    c->weight = malloc(sizeof(double) * (size_t)out_length * (size_t)taps);
    if (!c->index || !c->weight) {
        contributions_free(c);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_resize_bicubic: cannot allocate %d x %d weights", out_length,
                        taps);
    }
    long period = 2L * in_length; /* mirror sequence 1..n, n..1 */
    for (int x = 1; x <= out_length; x++) {
        /* Output pixel x (1-based) centred at u in input coordinates. */
        double u = x / scale + 0.5 * (1.0 - 1.0 / scale);
        double left = floor(u - kernel_width / 2.0);
        double sum = 0.0;
        int *index = c->index + (size_t)(x - 1) * (size_t)taps;
        double *weight = c->weight + (size_t)(x - 1) * (size_t)taps;
        for (int j = 0; j < taps; j++) {
            double source = left + j; /* 1-based, may lie outside 1..n */
            double t = u - source;
            double w = stretch ? scale * pcl_resize_cubic(scale * t) : pcl_resize_cubic(t);
            weight[j] = w;
            sum += w;
            long m = ((long)source - 1) % period;
            if (m < 0) m += period;
            index[j] = (int)(m < in_length ? m : period - 1 - m); /* 0-based */
        }
        for (int j = 0; j < taps; j++) weight[j] /= sum;
    }
    return PCL_OK;
}

static double round_u8(double v)
{
    if (!(v > 0.0)) return isnan(v) ? v : 0.0;
    if (v >= 255.0) return 255.0;
    return floor(v + 0.5);
}

/* Resizes a (height x width x channels) float64 buffer along one axis. */
static pcl_status resize_pass(const double *src, int height, int width, int channels, int along_height,
                              int out_length, double scale, unsigned flags, double **dst_out)
{
    int in_length = along_height ? height : width;
    contributions c;
    PCL_TRY(contributions_make(in_length, out_length, scale, !(flags & PCL_RESIZE_NO_ANTIALIAS), &c));
    int out_h = along_height ? out_length : height, out_w = along_height ? width : out_length;
    double *dst = malloc(sizeof(double) * (size_t)out_h * (size_t)out_w * (size_t)channels);
    if (!dst) {
        contributions_free(&c);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_resize_bicubic: cannot allocate a %dx%dx%d buffer", out_w,
                        out_h, channels);
    }
    size_t row = (size_t)width * (size_t)channels;
    for (int y = 0; y < out_h; y++) {
        for (int x = 0; x < out_w; x++) {
            int o = along_height ? y : x;
            const int *index = c.index + (size_t)o * (size_t)c.taps;
            const double *weight = c.weight + (size_t)o * (size_t)c.taps;
            for (int ch = 0; ch < channels; ch++) {
                double acc = 0.0;
                for (int j = 0; j < c.taps; j++) {
                    size_t at = along_height ? (size_t)index[j] * row + (size_t)x * (size_t)channels
                                             : (size_t)y * row + (size_t)index[j] * (size_t)channels;
                    acc += weight[j] * src[at + (size_t)ch];
                }
                if (flags & PCL_RESIZE_ROUND_U8) acc = round_u8(acc);
                dst[((size_t)y * (size_t)out_w + (size_t)x) * (size_t)channels + (size_t)ch] = acc;
            }
        }
    }
    contributions_free(&c);
    *dst_out = dst;
    return PCL_OK;
}

static pcl_status resize_impl(const pcl_image *src, int out_width, int out_height, double scale_h,
                              double scale_w, unsigned flags, pcl_image **out)
{
    size_t n = pcl_image_size(src);
    double *buffer = malloc(sizeof(double) * n);
    if (!buffer) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_resize_bicubic: cannot allocate %zu doubles", n);
    for (size_t i = 0; i < n; i++) buffer[i] = src->data[i];
    int h = src->height, w = src->width, ch = src->channels;

    /* MATLAB resizes the dimension with the smaller scale first; rows on ties. */
    int height_first = scale_h <= scale_w;
    for (int pass = 0; pass < 2; pass++) {
        int along_height = (pass == 0) == height_first;
        double *next = NULL;
        pcl_status status = along_height
                                ? resize_pass(buffer, h, w, ch, 1, out_height, scale_h, flags, &next)
                                : resize_pass(buffer, h, w, ch, 0, out_width, scale_w, flags, &next);
        free(buffer);
        if (status != PCL_OK) return status;
        buffer = next;
        if (along_height)
            h = out_height;
        else
            w = out_width;
    }
    pcl_image *dst;
    pcl_status status = pcl_image_create(&dst, out_width, out_height, ch);
    if (status != PCL_OK) {
        free(buffer);
        return status;
    }
    dst->max_value = src->max_value;
    for (size_t i = 0; i < pcl_image_size(dst); i++) dst->data[i] = (float)buffer[i];
    free(buffer);
    *out = dst;
    return PCL_OK;
}

static pcl_status check_resize_source(const pcl_image *src, pcl_image **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_resize_bicubic: out is NULL");
    *out = NULL;
    if (!src || !src->data || src->width < 1 || src->height < 1)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_resize_bicubic: source image is NULL or empty");
    return PCL_OK;
}

/* The output must fit the image pixel limit (image.h) and the float limit:
 * checked before any buffer is allocated (a scale of 3000 once allocated
 * gigabytes before the image itself was refused). */
static pcl_status check_output_size(const pcl_image *src, double width, double height)
{
    size_t limit;
    PCL_TRY(pcl_image_max_pixels(&limit));
    if (width * height > (double)limit || width * height * src->channels > (double)PCL_IMAGE_MAX_FLOATS)
        return pcl_fail(PCL_ERR_TOO_LARGE,
                        "pcl_resize_bicubic: output %.0fx%.0f is %.0f pixels, over the limit of %zu "
                        "(--max-pixels N or PERCEPTCL_MAX_PIXELS=N raises it)",
                        width, height, width * height, limit);
    return PCL_OK;
}

pcl_status pcl_resize_bicubic(const pcl_image *src, int out_width, int out_height, unsigned flags,
                              pcl_image **out)
{
    PCL_TRY(check_resize_source(src, out));
    if (out_width < 1 || out_height < 1 || out_width > PCL_IMAGE_MAX_SIDE || out_height > PCL_IMAGE_MAX_SIDE)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_resize_bicubic: output size %dx%d outside 1..%d",
                        out_width, out_height, PCL_IMAGE_MAX_SIDE);
    PCL_TRY(check_output_size(src, out_width, out_height));
    return resize_impl(src, out_width, out_height, (double)out_height / src->height,
                       (double)out_width / src->width, flags, out);
}

pcl_status pcl_resize_bicubic_scale(const pcl_image *src, double scale, unsigned flags, pcl_image **out)
{
    PCL_TRY(check_resize_source(src, out));
    if (!(scale > 0.0) || !isfinite(scale))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_resize_bicubic_scale: scale %g is not positive", scale);
    /* Below 1/size the output is one pixel whatever the scale, while the
     * antialiasing kernel (support 4 / scale) grows without bound: 1e-9 once
     * overflowed the tap count, 5e-8 ran for minutes. */
    int shorter = src->width < src->height ? src->width : src->height;
    if (scale * shorter < 1.0)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                        "pcl_resize_bicubic_scale: scale %g shrinks the %dx%d image below one pixel "
                        "(the smallest scale is 1/%d)", scale, src->width, src->height, shorter);
    double w = ceil(scale * src->width), h = ceil(scale * src->height);
    if (w > PCL_IMAGE_MAX_SIDE || h > PCL_IMAGE_MAX_SIDE)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_resize_bicubic_scale: scale %g gives %gx%g, outside 1..%d",
                        scale, w, h, PCL_IMAGE_MAX_SIDE);
    PCL_TRY(check_output_size(src, w, h));
    return resize_impl(src, (int)w, (int)h, scale, scale, flags, out);
}
