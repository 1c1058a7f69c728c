/* Element-wise fusion groups (see fusion.h). */
#include "fusion.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

/* A group stays small enough that checking a candidate member against the
 * group's readers stays cheap (and the JIT's functions stay short). */
#define MAX_MEMBERS 64

bool pt_fusion_default(void) {
  const char *s = getenv("PT_FUSION");
  return !(s && strcmp(s, "0") == 0);
}

bool pt_fusion_epilogue_default(void) {
  const char *s = getenv("PT_GEMM_EPILOGUE");
  return !(s && strcmp(s, "0") == 0);
}

static bool is_f32(const pt_value *v) {
  return v->type.dtype == PT_F32;
}

bool pt_fusion_member_op(const pt_op *op) {
  if (op->code == PT_OP_CONVERT) /* a mask as 1.0 and 0.0 */
    return is_f32(op->result) && op->operands[0]->type.dtype == PT_PRED;
  switch (pt_optab[op->code].cls) {
  case PT_CLS_UNARY:
  case PT_CLS_BINARY:
    return is_f32(op->result);
  case PT_CLS_COMPARE:
    return is_f32(op->operands[0]);
  case PT_CLS_SELECT:
    return is_f32(op->result) && op->operands[0]->type.dtype == PT_PRED;
  default:
    return false;
  }
}

bool pt_fusion_row_reduce(const pt_op *op) {
  if (op->code != PT_OP_REDUCE_SUM && op->code != PT_OP_REDUCE_MAX)
    return false;
  const pt_value *x = op->operands[0];
  int64_t dims[PT_MAX_RANK];
  int nd = pt_op_ints(op, PT_A_DIMS, dims, PT_MAX_RANK);
  return is_f32(x) && is_f32(op->result) && x->type.rank >= 1 && pt_type_numel(&x->type) > 0 &&
         nd == 1 && dims[0] == x->type.rank - 1;
}

bool pt_fusion_col_reduce(const pt_op *op) {
  if (op->code != PT_OP_REDUCE_SUM)
    return false;
  const pt_value *x = op->operands[0];
  int64_t dims[PT_MAX_RANK];
  int nd = pt_op_ints(op, PT_A_DIMS, dims, PT_MAX_RANK);
  bool last = false;
  for (int k = 0; k < nd; k++)
    last |= dims[k] == x->type.rank - 1;
  return is_f32(x) && is_f32(op->result) && x->type.rank >= 2 && pt_type_numel(&x->type) > 0 &&
         nd >= 1 && !last && pt_type_numel(&op->result->type) <= PT_FUSION_COL_MAX;
}

bool pt_fusion_reduce(const pt_op *op) {
  return pt_fusion_row_reduce(op) || pt_fusion_col_reduce(op);
}

/* A constant holding one value (an f32 splat). */
static bool splat_of(const pt_value *v, double *out) {
  const pt_op *c = v->def;
  if (!c || c->code != PT_OP_CONSTANT || !is_f32(v))
    return false;
  const pt_aval *a = &pt_op_attr(c, PT_A_VALUE)->val;
  if (a->kind == PT_AV_LIST) {
    if (a->n != 1)
      return false;
    a = &a->items[0];
  }
  if (a->kind != PT_AV_FLOAT && a->kind != PT_AV_INT)
    return false;
  *out = a->kind == PT_AV_FLOAT ? a->f : (double)a->i;
  return true;
}

pt_fusion_access pt_fusion_read(const pt_value *v) {
  pt_fusion_access r = {false, 0, v, NULL};
  if (splat_of(v, &r.value)) {
    r.splat = true;
    r.src = NULL;
  } else if (v->def && v->def->code == PT_OP_BROADCAST &&
             (v->type.dtype == PT_F32 || v->type.dtype == PT_PRED)) {
    r.bcast = v->def;
    r.src = v->def->operands[0];
    if (splat_of(r.src, &r.value)) {
      r.splat = true;
      r.src = NULL;
      r.bcast = NULL;
    }
  }
  return r;
}

