/* The analysis behind `partita explain` and `partition`'s tables: origin
 * chains, per-value tables and layout pictures as data (tactics/analysis.h). */
#include "analysis.h"

#include <fnmatch.h>
#include <string.h>

#include "shard_rules.h"

pt_status pt_analysis_apply(pt_analysis *a, pt_func *f, const pt_schedule *s, pt_diag *d) {
  memset(a, 0, sizeof *a);
  a->f = f;
  a->s = s;
  int naxes = f->module->mesh.naxes;
  a->ntext = f->nvalues;
  a->in_text = pt_calloc((size_t)f->nvalues + 1, sizeof *a->in_text);
  for (int i = 0; i < f->nargs + f->nops; i++) {
    pt_value *v = i < f->nargs ? f->args[i] : f->ops[i - f->nargs]->result;
    for (int ax = 0; ax < naxes; ax++)
      a->in_text[v->id][ax] = pt_sharding_axis(v, ax).kind != PT_SH_UNKNOWN;
  }
  if (pt_schedule_apply(f, s, &a->rep, d) != PT_OK)
    return PT_ERR;
  a->names = pt_value_names(f);
  return PT_OK;
}

void pt_analysis_free(pt_analysis *a) {
  if (a->f && a->names)
    pt_value_names_free(a->f, a->names);
  pt_free(a->in_text);
  pt_prop_report_free(&a->rep);
  memset(a, 0, sizeof *a);
}

bool pt_analysis_in_text(const pt_analysis *a, const pt_value *v, int axis) {
  return v->id < a->ntext && a->in_text[v->id][axis];
}

const char *pt_analysis_name(const pt_analysis *a, const pt_value *v) {
  return a->names && v->id < a->f->nvalues && a->names[v->id] ? a->names[v->id] : "?";
}

pt_value *pt_analysis_find(const pt_analysis *a, const char *name) {
  if (name[0] == '%')
    name++;
  const pt_func *f = a->f;
  for (int i = 0; i < f->nargs + f->nops; i++) {
    pt_value *v = i < f->nargs ? f->args[i] : f->ops[i - f->nargs]->result;
    if (v && strcmp(pt_analysis_name(a, v), name) == 0)
      return v;
  }
  return NULL;
}

int pt_analysis_close_names(const pt_analysis *a, const char *name, const char **best, int max) {
  if (name[0] == '%')
    name++;
  const pt_func *f = a->f;
  enum { MAXS = 8 };
  int bd[MAXS], nb = 0;
  const char *bn[MAXS];
  int limit = (int)strlen(name) / 3 > 2 ? (int)strlen(name) / 3 : 2;
  for (int i = 0; i < f->nargs + f->nops; i++) {
    const pt_value *v = i < f->nargs ? f->args[i] : f->ops[i - f->nargs]->result;
    const char *vn = pt_analysis_name(a, v);
    int dd = pt_edit_distance(name, vn);
    if (dd > limit && !(strlen(name) >= 2 && strstr(vn, name)))
      continue;
    if (dd > limit)
      dd = limit + 1;
    if (nb == MAXS && bd[MAXS - 1] <= dd)
      continue; /* the list is full of closer names */
    int k = nb < MAXS ? nb++ : MAXS - 1;
    while (k > 0 && bd[k - 1] > dd) {
      bn[k] = bn[k - 1];
      bd[k] = bd[k - 1];
      k--;
    }
    bn[k] = vn;
    bd[k] = dd;
  }
  int n = nb < max ? nb : max;
  for (int i = 0; i < n; i++)
    best[i] = bn[i];
  return n;
}

const char *pt_analysis_tactic(const pt_analysis *a, int t) {
  return t >= 0 && t < a->s->ntactics ? a->s->tactics[t].name : NULL;
}

/* ---- origin chains ------------------------------------------------------- */

typedef struct {
  int axis;
  int *depth;       /* per value id: steps to a seed; -2 unknown, -1 being computed */
  pt_shift *shifts; /* by result id: a shift's outer op reads its source */
} chain;

enum { FAR = 1 << 28 };

/* The factor the layout s of the value at position `pos` of op names under
 * rule r (pos -1: the result), or -1. */
