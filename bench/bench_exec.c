/* The executor on one device: models' train_steps run step after step with
 * fusion on (and off, unless --fused-only), with where the time goes: by op
 * kind, by class (GEMM, reductions, element-wise, data movement, scan), the
 * slowest ops and fused loops, and every dot's GFLOP/s beside cblas_sgemm's
 * alone at the same shape. Prints figures, never asserts times. */
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
  fprintf(f, "usage: bench_exec [--model FILE]... [--optimizer sgd|momentum|adam] [--steps N]\n"
             "                  [--fused-only] [--top N] [--gemm-list]\n"
             "Runs each FILE's train_step (default examples/mlp.pir; sgd; 50 steps) in the\n"
             "executor on one device, with fusion on and off (--fused-only: on only); prints\n"
             "the median and best step, the time by op kind and by class in five profiled\n"
             "steps, the N slowest ops or fused loops (--top, default 12) and every dot's\n"
             "GFLOP/s against cblas_sgemm alone at its GEMM shape. Unset OPENBLAS_CORETYPE\n"
             "and OPENBLAS_L2_SIZE for figures (bench/README.md).\n"
             "--gemm-list: runs nothing; prints each FILE's train_step dots on one line as\n"
             "bench/gemm_peak's specs, R*MxNxK/xy (R: batch points times dots of that GEMM).\n");
}

enum { PROF_STEPS = 7 };

typedef struct {
  double median, best;
  double kind[PT_OP_COUNT + 1]; /* seconds per op kind per step; [COUNT]: fused loops */
  int count[PT_OP_COUNT + 1];
  double *op_best; /* per op, the least of the profiled steps (a fused loop's at its last member) */
  int64_t peak;
  int groups;
  int compiled, shared; /* fused loops compiled, and calling another's code */
  double create;        /* seconds to plan, compile and allocate */
} result;

/* What op i's profiled time counts as: PT_OP_COUNT for a fused loop, else
 * its own kind (an epilogue's time is on its dot or all_reduce). */
static int kind_of(const pt_func *g, const pt_fusion_plan *fp, int i) {
  int gi = fp->group_of[i];
  if (gi < 0)
    return (int)g->ops[i]->code;
  int at = pt_fusion_timed_at(&fp->groups[gi]);
  return at == i && at != fp->groups[gi].at ? (int)g->ops[i]->code : PT_OP_COUNT;
}

/* Whether op i carries the time of what runs (an op alone, a group at its
 * last member, an epilogue at its dot or all_reduce). */
static bool timed_at(const pt_fusion_plan *fp, int i) {
  int gi = fp->group_of[i];
  if (gi < 0)
    return !fp->absorbed[i];
  return pt_fusion_timed_at(&fp->groups[gi]) == i;
}

static void run(const pt_func *g, pt_tensor **args, int steps, bool fused, result *r) {
  setenv("PT_FUSION", fused ? "1" : "0", 1);
  pt_diag *d = pt_diag_create(stderr);
  double t0 = pt_bench_now();
  pt_exec *e = pt_exec_create(g, NULL, d);
  if (!e)
    exit(1);
  memset(r, 0, sizeof *r);
  r->create = pt_bench_now() - t0;
  pt_exec_jit_counts(e, &r->compiled, &r->shared);
  r->op_best = calloc((size_t)g->nops + 1, sizeof *r->op_best);
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
  for (int rep = 0; rep < PROF_STEPS; rep++) {
    pt_exec_run(e, args, NULL, d);
    const double *secs = pt_exec_op_seconds(e);
    for (int i = 0; i < g->nops; i++) {
      r->op_best[i] = rep == 0 || secs[i] < r->op_best[i] ? secs[i] : r->op_best[i];
      if (rep == 0 && timed_at(&fp, i))
        r->count[kind_of(g, &fp, i)]++;
    }
  }
  /* by kind: each op's least time over the profiled steps, so that a step
   * preempted on a shared machine does not count */
  for (int i = 0; i < g->nops; i++)
    r->kind[kind_of(g, &fp, i)] += r->op_best[i];
  pt_fusion_plan_free(&fp);
  free(t);
  pt_exec_destroy(e);
  pt_diag_destroy(d);
  unsetenv("PT_FUSION");
}

