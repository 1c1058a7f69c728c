/* Reverse-mode automatic differentiation as linearize + transpose (Frostig
 * et al., "Decomposing reverse-mode automatic differentiation", 2021; Radul
 * et al., "You Only Linearize Once", 2022):
 *
 *   linearize   every op gets a JVP rule that emits its primal copy plus
 *               tangent ops; coefficients (exp(x), 1 - tanh(x)^2, ...) are
 *               primal ops, and every op that reads a tangent is linear in
 *               the tangents.
 *   unzip       the ops that depend on a tangent input are the linear part;
 *               the rest is the primal part (residuals are the primal values
 *               the linear part reads).
 *   transpose   the linear part is walked backwards; each linear op kind has
 *               a transpose rule that sends its result's cotangent to its
 *               linear operands.
 *
 * The rules live in two tables indexed by opcode (jvp_rules, tr_rules),
 * generated from the op table: a new op does not build until it has both.
 *
 * Requires: verified IR. Provides: a new function (autodiff: `<f>_grad`
 * with f's results and `grad.<arg>`; linearize: `<f>_jvp`). Breaks nothing:
 * existing functions are untouched. The output has dead code and duplicate
 * subexpressions; run pt_pass_cse and pt_pass_dce after it. */
#include <string.h>

#include "build.h"
#include "passes.h"

/* ---- linearize: the JVP rules --------------------------------------- */

typedef struct {
  pt_builder b;
} jvp_ctx;

/* x: the primal operands (in the new function), y: the primal result,
 * t: the operands' tangents (NULL for zero). Returns y's tangent (NULL for
 * zero). Only called when some t[i] is non-NULL and y is f32. */
typedef pt_value *(*jvp_fn)(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                            pt_value *const *t);

static pt_value *un(jvp_ctx *c, pt_opcode k, pt_value *a) { return pt_b_unary(&c->b, k, a); }
static pt_value *bin(jvp_ctx *c, pt_opcode k, pt_value *a, pt_value *b) {
  return pt_b_binary(&c->b, k, a, b);
}
static pt_value *cst(jvp_ctx *c, double v, const pt_value *like) {
  return pt_b_splat_like(&c->b, v, like);
}
static pt_value *or_zero(jvp_ctx *c, pt_value *t, const pt_value *like) {
  return t ? t : cst(c, 0.0, like);
}

/* tangent = t0 * coefficient (the coefficient is primal) */
static pt_value *scale(jvp_ctx *c, pt_value *t, pt_value *coef) {
  return bin(c, PT_OP_MUL, t, coef);
}

