/* The GEMM peak of one core at a training step's matmul shapes: cblas_sgemm
 * on each GEMM of the list, each with its own operands (as the step's
 * weights and activations are distinct buffers), best of several runs.
 * Prints the list's GFLOP/s (its flops over the sum of the per-GEMM best
 * times); bench/bench_train.sh divides the step's achieved rate by it.
 *
 *   gemm_peak [SPEC...]   SPEC = [R*]MxNxK[/nn|/nt|/tn|/tt], C[M,N] = op(A)[M,K] op(B)[K,N]
 *
 * R* counts the product R times (a batched dot's batch points, or the same
 * shape repeated in a step): its flops and its best time are multiplied by R,
 * the GEMM itself timed once per run (bench/bench_peers.sh's sgemm peak bound
 * passes a whole train step's dots so, from bench_exec --gemm-list).
 *
 * Each GEMM is timed both ways round, as it is and as C^T = op(B)^T op(A)^T
 * (which the executor runs for thin results, runtime/exec.c dot_flips),
 * and the faster counts: the peak is the best sgemm does for the product.
 *
 * The default list is the five GEMMs of examples/mlp.pir's train_step on
 * one device: the two forward products, the input gradient of the second
 * layer (d . w2^T) and the two weight gradients (h^T . d, x^T . dh). */
#include <cblas.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  int m, n, k;
  int ta, tb;   /* A (resp. B) is stored transposed */
  double count; /* R of R*: how many times the step runs it */
} gemm;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int parse(const char *s, gemm *g) {
  char o[3] = "nn";
  int used = 0, r = 1;
  const char *star = strchr(s, '*');
  if (star) {
    if (sscanf(s, "%d%n", &r, &used) != 1 || s + used != star || r <= 0)
      return -1;
    s = star + 1;
    used = 0;
  }
  g->count = r;
  if (sscanf(s, "%dx%dx%d%n", &g->m, &g->n, &g->k, &used) != 3 || g->m <= 0 || g->n <= 0 ||
      g->k <= 0)
    return -1;
  if (s[used] == '/') {
    if (strlen(s + used + 1) != 2)
      return -1;
    memcpy(o, s + used + 1, 2);
  } else if (s[used] != '\0') {
    return -1;
  }
  if ((o[0] != 'n' && o[0] != 't') || (o[1] != 'n' && o[1] != 't'))
    return -1;
  g->ta = o[0] == 't';
  g->tb = o[1] == 't';
  return 0;
}

int main(int argc, char **argv) {
  static const char *mlp[] = {"64x1024x1024", "64x1024x1024", "64x1024x1024/nt", "1024x1024x64/tn",
                              "1024x1024x64/tn"};
  const char *const *specs = mlp;
  int n = 5, reps = 30;
  if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
    puts("usage: gemm_peak [[R*]MxNxK[/nn|/nt|/tn|/tt] ...]\n"
         "  GFLOP/s of one thread over the list of GEMMs (default: the five of\n"
         "  examples/mlp.pir's train_step on one device), each on its own operands,\n"
         "  best of 30 runs each, each timed as it is and as C^T = op(B)^T op(A)^T\n"
         "  (the faster counts); R* counts a GEMM R times in the list's flops and time");
    return 0;
  }
  if (argc > 1) {
    specs = (const char *const *)argv + 1;
    n = argc - 1;
  }
  gemm *g = calloc((size_t)n, sizeof *g);
  for (int i = 0; i < n; i++)
    if (parse(specs[i], &g[i]) != 0) {
      fprintf(stderr, "gemm_peak: error: '%s' is not [R*]MxNxK[/nn|/nt|/tn|/tt]\n", specs[i]);
      free(g);
      return 2;
    }
  float **a = calloc((size_t)n, sizeof *a), **b = calloc((size_t)n, sizeof *b),
        **c = calloc((size_t)n, sizeof *c);
  double *best = calloc((size_t)n, sizeof *best);
  bool *flipped = calloc((size_t)n, sizeof *flipped);
  for (int i = 0; i < n; i++) {
    size_t as = (size_t)g[i].m * (size_t)g[i].k, bs = (size_t)g[i].k * (size_t)g[i].n;
    a[i] = malloc(as * sizeof **a);
    b[i] = malloc(bs * sizeof **b);
    c[i] = calloc((size_t)g[i].m * (size_t)g[i].n, sizeof **c);
    for (size_t j = 0; j < as; j++)
      a[i][j] = (float)(j % 7) * 0.01f;
    for (size_t j = 0; j < bs; j++)
      b[i][j] = (float)(j % 5) * 0.01f;
    best[i] = 1e9;
  }
  openblas_set_num_threads(1);
  for (int r = 0; r < reps; r++)
    for (int i = 0; i < n; i++)
      for (int flip = 0; flip < 2; flip++) {
        const gemm *q = &g[i];
        double t = now();
        if (!flip)
          cblas_sgemm(CblasRowMajor, q->ta ? CblasTrans : CblasNoTrans,
                      q->tb ? CblasTrans : CblasNoTrans, q->m, q->n, q->k, 1, a[i],
                      q->ta ? q->m : q->k, b[i], q->tb ? q->k : q->n, 0, c[i], q->n);
        else /* C^T[n, m] = op(B)^T op(A)^T */
          cblas_sgemm(CblasRowMajor, q->tb ? CblasNoTrans : CblasTrans,
                      q->ta ? CblasNoTrans : CblasTrans, q->n, q->m, q->k, 1, b[i],
                      q->tb ? q->k : q->n, a[i], q->ta ? q->m : q->k, 0, c[i], q->m);
        t = now() - t;
        if (t < best[i]) {
          best[i] = t;
          flipped[i] = flip;
        }
      }
  double flops = 0, total = 0;
  fprintf(stderr, "sgemm, one thread, best of %d:", reps);
  for (int i = 0; i < n; i++) {
    double f = 2.0 * g[i].m * g[i].n * g[i].k;
    flops += f * g[i].count;
    total += best[i] * g[i].count;
    fprintf(stderr, " %s %.1f%s%s", specs[i], f / best[i] / 1e9, flipped[i] ? " (as C^T)" : "",
            i + 1 < n ? "," : " GFLOP/s\n");
    free(a[i]);
    free(b[i]);
    free(c[i]);
  }
  printf("%.1f\n", flops / total / 1e9);
  free(g);
  free(a);
  free(b);
  free(c);
  free(best);
  free(flipped);
  return 0;
}
