/* The items manifest of a study (format in study.h): written by experiment
 * apps and `perceptcl study items`, read by `perceptcl study make`. */
#include "app.h"
#include "io/file_atomic.h"
#include "study.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int valid_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n < 1 || n > 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]) && id[i] != '.' && id[i] != '_' && id[i] != '-') return 0;
    return 1;
}

static int valid_method(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 32 || strcmp(name, "original") == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isprint((unsigned char)name[i])) return 0;
    return 1;
}

int app_study_items_check(const char *app, const app_study_items *s)
{
    if (s->method_count < 2 || s->method_count > APP_STUDY_MAX_METHODS)
        return fprintf(stderr, "perceptcl %s: a study needs 2 or 3 methods, not %d\n", app, s->method_count), 1;
    for (int m = 0; m < s->method_count; m++) {
        if (!valid_method(s->methods[m]))
            return fprintf(stderr,
                           "perceptcl %s: method name '%s' must be 1..32 printable characters and not 'original'\n",
                           app, s->methods[m] ? s->methods[m] : ""),
                   1;
        for (int o = 0; o < m; o++)
            if (strcmp(s->methods[m], s->methods[o]) == 0)
                return fprintf(stderr, "perceptcl %s: method '%s' is listed twice\n", app, s->methods[m]), 1;
    }
    if (s->item_count < 1) return fprintf(stderr, "perceptcl %s: the study has no items\n", app), 1;
    for (int i = 0; i < s->item_count; i++) {
        const app_study_item *item = &s->items[i];
        if (!valid_id(item->id))
            return fprintf(stderr, "perceptcl %s: item %d: id '%s' must be 1..64 of A-Z a-z 0-9 . _ -\n", app, i + 1,
                           item->id ? item->id : ""),
                   1;
        for (int j = 0; j < i; j++)
            if (strcmp(item->id, s->items[j].id) == 0)
                return fprintf(stderr, "perceptcl %s: item id '%s' is used twice\n", app, item->id), 1;
        if (!item->original || !*item->original)
            return fprintf(stderr, "perceptcl %s: item '%s' has no original\n", app, item->id), 1;
        for (int m = 0; m < s->method_count; m++)
            if (!item->images[m] || !*item->images[m])
                return fprintf(stderr, "perceptcl %s: item '%s' has no image for method '%s'\n", app, item->id,
                               s->methods[m]),
                       1;
    }
    return 0;
}

int app_study_items_write(const char *app, const char *path, const app_study_items *s)
{
    if (app_study_items_check(app, s) != 0) return 1;
    json_t *doc = json_pack("{s:s, s:i}", "format", "perceptcl-study-items", "version", 1);
    json_t *methods = json_array(), *items = json_array();
    int ok = doc && methods && items;
    for (int m = 0; ok && m < s->method_count; m++) ok = json_array_append_new(methods, json_string(s->methods[m])) == 0;
    for (int i = 0; ok && i < s->item_count; i++) {
        const app_study_item *item = &s->items[i];
        json_t *images = json_object();
        for (int m = 0; images && m < s->method_count; m++)
            if (json_object_set_new(images, s->methods[m], json_string(item->images[m])) != 0)
                json_decref(images), images = NULL;
        json_t *entry = images ? json_pack("{s:s, s:s, s:o}", "id", item->id, "original", item->original, "images",
                                           images)
                               : NULL;
        ok = entry && json_array_append_new(items, entry) == 0;
    }
    ok = ok && json_object_set(doc, "methods", methods) == 0 && json_object_set(doc, "items", items) == 0;
    char *text = ok ? json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(methods), json_decref(items), json_decref(doc);
    if (!text) return fprintf(stderr, "perceptcl %s: out of memory for the manifest\n", app), 1;
    size_t n = strlen(text);
    char *line = realloc(text, n + 2);
    if (!line) return free(text), fprintf(stderr, "perceptcl %s: out of memory for the manifest\n", app), 1;
    line[n] = '\n', line[n + 1] = '\0';
    int rc = pcl_file_write_atomic(path, line, n + 1) == PCL_OK ? 0 : app_fail(app, "writing the manifest");
    free(line);
    return rc;
}

