/* Convenience builders for passes (see build.h). */
#include "build.h"

#include <stdio.h>

static pt_value *finish(pt_op *op, const pt_type *declared) {
  pt_diag *d = pt_diag_create(NULL);
  pt_value *v = pt_op_finish(op, NULL, declared, d);
  if (v && declared) {
    /* the declared type is checked here, so a pass's mistake is caught
     * where it is made rather than at the next verification */
    pt_type t;
    if (pt_op_infer(op, declared, &t, d) != PT_OK || !pt_type_equal(&t, declared))
      v = NULL;
  }
  if (!v) {
    fprintf(stderr, "partita: a pass built an invalid '%s': %s\n", pt_op_name(op->code),
            pt_diag_count(d) ? pt_diag_text(d, 0) : "declared type differs");
    PT_UNREACHABLE();
  }
  pt_diag_destroy(d);
  return v;
}

static pt_op *mk(pt_builder *b, pt_opcode code, pt_value *const *ops, int n) {
  return pt_op_create(b->f, code, ops, n, b->loc);
}

pt_value *pt_b_unary(pt_builder *b, pt_opcode code, pt_value *x) {
  return finish(mk(b, code, &x, 1), NULL);
}

pt_value *pt_b_binary(pt_builder *b, pt_opcode code, pt_value *x, pt_value *y) {
  pt_value *ops[2] = {x, y};
  return finish(mk(b, code, ops, 2), NULL);
}

pt_value *pt_b_compare(pt_builder *b, pt_cmpdir dir, pt_value *x, pt_value *y) {
  pt_value *ops[2] = {x, y};
  pt_op *op = mk(b, PT_OP_COMPARE, ops, 2);
  pt_op_set_ident(op, PT_A_DIR, pt_cmpdir_name(dir));
  return finish(op, NULL);
}

pt_value *pt_b_select(pt_builder *b, pt_value *p, pt_value *x, pt_value *y) {
  pt_value *ops[3] = {p, x, y};
  return finish(mk(b, PT_OP_SELECT, ops, 3), NULL);
}

pt_value *pt_b_convert(pt_builder *b, pt_value *x, pt_dtype to) {
  pt_type t = x->type;
  t.dtype = to;
  return finish(mk(b, PT_OP_CONVERT, &x, 1), &t);
}

pt_value *pt_b_splat(pt_builder *b, double v, pt_type t) {
  pt_op *op = mk(b, PT_OP_CONSTANT, NULL, 0);
  if (t.dtype == PT_F32)
    pt_op_set_float(op, PT_A_VALUE, v);
  else
    pt_op_set_int(op, PT_A_VALUE, (int64_t)v);
  return finish(op, &t);
}

pt_value *pt_b_splat_like(pt_builder *b, double v, const pt_value *x) {
  return pt_b_splat(b, v, x->type);
}

pt_value *pt_b_iota(pt_builder *b, int64_t dim, pt_type t) {
  pt_op *op = mk(b, PT_OP_IOTA, NULL, 0);
  pt_op_set_int(op, PT_A_DIM, dim);
  return finish(op, &t);
}

pt_value *pt_b_broadcast(pt_builder *b, pt_value *x, const int64_t *dims, pt_type t) {
  pt_op *op = mk(b, PT_OP_BROADCAST, &x, 1);
  pt_op_set_ints(op, PT_A_DIMS, dims, x->type.rank);
  return finish(op, &t);
}

pt_value *pt_b_reshape(pt_builder *b, pt_value *x, pt_type t) {
  return finish(mk(b, PT_OP_RESHAPE, &x, 1), &t);
}

pt_value *pt_b_transpose(pt_builder *b, pt_value *x, const int64_t *perm) {
  pt_op *op = mk(b, PT_OP_TRANSPOSE, &x, 1);
  pt_op_set_ints(op, PT_A_PERM, perm, x->type.rank);
  return finish(op, NULL);
}

static bool all_eq(const int64_t *v, int n, int64_t x) {
  for (int i = 0; i < n; i++)
    if (v[i] != x)
      return false;
  return true;
}

pt_value *pt_b_slice(pt_builder *b, pt_value *x, const int64_t *start, const int64_t *limit,
                     const int64_t *stride) {
  pt_op *op = mk(b, PT_OP_SLICE, &x, 1);
  int r = x->type.rank;
  pt_op_set_ints(op, PT_A_START, start, r);
  pt_op_set_ints(op, PT_A_LIMIT, limit, r);
  if (stride && !all_eq(stride, r, 1))
    pt_op_set_ints(op, PT_A_STRIDE, stride, r);
  return finish(op, NULL);
}