/* The classes the issue asks the step's time to be split into. */
enum { C_GEMM, C_REDUCE, C_ELEM, C_FUSED, C_MOVE, C_SCAN, C_COMM, C_COUNT };
static const char *const class_name[C_COUNT] = {"GEMM (dot)",
                                                "reductions (reduce_*)",
                                                "element-wise (one op)",
                                                "fused element-wise loops",
                                                "data movement",
                                                "scan",
                                                "collectives"};

static int class_of(int kind) {
  if (kind == PT_OP_COUNT)
    return C_FUSED;
  switch ((pt_opcode)kind) {
  case PT_OP_DOT:
    return C_GEMM;
  case PT_OP_REDUCE_SUM:
  case PT_OP_REDUCE_MAX:
    return C_REDUCE;
  case PT_OP_SCAN:
    return C_SCAN;
  case PT_OP_BROADCAST:
  case PT_OP_RESHAPE:
  case PT_OP_TRANSPOSE:
  case PT_OP_SLICE:
  case PT_OP_CONCAT:
  case PT_OP_PAD:
  case PT_OP_TAKE:
  case PT_OP_SCATTER_ADD:
  case PT_OP_IOTA:
  case PT_OP_CONSTANT:
  case PT_OP_CONVERT:
    return C_MOVE;
  default:
    return pt_optab[kind].flags & PT_OPF_COLLECTIVE ? C_COMM : C_ELEM;
  }
}

/* cblas_sgemm alone on fresh operands at gemm's shape and orientation, the
 * batch as a loop of GEMMs as the executor runs it: best seconds of 10. */
static double gemm_alone(const pt_exec_gemm *gm) {
  int M = (int)gm->m, N = (int)gm->n, K = (int)gm->k;
  size_t na = (size_t)(gm->batch * gm->m * gm->k), nb = (size_t)(gm->batch * gm->k * gm->n),
         nc = (size_t)(gm->batch * gm->m * gm->n);
  float *a = malloc((na ? na : 1) * 4), *b = malloc((nb ? nb : 1) * 4),
        *c = malloc((nc ? nc : 1) * 4);
  for (size_t i = 0; i < na; i++)
    a[i] = (float)(i % 7) * 0.1f;
  for (size_t i = 0; i < nb; i++)
    b[i] = (float)(i % 5) * 0.1f;
  double best = 1e30;
  for (int rep = 0; rep < 10; rep++) {
    double t0 = pt_bench_now();
    for (int64_t i = 0; i < gm->batch; i++)
      if (!gm->flipped)
        cblas_sgemm(CblasRowMajor, gm->lhs_trans ? CblasTrans : CblasNoTrans,
                    gm->rhs_trans ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, a + i * gm->m * gm->k,
                    gm->lhs_trans ? M : K, b + i * gm->k * gm->n, gm->rhs_trans ? K : N, 0.0f,
                    c + i * gm->m * gm->n, N);
      else /* as the executor runs it: C^T = op(B)^T op(A)^T (its transpose not counted) */
        cblas_sgemm(CblasRowMajor, gm->rhs_trans ? CblasNoTrans : CblasTrans,
                    gm->lhs_trans ? CblasNoTrans : CblasTrans, N, M, K, 1.0f, b + i * gm->k * gm->n,
                    gm->rhs_trans ? K : N, a + i * gm->m * gm->k, gm->lhs_trans ? M : K, 0.0f,
                    c + i * gm->m * gm->n, M);
    double dt = pt_bench_now() - t0;
    best = dt < best ? dt : best;
  }
  free(a);
  free(b);
  free(c);
  return best;
}

static bool same_gemm(const pt_exec_gemm *a, const pt_exec_gemm *b) {
  return a->batch == b->batch && a->m == b->m && a->n == b->n && a->k == b->k &&
         a->lhs_trans == b->lhs_trans && a->rhs_trans == b->rhs_trans &&
         a->lhs_copied == b->lhs_copied && a->rhs_copied == b->rhs_copied &&
         a->flipped == b->flipped;
}

