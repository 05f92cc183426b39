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
};

#endif
