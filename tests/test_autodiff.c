/* Autodiff: every differentiable op's gradient against central finite
 * differences (both in double, in the interpreter's f64 mode), every linear
 * op's transpose against the adjoint identity <L u, v> = <u, L^T v>, whole
 * models, error cases, and golden text of the generated programs. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"
#include "passes.h"
#include "rng.h"
#include "model.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static double uniform(uint64_t seed, const char *name, int64_t i, double lo, double hi) {
  return lo + (hi - lo) * pt_rng_uniform(pt_rng_key_for(seed, name), (uint64_t)i);
}

/* Fills every argument of f: f32 values uniform in [lo, hi] (wide, so they
 * are exact in double), i32 uniform below `ibound`, pred from a coin. */
static pt_tensor **make_args(const pt_func *f, uint64_t seed, double lo, double hi,
                             int64_t ibound) {
  pt_tensor **args = pt_calloc((size_t)f->nargs + 1, sizeof *args);
  for (int i = 0; i < f->nargs; i++) {
    const pt_value *a = f->args[i];
    args[i] = pt_tensor_create_wide(a->type);
    for (int64_t k = 0; k < pt_type_numel(&a->type); k++) {
      double v = uniform(seed, a->name, k, lo, hi);
      if (a->type.dtype == PT_I32)
        v = floor(uniform(seed, a->name, k, 0, (double)ibound));
      if (a->type.dtype == PT_PRED)
        v = uniform(seed, a->name, k, 0, 1) < 0.5;
      pt_tensor_set(args[i], k, v);
    }
  }
  return args;
}

static void free_tensors(pt_tensor **t, int n) {
  for (int i = 0; i < n; i++)
    pt_tensor_destroy(t[i]);
  pt_free(t);
}

static double run_scalar(const pt_func *f, pt_tensor **args, int result) {
  pt_tensor **res = pt_calloc((size_t)f->nresults, sizeof *res);
  pt_diag *d = pt_diag_create(stderr);
  ck_assert_int_eq(pt_interp_run_f64(f, args, res, d), PT_OK);
  double v = pt_tensor_get(res[result], 0);
  free_tensors(res, f->nresults);
  pt_diag_destroy(d);
  return v;
}

static pt_func *grad_of(pt_module *m, const char *func) {
  pt_diag *d = pt_diag_create(stderr);
  pt_autodiff_opts o = {.func = func};
  pt_func *g = NULL;
  ck_assert_int_eq(pt_pass_autodiff(m, &o, &g, d), PT_OK);
  ck_assert_int_eq(pt_pass_cse(m, d), PT_OK);
  ck_assert_int_eq(pt_pass_dce(m, d), PT_OK);
  if (pt_verify_module(m, d) != PT_OK) {
    pt_print_module(m, stderr);
    ck_abort_msg("the gradient function does not verify: %s", pt_diag_message(d, 0));
  }
  /* it prints and parses back */
  char *text = pt_print_module_str(m);
  pt_module *back = pt_test_parse_ok(text);
  pt_module_destroy(back);
  pt_free(text);
  pt_diag_destroy(d);
  return g;
}

/* Checks every gradient element of every param of `func` against a central
 * difference; `stride` > 1 checks only every stride-th element. */
static void check_fd(const char *name, pt_module *m, const char *func, double lo, double hi,
                     int64_t ibound, int64_t stride, double tol) {
  pt_func *f = pt_module_find_func(m, func);
  pt_func *g = grad_of(m, func);
  pt_tensor **args = make_args(f, 17, lo, hi, ibound);
  pt_tensor **grads = pt_calloc((size_t)g->nresults, sizeof *grads);
  pt_diag *d = pt_diag_create(stderr);
  ck_assert_int_eq(pt_interp_run_f64(g, args, grads, d), PT_OK);
  int gi = f->nresults; /* the first gradient */
  const double eps = 1e-5;
  int checked = 0;
  for (int i = 0; i < f->nargs; i++) {
    if (f->args[i]->role != PT_ROLE_PARAM)
      continue;
    pt_tensor *x = args[i];
    for (int64_t k = 0; k < pt_type_numel(&x->type); k += stride) {
      double v = pt_tensor_get(x, k);
      pt_tensor_set(x, k, v + eps);
      double up = run_scalar(f, args, 0);
      pt_tensor_set(x, k, v - eps);
      double down = run_scalar(f, args, 0);
      pt_tensor_set(x, k, v);
      double fd = (up - down) / (2 * eps);
      double ad = pt_tensor_get(grads[gi], k);
      ck_assert_msg(fabs(ad - fd) <= tol * (1 + fabs(fd)),
                    "case '%s': d loss / d %s[%lld]: autodiff %.10g, finite difference %.10g",
                    name, f->args[i]->name, (long long)k, ad, fd);
      checked++;
    }
    gi++;
  }
  ck_assert_msg(checked > 0, "case '%s' checked nothing", name);
  free_tensors(grads, g->nresults);
  free_tensors(args, f->nargs);
  pt_diag_destroy(d);
}

