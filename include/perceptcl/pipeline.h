/* perceptcl: training data from a dataset through a pipeline of exact
 * transforms, as the trainer's data source.
 *
 *   pcl_transform steps[] = {{.kind = PCL_TRANSFORM_KIND_YCBCR_Y},
 *                            {.kind = PCL_TRANSFORM_KIND_SR_DEGRADE, .scale = 3},
 *                            {.kind = PCL_TRANSFORM_KIND_SCALE, .range = PCL_RANGE_UNIT},
 *                            {.kind = PCL_TRANSFORM_KIND_PATCHES, .size = 33, .stride = 14, .target_size = 17}};
 *   pcl_pipeline_create(&dataset, 1, steps, 4, NULL, &pipeline);
 *   pcl_pipeline_source(pipeline, &source);   -> pcl_trainer_run(trainer, &source, ...)
 *
 * A record is a pair of images (input, target). Each dataset record starts
 * as input = target = the image as pcl_dataset_read_image gives it (HWC,
 * 0..255, the dataset's channels). The transforms then run in order, each
 * on both images unless said otherwise:
 *   LUMA         1 channel: ITU-R 601-2 luma on the 8-bit values, PIL's
 *                integer rule (color.h PCL_LUMA_MODE_PIL, as datasets/ gives gray
 *                records); values must be integers 0..255 (put it first).
 *                A 1-channel image is kept.
 *   YCBCR_Y      1 channel: Y of MATLAB rgb2ycbcr on 8-bit RGB, rounded to an
 *                integer (color.h PCL_YCBCR_MODE_ROUND_U8), as SRCNN uses; a
 *                1-channel image is taken as Y already (SRCNN: gray as is).
 *   SCALE        v / 255 (PCL_RANGE_UNIT, [0, 1]) or 2 v / 255 - 1
 *                (PCL_RANGE_SIGNED, [-1, 1]), computed in double and rounded
 *                once (pcl_dataset_scale).
 *   RESIZE       MATLAB imresize(..., [height width], 'bicubic') with
 *                antialiasing (resize.h), not rounded.
 *   RANDOM_CROP  a width x height window at a seeded position, the same
 *                window for input and target (they must be of one size):
 *                x = pcl_rng_below(rng, W - width + 1), then y likewise.
 *   RANDOM_RESIZED_CROP  a seeded square window resized to width x height
 *                (MATLAB bicubic with antialiasing): objects at a random
 *                scale, as a small-image corpus (Tiny Images, STL-10) shows
 *                them. side = min_side + pcl_rng_below(rng, hi - min_side + 1)
 *                with hi = min(max_side, W, H) (side = min(W, H) when that is
 *                below min_side), then the window as RANDOM_CROP draws it; the
 *                same window for input and target.
 *   FLIP         seeded mirror: if horizontal, pcl_rng_below(rng, 2) == 1
 *                mirrors left-right; then if vertical, one more draw
 *                mirrors top-bottom; both images alike.
 *   SR_DEGRADE   super-resolution pair from the input (scale 2..8): target =
 *                modcrop(input, scale) (bottom/right cropped to multiples of
 *                scale), input = imresize(imresize(target, 1/scale), [H W])
 *                bicubic on floats, unrounded (sr.h's pcl_sr_prepare).
 *   PATCHES      every size x size input square at x, y = 0, stride, 2
 *                stride, ... that fits (rows of positions top to bottom,
 *                each left to right: SRCNN's generate_train.m); each is one
 *                record, its target the centre target_size square (0: size)
 *                of the target at the same place. Input and target must be
 *                of one size; size - target_size must be even. An image
 *                smaller than size gives no record.
 *
 * The random transforms draw from one splitmix64 state per record (rng.h):
 * pcl_train_step_seed(fill seed, record index), in the order of the list.
 * The trainer passes each step's own seed, so a record's crop and flips
 * depend on the run's seed, the step and the record, and a resumed run draws
 * the same ones.
 *
 * With PATCHES in the list, the pipeline reads every dataset record once at
 * create, runs the transforms up to PATCHES on it (these must be LUMA,
 * YCBCR_Y, SCALE, RESIZE or SR_DEGRADE: not random) and keeps the records in
 * memory (SRCNN's 91 T91 images at x4: 21,772 pairs of 33x33 and 17x17
 * floats, 120 MB); the transforms after PATCHES run at every fill.
 * Without PATCHES, a record is read from its dataset at each fill and every
 * transform runs then. Either way every record must come out with the same
 * input and target shapes (a dataset of varying image sizes needs a RESIZE
 * or RANDOM_CROP); the shapes are those of record 0, found at create.
 *
 * Errors name the transform, the record and its file (pcl_last_error). */
