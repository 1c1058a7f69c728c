/* Automatic partitioning (tactics/auto.h, `partita auto`): the search
 * recovers the strategies experts write (Megatron, batch parallelism, ZeRO
 * when memory is short), is at least as fast as the shipped scripts, its
 * strategies compute what the interpreter computes, and bad requests get
 * clear messages. */
#include <stdlib.h>
#include <string.h>

#include "auto.h"
#include "lower.h"
#include "model.h"
#include "passes.h"
#include "run.h"
#include "sharding.h"
#include "sim.h"
#include "tactics.h"
#include "testutil.h"

/* ---- set-up ------------------------------------------------------------------ */

typedef struct {
  pt_diag *d;
  pt_module *m;
  pt_func *f;
  pt_schedule *prefix;
  pt_sim_hw *hw;
  pt_auto_result r;
  pt_status st;
} run_t;

static pt_sim_hw *read_hw(const char *rel, const char *memory) {
  char *path = pt_test_path(rel);
  char *text = pt_test_slurp(path);
  pt_free(path);
  if (memory) { /* the same machine with another memory size */
    char *m = strstr(text, "memory:");
    ck_assert(m != NULL);
    char *eol = strchr(m, '\n');
    size_t n = strlen(text) + 64;
    char *t2 = pt_malloc(n);
    snprintf(t2, n, "%.*smemory: %s%s", (int)(m - text), text, memory, eol);
    pt_free(text);
    text = t2;
  }
  pt_diag *d = pt_diag_create(stderr);
  pt_sim_hw *hw = pt_sim_hw_parse(text, strlen(text), rel, d);
  ck_assert_msg(hw != NULL, "%s does not read", rel);
  pt_diag_destroy(d);
  pt_free(text);
  return hw;
}

/* Loads program text (inlined; train_step with `optim` unless NULL). */
static void load(run_t *x, const char *text, const char *name, const char *optim) {
  x->d = pt_diag_create(stderr);
  x->m = pt_parse(text, strlen(text), name, x->d);
  ck_assert_msg(x->m && pt_verify_module(x->m, x->d) == PT_OK, "%s does not verify", name);
  ck_assert(pt_pass_inline(x->m, "loss", x->d) == PT_OK);
  x->f = pt_module_find_func(x->m, "loss");
  if (optim) {
    pt_optimizer o =
        pt_optimizer_default(strcmp(optim, "adam") == 0 ? PT_OPTIM_ADAM : PT_OPTIM_SGD);
    ck_assert(pt_pass_train_step(x->m, "loss", &o, NULL, &x->f, x->d) == PT_OK);
  }
}

static void load_file(run_t *x, const char *rel, const char *optim) {
  char *path = pt_test_path(rel);
  char *text = pt_test_slurp(path);
  load(x, text, rel, optim);
  pt_free(text);
  pt_free(path);
}

static void load_model(run_t *x, pt_model_opts mo, const char *optim) {
  char *text = pt_model_write(&mo);
  load(x, text, "generated.pir", optim);
  pt_free(text);
}

static pt_schedule *script(const char *text) {
  pt_diag *d = pt_diag_create(stderr);
  pt_schedule *s = pt_schedule_parse(text, strlen(text), "prefix.yaml", d);
  ck_assert_msg(s != NULL, "prefix does not read: %s", text);
  pt_diag_destroy(d);
  return s;
}

/* Searches x->f from `prefix` (a script's text) on x->hw. */
static void search(run_t *x, const char *prefix, uint64_t seed) {
  x->prefix = script(prefix);
  ck_assert(pt_schedule_set_mesh(x->m, x->prefix, x->d) == PT_OK);
  pt_auto_opts o = {.hw = x->hw, .budget_s = 120, .seed = seed, .restarts = -1};
  x->st = pt_auto_search(x->f, x->prefix, &o, &x->r, x->d);
}

