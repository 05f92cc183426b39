/* Programs and kernels: built once per context, binaries cached on disk.
 *
 * Cache entry layout (one file per key, little-endian host order):
 *   "PCLBIN01" | u32 key length | key text | u64 binary size | binary | u64 hash of binary
 * The key text (platform, device, driver, device version, source hash, build
 * options) is stored in full and compared on load, so a hash collision or a
 * stale entry after a driver update can never load the wrong binary. A
 * binary whose own record lengths do not add up (driver_binary.c), or that
 * the driver refuses to build, is a miss: rebuilt from source and replaced. */
#include "runtime/context.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char cache_magic[8] = {'P', 'C', 'L', 'B', 'I', 'N', '0', '1'};
static const char default_options[] = "-cl-std=CL1.2";

uint64_t pcl_hash64(const void *data, size_t length, uint64_t seed)
{
    const unsigned char *bytes = data;
    uint64_t hash = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i < length; i++) {
        hash ^= bytes[i];
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

const char *pcl_cache_dir(void)
{
    static _Thread_local char dir[4096];
    const char *env = getenv("PERCEPTCL_CACHE_DIR");
    if (env && strcmp(env, "off") == 0) return "";
    if (env && *env) snprintf(dir, sizeof dir, "%s", env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env) snprintf(dir, sizeof dir, "%s/perceptcl", env);
    else if ((env = getenv("HOME")) && *env) snprintf(dir, sizeof dir, "%s/.cache/perceptcl", env);
    else return "";
    return dir;
}

/* Creates dir and its parents; returns 0 on success. */
static int make_dirs(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static void cache_key(const pcl_context *context, const pcl_kernel_source *source, const char *options,
                      char *key, size_t key_size, char *path, size_t path_size)
{
    uint64_t source_hash = pcl_hash64(source->text, source->length, 0);
    snprintf(key, key_size, "platform=%s\ndevice=%s\ndriver=%s\nversion=%s\nsource=%016llx\noptions=%s\n",
             context->info.platform_name, context->info.name, context->info.driver_version,
             context->info.device_version, (unsigned long long)source_hash, options);
    snprintf(path, path_size, "%s/%016llx%016llx.bin", pcl_cache_dir(),
             (unsigned long long)pcl_hash64(key, strlen(key), 1), (unsigned long long)pcl_hash64(key, strlen(key), 2));
}

/* Reads a cache entry; returns the binary (malloc'd) or NULL if absent or invalid. */
static unsigned char *cache_read(const char *path, const char *key, size_t *binary_size)
{
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    unsigned char *binary = NULL;
    char magic[8];
    uint32_t key_length = 0;
    uint64_t size = 0, stored_hash = 0;
    char *stored_key = NULL;
    if (fread(magic, 1, 8, file) != 8 || memcmp(magic, cache_magic, 8) != 0) goto invalid;
    if (fread(&key_length, sizeof key_length, 1, file) != 1 || key_length != strlen(key)) goto invalid;
    stored_key = malloc(key_length);
    if (!stored_key || fread(stored_key, 1, key_length, file) != key_length) goto invalid;
    if (memcmp(stored_key, key, key_length) != 0) goto invalid;
    if (fread(&size, sizeof size, 1, file) != 1 || size == 0 || size > ((uint64_t)1 << 31)) goto invalid;
    binary = malloc(size);
    if (!binary || fread(binary, 1, size, file) != size) goto invalid;
    if (fread(&stored_hash, sizeof stored_hash, 1, file) != 1 || stored_hash != pcl_hash64(binary, size, 3))
        goto invalid;
    /* A matching checksum does not make a whole driver binary: check its own lengths. */
    if (!pcl_driver_binary_complete(binary, (size_t)size)) goto invalid;
    free(stored_key);
    fclose(file);
    *binary_size = size;
    return binary;
invalid:
    free(stored_key);
    free(binary);
    fclose(file);
    return NULL;
}

/* Writes a cache entry atomically; failures only mean no cache entry. */
static void cache_write(const char *path, const char *key, const unsigned char *binary, size_t size)
{
    if (make_dirs(pcl_cache_dir()) != 0) return;
    char temporary[4300];
    snprintf(temporary, sizeof temporary, "%s.tmp.%ld", path, (long)getpid());
    FILE *file = fopen(temporary, "wb");
    if (!file) return;
    uint32_t key_length = (uint32_t)strlen(key);
    uint64_t size64 = size, hash = pcl_hash64(binary, size, 3);
    int ok = fwrite(cache_magic, 1, 8, file) == 8 && fwrite(&key_length, sizeof key_length, 1, file) == 1 &&
             fwrite(key, 1, key_length, file) == key_length && fwrite(&size64, sizeof size64, 1, file) == 1 &&
             fwrite(binary, 1, size, file) == size && fwrite(&hash, sizeof hash, 1, file) == 1 &&
             fflush(file) == 0 && fsync(fileno(file)) == 0;
    ok = (fclose(file) == 0) && ok;
    if (!ok || rename(temporary, path) != 0) remove(temporary);
}

static pcl_status build_failure(pcl_context *context, cl_program program, cl_int error, const char *name)
{
    size_t log_size = 0;
    clGetProgramBuildInfo(program, context->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_size);
    char *log = malloc(log_size + 1);
    if (log && clGetProgramBuildInfo(program, context->device, CL_PROGRAM_BUILD_LOG, log_size, log, NULL) == CL_SUCCESS)
        log[log_size] = '\0';
    else if (log)
        log[0] = '\0';
    pcl_status status = pcl_fail(PCL_ERR_BUILD, "building kernels/%s for device '%s' (%s, driver %s) failed: %s (%d)\n%s",
                                 name, context->info.name, context->info.platform_name, context->info.driver_version,
                                 pcl_cl_error_name(error), (int)error, log ? log : "(no build log)");
    free(log);
    return status;
}

static cl_program build_from_binary(pcl_context *context, const unsigned char *binary, size_t size,
                                    const char *options)
{
    cl_int error = CL_SUCCESS, binary_status = CL_SUCCESS;
    cl_program program = clCreateProgramWithBinary(context->cl, 1, &context->device, &size, &binary, &binary_status,
                                                   &error);
    if (error != CL_SUCCESS || binary_status != CL_SUCCESS) {
        if (program) clReleaseProgram(program);
        return NULL;
    }
    if (clBuildProgram(program, 1, &context->device, options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(program);
        return NULL;
    }
    return program;
}

static pcl_status build_from_source(pcl_context *context, const char *name, const pcl_kernel_source *source,
                                    const char *options, cl_program *out)
{
    cl_int error = CL_SUCCESS;
    const char *text = source->text;
    cl_program program = clCreateProgramWithSource(context->cl, 1, &text, &source->length, &error);
    if (error != CL_SUCCESS) return pcl_fail_cl(error, "clCreateProgramWithSource");
    error = clBuildProgram(program, 1, &context->device, options, NULL, NULL);
    if (error != CL_SUCCESS) {
        pcl_status status = build_failure(context, program, error, name);
        clReleaseProgram(program);
        return status;
    }
    *out = program;
    return PCL_OK;
}

static void store_binary(pcl_context *context, cl_program program, const char *path, const char *key)
{
    size_t size = 0;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS || size == 0)
        return;
    unsigned char *binary = malloc(size);
    if (binary && clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof binary, &binary, NULL) == CL_SUCCESS)
        cache_write(path, key, binary, size);
    free(binary);
    (void)context;
}

static pcl_status remember_program(pcl_context *context, const char *name, const char *options, cl_program program)
{
    pcl_program_entry *grown = realloc(context->programs, (size_t)(context->program_count + 1) * sizeof *grown);
    if (!grown) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "out of host memory");
    context->programs = grown;
    pcl_program_entry *entry = &context->programs[context->program_count];
    entry->source_name = strdup(name);
    entry->options = strdup(options);
    entry->program = program;
    if (!entry->source_name || !entry->options) {
        free(entry->source_name);
        free(entry->options);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "out of host memory");
    }
    context->program_count++;
    return PCL_OK;
}