typedef struct {
  int *ops, nops, cap;
  int first;   /* -1: merged into another group */
  bool sealed; /* a sum a GEMM accumulates into (sum_epilogue): alone */
} group;

static int by_index(const void *a, const void *b) {
  return *(const int *)a - *(const int *)b;
}

/* Whether v is read as it is stored (not a splat, not through a broadcast)
 * and has the group's shape. */
static bool plain_read(const pt_fusion_group *fg, const pt_value *v) {
  pt_fusion_access a = pt_fusion_read(v);
  return !a.splat && !a.bcast && pt_type_equal(&v->type, &fg->shape);
}

/* Whether d is an all_reduce a reduction epilogue (fusion.h) can take in. */
static bool reducible(const pt_value *d) {
  return d->def && d->def->code == PT_OP_ALL_REDUCE && d->type.dtype == PT_F32 &&
         strcmp(pt_op_ident(d->def, PT_A_REDUCE), "sum") == 0 &&
         pt_type_equal(&d->def->operands[0]->type, &d->type);
}

/* Whether d is a value an epilogue can take in: a plain GEMM's result
 * (runtime/exec.h pt_exec_dot_gemm: no batch, copies or flip) or an
 * all_reduce's sum, read once and not returned. */
static bool epilogue_term(const pt_value *d, const int *ustart, const bool *returned) {
  if (!d->def || returned[d->id] || ustart[d->id + 1] - ustart[d->id] != 1)
    return false;
  if (reducible(d))
    return pt_fusion_reduce_epilogue_default();
  pt_exec_gemm gm;
  return d->def->code == PT_OP_DOT && pt_exec_dot_gemm(d->def, &gm) && gm.batch == 1 &&
         !gm.flipped && !gm.lhs_copied && !gm.rhs_copied && gm.m <= INT_MAX && gm.n <= INT_MAX &&
         gm.k <= INT_MAX;
}

/* Whether v is read as stored with op's result's f32 type. */
static bool same_plain(const pt_op *op, const pt_value *v) {
  pt_fusion_access a = pt_fusion_read(v);
  return !a.splat && !a.bcast && v->type.dtype == PT_F32 &&
         pt_type_equal(&v->type, &op->result->type);
}

/* Whether op adds a dot's result to acc: acc + d, d + acc or acc - d, d a
 * dot's result an epilogue can take in, acc read by op alone. */
static bool adds_dot(const pt_op *op, const int *ustart, const bool *returned) {
  if ((op->code != PT_OP_ADD && op->code != PT_OP_SUB) || op->operands[0] == op->operands[1] ||
      op->result->type.dtype != PT_F32)
    return false;
  for (int side = 1; side >= (op->code == PT_OP_SUB ? 1 : 0); side--) {
    const pt_value *d = op->operands[side], *acc = op->operands[1 - side];
    if (d->def && d->def->code == PT_OP_DOT && epilogue_term(d, ustart, returned) &&
        same_plain(op, d) && same_plain(op, acc) && acc->def && !returned[acc->id] &&
        ustart[acc->id + 1] - ustart[acc->id] == 1)
      return true;
  }
  return false;
}

/* Whether op is a sum of GEMM results to accumulate (fusion.h, GEMM
 * epilogues): it adds a dot's result (adds_dot), and its own result goes
 * only to an op no loop could take it into (a collective: the q, k and v
 * products' input gradients before their all_reduce) or to another such
 * sum. The dot then adds into acc's bytes, where a loop of its own would
 * read both and write the sum. Where the sum could join the loop reading
 * it, it does, and reads the terms there. */
static bool sum_epilogue(const pt_func *g, const pt_op *op, const int *ustart, const int *use,
                         const bool *returned) {
  for (int hops = 0; hops < 4; hops++) {
    int v = op->result->id;
    if (!adds_dot(op, ustart, returned) || returned[v] || ustart[v + 1] - ustart[v] != 1)
      return false;
    const pt_op *r = g->ops[use[ustart[v]]];
    if (!pt_fusion_member_op(r) && !pt_fusion_reduce(r))
      return true;
    op = r;
  }
  return false;
}