pt_value *pt_b_pad(pt_builder *b, pt_value *x, pt_value *v, const int64_t *low,
                   const int64_t *high, const int64_t *interior) {
  pt_value *ops[2] = {x, v};
  pt_op *op = mk(b, PT_OP_PAD, ops, 2);
  int r = x->type.rank;
  pt_op_set_ints(op, PT_A_LOW, low, r);
  pt_op_set_ints(op, PT_A_HIGH, high, r);
  if (interior && !all_eq(interior, r, 0))
    pt_op_set_ints(op, PT_A_INTERIOR, interior, r);
  return finish(op, NULL);
}

pt_value *pt_b_concat(pt_builder *b, pt_value *const *xs, int n, int64_t dim) {
  pt_op *op = mk(b, PT_OP_CONCAT, xs, n);
  pt_op_set_int(op, PT_A_DIM, dim);
  return finish(op, NULL);
}

pt_value *pt_b_reduce(pt_builder *b, pt_opcode code, pt_value *x, const int64_t *dims, int n) {
  pt_op *op = mk(b, code, &x, 1);
  pt_op_set_ints(op, PT_A_DIMS, dims, n);
  return finish(op, NULL);
}

pt_value *pt_b_dot(pt_builder *b, pt_value *x, pt_value *y, const int64_t *lb,
                   const int64_t *rb, int nb, const int64_t *lc, const int64_t *rc, int nc) {
  pt_value *ops[2] = {x, y};
  pt_op *op = mk(b, PT_OP_DOT, ops, 2);
  if (nb) {
    pt_op_set_ints(op, PT_A_LHS_BATCH, lb, nb);
    pt_op_set_ints(op, PT_A_RHS_BATCH, rb, nb);
  }
  pt_op_set_ints(op, PT_A_LHS_CONTRACT, lc, nc);
  pt_op_set_ints(op, PT_A_RHS_CONTRACT, rc, nc);
  return finish(op, NULL);
}

pt_value *pt_b_take(pt_builder *b, pt_value *table, pt_value *idx) {
  pt_value *ops[2] = {table, idx};
  return finish(mk(b, PT_OP_TAKE, ops, 2), NULL);
}

pt_value *pt_b_scatter_add(pt_builder *b, pt_value *idx, pt_value *upd, pt_type t) {
  pt_value *ops[2] = {idx, upd};
  return finish(mk(b, PT_OP_SCATTER_ADD, ops, 2), &t);
}

pt_value *pt_b_scan(pt_builder *b, pt_value *a, pt_value *x, int64_t dim, bool reverse) {
  pt_value *ops[2] = {a, x};
  pt_op *op = mk(b, PT_OP_SCAN, ops, 2);
  pt_op_set_int(op, PT_A_DIM, dim);
  if (reverse)
    pt_op_set_int(op, PT_A_REVERSE, 1);
  return finish(op, NULL);
}

pt_value *pt_b_clone(pt_builder *b, const pt_op *src, pt_value *const *operands) {
  /* a copy keeps its original's location, so messages about it point at
   * the source line it came from */
  pt_op *op = pt_op_create(b->f, src->code, operands, src->noperands, src->loc);
  for (int i = 0; i < src->nattrs; i++)
    pt_op_set_attr(op, src->attrs[i].key, &src->attrs[i].val, src->attrs[i].loc);
  op->comment = src->comment ? pt_arena_strdup(b->f->module->arena, src->comment) : NULL;
  return finish(op, &src->result->type);
}

void pt_b_inline(pt_builder *b, const pt_func *callee, pt_value *const *args,
                 pt_value **results) {
  pt_value **map = pt_calloc((size_t)callee->nvalues + 1, sizeof *map);
  for (int i = 0; i < callee->nargs; i++)
    map[callee->args[i]->id] = args[i];
  int maxops = 1;
  for (int i = 0; i < callee->nops; i++)
    if (callee->ops[i]->noperands > maxops)
      maxops = callee->ops[i]->noperands;
  pt_value **ops = pt_malloc((size_t)maxops * sizeof *ops);
  for (int i = 0; i < callee->nops; i++) {
    const pt_op *op = callee->ops[i];
    for (int k = 0; k < op->noperands; k++)
      ops[k] = map[op->operands[k]->id];
    map[op->result->id] = pt_b_clone(b, op, ops);
  }
  for (int i = 0; i < callee->nresults; i++)
    results[i] = map[callee->results[i].value->id];
  pt_free(ops);
  pt_free(map);
}
