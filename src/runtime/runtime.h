/* The kernel runtime: OpenCL C sources embedded at build time, programs built
 * once per context, binaries cached on disk, and launches sized from what the
 * device reports.
 *
 * Sources are named by their file name in kernels/ ("ssim.cl"). With
 * PERCEPTCL_KERNEL_DIR set, sources are read from that folder instead, for
 * kernel development without rebuilding the library.
 *
 * Binary cache: one file per (platform, device, driver version, source hash,
 * build options) in $PERCEPTCL_CACHE_DIR, else $XDG_CACHE_HOME/perceptcl,
 * else ~/.cache/perceptcl. PERCEPTCL_CACHE_DIR=off disables it. Entries are
 * written to a temporary file and renamed into place; a corrupt or rejected
 * entry is rebuilt from source and rewritten, never fatal. */
#ifndef PERCEPTCL_RUNTIME_H
#define PERCEPTCL_RUNTIME_H

#include "perceptcl/device.h"

#include <stddef.h>

/* A kernel source after #include resolution. text is NUL-terminated. */
typedef struct pcl_kernel_source {
    char *text;
    size_t length;
} pcl_kernel_source;

/* Reads name from PERCEPTCL_KERNEL_DIR if set, else from the embedded copy.
 * Release with pcl_kernel_source_free. */
pcl_status pcl_kernel_source_load(const char *name, pcl_kernel_source *source);
void pcl_kernel_source_free(pcl_kernel_source *source);

/* Resolves `#include "other.cl"` lines of the file dir/name recursively and
 * inserts #line markers so compiler logs name the real file and line. Shared
 * by the build-time embedder and PERCEPTCL_KERNEL_DIR loading. */
pcl_status pcl_kernel_source_read_file(const char *dir, const char *name, pcl_kernel_source *source);

/* How the last pcl_program_get obtained its program (for tests and logs). */
typedef enum pcl_program_origin {
    PCL_PROGRAM_FROM_MEMORY = 0, /* already built in this context */
    PCL_PROGRAM_FROM_DISK_CACHE, /* loaded from a cached binary */
    PCL_PROGRAM_FROM_SOURCE      /* compiled from source (and cached) */
} pcl_program_origin;

/* The program built from source `name` with `options` (may be NULL), built at
 * most once per context. On a build failure the message names the device and
 * holds the full build log. */
pcl_status pcl_program_get(pcl_context *context, const char *name, const char *options,
                           cl_program *program, pcl_program_origin *origin);

/* A kernel of that program, created once per context and owned by it. */
pcl_status pcl_kernel_get(pcl_context *context, const char *source_name, const char *options,
                          const char *kernel_name, cl_kernel *kernel);

/* The work-group size limit for kernel on this context: the least of the
 * device's, the kernel's, and the context's test limit. */
pcl_status pcl_kernel_work_group_limit(pcl_context *context, cl_kernel kernel, size_t *limit);

/* Sets kernel arguments from (size, pointer) pairs: count pairs follow. */
pcl_status pcl_kernel_set_args(cl_kernel kernel, const char *kernel_name, int count, ...);

/* Enqueues kernel over global (rounded up to the chosen local size when local
 * is NULL: kernels must bounds-check). With local given, it is checked
 * against the limit and refused with a clear message if too large. */
pcl_status pcl_kernel_launch(pcl_context *context, cl_kernel kernel, const char *kernel_name,
                             cl_uint dims, const size_t *global, const size_t *local);

/* Chooses a local size for dims dimensions within limit, favouring the first
 * dimension, then the next. Pure function. */
void pcl_choose_local_size(cl_uint dims, const size_t *global, size_t limit, size_t *local);

/* 64-bit FNV-1a, for cache keys. */
uint64_t pcl_hash64(const void *data, size_t length, uint64_t seed);

/* 0 when a driver binary is visibly cut or padded (its own record lengths do
 * not add up to size; PoCL's format, driver_binary.c), 1 otherwise. The
 * cache treats 0 as a miss instead of handing the bytes to the driver. */
int pcl_driver_binary_complete(const unsigned char *binary, size_t size);

/* Cache folder in use ("" when disabled). */
const char *pcl_cache_dir(void);

/* The kinds of scratch buffer a context shares among its layers
 * (context.c): one buffer each, grown to the largest request. */
typedef enum pcl_scratch_slot {
    PCL_SCRATCH_SLOT_CONV_COL,     /* conv2d: im2col / dcol panels, dx phases */
    PCL_SCRATCH_SLOT_CONV_T,       /* conv2d: the GEMM's output T (general, packed paths) */
    PCL_SCRATCH_SLOT_CONV_PARTIAL, /* conv2d: per-image channel sums (bias gradient) */
    PCL_SCRATCH_SLOT_CONV_WP,      /* conv2d: packed weights */
    PCL_SCRATCH_SLOT_CONV_PAD,     /* conv2d: a padded (phase-split) input or dy */
    PCL_SCRATCH_SLOT_CONV_DYQ,     /* conv2d: dy re-laid for the weight gradient */
    PCL_SCRATCH_SLOT_CONV_DWPART,  /* conv2d: per-chunk weight-gradient partial sums */
    PCL_SCRATCH_SLOT_CONV_PHASES,  /* conv2d on an upsampled input: the phase outputs or their gradients */
    PCL_SCRATCH_SLOT_GEMM_A,       /* gemm.c: packed A panels (a shared pcl_gemm_scratch) */
    PCL_SCRATCH_SLOT_GEMM_B,       /* gemm.c: packed B panels */
    PCL_SCRATCH_SLOT_GEMM_PARTIAL, /* gemm.c: split-K partial sums */
    PCL_SCRATCH_SLOT_COUNT
} pcl_scratch_slot;

/* *buffer = the context's scratch buffer of that kind, grown to at least
 * bytes (contents undefined). Borrowed: valid until the next request for the
 * same slot, so a caller asks again in every call that uses it and never
 * keeps data in it from one layer call to the next. */
pcl_status pcl_context_scratch(pcl_context *context, pcl_scratch_slot slot, size_t bytes, cl_mem *buffer);

/* Bytes of the context's live buffers (device_memory.c; for tests). */
size_t pcl_device_memory_in_use(const pcl_context *context);

#endif
