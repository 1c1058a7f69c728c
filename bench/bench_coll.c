/* `mpirun -n N bench_coll`: the runtime's collectives (pt_mpi_collective,
 * runtime/mpi_coll.c) against the plain MPI call doing the same job, on the
 * same communicator and buffers of the same sizes. Prints figures, never
 * asserts times; exits 1 if a result differs from MPI's. */
#include <getopt.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "hw.h"
#include "mpi_coll.h"

#define MAX_SIZES 64
#define MAX_BYTES ((int64_t)1 << 30)

static const char usage_text[] =
    "usage: mpirun -n N bench_coll [--sizes LIST] [--reps R] [--help]\n"
    "Times each collective of the runtime (pt_mpi_collective) on an f32 operand over\n"
    "all ranks of a one-axis mesh {x: N} -- all_reduce (sum), reduce_scatter (dim 0),\n"
    "all_gather (dim 0), all_to_all (0 -> 0), collective_permute (a cycle) -- and the\n"
    "plain MPI call doing the same job (MPI_Allreduce in place, MPI_Reduce_scatter_block,\n"
    "MPI_Allgather, MPI_Alltoall, MPI_Sendrecv) on the same communicator. Each rep\n"
    "refills the input, meets at a barrier and takes the slowest rank's time; rank 0\n"
    "prints the median and best of the reps and MPI's median over partita's. It checks\n"
    "that both give the same result and exits 1 if not. On one node partita's\n"
    "all_reduce, reduce_scatter, all_gather and all_to_all of 8 KiB and more run\n"
    "through the mesh's shared staging window (pt_mpi_shm_reserve, as the executor\n"
    "reserves it);\n"
    "set PT_MPI_SHM=0 to time them through MPI's transport instead.\n\n"
    "Options:\n"
    "  --sizes LIST  each rank's operand in bytes, a comma list like 64K,1M,16M\n"
    "                (suffixes K, M, G or KiB, MiB, GiB, KB, MB, GB; at most 1G; rounded\n"
    "                down to a multiple of 4N bytes; default 64K,256K,1M,4M,16M)\n"
    "  --reps R      timed reps per case after one warm-up (default 20)\n"
    "  -h, --help    show this help\n\n"
    "Exit status: 0 success, 1 a result differs from MPI's, 2 bad usage.\n";

typedef struct {
  int64_t sizes[MAX_SIZES];
  int nsizes;
  long reps;
} opts;

static bool quiet; /* a rank other than the first: says nothing about usage */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  if (!quiet) {
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_coll: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(bench_coll --help shows the usage)\n", stderr);
    va_end(ap);
  }
  return 2;
}

/* One size of --sizes: what pt_sim_parse_size reads (65536, 64KiB, 64KB),
 * and K, M, G as KiB, MiB, GiB. */
static bool parse_size(const char *s, size_t len, int64_t *out) {
  char buf[64];
  if (len == 0 || len + 3 > sizeof buf)
    return false;
  memcpy(buf, s, len);
  buf[len] = 0;
  if (strchr("KMG", buf[len - 1]))
    strcat(buf, "iB");
  double b;
  if (pt_sim_parse_size(buf, &b) <= 0 || b > (double)MAX_BYTES)
    return false;
  *out = (int64_t)b;
  return true;
}

/* Every rank parses the same command line before MPI starts, so every rank
 * exits the same way and none waits for another; only the first speaks.
 * -1: go on. */
static int parse_opts(int argc, char **argv, opts *o) {
  static const struct option lopts[] = {
      {"sizes", required_argument, 0, 's'}, {"reps", required_argument, 0, 'r'}, {0, 0, 0, 0}};
  static const int64_t dflt[] = {64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20};
  o->nsizes = (int)(sizeof dflt / sizeof dflt[0]);
  memcpy(o->sizes, dflt, sizeof dflt);
  o->reps = 20;
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      if (!quiet)
        fputs(usage_text, stdout);
      return 0;
    }
  opterr = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
    switch (ch) {
    case 's': {
      o->nsizes = 0;
      for (const char *p = optarg;; p++) {
        size_t len = strcspn(p, ",");
        if (o->nsizes == MAX_SIZES)
          return usage_error("--sizes takes at most %d sizes", MAX_SIZES);
        if (!parse_size(p, len, &o->sizes[o->nsizes++]))
          return usage_error("--sizes needs a comma list of sizes from 1 byte to 1G, like "
                             "64K,1M,16M (suffixes K, M, G, KiB, MiB, GiB, KB, MB, GB), not "
                             "'%.*s' in '%s'",
                             (int)len, p, optarg);
        p += len;
        if (!*p)
          break;
      }
      break;
    }
    case 'r':
      if (!pt_bench_parse_count(optarg, 1, 100000, &o->reps))
        return usage_error("--reps needs a whole number from 1 to 100000, not '%s'", optarg);
      break;
    case ':':
      return usage_error("%s needs a value", argv[optind - 1]);
    default:
      if (optopt)
        return usage_error("unknown option '-%c'", optopt);
      return usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return usage_error("bench_coll takes no arguments, got '%s'", argv[optind]);
  return -1;
}