static pt_value *jvp_NEG(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                         pt_value *const *t) {
  return un(c, PT_OP_NEG, t[0]);
}
static pt_value *jvp_EXP(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                         pt_value *const *t) {
  return scale(c, t[0], y);
}
static pt_value *jvp_LOG(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                         pt_value *const *t) {
  return bin(c, PT_OP_DIV, t[0], x[0]);
}
static pt_value *jvp_TANH(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                          pt_value *const *t) {
  pt_value *coef = bin(c, PT_OP_SUB, cst(c, 1.0, y), bin(c, PT_OP_MUL, y, y));
  return scale(c, t[0], coef);
}
static pt_value *jvp_LOGISTIC(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                              pt_value *const *t) {
  pt_value *coef = bin(c, PT_OP_MUL, y, bin(c, PT_OP_SUB, cst(c, 1.0, y), y));
  return scale(c, t[0], coef);
}
static pt_value *jvp_SQRT(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                          pt_value *const *t) {
  return scale(c, t[0], bin(c, PT_OP_DIV, cst(c, 0.5, y), y));
}
static pt_value *jvp_RSQRT(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                           pt_value *const *t) {
  /* d/dx x^-1/2 = -1/2 x^-3/2 = -1/2 y / x */
  pt_value *coef = bin(c, PT_OP_MUL, cst(c, -0.5, y), bin(c, PT_OP_DIV, y, x[0]));
  return scale(c, t[0], coef);
}
static pt_value *jvp_ABS(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                         pt_value *const *t) {
  pt_value *zero = cst(c, 0.0, x[0]);
  pt_value *sign = pt_b_select(&c->b, pt_b_compare(&c->b, PT_CMP_GT, x[0], zero), cst(c, 1.0, x[0]),
                               pt_b_select(&c->b, pt_b_compare(&c->b, PT_CMP_LT, x[0], zero),
                                           cst(c, -1.0, x[0]), zero));
  return scale(c, t[0], sign);
}
static pt_value *jvp_SIN(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                         pt_value *const *t) {
  return scale(c, t[0], un(c, PT_OP_COS, x[0]));
}
static pt_value *jvp_COS(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                         pt_value *const *t) {
  return scale(c, t[0], un(c, PT_OP_NEG, un(c, PT_OP_SIN, x[0])));
}
static pt_value *jvp_ADD(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                         pt_value *const *t) {
  if (t[0] && t[1])
    return bin(c, PT_OP_ADD, t[0], t[1]);
  return t[0] ? t[0] : t[1];
}
static pt_value *jvp_SUB(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                         pt_value *const *t) {
  if (t[0] && t[1])
    return bin(c, PT_OP_SUB, t[0], t[1]);
  return t[0] ? t[0] : un(c, PT_OP_NEG, t[1]);
}
static pt_value *sum_terms(jvp_ctx *c, pt_value *a, pt_value *b) {
  if (a && b)
    return bin(c, PT_OP_ADD, a, b);
  return a ? a : b;
}
static pt_value *jvp_MUL(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                         pt_value *const *t) {
  return sum_terms(c, t[0] ? scale(c, t[0], x[1]) : NULL, t[1] ? scale(c, t[1], x[0]) : NULL);
}
static pt_value *jvp_DIV(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                         pt_value *const *t) {
  /* d(a/b) = da/b - db * (y/b) */
  pt_value *a = t[0] ? bin(c, PT_OP_DIV, t[0], x[1]) : NULL;
  pt_value *b = t[1] ? un(c, PT_OP_NEG, scale(c, t[1], bin(c, PT_OP_DIV, y, x[1]))) : NULL;
  return sum_terms(c, a, b);
}
static pt_value *pick(jvp_ctx *c, pt_cmpdir dir, pt_value *const *x, pt_value *const *t) {
  pt_value *p = pt_b_compare(&c->b, dir, x[0], x[1]);
  return pt_b_select(&c->b, p, or_zero(c, t[0], x[0]), or_zero(c, t[1], x[1]));
}
static pt_value *jvp_MAX(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                         pt_value *const *t) {
  return pick(c, PT_CMP_GE, x, t); /* ties go to the first operand */
}
static pt_value *jvp_MIN(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                         pt_value *const *t) {
  return pick(c, PT_CMP_LE, x, t);
}
static pt_value *jvp_POW(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                         pt_value *const *t) {
  /* d(a^b) = b a^(b-1) da + log(a) a^b db */
  pt_value *da = NULL, *db = NULL;
  if (t[0]) {
    pt_value *coef = bin(c, PT_OP_MUL, x[1],
                         bin(c, PT_OP_POW, x[0], bin(c, PT_OP_SUB, x[1], cst(c, 1.0, x[1]))));
    da = scale(c, t[0], coef);
  }
  if (t[1])
    db = scale(c, t[1], bin(c, PT_OP_MUL, un(c, PT_OP_LOG, x[0]), y));
  return sum_terms(c, da, db);
}
static pt_value *jvp_none(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                          pt_value *const *t) {
  return NULL; /* piecewise constant or integer-valued: zero derivative */
}
#define jvp_STOP_GRADIENT jvp_none /* by definition */
#define jvp_COMPARE jvp_none
#define jvp_CONSTANT jvp_none
#define jvp_IOTA jvp_none
static pt_value *jvp_SELECT(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                            pt_value *const *t) {
  if (!t[1] && !t[2])
    return NULL;
  return pt_b_select(&c->b, x[0], or_zero(c, t[1], x[1]), or_zero(c, t[2], x[2]));
}
static pt_value *jvp_CONVERT(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                             pt_value *const *t) {
  return x[0]->type.dtype == PT_F32 ? t[0] : NULL; /* f32 -> f32 is the identity */
}
/* Ops linear in every operand: the tangent is the same op on tangents. */
static pt_value *same_op(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *const *t) {
  pt_value *ops[64];
  PT_ASSERT(op->noperands <= 64);
  for (int i = 0; i < op->noperands; i++)
    ops[i] = or_zero(c, t[i], x[i]);
  return pt_b_clone(&c->b, op, ops);
}
static pt_value *jvp_linear(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                            pt_value *const *t) {
  return same_op(c, op, x, t);
}
#define jvp_BROADCAST jvp_linear
#define jvp_RESHAPE jvp_linear
#define jvp_TRANSPOSE jvp_linear
#define jvp_SLICE jvp_linear
#define jvp_CONCAT jvp_linear
#define jvp_PAD jvp_linear
#define jvp_REDUCE_SUM jvp_linear
static pt_value *jvp_REDUCE_MAX(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                                pt_value *const *t) {
  /* the tangent at the maximum, averaged over ties */
  int64_t dims[PT_MAX_RANK], kept[PT_MAX_RANK];
  int n = pt_op_ints(op, PT_A_DIMS, dims, PT_MAX_RANK), nk = 0;
  for (int i = 0; i < x[0]->type.rank; i++) {
    bool red = false;
    for (int k = 0; k < n; k++)
      red |= dims[k] == i;
    if (!red)
      kept[nk++] = i;
  }
  pt_value *yb = pt_b_broadcast(&c->b, y, kept, x[0]->type);
  pt_value *mask = pt_b_convert(&c->b, pt_b_compare(&c->b, PT_CMP_EQ, x[0], yb), PT_F32);
  pt_value *count = pt_b_reduce(&c->b, PT_OP_REDUCE_SUM, mask, dims, n);
  pt_value *picked = pt_b_reduce(&c->b, PT_OP_REDUCE_SUM, scale(c, t[0], mask), dims, n);
  return bin(c, PT_OP_DIV, picked, count);
}
static pt_value *jvp_DOT(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                         pt_value *const *t) {
  pt_value *a = NULL, *b = NULL;
  if (t[0])
    a = pt_b_clone(&c->b, op, (pt_value *[]){t[0], x[1]});
  if (t[1])
    b = pt_b_clone(&c->b, op, (pt_value *[]){x[0], t[1]});
  return sum_terms(c, a, b);
}
static pt_value *jvp_TAKE(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                          pt_value *const *t) {
  return t[0] ? pt_b_take(&c->b, t[0], x[1]) : NULL;
}
static pt_value *jvp_SCATTER_ADD(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                                 pt_value *const *t) {
  return t[1] ? pt_b_scatter_add(&c->b, x[0], t[1], y->type) : NULL;
}

/* v shifted by one step along dim, zero-filled: v[t-1] (toward_end) or
 * v[t+1]. */
