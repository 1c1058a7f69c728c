/* bench_sim: how fast the simulator prices a large training step. Builds
 * the adam train_step of bench_propagate's model (an embedding, then layers
 * of dot + bias + relu; about 20,000 ops by default), applies the same four
 * tactics on an 8 x 8 mesh (64 devices), lowers it, and times pt_sim_run on
 * examples/hw/a100-cluster.yaml, then the Chrome trace of the run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "build.h"
#include "exec.h"
#include "lower.h"
#include "passes.h"
#include "propagate.h"
#include "sim.h"
#include "tactics.h"

#define DEFAULT_OPS 20000
#define DEFAULT_REPS 5
#define MAX_REPS 101

static const char usage[] =
    "Usage: bench_sim [--ops N] [--reps R] [--hw FILE]\n\n"
    "Builds bench_propagate's loss and its adam train_step with about N ops\n"
    "(default 20000), applies four tactics on a {batch: 8, model: 8} mesh\n"
    "(data-parallel and zero-3 along 'batch', megatron and embedding along\n"
    "'model'), lowers it to the per-device program, and times simulating it R\n"
    "times (default 5; best and median) on the hardware file (default\n"
    "examples/hw/a100-cluster.yaml, from the source tree), then writing its trace.\n\n"
    "Options:\n"
    "  --ops N      target op count of the train step (at least 200)\n"
    "  --reps R     repetitions (1..101)\n"
    "  --hw FILE    the hardware file\n"
    "  -h, --help   show this help\n";

static const char schedule_yaml[] = "mesh: {batch: 8, model: 8}\n"
                                    "schedule:\n"
                                    "  - name: data-parallel\n"
                                    "    axis: batch\n"
                                    "    shard: {tok: 0, y: 0}\n"
                                    "  - name: megatron\n"
                                    "    axis: model\n"
                                    "    shard:\n"
                                    "      \"layers.*[02468].w\": 1\n"
                                    "      \"layers.*[02468].b\": 0\n"
                                    "      \"layers.*[13579].w\": 0\n"
                                    "    replicate: [\"layers.*[13579].b\"]\n"
                                    "  - name: zero-3\n"
                                    "    axis: batch\n"
                                    "    shard:\n"
                                    "      \"layers.*\": 0\n"
                                    "      emb: 0\n"
                                    "      \"opt.*.*\": 0\n"
                                    "  - name: embedding\n"
                                    "    axis: model\n"
                                    "    shard: {emb: 0}\n";

static double median_of(double *t, int n) {
  qsort(t, (size_t)n, sizeof *t, pt_bench_cmp_double);
  return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

int main(int argc, char **argv) {
  long target = DEFAULT_OPS, reps = DEFAULT_REPS;
  const char *hwpath = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    }
    if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc) {
      if (!pt_bench_parse_count(argv[++i], 200, 10000000, &target)) {
        fprintf(stderr, "bench_sim: --ops needs an integer >= 200, not '%s'\n", argv[i]);
        return 2;
      }
    } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      if (!pt_bench_parse_count(argv[++i], 1, MAX_REPS, &reps)) {
        fprintf(stderr, "bench_sim: --reps needs an integer in 1..%d, not '%s'\n", MAX_REPS,
                argv[i]);
        return 2;
      }
    } else if (strcmp(argv[i], "--hw") == 0 && i + 1 < argc) {
      hwpath = argv[++i];
    } else {
      fprintf(stderr, "bench_sim: unknown argument '%s'\n%s", argv[i], usage);
      return 2;
    }
  }
  char defpath[4096];
  if (!hwpath) {
    snprintf(defpath, sizeof defpath, "%s/examples/hw/a100-cluster.yaml", PT_SOURCE_DIR);
    hwpath = defpath;
  }
  pt_diag *d = pt_diag_create(stderr);
  double a = pt_bench_now();
  pt_sim_hw *hw = pt_sim_hw_read(hwpath, d);
  double thw = pt_bench_now() - a;
  if (!hw)
    return 1;

  int layers = pt_bench_step_layers(target, NULL);
  int nops;
  pt_module *m = pt_bench_build_step(layers, &nops);
  pt_func *f = pt_module_find_func(m, "train_step");
  pt_schedule *s = pt_schedule_parse(schedule_yaml, strlen(schedule_yaml), "bench.yaml", d);
  if (!s || pt_schedule_set_mesh(m, s, d) != PT_OK || pt_schedule_apply(f, s, NULL, d) != PT_OK)
    return 1;
  pt_lower_stats st = {0};
  pt_lower_opts lo = {NULL, NULL, 0, &st};
  pt_func *g = NULL;
  if (pt_pass_lower(m, f, &lo, &g, d) != PT_OK)
    return 1;

  printf("train_step of %d layers + embedding: %d ops; on {batch = 8, model = 8} (64 devices) "
         "%d local ops, %d collectives\n",
         layers, nops, g->nops, st.nrecords);
  pt_bench_machine_line();
  double times[MAX_REPS], ttrace[MAX_REPS], tplan[MAX_REPS];
  pt_sim_result r = {0};
  size_t trace_bytes = 0;
  for (int i = 0; i < reps; i++) {
    pt_sim_result_free(&r);
    a = pt_bench_now();
    if (pt_sim_run(hw, g, &r, d) != PT_OK)
      return 1;
    times[i] = pt_bench_now() - a;
    /* the runtime's buffer planner, which pt_sim_run calls for the peak */
    pt_buffer_plan plan;
    a = pt_bench_now();
    pt_plan_buffers(g, &plan);
    tplan[i] = pt_bench_now() - a;
    pt_buffer_plan_free(&plan);
    a = pt_bench_now();
    char *trace = pt_sim_trace_json(&r, "bench");
    ttrace[i] = pt_bench_now() - a;
    trace_bytes = strlen(trace);
    pt_free(trace);
  }
  char t1[32], t2[32], t3[32];
  printf("hardware file %s read in %.4f s\n", hw->name, thw);
  printf("predicted step: %s (compute %s, communication %s); %.1f MiB sent and peak %.1f MiB "
         "per device\n",
         pt_sim_time_str(r.step, t1, sizeof t1), pt_sim_time_str(r.compute, t2, sizeof t2),
         pt_sim_time_str(r.comm, t3, sizeof t3), (double)r.bytes_sent / 1048576.0,
         (double)r.memory.peak_bytes / 1048576.0);
  double best = times[0], tbest = ttrace[0], pbest = tplan[0];
  for (int i = 1; i < reps; i++) {
    best = times[i] < best ? times[i] : best;
    tbest = ttrace[i] < tbest ? ttrace[i] : tbest;
    pbest = tplan[i] < pbest ? tplan[i] : pbest;
  }
  printf("%-18s %10s %10s %12s\n", "stage", "best s", "median s", "ops/s (best)");
  printf("%-18s %10.4f %10.4f %12.0f\n", "pt_sim_run", best, median_of(times, (int)reps),
         (double)g->nops / best);
  printf("%-18s %10.4f %10.4f %12.0f   (called by pt_sim_run)\n", "  pt_plan_buffers", pbest,
         median_of(tplan, (int)reps), (double)g->nops / pbest);
  printf("%-18s %10.4f %10.4f %12.0f   (%.1f MB of JSON)\n", "pt_sim_trace_json", tbest,
         median_of(ttrace, (int)reps), (double)g->nops / tbest, (double)trace_bytes / 1e6);
  pt_sim_result_free(&r);
  pt_lower_stats_free(&st);
  pt_schedule_destroy(s);
  pt_module_destroy(m);
  pt_sim_hw_destroy(hw);
  pt_diag_destroy(d);
  return 0;
}
