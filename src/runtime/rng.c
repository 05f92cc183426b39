/* The library's seeded generator and its one shuffle (include/perceptcl/rng.h). */
#include "perceptcl/rng.h"

uint64_t pcl_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t pcl_rng_below(uint64_t *state, uint64_t bound)
{
    if (bound <= 1) return 0;
    /* Rejection: drop the top partial block so every residue is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t v;
    do {
        v = pcl_rng_next(state);
    } while (v >= limit);
    return v % bound;
}

void pcl_rng_shuffle(size_t *indices, size_t n, uint64_t *state)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)pcl_rng_below(state, (uint64_t)i);
        size_t t = indices[i - 1];
        indices[i - 1] = indices[j];
        indices[j] = t;
    }
}

uint64_t pcl_train_step_seed(uint64_t seed, uint64_t step)
{
    /* Mix the step (golden-ratio multiple) into the seed, then one splitmix64
     * output: neighbouring steps get unrelated seeds. */
    uint64_t state = seed ^ (step * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL);
    return pcl_rng_next(&state);
}
