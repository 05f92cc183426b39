/* perceptcl study analyze: merges the participants' result files of one
 * study, checks each against the study's plan, leaves out careless
 * participants (catch trials), and reports preferences, their intervals and
 * tests, and the participants' agreement (Markdown + JSON through the report
 * tables of report.c, and two SVG figures; all or none). */
#include "app.h"
#include "io/file_atomic.h"
#include "study.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WILSON_Z 1.959963984540054 /* the 97.5% normal quantile: a 95% interval */

typedef struct study_plan {
    json_t *doc;
    const char *study, *dir;
    int rank, method_count, item_count;
    long trial_count;
    const char *methods[APP_STUDY_MAX_METHODS];
    json_t *items, *trials;
} study_plan;

/* One participant's responses, by plan trial: the chosen method (2afc) or the
 * ranking (rank, best first), as method indices (-1: the original). */
typedef struct participant {
    char *file, *id;
    int *responses; /* [trial * method_count + k] */
    int catch_failed, catch_total, included;
} participant;

static int method_index(const study_plan *p, const char *name)
{
    if (!name) return -2;
    if (strcmp(name, "original") == 0) return -1;
    for (int m = 0; m < p->method_count; m++)
        if (strcmp(name, p->methods[m]) == 0) return m;
    return -2;
}

static int read_plan(const char *cmd, const char *dir, study_plan *p)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/plan.json", dir);
    json_error_t error;
    *p = (study_plan){.dir = dir};
    p->doc = json_load_file(path, 0, &error);
    if (!p->doc && error.line < 0) return fprintf(stderr, "perceptcl %s: %s\n", cmd, error.text), 1;
    if (!p->doc) return fprintf(stderr, "perceptcl %s: %s: line %d: %s\n", cmd, path, error.line, error.text), 1;
    const char *format = json_string_value(json_object_get(p->doc, "format"));
    const char *mode = json_string_value(json_object_get(p->doc, "mode"));
    json_t *methods = json_object_get(p->doc, "methods");
    p->study = json_string_value(json_object_get(p->doc, "study"));
    p->items = json_object_get(p->doc, "items");
    p->trials = json_object_get(p->doc, "trials");
    if (!format || strcmp(format, "perceptcl-study-plan") != 0 || !p->study || !mode || !json_is_array(methods) ||
        json_array_size(methods) < 2 || json_array_size(methods) > APP_STUDY_MAX_METHODS || !json_is_array(p->items) ||
        !json_is_array(p->trials))
        return fprintf(stderr, "perceptcl %s: %s: not a perceptcl study plan (made by perceptcl study make)\n", cmd, path),
               1;
    p->rank = strcmp(mode, "rank") == 0;
    p->method_count = (int)json_array_size(methods);
    for (int m = 0; m < p->method_count; m++) p->methods[m] = json_string_value(json_array_get(methods, (size_t)m));
    p->item_count = (int)json_array_size(p->items);
    /* Names are compared with strcmp: every method and item id must be a string. */
    for (int m = 0; m < p->method_count; m++)
        if (!p->methods[m] || method_index(p, p->methods[m]) != m)
            return fprintf(stderr, "perceptcl %s: %s: method %d is not a distinct name\n", cmd, path, m + 1), 1;
    for (int i = 0; i < p->item_count; i++)
        if (!json_string_value(json_object_get(json_array_get(p->items, (size_t)i), "id")))
            return fprintf(stderr, "perceptcl %s: %s: item %d has no \"id\"\n", cmd, path, i + 1), 1;
    p->trial_count = (long)json_array_size(p->trials);
    for (long t = 0; t < p->trial_count; t++) {
        json_t *trial = json_array_get(p->trials, (size_t)t);
        json_int_t item = json_integer_value(json_object_get(trial, "item"));
        size_t shown = json_array_size(json_object_get(trial, "methods"));
        /* Every name shown must be a method of the plan, each at most once, and
         * "original" only in a catch trial: the tallies index by method. */
        int is_catch = json_is_true(json_object_get(trial, "catch")), used = 0, bad_name = 0;
        for (size_t k = 0; k < shown; k++) {
            int m = method_index(p, json_string_value(json_array_get(json_object_get(trial, "methods"), k)));
            if (m == -2 || (m == -1 && !is_catch) || (used & (1 << (m + 1)))) bad_name = 1; /* -2: unknown */
            else used |= 1 << (m + 1);
        }
        if (item < 0 || item >= p->item_count || shown != (size_t)(p->rank ? p->method_count : 2) || bad_name)
            return fprintf(stderr, "perceptcl %s: %s: trial %ld is malformed\n", cmd, path, t), 1;
    }
    return 0;
}