static pt_value *shift(pt_builder *b, pt_value *v, int64_t dim, bool toward_end) {
  int r = v->type.rank;
  int64_t n = v->type.dims[dim];
  pt_value *zero = pt_b_splat(b, 0.0, pt_type_scalar(v->type.dtype));
  if (n == 1)
    return pt_b_splat_like(b, 0.0, v);
  int64_t start[PT_MAX_RANK] = {0}, limit[PT_MAX_RANK], lo[PT_MAX_RANK] = {0},
          hi[PT_MAX_RANK] = {0};
  for (int i = 0; i < r; i++)
    limit[i] = v->type.dims[i];
  if (toward_end) {
    limit[dim] = n - 1;
    lo[dim] = 1;
  } else {
    start[dim] = 1;
    hi[dim] = 1;
  }
  return pt_b_pad(b, pt_b_slice(b, v, start, limit, NULL), zero, lo, hi, NULL);
}

static pt_value *jvp_SCAN(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                          pt_value *const *t) {
  /* h[t] = a[t] h[t-1] + b[t]  =>  dh[t] = a[t] dh[t-1] + (da[t] h[t-1] + db[t]) */
  int64_t dim = pt_op_int(op, PT_A_DIM, 0);
  bool rev = pt_op_int(op, PT_A_REVERSE, 0) != 0;
  pt_value *drive = t[1];
  if (t[0])
    drive = sum_terms(c, scale(c, t[0], shift(&c->b, y, dim, !rev)), drive);
  return pt_b_scan(&c->b, x[0], drive, dim, rev);
}
static pt_value *jvp_collective(jvp_ctx *c, const pt_op *op, pt_value *const *x, pt_value *y,
                                pt_value *const *t) {
  PT_UNREACHABLE(); /* rejected before the rules run */
}
#define jvp_ALL_GATHER jvp_collective
#define jvp_REDUCE_SCATTER jvp_collective
#define jvp_ALL_REDUCE jvp_collective
#define jvp_ALL_TO_ALL jvp_collective
#define jvp_AXIS_SLICE jvp_collective
#define jvp_COLLECTIVE_PERMUTE jvp_collective
#define jvp_CALL jvp_collective /* calls are inlined first: rejected like them */

static const jvp_fn jvp_rules[PT_OP_COUNT] = {
#define X(e, name, arity, cls, flags) jvp_##e,
    PT_OPS(X)
#undef X
};

/* ---- transpose: the rules for linear ops ----------------------------- */

typedef struct {
  pt_builder b;
  const bool *lin; /* by value id of the linear function */
  pt_value **pmap; /* primal value id -> its copy in the output */
  pt_value **ct;   /* linear value id -> accumulated cotangent */
} tr_ctx;

static bool is_lin(const tr_ctx *c, const pt_value *v) { return c->lin[v->id]; }

static pt_value *P(const tr_ctx *c, const pt_value *v) {
  PT_ASSERT(!c->lin[v->id] && c->pmap[v->id]);
  return c->pmap[v->id];
}

static void acc(tr_ctx *c, const pt_value *v, pt_value *g) {
  if (!is_lin(c, v))
    return;
  PT_ASSERT(pt_type_equal(&g->type, &v->type));
  pt_value **slot = &c->ct[v->id];
  *slot = *slot ? pt_b_binary(&c->b, PT_OP_ADD, *slot, g) : g;
}

typedef void (*tr_fn)(tr_ctx *c, const pt_op *op, pt_value *ct);

