/* perceptcl: status codes and error messages.
 *
 * Every library call returns a pcl_status. On failure the call also records a
 * one-line message saying what failed and why; pcl_last_error() returns it.
 * The message is kept per thread (like errno), so host-only calls that have no
 * device context (image readers, dataset loaders) report errors the same way.
 * The library never exits or aborts on bad input. */
#ifndef PERCEPTCL_STATUS_H
#define PERCEPTCL_STATUS_H

#include "perceptcl/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pcl_status {
    PCL_OK = 0,
    PCL_ERR_INVALID_ARGUMENT, /* a caller passed something out of range */
    PCL_ERR_OUT_OF_MEMORY,    /* host allocation failed */
    PCL_ERR_IO,               /* a file could not be opened, read or written */
    PCL_ERR_FORMAT,           /* a file's contents are truncated, corrupt or of the wrong kind */
    PCL_ERR_NO_PLATFORM,      /* no OpenCL platform is installed (ICD error -1001) */
    PCL_ERR_DEVICE_NOT_FOUND, /* a device selection matched nothing */
    PCL_ERR_DEVICE_AMBIGUOUS, /* a device selection matched more than one device */
    PCL_ERR_OPENCL,           /* an OpenCL call failed; the message names the call and the error */
    PCL_ERR_BUILD,            /* an OpenCL program failed to compile; the message holds the log */
    PCL_ERR_TOO_LARGE,        /* a buffer over the max allocation, an image over the pixel limit */
    PCL_ERR_UNDEFINED,        /* the quantity is mathematically undefined for this input */
    PCL_ERR_UNSUPPORTED       /* the device or build lacks a needed feature */
} pcl_status;

/* The message of the last failed call on this thread ("" if none). */
PCL_API const char *pcl_last_error(void);

/* A short constant name for a status ("PCL_ERR_IO"). */
PCL_API const char *pcl_status_name(pcl_status status);

/* Clears the message of this thread. */
PCL_API void pcl_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif
