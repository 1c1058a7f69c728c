/* The reference interpreter: runs one verified function on host tensors.
 * Requires: f verified (shapes, attributes and types as docs/ir.md says).
 * Provides: the results, computed element by element in double and rounded
 * to the result's element type after each op. It is the oracle every other
 * execution path is checked against, so it trades speed for being plainly
 * right. Two concessions to size: each intermediate is freed as soon as its
 * last user has run, and dot first copies its operands into [batch, free,
 * contracted] order so that each result element is a contiguous sum.
 * i32 arithmetic, sums included, wraps modulo 2^32. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "interp.h"

/* ---- indexing ------------------------------------------------------- */

/* Row-major strides of t: s[rank-1] = 1. */
static void strides_of(const pt_type *t, int64_t *s) {
  int64_t acc = 1;
  for (int k = t->rank - 1; k >= 0; k--) {
    s[k] = acc;
    acc *= t->dims[k];
  }
}

/* Flat row-major index -> multi-index over t's dims. */
static void unflatten(const pt_type *t, int64_t flat, int64_t *idx) {
  for (int k = t->rank - 1; k >= 0; k--) {
    idx[k] = flat % t->dims[k];
    flat /= t->dims[k];
  }
}

/* Advances a row-major index over t's dimensions by one element, the last
 * dimension fastest: the walk unflatten gives for 0, 1, 2, ... without a
 * division per element. */
static void next_index(const pt_type *t, int64_t *idx) {
  for (int k = t->rank - 1; k >= 0; k--) {
    if (++idx[k] < t->dims[k])
      return;
    idx[k] = 0;
  }
}

/* Writes flat index `flat` of t as "[i, j, ...]". */
static const char *index_str(const pt_type *t, int64_t flat, char *buf,
                             size_t n) {
  int64_t idx[PT_MAX_RANK];
  unflatten(t, flat, idx);
  size_t used = (size_t)snprintf(buf, n, "[");
  for (int k = 0; k < t->rank && used < n; k++)
    used += (size_t)snprintf(buf + used, n - used, "%s%lld", k ? ", " : "",
                             (long long)idx[k]);
  if (used < n)
    snprintf(buf + used, n - used, "]");
  return buf;
}

/* ---- element helpers ------------------------------------------------ */

/* v modulo 2^32 as a two's-complement i32, without implementation-defined
 * conversions. */
static int32_t wrap32(int64_t v) {
  uint32_t u = (uint32_t)(uint64_t)v;
  if (u <= INT32_MAX)
    return (int32_t)u;
  return (int32_t)(u - 2147483648u) - INT32_MAX - 1;
}

/* Stores an exact integer result into an i32 tensor, wrapping. */
static void set_wrapped(pt_tensor *t, int64_t i, int64_t v) {
  ((int32_t *)t->data)[i] = wrap32(v);
}

static int32_t get_i32(const pt_tensor *t, int64_t i) {
  return ((const int32_t *)t->data)[i];
}

static int64_t numel(const pt_tensor *t) { return pt_type_numel(&t->type); }

/* Fills `out` (max entries) from an integer-list attribute; an absent one
 * gives `n_dflt` copies of `dflt` (the documented default). */
static int ints_or(const pt_op *op, pt_attrkey k, int64_t *out, int n_dflt,
                   int64_t dflt) {
  int n = pt_op_ints(op, k, out, PT_MAX_RANK);
  if (n >= 0)
    return n;
  for (int i = 0; i < n_dflt; i++)
    out[i] = dflt;
  return n_dflt;
}

static double aval_number(const pt_aval *v) {
  switch (v->kind) {
  case PT_AV_INT:
    return (double)v->i;
  case PT_AV_FLOAT:
    return v->f;
  case PT_AV_IDENT:
  case PT_AV_LIST:
    break;
  }
  PT_UNREACHABLE();
}

/* ---- element-wise ops ----------------------------------------------- */

static double f_neg(double x) { return -x; }
static double f_exp(double x) { return exp(x); }
static double f_log(double x) { return log(x); }
static double f_tanh(double x) { return tanh(x); }
static double f_logistic(double x) { return 1.0 / (1.0 + exp(-x)); }
static double f_sqrt(double x) { return sqrt(x); }
static double f_rsqrt(double x) { return 1.0 / sqrt(x); }
static double f_abs(double x) { return fabs(x); }
static double f_sin(double x) { return sin(x); }
static double f_cos(double x) { return cos(x); }
static double f_identity(double x) { return x; }

/* neg and abs of an i32 are exact in double (|x| <= 2^31), so the i32 path
 * only has to wrap: -INT32_MIN and |INT32_MIN| are INT32_MIN. */
