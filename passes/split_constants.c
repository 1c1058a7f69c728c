/* Splits constants per use: every consumer of a constant (or of an iota, of
 * a broadcast of a scalar, or of a broadcast/reshape/convert/transpose of
 * one of those) gets its own copy. CSE
 * merges equal constants across unrelated parts of a program (the 0.9 of
 * one parameter's Adam update and another's), and a shared constant would
 * tie their shardings together during propagation; copies are free to take
 * each consumer's layout (Shardy splits constants for the same reason).
 * Requires: verified IR. Provides: each constant-like value has at most one
 * consumer op. Breaks nothing; idempotent. */
#include <string.h>

#include "build.h"
#include "passes.h"

static bool constant_like(const pt_op *op) {
  switch (op->code) {
  case PT_OP_CONSTANT:
  case PT_OP_IOTA:
    return true;
  case PT_OP_BROADCAST:
    /* a broadcast of any scalar is as cheap to repeat as a constant */
    if (op->operands[0]->type.rank == 0)
      return true;
    return op->operands[0]->def && constant_like(op->operands[0]->def);
  case PT_OP_RESHAPE:
  case PT_OP_CONVERT:
  case PT_OP_TRANSPOSE:
    return op->operands[0]->def && constant_like(op->operands[0]->def);
  default:
    return false;
  }
}

typedef struct {
  pt_func *f;
  pt_op **order; /* the new op order */
  int n, cap;
} splitter;

/* A fresh copy of the chain computing v, placed in the new order. */
static pt_value *copy_chain(splitter *s, const pt_value *v) {
  const pt_op *op = v->def;
  pt_value *ops[1] = {NULL};
  if (op->noperands) {
    pt_value *x = op->operands[0];
    /* the chain stops at a scalar that is not itself constant-like */
    ops[0] = x->def && constant_like(x->def) ? copy_chain(s, x) : x;
  }
  pt_builder b = {s->f, op->loc};
  pt_value *c = pt_b_clone(&b, op, ops);
  PT_GROW(s->order, s->cap, (size_t)s->n + 1);
  s->order[s->n++] = c->def;
  return c;
}

static void split_func(pt_func *f) {
  int n0 = f->nops;
  bool *claimed = pt_calloc((size_t)f->nvalues + 1, 1);
  for (int i = 0; i < f->nresults; i++)
    claimed[f->results[i].value->id] = true; /* the original stays the result */
  splitter s = {f, NULL, 0, 0};
  pt_op **orig = pt_malloc((size_t)(n0 ? n0 : 1) * sizeof *orig);
  memcpy(orig, f->ops, (size_t)n0 * sizeof *orig);
  for (int i = 0; i < n0; i++) {
    pt_op *op = orig[i];
    bool cl = constant_like(op);
    for (int k = 0; k < op->noperands && !cl; k++) {
      pt_value *v = op->operands[k];
      if (!v->def || !constant_like(v->def))
        continue;
      if (!claimed[v->id])
        claimed[v->id] = true;
      else
        op->operands[k] = copy_chain(&s, v);
    }
    PT_GROW(s.order, s.cap, (size_t)s.n + 1);
    s.order[s.n++] = op;
  }
  /* constant-like ops feeding only other constant-like ops keep their place
   * before them; the copies were appended to f->ops by the builder, and the
   * new order holds every op exactly once */
  PT_ASSERT(s.n == f->nops);
  memcpy(f->ops, s.order, (size_t)s.n * sizeof *f->ops);
  pt_free(s.order);
  pt_free(orig);
  pt_free(claimed);
}

pt_status pt_pass_split_constants(pt_module *m, pt_diag *d) {
  (void)d;
  for (int i = 0; i < m->nfuncs; i++)
    split_func(m->funcs[i]);
  return PT_OK;
}
