/* The per-rank executor (see exec.h): the buffer planner, the kernels and
 * the step loop. A kernel returns false when it has no fast path for the
 * op's types or attributes; the op then runs in the reference interpreter's
 * kernel, which is always right and only slower. */
#include "exec.h"
#include "jit.h"
#include "vmath.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* ---- the buffer plan ---------------------------------------------------- */

static int64_t round64(int64_t n) {
  return n <= 0 ? 64 : (n + 63) / 64 * 64;
}

static int64_t numel(const pt_tensor *t) {
  return pt_type_numel(&t->type);
}

/* Fills `out` from an integer-list attribute; absent: n_dflt copies of dflt. */
static int ints_or(const pt_op *op, pt_attrkey k, int64_t *out, int n_dflt, int64_t dflt) {
  int n = pt_op_ints(op, k, out, PT_MAX_RANK);
  if (n >= 0)
    return n;
  for (int i = 0; i < n_dflt; i++)
    out[i] = dflt;
  return n_dflt;
}

static void strides_of(const pt_type *t, int64_t *s) {
  int64_t acc = 1;
  for (int k = t->rank - 1; k >= 0; k--) {
    s[k] = acc;
    acc *= t->dims[k];
  }
}

/* How dot runs as GEMMs: result [B, M, N] = lhs [B, M, K] . rhs [B, K, N].
 * Each operand is read where it is stored when, within a batch point, its
 * two groups of dims (free and contracted) each walk memory with one
 * stride and one of the two strides is 1: a GEMM operand, as stored (its
 * leading dimension the other stride) or transposed. The batch points may
 * then lie anywhere (their offsets from the batch dims' strides): a head
 * of [b, s, h, d] is a batch point of rows s*b... with leading dimension
 * h*d, no copy. Any other operand is copied into scratch in the order
 * [batch, M, K] (or [batch, K, N]) first. */
typedef struct {
  int order[PT_MAX_RANK];       /* batch dims, then the first group, then the second */
  int nb;                       /* batch dims */
  bool copy, trans;             /* copied into `order`; else read as stored, maybe transposed */
  int64_t ld;                   /* the leading dimension when read as stored */
  int64_t bstride[PT_MAX_RANK]; /* per batch dim (in order), its stride in elements */
} dot_operand;

typedef struct {
  int64_t B, M, N, K;
  dot_operand l, r; /* lhs [b, m, k]; rhs [b, k, n] */
  int64_t bdims[PT_MAX_RANK];
  int64_t lbytes, rbytes; /* scratch for the copies */
  bool flip;              /* compute C^T = op(B)^T op(A)^T, then transpose it into C */
  int64_t cbytes;         /* scratch for one C^T */
  /* the result: row-major [B, M, N] (ldc N, batch point i at i*M*N), or
   * written through a transpose (fusion.h, strided dots): rows ldc apart, batch
   * dims cbstride apart; c_ok false when those strides are no GEMM's */
  int64_t ldc;
  int64_t cbstride[PT_MAX_RANK];
  bool c_strided, c_ok;
} dot_plan;

/* Element strides of a dot's operands and result as the dot's dims see
 * them, when they are read or written through a transpose (fusion.h,
 * strided dots); NULL: contiguous. */
typedef struct {
  const int64_t *l, *r, *c;
} dot_strides;

/* Whether a GEMM of a thin C (few rows M, at least twice as many columns
 * N) whose right operand is read transposed (C = A B^T, as a layer's input
 * gradient d . w^T is) runs as C^T = B A^T followed by a transpose of C^T:
 * OpenBLAS (column-major inside) then reads the large B as stored. One
 * thread, sgemm GFLOP/s (bench/gemm_peak, 2026-12-06, AMD EPYC): A B^T at
 * 32x1024x1024, 106 as it is and 163 flipped; inside the MLP's BP step the
 * product took 0.52 instead of 0.72-0.75 ms. A plain A B at that shape is
 * also faster flipped when its operands are in cache (131 against 99), but
 * not inside a step, where the 4 MiB weight comes from memory and the
 * flipped form reads it transposed: 0.66-0.78 against 0.61-0.78 ms. */
static bool dot_flips(int64_t M, int64_t N, int64_t K, bool rhs_trans) {
  return rhs_trans && M <= 256 && N >= 2 * M && K >= 64;
}

/* order = batch dims, then group a, then group b; the free dims are the
 * ones neither batch nor contracted, in increasing order. */
static void dot_order(const pt_type *t, const int64_t *batch, int nb, const int64_t *con, int nc,
                      bool free_first, int *order) {
  bool used[PT_MAX_RANK] = {false};
  int n = 0, nfree = 0, freed[PT_MAX_RANK];
  for (int k = 0; k < nb; k++)
    used[batch[k]] = true;
  for (int k = 0; k < nc; k++)
    used[con[k]] = true;
  for (int k = 0; k < t->rank; k++)
    if (!used[k])
      freed[nfree++] = k;
  for (int k = 0; k < nb; k++)
    order[n++] = (int)batch[k];
  for (int pass = 0; pass < 2; pass++)
    if ((pass == 0) == free_first)
      for (int k = 0; k < nfree; k++)
        order[n++] = freed[k];
    else
      for (int k = 0; k < nc; k++)
        order[n++] = (int)con[k];
  PT_ASSERT(n == t->rank);
}

/* The dims order[from .. to) as one: their extent, and their stride when
 * they walk memory as one dim (false if not). Dims of extent 1 do not
 * count; an extent of 1 has stride 0. */
static bool dim_group(const pt_type *t, const int64_t *st, const int *order, int from, int to,
                      int64_t *extent, int64_t *stride) {
  *extent = 1;
  *stride = 0;
  for (int k = from; k < to; k++) {
    int64_t n = t->dims[order[k]], s = st[order[k]];
    if (n == 1)
      continue;
    if (*extent > 1 && *stride != s * n)
      return false;
    *extent *= n;
    *stride = s;
  }
  return true;
}

/* Plans one operand: rows x cols within a batch point are the groups
 * order[nb .. nb+na) and order[nb+na .. rank). */
static void plan_operand(const pt_type *t, const int64_t *batch, int nb, const int64_t *con, int nc,
                         bool free_first, const int64_t *given, dot_operand *o) {
  int64_t st[PT_MAX_RANK];
  if (given)
    memcpy(st, given, (size_t)t->rank * sizeof *st);
  else
    strides_of(t, st);
  dot_order(t, batch, nb, con, nc, free_first, o->order);
  o->nb = nb;
  for (int k = 0; k < nb; k++)
    o->bstride[k] = st[batch[k]];
  int na = free_first ? t->rank - nb - nc : nc;
  int64_t rows, rs, cols, cs;
  o->copy = true;
  o->trans = false;
  o->ld = 0;
  if (!dim_group(t, st, o->order, nb, nb + na, &rows, &rs) ||
      !dim_group(t, st, o->order, nb + na, t->rank, &cols, &cs))
    return;
  if (cols <= 1 || cs == 1) { /* as stored: row r at r * ld */
    o->ld = rows <= 1 ? (cols > 1 ? cols : 1) : rs;
    o->copy = o->ld < (cols > 1 ? cols : 1);
  } else if (rows <= 1 || rs == 1) { /* transposed: column c at c * ld */
    o->trans = true;
    o->ld = cols <= 1 ? (rows > 1 ? rows : 1) : cs;
    o->copy = o->ld < (rows > 1 ? rows : 1);
  }
  if (o->ld > INT_MAX)
    o->copy = true;
}

