/* The checkpoint store (include/perceptcl/checkpoint.h): named float32
 * tensors and string metadata in memory, in the order added, and lookups by
 * name with the expected shape. Device transfers are in checkpoint_device.c,
 * the file format in safetensors.c. */
#include "io/checkpoint_internal.h"

#include "runtime/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building ------------------------------------------------------------ */

/* jansson decides, as it will when safetensors.c writes the header. */
int pcl_safetensors_text_ok(const char *text)
{
    json_t *string = json_string(text); /* NULL unless valid UTF-8 */
    json_decref(string);
    return string != NULL;
}


pcl_status pcl_checkpoint_create(pcl_checkpoint **checkpoint)
{
    if (!checkpoint) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_create: checkpoint is NULL");
    *checkpoint = calloc(1, sizeof **checkpoint);
    if (*checkpoint) (*checkpoint)->origin = strdup("");
    if (!*checkpoint || !(*checkpoint)->origin) {
        free(*checkpoint);
        *checkpoint = NULL;
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_checkpoint_create: out of memory");
    }
    return PCL_OK;
}

void pcl_checkpoint_destroy(pcl_checkpoint *checkpoint)
{
    if (!checkpoint) return;
    for (int i = 0; i < checkpoint->count; i++) {
        free(checkpoint->entries[i].name);
        free(checkpoint->entries[i].data);
    }
    for (int i = 0; i < checkpoint->meta_count; i++) {
        free(checkpoint->keys[i]);
        free(checkpoint->values[i]);
    }
    free(checkpoint->entries);
    free(checkpoint->keys);
    free(checkpoint->values);
    free(checkpoint->origin);
    free(checkpoint);
}

pcl_status pcl_checkpoint_set_origin(pcl_checkpoint *checkpoint, const char *origin)
{
    char *copy = strdup(origin);
    if (!copy) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory", origin);
    free(checkpoint->origin);
    checkpoint->origin = copy;
    return PCL_OK;
}

static int find_entry(const pcl_checkpoint *checkpoint, const char *name)
{
    for (int i = 0; i < checkpoint->count; i++)
        if (!strcmp(checkpoint->entries[i].name, name)) return i;
    return -1;
}

/* Element count of a shape; 0 on overflow past what a file could hold. */
int pcl_checkpoint_shape_count(int ndim, const int64_t *shape, size_t *count)
{
    uint64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return 0;
        if (shape[d] != 0 && n > (UINT64_MAX / 4) / (uint64_t)shape[d]) return 0;
        n *= (uint64_t)shape[d];
    }
    if (n > SIZE_MAX / 4) return 0;
    *count = (size_t)n;
    return 1;
}

/* Takes ownership of data (count floats) on success. */
pcl_status pcl_checkpoint_add_owned(pcl_checkpoint *checkpoint, const char *name, int ndim, const int64_t *shape,
                                    float *data)
{
    if (checkpoint->count == checkpoint->capacity) {
        int capacity = checkpoint->capacity ? 2 * checkpoint->capacity : 32;
        pcl_checkpoint_tensor *grown = realloc(checkpoint->entries, (size_t)capacity * sizeof *grown);
        if (!grown) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "checkpoint: out of memory");
        checkpoint->entries = grown;
        checkpoint->capacity = capacity;
    }
    pcl_checkpoint_tensor *e = &checkpoint->entries[checkpoint->count];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    if (!e->name) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "checkpoint: out of memory");
    e->ndim = ndim;
    for (int d = 0; d < ndim; d++) e->shape[d] = shape[d];
    pcl_checkpoint_shape_count(ndim, shape, &e->count);
    e->data = data;
    checkpoint->count++;
    return PCL_OK;
}

pcl_status pcl_checkpoint_check_new_name(const pcl_checkpoint *checkpoint, const char *name)
{
    if (!name || !*name) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "checkpoint: empty tensor name");
    if (!strcmp(name, "__metadata__"))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "checkpoint: '__metadata__' is reserved, not a tensor name");
    if (find_entry(checkpoint, name) >= 0)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "checkpoint: tensor '%s' added twice", name);
    if (!pcl_safetensors_text_ok(name))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "checkpoint: tensor name '%s' is not UTF-8 (the header is JSON)",
                        name);
    return PCL_OK;
}

