/* Tactic scripts in YAML (docs/tactics.md), read with libyaml's document
 * API. Every error is located at the YAML node it is about, from libyaml's
 * marks (which count from 0; locations count from 1). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "tactics.h"

typedef struct {
  yaml_document_t *doc;
  pt_diag *d;
  pt_arena *arena;
  const char *file; /* in the arena */
  int errors;
} loader;

static pt_loc mark_loc(const loader *L, yaml_mark_t m) {
  return (pt_loc){L->file, (int)m.line + 1, (int)m.column + 1};
}

static pt_loc at(const loader *L, const yaml_node_t *n) {
  return mark_loc(L, n->start_mark);
}

static void error(loader *L, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void error(loader *L, const yaml_node_t *n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pt_diag_verror(L->d, at(L, n), fmt, ap);
  va_end(ap);
  L->errors++;
}

static yaml_node_t *node(const loader *L, int i) {
  return yaml_document_get_node(L->doc, i);
}

static const char *kind_name(const yaml_node_t *n) {
  switch (n->type) {
  case YAML_SCALAR_NODE:
    return n->data.scalar.length ? "a scalar" : "empty";
  case YAML_SEQUENCE_NODE:
    return "a list";
  case YAML_MAPPING_NODE:
    return "a mapping";
  case YAML_NO_NODE:
    break;
  }
  return "nothing";
}

/* The text of a scalar node, NUL-terminated (libyaml terminates them). */
static const char *text(const yaml_node_t *n) {
  return (const char *)n->data.scalar.value;
}

static bool is_scalar(const yaml_node_t *n) {
  return n->type == YAML_SCALAR_NODE;
}

/* A plain (unquoted) decimal integer, with an optional sign. */
static bool parse_int(const yaml_node_t *n, long long *out) {
  if (!is_scalar(n) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    return false;
  const char *s = text(n);
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

static bool is_ident(const char *s) {
  if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
    return false;
  for (s++; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || *s == '.' || *s == '$'))
      return false;
  return true;
}

/* Edit distance, for "did you mean" (short strings only). */
static int distance(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  if (na > 40 || nb > 40)
    return 99;
  int row[41];
  for (size_t j = 0; j <= nb; j++)
    row[j] = (int)j;
  for (size_t i = 1; i <= na; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= nb; j++) {
      int up = row[j];
      int best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[nb];
}

/* The index of the name closest to `got` (edit distance at most 2), or -1. */
static int closest(const char *got, const char *const *names, int n) {
  int best = 3, bi = -1;
  for (int i = 0; i < n; i++) {
    int dd = distance(got, names[i]);
    if (dd < best) {
      best = dd;
      bi = i;
    }
  }
  return bi;
}

/* " (did you mean 'x'?)" for the closest of names, or "". */
static const char *suggest(const char *got, const char *const *names, int n, char *buf,
                           size_t cap) {
  int bi = closest(got, names, n);
  buf[0] = 0;
  if (bi >= 0)
    snprintf(buf, cap, " (did you mean '%s'?)", names[bi]);
  return buf;
}

/* Checks the keys of mapping n against `allowed`; reports unknown, non-scalar
 * and duplicate keys, and sets *unknown if there were unknown ones (the key
 * meant is then not reported missing as well). `what` names the mapping in messages. */
static void check_keys(loader *L, const yaml_node_t *n, const char *const *allowed, int nallowed,
                       const char *what, const char *list, bool *unknown) {
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = node(L, p->key);
    if (!is_scalar(k)) {
      error(L, k, "a key of %s must be a name, not %s", what, kind_name(k));
      *unknown = true;
      continue;
    }
    bool known = false;
    for (int i = 0; i < nallowed; i++)
      known |= strcmp(text(k), allowed[i]) == 0;
    if (!known) {
      char sb[96];
      error(L, k, "unknown key '%s' in %s%s; allowed keys: %s", text(k), what,
            suggest(text(k), allowed, nallowed, sb, sizeof sb), list);
      *unknown = true; /* a unknown_key key is not also reported missing */
      continue;
    }
    for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
      yaml_node_t *k2 = node(L, q->key);
      if (is_scalar(k2) && strcmp(text(k2), text(k)) == 0) {
        error(L, k, "key '%s' appears twice in %s (first at line %d)", text(k), what,
              (int)k2->start_mark.line + 1);
        break;
      }
    }
  }
}

/* The value of key `key` in mapping n (the first, if duplicated), and the
 * key node in *keynode. */
static yaml_node_t *lookup(const loader *L, const yaml_node_t *n, const char *key,
                           yaml_node_t **keynode) {
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = node(L, p->key);
    if (is_scalar(k) && strcmp(text(k), key) == 0) {
      if (keynode)
        *keynode = k;
      return node(L, p->value);
    }
  }
  return NULL;
}

