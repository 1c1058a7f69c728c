/* train_step: one step of training as one ordinary function. The loss's
 * gradient (pt_pass_autodiff) is inlined and followed by an optimizer update
 * of every param, so a whole step prints, parses, runs and partitions like
 * any other program.
 *
 * Requires: a verified module holding the loss function. Provides: the
 * gradient function and `train_step` (or out_name) added to the module,
 * which has then been through cse and dce. Breaks: nothing; the existing
 * functions compute what they did (cse and dce may tidy their bodies).
 *
 * train_step's signature, in order:
 *   arguments: the loss's params (role param), the optimizer state (role
 *              state: per param its slots `opt.<param>.<slot>`, then
 *              `opt.step` for adam), the loss's input and state arguments;
 *   results:   the updated params and optimizer state under the same names
 *              as the arguments they replace, then `loss`.
 * Hyper-parameters are f32[] constants broadcast to each param's shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "passes.h"
#include "strmap.h"

pt_optimizer pt_optimizer_default(pt_optim_kind kind) {
  pt_optimizer o = {kind, kind == PT_OPTIM_ADAM ? 1e-3 : 1e-2, 0.9, 0.9, 0.999, 1e-8};
  return o;
}

/* The state slots each optimizer keeps per param. */
static int slots(pt_optim_kind k, const char **names) {
  switch (k) {
  case PT_OPTIM_SGD:
    return 0;
  case PT_OPTIM_MOMENTUM:
    names[0] = "buf";
    return 1;
  case PT_OPTIM_ADAM:
    names[0] = "m";
    names[1] = "v";
    return 2;
  }
  PT_UNREACHABLE();
}

static bool check_opt(const pt_optimizer *o, pt_diag *d) {
  const char *what = NULL;
  double v = 0;
  if (!(o->lr > 0))
    what = "the learning rate must be > 0", v = o->lr;
  else if (o->kind == PT_OPTIM_MOMENTUM && !(o->momentum >= 0))
    what = "momentum must be >= 0", v = o->momentum;
  else if (o->kind == PT_OPTIM_ADAM && !(o->beta1 >= 0 && o->beta1 < 1))
    what = "beta1 must be in [0, 1)", v = o->beta1;
  else if (o->kind == PT_OPTIM_ADAM && !(o->beta2 >= 0 && o->beta2 < 1))
    what = "beta2 must be in [0, 1)", v = o->beta2;
  else if (o->kind == PT_OPTIM_ADAM && !(o->eps > 0))
    what = "eps must be > 0", v = o->eps;
  if (what)
    pt_diag_error(d, PT_NOLOC, "train_step: %s, not %g", what, v);
  return !what;
}

static char *opt_name(pt_module *m, const char *param, const char *slot) {
  size_t n = strlen(param) + strlen(slot) + 8;
  char *s = pt_arena_alloc(m->arena, n);
  snprintf(s, n, "opt.%s.%s", param, slot);
  return s;
}

/* The names train_step will use must not collide with the loss's own. */
static bool check_names(const pt_func *f, const pt_optimizer *o, pt_diag *d) {
  const char *sl[2];
  int ns = slots(o->kind, sl);
  bool ok = true;
  for (int i = 0; i < f->nargs; i++) {
    const pt_value *a = f->args[i];
    if (a->role == PT_ROLE_PARAM && strcmp(a->name, "loss") == 0) {
      pt_diag_error(d, a->loc, "param '%%loss' would clash with train_step's result 'loss'");
      ok = false;
    }
    if (strncmp(a->name, "opt.", 4) != 0)
      continue;
    bool clash = o->kind == PT_OPTIM_ADAM && strcmp(a->name, "opt.step") == 0;
    for (int j = 0; j < f->nargs && !clash; j++) {
      const pt_value *p = f->args[j];
      size_t n = strlen(p->name);
      if (p->role != PT_ROLE_PARAM || strncmp(a->name + 4, p->name, n) != 0 ||
          a->name[4 + n] != '.')
        continue;
      for (int k = 0; k < ns; k++)
        clash |= strcmp(a->name + 5 + n, sl[k]) == 0;
    }
    if (clash) {
      pt_diag_error(d, a->loc,
                    "argument '%%%s' would clash with train_step's optimizer state of the "
                    "same name",
                    a->name);
      ok = false;
    }
  }
  return ok;
}

/* A free function name: base, else base.2, base.3, ... */
static const char *free_name(pt_module *m, const char *base) {
  size_t n = strlen(base) + 24;
  char *s = pt_arena_alloc(m->arena, n);
  snprintf(s, n, "%s", base);
  for (int k = 2; pt_module_find_func(m, s); k++)
    snprintf(s, n, "%s.%d", base, k);
  return s;
}

/* An f32[] hyper-parameter; computed ones (1 - beta) are rounded to 15
 * digits so that 1 - 0.9 prints as 0.1 (the same f32 either way). */
