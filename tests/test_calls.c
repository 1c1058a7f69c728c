/* Functions and calls: the text form round-trips, the verifier holds a call
 * to its callee's signature (table-driven bad input, each located), the
 * interpreter runs calls, and inlining (passes/inline.c) gives the same
 * results bit for bit, names values after the call site and keeps both
 * locations. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"
#include "interp.h"
#include "passes.h"
#include "testutil.h"

/* Two layers of a block that itself calls @mlp twice and returns two
 * results; the layers are named `layers.N` as the models are. Line numbers
 * matter to the location tests: the call of @mlp as %mlp2 is on line 9,
 * the tanh of @mlp on line 4, the second call of @block on line 18. */
static const char *const TWO_LAYERS =
    "// two layers of a block\n"                                                      /* 1 */
    "func @mlp(input %x: f32[4,8], param %w: f32[8,8]) -> (out: f32[4,8]) {\n"        /* 2 */
    "  %h = dot %x, %w {lhs_contract = [1], rhs_contract = [0]} : f32[4,8]\n"         /* 3 */
    "  %a = tanh %h : f32[4,8]\n"                                                     /* 4 */
    "  return %a\n"                                                                   /* 5 */
    "}\n"                                                                             /* 6 */
    "func @block(input %x: f32[4,8], param %w1: f32[8,8], param %w2: f32[8,8]) -> "
    "(out: f32[4,8], aux: f32[]) {\n"                                                 /* 7 */
    "  %mlp = call @mlp(%x, %w1) : f32[4,8]\n"                                        /* 8 */
    "  %mlp2 = call @mlp(%mlp, %w2) : f32[4,8]\n"                                     /* 9 */
    "  %out = add %x, %mlp2 : f32[4,8]\n"                                             /* 10 */
    "  %s = reduce_sum %out {dims = [0, 1]} : f32[]\n"                                /* 11 */
    "  return %out, %s\n"                                                             /* 12 */
    "}\n"                                                                             /* 13 */
    "func @loss(input %x: f32[4,8], param %layers.0.w1: f32[8,8], param %layers.0.w2: "
    "f32[8,8],\n"                                                                     /* 14 */
    "           param %layers.1.w1: f32[8,8], param %layers.1.w2: f32[8,8]) -> "
    "(loss: f32[]) {\n"                                                               /* 15 */
    "  %layers.0, %aux0 = call @block(%x, %layers.0.w1, %layers.0.w2) : f32[4,8], "
    "f32[]\n"                                                                         /* 16 */
    "  // the second layer\n"                                                         /* 17 */
    "  %layers.1, %aux1 = call @block(%layers.0, %layers.1.w1, %layers.1.w2) : "
    "f32[4,8], f32[]\n"                                                               /* 18 */
    "  %sq = mul %layers.1, %layers.1 : f32[4,8]\n"                                   /* 19 */
    "  %l = reduce_sum %sq {dims = [0, 1]} : f32[]\n"                                 /* 20 */
    "  %loss = add %l, %aux1 : f32[]\n"                                               /* 21 */
    "  return %loss\n"                                                                /* 22 */
    "}\n";

static pt_value *find_value(const pt_func *f, const char *name) {
  for (int i = 0; i < f->nops; i++)
    for (int r = 0; r < pt_op_nresults(f->ops[i]); r++) {
      pt_value *v = pt_op_result(f->ops[i], r);
      if (v->name && strcmp(v->name, name) == 0)
        return v;
    }
  return NULL;
}

/* Runs f on arguments initialised from seed 1; the loss's bits. */
static uint32_t run_loss(const pt_func *f) {
  pt_tensor **args = pt_calloc((size_t)f->nargs, sizeof *args);
  for (int i = 0; i < f->nargs; i++) {
    pt_init_spec s = pt_init_spec_for(f, f->args[i], 1);
    args[i] = pt_init_tensor(&s, f->args[i]->type);
  }
  pt_tensor *res[4] = {0};
  pt_diag *d = pt_diag_create(stderr);
  ck_assert_int_eq(pt_interp_run(f, args, res, d), PT_OK);
  float v = ((const float *)res[0]->data)[0];
  ck_assert(isfinite(v));
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  for (int i = 0; i < f->nresults; i++)
    pt_tensor_destroy(res[i]);
  for (int i = 0; i < f->nargs; i++)
    pt_tensor_destroy(args[i]);
  pt_free(args);
  pt_diag_destroy(d);
  return bits;
}

/* The printer writes calls (one and several results) as the parser reads
 * them: print, parse, print gives the same text. */