static void plan_dot_strided(const pt_op *op, const dot_strides *ds, dot_plan *p) {
  const pt_type *lt = &op->operands[0]->type, *rt = &op->operands[1]->type;
  int64_t lb[PT_MAX_RANK], rb[PT_MAX_RANK], lc[PT_MAX_RANK], rc[PT_MAX_RANK];
  int nb = ints_or(op, PT_A_LHS_BATCH, lb, 0, 0);
  ints_or(op, PT_A_RHS_BATCH, rb, 0, 0);
  int nc = ints_or(op, PT_A_LHS_CONTRACT, lc, 0, 0);
  ints_or(op, PT_A_RHS_CONTRACT, rc, 0, 0);
  p->B = p->K = 1;
  for (int k = 0; k < nb; k++) {
    p->bdims[k] = lt->dims[lb[k]];
    p->B *= lt->dims[lb[k]];
  }
  for (int k = 0; k < nc; k++)
    p->K *= lt->dims[lc[k]];
  plan_operand(lt, lb, nb, lc, nc, true, ds ? ds->l : NULL, &p->l);
  plan_operand(rt, rb, nb, rc, nc, false, ds ? ds->r : NULL, &p->r);
  p->M = p->N = 1;
  for (int k = nb; k < lt->rank - nc; k++)
    p->M *= lt->dims[p->l.order[k]];
  for (int k = nb + nc; k < rt->rank; k++)
    p->N *= rt->dims[p->r.order[k]];
  p->lbytes = p->l.copy ? round64(pt_type_numel(lt) * 4) : 0;
  p->rbytes = p->r.copy ? round64(pt_type_numel(rt) * 4) : 0;
  p->flip = dot_flips(p->M, p->N, p->K, !p->r.copy && p->r.trans);
  p->cbytes = p->flip ? round64(p->M * p->N * 4) : 0;
  /* the result's dims: batch, then lhs free, then rhs free */
  const pt_type *ct = &op->result->type;
  p->ldc = p->N;
  p->c_strided = ds && ds->c;
  p->c_ok = true;
  if (p->c_strided) {
    int order[PT_MAX_RANK];
    for (int k = 0; k < ct->rank; k++)
      order[k] = k;
    int nm = lt->rank - nb - nc;
    int64_t rows = 1, rs = 0, cols = 1, cs = 0;
    p->c_ok = !p->flip && dim_group(ct, ds->c, order, nb, nb + nm, &rows, &rs) &&
              dim_group(ct, ds->c, order, nb + nm, ct->rank, &cols, &cs) && (cols <= 1 || cs == 1);
    p->ldc = rows <= 1 ? (cols > 1 ? cols : 1) : rs;
    p->c_ok &= p->ldc >= (cols > 1 ? cols : 1) && p->ldc <= INT_MAX;
    for (int k = 0; k < nb; k++)
      p->cbstride[k] = ds->c[k];
  }
}

static void plan_dot(const pt_op *op, dot_plan *p) {
  plan_dot_strided(op, NULL, p);
}

bool pt_exec_dot_gemm(const pt_op *op, pt_exec_gemm *out) {
  if (op->code != PT_OP_DOT || op->result->type.dtype != PT_F32)
    return false;
  dot_plan p;
  plan_dot(op, &p);
  *out = (pt_exec_gemm){.batch = p.B,
                        .m = p.M,
                        .n = p.N,
                        .k = p.K,
                        .lhs_trans = !p.l.copy && p.l.trans,
                        .rhs_trans = !p.r.copy && p.r.trans,
                        .lhs_copied = p.l.copy,
                        .rhs_copied = p.r.copy,
                        .flipped = p.flip,
                        .copy_bytes = p.lbytes + p.rbytes};
  return true;
}

bool pt_exec_op_in_place(const pt_op *op) {
  if (op->code == PT_OP_ALL_REDUCE || op->code == PT_OP_RESHAPE) /* MPI_IN_PLACE; no-op */
    return true;
  if (pt_optab[op->code].cls != PT_CLS_UNARY && pt_optab[op->code].cls != PT_CLS_BINARY)
    return false;
  /* k_unary and k_binary read element i before writing it, and never fall
   * back to the interpreter (which clears the result first) for f32 */
  for (int j = 0; j < op->noperands; j++)
    if (op->operands[j]->type.dtype != PT_F32)
      return false;
  return op->result->type.dtype == PT_F32;
}

int64_t pt_exec_op_scratch_bytes(const pt_op *op) {
  switch (op->code) {
  case PT_OP_DOT:
    if (op->result->type.dtype == PT_F32) {
      dot_plan p;
      plan_dot(op, &p);
      return p.lbytes + p.rbytes + p.cbytes;
    }
    return 0;
  case PT_OP_REDUCE_SUM: /* double accumulators */
  case PT_OP_SCATTER_ADD:
    return op->result->type.dtype == PT_F32 ? round64(pt_type_numel(&op->result->type) * 8) : 0;
  default:
    return 0;
  }
}

/* ---- data movement ------------------------------------------------------ */

/* dst[i] = src[i] over the box `dims` (rank r) with element strides ss and
 * ds. Dims of size 1 are dropped and contiguous neighbours merged, so the
 * inner loop is as long as it can be. */
static void strided_copy(const char *src, const int64_t *ss, char *dst, const int64_t *ds,
                         const int64_t *dims, int rank, size_t es) {
  int64_t n[PT_MAX_RANK], s[PT_MAX_RANK], t[PT_MAX_RANK];
  int r = 0;
  for (int k = 0; k < rank; k++) {
    if (dims[k] == 0)
      return;
    if (dims[k] == 1)
      continue;
    if (r > 0 && s[r - 1] == ss[k] * dims[k] && t[r - 1] == ds[k] * dims[k]) {
      n[r - 1] *= dims[k];
      s[r - 1] = ss[k];
      t[r - 1] = ds[k];
    } else {
      n[r] = dims[k];
      s[r] = ss[k];
      t[r] = ds[k];
      r++;
    }
  }
  if (r == 0) {
    memcpy(dst, src, es);
    return;
  }
  int in = r - 1;
  int64_t len = n[in], si = s[in], ti = t[in], idx[PT_MAX_RANK] = {0};
  int64_t so = 0, to = 0;
  for (;;) {
    const char *a = src + so * (int64_t)es;
    char *o = dst + to * (int64_t)es;
    if (si == 1 && ti == 1) {
      memcpy(o, a, (size_t)len * es);
    } else if (es == 4) {
      const uint32_t *x = (const uint32_t *)a;
      uint32_t *y = (uint32_t *)o;
      if (si == 0 && ti == 1) {
        uint32_t v = x[0];
        for (int64_t j = 0; j < len; j++)
          y[j] = v;
      } else if (ti == 1) {
        for (int64_t j = 0; j < len; j++)
          y[j] = x[j * si];
      } else {
        for (int64_t j = 0; j < len; j++)
          y[j * ti] = x[j * si];
      }
    } else if (es == 1) {
      const uint8_t *x = (const uint8_t *)a;
      uint8_t *y = (uint8_t *)o;
      for (int64_t j = 0; j < len; j++)
        y[j * ti] = x[j * si];
    } else {
      for (int64_t j = 0; j < len; j++)
        memcpy(o + j * ti * (int64_t)es, a + j * si * (int64_t)es, es);
    }
    int k = in - 1;
    while (k >= 0 && ++idx[k] == n[k]) {
      so -= s[k] * (n[k] - 1);
      to -= t[k] * (n[k] - 1);
      idx[k--] = 0;
    }
    if (k < 0)
      break;
    so += s[k];
    to += t[k];
  }
}

/* r = x read through per-result-dim strides xs (from base). */
static void gather(const pt_tensor *x, int64_t base, const int64_t *xs, pt_tensor *r) {
  int64_t rs[PT_MAX_RANK];
  strides_of(&r->type, rs);
  size_t es = pt_dtype_size(r->type.dtype);
  strided_copy((const char *)x->data + base * (int64_t)es, xs, r->data, rs, r->type.dims,
               r->type.rank, es);
}

static bool k_broadcast(const pt_op *op, const pt_tensor *x, pt_tensor *r) {
  int64_t dims[PT_MAX_RANK], xs[PT_MAX_RANK], st[PT_MAX_RANK] = {0};
  int nd = ints_or(op, PT_A_DIMS, dims, 0, 0);
  strides_of(&x->type, xs);
  for (int k = 0; k < nd; k++)
    if (x->type.dims[k] != 1)
      st[dims[k]] = xs[k];
  gather(x, 0, st, r);
  return true;
}

static bool k_transpose(const pt_op *op, const pt_tensor *x, pt_tensor *r) {
  int64_t perm[PT_MAX_RANK], xs[PT_MAX_RANK], st[PT_MAX_RANK];
  int np = ints_or(op, PT_A_PERM, perm, 0, 0);
  strides_of(&x->type, xs);
  for (int k = 0; k < np; k++)
    st[k] = xs[perm[k]];
  gather(x, 0, st, r);
  return true;
}

static bool k_slice(const pt_op *op, const pt_tensor *x, pt_tensor *r) {
  int rank = x->type.rank;
  int64_t start[PT_MAX_RANK], stride[PT_MAX_RANK], xs[PT_MAX_RANK], st[PT_MAX_RANK];
  ints_or(op, PT_A_START, start, 0, 0);
  ints_or(op, PT_A_STRIDE, stride, rank, 1);
  strides_of(&x->type, xs);
  int64_t base = 0;
  for (int k = 0; k < rank; k++) {
    base += start[k] * xs[k];
    st[k] = stride[k] * xs[k];
  }
  gather(x, base, st, r);
  return true;
}

