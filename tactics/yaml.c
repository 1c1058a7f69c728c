/* Tactic scripts in YAML (docs/tactics.md), read with libyaml's document
 * API through the loader layer of yamlnode.h: every error is located at the
 * YAML node it is about. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tactics.h"
#include "yamlnode.h"

/* A plain (unquoted) decimal integer, with an optional sign. */
static bool parse_int(const yaml_node_t *n, long long *out) {
  if (!pt_yaml_is_scalar(n) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    return false;
  const char *s = pt_yaml_text(n);
  const char *p = s + (*s == '-' || *s == '+');
  if (*p < '0' || *p > '9')
    return false;
  for (const char *q = p; *q; q++)
    if (*q < '0' || *q > '9')
      return false;
  errno = 0;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (errno || *end)
    return false;
  *out = v;
  return true;
}

/* ---- mesh ------------------------------------------------------------ */

static void read_mesh(pt_yaml_loader *L, pt_schedule *s, yaml_node_t *key, yaml_node_t *n) {
  s->mesh.loc = pt_yaml_at(L, key);
  if (n->type != YAML_MAPPING_NODE) {
    pt_yaml_error(L, n,
                  "'mesh' must be a mapping of axis names to sizes, like {batch: 2, model: 4}, "
                  "not %s",
                  pt_yaml_kind(n));
    return;
  }
  if (n->data.mapping.pairs.start == n->data.mapping.pairs.top) {
    pt_yaml_error(L, n, "the mesh has no axes; give at least one, like {batch: 2}");
    return;
  }
  int64_t devices = 1;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pt_yaml_node(L, p->key), *v = pt_yaml_node(L, p->value);
    if (!pt_yaml_is_scalar(k) || !pt_yaml_is_ident(pt_yaml_text(k), ".$")) {
      if (pt_yaml_is_scalar(k))
        pt_yaml_error(L, k,
                      "mesh axis name '%s' is not an identifier (letters, digits, '_' and '.', "
                      "starting with a letter or '_')",
                      pt_yaml_text(k));
      else
        pt_yaml_error(L, k, "a mesh axis name must be a name, not %s", pt_yaml_kind(k));
      continue;
    }
    int dup = pt_mesh_axis(&s->mesh, pt_yaml_text(k), strlen(pt_yaml_text(k)));
    if (dup >= 0) {
      pt_yaml_error(L, k, "mesh axis '%s' is declared twice", pt_yaml_text(k));
      continue;
    }
    long long size;
    if (!parse_int(v, &size)) {
      if (pt_yaml_is_scalar(v) && !*pt_yaml_text(v))
        pt_yaml_error(L, v, "mesh axis '%s' has no size; a size is a positive integer",
                      pt_yaml_text(k));
      else if (pt_yaml_is_scalar(v))
        pt_yaml_error(L, v, "mesh axis '%s' has size '%s'; a size is a positive integer",
                      pt_yaml_text(k), pt_yaml_text(v));
      else
        pt_yaml_error(L, v, "mesh axis '%s' has %s as its size; a size is a positive integer",
                      pt_yaml_text(k), pt_yaml_kind(v));
      continue;
    }
    if (size < 1) {
      pt_yaml_error(L, v, "mesh axis '%s' has size %lld; a size must be at least 1",
                    pt_yaml_text(k), size);
      continue;
    }
    if (size > (1 << 24) || devices * size > PT_MAX_DEVICES) {
      pt_yaml_error(L, v, "mesh axis '%s' of size %lld makes the mesh larger than 2^31 devices",
                    pt_yaml_text(k), size);
      continue;
    }
    if (s->mesh.naxes == PT_MAX_AXES) {
      pt_yaml_error(L, k, "the mesh has more than %d axes", PT_MAX_AXES);
      return;
    }
    devices *= size;
    s->mesh.names[s->mesh.naxes] = pt_arena_strdup(L->arena, pt_yaml_text(k));
    s->mesh.sizes[s->mesh.naxes++] = size;
  }
}

/* ---- tactics --------------------------------------------------------- */

static const char *const tactic_keys[] = {"name", "axis", "shard", "replicate", "auto", "args"};
#define TACTIC_KEYS "name, axis, shard, replicate, auto, args"

static const char *axes_list(const pt_mesh *m, char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < m->naxes && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s'%s'",
                          i == 0              ? ""
                          : i == m->naxes - 1 ? (m->naxes > 2 ? ", and " : " and ")
                                              : ", ",
                          m->names[i]);
  return buf;
}

/* Whether name (a glob or argument name) already appears among the first n
 * entries; the earlier entry in *prev. */
