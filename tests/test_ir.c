/* The IR: parser/printer round trip on every example and on a module with
 * every op, structural equality after a round trip, the builder API, type
 * inference, comments and canonical formatting. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = pt_malloc((size_t)n + 1);
  ck_assert_int_eq(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = 0;
  fclose(f);
  return s;
}

static bool aval_equal(const pt_aval *a, const pt_aval *b) {
  if (a->kind != b->kind)
    return false;
  switch (a->kind) {
  case PT_AV_INT:
    return a->i == b->i;
  case PT_AV_FLOAT:
    return a->f == b->f || (isnan(a->f) && isnan(b->f));
  case PT_AV_IDENT:
    return strcmp(a->s, b->s) == 0;
  case PT_AV_LIST:
    if (a->n != b->n)
      return false;
    for (int i = 0; i < a->n; i++)
      if (!aval_equal(&a->items[i], &b->items[i]))
        return false;
    return true;
  }
  return false;
}

/* Position of a value in its function: args first, then op results. */
static int vpos(const pt_value *v) {
  if (!v->def)
    return v->arg_index;
  const pt_func *f = v->def->func;
  for (int i = 0; i < f->nops; i++)
    if (f->ops[i] == v->def)
      return f->nargs + i;
  return -1;
}

static bool names_equal(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0) || !a || !b;
}

/* Structural equality: same functions, arguments, ops, attributes, types,
 * names (where both have them), results and comments. */
static void assert_modules_equal(const pt_module *a, const pt_module *b, const char *what) {
  ck_assert_msg(a->nfuncs == b->nfuncs, "%s: function counts differ", what);
  ck_assert_msg(a->mesh.naxes == b->mesh.naxes, "%s: meshes differ", what);
  for (int i = 0; i < a->mesh.naxes; i++) {
    ck_assert_str_eq(a->mesh.names[i], b->mesh.names[i]);
    ck_assert_int_eq(a->mesh.sizes[i], b->mesh.sizes[i]);
  }
  for (int fi = 0; fi < a->nfuncs; fi++) {
    const pt_func *f = a->funcs[fi], *g = b->funcs[fi];
    ck_assert_str_eq(f->name, g->name);
    ck_assert_msg(f->nargs == g->nargs && f->nops == g->nops && f->nresults == g->nresults,
                  "%s: @%s differs in size", what, f->name);
    for (int i = 0; i < f->nargs; i++) {
      ck_assert_str_eq(f->args[i]->name, g->args[i]->name);
      ck_assert_int_eq(f->args[i]->role, g->args[i]->role);
      ck_assert(pt_type_equal(&f->args[i]->type, &g->args[i]->type));
    }
    for (int i = 0; i < f->nops; i++) {
      const pt_op *x = f->ops[i], *y = g->ops[i];
      ck_assert_msg(x->code == y->code, "%s: op %d differs", what, i);
      ck_assert_int_eq(x->noperands, y->noperands);
      for (int k = 0; k < x->noperands; k++)
        ck_assert_int_eq(vpos(x->operands[k]), vpos(y->operands[k]));
      ck_assert_int_eq(x->nattrs, y->nattrs);
      for (int k = 0; k < x->nattrs; k++) {
        const pt_attr *ya = pt_op_attr(y, x->attrs[k].key);
        ck_assert_msg(ya && aval_equal(&x->attrs[k].val, &ya->val), "%s: op %d attribute %s",
                      what, i, pt_attr_name(x->attrs[k].key));
      }
      ck_assert(pt_type_equal(&x->result->type, &y->result->type));
      ck_assert(names_equal(x->result->name, y->result->name));
      ck_assert(names_equal(x->comment, y->comment));
    }
    for (int i = 0; i < f->nresults; i++) {
      ck_assert_str_eq(f->results[i].name, g->results[i].name);
      ck_assert(pt_type_equal(&f->results[i].type, &g->results[i].type));
      ck_assert_int_eq(vpos(f->results[i].value), vpos(g->results[i].value));
    }
  }
}

/* parse -> print -> parse -> print: the two prints are identical, the two
 * modules structurally equal, and a canonical file prints as itself. */
