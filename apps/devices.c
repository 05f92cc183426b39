/* perceptcl devices: what OpenCL platforms and devices this machine has. */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_json(const pcl_device_info *devices, int count, int chosen)
{
    printf("[\n");
    for (int i = 0; i < count; i++) {
        const pcl_device_info *d = &devices[i];
        printf("  {\"index\": %d, \"platform_index\": %d, \"device_index\": %d, \"platform\": ", d->index,
               d->platform_index, d->device_index);
        app_print_json_string(stdout, d->platform_name);
        printf(", \"name\": ");
        app_print_json_string(stdout, d->name);
        printf(", \"vendor\": ");
        app_print_json_string(stdout, d->vendor);
        printf(", \"type\": \"%s\", \"opencl_c_version\": ", pcl_device_type_name(d->type));
        app_print_json_string(stdout, d->opencl_c_version);
        printf(", \"driver_version\": ");
        app_print_json_string(stdout, d->driver_version);
        printf(", \"compute_units\": %u, \"global_memory\": %llu, \"max_allocation\": %llu, "
               "\"max_work_group_size\": %zu, \"local_memory\": %llu, \"fp64\": %s, \"fp16\": %s, \"selected\": %s}%s\n",
               d->compute_units, (unsigned long long)d->global_memory, (unsigned long long)d->max_allocation,
               d->max_work_group_size, (unsigned long long)d->local_memory, d->has_fp64 ? "true" : "false",
               d->has_fp16 ? "true" : "false", i == chosen ? "true" : "false", i + 1 < count ? "," : "");
    }
    printf("]\n");
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

int app_devices(int argc, char **argv)
{
    int json = 0;
    pcl_device_selection selection = {0};
    for (int i = 1; i < argc; i++) {
        int used = app_parse_device_flag(argc, argv, &i, &selection);
        if (used < 0) return 2;
        if (used) continue;
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (strcmp(argv[i], "--help") == 0) {
            printf("usage: perceptcl devices [--json] [device flags]\n\n"
                   "Lists every OpenCL device and marks the one the other commands would use.\n\n%s",
                   app_device_flags_help);
            return 0;
        } else {
            fprintf(stderr, "perceptcl devices: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    pcl_device_info *devices = NULL;
    int count = 0;
    if (pcl_devices_list(&devices, &count) != PCL_OK) return app_fail("devices", "listing devices");
    pcl_device_selection_apply_environment(&selection);
    int chosen = -1;
    if (count > 0 && pcl_device_select(devices, count, &selection, &chosen) != PCL_OK) {
        /* The listing is still useful; say why nothing is marked. */
        fprintf(stderr, "perceptcl devices: selection: %s\n", pcl_last_error());
        chosen = -1;
    }
    if (json) print_json(devices, count, chosen);
    else print_table(devices, count, chosen);
    pcl_devices_free(devices);
    return 0;
}
