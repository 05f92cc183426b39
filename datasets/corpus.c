/* The named corpora: where each is looked for under a data root, how it is
 * opened, and what a complete copy holds (datasets/README.md lists the same). */
#include "dataset_internal.h"
#include "runtime/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CIFAR_BATCH_BYTES 30730000ull   /* 10,000 x 3,073 */
#define STL_RECORD_BYTES 27648ull       /* 3 x 96 x 96 */
#define TINY_RECORDS 79302017ull

static const pcl_corpus_info corpora[PCL_CORPUS_COUNT] = {
    [PCL_CORPUS_CIFAR10_TRAIN_BIN] = {"cifar10-train-bin", "cifar-10-batches-bin", "CIFAR10/cifar-10-batches-bin",
                                      "CIFAR-10 training batches data_batch_1..5.bin", 50000, 32, 32, 3, 10},
    [PCL_CORPUS_CIFAR10_TEST_BIN] = {"cifar10-test-bin", "cifar-10-batches-bin", "CIFAR10/cifar-10-batches-bin",
                                     "CIFAR-10 test batch test_batch.bin", 10000, 32, 32, 3, 10},
    [PCL_CORPUS_CIFAR10_TEST_JPEG] = {"cifar10-test-jpeg", "CIFAR10/test_jpeg", NULL,
                                      "CIFAR-10 test set as JPEG class folders (lossy copy)", 10000, 32, 32, 3, 10},
    [PCL_CORPUS_CIFAR10_TRAIN200_PNG] = {"cifar10-train200-png", "CIFAR10/train_first200_png", NULL,
                                         "first 200 CIFAR-10 training images, PNG + labels.csv", 200, 32, 32, 3, 10},
    [PCL_CORPUS_STL10_TRAIN_BIN] = {"stl10-train-bin", "stl10_binary", "STL10/stl10_binary",
                                    "STL-10 train_X.bin + train_y.bin", 5000, 96, 96, 3, 10},
    [PCL_CORPUS_STL10_TEST_BIN] = {"stl10-test-bin", "stl10_binary", "STL10/stl10_binary",
                                   "STL-10 test_X.bin + test_y.bin", 8000, 96, 96, 3, 10},
    [PCL_CORPUS_STL10_UNLABELED_BIN] = {"stl10-unlabeled-bin", "stl10_binary", "STL10/stl10_binary",
                                        "STL-10 unlabeled_X.bin", 100000, 96, 96, 3, 0},
    [PCL_CORPUS_STL10_TEST_PNG] = {"stl10-test-png", "STL10/test_examples10", NULL,
                                   "10 STL-10 test images, one per class (PNG)", 10, 96, 96, 3, 10},
    [PCL_CORPUS_STL10_UNLABELED_PNG] = {"stl10-unlabeled-png", "STL10/unlabeled_examples246", NULL,
                                        "246 STL-10 unlabeled images in group folders (PNG)", 246, 96, 96, 3, 0},
    [PCL_CORPUS_TINY_IMAGES] = {"tiny-images", "tiny_images.bin", "TinyImages/tiny_images.bin",
                                "80M Tiny Images tiny_images.bin (withdrawn by its authors)", TINY_RECORDS, 32, 32, 3, 0},
    [PCL_CORPUS_YALE_CROPPED] = {"yale-cropped", "CroppedYale", NULL, "Extended Yale B, cropped faces (PGM)", 2414, 168,
                                 192, 1, 38},
    [PCL_CORPUS_SET5] = {"set5", "Set5", NULL, "Set5 super-resolution test set", 5, 0, 0, 3, 0},
    [PCL_CORPUS_SET14] = {"set14", "Set14", NULL, "Set14 super-resolution test set", 14, 0, 0, 3, 0},
    [PCL_CORPUS_BSD100] = {"bsd100", "BSD100", NULL, "BSD100 (BSDS300 test split)", 100, 0, 0, 3, 0},
    [PCL_CORPUS_BSD200] = {"bsd200", "BSD200", NULL, "BSD200 (BSDS300 train split)", 200, 0, 0, 3, 0},
    [PCL_CORPUS_T91] = {"t91", "T91", NULL, "T91, Yang et al. 91 training images", 91, 0, 0, 3, 0},
};

