/* SPMD lowering: from a sharded function (every value's sharding decided
 * along every axis, see passes/propagate.c) to the program each device
 * runs: per-device shapes and explicit collectives.
 *
 * For each op the factor of each mesh axis is read off its result's
 * sharding (through the op's rule, shard_rules.h): a result sharded on a
 * dim names that dim's factor, a partial result names the reduction factor
 * its operands are sharded on, a replicated result names none. That fixes
 * the layout the op needs of each operand; where an operand's own layout
 * differs (a conflict, a partial sum, a tactic's boundary), a
 * redistribution (passes/redistribute.c) is inserted, with a comment naming
 * the op and the tactic that caused it. The function's results are
 * resolved out of partial sums by all_reduce.
 *
 * Sequence parallelism: a shift (shard_rules.h) whose moved dim is sharded
 * becomes a collective_permute of its halo from the neighbouring block
 * (the device at the sequence's edge gets the pad value) and local
 * slice/concat work; its intermediate is never built. A scan whose time
 * dim is sharded becomes the distributed scan: a local scan and a local
 * running product of a, one all_gather of each device's (product, last
 * state) summary, a scan over those summaries (the prefix combine, in axis
 * order, reversed for a reverse scan), an axis_slice of this device's
 * incoming carry c, and h += P * c.
 *
 * Sharded updates (try_sharded_update): a dot's partial sum that feeds only
 * element-wise ops ending in results (data parallelism's gradients and SGD
 * updates) may be computed split along the axis and gathered at the end,
 * where that sends fewer bytes than the all_reduce.
 *
 * Requires: verified IR, every value of f with a complete sharding, a mesh.
 * Provides: a new function of local ops and collectives (it verifies; the
 * global layout of each argument and result is written in its comment).
 * Breaks nothing: the shardings a sharded update overrides while lowering
 * are f's own again when it returns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "lower.h"
#include "redistribute.h"
#include "shard_rules.h"
#include "sharding.h"
#include "strmap.h"

/* The sharded updates' bookkeeping (see try_sharded_update). */
typedef struct updates {
  int *start, *user;   /* CSR: the ops using value id v are user[start[v] .. start[v+1]) */
  bool *returned;      /* by value id */
  pt_sharding **saved; /* by value id: the sharding an override replaced */
  bool *in;            /* by value id: in the chain being priced (all false between dots) */
  bool *split;         /* by value id: a split dot's result (try_split_dot) */
} updates;

/* plan_bytes' answers, by type and layouts (open addressing; the lowering
 * asks the same questions for every layer). */
typedef struct {
  pt_type t;
  pt_layout from, to;
} price_key;

typedef struct {
  price_key *keys;
  int64_t *bytes;
  bool *used;
  int cap, n;
} price_cache;

typedef struct {
  pt_func *g;
  const pt_mesh *mesh;
  const pt_lower_opts *o;
  pt_value **map;  /* f value id -> g value in the value's own layout */
  pt_strmap cache; /* "id|layout" -> g value in that layout */
  char **keys;
  int nkeys, capkeys;
  pt_lower_stats *stats;
  pt_shift *shifts;   /* by result id of f */
  const updates *upd; /* the sharded updates chosen (try_sharded_update) */
  price_cache *prices;
} lowerer;

static const char *tactic_name(const lowerer *L, int t, char *buf, size_t n) {
  if (t < 0)
    return "the program text";
  if (L->o && L->o->tactic_names && t < L->o->ntactics)
    return L->o->tactic_names[t];
  snprintf(buf, n, "tactic %d", t + 1);
  return buf;
}

/* Emits plan's collectives from x (pt_plan_emit) and counts them in the
 * statistics, charged to `tactic`. */
static pt_value *emit_plan(lowerer *L, const pt_plan *plan, pt_loc loc, pt_value *x,
                           const char *why, int tactic) {
  int before = L->g->nops;
  pt_value *r = pt_plan_emit(L->g, loc, L->mesh, plan, x, why);
  if (L->stats) {
    int m = 0;
    for (int i = before; i < L->g->nops; i++) {
      const pt_op *op = L->g->ops[i];
      int k = op->code - PT_OP_ALL_GATHER;
      if (k < 0 || k >= 6)
        continue;
      L->stats->count[k]++;
      pt_lower_stats *st = L->stats;
      PT_GROW(st->records, st->caprecords, (size_t)st->nrecords + 1);
      st->records[st->nrecords++] =
          (pt_lower_record){op, tactic, m < plan->nmoves ? plan->moves[m].bytes_sent : 0};
      m++;
    }
    L->stats->bytes = pt_add_sat(L->stats->bytes, plan->bytes_sent);
  }
  return r;
}

/* The value of f's v in layout `want`, redistributing if needed. */
static pt_value *in_layout(lowerer *L, const pt_value *v, const pt_layout *want,
                           const pt_op *consumer, const char *role) {
  pt_layout have = pt_layout_of(v);
  pt_value *x = L->map[v->id];
  if (pt_layout_equal(&have, want))
    return x;
  char lb[256], key[320];
  pt_layout_str(L->mesh, want, lb, sizeof lb);
  snprintf(key, sizeof key, "%d|%s", v->id, lb);
  pt_value *hit = pt_strmap_get(&L->cache, key, strlen(key));
  if (hit)
    return hit;
  pt_plan plan;
  pt_plan_redistribution(L->mesh, &v->type, &have, want, &plan);
  /* who asked: the tactic that decided the first axis the plan moves */
  int axis = plan.nmoves ? plan.moves[0].axis : -1;
  if (axis < 0)
    for (int a = 0; a < L->mesh->naxes; a++)
      if (plan.nmoves && (plan.moves[0].axes >> a) & 1) {
        axis = a;
        break;
      }
  /* undoing a layout (gather, all-to-all, permute) is charged to the tactic
   * that made it; establishing one (slice, reduce_scatter, all_reduce) to
   * the tactic that asked for it */
  int tactic = -1;
  if (axis >= 0) {
    pt_move_kind k = plan.moves[0].kind;
    bool undo = k == PT_MOVE_GATHER || k == PT_MOVE_ALL_TO_ALL || k == PT_MOVE_PERMUTE;
    int from_operand = pt_sharding_axis(v, axis).tactic;
    int from_consumer = consumer ? pt_sharding_axis(consumer->result, axis).tactic : -1;
    tactic = undo ? from_operand : from_consumer;
    if (tactic < 0)
      tactic = undo ? from_consumer : from_operand;
  }
  char why[1024], tb[32], hb[256];
  char vn[300];
  if (v->name)
    snprintf(vn, sizeof vn, "%%%s", v->name);
  else
    snprintf(vn, sizeof vn, "a %s result", v->def ? pt_op_name(v->def->code) : "value");
  if (consumer)
    snprintf(why, sizeof why, "// %s %s %s -> %s for '%s' at %s:%d:%d (%s)", role, vn,
             pt_layout_str(L->mesh, &have, hb, sizeof hb), lb, pt_op_name(consumer->code),
             consumer->loc.file ? consumer->loc.file : "?", consumer->loc.line, consumer->loc.col,
             tactic_name(L, tactic, tb, sizeof tb));
  else
    snprintf(why, sizeof why, "// %s %s %s -> %s (%s)", role, vn,
             pt_layout_str(L->mesh, &have, hb, sizeof hb), lb,
             tactic_name(L, tactic, tb, sizeof tb));
  pt_value *r = emit_plan(L, &plan, consumer ? consumer->loc : v->loc, x, why, tactic);
  pt_plan_free(&plan);
  PT_GROW(L->keys, L->capkeys, (size_t)L->nkeys + 1);
  L->keys[L->nkeys] = pt_strdup(key);
  pt_strmap_put(&L->cache, L->keys[L->nkeys++], r);
  return r;
}

/* The factor of each mesh axis for op, and the axes of each factor in
 * major-to-minor order. */
typedef struct {
  int factor[PT_MAX_AXES];
  int8_t fax[PT_MAX_FACTORS][PT_MAX_AXES];
  int nfax[PT_MAX_FACTORS];
  uint32_t pass; /* axes along which the op runs on its operands' partial
                    sums and leaves one (pt_op_passes_partial_sum) */
} assignment;

/* Whether op's result along axis a is the partial sum of its operands'
 * (passes/propagate.c passes_partial). */
static bool passes_partial(const pt_op *op, int a) {
  if (!pt_op_passes_partial_sum(op) || op->noperands == 0 ||
      pt_sharding_axis(op->result, a).kind != PT_SH_PARTIAL_SUM)
    return false;
  for (int i = 0; i < op->noperands; i++)
    if (pt_sharding_axis(op->operands[i], a).kind != PT_SH_PARTIAL_SUM)
      return false;
  return true;
}

static void order_axes(const pt_value *v, int dim, const uint32_t set, int8_t *out, int *n) {
  *n = 0;
  const pt_sharding *s = v->sharding;
  for (int k = 0; s && k < s->norder[dim]; k++)
    if ((set >> s->order[dim][k]) & 1)
      out[(*n)++] = s->order[dim][k];
}