static bool k_concat(const pt_op *op, pt_tensor *const *xs, pt_tensor *r) {
  int dim = (int)pt_op_int(op, PT_A_DIM, 0);
  size_t es = pt_dtype_size(r->type.dtype);
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < dim; k++)
    outer *= r->type.dims[k];
  for (int k = dim + 1; k < r->type.rank; k++)
    inner *= r->type.dims[k];
  size_t row = (size_t)(r->type.dims[dim] * inner) * es, at = 0;
  for (int j = 0; j < op->noperands; j++) {
    size_t chunk = (size_t)(xs[j]->type.dims[dim] * inner) * es;
    for (int64_t o = 0; o < outer; o++)
      memcpy((char *)r->data + (size_t)o * row + at, (const char *)xs[j]->data + (size_t)o * chunk,
             chunk);
    at += chunk;
  }
  return true;
}

/* Fills r with its element 0 (already set). */
static void fill_from_first(pt_tensor *r) {
  int64_t n = numel(r);
  if (pt_dtype_size(r->type.dtype) == 4) {
    uint32_t *o = r->data, v = o[0];
    for (int64_t i = 1; i < n; i++)
      o[i] = v;
  } else {
    memset(r->data, ((uint8_t *)r->data)[0], (size_t)n);
  }
}

static bool k_pad(const pt_op *op, const pt_tensor *x, const pt_tensor *v, pt_tensor *r) {
  int rank = x->type.rank;
  int64_t low[PT_MAX_RANK], interior[PT_MAX_RANK], rs[PT_MAX_RANK], xs[PT_MAX_RANK],
      ds[PT_MAX_RANK];
  ints_or(op, PT_A_LOW, low, 0, 0);
  ints_or(op, PT_A_INTERIOR, interior, rank, 0);
  size_t es = pt_dtype_size(r->type.dtype);
  if (numel(r) == 0)
    return true;
  memcpy(r->data, v->data, es);
  fill_from_first(r);
  strides_of(&r->type, rs);
  strides_of(&x->type, xs);
  int64_t base = 0;
  for (int k = 0; k < rank; k++) {
    base += low[k] * rs[k];
    ds[k] = (interior[k] + 1) * rs[k];
  }
  strided_copy(x->data, xs, (char *)r->data + base * (int64_t)es, ds, x->type.dims, rank, es);
  return true;
}

static bool k_take(const pt_tensor *table, const pt_tensor *idx, pt_tensor *r) {
  int64_t rows = table->type.dims[0], n = numel(idx);
  if (rows == 0)
    return false;
  size_t row = (size_t)(numel(table) / rows) * pt_dtype_size(table->type.dtype);
  const int32_t *ix = idx->data;
  for (int64_t i = 0; i < n; i++)
    if (ix[i] < 0 || ix[i] >= rows)
      return false; /* the interpreter reports it */
  for (int64_t i = 0; i < n; i++)
    memcpy((char *)r->data + (size_t)i * row, (const char *)table->data + (size_t)ix[i] * row, row);
  return true;
}

/* scatter_add of f32 rows: every result element sums its updates in
 * double in index order, as the interpreter does, so the bits are its. */
static bool k_scatter_add(const pt_tensor *idx, const pt_tensor *upd, pt_tensor *r, double *acc) {
  if (r->type.dtype != PT_F32)
    return false;
  int64_t rows = r->type.dims[0], n = numel(idx), nr = numel(r);
  if (rows == 0)
    return false;
  int64_t row = nr / rows;
  const int32_t *ix = idx->data;
  for (int64_t i = 0; i < n; i++)
    if (ix[i] < 0 || ix[i] >= rows)
      return false; /* the interpreter reports it */
  memset(acc, 0, (size_t)nr * sizeof *acc);
  const float *u = upd->data;
  for (int64_t i = 0; i < n; i++) {
    double *o = acc + (int64_t)ix[i] * row;
    const float *x = u + i * row;
    for (int64_t j = 0; j < row; j++)
      o[j] += x[j];
  }
  float *o = r->data;
  for (int64_t i = 0; i < nr; i++)
    o[i] = (float)acc[i];
  return true;
}

/* scan of f32: h[t] = a[t] * h[t-1] + b[t] along dim, each step in double
 * from the f32 h before it (h[-1] = 0) and rounded to f32, as the
 * interpreter computes it. The recurrence is serial in t but independent
 * across every other index, so the loops run t outermost and the channels
 * after dim (contiguous) innermost, where they vectorise; a scan along the
 * last dim runs across the dims before it, with stride len. */
static bool k_scan(const pt_op *op, const pt_tensor *a, const pt_tensor *b, pt_tensor *r) {
  if (r->type.dtype != PT_F32)
    return false;
  int dim = (int)pt_op_int(op, PT_A_DIM, 0);
  bool reverse = pt_op_int(op, PT_A_REVERSE, 0) != 0;
  const pt_type *t = &r->type;
  int64_t outer = 1, inner = 1, len = t->dims[dim];
  for (int k = 0; k < dim; k++)
    outer *= t->dims[k];
  for (int k = dim + 1; k < t->rank; k++)
    inner *= t->dims[k];
  if (outer * len * inner == 0)
    return true;
  const float *x = a->data, *y = b->data;
  float *h = r->data;
  /* the channels of one step: n of them, `across` apart */
  int64_t n = inner > 1 ? inner : outer, across = inner > 1 ? 1 : len;
  int64_t blocks = inner > 1 ? outer : 1, block = len * inner;
  for (int64_t o = 0; o < blocks; o++)
    for (int64_t s = 0; s < len; s++) {
      int64_t step = reverse ? len - 1 - s : s;
      int64_t at = o * block + step * inner;
      const float *xa = x + at, *yb = y + at;
      float *ht = h + at;
      if (s == 0) {
        for (int64_t c = 0; c < n; c++)
          ht[c * across] = (float)((double)xa[c * across] * 0.0 + (double)yb[c * across]);
      } else {
        const float *hp = h + at + (reverse ? inner : -inner);
        for (int64_t c = 0; c < n; c++)
          ht[c * across] =
              (float)((double)xa[c * across] * (double)hp[c * across] + (double)yb[c * across]);
      }
    }
  return true;
}

/* ---- element-wise ------------------------------------------------------- */

static bool k_unary(pt_opcode c, const pt_tensor *x, pt_tensor *r) {
  int64_t n = numel(r);
  if (c == PT_OP_STOP_GRADIENT && (r->type.dtype == PT_I32 || r->type.dtype == PT_F32)) {
    if (r->data != x->data) /* the identity; in place it is done */
      memcpy(r->data, x->data, (size_t)n * 4);
    return true;
  }
  if (r->type.dtype == PT_I32) {
    const int32_t *a = x->data;
    int32_t *o = r->data;
    if (c == PT_OP_NEG)
      for (int64_t i = 0; i < n; i++)
        o[i] = (int32_t)(0u - (uint32_t)a[i]);
    else if (c == PT_OP_ABS)
      for (int64_t i = 0; i < n; i++)
        o[i] = a[i] < 0 ? (int32_t)(0u - (uint32_t)a[i]) : a[i];
    else
      return false;
    return true;
  }
  if (r->type.dtype != PT_F32)
    return false;
  const float *a = x->data;
  float *o = r->data;
  /* in double where the interpreter's rounding is not the same in float */
  switch (c) {
  case PT_OP_NEG:
    for (int64_t i = 0; i < n; i++)
      o[i] = -a[i];
    return true;
  case PT_OP_ABS:
    for (int64_t i = 0; i < n; i++)
      o[i] = fabsf(a[i]);
    return true;
  case PT_OP_SQRT:
    for (int64_t i = 0; i < n; i++)
      o[i] = sqrtf(a[i]);
    return true;
  case PT_OP_RSQRT:
    for (int64_t i = 0; i < n; i++)
      o[i] = (float)(1.0 / sqrt((double)a[i]));
    return true;
  case PT_OP_EXP: /* runtime/vmath.h: f32, vectorised */
    for (int64_t i = 0; i < n; i++)
      o[i] = pt_vexp(a[i]);
    return true;
  case PT_OP_LOG:
    for (int64_t i = 0; i < n; i++)
      o[i] = pt_vlog(a[i]);
    return true;
  case PT_OP_TANH:
    for (int64_t i = 0; i < n; i++)
      o[i] = pt_vtanh(a[i]);
    return true;
  case PT_OP_LOGISTIC:
    for (int64_t i = 0; i < n; i++)
      o[i] = pt_vlogistic(a[i]);
    return true;
  case PT_OP_SIN:
    for (int64_t i = 0; i < n; i++)
      o[i] = (float)sin(a[i]);
    return true;
  case PT_OP_COS:
    for (int64_t i = 0; i < n; i++)
      o[i] = (float)cos(a[i]);
    return true;
  default:
    return false;
  }
}

