/* Element-wise fusion: which ops of a lowered program run together as one
 * loop (runtime/jit.c compiles each group with LLVM). Pure, so the executor,
 * the buffer planner and the cost simulator all see the same groups.
 *
 * A group is a set of f32 element-wise ops of one shape (unary and binary
 * arithmetic, compare, select, and convert of a mask to f32) that run as
 * one loop nest over that shape at the position of the group's last
 * member. Inside the loop, members' results are registers; only the
 * outputs -- member results read by an op outside the group or returned --
 * are stored. A member's operand defined by a `broadcast` is read from the
 * broadcast's source with zero strides (the broadcast is never
 * materialised for it), and a splat `constant` is a literal. A broadcast
 * or constant read only that way is absorbed: it does not run and has no
 * buffer.
 *
 * Grouping is greedy in program order: an op joins the groups of its
 * operands -- all of them, merged into one, up to 64 members --
 * whose values no op outside the merged groups reads before it (the group
 * runs at its last member, so nothing may read its values earlier); if it
 * joins none, it starts a group of its own. A group of one
 * op that reads nothing virtually is dissolved -- the op runs on its own --
 * unless it is an exp, tanh or logistic (runtime/vmath.h), which the JIT's
 * loops vectorise at the host's full width.
 *
 * Row reductions: a reduce_sum or reduce_max of an f32 value over its
 * last dim alone (pt_fusion_row_reduce) joins the group computing that
 * value, as its last use of it: the loop keeps each row's partial sums
 * (or maxima) in registers and stores one value a row, and the reduced
 * value is not stored unless something else reads it. No member reads a
 * group's reduction (a member reading it, or a broadcast of it, starts
 * another group), and the group's shape is its operand's. The loop adds
 * and compares in the order of the executor's own kernel (exec.c
 * sum_row, max_row: eight interleaved lanes, combined pairwise), so the
 * results are the same bits. A column reduction -- a reduce_sum over
 * dims that leave the last one, as a norm's scale gradient sums over the
 * batch and sequence -- joins the same way: each element is added, in
 * the loop's order (the kernel's: row by row), into a double sum per
 * result on the loop's stack, rounded to f32 and stored when the loop
 * ends; at most PT_FUSION_COL_MAX results. PT_ROW_REDUCE=0 turns both
 * off.
 *
 * Recomputed values: a group reading a value another group computes
 * takes in that group's members computing it (pt_fusion_group.ops then
 * holds op indices whose group_of is the other group) when everything
 * they read from outside their group it reads already, or is one costly
 * value of that group (exp, log, tanh, logistic, sqrt, rsqrt, sin, cos,
 * pow), which it then reads instead of recomputing: a GELU's backward
 * recomputes the forward's products from u and reads only tanh. A value
 * is an output of its own group only if another group reads it (an
 * input), an op outside every group reads it, it is returned, or nothing
 * reads it; so the value recomputed everywhere is not stored, and the
 * activations a backward pass keeps shrink. PT_RECOMPUTE=0 turns it off.
 *
 * GEMM epilogues: a group of two members, out = acc - c * d (or acc + c * d,
 * c * d + acc, with c a splat constant) -- an SGD update -- where d is a
 * dot's f32 result read by nothing else and the dot is one plain GEMM
 * (runtime/exec.h pt_exec_dot_gemm: no batch, no copies, not flipped), takes
 * the dot in: it runs at the group's place as one cblas_sgemm with
 * alpha = -c (or c) and beta = 1 into out, acc copied there first unless out
 * took acc's bytes (exec.h: in place). d is never stored: the weight
 * gradient is not written and read back. sgemm scales each K-block's
 * partial product by alpha and adds it into out, rounding once per block
 * where the two ops round the whole product, its scaling and the sum
 * separately, so the result is within rounding of the op-by-op one but not
 * bit for bit; PT_FUSION=0 or PT_GEMM_EPILOGUE=0 leaves dots on their own.
 * The same with c = 1 for a lone sum, out = acc + d, d + acc or acc - d,
 * whose acc is read by it alone and whose result goes to no loop (a
 * collective, a dot, or another such sum): a group of its own, one sgemm
 * each (fusion.c sum_epilogue).
 * The dot's operands are the group's inputs after acc, so they live until
 * the group runs.
 *
 * Reduction epilogues: the same update where d is instead an all_reduce's
 * result (sum, f32) read by nothing else -- a data-parallel weight
 * gradient's -- takes the all_reduce in: at the group's place, on more
 * than one rank, each rank updates the chunk of the sum it computes and
 * the ranks gather the updated chunks in place of the sums
 * (runtime/mpi_coll.h pt_mpi_all_reduce_update), so the update runs over
 * 1/G of the weight and the sum is never stored. The same bits as the two
 * ops. The all_reduce's operand is the group's input after acc. Off with
 * the GEMM epilogues (PT_GEMM_EPILOGUE=0) or PT_REDUCE_EPILOGUE=0.
 *
 * Strided dots: a transpose (f32, not returned) that only dots read, where
 * each still runs without copies reading its operand where it lies with
 * the permuted strides (runtime/exec.h pt_exec_dot_through), is read
 * through (PT_THRU_READ): it does not run, its result is not stored, and
 * its operand lives until those dots. Otherwise a transpose that alone
 * reads a dot's result (not returned), where the dot can write its product
 * straight into the transpose's buffer in the transposed layout, is
 * written through (PT_THRU_WRITE): it does not run, the dot's result is not
 * stored, and the transpose's is, from the dot on. Both are absorbed. The
 * results are the same bits. PT_STRIDED_DOTS=0 turns them off. */
