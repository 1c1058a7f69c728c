/* Deterministic initial values for arguments not given in an inputs file.
 * The rule is in init.h and docs/cli.md ("Initial values"); each element depends only on
 * (seed, argument name, global index), never on the mesh or the shard. */
#include <math.h>
#include <string.h>

#include "init.h"

#define PT_INIT_DEFAULT_BOUND 1000

/* Whether v is arg, or arg broadcast. */
static bool is_arg_or_broadcast(const pt_value *v, const pt_value *arg) {
  return v == arg || (v->def && v->def->code == PT_OP_BROADCAST && v->def->noperands == 1 &&
                      v->def->operands[0] == arg);
}

/* n if v is an iota along a dimension of size n, else 0. */
static int64_t iota_extent(const pt_value *v) {
  if (!v->def || v->def->code != PT_OP_IOTA)
    return 0;
  const pt_attr *a = pt_op_attr(v->def, PT_A_DIM);
  if (!a || a->val.kind != PT_AV_INT || a->val.i < 0 || a->val.i >= v->type.rank)
    return 0;
  return v->type.dims[a->val.i];
}

/* The fewest rows of any table the i32 argument indexes: `take %table, %arg`
 * (rows = the table's first dimension), `scatter_add %arg, %upd` (rows =
 * the result's first dimension) or a one-hot `compare %arg, %iota {dir =
 * eq}`, the argument perhaps broadcast (rows = the iota's extent: the
 * labels of a cross-entropy). 0 if it indexes none. */
static int64_t index_bound(const pt_func *f, const pt_value *arg) {
  int64_t best = 0;
  for (int i = 0; i < f->nops; i++) {
    const pt_op *op = f->ops[i];
    int64_t rows = 0;
    if (op->code == PT_OP_TAKE && op->noperands == 2 && op->operands[1] == arg &&
        op->operands[0]->type.rank >= 1)
      rows = op->operands[0]->type.dims[0];
    else if (op->code == PT_OP_SCATTER_ADD && op->noperands == 2 && op->operands[0] == arg &&
             op->result && op->result->type.rank >= 1)
      rows = op->result->type.dims[0];
    else if (op->code == PT_OP_COMPARE && op->noperands == 2) {
      const pt_attr *dir = pt_op_attr(op, PT_A_DIR);
      if (dir && dir->val.kind == PT_AV_IDENT && strcmp(dir->val.s, "eq") == 0)
        for (int k = 0; k < 2; k++)
          if (is_arg_or_broadcast(op->operands[k], arg))
            rows = iota_extent(op->operands[1 - k]);
    }
    if (rows >= 1 && (best == 0 || rows < best))
      best = rows;
  }
  return best;
}

pt_init_spec pt_init_spec_for(const pt_func *f, const pt_value *arg, uint64_t seed) {
  PT_ASSERT(arg->arg_index >= 0 && arg->name);
  pt_init_spec s = {.kind = PT_INIT_ZERO,
                    .std = 0,
                    .bound = 0,
                    .key = pt_rng_key_for(seed, arg->name),
                    .dtype = arg->type.dtype};
  const pt_type *t = &arg->type;
  switch (arg->role) {
  case PT_ROLE_PARAM:
    if (t->rank >= 2) {
      int64_t fan_in = 1;
      for (int k = 0; k < t->rank - 1; k++)
        fan_in *= t->dims[k];
      s.kind = PT_INIT_NORMAL;
      s.std = 1.0 / sqrt((double)fan_in);
    }
    break;
  case PT_ROLE_STATE:
    break;
  case PT_ROLE_INPUT:
    switch (t->dtype) {
    case PT_F32:
      s.kind = PT_INIT_NORMAL;
      s.std = 1.0;
      break;
    case PT_I32: {
      int64_t b = index_bound(f, arg);
      s.kind = PT_INIT_UNIFORM_INT;
      s.bound = b ? b : PT_INIT_DEFAULT_BOUND;
      break;
    }
    case PT_PRED:
      s.kind = PT_INIT_BERNOULLI;
      break;
    case PT_DTYPE_COUNT:
      PT_UNREACHABLE();
    }
    break;
  case PT_ROLE_COUNT:
    PT_UNREACHABLE();
  }
  return s;
}

/* Rounds v as storing it in a tensor of dtype dt would (pt_tensor_set). */
static double round_to(pt_dtype dt, double v) {
  switch (dt) {
  case PT_F32:
    return (double)(float)v;
  case PT_I32:
    if (isnan(v))
      return 0;
    if (v >= 2147483647.0)
      return 2147483647.0;
    if (v <= -2147483648.0)
      return -2147483648.0;
    return trunc(v);
  case PT_PRED:
    return v != 0;
  case PT_DTYPE_COUNT:
    break;
  }
  PT_UNREACHABLE();
}

double pt_init_value(const pt_init_spec *s, int64_t i) {
  PT_ASSERT(i >= 0);
  double v = 0;
  switch (s->kind) {
  case PT_INIT_ZERO:
    break;
  case PT_INIT_NORMAL:
    v = s->std * pt_rng_normal(s->key, (uint64_t)i);
    break;
  case PT_INIT_UNIFORM_INT:
    v = (double)pt_rng_below(s->key, (uint64_t)i, s->bound);
    break;
  case PT_INIT_BERNOULLI:
    v = (double)pt_rng_below(s->key, (uint64_t)i, 2);
    break;
  }
  return round_to(s->dtype, v);
}

pt_tensor *pt_init_tensor(const pt_init_spec *s, pt_type t) {
  PT_ASSERT(t.dtype == s->dtype);
  pt_tensor *x = pt_tensor_create(t);
  if (s->kind == PT_INIT_ZERO)
    return x;
  int64_t n = pt_type_numel(&t);
  for (int64_t i = 0; i < n; i++)
    pt_tensor_set(x, i, pt_init_value(s, i));
  return x;
}
