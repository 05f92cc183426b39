/* Device enumeration and selection (flags, environment, default rule). */
#include "runtime/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PLATFORMS 16
#define MAX_DEVICES_PER_PLATFORM 64

static const char no_platform_hint[] =
    "no OpenCL platform found (CL_PLATFORM_NOT_FOUND_KHR, -1001): install one, e.g. PoCL for the CPU "
    "(Debian/Ubuntu: apt-get install pocl-opencl-icd), or your GPU vendor's OpenCL driver; "
    "the ICD loader looks for *.icd files in /etc/OpenCL/vendors (OCL_ICD_VENDORS overrides)";

static void copy_info_string(cl_device_id device, cl_device_info what, char *out, size_t size)
{
    out[0] = '\0';
    if (clGetDeviceInfo(device, what, size, out, NULL) != CL_SUCCESS) snprintf(out, size, "?");
    out[size - 1] = '\0';
}

static int has_extension(cl_device_id device, const char *extension)
{
    size_t size = 0;
    if (clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, 0, NULL, &size) != CL_SUCCESS) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    int found = 0;
    if (clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, size, text, NULL) == CL_SUCCESS) {
        text[size] = '\0';
        found = strstr(text, extension) != NULL;
    }
    free(text);
    return found;
}

static pcl_device_type type_from_cl(cl_device_type type)
{
    if (type & CL_DEVICE_TYPE_GPU) return PCL_DEVICE_TYPE_GPU;
    if (type & CL_DEVICE_TYPE_CPU) return PCL_DEVICE_TYPE_CPU;
    if (type & CL_DEVICE_TYPE_ACCELERATOR) return PCL_DEVICE_TYPE_ACCELERATOR;
    return PCL_DEVICE_TYPE_ANY;
}

pcl_status pcl_device_info_query(cl_device_id device, pcl_device_info *info)
{
    cl_device_type type = 0;
    cl_uint units = 0;
    cl_ulong global = 0, max_alloc = 0, local = 0;
    size_t work_group = 0;
    PCL_CL_CHECK(clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL), "clGetDeviceInfo(CL_DEVICE_TYPE)");
    PCL_CL_CHECK(clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL),
                 "clGetDeviceInfo(CL_DEVICE_MAX_COMPUTE_UNITS)");
    PCL_CL_CHECK(clGetDeviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, NULL),
                 "clGetDeviceInfo(CL_DEVICE_GLOBAL_MEM_SIZE)");
    PCL_CL_CHECK(clGetDeviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL),
                 "clGetDeviceInfo(CL_DEVICE_MAX_MEM_ALLOC_SIZE)");
    PCL_CL_CHECK(clGetDeviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local, &local, NULL),
                 "clGetDeviceInfo(CL_DEVICE_LOCAL_MEM_SIZE)");
    PCL_CL_CHECK(clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof work_group, &work_group, NULL),
                 "clGetDeviceInfo(CL_DEVICE_MAX_WORK_GROUP_SIZE)");
    copy_info_string(device, CL_DEVICE_NAME, info->name, sizeof info->name);
    copy_info_string(device, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    copy_info_string(device, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    copy_info_string(device, CL_DEVICE_VERSION, info->device_version, sizeof info->device_version);
    copy_info_string(device, CL_DEVICE_OPENCL_C_VERSION, info->opencl_c_version, sizeof info->opencl_c_version);
    info->type = type_from_cl(type);
    info->compute_units = units;
    info->global_memory = global;
    info->max_allocation = max_alloc;
    info->local_memory = local;
    info->max_work_group_size = work_group;
    info->has_fp64 = has_extension(device, "cl_khr_fp64");
    info->has_fp16 = has_extension(device, "cl_khr_fp16");
    return PCL_OK;
}

pcl_status pcl_platform_ids(cl_platform_id *platforms, cl_uint *count)
{
    cl_int error = clGetPlatformIDs(MAX_PLATFORMS, platforms, count);
    if (error == CL_PLATFORM_NOT_FOUND_KHR || (error == CL_SUCCESS && *count == 0))
        return pcl_fail(PCL_ERR_NO_PLATFORM, "%s", no_platform_hint);
    PCL_CL_CHECK(error, "clGetPlatformIDs");
    if (*count > MAX_PLATFORMS) *count = MAX_PLATFORMS;
    return PCL_OK;
}

pcl_status pcl_device_ids(cl_platform_id platform, cl_device_id *devices, cl_uint *count)
{
    cl_int error = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, MAX_DEVICES_PER_PLATFORM, devices, count);
    if (error == CL_DEVICE_NOT_FOUND) {
        *count = 0;
        return PCL_OK;
    }
    PCL_CL_CHECK(error, "clGetDeviceIDs");
    if (*count > MAX_DEVICES_PER_PLATFORM) *count = MAX_DEVICES_PER_PLATFORM;
    return PCL_OK;
}

