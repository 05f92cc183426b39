/* The safetensors file format (include/perceptcl/checkpoint.h): 8-byte
 * header length, a JSON header, packed little-endian float32 data. The
 * header is untrusted input, so jansson parses it (duplicate keys refused,
 * nesting bounded by its parser) and this file checks what the JSON means:
 * the header's schema, dtypes, shapes, and data offsets that tile the data
 * exactly. Writing builds the header with jansson and replaces the file
 * atomically (io/file_atomic.c). */
#include "io/checkpoint_internal.h"

#include "io/file_atomic.h"
#include "runtime/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Headers larger than this are refused as corrupt (the reference reader's
 * limit is 100 MB). */
#define MAX_HEADER ((uint64_t)100 * 1000 * 1000)

/* ---- writing ------------------------------------------------------------- */

static json_t *shape_array(int ndim, const int64_t *shape)
{
    json_t *array = json_array();
    for (int d = 0; array && d < ndim; d++) {
        if (json_array_append_new(array, json_integer(shape[d])) != 0) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

/* {"__metadata__": {...}, "name": {"dtype", "shape", "data_offsets"}, ...}
 * in the store's order; the data's size in *data_bytes. */
static json_t *header_object(const pcl_checkpoint *checkpoint, uint64_t *data_bytes)
{
    json_t *root = json_object();
    int failed = !root;
    if (!failed && checkpoint->meta_count > 0) {
        json_t *metadata = json_object();
        failed = json_object_set_new(root, "__metadata__", metadata) != 0;
        for (int i = 0; !failed && i < checkpoint->meta_count; i++)
            failed = json_object_set_new(metadata, checkpoint->keys[i], json_string(checkpoint->values[i])) != 0;
    }
    uint64_t offset = 0;
    for (int i = 0; !failed && i < checkpoint->count; i++) {
        const pcl_checkpoint_tensor *e = &checkpoint->entries[i];
        uint64_t end = offset + 4 * (uint64_t)e->count;
        json_t *offsets = json_pack("[II]", (json_int_t)offset, (json_int_t)end);
        json_t *info = json_pack("{s:s, s:o, s:o}", "dtype", "F32", "shape", shape_array(e->ndim, e->shape),
                                 "data_offsets", offsets);
        failed = json_object_set_new(root, e->name, info) != 0;
        offset = end;
    }
    if (failed) {
        json_decref(root);
        return NULL;
    }
    *data_bytes = offset;
    return root;
}

pcl_status pcl_checkpoint_serialize(const pcl_checkpoint *checkpoint, unsigned char **bytes, size_t *length)
{
    if (!checkpoint || !bytes || !length)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_serialize: NULL argument");
    *bytes = NULL;
    *length = 0;
    uint64_t data_bytes = 0;
    json_t *root = header_object(checkpoint, &data_bytes);
    /* Compact and in insertion order: the reference writer's bytes. */
    char *header = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!header) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "checkpoint: out of memory building the header");
    size_t text = strlen(header);
    /* Spaces to a multiple of 8, so the data starts 8-byte aligned in the file
     * (as the reference writer pads). */
    size_t padded = (text + 7) / 8 * 8;
    if (data_bytes > SIZE_MAX - 8 - padded) {
        free(header);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "checkpoint: %llu bytes of data do not fit in memory",
                        (unsigned long long)data_bytes);
    }
    size_t total = 8 + padded + (size_t)data_bytes;
    unsigned char *out = malloc(total);
    if (!out) {
        free(header);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "checkpoint: out of memory (%zu bytes)", total);
    }
    for (int k = 0; k < 8; k++) out[k] = (unsigned char)((uint64_t)padded >> (8 * k));
    memcpy(out + 8, header, text);
    memset(out + 8 + text, ' ', padded - text);
    free(header);
    unsigned char *p = out + 8 + padded;
    for (int i = 0; i < checkpoint->count; i++) {
        const pcl_checkpoint_tensor *e = &checkpoint->entries[i];
        for (size_t j = 0; j < e->count; j++) {
            uint32_t bits;
            memcpy(&bits, &e->data[j], 4);
            for (int k = 0; k < 4; k++) *p++ = (unsigned char)(bits >> (8 * k)); /* little-endian on any host */
        }
    }
    *bytes = out;
    *length = total;
    return PCL_OK;
}

