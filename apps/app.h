/* What every perceptcl app shares: the entry points the dispatcher calls,
 * device-selection flag parsing, and error reporting. */
#ifndef PERCEPTCL_APP_H
#define PERCEPTCL_APP_H

#include "perceptcl/device.h"
#include "perceptcl/status.h"

#include <stddef.h>
#include <stdio.h>

/* Each app: argv[0] is the app name ("devices"), returns the exit code. */
int app_devices(int argc, char **argv);
int app_ssim(int argc, char **argv);
int app_resize(int argc, char **argv);
int app_sr_eval(int argc, char **argv);
int app_datasets(int argc, char **argv);
int app_srcnn(int argc, char **argv);

/* Consumes --platform, --device, --device-type at argv[*i] (and its value).
 * Returns 1 if consumed, 0 if argv[*i] is not a device flag, -1 on a bad
 * value (after printing the error). */
int app_parse_device_flag(int argc, char **argv, int *i, pcl_device_selection *selection);

/* The help text of the device flags, for each app's usage. */
extern const char app_device_flags_help[];

/* Opens the selected device and prints it once to stderr; on failure prints
 * the error and returns NULL. */
pcl_context *app_open_context(const pcl_device_selection *selection);

/* Table 2 of Snell et al. 2017 (super-resolution x4): PSNR and SSIM of the
 * bicubic baseline and of SRCNN trained with MSE, MAE and MS-SSIM. */
enum { APP_PAPER_SETS = 3, APP_PAPER_COLUMNS = 4 };
typedef struct app_paper_row {
    const char *set;
    double psnr[APP_PAPER_COLUMNS], ssim[APP_PAPER_COLUMNS];
} app_paper_row;
extern const app_paper_row app_paper_table2[APP_PAPER_SETS];
extern const char *const app_paper_columns[APP_PAPER_COLUMNS]; /* "bicubic", "mse", "mae", "msssim" */
extern const char *const app_paper_labels[APP_PAPER_COLUMNS];  /* "bicubic", "MSE", "MAE", "MS-SSIM" */

/* The row of a set by folder name (case-insensitive), or NULL. */
const app_paper_row *app_paper_row_find(const char *set);

/* The last component of a path ("a/b/Set5/" -> "Set5"), copied into name. */
const char *app_base_name(const char *path, char *name, size_t size);

/* Writes text as a JSON string literal, quoted and escaped. */
void app_print_json_string(FILE *out, const char *text);

/* Prints "perceptcl <app>: <what>: <last error>" to stderr; returns 1. */
int app_fail(const char *app, const char *what);

#endif