static void round_trip(const char *rel) {
  char *path = pt_test_path(rel);
  char *text = read_file(path);
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m1 = pt_parse(text, strlen(text), rel, d);
  ck_assert_msg(m1 != NULL, "%s does not parse", rel);
  ck_assert_msg(pt_verify_module(m1, d) == PT_OK, "%s does not verify", rel);
  char *p1 = pt_print_module_str(m1);
  pt_module *m2 = pt_parse(p1, strlen(p1), rel, d);
  ck_assert_msg(m2 != NULL, "printed %s does not parse:\n%s", rel, p1);
  ck_assert_msg(pt_verify_module(m2, d) == PT_OK, "printed %s does not verify", rel);
  char *p2 = pt_print_module_str(m2);
  ck_assert_msg(strcmp(p1, p2) == 0, "%s: fmt(fmt(x)) != fmt(x)", rel);
  assert_modules_equal(m1, m2, rel);
  ck_assert_msg(strcmp(text, p1) == 0, "%s is not in canonical form (run partita fmt -i)", rel);
  pt_free(p1);
  pt_free(p2);
  pt_module_destroy(m1);
  pt_module_destroy(m2);
  pt_diag_destroy(d);
  pt_free(text);
  pt_free(path);
}

/* Every .pir file under examples/ and tests/data/ round-trips. */
START_TEST(every_file_round_trips) {
  const char *dirs[] = {"examples", "tests/data"};
  int count = 0;
  for (int k = 0; k < 2; k++) {
    char *dir = pt_test_path(dirs[k]);
    DIR *dp = opendir(dir);
    ck_assert_msg(dp != NULL, "cannot open %s", dir);
    struct dirent *e;
    while ((e = readdir(dp))) {
      size_t n = strlen(e->d_name);
      if (n < 5 || strcmp(e->d_name + n - 4, ".pir") != 0)
        continue;
      char rel[512];
      snprintf(rel, sizeof rel, "%s/%s", dirs[k], e->d_name);
      round_trip(rel);
      count++;
    }
    closedir(dp);
    pt_free(dir);
  }
  ck_assert_int_ge(count, 3);
}
END_TEST

/* tests/data/every_op.pir holds every row of the op table. */
START_TEST(every_op_is_covered) {
  char *path = pt_test_path("tests/data/every_op.pir");
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m = pt_parse_file(path, d);
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(pt_verify_module(m, d), PT_OK);
  bool seen[PT_OP_COUNT] = {0};
  for (int i = 0; i < m->nfuncs; i++)
    for (int k = 0; k < m->funcs[i]->nops; k++)
      seen[m->funcs[i]->ops[k]->code] = true;
  for (int c = 0; c < PT_OP_COUNT; c++)
    /* calls have their own tests (tests/test_calls.c): every pass after
     * inlining, which this file is fed to unrolled, would refuse one */
    ck_assert_msg(seen[c] || (pt_optab[c].flags & PT_OPF_CALL),
                  "op '%s' is missing from tests/data/every_op.pir",
                  pt_op_name((pt_opcode)c));
  pt_module_destroy(m);
  pt_diag_destroy(d);
  pt_free(path);
}
END_TEST

/* Non-canonical spacing, one-line signatures and comments format to the
 * canonical form, which is then a fixed point. */
START_TEST(formats_canonically) {
  const char *messy = "// leading\n"
                      "func   @f( input %x : f32[ 2 , 3 ] ,param %w:f32[3,4] )->( y:f32[2,4] ){\n"
                      "   // the product\n"
                      "   %y=dot %x,%w{rhs_contract=[0],lhs_contract=[ 1 ]}:f32[2,4] // gone\n"
                      "return %y }";
  const char *want = "// leading\n"
                     "func @f(input %x: f32[2,3], param %w: f32[3,4]) -> (y: f32[2,4]) {\n"
                     "  // the product\n"
                     "  %y = dot %x, %w {lhs_contract = [1], rhs_contract = [0]} : f32[2,4]\n"
                     "  return %y\n"
                     "}\n";
  pt_module *m = pt_test_parse_ok(messy);
  char *p = pt_print_module_str(m);
  ck_assert_str_eq(p, want);
  pt_module *m2 = pt_test_parse_ok(p);
  char *p2 = pt_print_module_str(m2);
  ck_assert_str_eq(p2, want);
  pt_free(p);
  pt_free(p2);
  pt_module_destroy(m);
  pt_module_destroy(m2);
}
END_TEST

