/* Sharding propagation for one mesh axis (one tactic), to a fixpoint.
 *
 * Each op looks at the values around it that are sharded along the axis;
 * through its rule (shard_rules.h) each such value names a factor of the
 * op. If they all name the same factor, and it is not one that must stay
 * whole, the op follows it: its result and its operands that are still
 * unknown along the axis get the layout the factor implies (a reduction
 * factor makes the result a partial sum or max). If they name different
 * factors, propagation stops at that op and records the conflict; the
 * lowering will redistribute there. A sum, difference, negation or
 * reduce_sum of partial sums read by it alone is a partial sum
 * (passes_partial). Sweeps run forward and backward until
 * nothing changes. A value decided along an axis is never changed again, so
 * later tactics never undo earlier ones.
 *
 * Shifts (shard_rules.h: a pad and a slice that together move one dim) act
 * as one element-wise op from the first op's operand to the second op's
 * result; the intermediate is left out along an axis that shards the moved
 * dim. Where a shift's or scan's sharded dim cannot be computed in blocks
 * (a halo larger than a device's block, a dim the axis does not divide, a
 * reshape splitting a sequence into windows the axis does not divide
 * before a shift over them), the conflict is fatal: the tactic fails with
 * a located error rather than gathering the whole sequence.
 *
 * Requires: verified IR with a mesh. Provides: shardings along the axis,
 * each with its origin. Breaks nothing. */
#include <string.h>

#include "propagate.h"
#include "shard_rules.h"
#include "sharding.h"

static void add_conflict(pt_prop_report *rep, const pt_op *op, int axis, int tactic, bool fatal,
                         const char *why) {
  if (!rep)
    return;
  for (int i = 0; i < rep->nconflicts; i++)
    if (rep->conflicts[i].op == op && rep->conflicts[i].axis == axis)
      return;
  PT_GROW(rep->conflicts, rep->capconflicts, (size_t)rep->nconflicts + 1);
  pt_conflict *c = &rep->conflicts[rep->nconflicts++];
  c->op = op;
  c->axis = axis;
  c->tactic = tactic;
  c->fatal = fatal;
  snprintf(c->why, sizeof c->why, "%s", why);
}

/* The factor a value sharded on `dim` names through operand i (-2 for the
 * result), or -1. */
static int factor_of(const pt_shard_rule *r, int which, int dim) {
  return which < 0 ? r->result[dim] : pt_rule_operand_factor(r, which, dim);
}

/* Whether factor f can shard value v (unknown along the axis) on dim d. */
static bool fits(const pt_value *v, int d, int64_t size) {
  return pt_sharding_local_dim(v, d) % size == 0;
}

/* What one propagation run knows of f beyond the op rules. */
typedef struct {
  const pt_mesh *mesh;
  pt_prop_report *rep;
  pt_shift *shifts; /* by result id */
  uint32_t *feeds;  /* by value id: dims a shift moves (bits 0-15) or a scan
                       runs along (bits 16-31) of the value they read */
  int *uses;        /* by value id: operand slots reading it, plus one if returned */
} prop_ctx;

static bool sharded_on(const pt_value *v, int axis, int dim) {
  pt_axis_state s = pt_sharding_axis(v, axis);
  return s.kind == PT_SH_SHARDED && s.dim == dim;
}

/* Whether the conflict at op, about dimension `dim` of one of its values
 * (the result if `result`), is one the tactic cannot be allowed. */
static bool fatal_at(const prop_ctx *c, const pt_op *op, bool result, int dim) {
  if (op->code == PT_OP_SCAN)
    return dim == pt_op_int(op, PT_A_DIM, 0);
  const pt_shift *sh = &c->shifts[op->result->id];
  if (sh->role == PT_SHIFT_OUTER)
    return dim == sh->dim;
  /* a sequence split into windows a shift then moves over */
  uint32_t f = c->feeds[op->result->id];
  return op->code == PT_OP_RESHAPE && result && (((f >> dim) | (f >> (16 + dim))) & 1);
}

/* A linear op (shard_rules.h, pt_op_passes_partial_sum) whose operands
 * are all partial sums along the axis, each read by this op alone, makes
 * its result one: the sums are then resolved once, after it. (An operand
 * read elsewhere too is resolved for that reader anyway: resolving the
 * result as well would add a collective.) True if that changed the
 * result. */
static bool passes_partial(pt_op *op, int axis, int tactic, const prop_ctx *c) {
  if (!pt_op_passes_partial_sum(op) || op->noperands == 0 ||
      pt_sharding_axis(op->result, axis).kind != PT_SH_UNKNOWN)
    return false;
  for (int i = 0; i < op->noperands; i++)
    if (pt_sharding_axis(op->operands[i], axis).kind != PT_SH_PARTIAL_SUM ||
        c->uses[op->operands[i]->id] != 1)
      return false;
  pt_sharding_set(op->result, axis, PT_SH_PARTIAL_SUM, -1, tactic, op);
  return true;
}

