/* Checkpoints in the safetensors format (see include/perceptcl/checkpoint.h):
 * an in-memory set of named float32 tensors and string metadata, its exact
 * serialisation, a strict reader with a small purpose-written JSON parser for
 * the header, and atomic writing. */
#include "perceptcl/checkpoint.h"

#include "io/file_atomic.h"
#include "runtime/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Headers larger than this are refused as corrupt (the reference reader's
 * limit is 100 MB). */
#define MAX_HEADER ((uint64_t)100 * 1000 * 1000)

typedef struct ckpt_entry {
    char *name;
    int ndim;
    int64_t shape[PCL_CHECKPOINT_MAX_DIMS];
    size_t count; /* product of shape */
    float *data;
} ckpt_entry;

struct pcl_checkpoint {
    int count, capacity;
    ckpt_entry *entries;
    int meta_count, meta_capacity;
    char **keys, **values;
    char *origin; /* the path it was read from ("" when built in memory) */
};

/* ---- building ------------------------------------------------------------ */

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

static int find_entry(const pcl_checkpoint *checkpoint, const char *name)
{
    for (int i = 0; i < checkpoint->count; i++)
        if (!strcmp(checkpoint->entries[i].name, name)) return i;
    return -1;
}

/* Element count of a shape; 0 on overflow past what a file could hold. */
static int shape_count(int ndim, const int64_t *shape, size_t *count)
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
static pcl_status add_owned(pcl_checkpoint *checkpoint, const char *name, int ndim, const int64_t *shape,
                            float *data)
{
    if (checkpoint->count == checkpoint->capacity) {
        int capacity = checkpoint->capacity ? 2 * checkpoint->capacity : 32;
        ckpt_entry *grown = realloc(checkpoint->entries, (size_t)capacity * sizeof *grown);
        if (!grown) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "checkpoint: out of memory");
        checkpoint->entries = grown;
        checkpoint->capacity = capacity;
    }
    ckpt_entry *e = &checkpoint->entries[checkpoint->count];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    if (!e->name) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "checkpoint: out of memory");
    e->ndim = ndim;
    for (int d = 0; d < ndim; d++) e->shape[d] = shape[d];
    shape_count(ndim, shape, &e->count);
    e->data = data;
    checkpoint->count++;
    return PCL_OK;
}

static pcl_status check_new_name(const pcl_checkpoint *checkpoint, const char *name)
{
    if (!name || !*name) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "checkpoint: empty tensor name");
    if (!strcmp(name, "__metadata__"))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "checkpoint: '__metadata__' is reserved, not a tensor name");
    if (find_entry(checkpoint, name) >= 0)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "checkpoint: tensor '%s' added twice", name);
    return PCL_OK;
}

pcl_status pcl_checkpoint_add(pcl_checkpoint *checkpoint, const char *name, int ndim, const int64_t *shape,
                              const float *data)
{
    if (!checkpoint || (ndim > 0 && !shape))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_add: NULL argument");
    PCL_TRY(check_new_name(checkpoint, name));
    size_t count;
    if (ndim < 0 || ndim > PCL_CHECKPOINT_MAX_DIMS || !shape_count(ndim, shape, &count))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_add: '%s': bad shape (%d dimensions, at most %d, "
                        "extents >= 0)", name, ndim, PCL_CHECKPOINT_MAX_DIMS);
    if (count && !data) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_add: '%s': data is NULL", name);
    float *copy = malloc(count ? count * sizeof(float) : 1);
    if (!copy) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_checkpoint_add: '%s': out of memory", name);
    if (count) memcpy(copy, data, count * sizeof(float));
    pcl_status status = add_owned(checkpoint, name, ndim, shape, copy);
    if (status != PCL_OK) free(copy);
    return status;
}

