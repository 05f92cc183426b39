/* Data-parallel gradient exchange (grad_exchange.h): buckets of layers'
 * gradients read to the host during the backward, summed across the ranks
 * in rank order, written back. */
#include "train/grad_exchange.h"

#include "runtime/internal.h"
#include "nn/train_weights_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct bucket {
    int first, end;    /* params [first, end) of the exchange's list */
    size_t offset;     /* their first float in host */
    size_t count;      /* floats */
    int closing_layer; /* the lowest layer: its backward completes the bucket */
} bucket;

struct pcl_grad_exchange {
    pcl_model *model;
    pcl_comm *comm;
    int param_count, bucket_count;
    pcl_tensor **grads; /* in backward order: the last layer's first */
    size_t *offsets;
    bucket *buckets;
    cl_event *events; /* one read per param, pending while its bucket is in flight */
    float *host;      /* every gradient, at offsets */
    size_t total;
    int *buffers; /* the entries of pcl_model_weights that are not parameters */
    int buffer_count;
    float *buffer_host; /* their values, one after the other (buffer_floats) */
    size_t buffer_floats;
    /* during one backward */
    int next;    /* the next bucket whose reads are to be enqueued */
    int reduced; /* buckets [0, reduced) summed and written back */
    double share;
    double seconds;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void pcl_grad_exchange_destroy(pcl_grad_exchange *ex)
{
    if (!ex) return;
    /* the last step's writes back read the host buffer until they are done */
    if (ex->grads && ex->param_count > 0) clFinish(pcl_context_queue(ex->grads[0]->context));
    for (int i = 0; ex->events && i < ex->param_count; i++)
        if (ex->events[i]) clReleaseEvent(ex->events[i]);
    free(ex->grads);
    free(ex->offsets);
    free(ex->buckets);
    free(ex->events);
    free(ex->host);
    free(ex->buffers);
    free(ex->buffer_host);
    free(ex);
}

/* Appends layer's gradients to the list. */
static pcl_status add_layer_params(pcl_grad_exchange *ex, pcl_layer *layer)
{
    for (int k = 0; k < pcl_layer_param_count(layer); k++) {
        pcl_tensor *value, *grad;
        const char *name;
        PCL_TRY(pcl_layer_param(layer, k, &value, &grad, &name));
        ex->grads[ex->param_count] = grad;
        ex->offsets[ex->param_count++] = ex->total;
        ex->total += pcl_tensor_count(grad);
    }
    return PCL_OK;
}

/* Whether tensor is one of the model's parameters. */
static int is_parameter(const pcl_grad_exchange *ex, const pcl_tensor *tensor)
{
    const int layers = pcl_model_layer_count(ex->model);
    for (int i = 0; i < layers; i++) {
        pcl_layer *layer = pcl_model_layer(ex->model, i);
        for (int k = 0; k < pcl_layer_param_count(layer); k++) {
            pcl_tensor *value, *grad;
            const char *name;
            if (pcl_layer_param(layer, k, &value, &grad, &name) == PCL_OK && value == tensor) return 1;
        }
    }
    return 0;
}

static pcl_status find_buffers(pcl_grad_exchange *ex)
{
    const pcl_train_weights *weights = pcl_model_weights(ex->model);
    const int count = pcl_train_weights_count(weights);
    ex->buffers = malloc((size_t)(count > 0 ? count : 1) * sizeof *ex->buffers);
    if (!ex->buffers) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "gradient exchange: out of memory");
    for (int e = 0; e < count; e++) {
        const char *name;
        pcl_tensor *tensor;
        PCL_TRY(pcl_train_weights_entry(weights, e, &name, &tensor));
        if (is_parameter(ex, tensor)) continue;
        ex->buffers[ex->buffer_count++] = e;
        ex->buffer_floats += pcl_tensor_count(tensor);
    }
    ex->buffer_host = malloc((ex->buffer_floats ? ex->buffer_floats : 1) * sizeof *ex->buffer_host);
    return ex->buffer_host ? PCL_OK : pcl_fail(PCL_ERR_OUT_OF_MEMORY, "gradient exchange: out of memory");
}

