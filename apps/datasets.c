/* perceptcl datasets: which corpora a data folder holds, and whether each is
 * complete. */
#include "app.h"
#include "perceptcl/datasets.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: perceptcl datasets check [DIR] [--data DIR] [--deep] [--corpus NAME]\n"
    "       perceptcl datasets list\n\n"
    "check  looks under DIR (else --data DIR, else $PERCEPTCL_DATA) for every corpus perceptcl\n"
    "       knows, by its standard file names and layout, and says whether it is complete:\n"
    "       binary files of the exact expected sizes, folders with the expected image counts\n"
    "       and well-formed names and labels. --deep also reads every record (labels, image\n"
    "       sizes, decoding). --corpus limits the check to one corpus.\n"
    "       Exit status: 0 when every corpus found is complete, 1 otherwise or when none is found.\n"
    "list   prints each corpus's name, where it is looked for, and its size.\n\n"
    "datasets/README.md says where to download each corpus.\n";

static int list_corpora(void)
{
    printf("%-22s %-30s %10s  %s\n", "corpus", "path under the data folder", "records", "what");
    for (int i = 0; i < PCL_CORPUS_COUNT; i++) {
        const pcl_corpus_info *c = pcl_corpus_get_info((pcl_corpus)i);
        printf("%-22s %-30s %10zu  %s\n", c->name, c->path, c->records, c->description);
    }
    return 0;
}

static int check(const char *root, int deep, int only)
{
    printf("data folder: %s%s\n\n", root, deep ? " (deep check: every record read)" : "");
    printf("%-22s %-11s %10s %10s  %s\n", "corpus", "status", "records", "expected", "where / why");
    int found = 0, bad = 0;
    for (int i = 0; i < PCL_CORPUS_COUNT; i++) {
        if (only >= 0 && i != only) continue;
        const pcl_corpus_info *c = pcl_corpus_get_info((pcl_corpus)i);
        pcl_corpus_report r;
        if (pcl_corpus_check((pcl_corpus)i, root, deep, &r) != PCL_OK) return app_fail("datasets", c->name);
        if (!r.present) {
            printf("%-22s %-11s %10s %10zu  %s\n", c->name, "absent", "-", c->records, c->path);
            continue;
        }
        found++;
        bad += !r.complete;
        char records[32] = "-";
        if (r.records) snprintf(records, sizeof records, "%zu", r.records);
        printf("%-22s %-11s %10s %10zu  %s%s%s\n", c->name, r.complete ? "complete" : "INCOMPLETE", records,
               c->records, r.path, r.complete ? "" : ": ", r.message);
    }
    printf("\n%d %s found, %d complete, %d incomplete or unreadable\n", found, found == 1 ? "corpus" : "corpora",
           found - bad, bad);
    if (!found) fprintf(stderr, "perceptcl datasets: no known corpus under %s (see datasets/README.md)\n", root);
    return found && !bad ? 0 : 1;
}

static const app_option options[] = {{"--data", "DIR"}, {"--corpus", "NAME"}, {"--deep", NULL}, {NULL, NULL}};

int app_datasets(int argc, char **argv)
{
    const char *command = NULL, *dir = NULL, *data = NULL;
    int deep = 0, only = -1;
    app_args r;
    app_args_init(&r, "datasets", usage, options, NULL, argc, argv);
    while (app_args_next(&r)) {
        pcl_corpus corpus;
        if (!r.option && !command) command = r.value;
        else if (!r.option && !dir) dir = r.value;
        else if (!r.option) app_args_error(&r, "unexpected argument '%s'", r.value);
        else if (app_args_is(&r, "--deep")) deep = 1;
        else if (app_args_is(&r, "--data")) data = r.value;
        else if (pcl_corpus_find(r.value, &corpus) != PCL_OK) app_args_error(&r, "--corpus: %s", pcl_last_error());
        else only = (int)corpus;
    }
    if (r.exit_code >= 0) return r.exit_code;
    if (!command) return fputs(usage, stderr), 2;
    if (strcmp(command, "list") == 0) return list_corpora();
    if (strcmp(command, "check") != 0) {
        fprintf(stderr, "perceptcl datasets: unknown subcommand '%s' (check, list)\n", command);
        return 2;
    }
    const char *root = pcl_data_root(dir ? dir : data);
    if (!root) {
        fprintf(stderr, "perceptcl datasets: no data folder: give DIR, --data DIR or set PERCEPTCL_DATA\n");
        return 2;
    }
    return check(root, deep, only);
}