pcl_status pcl_checkpoint_add(pcl_checkpoint *checkpoint, const char *name, int ndim, const int64_t *shape,
                              const float *data)
{
    if (!checkpoint || (ndim > 0 && !shape))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_add: NULL argument");
    PCL_TRY(pcl_checkpoint_check_new_name(checkpoint, name));
    size_t count;
    if (ndim < 0 || ndim > PCL_CHECKPOINT_MAX_DIMS || !pcl_checkpoint_shape_count(ndim, shape, &count))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_add: '%s': bad shape (%d dimensions, at most %d, "
                        "extents >= 0)", name, ndim, PCL_CHECKPOINT_MAX_DIMS);
    if (count && !data) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_add: '%s': data is NULL", name);
    float *copy = malloc(count ? count * sizeof(float) : 1);
    if (!copy) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_checkpoint_add: '%s': out of memory", name);
    if (count) memcpy(copy, data, count * sizeof(float));
    pcl_status status = pcl_checkpoint_add_owned(checkpoint, name, ndim, shape, copy);
    if (status != PCL_OK) free(copy);
    return status;
}

/* ---- metadata ------------------------------------------------------------- */

pcl_status pcl_checkpoint_set_metadata(pcl_checkpoint *checkpoint, const char *key, const char *value)
{
    if (!checkpoint || !key || !value)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_set_metadata: NULL argument");
    if (!pcl_safetensors_text_ok(key) || !pcl_safetensors_text_ok(value))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_set_metadata: '%s': key or value is not UTF-8 "
                        "(the header is JSON)", key);
    char *v = strdup(value);
    if (!v) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "checkpoint: out of memory");
    for (int i = 0; i < checkpoint->meta_count; i++) {
        if (!strcmp(checkpoint->keys[i], key)) {
            free(checkpoint->values[i]);
            checkpoint->values[i] = v;
            return PCL_OK;
        }
    }
    if (checkpoint->meta_count == checkpoint->meta_capacity) {
        int capacity = checkpoint->meta_capacity ? 2 * checkpoint->meta_capacity : 16;
        char **keys = realloc(checkpoint->keys, (size_t)capacity * sizeof *keys);
        if (keys) checkpoint->keys = keys;
        char **values = keys ? realloc(checkpoint->values, (size_t)capacity * sizeof *values) : NULL;
        if (values) checkpoint->values = values;
        if (!keys || !values) {
            free(v);
            return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "checkpoint: out of memory");
        }
        checkpoint->meta_capacity = capacity;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "checkpoint: out of memory");
    }
    checkpoint->keys[checkpoint->meta_count] = k;
    checkpoint->values[checkpoint->meta_count] = v;
    checkpoint->meta_count++;
    return PCL_OK;
}

const char *pcl_checkpoint_metadata(const pcl_checkpoint *checkpoint, const char *key)
{
    if (!checkpoint || !key) return NULL;
    for (int i = 0; i < checkpoint->meta_count; i++)
        if (!strcmp(checkpoint->keys[i], key)) return checkpoint->values[i];
    return NULL;
}

static const char *origin_of(const pcl_checkpoint *checkpoint)
{
    return checkpoint->origin[0] ? checkpoint->origin : "checkpoint";
}

static pcl_status metadata_integer(const pcl_checkpoint *checkpoint, const char *key, int is_signed,
                                   int64_t *s, uint64_t *u)
{
    if (!checkpoint || !key) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "checkpoint metadata: NULL argument");
    const char *text = pcl_checkpoint_metadata(checkpoint, key);
    if (!text) return pcl_fail(PCL_ERR_FORMAT, "%s: metadata '%s' missing", origin_of(checkpoint), key);
    char *end;
    errno = 0;
    if (is_signed) *s = strtoll(text, &end, 10);
    else *u = strtoull(text, &end, 10);
    if (errno || end == text || *end || (!is_signed && text[0] == '-'))
        return pcl_fail(PCL_ERR_FORMAT, "%s: metadata '%s' is \"%s\", expected %s integer", origin_of(checkpoint),
                        key, text, is_signed ? "a 64-bit" : "an unsigned 64-bit");
    return PCL_OK;
}

