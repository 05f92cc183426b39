/* perceptcl: a run's CSV log, one flushed line per record (train.h:
 * overview); loss_curve.h draws it. */
#ifndef PERCEPTCL_TRAIN_LOG_H
#define PERCEPTCL_TRAIN_LOG_H

#include "perceptcl/export.h"
#include "perceptcl/status.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pcl_train_log pcl_train_log;

/* Opens path; append (a resumed run) keeps existing lines. The header line
 * "epoch,step,train_loss,validation_loss,images_per_s,elapsed_s" is written
 * when the file is new or empty. */
PCL_API pcl_status pcl_train_log_open(const char *path, int append, pcl_train_log **log);
/* One line, flushed. NaN values are written as empty fields. */
PCL_API pcl_status pcl_train_log_write(pcl_train_log *log, int64_t epoch, int64_t step, double train_loss,
                                       double validation_loss, double images_per_second, double elapsed);
PCL_API pcl_status pcl_train_log_close(pcl_train_log *log);

#ifdef __cplusplus
}
#endif
#endif
