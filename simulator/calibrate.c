/* Measuring this machine (calibrate.h): the plans, the programs each item
 * runs (IR text, parsed and run in the executor with profiling), and the
 * walk over the items on every rank at once. The fitting and the hardware
 * file are simulator/calibrate_fit.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calibrate.h"
#include "exec.h"
#include "mpi_coll.h"

/* The most figures one program yields (op classes per round). */
enum { MAX_CLASSES = 16 };

/* Element-wise inputs rotate over pairs of vectors this large in all (more
 * than the caches), as a step's large tensors far exceed them. */
#define EW_WORKING_SET ((int64_t)64 << 20)

/* ---- the plans ----------------------------------------------------------- */

static const int64_t full_gemm[][3] = {
    {8, 64, 64},       {8, 1024, 1024},   {32, 512, 1024},   {32, 1024, 1024},   {64, 64, 64},
    {64, 128, 128},    {64, 512, 1024},   {64, 1024, 512},   {64, 1024, 1024},   {128, 64, 128},
    {128, 128, 64},    {256, 256, 256},   {256, 512, 512},   {512, 256, 512},    {512, 512, 256},
    {512, 512, 512},   {512, 512, 2048},  {512, 2048, 512},  {1024, 512, 256},   {1024, 1024, 32},
    {1024, 1024, 64},  {1024, 512, 1024}, {1024, 1024, 512}, {1024, 1024, 1024}, {2048, 512, 512},
    {2048, 2048, 2048}};
static const int64_t quick_gemm[][3] = {{8, 64, 64}, {64, 1024, 1024}, {512, 512, 512}};
static const int64_t full_ew[] = {256,    1024,    4096,    16384,   65536,
                                  262144, 1048576, 4194304, 16777216};
static const int64_t quick_ew[] = {256, 65536, 1048576};
static const int64_t full_coll[] = {1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216};
static const int64_t quick_coll[] = {1024, 65536, 1048576};
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

pt_calibrate_plan pt_calibrate_default_plan(bool quick) {
  if (quick)
    return (pt_calibrate_plan){.quick = true,
                               .gemm = quick_gemm,
                               .ngemm = COUNT(quick_gemm),
                               .ew = quick_ew,
                               .nelem = COUNT(quick_ew),
                               .fn_n = 16384,
                               .coll = quick_coll,
                               .ncoll = COUNT(quick_coll),
                               .passes = 1,
                               .runs = 2,
                               .target = 0.004,
                               .max_reps = 20};
  return (pt_calibrate_plan){.quick = false,
                             .gemm = full_gemm,
                             .ngemm = COUNT(full_gemm),
                             .ew = full_ew,
                             .nelem = COUNT(full_ew),
                             .fn_n = 262144,
                             .coll = full_coll,
                             .ncoll = COUNT(full_coll),
                             .passes = 3,
                             .runs = 3,
                             .target = 0.05,
                             .max_reps = 400};
}

const int pt_calibrate_kinds[PT_CALIBRATE_NKINDS] = {
    PT_SIM_ALL_GATHER, PT_SIM_REDUCE_SCATTER, PT_SIM_ALL_REDUCE, PT_SIM_ALL_TO_ALL, PT_SIM_PERMUTE};

/* ---- the raw figures ----------------------------------------------------- */

static bool ascending(const int64_t *v, int n, int64_t least, int64_t multiple) {
  for (int i = 0; i < n; i++)
    if (v[i] < least || v[i] % multiple || (i && v[i] <= v[i - 1]))
      return false;
  return n > 0;
}

