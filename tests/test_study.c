/* perceptcl study: the statistics against published and hand-computed
 * values, and items / make / analyze end to end on small images with
 * simulated participants whose choices are known here. */
#include "../apps/study.h"
#include "perceptcl/image.h"

#include "run_perceptcl.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_run.h"

#define Z95 1.959963984540054

/* ---- statistics ---------------------------------------------------------------- */

/* Wilson score intervals (without continuity correction) as printed, to 4
 * decimals, in Newcombe, "Two-sided confidence intervals for the single
 * proportion: comparison of seven methods", Statistics in Medicine 17 (1998),
 * Table II, method 3. */
START_TEST(wilson_matches_newcombe_1998)
{
    static const struct {
        long k, n;
        double low, high;
    } table[] = {{81, 263, 0.2553, 0.3662}, {15, 148, 0.0624, 0.1605}, {0, 20, 0.0000, 0.1611}, {1, 29, 0.0061, 0.1718}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        double low = NAN, high = NAN;
        app_study_wilson(table[i].k, table[i].n, Z95, &low, &high);
        ck_assert_msg(fabs(low - table[i].low) <= 0.00005 && fabs(high - table[i].high) <= 0.00005,
                      "%ld/%ld: [%.5f, %.5f], Newcombe [%.4f, %.4f]", table[i].k, table[i].n, low, high,
                      table[i].low, table[i].high);
    }
    /* By hand from Wilson's formula: 4 of 6 gives [0.29999, 0.90323]; n = 0 the whole range. */
    double low, high;
    app_study_wilson(4, 6, Z95, &low, &high);
    ck_assert(fabs(low - 0.299993315) < 1e-8 && fabs(high - 0.903228589) < 1e-8);
    app_study_wilson(0, 0, Z95, &low, &high);
    ck_assert(low == 0.0 && high == 1.0);
}
END_TEST

/* The two-sided sign test: exact binomial sums by hand, C(n, i) / 2^n. */
START_TEST(sign_test_exact_values)
{
    ck_assert(fabs(app_study_sign_test(9, 10) - 22.0 / 1024.0) < 1e-15);   /* 2 (1 + 10) / 1024 */
    ck_assert(fabs(app_study_sign_test(1, 10) - 22.0 / 1024.0) < 1e-15);   /* symmetric */
    ck_assert(fabs(app_study_sign_test(8, 10) - 112.0 / 1024.0) < 1e-15);  /* 2 (1 + 10 + 45) / 1024 */
    ck_assert(fabs(app_study_sign_test(5, 6) - 14.0 / 64.0) < 1e-15);      /* 2 (1 + 6) / 64 */
    ck_assert(fabs(app_study_sign_test(3, 3) - 0.25) < 1e-15);             /* 2 / 8 */
    ck_assert(app_study_sign_test(5, 10) == 1.0 && app_study_sign_test(0, 0) == 1.0);
    ck_assert(fabs(app_study_sign_test(4, 6) - 44.0 / 64.0) < 1e-15);      /* 2 (1 + 6 + 15) / 64 */
    /* R: binom.test(60, 100)$p.value = 0.05688793. */
    ck_assert(fabs(app_study_sign_test(60, 100) - 0.05688793) < 1e-8);
    /* The paper's scale (7,000 of 10,000): far below any threshold, never NaN or negative. */
    double p = app_study_sign_test(7000, 10000);
    ck_assert(p >= 0.0 && p < 1e-100 && !isnan(p));
}
END_TEST

/* Fleiss' kappa on the worked example of Wikipedia's "Fleiss' kappa" page
 * (10 subjects, 14 raters, 5 categories): P = 0.378, Pe = 0.213, kappa = 0.210. */