/* ---- every differentiable op against finite differences --------------- */

typedef struct {
  const char *name;
  const char *args; /* argument list (params are differentiated) */
  const char *body; /* ops computing %y */
  const char *ytype;
  int yrank;
  double lo, hi; /* range of argument values */
} fd_case;

/* loss = sum(y * r) with r a random input, so every element of dy/dx counts. */
static const fd_case fd_cases[] = {
    {"neg", "param %a: f32[2,3]", "%y = neg %a : f32[2,3]", "f32[2,3]", 2, -2, 2},
    {"exp", "param %a: f32[2,3]", "%y = exp %a : f32[2,3]", "f32[2,3]", 2, -2, 2},
    {"log", "param %a: f32[2,3]", "%y = log %a : f32[2,3]", "f32[2,3]", 2, 0.5, 3},
    {"tanh", "param %a: f32[2,3]", "%y = tanh %a : f32[2,3]", "f32[2,3]", 2, -2, 2},
    {"logistic", "param %a: f32[2,3]", "%y = logistic %a : f32[2,3]", "f32[2,3]", 2, -3, 3},
    {"sqrt", "param %a: f32[2,3]", "%y = sqrt %a : f32[2,3]", "f32[2,3]", 2, 0.5, 3},
    {"rsqrt", "param %a: f32[2,3]", "%y = rsqrt %a : f32[2,3]", "f32[2,3]", 2, 0.5, 3},
    {"abs", "param %a: f32[2,3]", "%y = abs %a : f32[2,3]", "f32[2,3]", 2, -2, 2},
    {"sin", "param %a: f32[2,3]", "%y = sin %a : f32[2,3]", "f32[2,3]", 2, -2, 2},
    {"cos", "param %a: f32[2,3]", "%y = cos %a : f32[2,3]", "f32[2,3]", 2, -2, 2},
    {"add", "param %a: f32[2,3], param %b: f32[2,3]", "%y = add %a, %b : f32[2,3]", "f32[2,3]",
     2, -2, 2},
    {"sub", "param %a: f32[2,3], param %b: f32[2,3]", "%y = sub %a, %b : f32[2,3]", "f32[2,3]",
     2, -2, 2},
    {"mul", "param %a: f32[2,3], param %b: f32[2,3]", "%y = mul %a, %b : f32[2,3]", "f32[2,3]",
     2, -2, 2},
    {"mul by itself", "param %a: f32[2,3]", "%y = mul %a, %a : f32[2,3]", "f32[2,3]", 2, -2, 2},
    {"div", "param %a: f32[2,3], param %b: f32[2,3]", "%y = div %a, %b : f32[2,3]", "f32[2,3]",
     2, 0.5, 2},
    {"max", "param %a: f32[2,3], param %b: f32[2,3]", "%y = max %a, %b : f32[2,3]", "f32[2,3]",
     2, -2, 2},
    {"min", "param %a: f32[2,3], param %b: f32[2,3]", "%y = min %a, %b : f32[2,3]", "f32[2,3]",
     2, -2, 2},
    {"pow", "param %a: f32[2,3], param %b: f32[2,3]", "%y = pow %a, %b : f32[2,3]", "f32[2,3]",
     2, 0.5, 2},
    {"select", "param %a: f32[2,3], param %b: f32[2,3], input %c: f32[2,3]",
     "%q = compare %c, %a {dir = lt} : pred[2,3]\n  %y = select %q, %a, %b : f32[2,3]",
     "f32[2,3]", 2, -2, 2},
    {"convert", "param %a: f32[2,3]", "%y = convert %a : f32[2,3]", "f32[2,3]", 2, -2, 2},
    {"constant and iota (no gradient through them)", "param %a: f32[2,3]",
     "%c = constant {value = 1.5} : f32[2,3]\n  %i = iota {dim = 1} : f32[2,3]\n"
     "  %s = add %c, %i : f32[2,3]\n  %y = mul %a, %s : f32[2,3]",
     "f32[2,3]", 2, -2, 2},
    {"broadcast", "param %a: f32[3]", "%y = broadcast %a {dims = [1]} : f32[2,3]", "f32[2,3]",
     2, -2, 2},
    {"broadcast of size-1 dims", "param %a: f32[1,3,1]",
     "%y = broadcast %a {dims = [0, 1, 3]} : f32[2,3,2,4]", "f32[2,3,2,4]", 4, -2, 2},
    {"broadcast of a scalar", "param %a: f32[]", "%y = broadcast %a {dims = []} : f32[2,3]",
     "f32[2,3]", 2, -2, 2},
    {"reshape", "param %a: f32[2,3]", "%y = reshape %a : f32[3,2]", "f32[3,2]", 2, -2, 2},
    {"transpose", "param %a: f32[2,3,4]", "%y = transpose %a {perm = [2, 0, 1]} : f32[4,2,3]",
     "f32[4,2,3]", 3, -2, 2},
    {"slice", "param %a: f32[4,5]",
     "%y = slice %a {start = [1, 0], limit = [4, 5], stride = [2, 2]} : f32[2,3]", "f32[2,3]",
     2, -2, 2},
    {"concat", "param %a: f32[2,3], param %b: f32[2,1], param %c: f32[2,2]",
     "%y = concat %a, %b, %c {dim = 1} : f32[2,6]", "f32[2,6]", 2, -2, 2},
    {"pad (and its padding value)", "param %a: f32[2,3], param %v: f32[]",
     "%y = pad %a, %v {low = [1, 0], high = [0, 2], interior = [1, 1]} : f32[4,7]", "f32[4,7]",
     2, -2, 2},
    {"reduce_sum", "param %a: f32[2,3,4]", "%y = reduce_sum %a {dims = [0, 2]} : f32[3]",
     "f32[3]", 1, -2, 2},
    {"reduce_max", "param %a: f32[2,3,4]", "%y = reduce_max %a {dims = [1]} : f32[2,4]",
     "f32[2,4]", 2, -2, 2},
    {"dot", "param %a: f32[2,3], param %b: f32[3,4]",
     "%y = dot %a, %b {lhs_contract = [1], rhs_contract = [0]} : f32[2,4]", "f32[2,4]", 2, -2,
     2},
    {"dot with batch and transposed contraction", "param %a: f32[2,3,4], param %b: f32[5,2,3]",
     "%y = dot %a, %b {lhs_batch = [0], rhs_batch = [1], lhs_contract = [1], rhs_contract = "
     "[2]} : f32[2,4,5]",
     "f32[2,4,5]", 3, -2, 2},
    {"dot with two contracting dims", "param %a: f32[3,2,4], param %b: f32[4,5,3]",
     "%y = dot %a, %b {lhs_contract = [2, 0], rhs_contract = [0, 2]} : f32[2,5]", "f32[2,5]", 2,
     -2, 2},
    {"take", "param %e: f32[5,3], input %i: i32[2,4]", "%y = take %e, %i : f32[2,4,3]",
     "f32[2,4,3]", 3, -2, 2},
    {"scatter_add", "param %u: f32[4,3], input %i: i32[4]",
     "%y = scatter_add %i, %u : f32[5,3]", "f32[5,3]", 2, -2, 2},
    {"scan", "param %a: f32[2,5], param %b: f32[2,5]",
     "%y = scan %a, %b {dim = 1} : f32[2,5]", "f32[2,5]", 2, -1, 1},
    {"scan reversed", "param %a: f32[3,2], param %b: f32[3,2]",
     "%y = scan %a, %b {dim = 0, reverse = 1} : f32[3,2]", "f32[3,2]", 2, -1, 1},
    {"softmax", "param %a: f32[2,4]",
     "%m = reduce_max %a {dims = [1]} : f32[2]\n"
     "  %mb = broadcast %m {dims = [0]} : f32[2,4]\n"
     "  %s = sub %a, %mb : f32[2,4]\n  %e = exp %s : f32[2,4]\n"
     "  %z = reduce_sum %e {dims = [1]} : f32[2]\n"
     "  %zb = broadcast %z {dims = [0]} : f32[2,4]\n  %y = div %e, %zb : f32[2,4]",
     "f32[2,4]", 2, -2, 2},
};

