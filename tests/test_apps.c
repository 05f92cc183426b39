/* End-to-end runs of the perceptcl command: golden SSIM / MS-SSIM values and
 * gradients through files, and every documented error path (one line on
 * stderr, non-zero exit, no output file left behind). */
#include "../apps/app.h"
#include "io/file_atomic.h"
#include "perceptcl/image.h"
#include "perceptcl/resize.h"

#include <jansson.h>

#include "run_perceptcl.h"

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

/* Runs "perceptcl ARGS" in the work folder; returns the exit code and keeps
 * stdout and stderr in out_text / err_text. */
static int run(const char *args)
{
    return pcl_test_run_perceptcl(work, args, out_text, sizeof out_text, err_text, sizeof err_text);
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

/* A number member of a JSON object, NaN when absent (a NaN never passes). */
static double json_number(const json_t *object, const char *key)
{
    const json_t *value = json_object_get(object, key);
    return json_is_number(value) ? json_number_value(value) : NAN;
}

static const json_t *golden_case(const char *name)
{
    const json_t *cases = json_object_get(manifest, "cases");
    for (size_t i = 0; i < json_array_size(cases); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(cases, i), "name")), name) == 0)
            return json_array_get(cases, i);
    ck_abort_msg("no golden case %s", name);
    return NULL;
}

/* Writes x.pfm and y.pfm of a golden case into the work folder. */
static void stage_case(const json_t *c, int *width, int *height, double *range)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    *width = (int)json_number(c, "width");
    *height = (int)json_number(c, "height");
    *range = json_number(c, "data_range");
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
    double value = json_number(result, "value");
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
        ck_assert_double_eq_tol(json_value(), json_number(json_object_get(c, "valid"), "ssim"), 3e-5);

        snprintf(args, sizeof args, "ssim --json --msssim --mode same --range %.17g x.pfm y.pfm", range);
        ck_assert_msg(run(args) == 0, "%s: %s", names[k], err_text);
        ck_assert_double_eq_tol(json_value(), json_number(json_object_get(c, "same_replicate"), "msssim_standard"), 3e-5);

        snprintf(args, sizeof args, "ssim --json --msssim --mode same --weights equal --range %.17g x.pfm y.pfm", range);
        ck_assert_msg(run(args) == 0, "%s: %s", names[k], err_text);
        ck_assert_double_eq_tol(json_value(), json_number(json_object_get(c, "same_replicate"), "msssim_equal"), 3e-5);
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
    ck_assert_int_eq((int)json_number(set, "images"), 5);
    /* The SR literature's bicubic x4 figures for Set5: 28.42 dB, 0.8104. */
    const json_t *bicubic = json_object_get(json_object_get(set, "results"), "bicubic");
    ck_assert_double_eq_tol(json_number(bicubic, "psnr"), 28.42, 0.05);
    ck_assert_double_eq_tol(json_number(bicubic, "ssim"), 0.8104, 0.002);
    ck_assert_double_eq_tol(json_number(json_object_get(json_object_get(set, "paper"), "bicubic"), "psnr"), 28.44, 1e-9);
    json_decref(doc);
    ck_assert_int_eq(run("sr-eval --scale 1 d"), 2);
    ck_assert_int_eq(run("sr-eval no-such-folder"), 1);
    ck_assert_ptr_nonnull(strstr(error_line(), "no-such-folder"));
}
END_TEST


/* Exactly one line on stderr (after the device banner, if any). */
static int stderr_lines(void)
{
    int lines = 0;
    for (const char *p = err_text; *p; p++) lines += *p == '\n';
    return lines - (strncmp(err_text, "perceptcl: device [", 19) == 0);
}

/* A usage error: exit 2, nothing on stdout, one line on stderr naming every word in words. */
static void expect_usage_error(const char *args, const char *const *words)
{
    ck_assert_msg(run(args) == 2, "%s: exit code not 2: %s", args, err_text);
    ck_assert_msg(out_text[0] == '\0', "%s: wrote to stdout: %s", args, out_text);
    ck_assert_msg(stderr_lines() == 1, "%s: not one line: %s", args, err_text);
    for (int k = 0; words[k]; k++)
        ck_assert_msg(strstr(error_line(), words[k]) != NULL, "%s: '%s' not named in: %s", args, words[k], err_text);
}

