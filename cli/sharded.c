/* What the commands that partition a program share (cli/sharded.h): load
 * it, build its train_step if asked, read the tactic script, apply it
 * (tactics/analysis.h), and lower the result. */
#include <string.h>

#include "sharded.h"

bool pt_cli_shard_take(pt_cli_shard_args *a, int c, const char *arg) {
  const char **slot = c == 't'                    ? &a->tactics
                      : c == 'f'                  ? &a->func
                      : c == PT_CLI_OPT_OPTIMIZER ? &a->optimizer
                                                  : NULL;
  if (slot)
    *slot = arg;
  return slot != NULL;
}

int pt_cli_prepare(const pt_command *c, const pt_cli_shard_args *a, pt_schedule *given,
                   pt_cli_sharded *x) {
  memset(x, 0, sizeof *x);
  pt_optimizer opt;
  if (a->optimizer) {
    pt_cli_optim_args oa = {a->optimizer, NULL, NULL, NULL, NULL, NULL};
    int st = pt_cli_optimizer(c, &oa, &opt);
    if (st != PT_EXIT_OK) {
      pt_schedule_destroy(given);
      return st;
    }
  }
  x->d = pt_diag_create(stderr);
  x->s = given;
  x->m = pt_cli_load(a->file, x->d);
  if (!x->m)
    return PT_EXIT_INPUT;
  if (!x->s)
    x->s = pt_schedule_read(a->tactics, x->d);
  if (!x->s)
    return PT_EXIT_INPUT;
  const char *func = a->func;
  if (a->optimizer) {
    pt_func *loss = pt_cli_pick_func(x->m, NULL, c->name);
    if (!loss || pt_pass_train_step(x->m, loss->name, &opt, NULL, NULL, x->d) != PT_OK)
      return PT_EXIT_INPUT;
    if (!func)
      func = "train_step";
  }
  x->f = pt_cli_pick_func(x->m, func, c->name);
  if (!x->f)
    return PT_EXIT_INPUT;
  if (pt_schedule_set_mesh(x->m, x->s, x->d) != PT_OK)
    return PT_EXIT_INPUT;
  return PT_EXIT_OK;
}

int pt_cli_shard(const pt_command *c, const pt_cli_shard_args *a, pt_cli_sharded *x) {
  int st = pt_cli_prepare(c, a, NULL, x);
  if (st != PT_EXIT_OK)
    return st;
  if (pt_analysis_apply(&x->an, x->f, x->s, x->d) != PT_OK)
    return PT_EXIT_INPUT;
  return PT_EXIT_OK;
}

void pt_cli_sharded_free(pt_cli_sharded *x) {
  pt_analysis_free(&x->an);
  pt_schedule_destroy(x->s);
  pt_module_destroy(x->m);
  pt_diag_destroy(x->d);
  memset(x, 0, sizeof *x);
}

int pt_cli_lower(const pt_cli_sharded *x, bool carry, pt_lower_stats *stats, pt_func **g,
                 pt_diag *d) {
  const pt_schedule *sc = x->s;
  const char **names = pt_calloc((size_t)sc->ntactics + 1, sizeof *names);
  for (int i = 0; i < sc->ntactics; i++)
    names[i] = sc->tactics[i].name;
  pt_layout *carried = carry ? pt_calloc((size_t)x->f->nargs + 1, sizeof *carried) : NULL;
  pt_lower_opts lo = {NULL, names, sc->ntactics, stats, carried};
  pt_status ls = pt_pass_lower(x->m, x->f, &lo, g, d);
  pt_free(carried);
  pt_free(names);
  return ls == PT_OK && pt_verify_func(*g, d) == PT_OK ? PT_EXIT_OK : PT_EXIT_INPUT;
}

char *pt_cli_bytes(uint64_t n, char *buf, size_t cap) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)n;
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    u++;
  }
  if (u == 0 || v == (double)(uint64_t)v)
    snprintf(buf, cap, "%llu %s", (unsigned long long)v, units[u]);
  else
    snprintf(buf, cap, "%.1f %s", v, units[u]);
  return buf;
}