static const pt_tactic_entry *find_entry(const pt_tactic_entry *es, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(es[i].glob, name) == 0)
      return &es[i];
  return NULL;
}

static void read_shard(pt_yaml_loader *L, pt_tactic *t, yaml_node_t *n) {
  if (n->type != YAML_MAPPING_NODE) {
    pt_yaml_error(L, n,
                  "'shard' must be a mapping of argument names (or globs) to dimensions, like "
                  "{x: 0, w1: 1}, not %s",
                  pt_yaml_kind(n));
    return;
  }
  size_t cap = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
  t->shard = pt_arena_alloc(L->arena, (cap ? cap : 1) * sizeof *t->shard);
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pt_yaml_node(L, p->key), *v = pt_yaml_node(L, p->value);
    if (!pt_yaml_is_scalar(k) || !*pt_yaml_text(k)) {
      pt_yaml_error(L, k, "a key of 'shard' must be an argument name or a glob, not %s",
                    pt_yaml_kind(k));
      continue;
    }
    const pt_tactic_entry *prev = find_entry(t->shard, t->nshard, pt_yaml_text(k));
    if (prev) {
      pt_yaml_error(L, k,
                    "'%s' is listed twice in 'shard' (first at line %d); a tactic decides its "
                    "axis once per value",
                    pt_yaml_text(k), prev->loc.line);
      continue;
    }
    long long dim;
    if (!parse_int(v, &dim) || dim < 0) {
      if (pt_yaml_is_scalar(v) && !*pt_yaml_text(v))
        pt_yaml_error(L, v, "'%s' has no dimension: write '%s: 0' to shard its first",
                      pt_yaml_text(k), pt_yaml_text(k));
      else if (pt_yaml_is_scalar(v))
        pt_yaml_error(L, v, "the dimension of '%s' must be a non-negative integer, not '%s'",
                      pt_yaml_text(k), pt_yaml_text(v));
      else
        pt_yaml_error(L, v, "the dimension of '%s' must be a non-negative integer, not %s",
                      pt_yaml_text(k), pt_yaml_kind(v));
      continue;
    }
    if (dim >= PT_MAX_RANK) {
      pt_yaml_error(L, v,
                    "dimension %lld of '%s' is out of range: values have at most %d dimensions",
                    dim, pt_yaml_text(k), PT_MAX_RANK);
      continue;
    }
    t->shard[t->nshard++] =
        (pt_tactic_entry){pt_arena_strdup(L->arena, pt_yaml_text(k)), (int)dim, pt_yaml_at(L, k)};
  }
}

static void read_replicate(pt_yaml_loader *L, pt_tactic *t, yaml_node_t *n) {
  if (n->type != YAML_SEQUENCE_NODE) {
    pt_yaml_error(L, n,
                  "'replicate' must be a list of argument names (or globs), like [b2], not %s",
                  pt_yaml_kind(n));
    return;
  }
  size_t cap = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
  t->replicate = pt_arena_alloc(L->arena, (cap ? cap : 1) * sizeof *t->replicate);
  for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
    yaml_node_t *v = pt_yaml_node(L, *i);
    if (!pt_yaml_is_scalar(v) || !*pt_yaml_text(v)) {
      pt_yaml_error(L, v, "an item of 'replicate' must be an argument name or a glob, not %s",
                    pt_yaml_kind(v));
      continue;
    }
    const pt_tactic_entry *prev = find_entry(t->replicate, t->nreplicate, pt_yaml_text(v));
    if (prev) {
      pt_yaml_error(L, v, "'%s' is listed twice in 'replicate' (first at line %d)", pt_yaml_text(v),
                    prev->loc.line);
      continue;
    }
    prev = find_entry(t->shard, t->nshard, pt_yaml_text(v));
    if (prev) {
      pt_yaml_error(L, v, "'%s' is both sharded (line %d) and replicated along '%s' in one tactic",
                    pt_yaml_text(v), prev->loc.line, t->axis_name ? t->axis_name : "its axis");
      continue;
    }
    t->replicate[t->nreplicate++] =
        (pt_tactic_entry){pt_arena_strdup(L->arena, pt_yaml_text(v)), -1, pt_yaml_at(L, v)};
  }
}

/* `auto: true` and `args: [param, state]` (or `args: all`): an automatic
 * tactic, which seeds nothing itself. Returns whether t is automatic (an
 * error about it is reported here). */
