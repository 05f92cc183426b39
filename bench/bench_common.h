/* What the benchmarks share: a monotonic clock, a comparison for sorting
 * step times (medians), and CHECK, which exits on any perceptcl error. */
#ifndef PERCEPTCL_BENCH_COMMON_H
#define PERCEPTCL_BENCH_COMMON_H

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

#define CHECK(call)                                                                   \
    do {                                                                              \
        if ((call) != PCL_OK) {                                                       \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, pcl_last_error());     \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

#endif
