/* The picture `partita explain` draws of a rank-1 or rank-2 value: its
 * blocks (tactics/analysis.h's pt_layout_map) as boxes labelled with the
 * devices that hold them and their index ranges (cli/sharded.h). */
#include <string.h>

#include "sharded.h"

#define VNAME(x, v) pt_analysis_name(&(x)->an, v)

/* Appends device d to a list like "0-3,6" (runs compressed). */
static void list_devices(const int64_t *devs, int n, char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < n && k < cap;) {
    int j = i;
    while (j + 1 < n && devs[j + 1] == devs[j] + 1)
      j++;
    if (j - i >= 2)
      k += (size_t)snprintf(buf + k, cap - k, "%s%lld-%lld", i ? "," : "", (long long)devs[i],
                            (long long)devs[j]);
    else
      for (int t = i; t <= j && k < cap; t++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", t ? "," : "", (long long)devs[t]);
    i = j + 1;
  }
}

static void rule(int ncols, int w, const char *l, const char *mid, const char *r) {
  fputs(l, stdout);
  for (int c = 0; c < ncols; c++) {
    for (int i = 0; i < w; i++)
      fputs("─", stdout);
    fputs(c + 1 < ncols ? mid : r, stdout);
  }
  putchar('\n');
}

static void centred(const char *s, int w) {
  int n = (int)strlen(s), left = (w - n) / 2;
  printf("%*s%s%*s", left, "", s, w - n - left, "");
}

static void draw_blocks(const pt_layout_map *l) {
  int64_t nr = l->rows, nc = l->cols;
  char(*label)[256] = pt_calloc((size_t)(nr * nc), sizeof *label);
  char(*range)[96] = pt_calloc((size_t)(nr * nc), sizeof *range);
  int w = 0;
  for (int64_t i = 0; i < nr * nc; i++) {
    const pt_layout_cell *b = &l->blocks[i];
    char list[240];
    list_devices(b->devices, b->ndevices, list, sizeof list);
    snprintf(label[i], 256, "dev %s", list);
    if (l->rank == 2)
      snprintf(range[i], 96, "[%lld:%lld, %lld:%lld]", (long long)b->lo[0], (long long)b->hi[0],
               (long long)b->lo[1], (long long)b->hi[1]);
    else
      snprintf(range[i], 96, "[%lld:%lld]", (long long)b->lo[0], (long long)b->hi[0]);
    int lw = (int)strlen(label[i]), rw = (int)strlen(range[i]);
    w = lw > w ? lw : w;
    w = rw > w ? rw : w;
  }
  w += 2;
  for (int64_t r = 0; r < nr; r++) {
    if (r == 0)
      rule((int)nc, w, "┌", "┬", "┐");
    else
      rule((int)nc, w, "├", "┼", "┤");
    for (int line = 0; line < 2; line++) {
      fputs("│", stdout);
      for (int64_t c = 0; c < nc; c++) {
        centred(line == 0 ? label[r * nc + c] : range[r * nc + c], w);
        fputs("│", stdout);
      }
      putchar('\n');
    }
  }
  rule((int)nc, w, "└", "┴", "┘");
  pt_free(label);
  pt_free(range);
}

void pt_cli_draw_layout(const pt_cli_sharded *x, const pt_value *v) {
  const pt_mesh *m = &x->m->mesh;
  pt_layout_map l;
  pt_layout_map_build(m, v, &l);
  printf("\nlayout of %%%s over %lld devices (numbered row-major over", VNAME(x, v),
         (long long)l.devices);
  for (int a = 0; a < m->naxes; a++)
    printf("%s%s", a ? " × " : " ", m->names[a]);
  printf(")");
  if (l.rank == 2)
    printf("; rows: dimension 0, columns: dimension 1");
  printf(":\n");
  if (!l.blocks) {
    printf("  (%lld blocks: too many to draw)\n", (long long)(l.rows * l.cols));
    pt_layout_map_free(&l);
    return;
  }
  draw_blocks(&l);
  pt_layout_map_free(&l);
  for (int a = 0; a < m->naxes; a++) {
    pt_axis_state s = pt_sharding_axis(v, a);
    if (s.kind == PT_SH_PARTIAL_SUM || s.kind == PT_SH_PARTIAL_MAX)
      printf("partial %s over '%s': each block is the %s of what the %lld devices along '%s' "
             "hold\n",
             s.kind == PT_SH_PARTIAL_SUM ? "sum" : "max", m->names[a],
             s.kind == PT_SH_PARTIAL_SUM ? "sum" : "max", (long long)m->sizes[a], m->names[a]);
    else if (s.kind == PT_SH_REPLICATED && m->sizes[a] > 1)
      printf("replicated along '%s': devices that differ only along '%s' hold the same block\n",
             m->names[a], m->names[a]);
    else if (s.kind == PT_SH_UNKNOWN)
      printf("undecided along '%s' (drawn as replicated)\n", m->names[a]);
  }
}
