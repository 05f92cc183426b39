/* Feature files of perceptcl yaleb: a CSV with labels (yaleb.h). */
#include "yaleb.h"

#include "io/file_atomic.h"
#include "perceptcl/status.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LABELS = 3 };
static const char *const label_names[LABELS] = {"subject", "azimuth", "elevation"};

void yaleb_features_free(yaleb_features *f)
{
    free(f->subject), free(f->azimuth), free(f->elevation), free(f->values);
    memset(f, 0, sizeof *f);
}

/* Splits line at commas in place (the newline removed); returns the field count. */
static size_t split(char *line, char **fields, size_t max)
{
    line[strcspn(line, "\r\n")] = '\0';
    size_t n = 0;
    for (char *p = line;; p++) {
        if (n < max) fields[n] = p;
        n++;
        p = strchr(p, ',');
        if (!p) break;
        *p = '\0';
    }
    return n;
}

/* The header: the three labels then f0 .. f<D-1>; D, or -1. */
static int header_dims(char **fields, size_t n)
{
    if (n < LABELS + 1) return -1;
    for (int i = 0; i < LABELS; i++)
        if (strcmp(fields[i], label_names[i]) != 0) return -1;
    for (size_t i = LABELS; i < n; i++) {
        char expected[32];
        snprintf(expected, sizeof expected, "f%zu", i - LABELS);
        if (strcmp(fields[i], expected) != 0) return -1;
    }
    return n - LABELS > INT_MAX ? -1 : (int)(n - LABELS);
}

static int grow(yaleb_features *f, size_t *capacity)
{
    if (f->count < *capacity) return 0;
    size_t c = *capacity ? 2 * *capacity : 256;
    int *s = realloc(f->subject, c * sizeof *s);
    if (s) f->subject = s;
    int *a = realloc(f->azimuth, c * sizeof *a);
    if (a) f->azimuth = a;
    int *e = realloc(f->elevation, c * sizeof *e);
    if (e) f->elevation = e;
    double *v = realloc(f->values, c * (size_t)f->dims * sizeof *v);
    if (v) f->values = v;
    if (!s || !a || !e || !v) return 1;
    *capacity = c;
    return 0;
}

int yaleb_features_read(const char *path, yaleb_features *features, char *error, size_t error_size)
{
    memset(features, 0, sizeof *features);
    FILE *file = fopen(path, "r");
    if (!file) {
        snprintf(error, error_size, "%s: cannot open: %s", path, strerror(errno));
        return 1;
    }
    char *line = NULL, **fields = NULL;
    size_t line_size = 0, capacity = 0, max_fields = 0, line_number = 0;
    yaleb_features f = {0};
    int rc = 0;
    while (rc == 0 && getline(&line, &line_size, file) >= 0) {
        line_number++;
        size_t needed = line_size + 1; /* a line of n characters has at most n + 1 fields */
        if (needed > max_fields) {
            char **grown = realloc(fields, needed * sizeof *grown);
            if (!grown) {
                rc = (snprintf(error, error_size, "%s:%zu: out of memory", path, line_number), 1);
                break;
            }
            fields = grown, max_fields = needed;
        }
        size_t n = split(line, fields, max_fields);
        if (line_number == 1) {
            f.dims = header_dims(fields, n);
            if (f.dims < 0)
                rc = (snprintf(error, error_size, "%s:1: the header is not subject,azimuth,elevation,f0,...,f<D-1>",
                               path), 1);
            continue;
        }
        if (n != (size_t)f.dims + LABELS) {
            rc = (snprintf(error, error_size, "%s:%zu: %zu columns, the header has %d", path, line_number, n,
                           f.dims + LABELS), 1);
            break;
        }
        if (grow(&f, &capacity)) {
            rc = (snprintf(error, error_size, "%s:%zu: out of memory", path, line_number), 1);
            break;
        }
        int *labels[LABELS] = {&f.subject[f.count], &f.azimuth[f.count], &f.elevation[f.count]};
        for (int i = 0; i < LABELS && rc == 0; i++) {
            char *end;
            errno = 0;
            long v = strtol(fields[i], &end, 10);
            if (fields[i][0] == '\0')
                rc = (snprintf(error, error_size, "%s:%zu: the %s label is missing", path, line_number,
                               label_names[i]), 1);
            else if (*end != '\0' || errno || v < INT_MIN || v > INT_MAX)
                rc = (snprintf(error, error_size, "%s:%zu: the %s label '%s' is not an integer", path, line_number,
                               label_names[i], fields[i]), 1);
            else
                *labels[i] = (int)v;
        }
        for (int d = 0; d < f.dims && rc == 0; d++) {
            const char *text = fields[LABELS + d];
            char *end;
            double v = strtod(text, &end);
            if (text[0] == '\0' || *end != '\0' || !isfinite(v))
                rc = (snprintf(error, error_size, "%s:%zu: f%d '%s' is not a finite number", path, line_number, d,
                               text), 1);
            else
                f.values[f.count * (size_t)f.dims + d] = v;
        }
        if (rc == 0) f.count++;
    }
    if (rc == 0 && ferror(file)) rc = (snprintf(error, error_size, "%s: read error: %s", path, strerror(errno)), 1);
    if (rc == 0 && line_number == 0) rc = (snprintf(error, error_size, "%s:1: empty file, no header", path), 1);
    if (rc == 0 && f.count == 0) rc = (snprintf(error, error_size, "%s:2: no face after the header", path), 1);
    free(line), free(fields);
    fclose(file);
    if (rc) yaleb_features_free(&f);
    else *features = f;
    return rc;
}

int yaleb_features_write(const char *path, const yaleb_features *f, char *error, size_t error_size)
{
    char *text = NULL;
    size_t size = 0;
    FILE *memory = open_memstream(&text, &size);
    if (!memory) {
        snprintf(error, error_size, "%s: out of memory", path);
        return 1;
    }
    fputs("subject,azimuth,elevation", memory);
    for (int d = 0; d < f->dims; d++) fprintf(memory, ",f%d", d);
    fputc('\n', memory);
    for (size_t r = 0; r < f->count; r++) {
        fprintf(memory, "%d,%d,%d", f->subject[r], f->azimuth[r], f->elevation[r]);
        for (int d = 0; d < f->dims; d++) fprintf(memory, ",%.9g", f->values[r * (size_t)f->dims + d]);
        fputc('\n', memory);
    }
    if (fclose(memory) != 0 || !text) {
        free(text);
        snprintf(error, error_size, "%s: out of memory", path);
        return 1;
    }
    pcl_file_set *files = NULL;
    pcl_status s = pcl_file_set_create(&files);
    if (s == PCL_OK) s = pcl_file_set_add_bytes(files, path, text, size);
    if (s == PCL_OK) s = pcl_file_set_commit(files);
    pcl_file_set_destroy(files);
    free(text);
    if (s != PCL_OK) snprintf(error, error_size, "%s: %s", path, pcl_last_error());
    return s != PCL_OK;
}
