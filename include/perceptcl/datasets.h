/* perceptcl: dataset readers, splits and shuffles.
 *
 * A pcl_dataset is an indexed list of records (an image and a label). It is
 * opened from one of three kinds of source:
 *   - fixed-size binary record files, streamed with pread() by record index
 *     (never read whole): CIFAR-10 batches, STL-10 *_X.bin (+ *_y.bin), the
 *     80-million Tiny Images tiny_images.bin;
 *   - folders of image files (PNG, JPEG, BMP, PGM/PPM; the format is taken
 *     from each file's magic bytes by pcl_image_read), flat or one subfolder
 *     per class (ImageNet-style), decoded on demand;
 *   - the Extended Yale B cropped tree (subject, light azimuth and elevation
 *     parsed from the file names).
 * pcl_dataset_open() knows the standard layout of each named corpus under a
 * data root (see datasets/README.md); the other openers take explicit paths.
 *
 * Records come back as float32 in the 8-bit scale 0..255 (files of another
 * bit depth are rescaled by 255 / max_value; 8-bit files are exact), in the
 * dataset's channel count. Labels are 0-based class indices (STL-10's 1..10
 * become 0..9), -1 for unlabeled corpora.
 *
 * Every reader refuses a truncated, corrupt or mislabelled input with
 * PCL_ERR_FORMAT and one line (pcl_last_error) naming the file, the record or
 * byte offset and what was expected; a failed batch read leaves the caller's
 * buffers untouched (no partial batch). Reading is thread-safe: a dataset
 * holds no file position, so several threads may read one dataset at once. */
#ifndef PERCEPTCL_DATASETS_H
#define PERCEPTCL_DATASETS_H

#include <stddef.h>
#include <stdint.h>

#include "perceptcl/export.h"
#include "perceptcl/image.h"
#include "perceptcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pcl_dataset pcl_dataset;

/* The corpora perceptcl knows by name. */
typedef enum pcl_corpus {
    PCL_CORPUS_CIFAR10_TRAIN_BIN = 0, /* cifar-10-batches-bin/data_batch_1..5.bin, 50,000 x 32x32 RGB */
    PCL_CORPUS_CIFAR10_TEST_BIN,      /* cifar-10-batches-bin/test_batch.bin, 10,000 */
    PCL_CORPUS_CIFAR10_TEST_JPEG,     /* CIFAR10/test_jpeg/<class>/NNNN.jpg, 10,000 (lossy copy) */
    PCL_CORPUS_CIFAR10_TRAIN200_PNG,  /* CIFAR10/train_first200_png/N.png + labels.csv, 200 */
    PCL_CORPUS_STL10_TRAIN_BIN,       /* stl10_binary/train_X.bin + train_y.bin, 5,000 x 96x96 RGB */
    PCL_CORPUS_STL10_TEST_BIN,        /* stl10_binary/test_X.bin + test_y.bin, 8,000 */
    PCL_CORPUS_STL10_UNLABELED_BIN,   /* stl10_binary/unlabeled_X.bin, 100,000 */
    PCL_CORPUS_STL10_TEST_PNG,        /* STL10/test_examples10/original_<class>_<index>.png, 10 */
    PCL_CORPUS_STL10_UNLABELED_PNG,   /* STL10/unlabeled_examples246/<group>/<name>.png, 246 */
    PCL_CORPUS_TINY_IMAGES,           /* tiny_images.bin, 79,302,017 x 32x32 RGB (withdrawn) */
    PCL_CORPUS_YALE_CROPPED,          /* CroppedYale/yaleBxx/yaleBxx_P00A+000E+00.pgm, 2,414 x 168x192 gray */
    PCL_CORPUS_SET5,                  /* Set5/, 5 images */
    PCL_CORPUS_SET14,                 /* Set14/, 14 */
    PCL_CORPUS_BSD100,                /* BSD100/, 100 */
    PCL_CORPUS_BSD200,                /* BSD200/, 200 */
    PCL_CORPUS_T91,                   /* T91/, 91 */
    PCL_CORPUS_COUNT
} pcl_corpus;

typedef struct pcl_corpus_info {
    const char *name;          /* command-line name, e.g. "cifar10-train-bin" */
    const char *path;          /* where it is looked for, relative to the data root */
    const char *alt_path;      /* a second place it is looked for (NULL if none) */
    const char *description;
    size_t records;            /* complete corpus size */
    int width, height;         /* fixed record size; 0 where images vary */
    int channels;              /* channels records are returned with */
    int classes;               /* number of labels; 0 when unlabeled or per-folder */
} pcl_corpus_info;

