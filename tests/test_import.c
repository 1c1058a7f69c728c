/* partita import (import/import.h): one StableHLO fixture per supported op
 * (tests/data/import/ops/, pretty and generic forms) run through the
 * reference interpreter against the values its header expects; the MLP and
 * the transformer block written in StableHLO import, check, partition with
 * the shipped tactic scripts and give examples/mlp.pir's and
 * examples/transformer_block.pir's results on the same arguments, in the
 * interpreter and on the virtual mesh; every rejection (table-driven) is
 * one located error; thousands of mutations of the fixtures never crash
 * the importer; the command line.
 *
 * The full-size transformer block takes seconds per interpreter run, so its
 * runs are left out under the sanitizers (PT_SANITIZE_BUILD), as the grid
 * does; its import, check and partitioning run in both builds. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import.h"
#include "init.h"
#include "interp.h"
#include "lower.h"
#include "passes.h"
#include "tactics.h"
#include "testutil.h"
#include "vmesh.h"

static bool sanitizer_build(void) {
  return getenv("PT_SANITIZE_BUILD") != NULL;
}

static pt_module *import_text(const char *text, const char *file, const pt_import_opts *o,
                              pt_diag *d) {
  return pt_import_parse(text, strlen(text), file, o, d);
}

/* ---- one fixture per op --------------------------------------------- */

static char **fixtures;
static int nfixtures;

static void list_fixtures(void) {
  char *dir = pt_test_path("tests/data/import/ops");
  DIR *dp = opendir(dir);
  if (!dp) {
    fprintf(stderr, "test_import: cannot open %s\n", dir);
    exit(1);
  }
  int cap = 0;
  struct dirent *e;
  while ((e = readdir(dp))) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".mlir") != 0)
      continue;
    PT_GROW(fixtures, cap, (size_t)nfixtures + 1);
    char path[600];
    snprintf(path, sizeof path, "tests/data/import/ops/%s", e->d_name);
    fixtures[nfixtures++] = pt_strdup(path);
  }
  closedir(dp);
  pt_free(dir);
  /* a stable order, so that a case number names a file */
  for (int i = 1; i < nfixtures; i++)
    for (int j = i; j > 0 && strcmp(fixtures[j], fixtures[j - 1]) < 0; j--) {
      char *t = fixtures[j];
      fixtures[j] = fixtures[j - 1];
      fixtures[j - 1] = t;
    }
}

static char *read_rel(const char *rel) {
  char *p = pt_test_path(rel);
  char *t = pt_test_slurp(p);
  pt_free(p);
  return t;
}

START_TEST(op_fixture) {
  const char *file = fixtures[_i];
  char *text = read_rel(file);
  ck_assert_msg(*text, "%s: empty or unreadable", file);
  /* the expected values: the `// expect:` line */
  const char *ex = strstr(text, "// expect:");
  ck_assert_msg(ex, "%s: no '// expect:' line", file);
  double want[64];
  int nwant = 0;
  const char *p = ex + 10;
  while (*p && *p != '\n') {
    char *end;
    double v = strtod(p, &end);
    if (end == p) {
      p++;
      continue;
    }
    ck_assert_int_lt(nwant, 64);
    want[nwant++] = v;
    p = end;
  }
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m = import_text(text, file, NULL, d);
  ck_assert_msg(m, "%s: import failed", file);
  ck_assert_int_eq(pt_verify_module(m, d), PT_OK);
  pt_func *f = m->funcs[m->nfuncs - 1];
  ck_assert_int_eq(f->nargs, 0);
  ck_assert_int_eq(f->nresults, 1);
  pt_tensor *res[1] = {0};
  /* the interpreter runs calls itself; inlining must give the same */
  ck_assert_int_eq(pt_interp_run(f, NULL, res, d), PT_OK);
  ck_assert_msg(pt_type_numel(&res[0]->type) == nwant, "%s: %lld results, %d expected", file,
                (long long)pt_type_numel(&res[0]->type), nwant);
  for (int i = 0; i < nwant; i++) {
    double got = pt_tensor_get(res[0], i);
    bool ok =
        (isinf(want[i]) && got == want[i]) || fabs(got - want[i]) <= 1e-6 * (1 + fabs(want[i]));
    ck_assert_msg(ok, "%s: element %d is %.9g, expected %.9g", file, i, got, want[i]);
  }
  ck_assert_int_eq(pt_pass_inline(m, f->name, d), PT_OK);
  pt_tensor *res2[1] = {0};
  ck_assert_int_eq(pt_interp_run(f, NULL, res2, d), PT_OK);
  ck_assert(memcmp(res[0]->data, res2[0]->data, pt_type_bytes(&res[0]->type)) == 0);
  /* the printed module parses back to the same text */
  char *pir = pt_print_module_str(m);
  pt_module *back = pt_parse(pir, strlen(pir), "printed.pir", d);
  ck_assert_msg(back && pt_verify_module(back, d) == PT_OK, "%s: printed form invalid", file);
  char *pir2 = pt_print_module_str(back);
  ck_assert_str_eq(pir, pir2);
  pt_free(pir);
  pt_free(pir2);
  pt_module_destroy(back);
  pt_tensor_destroy(res[0]);
  pt_tensor_destroy(res2[0]);
  pt_module_destroy(m);
  pt_diag_destroy(d);
  pt_free(text);
}
END_TEST

