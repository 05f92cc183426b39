/* What every app shares: opening the device, error lines, JSON on stdout. */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pcl_comm *job; /* main's (app_set_comm) */

void app_set_comm(pcl_comm *comm) { job = comm; }
pcl_comm *app_comm(void) { return job; }
int app_is_root(void) { return pcl_comm_rank(job) == 0; }

pcl_context *app_open_context(const pcl_device_selection *selection)
{
    pcl_context *context = NULL;
    pcl_device_selection mine = *selection;
    mine.local_rank = pcl_comm_local_rank(job); /* one device per rank when there are several */
    char rank[48] = "";
    if (pcl_comm_size(job) > 1) snprintf(rank, sizeof rank, " (rank %d of %d)", pcl_comm_rank(job), pcl_comm_size(job));
    if (pcl_context_create(&mine, &context) != PCL_OK) {
        fprintf(stderr, "perceptcl%s: cannot open an OpenCL device: %s\n", rank, pcl_last_error());
        return NULL;
    }
    const pcl_device_info *info = pcl_context_device(context);
    fprintf(stderr, "perceptcl%s: device [%d] %s (%s, %s)\n", rank, info->index, info->name, info->platform_name,
            pcl_device_type_name(info->type));
    return context;
}

int app_fail(const char *app, const char *what)
{
    /* Readers' messages already start with the path: "x.png: x.png: ..." said it twice. */
    const char *message = pcl_last_error();
    size_t n = strlen(what);
    if (strncmp(message, what, n) == 0 && message[n] == ':')
        fprintf(stderr, "perceptcl %s: %s\n", app, message);
    else
        fprintf(stderr, "perceptcl %s: %s: %s\n", app, what, message);
    return 1;
}

int app_print_json(const char *app, json_t *doc, int digits)
{
    int rc = 0;
    if (!doc) rc = (fprintf(stderr, "perceptcl %s: out of memory for the JSON output\n", app), 1);
    else if (json_dumpf(doc, stdout, JSON_REAL_PRECISION(digits)) != 0 || fputc('\n', stdout) == EOF)
        rc = (fprintf(stderr, "perceptcl %s: cannot write the JSON output\n", app), 1);
    json_decref(doc);
    return rc;
}

double app_round(double value, int decimals)
{
    char text[64];
    snprintf(text, sizeof text, "%.*f", decimals, value);
    return strtod(text, NULL);
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

double app_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
