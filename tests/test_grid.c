/* The differential grid, the backbone of the project: every example model x
 * every shipped tactic script for it x meshes of 1, 2, 4 and 8 devices, for
 * the model's `loss` and its Adam `train_step`, and its SGD `train_step` on
 * the meshes of more than one device (SGD's update is where data
 * parallelism's weight gradients may become sharded updates,
 * passes/lower.c; under the sanitizers only for the models without a tiny
 * copy, the MLP's, where they occur; the MLP's data-parallel dots are also
 * where split dots occur): the lowered program run on the
 * virtual mesh gives the reference interpreter's results. New examples
 * and scripts join automatically: a script examples/STEM.NAME.yaml belongs
 * to examples/STEM.pir (and tests/data/tiny_STEM.pir, a shrunken copy, when
 * one exists).
 *
 * Tolerance: for every result, max |partitioned - reference| <= 1e-4 times
 * the reference's largest magnitude (sums are reordered across devices).
 *
 * The full-size examples/transformer_block.pir takes ~3 s per Adam step in the
 * interpreter, so it runs only its 2x2 script's `loss`, and not under the
 * sanitizers (PT_SANITIZE_BUILD); tests/data/tiny_transformer_block.pir
 * takes its place in the whole grid. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init.h"
#include "lower.h"
#include "passes.h"
#include "tactics.h"
#include "testutil.h"
#include "vmesh.h"

typedef struct {
  char model[256]; /* path relative to the source tree */
  char script[256];
  int step; /* 0: @loss; else @train_step with 1: Adam, 2: SGD */
  int64_t sizes[PT_MAX_AXES];
  int naxes;
} config;

static config *configs;
static int nconfigs, capconfigs;

static bool sanitizer_build(void) {
  return getenv("PT_SANITIZE_BUILD") != NULL;
}

static void add(const char *model, const char *script, int step, const int64_t *sizes, int n) {
  PT_GROW(configs, capconfigs, (size_t)nconfigs + 1);
  config *c = &configs[nconfigs++];
  memset(c, 0, sizeof *c);
  snprintf(c->model, sizeof c->model, "%s", model);
  snprintf(c->script, sizeof c->script, "%s", script);
  c->step = step;
  c->naxes = n;
  memcpy(c->sizes, sizes, (size_t)n * sizeof *sizes);
}

static int64_t devices(const int64_t *sizes, int n) {
  int64_t p = 1;
  for (int a = 0; a < n; a++)
    p *= sizes[a];
  return p;
}

/* Meshes of 1, 2, 4 and 8 devices over the script's axes (SGD: of 2 and
 * more). */
static void add_meshes(const char *model, const char *script, int naxes, int step) {
  static const int64_t one[][1] = {{1}, {2}, {4}, {8}};
  static const int64_t two[][2] = {{1, 1}, {2, 1}, {1, 2}, {2, 2}, {2, 4}, {4, 2}};
  static const int64_t three[][3] = {{1, 1, 1}, {2, 1, 1}, {1, 2, 2}, {2, 2, 2}};
  for (int i = 0; naxes == 1 && i < 4; i++)
    if (step != 2 || devices(one[i], 1) > 1)
      add(model, script, step, one[i], 1);
  for (int i = 0; naxes == 2 && i < 6; i++)
    if (step != 2 || devices(two[i], 2) > 1)
      add(model, script, step, two[i], 2);
  for (int i = 0; naxes == 3 && i < 4; i++)
    if (step != 2 || devices(three[i], 3) > 1)
      add(model, script, step, three[i], 3);
}

static int script_axes(const char *rel) {
  char *path = pt_test_path(rel);
  pt_diag *d = pt_diag_create(stderr);
  pt_schedule *s = pt_schedule_read(path, d);
  if (!s) {
    /* collect() runs before any test, where Check cannot report */
    fprintf(stderr, "grid: %s does not load\n", rel);
    exit(EXIT_FAILURE);
  }
  int n = s->mesh.naxes;
  pt_schedule_destroy(s);
  pt_diag_destroy(d);
  pt_free(path);
  return n;
}

static void collect(void) {
  char *dir = pt_test_path("examples");
  DIR *dp = opendir(dir);
  if (!dp) {
    fprintf(stderr, "grid: cannot open %s\n", dir);
    exit(EXIT_FAILURE);
  }
  struct dirent *e;
  while ((e = readdir(dp))) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") != 0)
      continue;
    const char *dot = strchr(e->d_name, '.');
    char stem[128], model[256], tiny[256], script[256];
    snprintf(stem, sizeof stem, "%.*s", (int)(dot - e->d_name), e->d_name);
    snprintf(model, sizeof model, "examples/%s.pir", stem);
    snprintf(tiny, sizeof tiny, "tests/data/tiny_%s.pir", stem);
    snprintf(script, sizeof script, "examples/%s", e->d_name);
    char *tp = pt_test_path(tiny), *mp = pt_test_path(model);
    bool has_tiny = access(tp, R_OK) == 0, has_model = access(mp, R_OK) == 0;
    pt_free(tp);
    pt_free(mp);
    if (!has_model)
      continue;
    int naxes = script_axes(script);
    if (has_tiny) {
      for (int step = 0; step < (sanitizer_build() ? 2 : 3); step++)
        add_meshes(tiny, script, naxes, step);
      /* the full-size model: this script's own mesh, loss only */
      if (!sanitizer_build() && strstr(e->d_name, ".bp_mp.")) {
        int64_t sizes[PT_MAX_AXES];
        char *sp = pt_test_path(script);
        pt_diag *d = pt_diag_create(stderr);
        pt_schedule *s = pt_schedule_read(sp, d);
        for (int a = 0; a < s->mesh.naxes; a++)
          sizes[a] = s->mesh.sizes[a];
        add(model, script, 0, sizes, s->mesh.naxes);
        pt_schedule_destroy(s);
        pt_diag_destroy(d);
        pt_free(sp);
      }
    } else {
      for (int step = 0; step < 3; step++)
        add_meshes(model, script, naxes, step);
    }
  }
  closedir(dp);
  pt_free(dir);
}

