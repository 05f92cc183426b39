/* What the benchmarks share: a monotonic clock, a comparison for sorting
 * step times (medians), and CHECK, which exits on any perceptcl error. */
#ifndef PERCEPTCL_BENCH_COMMON_H
#define PERCEPTCL_BENCH_COMMON_H

#include "perceptcl/architectures.h"
#include "perceptcl/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Forward multiply-adds of arch for a batch of n (each entry's input shape
 * from pcl_model_spec_shape of the entries before it), and those of its first
 * conv or dense layer (whose input gradient a training step skips). */
static inline pcl_status arch_macs(const pcl_architecture *arch, int n, double *macs, double *first_macs)
{
    int shape[4] = {n, arch->input[0], arch->input[1], arch->input[2]};
    *macs = *first_macs = 0;
    for (int i = 0; i < arch->count; i++) {
        const pcl_layer_spec *e = &arch->spec[i];
        int next[4];
        pcl_status status = pcl_model_spec_shape(e, 1, shape, next, NULL);
        if (status != PCL_OK) return status;
        double m = 0;
        if (e->kind == PCL_LAYER_KIND_CONV2D)
            m = (double)n * e->out * next[2] * next[3] * e->in * e->kernel * e->kernel;
        else if (e->kind == PCL_LAYER_KIND_DENSE)
            m = (double)n * e->in * e->out;
        if (m > 0 && *macs == 0) *first_macs = m;
        *macs += m;
        for (int k = 0; k < 4; k++) shape[k] = next[k];
    }
    return PCL_OK;
}

#define CHECK(call)                                                                   \
    do {                                                                              \
        if ((call) != PCL_OK) {                                                       \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, pcl_last_error());     \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

#endif
