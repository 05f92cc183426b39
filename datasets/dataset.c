/* The pcl_dataset object: record lookup, single and batched reads for both
 * binary record files and image folders. */
#include "dataset_internal.h"
#include "runtime/internal.h"
#include "perceptcl/color.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

pcl_status pcl_dataset_alloc(pcl_dataset_kind kind, pcl_dataset **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate a dataset");
    (*out)->kind = kind;
    return PCL_OK;
}

pcl_status pcl_dataset_set_classes(pcl_dataset *dataset, const char *const *names, int count)
{
    if (count <= 0) return PCL_OK;
    dataset->class_names = calloc((size_t)count, sizeof *dataset->class_names);
    if (!dataset->class_names) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate %d class names", count);
    dataset->class_count = count;
    for (int i = 0; i < count; i++) {
        dataset->class_names[i] = strdup(names[i]);
        if (!dataset->class_names[i]) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate a class name");
    }
    return PCL_OK;
}

pcl_status pcl_dataset_add_entry(pcl_dataset *dataset, const char *path, int label, int subject, int azimuth,
                                 int elevation)
{
    if (dataset->count == dataset->entry_capacity) {
        size_t grown = dataset->entry_capacity ? dataset->entry_capacity * 2 : 256;
        pcl_entry *bigger = realloc(dataset->entries, grown * sizeof *bigger);
        if (!bigger) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate %zu dataset entries", grown);
        dataset->entries = bigger;
        dataset->entry_capacity = grown;
    }
    pcl_entry *e = &dataset->entries[dataset->count];
    e->path = strdup(path);
    if (!e->path) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate a path");
    e->label = label;
    e->subject = subject;
    e->azimuth = azimuth;
    e->elevation = elevation;
    dataset->count++;
    return PCL_OK;
}

void pcl_dataset_destroy(pcl_dataset *dataset)
{
    if (!dataset) return;
    for (int i = 0; i < dataset->segment_count; i++) {
        if (dataset->segments[i].fd >= 0) close(dataset->segments[i].fd);
        free(dataset->segments[i].path);
    }
    free(dataset->segments);
    free(dataset->labels);
    for (size_t i = 0; dataset->kind == PCL_DATASET_FOLDER && i < dataset->count; i++) free(dataset->entries[i].path);
    free(dataset->entries);
    for (int i = 0; i < dataset->class_count; i++) free(dataset->class_names[i]);
    free(dataset->class_names);
    free(dataset);
}

size_t pcl_dataset_count(const pcl_dataset *dataset) { return dataset ? dataset->count : 0; }

void pcl_dataset_shape(const pcl_dataset *dataset, int *width, int *height, int *channels)
{
    if (width) *width = dataset ? dataset->width : 0;
    if (height) *height = dataset ? dataset->height : 0;
    if (channels) *channels = dataset ? dataset->channels : 0;
}

int pcl_dataset_class_count(const pcl_dataset *dataset) { return dataset ? dataset->class_count : 0; }

const char *pcl_dataset_class_name(const pcl_dataset *dataset, int label)
{
    if (!dataset || label < 0 || label >= dataset->class_count) return "";
    return dataset->class_names[label];
}

/* The segment holding record index (binary search on first). */
static const pcl_segment *find_segment(const pcl_dataset *dataset, size_t index)
{
    int lo = 0, hi = dataset->segment_count - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (dataset->segments[mid].first <= index) lo = mid;
        else hi = mid - 1;
    }
    return &dataset->segments[lo];
}

pcl_status pcl_dataset_record_info(const pcl_dataset *dataset, size_t index, pcl_record_info *info)
{
    if (!dataset || !info) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_record_info: NULL argument");
    if (index >= dataset->count)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_record_info: index %zu out of range (%zu records)",
                        index, dataset->count);
    memset(info, 0, sizeof *info);
    info->label = -1;
    info->subject = -1;
    if (dataset->kind == PCL_DATASET_FOLDER) {
        const pcl_entry *e = &dataset->entries[index];
        info->label = e->label;
        info->subject = e->subject;
        info->azimuth = e->azimuth;
        info->elevation = e->elevation;
        info->path = e->path;
        return PCL_OK;
    }
    const pcl_segment *s = find_segment(dataset, index);
    info->path = s->path;
    info->offset = (uint64_t)(index - s->first) * dataset->spec->record_size;
    if (dataset->labels) info->label = dataset->labels[index] - dataset->spec->label_min;
    return PCL_OK;
}

