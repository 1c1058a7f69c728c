/* The search as the commands run it (cli/autosearch.h): the mesh option and
 * a progress line redrawn on a terminal. */
#include <stdlib.h>
#include <string.h>

#include "autosearch.h"
#include "calibrate.h"
#include "sim.h"

pt_schedule *pt_cli_mesh_schedule(const pt_command *c, const char *mesh) {
  /* NAME=SIZE[,NAME=SIZE...]; the script reader then checks names and sizes */
  size_t n = strlen(mesh);
  char *text = pt_malloc(n * 2 + 64);
  size_t k = (size_t)sprintf(text, "mesh: {");
  const char *p = mesh;
  int axes = 0;
  while (*p) {
    const char *eq = strchr(p, '='), *comma = strchr(p, ',');
    if (!comma)
      comma = p + strlen(p);
    if (!eq || eq > comma || eq == p || eq + 1 == comma) {
      pt_free(text);
      pt_cli_usage(c,
                   "--mesh needs NAME=SIZE pairs separated by commas, like batch=8,model=8, "
                   "not '%s'",
                   mesh);
      return NULL;
    }
    for (const char *q = p; q < comma; q++)
      if (*q == ':' || *q == '{' || *q == '}' || *q == '"' || *q == '\'' || *q == ' ') {
        pt_free(text);
        pt_cli_usage(c, "--mesh '%s': axis names and sizes may not hold '%c'", mesh, *q);
        return NULL;
      }
    k += (size_t)sprintf(text + k, "%s%.*s: %.*s", axes++ ? ", " : "", (int)(eq - p), p,
                         (int)(comma - eq - 1), eq + 1);
    p = *comma ? comma + 1 : comma;
  }
  if (!axes) {
    pt_free(text);
    pt_cli_usage(c, "--mesh needs at least one axis, like batch=8");
    return NULL;
  }
  sprintf(text + k, "}\nschedule: []\n");
  pt_diag *d = pt_diag_create(NULL);
  pt_schedule *s = pt_schedule_parse(text, strlen(text), "--mesh", d);
  if (!s) {
    /* the reader's message without its location in the made-up text */
    const char *msg = pt_diag_error_count(d) ? pt_diag_text(d, 0) : "not a mesh";
    pt_cli_usage(c, "--mesh '%s': %s", mesh, msg);
  }
  pt_diag_destroy(d);
  pt_free(text);
  return s;
}

static void show(const pt_auto_progress *p, void *ud) {
  (void)ud;
  char t[32], b[32];
  fprintf(stderr, "\r\033[Ksearching: %d candidates (%d simulated), %.1f s, %s %d", p->candidates,
          p->simulated, p->seconds, p->restart ? "restart" : "depth",
          p->restart ? p->restart : p->level);
  if (p->have_best)
    fprintf(stderr, "; best %s, %s%s (%d decision%s)", pt_sim_time_str(p->best_step, t, sizeof t),
            pt_calibrate_bytes_str((double)p->best_peak, b, sizeof b),
            p->best_fits ? "" : " (does not fit)", p->best_decisions,
            p->best_decisions == 1 ? "" : "s");
  fflush(stderr);
}

int pt_cli_auto(pt_cli_sharded *x, const pt_sim_hw *hw, pt_auto_opts *o, bool progress,
                pt_auto_result *r) {
  o->hw = hw;
  if (progress) {
    o->progress = show;
    o->ud = NULL;
  }
  pt_status st = pt_auto_search(x->f, x->s, o, r, x->d);
  if (progress)
    fprintf(stderr, "\r\033[K");
  return st == PT_OK ? PT_EXIT_OK : PT_EXIT_INPUT;
}