pcl_status pcl_checkpoint_write(const pcl_checkpoint *checkpoint, const char *path)
{
    if (!path) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_write: path is NULL");
    unsigned char *bytes;
    size_t length;
    PCL_TRY(pcl_checkpoint_serialize(checkpoint, &bytes, &length));
    pcl_status status = pcl_file_write_atomic(path, bytes, length);
    free(bytes);
    return status;
}

/* ---- reading ------------------------------------------------------------- */

/* jansson's message for a header it refused, at the file offset of the byte
 * where it stopped, with what the error means for a checkpoint. */
static pcl_status json_failure(const char *name, const json_error_t *error)
{
    const char *hint;
    switch (json_error_code(error)) {
    case json_error_duplicate_key: hint = "a name appears twice"; break;
    case json_error_end_of_input_expected: hint = "expected only spaces after the header's JSON object"; break;
    case json_error_premature_end_of_input: hint = "the header ends inside its JSON: truncated?"; break;
    case json_error_stack_overflow: hint = "nesting deeper than a header can be"; break;
    case json_error_numeric_overflow: hint = "an integer beyond 2^63 - 1"; break;
    case json_error_out_of_memory: return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory parsing the header", name);
    default: hint = "not valid JSON"; break;
    }
    return pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: header JSON: %s (%s)", name,
                    8ULL + (unsigned long long)error->position, error->text, hint);
}

typedef struct parsed_tensor {
    const char *name; /* owned by the JSON tree */
    int index;        /* in the header, to order empty tensors that share an offset */
    int ndim;
    int64_t shape[PCL_CHECKPOINT_MAX_DIMS];
    uint64_t begin, end;
} parsed_tensor;

/* A message about what the header means; it names the header's start
 * (offset 8), as the JSON tree keeps no positions. */
static pcl_status header_fail(const char *name, const char *format, ...) __attribute__((format(printf, 2, 3)));
static pcl_status header_fail(const char *name, const char *format, ...)
{
    char what[512];
    va_list args;
    va_start(args, format);
    vsnprintf(what, sizeof what, format, args);
    va_end(args);
    return pcl_fail(PCL_ERR_FORMAT, "%s: offset 8: header: %s", name, what);
}

/* [uint, ...] with at most max entries, each below 2^63. */
static pcl_status uint_array(const char *name, const char *tensor, const char *key, const json_t *array,
                             uint64_t *values, int max, int *count)
{
    if (!json_is_array(array))
        return header_fail(name, "tensor '%s': \"%s\" is not an array of integers", tensor, key);
    if (json_array_size(array) > (size_t)max)
        return header_fail(name, "tensor '%s': \"%s\" has %zu entries, expected at most %d", tensor, key,
                           json_array_size(array), max);
    *count = (int)json_array_size(array);
    for (int i = 0; i < *count; i++) {
        const json_t *v = json_array_get(array, (size_t)i);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return header_fail(name, "tensor '%s': \"%s\" entry %d: expected a non-negative integer (no fraction "
                               "or exponent)", tensor, key, i);
        values[i] = (uint64_t)json_integer_value(v);
    }
    return PCL_OK;
}

/* {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}, nothing else. */
static pcl_status tensor_info(const char *name, const char *tensor, const json_t *info, parsed_tensor *t)
{
    if (!json_is_object(info))
        return header_fail(name, "tensor '%s': expected an object with \"dtype\", \"shape\" and \"data_offsets\"",
                           tensor);
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)info, key, value) {
        if (strcmp(key, "dtype") && strcmp(key, "shape") && strcmp(key, "data_offsets"))
            return header_fail(name, "tensor '%s': unknown key \"%s\", expected \"dtype\", \"shape\" or "
                               "\"data_offsets\"", tensor, key);
    }
    const json_t *dtype = json_object_get(info, "dtype"), *shape = json_object_get(info, "shape"),
                 *offsets = json_object_get(info, "data_offsets");
    if (!dtype || !shape || !offsets)
        return header_fail(name, "tensor '%s': missing \"%s\"", tensor,
                           !dtype ? "dtype" : !shape ? "shape" : "data_offsets");
    if (!json_is_string(dtype))
        return header_fail(name, "tensor '%s': dtype is not a string, expected \"F32\"", tensor);
    if (strcmp(json_string_value(dtype), "F32") != 0)
        return header_fail(name, "tensor '%s': dtype \"%s\", expected \"F32\" (perceptcl reads float32 checkpoints "
                           "only)", tensor, json_string_value(dtype));
    uint64_t dims[PCL_CHECKPOINT_MAX_DIMS], ends[2];
    int n;
    PCL_TRY(uint_array(name, tensor, "shape", shape, dims, PCL_CHECKPOINT_MAX_DIMS, &t->ndim));
    for (int d = 0; d < t->ndim; d++) t->shape[d] = (int64_t)dims[d];
    PCL_TRY(uint_array(name, tensor, "data_offsets", offsets, ends, 2, &n));
    if (n != 2) return header_fail(name, "tensor '%s': expected data_offsets of two integers [begin, end]", tensor);
    t->name = tensor;
    t->begin = ends[0];
    t->end = ends[1];
    return PCL_OK;
}