static bool k_binary(pt_opcode c, const pt_tensor *x, const pt_tensor *y, pt_tensor *r) {
  int64_t n = numel(r);
  if (r->type.dtype == PT_I32) {
    const uint32_t *a = x->data, *b = y->data;
    const int32_t *sa = x->data, *sb = y->data;
    int32_t *o = r->data;
    switch (c) {
    case PT_OP_ADD:
      for (int64_t i = 0; i < n; i++)
        o[i] = (int32_t)(a[i] + b[i]);
      return true;
    case PT_OP_SUB:
      for (int64_t i = 0; i < n; i++)
        o[i] = (int32_t)(a[i] - b[i]);
      return true;
    case PT_OP_MUL:
      for (int64_t i = 0; i < n; i++)
        o[i] = (int32_t)(a[i] * b[i]);
      return true;
    case PT_OP_MAX:
      for (int64_t i = 0; i < n; i++)
        o[i] = sa[i] > sb[i] ? sa[i] : sb[i];
      return true;
    case PT_OP_MIN:
      for (int64_t i = 0; i < n; i++)
        o[i] = sa[i] < sb[i] ? sa[i] : sb[i];
      return true;
    default:
      return false; /* div reports division by zero */
    }
  }
  if (r->type.dtype != PT_F32)
    return false;
  const float *a = x->data, *b = y->data;
  float *o = r->data;
  switch (c) {
  case PT_OP_ADD:
    for (int64_t i = 0; i < n; i++)
      o[i] = a[i] + b[i];
    return true;
  case PT_OP_SUB:
    for (int64_t i = 0; i < n; i++)
      o[i] = a[i] - b[i];
    return true;
  case PT_OP_MUL:
    for (int64_t i = 0; i < n; i++)
      o[i] = a[i] * b[i];
    return true;
  case PT_OP_DIV:
    for (int64_t i = 0; i < n; i++)
      o[i] = a[i] / b[i];
    return true;
  case PT_OP_MAX:
    for (int64_t i = 0; i < n; i++)
      o[i] = a[i] != a[i] || b[i] != b[i] ? NAN : a[i] > b[i] ? a[i] : b[i];
    return true;
  case PT_OP_MIN:
    for (int64_t i = 0; i < n; i++)
      o[i] = a[i] != a[i] || b[i] != b[i] ? NAN : a[i] < b[i] ? a[i] : b[i];
    return true;
  case PT_OP_POW:
    for (int64_t i = 0; i < n; i++)
      o[i] = (float)pow(a[i], b[i]);
    return true;
  default:
    return false;
  }
}

#define CMP_LOOPS(T)                                                                               \
  do {                                                                                             \
    const T *a = x->data, *b = y->data;                                                            \
    switch (dir) {                                                                                 \
    case PT_CMP_LT:                                                                                \
      for (int64_t i = 0; i < n; i++)                                                              \
        o[i] = a[i] < b[i];                                                                        \
      break;                                                                                       \
    case PT_CMP_LE:                                                                                \
      for (int64_t i = 0; i < n; i++)                                                              \
        o[i] = a[i] <= b[i];                                                                       \
      break;                                                                                       \
    case PT_CMP_GT:                                                                                \
      for (int64_t i = 0; i < n; i++)                                                              \
        o[i] = a[i] > b[i];                                                                        \
      break;                                                                                       \
    case PT_CMP_GE:                                                                                \
      for (int64_t i = 0; i < n; i++)                                                              \
        o[i] = a[i] >= b[i];                                                                       \
      break;                                                                                       \
    case PT_CMP_EQ:                                                                                \
      for (int64_t i = 0; i < n; i++)                                                              \
        o[i] = a[i] == b[i];                                                                       \
      break;                                                                                       \
    case PT_CMP_NE:                                                                                \
      for (int64_t i = 0; i < n; i++)                                                              \
        o[i] = a[i] != b[i];                                                                       \
      break;                                                                                       \
    case PT_CMP_COUNT:                                                                             \
      PT_UNREACHABLE();                                                                            \
    }                                                                                              \
  } while (0)

static bool k_compare(const pt_op *op, const pt_tensor *x, const pt_tensor *y, pt_tensor *r) {
  pt_cmpdir dir = pt_op_cmpdir(op);
  int64_t n = numel(r);
  uint8_t *o = r->data;
  switch (x->type.dtype) {
  case PT_F32:
    CMP_LOOPS(float);
    return true;
  case PT_I32:
    CMP_LOOPS(int32_t);
    return true;
  case PT_PRED:
    CMP_LOOPS(uint8_t);
    return true;
  case PT_DTYPE_COUNT:
    break;
  }
  PT_UNREACHABLE();
}

static bool k_select(const pt_tensor *p, const pt_tensor *t, const pt_tensor *f, pt_tensor *r) {
  int64_t n = numel(r);
  const uint8_t *c = p->data;
  if (pt_dtype_size(r->type.dtype) == 4) {
    const uint32_t *a = t->data, *b = f->data;
    uint32_t *o = r->data;
    for (int64_t i = 0; i < n; i++)
      o[i] = c[i] ? a[i] : b[i];
  } else {
    const uint8_t *a = t->data, *b = f->data;
    uint8_t *o = r->data;
    for (int64_t i = 0; i < n; i++)
      o[i] = c[i] ? a[i] : b[i];
  }
  return true;
}

static int32_t f32_to_i32(float v) {
  double d = v;
  return d != d ? 0 : d >= 2147483647.0 ? INT32_MAX : d <= -2147483648.0 ? INT32_MIN : (int32_t)d;
}

static bool k_convert(const pt_tensor *x, pt_tensor *r) {
  int64_t n = numel(r);
  pt_dtype from = x->type.dtype, to = r->type.dtype;
  if (from == to) {
    memcpy(r->data, x->data, pt_type_bytes(&r->type));
    return true;
  }
  if (from == PT_F32 && to == PT_I32) {
    const float *a = x->data;
    int32_t *o = r->data;
    for (int64_t i = 0; i < n; i++)
      o[i] = f32_to_i32(a[i]);
  } else if (from == PT_I32 && to == PT_F32) {
    const int32_t *a = x->data;
    float *o = r->data;
    for (int64_t i = 0; i < n; i++)
      o[i] = (float)a[i];
  } else if (from == PT_PRED) {
    const uint8_t *a = x->data;
    if (to == PT_F32)
      for (int64_t i = 0; i < n; i++)
        ((float *)r->data)[i] = a[i] ? 1.0f : 0.0f;
    else
      for (int64_t i = 0; i < n; i++)
        ((int32_t *)r->data)[i] = a[i] != 0;
  } else { /* to pred */
    uint8_t *o = r->data;
    if (from == PT_F32)
      for (int64_t i = 0; i < n; i++)
        o[i] = ((const float *)x->data)[i] != 0;
    else
      for (int64_t i = 0; i < n; i++)
        o[i] = ((const int32_t *)x->data)[i] != 0;
  }
  return true;
}

static double aval_number(const pt_aval *v) {
  return v->kind == PT_AV_INT ? (double)v->i : v->f;
}

static bool k_constant(const pt_op *op, pt_tensor *r) {
  const pt_attr *a = pt_op_attr(op, PT_A_VALUE);
  int64_t n = numel(r);
  if (a->val.kind == PT_AV_LIST) {
    for (int64_t i = 0; i < n; i++)
      pt_tensor_set(r, i, aval_number(&a->val.items[i]));
  } else if (n > 0) {
    pt_tensor_set(r, 0, aval_number(&a->val));
    fill_from_first(r);
  }
  return true;
}

static bool k_iota(const pt_op *op, pt_tensor *r) {
  int dim = (int)pt_op_int(op, PT_A_DIM, 0);
  int64_t outer = 1, inner = 1, len = r->type.dims[dim];
  for (int k = 0; k < dim; k++)
    outer *= r->type.dims[k];
  for (int k = dim + 1; k < r->type.rank; k++)
    inner *= r->type.dims[k];
  if (inner == 1) { /* along the last dim: rows 0, 1, 2, ... (f32 or i32), the first copied */
    if (outer * len == 0)
      return true;
    for (int64_t k = 0; k < len; k++) {
      if (r->type.dtype == PT_F32)
        ((float *)r->data)[k] = (float)k;
      else
        ((int32_t *)r->data)[k] = (int32_t)k;
    }
    for (int64_t o = 1; o < outer; o++)
      memcpy((char *)r->data + o * len * 4, r->data, (size_t)len * 4);
    return true;
  }
  for (int64_t o = 0; o < outer; o++)
    for (int64_t k = 0; k < len; k++) {
      int64_t at = (o * len + k) * inner;
      if (r->type.dtype == PT_F32) {
        float *p = (float *)r->data + at;
        for (int64_t j = 0; j < inner; j++)
          p[j] = (float)k;
      } else {
        int32_t *p = (int32_t *)r->data + at;
        for (int64_t j = 0; j < inner; j++)
          p[j] = (int32_t)k;
      }
    }
  return true;
}