START_TEST(argument_reader_help_and_usage_errors)
{
    static const char *const helps[] = {"devices", "ssim", "resize", "sr-eval", "datasets", "srcnn eval",
                                        "srcnn upscale", "srcnn compare", "srcnn train"};
    for (size_t k = 0; k < sizeof helps / sizeof helps[0]; k++) {
        char args[128];
        snprintf(args, sizeof args, "%s --help", helps[k]);
        ck_assert_msg(run(args) == 0, "%s: %s", args, err_text);
        ck_assert_msg(strstr(out_text, "usage: perceptcl") != NULL, "%s: no usage in: %s", args, out_text);
    }
    /* Commands that open a device list the device flags in their help; datasets has none. */
    ck_assert_int_eq(run("sr-eval -h"), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "--device-type"));
    ck_assert_int_eq(run("datasets --help"), 0);
    ck_assert_ptr_null(strstr(out_text, "--device-type"));

    expect_usage_error("sr-eval --bogus d", (const char *const[]){"--bogus", NULL});
    expect_usage_error("sr-eval d --scale", (const char *const[]){"--scale", "needs a value", NULL});
    expect_usage_error("sr-eval --scale nine d", (const char *const[]){"--scale", "'nine'", NULL});
    expect_usage_error("sr-eval --scale 9 d", (const char *const[]){"--scale", "'9'", "2..8", NULL});
    expect_usage_error("sr-eval --scale 4x d", (const char *const[]){"--scale", "'4x'", NULL});
    expect_usage_error("sr-eval", (const char *const[]){"folder", NULL});
    expect_usage_error("ssim --weights heavy x.pfm y.pfm", (const char *const[]){"--weights", "'heavy'", "equal", NULL});
    expect_usage_error("ssim --range nan x.pfm y.pfm", (const char *const[]){"--range", "'nan'", NULL});
    expect_usage_error("ssim --range 0 x.pfm y.pfm", (const char *const[]){"--range", "'0'", NULL});
    expect_usage_error("ssim --device-type fpga x.pfm y.pfm", (const char *const[]){"--device-type", "fpga", NULL});
    expect_usage_error("ssim --device", (const char *const[]){"--device", "needs a value", NULL});
    expect_usage_error("resize --scale -1 a.png b.png", (const char *const[]){"--scale", "'-1'", NULL});
    expect_usage_error("resize --size 3by4 a.png b.png", (const char *const[]){"--size", "'3by4'", NULL});
    expect_usage_error("resize --scale 2 a.png b.png c.png", (const char *const[]){"'c.png'", NULL});
    expect_usage_error("devices extra", (const char *const[]){"'extra'", NULL});
    expect_usage_error("datasets check --corpus no-such-corpus", (const char *const[]){"--corpus", "no-such-corpus", NULL});
    expect_usage_error("srcnn eval --model m --scale 1 d", (const char *const[]){"--scale", "'1'", NULL});
    expect_usage_error("srcnn compare --model m --crop 1,2 a.png b.png", (const char *const[]){"--crop", "'1,2'", NULL});
    expect_usage_error("srcnn compare --model m --zoom 0 a.png b.png", (const char *const[]){"--zoom", "'0'", NULL});
    expect_usage_error("srcnn upscale --model m a.png", (const char *const[]){"IN OUT", NULL});
    expect_usage_error("srcnn upscale --modle m a.png b.png", (const char *const[]){"--modle", NULL});
    expect_usage_error("srcnn train --loss mse --train d --out m --epochs 0", (const char *const[]){"--epochs", "'0'", NULL});
    expect_usage_error("srcnn train --loss mse --train d --out m --bogus", (const char *const[]){"--bogus", NULL});
    expect_usage_error("srcnn", (const char *const[]){"train, eval, upscale, compare", NULL});
    expect_usage_error("srcnn evaluate d", (const char *const[]){"'evaluate'", "train, eval", NULL});
    ck_assert_int_eq(run("srcnn help"), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "usage: perceptcl srcnn train"));
    ck_assert(!file_exists("b.png"));
}
END_TEST

/* A 16x16 plane with some structure, so SSIM and its gradient are not trivial. */
static void write_test_pair(void)
{
    float a[16 * 16], b[16 * 16];
    for (int i = 0; i < 16 * 16; i++) {
        a[i] = (float)((i * 37) % 101) / 100.0f;
        b[i] = a[i] * 0.8f + 0.1f;
    }
    write_pfm("a.pfm", a, 16, 16);
    write_pfm("b.pfm", b, 16, 16);
}