/* Numbers keep their kind and value through print and parse. */
START_TEST(numbers_round_trip) {
  const char *text =
      "func @f(input %x: f32[6]) -> (c: f32[6], i: i32[3]) {\n"
      "  %c = constant {value = [0.1, 1e-08, -inf, inf, 3.0, 16777217.0]} : f32[6]\n"
      "  %i = constant {value = [-2147483648, 0, 2147483647]} : i32[3]\n"
      "  return %c, %i\n"
      "}\n";
  pt_module *m = pt_test_parse_ok(text);
  char *p = pt_print_module_str(m);
  ck_assert_str_eq(p, text);
  const pt_attr *a = pt_op_attr(m->funcs[0]->ops[0], PT_A_VALUE);
  ck_assert_int_eq(a->val.items[4].kind, PT_AV_FLOAT);
  ck_assert(a->val.items[0].f == 0.1);
  ck_assert(isinf(a->val.items[2].f) && a->val.items[2].f < 0);
  pt_free(p);
  pt_module_destroy(m);
  /* nan prints as nan and reads back as nan */
  pt_module *n = pt_test_parse_ok("func @f(input %x: f32[]) -> (c: f32[]) {\n"
                                  "  %c = constant {value = nan} : f32[]\n  return %c\n}\n");
  ck_assert(isnan(pt_op_attr(n->funcs[0]->ops[0], PT_A_VALUE)->val.f));
  char *q = pt_print_module_str(n);
  ck_assert(strstr(q, "{value = nan}") != NULL);
  pt_free(q);
  pt_module_destroy(n);
}
END_TEST

/* Long signatures break one argument per line, and still round-trip. */
START_TEST(long_signature_breaks) {
  pt_module *m = pt_module_create("built");
  pt_func *f = pt_func_create(m, "train_step", PT_NOLOC);
  int64_t dims[2] = {1024, 1024};
  pt_value *last = NULL;
  for (int i = 0; i < 6; i++) {
    char name[64];
    snprintf(name, sizeof name, "layers.%d.mlp.w_in", i);
    last = pt_func_add_arg(f, name, PT_ROLE_PARAM, pt_type_make(PT_F32, 2, dims), PT_NOLOC);
  }
  pt_func_add_result(f, "out", last->type, last, PT_NOLOC);
  char *p = pt_print_module_str(m);
  ck_assert(strstr(p, "func @train_step(\n    param %layers.0.mlp.w_in: f32[1024,1024],\n") != NULL);
  ck_assert(strstr(p, "\n) -> (out: f32[1024,1024]) {\n") != NULL);
  pt_module *m2 = pt_test_parse_ok(p);
  assert_modules_equal(m, m2, "long signature");
  pt_free(p);
  pt_module_destroy(m);
  pt_module_destroy(m2);
}
END_TEST

/* The builder infers result types with the same shape rules the verifier
 * uses, numbers unnamed values without clashing with named ones, and
 * rejects bad ops without leaving them in the function. */