static void run_unary(const pt_tensor *x, pt_tensor *r, double (*fn)(double)) {
  int64_t n = numel(r);
  for (int64_t i = 0; i < n; i++) {
    double v = fn(pt_tensor_get(x, i));
    if (r->type.dtype == PT_I32)
      set_wrapped(r, i, (int64_t)v);
    else
      pt_tensor_set(r, i, v);
  }
}

static pt_status run_binary(const pt_op *op, const pt_tensor *a,
                            const pt_tensor *b, pt_tensor *r, pt_diag *d) {
  int64_t n = numel(r);
  if (r->type.dtype == PT_I32) {
    /* Exact in int64 (|a * b| <= 2^62), then wrapped modulo 2^32. */
    for (int64_t i = 0; i < n; i++) {
      int64_t x = get_i32(a, i), y = get_i32(b, i), v;
      switch (op->code) {
      case PT_OP_ADD:
        v = x + y;
        break;
      case PT_OP_SUB:
        v = x - y;
        break;
      case PT_OP_MUL:
        v = x * y;
        break;
      case PT_OP_DIV:
        if (y == 0) {
          char buf[128];
          pt_diag_error(d, op->loc,
                        "div: i32 division by zero (the divisor at element "
                        "%s is 0)",
                        index_str(&r->type, i, buf, sizeof buf));
          return PT_ERR;
        }
        v = x / y; /* C truncates toward zero; INT32_MIN / -1 wraps */
        break;
      case PT_OP_MAX:
        v = x > y ? x : y;
        break;
      case PT_OP_MIN:
        v = x < y ? x : y;
        break;
      default:
        PT_UNREACHABLE(); /* pow is f32 only */
      }
      set_wrapped(r, i, v);
    }
    return PT_OK;
  }
  if (r->type.dtype == PT_F32 && !r->wide && a->type.dtype == PT_F32 && !a->wide &&
      b->type.dtype == PT_F32 && !b->wide &&
      (op->code == PT_OP_ADD || op->code == PT_OP_SUB || op->code == PT_OP_MUL ||
       op->code == PT_OP_DIV)) {
    /* the loop below without a call per element: the same double
     * arithmetic, rounded to f32 once */
    const float *x = a->data, *y = b->data;
    float *o = r->data;
    switch (op->code) {
    case PT_OP_ADD:
      for (int64_t i = 0; i < n; i++)
        o[i] = (float)((double)x[i] + (double)y[i]);
      break;
    case PT_OP_SUB:
      for (int64_t i = 0; i < n; i++)
        o[i] = (float)((double)x[i] - (double)y[i]);
      break;
    case PT_OP_MUL:
      for (int64_t i = 0; i < n; i++)
        o[i] = (float)((double)x[i] * (double)y[i]);
      break;
    default:
      for (int64_t i = 0; i < n; i++)
        o[i] = (float)((double)x[i] / (double)y[i]);
      break;
    }
    return PT_OK;
  }
  for (int64_t i = 0; i < n; i++) {
    double x = pt_tensor_get(a, i), y = pt_tensor_get(b, i), v;
    switch (op->code) {
    case PT_OP_ADD:
      v = x + y;
      break;
    case PT_OP_SUB:
      v = x - y;
      break;
    case PT_OP_MUL:
      v = x * y;
      break;
    case PT_OP_DIV:
      v = x / y;
      break;
    case PT_OP_MAX:
      v = isnan(x) || isnan(y) ? NAN : x > y ? x : y;
      break;
    case PT_OP_MIN:
      v = isnan(x) || isnan(y) ? NAN : x < y ? x : y;
      break;
    case PT_OP_POW:
      v = pow(x, y);
      break;
    default:
      PT_UNREACHABLE();
    }
    pt_tensor_set(r, i, v);
  }
  return PT_OK;
}

static void run_compare(const pt_op *op, const pt_tensor *a, const pt_tensor *b,
                        pt_tensor *r) {
  pt_cmpdir dir = pt_op_cmpdir(op);
  int64_t n = numel(r);
  for (int64_t i = 0; i < n; i++) {
    double x = pt_tensor_get(a, i), y = pt_tensor_get(b, i);
    bool v = false;
    switch (dir) {
    case PT_CMP_LT:
      v = x < y;
      break;
    case PT_CMP_LE:
      v = x <= y;
      break;
    case PT_CMP_GT:
      v = x > y;
      break;
    case PT_CMP_GE:
      v = x >= y;
      break;
    case PT_CMP_EQ:
      v = x == y;
      break;
    case PT_CMP_NE:
      v = x != y;
      break;
    case PT_CMP_COUNT:
      PT_UNREACHABLE();
    }
    pt_tensor_set(r, i, v);
  }
}

