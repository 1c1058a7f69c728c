/* Redistribution synthesis (see redistribute.h): a shortest-path search over
 * layouts, then emission of the plan as collectives. */
#include "redistribute.h"

#include <stdio.h>
#include <string.h>

#include "build.h"
#include "sharding.h"
#include "strmap.h"

/* ---- layouts ---------------------------------------------------------- */

pt_layout pt_layout_of(const pt_value *v) {
  pt_layout l;
  memset(&l, 0, sizeof l);
  l.rank = v->type.rank;
  const pt_sharding *s = v->sharding;
  if (!s)
    return l;
  for (int d = 0; d < l.rank; d++) {
    l.naxes[d] = s->norder[d];
    memcpy(l.axes[d], s->order[d], s->norder[d]);
  }
  for (int a = 0; a < PT_MAX_AXES; a++) {
    if (s->ax[a].kind == PT_SH_PARTIAL_SUM)
      l.partial_sum |= 1u << a;
    if (s->ax[a].kind == PT_SH_PARTIAL_MAX)
      l.partial_max |= 1u << a;
  }
  return l;
}

bool pt_layout_equal(const pt_layout *a, const pt_layout *b) {
  if (a->rank != b->rank || a->partial_sum != b->partial_sum || a->partial_max != b->partial_max)
    return false;
  for (int d = 0; d < a->rank; d++)
    if (a->naxes[d] != b->naxes[d] || memcmp(a->axes[d], b->axes[d], a->naxes[d]) != 0)
      return false;
  return true;
}

static int64_t dim_blocks(const pt_mesh *m, const pt_layout *l, int d) {
  int64_t n = 1;
  for (int k = 0; k < l->naxes[d]; k++)
    n *= m->sizes[l->axes[d][k]];
  return n;
}

static int64_t local_dim(const pt_mesh *m, const pt_type *t, const pt_layout *l, int d) {
  return t->dims[d] / dim_blocks(m, l, d);
}

int64_t pt_layout_local_numel(const pt_mesh *mesh, const pt_type *t, const pt_layout *l) {
  int64_t n = 1;
  for (int d = 0; d < t->rank; d++)
    n *= local_dim(mesh, t, l, d);
  return n;
}

static uint32_t used_axes(const pt_layout *l) {
  uint32_t u = 0;
  for (int d = 0; d < l->rank; d++)
    for (int k = 0; k < l->naxes[d]; k++)
      u |= 1u << l->axes[d][k];
  return u;
}

bool pt_layout_valid(const pt_mesh *mesh, const pt_type *t, const pt_layout *l) {
  uint32_t seen = 0;
  if (l->rank != t->rank)
    return false;
  for (int d = 0; d < l->rank; d++) {
    int64_t n = t->dims[d];
    for (int k = 0; k < l->naxes[d]; k++) {
      int a = l->axes[d][k];
      if (a < 0 || a >= mesh->naxes || (seen >> a) & 1 || n % mesh->sizes[a])
        return false;
      seen |= 1u << a;
      n /= mesh->sizes[a];
    }
  }
  uint32_t p = l->partial_sum | l->partial_max;
  return (p & seen) == 0 && (l->partial_sum & l->partial_max) == 0 && p < (1u << mesh->naxes);
}

char *pt_layout_str(const pt_mesh *mesh, const pt_layout *l, char *buf, size_t n) {
  size_t k = 0;
#define OUT(...) k += (size_t)snprintf(buf + (k < n ? k : n), k < n ? n - k : 0, __VA_ARGS__)
  OUT("{");
  for (int d = 0; d < l->rank; d++) {
    OUT(d ? ", [" : "[");
    for (int j = 0; j < l->naxes[d]; j++)
      OUT("%s%s", j ? ", " : "", mesh->names[l->axes[d][j]]);
    OUT("]");
  }
  OUT("}");
  for (int pass = 0; pass < 2; pass++) {
    uint32_t p = pass ? l->partial_max : l->partial_sum;
    bool first = true;
    for (int a = 0; a < mesh->naxes; a++)
      if ((p >> a) & 1) {
        OUT(first ? " partial(%s: %s" : ", %s%s", first ? (pass ? "max" : "sum") : "",
            mesh->names[a]);
        first = false;
      }
    if (!first)
      OUT(")");
  }
#undef OUT
  return buf;
}

