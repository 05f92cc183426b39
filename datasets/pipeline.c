/* Training data from datasets through a list of transforms, as the trainer's
 * data source (include/perceptcl/pipeline.h). With PATCHES, the records up
 * to it are built once at create and held as HWC floats; the transforms
 * after it (and all of them without PATCHES) run at each fill. */
#include "dataset_internal.h"
#include "transforms.h"

#include "perceptcl/rng.h"
#include "runtime/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pcl_pipeline {
    pcl_dataset **datasets; /* not owned */
    int dataset_count;
    size_t total;           /* dataset records in all */
    pcl_transform *steps;
    int step_count;
    int patches_at;         /* index of PATCHES in steps, -1 if none */
    size_t count;           /* records given */
    size_t images;          /* dataset records read at create (or count) */
    /* materialised records (PATCHES): HWC, record after record */
    int mat_in[3], mat_tg[3]; /* c, h, w */
    float *inputs, *targets;
    size_t *origin;          /* dataset record each came from */
    size_t capacity;
    /* the shapes every record has, c, h, w (found from record 0) */
    int input[3], target[3];
};

/* ---- records of the datasets ----------------------------------------------- */

static pcl_status locate(const pcl_pipeline *p, size_t record, pcl_dataset **dataset, size_t *local)
{
    for (int d = 0; d < p->dataset_count; d++) {
        size_t n = pcl_dataset_count(p->datasets[d]);
        if (record < n) {
            *dataset = p->datasets[d];
            *local = record;
            return PCL_OK;
        }
        record -= n;
    }
    return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pipeline: dataset record out of range");
}

/* Re-records the current message with the record and its file in front. */
static pcl_status fail_record(const pcl_pipeline *p, pcl_status status, size_t record, const char *step)
{
    char message[1024];
    snprintf(message, sizeof message, "%s", pcl_last_error());
    pcl_dataset *dataset = NULL;
    size_t local = 0;
    pcl_record_info info = {0};
    const char *path = "?";
    if (locate(p, record, &dataset, &local) == PCL_OK && pcl_dataset_record_info(dataset, local, &info) == PCL_OK &&
        info.path)
        path = info.path;
    if (step)
        return pcl_fail(status, "pipeline: record %zu (%s), %s: %s", record, path, step, message);
    return pcl_fail(status, "pipeline: record %zu (%s): %s", record, path, message);
}

/* Dataset record `record` through steps[first .. last - 1]: a new pair. */
static pcl_status run_steps(const pcl_pipeline *p, size_t record, int first, int last, uint64_t *rng,
                            pcl_image **input, pcl_image **target)
{
    for (int s = first; s < last; s++) {
        pcl_status status = pcl_transform_apply(&p->steps[s], input, target, rng);
        if (status != PCL_OK) {
            char step[64];
            snprintf(step, sizeof step, "transform %d (%s)", s, pcl_transform_name(p->steps[s].kind));
            pcl_image_destroy(*input);
            pcl_image_destroy(*target);
            *input = *target = NULL;
            return fail_record(p, status, record, step);
        }
    }
    return PCL_OK;
}

static pcl_status read_pair(const pcl_pipeline *p, size_t record, pcl_image **input, pcl_image **target)
{
    *input = *target = NULL;
    pcl_dataset *dataset = NULL;
    size_t local = 0;
    PCL_TRY(locate(p, record, &dataset, &local));
    pcl_status status = pcl_dataset_read_image(dataset, local, input, NULL);
    if (status == PCL_OK) status = pcl_image_clone(*input, target);
    if (status != PCL_OK) {
        pcl_image_destroy(*input);
        *input = NULL;
        return fail_record(p, status, record, NULL);
    }
    return PCL_OK;
}

/* ---- materialised patches ----------------------------------------------------- */