/* The header's entries: metadata into out, tensors into *tensors. */
static pcl_status read_header(const char *name, const json_t *root, pcl_checkpoint *out, parsed_tensor **tensors,
                              int *count)
{
    *tensors = NULL;
    *count = 0;
    size_t entries = json_object_size(root);
    if (entries == 0) return PCL_OK;
    *tensors = malloc(entries * sizeof **tensors);
    if (!*tensors) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)root, key, value) {
        if (strcmp(key, "__metadata__") != 0) {
            if (!key[0]) return header_fail(name, "a tensor with an empty name (names are what loaders look up)");
            parsed_tensor *t = &(*tensors)[*count];
            t->index = *count;
            PCL_TRY(tensor_info(name, key, value, t));
            (*count)++;
            continue;
        }
        /* Values must be strings, as the format says. */
        if (!json_is_object(value)) return header_fail(name, "\"__metadata__\" is not an object");
        const char *meta_key;
        const json_t *meta_value;
        json_object_foreach((json_t *)value, meta_key, meta_value) {
            if (!json_is_string(meta_value))
                return header_fail(name, "metadata '%s': expected a string value in __metadata__", meta_key);
            PCL_TRY(pcl_checkpoint_set_metadata(out, meta_key, json_string_value(meta_value)));
        }
    }
    return PCL_OK;
}

static int by_begin(const void *a, const void *b)
{
    const parsed_tensor *x = *(const parsed_tensor *const *)a, *y = *(const parsed_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->index - y->index;
}

/* Each tensor's offsets hold its shape and lie within the data; sorted by
 * offset (into order), they tile [0, data_size) exactly: no overlap, no gap. */
static pcl_status check_offsets(const char *name, parsed_tensor *tensors, int count, parsed_tensor **order,
                                uint64_t header_end, uint64_t data_size)
{
    for (int i = 0; i < count; i++) {
        parsed_tensor *t = &tensors[i];
        order[i] = t;
        size_t elements;
        unsigned long long at = header_end + t->begin; /* where its data would begin */
        if (!pcl_checkpoint_shape_count(t->ndim, t->shape, &elements))
            return header_fail(name, "tensor '%s': shape too large", t->name);
        if (t->end < t->begin)
            return pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: tensor '%s': data_offsets [%llu, %llu] end before "
                            "they begin", name, at, t->name, (unsigned long long)t->begin, (unsigned long long)t->end);
        if (t->end - t->begin != 4 * (uint64_t)elements)
            return pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: tensor '%s': data_offsets [%llu, %llu] hold %llu "
                            "bytes, expected %llu (4 x %zu elements of its shape)", name, at, t->name,
                            (unsigned long long)t->begin, (unsigned long long)t->end,
                            (unsigned long long)(t->end - t->begin), 4ULL * elements, elements);
        if (t->end > data_size)
            return pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: tensor '%s': data_offsets [%llu, %llu] go beyond "
                            "the data (%llu bytes from offset %llu to the end of the file): truncated?", name,
                            (unsigned long long)header_end, t->name, (unsigned long long)t->begin,
                            (unsigned long long)t->end, (unsigned long long)data_size,
                            (unsigned long long)header_end);
    }
    if (count == 0) {
        if (data_size == 0) return PCL_OK;
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: %llu bytes of data but no tensors", name,
                        (unsigned long long)header_end, (unsigned long long)data_size);
    }
    qsort(order, (size_t)count, sizeof *order, by_begin);
    uint64_t expected = 0;
    for (int i = 0; i < count; i++) {
        const parsed_tensor *t = order[i];
        if (t->begin != expected)
            return pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: tensor '%s': data begins at %llu, expected %llu (%s)",
                            name, (unsigned long long)(header_end + t->begin), t->name, (unsigned long long)t->begin,
                            (unsigned long long)expected,
                            t->begin < expected ? "overlaps the tensor before it" : "a gap before it");
        expected = t->end;
    }
    if (expected != data_size)
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: %llu bytes after the last tensor's data, expected the end "
                        "of the file", name, (unsigned long long)(header_end + expected),
                        (unsigned long long)(data_size - expected));
    return PCL_OK;
}

