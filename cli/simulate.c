/* What `partita sim` and `partita explore` share (cli/simulate.h): read a
 * hardware file (warning when it was measured elsewhere), shard, lower and
 * simulate a program, and the columns their tables print in. */
#include <stdlib.h>
#include <string.h>

#include "explore.h"
#include "simulate.h"

char *pt_cli_mesh_str(const pt_mesh *m, char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < m->naxes && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%s=%lld", i ? "," : "", m->names[i],
                          (long long)m->sizes[i]);
  if (!m->naxes)
    snprintf(buf, cap, "(one device)");
  return buf;
}

/* A file `partita calibrate` wrote records the machine in its header
 * ("cpu \"NAME\"", "OPENBLAS_CORETYPE X"); its figures are this machine's
 * only if both match here. Warns (never fails) when either differs. */
static void warn_if_other_machine(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    return;
  char line[512], cpu[256] = "", coretype[128] = "";
  for (int n = 0; n < 40 && fgets(line, sizeof line, f) && line[0] == '#'; n++) {
    const char *c = strstr(line, "cpu \"");
    if (c && !cpu[0]) {
      c += 5;
      const char *e = strchr(c, '"');
      if (e)
        snprintf(cpu, sizeof cpu, "%.*s", (int)(e - c), c);
    }
    const char *o = strstr(line, "OPENBLAS_CORETYPE ");
    if (o && !coretype[0] && sscanf(o + 18, "%127[^,. \n]", coretype) != 1)
      coretype[0] = 0;
  }
  fclose(f);
  char here[256];
  pt_cpu_model(here, sizeof here);
  const char *ct = getenv("OPENBLAS_CORETYPE");
  const char *here_ct = ct && *ct ? ct : "unset";
  if (cpu[0] && strcmp(cpu, here) != 0)
    fprintf(stderr,
            "%s: warning: measured on cpu \"%s\", but this machine's is \"%s\": predicted "
            "times are the other machine's (calibrate here: mpirun -n 2 partita calibrate -o "
            "FILE)\n",
            path, cpu, here);
  else if (coretype[0] && strcmp(coretype, here_ct) != 0)
    fprintf(stderr,
            "%s: warning: measured with OPENBLAS_CORETYPE %s, but it is %s here: OpenBLAS runs "
            "other kernels, so predicted compute times may be off\n",
            path, coretype, here_ct);
}

pt_sim_hw *pt_cli_read_hw(const char *path, pt_diag **hwd) {
  *hwd = pt_diag_create(stderr);
  pt_sim_hw *hw = pt_sim_hw_read(path, *hwd);
  if (hw)
    warn_if_other_machine(path);
  return hw;
}

int pt_cli_simulate(const pt_command *c, const pt_cli_shard_args *a, const pt_sim_hw *hw,
                    pt_diag *hwd, pt_cli_sim *out) {
  memset(out, 0, sizeof *out);
  int status = pt_cli_shard(c, a, &out->x);
  if (status != PT_EXIT_OK)
    return status;
  const pt_schedule *sc = out->x.s;
  const char **names = pt_calloc((size_t)sc->ntactics + 1, sizeof *names);
  for (int i = 0; i < sc->ntactics; i++)
    names[i] = sc->tactics[i].name;
  pt_lower_stats stats = {0};
  /* a train_step as `partita train` runs it */
  status = pt_cli_lower(&out->x, a->optimizer != NULL, &stats, &out->g, out->x.d);
  if (status == PT_EXIT_OK) {
    out->tactic_of = pt_sim_tactic_of(out->g, &stats, names);
    status = pt_sim_run(hw, out->g, &out->r, hwd) == PT_OK ? PT_EXIT_OK : PT_EXIT_INPUT;
  }
  pt_lower_stats_free(&stats);
  pt_free(names);
  return status;
}

void pt_cli_sim_free(pt_cli_sim *s) {
  pt_free(s->tactic_of);
  pt_sim_result_free(&s->r);
  pt_cli_sharded_free(&s->x);
  memset(s, 0, sizeof *s);
}

int pt_cli_width(const char *s) {
  return pt_sim_text_width(s);
}

void pt_cli_col(const char *s, int w) {
  int pad = (w < 0 ? -w : w) - pt_cli_width(s);
  if (w < 0)
    fputs(s, stdout);
  for (int i = 0; i < pad; i++)
    fputc(' ', stdout);
  if (w >= 0)
    fputs(s, stdout);
}