void app_study_items_free(app_study_items *s)
{
    free(s->items);
    free(s->base_dir);
    json_decref(s->owner);
    *s = (app_study_items){0};
}

/* One line naming the manifest and the problem; returns 1. */
static int bad(const char *app, const char *path, const char *what)
{
    fprintf(stderr, "perceptcl %s: %s: %s\n", app, path, what);
    return 1;
}

int app_study_items_read(const char *app, const char *path, app_study_items *out)
{
    *out = (app_study_items){0};
    json_error_t error;
    json_t *doc = json_load_file(path, 0, &error);
    if (!doc) {
        if (error.line < 0) fprintf(stderr, "perceptcl %s: %s\n", app, error.text); /* cannot open: names the file */
        else fprintf(stderr, "perceptcl %s: %s: line %d: %s\n", app, path, error.line, error.text);
        return 1;
    }
    out->owner = doc;
    json_t *methods = json_object_get(doc, "methods"), *items = json_object_get(doc, "items");
    const char *format = json_string_value(json_object_get(doc, "format"));
    int rc = 0;
    if (!format || strcmp(format, "perceptcl-study-items") != 0 || json_integer_value(json_object_get(doc, "version")) != 1)
        rc = bad(app, path, "not a perceptcl study items manifest (\"format\": \"perceptcl-study-items\", \"version\": 1)");
    else if (!json_is_array(methods) || json_array_size(methods) < 2 || json_array_size(methods) > APP_STUDY_MAX_METHODS)
        rc = bad(app, path, "\"methods\" must be an array of 2 or 3 names");
    else if (!json_is_array(items) || json_array_size(items) == 0)
        rc = bad(app, path, "\"items\" must be a non-empty array");
    if (rc == 0) {
        out->method_count = (int)json_array_size(methods);
        for (int m = 0; m < out->method_count; m++) out->methods[m] = json_string_value(json_array_get(methods, (size_t)m));
        out->item_count = (int)json_array_size(items);
        out->items = calloc((size_t)out->item_count, sizeof *out->items);
        if (!out->items) rc = bad(app, path, "out of memory");
    }
    for (int i = 0; rc == 0 && i < out->item_count; i++) {
        json_t *entry = json_array_get(items, (size_t)i), *images = json_object_get(entry, "images");
        app_study_item *item = &out->items[i];
        item->id = json_string_value(json_object_get(entry, "id"));
        item->original = json_string_value(json_object_get(entry, "original"));
        if (!json_is_object(images)) {
            char what[160];
            snprintf(what, sizeof what, "item %d: \"images\" must be an object {method: path}", i + 1);
            rc = bad(app, path, what);
        }
        for (int m = 0; rc == 0 && m < out->method_count; m++)
            item->images[m] = out->methods[m] ? json_string_value(json_object_get(images, out->methods[m])) : NULL;
        if (rc == 0 && json_object_size(images) != (size_t)out->method_count) {
            char what[160];
            snprintf(what, sizeof what, "item %d: \"images\" must have exactly the methods of \"methods\"", i + 1);
            rc = bad(app, path, what);
        }
    }
    char who[512];
    snprintf(who, sizeof who, "%s: %s", app, path);
    if (rc == 0) rc = app_study_items_check(who, out);
    if (rc == 0) {
        const char *slash = strrchr(path, '/');
        size_t n = slash ? (size_t)(slash - path) : 1;
        out->base_dir = malloc(n + 1);
        if (!out->base_dir) rc = bad(app, path, "out of memory");
        else if (slash) memcpy(out->base_dir, path, n), out->base_dir[n] = '\0';
        else strcpy(out->base_dir, ".");
        if (slash && n == 0) strcpy(out->base_dir, "/");
    }
    if (rc != 0) app_study_items_free(out);
    return rc;
}

char *app_study_items_path(const app_study_items *s, const char *path)
{
    size_t n = strlen(s->base_dir) + strlen(path) + 2;
    char *full = malloc(n);
    if (!full) return NULL;
    if (path[0] == '/' || strcmp(s->base_dir, ".") == 0) snprintf(full, n, "%s", path);
    else snprintf(full, n, "%s/%s", s->base_dir, path);
    return full;
}
