/* The training loop as library code (runtime/train.h), called in-process:
 * the one-rank loop's losses fall on the teacher's data, the progress
 * callback sees every step once with its loss, a checkpointed and resumed
 * run continues exactly as an uninterrupted one, a data source plugs in
 * without the loop knowing it, and bad options are errors, not crashes. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init.h"
#include "safetensors.h"
#include "testutil.h"
#include "train.h"
#include "train_impl.h"

/* A two-layer tanh network on 8 samples: small enough for many steps in
 * the interpreter, big enough that the teacher's targets are learnt. */
static const char *mlp_src =
    "func @loss(input %x: f32[8,4], param %w1: f32[4,8], param %w2: f32[8,2],\n"
    "           input %y: f32[8,2]) -> (loss: f32[]) {\n"
    "  %h0 = dot %x, %w1 {lhs_contract = [1], rhs_contract = [0]} : f32[8,8]\n"
    "  %h = tanh %h0 : f32[8,8]\n"
    "  %p = dot %h, %w2 {lhs_contract = [1], rhs_contract = [0]} : f32[8,2]\n"
    "  %e = sub %p, %y : f32[8,2]\n"
    "  %sq = mul %e, %e : f32[8,2]\n"
    "  %s = reduce_sum %sq {dims = [0, 1]} : f32[]\n"
    "  %n = constant {value = 16.0} : f32[]\n"
    "  %loss = div %s, %n : f32[]\n"
    "  return %loss\n"
    "}\n";

static char tmpdir[256];

static void setup(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/partita-trainlib-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}

/* What the progress callback saw. */
typedef struct {
  int started, resumed, steps, checkpoints, interrupted, signal;
  int raise_at; /* raise SIGINT in the callback of this step (from 1; 0: never) */
  uint64_t resumed_at, checkpoint_steps[8];
  double losses[64];
  uint64_t step_numbers[64];
  bool out_of_order;
} seen;

static void record(void *ctx, const pt_train_event *ev) {
  seen *s = ctx;
  switch (ev->kind) {
  case PT_TRAIN_RESUMED:
    s->resumed++;
    s->resumed_at = ev->step;
    break;
  case PT_TRAIN_STARTED:
    s->started++;
    s->out_of_order |= s->steps > 0;
    break;
  case PT_TRAIN_STEP:
    s->out_of_order |= !s->started || ev->index != (uint64_t)s->steps || ev->rank != 0 ||
                       ev->ranks != 1 || ev->batch != 8;
    if (s->steps < 64) {
      s->losses[s->steps] = ev->loss;
      s->step_numbers[s->steps] = ev->step;
    }
    s->steps++;
    if (s->raise_at && ev->step == (uint64_t)s->raise_at)
      raise(SIGINT);
    break;
  case PT_TRAIN_INTERRUPTED:
    s->interrupted++;
    s->signal = ev->signal;
    s->out_of_order |= s->steps == 0;
    break;
  case PT_TRAIN_CHECKPOINT:
    if (s->checkpoints < 8)
      s->checkpoint_steps[s->checkpoints] = ev->step;
    s->checkpoints++;
    break;
  case PT_TRAIN_VERIFIED:
  case PT_TRAIN_PROFILED:
  case PT_TRAIN_RANK_FAILED:
    s->out_of_order = true; /* never on one rank */
    break;
  }
}

/* The options for o->steps of Adam on mlp_src with the teacher's data;
 * the caller destroys *m. */
static pt_train_opts mlp_opts(pt_module **m, uint64_t steps, seen *s) {
  *m = pt_test_parse_ok(mlp_src);
  pt_optimizer opt = pt_optimizer_default(PT_OPTIM_ADAM);
  opt.lr = 0.05;
  return (pt_train_opts){.module = *m,
                         .loss = pt_module_find_func(*m, "loss"),
                         .opt = opt,
                         .steps = steps,
                         .seed = 3,
                         .data = PT_TRAIN_DATA_TEACHER,
                         .progress = s ? record : NULL,
                         .progress_ctx = s};
}

/* Runs o, which must succeed. */
static void run_ok(const pt_train_opts *o, pt_train_report *r) {
  pt_diag *d = pt_diag_create(stderr);
  ck_assert_int_eq(pt_train_run(o, r, d), PT_OK);
  ck_assert_int_eq(pt_diag_error_count(d), 0);
  pt_diag_destroy(d);
}