static pcl_status reserve(pcl_pipeline *p, size_t needed)
{
    if (needed <= p->capacity) return PCL_OK;
    size_t capacity = p->capacity ? p->capacity : 1024;
    while (capacity < needed) capacity *= 2;
    size_t in = (size_t)p->mat_in[0] * p->mat_in[1] * p->mat_in[2];
    size_t tg = (size_t)p->mat_tg[0] * p->mat_tg[1] * p->mat_tg[2];
    float *a = realloc(p->inputs, capacity * in * sizeof(float));
    if (a) p->inputs = a;
    float *b = a ? realloc(p->targets, capacity * tg * sizeof(float)) : NULL;
    if (b) p->targets = b;
    size_t *o = b ? realloc(p->origin, capacity * sizeof *o) : NULL;
    if (!o) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pipeline: out of memory for %zu records", capacity);
    p->origin = o;
    p->capacity = capacity;
    return PCL_OK;
}

/* Copies the w x h window at (x, y) of image (HWC) to dst. */
static void copy_window(const pcl_image *image, int x, int y, int w, int h, float *dst)
{
    const size_t c = (size_t)image->channels, row = (size_t)w * c;
    for (int r = 0; r < h; r++)
        memcpy(dst + (size_t)r * row, image->data + ((size_t)(y + r) * image->width + (size_t)x) * c,
               row * sizeof(float));
}

/* Appends the patches of one record's pair, up to limit records in all. */
static pcl_status add_patches(pcl_pipeline *p, size_t record, const pcl_image *input, const pcl_image *target,
                              size_t limit)
{
    const pcl_transform *t = &p->steps[p->patches_at];
    const int s = t->size, l = t->target_size ? t->target_size : t->size, pad = (s - l) / 2;
    if (input->width != target->width || input->height != target->height || input->channels > 4)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "patches: input %dx%d and target %dx%d differ in size", input->width,
                        input->height, target->width, target->height);
    if (p->mat_in[0] == 0) { /* the first image fixes the channels */
        p->mat_in[0] = input->channels, p->mat_in[1] = s, p->mat_in[2] = s;
        p->mat_tg[0] = target->channels, p->mat_tg[1] = l, p->mat_tg[2] = l;
    } else if (input->channels != p->mat_in[0] || target->channels != p->mat_tg[0]) {
        return pcl_fail(PCL_ERR_FORMAT, "patches: %d and %d channels where the first records have %d and %d",
                        input->channels, target->channels, p->mat_in[0], p->mat_tg[0]);
    }
    const size_t rows = input->height >= s ? (size_t)((input->height - s) / t->stride + 1) : 0;
    const size_t cols = input->width >= s ? (size_t)((input->width - s) / t->stride + 1) : 0;
    size_t n = rows * cols;
    if (limit && n > limit - p->count) n = limit - p->count;
    PCL_TRY(reserve(p, p->count + n));
    const size_t in = (size_t)p->mat_in[0] * s * s, tg = (size_t)p->mat_tg[0] * l * l;
    for (size_t k = 0; k < n; k++) {
        const int y0 = (int)(k / cols) * t->stride, x0 = (int)(k % cols) * t->stride;
        copy_window(input, x0, y0, s, s, p->inputs + p->count * in);
        copy_window(target, x0 + pad, y0 + pad, l, l, p->targets + p->count * tg);
        p->origin[p->count++] = record;
    }
    return PCL_OK;
}

static pcl_status materialise(pcl_pipeline *p, size_t limit)
{
    for (size_t r = 0; r < p->total && !(limit && p->count >= limit); r++) {
        pcl_image *input = NULL, *target = NULL;
        PCL_TRY(read_pair(p, r, &input, &target));
        pcl_status status = run_steps(p, r, 0, p->patches_at, NULL, &input, &target);
        if (status == PCL_OK) {
            status = add_patches(p, r, input, target, limit);
            if (status != PCL_OK) {
                char step[64];
                snprintf(step, sizeof step, "transform %d (patches)", p->patches_at);
                status = fail_record(p, status, r, step);
            }
        }
        pcl_image_destroy(input);
        pcl_image_destroy(target);
        PCL_TRY(status);
        p->images++;
    }
    if (p->count == 0) {
        const pcl_transform *t = &p->steps[p->patches_at];
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pipeline: no %dx%d patch fits in any of the %zu images", t->size,
                        t->size, p->total);
    }
    return PCL_OK;
}

/* ---- one record ----------------------------------------------------------------- */