START_TEST(gradient_matches_finite_differences) {
  const fd_case *c = &fd_cases[_i];
  char dims[64] = "";
  for (int i = 0; i < c->yrank; i++)
    snprintf(dims + strlen(dims), sizeof dims - strlen(dims), i ? ", %d" : "%d", i);
  char text[4096];
  snprintf(text, sizeof text,
           "func @loss(%s, input %%r: %s) -> (loss: f32[]) {\n  %s\n"
           "  %%p = mul %%y, %%r : %s\n  %%loss = reduce_sum %%p {dims = [%s]} : f32[]\n"
           "  return %%loss\n}\n",
           c->args, c->ytype, c->body, c->ytype, dims);
  pt_module *m = pt_test_parse_ok(text);
  check_fd(c->name, m, "loss", c->lo, c->hi, 5, 1, 1e-6);
  pt_module_destroy(m);
}
END_TEST

/* Every op of the table that can carry a gradient has an FD case above. */
START_TEST(every_differentiable_op_is_checked) {
  bool seen[PT_OP_COUNT] = {0};
  for (size_t i = 0; i < sizeof fd_cases / sizeof fd_cases[0]; i++) {
    char text[4096];
    snprintf(text, sizeof text, "func @f(%s) -> (r: f32[]) {\n  %s\n  %%r = constant {value = "
             "0} : f32[]\n  return %%r\n}\n", fd_cases[i].args, fd_cases[i].body);
    pt_module *m = pt_test_parse_ok(text);
    for (int k = 0; k < m->funcs[0]->nops; k++)
      seen[m->funcs[0]->ops[k]->code] = true;
    pt_module_destroy(m);
  }
  for (int c = 0; c < PT_OP_COUNT; c++) {
    if (pt_optab[c].flags & (PT_OPF_COLLECTIVE | PT_OPF_CALL)) /* calls: inlined first */
      continue;
    if (c == PT_OP_STOP_GRADIENT) /* no derivative by definition: stop_gradient_blocks_gradients */
      continue;
    ck_assert_msg(seen[c], "op '%s' has no finite-difference case", pt_op_name((pt_opcode)c));
  }
}
END_TEST

