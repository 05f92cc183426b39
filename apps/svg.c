/* The pieces every SVG figure of the apps shares (app.h). */
#include "app.h"

#include <stdlib.h>

void app_svg_text(FILE *out, const char *text)
{
    for (const char *c = text; *c; c++) {
        if (*c == '&') fputs("&amp;", out);
        else if (*c == '<') fputs("&lt;", out);
        else if (*c == '>') fputs("&gt;", out);
        else if (*c == '"') fputs("&quot;", out);
        else fputc(*c, out);
    }
}

void app_svg_begin(FILE *out, double width, double height, double title_x, const char *title)
{
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"13\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<text x=\"%.0f\" y=\"24\" font-size=\"15\">",
            width, height, width, height, title_x);
    app_svg_text(out, title);
    fprintf(out, "</text>\n");
}

char *app_svg_finish(FILE *out, char **text)
{
    if (fclose(out) != 0) {
        free(*text);
        return NULL;
    }
    return *text;
}
