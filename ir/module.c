/* Modules, functions, values and ops: creation and attribute access. This is
 * the builder API the parser and every pass use. */
#include <string.h>

#include "ir.h"

pt_module *pt_module_create(const char *file) {
  pt_arena *a = pt_arena_create();
  pt_module *m = pt_arena_alloc(a, sizeof *m);
  m->arena = a;
  m->file = pt_arena_strdup(a, file ? file : "<input>");
  return m;
}

void pt_module_destroy(pt_module *m) {
  if (!m)
    return;
  for (int i = 0; i < m->nfuncs; i++) {
    pt_func *f = m->funcs[i];
    pt_free(f->args);
    for (int j = 0; j < f->nops; j++) {
      pt_free(f->ops[j]->attrs);
    }
    pt_free(f->ops);
    pt_free(f->results);
  }
  pt_free(m->funcs);
  pt_arena_destroy(m->arena);
}

pt_func *pt_module_find_func(const pt_module *m, const char *name) {
  for (int i = 0; i < m->nfuncs; i++)
    if (strcmp(m->funcs[i]->name, name) == 0)
      return m->funcs[i];
  return NULL;
}

bool pt_module_add_axis(pt_module *m, const char *name, int64_t size) {
  if (m->mesh.naxes >= PT_MAX_AXES ||
      pt_mesh_axis(&m->mesh, name, strlen(name)) >= 0)
    return false;
  m->mesh.names[m->mesh.naxes] = pt_arena_strdup(m->arena, name);
  m->mesh.sizes[m->mesh.naxes++] = size;
  return true;
}

pt_func *pt_func_create(pt_module *m, const char *name, pt_loc loc) {
  pt_func *f = pt_arena_alloc(m->arena, sizeof *f);
  f->module = m;
  f->name = pt_arena_strdup(m->arena, name);
  f->loc = loc;
  PT_GROW(m->funcs, m->capfuncs, (size_t)m->nfuncs + 1);
  m->funcs[m->nfuncs++] = f;
  return f;
}

static pt_value *new_value(pt_func *f, const char *name, pt_type t,
                           pt_loc loc) {
  pt_value *v = pt_arena_alloc(f->module->arena, sizeof *v);
  v->name = name ? pt_arena_strdup(f->module->arena, name) : NULL;
  v->type = t;
  v->arg_index = -1;
  v->id = f->nvalues++;
  v->loc = loc;
  v->func = f;
  return v;
}

pt_value *pt_func_add_arg(pt_func *f, const char *name, pt_role role,
                          pt_type t, pt_loc loc) {
  pt_value *v = new_value(f, name, t, loc);
  v->role = role;
  v->arg_index = f->nargs;
  PT_GROW(f->args, f->capargs, (size_t)f->nargs + 1);
  f->args[f->nargs++] = v;
  return v;
}

pt_value *pt_func_find_arg(const pt_func *f, const char *name) {
  for (int i = 0; i < f->nargs; i++)
    if (f->args[i]->name && strcmp(f->args[i]->name, name) == 0)
      return f->args[i];
  return NULL;
}

bool pt_func_carries(const pt_func *f, int i) {
  if (i < 0 || i >= f->nargs || i >= f->nresults)
    return false;
  const pt_value *a = f->args[i];
  const pt_result *r = &f->results[i];
  return (a->role == PT_ROLE_PARAM || a->role == PT_ROLE_STATE) && a->name && r->name &&
         strcmp(a->name, r->name) == 0 && pt_type_equal(&a->type, &r->type);
}

pt_result *pt_func_add_result(pt_func *f, const char *name, pt_type t,
                              pt_value *v, pt_loc loc) {
  PT_GROW(f->results, f->capresults, (size_t)f->nresults + 1);
  pt_result *r = &f->results[f->nresults++];
  memset(r, 0, sizeof *r);
  r->name = pt_arena_strdup(f->module->arena, name);
  r->type = t;
  r->value = v;
  r->loc = loc;
  r->ret_loc = loc;
  return r;
}

int pt_func_find_result(const pt_func *f, const char *name) {
  for (int i = 0; i < f->nresults; i++)
    if (strcmp(f->results[i].name, name) == 0)
      return i;
  return -1;
}

pt_op *pt_op_create(pt_func *f, pt_opcode code, pt_value *const *operands,
                    int n, pt_loc loc) {
  pt_op *op = pt_arena_alloc(f->module->arena, sizeof *op);
  op->code = code;
  op->loc = loc;
  op->func = f;
  op->noperands = n;
  op->operands = pt_arena_memdup(f->module->arena, operands,
                                 (size_t)n * sizeof *operands);
  PT_GROW(f->ops, f->capops, (size_t)f->nops + 1);
  f->ops[f->nops++] = op;
  return op;
}

void pt_op_finish_call(pt_op *op, const char *callee, const char *const *names,
                       const pt_type *types, int n) {
  PT_ASSERT(op->code == PT_OP_CALL && n >= 1);
  op->callee = pt_arena_strdup(op->func->module->arena, callee);
  op->results = pt_arena_alloc(op->func->module->arena, (size_t)n * sizeof *op->results);
  op->nresults = n;
  for (int i = 0; i < n; i++) {
    pt_value *v = new_value(op->func, names ? names[i] : NULL, types[i], op->loc);
    v->def = op;
    op->results[i] = v;
  }
  op->result = op->results[0];
}