/* The tensors' values, in file order (by data offset), so a re-write gives
 * the same bytes. */
static pcl_status copy_tensors(const char *name, parsed_tensor *const *order, int count, const unsigned char *data,
                               pcl_checkpoint *out)
{
    for (int i = 0; i < count; i++) {
        const parsed_tensor *t = order[i];
        size_t elements = (size_t)((t->end - t->begin) / 4);
        float *values = malloc(elements ? elements * sizeof(float) : 1);
        if (!values) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory for tensor '%s'", name, t->name);
        const unsigned char *p = data + t->begin;
        for (size_t j = 0; j < elements; j++, p += 4) {
            uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            memcpy(&values[j], &bits, 4);
        }
        /* Names are unique (duplicates refused by the parser) and UTF-8. */
        pcl_status status = pcl_checkpoint_add_owned(out, t->name, t->ndim, t->shape, values);
        if (status != PCL_OK) {
            free(values);
            return status;
        }
    }
    return PCL_OK;
}

pcl_status pcl_checkpoint_parse(const void *bytes, size_t length, const char *name, pcl_checkpoint **checkpoint)
{
    if (!checkpoint) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_parse: checkpoint is NULL");
    *checkpoint = NULL;
    if (!bytes && length) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_parse: bytes is NULL");
    if (!name) name = "<memory>";
    const unsigned char *file = bytes;
    if (length < 8)
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset 0: expected an 8-byte header length, the file has %zu bytes",
                        name, length);
    uint64_t n = 0;
    for (int k = 7; k >= 0; k--) n = (n << 8) | file[k];
    if (n > length - 8)
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset 0: header length %llu goes beyond the end of the file (%zu bytes "
                        "after the length field): truncated or not safetensors", name, (unsigned long long)n,
                        length - 8);
    if (n > MAX_HEADER)
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset 0: header length %llu, expected at most %llu", name,
                        (unsigned long long)n, (unsigned long long)MAX_HEADER);
    if (n < 2 || file[8] != '{')
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset 8: expected the header's JSON object ('{'), got %s", name,
                        n < 1 ? "an empty header" : "another byte");

    json_error_t error;
    json_t *root = json_loadb((const char *)file + 8, (size_t)n, JSON_REJECT_DUPLICATES, &error);
    if (!root) return json_failure(name, &error);
    pcl_checkpoint *out = NULL;
    parsed_tensor *tensors = NULL, **order = NULL;
    int count = 0;
    pcl_status status = pcl_checkpoint_create(&out);
    if (status == PCL_OK) status = pcl_checkpoint_set_origin(out, name);
    if (status == PCL_OK) status = read_header(name, root, out, &tensors, &count);
    if (status == PCL_OK && count > 0 && !(order = malloc((size_t)count * sizeof *order)))
        status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
    if (status == PCL_OK) status = check_offsets(name, tensors, count, order, 8 + n, length - 8 - n);
    if (status == PCL_OK) status = copy_tensors(name, order, count, file + 8 + n, out);
    free(order);
    free(tensors);
    json_decref(root); /* after the last use of the names it owns */
    if (status != PCL_OK) {
        pcl_checkpoint_destroy(out);
        return status;
    }
    *checkpoint = out;
    return PCL_OK;
}

pcl_status pcl_checkpoint_read(const char *path, pcl_checkpoint **checkpoint)
{
    if (!checkpoint) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_read: checkpoint is NULL");
    *checkpoint = NULL;
    if (!path) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_read: path is NULL");
    FILE *file = fopen(path, "rb");
    if (!file) return pcl_fail(PCL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char *bytes = NULL;
    size_t length = 0, capacity = 0;
    for (;;) {
        if (length == capacity) {
            capacity = capacity ? 2 * capacity : 1 << 16;
            unsigned char *grown = realloc(bytes, capacity);
            if (!grown) {
                free(bytes);
                fclose(file);
                return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory reading it", path);
            }
            bytes = grown;
        }
        size_t got = fread(bytes + length, 1, capacity - length, file);
        length += got;
        if (got == 0) break;
    }
    int failed = ferror(file);
    fclose(file);
    if (failed) {
        free(bytes);
        return pcl_fail(PCL_ERR_IO, "%s: read failed after %zu bytes", path, length);
    }
    pcl_status status = pcl_checkpoint_parse(bytes, length, path, checkpoint);
    free(bytes);
    return status;
}