/* Every op the importer claims has a fixture that uses it. */
START_TEST(every_op_has_a_fixture) {
  static const char *const claimed[] = {"add",          "subtract",    "multiply",
                                        "divide",       "maximum",     "minimum",
                                        "power",        "negate",      "exponential",
                                        "log",          "tanh",        "logistic",
                                        "sqrt",         "rsqrt",       "abs",
                                        "sine",         "cosine",      "exponential_minus_one",
                                        "log_plus_one", "compare",     "select",
                                        "not",          "and",         "or",
                                        "xor",          "clamp",       "convert",
                                        "constant",     "iota",        "broadcast_in_dim",
                                        "broadcast",    "reshape",     "transpose",
                                        "slice",        "concatenate", "pad",
                                        "reduce",       "dot_general", "dot",
                                        "gather",       "scatter",     "custom_call"};
  for (size_t c = 0; c < sizeof claimed / sizeof claimed[0]; c++) {
    char pretty[64], generic[64];
    snprintf(pretty, sizeof pretty, "stablehlo.%s ", claimed[c]);
    snprintf(generic, sizeof generic, "\"stablehlo.%s\"", claimed[c]);
    bool found = false;
    for (int i = 0; i < nfixtures && !found; i++) {
      char *t = read_rel(fixtures[i]);
      found = strstr(t, pretty) || strstr(t, generic);
      pt_free(t);
    }
    ck_assert_msg(found, "no fixture uses stablehlo.%s", claimed[c]);
  }
  ck_assert_int_ge(nfixtures, 35);
}
END_TEST

/* ---- the models ------------------------------------------------------ */

static pt_module *load_pir(const char *rel, pt_diag *d) {
  char *p = pt_test_path(rel);
  pt_module *m = pt_parse_file(p, d);
  pt_free(p);
  ck_assert_msg(m && pt_verify_module(m, d) == PT_OK, "%s invalid", rel);
  ck_assert_int_eq(pt_pass_inline(m, "loss", d), PT_OK);
  return m;
}

static pt_module *import_model(const char *rel, const char *params, const char *names_rel,
                               pt_diag *d) {
  char *text = read_rel(rel);
  pt_import_opts o = {.params = params};
  char **names = NULL, *ntext = NULL;
  int *lines = NULL, n = 0;
  if (names_rel) {
    ntext = read_rel(names_rel);
    ck_assert(pt_import_names_parse(ntext, strlen(ntext), names_rel, &names, &lines, &n, d));
    o.names = (const char *const *)names;
    o.nnames = n;
  }
  pt_module *m = pt_import_parse(text, strlen(text), rel, &o, d);
  ck_assert_msg(m, "%s: import failed", rel);
  ck_assert_int_eq(pt_verify_module(m, d), PT_OK);
  ck_assert_int_eq(pt_pass_inline(m, "loss", d), PT_OK);
  pt_import_names_free(names, lines, n);
  pt_free(ntext);
  pt_free(text);
  return m;
}

/* Arguments from seed 7 by name, as `partita run` makes them. */
static pt_tensor **make_args(const pt_func *f) {
  pt_tensor **args = pt_calloc((size_t)f->nargs, sizeof *args);
  for (int i = 0; i < f->nargs; i++) {
    pt_init_spec sp = pt_init_spec_for(f, f->args[i], 7);
    args[i] = pt_init_tensor(&sp, f->args[i]->type);
  }
  return args;
}

/* The imported function has the example's signature (names, roles, types). */
static void same_signature(const pt_func *a, const pt_func *b) {
  ck_assert_int_eq(a->nargs, b->nargs);
  for (int i = 0; i < a->nargs; i++) {
    ck_assert_str_eq(a->args[i]->name, b->args[i]->name);
    ck_assert_int_eq(a->args[i]->role, b->args[i]->role);
    ck_assert(pt_type_equal(&a->args[i]->type, &b->args[i]->type));
  }
  ck_assert_int_eq(a->nresults, b->nresults);
}

static double rel_diff(const pt_tensor *got, const pt_tensor *ref) {
  double mx = 0, scale = 0;
  for (int64_t e = 0; e < pt_type_numel(&ref->type); e++) {
    double a = pt_tensor_get(got, e), b = pt_tensor_get(ref, e);
    if (isnan(a) || isnan(b))
      return INFINITY;
    mx = fmax(mx, fabs(a - b));
    scale = fmax(scale, fabs(b));
  }
  return mx / (scale > 0 ? scale : 1);
}

/* Partitions f (the loss, or with adam its train_step) with a shipped
 * script on the script's mesh and runs it on the virtual mesh against the
 * interpreter (or against `known`, the interpreter's results on these
 * arguments when the caller has them); `run` false: partition and lower
 * only. */
static void partition_and_run(pt_module *m, const char *script, bool train_step, bool run,
                              pt_tensor *const *known) {
  pt_diag *d = pt_diag_create(stderr);
  pt_func *f = pt_module_find_func(m, "loss");
  ck_assert_ptr_nonnull(f);
  if (train_step) {
    pt_optimizer opt = pt_optimizer_default(PT_OPTIM_ADAM);
    ck_assert_int_eq(pt_pass_train_step(m, "loss", &opt, NULL, &f, d), PT_OK);
  }
  char *sp = pt_test_path(script);
  pt_schedule *s = pt_schedule_read(sp, d);
  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(pt_schedule_set_mesh(m, s, d), PT_OK);
  ck_assert_msg(pt_schedule_apply(f, s, NULL, d) == PT_OK, "%s does not apply", script);
  pt_func *g = NULL;
  ck_assert_msg(pt_pass_lower(m, f, NULL, &g, d) == PT_OK && pt_verify_func(g, d) == PT_OK,
                "%s: lowering failed", script);
  if (run) {
    pt_tensor **args = make_args(f);
    pt_tensor **ref = pt_calloc((size_t)f->nresults, sizeof *ref);
    pt_tensor **got = pt_calloc((size_t)f->nresults, sizeof *got);
    if (known)
      for (int i = 0; i < f->nresults; i++)
        ref[i] = pt_tensor_clone(known[i]);
    else
      ck_assert_int_eq(pt_interp_run(f, args, ref, d), PT_OK);
    ck_assert_int_eq(pt_vmesh_run_global(f, g, args, got, d), PT_OK);
    for (int i = 0; i < f->nresults; i++) {
      double r = rel_diff(got[i], ref[i]);
      ck_assert_msg(r <= 1e-4, "%s: result %s differs by %g", script, f->results[i].name, r);
    }
    pt_tensors_destroy(args, f->nargs);
    pt_tensors_destroy(ref, f->nresults);
    pt_tensors_destroy(got, f->nresults);
  }
  pt_schedule_destroy(s);
  pt_free(sp);
  pt_diag_destroy(d);
}

