/* Automatic partitioning (auto.h): a beam search over the decisions a
 * tactic script is made of, judged by the simulator on the lowered program.
 *
 * A state is the function's shardings after the prefix and some decisions
 * (each a seed plus propagation along its axis, as a tactic). Two caches
 * keep the search cheap: states already reached are not expanded twice
 * (keyed by every value's layout), and states whose layouts agree once the
 * undecided axes are made replicated share one lowering and simulation. */
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auto.h"
#include "calibrate.h"
#include "lower.h"
#include "passes.h"
#include "sharding.h"
#include "sim.h"

unsigned pt_auto_default_roles(const char *axis_name) {
  static const char *const model_axes[] = {"model", "tensor", "mp", "tp"};
  for (size_t i = 0; i < sizeof model_axes / sizeof model_axes[0]; i++)
    if (strcmp(axis_name, model_axes[i]) == 0)
      return 1u << PT_ROLE_PARAM | 1u << PT_ROLE_STATE;
  return (1u << PT_ROLE_COUNT) - 1;
}

/* ---- the search's data ---------------------------------------------------- */

typedef struct {
  const char *glob; /* the generalised name (or the name itself) */
  pt_value **members;
  int n;
  pt_role role;
  int64_t bytes; /* of all members */
  bool family;   /* the union of other groups (add_families) */
} group;

typedef struct {
  int16_t axis, group, dim; /* dim -1: replicate */
} decision;

/* What one candidate is predicted to cost. */
typedef struct {
  bool ok, fits;
  double step, compute, comm;
  int64_t peak, bytes;
} eval;

/* A state of the search: the decisions that lead to it from the root. */
typedef struct {
  decision *dec;
  int ndec;
  uint64_t hash;
  eval e;
  uint64_t tie; /* seeded: orders candidates that cost the same */
  int parent;   /* index of the state it was expanded from, in its level */
} node;

typedef struct {
  uint64_t key;
  eval e;
  bool used;
} cache_slot;

