/* Convenience builders for passes: one call per op, result types inferred
 * by the op's shape rule. Passes build from verified programs, so a shape
 * rule rejecting an op here is a bug in the pass: it aborts with the
 * message (an internal error), never returns NULL. Ops are appended to the
 * builder's function. */
#ifndef PT_BUILD_H
#define PT_BUILD_H

#include "ir.h"

typedef struct {
  pt_func *f;
  pt_loc loc; /* given to every op built */
} pt_builder;

pt_value *pt_b_unary(pt_builder *b, pt_opcode code, pt_value *x);
pt_value *pt_b_binary(pt_builder *b, pt_opcode code, pt_value *x, pt_value *y);
pt_value *pt_b_compare(pt_builder *b, pt_cmpdir dir, pt_value *x, pt_value *y);
pt_value *pt_b_select(pt_builder *b, pt_value *p, pt_value *x, pt_value *y);
pt_value *pt_b_convert(pt_builder *b, pt_value *x, pt_dtype to);
/* A constant of type t with every element v. */
pt_value *pt_b_splat(pt_builder *b, double v, pt_type t);
/* A constant of x's type with every element v. */
pt_value *pt_b_splat_like(pt_builder *b, double v, const pt_value *x);
pt_value *pt_b_iota(pt_builder *b, int64_t dim, pt_type t);
pt_value *pt_b_broadcast(pt_builder *b, pt_value *x, const int64_t *dims, pt_type t);
pt_value *pt_b_reshape(pt_builder *b, pt_value *x, pt_type t);
pt_value *pt_b_transpose(pt_builder *b, pt_value *x, const int64_t *perm);
pt_value *pt_b_slice(pt_builder *b, pt_value *x, const int64_t *start, const int64_t *limit,
                     const int64_t *stride);
pt_value *pt_b_pad(pt_builder *b, pt_value *x, pt_value *v, const int64_t *low,
                   const int64_t *high, const int64_t *interior);
pt_value *pt_b_concat(pt_builder *b, pt_value *const *xs, int n, int64_t dim);
pt_value *pt_b_reduce(pt_builder *b, pt_opcode code, pt_value *x, const int64_t *dims, int n);
pt_value *pt_b_dot(pt_builder *b, pt_value *x, pt_value *y, const int64_t *lb,
                   const int64_t *rb, int nb, const int64_t *lc, const int64_t *rc, int nc);
pt_value *pt_b_take(pt_builder *b, pt_value *table, pt_value *idx);
pt_value *pt_b_scatter_add(pt_builder *b, pt_value *idx, pt_value *upd, pt_type t);
pt_value *pt_b_scan(pt_builder *b, pt_value *a, pt_value *x, int64_t dim, bool reverse);
/* Copies op (from any function) into b's function with new operands and
 * the same attributes, result type and location. */
pt_value *pt_b_clone(pt_builder *b, const pt_op *op, pt_value *const *operands);
/* Copies callee's body into b's function with args[i] for its arguments;
 * results[i] receives the copy of its i-th result. Names are not copied. */
void pt_b_inline(pt_builder *b, const pt_func *callee, pt_value *const *args,
                 pt_value **results);

#endif
