/* Sharding rules of every op (see shard_rules.h). One switch over the op
 * classes with no default: a new class does not build until it has a rule. */
#include "shard_rules.h"

#include <string.h>

/* GCC 12 at -O3 unrolls the per-dimension loops below past PT_MAX_RANK and
 * warns about writes it cannot prove unreachable (the factor counter is a
 * byte, so every store may alias the rank it loops to). Ranks are verified. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif

typedef struct {
  pt_shard_rule *r;
} rb;

static int new_factor(pt_shard_rule *r, pt_factor_kind k) {
  PT_ASSERT(r->nfactors < PT_MAX_FACTORS);
  r->kind[r->nfactors] = (uint8_t)k;
  return r->nfactors++;
}

static void set_operand(pt_shard_rule *r, int i, int d, int f) {
  if (i < PT_RULE_MAX_OPERANDS)
    r->operand[i][d] = (int8_t)f;
}

bool pt_op_passes_partial_sum(const pt_op *op) {
  switch (op->code) {
  case PT_OP_ADD:
  case PT_OP_SUB:
  case PT_OP_NEG:
  case PT_OP_REDUCE_SUM:
    return true;
  default:
    return false;
  }
}

int pt_rule_operand_factor(const pt_shard_rule *r, int i, int d) {
  return r->operand[i < PT_RULE_MAX_OPERANDS ? i : PT_RULE_MAX_OPERANDS - 1][d];
}

/* Every operand dim d and result dim d share factor d (element-wise). */
static void elementwise(const pt_op *op, pt_shard_rule *r) {
  int rank = op->result->type.rank;
  for (int d = 0; d < rank; d++) {
    int f = new_factor(r, PT_FACTOR_PASS);
    r->result[d] = (int8_t)f;
    for (int i = 0; i < op->noperands; i++)
      if (op->operands[i]->type.rank == rank)
        set_operand(r, i, d, f);
  }
}

/* Dimensions that an op changes (slice, pad) need replication; the others
 * pass through. `whole[d]` says dim d is left untouched. */
static void pass_or_replicate(const pt_op *op, pt_shard_rule *r, const bool *whole) {
  for (int d = 0; d < op->result->type.rank; d++) {
    int f = new_factor(r, whole[d] ? PT_FACTOR_PASS : PT_FACTOR_REPLICATE);
    r->result[d] = (int8_t)f;
    set_operand(r, 0, d, f);
  }
}

static void reduce(const pt_op *op, pt_shard_rule *r, pt_factor_kind kind) {
  const pt_type *x = &op->operands[0]->type;
  int64_t dims[PT_MAX_RANK];
  int n = pt_op_ints(op, PT_A_DIMS, dims, PT_MAX_RANK), k = 0;
  for (int d = 0; d < x->rank; d++) {
    bool red = false;
    for (int j = 0; j < n; j++)
      red |= dims[j] == d;
    int f = new_factor(r, red ? kind : PT_FACTOR_PASS);
    set_operand(r, 0, d, f);
    if (!red)
      r->result[k++] = (int8_t)f;
  }
}

static void dot(const pt_op *op, pt_shard_rule *r) {
  int64_t lb[PT_MAX_RANK], rb[PT_MAX_RANK], lc[PT_MAX_RANK], rc[PT_MAX_RANK];
  int nb = pt_op_ints(op, PT_A_LHS_BATCH, lb, PT_MAX_RANK);
  pt_op_ints(op, PT_A_RHS_BATCH, rb, PT_MAX_RANK);
  int nc = pt_op_ints(op, PT_A_LHS_CONTRACT, lc, PT_MAX_RANK);
  pt_op_ints(op, PT_A_RHS_CONTRACT, rc, PT_MAX_RANK);
  if (nb < 0)
    nb = 0;
  int k = 0;
  for (int i = 0; i < nb; i++) {
    int f = new_factor(r, PT_FACTOR_PASS);
    set_operand(r, 0, (int)lb[i], f);
    set_operand(r, 1, (int)rb[i], f);
    r->result[k++] = (int8_t)f;
  }
  for (int i = 0; i < nc; i++) {
    int f = new_factor(r, PT_FACTOR_REDUCE_SUM);
    set_operand(r, 0, (int)lc[i], f);
    set_operand(r, 1, (int)rc[i], f);
  }
  for (int s = 0; s < 2; s++) {
    const pt_type *t = &op->operands[s]->type;
    for (int d = 0; d < t->rank; d++)
      if (r->operand[s][d] < 0) {
        int f = new_factor(r, PT_FACTOR_PASS);
        set_operand(r, s, d, f);
        r->result[k++] = (int8_t)f;
      }
  }
}

