/* Kernel sources by name: the copies embedded at build time, or the files in
 * PERCEPTCL_KERNEL_DIR when that is set (for kernel development). */
#include "runtime/internal.h"
#include "runtime/embedded_kernels.h"

#include <stdlib.h>
#include <string.h>

pcl_status pcl_kernel_source_load(const char *name, pcl_kernel_source *source)
{
    const char *dir = getenv("PERCEPTCL_KERNEL_DIR");
    if (dir && *dir) return pcl_kernel_source_read_file(dir, name, source);

    for (size_t i = 0; i < pcl_embedded_source_count; i++) {
        if (strcmp(pcl_embedded_sources[i].name, name) != 0) continue;
        source->text = malloc(pcl_embedded_sources[i].length + 1);
        if (!source->text) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "out of host memory loading kernel %s", name);
        memcpy(source->text, pcl_embedded_sources[i].text, pcl_embedded_sources[i].length);
        source->text[pcl_embedded_sources[i].length] = '\0';
        source->length = pcl_embedded_sources[i].length;
        return PCL_OK;
    }
    return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "no kernel source named '%s' is embedded in this build", name);
}
