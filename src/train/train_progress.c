/* Training progress display (train_progress.h): a live bar redrawn in place with \r
 * when the stream is a terminal, plain periodic lines otherwise (logs, CI,
 * pipes, where \r would pile up). Prints only to the stream the caller gives. */
#include "perceptcl/train_progress.h"

#include "runtime/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 24
#define BAR_REDRAW 0.1 /* seconds between bar redraws */

struct pcl_progress {
    FILE *stream;
    pcl_progress_mode mode;
    double interval;
    double (*now)(void *user);
    void *user;
    int64_t epoch, epochs, batches, done, start_done;
    double epoch_start, last_print;
    size_t images;     /* this epoch, since begin */
    double loss_sum;   /* of the batches since begin */
    int64_t loss_count;
    double last_loss;
    int bar_drawn;     /* a bar line is on screen without its newline */
};

static double monotonic_now(void *user)
{
    (void)user;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

pcl_status pcl_progress_create(FILE *stream, pcl_progress_mode mode, double interval, pcl_progress **progress)
{
    if (!progress) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_progress_create: progress is NULL");
    *progress = NULL;
    if (!stream && mode != PCL_PROGRESS_MODE_OFF)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_progress_create: stream is NULL");
    if (!(interval >= 0.0) || !isfinite(interval))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_progress_create: interval %g, expected >= 0 seconds",
                        interval);
    pcl_progress *p = calloc(1, sizeof *p);
    if (!p) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_progress_create: out of memory");
    if (mode == PCL_PROGRESS_MODE_AUTO) mode = isatty(fileno(stream)) ? PCL_PROGRESS_MODE_BAR : PCL_PROGRESS_MODE_LINES;
    p->stream = stream;
    p->mode = mode;
    p->interval = interval;
    p->now = monotonic_now;
    *progress = p;
    return PCL_OK;
}

void pcl_progress_destroy(pcl_progress *progress)
{
    if (!progress) return;
    if (progress->bar_drawn) {
        fputc('\n', progress->stream);
        fflush(progress->stream);
    }
    free(progress);
}

pcl_progress_mode pcl_progress_get_mode(const pcl_progress *progress) { return progress->mode; }

void pcl_progress_set_clock(pcl_progress *progress, double (*now)(void *user), void *user)
{
    progress->now = now ? now : monotonic_now;
    progress->user = now ? user : NULL;
}

/* h:mm:ss, or "?" when unknown. */
static void format_duration(char *text, size_t capacity, double seconds)
{
    if (!(seconds >= 0.0) || !isfinite(seconds) || seconds > 1e8) {
        snprintf(text, capacity, "?");
        return;
    }
    long s = lround(seconds);
    snprintf(text, capacity, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

static void format_epoch(const pcl_progress *p, char *text, size_t capacity)
{
    if (p->epochs > 0) snprintf(text, capacity, "epoch %lld/%lld", (long long)p->epoch + 1, (long long)p->epochs);
    else snprintf(text, capacity, "epoch %lld", (long long)p->epoch + 1);
}

double pcl_progress_images_per_second(const pcl_progress *progress)
{
    double elapsed = progress->now(progress->user) - progress->epoch_start;
    return elapsed > 0.0 ? (double)progress->images / elapsed : 0.0;
}

/* Seconds left in the run (the rest of this epoch, and the epochs after it
 * when their number is known), from this epoch's time per batch. */
static double eta(const pcl_progress *p, double now)
{
    int64_t measured = p->done - p->start_done;
    if (measured <= 0) return NAN;
    double per_batch = (now - p->epoch_start) / (double)measured;
    int64_t left = p->batches - p->done;
    if (p->epochs > 0) left += (p->epochs - p->epoch - 1) * p->batches;
    return per_batch * (double)(left > 0 ? left : 0);
}

void pcl_progress_epoch_begin(pcl_progress *progress, int64_t epoch, int64_t epochs, int64_t batches, int64_t done)
{
    if (!progress) return;
    progress->epoch = epoch;
    progress->epochs = epochs;
    progress->batches = batches;
    progress->done = done;
    progress->start_done = done;
    progress->epoch_start = progress->now(progress->user);
    progress->last_print = progress->epoch_start;
    progress->images = 0;
    progress->loss_sum = 0.0;
    progress->loss_count = 0;
    progress->last_loss = NAN;
}

void pcl_progress_epoch_done_loss(pcl_progress *progress, double loss_sum)
{
    if (!progress) return;
    progress->loss_sum = loss_sum;
    progress->loss_count = progress->start_done;
}

void pcl_progress_batch(pcl_progress *progress, double loss, size_t images)
{
    if (!progress) return;
    progress->done++;
    progress->images += images;
    progress->loss_sum += loss;
    progress->loss_count++;
    progress->last_loss = loss;
    if (progress->mode == PCL_PROGRESS_MODE_OFF) return;
    double now = progress->now(progress->user);
    int last = progress->done >= progress->batches;
    double gap = progress->mode == PCL_PROGRESS_MODE_BAR ? BAR_REDRAW : progress->interval;
    if (now - progress->last_print < gap && !(last && progress->mode == PCL_PROGRESS_MODE_BAR)) return;
    progress->last_print = now;
    char epoch_text[48], eta_text[32];
    format_epoch(progress, epoch_text, sizeof epoch_text);
    format_duration(eta_text, sizeof eta_text, eta(progress, now));
    double rate = pcl_progress_images_per_second(progress);
    double mean = progress->loss_sum / (double)progress->loss_count;
    if (progress->mode == PCL_PROGRESS_MODE_BAR) {
        char bar[BAR_WIDTH + 1];
        int filled = progress->batches > 0 ? (int)(BAR_WIDTH * progress->done / progress->batches) : 0;
        if (filled > BAR_WIDTH) filled = BAR_WIDTH;
        memset(bar, '#', (size_t)filled);
        memset(bar + filled, '.', (size_t)(BAR_WIDTH - filled));
        bar[BAR_WIDTH] = '\0';
        /* \033[K clears what a longer previous line left. */
        fprintf(progress->stream, "\r%s [%s] %lld/%lld loss %.6g %.1f img/s ETA %s\033[K", epoch_text, bar,
                (long long)progress->done, (long long)progress->batches, mean, rate, eta_text);
        progress->bar_drawn = 1;
    } else {
        fprintf(progress->stream, "%s batch %lld/%lld loss %.6g (last %.6g) %.1f img/s ETA %s\n", epoch_text,
                (long long)progress->done, (long long)progress->batches, mean, progress->last_loss, rate, eta_text);
    }
    fflush(progress->stream);
}

void pcl_progress_epoch_end(pcl_progress *progress, double train_loss, double validation_loss)
{
    if (!progress || progress->mode == PCL_PROGRESS_MODE_OFF) return;
    double now = progress->now(progress->user);
    char epoch_text[48], took[32], eta_text[32], val[48];
    format_epoch(progress, epoch_text, sizeof epoch_text);
    format_duration(took, sizeof took, now - progress->epoch_start);
    format_duration(eta_text, sizeof eta_text, eta(progress, now));
    if (isnan(validation_loss)) snprintf(val, sizeof val, "-");
    else snprintf(val, sizeof val, "%.6g", validation_loss);
    if (progress->bar_drawn) fputc('\r', progress->stream);
    fprintf(progress->stream, "%s: train loss %.6g, validation loss %s, %.1f img/s, took %s, ETA %s%s\n", epoch_text,
            train_loss, val, pcl_progress_images_per_second(progress), took, eta_text,
            progress->bar_drawn ? "\033[K" : "");
    progress->bar_drawn = 0;
    fflush(progress->stream);
}
