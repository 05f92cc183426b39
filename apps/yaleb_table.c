/* perceptcl yaleb table (yaleb.h): Table 1 over seeds, from the reports of
 * yaleb svm: each representation's mean and standard deviation per column,
 * every seed's row, the paper's beside them, and whether the MS-SSIM
 * features beat both pixel-loss features on every seed. */
#include "app.h"
#include "yaleb.h"

#include "io/file_atomic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COLUMNS = 3, MAX_REPORTS = 64 };
static const char *const keys[COLUMNS] = {"identity_error", "azimuth_mse", "elevation_mse"};
static const char *const labels[COLUMNS] = {"identity error (%)", "azimuth MSE", "elevation MSE"};
/* A feature label and its Table 1 row. */
static const char *const losses[3][2] = {{"mse", "MSE"}, {"mae", "MAE"}, {"msssim", "MS-SSIM"}};

static const char usage[] =
    "usage: perceptcl yaleb table LABEL=SVM_REPORT.json ... [--report PREFIX]\n\n"
    "Table 1 over seeds from reports of perceptcl yaleb svm --report (one per feature file and split\n"
    "seed). LABEL names the representation: mse, mae, msssim (the autoencoders' training losses, set\n"
    "beside the paper's rows) or any other (pixels). Each label's rows: mean and sample standard\n"
    "deviation over its seeds, then every seed. For each column: whether the msssim features have the\n"
    "lower error than both the mse and the mae features on every seed the three share.\n";

typedef struct entry {
    const char *label, *path;
    long seed;
    double values[COLUMNS];
} entry;

static int read_report(const char *cmd, entry *e)
{
    json_error_t error;
    json_t *doc = json_load_file(e->path, 0, &error);
    if (!doc) return fprintf(stderr, "perceptcl %s: %s: %s (line %d)\n", cmd, e->path, error.text, error.line), 1;
    json_t *seed = json_object_get(doc, "split_seed");
    json_t *results = json_object_get(json_object_get(json_array_get(json_object_get(doc, "files"), 0), "results"),
                                      "features");
    int rc = 0;
    if (!json_is_integer(seed) || !json_is_object(results))
        rc = (fprintf(stderr, "perceptcl %s: %s: not a report of yaleb svm (no split_seed or results)\n", cmd,
                      e->path), 1);
    for (int c = 0; c < COLUMNS && rc == 0; c++) {
        json_t *v = json_object_get(results, keys[c]);
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            rc = (fprintf(stderr, "perceptcl %s: %s: no finite %s\n", cmd, e->path, keys[c]), 1);
        else
            e->values[c] = json_number_value(v);
    }
    if (rc == 0) e->seed = (long)json_integer_value(seed);
    json_decref(doc);
    return rc;
}

static const entry *find(const entry *entries, int count, const char *label, long seed)
{
    for (int i = 0; i < count; i++)
        if (!strcmp(entries[i].label, label) && entries[i].seed == seed) return &entries[i];
    return NULL;
}

/* Mean and sample standard deviation (NaN for one seed) of a label's column. */
static void summarise(const entry *entries, int count, const char *label, int column, int *n, double *mean,
                      double *sd)
{
    double sum = 0, squares = 0;
    *n = 0;
    for (int i = 0; i < count; i++)
        if (!strcmp(entries[i].label, label)) sum += entries[i].values[column], (*n)++;
    *mean = sum / *n;
    for (int i = 0; i < count; i++)
        if (!strcmp(entries[i].label, label)) squares += pow(entries[i].values[column] - *mean, 2);
    *sd = *n > 1 ? sqrt(squares / (*n - 1)) : NAN;
}