static int factor_at(const pt_shard_rule *r, int pos, pt_axis_state s) {
  if (s.kind != PT_SH_SHARDED || s.dim < 0)
    return -1;
  return pos < 0 ? r->result[s.dim] : pt_rule_operand_factor(r, pos, s.dim);
}

static bool is_reduce(const pt_shard_rule *r, int f, pt_shkind partial) {
  if (f < 0)
    return false;
  return partial == PT_SH_PARTIAL_SUM ? r->kind[f] == PT_FACTOR_REDUCE_SUM
                                      : r->kind[f] == PT_FACTOR_REDUCE_MAX;
}

/* Whether the value at position q voted, at op, for the layout v has at
 * position p: both name the same factor (a partial result names the op's
 * reduction factor), or op is linear and an operand's partial sum made the
 * result's (shard_rules.h, pt_op_passes_partial_sum). */
static bool agrees(const pt_op *op, const pt_shard_rule *r, int p, pt_axis_state vs, int q,
                   pt_axis_state ws) {
  if (pt_op_passes_partial_sum(op) && vs.kind == PT_SH_PARTIAL_SUM &&
      ws.kind == PT_SH_PARTIAL_SUM && (p < 0) != (q < 0))
    return true;
  int fv = factor_at(r, p, vs), fw = factor_at(r, q, ws);
  if (fv >= 0 && fw >= 0)
    return fv == fw;
  if (p < 0 && (vs.kind == PT_SH_PARTIAL_SUM || vs.kind == PT_SH_PARTIAL_MAX))
    return is_reduce(r, fw, (pt_shkind)vs.kind);
  if (q < 0 && (ws.kind == PT_SH_PARTIAL_SUM || ws.kind == PT_SH_PARTIAL_MAX))
    return is_reduce(r, fv, (pt_shkind)ws.kind);
  return false;
}

/* v's position at op: -1 for the result, else its first operand index. */
static int position(pt_value *const *operands, int n, const pt_op *op, const pt_value *v) {
  if (op->result == v)
    return -1;
  for (int i = 0; i < n; i++)
    if (operands[i] == v)
      return i;
  return -2;
}

static int depth_of(chain *c, const pt_value *v);

/* The value around v's `via` op that carried the layout to v, choosing the
 * one closest to a seed; NULL if none is found. */
static const pt_value *voter(chain *c, const pt_value *v) {
  pt_axis_state vs = pt_sharding_axis(v, c->axis);
  const pt_op *op = vs.via;
  if (!op)
    return NULL;
  pt_shard_rule r;
  pt_value *const *operands, *source;
  /* propagation's view: a shift goes from its source to its result */
  int n = pt_rule_view(op, &c->shifts[op->result->id], &r, &operands, &source);
  int p = position(operands, n, op, v);
  if (p < -1)
    return NULL;
  const pt_value *best = NULL, *fallback = NULL;
  int bestd = FAR + 1;
  for (int q = -1; q < n; q++) {
    const pt_value *w = q < 0 ? op->result : operands[q];
    if (w == v)
      continue;
    pt_axis_state ws = pt_sharding_axis(w, c->axis);
    if (ws.kind == PT_SH_UNKNOWN || ws.kind == PT_SH_REPLICATED || !agrees(op, &r, p, vs, q, ws))
      continue;
    if (ws.via == op) { /* decided by the same op at the same time */
      fallback = fallback ? fallback : w;
      continue;
    }
    int d = depth_of(c, w);
    if (d < bestd) {
      bestd = d;
      best = w;
    }
  }
  return best ? best : fallback;
}

static int depth_of(chain *c, const pt_value *v) {
  int *slot = &c->depth[v->id];
  if (*slot == -1)
    return FAR; /* a cycle: not a way back to a seed */
  if (*slot >= 0)
    return *slot;
  pt_axis_state s = pt_sharding_axis(v, c->axis);
  if (!s.via) {
    *slot = 0;
    return 0;
  }
  *slot = -1;
  const pt_value *w = voter(c, v);
  int d = w && w != v ? depth_of(c, w) : FAR;
  *slot = d >= FAR ? FAR : d + 1;
  return *slot;
}