static const char *skip_ws(const char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  return s;
}

static int read_axis(const pt_mesh *mesh, const char **ps) {
  const char *s = skip_ws(*ps), *b = s;
  while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
         *s == '_' || *s == '.' || *s == '$')
    s++;
  *ps = s;
  return s > b ? pt_mesh_axis(mesh, b, (size_t)(s - b)) : -2;
}

bool pt_layout_parse(const pt_mesh *mesh, const char *s, int rank, pt_layout *out, char *err,
                     size_t errn) {
  memset(out, 0, sizeof *out);
  out->rank = rank;
  uint32_t seen = 0;
  s = skip_ws(s);
  if (*s++ != '{') {
    snprintf(err, errn, "a layout starts with '{', as in {[x], []}");
    return false;
  }
  int d = 0;
  s = skip_ws(s);
  while (*s == '[') {
    if (d >= rank) {
      snprintf(err, errn, "the layout has more than the %d dimensions of the shape", rank);
      return false;
    }
    s = skip_ws(s + 1);
    while (*s != ']') {
      const char *at = s;
      int a = read_axis(mesh, &s);
      if (a < 0) {
        snprintf(err, errn, "'%.*s' is not an axis of the mesh", (int)strcspn(at, ",] "), at);
        return false;
      }
      if ((seen >> a) & 1) {
        snprintf(err, errn, "axis '%s' is used twice", mesh->names[a]);
        return false;
      }
      seen |= 1u << a;
      out->axes[d][out->naxes[d]++] = (int8_t)a;
      s = skip_ws(s);
      if (*s == ',')
        s = skip_ws(s + 1);
      else if (*s != ']') {
        snprintf(err, errn, "expected ',' or ']' in the layout");
        return false;
      }
    }
    d++;
    s = skip_ws(s + 1);
    if (*s == ',')
      s = skip_ws(s + 1);
  }
  if (*s++ != '}') {
    snprintf(err, errn, "expected '[' or '}' in the layout");
    return false;
  }
  if (d != rank) {
    snprintf(err, errn, "the layout gives %d dimensions but the shape has %d", d, rank);
    return false;
  }
  s = skip_ws(s);
  while (strncmp(s, "partial(", 8) == 0) {
    s = skip_ws(s + 8);
    bool max = strncmp(s, "max", 3) == 0;
    if (!max && strncmp(s, "sum", 3) != 0) {
      snprintf(err, errn, "expected 'sum' or 'max' after 'partial('");
      return false;
    }
    s = skip_ws(s + 3);
    if (*s++ != ':') {
      snprintf(err, errn, "expected ':' after the reduction");
      return false;
    }
    for (;;) {
      int a = read_axis(mesh, &s);
      if (a < 0 || (seen >> a) & 1) {
        snprintf(err, errn, a < 0 ? "unknown axis in partial(...)" : "axis used twice");
        return false;
      }
      seen |= 1u << a;
      if (max)
        out->partial_max |= 1u << a;
      else
        out->partial_sum |= 1u << a;
      s = skip_ws(s);
      if (*s == ',') {
        s++;
        continue;
      }
      if (*s++ != ')') {
        snprintf(err, errn, "expected ',' or ')'");
        return false;
      }
      break;
    }
    s = skip_ws(s);
  }
  if (*s) {
    snprintf(err, errn, "unexpected text '%s' after the layout", s);
    return false;
  }
  return true;
}

/* ---- devices ---------------------------------------------------------- */

int64_t pt_mesh_devices(const pt_mesh *mesh) {
  int64_t n = 1;
  for (int a = 0; a < mesh->naxes; a++)
    n *= mesh->sizes[a];
  return n;
}