/* stop_gradient is the identity whose derivative is taken to be 0: in
 * loss = sum(w * stop_gradient(w) * r) the gradient is w * r, not 2 w r.
 * Where the stopped value's true derivative is 0 anyway -- the shift of a
 * logsumexp by its maximum -- the gradient still matches finite
 * differences, and the max's own backward (its ties, their count) is gone.
 * A train step keeps no stop_gradient: it has done its work there. */
START_TEST(stop_gradient_blocks_gradients) {
  pt_module *m = pt_test_parse_ok(
      "func @loss(param %w: f32[2,3], input %r: f32[2,3]) -> (loss: f32[]) {\n"
      "  %s = stop_gradient %w : f32[2,3]\n  %a = mul %w, %s : f32[2,3]\n"
      "  %p = mul %a, %r : f32[2,3]\n  %loss = reduce_sum %p {dims = [0, 1]} : f32[]\n"
      "  return %loss\n}\n");
  pt_func *f = pt_module_find_func(m, "loss");
  pt_func *g = grad_of(m, "loss");
  pt_tensor **args = make_args(f, 5, -2, 2, 5);
  pt_tensor **res = pt_calloc((size_t)g->nresults, sizeof *res);
  pt_diag *d = pt_diag_create(stderr);
  ck_assert_int_eq(pt_interp_run_f64(g, args, res, d), PT_OK);
  for (int64_t k = 0; k < 6; k++) {
    double w = pt_tensor_get(args[0], k), r = pt_tensor_get(args[1], k);
    ck_assert_msg(fabs(pt_tensor_get(res[1], k) - w * r) <= 1e-12 * (1 + fabs(w * r)),
                  "d loss / d w[%lld] = %.10g, want w r = %.10g", (long long)k,
                  pt_tensor_get(res[1], k), w * r);
  }
  free_tensors(res, g->nresults);
  free_tensors(args, f->nargs);
  pt_module_destroy(m);

  const char *lse =
      "func @loss(param %w: f32[2,5], input %x: f32[2,5]) -> (loss: f32[]) {\n"
      "  %a = mul %w, %x : f32[2,5]\n  %m = reduce_max %a {dims = [1]} : f32[2]\n"
      "  %ms = stop_gradient %m : f32[2]\n  %mb = broadcast %ms {dims = [0]} : f32[2,5]\n"
      "  %s = sub %a, %mb : f32[2,5]\n  %e = exp %s : f32[2,5]\n"
      "  %t = reduce_sum %e {dims = [1]} : f32[2]\n  %l = log %t : f32[2]\n"
      "  %v = add %l, %ms : f32[2]\n  %loss = reduce_sum %v {dims = [0]} : f32[]\n"
      "  return %loss\n}\n";
  m = pt_test_parse_ok(lse);
  check_fd("logsumexp, its max stopped", m, "loss", -2, 2, 5, 1, 1e-6);
  g = pt_module_find_func(m, "loss_grad");
  for (int i = 0; i < g->nops; i++) /* the max's backward: compare, convert */
    ck_assert_msg(g->ops[i]->code != PT_OP_COMPARE && g->ops[i]->code != PT_OP_CONVERT,
                  "the gradient differentiates the stopped maximum (op %d is a %s)", i,
                  pt_op_name(g->ops[i]->code));
  pt_module_destroy(m);

  m = pt_test_parse_ok(lse);
  pt_optimizer o = pt_optimizer_default(PT_OPTIM_SGD);
  pt_func *ts = NULL;
  ck_assert_int_eq(pt_pass_train_step(m, "loss", &o, NULL, &ts, d), PT_OK);
  int stops = 0;
  for (int i = 0; i < ts->nops; i++)
    stops += ts->ops[i]->code == PT_OP_STOP_GRADIENT;
  ck_assert_int_eq(stops, 0);
  ck_assert_int_eq(pt_verify_func(ts, d), PT_OK);
  pt_module_destroy(m);
  pt_diag_destroy(d);
}
END_TEST