/* The methods a trial shows, as indices (-1: the original); their count. */
static int trial_methods(const study_plan *p, long t, int *out)
{
    json_t *methods = json_object_get(json_array_get(p->trials, (size_t)t), "methods");
    int n = (int)json_array_size(methods);
    for (int k = 0; k < n; k++) out[k] = method_index(p, json_string_value(json_array_get(methods, (size_t)k)));
    return n;
}

static const char *item_id(const study_plan *p, long t)
{
    json_int_t item = json_integer_value(json_object_get(json_array_get(p->trials, (size_t)t), "item"));
    return json_string_value(json_object_get(json_array_get(p->items, (size_t)item), "id"));
}

/* A list of method names (json) as indices that must be a permutation of
 * `expected` (n of them); 0 if it is not. */
static int read_permutation(const study_plan *p, json_t *list, const int *expected, int n, int *out)
{
    if (!json_is_array(list) || json_array_size(list) != (size_t)n) return 0;
    int used[APP_STUDY_MAX_METHODS] = {0};
    for (int k = 0; k < n; k++) {
        int m = method_index(p, json_string_value(json_array_get(list, (size_t)k))), found = 0;
        for (int e = 0; e < n; e++)
            if (expected[e] == m && !used[e]) used[e] = 1, found = 1;
        if (!found) return 0;
        out[k] = m;
    }
    return 1;
}

/* Reads one result file into *r; 0, or 1 with the reason in `why`. */
static int read_results(const study_plan *p, const char *path, participant *r, char *why, size_t size)
{
    json_error_t error;
    json_t *doc = json_load_file(path, 0, &error);
    if (!doc && error.line < 0) return snprintf(why, size, "%s", error.text), 1; /* cannot open */
    if (!doc) return snprintf(why, size, "not JSON (line %d: %s)", error.line, error.text), 1;
    const char *format = json_string_value(json_object_get(doc, "format"));
    const char *study = json_string_value(json_object_get(doc, "study"));
    const char *mode = json_string_value(json_object_get(doc, "mode"));
    const char *id = json_string_value(json_object_get(doc, "participant"));
    json_t *trials = json_object_get(doc, "trials");
    int rc = 1, M = p->method_count;
    if (!format || strcmp(format, "perceptcl-study-results") != 0 || json_integer_value(json_object_get(doc, "version")) != 1)
        snprintf(why, size, "not perceptcl study results (\"format\": \"perceptcl-study-results\", \"version\": 1)");
    else if (!study || strcmp(study, p->study) != 0)
        snprintf(why, size, "results of study %s, not of this study (%s)", study ? study : "(none)", p->study);
    else if (!mode || strcmp(mode, p->rank ? "rank" : "2afc") != 0)
        snprintf(why, size, "mode '%s', the study's is '%s'", mode ? mode : "(none)", p->rank ? "rank" : "2afc");
    else if (!id || !*id) snprintf(why, size, "no \"participant\"");
    else if (!json_is_array(trials) || (long)json_array_size(trials) != p->trial_count)
        snprintf(why, size, "incomplete: %zu of %ld trials", json_is_array(trials) ? json_array_size(trials) : 0,
                 p->trial_count);
    else {
        r->responses = malloc((size_t)p->trial_count * (size_t)M * sizeof *r->responses);
        char *seen = calloc((size_t)p->trial_count, 1);
        r->id = strdup(id);
        if (!r->responses || !seen || !r->id) snprintf(why, size, "out of memory");
        else rc = 0;
        for (size_t k = 0; rc == 0 && k < json_array_size(trials); k++) {
            json_t *entry = json_array_get(trials, k);
            json_t *index = json_object_get(entry, "trial");
            long t = json_is_integer(index) ? (long)json_integer_value(index) : -1;
            int expected[APP_STUDY_MAX_METHODS], shown[APP_STUDY_MAX_METHODS], n = 0;
            if (t < 0 || t >= p->trial_count || seen[t]) {
                snprintf(why, size, "response %zu: trial %ld is out of range or repeated", k + 1, t);
                rc = 1;
                break;
            }
            seen[t] = 1;
            n = trial_methods(p, t, expected);
            int is_catch = json_is_true(json_object_get(json_array_get(p->trials, (size_t)t), "catch"));
            const char *item = json_string_value(json_object_get(entry, "item"));
            if (!item || strcmp(item, item_id(p, t)) != 0 || json_is_true(json_object_get(entry, "catch")) != is_catch ||
                !read_permutation(p, json_object_get(entry, "shown"), expected, n, shown)) {
                snprintf(why, size, "response %zu (trial %ld): item, catch or shown methods differ from the plan", k + 1,
                         t);
                rc = 1;
                break;
            }
            int *out = r->responses + t * M;
            if (!p->rank) {
                int choice = method_index(p, json_string_value(json_object_get(entry, "choice")));
                if (choice == -2 || (choice != shown[0] && choice != shown[1])) {
                    snprintf(why, size, "response %zu (trial %ld): \"choice\" is not one of the shown methods", k + 1, t);
                    rc = 1;
                    break;
                }
                out[0] = choice;
            } else if (!read_permutation(p, json_object_get(entry, "ranking"), expected, n, out)) {
                snprintf(why, size, "response %zu (trial %ld): \"ranking\" is not an order of the shown methods", k + 1,
                         t);
                rc = 1;
                break;
            }
            if (is_catch) {
                /* Passed when the original is chosen / ranked first; recomputed, not trusted. */
                r->catch_total++;
                if (out[0] != -1) r->catch_failed++;
            }
        }
        free(seen);
    }
    json_decref(doc);
    return rc;
}

