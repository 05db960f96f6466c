/*
 * The restart-time histogram as a standalone SVG (readable in any browser, no scripts):
 * DN_BINS bins across the rollout window, scheduled and actual restarts side by side, with
 * the uniform mean and the report's limit drawn as lines. Text is escaped for XML, so a
 * title can never break the document.
 */
#include "devnet/devnet_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            /* Control characters are not allowed in XML 1.0 text. */
            if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
                fputc(*s, f);
        }
    }
}

ant_err dn_svg_histogram(const char *path, const char *title, const unsigned sched[DN_BINS],
                         const unsigned actual[DN_BINS], double window_s, double limit)
{
    const double W = 760, H = 420, left = 60, right = 20, top = 50, bottom = 70;
    const double pw = W - left - right, ph = H - top - bottom;
    unsigned total = 0, maxv = 1;
    for (int b = 0; b < DN_BINS; b++) {
        total += sched[b];
        maxv = sched[b] > maxv ? sched[b] : maxv;
        maxv = actual[b] > maxv ? actual[b] : maxv;
    }
    double mean = (double)total / DN_BINS;
    double top_v = limit > maxv ? limit : (double)maxv;
    top_v = top_v < 1 ? 1 : top_v * 1.1;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return ANT_ERR_NOMEM;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
            W, H, W, H);
    fprintf(f, "<title>");
    xml_text(f, title);
    fprintf(f, "</title>\n<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n",
            W, H);
    fprintf(f, "<text x=\"%.0f\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">", W / 2);
    xml_text(f, title);
    fprintf(f, "</text>\n");
    /* axes */
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left,
            top + ph, left + pw, top + ph);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left,
            top, left, top + ph);
    unsigned ticks = (unsigned)top_v;
    unsigned step = ticks > 10 ? (ticks + 9) / 10 : 1;
    for (unsigned v = 0; v <= ticks; v += step) {
        double y = top + ph - ph * v / top_v;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%u</text>\n", left - 6, y + 4,
                v);
    }
    double bw = pw / DN_BINS;
    for (int b = 0; b < DN_BINS; b++) {
        double x = left + b * bw;
        double hs = ph * sched[b] / top_v, ha = ph * actual[b] / top_v;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#4e79a7\">"
                   "<title>scheduled: %u</title></rect>\n",
                x + bw * 0.1, top + ph - hs, bw * 0.38, hs, sched[b]);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f28e2b\">"
                   "<title>actual: %u</title></rect>\n",
                x + bw * 0.52, top + ph - ha, bw * 0.38, ha, actual[b]);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n", x,
                top + ph + 16, window_s * b / DN_BINS);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n", left + pw,
            top + ph + 16, window_s);
    double ym = top + ph - ph * mean / top_v, yl = top + ph - ph * limit / top_v;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"gray\" "
               "stroke-dasharray=\"4 3\"/>\n",
            left, ym, left + pw, ym);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e15759\" "
               "stroke-dasharray=\"6 3\"/>\n",
            left, yl, left + pw, yl);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">seconds after the node first "
               "saw the release</text>\n",
            left + pw / 2, top + ph + 36);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"#4e79a7\"/>"
               "<text x=\"%.1f\" y=\"%.1f\">scheduled</text>\n",
            left, H - 20, left + 16, H - 10);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"#f28e2b\"/>"
               "<text x=\"%.1f\" y=\"%.1f\">actual</text>\n",
            left + 110, H - 20, left + 126, H - 10);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"gray\">mean %.2f</text>\n", left + 200, H - 10,
            mean);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#e15759\">limit %.2f</text>\n", left + 300,
            H - 10, limit);
    fprintf(f, "</svg>\n");
    if (fclose(f) != 0) {
        free(buf);
        return ANT_ERR_IO;
    }
    ant_err e = dn_write_file(path, buf, len, 0644);
    free(buf);
    return e;
}