static void assign(const pt_op *op, const pt_shard_rule *r, const pt_mesh *mesh, assignment *as) {
  memset(as, 0, sizeof *as);
  uint32_t set[PT_MAX_FACTORS] = {0};
  for (int a = 0; a < mesh->naxes; a++) {
    pt_axis_state s = pt_sharding_axis(op->result, a);
    int f = -1;
    if (s.kind == PT_SH_SHARDED) {
      f = r->result[s.dim];
    } else if (passes_partial(op, a)) {
      as->pass |= 1u << a;
    } else if (s.kind == PT_SH_PARTIAL_SUM || s.kind == PT_SH_PARTIAL_MAX) {
      pt_factor_kind want =
          s.kind == PT_SH_PARTIAL_SUM ? PT_FACTOR_REDUCE_SUM : PT_FACTOR_REDUCE_MAX;
      for (int i = 0; i < op->noperands && f < 0; i++) {
        pt_axis_state o = pt_sharding_axis(op->operands[i], a);
        if (o.kind == PT_SH_SHARDED) {
          int g = pt_rule_operand_factor(r, i, o.dim);
          if (g >= 0 && r->kind[g] == want)
            f = g;
        }
      }
      for (int k = 0; k < r->nfactors && f < 0; k++)
        if (r->kind[k] == want)
          f = k;
    }
    as->factor[a] = f;
    if (f >= 0)
      set[f] |= 1u << a;
  }
  for (int f = 0; f < r->nfactors; f++) {
    if (!set[f])
      continue;
    /* the order the result lists them in, else an operand's, else mesh order */
    int n = 0;
    for (int d = 0; d < op->result->type.rank && !n; d++)
      if (r->result[d] == f)
        order_axes(op->result, d, set[f], as->fax[f], &n);
    for (int i = 0; i < op->noperands && n != __builtin_popcount(set[f]); i++)
      for (int d = 0; d < op->operands[i]->type.rank; d++)
        if (pt_rule_operand_factor(r, i, d) == f) {
          order_axes(op->operands[i], d, set[f], as->fax[f], &n);
          break;
        }
    if (n != __builtin_popcount(set[f])) {
      n = 0;
      for (int a = 0; a < mesh->naxes; a++)
        if ((set[f] >> a) & 1)
          as->fax[f][n++] = (int8_t)a;
    }
    as->nfax[f] = n;
  }
}

static pt_layout operand_layout(const pt_op *op, const pt_shard_rule *r, const assignment *as,
                                int i) {
  pt_layout l;
  memset(&l, 0, sizeof l);
  l.rank = op->operands[i]->type.rank;
  for (int d = 0; d < l.rank; d++) {
    int f = pt_rule_operand_factor(r, i, d);
    if (f < 0)
      continue;
    l.naxes[d] = (uint8_t)as->nfax[f];
    memcpy(l.axes[d], as->fax[f], (size_t)as->nfax[f]);
  }
  l.partial_sum = as->pass;
  return l;
}

/* The same op on local operands with a local result type. */
static pt_value *local_op(lowerer *L, const pt_op *op, pt_value *const *x, pt_type t) {
  pt_op *n = pt_op_create(L->g, op->code, x, op->noperands, op->loc);
  for (int i = 0; i < op->nattrs; i++)
    pt_op_set_attr(n, op->attrs[i].key, &op->attrs[i].val, op->attrs[i].loc);
  n->comment = op->comment ? pt_arena_strdup(L->g->module->arena, op->comment) : NULL;
  if (op->code == PT_OP_SLICE) {
    /* a whole-dimension slice covers the local block */
    int64_t lim[PT_MAX_RANK];
    int r = pt_op_ints(op, PT_A_LIMIT, lim, PT_MAX_RANK);
    for (int d = 0; d < r; d++)
      if (lim[d] == op->operands[0]->type.dims[d])
        lim[d] = x[0]->type.dims[d];
    pt_op_set_ints(n, PT_A_LIMIT, lim, r);
  }
  pt_diag *d = pt_diag_create(NULL);
  pt_value *v = pt_op_finish(n, op->result->name, &t, d);
  pt_type chk;
  if (pt_op_infer(n, &t, &chk, d) != PT_OK || !pt_type_equal(&chk, &t)) {
    fprintf(stderr, "partita: lowering built an invalid local '%s' at %s:%d:%d: %s\n",
            pt_op_name(op->code), op->loc.file ? op->loc.file : "?", op->loc.line, op->loc.col,
            pt_diag_count(d) ? pt_diag_text(d, 0) : "type differs");
    PT_UNREACHABLE();
  }
  pt_diag_destroy(d);
  return v;
}

/* This device's block of 0..extent-1 (of dtype dt) along the axes that
 * split it, major to minor: a global iota sliced over each axis. */
static pt_value *block_ids(lowerer *L, const pt_op *op, int64_t extent, pt_dtype dt,
                           const int8_t *axes, int naxes) {
  pt_builder b = {L->g, op->loc};
  pt_value *ids = pt_b_iota(&b, 0, pt_type_make(dt, 1, &extent));
  for (int k = 0; k < naxes; k++) {
    pt_op *s = pt_op_create(L->g, PT_OP_AXIS_SLICE, &ids, 1, op->loc);
    pt_op_set_int(s, PT_A_DIM, 0);
    const char *name = L->mesh->names[axes[k]];
    pt_op_set_idents(s, PT_A_AXES, &name, 1);
    pt_diag *d = pt_diag_create(NULL);
    ids = pt_op_finish(s, NULL, NULL, d);
    PT_ASSERT(ids);
    pt_diag_destroy(d);
  }
  return ids;
}

/* Indices shifted into this device's block of `rows` rows (split over
 * `axes` into blocks of `local_rows`): *safe holds the shifted index where
 * it falls inside the block and 0 elsewhere, *inside says which. */
static void shift_into_block(lowerer *L, const pt_op *op, pt_value *idx, int64_t rows,
                             int64_t local_rows, const int8_t *axes, int naxes, pt_value **safe,
                             pt_value **inside) {
  pt_builder b = {L->g, op->loc};
  pt_value *ids = block_ids(L, op, rows, PT_I32, axes, naxes);
  int64_t zero = 0, one = 1;
  pt_value *first =
      pt_b_reshape(&b, pt_b_slice(&b, ids, &zero, &one, NULL), pt_type_scalar(PT_I32));
  int64_t none[1];
  pt_value *first_b = pt_b_broadcast(&b, first, none, idx->type);
  pt_value *shifted = pt_b_binary(&b, PT_OP_SUB, idx, first_b);
  pt_value *zero_i = pt_b_splat_like(&b, 0, idx);
  pt_value *ge = pt_b_compare(&b, PT_CMP_GE, shifted, zero_i);
  pt_value *lt = pt_b_compare(&b, PT_CMP_LT, shifted, pt_b_splat_like(&b, (double)local_rows, idx));
  pt_type pt = idx->type;
  pt.dtype = PT_PRED;
  *inside = pt_b_select(&b, ge, lt, pt_b_splat(&b, 0, pt));
  *safe = pt_b_select(&b, *inside, shifted, zero_i);
}

/* `inside` (of the indices' shape) broadcast over the trailing dims of t. */
static pt_value *index_mask(pt_builder *b, pt_value *inside, pt_type t) {
  int64_t dims[PT_MAX_RANK];
  for (int d = 0; d < inside->type.rank; d++)
    dims[d] = d;
  t.dtype = PT_PRED;
  return pt_b_broadcast(b, inside, dims, t);
}

static pt_value *named_as(lowerer *L, const pt_op *op, pt_value *v) {
  if (op->result->name)
    v->name = pt_arena_strdup(L->g->module->arena, op->result->name);
  return v;
}

/* take with the table's rows split over `axes`: each device looks up only
 * the rows it holds (indices shifted to its block, the others masked to 0),
 * which leaves a partial sum over those axes. */
static pt_value *masked_take(lowerer *L, const pt_op *op, pt_value *table, pt_value *idx,
                             const int8_t *axes, int naxes, pt_type t) {
  pt_builder b = {L->g, op->loc};
  pt_value *safe, *inside;
  shift_into_block(L, op, idx, op->operands[0]->type.dims[0], table->type.dims[0], axes, naxes,
                   &safe, &inside);
  pt_value *got = pt_b_take(&b, table, safe);
  pt_value *out = pt_b_select(&b, index_mask(&b, inside, t), got, pt_b_splat(&b, 0, t));
  return named_as(L, op, out);
}

/* scatter_add with the result's rows split over `axes`: each device adds
 * only the updates whose indices fall in its block (shifted into it; the
 * others zeroed and sent to row 0), so no communication is needed. */
static pt_value *masked_scatter_add(lowerer *L, const pt_op *op, pt_value *idx, pt_value *upd,
                                    const int8_t *axes, int naxes, pt_type t) {
  pt_builder b = {L->g, op->loc};
  pt_value *safe, *inside;
  shift_into_block(L, op, idx, op->result->type.dims[0], t.dims[0], axes, naxes, &safe, &inside);
  pt_value *kept =
      pt_b_select(&b, index_mask(&b, inside, upd->type), upd, pt_b_splat(&b, 0, upd->type));
  return named_as(L, op, pt_b_scatter_add(&b, safe, kept, t));
}

/* iota split along its counting dim over `axes`: this device's block of
 * the count, broadcast over the other (local) dims. */
static pt_value *block_iota(lowerer *L, const pt_op *op, const int8_t *axes, int naxes, pt_type t) {
  pt_builder b = {L->g, op->loc};
  int64_t dim = pt_op_int(op, PT_A_DIM, 0);
  pt_value *ids = block_ids(L, op, op->result->type.dims[dim], t.dtype, axes, naxes);
  return named_as(L, op, pt_b_broadcast(&b, ids, &dim, t));
}

/* Whether the axes given to factor f divide every dimension it maps. */
static bool factor_fits(const lowerer *L, const pt_op *op, const pt_shard_rule *r,
                        const assignment *as, int f) {
  int64_t blocks = 1;
  for (int k = 0; k < as->nfax[f]; k++)
    blocks *= L->mesh->sizes[as->fax[f][k]];
  for (int d = 0; d < op->result->type.rank; d++)
    if (r->result[d] == f && op->result->type.dims[d] % blocks)
      return false;
  for (int i = 0; i < op->noperands; i++)
    for (int d = 0; d < op->operands[i]->type.rank; d++)
      if (pt_rule_operand_factor(r, i, d) == f && op->operands[i]->type.dims[d] % blocks)
        return false;
  return true;
}

/* ---- sequence parallelism: shifts and the distributed scan ------------ */

/* Records a collective the lowering built itself (not from a plan). */
static void record(lowerer *L, const pt_op *op, int tactic, int64_t bytes) {
  pt_lower_stats *st = L->stats;
  if (!st)
    return;
  int k = op->code - PT_OP_ALL_GATHER;
  PT_ASSERT(k >= 0 && k < 6);
  st->count[k]++;
  PT_GROW(st->records, st->caprecords, (size_t)st->nrecords + 1);
  st->records[st->nrecords++] = (pt_lower_record){op, tactic, bytes};
  st->bytes += bytes;
}