/* ---- the tallies ------------------------------------------------------------ */

typedef struct tallies {
    int M, items;
    long pair[APP_STUDY_MAX_METHODS][APP_STUDY_MAX_METHODS]; /* [a][b]: a preferred to b */
    long wins[APP_STUDY_MAX_METHODS], shown[APP_STUDY_MAX_METHODS];
    long ranks[APP_STUDY_MAX_METHODS][APP_STUDY_MAX_METHODS]; /* [method][rank] */
    long *item_pair;                                           /* [item][a][b] */
    long *item_wins, *item_shown;                              /* [item][method]: won (2afc) / ranked first */
    long *item_judgments;                                      /* [item] */
    long *units;                                               /* [trial][method]: agreement counts */
} tallies;

static int tally(const study_plan *p, const participant *people, int count, tallies *t)
{
    int M = p->method_count, I = p->item_count;
    *t = (tallies){.M = M, .items = I};
    t->item_pair = calloc((size_t)I * M * M, sizeof(long));
    t->item_wins = calloc((size_t)I * M, sizeof(long));
    t->item_shown = calloc((size_t)I * M, sizeof(long));
    t->item_judgments = calloc((size_t)I, sizeof(long));
    t->units = calloc((size_t)p->trial_count * M, sizeof(long));
    if (!t->item_pair || !t->item_wins || !t->item_shown || !t->item_judgments || !t->units) return 1;
    for (int k = 0; k < count; k++) {
        if (!people[k].included) continue;
        for (long trial = 0; trial < p->trial_count; trial++) {
            json_t *entry = json_array_get(p->trials, (size_t)trial);
            if (json_is_true(json_object_get(entry, "catch"))) continue;
            int item = (int)json_integer_value(json_object_get(entry, "item"));
            const int *r = people[k].responses + trial * M;
            int methods[APP_STUDY_MAX_METHODS], n = trial_methods(p, trial, methods);
            t->item_judgments[item]++;
            t->units[trial * M + r[0]]++;
            if (!p->rank) {
                int loser = r[0] == methods[0] ? methods[1] : methods[0];
                t->pair[r[0]][loser]++;
                t->item_pair[((size_t)item * M + r[0]) * M + loser]++;
                t->wins[r[0]]++;
                t->item_wins[(size_t)item * M + r[0]]++;
                for (int s = 0; s < 2; s++) t->shown[methods[s]]++, t->item_shown[(size_t)item * M + methods[s]]++;
                continue;
            }
            for (int a = 0; a < n; a++) {
                t->ranks[r[a]][a]++;
                t->shown[r[a]]++;
                t->item_shown[(size_t)item * M + r[a]]++;
                for (int b = a + 1; b < n; b++) {
                    t->pair[r[a]][r[b]]++;
                    t->item_pair[((size_t)item * M + r[a]) * M + r[b]]++;
                }
            }
            t->wins[r[0]]++;
            t->item_wins[(size_t)item * M + r[0]]++;
        }
    }
    return 0;
}

