/* What every perceptcl app shares: the entry points the dispatcher calls,
 * the argument reader, device opening, error lines, JSON output, report
 * tables and the paper's tables. */
#ifndef PERCEPTCL_APP_H
#define PERCEPTCL_APP_H

#include "perceptcl/device.h"
#include "perceptcl/status.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Each app: argv[0] is the app name ("devices"), returns the exit code. */
int app_devices(int argc, char **argv);
int app_ssim(int argc, char **argv);
int app_resize(int argc, char **argv);
int app_sr_eval(int argc, char **argv);
int app_datasets(int argc, char **argv);
int app_srcnn(int argc, char **argv);

/* ---- arguments (args.c) ----------------------------------------------------
 * A command lists its options; the reader walks argv:
 *
 *   static const app_option options[] = {{"--json", NULL}, {"--scale", "S"}, {NULL, NULL}};
 *   app_args r;
 *   app_args_init(&r, "sr-eval", usage, options, &selection, argc, argv);
 *   while (app_args_next(&r)) {
 *       if (!r.option) dirs[n++] = r.value;                      (a positional)
 *       else if (app_args_is(&r, "--json")) json = 1;            (a switch)
 *       else if (app_args_is(&r, "--scale")) app_args_int(&r, 2, 8, &scale);
 *   }
 *   if (r.exit_code >= 0) return r.exit_code;                    (--help: 0, usage error: 2)
 *
 * Usage errors (unknown option, missing value, a value out of range) print
 * one line "perceptcl <app>: ..." naming the option and the value, and end
 * the loop with exit_code 2; --help / -h prints the usage (and the device
 * flags' help when the command takes them) and ends it with exit_code 0. */
typedef struct app_option {
    const char *name;       /* "--scale" */
    const char *value_name; /* "S" for an option with a value, NULL for a switch */
} app_option;

typedef struct app_args {
    const char *app;                 /* "ssim", "srcnn eval": names the command in messages */
    const char *usage;               /* printed by --help */
    const app_option *options;       /* terminated by a NULL name */
    pcl_device_selection *selection; /* device flags land here; NULL: the command has none */
    int argc, i;
    char **argv;
    const char *option; /* the option just read (its table name), NULL for a positional */
    const char *value;  /* its value (NULL for a switch), or the positional word */
    int exit_code;      /* -1 while reading; 0 after --help, 2 after a usage error */
} app_args;

void app_args_init(app_args *a, const char *app, const char *usage, const app_option *options,
                   pcl_device_selection *selection, int argc, char **argv);
/* 1 with the next option or positional; 0 at the end, after --help or after
 * a usage error (also one reported by the typed readers below). */
