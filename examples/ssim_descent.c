/* Using perceptcl's MS-SSIM as a loss from C: start from noise and follow the
 * exact gradient of MS-SSIM towards a target image. Build against an
 * installed perceptcl with:
 *   cc ssim_descent.c $(pkg-config --cflags --libs perceptcl) -o ssim_descent
 * Exits 0 when MS-SSIM rose from start to end (the example doubles as a test). */
#include <perceptcl/device.h>
#include <perceptcl/ssim.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 4, SIZE = 48, STEPS = 60 };

static int check(pcl_status status, const char *what)
{
    if (status != PCL_OK) fprintf(stderr, "ssim_descent: %s: %s\n", what, pcl_last_error());
    return status == PCL_OK;
}

int main(void)
{
    const size_t count = (size_t)BATCH * SIZE * SIZE, bytes = count * sizeof(float);
    float *target = malloc(bytes), *image = malloc(bytes), *grad = malloc(bytes);
    /* Targets: smooth stripes in [0, 1]; start: half target, half uniform noise. */
    unsigned seed = 12345;
    for (size_t i = 0; i < count; i++) {
        size_t n = i / (SIZE * SIZE), r = (i / SIZE) % SIZE, c = i % SIZE;
        target[i] = 0.5f + 0.4f * sinf(0.2f * (float)(c + (n + 1) * r));
        seed = seed * 1664525u + 1013904223u;
        image[i] = 0.5f * target[i] + 0.5f * (float)(seed >> 8) / 16777216.0f;
    }

    pcl_context *context = NULL;
    pcl_ssim *plan = NULL;
    cl_mem x = NULL, y = NULL, g = NULL;
    int ok = check(pcl_context_create(NULL, &context), "opening a device");
    pcl_ssim_options options = pcl_ssim_options_default();
    options.mode = PCL_SSIM_MODE_SAME; /* 48x48 is too small for valid-mode MS-SSIM */
    options.scales = 5;
    options.data_range = 1.0;
    ok = ok && check(pcl_ssim_create(context, BATCH, SIZE, SIZE, &options, &plan), "planning MS-SSIM");
    ok = ok && check(pcl_buffer_create(context, bytes, &x), "allocating") &&
         check(pcl_buffer_create(context, bytes, &y), "allocating") &&
         check(pcl_buffer_create(context, bytes, &g), "allocating") &&
         check(pcl_buffer_write(context, x, 0, bytes, target), "uploading");

    /* Gradient ascent on MS-SSIM (= descent on the loss 1 - MS-SSIM) with a
     * simple step control: a step that lowers the value is undone and the
     * step size halved; a step that raises it grows the step a little. */
    float *previous = malloc(bytes);
    float values[BATCH], first = 0, last = 0, rate = 10.0f;
    for (int step = 0; ok && step <= STEPS; step++) {
        ok = check(pcl_buffer_write(context, y, 0, bytes, image), "uploading") &&
             check(pcl_ssim_run(plan, x, y, values, g), "MS-SSIM");
        float mean = 0;
        for (int n = 0; n < BATCH; n++) mean += values[n] / BATCH;
        if (step == 0) first = last = mean;
        if (step > 0 && mean < last) {
            memcpy(image, previous, bytes);
            rate *= 0.5f;
        } else {
            ok = ok && check(pcl_buffer_read(context, g, 0, bytes, grad), "downloading");
            last = mean;
            if (step > 0) rate *= 1.2f;
            memcpy(previous, image, bytes);
        }
        if (step % 20 == 0) printf("step %2d  mean MS-SSIM %.4f\n", step, last);
        for (size_t i = 0; i < count; i++) image[i] = previous[i] + rate * grad[i];
    }
    free(previous);

    pcl_buffer_release(x);
    pcl_buffer_release(y);
    pcl_buffer_release(g);
    pcl_ssim_destroy(plan);
    pcl_context_destroy(context);
    free(target);
    free(image);
    free(grad);
    if (!ok || !isfinite(last)) return 1;
    printf("MS-SSIM %.4f -> %.4f\n", first, last);
    return last > first + 0.1f ? 0 : 1;
}