static void write_text(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", work, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static const char *file_text(const char *name)
{
    static char text[1 << 16];
    char path[256];
    snprintf(path, sizeof path, "%s/%s", work, name);
    pcl_test_read_text(path, text, sizeof text);
    return text;
}

/* Names in the work folder other than the listed ones (a temporary left behind, say); 0 if none. */
static int stray_files(const char *const *expected)
{
    char command[512];
    snprintf(command, sizeof command, "ls -A %s > %s.list", work, work);
    ck_assert_int_eq(system(command), 0);
    char list_path[128], list[8192];
    snprintf(list_path, sizeof list_path, "%s.list", work);
    pcl_test_read_text(list_path, list, sizeof list);
    remove(list_path);
    int stray = 0;
    for (char *name = strtok(list, "\n"); name; name = strtok(NULL, "\n")) {
        int known = 0;
        for (int k = 0; expected[k]; k++) known |= strcmp(name, expected[k]) == 0;
        if (!known) fprintf(stderr, "stray file: %s\n", name), stray++;
    }
    return stray;
}

START_TEST(failed_outputs_keep_existing_files)
{
    write_test_pair();
    /* The second output cannot be written: the user's existing first output stays as it was. */
    write_text("keep.png", "keep\n");
    ck_assert_int_eq(run("ssim --mode same --range 1 --map keep.png --grad /nonexistent-dir/g.pfm a.pfm b.pfm"), 1);
    ck_assert_ptr_nonnull(strstr(error_line(), "/nonexistent-dir/g.pfm"));
    ck_assert_str_eq(file_text("keep.png"), "keep\n");
    /* A computation that fails (MS-SSIM, valid mode, 16 px) leaves both existing outputs. */
    write_text("g.pfm", "old gradient\n");
    ck_assert_int_eq(run("ssim --msssim --map keep.png --grad g.pfm a.pfm b.pfm"), 1);
    ck_assert_str_eq(file_text("keep.png"), "keep\n");
    ck_assert_str_eq(file_text("g.pfm"), "old gradient\n");
    ck_assert_int_eq(stray_files((const char *const[]){"a.pfm", "b.pfm", "keep.png", "g.pfm", "stdout.txt",
                                                      "stderr.txt", NULL}),
                     0);
    /* Success replaces both. */
    ck_assert_msg(run("ssim --mode same --range 1 --map keep.png --grad g.pfm a.pfm b.pfm") == 0, "%s", err_text);
    ck_assert(memcmp(file_text("keep.png"), "\x89PNG", 4) == 0);
    ck_assert(strncmp(file_text("g.pfm"), "Pf\n16 16\n", 9) == 0);
    ck_assert_int_eq(stray_files((const char *const[]){"a.pfm", "b.pfm", "keep.png", "g.pfm", "stdout.txt",
                                                      "stderr.txt", NULL}),
                     0);
}
END_TEST

static void stage_in(pcl_file_set *set, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", work, name);
    ck_assert_msg(pcl_file_set_add_bytes(set, path, text, strlen(text)) == PCL_OK, "%s", pcl_last_error());
}

START_TEST(file_set_commits_all_or_nothing)
{
    static const char *const files[] = {"a.txt", "b.txt", "dir", NULL};
    write_text("a.txt", "old a\n");
    char path[256];
    snprintf(path, sizeof path, "%s/dir", work);
    ck_assert_int_eq(mkdir(path, 0755), 0);

    /* A target that cannot be created: nothing changes, no temporary stays. */
    pcl_file_set *set = NULL;
    ck_assert_int_eq(pcl_file_set_create(&set), PCL_OK);
    stage_in(set, "a.txt", "new a\n");
    snprintf(path, sizeof path, "%s/no-such-dir/b.txt", work);
    ck_assert_int_ne(pcl_file_set_add_bytes(set, path, "b", 1), PCL_OK);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "no-such-dir/b.txt"));
    pcl_file_set_destroy(set);
    ck_assert_str_eq(file_text("a.txt"), "old a\n");
    ck_assert_int_eq(stray_files(files), 0);

    /* A rename that fails (a folder in the way) after another target was
     * replaced: that one gets its previous contents back. */
    ck_assert_int_eq(pcl_file_set_create(&set), PCL_OK);
    stage_in(set, "a.txt", "new a\n");
    stage_in(set, "b.txt", "new b\n");
    stage_in(set, "dir", "not a folder\n");
    ck_assert_int_ne(pcl_file_set_commit(set), PCL_OK);
    ck_assert_ptr_nonnull(strstr(pcl_last_error(), "dir"));
    pcl_file_set_destroy(set);
    ck_assert_str_eq(file_text("a.txt"), "old a\n");
    ck_assert(!file_exists("b.txt"));
    ck_assert_int_eq(stray_files(files), 0);

    /* Success: every target replaced or created, nothing else left. */
    ck_assert_int_eq(pcl_file_set_create(&set), PCL_OK);
    stage_in(set, "a.txt", "new a\n");
    stage_in(set, "b.txt", "new b\n");
    ck_assert_int_ne(pcl_file_set_add_bytes(set, path, "twice", 5), PCL_OK); /* the missing folder again */
    snprintf(path, sizeof path, "%s/a.txt", work);
    ck_assert_int_ne(pcl_file_set_add(set, path, NULL), PCL_OK); /* a.txt named twice */
    ck_assert_msg(pcl_file_set_commit(set) == PCL_OK, "%s", pcl_last_error());
    pcl_file_set_destroy(set);
    ck_assert_str_eq(file_text("a.txt"), "new a\n");
    ck_assert_str_eq(file_text("b.txt"), "new b\n");
    ck_assert_int_eq(stray_files(files), 0);
}
END_TEST