pt_value *pt_op_finish(pt_op *op, const char *name, const pt_type *declared,
                       pt_diag *d) {
  pt_type t;
  if (declared) {
    t = *declared;
  } else if (pt_op_infer(op, NULL, &t, d) != PT_OK) {
    pt_func *f = op->func;
    PT_ASSERT(f->nops > 0 && f->ops[f->nops - 1] == op);
    f->nops--;
    pt_free(op->attrs);
    op->attrs = NULL;
    return NULL;
  }
  pt_value *v = new_value(op->func, name, t, op->loc);
  v->def = op;
  op->result = v;
  return v;
}

/* ---- attributes ----------------------------------------------------- */

pt_aval pt_aval_copy(pt_module *m, const pt_aval *v) {
  pt_aval c = *v;
  if (v->kind == PT_AV_IDENT)
    c.s = pt_arena_strdup(m->arena, v->s);
  else if (v->kind == PT_AV_LIST) {
    pt_aval *items = pt_arena_alloc(m->arena, (size_t)v->n * sizeof *items);
    for (int i = 0; i < v->n; i++)
      items[i] = pt_aval_copy(m, &v->items[i]);
    c.items = items;
  }
  return c;
}

void pt_op_set_attr(pt_op *op, pt_attrkey k, const pt_aval *v, pt_loc loc) {
  pt_aval c = pt_aval_copy(op->func->module, v);
  for (int i = 0; i < op->nattrs; i++)
    if (op->attrs[i].key == k) {
      op->attrs[i].val = c;
      op->attrs[i].loc = loc;
      return;
    }
  op->attrs = pt_realloc(op->attrs, (size_t)(op->nattrs + 1) * sizeof *op->attrs);
  op->attrs[op->nattrs++] = (pt_attr){k, c, loc};
}

void pt_op_set_int(pt_op *op, pt_attrkey k, int64_t v) {
  pt_aval a = {.kind = PT_AV_INT, .i = v};
  pt_op_set_attr(op, k, &a, op->loc);
}

void pt_op_set_float(pt_op *op, pt_attrkey k, double v) {
  pt_aval a = {.kind = PT_AV_FLOAT, .f = v};
  pt_op_set_attr(op, k, &a, op->loc);
}

void pt_op_set_ident(pt_op *op, pt_attrkey k, const char *s) {
  pt_aval a = {.kind = PT_AV_IDENT, .s = s};
  pt_op_set_attr(op, k, &a, op->loc);
}

void pt_op_set_ints(pt_op *op, pt_attrkey k, const int64_t *v, int n) {
  pt_aval *items = pt_malloc((size_t)(n ? n : 1) * sizeof *items);
  for (int i = 0; i < n; i++)
    items[i] = (pt_aval){.kind = PT_AV_INT, .i = v[i]};
  pt_aval a = {.kind = PT_AV_LIST, .items = items, .n = n};
  pt_op_set_attr(op, k, &a, op->loc);
  pt_free(items);
}

void pt_op_set_floats(pt_op *op, pt_attrkey k, const double *v, int64_t n) {
  pt_aval *items = pt_malloc((size_t)(n ? n : 1) * sizeof *items);
  for (int64_t i = 0; i < n; i++)
    items[i] = (pt_aval){.kind = PT_AV_FLOAT, .f = v[i]};
  pt_aval a = {.kind = PT_AV_LIST, .items = items, .n = (int)n};
  pt_op_set_attr(op, k, &a, op->loc);
  pt_free(items);
}

void pt_op_set_idents(pt_op *op, pt_attrkey k, const char *const *v, int n) {
  pt_aval *items = pt_malloc((size_t)(n ? n : 1) * sizeof *items);
  for (int i = 0; i < n; i++)
    items[i] = (pt_aval){.kind = PT_AV_IDENT, .s = v[i]};
  pt_aval a = {.kind = PT_AV_LIST, .items = items, .n = n};
  pt_op_set_attr(op, k, &a, op->loc);
  pt_free(items);
}

const pt_attr *pt_op_attr(const pt_op *op, pt_attrkey k) {
  for (int i = 0; i < op->nattrs; i++)
    if (op->attrs[i].key == k)
      return &op->attrs[i];
  return NULL;
}

int pt_op_ints(const pt_op *op, pt_attrkey k, int64_t *out, int max) {
  const pt_attr *a = pt_op_attr(op, k);
  if (!a || a->val.kind != PT_AV_LIST)
    return -1;
  int n = a->val.n < max ? a->val.n : max;
  for (int i = 0; i < n; i++)
    out[i] = a->val.items[i].kind == PT_AV_INT ? a->val.items[i].i : 0;
  return a->val.n;
}

int64_t pt_op_int(const pt_op *op, pt_attrkey k, int64_t dflt) {
  const pt_attr *a = pt_op_attr(op, k);
  return a && a->val.kind == PT_AV_INT ? a->val.i : dflt;
}

const char *pt_op_ident(const pt_op *op, pt_attrkey k) {
  const pt_attr *a = pt_op_attr(op, k);
  return a && a->val.kind == PT_AV_IDENT ? a->val.s : NULL;
}

pt_cmpdir pt_op_cmpdir(const pt_op *op) {
  pt_cmpdir d = PT_CMP_EQ;
  const char *s = pt_op_ident(op, PT_A_DIR);
  if (s)
    pt_cmpdir_parse(s, &d);
  return d;
}