static void run_select(const pt_tensor *p, const pt_tensor *t,
                       const pt_tensor *f, pt_tensor *r) {
  int64_t n = numel(r);
  for (int64_t i = 0; i < n; i++)
    pt_tensor_set(r, i,
                  pt_tensor_get(p, i) != 0 ? pt_tensor_get(t, i)
                                           : pt_tensor_get(f, i));
}

/* pt_tensor_set already rounds the way convert is specified. */
static void run_convert(const pt_tensor *x, pt_tensor *r) {
  int64_t n = numel(r);
  for (int64_t i = 0; i < n; i++)
    pt_tensor_set(r, i, pt_tensor_get(x, i));
}

/* ---- producers ------------------------------------------------------ */

static void run_constant(const pt_op *op, pt_tensor *r) {
  const pt_attr *a = pt_op_attr(op, PT_A_VALUE);
  PT_ASSERT(a);
  int64_t n = numel(r);
  if (a->val.kind == PT_AV_LIST) {
    PT_ASSERT(a->val.n == n);
    for (int64_t i = 0; i < n; i++)
      pt_tensor_set(r, i, aval_number(&a->val.items[i]));
  } else {
    double v = aval_number(&a->val);
    for (int64_t i = 0; i < n; i++)
      pt_tensor_set(r, i, v);
  }
}

static void run_iota(const pt_op *op, pt_tensor *r) {
  int dim = (int)pt_op_int(op, PT_A_DIM, 0);
  int64_t n = numel(r), idx[PT_MAX_RANK] = {0};
  for (int64_t i = 0; i < n; i++) {
    if (i)
      next_index(&r->type, idx);
    pt_tensor_set(r, i, (double)idx[dim]);
  }
}

/* ---- data movement -------------------------------------------------- */

static void run_broadcast(const pt_op *op, const pt_tensor *x, pt_tensor *r) {
  int64_t dims[PT_MAX_RANK], xs[PT_MAX_RANK], idx[PT_MAX_RANK] = {0};
  int nd = ints_or(op, PT_A_DIMS, dims, 0, 0);
  PT_ASSERT(nd == x->type.rank);
  strides_of(&x->type, xs);
  int64_t n = numel(r);
  for (int64_t i = 0; i < n; i++) {
    if (i)
      next_index(&r->type, idx);
    int64_t src = 0;
    for (int k = 0; k < nd; k++)
      if (x->type.dims[k] != 1)
        src += idx[dims[k]] * xs[k];
    pt_tensor_set(r, i, pt_tensor_get(x, src));
  }
}

static void run_reshape(const pt_tensor *x, pt_tensor *r) {
  int64_t n = numel(r);
  PT_ASSERT(n == numel(x));
  for (int64_t i = 0; i < n; i++)
    pt_tensor_set(r, i, pt_tensor_get(x, i));
}

static void run_transpose(const pt_op *op, const pt_tensor *x, pt_tensor *r) {
  int64_t perm[PT_MAX_RANK], xs[PT_MAX_RANK], idx[PT_MAX_RANK] = {0};
  int np = ints_or(op, PT_A_PERM, perm, 0, 0);
  PT_ASSERT(np == r->type.rank);
  strides_of(&x->type, xs);
  int64_t n = numel(r);
  for (int64_t i = 0; i < n; i++) {
    if (i)
      next_index(&r->type, idx);
    int64_t src = 0;
    for (int k = 0; k < np; k++)
      src += idx[k] * xs[perm[k]];
    pt_tensor_set(r, i, pt_tensor_get(x, src));
  }
}

static void run_slice(const pt_op *op, const pt_tensor *x, pt_tensor *r) {
  int rank = x->type.rank;
  int64_t start[PT_MAX_RANK], stride[PT_MAX_RANK], xs[PT_MAX_RANK],
      idx[PT_MAX_RANK] = {0};
  PT_ASSERT(ints_or(op, PT_A_START, start, 0, 0) == rank);
  PT_ASSERT(ints_or(op, PT_A_STRIDE, stride, rank, 1) == rank);
  strides_of(&x->type, xs);
  int64_t n = numel(r);
  for (int64_t i = 0; i < n; i++) {
    if (i)
      next_index(&r->type, idx);
    int64_t src = 0;
    for (int k = 0; k < rank; k++)
      src += (start[k] + idx[k] * stride[k]) * xs[k];
    pt_tensor_set(r, i, pt_tensor_get(x, src));
  }
}