static void tr_NEG(tr_ctx *c, const pt_op *op, pt_value *ct) {
  acc(c, op->operands[0], pt_b_unary(&c->b, PT_OP_NEG, ct));
}
static void tr_ADD(tr_ctx *c, const pt_op *op, pt_value *ct) {
  acc(c, op->operands[0], ct);
  acc(c, op->operands[1], ct);
}
static void tr_SUB(tr_ctx *c, const pt_op *op, pt_value *ct) {
  acc(c, op->operands[0], ct);
  if (is_lin(c, op->operands[1]))
    acc(c, op->operands[1], pt_b_unary(&c->b, PT_OP_NEG, ct));
}
static void tr_MUL(tr_ctx *c, const pt_op *op, pt_value *ct) {
  for (int k = 0; k < 2; k++)
    if (is_lin(c, op->operands[k]))
      acc(c, op->operands[k], pt_b_binary(&c->b, PT_OP_MUL, ct, P(c, op->operands[1 - k])));
}
static void tr_DIV(tr_ctx *c, const pt_op *op, pt_value *ct) {
  acc(c, op->operands[0], pt_b_binary(&c->b, PT_OP_DIV, ct, P(c, op->operands[1])));
}
static void tr_SELECT(tr_ctx *c, const pt_op *op, pt_value *ct) {
  pt_value *p = P(c, op->operands[0]);
  pt_value *zero = pt_b_splat_like(&c->b, 0.0, ct);
  if (is_lin(c, op->operands[1]))
    acc(c, op->operands[1], pt_b_select(&c->b, p, ct, zero));
  if (is_lin(c, op->operands[2]))
    acc(c, op->operands[2], pt_b_select(&c->b, p, zero, ct));
}
static void tr_CONVERT(tr_ctx *c, const pt_op *op, pt_value *ct) { acc(c, op->operands[0], ct); }
static void tr_BROADCAST(tr_ctx *c, const pt_op *op, pt_value *ct) {
  const pt_type *x = &op->operands[0]->type, *r = &op->result->type;
  int64_t dims[PT_MAX_RANK], sum[PT_MAX_RANK];
  int nd = pt_op_ints(op, PT_A_DIMS, dims, PT_MAX_RANK), ns = 0;
  for (int i = 0; i < r->rank; i++) {
    int k = -1;
    for (int j = 0; j < nd; j++)
      if (dims[j] == i)
        k = j;
    if (k < 0 || (x->dims[k] == 1 && r->dims[i] != 1))
      sum[ns++] = i;
  }
  pt_value *g = ns ? pt_b_reduce(&c->b, PT_OP_REDUCE_SUM, ct, sum, ns) : ct;
  if (!pt_type_equal(&g->type, x))
    g = pt_b_reshape(&c->b, g, *x);
  acc(c, op->operands[0], g);
}
static void tr_RESHAPE(tr_ctx *c, const pt_op *op, pt_value *ct) {
  acc(c, op->operands[0], pt_b_reshape(&c->b, ct, op->operands[0]->type));
}
static void tr_TRANSPOSE(tr_ctx *c, const pt_op *op, pt_value *ct) {
  int64_t perm[PT_MAX_RANK], inv[PT_MAX_RANK];
  int n = pt_op_ints(op, PT_A_PERM, perm, PT_MAX_RANK);
  for (int i = 0; i < n; i++)
    inv[perm[i]] = i;
  acc(c, op->operands[0], pt_b_transpose(&c->b, ct, inv));
}
static void tr_SLICE(tr_ctx *c, const pt_op *op, pt_value *ct) {
  const pt_type *x = &op->operands[0]->type;
  int64_t start[PT_MAX_RANK], stride[PT_MAX_RANK], lo[PT_MAX_RANK], hi[PT_MAX_RANK],
      in[PT_MAX_RANK];
  pt_op_ints(op, PT_A_START, start, PT_MAX_RANK);
  if (pt_op_ints(op, PT_A_STRIDE, stride, PT_MAX_RANK) < 0)
    for (int i = 0; i < x->rank; i++)
      stride[i] = 1;
  for (int i = 0; i < x->rank; i++) {
    int64_t n = ct->type.dims[i];
    lo[i] = start[i];
    hi[i] = x->dims[i] - (start[i] + (n - 1) * stride[i] + 1);
    in[i] = stride[i] - 1;
  }
  pt_value *zero = pt_b_splat(&c->b, 0.0, pt_type_scalar(PT_F32));
  acc(c, op->operands[0], pt_b_pad(&c->b, ct, zero, lo, hi, in));
}
static void tr_PAD(tr_ctx *c, const pt_op *op, pt_value *ct) {
  const pt_type *x = &op->operands[0]->type;
  int64_t lo[PT_MAX_RANK], in[PT_MAX_RANK], start[PT_MAX_RANK], limit[PT_MAX_RANK],
      stride[PT_MAX_RANK], all[PT_MAX_RANK];
  pt_op_ints(op, PT_A_LOW, lo, PT_MAX_RANK);
  if (pt_op_ints(op, PT_A_INTERIOR, in, PT_MAX_RANK) < 0)
    for (int i = 0; i < x->rank; i++)
      in[i] = 0;
  for (int i = 0; i < x->rank; i++) {
    start[i] = lo[i];
    stride[i] = in[i] + 1;
    limit[i] = lo[i] + (x->dims[i] - 1) * stride[i] + 1;
    all[i] = i;
  }
  pt_value *inner = pt_b_slice(&c->b, ct, start, limit, stride);
  acc(c, op->operands[0], inner);
  if (is_lin(c, op->operands[1])) {
    /* the padding value's cotangent: everything outside the operand */
    pt_value *total = pt_b_reduce(&c->b, PT_OP_REDUCE_SUM, ct, all, x->rank);
    pt_value *part = pt_b_reduce(&c->b, PT_OP_REDUCE_SUM, inner, all, x->rank);
    acc(c, op->operands[1], pt_b_binary(&c->b, PT_OP_SUB, total, part));
  }
}
static void tr_CONCAT(tr_ctx *c, const pt_op *op, pt_value *ct) {
  int64_t dim = pt_op_int(op, PT_A_DIM, 0), off = 0;
  int r = ct->type.rank;
  for (int k = 0; k < op->noperands; k++) {
    const pt_value *x = op->operands[k];
    if (is_lin(c, x)) {
      int64_t start[PT_MAX_RANK] = {0}, limit[PT_MAX_RANK];
      for (int i = 0; i < r; i++)
        limit[i] = ct->type.dims[i];
      start[dim] = off;
      limit[dim] = off + x->type.dims[dim];
      acc(c, x, pt_b_slice(&c->b, ct, start, limit, NULL));
    }
    off += x->type.dims[dim];
  }
}
static void tr_REDUCE_SUM(tr_ctx *c, const pt_op *op, pt_value *ct) {
  const pt_type *x = &op->operands[0]->type;
  int64_t dims[PT_MAX_RANK], kept[PT_MAX_RANK];
  int n = pt_op_ints(op, PT_A_DIMS, dims, PT_MAX_RANK), nk = 0;
  for (int i = 0; i < x->rank; i++) {
    bool red = false;
    for (int k = 0; k < n; k++)
      red |= dims[k] == i;
    if (!red)
      kept[nk++] = i;
  }
  acc(c, op->operands[0], pt_b_broadcast(&c->b, ct, kept, *x));
}

/* The position of each of `rank` dims among the sorted `list`. */
static int rank_in(const int64_t *list, int n, int64_t v) {
  int r = 0;
  for (int i = 0; i < n; i++)
    r += list[i] < v;
  return r;
}

static pt_value *permute_to(pt_builder *b, pt_value *g, const int64_t *pos, int rank) {
  bool identity = true;
  for (int i = 0; i < rank; i++)
    identity &= pos[i] == i;
  return identity ? g : pt_b_transpose(b, g, pos);
}