/* ---- reductions and dot ------------------------------------------------- */

/* The sum of a row of f32 in double, in eight interleaved partial sums
 * (lane j % 8) added pairwise at the end: eight independent chains of adds
 * that the compiler keeps in vector registers, instead of one chain whose
 * latency bounds it. Doubles hold every partial sum of f32 values to 29
 * more bits than f32, so the order changes the rounded f32 result only in
 * the last place, and rarely. */
static double sum_row(const float *a, int64_t n) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; l++)
      s[l] += a[j + l];
  for (int l = 0; j < n; j++, l++)
    s[l] += a[j];
  return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

static float max2(float x, float y) { /* NaN if either is */
  return x != x || y != y ? NAN : x > y ? x : y;
}

/* Four f32 lanes in GCC's and clang's vector extension (SSE's width, the
 * build's baseline): the compiler keeps the lanes' max in vector registers,
 * which it does not do for max2 written lane by lane. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static v4f max4(v4f x, v4f m) { /* max2 lane by lane */
  v4i nan = (x != x) | (m != m), gt = x > m;
  v4i xi, mi, qi;
  v4f q = {NAN, NAN, NAN, NAN};
  memcpy(&xi, &x, sizeof x);
  memcpy(&mi, &m, sizeof m);
  memcpy(&qi, &q, sizeof q);
  v4i r = (nan & qi) | (~nan & ((gt & xi) | (~gt & mi)));
  v4f out;
  memcpy(&out, &r, sizeof r);
  return out;
}

/* The max of v and a row of f32, in eight lanes (lane j % 8) combined
 * pairwise at the end: the interpreter's value (the max does not depend on
 * the order, but for the sign of a zero: max(-0, 0) is the first seen). */
static float max_row(const float *a, int64_t n, float v) {
  v4f m0 = {v, v, v, v}, m1 = m0;
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    v4f x0, x1;
    memcpy(&x0, a + j, sizeof x0);
    memcpy(&x1, a + j + 4, sizeof x1);
    m0 = max4(x0, m0);
    m1 = max4(x1, m1);
  }
  float l[8];
  memcpy(l, &m0, sizeof m0);
  memcpy(l + 4, &m1, sizeof m1);
  for (int k = 0; j < n; j++, k++)
    l[k] = max2(a[j], l[k]);
  return max2(max2(max2(l[0], l[4]), max2(l[2], l[6])), max2(max2(l[1], l[5]), max2(l[3], l[7])));
}

/* Visits x row by row (its last dim), the same order as the interpreter;
 * f32 sums run in double, a row's in sum_row's order. */
static bool k_reduce(const pt_op *op, const pt_tensor *x, pt_tensor *r, void *scratch) {
  pt_dtype dt = x->type.dtype;
  bool is_max = op->code == PT_OP_REDUCE_MAX;
  int64_t dims[PT_MAX_RANK], rs[PT_MAX_RANK], step[PT_MAX_RANK];
  int nd = ints_or(op, PT_A_DIMS, dims, 0, 0);
  bool reduced[PT_MAX_RANK] = {false};
  for (int k = 0; k < nd; k++)
    reduced[dims[k]] = true;
  strides_of(&r->type, rs);
  int rank = x->type.rank;
  for (int k = 0, j = 0; k < rank; k++)
    step[k] = reduced[k] ? 0 : rs[j++];
  int64_t nr = numel(r), nx = numel(x);
  if (rank == 0) {
    memcpy(r->data, x->data, 4);
    return true;
  }
  int64_t inner = x->type.dims[rank - 1];
  bool inner_reduced = reduced[rank - 1];
  double *acc = scratch;
  if (dt == PT_F32 && !is_max) {
    memset(acc, 0, (size_t)nr * sizeof *acc);
  } else {
    for (int64_t i = 0; i < nr; i++) {
      if (dt == PT_F32)
        ((float *)r->data)[i] = -INFINITY;
      else
        ((int32_t *)r->data)[i] = is_max ? INT32_MIN : 0;
    }
  }
  if (nx == 0)
    return true;
  int64_t idx[PT_MAX_RANK] = {0}, dst = 0;
  for (int64_t row = 0; row < nx / inner; row++) {
    if (dt == PT_F32) {
      const float *a = (const float *)x->data + row * inner;
      if (!is_max) {
        if (inner_reduced) {
          acc[dst] += sum_row(a, inner);
        } else {
          double *s = acc + dst;
          for (int64_t j = 0; j < inner; j++)
            s[j] += a[j];
        }
      } else {
        float *m = (float *)r->data + dst;
        if (inner_reduced) {
          m[0] = max_row(a, inner, m[0]);
        } else {
          for (int64_t j = 0; j < inner; j++)
            m[j] = a[j] != a[j] || m[j] != m[j] ? NAN : a[j] > m[j] ? a[j] : m[j];
        }
      }
    } else {
      const int32_t *a = (const int32_t *)x->data + row * inner;
      int32_t *m = (int32_t *)r->data + dst;
      if (inner_reduced) {
        int32_t v = m[0];
        uint32_t u = (uint32_t)m[0];
        for (int64_t j = 0; j < inner; j++) {
          v = a[j] > v ? a[j] : v;
          u += (uint32_t)a[j];
        }
        m[0] = is_max ? v : (int32_t)u;
      } else if (is_max) {
        for (int64_t j = 0; j < inner; j++)
          m[j] = a[j] > m[j] ? a[j] : m[j];
      } else {
        for (int64_t j = 0; j < inner; j++)
          m[j] = (int32_t)((uint32_t)m[j] + (uint32_t)a[j]);
      }
    }
    /* the next row: the multi-index over all dims but the last */
    int k = rank - 2;
    while (k >= 0 && ++idx[k] == x->type.dims[k]) {
      dst -= step[k] * (x->type.dims[k] - 1);
      idx[k--] = 0;
    }
    if (k < 0)
      break;
    dst += step[k];
  }
  if (dt == PT_F32 && !is_max)
    for (int64_t i = 0; i < nr; i++)
      ((float *)r->data)[i] = (float)acc[i];
  return true;
}

/* dst[c][r] = src[r][c] for a rows x cols f32 matrix, in 32 x 32 tiles. */
static void transpose_2d(const float *src, int64_t rows, int64_t cols, float *dst) {
  enum { T = 32 };
  for (int64_t r0 = 0; r0 < rows; r0 += T)
    for (int64_t c0 = 0; c0 < cols; c0 += T) {
      int64_t r1 = r0 + T < rows ? r0 + T : rows, c1 = c0 + T < cols ? c0 + T : cols;
      for (int64_t cc = c0; cc < c1; cc++)
        for (int64_t r = r0; r < r1; r++)
          dst[cc * rows + r] = src[r * cols + cc];
    }
}

/* Copies t into the layout `order` (a permutation of its dims). */
static void permute_into(const pt_tensor *t, const int *order, float *out) {
  int64_t ts[PT_MAX_RANK], st[PT_MAX_RANK], dims[PT_MAX_RANK], os[PT_MAX_RANK];
  strides_of(&t->type, ts);
  pt_type p = t->type;
  for (int k = 0; k < p.rank; k++) {
    dims[k] = p.dims[k] = t->type.dims[order[k]];
    st[k] = ts[order[k]];
  }
  strides_of(&p, os);
  strided_copy(t->data, st, (char *)out, os, dims, p.rank, 4);
}

/* The offset of batch point i (row-major over the batch dims) in o. */
static int64_t offset_of(const dot_plan *p, const int64_t *stride, int nb, int64_t i) {
  int64_t off = 0;
  for (int k = nb - 1; k >= 0; k--) {
    off += (i % p->bdims[k]) * stride[k];
    i /= p->bdims[k];
  }
  return off;
}

static int64_t batch_offset(const dot_plan *p, const dot_operand *o, int64_t i) {
  return offset_of(p, o->bstride, o->nb, i);
}

/* Batch point i's offset in a result written through a transpose. */
static int64_t batch_offset_c(const dot_plan *p, int64_t i) {
  return offset_of(p, p->cbstride, p->l.nb, i);
}

/* A plain GEMM (pt_exec_dot_gemm: no batch, copies or flip) with an
 * epilogue: c = alpha * l . rh + c (fusion.h, GEMM epilogues). */
static void gemm_epilogue(const pt_op *op, const float *l, const float *rh, float alpha, float *c) {
  dot_plan p;
  plan_dot(op, &p);
  PT_ASSERT(p.B == 1 && !p.flip && !p.l.copy && !p.r.copy);
  if (p.M * p.N == 0 || p.K == 0)
    return;
  cblas_sgemm(CblasRowMajor, p.l.trans ? CblasTrans : CblasNoTrans,
              p.r.trans ? CblasTrans : CblasNoTrans, (int)p.M, (int)p.N, (int)p.K, alpha, l,
              (int)p.l.ld, rh, (int)p.r.ld, 1.0f, c, (int)p.N);
}