/* The mesh axes a layout splits dim d over, by name, and their device count. */
static int64_t dim_axes(const lowerer *L, const pt_layout *l, int d, const char **names) {
  int64_t g = 1;
  for (int k = 0; k < l->naxes[d]; k++) {
    names[k] = L->mesh->names[l->axes[d][k]];
    g *= L->mesh->sizes[l->axes[d][k]];
  }
  return g;
}

/* A collective over `axes` (positions in their listed order) on v. */
static pt_op *collective(lowerer *L, pt_loc loc, pt_opcode code, pt_value *v,
                         const char *const *axes, int naxes, const char *why) {
  pt_op *c = pt_op_create(L->g, code, &v, 1, loc);
  pt_op_set_idents(c, PT_A_AXES, axes, naxes);
  c->comment = pt_arena_strdup(L->g->module->arena, why);
  return c;
}

static pt_value *finish_collective(pt_op *c) {
  pt_diag *d = pt_diag_create(NULL);
  pt_value *r = pt_op_finish(c, NULL, NULL, d);
  if (!r) {
    fprintf(stderr, "partita: lowering built an invalid '%s': %s\n", pt_op_name(c->code),
            pt_diag_count(d) ? pt_diag_text(d, 0) : "?");
    PT_UNREACHABLE();
  }
  pt_diag_destroy(d);
  return r;
}

/* x's elements [lo, hi) along dim d. */
static pt_value *range(pt_builder *b, pt_value *x, int d, int64_t lo, int64_t hi, int64_t stride) {
  int64_t st[PT_MAX_RANK] = {0}, lim[PT_MAX_RANK], str[PT_MAX_RANK];
  for (int i = 0; i < x->type.rank; i++) {
    lim[i] = x->type.dims[i];
    str[i] = 1;
  }
  st[d] = lo;
  lim[d] = hi;
  str[d] = stride;
  return pt_b_slice(b, x, st, lim, str);
}

/* x padded along dim d with lo and hi zeros. */
static pt_value *zero_pad(pt_builder *b, pt_value *x, int d, int64_t lo, int64_t hi) {
  int64_t l[PT_MAX_RANK] = {0}, h[PT_MAX_RANK] = {0};
  l[d] = lo;
  h[d] = hi;
  return pt_b_pad(b, x, pt_b_splat(b, 0, pt_type_scalar(x->type.dtype)), l, h, NULL);
}

/* The tactic that sharded dim d of v along its first axis there. */
static int dim_tactic(const pt_value *v, const pt_layout *l, int d) {
  return l->naxes[d] ? pt_sharding_axis(v, l->axes[d][0]).tactic : -1;
}

static bool is_zero_constant(const pt_value *v) {
  if (!v->def || v->def->code != PT_OP_CONSTANT)
    return false;
  const pt_aval *a = &pt_op_attr(v->def, PT_A_VALUE)->val;
  return (a->kind == PT_AV_FLOAT && a->f == 0) || (a->kind == PT_AV_INT && a->i == 0);
}

/* Whether the shift whose outer op is `outer` moves a sharded dim. */
static bool shift_sharded(const lowerer *L, const pt_op *outer) {
  const pt_shift *sh = &L->shifts[outer->result->id];
  pt_layout l = pt_layout_of(outer->result);
  return sh->role == PT_SHIFT_OUTER && l.naxes[sh->dim] > 0;
}

/* A shift along a sharded dim: this device's block of out[t] = x[t + off]
 * is the rest of its own block next to |off| elements of a neighbour's,
 * received by one collective_permute along the dim's axes. */
static pt_value *lower_shift(lowerer *L, const pt_op *op, const pt_shift *sh) {
  const pt_op *pad = op->code == PT_OP_PAD ? op : sh->pair;
  pt_layout want = pt_layout_of(op->result), scalar;
  PT_ASSERT(!want.partial_sum && !want.partial_max);
  memset(&scalar, 0, sizeof scalar);
  pt_value *x = in_layout(L, pt_shift_source(sh), &want, op, "reshard");
  pt_value *pv = in_layout(L, pad->operands[1], &scalar, op, "reshard");
  pt_builder b = {L->g, op->loc};
  int d = sh->dim;
  const char *axes[PT_MAX_AXES];
  int64_t g = dim_axes(L, &want, d, axes), n = x->type.dims[d];
  int64_t k = sh->offset < 0 ? -sh->offset : sh->offset;
  PT_ASSERT(k <= n); /* propagation rejects a halo larger than a block */
  pt_value *y;
  if (g == 1) {
    /* one block: the pair computes locally as written */
    pt_value *ops[2] = {x, pv};
    pt_type mid = x->type;
    mid.dims[d] = sh->pair->result->type.dims[d];
    pt_value *m = local_op(L, sh->pair, ops, mid);
    ops[0] = m;
    return local_op(L, op, ops, x->type);
  }
  /* the halo: the last k of the block before (off < 0), or the first k of
   * the block after (off > 0) */
  pt_value *halo = sh->offset < 0 ? range(&b, x, d, n - k, n, 1) : range(&b, x, d, 0, k, 1);
  char why[1024], where[512], tb[32];
  int tactic = dim_tactic(op->result, &want, d);
  snprintf(why, sizeof why,
           "// halo of %lld along dimension %d for the shift ('%s' then '%s') "
           "at %s (%s)",
           (long long)k, d, pt_op_name(sh->pair->code), pt_op_name(op->code),
           pt_loc_str(sh->pair->loc, where, sizeof where), tactic_name(L, tactic, tb, sizeof tb));
  pt_op *c = collective(L, op->loc, PT_OP_COLLECTIVE_PERMUTE, halo, axes, want.naxes[d], why);
  pt_aval *pairs = pt_calloc((size_t)g, sizeof *pairs),
          *items = pt_calloc((size_t)g * 2, sizeof *items);
  for (int64_t p = 0; p + 1 < g; p++) {
    int64_t from = sh->offset < 0 ? p : p + 1, to = sh->offset < 0 ? p + 1 : p;
    items[2 * p] = (pt_aval){.kind = PT_AV_INT, .i = from};
    items[2 * p + 1] = (pt_aval){.kind = PT_AV_INT, .i = to};
    pairs[p] = (pt_aval){.kind = PT_AV_LIST, .items = &items[2 * p], .n = 2};
  }
  pt_aval list = {.kind = PT_AV_LIST, .items = pairs, .n = (int)(g - 1)};
  pt_op_set_attr(c, PT_A_PAIRS, &list, op->loc);
  pt_free(items);
  pt_free(pairs);
  pt_value *recv = finish_collective(c);
  record(L, c, tactic, (int64_t)pt_type_bytes(&halo->type));
  if (!is_zero_constant(pad->operands[1])) {
    /* the device at the sequence's edge receives nothing: the pad value */
    pt_value *pos = block_ids(L, op, g, PT_I32, want.axes[d], want.naxes[d]);
    pos = pt_b_reshape(&b, pos, pt_type_scalar(PT_I32));
    pt_value *edge = pt_b_splat(&b, sh->offset < 0 ? 0 : (double)(g - 1), pt_type_scalar(PT_I32));
    pt_value *at = pt_b_compare(&b, PT_CMP_EQ, pos, edge);
    pt_type pt = recv->type;
    pt.dtype = PT_PRED;
    int64_t none[1];
    recv = pt_b_select(&b, pt_b_broadcast(&b, at, none, pt),
                       pt_b_broadcast(&b, pv, none, recv->type), recv);
  }
  if (k == n) {
    y = recv;
  } else if (sh->offset < 0) {
    pt_value *parts[2] = {recv, range(&b, x, d, 0, n - k, 1)};
    y = pt_b_concat(&b, parts, 2, d);
  } else {
    pt_value *parts[2] = {range(&b, x, d, k, n, 1), recv};
    y = pt_b_concat(&b, parts, 2, d);
  }
  return named_as(L, op, y);
}

/* scan along a sharded time dim. Device p's chunk, scanned from a zero
 * state, is off from the true h by P[t] * c, where P is the running
 * product of a over the chunk and c the state entering it; c follows from
 * the chunks before p (after p, reversed) through their summaries (the
 * chunk's whole product of a and last state) by the same recurrence. */
