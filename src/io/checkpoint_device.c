/* Transfers between device tensors and the checkpoint store
 * (include/perceptcl/checkpoint.h): a tensor is downloaded into an entry of
 * the given shape, or an entry's values, checked for shape and finiteness,
 * are uploaded into a tensor. */
#include "io/checkpoint_internal.h"

#include "runtime/internal.h"

#include <stdlib.h>

pcl_status pcl_checkpoint_add_tensor_shaped(pcl_checkpoint *checkpoint, const char *name, const pcl_tensor *tensor,
                                            int ndim, const int64_t *shape)
{
    if (!checkpoint || !tensor || (ndim > 0 && !shape))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_add_tensor: NULL argument");
    PCL_TRY(pcl_checkpoint_check_new_name(checkpoint, name));
    size_t count;
    if (ndim < 0 || ndim > PCL_CHECKPOINT_MAX_DIMS || !pcl_checkpoint_shape_count(ndim, shape, &count) ||
        count != pcl_tensor_count(tensor))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_add_tensor: '%s': the shape given (%d dimensions) "
                        "does not hold the tensor's %zu values", name, ndim, pcl_tensor_count(tensor));
    float *data = malloc(count * sizeof(float));
    if (!data) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "pcl_checkpoint_add_tensor: '%s': out of memory", name);
    pcl_status status = pcl_tensor_download(tensor, data);
    if (status == PCL_OK) status = pcl_checkpoint_add_owned(checkpoint, name, ndim, shape, data);
    if (status != PCL_OK) free(data);
    return status;
}

pcl_status pcl_checkpoint_add_tensor(pcl_checkpoint *checkpoint, const char *name, const pcl_tensor *tensor)
{
    if (!tensor) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_add_tensor: NULL argument");
    int64_t shape[4] = {tensor->n, tensor->c, tensor->h, tensor->w};
    return pcl_checkpoint_add_tensor_shaped(checkpoint, name, tensor, 4, shape);
}

pcl_status pcl_checkpoint_load_tensor_shaped(const pcl_checkpoint *checkpoint, const char *name, pcl_tensor *tensor,
                                             int ndim, const int64_t *shape)
{
    if (!tensor) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_load_tensor: tensor is NULL");
    const float *data;
    size_t count;
    PCL_TRY(pcl_checkpoint_find_finite(checkpoint, name, ndim, shape, &data));
    if (!pcl_checkpoint_shape_count(ndim, shape, &count) || count != pcl_tensor_count(tensor))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_load_tensor: '%s': the shape given (%d dimensions) "
                        "does not hold the tensor's %zu values", name, ndim, pcl_tensor_count(tensor));
    return pcl_tensor_upload(tensor, data);
}

pcl_status pcl_checkpoint_load_tensor(const pcl_checkpoint *checkpoint, const char *name, pcl_tensor *tensor)
{
    if (!tensor) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_checkpoint_load_tensor: tensor is NULL");
    int64_t shape[4] = {tensor->n, tensor->c, tensor->h, tensor->w};
    return pcl_checkpoint_load_tensor_shaped(checkpoint, name, tensor, 4, shape);
}
