/* The kernel runtime on a real device: a kernel run and its result, work-group
 * limits, the disk cache (hit, corruption recovery, rejected binaries),
 * build-error reporting, #include resolution, and allocation limits. */
#include "runtime/internal.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "check_run.h"

#if defined(__SANITIZE_ADDRESS__)
#define PCL_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PCL_UNDER_ASAN 1
#endif
#endif
#ifndef PCL_UNDER_ASAN
#define PCL_UNDER_ASAN 0
#endif

static char temp_dir[64];

static void make_temp_dir(void)
{
    strcpy(temp_dir, "/tmp/pcl-runtime-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(temp_dir));
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen(path, "w");
    ck_assert_ptr_nonnull(file);
    fputs(text, file);
    fclose(file);
}

static pcl_context *open_context(void)
{
    pcl_context *context = NULL;
    pcl_status status = pcl_context_create(NULL, &context);
    ck_assert_msg(status == PCL_OK, "no device: %s", pcl_last_error());
    return context;
}

/* Runs scale_add (y = 2x + y) on n elements and checks every result exactly. */
static void check_scale_add(pcl_context *context, int n)
{
    float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
    for (int i = 0; i < n; i++) {
        x[i] = (float)i;
        y[i] = 1.0f;
    }
    cl_mem bx, by;
    ck_assert_int_eq(pcl_buffer_create(context, sizeof(float) * (size_t)n, &bx), PCL_OK);
    ck_assert_int_eq(pcl_buffer_create(context, sizeof(float) * (size_t)n, &by), PCL_OK);
    ck_assert_int_eq(pcl_buffer_write(context, bx, 0, sizeof(float) * (size_t)n, x), PCL_OK);
    ck_assert_int_eq(pcl_buffer_write(context, by, 0, sizeof(float) * (size_t)n, y), PCL_OK);
    cl_kernel kernel;
    ck_assert_int_eq(pcl_kernel_get(context, "smoke.cl", NULL, "scale_add", &kernel), PCL_OK);
    float a = 2.0f;
    ck_assert_int_eq(pcl_kernel_set_args(kernel, "scale_add", 4, sizeof(int), &n, sizeof(float), &a, sizeof(cl_mem),
                                         &bx, sizeof(cl_mem), &by),
                     PCL_OK);
    size_t global = (size_t)n;
    ck_assert_msg(pcl_kernel_launch(context, kernel, "scale_add", 1, &global, NULL) == PCL_OK, "%s", pcl_last_error());
    ck_assert_int_eq(pcl_buffer_read(context, by, 0, sizeof(float) * (size_t)n, y), PCL_OK);
    for (int i = 0; i < n; i++) ck_assert_float_eq(y[i], 2.0f * (float)i + 1.0f);
    pcl_buffer_release(bx);
    pcl_buffer_release(by);
    free(x);
    free(y);
}

START_TEST(kernel_runs_and_rounds_global_size)
{
    pcl_context *context = open_context();
    check_scale_add(context, 1);
    check_scale_add(context, 1000); /* not a multiple of any group size */
    pcl_context_destroy(context);
}
END_TEST

/* PERCEPTCL_PROFILE: each launch counted once under its kernel, options and
 * global size, with a positive device time, written when the context closes. */
START_TEST(kernel_profile_counts_launches)
{
    make_temp_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/profile.txt", temp_dir);
    setenv("PERCEPTCL_PROFILE", path, 1);
    pcl_context *context = open_context();
    unsetenv("PERCEPTCL_PROFILE");
    for (int i = 0; i < 3; i++) check_scale_add(context, 1000);
    check_scale_add(context, 7);
    pcl_context_destroy(context);
    FILE *file = fopen(path, "r");
    ck_assert_ptr_nonnull(file);
    char line[512];
    int rows = 0;
    while (fgets(line, sizeof line, file)) {
        double total, share, mean;
        unsigned long calls;
        char kernel[64], global[64];
        if (line[0] == '#') continue;
        ck_assert_int_eq(sscanf(line, "%lf %lf%% %lu %lf %63s %63s", &total, &share, &calls, &mean, kernel, global), 6);
        ck_assert_str_eq(kernel, "scale_add");
        ck_assert_msg(total > 0 && mean > 0 && share > 0 && share <= 100, "%s", line);
        if (strcmp(global, "1000x1x1")) {
            ck_assert_str_eq(global, "7x1x1");
            ck_assert_uint_eq(calls, 1);
        } else {
            ck_assert_uint_eq(calls, 3);
        }
        rows++;
    }
    fclose(file);
    ck_assert_int_eq(rows, 2);
    remove(path);
    rmdir(temp_dir);
}
END_TEST

START_TEST(small_work_group_limits)
{
    pcl_context *context = open_context();
    const size_t limits[] = {1, 3, 16};
    for (size_t l = 0; l < 3; l++) {
        pcl_context_set_work_group_limit(context, limits[l]);
        check_scale_add(context, 777);
    }
    /* An explicit group beyond the limit is refused with a clear message. */
    pcl_context_set_work_group_limit(context, 4);
    cl_kernel kernel;
    ck_assert_int_eq(pcl_kernel_get(context, "smoke.cl", NULL, "scale_add", &kernel), PCL_OK);
    size_t global = 64, local = 8;
    ck_assert_int_eq(pcl_kernel_launch(context, kernel, "scale_add", 1, &global, &local), PCL_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "allows 4"));
    pcl_context_destroy(context);
}
END_TEST