const pcl_corpus_info *pcl_corpus_get_info(pcl_corpus corpus)
{
    if ((int)corpus < 0 || corpus >= PCL_CORPUS_COUNT) return NULL;
    return &corpora[corpus];
}

pcl_status pcl_corpus_find(const char *name, pcl_corpus *out)
{
    for (int i = 0; name && i < PCL_CORPUS_COUNT; i++)
        if (strcmp(name, corpora[i].name) == 0) {
            *out = (pcl_corpus)i;
            return PCL_OK;
        }
    return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "unknown corpus '%s' (perceptcl datasets list names them)",
                    name ? name : "(null)");
}

const char *pcl_data_root(const char *dir)
{
    if (dir && *dir) return dir;
    const char *env = getenv("PERCEPTCL_DATA");
    return env && *env ? env : NULL;
}

/* snprintf that reports truncation, so no over-long path is ever used cut short. */
static pcl_status format_path(char *dst, size_t capacity, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static pcl_status format_path(char *dst, size_t capacity, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int n = vsnprintf(dst, capacity, format, args);
    va_end(args);
    if (n < 0 || (size_t)n >= capacity)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "path too long (over %zu bytes): %.200s...", capacity - 1, dst);
    return PCL_OK;
}

/* A report message; truncation is acceptable there. */
static void message(char *dst, size_t capacity, const char *format, ...) __attribute__((format(printf, 3, 4)));
static void message(char *dst, size_t capacity, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(dst, capacity, format, args);
    va_end(args);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The corpus's base path under root: path, else alt_path if that exists. */
static pcl_status locate(const pcl_corpus_info *info, const char *root, char *base, size_t capacity)
{
    PCL_TRY(format_path(base, capacity, "%s/%s", root, info->path));
    if (!exists(base) && info->alt_path) {
        char alt[4096];
        PCL_TRY(format_path(alt, sizeof alt, "%s/%s", root, info->alt_path));
        if (exists(alt)) PCL_TRY(format_path(base, capacity, "%s", alt));
    }
    return PCL_OK;
}

static pcl_status open_cifar_train200(const char *dir, pcl_dataset **out)
{
    char csv[4096];
    PCL_TRY(format_path(csv, sizeof csv, "%s/labels.csv", dir));
    FILE *file = fopen(csv, "rb");
    if (!file) return pcl_fail(PCL_ERR_IO, "%s: cannot open: %s", csv, strerror(errno));
    char *text = malloc(1 << 20);
    size_t size = text ? fread(text, 1, 1 << 20, file) : 0;
    int too_big = text && size == (1 << 20);
    fclose(file);
    if (!text) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate a CSV buffer");
    if (too_big) {
        free(text);
        return pcl_fail(PCL_ERR_FORMAT, "%s: expected a labels file under 1 MiB", csv);
    }
    pcl_csv_row *rows;
    size_t n;
    pcl_status status = pcl_labels_csv_parse(text, size, csv, pcl_cifar10_classes, 10, &rows, &n);
    free(text);
    PCL_TRY(status);
    pcl_dataset *d;
    status = pcl_dataset_alloc(PCL_DATASET_FOLDER, &d);
    if (status == PCL_OK) {
        d->width = d->height = 32;
        d->channels = 3;
        status = pcl_dataset_set_classes(d, pcl_cifar10_classes, 10);
    }
    for (size_t i = 0; status == PCL_OK && i < n; i++) {
        char path[4096];
        status = format_path(path, sizeof path, "%s/%s", dir, rows[i].file);
        if (status != PCL_OK) break;
        if (!exists(path))
            status = pcl_fail(PCL_ERR_FORMAT, "%s: line %zu lists '%s', expected that file in %s", csv, i + 1,
                              rows[i].file, dir);
        else status = pcl_dataset_add_entry(d, path, rows[i].label, -1, 0, 0);
    }
    pcl_csv_rows_free(rows, n);
    if (status != PCL_OK) {
        pcl_dataset_destroy(d);
        return status;
    }
    *out = d;
    return PCL_OK;
}

/* STL-10 test examples: original_<class>_<index>.png gives the label. */
static pcl_status label_stl_examples(pcl_dataset *d)
{
    PCL_TRY(pcl_dataset_set_classes(d, pcl_stl10_classes, 10));
    for (size_t i = 0; i < d->count; i++) {
        const char *name = strrchr(d->entries[i].path, '/');
        name = name ? name + 1 : d->entries[i].path;
        int label = -1;
        for (int c = 0; c < 10; c++) {
            size_t len = strlen(pcl_stl10_classes[c]);
            if (strncmp(name, "original_", 9) == 0 && strncmp(name + 9, pcl_stl10_classes[c], len) == 0 &&
                name[9 + len] == '_')
                label = c;
        }
        if (label < 0)
            return pcl_fail(PCL_ERR_FORMAT, "%s: expected a name original_<STL-10 class>_<index>.png",
                            d->entries[i].path);
        d->entries[i].label = label;
    }
    return PCL_OK;
}

pcl_status pcl_dataset_open(pcl_corpus corpus, const char *root, pcl_dataset **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open: out is NULL");
    *out = NULL;
    const pcl_corpus_info *info = pcl_corpus_get_info(corpus);
    if (!info) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open: unknown corpus %d", (int)corpus);
    root = pcl_data_root(root);
    if (!root)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "no data folder: pass one (--data DIR) or set PERCEPTCL_DATA");
    char base[4096], a[4200], b[4200];
    PCL_TRY(locate(info, root, base, sizeof base));
    pcl_folder_options o = {0};
    o.width = info->width;
    o.height = info->height;
    o.channels = info->channels;
    switch (corpus) {
    case PCL_CORPUS_CIFAR10_TRAIN_BIN: {
        char paths[5][4200];
        const char *list[5];
        for (int i = 0; i < 5; i++) {
            PCL_TRY(format_path(paths[i], sizeof paths[i], "%s/data_batch_%d.bin", base, i + 1));
            list[i] = paths[i];
        }
        return pcl_dataset_open_cifar10_bin(list, 5, out);
    }
    case PCL_CORPUS_CIFAR10_TEST_BIN: {
        PCL_TRY(format_path(a, sizeof a, "%s/test_batch.bin", base));
        const char *list[1] = {a};
        return pcl_dataset_open_cifar10_bin(list, 1, out);
    }
    case PCL_CORPUS_CIFAR10_TEST_JPEG:
        o.class_subfolders = 1;
        o.class_names = pcl_cifar10_classes;
        o.class_count = 10;
        return pcl_dataset_open_folder(base, &o, out);
    case PCL_CORPUS_CIFAR10_TRAIN200_PNG: return open_cifar_train200(base, out);
    case PCL_CORPUS_STL10_TRAIN_BIN:
    case PCL_CORPUS_STL10_TEST_BIN: {
        const char *split = corpus == PCL_CORPUS_STL10_TRAIN_BIN ? "train" : "test";
        PCL_TRY(format_path(a, sizeof a, "%s/%s_X.bin", base, split));
        PCL_TRY(format_path(b, sizeof b, "%s/%s_y.bin", base, split));
        return pcl_dataset_open_stl10_bin(a, b, out);
    }
    case PCL_CORPUS_STL10_UNLABELED_BIN:
        PCL_TRY(format_path(a, sizeof a, "%s/unlabeled_X.bin", base));
        return pcl_dataset_open_stl10_bin(a, NULL, out);
    case PCL_CORPUS_STL10_TEST_PNG: {
        PCL_TRY(pcl_dataset_open_folder(base, &o, out));
        pcl_status status = label_stl_examples(*out);
        if (status != PCL_OK) {
            pcl_dataset_destroy(*out);
            *out = NULL;
        }
        return status;
    }
    case PCL_CORPUS_STL10_UNLABELED_PNG:
        o.class_subfolders = 1; /* the groups are that copy's own fine labels, not STL-10 classes */
        return pcl_dataset_open_folder(base, &o, out);
    case PCL_CORPUS_TINY_IMAGES: return pcl_dataset_open_tiny_images(base, out);
    case PCL_CORPUS_YALE_CROPPED: return pcl_dataset_open_yale(base, out);
    default: return pcl_dataset_open_folder(base, &o, out);
    }
}

