/* The YAML loader layer (see yamlnode.h): loading one document, located
 * errors, and the node helpers the tactic-script and hardware-file readers
 * share. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "yamlnode.h"

pt_loc pt_yaml_mark_loc(const pt_yaml_loader *L, yaml_mark_t m) {
  return (pt_loc){L->file, (int)m.line + 1, (int)m.column + 1};
}

pt_loc pt_yaml_at(const pt_yaml_loader *L, const yaml_node_t *n) {
  return pt_yaml_mark_loc(L, n->start_mark);
}

void pt_yaml_error(pt_yaml_loader *L, const yaml_node_t *n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pt_diag_verror(L->d, pt_yaml_at(L, n), fmt, ap);
  va_end(ap);
  L->errors++;
}

/* ---- the document ----------------------------------------------------- */

/* A located message for a libyaml parse failure. */
static void syntax_error(pt_yaml_loader *L, const char *text, size_t len) {
  const yaml_parser_t *p = &L->parser;
  pt_loc loc = pt_yaml_mark_loc(L, p->problem_mark);
  if (p->error == YAML_READER_ERROR) {
    /* reader errors give a byte offset, not a mark */
    int line = 1, col = 1;
    for (size_t i = 0; i < p->problem_offset && i < len; i++) {
      if (text[i] == '\n')
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
  else if (L->syntax_byte && p->error == YAML_READER_ERROR && p->problem_value >= 0)
    pt_diag_error(L->d, loc, "YAML syntax: %s (byte 0x%02x)", problem, p->problem_value);
  else
    pt_diag_error(L->d, loc, "YAML syntax: %s", problem);
  L->errors++;
}

yaml_node_t *pt_yaml_open(pt_yaml_loader *L, const char *text, size_t len, const char *what,
                          const char *needs) {
  pt_diag_add_source(L->d, L->file, text, len);
  PT_ASSERT(yaml_parser_initialize(&L->parser));
  L->opened = true;
  yaml_parser_set_input_string(&L->parser, (const unsigned char *)text, len);
  if (!yaml_parser_load(&L->parser, &L->doc)) {
    syntax_error(L, text, len);
    return NULL;
  }
  L->loaded = true;
  yaml_node_t *root = yaml_document_get_root_node(&L->doc);
  if (!root) {
    pt_diag_error(L->d, (pt_loc){L->file, 1, 1}, "the %s is empty; it needs %s", what, needs);
    L->errors++;
    return NULL;
  }
  /* one document per file; a broken or extra second one is the error */
  yaml_document_t extra;
  if (!yaml_parser_load(&L->parser, &extra)) {
    syntax_error(L, text, len);
    return NULL;
  }
  yaml_node_t *r2 = yaml_document_get_root_node(&extra);
  if (r2) {
    pt_yaml_error(L, r2, "a %s holds one YAML document; this is a second one", what);
    root = NULL;
  }
  yaml_document_delete(&extra);
  return root;
}

void pt_yaml_close(pt_yaml_loader *L) {
  if (L->loaded)
    yaml_document_delete(&L->doc);
  if (L->opened)
    yaml_parser_delete(&L->parser);
  L->loaded = L->opened = false;
}

/* ---- nodes ------------------------------------------------------------ */

yaml_node_t *pt_yaml_node(const pt_yaml_loader *L, int i) {
  /* libyaml's getter takes a mutable document but only reads it */
  return yaml_document_get_node((yaml_document_t *)&L->doc, i);
}

const char *pt_yaml_kind(const yaml_node_t *n) {
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

const char *pt_yaml_text(const yaml_node_t *n) {
  return (const char *)n->data.scalar.value; /* libyaml terminates them */
}

bool pt_yaml_is_scalar(const yaml_node_t *n) {
  return n->type == YAML_SCALAR_NODE;
}

bool pt_yaml_is_ident(const char *s, const char *more) {
  if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
    return false;
  for (s++; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || strchr(more, *s)))
      return false;
  return true;
}


const char *pt_yaml_suggest(const char *got, const char *const *names, int n, char *buf,
                            size_t cap) {
  int best = 3, bi = -1;
  for (int i = 0; i < n; i++) {
    int dd = pt_edit_distance(got, names[i]);
    if (dd < best)
      best = dd, bi = i;
  }
  buf[0] = 0;
  if (bi >= 0)
    snprintf(buf, cap, " (did you mean '%s'?)", names[bi]);
  return buf;
}

/* ---- mappings --------------------------------------------------------- */

bool pt_yaml_check_keys(pt_yaml_loader *L, const yaml_node_t *n, const char *const *allowed,
                        int nallowed, const char *what) {
  char list[256] = "";
  for (int i = 0, k = 0; i < nallowed; i++)
    k += snprintf(list + k, sizeof list - (size_t)k, "%s%s", i ? ", " : "", allowed[i]);
  bool unknown = false;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pt_yaml_node(L, p->key);
    if (!pt_yaml_is_scalar(k)) {
      pt_yaml_error(L, k, "a key of %s must be a name, not %s", what, pt_yaml_kind(k));
      unknown = true;
      continue;
    }
    const char *name = pt_yaml_text(k);
    bool known = false;
    for (int i = 0; i < nallowed; i++)
      known |= strcmp(name, allowed[i]) == 0;
    if (!known) {
      char sb[96];
      pt_yaml_error(L, k, "unknown key '%s' in %s%s; allowed keys: %s", name, what,
                    pt_yaml_suggest(name, allowed, nallowed, sb, sizeof sb), list);
      unknown = true;
      continue;
    }
    for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
      yaml_node_t *k2 = pt_yaml_node(L, q->key);
      if (pt_yaml_is_scalar(k2) && strcmp(pt_yaml_text(k2), name) == 0) {
        pt_yaml_error(L, k, "key '%s' appears twice in %s (first at line %d)", name, what,
                      (int)k2->start_mark.line + 1);
        break;
      }
    }
  }
  return unknown;
}

yaml_node_t *pt_yaml_lookup(const pt_yaml_loader *L, const yaml_node_t *n, const char *key,
                            yaml_node_t **keynode) {
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pt_yaml_node(L, p->key);
    if (pt_yaml_is_scalar(k) && strcmp(pt_yaml_text(k), key) == 0) {
      if (keynode)
        *keynode = k;
      return pt_yaml_node(L, p->value);
    }
  }
  return NULL;
}
