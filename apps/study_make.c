/* perceptcl study make: the static study folder (index.html, study.js,
 * study.css embedded at build time; plan.js and plan.json; images/), written
 * all or none through one pcl_file_set. */
#include "app.h"
#include "io/file_atomic.h"
#include "perceptcl/image.h"
#include "perceptcl/rng.h"
#include "study.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct make_options {
    const char *items_path, *out, *title, *post_url;
    int rank, catch_count, break_every, crop;
    long seed;
    double zoom;
} make_options;

/* FNV-1a, 64-bit: the study's id hashes its plan and its pixels. */
static uint64_t fnv1a(uint64_t h, const void *bytes, size_t length)
{
    const unsigned char *p = bytes;
    for (size_t i = 0; i < length; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* 0 if dir is absent (created, with images/) or an empty folder; else 1 after an error line. */
static int prepare_folder(const char *cmd, const char *dir, int *created)
{
    *created = 0;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        int empty = 1;
        while ((e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = 0;
        closedir(d);
        if (!empty)
            return fprintf(stderr, "perceptcl %s: '%s' exists and is not empty (choose a new folder)\n", cmd, dir), 1;
    } else if (mkdir(dir, 0777) != 0) {
        return fprintf(stderr, "perceptcl %s: cannot create folder '%s': %s\n", cmd, dir, strerror(errno)), 1;
    } else {
        *created = 1;
    }
    char images[4096];
    snprintf(images, sizeof images, "%s/images", dir);
    if (mkdir(images, 0777) != 0)
        return fprintf(stderr, "perceptcl %s: cannot create folder '%s': %s\n", cmd, images, strerror(errno)), 1;
    return 0;
}

static void remove_folder(const char *dir, int created)
{
    char images[4096];
    snprintf(images, sizeof images, "%s/images", dir);
    rmdir(images);
    if (created) rmdir(dir);
}

/* Luma of pixel i (BT.601 weights; gray as is). */
static double luma(const pcl_image *im, size_t i)
{
    const float *p = im->data + i * (size_t)im->channels;
    return im->channels >= 3 ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[0];
}

/* The size x size window (stride size/8) of largest luma variance. */
static void busiest_window(const pcl_image *im, int size, int *x_out, int *y_out)
{
    int stride = size / 8 > 0 ? size / 8 : 1;
    double best = -1.0;
    *x_out = *y_out = 0;
    for (int y = 0; y + size <= im->height; y += stride)
        for (int x = 0; x + size <= im->width; x += stride) {
            double sum = 0.0, squares = 0.0;
            for (int r = 0; r < size; r++)
                for (int c = 0; c < size; c++) {
                    double v = luma(im, (size_t)(y + r) * (size_t)im->width + (size_t)(x + c));
                    sum += v, squares += v * v;
                }
            double n = (double)size * size, variance = squares / n - (sum / n) * (sum / n);
            if (variance > best) best = variance, *x_out = x, *y_out = y;
        }
}

/* Reads path (converted to 8-bit scale), checks its size against the
 * original's (width/height 0: this is the original), crops; NULL after an error line. */
static pcl_image *load_image(const char *cmd, const app_study_items *s, const char *manifest_path, int *width,
                             int *height, const make_options *o, int *crop_x, int *crop_y, const char *item,
                             const char *method)
{
    char *path = app_study_items_path(s, manifest_path);
    pcl_image *image = NULL, *cropped = NULL;
    if (!path) return fprintf(stderr, "perceptcl %s: out of memory\n", cmd), NULL;
    if (pcl_image_read(path, &image) != PCL_OK) {
        fprintf(stderr, "perceptcl %s: item '%s' (%s): %s\n", cmd, item, method, pcl_last_error());
        free(path);
        return NULL;
    }
    free(path);
    if (image->max_value != 255.0f) {
        float scale = 255.0f / image->max_value;
        for (size_t i = 0; i < pcl_image_size(image); i++) image->data[i] *= scale;
        image->max_value = 255.0f;
    }
    if (*width == 0) {
        *width = image->width, *height = image->height;
        if (o->crop && (image->width < o->crop || image->height < o->crop)) {
            fprintf(stderr, "perceptcl %s: item '%s': the original is %dx%d, smaller than --crop %d\n", cmd, item,
                    image->width, image->height, o->crop);
            pcl_image_destroy(image);
            return NULL;
        }
        if (o->crop) busiest_window(image, o->crop, crop_x, crop_y);
    } else if (image->width != *width || image->height != *height) {
        fprintf(stderr, "perceptcl %s: item '%s': the %s image is %dx%d, the original %dx%d\n", cmd, item, method,
                image->width, image->height, *width, *height);
        pcl_image_destroy(image);
        return NULL;
    }
    if (!o->crop) return image;
    if (pcl_image_crop(image, *crop_x, *crop_y, o->crop, o->crop, &cropped) != PCL_OK)
        fprintf(stderr, "perceptcl %s: item '%s': %s\n", cmd, item, pcl_last_error());
    pcl_image_destroy(image);
    return cropped;
}

/* The instructions screen, as in the paper's studies. */
static char *instructions(const make_options *o, int method_count, size_t trials)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    if (!out) return NULL;
    if (!o->rank)
        fprintf(out, "<p>Each screen shows three images. The one in the middle is the <strong>original</strong>; "
                     "the images on the left and on the right are two reconstructions of it.</p>"
                     "<p>Choose the reconstruction that looks <strong>more like the original</strong>: click it, or "
                     "press <kbd>F</kbd> or <kbd>&larr;</kbd> for the left one and <kbd>J</kbd> or <kbd>&rarr;</kbd> "
                     "for the right one. When they look alike, pick the one that seems closer: there is no wrong "
                     "answer.</p>");
    else
        fprintf(out, "<p>Each screen shows the <strong>original</strong> on the left and %d reconstructions of it.</p>"
                     "<p>Put the reconstructions in order, the one that looks <strong>most like the original</strong> "
                     "first: drag them with the mouse (or a finger), or move to one with <kbd>Tab</kbd> and move it "
                     "with the arrow keys or its Move buttons. Then press <em>Submit ranking</em>.</p>",
                method_count);
    fprintf(out, "<p>There are %zu screens.", trials);
    if (o->break_every > 0 && (size_t)o->break_every < trials)
        fprintf(out, " After every %d there is a short break.", o->break_every);
    fprintf(out, "%s</p>", o->catch_count > 0 ? " A few screens check that the study works as it should." : "");
    if (fclose(out) != 0) return free(text), NULL;
    return text;
}

/* The trials: per item, every pair (2afc) or all methods (rank); then the catch trials. */
static json_t *trials_json(const app_study_items *s, const make_options *o)
{
    json_t *trials = json_array();
    for (int i = 0; trials && i < s->item_count; i++) {
        if (o->rank) {
            json_t *methods = json_array();
            for (int m = 0; methods && m < s->method_count; m++) json_array_append_new(methods, json_string(s->methods[m]));
            json_array_append_new(trials, json_pack("{s:i, s:o, s:b}", "item", i, "methods", methods, "catch", 0));
            continue;
        }
        for (int a = 0; a < s->method_count; a++)
            for (int b = a + 1; b < s->method_count; b++)
                json_array_append_new(trials, json_pack("{s:i, s:[s,s], s:b}", "item", i, "methods", s->methods[a],
                                                        s->methods[b], "catch", 0));
    }
    uint64_t rng = (uint64_t)o->seed * 0x9e3779b97f4a7c15ull + 0x5eed;
    for (int c = 0; trials && c < o->catch_count; c++) {
        int item = (int)pcl_rng_below(&rng, (uint64_t)s->item_count);
        int replaced = (int)pcl_rng_below(&rng, (uint64_t)s->method_count);
        json_t *methods = json_array();
        if (o->rank) {
            for (int m = 0; methods && m < s->method_count; m++)
                json_array_append_new(methods, json_string(m == replaced ? "original" : s->methods[m]));
        } else if (methods) {
            json_array_append_new(methods, json_string(s->methods[replaced]));
            json_array_append_new(methods, json_string("original"));
        }
        json_array_append_new(trials, json_pack("{s:i, s:o, s:b}", "item", item, "methods", methods, "catch", 1));
    }
    size_t expected = (size_t)s->item_count * (o->rank ? 1 : (size_t)(s->method_count * (s->method_count - 1) / 2)) +
                      (size_t)o->catch_count;
    if (trials && json_array_size(trials) != expected) json_decref(trials), trials = NULL; /* out of memory */
    return trials;
}

static const app_option make_options_table[] = {
    {"--items", "ITEMS.json"}, {"--out", "DIR"}, {"--mode", "2afc|rank"}, {"--catch", "N"},
    {"--break-every", "N"},    {"--seed", "S"},  {"--crop", "SIZE"},      {"--zoom", "Z"},
    {"--title", "TEXT"},       {"--post-url", "URL"}, {NULL, NULL}};

int app_study_run_make(int argc, char **argv)
{
    const char *cmd = "study make";
    static const char *const modes[] = {"2afc", "rank", NULL};
    make_options o = {.title = "Image comparison study", .break_every = 20, .seed = 1, .zoom = 1.0};
    app_args r;
    app_args_init(&r, cmd, app_study_usage, make_options_table, NULL, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option) app_args_error(&r, "unexpected argument '%s'", r.value);
        else if (app_args_is(&r, "--items")) o.items_path = r.value;
        else if (app_args_is(&r, "--out")) o.out = r.value;
        else if (app_args_is(&r, "--mode")) app_args_choice(&r, modes, &o.rank);
        else if (app_args_is(&r, "--catch")) app_args_int(&r, 0, 1000, &o.catch_count);
        else if (app_args_is(&r, "--break-every")) app_args_int(&r, 0, 100000, &o.break_every);
        else if (app_args_is(&r, "--seed")) app_args_long(&r, 0, 2147483647L, &o.seed);
        else if (app_args_is(&r, "--crop")) app_args_int(&r, 8, 4096, &o.crop);
        else if (app_args_is(&r, "--zoom")) app_args_double(&r, 0.25, 16.0001, &o.zoom);
        else if (app_args_is(&r, "--title")) o.title = r.value;
        else if (strncmp(r.value, "http://", 7) != 0 && strncmp(r.value, "https://", 8) != 0)
            app_args_error(&r, "--post-url must start with http:// or https://, not '%s'", r.value);
        else o.post_url = r.value;
    }
    if (r.exit_code >= 0) return r.exit_code;
    if (!o.items_path || !o.out)
        return fprintf(stderr, "perceptcl %s: needs --items ITEMS.json and --out DIR (perceptcl study --help)\n", cmd), 2;

    app_study_items s;
    if (app_study_items_read(cmd, o.items_path, &s) != 0) return 1;
    int created = 0, rc = prepare_folder(cmd, o.out, &created), prepared = rc == 0;
    pcl_file_set *files = NULL;
    if (rc == 0 && pcl_file_set_create(&files) != PCL_OK) rc = app_fail(cmd, "starting the folder");

    uint64_t hash = 0xcbf29ce484222325ull;
    json_t *items = json_array();
    if (rc == 0 && !items) rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
    for (int i = 0; rc == 0 && i < s.item_count; i++) {
        const app_study_item *item = &s.items[i];
        int width = 0, height = 0, crop_x = 0, crop_y = 0;
        json_t *entry = json_pack("{s:s}", "id", item->id), *images = json_object();
        for (int m = -1; rc == 0 && m < s.method_count; m++) {
            const char *method = m < 0 ? "original" : s.methods[m];
            pcl_image *image = load_image(cmd, &s, m < 0 ? item->original : item->images[m], &width, &height, &o,
                                          &crop_x, &crop_y, item->id, method);
            char name[64], target[4096];
            snprintf(name, sizeof name, "images/%03d-%c.png", i + 1, m < 0 ? 'o' : 'a' + m);
            snprintf(target, sizeof target, "%s/%s", o.out, name);
            const char *temp = NULL;
            if (!image) rc = 1;
            else if (pcl_file_set_add(files, target, &temp) != PCL_OK || pcl_image_write_png(temp, image) != PCL_OK)
                rc = app_fail(cmd, "writing the images");
            else {
                hash = fnv1a(hash, image->data, pcl_image_size(image) * sizeof(float));
                if (m < 0) json_object_set_new(entry, "original", json_string(name));
                else json_object_set_new(images, method, json_string(name));
                if (m < 0) {
                    json_object_set_new(entry, "width", json_integer(image->width));
                    json_object_set_new(entry, "height", json_integer(image->height));
                }
            }
            pcl_image_destroy(image);
        }
        if (rc == 0 && (!entry || !images || json_object_set(entry, "images", images) != 0 ||
                        json_array_append(items, entry) != 0))
            rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
        json_decref(entry), json_decref(images);
    }

    json_t *trials = rc == 0 ? trials_json(&s, &o) : NULL;
    json_t *methods = json_array();
    for (int m = 0; methods && m < s.method_count; m++) json_array_append_new(methods, json_string(s.methods[m]));
    size_t trial_count = trials ? json_array_size(trials) : 0;
    char *html = instructions(&o, s.method_count, trial_count);
    json_t *plan = rc == 0 && trials && methods && html
                       ? json_pack("{s:s, s:i, s:s, s:s, s:s, s:i, s:f, s:i, s:s, s:s, s:O, s:O, s:O}", "format",
                                   "perceptcl-study-plan", "version", 1, "study", "", "title", o.title, "mode",
                                   o.rank ? "rank" : "2afc", "seed", (int)o.seed, "zoom", o.zoom, "break_every",
                                   o.break_every, "post_url", o.post_url ? o.post_url : "", "instructions_html", html,
                                   "methods", methods, "items", items, "trials", trials)
                       : NULL;
    if (rc == 0 && !plan) rc = (fprintf(stderr, "perceptcl %s: out of memory for the plan\n", cmd), 1);
    char *plan_text = NULL, *plan_js = NULL;
    if (rc == 0) {
        /* The id: the pixels, then the plan without it. */
        char *without = json_dumps(plan, JSON_COMPACT | JSON_SORT_KEYS);
        if (without) hash = fnv1a(hash, without, strlen(without));
        char id[17];
        snprintf(id, sizeof id, "%016llx", (unsigned long long)hash);
        char *text = without && json_object_set_new(plan, "study", json_string(id)) == 0
                         ? json_dumps(plan, JSON_INDENT(1) | JSON_PRESERVE_ORDER)
                         : NULL;
        free(without);
        size_t n = text ? strlen(text) : 0;
        plan_text = text ? malloc(n + 2) : NULL;
        plan_js = text ? malloc(n + 64) : NULL;
        if (!plan_text || !plan_js) rc = (fprintf(stderr, "perceptcl %s: out of memory for the plan\n", cmd), 1);
        else {
            sprintf(plan_js, "window.PERCEPTCL_STUDY = %s;\n", text);
            sprintf(plan_text, "%s\n", text);
        }
        free(text);
    }
    char path[4096];
    pcl_status status = PCL_OK;
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/plan.json", o.out);
        status = pcl_file_set_add_bytes(files, path, plan_text, strlen(plan_text));
        snprintf(path, sizeof path, "%s/plan.js", o.out);
        if (status == PCL_OK) status = pcl_file_set_add_bytes(files, path, plan_js, strlen(plan_js));
        for (size_t k = 0; status == PCL_OK && k < app_study_page_file_count; k++) {
            snprintf(path, sizeof path, "%s/%s", o.out, app_study_page_files[k].name);
            status = pcl_file_set_add_bytes(files, path, app_study_page_files[k].bytes, app_study_page_files[k].length);
        }
        if (status == PCL_OK) status = pcl_file_set_commit(files);
        if (status != PCL_OK) rc = app_fail(cmd, "writing the study folder");
    }
    if (rc == 0)
        fprintf(stderr, "perceptcl %s: %s study %s: %d items, %zu trials (%d catch) -> %s/index.html\n", cmd,
                o.rank ? "rank" : "2afc", json_string_value(json_object_get(plan, "study")), s.item_count, trial_count,
                o.catch_count, o.out);
    pcl_file_set_destroy(files);
    if (rc != 0 && prepared) remove_folder(o.out, created);
    free(plan_text), free(plan_js), free(html);
    json_decref(plan), json_decref(trials), json_decref(methods), json_decref(items);
    app_study_items_free(&s);
    return rc;
}