/* Binary corpora: the expected files and sizes. */
static int expected_files(pcl_corpus corpus, const char *base, char names[6][4200], unsigned long long sizes[6],
                          pcl_status *status)
{
    switch (corpus) {
    case PCL_CORPUS_CIFAR10_TRAIN_BIN:
        for (int i = 0; i < 5; i++) {
            *status = format_path(names[i], 4200, "%s/data_batch_%d.bin", base, i + 1);
            sizes[i] = CIFAR_BATCH_BYTES;
        }
        return 5;
    case PCL_CORPUS_CIFAR10_TEST_BIN:
        *status = format_path(names[0], 4200, "%s/test_batch.bin", base);
        sizes[0] = CIFAR_BATCH_BYTES;
        return 1;
    case PCL_CORPUS_STL10_TRAIN_BIN:
    case PCL_CORPUS_STL10_TEST_BIN: {
        const char *split = corpus == PCL_CORPUS_STL10_TRAIN_BIN ? "train" : "test";
        unsigned long long n = corpus == PCL_CORPUS_STL10_TRAIN_BIN ? 5000 : 8000;
        *status = format_path(names[0], 4200, "%s/%s_X.bin", base, split);
        if (*status == PCL_OK) *status = format_path(names[1], 4200, "%s/%s_y.bin", base, split);
        sizes[0] = n * STL_RECORD_BYTES;
        sizes[1] = n;
        return 2;
    }
    case PCL_CORPUS_STL10_UNLABELED_BIN:
        *status = format_path(names[0], 4200, "%s/unlabeled_X.bin", base);
        sizes[0] = 100000ull * STL_RECORD_BYTES;
        return 1;
    case PCL_CORPUS_TINY_IMAGES:
        *status = format_path(names[0], 4200, "%s", base);
        sizes[0] = TINY_RECORDS * 3072ull;
        return 1;
    default: return 0;
    }
}