static const double *sort_secs; /* what by_secs_desc compares */
static int by_secs_desc(const void *x, const void *y) {
  const double *s = sort_secs;
  double a = s[*(const int *)x], b = s[*(const int *)y];
  return a < b ? 1 : a > b ? -1 : 0;
}

/* The op's kind and result type, with its group's size when fused. */
static void describe(const pt_func *g, const pt_fusion_plan *fp, int i, char *buf, size_t cap) {
  const pt_op *op = g->ops[i];
  char t[PT_TYPE_STRLEN];
  pt_type_str(&op->result->type, t, sizeof t);
  int gi = fp->group_of[i];
  if (gi < 0) {
    snprintf(buf, cap, "%s %s", pt_op_name(op->code), t);
    return;
  }
  const pt_fusion_group *grp = &fp->groups[gi];
  pt_type_str(&grp->shape, t, sizeof t); /* a row reduction's result is not the loop's shape */
  size_t k = (size_t)snprintf(buf, cap, "loop of %d over %s:", grp->nops, t);
  for (int j = 0; j < grp->nops && k < cap; j++)
    k += (size_t)snprintf(buf + k, cap - k, " %s", pt_op_name(g->ops[grp->ops[j]]->code));
}

/* model's @loss parsed, inlined and made a train step (exits on errors). */
static pt_module *train_step_of(const char *model, pt_optim_kind kind, pt_diag *d, pt_func **g) {
  pt_module *m = pt_parse_file(model, d);
  pt_optimizer opt = pt_optimizer_default(kind);
  *g = NULL;
  if (!m || pt_verify_module(m, d) != PT_OK || pt_pass_inline(m, NULL, d) != PT_OK ||
      pt_pass_train_step(m, "loss", &opt, NULL, g, d) != PT_OK)
    exit(1);
  return m;
}

/* The train step's dots as gemm_peak specs on one line: each GEMM shape
 * and orientation once, R* its batch points over all of its dots. A copied
 * operand counts as stored (n), a flip as the product it computes (gemm_peak
 * times both ways round), and A^T B^T as the B A it is the transpose of. */
static void gemm_list(const char *model, pt_optim_kind kind) {
  pt_diag *d = pt_diag_create(stderr);
  pt_func *g;
  pt_module *m = train_step_of(model, kind, d, &g);
  enum { MAXG = 256 };
  typedef struct {
    int64_t m, n, k, count;
    bool ta, tb;
  } shape;
  shape list[MAXG];
  int n = 0;
  for (int i = 0; i < g->nops; i++) {
    pt_exec_gemm gm;
    if (g->ops[i]->code != PT_OP_DOT || !pt_exec_dot_gemm(g->ops[i], &gm) ||
        gm.m * gm.n * gm.k * gm.batch == 0)
      continue;
    bool ta = gm.lhs_trans && !gm.lhs_copied, tb = gm.rhs_trans && !gm.rhs_copied;
    int64_t M = gm.m, N = gm.n;
    if (ta && tb) { /* C^T = B A */
      M = gm.n;
      N = gm.m;
      ta = tb = false;
    }
    int j = 0;
    while (j < n && !(list[j].m == M && list[j].n == N && list[j].k == gm.k && list[j].ta == ta &&
                      list[j].tb == tb))
      j++;
    if (j == n) {
      if (n == MAXG) {
        fprintf(stderr, "bench_exec: %s has more than %d GEMM shapes\n", model, MAXG);
        exit(1);
      }
      list[n++] = (shape){M, N, gm.k, 0, ta, tb};
    }
    list[j].count += gm.batch;
  }
  for (int j = 0; j < n; j++)
    printf("%s%lld*%lldx%lldx%lld/%c%c", j ? " " : "", (long long)list[j].count,
           (long long)list[j].m, (long long)list[j].n, (long long)list[j].k, list[j].ta ? 't' : 'n',
           list[j].tb ? 't' : 'n');
  printf("\n");
  pt_module_destroy(m);
  pt_diag_destroy(d);
}

