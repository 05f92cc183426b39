/* Report tables: ours beside the paper's, as Markdown and as JSON (jansson),
 * the two files written all or none. */
#include "app.h"
#include "io/file_atomic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *app_report_markdown(const app_report *r)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    if (!out) return NULL;
    int paper = r->paper_column_count;
    fprintf(out, "# %s\n\n| %s | %s | metric", r->title, r->row_key, r->count_key);
    for (int c = 0; c < r->column_count; c++) fprintf(out, " | %s", r->columns[c]);
    for (int p = 0; p < paper; p++) fprintf(out, " | paper: %s", r->paper_columns[p]);
    fprintf(out, " |\n|---|---|---");
    for (int c = 0; c < r->column_count + paper; c++) fprintf(out, "|---");
    fprintf(out, "|\n");
    for (int i = 0; i < r->row_count; i++) {
        const app_report_row *row = &r->rows[i];
        for (int m = 0; m < r->metric_count; m++) {
            int decimals = r->metrics[m].markdown_decimals;
            fprintf(out, "| %s | %ld | %s", row->name, row->count, r->metrics[m].label);
            for (int c = 0; c < r->column_count; c++)
                fprintf(out, " | %.*f", decimals, row->values[c * r->metric_count + m]);
            for (int p = 0; p < paper; p++) {
                if (row->paper) fprintf(out, " | %.*f", decimals, row->paper[p * r->metric_count + m]);
                else fprintf(out, " | -");
            }
            fprintf(out, " |\n");
        }
    }
    if (r->note) fprintf(out, "\n%s\n", r->note);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* {"psnr": .., "ssim": ..} of one cell. */
static json_t *cell(const app_report *r, const double *values, int paper)
{
    json_t *object = json_object();
    for (int m = 0; object && m < r->metric_count; m++) {
        int decimals = paper ? r->metrics[m].markdown_decimals : r->metrics[m].json_decimals;
        if (json_object_set_new(object, r->metrics[m].key, json_real(app_round(values[m], decimals))) != 0)
            json_decref(object), object = NULL;
    }
    return object;
}

/* {"bicubic": {..}, "MSE": {..}} of one row's columns. */
static json_t *cells(const app_report *r, const char *const *columns, int count, const double *values, int paper)
{
    json_t *object = json_object();
    for (int c = 0; object && c < count; c++)
        if (json_object_set_new(object, columns[c], cell(r, values + c * r->metric_count, paper)) != 0)
            json_decref(object), object = NULL;
    return object;
}

json_t *app_report_json(const app_report *r)
{
    json_t *doc = r->header ? json_deep_copy(r->header) : json_object();
    json_t *rows = json_array();
    int ok = doc && rows;
    for (int i = 0; ok && i < r->row_count; i++) {
        const app_report_row *row = &r->rows[i];
        json_t *item = json_object();
        ok = item && json_object_set_new(item, r->row_key, json_string(row->name)) == 0 &&
             json_object_set_new(item, r->count_key, json_integer(row->count)) == 0 &&
             json_object_set_new(item, "results", cells(r, r->columns, r->column_count, row->values, 0)) == 0 &&
             (!row->paper || !r->paper_column_count ||
              json_object_set_new(item, "paper", cells(r, r->paper_columns, r->paper_column_count, row->paper, 1)) ==
                  0);
        if (json_array_append_new(rows, item) != 0) ok = 0;
    }
    if (ok && json_object_set_new(doc, r->rows_key, rows) == 0) return doc;
    if (!ok) json_decref(rows);
    json_decref(doc);
    return NULL;
}

/* Both files or neither (pcl_file_set); the JSON ends with a newline, as the Markdown does. */
static int write_pair(const char *app, const char *markdown_path, const char *markdown, const char *json_path,
                      const json_t *doc)
{
    char *json_text = doc ? json_dumps(doc, JSON_REAL_PRECISION(15)) : NULL;
    char *json_line = json_text ? malloc(strlen(json_text) + 2) : NULL;
    int rc = 0;
    if (!markdown || !json_line) rc = (fprintf(stderr, "perceptcl %s: out of memory for the report\n", app), 1);
    else {
        sprintf(json_line, "%s\n", json_text);
        pcl_file_set *files = NULL;
        pcl_status s = pcl_file_set_create(&files);
        if (s == PCL_OK) s = pcl_file_set_add_bytes(files, markdown_path, markdown, strlen(markdown));
        if (s == PCL_OK) s = pcl_file_set_add_bytes(files, json_path, json_line, strlen(json_line));
        if (s == PCL_OK) s = pcl_file_set_commit(files);
        pcl_file_set_destroy(files);
        if (s != PCL_OK) rc = app_fail(app, "writing the report");
    }
    free(json_text);
    free(json_line);
    return rc;
}

int app_report_write(const char *app, const app_report *r, const char *markdown_path, const char *json_path)
{
    char *markdown = app_report_markdown(r);
    json_t *doc = app_report_json(r);
    int rc = write_pair(app, markdown_path, markdown, json_path, doc);
    free(markdown);
    json_decref(doc);
    return rc;
}

int app_write_markdown_json(const char *app, const char *prefix, const char *markdown, const json_t *doc)
{
    char md[4200], js[4200];
    if ((size_t)snprintf(md, sizeof md, "%s.md", prefix) >= sizeof md ||
        (size_t)snprintf(js, sizeof js, "%s.json", prefix) >= sizeof js)
        return fprintf(stderr, "perceptcl %s: --report %s: path too long\n", app, prefix), 1;
    return write_pair(app, md, markdown, js, doc);
}

int app_report_emit(const char *app, const app_report *r, const char *prefix)
{
    char *markdown = app_report_markdown(r);
    json_t *doc = prefix ? app_report_json(r) : NULL;
    int rc = 0;
    if (!markdown || (prefix && !doc)) rc = (fprintf(stderr, "perceptcl %s: out of memory for the report\n", app), 1);
    else if (prefix) rc = app_write_markdown_json(app, prefix, markdown, doc);
    if (rc == 0) fputs(markdown, stdout);
    free(markdown);
    json_decref(doc);
    return rc;
}
