/* End-to-end runs of the perceptcl command: golden SSIM / MS-SSIM values and
 * gradients through files, and every documented error path (one line on
 * stderr, non-zero exit, no output file left behind). */
#include "json_get.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check_run.h"

static char work[64];
static char out_text[1 << 16], err_text[1 << 16];
static json_t *manifest;

static void read_text(const char *path, char *buffer, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buffer, 1, size - 1, f) : 0;
    buffer[n] = '\0';
    if (f) fclose(f);
}

/* Runs "perceptcl ARGS" in the work folder; returns the exit code and keeps
 * stdout and stderr in out_text / err_text. */
static int run(const char *args)
{
    char command[8192];
    snprintf(command, sizeof command, "cd %s && %s %s >stdout.txt 2>stderr.txt", work, PCL_PERCEPTCL, args);
    int status = system(command);
    char path[256];
    snprintf(path, sizeof path, "%s/stdout.txt", work);
    read_text(path, out_text, sizeof out_text);
    snprintf(path, sizeof path, "%s/stderr.txt", work);
    read_text(path, err_text, sizeof err_text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int file_exists(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", work, name);
    struct stat st;
    return stat(path, &st) == 0;
}

/* The last line of stderr that is not the "device [...]" banner. */
static const char *error_line(void)
{
    static char line[4096];
    line[0] = '\0';
    for (char *p = err_text; *p;) {
        char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n && strncmp(p, "perceptcl: device [", 19) != 0 && n < sizeof line) {
            memcpy(line, p, n);
            line[n] = '\0';
        }
        p = end ? end + 1 : p + n;
    }
    return line;
}

static float *read_f32(const char *case_name, const char *file, size_t count)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/cases/%s/%s", PCL_GOLDEN_DIR, case_name, file);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    float *data = malloc(count * sizeof(float));
    ck_assert_uint_eq(fread(data, sizeof(float), count, f), count);
    fclose(f);
    return data;
}

/* Writes a golden plane as a 1-channel little-endian PFM (rows bottom to top). */
static void write_pfm(const char *name, const float *data, int width, int height)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", work, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "Pf\n%d %d\n-1.0\n", width, height);
    for (int r = height - 1; r >= 0; r--) fwrite(data + (size_t)r * (size_t)width, sizeof(float), (size_t)width, f);
    fclose(f);
}

static float *read_pfm(const char *name, int width, int height)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", work, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "missing %s", path);
    char magic[3] = {0};
    int w = 0, h = 0;
    double scale = 0;
    ck_assert_int_eq(fscanf(f, "%2s %d %d %lf", magic, &w, &h, &scale), 4);
    fgetc(f);
    ck_assert_str_eq(magic, "Pf");
    ck_assert_int_eq(w, width);
    ck_assert_int_eq(h, height);
    ck_assert(scale < 0); /* little-endian */
    float *data = malloc((size_t)width * (size_t)height * sizeof(float));
    for (int r = height - 1; r >= 0; r--)
        ck_assert_uint_eq(fread(data + (size_t)r * (size_t)width, sizeof(float), (size_t)width, f), (size_t)width);
    fclose(f);
    return data;
}

static const json_t *golden_case(const char *name)
{
    const json_t *cases = json_object_get(manifest, "cases");
    for (size_t i = 0; i < json_array_size(cases); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(cases, i), "name")), name) == 0) return json_array_get(cases, i);
    ck_abort_msg("no golden case %s", name);
    return NULL;
}

/* Writes x.pfm and y.pfm of a golden case into the work folder. */
static void stage_case(const json_t *c, int *width, int *height, double *range)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    *width = (int)json_member_number(c, "width", 0);
    *height = (int)json_member_number(c, "height", 0);
    *range = json_member_number(c, "data_range", 0);
    size_t count = (size_t)*width * (size_t)*height;
    float *x = read_f32(name, "x.f32", count), *y = read_f32(name, "y.f32", count);
    write_pfm("x.pfm", x, *width, *height);
    write_pfm("y.pfm", y, *width, *height);
    free(x);
    free(y);
}

/* The value in "value": N of the --json output. */
static double json_value(void)
{
    json_error_t err;
    json_t *doc = json_loads(out_text, 0, &err);
    ck_assert_msg(doc != NULL, "bad JSON (%s): %s", err.text, out_text);
    const json_t *result = json_array_get(json_object_get(doc, "results"), 0);
    ck_assert_ptr_nonnull(result);
    double value = json_member_number(result, "value", NAN);
    json_decref(doc);
    ck_assert_msg(isfinite(value), "value is not finite: %s", out_text);
    return value;
}