static void run_concat(const pt_op *op, pt_tensor *const *xs, pt_tensor *r) {
  int dim = (int)pt_op_int(op, PT_A_DIM, 0);
  int64_t rs[PT_MAX_RANK], offset = 0;
  strides_of(&r->type, rs);
  for (int j = 0; j < op->noperands; j++) {
    const pt_tensor *x = xs[j];
    int64_t n = numel(x), idx[PT_MAX_RANK] = {0};
    for (int64_t i = 0; i < n; i++) {
      if (i)
        next_index(&x->type, idx);
      int64_t dst = offset * rs[dim];
      for (int k = 0; k < r->type.rank; k++)
        dst += idx[k] * rs[k];
      pt_tensor_set(r, dst, pt_tensor_get(x, i));
    }
    offset += x->type.dims[dim];
  }
  PT_ASSERT(offset == r->type.dims[dim]);
}

static void run_pad(const pt_op *op, const pt_tensor *x, const pt_tensor *v,
                    pt_tensor *r) {
  int rank = x->type.rank;
  int64_t low[PT_MAX_RANK], interior[PT_MAX_RANK], rs[PT_MAX_RANK],
      idx[PT_MAX_RANK] = {0};
  PT_ASSERT(ints_or(op, PT_A_LOW, low, 0, 0) == rank);
  PT_ASSERT(ints_or(op, PT_A_INTERIOR, interior, rank, 0) == rank);
  strides_of(&r->type, rs);
  double fill = pt_tensor_get(v, 0);
  int64_t nr = numel(r), nx = numel(x);
  for (int64_t i = 0; i < nr; i++)
    pt_tensor_set(r, i, fill);
  for (int64_t i = 0; i < nx; i++) {
    if (i)
      next_index(&x->type, idx);
    int64_t dst = 0;
    for (int k = 0; k < rank; k++)
      dst += (low[k] + idx[k] * (interior[k] + 1)) * rs[k];
    pt_tensor_set(r, dst, pt_tensor_get(x, i));
  }
}

/* ---- reductions and contractions ------------------------------------ */

/* i32 sums are kept exactly in int64 (wrapping, unsigned so it is defined)
 * and wrapped to 32 bits at the end, which equals a chain of i32 adds; f32
 * sums are kept in double and rounded once. */
typedef struct {
  double f;
  uint64_t i;
} accum;

static void acc_store(pt_tensor *r, int64_t at, const accum *a) {
  if (r->type.dtype == PT_I32)
    set_wrapped(r, at, (int64_t)a->i);
  else
    pt_tensor_set(r, at, a->f);
}

static void run_reduce(const pt_op *op, const pt_tensor *x, pt_tensor *r) {
  bool is_max = op->code == PT_OP_REDUCE_MAX;
  bool is_int = x->type.dtype == PT_I32;
  int64_t dims[PT_MAX_RANK], rs[PT_MAX_RANK], step[PT_MAX_RANK],
      idx[PT_MAX_RANK] = {0};
  int nd = ints_or(op, PT_A_DIMS, dims, 0, 0);
  bool reduced[PT_MAX_RANK] = {false};
  for (int k = 0; k < nd; k++)
    reduced[dims[k]] = true;
  /* step[k]: how far operand dimension k moves in the result (0 if it is
   * reduced away). */
  strides_of(&r->type, rs);
  for (int k = 0, j = 0; k < x->type.rank; k++)
    step[k] = reduced[k] ? 0 : rs[j++];

  int64_t nr = numel(r), nx = numel(x);
  accum *acc = pt_malloc((size_t)nr * sizeof *acc);
  bool *seen = pt_calloc((size_t)nr, sizeof *seen);
  for (int64_t i = 0; i < nx; i++) {
    if (i)
      next_index(&x->type, idx);
    int64_t dst = 0;
    for (int k = 0; k < x->type.rank; k++)
      dst += idx[k] * step[k];
    double v = pt_tensor_get(x, i);
    accum *a = &acc[dst];
    if (!seen[dst]) {
      a->f = v;
      a->i = is_int ? (uint64_t)(int64_t)v : 0;
      seen[dst] = true;
    } else if (is_max) {
      if (isnan(v) || isnan(a->f))
        a->f = NAN;
      else if (v > a->f)
        a->f = v;
    } else {
      a->f += v;
      if (is_int)
        a->i += (uint64_t)(int64_t)v;
    }
  }
  for (int64_t i = 0; i < nr; i++) {
    PT_ASSERT(seen[i]);
    if (is_max)
      pt_tensor_set(r, i, acc[i].f);
    else
      acc_store(r, i, &acc[i]);
  }
  pt_free(seen);
  pt_free(acc);
}