/* ---- the cases ---------------------------------------------------------- */

static const pt_opcode kinds[] = {PT_OP_ALL_REDUCE, PT_OP_REDUCE_SCATTER, PT_OP_ALL_GATHER,
                                  PT_OP_ALL_TO_ALL, PT_OP_COLLECTIVE_PERMUTE};
#define NKINDS ((int)(sizeof kinds / sizeof kinds[0]))

static const char *mpi_name(pt_opcode code) {
  switch (code) {
  case PT_OP_ALL_REDUCE:
    return "MPI_Allreduce";
  case PT_OP_REDUCE_SCATTER:
    return "MPI_Reduce_scatter_block";
  case PT_OP_ALL_GATHER:
    return "MPI_Allgather";
  case PT_OP_ALL_TO_ALL:
    return "MPI_Alltoall";
  case PT_OP_COLLECTIVE_PERMUTE:
    return "MPI_Sendrecv";
  default:
    PT_UNREACHABLE();
  }
}

/* A new function of m holding one collective over the mesh's one axis on an
 * f32[n] operand; the op is returned. */
static const pt_op *one_op(pt_module *m, pt_opcode code, int64_t n, pt_diag *d) {
  int64_t g = m->mesh.sizes[0];
  char name[32];
  snprintf(name, sizeof name, "c%d", m->nfuncs);
  pt_func *f = pt_func_create(m, name, PT_NOLOC);
  pt_value *x = pt_func_add_arg(f, "x", PT_ROLE_INPUT, pt_type_make(PT_F32, 1, &n), PT_NOLOC);
  pt_op *op = pt_op_create(f, code, &x, 1, PT_NOLOC);
  const char *axes[1] = {m->mesh.names[0]};
  pt_op_set_idents(op, PT_A_AXES, axes, 1);
  switch (code) {
  case PT_OP_ALL_REDUCE:
    pt_op_set_ident(op, PT_A_REDUCE, "sum");
    break;
  case PT_OP_REDUCE_SCATTER:
  case PT_OP_ALL_GATHER:
    pt_op_set_int(op, PT_A_DIM, 0);
    break;
  case PT_OP_ALL_TO_ALL:
    pt_op_set_int(op, PT_A_SPLIT_DIM, 0);
    pt_op_set_int(op, PT_A_CONCAT_DIM, 0);
    break;
  case PT_OP_COLLECTIVE_PERMUTE: { /* a cycle: p sends to p + 1 */
    pt_aval *v = pt_calloc((size_t)(3 * g), sizeof *v), *items = v + 2 * g;
    for (int64_t p = 0; p < g; p++) {
      v[2 * p] = (pt_aval){.kind = PT_AV_INT, .i = p};
      v[2 * p + 1] = (pt_aval){.kind = PT_AV_INT, .i = (p + 1) % g};
      items[p] = (pt_aval){.kind = PT_AV_LIST, .items = &v[2 * p], .n = 2};
    }
    pt_aval list = {.kind = PT_AV_LIST, .items = items, .n = (int)g};
    pt_op_set_attr(op, PT_A_PAIRS, &list, PT_NOLOC);
    pt_free(v);
    break;
  }
  default:
    PT_UNREACHABLE();
  }
  pt_value *r = pt_op_finish(op, "r", NULL, d);
  if (r)
    pt_func_add_result(f, "r", r->type, r, PT_NOLOC);
  if (!r || pt_verify_func(f, d) != PT_OK) {
    pt_diag_print(d, stderr);
    PT_ASSERT(!"bench_coll builds valid collectives");
  }
  return op;
}

/* Element i of this rank's operand: small multiples of 1/4, so that every
 * partial sum is exact and sums in any order agree to the bit. */
static void fill(pt_tensor *t, int rank, int salt) {
  float *x = t->data;
  for (int64_t i = 0, n = pt_type_numel(&t->type); i < n; i++) {
    uint32_t h = (uint32_t)(rank * 131 + i * 7 + salt * 17);
    x[i] = (float)((int)(h % 61) - 30) * 0.25f;
  }
}

/* An MPI or runtime failure: nothing sensible is left to do on any rank. */
static _Noreturn void die(const char *what) {
  fprintf(stderr, "bench_coll: error: %s\n", what);
  MPI_Abort(MPI_COMM_WORLD, 1);
  exit(1);
}