static pcl_program_origin program_origin(void)
{
    pcl_context *context = open_context();
    cl_program program;
    pcl_program_origin origin;
    ck_assert_int_eq(pcl_program_get(context, "smoke.cl", NULL, &program, &origin), PCL_OK);
    check_scale_add(context, 100); /* the program works, whatever its origin */
    pcl_context_destroy(context);
    return origin;
}

/* The single cache entry's path in temp_dir. */
static void cache_entry_path(char *path, size_t size)
{
    DIR *dir = opendir(temp_dir);
    ck_assert_ptr_nonnull(dir);
    struct dirent *entry;
    int found = 0;
    while ((entry = readdir(dir)))
        if (strstr(entry->d_name, ".bin") && !strstr(entry->d_name, ".tmp")) {
            snprintf(path, size, "%s/%s", temp_dir, entry->d_name);
            found++;
        }
    closedir(dir);
    ck_assert_int_eq(found, 1);
}

START_TEST(cache_hit_then_memory)
{
    make_temp_dir();
    setenv("PERCEPTCL_CACHE_DIR", temp_dir, 1);
    ck_assert_int_eq(program_origin(), PCL_PROGRAM_FROM_SOURCE);
    ck_assert_int_eq(program_origin(), PCL_PROGRAM_FROM_DISK_CACHE);

    pcl_context *context = open_context();
    cl_program first, second;
    pcl_program_origin origin;
    ck_assert_int_eq(pcl_program_get(context, "smoke.cl", NULL, &first, &origin), PCL_OK);
    ck_assert_int_eq(pcl_program_get(context, "smoke.cl", NULL, &second, &origin), PCL_OK);
    ck_assert_int_eq(origin, PCL_PROGRAM_FROM_MEMORY);
    ck_assert_ptr_eq(first, second);
    /* Other build options are another program and another cache entry. */
    ck_assert_int_eq(pcl_program_get(context, "smoke.cl", "-DUNUSED=1", &second, &origin), PCL_OK);
    ck_assert_int_eq(origin, PCL_PROGRAM_FROM_SOURCE);
    ck_assert_ptr_ne(first, second);
    pcl_context_destroy(context);
}
END_TEST

static void corrupt_file(const char *path, long offset_from_end, const char *bytes)
{
    FILE *file = fopen(path, "r+b");
    ck_assert_ptr_nonnull(file);
    fseek(file, -offset_from_end, SEEK_END);
    fwrite(bytes, 1, strlen(bytes), file);
    fclose(file);
}

