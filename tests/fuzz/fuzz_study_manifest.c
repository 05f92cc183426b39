/* libFuzzer target: the input is a study items manifest (JSON, written by the
 * experiment apps and `perceptcl study items`, read back by `perceptcl study
 * make`), read by app_study_items_read (apps/study_manifest.c) through a memfd
 * (fuzz_image.h's helper). The reader's error lines go to stderr, which is
 * sent to /dev/null around the call. Aborts if the reader breaks its contract
 * (apps/study.h): a refusal leaves *out empty; an accepted manifest has 2-3
 * named methods, at least one item, every item an id, an original and one
 * image per method, passes app_study_items_check again, and resolves its paths. */
#include "fuzz_image.h"
#include "study.h"

#include <fcntl.h>
#include <string.h>

static int quiet_stderr(void)
{
    static int null_fd = -1;
    if (null_fd < 0) null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int saved = dup(2);
    if (null_fd >= 0) dup2(null_fd, 2);
    return saved;
}

static void restore_stderr(int saved)
{
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_image_path(data, size);
    if (!path) return 0;
    app_study_items items;
    int saved = quiet_stderr();
    int rc = app_study_items_read("fuzz", path, &items);
    int check = rc == 0 ? app_study_items_check("fuzz", &items) : 0;
    restore_stderr(saved);
    if (rc != 0) {
        if (items.items || items.owner || items.base_dir || items.item_count || items.method_count) abort();
        return 0;
    }
    if (check != 0) abort();
    if (items.method_count < 2 || items.method_count > APP_STUDY_MAX_METHODS || items.item_count < 1) abort();
    for (int m = 0; m < items.method_count; m++)
        if (!items.methods[m] || !items.methods[m][0]) abort();
    for (int i = 0; i < items.item_count; i++) {
        const app_study_item *item = &items.items[i];
        if (!item->id || !item->original) abort();
        for (int m = 0; m < items.method_count; m++) {
            if (!item->images[m]) abort();
            char *full = app_study_items_path(&items, item->images[m]);
            if (!full || !strstr(full, item->images[m])) abort();
            free(full);
        }
    }
    app_study_items_free(&items);
    return 0;
}
