/* One argument reader for every command: device flags, --help, switches,
 * options with values, positionals, and typed values with ranges, each
 * usage error one line naming the option and the bad value (exit 2). */
#include "app.h"
#include "perceptcl/image.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char app_device_flags_help[] =
    "device selection (flag > environment > default: first GPU, else first CPU):\n"
    "  --platform P        platform index or name substring      (PERCEPTCL_PLATFORM)\n"
    "  --device D          index, P:D, or name substring          (PERCEPTCL_DEVICE)\n"
    "  --device-type T     cpu | gpu | accelerator | any          (PERCEPTCL_DEVICE_TYPE)\n"
    "under mpirun (README: More than one device) rank r of a machine takes the default rule's r-th\n"
    "device; train's --batch is the global batch, split over the ranks; --bucket-mb M (default 4)\n"
    "sets the gradient exchange's bucket size.\n";

static const app_option device_options[] = {
    {"--platform", "P"}, {"--device", "D"}, {"--device-type", "T"}, {NULL, NULL}};

/* Accepted by every command: the image readers' pixel limit (image.h). */
static const app_option common_options[] = {{"--max-pixels", "N"}, {NULL, NULL}};

const char app_common_flags_help[] =
    "  --max-pixels N      largest image read, in pixels (default 33554432; PERCEPTCL_MAX_PIXELS)\n";

void app_args_init(app_args *a, const char *app, const char *usage, const app_option *options,
                   pcl_device_selection *selection, int argc, char **argv)
{
    *a = (app_args){.app = app, .usage = usage, .options = options, .selection = selection, .argc = argc,
                    .argv = argv, .i = 0, .exit_code = -1};
}

int app_args_error(app_args *a, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fprintf(stderr, "perceptcl %s: ", a->app);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    a->exit_code = 2;
    return 0;
}

static const app_option *find_option(const app_option *options, const char *word)
{
    for (int k = 0; options && options[k].name; k++)
        if (strcmp(word, options[k].name) == 0) return &options[k];
    return NULL;
}

/* Stores a device flag's value in the selection; 0 after a usage error. */
static int take_device_flag(app_args *a)
{
    pcl_device_selection *s = a->selection;
    if (strcmp(a->option, "--platform") == 0) s->platform = a->value;
    else if (strcmp(a->option, "--device") == 0) s->device = a->value;
    else if (pcl_device_type_parse(a->value, &s->type) == PCL_OK) s->type_set = 1;
    else return app_args_error(a, "--device-type: %s", pcl_last_error());
    return 1;
}

int app_args_next(app_args *a)
{
    while (a->exit_code < 0 && ++a->i < a->argc) {
        const char *word = a->argv[a->i];
        a->option = NULL;
        a->value = word;
        if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0) {
            printf("%s%s%s", a->usage, a->selection ? app_device_flags_help : "", app_common_flags_help);
            a->exit_code = 0;
            return 0;
        }
        if (word[0] != '-' || word[1] == '\0') return 1; /* a positional ("-" included) */
        const app_option *option = find_option(a->options, word);
        int device = !option && a->selection && (option = find_option(device_options, word)) != NULL;
        int common = !option && (option = find_option(common_options, word)) != NULL;
        if (!option)
            return app_args_error(a, "unknown option '%s' (perceptcl %s --help lists them)", word, a->app);
        a->option = option->name;
        a->value = NULL;
        if (option->value_name) {
            if (a->i + 1 >= a->argc) return app_args_error(a, "%s needs a value (%s)", word, option->value_name);
            a->value = a->argv[++a->i];
        }
        if (common) {
            long pixels = 0;
            if (!app_args_long(a, 1, LONG_MAX, &pixels)) return 0;
            pcl_image_set_max_pixels((size_t)pixels);
            continue;
        }
        if (!device) return 1;
        if (!take_device_flag(a)) return 0;
    }
    return 0;
}

int app_args_is(const app_args *a, const char *name)
{
    return a->option && strcmp(a->option, name) == 0;
}

int app_args_append(app_args *a, const char **list, int *count, int max, const char *what)
{
    if (*count == max) return app_args_error(a, "more than %d %s", max, what);
    list[(*count)++] = a->value;
    return 1;
}

int app_parse_long(const char *text, long lo, long hi, long *value)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (!*text || *end || errno != 0 || v < lo || v > hi) return 0;
    *value = v;
    return 1;
}

int app_parse_double(const char *text, double *value)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (!*text || *end || errno != 0 || !isfinite(v)) return 0;
    *value = v;
    return 1;
}

int app_args_long(app_args *a, long lo, long hi, long *value)
{
    if (app_parse_long(a->value, lo, hi, value)) return 1;
    if (hi == LONG_MAX) return app_args_error(a, "%s must be an integer >= %ld, not '%s'", a->option, lo, a->value);
    return app_args_error(a, "%s must be an integer in %ld..%ld, not '%s'", a->option, lo, hi, a->value);
}

int app_args_int(app_args *a, int lo, int hi, int *value)
{
    long v = 0;
    if (!app_args_long(a, lo, hi, &v)) return 0;
    *value = (int)v;
    return 1;
}

int app_args_double(app_args *a, double lo, double hi, double *value)
{
    double v;
    if (app_parse_double(a->value, &v) && v >= lo && v < hi) {
        *value = v;
        return 1;
    }
    if (hi == INFINITY) return app_args_error(a, "%s must be a number >= %g, not '%s'", a->option, lo, a->value);
    return app_args_error(a, "%s must be a number in [%g, %g), not '%s'", a->option, lo, hi, a->value);
}

int app_args_positive(app_args *a, double *value)
{
    double v;
    if (app_parse_double(a->value, &v) && v > 0) {
        *value = v;
        return 1;
    }
    return app_args_error(a, "%s must be a number > 0, not '%s'", a->option, a->value);
}

int app_args_choice(app_args *a, const char *const *choices, int *index)
{
    char list[512];
    size_t used = 0;
    list[0] = '\0';
    for (int k = 0; choices[k]; k++) {
        if (strcmp(a->value, choices[k]) == 0) {
            *index = k;
            return 1;
        }
        int n = snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", choices[k]);
        if (n > 0 && (size_t)n < sizeof list - used) used += (size_t)n;
    }
    return app_args_error(a, "%s must be one of %s, not '%s'", a->option, list, a->value);
}

int app_run_subcommand(const char *app, const char *usage, const app_subcommand *subcommands, int argc, char **argv)
{
    const char *word = argc >= 2 ? argv[1] : NULL;
    if (word && (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0 || strcmp(word, "help") == 0))
        return printf("%s%s", usage, app_device_flags_help), 0;
    char names[256];
    size_t used = 0;
    names[0] = '\0';
    for (int k = 0; subcommands[k].name; k++) {
        if (word && strcmp(word, subcommands[k].name) == 0) return subcommands[k].run(argc - 1, argv + 1);
        int n = snprintf(names + used, sizeof names - used, "%s%s", k ? ", " : "", subcommands[k].name);
        if (n > 0 && (size_t)n < sizeof names - used) used += (size_t)n;
    }
    if (word) fprintf(stderr, "perceptcl %s: unknown subcommand '%s' (%s)\n", app, word, names);
    else fprintf(stderr, "perceptcl %s: needs a subcommand (%s; perceptcl %s --help)\n", app, names, app);
    return 2;
}