/* Imported and written-by-hand give the same loss, bit for bit (the same
 * ops in the same order); *out (may be NULL) receives it. */
static void same_loss(pt_module *imp, pt_module *ref, pt_tensor **out) {
  pt_diag *d = pt_diag_create(stderr);
  pt_func *f = pt_module_find_func(imp, "loss"), *g = pt_module_find_func(ref, "loss");
  same_signature(f, g);
  pt_tensor **args = make_args(g);
  pt_tensor *a[1] = {0}, *b[1] = {0};
  ck_assert_int_eq(pt_interp_run(f, args, a, d), PT_OK);
  ck_assert_int_eq(pt_interp_run(g, args, b, d), PT_OK);
  float x = ((float *)a[0]->data)[0], y = ((float *)b[0]->data)[0];
  ck_assert_msg(isfinite(y) && memcmp(&x, &y, sizeof x) == 0, "imported loss %.9g, example %.9g", x,
                y);
  if (out)
    *out = a[0];
  else
    pt_tensor_destroy(a[0]);
  pt_tensor_destroy(b[0]);
  pt_tensors_destroy(args, g->nargs);
  pt_diag_destroy(d);
}

START_TEST(mlp_matches_example) {
  pt_diag *d = pt_diag_create(stderr);
  pt_module *imp = import_model("examples/mlp.mlir", "2-5", NULL, d);
  pt_module *ref = load_pir("examples/mlp.pir", d);
  same_loss(imp, ref, NULL);
  static const char *const scripts[] = {"examples/mlp.bp.yaml", "examples/mlp.mp.yaml",
                                        "examples/mlp.bp_mp.yaml"};
  for (int i = 0; i < 3; i++) {
    pt_module *m = import_model("examples/mlp.mlir", "2-5", NULL, d);
    partition_and_run(m, scripts[i], false, true, NULL);
    pt_module_destroy(m);
  }
  /* ZeRO-3 shards the optimizer state: the train step's */
  partition_and_run(imp, "examples/mlp.bp_z3.yaml", true, true, NULL);
  pt_module_destroy(imp);
  pt_module_destroy(ref);
  pt_diag_destroy(d);
}
END_TEST

START_TEST(transformer_block_matches_example) {
  pt_diag *d = pt_diag_create(stderr);
  const char *names = "tests/data/import/transformer_block.names";
  pt_module *imp = import_model("tests/data/import/transformer_block.mlir", "2-", names, d);
  pt_module *ref = load_pir("examples/transformer_block.pir", d);
  same_signature(pt_module_find_func(imp, "loss"), pt_module_find_func(ref, "loss"));
  bool run = !sanitizer_build();
  pt_tensor *loss = NULL;
  if (run)
    same_loss(imp, ref, &loss);
  static const char *const scripts[] = {"examples/transformer_block.bp.yaml",
                                        "examples/transformer_block.mp.yaml"};
  for (int i = 0; i < 2; i++) {
    pt_module *m = import_model("tests/data/import/transformer_block.mlir", "2-", names, d);
    partition_and_run(m, scripts[i], false, false, NULL);
    pt_module_destroy(m);
  }
  partition_and_run(imp, "examples/transformer_block.bp_mp.yaml", false, run, &loss);
  pt_tensor_destroy(loss);
  pt_module_destroy(imp);
  imp = import_model("tests/data/import/transformer_block.mlir", "2-", names, d);
  partition_and_run(imp, "examples/transformer_block.bp_z3.yaml", true, false, NULL);
  pt_module_destroy(imp);
  pt_module_destroy(ref);
  pt_diag_destroy(d);
}
END_TEST

/* A forward pass with its weights baked in as constants (an elided blob and
 * a literal) becomes trainable with --params-from-constants; --names names
 * the arguments, the generated params included. */
START_TEST(params_from_constants) {
  static const char *const text =
      "module @jit_forward {\n"
      "  func.func public @main(%arg0: tensor<2x3xf32>) -> (tensor<2x2xf32> {jax.result_info = "
      "\"\"}) {\n"
      "    %cst = stablehlo.constant dense_resource<__elided__> : tensor<3x2xf32>\n"
      "    %cst_0 = stablehlo.constant dense<[1.000000e+00, -1.000000e+00]> : tensor<2xf32>\n"
      "    %cst_1 = stablehlo.constant dense<0.000000e+00> : tensor<2x2xf32>\n"
      "    %0 = stablehlo.dot_general %arg0, %cst, contracting_dims = [1] x [0] : "
      "(tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>\n"
      "    %1 = stablehlo.broadcast_in_dim %cst_0, dims = [1] : (tensor<2xf32>) -> "
      "tensor<2x2xf32>\n"
      "    %2 = stablehlo.add %0, %1 : tensor<2x2xf32>\n"
      "    %3 = stablehlo.maximum %2, %cst_1 : tensor<2x2xf32>\n"
      "    return %3 : tensor<2x2xf32>\n"
      "  }\n"
      "}\n"
      "{-#\n  dialect_resources: {\n    builtin: {\n    }\n  }\n#-}\n";
  pt_diag *d = pt_diag_create(NULL);
  ck_assert_ptr_null(import_text(text, "fwd.mlir", NULL, d));
  ck_assert_int_eq(pt_diag_error_count(d), 1);
  ck_assert_ptr_nonnull(strstr(pt_diag_message(d, 0), "fwd.mlir:3:12: error: "));
  ck_assert_ptr_nonnull(strstr(pt_diag_message(d, 0), "--params-from-constants"));
  pt_diag_destroy(d);
  d = pt_diag_create(stderr);
  const char *names[] = {"x", "layer.w", "layer.b"};
  pt_import_opts o = {.params_from_constants = true, .names = names, .nnames = 3};
  pt_module *m = import_text(text, "fwd.mlir", &o, d);
  ck_assert_ptr_nonnull(m);
  pt_func *f = m->funcs[0];
  ck_assert_str_eq(f->name, "main");
  ck_assert_int_eq(f->nargs, 3);
  ck_assert_str_eq(f->args[1]->name, "layer.w");
  ck_assert_int_eq(f->args[1]->role, PT_ROLE_PARAM);
  ck_assert_int_eq(f->args[2]->role, PT_ROLE_PARAM);
  ck_assert_int_eq(f->args[0]->role, PT_ROLE_INPUT);
  /* the splat stays a constant */
  int consts = 0;
  for (int i = 0; i < f->nops; i++)
    consts += f->ops[i]->code == PT_OP_CONSTANT;
  ck_assert_int_eq(consts, 1);
  /* and the values flow: x = 1, w = 1, b = [1, -1] gives max(3 + b, 0) */
  pt_tensor *args[3];
  for (int i = 0; i < 3; i++) {
    args[i] = pt_tensor_create(f->args[i]->type);
    for (int64_t e = 0; e < pt_type_numel(&args[i]->type); e++)
      pt_tensor_set(args[i], e, i == 2 && e == 1 ? -1 : 1);
  }
  pt_tensor *r[1];
  ck_assert_int_eq(pt_interp_run(f, args, r, d), PT_OK);
  ck_assert(pt_tensor_get(r[0], 0) == 4 && pt_tensor_get(r[0], 1) == 2);
  pt_tensor_destroy(r[0]);
  for (int i = 0; i < 3; i++)
    pt_tensor_destroy(args[i]);
  /* generated names without --names: const.N */
  pt_module_destroy(m);
  o.names = NULL;
  o.nnames = 0;
  m = import_text(text, "fwd.mlir", &o, d);
  ck_assert_str_eq(m->funcs[0]->args[1]->name, "const.0");
  ck_assert_str_eq(m->funcs[0]->args[2]->name, "const.1");
  pt_module_destroy(m);
  pt_diag_destroy(d);
}
END_TEST