/* ---- transposition alone --------------------------------------------- */

typedef struct {
  const char *name;
  const char *args; /* %u* are linear, the rest primal */
  const char *body; /* computes %y, linear in the %u* */
  const char *ytype;
} tr_case;

static const tr_case tr_cases[] = {
    {"neg", "input %u: f32[2,3]", "%y = neg %u : f32[2,3]", "f32[2,3]"},
    {"add", "input %u: f32[2,3], input %u2: f32[2,3]", "%y = add %u, %u2 : f32[2,3]", "f32[2,3]"},
    {"sub", "input %u: f32[2,3], input %u2: f32[2,3]", "%y = sub %u, %u2 : f32[2,3]", "f32[2,3]"},
    {"mul by a primal", "input %u: f32[2,3], input %c: f32[2,3]", "%y = mul %c, %u : f32[2,3]",
     "f32[2,3]"},
    {"div by a primal", "input %u: f32[2,3], input %c: f32[2,3]", "%y = div %u, %c : f32[2,3]",
     "f32[2,3]"},
    {"select", "input %u: f32[2,3], input %u2: f32[2,3], input %p: pred[2,3]",
     "%y = select %p, %u, %u2 : f32[2,3]", "f32[2,3]"},
    {"convert", "input %u: f32[2,3]", "%y = convert %u : f32[2,3]", "f32[2,3]"},
    {"broadcast", "input %u: f32[1,3]", "%y = broadcast %u {dims = [0, 2]} : f32[4,2,3]",
     "f32[4,2,3]"},
    {"reduce_sum", "input %u: f32[2,3,4]", "%y = reduce_sum %u {dims = [1]} : f32[2,4]",
     "f32[2,4]"},
    {"transpose", "input %u: f32[2,3,4]", "%y = transpose %u {perm = [1, 2, 0]} : f32[3,4,2]",
     "f32[3,4,2]"},
    {"reshape", "input %u: f32[2,6]", "%y = reshape %u : f32[3,4]", "f32[3,4]"},
    {"slice", "input %u: f32[5,4]",
     "%y = slice %u {start = [1, 1], limit = [5, 4], stride = [3, 1]} : f32[2,3]", "f32[2,3]"},
    {"pad", "input %u: f32[2,3], input %u2: f32[]",
     "%y = pad %u, %u2 {low = [0, 2], high = [1, 0], interior = [2, 0]} : f32[5,5]",
     "f32[5,5]"},
    {"concat", "input %u: f32[2,3], input %u2: f32[1,3]",
     "%y = concat %u, %u2, %u {dim = 0} : f32[5,3]", "f32[5,3]"},
    {"dot, lhs linear", "input %u: f32[2,3,4], input %c: f32[4,5,2]",
     "%y = dot %u, %c {lhs_batch = [0], rhs_batch = [2], lhs_contract = [2], rhs_contract = "
     "[0]} : f32[2,3,5]",
     "f32[2,3,5]"},
    {"dot, rhs linear", "input %c: f32[2,3,4], input %u: f32[4,5,2]",
     "%y = dot %c, %u {lhs_batch = [0], rhs_batch = [2], lhs_contract = [2], rhs_contract = "
     "[0]} : f32[2,3,5]",
     "f32[2,3,5]"},
    {"take", "input %u: f32[4,3], input %i: i32[2,2]", "%y = take %u, %i : f32[2,2,3]",
     "f32[2,2,3]"},
    {"scatter_add", "input %u: f32[3,2], input %i: i32[3]", "%y = scatter_add %i, %u : f32[4,2]",
     "f32[4,2]"},
    {"scan", "input %u: f32[2,6], input %c: f32[2,6]", "%y = scan %c, %u {dim = 1} : f32[2,6]",
     "f32[2,6]"},
    {"scan reversed", "input %u: f32[6,2], input %c: f32[6,2]",
     "%y = scan %c, %u {dim = 0, reverse = 1} : f32[6,2]", "f32[6,2]"},
    {"a chain", "input %u: f32[3,4], input %c: f32[4,2]",
     "%a = dot %u, %c {lhs_contract = [1], rhs_contract = [0]} : f32[3,2]\n"
     "  %b = transpose %a {perm = [1, 0]} : f32[2,3]\n  %d = neg %b : f32[2,3]\n"
     "  %y = add %d, %b : f32[2,3]",
     "f32[2,3]"},
};