/* reshape: operand and result dims fall into groups of equal element count;
 * the major dims of a group share a factor (a split or merge keeps the
 * major-most dimension's blocks contiguous), the others need replication.
 * Dims of size 1 hold no layout: the major dim of a group is its first of
 * size above 1, so [1, R] -> [R] passes R's sharding through. */
static void reshape(const pt_op *op, pt_shard_rule *r) {
  const pt_type *x = &op->operands[0]->type, *y = &op->result->type;
  int i = 0, j = 0;
  while (i < x->rank || j < y->rank) {
    int gi = i, gj = j;
    int64_t po = i < x->rank ? x->dims[i++] : 1, pr = j < y->rank ? y->dims[j++] : 1;
    while (po != pr) {
      if (po < pr && i < x->rank)
        po *= x->dims[i++];
      else if (j < y->rank)
        pr *= y->dims[j++];
      else
        break;
    }
    int mi = gi, mj = gj; /* the group's major dims */
    while (mi + 1 < i && x->dims[mi] == 1)
      mi++;
    while (mj + 1 < j && y->dims[mj] == 1)
      mj++;
    int shared = -1;
    if (i > gi && j > gj) {
      shared = new_factor(r, PT_FACTOR_PASS);
      set_operand(r, 0, mi, shared);
      r->result[mj] = (int8_t)shared;
    }
    for (int d = gi; d < i; d++)
      if (shared < 0 || d != mi)
        set_operand(r, 0, d, new_factor(r, PT_FACTOR_REPLICATE));
    for (int d = gj; d < j; d++)
      if (shared < 0 || d != mj)
        r->result[d] = (int8_t)new_factor(r, PT_FACTOR_REPLICATE);
  }
}

static void rule_init(pt_shard_rule *r, int noperands) {
  memset(r, 0, sizeof *r);
  memset(r->operand, -1, sizeof r->operand);
  memset(r->result, -1, sizeof r->result);
  r->noperands = noperands;
}