START_TEST(calls_round_trip) {
  pt_module *m = pt_test_parse_ok(TWO_LAYERS);
  char *a = pt_print_module_str(m);
  ck_assert_ptr_nonnull(strstr(a, "%layers.1, %aux1 = call @block(%layers.0, %layers.1.w1, "
                                  "%layers.1.w2) : f32[4,8], f32[]\n"));
  pt_module *m2 = pt_test_parse_ok(a);
  char *b = pt_print_module_str(m2);
  ck_assert_str_eq(a, b);
  /* the inlined module prints and parses back too: names with '/' */
  pt_diag *d = pt_diag_create(stderr);
  ck_assert_int_eq(pt_pass_inline(m2, NULL, d), PT_OK);
  char *c = pt_print_module_str(m2);
  ck_assert_ptr_nonnull(strstr(c, "%layers.1/mlp2/h = dot %layers.1/mlp, %layers.1.w2"));
  pt_module *m3 = pt_test_parse_ok(c);
  char *e = pt_print_module_str(m3);
  ck_assert_str_eq(c, e);
  pt_free(a);
  pt_free(b);
  pt_free(c);
  pt_free(e);
  pt_module_destroy(m);
  pt_module_destroy(m2);
  pt_module_destroy(m3);
  pt_diag_destroy(d);
}
END_TEST

/* The interpreter runs calls; inlining changes nothing it computes. */
START_TEST(inlining_keeps_results) {
  pt_module *m = pt_test_parse_ok(TWO_LAYERS);
  uint32_t with_calls = run_loss(pt_module_find_func(m, "loss"));
  pt_diag *d = pt_diag_create(stderr);
  ck_assert_int_eq(pt_pass_inline(m, NULL, d), PT_OK);
  ck_assert_int_eq(pt_diag_count(d), 0); /* every function is called or the entry */
  ck_assert_int_eq(pt_verify_module(m, d), PT_OK);
  const pt_func *f = pt_module_find_func(m, "loss");
  for (int i = 0; i < f->nops; i++)
    ck_assert_int_ne(f->ops[i]->code, PT_OP_CALL);
  /* 2 layers x (2 x (dot, tanh) + add + reduce_sum) + mul, reduce_sum, add */
  ck_assert_int_eq(f->nops, 2 * 6 + 3);
  ck_assert_uint_eq(run_loss(f), with_calls);
  /* the callees stay, flat, and still run alone */
  const pt_func *block = pt_module_find_func(m, "block");
  ck_assert_ptr_nonnull(block);
  ck_assert_int_eq(block->nops, 6);
  pt_module_destroy(m);
  pt_diag_destroy(d);
}
END_TEST

/* Inlined values are named after the call site; a call's results keep the
 * call's names; every copied op keeps its callee location and the call's. */