static void tr_DOT(tr_ctx *c, const pt_op *op, pt_value *ct) {
  const pt_value *L = op->operands[0], *R = op->operands[1];
  int64_t lb[PT_MAX_RANK], rb[PT_MAX_RANK], lc[PT_MAX_RANK], rc[PT_MAX_RANK];
  int nb = pt_op_ints(op, PT_A_LHS_BATCH, lb, PT_MAX_RANK);
  pt_op_ints(op, PT_A_RHS_BATCH, rb, PT_MAX_RANK);
  int nc = pt_op_ints(op, PT_A_LHS_CONTRACT, lc, PT_MAX_RANK);
  pt_op_ints(op, PT_A_RHS_CONTRACT, rc, PT_MAX_RANK);
  if (nb < 0)
    nb = 0;
  int lr = L->type.rank, rr = R->type.rank;
  int64_t lfree[PT_MAX_RANK], rfree[PT_MAX_RANK];
  int nlf = 0, nrf = 0;
  for (int d = 0; d < lr; d++) {
    bool used = false;
    for (int i = 0; i < nb; i++)
      used |= lb[i] == d;
    for (int i = 0; i < nc; i++)
      used |= lc[i] == d;
    if (!used)
      lfree[nlf++] = d;
  }
  for (int d = 0; d < rr; d++) {
    bool used = false;
    for (int i = 0; i < nb; i++)
      used |= rb[i] == d;
    for (int i = 0; i < nc; i++)
      used |= rc[i] == d;
    if (!used)
      rfree[nrf++] = d;
  }
  /* ct's dims: [batch (nb) | lhs free (nlf) | rhs free (nrf)] */
  int64_t ctb[PT_MAX_RANK], ctl[PT_MAX_RANK], ctr[PT_MAX_RANK], pos[PT_MAX_RANK];
  for (int i = 0; i < nb; i++)
    ctb[i] = i;
  for (int i = 0; i < nlf; i++)
    ctl[i] = nb + i;
  for (int i = 0; i < nrf; i++)
    ctr[i] = nb + nlf + i;
  if (is_lin(c, L)) {
    /* dot(ct, R) contracting the rhs free dims: [batch | lhs free | R's
     * contracting dims in increasing order] */
    pt_value *g = pt_b_dot(&c->b, ct, P(c, R), ctb, rb, nb, ctr, rfree, nrf);
    for (int d = 0; d < lr; d++) {
      for (int i = 0; i < nb; i++)
        if (lb[i] == d)
          pos[d] = i;
      for (int i = 0; i < nlf; i++)
        if (lfree[i] == d)
          pos[d] = nb + i;
      for (int j = 0; j < nc; j++)
        if (lc[j] == d)
          pos[d] = nb + nlf + rank_in(rc, nc, rc[j]);
    }
    acc(c, L, permute_to(&c->b, g, pos, lr));
  }
  if (is_lin(c, R)) {
    /* dot(L, ct) contracting the lhs free dims: [batch | L's contracting
     * dims in increasing order | rhs free] */
    pt_value *g = pt_b_dot(&c->b, P(c, L), ct, lb, ctb, nb, lfree, ctl, nlf);
    for (int d = 0; d < rr; d++) {
      for (int i = 0; i < nb; i++)
        if (rb[i] == d)
          pos[d] = i;
      for (int i = 0; i < nrf; i++)
        if (rfree[i] == d)
          pos[d] = nb + nc + i;
      for (int j = 0; j < nc; j++)
        if (rc[j] == d)
          pos[d] = nb + rank_in(lc, nc, lc[j]);
    }
    acc(c, R, permute_to(&c->b, g, pos, rr));
  }
}
static void tr_TAKE(tr_ctx *c, const pt_op *op, pt_value *ct) {
  acc(c, op->operands[0],
      pt_b_scatter_add(&c->b, P(c, op->operands[1]), ct, op->operands[0]->type));
}
static void tr_SCATTER_ADD(tr_ctx *c, const pt_op *op, pt_value *ct) {
  acc(c, op->operands[1], pt_b_take(&c->b, ct, P(c, op->operands[0])));
}
static void tr_SCAN(tr_ctx *c, const pt_op *op, pt_value *ct) {
  /* h = L b with h[t] = a[t] h[t-1] + b[t]: the cotangent of b is the
   * scan the other way with a shifted by one, g[t] = ct[t] + a[t+1] g[t+1] */
  int64_t dim = pt_op_int(op, PT_A_DIM, 0);
  bool rev = pt_op_int(op, PT_A_REVERSE, 0) != 0;
  pt_value *a = shift(&c->b, P(c, op->operands[0]), dim, rev);
  acc(c, op->operands[1], pt_b_scan(&c->b, a, ct, dim, !rev));
}
static void tr_nonlinear(tr_ctx *c, const pt_op *op, pt_value *ct) {
  PT_UNREACHABLE(); /* check_linear rejects these first */
}
#define tr_EXP tr_nonlinear
#define tr_LOG tr_nonlinear
#define tr_TANH tr_nonlinear
#define tr_LOGISTIC tr_nonlinear
#define tr_SQRT tr_nonlinear
#define tr_RSQRT tr_nonlinear
#define tr_ABS tr_nonlinear
#define tr_SIN tr_nonlinear
#define tr_COS tr_nonlinear
#define tr_STOP_GRADIENT tr_nonlinear
#define tr_MAX tr_nonlinear
#define tr_MIN tr_nonlinear
#define tr_POW tr_nonlinear
#define tr_COMPARE tr_nonlinear
#define tr_CONSTANT tr_nonlinear
#define tr_IOTA tr_nonlinear
#define tr_REDUCE_MAX tr_nonlinear
#define tr_ALL_GATHER tr_nonlinear
#define tr_REDUCE_SCATTER tr_nonlinear
#define tr_ALL_REDUCE tr_nonlinear
#define tr_ALL_TO_ALL tr_nonlinear
#define tr_AXIS_SLICE tr_nonlinear
#define tr_COLLECTIVE_PERMUTE tr_nonlinear
#define tr_CALL tr_nonlinear

static const tr_fn tr_rules[PT_OP_COUNT] = {
#define X(e, name, arity, cls, flags) tr_##e,
    PT_OPS(X)
#undef X
};