static pcl_status stored_image(const int shape[3], const float *data, pcl_image **out)
{
    PCL_TRY(pcl_image_create(out, shape[2], shape[1], shape[0]));
    memcpy((*out)->data, data, pcl_image_size(*out) * sizeof(float));
    return PCL_OK;
}

pcl_status pcl_pipeline_record(pcl_pipeline *p, size_t index, uint64_t seed, pcl_image **input, pcl_image **target)
{
    if (input) *input = NULL;
    if (target) *target = NULL;
    if (!p || !input || !target) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_pipeline_record: NULL argument");
    if (index >= p->count)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_pipeline_record: record %zu out of range (%zu records)", index,
                        p->count);
    uint64_t rng = pcl_train_step_seed(seed, (uint64_t)index);
    if (p->patches_at < 0) {
        PCL_TRY(read_pair(p, index, input, target));
        return run_steps(p, index, 0, p->step_count, &rng, input, target);
    }
    const size_t in = (size_t)p->mat_in[0] * p->mat_in[1] * p->mat_in[2];
    const size_t tg = (size_t)p->mat_tg[0] * p->mat_tg[1] * p->mat_tg[2];
    pcl_status status = stored_image(p->mat_in, p->inputs + index * in, input);
    if (status == PCL_OK) status = stored_image(p->mat_tg, p->targets + index * tg, target);
    if (status == PCL_OK)
        status = run_steps(p, p->origin[index], p->patches_at + 1, p->step_count, &rng, input, target);
    if (status != PCL_OK) {
        pcl_image_destroy(*input);
        pcl_image_destroy(*target);
        *input = *target = NULL;
    }
    return status;
}

/* ---- the pipeline ------------------------------------------------------------------ */

pcl_status pcl_pipeline_create(pcl_dataset *const *datasets, int count, const pcl_transform *transforms, int n,
                               const pcl_pipeline_options *options, pcl_pipeline **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_pipeline_create: out is NULL");
    *out = NULL;
    if (!datasets || count < 1) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_pipeline_create: no dataset");
    if (n < 0 || (n > 0 && !transforms))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_pipeline_create: %d transforms given", n);
    int patches_at = -1;
    for (int s = 0; s < n; s++) {
        PCL_TRY(pcl_transform_check(&transforms[s], s));
        if (transforms[s].kind != PCL_TRANSFORM_KIND_PATCHES) continue;
        if (patches_at >= 0)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pipeline: transform %d: a second patches step (the first is %d)",
                            s, patches_at);
        patches_at = s;
    }
    for (int s = 0; s < patches_at; s++)
        if (pcl_transform_is_random(transforms[s].kind))
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                            "pipeline: transform %d (%s) is random: it must come after patches (records built once)",
                            s, pcl_transform_name(transforms[s].kind));
    size_t total = 0;
    for (int d = 0; d < count; d++) {
        if (!datasets[d]) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_pipeline_create: dataset %d is NULL", d);
        total += pcl_dataset_count(datasets[d]);
    }
    if (total == 0) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pipeline: the datasets hold no records");

    pcl_pipeline *p = calloc(1, sizeof *p);
    if (!p) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pipeline: out of memory");
    p->datasets = malloc((size_t)count * sizeof *p->datasets);
    p->steps = malloc((size_t)(n ? n : 1) * sizeof *p->steps);
    if (!p->datasets || !p->steps) {
        pcl_pipeline_destroy(p);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pipeline: out of memory");
    }
    memcpy(p->datasets, datasets, (size_t)count * sizeof *datasets);
    if (n) memcpy(p->steps, transforms, (size_t)n * sizeof *transforms);
    p->dataset_count = count;
    p->step_count = n;
    p->total = total;
    p->patches_at = patches_at;
    const size_t limit = options ? options->limit : 0;
    pcl_status status = PCL_OK;
    if (patches_at >= 0) {
        status = materialise(p, limit);
    } else {
        p->count = limit && limit < total ? limit : total;
        p->images = p->count;
    }
    /* Record 0 fixes the shapes every record must have. */
    pcl_image *input = NULL, *target = NULL;
    if (status == PCL_OK) status = pcl_pipeline_record(p, 0, 0, &input, &target);
    if (status == PCL_OK) {
        p->input[0] = input->channels, p->input[1] = input->height, p->input[2] = input->width;
        p->target[0] = target->channels, p->target[1] = target->height, p->target[2] = target->width;
    }
    pcl_image_destroy(input);
    pcl_image_destroy(target);
    if (status != PCL_OK) {
        pcl_pipeline_destroy(p);
        return status;
    }
    *out = p;
    return PCL_OK;
}