/* 60 steps of Adam on the teacher's targets cut the loss 5x; every step's
 * loss reaches the callback once, in order, and equals the report's. */
START_TEST(loss_falls_and_every_step_is_reported) {
  pt_module *m;
  seen s = {0};
  pt_train_opts o = mlp_opts(&m, 60, &s);
  pt_train_report r;
  run_ok(&o, &r);
  ck_assert_int_eq(r.steps, 60);
  ck_assert_int_eq(r.first_step, 1);
  ck_assert_int_eq(r.ranks, 1);
  ck_assert_int_eq(r.batch, 8);
  ck_assert_ptr_null(r.peak_bytes);
  ck_assert_ptr_nonnull(r.train_step);
  ck_assert_str_eq(r.train_step->name, "train_step");
  double first = r.losses[0], final = r.losses[59];
  ck_assert_msg(first / final >= 5, "loss fell only %.2fx: %g -> %g", first / final, first, final);
  ck_assert_int_eq(s.started, 1);
  ck_assert_int_eq(s.resumed, 0);
  ck_assert_int_eq(s.checkpoints, 0);
  ck_assert_int_eq(s.steps, 60);
  ck_assert(!s.out_of_order);
  for (int k = 0; k < 60; k++) {
    ck_assert_msg(s.losses[k] == r.losses[k], "step %d: callback %g, report %g", k + 1,
                  s.losses[k], r.losses[k]);
    ck_assert_int_eq(s.step_numbers[k], k + 1);
    ck_assert(r.seconds[k] >= 0);
  }
  ck_assert(r.median_seconds >= 0);
  pt_train_report_free(&r);
  pt_module_destroy(m);
}
END_TEST

/* 3 steps with checkpoints, then 3 resumed from the last one, give the
 * losses of 6 uninterrupted steps exactly; the checkpoint is a safetensors
 * file with the step and the optimizer state. */
START_TEST(resume_continues_exactly) {
  pt_module *m;
  pt_train_opts o = mlp_opts(&m, 6, NULL);
  pt_train_report whole;
  run_ok(&o, &whole);
  pt_module_destroy(m);

  char dir[512], path[600];
  snprintf(dir, sizeof dir, "%s/ck", tmpdir);
  seen s1 = {0};
  o = mlp_opts(&m, 3, &s1);
  o.ckpt_dir = dir;
  o.ckpt_every = 2;
  pt_train_report part;
  run_ok(&o, &part);
  pt_module_destroy(m);
  ck_assert_int_eq(s1.checkpoints, 2); /* after steps 2 and 3 (the last) */
  ck_assert_int_eq(s1.checkpoint_steps[0], 2);
  ck_assert_int_eq(s1.checkpoint_steps[1], 3);
  snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
  pt_diag *d = pt_diag_create(stderr);
  pt_st_file *f = pt_st_read(path, d);
  ck_assert_ptr_nonnull(f);
  ck_assert_str_eq(pt_st_meta(f, "partita.step"), "3");
  ck_assert_str_eq(pt_st_meta(f, "partita.optimizer"), "adam");
  ck_assert_str_eq(pt_st_meta(f, "partita.func"), "loss");
  ck_assert_ptr_nonnull(pt_st_find(f, "opt.w1.m"));
  ck_assert(pt_tensor_get(pt_st_find(f, "opt.step"), 0) == 3);
  ck_assert_ptr_null(pt_st_find(f, "x")); /* data is not state */
  pt_st_close(f);
  pt_diag_destroy(d);

  seen s2 = {0};
  o = mlp_opts(&m, 3, &s2);
  o.ckpt_dir = dir;
  o.resume = true;
  pt_train_report rest;
  run_ok(&o, &rest);
  pt_module_destroy(m);
  ck_assert_int_eq(s2.resumed, 1);
  ck_assert_int_eq(s2.resumed_at, 3);
  ck_assert_int_eq(rest.first_step, 4);
  for (int k = 0; k < 3; k++) {
    ck_assert_msg(part.losses[k] == whole.losses[k], "step %d: %.9g vs %.9g", k + 1,
                  part.losses[k], whole.losses[k]);
    ck_assert_msg(rest.losses[k] == whole.losses[k + 3], "step %d: resumed %.9g, whole %.9g",
                  k + 4, rest.losses[k], whole.losses[k + 3]);
    ck_assert_int_eq(s2.step_numbers[k], k + 4);
  }
  pt_train_report_free(&whole);
  pt_train_report_free(&part);
  pt_train_report_free(&rest);
}
END_TEST

