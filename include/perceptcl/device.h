/* perceptcl: OpenCL devices and the context every other call runs on.
 *
 * Selection (the same in every app):
 *   --platform P        platform index or case-insensitive name substring
 *   --device D          global index (as `perceptcl devices` numbers them), "P:D"
 *                       (platform index : device index within it), or a
 *                       case-insensitive substring of the device name
 *   --device-type T     cpu | gpu | accelerator | any
 * Precedence: flag > environment (PERCEPTCL_PLATFORM, PERCEPTCL_DEVICE,
 * PERCEPTCL_DEVICE_TYPE) > default (the first GPU, else the first CPU, else the
 * first device). A selection matching nothing or more than one device fails
 * with a message that lists the devices. */
#ifndef PERCEPTCL_DEVICE_H
#define PERCEPTCL_DEVICE_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stddef.h>
#include <stdint.h>

#include "perceptcl/export.h"
#include "perceptcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pcl_device_type {
    PCL_DEVICE_TYPE_ANY = 0,
    PCL_DEVICE_TYPE_CPU,
    PCL_DEVICE_TYPE_GPU,
    PCL_DEVICE_TYPE_ACCELERATOR
} pcl_device_type;

typedef struct pcl_device_info {
    int index;          /* position in the list of all devices of all platforms */
    int platform_index; /* platform position */
    int device_index;   /* position within its platform */
    char platform_name[128];
    char name[128];
    char vendor[128];
    char driver_version[64];
    char device_version[64];
    char opencl_c_version[64];
    pcl_device_type type;
    unsigned compute_units;
    uint64_t global_memory;  /* bytes */
    uint64_t max_allocation; /* bytes, CL_DEVICE_MAX_MEM_ALLOC_SIZE */
    uint64_t local_memory;   /* bytes */
    size_t max_work_group_size;
    int has_fp64;
    int has_fp16;
} pcl_device_info;

typedef struct pcl_device_selection {
    const char *platform;  /* NULL: any */
    const char *device;    /* NULL: default rule */
    pcl_device_type type;  /* PCL_DEVICE_TYPE_ANY: no filter */
    int type_set;          /* nonzero when type was given explicitly */
    int local_rank;        /* with no device named: the default rule's devices are
                              shared out, local rank r takes the (r mod count)-th
                              (one rank per device under mpirun); 0: the first */
} pcl_device_selection;

/* Lists every device of every platform. On success *devices is an array of
 * *count entries to release with pcl_devices_free. No platform at all gives
 * PCL_ERR_NO_PLATFORM with a hint on how to install one. */
PCL_API pcl_status pcl_devices_list(pcl_device_info **devices, int *count);
PCL_API void pcl_devices_free(pcl_device_info *devices);

/* Parses "cpu", "gpu", "accelerator" or "any" (case-insensitive). */
PCL_API pcl_status pcl_device_type_parse(const char *text, pcl_device_type *type);
PCL_API const char *pcl_device_type_name(pcl_device_type type);

/* Fills the unset fields of *selection from the environment variables.
 * PCL_ERR_INVALID_ARGUMENT naming PERCEPTCL_DEVICE_TYPE when its value is not
 * a device type (an error, as --device-type with that value is). */
PCL_API pcl_status pcl_device_selection_apply_environment(pcl_device_selection *selection);

/* Chooses one device from a list (no OpenCL calls: testable anywhere).
 * *chosen is an index into devices. */
PCL_API pcl_status pcl_device_select(const pcl_device_info *devices, int count, const pcl_device_selection *selection,
                                     int *chosen);

typedef struct pcl_context pcl_context;

/* Opens the selected device (environment applied) with one in-order queue. */
PCL_API pcl_status pcl_context_create(const pcl_device_selection *selection, pcl_context **context);
PCL_API void pcl_context_destroy(pcl_context *context);

PCL_API const pcl_device_info *pcl_context_device(const pcl_context *context);
PCL_API cl_context pcl_context_cl(const pcl_context *context);
PCL_API cl_command_queue pcl_context_queue(const pcl_context *context);
PCL_API cl_device_id pcl_context_device_id(const pcl_context *context);

/* Caps the work-group size the library uses below what the device reports
 * (0 restores the device's limit). For testing small-limit devices. */
PCL_API void pcl_context_set_work_group_limit(pcl_context *context, size_t limit);
/* Lowers the device memory the context's buffers may use together (0: the
 * device's CL_DEVICE_GLOBAL_MEM_SIZE). pcl_buffer_create refuses a buffer that
 * would not fit with PCL_ERR_OUT_OF_MEMORY (on a CPU device, also one the host
 * cannot reserve now), instead of leaving the driver to abort at first use. */
PCL_API void pcl_context_set_memory_limit(pcl_context *context, uint64_t bytes);

/* Waits for all queued work; reports an asynchronous failure. */
PCL_API pcl_status pcl_context_finish(pcl_context *context);

/* Device buffers. Sizes over the device's maximum allocation are refused
 * with PCL_ERR_TOO_LARGE before OpenCL is asked. */
PCL_API pcl_status pcl_buffer_create(pcl_context *context, size_t bytes, cl_mem *buffer);
PCL_API pcl_status pcl_buffer_write(pcl_context *context, cl_mem buffer, size_t offset,
                            size_t bytes, const void *data);
PCL_API pcl_status pcl_buffer_read(pcl_context *context, cl_mem buffer, size_t offset,
                           size_t bytes, void *data);
/* Sets bytes / 4 floats from byte offset to value (a kernel: kernels/fill.cl). */
PCL_API pcl_status pcl_buffer_fill(pcl_context *context, cl_mem buffer, size_t offset, size_t bytes, float value);
PCL_API pcl_status pcl_buffer_fill_zero(pcl_context *context, cl_mem buffer, size_t offset, size_t bytes);
PCL_API void pcl_buffer_release(cl_mem buffer);

/* The name of an OpenCL error code ("CL_OUT_OF_RESOURCES"). */
PCL_API const char *pcl_cl_error_name(cl_int error);

#ifdef __cplusplus
}
#endif
#endif
