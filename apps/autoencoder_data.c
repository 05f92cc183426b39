/* The autoencoder experiments' data (autoencoder.h, "data sets"): images
 * through a pipeline seen through a view, the paper's STL-10 protocol and
 * the substitute; shared by perceptcl convae and perceptcl elvae (moved
 * from convae.c). */
#include "autoencoder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const app_ae_protocol_names[] = {"auto", "paper", "substitute", NULL};

void app_ae_set_free(app_ae_set *s)
{
    pcl_pipeline_destroy(s->pipeline);
    for (int d = 0; d < s->count; d++) pcl_dataset_destroy(s->datasets[d]);
    free(s->map);
    memset(s, 0, sizeof *s);
}

/* The pipeline over s's datasets and the view of count records (0: one per
 * record) of map (NULL: all). 0, or 1 after an error line. */
int app_ae_set_finish(const char *app, app_ae_set *s, app_ae_draw how, size_t count, size_t *map, size_t map_count)
{
    pcl_transform steps[4] = {{.kind = PCL_TRANSFORM_KIND_LUMA}};
    int n = 1;
    if (how != APP_AE_DRAW_AS_IS)
        steps[n++] = (pcl_transform){.kind = PCL_TRANSFORM_KIND_RANDOM_RESIZED_CROP, .min_side = APP_AE_MIN_WINDOW,
                                     .max_side = APP_AE_MAX_WINDOW, .width = APP_AE_SIDE, .height = APP_AE_SIDE};
    if (how == APP_AE_DRAW_WINDOWS_FLIPPED)
        steps[n++] = (pcl_transform){.kind = PCL_TRANSFORM_KIND_FLIP, .horizontal = 1};
    steps[n++] = (pcl_transform){.kind = PCL_TRANSFORM_KIND_SCALE, .range = PCL_RANGE_SIGNED};
    s->map = map;
    if (pcl_pipeline_create(s->datasets, s->count, steps, n, NULL, &s->pipeline) != PCL_OK ||
        pcl_pipeline_source(s->pipeline, &s->view.base) != PCL_OK)
        return app_fail(app, "images");
    if (s->view.base.input[0] != 1 || s->view.base.input[1] != APP_AE_SIDE || s->view.base.input[2] != APP_AE_SIDE)
        return fprintf(stderr, "perceptcl %s: images of %dx%d, expected %dx%d\n", app, s->view.base.input[2],
                       s->view.base.input[1], APP_AE_SIDE, APP_AE_SIDE), 1;
    s->view.map = map;
    s->view.map_count = map ? map_count : s->view.base.count;
    s->view.count = count ? count : s->view.map_count;
    s->source = app_ae_view_source(&s->view);
    return 0;
}

int app_ae_open_corpus(const char *app, app_ae_set *s, pcl_corpus corpus, const char *root)
{
    if (pcl_dataset_open(corpus, root, &s->datasets[s->count]) != PCL_OK) return app_fail(app, "data");
    s->count++;
    return 0;
}

int app_ae_open_folder(const char *app, app_ae_set *s, const char *dir, int side)
{
    pcl_folder_options options = {.width = side, .height = side};
    if (pcl_dataset_open_folder(dir, &options, &s->datasets[s->count]) != PCL_OK) return app_fail(app, dir);
    s->count++;
    return 0;
}

/* The paper's split of STL-10's 13,000 labelled images (train_X then
 * test_X): part 0 validation (10,400), part 1 test (2,600). */
int app_ae_paper_split(const char *app, int part, size_t **map, size_t *count)
{
    const size_t n = 13000, sizes[2] = {10400, 2600};
    size_t *indices = malloc(n * sizeof *indices);
    if (!indices || pcl_split(n, sizes, 2, APP_AE_SPLIT_SEED, indices) != PCL_OK)
        return free(indices), app_fail(app, "split");
    if (part == 1) memmove(indices, indices + sizes[0], sizes[1] * sizeof *indices);
    *map = indices;
    *count = sizes[part];
    return 0;
}

/* The paper's protocol is there: the three STL-10 binary corpora complete. */
int app_ae_paper_data(const char *root)
{
    const pcl_corpus corpora[3] = {PCL_CORPUS_STL10_UNLABELED_BIN, PCL_CORPUS_STL10_TRAIN_BIN,
                                   PCL_CORPUS_STL10_TEST_BIN};
    for (int c = 0; c < 3; c++) {
        pcl_corpus_report report;
        if (!root || pcl_corpus_check(corpora[c], root, 0, &report) != PCL_OK || !report.complete) return 0;
    }
    return 1;
}

/* Resolves --protocol against the data root: APP_AE_PROTOCOL_PAPER or
 * APP_AE_PROTOCOL_SUBSTITUTE, or 0 after a usage error. */
int app_ae_resolve_protocol(app_args *r, const char *root, int protocol)
{
    if (protocol == APP_AE_PROTOCOL_PAPER && !app_ae_paper_data(root))
        return app_args_error(r, "--protocol paper needs STL-10's binaries (stl10_binary/) under %s",
                              root ? root : "--data DIR");
    if (protocol == APP_AE_PROTOCOL_AUTO)
        protocol = app_ae_paper_data(root) ? APP_AE_PROTOCOL_PAPER : APP_AE_PROTOCOL_SUBSTITUTE;
    return protocol;
}

/* The test set: --images, or the protocol's. name: what the report calls it. */
int app_ae_open_test(const char *app, const char *root, int protocol, const char *images, app_ae_set *s, char *name,
                     size_t size)
{
    if (images) {
        char base[256];
        snprintf(name, size, "%s", app_base_name(images, base, sizeof base));
        return app_ae_open_folder(app, s, images, APP_AE_SIDE) ||
               app_ae_set_finish(app, s, APP_AE_DRAW_AS_IS, 0, NULL, 0);
    }
    if (protocol == APP_AE_PROTOCOL_PAPER) {
        size_t *map = NULL, count = 0;
        snprintf(name, size, "STL-10 test split");
        return app_ae_open_corpus(app, s, PCL_CORPUS_STL10_TRAIN_BIN, root) ||
               app_ae_open_corpus(app, s, PCL_CORPUS_STL10_TEST_BIN, root) ||
               app_ae_paper_split(app, 1, &map, &count) || app_ae_set_finish(app, s, APP_AE_DRAW_AS_IS, 0, map, count);
    }
    snprintf(name, size, "STL-10 (256 real)");
    return app_ae_open_corpus(app, s, PCL_CORPUS_STL10_TEST_PNG, root) ||
           app_ae_open_corpus(app, s, PCL_CORPUS_STL10_UNLABELED_PNG, root) ||
           app_ae_set_finish(app, s, APP_AE_DRAW_AS_IS, 0, NULL, 0);
}
