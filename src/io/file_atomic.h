/* Durable atomic file replacement, shared by checkpoints and loss curves. */
#ifndef PERCEPTCL_FILE_ATOMIC_H
#define PERCEPTCL_FILE_ATOMIC_H

#include "perceptcl/status.h"

#include <stddef.h>

/* Writes bytes to a new temporary file in path's folder, fsyncs it, renames
 * it over path and fsyncs the folder, so a crash at any point leaves either
 * the old file or the complete new one. On failure the temporary is removed
 * and the message names path and the failing call. */
pcl_status pcl_file_write_atomic(const char *path, const void *bytes, size_t length);

#endif