int64_t pt_mesh_coord(const pt_mesh *mesh, int64_t dev, int axis) {
  int64_t stride = 1;
  for (int a = mesh->naxes - 1; a > axis; a--)
    stride *= mesh->sizes[a];
  return (dev / stride) % mesh->sizes[axis];
}

void pt_layout_block(const pt_mesh *mesh, const pt_type *t, const pt_layout *l, int64_t dev,
                     int64_t *start) {
  for (int d = 0; d < t->rank; d++) {
    int64_t b = 0;
    for (int k = 0; k < l->naxes[d]; k++) {
      int a = l->axes[d][k];
      b = b * mesh->sizes[a] + pt_mesh_coord(mesh, dev, a);
    }
    start[d] = b * local_dim(mesh, t, l, d);
  }
}

/* ---- the search ------------------------------------------------------- */

typedef struct {
  pt_layout l;
  int64_t peak, bytes;
  int steps;
  int prev;     /* state index, -1 for the start */
  pt_move move; /* the move from prev */
  bool done;
  char *key;
} state;

typedef struct {
  const pt_mesh *m;
  const pt_type *t;
  size_t esize;
  state *st;
  int n, cap;
  pt_strmap index;
} search;

static char *layout_key(const pt_layout *l) {
  char buf[256];
  size_t k = 0;
  for (int d = 0; d < l->rank; d++) {
    for (int j = 0; j < l->naxes[d]; j++)
      buf[k++] = (char)('a' + l->axes[d][j]);
    buf[k++] = '|';
  }
  k += (size_t)snprintf(buf + k, sizeof buf - k, "%x/%x", l->partial_sum, l->partial_max);
  return pt_strndup(buf, k);
}

static bool better(int64_t p1, int64_t b1, int s1, int64_t p2, int64_t b2, int s2) {
  if (p1 != p2)
    return p1 < p2;
  if (b1 != b2)
    return b1 < b2;
  return s1 < s2;
}

static void relax(search *s, int from, pt_move mv) {
  if (!pt_layout_valid(s->m, s->t, &mv.after))
    return;
  int64_t elems = pt_layout_local_numel(s->m, s->t, &mv.after);
  mv.elements_after = elems;
  const state *f = &s->st[from];
  int64_t peak = f->peak > elems ? f->peak : elems;
  int64_t bytes = pt_add_sat(f->bytes, mv.bytes_sent);
  int steps = f->steps + 1;
  char *key = layout_key(&mv.after);
  void *hit = pt_strmap_get(&s->index, key, strlen(key));
  if (hit) {
    state *x = &s->st[(intptr_t)hit - 1];
    if (!x->done && better(peak, bytes, steps, x->peak, x->bytes, x->steps)) {
      x->peak = peak;
      x->bytes = bytes;
      x->steps = steps;
      x->prev = from;
      x->move = mv;
    }
    pt_free(key);
    return;
  }
  if (s->n >= 50000) { /* a bound on the search; the naive plan is the fallback */
    pt_free(key);
    return;
  }
  PT_GROW(s->st, s->cap, (size_t)s->n + 1);
  state *x = &s->st[s->n];
  memset(x, 0, sizeof *x);
  x->l = mv.after;
  x->peak = peak;
  x->bytes = bytes;
  x->steps = steps;
  x->prev = from;
  x->move = mv;
  x->key = key;
  s->n++;
  pt_strmap_put(&s->index, key, (void *)(intptr_t)s->n);
}

static int64_t group_size(const pt_mesh *m, uint32_t axes) {
  int64_t g = 1;
  for (int a = 0; a < m->naxes; a++)
    if ((axes >> a) & 1)
      g *= m->sizes[a];
  return g;
}

/* Per-dim block counts equal: one permute over the axes either uses moves
 * every block to a device that needs it (the replication degrees match
 * because the block counts do). */
static bool permutable(const pt_mesh *m, const pt_layout *a, const pt_layout *b) {
  if (a->partial_sum || a->partial_max || b->partial_sum || b->partial_max)
    return false;
  if (pt_layout_equal(a, b))
    return false;
  for (int d = 0; d < a->rank; d++)
    if (dim_blocks(m, a, d) != dim_blocks(m, b, d))
      return false;
  return true;
}