START_TEST(fleiss_kappa_worked_example)
{
    static const long counts[10 * 5] = {0, 0, 0, 0, 14, 0, 2, 6, 4, 2, 0, 0, 3, 5, 6, 0, 3, 9, 2, 0, 2, 2, 8, 1, 1,
                                        7, 7, 0, 0, 0, 3, 2, 6, 3, 0, 2, 5, 3, 2, 2, 6, 5, 2, 1, 0, 0, 2, 2, 3, 7};
    double pairwise = NAN, kappa = NAN;
    ck_assert_int_eq(app_study_agreement(counts, 10, 5, &pairwise, &kappa), 10);
    ck_assert_msg(fabs(pairwise - 0.378) < 0.0005, "P = %f", pairwise);
    ck_assert_msg(fabs(kappa - 0.210) < 0.0005, "kappa = %f", kappa);
}
END_TEST

/* Varying raters per unit, by hand: units [2,0] (P 1), [1,1] (P 0), [3,0] (P 1),
 * [1,0] (one rater: left out). P = 2/3; p = 6/7, 1/7; Pe = 37/49;
 * kappa = (2/3 - 37/49) / (12/49) = -13/36. One category only: kappa undefined. */
START_TEST(agreement_varying_raters)
{
    static const long counts[4 * 2] = {2, 0, 1, 1, 3, 0, 1, 0};
    double pairwise, kappa;
    ck_assert_int_eq(app_study_agreement(counts, 4, 2, &pairwise, &kappa), 3);
    ck_assert(fabs(pairwise - 2.0 / 3.0) < 1e-12);
    ck_assert(fabs(kappa + 13.0 / 36.0) < 1e-12);
    static const long same[2 * 2] = {3, 0, 2, 0};
    ck_assert_int_eq(app_study_agreement(same, 2, 2, &pairwise, &kappa), 2);
    ck_assert(pairwise == 1.0 && isnan(kappa));
    static const long alone[1 * 2] = {1, 0};
    ck_assert_int_eq(app_study_agreement(alone, 1, 2, &pairwise, &kappa), 0);
    ck_assert(isnan(pairwise) && isnan(kappa));
}
END_TEST

/* ---- the commands ------------------------------------------------------------ */

static char work[64];
static char err_text[1 << 16];

static int run(const char *args)
{
    return pcl_test_run_perceptcl(work, args, NULL, 0, err_text, sizeof err_text);
}

static int exists(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", work, name);
    struct stat st;
    return stat(path, &st) == 0;
}

static int count_lines(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++) n++;
    return n;
}

/* A w x h RGB image whose pixels depend on seed. */
static void write_image(const char *name, int w, int h, int seed)
{
    pcl_image *image = NULL;
    ck_assert_int_eq(pcl_image_create(&image, w, h, 3), PCL_OK);
    for (size_t i = 0; i < pcl_image_size(image); i++) image->data[i] = (float)((i * 37 + (size_t)seed * 101) % 256);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", work, name);
    ck_assert_int_eq(pcl_image_write_png(path, image), PCL_OK);
    pcl_image_destroy(image);
}

static void make_material(void)
{
    static const char *const folders[] = {"orig", "a", "b", "c"};
    for (int f = 0; f < 4; f++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", work, folders[f]);
        mkdir(path, 0777);
        for (int i = 1; i <= 3; i++) {
            char name[64];
            snprintf(name, sizeof name, "%s/i%d.png", folders[f], i);
            write_image(name, 24, 20, f * 10 + i);
        }
    }
}

static json_t *load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", work, name);
    json_error_t error;
    json_t *doc = json_load_file(path, 0, &error);
    ck_assert_msg(doc != NULL, "%s: %s", name, error.text);
    return doc;
}

/* Writes the results of a participant who, on each trial of plan, chooses
 * choose(item id, shown methods) (2afc) or ranks as rank() orders (rank);
 * catch trials passed or failed; `trials` responses of them (all: -1). */