START_TEST(report_renders_markdown_and_json)
{
    static const app_metric metrics[] = {{"psnr", "PSNR", 2, 4}, {"ssim", "SSIM", 4, 6}};
    static const char *const columns[] = {"bicubic", "MSE"}, *const paper_columns[] = {"bicubic"};
    /* [column][metric]; values chosen to round differently at 2/4 and 4/6 decimals. */
    static const double set5[] = {28.42066, 0.81037649, 30.03504, 0.8504306}, set5_paper[] = {28.44, 0.8097};
    static const double mine[] = {25.5, 0.7, 26.125, 0.71234567};
    const app_report_row rows[] = {{"Set5", 5, set5, set5_paper}, {"Mine", 2, mine, NULL}};
    json_t *header = json_pack("{s:s, s:i}", "protocol", "srcnn", "scale", 4);
    app_report report = {"A title", "set", "sets", "images", metrics, 2, columns, 2, paper_columns, 1, rows, 2,
                         "A note.", header};
    char *markdown = app_report_markdown(&report);
    ck_assert_ptr_nonnull(markdown);
    ck_assert_str_eq(markdown, "# A title\n\n"
                               "| set | images | metric | bicubic | MSE | paper: bicubic |\n"
                               "|---|---|---|---|---|---|\n"
                               "| Set5 | 5 | PSNR | 28.42 | 30.04 | 28.44 |\n"
                               "| Set5 | 5 | SSIM | 0.8104 | 0.8504 | 0.8097 |\n"
                               "| Mine | 2 | PSNR | 25.50 | 26.12 | - |\n"
                               "| Mine | 2 | SSIM | 0.7000 | 0.7123 | - |\n"
                               "\nA note.\n");
    free(markdown);
    json_t *doc = app_report_json(&report);
    ck_assert_ptr_nonnull(doc);
    char *text = json_dumps(doc, JSON_REAL_PRECISION(15));
    ck_assert_str_eq(text, "{\"protocol\": \"srcnn\", \"scale\": 4, \"sets\": ["
                           "{\"set\": \"Set5\", \"images\": 5, \"results\": {\"bicubic\": {\"psnr\": 28.4207, \"ssim\": "
                           "0.810376}, \"MSE\": {\"psnr\": 30.035, \"ssim\": 0.850431}}, \"paper\": {\"bicubic\": "
                           "{\"psnr\": 28.44, \"ssim\": 0.8097}}}, "
                           "{\"set\": \"Mine\", \"images\": 2, \"results\": {\"bicubic\": {\"psnr\": 25.5, \"ssim\": 0.7}, "
                           "\"MSE\": {\"psnr\": 26.125, \"ssim\": 0.712346}}}]}");
    free(text);

    /* Written as two files, both or neither: an unwritable JSON path keeps the old Markdown. */
    char md[256], js[256];
    snprintf(md, sizeof md, "%s/t.md", work);
    snprintf(js, sizeof js, "%s/no-such-dir/t.json", work);
    write_text("t.md", "old\n");
    ck_assert_int_eq(app_report_write("test", &report, md, js), 1);
    ck_assert_str_eq(file_text("t.md"), "old\n");
    /* Issue 18, defect 2: "srcnn eval --report rep/r" with rep/r.json a directory
     * deleted an old rep/r.md. */
    snprintf(js, sizeof js, "%s/t.json", work);
    ck_assert_int_eq(mkdir(js, 0755), 0);
    ck_assert_int_eq(app_report_write("test", &report, md, js), 1);
    ck_assert_str_eq(file_text("t.md"), "old\n");
    ck_assert_int_eq(rmdir(js), 0);
    ck_assert_int_eq(app_report_write("test", &report, md, js), 0);
    ck_assert(strncmp(file_text("t.md"), "# A title\n", 10) == 0);
    json_t *back = json_load_file(js, 0, NULL);
    ck_assert_ptr_nonnull(back);
    ck_assert(json_equal(back, doc));
    json_decref(back);
    json_decref(doc);
    json_decref(header);

    /* The paper's rows by set name, any case. */
    ck_assert_ptr_eq(app_paper_row_find("set14"), &app_paper_table2[1]);
    ck_assert_ptr_null(app_paper_row_find("Set6"));
    const double *v = app_paper_table_find(&app_paper_table3, "ms-ssim", "MAE");
    ck_assert(v && *v == 0.1064);
    v = app_paper_table_find(&app_paper_table1, "MSE", "elevation MSE");
    ck_assert(v && *v == 51.46);
    ck_assert_ptr_null(app_paper_table_find(&app_paper_table1, "MSE", "MSE"));
}
END_TEST