/* Makes group gi a GEMM epilogue (fusion.h) if it is one: {m = c * d (or
 * d * c), out = acc - m | acc + m | m + acc}, or alone {out = acc - d |
 * acc + d | d + acc} (c = 1), d a plain GEMM's result read only by m (or
 * the sum); or a reduction epilogue, d an all_reduce's sum read only so. */
static void plan_epilogue(const pt_func *g, pt_fusion_plan *p, int gi, const int *def,
                          const int *ustart, const bool *returned) {
  pt_fusion_group *fg = &p->groups[gi];
  if (fg->nops < 1 || fg->nops > 2 || fg->noutputs != 1)
    return;
  const pt_op *m = fg->nops == 2 ? g->ops[fg->ops[0]] : NULL, *s = g->ops[fg->ops[fg->nops - 1]];
  if ((m && m->code != PT_OP_MUL) || (s->code != PT_OP_SUB && s->code != PT_OP_ADD) ||
      fg->outputs[0] != s->result)
    return;
  /* the terms: m's operands (scaled by the other), or the sum's own */
  const pt_value *term[2], *scale[2] = {NULL, NULL}, *acc = NULL;
  int nterms = 0;
  if (m) {
    int side = s->operands[0] == m->result ? 0 : s->operands[1] == m->result ? 1 : -1;
    if (side < 0 || (side == 0 && s->code == PT_OP_SUB) || s->operands[1 - side] == m->result)
      return;
    acc = s->operands[1 - side];
    for (int j = 0; j < 2; j++) {
      term[nterms] = m->operands[j];
      scale[nterms++] = m->operands[1 - j];
    }
  } else {
    for (int side = 1; side >= (s->code == PT_OP_SUB ? 1 : 0); side--)
      term[nterms++] = s->operands[side];
  }
  for (int j = 0; j < nterms; j++) {
    const pt_value *d = term[j];
    if (!m)
      acc = s->operands[s->operands[0] == d ? 1 : 0];
    double c = 1;
    if (scale[j]) {
      pt_fusion_access a = pt_fusion_read(scale[j]);
      if (!a.splat)
        continue;
      c = a.value;
    }
    if (acc == d || !epilogue_term(d, ustart, returned) || !plain_read(fg, d) ||
        !plain_read(fg, acc))
      continue;
    float alpha = s->code == PT_OP_SUB ? -(float)c : (float)c;
    if (reducible(d)) {
      if (d->def->operands[0] == acc)
        continue;
      fg->reduce = d->def;
      fg->reduce_at = def[d->id];
      fg->acc = acc;
      fg->alpha = alpha;
      p->group_of[fg->reduce_at] = gi;
      fg->inputs[0] = acc; /* then the all_reduce's operand */
      fg->inputs[1] = d->def->operands[0];
      fg->ninputs = 2;
      return;
    }
    fg->acc = acc;
    fg->alpha = alpha;
    fg->dot = d->def;
    fg->dot_at = def[d->id];
    p->group_of[fg->dot_at] = gi;
    /* inputs: acc, then the dot's operands, each once */
    fg->ninputs = 0;
    const pt_value *in[3] = {acc, d->def->operands[0], d->def->operands[1]};
    for (int k = 0; k < 3; k++) {
      bool seen = false;
      for (int q = 0; q < fg->ninputs; q++)
        seen |= fg->inputs[q] == in[k];
      if (!seen)
        fg->inputs[fg->ninputs++] = in[k];
    }
    return;
  }
}

bool pt_fusion_reduce_default(void) {
  const char *env = getenv("PT_ROW_REDUCE");
  return !(env && strcmp(env, "0") == 0);
}

int pt_fusion_timed_at(const pt_fusion_group *grp) {
  return grp->dot ? grp->dot_at : grp->reduce ? grp->reduce_at : grp->at;
}

bool pt_fusion_reduce_epilogue_default(void) {
  const char *env = getenv("PT_REDUCE_EPILOGUE");
  return !(env && strcmp(env, "0") == 0);
}