/* l, rh and r are the operands' and result's buffers: where a dot reads
 * or writes through a transpose (ds), the transpose's operand's or
 * result's, with ds's strides (no copies then, and c_ok). */
static bool k_dot(const pt_op *op, const pt_tensor *l, const pt_tensor *rh, pt_tensor *r,
                  char *scratch, const dot_strides *ds) {
  if (op->result->type.dtype != PT_F32)
    return false;
  dot_plan p;
  plan_dot_strided(op, ds, &p);
  PT_ASSERT(!ds || ((!ds->l || !p.l.copy) && (!ds->r || !p.r.copy) && p.c_ok));
  if (p.M > INT_MAX || p.N > INT_MAX || p.K > INT_MAX)
    return false;
  float *c = r->data;
  if (p.B * p.M * p.N == 0)
    return true;
  if (p.K == 0) {
    memset(c, 0, pt_type_bytes(&r->type)); /* through a transpose too: all of its bytes */
    return true;
  }
  const float *a = l->data, *b = rh->data;
  if (p.l.copy) {
    permute_into(l, p.l.order, (float *)scratch);
    a = (const float *)scratch;
  }
  if (p.r.copy) {
    permute_into(rh, p.r.order, (float *)(scratch + p.lbytes));
    b = (const float *)(scratch + p.lbytes);
  }
  int M = (int)p.M, N = (int)p.N, K = (int)p.K;
  /* a copy is [B, M, K] (or [B, K, N]), as stored */
  bool lt = !p.l.copy && p.l.trans, rt = !p.r.copy && p.r.trans;
  int lda = p.l.copy ? K : (int)p.l.ld, ldb = p.r.copy ? N : (int)p.r.ld;
  float *ct = (float *)(scratch + p.lbytes + p.rbytes);
  for (int64_t i = 0; i < p.B; i++) {
    int64_t ao = p.l.copy ? i * p.M * p.K : batch_offset(&p, &p.l, i);
    int64_t bo = p.r.copy ? i * p.K * p.N : batch_offset(&p, &p.r, i);
    float *ci = c + (p.c_strided ? batch_offset_c(&p, i) : i * p.M * p.N);
    if (!p.flip) {
      cblas_sgemm(CblasRowMajor, lt ? CblasTrans : CblasNoTrans, rt ? CblasTrans : CblasNoTrans, M,
                  N, K, 1.0f, a + ao, lda, b + bo, ldb, 0.0f, ci, (int)p.ldc);
      continue;
    }
    /* C^T[N, M] = op(B)^T op(A)^T: each operand with its transpose flag
     * inverted, then C^T transposed into C */
    cblas_sgemm(CblasRowMajor, rt ? CblasNoTrans : CblasTrans, lt ? CblasNoTrans : CblasTrans, N, M,
                K, 1.0f, b + bo, ldb, a + ao, lda, 0.0f, ct, M);
    transpose_2d(ct, N, M, ci);
  }
  return true;
}

/* The element strides through transpose t (fusion.h, strided dots): of its
 * result's dims in its operand's bytes (read), or of its operand's dims in
 * its result's bytes (write). */
static void through_strides(const pt_op *t, bool write, int64_t *st) {
  int64_t perm[PT_MAX_RANK], src[PT_MAX_RANK];
  int n = pt_op_ints(t, PT_A_PERM, perm, PT_MAX_RANK);
  strides_of(write ? &t->result->type : &t->operands[0]->type, src);
  for (int k = 0; k < n; k++)
    if (write)
      st[perm[k]] = src[k];
    else
      st[k] = src[perm[k]];
}

bool pt_exec_dot_through(const pt_op *dot, const pt_op *lt, const pt_op *rt, const pt_op *ct) {
  if (dot->code != PT_OP_DOT || dot->result->type.dtype != PT_F32)
    return false;
  int64_t st[3][PT_MAX_RANK];
  dot_strides ds = {NULL, NULL, NULL};
  const pt_op *t[3] = {lt, rt, ct};
  const int64_t **at[3] = {&ds.l, &ds.r, &ds.c};
  for (int k = 0; k < 3; k++)
    if (t[k]) {
      through_strides(t[k], k == 2, st[k]);
      *at[k] = st[k];
    }
  dot_plan p;
  plan_dot_strided(dot, &ds, &p);
  return (!lt || !p.l.copy) && (!rt || !p.r.copy) && p.c_ok && p.M <= INT_MAX && p.N <= INT_MAX &&
         p.K <= INT_MAX;
}

/* ---- the executor ------------------------------------------------------- */

enum { BLOCK_ARG, BLOCK_RESULT, BLOCK_TEMP };

struct pt_exec {
  const pt_func *g;
  pt_mpi_mesh *mm;
  pt_buffer_plan plan;
  pt_fusion_plan fusion;
  pt_jit_program *jit;
  char **gptrs; /* a group's buffer pointers */
  char *block[3];
  pt_tensor *views;   /* per value: its buffer (data borrowed) */
  pt_tensor *results; /* per result: its buffer */
  pt_tensor **x;      /* operands of the running op */
  int *view_ops;      /* the ops whose results are views (PT_BUF_VIEW) */
  int64_t *view_off;  /* and each one's byte offset in its argument */
  int nviews;
  bool profile;
  double comm_seconds;   /* in MPI collectives, since creation */
  double *secs, *starts; /* per op, when profiling */
  double t0, total;
};

#define HUGE_BYTES ((size_t)2 << 20)

/* Aligned, huge-page advised when large, and every page touched now so a
 * step never faults. */
static char *alloc_block(int64_t bytes) {
  size_t n = (size_t)(bytes > 0 ? bytes : 64);
  size_t align = n >= HUGE_BYTES ? HUGE_BYTES : 64;
  void *p = NULL;
  if (posix_memalign(&p, align, n) != 0)
    return NULL;
  if (n >= HUGE_BYTES)
    madvise(p, n, MADV_HUGEPAGE); /* advice only: failure is harmless */
  memset(p, 0, n);
  return p;
}

static bool same_mesh(const pt_mesh *a, const pt_mesh *b) {
  if (a->naxes != b->naxes)
    return false;
  for (int k = 0; k < a->naxes; k++)
    if (a->sizes[k] != b->sizes[k] || strcmp(a->names[k], b->names[k]) != 0)
      return false;
  return true;
}

static void point_views(pt_exec *e) {
  for (int k = 0; k < e->nviews; k++) {
    const pt_op *op = e->g->ops[e->view_ops[k]];
    e->views[op->result->id].data = (char *)e->views[op->operands[0]->id].data + e->view_off[k];
  }
}