/* A data source of our own: y = the first two columns of x, recomputed
 * from the seed as a language-model task recomputes tokens for its
 * labels. It sees the loss's inputs only; the first loss is the loss of
 * those values. */
typedef struct {
  int calls, made;
} copy_ctx;

static pt_tensor *copy_x(void *ctx, const pt_func *loss, const pt_value *input, uint64_t seed) {
  copy_ctx *c = ctx;
  c->calls++;
  ck_assert_int_eq(input->role, PT_ROLE_INPUT);
  if (strcmp(input->name, "y") != 0)
    return NULL;
  const pt_value *xa = pt_func_find_arg(loss, "x");
  pt_init_spec sp = pt_init_spec_for(loss, xa, seed);
  pt_tensor *x = pt_init_tensor(&sp, xa->type), *y = pt_tensor_create(input->type);
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 2; j++)
      pt_tensor_set(y, i * 2 + j, pt_tensor_get(x, i * 4 + j));
  pt_tensor_destroy(x);
  c->made++;
  return y;
}

START_TEST(a_data_source_plugs_in) {
  pt_module *m;
  copy_ctx c = {0};
  pt_train_opts o = mlp_opts(&m, 2, NULL);
  o.data = (pt_train_data){copy_x, &c};
  pt_train_report r;
  run_ok(&o, &r);
  ck_assert_int_eq(c.calls, 2); /* x and y */
  ck_assert_int_eq(c.made, 1);
  /* the loss function on the seeded params and x, and y from the source */
  const pt_func *loss = o.loss;
  pt_tensor *args[4], *res = NULL;
  for (int i = 0; i < 4; i++) {
    pt_init_spec sp = pt_init_spec_for(loss, loss->args[i], o.seed);
    args[i] = pt_init_tensor(&sp, loss->args[i]->type);
  }
  int iy = pt_func_find_arg(loss, "y")->arg_index;
  pt_tensor_destroy(args[iy]);
  args[iy] = copy_x(&c, loss, loss->args[iy], o.seed);
  pt_diag *d = pt_diag_create(stderr);
  ck_assert_int_eq(pt_interp_run(loss, args, &res, d), PT_OK);
  ck_assert_msg(fabs(pt_tensor_get(res, 0) - r.losses[0]) <= 1e-6 * fabs(r.losses[0]),
                "the loss of the source's data is %.9g but the loop's first %.9g",
                pt_tensor_get(res, 0), r.losses[0]);
  pt_tensor_destroy(res);
  for (int i = 0; i < 4; i++)
    pt_tensor_destroy(args[i]);
  pt_train_report_free(&r);
  pt_module_destroy(m);

  /* an --inputs file that gives one of the loss's inputs turns the source
   * off: the user's data wins whole */
  char path[600];
  snprintf(path, sizeof path, "%s/x.safetensors", tmpdir);
  pt_tensor *x = pt_tensor_create(pt_type_make(PT_F32, 2, (int64_t[]){8, 4}));
  const char *names[] = {"x"};
  const pt_tensor *ts[] = {x};
  ck_assert_int_eq(pt_st_write(path, 1, names, ts, 0, NULL, d), PT_OK);
  pt_tensor_destroy(x);
  c = (copy_ctx){0};
  o = mlp_opts(&m, 1, NULL);
  o.data = (pt_train_data){copy_x, &c};
  o.inputs = path;
  run_ok(&o, &r);
  ck_assert_int_eq(c.calls, 0);
  pt_train_report_free(&r);
  pt_module_destroy(m);
  pt_diag_destroy(d);
}
END_TEST

/* tests/data/nan_grad.pir, a loss of 0 whose gradient is 0 * inf = nan: the
 * loss check stops the run at step 2 (the first nan loss); --check-numerics
 * a step earlier, naming the param the update spoilt. */
