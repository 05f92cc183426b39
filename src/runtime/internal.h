/* Internal helpers shared by the library's source files (not installed). */
#ifndef PERCEPTCL_INTERNAL_H
#define PERCEPTCL_INTERNAL_H

#include "perceptcl/device.h"
#include "perceptcl/status.h"

#include <stddef.h>

#ifndef CL_PLATFORM_NOT_FOUND_KHR
#define CL_PLATFORM_NOT_FOUND_KHR -1001
#endif

/* Records a formatted message for this thread and returns status. */
pcl_status pcl_fail(pcl_status status, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Records "<what> failed: CL_NAME (code)" and returns PCL_ERR_OPENCL
 * (PCL_ERR_NO_PLATFORM for -1001). */
pcl_status pcl_fail_cl(cl_int error, const char *what);

/* Evaluates an OpenCL call; on error records it and returns from the caller. */
#define PCL_CL_CHECK(call, what)                                  \
    do {                                                          \
        cl_int pcl_check_error_ = (call);                         \
        if (pcl_check_error_ != CL_SUCCESS)                       \
            return pcl_fail_cl(pcl_check_error_, (what));         \
    } while (0)

/* Propagates a failed pcl_status. */
#define PCL_TRY(call)                                             \
    do {                                                          \
        pcl_status pcl_try_status_ = (call);                      \
        if (pcl_try_status_ != PCL_OK) return pcl_try_status_;    \
    } while (0)

static inline size_t pcl_round_up(size_t value, size_t multiple)
{
    return (value + multiple - 1) / multiple * multiple;
}

/* Device enumeration pieces shared by device.c and context.c. */
pcl_status pcl_platform_ids(cl_platform_id *platforms, cl_uint *count);
pcl_status pcl_device_ids(cl_platform_id platform, cl_device_id *devices, cl_uint *count);
pcl_status pcl_device_info_query(cl_device_id device, pcl_device_info *info);

#include "runtime/runtime.h"

#endif
