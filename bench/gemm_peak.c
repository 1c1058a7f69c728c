/* The GEMM peak of one core at the MLP step's matmul shapes: cblas_sgemm on
 * [64 x 1024] x [1024 x 1024] in the three orientations a training step uses
 * (forward, input gradient, weight gradient), best of several runs. Prints
 * GFLOP/s; bench/bench_train.sh divides the step's achieved rate by it. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  int m = 64, n = 1024, k = 1024, reps = 30;
  if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
    puts("usage: gemm_peak [M N K]   (default 64 1024 1024); prints GFLOP/s of one thread");
    return 0;
  }
  if (argc == 4) {
    m = atoi(argv[1]);
    n = atoi(argv[2]);
    k = atoi(argv[3]);
  }
  openblas_set_num_threads(1);
  size_t big = (size_t)(m > k ? m : k) * (size_t)(n > k ? n : k);
  float *a = calloc(big, sizeof *a), *b = calloc(big, sizeof *b), *c = calloc(big, sizeof *c);
  for (size_t i = 0; i < big; i++)
    a[i] = b[i] = (float)(i % 7) * 0.01f;
  double best[3] = {1e9, 1e9, 1e9};
  for (int r = 0; r < reps; r++) {
    double t = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
    double t1 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, k, n, 1, a, n, b, n, 0, c, k);
    double t2 = now();
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, m, 1, a, k, b, n, 0, c, n);
    double t3 = now();
    best[0] = t1 - t < best[0] ? t1 - t : best[0];
    best[1] = t2 - t1 < best[1] ? t2 - t1 : best[1];
    best[2] = t3 - t2 < best[2] ? t3 - t2 : best[2];
  }
  double flops = 2.0 * m * n * k, total = best[0] + best[1] + best[2];
  printf("%.1f\n", 3 * flops / total / 1e9);
  fprintf(stderr, "sgemm %dx%dx%d, one thread: forward %.1f, input-gradient %.1f, "
          "weight-gradient %.1f GFLOP/s\n",
          m, n, k, flops / best[0] / 1e9, flops / best[1] / 1e9, flops / best[2] / 1e9);
  free(a);
  free(b);
  free(c);
  return 0;
}