bool pt_fusion_strided_default(void) {
  const char *env = getenv("PT_STRIDED_DOTS");
  return !(env && strcmp(env, "0") == 0);
}

/* Whether value v has bytes of its own under plan p so far: an argument,
 * or the result of an op that runs (not absorbed, not a group's inner
 * value, not a dot writing through a transpose). */
static bool stored(const pt_fusion_plan *p, const pt_value *v) {
  int d = p->def[v->id];
  if (d < 0)
    return true;
  if (p->absorbed[d] || p->writes_into[d] >= 0)
    return false;
  int gi = p->group_of[d];
  if (gi < 0)
    return true;
  for (int k = 0; k < p->groups[gi].noutputs; k++)
    if (p->groups[gi].outputs[k] == v)
      return true;
  return false;
}

/* Whether dot op i (not in a group) runs through the transposes the plan
 * has for it, plus `extra` read (as operand j) or written (j = 2). */
static bool dot_fits(const pt_func *g, const pt_fusion_plan *p, int i, const pt_op *extra, int j) {
  const pt_op *op = g->ops[i], *t[3] = {NULL, NULL, NULL};
  if (p->group_of[i] >= 0 || p->absorbed[i])
    return false;
  for (int k = 0; k < 2; k++) {
    int d = p->def[op->operands[k]->id];
    if (d >= 0 && p->thru[d] == PT_THRU_READ)
      t[k] = g->ops[d];
  }
  if (p->writes_into[i] >= 0)
    t[2] = g->ops[p->writes_into[i]];
  if (extra) {
    if (j < 2 && op->operands[0] == op->operands[1]) /* x . x: both sides alike */
      t[0] = t[1] = extra;
    else
      t[j] = extra;
  }
  return pt_exec_dot_through(op, t[0], t[1], t[2]);
}

/* Strided dots (fusion.h): in program order, a transpose becomes read
 * through by the dots reading it, or else written through by the dot
 * computing its operand, where every dot concerned still runs without
 * copies. */
static void plan_through(const pt_func *g, pt_fusion_plan *p, const int *ustart, const int *use,
                         const bool *returned) {
  for (int i = 0; i < g->nops; i++) {
    const pt_op *t = g->ops[i];
    if (t->code != PT_OP_TRANSPOSE || t->result->type.dtype != PT_F32 || p->group_of[i] >= 0 ||
        p->absorbed[i] || returned[t->result->id])
      continue;
    int v = t->result->id, x = t->operands[0]->id;
    bool read = ustart[v + 1] > ustart[v] && stored(p, t->operands[0]);
    for (int u = ustart[v]; u < ustart[v + 1] && read; u++) {
      const pt_op *r = g->ops[use[u]];
      read = r->code == PT_OP_DOT && dot_fits(g, p, use[u], t, r->operands[0] == t->result ? 0 : 1);
    }
    if (read) {
      p->thru[i] = PT_THRU_READ;
      p->absorbed[i] = true;
      continue;
    }
    int d = p->def[x];
    if (d >= 0 && g->ops[d]->code == PT_OP_DOT && ustart[x + 1] - ustart[x] == 1 && !returned[x] &&
        p->writes_into[d] < 0 && dot_fits(g, p, d, t, 2)) {
      p->thru[i] = PT_THRU_WRITE;
      p->absorbed[i] = true;
      p->writes_into[d] = i;
    }
  }
}

static bool has_op(const group *gr, int i) {
  for (int k = 0; k < gr->nops; k++)
    if (gr->ops[k] == i)
      return true;
  return false;
}

/* Whether a member of gr reads x as an input (x defined outside gr), as
 * stored or through a broadcast. */
static bool reads_input(const pt_func *g, const group *gr, const int *def, const pt_value *x) {
  if (x->def && has_op(gr, def[x->id]))
    return false;
  for (int k = 0; k < gr->nops; k++) {
    const pt_op *op = g->ops[gr->ops[k]];
    for (int j = 0; j < op->noperands; j++)
      if (pt_fusion_read(op->operands[j]).src == x)
        return true;
  }
  return false;
}