static bool try_op(pt_op *op, int axis, int tactic, const prop_ctx *c) {
  const pt_mesh *mesh = c->mesh;
  pt_prop_report *rep = c->rep;
  if (pt_optab[op->code].flags & PT_OPF_COLLECTIVE)
    return false;
  const pt_shift *sh = &c->shifts[op->result->id];
  if (sh->role == PT_SHIFT_NONE && passes_partial(op, axis, tactic, c))
    return true;
  /* Only sharded values (and a partial result) carry a layout, and only a
   * value still unknown can take one: most ops of most sweeps have neither,
   * and need no rule (without a report, conflicts need not be found). A
   * shift's ops read through the pair, so they take the whole way. */
  if (sh->role == PT_SHIFT_NONE) {
    bool carries = false, open = false;
    for (int i = -1; i < op->noperands && !(carries && open); i++) {
      pt_axis_state s = pt_sharding_axis(i < 0 ? op->result : op->operands[i], axis);
      open |= s.kind == PT_SH_UNKNOWN;
      carries |= s.kind == PT_SH_SHARDED ||
                 (i < 0 && (s.kind == PT_SH_PARTIAL_SUM || s.kind == PT_SH_PARTIAL_MAX));
    }
    if (!carries || (!open && !rep))
      return false;
  }
  pt_shard_rule r;
  pt_value *const *operands;
  pt_value *source;
  /* along an axis that shards the moved dim, a shift's outer op reads the
   * source itself: the intermediate is never built */
  if (sh->role == PT_SHIFT_INNER &&
      (sharded_on(op->operands[0], axis, sh->dim) || sharded_on(sh->pair->result, axis, sh->dim)))
    return false;
  int noperands = pt_rule_view(op, sh, &r, &operands, &source);
  int vote = -1;
  bool conflict = false;
  char why[200] = "";
  bool any_unknown = pt_sharding_axis(op->result, axis).kind == PT_SH_UNKNOWN;
  for (int i = -1; i < noperands; i++) {
    const pt_value *v = i < 0 ? op->result : operands[i];
    pt_axis_state s = pt_sharding_axis(v, axis);
    int f = -1;
    if (s.kind == PT_SH_UNKNOWN) {
      any_unknown = true;
      continue;
    }
    if (s.kind == PT_SH_SHARDED) {
      f = factor_of(&r, i < 0 ? -2 : i, s.dim);
      if (f < 0 || r.kind[f] == PT_FACTOR_REPLICATE) {
        conflict = true;
        snprintf(why, sizeof why, "%s %d is sharded on dimension %d, which '%s' needs whole",
                 i < 0 ? "its result" : "operand", i + 1, s.dim, pt_op_name(op->code));
        continue;
      }
    } else if (i < 0 && (s.kind == PT_SH_PARTIAL_SUM || s.kind == PT_SH_PARTIAL_MAX)) {
      /* a partial result names the op's reduction factor, if it has one */
      pt_factor_kind want =
          s.kind == PT_SH_PARTIAL_SUM ? PT_FACTOR_REDUCE_SUM : PT_FACTOR_REDUCE_MAX;
      int n = 0;
      for (int k = 0; k < r.nfactors; k++)
        if (r.kind[k] == want) {
          f = k;
          n++;
        }
      if (n != 1)
        continue; /* several: the operands decide */
    } else {
      continue; /* replicated or partial operands do not vote */
    }
    if (vote >= 0 && vote != f) {
      conflict = true;
      snprintf(why, sizeof why, "its operands and result ask for different dimensions");
    }
    if (vote < 0)
      vote = f;
  }
  if (conflict || vote < 0) {
    if (conflict)
      add_conflict(rep, op, axis, tactic, false, why);
    return false;
  }
  /* a shift needs its halo from one neighbour: each block must hold it */
  if (sh->role == PT_SHIFT_OUTER && r.result[sh->dim] == vote) {
    int64_t halo = sh->offset < 0 ? -sh->offset : sh->offset;
    for (int i = -1; i < noperands; i++) {
      const pt_value *v = i < 0 ? op->result : operands[i];
      int64_t local = pt_sharding_local_dim(v, sh->dim);
      if (pt_sharding_axis(v, axis).kind == PT_SH_UNKNOWN)
        local /= mesh->sizes[axis];
      if (local < halo) {
        snprintf(why, sizeof why,
                 "it shifts dimension %d by %lld elements, more than the %lld "
                 "each device holds when split over '%s' (%lld devices)",
                 sh->dim, (long long)halo, (long long)local, mesh->names[axis],
                 (long long)mesh->sizes[axis]);
        add_conflict(rep, op, axis, tactic, true, why);
        return false;
      }
    }
  }
  if (!any_unknown)
    return false;
  int64_t size = mesh->sizes[axis];
  /* the factor must divide every unknown value it would shard, or the op
   * could not compute in blocks: then propagation stops here */
  for (int i = -1; i < noperands; i++) {
    const pt_value *v = i < 0 ? op->result : operands[i];
    if (pt_sharding_axis(v, axis).kind != PT_SH_UNKNOWN)
      continue;
    for (int d = 0; d < v->type.rank; d++)
      if (factor_of(&r, i < 0 ? -2 : i, d) == vote && !fits(v, d, size)) {
        bool fatal = fatal_at(c, op, i < 0, d);
        bool scan = (c->feeds[v->id] >> (16 + d)) & 1;
        if (fatal && op->code == PT_OP_RESHAPE)
          snprintf(why, sizeof why,
                   "it splits the sharded sequence into %lld %s that '%s' (%lld devices) "
                   "cannot share out whole, and a later %s",
                   (long long)pt_sharding_local_dim(v, d), scan ? "steps" : "windows",
                   mesh->names[axis], (long long)size,
                   scan ? "'scan' runs along them"
                        : "shift moves along them (a window must "
                          "divide each device's part of the sequence)");
        else
          snprintf(why, sizeof why,
                   "dimension %d of %s (%lld per device) cannot be split over '%s' (%lld devices)",
                   d, i < 0 ? "its result" : "an operand", (long long)pt_sharding_local_dim(v, d),
                   mesh->names[axis], (long long)size);
        add_conflict(rep, op, axis, tactic, fatal, why);
        return false;
      }
  }
  bool changed = false;
  /* the result */
  if (pt_sharding_axis(op->result, axis).kind == PT_SH_UNKNOWN) {
    pt_factor_kind k = (pt_factor_kind)r.kind[vote];
    if (k == PT_FACTOR_REDUCE_SUM || k == PT_FACTOR_REDUCE_MAX) {
      pt_sharding_set(op->result, axis,
                      k == PT_FACTOR_REDUCE_SUM ? PT_SH_PARTIAL_SUM : PT_SH_PARTIAL_MAX, -1, tactic,
                      op);
      changed = true;
    } else {
      for (int d = 0; d < op->result->type.rank; d++)
        if (r.result[d] == vote && fits(op->result, d, size)) {
          pt_sharding_set(op->result, axis, PT_SH_SHARDED, d, tactic, op);
          changed = true;
        }
    }
  }
  /* operands still unknown that carry the factor */
  for (int i = 0; i < noperands; i++) {
    pt_value *v = operands[i];
    if (pt_sharding_axis(v, axis).kind != PT_SH_UNKNOWN)
      continue;
    for (int d = 0; d < v->type.rank; d++)
      if (pt_rule_operand_factor(&r, i, d) == vote && fits(v, d, size)) {
        pt_sharding_set(v, axis, PT_SH_SHARDED, d, tactic, op);
        changed = true;
        break;
      }
  }
  return changed;
}