/* Shardy's annotations are read past and ignored, with one note. */
START_TEST(shardy_module) {
  char *text = read_rel("tests/data/import/shardy.mlir");
  pt_diag *d = pt_diag_create(NULL);
  pt_import_opts o = {.params = "1"};
  pt_module *m = import_text(text, "shardy.mlir", &o, d);
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(pt_diag_count(d), 1);
  ck_assert_ptr_nonnull(strstr(pt_diag_message(d, 0), "shardy.mlir:4:128: note: sharding "
                                                      "annotations are ignored"));
  pt_func *f = m->funcs[0];
  ck_assert_int_eq(f->args[1]->role, PT_ROLE_PARAM);
  ck_assert_str_eq(f->results[0].name, "out");
  ck_assert_int_eq(f->nops, 1);
  pt_module_destroy(m);
  pt_diag_destroy(d);
  pt_free(text);
}
END_TEST

/* ---- rejections ----------------------------------------------------- */

/* A body inside a function of two f32[4] and one i32[4] arguments, which
 * returns %0 : tensor<4xf32>; the body starts on line 3, so an op written
 * `    %0 = ...` is at 3:10. */
static const char *const HEAD = "module @m {\n"
                                "  func.func public @main(%arg0: tensor<4xf32>, %arg1: "
                                "tensor<4xf32>, %arg2: tensor<4xi32>) -> tensor<4xf32> {\n";
static const char *const TAIL = "    return %0 : tensor<4xf32>\n  }\n}\n";

typedef struct {
  const char *name;
  const char *body; /* the ops; NULL: `whole` is the file */
  const char *whole;
  const char *params; /* --params, or NULL */
  const char *where;  /* "line:col" of the error */
  const char *want;   /* in its message */
} reject_case;