static void done(run_t *x) {
  pt_auto_result_free(&x->r);
  pt_schedule_destroy(x->prefix);
  pt_module_destroy(x->m);
  pt_sim_hw_destroy(x->hw);
  pt_diag_destroy(x->d);
}

/* The layout of argument `name` along `axis`: the dim it is sharded on, -1
 * for replicated, -2 for anything else. */
static int dim_of(const run_t *x, const char *name, const char *axis) {
  pt_value *v = pt_func_find_arg(x->f, name);
  ck_assert_msg(v != NULL, "no argument %s", name);
  int a = pt_mesh_axis(&x->m->mesh, axis, strlen(axis));
  pt_axis_state s = pt_sharding_axis(v, a);
  return s.kind == PT_SH_SHARDED ? s.dim : s.kind == PT_SH_REPLICATED ? -1 : -2;
}

static void expect_dim(const run_t *x, const char *name, const char *axis, int want) {
  int got = dim_of(x, name, axis);
  ck_assert_msg(got == want, "%s along %s: dim %d, want %d", name, axis, got, want);
}

/* Megatron: q, k, v by columns (heads), the output projection by rows, the
 * MLP's first weight by columns and its second by rows. */
static void expect_megatron(const run_t *x, const char *prefix) {
  static const struct {
    const char *name;
    int dim;
  } want[] = {{"attn.wq", 1}, {"attn.wk", 1},  {"attn.wv", 1},
              {"attn.wo", 0}, {"mlp.w_in", 1}, {"mlp.w_out", 0}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    char name[128];
    snprintf(name, sizeof name, "%s%s", prefix, want[i].name);
    expect_dim(x, name, "model", want[i].dim);
  }
}

/* The found schedule, written and read back, applied to a fresh copy of
 * the program, lowered and run on the virtual mesh, equals the interpreter
 * within 1e-4 of each result's largest magnitude; 1e-3 for Adam's step,
 * whose first update g / (|g| + eps) turns the rounding of a gradient near
 * eps (a norm's bias) into a visible difference when a strategy sums the
 * gradient in another order. */
static void expect_runs_like_the_interpreter(const run_t *x, const char *text, const char *optim,
                                             bool same_program) {
  char *yaml = pt_auto_script(&x->r, "test");
  run_t y = {0};
  load(&y, text, "again.pir", optim);
  pt_schedule *s = script(yaml);
  ck_assert(!pt_schedule_has_auto(s, NULL));
  ck_assert(pt_schedule_set_mesh(y.m, s, y.d) == PT_OK);
  ck_assert_msg(pt_schedule_apply(y.f, s, NULL, y.d) == PT_OK, "the script does not apply:\n%s",
                yaml);
  /* the script decides what the search left in x->f */
  for (int i = 0; same_program && i < x->f->nargs; i++)
    for (int a = 0; a < x->m->mesh.naxes; a++) {
      pt_axis_state p = pt_sharding_axis(x->f->args[i], a), q = pt_sharding_axis(y.f->args[i], a);
      ck_assert_msg(p.kind == q.kind && (p.kind != PT_SH_SHARDED || p.dim == q.dim),
                    "%s differs along axis %d when the script is read back", x->f->args[i]->name,
                    a);
    }
  pt_func *g = NULL;
  pt_lower_opts lo = {NULL, NULL, 0, NULL};
  ck_assert(pt_pass_lower(y.m, y.f, &lo, &g, y.d) == PT_OK);
  ck_assert(pt_verify_func(g, y.d) == PT_OK);
  double tol = optim && strcmp(optim, "adam") == 0 ? 1e-3 : 1e-4;
  pt_run_opts ro = {y.f, g, NULL, 7, true, tol};
  pt_run_result rr;
  ck_assert(pt_run(&ro, &rr, y.d) == PT_OK);
  for (int i = 0; i < rr.nresults; i++)
    ck_assert_msg(rr.maxrel[i] <= tol, "result %d differs by %g (relative) under\n%s", i,
                  rr.maxrel[i], yaml);
  ck_assert(rr.within);
  pt_run_result_free(&rr);
  pt_schedule_destroy(s);
  pt_module_destroy(y.m);
  pt_diag_destroy(y.d);
  pt_free(yaml);
}

