/* perceptcl: checkpoints in the safetensors format.
 *
 * A checkpoint is a set of named float32 tensors plus a string-to-string
 * metadata map, kept on the host. The file format is safetensors
 * (https://github.com/huggingface/safetensors), so PyTorch and NumPy read it
 * (safetensors.numpy.load_file):
 *   8 bytes   N, the header length, unsigned little-endian
 *   N bytes   a UTF-8 JSON object: "__metadata__": {string: string} and, per
 *             tensor, "name": {"dtype": "F32", "shape": [d0, ...],
 *             "data_offsets": [begin, end]} (offsets relative to the byte
 *             after the header; end - begin = 4 * product of shape)
 *   the data  float32 little-endian, row-major (C order), tensors packed in
 *             the order written, no gaps.
 * Our writer pads the header with spaces to a multiple of 8 bytes (as the
 * reference writer does) and writes tensors in the order added.
 *
 * Writing is atomic: a temporary file in the same folder, fsync, rename over
 * the target, fsync of the folder; an interrupted run leaves either the old
 * file or the new one. Reading refuses truncated or inconsistent files with
 * a message naming the file, the byte offset and what was expected: header
 * length beyond the file or above 100 MB, bad JSON (parsed by jansson:
 * duplicate keys anywhere, invalid UTF-8, NUL characters and nesting deeper
 * than its parser's limit refused), dtype other than F32, shape and
 * data_offsets that disagree or whose byte count overflows, offsets out of
 * range, overlapping or leaving gaps, unknown keys. Errors in the header's
 * JSON name the byte where the parser stopped; errors in what the header
 * means name the header's start (offset 8) or the tensor's data. */
#ifndef PERCEPTCL_CHECKPOINT_H
#define PERCEPTCL_CHECKPOINT_H

#include "perceptcl/export.h"
#include "perceptcl/tensor.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PCL_CHECKPOINT_MAX_DIMS 8

typedef struct pcl_checkpoint pcl_checkpoint;

PCL_API pcl_status pcl_checkpoint_create(pcl_checkpoint **checkpoint);
PCL_API void pcl_checkpoint_destroy(pcl_checkpoint *checkpoint);

/* Adds a tensor (data copied: product of shape floats; ndim 0 is a scalar).
 * Names must be unique, non-empty, valid UTF-8 and not "__metadata__". */
PCL_API pcl_status pcl_checkpoint_add(pcl_checkpoint *checkpoint, const char *name, int ndim, const int64_t *shape,
                                      const float *data);
/* Adds a device tensor with shape [n, c, h, w] (downloads it). */
PCL_API pcl_status pcl_checkpoint_add_tensor(pcl_checkpoint *checkpoint, const char *name, const pcl_tensor *tensor);
/* The same with the given shape, which must hold the tensor's values (e.g.
 * PyTorch's (C) for a 1 x C x 1 x 1 bias). */
PCL_API pcl_status pcl_checkpoint_add_tensor_shaped(pcl_checkpoint *checkpoint, const char *name,
                                                    const pcl_tensor *tensor, int ndim, const int64_t *shape);

/* Sets a metadata entry (copied; replaces an existing key); key and value
 * must be valid UTF-8 (the header is JSON). */
PCL_API pcl_status pcl_checkpoint_set_metadata(pcl_checkpoint *checkpoint, const char *key, const char *value);
/* The value of key, or NULL when absent. */
PCL_API const char *pcl_checkpoint_metadata(const pcl_checkpoint *checkpoint, const char *key);
/* Integer metadata: fails (naming the key) when absent or not an integer. */
PCL_API pcl_status pcl_checkpoint_metadata_i64(const pcl_checkpoint *checkpoint, const char *key, int64_t *value);
PCL_API pcl_status pcl_checkpoint_metadata_u64(const pcl_checkpoint *checkpoint, const char *key, uint64_t *value);
PCL_API pcl_status pcl_checkpoint_set_metadata_i64(pcl_checkpoint *checkpoint, const char *key, int64_t value);
PCL_API pcl_status pcl_checkpoint_set_metadata_u64(pcl_checkpoint *checkpoint, const char *key, uint64_t value);
PCL_API int pcl_checkpoint_metadata_count(const pcl_checkpoint *checkpoint);
PCL_API void pcl_checkpoint_metadata_entry(const pcl_checkpoint *checkpoint, int index, const char **key,
                                           const char **value);

/* Tensors in file order. Any output may be NULL; shape has ndim entries. */
PCL_API int pcl_checkpoint_count(const pcl_checkpoint *checkpoint);
PCL_API pcl_status pcl_checkpoint_entry(const pcl_checkpoint *checkpoint, int index, const char **name, int *ndim,
                                        const int64_t **shape, const float **data);

/* The data of the tensor called name, checked against the expected shape
 * (fails naming the checkpoint's path, the tensor and both shapes). */
PCL_API pcl_status pcl_checkpoint_find(const pcl_checkpoint *checkpoint, const char *name, int ndim,
                                       const int64_t *shape, const float **data);
/* The same, and fails (naming the tensor and the element) when a value is
 * NaN or infinite: how loaders refuse the weights of a diverged run. */
PCL_API pcl_status pcl_checkpoint_find_finite(const pcl_checkpoint *checkpoint, const char *name, int ndim,
                                              const int64_t *shape, const float **data);
/* Uploads the tensor called name into a device tensor; the stored shape must
 * be [n, c, h, w] of that tensor and its values finite (find_finite). */
PCL_API pcl_status pcl_checkpoint_load_tensor(const pcl_checkpoint *checkpoint, const char *name, pcl_tensor *tensor);
/* The same where the stored shape must be the given one (which must hold
 * the tensor's values). */
PCL_API pcl_status pcl_checkpoint_load_tensor_shaped(const pcl_checkpoint *checkpoint, const char *name,
                                                     pcl_tensor *tensor, int ndim, const int64_t *shape);

/* Writes atomically (see the top of this file). */
PCL_API pcl_status pcl_checkpoint_write(const pcl_checkpoint *checkpoint, const char *path);
/* Reads and validates a whole file. */
PCL_API pcl_status pcl_checkpoint_read(const char *path, pcl_checkpoint **checkpoint);
/* The same from memory; name labels messages (a path, "<memory>"). */
PCL_API pcl_status pcl_checkpoint_parse(const void *bytes, size_t length, const char *name,
                                        pcl_checkpoint **checkpoint);
/* The exact file bytes pcl_checkpoint_write would write (malloc'd). */
PCL_API pcl_status pcl_checkpoint_serialize(const pcl_checkpoint *checkpoint, unsigned char **bytes, size_t *length);

#ifdef __cplusplus
}
#endif
#endif