static const reject_case rejects[] = {
    {"convolution",
     "    %0 = stablehlo.convolution(%arg0, %arg1) dim_numbers = [b, f, 0]x[o, i, 0]->[b, f, 0], "
     "window = {} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>\n",
     NULL, NULL, "3:10", "stablehlo.convolution is not supported: partita has no convolution"},
    {"reduce_window generic",
     "    %0 = \"stablehlo.reduce_window\"(%arg0, %arg1) : (tensor<4xf32>, tensor<4xf32>) -> "
     "tensor<4xf32>\n",
     NULL, NULL, "3:10", "stablehlo.reduce_window is not supported: partita has no windowed"},
    {"sort", "    %0 = \"stablehlo.sort\"(%arg0) ({}) : (tensor<4xf32>) -> tensor<4xf32>\n", NULL,
     NULL, "3:10", "stablehlo.sort is not supported: partita has no sort"},
    {"while", "    %0 = stablehlo.while(%iterArg = %arg0) : tensor<4xf32>\n", NULL, NULL, "3:10",
     "control flow is not imported"},
    {"remainder", "    %0 = stablehlo.remainder %arg0, %arg1 : tensor<4xf32>\n", NULL, NULL, "3:10",
     "stablehlo.remainder is not supported: partita's op set has no equivalent"},
    {"other dialect", "    %0 = chlo.erf %arg0 : tensor<4xf32> -> tensor<4xf32>\n", NULL, NULL,
     "3:10", "chlo.erf is not supported: only the stablehlo, func and sdy dialects"},
    {"bf16 result", "    %0 = stablehlo.convert %arg0 : (tensor<4xf32>) -> tensor<4xbf16>\n", NULL,
     NULL, "3:10", "type bf16 is not supported: partita has no 16-bit floats"},
    {"f16 argument", NULL,
     "module {\n  func.func @main(%arg0: tensor<4xf16>) -> tensor<4xf16> {\n    return %arg0 : "
     "tensor<4xf16>\n  }\n}\n",
     NULL, "2:19", "type f16 is not supported"},
    {"f64", "    %0 = stablehlo.convert %arg0 : (tensor<4xf32>) -> tensor<4xf64>\n", NULL, NULL,
     "3:10", "partita has no f64"},
    {"dynamic shape", NULL,
     "module {\n  func.func @main(%arg0: tensor<?xf32>) -> tensor<?xf32> {\n    return %arg0 : "
     "tensor<?xf32>\n  }\n}\n",
     NULL, "2:19", "dynamic shapes are not imported"},
    {"zero-size dimension", "    %0 = stablehlo.constant dense<> : tensor<0xf32>\n", NULL, NULL,
     "3:10", "zero-size dimensions are not imported"},
    {"complex", "    %0 = stablehlo.constant dense<(1.0, 2.0)> : tensor<complex<f32>>\n", NULL,
     NULL, "3:10", "complex numbers are not imported"},
    {"token argument", NULL,
     "module {\n  func.func @main(%arg0: !stablehlo.token, %arg1: tensor<f32>) -> tensor<f32> {\n  "
     "  return %arg1 : tensor<f32>\n  }\n}\n",
     NULL, "2:19", "only ranked tensors of static shape are imported"},
    {"rank 9",
     "    %0 = stablehlo.reshape %arg0 : (tensor<4xf32>) -> tensor<1x1x1x1x1x1x1x1x4xf32>\n", NULL,
     NULL, "3:10", "ranks go up to 8"},
    {"huge type",
     "    %0 = stablehlo.reshape %arg0 : (tensor<4xf32>) -> tensor<99999999999x99999999999xf32>\n",
     NULL, NULL, "3:86", "more than 2^48 elements"},
    {"custom_call",
     "    %0 = stablehlo.custom_call @my_kernel(%arg0) : (tensor<4xf32>) -> tensor<4xf32>\n", NULL,
     NULL, "3:10", "custom_call @my_kernel is not supported: partita runs no foreign"},
    {"shard_map",
     "    %0 = stablehlo.custom_call @SPMDFullToShardShape(%arg0) : (tensor<4xf32>) -> "
     "tensor<4xf32>\n",
     NULL, NULL, "3:10", "shard_map's manual sharding is not imported"},
    {"compare TOTALORDER",
     "    %1 = stablehlo.compare  LT, %arg0, %arg1,  TOTALORDER : (tensor<4xf32>, tensor<4xf32>) "
     "-> tensor<4xi1>\n    %0 = stablehlo.select %1, %arg0, %arg1 : tensor<4xi1>, tensor<4xf32>\n",
     NULL, NULL, "3:48", "compare_type TOTALORDER is not supported"},
    {"compare without direction",
     "    %1 = \"stablehlo.compare\"(%arg0, %arg1) : (tensor<4xf32>, tensor<4xf32>) -> "
     "tensor<4xi1>\n",
     NULL, NULL, "3:10", "stablehlo.compare needs a direction"},
    {"bitwise and", "    %1 = stablehlo.and %arg2, %arg2 : tensor<4xi32>\n", NULL, NULL, "3:10",
     "stablehlo.and on integers (bitwise) is not supported"},
    {"undefined value", "    %0 = stablehlo.add %arg0, %nope : tensor<4xf32>\n", NULL, NULL, "3:31",
     "use of undefined value %nope"},
    {"mixed element types", "    %0 = stablehlo.add %arg0, %arg2 : tensor<4xf32>\n", NULL, NULL,
     "3:10", "stablehlo.add: "},
    {"declared type differs", "    %0 = stablehlo.add %arg0, %arg1 : tensor<5xf32>\n", NULL, NULL,
     "3:10", "declares its result f32[5] but it is f32[4]"},
    {"reduce with multiply",
     "    %c = stablehlo.constant dense<1.0> : tensor<f32>\n    %1 = stablehlo.reduce(%arg0 init: "
     "%c) applies stablehlo.multiply across dimensions = [0] : (tensor<4xf32>, tensor<f32>) -> "
     "tensor<f32>\n",
     NULL, NULL, "4:10", "imported with an add, maximum, minimum, or, or and body"},
    {"argmax reduce",
     "    %c = stablehlo.constant dense<0.0> : tensor<f32>\n    %i = stablehlo.constant dense<0> : "
     "tensor<i32>\n    %1:2 = stablehlo.reduce(%arg0 init: %c), (%arg2 init: %i) across dimensions "
     "= [0] : (tensor<4xf32>, tensor<4xi32>, tensor<f32>, tensor<i32>) -> (tensor<f32>, "
     "tensor<i32>)\n     reducer(%a: tensor<f32>, %b: tensor<f32>) (%x: tensor<i32>, %y: "
     "tensor<i32>)  {\n      stablehlo.return %a, %x : tensor<f32>, tensor<i32>\n    }\n",
     NULL, NULL, "5:12", "stablehlo.reduce has one result, not 2"},
    {"argmax reduce, generic",
     "    %c = stablehlo.constant dense<0.0> : tensor<f32>\n    %i = stablehlo.constant dense<0> : "
     "tensor<i32>\n    %1 = \"stablehlo.reduce\"(%arg0, %arg2, %c, %i) ({\n    ^bb0(%a: "
     "tensor<f32>, %x: tensor<i32>, %b: tensor<f32>, %y: tensor<i32>):\n      "
     "\"stablehlo.return\"(%a, %x) : (tensor<f32>, tensor<i32>) -> ()\n    }) {dimensions = "
     "array<i64: 0>} : (tensor<4xf32>, tensor<4xi32>, tensor<f32>, tensor<i32>) -> tensor<f32>\n",
     NULL, NULL, "5:10", "stablehlo.reduce of 2 operands is not supported"},
    {"gather of columns",
     "    %i = stablehlo.constant dense<[[0], [1]]> : tensor<2x1xi32>\n    %1 = "
     "\"stablehlo.gather\"(%arg0, %i) <{dimension_numbers = #stablehlo.gather<offset_dims = [], "
     "collapsed_slice_dims = [0], start_index_map = [0], index_vector_dim = 1>, slice_sizes = "
     "array<i64: 2>}> : (tensor<4xf32>, tensor<2x1xi32>) -> tensor<2xf32>\n",
     NULL, NULL, "4:10", "stablehlo.gather is imported in the form of an embedding lookup"},
    {"gather index vector of 2",
     "    %t = stablehlo.constant dense<1.0> : tensor<4x4xf32>\n    %i = stablehlo.constant "
     "dense<0> : tensor<3x2xi32>\n    %1 = \"stablehlo.gather\"(%t, %i) <{dimension_numbers = "
     "#stablehlo.gather<collapsed_slice_dims = [0, 1], start_index_map = [0, 1], index_vector_dim "
     "= 1>, slice_sizes = array<i64: 1, 1>}> : (tensor<4x4xf32>, tensor<3x2xi32>) -> "
     "tensor<3xf32>\n",
     NULL, NULL, "5:10", "embedding lookup"},
    {"scatter with max",
     "    %i = stablehlo.constant dense<[[0], [1]]> : tensor<2x1xi32>\n    %u = stablehlo.constant "
     "dense<1.0> : tensor<2xf32>\n    %0 = \"stablehlo.scatter\"(%arg0, %i, %u) "
     "<{scatter_dimension_numbers = #stablehlo.scatter<inserted_window_dims = [0], "
     "scatter_dims_to_operand_dims = [0], index_vector_dim = 1>}> ({\n    ^bb0(%a: tensor<f32>, "
     "%b: tensor<f32>):\n      %m = stablehlo.maximum %a, %b : tensor<f32>\n      stablehlo.return "
     "%m : tensor<f32>\n    }) : (tensor<4xf32>, tensor<2x1xi32>, tensor<2xf32>) -> "
     "tensor<4xf32>\n",
     NULL, NULL, "5:10", "stablehlo.scatter is imported with an add body only"},
    {"i64 constant out of range", "    %0 = stablehlo.constant dense<3000000000> : tensor<4xi64>\n",
     NULL, NULL, "3:29", "constant value 3000000000 does not fit in partita's i32"},
    {"literal count", "    %0 = stablehlo.constant dense<[1.0, 2.0, 3.0]> : tensor<4xf32>\n", NULL,
     NULL, "3:35", "the dense literal has 3 elements but its type has 4"},
    {"malformed literal",
     "    %0 = stablehlo.constant dense<[1.0, 2.x, 3.0, 4.0]> : tensor<4xf32>\n", NULL, NULL,
     "3:41", "malformed element '2.x'"},
    {"short hex literal", "    %0 = stablehlo.constant dense<\"0x0000803F0000\"> : tensor<4xf32>\n",
     NULL, NULL, "3:35", "the hexadecimal literal holds 6 bytes, not 4 elements of 4"},
    {"elided blob", "    %0 = stablehlo.constant dense_resource<__elided__> : tensor<4xf32>\n",
     NULL, NULL, "3:10",
     "dense_resource<__elided__> has no values: import with --params-from-constants"},
    {"pad rank",
     "    %c = stablehlo.constant dense<0.0> : tensor<f32>\n    %0 = stablehlo.pad %arg0, %c, low "
     "= [1, 1], high = [0], interior = [0] : (tensor<4xf32>, tensor<f32>) -> tensor<5xf32>\n",
     NULL, NULL, "4:10", "stablehlo.pad needs one padding per dimension (1)"},
    {"broadcast names a dim twice",
     "    %t = stablehlo.constant dense<1.0> : tensor<2x2xf32>\n    %1 = "
     "stablehlo.broadcast_in_dim %t, dims = [1, 1] : (tensor<2x2xf32>) -> tensor<2x2xf32>\n",
     NULL, NULL, "4:10", "broadcast_in_dim names result dimension 1 twice"},
    {"dot_general lists",
     "    %1 = stablehlo.dot_general %arg0, %arg1, contracting_dims = [0] x [] : (tensor<4xf32>, "
     "tensor<4xf32>) -> tensor<f32>\n",
     NULL, NULL, "3:10", "lhs and rhs of equal length"},
    {"iota of pred", "    %1 = stablehlo.iota dim = 0 : tensor<4xi1>\n", NULL, NULL, "3:10",
     "stablehlo.iota: 'iota' makes f32 or i32 values, not pred"},
    {"slice without limits",
     "    %0 = \"stablehlo.slice\"(%arg0) {start_indices = array<i64: 0>} : (tensor<4xf32>) -> "
     "tensor<4xf32>\n",
     NULL, NULL, "3:10", "stablehlo.slice needs the attribute 'limit_indices'"},
    {"region return at top", "    stablehlo.return %arg0 : tensor<4xf32>\n", NULL, NULL, "3:5",
     "stablehlo.return outside a region"},
    {"op after return", "    return %arg0 : tensor<4xf32>\n", NULL, NULL, "4:5",
     "an operation after the return of @main"},
    {"returns the wrong type", NULL,
     "module {\n  func.func @main(%arg0: tensor<4xf32>) -> tensor<3xf32> {\n    return %arg0 : "
     "tensor<4xf32>\n  }\n}\n",
     NULL, "3:12", "the returned value's type differs from the function's result 0"},
    {"no return", NULL,
     "module {\n  func.func @main(%arg0: tensor<4xf32>) -> tensor<4xf32> {\n  }\n}\n", NULL, "2:13",
     "@main has no return"},
    {"unterminated function", NULL,
     "module {\n  func.func @main(%arg0: tensor<4xf32>) -> tensor<4xf32> {\n    %0 = "
     "stablehlo.negate %arg0 : tensor<4xf32>\n",
     NULL, "4:1", "expected '}' to close @main, found the end of the file"},
    {"unterminated string", NULL,
     "module {\n  func.func @main(%arg0: tensor<4xf32> {jax.arg_info = \"x\n", NULL, "2:56",
     "unterminated string"},
    {"garbage at top", NULL, "hello\n", NULL, "1:1", "expected a module or func.func"},
    {"no function", NULL, "module @empty {\n}\n", NULL, "3:1", "no func.func in the input"},
    {"generic module", NULL, "\"builtin.module\"() ({\n}) : () -> ()\n", NULL, "1:1",
     "the generic form of a module or function is not imported"},
    {"two public functions", NULL,
     "func.func @f(%a: tensor<f32>) -> tensor<f32> {\n  return %a : tensor<f32>\n}\nfunc.func "
     "@g(%a: tensor<f32>) -> tensor<f32> {\n  return %a : tensor<f32>\n}\n",
     NULL, "1:1", "no @main and 2 public functions: choose the entry with --func"},
    {"call of an unknown function",
     "    %0 = call @nowhere(%arg0) : (tensor<4xf32>) -> tensor<4xf32>\n", NULL, NULL, "3:10",
     "@nowhere"},
    {"params out of range", "    %0 = stablehlo.negate %arg0 : tensor<4xf32>\n", NULL, "1,7",
     "2:20", "--params names argument 7, but @main has 3"},
};
#define NREJECTS ((int)(sizeof rejects / sizeof rejects[0]))

