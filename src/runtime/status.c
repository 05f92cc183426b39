/* Status codes and the per-thread error message. */
#include "runtime/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PCL_MESSAGE_CAPACITY 16384 /* room for a compiler log excerpt */

static _Thread_local char last_message[PCL_MESSAGE_CAPACITY];

const char *pcl_last_error(void) { return last_message; }

void pcl_clear_error(void) { last_message[0] = '\0'; }

pcl_status pcl_fail(pcl_status status, const char *format, ...)
{
    char buffer[PCL_MESSAGE_CAPACITY];
    va_list args;
    va_start(args, format);
    vsnprintf(buffer, sizeof buffer, format, args);
    va_end(args);
    memcpy(last_message, buffer, sizeof buffer);
    return status;
}

pcl_status pcl_fail_cl(cl_int error, const char *what)
{
    return pcl_fail(error == CL_PLATFORM_NOT_FOUND_KHR ? PCL_ERR_NO_PLATFORM : PCL_ERR_OPENCL,
                    "%s failed: %s (%d)", what, pcl_cl_error_name(error), (int)error);
}

const char *pcl_status_name(pcl_status status)
{
    switch (status) {
    case PCL_OK: return "PCL_OK";
    case PCL_ERR_INVALID_ARGUMENT: return "PCL_ERR_INVALID_ARGUMENT";
    case PCL_ERR_OUT_OF_MEMORY: return "PCL_ERR_OUT_OF_MEMORY";
    case PCL_ERR_IO: return "PCL_ERR_IO";
    case PCL_ERR_FORMAT: return "PCL_ERR_FORMAT";
    case PCL_ERR_NO_PLATFORM: return "PCL_ERR_NO_PLATFORM";
    case PCL_ERR_DEVICE_NOT_FOUND: return "PCL_ERR_DEVICE_NOT_FOUND";
    case PCL_ERR_DEVICE_AMBIGUOUS: return "PCL_ERR_DEVICE_AMBIGUOUS";
    case PCL_ERR_OPENCL: return "PCL_ERR_OPENCL";
    case PCL_ERR_BUILD: return "PCL_ERR_BUILD";
    case PCL_ERR_TOO_LARGE: return "PCL_ERR_TOO_LARGE";
    case PCL_ERR_UNDEFINED: return "PCL_ERR_UNDEFINED";
    case PCL_ERR_UNSUPPORTED: return "PCL_ERR_UNSUPPORTED";
    }
    return "PCL_ERR_UNKNOWN";
}