/* Why the plan cannot be measured, or NULL. */
static const char *plan_error(const pt_calibrate_plan *p) {
  if (p->ngemm < 1 || p->nelem < 1 || p->ncoll < 1 || !p->gemm || !p->ew || !p->coll)
    return "the plan needs at least one GEMM shape, element-wise size and collective size";
  for (int i = 0; i < p->ngemm; i++)
    if (p->gemm[i][0] < 1 || p->gemm[i][1] < 1 || p->gemm[i][2] < 1)
      return "a GEMM shape of the plan is empty";
  if (!ascending(p->ew, p->nelem, 4, 4))
    return "the plan's element-wise sizes must be ascending multiples of 4 bytes";
  if (!ascending(p->coll, p->ncoll, 4, 1))
    return "the plan's collective sizes must be ascending, from 4 bytes";
  if (p->fn_n < 512 || p->fn_n % 512)
    return "the plan's function ops need a positive multiple of 512 elements";
  if (p->passes < 1 || p->runs < 1 || p->max_reps < 1 || !(p->target > 0))
    return "the plan needs passes, runs and rounds >= 1 and a positive target";
  return NULL;
}

pt_status pt_calibrate_data_init(pt_calibrate_data *m, const pt_calibrate_plan *plan, int ranks,
                                 pt_diag *d) {
  *m = (pt_calibrate_data){0};
  const char *why = plan_error(plan);
  if (!why && ranks < 2)
    why = "the links need at least 2 MPI ranks to measure";
  if (why) {
    pt_diag_error(d, PT_NOLOC, "calibrate: %s", why);
    return PT_ERR;
  }
  m->plan = *plan;
  m->machine.ranks = ranks;
  m->groups = pt_calloc((size_t)ranks, sizeof *m->groups);
  for (int g = 2; g <= ranks; g++)
    if (ranks % g == 0 || (g & (g - 1)) == 0)
      m->groups[m->ngroups++] = g;
  size_t passes = (size_t)plan->passes, ncoll = (size_t)plan->ncoll;
  m->ew = pt_calloc(2 * (size_t)plan->nelem * passes, sizeof *m->ew);
  m->gemm = pt_calloc(3 * (size_t)plan->ngemm * passes, sizeof *m->gemm);
  m->fn = pt_calloc((size_t)pt_sim_nelement_ops * passes, sizeof *m->fn);
  m->coll = pt_calloc((size_t)m->ngroups * PT_CALIBRATE_NKINDS * ncoll * passes, sizeof *m->coll);
  m->coll_bytes = pt_calloc((size_t)m->ngroups * ncoll, sizeof *m->coll_bytes);
  for (int g = 0; g < m->ngroups; g++)
    for (int i = 0; i < plan->ncoll; i++) {
      int64_t G = m->groups[g], n = (plan->coll[i] / 4 + G - 1) / G * G;
      m->coll_bytes[(size_t)g * ncoll + (size_t)i] = 4.0 * (double)n;
    }
  return PT_OK;
}

void pt_calibrate_data_free(pt_calibrate_data *m) {
  pt_free(m->groups);
  pt_free(m->ew);
  pt_free(m->gemm);
  pt_free(m->fn);
  pt_free(m->coll);
  pt_free(m->coll_bytes);
  *m = (pt_calibrate_data){0};
}

/* ---- the programs -------------------------------------------------------- */

/* A program of one function whose ops are `reps` rounds of `nclasses` ops
 * (op i is of class i % nclasses), built by `emit` as IR text. */
typedef void (*emit_fn)(FILE *f, const void *arg, int reps);

/* The three orientations of one shape, as a training step has them: the
 * forward A.B, the input gradient A.B^T and the weight gradient A^T.B. */
static void emit_gemm(FILE *f, const void *arg, int reps) {
  const int64_t *s = arg;
  long long m = s[0], n = s[1], k = s[2];
  fprintf(f,
          "func @gemm(input %%a: f32[%lld,%lld], input %%at: f32[%lld,%lld], "
          "input %%b: f32[%lld,%lld], input %%bt: f32[%lld,%lld]) -> (r: f32[%lld,%lld]) {\n",
          m, k, k, m, k, n, n, k, m, n);
  for (int i = 0; i < reps; i++) {
    fprintf(f,
            "  %%nn%d = dot %%a, %%b {lhs_contract = [1], rhs_contract = [0]} : f32[%lld,%lld]\n",
            i, m, n);
    fprintf(f,
            "  %%nt%d = dot %%a, %%bt {lhs_contract = [1], rhs_contract = [1]} : f32[%lld,%lld]\n",
            i, m, n);
    fprintf(f,
            "  %%tn%d = dot %%at, %%b {lhs_contract = [0], rhs_contract = [0]} : f32[%lld,%lld]\n",
            i, m, n);
  }
  fprintf(f, "  return %%tn%d\n}\n", reps - 1);
}

