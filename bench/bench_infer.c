/* Test-time inference, the network alone, for bench/compare_infer.py.
 *
 * SRCNN (default): the time inside pcl_srcnn_apply (upload, three
 * replicate-padded convolutions, download) over the images given, each
 * prepared as `srcnn eval` does (Y, modcrop, bicubic down and up by the
 * scale), or with --upscale as `srcnn upscale` does (8-bit YCbCr, bicubic up
 * by the scale, its Y plane). One untimed warm-up on the first image builds
 * the kernels. --dump DIR writes each network input and output as raw
 * float32 (DIR/NNN.in, DIR/NNN.out, 0..255 scale) and DIR/index.json (their
 * sizes) for PyTorch's side and the output comparison.
 *
 * Conv AE (--convae N): pcl_arch_conv_ae_96 (app. A.2) in inference mode on
 * a batch of N 96x96 images, PyTorch's default initialisation (seed 1): one
 * untimed warm-up, then --reps timed batches (upload, forward, download).
 * The input is uniform in [-1, 1] from a fixed seed (the time does not depend
 * on the values). --dump DIR writes DIR/convae.safetensors (the weights),
 * DIR/convae.in and DIR/convae.out (raw float32, N x 1 x 96 x 96: the
 * batch in the architecture's input shape, and its output).
 * FC AE (--fcae N): the same for pcl_arch_fc_binary_ae (app. A.1, 32x32, the
 * binary code thresholded as at test time), files DIR/fcae.*.
 * EL-VAE (--elvae N): pcl_arch_elvae_96 (app. B, 96x96) as `elvae
 * reconstruct` runs it: in inference mode the VAE sampler passes the
 * posterior mode z = mu on (no noise; it still computes the per-image KL),
 * files DIR/elvae.*.
 * Yale B AE (--yaleb N): pcl_arch_yaleb_ae_48 (app. C, 48x48, batch
 * normalisation) as `yaleb reconstruct` runs it: inference mode, each batch
 * normalisation with its running statistics. So that those are not the
 * initial 0 / 1 (nearly the identity, which would not show whether the
 * other side reads them), a network with batch normalisation first runs one
 * untimed training-mode forward of the batch (running statistics updated
 * with momentum 0.1); DIR/yaleb.safetensors holds them ("1.running_mean",
 * "1.running_var", ...). Files DIR/yaleb.*.
 *
 * Usage: bench_infer --model M.safetensors [--scale 4] [--upscale] [--dump DIR] IMAGE...
 *        bench_infer --convae N | --fcae N | --elvae N | --yaleb N [--reps 3] [--dump DIR]
 * Prints one JSON line: seconds and cpu_seconds (SRCNN: the network total
 * over the images; autoencoders: the median batch; CPU time of all threads),
 * images, pixels (SRCNN), device. */
#include "bench_common.h"
#include "perceptcl/color.h"
#include "perceptcl/device.h"
#include "perceptcl/image.h"
#include "perceptcl/model.h"
#include "perceptcl/resize.h"
#include "perceptcl/sr.h"
#include "perceptcl/srcnn.h"
#include "perceptcl/tensor.h"

#include <string.h>

/* CPU seconds of the process, all threads (PoCL's workers included). */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void write_floats(const char *dir, const char *name, const float *data, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, sizeof(float), n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "bench_infer: cannot write %s\n", path);
        exit(1);
    }
}

static void write_raw(const char *dir, int index, const char *ext, const pcl_image *image)
{
    char name[64];
    snprintf(name, sizeof name, "%03d.%s", index, ext);
    write_floats(dir, name, image->data, (size_t)image->width * image->height);
}

/* The network input `srcnn upscale` builds from image: the Y plane of its
 * 8-bit YCbCr, bicubic-upscaled by scale (pcl_srcnn_upscale_colour). */
static pcl_status upscale_input(const pcl_image *image, int scale, pcl_image **y)
{
    pcl_image *ycc = NULL, *up = NULL, *planes[3] = {0};
    pcl_status s = pcl_srcnn_colour_input(image, &ycc);
    if (s == PCL_OK) s = pcl_resize_bicubic_scale(ycc, (double)scale, PCL_RESIZE_DEFAULT, &up);
    if (s == PCL_OK) s = pcl_color_split(up, planes);
    *y = planes[0];
    pcl_image_destroy(planes[1]);
    pcl_image_destroy(planes[2]);
    pcl_image_destroy(ycc);
    pcl_image_destroy(up);
    return s;
}