typedef const char *(*chooser)(const char *item, const char *a, const char *b);
static void write_results(json_t *plan, const char *file, const char *participant, const char *study, chooser choose,
                          const char *const *ranking, int pass_catch, int trials)
{
    json_t *list = json_array();
    json_t *plan_trials = json_object_get(plan, "trials"), *items = json_object_get(plan, "items");
    int rank = strcmp(json_string_value(json_object_get(plan, "mode")), "rank") == 0;
    size_t count = trials < 0 ? json_array_size(plan_trials) : (size_t)trials;
    for (size_t t = 0; t < count; t++) {
        json_t *trial = json_array_get(plan_trials, t), *methods = json_object_get(trial, "methods");
        const char *item = json_string_value(
            json_object_get(json_array_get(items, (size_t)json_integer_value(json_object_get(trial, "item"))), "id"));
        int is_catch = json_is_true(json_object_get(trial, "catch"));
        json_t *entry = json_pack("{s:I, s:s, s:b, s:O, s:i}", "trial", (json_int_t)t, "item", item, "catch", is_catch,
                                  "shown", methods, "rt_ms", 900);
        if (!rank) {
            const char *a = json_string_value(json_array_get(methods, 0)), *b = json_string_value(json_array_get(methods, 1));
            const char *choice = is_catch ? (pass_catch ? "original" : (strcmp(a, "original") ? a : b)) : choose(item, a, b);
            json_object_set_new(entry, "choice", json_string(choice));
        } else {
            json_t *order = json_array();
            if (is_catch && pass_catch) json_array_append_new(order, json_string("original"));
            for (int k = 0; ranking[k]; k++) {
                int present = 0;
                for (size_t m = 0; m < json_array_size(methods); m++)
                    if (strcmp(json_string_value(json_array_get(methods, m)), ranking[k]) == 0) present = 1;
                if (present) json_array_append_new(order, json_string(ranking[k]));
            }
            if (is_catch && !pass_catch) json_array_append_new(order, json_string("original"));
            json_object_set_new(entry, "ranking", order);
        }
        json_array_append_new(list, entry);
    }
    json_t *doc = json_pack("{s:s, s:i, s:s, s:s, s:s, s:o}", "format", "perceptcl-study-results", "version", 1,
                            "study", study, "mode", rank ? "rank" : "2afc", "participant", participant, "trials", list);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", work, file);
    ck_assert_int_eq(json_dump_file(doc, path, 0), 0);
    json_decref(doc);
}

static const char *always_a(const char *item, const char *a, const char *b)
{
    (void)item;
    return strcmp(a, "A") == 0 || strcmp(b, "A") != 0 ? a : b;
}
static const char *a_on_i1(const char *item, const char *a, const char *b)
{
    int want_a = strcmp(item, "i1") == 0;
    if (want_a) return strcmp(a, "A") == 0 ? a : b;
    return strcmp(a, "B") == 0 ? a : b;
}
static const char *always_b(const char *item, const char *a, const char *b)
{
    (void)item;
    return strcmp(a, "B") == 0 ? a : b;
}

static json_t *row(json_t *report, const char *key, const char *name_key, const char *name)
{
    json_t *rows = json_object_get(report, key);
    for (size_t i = 0; i < json_array_size(rows); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(rows, i), name_key)), name) == 0)
            return json_array_get(rows, i);
    ck_abort_msg("no %s row '%s'", key, name);
    return NULL;
}

static double result(json_t *r, const char *column, const char *metric)
{
    return json_real_value(json_object_get(json_object_get(json_object_get(r, "results"), column), metric));
}