/* Static description of a corpus; NULL if corpus is out of range. */
PCL_API const pcl_corpus_info *pcl_corpus_get_info(pcl_corpus corpus);
/* Looks a corpus up by its name; PCL_ERR_INVALID_ARGUMENT if unknown. */
PCL_API pcl_status pcl_corpus_find(const char *name, pcl_corpus *out);

/* The data root: dir if not NULL, else $PERCEPTCL_DATA, else NULL. */
PCL_API const char *pcl_data_root(const char *dir);

/* What pcl_corpus_check found. */
typedef struct pcl_corpus_report {
    int present;              /* the corpus's files or folder exist under the root */
    int complete;             /* every expected file is there with the expected size/count */
    size_t records;           /* records found */
    char path[4096];          /* where it was found (or first place looked) */
    char message[1024];       /* why it is incomplete or unreadable ("" when complete) */
} pcl_corpus_report;

/* Looks for corpus under root and checks that it is complete: binary files
 * must have exactly the expected sizes, folders the expected image counts and
 * file names. With deep != 0 every record is also read and checked (labels,
 * image sizes, decodability). Returns PCL_OK whether or not the corpus is
 * there; the report tells. */
PCL_API pcl_status pcl_corpus_check(pcl_corpus corpus, const char *root, int deep, pcl_corpus_report *report);

/* Opens a named corpus under root (its standard layout). */
PCL_API pcl_status pcl_dataset_open(pcl_corpus corpus, const char *root, pcl_dataset **out);

/* CIFAR-10 binary batches: records of 3073 bytes, 1 label byte (0..9) then
 * the R, G and B planes of 32x32, each row-major. count files are
 * concatenated in the given order. Each file's size must be a nonzero
 * multiple of 3073. */
PCL_API pcl_status pcl_dataset_open_cifar10_bin(const char *const *paths, int count, pcl_dataset **out);

/* STL-10: x_path holds records of 27648 bytes, the R, G, B planes of 96x96,
 * each stored column-major (byte c*9216 + x*96 + y is pixel (x, y)). y_path
 * (NULL for unlabeled_X.bin) holds one byte 1..10 per record; it is read at
 * open (it is small) and must hold exactly as many labels as x_path records. */
PCL_API pcl_status pcl_dataset_open_stl10_bin(const char *x_path, const char *y_path, pcl_dataset **out);

/* 80M Tiny Images: records of 3072 bytes, R, G, B planes of 32x32, each
 * column-major (as the authors' loadTinyImages.m reads them); no labels. */
PCL_API pcl_status pcl_dataset_open_tiny_images(const char *path, pcl_dataset **out);

/* The binary record formats, for opening from memory (tests, fuzzing). */
typedef enum pcl_binary_format {
    PCL_BINARY_FORMAT_CIFAR10 = 0,
    PCL_BINARY_FORMAT_STL10,
    PCL_BINARY_FORMAT_TINY_IMAGES
} pcl_binary_format;

/* Opens size bytes at data as one record file of format; name is used in
 * messages. labels/labels_size: the STL-10 y file contents (NULL for none).
 * data is borrowed: it must outlive the dataset. */
PCL_API pcl_status pcl_dataset_open_memory(pcl_binary_format format, const void *data, size_t size, const void *labels,
                                           size_t labels_size, const char *name, pcl_dataset **out);

typedef struct pcl_folder_options {
    int class_subfolders;            /* 0: images directly in dir (label -1); 1: one subfolder per
                                        class, label = its index (sorted by name, or in class_names) */
    const char *const *class_names;  /* optional: the exact class folders expected, in label order */
    int class_count;
    int width, height;               /* record size every image must have; 0 = any */
    int channels;                    /* 0: as stored; 1: gray (PIL luma of colour images);
                                        3: RGB (gray replicated, alpha dropped) */
} pcl_folder_options;

/* A folder of image files (.png .jpg .jpeg .bmp .pgm .ppm .pnm, any case;
 * other files are skipped), sorted by name (bytewise). Images are decoded
 * when read. */
PCL_API pcl_status pcl_dataset_open_folder(const char *dir, const pcl_folder_options *options, pcl_dataset **out);

/* Extended Yale B cropped: dir holds yaleBxx/ folders of
 * yaleBxx_P00A<+|-><3 digits>E<+|-><2 digits>.pgm (168x192 gray). Files
 * named *_Ambient.pgm, *.bad, and files not ending in .pgm are skipped; any
 * other name, or a subject that differs from its folder's, is refused.
 * Label = index of the subject folder in sorted order (0..37 for the 38
 * subjects); the subject number itself is in pcl_record_info. */