/* The ops that compute more than they move (devices.element_ns), one of
 * each per round over n floats ([n / 512, 512] for the reductions, which
 * reduce the last dimension as softmax and normalisation do). */
static void emit_functions(FILE *f, const void *arg, int reps) {
  long long n = *(const int64_t *)arg, rows = n / 512;
  fprintf(f,
          "func @fn(input %%a: f32[%lld], input %%b: f32[%lld], input %%m: f32[%lld,512]) "
          "-> (r: f32[%lld]) {\n",
          n, n, rows, n);
  int i = 0;
  for (int r = 0; r < reps; r++)
    for (int k = 0; k < pt_sim_nelement_ops; k++, i++) {
      pt_opcode c = pt_sim_element_ops[k];
      if (c == PT_OP_REDUCE_SUM || c == PT_OP_REDUCE_MAX)
        fprintf(f, "  %%v%d = %s %%m {dims = [1]} : f32[%lld]\n", i, pt_op_name(c), rows);
      else if (pt_optab[c].arity == 2)
        fprintf(f, "  %%v%d = %s %%a, %%b : f32[%lld]\n", i, pt_op_name(c), n);
      else
        fprintf(f, "  %%v%d = %s %%a : f32[%lld]\n", i, pt_op_name(c), n);
    }
  fprintf(f, "  return %%v0\n}\n");
}

typedef struct {
  int64_t n; /* floats per vector */
  int pairs; /* of input vectors, used in turn */
} ew_item;

/* add and mul of two vectors of n floats, op i reading pair i % pairs: with
 * enough pairs an op's inputs are no longer in the caches when it runs, as
 * in a training step, whose large tensors far exceed them. */
static void emit_elementwise(FILE *f, const void *arg, int reps) {
  const ew_item *it = arg;
  long long n = it->n;
  fprintf(f, "func @ew(");
  for (int j = 0; j < it->pairs; j++)
    fprintf(f, "%sinput %%a%d: f32[%lld], input %%b%d: f32[%lld]", j ? ", " : "", j, n, j, n);
  fprintf(f, ") -> (r: f32[%lld]) {\n", n);
  int i = 0;
  for (int r = 0; r < reps; r++)
    for (int k = 0; k < 2; k++, i++)
      fprintf(f, "  %%v%d = %s %%a%d, %%b%d : f32[%lld]\n", i, k ? "mul" : "add", i % it->pairs,
              i % it->pairs, n);
  fprintf(f, "  return %%v%d\n}\n", i - 1);
}

typedef struct {
  int kind;         /* PT_SIM_* */
  int64_t group, n; /* group size; floats in the operand (a multiple of group) */
} coll_item;

/* One collective over the whole 1-D mesh, on dim 0 (the runtime's common
 * case: no packing). As in a step, its operand is a temporary computed just
 * before (an add, not timed) that dies at the collective, so an all_reduce
 * runs in place. */
