/* Sharding rules: each op's dimensions written as factors, as in an einsum
 * (Shardy's OpShardingRule, PartIR's tile-mapping registry). `dot` on
 * [i,k] x [k,j] -> [i,j] has pass-through factors i and j and a reduction
 * factor k: sharding i or j over an axis shards the result there; sharding
 * k on both operands makes the result a partial sum over the axis.
 *
 * Factor kinds:
 *   pass        appears in the result: sharding it needs no communication
 *               (a pass factor of the result alone, iota's counting dim or
 *               scatter_add's rows, is computed from the block's offset)
 *   reduce_sum  appears in operands only; sharding it leaves a partial sum
 *   reduce_max  likewise, a partial max (reduce_max's reduced dims)
 *   replicate   the op needs this dimension whole on every device (slice,
 *               pad and concat along their working dim, the minor dims of a
 *               reshape's split)
 * A dimension mapped to no factor (-1) must also be whole.
 *
 * Sequence parallelism. scan's time dim is a pass factor: sharded, the
 * lowering runs the distributed scan (local scans, an exchange of each
 * device's chunk summary, a prefix combine, a local correction). A *shift*
 * is a pad whose only use is a slice, or a slice whose only use is a pad,
 * that together move one dim by a bounded offset and keep its size
 * (out[t] = x[t + offset], the pad value where t + offset falls outside x):
 * propagation treats the pair as one element-wise op from the first op's
 * operand to the second op's result, and the lowering turns it into a
 * collective_permute of the |offset| halo elements plus local work. Its
 * intermediate value is never built when the dim is sharded. */
#ifndef PT_SHARD_RULES_H
#define PT_SHARD_RULES_H

#include "ir.h"

#define PT_MAX_FACTORS 24
#define PT_RULE_MAX_OPERANDS 16

typedef enum {
  PT_FACTOR_PASS,
  PT_FACTOR_REDUCE_SUM,
  PT_FACTOR_REDUCE_MAX,
  PT_FACTOR_REPLICATE,
} pt_factor_kind;

typedef struct {
  int nfactors;
  uint8_t kind[PT_MAX_FACTORS];                      /* pt_factor_kind */
  int noperands;                                     /* operands beyond PT_RULE_MAX_OPERANDS
                                                        (a long concat) share the last row */
  int8_t operand[PT_RULE_MAX_OPERANDS][PT_MAX_RANK]; /* factor per dim, -1 none */
  int8_t result[PT_MAX_RANK];
} pt_shard_rule;

/* The rule of op (which must be verified and not a collective). */
void pt_shard_rule_of(const pt_op *op, pt_shard_rule *r);
/* The factor of operand i's dimension d under r. */
int pt_rule_operand_factor(const pt_shard_rule *r, int i, int d);

/* Whether op is linear in each operand taken together, so that its result
 * on partial sums is the partial sum of its results (add, sub, neg, and a
 * reduce_sum): where every operand is a partial sum over an axis,
 * propagation makes the result one too, and the lowering computes the op
 * on the local partial sums and reduces once after it, instead of once per
 * operand (the three input gradients of a layer's q, k and v products are
 * one all_reduce), or on fewer bytes (a bias gradient's reduce_sum). */
bool pt_op_passes_partial_sum(const pt_op *op);

/* A shift pair's role for one op (see above). */
typedef struct {
  int8_t role;       /* PT_SHIFT_NONE, _INNER (the first op), _OUTER (the second) */
  int8_t dim;        /* the dimension moved */
  int64_t offset;    /* out[t] = x[t + offset] */
  const pt_op *pair; /* the other op of the pair */
} pt_shift;

enum { PT_SHIFT_NONE, PT_SHIFT_INNER, PT_SHIFT_OUTER };

/* The shift pairs of f, indexed by each op's result id (f->nvalues
 * entries; the caller frees the array with pt_free). */
pt_shift *pt_shifts_find(const pt_func *f);
/* The operand a shift's outer op reads through the pair: the inner op's
 * operand. */
pt_value *pt_shift_source(const pt_shift *s);
/* The rule propagation reads op by, with the operands it applies to (set in
 * *operands; the count is returned): a shift's outer op (sh its entry of
 * pt_shifts_find) is element-wise on its source alone, which *slot holds;
 * any other op has its own rule and operands. */
int pt_rule_view(const pt_op *op, const pt_shift *sh, pt_shard_rule *r, pt_value *const **operands,
                 pt_value **slot);

#endif