#ifndef PT_FUSION_H
#define PT_FUSION_H

#include "ir.h"

typedef struct {
  int *ops; /* member op indices, in program order (recomputed ones too) */
  int nops;
  int at;                  /* the op index the group runs at: its last member */
  pt_type shape;           /* the iteration space (the members' result shape, f32;
                              a row reduction's is its operand's) */
  const pt_value **inputs; /* external values read, each once, in first-use order */
  int ninputs;
  const pt_value **outputs; /* member results stored, in program order */
  int noutputs;
  /* A GEMM epilogue (below), or NULL: the group is out = acc + alpha * dot */
  const pt_op *dot;
  int dot_at;          /* the dot's op index */
  const pt_value *acc; /* what the product (or sum) is added to (an input) */
  float alpha;
  /* A reduction epilogue (below), or NULL: out = acc + alpha * all_reduce */
  const pt_op *reduce;
  int reduce_at; /* the all_reduce's op index */
} pt_fusion_group;

typedef struct {
  int ngroups;
  pt_fusion_group *groups;
  int *group_of;  /* per op index: its group, or -1 */
  bool *absorbed; /* per op index: a broadcast/constant read only virtually,
                     or a transpose a dot runs through (thru) */
  /* Strided dots (above): per op index, for a transpose, PT_THRU_READ or
   * PT_THRU_WRITE (else 0); per dot, the transpose it writes into, or -1 */
  uint8_t *thru;
  int *writes_into;
  int *def; /* per value id: the op index defining it, -1 for an argument */
} pt_fusion_plan;

enum { PT_THRU_READ = 1, PT_THRU_WRITE = 2 };

/* The op index a group's time is reported at: a GEMM epilogue's dot, a
 * reduction epilogue's all_reduce (the op a profile reader looks for),
 * else the group's last member, where it runs. */
int pt_fusion_timed_at(const pt_fusion_group *grp);

/* Plans g's groups. With `enable` false the plan has no groups (every op
 * runs on its own). Free with pt_fusion_plan_free. */
void pt_plan_fusion(const pt_func *g, bool enable, pt_fusion_plan *out);
void pt_fusion_plan_free(pt_fusion_plan *p);

/* Whether fusion is on by default: PT_FUSION=0 in the environment turns it
 * off (every op then runs its own kernel, as the interpreter does). */
bool pt_fusion_default(void);

/* Whether GEMM epilogues are planned (with fusion on): PT_GEMM_EPILOGUE=0
 * turns them off. */
bool pt_fusion_epilogue_default(void);
/* Whether reduction epilogues are planned (with GEMM epilogues on):
 * PT_REDUCE_EPILOGUE=0 turns them off. */
bool pt_fusion_reduce_epilogue_default(void);
/* Whether strided dots are planned (with fusion on): PT_STRIDED_DOTS=0
 * turns them off. */
bool pt_fusion_strided_default(void);
/* Whether row and column reductions join groups (with fusion on):
 * PT_ROW_REDUCE=0 turns them off. */
bool pt_fusion_reduce_default(void);
/* Whether groups recompute values (with fusion on): PT_RECOMPUTE=0 turns
 * it off. */
bool pt_fusion_recompute_default(void);

/* How a group's loop reads a member's operand that is not a member's
 * result: a splat constant is a literal; a value defined by a broadcast
 * (not a member) is read from the broadcast's source through its dims;
 * anything else is loaded element by element. */
typedef struct {
  bool splat;
  double value;        /* splat: the constant */
  const pt_value *src; /* otherwise: what is loaded */
  const pt_op *bcast;  /* the broadcast read through, or NULL */
} pt_fusion_access;

pt_fusion_access pt_fusion_read(const pt_value *v);

/* Whether op is an element-wise op a group can hold. */
bool pt_fusion_member_op(const pt_op *op);
/* Whether op is a reduction a group can end with (above): a row reduction,
 * a column one, or either. */
bool pt_fusion_row_reduce(const pt_op *op);
bool pt_fusion_col_reduce(const pt_op *op);
bool pt_fusion_reduce(const pt_op *op);
/* A column reduction's most results: its double sums live on the loop's
 * stack (8 bytes each) */
#define PT_FUSION_COL_MAX 16384

#endif