static void expand(search *s, int i, const pt_layout *target) {
  const pt_mesh *m = s->m;
  pt_layout L = s->st[i].l;
  int64_t bytes_local = pt_layout_local_numel(m, s->t, &L) * (int64_t)s->esize;
  uint32_t used = used_axes(&L), partial = L.partial_sum | L.partial_max;
  pt_move mv;
  /* resolve partial axes */
  for (int a = 0; a < m->naxes; a++) {
    if (!((partial >> a) & 1))
      continue;
    int64_t g = m->sizes[a];
    bool is_max = (L.partial_max >> a) & 1;
    memset(&mv, 0, sizeof mv);
    mv.kind = PT_MOVE_ALL_REDUCE;
    mv.axis = a;
    mv.axes = 1u << a;
    mv.max = is_max;
    mv.after = L;
    mv.after.partial_sum &= ~(1u << a);
    mv.after.partial_max &= ~(1u << a);
    mv.bytes_sent = pt_muldiv_sat(2 * (g - 1), bytes_local, g);
    relax(s, i, mv);
    if (is_max)
      continue;
    for (int d = 0; d < L.rank; d++) {
      memset(&mv, 0, sizeof mv);
      mv.kind = PT_MOVE_REDUCE_SCATTER;
      mv.axis = a;
      mv.dim = d;
      mv.after = L;
      mv.after.partial_sum &= ~(1u << a);
      mv.after.axes[d][mv.after.naxes[d]++] = (int8_t)a;
      mv.bytes_sent = pt_muldiv_sat(g - 1, bytes_local, g);
      relax(s, i, mv);
    }
  }
  /* all partial sums at once */
  if (__builtin_popcount(L.partial_sum) > 1) {
    memset(&mv, 0, sizeof mv);
    mv.kind = PT_MOVE_ALL_REDUCE;
    mv.axis = -1;
    mv.axes = L.partial_sum;
    mv.after = L;
    mv.after.partial_sum = 0;
    int64_t g = group_size(m, L.partial_sum);
    mv.bytes_sent = pt_muldiv_sat(2 * (g - 1), bytes_local, g);
    relax(s, i, mv);
  }
  for (int d = 0; d < L.rank; d++) {
    /* slices */
    for (int a = 0; a < m->naxes; a++) {
      if (((used | partial) >> a) & 1 || L.naxes[d] >= PT_MAX_AXES)
        continue;
      memset(&mv, 0, sizeof mv);
      mv.kind = PT_MOVE_SLICE;
      mv.axis = a;
      mv.dim = d;
      mv.after = L;
      mv.after.axes[d][mv.after.naxes[d]++] = (int8_t)a;
      relax(s, i, mv);
    }
    if (!L.naxes[d])
      continue;
    int a = L.axes[d][L.naxes[d] - 1];
    int64_t g = m->sizes[a];
    /* gather */
    memset(&mv, 0, sizeof mv);
    mv.kind = PT_MOVE_GATHER;
    mv.axis = a;
    mv.dim = d;
    mv.after = L;
    mv.after.naxes[d]--;
    mv.bytes_sent = pt_mul_sat(g - 1, bytes_local);
    relax(s, i, mv);
    /* all-to-alls */
    for (int e = 0; e < L.rank; e++) {
      if (e == d)
        continue;
      memset(&mv, 0, sizeof mv);
      mv.kind = PT_MOVE_ALL_TO_ALL;
      mv.axis = a;
      mv.dim = d;
      mv.dim2 = e;
      mv.after = L;
      mv.after.naxes[d]--;
      mv.after.axes[e][mv.after.naxes[e]++] = (int8_t)a;
      mv.bytes_sent = pt_muldiv_sat(g - 1, bytes_local, g);
      relax(s, i, mv);
    }
    /* permutes that bring one axis of d to its minor end */
    for (int k = 0; k + 1 < L.naxes[d]; k++) {
      memset(&mv, 0, sizeof mv);
      mv.kind = PT_MOVE_PERMUTE;
      mv.after = L;
      int8_t *ax = mv.after.axes[d];
      int8_t moved = ax[k];
      memmove(ax + k, ax + k + 1, (size_t)(L.naxes[d] - k - 1));
      ax[L.naxes[d] - 1] = moved;
      mv.axes = used;
      mv.bytes_sent = bytes_local;
      if (permutable(m, &L, &mv.after))
        relax(s, i, mv);
    }
    /* permutes trading a used axis for an unused one of the same size */
    for (int k = 0; k < L.naxes[d]; k++)
      for (int u = 0; u < m->naxes; u++) {
        if (((used | partial) >> u) & 1 || m->sizes[u] != m->sizes[L.axes[d][k]])
          continue;
        memset(&mv, 0, sizeof mv);
        mv.kind = PT_MOVE_PERMUTE;
        mv.after = L;
        mv.after.axes[d][k] = (int8_t)u;
        mv.axes = used | (1u << u);
        mv.bytes_sent = bytes_local;
        if (permutable(m, &L, &mv.after))
          relax(s, i, mv);
      }
    /* permutes exchanging two equal-size axes of different dims */
    for (int e = d + 1; e < L.rank; e++)
      for (int k = 0; k < L.naxes[d]; k++)
        for (int j = 0; j < L.naxes[e]; j++) {
          if (m->sizes[L.axes[d][k]] != m->sizes[L.axes[e][j]])
            continue;
          memset(&mv, 0, sizeof mv);
          mv.kind = PT_MOVE_PERMUTE;
          mv.after = L;
          mv.after.axes[d][k] = L.axes[e][j];
          mv.after.axes[e][j] = L.axes[d][k];
          mv.axes = used;
          mv.bytes_sent = bytes_local;
          if (permutable(m, &L, &mv.after))
            relax(s, i, mv);
        }
  }
  /* straight to the target by one permute */
  if (permutable(m, &L, target)) {
    memset(&mv, 0, sizeof mv);
    mv.kind = PT_MOVE_PERMUTE;
    mv.after = *target;
    mv.axes = used | used_axes(target);
    mv.bytes_sent = bytes_local;
    relax(s, i, mv);
  }
}

