/* `mpirun -n N partita calibrate -o HW.yaml`: measures this machine through
 * the runtime's own code paths -- GEMMs and element-wise ops in the
 * executor (runtime/exec.c), collectives in the MPI runtime
 * (runtime/mpi_coll.c) -- and writes a hardware file (docs/hardware.md)
 * whose predictions match what `partita train` runs. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "cli.h"
#include "exec.h"
#include "hw.h"
#include "mpi_coll.h"

static int run(int argc, char **argv);

const pt_command pt_cmd_calibrate = {
    "calibrate", run, "measure this machine and write a hardware file for sim (under mpirun)",
    "Usage: mpirun -n N partita calibrate -o HW.yaml [--quick] [--memory SIZE]\n"
    "                                     [--name NAME]\n\n"
    "Measures this machine the way `partita train` uses it -- one MPI rank per\n"
    "device -- and writes a hardware file for `partita sim` and `partita explore`\n"
    "(docs/hardware.md, \"Calibrating\"). Every figure is measured through the\n"
    "runtime's own code: the executor's dot (cblas_sgemm) and element-wise kernels,\n"
    "and its MPI collectives on communicators of 2..N ranks:\n"
    "  - GEMM rates at a grid of shapes (those of the shipped examples among them),\n"
    "    each over the three orientations a training step uses\n"
    "  - the element-wise rate from memory (add and mul, 256 B to 16 MiB, the rate\n"
    "    fitted to the sizes from 1 MiB) and the fixed cost of an op\n"
    "  - alpha and beta of all_gather, reduce_scatter, all_reduce, all_to_all and\n"
    "    collective_permute for each group size (the divisors of N and the powers\n"
    "    of two up to N), least squares over operands from 1 KiB to 16 MiB\n"
    "Each figure is the median of three passes over all of them, a pass's the\n"
    "median of repeats averaged over the ranks, which measure at once as in a\n"
    "training step (compute on at most one rank per core: devices.cores says how\n"
    "many). Rank 0 shows progress on stderr and writes the file atomically, its\n"
    "comments saying when, where, how busy the machine was and how well the lines\n"
    "fit. A full run takes about 30 s with 2 ranks here; run it on an idle machine,\n"
    "one rank per core, with OPENBLAS_NUM_THREADS as you train (1 when ranks fill\n"
    "the cores).\n\n"
    "Options:\n"
    "  -o, --out FILE     the hardware file to write (required)\n"
    "      --quick        a few points of each, one pass (a second; for tests)\n"
    "      --memory SIZE  devices.memory as given, like 8GiB (default: this node's\n"
    "                     RAM divided by the ranks running on it)\n"
    "      --name NAME    the machine's name in the file (default: this-machine)\n"
    "  -h, --help         show this help\n\n"
    "Exit status: 0 success, 1 an unwritable file, too few ranks or an MPI error,\n"
    "2 bad usage.\n"};

/* ---- measuring ---------------------------------------------------------- */

enum { MAX_CLASSES = 16 };

/* Element-wise inputs rotate over pairs of vectors this large in all (more
 * than the caches); operands of EW_FROM_MEMORY bytes and more then stream
 * from memory, as a step's large tensors do. */
#define EW_WORKING_SET ((int64_t)64 << 20)
#define EW_FROM_MEMORY ((int64_t)1 << 20)