void pt_shard_rule_of(const pt_op *op, pt_shard_rule *r) {
  rule_init(r, op->noperands);
  const pt_type *x = op->noperands ? &op->operands[0]->type : NULL;
  const pt_type *y = &op->result->type;
  bool whole[PT_MAX_RANK];
  switch (pt_optab[op->code].cls) {
  case PT_CLS_UNARY:
  case PT_CLS_BINARY:
  case PT_CLS_COMPARE:
  case PT_CLS_SELECT:
  case PT_CLS_CONVERT:
    elementwise(op, r);
    return;
  case PT_CLS_CONSTANT: {
    /* a splat can be made at any block; a literal list only whole */
    bool splat = pt_op_attr(op, PT_A_VALUE)->val.kind != PT_AV_LIST;
    for (int d = 0; d < y->rank; d++)
      r->result[d] = (int8_t)new_factor(r, splat ? PT_FACTOR_PASS : PT_FACTOR_REPLICATE);
    return;
  }
  case PT_CLS_IOTA:
    /* every dim, the counting one too: a device counts from its block's
     * first index (the lowering offsets it) */
    for (int d = 0; d < y->rank; d++)
      r->result[d] = (int8_t)new_factor(r, PT_FACTOR_PASS);
    return;
  case PT_CLS_BROADCAST: {
    int64_t dims[PT_MAX_RANK];
    int n = pt_op_ints(op, PT_A_DIMS, dims, PT_MAX_RANK);
    for (int d = 0; d < y->rank; d++)
      r->result[d] = (int8_t)new_factor(r, PT_FACTOR_PASS);
    for (int k = 0; k < n; k++) {
      if (x->dims[k] == y->dims[dims[k]])
        set_operand(r, 0, k, r->result[dims[k]]);
      else /* a size-1 dim expanded: the operand's 1 stays whole */
        set_operand(r, 0, k, new_factor(r, PT_FACTOR_REPLICATE));
    }
    return;
  }
  case PT_CLS_RESHAPE:
    reshape(op, r);
    return;
  case PT_CLS_TRANSPOSE: {
    int64_t perm[PT_MAX_RANK];
    pt_op_ints(op, PT_A_PERM, perm, PT_MAX_RANK);
    for (int d = 0; d < y->rank; d++) {
      int f = new_factor(r, PT_FACTOR_PASS);
      r->result[d] = (int8_t)f;
      set_operand(r, 0, (int)perm[d], f);
    }
    return;
  }
  case PT_CLS_SLICE: {
    int64_t st[PT_MAX_RANK], lim[PT_MAX_RANK], str[PT_MAX_RANK];
    pt_op_ints(op, PT_A_START, st, PT_MAX_RANK);
    pt_op_ints(op, PT_A_LIMIT, lim, PT_MAX_RANK);
    if (pt_op_ints(op, PT_A_STRIDE, str, PT_MAX_RANK) < 0)
      for (int d = 0; d < x->rank; d++)
        str[d] = 1;
    for (int d = 0; d < x->rank; d++)
      whole[d] = st[d] == 0 && lim[d] == x->dims[d] && str[d] == 1;
    pass_or_replicate(op, r, whole);
    return;
  }
  case PT_CLS_PAD: {
    int64_t lo[PT_MAX_RANK], hi[PT_MAX_RANK], in[PT_MAX_RANK];
    pt_op_ints(op, PT_A_LOW, lo, PT_MAX_RANK);
    pt_op_ints(op, PT_A_HIGH, hi, PT_MAX_RANK);
    if (pt_op_ints(op, PT_A_INTERIOR, in, PT_MAX_RANK) < 0)
      for (int d = 0; d < x->rank; d++)
        in[d] = 0;
    for (int d = 0; d < x->rank; d++)
      whole[d] = lo[d] == 0 && hi[d] == 0 && in[d] == 0;
    pass_or_replicate(op, r, whole);
    return;
  }
  case PT_CLS_CONCAT: {
    int64_t dim = pt_op_int(op, PT_A_DIM, 0);
    for (int d = 0; d < y->rank; d++) {
      int f = new_factor(r, d == dim ? PT_FACTOR_REPLICATE : PT_FACTOR_PASS);
      r->result[d] = (int8_t)f;
      for (int i = 0; i < op->noperands; i++)
        set_operand(r, i, d, f);
    }
    return;
  }
  case PT_CLS_REDUCE:
    reduce(op, r, op->code == PT_OP_REDUCE_MAX ? PT_FACTOR_REDUCE_MAX : PT_FACTOR_REDUCE_SUM);
    return;
  case PT_CLS_DOT:
    dot(op, r);
    return;
  case PT_CLS_TAKE: {
    /* result = idx dims ++ table dims[1:]; sharding the table's rows is a
     * masked lookup on each device that leaves a partial sum */
    const pt_type *idx = &op->operands[1]->type;
    int k = 0;
    for (int d = 0; d < idx->rank; d++) {
      int f = new_factor(r, PT_FACTOR_PASS);
      set_operand(r, 1, d, f);
      r->result[k++] = (int8_t)f;
    }
    set_operand(r, 0, 0, new_factor(r, PT_FACTOR_REDUCE_SUM));
    for (int d = 1; d < x->rank; d++) {
      int f = new_factor(r, PT_FACTOR_PASS);
      set_operand(r, 0, d, f);
      r->result[k++] = (int8_t)f;
    }
    return;
  }
  case PT_CLS_SCATTER_ADD: {
    /* updates' leading (index) dims are summed into rows: sharding them
     * leaves a partial sum. The rows are a factor of the result alone:
     * sharding them, each device adds only the updates whose indices fall
     * in its block (the lowering masks the others) */
    const pt_type *idx = &op->operands[0]->type;
    for (int d = 0; d < idx->rank; d++) {
      int f = new_factor(r, PT_FACTOR_REDUCE_SUM);
      set_operand(r, 0, d, f);
      set_operand(r, 1, d, f);
    }
    r->result[0] = (int8_t)new_factor(r, PT_FACTOR_PASS);
    for (int d = 1; d < y->rank; d++) {
      int f = new_factor(r, PT_FACTOR_PASS);
      r->result[d] = (int8_t)f;
      set_operand(r, 1, idx->rank + d - 1, f);
    }
    return;
  }
  case PT_CLS_SCAN: {
    /* the time dim too: sharded, the lowering runs the distributed scan */
    for (int d = 0; d < y->rank; d++) {
      int f = new_factor(r, PT_FACTOR_PASS);
      r->result[d] = (int8_t)f;
      set_operand(r, 0, d, f);
      set_operand(r, 1, d, f);
    }
    return;
  }
  case PT_CLS_ALL_GATHER:
  case PT_CLS_REDUCE_SCATTER:
  case PT_CLS_ALL_REDUCE:
  case PT_CLS_ALL_TO_ALL:
  case PT_CLS_AXIS_SLICE:
  case PT_CLS_PERMUTE:
    /* collectives act on local blocks: every dimension stays as it is */
    for (int d = 0; d < y->rank; d++)
      r->result[d] = (int8_t)new_factor(r, PT_FACTOR_REPLICATE);
    for (int d = 0; d < x->rank; d++)
      set_operand(r, 0, d, new_factor(r, PT_FACTOR_REPLICATE));
    return;
  case PT_CLS_CALL: /* tactics run on inlined programs only */
  case PT_CLS_COUNT:
    break;
  }
  PT_UNREACHABLE();
}

