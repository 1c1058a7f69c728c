/* The StableHLO text reader behind pt_import_parse (internal to import/):
 * a character cursor over the MLIR text, MLIR types and attribute values,
 * and each operation read, in its pretty or generic form, into one record
 * (pt_import_op) with its attributes under their generic names, so that
 * import/import.c maps one shape of record, whichever form was written.
 * Ownership: records and attribute values live in the reader's scratch
 * arena; names and spans point into the source text. */
#ifndef PT_IMPORT_READER_H
#define PT_IMPORT_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "import.h"

/* An MLIR type: a ranked static tensor of a known element type, or not. */
typedef enum { PT_IT_F32, PT_IT_INT, PT_IT_BOOL, PT_IT_OTHER } pt_import_elem;
typedef struct {
  pt_import_elem elem; /* PT_IT_OTHER: see `why` */
  int bits;            /* integers: 8, 16, 32, 64 */
  bool is_unsigned;
  pt_type t;       /* its partita type (integers are i32) */
  const char *why; /* a static message when the type is not supported */
  char text[48];   /* the element type as written, for messages */
} pt_import_type;

typedef enum {
  PT_IA_INT,
  PT_IA_FLOAT,
  PT_IA_STR,   /* "..." (s, n: without quotes, escapes kept) */
  PT_IA_SYM,   /* @name */
  PT_IA_WORD,  /* a bare word: LT, FLOAT, true, #loc3, #stablehlo<... X> (X) */
  PT_IA_LIST,  /* [a, b], array<i64: 1, 2>; pairs ([0] x [1]) are a list of two */
  PT_IA_DICT,  /* {k = v}, #stablehlo.gather<k = v> */
  PT_IA_DENSE, /* dense<...> : type (s, n: the text inside <>; elided: dense_resource) */
  PT_IA_OTHER, /* anything else, skipped */
} pt_import_akind;

typedef struct pt_import_aval {
  pt_import_akind k;
  const char *at;
  int64_t i;
  double f;
  const char *s;
  size_t n;
  struct pt_import_aval *items; /* LIST, DICT */
  const char **keys;            /* DICT */
  int nitems;
  bool elided;          /* DENSE: dense_resource<...> */
  bool has_type;        /* DENSE: ': type' followed */
  pt_import_type *type; /* DENSE: that type (scratch) */
} pt_import_aval;

typedef struct pt_import_op pt_import_op;

/* A region's one block: its arguments and operations. */
typedef struct {
  const char **args;
  int nargs;
  pt_import_op **ops;
  int nops;
} pt_import_region;

typedef struct {
  const char *name; /* without '%', NUL-terminated in scratch ("0", "0#1") */
  const char *at;
} pt_import_ref;

struct pt_import_op {
  const char *name; /* "stablehlo.add", "func.call", "return" (scratch) */
  const char *at;   /* where the op name starts */
  bool generic;     /* "stablehlo.add"(...) form */
  const char *res;  /* result name without '%' or NULL */
  int nres;         /* number of results (%0:2 gives 2) */
  pt_import_ref *operands;
  int noperands;
  int ninputs;          /* reduce: operands[0..ninputs) inputs, the rest inits */
  pt_import_aval attrs; /* a DICT */
  pt_import_type *in_types, *out_types;
  int nin, nout;
  pt_import_region *regions;
  int nregions;
  const char *loc; /* the text after "loc(" of its location, or NULL */
};

typedef struct pt_import_reader pt_import_reader;

/* Location of a position in the source. */
pt_loc pt_import_loc(pt_import_reader *r, const char *at);

/* The reader's state; import.c drives it. */
struct pt_import_reader {
  const char *src, *p, *end;
  const char *file;
  pt_diag *d;
  bool failed;
  pt_arena *scratch; /* records of the current op; reset per top-level op */
  pt_arena *keep;    /* aliases and names that live for the whole import */
  /* loc cache: the line and line start of `lc_p` */
  const char *lc_p, *lc_bol;
  int lc_line;
  /* #locN = loc(...) aliases: name (without '#') -> text after "loc(" */
  const char **alias_names, **alias_text;
  size_t *alias_len;
  int naliases, capaliases;
  bool nl;   /* the last pt_import_ws crossed a line end */
  int depth; /* nesting of attribute values and regions being read */
  /* NULL if an op of this name can be imported, else why not (import.c) */
  const char *(*unsupported)(const char *name);
};

void pt_import_fail(pt_import_reader *r, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pt_import_ws(pt_import_reader *r);
bool pt_import_peek(pt_import_reader *r, char c);
bool pt_import_accept(pt_import_reader *r, const char *s);
bool pt_import_expect(pt_import_reader *r, const char *s, const char *what);
/* A bare word ([A-Za-z_][A-Za-z0-9_.$]*), NUL-terminated in scratch; NULL if none. */
char *pt_import_word(pt_import_reader *r);
bool pt_import_word_is(pt_import_reader *r, const char *w);
/* @name or @"name" (NUL-terminated in arena a); NULL on error. */
char *pt_import_symbol(pt_import_reader *r, pt_arena *a);
/* %name (into scratch, '#k' kept); NULL on error. */
char *pt_import_value_name(pt_import_reader *r);
bool pt_import_type_parse(pt_import_reader *r, pt_import_type *t);
bool pt_import_attr_value(pt_import_reader *r, pt_import_aval *v);
bool pt_import_attr_dict(pt_import_reader *r, pt_import_aval *dict, char close);
/* Skips a balanced loc(...) if one follows; *text (may be NULL) receives
 * the text after "loc(". */
void pt_import_skip_loc(pt_import_reader *r, const char **text);
/* One operation, in either form; NULL on error (reported). */
pt_import_op *pt_import_read_op(pt_import_reader *r);
/* Records every `#name = loc(...)` line of the source. */
void pt_import_scan_aliases(pt_import_reader *r);
/* The Python (or other) source position a loc(...) text names, if any. */
bool pt_import_loc_resolve(pt_import_reader *r, const char *text, pt_loc *out, int depth);

/* Attribute access on a DICT. */
const pt_import_aval *pt_import_get(const pt_import_aval *dict, const char *key);
/* An integer list (LIST of INT, or a DENSE of integers, or one INT) into
 * out[0..max); -1 if v is none of these or too long. */
int pt_import_ints(pt_import_reader *r, const pt_import_aval *v, int64_t *out, int max);

/* The values of a dense<...> literal of numel elements of type t into out (as
 * doubles), or one value if it is a splat (*splat set). False (reported)
 * on malformed text or a count that does not match. */
bool pt_import_dense_values(pt_import_reader *r, const pt_import_aval *v, const pt_import_type *t,
                            int64_t numel, double *out, bool *splat);

#endif
