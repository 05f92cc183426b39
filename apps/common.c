/* What every app shares: device-selection flags, error reporting, JSON strings. */
#include "app.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

const char app_device_flags_help[] =
    "device selection (flag > environment > default: first GPU, else first CPU):\n"
    "  --platform P        platform index or name substring      (PERCEPTCL_PLATFORM)\n"
    "  --device D          index, P:D, or name substring          (PERCEPTCL_DEVICE)\n"
    "  --device-type T     cpu | gpu | accelerator | any          (PERCEPTCL_DEVICE_TYPE)\n";

int app_parse_device_flag(int argc, char **argv, int *i, pcl_device_selection *selection)
{
    const char *flag = argv[*i];
    int is_platform = strcmp(flag, "--platform") == 0, is_device = strcmp(flag, "--device") == 0,
        is_type = strcmp(flag, "--device-type") == 0;
    if (!is_platform && !is_device && !is_type) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "perceptcl: %s needs a value\n", flag);
        return -1;
    }
    const char *value = argv[++*i];
    if (is_platform) selection->platform = value;
    if (is_device) selection->device = value;
    if (is_type) {
        if (pcl_device_type_parse(value, &selection->type) != PCL_OK) {
            fprintf(stderr, "perceptcl: %s\n", pcl_last_error());
            return -1;
        }
        selection->type_set = 1;
    }
    return 1;
}

pcl_context *app_open_context(const pcl_device_selection *selection)
{
    pcl_context *context = NULL;
    if (pcl_context_create(selection, &context) != PCL_OK) {
        fprintf(stderr, "perceptcl: cannot open an OpenCL device: %s\n", pcl_last_error());
        return NULL;
    }
    const pcl_device_info *info = pcl_context_device(context);
    fprintf(stderr, "perceptcl: device [%d] %s (%s, %s)\n", info->index, info->name, info->platform_name,
            pcl_device_type_name(info->type));
    return context;
}

int app_fail(const char *app, const char *what)
{
    fprintf(stderr, "perceptcl %s: %s: %s\n", app, what, pcl_last_error());
    return 1;
}

void app_print_json_string(FILE *out, const char *text)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
        else if (*p < 0x20) fprintf(out, "\\u%04x", *p);
        else fputc(*p, out);
    }
    fputc('"', out);
}

const app_paper_row app_paper_table2[APP_PAPER_SETS] = {
    {"Set5", {28.44, 30.52, 29.57, 30.35}, {0.8097, 0.8621, 0.8350, 0.8681}},
    {"Set14", {26.01, 27.53, 26.82, 27.47}, {0.7018, 0.7512, 0.7310, 0.7610}},
    {"BSD200", {25.92, 26.87, 26.47, 26.84}, {0.6952, 0.7378, 0.7220, 0.7484}},
};
const char *const app_paper_columns[APP_PAPER_COLUMNS] = {"bicubic", "mse", "mae", "msssim"};
const char *const app_paper_labels[APP_PAPER_COLUMNS] = {"bicubic", "MSE", "MAE", "MS-SSIM"};

const app_paper_row *app_paper_row_find(const char *set)
{
    for (int i = 0; i < APP_PAPER_SETS; i++)
        if (strcasecmp(set, app_paper_table2[i].set) == 0) return &app_paper_table2[i];
    return NULL;
}

const char *app_base_name(const char *path, char *name, size_t size)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    size_t start = n;
    while (start > 0 && path[start - 1] != '/') start--;
    snprintf(name, size, "%.*s", (int)(n - start), path + start);
    return name;
}