static void bench_model(const char *model, pt_optim_kind kind, const char *optname, int steps,
                        bool both, int top) {
  pt_diag *d = pt_diag_create(stderr);
  pt_func *g;
  pt_module *m = train_step_of(model, kind, d, &g);
  pt_tensor **args = calloc((size_t)g->nargs, sizeof *args);
  for (int i = 0; i < g->nargs; i++) {
    pt_init_spec sp = pt_init_spec_for(g, g->args[i], 1);
    args[i] = pt_init_tensor(&sp, g->args[i]->type);
  }
  printf("\n%s @train_step (%s): %d ops, %d steps, one thread\n", model, optname, g->nops, steps);
  result r[2];
  memset(r, 0, sizeof r);
  if (both)
    run(g, args, steps, false, &r[0]);
  run(g, args, steps, true, &r[1]);
  printf("%-10s %12s %12s %10s %12s %12s\n", "fusion", "median ms", "best ms", "groups", "peak MB",
         "create ms");
  for (int f = both ? 0 : 1; f < 2; f++)
    printf("%-10s %12.3f %12.3f %10d %12.2f %12.1f\n", f ? "on" : "off", r[f].median * 1e3,
           r[f].best * 1e3, r[f].groups, (double)r[f].peak / 1e6, r[f].create * 1e3);
  printf("fused loops compiled %d, sharing another's code %d (PT_JIT_CACHE)\n", r[1].compiled,
         r[1].shared);
  if (both)
    printf("speed-up %.2fx\n", r[0].median / r[1].median);

  double cls[2][C_COUNT] = {{0}}, tot[2] = {0};
  for (int f = 0; f < 2; f++)
    for (int k = 0; k <= PT_OP_COUNT; k++) {
      cls[f][class_of(k)] += r[f].kind[k];
      tot[f] += r[f].kind[k];
    }
  printf("\ntime by class (ms per step: each op's least over %d profiled steps):\n%-26s %10s %7s "
         "%10s %7s\n",
         PROF_STEPS, "class", "off: ms", "%", "on: ms", "%");
  for (int c = 0; c < C_COUNT; c++)
    if (cls[0][c] > 0 || cls[1][c] > 0)
      printf("%-26s %10.3f %6.1f%% %10.3f %6.1f%%\n", class_name[c], cls[0][c] * 1e3,
             tot[0] > 0 ? 100 * cls[0][c] / tot[0] : 0, cls[1][c] * 1e3, 100 * cls[1][c] / tot[1]);
  printf("%-26s %10.3f %7s %10.3f\n", "all ops", tot[0] * 1e3, "", tot[1] * 1e3);

  printf("\ntime by op kind (ms per step):\n%-16s %8s %10s %8s %10s\n", "kind", "off: ops", "ms",
         "on: ops", "ms");
  for (int k = 0; k <= PT_OP_COUNT; k++)
    if (r[0].count[k] || r[1].count[k])
      printf("%-16s %8d %10.3f %8d %10.3f\n", k == PT_OP_COUNT ? "(fused loop)" : pt_op_name(k),
             r[0].count[k], r[0].kind[k] * 1e3, r[1].count[k], r[1].kind[k] * 1e3);

  pt_fusion_plan fp;
  pt_plan_fusion(g, true, &fp);
  int *ord = malloc(((size_t)g->nops + 1) * sizeof *ord), n = 0;
  for (int i = 0; i < g->nops; i++)
    if (g->ops[i]->code != PT_OP_DOT && r[1].op_best[i] > 0)
      ord[n++] = i;
  sort_secs = r[1].op_best;
  qsort(ord, (size_t)n, sizeof *ord, by_secs_desc);
  printf("\nthe %d slowest ops other than dot (fusion on, ms: least of the profiled steps):\n",
         top < n ? top : n);
  for (int j = 0; j < n && j < top; j++) {
    char what[512];
    describe(g, &fp, ord[j], what, sizeof what);
    printf("%8.3f  %s  (%s:%d)\n", r[1].op_best[ord[j]] * 1e3, what, g->ops[ord[j]]->loc.file,
           g->ops[ord[j]]->loc.line);
  }
  free(ord);
  pt_fusion_plan_free(&fp);

  printf("\nthe dots (fusion on): as GEMMs [batch] MxNxK, t = operand used transposed, c = "
         "copied first;\nms: the least of the profiled steps; alone: cblas_sgemm at that shape, "
         "best of 10\n%-22s %4s %10s %10s %10s %7s\n",
         "gemm", "ops", "ms", "GFLOP/s", "alone", "of it");
  printf("(f: computed as C^T and transposed, runtime/exec.c dot_flips)\n");
  /* dots of one GEMM shape summed */
  double dsum = 0, dalone = 0;
  bool *done = calloc((size_t)g->nops + 1, sizeof *done);
  for (int i = 0; i < g->nops; i++) {
    if (g->ops[i]->code != PT_OP_DOT || done[i])
      continue;
    pt_exec_gemm gm;
    if (!pt_exec_dot_gemm(g->ops[i], &gm))
      continue;
    double secs = 0;
    int count = 0;
    for (int j = i; j < g->nops; j++) {
      pt_exec_gemm gj;
      if (g->ops[j]->code != PT_OP_DOT || done[j] || !pt_exec_dot_gemm(g->ops[j], &gj) ||
          !same_gemm(&gj, &gm))
        continue;
      done[j] = true;
      secs += r[1].op_best[j];
      count++;
    }
    char shape[96];
    snprintf(shape, sizeof shape, "[%lld] %lldx%lldx%lld %s%s%s", (long long)gm.batch,
             (long long)gm.m, (long long)gm.n, (long long)gm.k,
             gm.lhs_copied  ? "c"
             : gm.lhs_trans ? "t"
                            : "n",
             gm.rhs_copied  ? "c"
             : gm.rhs_trans ? "t"
                            : "n",
             gm.flipped ? " f" : "");
    double flops = 2.0 * (double)(gm.batch * gm.m * gm.n) * (double)gm.k * count;
    double alone = gemm_alone(&gm) * count;
    dsum += secs;
    dalone += alone;
    printf("%-22s %4d %10.3f %10.1f %10.1f %6.0f%%\n", shape, count, secs * 1e3, flops / secs / 1e9,
           flops / alone / 1e9, 100 * alone / secs);
  }
  free(done);
  printf("all dots: %.3f ms per step, %.3f ms alone (%.0f%%)\n", dsum * 1e3, dalone * 1e3,
         100 * dalone / dsum);

  for (int f = 0; f < 2; f++) {
    free(r[f].op_best);
  }
  for (int i = 0; i < g->nargs; i++)
    pt_tensor_destroy(args[i]);
  free(args);
  pt_module_destroy(m);
  pt_diag_destroy(d);
}