/* Reads the raw bytes of a binary record. */
static pcl_status read_raw(const pcl_dataset *dataset, size_t index, unsigned char *raw, const pcl_segment **seg,
                           uint64_t *offset)
{
    const pcl_segment *s = find_segment(dataset, index);
    size_t length = dataset->spec->record_size;
    uint64_t at = (uint64_t)(index - s->first) * length;
    *seg = s;
    *offset = at;
    if (s->fd < 0) {
        if (at + length > s->size)
            return pcl_fail(PCL_ERR_FORMAT, "%s: record %zu (offset %llu): expected %zu bytes, the data ends at %llu",
                            s->path, index - s->first, (unsigned long long)at, length, (unsigned long long)s->size);
        memcpy(raw, s->memory + at, length);
        return PCL_OK;
    }
    size_t done = 0;
    while (done < length) {
        ssize_t got = pread(s->fd, raw + done, length - done, (off_t)(at + done));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0)
            return pcl_fail(PCL_ERR_IO, "%s: record %zu (offset %llu): read failed: %s", s->path, index - s->first,
                            (unsigned long long)(at + done), strerror(errno));
        if (got == 0)
            return pcl_fail(PCL_ERR_FORMAT,
                            "%s: record %zu (offset %llu): expected %zu bytes, got %zu (file truncated after opening)",
                            s->path, index - s->first, (unsigned long long)at, length, done);
        done += (size_t)got;
    }
    return PCL_OK;
}

/* Decodes record index into dst (sample floats in layout); for folders
 * image_out, if not NULL, receives the conformed image instead. */
static pcl_status read_record(const pcl_dataset *dataset, size_t index, unsigned char *raw, pcl_layout layout,
                              float *dst, pcl_image **image_out, int *label)
{
    if (dataset->kind == PCL_DATASET_BINARY) {
        const pcl_segment *s;
        uint64_t offset;
        PCL_TRY(read_raw(dataset, index, raw, &s, &offset));
        int in_record = -1;
        PCL_TRY(pcl_binary_decode(dataset->spec, raw, s->path, index - s->first, offset, layout, dst, &in_record));
        *label = dataset->labels ? dataset->labels[index] - dataset->spec->label_min : in_record;
        return PCL_OK;
    }
    const pcl_entry *e = &dataset->entries[index];
    pcl_image *decoded = NULL, *conformed = NULL;
    PCL_TRY(pcl_image_read(e->path, &decoded));
    pcl_status status = pcl_dataset_conform(decoded, dataset->width, dataset->height, dataset->channels, e->path,
                                            &conformed);
    pcl_image_destroy(decoded);
    if (status != PCL_OK) return status;
    *label = e->label;
    if (image_out) {
        *image_out = conformed;
        return PCL_OK;
    }
    const int w = conformed->width, h = conformed->height, c = conformed->channels;
    if (layout == PCL_LAYOUT_HWC) {
        memcpy(dst, conformed->data, (size_t)w * h * c * sizeof *dst);
    } else {
        for (int ch = 0; ch < c; ch++)
            for (size_t p = 0; p < (size_t)w * h; p++) dst[(size_t)ch * w * h + p] = conformed->data[p * c + ch];
    }
    pcl_image_destroy(conformed);
    return PCL_OK;
}

pcl_status pcl_dataset_read_image(const pcl_dataset *dataset, size_t index, pcl_image **out, int *label)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_read_image: out is NULL");
    *out = NULL;
    if (!dataset) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_read_image: dataset is NULL");
    if (index >= dataset->count)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_read_image: index %zu out of range (%zu records)",
                        index, dataset->count);
    int got_label = -1;
    if (dataset->kind == PCL_DATASET_FOLDER) {
        PCL_TRY(read_record(dataset, index, NULL, PCL_LAYOUT_HWC, NULL, out, &got_label));
    } else {
        pcl_image *image = NULL;
        PCL_TRY(pcl_image_create(&image, dataset->width, dataset->height, dataset->channels));
        unsigned char *raw = malloc(dataset->spec->record_size);
        if (!raw) {
            pcl_image_destroy(image);
            return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate a record buffer");
        }
        pcl_status status = read_record(dataset, index, raw, PCL_LAYOUT_HWC, image->data, NULL, &got_label);
        free(raw);
        if (status != PCL_OK) {
            pcl_image_destroy(image);
            return status;
        }
        *out = image;
    }
    if (label) *label = got_label;
    return PCL_OK;
}