static bool read_auto(pt_yaml_loader *L, pt_tactic *t, yaml_node_t *n, yaml_node_t *sh,
                      yaml_node_t *rep) {
  yaml_node_t *k, *v = pt_yaml_lookup(L, n, "auto", &k);
  yaml_node_t *args = pt_yaml_lookup(L, n, "args", NULL);
  if (v) {
    const char *x = pt_yaml_is_scalar(v) ? pt_yaml_text(v) : "";
    if (strcmp(x, "true") == 0)
      t->automatic = true;
    else if (strcmp(x, "false") != 0) {
      pt_yaml_error(L, v, "'auto' must be true or false, not %s%s%s",
                    pt_yaml_is_scalar(v) ? "'" : "", pt_yaml_is_scalar(v) ? x : pt_yaml_kind(v),
                    pt_yaml_is_scalar(v) ? "'" : "");
      return true;
    }
  }
  if (!t->automatic) {
    if (args)
      pt_yaml_error(L, args,
                    "'args' says what an automatic tactic may seed: it needs 'auto: "
                    "true' in tactic '%s'",
                    t->name);
    return args != NULL;
  }
  if (sh || rep) {
    pt_yaml_error(L, sh ? sh : rep,
                  "an automatic tactic chooses its own seeds; put fixed '%s' entries in a "
                  "tactic before '%s'",
                  sh ? "shard" : "replicate", t->name);
    return true;
  }
  if (!args)
    return true;
  if (pt_yaml_is_scalar(args) && strcmp(pt_yaml_text(args), "all") == 0) {
    t->roles = (1u << PT_ROLE_COUNT) - 1;
    return true;
  }
  if (args->type != YAML_SEQUENCE_NODE) {
    pt_yaml_error(L, args,
                  "'args' must be a list of argument roles, like [param, state], or "
                  "'all', not %s",
                  pt_yaml_kind(args));
    return true;
  }
  for (yaml_node_item_t *i = args->data.sequence.items.start; i < args->data.sequence.items.top;
       i++) {
    yaml_node_t *r = pt_yaml_node(L, *i);
    int role = -1;
    for (int j = 0; j < PT_ROLE_COUNT && pt_yaml_is_scalar(r); j++)
      if (strcmp(pt_yaml_text(r), pt_role_name((pt_role)j)) == 0)
        role = j;
    if (role < 0) {
      pt_yaml_error(L, r, "'%s' is not an argument role; the roles are input, param and state",
                    pt_yaml_is_scalar(r) ? pt_yaml_text(r) : pt_yaml_kind(r));
      continue;
    }
    t->roles |= 1u << role;
  }
  if (!t->roles && L->errors == 0)
    pt_yaml_error(L, args, "'args' is empty, so the search could seed nothing");
  return true;
}

static void read_tactic(pt_yaml_loader *L, pt_schedule *s, int index, yaml_node_t *n) {
  pt_tactic *t = &s->tactics[index];
  t->loc = pt_yaml_at(L, n);
  t->axis = -1;
  /* named before anything can fail: later tactics compare their names */
  char nb[32];
  snprintf(nb, sizeof nb, "tactic %d", index + 1);
  t->name = pt_arena_strdup(L->arena, nb);
  if (n->type != YAML_MAPPING_NODE) {
    pt_yaml_error(L, n, "a tactic must be a mapping with keys " TACTIC_KEYS ", not %s",
                  pt_yaml_kind(n));
    return;
  }
  int before = L->errors;
  bool unknown_key = pt_yaml_check_keys(L, n, tactic_keys, 6, "a tactic");
  yaml_node_t *k, *v;
  if ((v = pt_yaml_lookup(L, n, "name", &k))) {
    if (!pt_yaml_is_scalar(v) || !*pt_yaml_text(v))
      pt_yaml_error(L, v, "a tactic's 'name' must be a non-empty string, not %s", pt_yaml_kind(v));
    else {
      for (int j = 0; j < index; j++)
        if (strcmp(s->tactics[j].name, pt_yaml_text(v)) == 0) {
          pt_yaml_error(L, v, "tactic name '%s' is already used by tactic %d (line %d)",
                        pt_yaml_text(v), j + 1, s->tactics[j].loc.line);
          break;
        }
      t->name = pt_arena_strdup(L->arena, pt_yaml_text(v));
    }
  }
  if (!(v = pt_yaml_lookup(L, n, "axis", &k))) {
    char ab[256];
    if (unknown_key)
      L->errors++;
    else
      pt_yaml_error(L, n,
                    "tactic '%s' has no 'axis'; say which mesh axis it decides (the mesh has %s)",
                    t->name, axes_list(&s->mesh, ab, sizeof ab));
  } else if (!pt_yaml_is_scalar(v)) {
    pt_yaml_error(L, v, "'axis' must be the name of a mesh axis, not %s", pt_yaml_kind(v));
  } else {
    t->axis = pt_mesh_axis(&s->mesh, pt_yaml_text(v), strlen(pt_yaml_text(v)));
    if (t->axis < 0) {
      char ab[256], sb[96];
      pt_yaml_error(L, v, "'%s' is not an axis of the mesh%s; the mesh has %s", pt_yaml_text(v),
                    pt_yaml_suggest(pt_yaml_text(v), s->mesh.names, s->mesh.naxes, sb, sizeof sb),
                    axes_list(&s->mesh, ab, sizeof ab));
    } else {
      t->axis_name = s->mesh.names[t->axis];
    }
  }
  yaml_node_t *sh = pt_yaml_lookup(L, n, "shard", NULL),
              *rep = pt_yaml_lookup(L, n, "replicate", NULL);
  if (read_auto(L, t, n, sh, rep))
    return;
  if (sh)
    read_shard(L, t, sh);
  if (rep)
    read_replicate(L, t, rep);
  if (!sh && !rep && L->errors == before && !unknown_key)
    pt_yaml_error(L, n, "tactic '%s' has neither 'shard' nor 'replicate', so it would do nothing",
                  t->name);
}