/* ---- mesh ------------------------------------------------------------ */

static void read_mesh(loader *L, pt_schedule *s, yaml_node_t *key, yaml_node_t *n) {
  s->mesh.loc = at(L, key);
  if (n->type != YAML_MAPPING_NODE) {
    error(L, n,
          "'mesh' must be a mapping of axis names to sizes, like {batch: 2, model: 4}, "
          "not %s",
          kind_name(n));
    return;
  }
  if (n->data.mapping.pairs.start == n->data.mapping.pairs.top) {
    error(L, n, "the mesh has no axes; give at least one, like {batch: 2}");
    return;
  }
  int64_t devices = 1;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
    if (!is_scalar(k) || !is_ident(text(k))) {
      if (is_scalar(k))
        error(L, k,
              "mesh axis name '%s' is not an identifier (letters, digits, '_' and '.', "
              "starting with a letter or '_')",
              text(k));
      else
        error(L, k, "a mesh axis name must be a name, not %s", kind_name(k));
      continue;
    }
    int dup = pt_mesh_axis(&s->mesh, text(k), strlen(text(k)));
    if (dup >= 0) {
      error(L, k, "mesh axis '%s' is declared twice", text(k));
      continue;
    }
    long long size;
    if (!parse_int(v, &size)) {
      if (is_scalar(v) && !*text(v))
        error(L, v, "mesh axis '%s' has no size; a size is a positive integer", text(k));
      else if (is_scalar(v))
        error(L, v, "mesh axis '%s' has size '%s'; a size is a positive integer", text(k), text(v));
      else
        error(L, v, "mesh axis '%s' has %s as its size; a size is a positive integer", text(k),
              kind_name(v));
      continue;
    }
    if (size < 1) {
      error(L, v, "mesh axis '%s' has size %lld; a size must be at least 1", text(k), size);
      continue;
    }
    if (size > (1 << 24) || devices * size > ((int64_t)1 << 31)) {
      error(L, v, "mesh axis '%s' of size %lld makes the mesh larger than 2^31 devices", text(k),
            size);
      continue;
    }
    if (s->mesh.naxes == PT_MAX_AXES) {
      error(L, k, "the mesh has more than %d axes", PT_MAX_AXES);
      return;
    }
    devices *= size;
    s->mesh.names[s->mesh.naxes] = pt_arena_strdup(L->arena, text(k));
    s->mesh.sizes[s->mesh.naxes++] = size;
  }
}

/* ---- tactics --------------------------------------------------------- */

static const char *const tactic_keys[] = {"name", "axis", "shard", "replicate"};
#define TACTIC_KEYS "name, axis, shard, replicate"

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

static void read_shard(loader *L, pt_tactic *t, yaml_node_t *n) {
  if (n->type != YAML_MAPPING_NODE) {
    error(L, n,
          "'shard' must be a mapping of argument names (or globs) to dimensions, like "
          "{x: 0, w1: 1}, not %s",
          kind_name(n));
    return;
  }
  size_t cap = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
  t->shard = pt_arena_alloc(L->arena, (cap ? cap : 1) * sizeof *t->shard);
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
    if (!is_scalar(k) || !*text(k)) {
      error(L, k, "a key of 'shard' must be an argument name or a glob, not %s", kind_name(k));
      continue;
    }
    const pt_tactic_entry *prev = find_entry(t->shard, t->nshard, text(k));
    if (prev) {
      error(L, k,
            "'%s' is listed twice in 'shard' (first at line %d); a tactic decides its "
            "axis once per value",
            text(k), prev->loc.line);
      continue;
    }
    long long dim;
    if (!parse_int(v, &dim) || dim < 0) {
      if (is_scalar(v) && !*text(v))
        error(L, v, "'%s' has no dimension: write '%s: 0' to shard its first", text(k), text(k));
      else if (is_scalar(v))
        error(L, v, "the dimension of '%s' must be a non-negative integer, not '%s'", text(k),
              text(v));
      else
        error(L, v, "the dimension of '%s' must be a non-negative integer, not %s", text(k),
              kind_name(v));
      continue;
    }
    if (dim >= PT_MAX_RANK) {
      error(L, v, "dimension %lld of '%s' is out of range: values have at most %d dimensions", dim,
            text(k), PT_MAX_RANK);
      continue;
    }
    t->shard[t->nshard++] =
        (pt_tactic_entry){pt_arena_strdup(L->arena, text(k)), (int)dim, at(L, k)};
  }
}