static void setup(void)
{
    strcpy(work, "/tmp/pcl-apps-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(work));
    char path[1024];
    snprintf(path, sizeof path, "%s/cases.json", PCL_GOLDEN_DIR);
    manifest = json_load_file(path, 0, NULL);
}

static void teardown(void)
{
    json_decref(manifest);
    char command[256];
    snprintf(command, sizeof command, "rm -rf %s", work);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", work);
}

#define REQUIRE_GOLDEN()                                                                  \
    do {                                                                                  \
        if (!manifest) {                                                                  \
            fprintf(stderr, "SKIP: golden cases not found in %s\n", PCL_GOLDEN_DIR);     \
            return;                                                                       \
        }                                                                                 \
    } while (0)

START_TEST(help_version_and_unknown_command)
{
    ck_assert_int_eq(run("--version"), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "perceptcl "));
    ck_assert_int_eq(run("help"), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "ssim"));
    ck_assert_ptr_nonnull(strstr(out_text, "--device"));
    ck_assert_int_eq(run("frobnicate"), 2);
    ck_assert_ptr_nonnull(strstr(error_line(), "frobnicate"));
}
END_TEST

START_TEST(devices_lists_and_selects)
{
    ck_assert_int_eq(run("devices --json"), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "\"selected\": true"));
    ck_assert_int_eq(run("devices"), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "<- selected"));
    /* A selection that matches nothing: the app that needs a device fails and lists them. */
    ck_assert_int_eq(run("ssim --device no-such-device-name x.pfm y.pfm"), 1);
    ck_assert_int_eq(run("devices --device-type fpga"), 2);
}
END_TEST

START_TEST(ssim_values_match_golden)
{
    REQUIRE_GOLDEN();
    static const char *names[] = {"c02_astronaut_32x32_blur", "c09_grass_176x176_blur", "c11_gravel_251x247_contrast_up"};
    for (size_t k = 0; k < 3; k++) {
        const json_t *c = golden_case(names[k]);
        int width, height;
        double range;
        stage_case(c, &width, &height, &range);
        char args[512];
        snprintf(args, sizeof args, "ssim --json --range %.17g x.pfm y.pfm", range);
        ck_assert_msg(run(args) == 0, "%s: %s", names[k], err_text);
        ck_assert_double_eq_tol(json_value(), json_member_number(json_object_get(c, "valid"), "ssim", NAN), 3e-5);

        snprintf(args, sizeof args, "ssim --json --msssim --mode same --range %.17g x.pfm y.pfm", range);
        ck_assert_msg(run(args) == 0, "%s: %s", names[k], err_text);
        ck_assert_double_eq_tol(json_value(), json_member_number(json_object_get(c, "same_replicate"), "msssim_standard", NAN), 3e-5);

        snprintf(args, sizeof args, "ssim --json --msssim --mode same --weights equal --range %.17g x.pfm y.pfm", range);
        ck_assert_msg(run(args) == 0, "%s: %s", names[k], err_text);
        ck_assert_double_eq_tol(json_value(), json_member_number(json_object_get(c, "same_replicate"), "msssim_equal", NAN), 3e-5);
    }
}
END_TEST

START_TEST(gradient_file_matches_golden)
{
    REQUIRE_GOLDEN();
    const char *name = "c02_astronaut_32x32_blur";
    const json_t *c = golden_case(name);
    int width, height;
    double range;
    stage_case(c, &width, &height, &range);
    char args[512];
    snprintf(args, sizeof args, "ssim --msssim --mode same --range %.17g --grad g.pfm x.pfm y.pfm", range);
    ck_assert_msg(run(args) == 0, "%s", err_text);
    size_t count = (size_t)width * (size_t)height;
    float *got = read_pfm("g.pfm", width, height);
    float *expected = read_f32(name, "grad_msssim_standard_same.f32", count);
    double max_expected = 0, max_error = 0;
    for (size_t i = 0; i < count; i++) {
        ck_assert_msg(isfinite(got[i]), "NaN in the gradient at %zu", i);
        max_expected = fmax(max_expected, fabs(expected[i]));
        max_error = fmax(max_error, fabs((double)got[i] - expected[i]));
    }
    double tolerance = 2e-3 * max_expected + 1e-2 / (range * (double)count);
    ck_assert_msg(max_error <= tolerance, "gradient error %g > %g", max_error, tolerance);
    free(got);
    free(expected);
}
END_TEST

START_TEST(map_has_the_map_size)
{
    REQUIRE_GOLDEN();
    const json_t *c = golden_case("c02_astronaut_32x32_blur");
    int width, height;
    double range;
    stage_case(c, &width, &height, &range);
    ck_assert_int_eq(run("ssim --range 2 --map map.png x.pfm y.pfm"), 0);
    ck_assert(file_exists("map.png"));
    /* The map is a PNG of (W-10) x (H-10) in valid mode: check its header. */
    char path[256];
    snprintf(path, sizeof path, "%s/map.png", work);
    FILE *f = fopen(path, "rb");
    unsigned char header[24];
    ck_assert_uint_eq(fread(header, 1, 24, f), 24);
    fclose(f);
    unsigned w = (unsigned)header[16] << 24 | (unsigned)header[17] << 16 | (unsigned)header[18] << 8 | header[19];
    unsigned h = (unsigned)header[20] << 24 | (unsigned)header[21] << 16 | (unsigned)header[22] << 8 | header[23];
    ck_assert_uint_eq(w, (unsigned)width - 10);
    ck_assert_uint_eq(h, (unsigned)height - 10);
}
END_TEST

