/* bench_import: how fast `partita import` reads StableHLO. Generates a
 * module of N StableHLO ops (a chain of layers in the pretty and generic
 * forms JAX prints, with loc(...) aliases), then times pt_import_parse on
 * it (the reader, the op mapping, verification and DCE) and reports ops/s
 * and the process's peak resident memory. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "benchutil.h"
#include "import.h"

#define DEFAULT_OPS 100000
#define DEFAULT_REPS 3
#define OPS_PER_LAYER 15

static const char usage[] =
    "Usage: bench_import [--ops N] [--reps R] [--dump FILE]\n\n"
    "Generates a StableHLO module of about N ops (default 100000; layers of 15:\n"
    "dot_general, broadcast_in_dim, add, tanh, multiply, reduce, compare,\n"
    "select, reshape, transpose, slice, concatenate), imports it R times\n"
    "(default 3) with pt_import_parse, and prints the best and median wall\n"
    "time, the median CPU time, ops per second of each and the peak resident\n"
    "memory (getrusage). Exits 1 if the\n"
    "import fails.\n\n"
    "Options:\n"
    "  --ops N      number of StableHLO ops (at least 15)\n"
    "  --reps R     repetitions (1..21)\n"
    "  --dump FILE  also write the generated module to FILE (to time\n"
    "               `partita import FILE` with /usr/bin/time -v)\n"
    "  -h, --help   show this help\n";

typedef struct {
  char *s;
  size_t n, cap;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (k >= 0 && (size_t)k < b->cap - b->n) {
      b->n += (size_t)k;
      return;
    }
    PT_GROW(b->s, b->cap, b->cap + (size_t)k + 4096);
  }
}

#define T2 "tensor<64x256xf32>"
#define T3 "tensor<64x16x16xf32>"

static char *generate(long layers, size_t *len) {
  buf b = {pt_malloc(1 << 20), 0, 1 << 20};
  put(&b, "module @jit_chain attributes {mhlo.num_partitions = 1 : i32} {\n"
          "  func.func public @main(%%arg0: " T2 " {jax.arg_info = \"x\"}, %%arg1: "
          "tensor<256x256xf32> {jax.arg_info = \"w\"}, %%arg2: tensor<256xf32> "
          "{jax.arg_info = \"b\"}) -> (" T2 " {jax.result_info = \"\"}) {\n"
          "    %%cst = stablehlo.constant dense<0xFF800000> : tensor<f32> loc(#loc)\n");
  char prev[32] = "%arg0";
  for (long k = 0; k < layers; k++) {
    const char *p = prev;
    put(&b,
        "    %%%ld_0 = stablehlo.dot_general %s, %%arg1, contracting_dims = [1] x [0], "
        "precision = [DEFAULT, DEFAULT] : (" T2 ", tensor<256x256xf32>) -> " T2 " loc(#loc1)\n",
        k, p);
    put(&b,
        "    %%%ld_1 = stablehlo.broadcast_in_dim %%arg2, dims = [1] : (tensor<256xf32>) -> " T2
        " loc(#loc2)\n",
        k);
    put(&b, "    %%%ld_2 = stablehlo.add %%%ld_0, %%%ld_1 : " T2 " loc(#loc2)\n", k, k, k);
    put(&b, "    %%%ld_3 = \"stablehlo.tanh\"(%%%ld_2) : (" T2 ") -> " T2 " loc(#loc3)\n", k, k);
    put(&b, "    %%%ld_4 = stablehlo.multiply %%%ld_3, %s : " T2 " loc(#loc3)\n", k, k, p);
    put(&b,
        "    %%%ld_5 = stablehlo.reduce(%%%ld_4 init: %%cst) applies stablehlo.maximum across "
        "dimensions = [1] : (" T2 ", tensor<f32>) -> tensor<64xf32> loc(#loc4)\n",
        k, k);
    put(&b,
        "    %%%ld_6 = stablehlo.broadcast_in_dim %%%ld_5, dims = [0] : (tensor<64xf32>) -> " T2
        " loc(#loc4)\n",
        k, k);
    put(&b,
        "    %%%ld_7 = stablehlo.compare  GT, %%%ld_4, %%%ld_6,  FLOAT : (" T2 ", " T2
        ") -> tensor<64x256xi1> loc(#loc4)\n",
        k, k, k);
    put(&b,
        "    %%%ld_8 = stablehlo.select %%%ld_7, %%%ld_4, %%%ld_2 : tensor<64x256xi1>, " T2
        " loc(#loc4)\n",
        k, k, k, k);
    put(&b, "    %%%ld_9 = stablehlo.reshape %%%ld_8 : (" T2 ") -> " T3 " loc(#loc5)\n", k, k);
    put(&b,
        "    %%%ld_10 = \"stablehlo.transpose\"(%%%ld_9) <{permutation = array<i64: 0, 2, 1>}> "
        ": (" T3 ") -> " T3 " loc(#loc5)\n",
        k, k);
    put(&b, "    %%%ld_11 = stablehlo.reshape %%%ld_10 : (" T3 ") -> " T2 " loc(#loc5)\n", k, k);
    put(&b,
        "    %%%ld_12 = stablehlo.slice %%%ld_11 [0:64, 0:128] : (" T2
        ") -> tensor<64x128xf32> loc(#loc6)\n",
        k, k);
    put(&b,
        "    %%%ld_13 = stablehlo.slice %%%ld_11 [0:64, 128:256] : (" T2
        ") -> tensor<64x128xf32> loc(#loc6)\n",
        k, k);
    put(&b,
        "    %%%ld_14 = stablehlo.concatenate %%%ld_13, %%%ld_12, dim = 1 : "
        "(tensor<64x128xf32>, tensor<64x128xf32>) -> " T2 " loc(#loc6)\n",
        k, k, k);
    snprintf(prev, sizeof prev, "%%%ld_14", k);
  }
  put(&b, "    return %s : " T2 "\n  }\n}\n#loc = loc(unknown)\n", prev);
  for (int i = 1; i <= 6; i++)
    put(&b, "#loc%d = loc(\"chain.py\":%d:8)\n", i, 10 + i);
  *len = b.n;
  return b.s;
}

int main(int argc, char **argv) {
  long ops = DEFAULT_OPS, reps = DEFAULT_REPS;
  const char *dump = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    }
    if (i + 1 < argc && strcmp(argv[i], "--ops") == 0 &&
        pt_bench_parse_count(argv[i + 1], OPS_PER_LAYER, 100000000, &ops)) {
      i++;
    } else if (i + 1 < argc && strcmp(argv[i], "--reps") == 0 &&
               pt_bench_parse_count(argv[i + 1], 1, 21, &reps)) {
      i++;
    } else if (i + 1 < argc && strcmp(argv[i], "--dump") == 0) {
      dump = argv[++i];
    } else {
      fprintf(stderr, "bench_import: error: bad argument '%s'\n%s", argv[i], usage);
      return 2;
    }
  }
  long layers = ops / OPS_PER_LAYER;
  long nops = layers * OPS_PER_LAYER + 2; /* the constant and the return */
  size_t len;
  char *text = generate(layers, &len);
  if (dump) {
    FILE *f = fopen(dump, "w");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
      fprintf(stderr, "bench_import: error: cannot write %s\n", dump);
      return 1;
    }
  }
  pt_bench_machine_line();
  printf("module: %ld StableHLO ops (%ld layers of %d), %.1f MB of text\n", nops, layers,
         OPS_PER_LAYER, (double)len / 1e6);
  double times[21], cpu[21];
  int partita_ops = 0;
  for (long r = 0; r < reps; r++) {
    pt_diag *d = pt_diag_create(stderr);
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    double t0 = pt_bench_now();
    pt_module *m = pt_import_parse(text, len, "chain.mlir", NULL, d);
    times[r] = pt_bench_now() - t0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    cpu[r] = (double)(c1.tv_sec - c0.tv_sec) + 1e-9 * (double)(c1.tv_nsec - c0.tv_nsec);
    if (!m) {
      fprintf(stderr, "bench_import: error: the generated module did not import\n");
      return 1;
    }
    partita_ops = m->funcs[m->nfuncs - 1]->nops;
    pt_module_destroy(m);
    pt_diag_destroy(d);
  }
  qsort(times, (size_t)reps, sizeof times[0], pt_bench_cmp_double);
  qsort(cpu, (size_t)reps, sizeof cpu[0], pt_bench_cmp_double);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("partita ops: %d\n", partita_ops);
  printf("import: best %.3f s, median %.3f s over %ld runs: %.0f StableHLO ops/s, %.1f MB/s\n",
         times[0], times[reps / 2], reps, (double)nops / times[reps / 2],
         (double)len / 1e6 / times[reps / 2]);
  printf("import CPU time: median %.3f s: %.0f StableHLO ops/s of CPU (the wall time above\n"
         "  is longer when other processes share the cores)\n",
         cpu[reps / 2], (double)nops / cpu[reps / 2]);
  printf("peak resident memory: %.1f MB (the generated text included)\n",
         (double)ru.ru_maxrss / 1024.0);
  pt_free(text);
  return 0;
}
