/* Colour conversions: BT.601 luma (exact and PIL-rounded), MATLAB-compatible
 * rgb2ycbcr / ycbcr2rgb, channel split and merge. See color.h for formulas. */
#include "perceptcl/color.h"

#include "runtime/internal.h"

#include <math.h>
#include <string.h>

/* MATLAB's rgb2ycbcr matrix T (R, G, B in 0..1 -> Y, Cb, Cr in 0..255) and offset. */
static const double ycbcr_t[3][3] = {
    {65.481, 128.553, 24.966},
    {-37.797, -74.203, 112.0},
    {112.0, -93.786, -18.214},
};
static const double ycbcr_offset[3] = {16.0, 128.0, 128.0};

/* Rounds halves away from zero (MATLAB round) and saturates to 0..255. */
static float round_u8(double v)
{
    if (!(v > 0.0)) return isnan(v) ? (float)v : 0.0f; /* NaN stays NaN so callers see it */
    if (v >= 255.0) return 255.0f;
    return (float)floor(v + 0.5);
}

static pcl_status check_color_source(const pcl_image *src, pcl_image **out, const char *what)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s: out is NULL", what);
    *out = NULL;
    if (!src || !src->data) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s: source image is NULL", what);
    return PCL_OK;
}

pcl_status pcl_color_luma(const pcl_image *src, pcl_luma_mode mode, pcl_image **out)
{
    PCL_TRY(check_color_source(src, out, "pcl_color_luma"));
    if (src->channels != 1 && src->channels != 3 && src->channels != 4)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_color_luma: expected 1, 3 or 4 channels, got %d",
                        src->channels);
    if (mode != PCL_LUMA_MODE_EXACT && mode != PCL_LUMA_MODE_PIL)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_color_luma: unknown mode %d", (int)mode);
    size_t pixels = (size_t)src->width * (size_t)src->height;
    int ch = src->channels;
    if (mode == PCL_LUMA_MODE_PIL) { /* PIL's integer path needs 8-bit integers */
        for (size_t i = 0; i < pixels * (size_t)ch; i++) {
            float v = src->data[i];
            if (!(v >= 0.0f && v <= 255.0f) || v != floorf(v))
                return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                                "pcl_color_luma: PCL_LUMA_MODE_PIL needs integers in 0..255, sample %zu is %g", i,
                                (double)v);
        }
    }
    pcl_image *dst;
    PCL_TRY(pcl_image_create(&dst, src->width, src->height, 1));
    dst->max_value = src->max_value;
    for (size_t i = 0; i < pixels; i++) {
        const float *p = src->data + i * (size_t)ch;
        if (ch == 1) {
            dst->data[i] = p[0];
        } else if (mode == PCL_LUMA_MODE_PIL) {
            dst->data[i] = (float)pcl_color_luma_u8((uint8_t)p[0], (uint8_t)p[1], (uint8_t)p[2]);
        } else {
            dst->data[i] = (float)(p[0] * 0.299 + p[1] * 0.587 + p[2] * 0.114);
        }
    }
    *out = dst;
    return PCL_OK;
}

pcl_status pcl_color_to_rgb(const pcl_image *src, pcl_image **out)
{
    PCL_TRY(check_color_source(src, out, "pcl_color_to_rgb"));
    if (src->channels != 1 && src->channels != 3 && src->channels != 4)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_color_to_rgb: expected 1, 3 or 4 channels, got %d",
                        src->channels);
    pcl_image *dst;
    PCL_TRY(pcl_image_create(&dst, src->width, src->height, 3));
    dst->max_value = src->max_value;
    size_t pixels = (size_t)src->width * (size_t)src->height;
    for (size_t i = 0; i < pixels; i++) {
        const float *p = src->data + i * (size_t)src->channels;
        for (int c = 0; c < 3; c++) dst->data[3 * i + (size_t)c] = src->channels == 1 ? p[0] : p[c];
    }
    *out = dst;
    return PCL_OK;
}

static pcl_status rgb_source_channels(const pcl_image *src, const char *what)
{
    if (src->channels != 3 && src->channels != 4)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s: expected 3 or 4 channels, got %d", what, src->channels);
    return PCL_OK;
}

pcl_status pcl_color_rgb_to_ycbcr(const pcl_image *src, pcl_ycbcr_mode mode, pcl_image **out)
{
    PCL_TRY(check_color_source(src, out, "pcl_color_rgb_to_ycbcr"));
    PCL_TRY(rgb_source_channels(src, "pcl_color_rgb_to_ycbcr"));
    pcl_image *dst;
    PCL_TRY(pcl_image_create(&dst, src->width, src->height, 3));
    size_t pixels = (size_t)src->width * (size_t)src->height;
    for (size_t i = 0; i < pixels; i++) {
        const float *p = src->data + i * (size_t)src->channels;
        for (int k = 0; k < 3; k++) {
            double v = ycbcr_offset[k] +
                       (ycbcr_t[k][0] * p[0] + ycbcr_t[k][1] * p[1] + ycbcr_t[k][2] * p[2]) / 255.0;
            dst->data[3 * i + (size_t)k] = mode == PCL_YCBCR_MODE_ROUND_U8 ? round_u8(v) : (float)v;
        }
    }
    *out = dst;
    return PCL_OK;
}