typedef struct {
  pt_func *f;
  const pt_auto_opts *o;
  pt_diag *quiet; /* swallows the messages of candidates that do not lower */
  pt_value **values;
  int nvalues;
  pt_sharding *work; /* scratch snapshot */
  pt_sharding *root; /* after the prefix */
  group *groups;
  int ngroups;
  int *order; /* group indices, most bytes first: the order actions are tried in */
  unsigned roles[PT_MAX_AXES];
  int base; /* tactic index of the first decision */
  /* open-addressing sets: states reached, and simulations by final layout */
  uint64_t *seen;
  size_t nseen, capseen;
  cache_slot *cache;
  size_t ncache, capcache;
  uint64_t rng;
  double gain; /* the least relative improvement a decision must bring */
  double t0, last_report;
  bool out_of_time;
  pt_auto_progress prog;
  node best;
} search;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t splitmix(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* ---- argument groups ------------------------------------------------------- */

/* The group key of an argument: its name with every all-digit
 * dot-separated component replaced by '*'; optimizer state `opt.<param>.<slot>`
 * joins one group `opt.*.*`, as ZeRO scripts write it. */
static char *generalise_name(const char *name);
static char *generalise(const pt_value *v) {
  const char *dot = strchr(v->name, '.');
  if (v->role == PT_ROLE_STATE && v->type.rank > 0 && dot && strchr(dot + 1, '.')) {
    size_t n = (size_t)(dot - v->name);
    char *out = pt_malloc(n + 5);
    memcpy(out, v->name, n);
    memcpy(out + n, ".*.*", 5);
    return out;
  }
  return generalise_name(v->name);
}

static char *generalise_name(const char *name) {
  size_t n = strlen(name);
  char *out = pt_malloc(n + 1), *o = out;
  for (const char *p = name; *p;) {
    const char *e = strchr(p, '.');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    bool digits = len > 0;
    for (size_t i = 0; i < len && digits; i++)
      digits = p[i] >= '0' && p[i] <= '9';
    if (digits)
      *o++ = '*';
    else {
      memcpy(o, p, len);
      o += len;
    }
    p += len;
    if (*p == '.')
      *o++ = *p++;
  }
  *o = 0;
  return out;
}

/* Whether glob (as fnmatch reads it) matches exactly the members of g among
 * f's arguments. */
static bool glob_exact(const pt_func *f, const char *glob, const group *g) {
  int hits = 0;
  for (int i = 0; i < f->nargs; i++) {
    const pt_value *v = f->args[i];
    if (!v->name || fnmatch(glob, v->name, 0) != 0)
      continue;
    bool member = false;
    for (int k = 0; k < g->n && !member; k++)
      member = g->members[k] == v;
    if (!member)
      return false;
    hits++;
  }
  return hits == g->n;
}

static bool has_glob_chars(const char *s) {
  return strpbrk(s, "*?[\\") != NULL;
}

/* Families: the parameters under one first name component (`layers.*`),
 * when they span several groups, as one more group, so that one decision
 * can treat every weight of every layer alike (ZeRO-3's `layers.*: 0`). */
static void add_families(search *S, pt_arena *arena) {
  pt_func *f = S->f;
  int nfine = S->ngroups;
  for (int gi = 0; gi < nfine; gi++) {
    const group *g = &S->groups[gi];
    const char *dot = strchr(g->glob, '.');
    if (g->role != PT_ROLE_PARAM || !dot)
      continue;
    size_t n = (size_t)(dot - g->glob) + 1; /* "layers." */
    bool first = true;
    int spans = 0;
    for (int k = 0; k < nfine && first; k++) {
      const group *h = &S->groups[k];
      if (h->role == PT_ROLE_PARAM && strncmp(h->glob, g->glob, n) == 0) {
        first = k >= gi;
        spans++;
      }
    }
    if (!first || spans < 2)
      continue;
    char *key = pt_arena_alloc(arena, n + 2);
    memcpy(key, g->glob, n);
    memcpy(key + n, "*", 2);
    group fam = {key, pt_arena_alloc(arena, (size_t)f->nargs * sizeof(pt_value *)), 0,
                 PT_ROLE_PARAM, 0};
    for (int k = 0; k < nfine; k++) {
      const group *h = &S->groups[k];
      if (h->role == PT_ROLE_PARAM && strncmp(h->glob, g->glob, n) == 0)
        for (int j = 0; j < h->n; j++)
          fam.members[fam.n++] = h->members[j];
    }
    fam.family = true;
    if (glob_exact(f, key, &fam))
      S->groups[S->ngroups++] = fam;
  }
}

/* One group per generalised name and role; a group whose glob would match
 * other arguments too (or whose names hold glob characters) falls back to
 * one group per argument. */
static void make_groups(search *S, pt_arena *arena) {
  pt_func *f = S->f;
  S->groups = pt_calloc(2 * (size_t)f->nargs + 1, sizeof *S->groups);
  char **gen = pt_calloc((size_t)f->nargs + 1, sizeof *gen);
  bool *done = pt_calloc((size_t)f->nargs + 1, sizeof *done);
  for (int i = 0; i < f->nargs; i++)
    gen[i] = f->args[i]->name ? generalise(f->args[i]) : NULL;
  for (int i = 0; i < f->nargs; i++) {
    if (done[i] || !gen[i])
      continue;
    group g = {pt_arena_strdup(arena, gen[i]),
               pt_arena_alloc(arena, (size_t)f->nargs * sizeof(pt_value *)), 0, f->args[i]->role};
    for (int j = i; j < f->nargs; j++)
      if (!done[j] && gen[j] && f->args[j]->role == g.role && strcmp(gen[i], gen[j]) == 0) {
        g.members[g.n++] = f->args[j];
        done[j] = true;
      }
    bool clean = true;
    for (int k = 0; k < g.n && clean; k++)
      clean = !has_glob_chars(g.members[k]->name);
    if (clean && glob_exact(f, g.glob, &g)) {
      S->groups[S->ngroups++] = g;
      continue;
    }
    /* a coarse key that does not fit: the members try their layer-wise keys */
    bool coarse = false;
    for (int k = 0; k < g.n; k++) {
      char *fine = generalise_name(g.members[k]->name);
      int j = g.members[k]->arg_index;
      if (strcmp(fine, gen[j]) != 0) {
        coarse = true;
        pt_free(gen[j]);
        gen[j] = fine;
        done[j] = false;
      } else {
        pt_free(fine);
      }
    }
    if (coarse) {
      i--;
      continue;
    }
    /* a name of its own for each member (escaped where it holds glob characters) */
    for (int k = 0; k < g.n; k++) {
      const char *name = g.members[k]->name;
      char *esc = pt_arena_alloc(arena, 2 * strlen(name) + 1), *e = esc;
      for (const char *p = name; *p; p++) {
        if (strchr("*?[\\", *p))
          *e++ = '\\';
        *e++ = *p;
      }
      *e = 0;
      group one = {esc, pt_arena_alloc(arena, sizeof(pt_value *)), 1, g.role};
      one.members[0] = g.members[k];
      S->groups[S->ngroups++] = one;
    }
  }
  for (int i = 0; i < f->nargs; i++)
    pt_free(gen[i]);
  pt_free(gen);
  pt_free(done);
  add_families(S, arena);
  S->order = pt_calloc((size_t)S->ngroups + 1, sizeof *S->order);
  for (int i = 0; i < S->ngroups; i++) {
    group *g = &S->groups[i];
    for (int k = 0; k < g->n; k++)
      g->bytes += pt_type_bytes(&g->members[k]->type);
    int j = i;
    for (; j > 0 && S->groups[S->order[j - 1]].bytes < g->bytes; j--)
      S->order[j] = S->order[j - 1];
    S->order[j] = i;
  }
}

/* ---- states: snapshots and hashes ---------------------------------------- */

static void snapshot(const search *S, pt_sharding *to) {
  for (int i = 0; i < S->nvalues; i++)
    to[i] = *S->values[i]->sharding;
}

static void restore(const search *S, const pt_sharding *from) {
  for (int i = 0; i < S->nvalues; i++)
    *S->values[i]->sharding = from[i];
}

static uint64_t mix(uint64_t h, uint64_t x) {
  h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0x100000001b3ull;
}

/* The layouts of every value; with `final`, an undecided axis counts as
 * replicated (what pt_propagate_finish makes it), so states that lower to
 * the same program hash alike. */
static uint64_t state_hash(const search *S, bool final) {
  int naxes = S->f->module->mesh.naxes;
  uint64_t h = 0xcbf29ce484222325ull;
  for (int i = 0; i < S->nvalues; i++) {
    const pt_sharding *sh = S->values[i]->sharding;
    for (int a = 0; a < naxes; a++) {
      int kind = sh->ax[a].kind;
      if (final && kind == PT_SH_UNKNOWN)
        kind = PT_SH_REPLICATED;
      h = mix(h, (uint64_t)kind << 8 | (uint8_t)(kind == PT_SH_SHARDED ? sh->ax[a].dim : 0));
    }
    int rank = S->values[i]->type.rank;
    for (int d = 0; d < rank; d++)
      for (int k = 0; k < sh->norder[d]; k++)
        h = mix(h, (uint64_t)(d + 1) << 8 | (uint8_t)sh->order[d][k]);
  }
  return h ? h : 1; /* 0 marks an empty slot */
}

/* Inserts key into the set; false if it was there. */
static bool seen_insert(search *S, uint64_t key) {
  if ((S->nseen + 1) * 2 > S->capseen) {
    size_t cap = S->capseen ? S->capseen * 2 : 1024;
    uint64_t *t = pt_calloc(cap, sizeof *t);
    for (size_t i = 0; i < S->capseen; i++)
      if (S->seen[i])
        for (size_t j = S->seen[i] & (cap - 1);; j = (j + 1) & (cap - 1))
          if (!t[j]) {
            t[j] = S->seen[i];
            break;
          }
    pt_free(S->seen);
    S->seen = t;
    S->capseen = cap;
  }
  for (size_t j = key & (S->capseen - 1);; j = (j + 1) & (S->capseen - 1)) {
    if (S->seen[j] == key)
      return false;
    if (!S->seen[j]) {
      S->seen[j] = key;
      S->nseen++;
      return true;
    }
  }
}

static cache_slot *cache_find(search *S, uint64_t key) {
  if ((S->ncache + 1) * 2 > S->capcache) {
    size_t cap = S->capcache ? S->capcache * 2 : 1024;
    cache_slot *t = pt_calloc(cap, sizeof *t);
    for (size_t i = 0; i < S->capcache; i++)
      if (S->cache[i].used)
        for (size_t j = S->cache[i].key & (cap - 1);; j = (j + 1) & (cap - 1))
          if (!t[j].used) {
            t[j] = S->cache[i];
            break;
          }
    pt_free(S->cache);
    S->cache = t;
    S->capcache = cap;
  }
  for (size_t j = key & (S->capcache - 1);; j = (j + 1) & (S->capcache - 1))
    if (!S->cache[j].used || S->cache[j].key == key)
      return &S->cache[j];
}

/* ---- evaluating a state --------------------------------------------------- */

/* Lowers and simulates the function as it stands (undecided axes made
 * replicated), leaving its shardings as they were; why a candidate does not
 * lower or simulate goes to d. */
static eval simulate(search *S, pt_diag *d) {
  eval e = {0};
  snapshot(S, S->work);
  pt_propagate_finish(S->f);
  pt_module *m = pt_module_create("<auto>");
  const pt_mesh *mesh = &S->f->module->mesh;
  for (int a = 0; a < mesh->naxes; a++)
    pt_module_add_axis(m, mesh->names[a], mesh->sizes[a]);
  /* a train_step as `partita train` runs it: params carried as blocks
   * where they can be (a loss has no result named like a param) */
  pt_layout *carried = pt_calloc((size_t)S->f->nargs + 1, sizeof *carried);
  pt_lower_opts lo = {"auto_spmd", NULL, 0, NULL, carried};
  pt_func *g = NULL;
  if (pt_pass_lower(m, S->f, &lo, &g, d) == PT_OK) {
    pt_sim_result r;
    if (pt_sim_run(S->o->hw, g, &r, d) == PT_OK) {
      e = (eval){true, r.fits, r.step, r.compute, r.comm, r.memory.peak_bytes, r.bytes_sent};
    }
    pt_sim_result_free(&r);
  }
  pt_module_destroy(m);
  pt_free(carried);
  restore(S, S->work);
  return e;
}

static eval evaluate(search *S) {
  uint64_t key = state_hash(S, true);
  cache_slot *c = cache_find(S, key);
  S->prog.candidates++;
  if (c->used)
    return c->e;
  eval e = simulate(S, S->quiet);
  S->prog.simulated++;
  c = cache_find(S, key); /* simulate may not grow the table, but stay safe */
  c->key = key;
  c->e = e;
  if (!c->used)
    S->ncache++;
  c->used = true;
  return e;
}

/* Whether a is a better strategy than b: it runs, then it fits, then (both
 * fitting) it is faster or (neither) it needs less memory; within a part
 * per million, neither is better. */
static int compare_eval(const eval *a, const eval *b) {
  if (a->ok != b->ok)
    return a->ok ? -1 : 1;
  if (!a->ok)
    return 0;
  if (a->fits != b->fits)
    return a->fits ? -1 : 1;
  double x = a->fits ? a->step : (double)a->peak, y = b->fits ? b->step : (double)b->peak;
  if (x < y * (1 - 1e-6))
    return -1;
  if (y < x * (1 - 1e-6))
    return 1;
  return 0;
}

/* Whether a is enough better than b to be worth a decision: it runs, or it
 * fits, or it is faster (both fitting) or smaller (neither) by the fraction
 * `gain`. */
static bool improves(const eval *a, const eval *b, double gain) {
  if (!a->ok)
    return false;
  if (!b->ok)
    return true;
  if (a->fits != b->fits)
    return a->fits;
  if (a->fits)
    return a->step < b->step * (1 - gain);
  return (double)a->peak < (double)b->peak * (1 - gain);
}

/* Orders nodes: better strategy, then fewer decisions, then the seeded tie. */
static int compare_node(const void *pa, const void *pb) {
  const node *a = pa, *b = pb;
  int c = compare_eval(&a->e, &b->e);
  if (c)
    return c;
  if (a->ndec != b->ndec)
    return a->ndec < b->ndec ? -1 : 1;
  return a->tie < b->tie ? -1 : a->tie > b->tie;
}

static void report(search *S, bool force) {
  double t = now();
  S->prog.seconds = t - S->t0;
  S->prog.have_best = S->best.e.ok;
  S->prog.best_fits = S->best.e.fits;
  S->prog.best_step = S->best.e.step;
  S->prog.best_peak = S->best.e.peak;
  S->prog.best_decisions = S->best.ndec;
  if (S->o->progress && (force || t - S->last_report >= 0.1)) {
    S->last_report = t;
    S->o->progress(&S->prog, S->o->ud);
  }
}

/* ---- decisions -------------------------------------------------------------- */

/* Whether decision x can be seeded in the current state: every member
 * undecided along the axis, and a sharded dimension divisible by it. */
static bool can_seed(const search *S, decision x) {
  const group *g = &S->groups[x.group];
  int64_t size = S->f->module->mesh.sizes[x.axis];
  for (int k = 0; k < g->n; k++) {
    const pt_value *v = g->members[k];
    if (pt_sharding_axis(v, x.axis).kind != PT_SH_UNKNOWN)
      return false;
    if (x.dim >= 0) {
      if (x.dim >= v->type.rank)
        return false;
      int64_t local = pt_sharding_local_dim(v, x.dim);
      if (local < size || local % size)
        return false;
    }
  }
  return true;
}

/* Seeds x as tactic `tactic` and propagates along its axis; false if that
 * met a conflict the tactic would fail on (a sequence shard smaller than a
 * shift's halo, say: a script with this decision would not apply). */
static bool apply_decision(search *S, decision x, int tactic) {
  const group *g = &S->groups[x.group];
  for (int k = 0; k < g->n; k++)
    pt_sharding_set(g->members[k], x.axis, x.dim >= 0 ? PT_SH_SHARDED : PT_SH_REPLICATED, x.dim,
                    tactic, NULL);
  pt_prop_report rep = {0};
  pt_propagate_axis(S->f, x.axis, tactic, &rep);
  bool ok = true;
  for (int i = 0; i < rep.nconflicts; i++)
    ok &= !rep.conflicts[i].fatal;
  pt_prop_report_free(&rep);
  return ok;
}

/* Puts the function into node n's state (from the root). */
static void materialise(search *S, const node *n) {
  restore(S, S->root);
  for (int i = 0; i < n->ndec; i++)
    apply_decision(S, n->dec[i], S->base + i);
}

/* The decisions possible in the current state, in a fixed order. */
static int list_actions(const search *S, decision *out) {
  int n = 0;
  const pt_mesh *mesh = &S->f->module->mesh;
  for (int oi = 0; oi < S->ngroups; oi++) {
    int gi = S->order[oi];
    const group *g = &S->groups[gi];
    for (int a = 0; a < mesh->naxes; a++) {
      if (!(S->roles[a] & (1u << g->role)) || mesh->sizes[a] < 2)
        continue;
      for (int d = -1; d < g->members[0]->type.rank; d++) {
        decision x = {(int16_t)a, (int16_t)gi, (int16_t)d};
        if (can_seed(S, x))
          out[n++] = x;
      }
    }
  }
  return n;
}

static int max_actions(const search *S) {
  int n = 0;
  for (int gi = 0; gi < S->ngroups; gi++)
    n += S->groups[gi].members[0]->type.rank + 1;
  return n * S->f->module->mesh.naxes + 1;
}

static node child_of(const node *parent, decision x) {
  node c = {pt_malloc(((size_t)parent->ndec + 1) * sizeof(decision)), parent->ndec + 1, 0, {0}, 0};
  if (parent->ndec)
    memcpy(c.dec, parent->dec, (size_t)parent->ndec * sizeof(decision));
  c.dec[parent->ndec] = x;
  return c;
}

static void node_free(node *n) {
  pt_free(n->dec);
  n->dec = NULL;
}

static void set_best(search *S, const node *n) {
  node_free(&S->best);
  S->best = *n;
  S->best.dec = pt_malloc(((size_t)n->ndec + 1) * sizeof(decision));
  if (n->ndec)
    memcpy(S->best.dec, n->dec, (size_t)n->ndec * sizeof(decision));
}

static bool time_up(search *S) {
  if (!S->out_of_time && now() - S->t0 >= S->o->budget_s)
    S->out_of_time = true;
  return S->out_of_time;
}

/* Every child of the nodes of `level` not reached before, evaluated, into
 * *out (sorted, best first); returns how many. */
static int expand(search *S, node *level, int nlevel, node **out) {
  decision *acts = pt_malloc((size_t)max_actions(S) * sizeof *acts);
  int n = 0, cap = 0;
  node *kids = NULL;
  for (int i = 0; i < nlevel && !time_up(S); i++) {
    materialise(S, &level[i]);
    snapshot(S, S->work);
    pt_sharding *here = pt_malloc((size_t)S->nvalues * sizeof *here);
    memcpy(here, S->work, (size_t)S->nvalues * sizeof *here);
    int na = list_actions(S, acts);
    for (int k = 0; k < na && !time_up(S); k++) {
      restore(S, here);
      if (!apply_decision(S, acts[k], S->base + level[i].ndec))
        continue;
      uint64_t h = state_hash(S, false);
      if (!seen_insert(S, h))
        continue;
      node c = child_of(&level[i], acts[k]);
      c.hash = h;
      c.parent = i;
      c.e = evaluate(S);
      c.tie = splitmix(&S->rng);
      PT_GROW(kids, cap, (size_t)n + 1);
      kids[n++] = c;
      report(S, false);
    }
    pt_free(here);
  }
  pt_free(acts);
  if (n)
    qsort(kids, (size_t)n, sizeof *kids, compare_node);
  *out = kids;
  return n;
}

/* Moves the states the next level expands to the front of kids (sorted,
 * best first) and returns how many: the best `width`, but at most half of
 * them from one parent while others have children to offer, so that one
 * branch's variations do not crowd out a different idea that pays off a
 * decision later (Megatron's second weight after its first). */
static int select_beam(node *kids, int nk, int nparents, int width) {
  if (nk <= width)
    return nk;
  int cap = width / 2 > 0 ? width / 2 : 1, n = 0;
  int *taken = pt_calloc((size_t)nparents + 1, sizeof *taken);
  for (int pass = 0; pass < 2 && n < width; pass++)
    for (int i = n; i < nk && n < width; i++) {
      if (pass == 0 && taken[kids[i].parent] >= cap)
        continue;
      taken[kids[i].parent]++;
      node t = kids[i];
      memmove(&kids[n + 1], &kids[n], (size_t)(i - n) * sizeof *kids);
      kids[n++] = t;
    }
  pt_free(taken);
  return n;
}

/* Beam search from `start`: keeps the `width` best children per level and
 * stops after `patience` levels without a better strategy (or when nothing
 * is left to decide, or the budget is spent). Takes start's nodes. */
static const char *beam(search *S, node *start, int nstart, int width, int patience) {
  /* states are expanded once per run; simulations stay cached across runs */
  if (S->seen)
    memset(S->seen, 0, S->capseen * sizeof *S->seen);
  S->nseen = 0;
  for (int i = 0; i < nstart; i++)
    seen_insert(S, start[i].hash);
  node *level = start;
  int nlevel = nstart, stall = 0;
  eval run_best = start[0].e;
  const char *why = "converged";
  while (nlevel) {
    S->prog.level = level[0].ndec;
    node *kids;
    int nk = expand(S, level, nlevel, &kids);
    for (int i = 0; i < nlevel; i++)
      node_free(&level[i]);
    if (level != start)
      pt_free(level);
    /* the best is kept however small its gain, but only a real gain over
     * this run's best so far keeps the run going */
    if (nk && compare_eval(&kids[0].e, &S->best.e) < 0)
      set_best(S, &kids[0]);
    if (nk && improves(&kids[0].e, &run_best, S->gain)) {
      run_best = kids[0].e;
      stall = 0;
    } else {
      stall++;
    }
    report(S, true);
    int keep = select_beam(kids, nk, nlevel, width);
    for (int i = keep; i < nk; i++)
      node_free(&kids[i]);
    level = kids;
    nlevel = keep;
    if (S->out_of_time) {
      why = "budget";
      break;
    }
    if (!nk) {
      why = "nothing left to decide";
      break;
    }
    if (stall >= patience)
      break;
  }
  for (int i = 0; i < nlevel; i++)
    node_free(&level[i]);
  if (level != start)
    pt_free(level);
  return why;
}

/* Drops every decision of the best state that it does as well without
 * (the search may have taken one that a later one made useless). */
static void prune(search *S) {
  for (int i = S->best.ndec - 1; i >= 0 && S->best.ndec > 0; i--) {
    node c = {pt_malloc((size_t)S->best.ndec * sizeof(decision)), 0, 0, {0}, 0};
    for (int j = 0; j < S->best.ndec; j++)
      if (j != i)
        c.dec[c.ndec++] = S->best.dec[j];
    restore(S, S->root);
    bool ok = true;
    for (int j = 0; j < c.ndec && ok; j++)
      ok = can_seed(S, c.dec[j]) && apply_decision(S, c.dec[j], S->base + j);
    if (ok) {
      c.e = evaluate(S);
      if (compare_eval(&c.e, &S->best.e) <= 0) {
        set_best(S, &c);
        i = S->best.ndec; /* the others may have become removable */
      }
    }
    node_free(&c);
  }
}

/* ---- the found schedule ---------------------------------------------------- */

/* Applies schedule s from the state before the prefix; the final-layout
 * hash, or 0 if it did not apply. */
static uint64_t replay(search *S, const pt_sharding *pristine, const pt_schedule *s) {
  restore(S, pristine);
  for (int i = 0; i < s->ntactics; i++)
    if (pt_tactic_apply(S->f, s, i, NULL, S->quiet) != PT_OK)
      return 0;
  return state_hash(S, true);
}

static pt_tactic_entry entry_for(search *S, pt_arena *a, decision x) {
  return (pt_tactic_entry){pt_arena_strdup(a, S->groups[x.group].glob), x.dim, PT_NOLOC};
}

static void add_entry(pt_arena *a, pt_tactic *t, pt_tactic_entry e, int cap) {
  if (e.dim >= 0) {
    if (!t->shard)
      t->shard = pt_arena_alloc(a, (size_t)cap * sizeof *t->shard);
    t->shard[t->nshard++] = e;
  } else {
    if (!t->replicate)
      t->replicate = pt_arena_alloc(a, (size_t)cap * sizeof *t->replicate);
    t->replicate[t->nreplicate++] = e;
  }
}

/* The prefix's manual tactics, then best's decisions as tactics: decisions
 * in a row on one axis share a tactic when that decides the same layouts. */
static pt_schedule *build_schedule(search *S, const pt_schedule *prefix,
                                   const pt_sharding *pristine, uint64_t target) {
  pt_arena *a = pt_arena_create();
  pt_schedule *s = pt_arena_alloc(a, sizeof *s);
  s->arena = a;
  s->file = pt_arena_strdup(a, "<auto>");
  s->mesh = prefix->mesh;
  for (int i = 0; i < s->mesh.naxes; i++)
    s->mesh.names[i] = pt_arena_strdup(a, prefix->mesh.names[i]);
  int cap = prefix->ntactics + S->best.ndec + 1;
  s->tactics = pt_arena_alloc(a, (size_t)cap * sizeof *s->tactics);
  for (int i = 0; i < prefix->ntactics; i++) {
    const pt_tactic *t = &prefix->tactics[i];
    if (t->automatic)
      continue;
    pt_tactic *c = &s->tactics[s->ntactics++];
    *c = *t;
    c->name = pt_arena_strdup(a, t->name);
    c->axis_name = s->mesh.names[t->axis];
    c->shard = pt_arena_alloc(a, (size_t)(t->nshard + 1) * sizeof *c->shard);
    c->replicate = pt_arena_alloc(a, (size_t)(t->nreplicate + 1) * sizeof *c->replicate);
    for (int k = 0; k < t->nshard; k++)
      c->shard[k] =
          (pt_tactic_entry){pt_arena_strdup(a, t->shard[k].glob), t->shard[k].dim, PT_NOLOC};
    for (int k = 0; k < t->nreplicate; k++)
      c->replicate[k] = (pt_tactic_entry){pt_arena_strdup(a, t->replicate[k].glob), -1, PT_NOLOC};
  }
  int nmanual = s->ntactics, searched = 0;
  int ecap = S->best.ndec + 1;
  for (int i = 0; i < S->best.ndec; i++) {
    decision x = S->best.dec[i];
    pt_tactic_entry e = entry_for(S, a, x);
    if (s->ntactics > nmanual && s->tactics[s->ntactics - 1].axis == x.axis) {
      pt_tactic *last = &s->tactics[s->ntactics - 1];
      pt_tactic saved = *last;
      add_entry(a, last, e, ecap);
      /* would the merged schedule, with the rest of the decisions each a
       * tactic of its own, still decide best's layouts? */
      pt_tactic *rest = &s->tactics[s->ntactics];
      int nrest = 0;
      for (int j = i + 1; j < S->best.ndec; j++) {
        rest[nrest] = (pt_tactic){.name = "probe", .axis = S->best.dec[j].axis};
        rest[nrest].axis_name = s->mesh.names[rest[nrest].axis];
        add_entry(a, &rest[nrest], entry_for(S, a, S->best.dec[j]), 1);
        nrest++;
      }
      s->ntactics += nrest;
      uint64_t h = replay(S, pristine, s);
      s->ntactics -= nrest;
      if (h == target)
        continue;
      *last = saved;
    }
    pt_tactic *t = &s->tactics[s->ntactics++];
    char name[64];
    snprintf(name, sizeof name, "auto-%s-%d", s->mesh.names[x.axis], ++searched);
    *t = (pt_tactic){.name = pt_arena_strdup(a, name), .axis = x.axis};
    t->axis_name = s->mesh.names[x.axis];
    add_entry(a, t, e, ecap);
  }
  return s;
}

/* The figures before and after each tactic of r->schedule (evaluated by
 * replaying it; mostly cached). Leaves f in the found schedule's state. */
/* The groups (parameters and inputs, one layer-wise name each) that tactic
 * t decided without seeding them, from `open` (undecided before it). */
static void describe_propagation(const search *S, const pt_tactic *t, const bool *open, char *buf,
                                 size_t cap) {
  size_t k = 0;
  int shown = 0, more = 0;
  buf[0] = 0;
  for (int oi = 0; oi < S->ngroups; oi++) {
    int g = S->order[oi];
    const group *gr = &S->groups[g];
    if (!open[g] || gr->role == PT_ROLE_STATE || gr->family)
      continue; /* state follows its parameter; families repeat their members */
    pt_axis_state st = pt_sharding_axis(gr->members[0], t->axis);
    if (st.kind != PT_SH_SHARDED)
      continue;
    bool seeded = false;
    for (int e = 0; e < t->nshard && !seeded; e++)
      seeded = fnmatch(t->shard[e].glob, gr->members[0]->name, 0) == 0;
    if (seeded)
      continue;
    if (shown == 8 || k + strlen(gr->glob) + 16 >= cap) {
      more++;
      continue;
    }
    k += (size_t)snprintf(buf + k, cap - k, "%s%s %d", shown++ ? ", " : "", gr->glob, st.dim);
  }
  if (more && k < cap)
    snprintf(buf + k, cap - k, " and %d more", more);
}

static void tactic_figures(search *S, const pt_sharding *pristine, int nmanual, pt_auto_result *r) {
  const pt_schedule *s = r->schedule;
  r->info = pt_calloc((size_t)s->ntactics + 1, sizeof *r->info);
  restore(S, pristine);
  for (int i = 0; i < nmanual; i++)
    pt_tactic_apply(S->f, s, i, NULL, S->quiet);
  eval before = evaluate(S);
  bool *open = pt_calloc((size_t)S->ngroups + 1, sizeof *open);
  for (int i = nmanual; i < s->ntactics; i++) {
    const pt_tactic *t = &s->tactics[i];
    for (int g = 0; g < S->ngroups; g++)
      open[g] = pt_sharding_axis(S->groups[g].members[0], t->axis).kind == PT_SH_UNKNOWN;
    pt_tactic_apply(S->f, s, i, NULL, S->quiet);
    eval after = evaluate(S);
    pt_auto_tactic_info *in = &r->info[i];
    *in = (pt_auto_tactic_info){true, before.step, after.step, before.peak, after.peak, ""};
    describe_propagation(S, t, open, in->propagated, sizeof in->propagated);
    before = after;
  }
  pt_free(open);
}

/* ---- the entry point ------------------------------------------------------- */

static void collect_values(search *S) {
  pt_func *f = S->f;
  S->nvalues = f->nvalues;
  S->values = pt_calloc((size_t)S->nvalues + 1, sizeof *S->values);
  for (int i = 0; i < f->nargs; i++)
    S->values[f->args[i]->id] = f->args[i];
  for (int i = 0; i < f->nops; i++)
    for (int k = 0; k < pt_op_nresults(f->ops[i]); k++) {
      pt_value *v = pt_op_result(f->ops[i], k);
      S->values[v->id] = v;
    }
  /* ids of removed ops leave holes: pack the live values */
  int n = 0;
  for (int i = 0; i < S->nvalues; i++)
    if (S->values[i]) {
      pt_sharding_of(S->values[i]);
      S->values[n++] = S->values[i];
    }
  S->nvalues = n;
}

/* Which axes to search, with which roles; false (reported) on a prefix the
 * search cannot follow. */
static bool pick_axes(search *S, const pt_schedule *prefix, pt_diag *d) {
  int first;
  if (pt_schedule_has_auto(prefix, &first)) {
    for (int i = first; i < prefix->ntactics; i++) {
      const pt_tactic *t = &prefix->tactics[i];
      if (!t->automatic) {
        pt_diag_error(d, t->loc,
                      "tactic '%s' comes after the automatic tactic '%s': the search decides "
                      "last, so put manual tactics before every automatic one",
                      t->name, prefix->tactics[first].name);
        return false;
      }
      S->roles[t->axis] |= t->roles ? t->roles : pt_auto_default_roles(t->axis_name);
    }
    return true;
  }
  for (int a = 0; a < prefix->mesh.naxes; a++)
    S->roles[a] = S->o->roles ? S->o->roles[a] : pt_auto_default_roles(prefix->mesh.names[a]);
  return true;
}

/* Says why the root state does not simulate (the mesh does not fit the
 * hardware, say), with the real diagnostics. */
static void explain_failure(search *S, pt_diag *d) {
  int before = pt_diag_error_count(d);
  simulate(S, d);
  if (pt_diag_error_count(d) == before)
    pt_diag_error(d, PT_NOLOC, "the prefix's strategy does not lower and simulate");
}

/* Restarts: a seeded random first decision from the root, then a greedy
 * descent; returns why the last one stopped. */
static const char *restarts(search *S, int count) {
  const char *why = NULL;
  decision *acts = pt_malloc((size_t)max_actions(S) * sizeof *acts);
  node root = {0};
  for (int r = 1; r <= count && !time_up(S); r++) {
    S->prog.restart = r;
    restore(S, S->root);
    int na = list_actions(S, acts);
    if (!na)
      break;
    decision x = acts[splitmix(&S->rng) % (uint64_t)na];
    if (!apply_decision(S, x, S->base))
      continue;
    node c = child_of(&root, x);
    c.hash = state_hash(S, false);
    seen_insert(S, c.hash);
    c.e = evaluate(S);
    c.tie = splitmix(&S->rng);
    if (compare_eval(&c.e, &S->best.e) < 0)
      set_best(S, &c);
    why = beam(S, &c, 1, 1, 1);
  }
  pt_free(acts);
  return why;
}

static void fill_result(search *S, const pt_schedule *prefix, const pt_sharding *pristine,
                        const eval *root, int nmanual, pt_auto_result *out) {
  materialise(S, &S->best);
  uint64_t target = state_hash(S, true);
  out->schedule = build_schedule(S, prefix, pristine, target);
  tactic_figures(S, pristine, nmanual, out);
  pt_propagate_finish(S->f);
  out->fits = S->best.e.fits;
  out->step = S->best.e.step;
  out->compute = S->best.e.compute;
  out->comm = S->best.e.comm;
  out->peak = S->best.e.peak;
  out->bytes_sent = S->best.e.bytes;
  out->capacity = S->o->hw->memory;
  out->baseline_step = root->step;
  out->baseline_peak = root->peak;
  report(S, true);
  out->stats = S->prog;
}

pt_status pt_auto_search(pt_func *f, const pt_schedule *prefix, const pt_auto_opts *o,
                         pt_auto_result *out, pt_diag *d) {
  memset(out, 0, sizeof *out);
  search S = {.f = f,
              .o = o,
              .rng = o->seed ^ 0x5851f42d4c957f2dull,
              .gain = o->min_gain > 0 ? o->min_gain : 0.01};
  S.t0 = S.last_report = now();
  if (!pick_axes(&S, prefix, d))
    return PT_ERR;
  memcpy(out->roles, S.roles, sizeof S.roles);
  pt_pass_split_constants(f->module, d);
  collect_values(&S);
  S.quiet = pt_diag_create(NULL);
  pt_arena *ga = pt_arena_create();
  make_groups(&S, ga);
  S.work = pt_malloc((size_t)S.nvalues * sizeof *S.work + 1);
  S.root = pt_malloc((size_t)S.nvalues * sizeof *S.root + 1);
  pt_sharding *pristine = pt_malloc((size_t)S.nvalues * sizeof *pristine + 1);
  snapshot(&S, pristine);
  pt_status st = PT_OK;

  int nmanual = 0, nvalues = f->nvalues;
  for (int i = 0; i < prefix->ntactics && st == PT_OK; i++)
    if (!prefix->tactics[i].automatic) {
      st = pt_tactic_apply(f, prefix, i, NULL, d);
      nmanual++;
    }
  PT_ASSERT(f->nvalues == nvalues); /* constants were split before the snapshot */
  S.base = prefix->ntactics;
  snapshot(&S, S.root);
  node root = {0};
  if (st == PT_OK) {
    decision *acts = pt_malloc((size_t)max_actions(&S) * sizeof *acts);
    int na = list_actions(&S, acts);
    pt_free(acts);
    if (!na) {
      pt_diag_error(d, prefix->mesh.loc,
                    "nothing is left to search: every argument the search may seed is "
                    "already decided along every axis it may use (an automatic tactic, or "
                    "--mesh with axes the prefix leaves open, gives it room)");
      st = PT_ERR;
    }
  }
  if (st == PT_OK) {
    root.e = evaluate(&S);
    if (!root.e.ok) {
      explain_failure(&S, d);
      st = PT_ERR;
    }
  }
  if (st == PT_OK) {
    root.hash = state_hash(&S, false);
    set_best(&S, &root);
    /* greedy first, so that a tight budget still ends with a good strategy;
     * then the beam, which may find what one decision at a time misses */
    const char *why = beam(&S, &root, 1, 1, 1);
    int width = o->beam > 0 ? o->beam : 4;
    if (!S.out_of_time && width > 1) {
      S.prog.restart = 0;
      why = beam(&S, &root, 1, width, 2);
    }
    const char *rwhy = restarts(&S, o->restarts < 0 ? 4 : o->restarts);
    out->stopped = S.out_of_time ? "the time budget ran out"
                   : strcmp(why, "nothing left to decide") == 0 && !rwhy
                       ? "every argument is decided"
                       : "converged: no decision improves the best strategy";
    (void)rwhy;
    prune(&S);
    fill_result(&S, prefix, pristine, &root.e, nmanual, out);
    if (!out->fits) {
      char need[32], have[32];
      pt_diag_error(d, PT_NOLOC,
                    "no strategy found fits in %s per device (%s): the smallest peak found "
                    "was %s",
                    pt_calibrate_bytes_str((double)out->capacity, have, sizeof have), o->hw->name,
                    pt_calibrate_bytes_str((double)out->peak, need, sizeof need));
      st = PT_ERR;
    }
  }
  node_free(&S.best);
  pt_free(pristine);
  pt_free(S.work);
  pt_free(S.root);
  pt_free(S.values);
  pt_free(S.groups);
  pt_free(S.order);
  pt_free(S.seen);
  pt_free(S.cache);
  pt_arena_destroy(ga);
  pt_diag_destroy(S.quiet);
  return st;
}

void pt_auto_result_free(pt_auto_result *r) {
  pt_schedule_destroy(r->schedule);
  pt_free(r->info);
  memset(r, 0, sizeof *r);
}

/* ---- the script ------------------------------------------------------------- */

static void roles_str(unsigned roles, char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = 0;
  for (int r = 0; r < PT_ROLE_COUNT && k < cap; r++)
    if (roles & (1u << r))
      k += (size_t)snprintf(buf + k, cap - k, "%s%s", k ? ", " : "", pt_role_name((pt_role)r));
}

char *pt_auto_script(const pt_auto_result *r, const char *command) {
  const pt_schedule *s = r->schedule;
  char h[2048], t1[32], t2[32], t3[32], b1[32], b2[32], b3[32];
  size_t k = 0;
  if (command)
    k += (size_t)snprintf(h + k, sizeof h - k, "Found by: %s\n", command);
  double share = r->step > 0 ? 100 * r->comm / r->step : 0;
  k += (size_t)snprintf(
      h + k, sizeof h - k,
      "Predicted: step %s (compute %s, communication %s, %.1f%%), peak memory %s per device "
      "of %s (%s), %s sent per device.\n",
      pt_sim_time_str(r->step, t1, sizeof t1), pt_sim_time_str(r->compute, t2, sizeof t2),
      pt_sim_time_str(r->comm, t3, sizeof t3), share,
      pt_calibrate_bytes_str((double)r->peak, b1, sizeof b1),
      pt_calibrate_bytes_str((double)r->capacity, b2, sizeof b2), r->fits ? "fits" : "DOES NOT FIT",
      pt_calibrate_bytes_str((double)r->bytes_sent, b3, sizeof b3));
  k += (size_t)snprintf(h + k, sizeof h - k,
                        "Without the searched tactics: step %s, peak memory %s.\n",
                        pt_sim_time_str(r->baseline_step, t1, sizeof t1),
                        pt_calibrate_bytes_str((double)r->baseline_peak, b1, sizeof b1));
  k += (size_t)snprintf(h + k, sizeof h - k,
                        "Search: %d candidates (%d lowered and simulated) in %.1f s; %s.\n",
                        r->stats.candidates, r->stats.simulated, r->stats.seconds, r->stopped);
  k += (size_t)snprintf(h + k, sizeof h - k, "Searched:");
  for (int a = 0; a < s->mesh.naxes; a++)
    if (r->roles[a]) {
      char rs[64];
      roles_str(r->roles[a], rs, sizeof rs);
      k += (size_t)snprintf(h + k, sizeof h - k, " '%s' (%s);", s->mesh.names[a], rs);
    }
  if (k < sizeof h && h[k - 1] == ';')
    h[k - 1] = '.';
  k += (size_t)snprintf(h + k, sizeof h - k,
                        "\nTactics whose comment says \"from the search\" were found by it; "
                        "the others come from the prefix.");
  const char **comments = pt_calloc((size_t)s->ntactics + 1, sizeof *comments);
  char **owned = pt_calloc((size_t)s->ntactics + 1, sizeof *owned);
  for (int i = 0; i < s->ntactics; i++) {
    const pt_auto_tactic_info *in = &r->info[i];
    if (!in->searched)
      continue;
    owned[i] = pt_malloc(640);
    int n = snprintf(owned[i], 640, "from the search: step %s -> %s, peak memory %s -> %s",
                     pt_sim_time_str(in->step_before, t1, sizeof t1),
                     pt_sim_time_str(in->step_after, t2, sizeof t2),
                     pt_calibrate_bytes_str((double)in->peak_before, b1, sizeof b1),
                     pt_calibrate_bytes_str((double)in->peak_after, b2, sizeof b2));
    if (in->propagated[0])
      snprintf(owned[i] + n, 640 - (size_t)n, "\npropagation then shards: %s", in->propagated);
    comments[i] = owned[i];
  }
  char *text = pt_schedule_write(s, h, comments);
  for (int i = 0; i < s->ntactics; i++)
    pt_free(owned[i]);
  pt_free(owned);
  pt_free(comments);
  return text;
}
