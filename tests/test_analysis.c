/* The analysis behind `explain` and `partition` (tactics/analysis.h),
 * called directly: origin chains end at the tactic and script entry that
 * seeded a layout, or at the conflict that stopped it; the tables and the
 * layout picture hold the per-device sizes and devices they should. */
#include <string.h>

#include "analysis.h"
#include "passes.h"
#include "testutil.h"

/* A program with a schedule applied, as `partita partition` does it. */
typedef struct {
  pt_diag *d;
  pt_module *m;
  pt_schedule *s;
  pt_analysis a;
} applied;

static void apply(applied *x, pt_module *m, pt_schedule *s, bool train) {
  memset(x, 0, sizeof *x);
  x->d = pt_diag_create(NULL);
  x->m = m;
  x->s = s;
  ck_assert_ptr_nonnull(m);
  ck_assert_ptr_nonnull(s);
  pt_func *f = pt_module_find_func(m, "loss");
  if (train) {
    pt_optimizer o = pt_optimizer_default(PT_OPTIM_ADAM);
    ck_assert_int_eq(pt_pass_train_step(m, "loss", &o, NULL, &f, x->d), PT_OK);
  }
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(pt_schedule_set_mesh(m, s, x->d), PT_OK);
  ck_assert_int_eq(pt_analysis_apply(&x->a, f, s, x->d), PT_OK);
}

static void apply_example(applied *x, const char *prog, const char *script, bool train) {
  pt_diag *d = pt_diag_create(stderr);
  char *pp = pt_test_path(prog), *sp = pt_test_path(script);
  pt_module *m = pt_parse_file(pp, d);
  ck_assert_msg(m && pt_verify_module(m, d) == PT_OK && pt_pass_inline(m, NULL, d) == PT_OK,
                "cannot load %s", prog);
  pt_schedule *s = pt_schedule_read(sp, d);
  ck_assert_msg(s, "cannot read %s", script);
  pt_free(pp);
  pt_free(sp);
  pt_diag_destroy(d);
  apply(x, m, s, train);
}

static void release(applied *x) {
  pt_analysis_free(&x->a);
  pt_schedule_destroy(x->s);
  pt_module_destroy(x->m);
  pt_diag_destroy(x->d);
}

static const pt_value *value(const applied *x, const char *name) {
  const pt_value *v = pt_analysis_find(&x->a, name);
  ck_assert_msg(v, "no value %s", name);
  return v;
}

static int axis(const applied *x, const char *name) {
  for (int i = 0; i < x->m->mesh.naxes; i++)
    if (strcmp(x->m->mesh.names[i], name) == 0)
      return i;
  ck_abort_msg("no axis %s", name);
  return -1;
}

/* ---- origin chains ------------------------------------------------------- */

START_TEST(propagated_value_leads_back_to_its_seed) {
  applied x;
  apply_example(&x, "examples/mlp.pir", "examples/mlp.bp_mp.yaml", false);
  const pt_value *hw2 = value(&x, "%hw2");
  /* along batch: hw2 <- h <- h_pre <- xw1 <- x, seeded by data-parallel */
  pt_origin o;
  pt_analysis_origin(&x.a, hw2, axis(&x, "batch"), &o);
  static const char *const chain[] = {"hw2", "h", "h_pre", "xw1"};
  ck_assert_int_eq(o.nsteps, 4);
  for (int i = 0; i < 4; i++) {
    ck_assert_str_eq(pt_analysis_name(&x.a, o.steps[i].value), chain[i]);
    ck_assert_ptr_eq(o.steps[i].op, o.steps[i].value->def);
  }
  ck_assert_int_eq(o.kind, PT_ORIGIN_TACTIC);
  ck_assert_str_eq(pt_analysis_name(&x.a, o.root), "x");
  ck_assert_str_eq(pt_analysis_tactic(&x.a, o.tactic), "data-parallel");
  ck_assert_ptr_nonnull(o.entry);
  ck_assert_str_eq(o.entry->glob, "x");
  ck_assert_int_eq(o.entry->dim, 0);
  ck_assert_int_eq(o.entry->loc.line, 7);
  pt_origin_free(&o);
  /* along model: a partial sum, straight from w2 (megatron's row split) */
  pt_analysis_origin(&x.a, hw2, axis(&x, "model"), &o);
  ck_assert_int_eq(o.nsteps, 1);
  ck_assert_int_eq(o.kind, PT_ORIGIN_TACTIC);
  ck_assert_str_eq(pt_analysis_name(&x.a, o.root), "w2");
  ck_assert_str_eq(pt_analysis_tactic(&x.a, o.tactic), "megatron");
  ck_assert_int_eq(o.entry->dim, 0);
  ck_assert_int_eq(o.entry->loc.line, 10);
  pt_origin_free(&o);
  release(&x);
}
END_TEST