/* An op worth more than the load of its result: the JIT's exp, log, tanh
 * and logistic, and what goes through the C library. */
static bool costly(const pt_op *op) {
  switch (op->code) {
  case PT_OP_EXP:
  case PT_OP_LOG:
  case PT_OP_TANH:
  case PT_OP_LOGISTIC:
  case PT_OP_SIN:
  case PT_OP_COS:
  case PT_OP_POW:
  case PT_OP_RSQRT:
  case PT_OP_SQRT:
    return true;
  default:
    return false;
  }
}

bool pt_fusion_recompute_default(void) {
  const char *env = getenv("PT_RECOMPUTE");
  return !(env && strcmp(env, "0") == 0);
}

/* Recomputed values (fusion.h): group `to` takes in the members of
 * another group that compute a value it reads, back to what `to` reads
 * already (or to one costly value of that group, which it then reads);
 * until nothing more is taken in. */
static void plan_recompute(const pt_func *g, const pt_fusion_plan *p, group *gs, const int *renum,
                           int to, const int *def) {
  group *gr = &gs[to];
  int cone[MAX_MEMBERS], ncone;
  for (bool more = true; more;) {
    more = false;
    for (int k = 0; k < gr->nops && !more; k++) {
      const pt_op *op = g->ops[gr->ops[k]];
      for (int j = 0; j < op->noperands && !more; j++) {
        const pt_value *v = op->operands[j];
        pt_fusion_access a = pt_fusion_read(v);
        if (a.splat || a.bcast || !v->def || has_op(gr, def[v->id]) || costly(g->ops[def[v->id]]))
          continue;
        int from = p->group_of[def[v->id]];
        if (from < 0 || from == to || renum[from] < 0)
          continue;
        /* v's members in its group, back to what `to` reads */
        bool ok = true;
        const pt_value *fresh = NULL; /* the costly value it would read */
        ncone = 0;
        cone[ncone++] = def[v->id];
        for (int c = 0; c < ncone && ok; c++) {
          const pt_op *x = g->ops[cone[c]];
          ok = !pt_fusion_reduce(x);
          for (int q = 0; q < x->noperands && ok; q++) {
            pt_fusion_access b = pt_fusion_read(x->operands[q]);
            if (b.splat)
              continue;
            int d = b.src->def ? def[b.src->id] : -1;
            bool inside = d >= 0 && !b.bcast && p->group_of[d] == from;
            if ((d >= 0 && !b.bcast && has_op(gr, d)) || reads_input(g, gr, def, b.src))
              continue; /* computed or read by `to` already */
            if (inside && costly(g->ops[d])) {
              ok = !fresh || fresh == b.src;
              fresh = b.src;
              continue;
            }
            bool seen = false;
            for (int w = 0; w < ncone; w++)
              seen |= cone[w] == d;
            ok = inside && (seen || ncone + gr->nops < MAX_MEMBERS);
            if (ok && !seen)
              cone[ncone++] = d;
          }
        }
        if (!ok)
          continue;
        if (gr->nops + ncone > gr->cap) {
          gr->cap = gr->nops + ncone + 4;
          gr->ops = pt_realloc(gr->ops, (size_t)gr->cap * sizeof *gr->ops);
        }
        for (int c = 0; c < ncone; c++)
          gr->ops[gr->nops++] = cone[c];
        qsort(gr->ops, (size_t)gr->nops, sizeof *gr->ops, by_index);
        more = true;
      }
    }
  }
}

