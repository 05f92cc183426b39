/* Dataset-level helpers: value scaling, seeded shuffles and splits. The
 * generator and the shuffle are the library's (rng.h), so crops, splits and
 * mini-batch orders share one documented, portable stream. */
#include "dataset_internal.h"
#include "perceptcl/rng.h"
#include "runtime/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

pcl_status pcl_dataset_scale(float *data, size_t count, float max_value, pcl_range range)
{
    if (!data && count) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_scale: data is NULL");
    if (!(max_value > 0.0f) || !isfinite(max_value))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_scale: max_value must be positive, got %g", max_value);
    if (range != PCL_RANGE_UNIT && range != PCL_RANGE_SIGNED)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_scale: unknown range %d", (int)range);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(data[i]))
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_scale: value %zu is %g, expected a finite value", i,
                            data[i]);
    /* Computed in double and rounded once: v/255 is then the float nearest the exact quotient. */
    for (size_t i = 0; i < count; i++) {
        const double v = (double)data[i] / max_value;
        data[i] = (float)(range == PCL_RANGE_UNIT ? v : 2.0 * v - 1.0);
    }
    return PCL_OK;
}

pcl_status pcl_shuffle(size_t *indices, size_t n, uint64_t seed)
{
    if (!indices && n) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_shuffle: indices is NULL");
    uint64_t state = seed;
    pcl_rng_shuffle(indices, n, &state);
    return PCL_OK;
}

pcl_status pcl_permutation(size_t *indices, size_t n, uint64_t seed)
{
    if (!indices && n) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_permutation: indices is NULL");
    for (size_t i = 0; i < n; i++) indices[i] = i;
    return pcl_shuffle(indices, n, seed);
}

pcl_status pcl_split_sizes(size_t n, const double *fractions, int parts, size_t *sizes)
{
    if (!fractions || !sizes || parts < 1)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_split_sizes: need at least one part");
    double sum = 0.0;
    for (int k = 0; k < parts; k++) {
        if (!(fractions[k] >= 0.0) || !isfinite(fractions[k]))
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_split_sizes: fraction %d is %g, expected >= 0", k,
                            fractions[k]);
        sum += fractions[k];
    }
    if (fabs(sum - 1.0) > 1e-9)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_split_sizes: fractions sum to %.12g, expected 1", sum);
    double *remainder = malloc((size_t)parts * sizeof *remainder);
    if (!remainder) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_split_sizes: cannot allocate");
    size_t assigned = 0;
    for (int k = 0; k < parts; k++) {
        /* long double keeps f * n exact enough for n up to 2^53 */
        long double exact = (long double)fractions[k] * (long double)n;
        size_t whole = (size_t)floorl(exact);
        if (whole > n) whole = n;
        sizes[k] = whole;
        remainder[k] = (double)(exact - (long double)whole);
        assigned += whole;
    }
    /* largest remainders first, earlier part on ties */
    while (assigned < n) {
        int best = 0;
        for (int k = 1; k < parts; k++)
            if (remainder[k] > remainder[best]) best = k;
        sizes[best]++;
        remainder[best] = -1.0;
        assigned++;
    }
    free(remainder);
    if (assigned > n) /* only if the fractions were rounded above 1 */
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_split_sizes: fractions give %zu records of %zu", assigned, n);
    return PCL_OK;
}

pcl_status pcl_split(size_t n, const size_t *sizes, int parts, uint64_t seed, size_t *indices)
{
    if (!sizes || parts < 1 || (!indices && n))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_split: need sizes, at least one part and indices");
    size_t total = 0;
    for (int k = 0; k < parts; k++) {
        if (sizes[k] > n - total)
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_split: parts 0..%d need more than the %zu records", k, n);
        total += sizes[k];
    }
    return pcl_permutation(indices, n, seed);
}