/* Which operands of op may be linear for op to be linear: a bit per
 * operand position (bit 31: any). 0: op is never linear. */
static unsigned linear_positions(const pt_op *op) {
  switch (op->code) {
  case PT_OP_NEG:
  case PT_OP_ADD:
  case PT_OP_SUB:
  case PT_OP_BROADCAST:
  case PT_OP_RESHAPE:
  case PT_OP_TRANSPOSE:
  case PT_OP_SLICE:
  case PT_OP_CONCAT:
  case PT_OP_PAD:
  case PT_OP_REDUCE_SUM:
    return ~0u;
  case PT_OP_CONVERT:
    return op->operands[0]->type.dtype == PT_F32 && op->result->type.dtype == PT_F32 ? 1u : 0u;
  case PT_OP_MUL:
  case PT_OP_DOT:
    return 3u; /* either, but not both: checked separately */
  case PT_OP_DIV:
    return 1u;
  case PT_OP_SELECT:
    return 6u;
  case PT_OP_TAKE:
    return 1u;
  case PT_OP_SCATTER_ADD:
  case PT_OP_SCAN:
    return 2u;
  case PT_OP_EXP:
  case PT_OP_LOG:
  case PT_OP_TANH:
  case PT_OP_LOGISTIC:
  case PT_OP_SQRT:
  case PT_OP_RSQRT:
  case PT_OP_ABS:
  case PT_OP_SIN:
  case PT_OP_COS:
  case PT_OP_STOP_GRADIENT:
  case PT_OP_MAX:
  case PT_OP_MIN:
  case PT_OP_POW:
  case PT_OP_COMPARE:
  case PT_OP_CONSTANT:
  case PT_OP_IOTA:
  case PT_OP_REDUCE_MAX:
  case PT_OP_ALL_GATHER:
  case PT_OP_REDUCE_SCATTER:
  case PT_OP_ALL_REDUCE:
  case PT_OP_ALL_TO_ALL:
  case PT_OP_AXIS_SLICE:
  case PT_OP_COLLECTIVE_PERMUTE:
  case PT_OP_CALL:
    return 0;
  case PT_OP_COUNT:
    break;
  }
  PT_UNREACHABLE();
}

/* Marks lin[] for every value of f that depends on a linear argument, and
 * checks each such op is linear in those operands. */
static pt_status unzip(const pt_func *f, bool *lin, pt_diag *d) {
  for (int i = 0; i < f->nops; i++) {
    const pt_op *op = f->ops[i];
    unsigned which = 0;
    int count = 0;
    for (int k = 0; k < op->noperands; k++)
      if (lin[op->operands[k]->id]) {
        which |= 1u << (k < 31 ? k : 31);
        count++;
      }
    if (!count)
      continue;
    unsigned allowed = linear_positions(op);
    bool ok = allowed == ~0u ? true : (which & ~allowed) == 0 && allowed != 0;
    if ((op->code == PT_OP_MUL || op->code == PT_OP_DOT) && count > 1)
      ok = false;
    if (!ok) {
      pt_diag_error(d, op->loc, "'%s' is not linear in its tangent operands, so it cannot be "
                    "transposed", pt_op_name(op->code));
      return PT_ERR;
    }
    lin[op->result->id] = true;
  }
  return PT_OK;
}

/* Copies f's primal ops into c->b's function, then walks the linear ops
 * backwards applying the transpose rules. c->ct must hold the cotangents of
 * f's linear results; afterwards it holds those of its linear arguments. */
static void transpose_body(tr_ctx *c, const pt_func *f) {
  int maxops = 1;
  for (int i = 0; i < f->nops; i++)
    if (f->ops[i]->noperands > maxops)
      maxops = f->ops[i]->noperands;
  pt_value **ops = pt_malloc((size_t)maxops * sizeof *ops);
  for (int i = 0; i < f->nops; i++) {
    const pt_op *op = f->ops[i];
    if (c->lin[op->result->id])
      continue;
    for (int k = 0; k < op->noperands; k++)
      ops[k] = P(c, op->operands[k]);
    c->pmap[op->result->id] = pt_b_clone(&c->b, op, ops);
  }
  pt_free(ops);
  for (int i = f->nops - 1; i >= 0; i--) {
    const pt_op *op = f->ops[i];
    pt_value *ct = c->ct[op->result->id];
    if (!c->lin[op->result->id] || !ct)
      continue;
    c->b.loc = op->loc;
    tr_rules[op->code](c, op, ct);
  }
}

/* ---- the entry points ------------------------------------------------- */

static char *join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 1;
  char *s = pt_malloc(n);
  snprintf(s, n, "%s%s", a, b);
  return s;
}

typedef struct {
  const pt_func *f;
  int result;  /* index of the differentiated result */
  bool *wrt;   /* by argument index */
  char *name;  /* the new function's name */
} plan;

static void plan_free(plan *p) {
  pt_free(p->wrt);
  pt_free(p->name);
}