static void emit_collective(FILE *f, const void *arg, int reps) {
  const coll_item *c = arg;
  long long g = c->group, n = c->n;
  long long rn = c->kind == PT_SIM_ALL_GATHER       ? n * g
                 : c->kind == PT_SIM_REDUCE_SCATTER ? n / g
                                                    : n;
  fprintf(f, "mesh {group = %lld}\n", g);
  fprintf(f, "func @coll(input %%a: f32[%lld], input %%b: f32[%lld]) -> (r: f32[%lld]) {\n", n, n,
          rn);
  for (int i = 0; i < reps; i++) {
    fprintf(f, "  %%t%d = add %%a, %%b : f32[%lld]\n", i, n);
    fprintf(f, "  %%c%d = %s %%t%d {", i, pt_sim_kind_name(c->kind), i);
    switch (c->kind) {
    case PT_SIM_ALL_GATHER:
    case PT_SIM_REDUCE_SCATTER:
      fprintf(f, "dim = 0, axes = [group]");
      break;
    case PT_SIM_ALL_REDUCE:
      fprintf(f, "reduce = sum, axes = [group]");
      break;
    case PT_SIM_ALL_TO_ALL:
      fprintf(f, "split_dim = 0, concat_dim = 0, axes = [group]");
      break;
    case PT_SIM_PERMUTE: /* a ring: every device sends and receives one block */
      fprintf(f, "axes = [group], pairs = [");
      for (long long p = 0; p < g; p++)
        fprintf(f, "%s[%lld, %lld]", p ? ", " : "", p, (p + 1) % g);
      fprintf(f, "]");
      break;
    default:
      PT_UNREACHABLE();
    }
    fprintf(f, "} : f32[%lld]\n", rn);
  }
  fprintf(f, "  return %%c%d\n}\n", reps - 1);
}

/* Parses and verifies generated text; a failure is a bug here. */
static pt_module *build(emit_fn emit, const void *arg, int reps, pt_diag *d) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  PT_ASSERT(f);
  emit(f, arg, reps);
  fclose(f);
  pt_module *m = pt_parse(text, strlen(text), "<calibrate>", d);
  free(text);
  if (m && pt_verify_module(m, d) != PT_OK) {
    pt_module_destroy(m);
    m = NULL;
  }
  if (!m) {
    pt_diag_print(d, stderr);
    PT_ASSERT(!"calibrate generates valid programs");
  }
  return m;
}

/* ---- measuring one item on every rank ------------------------------------ */

typedef struct {
  const pt_calibrate_opts *o;
  pt_calibrate_data *m;
  const pt_calibrate_plan *p;
  int rank, size;
  pt_diag *d;
  int done, total;   /* progress, in items */
  bool computes;     /* this rank measures compute (at most one rank per core) */
  double others_sum; /* rank 0: other runnable processes, summed over samples */
  int nsamples;
  pt_mpi_mesh **meshes; /* per group size, on its members */
  MPI_Comm *subs;
  bool *member;
} cal;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double pt_calibrate_median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Runnable processes on this node besides our ranks (which poll, so are
 * always runnable), from /proc/stat; -1 if unknown. */
static int other_processes(int ours) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f)
    return -1;
  char line[256];
  int n = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "procs_running %d", &n) == 1)
      break;
  fclose(f);
  return n < 0 ? -1 : n > ours ? n - ours : 0;
}

/* Runs the program once (with profiling); adds each op's seconds to its
 * class's samples when `keep`. */
static bool run_once(pt_exec *e, const pt_func *g, int nclasses, bool keep, double **samples,
                     int *nsamples, double *total, pt_diag *d) {
  if (pt_exec_run(e, NULL, NULL, d) != PT_OK)
    return false;
  const double *secs = pt_exec_op_seconds(e);
  *total = 0;
  for (int i = 0; i < g->nops; i++) {
    *total += secs[i];
    if (keep) {
      int k = i % nclasses;
      samples[k][nsamples[k]++] = secs[i];
    }
  }
  return true;
}

/* MPI_Allreduce over the world for the steps between measurements. A rank
 * that sits a measurement out waits here asleep, not polling, so that it
 * leaves the cores to the ranks measuring when there are more ranks than
 * cores. */
static void world_allreduce(const void *in, void *out, int n, MPI_Datatype t, MPI_Op op) {
  MPI_Request req;
  MPI_Iallreduce(in, out, n, t, op, MPI_COMM_WORLD, &req);
  for (int done = 0;;) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done)
      return;
    nanosleep(&(struct timespec){0, 50000}, NULL);
  }
}

