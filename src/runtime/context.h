/* The context's private layout, shared by context.c and program.c. */
#ifndef PERCEPTCL_CONTEXT_H
#define PERCEPTCL_CONTEXT_H

#include "runtime/internal.h"

typedef struct pcl_program_entry {
    char *source_name;
    char *options;
    cl_program program;
} pcl_program_entry;

typedef struct pcl_kernel_entry {
    cl_program program;
    char *kernel_name;
    cl_kernel kernel;
} pcl_kernel_entry;

/* Live device bytes of a context's buffers (device_memory.c). */
typedef struct pcl_memory_account pcl_memory_account;

struct pcl_context {
    pcl_device_info info;
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl;
    cl_command_queue queue;
    size_t work_group_limit; /* 0: the device's */
    pcl_program_entry *programs;
    int program_count;
    pcl_kernel_entry *kernels;
    int kernel_count;
    pcl_memory_account *memory; /* created by the first buffer */
    uint64_t memory_limit;      /* 0: the device's global memory */
    cl_mem scratch[PCL_SCRATCH_SLOT_COUNT]; /* shared by the layers (pcl_context_scratch) */
    size_t scratch_bytes[PCL_SCRATCH_SLOT_COUNT];
};

/* Checks that a buffer of bytes fits what the device can hold (device_memory.c);
 * PCL_ERR_OUT_OF_MEMORY naming the device otherwise. */
pcl_status pcl_device_memory_reserve(pcl_context *context, size_t bytes);
/* Counts a created buffer's bytes until the driver destroys it. */
pcl_status pcl_device_memory_track(pcl_context *context, cl_mem buffer, size_t bytes);
/* The context's share of the account, given up when it is destroyed. */
void pcl_device_memory_release_account(pcl_context *context);

#endif
