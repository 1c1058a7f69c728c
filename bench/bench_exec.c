/* The executor on one device: a model's train_step run step after step
 * with fusion on and off, with where the time goes by op kind. Prints
 * figures, never asserts times. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "exec.h"
#include "init.h"
#include "passes.h"

#ifndef PT_SOURCE_DIR
#define PT_SOURCE_DIR "."
#endif

static void usage(FILE *f) {
  fprintf(f, "usage: bench_exec [--model FILE] [--optimizer sgd|momentum|adam] [--steps N]\n"
             "Runs FILE's train_step (default examples/mlp.pir, sgd, 50 steps) in the\n"
             "executor on one device with fusion on and off; prints median step times\n"
             "and the time by op kind.\n");
}

typedef struct {
  double median, best;
  double kind[PT_OP_COUNT + 1]; /* seconds per op kind over one profiled step; [COUNT]: fused */
  double dot[16];               /* the first 16 dots' seconds */
  int count[PT_OP_COUNT + 1];
  int64_t peak;
  int groups;
  double create; /* seconds to plan, compile and allocate */
} result;

static void run(const pt_func *g, pt_tensor **args, int steps, bool fused, result *r) {
  setenv("PT_FUSION", fused ? "1" : "0", 1);
  pt_diag *d = pt_diag_create(stderr);
  double t0 = pt_bench_now();
  pt_exec *e = pt_exec_create(g, NULL, d);
  if (!e)
    exit(1);
  memset(r, 0, sizeof *r);
  r->create = pt_bench_now() - t0;
  pt_fusion_plan fp;
  pt_plan_fusion(g, fused, &fp);
  r->groups = fp.ngroups;
  r->peak = pt_exec_peak_bytes(e);
  double *t = calloc((size_t)steps, sizeof *t);
  for (int s = 0; s < steps + 2; s++) { /* two warm-up steps */
    double t0 = pt_bench_now();
    if (pt_exec_run(e, args, NULL, d) != PT_OK)
      exit(1);
    if (s >= 2)
      t[s - 2] = pt_bench_now() - t0;
  }
  qsort(t, (size_t)steps, sizeof *t, pt_bench_cmp_double);
  r->median = t[steps / 2];
  r->best = t[0];
  pt_exec_set_profile(e, true);
  for (int rep = 0; rep < 5; rep++) {
    pt_exec_run(e, args, NULL, d);
    const double *secs = pt_exec_op_seconds(e);
    for (int i = 0, nd = 0; i < g->nops; i++)
      if (g->ops[i]->code == PT_OP_DOT && nd < 16)
        r->dot[nd++] += secs[i] / 5;
    for (int i = 0; i < g->nops; i++) {
      int k = fp.group_of[i] >= 0 ? PT_OP_COUNT : (int)g->ops[i]->code;
      r->kind[k] += secs[i] / 5;
      if (rep == 0 && !fp.absorbed[i] && (fp.group_of[i] < 0 || fp.groups[fp.group_of[i]].at == i))
        r->count[k]++;
    }
  }
  pt_fusion_plan_free(&fp);
  free(t);
  pt_exec_destroy(e);
  pt_diag_destroy(d);
}

int main(int argc, char **argv) {
  const char *model = PT_SOURCE_DIR "/examples/mlp.pir", *optname = "sgd";
  int steps = 50;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--model") && i + 1 < argc)
      model = argv[++i];
    else if (!strcmp(argv[i], "--optimizer") && i + 1 < argc)
      optname = argv[++i];
    else if (!strcmp(argv[i], "--steps") && i + 1 < argc && atoi(argv[i + 1]) > 0)
      steps = atoi(argv[++i]);
    else {
      usage(stderr);
      return 2;
    }
  }
  pt_optim_kind kind = !strcmp(optname, "adam")       ? PT_OPTIM_ADAM
                       : !strcmp(optname, "momentum") ? PT_OPTIM_MOMENTUM
                                                      : PT_OPTIM_SGD;
  openblas_set_num_threads(1);
  pt_bench_machine_line();
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m = pt_parse_file(model, d);
  pt_func *g = NULL;
  pt_optimizer opt = pt_optimizer_default(kind);
  if (!m || pt_pass_train_step(m, "loss", &opt, NULL, &g, d) != PT_OK)
    return 1;
  pt_tensor **args = calloc((size_t)g->nargs, sizeof *args);
  for (int i = 0; i < g->nargs; i++) {
    pt_init_spec sp = pt_init_spec_for(g, g->args[i], 1);
    args[i] = pt_init_tensor(&sp, g->args[i]->type);
  }
  printf("%s @train_step (%s): %d ops, %d steps, one thread\n", model, optname, g->nops, steps);
  result r[2];
  run(g, args, steps, false, &r[0]);
  run(g, args, steps, true, &r[1]);
  printf("%-10s %12s %12s %10s %12s %12s\n", "fusion", "median ms", "best ms", "groups", "peak MB",
         "create ms");
  for (int f = 0; f < 2; f++)
    printf("%-10s %12.3f %12.3f %10d %12.2f %12.1f\n", f ? "on" : "off", r[f].median * 1e3,
           r[f].best * 1e3, r[f].groups, (double)r[f].peak / 1e6, r[f].create * 1e3);
  printf("speed-up %.2fx\n\ntime by op kind (one profiled step, ms):\n", r[0].median / r[1].median);
  printf("%-16s %8s %10s %8s %10s\n", "kind", "off: ops", "ms", "on: ops", "ms");
  for (int k = 0; k <= PT_OP_COUNT; k++)
    if (r[0].count[k] || r[1].count[k])
      printf("%-16s %8d %10.3f %8d %10.3f\n", k == PT_OP_COUNT ? "(fused loop)" : pt_op_name(k),
             r[0].count[k], r[0].kind[k] * 1e3, r[1].count[k], r[1].kind[k] * 1e3);
  printf("\nthe dots (fusion on):\n%-44s %10s %10s\n", "dot", "ms", "GFLOP/s");
  for (int i = 0, nd = 0; i < g->nops && nd < 16; i++) {
    const pt_op *op = g->ops[i];
    if (op->code != PT_OP_DOT)
      continue;
    char a[PT_TYPE_STRLEN], b[PT_TYPE_STRLEN], c[PT_TYPE_STRLEN];
    char line[3 * PT_TYPE_STRLEN + 16];
    snprintf(line, sizeof line, "%s . %s -> %s", pt_type_str(&op->operands[0]->type, a, sizeof a),
             pt_type_str(&op->operands[1]->type, b, sizeof b),
             pt_type_str(&op->result->type, c, sizeof c));
    /* 2 x the result's elements x the contracted size */
    int64_t con[PT_MAX_RANK];
    int nc = pt_op_ints(op, PT_A_LHS_CONTRACT, con, PT_MAX_RANK);
    double k = 1;
    for (int j = 0; j < nc; j++)
      k *= (double)op->operands[0]->type.dims[con[j]];
    double flops = 2.0 * (double)pt_type_numel(&op->result->type) * k;
    printf("%-44s %10.3f %10.1f\n", line, r[1].dot[nd] * 1e3, flops / r[1].dot[nd] / 1e9);
    nd++;
  }
  for (int i = 0; i < g->nargs; i++)
    pt_tensor_destroy(args[i]);
  free(args);
  pt_module_destroy(m);
  pt_diag_destroy(d);
  return 0;
}