START_TEST(weight_origin_is_the_tactic_that_sharded_it) {
  applied x;
  apply_example(&x, "examples/mlp.pir", "examples/mlp.bp_mp.yaml", false);
  pt_origin o;
  /* w1: seeded on dim 1 by megatron, no steps */
  pt_analysis_origin(&x.a, value(&x, "w1"), axis(&x, "model"), &o);
  ck_assert_int_eq(o.nsteps, 0);
  ck_assert_int_eq(o.kind, PT_ORIGIN_TACTIC);
  ck_assert_str_eq(pt_analysis_tactic(&x.a, o.tactic), "megatron");
  ck_assert_int_eq(o.entry->dim, 1);
  pt_origin_free(&o);
  /* ... and along batch no tactic decided it */
  pt_analysis_origin(&x.a, value(&x, "w1"), axis(&x, "batch"), &o);
  ck_assert_int_eq(o.kind, PT_ORIGIN_NONE);
  ck_assert_int_eq(o.nconflicts, 0);
  pt_origin_free(&o);
  /* b2: the replicate entry of megatron */
  pt_analysis_origin(&x.a, value(&x, "b2"), axis(&x, "model"), &o);
  ck_assert_int_eq(o.kind, PT_ORIGIN_TACTIC);
  ck_assert_str_eq(pt_analysis_tactic(&x.a, o.tactic), "megatron");
  ck_assert_ptr_nonnull(o.entry);
  ck_assert_int_eq(o.entry->dim, -1);
  ck_assert_str_eq(o.entry->glob, "b2");
  pt_origin_free(&o);
  release(&x);
}
END_TEST

START_TEST(glob_entries_and_train_step_values) {
  applied x;
  apply_example(&x, "examples/mlp.pir", "examples/mlp.bp_z3.yaml", true);
  ck_assert_str_eq(x.a.f->name, "train_step");
  pt_origin o;
  pt_analysis_origin(&x.a, value(&x, "opt.w1.m"), 0, &o);
  ck_assert_int_eq(o.kind, PT_ORIGIN_TACTIC);
  ck_assert_str_eq(pt_analysis_tactic(&x.a, o.tactic), "zero-3");
  ck_assert_str_eq(o.entry->glob, "opt.*.*");
  pt_origin_free(&o);
  /* zero-3 meets data-parallel at the forward dots: conflicts of tactic 1 */
  ck_assert_int_gt(x.a.rep.nconflicts, 0);
  bool xw1 = false;
  for (int i = 0; i < x.a.rep.nconflicts; i++) {
    ck_assert_int_eq(x.a.rep.conflicts[i].tactic, 1);
    const pt_value *r = x.a.rep.conflicts[i].op->result;
    xw1 |= r && strcmp(pt_analysis_name(&x.a, r), "xw1") == 0;
  }
  ck_assert(xw1);
  release(&x);
}
END_TEST

/* A value two disagreeing layouts meet at stays undecided; its origin names
 * the conflict. */
START_TEST(undecided_value_names_its_conflict) {
  pt_module *m = pt_test_parse_ok("func @loss(input %a: f32[8,8], param %b: f32[8,8]) -> "
                                  "(r: f32[8,8]) {\n"
                                  "  %c = add %a, %b : f32[8,8]\n"
                                  "  %d = exp %c : f32[8,8]\n"
                                  "  return %d\n"
                                  "}\n");
  static const char script[] = "mesh: {x: 2}\n"
                               "schedule:\n"
                               "  - name: split\n"
                               "    axis: x\n"
                               "    shard: {a: 0, b: 1}\n";
  pt_diag *d = pt_diag_create(stderr);
  pt_schedule *s = pt_schedule_parse(script, strlen(script), "t.yaml", d);
  pt_diag_destroy(d);
  applied x;
  apply(&x, m, s, false);
  ck_assert_int_eq(x.a.rep.nconflicts, 1);
  const pt_value *c = value(&x, "c"), *dv = value(&x, "d");
  ck_assert_ptr_eq(x.a.rep.conflicts[0].op, c->def);
  pt_origin o;
  pt_analysis_origin(&x.a, c, 0, &o);
  ck_assert_int_eq(o.kind, PT_ORIGIN_NONE);
  ck_assert_ptr_eq(o.root, c);
  ck_assert_int_eq(o.nconflicts, 1);
  ck_assert_ptr_eq(o.conflicts[0], &x.a.rep.conflicts[0]);
  pt_origin_free(&o);
  /* d is not an operand or the result of the conflicting op */
  pt_analysis_origin(&x.a, dv, 0, &o);
  ck_assert_int_eq(o.kind, PT_ORIGIN_NONE);
  ck_assert_int_eq(o.nconflicts, 0);
  pt_origin_free(&o);
  /* the arguments were seeded */
  ck_assert(!pt_analysis_in_text(&x.a, value(&x, "a"), 0));
  pt_analysis_origin(&x.a, value(&x, "b"), 0, &o);
  ck_assert_int_eq(o.kind, PT_ORIGIN_TACTIC);
  ck_assert_int_eq(o.entry->dim, 1);
  pt_origin_free(&o);
  release(&x);
}
END_TEST

/* ---- names, tables, pictures --------------------------------------------- */