int yaleb_run_table(int argc, char **argv)
{
    const char *cmd = "yaleb table", *prefix = NULL, *args[MAX_REPORTS];
    int count = 0;
    static const app_option options[] = {{"--report", "PREFIX"}, {NULL, NULL}};
    app_args r;
    app_args_init(&r, cmd, usage, options, NULL, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option) app_args_append(&r, args, &count, MAX_REPORTS, "reports");
        else if (app_args_is(&r, "--report")) prefix = r.value;
    }
    if (r.exit_code < 0 && count == 0) app_args_error(&r, "needs LABEL=SVM_REPORT.json arguments");
    static entry entries[MAX_REPORTS];
    static char texts[MAX_REPORTS][4200];
    for (int i = 0; r.exit_code < 0 && i < count; i++) {
        snprintf(texts[i], sizeof texts[i], "%s", args[i]);
        char *equals = strchr(texts[i], '=');
        if (!equals || equals == texts[i] || !equals[1]) app_args_error(&r, "'%s' is not LABEL=REPORT.json", args[i]);
        else *equals = '\0', entries[i] = (entry){texts[i], equals + 1, 0, {0}};
    }
    if (r.exit_code >= 0) return r.exit_code;
    for (int i = 0; i < count; i++) {
        if (read_report(cmd, &entries[i])) return 1;
        for (int j = 0; j < i; j++)
            if (!strcmp(entries[j].label, entries[i].label) && entries[j].seed == entries[i].seed)
                return fprintf(stderr, "perceptcl %s: %s and %s: two reports of %s with split seed %ld\n", cmd,
                               entries[j].path, entries[i].path, entries[i].label, entries[i].seed), 1;
    }

    char *text = NULL;
    size_t length = 0;
    FILE *md = open_memstream(&text, &length);
    json_t *doc = json_object(), *rows = json_array(), *direction = json_object();
    if (!md || !doc || !rows || !direction) return fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1;
    fprintf(md, "# Yale B, Table 1: test error of the SVM / SVRs on each representation, over split seeds\n\n"
                "| features | seeds | %s | %s | %s |\n|---|---|---|---|---|\n", labels[0], labels[1], labels[2]);
    /* Summary rows: each label once, in the order given, then the paper's. */
    for (int i = 0; i < count; i++) {
        int first = 1;
        for (int j = 0; j < i; j++) first &= strcmp(entries[j].label, entries[i].label) != 0;
        if (!first) continue;
        json_t *row = json_pack("{s:s}", "features", entries[i].label), *means = json_object(), *sds = json_object();
        json_t *seeds = json_array(), *per_seed = json_array();
        int n = 0;
        fprintf(md, "| %s |", entries[i].label);
        for (int c = 0; c < COLUMNS; c++) {
            double mean, sd;
            summarise(entries, count, entries[i].label, c, &n, &mean, &sd);
            if (c == 0) fprintf(md, " %d |", n);
            if (isnan(sd)) fprintf(md, " %.2f |", mean);
            else fprintf(md, " %.2f ± %.2f |", mean, sd);
            json_object_set_new(means, keys[c], json_real(app_round(mean, 4)));
            json_object_set_new(sds, keys[c], isnan(sd) ? json_null() : json_real(app_round(sd, 4)));
        }
        fprintf(md, "\n");
        for (int j = 0; j < count; j++) {
            if (strcmp(entries[j].label, entries[i].label)) continue;
            json_array_append_new(seeds, json_integer(entries[j].seed));
            json_array_append_new(per_seed, json_pack("{s:I, s:s, s:f, s:f, s:f}", "seed",
                                                      (json_int_t)entries[j].seed, "report", entries[j].path, keys[0],
                                                      entries[j].values[0], keys[1], entries[j].values[1], keys[2],
                                                      entries[j].values[2]));
        }
        json_object_set_new(row, "seeds", seeds);
        json_object_set_new(row, "mean", means);
        json_object_set_new(row, "sd", sds);
        json_object_set_new(row, "per_seed", per_seed);
        json_array_append_new(rows, row);
    }
    for (int l = 0; l < 3; l++) {
        fprintf(md, "| paper: %s-trained | 1 |", losses[l][1]);
        for (int c = 0; c < COLUMNS; c++)
            fprintf(md, " %.2f |", *app_paper_table_find(&app_paper_table1, losses[l][1], app_paper_table1.column_labels[c]));
        fprintf(md, "\n");
    }
    fprintf(md, "\nMean ± sample standard deviation over the split seeds (split, folds and the autoencoder's "
                "initialisation all follow the seed). Paper: Snell et al. 2017, Table 1 (one split).\n\n"
                "| features | seed | %s | %s | %s |\n|---|---|---|---|---|\n", labels[0], labels[1], labels[2]);
    for (int i = 0; i < count; i++)
        fprintf(md, "| %s | %ld | %.2f | %.2f | %.2f |\n", entries[i].label, entries[i].seed, entries[i].values[0],
                entries[i].values[1], entries[i].values[2]);
    /* Direction: msssim below both mse and mae, seed by seed. */
    fprintf(md, "\n");
    for (int c = 0; c < COLUMNS; c++) {
        int shared = 0, won = 0;
        for (int i = 0; i < count; i++) {
            if (strcmp(entries[i].label, "msssim")) continue;
            const entry *mse = find(entries, count, "mse", entries[i].seed),
                        *mae = find(entries, count, "mae", entries[i].seed);
            if (!mse || !mae) continue;
            shared++;
            won += entries[i].values[c] < mse->values[c] && entries[i].values[c] < mae->values[c];
        }
        if (shared == 0) continue;
        fprintf(md, "- %s: the MS-SSIM features have the lowest error on %d of %d seeds (%s).\n", labels[c], won,
                shared, won == shared ? "reproduces the paper's direction on every seed" : "not on every seed");
        json_object_set_new(direction, keys[c], json_pack("{s:i, s:i, s:b}", "msssim_best_seeds", won, "seeds", shared,
                                                          "every_seed", won == shared));
    }
    int rc = fclose(md) != 0 || !text;
    json_object_set_new(doc, "title", json_string("Yale B, Table 1 over split seeds"));
    json_object_set_new(doc, "rows", rows);
    json_object_set_new(doc, "direction", direction);
    if (rc) fprintf(stderr, "perceptcl %s: out of memory\n", cmd);
    else if (prefix) rc = app_write_markdown_json(cmd, prefix, text, doc);
    if (rc == 0) fputs(text, stdout);
    free(text);
    json_decref(doc);
    return rc;
}
