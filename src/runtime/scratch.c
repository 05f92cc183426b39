/* Scratch buffers shared by every layer of a context: a layer's temporaries
 * (padded inputs, im2col panels, packed weights, per-chunk partial sums)
 * live only inside one forward or backward call, and the context's in-order
 * queue runs the layers one after another, so one buffer per kind of
 * temporary, grown to the largest request, serves them all. Per layer, the
 * conv AE's six convolutions held 0.9 GB of such buffers; shared, 0.4 GB
 * (bench/RESULTS.md, "Peak memory"). */
#include "runtime/context.h"

pcl_status pcl_context_scratch(pcl_context *context, pcl_scratch_slot slot, size_t bytes, cl_mem *buffer)
{
    if ((unsigned)slot >= PCL_SCRATCH_SLOT_COUNT)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_context_scratch: unknown slot %d", (int)slot);
    cl_mem *held = &context->scratch[slot];
    size_t *capacity = &context->scratch_bytes[slot];
    if (!*held || *capacity < bytes) {
        /* Kernels already enqueued keep the old buffer alive until they ran. */
        if (*held) pcl_buffer_release(*held);
        *held = NULL;
        *capacity = 0;
        PCL_TRY(pcl_buffer_create(context, bytes ? bytes : 4, held));
        *capacity = bytes;
    }
    *buffer = *held;
    return PCL_OK;
}

void pcl_context_scratch_release(pcl_context *context)
{
    for (int i = 0; i < PCL_SCRATCH_SLOT_COUNT; i++) {
        if (context->scratch[i]) pcl_buffer_release(context->scratch[i]);
        context->scratch[i] = NULL;
        context->scratch_bytes[i] = 0;
    }
}