static double dot_tensors(const pt_tensor *a, const pt_tensor *b) {
  double s = 0;
  for (int64_t i = 0; i < pt_type_numel(&a->type); i++)
    s += pt_tensor_get(a, i) * pt_tensor_get(b, i);
  return s;
}

START_TEST(transpose_is_the_adjoint) {
  const tr_case *c = &tr_cases[_i];
  char text[4096];
  snprintf(text, sizeof text, "func @lin(%s) -> (y: %s) {\n  %s\n  return %%y\n}\n", c->args,
           c->ytype, c->body);
  pt_module *m = pt_test_parse_ok(text);
  pt_func *lin = m->funcs[0];
  bool linear[16] = {0};
  for (int i = 0; i < lin->nargs; i++)
    linear[i] = lin->args[i]->name[0] == 'u';
  pt_diag *d = pt_diag_create(stderr);
  pt_func *lt = NULL;
  ck_assert_int_eq(pt_pass_transpose(m, lin, linear, "lin_t", &lt, d), PT_OK);
  ck_assert_msg(pt_verify_module(m, d) == PT_OK, "case '%s': transposed function is invalid",
                c->name);
  lin = m->funcs[0];
  /* random u (linear args), primal args, and v (cotangent of y) */
  pt_tensor **args = make_args(lin, 99, -1, 1, 2);
  pt_tensor **y = pt_calloc(1, sizeof *y);
  ck_assert_int_eq(pt_interp_run_f64(lin, args, y, d), PT_OK);
  pt_tensor **targs = pt_calloc((size_t)lt->nargs, sizeof *targs);
  int k = 0;
  for (int i = 0; i < lin->nargs; i++)
    if (!linear[i])
      targs[k++] = pt_tensor_clone(args[i]);
  pt_tensor **vv = make_args(lt, 7, -1, 1, 2);
  targs[k] = pt_tensor_clone(vv[lt->nargs - 1]); /* ct.y */
  pt_tensor **ut = pt_calloc((size_t)lt->nresults, sizeof *ut);
  ck_assert_int_eq(pt_interp_run_f64(lt, targs, ut, d), PT_OK);
  double lhs = dot_tensors(y[0], targs[k]), rhs = 0;
  int r = 0;
  for (int i = 0; i < lin->nargs; i++)
    if (linear[i])
      rhs += dot_tensors(args[i], ut[r++]);
  ck_assert_msg(fabs(lhs - rhs) <= 1e-9 * (1 + fabs(lhs)),
                "case '%s': <L u, v> = %.15g but <u, L^T v> = %.15g", c->name, lhs, rhs);
  free_tensors(ut, lt->nresults);
  free_tensors(vv, lt->nargs);
  free_tensors(targs, lt->nargs);
  free_tensors(y, 1);
  free_tensors(args, lin->nargs);
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* A function that is not linear in its marked arguments is refused. */
START_TEST(transpose_refuses_nonlinear) {
  pt_module *m = pt_test_parse_ok("func @f(input %u: f32[2]) -> (y: f32[2]) {\n"
                                  "  %y = exp %u : f32[2]\n  return %y\n}\n");
  bool linear[1] = {true};
  pt_diag *d = pt_diag_create(NULL);
  ck_assert_int_eq(pt_pass_transpose(m, m->funcs[0], linear, "t", NULL, d), PT_ERR);
  ck_assert(strstr(pt_diag_message(d, 0), "test.pir:2:8: error: 'exp' is not linear"));
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* ---- whole models ----------------------------------------------------- */

START_TEST(mlp_gradient_spot_checks) {
  char *path = pt_test_path("examples/mlp.pir");
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m = pt_parse_file(path, d);
  ck_assert_ptr_nonnull(m);
  /* 1M-element weights: check every 99991st element of each param */
  check_fd("mlp", m, "loss", -0.05, 0.05, 5, 99991, 1e-5);
  pt_module_destroy(m);
  pt_diag_destroy(d);
  pt_free(path);
}
END_TEST

/* The model library's GPT, Llama and Griffin (models/model.h) at a tiny
 * size, every parameter element against central finite differences in
 * float64: the embedding lookup, LayerNorm and RMSNorm, learned and rotary
 * positions, grouped-query causal attention, the GELU and SwiGLU MLPs, the
 * cross-entropy over integer labels, and Griffin's causal convolution
 * (pad-and-slice shifts), block-diagonal RG-LRU gates, softplus decay and
 * scan, and its blocked local attention (3 layers: both block kinds; seq 6
 * in windows of 2, so keys come from the previous block). */
START_TEST(language_models_full_check) {
  const pt_model_kind kinds[] = {PT_MODEL_GPT, PT_MODEL_LLAMA, PT_MODEL_GRIFFIN};
  for (int k = 0; k < 3; k++) {
    pt_model_opts o = pt_model_defaults(kinds[k]);
    o.layers = 2, o.d_model = 8, o.heads = 2, o.kv_heads = k == 0 ? 2 : 1, o.mlp_hidden = 12,
    o.vocab = 11, o.seq = 4, o.batch = 2;
    if (o.kind == PT_MODEL_GRIFFIN)
      o.layers = 3, o.seq = 6, o.window = 2, o.lru_width = 6;
    char *text = pt_model_write(&o);
    pt_diag *d = pt_diag_create(stderr);
    pt_module *m = pt_parse(text, strlen(text), "model.pir", d);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(pt_verify_module(m, d), PT_OK);
    ck_assert_int_eq(pt_pass_inline(m, "loss", d), PT_OK);
    check_fd(pt_model_kind_name(o.kind), m, "loss", -0.5, 0.5, o.vocab, 1, 1e-6);
    pt_module_destroy(m);
    pt_diag_destroy(d);
    free(text);
  }
}
END_TEST

START_TEST(tiny_transformer_full_check) {
  char *path = pt_test_path("tests/data/tiny_transformer_block.pir");
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m = pt_parse_file(path, d);
  ck_assert_ptr_nonnull(m);
  check_fd("tiny transformer", m, "loss", -0.5, 0.5, 5, 1, 1e-6);
  pt_module_destroy(m);
  pt_diag_destroy(d);
  pt_free(path);
}
END_TEST

/* The linearized function's tangent output is the directional derivative. */
START_TEST(jvp_is_the_directional_derivative) {
  pt_module *m = pt_test_parse_ok(
      "func @loss(param %a: f32[3], input %r: f32[3]) -> (loss: f32[]) {\n"
      "  %e = exp %a : f32[3]\n  %t = tanh %e : f32[3]\n  %p = mul %t, %r : f32[3]\n"
      "  %loss = reduce_sum %p {dims = [0]} : f32[]\n  return %loss\n}\n");
  pt_diag *d = pt_diag_create(stderr);
  pt_autodiff_opts o = {.func = "loss"};
  pt_func *j = NULL;
  ck_assert_int_eq(pt_pass_linearize(m, &o, &j, d), PT_OK);
  ck_assert_int_eq(pt_verify_module(m, d), PT_OK);
  ck_assert_str_eq(j->name, "loss_jvp");
  ck_assert_str_eq(j->args[2]->name, "tan.a");
  ck_assert_str_eq(j->results[1].name, "tan.loss");
  pt_func *f = m->funcs[0];
  pt_tensor **args = make_args(j, 3, -1, 1, 2);
  double got = run_scalar(j, args, 1);
  const double eps = 1e-6;
  for (int64_t k = 0; k < 3; k++)
    pt_tensor_set(args[0], k, pt_tensor_get(args[0], k) + eps * pt_tensor_get(args[2], k));
  double up = run_scalar(f, args, 0);
  for (int64_t k = 0; k < 3; k++)
    pt_tensor_set(args[0], k, pt_tensor_get(args[0], k) - 2 * eps * pt_tensor_get(args[2], k));
  double down = run_scalar(f, args, 0);
  ck_assert_msg(fabs(got - (up - down) / (2 * eps)) < 1e-6, "jvp %.10g vs fd %.10g", got,
                (up - down) / (2 * eps));
  free_tensors(args, j->nargs);
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* ---- errors ----------------------------------------------------------- */

typedef struct {
  const char *name, *text, *func, *want;
} err_case;

static const err_case err_cases[] = {
    {"no such function", "func @f(param %a: f32[]) -> (loss: f32[]) {\n  return %a\n}\n", "g",
     "there is no function '@g' to differentiate"},
    {"loss not a scalar", "func @f(param %a: f32[2]) -> (loss: f32[2]) {\n  return %a\n}\n", "f",
     "test.pir:1:31: error: the differentiated result 'loss' is f32[2]; it must be an f32 "
     "scalar"},
    {"loss not f32",
     "func @f(param %a: f32[], input %i: i32[]) -> (loss: i32[]) {\n  return %i\n}\n", "f",
     "the differentiated result 'loss' is i32[]"},
    {"integer param",
     "func @f(param %a: f32[], param %i: i32[2]) -> (loss: f32[]) {\n  return %a\n}\n", "f",
     "test.pir:1:32: error: cannot differentiate with respect to %i: it is i32[2]"},
    {"several results, none called loss",
     "func @f(param %a: f32[]) -> (x: f32[], y: f32[]) {\n  return %a, %a\n}\n", "f",
     "has 2 results and none is called 'loss'"},
    {"a collective",
     "mesh {m = 2}\nfunc @f(param %a: f32[2]) -> (loss: f32[]) {\n"
     "  %g = all_gather %a {dim = 0, axes = [m]} : f32[4]\n"
     "  %loss = reduce_sum %g {dims = [0]} : f32[]\n  return %loss\n}\n",
     "f", "test.pir:3:8: error: cannot differentiate 'all_gather'"},
};

START_TEST(autodiff_errors) {
  const err_case *c = &err_cases[_i];
  pt_module *m = pt_test_parse_ok(c->text);
  pt_diag *d = pt_diag_create(NULL);
  pt_autodiff_opts o = {.func = c->func};
  ck_assert_int_eq(pt_pass_autodiff(m, &o, NULL, d), PT_ERR);
  ck_assert_int_eq(pt_diag_error_count(d), 1);
  ck_assert_msg(strstr(pt_diag_message(d, 0), c->want), "case '%s': '%s' lacks '%s'", c->name,
                pt_diag_message(d, 0), c->want);
  ck_assert_int_eq(m->nfuncs, 1); /* nothing added */
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* ---- golden text ------------------------------------------------------ */

/* tests/golden/autodiff/NAME.pir -> NAME.grad.pir: the printed gradient
 * function after autodiff, CSE and DCE. PT_UPDATE_GOLDEN=1 rewrites them. */
START_TEST(golden_gradients) {
  char *dir = pt_test_path("tests/golden/autodiff");
  DIR *dp = opendir(dir);
  ck_assert_msg(dp != NULL, "cannot open %s", dir);
  struct dirent *e;
  int count = 0;
  while ((e = readdir(dp))) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 4, ".pir") != 0 || strstr(e->d_name, ".grad."))
      continue;
    char in[1024], want_path[1024];
    snprintf(in, sizeof in, "%s/%s", dir, e->d_name);
    snprintf(want_path, sizeof want_path, "%s/%.*s.grad.pir", dir, (int)(n - 4), e->d_name);
    pt_diag *d = pt_diag_create(stderr);
    pt_module *m = pt_parse_file(in, d);
    ck_assert_msg(m && pt_verify_module(m, d) == PT_OK, "%s is invalid", in);
    pt_func *g = grad_of(m, m->funcs[0]->name);
    char *got = NULL;
    size_t gn = 0;
    FILE *out = open_memstream(&got, &gn);
    pt_print_func(g, out);
    fclose(out);
    if (getenv("PT_UPDATE_GOLDEN")) {
      FILE *w = fopen(want_path, "w");
      ck_assert_ptr_nonnull(w);
      fputs(got, w);
      fclose(w);
    }
    FILE *w = fopen(want_path, "r");
    ck_assert_msg(w != NULL, "missing golden file %s (run with PT_UPDATE_GOLDEN=1)", want_path);
    char want[65536];
    size_t wn = fread(want, 1, sizeof want - 1, w);
    want[wn] = 0;
    fclose(w);
    ck_assert_msg(strcmp(got, want) == 0, "%s differs from its golden file:\n--- got\n%s--- want\n%s",
                  in, got, want);
    free(got);
    pt_module_destroy(m);
    pt_diag_destroy(d);
    count++;
  }
  closedir(dp);
  pt_free(dir);
  ck_assert_int_ge(count, 2);
}
END_TEST

int main(void) {
  Suite *s = suite_create("autodiff");
  TCase *tc = tcase_create("autodiff");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, gradient_matches_finite_differences, 0,
                      (int)(sizeof fd_cases / sizeof fd_cases[0]));
  tcase_add_test(tc, every_differentiable_op_is_checked);
  tcase_add_test(tc, stop_gradient_blocks_gradients);
  tcase_add_loop_test(tc, transpose_is_the_adjoint, 0, (int)(sizeof tr_cases / sizeof tr_cases[0]));
  tcase_add_test(tc, transpose_refuses_nonlinear);
  tcase_add_test(tc, jvp_is_the_directional_derivative);
  tcase_add_loop_test(tc, autodiff_errors, 0, (int)(sizeof err_cases / sizeof err_cases[0]));
  tcase_add_test(tc, golden_gradients);
  tcase_add_test(tc, mlp_gradient_spot_checks);
  tcase_add_test(tc, tiny_transformer_full_check);
  tcase_add_test(tc, language_models_full_check);
  suite_add_tcase(s, tc);
  return pt_test_main(s);
}
