/* libFuzzer target: the input is a training log (the CSV that --log writes and
 * that --curve / --resume read back), drawn by pcl_loss_curve_from_log into an
 * SVG. The log goes through a memfd (fuzz_image.h's helper); the SVG is
 * written under /dev/shm (the atomic writer needs a real folder for its
 * temporary). Aborts if the reader breaks its contract: a refusal names the
 * log and says which line; an accepted log gives a whole SVG document (an XML
 * declaration, <svg ...>, ..., </svg>). */
#include "fuzz_image.h"
#include "perceptcl/train.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char svg[64];
    if (!svg[0]) snprintf(svg, sizeof svg, "/dev/shm/pcl_fuzz_curve_%ld.svg", (long)getpid());
    const char *log = fuzz_image_path(data, size);
    if (!log) return 0;
    pcl_status status = pcl_loss_curve_from_log(log, svg, "fuzz");
    if (status != PCL_OK) {
        const char *message = pcl_last_error();
        if (!message || !strstr(message, log) || strchr(message, '\n')) abort();
        return 0;
    }
    FILE *f = fopen(svg, "rb");
    if (!f) abort();
    char head[200] = {0}, tail[8] = {0};
    if (fread(head, 1, sizeof head - 1, f) < 60 || strncmp(head, "<?xml", 5) != 0 || !strstr(head, "<svg ")) abort();
    if (fseek(f, -7, SEEK_END) != 0 || fread(tail, 1, 7, f) != 7 || strcmp(tail, "</svg>\n") != 0) abort();
    fclose(f);
    remove(svg);
    return 0;
}
