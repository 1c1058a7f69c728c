/* SPMD lowering and redistribution: random redistributions checked on the
 * virtual mesh (data, memory bound, bytes against the naive plan), the
 * paper's example, golden lowered MLPs with their textbook collectives, and
 * the collectives' semantics. The whole-model differential grid is in
 * tests/test_grid.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"
#include "lower.h"
#include "passes.h"
#include "redistribute.h"
#include "tactics.h"
#include "testutil.h"
#include "vmesh.h"

/* ---- redistribution on the virtual mesh ------------------------------- */

/* NULL if the plan leaves every device with its block, else why not. */
static const char *run_plan(pt_module *m, const pt_type *t, const pt_plan *plan) {
  static char msg[256];
  return pt_vmesh_check_plan(m, t, plan, msg, sizeof msg) ? NULL : msg;
}

START_TEST(paper_example) {
  /* Rink et al.: f32[12,12] {[x1,x2],[y1,y2]} -> {[y1,y2],[x1,x2]} on
   * {x1:2, x2:2, y1:3, y2:2} never needs more than 6 elements per device */
  pt_module *m = pt_module_create("paper");
  pt_module_add_axis(m, "x1", 2);
  pt_module_add_axis(m, "x2", 2);
  pt_module_add_axis(m, "y1", 3);
  pt_module_add_axis(m, "y2", 2);
  pt_type t = pt_type_make(PT_F32, 2, (int64_t[]){12, 12});
  pt_layout a, b;
  char err[128];
  ck_assert(pt_layout_parse(&m->mesh, "{[x1, x2], [y1, y2]}", 2, &a, err, sizeof err));
  ck_assert(pt_layout_parse(&m->mesh, "{[y1,y2],[x1,x2]}", 2, &b, err, sizeof err));
  pt_plan p;
  pt_plan_redistribution(&m->mesh, &t, &a, &b, &p);
  ck_assert_int_eq(p.peak_elements, 6);
  ck_assert_int_eq(p.naive_peak_elements, 144);
  ck_assert_ptr_null(run_plan(m, &t, &p));
  pt_plan_free(&p);
  pt_module_destroy(m);
}
END_TEST

static uint64_t rng_state;
static int rnd(int n) {
  return pt_test_rnd(&rng_state, n);
}