static void tallies_free(tallies *t)
{
    free(t->item_pair), free(t->item_wins), free(t->item_shown), free(t->item_judgments), free(t->units);
}

/* ---- the report ------------------------------------------------------------- */

static const app_metric comparison_metrics[] = {
    {"proportion", "proportion", 3, 4}, {"ci95_low", "95% low", 3, 4}, {"ci95_high", "95% high", 3, 4},
    {"sign_test_p", "sign test p", 4, 12}};
static const app_metric share_metrics[] = {
    {"proportion", "proportion", 3, 4}, {"ci95_low", "95% low", 3, 4}, {"ci95_high", "95% high", 3, 4},
    {"count", "count", 0, 0}};
static const app_metric rank_metrics[] = {{"share", "share", 3, 4}, {"count", "count", 0, 0}};
static const app_metric item_metrics[] = {{"share", "share", 3, 4}};
static const char *const result_column[] = {"result"};
static const char *const preferred_column[] = {"preferred"};

typedef struct analysis {
    const study_plan *p;
    tallies t;
    /* Comparisons a over b, a listed first. */
    int pairs;
    char pair_names[3][80];
    app_report_row pair_rows[3];
    double pair_values[3][4];
    long pair_n[3];
    /* Methods. */
    app_report_row method_rows[APP_STUDY_MAX_METHODS];
    double method_values[APP_STUDY_MAX_METHODS][APP_STUDY_MAX_METHODS * 4];
    const char *rank_columns[APP_STUDY_MAX_METHODS];
    char rank_names[APP_STUDY_MAX_METHODS][16];
    /* Items. */
    app_report_row *item_rows;
    double *item_values;
    /* Agreement. */
    double pairwise, kappa;
    long units;
} analysis;

static int analyse(const study_plan *p, analysis *a)
{
    int M = p->method_count;
    for (int i = 0; i < M; i++)
        for (int j = i + 1; j < M; j++) {
            int k = a->pairs++;
            long wins = a->t.pair[i][j], n = wins + a->t.pair[j][i];
            snprintf(a->pair_names[k], sizeof a->pair_names[k], "%s over %s", p->methods[i], p->methods[j]);
            a->pair_values[k][0] = n ? (double)wins / (double)n : NAN;
            app_study_wilson(wins, n, WILSON_Z, &a->pair_values[k][1], &a->pair_values[k][2]);
            a->pair_values[k][3] = app_study_sign_test(wins, n);
            a->pair_n[k] = n;
            a->pair_rows[k] = (app_report_row){a->pair_names[k], n, a->pair_values[k], NULL};
        }
    for (int m = 0; m < M; m++) {
        double *v = a->method_values[m];
        long n = a->t.shown[m];
        if (!p->rank) {
            v[0] = n ? (double)a->t.wins[m] / (double)n : NAN;
            app_study_wilson(a->t.wins[m], n, WILSON_Z, &v[1], &v[2]);
            v[3] = (double)a->t.wins[m];
            n = a->t.shown[m];
        } else {
            n = 0;
            for (int r = 0; r < M; r++) n += a->t.ranks[m][r];
            for (int r = 0; r < M; r++) {
                v[r * 2] = n ? (double)a->t.ranks[m][r] / (double)n : NAN;
                v[r * 2 + 1] = (double)a->t.ranks[m][r];
            }
        }
        a->method_rows[m] = (app_report_row){p->methods[m], n, v, NULL};
        snprintf(a->rank_names[m], sizeof a->rank_names[m], "rank %d", m + 1);
        a->rank_columns[m] = a->rank_names[m];
    }
    a->item_rows = calloc((size_t)p->item_count, sizeof *a->item_rows);
    a->item_values = calloc((size_t)p->item_count * M, sizeof *a->item_values);
    if (!a->item_rows || !a->item_values) return 1;
    for (int i = 0; i < p->item_count; i++) {
        double *v = a->item_values + (size_t)i * M;
        for (int m = 0; m < M; m++) {
            long shown = p->rank ? a->t.item_judgments[i] : a->t.item_shown[(size_t)i * M + m];
            v[m] = shown ? (double)a->t.item_wins[(size_t)i * M + m] / (double)shown : NAN;
        }
        a->item_rows[i] = (app_report_row){json_string_value(json_object_get(json_array_get(p->items, (size_t)i), "id")),
                                           a->t.item_judgments[i], v, NULL};
    }
    a->units = app_study_agreement(a->t.units, p->trial_count, M, &a->pairwise, &a->kappa);
    return 0;
}