/* The step time of a shipped script on hw (its own mesh). */
static double simulate_script(const char *text, const char *optim, const char *rel,
                              const pt_sim_hw *hw) {
  run_t y = {0};
  load(&y, text, "script.pir", optim);
  char *path = pt_test_path(rel);
  pt_schedule *s = pt_schedule_read(path, y.d);
  pt_free(path);
  ck_assert(s && pt_schedule_set_mesh(y.m, s, y.d) == PT_OK);
  ck_assert(pt_schedule_apply(y.f, s, NULL, y.d) == PT_OK);
  pt_func *g = NULL;
  pt_lower_opts lo = {NULL, NULL, 0, NULL};
  ck_assert(pt_pass_lower(y.m, y.f, &lo, &g, y.d) == PT_OK);
  pt_sim_result r;
  ck_assert(pt_sim_run(hw, g, &r, y.d) == PT_OK);
  double step = r.step;
  pt_sim_result_free(&r);
  pt_schedule_destroy(s);
  pt_module_destroy(y.m);
  pt_diag_destroy(y.d);
  return step;
}

/* ---- what it must find ---------------------------------------------------------- */

/* The transformer block on {model: 4}: Megatron, from nothing but the mesh. */
START_TEST(transformer_block_gets_megatron) {
  const char *optims[] = {NULL, "adam"};
  run_t x = {0};
  x.hw = read_hw("examples/hw/a100-cluster.yaml", NULL);
  load_file(&x, "examples/transformer_block.pir", optims[_i]);
  search(&x, "mesh: {model: 4}\nschedule: []\n", 0);
  ck_assert_int_eq(x.st, PT_OK);
  ck_assert(x.r.fits);
  expect_megatron(&x, "");
  ck_assert(x.r.step < x.r.baseline_step);
  done(&x);
}
END_TEST

/* The GPT on {model: 4}: Megatron in every layer. */
START_TEST(gpt_gets_megatron_in_every_layer) {
  run_t x = {0};
  x.hw = read_hw("examples/hw/a100-cluster.yaml", NULL);
  load_file(&x, "examples/gpt.pir", "adam");
  search(&x, "mesh: {model: 4}\nschedule: []\n", 0);
  ck_assert_int_eq(x.st, PT_OK);
  expect_megatron(&x, "layers.0.");
  expect_megatron(&x, "layers.1.");
  /* one decision covers every layer: the script names layers.* */
  char *yaml = pt_auto_script(&x.r, NULL);
  ck_assert_msg(strstr(yaml, "\"layers.*.attn.wq\": 1"), "%s", yaml);
  pt_free(yaml);
  done(&x);
}
END_TEST

static pt_model_opts wide_batch_mlp(void) {
  pt_model_opts mo = pt_model_defaults(PT_MODEL_MLP);
  mo.batch = 1024;
  mo.d_model = 512;
  mo.mlp_hidden = 512;
  return mo;
}

/* An MLP whose batch is large beside its weights, on {batch: 2} with plenty
 * of memory: batch parallelism (the weights replicated, or ZeRO-3's). With Adam and too little
 * memory for the replicated state: a strategy that splits parameters or state and fits. */
