/* perceptcl: loss curves as SVG pictures, from arrays or from a CSV log of
 * train_log.h (train.h: overview). */
#ifndef PERCEPTCL_LOSS_CURVE_H
#define PERCEPTCL_LOSS_CURVE_H

#include "perceptcl/export.h"
#include "perceptcl/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pcl_curve_series {
    const char *name;  /* legend text */
    const double *x;   /* count values; NaN or infinite points are skipped */
    const double *y;
    size_t count;
} pcl_curve_series;

/* An SVG picture: axes with ticks at round values, one polyline per series
 * (the first two in blue and orange), a legend; log_y draws y on a log10
 * scale (non-positive values skipped). Written atomically. */
PCL_API pcl_status pcl_loss_curve_write_svg(const char *path, const char *title, const char *x_label,
                                            const char *y_label, const pcl_curve_series *series, int count, int log_y);
/* Reads a CSV log of pcl_train_log and draws its train and validation loss
 * against step (lines with an empty field add no point to that curve). */
PCL_API pcl_status pcl_loss_curve_from_log(const char *csv_path, const char *svg_path, const char *title);

#ifdef __cplusplus
}
#endif
#endif