/* A real, or null when undefined (NaN). */
static json_t *real_or_null(double v, int decimals)
{
    return isnan(v) ? json_null() : json_real(app_round(v, decimals));
}

typedef struct report_parts {
    char *markdown, *json, *bars_svg, *examples_svg;
} report_parts;

static int build_report(const study_plan *p, const analysis *a, const participant *people, int count,
                        json_t *skipped, int max_catch, int pair_a, int pair_b, int examples, report_parts *out)
{
    int M = p->method_count, included = 0;
    for (int k = 0; k < count; k++) included += people[k].included;
    app_report comparisons = {.title = "Comparisons: the proportion preferring the first method (95% Wilson "
                                       "interval, two-sided sign test)",
                              .row_key = "comparison", .rows_key = "comparisons", .count_key = "judgments",
                              .metrics = comparison_metrics, .metric_count = 4,
                              .columns = result_column, .column_count = 1, .rows = a->pair_rows,
                              .row_count = a->pairs,
                              .note = p->rank ? "In a ranking, A is preferred to B when A is ranked above B." : NULL};
    app_report methods = {.row_key = "method", .rows_key = "methods", .count_key = p->rank ? "rankings" : "trials",
                          .rows = a->method_rows, .row_count = M};
    if (!p->rank) {
        methods.title = "Methods: the share of their 2AFC trials in which each was preferred (95% Wilson interval)";
        methods.metrics = share_metrics, methods.metric_count = 4;
        methods.columns = preferred_column, methods.column_count = 1;
    } else {
        methods.title = "Methods: distribution of ranks (rank 1: most like the original)";
        methods.metrics = rank_metrics, methods.metric_count = 2;
        methods.columns = a->rank_columns, methods.column_count = M;
    }
    app_report items = {.title = p->rank ? "Items: the share of rankings placing each method first"
                                         : "Items: the share of each method's trials in which it was preferred",
                        .row_key = "item", .rows_key = "items", .count_key = "judgments", .metrics = item_metrics,
                        .metric_count = 1, .columns = p->methods, .column_count = M, .rows = a->item_rows,
                        .row_count = p->item_count};

    json_t *people_json = json_array(), *methods_json = json_array();
    for (int k = 0; people_json && k < count; k++)
        json_array_append_new(people_json, json_pack("{s:s, s:s, s:i, s:i, s:b}", "participant", people[k].id, "file",
                                                     people[k].file, "catch_trials", people[k].catch_total,
                                                     "catch_failed", people[k].catch_failed, "included",
                                                     people[k].included));
    for (int m = 0; methods_json && m < M; m++) json_array_append_new(methods_json, json_string(p->methods[m]));
    json_t *agreement = json_pack("{s:o, s:o, s:I, s:s}", "pairwise", real_or_null(a->pairwise, 4), "fleiss_kappa",
                                  real_or_null(a->kappa, 4), "units", (json_int_t)a->units, "on",
                                  p->rank ? "the method ranked first" : "the method chosen");
    json_t *doc = json_pack("{s:s, s:s, s:o, s:i, s:i, s:o, s:O, s:o}", "study", p->study, "mode",
                            p->rank ? "rank" : "2afc", "methods", methods_json, "participants_included", included,
                            "max_catch_failures", max_catch, "participants", people_json, "skipped_files", skipped,
                            "agreement", agreement);
    json_t *parts[3] = {app_report_json(&comparisons), app_report_json(&methods), app_report_json(&items)};
    int ok = doc && parts[0] && parts[1] && parts[2];
    for (int k = 0; k < 3; k++) {
        if (ok) ok = json_object_update(doc, parts[k]) == 0;
        json_decref(parts[k]);
    }
    char *json_text = ok ? json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(doc);
    if (!json_text) return 1;
    out->json = malloc(strlen(json_text) + 2);
    if (out->json) sprintf(out->json, "%s\n", json_text);
    free(json_text);

    /* Markdown: a summary, then the three tables. */
    char *tables[3] = {app_report_markdown(&comparisons), app_report_markdown(&methods), app_report_markdown(&items)};
    size_t length = 0;
    FILE *md = open_memstream(&out->markdown, &length);
    if (md) {
        fprintf(md, "# Study %s (%s): %d participant%s included\n\n", p->study, p->rank ? "ranking" : "2AFC", included,
                included == 1 ? "" : "s");
        fprintf(md, "| participant | file | catch trials failed | included |\n|---|---|---|---|\n");
        for (int k = 0; k < count; k++)
            fprintf(md, "| %s | %s | %d of %d | %s |\n", people[k].id, people[k].file, people[k].catch_failed,
                    people[k].catch_total, people[k].included ? "yes" : "no (more than --max-catch-failures)");
        for (size_t k = 0; k < json_array_size(skipped); k++)
            fprintf(md, "%s%s: skipped: %s\n", k == 0 ? "\nFiles skipped:\n\n" : "",
                    json_string_value(json_object_get(json_array_get(skipped, k), "file")),
                    json_string_value(json_object_get(json_array_get(skipped, k), "reason")));
        fprintf(md, "\nAgreement between participants (on %s, %ld units rated by 2 or more): pairwise ",
                p->rank ? "the method ranked first" : "the method chosen", a->units);
        if (isnan(a->pairwise)) fprintf(md, "n/a, Fleiss' kappa n/a\n\n");
        else if (isnan(a->kappa)) fprintf(md, "%.3f, Fleiss' kappa n/a\n\n", a->pairwise);
        else fprintf(md, "%.3f, Fleiss' kappa %.3f\n\n", a->pairwise, a->kappa);
        for (int k = 0; k < 3; k++) fprintf(md, "%s%s", k ? "\n" : "", tables[k] ? tables[k] : "");
        if (fclose(md) != 0) free(out->markdown), out->markdown = NULL;
    }
    for (int k = 0; k < 3; k++) {
        if (!tables[k]) ok = 0;
        free(tables[k]);
    }
    if (!ok || !out->markdown || !out->json) return 1;

    /* Figure: bars per method. */
    double values[APP_STUDY_MAX_METHODS * APP_STUDY_MAX_METHODS], low[APP_STUDY_MAX_METHODS],
        high[APP_STUDY_MAX_METHODS];
    app_study_bars bars = {.groups = M, .group_names = p->methods, .values = values, .reference = NAN};
    if (!p->rank) {
        for (int m = 0; m < M; m++)
            values[m] = isnan(a->method_values[m][0]) ? 0 : a->method_values[m][0], low[m] = a->method_values[m][1],
            high[m] = a->method_values[m][2];
        bars.title = "Share of 2AFC trials in which each method was preferred (95% Wilson interval)";
        bars.y_label = "preferred", bars.series = 1, bars.series_names = preferred_column;
        bars.low = low, bars.high = high, bars.y_max = 1.0, bars.reference = 0.5;
    } else {
        long most = 1;
        for (int m = 0; m < M; m++)
            for (int r = 0; r < M; r++) {
                values[m * M + r] = (double)a->t.ranks[m][r];
                if (a->t.ranks[m][r] > most) most = a->t.ranks[m][r];
            }
        bars.title = "Ranks given to each method (rank 1: most like the original)";
        bars.y_label = "rankings", bars.series = M, bars.series_names = a->rank_columns, bars.y_max = (double)most;
    }
    out->bars_svg = app_study_svg_bars(&bars);

    /* Figure: the items most and least preferring pair_a over pair_b. */
    int I = p->item_count, *order = malloc((size_t)I * sizeof *order), rows = 0;
    double *share = malloc((size_t)I * sizeof *share);
    if (!order || !share || !out->bars_svg) return free(order), free(share), 1;
    for (int i = 0; i < I; i++) {
        long w = a->t.item_pair[((size_t)i * M + pair_a) * M + pair_b], l = a->t.item_pair[((size_t)i * M + pair_b) * M + pair_a];
        share[i] = w + l ? (double)w / (double)(w + l) : NAN;
        if (w + l) order[rows++] = i;
    }
    for (int i = 1; i < rows; i++) /* insertion sort: by share, descending; stable */
        for (int j = i; j > 0 && share[order[j]] > share[order[j - 1]]; j--) {
            int swap = order[j];
            order[j] = order[j - 1], order[j - 1] = swap;
        }
    int shown = rows < 2 * examples ? rows : 2 * examples, top = shown - shown / 2;
    char(*captions)[160] = calloc((size_t)(shown ? shown : 1), sizeof *captions);
    const char **caption_list = calloc((size_t)(shown ? shown : 1), sizeof *caption_list);
    char **paths = calloc((size_t)(shown ? shown : 1) * 3, sizeof *paths);
    int *widths = calloc((size_t)(shown ? shown : 1), sizeof(int)), *heights = calloc((size_t)(shown ? shown : 1), sizeof(int));
    ok = captions && caption_list && paths && widths && heights;
    for (int r = 0; ok && r < shown; r++) {
        int i = r < top ? order[r] : order[rows - (shown - r)];
        json_t *item = json_array_get(p->items, (size_t)i);
        long w = a->t.item_pair[((size_t)i * M + pair_a) * M + pair_b], l = a->t.item_pair[((size_t)i * M + pair_b) * M + pair_a];
        snprintf(captions[r], sizeof captions[r], "%s: %s preferred to %s in %ld of %ld (left %s, middle original, right %s)",
                 json_string_value(json_object_get(item, "id")), p->methods[pair_a], p->methods[pair_b], w, w + l,
                 p->methods[pair_a], p->methods[pair_b]);
        caption_list[r] = captions[r];
        const char *names[3] = {json_string_value(json_object_get(json_object_get(item, "images"), p->methods[pair_a])),
                                json_string_value(json_object_get(item, "original")),
                                json_string_value(json_object_get(json_object_get(item, "images"), p->methods[pair_b]))};
        for (int c = 0; ok && c < 3; c++) {
            size_t n = strlen(p->dir) + (names[c] ? strlen(names[c]) : 0) + 2;
            paths[r * 3 + c] = names[c] ? malloc(n) : NULL;
            if (!paths[r * 3 + c]) ok = 0;
            else snprintf(paths[r * 3 + c], n, "%s/%s", p->dir, names[c]);
        }
        widths[r] = (int)json_integer_value(json_object_get(item, "width"));
        heights[r] = (int)json_integer_value(json_object_get(item, "height"));
        if (widths[r] <= 0 || heights[r] <= 0) ok = 0;
    }
    char title[200];
    snprintf(title, sizeof title, "Items most (top) and least (bottom) preferring %s to %s", p->methods[pair_a],
             p->methods[pair_b]);
    app_study_triplets triplets = {title, shown, caption_list, (const char *const *)paths, widths, heights};
    if (ok) out->examples_svg = app_study_svg_triplets(&triplets);
    for (int k = 0; paths && k < shown * 3; k++) free(paths[k]);
    free(paths), free(captions), free(caption_list), free(widths), free(heights), free(order), free(share);
    return out->examples_svg ? 0 : 1;
}

