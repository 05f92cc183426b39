/* perceptcl devices: what OpenCL platforms and devices this machine has. */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One object per device, in the listing's order. */
static json_t *devices_json(const pcl_device_info *devices, int count, int chosen)
{
    json_t *list = json_array();
    for (int i = 0; list && i < count; i++) {
        const pcl_device_info *d = &devices[i];
        json_t *item = json_pack(
            "{s:i, s:i, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:b}", "index", d->index,
            "platform_index", d->platform_index, "device_index", d->device_index, "platform", d->platform_name,
            "name", d->name, "vendor", d->vendor, "type", pcl_device_type_name(d->type), "opencl_c_version",
            d->opencl_c_version, "driver_version", d->driver_version, "compute_units", (json_int_t)d->compute_units,
            "global_memory", (json_int_t)d->global_memory, "max_allocation", (json_int_t)d->max_allocation,
            "max_work_group_size", (json_int_t)d->max_work_group_size, "local_memory", (json_int_t)d->local_memory,
            "fp64", d->has_fp64, "fp16", d->has_fp16, "selected", i == chosen);
        if (json_array_append_new(list, item) != 0) json_decref(list), list = NULL;
    }
    return list;
}

static void format_bytes(uint64_t bytes, char *out, size_t size)
{
    if (bytes >= (1ULL << 30)) snprintf(out, size, "%.1f GiB", (double)bytes / (1ULL << 30));
    else if (bytes >= (1ULL << 20)) snprintf(out, size, "%.1f MiB", (double)bytes / (1ULL << 20));
    else snprintf(out, size, "%.0f KiB", (double)bytes / 1024.0);
}

static void print_table(const pcl_device_info *devices, int count, int chosen)
{
    printf("%-3s %-5s %-28s %-40s %-12s %-4s %-9s %-4s %-10s %-10s %-6s %-9s %-4s %-4s\n", "#", "P:D", "platform",
           "name", "vendor", "type", "OpenCL C", "CUs", "global", "max alloc", "max WG", "local", "fp64", "fp16");
    for (int i = 0; i < count; i++) {
        const pcl_device_info *d = &devices[i];
        char pd[16], global[32], alloc[32], local[32], version[32];
        snprintf(pd, sizeof pd, "%d:%d", d->platform_index, d->device_index);
        format_bytes(d->global_memory, global, sizeof global);
        format_bytes(d->max_allocation, alloc, sizeof alloc);
        format_bytes(d->local_memory, local, sizeof local);
        /* "OpenCL C 1.2 pocl" -> "1.2 pocl" */
        snprintf(version, sizeof version, "%s",
                 strncmp(d->opencl_c_version, "OpenCL C ", 9) == 0 ? d->opencl_c_version + 9 : d->opencl_c_version);
        printf("%-3d %-5s %-28.28s %-40.40s %-12.12s %-4s %-9.9s %-4u %-10s %-10s %-6zu %-9s %-4s %-4s%s\n", d->index,
               pd, d->platform_name, d->name, d->vendor, pcl_device_type_name(d->type), version, d->compute_units,
               global, alloc, d->max_work_group_size, local, d->has_fp64 ? "yes" : "no", d->has_fp16 ? "yes" : "no",
               i == chosen ? "  <- selected" : "");
    }
}

static const char usage[] = "usage: perceptcl devices [--json] [device flags]\n\n"
                            "Lists every OpenCL device and marks the one the other commands would use.\n\n";

static const app_option options[] = {{"--json", NULL}, {NULL, NULL}};

int app_devices(int argc, char **argv)
{
    int json = 0;
    pcl_device_selection selection = {0};
    app_args r;
    app_args_init(&r, "devices", usage, options, &selection, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option) app_args_error(&r, "unexpected argument '%s'", r.value);
        else if (app_args_is(&r, "--json")) json = 1;
    }
    if (r.exit_code >= 0) return r.exit_code;
    pcl_device_info *devices = NULL;
    int count = 0;
    if (pcl_devices_list(&devices, &count) != PCL_OK) return app_fail("devices", "listing devices");
    /* A selection that matches nothing is an error (exit 1), as in every
     * other command; the message lists the devices. */
    int chosen = -1;
    if (pcl_device_selection_apply_environment(&selection) != PCL_OK ||
        (count > 0 && pcl_device_select(devices, count, &selection, &chosen) != PCL_OK)) {
        pcl_devices_free(devices);
        return app_fail("devices", "selection");
    }
    int rc = 0;
    if (json) rc = app_print_json("devices", devices_json(devices, count, chosen), 17);
    else print_table(devices, count, chosen);
    pcl_devices_free(devices);
    return rc;
}