START_TEST(check_numerics_names_the_spoilt_param) {
  char *path = pt_test_path("tests/data/nan_grad.pir"), *src = pt_test_slurp(path);
  for (int check = 0; check < 2; check++) {
    pt_module *m = pt_test_parse_ok(src);
    seen s = {0};
    pt_train_opts o = {.module = m,
                       .loss = pt_module_find_func(m, "loss"),
                       .opt = pt_optimizer_default(PT_OPTIM_SGD),
                       .steps = 5,
                       .progress = record,
                       .progress_ctx = &s,
                       .check_numerics = check};
    pt_diag *d = pt_diag_create(NULL);
    ck_assert_int_eq(pt_train_run(&o, NULL, d), PT_ERR);
    ck_assert_int_eq(s.steps, check ? 1 : 2);
    ck_assert(s.losses[0] == 0);
    const char *want = check ? "step 1: %w is not finite after the step's update "
                               "(--check-numerics); training stopped"
                             : "step 2: the loss is ";
    ck_assert_msg(strstr(pt_diag_text(d, 0), want), "%s", pt_diag_text(d, 0));
    pt_diag_destroy(d);
    pt_module_destroy(m);
  }
  pt_free(src);
  pt_free(path);
}
END_TEST

/* With stop_on_signal, a SIGINT during step 3 lets the step finish, writes
 * its state as a checkpoint and fails with a message saying so; the
 * handlers are the caller's again afterwards, and --resume continues after
 * step 3. */
START_TEST(a_signal_stops_after_the_step_with_a_checkpoint) {
  pt_module *m;
  seen s = {.raise_at = 3};
  pt_train_opts o = mlp_opts(&m, 10, &s);
  char dir[300];
  snprintf(dir, sizeof dir, "%s/ck", tmpdir);
  o.ckpt_dir = dir;
  o.ckpt_every = 5;
  o.stop_on_signal = true;
  struct sigaction before, after;
  sigaction(SIGINT, NULL, &before);
  pt_diag *d = pt_diag_create(NULL);
  ck_assert_int_eq(pt_train_run(&o, NULL, d), PT_ERR);
  sigaction(SIGINT, NULL, &after);
  ck_assert(before.sa_handler == after.sa_handler);
  ck_assert_int_eq(s.steps, 3);
  ck_assert_int_eq(s.interrupted, 1);
  ck_assert_int_eq(s.signal, SIGINT);
  ck_assert_int_eq(s.checkpoints, 1);
  ck_assert_int_eq(s.checkpoint_steps[0], 3);
  ck_assert(!s.out_of_order);
  ck_assert_msg(strstr(pt_diag_text(d, 0), "interrupted by SIGINT after step 3; its state is in "
                                           "the checkpoint"), "%s", pt_diag_text(d, 0));
  pt_diag_destroy(d);
  seen r = {0};
  o.progress_ctx = &r;
  o.resume = true;
  o.steps = 2;
  pt_train_report rep;
  run_ok(&o, &rep);
  ck_assert_int_eq(r.resumed_at, 3);
  ck_assert_int_eq(rep.first_step, 4);
  ck_assert_int_eq(r.interrupted, 0);
  pt_train_report_free(&rep);
  pt_module_destroy(m);
}
END_TEST

/* A loss that overflows (SGD with a learning rate of 1e18) stops the run
 * at the first non-finite step with an error naming it; the checkpoint on
 * disk is the last good step's, and opts.out is not written. */