static pt_value *hyper(pt_builder *b, double v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.15g", v);
  return pt_b_splat(b, strtod(buf, NULL), pt_type_scalar(PT_F32));
}

static pt_value *bcast(pt_builder *b, pt_value *s, pt_type t) {
  static const int64_t none[1] = {0};
  return t.rank == 0 ? s : pt_b_broadcast(b, s, none, t);
}

pt_status pt_pass_train_step(pt_module *m, const char *func, const pt_optimizer *opt,
                             const char *out_name, pt_func **out, pt_diag *d) {
  if (out)
    *out = NULL;
  if (!out_name)
    out_name = "train_step";
  pt_func *f = pt_module_find_func(m, func);
  if (!f) {
    pt_diag_error(d, (pt_loc){m->file, 0, 0}, "no function '@%s' to train", func);
    return PT_ERR;
  }
  if (pt_module_find_func(m, out_name)) {
    pt_diag_error(d, pt_module_find_func(m, out_name)->loc,
                  "the module already has a function '@%s'", out_name);
    return PT_ERR;
  }
  if (!check_opt(opt, d) || !check_names(f, opt, d))
    return PT_ERR;
  int nparams = 0;
  for (int i = 0; i < f->nargs; i++)
    nparams += f->args[i]->role == PT_ROLE_PARAM;
  if (nparams == 0) {
    pt_diag_error(d, f->loc, "@%s has no param arguments to train", f->name);
    return PT_ERR;
  }

  size_t n = strlen(func) + 8;
  char *gbase = pt_malloc(n);
  snprintf(gbase, n, "%s_grad", func);
  pt_autodiff_opts ao = {func, NULL, NULL, 0, free_name(m, gbase)};
  pt_free(gbase);
  pt_func *g = NULL;
  if (pt_pass_autodiff(m, &ao, &g, d) != PT_OK)
    return PT_ERR;
  PT_ASSERT(g && g->nargs == f->nargs);
  int iloss = pt_func_find_result(g, "loss");
  if (iloss < 0)
    iloss = 0; /* autodiff took the only result */

  /* the signature: params, optimizer state, then the loss's other args */
  pt_func *ts = pt_func_create(m, out_name, f->loc);
  const char *sl[2];
  int ns = slots(opt->kind, sl);
  pt_value **params = pt_calloc((size_t)nparams, sizeof *params);
  pt_value **state = pt_calloc((size_t)nparams * 2 + 1, sizeof *state);
  int np = 0, nstate = 0;
  for (int i = 0; i < f->nargs; i++)
    if (f->args[i]->role == PT_ROLE_PARAM)
      params[np++] =
          pt_func_add_arg(ts, f->args[i]->name, PT_ROLE_PARAM, f->args[i]->type, f->args[i]->loc);
  for (int i = 0; i < np; i++)
    for (int k = 0; k < ns; k++)
      state[nstate++] = pt_func_add_arg(ts, opt_name(m, params[i]->name, sl[k]), PT_ROLE_STATE,
                                        params[i]->type, params[i]->loc);
  pt_value *step = NULL;
  if (opt->kind == PT_OPTIM_ADAM)
    step = state[nstate++] =
        pt_func_add_arg(ts, "opt.step", PT_ROLE_STATE, pt_type_scalar(PT_F32), f->loc);
  for (int i = 0; i < f->nargs; i++)
    if (f->args[i]->role != PT_ROLE_PARAM)
      pt_func_add_arg(ts, f->args[i]->name, f->args[i]->role, f->args[i]->type, f->args[i]->loc);

  /* train_step's arguments and the gradient's results by name: looked up
   * once per argument and per op, so a deep model stays linear */
  pt_strmap ts_args = {0}, g_results = {0};
  for (int i = 0; i < ts->nargs; i++)
    pt_strmap_put(&ts_args, ts->args[i]->name, ts->args[i]);
  for (int i = 0; i < g->nresults; i++)
    pt_strmap_put(&g_results, g->results[i].name, &g->results[i]);

  /* the gradient, inlined */
  pt_builder b = {ts, f->loc};
  pt_value **gargs = pt_calloc((size_t)g->nargs + 1, sizeof *gargs);
  pt_value **gres = pt_calloc((size_t)g->nresults + 1, sizeof *gres);
  for (int i = 0; i < g->nargs; i++) {
    gargs[i] = pt_strmap_get(&ts_args, g->args[i]->name, strlen(g->args[i]->name));
    PT_ASSERT(gargs[i]);
  }
  int first = ts->nops;
  pt_b_inline(&b, g, gargs, gres);
  /* keep the loss's value names and locations, so the step reads like the
   * loss and runtime errors point at the loss's ops */
  PT_ASSERT(ts->nops == first + g->nops);
  for (int i = 0; i < g->nops; i++) {
    pt_op *op = ts->ops[first + i];
    const pt_value *src = g->ops[i]->result;
    op->loc = g->ops[i]->loc;
    if (src->name && !pt_strmap_get(&ts_args, src->name, strlen(src->name)))
      op->result->name = src->name;
  }

  /* the updates */
  pt_value *lr = hyper(&b, opt->lr);
  pt_value *mu = NULL, *b1 = NULL, *b2 = NULL, *c1 = NULL, *c2 = NULL, *eps = NULL;
  pt_value *bc1 = NULL, *bc2 = NULL, *step1 = NULL;
  if (opt->kind == PT_OPTIM_MOMENTUM)
    mu = hyper(&b, opt->momentum);
  if (opt->kind == PT_OPTIM_ADAM) {
    pt_value *one = hyper(&b, 1);
    b1 = hyper(&b, opt->beta1);
    b2 = hyper(&b, opt->beta2);
    c1 = hyper(&b, 1 - opt->beta1);
    c2 = hyper(&b, 1 - opt->beta2);
    eps = hyper(&b, opt->eps);
    step1 = pt_b_binary(&b, PT_OP_ADD, step, one);
    /* bias corrections 1 - beta^t for this step's t */
    bc1 = pt_b_binary(&b, PT_OP_SUB, one, pt_b_binary(&b, PT_OP_POW, b1, step1));
    bc2 = pt_b_binary(&b, PT_OP_SUB, one, pt_b_binary(&b, PT_OP_POW, b2, step1));
  }
  pt_value **newp = pt_calloc((size_t)np, sizeof *newp);
  pt_value **news = pt_calloc((size_t)nstate, sizeof *news);
  for (int i = 0; i < np; i++) {
    pt_value *p = params[i];
    pt_type t = p->type;
    char gname[512];
    snprintf(gname, sizeof gname, "grad.%s", p->name);
    const pt_result *gr_res = pt_strmap_get(&g_results, gname, strlen(gname));
    PT_ASSERT(gr_res);
    int gi = (int)(gr_res - g->results);
    pt_value *gr = gres[gi], *upd = NULL;
    switch (opt->kind) {
    case PT_OPTIM_SGD:
      upd = gr;
      break;
    case PT_OPTIM_MOMENTUM: {
      /* buf' = mu buf + g (PyTorch: dampening 0, no nesterov) */
      pt_value *buf = state[i];
      upd = pt_b_binary(&b, PT_OP_ADD, pt_b_binary(&b, PT_OP_MUL, bcast(&b, mu, t), buf), gr);
      news[i] = upd;
      break;
    }
    case PT_OPTIM_ADAM: {
      pt_value *mm = state[2 * i], *vv = state[2 * i + 1];
      pt_value *m1 = pt_b_binary(&b, PT_OP_ADD, pt_b_binary(&b, PT_OP_MUL, bcast(&b, b1, t), mm),
                                 pt_b_binary(&b, PT_OP_MUL, bcast(&b, c1, t), gr));
      pt_value *g2 = pt_b_binary(&b, PT_OP_MUL, gr, gr);
      pt_value *v1 = pt_b_binary(&b, PT_OP_ADD, pt_b_binary(&b, PT_OP_MUL, bcast(&b, b2, t), vv),
                                 pt_b_binary(&b, PT_OP_MUL, bcast(&b, c2, t), g2));
      pt_value *mhat = pt_b_binary(&b, PT_OP_DIV, m1, bcast(&b, bc1, t));
      pt_value *vhat = pt_b_binary(&b, PT_OP_DIV, v1, bcast(&b, bc2, t));
      /* eps outside the square root, as PyTorch and Optax */
      pt_value *den =
          pt_b_binary(&b, PT_OP_ADD, pt_b_unary(&b, PT_OP_SQRT, vhat), bcast(&b, eps, t));
      upd = pt_b_binary(&b, PT_OP_DIV, mhat, den);
      news[2 * i] = m1;
      news[2 * i + 1] = v1;
      break;
    }
    }
    newp[i] = pt_b_binary(&b, PT_OP_SUB, p, pt_b_binary(&b, PT_OP_MUL, bcast(&b, lr, t), upd));
  }
  if (step)
    news[nstate - 1] = step1;

  for (int i = 0; i < np; i++)
    pt_func_add_result(ts, params[i]->name, params[i]->type, newp[i], params[i]->loc);
  for (int i = 0; i < nstate; i++)
    pt_func_add_result(ts, state[i]->name, state[i]->type, news[i], state[i]->loc);
  pt_func_add_result(ts, "loss", g->results[iloss].type, gres[iloss], g->results[iloss].loc);
  pt_free(params);
  pt_free(state);
  pt_strmap_clear(&ts_args);
  pt_strmap_clear(&g_results);
  pt_free(gargs);
  pt_free(gres);
  pt_free(newp);
  pt_free(news);

  pt_pass_strip_stop_gradient(ts);
  if (pt_verify_func(ts, d) != PT_OK || pt_pass_cse(m, d) != PT_OK || pt_pass_dce(m, d) != PT_OK)
    return PT_ERR;
  if (out)
    *out = ts;
  return PT_OK;
}