void pt_plan_fusion(const pt_func *g, bool enable, pt_fusion_plan *p) {
  memset(p, 0, sizeof *p);
  int nops = g->nops, nv = g->nvalues;
  size_t o1 = (size_t)(nops ? nops : 1), v1 = (size_t)(nv ? nv : 1);
  p->group_of = pt_malloc(o1 * sizeof *p->group_of);
  p->absorbed = pt_calloc(o1, sizeof *p->absorbed);
  p->thru = pt_calloc(o1, sizeof *p->thru);
  p->writes_into = pt_malloc(o1 * sizeof *p->writes_into);
  p->def = pt_malloc(v1 * sizeof *p->def);
  for (int i = 0; i < nops; i++)
    p->group_of[i] = p->writes_into[i] = -1;
  for (int v = 0; v < nv; v++)
    p->def[v] = -1;
  for (int i = 0; i < nops; i++)
    p->def[g->ops[i]->result->id] = i;
  if (!enable)
    return;

  /* who reads what: users of value v are use[ustart[v] .. ustart[v+1]) */
  const int *def = p->def; /* the defining op of each value */
  int *ustart = pt_calloc(v1 + 1, sizeof *ustart);
  int nuses = 0;
  for (int i = 0; i < nops; i++) {
    for (int j = 0; j < g->ops[i]->noperands; j++)
      ustart[g->ops[i]->operands[j]->id + 1]++;
    nuses += g->ops[i]->noperands;
  }
  bool *returned = pt_calloc(v1, sizeof *returned);
  for (int i = 0; i < g->nresults; i++)
    returned[g->results[i].value->id] = true;
  for (int v = 0; v < nv; v++)
    ustart[v + 1] += ustart[v];
  int *use = pt_malloc((size_t)(nuses ? nuses : 1) * sizeof *use),
      *fill = pt_calloc(v1, sizeof *fill);
  for (int i = 0; i < nops; i++)
    for (int j = 0; j < g->ops[i]->noperands; j++) {
      int v = g->ops[i]->operands[j]->id;
      use[ustart[v] + fill[v]++] = i;
    }
  pt_free(fill);

  bool reductions = pt_fusion_reduce_default(), epilogues = pt_fusion_epilogue_default();
  group *gs = NULL;
  int ng = 0, capg = 0;
  for (int i = 0; i < nops; i++) {
    const pt_op *op = g->ops[i];
    bool reduce = reductions && pt_fusion_reduce(op);
    if (!pt_fusion_member_op(op) && !reduce)
      continue;
    bool seal = epilogues && sum_epilogue(g, op, ustart, use, returned);
    /* the groups this op could join: those of its operands, the largest
     * first, as many as fit in MAX_MEMBERS; it joins every one of them
     * that the readers allow, merging them into one group. A group's
     * reduction is read by none of its members: its value is whole only
     * when its row's (or the whole) loop ends. */
    int cand[3], nc = 0;
    for (int j = 0; j < op->noperands; j++) {
      int d = op->operands[j]->def ? def[op->operands[j]->id] : -1;
      int gi = d >= 0 && !pt_fusion_reduce(g->ops[d]) ? p->group_of[d] : -1;
      if (seal || (gi >= 0 && gs[gi].sealed))
        gi = -1;
      bool dup = false;
      for (int q = 0; q < nc; q++)
        dup |= cand[q] == gi;
      if (gi >= 0 && !dup)
        cand[nc++] = gi;
    }
    for (int q = 1; q < nc; q++)
      for (int w = q; w > 0 && gs[cand[w]].nops > gs[cand[w - 1]].nops; w--) {
        int t = cand[w];
        cand[w] = cand[w - 1];
        cand[w - 1] = t;
      }
    for (int q = 0, members = 1, kept = nc; q < kept; q++) {
      if (members + gs[cand[q]].nops > MAX_MEMBERS) {
        nc = q;
        break;
      }
      members += gs[cand[q]].nops;
    }
    /* drop a candidate whose values an op outside the merged groups reads
     * before op i (the merged group runs at i), or that defines the source
     * of a broadcast op i reads virtually; until none is dropped */
    for (int q = 0; q < nc;) {
      int gi = cand[q];
      bool ok = true;
      for (int k = 0; k < gs[gi].nops && ok; k++) {
        int v = g->ops[gs[gi].ops[k]]->result->id;
        for (int u = ustart[v]; u < ustart[v + 1] && ok; u++) {
          int ru = use[u];
          bool inside = ru == i;
          for (int w = 0; w < nc; w++)
            inside |= p->group_of[ru] == cand[w];
          ok = inside || ru > i;
        }
      }
      for (int k = 0; k < op->noperands && ok; k++) {
        pt_fusion_access a = pt_fusion_read(op->operands[k]);
        if (a.bcast && a.src->def && p->group_of[def[a.src->id]] == gi)
          ok = false;
      }
      if (ok) {
        q++;
      } else {
        for (int w = q; w + 1 < nc; w++) /* keep the order */
          cand[w] = cand[w + 1];
        nc--;
        q = 0; /* the others may have relied on it */
      }
    }
    if (reduce && nc == 0) /* a reduction joins its operand's group or runs alone */
      continue;
    int chosen = nc > 0 ? cand[0] : -1;
    for (int q = 1; q < nc; q++) { /* merge cand[q] into chosen, in program order */
      group *into = &gs[chosen], *from = &gs[cand[q]];
      if (into->nops + from->nops > into->cap) {
        into->cap = into->nops + from->nops + 4;
        into->ops = pt_realloc(into->ops, (size_t)into->cap * sizeof *into->ops);
      }
      for (int k = 0; k < from->nops; k++) {
        p->group_of[from->ops[k]] = chosen;
        into->ops[into->nops++] = from->ops[k];
      }
      qsort(into->ops, (size_t)into->nops, sizeof *into->ops, by_index);
      pt_free(from->ops);
      *from = (group){NULL, 0, 0, -1, false};
    }
    if (chosen < 0) {
      if (ng == capg) {
        capg = capg ? 2 * capg : 16;
        gs = pt_realloc(gs, (size_t)capg * sizeof *gs);
      }
      gs[ng] = (group){NULL, 0, 0, i, seal};
      chosen = ng++;
    }
    group *gr = &gs[chosen];
    if (gr->nops == gr->cap) {
      gr->cap = gr->cap ? 2 * gr->cap : 4;
      gr->ops = pt_realloc(gr->ops, (size_t)gr->cap * sizeof *gr->ops);
    }
    gr->ops[gr->nops++] = i;
    p->group_of[i] = chosen;
  }

  /* keep the groups that save a pass (two or more members, or a virtual
   * read) or that compute runtime/vmath.h's functions, which the JIT's loops
   * vectorise for the host's full vector width */
  int *renum = pt_malloc((size_t)(ng ? ng : 1) * sizeof *renum);
  p->groups = pt_calloc((size_t)(ng ? ng : 1), sizeof *p->groups);
  for (int gi = 0; gi < ng; gi++) {
    group *gr = &gs[gi];
    if (gr->nops == 0) { /* merged into another */
      renum[gi] = -1;
      continue;
    }
    const pt_op *only = g->ops[gr->ops[0]];
    bool keep = gr->nops >= 2 || gr->sealed || only->code == PT_OP_EXP ||
                only->code == PT_OP_TANH || only->code == PT_OP_LOGISTIC || only->code == PT_OP_LOG;
    for (int j = 0; j < only->noperands && !keep; j++) {
      pt_fusion_access a = pt_fusion_read(only->operands[j]);
      keep = a.splat || a.bcast;
    }
    renum[gi] = keep ? p->ngroups++ : -1;
  }
  /* recomputed values, with group_of still naming gs[] */
  if (pt_fusion_recompute_default())
    for (int gi = 0; gi < ng; gi++)
      if (renum[gi] >= 0)
        plan_recompute(g, p, gs, renum, gi, def);
  for (int i = 0; i < nops; i++)
    if (p->group_of[i] >= 0)
      p->group_of[i] = renum[p->group_of[i]];

  /* inputs, then outputs: a member's value is stored if another group
   * reads it (as an input: not one recomputing it), an op outside every
   * group reads it, it is returned, or nothing reads it (as every op's
   * result is when it runs on its own: a loop computing only values nobody
   * reads would be optimised away); a recomputed member's value is its own
   * group's */
  bool *needed = pt_calloc(v1, sizeof *needed);
  for (int gi = 0; gi < ng; gi++) {
    group *gr = &gs[gi];
    if (renum[gi] < 0) {
      pt_free(gr->ops);
      continue;
    }
    pt_fusion_group *fg = &p->groups[renum[gi]];
    fg->ops = gr->ops;
    fg->nops = gr->nops;
    fg->at = gr->ops[gr->nops - 1];
    fg->shape = g->ops[gr->ops[0]]->result->type; /* not a reduction's */
    fg->shape.dtype = PT_F32;
    int cap = 0;
    for (int k = 0; k < gr->nops; k++)
      cap += g->ops[gr->ops[k]]->noperands;
    /* at least 3: an epilogue's inputs are acc and the dot's operands */
    fg->inputs = pt_malloc((size_t)(cap > 3 ? cap : 3) * sizeof *fg->inputs);
    fg->outputs = pt_malloc((size_t)gr->nops * sizeof *fg->outputs);
    for (int k = 0; k < gr->nops; k++) {
      const pt_op *op = g->ops[gr->ops[k]];
      for (int j = 0; j < op->noperands; j++) {
        const pt_value *v = op->operands[j];
        if (v->def && has_op(gr, def[v->id]))
          continue;
        pt_fusion_access a = pt_fusion_read(v);
        if (a.splat)
          continue;
        bool seen = false;
        for (int q = 0; q < fg->ninputs && !seen; q++)
          seen = fg->inputs[q] == a.src;
        if (!seen) {
          fg->inputs[fg->ninputs++] = a.src;
          needed[a.src->id] = true;
        }
      }
    }
  }
  for (int me = 0; me < p->ngroups; me++) {
    pt_fusion_group *fg = &p->groups[me];
    for (int k = 0; k < fg->nops; k++) {
      if (p->group_of[fg->ops[k]] != me)
        continue;
      int v = g->ops[fg->ops[k]]->result->id;
      bool out = returned[v] || needed[v] || ustart[v + 1] == ustart[v];
      for (int u = ustart[v]; u < ustart[v + 1] && !out; u++)
        out = p->group_of[use[u]] < 0;
      if (out)
        fg->outputs[fg->noutputs++] = g->ops[fg->ops[k]]->result;
    }
  }
  pt_free(needed);
  pt_free(gs);
  pt_free(renum);
  if (pt_fusion_epilogue_default())
    for (int gi = 0; gi < p->ngroups; gi++)
      plan_epilogue(g, p, gi, def, ustart, returned);

  /* absorbed: broadcasts and constants every reader of which reads them
   * virtually (a member, or an absorbed broadcast); last to first, so a
   * constant behind an absorbed broadcast is absorbed too */
  for (int i = nops - 1; i >= 0; i--) {
    const pt_op *op = g->ops[i];
    if (op->code != PT_OP_BROADCAST && op->code != PT_OP_CONSTANT)
      continue;
    int v = op->result->id;
    bool all = !returned[v] && ustart[v + 1] > ustart[v];
    for (int u = ustart[v]; u < ustart[v + 1] && all; u++) {
      int r = use[u];
      const pt_op *reader = g->ops[r];
      if (p->group_of[r] >= 0) {
        pt_fusion_access a = pt_fusion_read(op->result);
        all = a.splat || a.bcast;
      } else {
        all = p->absorbed[r] && reader->code == PT_OP_BROADCAST &&
              pt_fusion_read(reader->result).splat;
      }
    }
    p->absorbed[i] = all;
  }
  if (pt_fusion_strided_default())
    plan_through(g, p, ustart, use, returned);
  pt_free(ustart);
  pt_free(use);
  pt_free(returned);
}

void pt_fusion_plan_free(pt_fusion_plan *p) {
  for (int i = 0; i < p->ngroups; i++) {
    pt_free(p->groups[i].ops);
    pt_free(p->groups[i].inputs);
    pt_free(p->groups[i].outputs);
  }
  pt_free(p->groups);
  pt_free(p->group_of);
  pt_free(p->absorbed);
  pt_free(p->thru);
  pt_free(p->writes_into);
  pt_free(p->def);
  memset(p, 0, sizeof *p);
}