pcl_status pcl_checkpoint_add_tensor_shaped(pcl_checkpoint *checkpoint, const char *name, const pcl_tensor *tensor,
                                            int ndim, const int64_t *shape)
{
    if (!checkpoint || !tensor || (ndim > 0 && !shape))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_add_tensor: NULL argument");
    PCL_TRY(check_new_name(checkpoint, name));
    size_t count;
    if (ndim < 0 || ndim > PCL_CHECKPOINT_MAX_DIMS || !shape_count(ndim, shape, &count) ||
        count != pcl_tensor_count(tensor))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_add_tensor: '%s': the shape given (%d dimensions) "
                        "does not hold the tensor's %zu values", name, ndim, pcl_tensor_count(tensor));
    float *data = malloc(count * sizeof(float));
    if (!data) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_checkpoint_add_tensor: '%s': out of memory", name);
    pcl_status status = pcl_tensor_download(tensor, data);
    if (status == PCL_OK) status = add_owned(checkpoint, name, ndim, shape, data);
    if (status != PCL_OK) free(data);
    return status;
}

pcl_status pcl_checkpoint_add_tensor(pcl_checkpoint *checkpoint, const char *name, const pcl_tensor *tensor)
{
    if (!tensor) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_add_tensor: NULL argument");
    int64_t shape[4] = {tensor->n, tensor->c, tensor->h, tensor->w};
    return pcl_checkpoint_add_tensor_shaped(checkpoint, name, tensor, 4, shape);
}

/* ---- metadata ------------------------------------------------------------- */

pcl_status pcl_checkpoint_set_metadata(pcl_checkpoint *checkpoint, const char *key, const char *value)
{
    if (!checkpoint || !key || !value)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_set_metadata: NULL argument");
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
    const ckpt_entry *e = &checkpoint->entries[index];
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
    const ckpt_entry *e = &checkpoint->entries[i];
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

pcl_status pcl_checkpoint_load_tensor_shaped(const pcl_checkpoint *checkpoint, const char *name, pcl_tensor *tensor,
                                             int ndim, const int64_t *shape)
{
    if (!tensor) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_load_tensor: tensor is NULL");
    const float *data;
    size_t count;
    PCL_TRY(pcl_checkpoint_find(checkpoint, name, ndim, shape, &data));
    if (!shape_count(ndim, shape, &count) || count != pcl_tensor_count(tensor))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_load_tensor: '%s': the shape given (%d dimensions) "
                        "does not hold the tensor's %zu values", name, ndim, pcl_tensor_count(tensor));
    return pcl_tensor_upload(tensor, data);
}

pcl_status pcl_checkpoint_load_tensor(const pcl_checkpoint *checkpoint, const char *name, pcl_tensor *tensor)
{
    if (!tensor) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_load_tensor: tensor is NULL");
    int64_t shape[4] = {tensor->n, tensor->c, tensor->h, tensor->w};
    return pcl_checkpoint_load_tensor_shaped(checkpoint, name, tensor, 4, shape);
}

/* ---- writing ------------------------------------------------------------- */

typedef struct text_buf {
    char *text;
    size_t length, capacity;
    int failed;
} text_buf;

static void put(text_buf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->length + n + 1 > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 256;
        while (b->length + n + 1 > capacity) capacity *= 2;
        char *grown = realloc(b->text, capacity);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->text = grown;
        b->capacity = capacity;
    }
    memcpy(b->text + b->length, s, n);
    b->length += n;
    b->text[b->length] = '\0';
}

static void puts_(text_buf *b, const char *s) { put(b, s, strlen(s)); }

/* A JSON string literal: quotes, backslashes and control characters escaped;
 * other bytes (UTF-8) copied. */
static void put_json_string(text_buf *b, const char *s)
{
    puts_(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"') puts_(b, "\\\"");
        else if (*p == '\\') puts_(b, "\\\\");
        else if (*p == '\n') puts_(b, "\\n");
        else if (*p == '\t') puts_(b, "\\t");
        else if (*p == '\r') puts_(b, "\\r");
        else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            puts_(b, esc);
        } else put(b, (const char *)p, 1);
    }
    puts_(b, "\"");
}