#ifndef PERCEPTCL_PIPELINE_H
#define PERCEPTCL_PIPELINE_H

#include "perceptcl/export.h"
#include "perceptcl/datasets.h"
#include "perceptcl/trainer.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pcl_transform_kind {
    PCL_TRANSFORM_KIND_LUMA = 0,    /* 1 channel, ITU-R 601-2 luma (PIL) */
    PCL_TRANSFORM_KIND_YCBCR_Y,     /* 1 channel, rgb2ycbcr Y rounded to 8 bits */
    PCL_TRANSFORM_KIND_SCALE,       /* range: [0, 1] or [-1, 1] from 0..255 */
    PCL_TRANSFORM_KIND_RESIZE,      /* width, height: MATLAB bicubic */
    PCL_TRANSFORM_KIND_RANDOM_CROP, /* width, height: seeded window */
    PCL_TRANSFORM_KIND_FLIP,        /* horizontal, vertical: seeded mirrors */
    PCL_TRANSFORM_KIND_SR_DEGRADE,  /* scale: input = bicubic down-up, target = modcropped truth */
    PCL_TRANSFORM_KIND_PATCHES,     /* size, stride, target_size: one record per square */
    PCL_TRANSFORM_KIND_RANDOM_RESIZED_CROP /* min_side, max_side, width, height: seeded square, resized */
} pcl_transform_kind;

/* One step; only the fields of its kind are read. */
typedef struct pcl_transform {
    pcl_transform_kind kind;
    pcl_range range;          /* SCALE */
    int width, height;        /* RESIZE, RANDOM_CROP, RANDOM_RESIZED_CROP: >= 1 */
    int min_side, max_side;   /* RANDOM_RESIZED_CROP: 1 <= min_side <= max_side */
    int horizontal, vertical; /* FLIP: which mirrors may happen (at least one) */
    int scale;                /* SR_DEGRADE: 2..8 */
    int size, stride;         /* PATCHES: >= 1 */
    int target_size;          /* PATCHES: 1..size, 0: size */
} pcl_transform;

/* Its name ("luma", "ycbcr-y", "scale", "resize", "random-crop", "flip",
 * "sr-degrade", "patches", "random-resized-crop"); "unknown" out of range. */
PCL_API const char *pcl_transform_name(pcl_transform_kind kind);

typedef struct pcl_pipeline_options {
    size_t limit; /* > 0: keep only the first limit records (SRCNN's --limit-patches);
                     with PATCHES, reading stops once that many exist */
} pcl_pipeline_options;

typedef struct pcl_pipeline pcl_pipeline;

/* A pipeline over the records of count datasets, one after the other (not
 * owned: with PATCHES they are read at create and may be destroyed after
 * it; without, they must outlive the pipeline), through transforms[0..n-1]
 * (copied; n may be 0). options may be NULL. Fails on a bad parameter, an
 * unreadable record, no records, or records of different shapes. */
PCL_API pcl_status pcl_pipeline_create(pcl_dataset *const *datasets, int count, const pcl_transform *transforms, int n,
                                       const pcl_pipeline_options *options, pcl_pipeline **out);
PCL_API void pcl_pipeline_destroy(pcl_pipeline *pipeline);

/* Records the pipeline gives (after the limit). */
PCL_API size_t pcl_pipeline_count(const pcl_pipeline *pipeline);
/* Dataset records read at create (PATCHES: those the records came from,
 * fewer than the datasets hold when the limit stopped reading early);
 * without PATCHES, the records given. */
PCL_API size_t pcl_pipeline_images(const pcl_pipeline *pipeline);

/* The trainer's data source (trainer.h) over the pipeline, which must
 * outlive it: count, input and target shapes (c, h, w) and a fill that
 * writes records in NCHW with the seeded transforms drawn from the fill's
 * seed. Fill may be called from one thread at a time. */
PCL_API pcl_status pcl_pipeline_source(pcl_pipeline *pipeline, pcl_data_source *out);

/* Record index as two new images (HWC), the seeded transforms drawn from
 * seed as a fill with that seed does (for tests and inspection). */
PCL_API pcl_status pcl_pipeline_record(pcl_pipeline *pipeline, size_t index, uint64_t seed, pcl_image **input,
                                       pcl_image **target);

#ifdef __cplusplus
}
#endif
#endif