int main(int argc, char **argv) {
  const char *models[16], *optname = "sgd";
  int nmodels = 0;
  long steps = 50, top = 12;
  bool both = true, list = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--model") && i + 1 < argc && nmodels < 16)
      models[nmodels++] = argv[++i];
    else if (!strcmp(argv[i], "--optimizer") && i + 1 < argc &&
             (!strcmp(argv[i + 1], "sgd") || !strcmp(argv[i + 1], "momentum") ||
              !strcmp(argv[i + 1], "adam")))
      optname = argv[++i];
    else if (!strcmp(argv[i], "--steps") && i + 1 < argc &&
             pt_bench_parse_count(argv[i + 1], 1, 100000, &steps))
      i++;
    else if (!strcmp(argv[i], "--top") && i + 1 < argc &&
             pt_bench_parse_count(argv[i + 1], 0, 100000, &top))
      i++;
    else if (!strcmp(argv[i], "--fused-only"))
      both = false;
    else if (!strcmp(argv[i], "--gemm-list"))
      list = true;
    else {
      usage(stderr);
      return 2;
    }
  }
  if (nmodels == 0)
    models[nmodels++] = PT_SOURCE_DIR "/examples/mlp.pir";
  pt_optim_kind kind = !strcmp(optname, "adam")       ? PT_OPTIM_ADAM
                       : !strcmp(optname, "momentum") ? PT_OPTIM_MOMENTUM
                                                      : PT_OPTIM_SGD;
  if (list) {
    for (int k = 0; k < nmodels; k++)
      gemm_list(models[k], kind);
    return 0;
  }
  openblas_set_num_threads(1);
  pt_bench_machine_line();
  for (int k = 0; k < nmodels; k++)
    bench_model(models[k], kind, optname, (int)steps, both, (int)top);
  return 0;
}
