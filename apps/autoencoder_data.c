/* The 96x96 autoencoder experiments' data (autoencoder.h, "data sets"): the
 * paper's STL-10 protocol and the substitute, on the module's image sets;
 * shared by perceptcl convae and perceptcl elvae (moved from convae.c). */
#include "autoencoder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const app_ae_protocol_names[] = {"auto", "paper", "substitute", NULL};
const app_ae_draw app_ae_draw96_as_is = {APP_AE_SIDE, 0, 0, 0},
                  app_ae_draw96_windows = {APP_AE_SIDE, APP_AE_MIN_WINDOW, APP_AE_MAX_WINDOW, 0},
                  app_ae_draw96_windows_flipped = {APP_AE_SIDE, APP_AE_MIN_WINDOW, APP_AE_MAX_WINDOW, 1};

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
        return app_ae_set_open_folder(app, s, images, APP_AE_SIDE) ||
               app_ae_set_finish(app, s, &app_ae_draw96_as_is, 0, NULL, 0);
    }
    if (protocol == APP_AE_PROTOCOL_PAPER) {
        size_t *map = NULL, count = 0;
        snprintf(name, size, "STL-10 test split");
        return app_ae_set_open_corpus(app, s, PCL_CORPUS_STL10_TRAIN_BIN, root) ||
               app_ae_set_open_corpus(app, s, PCL_CORPUS_STL10_TEST_BIN, root) ||
               app_ae_paper_split(app, 1, &map, &count) || app_ae_set_finish(app, s, &app_ae_draw96_as_is, 0, map, count);
    }
    snprintf(name, size, "STL-10 (256 real)");
    return app_ae_set_open_corpus(app, s, PCL_CORPUS_STL10_TEST_PNG, root) ||
           app_ae_set_open_corpus(app, s, PCL_CORPUS_STL10_UNLABELED_PNG, root) ||
           app_ae_set_finish(app, s, &app_ae_draw96_as_is, 0, NULL, 0);
}