START_TEST(builder_infers_and_numbers) {
  pt_module *m = pt_module_create("built");
  pt_func *f = pt_func_create(m, "f", PT_NOLOC);
  int64_t xd[2] = {4, 8}, wd[2] = {8, 16};
  pt_value *x = pt_func_add_arg(f, "x", PT_ROLE_INPUT, pt_type_make(PT_F32, 2, xd), PT_NOLOC);
  pt_value *w = pt_func_add_arg(f, "0", PT_ROLE_PARAM, pt_type_make(PT_F32, 2, wd), PT_NOLOC);
  pt_diag *d = pt_diag_create(NULL);
  pt_value *ops[2] = {x, w};
  pt_op *dot = pt_op_create(f, PT_OP_DOT, ops, 2, PT_NOLOC);
  int64_t one = 1, zero = 0;
  pt_op_set_ints(dot, PT_A_LHS_CONTRACT, &one, 1);
  pt_op_set_ints(dot, PT_A_RHS_CONTRACT, &zero, 1);
  pt_value *y = pt_op_finish(dot, NULL, NULL, d);
  ck_assert_ptr_nonnull(y);
  ck_assert_int_eq(y->type.rank, 2);
  ck_assert_int_eq(y->type.dims[0], 4);
  ck_assert_int_eq(y->type.dims[1], 16);
  pt_value *t_ops[1] = {y};
  pt_op *th = pt_op_create(f, PT_OP_TANH, t_ops, 1, PT_NOLOC);
  pt_value *z = pt_op_finish(th, NULL, NULL, d);
  ck_assert_ptr_nonnull(z);
  /* a bad op: adding f32[4,8] to f32[4,16] */
  pt_value *bad_ops[2] = {x, z};
  pt_op *bad = pt_op_create(f, PT_OP_ADD, bad_ops, 2, PT_NOLOC);
  ck_assert_ptr_null(pt_op_finish(bad, NULL, NULL, d));
  ck_assert_int_eq(f->nops, 2);
  ck_assert(strstr(pt_diag_message(d, 0), "operands of 'add' differ: f32[4,8] and f32[4,16]"));
  pt_func_add_result(f, "z", z->type, z, PT_NOLOC);
  ck_assert_int_eq(pt_verify_module(m, d), PT_OK);
  char *p = pt_print_module_str(m);
  /* the unnamed values avoid %0, which the parameter is called */
  ck_assert_msg(strstr(p, "%1 = dot %x, %0") && strstr(p, "%2 = tanh %1"), "%s", p);
  pt_module *m2 = pt_test_parse_ok(p);
  assert_modules_equal(m, m2, "builder");
  pt_free(p);
  pt_module_destroy(m2);
  pt_module_destroy(m);
  pt_diag_destroy(d);
}
END_TEST

/* Shape rules of ops whose result shape is derived (not declared). */
typedef struct {
  const char *name, *op, *want;
} infer_case;

START_TEST(inferred_types) {
  static const infer_case cases[] = {
      {"dot batch", "dot %a, %b {lhs_batch = [0], rhs_batch = [0], lhs_contract = [2], "
                    "rhs_contract = [1]}",
       "f32[2,3,5]"},
      {"dot outer", "dot %a, %b {lhs_contract = [], rhs_contract = []}", "f32[2,3,4,2,4,5]"},
      {"reduce", "reduce_sum %a {dims = [0, 2]}", "f32[3]"},
      {"transpose", "transpose %a {perm = [2, 0, 1]}", "f32[4,2,3]"},
      {"slice", "slice %a {start = [0, 1, 0], limit = [2, 3, 4], stride = [1, 1, 3]}",
       "f32[2,2,2]"},
      {"pad", "pad %a, %s {low = [1, 0, 0], high = [0, 2, 0], interior = [0, 0, 1]}",
       "f32[3,5,7]"},
      {"concat", "concat %a, %a {dim = 1}", "f32[2,6,4]"},
      {"compare", "compare %a, %a {dir = ge}", "pred[2,3,4]"},
      {"take", "take %b, %idx", "f32[7,4,5]"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[1024];
    snprintf(text, sizeof text,
             "func @f(input %%a: f32[2,3,4], input %%b: f32[2,4,5], input %%s: f32[], "
             "input %%idx: i32[7]) -> (r: %s) {\n  %%r = %s : %s\n  return %%r\n}\n",
             cases[i].want, cases[i].op, cases[i].want);
    pt_diag *d = pt_diag_create(NULL);
    pt_module *m = pt_test_parse(text, d);
    ck_assert_msg(m && pt_verify_module(m, d) == PT_OK, "case '%s': %s", cases[i].name,
                  pt_diag_count(d) ? pt_diag_message(d, 0) : "parse failed");
    pt_module_destroy(m);
    pt_diag_destroy(d);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("ir");
  TCase *tc = tcase_create("ir");
  tcase_add_test(tc, every_file_round_trips);
  tcase_add_test(tc, every_op_is_covered);
  tcase_add_test(tc, formats_canonically);
  tcase_add_test(tc, numbers_round_trip);
  tcase_add_test(tc, long_signature_breaks);
  tcase_add_test(tc, builder_infers_and_numbers);
  tcase_add_test(tc, inferred_types);
  suite_add_tcase(s, tc);
  return pt_test_main(s);
}