static pt_value *lower_scan(lowerer *L, const pt_op *op) {
  pt_layout want = pt_layout_of(op->result);
  PT_ASSERT(!want.partial_sum && !want.partial_max);
  pt_value *a = in_layout(L, op->operands[0], &want, op, "reshard");
  pt_value *bv = in_layout(L, op->operands[1], &want, op, "reshard");
  pt_builder b = {L->g, op->loc};
  int d = (int)pt_op_int(op, PT_A_DIM, 0);
  bool rev = pt_op_int(op, PT_A_REVERSE, 0) != 0;
  const char *axes[PT_MAX_AXES];
  int64_t g = dim_axes(L, &want, d, axes), n = a->type.dims[d];
  pt_value *h = pt_b_scan(&b, a, bv, d, rev);
  if (g == 1)
    return named_as(L, op, h);
  /* P: the scan of a driven by a at the chunk's first step alone */
  int64_t first = rev ? n - 1 : 0, last = rev ? 0 : n - 1;
  pt_value *drive = a;
  if (n > 1)
    drive = zero_pad(&b, range(&b, a, d, first, first + 1, 1), d, rev ? n - 1 : 0, rev ? 0 : n - 1);
  pt_value *P = pt_b_scan(&b, a, drive, d, rev);
  pt_value *sum[2] = {range(&b, P, d, last, last + 1, 1), range(&b, h, d, last, last + 1, 1)};
  pt_value *mine = pt_b_concat(&b, sum, 2, d);
  char why[1024], where[512], tb[32];
  int tactic = dim_tactic(op->result, &want, d);
  snprintf(why, sizeof why,
           "// carries of the %sscan at %s: each device's (product of a, last "
           "state) (%s)",
           rev ? "reverse " : "", pt_loc_str(op->loc, where, sizeof where),
           tactic_name(L, tactic, tb, sizeof tb));
  pt_op *c = collective(L, op->loc, PT_OP_ALL_GATHER, mine, axes, want.naxes[d], why);
  pt_op_set_int(c, PT_A_DIM, d);
  pt_value *all = finish_collective(c);
  record(L, c, tactic, (g - 1) * (int64_t)pt_type_bytes(&mine->type));
  /* the prefix combine: H[q] = state after chunk q */
  pt_value *H =
      pt_b_scan(&b, range(&b, all, d, 0, 2 * g, 2), range(&b, all, d, 1, 2 * g, 2), d, rev);
  /* the state entering chunk q: H[q-1] (H[q+1] reversed), 0 at the edge */
  pt_value *in = rev ? zero_pad(&b, range(&b, H, d, 1, g, 1), d, 0, 1)
                     : zero_pad(&b, range(&b, H, d, 0, g - 1, 1), d, 1, 0);
  snprintf(why, sizeof why, "// this device's incoming carry of the %sscan at %s",
           rev ? "reverse " : "", where);
  pt_op *s = collective(L, op->loc, PT_OP_AXIS_SLICE, in, axes, want.naxes[d], why);
  pt_op_set_int(s, PT_A_DIM, d);
  pt_value *carry = finish_collective(s);
  record(L, s, tactic, 0);
  int64_t dims[PT_MAX_RANK];
  for (int i = 0; i < h->type.rank; i++)
    dims[i] = i;
  pt_value *fix = pt_b_binary(&b, PT_OP_MUL, P, pt_b_broadcast(&b, carry, dims, h->type));
  return named_as(L, op, pt_b_binary(&b, PT_OP_ADD, h, fix));
}

/* A reduce_sum whose operand is a partial sum along axes its result is
 * replicated on sums the partial sums and resolves its (smaller) result,
 * unless another reader needs the operand resolved as this op would read
 * it (then the operand's resolution is shared) or the sum saves too
 * little. A bias's gradient under sequence parallelism: the stream's
 * gradient is reduce-scattered for the norm and the bias's 1 KiB is
 * all-reduced, instead of all of the stream. Adds the axes to as->pass. */
static void sum_then_resolve(lowerer *L, const pt_op *op, const pt_shard_rule *r, assignment *as) {
  const pt_value *v = op->operands[0];
  const pt_func *f = op->func;
  const updates *u = L->upd;
  uint32_t axes = 0;
  for (int a = 0; a < L->mesh->naxes; a++)
    if (pt_sharding_axis(v, a).kind == PT_SH_PARTIAL_SUM &&
        pt_sharding_axis(op->result, a).kind == PT_SH_REPLICATED && as->factor[a] < 0)
      axes |= 1u << a;
  if (!axes || !f || u->returned[v->id] ||
      pt_type_numel(&op->result->type) * 4 > pt_type_numel(&v->type))
    return;
  pt_layout want = operand_layout(op, r, as, 0);
  for (int k = u->start[v->id]; k < u->start[v->id + 1]; k++) {
    const pt_op *o = f->ops[u->user[k]];
    if (o == op)
      continue;
    pt_shard_rule ro;
    assignment ao;
    pt_shard_rule_of(o, &ro);
    assign(o, &ro, L->mesh, &ao);
    for (int i = 0; i < o->noperands; i++) {
      pt_layout w = operand_layout(o, &ro, &ao, i);
      if (o->operands[i] == v && pt_layout_equal(&w, &want))
        return;
    }
  }
  as->pass |= axes;
}

static void lower_op(lowerer *L, const pt_op *op) {
  const pt_shift *sh = &L->shifts[op->result->id];
  if (sh->role == PT_SHIFT_INNER && shift_sharded(L, sh->pair))
    return; /* the outer op builds the pair from the source */
  if (sh->role == PT_SHIFT_OUTER && shift_sharded(L, op)) {
    L->map[op->result->id] = lower_shift(L, op, sh);
    return;
  }
  if (op->code == PT_OP_SCAN && pt_layout_of(op->result).naxes[pt_op_int(op, PT_A_DIM, 0)]) {
    L->map[op->result->id] = lower_scan(L, op);
    return;
  }
  pt_shard_rule r;
  pt_shard_rule_of(op, &r);
  assignment as;
  assign(op, &r, L->mesh, &as);
  /* a factor whose axes do not divide all its dims (a reshape's merge, say),
   * or one the op needs whole (the minor dims of a reshape's split) that the
   * result is sharded on all the same (a conflict propagation recorded),
   * cannot be computed in blocks: compute whole along those axes and slice
   * the result into its layout afterwards */
  for (int f = 0; f < r.nfactors; f++)
    if (as.nfax[f] && (r.kind[f] == PT_FACTOR_REPLICATE || !factor_fits(L, op, &r, &as, f))) {
      for (int a = 0; a < L->mesh->naxes; a++)
        if (as.factor[a] == f)
          as.factor[a] = -1;
      as.nfax[f] = 0;
    }
  if (op->code == PT_OP_REDUCE_SUM)
    sum_then_resolve(L, op, &r, &as);
  pt_value *x[64];
  PT_ASSERT(op->noperands <= 64);
  for (int i = 0; i < op->noperands; i++) {
    pt_layout want = operand_layout(op, &r, &as, i);
    const char *role = "reshard";
    if (L->upd->split[op->result->id])
      role = "reshard (split dot)";
    else if (L->upd->split[op->operands[i]->id])
      role = "reshard (split dot result)";
    else if (L->upd->saved[op->result->id])
      role = "reshard (sharded update)";
    else if (L->upd->saved[op->operands[i]->id])
      role = "gather (sharded update)";
    x[i] = in_layout(L, op->operands[i], &want, op, role);
  }
  /* the layout the local op produces */
  pt_layout made;
  memset(&made, 0, sizeof made);
  made.rank = op->result->type.rank;
  for (int d = 0; d < made.rank; d++) {
    int f = r.result[d];
    if (f < 0)
      continue;
    made.naxes[d] = (uint8_t)as.nfax[f];
    memcpy(made.axes[d], as.fax[f], (size_t)as.nfax[f]);
  }
  made.partial_sum = as.pass;
  for (int a = 0; a < L->mesh->naxes; a++) {
    int f = as.factor[a];
    if (f >= 0 && r.kind[f] == PT_FACTOR_REDUCE_SUM)
      made.partial_sum |= 1u << a;
    if (f >= 0 && r.kind[f] == PT_FACTOR_REDUCE_MAX)
      made.partial_max |= 1u << a;
  }
  pt_type t = op->result->type;
  for (int d = 0; d < t.rank; d++)
    for (int k = 0; k < made.naxes[d]; k++)
      t.dims[d] /= L->mesh->sizes[made.axes[d][k]];
  /* the factors that need this device's offset: take's table rows,
   * scatter_add's result rows, iota's counting dim */
  int off = -1;
  if (op->code == PT_OP_TAKE)
    off = pt_rule_operand_factor(&r, 0, 0);
  else if (op->code == PT_OP_SCATTER_ADD)
    off = r.result[0];
  else if (op->code == PT_OP_IOTA)
    off = r.result[pt_op_int(op, PT_A_DIM, 0)];
  pt_value *y;
  if (off >= 0 && as.nfax[off] > 0 && op->code == PT_OP_TAKE)
    y = masked_take(L, op, x[0], x[1], as.fax[off], as.nfax[off], t);
  else if (off >= 0 && as.nfax[off] > 0 && op->code == PT_OP_SCATTER_ADD)
    y = masked_scatter_add(L, op, x[0], x[1], as.fax[off], as.nfax[off], t);
  else if (off >= 0 && as.nfax[off] > 0)
    y = block_iota(L, op, as.fax[off], as.nfax[off], t);
  else
    y = local_op(L, op, x, t);
  pt_layout have = pt_layout_of(op->result);
  if (!pt_layout_equal(&made, &have)) {
    /* only whole-computed axes differ (slicing them in is free), or a
     * reduce_sum summed partial sums (sum_then_resolve): resolved now */
    PT_ASSERT(!(have.partial_sum & ~made.partial_sum) && !(have.partial_max & ~made.partial_max));
    pt_plan plan;
    pt_plan_redistribution(L->mesh, &op->result->type, &made, &have, &plan);
    char why[1024], where[512];
    int tactic = -1;
    if (made.partial_sum & ~have.partial_sum) {
      for (int a = 0; a < L->mesh->naxes && tactic < 0; a++)
        if ((made.partial_sum & ~have.partial_sum) >> a & 1)
          tactic = pt_sharding_axis(op->operands[0], a).tactic;
      snprintf(why, sizeof why, "// '%s' at %s summed partial sums; resolved after it",
               pt_op_name(op->code), pt_loc_str(op->loc, where, sizeof where));
    } else {
      snprintf(why, sizeof why,
               "// '%s' at %s computed whole along axes its layout "
               "does not divide; sliced into place",
               pt_op_name(op->code), pt_loc_str(op->loc, where, sizeof where));
    }
    y = emit_plan(L, &plan, op->loc, y, why, tactic);
    pt_plan_free(&plan);
  }
  L->map[op->result->id] = y;
}

