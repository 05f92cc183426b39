/* Device selection rules, work-group choice and error naming: pure logic,
 * checked on a made-up machine with two platforms and four devices. */
#include "runtime/internal.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_run.h"

static pcl_device_info machine[4];

static void add_device(int index, int platform, int device, const char *platform_name, const char *name,
                       pcl_device_type type)
{
    pcl_device_info *d = &machine[index];
    memset(d, 0, sizeof *d);
    d->index = index;
    d->platform_index = platform;
    d->device_index = device;
    strcpy(d->platform_name, platform_name);
    strcpy(d->name, name);
    d->type = type;
}

static void setup(void)
{
    add_device(0, 0, 0, "Portable Computing Language", "pthread-skylake-avx512", PCL_DEVICE_TYPE_CPU);
    add_device(1, 1, 0, "NVIDIA CUDA", "NVIDIA H100 80GB HBM3", PCL_DEVICE_TYPE_GPU);
    add_device(2, 1, 1, "NVIDIA CUDA", "NVIDIA A100-SXM4", PCL_DEVICE_TYPE_GPU);
    add_device(3, 0, 1, "Portable Computing Language", "basic-accelerator", PCL_DEVICE_TYPE_ACCELERATOR);
    unsetenv("PERCEPTCL_DEVICE");
    unsetenv("PERCEPTCL_PLATFORM");
    unsetenv("PERCEPTCL_DEVICE_TYPE");
}

static int select_with(const char *platform, const char *device, pcl_device_type type, pcl_status *status)
{
    pcl_device_selection selection = {platform, device, type, type != PCL_DEVICE_TYPE_ANY, 0};
    int chosen = -1;
    *status = pcl_device_select(machine, 4, &selection, &chosen);
    return chosen;
}

START_TEST(default_prefers_first_gpu)
{
    pcl_status status;
    ck_assert_int_eq(select_with(NULL, NULL, PCL_DEVICE_TYPE_ANY, &status), 1);
    ck_assert_int_eq(status, PCL_OK);
    /* Without GPUs the first CPU wins over an earlier accelerator. */
    pcl_device_info only_cpu_and_accel[2] = {machine[3], machine[0]};
    pcl_device_selection none = {0};
    int chosen = -1;
    ck_assert_int_eq(pcl_device_select(only_cpu_and_accel, 2, &none, &chosen), PCL_OK);
    ck_assert_int_eq(chosen, 1);
}
END_TEST

/* Under mpirun each local rank takes its own device of the default rule's
 * kind: the GPUs in turn; a named device is every rank's. */
START_TEST(local_ranks_share_out_the_default_devices)
{
    const int expected[] = {1, 2, 1, 2};
    for (int rank = 0; rank < 4; rank++) {
        pcl_device_selection selection = {NULL, NULL, PCL_DEVICE_TYPE_ANY, 0, rank};
        int chosen = -1;
        ck_assert_int_eq(pcl_device_select(machine, 4, &selection, &chosen), PCL_OK);
        ck_assert_int_eq(chosen, expected[rank]);
        selection.type = PCL_DEVICE_TYPE_CPU; /* one CPU: every rank shares it */
        ck_assert_int_eq(pcl_device_select(machine, 4, &selection, &chosen), PCL_OK);
        ck_assert_int_eq(chosen, 0);
        selection.type = PCL_DEVICE_TYPE_ANY;
        selection.device = "A100";
        ck_assert_int_eq(pcl_device_select(machine, 4, &selection, &chosen), PCL_OK);
        ck_assert_int_eq(chosen, 2);
    }
}
END_TEST

START_TEST(index_forms)
{
    pcl_status status;
    ck_assert_int_eq(select_with(NULL, "2", PCL_DEVICE_TYPE_ANY, &status), 2);
    ck_assert_int_eq(select_with(NULL, "0:1", PCL_DEVICE_TYPE_ANY, &status), 3);
    ck_assert_int_eq(select_with(NULL, "1:0", PCL_DEVICE_TYPE_ANY, &status), 1);
    /* With --platform a plain number is the index within that platform. */
    ck_assert_int_eq(select_with("1", "1", PCL_DEVICE_TYPE_ANY, &status), 2);
    ck_assert_int_eq(status, PCL_OK);
    select_with(NULL, "7", PCL_DEVICE_TYPE_ANY, &status);
    ck_assert_int_eq(status, PCL_ERR_DEVICE_NOT_FOUND);
    select_with(NULL, "3:0", PCL_DEVICE_TYPE_ANY, &status);
    ck_assert_int_eq(status, PCL_ERR_DEVICE_NOT_FOUND);
}
END_TEST

