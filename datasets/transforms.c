/* The pipeline's exact transforms on one (input, target) record (see
 * include/perceptcl/pipeline.h for each rule). Each returns new images and
 * leaves the record as it was on failure. */
#include "transforms.h"

#include "perceptcl/color.h"
#include "perceptcl/resize.h"
#include "perceptcl/rng.h"
#include "runtime/internal.h"

#include <stdlib.h>
#include <string.h>

const char *pcl_transform_name(pcl_transform_kind kind)
{
    switch (kind) {
    case PCL_TRANSFORM_KIND_LUMA: return "luma";
    case PCL_TRANSFORM_KIND_YCBCR_Y: return "ycbcr-y";
    case PCL_TRANSFORM_KIND_SCALE: return "scale";
    case PCL_TRANSFORM_KIND_RESIZE: return "resize";
    case PCL_TRANSFORM_KIND_RANDOM_CROP: return "random-crop";
    case PCL_TRANSFORM_KIND_FLIP: return "flip";
    case PCL_TRANSFORM_KIND_SR_DEGRADE: return "sr-degrade";
    case PCL_TRANSFORM_KIND_PATCHES: return "patches";
    case PCL_TRANSFORM_KIND_RANDOM_RESIZED_CROP: return "random-resized-crop";
    }
    return "unknown";
}

int pcl_transform_is_random(pcl_transform_kind kind)
{
    return kind == PCL_TRANSFORM_KIND_RANDOM_CROP || kind == PCL_TRANSFORM_KIND_FLIP ||
           kind == PCL_TRANSFORM_KIND_RANDOM_RESIZED_CROP;
}

pcl_status pcl_transform_check(const pcl_transform *t, int step)
{
    const char *name = pcl_transform_name(t->kind);
    switch (t->kind) {
    case PCL_TRANSFORM_KIND_LUMA:
    case PCL_TRANSFORM_KIND_YCBCR_Y: return PCL_OK;
    case PCL_TRANSFORM_KIND_SCALE:
        if (t->range != PCL_RANGE_UNIT && t->range != PCL_RANGE_SIGNED)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pipeline: transform %d (%s): unknown range %d", step, name,
                            (int)t->range);
        return PCL_OK;
    case PCL_TRANSFORM_KIND_RESIZE:
    case PCL_TRANSFORM_KIND_RANDOM_CROP:
        if (t->width < 1 || t->height < 1 || t->width > 65536 || t->height > 65536)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pipeline: transform %d (%s): size %dx%d outside 1..65536",
                            step, name, t->width, t->height);
        return PCL_OK;
    case PCL_TRANSFORM_KIND_RANDOM_RESIZED_CROP:
        if (t->width < 1 || t->height < 1 || t->width > 65536 || t->height > 65536)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pipeline: transform %d (%s): size %dx%d outside 1..65536",
                            step, name, t->width, t->height);
        if (t->min_side < 1 || t->min_side > t->max_side || t->max_side > 65536)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                            "pipeline: transform %d (%s): window sides %d..%d must satisfy 1 <= min <= max <= 65536",
                            step, name, t->min_side, t->max_side);
        return PCL_OK;
    case PCL_TRANSFORM_KIND_FLIP:
        if (!t->horizontal && !t->vertical)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                            "pipeline: transform %d (%s): neither horizontal nor vertical mirrors asked for", step,
                            name);
        return PCL_OK;
    case PCL_TRANSFORM_KIND_SR_DEGRADE:
        if (t->scale < 2 || t->scale > 8)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pipeline: transform %d (%s): scale must be 2..8, not %d", step,
                            name, t->scale);
        return PCL_OK;
    case PCL_TRANSFORM_KIND_PATCHES: {
        int target = t->target_size ? t->target_size : t->size;
        if (t->size < 1 || t->size > 65536 || t->stride < 1 || t->stride > 65536)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                            "pipeline: transform %d (%s): size %d and stride %d must be 1..65536", step, name, t->size,
                            t->stride);
        if (target < 1 || target > t->size || (t->size - target) % 2)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                            "pipeline: transform %d (%s): target size %d must be 1..%d with an even difference to %d",
                            step, name, target, t->size, t->size);
        return PCL_OK;
    }
    }
    return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pipeline: transform %d: unknown kind %d", step, (int)t->kind);
}

/* ---- one image ---------------------------------------------------------- */

static pcl_status luma(const pcl_image *src, pcl_image **out)
{
    if (src->channels == 1) return pcl_image_clone(src, out);
    return pcl_color_luma(src, PCL_LUMA_MODE_PIL, out);
}

static pcl_status ycbcr_y(const pcl_image *src, pcl_image **out)
{
    if (src->channels == 1) return pcl_image_clone(src, out); /* SRCNN: gray images are Y as they are */
    return pcl_color_rgb_to_y(src, PCL_YCBCR_MODE_ROUND_U8, out);
}

static pcl_status scale(const pcl_image *src, pcl_range range, pcl_image **out)
{
    PCL_TRY(pcl_image_clone(src, out));
    pcl_status status = pcl_dataset_scale((*out)->data, pcl_image_size(*out), 255.0f, range);
    if (status != PCL_OK) {
        pcl_image_destroy(*out);
        *out = NULL;
        return status;
    }
    (*out)->max_value = 1.0f;
    return PCL_OK;
}

static pcl_status flip(const pcl_image *src, int horizontal, int vertical, pcl_image **out)
{
    PCL_TRY(pcl_image_create(out, src->width, src->height, src->channels));
    (*out)->max_value = src->max_value;
    const size_t w = (size_t)src->width, h = (size_t)src->height, c = (size_t)src->channels;
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++) {
            size_t sx = horizontal ? w - 1 - x : x, sy = vertical ? h - 1 - y : y;
            memcpy((*out)->data + (y * w + x) * c, src->data + (sy * w + sx) * c, c * sizeof(float));
        }
    return PCL_OK;
}