/* Sharded updates. A dot whose contracted dim is split along an axis
 * leaves a partial sum there; data parallelism's weight gradients are such
 * sums, and their updates (element-wise ops on replicated values, ending
 * in the function's results) are computed whole on every device after an
 * all_reduce. When the sum feeds only such a chain, whose values no tactic
 * decided along the axis, the lowering may instead compute the dot's
 * result split along the axis on one of its dims, gathering its operands'
 * contracted dim (the activations, often far smaller than the weights),
 * run the chain on the blocks (the replicated operands are sliced, read in
 * place where an argument, runtime/exec.h) and all_gather the chain's
 * results: the all_reduce of S bytes (2(n-1)/n S sent per device) becomes
 * a gather of (n-1)/n S plus the operands' moves, the update touches 1/n
 * of the elements, and the dot does the same flops with an n times deeper
 * contraction. This is the
 * sharded weight update of data-parallel training (Xu et al., "Automatic
 * cross-replica sharding of weight update in data-parallel training",
 * 2020) with the gradient's reduce_scatter replaced by gathering the dot's
 * operands. An optimizer whose state is replicated (momentum, Adam) has
 * two or three results to gather; there the dot's result alone is
 * computed by rows and gathered before the update, which stays whole: a
 * gather of (n-1)/n S instead of the all_reduce. Either form is chosen,
 * dim by dim, where it sends fewer bytes per device than the all_reduce,
 * each collective counted as 64 KiB more (the whole chain on a tie: it
 * computes less). PT_SHARDED_UPDATE=0 in the environment turns it off.
 *
 * It works by giving the chain's values (and the broadcasts and constants
 * only the chain uses) a sharding along the axis for the time of the
 * lowering; the function's own shardings are restored afterwards. */

static void users_build(const pt_func *f, updates *u) {
  int n = f->nvalues + 1;
  u->start = pt_calloc((size_t)n + 1, sizeof *u->start);
  u->returned = pt_calloc((size_t)n, sizeof *u->returned);
  u->saved = pt_calloc((size_t)n, sizeof *u->saved);
  u->in = pt_calloc((size_t)n, sizeof *u->in);
  u->split = pt_calloc((size_t)n, sizeof *u->split);
  for (int i = 0; i < f->nops; i++)
    for (int k = 0; k < f->ops[i]->noperands; k++)
      u->start[f->ops[i]->operands[k]->id + 1]++;
  for (int v = 0; v < n; v++)
    u->start[v + 1] += u->start[v];
  int *fill = pt_calloc((size_t)n, sizeof *fill);
  u->user = pt_calloc((size_t)u->start[n] + 1, sizeof *u->user);
  for (int i = 0; i < f->nops; i++)
    for (int k = 0; k < f->ops[i]->noperands; k++) {
      int v = f->ops[i]->operands[k]->id;
      u->user[u->start[v] + fill[v]++] = i;
    }
  pt_free(fill);
  for (int i = 0; i < f->nresults; i++)
    u->returned[f->results[i].value->id] = true;
}

/* A collective's fixed cost counted as bytes: a few microseconds of
 * latency at tens of GB/s. It keeps small values from trading one
 * all_reduce for several smaller moves. */
#define MOVE_COST_BYTES ((int64_t)64 << 10)

static uint64_t key_hash(const price_key *k) {
  const unsigned char *b = (const unsigned char *)k;
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (size_t i = 0; i < sizeof *k; i++)
    h = (h ^ b[i]) * 1099511628211u;
  return h;
}

/* The slot of key k in c: its own, or the empty one where it goes. */
static int price_slot(const price_cache *c, const price_key *k) {
  int i = (int)(key_hash(k) & (uint64_t)(c->cap - 1));
  while (c->used[i] && memcmp(&c->keys[i], k, sizeof *k) != 0)
    i = (i + 1) & (c->cap - 1);
  return i;
}

static void price_put(price_cache *c, const price_key *k, int64_t bytes) {
  if (2 * (c->n + 1) > c->cap) { /* grow to keep it at most half full */
    price_cache old = *c;
    c->cap = old.cap ? 2 * old.cap : 256;
    c->n = 0;
    c->keys = pt_calloc((size_t)c->cap, sizeof *c->keys);
    c->bytes = pt_calloc((size_t)c->cap, sizeof *c->bytes);
    c->used = pt_calloc((size_t)c->cap, sizeof *c->used);
    for (int i = 0; i < old.cap; i++)
      if (old.used[i])
        price_put(c, &old.keys[i], old.bytes[i]);
    pt_free(old.keys);
    pt_free(old.bytes);
    pt_free(old.used);
  }
  int i = price_slot(c, k);
  c->keys[i] = *k;
  c->bytes[i] = bytes;
  c->used[i] = true;
  c->n++;
}

/* l's used fields into dst, which the caller zeroed (a layout's unused
 * axis slots may hold anything; keys compare as bytes). */
static void key_layout(pt_layout *dst, const pt_layout *l) {
  dst->rank = l->rank;
  for (int d = 0; d < l->rank; d++) {
    dst->naxes[d] = l->naxes[d];
    memcpy(dst->axes[d], l->axes[d], l->naxes[d]);
  }
  dst->partial_sum = l->partial_sum;
  dst->partial_max = l->partial_max;
}

/* The cost of redistributing a value of type t: the bytes each device
 * sends, plus MOVE_COST_BYTES per collective (axis_slice is free). */
static int64_t plan_bytes(const lowerer *L, const pt_type *t, const pt_layout *from,
                          const pt_layout *to) {
  if (pt_layout_equal(from, to))
    return 0;
  price_key k;
  memset(&k, 0, sizeof k); /* compared as bytes: no stray padding */
  k.t.dtype = t->dtype;
  k.t.rank = t->rank;
  memcpy(k.t.dims, t->dims, (size_t)t->rank * sizeof *t->dims);
  key_layout(&k.from, from);
  key_layout(&k.to, to);
  price_cache *c = L->prices;
  if (c->cap) {
    int i = price_slot(c, &k);
    if (c->used[i])
      return c->bytes[i];
  }
  pt_plan p;
  pt_plan_redistribution(L->mesh, t, from, to, &p);
  int64_t b = p.bytes_sent;
  for (int q = 0; q < p.nmoves; q++)
    if (p.moves[q].kind != PT_MOVE_SLICE)
      b = pt_add_sat(b, MOVE_COST_BYTES);
  pt_plan_free(&p);
  price_put(c, &k, b);
  return b;
}

/* The cost of moving v from `have` to `want` unless an earlier reader
 * already asked for `want` (seen[0..*nseen), at most 8 kept). */
static int64_t move_once(const lowerer *L, const pt_value *v, const pt_layout *have,
                         const pt_layout *want, pt_layout *seen, int *nseen) {
  for (int q = 0; q < *nseen; q++)
    if (pt_layout_equal(&seen[q], want))
      return 0;
  if (*nseen < 8)
    seen[(*nseen)++] = *want;
  return plan_bytes(L, &v->type, have, want);
}

/* Whether v is a result that a training loop's step (lowered with
 * pt_lower_opts.carried) feeds into the argument of its name, and that
 * argument is read only by the chain being priced (u->in): its gather will
 * go (carried blocks, below), so it costs nothing. */
static bool carried_free(const lowerer *L, const pt_func *f, const updates *u, const pt_value *v) {
  if (!L->o || !L->o->carried)
    return false;
  for (int i = 0; i < f->nresults && i < f->nargs; i++) {
    if (f->results[i].value != v)
      continue;
    const pt_value *arg = f->args[i];
    if (!pt_func_carries(f, i) || u->start[arg->id + 1] == u->start[arg->id])
      return false;
    for (int k = u->start[arg->id]; k < u->start[arg->id + 1]; k++)
      if (!u->in[f->ops[u->user[k]]->result->id])
        return false;
    return true;
  }
  return false;
}

/* What v's readers need of it, as cost: for each distinct layout its
 * users' ops ask of it (and `result`, the layout it is returned in, when it
 * is a result), the cost of moving it there from its own layout. */
static int64_t uses_cost(const lowerer *L, const pt_func *f, const updates *u, const pt_value *v,
                         const pt_layout *result) {
  pt_layout have = pt_layout_of(v), seen[8];
  int nseen = 0;
  int64_t cost = 0;
  for (int k = u->start[v->id]; k < u->start[v->id + 1]; k++) {
    const pt_op *op = f->ops[u->user[k]];
    pt_shard_rule r;
    assignment as;
    pt_shard_rule_of(op, &r);
    assign(op, &r, L->mesh, &as);
    for (int i = 0; i < op->noperands; i++)
      if (op->operands[i] == v) {
        pt_layout want = operand_layout(op, &r, &as, i);
        cost = pt_add_sat(cost, move_once(L, v, &have, &want, seen, &nseen));
      }
  }
  if (u->returned[v->id] && !carried_free(L, f, u, v))
    cost = pt_add_sat(cost, move_once(L, v, &have, result, seen, &nseen));
  return cost;
}

static bool free_along(const pt_value *v, int a) {
  pt_axis_state s = pt_sharding_axis(v, a);
  return s.kind == PT_SH_REPLICATED && s.tactic < 0;
}

/* Whether v is a broadcast or constant only the chain `in` uses, replicated
 * along a by default: computed in the chain's layout instead of sliced. */
static bool recomputable(const pt_func *f, const updates *u, const bool *in, const pt_value *v,
                         int a) {
  const pt_op *d = v->def;
  if (!d || (d->code != PT_OP_BROADCAST && d->code != PT_OP_CONSTANT) || !free_along(v, a) ||
      u->returned[v->id])
    return false;
  if (d->code == PT_OP_BROADCAST && pt_sharding_axis(d->operands[0], a).kind != PT_SH_REPLICATED)
    return false;
  for (int k = u->start[v->id]; k < u->start[v->id + 1]; k++)
    if (!in[f->ops[u->user[k]]->result->id])
      return false;
  return true;
}

/* Whether v is an element-wise op only the chain `in` uses, replicated
 * along a by default, each of whose operands is an argument whole along a
 * (read as its block) or a broadcast or constant only v uses. */
static bool on_arguments(const pt_func *f, const updates *u, const bool *in, const pt_value *v,
                         int a) {
  const pt_op *d = v->def;
  if (!d || !(pt_optab[d->code].flags & PT_OPF_ELEMENTWISE) || !free_along(v, a) ||
      u->returned[v->id])
    return false;
  for (int k = u->start[v->id]; k < u->start[v->id + 1]; k++)
    if (!in[f->ops[u->user[k]]->result->id])
      return false;
  for (int i = 0; i < d->noperands; i++) {
    const pt_value *x = d->operands[i];
    if (!x->def) {
      if (pt_sharding_axis(x, a).kind != PT_SH_REPLICATED)
        return false;
      continue;
    }
    if ((x->def->code != PT_OP_BROADCAST && x->def->code != PT_OP_CONSTANT) || !free_along(x, a) ||
        u->returned[x->id] || u->start[x->id + 1] - u->start[x->id] != 1 ||
        (x->def->code == PT_OP_BROADCAST &&
         pt_sharding_axis(x->def->operands[0], a).kind != PT_SH_REPLICATED))
      return false;
  }
  return true;
}