/* True on every rank if ok is true on every rank. */
static bool agree(bool ok) {
  int mine = !ok, any = 0;
  world_allreduce(&mine, &any, 1, MPI_INT, MPI_MAX);
  return !any;
}

/* Builds the program with `reps` rounds and its executor (profiling, the
 * arguments filled with small values: no denormals or infs). */
static pt_exec *prepare(cal *c, pt_mpi_mesh *mm, emit_fn emit, const void *arg, int reps,
                        pt_module **m) {
  *m = build(emit, arg, reps, c->d);
  pt_exec *e = pt_exec_create((*m)->funcs[0], mm, c->d);
  if (!e)
    return NULL;
  pt_exec_set_profile(e, true);
  for (int i = 0; i < (*m)->funcs[0]->nargs; i++) {
    pt_tensor *t = pt_exec_arg_buffer(e, i);
    float *x = t->data;
    for (int64_t j = 0, n = pt_type_numel(&t->type); j < n; j++)
      x[j] = 0.25f + 0.125f * (float)(j % 5);
  }
  return e;
}

/* The measured runs of a prepared program: med[k] the median seconds of an
 * op of class k. */
static bool timed_runs(cal *c, pt_mpi_mesh *mm, pt_exec *e, const pt_func *g, int nclasses,
                       int reps, double *med) {
  double probe;
  bool ok = true;
  if (reps > 1)
    ok = run_once(e, g, nclasses, false, NULL, NULL, &probe, c->d);
  double *samples[MAX_CLASSES];
  int nsamples[MAX_CLASSES] = {0};
  for (int k = 0; k < nclasses; k++)
    samples[k] = pt_malloc((size_t)(reps * c->p->runs + 1) * sizeof(double));
  if (ok && mm) /* the ranks of a group start together */
    MPI_Barrier(pt_mpi_mesh_comm(mm));
  for (int r = 0; ok && r < c->p->runs; r++)
    ok = run_once(e, g, nclasses, true, samples, nsamples, &probe, c->d);
  for (int k = 0; k < nclasses; k++) {
    if (ok)
      med[k] = pt_calibrate_median(samples[k], nsamples[k]);
    pt_free(samples[k]);
  }
  return ok;
}

/* Every rank calls it with the same item; the ranks with take_part false
 * (not in a group of this size) sit it out but keep step with the others.
 * Times the program's ops in the executor -- a probe run decides how many
 * rounds fill plan.target, the slowest rank's probe deciding for all -- and
 * leaves in med[k] the median seconds of an op of class k on this rank (0
 * when sitting out). False on every rank if any rank failed. */
static bool measure(cal *c, pt_mpi_mesh *mm, bool take_part, emit_fn emit, const void *arg,
                    int nclasses, double *med) {
  double probe = 0;
  pt_module *m = NULL;
  pt_exec *e = NULL;
  for (int k = 0; k < nclasses; k++)
    med[k] = 0;
  bool ok = !take_part || (e = prepare(c, mm, emit, arg, 1, &m)) != NULL;
  if (!agree(ok)) /* before the first collective, so that no rank waits in it */
    goto done;
  if (take_part) /* a warm-up run, then the probe */
    ok = run_once(e, m->funcs[0], nclasses, false, NULL, NULL, &probe, c->d) &&
         run_once(e, m->funcs[0], nclasses, false, NULL, NULL, &probe, c->d);
  double in[2] = {probe, ok ? 0 : 1}, out[2];
  world_allreduce(in, out, 2, MPI_DOUBLE, MPI_MAX);
  if ((ok = out[1] == 0) == false)
    goto done;
  double want = c->p->target / c->p->runs / (out[0] > 1e-9 ? out[0] : 1e-9);
  int reps = want >= c->p->max_reps ? c->p->max_reps : want <= 1 ? 1 : (int)ceil(want);
  if (take_part && reps > 1) {
    pt_exec_destroy(e);
    pt_module_destroy(m);
    ok = (e = prepare(c, mm, emit, arg, reps, &m)) != NULL;
  }
  if (!(ok = agree(ok)))
    goto done;
  if (take_part)
    ok = timed_runs(c, mm, e, m->funcs[0], nclasses, reps, med);
  ok = agree(ok);
done:
  pt_exec_destroy(e);
  pt_module_destroy(m);
  return ok;
}

