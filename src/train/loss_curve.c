/* Loss-curve pictures (loss_curve.h): a self-contained SVG (axes, ticks at round
 * values, gridlines, one polyline per series, legend), written atomically so
 * a viewer never sees half a file while training rewrites it each epoch. */
#include "perceptcl/loss_curve.h"

#include "io/file_atomic.h"
#include "runtime/internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W 720.0
#define H 440.0
#define LEFT 80.0
#define RIGHT 20.0
#define TOP 40.0
#define BOTTOM 60.0
#define MAX_TICKS 64

static const char *const colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};

/* The drawing goes to a memory stream (open_memstream: it grows as needed). */
typedef struct svg {
    FILE *stream;
} svg;

static void out(svg *s, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void out(svg *s, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vfprintf(s->stream, format, args);
    va_end(args);
}

/* Text content with XML's special characters escaped. */
static void out_text(svg *s, const char *text)
{
    for (const char *p = text ? text : ""; *p; p++) {
        if (*p == '<') out(s, "&lt;");
        else if (*p == '>') out(s, "&gt;");
        else if (*p == '&') out(s, "&amp;");
        else if (*p == '"') out(s, "&quot;");
        else if ((unsigned char)*p >= 0x20 || *p == '\t') out(s, "%c", *p);
    }
}

/* Round tick positions covering [lo, hi]: steps of 1, 2 or 5 times a power
 * of ten, about 5 to 10 of them. Widens [lo, hi] to the outer ticks. */
static int linear_ticks(double *lo, double *hi, double *ticks)
{
    if (!(*hi > *lo)) {
        double pad = *lo != 0.0 ? fabs(*lo) * 0.1 : 1.0;
        *lo -= pad;
        *hi += pad;
    }
    double raw = (*hi - *lo) / 6.0;
    double magnitude = pow(10.0, floor(log10(raw)));
    double step = magnitude;
    if (raw / magnitude > 5.0) step = 10.0 * magnitude;
    else if (raw / magnitude > 2.0) step = 5.0 * magnitude;
    else if (raw / magnitude > 1.0) step = 2.0 * magnitude;
    double first = floor(*lo / step) * step, last = ceil(*hi / step) * step;
    int n = 0;
    for (double t = first; t <= last + 0.5 * step && n < MAX_TICKS; t += step) ticks[n++] = fabs(t) < 1e-12 * step ? 0.0 : t;
    *lo = first;
    *hi = last;
    return n;
}

/* Ticks at powers of ten of log10 values (x 2 and 5 too when the span is
 * under two decades); lo, hi are log10 values. */
static int log_ticks(double *lo, double *hi, double *ticks)
{
    double a = floor(*lo), b = ceil(*hi);
    if (b <= a) b = a + 1;
    int n = 0;
    for (double e = a; e <= b + 0.5 && n < MAX_TICKS; e += 1.0) {
        ticks[n++] = e;
        if (b - a < 2.0 && e < b - 0.5 && n + 2 < MAX_TICKS) {
            ticks[n++] = e + log10(2.0);
            ticks[n++] = e + log10(5.0);
        }
    }
    *lo = a;
    *hi = b;
    return n;
}

static int usable(const pcl_curve_series *s, size_t i, int log_y)
{
    return isfinite(s->x[i]) && isfinite(s->y[i]) && (!log_y || s->y[i] > 0.0);
}

pcl_status pcl_loss_curve_write_svg(const char *path, const char *title, const char *x_label, const char *y_label,
                                    const pcl_curve_series *series, int count, int log_y)
{
    if (!path || (count > 0 && !series) || count < 0)
        return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_curve_write_svg: NULL argument");
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int k = 0; k < count; k++) {
        const pcl_curve_series *s = &series[k];
        if (s->count && (!s->x || !s->y))
            return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_curve_write_svg: series %d has no data", k);
        for (size_t i = 0; i < s->count; i++) {
            if (!usable(s, i, log_y)) continue;
            double y = log_y ? log10(s->y[i]) : s->y[i];
            xlo = fmin(xlo, s->x[i]);
            xhi = fmax(xhi, s->x[i]);
            ylo = fmin(ylo, y);
            yhi = fmax(yhi, y);
        }
    }
    if (!isfinite(xlo)) { /* no points yet: empty axes 0..1 */
        xlo = 0.0;
        xhi = 1.0;
        ylo = 0.0;
        yhi = 1.0;
    }
    double xt[MAX_TICKS], yt[MAX_TICKS];
    int nx = linear_ticks(&xlo, &xhi, xt);
    int ny = log_y ? log_ticks(&ylo, &yhi, yt) : linear_ticks(&ylo, &yhi, yt);
    const double pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
#define PX(x) (LEFT + ((x) - xlo) / (xhi - xlo) * pw)
#define PY(y) (TOP + ph - ((y) - ylo) / (yhi - ylo) * ph)

    char *text = NULL;
    size_t length = 0;
    svg s = {open_memstream(&text, &length)};
    if (!s.stream) return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory drawing the loss curve", path);
    out(&s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out(&s, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
    out(&s, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    out(&s, "<text x=\"%g\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">", W / 2);
    out_text(&s, title);
    out(&s, "</text>\n");
    /* Gridlines and ticks. */
    out(&s, "<g stroke=\"#dddddd\" stroke-width=\"1\">\n");
    for (int i = 0; i < nx; i++) out(&s, "<line x1=\"%.2f\" y1=\"%g\" x2=\"%.2f\" y2=\"%g\"/>\n", PX(xt[i]), TOP, PX(xt[i]), TOP + ph);
    for (int i = 0; i < ny; i++) out(&s, "<line x1=\"%g\" y1=\"%.2f\" x2=\"%g\" y2=\"%.2f\"/>\n", LEFT, PY(yt[i]), LEFT + pw, PY(yt[i]));
    out(&s, "</g>\n<g stroke=\"black\" stroke-width=\"1\">\n");
    for (int i = 0; i < nx; i++) out(&s, "<line x1=\"%.2f\" y1=\"%g\" x2=\"%.2f\" y2=\"%g\"/>\n", PX(xt[i]), TOP + ph, PX(xt[i]), TOP + ph + 5);
    for (int i = 0; i < ny; i++) out(&s, "<line x1=\"%g\" y1=\"%.2f\" x2=\"%g\" y2=\"%.2f\"/>\n", LEFT - 5, PY(yt[i]), LEFT, PY(yt[i]));
    out(&s, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\"/>\n</g>\n", LEFT, TOP, pw, ph);
    out(&s, "<g text-anchor=\"middle\">\n");
    for (int i = 0; i < nx; i++) out(&s, "<text x=\"%.2f\" y=\"%g\">%g</text>\n", PX(xt[i]), TOP + ph + 18, xt[i]);
    out(&s, "</g>\n<g text-anchor=\"end\">\n");
    for (int i = 0; i < ny; i++)
        out(&s, "<text x=\"%g\" y=\"%.2f\">%.4g</text>\n", LEFT - 8, PY(yt[i]) + 4, log_y ? pow(10.0, yt[i]) : yt[i]);
    out(&s, "</g>\n<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">", LEFT + pw / 2, H - 18);
    out_text(&s, x_label);
    out(&s, "</text>\n<text x=\"18\" y=\"%g\" text-anchor=\"middle\" transform=\"rotate(-90 18 %g)\">", TOP + ph / 2,
        TOP + ph / 2);
    out_text(&s, y_label);
    out(&s, "%s</text>\n", log_y ? " (log scale)" : "");
    /* Curves, then the legend on top. */
    for (int k = 0; k < count; k++) {
        const pcl_curve_series *c = &series[k];
        const char *colour = colours[k % (int)(sizeof colours / sizeof colours[0])];
        out(&s, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", colour);
        size_t points = 0;
        for (size_t i = 0; i < c->count; i++) {
            if (!usable(c, i, log_y)) continue;
            double y = log_y ? log10(c->y[i]) : c->y[i];
            out(&s, "%s%.2f,%.2f", points++ ? " " : "", PX(c->x[i]), PY(y));
        }
        out(&s, "\"/>\n");
        if (points == 1) { /* a single point draws nothing as a line */
            for (size_t i = 0; i < c->count; i++)
                if (usable(c, i, log_y))
                    out(&s, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n", PX(c->x[i]),
                        PY(log_y ? log10(c->y[i]) : c->y[i]), colour);
        }
        double ly = TOP + 16 + 18.0 * k;
        out(&s, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-width=\"2\"/>\n", LEFT + pw - 150,
            ly - 4, LEFT + pw - 126, ly - 4, colour);
        out(&s, "<text x=\"%g\" y=\"%g\">", LEFT + pw - 120, ly);
        out_text(&s, c->name);
        out(&s, "</text>\n");
    }
    out(&s, "</svg>\n");
#undef PX
#undef PY
    int failed = ferror(s.stream);
    if (fclose(s.stream) != 0 || failed) {
        free(text);
        return pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory drawing the loss curve", path);
    }
    pcl_status status = pcl_file_write_atomic(path, text, length);
    free(text);
    return status;
}

/* Parses one field of a CSV line: NAN for an empty field; 0 on a bad one. */
static int csv_number(const char **p, double *value)
{
    const char *start = *p;
    if (*start == ',' || *start == '\n' || *start == '\r' || *start == '\0') {
        *value = NAN;
    } else {
        char *end;
        *value = strtod(start, &end);
        if (end == start) return 0;
        *p = end;
    }
    if (**p == ',') (*p)++;
    return 1;
}

pcl_status pcl_loss_curve_from_log(const char *csv_path, const char *svg_path, const char *title)
{
    if (!csv_path || !svg_path) return pcl_fail(PCL_ERR_INVALID_ARGUMENT, "pcl_loss_curve_from_log: NULL argument");
    FILE *f = fopen(csv_path, "r");
    if (!f) return pcl_fail(PCL_ERR_IO, "%s: cannot open: %s", csv_path, strerror(errno));
    char line[1024];
    double *x = NULL, *train = NULL, *val = NULL;
    size_t n = 0, capacity = 0;
    long number = 0;
    pcl_status status = PCL_OK;
    while (fgets(line, sizeof line, f)) {
        number++;
        if (number == 1) {
            if (strncmp(line, "epoch,step,train_loss,validation_loss", 37) != 0)
                status = pcl_fail(PCL_ERR_FORMAT, "%s: line 1: expected the header \"epoch,step,train_loss,"
                                  "validation_loss,...\"", csv_path);
            if (status != PCL_OK) break;
            continue;
        }
        if (n == capacity) {
            capacity = capacity ? 2 * capacity : 256;
            double *gx = realloc(x, capacity * sizeof *gx);
            if (gx) x = gx;
            double *gt = gx ? realloc(train, capacity * sizeof *gt) : NULL;
            if (gt) train = gt;
            double *gv = gt ? realloc(val, capacity * sizeof *gv) : NULL;
            if (gv) val = gv;
            if (!gv) {
                status = pcl_fail(PCL_ERR_OUT_OF_MEMORY, "%s: out of memory", csv_path);
                break;
            }
        }
        const char *p = line;
        double epoch, step;
        if (!csv_number(&p, &epoch) || !csv_number(&p, &step) || !csv_number(&p, &train[n]) ||
            !csv_number(&p, &val[n]) || isnan(step)) {
            status = pcl_fail(PCL_ERR_FORMAT, "%s: line %ld: expected epoch,step,train_loss,validation_loss,... "
                              "numbers", csv_path, number);
            break;
        }
        x[n++] = step;
    }
    fclose(f);
    /* Found by fuzz_loss_log: an empty or header-only log was refused by the
     * SVG writer ("series 0 has no data"), a message that named neither file. */
    if (status == PCL_OK && n == 0)
        status = pcl_fail(PCL_ERR_FORMAT, "%s: %s", csv_path,
                          number == 0 ? "line 1: expected the header \"epoch,step,train_loss,validation_loss,...\", "
                                        "the file is empty"
                                      : "expected at least one epoch line after the header, found none");
    if (status == PCL_OK) {
        pcl_curve_series series[2] = {{"train", x, train, n}, {"validation", x, val, n}};
        status = pcl_loss_curve_write_svg(svg_path, title ? title : "loss", "step", "loss", series, 2, 0);
    }
    free(x);
    free(train);
    free(val);
    return status;
}