START_TEST(rejection) {
  const reject_case *c = &rejects[_i];
  char text[4096];
  if (c->body)
    snprintf(text, sizeof text, "%s%s%s", HEAD, c->body, TAIL);
  else
    snprintf(text, sizeof text, "%s", c->whole);
  pt_diag *d = pt_diag_create(NULL);
  pt_import_opts o = {.params = c->params};
  pt_module *m = import_text(text, "test.mlir", &o, d);
  ck_assert_msg(!m, "%s: imported", c->name);
  ck_assert_msg(pt_diag_error_count(d) == 1, "%s: %d errors", c->name, pt_diag_error_count(d));
  const char *msg = NULL;
  for (int i = 0; i < pt_diag_count(d) && !msg; i++)
    if (strstr(pt_diag_message(d, i), ": error: "))
      msg = pt_diag_message(d, i);
  char where[64];
  snprintf(where, sizeof where, "test.mlir:%s: error: ", c->where);
  ck_assert_msg(strncmp(msg, where, strlen(where)) == 0 && strstr(msg, c->want),
                "%s: got '%s', want '%s...%s'", c->name, msg, where, c->want);
  pt_module_destroy(m);
  pt_diag_destroy(d);
}
END_TEST

/* Nesting is bounded, whatever the input: attributes 100 lists deep and
 * regions 100 deep are errors at the 65th, not a stack overflow. */