START_TEST(cache_corruption_is_rebuilt)
{
    make_temp_dir();
    setenv("PERCEPTCL_CACHE_DIR", temp_dir, 1);
    ck_assert_int_eq(program_origin(), PCL_PROGRAM_FROM_SOURCE);
    char path[512];
    cache_entry_path(path, sizeof path);

    corrupt_file(path, 100, "garbage!"); /* flipped bytes inside the binary */
    ck_assert_int_eq(program_origin(), PCL_PROGRAM_FROM_SOURCE);
    ck_assert_int_eq(program_origin(), PCL_PROGRAM_FROM_DISK_CACHE); /* rewritten */

    ck_assert_int_eq(truncate(path, 20), 0); /* cut short */
    ck_assert_int_eq(program_origin(), PCL_PROGRAM_FROM_SOURCE);
    ck_assert_int_eq(program_origin(), PCL_PROGRAM_FROM_DISK_CACHE);

    write_text(temp_dir, strrchr(path, '/') + 1, "not a cache file at all");
    ck_assert_int_eq(program_origin(), PCL_PROGRAM_FROM_SOURCE);
}
END_TEST

/* Builds the smoke program into a fresh cache and opens its one entry at
 * the driver binary's size field: *size_offset is where that field is, *size
 * its value; the file is positioned just after it (at the binary). */
static FILE *open_fresh_cache_entry(char *path, size_t path_size, long *size_offset, uint64_t *size)
{
    make_temp_dir();
    setenv("PERCEPTCL_CACHE_DIR", temp_dir, 1);
    ck_assert_int_eq(program_origin(), PCL_PROGRAM_FROM_SOURCE);
    cache_entry_path(path, path_size);
    FILE *file = fopen(path, "r+b");
    ck_assert_ptr_nonnull(file);
    uint32_t key_length;
    fseek(file, 8, SEEK_SET);
    ck_assert_int_eq(fread(&key_length, sizeof key_length, 1, file), 1);
    *size_offset = 8 + 4 + (long)key_length;
    fseek(file, *size_offset, SEEK_SET);
    ck_assert_int_eq(fread(size, sizeof *size, 1, file), 1);
    return file;
}

START_TEST(rejected_binary_is_rebuilt)
{
    /* An entry whose checksum is right but whose binary the driver rejects
     * (as after a driver change that kept the version string). */
    char path[512];
    long size_offset;
    uint64_t size;
    FILE *file = open_fresh_cache_entry(path, sizeof path, &size_offset, &size);
    unsigned char *junk = malloc(size);
    for (uint64_t i = 0; i < size; i++) junk[i] = (unsigned char)(i * 7 + 1);
    uint64_t hash = pcl_hash64(junk, size, 3);
    fseek(file, size_offset + 8, SEEK_SET);
    fwrite(junk, 1, size, file);
    fwrite(&hash, sizeof hash, 1, file);
    fclose(file);
    free(junk);
    ck_assert_int_eq(program_origin(), PCL_PROGRAM_FROM_SOURCE);
    ck_assert_int_eq(program_origin(), PCL_PROGRAM_FROM_DISK_CACHE);
}
END_TEST

START_TEST(cut_binary_with_valid_checksum_is_a_miss)
{
    /* Issue 18, defect 9: the driver binary cut to two thirds, its size field
     * and checksum rewritten to match. PoCL trusts the lengths inside its
     * binary and asserted (killing the process) on every run; the cache must
     * see the cut and rebuild instead. */
    char path[512];
    long size_offset;
    uint64_t size;
    FILE *file = open_fresh_cache_entry(path, sizeof path, &size_offset, &size);
    unsigned char *binary = malloc(size);
    ck_assert_int_eq(fread(binary, 1, size, file), size);
    ck_assert_int_eq(pcl_driver_binary_complete(binary, size), 1); /* as the driver wrote it */
    uint64_t cut = size * 2 / 3, hash = pcl_hash64(binary, cut, 3);
    ck_assert_int_eq(pcl_driver_binary_complete(binary, cut), 0);
    /* Found by fuzz_driver_binary: a version-9 header cut inside its 77 bytes
     * made the walk start past the end (an out-of-bounds read under ASan). */
    unsigned char *head = malloc(58);
    memcpy(head, binary, 58);
    ck_assert_int_eq(pcl_driver_binary_complete(head, 58), 0);
    free(head);
    fseek(file, size_offset, SEEK_SET);
    fwrite(&cut, sizeof cut, 1, file);
    fwrite(binary, 1, cut, file);
    fwrite(&hash, sizeof hash, 1, file);
    fclose(file);
    ck_assert_int_eq(truncate(path, size_offset + 8 + (long)cut + 8), 0);
    free(binary);
    ck_assert_int_eq(program_origin(), PCL_PROGRAM_FROM_SOURCE);
    ck_assert_int_eq(program_origin(), PCL_PROGRAM_FROM_DISK_CACHE); /* replaced by a whole one */
}
END_TEST