/* Copies t's elements into a fresh double array (exact for every element
 * type), laid out row-major over t's dimensions taken in `order`: the
 * destination is walked in order and the source index kept as an odometer
 * (no division per element). */
static double *to_doubles(const pt_tensor *t, const int *order) {
  int rank = t->type.rank;
  int64_t ts[PT_MAX_RANK], dims[PT_MAX_RANK], st[PT_MAX_RANK], idx[PT_MAX_RANK] = {0};
  strides_of(&t->type, ts);
  for (int k = 0; k < rank; k++) {
    dims[k] = t->type.dims[order[k]];
    st[k] = ts[order[k]];
  }
  int64_t n = numel(t);
  double *out = pt_malloc((size_t)(n ? n : 1) * sizeof *out);
  bool f32 = t->type.dtype == PT_F32 && !t->wide;
  const float *fs = t->data;
  int64_t src = 0;
  for (int64_t i = 0; i < n; i++) {
    out[i] = f32 ? (double)fs[src] : pt_tensor_get(t, src);
    for (int k = rank - 1; k >= 0; k--) { /* the next index, last dimension fastest */
      src += st[k];
      if (++idx[k] < dims[k])
        break;
      src -= st[k] * dims[k];
      idx[k] = 0;
    }
  }
  return out;
}

/* Orders one operand's dimensions as batch, free, contracted; returns the
 * product of the free dimensions' sizes. */
static int64_t dot_order(const pt_type *t, const int64_t *batch, int nb,
                         const int64_t *con, int nc, int *order) {
  bool used[PT_MAX_RANK] = {false};
  int n = 0;
  for (int k = 0; k < nb; k++)
    used[order[n++] = (int)batch[k]] = true;
  int64_t nfree = 1;
  for (int k = 0; k < nc; k++)
    used[con[k]] = true;
  for (int k = 0; k < t->rank; k++)
    if (!used[k]) {
      order[n++] = k;
      nfree *= t->dims[k];
    }
  for (int k = 0; k < nc; k++)
    order[n++] = (int)con[k];
  PT_ASSERT(n == t->rank);
  return nfree;
}

/* Both operands are copied into [batch, free, contracted] order, so with B
 * batch points, M lhs-free, N rhs-free and K contracted points the result,
 * which is row-major over [batch, lhs free, rhs free], is
 * r[b, m, n] = sum_k L[b, m, k] * R[b, n, k], a contiguous inner product. */
static void run_dot(const pt_op *op, const pt_tensor *l, const pt_tensor *rh,
                    pt_tensor *r) {
  int64_t lb[PT_MAX_RANK], rb[PT_MAX_RANK], lc[PT_MAX_RANK], rc[PT_MAX_RANK];
  int nb = ints_or(op, PT_A_LHS_BATCH, lb, 0, 0);
  PT_ASSERT(ints_or(op, PT_A_RHS_BATCH, rb, 0, 0) == nb);
  int nc = ints_or(op, PT_A_LHS_CONTRACT, lc, 0, 0);
  PT_ASSERT(ints_or(op, PT_A_RHS_CONTRACT, rc, 0, 0) == nc);

  int lorder[PT_MAX_RANK], rorder[PT_MAX_RANK];
  int64_t M = dot_order(&l->type, lb, nb, lc, nc, lorder);
  int64_t N = dot_order(&rh->type, rb, nb, rc, nc, rorder);
  int64_t B = 1, K = 1;
  for (int k = 0; k < nb; k++)
    B *= l->type.dims[lb[k]];
  for (int k = 0; k < nc; k++)
    K *= l->type.dims[lc[k]];
  PT_ASSERT(B * M * N == numel(r));

  double *L = to_doubles(l, lorder), *R = to_doubles(rh, rorder);
  bool is_int = r->type.dtype == PT_I32;
  for (int64_t b = 0; b < B; b++)
    for (int64_t m = 0; m < M; m++)
      for (int64_t n = 0; n < N; n++) {
        const double *x = L + (b * M + m) * K, *y = R + (b * N + n) * K;
        if (!is_int && n + 4 <= N) {
          /* four results at once, each summed over k in order as below (the
           * same operations: the same bits), in independent chains */
          const double *y1 = y + K, *y2 = y1 + K, *y3 = y2 + K;
          double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
          for (int64_t k = 0; k < K; k++) {
            a0 += x[k] * y[k];
            a1 += x[k] * y1[k];
            a2 += x[k] * y2[k];
            a3 += x[k] * y3[k];
          }
          double o[4] = {a0, a1, a2, a3};
          for (int j = 0; j < 4; j++)
            acc_store(r, (b * M + m) * N + n + j, &(accum){.f = o[j]});
          n += 3;
          continue;
        }
        accum a = {0, 0};
        if (is_int) {
          for (int64_t k = 0; k < K; k++)
            a.i += (uint64_t)((int64_t)x[k] * (int64_t)y[k]);
        } else {
          for (int64_t k = 0; k < K; k++)
            a.f += x[k] * y[k];
        }
        acc_store(r, (b * M + m) * N + n, &a);
      }
  pt_free(L);
  pt_free(R);
}

