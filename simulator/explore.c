/* Ranking strategies by simulation, their SVG chart, and the tactic behind
 * each collective (simulator/explore.h). */
#include "explore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pt_sim_strategy_set(pt_sim_strategy *row, const pt_sim_result *r) {
  row->ok = true;
  row->fits = r->fits;
  row->devices = r->devices;
  row->peak = r->memory.peak_bytes;
  row->bytes = r->bytes_sent;
  row->step = r->step;
  row->compute = r->compute;
  row->comm = r->comm;
}

static int by_rank(const void *a, const void *b) {
  const pt_sim_strategy *x = a, *y = b;
  if (x->ok != y->ok)
    return x->ok ? -1 : 1;
  if (x->fits != y->fits)
    return x->fits ? -1 : 1;
  if (x->step != y->step)
    return x->step < y->step ? -1 : 1;
  return strcmp(x->script, y->script);
}

void pt_sim_rank(pt_sim_strategy *rows, int n) {
  qsort(rows, (size_t)n, sizeof *rows, by_rank);
}

int pt_sim_text_width(const char *s) {
  int n = 0;
  for (; *s; s++)
    n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

typedef struct {
  const pt_op *op;
  int index;
} op_index;

static int by_address(const void *a, const void *b) {
  const pt_op *x = ((const op_index *)a)->op, *y = ((const op_index *)b)->op;
  return x < y ? -1 : x > y;
}

const char **pt_sim_tactic_of(const pt_func *g, const pt_lower_stats *stats,
                              const char *const *tactic_names) {
  /* records name ops, so sort both by address and merge */
  const char **tactic_of = pt_calloc((size_t)g->nops + 1, sizeof *tactic_of);
  op_index *ix = pt_malloc(((size_t)g->nops + 1) * sizeof *ix);
  for (int i = 0; i < g->nops; i++)
    ix[i] = (op_index){g->ops[i], i};
  qsort(ix, (size_t)g->nops, sizeof *ix, by_address);
  for (int k = 0; k < stats->nrecords; k++) {
    const pt_lower_record *rec = &stats->records[k];
    op_index key = {rec->op, 0}, *hit;
    if (rec->tactic >= 0 && (hit = bsearch(&key, ix, (size_t)g->nops, sizeof *ix, by_address)))
      tactic_of[hit->index] = tactic_names[rec->tactic];
  }
  pt_free(ix);
  return tactic_of;
}

/* ---- the chart ------------------------------------------------------------ */

static void xml_text(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '<':
      fputs("&lt;", f);
      break;
    case '>':
      fputs("&gt;", f);
      break;
    case '&':
      fputs("&amp;", f);
      break;
    case '"':
      fputs("&quot;", f);
      break;
    default:
      fputc(*s, f);
    }
  }
}

/* A tick step of 1, 2 or 5 times a power of ten giving at most 6 ticks. */
static double tick_step(double max) {
  double p = pow(10, floor(log10(max)));
  static const double m[] = {0.1, 0.2, 0.5, 1, 2, 5, 10};
  for (int i = 0; i < 7; i++)
    if (max / (m[i] * p) <= 6)
      return m[i] * p;
  return 10 * p;
}

char *pt_sim_explore_svg(const pt_sim_strategy *rows, int n, const char *title) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  PT_ASSERT(f);
  /* room for the longest label at ~7.5 px per character of 13 px text */
  int chars = 0;
  bool pale = false;
  double max = 0;
  for (int i = 0; i < n; i++) {
    int c = pt_sim_text_width(rows[i].script) + pt_sim_text_width(rows[i].mesh) + 3;
    chars = c > chars ? c : chars;
    if (rows[i].ok) {
      max = rows[i].step > max ? rows[i].step : max;
      pale |= !rows[i].fits;
    }
  }
  const int left = 24 + (int)(7.5 * chars), right = 150, top = 70, rowh = 34, barh = 20;
  const int W = left + 560 + right;
  if (max <= 0)
    max = 1e-6;
  /* one unit for the whole axis */
  double unit = max < 1e-3 ? 1e-6 : max < 1 ? 1e-3 : 1;
  const char *uname = unit == 1e-6 ? "µs" : unit == 1e-3 ? "ms" : "s";
  double step = tick_step(max / unit) * unit;
  double span = ceil(max / step - 1e-9) * step;
  int plotw = W - left - right, H = top + (n ? n : 1) * rowh + 60;
  fprintf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
          "font-size=\"13\">\n",
          W, H, W, H);
  fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
  fprintf(f, "<text x=\"16\" y=\"26\" font-size=\"16\" font-weight=\"bold\">");
  xml_text(f, title);
  fprintf(f, "</text>\n");
  /* legend */
  fprintf(f, "<rect x=\"16\" y=\"40\" width=\"14\" height=\"14\" fill=\"#4e79a7\"/>"
             "<text x=\"36\" y=\"52\">compute</text>\n"
             "<rect x=\"110\" y=\"40\" width=\"14\" height=\"14\" fill=\"#f28e2b\"/>"
             "<text x=\"130\" y=\"52\">communication</text>\n");
  if (pale)
    fprintf(f, "<text x=\"260\" y=\"52\" fill=\"#555\">pale: does not fit in memory</text>\n");
  /* grid and axis */
  int axis_y = top + n * rowh + 6;
  for (double t = 0; t <= span * (1 + 1e-9); t += step) {
    double x = left + plotw * t / span;
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
            "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#333\">%g</text>\n",
            x, top - 6, x, axis_y, x, axis_y + 18, t / unit);
  }
  fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#333\">step time (%s)</text>\n",
          left + plotw / 2, axis_y + 38, uname);
  for (int i = 0; i < n; i++) {
    const pt_sim_strategy *r = &rows[i];
    int y = top + i * rowh;
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 10, y + barh - 5);
    xml_text(f, r->script);
    fprintf(f, " <tspan fill=\"#666\">(");
    xml_text(f, r->mesh);
    fprintf(f, ")</tspan></text>\n");
    if (!r->ok) {
      fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#b00\">failed (see the messages)</text>\n",
              left + 4, y + barh - 5);
      continue;
    }
    double wc = plotw * r->compute / span, wm = plotw * r->comm / span;
    const char *op = r->fits ? "1" : "0.35";
    fprintf(f,
            "<rect x=\"%d\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"#4e79a7\" "
            "fill-opacity=\"%s\"><title>compute %.3g %s</title></rect>\n",
            left, y, wc, barh, op, r->compute / unit, uname);
    fprintf(f,
            "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"#f28e2b\" "
            "fill-opacity=\"%s\"><title>communication %.3g %s</title></rect>\n",
            left + wc, y, wm, barh, op, r->comm / unit, uname);
    char t[32];
    fprintf(f, "<text x=\"%.2f\" y=\"%d\">%s%s</text>\n", left + wc + wm + 6, y + barh - 5,
            pt_sim_time_str(r->step, t, sizeof t), r->fits ? "" : " (does not fit)");
  }
  fprintf(f, "</svg>\n");
  fclose(f);
  char *out = pt_strdup(text);
  free(text);
  return out;
}
