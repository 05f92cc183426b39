/* Data-parallel training's gradient exchange (grad_exchange.c), used by the
 * trainer when its config has a comm of more than one rank.
 *
 * The model's parameter gradients are grouped in buckets of consecutive
 * layers, in backward order, of about bucket_bytes each. During the backward
 * (pcl_model_backward_each), as soon as a bucket's last layer is enqueued its
 * gradients are read to the host without blocking; the previous bucket, whose
 * copy is done by then, is summed across the ranks (pcl_comm_sum_floats: rank
 * order, bitwise the same everywhere) and written back while the device
 * computes the layers below. Each rank's gradient is the mean over its own
 * images; it is weighted by share = (its images) / (the global batch's) before
 * the sum, so the result is the gradient of the mean over the global batch. */
#ifndef PERCEPTCL_GRAD_EXCHANGE_H
#define PERCEPTCL_GRAD_EXCHANGE_H

#include "perceptcl/comm.h"
#include "perceptcl/model.h"

typedef struct pcl_grad_exchange pcl_grad_exchange;

pcl_status pcl_grad_exchange_create(pcl_model *model, pcl_comm *comm, size_t bucket_bytes, pcl_grad_exchange **out);
void pcl_grad_exchange_destroy(pcl_grad_exchange *exchange);

/* The model's backward of dy with the exchange above; at return every rank's
 * parameter gradients are the job's (the writes may still be queued: the
 * optimizer's kernels come after them on the in-order queue). dy NULL: this
 * rank had no images in the batch; it contributes zeros. The gradients must
 * have been zeroed before. */
pcl_status pcl_grad_exchange_backward(pcl_grad_exchange *exchange, const pcl_tensor *dy, double share);

/* Every parameter and buffer of the model (pcl_model_weights) becomes root
 * rank 0's: the start of a run, so that every rank starts from the same weights. */
pcl_status pcl_grad_exchange_broadcast_weights(pcl_grad_exchange *exchange);

/* The model's buffers that are not parameters (batch normalisation's running
 * statistics, updated by each rank from its own images) become their mean over
 * the ranks: after every step, so that every rank holds the same state
 * (a checkpoint of rank 0's resumes exactly with any N). */
pcl_status pcl_grad_exchange_average_buffers(pcl_grad_exchange *exchange);

/* Host seconds in the sums across the ranks (their communication and the
 * wait for slower ranks inside them), since create. */
double pcl_grad_exchange_seconds(const pcl_grad_exchange *exchange);

#endif