static void naive_cost(const pt_mesh *m, const pt_type *t, const pt_layout *from, size_t esize,
                       pt_plan *plan) {
  pt_layout l = *from;
  int64_t local = pt_layout_local_numel(m, t, &l), peak = local, bytes = 0;
  uint32_t p = l.partial_sum | l.partial_max;
  if (p) {
    int64_t g = group_size(m, p);
    bytes = pt_add_sat(bytes, pt_muldiv_sat(2 * (g - 1), local * (int64_t)esize, g));
  }
  for (int d = 0; d < l.rank; d++)
    while (l.naxes[d]) {
      int64_t g = m->sizes[l.axes[d][l.naxes[d] - 1]];
      bytes =
          pt_add_sat(bytes, pt_mul_sat(g - 1, pt_layout_local_numel(m, t, &l) * (int64_t)esize));
      l.naxes[d]--;
      int64_t n = pt_layout_local_numel(m, t, &l);
      peak = n > peak ? n : peak;
    }
  plan->naive_peak_elements = peak;
  plan->naive_bytes_sent = bytes;
}

pt_status pt_plan_redistribution(const pt_mesh *mesh, const pt_type *t, const pt_layout *from,
                                 const pt_layout *to, pt_plan *plan) {
  memset(plan, 0, sizeof *plan);
  /* a target partial along an axis keeps the start's partial sum there */
  PT_ASSERT(!(to->partial_sum & ~from->partial_sum) && !(to->partial_max & ~from->partial_max));
  plan->start = *from;
  plan->target = *to;
  search s = {mesh, t, pt_dtype_size(t->dtype), NULL, 0, 0, {0}};
  plan->elements_before = pt_layout_local_numel(mesh, t, from);
  naive_cost(mesh, t, from, s.esize, plan);
  PT_GROW(s.st, s.cap, 1);
  memset(&s.st[0], 0, sizeof s.st[0]);
  s.st[0].l = *from;
  s.st[0].peak = plan->elements_before;
  s.st[0].prev = -1;
  s.st[0].key = layout_key(from);
  s.n = 1;
  pt_strmap_put(&s.index, s.st[0].key, (void *)(intptr_t)1);
  int goal = -1;
  for (;;) {
    int best = -1;
    for (int i = 0; i < s.n; i++)
      if (!s.st[i].done &&
          (best < 0 || better(s.st[i].peak, s.st[i].bytes, s.st[i].steps, s.st[best].peak,
                              s.st[best].bytes, s.st[best].steps)))
        best = i;
    if (best < 0)
      break;
    s.st[best].done = true;
    if (pt_layout_equal(&s.st[best].l, to)) {
      goal = best;
      break;
    }
    expand(&s, best, to);
  }
  if (goal < 0) {
    char a[256], b[256], tb[PT_TYPE_STRLEN];
    fprintf(stderr, "redistribution search failed: %s %s -> %s after %d states\n",
            pt_type_str(t, tb, sizeof tb), pt_layout_str(mesh, from, a, sizeof a),
            pt_layout_str(mesh, to, b, sizeof b), s.n);
  }
  PT_ASSERT(goal >= 0); /* gather everything then slice always reaches it */
  int n = 0;
  for (int i = goal; s.st[i].prev >= 0; i = s.st[i].prev)
    n++;
  plan->nmoves = n;
  plan->moves = pt_calloc((size_t)n + 1, sizeof *plan->moves);
  for (int i = goal, k = n - 1; s.st[i].prev >= 0; i = s.st[i].prev, k--)
    plan->moves[k] = s.st[i].move;
  plan->peak_elements = s.st[goal].peak;
  plan->bytes_sent = s.st[goal].bytes;
  for (int i = 0; i < s.n; i++)
    pt_free(s.st[i].key);
  pt_free(s.st);
  pt_strmap_clear(&s.index);
  return PT_OK;
}