/* The plain MPI call: x's n floats (also the result for all_reduce) into r. */
static void raw_mpi(pt_opcode code, MPI_Comm c, int rank, int size, float *x, float *r, int n) {
  int rc = MPI_SUCCESS, blk = n / size;
  switch (code) {
  case PT_OP_ALL_REDUCE:
    rc = MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_FLOAT, MPI_SUM, c);
    break;
  case PT_OP_REDUCE_SCATTER:
    rc = MPI_Reduce_scatter_block(x, r, blk, MPI_FLOAT, MPI_SUM, c);
    break;
  case PT_OP_ALL_GATHER:
    rc = MPI_Allgather(x, n, MPI_FLOAT, r, n, MPI_FLOAT, c);
    break;
  case PT_OP_ALL_TO_ALL:
    rc = MPI_Alltoall(x, blk, MPI_FLOAT, r, blk, MPI_FLOAT, c);
    break;
  case PT_OP_COLLECTIVE_PERMUTE:
    rc = MPI_Sendrecv(x, n, MPI_FLOAT, (rank + 1) % size, 0, r, n, MPI_FLOAT,
                      (rank + size - 1) % size, 0, c, MPI_STATUS_IGNORE);
    break;
  default:
    PT_UNREACHABLE();
  }
  if (rc != MPI_SUCCESS) {
    char s[MPI_MAX_ERROR_STRING] = "", msg[MPI_MAX_ERROR_STRING + 64];
    int len = 0;
    MPI_Error_string(rc, s, &len);
    snprintf(msg, sizeof msg, "rank %d: %s failed: %s", rank, mpi_name(code), s);
    die(msg);
  }
}

static char *bytes_str(int64_t b, char *buf, size_t cap) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (u < 3 && b >= 1024 && b % 1024 == 0)
    b /= 1024, u++;
  snprintf(buf, cap, "%lld %s", (long long)b, units[u]);
  return buf;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, pt_bench_cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct {
  double med[2], best[2]; /* seconds: [0] partita, [1] MPI */
} timing;

/* Times one collective on operands of `bytes` (a multiple of 4 x ranks)
 * after checking that partita's result is MPI's. False on every rank if it
 * is not on some rank (which says where). */
static bool run_case(pt_mpi_mesh *mm, pt_module *m, pt_opcode code, int64_t bytes, int reps,
                     pt_diag *d, timing *out) {
  MPI_Comm c = pt_mpi_mesh_comm(mm);
  int rank = pt_mpi_mesh_rank(mm), size = pt_mpi_mesh_size(mm);
  int64_t n = bytes / 4;
  const pt_op *op = one_op(m, code, n, d);
  bool in_place = code == PT_OP_ALL_REDUCE;
  /* src: this rank's data; x, r: partita's operand and result; mx, mr:
   * MPI's. all_reduce runs in place on both sides, as the executor runs it
   * when its operand dies (pt_exec_op_in_place). */
  pt_tensor *src = pt_tensor_create(op->operands[0]->type);
  pt_tensor *mx = pt_tensor_create(src->type);
  pt_tensor *mr = in_place ? mx : pt_tensor_create(op->result->type);
  pt_tensor *x = pt_tensor_create(src->type);
  pt_tensor *r = in_place ? x : pt_tensor_create(op->result->type);
  /* the shared staging as the executor reserves it: room for the operand */
  pt_mpi_shm_reserve(mm, pt_type_bytes(&src->type));
  fill(src, rank, (int)code);
  double *t = pt_calloc((size_t)(2 * reps), sizeof *t); /* partita's reps, then MPI's */
  size_t xbytes = pt_type_bytes(&src->type);
  bool ok = true;
  for (int rep = -1; ok && rep < reps; rep++) { /* rep -1: the warm-up, checked */
    /* the two sides take turns going first, so that neither gains from
     * where it runs in a rep */
    for (int j = 0; j < 2; j++) {
      int side = (rep & 1) ^ j; /* 0: partita, 1: MPI */
      memcpy(side ? mx->data : x->data, src->data, xbytes);
      MPI_Barrier(c);
      double t0 = MPI_Wtime();
      if (side)
        raw_mpi(code, c, rank, size, mx->data, mr->data, (int)n);
      else if (pt_mpi_collective(mm, op, x, r, d) != PT_OK)
        die(pt_diag_count(d) ? pt_diag_text(d, 0) : "pt_mpi_collective failed");
      if (rep >= 0)
        t[side * reps + rep] = MPI_Wtime() - t0;
    }
    if (rep >= 0)
      continue;
    const float *a = r->data, *b = mr->data;
    int64_t rn = pt_type_numel(&r->type), i = 0;
    while (i < rn && memcmp(&a[i], &b[i], sizeof *a) == 0)
      i++;
    char sz[32];
    if (i < rn)
      fprintf(stderr,
              "bench_coll: error: rank %d: %s of %s on %d ranks: partita's result differs from "
              "%s's at element %lld (%g, not %g)\n",
              rank, pt_op_name(code), bytes_str(bytes, sz, sizeof sz), size, mpi_name(code),
              (long long)i, (double)a[i], (double)b[i]);
    int bad = i < rn, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, c);
    ok = !any;
  }
  if (ok) { /* a rep took as long as its slowest rank */
    MPI_Allreduce(MPI_IN_PLACE, t, 2 * reps, MPI_DOUBLE, MPI_MAX, c);
    for (int k = 0; k < 2; k++) {
      out->med[k] = median(t + k * reps, reps); /* sorts them */
      out->best[k] = t[k * reps];
    }
  }
  pt_free(t);
  if (!in_place) {
    pt_tensor_destroy(r);
    pt_tensor_destroy(mr);
  }
  pt_tensor_destroy(src);
  pt_tensor_destroy(x);
  pt_tensor_destroy(mx);
  return ok;
}

