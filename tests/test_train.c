/* Training: train_step's signature for each optimizer, one step of each
 * against the update worked out here in C from loss_grad's gradient, a real
 * MLP fitting a teacher network, the transformer block's step, and the
 * grad / train-step / train commands as a user runs them. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init.h"
#include "interp.h"
#include "passes.h"
#include "safetensors.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool sanitized(void) {
  return getenv("PT_SANITIZE_BUILD") != NULL;
}

static pt_module *load_example(const char *rel) {
  char *path = pt_test_path(rel);
  pt_diag *d = pt_diag_create(stderr);
  pt_module *m = pt_parse_file(path, d);
  ck_assert_msg(m && pt_verify_module(m, d) == PT_OK, "cannot load %s", path);
  pt_diag_destroy(d);
  pt_free(path);
  return m;
}

static pt_func *build_step(pt_module *m, const pt_optimizer *o) {
  pt_diag *d = pt_diag_create(stderr);
  pt_func *ts = NULL;
  ck_assert_int_eq(pt_pass_train_step(m, "loss", o, NULL, &ts, d), PT_OK);
  ck_assert_ptr_nonnull(ts);
  ck_assert_int_eq(pt_verify_module(m, d), PT_OK);
  pt_diag_destroy(d);
  return ts;
}

static pt_tensor **run_func(const pt_func *f, pt_tensor *const *args) {
  pt_tensor **res = pt_calloc((size_t)f->nresults + 1, sizeof *res);
  pt_diag *d = pt_diag_create(stderr);
  ck_assert_msg(pt_interp_run(f, args, res, d) == PT_OK, "@%s failed to run", f->name);
  pt_diag_destroy(d);
  return res;
}

static void free_tensors(pt_tensor **t, int n) {
  if (!t)
    return;
  for (int i = 0; i < n; i++)
    pt_tensor_destroy(t[i]);
  pt_free(t);
}

/* train_step's arguments, each by name from `named` (the loss's arguments
 * in loss order, values vals[]) or zero (optimizer state). */
static pt_tensor **step_args(const pt_func *ts, const pt_func *loss, pt_tensor *const *vals) {
  pt_tensor **a = pt_calloc((size_t)ts->nargs + 1, sizeof *a);
  for (int i = 0; i < ts->nargs; i++) {
    const pt_value *la = pt_func_find_arg(loss, ts->args[i]->name);
    a[i] = la ? pt_tensor_clone(vals[la->arg_index]) : pt_tensor_create(ts->args[i]->type);
  }
  return a;
}

/* Replaces train_step's params and state arguments by its results (the
 * next step's inputs); returns the loss. Frees res. */
static double advance(const pt_func *ts, pt_tensor **args, pt_tensor **res) {
  int n = ts->nresults - 1;
  for (int i = 0; i < n; i++) {
    ck_assert_str_eq(ts->results[i].name, ts->args[i]->name);
    pt_tensor_destroy(args[i]);
    args[i] = res[i];
    res[i] = NULL;
  }
  double loss = pt_tensor_get(res[n], 0);
  free_tensors(res, ts->nresults);
  return loss;
}

/* ---- the signature ------------------------------------------------------ */

/* A small loss with params between inputs, a state argument and an i32
 * input, so the reordering and the roles show. */
static const char *small_src =
    "func @loss(input %x: f32[4,3], param %w: f32[3,2], input %y: f32[4,2],\n"
    "           param %b: f32[2], state %c: f32[2], input %k: i32[4]) -> (loss: f32[]) {\n"
    "  %xw = dot %x, %w {lhs_contract = [1], rhs_contract = [0]} : f32[4,2]\n"
    "  %bc = add %b, %c : f32[2]\n"
    "  %bb = broadcast %bc {dims = [1]} : f32[4,2]\n"
    "  %p = add %xw, %bb : f32[4,2]\n"
    "  %t = tanh %p : f32[4,2]\n"
    "  %kf = convert %k : f32[4]\n"
    "  %kb = broadcast %kf {dims = [0]} : f32[4,2]\n"
    "  %e0 = sub %t, %y : f32[4,2]\n"
    "  %e = mul %e0, %kb : f32[4,2]\n"
    "  %sq = mul %e, %e : f32[4,2]\n"
    "  %s = reduce_sum %sq {dims = [0, 1]} : f32[]\n"
    "  %n = constant {value = 8.0} : f32[]\n"
    "  %loss = div %s, %n : f32[]\n"
    "  return %loss\n"
    "}\n";

typedef struct {
  const char *name, *role, *type;
} sig_entry;

typedef struct {
  const char *name;
  pt_optim_kind kind;
  sig_entry args[12];
  const char *results[10];
} sig_case;

/* clang-format off */
#define P_W {"w", "param", "f32[3,2]"}
#define P_B {"b", "param", "f32[2]"}
#define INPUTS {"x", "input", "f32[4,3]"}, {"y", "input", "f32[4,2]"}, \
               {"c", "state", "f32[2]"}, {"k", "input", "i32[4]"}