/* Clears in[] for the values chain[0..n). */
static int unmark(bool *in, const pt_value **chain, int n) {
  for (int c = 0; c < n; c++)
    in[chain[c]->id] = false;
  return 0;
}

/* The chain from the dot result v along axis a: the element-wise ops its
 * value flows through (ids set in in[], listed in chain[]), or 0 (in[]
 * left clear) if some use leaves the chain or an operand of it is split
 * along a. */
static int chain_of(const pt_func *f, const updates *u, const pt_value *v, int a, bool *in,
                    const pt_value **chain, int cap) {
  int n = 0;
  chain[n++] = v;
  in[v->id] = true;
  for (int c = 0; c < n; c++) {
    const pt_value *x = chain[c];
    for (int k = u->start[x->id]; k < u->start[x->id + 1]; k++) {
      const pt_op *op = f->ops[u->user[k]];
      if (in[op->result->id])
        continue;
      if (!(pt_optab[op->code].flags & PT_OPF_ELEMENTWISE) || !free_along(op->result, a) ||
          n == cap)
        return unmark(in, chain, n);
      for (int i = 0; i < op->noperands; i++) {
        pt_axis_state s = pt_sharding_axis(op->operands[i], a);
        if (!in[op->operands[i]->id] && s.kind != PT_SH_REPLICATED)
          return unmark(in, chain, n);
      }
      chain[n++] = op->result;
      in[op->result->id] = true;
    }
  }
  return n;
}

/* Overrides v's sharding along a: split on dim d (kind PT_SH_SHARDED) or a
 * partial sum (d unused), decided by `tactic` through `via`. */
static void override(updates *u, pt_value *v, int a, pt_shkind kind, int d, int tactic,
                     const pt_op *via) {
  pt_sharding *s = pt_calloc(1, sizeof *s);
  *s = *v->sharding;
  pt_axis_state old = s->ax[a];
  if (old.kind == PT_SH_SHARDED) { /* a leaves the dim it split */
    int n = 0;
    for (int k = 0; k < s->norder[old.dim]; k++)
      if (s->order[old.dim][k] != a)
        s->order[old.dim][n++] = s->order[old.dim][k];
    s->norder[old.dim] = (uint8_t)n;
  }
  s->ax[a] = (pt_axis_state){(uint8_t)kind, (int8_t)(kind == PT_SH_SHARDED ? d : -1),
                             (int16_t)tactic, via};
  if (kind == PT_SH_SHARDED)
    s->order[d][s->norder[d]++] = (int8_t)a;
  u->saved[v->id] = v->sharding;
  v->sharding = s;
}

static void restore(updates *u, pt_value *v) {
  if (u->saved[v->id]) {
    pt_free(v->sharding);
    v->sharding = u->saved[v->id];
    u->saved[v->id] = NULL;
  }
}

/* Decides, for the dot op, whether to shard its update chain (above). */
static void try_sharded_update(lowerer *L, const pt_func *f, updates *u, const pt_op *op) {
  const pt_value *v = op->result;
  int a = -1;
  for (int k = 0; k < L->mesh->naxes; k++) {
    pt_axis_state s = pt_sharding_axis(v, k);
    if (s.kind == PT_SH_PARTIAL_MAX)
      return;
    if (s.kind == PT_SH_PARTIAL_SUM) {
      if (a >= 0)
        return; /* partial along two axes: left alone */
      a = k;
    }
  }
  if (a < 0)
    return;
  enum { CAP = 64 };
  bool *in = u->in;
  const pt_value *chain[CAP + 16];
  int n = chain_of(f, u, v, a, in, chain, CAP);
  bool whole = n > 0; /* the chain may run on the blocks; else only v can */
  if (!whole) {
    chain[0] = v;
    n = 1;
  }
  /* the broadcasts and constants only the chain uses, and the element-wise
   * ops only the chain uses on arguments whole along a (an optimizer's
   * b1 * m): computed on the blocks too, reading the arguments' blocks */
  int nc = n;
  for (int c = 1; c < nc; c++) {
    const pt_op *d = chain[c]->def;
    for (int i = 0; i < d->noperands && n < CAP + 16; i++) {
      const pt_value *x = d->operands[i];
      if (!in[x->id] && recomputable(f, u, in, x, a)) {
        in[x->id] = true;
        chain[n++] = x;
      } else if (!in[x->id] && whole && x->def && n + 1 + x->def->noperands <= CAP + 16 &&
                 on_arguments(f, u, in, x, a)) { /* room for it and its broadcasts */
        in[x->id] = true;
        chain[n++] = x;
        const pt_op *xd = x->def;
        for (int k = 0; k < xd->noperands; k++)
          if (!in[xd->operands[k]->id] && xd->operands[k]->def) { /* its broadcast */
            in[xd->operands[k]->id] = true;
            chain[n++] = xd->operands[k];
          }
      }
    }
  }
  /* the bytes of the all_reduce the chain needs as it is */
  pt_layout orig[CAP + 16];
  for (int c = 0; c < n; c++) {
    orig[c] = pt_layout_of(chain[c]);
    orig[c].partial_sum = orig[c].partial_max = 0;
  }
  int64_t best_bytes = uses_cost(L, f, u, v, &orig[0]);
  int tactic = pt_sharding_axis(v, a).tactic, best = -1, best_n = 0;
  for (int d = 0; d < v->type.rank; d++) {
    if (v->type.dims[d] % L->mesh->sizes[a] || v->sharding->norder[d])
      continue;
    /* the whole chain on the blocks, its results gathered; or the dot's
     * result alone, gathered for its consumers (an update with several
     * results to gather: the gradient's gather is half an all_reduce) */
    for (int m = whole ? n : 1; m >= 1; m = m > 1 ? 1 : 0) {
      bool fits = true;
      for (int c = 0; c < m && fits; c++)
        fits = chain[c]->type.rank == v->type.rank && chain[c]->type.dims[d] == v->type.dims[d] &&
               !chain[c]->sharding->norder[d];
      if (!fits)
        continue;
      for (int c = 0; c < m; c++)
        override(u, (pt_value *)chain[c], a, PT_SH_SHARDED, d, tactic, op);
      /* the operands' moves the dot now needs, and the gathers after */
      pt_shard_rule r;
      pt_shard_rule_of(op, &r);
      assignment as;
      assign(op, &r, L->mesh, &as);
      int64_t bytes = 0;
      for (int i = 0; i < op->noperands; i++) {
        pt_layout want = operand_layout(op, &r, &as, i), from = pt_layout_of(op->operands[i]);
        bytes = pt_add_sat(bytes, plan_bytes(L, &op->operands[i]->type, &from, &want));
      }
      for (int c = 0; c < m; c++)
        bytes = pt_add_sat(bytes, uses_cost(L, f, u, chain[c], &orig[c]));
      for (int c = 0; c < m; c++)
        restore(u, (pt_value *)chain[c]);
      if (bytes < best_bytes) {
        best = d;
        best_n = m;
        best_bytes = bytes;
      }
    }
  }
  for (int c = 0; best >= 0 && c < best_n; c++)
    override(u, (pt_value *)chain[c], a, PT_SH_SHARDED, best, tactic, op);
  unmark(in, chain, n);
}

/* Split dots. A dot whose result is split along an axis by a dim of one
 * operand (data parallelism's batch) while the other operand, a weight, is
 * whole along it (or split on its own dims, ZeRO-3) reads the whole weight
 * on every device for a slice of the rows: a thin product, bound by reading
 * the weight. The lowering may instead split the work along a dim of the
 * weight, Megatron-style, and move the activations:
 *   on the contraction: the activation is resharded onto its contracted
 *     dim (an all_to_all), the weight sliced on its own (read in place
 *     where it is an argument's outermost dim), and the partial result
 *     reduce_scattered into the layout its readers ask for;
 *   on the weight's free dim: the activation is gathered, the weight
 *     sliced, and the result, split on the weight's dim, resharded (an
 *     all_to_all) for its readers.
 * Each device then reads 1/n of the weight, and its GEMM has n times the
 * rows. The layout is chosen by a price in bytes: what the operands' and
 * the readers' moves send per device (each collective 64 KiB more, as
 * for sharded updates), plus what the dot and any copied slice read
 * locally, counted at 1/READ_SHARE of a byte sent; the layout the
 * function's shardings give wins ties. The MLP's 32-row forward products
 * under data parallelism run at MP's 64-row speed this way; a transformer,
 * whose activations outweigh its weights, keeps its layout. Like sharded
 * updates it overrides the dot result's sharding for the lowering only;
 * PT_SPLIT_DOTS=0 in the environment turns it off. */

/* A byte a local op reads costs 1/READ_SHARE of a byte sent. */
#define READ_SHARE 4

static int64_t layout_bytes(const lowerer *L, const pt_type *t, const pt_layout *l) {
  return pt_layout_local_numel(L->mesh, t, l) * (int64_t)pt_dtype_size(t->dtype);
}

/* Whether moving v from `from` to `to` is slices alone that the runtime
 * reads in place (an argument's block whose leading dims have extent 1,
 * runtime/bufplan.c pt_buf_view_of) or nothing at all. */
