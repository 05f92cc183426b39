/* What every perceptcl app shares: the entry points the dispatcher calls,
 * the argument reader, device opening, error lines, JSON output, report
 * tables and the paper's tables. */
#ifndef PERCEPTCL_APP_H
#define PERCEPTCL_APP_H

#include "perceptcl/comm.h"
#include "perceptcl/device.h"
#include "perceptcl/image.h"
#include "perceptcl/status.h"
#include "perceptcl/trainer.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Each app: argv[0] is the app name ("devices"), returns the exit code. */
int app_devices(int argc, char **argv);
int app_ssim(int argc, char **argv);
int app_mmd(int argc, char **argv);
int app_resize(int argc, char **argv);
int app_sr_eval(int argc, char **argv);
int app_datasets(int argc, char **argv);
int app_srcnn(int argc, char **argv);
int app_study(int argc, char **argv);
int app_yaleb(int argc, char **argv); /* yaleb.c; its parts: yaleb.h */
int app_convae(int argc, char **argv); /* convae.c; the autoencoders' shared parts: autoencoder.h */
int app_elvae(int argc, char **argv);  /* elvae.c, elvae_objective.c (elvae.h) */
int app_fcae(int argc, char **argv);   /* fcae.c */

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
/* Appends the current value to list (a repeated option or the positionals);
 * a usage error "more than <max> <what>" when count is already max. */
int app_args_append(app_args *a, const char **list, int *count, int max, const char *what);
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

/* ---- training flags (train_cmd.c) ---------------------------------------------
 * What every experiment's `train` takes, read and checked once:
 *
 *   static const app_option options[] = {APP_TRAIN_OPTIONS, {"--scale", "S"}, {NULL, NULL}};
 *   app_train t = app_train_defaults();
 *   t.batch = 128;                                 (the app's defaults, allowed losses)
 *   app_args_init(&r, "srcnn train", usage, options, &selection, argc, argv);
 *   while (app_args_next(&r))
 *       if (!app_train_arg(&t, &r)) ... the app's own options ...
 *   if (app_train_ready(&t, &r, json_pack("{s:i}", "scale", scale)) >= 0) return r.exit_code;
 *   ... data, device, model ...
 *   app_train_setup(&t, context, 1.0, &config, &optimizer);  then pcl_trainer_run
 *   app_train_save(&t, model, &result, metadata);
 *
 * app_train_ready checks everything before any work: --loss and --out given,
 * every output (--out, its state --out.train, --log, --curve) a path whose
 * folder exists and is writable and that is not itself a folder, and for
 * --resume that the state exists (and without it that it does not: an
 * earlier run's state is not overwritten) and was written by a run of the same loss,
 * batch, seed, optimizer, learning rate and app recipe (the app's JSON:
 * data, scale, ...; pcl_trainer_check_resume), naming every mismatch in one
 * line; the epochs, --max-steps and --checkpoint-minutes (default 10: the
 * state is also written mid-epoch that often) may change. */
#define APP_TRAIN_OPTIONS                                                                                      \
    {"--loss", "L"}, {"--out", "MODEL"}, {"--log", "CSV"}, {"--curve", "SVG"}, {"--epochs", "N"},              \
        {"--max-steps", "N"}, {"--batch", "N"}, {"--seed", "N"}, {"--lr", "RATE"}, {"--momentum", "M"},        \
        {"--weight-decay", "W"}, {"--optimizer", "NAME"}, {"--resume", NULL}, {"--bucket-mb", "M"},   \
        {"--checkpoint-minutes", "M"}
/* Early stopping, for apps that have validation data. */
#define APP_TRAIN_EARLY_STOP_OPTIONS {"--patience", "N"}, {"--min-delta", "D"}

typedef struct app_train {
    /* the app's defaults (app_train_defaults: every loss, 10 epochs, batch
     * 16, seed 1, SGD lr 1e-2 momentum 0.9, Adam lr 1e-3, "records") */
    unsigned losses; /* allowed kinds: bit 1u << kind */
    long epochs, batch, seed;
    double sgd_lr, adam_lr, momentum;
    const char *record_name; /* "patches": the throughput's unit in the final line */
    /* read from the arguments */
    pcl_loss_kind loss;
    int loss_given, lr_given, adam, resume;
    const char *out, *log, *curve;
    long max_steps, patience;
    double lr, weight_decay, min_delta;
    double bucket_mb; /* data parallel: gradient MiB per exchange (0: the trainer's default) */
    double checkpoint_minutes; /* the state also written mid-epoch this often (0: at epoch ends only) */
    /* set by app_train_ready */
    const char *app;
    char state[4200];  /* --out + ".train" */
    char recipe[2048]; /* the JSON the state and the model file record */
} app_train;

app_train app_train_defaults(void);
/* 1 when r's option is a training flag (read, or reported as a usage error). */
int app_train_arg(app_train *t, app_args *r);
/* The checks above; recipe (the app's JSON object, consumed; may be NULL)
 * joins the optimizer's settings and the seed. Returns r->exit_code: -1
 * ready, else the exit code after one line on stderr. */