typedef struct {
  int rank, size;
  bool root;
  bool quick;
  pt_diag *d;
  double target;   /* seconds of measured runs per item */
  int runs;        /* measured runs per item (after a warm-up run) */
  int passes;      /* over all the items */
  int done, total; /* progress, in items */
  double t0;
  int per_node;              /* ranks on this node, all busy while measuring */
  int local_rank;            /* on this node */
  long cores;                /* of this node */
  double others, others_max; /* other runnable processes: sum over samples, max */
  int nsamples;
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

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static char *bytes_str(double b, char *buf, size_t cap) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (b >= 1024 && u < 3)
    b /= 1024, u++;
  snprintf(buf, cap, b == floor(b) ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

static char *secs_str(double s, char *buf, size_t cap) {
  if (s < 1e-3)
    snprintf(buf, cap, "%.3g us", s * 1e6);
  else if (s < 1)
    snprintf(buf, cap, "%.3g ms", s * 1e3);
  else
    snprintf(buf, cap, "%.3g s", s);
  return buf;
}

/* Runnable processes on this node besides our ranks (which poll, so are
 * always runnable), from /proc/stat; -1 if unknown. Other work competing
 * for the cores makes every figure pessimistic. */
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

static void progress(cal *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(cal *c, const char *fmt, ...) {
  c->done++;
  if (!c->root)
    return;
  int others = other_processes(c->per_node);
  if (others >= 0) {
    c->others += others;
    c->others_max = others > c->others_max ? others : c->others_max;
    c->nsamples++;
  }
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "calibrate: [%3d%%] ", c->total ? 100 * c->done / c->total : 100);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* A program of one function whose ops are `reps` rounds of `nclasses` ops
 * (op i is of class i % nclasses), built by `emit` as IR text. */
typedef void (*emit_fn)(FILE *f, const void *arg, int reps);

/* Parses and verifies generated text; a failure is a bug here. */
static pt_module *parse_program(const char *text, pt_diag *d) {
  pt_module *m = pt_parse(text, strlen(text), "<calibrate>", d);
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

static pt_module *build(emit_fn emit, const void *arg, int reps, pt_diag *d) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  PT_ASSERT(f);
  emit(f, arg, reps);
  fclose(f);
  pt_module *m = parse_program(text, d);
  free(text);
  return m;
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

/* Every rank calls it with the same item; the ranks with take_part false
 * (not in a group of this size) sit it out but keep step with the others.
 * Times the program's ops in the executor -- a probe run decides how many
 * rounds fill c->target, the slowest rank's probe deciding for all -- and
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
  int max_reps = c->quick ? 20 : 400;
  double want = c->target / c->runs / (out[0] > 1e-9 ? out[0] : 1e-9);
  int reps = want >= max_reps ? max_reps : want <= 1 ? 1 : (int)ceil(want);
  if (take_part && reps > 1) {
    pt_exec_destroy(e);
    pt_module_destroy(m);
    ok = (e = prepare(c, mm, emit, arg, reps, &m)) != NULL;
  }
  if (!(ok = agree(ok)))
    goto done;
  if (take_part) {
    if (reps > 1)
      ok = run_once(e, m->funcs[0], nclasses, false, NULL, NULL, &probe, c->d);
    double *samples[MAX_CLASSES];
    int nsamples[MAX_CLASSES] = {0};
    for (int k = 0; k < nclasses; k++)
      samples[k] = pt_malloc((size_t)(reps * c->runs + 1) * sizeof(double));
    if (ok && mm) /* the ranks of a group start together */
      MPI_Barrier(pt_mpi_mesh_comm(mm));
    for (int r = 0; ok && r < c->runs; r++)
      ok = run_once(e, m->funcs[0], nclasses, true, samples, nsamples, &probe, c->d);
    for (int k = 0; k < nclasses; k++) {
      if (ok)
        med[k] = median(samples[k], nsamples[k]);
      pt_free(samples[k]);
    }
  }
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

/* ---- the programs ------------------------------------------------------- */

typedef struct {
  int64_t m, n, k;
} gemm_shape;

/* The three orientations of one shape, as a training step has them: the
 * forward A.B, the input gradient A.B^T and the weight gradient A^T.B. */
static void emit_gemm(FILE *f, const void *arg, int reps) {
  const gemm_shape *s = arg;
  long long m = s->m, n = s->n, k = s->k;
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

/* ---- fitting ------------------------------------------------------------ */

typedef struct {
  double alpha, beta; /* seconds, seconds per byte */
  double rms, max;    /* relative errors of the fit at the measured points */
} ab_fit;

/* t = alpha + beta x by least squares on relative errors (weights 1/t^2),
 * so that small sizes (alpha) and large ones (beta) both count; alpha is
 * kept >= 0 and beta > 0. */
static ab_fit fit_ab(const double *x, const double *t, int n) {
  double s = 0, sx = 0, sxx = 0, st = 0, sxt = 0;
  for (int i = 0; i < n; i++) {
    double w = 1 / (t[i] * t[i]);
    s += w, sx += w * x[i], sxx += w * x[i] * x[i], st += w * t[i], sxt += w * x[i] * t[i];
  }
  ab_fit r = {0, 0, 0, 0};
  double det = s * sxx - sx * sx;
  if (det > 0) {
    r.alpha = (sxx * st - sx * sxt) / det;
    r.beta = (s * sxt - sx * st) / det;
  }
  if (r.alpha < 0 || det <= 0) {
    r.alpha = 0;
    r.beta = sxt / sxx;
  }
  if (r.beta <= 0) { /* flat: all latency */
    r.alpha = st / s;
    r.beta = 1e-18;
  }
  for (int i = 0; i < n; i++) {
    double e = fabs(r.alpha + r.beta * x[i] - t[i]) / t[i];
    r.rms += e * e;
    r.max = e > r.max ? e : r.max;
  }
  r.rms = sqrt(r.rms / n);
  return r;
}

/* The element-wise model from add and mul at each size (x: bytes moved, t:
 * seconds; two points per size, smallest size first). The overhead is the
 * smallest ops' time (64 floats: next to no work). A step's element-wise
 * time goes to its large tensors, which stream from memory, so the rate is
 * fitted (relative least squares, as fit_ab, through that overhead) to the
 * operands of EW_FROM_MEMORY bytes or more only, and the fit's errors are
 * theirs; *faster gets how many times faster than the line the smaller,
 * cache-resident sizes ran at best. */
static ab_fit fit_elementwise(const double *x, const double *t, int n, double *faster) {
  double alpha = 0.5 * (t[0] + t[1]);
  int from = n - 2; /* the largest size, if none is large enough */
  while (from >= 2 && x[from - 2] >= 3.0 * EW_FROM_MEMORY)
    from -= 2;
  double sxx = 0, sxt = 0;
  for (int i = from; i < n; i++) {
    double w = 1 / (t[i] * t[i]);
    sxx += w * x[i] * x[i], sxt += w * x[i] * (t[i] - alpha);
  }
  ab_fit r = {alpha, sxt > 0 ? sxt / sxx : 1e-18, 0, 0};
  for (int i = from; i < n; i++) {
    double e = fabs(r.alpha + r.beta * x[i] - t[i]) / t[i];
    r.rms += e * e;
    r.max = e > r.max ? e : r.max;
  }
  r.rms = sqrt(r.rms / (n - from));
  *faster = 1;
  for (int i = 2; i < from; i++)
    if ((r.alpha + r.beta * x[i]) / t[i] > *faster)
      *faster = (r.alpha + r.beta * x[i]) / t[i];
  return r;
}

/* "  key: value" (printf-style) with a comment, the comments in one column. */
static void kv(FILE *f, const char *comment, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void kv(FILE *f, const char *comment, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(f, "%-27s # %s\n", buf, comment);
}

/* An argument as a shell would need it quoted. */
static void shell_arg(FILE *f, const char *a) {
  bool plain = *a != 0;
  for (const char *p = a; *p; p++)
    plain &= strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=:,+-@%",
                    *p) != NULL;
  if (plain) {
    fprintf(f, " %s", a);
    return;
  }
  fputs(" '", f);
  for (const char *p = a; *p; p++)
    fputs(*p == '\'' ? "'\\''" : (char[2]){*p, 0}, f);
  fputc('\'', f);
}

/* ---- the file ----------------------------------------------------------- */

/* %.4g, never "0" for a positive figure the reader needs positive. */
static char *num(double v, char *buf, size_t cap) {
  snprintf(buf, cap, "%.4g", v);
  return buf;
}

/* A size like 8GiB, 512MB or 1073741824 (the units of docs/hardware.md). */
static bool parse_size(const char *s, double *out) {
  return pt_sim_parse_size(s, out) > 0;
}

static bool is_name(const char *s) {
  if (!*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || *s == '-' || *s == '.'))
      return false;
  return true;
}

/* ---- the command -------------------------------------------------------- */

typedef struct {
  const char *out, *memory, *name;
  bool quick;
} opts;

static int parse_opts(int argc, char **argv, opts *o) {
  static const struct option lopts[] = {{"out", required_argument, 0, 'o'},
                                        {"quick", no_argument, 0, 'q'},
                                        {"memory", required_argument, 0, 'm'},
                                        {"name", required_argument, 0, 'n'},
                                        {0, 0, 0, 0}};
  *o = (opts){NULL, NULL, "this-machine", false};
  int ch;
  opterr = 0;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "o:", lopts, NULL)) != -1) {
    switch (ch) {
    case 'o':
      o->out = optarg;
      break;
    case 'q':
      o->quick = true;
      break;
    case 'm': {
      double b;
      if (!parse_size(optarg, &b))
        return pt_cli_usage(&pt_cmd_calibrate,
                            "--memory needs a size like 8GiB or 512MB (units B, KiB, MiB, GiB, "
                            "TiB, KB, MB, GB, TB), not '%s'",
                            optarg);
      o->memory = optarg;
      break;
    }
    case 'n':
      if (!is_name(optarg))
        return pt_cli_usage(&pt_cmd_calibrate,
                            "--name needs a name of letters, digits, '_', '-' and '.', not '%s'",
                            optarg);
      o->name = optarg;
      break;
    default:
      return pt_cli_bad_option(&pt_cmd_calibrate, argc, argv);
    }
  }
  if (optind < argc)
    return pt_cli_usage(&pt_cmd_calibrate, "calibrate takes no file arguments, got '%s'",
                        argv[optind]);
  if (!o->out)
    return pt_cli_usage(&pt_cmd_calibrate, "-o HW.yaml is required (the file to write)");
  return PT_EXIT_OK;
}