pcl_status pcl_program_get(pcl_context *context, const char *name, const char *extra_options, cl_program *program,
                           pcl_program_origin *origin)
{
    char options[1024];
    snprintf(options, sizeof options, "%s%s%s", default_options, extra_options && *extra_options ? " " : "",
             extra_options ? extra_options : "");
    for (int i = 0; i < context->program_count; i++)
        if (strcmp(context->programs[i].source_name, name) == 0 && strcmp(context->programs[i].options, options) == 0) {
            *program = context->programs[i].program;
            if (origin) *origin = PCL_PROGRAM_FROM_MEMORY;
            return PCL_OK;
        }

    pcl_kernel_source source;
    PCL_TRY(pcl_kernel_source_load(name, &source));
    char key[2048], path[4200];
    cache_key(context, &source, options, key, sizeof key, path, sizeof path);
    int caching = pcl_cache_dir()[0] != '\0';

    cl_program built = NULL;
    pcl_program_origin how = PCL_PROGRAM_FROM_SOURCE;
    if (caching) {
        size_t size = 0;
        unsigned char *binary = cache_read(path, key, &size);
        if (binary) {
            built = build_from_binary(context, binary, size, options);
            free(binary);
            if (built) how = PCL_PROGRAM_FROM_DISK_CACHE;
        }
    }
    pcl_status status = PCL_OK;
    if (!built) {
        /* No entry, or a corrupt or rejected one: build from source, replace it. */
        status = build_from_source(context, name, &source, options, &built);
        if (status == PCL_OK && caching) store_binary(context, built, path, key);
    }
    pcl_kernel_source_free(&source);
    if (status != PCL_OK) return status;
    status = remember_program(context, name, options, built);
    if (status != PCL_OK) {
        clReleaseProgram(built);
        return status;
    }
    *program = built;
    if (origin) *origin = how;
    return PCL_OK;
}

pcl_status pcl_kernel_get(pcl_context *context, const char *source_name, const char *options, const char *kernel_name,
                          cl_kernel *kernel)
{
    cl_program program;
    PCL_TRY(pcl_program_get(context, source_name, options, &program, NULL));
    for (int i = 0; i < context->kernel_count; i++)
        if (context->kernels[i].program == program && strcmp(context->kernels[i].kernel_name, kernel_name) == 0) {
            *kernel = context->kernels[i].kernel;
            return PCL_OK;
        }
    cl_int error = CL_SUCCESS;
    cl_kernel created = clCreateKernel(program, kernel_name, &error);
    if (error != CL_SUCCESS)
        return pcl_fail(PCL_ERR_OPENCL, "clCreateKernel(%s from kernels/%s) failed: %s (%d)", kernel_name, source_name,
                        pcl_cl_error_name(error), (int)error);
    pcl_kernel_entry *grown = realloc(context->kernels, (size_t)(context->kernel_count + 1) * sizeof *grown);
    char *name_copy = strdup(kernel_name);
    if (!grown || !name_copy) {
        if (grown) context->kernels = grown;
        free(name_copy);
        clReleaseKernel(created);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "out of host memory");
    }
    context->kernels = grown;
    context->kernels[context->kernel_count++] = (pcl_kernel_entry){program, name_copy, created};
    *kernel = created;
    return PCL_OK;
}