START_TEST(mlp_gets_batch_parallelism_then_what_fits) {
  run_t x = {0};
  x.hw = read_hw("examples/hw/this-machine.yaml", NULL);
  load_model(&x, wide_batch_mlp(), "sgd");
  search(&x, "mesh: {batch: 2}\nschedule: []\n", 0);
  ck_assert_int_eq(x.st, PT_OK);
  expect_dim(&x, "x", "batch", 0);
  expect_dim(&x, "y", "batch", 0);
  /* the weights replicated (an all_reduce of each gradient) or split as
   * ZeRO-3 splits them (a reduce_scatter and an all_gather, the update on
   * half the rows): the same bytes, within 1% of each other on this
   * machine's file, so either may win */
  for (int i = 0; i < 2; i++) {
    int got = dim_of(&x, i ? "w2" : "w1", "batch");
    ck_assert_msg(got == -1 || got == 0, "w%d along batch: dim %d, want replicated or 0", i + 1,
                  got);
  }
  done(&x);

  /* Adam with plenty of memory: the batch split, whatever else */
  run_t big = {0};
  big.hw = read_hw("examples/hw/this-machine.yaml", NULL);
  load_model(&big, wide_batch_mlp(), "adam");
  search(&big, "mesh: {batch: 2}\nschedule: []\n", 0);
  ck_assert_int_eq(big.st, PT_OK);
  expect_dim(&big, "x", "batch", 0);
  /* the batch-parallel strategy with replicated state needs this much */
  int64_t replicated_bp = 0;
  {
    run_t y = {0};
    pt_model_opts mo = wide_batch_mlp();
    char *t = pt_model_write(&mo);
    load(&y, t, "bp.pir", "adam");
    pt_schedule *s = script("mesh: {batch: 2}\nschedule:\n  - {name: bp, axis: batch, "
                            "shard: {x: 0, y: 0}}\n");
    ck_assert(pt_schedule_set_mesh(y.m, s, y.d) == PT_OK);
    ck_assert(pt_schedule_apply(y.f, s, NULL, y.d) == PT_OK);
    pt_func *g;
    pt_lower_opts lo = {NULL, NULL, 0, NULL};
    ck_assert(pt_pass_lower(y.m, y.f, &lo, &g, y.d) == PT_OK);
    pt_sim_result r;
    ck_assert(pt_sim_run(big.hw, g, &r, y.d) == PT_OK);
    replicated_bp = r.memory.peak_bytes;
    pt_sim_result_free(&r);
    pt_schedule_destroy(s);
    pt_module_destroy(y.m);
    pt_diag_destroy(y.d);
    pt_free(t);
  }
  done(&big);

  /* a machine with 10% less memory than that */
  char mem[64];
  snprintf(mem, sizeof mem, "%lldKiB", (long long)(replicated_bp * 9 / 10 / 1024));
  run_t small = {0};
  small.hw = read_hw("examples/hw/this-machine.yaml", mem);
  load_model(&small, wide_batch_mlp(), "adam");
  search(&small, "mesh: {batch: 2}\nschedule: []\n", 0);
  ck_assert_msg(small.st == PT_OK && small.r.fits, "nothing fits in %s", mem);
  ck_assert(small.r.peak <= small.hw->memory);
  ck_assert(small.r.peak < replicated_bp);
  /* some weight or optimizer state is split along 'batch' (ZeRO or MP) */
  bool split = false;
  for (int i = 0; i < small.f->nargs; i++)
    split |= small.f->args[i]->role != PT_ROLE_INPUT &&
             pt_sharding_axis(small.f->args[i], 0).kind == PT_SH_SHARDED;
  ck_assert(split);
  pt_model_opts mo = wide_batch_mlp();
  char *t = pt_model_write(&mo);
  expect_runs_like_the_interpreter(&small, t, "adam", true);
  pt_free(t);
  done(&small);
}
END_TEST

/* The GPT on {batch: 2, model: 2}: no slower than the best shipped script
 * (within 2%), on both shipped machines, and it computes what the
 * interpreter computes. */
