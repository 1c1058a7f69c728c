/* Fuzzes tactic scripts (tactics/yaml.c) and the path that applies them: a
 * script that reads is applied to two fixed models (the MLP and the tiny
 * transformer block): its mesh set, its tactics applied and propagated,
 * the function lowered to the per-device program (which must verify), and
 * that program simulated on a fixed hardware file. Every refusal along the
 * way must be a located error (in the script, the model or the hardware
 * file). The meshes, dims and globs of the script decide everything. */
#include <string.h>

#include "fuzz.h"
#include "hw.h"
#include "lower.h"
#include "passes.h"
#include "sim.h"
#include "tactics.h"

#define FILE_NAME "fuzz.yaml"

static const char *const models[] = {"examples/mlp.pir", "tests/data/tiny_transformer_block.pir"};
#define NMODELS ((int)(sizeof models / sizeof models[0]))
static char *model_text[NMODELS];
static size_t model_len[NMODELS];
static pt_sim_hw *hw;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  for (int i = 0; i < NMODELS; i++)
    model_text[i] = pt_fuzz_read_source(models[i], &model_len[i]);
  size_t n;
  char *text = pt_fuzz_read_source("examples/hw/a100-cluster.yaml", &n);
  pt_diag *d = pt_diag_create(stderr);
  hw = pt_sim_hw_parse(text, n, "a100-cluster.yaml", d);
  if (!hw)
    PT_FUZZ_FAIL("cannot read the hardware file");
  pt_diag_destroy(d);
  free(text);
  pt_fuzz_cap_allocations();
  return 0;
}

/* Lowers the sharded f and simulates the result; false on a refusal. */
static bool lower_and_simulate(pt_module *m, pt_func *f, const pt_schedule *s, pt_diag *d) {
  const char *names[64];
  int nt = s->ntactics < 64 ? s->ntactics : 64;
  for (int i = 0; i < nt; i++)
    names[i] = s->tactics[i].name;
  pt_lower_opts lo = {NULL, names, nt, NULL};
  pt_func *g = NULL;
  if (pt_pass_lower(m, f, &lo, &g, d) != PT_OK)
    return false;
  if (pt_verify_func(g, d) != PT_OK)
    PT_FUZZ_FAIL("the lowered program does not verify: %s", pt_diag_message(d, 0));
  pt_sim_result r;
  bool ok = pt_sim_run(hw, g, &r, d) == PT_OK;
  pt_sim_result_free(&r);
  return ok;
}

static void apply_to_model(int i, const pt_schedule *s) {
  pt_diag *d = pt_diag_create(NULL);
  pt_module *m = pt_parse(model_text[i], model_len[i], models[i], d);
  if (!m || pt_verify_module(m, d) != PT_OK || pt_pass_inline(m, NULL, d) != PT_OK)
    PT_FUZZ_FAIL("cannot load %s", models[i]);
  pt_func *f = pt_module_find_func(m, "loss");
  if (!f)
    PT_FUZZ_FAIL("%s has no @loss", models[i]);
  pt_prop_report rep;
  memset(&rep, 0, sizeof rep);
  bool ok = pt_schedule_set_mesh(m, s, d) == PT_OK && pt_schedule_apply(f, s, &rep, d) == PT_OK &&
            lower_and_simulate(m, f, s, d);
  pt_prop_report_free(&rep);
  pt_fuzz_check_diag(d, ok, NULL, false);
  pt_module_destroy(m);
  pt_diag_destroy(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pt_diag *d = pt_diag_create(NULL);
  pt_schedule *s = pt_schedule_parse((const char *)data, size, FILE_NAME, d);
  pt_fuzz_check_diag(d, s != NULL, FILE_NAME, false);
  if (s)
    for (int i = 0; i < NMODELS; i++)
      apply_to_model(i, s);
  pt_schedule_destroy(s);
  pt_diag_destroy(d);
  return 0;
}
