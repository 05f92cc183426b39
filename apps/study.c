/* perceptcl study: human-judgment studies of reconstructions (Snell et al.
 * 2017, sections 3.2 and 4.2): 2-alternative forced choice (original in the
 * middle, a reconstruction either side) and ranking (original on the left,
 * the reconstructions dragged into order).
 *
 *   perceptcl study items    ...   a manifest from folders paired by file name
 *   perceptcl study make     ...   the static study folder (study_make.c)
 *   perceptcl study analyze  ...   the participants' results (study_analyze.c) */
#include "app.h"
#include "study.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const char app_study_usage[] =
    "usage: perceptcl study items   --original DIR --method NAME=DIR --method NAME=DIR [--method NAME=DIR]\n"
    "                               --out ITEMS.json\n"
    "       perceptcl study make    --items ITEMS.json --out DIR [--mode 2afc|rank] [--catch N] [--break-every N]\n"
    "                               [--seed S] [--crop SIZE] [--zoom Z] [--title TEXT] [--post-url URL]\n"
    "       perceptcl study analyze --study DIR [--report PREFIX] [--max-catch-failures N] [--strict]\n"
    "                               [--pair A,B] [--examples N] RESULTS.json...\n\n"
    "items: one item per image file of --original (PNG, JPEG, BMP, PNM), paired by file name with the\n"
    "  same file in each method's folder (2 or 3 methods; a missing file is an error). The manifest\n"
    "  (format in apps/study.h and the README) is what every experiment app writes.\n\n"
    "make: a self-contained folder: index.html, study.js, study.css (plain, no network access; works\n"
    "  from file:// and any static web server), plan.js / plan.json (the trials) and images/ (PNG,\n"
    "  neutral names). The folder must not exist or be empty; it is written all or none.\n"
    "  2afc (default): one trial per item and pair of methods, the original in the middle, the two\n"
    "  reconstructions either side, sides balanced per participant. rank: one trial per item, the\n"
    "  original on the left and every method's reconstruction, dragged (or moved with the keyboard)\n"
    "  into order. Per participant (id from the URL: ?participant=ID, or typed in) a seeded order of\n"
    "  trials and, for rank, of the images. --catch N: N catch trials in which one reconstruction is\n"
    "  the original itself (failed when it is not chosen / ranked first). --break-every N: a break\n"
    "  screen every N trials (default 20; 0: none). --crop SIZE: every image cropped to the SIZExSIZE\n"
    "  window (stride SIZE/8) of largest luma variance in the original, the same window for the\n"
    "  item's reconstructions. --zoom Z: shown Z times larger (nearest neighbour; default 1).\n"
    "  --post-url URL: the results are also POSTed there (body: the results JSON as text/plain).\n"
    "  Results (downloaded at the end as perceptcl-results-STUDY-PARTICIPANT.json, kept in the\n"
    "  browser's localStorage across reloads): {\"format\": \"perceptcl-study-results\", \"version\": 1,\n"
    "  \"study\", \"mode\", \"participant\", \"started\", \"finished\", \"trial_count\", \"trials\": [{\"trial\",\n"
    "  \"item\", \"catch\", \"shown\": [methods as shown, left to right], \"choice\" (2afc) or \"ranking\"\n"
    "  (rank, best first), \"rt_ms\", \"passed\" (catch trials)}]}; the original is \"original\".\n\n"
    "analyze: merges the participants' results of the study in DIR. A file that is not such results,\n"
    "  belongs to another study, is incomplete, or repeats a participant already read is named on one\n"
    "  line and skipped (--strict: refused, exit 1, nothing written). Participants with more than\n"
    "  --max-catch-failures failed catch trials (default 0) are left out. Reports: per comparison (A\n"
    "  over B, A listed first in the manifest) the proportion preferring A with its 95% Wilson\n"
    "  interval and a two-sided sign test; per method the proportion of its trials it won (2afc) or\n"
    "  its distribution of ranks (rank); per item the share preferring (ranking first) each method;\n"
    "  agreement between participants (pairwise agreement and Fleiss' kappa on the chosen / first\n"
    "  method). Markdown on stdout; --report PREFIX also writes PREFIX.md, PREFIX.json,\n"
    "  PREFIX-methods.svg (bar chart) and PREFIX-examples.svg (the --examples N items, default 3,\n"
    "  most and least preferring A of --pair A,B (default: the first two methods), as triplets),\n"
    "  all or none.\n\n"
    "Errors: one line on stderr, non-zero exit, no partial output.\n";

/* ---- items ------------------------------------------------------------------ */

static int is_image_name(const char *name)
{
    static const char *const extensions[] = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".pnm", NULL};
    const char *dot = strrchr(name, '.');
    if (!dot || name[0] == '.') return 0;
    for (int k = 0; extensions[k]; k++)
        if (strcasecmp(dot, extensions[k]) == 0) return 1;
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The image files of dir, sorted (malloc'd array of malloc'd names); -1 after an error line. */
static int list_images(const char *app, const char *dir, char ***names_out)
{
    DIR *d = opendir(dir);
    if (!d) return fprintf(stderr, "perceptcl %s: cannot open folder '%s'\n", app, dir), -1;
    char **names = NULL;
    int count = 0, capacity = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_image_name(e->d_name)) continue;
        if (count == capacity) {
            capacity = capacity ? 2 * capacity : 16;
            char **grown = realloc(names, (size_t)capacity * sizeof *names);
            if (!grown) break;
            names = grown;
        }
        if (!(names[count] = strdup(e->d_name))) break;
        count++;
    }
    int complete = e == NULL;
    closedir(d);
    if (!complete) {
        for (int i = 0; i < count; i++) free(names[i]);
        free(names);
        return fprintf(stderr, "perceptcl %s: out of memory listing '%s'\n", app, dir), -1;
    }
    qsort(names, (size_t)count, sizeof *names, compare_names);
    *names_out = names;
    return count;
}