/* Whether rank 0 can create files next to path: checked before a minute of
 * measuring, not after. Prints `path: error: ...` if not. */
static bool writable(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    fprintf(stderr, "%s: error: cannot write: it is a directory\n", path);
    return false;
  }
  size_t len = strlen(path) + 32;
  char *tmp = pt_malloc(len);
  snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
  int err = errno;
  if (fd >= 0) {
    close(fd);
    unlink(tmp);
  } else {
    fprintf(stderr, "%s: error: cannot write: %s\n", path, strerror(err));
  }
  pt_free(tmp);
  return fd >= 0;
}

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

static const int kinds[] = {PT_SIM_ALL_GATHER, PT_SIM_REDUCE_SCATTER, PT_SIM_ALL_REDUCE,
                            PT_SIM_ALL_TO_ALL, PT_SIM_PERMUTE};
#define NKINDS 5

typedef struct {
  int64_t group;
  ab_fit fit[NKINDS];
  double *bytes[NKINDS], *secs[NKINDS]; /* per size */
} group_result;

/* What rank 0 writes. */
typedef struct {
  const opts *o;
  int argc;
  char **argv;
  int size, nodes, per_node;
  long cores; /* in all nodes */
  int passes;
  int ngemm;
  const int64_t (*gemm)[3];
  double (*gemm_secs)[3]; /* per shape and orientation */
  int nelem;
  const int64_t *ew;
  double (*ew_secs)[2]; /* per size: add, mul */
  ab_fit ew_fit;
  int64_t fn_n;                /* elements per function op */
  double fn_secs[MAX_CLASSES]; /* per pt_sim_element_ops entry: seconds per op */
  double ew_faster;            /* the most the cache-resident sizes beat the line by */
  int ncoll;
  const int64_t *coll;
  group_result *groups;
  int ngroups;
  double seconds;
  double others, others_max; /* other runnable processes while measuring: mean, max */
} results;