/* Checks every index of `idx` against [0, rows); reports the first bad one. */
static pt_status check_rows(const pt_op *op, const pt_tensor *idx, int64_t rows,
                            pt_diag *d) {
  int64_t n = numel(idx);
  for (int64_t i = 0; i < n; i++) {
    int32_t v = get_i32(idx, i);
    if (v < 0 || v >= rows) {
      char buf[128];
      pt_diag_error(d, op->loc,
                    "%s: index %d at position %s of the indices is outside "
                    "the valid range [0, %lld)",
                    pt_op_name(op->code), (int)v,
                    index_str(&idx->type, i, buf, sizeof buf), (long long)rows);
      return PT_ERR;
    }
  }
  return PT_OK;
}

static pt_status run_take(const pt_op *op, const pt_tensor *table,
                          const pt_tensor *idx, pt_tensor *r, pt_diag *d) {
  int64_t rows = table->type.dims[0];
  if (check_rows(op, idx, rows, d) != PT_OK)
    return PT_ERR;
  int64_t row = numel(table) / rows, n = numel(idx);
  PT_ASSERT(numel(r) == n * row);
  for (int64_t i = 0; i < n; i++) {
    int64_t src = (int64_t)get_i32(idx, i) * row;
    for (int64_t j = 0; j < row; j++)
      pt_tensor_set(r, i * row + j, pt_tensor_get(table, src + j));
  }
  return PT_OK;
}

static pt_status run_scatter_add(const pt_op *op, const pt_tensor *idx,
                                 const pt_tensor *upd, pt_tensor *r,
                                 pt_diag *d) {
  int64_t rows = r->type.dims[0];
  if (check_rows(op, idx, rows, d) != PT_OK)
    return PT_ERR;
  int64_t row = numel(r) / rows, n = numel(idx), nr = numel(r);
  PT_ASSERT(numel(upd) == n * row);
  bool is_int = r->type.dtype == PT_I32;
  accum *acc = pt_calloc((size_t)nr, sizeof *acc);
  for (int64_t i = 0; i < n; i++) {
    int64_t dst = (int64_t)get_i32(idx, i) * row;
    for (int64_t j = 0; j < row; j++) {
      double v = pt_tensor_get(upd, i * row + j);
      acc[dst + j].f += v;
      if (is_int)
        acc[dst + j].i += (uint64_t)(int64_t)v;
    }
  }
  for (int64_t i = 0; i < nr; i++)
    acc_store(r, i, &acc[i]);
  pt_free(acc);
  return PT_OK;
}

/* h[t] = a[t] * h[t-1] + b[t] along `dim`; each h[t] is rounded to f32 (it
 * is a result element) before the next step uses it. */
static void run_scan(const pt_op *op, const pt_tensor *a, const pt_tensor *b,
                     pt_tensor *r) {
  int dim = (int)pt_op_int(op, PT_A_DIM, 0);
  bool reverse = pt_op_int(op, PT_A_REVERSE, 0) != 0;
  const pt_type *t = &r->type;
  int64_t outer = 1, inner = 1, len = t->dims[dim];
  for (int k = 0; k < dim; k++)
    outer *= t->dims[k];
  for (int k = dim + 1; k < t->rank; k++)
    inner *= t->dims[k];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      double h = 0;
      for (int64_t s = 0; s < len; s++) {
        int64_t step = reverse ? len - 1 - s : s;
        int64_t at = (o * len + step) * inner + in;
        pt_tensor_set(r, at, pt_tensor_get(a, at) * h + pt_tensor_get(b, at));
        h = pt_tensor_get(r, at);
      }
    }
}

/* ---- the driver ----------------------------------------------------- */

