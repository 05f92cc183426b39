/* The figures of a study's analysis, as SVG: a bar chart (the paper's
 * Figures 3 and 5: ranks per method; or the share of 2AFC trials won, with
 * intervals) and rows of triplets (the paper's Figure 2: the items most and
 * least preferring one method), the images embedded as base64 PNG. */
#include "app.h"
#include "study.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"};

char *app_study_svg_bars(const app_study_bars *b)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    if (!out) return NULL;
    const double left = 70, top = 50, plot_h = 260, bar_w = 28, group_gap = 30;
    double group_w = b->series * bar_w + group_gap;
    double plot_w = b->groups * group_w + group_gap;
    /* Wide enough for the title too (about 8 pixels a character at 15 px). */
    double width = left + plot_w + 170, height = top + plot_h + 60;
    if (width < left + 8.0 * (double)strlen(b->title) + 20) width = left + 8.0 * (double)strlen(b->title) + 20;
    app_svg_begin(out, width, height, left, b->title);
    /* Axis with 5 ticks. */
    for (int t = 0; t <= 4; t++) {
        double v = b->y_max * t / 4.0, y = top + plot_h - plot_h * t / 4.0;
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, y, left + plot_w,
                y);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", left - 6, y + 4, v);
    }
    fprintf(out, "<text transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">", top + plot_h / 2);
    app_svg_text(out, b->y_label);
    fprintf(out, "</text>\n");
    if (!isnan(b->reference)) {
        double y = top + plot_h - plot_h * b->reference / b->y_max;
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\" stroke-dasharray=\"5 4\"/>\n",
                left, y, left + plot_w, y);
    }
    for (int g = 0; g < b->groups; g++) {
        double x0 = left + group_gap + g * group_w;
        for (int s = 0; s < b->series; s++) {
            double v = b->values[g * b->series + s], h = plot_h * (v > b->y_max ? 1.0 : v / b->y_max);
            double x = x0 + s * bar_w;
            fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>", x + 2,
                    top + plot_h - h, bar_w - 4, h, palette[s % 5]);
            app_svg_text(out, b->group_names[g]);
            fprintf(out, ", ");
            app_svg_text(out, b->series_names[s]);
            fprintf(out, ": %g</title></rect>\n", v);
            if (b->low && b->high) {
                double y_low = top + plot_h - plot_h * b->low[g * b->series + s] / b->y_max;
                double y_high = top + plot_h - plot_h * b->high[g * b->series + s] / b->y_max, xc = x + bar_w / 2;
                fprintf(out,
                        "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f\" stroke=\"black\" "
                        "stroke-width=\"1.5\"/>\n",
                        xc, y_low, y_high, xc - 5, y_low, xc + 5, xc - 5, y_high, xc + 5);
            }
        }
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x0 + b->series * bar_w / 2,
                top + plot_h + 20);
        app_svg_text(out, b->group_names[g]);
        fprintf(out, "</text>\n");
    }
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left, top + plot_h,
            left + plot_w, top + plot_h);
    if (b->series > 1)
        for (int s = 0; s < b->series; s++) {
            double y = top + 10 + s * 20;
            fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"%s\"/>\n", left + plot_w + 20,
                    y, palette[s % 5]);
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">", left + plot_w + 40, y + 12);
            app_svg_text(out, b->series_names[s]);
            fprintf(out, "</text>\n");
        }
    fprintf(out, "</svg>\n");
    return app_svg_finish(out, &text);
}

/* The file as a base64 data URI written to out; 0 if it cannot be read. */
static int put_png_data(FILE *out, const char *path)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    FILE *in = fopen(path, "rb");
    if (!in) return 0;
    fputs("data:image/png;base64,", out);
    unsigned char block[3];
    size_t n;
    while ((n = fread(block, 1, 3, in)) > 0) {
        unsigned v = (unsigned)block[0] << 16 | (n > 1 ? (unsigned)block[1] << 8 : 0) | (n > 2 ? block[2] : 0);
        fputc(digits[v >> 18 & 63], out);
        fputc(digits[v >> 12 & 63], out);
        fputc(n > 1 ? digits[v >> 6 & 63] : '=', out);
        fputc(n > 2 ? digits[v & 63] : '=', out);
    }
    int ok = !ferror(in);
    fclose(in);
    return ok;
}

char *app_study_svg_triplets(const app_study_triplets *t)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    if (!out) return NULL;
    const double cell_h = 160, gap = 12, caption_h = 22, top = 40;
    double widest = 0;
    for (int r = 0; r < t->rows; r++) {
        double w = cell_h * t->widths[r] / t->heights[r];
        if (w > widest) widest = w;
    }
    /* Wide enough for the captions too (about 7 pixels a character at 13 px). */
    double width = 3 * widest + 4 * gap, height = top + t->rows * (cell_h + caption_h + gap) + gap;
    for (int r = 0; r < t->rows; r++)
        if (width < 7.0 * (double)strlen(t->captions[r]) + 2 * gap) width = 7.0 * (double)strlen(t->captions[r]) + 2 * gap;
    if (width < 8.0 * (double)strlen(t->title) + 2 * gap) width = 8.0 * (double)strlen(t->title) + 2 * gap;
    app_svg_begin(out, width, height, gap, t->title);
    int ok = 1;
    for (int r = 0; r < t->rows; r++) {
        double y = top + r * (cell_h + caption_h + gap), w = cell_h * t->widths[r] / t->heights[r];
        fprintf(out, "<text x=\"%.0f\" y=\"%.1f\">", gap, y + 15);
        app_svg_text(out, t->captions[r]);
        fprintf(out, "</text>\n");
        for (int c = 0; c < 3; c++) {
            fprintf(out,
                    "<image x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" style=\"image-rendering:pixelated\" "
                    "href=\"",
                    gap + c * (widest + gap), y + caption_h, w, cell_h);
            ok = ok && put_png_data(out, t->images[r * 3 + c]);
            fprintf(out, "\"/>\n");
        }
    }
    fprintf(out, "</svg>\n");
    char *svg = app_svg_finish(out, &text);
    if (!ok) free(svg), svg = NULL;
    return svg;
}