static pt_status make_plan(pt_module *m, const pt_autodiff_opts *o, const char *suffix,
                           plan *p, pt_diag *d) {
  memset(p, 0, sizeof *p);
  const pt_func *f = pt_module_find_func(m, o->func);
  if (!f) {
    pt_diag_error(d, (pt_loc){m->file, 0, 0}, "there is no function '@%s' to differentiate",
                  o->func);
    return PT_ERR;
  }
  p->f = f;
  p->result = -1;
  if (o->result) {
    p->result = pt_func_find_result(f, o->result);
    if (p->result < 0) {
      pt_diag_error(d, f->loc, "@%s has no result called '%s'", f->name, o->result);
      return PT_ERR;
    }
  } else {
    p->result = pt_func_find_result(f, "loss");
    if (p->result < 0 && f->nresults == 1)
      p->result = 0;
    if (p->result < 0) {
      pt_diag_error(d, f->loc, "@%s has %d results and none is called 'loss'; name the one "
                    "to differentiate", f->name, f->nresults);
      return PT_ERR;
    }
  }
  const pt_result *r = &f->results[p->result];
  if (r->type.rank != 0 || r->type.dtype != PT_F32) {
    char b[PT_TYPE_STRLEN];
    pt_diag_error(d, r->loc, "the differentiated result '%s' is %s; it must be an f32 scalar "
                  "(f32[])", r->name, pt_type_str(&r->type, b, sizeof b));
    return PT_ERR;
  }
  p->wrt = pt_calloc((size_t)f->nargs + 1, sizeof *p->wrt);
  if (o->nwrt) {
    for (int i = 0; i < o->nwrt; i++) {
      pt_value *a = pt_func_find_arg(f, o->wrt[i]);
      if (!a) {
        pt_diag_error(d, f->loc, "@%s has no argument '%%%s' to differentiate with respect to",
                      f->name, o->wrt[i]);
        return PT_ERR;
      }
      p->wrt[a->arg_index] = true;
    }
  } else {
    for (int i = 0; i < f->nargs; i++)
      p->wrt[i] = f->args[i]->role == PT_ROLE_PARAM;
  }
  for (int i = 0; i < f->nargs; i++)
    if (p->wrt[i] && f->args[i]->type.dtype != PT_F32) {
      char b[PT_TYPE_STRLEN];
      pt_diag_error(d, f->args[i]->loc, "cannot differentiate with respect to %%%s: it is %s, "
                    "and only f32 arguments have gradients", f->args[i]->name,
                    pt_type_str(&f->args[i]->type, b, sizeof b));
      return PT_ERR;
    }
  p->name = o->out_name ? pt_strdup(o->out_name) : join(f->name, suffix);
  if (pt_module_find_func(m, p->name)) {
    pt_diag_error(d, f->loc, "function '@%s' already exists", p->name);
    return PT_ERR;
  }
  for (int i = 0; i < f->nops; i++)
    if (f->ops[i]->code == PT_OP_CALL) {
      pt_diag_error(d, f->ops[i]->loc, "cannot differentiate a call of '@%s': inline the module "
                    "first (pt_pass_inline)", f->ops[i]->callee);
      return PT_ERR;
    } else if (pt_optab[f->ops[i]->code].flags & PT_OPF_COLLECTIVE) {
      pt_diag_error(d, f->ops[i]->loc, "cannot differentiate '%s': differentiate the global "
                    "program before partitioning it", pt_op_name(f->ops[i]->code));
      return PT_ERR;
    }
  return PT_OK;
}

/* Builds the JVP function `name` of p->f into module m. */
static pt_func *linearize(pt_module *m, const plan *p, const char *name) {
  const pt_func *f = p->f;
  pt_func *g = pt_func_create(m, name, f->loc);
  jvp_ctx c = {{g, f->loc}};
  pt_value **primal = pt_calloc((size_t)f->nvalues + 1, sizeof *primal);
  pt_value **tan = pt_calloc((size_t)f->nvalues + 1, sizeof *tan);
  for (int i = 0; i < f->nargs; i++) {
    const pt_value *a = f->args[i];
    primal[a->id] = pt_func_add_arg(g, a->name, a->role, a->type, a->loc);
  }
  for (int i = 0; i < f->nargs; i++)
    if (p->wrt[i]) {
      const pt_value *a = f->args[i];
      char *tn = join("tan.", a->name);
      tan[a->id] = pt_func_add_arg(g, tn, PT_ROLE_INPUT, a->type, a->loc);
      pt_free(tn);
    }
  pt_value *x[64], *t[64];
  for (int i = 0; i < f->nops; i++) {
    const pt_op *op = f->ops[i];
    PT_ASSERT(op->noperands <= 64);
    bool any = false;
    for (int k = 0; k < op->noperands; k++) {
      x[k] = primal[op->operands[k]->id];
      t[k] = tan[op->operands[k]->id];
      any |= t[k] != NULL;
    }
    c.b.loc = op->loc;
    pt_value *y = pt_b_clone(&c.b, op, x);
    if (op->result->name)
      y->name = pt_arena_strdup(m->arena, op->result->name);
    primal[op->result->id] = y;
    if (any && y->type.dtype == PT_F32)
      tan[op->result->id] = jvp_rules[op->code](&c, op, x, y, t);
  }
  for (int i = 0; i < f->nresults; i++)
    pt_func_add_result(g, f->results[i].name, f->results[i].type,
                       primal[f->results[i].value->id], f->results[i].loc);
  const pt_result *r = &f->results[p->result];
  pt_value *tr = tan[r->value->id];
  if (!tr)
    tr = pt_b_splat(&c.b, 0.0, r->type);
  char *tn = join("tan.", r->name);
  pt_func_add_result(g, tn, r->type, tr, r->loc);
  pt_free(tn);
  pt_free(primal);
  pt_free(tan);
  return g;
}

pt_status pt_pass_linearize(pt_module *m, const pt_autodiff_opts *o, pt_func **out,
                            pt_diag *d) {
  plan p;
  if (make_plan(m, o, "_jvp", &p, d) != PT_OK) {
    plan_free(&p);
    return PT_ERR;
  }
  pt_func *g = linearize(m, &p, p.name);
  plan_free(&p);
  if (out)
    *out = g;
  return PT_OK;
}

