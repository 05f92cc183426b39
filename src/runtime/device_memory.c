/* Device memory accounting: every buffer is checked against what the device
 * can hold before it is created, so a request it cannot satisfy is a perceptcl
 * error instead of a driver abort. PoCL, for one, allocates a buffer's memory
 * lazily at its first use and asserts (exit 134) if that allocation fails.
 *
 * Two checks, in pcl_device_memory_reserve:
 *  - the bytes of all live buffers of the context, plus the new one, must fit
 *    the device's global memory (CL_DEVICE_GLOBAL_MEM_SIZE, or the lower
 *    budget of pcl_context_set_memory_limit);
 *  - on a CPU device (its memory is the process's), the host must be able to
 *    reserve the bytes now: a malloc probe, released at once, fails under a
 *    memory limit (ulimit -v, a cgroup without overcommit) where the driver
 *    would abort later.
 * Live bytes are counted in an account shared by the context and its buffers:
 * each buffer's destructor callback gives its bytes back, even after the
 * context itself was destroyed (the last holder frees the account). */
#include "runtime/context.h"

#include <stdatomic.h>
#include <stdlib.h>

struct pcl_memory_account {
    atomic_size_t in_use;
    atomic_int holders; /* the context + one per live buffer */
};

typedef struct tracked_buffer {
    pcl_memory_account *account;
    size_t bytes;
} tracked_buffer;

static void account_release(pcl_memory_account *account)
{
    if (account && atomic_fetch_sub(&account->holders, 1) == 1) free(account);
}

static void CL_CALLBACK buffer_destroyed(cl_mem buffer, void *user)
{
    (void)buffer;
    tracked_buffer *t = user;
    atomic_fetch_sub(&t->account->in_use, t->bytes);
    account_release(t->account);
    free(t);
}

void pcl_context_set_memory_limit(pcl_context *context, uint64_t bytes) { context->memory_limit = bytes; }

pcl_status pcl_device_memory_reserve(pcl_context *context, size_t bytes)
{
    if (!context->memory) {
        context->memory = calloc(1, sizeof *context->memory);
        if (!context->memory) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "out of host memory");
        atomic_init(&context->memory->in_use, 0);
        atomic_init(&context->memory->holders, 1);
    }
    uint64_t budget = context->memory_limit ? context->memory_limit : context->info.global_memory;
    size_t in_use = atomic_load(&context->memory->in_use);
    if (budget && ((uint64_t)bytes > budget || (uint64_t)in_use > budget - (uint64_t)bytes))
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY,
                        "device '%s' cannot hold a buffer of %zu bytes: %zu bytes are in use of its %llu "
                        "(%s): use a smaller batch or image size",
                        context->info.name, bytes, in_use, (unsigned long long)budget,
                        context->memory_limit ? "the context's memory limit" : "CL_DEVICE_GLOBAL_MEM_SIZE");
    if (context->info.type == PCL_DEVICE_TYPE_CPU) {
        void *probe = malloc(bytes);
        if (!probe)
            return pcl_fail(PCL_ERR_OUT_OF_MEMORY,
                            "device '%s' (host memory) cannot reserve a buffer of %zu bytes (%zu in use): "
                            "use a smaller batch or image size, or raise the process's memory limit",
                            context->info.name, bytes, in_use);
        free(probe);
    }
    return PCL_OK;
}

pcl_status pcl_device_memory_track(pcl_context *context, cl_mem buffer, size_t bytes)
{
    tracked_buffer *t = malloc(sizeof *t);
    if (!t) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "out of host memory");
    *t = (tracked_buffer){context->memory, bytes};
    atomic_fetch_add(&context->memory->holders, 1);
    atomic_fetch_add(&context->memory->in_use, bytes);
    cl_int error = clSetMemObjectDestructorCallback(buffer, buffer_destroyed, t);
    if (error != CL_SUCCESS) {
        atomic_fetch_sub(&context->memory->in_use, bytes);
        account_release(context->memory);
        free(t);
        return pcl_fail_cl(error, "clSetMemObjectDestructorCallback");
    }
    return PCL_OK;
}

size_t pcl_device_memory_in_use(const pcl_context *context)
{
    return context->memory ? atomic_load(&context->memory->in_use) : 0;
}

void pcl_device_memory_release_account(pcl_context *context)
{
    account_release(context->memory);
    context->memory = NULL;
}