void pt_plan_free(pt_plan *plan) {
  pt_free(plan->moves);
  memset(plan, 0, sizeof *plan);
}

/* ---- emission --------------------------------------------------------- */

static void set_axes(pt_op *op, const pt_mesh *m, uint32_t axes, int single) {
  const char *names[PT_MAX_AXES];
  int n = 0;
  if (single >= 0)
    names[n++] = m->names[single];
  else
    for (int a = 0; a < m->naxes; a++)
      if ((axes >> a) & 1)
        names[n++] = m->names[a];
  pt_op_set_idents(op, PT_A_AXES, names, n);
}

/* Block index tuple (flattened) of the device at group position p. */
static int64_t block_of(const pt_mesh *m, const pt_layout *l, const int *group, int ng, int64_t p) {
  int64_t coord[PT_MAX_AXES] = {0};
  for (int k = ng - 1; k >= 0; k--) {
    coord[group[k]] = p % m->sizes[group[k]];
    p /= m->sizes[group[k]];
  }
  int64_t flat = 0;
  for (int d = 0; d < l->rank; d++) {
    int64_t b = 0;
    for (int k = 0; k < l->naxes[d]; k++)
      b = b * m->sizes[l->axes[d][k]] + coord[l->axes[d][k]];
    flat = flat * dim_blocks(m, l, d) + b;
  }
  return flat;
}

