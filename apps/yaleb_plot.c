/* perceptcl yaleb plot (yaleb.h): each representation's faces on its first
 * two principal components, coloured by the light's azimuth, one panel per
 * feature file side by side, as SVG. */
#include "app.h"
#include "yaleb.h"

#include "io/file_atomic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_PANELS = 8 };
static const double panel = 280, gap = 40, top = 60, bottom = 70, dot = 1.7;

static const char usage[] =
    "usage: perceptcl yaleb plot LABEL=FEATURES.csv ... --out PLOT.svg\n\n"
    "Each feature file's faces on their first two principal components (PCA of the features, centred,\n"
    "not scaled), a panel per file titled LABEL, each point coloured by the light's azimuth (blue\n"
    "-130 degrees, grey 0, red +130). Light is the factor a good code separates: the paper's Table 1\n"
    "asks the same of SVRs.\n";

/* Blue (-130) through light grey (0, visible on white) to red (+130). */
static void azimuth_colour(int azimuth, int rgb[3])
{
    double t = fmax(-1.0, fmin(1.0, azimuth / 130.0));
    const int blue[3] = {33, 102, 172}, red[3] = {178, 24, 43};
    for (int c = 0; c < 3; c++) rgb[c] = (int)lround(215 + fabs(t) * ((t < 0 ? blue[c] : red[c]) - 215));
}

/* One panel at x0: axes box, title, points scaled to fill it. */
static void put_panel(FILE *out, double x0, const char *label, const yaleb_features *f, const double *xy)
{
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (size_t i = 0; i < f->count; i++)
        for (int k = 0; k < 2; k++) lo[k] = fmin(lo[k], xy[2 * i + k]), hi[k] = fmax(hi[k], xy[2 * i + k]);
    fprintf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#888\"/>\n", x0,
            top, panel, panel);
    fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">", x0 + panel / 2, top - 8);
    app_svg_text(out, label);
    fprintf(out, " (%d features)</text>\n<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\" fill=\"#555\">PC 1"
                 "</text>\n<text x=\"%.0f\" y=\"%.0f\" fill=\"#555\" transform=\"rotate(-90 %.0f %.0f)\" "
                 "text-anchor=\"middle\">PC 2</text>\n",
            f->dims, x0 + panel / 2, top + panel + 18, x0 - 8, top + panel / 2, x0 - 8, top + panel / 2);
    for (size_t i = 0; i < f->count; i++) {
        double px = x0 + 6 + (panel - 12) * (hi[0] > lo[0] ? (xy[2 * i] - lo[0]) / (hi[0] - lo[0]) : 0.5);
        double py = top + panel - 6 - (panel - 12) * (hi[1] > lo[1] ? (xy[2 * i + 1] - lo[1]) / (hi[1] - lo[1]) : 0.5);
        int rgb[3];
        azimuth_colour(f->azimuth[i], rgb);
        fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"#%02x%02x%02x\"/>\n", px, py, dot, rgb[0], rgb[1],
                rgb[2]);
    }
}

/* The colour bar under the panels. */
static void put_legend(FILE *out, double width)
{
    const double x0 = width / 2 - 130, y0 = top + panel + 34;
    for (int a = -130; a < 130; a += 10) {
        int rgb[3];
        azimuth_colour(a + 5, rgb);
        fprintf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"#%02x%02x%02x\"/>\n",
                x0 + (a + 130), y0, rgb[0], rgb[1], rgb[2]);
    }
    fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">azimuth -130</text>\n"
                 "<text x=\"%.0f\" y=\"%.0f\">+130 degrees</text>\n</svg>\n",
            x0 - 6, y0 + 10, x0 + 266, y0 + 10);
}

int yaleb_run_plot(int argc, char **argv)
{
    const char *cmd = "yaleb plot", *out_path = NULL, *args[MAX_PANELS];
    int count = 0;
    static const app_option options[] = {{"--out", "SVG"}, {NULL, NULL}};
    app_args r;
    app_args_init(&r, cmd, usage, options, NULL, argc, argv);
    while (app_args_next(&r)) {
        if (!r.option) app_args_append(&r, args, &count, MAX_PANELS, "feature files");
        else if (app_args_is(&r, "--out")) out_path = r.value;
    }
    if (r.exit_code < 0 && count == 0) app_args_error(&r, "needs LABEL=FEATURES.csv arguments");
    if (r.exit_code < 0 && !out_path) app_args_error(&r, "needs --out PLOT.svg");
    for (int i = 0; r.exit_code < 0 && i < count; i++)
        if (!strchr(args[i], '=') || args[i][0] == '=') app_args_error(&r, "'%s' is not LABEL=FEATURES.csv", args[i]);
    if (r.exit_code < 0) app_output_check(&r, "--out", out_path);
    if (r.exit_code >= 0) return r.exit_code;

    const double width = gap + count * (panel + gap), height = top + panel + bottom;
    char *text = NULL, error[512];
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    if (!out) return fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1;
    app_svg_begin(out, width, height, gap, "Yale B faces on the first two principal components of each representation");
    int rc = 0;
    for (int i = 0; i < count && rc == 0; i++) {
        char label[256];
        const char *equals = strchr(args[i], '=');
        snprintf(label, sizeof label, "%.*s", (int)(equals - args[i]), args[i]);
        yaleb_features f;
        double variances[2], *xy = NULL;
        if (yaleb_features_read(equals + 1, &f, error, sizeof error)) {
            rc = (fprintf(stderr, "perceptcl %s: %s\n", cmd, error), 1);
            break;
        }
        if (f.dims < 2 || f.count < 3) rc = (fprintf(stderr, "perceptcl %s: %s: %zu faces of %d features: too few "
                                                             "to plot\n", cmd, equals + 1, f.count, f.dims), 1);
        else if (!(xy = malloc(2 * f.count * sizeof *xy))) rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
        else if (yaleb_pca(f.values, f.count, f.dims, 2, 1, xy, variances, error, sizeof error))
            rc = (fprintf(stderr, "perceptcl %s: %s: %s\n", cmd, equals + 1, error), 1);
        else
            put_panel(out, gap + i * (panel + gap), label, &f, xy);
        free(xy);
        yaleb_features_free(&f);
    }
    put_legend(out, width);
    char *svg = app_svg_finish(out, &text);
    if (rc == 0 && !svg) rc = (fprintf(stderr, "perceptcl %s: out of memory\n", cmd), 1);
    if (rc == 0) {
        pcl_file_set *files = NULL;
        pcl_status s = pcl_file_set_create(&files);
        if (s == PCL_OK) s = pcl_file_set_add_bytes(files, out_path, svg, strlen(svg));
        if (s == PCL_OK) s = pcl_file_set_commit(files);
        pcl_file_set_destroy(files);
        if (s != PCL_OK) rc = app_fail(cmd, out_path);
        else fprintf(stderr, "perceptcl %s: %d panels -> %s\n", cmd, count, out_path);
    }
    free(svg);
    return rc;
}