/* inv(T) by cofactors, in float64. */
static void ycbcr_inverse(double inv[3][3])
{
    const double (*t)[3] = ycbcr_t;
    double det = t[0][0] * (t[1][1] * t[2][2] - t[1][2] * t[2][1]) -
                 t[0][1] * (t[1][0] * t[2][2] - t[1][2] * t[2][0]) +
                 t[0][2] * (t[1][0] * t[2][1] - t[1][1] * t[2][0]);
    inv[0][0] = (t[1][1] * t[2][2] - t[1][2] * t[2][1]) / det;
    inv[0][1] = (t[0][2] * t[2][1] - t[0][1] * t[2][2]) / det;
    inv[0][2] = (t[0][1] * t[1][2] - t[0][2] * t[1][1]) / det;
    inv[1][0] = (t[1][2] * t[2][0] - t[1][0] * t[2][2]) / det;
    inv[1][1] = (t[0][0] * t[2][2] - t[0][2] * t[2][0]) / det;
    inv[1][2] = (t[0][2] * t[1][0] - t[0][0] * t[1][2]) / det;
    inv[2][0] = (t[1][0] * t[2][1] - t[1][1] * t[2][0]) / det;
    inv[2][1] = (t[0][1] * t[2][0] - t[0][0] * t[2][1]) / det;
    inv[2][2] = (t[0][0] * t[1][1] - t[0][1] * t[1][0]) / det;
}

pcl_status pcl_color_ycbcr_to_rgb(const pcl_image *src, pcl_ycbcr_mode mode, pcl_image **out)
{
    PCL_TRY(check_color_source(src, out, "pcl_color_ycbcr_to_rgb"));
    if (src->channels != 3)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_color_ycbcr_to_rgb: expected 3 channels, got %d",
                        src->channels);
    double inv[3][3];
    ycbcr_inverse(inv);
    pcl_image *dst;
    PCL_TRY(pcl_image_create(&dst, src->width, src->height, 3));
    size_t pixels = (size_t)src->width * (size_t)src->height;
    for (size_t i = 0; i < pixels; i++) {
        const float *p = src->data + 3 * i;
        double d[3] = {p[0] - ycbcr_offset[0], p[1] - ycbcr_offset[1], p[2] - ycbcr_offset[2]};
        for (int k = 0; k < 3; k++) {
            /* T maps 0..1 to 0..255, so inv(T) maps back to 0..1: times 255 for 8-bit scale. */
            double v = 255.0 * (inv[k][0] * d[0] + inv[k][1] * d[1] + inv[k][2] * d[2]);
            dst->data[3 * i + (size_t)k] = mode == PCL_YCBCR_MODE_ROUND_U8 ? round_u8(v) : (float)v;
        }
    }
    *out = dst;
    return PCL_OK;
}

pcl_status pcl_color_rgb_to_y(const pcl_image *src, pcl_ycbcr_mode mode, pcl_image **out)
{
    PCL_TRY(check_color_source(src, out, "pcl_color_rgb_to_y"));
    if (src->channels != 1) PCL_TRY(rgb_source_channels(src, "pcl_color_rgb_to_y"));
    pcl_image *dst;
    PCL_TRY(pcl_image_create(&dst, src->width, src->height, 1));
    size_t pixels = (size_t)src->width * (size_t)src->height;
    for (size_t i = 0; i < pixels; i++) {
        const float *p = src->data + i * (size_t)src->channels;
        double r = p[0], g = src->channels == 1 ? p[0] : p[1], b = src->channels == 1 ? p[0] : p[2];
        double v = ycbcr_offset[0] + (ycbcr_t[0][0] * r + ycbcr_t[0][1] * g + ycbcr_t[0][2] * b) / 255.0;
        dst->data[i] = mode == PCL_YCBCR_MODE_ROUND_U8 ? round_u8(v) : (float)v;
    }
    *out = dst;
    return PCL_OK;
}

pcl_status pcl_color_channel(const pcl_image *src, int channel, pcl_image **out)
{
    PCL_TRY(check_color_source(src, out, "pcl_color_channel"));
    if (channel < 0 || channel >= src->channels)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_color_channel: channel %d outside 0..%d", channel,
                        src->channels - 1);
    pcl_image *dst;
    PCL_TRY(pcl_image_create(&dst, src->width, src->height, 1));
    dst->max_value = src->max_value;
    size_t pixels = (size_t)src->width * (size_t)src->height;
    for (size_t i = 0; i < pixels; i++) dst->data[i] = src->data[i * (size_t)src->channels + (size_t)channel];
    *out = dst;
    return PCL_OK;
}

pcl_status pcl_color_split(const pcl_image *src, pcl_image **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_color_split: out is NULL");
    if (!src || !src->data) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_color_split: source image is NULL");
    for (int c = 0; c < src->channels; c++) out[c] = NULL;
    for (int c = 0; c < src->channels; c++) {
        pcl_status status = pcl_color_channel(src, c, &out[c]);
        if (status != PCL_OK) {
            for (int k = 0; k < c; k++) {
                pcl_image_destroy(out[k]);
                out[k] = NULL;
            }
            return status;
        }
    }
    return PCL_OK;
}

pcl_status pcl_color_merge(pcl_image *const *planes, int count, pcl_image **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_color_merge: out is NULL");
    *out = NULL;
    if (!planes || count < 1 || count > 4)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_color_merge: expected 1..4 planes, got %d", count);
    for (int c = 0; c < count; c++) {
        if (!planes[c] || !planes[c]->data || planes[c]->channels != 1 ||
            planes[c]->width != planes[0]->width || planes[c]->height != planes[0]->height)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                            "pcl_color_merge: plane %d is not a 1-channel image of the size of plane 0", c);
    }
    pcl_image *dst;
    PCL_TRY(pcl_image_create(&dst, planes[0]->width, planes[0]->height, count));
    dst->max_value = planes[0]->max_value;
    size_t pixels = (size_t)dst->width * (size_t)dst->height;
    for (int c = 0; c < count; c++)
        for (size_t i = 0; i < pixels; i++) dst->data[i * (size_t)count + (size_t)c] = planes[c]->data[i];
    *out = dst;
    return PCL_OK;
}
