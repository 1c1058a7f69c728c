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
 * layer (d . w2^T) and the two weight gradients (h^T . d, x^T . dh).
 *
 *   gemm_peak --fma
 *
 * prints instead the core's fused multiply-add peak: twelve independent
 * chains of vector FMAs (vfmadd on 16 lanes with AVX-512F, 8 with AVX2 and
 * FMA; both measured where the core has both, the faster counts), 2 flops a
 * lane, best of five runs of 20 ms. No kernel computes a product faster,
 * so it is the ceiling under sgemm's own (bench/bench_peers.sh prints both
 * bounds). x86-64 only. */
#include <cblas.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_FMA_PROBE 1
#endif

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

#ifdef HAVE_FMA_PROBE
/* `iters` rounds of twelve independent FMA chains (more than a core's FMA
 * latency times its FMA pipes, so the pipes never wait); flops done. The
 * sum goes to `sink` so that nothing is optimised away. */
#define FMA_CHAINS(T, FMA, SET1, ADD, STORE, LANES)                                                \
  T m = SET1(0.999f), c = SET1(1e-3f);                                                             \
  T a0 = SET1(0.1f), a1 = SET1(0.2f), a2 = SET1(0.3f), a3 = SET1(0.4f), a4 = SET1(0.5f),           \
    a5 = SET1(0.6f), a6 = SET1(0.7f), a7 = SET1(0.8f), a8 = SET1(0.9f), a9 = SET1(1.0f),           \
    a10 = SET1(1.1f), a11 = SET1(1.2f);                                                            \
  for (long i = 0; i < iters; i++) {                                                               \
    a0 = FMA(a0, m, c), a1 = FMA(a1, m, c), a2 = FMA(a2, m, c), a3 = FMA(a3, m, c);                \
    a4 = FMA(a4, m, c), a5 = FMA(a5, m, c), a6 = FMA(a6, m, c), a7 = FMA(a7, m, c);                \
    a8 = FMA(a8, m, c), a9 = FMA(a9, m, c), a10 = FMA(a10, m, c), a11 = FMA(a11, m, c);            \
  }                                                                                                \
  T t = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));                         \
  t = ADD(t, ADD(ADD(a8, a9), ADD(a10, a11)));                                                     \
  float out[LANES];                                                                                \
  STORE(out, t);                                                                                   \
  *sink += out[0];                                                                                 \
  return (double)iters * 12 * LANES * 2

__attribute__((target("avx512f"))) static double fma512(long iters, volatile float *sink) {
  FMA_CHAINS(__m512, _mm512_fmadd_ps, _mm512_set1_ps, _mm512_add_ps, _mm512_storeu_ps, 16);
}

__attribute__((target("avx2,fma"))) static double fma256(long iters, volatile float *sink) {
  FMA_CHAINS(__m256, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_add_ps, _mm256_storeu_ps, 8);
}

/* The best GFLOP/s of five runs of about 20 ms of f (after one to size them). */
static double fma_rate(double (*f)(long, volatile float *)) {
  volatile float sink = 0;
  long iters = 1 << 16;
  double t = now(), flops = f(iters, &sink);
  t = now() - t;
  if (t > 0 && t < 0.02)
    iters = (long)((double)iters * 0.02 / t);
  double best = 0;
  for (int r = 0; r < 5; r++) {
    t = now();
    flops = f(iters, &sink);
    t = now() - t;
    if (t > 0 && flops / t > best)
      best = flops / t;
  }
  return best / 1e9;
}
#endif

/* gemm_peak --fma: the core's FMA peak on stdout, the widths measured on
 * stderr. */
static int fma_peak(void) {
#ifdef HAVE_FMA_PROBE
  __builtin_cpu_init();
  double r512 = 0, r256 = 0;
  if (__builtin_cpu_supports("avx512f"))
    r512 = fma_rate(fma512);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    r256 = fma_rate(fma256);
  if (r512 <= 0 && r256 <= 0) {
    fprintf(stderr, "gemm_peak: error: --fma needs a core with AVX2 and FMA or AVX-512F\n");
    return 1;
  }
  fprintf(stderr, "fused multiply-add peak, one thread, 12 chains, best of 5:");
  if (r512 > 0)
    fprintf(stderr, " 16 lanes (AVX-512F) %.1f GFLOP/s%s", r512, r256 > 0 ? "," : "");
  if (r256 > 0)
    fprintf(stderr, " 8 lanes (AVX2, FMA) %.1f GFLOP/s", r256);
  fputc('\n', stderr);
  printf("%.1f\n", r512 > r256 ? r512 : r256);
  return 0;
#else
  fprintf(stderr, "gemm_peak: error: --fma measures x86-64 cores only\n");
  return 1;
#endif
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
         "       gemm_peak --fma\n"
         "  GFLOP/s of one thread over the list of GEMMs (default: the five of\n"
         "  examples/mlp.pir's train_step on one device), each on its own operands,\n"
         "  best of 30 runs each, each timed as it is and as C^T = op(B)^T op(A)^T\n"
         "  (the faster counts); R* counts a GEMM R times in the list's flops and time.\n"
         "  --fma: the core's fused multiply-add peak instead (vector FMAs alone,\n"
         "  16 and 8 lanes where the core has them; x86-64), the ceiling of any kernel");
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "--fma") == 0) {
    if (argc > 2) {
      fprintf(stderr, "gemm_peak: error: --fma takes no GEMMs\n");
      return 2;
    }
    return fma_peak();
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