void pcl_pipeline_destroy(pcl_pipeline *pipeline)
{
    if (!pipeline) return;
    free(pipeline->datasets);
    free(pipeline->steps);
    free(pipeline->inputs);
    free(pipeline->targets);
    free(pipeline->origin);
    free(pipeline);
}

size_t pcl_pipeline_count(const pcl_pipeline *pipeline) { return pipeline ? pipeline->count : 0; }
size_t pcl_pipeline_images(const pcl_pipeline *pipeline) { return pipeline ? pipeline->images : 0; }

/* ---- the trainer's data source -------------------------------------------------------- */

/* HWC image to CHW floats. */
static void to_chw(const float *hwc, int c, int h, int w, float *dst)
{
    const size_t plane = (size_t)h * w;
    if (c == 1) {
        memcpy(dst, hwc, plane * sizeof(float));
        return;
    }
    for (int k = 0; k < c; k++)
        for (size_t i = 0; i < plane; i++) dst[(size_t)k * plane + i] = hwc[i * (size_t)c + (size_t)k];
}

static int same_shape(const pcl_image *image, const int shape[3])
{
    return image->channels == shape[0] && image->height == shape[1] && image->width == shape[2];
}

static pcl_status fill(void *user, const size_t *indices, size_t n, uint64_t seed, float *inputs, float *targets)
{
    pcl_pipeline *p = user;
    const size_t in = (size_t)p->input[0] * p->input[1] * p->input[2];
    const size_t tg = (size_t)p->target[0] * p->target[1] * p->target[2];
    for (size_t i = 0; i < n; i++) {
        const size_t r = indices[i];
        if (r >= p->count)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pipeline: record %zu out of range (%zu records)", r, p->count);
        if (p->patches_at >= 0 && p->patches_at == p->step_count - 1) { /* nothing runs after patches: copy */
            to_chw(p->inputs + r * in, p->input[0], p->input[1], p->input[2], inputs + i * in);
            to_chw(p->targets + r * tg, p->target[0], p->target[1], p->target[2], targets + i * tg);
            continue;
        }
        pcl_image *input = NULL, *target = NULL;
        PCL_TRY(pcl_pipeline_record(p, r, seed, &input, &target));
        pcl_status status = PCL_OK;
        if (!same_shape(input, p->input) || !same_shape(target, p->target)) {
            size_t origin = p->patches_at >= 0 ? p->origin[r] : r;
            status = pcl_fail(PCL_ERR_FORMAT, "gives %dx%dx%d and %dx%dx%d (c x h x w) where record 0 gives "
                              "%dx%dx%d and %dx%dx%d (images of different sizes need a resize or random-crop)",
                              input->channels, input->height, input->width, target->channels, target->height,
                              target->width, p->input[0], p->input[1], p->input[2], p->target[0], p->target[1],
                              p->target[2]);
            status = fail_record(p, status, origin, NULL);
        } else {
            to_chw(input->data, p->input[0], p->input[1], p->input[2], inputs + i * in);
            to_chw(target->data, p->target[0], p->target[1], p->target[2], targets + i * tg);
        }
        pcl_image_destroy(input);
        pcl_image_destroy(target);
        PCL_TRY(status);
    }
    return PCL_OK;
}

pcl_status pcl_pipeline_source(pcl_pipeline *pipeline, pcl_data_source *out)
{
    if (!pipeline || !out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_pipeline_source: NULL argument");
    memset(out, 0, sizeof *out);
    out->count = pipeline->count;
    memcpy(out->input, pipeline->input, sizeof out->input);
    memcpy(out->target, pipeline->target, sizeof out->target);
    out->fill = fill;
    out->user = pipeline;
    return PCL_OK;
}
