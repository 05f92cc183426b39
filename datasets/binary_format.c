/* The fixed-size binary record formats (CIFAR-10, STL-10, 80M Tiny Images):
 * their layouts and class names, decoding one record, checking label bytes.
 * Below both dataset.c (which decodes records when reading) and binary.c
 * (which opens the files), so neither calls the other back. */
#include "dataset_internal.h"
#include "runtime/internal.h"

const char *const pcl_cifar10_classes[10] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                             "dog",      "frog",       "horse", "ship", "truck"};
const char *const pcl_stl10_classes[10] = {"airplane", "bird",  "car",    "cat",  "deer",
                                           "dog",      "horse", "monkey", "ship", "truck"};

static const pcl_binary_spec specs[] = {
    [PCL_BINARY_FORMAT_CIFAR10] = {"CIFAR-10", 1 + 3 * 32 * 32, 1, 32, 32, 0, 0, 9, 10, pcl_cifar10_classes},
    [PCL_BINARY_FORMAT_STL10] = {"STL-10", 3 * 96 * 96, 0, 96, 96, 1, 1, 10, 10, pcl_stl10_classes},
    [PCL_BINARY_FORMAT_TINY_IMAGES] = {"Tiny Images", 3 * 32 * 32, 0, 32, 32, 1, 0, -1, 0, NULL},
};

const pcl_binary_spec *pcl_binary_spec_get(pcl_binary_format format)
{
    if ((int)format < 0 || (size_t)format >= sizeof specs / sizeof specs[0]) return NULL;
    return &specs[format];
}

pcl_status pcl_binary_decode(const pcl_binary_spec *spec, const unsigned char *record, const char *where,
                             size_t index, uint64_t offset, pcl_layout layout, float *dst, int *label)
{
    const unsigned char *pixels = record;
    *label = -1;
    if (spec->label_in_record) {
        if (record[0] < spec->label_min || record[0] > spec->label_max)
            return pcl_fail(PCL_ERR_FORMAT, "%s: record %zu (offset %llu): expected a %s label byte %d..%d, got %d",
                            where, index, (unsigned long long)offset, spec->name, spec->label_min, spec->label_max,
                            record[0]);
        *label = record[0] - spec->label_min;
        pixels++;
    }
    const int w = spec->width, h = spec->height;
    const size_t plane = (size_t)w * h;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const size_t from = c * plane + (spec->column_major ? (size_t)x * h + y : (size_t)y * w + x);
                const size_t to = layout == PCL_LAYOUT_HWC ? ((size_t)y * w + x) * 3 + c : c * plane + (size_t)y * w + x;
                dst[to] = pixels[from];
            }
    return PCL_OK;
}

pcl_status pcl_binary_check_labels(const pcl_binary_spec *spec, const unsigned char *labels, size_t count,
                                   const char *where)
{
    for (size_t i = 0; i < count; i++)
        if (labels[i] < spec->label_min || labels[i] > spec->label_max)
            return pcl_fail(PCL_ERR_FORMAT, "%s: offset %zu (label of record %zu): expected a %s label %d..%d, got %d",
                            where, i, i, spec->name, spec->label_min, spec->label_max, labels[i]);
    return PCL_OK;
}