pcl_status pcl_grad_exchange_create(pcl_model *model, pcl_comm *comm, size_t bucket_bytes, pcl_grad_exchange **out)
{
    *out = NULL;
    pcl_grad_exchange *ex = calloc(1, sizeof *ex);
    if (!ex) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "gradient exchange: out of memory");
    ex->model = model;
    ex->comm = comm;
    const int layers = pcl_model_layer_count(model);
    int params = 0;
    for (int i = 0; i < layers; i++) params += pcl_layer_param_count(pcl_model_layer(model, i));
    const size_t n = (size_t)(params > 0 ? params : 1);
    ex->grads = calloc(n, sizeof *ex->grads);
    ex->offsets = calloc(n, sizeof *ex->offsets);
    ex->buckets = calloc(n, sizeof *ex->buckets);
    ex->events = calloc(n, sizeof *ex->events);
    pcl_status status = ex->grads && ex->offsets && ex->buckets && ex->events
                            ? PCL_OK
                            : pcl_fail(PCL_ERR_OUT_OF_MEMORY, "gradient exchange: out of memory for %d parameters", params);
    for (int i = layers - 1; i >= 0 && status == PCL_OK; i--) {
        const int first = ex->param_count;
        const size_t offset = ex->total;
        status = add_layer_params(ex, pcl_model_layer(model, i));
        if (ex->param_count == first) continue;
        /* the layer joins the open bucket, or opens one */
        bucket *b = ex->bucket_count ? &ex->buckets[ex->bucket_count - 1] : NULL;
        if (!b || b->count * sizeof(float) >= bucket_bytes) {
            b = &ex->buckets[ex->bucket_count++];
            b->first = first;
            b->offset = offset;
        }
        b->end = ex->param_count;
        b->count = ex->total - b->offset;
        b->closing_layer = i;
    }
    if (status == PCL_OK && !(ex->host = malloc((ex->total ? ex->total : 1) * sizeof *ex->host)))
        status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "gradient exchange: out of memory for %zu gradients", ex->total);
    if (status == PCL_OK) status = find_buffers(ex);
    if (status != PCL_OK) {
        pcl_grad_exchange_destroy(ex);
        return status;
    }
    *out = ex;
    return PCL_OK;
}

/* Waits for bucket b's reads, weights and sums it across the ranks, and
 * enqueues its writes back. */
static pcl_status reduce_bucket(pcl_grad_exchange *ex, int b, int have_gradients)
{
    const bucket *bk = &ex->buckets[b];
    float *values = ex->host + bk->offset;
    if (have_gradients) {
        cl_int error = clWaitForEvents((cl_uint)(bk->end - bk->first), ex->events + bk->first);
        for (int p = bk->first; p < bk->end; p++) {
            clReleaseEvent(ex->events[p]);
            ex->events[p] = NULL;
        }
        if (error != CL_SUCCESS) return pcl_fail_cl(error, "gradient exchange: reading the gradients");
        if (ex->share != 1.0)
            for (size_t i = 0; i < bk->count; i++) values[i] = (float)(values[i] * ex->share);
    } else {
        memset(values, 0, bk->count * sizeof *values);
    }
    /* timed: the sum itself, and the wait for slower ranks inside it (the
     * wait for the copy above is the device's backward, not communication) */
    const double started = now_seconds();
    pcl_status status = pcl_comm_sum_floats(ex->comm, values, bk->count);
    ex->seconds += now_seconds() - started;
    if (status != PCL_OK) return pcl_fail(status, "gradient exchange across %d ranks: %s",
                                          pcl_comm_size(ex->comm), pcl_last_error());
    for (int p = bk->first; p < bk->end; p++) {
        const pcl_tensor *g = ex->grads[p];
        cl_command_queue queue = pcl_context_queue(g->context);
        PCL_CL_CHECK(clEnqueueWriteBuffer(queue, g->mem, CL_FALSE, 0, pcl_tensor_count(g) * sizeof(float),
                                          ex->host + ex->offsets[p], 0, NULL, NULL),
                     "gradient exchange: clEnqueueWriteBuffer");
    }
    return PCL_OK;
}

/* After layer i's backward: the buckets it completes start copying; the ones
 * before them, copied by now or soon, are reduced. */