pcl_status pcl_checkpoint_serialize(const pcl_checkpoint *checkpoint, unsigned char **bytes, size_t *length)
{
    if (!checkpoint || !bytes || !length)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_serialize: NULL argument");
    *bytes = NULL;
    *length = 0;
    text_buf h = {0};
    puts_(&h, "{");
    int first = 1;
    if (checkpoint->meta_count > 0) {
        puts_(&h, "\"__metadata__\":{");
        for (int i = 0; i < checkpoint->meta_count; i++) {
            if (i) puts_(&h, ",");
            put_json_string(&h, checkpoint->keys[i]);
            puts_(&h, ":");
            put_json_string(&h, checkpoint->values[i]);
        }
        puts_(&h, "}");
        first = 0;
    }
    uint64_t offset = 0;
    for (int i = 0; i < checkpoint->count; i++) {
        const ckpt_entry *e = &checkpoint->entries[i];
        char num[64];
        if (!first) puts_(&h, ",");
        first = 0;
        put_json_string(&h, e->name);
        puts_(&h, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < e->ndim; d++) {
            snprintf(num, sizeof num, "%s%" PRId64, d ? "," : "", e->shape[d]);
            puts_(&h, num);
        }
        uint64_t end = offset + 4 * (uint64_t)e->count;
        snprintf(num, sizeof num, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", offset, end);
        puts_(&h, num);
        offset = end;
    }
    puts_(&h, "}");
    /* Spaces to a multiple of 8, so the data starts 8-byte aligned in the file
     * (as the reference writer pads). */
    while (!h.failed && h.length % 8) puts_(&h, " ");
    if (h.failed || offset > SIZE_MAX - 8 - h.length) {
        free(h.text);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "checkpoint: out of memory building the header");
    }
    size_t total = 8 + h.length + (size_t)offset;
    unsigned char *out = malloc(total);
    if (!out) {
        free(h.text);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "checkpoint: out of memory (%zu bytes)", total);
    }
    for (int k = 0; k < 8; k++) out[k] = (unsigned char)((uint64_t)h.length >> (8 * k));
    memcpy(out + 8, h.text, h.length);
    free(h.text);
    unsigned char *p = out + 8 + h.length;
    for (int i = 0; i < checkpoint->count; i++) {
        const ckpt_entry *e = &checkpoint->entries[i];
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

/* ---- reading: a JSON parser for exactly the header's grammar ------------- */

typedef struct parser {
    const char *text; /* the header */
    size_t length, pos;
    const char *name; /* for messages */
    pcl_checkpoint *out;
} parser;

/* File offset of the parser's position (the header starts at byte 8). */
#define AT(ps) ((unsigned long long)(8 + (ps)->pos))

static pcl_status fail_at(const parser *ps, const char *expected)
{
    if (ps->pos >= ps->length)
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: header JSON: expected %s, got the end of the header",
                        ps->name, AT(ps), expected);
    unsigned char c = (unsigned char)ps->text[ps->pos];
    if (c >= 0x20 && c < 0x7f)
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: header JSON: expected %s, got '%c'", ps->name, AT(ps),
                        expected, c);
    return pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: header JSON: expected %s, got byte 0x%02x", ps->name, AT(ps),
                    expected, c);
}