/* The mean over the ranks that took part of each med[k]. */
static void mean_over_ranks(bool take_part, double *med, int n) {
  double in[MAX_CLASSES + 1], out[MAX_CLASSES + 1];
  for (int k = 0; k < n; k++)
    in[k] = take_part ? med[k] : 0;
  in[n] = take_part;
  world_allreduce(in, out, n + 1, MPI_DOUBLE, MPI_SUM);
  for (int k = 0; k < n; k++)
    med[k] = out[n] > 0 ? out[k] / out[n] : 0;
}

/* One item done: rank 0 samples how busy its node is, then every rank
 * reports the item. */
static void item_done(cal *c, pt_calibrate_event ev) {
  c->done++;
  if (c->rank == 0) {
    int others = other_processes(c->m->machine.per_node);
    if (others >= 0) {
      c->others_sum += others;
      if (others > c->m->machine.others_max)
        c->m->machine.others_max = others;
      c->nsamples++;
    }
  }
  if (!c->o->progress)
    return;
  ev.rank = c->rank;
  ev.done = c->done;
  ev.total = c->total;
  ev.data = c->m;
  c->o->progress(c->o->progress_ctx, &ev);
}

char *pt_calibrate_event_str(const pt_calibrate_event *ev, char *buf, size_t cap) {
  const pt_calibrate_data *m = ev->data;
  const pt_calibrate_plan *p = &m->plan;
  const double *t = ev->secs;
  char tag[32] = "", s1[32], s2[32], s3[32];
  if (p->passes > 1)
    snprintf(tag, sizeof tag, "pass %d/%d: ", ev->pass + 1, p->passes);
  switch (ev->kind) {
  case PT_CALIBRATE_STARTED: {
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    int per_node = m->machine.per_node;
    snprintf(buf, cap,
             "measuring on %d ranks (%d per node, %ld cores%s): %d GEMM shapes, %d element-wise "
             "sizes, %d collectives x %d sizes x %d group size%s",
             m->machine.ranks, per_node, nproc, per_node > nproc ? ", oversubscribed" : "",
             p->ngemm, p->nelem, PT_CALIBRATE_NKINDS, p->ncoll, m->ngroups,
             m->ngroups == 1 ? "" : "s");
    break;
  }
  case PT_CALIBRATE_ELEMENTWISE:
    snprintf(buf, cap, "%selement-wise add, mul of %s: %s, %s", tag,
             pt_calibrate_bytes_str((double)p->ew[ev->item], s1, sizeof s1),
             pt_calibrate_secs_str(t[0], s2, sizeof s2),
             pt_calibrate_secs_str(t[1], s3, sizeof s3));
    break;
  case PT_CALIBRATE_FUNCTIONS: {
    double n = (double)p->fn_n;
    snprintf(buf, cap,
             "%sexp, tanh, ..., reduce_max of %lld elements: %.1f ns, %.1f ns, ..., %.2f ns per "
             "element",
             tag, (long long)p->fn_n, t[0] / n * 1e9, t[2] / n * 1e9,
             t[pt_sim_nelement_ops - 1] / n * 1e9);
    break;
  }
  case PT_CALIBRATE_GEMM: {
    const int64_t *s = p->gemm[ev->item];
    double flops = 2.0 * (double)s[0] * (double)s[1] * (double)s[2];
    snprintf(buf, cap, "%sgemm %lldx%lldx%lld: %.1f GFLOP/s (A.B %.1f, A.B^T %.1f, A^T.B %.1f)",
             tag, (long long)s[0], (long long)s[1], (long long)s[2],
             3 * flops / (t[0] + t[1] + t[2]) / 1e9, flops / t[0] / 1e9, flops / t[1] / 1e9,
             flops / t[2] / 1e9);
    break;
  }
  case PT_CALIBRATE_COLLECTIVE: {
    double bytes = m->coll_bytes[(size_t)ev->group * (size_t)p->ncoll + (size_t)ev->item];
    snprintf(buf, cap, "%s%s over %lld ranks, %s: %s", tag,
             pt_sim_kind_name(pt_calibrate_kinds[ev->coll_kind]), (long long)m->groups[ev->group],
             pt_calibrate_bytes_str(bytes, s1, sizeof s1),
             pt_calibrate_secs_str(t[0], s2, sizeof s2));
    break;
  }
  }
  return buf;
}