START_TEST(gpt_2x2_no_worse_than_the_shipped_scripts) {
  const char *hws[] = {"examples/hw/a100-cluster.yaml", "examples/hw/this-machine.yaml"};
  const char *scripts[] = {"examples/gpt.bp_mp.yaml", "examples/gpt.bp_mp_z3.yaml"};
  char *path = pt_test_path("examples/gpt.pir");
  char *text = pt_test_slurp(path);
  run_t x = {0};
  x.hw = read_hw(hws[_i], NULL);
  load(&x, text, "examples/gpt.pir", "adam");
  search(&x, "mesh: {batch: 2, model: 2}\nschedule: []\n", 0);
  ck_assert_int_eq(x.st, PT_OK);
  double best = 1e30;
  for (int k = 0; k < 2; k++) {
    double s = simulate_script(text, "adam", scripts[k], x.hw);
    best = s < best ? s : best;
  }
  ck_assert_msg(x.r.step <= best * 1.02, "%s: found %g s, the best script %g s", hws[_i], x.r.step,
                best);
  /* the strategy (its globs and dims) on the small GPT of the grid, whose
   * names are the same, so that the run takes a second, not a minute */
  char *tiny_path = pt_test_path("tests/data/tiny_gpt.pir");
  char *tiny = pt_test_slurp(tiny_path);
  expect_runs_like_the_interpreter(&x, tiny, "adam", false);
  pt_free(tiny);
  pt_free(tiny_path);
  done(&x);
  pt_free(text);
  pt_free(path);
}
END_TEST

/* A prefix decides 'batch' by hand; the search fills 'model' and never
 * undoes the manual tactic. */
START_TEST(auto_tactic_after_a_manual_one) {
  run_t x = {0};
  x.hw = read_hw("examples/hw/a100-cluster.yaml", NULL);
  load_file(&x, "examples/gpt.pir", NULL);
  search(&x,
         "mesh: {batch: 2, model: 2}\nschedule:\n"
         "  - {name: dp, axis: batch, shard: {tokens: 0, labels: 0}}\n"
         "  - {name: rest, axis: model, auto: true}\n",
         0);
  ck_assert_int_eq(x.st, PT_OK);
  expect_dim(&x, "tokens", "batch", 0);
  expect_dim(&x, "labels", "batch", 0);
  const pt_schedule *s = x.r.schedule;
  ck_assert_str_eq(s->tactics[0].name, "dp");
  ck_assert(!x.r.info[0].searched);
  for (int i = 1; i < s->ntactics; i++) {
    ck_assert(x.r.info[i].searched);
    ck_assert_str_eq(s->mesh.names[s->tactics[i].axis], "model"); /* only the auto axis */
  }
  /* only parameters and state along 'model' */
  expect_dim(&x, "tokens", "model", -1);
  expect_megatron(&x, "layers.0.");
  done(&x);
}
END_TEST

/* The same seed gives the same script; the script says what it is. */
START_TEST(deterministic_and_readable) {
  char *texts[2];
  for (int k = 0; k < 2; k++) {
    run_t x = {0};
    x.hw = read_hw("examples/hw/this-machine.yaml", NULL);
    load_file(&x, "examples/transformer_block.pir", "adam");
    search(&x, "mesh: {batch: 2, model: 2}\nschedule: []\n", 42);
    ck_assert_int_eq(x.st, PT_OK);
    texts[k] = pt_auto_script(&x.r, NULL);
    /* drop the line with the search's seconds */
    char *sec = strstr(texts[k], "# Search:");
    ck_assert(sec);
    char *eol = strchr(sec, '\n');
    memmove(sec, eol + 1, strlen(eol + 1) + 1);
    done(&x);
  }
  ck_assert_str_eq(texts[0], texts[1]);
  ck_assert(strstr(texts[0], "# Predicted: step"));
  ck_assert(strstr(texts[0], "from the search"));
  pt_free(texts[0]);
  pt_free(texts[1]);
}
END_TEST

/* ---- what it must refuse ----------------------------------------------------------- */

