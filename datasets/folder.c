/* Image-folder corpora: flat folders (Set5, Set14, BSD100/200, T91),
 * ImageNet-style class trees, Extended Yale B cropped, and the labels CSV of
 * Kaggle's CIFAR-10 PNG copies. Only names are read at open; images are
 * decoded when a record is read. */
#include "dataset_internal.h"
#include "runtime/internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void pcl_free_names(char **names, size_t count)
{
    for (size_t i = 0; names && i < count; i++) free(names[i]);
    free(names);
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *path = malloc(a + b + 2);
    if (!path) return NULL;
    memcpy(path, dir, a);
    path[a] = '/';
    memcpy(path + a + 1, name, b + 1);
    return path;
}

pcl_status pcl_list_dir(const char *dir, int want_dirs, char ***names, size_t *count)
{
    *names = NULL;
    *count = 0;
    DIR *handle = opendir(dir);
    if (!handle) return pcl_fail(PCL_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    char **list = NULL;
    size_t n = 0, capacity = 0;
    pcl_status status = PCL_OK;
    struct dirent *entry;
    while (status == PCL_OK && (entry = readdir(handle)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        char *path = join(dir, entry->d_name);
        struct stat st;
        if (!path) {
            status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate a path");
            break;
        }
        int is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        free(path);
        if (is_dir != (want_dirs != 0)) continue;
        if (n == capacity) {
            size_t grown = capacity ? capacity * 2 : 64;
            char **bigger = realloc(list, grown * sizeof *bigger);
            if (!bigger) {
                status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate a name list");
                break;
            }
            list = bigger;
            capacity = grown;
        }
        if (!(list[n] = strdup(entry->d_name))) status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate a name");
        else n++;
    }
    closedir(handle);
    if (status != PCL_OK) {
        pcl_free_names(list, n);
        return status;
    }
    if (n) qsort(list, n, sizeof *list, compare_names);
    *names = list;
    *count = n;
    return PCL_OK;
}

static int ends_with(const char *name, const char *suffix)
{
    size_t a = strlen(name), b = strlen(suffix);
    return a >= b && strcasecmp(name + a - b, suffix) == 0;
}

int pcl_is_image_name(const char *name)
{
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".pnm"};
    if (name[0] == '.') return 0; /* hidden files, editor droppings */
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (ends_with(name, ext[i])) return 1;
    return 0;
}

/* Adds the image files of dir with label. */
static pcl_status add_images(pcl_dataset *d, const char *dir, int label)
{
    char **names;
    size_t n;
    PCL_TRY(pcl_list_dir(dir, 0, &names, &n));
    pcl_status status = PCL_OK;
    for (size_t i = 0; status == PCL_OK && i < n; i++) {
        if (!pcl_is_image_name(names[i])) continue;
        char *path = join(dir, names[i]);
        status = path ? pcl_dataset_add_entry(d, path, label, -1, 0, 0)
                      : pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate a path");
        free(path);
    }
    pcl_free_names(names, n);
    return status;
}

pcl_status pcl_dataset_open_folder(const char *dir, const pcl_folder_options *options, pcl_dataset **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open_folder: out is NULL");
    *out = NULL;
    if (!dir) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open_folder: dir is NULL");
    pcl_folder_options defaults = {0};
    const pcl_folder_options *o = options ? options : &defaults;
    if (o->width < 0 || o->height < 0 || (o->channels != 0 && o->channels != 1 && o->channels != 3) ||
        (o->class_names && o->class_count < 1))
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open_folder: bad options for %s", dir);
    pcl_dataset *d;
    PCL_TRY(pcl_dataset_alloc(PCL_DATASET_FOLDER, &d));
    d->width = o->width;
    d->height = o->height;
    d->channels = o->channels;
    pcl_status status = PCL_OK;
    if (!o->class_subfolders) {
        status = add_images(d, dir, -1);
    } else {
        char **classes;
        size_t n;
        status = pcl_list_dir(dir, 1, &classes, &n);
        if (status == PCL_OK && o->class_names) {
            /* the folder must hold exactly the expected classes */
            for (int c = 0; status == PCL_OK && c < o->class_count; c++)
                if (!bsearch(&o->class_names[c], classes, n, sizeof *classes, compare_names))
                    status = pcl_fail(PCL_ERR_FORMAT, "%s: expected a class folder '%s', not found", dir,
                                      o->class_names[c]);
            for (size_t i = 0; status == PCL_OK && i < n; i++) {
                int known = 0;
                for (int c = 0; c < o->class_count; c++) known |= strcmp(classes[i], o->class_names[c]) == 0;
                if (!known)
                    status = pcl_fail(PCL_ERR_FORMAT, "%s/%s: expected only the %d class folders (%s, ...), got '%s'",
                                      dir, classes[i], o->class_count, o->class_names[0], classes[i]);
            }
            if (status == PCL_OK) status = pcl_dataset_set_classes(d, o->class_names, o->class_count);
            for (int c = 0; status == PCL_OK && c < o->class_count; c++) {
                char *sub = join(dir, o->class_names[c]);
                status = sub ? add_images(d, sub, c) : pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate a path");
                free(sub);
            }
        } else if (status == PCL_OK) {
            if (n > (size_t)1 << 20) status = pcl_fail(PCL_ERR_FORMAT, "%s: %zu class folders is too many", dir, n);
            if (status == PCL_OK) status = pcl_dataset_set_classes(d, (const char *const *)classes, (int)n);
            for (size_t c = 0; status == PCL_OK && c < n; c++) {
                char *sub = join(dir, classes[c]);
                status = sub ? add_images(d, sub, (int)c) : pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate a path");
                free(sub);
            }
        }
        if (status == PCL_OK || classes) pcl_free_names(classes, n);
    }
    if (status == PCL_OK && d->count == 0)
        status = pcl_fail(PCL_ERR_FORMAT, "%s: expected image files (.png .jpg .bmp .pgm .ppm), found none", dir);
    if (status != PCL_OK) {
        pcl_dataset_destroy(d);
        return status;
    }
    *out = d;
    return PCL_OK;
}

/* Reads exactly digits decimal digits at *s. */
static int take_digits(const char **s, int digits, int *value)
{
    int v = 0;
    for (int i = 0; i < digits; i++) {
        if (!isdigit((unsigned char)(*s)[i])) return 0;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += digits;
    *value = v;
    return 1;
}

static int take_signed(const char **s, int digits, int *value)
{
    char sign = **s;
    if (sign != '+' && sign != '-') return 0;
    (*s)++;
    if (!take_digits(s, digits, value)) return 0;
    if (sign == '-') *value = -*value;
    return 1;
}

pcl_status pcl_yale_parse_name(const char *name, int *subject, int *azimuth, int *elevation)
{
    if (!name || !subject || !azimuth || !elevation)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_yale_parse_name: NULL argument");
    const char *s = name;
    int sub, az, el;
    int ok = strncmp(s, "yaleB", 5) == 0;
    if (ok) s += 5;
    ok = ok && take_digits(&s, 2, &sub) && strncmp(s, "_P00A", 5) == 0;
    if (ok) s += 5;
    ok = ok && take_signed(&s, 3, &az) && *s == 'E';
    if (ok) s++;
    ok = ok && take_signed(&s, 2, &el) && strcmp(s, ".pgm") == 0;
    /* The light positions of the Yale B rig: azimuth within +-130, elevation -40..90 */
    ok = ok && sub >= 1 && az >= -180 && az <= 180 && el >= -90 && el <= 90;
    if (!ok)
        return pcl_fail(PCL_ERR_FORMAT,
                        "%s: expected a name yaleBnn_P00A<+|->aaaE<+|->ee.pgm (subject 01..99, azimuth -180..180, "
                        "elevation -90..90)",
                        name);
    *subject = sub;
    *azimuth = az;
    *elevation = el;
    return PCL_OK;
}

pcl_status pcl_dataset_open_yale(const char *dir, pcl_dataset **out)
{
    if (!out) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open_yale: out is NULL");
    *out = NULL;
    if (!dir) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_dataset_open_yale: dir is NULL");
    char **subjects;
    size_t n;
    PCL_TRY(pcl_list_dir(dir, 1, &subjects, &n));
    pcl_dataset *d;
    pcl_status status = pcl_dataset_alloc(PCL_DATASET_FOLDER, &d);
    if (status != PCL_OK) {
        pcl_free_names(subjects, n);
        return status;
    }
    d->width = 168;
    d->height = 192;
    d->channels = 1;
    for (size_t i = 0; status == PCL_OK && i < n; i++) {
        const char *s = subjects[i];
        int folder_subject;
        if (strncmp(s, "yaleB", 5) != 0 || (s += 5, !take_digits(&s, 2, &folder_subject)) || *s != '\0') {
            status = pcl_fail(PCL_ERR_FORMAT, "%s/%s: expected subject folders named yaleBnn only", dir, subjects[i]);
            break;
        }
        char *sub = join(dir, subjects[i]);
        char **files = NULL;
        size_t m = 0;
        if (!sub) status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate a path");
        if (status == PCL_OK) status = pcl_list_dir(sub, 0, &files, &m);
        size_t before = d->count;
        for (size_t j = 0; status == PCL_OK && j < m; j++) {
            const char *f = files[j];
            /* .bad (marked unusable), .info, logs: not images; ambient: no light source */
            if (!ends_with(f, ".pgm") || ends_with(f, "_Ambient.pgm")) continue;
            int subject, az, el;
            char *path = join(sub, f);
            if (!path) {
                status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate a path");
                break;
            }
            status = pcl_yale_parse_name(f, &subject, &az, &el);
            if (status != PCL_OK) status = pcl_fail(PCL_ERR_FORMAT, "%s: %s", path, pcl_last_error() + strlen(f) + 2);
            else if (subject != folder_subject)
                status = pcl_fail(PCL_ERR_FORMAT, "%s: expected subject %02d (its folder), the name says %02d", path,
                                  folder_subject, subject);
            else status = pcl_dataset_add_entry(d, path, d->class_count, subject, az, el);
            free(path);
        }
        if (status == PCL_OK && d->count == before)
            status = pcl_fail(PCL_ERR_FORMAT, "%s: expected yaleBnn_P00A...E....pgm images, found none", sub);
        if (status == PCL_OK) {
            /* one class per subject folder, in sorted order */
            char **grown = realloc(d->class_names, (size_t)(d->class_count + 1) * sizeof *grown);
            if (!grown) status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate class names");
            else {
                d->class_names = grown;
                if (!(grown[d->class_count] = strdup(subjects[i])))
                    status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate a class name");
                else d->class_count++;
            }
        }
        pcl_free_names(files, m);
        free(sub);
    }
    pcl_free_names(subjects, n);
    if (status == PCL_OK && d->count == 0)
        status = pcl_fail(PCL_ERR_FORMAT, "%s: expected yaleBnn subject folders, found none", dir);
    if (status != PCL_OK) {
        pcl_dataset_destroy(d);
        return status;
    }
    *out = d;
    return PCL_OK;
}

void pcl_csv_rows_free(pcl_csv_row *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++) free(rows[i].file);
    free(rows);
}

static int compare_rows(const void *a, const void *b)
{
    return strcmp(((const pcl_csv_row *)a)->file, ((const pcl_csv_row *)b)->file);
}

pcl_status pcl_labels_csv_parse(const char *text, size_t size, const char *where, const char *const *classes,
                                int class_count, pcl_csv_row **rows, size_t *count)
{
    *rows = NULL;
    *count = 0;
    pcl_csv_row *list = NULL;
    size_t n = 0, capacity = 0, line = 0, pos = 0;
    pcl_status status = PCL_OK;
    while (status == PCL_OK && pos < size) {
        line++;
        size_t start = pos, end = pos;
        while (end < size && text[end] != '\n') end++;
        pos = end < size ? end + 1 : end;
        size_t stop = end;
        if (stop > start && text[stop - 1] == '\r') stop--;
        if (stop == start) continue; /* blank line */
        const char *comma = memchr(text + start, ',', stop - start);
        size_t file_len = comma ? (size_t)(comma - (text + start)) : 0;
        size_t class_len = comma ? stop - (size_t)(comma - text) - 1 : 0;
        if (!comma || file_len == 0 || class_len == 0 || memchr(comma + 1, ',', class_len) ||
            memchr(text + start, '\0', stop - start) || memchr(text + start, '/', file_len) ||
            (file_len <= 2 && text[start] == '.')) {
            status = pcl_fail(PCL_ERR_FORMAT, "%s: line %zu (offset %zu): expected '<file name>,<class name>'", where,
                              line, start);
            break;
        }
        int label = -1;
        for (int c = 0; c < class_count; c++)
            if (strlen(classes[c]) == class_len && memcmp(classes[c], comma + 1, class_len) == 0) label = c;
        if (label < 0) {
            status = pcl_fail(PCL_ERR_FORMAT, "%s: line %zu (offset %zu): expected one of the %d class names (%s, ...), "
                                              "got '%.*s'",
                              where, line, start, class_count, class_count ? classes[0] : "", (int)(class_len > 64 ? 64 : class_len),
                              comma + 1);
            break;
        }
        if (n == capacity) {
            size_t grown = capacity ? capacity * 2 : 256;
            pcl_csv_row *bigger = realloc(list, grown * sizeof *bigger);
            if (!bigger) {
                status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate CSV rows");
                break;
            }
            list = bigger;
            capacity = grown;
        }
        list[n].file = malloc(file_len + 1);
        if (!list[n].file) {
            status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate a file name");
            break;
        }
        memcpy(list[n].file, text + start, file_len);
        list[n].file[file_len] = '\0';
        list[n].label = label;
        n++;
    }
    if (status == PCL_OK && n == 0) status = pcl_fail(PCL_ERR_FORMAT, "%s: expected labelled rows, found none", where);
    if (status == PCL_OK) { /* a file listed twice is a corrupt list */
        pcl_csv_row *sorted = malloc(n * sizeof *sorted);
        if (!sorted) status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "cannot allocate CSV rows");
        else {
            memcpy(sorted, list, n * sizeof *sorted);
            qsort(sorted, n, sizeof *sorted, compare_rows);
            for (size_t i = 1; status == PCL_OK && i < n; i++)
                if (strcmp(sorted[i - 1].file, sorted[i].file) == 0)
                    status = pcl_fail(PCL_ERR_FORMAT, "%s: expected each file once, '%s' is listed twice", where,
                                      sorted[i].file);
            free(sorted);
        }
    }
    if (status != PCL_OK) {
        pcl_csv_rows_free(list, n);
        return status;
    }
    *rows = list;
    *count = n;
    return PCL_OK;
}