/* ---- one record ---------------------------------------------------------- */

/* The same single-image operation on input and target. */
typedef struct image_op {
    const pcl_transform *t;
    int x, y;                /* RANDOM_CROP's window */
    int horizontal, vertical; /* FLIP's draws */
} image_op;

static pcl_status apply_one(const image_op *op, const pcl_image *src, pcl_image **out)
{
    const pcl_transform *t = op->t;
    switch (t->kind) {
    case PCL_TRANSFORM_KIND_LUMA: return luma(src, out);
    case PCL_TRANSFORM_KIND_YCBCR_Y: return ycbcr_y(src, out);
    case PCL_TRANSFORM_KIND_SCALE: return scale(src, t->range, out);
    case PCL_TRANSFORM_KIND_RESIZE: return pcl_resize_bicubic(src, t->width, t->height, PCL_RESIZE_DEFAULT, out);
    case PCL_TRANSFORM_KIND_RANDOM_CROP: return pcl_image_crop(src, op->x, op->y, t->width, t->height, out);
    case PCL_TRANSFORM_KIND_FLIP: return flip(src, op->horizontal, op->vertical, out);
    default: break;
    }
    return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "transform %s works on records, not images", pcl_transform_name(t->kind));
}

static pcl_status sr_degrade(int factor, const pcl_image *src, pcl_image **input, pcl_image **target)
{
    pcl_image *truth = NULL, *low = NULL, *up = NULL;
    /* As pcl_sr_prepare: the MATLAB code resizes single-precision images, no rounding between passes. */
    pcl_status status = pcl_image_modcrop(src, factor, &truth);
    if (status == PCL_OK) status = pcl_resize_bicubic_scale(truth, 1.0 / factor, PCL_RESIZE_DEFAULT, &low);
    if (status == PCL_OK) status = pcl_resize_bicubic(low, truth->width, truth->height, PCL_RESIZE_DEFAULT, &up);
    pcl_image_destroy(low);
    if (status != PCL_OK) {
        pcl_image_destroy(truth);
        pcl_image_destroy(up);
        return status;
    }
    *input = up;
    *target = truth;
    return PCL_OK;
}

/* The window is drawn from the input; the target (same size) gets the same one. */
static pcl_status random_resized_crop(const pcl_transform *t, const pcl_image *a, const pcl_image *b, uint64_t *rng,
                                      pcl_image **in, pcl_image **tg)
{
    if (a->width != b->width || a->height != b->height)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "random-resized-crop: input %dx%d and target %dx%d differ in size",
                        a->width, a->height, b->width, b->height);
    int shorter = a->width < a->height ? a->width : a->height;
    int hi = t->max_side < shorter ? t->max_side : shorter;
    int side = t->min_side > hi ? hi : t->min_side + (int)pcl_rng_below(rng, (uint64_t)(hi - t->min_side + 1));
    int x = 0, y = 0;
    pcl_image *window_a = NULL, *window_b = NULL;
    pcl_status status = pcl_image_random_crop(a, side, side, rng, &window_a, &x, &y);
    if (status == PCL_OK) status = pcl_image_crop(b, x, y, side, side, &window_b);
    if (status == PCL_OK) status = pcl_resize_bicubic(window_a, t->width, t->height, PCL_RESIZE_DEFAULT, in);
    if (status == PCL_OK) status = pcl_resize_bicubic(window_b, t->width, t->height, PCL_RESIZE_DEFAULT, tg);
    pcl_image_destroy(window_a);
    pcl_image_destroy(window_b);
    return status;
}

pcl_status pcl_transform_apply(const pcl_transform *t, pcl_image **input, pcl_image **target, uint64_t *rng)
{
    pcl_image *in = NULL, *tg = NULL;
    pcl_status status;
    if (t->kind == PCL_TRANSFORM_KIND_SR_DEGRADE) {
        status = sr_degrade(t->scale, *input, &in, &tg);
    } else if (t->kind == PCL_TRANSFORM_KIND_RANDOM_CROP) {
        const pcl_image *a = *input, *b = *target;
        if (a->width != b->width || a->height != b->height)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "random-crop: input %dx%d and target %dx%d differ in size",
                            a->width, a->height, b->width, b->height);
        /* The input's window is drawn by image.h's rule; the target's is the same window. */
        image_op op = {t, 0, 0, 0, 0};
        status = pcl_image_random_crop(a, t->width, t->height, rng, &in, &op.x, &op.y);
        if (status == PCL_OK) status = apply_one(&op, b, &tg);
    } else if (t->kind == PCL_TRANSFORM_KIND_RANDOM_RESIZED_CROP) {
        status = random_resized_crop(t, *input, *target, rng, &in, &tg);
    } else {
        image_op op = {t, 0, 0, 0, 0};
        if (t->kind == PCL_TRANSFORM_KIND_FLIP) {
            op.horizontal = t->horizontal && pcl_rng_below(rng, 2) == 1;
            op.vertical = t->vertical && pcl_rng_below(rng, 2) == 1;
        }
        status = apply_one(&op, *input, &in);
        if (status == PCL_OK) status = apply_one(&op, *target, &tg);
    }
    if (status != PCL_OK) {
        pcl_image_destroy(in);
        pcl_image_destroy(tg);
        return status;
    }
    pcl_image_destroy(*input);
    pcl_image_destroy(*target);
    *input = in;
    *target = tg;
    return PCL_OK;
}