/* ---- the program -------------------------------------------------------- */

static void conditions(int size, int reps, bool shm) {
  char model[256];
  pt_cpu_model(model, sizeof model);
  double load = -1;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fscanf(f, "%lf", &load) != 1)
      load = -1;
    fclose(f);
  }
  printf("bench_coll: %d rank%s on mesh {x: %d}, f32 operands; %d reps after one warm-up, a "
         "rep's time the slowest rank's\n",
         size, size == 1 ? "" : "s", size, reps);
  printf("partita's collectives: %s\n",
         shm ? "through the node-shared staging window (as the executor's)"
             : "through MPI (shared memory is off: PT_MPI_SHM=0 or more than one node)");
  printf("machine: nproc %ld, cpu \"%s\", load average %.2f\n", sysconf(_SC_NPROCESSORS_ONLN),
         model, load);
  printf("bytes: each rank's operand (all_gather's result is %d times that); MPI/partita above 1: "
         "partita is faster\n",
         size);
  printf("%-18s %9s %14s %9s %14s %9s %12s\n", "kind", "bytes", "partita med ms", "best",
         "MPI med ms", "best", "MPI/partita");
}

int main(int argc, char **argv) {
  quiet = pt_mpi_launcher_rank() > 0;
  opts o;
  int status = parse_opts(argc, argv, &o);
  if (status >= 0)
    return status;

  pt_mpi_init();
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  /* reduce_scatter and all_to_all split the operand into `size` blocks */
  int64_t unit = 4 * (int64_t)size;
  for (int i = 0; i < o.nsizes; i++) {
    char sz[32];
    if (o.sizes[i] < unit) {
      if (rank == 0)
        fprintf(stderr,
                "bench_coll: error: --sizes: %s is less than one f32 for each of %d ranks (%lld "
                "bytes)\n",
                bytes_str(o.sizes[i], sz, sizeof sz), size, (long long)unit);
      MPI_Finalize();
      return 2;
    }
    o.sizes[i] -= o.sizes[i] % unit;
  }

  pt_module *m = pt_module_create("bench_coll");
  pt_module_add_axis(m, "x", size);
  pt_diag *d = pt_diag_create(NULL);
  pt_mpi_mesh *mm = pt_mpi_mesh_create(&m->mesh, MPI_COMM_WORLD, d);
  if (!mm)
    die(pt_diag_count(d) ? pt_diag_text(d, 0) : "pt_mpi_mesh_create failed");
  if (rank == 0)
    conditions(size, (int)o.reps, pt_mpi_shm_enabled(mm));
  status = 0;
  for (int k = 0; k < NKINDS && !status; k++)
    for (int i = 0; i < o.nsizes && !status; i++) {
      timing t;
      if (!run_case(mm, m, kinds[k], o.sizes[i], (int)o.reps, d, &t)) {
        status = 1;
        continue;
      }
      char sz[32];
      if (rank == 0) {
        printf("%-18s %9s %14.4f %9.4f %14.4f %9.4f %12.2f\n", pt_op_name(kinds[k]),
               bytes_str(o.sizes[i], sz, sizeof sz), t.med[0] * 1e3, t.best[0] * 1e3,
               t.med[1] * 1e3, t.best[1] * 1e3, t.med[1] / t.med[0]);
        fflush(stdout);
      }
    }
  pt_mpi_mesh_destroy(mm);
  pt_diag_destroy(d);
  pt_module_destroy(m);
  MPI_Finalize();
  return status;
}