PCL_API pcl_status pcl_dataset_open_yale(const char *dir, pcl_dataset **out);

/* Parses a Yale B cropped file name (no directory part). */
PCL_API pcl_status pcl_yale_parse_name(const char *name, int *subject, int *azimuth, int *elevation);

PCL_API void pcl_dataset_destroy(pcl_dataset *dataset);

PCL_API size_t pcl_dataset_count(const pcl_dataset *dataset);
/* The record size; width and height are 0 when the images differ in size,
 * channels 0 when kept as stored. Any pointer may be NULL. */
PCL_API void pcl_dataset_shape(const pcl_dataset *dataset, int *width, int *height, int *channels);
/* Number of classes (0 when unlabeled) and the name of one ("" if none). */
PCL_API int pcl_dataset_class_count(const pcl_dataset *dataset);
PCL_API const char *pcl_dataset_class_name(const pcl_dataset *dataset, int label);

typedef struct pcl_record_info {
    int label;          /* 0-based class, -1 if none */
    int subject;        /* Yale: subject number; else -1 */
    int azimuth;        /* Yale: light azimuth in degrees; else 0 */
    int elevation;      /* Yale: light elevation in degrees; else 0 */
    const char *path;   /* the record's file (owned by the dataset) */
    uint64_t offset;    /* byte offset of the record in path (0 for image files) */
} pcl_record_info;

/* Where record index comes from, and its label as listed (binary formats
 * whose label is inside the record report it after reading it). */
PCL_API pcl_status pcl_dataset_record_info(const pcl_dataset *dataset, size_t index, pcl_record_info *info);

/* Reads one record as a new image (HWC, 0..255) and its label (label may be NULL). */
PCL_API pcl_status pcl_dataset_read_image(const pcl_dataset *dataset, size_t index, pcl_image **out, int *label);

/* Reads count records into dst (capacity floats), one sample after another,
 * each width*height*channels floats in layout; labels (may be NULL) gets one
 * int per record. The dataset's shape must be fixed. On failure dst and
 * labels are left untouched. */
PCL_API pcl_status pcl_dataset_read_batch(const pcl_dataset *dataset, const size_t *indices, size_t count,
                                          pcl_layout layout, float *dst, size_t capacity, int *labels);

/* Reads every record once and checks it; *checked (may be NULL) gets the
 * number read before the first failure. */
PCL_API pcl_status pcl_dataset_verify(const pcl_dataset *dataset, size_t *checked);

/* Value ranges for pcl_dataset_scale. */
typedef enum pcl_range {
    PCL_RANGE_UNIT = 0, /* [0, 1]:  v / max_value */
    PCL_RANGE_SIGNED    /* [-1, 1]: 2 v / max_value - 1 */
} pcl_range;

/* Maps count values from 0..max_value into range, in place. A NaN or
 * infinite value is refused (PCL_ERR_INVALID_ARGUMENT naming its index),
 * leaving data untouched. */
PCL_API pcl_status pcl_dataset_scale(float *data, size_t count, float max_value, pcl_range range);

/* Seeded shuffles and splits: pcl_rng_shuffle (rng.h) of a splitmix64
 * stream seeded with seed itself. The same seed gives the same permutation
 * on every platform. */

/* Shuffles n indices in place. */
PCL_API pcl_status pcl_shuffle(size_t *indices, size_t n, uint64_t seed);
/* Fills indices with a seeded permutation of 0..n-1. */
PCL_API pcl_status pcl_permutation(size_t *indices, size_t n, uint64_t seed);

/* Part sizes from fractions (each >= 0, summing to 1 within 1e-9) for n
 * records: floor(f * n) each, then the records left over go one each to the
 * parts with the largest remainders (earlier part on ties). Sizes sum to n.
 * 60/20/20 of 2,414 gives 1,448 / 483 / 483. */
PCL_API pcl_status pcl_split_sizes(size_t n, const double *fractions, int parts, size_t *sizes);

/* A seeded split of n records into parts of the given sizes (sum <= n; e.g.
 * 48,000 / 12,000 of 60,000). indices (n entries) gets a
 * permutation of 0..n-1: part k is indices[start_k .. start_k + sizes[k]) with
 * start_k = sizes[0] + ... + sizes[k-1]; entries after the last part are the
 * records no part uses. */
PCL_API pcl_status pcl_split(size_t n, const size_t *sizes, int parts, uint64_t seed, size_t *indices);

#ifdef __cplusplus
}
#endif
#endif