static char *write_yaml(const results *R) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  PT_ASSERT(f);
  char date[64], host[256] = "?", model[256], a[32], b[32], c[32], s1[32], s2[32];
  time_t t = time(NULL);
  strftime(date, sizeof date, "%Y-%m-%d %H:%M %Z", localtime(&t));
  gethostname(host, sizeof host - 1);
  pt_cpu_model(model, sizeof model);
  const char *coretype = getenv("OPENBLAS_CORETYPE"), *threads = getenv("OPENBLAS_NUM_THREADS");
  fprintf(f,
          "# Measured by `partita calibrate` (docs/hardware.md, \"Calibrating\"):\n"
          "#   mpirun -n %d partita",
          R->size);
  for (int i = 0; i < R->argc; i++)
    shell_arg(f, R->argv[i]);
  fprintf(f, "\n# on %s, host %s: nproc %ld, cpu \"%s\", %d rank%s on %d node%s, in %.0f s.\n",
          date, host, sysconf(_SC_NPROCESSORS_ONLN), model, R->size, R->size == 1 ? "" : "s",
          R->nodes, R->nodes == 1 ? "" : "s", R->seconds);
  fprintf(f,
          "# %s\n#   (kernels %s, %d thread%s); OPENBLAS_CORETYPE %s, OPENBLAS_NUM_THREADS %s.\n",
          openblas_get_config(), openblas_get_corename(), openblas_get_num_threads(),
          openblas_get_num_threads() == 1 ? "" : "s", coretype ? coretype : "unset",
          threads ? threads : "unset");
  fprintf(f,
          "# Every figure is measured through the runtime (runtime/exec.c, runtime/mpi_coll.c)\n"
          "# with the ranks busy at once, as in a training step: the median of %d pass%s, a\n"
          "# pass's the median of repeats on each rank, averaged over the ranks.%s\n",
          R->passes, R->passes == 1 ? "" : "es",
          R->o->quick ? "\n# QUICK RUN (--quick): a few points only, for tests." : "");
  fprintf(f, "# Other processes runnable while measuring: %.1f on average, at most %.0f%s\n",
          R->others, R->others_max,
          R->others >= 0.5 ? " -- the machine was busy: these figures are pessimistic." : ".");
  fprintf(f, "name: %s\ndevices:\n", R->o->name);
  kv(f, "left out, so that larger meshes can be simulated", "  # count: %d", R->size);
  kv(f, "a mesh of more devices time-shares them", "  cores: %ld", R->cores);
  if (R->o->memory) {
    kv(f, "as given (--memory)", "  memory: %s", R->o->memory);
  } else {
    double ram = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    char why[96];
    snprintf(why, sizeof why, "%s of RAM / %d rank%s on this node", bytes_str(ram, s1, sizeof s1),
             R->per_node, R->per_node == 1 ? "" : "s");
    kv(f, why, "  memory: %lldMiB", (long long)(ram / R->per_node / 1048576.0));
  }
  fprintf(f, "  # GFLOP/s of the executor's dot (cblas_sgemm) at each shape m x k by k x n: the\n"
             "  # three orientations a training step has (A.B, A.B^T, A^T.B) by their total time,\n"
             "  # less op_overhead_us; each one's own rate in the comment.\n"
             "  gemm:\n");
  double ov = R->ew_fit.alpha;
  for (int i = 0; i < R->ngemm; i++) {
    const int64_t *s = R->gemm[i];
    double flops = 2.0 * (double)s[0] * (double)s[1] * (double)s[2], tot = 0, rate[3];
    for (int o = 0; o < 3; o++) {
      double ts = R->gemm_secs[i][o] - ov > 0.5 * R->gemm_secs[i][o] ? R->gemm_secs[i][o] - ov
                                                                     : 0.5 * R->gemm_secs[i][o];
      tot += ts;
      rate[o] = flops / ts / 1e9;
    }
    char line[160];
    snprintf(line, sizeof line, "    - {m: %lld, n: %lld, k: %lld, gflops: %s}", (long long)s[0],
             (long long)s[1], (long long)s[2], num(3 * flops / tot / 1e9, a, sizeof a));
    fprintf(f, "%-56s # %.1f, %.1f, %.1f\n", line, rate[0], rate[1], rate[2]);
  }
  fprintf(f, "  # add and mul of two vectors (each moves 3x its operand's bytes), inputs rotating\n"
             "  # over 64 MiB; measured:\n");
  for (int i = 0; i < R->nelem; i++) {
    fprintf(f, "  #   %-8s add %-9s mul %s\n", bytes_str((double)R->ew[i], s1, sizeof s1),
            secs_str(R->ew_secs[i][0], a, sizeof a), secs_str(R->ew_secs[i][1], b, sizeof b));
  }
  fprintf(f,
          "  # The rate is fitted to the operands of 1 MiB and more, which stream from memory\n"
          "  # as a step's large tensors do (fit error rms %.1f%%, max %.1f%%); the overhead is\n"
          "  # the smallest ops' time. Operands between, served from the caches, ran up to\n"
          "  # %.1fx faster than the line.\n",
          100 * R->ew_fit.rms, 100 * R->ew_fit.max, R->ew_faster);
  fprintf(f, "  elementwise_gbps: %s\n", num(1e-9 / R->ew_fit.beta, a, sizeof a));
  fprintf(f, "  op_overhead_us: %s\n", num(R->ew_fit.alpha * 1e6, a, sizeof a));
  fprintf(f,
          "  # Nanoseconds per element of the ops bound by computing, not by memory (the C\n"
          "  # library's functions; reductions of a last dimension of 512), each measured over\n"
          "  # %lld elements; the simulator charges an op or fused loop the longer of its\n"
          "  # memory traffic and these.\n"
          "  element_ns:\n",
          (long long)R->fn_n);
  for (int k = 0; k < pt_sim_nelement_ops; k++)
    fprintf(f, "    %s: %s\n", pt_op_name(pt_sim_element_ops[k]),
            num(R->fn_secs[k] / (double)R->fn_n * 1e9, a, sizeof a));
  const char *link = R->nodes == 1 ? "shm" : "net";
  const group_result *g0 = &R->groups[0];
  fprintf(f,
          "links:\n  # Open MPI between the ranks%s. A collective takes alpha + beta x\n"
          "  # its operand's bytes on one device, fitted by least squares on the relative\n"
          "  # error to operands of %s to %s; the point-to-point model is\n"
          "  # collective_permute's over %lld ranks (one message each way).\n",
          R->nodes == 1 ? " over shared memory" : "", bytes_str((double)R->coll[0], s1, sizeof s1),
          bytes_str((double)R->coll[R->ncoll - 1], s2, sizeof s2), (long long)g0->group);
  fprintf(f, "  %s:\n    alpha_us: %s\n    beta_ns_per_byte: %s\n    collectives:\n", link,
          num(g0->fit[NKINDS - 1].alpha * 1e6, a, sizeof a),
          num(g0->fit[NKINDS - 1].beta * 1e9, b, sizeof b));
  for (int k = 0; k < NKINDS; k++) {
    fprintf(f, "      %s:\n", pt_sim_kind_name(kinds[k]));
    for (int gi = 0; gi < R->ngroups; gi++) {
      const group_result *g = &R->groups[gi];
      const ab_fit *ft = &g->fit[k];
      fprintf(f, "        # measured:");
      for (int i = 0; i < R->ncoll; i++)
        fprintf(f, "%s %s %s", i ? "," : "", bytes_str(g->bytes[k][i], s1, sizeof s1),
                secs_str(g->secs[k][i], s2, sizeof s2));
      fprintf(f,
              "\n        %lld: {alpha_us: %s, beta_ns_per_byte: %s}   # fit error rms %.1f%%, "
              "max %.1f%%\n",
              (long long)g->group, num(ft->alpha * 1e6, a, sizeof a),
              num(ft->beta * 1e9, c, sizeof c), 100 * ft->rms, 100 * ft->max);
    }
  }
  fprintf(f, "axes:\n");
  kv(f, "every mesh axis", "  default: %s", link);
  fclose(f);
  return text;
}