START_TEST(random_redistributions) {
  rng_state = 20261122;
  int cases = 0, with_partial = 0, over_bound = 0, non_partial = 0;
  double log_ratio = 0;
  int ratio_cases = 0;
  for (int iter = 0; iter < 1200; iter++) {
    pt_module *m = pt_module_create("random");
    int naxes = 1 + rnd(4);
    int64_t devices = 1;
    static const char *names[4] = {"a", "b", "c", "d"};
    for (int a = 0; a < naxes; a++) {
      int64_t size = 1 + rnd(4);
      if (devices * size > 48)
        size = 1;
      devices *= size;
      pt_module_add_axis(m, names[a], size);
    }
    pt_type t = pt_test_random_type(&rng_state, PT_F32, 1, 3, &m->mesh);
    pt_layout from = pt_test_random_layout(&rng_state, &m->mesh, &t, true);
    pt_layout to = pt_test_random_layout(&rng_state, &m->mesh, &t, false);
    pt_plan p;
    pt_plan_redistribution(&m->mesh, &t, &from, &to, &p);
    const char *bad = run_plan(m, &t, &p);
    char fb[128], tb[128];
    pt_layout_str(&m->mesh, &from, fb, sizeof fb);
    pt_layout_str(&m->mesh, &to, tb, sizeof tb);
    ck_assert_msg(!bad, "case %d: %s -> %s: %s", iter, fb, tb, bad);
    int64_t src = pt_layout_local_numel(&m->mesh, &t, &from);
    int64_t dst = pt_layout_local_numel(&m->mesh, &t, &to);
    bool pow2 = true;
    for (int a = 0; a < naxes; a++)
      pow2 &= (m->mesh.sizes[a] & (m->mesh.sizes[a] - 1)) == 0;
    if (from.partial_sum) {
      with_partial++;
    } else if (p.peak_elements > (src > dst ? src : dst)) {
      /* with whole-axis collectives the bound can fail when axis sizes are
       * not powers of two (docs/spmd.md has an example); never otherwise */
      ck_assert_msg(!pow2,
                    "case %d: %s -> %s peaks at %lld elements, more than source %lld and "
                    "target %lld",
                    iter, fb, tb, (long long)p.peak_elements, (long long)src, (long long)dst);
      over_bound++;
      if (over_bound <= 3)
        fprintf(stderr,
                "  beyond the bound (axis sizes not powers of two): %s -> %s peaks at "
                "%lld, source %lld, target %lld\n",
                fb, tb, (long long)p.peak_elements, (long long)src, (long long)dst);
    }
    if (!from.partial_sum)
      non_partial++;
    ck_assert_msg(p.bytes_sent <= p.naive_bytes_sent,
                  "case %d: %s -> %s sends %lld bytes, more than the naive %lld", iter, fb, tb,
                  (long long)p.bytes_sent, (long long)p.naive_bytes_sent);
    if (p.bytes_sent > 0) {
      log_ratio += log((double)p.naive_bytes_sent / (double)p.bytes_sent);
      ratio_cases++;
    }
    cases++;
    pt_plan_free(&p);
    pt_module_destroy(m);
  }
  ck_assert_int_ge(cases, 1000);
  ck_assert_int_ge(with_partial, 100);
  fprintf(stderr,
          "random redistributions: %d cases (%d with partial sums); geometric mean of "
          "naive/synthesised bytes %.2fx over %d that move data; %d of %d without partial sums "
          "beyond max(source, target), all on meshes with axis sizes not powers of two\n",
          cases, with_partial, exp(log_ratio / (ratio_cases ? ratio_cases : 1)), ratio_cases,
          over_bound, non_partial);
}
END_TEST

/* ---- collectives' semantics on the virtual mesh ----------------------- */