static bool read_in_place(const lowerer *L, const pt_value *v, const pt_layout *from,
                          const pt_layout *to) {
  if (pt_layout_equal(from, to))
    return true;
  if (v->def || from->partial_sum || from->partial_max)
    return false;
  int64_t n = 1;
  for (int d = 0; d < v->type.rank; d++) {
    int64_t ext = v->type.dims[d];
    for (int k = 0; k < from->naxes[d]; k++)
      ext /= L->mesh->sizes[from->axes[d][k]];
    if (to->naxes[d] < from->naxes[d] || memcmp(to->axes[d], from->axes[d], from->naxes[d]))
      return false; /* not a slice of the block held */
    bool sliced = to->naxes[d] > from->naxes[d];
    if (sliced && n != 1)
      return false;
    for (int k = from->naxes[d]; k < to->naxes[d]; k++)
      ext /= L->mesh->sizes[to->axes[d][k]];
    n *= ext;
  }
  return layout_bytes(L, &v->type, to) % 64 == 0;
}

/* The price of lowering dot op in its result's current layout (above). */
static int64_t dot_price(const lowerer *L, const pt_func *f, const updates *u, const pt_op *op,
                         const pt_layout *result) {
  pt_shard_rule r;
  assignment as;
  pt_shard_rule_of(op, &r);
  assign(op, &r, L->mesh, &as);
  int64_t sent = 0, read = 0;
  for (int i = 0; i < op->noperands; i++) {
    const pt_value *x = op->operands[i];
    pt_layout want = operand_layout(op, &r, &as, i), have = pt_layout_of(x);
    sent = pt_add_sat(sent, plan_bytes(L, &x->type, &have, &want));
    read = pt_add_sat(read, layout_bytes(L, &x->type, &want));
    if (!read_in_place(L, x, &have, &want)) /* the move's local copy */
      read = pt_add_sat(read, layout_bytes(L, &x->type, &have));
  }
  sent = pt_add_sat(sent, uses_cost(L, f, u, op->result, result));
  return pt_add_sat(sent, read / READ_SHARE);
}

/* Decides, for the dot op, whether to split it along a weight's dim. */
static void try_split_dot(lowerer *L, const pt_func *f, updates *u, const pt_op *op) {
  pt_value *v = op->result;
  if (op->noperands != 2 || u->saved[v->id] || u->saved[op->operands[0]->id] ||
      u->saved[op->operands[1]->id])
    return;
  pt_shard_rule r;
  pt_shard_rule_of(op, &r);
  int nreduce = 0;
  for (int g = 0; g < r.nfactors; g++)
    nreduce += r.kind[g] == PT_FACTOR_REDUCE_SUM;
  pt_layout orig = pt_layout_of(v);
  for (int a = 0; a < L->mesh->naxes; a++) {
    pt_axis_state s = pt_sharding_axis(v, a);
    if (L->mesh->sizes[a] < 2 || s.kind != PT_SH_SHARDED || v->sharding->norder[s.dim] != 1)
      continue;
    /* the factor splitting the result must be one operand's alone */
    int fa = r.result[s.dim], side = -1, nsides = 0;
    for (int i = 0; i < 2; i++)
      for (int d = 0; d < op->operands[i]->type.rank; d++)
        if (pt_rule_operand_factor(&r, i, d) == fa) {
          side = i;
          nsides++;
        }
    if (nsides != 1)
      continue;
    const pt_value *w = op->operands[1 - side], *act = op->operands[side];
    pt_axis_state ws = pt_sharding_axis(w, a);
    if (ws.kind != PT_SH_REPLICATED && ws.kind != PT_SH_SHARDED)
      continue;
    /* what another layout can save at most (the weight's move, and reading
     * all of it) against what it costs at least (moving the activation, one
     * collective and (n-1)/n of its bytes): where it cannot win, nothing is
     * priced (a transformer's dots, whose activations outweigh their
     * weights) */
    pt_layout al = pt_layout_of(act), wl = pt_layout_of(w), wwant;
    {
      assignment as;
      assign(op, &r, L->mesh, &as);
      wwant = operand_layout(op, &r, &as, 1 - side);
    }
    int64_t n = L->mesh->sizes[a], abytes = layout_bytes(L, &act->type, &al),
            wread = layout_bytes(L, &w->type, &wwant),
            wmin = layout_bytes(L, &w->type, &wl) / (ws.kind == PT_SH_REPLICATED ? n : 1);
    int64_t saving =
        plan_bytes(L, &w->type, &wl, &wwant) + (wread > wmin ? wread - wmin : 0) / READ_SHARE;
    if (saving <= MOVE_COST_BYTES + abytes / n * (n - 1))
      continue;
    int64_t best = dot_price(L, f, u, op, &orig);
    int best_dim = -2; /* -2 none, -1 the contraction, else the result dim */
    for (int e = 0; e < w->type.rank; e++) {
      int g = pt_rule_operand_factor(&r, 1 - side, e);
      if (g < 0 || g == fa || (r.kind[g] != PT_FACTOR_PASS && r.kind[g] != PT_FACTOR_REDUCE_SUM))
        continue;
      if (w->type.dims[e] % L->mesh->sizes[a] ||
          (w->sharding->norder[e] &&
           !(ws.kind == PT_SH_SHARDED && ws.dim == e && w->sharding->norder[e] == 1)))
        continue;
      int rd = -1; /* the result dim of a free factor */
      if (r.kind[g] == PT_FACTOR_PASS) {
        for (int d = 0; d < v->type.rank; d++)
          if (r.result[d] == g)
            rd = d;
        if (rd < 0 || v->sharding->norder[rd])
          continue;
      } else {
        if (nreduce != 1)
          continue;
        bool ok = true; /* the activation's contracted dim takes the axis */
        for (int d = 0; d < act->type.rank; d++)
          if (pt_rule_operand_factor(&r, side, d) == g && act->sharding->norder[d])
            ok = false;
        if (!ok)
          continue;
      }
      override(u, v, a, rd < 0 ? PT_SH_PARTIAL_SUM : PT_SH_SHARDED, rd, s.tactic, op);
      int64_t price = dot_price(L, f, u, op, &orig);
      restore(u, v);
      if (price < best) {
        best = price;
        best_dim = rd;
      }
    }
    if (best_dim != -2) {
      override(u, v, a, best_dim < 0 ? PT_SH_PARTIAL_SUM : PT_SH_SHARDED, best_dim, s.tactic, op);
      u->split[v->id] = true;
      return; /* one axis per dot */
    }
  }
}

/* Rewrites g's operands through to[] (where set) and drops the ops whose
 * results are dead[] (as passes/dce.c does: the op lives in the arena, its
 * attributes do not), taking the dropped collectives out of the stats. */
static void drop_ops(lowerer *L, pt_func *g, pt_value *const *to, const bool *dead) {
  int n = 0;
  for (int j = 0; j < g->nops; j++) {
    pt_op *op = g->ops[j];
    for (int k = 0; k < op->noperands; k++)
      if (to[op->operands[k]->id])
        op->operands[k] = to[op->operands[k]->id];
    if (!dead[op->result->id]) {
      g->ops[n++] = op;
    } else {
      pt_free(op->attrs);
      op->attrs = NULL;
      op->nattrs = 0;
    }
  }
  g->nops = n;
  pt_lower_stats *st = L->stats;
  if (st) {
    int kept = 0;
    for (int k = 0; k < st->nrecords; k++) {
      const pt_op *op = st->records[k].op;
      if (!dead[op->result->id]) {
        st->records[kept++] = st->records[k];
        continue;
      }
      st->count[op->code - PT_OP_ALL_GATHER]--;
      st->bytes -= st->records[k].bytes;
    }
    st->nrecords = kept;
  }
}

/* Collectives over a group of one device (a mesh axis of size 1: `train`'s
 * one-rank runs of a data-parallel script) move nothing and compute
 * nothing; they go, their readers reading their operands, so that a
 * one-device program is the plain program (and the executor's GEMM
 * epilogues see the SGD update next to its weight gradient). */
static void drop_identities(lowerer *L, pt_func *g) {
  pt_value **to = pt_calloc((size_t)g->nvalues + 1, sizeof *to);
  bool *dead = pt_calloc((size_t)g->nvalues + 1, sizeof *dead);
  bool any = false;
  for (int j = 0; j < g->nops; j++) {
    pt_op *op = g->ops[j];
    const pt_attr *ax = pt_op_attr(op, PT_A_AXES);
    if (!(pt_optab[op->code].flags & PT_OPF_COLLECTIVE) || !ax ||
        !pt_type_equal(&op->result->type, &op->operands[0]->type))
      continue;
    int64_t group = 1;
    for (int k = 0; k < ax->val.n; k++) {
      int m = pt_mesh_axis(L->mesh, ax->val.items[k].s, strlen(ax->val.items[k].s));
      group *= m >= 0 ? L->mesh->sizes[m] : 0;
    }
    if (group != 1)
      continue;
    pt_value *x = op->operands[0];
    to[op->result->id] = to[x->id] ? to[x->id] : x;
    dead[op->result->id] = any = true;
  }
  if (any) {
    drop_ops(L, g, to, dead);
    for (int i = 0; i < g->nresults; i++)
      if (to[g->results[i].value->id])
        g->results[i].value = to[g->results[i].value->id];
  }
  pt_free(dead);
  pt_free(to);
}

/* Carried blocks (pt_lower_opts.carried). A sharded update leaves a
 * replicated weight's new value as rows all-gathered at the end of the
 * step, and a split dot and the update read the weight back as this
 * device's rows (an axis_slice) at the start of the next: in a training
 * loop the gather only rebuilds what the next step slices away. Such an
 * argument is carried as its block: its type becomes the block's, its
 * slices are replaced by it, its result is the gathered value, and the
 * gather and slices go. The runtime starts, checkpoints and resumes it in
 * the block's layout (runtime/train_dist.c), so the whole weight exists
 * only in checkpoint files. Returns how many arguments it carries. */
static bool same_axes(const pt_op *a, const pt_op *b) {
  const pt_attr *x = pt_op_attr(a, PT_A_AXES), *y = pt_op_attr(b, PT_A_AXES);
  if (x->val.n != y->val.n || pt_op_int(a, PT_A_DIM, 0) != pt_op_int(b, PT_A_DIM, 0))
    return false;
  for (int k = 0; k < x->val.n; k++)
    if (strcmp(x->val.items[k].s, y->val.items[k].s) != 0)
      return false;
  return true;
}