static void read_replicate(loader *L, pt_tactic *t, yaml_node_t *n) {
  if (n->type != YAML_SEQUENCE_NODE) {
    error(L, n, "'replicate' must be a list of argument names (or globs), like [b2], not %s",
          kind_name(n));
    return;
  }
  size_t cap = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
  t->replicate = pt_arena_alloc(L->arena, (cap ? cap : 1) * sizeof *t->replicate);
  for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
    yaml_node_t *v = node(L, *i);
    if (!is_scalar(v) || !*text(v)) {
      error(L, v, "an item of 'replicate' must be an argument name or a glob, not %s",
            kind_name(v));
      continue;
    }
    const pt_tactic_entry *prev = find_entry(t->replicate, t->nreplicate, text(v));
    if (prev) {
      error(L, v, "'%s' is listed twice in 'replicate' (first at line %d)", text(v),
            prev->loc.line);
      continue;
    }
    prev = find_entry(t->shard, t->nshard, text(v));
    if (prev) {
      error(L, v, "'%s' is both sharded (line %d) and replicated along '%s' in one tactic", text(v),
            prev->loc.line, t->axis_name ? t->axis_name : "its axis");
      continue;
    }
    t->replicate[t->nreplicate++] =
        (pt_tactic_entry){pt_arena_strdup(L->arena, text(v)), -1, at(L, v)};
  }
}

static void read_tactic(loader *L, pt_schedule *s, int index, yaml_node_t *n) {
  pt_tactic *t = &s->tactics[index];
  t->loc = at(L, n);
  t->axis = -1;
  if (n->type != YAML_MAPPING_NODE) {
    error(L, n, "a tactic must be a mapping with keys " TACTIC_KEYS ", not %s", kind_name(n));
    return;
  }
  int before = L->errors;
  bool unknown_key = false;
  check_keys(L, n, tactic_keys, 4, "a tactic", TACTIC_KEYS, &unknown_key);
  yaml_node_t *k, *v;
  char nb[32];
  snprintf(nb, sizeof nb, "tactic %d", index + 1);
  t->name = pt_arena_strdup(L->arena, nb);
  if ((v = lookup(L, n, "name", &k))) {
    if (!is_scalar(v) || !*text(v))
      error(L, v, "a tactic's 'name' must be a non-empty string, not %s", kind_name(v));
    else {
      for (int j = 0; j < index; j++)
        if (strcmp(s->tactics[j].name, text(v)) == 0) {
          error(L, v, "tactic name '%s' is already used by tactic %d (line %d)", text(v), j + 1,
                s->tactics[j].loc.line);
          break;
        }
      t->name = pt_arena_strdup(L->arena, text(v));
    }
  }
  if (!(v = lookup(L, n, "axis", &k))) {
    char ab[256];
    if (unknown_key)
      L->errors++;
    else
      error(L, n, "tactic '%s' has no 'axis'; say which mesh axis it decides (the mesh has %s)",
            t->name, axes_list(&s->mesh, ab, sizeof ab));
  } else if (!is_scalar(v)) {
    error(L, v, "'axis' must be the name of a mesh axis, not %s", kind_name(v));
  } else {
    t->axis = pt_mesh_axis(&s->mesh, text(v), strlen(text(v)));
    if (t->axis < 0) {
      char ab[256], sb[96];
      error(L, v, "'%s' is not an axis of the mesh%s; the mesh has %s", text(v),
            suggest(text(v), s->mesh.names, s->mesh.naxes, sb, sizeof sb),
            axes_list(&s->mesh, ab, sizeof ab));
    } else {
      t->axis_name = s->mesh.names[t->axis];
    }
  }
  yaml_node_t *sh = lookup(L, n, "shard", NULL), *rep = lookup(L, n, "replicate", NULL);
  if (sh)
    read_shard(L, t, sh);
  if (rep)
    read_replicate(L, t, rep);
  if (!sh && !rep && L->errors == before && !unknown_key)
    error(L, n, "tactic '%s' has neither 'shard' nor 'replicate', so it would do nothing", t->name);
}