/* Issue 18: what a careless user runs into, each refused with one line naming the file. */
START_TEST(careless_input_is_refused_naming_the_file)
{
    write_test_pair();
    float bad[16 * 16];
    for (int i = 0; i < 16 * 16; i++) bad[i] = 0.5f;
    bad[3 * 16 + 5] = NAN;
    write_pfm("nan.pfm", bad, 16, 16);
    bad[3 * 16 + 5] = INFINITY;
    write_pfm("inf.pfm", bad, 16, 16);
    /* Defect 7: the NaN was blamed on the other file, as an internal error. */
    ck_assert_int_eq(run("ssim --mode same nan.pfm a.pfm"), 1);
    ck_assert_msg(strstr(error_line(), "nan.pfm: pixel (5, 3) channel 0 is NaN") && !strstr(error_line(), "a.pfm") &&
                      !strstr(error_line(), "internal"), "%s", err_text);
    ck_assert_int_eq(run("ssim --mode same a.pfm inf.pfm"), 1);
    ck_assert_msg(strstr(error_line(), "inf.pfm: pixel (5, 3) channel 0 is infinite"), "%s", err_text);
    /* Finite but beyond float32's squares: the input's fault too, not an "internal error". */
    for (int i = 0; i < 16 * 16; i++) bad[i] = 3e38f;
    write_pfm("huge.pfm", bad, 16, 16);
    ck_assert_int_eq(run("ssim --mode same a.pfm huge.pfm"), 1);
    ck_assert_msg(strstr(error_line(), "huge.pfm against a.pfm is not finite") && !strstr(error_line(), "internal"),
                  "%s", err_text);
    ck_assert_int_eq(run("resize --scale 2 nan.pfm out.pfm"), 1); /* exited 0 with NaN output */
    ck_assert_ptr_nonnull(strstr(error_line(), "nan.pfm"));
    ck_assert(!file_exists("out.pfm"));

    /* Defect 10: a directory given as an image. */
    ck_assert_int_eq(mkdir(strcat(strcpy((char[256]){0}, work), "/dir.png"), 0755), 0);
    ck_assert_int_eq(run("ssim dir.png a.pfm"), 1);
    ck_assert_msg(strstr(error_line(), "dir.png: is a directory"), "%s", err_text);

    /* Defect 10: srcnn upscale repeated the path ("x.png: x.png: cannot open"). */
    char upscale[1024];
    snprintf(upscale, sizeof upscale, "srcnn upscale --model %s/models/srcnn_x4_mse.safetensors missing.png o.png",
             PCL_SOURCE_DIR);
    ck_assert_int_eq(run(upscale), 1);
    ck_assert_msg(strstr(error_line(), "missing.png: cannot open") && !strstr(error_line(), "missing.png: missing.png"),
                  "%s", err_text);

    /* Defect 10: sr-eval's shave names the image. */
    ck_assert_int_eq(mkdir(strcat(strcpy((char[256]){0}, work), "/tiny"), 0755), 0);
    pcl_image *tiny;
    ck_assert_int_eq(pcl_image_create(&tiny, 8, 8, 1), PCL_OK);
    char path[256];
    snprintf(path, sizeof path, "%s/tiny/t8.png", work);
    ck_assert_int_eq(pcl_image_write_png(path, tiny), PCL_OK);
    pcl_image_destroy(tiny);
    ck_assert_int_eq(run("sr-eval --scale 4 tiny"), 1);
    ck_assert_msg(strstr(error_line(), "t8.png") && strstr(error_line(), "shave"), "%s", err_text);

    /* Defect 10: devices --device nope printed the table and exited 0. */
    ck_assert_int_eq(run("devices --device nope"), 1);
    ck_assert_msg(strstr(error_line(), "'nope'") && strstr(error_line(), "matches no device"), "%s", err_text);
    ck_assert_str_eq(out_text, "");
    /* PERCEPTCL_DEVICE_TYPE=bogus was ignored; --device-type bogus is a usage error. */
    setenv("PERCEPTCL_DEVICE_TYPE", "bogus", 1);
    int devices_rc = run("devices"), ssim_rc = run("ssim a.pfm a.pfm");
    unsetenv("PERCEPTCL_DEVICE_TYPE");
    ck_assert_int_eq(devices_rc, 1);
    ck_assert_int_eq(ssim_rc, 1);
    ck_assert_msg(strstr(error_line(), "PERCEPTCL_DEVICE_TYPE") && strstr(error_line(), "'bogus'"), "%s", err_text);
    /* --platform 5 said "no  device". */
    ck_assert_int_eq(run("ssim --platform 5 a.pfm a.pfm"), 1);
    ck_assert_msg(strstr(error_line(), "no device on platform '5'"), "%s", err_text);
}
END_TEST

