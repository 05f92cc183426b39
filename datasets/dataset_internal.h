/* Internals shared by the dataset readers (not installed). The from-memory
 * parsers here are what the fuzz targets in tests/fuzz/ drive. */
#ifndef PERCEPTCL_DATASET_INTERNAL_H
#define PERCEPTCL_DATASET_INTERNAL_H

#include "perceptcl/datasets.h"

#include <stdint.h>

/* One fixed-size binary record format. */
typedef struct pcl_binary_spec {
    const char *name;     /* "CIFAR-10", for messages */
    size_t record_size;   /* bytes per record, label byte included */
    int label_in_record;  /* 1: the record starts with one label byte */
    int width, height;
    int column_major;     /* planes stored column-major (MATLAB order) */
    int label_min;        /* valid label bytes: label_min..label_max; label = byte - label_min */
    int label_max;
    int classes;
    const char *const *class_names;
} pcl_binary_spec;

/* The spec of a format, or NULL outside the enum (binary_format.c). */
const pcl_binary_spec *pcl_binary_spec_get(pcl_binary_format format);

/* One record file (or memory block) of a binary dataset. */
typedef struct pcl_segment {
    char *path;                   /* for messages */
    int fd;                       /* -1 for memory */
    const unsigned char *memory;  /* borrowed, when fd < 0 */
    uint64_t size;
    size_t first;                 /* dataset index of its first record */
    size_t records;
} pcl_segment;

/* One image file of a folder dataset. */
typedef struct pcl_entry {
    char *path;
    int label;
    int subject, azimuth, elevation;
} pcl_entry;

typedef enum pcl_dataset_kind { PCL_DATASET_BINARY = 0, PCL_DATASET_FOLDER } pcl_dataset_kind;

struct pcl_dataset {
    pcl_dataset_kind kind;
    size_t count;
    int width, height, channels;   /* 0 = varies / as stored */
    char **class_names;            /* class_count owned strings (may be NULL when class_count is 0) */
    int class_count;
    /* binary */
    const pcl_binary_spec *spec;
    pcl_segment *segments;
    int segment_count;
    unsigned char *labels;         /* separate label bytes (STL-10 y file), count of them, validated */
    /* folder */
    pcl_entry *entries;
    size_t entry_capacity;
};

pcl_status pcl_dataset_alloc(pcl_dataset_kind kind, pcl_dataset **out);
/* Copies count names into dataset->class_names. */
pcl_status pcl_dataset_set_classes(pcl_dataset *dataset, const char *const *names, int count);
/* Appends an entry (path is copied). */
pcl_status pcl_dataset_add_entry(pcl_dataset *dataset, const char *path, int label, int subject,
                                 int azimuth, int elevation);

/* Decodes one raw binary record (spec->record_size bytes) into dst
 * (width*height*3 floats, layout). Checks the in-record label byte; where and
 * index name the record in messages. */
pcl_status pcl_binary_decode(const pcl_binary_spec *spec, const unsigned char *record, const char *where,
                             size_t index, uint64_t offset, pcl_layout layout, float *dst, int *label);

/* Validates separate label bytes (STL-10 y file). */
pcl_status pcl_binary_check_labels(const pcl_binary_spec *spec, const unsigned char *labels, size_t count,
                                   const char *where);

/* Converts a decoded image to the dataset's channels (0 = keep), 0..255 scale,
 * enforcing the fixed size; where names the file. Returns a new image. */
pcl_status pcl_dataset_conform(const pcl_image *image, int width, int height, int channels, const char *where,
                               pcl_image **out);

/* A labels CSV as in Kaggle's CIFAR-10 ("<file>,<class name>" per line, no
 * header). Rows are malloc'd; each file name is a NUL-terminated copy. */
typedef struct pcl_csv_row {
    char *file;
    int label;
} pcl_csv_row;

pcl_status pcl_labels_csv_parse(const char *text, size_t size, const char *where, const char *const *classes,
                                int class_count, pcl_csv_row **rows, size_t *count);
void pcl_csv_rows_free(pcl_csv_row *rows, size_t count);

/* Class names of the named corpora, in label order. */
extern const char *const pcl_cifar10_classes[10];
extern const char *const pcl_stl10_classes[10];

/* Lists the names in dir (no "." / ".."), sorted bytewise; want_dirs selects
 * subdirectories (1) or other entries (0). */
pcl_status pcl_list_dir(const char *dir, int want_dirs, char ***names, size_t *count);
void pcl_free_names(char **names, size_t count);

/* 1 if name ends with an image extension perceptcl reads. */
int pcl_is_image_name(const char *name);

#endif