START_TEST(name_substring_is_case_insensitive)
{
    pcl_status status;
    ck_assert_int_eq(select_with(NULL, "h100", PCL_DEVICE_TYPE_ANY, &status), 1);
    ck_assert_int_eq(select_with(NULL, "SKYLAKE", PCL_DEVICE_TYPE_ANY, &status), 0);
    ck_assert_int_eq(select_with("nvidia", "a100", PCL_DEVICE_TYPE_ANY, &status), 2);
    ck_assert_int_eq(status, PCL_OK);
}
END_TEST

START_TEST(ambiguous_and_missing_list_the_devices)
{
    pcl_status status;
    select_with(NULL, "nvidia", PCL_DEVICE_TYPE_ANY, &status);
    ck_assert_int_eq(status, PCL_ERR_DEVICE_AMBIGUOUS);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "ambiguous"));
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "NVIDIA H100 80GB HBM3"));
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "pthread-skylake-avx512"));
    select_with(NULL, "radeon", PCL_DEVICE_TYPE_ANY, &status);
    ck_assert_int_eq(status, PCL_ERR_DEVICE_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "radeon"));
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "NVIDIA A100-SXM4"));
    select_with("intel", NULL, PCL_DEVICE_TYPE_ANY, &status);
    ck_assert_int_eq(status, PCL_ERR_DEVICE_NOT_FOUND);
}
END_TEST

START_TEST(type_filter)
{
    pcl_status status;
    ck_assert_int_eq(select_with(NULL, NULL, PCL_DEVICE_TYPE_CPU, &status), 0);
    ck_assert_int_eq(select_with(NULL, NULL, PCL_DEVICE_TYPE_ACCELERATOR, &status), 3);
    ck_assert_int_eq(select_with(NULL, "nvidia", PCL_DEVICE_TYPE_CPU, &status), -1);
    ck_assert_int_eq(status, PCL_ERR_DEVICE_NOT_FOUND);
    pcl_device_type type;
    ck_assert_int_eq(pcl_device_type_parse("GPU", &type), PCL_OK);
    ck_assert_int_eq(type, PCL_DEVICE_TYPE_GPU);
    ck_assert_int_eq(pcl_device_type_parse("fpga", &type), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "fpga"));
}
END_TEST

START_TEST(flag_beats_environment_beats_default)
{
    setenv("PERCEPTCL_DEVICE", "a100", 1);
    pcl_device_selection from_env = {0};
    pcl_device_selection_apply_environment(&from_env);
    int chosen = -1;
    ck_assert_int_eq(pcl_device_select(machine, 4, &from_env, &chosen), PCL_OK);
    ck_assert_int_eq(chosen, 2);

    pcl_device_selection from_flag = {.device = "0"};
    pcl_device_selection_apply_environment(&from_flag);
    ck_assert_str_eq(from_flag.device, "0");
    ck_assert_int_eq(pcl_device_select(machine, 4, &from_flag, &chosen), PCL_OK);
    ck_assert_int_eq(chosen, 0);

    setenv("PERCEPTCL_DEVICE_TYPE", "cpu", 1);
    pcl_device_selection type_flag = {.type = PCL_DEVICE_TYPE_GPU, .type_set = 1};
    pcl_device_selection_apply_environment(&type_flag);
    ck_assert_int_eq(type_flag.type, PCL_DEVICE_TYPE_GPU);
    unsetenv("PERCEPTCL_DEVICE");
    unsetenv("PERCEPTCL_DEVICE_TYPE");
}
END_TEST

START_TEST(bad_environment_type_is_an_error)
{
    /* Issue 18: PERCEPTCL_DEVICE_TYPE=bogus was silently "any" while
     * --device-type bogus is an error. */
    setenv("PERCEPTCL_DEVICE_TYPE", "bogus", 1);
    pcl_device_selection selection = {0};
    ck_assert_int_eq(pcl_device_selection_apply_environment(&selection), PCL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "PERCEPTCL_DEVICE_TYPE"));
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "'bogus'"));
    ck_assert_int_eq(selection.type_set, 0);
    /* A flag given first is kept, so the variable is not read at all. */
    pcl_device_selection flagged = {.type = PCL_DEVICE_TYPE_CPU, .type_set = 1};
    ck_assert_int_eq(pcl_device_selection_apply_environment(&flagged), PCL_OK);
    setenv("PERCEPTCL_DEVICE_TYPE", "GPU", 1);
    ck_assert_int_eq(pcl_device_selection_apply_environment(&selection), PCL_OK);
    ck_assert_int_eq(selection.type, PCL_DEVICE_TYPE_GPU);
    unsetenv("PERCEPTCL_DEVICE_TYPE");
}
END_TEST