static void read_schedule(pt_yaml_loader *L, pt_schedule *s, yaml_node_t *n) {
  if (n->type != YAML_SEQUENCE_NODE) {
    pt_yaml_error(L, n,
                  "'schedule' must be a list of tactics (each '- name: ..., axis: ..., shard: "
                  "...'), not %s",
                  pt_yaml_kind(n));
    return;
  }
  int count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
  if (count > INT16_MAX) {
    pt_yaml_error(L, n, "the schedule has %d tactics; at most %d are allowed", count, INT16_MAX);
    return;
  }
  s->tactics = pt_arena_alloc(L->arena, (size_t)(count ? count : 1) * sizeof *s->tactics);
  s->ntactics = count;
  for (int i = 0; i < count; i++)
    read_tactic(L, s, i, pt_yaml_node(L, n->data.sequence.items.start[i]));
}

/* ---- the document ---------------------------------------------------- */

pt_schedule *pt_schedule_parse(const char *textbuf, size_t len, const char *file, pt_diag *d) {
  pt_arena *a = pt_arena_create();
  pt_schedule *s = pt_arena_alloc(a, sizeof *s);
  s->arena = a;
  s->file = pt_arena_strdup(a, file);
  pt_yaml_loader L = {.d = d, .file = s->file, .arena = a, .syntax_byte = true};
  yaml_node_t *root = pt_yaml_open(&L, textbuf, len, "tactic script", "'mesh' and 'schedule'");
  if (root && root->type != YAML_MAPPING_NODE) {
    pt_yaml_error(&L, root,
                  "the top level must be a mapping with keys 'mesh' and 'schedule', not %s",
                  pt_yaml_kind(root));
  } else if (root) {
    static const char *const top_keys[] = {"mesh", "schedule"};
    bool unknown_key = pt_yaml_check_keys(&L, root, top_keys, 2, "the top level");
    yaml_node_t *k, *v;
    int before = L.errors;
    if ((v = pt_yaml_lookup(&L, root, "mesh", &k)))
      read_mesh(&L, s, k, v);
    else if (!unknown_key)
      pt_yaml_error(&L, root, "the tactic script has no 'mesh' (like mesh: {batch: 2, model: 2})");
    else
      L.errors++;
    /* tactics name mesh axes: with a broken mesh they would only echo it */
    bool mesh_ok = L.errors == before;
    if ((v = pt_yaml_lookup(&L, root, "schedule", &k))) {
      if (mesh_ok)
        read_schedule(&L, s, v);
    } else if (!unknown_key) {
      pt_yaml_error(&L, root, "the tactic script has no 'schedule' (a list of tactics)");
    }
  }
  pt_yaml_close(&L);
  if (L.errors) {
    pt_arena_destroy(a);
    return NULL;
  }
  return s;
}

pt_schedule *pt_schedule_read(const char *path, pt_diag *d) {
  size_t n = 0;
  char *buf = pt_read_file(path, &n, d);
  if (!buf)
    return NULL;
  pt_schedule *s = pt_schedule_parse(buf, n, path, d);
  pt_free(buf);
  return s;
}

void pt_schedule_destroy(pt_schedule *s) {
  if (s)
    pt_arena_destroy(s->arena);
}