int app_args_next(app_args *a);
int app_args_is(const app_args *a, const char *name);
/* The current value as a type, within a range; 0 after a usage error. */
int app_args_long(app_args *a, long lo, long hi, long *value);
int app_args_int(app_args *a, int lo, int hi, int *value);
int app_args_double(app_args *a, double lo, double hi, double *value); /* lo <= v < hi */
int app_args_positive(app_args *a, double *value);                      /* v > 0, finite */
int app_args_choice(app_args *a, const char *const *choices, int *index); /* NULL-terminated list */
/* Prints "perceptcl <app>: <message>", sets exit_code 2, returns 0. */
int app_args_error(app_args *a, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* The parsing under the typed readers, for values that are not arguments
 * (a file's metadata): 1 if text is entirely a number in range. */
int app_parse_long(const char *text, long lo, long hi, long *value);
int app_parse_double(const char *text, double *value); /* finite */

/* A command made of subcommands ("perceptcl srcnn eval ..."): runs the one
 * argv[1] names with argv[1] as its argv[0]; --help, -h or help print usage
 * and the device flags (exit 0); none or an unknown one: one line, exit 2. */
typedef struct app_subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
} app_subcommand;
int app_run_subcommand(const char *app, const char *usage, const app_subcommand *subcommands, int argc, char **argv);

/* The help text of the device flags. */
extern const char app_device_flags_help[];
extern const char app_common_flags_help[]; /* --max-pixels, accepted by every command */

/* ---- common (common.c) ------------------------------------------------------ */

/* Opens the selected device and prints it once to stderr; on failure prints
 * the error and returns NULL. */
pcl_context *app_open_context(const pcl_device_selection *selection);

/* Prints "perceptcl <app>: <what>: <last error>" to stderr; returns 1. */
int app_fail(const char *app, const char *what);

/* The last component of a path ("a/b/Set5/" -> "Set5"), copied into name. */
const char *app_base_name(const char *path, char *name, size_t size);

/* Prints doc on stdout as one line of JSON, reals with `digits` significant
 * digits, and releases it; 1 (after an error line) if doc is NULL (out of
 * memory while building it) or cannot be written. */
int app_print_json(const char *app, json_t *doc, int digits);

/* value rounded to `decimals` decimals as printf("%.*f") shows it, so JSON
 * carries the digits of the Markdown tables. */
double app_round(double value, int decimals);

/* ---- report tables (report.c) -----------------------------------------------
 * One table: rows (a set of images, say), our columns (bicubic, each model)
 * and the paper's columns beside them, each cell a group of metrics (PSNR,
 * SSIM). Markdown shows a line per row and metric:
 *   | set | images | metric | bicubic | MSE | paper: bicubic | paper: MSE |
 * JSON: the header's fields, then
 *   "sets": [{"set": "Set5", "images": 5, "results": {"bicubic": {"psnr": .., "ssim": ..}, ..},
 *             "paper": {"bicubic": {..}, ..}}] */
typedef struct app_metric {
    const char *key, *label; /* "psnr" in JSON, "PSNR" in Markdown */
    int markdown_decimals;   /* ours and the paper's in Markdown; the paper's in JSON (its printed digits) */
    int json_decimals;       /* ours in JSON */
} app_metric;

typedef struct app_report_row {
    const char *name;
    long count;           /* images in the row */
    const double *values; /* [column][metric] */
    const double *paper;  /* [paper column][metric], or NULL: the paper has no such row */
} app_report_row;

typedef struct app_report {
    const char *title;                         /* Markdown heading */
    const char *row_key, *rows_key, *count_key; /* "set", "sets", "images" */
    const app_metric *metrics;
    int metric_count;
    const char *const *columns;
    int column_count;
    const char *const *paper_columns; /* shown as "paper: X"; 0 of them: no paper columns */
    int paper_column_count;
    const app_report_row *rows;
    int row_count;
    const char *note; /* a paragraph under the Markdown table, or NULL */
    json_t *header;   /* JSON fields before the rows ("protocol", "scale", ...), borrowed; or NULL */
} app_report;

/* The Markdown table (malloc'd; NULL when out of memory). */
char *app_report_markdown(const app_report *report);
/* The JSON document (new reference; NULL when out of memory). */
json_t *app_report_json(const app_report *report);
/* Writes markdown_path and json_path, both or neither (pcl_file_set): a
 * failure leaves any previous files as they were. 0, or 1 after an error line. */
int app_report_write(const char *app, const app_report *report, const char *markdown_path, const char *json_path);

/* ---- the paper's tables (paper.c): Snell et al. 2017 ------------------------ */

/* Table 2 (super-resolution x4): PSNR and SSIM of the bicubic baseline and of
 * SRCNN trained with MSE, MAE and MS-SSIM. */
enum { APP_PAPER_SETS = 3, APP_PAPER_COLUMNS = 4 };
typedef struct app_paper_row {
    const char *set;
    double psnr[APP_PAPER_COLUMNS], ssim[APP_PAPER_COLUMNS];
} app_paper_row;
extern const app_paper_row app_paper_table2[APP_PAPER_SETS];
extern const char *const app_paper_columns[APP_PAPER_COLUMNS]; /* "bicubic", "mse", "mae", "msssim" */
extern const char *const app_paper_labels[APP_PAPER_COLUMNS];  /* "bicubic", "MSE", "MAE", "MS-SSIM" */

/* The Table 2 row of a set by folder name (case-insensitive), or NULL. */
const app_paper_row *app_paper_row_find(const char *set);

/* The other tables, as printed: a value per row (the training loss: "MSE",
 * "MAE", "MS-SSIM") and column. */
typedef struct app_paper_table {
    const char *caption;
    int rows, columns;
    const char *const *row_labels, *const *column_labels;
    const double *values; /* [row][column] */
} app_paper_table;
/* Table 1 (Yale B, section 5): identity error (%), azimuth MSE, elevation MSE. */
extern const app_paper_table app_paper_table1;
/* Table 3 (appendix A.3): held-out MSE, MAE and MS-SSIM losses of the
 * convolutional autoencoders, a row per training loss. */
extern const app_paper_table app_paper_table3;
/* The value at a row (case-insensitive) and column, or NULL. */
const double *app_paper_table_find(const app_paper_table *table, const char *row, const char *column);

#endif