START_TEST(items_make_analyze_2afc)
{
    make_material();
    ck_assert_int_eq(run("study items --original orig --method A=a --method B=b --out items.json"), 0);
    json_t *items = load("items.json");
    ck_assert_int_eq(json_array_size(json_object_get(items, "items")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(items, "items"), 0),
                                                                       "images"),
                                                       "B")),
                     "b/i1.png");
    json_decref(items);

    /* Same inputs, same folder bytes; the id depends on the seed. */
    ck_assert_int_eq(run("study make --items items.json --out s1 --catch 1 --seed 3"), 0);
    ck_assert_int_eq(run("study make --items items.json --out s2 --catch 1 --seed 3"), 0);
    char command[512];
    snprintf(command, sizeof command, "cd %s && cmp -s s1/plan.json s2/plan.json && cmp -s s1/images/002-b.png s2/images/002-b.png",
             work);
    ck_assert_int_eq(system(command), 0);
    ck_assert(exists("s1/index.html") && exists("s1/study.js") && exists("s1/study.css") && exists("s1/plan.js"));
    ck_assert_int_eq(run("study make --items items.json --out s3 --catch 1 --seed 4"), 0);
    json_t *plan = load("s1/plan.json"), *plan3 = load("s3/plan.json");
    ck_assert_str_ne(json_string_value(json_object_get(plan, "study")), json_string_value(json_object_get(plan3, "study")));
    json_decref(plan3);
    ck_assert_int_eq(json_array_size(json_object_get(plan, "trials")), 4); /* 3 items x 1 pair + 1 catch */
    /* A non-empty folder is refused. */
    ck_assert_int_eq(run("study make --items items.json --out s1"), 1);
    ck_assert_msg(strstr(err_text, "not empty") && count_lines(err_text, "\n") == 1, "%s", err_text);

    const char *study = json_string_value(json_object_get(plan, "study"));
    write_results(plan, "p1.json", "p1", study, always_a, NULL, 1, -1);
    write_results(plan, "p2.json", "p2", study, a_on_i1, NULL, 1, -1);
    write_results(plan, "p3.json", "p3", study, always_b, NULL, 0, -1);
    /* The bad ones: another study, incomplete, a duplicate participant, a choice not shown, not JSON. */
    write_results(plan, "other.json", "p4", "0000000000000000", always_a, NULL, 1, -1);
    write_results(plan, "short.json", "p5", study, always_a, NULL, 1, 3);
    write_results(plan, "dup.json", "p1", study, always_b, NULL, 1, -1);
    json_t *bad = load("p2.json");
    json_object_set_new(json_array_get(json_object_get(bad, "trials"), 0), "choice", json_string("C"));
    json_object_set_new(bad, "participant", json_string("p6"));
    char path[512];
    snprintf(path, sizeof path, "%s/badchoice.json", work);
    json_dump_file(bad, path, 0);
    json_decref(bad);
    snprintf(path, sizeof path, "%s/garbage.json", work);
    FILE *g = fopen(path, "w");
    fputs("{\"format\": ", g);
    fclose(g);

    ck_assert_int_eq(run("study analyze --study s1 --report r p1.json p2.json p3.json other.json short.json dup.json "
                         "badchoice.json garbage.json"),
                     0);
    ck_assert_int_eq(count_lines(err_text, "(skipped)"), 5);
    ck_assert_msg(strstr(err_text, "other.json: results of study 0000000000000000") &&
                      strstr(err_text, "short.json: incomplete: 3 of 4 trials") &&
                      strstr(err_text, "dup.json: duplicate: participant 'p1'") &&
                      strstr(err_text, "badchoice.json: response 1") && strstr(err_text, "garbage.json: not JSON") &&
                      strstr(err_text, "'p3' failed 1 of 1 catch trials"),
                  "%s", err_text);
    ck_assert(exists("r.md") && exists("r-methods.svg") && exists("r-examples.svg"));
    json_t *report = load("r.json");
    /* p1 (A on 3) and p2 (A on i1 only); p3 failed its catch trial. A over B: 4 of 6. */
    ck_assert_int_eq(json_integer_value(json_object_get(report, "participants_included")), 2);
    json_t *c = row(report, "comparisons", "comparison", "A over B");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "judgments")), 6);
    ck_assert(fabs(result(c, "result", "proportion") - 0.6667) < 1e-9);
    ck_assert(fabs(result(c, "result", "ci95_low") - 0.3000) < 1e-9 && fabs(result(c, "result", "ci95_high") - 0.9032) < 1e-9);
    ck_assert(fabs(result(c, "result", "sign_test_p") - 44.0 / 64.0) < 1e-12);
    json_t *m = row(report, "methods", "method", "B");
    ck_assert(result(m, "preferred", "count") == 2.0 && fabs(result(m, "preferred", "proportion") - 0.3333) < 1e-9);
    ck_assert(result(row(report, "items", "item", "i1"), "A", "share") == 1.0);
    ck_assert(result(row(report, "items", "item", "i2"), "A", "share") == 0.5);
    /* Units i1 [2, 0], i2 [1, 1], i3 [1, 1]: pairwise 1/3; Pe = (4/6)^2 + (2/6)^2 = 5/9; kappa -1/2. */
    json_t *agreement = json_object_get(report, "agreement");
    ck_assert(fabs(json_real_value(json_object_get(agreement, "pairwise")) - 0.3333) < 1e-9);
    ck_assert(fabs(json_real_value(json_object_get(agreement, "fleiss_kappa")) + 0.5) < 1e-9);
    json_decref(report);

    /* p3 admitted with --max-catch-failures 1: A over B 4 of 9. */
    ck_assert_int_eq(run("study analyze --study s1 --max-catch-failures 1 --report r2 p1.json p2.json p3.json"), 0);
    report = load("r2.json");
    c = row(report, "comparisons", "comparison", "A over B");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "judgments")), 9);
    ck_assert(fabs(result(c, "result", "proportion") - 0.4444) < 1e-9);
    json_decref(report);

    /* --strict: refused, nothing written. */
    ck_assert_int_eq(run("study analyze --study s1 --strict --report r3 p1.json dup.json"), 1);
    ck_assert(!exists("r3.md") && !exists("r3.json") && !exists("r3-methods.svg"));
    ck_assert(strstr(err_text, "refused") != NULL);
    json_decref(plan);
}
END_TEST

