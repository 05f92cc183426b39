/* The device context: one OpenCL context and in-order queue on the selected
 * device, plus the programs and kernels built on it, and buffer helpers. */
#include "runtime/context.h"

#include <clblast_c.h>

#include <stdio.h>
#include <stdlib.h>

#define MAX_PLATFORMS 16
#define MAX_DEVICES 64

pcl_status pcl_context_create(const pcl_device_selection *requested, pcl_context **out)
{
    *out = NULL;
    pcl_device_selection selection = {0};
    if (requested) selection = *requested;
    PCL_TRY(pcl_device_selection_apply_environment(&selection));

    pcl_device_info *devices = NULL;
    int count = 0, chosen = -1;
    PCL_TRY(pcl_devices_list(&devices, &count));
    pcl_status status = pcl_device_select(devices, count, &selection, &chosen);
    if (status != PCL_OK) {
        pcl_devices_free(devices);
        return status;
    }
    pcl_context *context = calloc(1, sizeof *context);
    if (!context) {
        pcl_devices_free(devices);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "out of host memory creating a context");
    }
    context->info = devices[chosen];
    pcl_devices_free(devices);

    cl_platform_id platforms[MAX_PLATFORMS];
    cl_uint platform_count = 0;
    cl_device_id ids[MAX_DEVICES];
    cl_uint id_count = 0;
    status = pcl_platform_ids(platforms, &platform_count);
    if (status == PCL_OK && (cl_uint)context->info.platform_index >= platform_count)
        status = pcl_fail(PCL_ERR_DEVICE_NOT_FOUND, "platform %d disappeared while opening it", context->info.platform_index);
    if (status == PCL_OK) status = pcl_device_ids(platforms[context->info.platform_index], ids, &id_count);
    if (status == PCL_OK && (cl_uint)context->info.device_index >= id_count)
        status = pcl_fail(PCL_ERR_DEVICE_NOT_FOUND, "device %d:%d disappeared while opening it",
                          context->info.platform_index, context->info.device_index);
    if (status != PCL_OK) {
        free(context);
        return status;
    }
    context->platform = platforms[context->info.platform_index];
    context->device = ids[context->info.device_index];

    cl_int error = CL_SUCCESS;
    cl_context_properties properties[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)context->platform, 0};
    context->cl = clCreateContext(properties, 1, &context->device, NULL, NULL, &error);
    if (error != CL_SUCCESS) {
        free(context);
        return pcl_fail_cl(error, "clCreateContext");
    }
    cl_command_queue_properties timing = pcl_profile_path() ? CL_QUEUE_PROFILING_ENABLE : 0;
    context->queue = clCreateCommandQueue(context->cl, context->device, timing, &error);
    if (error != CL_SUCCESS) {
        clReleaseContext(context->cl);
        free(context);
        return pcl_fail_cl(error, "clCreateCommandQueue");
    }
    status = pcl_profile_open(context);
    if (status != PCL_OK) {
        pcl_context_destroy(context);
        return status;
    }
    *out = context;
    return PCL_OK;
}

/* Scratch buffers shared by every layer of a context: a layer's temporaries
 * (padded inputs, im2col panels, packed weights, per-chunk partial sums)
 * live only inside one forward or backward call, and the context's in-order
 * queue runs the layers one after another, so one buffer per kind of
 * temporary, grown to the largest request, serves them all (per layer, the
 * conv AE's six convolutions held 0.9 GB of such buffers: bench/RESULTS.md,
 * "Peak memory"). */
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

static void scratch_release(pcl_context *context)
{
    for (int i = 0; i < PCL_SCRATCH_SLOT_COUNT; i++) {
        if (context->scratch[i]) pcl_buffer_release(context->scratch[i]);
        context->scratch[i] = NULL;
        context->scratch_bytes[i] = 0;
    }
}

void pcl_context_destroy(pcl_context *context)
{
    if (!context) return;
    if (context->queue) clFinish(context->queue);
    pcl_profile_close(context);
    /* CLBlast caches the programs it builds (for every context) until exit;
     * release them while their context exists. Left alive, Oclgrind freed the
     * context under them and CLBlast's exit-time release corrupted the heap
     * (tests/oclgrind/README.md). The cache refills on the next CLBlast call. */
    CLBlastClearCache();
    scratch_release(context);
    for (int i = 0; i < context->kernel_count; i++) {
        clReleaseKernel(context->kernels[i].kernel);
        free(context->kernels[i].kernel_name);
    }
    for (int i = 0; i < context->program_count; i++) {
        clReleaseProgram(context->programs[i].program);
        free(context->programs[i].source_name);
        free(context->programs[i].options);
    }
    free(context->kernels);
    free(context->programs);
    if (context->queue) clReleaseCommandQueue(context->queue);
    if (context->cl) clReleaseContext(context->cl);
    pcl_device_memory_release_account(context);
    free(context);
}