/* ---- the walk over the items --------------------------------------------- */

/* One pass over every item: each figure into the data. False on every rank
 * if any rank failed. */
static bool one_pass(cal *c, int pass) {
  pt_calibrate_data *m = c->m;
  const pt_calibrate_plan *p = c->p;
  bool fine = true;
  double med[MAX_CLASSES];
  for (int i = 0; fine && i < p->nelem; i++) {
    int64_t pairs = (EW_WORKING_SET / (2 * p->ew[i]) + 1) & ~(int64_t)1;
    ew_item it = {p->ew[i] / 4, pairs < 2 ? 2 : pairs > 64 ? 64 : (int)pairs};
    fine = measure(c, NULL, c->computes, emit_elementwise, &it, 2, med);
    mean_over_ranks(c->computes, med, 2);
    double *fig = pt_calibrate_ew(m, i, pass);
    memcpy(fig, med, 2 * sizeof *med);
    item_done(
        c, (pt_calibrate_event){
               .kind = PT_CALIBRATE_ELEMENTWISE, .pass = pass, .item = i, .ok = fine, .secs = fig});
  }
  if (fine) {
    fine = measure(c, NULL, c->computes, emit_functions, &p->fn_n, pt_sim_nelement_ops, med);
    mean_over_ranks(c->computes, med, pt_sim_nelement_ops);
    for (int k = 0; k < pt_sim_nelement_ops; k++)
      *pt_calibrate_fn(m, k, pass) = med[k];
    item_done(c, (pt_calibrate_event){
                     .kind = PT_CALIBRATE_FUNCTIONS, .pass = pass, .ok = fine, .secs = med});
  }
  for (int i = 0; fine && i < p->ngemm; i++) {
    fine = measure(c, NULL, c->computes, emit_gemm, p->gemm[i], 3, med);
    mean_over_ranks(c->computes, med, 3);
    double *fig = pt_calibrate_gemm(m, i, pass);
    memcpy(fig, med, 3 * sizeof *med);
    item_done(c, (pt_calibrate_event){
                     .kind = PT_CALIBRATE_GEMM, .pass = pass, .item = i, .ok = fine, .secs = fig});
  }
  for (int g = 0; fine && g < m->ngroups; g++)
    for (int k = 0; fine && k < PT_CALIBRATE_NKINDS; k++)
      for (int i = 0; fine && i < p->ncoll; i++) {
        double bytes = m->coll_bytes[(size_t)g * (size_t)p->ncoll + (size_t)i];
        coll_item it = {pt_calibrate_kinds[k], m->groups[g], (int64_t)(bytes / 4)};
        fine = measure(c, c->meshes[g], c->member[g], emit_collective, &it, 2, med);
        med[0] = med[1]; /* the collective, not the add before it */
        mean_over_ranks(c->member[g], med, 1);
        double *fig = pt_calibrate_coll(m, g, k, i, pass);
        *fig = med[0];
        item_done(c, (pt_calibrate_event){.kind = PT_CALIBRATE_COLLECTIVE,
                                          .pass = pass,
                                          .item = i,
                                          .group = g,
                                          .coll_kind = k,
                                          .ok = fine,
                                          .secs = fig});
      }
  return fine;
}