START_TEST(cache_can_be_disabled)
{
    setenv("PERCEPTCL_CACHE_DIR", "off", 1);
    ck_assert_str_eq(pcl_cache_dir(), "");
    ck_assert_int_eq(program_origin(), PCL_PROGRAM_FROM_SOURCE);
    ck_assert_int_eq(program_origin(), PCL_PROGRAM_FROM_SOURCE);
}
END_TEST

START_TEST(build_error_names_device_file_and_line)
{
    make_temp_dir();
    setenv("PERCEPTCL_CACHE_DIR", "off", 1);
    setenv("PERCEPTCL_KERNEL_DIR", temp_dir, 1);
    write_text(temp_dir, "helper.cl", "/* helper */\ninline float twice(float v) { return 2.0f * v; }\n");
    write_text(temp_dir, "broken.cl",
               "#include \"helper.cl\"\n__kernel void k(__global float *x)\n{\n    x[0] = twice(undeclared_name);\n}\n");
    pcl_context *context = open_context();
    cl_program program;
    ck_assert_int_eq(pcl_program_get(context, "broken.cl", NULL, &program, NULL), PCL_ERR_BUILD);
    const char *message = pcl_last_error();
    ck_assert_ptr_nonnull(strstr(message, "CL_BUILD_PROGRAM_FAILURE"));
    ck_assert_ptr_nonnull(strstr(message, pcl_context_device(context)->name));
    ck_assert_ptr_nonnull(strstr(message, "undeclared_name"));
    /* #line markers: the log points at line 4 of broken.cl despite the include. */
    ck_assert_msg(strstr(message, "kernels/broken.cl:4:") != NULL, "log lacks file:line: %s", message);

    /* A failed build is not fatal: a good source still builds and runs. */
    write_text(temp_dir, "good.cl",
               "#include \"helper.cl\"\n__kernel void k(__global float *x) { x[get_global_id(0)] = twice(3.0f); }\n");
    cl_kernel kernel;
    ck_assert_int_eq(pcl_kernel_get(context, "good.cl", NULL, "k", &kernel), PCL_OK);
    cl_mem buffer;
    ck_assert_int_eq(pcl_buffer_create(context, sizeof(float), &buffer), PCL_OK);
    ck_assert_int_eq(pcl_kernel_set_args(kernel, "k", 1, sizeof(cl_mem), &buffer), PCL_OK);
    size_t one = 1;
    ck_assert_int_eq(pcl_kernel_launch(context, kernel, "k", 1, &one, NULL), PCL_OK);
    float value = 0;
    ck_assert_int_eq(pcl_buffer_read(context, buffer, 0, sizeof value, &value), PCL_OK);
    ck_assert_float_eq(value, 6.0f);
    pcl_buffer_release(buffer);

    ck_assert_int_eq(pcl_kernel_get(context, "good.cl", NULL, "missing_kernel", &kernel), PCL_ERR_OPENCL);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "CL_INVALID_KERNEL_NAME"));
    ck_assert_int_eq(pcl_program_get(context, "absent.cl", NULL, &program, NULL), PCL_ERR_IO);
    pcl_context_destroy(context);
}
END_TEST

START_TEST(embedded_source_has_line_markers)
{
    unsetenv("PERCEPTCL_KERNEL_DIR");
    pcl_kernel_source source;
    ck_assert_int_eq(pcl_kernel_source_load("smoke.cl", &source), PCL_OK);
    ck_assert_ptr_nonnull(strstr(source.text, "#line 1 \"kernels/smoke.cl\""));
    ck_assert_ptr_nonnull(strstr(source.text, "scale_add"));
    pcl_kernel_source_free(&source);
    ck_assert_int_eq(pcl_kernel_source_load("nonexistent.cl", &source), PCL_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(allocation_limits)
{
    pcl_context *context = open_context();
    const pcl_device_info *info = pcl_context_device(context);
    cl_mem buffer = NULL;
    ck_assert_int_eq(pcl_buffer_create(context, (size_t)info->max_allocation + 4, &buffer), PCL_ERR_TOO_LARGE);
    ck_assert_ptr_null(buffer);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "maximum allocation"));
    ck_assert_int_eq(pcl_buffer_create(context, 0, &buffer), PCL_ERR_INVALID_ARGUMENT);
    pcl_context_destroy(context);
}
END_TEST