/* Issue 18, defects 4, 5 and 6 through the commands. */
START_TEST(resize_keeps_depth_and_checks_sizes)
{
    /* 16-bit PGM in: 16-bit PNG out with the resized values, not clipped at 255. */
    const int w = 8, h = 6;
    unsigned char file[64 + 8 * 6 * 2];
    for (int maxval_kind = 0; maxval_kind < 2; maxval_kind++) {
        int maxval = maxval_kind ? 1023 : 65535;
        int n = snprintf((char *)file, 64, "P5\n%d %d\n%d\n", w, h, maxval);
        pcl_image *src;
        ck_assert_int_eq(pcl_image_create(&src, w, h, 1), PCL_OK);
        src->max_value = (float)maxval;
        for (int i = 0; i < w * h; i++) {
            int v = (i * 7919 + 300) % (maxval + 1);
            src->data[i] = (float)v;
            file[n + 2 * i] = (unsigned char)(v >> 8);
            file[n + 2 * i + 1] = (unsigned char)(v & 0xFF);
        }
        char path[256];
        snprintf(path, sizeof path, "%s/deep.pgm", work);
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        fwrite(file, 1, (size_t)n + (size_t)(2 * w * h), f);
        fclose(f);
        ck_assert_msg(run("resize --scale 2 deep.pgm deep.png") == 0, "%s", err_text);
        ck_assert_int_eq(maxval_kind ? strstr(err_text, "scaled by 65535/1023") != NULL : err_text[0] == '\0', 1);
        pcl_image *want, *got;
        ck_assert_int_eq(pcl_resize_bicubic_scale(src, 2, PCL_RESIZE_DEFAULT, &want), PCL_OK);
        snprintf(path, sizeof path, "%s/deep.png", work);
        ck_assert_int_eq(pcl_image_read(path, &got), PCL_OK);
        ck_assert_float_eq(got->max_value, 65535.0f);
        ck_assert_int_eq(got->width, 2 * w);
        int above_255 = 0;
        for (size_t i = 0; i < pcl_image_size(got); i++) {
            double v = floor((double)want->data[i] * 65535.0 / maxval + 0.5);
            v = v < 0 ? 0 : v > 65535 ? 65535 : v;
            ck_assert_msg(fabs(got->data[i] - v) <= 1.0, "sample %zu: %g, want %g", i, (double)got->data[i], v);
            above_255 += got->data[i] > 255.0f;
        }
        ck_assert_int_gt(above_255, 0);
        pcl_image_destroy(src);
        pcl_image_destroy(want);
        pcl_image_destroy(got);
    }
    /* Defect 5: scales refused before allocating (1e-9 was an ASan abort, 5e-8 ran for minutes). */
    ck_assert_int_eq(run("resize --scale 1e-9 deep.pgm x.png"), 1);
    ck_assert_msg(strstr(error_line(), "below one pixel"), "%s", err_text);
    ck_assert_int_eq(run("resize --scale 5e-8 deep.pgm x.png"), 1);
    ck_assert_int_eq(run("resize --scale 3000 deep.pgm x.png"), 1);
    ck_assert_msg(strstr(error_line(), "over the limit"), "%s", err_text);
    ck_assert(!file_exists("x.png"));
    /* Defect 6: the pixel limit, lowered and raised by flag and environment. */
    ck_assert_int_eq(run("resize --max-pixels 47 --scale 1 deep.pgm x.png"), 1);
    ck_assert_msg(strstr(error_line(), "deep.pgm: 8x6 is 48 pixels, over the limit of 47"), "%s", err_text);
    setenv("PERCEPTCL_MAX_PIXELS", "47", 1);
    int env_rc = run("resize --scale 1 deep.pgm x.png");
    int flag_rc = run("resize --max-pixels 48 --scale 1 deep.pgm x.png");
    unsetenv("PERCEPTCL_MAX_PIXELS");
    ck_assert_int_eq(env_rc, 1);
    ck_assert_int_eq(flag_rc, 0); /* the flag beats the environment */
    ck_assert_int_eq(run("resize --max-pixels 0 --scale 1 deep.pgm x.png"), 2);
}
END_TEST

