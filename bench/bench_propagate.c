/* bench_propagate: how fast a tactic schedule applies to a large training
 * step. Builds a deep MLP with an embedding in front (the builder API),
 * derives its adam train_step (about 20,000 ops by default), and times a
 * four-tactic schedule on a 2 x 2 mesh: batch parallelism, Megatron pairs,
 * ZeRO-3 and a sharded embedding table. Each repetition parses a fresh copy
 * of the step (untimed) and times pt_schedule_apply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "build.h"
#include "passes.h"
#include "propagate.h"
#include "lower.h"
#include "tactics.h"

#define DEFAULT_OPS 20000
#define DEFAULT_REPS 5
#define MAX_REPS 101

static const char usage[] =
    "Usage: bench_propagate [--ops N] [--reps R] [--dump FILE]\n\n"
    "Builds a loss (an embedding lookup, then layers of dot + bias + relu, then\n"
    "a mean-squared error), derives its adam train_step with about N ops\n"
    "(default 20000; the depth is chosen to get there), and times applying a\n"
    "schedule of four tactics to it R times (default 5; best and median):\n"
    "data-parallel and zero-3 along 'batch', megatron and embedding along\n"
    "'model'. Prints the op count, propagation sweeps, conflicts, the times\n"
    "and a per-tactic split of one more run.\n\n"
    "Options:\n"
    "  --ops N      target op count of the train step (at least 200)\n"
    "  --reps R     repetitions (1..101)\n"
    "  --dump FILE  also write the generated module (with train_step) to FILE\n"
    "  -h, --help   show this help\n";

/* The schedule, as a user would write it. Even layers are split by columns
 * and odd ones by rows (Megatron pairs); odd layers' biases are added after
 * the pair's partial sum, so they stay replicated. */
static const char schedule_yaml[] = "mesh: {batch: 2, model: 2}\n"
                                    "schedule:\n"
                                    "  - name: data-parallel\n"
                                    "    axis: batch\n"
                                    "    shard: {tok: 0, y: 0}\n"
                                    "  - name: megatron\n"
                                    "    axis: model\n"
                                    "    shard:\n"
                                    "      \"layers.*[02468].w\": 1\n"
                                    "      \"layers.*[02468].b\": 0\n"
                                    "      \"layers.*[13579].w\": 0\n"
                                    "    replicate: [\"layers.*[13579].b\"]\n"
                                    "  - name: zero-3\n"
                                    "    axis: batch\n"
                                    "    shard:\n"
                                    "      \"layers.*\": 0\n"
                                    "      emb: 0\n"
                                    "      \"opt.*.*\": 0\n"
                                    "  - name: embedding\n"
                                    "    axis: model\n"
                                    "    shard: {emb: 0}\n";

/* A fresh, verified copy of the module's train_step from its text. */
static pt_func *fresh(const char *text, pt_module **m) {
  pt_diag *d = pt_diag_create(stderr);
  *m = pt_parse(text, strlen(text), "bench.pir", d);
  if (!*m || pt_verify_module(*m, d) != PT_OK) {
    fprintf(stderr, "bench_propagate: the printed module does not parse back\n");
    exit(1);
  }
  pt_diag_destroy(d);
  return pt_module_find_func(*m, "train_step");
}