START_TEST(device_memory_is_budgeted)
{
    /* Issue 18, defect 6: a buffer the device (or, for a CPU device, the
     * process) cannot hold ended in a PoCL assertion (exit 134) at its first
     * use. pcl_buffer_create now refuses it with an error. */
    pcl_context *context = open_context();
    pcl_context_set_memory_limit(context, 1 << 20);
    cl_mem first = NULL, second = NULL;
    ck_assert_int_eq(pcl_buffer_create(context, 600 << 10, &first), PCL_OK);
    ck_assert_int_eq(pcl_buffer_create(context, 600 << 10, &second), PCL_ERR_OUT_OF_MEMORY);
    ck_assert_ptr_null(second);
    ck_assert_msg(strstr(pcl_last_error(), "614400 bytes are in use") && strstr(pcl_last_error(), "memory limit"),
                  "%s", pcl_last_error());
    pcl_buffer_release(first); /* its bytes come back when the driver destroys it */
    ck_assert_int_eq(pcl_context_finish(context), PCL_OK);
    ck_assert_msg(pcl_buffer_create(context, 600 << 10, &second) == PCL_OK, "%s", pcl_last_error());
    check_scale_add(context, 1000); /* buffers still work under a budget */
    pcl_context_set_memory_limit(context, 0);

    /* A CPU device's memory is the process's: under an address-space limit a
     * 2 GiB buffer (below the device's maximum allocation) is refused here. */
    const pcl_device_info *info = pcl_context_device(context);
    /* Not under AddressSanitizer: its allocator aborts where malloc would return NULL. */
    if (!PCL_UNDER_ASAN && info->type == PCL_DEVICE_TYPE_CPU && info->max_allocation >= ((uint64_t)2 << 30)) {
        struct rlimit old, low;
        ck_assert_int_eq(getrlimit(RLIMIT_AS, &old), 0);
        low = old;
        low.rlim_cur = (rlim_t)1 << 31; /* 2 GiB of address space for the whole process */
        if (old.rlim_cur == RLIM_INFINITY || old.rlim_cur > low.rlim_cur) {
            ck_assert_int_eq(setrlimit(RLIMIT_AS, &low), 0);
            cl_mem big = NULL;
            pcl_status status = pcl_buffer_create(context, (size_t)2 << 30, &big);
            ck_assert_int_eq(setrlimit(RLIMIT_AS, &old), 0);
            ck_assert_int_eq(status, PCL_ERR_OUT_OF_MEMORY);
            ck_assert_ptr_null(big);
            ck_assert_ptr_nonnull(strstr(pcl_last_error(), "host memory"));
        }
    }
    pcl_buffer_release(second);
    pcl_context_destroy(context);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("runtime");
    TCase *tc = tcase_create("runtime");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, kernel_runs_and_rounds_global_size);
    tcase_add_test(tc, small_work_group_limits);
    tcase_add_test(tc, kernel_profile_counts_launches);
#ifndef PCL_TEST_SMALL /* the oclgrind suite: smoke.cl's kernel only (the rest is PoCL's cache and errors) */
    tcase_add_test(tc, cache_hit_then_memory);
    tcase_add_test(tc, cache_corruption_is_rebuilt);
    tcase_add_test(tc, rejected_binary_is_rebuilt);
    tcase_add_test(tc, cut_binary_with_valid_checksum_is_a_miss);
    tcase_add_test(tc, cache_can_be_disabled);
    tcase_add_test(tc, build_error_names_device_file_and_line);
    tcase_add_test(tc, embedded_source_has_line_markers);
    tcase_add_test(tc, allocation_limits);
    tcase_add_test(tc, device_memory_is_budgeted);
#endif
    suite_add_tcase(suite, tc);
    int failed = pcl_check_run(suite, 0);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