/* ---- shift pairs ------------------------------------------------------- */

/* Reads a slice's or pad's effect on each dim as an affine window:
 * out[t] = in[t + off[d]] for t + off[d] in [keep_lo, keep_hi) of in, else
 * the pad value. False if a stride or interior padding is involved. */
static bool all_are(const pt_op *op, pt_attrkey k, int rank, int64_t want) {
  int64_t v[PT_MAX_RANK];
  if (pt_op_ints(op, k, v, PT_MAX_RANK) < 0)
    return true; /* absent: the default */
  for (int d = 0; d < rank; d++)
    if (v[d] != want)
      return false;
  return true;
}

static bool window_of(const pt_op *op, int64_t *off, int64_t *keep_lo, int64_t *keep_hi) {
  const pt_type *x = &op->operands[0]->type;
  int64_t a[PT_MAX_RANK], b[PT_MAX_RANK];
  bool slice = op->code == PT_OP_SLICE;
  PT_ASSERT(slice || op->code == PT_OP_PAD);
  if (slice ? !all_are(op, PT_A_STRIDE, x->rank, 1) : !all_are(op, PT_A_INTERIOR, x->rank, 0))
    return false;
  pt_op_ints(op, slice ? PT_A_START : PT_A_LOW, a, PT_MAX_RANK);
  if (slice)
    pt_op_ints(op, PT_A_LIMIT, b, PT_MAX_RANK);
  for (int d = 0; d < x->rank; d++) {
    off[d] = slice ? a[d] : -a[d];
    keep_lo[d] = slice ? a[d] : 0;
    keep_hi[d] = slice ? b[d] : x->dims[d];
  }
  return true;
}