START_TEST(nothing_fits) {
  run_t x = {0};
  x.hw = read_hw("examples/hw/this-machine.yaml", "1MiB");
  load_file(&x, "examples/mlp.pir", "adam");
  search(&x, "mesh: {batch: 2}\nschedule: []\n", 0);
  ck_assert_int_eq(x.st, PT_ERR);
  ck_assert(x.r.schedule != NULL && !x.r.fits);
  const char *msg = pt_diag_text(x.d, pt_diag_count(x.d) - 1);
  ck_assert_msg(strstr(msg, "no strategy found fits in 1 MiB") &&
                    strstr(msg, "the smallest peak found was"),
                "%s", msg);
  done(&x);
}
END_TEST

START_TEST(nothing_left_to_search) {
  run_t x = {0};
  x.hw = read_hw("examples/hw/a100-cluster.yaml", NULL);
  load_file(&x, "examples/mlp.pir", NULL);
  /* every argument decided along the only axis */
  search(&x,
         "mesh: {batch: 2}\nschedule:\n"
         "  - {name: all, axis: batch, shard: {x: 0, y: 0}, replicate: [w1, w2, b1, b2]}\n",
         0);
  ck_assert_int_eq(x.st, PT_ERR);
  ck_assert(strstr(pt_diag_text(x.d, 0), "nothing is left to search"));
  done(&x);
}
END_TEST

START_TEST(manual_after_auto_is_refused) {
  run_t x = {0};
  x.hw = read_hw("examples/hw/a100-cluster.yaml", NULL);
  load_file(&x, "examples/mlp.pir", NULL);
  search(&x,
         "mesh: {batch: 2, model: 2}\nschedule:\n"
         "  - {name: rest, axis: model, auto: true}\n"
         "  - {name: dp, axis: batch, shard: {x: 0}}\n",
         0);
  ck_assert_int_eq(x.st, PT_ERR);
  const char *m = pt_diag_message(x.d, 0);
  ck_assert_msg(strstr(m, "prefix.yaml:4:") && strstr(m, "comes after the automatic tactic"), "%s",
                m);
  done(&x);
}
END_TEST

/* The command line: bad requests, and the script a good one writes. */
static const pt_test_usage_case usage[] = {
    {"no mesh", "auto examples/mlp.pir --hw examples/hw/a100-cluster.yaml", 2, "--mesh is needed"},
    {"no hw", "auto examples/mlp.pir --mesh batch=2", 2, "--hw is needed"},
    {"zero budget",
     "auto examples/mlp.pir --mesh batch=2 --hw examples/hw/a100-cluster.yaml "
     "--budget-s 0",
     2, "--budget-s needs a number of seconds above 0"},
    {"bad mesh", "auto examples/mlp.pir --mesh batch:2 --hw examples/hw/a100-cluster.yaml", 2,
     "--mesh needs NAME=SIZE pairs"},
    {"mesh size 0", "auto examples/mlp.pir --mesh batch=0 --hw examples/hw/a100-cluster.yaml", 2,
     "size 0"},
    {"mesh vs prefix",
     "auto examples/mlp.pir --mesh batch=4 --tactics examples/mlp.bp.yaml "
     "--hw examples/hw/a100-cluster.yaml",
     2, "differs from the mesh of"},
    {"bad args role",
     "auto examples/mlp.pir --mesh batch=2 --args batch=weights "
     "--hw examples/hw/a100-cluster.yaml",
     2, "'weights' is not a role"},
    {"bad args axis",
     "auto examples/mlp.pir --mesh batch=2 --args model=all "
     "--hw examples/hw/a100-cluster.yaml",
     2, "'model' is not an axis"},
    {"mesh beyond the machine",
     "auto examples/mlp.pir --mesh batch=512 "
     "--hw examples/hw/a100-cluster.yaml",
     1, "devices"},
    {"auto tactic in partition", "partition examples/mlp.pir --tactics $T/auto.yaml", 1,
     "is automatic (auto: true)"},
    {"auto key misused", "partition examples/mlp.pir --tactics $T/bad_auto.yaml", 1,
     "'auto' must be true or false"},
    {"args without auto", "partition examples/mlp.pir --tactics $T/bad_args.yaml", 1,
     "needs 'auto: true'"},
    {"auto with seeds", "partition examples/mlp.pir --tactics $T/auto_seeds.yaml", 1,
     "an automatic tactic chooses its own seeds"},
};

