/* The pipeline's transforms on one record (internal; pipeline.h documents
 * each transform). */
#ifndef PERCEPTCL_TRANSFORMS_H
#define PERCEPTCL_TRANSFORMS_H

#include "perceptcl/pipeline.h"

/* Checks t's parameters; messages name the step ("transform 2 (resize): ..."). */
pcl_status pcl_transform_check(const pcl_transform *t, int step);
/* 1 for the transforms that draw from the record's generator. */
int pcl_transform_is_random(pcl_transform_kind kind);
/* Applies t (not PATCHES) to a record: *input and *target are replaced by
 * new images (the old ones destroyed); on failure both are left as they
 * were. rng: the record's splitmix64 state (random transforms only). */
pcl_status pcl_transform_apply(const pcl_transform *t, pcl_image **input, pcl_image **target, uint64_t *rng);

#endif