static void read_schedule(loader *L, pt_schedule *s, yaml_node_t *n) {
  if (n->type != YAML_SEQUENCE_NODE) {
    error(L, n,
          "'schedule' must be a list of tactics (each '- name: ..., axis: ..., shard: "
          "...'), not %s",
          kind_name(n));
    return;
  }
  int count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
  if (count > INT16_MAX) {
    error(L, n, "the schedule has %d tactics; at most %d are allowed", count, INT16_MAX);
    return;
  }
  s->tactics = pt_arena_alloc(L->arena, (size_t)(count ? count : 1) * sizeof *s->tactics);
  s->ntactics = count;
  for (int i = 0; i < count; i++)
    read_tactic(L, s, i, node(L, n->data.sequence.items.start[i]));
}

/* ---- the document ---------------------------------------------------- */

/* A located message for a libyaml parse failure. */
static void syntax_error(loader *L, const yaml_parser_t *p, const char *textbuf, size_t len) {
  pt_loc loc = mark_loc(L, p->problem_mark);
  if (p->error == YAML_READER_ERROR) {
    /* reader errors give a byte offset, not a mark */
    int line = 1, col = 1;
    for (size_t i = 0; i < p->problem_offset && i < len; i++) {
      if (textbuf[i] == '\n')
        line++, col = 1;
      else
        col++;
    }
    loc = (pt_loc){L->file, line, col};
  }
  const char *problem = p->problem ? p->problem : "malformed YAML";
  if (p->context)
    pt_diag_error(L->d, loc, "YAML syntax: %s (%s at line %d, column %d)", problem, p->context,
                  (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
  else if (p->error == YAML_READER_ERROR && p->problem_value >= 0)
    pt_diag_error(L->d, loc, "YAML syntax: %s (byte 0x%02x)", problem, p->problem_value);
  else
    pt_diag_error(L->d, loc, "YAML syntax: %s", problem);
  L->errors++;
}

pt_schedule *pt_schedule_parse(const char *textbuf, size_t len, const char *file, pt_diag *d) {
  pt_arena *a = pt_arena_create();
  pt_schedule *s = pt_arena_alloc(a, sizeof *s);
  s->arena = a;
  s->file = pt_arena_strdup(a, file);
  pt_diag_add_source(d, s->file, textbuf, len);
  loader L = {NULL, d, a, s->file, 0};

  yaml_parser_t parser;
  yaml_document_t doc;
  PT_ASSERT(yaml_parser_initialize(&parser));
  yaml_parser_set_input_string(&parser, (const unsigned char *)textbuf, len);
  if (!yaml_parser_load(&parser, &doc)) {
    syntax_error(&L, &parser, textbuf, len);
    yaml_parser_delete(&parser);
    pt_arena_destroy(a);
    return NULL;
  }
  L.doc = &doc;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (!root) {
    pt_diag_error(d, (pt_loc){s->file, 1, 1},
                  "the tactic script is empty; it needs 'mesh' and 'schedule'");
    L.errors++;
  } else {
    /* one document per script; a broken or extra second one is the error */
    yaml_document_t extra;
    if (!yaml_parser_load(&parser, &extra)) {
      syntax_error(&L, &parser, textbuf, len);
      root = NULL;
    } else {
      yaml_node_t *r2 = yaml_document_get_root_node(&extra);
      if (r2) {
        error(&L, r2, "a tactic script holds one YAML document; this is a second one");
        root = NULL;
      }
      yaml_document_delete(&extra);
    }
  }
  if (root && root->type != YAML_MAPPING_NODE) {
    error(&L, root, "the top level must be a mapping with keys 'mesh' and 'schedule', not %s",
          kind_name(root));
  } else if (root) {
    static const char *const top_keys[] = {"mesh", "schedule"};
    bool unknown_key = false;
    check_keys(&L, root, top_keys, 2, "the top level", "mesh, schedule", &unknown_key);
    yaml_node_t *k, *v;
    int before = L.errors;
    if ((v = lookup(&L, root, "mesh", &k)))
      read_mesh(&L, s, k, v);
    else if (!unknown_key)
      error(&L, root, "the tactic script has no 'mesh' (like mesh: {batch: 2, model: 2})");
    else
      L.errors++;
    /* tactics name mesh axes: with a broken mesh they would only echo it */
    bool mesh_ok = L.errors == before;
    if ((v = lookup(&L, root, "schedule", &k))) {
      if (mesh_ok)
        read_schedule(&L, s, v);
    } else if (!unknown_key) {
      error(&L, root, "the tactic script has no 'schedule' (a list of tactics)");
    }
  }
  yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
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