static int ran, skipped, sharded_updates, split_dots;

/* Whether g's comments name `what` (the lowering's "(sharded update)" or
 * "(split dot)", passes/lower.c). */
static bool lowered_with(const pt_func *g, const char *what) {
  for (int i = 0; i < g->nops; i++)
    if (g->ops[i]->comment && strstr(g->ops[i]->comment, what))
      return true;
  return false;
}

START_TEST(grid_case) {
  const config *c = &configs[_i];
  char name[700];
  int k = snprintf(name, sizeof name, "%s @%s with %s on ", c->model,
                   c->step == 0   ? "loss"
                   : c->step == 1 ? "train_step (adam)"
                                  : "train_step (sgd)",
                   c->script);
  for (int a = 0; a < c->naxes; a++)
    k +=
        snprintf(name + k, sizeof name - (size_t)k, "%s%lld", a ? "x" : "", (long long)c->sizes[a]);
  char *mpath = pt_test_path(c->model), *spath = pt_test_path(c->script);
  pt_diag *d = pt_diag_create(NULL);
  /* parse under the relative name so messages are stable */
  FILE *src = fopen(mpath, "rb");
  ck_assert_ptr_nonnull(src);
  static char text[1 << 17];
  size_t tn = fread(text, 1, sizeof text, src);
  fclose(src);
  ck_assert_msg(tn < sizeof text, "%s: the model is over %zu bytes", name, sizeof text);
  pt_module *m = pt_parse(text, tn, c->model, d);
  ck_assert_msg(m && pt_verify_module(m, d) == PT_OK, "%s: model invalid", name);
  ck_assert_msg(pt_pass_inline(m, "loss", d) == PT_OK, "%s: inlining failed", name);
  pt_func *f = pt_module_find_func(m, "loss");
  ck_assert_ptr_nonnull(f);
  if (c->step) {
    pt_optimizer opt = pt_optimizer_default(c->step == 1 ? PT_OPTIM_ADAM : PT_OPTIM_SGD);
    ck_assert_int_eq(pt_pass_train_step(m, "loss", &opt, NULL, &f, d), PT_OK);
  }
  pt_schedule *s = pt_schedule_read(spath, d);
  ck_assert_ptr_nonnull(s);
  for (int a = 0; a < c->naxes; a++)
    s->mesh.sizes[a] = c->sizes[a];
  ck_assert_int_eq(pt_schedule_set_mesh(m, s, d), PT_OK);
  if (pt_schedule_apply(f, s, NULL, d) != PT_OK) {
    /* the script does not fit this function or mesh (an optimizer-state glob
     * on @loss, a size the mesh does not divide): not applicable */
    fprintf(stderr, "grid: skip %s: %s\n", name, pt_diag_text(d, 0));
    skipped++;
    goto done;
  }
  pt_func *g = NULL;
  ck_assert_msg(pt_pass_lower(m, f, NULL, &g, d) == PT_OK && pt_verify_func(g, d) == PT_OK,
                "%s: lowering failed: %s", name, pt_diag_count(d) ? pt_diag_message(d, 0) : "");
  bool su = lowered_with(g, "(sharded update)"), sd = lowered_with(g, "(split dot)");
  pt_tensor **args = pt_calloc((size_t)f->nargs, sizeof *args);
  for (int i = 0; i < f->nargs; i++) {
    pt_init_spec sp = pt_init_spec_for(f, f->args[i], 7);
    args[i] = pt_init_tensor(&sp, f->args[i]->type);
  }
  int w = 0;
  double worst = pt_test_mesh_difference(f, g, args, name, &w);
  ck_assert_msg(worst <= 1e-4, "%s: result %s differs from the reference by %g (relative)", name,
                f->results[w].name, worst);
  fprintf(stderr, "grid: ok   %s (%d results, worst relative difference %.2g%s%s)\n", name,
          f->nresults, worst, su ? "; sharded updates" : "", sd ? "; split dots" : "");
  ran++;
  sharded_updates += su;
  split_dots += sd;
  for (int i = 0; i < f->nargs; i++)
    pt_tensor_destroy(args[i]);
  pt_free(args);
done:
  pt_schedule_destroy(s);
  pt_module_destroy(m);
  pt_diag_destroy(d);
  pt_free(mpath);
  pt_free(spath);
}
END_TEST

/* Enough of the grid ran: a grid that skips everything proves nothing. */
START_TEST(grid_coverage) {
  fprintf(stderr,
          "grid: %d configurations ran (%d with sharded updates, %d with split dots), %d not "
          "applicable\n",
          ran, sharded_updates, split_dots, skipped);
  ck_assert_int_ge(ran, 50);
  /* the MLP's BP and BP+MP SGD steps on meshes with a batch axis */
  ck_assert_int_ge(sharded_updates, 6);
  /* the MLP's BP and ZeRO-3 steps and loss on meshes with a batch axis */
  ck_assert_int_ge(split_dots, 6);
  ck_assert_int_ge(ran, 3 * skipped);
}
END_TEST

int main(void) {
  collect();
  Suite *s = suite_create("grid");
  TCase *tc = tcase_create("grid");
  tcase_set_timeout(tc, 900);
  tcase_add_loop_test(tc, grid_case, 0, nconfigs);
  tcase_add_test(tc, grid_coverage);
  suite_add_tcase(s, tc);
  /* the coverage check counts the other cases, so they share one process */
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  pt_free(configs);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