START_TEST(a_nonfinite_loss_stops_before_writing) {
  pt_module *m;
  seen s = {0};
  pt_train_opts o = mlp_opts(&m, 10, &s);
  o.opt = pt_optimizer_default(PT_OPTIM_SGD);
  o.opt.lr = 1e18;
  char dir[300], out[300];
  snprintf(dir, sizeof dir, "%s/ck", tmpdir);
  snprintf(out, sizeof out, "%s/out.safetensors", tmpdir);
  o.ckpt_dir = dir;
  o.ckpt_every = 1;
  o.out = out;
  pt_diag *d = pt_diag_create(NULL);
  ck_assert_int_eq(pt_train_run(&o, NULL, d), PT_ERR);
  int bad = s.steps; /* the step the run stopped at */
  ck_assert_msg(bad >= 2 && bad < 10, "stopped after %d steps", bad);
  for (int k = 0; k + 1 < bad; k++)
    ck_assert_msg(isfinite(s.losses[k]), "step %d: loss %g before the stop", k + 1, s.losses[k]);
  ck_assert(!isfinite(s.losses[bad - 1]));
  ck_assert_int_eq(s.checkpoints, bad - 1);
  ck_assert_int_eq(s.checkpoint_steps[s.checkpoints - 1], (uint64_t)bad - 1);
  char want[512];
  snprintf(want, sizeof want, "step %d: the loss is ", bad);
  ck_assert_msg(strstr(pt_diag_text(d, 0), want), "%s", pt_diag_text(d, 0));
  snprintf(want, sizeof want, "(the checkpoint of step %d in %s is kept)", bad - 1, dir);
  ck_assert_msg(strstr(pt_diag_text(d, 0), want), "%s", pt_diag_text(d, 0));
  ck_assert_int_ne(access(out, F_OK), 0);
  pt_diag_destroy(d);
  /* the checkpoint is the last good step's: a resumed run starts after it */
  seen r = {0};
  o.progress_ctx = &r;
  o.resume = true;
  o.steps = 1;
  o.opt.lr = 1e-9;
  o.out = NULL;
  d = pt_diag_create(NULL);
  pt_train_run(&o, NULL, d);
  ck_assert_msg(r.resumed == 1, "%s", pt_diag_count(d) ? pt_diag_text(d, 0) : "no message");
  ck_assert_int_eq(r.resumed_at, (uint64_t)bad - 1);
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* Bad options and files: PT_ERR, one clear message, an empty report. */
typedef struct {
  const char *name;
  int what;
  const char *want;
} bad_case;

enum { NO_CKPT, FOREIGN_CKPT, VERIFY_ALONE, PROFILE_ALONE, ZERO_STEPS, RESUME_NO_DIR, BAD_INPUT };

static const bad_case bad_cases[] = {
    {"resume from a missing checkpoint", NO_CKPT, "checkpoint.safetensors: error: cannot open"},
    {"resume from another optimizer's checkpoint", FOREIGN_CKPT,
     "not a checkpoint of @loss trained with sgd (it says func 'loss', optimizer 'adam')"},
    {"verify on one rank", VERIFY_ALONE, "--verify needs a tactic script"},
    {"profile on one rank", PROFILE_ALONE, "--profile needs a tactic script"},
    {"no steps", ZERO_STEPS, "pt_train_run: steps must be >= 1"},
    {"resume without a directory", RESUME_NO_DIR, "resume and ckpt_every need ckpt_dir"},
    {"an input that is no argument", BAD_INPUT,
     "tensor 'w3' is not an argument of @train_step (did you mean 'w1'?"},
};

START_TEST(bad_options_are_errors) {
  const bad_case *c = &bad_cases[_i];
  char dir[512], path[600];
  snprintf(dir, sizeof dir, "%s/ck", tmpdir);
  pt_module *m;
  pt_train_opts o;
  if (c->what == FOREIGN_CKPT) { /* an adam checkpoint to misread */
    o = mlp_opts(&m, 1, NULL);
    o.ckpt_dir = dir;
    pt_train_report r;
    run_ok(&o, &r);
    pt_train_report_free(&r);
    pt_module_destroy(m);
  }
  o = mlp_opts(&m, 2, NULL);
  pt_diag *d = pt_diag_create(NULL);
  switch (c->what) {
  case NO_CKPT:
    o.ckpt_dir = dir;
    o.resume = true;
    break;
  case FOREIGN_CKPT:
    o.opt = pt_optimizer_default(PT_OPTIM_SGD);
    o.ckpt_dir = dir;
    o.resume = true;
    break;
  case VERIFY_ALONE:
    o.verify = true;
    break;
  case PROFILE_ALONE:
    o.profile = "p.json";
    break;
  case ZERO_STEPS:
    o.steps = 0;
    break;
  case RESUME_NO_DIR:
    o.resume = true;
    break;
  case BAD_INPUT: {
    snprintf(path, sizeof path, "%s/w3.safetensors", tmpdir);
    pt_tensor *w = pt_tensor_create(pt_type_make(PT_F32, 1, (int64_t[]){3}));
    const char *names[] = {"w3"};
    const pt_tensor *ts[] = {w};
    ck_assert_int_eq(pt_st_write(path, 1, names, ts, 0, NULL, d), PT_OK);
    pt_tensor_destroy(w);
    o.inputs = path;
    break;
  }
  }
  pt_train_report r;
  ck_assert_msg(pt_train_run(&o, &r, d) == PT_ERR, "%s: no error", c->name);
  ck_assert_msg(pt_diag_error_count(d) == 1, "%s: %d errors", c->name, pt_diag_error_count(d));
  ck_assert_msg(strstr(pt_diag_message(d, 0), c->want), "%s: '%s' lacks '%s'", c->name,
                pt_diag_message(d, 0), c->want);
  ck_assert_msg(!r.losses && !r.seconds && r.steps == 0, "%s: the report is not empty", c->name);
  pt_train_report_free(&r);
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* A checkpoint's "partita.step" is where --resume counts on from: decimal
 * digits from 1 to 2^53, or the file is refused naming the value. */
static const struct {
  const char *step; /* NULL: absent */
  uint64_t want;    /* 0: refused */
  const char *msg;
} step_cases[] = {
    {"1", 1, NULL},
    {"9007199254740992", 9007199254740992ull, NULL},
    {NULL, 0, "the file has no \"partita.step\": it is not a checkpoint"},
    {"", 0, "\"partita.step\" is '', not a step from 1 to 9007199254740992"},
    {"0", 0, "is '0', not a step"},
    {"-1", 0, "is '-1', not a step"},
    {"12x", 0, "is '12x', not a step"},
    {" 3", 0, "is ' 3', not a step"},
    {"9007199254740993", 0, "is '9007199254740993', not a step"},
    {"18446744073709551617", 0, "is '18446744073709551617', not a step"},
};

START_TEST(checkpoint_step_is_checked) {
  pt_module *m = pt_test_parse_ok("func @loss(param %w: f32[2]) -> (loss: f32[]) {\n"
                                  "  %loss = reduce_sum %w {dims = [0]} : f32[]\n"
                                  "  return %loss\n}\n");
  pt_train_opts o = {0};
  o.loss = m->funcs[0];
  o.opt.kind = PT_OPTIM_SGD;
  pt_diag *d = pt_diag_create(NULL);
  uint64_t step = 0;
  bool ok =
      pt_train_ckpt_meta_ok(&o, "ck.safetensors", "loss", "sgd", step_cases[_i].step, &step, d);
  const char *name = step_cases[_i].step ? step_cases[_i].step : "(absent)";
  if (step_cases[_i].want) {
    ck_assert_msg(ok && step == step_cases[_i].want, "step '%s' refused or misread", name);
  } else {
    ck_assert_msg(!ok && pt_diag_error_count(d) == 1, "step '%s' accepted", name);
    ck_assert_msg(strstr(pt_diag_message(d, 0), step_cases[_i].msg),
                  "step '%s': message '%s' lacks '%s'", name, pt_diag_message(d, 0),
                  step_cases[_i].msg);
    ck_assert_str_eq(pt_diag_loc(d, 0).file, "ck.safetensors");
  }
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("trainlib");
  TCase *tc = tcase_create("one_rank");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, loss_falls_and_every_step_is_reported);
  tcase_add_test(tc, resume_continues_exactly);
  tcase_add_test(tc, a_data_source_plugs_in);
  tcase_add_test(tc, a_nonfinite_loss_stops_before_writing);
  tcase_add_test(tc, check_numerics_names_the_spoilt_param);
  tcase_add_test(tc, a_signal_stops_after_the_step_with_a_checkpoint);
  tcase_add_loop_test(tc, bad_options_are_errors, 0,
                      (int)(sizeof bad_cases / sizeof bad_cases[0]));
  tcase_add_loop_test(tc, checkpoint_step_is_checked, 0,
                      (int)(sizeof step_cases / sizeof step_cases[0]));
  suite_add_tcase(s, tc);
  return pt_test_main(s);
}