/* Runs one op into the fresh, zero-filled result r. */
pt_status pt_interp_op(const pt_op *op, pt_tensor *const *x, pt_tensor *r,
                        pt_diag *d) {
  switch (op->code) {
  case PT_OP_NEG:
    run_unary(x[0], r, f_neg);
    return PT_OK;
  case PT_OP_STOP_GRADIENT:
    run_unary(x[0], r, f_identity);
    return PT_OK;
  case PT_OP_EXP:
    run_unary(x[0], r, f_exp);
    return PT_OK;
  case PT_OP_LOG:
    run_unary(x[0], r, f_log);
    return PT_OK;
  case PT_OP_TANH:
    run_unary(x[0], r, f_tanh);
    return PT_OK;
  case PT_OP_LOGISTIC:
    run_unary(x[0], r, f_logistic);
    return PT_OK;
  case PT_OP_SQRT:
    run_unary(x[0], r, f_sqrt);
    return PT_OK;
  case PT_OP_RSQRT:
    run_unary(x[0], r, f_rsqrt);
    return PT_OK;
  case PT_OP_ABS:
    run_unary(x[0], r, f_abs);
    return PT_OK;
  case PT_OP_SIN:
    run_unary(x[0], r, f_sin);
    return PT_OK;
  case PT_OP_COS:
    run_unary(x[0], r, f_cos);
    return PT_OK;
  case PT_OP_ADD:
  case PT_OP_SUB:
  case PT_OP_MUL:
  case PT_OP_DIV:
  case PT_OP_MAX:
  case PT_OP_MIN:
  case PT_OP_POW:
    return run_binary(op, x[0], x[1], r, d);
  case PT_OP_COMPARE:
    run_compare(op, x[0], x[1], r);
    return PT_OK;
  case PT_OP_SELECT:
    run_select(x[0], x[1], x[2], r);
    return PT_OK;
  case PT_OP_CONVERT:
    run_convert(x[0], r);
    return PT_OK;
  case PT_OP_CONSTANT:
    run_constant(op, r);
    return PT_OK;
  case PT_OP_IOTA:
    run_iota(op, r);
    return PT_OK;
  case PT_OP_BROADCAST:
    run_broadcast(op, x[0], r);
    return PT_OK;
  case PT_OP_RESHAPE:
    run_reshape(x[0], r);
    return PT_OK;
  case PT_OP_TRANSPOSE:
    run_transpose(op, x[0], r);
    return PT_OK;
  case PT_OP_SLICE:
    run_slice(op, x[0], r);
    return PT_OK;
  case PT_OP_CONCAT:
    run_concat(op, x, r);
    return PT_OK;
  case PT_OP_PAD:
    run_pad(op, x[0], x[1], r);
    return PT_OK;
  case PT_OP_REDUCE_SUM:
  case PT_OP_REDUCE_MAX:
    run_reduce(op, x[0], r);
    return PT_OK;
  case PT_OP_DOT:
    run_dot(op, x[0], x[1], r);
    return PT_OK;
  case PT_OP_TAKE:
    return run_take(op, x[0], x[1], r, d);
  case PT_OP_SCATTER_ADD:
    return run_scatter_add(op, x[0], x[1], r, d);
  case PT_OP_SCAN:
    run_scan(op, x[0], x[1], r);
    return PT_OK;
  case PT_OP_ALL_GATHER:
  case PT_OP_REDUCE_SCATTER:
  case PT_OP_ALL_REDUCE:
  case PT_OP_ALL_TO_ALL:
  case PT_OP_AXIS_SLICE:
  case PT_OP_COLLECTIVE_PERMUTE:
    pt_diag_error(d, op->loc,
                  "collective '%s' cannot run in the reference interpreter; "
                  "run the lowered program on a mesh",
                  pt_op_name(op->code));
    return PT_ERR;
  case PT_OP_CALL:
    /* pt_interp_func runs calls itself (it inlines them); a single op has
     * no callee to run */
    pt_diag_error(d, op->loc, "a call of '@%s' cannot run as a single op", op->callee);
    return PT_ERR;
  case PT_OP_COUNT:
    break;
  }
  PT_UNREACHABLE();
}

static bool value_fits(const pt_value *v, int64_t phys, pt_diag *d) {
  int64_t bytes = (int64_t)pt_type_bytes(&v->type);
  if (bytes <= phys)
    return true;
  char tb[PT_TYPE_STRLEN];
  pt_diag_error(d, v->loc, "%%%s is %s, %lld bytes: more than this machine's %lld bytes of memory",
                v->name ? v->name : "?", pt_type_str(&v->type, tb, sizeof tb), (long long)bytes,
                (long long)phys);
  return false;
}

pt_status pt_interp_check_memory(const pt_func *f, pt_diag *d) {
  int64_t phys = pt_physical_memory();
  for (int i = 0; i < f->nargs; i++)
    if (!value_fits(f->args[i], phys, d))
      return PT_ERR;
  for (int i = 0; i < f->nops; i++)
    for (int k = 0; k < pt_op_nresults(f->ops[i]); k++)
      if (!value_fits(pt_op_result(f->ops[i], k), phys, d))
        return PT_ERR;
  return PT_OK;
}