START_TEST(deep_nesting) {
  for (int kind = 0; kind < 2; kind++) {
    char *text = pt_malloc(8192);
    size_t n = (size_t)snprintf(text, 8192, "%s    %%0 = %s", HEAD,
                                kind ? "" : "\"stablehlo.negate\"(%arg0) {a = ");
    for (int i = 0; i < 100; i++)
      n += (size_t)snprintf(text + n, 8192 - n, "%s", kind ? "\"stablehlo.reduce\"() ({\n" : "[");
    snprintf(text + n, 8192 - n, "\n");
    pt_diag *d = pt_diag_create(NULL);
    ck_assert_ptr_null(import_text(text, "deep.mlir", NULL, d));
    ck_assert_int_eq(pt_diag_error_count(d), 1);
    ck_assert_msg(strstr(pt_diag_message(d, 0), kind ? "regions nested more than 64 deep"
                                                     : "attributes nested more than 64 deep"),
                  "%s", pt_diag_message(d, 0));
    pt_diag_destroy(d);
    pt_free(text);
  }
}
END_TEST

/* ---- mutations ------------------------------------------------------ */

/* Mutations of every fixture (a byte replaced by a character that matters
 * to the syntax, a span deleted or repeated, the text cut short, a number
 * made large) either import into a module that verifies or give located
 * errors; never a crash (under ASan/UBSan in CI), never an error without a
 * position in the file. */
START_TEST(mutations_never_crash) {
  static const char syntax[] = "%@#<>[](){}:,=x0123456789-+.\"\n ^!?e";
  char **texts = pt_calloc((size_t)nfixtures + 3, sizeof *texts);
  int nt = 0;
  for (int i = 0; i < nfixtures; i++)
    texts[nt++] = read_rel(fixtures[i]);
  texts[nt++] = read_rel("examples/mlp.mlir");
  texts[nt++] = read_rel("tests/data/import/transformer_block.mlir");
  texts[nt++] = read_rel("tests/data/import/shardy.mlir");
  uint64_t rnd = 16;
  int imported = 0, rejected = 0;
  const int N = 3000;
  for (int k = 0; k < N; k++) {
    const char *src = texts[pt_test_rnd(&rnd, nt)];
    size_t n = strlen(src);
    char *t = pt_malloc(2 * n + 64);
    memcpy(t, src, n);
    int muts = 1 + pt_test_rnd(&rnd, 3);
    for (int j = 0; j < muts && n > 1; j++) {
      size_t at = (size_t)pt_test_rnd(&rnd, (int)n);
      size_t len = 1 + (size_t)pt_test_rnd(&rnd, 24);
      if (at + len > n)
        len = n - at;
      switch (pt_test_rnd(&rnd, 6)) {
      case 0:
        t[at] = syntax[pt_test_rnd(&rnd, (int)sizeof syntax - 1)];
        break;
      case 1: /* delete */
        memmove(t + at, t + at + len, n - at - len);
        n -= len;
        break;
      case 2: /* repeat */
        if (n + len < 2 * n + 60) {
          memmove(t + at + len, t + at, n - at);
          n += len;
        }
        break;
      case 3: /* cut */
        n = at + 1;
        break;
      case 4: /* a large number */
        if (n + 8 < 2 * n + 60) {
          memmove(t + at + 8, t + at, n - at);
          memcpy(t + at, "99999999", 8);
          n += 8;
        }
        break;
      default:
        t[at] = (char)pt_test_rnd(&rnd, 256);
        break;
      }
    }
    pt_diag *d = pt_diag_create(NULL);
    /* not NUL-terminated: the importer must stop at n */
    pt_module *m = pt_import_parse(t, n, "fuzz.mlir", NULL, d);
    if (m) {
      imported++;
      ck_assert_msg(pt_verify_module(m, d) == PT_OK, "mutation %d: imported but invalid", k);
    } else {
      rejected++;
      ck_assert_msg(pt_diag_error_count(d) >= 1, "mutation %d: rejected without an error", k);
      for (int i = 0; i < pt_diag_count(d); i++)
        if (strstr(pt_diag_message(d, i), ": error: "))
          ck_assert_msg(pt_diag_loc(d, i).line >= 1 || strstr(pt_diag_message(d, i), "fuzz.mlir"),
                        "mutation %d: an error without a position: %s", k, pt_diag_message(d, i));
    }
    pt_module_destroy(m);
    pt_diag_destroy(d);
    pt_free(t);
  }
  fprintf(stderr, "import: %d mutations: %d imported, %d rejected\n", N, imported, rejected);
  ck_assert_int_gt(imported, 0);
  ck_assert_int_gt(rejected, N / 2);
  for (int i = 0; i < nt; i++)
    pt_free(texts[i]);
  pt_free(texts);
}
END_TEST