const pcl_device_info *pcl_context_device(const pcl_context *context) { return &context->info; }
cl_context pcl_context_cl(const pcl_context *context) { return context->cl; }
cl_command_queue pcl_context_queue(const pcl_context *context) { return context->queue; }
cl_device_id pcl_context_device_id(const pcl_context *context) { return context->device; }

void pcl_context_set_work_group_limit(pcl_context *context, size_t limit) { context->work_group_limit = limit; }

pcl_status pcl_context_finish(pcl_context *context)
{
    PCL_CL_CHECK(clFinish(context->queue), "clFinish");
    return PCL_OK;
}

static pcl_status check_size(const pcl_context *context, size_t bytes)
{
    if (bytes == 0) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "cannot create an empty device buffer");
    if (bytes > context->info.max_allocation)
        return pcl_fail(PCL_ERR_TOO_LARGE,
                        "buffer of %zu bytes exceeds the maximum allocation of %llu bytes on device '%s' "
                        "(CL_DEVICE_MAX_MEM_ALLOC_SIZE): use a smaller batch or image size",
                        bytes, (unsigned long long)context->info.max_allocation, context->info.name);
    return PCL_OK;
}

pcl_status pcl_buffer_create(pcl_context *context, size_t bytes, cl_mem *buffer)
{
    *buffer = NULL;
    PCL_TRY(check_size(context, bytes));
    PCL_TRY(pcl_device_memory_reserve(context, bytes));
    cl_int error = CL_SUCCESS;
    *buffer = clCreateBuffer(context->cl, CL_MEM_READ_WRITE, bytes, NULL, &error);
    if (error != CL_SUCCESS) {
        *buffer = NULL;
        return pcl_fail(error == CL_INVALID_BUFFER_SIZE ? PCL_ERR_TOO_LARGE : PCL_ERR_OPENCL,
                        "clCreateBuffer(%zu bytes) failed: %s (%d)", bytes, pcl_cl_error_name(error), (int)error);
    }
    pcl_status status = pcl_device_memory_track(context, *buffer, bytes);
    if (status != PCL_OK) {
        clReleaseMemObject(*buffer);
        *buffer = NULL;
    }
    return status;
}

pcl_status pcl_buffer_write(pcl_context *context, cl_mem buffer, size_t offset, size_t bytes, const void *data)
{
    if (bytes == 0) return PCL_OK;
    PCL_CL_CHECK(clEnqueueWriteBuffer(context->queue, buffer, CL_TRUE, offset, bytes, data, 0, NULL, NULL),
                 "clEnqueueWriteBuffer");
    return PCL_OK;
}

pcl_status pcl_buffer_read(pcl_context *context, cl_mem buffer, size_t offset, size_t bytes, void *data)
{
    if (bytes == 0) return PCL_OK;
    PCL_CL_CHECK(clEnqueueReadBuffer(context->queue, buffer, CL_TRUE, offset, bytes, data, 0, NULL, NULL),
                 "clEnqueueReadBuffer");
    return PCL_OK;
}

pcl_status pcl_buffer_fill(pcl_context *context, cl_mem buffer, size_t offset, size_t bytes, float value)
{
    if (bytes == 0) return PCL_OK;
    if (offset % sizeof(float) != 0 || bytes % sizeof(float) != 0)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_buffer_fill needs 4-byte aligned offset and size");
    cl_kernel kernel;
    PCL_TRY(pcl_kernel_get(context, "fill.cl", "", "fill_float", &kernel));
    cl_ulong first = offset / sizeof(float), count = bytes / sizeof(float);
    PCL_TRY(pcl_kernel_set_args(kernel, "fill_float", 4, sizeof(cl_mem), &buffer, sizeof first, &first,
                                sizeof count, &count, sizeof value, &value));
    size_t global = (size_t)count;
    return pcl_kernel_launch(context, kernel, "fill_float", 1, &global, NULL);
}

pcl_status pcl_buffer_fill_zero(pcl_context *context, cl_mem buffer, size_t offset, size_t bytes)
{
    return pcl_buffer_fill(context, buffer, offset, bytes, 0.0f);
}

void pcl_buffer_release(cl_mem buffer)
{
    if (buffer) clReleaseMemObject(buffer);
}