pcl_status pcl_devices_list(pcl_device_info **devices_out, int *count_out)
{
    cl_platform_id platforms[MAX_PLATFORMS];
    cl_uint platform_count = 0;
    *devices_out = NULL;
    *count_out = 0;
    PCL_TRY(pcl_platform_ids(platforms, &platform_count));

    pcl_device_info *devices = NULL;
    int count = 0;
    for (cl_uint p = 0; p < platform_count; p++) {
        char platform_name[128] = "?";
        clGetPlatformInfo(platforms[p], CL_PLATFORM_NAME, sizeof platform_name, platform_name, NULL);
        platform_name[sizeof platform_name - 1] = '\0';
        cl_device_id ids[MAX_DEVICES_PER_PLATFORM];
        cl_uint id_count = 0;
        pcl_status status = pcl_device_ids(platforms[p], ids, &id_count);
        if (status != PCL_OK) {
            free(devices);
            return status;
        }
        for (cl_uint d = 0; d < id_count; d++) {
            pcl_device_info *grown = realloc(devices, (size_t)(count + 1) * sizeof *devices);
            if (!grown) {
                free(devices);
                return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "out of host memory listing devices");
            }
            devices = grown;
            pcl_device_info *info = &devices[count];
            memset(info, 0, sizeof *info);
            status = pcl_device_info_query(ids[d], info);
            if (status != PCL_OK) {
                free(devices);
                return status;
            }
            snprintf(info->platform_name, sizeof info->platform_name, "%s", platform_name);
            info->index = count;
            info->platform_index = (int)p;
            info->device_index = (int)d;
            count++;
        }
    }
    *devices_out = devices;
    *count_out = count;
    return PCL_OK;
}

void pcl_devices_free(pcl_device_info *devices) { free(devices); }

const char *pcl_device_type_name(pcl_device_type type)
{
    switch (type) {
    case PCL_DEVICE_TYPE_CPU: return "cpu";
    case PCL_DEVICE_TYPE_GPU: return "gpu";
    case PCL_DEVICE_TYPE_ACCELERATOR: return "accelerator";
    case PCL_DEVICE_TYPE_ANY: return "any";
    }
    return "?";
}

pcl_status pcl_device_type_parse(const char *text, pcl_device_type *type)
{
    static const pcl_device_type all[] = {PCL_DEVICE_TYPE_CPU, PCL_DEVICE_TYPE_GPU,
                                          PCL_DEVICE_TYPE_ACCELERATOR, PCL_DEVICE_TYPE_ANY};
    for (size_t i = 0; text && i < sizeof all / sizeof all[0]; i++) {
        if (strcasecmp(text, pcl_device_type_name(all[i])) == 0) {
            *type = all[i];
            return PCL_OK;
        }
    }
    return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "unknown device type '%s' (expected cpu, gpu, accelerator or any)",
                    text ? text : "(null)");
}

pcl_status pcl_device_selection_apply_environment(pcl_device_selection *selection)
{
    const char *value;
    if (!selection->platform && (value = getenv("PERCEPTCL_PLATFORM")) && *value) selection->platform = value;
    if (!selection->device && (value = getenv("PERCEPTCL_DEVICE")) && *value) selection->device = value;
    if (!selection->type_set && (value = getenv("PERCEPTCL_DEVICE_TYPE")) && *value) {
        /* A bad value is an error as --device-type's is, not silently "any". */
        if (pcl_device_type_parse(value, &selection->type) != PCL_OK)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "PERCEPTCL_DEVICE_TYPE: %s", pcl_last_error());
        selection->type_set = 1;
    }
    return PCL_OK;
}

/* Parses a whole non-negative decimal number; -1 if text is not one. */
static long parse_index(const char *text)
{
    if (!*text) return -1;
    char *end;
    long value = strtol(text, &end, 10);
    if (*end != '\0' || value < 0 || !isdigit((unsigned char)text[0])) return -1;
    return value;
}

static int contains_case_insensitive(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *h = haystack; *h; h++)
        if (strncasecmp(h, needle, n) == 0) return 1;
    return n == 0;
}