START_TEST(errors_are_one_line_and_leave_no_output)
{
    REQUIRE_GOLDEN();
    const json_t *c = golden_case("c06_astronaut_96x96_mean_shift");
    int width, height;
    double range;
    stage_case(c, &width, &height, &range);

    /* MS-SSIM in valid mode below 161 px is undefined: an error, not a number. */
    ck_assert_int_eq(run("ssim --msssim --map m.png --grad g.pfm x.pfm y.pfm"), 1);
    ck_assert_msg(strstr(error_line(), "161") || strstr(error_line(), "undefined"), "%s", err_text);
    ck_assert(!file_exists("m.png"));
    ck_assert(!file_exists("g.pfm"));
    ck_assert_str_eq(out_text, "");

    /* Size mismatch names both files. */
    float small[12 * 12] = {0};
    write_pfm("small.pfm", small, 12, 12);
    ck_assert_int_eq(run("ssim --map m.png x.pfm small.pfm"), 1);
    ck_assert_ptr_nonnull(strstr(error_line(), "small.pfm"));
    ck_assert_ptr_nonnull(strstr(error_line(), "x.pfm"));
    ck_assert(!file_exists("m.png"));

    /* Unreadable and truncated files name the file. */
    ck_assert_int_eq(run("ssim x.pfm missing.png"), 1);
    ck_assert_ptr_nonnull(strstr(error_line(), "missing.png"));
    ck_assert_int_eq(system("true"), 0);
    char command[512];
    snprintf(command, sizeof command, "head -c 1000 %s/data/Set5/bird.png > %s/cut.png", PCL_SOURCE_DIR, work);
    ck_assert_int_eq(system(command), 0);
    snprintf(command, sizeof command, "ssim %s/data/Set5/bird.png cut.png", PCL_SOURCE_DIR);
    ck_assert_int_eq(run(command), 1);
    ck_assert_ptr_nonnull(strstr(error_line(), "cut.png"));

    /* Images too small for valid SSIM. */
    float tiny[8 * 8] = {0};
    write_pfm("t1.pfm", tiny, 8, 8);
    write_pfm("t2.pfm", tiny, 8, 8);
    ck_assert_int_eq(run("ssim t1.pfm t2.pfm"), 1);
    ck_assert_ptr_nonnull(strstr(error_line(), "11"));
    /* Same mode is defined at any size. */
    ck_assert_int_eq(run("ssim --mode same --range 1 t1.pfm t2.pfm"), 0);

    /* A failed second output takes the first one with it: all outputs or none. */
    ck_assert_int_eq(run("ssim --mode same --range 1 --map m.png --grad no-such-dir/g.pfm t1.pfm t2.pfm"), 1);
    ck_assert_ptr_nonnull(strstr(error_line(), "no-such-dir/g.pfm"));
    ck_assert(!file_exists("m.png"));

    /* Usage errors exit 2. */
    ck_assert_int_eq(run("ssim x.pfm"), 2);
    ck_assert_int_eq(run("ssim --mode diagonal x.pfm y.pfm"), 2);
    ck_assert_int_eq(run("ssim --range -1 x.pfm y.pfm"), 2);
    ck_assert_int_eq(run("ssim --grad g.pfm x.pfm y.pfm y.pfm"), 2);
    ck_assert(!file_exists("g.pfm"));
}
END_TEST

START_TEST(identical_colour_images_and_y)
{
    char args[1024];
    snprintf(args, sizeof args, "ssim --json %s/data/Set5/bird.png %s/data/Set5/bird.png", PCL_SOURCE_DIR,
             PCL_SOURCE_DIR);
    ck_assert_int_eq(run(args), 0);
    ck_assert_double_eq_tol(json_value(), 1.0, 1e-6);
    ck_assert_ptr_nonnull(strstr(out_text, "rgb-mean"));
    snprintf(args, sizeof args, "ssim --json --y --msssim %s/data/Set5/baby.png %s/data/Set5/baby.png",
             PCL_SOURCE_DIR, PCL_SOURCE_DIR);
    ck_assert_int_eq(run(args), 0);
    ck_assert_double_eq_tol(json_value(), 1.0, 1e-6);
}
END_TEST