pt_status pt_pass_transpose(pt_module *m, const pt_func *lin, const bool *linear_in,
                            const char *name, pt_func **out, pt_diag *d) {
  bool *isl = pt_calloc((size_t)lin->nvalues + 1, sizeof *isl);
  for (int i = 0; i < lin->nargs; i++)
    isl[lin->args[i]->id] = linear_in[i];
  if (unzip(lin, isl, d) != PT_OK) {
    pt_free(isl);
    return PT_ERR;
  }
  if (pt_module_find_func(m, name)) {
    pt_diag_error(d, lin->loc, "function '@%s' already exists", name);
    pt_free(isl);
    return PT_ERR;
  }
  pt_func *g = pt_func_create(m, name, lin->loc);
  tr_ctx c = {{g, lin->loc}, isl, pt_calloc((size_t)lin->nvalues + 1, sizeof(pt_value *)),
              pt_calloc((size_t)lin->nvalues + 1, sizeof(pt_value *))};
  for (int i = 0; i < lin->nargs; i++) {
    const pt_value *a = lin->args[i];
    if (!linear_in[i])
      c.pmap[a->id] = pt_func_add_arg(g, a->name, a->role, a->type, a->loc);
  }
  /* cotangent inputs for the linear results; a value returned twice gets
   * the sum of its cotangents */
  for (int i = 0; i < lin->nresults; i++) {
    const pt_result *r = &lin->results[i];
    if (!isl[r->value->id])
      continue;
    char *n = join("ct.", r->name);
    pt_value *ct = pt_func_add_arg(g, n, PT_ROLE_INPUT, r->type, r->loc);
    pt_free(n);
    acc(&c, r->value, ct);
  }
  transpose_body(&c, lin);
  for (int i = 0; i < lin->nargs; i++) {
    const pt_value *a = lin->args[i];
    if (!linear_in[i])
      continue;
    pt_value *ct = c.ct[a->id];
    if (!ct)
      ct = pt_b_splat(&c.b, 0.0, a->type);
    char *n = join("ct.", a->name);
    pt_func_add_result(g, n, a->type, ct, a->loc);
    pt_free(n);
  }
  pt_free(c.pmap);
  pt_free(c.ct);
  pt_free(isl);
  if (out)
    *out = g;
  return PT_OK;
}

void pt_pass_strip_stop_gradient(pt_func *f) {
  pt_value **repl = pt_calloc((size_t)f->nvalues + 1, sizeof *repl);
  for (int i = 0; i < f->nargs; i++)
    repl[f->args[i]->id] = f->args[i];
  for (int i = 0; i < f->nops; i++) {
    pt_op *op = f->ops[i];
    for (int k = 0; k < op->noperands; k++)
      op->operands[k] = repl[op->operands[k]->id];
    repl[op->result->id] = op->code == PT_OP_STOP_GRADIENT ? op->operands[0] : op->result;
  }
  for (int i = 0; i < f->nresults; i++)
    f->results[i].value = repl[f->results[i].value->id];
  pt_free(repl);
}

pt_status pt_pass_autodiff(pt_module *m, const pt_autodiff_opts *o, pt_func **out,
                           pt_diag *d) {
  plan p;
  if (make_plan(m, o, "_grad", &p, d) != PT_OK) {
    plan_free(&p);
    return PT_ERR;
  }
  const pt_func *f = p.f;
  /* linearize into a scratch module, then transpose its linear part */
  pt_module *scratch = pt_module_create(m->file);
  scratch->mesh = m->mesh;
  pt_func *lin = linearize(scratch, &p, "jvp");
  bool *isl = pt_calloc((size_t)lin->nvalues + 1, sizeof *isl);
  int ntan = 0;
  for (int i = 0; i < f->nargs; i++)
    if (p.wrt[i])
      isl[lin->args[f->nargs + ntan++]->id] = true;
  pt_status st = unzip(lin, isl, d);
  PT_ASSERT(st == PT_OK); /* the JVP rules emit only linear tangent ops */
  pt_func *g = pt_func_create(m, p.name, f->loc);
  tr_ctx c = {{g, f->loc}, isl, pt_calloc((size_t)lin->nvalues + 1, sizeof(pt_value *)),
              pt_calloc((size_t)lin->nvalues + 1, sizeof(pt_value *))};
  for (int i = 0; i < f->nargs; i++) {
    const pt_value *a = f->args[i];
    c.pmap[lin->args[i]->id] = pt_func_add_arg(g, a->name, a->role, a->type, a->loc);
  }
  /* the seed: d loss / d loss = 1 */
  const pt_value *tres = lin->results[f->nresults].value;
  if (isl[tres->id])
    c.ct[tres->id] = pt_b_splat(&c.b, 1.0, tres->type);
  transpose_body(&c, lin);
  for (int i = 0; i < f->nresults; i++) {
    const pt_value *v = lin->results[i].value;
    pt_func_add_result(g, f->results[i].name, f->results[i].type, P(&c, v),
                       f->results[i].loc);
  }
  ntan = 0;
  for (int i = 0; i < f->nargs; i++) {
    if (!p.wrt[i])
      continue;
    const pt_value *ta = lin->args[f->nargs + ntan++];
    pt_value *gr = c.ct[ta->id];
    c.b.loc = f->args[i]->loc;
    if (!gr)
      gr = pt_b_splat(&c.b, 0.0, ta->type);
    char *n = join("grad.", f->args[i]->name);
    pt_func_add_result(g, n, ta->type, gr, f->args[i]->loc);
    pt_free(n);
  }
  /* primal values named in f keep their names in the gradient function */
  for (int i = 0; i < lin->nops; i++) {
    const pt_value *v = lin->ops[i]->result;
    if (v->name && !isl[v->id] && c.pmap[v->id])
      c.pmap[v->id]->name = pt_arena_strdup(m->arena, v->name);
  }
  pt_free(c.pmap);
  pt_free(c.ct);
  pt_free(isl);
  pt_module_destroy(scratch);
  plan_free(&p);
  if (out)
    *out = g;
  return PT_OK;
}