/* Appends the device table to the current message (for not-found and ambiguous errors). */
static pcl_status fail_listing(pcl_status status, const pcl_device_info *devices, int count, const char *what)
{
    char list[4096];
    size_t used = 0;
    for (int i = 0; i < count && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s  [%d] %d:%d %s (%s, %s)", i ? ";" : "",
                                 devices[i].index, devices[i].platform_index, devices[i].device_index,
                                 devices[i].name, devices[i].platform_name, pcl_device_type_name(devices[i].type));
    return pcl_fail(status, "%s; devices:%s", what, count ? list : " none");
}

pcl_status pcl_device_select(const pcl_device_info *devices, int count, const pcl_device_selection *selection,
                             int *chosen)
{
    char what[512];
    /* Candidates: type filter, then platform filter. */
    int candidates[1024];
    int n = 0;
    long platform_index = selection->platform ? parse_index(selection->platform) : -1;
    int matched_platform = -1;
    for (int i = 0; i < count && n < 1024; i++) {
        const pcl_device_info *d = &devices[i];
        if (selection->type != PCL_DEVICE_TYPE_ANY && d->type != selection->type) continue;
        if (selection->platform) {
            int match = platform_index >= 0 ? d->platform_index == platform_index
                                            : contains_case_insensitive(d->platform_name, selection->platform);
            if (!match) continue;
            if (platform_index < 0 && matched_platform >= 0 && matched_platform != d->platform_index) {
                snprintf(what, sizeof what, "platform '%s' is ambiguous: it matches more than one platform",
                         selection->platform);
                return fail_listing(PCL_ERR_DEVICE_AMBIGUOUS, devices, count, what);
            }
            matched_platform = d->platform_index;
        }
        candidates[n++] = i;
    }
    const char *type_text = selection->type == PCL_DEVICE_TYPE_ANY ? "" : pcl_device_type_name(selection->type);
    const char *type_space = *type_text ? " " : ""; /* "no device", "no gpu device" */

    if (!selection->device) {
        /* Default rule: the GPUs, else the CPUs, else every candidate; of
         * them the first, or for local rank r the (r mod count)-th. */
        static const pcl_device_type order[] = {PCL_DEVICE_TYPE_GPU, PCL_DEVICE_TYPE_CPU};
        const int rank = selection->local_rank > 0 ? selection->local_rank : 0;
        for (size_t o = 0; o <= 2; o++) {
            int of_type[1024], m = 0;
            for (int k = 0; k < n; k++)
                if (o == 2 || devices[candidates[k]].type == order[o]) of_type[m++] = candidates[k];
            if (m > 0) {
                *chosen = of_type[rank % m];
                return PCL_OK;
            }
        }
        snprintf(what, sizeof what, "no %s%sdevice%s%s%s", type_text, type_space,
                 selection->platform ? " on platform '" : "", selection->platform ? selection->platform : "",
                 selection->platform ? "'" : "");
        return fail_listing(PCL_ERR_DEVICE_NOT_FOUND, devices, count, what);
    }

    const char *text = selection->device;
    const char *colon = strchr(text, ':');
    long index = parse_index(text);
    int found = -1, matches = 0;
    if (colon && parse_index(colon + 1) >= 0) {
        /* "P:D": platform index, device index within it. */
        char platform_part[32];
        size_t len = (size_t)(colon - text);
        if (len >= sizeof platform_part) len = sizeof platform_part - 1;
        memcpy(platform_part, text, len);
        platform_part[len] = '\0';
        long p = parse_index(platform_part), d = parse_index(colon + 1);
        for (int k = 0; k < n && p >= 0; k++)
            if (devices[candidates[k]].platform_index == p && devices[candidates[k]].device_index == d) {
                found = candidates[k];
                matches = 1;
            }
    } else if (index >= 0) {
        /* A number: the global index, or the index within --platform when given. */
        for (int k = 0; k < n; k++) {
            const pcl_device_info *d = &devices[candidates[k]];
            if ((selection->platform ? d->device_index : d->index) == index) {
                found = candidates[k];
                matches = 1;
            }
        }
    } else {
        for (int k = 0; k < n; k++)
            if (contains_case_insensitive(devices[candidates[k]].name, text)) {
                if (found < 0) found = candidates[k];
                matches++;
            }
    }
    if (matches == 1) {
        *chosen = found;
        return PCL_OK;
    }
    snprintf(what, sizeof what, "device '%s'%s%s%s%s%s %s", text, *type_text ? " of type " : "", type_text,
             selection->platform ? " on platform '" : "", selection->platform ? selection->platform : "",
             selection->platform ? "'" : "", matches ? "is ambiguous: it matches more than one device" : "matches no device");
    return fail_listing(matches ? PCL_ERR_DEVICE_AMBIGUOUS : PCL_ERR_DEVICE_NOT_FOUND, devices, count, what);
}