START_TEST(make_and_analyze_ranking)
{
    make_material();
    ck_assert_int_eq(run("study items --original orig --method A=a --method B=b --method C=c --out items3.json"), 0);
    ck_assert_int_eq(run("study make --items items3.json --out rank --mode rank --catch 2 --crop 16 --zoom 2"), 0);
    json_t *plan = load("rank/plan.json");
    ck_assert_int_eq(json_array_size(json_object_get(plan, "trials")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(plan, "items"), 0), "width")), 16);
    const char *study = json_string_value(json_object_get(plan, "study"));
    static const char *const abc[] = {"A", "B", "C", NULL}, *const bac[] = {"B", "A", "C", NULL};
    write_results(plan, "q1.json", "q1", study, NULL, abc, 1, -1);
    write_results(plan, "q2.json", "q2", study, NULL, bac, 1, -1);
    ck_assert_int_eq(run("study analyze --study rank --report rr --pair A,C q1.json q2.json"), 0);
    json_t *report = load("rr.json");
    /* 3 items each: A first 3 times, second 3 times; C always third. */
    json_t *a = row(report, "methods", "method", "A"), *cm = row(report, "methods", "method", "C");
    ck_assert(result(a, "rank 1", "count") == 3.0 && result(a, "rank 2", "count") == 3.0 && result(a, "rank 3", "count") == 0.0);
    ck_assert(result(cm, "rank 3", "count") == 6.0 && result(cm, "rank 3", "share") == 1.0);
    json_t *ab = row(report, "comparisons", "comparison", "A over B"), *ac = row(report, "comparisons", "comparison", "A over C");
    ck_assert(result(ab, "result", "proportion") == 0.5 && result(ab, "result", "sign_test_p") == 1.0);
    ck_assert(result(ac, "result", "proportion") == 1.0 && fabs(result(ac, "result", "sign_test_p") - 2.0 / 64.0) < 1e-12);
    json_decref(report);
    json_decref(plan);
    /* A bad --pair is a usage error. */
    ck_assert_int_eq(run("study analyze --study rank --pair A,Z q1.json"), 2);
}
END_TEST