START_TEST(names_and_close_names) {
  applied x;
  apply_example(&x, "examples/mlp.pir", "examples/mlp.bp_mp.yaml", false);
  ck_assert_ptr_eq(pt_analysis_find(&x.a, "%w1"), pt_analysis_find(&x.a, "w1"));
  ck_assert_ptr_null(pt_analysis_find(&x.a, "nosuch"));
  const char *best[8];
  int n = pt_analysis_close_names(&x.a, "%hw", best, 8);
  ck_assert_int_eq(n, 8);
  ck_assert_str_eq(best[0], "h");   /* distance 1 */
  ck_assert_str_eq(best[1], "hw2"); /* distance 1, later */
  for (int i = 0; i < n; i++)
    ck_assert_ptr_nonnull(best[i]);
  ck_assert_int_eq(pt_analysis_close_names(&x.a, "h_pr", best, 8), 1);
  ck_assert_str_eq(best[0], "h_pre");
  ck_assert_ptr_null(pt_analysis_tactic(&x.a, -1));
  ck_assert_str_eq(pt_analysis_tactic(&x.a, 1), "megatron");
  release(&x);
}
END_TEST

START_TEST(tables_hold_per_device_sizes) {
  applied x;
  apply_example(&x, "examples/mlp.pir", "examples/mlp.bp_mp.yaml", false);
  pt_shard_tables t;
  pt_analysis_tables(&x.a, 65536, &t);
  ck_assert_int_eq(t.args.n, 6);
  ck_assert_str_eq(pt_analysis_name(&x.a, t.args.rows[2].value), "w1");
  ck_assert_uint_eq(t.args.rows[2].local_bytes, 1024 * 512 * 4);
  ck_assert_uint_eq(t.args.rows[2].global_bytes, 1024 * 1024 * 4);
  ck_assert_int_eq(t.args.rows[2].local.dims[1], 512);
  /* x, y: 32x1024 each; w1, w2: 1024x512; b1: 512; b2: 1024 */
  ck_assert_uint_eq(t.arg_local, 4u * (2 * 32 * 1024 + 2 * 1024 * 512 + 512 + 1024));
  ck_assert_uint_eq(t.arg_global, 4u * (2 * 64 * 1024 + 2 * 1024 * 1024 + 2 * 1024));
  ck_assert_int_eq(t.results.n, 1);
  ck_assert_str_eq(t.results.rows[0].label, "loss");
  for (int i = 0; i < t.inter.n; i++)
    ck_assert_uint_ge(t.inter.rows[i].local_bytes, 65536);
  int big = t.inter.n;
  pt_shard_tables_free(&t);
  pt_analysis_tables(&x.a, 0, &t);
  ck_assert_int_eq(t.inter.n, x.a.f->nops);
  ck_assert_int_lt(big, t.inter.n);
  pt_shard_tables_free(&t);
  release(&x);
}
END_TEST

START_TEST(layout_map_names_the_devices_of_each_block) {
  applied x;
  apply_example(&x, "examples/mlp.pir", "examples/mlp.bp_mp.yaml", false);
  pt_layout_map l;
  /* w1 {[], [model]} on batch=2 x model=2: columns by model */
  pt_layout_map_build(&x.m->mesh, value(&x, "w1"), &l);
  ck_assert_int_eq(l.devices, 4);
  ck_assert_int_eq(l.rows, 1);
  ck_assert_int_eq(l.cols, 2);
  ck_assert_ptr_nonnull(l.blocks);
  static const int64_t devs[2][2] = {{0, 2}, {1, 3}};
  for (int c = 0; c < 2; c++) {
    ck_assert_int_eq(l.blocks[c].ndevices, 2);
    for (int k = 0; k < 2; k++)
      ck_assert_int_eq(l.blocks[c].devices[k], devs[c][k]);
    ck_assert_int_eq(l.blocks[c].lo[1], 512 * c);
    ck_assert_int_eq(l.blocks[c].hi[1], 512 * (c + 1));
    ck_assert_int_eq(l.blocks[c].hi[0], 1024);
  }
  pt_layout_map_free(&l);
  /* hw2 {[batch], []}: rows by batch */
  pt_layout_map_build(&x.m->mesh, value(&x, "hw2"), &l);
  ck_assert_int_eq(l.rows, 2);
  ck_assert_int_eq(l.cols, 1);
  ck_assert_int_eq(l.blocks[1].devices[0], 2);
  ck_assert_int_eq(l.blocks[1].lo[0], 32);
  pt_layout_map_free(&l);
  release(&x);
}
END_TEST

int main(void) {
  Suite *s = suite_create("analysis");
  TCase *tc = tcase_create("analysis");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, propagated_value_leads_back_to_its_seed);
  tcase_add_test(tc, weight_origin_is_the_tactic_that_sharded_it);
  tcase_add_test(tc, glob_entries_and_train_step_values);
  tcase_add_test(tc, undecided_value_names_its_conflict);
  tcase_add_test(tc, names_and_close_names);
  tcase_add_test(tc, tables_hold_per_device_sizes);
  tcase_add_test(tc, layout_map_names_the_devices_of_each_block);
  suite_add_tcase(s, tc);
  return pt_test_main(s);
}