/* The script entry that seeded v along tactic t's axis, or NULL. */
static const pt_tactic_entry *seed_entry(const pt_tactic *t, const pt_value *v, pt_axis_state s) {
  bool rep = s.kind == PT_SH_REPLICATED;
  const pt_tactic_entry *es = rep ? t->replicate : t->shard;
  int n = rep ? t->nreplicate : t->nshard;
  for (int i = 0; i < n; i++)
    if (v->name && fnmatch(es[i].glob, v->name, 0) == 0 && (rep || es[i].dim == s.dim))
      return &es[i];
  return NULL;
}

/* Fills the root part of o for v, a value no op decided along o->axis. */
static void root_of(const pt_analysis *a, const pt_value *v, pt_origin *o) {
  pt_axis_state s = pt_sharding_axis(v, o->axis);
  o->root = v;
  if (s.tactic >= 0 && s.tactic < a->s->ntactics) {
    o->kind = PT_ORIGIN_TACTIC;
    o->tactic = s.tactic;
    o->entry = seed_entry(&a->s->tactics[s.tactic], v, s);
    return;
  }
  if (pt_analysis_in_text(a, v, o->axis)) {
    o->kind = PT_ORIGIN_TEXT;
    return;
  }
  o->kind = PT_ORIGIN_NONE;
  o->conflicts = pt_calloc((size_t)a->rep.nconflicts + 1, sizeof *o->conflicts);
  for (int i = 0; i < a->rep.nconflicts; i++) {
    const pt_conflict *c = &a->rep.conflicts[i];
    if (c->axis != o->axis)
      continue;
    bool touches = c->op->result == v;
    for (int k = 0; k < c->op->noperands; k++)
      touches |= c->op->operands[k] == v;
    if (touches)
      o->conflicts[o->nconflicts++] = c;
  }
}

void pt_analysis_origin(const pt_analysis *a, const pt_value *v, int axis, pt_origin *o) {
  const pt_func *f = a->f;
  memset(o, 0, sizeof *o);
  o->axis = axis;
  o->tactic = -1;
  o->steps = pt_calloc((size_t)f->nvalues + 2, sizeof *o->steps);
  int *depth = pt_calloc((size_t)f->nvalues + 1, sizeof *depth);
  for (int i = 0; i < f->nvalues; i++)
    depth[i] = -2;
  chain c = {axis, depth, pt_shifts_find(f)};
  const pt_value *cur = v;
  o->kind = PT_ORIGIN_ENDLESS;
  for (int steps = 0; steps <= f->nvalues; steps++) {
    pt_axis_state cs = pt_sharding_axis(cur, axis);
    if (!cs.via) {
      root_of(a, cur, o);
      break;
    }
    o->steps[o->nsteps++] = (pt_origin_step){cur, cs.via};
    depth_of(&c, cur);
    const pt_value *w = voter(&c, cur);
    if (!w) {
      o->kind = PT_ORIGIN_LOST;
      break;
    }
    cur = w;
  }
  pt_free(depth);
  pt_free(c.shifts);
}

void pt_origin_free(pt_origin *o) {
  pt_free(o->steps);
  pt_free(o->conflicts);
  memset(o, 0, sizeof *o);
}

/* ---- per-value tables ---------------------------------------------------- */

static pt_value_row row_of(const pt_value *v, const char *label) {
  pt_value_row r = {v, label, pt_sharding_local_type(v), 0, pt_type_bytes(&v->type)};
  r.local_bytes = pt_type_bytes(&r.local);
  return r;
}

void pt_analysis_tables(const pt_analysis *a, uint64_t min_bytes, pt_shard_tables *t) {
  const pt_func *f = a->f;
  memset(t, 0, sizeof *t);
  t->min_bytes = min_bytes;
  t->args.rows = pt_calloc((size_t)f->nargs + 1, sizeof *t->args.rows);
  for (int i = 0; i < f->nargs; i++) {
    pt_value_row r = row_of(f->args[i], NULL);
    t->args.rows[t->args.n++] = r;
    t->arg_local += r.local_bytes;
    t->arg_global += r.global_bytes;
  }
  t->results.rows = pt_calloc((size_t)f->nresults + 1, sizeof *t->results.rows);
  for (int i = 0; i < f->nresults; i++)
    t->results.rows[t->results.n++] = row_of(f->results[i].value, f->results[i].name);
  t->inter.rows = pt_calloc((size_t)f->nops + 1, sizeof *t->inter.rows);
  for (int i = 0; i < f->nops; i++) {
    if (!f->ops[i]->result)
      continue;
    pt_value_row r = row_of(f->ops[i]->result, NULL);
    if (r.local_bytes >= min_bytes)
      t->inter.rows[t->inter.n++] = r;
  }
}