int main(int argc, char **argv) {
  long target = DEFAULT_OPS, reps = DEFAULT_REPS;
  const char *dump = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    }
    if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc) {
      if (!pt_bench_parse_count(argv[++i], 200, 10000000, &target)) {
        fprintf(stderr, "bench_propagate: --ops needs an integer >= 200, not '%s'\n", argv[i]);
        return 2;
      }
    } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      if (!pt_bench_parse_count(argv[++i], 1, MAX_REPS, &reps)) {
        fprintf(stderr, "bench_propagate: --reps needs an integer in 1..%d, not '%s'\n", MAX_REPS,
                argv[i]);
        return 2;
      }
    } else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) {
      dump = argv[++i];
    } else {
      fprintf(stderr, "bench_propagate: unknown argument '%s'\n%s", argv[i], usage);
      return 2;
    }
  }

  int per_layer;
  int layers = pt_bench_step_layers(target, &per_layer);
  int nops;
  double t0 = pt_bench_now();
  pt_module *gen = pt_bench_build_step(layers, &nops);
  double tbuild = pt_bench_now() - t0;
  char *text = pt_print_module_str(gen);
  if (dump) {
    FILE *f = fopen(dump, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
      fprintf(stderr, "bench_propagate: cannot write %s\n", dump);
      return 1;
    }
  }
  pt_module_destroy(gen);

  pt_diag *d = pt_diag_create(stderr);
  pt_schedule *s = pt_schedule_parse(schedule_yaml, strlen(schedule_yaml), "bench.yaml", d);
  if (!s)
    return 1;

  printf("train_step of %d layers + embedding: %d ops (%d per layer), built in %.2f s\n", layers,
         nops, per_layer, tbuild);
  pt_bench_machine_line();
  double times[MAX_REPS];
  int sweeps = 0, conflicts = 0, after = 0;
  for (int r = 0; r < reps; r++) {
    pt_module *m;
    pt_func *f = fresh(text, &m);
    pt_prop_report rep = {0};
    if (pt_schedule_set_mesh(m, s, d) != PT_OK)
      return 1;
    double a = pt_bench_now();
    pt_status st = pt_schedule_apply(f, s, &rep, d);
    times[r] = pt_bench_now() - a;
    if (st != PT_OK) {
      pt_diag_print(d, stderr);
      return 1;
    }
    sweeps = rep.sweeps;
    conflicts = rep.nconflicts;
    after = f->nops;
    pt_prop_report_free(&rep);
    pt_module_destroy(m);
  }
  double sorted[MAX_REPS];
  memcpy(sorted, times, sizeof(double) * (size_t)reps);
  qsort(sorted, (size_t)reps, sizeof(double), pt_bench_cmp_double);
  double best = sorted[0], median = sorted[reps / 2];
  if (reps % 2 == 0)
    median = (sorted[reps / 2 - 1] + sorted[reps / 2]) / 2;
  printf("schedule: 4 tactics on {batch = 2, model = 2}; %d ops after splitting constants\n",
         after);
  printf("%-18s %10s %10s %12s %8s %10s\n", "stage", "best s", "median s", "ops/s (best)", "sweeps",
         "conflicts");
  printf("%-18s %10.4f %10.4f %12.0f %8d %10d\n", "schedule_apply", best, median,
         (double)nops / best, sweeps, conflicts);

  /* where the time goes: one more run, tactic by tactic */
  pt_module *m;
  pt_func *f = fresh(text, &m);
  if (pt_schedule_set_mesh(m, s, d) != PT_OK)
    return 1;
  for (int i = 0; i < s->ntactics; i++) {
    pt_prop_report rep = {0};
    double a = pt_bench_now();
    if (pt_tactic_apply(f, s, i, &rep, d) != PT_OK) {
      pt_diag_print(d, stderr);
      return 1;
    }
    double t = pt_bench_now() - a;
    char label[64];
    snprintf(label, sizeof label, "  %s", s->tactics[i].name);
    printf("%-18s %10.4f %10s %12s %8d %10d\n", label, t, "", "", rep.sweeps, rep.nconflicts);
    pt_prop_report_free(&rep);
  }
  double a = pt_bench_now();
  pt_propagate_finish(f);
  printf("%-18s %10.4f\n", "  finish", pt_bench_now() - a);
  pt_module_destroy(m);

  /* SPMD lowering of the same step on a 64-device mesh (8 x 8) */
  for (int i = 0; i < s->mesh.naxes; i++)
    s->mesh.sizes[i] = 8;
  double lt[MAX_REPS];
  int lops = 0, ncoll = 0;
  for (int r = 0; r < reps; r++) {
    f = fresh(text, &m);
    if (pt_schedule_set_mesh(m, s, d) != PT_OK || pt_schedule_apply(f, s, NULL, d) != PT_OK) {
      pt_diag_print(d, stderr);
      return 1;
    }
    pt_lower_stats st = {0};
    pt_lower_opts lo = {NULL, NULL, 0, &st};
    pt_func *g = NULL;
    a = pt_bench_now();
    if (pt_pass_lower(m, f, &lo, &g, d) != PT_OK) {
      pt_diag_print(d, stderr);
      return 1;
    }
    lt[r] = pt_bench_now() - a;
    lops = g->nops;
    ncoll = st.nrecords;
    pt_lower_stats_free(&st);
    pt_module_destroy(m);
  }
  memcpy(sorted, lt, sizeof(double) * (size_t)reps);
  qsort(sorted, (size_t)reps, sizeof(double), pt_bench_cmp_double);
  printf("lowering on {batch = 8, model = 8} (64 devices): best %.4f s, median %.4f s; "
         "%d local ops, %d collectives inserted\n",
         sorted[0], reps % 2 ? sorted[reps / 2] : (sorted[reps / 2 - 1] + sorted[reps / 2]) / 2,
         lops, ncoll);
  pt_schedule_destroy(s);
  pt_diag_destroy(d);
  pt_free(text);
  return 0;
}