pcl_status pcl_checkpoint_metadata_i64(const pcl_checkpoint *checkpoint, const char *key, int64_t *value)
{
    return metadata_integer(checkpoint, key, 1, value, NULL);
}

pcl_status pcl_checkpoint_metadata_u64(const pcl_checkpoint *checkpoint, const char *key, uint64_t *value)
{
    return metadata_integer(checkpoint, key, 0, NULL, value);
}

pcl_status pcl_checkpoint_set_metadata_i64(pcl_checkpoint *checkpoint, const char *key, int64_t value)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, value);
    return pcl_checkpoint_set_metadata(checkpoint, key, text);
}

pcl_status pcl_checkpoint_set_metadata_u64(pcl_checkpoint *checkpoint, const char *key, uint64_t value)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRIu64, value);
    return pcl_checkpoint_set_metadata(checkpoint, key, text);
}

int pcl_checkpoint_metadata_count(const pcl_checkpoint *checkpoint) { return checkpoint ? checkpoint->meta_count : 0; }

void pcl_checkpoint_metadata_entry(const pcl_checkpoint *checkpoint, int index, const char **key, const char **value)
{
    int ok = checkpoint && index >= 0 && index < checkpoint->meta_count;
    if (key) *key = ok ? checkpoint->keys[index] : NULL;
    if (value) *value = ok ? checkpoint->values[index] : NULL;
}

/* ---- lookup ------------------------------------------------------------- */

int pcl_checkpoint_count(const pcl_checkpoint *checkpoint) { return checkpoint ? checkpoint->count : 0; }

pcl_status pcl_checkpoint_entry(const pcl_checkpoint *checkpoint, int index, const char **name, int *ndim,
                                const int64_t **shape, const float **data)
{
    if (!checkpoint || index < 0 || index >= checkpoint->count)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_entry: index %d out of range [0, %d)", index,
                        checkpoint ? checkpoint->count : 0);
    const pcl_checkpoint_tensor *e = &checkpoint->entries[index];
    if (name) *name = e->name;
    if (ndim) *ndim = e->ndim;
    if (shape) *shape = e->shape;
    if (data) *data = e->data;
    return PCL_OK;
}

static void format_shape(char *text, size_t capacity, int ndim, const int64_t *shape)
{
    size_t used = (size_t)snprintf(text, capacity, "[");
    for (int d = 0; d < ndim && used < capacity; d++)
        used += (size_t)snprintf(text + used, capacity - used, "%s%" PRId64, d ? ", " : "", shape[d]);
    if (used < capacity) snprintf(text + used, capacity - used, "]");
}

pcl_status pcl_checkpoint_find(const pcl_checkpoint *checkpoint, const char *name, int ndim, const int64_t *shape,
                               const float **data)
{
    if (!checkpoint || !name || (ndim > 0 && !shape))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_find: NULL argument");
    int i = find_entry(checkpoint, name);
    if (i < 0) return pcl_fail(PCL_ERR_FORMAT, "%s: no tensor '%s'", origin_of(checkpoint), name);
    const pcl_checkpoint_tensor *e = &checkpoint->entries[i];
    int same = e->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = e->shape[d] == shape[d];
    if (!same) {
        char want[160], got[160];
        format_shape(want, sizeof want, ndim, shape);
        format_shape(got, sizeof got, e->ndim, e->shape);
        return pcl_fail(PCL_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s", origin_of(checkpoint), name, got,
                        want);
    }
    if (data) *data = e->data;
    return PCL_OK;
}

pcl_status pcl_checkpoint_find_finite(const pcl_checkpoint *checkpoint, const char *name, int ndim,
                                      const int64_t *shape, const float **data)
{
    const float *values;
    PCL_TRY(pcl_checkpoint_find(checkpoint, name, ndim, shape, &values));
    const pcl_checkpoint_tensor *e = &checkpoint->entries[find_entry(checkpoint, name)];
    for (size_t i = 0; i < e->count; i++)
        if (!isfinite(values[i]))
            return pcl_fail(PCL_ERR_FORMAT, "%s: tensor '%s' element %zu is %s: weights of a diverged run are not "
                            "loaded", origin_of(checkpoint), name, i, isnan(values[i]) ? "NaN" : "infinite");
    if (data) *data = values;
    return PCL_OK;
}
