/* The verifier: everything the IR promises, checked on any module, whether
 * it was parsed or built by a pass. Errors point at the offending token. */
#include <string.h>

#include "ir.h"
#include "strmap.h"

static bool name_ok(const char *s, bool value_name) {
  if (!*s)
    return false;
  for (const char *c = s; *c; c++) {
    bool alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_';
    bool digit = *c >= '0' && *c <= '9';
    /* '/' joins the parts of an inlined name (layers.3/attn/q); '//' would
     * start a comment */
    bool slash = value_name && *c == '/' && c > s && c[1] != '/';
    bool punct = *c == '.' || *c == '$' || (value_name && *c == '-') || slash;
    if (c == s && !value_name && !alpha)
      return false;
    if (!alpha && !digit && !punct)
      return false;
  }
  return true;
}

pt_status pt_verify_func(const pt_func *f, pt_diag *d) {
  int errors = pt_diag_error_count(d);
  char b1[PT_TYPE_STRLEN], b2[PT_TYPE_STRLEN];
  /* which values are defined so far, by id */
  bool *defined = pt_calloc((size_t)f->nvalues + 1, 1);
  pt_strmap names = {0};
  for (int i = 0; i < f->nargs; i++) {
    const pt_value *a = f->args[i];
    if (!a->name || !name_ok(a->name, true))
      pt_diag_error(d, a->loc, "argument %d has no name that can be written as %%name", i + 1);
    else if (pt_strmap_put(&names, a->name, (void *)a))
      pt_diag_error(d, a->loc, "argument name '%%%s' is used twice", a->name);
    if (a->id < 0 || a->id >= f->nvalues || defined[a->id])
      pt_diag_error(d, a->loc, "argument %d is defined twice", i + 1);
    else
      defined[a->id] = true;
    if (a->def || a->arg_index != i)
      pt_diag_error(d, a->loc, "argument %d is malformed", i + 1);
  }
  for (int i = 0; i < f->nops; i++) {
    const pt_op *op = f->ops[i];
    bool ok = true;
    for (int k = 0; k < op->noperands; k++) {
      const pt_value *v = op->operands[k];
      if (!v || v->id < 0 || v->id >= f->nvalues || !defined[v->id] ||
          (v->def && v->def->func != f) || (!v->def && f->args[v->arg_index] != v)) {
        pt_diag_error(d, op->loc, "operand %d of '%s' is not defined before its use", k + 1,
                      pt_op_name(op->code));
        ok = false;
      }
    }
    const pt_value *r = op->result;
    if (!r || (op->results && op->results[0] != r)) {
      pt_diag_error(d, op->loc, "'%s' has no result", pt_op_name(op->code));
      continue;
    }
    if ((op->code == PT_OP_CALL) != (op->results != NULL && op->callee != NULL)) {
      pt_diag_error(d, op->loc, "'%s' is malformed", pt_op_name(op->code));
      continue;
    }
    if (ok) {
      pt_type t;
      if (pt_op_infer(op, &r->type, &t, d) == PT_OK && !pt_type_equal(&t, &r->type))
        pt_diag_error(d, op->loc, "'%s' gives %s, but its result is declared %s",
                      pt_op_name(op->code), pt_type_str(&t, b1, sizeof b1),
                      pt_type_str(&r->type, b2, sizeof b2));
    }
    for (int k = 0; k < pt_op_nresults(op); k++) {
      r = pt_op_result(op, k);
      if (!r || r->id < 0 || r->id >= f->nvalues || defined[r->id] || r->def != op) {
        pt_diag_error(d, r ? r->loc : op->loc, "a value is defined twice");
        continue;
      }
      defined[r->id] = true;
      if (r->name) {
        if (!name_ok(r->name, true))
          pt_diag_error(d, r->loc, "value name '%s' cannot be written as %%name", r->name);
        else if (pt_strmap_put(&names, r->name, (void *)r))
          pt_diag_error(d, r->loc, "'%%%s' is already defined", r->name);
      }
    }
  }
  pt_strmap_clear(&names);
  if (f->nresults == 0)
    pt_diag_error(d, f->loc, "function '@%s' has no results", f->name);
  pt_strmap rnames = {0};
  for (int i = 0; i < f->nresults; i++) {
    const pt_result *res = &f->results[i];
    if (!name_ok(res->name, false))
      pt_diag_error(d, res->loc, "result name '%s' is not a valid name", res->name);
    else if (pt_strmap_put(&rnames, res->name, (void *)res))
      pt_diag_error(d, res->loc, "result name '%s' is used twice", res->name);
    const pt_value *v = res->value;
    if (!v || v->id < 0 || v->id >= f->nvalues || !defined[v->id]) {
      pt_diag_error(d, res->ret_loc, "result '%s' is not a value of the function", res->name);
      continue;
    }
    if (!pt_type_equal(&v->type, &res->type))
      pt_diag_error(d, res->ret_loc, "result '%s' is declared %s but the value returned is %s",
                    res->name, pt_type_str(&res->type, b1, sizeof b1),
                    pt_type_str(&v->type, b2, sizeof b2));
  }
  pt_strmap_clear(&rnames);
  pt_free(defined);
  return pt_diag_error_count(d) > errors ? PT_ERR : PT_OK;
}

