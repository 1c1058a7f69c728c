/* The buffer planner (see exec.h): where every value of a function lives,
 * by liveness. Pure, so the runtime's executor and the cost simulator share
 * it and agree on peak memory to the byte. */
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "fusion.h"

/* Sizes and offsets add up with pt_add_sat: a plan whose bytes leave int64
 * says INT64_MAX, which the executor and the simulator refuse as too big. */
static int64_t round64(int64_t n) {
  return n <= 0 ? 64 : n > INT64_MAX - 63 ? INT64_MAX : (n + 63) / 64 * 64;
}

typedef struct {
  int64_t bytes;
  int first, last;
  int order;       /* in the list: ties keep it, whatever qsort's stability */
  int64_t *offset; /* where to write the placement */
} interval;

static int by_size_desc(const void *a, const void *b) {
  const interval *x = a, *y = b;
  if (x->bytes != y->bytes)
    return x->bytes > y->bytes ? -1 : 1;
  if (x->first != y->first)
    return x->first < y->first ? -1 : 1;
  if (x->last != y->last)
    return x->last < y->last ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* ---- the temporaries' placement ----------------------------------------
 *
 * Greedy by size: each interval goes at the lowest offset where it overlaps
 * no placed interval live at the same time. Only the union of the offsets
 * those intervals occupy matters, so the placed intervals are indexed by
 * time in a segment tree over op positions, each node holding unions of
 * offset ranges (sorted, disjoint, touching ranges merged):
 *   cov(N): intervals of which N is a canonical node (the O(log n) maximal
 *           nodes that tile a live range), whose live range contains N's;
 *   sub(N): intervals with a canonical node in N's subtree, and maybe others
 *           that meet N's range (those with an end in it).
 * An interval meets a query range Q iff it is in sub(C) for a canonical node
 * C of Q, or in cov(A) for an ancestor A of such a C; every such A lies on
 * the path from Q's first or last leaf to the root. So a query reads
 * O(log n) sets and an insertion writes O(log n), instead of comparing with
 * every placed interval. Placed buffers pack tightly, so the unions hold few
 * ranges. The lowest fit over the sets walks them round-robin, raising the
 * candidate past any range it meets, until a full round meets none: the same
 * lowest offset the pairwise scan found, so the plans are unchanged. */

typedef struct {
  int64_t lo, hi;
} range;

typedef struct {
  range *r; /* sorted by lo, disjoint, not touching */
  int n, cap;
} rset;

/* The first range of s ending after x (s->n if none). */
static int rset_after(const rset *s, int64_t x) {
  int lo = 0, hi = s->n;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (s->r[mid].hi > x)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

static void rset_add(rset *s, int64_t lo, int64_t hi) {
  int i = rset_after(s, lo - 1), j = i; /* i: the first range touching or after */
  while (j < s->n && s->r[j].lo <= hi)
    j++;
  if (i == j) {
    PT_GROW(s->r, s->cap, s->n + 1);
    memmove(s->r + i + 1, s->r + i, (size_t)(s->n - i) * sizeof *s->r);
    s->r[i] = (range){lo, hi};
    s->n++;
    return;
  }
  range m = {lo < s->r[i].lo ? lo : s->r[i].lo, hi > s->r[j - 1].hi ? hi : s->r[j - 1].hi};
  s->r[i] = m;
  memmove(s->r + i + 1, s->r + j, (size_t)(s->n - j) * sizeof *s->r);
  s->n -= j - i - 1;
}

typedef struct {
  int leaves;      /* a power of two; leaf t is node leaves + t */
  rset *cov, *sub; /* per node, 1 .. 2 * leaves - 1 */
  const rset **q;  /* a query's nonempty sets: at most 4 per level */
} timeline;

static void tl_insert(timeline *t, int first, int last, int64_t lo, int64_t hi) {
  for (int a = first + t->leaves, b = last + t->leaves + 1; a < b; a >>= 1, b >>= 1) {
    if (a & 1) {
      rset_add(&t->cov[a], lo, hi);
      rset_add(&t->sub[a++], lo, hi);
    }
    if (b & 1) {
      rset_add(&t->cov[--b], lo, hi);
      rset_add(&t->sub[b], lo, hi);
    }
  }
  int a = first + t->leaves, b = last + t->leaves;
  for (; a != b; a >>= 1, b >>= 1) {
    rset_add(&t->sub[a], lo, hi);
    rset_add(&t->sub[b], lo, hi);
  }
  for (; a >= 1; a >>= 1)
    rset_add(&t->sub[a], lo, hi);
}

static int64_t tl_lowest_fit(timeline *t, int first, int last, int64_t bytes) {
  int k = 0;
  for (int a = first + t->leaves, b = last + t->leaves + 1; a < b; a >>= 1, b >>= 1) {
    if (a & 1 && t->sub[a++].n)
      t->q[k++] = &t->sub[a - 1];
    if (b & 1 && t->sub[--b].n)
      t->q[k++] = &t->sub[b];
  }
  /* the canonical nodes' ancestors, all on the two end leaves' paths (the
   * path's nodes at or below a canonical node only repeat what its sub has) */
  int a = (first + t->leaves) >> 1, b = (last + t->leaves) >> 1;
  for (; a != b; a >>= 1, b >>= 1) {
    if (t->cov[a].n)
      t->q[k++] = &t->cov[a];
    if (t->cov[b].n)
      t->q[k++] = &t->cov[b];
  }
  for (; a >= 1; a >>= 1)
    if (t->cov[a].n)
      t->q[k++] = &t->cov[a];
  int64_t at = 0;
  for (int i = 0, clean = 0; clean < k;) {
    const rset *s = t->q[i];
    int j = rset_after(s, at);
    if (j < s->n && s->r[j].lo < pt_add_sat(at, bytes)) {
      at = s->r[j].hi;
      clean = 0;
    } else {
      clean++;
      i = i + 1 < k ? i + 1 : 0;
    }
  }
  return at;
}

void pt_plan_buffers(const pt_func *g, pt_buffer_plan *p) {
  pt_fusion_plan f;
  pt_plan_fusion(g, pt_fusion_default(), &f);
  pt_plan_buffers_fused(g, &f, p);
  pt_fusion_plan_free(&f);
}

/* Whether group gi's loop reads x only at its own index: x is the group's
 * shape and no member reads it through a broadcast. */
static bool read_directly(const pt_func *g, const pt_fusion_group *grp, const pt_value *x) {
  if (!pt_type_equal(&x->type, &grp->shape))
    return false;
  for (int k = 0; k < grp->nops; k++) {
    const pt_op *op = g->ops[grp->ops[k]];
    for (int j = 0; j < op->noperands; j++) {
      pt_fusion_access a = pt_fusion_read(op->operands[j]);
      if (a.src == x && a.bcast)
        return false;
    }
  }
  return true;
}

/* Whether what runs at op index i (a group, or the op alone) may write v,
 * one of its stored results, over x, which it reads last: an in-place
 * kernel reading x, or a group reading x at its loop's own index (the JIT
 * then stores through x's pointer: runtime/jit.c). */
static bool may_write_over(const pt_func *g, const pt_fusion_plan *f, int i, const pt_value *x) {
  int gi = f->group_of[i];
  if (gi >= 0) {
    const pt_fusion_group *grp = &f->groups[gi];
    /* a GEMM epilogue writes over acc, which sgemm reads as C, unless its
     * product reads it too */
    if (grp->dot && (x != grp->acc || grp->dot->operands[0] == x || grp->dot->operands[1] == x))
      return false;
    /* a reduction epilogue writes its chunk over acc's after reading it,
     * never over the all_reduce's operand, which its peers' copies are
     * taken from (runtime/mpi_coll.h pt_mpi_all_reduce_update) */
    if (grp->reduce)
      return x == grp->acc && grp->reduce->operands[0] != x;
    for (int j = 0; j < grp->ninputs; j++)
      if (grp->inputs[j] == x)
        return read_directly(g, grp, x);
    return false;
  }
  const pt_op *op = g->ops[i];
  if (!pt_exec_op_in_place(op))
    return false;
  for (int j = 0; j < op->noperands; j++)
    if (op->operands[j] == x)
      return true;
  return false;
}

/* Whether output `out` of what runs at op (gi: its group, or -1) may take
 * the bytes of input `in`: the same type, or for a reshape the same dtype
 * (and so the same bytes, in the same row-major order). */
static bool same_layout(const pt_op *op, int gi, const pt_value *in, const pt_value *out) {
  if (gi < 0 && op->code == PT_OP_RESHAPE)
    return in->type.dtype == out->type.dtype;
  return pt_type_equal(&in->type, &out->type);
}

bool pt_buf_view_of(const pt_op *op, int64_t *block_bytes) {
  if (op->code != PT_OP_AXIS_SLICE || op->operands[0]->def)
    return false;
  const pt_type *t = &op->result->type;
  int dim = (int)pt_op_int(op, PT_A_DIM, 0);
  for (int d = 0; d < dim; d++)
    if (t->dims[d] != 1)
      return false;
  int64_t bytes = (int64_t)pt_type_bytes(t);
  if (bytes == 0 || bytes % 64)
    return false;
  *block_bytes = bytes;
  return true;
}

int pt_donor_arg(const pt_func *g, int i) {
  return pt_func_carries(g, i) ? i : -1;
}

void pt_plan_buffers_fused(const pt_func *g, const pt_fusion_plan *f, pt_buffer_plan *p) {
  memset(p, 0, sizeof *p);
  int nv = g->nvalues, nops = g->nops;
  p->nvalues = nv;
  p->nops = nops;
  p->nargs = g->nargs;
  p->nresults = g->nresults;
  size_t v1 = (size_t)(nv ? nv : 1), o1 = (size_t)(nops ? nops : 1);
  p->region = pt_calloc(v1, sizeof *p->region);
  p->offset = pt_calloc(v1, sizeof *p->offset);
  p->bytes = pt_calloc(v1, sizeof *p->bytes);
  p->first = pt_calloc(v1, sizeof *p->first);
  p->last = pt_calloc(v1, sizeof *p->last);
  p->scratch_offset = pt_calloc(o1, sizeof *p->scratch_offset);
  p->scratch_bytes = pt_calloc(o1, sizeof *p->scratch_bytes);
  p->arg_offset = pt_calloc((size_t)g->nargs + 1, sizeof *p->arg_offset);
  p->result_offset = pt_calloc((size_t)g->nresults + 1, sizeof *p->result_offset);
  p->result_arg = pt_calloc((size_t)g->nresults + 1, sizeof *p->result_arg);
  for (int v = 0; v < nv; v++) {
    p->region[v] = PT_BUF_NONE;
    p->offset[v] = -1;
  }
  for (int i = 0; i < g->nargs; i++) {
    const pt_value *a = g->args[i];
    p->region[a->id] = PT_BUF_ARG;
    p->bytes[a->id] = round64((int64_t)pt_type_bytes(&a->type));
    p->offset[a->id] = p->arg_offset[i] = p->arg_bytes;
    p->arg_bytes = pt_add_sat(p->arg_bytes, p->bytes[a->id]);
    p->first[a->id] = p->last[a->id] = -1;
  }
  /* Liveness over what runs: a fusion group reads its inputs and writes
   * its outputs at its last member; its other values and the absorbed ops'
   * results are never stored. */
  bool *unstored = pt_calloc(v1, sizeof *unstored);
  for (int i = 0; i < nops; i++) {
    const pt_op *op = g->ops[i];
    int id = op->result->id, gi = f->group_of[i];
    p->bytes[id] = round64((int64_t)pt_type_bytes(&op->result->type));
    if (f->thru[i] == PT_THRU_WRITE) /* written by its operand's dot, from there on */
      continue;
    p->first[id] = p->last[id] = i;
    if (f->absorbed[i]) {
      unstored[id] = true;
      continue;
    }
    if (gi >= 0) {
      const pt_fusion_group *fg = &f->groups[gi];
      unstored[id] = true;
      if (i != fg->at)
        continue;
      for (int j = 0; j < fg->ninputs; j++)
        if (p->last[fg->inputs[j]->id] < i)
          p->last[fg->inputs[j]->id] = i;
      for (int j = 0; j < fg->noutputs; j++) {
        int o = fg->outputs[j]->id;
        unstored[o] = false;
        p->first[o] = p->last[o] = i;
      }
      continue;
    }
    for (int j = 0; j < op->noperands; j++) {
      int o = op->operands[j]->id, t = f->def[o];
      if (t >= 0 && f->thru[t] == PT_THRU_READ) /* a dot reading through a transpose */
        o = g->ops[t]->operands[0]->id;
      if (p->last[o] < i)
        p->last[o] = i;
    }
    if (f->writes_into[i] >= 0) { /* a dot writing through a transpose */
      int t = g->ops[f->writes_into[i]]->result->id;
      unstored[id] = true;
      p->first[t] = p->last[t] = i;
    }
    p->scratch_bytes[i] = pt_exec_op_scratch_bytes(op);
  }
  for (int i = 0; i < g->nresults; i++)
    p->last[g->results[i].value->id] = nops;
  /* Views (exec.h): the argument is read until the view's last reader */
  for (int i = 0; i < nops; i++) {
    const pt_op *op = g->ops[i];
    int id = op->result->id;
    int64_t blk;
    if (f->absorbed[i] || f->group_of[i] >= 0 || p->last[id] == nops || !pt_buf_view_of(op, &blk))
      continue;
    int x = op->operands[0]->id;
    p->region[id] = PT_BUF_VIEW;
    p->bytes[id] = 0;
    if (p->last[x] < p->last[id])
      p->last[x] = p->last[id];
  }
  /* Donation (exec.h): an updated param or state is computed into its
   * argument's buffer when nothing reads the argument afterwards. */
  for (int i = 0; i < g->nresults; i++) {
    const pt_value *v = g->results[i].value;
    int j = pt_donor_arg(g, i);
    p->result_arg[i] = -1;
    if (j < 0 || !v->def || unstored[v->id] || p->region[v->id] != PT_BUF_NONE)
      continue;
    const pt_value *a = g->args[j];
    int at = p->first[v->id];
    if (p->last[a->id] > at || (p->last[a->id] == at && !may_write_over(g, f, at, a)))
      continue;
    p->result_arg[i] = j;
    p->region[v->id] = PT_BUF_ARG;
    p->offset[v->id] = p->arg_offset[j];
  }
  for (int i = 0; i < g->nresults; i++) {
    const pt_value *v = g->results[i].value;
    if (p->result_arg[i] >= 0) {
      p->result_offset[i] = -1;
      continue;
    }
    p->result_offset[i] = p->result_bytes;
    p->result_bytes =
        pt_add_sat(p->result_bytes, round64((int64_t)pt_type_bytes(&g->results[i].type)));
    if (v->def && p->region[v->id] == PT_BUF_NONE) {
      p->region[v->id] = PT_BUF_RESULT;
      p->offset[v->id] = p->result_offset[i];
    }
  }
  /* In place: an op whose kernel may write its result over an operand
   * writes it over the last read of a temporary operand of the same size;
   * the chain of values sharing those bytes is one interval, from the first
   * one's definition to the last one's last use. */
  p->alias = pt_malloc(v1 * sizeof *p->alias);
  int *root = pt_malloc(v1 * sizeof *root), *end = pt_malloc(v1 * sizeof *end);
  for (int v = 0; v < nv; v++) {
    p->alias[v] = -1;
    root[v] = v;
    end[v] = p->last[v];
  }
  for (int i = 0; i < nops; i++) {
    const pt_op *op = g->ops[i];
    int gi = f->group_of[i];
    if (f->absorbed[i] || (gi >= 0 && f->groups[gi].at != i))
      continue;
    /* what runs at i writes these and reads those */
    const pt_value *const *outs = (const pt_value *const *)&op->result,
                          *const *ins = (const pt_value *const *)op->operands;
    int nouts = 1, nins = op->noperands;
    if (gi >= 0) {
      outs = f->groups[gi].outputs;
      nouts = f->groups[gi].noutputs;
      ins = f->groups[gi].inputs;
      nins = f->groups[gi].ninputs;
    }
    for (int k = 0; k < nouts; k++) {
      int r = outs[k]->id;
      if (p->region[r] != PT_BUF_NONE || unstored[r])
        continue;
      for (int j = 0; j < nins; j++) {
        int x = ins[j]->id;
        bool taken = false; /* by an earlier output of the same group */
        for (int q = 0; q < k; q++)
          taken |= p->alias[outs[q]->id] == x;
        if (ins[j]->def && p->region[x] == PT_BUF_NONE && !unstored[x] && p->last[x] == i &&
            same_layout(op, gi, ins[j], outs[k]) && !taken && may_write_over(g, f, i, ins[j])) {
          p->alias[r] = x;
          root[r] = root[x];
          if (end[root[r]] < p->last[r])
            end[root[r]] = p->last[r];
          break;
        }
      }
    }
  }
  /* the temporaries and the kernels' scratch: greedy by size */
  interval *iv = pt_malloc((v1 + o1) * sizeof *iv);
  int n = 0;
  for (int i = 0; i < nops; i++) {
    int id = g->ops[i]->result->id;
    if (p->region[id] == PT_BUF_NONE && !unstored[id]) {
      p->region[id] = PT_BUF_TEMP;
      if (p->alias[id] < 0) {
        iv[n] = (interval){p->bytes[id], p->first[id], end[id], n, &p->offset[id]};
        n++;
      }
    }
    if (p->scratch_bytes[i] > 0) {
      iv[n] = (interval){p->scratch_bytes[i], i, i, n, &p->scratch_offset[i]};
      n++;
    }
  }
  qsort(iv, (size_t)n, sizeof *iv, by_size_desc);
  timeline t = {.leaves = 1};
  int levels = 1;
  for (; t.leaves < nops; levels++)
    t.leaves *= 2;
  t.cov = pt_calloc(2 * (size_t)t.leaves, sizeof *t.cov);
  t.sub = pt_calloc(2 * (size_t)t.leaves, sizeof *t.sub);
  t.q = pt_malloc(4 * (size_t)levels * sizeof *t.q);
  for (int k = 0; k < n; k++) {
    int64_t at = tl_lowest_fit(&t, iv[k].first, iv[k].last, iv[k].bytes);
    int64_t end = pt_add_sat(at, iv[k].bytes);
    tl_insert(&t, iv[k].first, iv[k].last, at, end);
    *iv[k].offset = at;
    if (end > p->temp_bytes)
      p->temp_bytes = end;
  }
  for (int i = 1; i < 2 * t.leaves; i++) {
    pt_free(t.cov[i].r);
    pt_free(t.sub[i].r);
  }
  pt_free(t.cov);
  pt_free(t.sub);
  pt_free(t.q);
  for (int i = 0; i < nops; i++) {
    int id = g->ops[i]->result->id;
    if (p->alias[id] >= 0) /* a group's output may precede its input */
      p->offset[id] = p->offset[root[id]];
  }
  pt_free(iv);
  pt_free(unstored);
  pt_free(root);
  pt_free(end);
  p->peak_bytes = pt_add_sat(pt_add_sat(p->arg_bytes, p->result_bytes), p->temp_bytes);
}

void pt_buffer_plan_free(pt_buffer_plan *p) {
  pt_free(p->region);
  pt_free(p->offset);
  pt_free(p->bytes);
  pt_free(p->first);
  pt_free(p->last);
  pt_free(p->alias);
  pt_free(p->result_arg);
  pt_free(p->scratch_offset);
  pt_free(p->scratch_bytes);
  pt_free(p->arg_offset);
  pt_free(p->result_offset);
  memset(p, 0, sizeof *p);
}