static int run(int argc, char **argv) {
  if (pt_cli_wants_help(&pt_cmd_calibrate, argc, argv))
    return PT_EXIT_OK;
  /* every rank parses the same command line; only the first one says what
   * is wrong with it (MPI is not running yet, so no rank waits for another) */
  opts o;
  int status, lr = pt_mpi_launcher_rank(), saved = -1;
  if (lr > 0) {
    fflush(stderr);
    saved = dup(2);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
      dup2(null, 2);
      close(null);
    }
  }
  status = parse_opts(argc, argv, &o);
  if (saved >= 0) {
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
  }
  if (status != PT_EXIT_OK)
    return status;

  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited)
    MPI_Init(NULL, NULL);
  cal c = {0};
  MPI_Comm_rank(MPI_COMM_WORLD, &c.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &c.size);
  c.root = c.rank == 0;
  c.quick = o.quick;
  c.d = pt_diag_create(NULL);
  c.target = o.quick ? 0.004 : 0.05;
  c.runs = o.quick ? 2 : 3;
  c.passes = o.quick ? 1 : 3;
  c.t0 = now();
  status = PT_EXIT_INPUT;
  results R = {0};
  R.o = &o;
  R.argc = argc;
  R.argv = argv;
  R.size = c.size;
  R.passes = c.passes;

  /* launch checks, all decided by rank 0 */
  int ok = 1;
  if (c.root) {
    if (c.size < 2) {
      fprintf(stderr,
              "partita calibrate: error: the links need at least 2 MPI ranks to measure; start "
              "it with mpirun -n N (one rank per core: mpirun -n %ld)\n",
              sysconf(_SC_NPROCESSORS_ONLN) > 1 ? sysconf(_SC_NPROCESSORS_ONLN) : 2);
      ok = 0;
    } else {
      ok = writable(o.out);
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (!ok)
    goto done;

  /* ranks per node: the memory each gets, and whether the link is shm */
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, c.rank, MPI_INFO_NULL, &node);
  int local_rank = 0, heads = 0;
  MPI_Comm_size(node, &R.per_node);
  MPI_Comm_rank(node, &local_rank);
  c.local_rank = local_rank;
  c.cores = sysconf(_SC_NPROCESSORS_ONLN);
  long heads_cores = local_rank == 0 ? c.cores : 0;
  MPI_Allreduce(&heads_cores, &R.cores, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  MPI_Comm_free(&node);
  int head = local_rank == 0;
  MPI_Allreduce(&head, &heads, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  R.nodes = heads;
  c.per_node = R.per_node;

  R.gemm = o.quick ? quick_gemm : full_gemm;
  R.ngemm = o.quick ? COUNT(quick_gemm) : COUNT(full_gemm);
  R.ew = o.quick ? quick_ew : full_ew;
  R.nelem = o.quick ? COUNT(quick_ew) : COUNT(full_ew);
  R.coll = o.quick ? quick_coll : full_coll;
  R.ncoll = o.quick ? COUNT(quick_coll) : COUNT(full_coll);
  /* group sizes: the divisors of N and the powers of two up to N */
  int64_t gsizes[64];
  for (int g = 2; g <= c.size && R.ngroups < 64; g++)
    if (c.size % g == 0 || (g & (g - 1)) == 0)
      gsizes[R.ngroups++] = g;
  R.groups = pt_calloc((size_t)R.ngroups, sizeof *R.groups);
  c.total = c.passes * (R.ngemm + R.nelem + 1 + R.ngroups * NKINDS * R.ncoll);
  if (c.root) {
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    fprintf(stderr,
            "calibrate: measuring on %d ranks (%d per node, %ld cores%s): %d GEMM shapes, %d "
            "element-wise sizes, 5 collectives x %d sizes x %d group size%s\n",
            c.size, R.per_node, nproc, R.per_node > nproc ? ", oversubscribed" : "", R.ngemm,
            R.nelem, R.ncoll, R.ngroups, R.ngroups == 1 ? "" : "s");
    int threads = openblas_get_num_threads();
    if (threads > 1 && (long)R.per_node * threads > nproc)
      fprintf(stderr,
              "calibrate: warning: %d ranks x %d OpenBLAS threads on %ld cores: the GEMM rates "
              "will be those of oversubscribed cores; set OPENBLAS_NUM_THREADS=1 (for training "
              "too)\n",
              R.per_node, threads, nproc);
    else if (R.per_node > nproc)
      fprintf(stderr,
              "calibrate: warning: %d ranks on %ld cores: the collectives are measured on "
              "time-shared cores, as an oversubscribed `train` runs them, and are noisy (compute "
              "runs on one rank per core)\n",
              R.per_node, nproc);
  }
  bool fine = true;

  /* The collectives' groups: N/G groups of G consecutive ranks, all at
   * once (as a mesh axis's groups run together in a step); the ranks left
   * over sit it out. */
  pt_mpi_mesh **meshes = pt_calloc((size_t)R.ngroups, sizeof *meshes);
  MPI_Comm *subs = pt_calloc((size_t)R.ngroups, sizeof *subs);
  bool *member = pt_calloc((size_t)R.ngroups, sizeof *member);
  for (int gi = 0; gi < R.ngroups; gi++) {
    int G = (int)gsizes[gi];
    R.groups[gi].group = G;
    member[gi] = c.rank < c.size / G * G;
    MPI_Comm_split(MPI_COMM_WORLD, member[gi] ? c.rank / G : MPI_UNDEFINED, c.rank, &subs[gi]);
    if (member[gi]) {
      pt_mesh mesh = {1, {"group"}, {G}, PT_NOLOC};
      fine &= (meshes[gi] = pt_mpi_mesh_create(&mesh, subs[gi], c.d)) != NULL;
    }
    for (int k = 0; k < NKINDS; k++) {
      R.groups[gi].bytes[k] = pt_calloc((size_t)R.ncoll, sizeof(double));
      R.groups[gi].secs[k] = pt_calloc((size_t)R.ncoll * (size_t)c.passes, sizeof(double));
    }
  }
  fine = agree(fine);

  /* Every item is measured once per pass, the passes one after another, and
   * its figure is the median over the passes: a slow spell of the machine
   * spoils one pass's figure, not the result. Compute is measured on at most
   * one rank per core: a core's own rate, which the simulator divides among
   * devices sharing one (devices.cores). */
  bool computes = c.local_rank < c.cores;
  double(*ew)[2] = pt_calloc((size_t)R.nelem * (size_t)c.passes, sizeof *ew);
  double(*gm)[3] = pt_calloc((size_t)R.ngemm * (size_t)c.passes, sizeof *gm);
  double *fn = pt_calloc((size_t)MAX_CLASSES * (size_t)c.passes, sizeof *fn);
  R.fn_n = c.quick ? 16384 : 262144;
  char s1[32], s2[32], s3[32];
  for (int pass = 0; fine && pass < c.passes; pass++) {
    char tag[32] = "";
    if (c.passes > 1)
      snprintf(tag, sizeof tag, "pass %d/%d: ", pass + 1, c.passes);
    for (int i = 0; fine && i < R.nelem; i++) {
      int64_t pairs = (EW_WORKING_SET / (2 * R.ew[i]) + 1) & ~(int64_t)1;
      ew_item it = {R.ew[i] / 4, pairs < 2 ? 2 : pairs > 64 ? 64 : (int)pairs};
      double med[MAX_CLASSES];
      fine = measure(&c, NULL, computes, emit_elementwise, &it, 2, med);
      mean_over_ranks(computes, med, 2);
      memcpy(ew[i * c.passes + pass], med, sizeof ew[0]);
      progress(&c, "%selement-wise add, mul of %s: %s, %s", tag,
               bytes_str((double)R.ew[i], s1, sizeof s1), secs_str(med[0], s2, sizeof s2),
               secs_str(med[1], s3, sizeof s3));
    }
    if (fine) {
      double med[MAX_CLASSES];
      fine = measure(&c, NULL, computes, emit_functions, &R.fn_n, pt_sim_nelement_ops, med);
      mean_over_ranks(computes, med, pt_sim_nelement_ops);
      for (int k = 0; k < pt_sim_nelement_ops; k++)
        fn[k * c.passes + pass] = med[k];
      progress(&c,
               "%sexp, tanh, ..., reduce_max of %lld elements: %.1f ns, %.1f ns, ..., %.2f ns "
               "per element",
               tag, (long long)R.fn_n, med[0] / (double)R.fn_n * 1e9, med[2] / (double)R.fn_n * 1e9,
               med[pt_sim_nelement_ops - 1] / (double)R.fn_n * 1e9);
    }
    for (int i = 0; fine && i < R.ngemm; i++) {
      gemm_shape sh = {R.gemm[i][0], R.gemm[i][1], R.gemm[i][2]};
      double med[MAX_CLASSES];
      fine = measure(&c, NULL, computes, emit_gemm, &sh, 3, med);
      mean_over_ranks(computes, med, 3);
      memcpy(gm[i * c.passes + pass], med, sizeof gm[0]);
      double flops = 2.0 * (double)sh.m * (double)sh.n * (double)sh.k;
      progress(&c, "%sgemm %lldx%lldx%lld: %.1f GFLOP/s (A.B %.1f, A.B^T %.1f, A^T.B %.1f)", tag,
               (long long)sh.m, (long long)sh.n, (long long)sh.k,
               3 * flops / (med[0] + med[1] + med[2]) / 1e9, flops / med[0] / 1e9,
               flops / med[1] / 1e9, flops / med[2] / 1e9);
    }
    for (int gi = 0; fine && gi < R.ngroups; gi++) {
      group_result *gr = &R.groups[gi];
      for (int k = 0; fine && k < NKINDS; k++)
        for (int i = 0; fine && i < R.ncoll; i++) {
          int64_t n = (R.coll[i] / 4 + gr->group - 1) / gr->group * gr->group;
          coll_item it = {kinds[k], gr->group, n};
          double med[MAX_CLASSES];
          fine = measure(&c, meshes[gi], member[gi], emit_collective, &it, 2, med);
          med[0] = med[1]; /* the collective, not the add before it */
          mean_over_ranks(member[gi], med, 1);
          gr->bytes[k][i] = 4.0 * (double)n;
          gr->secs[k][i * c.passes + pass] = med[0];
          progress(&c, "%s%s over %lld ranks, %s: %s", tag, pt_sim_kind_name(kinds[k]),
                   (long long)gr->group, bytes_str(4.0 * (double)n, s1, sizeof s1),
                   secs_str(med[0], s2, sizeof s2));
        }
    }
  }
  /* the medians over the passes, then the fits */
  R.ew_secs = pt_calloc((size_t)R.nelem, sizeof *R.ew_secs);
  R.gemm_secs = pt_calloc((size_t)R.ngemm, sizeof *R.gemm_secs);
  double *v = pt_malloc((size_t)c.passes * sizeof *v);
  double *ex = pt_malloc(2 * (size_t)R.nelem * sizeof *ex);
  double *et = pt_malloc(2 * (size_t)R.nelem * sizeof *et);
  for (int i = 0; fine && i < R.nelem; i++)
    for (int k = 0; k < 2; k++) {
      for (int p = 0; p < c.passes; p++)
        v[p] = ew[i * c.passes + p][k];
      R.ew_secs[i][k] = et[2 * i + k] = median(v, c.passes);
      ex[2 * i + k] = 3.0 * (double)R.ew[i];
    }
  for (int i = 0; fine && i < R.ngemm; i++)
    for (int k = 0; k < 3; k++) {
      for (int p = 0; p < c.passes; p++)
        v[p] = gm[i * c.passes + p][k];
      R.gemm_secs[i][k] = median(v, c.passes);
    }
  for (int gi = 0; fine && gi < R.ngroups; gi++)
    for (int k = 0; k < NKINDS; k++) {
      group_result *gr = &R.groups[gi];
      for (int i = 0; i < R.ncoll; i++)
        gr->secs[k][i] = median(gr->secs[k] + i * c.passes, c.passes);
      gr->fit[k] = fit_ab(gr->bytes[k], gr->secs[k], R.ncoll);
    }
  for (int k = 0; fine && k < pt_sim_nelement_ops; k++)
    R.fn_secs[k] = median(fn + k * c.passes, c.passes);
  if (fine)
    R.ew_fit = fit_elementwise(ex, et, 2 * R.nelem, &R.ew_faster);
  pt_free(v);
  pt_free(ex);
  pt_free(et);
  pt_free(ew);
  pt_free(gm);
  pt_free(fn);
  for (int gi = 0; gi < R.ngroups; gi++) {
    pt_mpi_mesh_destroy(meshes[gi]);
    if (subs[gi] != MPI_COMM_NULL)
      MPI_Comm_free(&subs[gi]);
  }
  pt_free(meshes);
  pt_free(subs);
  pt_free(member);
  if (!fine) {
    for (int i = 0; i < pt_diag_count(c.d); i++)
      fprintf(stderr, "partita calibrate (rank %d of %d): %s\n", c.rank, c.size,
              pt_diag_message(c.d, i));
    goto out;
  }

  R.seconds = now() - c.t0;
  R.others = c.nsamples ? c.others / c.nsamples : 0;
  R.others_max = c.others_max;
  if (c.root && R.others >= 0.5)
    fprintf(stderr,
            "calibrate: warning: other processes competed for the cores (%.1f runnable on "
            "average besides the %d ranks, at most %.0f): the figures are pessimistic; "
            "calibrate again on an idle machine\n",
            R.others, R.per_node, R.others_max);
  ok = 1;
  if (c.root) {
    char *text = write_yaml(&R);
    /* what is written must read back: a failure here is a bug */
    pt_diag *check = pt_diag_create(stderr);
    pt_sim_hw *hw = pt_sim_hw_parse(text, strlen(text), o.out, check);
    PT_ASSERT(hw);
    pt_sim_hw_destroy(hw);
    pt_diag_destroy(check);
    ok = pt_cli_write_text(o.out, text);
    free(text);
    if (ok) {
      const group_result *g0 = &R.groups[0];
      fprintf(stderr,
              "calibrate: wrote %s in %.1f s: element-wise %.1f GB/s + %.2f us per op; over "
              "%lld ranks all_reduce %.2f us + %.3f ns/byte, all_gather %.2f us + %.3f "
              "ns/byte\n",
              o.out, R.seconds, 1e-9 / R.ew_fit.beta, 1e6 * R.ew_fit.alpha, (long long)g0->group,
              1e6 * g0->fit[2].alpha, 1e9 * g0->fit[2].beta, 1e6 * g0->fit[0].alpha,
              1e9 * g0->fit[0].beta);
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (ok)
    status = PT_EXIT_OK;
out:
  for (int gi = 0; gi < R.ngroups; gi++)
    for (int k = 0; k < NKINDS; k++) {
      pt_free(R.groups[gi].bytes[k]);
      pt_free(R.groups[gi].secs[k]);
    }
  pt_free(R.groups);
  pt_free(R.gemm_secs);
  pt_free(R.ew_secs);
done:
  pt_diag_destroy(c.d);
  MPI_Finalize();
  return status;
}