pt_exec *pt_exec_create(const pt_func *g, pt_mpi_mesh *mm, pt_diag *d) {
  const pt_mesh *mesh = &g->module->mesh;
  if (mm && !same_mesh(mesh, pt_mpi_mesh_mesh(mm))) {
    pt_diag_error(d, g->loc, "rank %d: @%s is lowered for a mesh other than the MPI runtime's",
                  pt_mpi_mesh_rank(mm), g->name);
    return NULL;
  }
  if (!mm && pt_mesh_devices(mesh) > 1)
    for (int i = 0; i < g->nops; i++)
      if (pt_optab[g->ops[i]->code].flags & PT_OPF_COLLECTIVE) {
        pt_diag_error(d, g->ops[i]->loc,
                      "'%s' needs the MPI runtime: @%s runs on a mesh of %lld devices",
                      pt_op_name(g->ops[i]->code), g->name, (long long)pt_mesh_devices(mesh));
        return NULL;
      }
  pt_exec *e = pt_calloc(1, sizeof *e);
  e->g = g;
  e->mm = mm;
  pt_plan_fusion(g, pt_fusion_default(), &e->fusion);
  pt_plan_buffers_fused(g, &e->fusion, &e->plan);
  if (!(e->jit = pt_jit_compile(g, &e->fusion, &e->plan, d))) {
    pt_exec_destroy(e);
    return NULL;
  }
  int maxp = 1;
  for (int k = 0; k < e->fusion.ngroups; k++)
    if (e->fusion.groups[k].ninputs + e->fusion.groups[k].noutputs > maxp)
      maxp = e->fusion.groups[k].ninputs + e->fusion.groups[k].noutputs;
  e->gptrs = pt_calloc((size_t)maxp, sizeof *e->gptrs);
  const pt_buffer_plan *p = &e->plan;
  int64_t sizes[3] = {p->arg_bytes, p->result_bytes, p->temp_bytes};
  static const char *const block_name[3] = {"arguments", "results", "temporaries"};
  int64_t phys = pt_physical_memory();
  for (int b = 0; b < 3; b++)
    if (sizes[b] > phys) { /* refused before trying: nothing this size can be allocated */
      pt_diag_error(d, g->loc,
                    "@%s's %s need %lld bytes per device, more than this machine's %lld bytes of "
                    "memory",
                    g->name, block_name[b], (long long)sizes[b], (long long)phys);
      pt_exec_destroy(e);
      return NULL;
    }
  for (int b = 0; b < 3; b++)
    if (!(e->block[b] = alloc_block(sizes[b]))) {
      pt_diag_error(d, g->loc, "cannot allocate %lld bytes for @%s's buffers", (long long)sizes[b],
                    g->name);
      pt_exec_destroy(e);
      return NULL;
    }
  int nv = g->nvalues ? g->nvalues : 1;
  e->views = pt_calloc((size_t)nv, sizeof *e->views);
  e->results = pt_calloc((size_t)g->nresults + 1, sizeof *e->results);
  for (int v = 0; v < g->nvalues; v++)
    e->views[v].data = NULL;
  for (int i = 0; i < g->nargs; i++)
    e->views[g->args[i]->id].type = g->args[i]->type;
  for (int i = 0; i < g->nops; i++)
    e->views[g->ops[i]->result->id].type = g->ops[i]->result->type;
  for (int v = 0; v < g->nvalues; v++) {
    int b = p->region[v] == PT_BUF_ARG      ? BLOCK_ARG
            : p->region[v] == PT_BUF_RESULT ? BLOCK_RESULT
                                            : BLOCK_TEMP;
    if (p->region[v] != PT_BUF_NONE && p->region[v] != PT_BUF_VIEW) /* views: point_views */
      e->views[v].data = e->block[b] + p->offset[v];
  }
  /* views: this device's block of an argument, pointed at on every run
   * (pt_exec_carry moves the arguments' buffers) */
  e->view_ops = pt_calloc((size_t)g->nops + 1, sizeof *e->view_ops);
  e->view_off = pt_calloc((size_t)g->nops + 1, sizeof *e->view_off);
  for (int i = 0; i < g->nops; i++) {
    int64_t blk;
    if (p->region[g->ops[i]->result->id] == PT_BUF_VIEW && pt_buf_view_of(g->ops[i], &blk)) {
      e->view_ops[e->nviews] = i;
      e->view_off[e->nviews++] = blk * pt_mpi_group_pos(mm, g->ops[i]);
    }
  }
  point_views(e);
  for (int i = 0; i < g->nresults; i++) {
    e->results[i].type = g->results[i].type;
    e->results[i].data = p->result_arg[i] >= 0
                             ? e->block[BLOCK_ARG] + p->arg_offset[p->result_arg[i]]
                             : e->block[BLOCK_RESULT] + p->result_offset[i];
  }
  int maxops = 1;
  for (int i = 0; i < g->nops; i++)
    if (g->ops[i]->noperands > maxops)
      maxops = g->ops[i]->noperands;
  e->x = pt_calloc((size_t)maxops, sizeof *e->x);
  e->secs = pt_calloc((size_t)g->nops + 1, sizeof *e->secs);
  e->starts = pt_calloc((size_t)g->nops + 1, sizeof *e->starts);
  if (mm) { /* collective over the mesh, as creating the executor is */
    size_t most = 0;
    for (int i = 0; i < g->nops; i++) {
      const pt_op *op = g->ops[i];
      if (op->code == PT_OP_ALL_REDUCE || op->code == PT_OP_REDUCE_SCATTER ||
          op->code == PT_OP_ALL_GATHER || op->code == PT_OP_ALL_TO_ALL) {
        size_t b = pt_type_bytes(&op->operands[0]->type);
        most = b > most ? b : most;
      }
    }
    pt_mpi_shm_reserve(mm, most); /* false: the collectives go through MPI */
  }
  return e;
}

void pt_exec_destroy(pt_exec *e) {
  if (!e)
    return;
  for (int b = 0; b < 3; b++)
    free(e->block[b]);
  pt_buffer_plan_free(&e->plan);
  pt_jit_program_destroy(e->jit);
  pt_fusion_plan_free(&e->fusion);
  pt_free(e->gptrs);
  pt_free(e->views);
  pt_free(e->view_ops);
  pt_free(e->view_off);
  pt_free(e->results);
  pt_free(e->x);
  pt_free(e->secs);
  pt_free(e->starts);
  pt_free(e);
}

pt_tensor *pt_exec_arg_buffer(pt_exec *e, int i) {
  PT_ASSERT(i >= 0 && i < e->g->nargs);
  return &e->views[e->g->args[i]->id];
}

const pt_tensor *pt_exec_result_buffer(const pt_exec *e, int i) {
  PT_ASSERT(i >= 0 && i < e->g->nresults);
  return &e->results[i];
}

void pt_exec_carry(pt_exec *e, int result, int arg) {
  PT_ASSERT(result >= 0 && result < e->g->nresults && arg >= 0 && arg < e->g->nargs);
  pt_tensor *a = &e->views[e->g->args[arg]->id], *r = &e->results[result];
  PT_ASSERT(pt_type_equal(&a->type, &r->type));
  if (e->plan.result_arg[result] >= 0) { /* computed in place: already there */
    PT_ASSERT(e->plan.result_arg[result] == arg && a->data == r->data);
    return;
  }
  void *was_arg = a->data, *was_result = r->data;
  /* the value computed into the result buffer is computed into the other */
  for (int v = 0; v < e->g->nvalues; v++)
    if (e->plan.region[v] == PT_BUF_RESULT && e->views[v].data == was_result)
      e->views[v].data = was_arg;
  a->data = was_result;
  r->data = was_arg;
}