START_TEST(collective_semantics) {
  /* mesh {x = 2, y = 3}: device d = 3 * x + y */
  pt_module *m = pt_test_parse_ok(
      "mesh {x = 2, y = 3}\n\n"
      "func @f(input %a: f32[2,3]) -> (g: f32[4,3], s: f32[2,1], r: f32[2,3], t: f32[6,1], "
      "k: f32[1,3], p: f32[2,3], mx: f32[2,3]) {\n"
      "  %g = all_gather %a {dim = 0, axes = [x]} : f32[4,3]\n"
      "  %s = reduce_scatter %a {dim = 1, axes = [y]} : f32[2,1]\n"
      "  %r = all_reduce %a {reduce = sum, axes = [x, y]} : f32[2,3]\n"
      "  %t = all_to_all %a {split_dim = 1, concat_dim = 0, axes = [y]} : f32[6,1]\n"
      "  %k = axis_slice %a {dim = 0, axes = [x]} : f32[1,3]\n"
      "  %p = collective_permute %a {axes = [y], pairs = [[0, 1], [1, 2]]} : f32[2,3]\n"
      "  %mx = all_reduce %a {reduce = max, axes = [y]} : f32[2,3]\n"
      "  return %g, %s, %r, %t, %k, %p, %mx\n}\n");
  pt_func *f = m->funcs[0];
  pt_tensor *args[6], *res[6 * 7];
  for (int dev = 0; dev < 6; dev++) {
    args[dev] = pt_tensor_create(f->args[0]->type);
    for (int i = 0; i < 6; i++) /* element i of device dev is 10 * dev + i */
      pt_tensor_set(args[dev], i, 10 * dev + i);
  }
  pt_diag *d = pt_diag_create(stderr);
  ck_assert_int_eq(pt_vmesh_run(f, args, res, d), PT_OK);
#define R(dev, k, i) pt_tensor_get(res[(dev)*7 + (k)], (i))
  /* device 4 = (x 1, y 1) */
  /* all_gather over x: device 1's block then device 4's */
  ck_assert(R(4, 0, 0) == 10 && R(4, 0, 6) == 40);
  /* reduce_scatter over y, dim 1: column 1 of the sum of devices 3, 4, 5 */
  ck_assert(R(4, 1, 0) == (31 + 41 + 51) && R(4, 1, 1) == (34 + 44 + 54));
  /* all_reduce over everything: sum over the 6 devices of element 5 */
  ck_assert(R(4, 2, 5) == (5 * 6 + 10 * (0 + 1 + 2 + 3 + 4 + 5)));
  /* all_to_all: device at y-position 1 gets column 1 of each of devices 3,4,5 */
  ck_assert(R(4, 3, 0) == 31 && R(4, 3, 1) == 34 && R(4, 3, 2) == 41 && R(4, 3, 5) == 54);
  /* axis_slice over x at position 1: row 1 */
  ck_assert(R(4, 4, 0) == 43 && R(1, 4, 0) == 10 && R(0, 4, 0) == 0);
  /* permute over y: 0 -> 1, 1 -> 2; position 0 receives nothing (zeros) */
  ck_assert(R(4, 5, 0) == 30 && R(5, 5, 2) == 42 && R(3, 5, 0) == 0);
  /* max over y */
  ck_assert(R(3, 6, 0) == 50);
#undef R
  for (int i = 0; i < 6; i++)
    pt_tensor_destroy(args[i]);
  for (int i = 0; i < 6 * 7; i++)
    pt_tensor_destroy(res[i]);
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* ---- golden lowered MLPs ---------------------------------------------- */

typedef struct {
  const char *name, *script;
  const char *optimizer; /* "grad": lower @loss_grad; else sgd or adam: @train_step */
  int counts[6];         /* all_gather, reduce_scatter, all_reduce, all_to_all,
                            axis_slice, collective_permute */
} golden_case;

static const golden_case goldens[] = {
    /* data parallel: each forward dot split on the weight's rows (the
     * activations resharded onto their contracted dim, 64 KiB each way, the
     * rows read in place, the partial product reduce-scattered back onto
     * the batch: passes/lower.c, split dots), the second layer's input
     * gradient on the same rows (the output gradient gathered, the result
     * resharded); the loss and the bias gradients all-reduced over batch;
     * each weight gradient computed by rows (the batch's activations moved
     * to the device) and all-gathered: 2 MiB instead of an all_reduce's
     * 4 MiB (passes/lower.c, sharded updates) */
    {"mlp.bp.loss_grad", "examples/mlp.bp.yaml", "grad", {4, 2, 3, 3, 2, 0}},
    /* the same with SGD's update: each weight's update runs on its rows
     * (the same views), and the updated rows are all-gathered */
    {"mlp.bp.train_step", "examples/mlp.bp.yaml", "sgd", {4, 2, 3, 3, 2, 0}},
    /* with Adam the update has three results to gather (the weight and its
     * two moments): each weight gradient alone is computed by rows and
     * all-gathered before the update, which stays whole */
    {"mlp.bp.adam_train_step", "examples/mlp.bp.yaml", "adam", {4, 2, 3, 3, 2, 0}},
    /* Megatron: one all_reduce of the second dot's partial output (forward);
     * no backward all_reduce here since the MLP's input needs no gradient */
    {"mlp.mp.train_step", "examples/mlp.mp.yaml", "adam", {0, 0, 1, 0, 0, 0}},
    /* ZeRO-3: no weight is gathered. Each dot runs on the weight's own
     * rows, with the activations moved instead (split dots, as under BP),
     * each weight gradient is computed by rows straight onto the weight's
     * shards (sharded updates), the biases are gathered and their
     * gradients reduce-scattered, the loss all-reduced */
    {"mlp.bp_z3.train_step", "examples/mlp.bp_z3.yaml", "adam", {4, 4, 1, 3, 0, 0}},
};

/* The lowered g of f, run on the virtual mesh, computes what f computes
 * in the interpreter (within 1e-4 of each result's largest element, no
 * NaN), on arguments as `partita train` starts them (runtime/init.h: an
 * Adam second moment is not negative). */
static void vmesh_matches_interpreter(const pt_func *f, const pt_func *g, const char *name) {
  pt_tensor **args = pt_calloc((size_t)f->nargs, sizeof *args);
  for (int i = 0; i < f->nargs; i++) {
    pt_init_spec sp = pt_init_spec_for(f, f->args[i], 7);
    args[i] = pt_init_tensor(&sp, f->args[i]->type);
  }
  int w = 0;
  double rel = pt_test_mesh_difference(f, g, args, name, &w);
  ck_assert_msg(rel <= 1e-4, "%s: result %s differs by %g (relative)", name, f->results[w].name,
                rel);
  for (int i = 0; i < f->nargs; i++)
    pt_tensor_destroy(args[i]);
  pt_free(args);
}

START_TEST(golden_lowered_mlp) {
  const golden_case *c = &goldens[_i];
  char *path = pt_test_path("examples/mlp.pir"), *spath = pt_test_path(c->script);
  pt_diag *d = pt_diag_create(stderr);
  /* parsed under its relative name, so the golden text does not depend on
   * where the tree is checked out */
  FILE *src = fopen(path, "rb");
  ck_assert_ptr_nonnull(src);
  static char text[1 << 16];
  size_t tn = fread(text, 1, sizeof text, src);
  fclose(src);
  pt_module *m = pt_parse(text, tn, "examples/mlp.pir", d);
  ck_assert_ptr_nonnull(m);
  pt_func *f = NULL;
  if (strcmp(c->optimizer, "grad") == 0) {
    pt_autodiff_opts o = {.func = "loss"};
    ck_assert_int_eq(pt_pass_autodiff(m, &o, &f, d), PT_OK);
    pt_pass_cse(m, d);
    pt_pass_dce(m, d);
  } else {
    pt_optimizer opt =
        pt_optimizer_default(strcmp(c->optimizer, "sgd") == 0 ? PT_OPTIM_SGD : PT_OPTIM_ADAM);
    ck_assert_int_eq(pt_pass_train_step(m, "loss", &opt, NULL, &f, d), PT_OK);
  }
  pt_schedule *s = pt_schedule_read(spath, d);
  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(pt_schedule_set_mesh(m, s, d), PT_OK);
  ck_assert_int_eq(pt_schedule_apply(f, s, NULL, d), PT_OK);
  const char *names[16];
  for (int i = 0; i < s->ntactics && i < 16; i++)
    names[i] = s->tactics[i].name;
  pt_lower_stats st = {0};
  pt_lower_opts lo = {NULL, names, s->ntactics, &st};
  pt_func *g = NULL;
  ck_assert_int_eq(pt_pass_lower(m, f, &lo, &g, d), PT_OK);
  ck_assert_int_eq(pt_verify_func(g, d), PT_OK);
  for (int k = 0; k < 6; k++)
    ck_assert_msg(st.count[k] == c->counts[k], "%s: %d collectives of kind %d, expected %d",
                  c->name, st.count[k], k, c->counts[k]);
  /* the lowered text, compared with tests/golden/lower/NAME.pir */
  char *got = NULL;
  size_t n = 0;
  FILE *out = open_memstream(&got, &n);
  pt_print_func(g, out);
  fclose(out);
  char rel[256];
  snprintf(rel, sizeof rel, "tests/golden/lower/%s.pir", c->name);
  char *gpath = pt_test_path(rel);
  if (getenv("PT_UPDATE_GOLDEN")) {
    FILE *w = fopen(gpath, "w");
    ck_assert_ptr_nonnull(w);
    fputs(got, w);
    fclose(w);
  }
  FILE *w = fopen(gpath, "r");
  ck_assert_msg(w != NULL, "missing %s (PT_UPDATE_GOLDEN=1 writes it)", gpath);
  static char want[1 << 18];
  size_t wn = fread(want, 1, sizeof want - 1, w);
  want[wn] = 0;
  fclose(w);
  ck_assert_msg(strcmp(got, want) == 0, "%s differs from %s", c->name, rel);
  /* and it computes what the global program computes */
  vmesh_matches_interpreter(f, g, c->name);
  free(got);
  pt_free(gpath);
  pt_lower_stats_free(&st);
  pt_schedule_destroy(s);
  pt_module_destroy(m);
  pt_diag_destroy(d);
  pt_free(path);
  pt_free(spath);
}
END_TEST

/* ---- partial sums through linear ops ----------------------------------- */

/* @f of the IR text under the script's text, lowered; the collectives of
 * each kind counted into n[] (by opcode - PT_OP_ALL_GATHER), the element
 * count of the last all_reduce's result in *ar_numel; checked against the
 * reference interpreter on the virtual mesh. */
static void lower_linear(const char *ir, const char *yaml, int *n, int64_t *ar_numel) {
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m = pt_test_parse_ok(ir);
  pt_func *f = pt_module_find_func(m, "f");
  pt_schedule *s = pt_schedule_parse(yaml, strlen(yaml), "linear.yaml", d);
  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(pt_schedule_set_mesh(m, s, d), PT_OK);
  ck_assert_int_eq(pt_schedule_apply(f, s, NULL, d), PT_OK);
  pt_func *g = NULL;
  ck_assert_int_eq(pt_pass_lower(m, f, NULL, &g, d), PT_OK);
  ck_assert_int_eq(pt_verify_func(g, d), PT_OK);
  memset(n, 0, 6 * sizeof *n);
  for (int i = 0; i < g->nops; i++) {
    int k = g->ops[i]->code - PT_OP_ALL_GATHER;
    if (k >= 0 && k < 6 && (pt_optab[g->ops[i]->code].flags & PT_OPF_COLLECTIVE)) {
      n[k]++;
      if (g->ops[i]->code == PT_OP_ALL_REDUCE)
        *ar_numel = pt_type_numel(&g->ops[i]->result->type);
    }
  }
  vmesh_matches_interpreter(f, g, "linear");
  pt_schedule_destroy(s);
  pt_module_destroy(m);
  pt_diag_destroy(d);
}

#define LINEAR_SCRIPT(SHARD)                                                                       \
  "mesh: {model: 2}\nschedule:\n  - name: rows\n    axis: model\n    shard: {" SHARD "}\n"

START_TEST(partial_sums_pass_linear_ops) {
  enum { AR = PT_OP_ALL_REDUCE - PT_OP_ALL_GATHER, RS = PT_OP_REDUCE_SCATTER - PT_OP_ALL_GATHER };
  int n[6];
  int64_t numel = 0;
  /* three row-split products summed (a layer's input gradient through its
   * q, k and v weights): one all_reduce, of the sum, not one per product */
  lower_linear("func @f(input %x: f32[4,8], param %a: f32[8,6], param %b: f32[8,6],\n"
               "        param %c: f32[8,6]) -> (y: f32[4,6], s: f32[6]) {\n"
               "  %p = dot %x, %a {lhs_contract = [1], rhs_contract = [0]} : f32[4,6]\n"
               "  %q = dot %x, %b {lhs_contract = [1], rhs_contract = [0]} : f32[4,6]\n"
               "  %r = dot %x, %c {lhs_contract = [1], rhs_contract = [0]} : f32[4,6]\n"
               "  %pq = add %p, %q : f32[4,6]\n"
               "  %nr = neg %r : f32[4,6]\n"
               "  %y = sub %pq, %nr : f32[4,6]\n"
               "  %s = reduce_sum %y {dims = [0]} : f32[6]\n"
               "  return %y, %s\n"
               "}\n",
               LINEAR_SCRIPT("x: 1, a: 0, b: 0, c: 0"), n, &numel);
  ck_assert_int_eq(n[AR], 1);
  ck_assert_int_eq(numel, 24);
  /* products read elsewhere too are resolved for those readers anyway: the
   * sum adds them resolved, rather than being a third all_reduce */
  lower_linear("func @f(input %x: f32[4,8], param %a: f32[8,6], param %b: f32[8,6])\n"
               "    -> (y: f32[4,6], p: f32[4,6], q: f32[4,6]) {\n"
               "  %p = dot %x, %a {lhs_contract = [1], rhs_contract = [0]} : f32[4,6]\n"
               "  %q = dot %x, %b {lhs_contract = [1], rhs_contract = [0]} : f32[4,6]\n"
               "  %y = add %p, %q : f32[4,6]\n"
               "  return %y, %p, %q\n"
               "}\n",
               LINEAR_SCRIPT("x: 1, a: 0, b: 0"), n, &numel);
  ck_assert_int_eq(n[AR], 2);
  /* a bias gradient's reduce_sum of a partial sum that another reader
   * reduce-scatters: the 6 sums are all-reduced, not the 24 */
  lower_linear("func @f(input %x: f32[4,8], input %e: f32[4,6], param %a: f32[8,6])\n"
               "    -> (o: f32[4,6], s: f32[6]) {\n"
               "  %y = dot %x, %a {lhs_contract = [1], rhs_contract = [0]} : f32[4,6]\n"
               "  %o = add %y, %e : f32[4,6]\n"
               "  %s = reduce_sum %y {dims = [0]} : f32[6]\n"
               "  return %o, %s\n"
               "}\n",
               LINEAR_SCRIPT("x: 1, a: 0, e: 0"), n, &numel);
  ck_assert_int_eq(n[RS], 1);
  ck_assert_int_eq(n[AR], 1);
  ck_assert_int_eq(numel, 6);
}
END_TEST

/* A lowered program prints, parses back and verifies. */
/* ---- carried blocks ---------------------------------------------------- */

/* The MLP's train_step under a script, lowered with carried blocks
 * (passes/lower.h); how many arguments it carries as blocks. */
static int lower_carried(const char *script, const char *optimizer, pt_module **mo, pt_func **fo,
                         pt_func **go, pt_layout **lay) {
  pt_diag *d = pt_diag_create(stderr);
  char *path = pt_test_path("examples/mlp.pir"), *spath = pt_test_path(script);
  pt_module *m = pt_parse_file(path, d);
  ck_assert_ptr_nonnull(m);
  pt_optimizer opt =
      pt_optimizer_default(strcmp(optimizer, "sgd") == 0 ? PT_OPTIM_SGD : PT_OPTIM_ADAM);
  pt_func *f = NULL;
  ck_assert_int_eq(pt_pass_train_step(m, "loss", &opt, NULL, &f, d), PT_OK);
  pt_schedule *s = pt_schedule_read(spath, d);
  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(pt_schedule_set_mesh(m, s, d), PT_OK);
  ck_assert_int_eq(pt_schedule_apply(f, s, NULL, d), PT_OK);
  *lay = pt_calloc((size_t)f->nargs, sizeof **lay);
  pt_lower_opts lo = {NULL, NULL, 0, NULL, *lay};
  pt_func *g = NULL;
  ck_assert_int_eq(pt_pass_lower(m, f, &lo, &g, d), PT_OK);
  ck_assert_int_eq(pt_verify_func(g, d), PT_OK);
  int n = 0;
  for (int i = 0; i < f->nargs; i++) {
    pt_layout l = pt_layout_of(f->args[i]);
    n += !pt_layout_equal(&l, &(*lay)[i]);
  }
  pt_schedule_destroy(s);
  pt_free(path);
  pt_free(spath);
  pt_diag_destroy(d);
  *mo = m, *fo = f, *go = g;
  return n;
}

/* Three steps of the MLP's train_step under BP with `optimizer` on the
 * virtual mesh, the blocks fed from one step to the next as the runtime
 * does, against the interpreter's; `want` arguments carried as blocks. */
static void carried_steps(const char *optimizer, int want) {
  pt_module *m;
  pt_func *f, *g;
  pt_layout *lay;
  ck_assert_int_eq(lower_carried("examples/mlp.bp.yaml", optimizer, &m, &f, &g, &lay), want);
  const pt_mesh *mesh = &m->mesh;
  char lb[128];
  for (int i = 0; i < f->nargs; i++) { /* the weights (and their moments) by rows */
    pt_layout l = pt_layout_of(f->args[i]);
    const char *name = f->args[i]->name;
    if (!pt_layout_equal(&l, &lay[i]))
      ck_assert_msg((name[0] == 'w' || strncmp(name, "opt.w", 5) == 0) &&
                        strcmp(pt_layout_str(mesh, &lay[i], lb, sizeof lb), "{[batch], []}") == 0,
                    "%s carried as %s", name, lb);
  }
  for (int i = 0; i < g->nops; i++) /* nothing weight-sized is gathered or sliced */
    ck_assert_msg(!((g->ops[i]->code == PT_OP_ALL_GATHER || g->ops[i]->code == PT_OP_AXIS_SLICE) &&
                    pt_type_numel(&g->ops[i]->result->type) >= 512 * 1024),
                  "op %d is a weight's %s", i, pt_op_name(g->ops[i]->code));
  pt_diag *d = pt_diag_create(stderr);
  int64_t ndev = pt_mesh_devices(mesh);
  int nupd = f->nresults - 1;
  pt_tensor **ref = pt_calloc((size_t)f->nargs, sizeof *ref);
  pt_tensor **dargs = pt_calloc((size_t)(ndev * g->nargs), sizeof *dargs);
  pt_tensor **dres = pt_calloc((size_t)(ndev * g->nresults), sizeof *dres);
  pt_tensor **rr = pt_calloc((size_t)f->nresults, sizeof *rr);
  for (int i = 0; i < f->nargs; i++) {
    ref[i] = pt_tensor_create(f->args[i]->type);
    for (int64_t k = 0; k < pt_type_numel(&f->args[i]->type); k++)
      pt_tensor_set(ref[i], k, fabs(sin(0.37 * (double)k + i)) * 0.1);
    for (int64_t dev = 0; dev < ndev; dev++)
      dargs[dev * g->nargs + i] = pt_block_of(ref[i], mesh, &lay[i], dev);
  }
  for (int step = 0; step < 3; step++) {
    ck_assert_int_eq(pt_interp_run(f, ref, rr, d), PT_OK);
    ck_assert_int_eq(pt_vmesh_run(g, dargs, dres, d), PT_OK);
    for (int i = 0; i < f->nresults; i++) {
      if (i < nupd) {
        pt_tensor_destroy(ref[i]);
        ref[i] = rr[i];
      } else {
        pt_tensor_destroy(rr[i]);
      }
      for (int64_t dev = 0; dev < ndev; dev++) {
        pt_tensor **slot = &dres[dev * g->nresults + i];
        if (i < nupd) {
          pt_tensor_destroy(dargs[dev * g->nargs + i]);
          dargs[dev * g->nargs + i] = *slot;
        } else {
          pt_tensor_destroy(*slot);
        }
        *slot = NULL;
      }
    }
  }
  pt_tensor **blocks = pt_calloc((size_t)ndev, sizeof *blocks);
  for (int i = 0; i < nupd; i++) {
    for (int64_t dev = 0; dev < ndev; dev++)
      blocks[dev] = dargs[dev * g->nargs + i];
    pt_tensor *got = pt_blocks_join(blocks, mesh, &lay[i], f->args[i]->type, "carried", d);
    ck_assert_ptr_nonnull(got);
    double mx = 0, scale = 0;
    for (int64_t k = 0; k < pt_type_numel(&got->type); k++) {
      mx = fmax(mx, fabs(pt_tensor_get(got, k) - pt_tensor_get(ref[i], k)));
      scale = fmax(scale, fabs(pt_tensor_get(ref[i], k)));
    }
    ck_assert_msg(mx <= 1e-4 * (scale > 0 ? scale : 1), "%s (%s) after 3 steps differs by %g",
                  f->args[i]->name, optimizer, mx);
    pt_tensor_destroy(got);
  }
  for (int i = 0; i < f->nargs; i++)
    pt_tensor_destroy(ref[i]);
  for (int64_t k = 0; k < ndev * g->nargs; k++)
    pt_tensor_destroy(dargs[k]);
  pt_free(blocks);
  pt_free(ref);
  pt_free(rr);
  pt_free(dargs);
  pt_free(dres);
  pt_free(lay);
  pt_module_destroy(m);
  pt_diag_destroy(d);
}

/* Under BP each weight's updated rows (SGD), or its update and Adam's
 * moments computed on the rows, were all-gathered only for the next step
 * to slice them again; carried, they live as their rows from step to step:
 * SGD carries the two weights, Adam the weights and their four moments.
 * Without split dots the forward product reads the whole weight, which is
 * then gathered; Adam still carries the moments. */
START_TEST(carried_blocks) {
  carried_steps("sgd", 2);
  carried_steps("adam", 6);
  pt_module *m;
  pt_func *f, *g;
  pt_layout *lay;
  setenv("PT_SPLIT_DOTS", "0", 1);
  ck_assert_int_eq(lower_carried("examples/mlp.bp.yaml", "sgd", &m, &f, &g, &lay), 0);
  pt_free(lay);
  pt_module_destroy(m);
  ck_assert_int_eq(lower_carried("examples/mlp.bp.yaml", "adam", &m, &f, &g, &lay), 4);
  pt_free(lay);
  pt_module_destroy(m);
  unsetenv("PT_SPLIT_DOTS");
}
END_TEST

START_TEST(lowered_program_round_trips) {
  char *path = pt_test_path("tests/data/tiny_transformer_block.pir");
  char *spath = pt_test_path("examples/transformer_block.bp_mp.yaml");
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m = pt_parse_file(path, d);
  ck_assert_ptr_nonnull(m);
  pt_schedule *s = pt_schedule_read(spath, d);
  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(pt_schedule_set_mesh(m, s, d), PT_OK);
  pt_func *f = m->funcs[0], *g = NULL;
  ck_assert_int_eq(pt_schedule_apply(f, s, NULL, d), PT_OK);
  ck_assert_int_eq(pt_pass_lower(m, f, NULL, &g, d), PT_OK);
  char *text = pt_print_module_str(m);
  pt_module *back = pt_test_parse_ok(text);
  char *again = pt_print_module_str(back);
  ck_assert_str_eq(text, again);
  pt_free(text);
  pt_free(again);
  pt_module_destroy(back);
  pt_schedule_destroy(s);
  pt_module_destroy(m);
  pt_diag_destroy(d);
  pt_free(path);
  pt_free(spath);
}
END_TEST

int main(void) {
  Suite *s = suite_create("spmd");
  TCase *tc = tcase_create("spmd");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, paper_example);
  tcase_add_test(tc, random_redistributions);
  tcase_add_test(tc, collective_semantics);
  tcase_add_loop_test(tc, golden_lowered_mlp, 0, (int)(sizeof goldens / sizeof goldens[0]));
  tcase_add_test(tc, lowered_program_round_trips);
  tcase_add_test(tc, carried_blocks);
  tcase_add_test(tc, partial_sums_pass_linear_ops);
  suite_add_tcase(s, tc);
  return pt_test_main(s);
}
