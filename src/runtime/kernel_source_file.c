/* Reads a kernel source file and resolves its `#include "x.cl"` lines,
 * inserting #line markers so that compiler messages name the real file and
 * line. Each file is included once per resolution (like #pragma once). Used by
 * the build-time embedder and by PERCEPTCL_KERNEL_DIR loading. */
#include "runtime/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INCLUDE_DEPTH 16
#define MAX_INCLUDED_FILES 64

typedef struct text_builder {
    char *data;
    size_t length, capacity;
    const char *included[MAX_INCLUDED_FILES];
    int included_count;
} text_builder;

static pcl_status append(text_builder *b, const char *text, size_t length)
{
    if (b->length + length + 1 > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 4096;
        while (capacity < b->length + length + 1) capacity *= 2;
        char *grown = realloc(b->data, capacity);
        if (!grown) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "out of host memory reading kernel sources");
        b->data = grown;
        b->capacity = capacity;
    }
    memcpy(b->data + b->length, text, length);
    b->length += length;
    b->data[b->length] = '\0';
    return PCL_OK;
}

static pcl_status append_line_marker(text_builder *b, int line, const char *name)
{
    char marker[512];
    int n = snprintf(marker, sizeof marker, "#line %d \"kernels/%s\"\n", line, name);
    return append(b, marker, (size_t)n);
}

static pcl_status read_whole_file(const char *path, char **text)
{
    FILE *file = fopen(path, "rb");
    if (!file) return pcl_fail(PCL_ERR_IO, "cannot open kernel source %s", path);
    char *data = NULL;
    size_t length = 0, capacity = 0, got;
    char chunk[8192];
    while ((got = fread(chunk, 1, sizeof chunk, file)) > 0) {
        if (length + got + 1 > capacity) {
            capacity = (length + got + 1) * 2;
            char *grown = realloc(data, capacity);
            if (!grown) {
                free(data);
                fclose(file);
                return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "out of host memory reading %s", path);
            }
            data = grown;
        }
        memcpy(data + length, chunk, got);
        length += got;
    }
    int failed = ferror(file);
    fclose(file);
    if (failed) {
        free(data);
        return pcl_fail(PCL_ERR_IO, "error reading kernel source %s", path);
    }
    if (!data) data = calloc(1, 1);
    else data[length] = '\0';
    *text = data;
    return data ? PCL_OK : pcl_fail(PCL_ERR_OUT_OF_MEMORY, "out of host memory reading %s", path);
}

/* If line is `#include "name"`, copies name into out and returns 1. */
static int parse_include(const char *line, size_t length, char *out, size_t out_size)
{
    const char *p = line, *end = line + length;
    while (p < end && isspace((unsigned char)*p)) p++;
    if (p >= end || *p != '#') return 0;
    p++;
    while (p < end && isspace((unsigned char)*p)) p++;
    if ((size_t)(end - p) < 7 || strncmp(p, "include", 7) != 0) return 0;
    p += 7;
    while (p < end && isspace((unsigned char)*p)) p++;
    if (p >= end || *p != '"') return 0;
    const char *close = memchr(p + 1, '"', (size_t)(end - p - 1));
    if (!close || (size_t)(close - p - 1) >= out_size) return 0;
    memcpy(out, p + 1, (size_t)(close - p - 1));
    out[close - p - 1] = '\0';
    return 1;
}

static pcl_status resolve(text_builder *b, const char *dir, const char *name, int depth)
{
    if (depth > MAX_INCLUDE_DEPTH)
        return pcl_fail(PCL_ERR_FORMAT, "kernel source %s: #include nested deeper than %d", name, MAX_INCLUDE_DEPTH);
    for (int i = 0; i < b->included_count; i++)
        if (strcmp(b->included[i], name) == 0) return PCL_OK;
    if (b->included_count == MAX_INCLUDED_FILES)
        return pcl_fail(PCL_ERR_FORMAT, "kernel source %s: more than %d included files", name, MAX_INCLUDED_FILES);

    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = NULL;
    PCL_TRY(read_whole_file(path, &text));
    b->included[b->included_count++] = strdup(name);

    pcl_status status = append_line_marker(b, 1, name);
    int line_number = 1;
    for (const char *line = text; status == PCL_OK && *line; line_number++) {
        const char *newline = strchr(line, '\n');
        size_t length = newline ? (size_t)(newline - line) : strlen(line);
        char included[256];
        if (parse_include(line, length, included, sizeof included)) {
            status = resolve(b, dir, included, depth + 1);
            if (status == PCL_OK) status = append_line_marker(b, line_number + 1, name);
        } else {
            status = append(b, line, length);
            if (status == PCL_OK) status = append(b, "\n", 1);
        }
        line = newline ? newline + 1 : line + length;
    }
    free(text);
    return status;
}

pcl_status pcl_kernel_source_read_file(const char *dir, const char *name, pcl_kernel_source *source)
{
    text_builder b = {0};
    pcl_status status = resolve(&b, dir, name, 0);
    for (int i = 0; i < b.included_count; i++) free((void *)b.included[i]);
    if (status != PCL_OK) {
        free(b.data);
        return status;
    }
    source->text = b.data;
    source->length = b.length;
    return PCL_OK;
}

void pcl_kernel_source_free(pcl_kernel_source *source)
{
    free(source->text);
    source->text = NULL;
    source->length = 0;
}