int64_t pt_exec_peak_bytes(const pt_exec *e) {
  return e->plan.peak_bytes;
}
const pt_buffer_plan *pt_exec_plan(const pt_exec *e) {
  return &e->plan;
}
const pt_fusion_plan *pt_exec_fusion(const pt_exec *e) {
  return &e->fusion;
}
double pt_exec_comm_seconds(const pt_exec *e) {
  return e->comm_seconds;
}
void pt_exec_jit_counts(const pt_exec *e, int *compiled, int *reused) {
  pt_jit_counts(e->jit, compiled, reused);
}
void pt_exec_set_profile(pt_exec *e, bool on) {
  e->profile = on;
}
const double *pt_exec_op_seconds(const pt_exec *e) {
  return e->secs;
}
const double *pt_exec_op_starts(const pt_exec *e) {
  return e->starts;
}
double pt_exec_run_start(const pt_exec *e) {
  return e->t0;
}
double pt_exec_run_seconds(const pt_exec *e) {
  return e->total;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A collective on a mesh of one device: the group is this device alone. */
static void local_collective(const pt_op *op, const pt_tensor *x, pt_tensor *r) {
  size_t n = pt_type_bytes(&r->type);
  PT_ASSERT(n == pt_type_bytes(&x->type));
  if (op->code == PT_OP_COLLECTIVE_PERMUTE && pt_op_attr(op, PT_A_PAIRS)->val.n == 0)
    memset(r->data, 0, n);
  else if (r->data != x->data) /* in place when the planner says so */
    memcpy(r->data, x->data, n);
}

/* A dot, reading or writing through the transposes the fusion plan says. */
static bool run_dot(pt_exec *e, int i, char *scratch) {
  const pt_op *op = e->g->ops[i];
  const pt_fusion_plan *f = &e->fusion;
  int64_t st[3][PT_MAX_RANK];
  dot_strides ds = {NULL, NULL, NULL};
  const pt_tensor *x[2];
  for (int j = 0; j < 2; j++) {
    const pt_value *v = op->operands[j];
    int t = f->def[v->id];
    if (t >= 0 && f->thru[t] == PT_THRU_READ) {
      through_strides(e->g->ops[t], false, st[j]);
      *(j ? &ds.r : &ds.l) = st[j];
      v = e->g->ops[t]->operands[0];
    }
    x[j] = &e->views[v->id];
  }
  pt_tensor *r = &e->views[op->result->id];
  if (f->writes_into[i] >= 0) {
    const pt_op *t = e->g->ops[f->writes_into[i]];
    through_strides(t, true, st[2]);
    ds.c = st[2];
    r = &e->views[t->result->id];
  }
  return k_dot(op, x[0], x[1], r, scratch, ds.l || ds.r || ds.c ? &ds : NULL);
}

static pt_status run_op(pt_exec *e, int i, pt_diag *d) {
  const pt_op *op = e->g->ops[i];
  pt_tensor *r = &e->views[op->result->id], **x = e->x;
  for (int j = 0; j < op->noperands; j++)
    x[j] = &e->views[op->operands[j]->id];
  char *scratch = e->block[BLOCK_TEMP] + e->plan.scratch_offset[i];
  bool done = false;
  switch (op->code) {
  case PT_OP_NEG:
  case PT_OP_STOP_GRADIENT:
  case PT_OP_EXP:
  case PT_OP_LOG:
  case PT_OP_TANH:
  case PT_OP_LOGISTIC:
  case PT_OP_SQRT:
  case PT_OP_RSQRT:
  case PT_OP_ABS:
  case PT_OP_SIN:
  case PT_OP_COS:
    done = k_unary(op->code, x[0], r);
    break;
  case PT_OP_ADD:
  case PT_OP_SUB:
  case PT_OP_MUL:
  case PT_OP_DIV:
  case PT_OP_MAX:
  case PT_OP_MIN:
  case PT_OP_POW:
    done = k_binary(op->code, x[0], x[1], r);
    break;
  case PT_OP_COMPARE:
    done = k_compare(op, x[0], x[1], r);
    break;
  case PT_OP_SELECT:
    done = k_select(x[0], x[1], x[2], r);
    break;
  case PT_OP_CONVERT:
    done = k_convert(x[0], r);
    break;
  case PT_OP_CONSTANT:
    done = k_constant(op, r);
    break;
  case PT_OP_IOTA:
    done = k_iota(op, r);
    break;
  case PT_OP_BROADCAST:
    done = k_broadcast(op, x[0], r);
    break;
  case PT_OP_RESHAPE: /* in place (the same bytes) when its operand dies here */
    if (r->data != x[0]->data)
      memcpy(r->data, x[0]->data, pt_type_bytes(&r->type));
    done = true;
    break;
  case PT_OP_TRANSPOSE:
    done = k_transpose(op, x[0], r);
    break;
  case PT_OP_SLICE:
    done = k_slice(op, x[0], r);
    break;
  case PT_OP_CONCAT:
    done = k_concat(op, x, r);
    break;
  case PT_OP_PAD:
    done = k_pad(op, x[0], x[1], r);
    break;
  case PT_OP_REDUCE_SUM:
  case PT_OP_REDUCE_MAX:
    done = k_reduce(op, x[0], r, scratch);
    break;
  case PT_OP_DOT:
    done = run_dot(e, i, scratch);
    break;
  case PT_OP_TAKE:
    done = k_take(x[0], x[1], r);
    break;
  case PT_OP_SCATTER_ADD:
    done = k_scatter_add(x[0], x[1], r, (double *)scratch);
    break;
  case PT_OP_SCAN:
    done = k_scan(op, x[0], x[1], r);
    break;
  case PT_OP_ALL_GATHER:
  case PT_OP_REDUCE_SCATTER:
  case PT_OP_ALL_REDUCE:
  case PT_OP_ALL_TO_ALL:
  case PT_OP_AXIS_SLICE:
  case PT_OP_COLLECTIVE_PERMUTE:
    if (e->plan.region[op->result->id] == PT_BUF_VIEW)
      return PT_OK; /* read in place: point_views */
    if (e->mm) {
      double t0 = now();
      pt_status st = pt_mpi_collective(e->mm, op, x[0], r, d);
      e->comm_seconds += now() - t0;
      return st;
    }
    local_collective(op, x[0], r);
    return PT_OK;
  case PT_OP_CALL: /* programs are inlined before they are lowered */
  case PT_OP_COUNT:
    PT_UNREACHABLE();
  }
  if (done)
    return PT_OK;
  memset(r->data, 0, pt_type_bytes(&r->type)); /* the interpreter's kernels start from zeros */
  return pt_interp_op(op, x, r, d);
}

/* A reduction epilogue (fusion.h): out = acc + alpha * all_reduce(x). On
 * one device (no MPI mesh) the all_reduce is its operand. */
static pt_status run_reduce_epilogue(pt_exec *e, const pt_fusion_group *grp, pt_diag *d) {
  const pt_tensor *x = &e->views[grp->reduce->operands[0]->id], *acc = &e->views[grp->acc->id];
  pt_tensor *out = &e->views[grp->outputs[0]->id];
  if (e->mm) {
    double t0 = now();
    pt_status st = pt_mpi_all_reduce_update(e->mm, grp->reduce, x, acc, grp->alpha, out, d);
    e->comm_seconds += now() - t0;
    return st;
  }
  const float *s = x->data, *w = acc->data;
  float *o = out->data;
  for (int64_t i = 0, n = pt_type_numel(&out->type); i < n; i++) {
    float step = grp->alpha * s[i]; /* rounded apart, as the two ops round */
    o[i] = w[i] + step;
  }
  return PT_OK;
}

static pt_status run_group(pt_exec *e, int gi, pt_diag *d) {
  const pt_fusion_group *grp = &e->fusion.groups[gi];
  if (grp->reduce)
    return run_reduce_epilogue(e, grp, d);
  if (grp->dot) {
    float *out = e->views[grp->outputs[0]->id].data;
    const float *acc = e->views[grp->acc->id].data;
    if (out != acc)
      memcpy(out, acc, pt_type_bytes(&grp->shape));
    gemm_epilogue(grp->dot, e->views[grp->dot->operands[0]->id].data,
                  e->views[grp->dot->operands[1]->id].data, grp->alpha, out);
    return PT_OK;
  }
  for (int q = 0; q < grp->ninputs; q++)
    e->gptrs[q] = e->views[grp->inputs[q]->id].data;
  for (int q = 0; q < grp->noutputs; q++)
    e->gptrs[grp->ninputs + q] = e->views[grp->outputs[q]->id].data;
  pt_jit_group_fn(e->jit, gi)(e->gptrs);
  return PT_OK;
}

pt_status pt_exec_run(pt_exec *e, pt_tensor *const *args, pt_tensor **results, pt_diag *d) {
  const pt_func *g = e->g;
  double t0 = now();
  if (args)
    for (int i = 0; i < g->nargs; i++) {
      pt_tensor *buf = &e->views[g->args[i]->id];
      if (!args[i] || args[i]->data == buf->data)
        continue;
      if (args[i]->wide || !pt_type_equal(&args[i]->type, &buf->type)) {
        char want[PT_TYPE_STRLEN], got[PT_TYPE_STRLEN];
        pt_diag_error(d, g->args[i]->loc, "argument %%%s of @%s is %s%s, not %s",
                      g->args[i]->name ? g->args[i]->name : "?", g->name,
                      pt_type_str(&args[i]->type, got, sizeof got), args[i]->wide ? " (wide)" : "",
                      pt_type_str(&buf->type, want, sizeof want));
        if (results)
          for (int k = 0; k < g->nresults; k++)
            results[k] = NULL;
        return PT_ERR;
      }
      memcpy(buf->data, args[i]->data, pt_type_bytes(&buf->type));
    }
  point_views(e);
  pt_status st = PT_OK;
  e->t0 = t0;
  if (!e->profile) {
    memset(e->secs, 0, (size_t)g->nops * sizeof *e->secs);
    memset(e->starts, 0, (size_t)g->nops * sizeof *e->starts);
  }
  for (int i = 0; i < g->nops && st == PT_OK; i++) {
    int gi = e->fusion.group_of[i];
    if (e->fusion.absorbed[i] || (gi >= 0 && e->fusion.groups[gi].at != i)) {
      /* absorbed by a group, or a group's member run at its last */
      e->secs[i] = e->starts[i] = 0;
      continue;
    }
    double t = e->profile ? now() : 0;
    if (gi >= 0)
      st = run_group(e, gi, d);
    else
      st = run_op(e, i, d);
    if (e->profile) {
      int at = gi >= 0 ? pt_fusion_timed_at(&e->fusion.groups[gi]) : i;
      e->starts[at] = t - t0;
      e->secs[at] = now() - t;
      if (at != i)
        e->starts[i] = e->secs[i] = 0;
    }
    if (st != PT_OK && e->mm)
      pt_diag_note(d, g->ops[i]->loc, "on rank %d of %d", pt_mpi_mesh_rank(e->mm),
                   pt_mpi_mesh_size(e->mm));
  }
  for (int i = 0; i < g->nresults && st == PT_OK; i++) {
    const pt_tensor *v = &e->views[g->results[i].value->id];
    if (v->data != e->results[i].data)
      memcpy(e->results[i].data, v->data, pt_type_bytes(&e->results[i].type));
  }
  if (results)
    for (int i = 0; i < g->nresults; i++)
      results[i] = st == PT_OK ? pt_tensor_clone(&e->results[i]) : NULL;
  e->total = now() - t0;
  return st;
}