START_TEST(make_refuses_bad_material)
{
    make_material();
    write_image("b/i2.png", 20, 20, 99); /* a different size than its original */
    ck_assert_int_eq(run("study items --original orig --method A=a --method B=b --out items.json"), 0);
    ck_assert_int_eq(run("study make --items items.json --out bad"), 1);
    ck_assert_msg(strstr(err_text, "item 'i2': the B image is 20x20, the original 24x20") != NULL, "%s", err_text);
    ck_assert(!exists("bad")); /* the folder it created is gone again */
    ck_assert_int_eq(run("study items --original orig --method A=a --method B=nowhere --out items2.json"), 1);
    ck_assert(!exists("items2.json"));
    ck_assert_int_eq(run("study make --items items.json --out x --mode 3afc"), 2);
    ck_assert_int_eq(run("study items --original orig --method original=a --method B=b --out items3.json"), 1);
    ck_assert_msg(strstr(err_text, "not 'original'") != NULL, "%s", err_text);
}
END_TEST

/* The plans that crashed `study analyze` under fuzz_study_results
 * (tests/fuzz/regressions/study_results-*.bin: plan.json, a NUL, results):
 * a trial naming an unknown method (heap overflow in the tallies), an item
 * without an id and a method that is not a string (NULL strcmp). Each is now
 * refused in one line with exit 1. */
START_TEST(analyze_refuses_fuzzed_plans)
{
    static const char *const cases[] = {"unknown-method", "item-without-id", "method-not-a-string"};
    for (int k = 0; k < 3; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/fuzz/regressions/study_results-%s.bin", PCL_SOURCE_DIR, cases[k]);
        FILE *f = fopen(path, "rb");
        ck_assert_msg(f != NULL, "%s", path);
        static char data[1 << 16];
        size_t n = fread(data, 1, sizeof data, f);
        fclose(f);
        const char *split = memchr(data, '\0', n);
        ck_assert_ptr_nonnull(split);
        size_t plan_size = (size_t)(split - data);
        char dir[600];
        snprintf(dir, sizeof dir, "%s/s%d", work, k);
        ck_assert_int_eq(mkdir(dir, 0700), 0);
        snprintf(path, sizeof path, "%s/plan.json", dir);
        f = fopen(path, "wb");
        ck_assert(f && fwrite(data, 1, plan_size, f) == plan_size && fclose(f) == 0);
        snprintf(path, sizeof path, "%s/r%d.json", work, k);
        f = fopen(path, "wb");
        ck_assert(f && fwrite(split + 1, 1, n - plan_size - 1, f) == n - plan_size - 1 && fclose(f) == 0);
        char args[256];
        snprintf(args, sizeof args, "study analyze --study s%d --examples 0 r%d.json", k, k);
        ck_assert_msg(run(args) == 1, "%s: %s", cases[k], err_text);
        ck_assert_msg(count_lines(err_text, "\n") == 1, "%s: %s", cases[k], err_text);
    }
}
END_TEST

static void setup(void)
{
    snprintf(work, sizeof work, "/tmp/pcl-study-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(work));
}

static void teardown(void)
{
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", work);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", work);
}

int main(void)
{
    Suite *suite = suite_create("study");
    TCase *stats = tcase_create("statistics");
    tcase_add_test(stats, wilson_matches_newcombe_1998);
    tcase_add_test(stats, sign_test_exact_values);
    tcase_add_test(stats, fleiss_kappa_worked_example);
    tcase_add_test(stats, agreement_varying_raters);
    suite_add_tcase(suite, stats);
    TCase *commands = tcase_create("commands");
    tcase_add_checked_fixture(commands, setup, teardown);
    tcase_set_timeout(commands, 120);
    tcase_add_test(commands, items_make_analyze_2afc);
    tcase_add_test(commands, make_and_analyze_ranking);
    tcase_add_test(commands, make_refuses_bad_material);
    tcase_add_test(commands, analyze_refuses_fuzzed_plans);
    suite_add_tcase(suite, commands);
    return pcl_check_run(suite, 0) == 0 ? 0 : 1;
}