static void skip_space(parser *ps)
{
    while (ps->pos < ps->length) {
        char c = ps->text[ps->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        ps->pos++;
    }
}

static int peek(parser *ps) { return ps->pos < ps->length ? (unsigned char)ps->text[ps->pos] : -1; }

static pcl_status expect(parser *ps, char c)
{
    skip_space(ps);
    if (peek(ps) != (unsigned char)c) {
        char what[8] = {'\'', c, '\'', 0};
        return fail_at(ps, what);
    }
    ps->pos++;
    return PCL_OK;
}

static void put_utf8(text_buf *b, uint32_t cp)
{
    char u[4];
    if (cp < 0x80) {
        u[0] = (char)cp;
        put(b, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        put(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        put(b, u, 3);
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        put(b, u, 4);
    }
}

static int hex4(const char *s, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return 0;
        *v = *v * 16 + (uint32_t)d;
    }
    return 1;
}

/* A string into a malloc'd NUL-terminated copy; NUL characters refused. */
static pcl_status parse_string(parser *ps, char **out)
{
    *out = NULL;
    PCL_TRY(expect(ps, '"'));
    text_buf b = {0};
    puts_(&b, "");
    for (;;) {
        if (ps->pos >= ps->length) {
            free(b.text);
            return fail_at(ps, "the closing '\"' of a string");
        }
        unsigned char c = (unsigned char)ps->text[ps->pos];
        if (c == '"') {
            ps->pos++;
            break;
        }
        if (c < 0x20) {
            free(b.text);
            return fail_at(ps, "a string character (control characters must be escaped)");
        }
        if (c != '\\') {
            put(&b, (const char *)&c, 1);
            ps->pos++;
            continue;
        }
        if (ps->pos + 1 >= ps->length) {
            free(b.text);
            ps->pos++;
            return fail_at(ps, "an escape character");
        }
        char e = ps->text[ps->pos + 1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            static const char map[] = "\"\\/\b\f\n\r\t";
            put(&b, &map[simple - "\"\\/bfnrt"], 1);
            ps->pos += 2;
            continue;
        }
        uint32_t cp;
        if (e != 'u' || ps->pos + 6 > ps->length || !hex4(ps->text + ps->pos + 2, &cp)) {
            free(b.text);
            ps->pos++;
            return fail_at(ps, "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
        }
        ps->pos += 6;
        if (cp >= 0xD800 && cp < 0xDC00) {
            uint32_t lo;
            if (ps->pos + 6 > ps->length || ps->text[ps->pos] != '\\' || ps->text[ps->pos + 1] != 'u' ||
                !hex4(ps->text + ps->pos + 2, &lo) || lo < 0xDC00 || lo >= 0xE000) {
                free(b.text);
                return fail_at(ps, "the low half of a \\u surrogate pair");
            }
            ps->pos += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp < 0xE000) {
            free(b.text);
            ps->pos -= 6;
            return fail_at(ps, "a \\u escape that is not a lone low surrogate");
        }
        if (cp == 0) {
            free(b.text);
            ps->pos -= 6;
            return fail_at(ps, "a string without NUL characters");
        }
        put_utf8(&b, cp);
    }
    if (b.failed) {
        free(b.text);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory parsing the header", ps->name);
    }
    *out = b.text;
    return PCL_OK;
}

/* A non-negative integer (no sign, fraction or exponent: the header's shapes
 * and offsets are unsigned). */
static pcl_status parse_uint(parser *ps, uint64_t *value)
{
    skip_space(ps);
    int c = peek(ps);
    if (c < '0' || c > '9') return fail_at(ps, "a non-negative integer");
    uint64_t v = 0;
    size_t start = ps->pos;
    while ((c = peek(ps)) >= '0' && c <= '9') {
        if (v > (UINT64_MAX - 9) / 10) return fail_at(ps, "an integer below 2^64");
        v = v * 10 + (uint64_t)(c - '0');
        ps->pos++;
    }
    if (ps->pos - start > 1 && ps->text[start] == '0') {
        ps->pos = start;
        return fail_at(ps, "an integer without leading zeros");
    }
    if (c == '.' || c == 'e' || c == 'E') return fail_at(ps, "an integer (no fraction or exponent)");
    *value = v;
    return PCL_OK;
}

/* After a member of a JSON array or object: skips spaces, then ',' gives 1
 * (another member follows) and the closing character gives 0 with *status
 * PCL_OK; anything else gives 0 with a format error naming expected. */
static int next_member(parser *ps, int close, const char *expected, pcl_status *status)
{
    skip_space(ps);
    *status = PCL_OK;
    if (peek(ps) == ',' || peek(ps) == close) return ps->text[ps->pos++] == ',';
    *status = fail_at(ps, expected);
    return 0;
}

/* [uint, ...] with at most max entries. */
static pcl_status parse_uint_array(parser *ps, uint64_t *values, int max, int *count, const char *what)
{
    PCL_TRY(expect(ps, '['));
    *count = 0;
    skip_space(ps);
    if (peek(ps) == ']') {
        ps->pos++;
        return PCL_OK;
    }
    for (;;) {
        if (*count == max) {
            char expected[96];
            snprintf(expected, sizeof expected, "']' (%s has at most %d entries)", what, max);
            return fail_at(ps, expected);
        }
        PCL_TRY(parse_uint(ps, &values[(*count)++]));
        pcl_status status;
        if (!next_member(ps, ']', "',' or ']'", &status)) return status;
    }
}

/* "__metadata__": {"key": "value", ...} (values must be strings, as the format says). */
static pcl_status parse_metadata(parser *ps)
{
    PCL_TRY(expect(ps, '{'));
    skip_space(ps);
    if (peek(ps) == '}') {
        ps->pos++;
        return PCL_OK;
    }
    for (;;) {
        char *key, *value;
        PCL_TRY(parse_string(ps, &key));
        pcl_status status = expect(ps, ':');
        if (status == PCL_OK) {
            skip_space(ps);
            if (peek(ps) != '"') status = fail_at(ps, "a string value in __metadata__");
        }
        if (status != PCL_OK) {
            free(key);
            return status;
        }
        status = parse_string(ps, &value);
        if (status == PCL_OK && pcl_checkpoint_metadata(ps->out, key)) {
            status = pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: header JSON: metadata key '%s' appears twice",
                              ps->name, AT(ps), key);
        }
        if (status == PCL_OK) status = pcl_checkpoint_set_metadata(ps->out, key, value);
        free(key);
        free(value);
        PCL_TRY(status);
        if (!next_member(ps, '}', "',' or '}' in __metadata__", &status)) return status;
    }
}

typedef struct parsed_tensor {
    char *name;
    size_t header_pos; /* of its name, for messages */
    int ndim;
    int64_t shape[PCL_CHECKPOINT_MAX_DIMS];
    uint64_t begin, end;
} parsed_tensor;

/* {"dtype": "F32", "shape": [...], "data_offsets": [b, e]} in any order. */
static pcl_status parse_tensor_info(parser *ps, parsed_tensor *t)
{
    size_t open = ps->pos;
    PCL_TRY(expect(ps, '{'));
    int have_dtype = 0, have_shape = 0, have_offsets = 0;
    skip_space(ps);
    if (peek(ps) == '}') return fail_at(ps, "\"dtype\", \"shape\" and \"data_offsets\"");
    for (;;) {
        char *key;
        size_t key_pos = (skip_space(ps), ps->pos);
        PCL_TRY(parse_string(ps, &key));
        pcl_status status = expect(ps, ':');
        if (status == PCL_OK && !strcmp(key, "dtype")) {
            char *dtype = NULL;
            skip_space(ps);
            size_t at = ps->pos;
            status = parse_string(ps, &dtype);
            if (status == PCL_OK && strcmp(dtype, "F32") != 0) {
                ps->pos = at;
                status = pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: tensor '%s': dtype \"%s\", expected \"F32\" "
                                  "(perceptcl reads float32 checkpoints only)", ps->name, AT(ps), t->name, dtype);
            }
            free(dtype);
            have_dtype++;
        } else if (status == PCL_OK && !strcmp(key, "shape")) {
            uint64_t dims[PCL_CHECKPOINT_MAX_DIMS];
            status = parse_uint_array(ps, dims, PCL_CHECKPOINT_MAX_DIMS, &t->ndim, "shape");
            for (int d = 0; status == PCL_OK && d < t->ndim; d++) {
                if (dims[d] > (uint64_t)INT64_MAX) status = fail_at(ps, "shape extents below 2^63");
                t->shape[d] = (int64_t)dims[d];
            }
            have_shape++;
        } else if (status == PCL_OK && !strcmp(key, "data_offsets")) {
            uint64_t offsets[2];
            int n = 0;
            size_t at = (skip_space(ps), ps->pos);
            status = parse_uint_array(ps, offsets, 2, &n, "data_offsets");
            if (status == PCL_OK && n != 2) {
                ps->pos = at;
                status = fail_at(ps, "data_offsets of two integers [begin, end]");
            }
            t->begin = offsets[0];
            t->end = offsets[1];
            have_offsets++;
        } else if (status == PCL_OK) {
            ps->pos = key_pos;
            status = pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: tensor '%s': unknown key \"%s\", expected \"dtype\", "
                              "\"shape\" or \"data_offsets\"", ps->name, AT(ps), t->name, key);
        }
        free(key);
        PCL_TRY(status);
        if (have_dtype > 1 || have_shape > 1 || have_offsets > 1) {
            ps->pos = key_pos;
            return fail_at(ps, "each of \"dtype\", \"shape\", \"data_offsets\" once");
        }
        pcl_status separator;
        if (!next_member(ps, '}', "',' or '}' in a tensor's entry", &separator)) {
            PCL_TRY(separator);
            break;
        }
    }
    if (!have_dtype || !have_shape || !have_offsets) {
        ps->pos = open;
        return pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: tensor '%s': missing \"%s\"", ps->name, AT(ps), t->name,
                        !have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets");
    }
    return PCL_OK;
}