/* The machine: ranks per node (the memory each gets, whether the link is
 * shm), the cores of every node, and who computes. */
static void find_machine(cal *c) {
  pt_calibrate_machine *mc = &c->m->machine;
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node);
  int local_rank = 0, heads = 0;
  MPI_Comm_size(node, &mc->per_node);
  MPI_Comm_rank(node, &local_rank);
  long cores = sysconf(_SC_NPROCESSORS_ONLN), heads_cores = local_rank == 0 ? cores : 0;
  MPI_Allreduce(&heads_cores, &mc->cores, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  MPI_Comm_free(&node);
  int head = local_rank == 0;
  MPI_Allreduce(&head, &heads, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  mc->nodes = heads;
  /* rank 0's node decides per_node, as it samples the load */
  MPI_Bcast(&mc->per_node, 1, MPI_INT, 0, MPI_COMM_WORLD);
  c->computes = local_rank < cores;
}

/* The collectives' groups: N/G groups of G consecutive ranks, all at once
 * (as a mesh axis's groups run together in a step); the ranks left over sit
 * it out. False on every rank if any failed. */
static bool make_groups(cal *c) {
  int n = c->m->ngroups;
  c->meshes = pt_calloc((size_t)n, sizeof *c->meshes);
  c->subs = pt_calloc((size_t)n, sizeof *c->subs);
  c->member = pt_calloc((size_t)n, sizeof *c->member);
  bool fine = true;
  for (int g = 0; g < n; g++) {
    int G = (int)c->m->groups[g];
    c->member[g] = c->rank < c->size / G * G;
    MPI_Comm_split(MPI_COMM_WORLD, c->member[g] ? c->rank / G : MPI_UNDEFINED, c->rank,
                   &c->subs[g]);
    if (c->member[g]) {
      pt_mesh mesh = {1, {"group"}, {G}, PT_NOLOC};
      fine &= (c->meshes[g] = pt_mpi_mesh_create(&mesh, c->subs[g], c->d)) != NULL;
    }
  }
  return agree(fine);
}

static void free_groups(cal *c) {
  for (int g = 0; g < c->m->ngroups; g++) {
    pt_mpi_mesh_destroy(c->meshes[g]);
    if (c->subs[g] != MPI_COMM_NULL)
      MPI_Comm_free(&c->subs[g]);
  }
  pt_free(c->meshes);
  pt_free(c->subs);
  pt_free(c->member);
}

pt_status pt_calibrate_measure(const pt_calibrate_opts *o, pt_calibrate_data *out, pt_diag *d) {
  double t0 = now();
  cal c = {.o = o, .m = out, .p = &out->plan, .d = d};
  MPI_Comm_rank(MPI_COMM_WORLD, &c.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &c.size);
  if (pt_calibrate_data_init(out, &o->plan, c.size, d) != PT_OK)
    return PT_ERR;
  PT_ASSERT(pt_sim_nelement_ops <= MAX_CLASSES);
  find_machine(&c);
  c.total =
      c.p->passes * (c.p->ngemm + c.p->nelem + 1 + out->ngroups * PT_CALIBRATE_NKINDS * c.p->ncoll);
  if (o->progress)
    o->progress(o->progress_ctx, &(pt_calibrate_event){.kind = PT_CALIBRATE_STARTED,
                                                       .rank = c.rank,
                                                       .total = c.total,
                                                       .ok = true,
                                                       .data = out});
  /* Every item is measured once per pass, the passes one after another. */
  bool fine = make_groups(&c);
  for (int pass = 0; fine && pass < c.p->passes; pass++)
    fine = one_pass(&c, pass);
  free_groups(&c);
  if (!fine) {
    pt_calibrate_data_free(out);
    return PT_ERR;
  }
  double load[2] = {c.nsamples ? c.others_sum / c.nsamples : 0, out->machine.others_max};
  MPI_Bcast(load, 2, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  out->machine.others = load[0];
  out->machine.others_max = load[1];
  out->machine.seconds = now() - t0;
  return PT_OK;
}