START_TEST(no_device_message_has_single_spaces)
{
    /* Issue 18: "--platform 5" said "no  device" (an empty type between two spaces). */
    pcl_status status;
    ck_assert_int_eq(select_with("5", NULL, PCL_DEVICE_TYPE_ANY, &status), -1);
    ck_assert_int_eq(status, PCL_ERR_DEVICE_NOT_FOUND);
    ck_assert_ptr_null(strstr(pcl_last_error(), "no  device"));
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "no device on platform '5'"));
    select_with("5", NULL, PCL_DEVICE_TYPE_GPU, &status);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "no gpu device on platform '5'"));
}
END_TEST

START_TEST(local_size_respects_limits)
{
    const size_t limits[] = {1, 3, 16, 64, 256, 4096};
    const size_t globals[][2] = {{1, 1}, {7, 5}, {96, 96}, {1000, 3}, {4096, 1}};
    for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++)
        for (size_t g = 0; g < sizeof globals / sizeof globals[0]; g++) {
            size_t local[2];
            pcl_choose_local_size(2, globals[g], limits[l], local);
            ck_assert_uint_ge(local[0], 1);
            ck_assert_uint_ge(local[1], 1);
            ck_assert_uint_le(local[0] * local[1], limits[l]);
            ck_assert_uint_le(local[0] * local[1], 256);
            /* No group is wider than twice the extent it covers. */
            ck_assert_uint_lt(local[0], 2 * globals[g][0]);
        }
}
END_TEST

START_TEST(error_names)
{
    ck_assert_str_eq(pcl_cl_error_name(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES");
    ck_assert_str_eq(pcl_cl_error_name(CL_INVALID_WORK_GROUP_SIZE), "CL_INVALID_WORK_GROUP_SIZE");
    ck_assert_str_eq(pcl_cl_error_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
    ck_assert_str_eq(pcl_cl_error_name(-9999), "CL_UNKNOWN_ERROR");
    ck_assert_int_eq(pcl_fail_cl(CL_OUT_OF_RESOURCES, "clEnqueueNDRangeKernel(x)"), PCL_ERR_OPENCL);
    ck_assert_str_eq(pcl_last_error(), "clEnqueueNDRangeKernel(x) failed: CL_OUT_OF_RESOURCES (-5)");
    ck_assert_int_eq(pcl_fail_cl(-1001, "clGetPlatformIDs"), PCL_ERR_NO_PLATFORM);
    ck_assert_str_eq(pcl_status_name(PCL_ERR_TOO_LARGE), "PCL_ERR_TOO_LARGE");
}
END_TEST

START_TEST(no_platform_message_says_how_to_install)
{
    /* Point the ICD loader at an empty vendor folder: no platform at all. */
    char dir[] = "/tmp/pcl-no-icd-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    setenv("OCL_ICD_VENDORS", dir, 1);
    pcl_device_info *devices = NULL;
    int count = -1;
    pcl_status status = pcl_devices_list(&devices, &count);
    unsetenv("OCL_ICD_VENDORS");
    rmdir(dir);
    ck_assert_int_eq(status, PCL_ERR_NO_PLATFORM);
    ck_assert_int_eq(count, 0);
    ck_assert_ptr_null(devices);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "-1001"));
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "pocl-opencl-icd"));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("device_selection");
    TCase *tc = tcase_create("selection");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, default_prefers_first_gpu);
    tcase_add_test(tc, local_ranks_share_out_the_default_devices);
    tcase_add_test(tc, index_forms);
    tcase_add_test(tc, name_substring_is_case_insensitive);
    tcase_add_test(tc, ambiguous_and_missing_list_the_devices);
    tcase_add_test(tc, type_filter);
    tcase_add_test(tc, flag_beats_environment_beats_default);
    tcase_add_test(tc, bad_environment_type_is_an_error);
    tcase_add_test(tc, no_device_message_has_single_spaces);
    tcase_add_test(tc, local_size_respects_limits);
    tcase_add_test(tc, error_names);
    tcase_add_test(tc, no_platform_message_says_how_to_install);
    suite_add_tcase(suite, tc);
    int failed = pcl_check_run(suite, 0);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