static char tmpdir[] = "/tmp/pt_test_auto_XXXXXX";

static void write_file(const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  ck_assert(f);
  fputs(text, f);
  fclose(f);
}

START_TEST(command_errors) {
  write_file("auto.yaml", "mesh: {batch: 2}\nschedule:\n  - {name: a, axis: batch, auto: true}\n");
  write_file("bad_auto.yaml",
             "mesh: {batch: 2}\nschedule:\n  - {name: a, axis: batch, auto: maybe}\n");
  write_file("bad_args.yaml", "mesh: {batch: 2}\nschedule:\n"
                              "  - {name: a, axis: batch, shard: {x: 0}, args: [param]}\n");
  write_file("auto_seeds.yaml", "mesh: {batch: 2}\nschedule:\n"
                                "  - {name: a, axis: batch, auto: true, shard: {x: 0}}\n");
  pt_test_check_usage(tmpdir, &usage[_i]);
}
END_TEST

/* `partita auto -o` writes a script that sim reads; explore ranks it. */
START_TEST(command_writes_a_script) {
  pt_test_result r =
      pt_test_partita_run(tmpdir, "auto examples/transformer_block.pir --mesh model=2 --hw "
                                  "examples/hw/a100-cluster.yaml --seed 3 -o $T/found.yaml");
  ck_assert_msg(r.status == 0, "%s", r.err);
  ck_assert_msg(strstr(r.out, "auto: wrote"), "%s", r.out);
  pt_test_result_free(&r);
  r = pt_test_partita_run(tmpdir, "sim examples/transformer_block.pir --tactics $T/found.yaml "
                                  "--hw examples/hw/a100-cluster.yaml");
  ck_assert_msg(r.status == 0, "%s", r.err);
  pt_test_result_free(&r);
  r = pt_test_partita_run(tmpdir, "explore examples/transformer_block.pir --hw "
                                  "examples/hw/a100-cluster.yaml --tactics "
                                  "examples/transformer_block.mp.yaml --auto model=2 --json");
  ck_assert_msg(r.status == 0, "%s", r.err);
  ck_assert_msg(strstr(r.out, "auto model=2 (searched)"), "%s", r.out);
  pt_test_result_free(&r);
  r = pt_test_partita_run(tmpdir, "auto examples/transformer_block.pir --mesh model=2 --hw "
                                  "examples/hw/a100-cluster.yaml --json");
  ck_assert_msg(r.status == 0 && strstr(r.out, "\"script\"") && strstr(r.out, "\"step_s\""), "%s",
                r.out);
  pt_test_result_free(&r);
}
END_TEST

int main(void) {
  if (!mkdtemp(tmpdir))
    return 1;
  Suite *s = suite_create("auto");
  TCase *tc = tcase_create("auto");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, transformer_block_gets_megatron, 0, 2);
  tcase_add_test(tc, gpt_gets_megatron_in_every_layer);
  tcase_add_test(tc, mlp_gets_batch_parallelism_then_what_fits);
  tcase_add_loop_test(tc, gpt_2x2_no_worse_than_the_shipped_scripts, 0, 2);
  tcase_add_test(tc, auto_tactic_after_a_manual_one);
  tcase_add_test(tc, deterministic_and_readable);
  tcase_add_test(tc, nothing_fits);
  tcase_add_test(tc, nothing_left_to_search);
  tcase_add_test(tc, manual_after_auto_is_refused);
  tcase_add_loop_test(tc, command_errors, 0, (int)(sizeof usage / sizeof usage[0]));
  tcase_add_test(tc, command_writes_a_script);
  suite_add_tcase(s, tc);
  int rc = pt_test_main(s);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0)
    rc = 1;
  return rc;
}