static int carry_blocks(lowerer *L, pt_func *g, pt_layout *lay) {
  int nv = g->nvalues + 1, carried = 0;
  int *uses = pt_calloc((size_t)nv, sizeof *uses);
  bool *dead = pt_calloc((size_t)nv, sizeof *dead);
  pt_value **to = pt_calloc((size_t)nv, sizeof *to); /* a removed slice -> its argument */
  bool *carried_now = pt_calloc((size_t)g->nargs + 1, sizeof *carried_now);
  for (int i = 0; i < g->nops; i++)
    for (int k = 0; k < g->ops[i]->noperands; k++)
      uses[g->ops[i]->operands[k]->id]++;
  for (int i = 0; i < g->nresults; i++)
    uses[g->results[i].value->id]++;
  for (int i = 0; i < g->nargs && i < g->nresults; i++) {
    pt_value *a = g->args[i];
    const pt_result *r = &g->results[i];
    const pt_op *gat = r->value->def;
    if (!pt_func_carries(g, i) || !gat || gat->code != PT_OP_ALL_GATHER ||
        uses[r->value->id] != 1 || uses[a->id] == 0)
      continue;
    const pt_value *x = gat->operands[0];
    int nslices = 0;
    bool ok = true;
    for (int j = 0; j < g->nops && ok; j++) {
      const pt_op *op = g->ops[j];
      for (int k = 0; k < op->noperands && ok; k++)
        if (op->operands[k] == a) {
          ok = op->code == PT_OP_AXIS_SLICE && same_axes(op, gat) &&
               pt_type_equal(&op->result->type, &x->type);
          nslices++;
        }
    }
    if (!ok || nslices != uses[a->id])
      continue; /* read otherwise, or returned as it is */
    /* the block's layout: the gather's axes the minor-most of its dim */
    pt_layout b = lay[i];
    int dim = (int)pt_op_int(gat, PT_A_DIM, 0);
    const pt_attr *ax = pt_op_attr(gat, PT_A_AXES);
    for (int k = 0; k < ax->val.n && ok; k++) {
      int m = pt_mesh_axis(L->mesh, ax->val.items[k].s, strlen(ax->val.items[k].s));
      ok = m >= 0 && b.naxes[dim] < PT_MAX_AXES;
      if (ok)
        b.axes[dim][b.naxes[dim]++] = (int8_t)m;
    }
    if (!ok || !pt_layout_valid(L->mesh, &a->type, &b))
      continue;
    for (int j = 0; j < g->nops; j++)
      if (g->ops[j]->code == PT_OP_AXIS_SLICE && g->ops[j]->operands[0] == a) {
        to[g->ops[j]->result->id] = a;
        dead[g->ops[j]->result->id] = true;
      }
    dead[r->value->id] = true;
    a->type = x->type;
    g->results[i].value = (pt_value *)x;
    g->results[i].type = x->type;
    lay[i] = b;
    carried_now[i] = true;
    carried++;
  }
  if (carried) {
    drop_ops(L, g, to, dead);
    /* the lowered program says what it carries */
    char *buf = NULL;
    size_t bn = 0;
    FILE *c = open_memstream(&buf, &bn);
    PT_ASSERT(c);
    fprintf(c, "%s\n// carried from step to step as blocks, never gathered (passes/lower.c):",
            g->comment ? g->comment : "");
    char lb[256];
    for (int i = 0, n = 0; i < g->nargs; i++)
      if (i < g->nresults && carried_now[i])
        fprintf(c, "%s %%%s %s", n++ ? "," : "", g->args[i]->name,
                pt_layout_str(L->mesh, &lay[i], lb, sizeof lb));
    fclose(c);
    g->comment = pt_arena_strdup(g->module->arena, buf);
    free(buf);
  }
  pt_free(uses);
  pt_free(dead);
  pt_free(to);
  pt_free(carried_now);
  return carried;
}

static void layout_comment(lowerer *L, const pt_func *f, char **out) {
  char *buf = NULL;
  size_t n = 0;
  FILE *c = open_memstream(&buf, &n);
  PT_ASSERT(c);
  fprintf(c, "// SPMD program of @%s on mesh", f->name);
  for (int a = 0; a < L->mesh->naxes; a++)
    fprintf(c, "%s%s=%lld", a ? "," : " ", L->mesh->names[a], (long long)L->mesh->sizes[a]);
  fprintf(c, "; global layouts:");
  char lb[256], tb[PT_TYPE_STRLEN];
  for (int i = 0; i < f->nargs; i++) {
    pt_layout l = pt_layout_of(f->args[i]);
    fprintf(c, "\n//   %%%s: %s %s", f->args[i]->name,
            pt_type_str(&f->args[i]->type, tb, sizeof tb),
            pt_layout_str(L->mesh, &l, lb, sizeof lb));
  }
  for (int i = 0; i < f->nresults; i++) {
    pt_layout l = pt_lower_result_layout(f, i);
    fprintf(c, "\n//   result %s: %s %s", f->results[i].name,
            pt_type_str(&f->results[i].type, tb, sizeof tb),
            pt_layout_str(L->mesh, &l, lb, sizeof lb));
  }
  fclose(c);
  *out = buf;
}

pt_layout pt_lower_result_layout(const pt_func *f, int i) {
  pt_layout l = pt_layout_of(f->results[i].value);
  l.partial_sum = l.partial_max = 0;
  return l;
}

pt_status pt_pass_lower(pt_module *m, const pt_func *f, const pt_lower_opts *o, pt_func **out,
                        pt_diag *d) {
  if (!m->mesh.naxes) {
    pt_diag_error(d, f->loc, "@%s has no mesh to lower onto", f->name);
    return PT_ERR;
  }
  for (int i = 0; i < f->nargs + f->nops; i++) {
    const pt_value *v = i < f->nargs ? f->args[i] : f->ops[i - f->nargs]->result;
    if (!v->sharding || !pt_sharding_complete(v)) {
      pt_diag_error(d, v->loc, "%%%s has no complete sharding; apply a tactic schedule first",
                    v->name ? v->name : "?");
      return PT_ERR;
    }
    if (i >= f->nargs && (pt_optab[f->ops[i - f->nargs]->code].flags & PT_OPF_COLLECTIVE)) {
      pt_diag_error(d, f->ops[i - f->nargs]->loc, "@%s is already lowered", f->name);
      return PT_ERR;
    }
  }
  char name[512];
  snprintf(name, sizeof name, "%s", o && o->name ? o->name : f->name);
  if (!o || !o->name)
    snprintf(name, sizeof name, "%s_spmd", f->name);
  if (pt_module_find_func(m, name)) {
    pt_diag_error(d, f->loc, "function '@%s' already exists", name);
    return PT_ERR;
  }
  pt_func *g = pt_func_create(m, name, f->loc);
  lowerer L = {g,
               &m->mesh,
               o,
               pt_calloc((size_t)f->nvalues + 1, sizeof(pt_value *)),
               {0},
               NULL,
               0,
               0,
               o ? o->stats : NULL,
               pt_shifts_find(f),
               NULL,
               &(price_cache){0}};
  char *comment;
  layout_comment(&L, f, &comment);
  g->comment = pt_arena_strdup(m->arena, comment);
  free(comment);
  for (int i = 0; i < f->nargs; i++) {
    const pt_value *a = f->args[i];
    L.map[a->id] = pt_func_add_arg(g, a->name, a->role, pt_sharding_local_type(a), a->loc);
  }
  /* the results' layouts, as the function's own shardings give them */
  pt_layout *want = pt_calloc((size_t)f->nresults + 1, sizeof *want);
  for (int i = 0; i < f->nresults; i++)
    want[i] = pt_lower_result_layout(f, i);
  updates upd;
  users_build(f, &upd);
  L.upd = &upd;
  const char *env = getenv("PT_SHARDED_UPDATE");
  if (!env || strcmp(env, "0") != 0)
    for (int i = 0; i < f->nops; i++)
      if (f->ops[i]->code == PT_OP_DOT)
        try_sharded_update(&L, f, &upd, f->ops[i]);
  env = getenv("PT_SPLIT_DOTS");
  if (!env || strcmp(env, "0") != 0)
    for (int i = 0; i < f->nops; i++)
      if (f->ops[i]->code == PT_OP_DOT)
        try_split_dot(&L, f, &upd, f->ops[i]);
  for (int i = 0; i < f->nops; i++)
    lower_op(&L, f->ops[i]);
  for (int i = 0; i < f->nresults; i++) {
    const pt_result *r = &f->results[i];
    pt_value *v = in_layout(&L, r->value, &want[i], NULL,
                            upd.split[r->value->id]   ? "reshard (split dot result)"
                            : upd.saved[r->value->id] ? "gather the sharded update"
                                                      : "resolve result");
    pt_func_add_result(g, r->name, v->type, v, r->loc);
  }
  for (int i = 0; i < f->nops; i++)
    restore(&upd, f->ops[i]->result);
  drop_identities(&L, g);
  if (o && o->carried) {
    for (int i = 0; i < f->nargs; i++)
      o->carried[i] = pt_layout_of(f->args[i]);
    carry_blocks(&L, g, o->carried);
  }
  pt_free(want);
  pt_free(upd.start);
  pt_free(upd.user);
  pt_free(upd.returned);
  pt_free(upd.saved);
  pt_free(upd.in);
  pt_free(upd.split);
  pt_strmap_clear(&L.cache);
  for (int i = 0; i < L.nkeys; i++)
    pt_free(L.keys[i]);
  pt_free(L.keys);
  pt_free(L.map);
  pt_free(L.prices->keys);
  pt_free(L.prices->bytes);
  pt_free(L.prices->used);
  pt_free(L.shifts);
  if (out)
    *out = g;
  return PT_OK;
}

void pt_lower_stats_free(pt_lower_stats *s) {
  pt_free(s->records);
  memset(s, 0, sizeof *s);
}