static int by_begin(const void *a, const void *b)
{
    const parsed_tensor *x = *(const parsed_tensor *const *)a, *y = *(const parsed_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static void free_parsed(parsed_tensor *tensors, int count)
{
    for (int i = 0; i < count; i++) free(tensors[i].name);
    free(tensors);
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

    pcl_checkpoint *out;
    PCL_TRY(pcl_checkpoint_create(&out));
    free(out->origin);
    out->origin = strdup(name);
    if (!out->origin) {
        pcl_checkpoint_destroy(out);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
    }
    parser ps = {(const char *)file + 8, (size_t)n, 0, name, out};
    parsed_tensor *tensors = NULL;
    int count = 0, capacity = 0, seen_metadata = 0;
    pcl_status status = expect(&ps, '{');
    skip_space(&ps);
    int empty = status == PCL_OK && peek(&ps) == '}';
    if (empty) ps.pos++;
    while (status == PCL_OK && !empty) {
        skip_space(&ps);
        size_t key_pos = ps.pos;
        char *key;
        status = parse_string(&ps, &key);
        if (status != PCL_OK) break;
        status = expect(&ps, ':');
        if (status == PCL_OK && !strcmp(key, "__metadata__")) {
            if (seen_metadata++) {
                ps.pos = key_pos;
                status = fail_at(&ps, "one \"__metadata__\" entry");
            } else status = parse_metadata(&ps);
            free(key);
        } else if (status == PCL_OK) {
            for (int i = 0; i < count && status == PCL_OK; i++) {
                if (!strcmp(tensors[i].name, key)) {
                    ps.pos = key_pos;
                    status = pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: tensor name '%s' appears twice", name,
                                      AT(&ps), key);
                }
            }
            if (status == PCL_OK && count == capacity) {
                capacity = capacity ? 2 * capacity : 32;
                parsed_tensor *grown = realloc(tensors, (size_t)capacity * sizeof *grown);
                if (!grown) status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
                else tensors = grown;
            }
            if (status != PCL_OK) {
                free(key);
                break;
            }
            parsed_tensor *t = &tensors[count++];
            memset(t, 0, sizeof *t);
            t->name = key;
            t->header_pos = key_pos;
            status = parse_tensor_info(&ps, t);
        } else {
            free(key);
        }
        if (status != PCL_OK || !next_member(&ps, '}', "',' or '}' after an entry of the header", &status)) break;
    }
    if (status == PCL_OK) {
        skip_space(&ps); /* trailing padding */
        if (ps.pos != ps.length) status = fail_at(&ps, "only spaces after the header's JSON object");
    }

    /* Data: the offsets, sorted, must tile [0, data size) exactly. */
    uint64_t data_size = length - 8 - n;
    const unsigned char *data = file + 8 + n;
    parsed_tensor **order = NULL;
    if (status == PCL_OK && count > 0) {
        order = malloc((size_t)count * sizeof *order);
        if (!order) status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
    }
    for (int i = 0; status == PCL_OK && i < count; i++) {
        parsed_tensor *t = &tensors[i];
        order[i] = t;
        size_t elements;
        unsigned long long at = 8ULL + t->header_pos;
        if (!shape_count(t->ndim, t->shape, &elements))
            status = pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: tensor '%s': shape too large", name, at, t->name);
        else if (t->end < t->begin)
            status = pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: tensor '%s': data_offsets [%llu, %llu] end before "
                              "they begin", name, at, t->name, (unsigned long long)t->begin,
                              (unsigned long long)t->end);
        else if (t->end - t->begin != 4 * (uint64_t)elements)
            status = pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: tensor '%s': data_offsets [%llu, %llu] hold %llu "
                              "bytes, expected %llu (4 x %zu elements of its shape)", name, at, t->name,
                              (unsigned long long)t->begin, (unsigned long long)t->end,
                              (unsigned long long)(t->end - t->begin), 4ULL * elements, elements);
        else if (t->end > data_size)
            status = pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: tensor '%s': data_offsets [%llu, %llu] go beyond "
                              "the data (%llu bytes from offset %llu to the end of the file): truncated?", name, at,
                              t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                              (unsigned long long)data_size, 8ULL + n);
    }
    if (status == PCL_OK && count > 0) {
        qsort(order, (size_t)count, sizeof *order, by_begin);
        uint64_t expected = 0;
        for (int i = 0; status == PCL_OK && i < count; i++) {
            const parsed_tensor *t = order[i];
            if (t->begin != expected)
                status = pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: tensor '%s': data begins at %llu, expected %llu "
                                  "(%s)", name, 8ULL + n + t->begin, t->name, (unsigned long long)t->begin,
                                  (unsigned long long)expected,
                                  t->begin < expected ? "overlaps the tensor before it" : "a gap before it");
            expected = t->end;
        }
        if (status == PCL_OK && expected != data_size)
            status = pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: %llu bytes after the last tensor's data, expected "
                              "the end of the file", name, 8ULL + n + expected,
                              (unsigned long long)(data_size - expected));
    } else if (status == PCL_OK && data_size != 0) {
        status = pcl_fail(PCL_ERR_FORMAT, "%s: offset %llu: %llu bytes of data but no tensors", name, 8ULL + n,
                          (unsigned long long)data_size);
    }
    /* Tensors in file order (by data offset), so a re-write gives the same bytes. */
    for (int i = 0; status == PCL_OK && i < count; i++) {
        const parsed_tensor *t = order[i];
        size_t elements = (size_t)((t->end - t->begin) / 4);
        float *values = malloc(elements ? elements * sizeof(float) : 1);
        if (!values) {
            status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory for tensor '%s'", name, t->name);
            break;
        }
        const unsigned char *p = data + t->begin;
        for (size_t j = 0; j < elements; j++, p += 4) {
            uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            memcpy(&values[j], &bits, 4);
        }
        status = add_owned(out, t->name, t->ndim, t->shape, values);
        if (status != PCL_OK) free(values);
    }
    free(order);
    free_parsed(tensors, count);
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