pt_status pt_propagate_axis(pt_func *f, int axis, int tactic, pt_prop_report *rep) {
  const pt_mesh *mesh = &f->module->mesh;
  PT_ASSERT(axis >= 0 && axis < mesh->naxes);
  prop_ctx c = {mesh, rep, pt_shifts_find(f), pt_calloc((size_t)f->nvalues + 1, sizeof(uint32_t)),
                pt_calloc((size_t)f->nvalues + 1, sizeof(int))};
  for (int i = 0; i < f->nresults; i++)
    c.uses[f->results[i].value->id]++;
  for (int i = 0; i < f->nops; i++)
    for (int k = 0; k < f->ops[i]->noperands; k++)
      c.uses[f->ops[i]->operands[k]->id]++;
  for (int i = 0; i < f->nops; i++) {
    const pt_shift *sh = &c.shifts[f->ops[i]->result->id];
    if (sh->role == PT_SHIFT_INNER)
      c.feeds[f->ops[i]->operands[0]->id] |= 1u << sh->dim;
    if (f->ops[i]->code == PT_OP_SCAN)
      for (int k = 0; k < 2; k++)
        c.feeds[f->ops[i]->operands[k]->id] |= 1u << (16 + pt_op_int(f->ops[i], PT_A_DIM, 0));
  }
  bool changed = true;
  int sweeps = 0;
  while (changed) {
    changed = false;
    for (int i = 0; i < f->nops; i++)
      changed |= try_op(f->ops[i], axis, tactic, &c);
    for (int i = f->nops - 1; i >= 0; i--)
      changed |= try_op(f->ops[i], axis, tactic, &c);
    sweeps++;
  }
  pt_free(c.shifts);
  pt_free(c.feeds);
  pt_free(c.uses);
  if (rep)
    rep->sweeps += sweeps;
  return PT_OK;
}

void pt_propagate_finish(pt_func *f) {
  const pt_mesh *mesh = &f->module->mesh;
  for (int i = 0; i < f->nargs + f->nops; i++) {
    pt_value *v = i < f->nargs ? f->args[i] : f->ops[i - f->nargs]->result;
    for (int a = 0; a < mesh->naxes; a++)
      if (pt_sharding_axis(v, a).kind == PT_SH_UNKNOWN)
        pt_sharding_set(v, a, PT_SH_REPLICATED, -1, -1, NULL);
  }
}

void pt_prop_report_free(pt_prop_report *rep) {
  pt_free(rep->conflicts);
  memset(rep, 0, sizeof *rep);
}