START_TEST(resize_sizes_and_errors)
{
    char args[1024];
    snprintf(args, sizeof args, "resize --modcrop 4 --scale 0.25 %s/data/Set5/woman.png lr.png", PCL_SOURCE_DIR);
    ck_assert_msg(run(args) == 0, "%s", err_text);
    ck_assert_int_eq(run("resize --size 40x30 lr.png up.pfm"), 0);
    /* woman is 228x344: modcrop 4 keeps 228x344, a quarter is 57x86. */
    ck_assert_int_eq(run("ssim --mode same --y lr.png lr.png"), 0);
    FILE *f;
    char path[256];
    snprintf(path, sizeof path, "%s/up.pfm", work);
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char magic[3];
    int w, h;
    ck_assert_int_eq(fscanf(f, "%2s %d %d", magic, &w, &h), 3);
    fclose(f);
    ck_assert_str_eq(magic, "PF");
    ck_assert_int_eq(w, 40);
    ck_assert_int_eq(h, 30);
    ck_assert_int_eq(run("resize --scale 0 lr.png x.png"), 2);
    ck_assert_int_eq(run("resize --scale 2 nothing.png x.png"), 1);
    ck_assert_ptr_nonnull(strstr(error_line(), "nothing.png"));
    ck_assert(!file_exists("x.png"));
}
END_TEST

START_TEST(datasets_check_reports_completeness)
{
    char args[1024];
    snprintf(args, sizeof args, "datasets check --corpus set5 %s/data", PCL_SOURCE_DIR);
    ck_assert_msg(run(args) == 0, "%s", err_text);
    ck_assert_ptr_nonnull(strstr(out_text, "complete"));
    /* Two of the five Set5 images: incomplete, said, and a failing exit. */
    char command[1024];
    snprintf(command, sizeof command, "mkdir -p %s/d/Set5 && cp %s/data/Set5/baby.png %s/data/Set5/bird.png %s/d/Set5/",
             work, PCL_SOURCE_DIR, PCL_SOURCE_DIR, work);
    ck_assert_int_eq(system(command), 0);
    ck_assert_int_eq(run("datasets check d"), 1);
    ck_assert_ptr_nonnull(strstr(out_text, "expected 5 images, found 2"));
    /* PERCEPTCL_DATA is the default folder. */
    snprintf(args, sizeof args, "datasets check --corpus set5 2>/dev/null; PERCEPTCL_DATA=%s/data %s datasets check --corpus set5",
             PCL_SOURCE_DIR, PCL_PERCEPTCL);
    ck_assert_int_eq(run(args), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "complete"));
}
END_TEST

START_TEST(sr_eval_reproduces_the_bicubic_row)
{
    char args[1024];
    snprintf(args, sizeof args, "sr-eval --json --scale 4 %s/data/Set5", PCL_SOURCE_DIR);
    ck_assert_msg(run(args) == 0, "%s", err_text);
    json_error_t err;
    json_t *doc = json_loads(out_text, 0, &err);
    ck_assert_msg(doc != NULL, "bad JSON (%s): %s", err.text, out_text);
    const json_t *set = json_array_get(json_object_get(doc, "sets"), 0);
    ck_assert_int_eq((int)json_member_number(set, "images", 0), 5);
    /* The SR literature's bicubic x4 figures for Set5: 28.42 dB, 0.8104. */
    ck_assert_double_eq_tol(json_member_number(json_object_get(set, "bicubic"), "psnr", NAN), 28.42, 0.05);
    ck_assert_double_eq_tol(json_member_number(json_object_get(set, "bicubic"), "ssim", NAN), 0.8104, 0.002);
    ck_assert_double_eq_tol(json_member_number(json_object_get(set, "paper_bicubic"), "psnr", NAN), 28.44, 1e-9);
    json_decref(doc);
    ck_assert_int_eq(run("sr-eval --scale 1 d"), 2);
    ck_assert_int_eq(run("sr-eval no-such-folder"), 1);
    ck_assert_ptr_nonnull(strstr(error_line(), "no-such-folder"));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("apps");
    TCase *tc = tcase_create("apps");
    tcase_set_timeout(tc, 600);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, help_version_and_unknown_command);
    tcase_add_test(tc, devices_lists_and_selects);
    tcase_add_test(tc, ssim_values_match_golden);
    tcase_add_test(tc, gradient_file_matches_golden);
    tcase_add_test(tc, map_has_the_map_size);
    tcase_add_test(tc, errors_are_one_line_and_leave_no_output);
    tcase_add_test(tc, identical_colour_images_and_y);
    tcase_add_test(tc, resize_sizes_and_errors);
    tcase_add_test(tc, datasets_check_reports_completeness);
    tcase_add_test(tc, sr_eval_reproduces_the_bicubic_row);
    suite_add_tcase(suite, tc);
    int failed = pcl_check_run(suite, 0);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
