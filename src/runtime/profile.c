/* The kernel profile (PERCEPTCL_PROFILE=FILE, "-" for stderr): every launch
 * through pcl_kernel_launch timed by the device's own event clock and summed
 * per (kernel, build options, global size), so that one layer's pass is one
 * row; the table is written when the context is destroyed. perf and other
 * host profilers see PoCL's kernels only by name, not which layer or which
 * compiled variant ran them. CLBlast's launches are not counted. */
#include "runtime/context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING_MAX 1024 /* events held before they are read and released */

typedef struct profile_row {
    char *kernel; /* name */
    const char *options; /* the program's build options (owned by its program entry) */
    size_t global[3];
    unsigned long calls;
    double ns;
} profile_row;

typedef struct pending_launch {
    int row;
    cl_event event;
} pending_launch;

struct pcl_profile {
    char *path;
    profile_row *rows;
    int row_count, row_capacity;
    pending_launch pending[PENDING_MAX];
    int pending_count;
    unsigned long unreadable; /* launches whose event gave no time */
};

const char *pcl_profile_path(void)
{
    const char *path = getenv("PERCEPTCL_PROFILE");
    return path && *path ? path : NULL;
}

pcl_status pcl_profile_open(pcl_context *context)
{
    const char *path = pcl_profile_path();
    if (!path) return PCL_OK;
    pcl_profile *profile = calloc(1, sizeof *profile);
    if (!profile || !(profile->path = strdup(path))) {
        free(profile);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "out of host memory for the kernel profile");
    }
    context->profile = profile;
    return PCL_OK;
}

static const char *kernel_options(const pcl_context *context, cl_kernel kernel)
{
    for (int i = 0; i < context->kernel_count; i++) {
        if (context->kernels[i].kernel != kernel) continue;
        for (int p = 0; p < context->program_count; p++)
            if (context->programs[p].program == context->kernels[i].program)
                return context->programs[p].options ? context->programs[p].options : "";
    }
    return "";
}

/* The row of (name, options, global), added when new; -1 out of memory. */
static int row_of(pcl_profile *profile, const char *name, const char *options, cl_uint dims, const size_t *global)
{
    size_t g[3] = {1, 1, 1};
    for (cl_uint d = 0; d < dims; d++) g[d] = global[d];
    for (int i = 0; i < profile->row_count; i++) {
        const profile_row *r = &profile->rows[i];
        if (!strcmp(r->kernel, name) && r->options == options && !memcmp(r->global, g, sizeof g)) return i;
    }
    if (profile->row_count == profile->row_capacity) {
        int capacity = profile->row_capacity ? 2 * profile->row_capacity : 64;
        profile_row *rows = realloc(profile->rows, sizeof *rows * (size_t)capacity);
        if (!rows) return -1;
        profile->rows = rows;
        profile->row_capacity = capacity;
    }
    profile_row *r = &profile->rows[profile->row_count];
    if (!(r->kernel = strdup(name))) return -1;
    r->options = options;
    memcpy(r->global, g, sizeof g);
    r->calls = 0;
    r->ns = 0;
    return profile->row_count++;
}

/* Waits for the pending launches and adds their device times. */
static void read_pending(pcl_profile *profile)
{
    for (int i = 0; i < profile->pending_count; i++) {
        pending_launch *p = &profile->pending[i];
        cl_ulong start = 0, end = 0;
        cl_int error = clWaitForEvents(1, &p->event);
        if (error == CL_SUCCESS)
            error = clGetEventProfilingInfo(p->event, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL);
        if (error == CL_SUCCESS)
            error = clGetEventProfilingInfo(p->event, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL);
        if (error == CL_SUCCESS && end >= start) {
            profile->rows[p->row].calls++;
            profile->rows[p->row].ns += (double)(end - start);
        } else {
            profile->unreadable++;
        }
        clReleaseEvent(p->event);
    }
    profile->pending_count = 0;
}

void pcl_profile_record(pcl_context *context, cl_kernel kernel, const char *name, cl_uint dims, const size_t *global,
                        cl_event event)
{
    pcl_profile *profile = context->profile;
    int row = row_of(profile, name, kernel_options(context, kernel), dims, global);
    if (row < 0) {
        profile->unreadable++;
        clReleaseEvent(event);
        return;
    }
    if (profile->pending_count == PENDING_MAX) read_pending(profile);
    profile->pending[profile->pending_count++] = (pending_launch){row, event};
}

static int by_time(const void *a, const void *b)
{
    double x = ((const profile_row *)a)->ns, y = ((const profile_row *)b)->ns;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The table, longest total first: one line per row, then the totals. */
static void write_table(pcl_profile *profile, const char *device, FILE *out)
{
    double total = 0;
    unsigned long calls = 0;
    for (int i = 0; i < profile->row_count; i++) total += profile->rows[i].ns, calls += profile->rows[i].calls;
    qsort(profile->rows, (size_t)profile->row_count, sizeof *profile->rows, by_time);
    fprintf(out, "# perceptcl kernel profile: %s; %lu launches, %.3f s of kernel time (device clock)\n", device, calls,
            total * 1e-9);
    fprintf(out, "# %10s %6s %7s %9s  %-22s %-20s %s\n", "total ms", "share", "calls", "mean ms", "kernel", "global",
            "options");
    for (int i = 0; i < profile->row_count; i++) {
        const profile_row *r = &profile->rows[i];
        if (!r->calls) continue;
        char global[64];
        snprintf(global, sizeof global, "%zux%zux%zu", r->global[0], r->global[1], r->global[2]);
        fprintf(out, "  %10.3f %5.1f%% %7lu %9.4f  %-22s %-20s %s\n", r->ns * 1e-6, total > 0 ? 100 * r->ns / total : 0,
                r->calls, r->ns * 1e-6 / (double)r->calls, r->kernel, global, r->options);
    }
    if (profile->unreadable) fprintf(out, "# %lu launches gave no time\n", profile->unreadable);
}

void pcl_profile_close(pcl_context *context)
{
    pcl_profile *profile = context->profile;
    if (!profile) return;
    read_pending(profile);
    int to_stderr = !strcmp(profile->path, "-");
    FILE *out = to_stderr ? stderr : fopen(profile->path, "w");
    if (out) {
        write_table(profile, context->info.name, out);
        if (!to_stderr) fclose(out);
    } else {
        fprintf(stderr, "perceptcl: PERCEPTCL_PROFILE: cannot write %s\n", profile->path);
    }
    for (int i = 0; i < profile->row_count; i++) free(profile->rows[i].kernel);
    free(profile->rows);
    free(profile->path);
    free(profile);
    context->profile = NULL;
}