pcl_status pcl_corpus_check(pcl_corpus corpus, const char *root, int deep, pcl_corpus_report *report)
{
    const pcl_corpus_info *info = pcl_corpus_get_info(corpus);
    if (!info || !report) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_corpus_check: bad argument");
    memset(report, 0, sizeof *report);
    root = pcl_data_root(root);
    if (!root)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "no data folder: pass one (--data DIR) or set PERCEPTCL_DATA");
    PCL_TRY(locate(info, root, report->path, sizeof report->path));
    char names[6][4200];
    unsigned long long sizes[6];
    pcl_status status = PCL_OK;
    int files = expected_files(corpus, report->path, names, sizes, &status);
    PCL_TRY(status);
    if (files > 0) {
        /* present when any of its files is there; complete when all have their exact sizes */
        int found = 0;
        char *m = report->message;
        size_t room = sizeof report->message;
        for (int i = 0; i < files; i++) {
            struct stat st;
            const char *short_name = strrchr(names[i], '/') ? strrchr(names[i], '/') + 1 : names[i];
            if (stat(names[i], &st) != 0) {
                if (m[0] == '\0') message(m, room, "missing %s", short_name);
                continue;
            }
            found++;
            if ((unsigned long long)st.st_size != sizes[i] && m[0] == '\0')
                message(m, room, "%s: expected %llu bytes, got %llu", short_name, sizes[i],
                         (unsigned long long)st.st_size);
        }
        report->present = found > 0;
        if (!report->present) {
            report->message[0] = '\0';
            return PCL_OK;
        }
        if (report->message[0] == '\0') report->complete = 1;
    } else {
        report->present = exists(report->path);
        if (!report->present) return PCL_OK;
    }
    /* open it: folder names, labels files and record sizes are checked here */
    pcl_dataset *d = NULL;
    if (files == 0 || report->complete) {
        if (pcl_dataset_open(corpus, root, &d) != PCL_OK) {
            report->complete = 0;
            message(report->message, sizeof report->message, "%s", pcl_last_error());
            return PCL_OK;
        }
        report->records = pcl_dataset_count(d);
        if (files == 0) {
            if (report->records == info->records) report->complete = 1;
            else
                message(report->message, sizeof report->message, "expected %zu images, found %zu", info->records,
                         report->records);
        }
        if (report->complete && deep) {
            size_t checked = 0;
            if (pcl_dataset_verify(d, &checked) != PCL_OK) {
                report->complete = 0;
                message(report->message, sizeof report->message, "%s", pcl_last_error());
            }
        }
        pcl_dataset_destroy(d);
    }
    return PCL_OK;
}