pcl_status pcl_dataset_read_batch(const pcl_dataset *dataset, const size_t *indices, size_t count, pcl_layout layout,
                                  float *dst, size_t capacity, int *labels)
{
    if (!dataset || (count && (!indices || !dst)))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_read_batch: NULL argument");
    if (layout != PCL_LAYOUT_HWC && layout != PCL_LAYOUT_CHW)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_read_batch: unknown layout %d", (int)layout);
    if (!dataset->width || !dataset->height || !dataset->channels)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                        "pcl_dataset_read_batch: the dataset's images differ in size or channels; read them one by "
                        "one with pcl_dataset_read_image");
    const size_t sample = (size_t)dataset->width * dataset->height * dataset->channels;
    if (count > capacity / sample)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_read_batch: %zu records need %zu floats, dst holds %zu",
                        count, count * sample, capacity);
    for (size_t i = 0; i < count; i++)
        if (indices[i] >= dataset->count)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                            "pcl_dataset_read_batch: indices[%zu] = %zu out of range (%zu records)", i, indices[i],
                            dataset->count);
    if (count == 0) return PCL_OK;
    /* Decode into staging buffers, copy out only when every record is good. */
    float *stage = malloc(count * sample * sizeof *stage);
    int *stage_labels = malloc(count * sizeof *stage_labels);
    unsigned char *raw = dataset->kind == PCL_DATASET_BINARY ? malloc(dataset->spec->record_size) : NULL;
    pcl_status status = PCL_OK;
    if (!stage || !stage_labels || (dataset->kind == PCL_DATASET_BINARY && !raw))
        status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_dataset_read_batch: cannot allocate a %zu-record batch", count);
    for (size_t i = 0; status == PCL_OK && i < count; i++)
        status = read_record(dataset, indices[i], raw, layout, stage + i * sample, NULL, &stage_labels[i]);
    if (status == PCL_OK) {
        memcpy(dst, stage, count * sample * sizeof *dst);
        if (labels) memcpy(labels, stage_labels, count * sizeof *labels);
    }
    free(stage);
    free(stage_labels);
    free(raw);
    return status;
}

pcl_status pcl_dataset_verify(const pcl_dataset *dataset, size_t *checked)
{
    if (checked) *checked = 0;
    if (!dataset) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_verify: dataset is NULL");
    for (size_t i = 0; i < dataset->count; i++) {
        pcl_image *image = NULL;
        PCL_TRY(pcl_dataset_read_image(dataset, i, &image, NULL));
        pcl_image_destroy(image);
        if (checked) *checked = i + 1;
    }
    return PCL_OK;
}

pcl_status pcl_dataset_conform(const pcl_image *image, int width, int height, int channels, const char *where,
                               pcl_image **out)
{
    *out = NULL;
    if ((width && image->width != width) || (height && image->height != height))
        return pcl_fail(PCL_ERR_FORMAT, "%s: expected a %dx%d image, got %dx%d", where, width, height, image->width,
                        image->height);
    const int in_c = image->channels;
    const int out_c = channels ? channels : in_c;
    if (!(image->max_value > 0.0f) || !isfinite(image->max_value))
        return pcl_fail(PCL_ERR_FORMAT, "%s: expected a positive white level, got %g", where, image->max_value);
    pcl_image *result = NULL;
    PCL_TRY(pcl_image_create(&result, image->width, image->height, out_c));
    const size_t pixels = (size_t)image->width * image->height;
    const double rescale = 255.0 / image->max_value; /* 1 for 8-bit files: exact */
    for (size_t p = 0; p < pixels; p++) {
        const float *src = image->data + p * in_c;
        float *dst = result->data + p * out_c;
        float v[4] = {0};
        for (int c = 0; c < in_c; c++) v[c] = image->max_value == 255.0f ? src[c] : (float)(src[c] * rescale);
        if (out_c == in_c) {
            memcpy(dst, v, (size_t)in_c * sizeof *v);
        } else if (out_c == 3) { /* gray (+alpha) replicated, or alpha dropped */
            const int colour = in_c >= 3;
            for (int c = 0; c < 3; c++) dst[c] = v[colour ? c : 0];
        } else if (out_c == 1) {
            if (in_c <= 2) {
                dst[0] = v[0];
            } else { /* PIL luma, on the rounded 8-bit values */
                unsigned char u[3];
                for (int c = 0; c < 3; c++) u[c] = v[c] <= 0.0f ? 0 : v[c] >= 255.0f ? 255 : (unsigned char)lrintf(v[c]);
                dst[0] = pcl_color_luma_u8(u[0], u[1], u[2]);
            }
        } else {
            pcl_image_destroy(result);
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s: cannot convert %d channels to %d", where, in_c, out_c);
        }
    }
    result->max_value = 255.0f;
    *out = result;
    return PCL_OK;
}