static pt_status interp(const pt_func *f, pt_tensor *const *args, pt_tensor **results,
                        bool wide, pt_diag *d) {
  if (pt_interp_check_memory(f, d) != PT_OK)
    return PT_ERR;
  int nv = f->nvalues > 0 ? f->nvalues : 1;
  pt_tensor **vals = pt_calloc((size_t)nv, sizeof *vals);
  bool *borrowed = pt_calloc((size_t)nv, sizeof *borrowed);
  bool *given = pt_calloc((size_t)nv, sizeof *given); /* moved to results */
  /* last[id]: index of the last op that reads the value; -1 if none reads
   * it; f->nops if it is returned (kept to the end). */
  int *last = pt_malloc((size_t)nv * sizeof *last);
  for (int i = 0; i < nv; i++)
    last[i] = -1;

  for (int i = 0; i < f->nargs; i++) {
    const pt_value *a = f->args[i];
    PT_ASSERT(args[i] && pt_type_equal(&args[i]->type, &a->type));
    PT_ASSERT(wide || !args[i]->wide);
    vals[a->id] = args[i];
    borrowed[a->id] = true;
  }
  for (int i = 0; i < f->nops; i++)
    for (int j = 0; j < f->ops[i]->noperands; j++)
      last[f->ops[i]->operands[j]->id] = i;
  for (int i = 0; i < f->nresults; i++) {
    PT_ASSERT(f->results[i].value);
    last[f->results[i].value->id] = f->nops;
  }

  pt_status st = PT_OK;
  int maxops = 1;
  for (int i = 0; i < f->nops; i++)
    if (f->ops[i]->noperands > maxops)
      maxops = f->ops[i]->noperands;
  pt_tensor **x = pt_malloc((size_t)maxops * sizeof *x);

  for (int i = 0; i < f->nops && st == PT_OK; i++) {
    const pt_op *op = f->ops[i];
    for (int j = 0; j < op->noperands; j++) {
      x[j] = vals[op->operands[j]->id];
      PT_ASSERT(x[j]);
    }
    if (op->code == PT_OP_CALL) {
      /* a call runs its callee on the operands (verified: it exists and
       * nothing recurses) */
      const pt_func *callee = pt_module_find_func(f->module, op->callee);
      PT_ASSERT(callee);
      pt_tensor **res = pt_calloc((size_t)op->nresults, sizeof *res);
      st = interp(callee, x, res, wide, d);
      for (int k = 0; k < op->nresults; k++) {
        int rid = op->results[k]->id;
        if (st != PT_OK || last[rid] < 0) {
          pt_tensor_destroy(res[k]);
          res[k] = NULL;
        }
        vals[rid] = res[k];
      }
      pt_free(res);
    } else {
      int rid = op->result->id;
      pt_tensor *r = wide ? pt_tensor_create_wide(op->result->type)
                          : pt_tensor_create(op->result->type);
      st = pt_interp_op(op, x, r, d);
      if (st != PT_OK || last[rid] < 0) { /* failed, or nothing reads it */
        pt_tensor_destroy(r);
        r = NULL;
      }
      vals[rid] = r;
    }
    for (int j = 0; j < op->noperands; j++) {
      int id = op->operands[j]->id;
      if (last[id] == i && !borrowed[id]) {
        pt_tensor_destroy(vals[id]); /* NULL if an earlier operand freed it */
        vals[id] = NULL;
      }
    }
  }
  pt_free(x);

  for (int i = 0; i < f->nresults; i++) {
    int id = f->results[i].value->id;
    if (st != PT_OK) {
      results[i] = NULL;
    } else if (borrowed[id] || given[id]) {
      results[i] = pt_tensor_clone(vals[id]);
    } else {
      results[i] = vals[id];
      given[id] = true;
    }
  }
  for (int i = 0; i < nv; i++)
    if (!borrowed[i] && !given[i])
      pt_tensor_destroy(vals[i]);
  pt_free(last);
  pt_free(given);
  pt_free(borrowed);
  pt_free(vals);
  return st;
}

pt_status pt_interp_run(const pt_func *f, pt_tensor *const *args,
                        pt_tensor **results, pt_diag *d) {
  return interp(f, args, results, false, d);
}

pt_status pt_interp_run_f64(const pt_func *f, pt_tensor *const *args,
                            pt_tensor **results, pt_diag *d) {
  return interp(f, args, results, true, d);
}