START_TEST(inlined_names_and_locations) {
  pt_module *m = pt_test_parse_ok(TWO_LAYERS);
  pt_diag *d = pt_diag_create(NULL);
  ck_assert_int_eq(pt_pass_inline(m, NULL, d), PT_OK);
  const pt_func *f = pt_module_find_func(m, "loss");
  const char *names[] = {"layers.0/mlp/h", "layers.0/mlp", "layers.0/mlp2/h",
                         "layers.0/mlp2", "layers.0",      "layers.1/mlp/h",
                         "aux1",          "aux0",          "layers.1"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    ck_assert_msg(find_value(f, names[i]), "no value named %s after inlining", names[i]);
  ck_assert_ptr_null(find_value(f, "layers.0/out")); /* it is layers.0 */
  ck_assert_ptr_null(find_value(f, "layers.1/s"));   /* it is aux1 */
  /* the tanh of @mlp (line 4) in the second layer's second MLP: its chain
   * leads through the call in @block (line 9) to the call in @loss (18) */
  const pt_value *v = find_value(f, "layers.1/mlp2");
  ck_assert_int_eq(v->def->code, PT_OP_TANH);
  pt_loc loc = v->def->loc;
  ck_assert_int_eq(loc.line, 4);
  ck_assert_ptr_nonnull(loc.via);
  ck_assert_int_eq(loc.via->line, 9);
  ck_assert_ptr_nonnull(loc.via->via);
  ck_assert_int_eq(loc.via->via->line, 18);
  ck_assert_ptr_null(loc.via->via->via);
  char buf[256];
  ck_assert_str_eq(pt_loc_str(loc, buf, sizeof buf),
                   "test.pir:4:8 (inlined at test.pir:9:11, test.pir:18:22)");
  /* a message there is followed by a note at each call, innermost first */
  pt_diag_error(d, loc, "something about the tanh");
  ck_assert_int_eq(pt_diag_count(d), 3);
  ck_assert_str_eq(pt_diag_message(d, 0), "test.pir:4:8: error: something about the tanh");
  ck_assert_str_eq(pt_diag_message(d, 1), "test.pir:9:11: note: inlined from this call");
  ck_assert_str_eq(pt_diag_message(d, 2), "test.pir:18:22: note: inlined from this call");
  ck_assert_int_eq(pt_diag_error_count(d), 1);
  ck_assert_ptr_null(pt_diag_loc(d, 0).via); /* not kept past the module */
  pt_module_destroy(m);
  pt_diag_destroy(d);
}
END_TEST

/* A callee that is never called is a warning, not an error; functions of
 * a module without calls draw none (loss and loss_grad side by side). */
START_TEST(uncalled_function_warns) {
  char *text = pt_malloc(strlen(TWO_LAYERS) + 200);
  strcpy(text, TWO_LAYERS);
  strcat(text, "func @unused(input %x: f32[2]) -> (y: f32[2]) {\n  return %x\n}\n");
  pt_module *m = pt_test_parse_ok(text);
  pt_diag *d = pt_diag_create(NULL);
  ck_assert_int_eq(pt_pass_inline(m, NULL, d), PT_OK);
  ck_assert_int_eq(pt_diag_error_count(d), 0);
  ck_assert_int_eq(pt_diag_count(d), 1);
  ck_assert_str_eq(pt_diag_message(d, 0),
                   "test.pir:24:6: warning: function '@unused' is never called (the entry is "
                   "'@loss')");
  pt_module_destroy(m);
  pt_diag_clear(d);
  m = pt_test_parse_ok("func @loss(input %x: f32[2]) -> (y: f32[2]) {\n  return %x\n}\n"
                       "func @other(input %x: f32[2]) -> (y: f32[2]) {\n  return %x\n}\n");
  ck_assert_int_eq(pt_pass_inline(m, NULL, d), PT_OK);
  ck_assert_int_eq(pt_diag_count(d), 0);
  pt_module_destroy(m);
  pt_diag_destroy(d);
  pt_free(text);
}
END_TEST

/* Autodiff refuses a function that still holds calls, naming the call. */
START_TEST(autodiff_wants_inlined_calls) {
  pt_module *m = pt_test_parse_ok(TWO_LAYERS);
  pt_diag *d = pt_diag_create(NULL);
  pt_autodiff_opts o = {.func = "loss"};
  ck_assert_int_eq(pt_pass_autodiff(m, &o, NULL, d), PT_ERR);
  ck_assert_msg(pt_diag_count(d) >= 1, "no message");
  ck_assert_ptr_nonnull(strstr(pt_diag_message(d, 0), "test.pir:16:22: error: cannot "
                                                      "differentiate a call of '@block'"));
  pt_diag_clear(d);
  ck_assert_int_eq(pt_pass_inline(m, NULL, d), PT_OK);
  ck_assert_int_eq(pt_pass_autodiff(m, &o, NULL, d), PT_OK);
  pt_module_destroy(m);
  pt_diag_destroy(d);
}
END_TEST

/* ---- bad calls: one located message each ------------------------------ */

#define CALLEE                                                                          \
  "func @g(input %x: f32[2], param %w: f32[2]) -> (y: f32[2]) {\n" /* line 1 */         \
  "  %y = mul %x, %w : f32[2]\n"                                   /* line 2 */         \
  "  return %y\n"                                                  /* line 3 */         \
  "}\n"                                                            /* line 4 */
#define CALLER "func @loss(input %x: f32[2], param %w: f32[2], state %s: f32[2]) -> (r: f32[2]) {\n"
/* the caller's first op is on line 6 */

typedef struct {
  const char *name;
  const char *text;
  const char *want;
  int line, col;
} bad_call;

static const bad_call bad_calls[] = {
    {"unknown function", CALLEE CALLER "  %r = call @h(%x, %w) : f32[2]\n  return %r\n}\n",
     "call of unknown function '@h' (did you mean '@g'?)", 6, 8},
    {"unknown function, nothing near", CALLEE CALLER
     "  %r = call @attention(%x, %w) : f32[2]\n  return %r\n}\n",
     "call of unknown function '@attention'", 6, 8},
    {"too few arguments", CALLEE CALLER "  %r = call @g(%x) : f32[2]\n  return %r\n}\n",
     "'@g' takes 2 arguments but the call passes 1", 6, 8},
    {"too many arguments", CALLEE CALLER
     "  %r = call @g(%x, %w, %x) : f32[2]\n  return %r\n}\n",
     "'@g' takes 2 arguments but the call passes 3", 6, 8},
    {"wrong argument shape", CALLEE
     "func @loss(input %x: f32[3], param %w: f32[2]) -> (r: f32[2]) {\n"
     "  %r = call @g(%x, %w) : f32[2]\n  return %r\n}\n",
     "argument 1 of '@g' (%x) is f32[2] but the call passes f32[3]", 6, 8},
    {"param given a computed value", CALLEE CALLER
     "  %n = neg %w : f32[2]\n  %r = call @g(%x, %n) : f32[2]\n  return %r\n}\n",
     "argument 2 of '@g' (%w) is a param: the call must pass a param argument of '@loss', not a "
     "computed value",
     7, 8},
    {"param given an input", CALLEE CALLER "  %r = call @g(%x, %x) : f32[2]\n  return %r\n}\n",
     "argument 2 of '@g' (%w) is a param: the call must pass a param argument of '@loss', not an "
     "input",
     6, 8},
    {"param given a state", CALLEE CALLER "  %r = call @g(%x, %s) : f32[2]\n  return %r\n}\n",
     "not a state", 6, 8},
    {"too many results", CALLEE CALLER
     "  %r, %q = call @g(%x, %w) : f32[2], f32[2]\n  return %r\n}\n",
     "'@g' has 1 result but the call names 2", 6, 12},
    {"wrong result type", CALLEE
     "func @loss(input %x: f32[2], param %w: f32[2]) -> (r: f32[3]) {\n"
     "  %r = call @g(%x, %w) : f32[3]\n  return %r\n}\n",
     "result 1 of '@g' (y) is f32[2] but the call declares f32[3]", 6, 3},
    {"fewer types than results", CALLEE CALLER
     "  %r, %q = call @g(%x, %w) : f32[2]\n  return %r\n}\n",
     "expected ',' and the type of the next result", 7, 3},
    {"more types than results", CALLEE CALLER
     "  %r = call @g(%x, %w) : f32[2], f32[2]\n  return %r\n}\n",
     "the call names 1 result but gives more types", 6, 32},
    {"callee without @", CALLEE CALLER "  %r = call g(%x, %w) : f32[2]\n  return %r\n}\n",
     "expected the function to call, such as @block", 6, 13},
    {"call without parentheses", CALLEE CALLER "  %r = call @g %x, %w : f32[2]\n  return %r\n}\n",
     "expected '(' to start the call's operands", 6, 16},
    {"several results of a plain op", CALLEE CALLER "  %r, %q = neg %x : f32[2]\n  return %r\n}\n",
     "'neg' has one result; only a call may have several", 6, 7},
    {"call of an undefined value", CALLEE CALLER "  %r = call @g(%z, %w) : f32[2]\n  return %r\n}\n",
     "use of undefined value '%z'", 6, 16},
    {"direct recursion",
     "func @loss(input %x: f32[2]) -> (r: f32[2]) {\n  %r = call @loss(%x) : f32[2]\n"
     "  return %r\n}\n",
     "recursive call: @loss calls @loss", 2, 8},
    {"recursion through another",
     "func @a(input %x: f32[2]) -> (r: f32[2]) {\n  %r = call @b(%x) : f32[2]\n  return %r\n}\n"
     "func @b(input %x: f32[2]) -> (r: f32[2]) {\n  %r = call @a(%x) : f32[2]\n  return %r\n}\n",
     "recursive call: @a calls @b calls @a", 6, 8},
    {"value name with //", "func @loss(input %x: f32[2]) -> (r: f32[2]) {\n  %a//b = neg %x : "
     "f32[2]\n  return %r\n}\n",
     "expected '=' after the result name", 3, 3},
};

START_TEST(bad_call_case) {
  const bad_call *c = &bad_calls[_i];
  pt_diag *d = pt_diag_create(NULL);
  pt_module *m = pt_parse(c->text, strlen(c->text), "test.pir", d);
  if (m) {
    pt_verify_module(m, d);
    pt_module_destroy(m);
  }
  ck_assert_msg(pt_diag_error_count(d) == 1, "case '%s': %d errors, expected one (%s)", c->name,
                pt_diag_error_count(d), pt_diag_count(d) ? pt_diag_message(d, 0) : "none");
  const char *msg = pt_diag_message(d, 0);
  ck_assert_msg(strstr(msg, c->want), "case '%s': message\n  %s\nlacks\n  %s", c->name, msg,
                c->want);
  pt_loc loc = pt_diag_loc(d, 0);
  ck_assert_msg(loc.line == c->line && loc.col == c->col,
                "case '%s': located at %d:%d, expected %d:%d (%s)", c->name, loc.line, loc.col,
                c->line, c->col, msg);
  pt_diag_destroy(d);
}
END_TEST

/* `partita check` on a module with calls: the summary counts calls and the
 * inlined ops; an unused callee is a warning with exit 0; a bad call is
 * exit 1 with the located message; `run` runs the module with calls. */
START_TEST(cli_on_calls) {
  char tmp[] = "/tmp/partita-calls-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(tmp));
  char path[512];
  snprintf(path, sizeof path, "%s/two.pir", tmp);
  FILE *f = fopen(path, "w");
  fputs(TWO_LAYERS, f);
  fputs("func @unused(input %x: f32[2]) -> (y: f32[2]) {\n  return %x\n}\n", f);
  fclose(f);
  snprintf(path, sizeof path, "%s/bad.pir", tmp);
  f = fopen(path, "w");
  fputs(CALLEE CALLER "  %r = call @g(%x) : f32[2]\n  return %r\n}\n", f);
  fclose(f);
  pt_test_result r = pt_test_partita_run(tmp, "check $T/two.pir");
  ck_assert_msg(r.status == 0, "check: %s", r.err);
  ck_assert_ptr_nonnull(strstr(r.out, "two.pir: ok (4 functions, 11 ops, 4 calls; @loss has 15 "
                                      "ops inlined)"));
  ck_assert_ptr_nonnull(strstr(r.err, "two.pir:24:6: warning: function '@unused' is never "
                                      "called"));
  pt_test_result_free(&r);
  r = pt_test_partita_run(tmp, "check $T/bad.pir");
  ck_assert_int_eq(r.status, 1);
  ck_assert_ptr_nonnull(strstr(r.err, "bad.pir:6:8: error: '@g' takes 2 arguments but the call "
                                      "passes 1"));
  pt_test_result_free(&r);
  r = pt_test_partita_run(tmp, "run $T/two.pir --seed 1");
  ck_assert_msg(r.status == 0, "run: %s", r.err);
  ck_assert_ptr_nonnull(strstr(r.out, "loss"));
  pt_test_result_free(&r);
  /* fmt keeps the calls as written */
  r = pt_test_partita_run(tmp, "fmt $T/two.pir");
  ck_assert_int_eq(r.status, 0);
  ck_assert_ptr_nonnull(strstr(r.out, "= call @block("));
  pt_test_result_free(&r);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Random byte edits of a module with calls never crash the parser, the
 * verifier or inlining; whatever verifies inlines into what verifies. */
START_TEST(mutated_calls_never_crash) {
  static const char alphabet[] = "%@(),:=[]{}0123456789abcdefgxyz/. \n";
  uint64_t state = 12;
  size_t n = strlen(TWO_LAYERS);
  char *text = pt_malloc(n + 1);
  int verified = 0;
  for (int k = 0; k < 1500; k++) {
    memcpy(text, TWO_LAYERS, n + 1);
    for (int e = 1 + pt_test_rnd(&state, 3); e > 0; e--)
      text[pt_test_rnd(&state, (int)n)] = alphabet[pt_test_rnd(&state, (int)sizeof alphabet - 1)];
    pt_diag *d = pt_diag_create(NULL);
    pt_module *m = pt_parse(text, n, "test.pir", d);
    if (m && pt_verify_module(m, d) == PT_OK) {
      verified++;
      ck_assert_msg(pt_pass_inline(m, NULL, d) == PT_OK, "mutation %d: inlining failed", k);
      ck_assert_msg(pt_verify_module(m, d) == PT_OK, "mutation %d: inlined module invalid: %s",
                    k, pt_diag_count(d) ? pt_diag_message(d, pt_diag_count(d) - 1) : "");
    }
    pt_module_destroy(m);
    pt_diag_destroy(d);
  }
  ck_assert_int_gt(verified, 0);
  pt_free(text);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("calls");
  TCase *tc = tcase_create("calls");
  tcase_add_test(tc, calls_round_trip);
  tcase_add_test(tc, inlining_keeps_results);
  tcase_add_test(tc, inlined_names_and_locations);
  tcase_add_test(tc, uncalled_function_warns);
  tcase_add_test(tc, autodiff_wants_inlined_calls);
  tcase_add_loop_test(tc, bad_call_case, 0, (int)(sizeof bad_calls / sizeof bad_calls[0]));
  tcase_add_test(tc, cli_on_calls);
  tcase_add_test(tc, mutated_calls_never_crash);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return pt_test_main(suite()); }