/* The reader in-process: what each word becomes, and the exit code it leaves. */
static int read_words(int argc, char **argv, double *momentum, int *choice, long *count, const char **positional)
{
    static const app_option options[] = {{"--momentum", "M"}, {"--pick", "P"}, {"--count", "N"}, {"--flag", NULL},
                                         {NULL, NULL}};
    static const char *const picks[] = {"one", "two", NULL};
    pcl_device_selection selection = {0};
    app_args r;
    app_args_init(&r, "test", "usage: test\n", options, &selection, argc, argv);
    int flags = 0;
    while (app_args_next(&r)) {
        if (!r.option) *positional = r.value;
        else if (app_args_is(&r, "--momentum")) app_args_double(&r, 0, 1, momentum);
        else if (app_args_is(&r, "--pick")) app_args_choice(&r, picks, choice);
        else if (app_args_is(&r, "--count")) app_args_long(&r, -5, 5, count);
        else if (app_args_is(&r, "--flag")) flags++;
    }
    if (r.exit_code < 0) ck_assert_int_eq(flags, 1);
    if (r.exit_code < 0) ck_assert_str_eq(selection.device, "dev");
    return r.exit_code;
}

START_TEST(argument_reader_in_process)
{
    double momentum = -1;
    int choice = -1;
    long count = 99;
    const char *positional = NULL;
    char *good[] = {"test", "--flag", "--device", "dev", "--momentum", "0", "word", "--pick", "two", "--count", "-5"};
    ck_assert_int_eq(read_words(11, good, &momentum, &choice, &count, &positional), -1);
    ck_assert(momentum == 0 && choice == 1 && count == -5);
    ck_assert_str_eq(positional, "word");
    /* Each bad word: exit code 2, and the value it names is not stored. */
    static const char *const bad[][2] = {{"--momentum", "1"},  {"--momentum", "-0.1"}, {"--momentum", "inf"},
                                         {"--momentum", ""},   {"--pick", "three"},    {"--count", "6"},
                                         {"--count", "1.5"},   {"--count", "99999999999999999999"},
                                         {"--bogus", "x"},     {"--device-type", "fpga"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char *argv[] = {"test", (char *)bad[k][0], (char *)bad[k][1]};
        momentum = -1, choice = -1, count = 99;
        ck_assert_msg(read_words(3, argv, &momentum, &choice, &count, &positional) == 2, "%s %s", bad[k][0], bad[k][1]);
        ck_assert(momentum == -1 && choice == -1 && count == 99);
    }
    char *missing[] = {"test", "--flag", "--count"};
    ck_assert_int_eq(read_words(3, missing, &momentum, &choice, &count, &positional), 2);
    char *help[] = {"test", "--count", "1", "-h", "--bogus"};
    ck_assert_int_eq(read_words(5, help, &momentum, &choice, &count, &positional), 0);
    /* "-" is a positional (standard input, say), not an option. */
    char *dash[] = {"test", "--flag", "--device", "dev", "-"};
    ck_assert_int_eq(read_words(5, dash, &momentum, &choice, &count, &positional), -1);
    ck_assert_str_eq(positional, "-");
}
END_TEST

/* The strip's crop checks (issue 18 defect 1: x + w overflowed an int and
 * passed the bounds check) and the output checks of train_cmd. */
START_TEST(crop_and_output_checks)
{
    int crop[4];
    ck_assert(app_crop_parse("2147483600,0,100,64", crop));
    ck_assert(!app_crop_inside(crop, 500, 500));
    ck_assert(app_crop_parse("0,2147483647,64,2147483647", crop));
    ck_assert(!app_crop_inside(crop, 500, 500));
    ck_assert(app_crop_parse("436,0,64,500", crop) && app_crop_inside(crop, 500, 500));
    ck_assert(app_crop_parse("437,0,64,500", crop) && !app_crop_inside(crop, 500, 500));
    static const char *const bad[] = {"1,2,3", "1,2,3,4,", "-1,0,1,1", "0,0,0,1", "0,0,1,2147483648", "a,0,1,1", ""};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) ck_assert_msg(!app_crop_parse(bad[k], crop), "%s", bad[k]);
    /* Panels are cut where the crop says, enlarged by the zoom. */
    pcl_image *image = NULL, *strip = NULL;
    ck_assert_int_eq(pcl_image_create(&image, 5, 4, 1), PCL_OK);
    for (int i = 0; i < 20; i++) image->data[i] = (float)i;
    int c2[4] = {1, 2, 2, 2};
    ck_assert_int_eq(app_strip_create("test", 2, c2, 2, 1, &strip), 0);
    ck_assert(strip->width == 2 * 4 + 4 && strip->height == 4);
    ck_assert_int_eq(app_strip_put("test", strip, 1, image, c2, 2), 0);
    ck_assert_float_eq(strip->data[8], 11.0f);            /* row 0, panel 1: image (1, 2) */
    ck_assert_float_eq(strip->data[3 * 12 + 11], 17.0f);  /* row 3, last column: image (2, 3) */
    ck_assert_float_eq(strip->data[0], 255.0f);           /* panel 0 left white */
    int outside[4] = {4, 0, 2, 2};
    ck_assert_int_eq(app_strip_put("test", strip, 0, image, outside, 2), 1);
    pcl_image_destroy(strip);
    pcl_image_destroy(image);
    /* Outputs: a folder, a missing folder, a good path. */
    app_args r;
    char dir[] = "/tmp/pcl_out_check_XXXXXX", file[64], missing[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/m.safetensors", dir);
    snprintf(missing, sizeof missing, "%s/no/m.safetensors", dir);
    app_args_init(&r, "test", "", NULL, NULL, 0, NULL);
    ck_assert_int_eq(app_output_check(&r, "--out", file), 1);
    ck_assert_int_eq(r.exit_code, -1);
    ck_assert_int_eq(app_output_check(&r, "--out", dir), 0);
    ck_assert_int_eq(r.exit_code, 2);
    ck_assert_int_eq(app_output_check(&r, "--out", missing), 0);
    rmdir(dir);
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
    tcase_add_test(tc, argument_reader_help_and_usage_errors);
    tcase_add_test(tc, argument_reader_in_process);
    tcase_add_test(tc, crop_and_output_checks);
    tcase_add_test(tc, failed_outputs_keep_existing_files);
    tcase_add_test(tc, file_set_commits_all_or_nothing);
    tcase_add_test(tc, report_renders_markdown_and_json);
    tcase_add_test(tc, careless_input_is_refused_naming_the_file);
    tcase_add_test(tc, resize_keeps_depth_and_checks_sizes);
    suite_add_tcase(suite, tc);
    int failed = pcl_check_run(suite, 0);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