/* ---- the command ---------------------------------------------------- */

static char tmpdir[256];

/* Creates tmpdir/name with the given text. */
static void write_tmp(const char *name, const char *text) {
  char path[400];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

START_TEST(cli_import) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/partita-import-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  /* import, then check and partition the output */
  pt_test_result r =
      pt_test_partita_run(tmpdir, "import examples/mlp.mlir --params 2-5 -o $T/mlp.pir");
  ck_assert_msg(r.status == 0, "import failed: %s", r.err);
  ck_assert_ptr_nonnull(strstr(r.err, "@loss has 4 params and 2 inputs"));
  pt_test_result_free(&r);
  r = pt_test_partita_run(tmpdir, "check $T/mlp.pir");
  ck_assert_msg(r.status == 0 && strstr(r.out, "ok (2 functions"), "check: %s%s", r.out, r.err);
  pt_test_result_free(&r);
  r = pt_test_partita_run(tmpdir, "partition $T/mlp.pir --tactics examples/mlp.bp_mp.yaml");
  ck_assert_msg(r.status == 0, "partition: %s", r.err);
  pt_test_result_free(&r);
  /* to stdout; --names; --func */
  write_tmp("names", "# the MLP's arguments\ninputs.x\ninputs.y\nlayer1.w\n");
  r = pt_test_partita_run(tmpdir, "import examples/mlp.mlir --func main --names $T/names");
  ck_assert_msg(r.status == 0, "import: %s", r.err);
  ck_assert_ptr_nonnull(strstr(r.out, "input %inputs.x: f32[64,1024]"));
  ck_assert_ptr_nonnull(strstr(r.out, "input %layer1.w: f32[1024,1024]"));
  ck_assert_ptr_nonnull(strstr(r.out, "input %b1: f32[1024]"));
  pt_test_result_free(&r);
  /* a bad name in the names file, located */
  write_tmp("bad", "x\n\ny z\n");
  r = pt_test_partita_run(tmpdir, "import examples/mlp.mlir --names $T/bad");
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "bad:3:2: error: 'y z' is not a partita name"), "%s", r.err);
  pt_test_result_free(&r);
  /* too many names: at the first one too many */
  write_tmp("many", "n0\nn1\nn2\nn3\nn4\nn5\nn6\n");
  r = pt_test_partita_run(tmpdir, "import examples/mlp.mlir --names $T/many");
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "many:7:1: error: 7 names for the 6 arguments of @main"), "%s",
                r.err);
  pt_test_result_free(&r);
  /* an unsupported op: one located error with the source line, exit 1 */
  write_tmp("sort.mlir",
            "module {\n  func.func @main(%arg0: tensor<4xf32>) -> tensor<4xf32> {\n"
            "    %0 = \"stablehlo.sort\"(%arg0) ({}) : (tensor<4xf32>) -> tensor<4xf32>\n"
            "    return %0 : tensor<4xf32>\n  }\n}\n");
  r = pt_test_partita_run(tmpdir, "import $T/sort.mlir");
  ck_assert_int_eq(r.status, 1);
  ck_assert_msg(strstr(r.err, "sort.mlir:3:10: error: stablehlo.sort is not supported") &&
                    strstr(r.err, "^"),
                "%s", r.err);
  pt_test_result_free(&r);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(cli_usage) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/partita-import-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  static const pt_test_usage_case cases[] = {
      {"no file", "import", 2, "partita import: error: no input file"},
      {"two files", "import a.mlir b.mlir", 2, "one input file at a time"},
      {"bad params", "import examples/mlp.mlir --params 1,x", 2,
       "--params takes indices and ranges"},
      {"downward range", "import examples/mlp.mlir --params 5-2", 2,
       "a --params range runs downward"},
      {"unknown option", "import examples/mlp.mlir --bogus", 2, "unknown option"},
      {"missing file", "import $T/none.mlir", 1, "none.mlir: error: cannot open"},
      {"missing names file", "import examples/mlp.mlir --names $T/none", 1,
       "none: error: cannot open"},
      {"no such function", "import examples/mlp.mlir --func nope", 1,
       "the input has no function @nope; it has: @main @relu"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    pt_test_check_usage(tmpdir, &cases[i]);
  pt_test_result r = pt_test_partita_run(tmpdir, "import --help");
  ck_assert_int_eq(r.status, 0);
  ck_assert_ptr_nonnull(strstr(r.out, "--params-from-constants"));
  pt_test_result_free(&r);
  r = pt_test_partita_run(tmpdir, "help");
  ck_assert_ptr_nonnull(strstr(r.out, "import"));
  pt_test_result_free(&r);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("import");
  TCase *tc = tcase_create("import");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, op_fixture, 0, nfixtures);
  tcase_add_test(tc, every_op_has_a_fixture);
  tcase_add_test(tc, mlp_matches_example);
  tcase_add_test(tc, transformer_block_matches_example);
  tcase_add_test(tc, params_from_constants);
  tcase_add_test(tc, shardy_module);
  tcase_add_loop_test(tc, rejection, 0, NREJECTS);
  tcase_add_test(tc, deep_nesting);
  tcase_add_test(tc, mutations_never_crash);
  tcase_add_test(tc, cli_import);
  tcase_add_test(tc, cli_usage);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  list_fixtures();
  int rc = pt_test_main(suite());
  for (int i = 0; i < nfixtures; i++)
    pt_free(fixtures[i]);
  pt_free(fixtures);
  return rc;
}