pt_value *pt_plan_emit(pt_func *f, pt_loc loc, const pt_mesh *mesh, const pt_plan *plan,
                       pt_value *v, const char *why) {
  pt_builder b = {f, loc};
  for (int i = 0; i < plan->nmoves; i++) {
    const pt_move *mv = &plan->moves[i];
    pt_opcode code = PT_OP_AXIS_SLICE;
    switch (mv->kind) {
    case PT_MOVE_SLICE:
      code = PT_OP_AXIS_SLICE;
      break;
    case PT_MOVE_GATHER:
      code = PT_OP_ALL_GATHER;
      break;
    case PT_MOVE_ALL_TO_ALL:
      code = PT_OP_ALL_TO_ALL;
      break;
    case PT_MOVE_PERMUTE:
      code = PT_OP_COLLECTIVE_PERMUTE;
      break;
    case PT_MOVE_REDUCE_SCATTER:
      code = PT_OP_REDUCE_SCATTER;
      break;
    case PT_MOVE_ALL_REDUCE:
      code = PT_OP_ALL_REDUCE;
      break;
    }
    pt_op *op = pt_op_create(f, code, &v, 1, b.loc);
    switch (mv->kind) {
    case PT_MOVE_SLICE:
    case PT_MOVE_GATHER:
    case PT_MOVE_REDUCE_SCATTER:
      pt_op_set_int(op, PT_A_DIM, mv->dim);
      set_axes(op, mesh, 0, mv->axis);
      break;
    case PT_MOVE_ALL_TO_ALL:
      pt_op_set_int(op, PT_A_SPLIT_DIM, mv->dim2);
      pt_op_set_int(op, PT_A_CONCAT_DIM, mv->dim);
      set_axes(op, mesh, 0, mv->axis);
      break;
    case PT_MOVE_ALL_REDUCE:
      pt_op_set_ident(op, PT_A_REDUCE, mv->max ? "max" : "sum");
      set_axes(op, mesh, mv->axes, -1);
      break;
    case PT_MOVE_PERMUTE: {
      const pt_layout *from = i ? &plan->moves[i - 1].after : &plan->start;
      int group[PT_MAX_AXES], ng = 0;
      for (int a = 0; a < mesh->naxes; a++)
        if ((mv->axes >> a) & 1)
          group[ng++] = a;
      int64_t g = group_size(mesh, mv->axes);
      pt_aval *pairs = pt_calloc((size_t)g, sizeof *pairs);
      pt_aval *items = pt_calloc((size_t)g * 2, sizeof *items);
      /* pair the k-th holder of each block with the k-th device needing it */
      int64_t *have = pt_malloc((size_t)g * sizeof *have),
              *need = pt_malloc((size_t)g * sizeof *need);
      bool *taken = pt_calloc((size_t)g, 1);
      for (int64_t p = 0; p < g; p++) {
        have[p] = block_of(mesh, from, group, ng, p);
        need[p] = block_of(mesh, &mv->after, group, ng, p);
      }
      for (int64_t p = 0; p < g; p++) {
        int64_t q = 0;
        while (q < g && (taken[q] || need[q] != have[p]))
          q++;
        PT_ASSERT(q < g);
        taken[q] = true;
        items[2 * p] = (pt_aval){.kind = PT_AV_INT, .i = p};
        items[2 * p + 1] = (pt_aval){.kind = PT_AV_INT, .i = q};
        pairs[p] = (pt_aval){.kind = PT_AV_LIST, .items = &items[2 * p], .n = 2};
      }
      pt_free(have);
      pt_free(need);
      pt_free(taken);
      pt_aval list = {.kind = PT_AV_LIST, .items = pairs, .n = (int)g};
      set_axes(op, mesh, mv->axes, -1);
      pt_op_set_attr(op, PT_A_PAIRS, &list, b.loc);
      pt_free(items);
      pt_free(pairs);
      break;
    }
    }
    pt_diag *d = pt_diag_create(NULL);
    pt_value *r = pt_op_finish(op, NULL, NULL, d);
    if (!r) {
      fprintf(stderr, "partita: redistribution emitted an invalid %s: %s\n", pt_op_name(code),
              pt_diag_count(d) ? pt_diag_text(d, 0) : "?");
      PT_UNREACHABLE();
    }
    pt_diag_destroy(d);
    if (why && i == 0)
      op->comment = pt_arena_strdup(f->module->arena, why);
    v = r;
  }
  return v;
}