static int run_srcnn(pcl_context *context, const char *model_path, int scale, int upscale, const char *dump,
                     char **files, int count)
{
    pcl_model *model = NULL;
    CHECK(pcl_srcnn_create(context, PCL_SRCNN_MODE_REPLICATE, &model));
    CHECK(pcl_model_load(model, model_path, NULL));
    pcl_image **inputs = calloc((size_t)count, sizeof *inputs);
    size_t pixels = 0;
    for (int i = 0; i < count; i++) {
        pcl_image *image = NULL, *truth = NULL;
        CHECK(pcl_image_read(files[i], &image));
        if (upscale)
            CHECK(upscale_input(image, scale, &inputs[i]));
        else
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
    return 0;
}

/* Whether arch has a batch normalisation (running statistics to set). */
static int has_batchnorm(const pcl_architecture *arch)
{
    for (int i = 0; i < arch->count; i++)
        if (arch->spec[i].kind == PCL_LAYER_KIND_BATCHNORM) return 1;
    return 0;
}

/* A batch of one autoencoder in inference mode (--convae, --fcae, --elvae,
 * --yaleb); name: its files' prefix. */
static int run_batch(pcl_context *context, const pcl_architecture *arch, const char *name, int batch, int reps,
                     const char *dump)
{
    pcl_model *model = NULL;
    CHECK(pcl_model_build_architecture(context, arch, &model));
    CHECK(pcl_model_init_weights(model, PCL_INIT_TORCH_DEFAULT, 0, 1));
    const int in_shape[4] = {batch, arch->input[0], arch->input[1], arch->input[2]};
    int out_shape[4];
    CHECK(pcl_model_output_shape(model, in_shape, out_shape));
    const size_t n = (size_t)batch * arch->input[0] * arch->input[1] * arch->input[2];
    const size_t n_out = (size_t)out_shape[0] * out_shape[1] * out_shape[2] * out_shape[3];
    char file[64];
    float *input = malloc(n * sizeof *input), *output = malloc(n_out * sizeof *output);
    double *seconds = calloc((size_t)reps, sizeof *seconds), *cpu = calloc((size_t)reps, sizeof *cpu);
    if (!input || !output || !seconds || !cpu) {
        fprintf(stderr, "bench_infer: out of memory\n");
        return 1;
    }
    uint64_t state = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i++) { /* xorshift64*: the top 24 bits, uniform in [-1, 1) */
        state ^= state >> 12, state ^= state << 25, state ^= state >> 27;
        input[i] = (float)((state * 0x2545F4914F6CDD1Dull) >> 40) / 8388608.0f - 1.0f;
    }
    pcl_tensor *x = NULL, *y = NULL;
    CHECK(pcl_tensor_create(context, batch, arch->input[0], arch->input[1], arch->input[2], &x));
    CHECK(pcl_tensor_upload(x, input));
    if (has_batchnorm(arch)) /* running statistics other than the initial 0 / 1 */
        CHECK(pcl_model_forward(model, x, &y));
    pcl_model_set_training(model, 0);
    CHECK(pcl_model_forward(model, x, &y)); /* warm-up: kernel builds, buffers */
    CHECK(pcl_tensor_download(y, output));  /* waits for it: else the first timed batch runs it too */
    for (int r = 0; r < reps; r++) {
        double t0 = now(), c0 = cpu_now();
        CHECK(pcl_tensor_upload(x, input));
        CHECK(pcl_model_forward(model, x, &y));
        CHECK(pcl_tensor_download(y, output));
        seconds[r] = now() - t0;
        cpu[r] = cpu_now() - c0;
    }
    if (dump) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.safetensors", dump, name);
        CHECK(pcl_model_save(model, path, NULL));
        snprintf(file, sizeof file, "%s.in", name);
        write_floats(dump, file, input, n);
        snprintf(file, sizeof file, "%s.out", name);
        write_floats(dump, file, output, n_out);
    }
    double macs, first;
    CHECK(arch_macs(arch, batch, &macs, &first));
    printf("{\"seconds_each\": [");
    for (int r = 0; r < reps; r++) printf("%s%.4f", r ? ", " : "", seconds[r]);
    qsort(seconds, (size_t)reps, sizeof *seconds, cmp_double);
    qsort(cpu, (size_t)reps, sizeof *cpu, cmp_double);
    printf("], \"seconds\": %.4f, \"cpu_seconds\": %.4f, \"images\": %d, \"reps\": %d, \"flop\": %.6g",
           seconds[reps / 2], cpu[reps / 2], batch, reps, 2 * macs);
    printf(", \"device\": \"%s\"}\n", pcl_context_device(context)->name);
    pcl_tensor_destroy(x);
    free(input), free(output), free(seconds), free(cpu);
    pcl_model_destroy(model);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name; /* --NAME N, the dumped files' prefix */
        const pcl_architecture *arch;
    } autoencoders[] = {{"convae", &pcl_arch_conv_ae_96},
                        {"fcae", &pcl_arch_fc_binary_ae},
                        {"elvae", &pcl_arch_elvae_96},
                        {"yaleb", &pcl_arch_yaleb_ae_48}};
    const int kinds = (int)(sizeof autoencoders / sizeof autoencoders[0]);
    const char *model_path = NULL, *dump = NULL;
    int scale = 4, upscale = 0, reps = 3, first = 1, batch = 0, chosen = -1, several = 0;
    for (; first < argc && !strncmp(argv[first], "--", 2); first += 2) {
        if (!strcmp(argv[first], "--upscale")) {
            upscale = 1;
            first--;
            continue;
        }
        if (first + 1 >= argc) break;
        int k = 0;
        while (k < kinds && strcmp(argv[first] + 2, autoencoders[k].name)) k++;
        if (k < kinds) {
            several |= chosen >= 0;
            chosen = k;
            batch = atoi(argv[first + 1]);
        } else if (!strcmp(argv[first], "--model")) model_path = argv[first + 1];
        else if (!strcmp(argv[first], "--scale")) scale = atoi(argv[first + 1]);
        else if (!strcmp(argv[first], "--dump")) dump = argv[first + 1];
        else if (!strcmp(argv[first], "--reps")) reps = atoi(argv[first + 1]);
        else break;
    }
    if (chosen >= 0 ? (batch < 1 || reps < 1 || first < argc || several)
                    : (!model_path || first >= argc || scale < 2)) {
        fprintf(stderr, "usage: bench_infer --model M.safetensors [--scale 4] [--upscale] [--dump DIR] IMAGE...\n"
                        "       bench_infer --convae N | --fcae N | --elvae N | --yaleb N [--reps 3] [--dump DIR]\n");
        return 2;
    }
    pcl_context *context = NULL;
    CHECK(pcl_context_create(NULL, &context));
    int rc = chosen >= 0 ? run_batch(context, autoencoders[chosen].arch, autoencoders[chosen].name, batch, reps, dump)
                         : run_srcnn(context, model_path, scale, upscale, dump, argv + first, argc - first);
    pcl_context_destroy(context);
    return rc;
}