static const app_option analyze_options[] = {
    {"--study", "DIR"}, {"--report", "PREFIX"}, {"--max-catch-failures", "N"}, {"--strict", NULL},
    {"--pair", "A,B"},  {"--examples", "N"},    {NULL, NULL}};

int app_study_run_analyze(int argc, char **argv)
{
    const char *cmd = "study analyze", *dir = NULL, *prefix = NULL, *pair = NULL;
    int max_catch = 0, strict = 0, examples = 3, file_count = 0;
    const char **files = calloc((size_t)(argc > 0 ? argc : 1), sizeof *files);
    if (!files) return fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1;
    app_args r;
    app_args_init(&r, cmd, app_study_usage, analyze_options, NULL, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option) files[file_count++] = r.value;
        else if (app_args_is(&r, "--study")) dir = r.value;
        else if (app_args_is(&r, "--report")) prefix = r.value;
        else if (app_args_is(&r, "--max-catch-failures")) app_args_int(&r, 0, 1000000, &max_catch);
        else if (app_args_is(&r, "--strict")) strict = 1;
        else if (app_args_is(&r, "--pair")) pair = r.value;
        else if (app_args_is(&r, "--examples")) app_args_int(&r, 0, 50, &examples);
    }
    if (r.exit_code >= 0) return free(files), r.exit_code;
    if (!dir || file_count == 0) {
        free(files);
        return fprintf(stderr, "perceptcl %s: needs --study DIR and at least one RESULTS.json\n", cmd), 2;
    }
    study_plan p;
    if (read_plan(cmd, dir, &p) != 0) return json_decref(p.doc), free(files), 1;
    int pair_a = 0, pair_b = 1, rc = 0;
    if (pair) {
        const char *comma = strchr(pair, ',');
        char first[64] = "";
        if (comma && (size_t)(comma - pair) < sizeof first) snprintf(first, sizeof first, "%.*s", (int)(comma - pair), pair);
        pair_a = method_index(&p, first), pair_b = comma ? method_index(&p, comma + 1) : -2;
        if (pair_a < 0 || pair_b < 0 || pair_a == pair_b)
            rc = (fprintf(stderr, "perceptcl %s: --pair must be two different methods of the study, A,B, not '%s'\n", cmd,
                          pair),
                  2);
    }

    participant *people = calloc((size_t)file_count, sizeof *people);
    json_t *skipped = json_array();
    int count = 0, problems = 0;
    if (rc == 0 && (!people || !skipped)) rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
    for (int f = 0; rc == 0 && f < file_count; f++) {
        char why[300] = "";
        participant *person = &people[count];
        *person = (participant){0};
        int bad = read_results(&p, files[f], person, why, sizeof why);
        for (int k = 0; !bad && k < count; k++)
            if (strcmp(people[k].id, person->id) == 0) {
                snprintf(why, sizeof why, "duplicate: participant '%s' was already read from %s", person->id,
                         people[k].file);
                bad = 1;
            }
        if (bad) {
            fprintf(stderr, "perceptcl %s: %s: %s (%s)\n", cmd, files[f], why, strict ? "refused: --strict" : "skipped");
            json_array_append_new(skipped, json_pack("{s:s, s:s}", "file", files[f], "reason", why));
            free(person->id), free(person->responses);
            problems++;
            continue;
        }
        person->file = (char *)files[f];
        person->included = person->catch_failed <= max_catch;
        if (!person->included)
            fprintf(stderr, "perceptcl %s: %s: participant '%s' failed %d of %d catch trials: left out\n", cmd, files[f],
                    person->id, person->catch_failed, person->catch_total);
        count++;
    }
    if (rc == 0 && strict && problems)
        rc = (fprintf(stderr, "perceptcl %s: %d file(s) refused (--strict): nothing written\n", cmd, problems), 1);
    int included = 0;
    for (int k = 0; k < count; k++) included += people[k].included;
    if (rc == 0 && included == 0) rc = (fprintf(stderr, "perceptcl %s: no participant to analyse\n", cmd), 1);

    analysis a = {.p = &p};
    report_parts parts = {0};
    if (rc == 0 && (tally(&p, people, count, &a.t) != 0 || analyse(&p, &a) != 0 ||
                    build_report(&p, &a, people, count, skipped, max_catch, pair_a, pair_b, examples, &parts) != 0))
        rc = (fprintf(stderr, "perceptcl %s: out of memory (or an image of the study cannot be read)\n", cmd), 1);
    if (rc == 0 && prefix) {
        char paths[4][4096];
        const char *suffixes[4] = {".md", ".json", "-methods.svg", "-examples.svg"};
        const char *texts[4] = {parts.markdown, parts.json, parts.bars_svg, parts.examples_svg};
        pcl_file_set *set = NULL;
        pcl_status s = pcl_file_set_create(&set);
        for (int k = 0; s == PCL_OK && k < 4; k++) {
            snprintf(paths[k], sizeof paths[k], "%s%s", prefix, suffixes[k]);
            s = pcl_file_set_add_bytes(set, paths[k], texts[k], strlen(texts[k]));
        }
        if (s == PCL_OK) s = pcl_file_set_commit(set);
        pcl_file_set_destroy(set);
        if (s != PCL_OK) rc = app_fail(cmd, "writing the report");
    }
    if (rc == 0) fputs(parts.markdown, stdout);
    free(parts.markdown), free(parts.json), free(parts.bars_svg), free(parts.examples_svg);
    free(a.item_rows), free(a.item_values);
    tallies_free(&a.t);
    for (int k = 0; k < count; k++) free(people[k].id), free(people[k].responses);
    free(people), free(files);
    json_decref(skipped);
    json_decref(p.doc);
    return rc;
}
