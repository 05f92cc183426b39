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

/* The kernel profile of PERCEPTCL_PROFILE (profile.c). */
typedef struct pcl_profile pcl_profile;

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
    pcl_profile *profile; /* NULL unless PERCEPTCL_PROFILE is set */
};

/* Checks that a buffer of bytes fits what the device can hold (device_memory.c);
 * PCL_ERR_OUT_OF_MEMORY naming the device otherwise. */
pcl_status pcl_device_memory_reserve(pcl_context *context, size_t bytes);
/* Counts a created buffer's bytes until the driver destroys it. */
pcl_status pcl_device_memory_track(pcl_context *context, cl_mem buffer, size_t bytes);
/* The context's share of the account, given up when it is destroyed. */
void pcl_device_memory_release_account(pcl_context *context);

/* PERCEPTCL_PROFILE's file, NULL when no profile is asked for. */
const char *pcl_profile_path(void);
/* PERCEPTCL_PROFILE set: starts the context's kernel profile (its queue
 * must time events: CL_QUEUE_PROFILING_ENABLE). */
pcl_status pcl_profile_open(pcl_context *context);
/* Takes event (the launch of kernel `name` over global): its time is added
 * to the profile once the device ran it. */
void pcl_profile_record(pcl_context *context, cl_kernel kernel, const char *name, cl_uint dims, const size_t *global,
                        cl_event event);
/* Writes the profile to PERCEPTCL_PROFILE's file and frees it. */
void pcl_profile_close(pcl_context *context);

#endif