/* Depth-first over the call graph from f; state: 0 unseen, 1 on the path,
 * 2 done. A call to a function on the path closes a cycle: reported at
 * that call, naming the cycle. */
static void find_recursion(const pt_module *m, int fi, int *state, int *path, int depth,
                           pt_diag *d) {
  state[fi] = 1;
  path[depth] = fi;
  const pt_func *f = m->funcs[fi];
  for (int i = 0; i < f->nops; i++) {
    const pt_op *op = f->ops[i];
    if (op->code != PT_OP_CALL || !op->callee)
      continue;
    int ci = -1;
    for (int k = 0; k < m->nfuncs; k++)
      if (strcmp(m->funcs[k]->name, op->callee) == 0)
        ci = k;
    if (ci < 0)
      continue; /* reported by the call's own check */
    if (state[ci] == 1) {
      char cycle[512];
      size_t n = 0;
      int from = depth;
      while (path[from] != ci)
        from--;
      for (int k = from; k <= depth && n < sizeof cycle; k++)
        n += (size_t)snprintf(cycle + n, sizeof cycle - n, "@%s calls ", m->funcs[path[k]]->name);
      if (n < sizeof cycle)
        snprintf(cycle + n, sizeof cycle - n, "@%s", m->funcs[ci]->name);
      pt_diag_error(d, op->loc, "recursive call: %s; a function may not call itself, directly "
                    "or through others", cycle);
    } else if (state[ci] == 0) {
      find_recursion(m, ci, state, path, depth + 1, d);
    }
  }
  state[fi] = 2;
}

pt_status pt_verify_module(const pt_module *m, pt_diag *d) {
  int errors = pt_diag_error_count(d);
  pt_strmap fnames = {0};
  for (int i = 0; i < m->nfuncs; i++) {
    const pt_func *f = m->funcs[i];
    if (!name_ok(f->name, true))
      pt_diag_error(d, f->loc, "function name '%s' cannot be written as @name", f->name);
    else if (pt_strmap_put(&fnames, f->name, (void *)f))
      pt_diag_error(d, f->loc, "function '@%s' is defined twice", f->name);
    pt_verify_func(f, d);
  }
  pt_strmap_clear(&fnames);
  int *state = pt_calloc((size_t)m->nfuncs + 1, sizeof *state);
  int *path = pt_calloc((size_t)m->nfuncs + 1, sizeof *path);
  for (int i = 0; i < m->nfuncs; i++)
    if (!state[i])
      find_recursion(m, i, state, path, 0, d);
  pt_free(state);
  pt_free(path);
  for (int i = 0; i < m->mesh.naxes; i++) {
    if (!name_ok(m->mesh.names[i], false))
      pt_diag_error(d, m->mesh.loc, "mesh axis name '%s' is not a valid name", m->mesh.names[i]);
    if (m->mesh.sizes[i] < 1)
      pt_diag_error(d, m->mesh.loc, "mesh axis '%s' has size %lld", m->mesh.names[i],
                    (long long)m->mesh.sizes[i]);
  }
  return pt_diag_error_count(d) > errors ? PT_ERR : PT_OK;
}