static pcl_status after_layer(void *user, int layer)
{
    pcl_grad_exchange *ex = user;
    const int started = ex->next;
    while (ex->next < ex->bucket_count && ex->buckets[ex->next].closing_layer == layer) {
        const bucket *bk = &ex->buckets[ex->next++];
        for (int p = bk->first; p < bk->end; p++) {
            const pcl_tensor *g = ex->grads[p];
            cl_command_queue queue = pcl_context_queue(g->context);
            PCL_CL_CHECK(clEnqueueReadBuffer(queue, g->mem, CL_FALSE, 0, pcl_tensor_count(g) * sizeof(float),
                                             ex->host + ex->offsets[p], 0, NULL, &ex->events[p]),
                         "gradient exchange: clEnqueueReadBuffer");
        }
    }
    if (ex->next == started) return PCL_OK;
    clFlush(pcl_context_queue(ex->grads[0]->context));
    /* the device now computes the layers below; reduce what was copied before */
    while (ex->reduced < started) PCL_TRY(reduce_bucket(ex, ex->reduced++, 1));
    return PCL_OK;
}

pcl_status pcl_grad_exchange_backward(pcl_grad_exchange *ex, const pcl_tensor *dy, double share)
{
    ex->next = ex->reduced = 0;
    ex->share = share;
    if (dy) {
        pcl_status status = pcl_model_backward_each(ex->model, dy, after_layer, ex);
        /* a failed backward or sum leaves no read in flight on the host buffer */
        if (status != PCL_OK) {
            for (int p = 0; p < ex->param_count; p++)
                if (ex->events[p]) {
                    clWaitForEvents(1, &ex->events[p]);
                    clReleaseEvent(ex->events[p]);
                    ex->events[p] = NULL;
                }
            return status;
        }
    }
    while (ex->reduced < ex->bucket_count) PCL_TRY(reduce_bucket(ex, ex->reduced++, dy != NULL));
    return PCL_OK;
}

/* The model's weight entries listed (indices into pcl_model_weights; NULL:
 * all count of them) through one host array: downloaded, combined across
 * the ranks in one call (averaged, or rank 0's broadcast), uploaded. */
static pcl_status share_entries(pcl_grad_exchange *ex, const int *entries, int count, float *host, int average)
{
    const pcl_train_weights *weights = pcl_model_weights(ex->model);
    const int ranks = pcl_comm_size(ex->comm);
    pcl_status status = PCL_OK;
    size_t at = 0;
    for (int i = 0; i < count && status == PCL_OK; i++) {
        pcl_tensor *tensor;
        status = pcl_train_weights_entry(weights, entries ? entries[i] : i, NULL, &tensor);
        if (status == PCL_OK) status = pcl_tensor_download(tensor, host + at);
        if (status == PCL_OK) at += pcl_tensor_count(tensor);
    }
    if (status == PCL_OK && average) {
        status = pcl_comm_sum_floats(ex->comm, host, at);
        for (size_t k = 0; status == PCL_OK && k < at; k++) host[k] /= (float)ranks;
    } else if (status == PCL_OK) {
        status = pcl_comm_broadcast(ex->comm, host, at * sizeof *host, 0);
    }
    at = 0;
    for (int i = 0; i < count && status == PCL_OK; i++) {
        pcl_tensor *tensor;
        status = pcl_train_weights_entry(weights, entries ? entries[i] : i, NULL, &tensor);
        if (status == PCL_OK) status = pcl_tensor_upload(tensor, host + at);
        if (status == PCL_OK) at += pcl_tensor_count(tensor);
    }
    if (status != PCL_OK)
        return pcl_fail(status, "%s across %d ranks: %s", average ? "averaging the model's buffers"
                                                                  : "sharing rank 0's weights", ranks, pcl_last_error());
    return PCL_OK;
}

pcl_status pcl_grad_exchange_broadcast_weights(pcl_grad_exchange *ex)
{
    const pcl_train_weights *weights = pcl_model_weights(ex->model);
    const int count = pcl_train_weights_count(weights);
    size_t floats = 0;
    for (int i = 0; i < count; i++) {
        pcl_tensor *tensor;
        PCL_TRY(pcl_train_weights_entry(weights, i, NULL, &tensor));
        floats += pcl_tensor_count(tensor);
    }
    float *host = malloc((floats ? floats : 1) * sizeof *host);
    if (!host) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "gradient exchange: out of memory for %zu weights", floats);
    const pcl_status status = share_entries(ex, NULL, count, host, 0);
    free(host);
    return status;
}

/* Every step (trainer.c): one collective for all the buffers, none without them. */
pcl_status pcl_grad_exchange_average_buffers(pcl_grad_exchange *ex)
{
    return ex->buffer_count ? share_entries(ex, ex->buffers, ex->buffer_count, ex->buffer_host, 1) : PCL_OK;
}

double pcl_grad_exchange_seconds(const pcl_grad_exchange *ex) { return ex ? ex->seconds : 0.0; }
