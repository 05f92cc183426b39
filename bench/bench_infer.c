/* SRCNN test-time inference: the time inside pcl_srcnn_apply (the network
 * alone: upload, three replicate-padded convolutions, download) over the
 * images given, each prepared as `srcnn eval` does (Y, modcrop, bicubic
 * down and up by the scale). One untimed warm-up on the first image builds
 * the kernels. --dump DIR writes each network input and output as raw
 * float32 (DIR/NNN.in, DIR/NNN.out, 0..255 scale) and DIR/index.json (their
 * sizes) for bench/compare_infer.py's PyTorch side and output comparison.
 *
 * Usage: bench_infer --model M.safetensors [--scale 4] [--dump DIR] IMAGE...
 * Prints one JSON line: seconds (network total, wall clock), cpu_seconds
 * (the same span in CPU time, all threads), images, pixels, device. */
#include "bench_common.h"
#include "perceptcl/device.h"
#include "perceptcl/image.h"
#include "perceptcl/model.h"
#include "perceptcl/sr.h"
#include "perceptcl/srcnn.h"

#include <string.h>

/* CPU seconds of the process, all threads (PoCL's workers included). */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void write_raw(const char *dir, int index, const char *ext, const pcl_image *image)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%03d.%s", dir, index, ext);
    FILE *f = fopen(path, "wb");
    size_t n = (size_t)image->width * image->height;
    if (!f || fwrite(image->data, sizeof(float), n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "bench_infer: cannot write %s\n", path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *dump = NULL;
    int scale = 4, first = 1;
    for (; first < argc && !strncmp(argv[first], "--", 2); first += 2) {
        if (first + 1 >= argc) break;
        if (!strcmp(argv[first], "--model")) model_path = argv[first + 1];
        else if (!strcmp(argv[first], "--scale")) scale = atoi(argv[first + 1]);
        else if (!strcmp(argv[first], "--dump")) dump = argv[first + 1];
        else break;
    }
    if (!model_path || first >= argc || scale < 2) {
        fprintf(stderr, "usage: bench_infer --model M.safetensors [--scale 4] [--dump DIR] IMAGE...\n");
        return 2;
    }
    pcl_context *context = NULL;
    pcl_model *model = NULL;
    CHECK(pcl_context_create(NULL, &context));
    CHECK(pcl_srcnn_create(context, PCL_SRCNN_MODE_REPLICATE, &model));
    CHECK(pcl_model_load(model, model_path, NULL));
    int count = argc - first;
    pcl_image **inputs = calloc((size_t)count, sizeof *inputs);
    size_t pixels = 0;
    for (int i = 0; i < count; i++) {
        pcl_image *image = NULL, *truth = NULL;
        CHECK(pcl_image_read(argv[first + i], &image));
        CHECK(pcl_sr_prepare(image, scale, &truth, &inputs[i]));
        pixels += (size_t)inputs[i]->width * inputs[i]->height;
        pcl_image_destroy(image);
        pcl_image_destroy(truth);
    }
    pcl_image *out = NULL;
    CHECK(pcl_srcnn_apply(model, inputs[0], &out)); /* warm-up: kernel builds */
    pcl_image_destroy(out);
    double seconds = 0, cpu_seconds = 0;
    FILE *index = NULL;
    if (dump) {
        char path[4096];
        snprintf(path, sizeof path, "%s/index.json", dump);
        if (!(index = fopen(path, "w"))) {
            fprintf(stderr, "bench_infer: cannot write %s\n", path);
            return 1;
        }
        fprintf(index, "[");
    }
    for (int i = 0; i < count; i++) {
        double t0 = now(), c0 = cpu_now();
        CHECK(pcl_srcnn_apply(model, inputs[i], &out));
        seconds += now() - t0;
        cpu_seconds += cpu_now() - c0;
        if (dump) {
            write_raw(dump, i, "in", inputs[i]);
            write_raw(dump, i, "out", out);
            fprintf(index, "%s{\"name\": \"%03d\", \"width\": %d, \"height\": %d}", i ? ", " : "", i,
                    inputs[i]->width, inputs[i]->height);
        }
        pcl_image_destroy(out);
    }
    if (index) {
        fprintf(index, "]\n");
        fclose(index);
    }
    printf("{\"seconds\": %.4f, \"cpu_seconds\": %.4f, \"images\": %d, \"pixels\": %zu, \"device\": \"%s\"}\n",
           seconds, cpu_seconds, count, pixels, pcl_context_device(context)->name);
    for (int i = 0; i < count; i++) pcl_image_destroy(inputs[i]);
    free(inputs);
    pcl_model_destroy(model);
    pcl_context_destroy(context);
    return 0;
}