/* clang-format on */

static const sig_case sig_cases[] = {
    {"sgd", PT_OPTIM_SGD, {P_W, P_B, INPUTS}, {"w", "b", "loss"}},
    {"momentum",
     PT_OPTIM_MOMENTUM,
     {P_W, P_B, {"opt.w.buf", "state", "f32[3,2]"}, {"opt.b.buf", "state", "f32[2]"}, INPUTS},
     {"w", "b", "opt.w.buf", "opt.b.buf", "loss"}},
    {"adam",
     PT_OPTIM_ADAM,
     {P_W,
      P_B,
      {"opt.w.m", "state", "f32[3,2]"},
      {"opt.w.v", "state", "f32[3,2]"},
      {"opt.b.m", "state", "f32[2]"},
      {"opt.b.v", "state", "f32[2]"},
      {"opt.step", "state", "f32[]"},
      INPUTS},
     {"w", "b", "opt.w.m", "opt.w.v", "opt.b.m", "opt.b.v", "opt.step", "loss"}},
};

START_TEST(signature) {
  const sig_case *c = &sig_cases[_i];
  pt_module *m = pt_test_parse_ok(small_src);
  pt_optimizer o = pt_optimizer_default(c->kind);
  pt_func *ts = build_step(m, &o);
  ck_assert_str_eq(ts->name, "train_step");
  ck_assert_ptr_nonnull(pt_module_find_func(m, "loss"));
  ck_assert_ptr_nonnull(pt_module_find_func(m, "loss_grad"));
  int nargs = 0;
  while (nargs < 12 && c->args[nargs].name)
    nargs++;
  ck_assert_msg(ts->nargs == nargs, "%s: %d arguments, want %d", c->name, ts->nargs, nargs);
  for (int i = 0; i < nargs; i++) {
    char tb[PT_TYPE_STRLEN];
    const pt_value *a = ts->args[i];
    ck_assert_msg(strcmp(a->name, c->args[i].name) == 0 &&
                      strcmp(pt_role_name(a->role), c->args[i].role) == 0 &&
                      strcmp(pt_type_str(&a->type, tb, sizeof tb), c->args[i].type) == 0,
                  "%s: argument %d is %s %%%s: %s, want %s %%%s: %s", c->name, i,
                  pt_role_name(a->role), a->name, tb, c->args[i].role, c->args[i].name,
                  c->args[i].type);
  }
  int nres = 0;
  while (nres < 10 && c->results[nres])
    nres++;
  ck_assert_msg(ts->nresults == nres, "%s: %d results, want %d", c->name, ts->nresults, nres);
  for (int i = 0; i < nres; i++) {
    ck_assert_msg(strcmp(ts->results[i].name, c->results[i]) == 0, "%s: result %d is %s, want %s",
                  c->name, i, ts->results[i].name, c->results[i]);
    if (i < nres - 1) /* each updated value has its argument's type */
      ck_assert(pt_type_equal(&ts->results[i].type, &ts->args[i]->type));
  }
  ck_assert(pt_type_equal(&ts->results[nres - 1].type, &(pt_type){PT_F32, 0, {0}}));
  /* it prints, parses back to the same text, and that verifies */
  char *text = pt_print_module_str(m);
  pt_module *m2 = pt_test_parse_ok(text);
  char *text2 = pt_print_module_str(m2);
  ck_assert_str_eq(text, text2);
  pt_free(text);
  pt_free(text2);
  pt_module_destroy(m2);
  pt_module_destroy(m);
}
END_TEST

