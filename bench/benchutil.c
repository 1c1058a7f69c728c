/* What the benchmarks share (see benchutil.h). */
#include "benchutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "passes.h"

enum { B = 16, D = 64, V = 1024 };

double pt_bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static pt_type ty2(int64_t a, int64_t b) {
  int64_t dims[2] = {a, b};
  return pt_type_make(PT_F32, 2, dims);
}

/* The loss with `layers` layers, in a new module. */
static pt_module *build_loss(int layers) {
  pt_module *m = pt_module_create("bench.pir");
  pt_loc loc = {"bench.pir", 1, 1};
  pt_func *f = pt_func_create(m, "loss", loc);
  int64_t nb[1] = {B};
  pt_value *tok = pt_func_add_arg(f, "tok", PT_ROLE_INPUT, pt_type_make(PT_I32, 1, nb), loc);
  pt_value *y = pt_func_add_arg(f, "y", PT_ROLE_INPUT, ty2(B, D), loc);
  pt_value *emb = pt_func_add_arg(f, "emb", PT_ROLE_PARAM, ty2(V, D), loc);
  pt_value **w = pt_calloc((size_t)layers, sizeof *w),
           **bias = pt_calloc((size_t)layers, sizeof *bias);
  int64_t nd[1] = {D};
  for (int l = 0; l < layers; l++) {
    char name[64];
    snprintf(name, sizeof name, "layers.%d.w", l);
    w[l] = pt_func_add_arg(f, name, PT_ROLE_PARAM, ty2(D, D), loc);
    snprintf(name, sizeof name, "layers.%d.b", l);
    bias[l] = pt_func_add_arg(f, name, PT_ROLE_PARAM, pt_type_make(PT_F32, 1, nd), loc);
  }
  pt_builder b = {f, loc};
  pt_value *h = pt_b_take(&b, emb, tok);
  const int64_t lc[1] = {1}, rc[1] = {0}, bdims[1] = {1}, all[2] = {0, 1};
  for (int l = 0; l < layers; l++) {
    pt_value *z = pt_b_dot(&b, h, w[l], NULL, NULL, 0, lc, rc, 1);
    z = pt_b_binary(&b, PT_OP_ADD, z, pt_b_broadcast(&b, bias[l], bdims, ty2(B, D)));
    h = pt_b_binary(&b, PT_OP_MAX, z, pt_b_splat(&b, 0.0, ty2(B, D)));
  }
  pt_value *err = pt_b_binary(&b, PT_OP_SUB, h, y);
  pt_value *sum = pt_b_reduce(&b, PT_OP_REDUCE_SUM, pt_b_binary(&b, PT_OP_MUL, err, err), all, 2);
  pt_value *loss =
      pt_b_binary(&b, PT_OP_DIV, sum, pt_b_splat(&b, (double)(B * D), pt_type_scalar(PT_F32)));
  pt_func_add_result(f, "loss", pt_type_scalar(PT_F32), loss, loc);
  pt_free(w);
  pt_free(bias);
  return m;
}

/* The loss and its train_step; *nops gets the step's op count. */
pt_module *pt_bench_build_step(int layers, int *nops) {
  pt_module *m = build_loss(layers);
  pt_diag *d = pt_diag_create(stderr);
  pt_optimizer o = pt_optimizer_default(PT_OPTIM_ADAM);
  pt_func *ts = NULL;
  if (pt_verify_module(m, d) != PT_OK || pt_pass_train_step(m, "loss", &o, NULL, &ts, d) != PT_OK) {
    fprintf(stderr, "bench: the generated program does not build\n");
    exit(1);
  }
  pt_diag_destroy(d);
  *nops = ts->nops;
  return m;
}

int pt_bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

bool pt_bench_parse_count(const char *s, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

void pt_bench_machine_line(void) {
  char model[256];
  pt_cpu_model(model, sizeof model);
  const char *core = getenv("OPENBLAS_CORETYPE");
  printf("machine: nproc %ld, cpu \"%s\", OPENBLAS_CORETYPE %s\n", sysconf(_SC_NPROCESSORS_ONLN),
         model, core ? core : "unset");
}

int pt_bench_step_layers(long target, int *per_layer_out) {
  /* the op count is linear in the depth: measure two depths, solve */
  int n2, n4;
  pt_module_destroy(pt_bench_build_step(2, &n2));
  pt_module_destroy(pt_bench_build_step(4, &n4));
  int per_layer = (n4 - n2) / 2, base = n2 - 2 * per_layer;
  int layers = (int)((target - base + per_layer / 2) / per_layer);
  if (per_layer_out)
    *per_layer_out = per_layer;
  return layers < 2 ? 2 : layers;
}
