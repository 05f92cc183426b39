/* The Extended Yale B faces as experiment 4 sees them (yaleb.h). */
#include "yaleb.h"

#include "perceptcl/datasets.h"
#include "perceptcl/resize.h"

#include <stdio.h>
#include <stdlib.h>

int yaleb_faces_load(const char *dir, yaleb_features *faces, char *error, size_t error_size)
{
    enum { PIXELS = YALEB_SIDE * YALEB_SIDE };
    pcl_dataset *dataset = NULL;
    if (pcl_dataset_open_yale(dir, &dataset) != PCL_OK)
        return snprintf(error, error_size, "%s: %s", dir, pcl_last_error()), 1;
    size_t count = pcl_dataset_count(dataset);
    yaleb_features f = {count, PIXELS, malloc(count * sizeof(int)), malloc(count * sizeof(int)),
                        malloc(count * sizeof(int)), malloc(count * PIXELS * sizeof(double))};
    int rc = 0;
    if (!f.subject || !f.azimuth || !f.elevation || !f.values)
        rc = (snprintf(error, error_size, "out of memory for %zu faces", count), 1);
    for (size_t i = 0; i < count && rc == 0; i++) {
        pcl_record_info info;
        pcl_image *image = NULL, *small = NULL;
        if (pcl_dataset_record_info(dataset, i, &info) != PCL_OK ||
            pcl_dataset_read_image(dataset, i, &image, NULL) != PCL_OK ||
            pcl_resize_bicubic(image, YALEB_SIDE, YALEB_SIDE, PCL_RESIZE_DEFAULT, &small) != PCL_OK) {
            rc = (snprintf(error, error_size, "reading face %zu: %s", i, pcl_last_error()), 1);
        } else {
            f.subject[i] = info.subject, f.azimuth[i] = info.azimuth, f.elevation[i] = info.elevation;
            for (int p = 0; p < PIXELS; p++)
                f.values[i * PIXELS + p] = 2.0 * small->data[p * small->channels] / image->max_value - 1.0;
        }
        pcl_image_destroy(image);
        pcl_image_destroy(small);
    }
    pcl_dataset_destroy(dataset);
    if (rc) yaleb_features_free(&f);
    else *faces = f;
    return rc;
}

int yaleb_split(size_t count, uint64_t seed, size_t sizes[3], size_t *indices, char *error, size_t error_size)
{
    static const double fractions[3] = {0.6, 0.2, 0.2};
    if (pcl_split_sizes(count, fractions, 3, sizes) != PCL_OK || pcl_split(count, sizes, 3, seed, indices) != PCL_OK)
        return snprintf(error, error_size, "splitting %zu faces: %s", count, pcl_last_error()), 1;
    return 0;
}