/* path as the manifest in folder `base` (a real path) should name it: relative
 * when it lies under base, else absolute (malloc'd; NULL if it does not exist). */
static char *manifest_path(const char *base, const char *path)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) return NULL;
    size_t n = strlen(base);
    if (strncmp(real, base, n) == 0 && real[n] == '/') return strdup(real + n + 1);
    return strdup(real);
}

static const app_option items_options[] = {{"--original", "DIR"}, {"--method", "NAME=DIR"}, {"--out", "ITEMS.json"},
                                           {NULL, NULL}};

int app_study_run_items(int argc, char **argv)
{
    const char *cmd = "study items", *original_dir = NULL, *out = NULL, *method_dirs[APP_STUDY_MAX_METHODS];
    char method_names[APP_STUDY_MAX_METHODS][40];
    int method_count = 0;
    app_args r;
    app_args_init(&r, cmd, app_study_usage, items_options, NULL, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option) app_args_error(&r, "unexpected argument '%s'", r.value);
        else if (app_args_is(&r, "--original")) original_dir = r.value;
        else if (app_args_is(&r, "--out")) out = r.value;
        else if (method_count == APP_STUDY_MAX_METHODS)
            app_args_error(&r, "at most %d --method options", APP_STUDY_MAX_METHODS);
        else {
            const char *equals = strchr(r.value, '=');
            size_t n = equals ? (size_t)(equals - r.value) : 0;
            if (!equals || n == 0 || n >= sizeof method_names[0] || !equals[1])
                app_args_error(&r, "--method must be NAME=DIR, not '%s'", r.value);
            else {
                memcpy(method_names[method_count], r.value, n);
                method_names[method_count][n] = '\0';
                method_dirs[method_count++] = equals + 1;
            }
        }
    }
    if (r.exit_code >= 0) return r.exit_code;
    if (!original_dir || !out || method_count < 2)
        return fprintf(stderr, "perceptcl %s: needs --original, --out and 2 or 3 --method (perceptcl study --help)\n",
                       cmd),
               2;

    char **names = NULL;
    int count = list_images(cmd, original_dir, &names);
    if (count < 0) return 1;
    if (count == 0) {
        free(names);
        return fprintf(stderr, "perceptcl %s: no image files in '%s'\n", cmd, original_dir), 1;
    }
    /* The manifest's folder, as a real path, so that image paths can be written relative to it. */
    char base[PATH_MAX], folder[PATH_MAX];
    const char *slash = strrchr(out, '/');
    snprintf(folder, sizeof folder, "%.*s", slash ? (int)(slash - out) : 1, slash ? out : ".");
    if (slash == out) strcpy(folder, "/");
    int rc = 0;
    if (!realpath(folder, base)) rc = (fprintf(stderr, "perceptcl %s: no folder '%s' for --out\n", cmd, folder), 1);
    if (strcmp(base, "/") == 0) base[0] = '\0';

    app_study_items items = {.method_count = method_count, .item_count = count};
    for (int m = 0; m < method_count; m++) items.methods[m] = method_names[m];
    items.items = calloc((size_t)count, sizeof *items.items);
    char **strings = calloc((size_t)count * (APP_STUDY_MAX_METHODS + 2), sizeof *strings);
    if (rc == 0 && (!items.items || !strings)) rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
    for (int i = 0; rc == 0 && i < count; i++) {
        char **own = strings + (size_t)i * (APP_STUDY_MAX_METHODS + 2);
        /* The id: the file name without its extension, other characters as '_'. */
        own[0] = strdup(names[i]);
        if (!own[0]) {
            rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
            break;
        }
        *strrchr(own[0], '.') = '\0';
        for (char *c = own[0]; *c; c++)
            if (!(isalnum((unsigned char)*c) || *c == '.' || *c == '_' || *c == '-')) *c = '_';
        items.items[i].id = own[0];
        for (int m = -1; rc == 0 && m < method_count; m++) {
            const char *dir = m < 0 ? original_dir : method_dirs[m];
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            char *written = manifest_path(base, path);
            if (!written) {
                rc = (fprintf(stderr, "perceptcl %s: '%s' has no '%s' (the original's pair%s%s)\n", cmd, dir, names[i],
                              m < 0 ? "" : " for method ", m < 0 ? "" : method_names[m]),
                      1);
                break;
            }
            own[m + 2] = written;
            if (m < 0) items.items[i].original = written;
            else items.items[i].images[m] = written;
        }
    }
    if (rc == 0) rc = app_study_items_write(cmd, out, &items);
    if (rc == 0) fprintf(stderr, "perceptcl %s: %d items, %d methods -> %s\n", cmd, count, method_count, out);
    for (int i = 0; strings && i < count * (APP_STUDY_MAX_METHODS + 2); i++) free(strings[i]);
    for (int i = 0; i < count; i++) free(names[i]);
    free(strings);
    free(names);
    free(items.items);
    return rc;
}

int app_study(int argc, char **argv)
{
    static const app_subcommand subcommands[] = {
        {"items", app_study_run_items}, {"make", app_study_run_make}, {"analyze", app_study_run_analyze}, {NULL, NULL}};
    return app_run_subcommand("study", app_study_usage, subcommands, argc, argv);
}
