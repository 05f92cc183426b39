/* CSV training log (train_log.h): one line per record, flushed at once so a
 * crashed or interrupted run keeps every line it reported. */
#include "perceptcl/train_log.h"

#include "runtime/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER "epoch,step,train_loss,validation_loss,images_per_s,elapsed_s\n"

struct pcl_train_log {
    FILE *file;
    char *path;
};

pcl_status pcl_train_log_open(const char *path, int append, pcl_train_log **log)
{
    if (!log) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_log_open: log is NULL");
    *log = NULL;
    if (!path) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_log_open: path is NULL");
    pcl_train_log *l = calloc(1, sizeof *l);
    if (l) l->path = strdup(path);
    if (!l || !l->path) {
        free(l);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_train_log_open: out of memory");
    }
    l->file = fopen(path, append ? "a" : "w");
    if (!l->file) {
        pcl_status s = pcl_fail(PCL_ERR_IO, "%s: cannot open the training log: %s", path, strerror(errno));
        free(l->path);
        free(l);
        return s;
    }
    /* In append mode the position is the end: 0 means a new or empty file. */
    fseek(l->file, 0, SEEK_END);
    if (ftell(l->file) == 0 && (fputs(HEADER, l->file) < 0 || fflush(l->file) != 0)) {
        pcl_status s = pcl_fail(PCL_ERR_IO, "%s: cannot write the header: %s", path, strerror(errno));
        fclose(l->file);
        free(l->path);
        free(l);
        return s;
    }
    *log = l;
    return PCL_OK;
}

/* %.9g round-trips a float32 loss; NaN and infinities as empty fields
 * (spreadsheets and pandas read them as missing). */
static void field(char *text, size_t capacity, double value)
{
    if (isfinite(value)) snprintf(text, capacity, "%.9g", value);
    else text[0] = '\0';
}

pcl_status pcl_train_log_write(pcl_train_log *log, int64_t epoch, int64_t step, double train_loss,
                               double validation_loss, double images_per_second, double elapsed)
{
    if (!log) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_train_log_write: log is NULL");
    char t[32], v[32], r[32], e[32];
    field(t, sizeof t, train_loss);
    field(v, sizeof v, validation_loss);
    field(r, sizeof r, images_per_second);
    field(e, sizeof e, elapsed);
    if (fprintf(log->file, "%" PRId64 ",%" PRId64 ",%s,%s,%s,%s\n", epoch, step, t, v, r, e) < 0 ||
        fflush(log->file) != 0)
        return pcl_fail(PCL_ERR_IO, "%s: cannot write a line: %s", log->path, strerror(errno));
    return PCL_OK;
}

pcl_status pcl_train_log_close(pcl_train_log *log)
{
    if (!log) return PCL_OK;
    int failed = fclose(log->file) != 0;
    pcl_status s = PCL_OK;
    if (failed) s = pcl_fail(PCL_ERR_IO, "%s: close failed: %s", log->path, strerror(errno));
    free(log->path);
    free(log);
    return s;
}