void pt_shard_tables_free(pt_shard_tables *t) {
  pt_free(t->args.rows);
  pt_free(t->results.rows);
  pt_free(t->inter.rows);
  memset(t, 0, sizeof *t);
}

/* ---- layout pictures ----------------------------------------------------- */

void pt_layout_map_build(const pt_mesh *m, const pt_value *v, pt_layout_map *out) {
  memset(out, 0, sizeof *out);
  int rank = v->type.rank;
  out->rank = rank;
  out->devices = 1;
  for (int a = 0; a < m->naxes; a++)
    out->devices *= m->sizes[a];
  /* blocks along each drawn dimension */
  int64_t nblk[2] = {1, 1};
  const pt_sharding *sh = v->sharding;
  for (int d = 0; d < rank && d < 2; d++)
    for (int k = 0; sh && k < sh->norder[d]; k++)
      nblk[d] *= m->sizes[sh->order[d][k]];
  out->rows = rank == 2 ? nblk[0] : 1;
  out->cols = rank == 2 ? nblk[1] : nblk[0];
  int64_t nb = out->rows * out->cols, ndev = out->devices;
  if (nb > PT_LAYOUT_MAX_BLOCKS || ndev > PT_LAYOUT_MAX_DEVICES)
    return;
  out->blocks = pt_calloc((size_t)nb, sizeof *out->blocks);
  out->devs = pt_calloc((size_t)ndev + 1, sizeof *out->devs);
  int64_t *block_of = pt_calloc((size_t)ndev + 1, sizeof *block_of);
  for (int64_t dev = 0; dev < ndev; dev++) {
    int64_t coord[PT_MAX_AXES], rest = dev;
    for (int a = m->naxes - 1; a >= 0; a--) {
      coord[a] = rest % m->sizes[a];
      rest /= m->sizes[a];
    }
    int64_t idx[2] = {0, 0};
    for (int d = 0; d < rank && d < 2; d++)
      for (int k = 0; sh && k < sh->norder[d]; k++)
        idx[d] = idx[d] * m->sizes[sh->order[d][k]] + coord[sh->order[d][k]];
    block_of[dev] = rank == 2 ? idx[0] * out->cols + idx[1] : idx[0];
    out->blocks[block_of[dev]].ndevices++;
  }
  /* each block's devices, ascending, as consecutive runs of devs */
  int64_t at = 0;
  for (int64_t b = 0; b < nb; b++) {
    out->blocks[b].devices = out->devs + at;
    at += out->blocks[b].ndevices;
    out->blocks[b].ndevices = 0;
  }
  for (int64_t dev = 0; dev < ndev; dev++) {
    pt_layout_cell *b = &out->blocks[block_of[dev]];
    out->devs[(b->devices - out->devs) + b->ndevices++] = dev;
  }
  pt_free(block_of);
  int64_t l0 = pt_sharding_local_dim(v, 0), l1 = rank == 2 ? pt_sharding_local_dim(v, 1) : 0;
  for (int64_t r = 0; r < out->rows; r++)
    for (int64_t c = 0; c < out->cols; c++) {
      pt_layout_cell *b = &out->blocks[r * out->cols + c];
      if (rank == 2) {
        b->lo[0] = r * l0, b->hi[0] = (r + 1) * l0;
        b->lo[1] = c * l1, b->hi[1] = (c + 1) * l1;
      } else {
        b->lo[0] = c * l0, b->hi[0] = (c + 1) * l0;
      }
    }
}

void pt_layout_map_free(pt_layout_map *l) {
  pt_free(l->blocks);
  pt_free(l->devs);
  memset(l, 0, sizeof *l);
}