/* Whether inner then outer (a pad and a slice, either order) shift one
 * dim of inner's operand and leave the rest alone; fills s for outer. */
static bool shift_pair(const pt_op *inner, const pt_op *outer, pt_shift *s) {
  const pt_type *x = &inner->operands[0]->type, *y = &outer->result->type;
  int64_t o1[PT_MAX_RANK], l1[PT_MAX_RANK], h1[PT_MAX_RANK];
  int64_t o2[PT_MAX_RANK], l2[PT_MAX_RANK], h2[PT_MAX_RANK];
  if (!window_of(inner, o1, l1, h1) || !window_of(outer, o2, l2, h2))
    return false;
  int dim = -1;
  for (int d = 0; d < x->rank; d++) {
    if (x->dims[d] != y->dims[d])
      return false;
    int64_t off = o1[d] + o2[d];
    /* the composite keeps x[t + off] where t + off is inside x and both
     * windows keep it: a pure shift needs every such element kept */
    int64_t lo = off > 0 ? off : 0, hi = off < 0 ? x->dims[d] + off : x->dims[d];
    bool kept = l1[d] <= lo && h1[d] >= hi && l2[d] <= lo - o1[d] && h2[d] >= hi - o1[d];
    if (!kept)
      return false;
    if (off == 0)
      continue;
    if (dim >= 0 || off >= x->dims[d] || -off >= x->dims[d])
      return false; /* two moved dims, or nothing of x left */
    dim = d;
    s->offset = off;
  }
  if (dim < 0)
    return false;
  s->dim = (int8_t)dim;
  return true;
}

pt_shift *pt_shifts_find(const pt_func *f) {
  pt_shift *s = pt_calloc((size_t)f->nvalues + 1, sizeof *s);
  int *uses = pt_calloc((size_t)f->nvalues + 1, sizeof *uses);
  for (int i = 0; i < f->nops; i++)
    for (int j = 0; j < f->ops[i]->noperands; j++)
      uses[f->ops[i]->operands[j]->id]++;
  for (int i = 0; i < f->nresults; i++)
    uses[f->results[i].value->id]++;
  for (int i = 0; i < f->nops; i++) {
    const pt_op *outer = f->ops[i];
    if (outer->code != PT_OP_SLICE && outer->code != PT_OP_PAD)
      continue;
    const pt_op *inner = outer->operands[0]->def;
    if (!inner || uses[inner->result->id] != 1 || s[inner->result->id].role != PT_SHIFT_NONE ||
        (inner->code != PT_OP_SLICE && inner->code != PT_OP_PAD) || inner->code == outer->code)
      continue;
    pt_shift sh = {PT_SHIFT_OUTER, 0, 0, inner};
    if (!shift_pair(inner, outer, &sh))
      continue;
    s[outer->result->id] = sh;
    sh.role = PT_SHIFT_INNER;
    sh.pair = outer;
    s[inner->result->id] = sh;
  }
  pt_free(uses);
  return s;
}

pt_value *pt_shift_source(const pt_shift *s) {
  PT_ASSERT(s->role == PT_SHIFT_OUTER);
  return s->pair->operands[0];
}

int pt_rule_view(const pt_op *op, const pt_shift *sh, pt_shard_rule *r, pt_value *const **operands,
                 pt_value **slot) {
  if (sh->role != PT_SHIFT_OUTER) {
    pt_shard_rule_of(op, r);
    *operands = op->operands;
    return op->noperands;
  }
  rule_init(r, 1);
  for (int d = 0; d < op->result->type.rank; d++) {
    int f = new_factor(r, PT_FACTOR_PASS);
    r->result[d] = r->operand[0][d] = (int8_t)f;
  }
  *slot = pt_shift_source(sh);
  *operands = slot;
  return 1;
}
