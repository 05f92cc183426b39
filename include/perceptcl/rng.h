/* perceptcl: the seeded random generator every part of the library uses.
 *
 * The generator is splitmix64 (Steele, Lea and Flood 2014): the state is one
 * uint64_t the caller seeds and owns; each draw adds 0x9E3779B97F4A7C15 to it
 * and returns a 64-bit mix of the new state. The same seed gives the same
 * stream on every platform. Shuffles, splits (datasets.h), mini-batch orders
 * (train_position.h), random crops (image.h), Gaussian initialisation (tensor.h) and
 * the pipelines' seeded transforms (pipeline.h) all draw from it. */
#ifndef PERCEPTCL_RNG_H
#define PERCEPTCL_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "perceptcl/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The next 64-bit output of the splitmix64 stream *state (advanced). */
PCL_API uint64_t pcl_rng_next(uint64_t *state);
/* Uniform integer in [0, bound) without modulo bias: draws until a value
 * falls below the largest multiple of bound (bound <= 1 gives 0, no draw). */
PCL_API uint64_t pcl_rng_below(uint64_t *state, uint64_t bound);
/* Shuffles n indices in place: Fisher-Yates from the last element down,
 * for i = n - 1 .. 1: j = pcl_rng_below(state, i + 1), swap i and j. This is
 * the one shuffle of the library (pcl_shuffle, pcl_permutation, pcl_split,
 * pcl_train_shuffle). */
PCL_API void pcl_rng_shuffle(size_t *indices, size_t n, uint64_t *state);
/* A seed for the random draws of one step (or one record) n of a run:
 * splitmix64 of seed ^ (n * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019), so
 * neighbouring n get unrelated seeds and no state has to be saved. */
PCL_API uint64_t pcl_train_step_seed(uint64_t seed, uint64_t step);

#ifdef __cplusplus
}
#endif
#endif
