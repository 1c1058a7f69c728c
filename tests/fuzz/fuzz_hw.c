/* Fuzzes hardware files (simulator/hw.c): a file that reads is checked
 * against meshes of 1 to 1024 devices, asked for GEMM rates and every
 * link's alpha-beta of every collective, and used to simulate a fixed
 * lowered program (the MLP under BP+MP on a 2 x 2 mesh). Beyond "no crash
 * and a located error": a file the reader accepts must give finite,
 * non-negative times, and a positive GEMM rate. */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "hw.h"
#include "lower.h"
#include "passes.h"
#include "sim.h"
#include "tactics.h"

#define FILE_NAME "fuzz-hw.yaml"

static pt_module *model; /* the lowered program lives here */
static const pt_func *lowered;

/* Reads a file of the tree, failing the harness on any error. */
static void must(bool ok, pt_diag *d, const char *what) {
  if (!ok)
    PT_FUZZ_FAIL("cannot prepare %s: %s", what,
                 pt_diag_count(d) ? pt_diag_message(d, 0) : "(no message)");
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  pt_diag *d = pt_diag_create(NULL);
  size_t n;
  char *text = pt_fuzz_read_source("examples/mlp.pir", &n);
  model = pt_parse(text, n, "mlp.pir", d);
  free(text);
  must(model && pt_verify_module(model, d) == PT_OK, d, "mlp.pir");
  text = pt_fuzz_read_source("examples/mlp.bp_mp.yaml", &n);
  pt_schedule *s = pt_schedule_parse(text, n, "mlp.bp_mp.yaml", d);
  free(text);
  must(s != NULL, d, "mlp.bp_mp.yaml");
  pt_func *f = pt_module_find_func(model, "loss");
  pt_prop_report rep;
  memset(&rep, 0, sizeof rep);
  pt_func *g = NULL;
  must(f && pt_schedule_set_mesh(model, s, d) == PT_OK &&
           pt_schedule_apply(f, s, &rep, d) == PT_OK &&
           pt_pass_lower(model, f, &(pt_lower_opts){0}, &g, d) == PT_OK,
       d, "the lowered MLP");
  pt_prop_report_free(&rep);
  pt_schedule_destroy(s);
  pt_diag_destroy(d);
  lowered = g;
  pt_fuzz_cap_allocations();
  return 0;
}

static void check_time(double t, const char *what) {
  if (!isfinite(t) || t < 0)
    PT_FUZZ_FAIL("an accepted hardware file gives %s = %g", what, t);
}

/* What the simulator asks of an accepted file. */
static void exercise(const pt_sim_hw *hw) {
  static const int64_t sizes[] = {1, 2, 3, 8, 64, 1024};
  pt_diag *d = pt_diag_create(NULL);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    pt_mesh mesh = {0};
    mesh.naxes = 2;
    mesh.names[0] = "batch";
    mesh.names[1] = "model";
    mesh.sizes[0] = sizes[i];
    mesh.sizes[1] = 2;
    int links[PT_MAX_AXES];
    pt_status st = pt_sim_hw_check_mesh(hw, &mesh, links, d);
    pt_fuzz_check_diag(d, st == PT_OK, FILE_NAME, false);
    pt_diag_clear(d);
  }
  static const int64_t shapes[][3] = {{1, 1, 1}, {64, 64, 64}, {4096, 1, 4096}, {1 << 20, 7, 3}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    double r = pt_sim_gemm_rate(hw, shapes[i][0], shapes[i][1], shapes[i][2]);
    if (!(r > 0) || !isfinite(r))
      PT_FUZZ_FAIL("an accepted hardware file gives a GEMM rate of %g", r);
  }
  for (int l = 0; l < hw->nlinks; l++)
    for (int k = 0; k < PT_SIM_NKINDS; k++)
      for (int64_t g = 1; g <= 4096; g *= 4) {
        pt_sim_ab ab = pt_sim_collective_ab(hw, l, k, g);
        check_time(ab.alpha, "a collective's alpha");
        check_time(ab.beta, "a collective's beta");
      }
  pt_sim_result r;
  pt_status st = pt_sim_run(hw, lowered, &r, d);
  pt_fuzz_check_diag(d, st == PT_OK, FILE_NAME, false);
  if (st == PT_OK) {
    check_time(r.step, "the step time");
    check_time(r.compute, "the compute time");
    check_time(r.comm, "the communication time");
  }
  pt_sim_result_free(&r);
  pt_diag_destroy(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pt_diag *d = pt_diag_create(NULL);
  pt_sim_hw *hw = pt_sim_hw_parse((const char *)data, size, FILE_NAME, d);
  pt_fuzz_check_diag(d, hw != NULL, FILE_NAME, false);
  if (hw)
    exercise(hw);
  pt_sim_hw_destroy(hw);
  pt_diag_destroy(d);
  return 0;
}