/* The pass checks what the CLI checks, for callers of the library. */
START_TEST(pass_rejects_bad_hyperparameters) {
  struct {
    pt_optim_kind kind;
    double lr, momentum, beta1, beta2, eps;
    const char *want;
  } cases[] = {
      {PT_OPTIM_SGD, 0, 0.9, 0.9, 0.999, 1e-8, "the learning rate must be > 0, not 0"},
      {PT_OPTIM_SGD, NAN, 0.9, 0.9, 0.999, 1e-8, "the learning rate must be > 0, not nan"},
      {PT_OPTIM_MOMENTUM, 0.1, -1, 0.9, 0.999, 1e-8, "momentum must be >= 0, not -1"},
      {PT_OPTIM_ADAM, 0.1, 0.9, 1, 0.999, 1e-8, "beta1 must be in [0, 1), not 1"},
      {PT_OPTIM_ADAM, 0.1, 0.9, 0.9, -0.1, 1e-8, "beta2 must be in [0, 1), not -0.1"},
      {PT_OPTIM_ADAM, 0.1, 0.9, 0.9, 0.999, 0, "eps must be > 0, not 0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pt_module *m = pt_test_parse_ok(small_src);
    pt_optimizer o = {cases[i].kind,  cases[i].lr,    cases[i].momentum,
                      cases[i].beta1, cases[i].beta2, cases[i].eps};
    pt_diag *d = pt_diag_create(NULL);
    pt_func *ts = (pt_func *)1;
    ck_assert_int_eq(pt_pass_train_step(m, "loss", &o, NULL, &ts, d), PT_ERR);
    ck_assert_ptr_null(ts);
    ck_assert_msg(pt_diag_error_count(d) == 1 && strstr(pt_diag_text(d, 0), cases[i].want),
                  "case %zu: %s", i, pt_diag_count(d) ? pt_diag_text(d, 0) : "no error");
    ck_assert_int_eq(m->nfuncs, 1); /* nothing added */
    pt_diag_destroy(d);
    pt_module_destroy(m);
  }
  /* no such function; a train_step already there */
  pt_module *m = pt_test_parse_ok(small_src);
  pt_optimizer o = pt_optimizer_default(PT_OPTIM_SGD);
  pt_diag *d = pt_diag_create(NULL);
  ck_assert_int_eq(pt_pass_train_step(m, "nope", &o, NULL, NULL, d), PT_ERR);
  ck_assert(strstr(pt_diag_text(d, 0), "no function '@nope'"));
  ck_assert_int_eq(pt_pass_train_step(m, "loss", &o, "loss", NULL, d), PT_ERR);
  ck_assert(strstr(pt_diag_text(d, 1), "already has a function '@loss'"));
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* ---- one step against the formulas -------------------------------------- */

/* Deterministic values for the small loss's arguments: f32 in [-1, 1]
 * (the biases too, so no update starts from zero), k in {1, 2}. */
static pt_tensor **small_values(const pt_func *loss) {
  pt_tensor **v = pt_calloc((size_t)loss->nargs + 1, sizeof *v);
  for (int i = 0; i < loss->nargs; i++) {
    const pt_value *a = loss->args[i];
    v[i] = pt_tensor_create(a->type);
    for (int64_t j = 0; j < pt_type_numel(&a->type); j++)
      pt_tensor_set(v[i], j,
                    a->type.dtype == PT_I32 ? (double)(1 + (i + j) % 2)
                                            : sin(1.7 * (double)j + 0.9 * (double)i + 0.3));
  }
  return v;
}

static void expect_close(const char *what, const char *name, int64_t j, double got, double want,
                         double scale) {
  ck_assert_msg(fabs(got - want) <= 1e-6 * fmax(fabs(want), scale) + 1e-30,
                "%s: %s[%lld] is %.9g, want %.9g", what, name, (long long)j, got, want);
}

typedef struct {
  const char *name;
  pt_optim_kind kind;
  double lr; /* 0: the default */
} update_case;

static const update_case update_cases[] = {
    {"sgd", PT_OPTIM_SGD, 0},
    {"sgd lr 0.5", PT_OPTIM_SGD, 0.5},
    {"momentum", PT_OPTIM_MOMENTUM, 0},
    {"adam", PT_OPTIM_ADAM, 0},
    {"adam lr 0.05", PT_OPTIM_ADAM, 0.05},
};

/* Steps train_step twice (adam: so bias correction at t = 2 is covered;
 * momentum: so the buffer is used) and checks every param and state value
 * after each step against the update computed here from loss_grad. */
START_TEST(one_step_matches_formula) {
  const update_case *c = &update_cases[_i];
  pt_module *m = pt_test_parse_ok(small_src);
  pt_optimizer o = pt_optimizer_default(c->kind);
  if (c->lr)
    o.lr = c->lr;
  pt_func *ts = build_step(m, &o);
  pt_func *loss = pt_module_find_func(m, "loss"), *grad = pt_module_find_func(m, "loss_grad");
  ck_assert_ptr_nonnull(grad);
  pt_tensor **vals = small_values(loss);
  pt_tensor **args = step_args(ts, loss, vals);
  /* the update in f32, one rounding per operation as the interpreter does
   * (a step of adam can cancel in m' = beta1 m + (1 - beta1) g, where double
   * arithmetic would differ by far more than f32 rounding) */
  float lr = (float)o.lr, mu = (float)o.momentum, b1 = (float)o.beta1, b2 = (float)o.beta2;
  float c1 = (float)(1 - o.beta1), c2 = (float)(1 - o.beta2), eps = (float)o.eps;
  for (int step = 1; step <= 2; step++) {
    /* the gradient at the current params */
    for (int i = 0; i < loss->nargs; i++) {
      const pt_value *p = pt_func_find_arg(ts, loss->args[i]->name);
      pt_tensor_destroy(vals[i]);
      vals[i] = pt_tensor_clone(args[p->arg_index]);
    }
    pt_tensor **g = run_func(grad, vals);
    pt_tensor **res = run_func(ts, args);
    double gl = pt_tensor_get(g[0], 0), sl = pt_tensor_get(res[ts->nresults - 1], 0);
    ck_assert_msg(gl == sl, "%s step %d: train_step's loss %.9g, loss_grad's %.9g", c->name, step,
                  sl, gl);
    float bc1 = 1.0f - (float)pow(b1, step), bc2 = 1.0f - (float)pow(b2, step);
    const char *pn[2] = {"w", "b"};
    for (int k = 0; k < 2; k++) {
      const pt_tensor *p = args[k], *gp = g[1 + k], *np = res[k];
      char gname[16];
      snprintf(gname, sizeof gname, "grad.%s", pn[k]);
      ck_assert_str_eq(grad->results[1 + k].name, gname);
      for (int64_t j = 0; j < pt_type_numel(&p->type); j++) {
        float pv = (float)pt_tensor_get(p, j), gv = (float)pt_tensor_get(gp, j), want = 0;
        switch (c->kind) {
        case PT_OPTIM_SGD:
          want = pv - lr * gv;
          break;
        case PT_OPTIM_MOMENTUM: {
          float buf = (float)pt_tensor_get(args[2 + k], j);
          buf = mu * buf + gv;
          want = pv - lr * buf;
          expect_close(c->name, "buf", j, pt_tensor_get(res[2 + k], j), buf, fabsf(gv));
          break;
        }
        case PT_OPTIM_ADAM: {
          float m1 = (float)pt_tensor_get(args[2 + 2 * k], j);
          float v1 = (float)pt_tensor_get(args[3 + 2 * k], j);
          m1 = b1 * m1 + c1 * gv;
          v1 = b2 * v1 + c2 * (gv * gv);
          float mhat = m1 / bc1, vhat = v1 / bc2;
          want = pv - lr * (mhat / (sqrtf(vhat) + eps));
          expect_close(c->name, "m", j, pt_tensor_get(res[2 + 2 * k], j), m1, fabsf(gv));
          expect_close(c->name, "v", j, pt_tensor_get(res[3 + 2 * k], j), v1, gv * gv);
          break;
        }
        }
        expect_close(c->name, pn[k], j, pt_tensor_get(np, j), want, fabs(pv));
      }
    }
    if (c->kind == PT_OPTIM_ADAM)
      ck_assert_msg(pt_tensor_get(res[6], 0) == step, "opt.step is %g after step %d",
                    pt_tensor_get(res[6], 0), step);
    free_tensors(g, grad->nresults);
    advance(ts, args, res);
  }
  free_tensors(args, ts->nargs);
  free_tensors(vals, loss->nargs);
  pt_module_destroy(m);
}
END_TEST

/* ---- real models ---------------------------------------------------------- */

/* The MLP's forward pass, returning the prediction: the teacher. */
static const char *teacher_src =
    "func @teacher(input %x: f32[64,1024], param %w1: f32[1024,1024], param %b1: f32[1024],\n"
    "              param %w2: f32[1024,1024], param %b2: f32[1024]) -> (y: f32[64,1024]) {\n"
    "  %xw1 = dot %x, %w1 {lhs_contract = [1], rhs_contract = [0]} : f32[64,1024]\n"
    "  %b1b = broadcast %b1 {dims = [1]} : f32[64,1024]\n"
    "  %h_pre = add %xw1, %b1b : f32[64,1024]\n"
    "  %zero = constant {value = 0.0} : f32[64,1024]\n"
    "  %h = max %h_pre, %zero : f32[64,1024]\n"
    "  %hw2 = dot %h, %w2 {lhs_contract = [1], rhs_contract = [0]} : f32[64,1024]\n"
    "  %b2b = broadcast %b2 {dims = [1]} : f32[64,1024]\n"
    "  %y = add %hw2, %b2b : f32[64,1024]\n"
    "  return %y\n"
    "}\n";

enum { TEACHER_SEED = 11, STUDENT_SEED = 5 };

/* Adam on examples/mlp.pir with y from a random teacher network: 40 steps
 * (20 under the sanitizers) must cut the loss 10x (20: make it fall). It
 * gets there at step 17 and goes on falling (200 steps: ~1e9x), so 40 is a
 * margin of two, not a knife edge; more steps only cost CI time. */
START_TEST(mlp_fits_a_teacher) {
  int steps = sanitized() ? 20 : 40;
  pt_module *m = load_example("examples/mlp.pir");
  pt_func *loss = pt_module_find_func(m, "loss");
  pt_tensor **vals = pt_calloc((size_t)loss->nargs + 1, sizeof *vals);
  for (int i = 0; i < loss->nargs; i++) {
    pt_init_spec s = pt_init_spec_for(loss, loss->args[i], STUDENT_SEED);
    vals[i] = pt_init_tensor(&s, loss->args[i]->type);
  }
  /* y = teacher(x), teacher params from another seed */
  pt_module *tm = pt_test_parse_ok(teacher_src);
  pt_func *teacher = tm->funcs[0];
  pt_tensor *targs[5];
  targs[0] = vals[pt_func_find_arg(loss, "x")->arg_index];
  for (int i = 1; i < 5; i++) {
    pt_init_spec s = pt_init_spec_for(teacher, teacher->args[i], TEACHER_SEED);
    targs[i] = pt_init_tensor(&s, teacher->args[i]->type);
  }
  pt_tensor **y = run_func(teacher, targs);
  int iy = pt_func_find_arg(loss, "y")->arg_index;
  pt_tensor_destroy(vals[iy]);
  vals[iy] = y[0];
  pt_free(y);
  for (int i = 1; i < 5; i++)
    pt_tensor_destroy(targs[i]);
  pt_module_destroy(tm);

  pt_optimizer o = pt_optimizer_default(PT_OPTIM_ADAM);
  o.lr = 1e-3;
  double t0 = now();
  pt_func *ts = build_step(m, &o);
  double tbuild = now() - t0;
  pt_tensor **args = step_args(ts, loss, vals);
  double first = 0, last = 0;
  int tenfold = 0; /* the first step whose loss is 10x below the first's */
  t0 = now();
  for (int s = 0; s < steps; s++) {
    last = advance(ts, args, run_func(ts, args));
    if (s == 0)
      first = last;
    if (!tenfold && first / last >= 10)
      tenfold = s + 1;
    ck_assert_msg(isfinite(last), "loss is %g at step %d", last, s + 1);
  }
  double secs = now() - t0;
  fprintf(stderr,
          "mlp_fits_a_teacher: adam lr %g, %d steps: loss %.6g -> %.6g (first/final %.1f); "
          "10x lower at step %d; build %.2f s, %.3f s per step\n",
          o.lr, steps, first, last, first / last, tenfold, tbuild, secs / steps);
  if (sanitized())
    ck_assert_msg(last < first, "loss did not fall: %g -> %g", first, last);
  else
    ck_assert_msg(first / last >= 10, "loss fell only %.2fx: %g -> %g", first / last, first, last);
  free_tensors(args, ts->nargs);
  free_tensors(vals, loss->nargs);
  pt_module_destroy(m);
}
END_TEST

/* The transformer block's train_step runs for 2 steps with finite losses
 * that equal what the loss function gives for the same params. */
START_TEST(transformer_two_steps) {
  pt_module *m = load_example("examples/transformer_block.pir");
  pt_func *loss = pt_module_find_func(m, "loss");
  pt_tensor **vals = pt_calloc((size_t)loss->nargs + 1, sizeof *vals);
  for (int i = 0; i < loss->nargs; i++) {
    pt_init_spec s = pt_init_spec_for(loss, loss->args[i], 3);
    vals[i] = pt_init_tensor(&s, loss->args[i]->type);
  }
  pt_optimizer o = pt_optimizer_default(PT_OPTIM_ADAM);
  double t0 = now();
  pt_func *ts = build_step(m, &o);
  double tbuild = now() - t0;
  pt_tensor **args = step_args(ts, loss, vals);
  double l[2];
  t0 = now();
  for (int s = 0; s < 2; s++) {
    l[s] = advance(ts, args, run_func(ts, args));
    ck_assert_msg(isfinite(l[s]), "loss is %g at step %d", l[s], s + 1);
  }
  double secs = now() - t0;
  pt_tensor **ref = run_func(loss, vals);
  ck_assert_msg(pt_tensor_get(ref[0], 0) == l[0], "step 1's loss %.9g, @loss gives %.9g", l[0],
                pt_tensor_get(ref[0], 0));
  free_tensors(ref, loss->nresults);
  fprintf(stderr, "transformer_two_steps: loss %.6g -> %.6g; build %.2f s, %.2f s per step\n", l[0],
          l[1], tbuild, secs / 2);
  free_tensors(args, ts->nargs);
  free_tensors(vals, loss->nargs);
  pt_module_destroy(m);
}
END_TEST

/* ---- the commands ----------------------------------------------------------- */

static char tmpdir[256];

typedef pt_test_result result;
#define slurp pt_test_slurp
#define result_free pt_test_result_free

static result partita(const char *args) {
  return pt_test_partita_run(tmpdir, args);
}

static void write_file(const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

static void setup(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/partita-train-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  write_file("vec.pir", "func @loss(param %w: f32[3], input %x: f32[3]) -> (loss: f32[3]) {\n"
                        "  %r = mul %w, %x : f32[3]\n  return %r\n}\n");
  write_file("int.pir",
             "func @loss(param %w: f32[3], param %k: i32[3], input %x: f32[3]) -> (loss: f32[]) {\n"
             "  %r = mul %w, %x : f32[3]\n"
             "  %s = reduce_sum %r {dims = [0]} : f32[]\n  return %s\n}\n");
  write_file("noparam.pir", "func @loss(input %x: f32[3]) -> (loss: f32[]) {\n"
                            "  %s = reduce_sum %x {dims = [0]} : f32[]\n  return %s\n}\n");
  write_file("clash.pir",
             "func @loss(param %w: f32[3], input %opt.w.m: f32[3]) -> (loss: f32[]) {\n"
             "  %r = mul %w, %opt.w.m : f32[3]\n"
             "  %s = reduce_sum %r {dims = [0]} : f32[]\n  return %s\n}\n");
  write_file("small.pir", small_src);
  /* a tensor of the wrong shape for %w */
  char path[512];
  snprintf(path, sizeof path, "%s/bad.safetensors", tmpdir);
  pt_tensor *w = pt_tensor_create(pt_type_make(PT_F32, 1, (int64_t[]){3}));
  const char *names[] = {"w"};
  const pt_tensor *ts[] = {w};
  pt_diag *d = pt_diag_create(stderr);
  ck_assert_int_eq(pt_st_write(path, 1, names, ts, 0, NULL, d), PT_OK);
  /* a misspelt param */
  snprintf(path, sizeof path, "%s/misspelt.safetensors", tmpdir);
  const char *misspelt[] = {"ww"};
  ck_assert_int_eq(pt_st_write(path, 1, misspelt, ts, 0, NULL, d), PT_OK);
  pt_diag_destroy(d);
  pt_tensor_destroy(w);
}

static void teardown(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}

typedef pt_test_usage_case cli_case;

#define SMALL "$T/small.pir"
static const cli_case cli_cases[] = {
    {"grad without a file", "grad", 2, "partita grad: error: no input file"},
    {"grad unknown option", "grad --frob " SMALL, 2, "unknown option"},
    {"grad an unknown function", "grad " SMALL " --func nope", 1,
     "has no function '@nope'; it has: @loss"},
    {"grad of a vector loss", "grad $T/vec.pir", 1,
     "vec.pir:1:52: error: the differentiated result 'loss' is f32[3]"},
    {"grad wrt an i32 param", "grad $T/int.pir", 1, "int.pir:1:36: error:"},
    {"train-step an unknown function", "train-step " SMALL " --optimizer sgd --func nope", 1,
     "has no function '@nope'"},
    {"train-step of a vector loss", "train-step $T/vec.pir --optimizer adam", 1,
     "must be an f32 scalar"},
    {"train-step wrt an i32 param", "train-step $T/int.pir --optimizer sgd", 1,
     "int.pir:1:36: error:"},
    {"train-step without params", "train-step $T/noparam.pir --optimizer sgd", 1,
     "@loss has no param arguments to train"},
    {"train-step with a clashing name", "train-step $T/clash.pir --optimizer adam", 1,
     "argument '%opt.w.m' would clash"},
    {"train-step without an optimizer", "train-step " SMALL, 2, "--optimizer is required"},
    {"train-step unknown optimizer", "train-step " SMALL " --optimizer rmsprop", 2,
     "unknown optimizer 'rmsprop'"},
    {"train-step malformed lr", "train-step " SMALL " --optimizer sgd --lr fast", 2,
     "--lr needs a number, not 'fast'"},
    {"train-step zero lr", "train-step " SMALL " --optimizer sgd --lr 0", 2,
     "--lr must be > 0, not 0"},
    {"train-step negative lr", "train-step " SMALL " --optimizer adam --lr -1e-3", 2,
     "--lr must be > 0"},
    {"train-step beta1 of 1", "train-step " SMALL " --optimizer adam --beta1 1", 2,
     "--beta1 must be in [0, 1), not 1"},
    {"train-step negative beta2", "train-step " SMALL " --optimizer adam --beta2 -0.5", 2,
     "--beta2 must be in [0, 1)"},
    {"train-step zero eps", "train-step " SMALL " --optimizer adam --eps 0", 2,
     "--eps must be > 0"},
    {"train-step negative momentum", "train-step " SMALL " --optimizer momentum --momentum -0.1", 2,
     "--momentum must be >= 0"},
    {"train-step momentum with sgd", "train-step " SMALL " --optimizer sgd --momentum 0.9", 2,
     "--momentum does not apply to --optimizer sgd"},
    {"train-step beta1 with momentum", "train-step " SMALL " --optimizer momentum --beta1 0.5", 2,
     "--beta1 does not apply"},
    {"train without --steps", "train " SMALL " --optimizer sgd", 2, "--steps is required"},
    {"train a negative timeout", "train " SMALL " --optimizer sgd --steps 1 --timeout -1", 2,
     "--timeout needs seconds >= 0 (0: no limit), not '-1'"},
    {"train a timeout of words", "train " SMALL " --optimizer sgd --steps 1 --timeout soon", 2,
     "--timeout needs seconds >= 0 (0: no limit), not 'soon'"},
    {"train a timeout on one process", "train " SMALL " --optimizer sgd --steps 1 --timeout 5", 2,
     "--timeout needs --tactics (it watches the ranks of a distributed run)"},
    {"train zero steps", "train " SMALL " --optimizer sgd --steps 0", 2,
     "--steps needs an integer >= 1, not '0'"},
    {"train malformed steps", "train " SMALL " --optimizer sgd --steps many", 2,
     "--steps needs an integer >= 1"},
    {"train zero every", "train " SMALL " --optimizer sgd --steps 2 --every 0", 2,
     "--every needs an integer >= 1"},
    {"train unknown optimizer", "train " SMALL " --optimizer lion --steps 2", 2,
     "unknown optimizer 'lion'"},
    {"train malformed eps", "train " SMALL " --optimizer adam --eps 1e-8x --steps 2", 2,
     "--eps needs a number"},
    {"train an unknown function", "train " SMALL " --func nope --optimizer sgd --steps 1", 1,
     "has no function '@nope'"},
    {"train an i32 param", "train $T/int.pir --optimizer sgd --steps 1", 1, "int.pir:1:36: error:"},
    {"train a vector loss", "train $T/vec.pir --optimizer sgd --steps 1", 1,
     "must be an f32 scalar"},
    {"train a missing inputs file", "train " SMALL " --optimizer sgd --steps 1 --inputs $T/no.st",
     1, "no.st: error: cannot open"},
    {"train with a tensor of the wrong shape",
     "train " SMALL " --optimizer sgd --steps 1 --inputs $T/bad.safetensors", 1,
     "tensor 'w' is f32[3] but argument %w of @train_step is f32[3,2]"},
    {"train with a tensor that is no argument",
     "train " SMALL " --optimizer sgd --steps 1 --inputs $T/misspelt.safetensors", 1,
     "misspelt.safetensors: error: tensor 'ww' is not an argument of @train_step (did you mean "
     "'w'? its arguments: w,"},
    {"train-step writing to a missing directory",
     "train-step " SMALL " --optimizer sgd -o /nonexistent/dir/o.pir", 1,
     "/nonexistent/dir/o.pir: error: cannot write"},
    {"train writing to a missing directory",
     "train " SMALL " --optimizer sgd --steps 1 --out /nonexistent/dir/o.safetensors", 1, "cannot"},
};

START_TEST(command_errors) {
  const cli_case *c = &cli_cases[_i];
  pt_test_check_usage(tmpdir, c);
}
END_TEST

START_TEST(command_help) {
  const char *cmds[] = {"grad", "train-step", "train"};
  result r = partita("--help");
  ck_assert_int_eq(r.status, 0);
  for (int i = 0; i < 3; i++)
    ck_assert_msg(strstr(r.out, cmds[i]), "top-level help lacks %s", cmds[i]);
  result_free(&r);
  for (int i = 0; i < 3; i++) {
    char args[64], want[64];
    snprintf(args, sizeof args, "%s --help", cmds[i]);
    snprintf(want, sizeof want, "Usage: partita %s FILE", cmds[i]);
    r = partita(args);
    ck_assert_msg(r.status == 0 && strstr(r.out, want), "%s --help failed", cmds[i]);
    result_free(&r);
    snprintf(args, sizeof args, "help %s", cmds[i]);
    r = partita(args);
    ck_assert_msg(r.status == 0 && strstr(r.out, want), "help %s failed", cmds[i]);
    result_free(&r);
  }
}
END_TEST

/* grad and train-step write modules that `partita check` accepts; without
 * -o they print the same text. */
START_TEST(commands_write_valid_modules) {
  const char *cmds[] = {"grad examples/mlp.pir", "train-step examples/mlp.pir --optimizer adam",
                        "train-step " SMALL " --optimizer momentum --momentum 0.5 --lr 0.1"};
  const char *want[] = {"func @loss_grad(", "func @train_step(", "func @train_step("};
  for (int i = 0; i < 3; i++) {
    char args[512];
    snprintf(args, sizeof args, "%s -o $T/o.pir", cmds[i]);
    result r = partita(args);
    ck_assert_msg(r.status == 0, "%s: %s", cmds[i], r.err);
    result_free(&r);
    r = partita("check $T/o.pir");
    ck_assert_msg(r.status == 0 && strstr(r.out, ": ok ("), "check of %s's output: %s%s", cmds[i],
                  r.out, r.err);
    result_free(&r);
    char path[512];
    snprintf(path, sizeof path, "%s/o.pir", tmpdir);
    char *written = slurp(path);
    ck_assert_msg(strstr(written, want[i]), "%s wrote no %s", cmds[i], want[i]);
    r = partita(cmds[i]);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, written);
    result_free(&r);
    pt_free(written);
  }
  /* the grad output keeps the loss and names the gradients */
  result r = partita("grad examples/mlp.pir");
  ck_assert(strstr(r.out, "func @loss(") && strstr(r.out, "grad.w1: f32[1024,1024]") &&
            strstr(r.out, "grad.b2: f32[1024]"));
  result_free(&r);
}
END_TEST

/* train: --json gives one object with a loss per step; progress lines and
 * --every; --out writes params and state that --inputs takes back, and the
 * seeded start equals `run`'s for the same seed. */
START_TEST(train_command) {
  result r = partita("train " SMALL " --optimizer adam --lr 0.05 --steps 3 --seed 4 --json");
  ck_assert_msg(r.status == 0, "%s", r.err);
  json_error_t je;
  json_t *root = json_loads(r.out, 0, &je);
  ck_assert_msg(root != NULL, "train --json is not JSON: %s\n%s", je.text, r.out);
  json_t *losses = json_object_get(root, "losses");
  ck_assert_int_eq(json_array_size(losses), 3);
  ck_assert_int_eq(json_integer_value(json_object_get(root, "steps")), 3);
  double first = json_real_value(json_object_get(root, "first_loss"));
  double final = json_real_value(json_object_get(root, "final_loss"));
  ck_assert(first == json_real_value(json_array_get(losses, 0)));
  ck_assert(final == json_real_value(json_array_get(losses, 2)));
  ck_assert_msg(final < first, "loss %g -> %g", first, final);
  ck_assert(json_real_value(json_object_get(root, "median_step_seconds")) >= 0);
  json_decref(root);
  result_free(&r);

  /* the first loss is the loss `run` computes with the same seed */
  r = partita("run " SMALL " --seed 4 --json");
  root = json_loads(r.out, 0, NULL);
  ck_assert_ptr_nonnull(root);
  double run_loss =
      json_real_value(json_object_get(json_array_get(json_object_get(root, "results"), 0), "mean"));
  ck_assert_msg(fabs(run_loss - first) <= 1e-7 * fabs(first), "run gives %.9g, train %.9g",
                run_loss, first);
  json_decref(root);
  result_free(&r);

  /* lines: every 4th step plus the first and the last */
  r = partita("train " SMALL " --optimizer sgd --steps 10 --every 4 --out $T/p.safetensors");
  ck_assert_msg(r.status == 0, "%s", r.err);
  int lines = 0;
  for (const char *p = r.out; (p = strstr(p, "\nstep ")); p++)
    lines++;
  ck_assert_msg(lines == 4, "%d step lines:\n%s", lines, r.out); /* 1, 4, 8, 10 */
  ck_assert(strstr(r.out, "step  1") && strstr(r.out, "step  4") && strstr(r.out, "step  8") &&
            strstr(r.out, "step 10") && strstr(r.out, "first loss"));
  result_free(&r);
  char path[512];
  snprintf(path, sizeof path, "%s/p.safetensors", tmpdir);
  pt_diag *d = pt_diag_create(stderr);
  pt_st_file *f = pt_st_read(path, d);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(pt_st_count(f), 2); /* w and b: sgd has no state */
  ck_assert_ptr_nonnull(pt_st_find(f, "w"));
  ck_assert_str_eq(pt_st_meta(f, "partita.steps"), "10");
  ck_assert_str_eq(pt_st_meta(f, "partita.optimizer"), "sgd");
  ck_assert_str_eq(pt_st_meta(f, "partita.func"), "loss");
  pt_st_close(f);

  /* adam resumed from its --out continues where it stopped: 2 + 2 steps
   * give the losses of 4 */
  r = partita("train " SMALL " --optimizer adam --lr 0.05 --steps 4 --json");
  root = json_loads(r.out, 0, NULL);
  ck_assert_ptr_nonnull(root);
  double l4 = json_real_value(json_array_get(json_object_get(root, "losses"), 3));
  json_decref(root);
  result_free(&r);
  r = partita("train " SMALL " --optimizer adam --lr 0.05 --steps 2 --out $T/a.safetensors");
  ck_assert_msg(r.status == 0, "%s", r.err);
  result_free(&r);
  snprintf(path, sizeof path, "%s/a.safetensors", tmpdir);
  f = pt_st_read(path, d);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(pt_st_count(f), 7); /* w, b, their m and v, opt.step */
  ck_assert(pt_tensor_get(pt_st_find(f, "opt.step"), 0) == 2);
  pt_st_close(f);
  r = partita("train " SMALL " --optimizer adam --lr 0.05 --steps 2 --inputs $T/a.safetensors "
              "--json");
  ck_assert_msg(r.status == 0, "%s", r.err);
  root = json_loads(r.out, 0, NULL);
  ck_assert_ptr_nonnull(root);
  ck_assert(json_real_value(json_array_get(json_object_get(root, "losses"), 1)) == l4);
  json_decref(root);
  result_free(&r);
  pt_diag_destroy(d);
}
END_TEST

int main(void) {
  Suite *s = suite_create("train");
  TCase *tc = tcase_create("train_step");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, signature, 0, (int)(sizeof sig_cases / sizeof sig_cases[0]));
  tcase_add_test(tc, pass_rejects_bad_hyperparameters);
  tcase_add_loop_test(tc, one_step_matches_formula, 0,
                      (int)(sizeof update_cases / sizeof update_cases[0]));
  suite_add_tcase(s, tc);
  TCase *cli = tcase_create("commands");
  tcase_add_checked_fixture(cli, setup, teardown);
  tcase_set_timeout(cli, 300);
  tcase_add_loop_test(cli, command_errors, 0, (int)(sizeof cli_cases / sizeof cli_cases[0]));
  tcase_add_test(cli, command_help);
  tcase_add_test(cli, commands_write_valid_modules);
  tcase_add_test(cli, train_command);
  suite_add_tcase(s, cli);
  TCase *big = tcase_create("models");
  tcase_set_timeout(big, 1200);
  tcase_add_test(big, mlp_fits_a_teacher);
  tcase_add_test(big, transformer_two_steps);
  suite_add_tcase(s, big);
  return pt_test_main(s);
}
