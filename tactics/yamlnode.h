/* The YAML loader layer shared by the files partita reads with libyaml's
 * document API (tactic scripts, tactics/yaml.c; hardware files,
 * simulator/hw.c): one document per file, every error located at the node
 * it is about (libyaml's marks count from 0; locations count from 1). */
#ifndef PT_YAMLNODE_H
#define PT_YAMLNODE_H

#include <yaml.h>

#include "ir.h"

/* A file being read. The caller fills d, file (which must outlive the
 * loader), arena and ud; pt_yaml_open fills the rest. */
typedef struct {
  pt_diag *d;
  const char *file;
  pt_arena *arena; /* where what is read is allocated */
  void *ud;        /* the caller's: the object being read */
  /* a reader error (bad UTF-8) names the offending byte; tactic scripts
   * say it, hardware files do not */
  bool syntax_byte;
  int errors; /* reported so far */
  yaml_parser_t parser;
  yaml_document_t doc;
  bool opened, loaded;
} pt_yaml_loader;

/* Parses text as exactly one YAML document and returns its root; NULL
 * after reporting why not: a syntax error, an empty file ("the WHAT is
 * empty; it needs NEEDS") or a second document ("a WHAT holds one YAML
 * document; ..."). Registers text with the diagnostics for carets. Call
 * pt_yaml_close afterwards either way. */
yaml_node_t *pt_yaml_open(pt_yaml_loader *L, const char *text, size_t len, const char *what,
                          const char *needs);
void pt_yaml_close(pt_yaml_loader *L);

/* Locations and errors. pt_yaml_error counts the error in L->errors. */
pt_loc pt_yaml_mark_loc(const pt_yaml_loader *L, yaml_mark_t m);
pt_loc pt_yaml_at(const pt_yaml_loader *L, const yaml_node_t *n);
void pt_yaml_error(pt_yaml_loader *L, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Nodes: by index in the document, what kind ("a scalar", "empty", "a
 * list", "a mapping", for messages), a scalar's text (NUL-terminated). */
yaml_node_t *pt_yaml_node(const pt_yaml_loader *L, int i);
const char *pt_yaml_kind(const yaml_node_t *n);
const char *pt_yaml_text(const yaml_node_t *n);
bool pt_yaml_is_scalar(const yaml_node_t *n);
/* A letter or '_', then letters, digits, '_' and the characters of more. */
bool pt_yaml_is_ident(const char *s, const char *more);

/* " (did you mean 'x'?)" for the name closest to got (edit distance at
 * most 2), or "": written to buf, which is returned. */
const char *pt_yaml_suggest(const char *got, const char *const *names, int n, char *buf,
                            size_t cap);

/* Reports the unknown, non-scalar and duplicate keys of mapping n (`what`
 * names the mapping in messages, which list the allowed keys). Returns
 * whether a key was unknown: a key then missing is probably the misspelt
 * one, and should not be reported twice. */
bool pt_yaml_check_keys(pt_yaml_loader *L, const yaml_node_t *n, const char *const *allowed,
                        int nallowed, const char *what);
/* The value of `key` in mapping n (the first, if duplicated) or NULL; the
 * key's node in *keynode unless keynode is NULL. */
yaml_node_t *pt_yaml_lookup(const pt_yaml_loader *L, const yaml_node_t *n, const char *key,
                            yaml_node_t **keynode);

#endif
