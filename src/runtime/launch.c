/* Kernel arguments and launches, with work-group sizes chosen from what the
 * device and the compiled kernel report (CPU devices often reject large ones). */
#include "runtime/context.h"

#include <stdarg.h>

pcl_status pcl_kernel_set_args(cl_kernel kernel, const char *kernel_name, int count, ...)
{
    va_list args;
    va_start(args, count);
    for (int i = 0; i < count; i++) {
        size_t size = va_arg(args, size_t);
        const void *value = va_arg(args, const void *);
        cl_int error = clSetKernelArg(kernel, (cl_uint)i, size, value);
        if (error != CL_SUCCESS) {
            va_end(args);
            return pcl_fail(PCL_ERR_OPENCL, "clSetKernelArg(%s, argument %d) failed: %s (%d)", kernel_name, i,
                            pcl_cl_error_name(error), (int)error);
        }
    }
    va_end(args);
    return PCL_OK;
}

pcl_status pcl_kernel_work_group_limit(pcl_context *context, cl_kernel kernel, size_t *limit)
{
    size_t kernel_limit = 0;
    PCL_CL_CHECK(clGetKernelWorkGroupInfo(kernel, context->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_limit,
                                          &kernel_limit, NULL),
                 "clGetKernelWorkGroupInfo(CL_KERNEL_WORK_GROUP_SIZE)");
    size_t result = context->info.max_work_group_size;
    if (kernel_limit && kernel_limit < result) result = kernel_limit;
    if (context->work_group_limit && context->work_group_limit < result) result = context->work_group_limit;
    *limit = result ? result : 1;
    return PCL_OK;
}

static size_t largest_power_of_two_at_most(size_t value)
{
    size_t p = 1;
    while (p * 2 <= value) p *= 2;
    return p;
}

void pcl_choose_local_size(cl_uint dims, const size_t *global, size_t limit, size_t *local)
{
    /* Powers of two, filling the first (fastest-varying) dimension first, at
     * most 256 items: enough for GPUs, small enough for CPU devices. */
    size_t budget = largest_power_of_two_at_most(limit < 256 ? limit : 256);
    for (cl_uint d = 0; d < dims; d++) {
        size_t want = largest_power_of_two_at_most(global[d] ? global[d] : 1);
        if (want < global[d]) want *= 2; /* cover the extent with one rounded-up group */
        size_t size = want < budget ? want : budget;
        local[d] = size ? size : 1;
        budget /= local[d];
        if (budget == 0) budget = 1;
    }
}

pcl_status pcl_kernel_launch(pcl_context *context, cl_kernel kernel, const char *kernel_name, cl_uint dims,
                             const size_t *global, const size_t *local)
{
    if (dims < 1 || dims > 3) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "%s: %u dimensions", kernel_name, dims);
    for (cl_uint d = 0; d < dims; d++)
        if (global[d] == 0) return PCL_OK; /* nothing to do */
    size_t limit = 1; /* set by pcl_kernel_work_group_limit; 1 quiets -Wmaybe-uninitialized */
    PCL_TRY(pcl_kernel_work_group_limit(context, kernel, &limit));
    size_t max_items[3] = {limit, limit, limit};
    clGetDeviceInfo(context->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof max_items, max_items, NULL);

    size_t chosen[3] = {1, 1, 1}, rounded[3] = {1, 1, 1};
    if (local) {
        size_t product = 1;
        for (cl_uint d = 0; d < dims; d++) {
            product *= local[d];
            if (local[d] > max_items[d] || global[d] % local[d] != 0)
                return pcl_fail(PCL_ERR_INVALID_ARGUMENT,
                                "%s: work-group size %zu in dimension %u does not fit the device (max %zu) or does "
                                "not divide the global size %zu",
                                kernel_name, local[d], d, max_items[d], global[d]);
        }
        if (product > limit)
            return pcl_fail(PCL_ERR_UNSUPPORTED, "%s needs a work-group of %zu items but device '%s' allows %zu",
                            kernel_name, product, context->info.name, limit);
        for (cl_uint d = 0; d < dims; d++) {
            chosen[d] = local[d];
            rounded[d] = global[d];
        }
    } else {
        pcl_choose_local_size(dims, global, limit, chosen);
        for (cl_uint d = 0; d < dims; d++) {
            if (chosen[d] > max_items[d]) chosen[d] = largest_power_of_two_at_most(max_items[d]);
            rounded[d] = pcl_round_up(global[d], chosen[d]);
        }
    }
    cl_event event = NULL;
    cl_int error = clEnqueueNDRangeKernel(context->queue, kernel, dims, NULL, rounded, chosen, 0, NULL,
                                          context->profile ? &event : NULL);
    if (error != CL_SUCCESS)
        return pcl_fail(PCL_ERR_OPENCL, "clEnqueueNDRangeKernel(%s) failed: %s (%d)", kernel_name,
                        pcl_cl_error_name(error), (int)error);
    if (event) pcl_profile_record(context, kernel, kernel_name, dims, global, event);
    return PCL_OK;
}