int app_train_ready(app_train *t, app_args *r, json_t *recipe);
/* The trainer's config (loss, batch, epochs, max steps, seed, early
 * stopping, state, resume, log, curve, recipe, mid-epoch checkpoints, and in
 * a one-process run the stop request of SIGINT / SIGTERM) and the optimizer: SGD with
 * lr * sgd_lr_scale (an app's units), momentum, weight decay, or Adam with
 * lr and weight decay. 0, or 1 after an error line. */
int app_train_setup(const app_train *t, pcl_context *context, double sgd_lr_scale, pcl_trainer_config *config,
                    pcl_optimizer **optimizer);
/* Adds "loss", "epochs", "steps", "train_loss" (the last completed epoch's;
 * omitted when this run completed none: a resume or --max-steps ending
 * mid-epoch) and "training" (the recipe as JSON, with loss and batch) to
 * metadata, writes the model to --out
 * (pcl_model_save) and prints the final line. 0, or 1 after an error line.
 * A run stopped by SIGINT or SIGTERM (app_train_setup catches them in a
 * one-process run: the trainer saves its state after the current step)
 * writes no model: one line saying where the state is, and 128 + the
 * signal's number. */
int app_train_save(const app_train *t, pcl_model *model, const pcl_trainer_result *result, pcl_checkpoint *metadata);

/* A new metadata block for app_train_save with the app's own entries:
 * keys_values is key, value, key, value, ..., NULL (a NULL value: the key
 * is left out). 0, or 1 after an error line naming the key. */
int app_train_metadata(const char *app, const char *const *keys_values, pcl_checkpoint **metadata);

/* An output path: not a folder, in a folder that exists and is writable.
 * 1, or 0 after a usage error naming flag and path. */
int app_output_check(app_args *r, const char *flag, const char *path);

/* ---- strips of crops (strip.c) -------------------------------------------------
 * The same crop of several images side by side, each enlarged zoom times
 * (nearest), 4 white pixels between panels (srcnn compare). A crop is
 * {x, y, w, h}. */
/* "X,Y,W,H" with X, Y >= 0 and W, H >= 1 (each an int): 1, else 0. */
int app_crop_parse(const char *text, int crop[4]);
/* Whether the crop lies inside a width x height image (no int overflow). */
int app_crop_inside(const int crop[4], int width, int height);
/* The size x size crop (size capped at the image's smaller side) on a
 * stride-8 grid where channel 0 varies most. */
void app_crop_busiest(const pcl_image *image, int size, int crop[4]);
/* A white strip for `panels` panels; 0, or 1 after an error line. */
int app_strip_create(const char *app, int panels, const int crop[4], int zoom, int channels, pcl_image **strip);
/* Panel index: the crop of image (checked inside it); 0, or 1 after an error line. */
int app_strip_put(const char *app, pcl_image *strip, int index, const pcl_image *image, const int crop[4], int zoom);

/* ---- SVG figures (svg.c) -------------------------------------------------------- */
/* text with &, <, >, " escaped for XML. */
void app_svg_text(FILE *out, const char *text);
/* The opening of a figure: the svg element (xlink for embedded images), a
 * white background and the title at x. */
void app_svg_begin(FILE *out, double width, double height, double title_x, const char *title);
/* Closes a memory stream (open_memstream(text, ...)); the text, which exists
 * only after the close, or NULL. */
char *app_svg_finish(FILE *out, char **text);

/* ---- common (common.c) ------------------------------------------------------ */

/* The job this process belongs to (comm.h: MPI ranks under mpirun, else one
 * process), opened by main before any command. Rank 0 is the root: it alone
 * prints reports and writes files; every rank prints its errors, and a
 * command that fails on any rank ends the whole job (main: pcl_comm_abort). */
void app_set_comm(pcl_comm *comm);
pcl_comm *app_comm(void);
int app_is_root(void);

/* Opens the selected device (with no device named, rank r of a machine takes
 * the default rule's (r mod count)-th device) and prints it once to stderr;
 * on failure prints the error and returns NULL. */
pcl_context *app_open_context(const pcl_device_selection *selection);

/* Seconds on the monotonic clock (for "took N s" lines). */
double app_seconds(void);

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
/* What a command's --report PREFIX does: PREFIX.md and PREFIX.json through
 * app_report_write when prefix is not NULL, then the Markdown on stdout. 0,
 * or 1 after an error line. */
int app_report_emit(const char *app, const app_report *report, const char *prefix);
/* PREFIX.md (markdown) and PREFIX.json (doc), both or neither, for a report
 * that is not an app_report table. 0, or 1 after an error line. */
int app_write_markdown_json(const char *app, const char *prefix, const char *markdown, const json_t *doc);

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
/* Sec. A.3, the fully-connected binary autoencoders: the percentage of the
 * 12,000 held-out images where each net is better on its own training
 * metric (MSE net: lower MSE, 69.71; SSIM net: higher SSIM, 97.33). */
extern const app_paper_table app_paper_fc_wins;
/* The value at a row (case-insensitive) and column, or NULL. */
const double *app_paper_table_find(const app_paper_table *table, const char *row, const char *column);

#endif
