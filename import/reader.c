/* The StableHLO text reader (import/reader.h): MLIR's lexical forms read
 * straight off a character cursor (MLIR's syntax is context-dependent:
 * `4x8xf32` is three tokens inside tensor<> and one elsewhere), types,
 * attribute values, and operations in the pretty and the generic form. It
 * never reads past the end of the text and stops at the first error. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader.h"

static int cur(const pt_import_reader *r) {
  return r->p < r->end ? (unsigned char)*r->p : 0;
}
static int at(const pt_import_reader *r, size_t k) {
  return r->p + k < r->end ? (unsigned char)r->p[k] : 0;
}
static bool is_alpha(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_digit(int c) {
  return c >= '0' && c <= '9';
}
static bool is_word(int c) {
  return is_alpha(c) || is_digit(c) || c == '.' || c == '$';
}
static bool is_suffix(int c) {
  return is_word(c) || c == '-';
}

pt_loc pt_import_loc(pt_import_reader *r, const char *p) {
  if (p < r->src || p > r->end)
    p = r->end;
  if (!r->lc_p || p < r->lc_p) {
    r->lc_p = r->src;
    r->lc_bol = r->src;
    r->lc_line = 1;
  }
  for (const char *q = r->lc_p; q < p; q++)
    if (*q == '\n') {
      r->lc_line++;
      r->lc_bol = q + 1;
    }
  r->lc_p = p;
  return (pt_loc){r->file, r->lc_line, (int)(p - r->lc_bol) + 1, NULL};
}

void pt_import_fail(pt_import_reader *r, const char *p, const char *fmt, ...) {
  if (r->failed)
    return;
  r->failed = true;
  va_list ap;
  va_start(ap, fmt);
  pt_diag_verror(r->d, pt_import_loc(r, p), fmt, ap);
  va_end(ap);
}

void pt_import_ws(pt_import_reader *r) {
  r->nl = false;
  while (r->p < r->end) {
    int c = cur(r);
    if (c == '\n') {
      r->nl = true;
      r->p++;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      r->p++;
    } else if (c == '/' && at(r, 1) == '/') {
      while (r->p < r->end && *r->p != '\n')
        r->p++;
    } else {
      break;
    }
  }
}

bool pt_import_peek(pt_import_reader *r, char c) {
  pt_import_ws(r);
  return cur(r) == (unsigned char)c;
}

bool pt_import_accept(pt_import_reader *r, const char *s) {
  pt_import_ws(r);
  size_t n = strlen(s);
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, s, n) != 0)
    return false;
  /* a word must not continue: `x` is not the start of `xor` */
  if (is_alpha((unsigned char)s[n - 1]) && is_word(at(r, n)))
    return false;
  r->p += n;
  return true;
}

static const char *describe(pt_import_reader *r) {
  if (r->p >= r->end)
    return "the end of the file";
  return NULL;
}

bool pt_import_expect(pt_import_reader *r, const char *s, const char *what) {
  if (pt_import_accept(r, s))
    return true;
  const char *e = describe(r);
  if (e)
    pt_import_fail(r, r->p, "expected '%s' %s, found %s", s, what, e);
  else
    pt_import_fail(r, r->p, "expected '%s' %s, found '%c'", s, what, cur(r));
  return false;
}

char *pt_import_word(pt_import_reader *r) {
  pt_import_ws(r);
  if (!is_alpha(cur(r)))
    return NULL;
  const char *s = r->p;
  while (is_word(cur(r)))
    r->p++;
  return pt_arena_strndup(r->scratch, s, (size_t)(r->p - s));
}

bool pt_import_word_is(pt_import_reader *r, const char *w) {
  pt_import_ws(r);
  size_t n = strlen(w);
  return (size_t)(r->end - r->p) >= n && memcmp(r->p, w, n) == 0 && !is_word(at(r, n));
}

/* A quoted string's body (escapes kept); r->p after the closing quote. */
static bool string_body(pt_import_reader *r, const char **s, size_t *n) {
  const char *start = r->p;
  r->p++;
  const char *b = r->p;
  while (r->p < r->end && *r->p != '"') {
    if (*r->p == '\\' && r->p + 1 < r->end)
      r->p++;
    if (*r->p == '\n')
      break;
    r->p++;
  }
  if (cur(r) != '"') {
    pt_import_fail(r, start, "unterminated string");
    return false;
  }
  *s = b;
  *n = (size_t)(r->p - b);
  r->p++;
  return true;
}

char *pt_import_symbol(pt_import_reader *r, pt_arena *a) {
  pt_import_ws(r);
  if (cur(r) != '@') {
    pt_import_fail(r, r->p, "expected a symbol (@name)");
    return NULL;
  }
  r->p++;
  if (cur(r) == '"') {
    const char *s;
    size_t n;
    if (!string_body(r, &s, &n))
      return NULL;
    return pt_arena_strndup(a, s, n);
  }
  const char *s = r->p;
  while (is_suffix(cur(r)))
    r->p++;
  if (r->p == s) {
    pt_import_fail(r, s, "expected a symbol name after '@'");
    return NULL;
  }
  return pt_arena_strndup(a, s, (size_t)(r->p - s));
}

char *pt_import_value_name(pt_import_reader *r) {
  pt_import_ws(r);
  const char *s = r->p;
  if (cur(r) != '%') {
    pt_import_fail(r, r->p, "expected a value (%%name)");
    return NULL;
  }
  r->p++;
  const char *b = r->p;
  while (is_suffix(cur(r)))
    r->p++;
  if (r->p == b) {
    pt_import_fail(r, s, "expected a value name after '%%'");
    return NULL;
  }
  if (cur(r) == '#' && is_digit(at(r, 1))) {
    r->p++;
    while (is_digit(cur(r)))
      r->p++;
  }
  return pt_arena_strndup(r->scratch, b, (size_t)(r->p - b));
}

/* Skips a balanced group that starts at the cursor's open bracket. */
static bool skip_balanced(pt_import_reader *r) {
  const char *start = r->p;
  char stack[64];
  int depth = 0;
  while (r->p < r->end) {
    int c = cur(r);
    if (c == '"') {
      const char *s;
      size_t n;
      if (!string_body(r, &s, &n))
        return false;
      continue;
    }
    if (c == '(' || c == '[' || c == '{' || c == '<') {
      if (depth == 64) {
        pt_import_fail(r, r->p, "brackets nested too deeply");
        return false;
      }
      stack[depth++] = c == '(' ? ')' : c == '[' ? ']' : c == '{' ? '}' : '>';
    } else if (c == ')' || c == ']' || c == '}' || (c == '>' && depth && stack[depth - 1] == '>')) {
      if (!depth || stack[depth - 1] != c) {
        pt_import_fail(r, r->p, "unbalanced '%c'", c);
        return false;
      }
      depth--;
    } else if (c == '-' && at(r, 1) == '>') {
      r->p++; /* an arrow inside a type is no closing bracket */
    }
    r->p++;
    if (!depth)
      return true;
  }
  pt_import_fail(r, start, "unterminated '%c'", *start);
  return false;
}

void pt_import_skip_loc(pt_import_reader *r, const char **text) {
  if (text)
    *text = NULL;
  if (!pt_import_word_is(r, "loc"))
    return;
  r->p += 3;
  pt_import_ws(r);
  if (cur(r) != '(') {
    pt_import_fail(r, r->p, "expected '(' after loc");
    return;
  }
  if (text)
    *text = r->p + 1;
  skip_balanced(r);
}

/* ---- types ---------------------------------------------------------- */

static bool elem_type(pt_import_reader *r, pt_import_type *t, const char *s, size_t n) {
  size_t k = n < sizeof t->text - 1 ? n : sizeof t->text - 1;
  memcpy(t->text, s, k);
  t->text[k] = 0;
  t->why = NULL;
  if (n == 3 && memcmp(s, "f32", 3) == 0) {
    t->elem = PT_IT_F32;
    t->t.dtype = PT_F32;
  } else if (n == 2 && memcmp(s, "i1", 2) == 0) {
    t->elem = PT_IT_BOOL;
    t->t.dtype = PT_PRED;
  } else if ((s[0] == 'i' || (n > 2 && s[0] == 'u' && s[1] == 'i') ||
              (n > 2 && s[0] == 's' && s[1] == 'i'))) {
    const char *d = s + (s[0] == 'i' ? 1 : 2);
    int bits = 0;
    for (const char *q = d; q < s + n; q++) {
      if (!is_digit((unsigned char)*q) || bits > 1000) {
        bits = -1;
        break;
      }
      bits = bits * 10 + (*q - '0');
    }
    if (bits != 8 && bits != 16 && bits != 32 && bits != 64) {
      t->elem = PT_IT_OTHER;
      t->why = "only 1-, 8-, 16-, 32- and 64-bit integers are imported";
      return true;
    }
    t->elem = PT_IT_INT;
    t->bits = bits;
    t->is_unsigned = s[0] == 'u';
    t->t.dtype = PT_I32;
  } else {
    t->elem = PT_IT_OTHER;
    if ((n == 4 && memcmp(s, "bf16", 4) == 0) || (n == 3 && memcmp(s, "f16", 3) == 0))
      t->why = "partita has no 16-bit floats yet (f32, i32 and pred); export in float32";
    else if (n == 3 && memcmp(s, "f64", 3) == 0)
      t->why = "partita has no f64 (f32, i32 and pred); export without jax_enable_x64";
    else
      t->why = "partita's element types are f32, i32 and pred (i1)";
  }
  return true;
}

bool pt_import_type_parse(pt_import_reader *r, pt_import_type *t) {
  memset(t, 0, sizeof *t);
  pt_import_ws(r);
  const char *start = r->p;
  if (!pt_import_word_is(r, "tensor")) {
    /* a type partita has no tensor for: skip it whole for the message */
    if (cur(r) == '!' || cur(r) == '(')
      r->p++;
    while (is_suffix(cur(r)))
      r->p++;
    if (cur(r) == '<' && !skip_balanced(r))
      return false;
    if (r->p == start) {
      pt_import_fail(r, start, "expected a type");
      return false;
    }
    t->elem = PT_IT_OTHER;
    size_t n =
        (size_t)(r->p - start) < sizeof t->text - 1 ? (size_t)(r->p - start) : sizeof t->text - 1;
    memcpy(t->text, start, n);
    t->why = "only ranked tensors of static shape are imported";
    return true;
  }
  r->p += 6;
  if (cur(r) != '<') {
    pt_import_fail(r, r->p, "expected '<' after tensor");
    return false;
  }
  r->p++;
  int rank = 0;
  int64_t numel = 1;
  for (;;) {
    if (cur(r) == '?' || cur(r) == '*') {
      r->p++;
      t->why = "dynamic shapes are not imported (partita's shapes are static)";
      if (cur(r) == 'x')
        r->p++;
      rank++;
      continue;
    }
    if (!is_digit(cur(r)))
      break;
    int64_t v = 0;
    while (is_digit(cur(r))) {
      if (v > (INT64_MAX - 9) / 10) {
        pt_import_fail(r, r->p, "dimension too large");
        return false;
      }
      v = v * 10 + (cur(r) - '0');
      r->p++;
    }
    if (cur(r) != 'x') {
      pt_import_fail(r, r->p, "expected 'x' after a dimension");
      return false;
    }
    r->p++;
    if (v > 0 && (v > (INT64_C(1) << 48) || numel > (INT64_C(1) << 48) / v)) {
      pt_import_fail(r, r->p, "this type has more than 2^48 elements (partita's limit)");
      return false;
    }
    if (v > 0)
      numel *= v;
    if (rank < PT_MAX_RANK)
      t->t.dims[rank] = v;
    if (v == 0 && !t->why)
      t->why = "zero-size dimensions are not imported (partita's dimensions are >= 1)";
    rank++;
  }
  const char *es = r->p;
  while (is_word(cur(r)))
    r->p++;
  if (r->p == es) {
    pt_import_fail(r, r->p, "expected an element type");
    return false;
  }
  const char *why = t->why;
  elem_type(r, t, es, (size_t)(r->p - es));
  if (cur(r) == '<' && !skip_balanced(r)) /* complex<f32> */
    return false;
  if (memcmp(es, "complex", 7 < r->p - es ? 7 : (size_t)(r->p - es)) == 0) {
    t->elem = PT_IT_OTHER;
    t->why = "complex numbers are not imported";
  }
  if (why && t->elem != PT_IT_OTHER) {
    t->elem = PT_IT_OTHER;
    t->why = why;
  }
  if (rank > PT_MAX_RANK) {
    t->elem = PT_IT_OTHER;
    t->why = "partita's ranks go up to 8";
  }
  t->t.rank = rank > PT_MAX_RANK ? PT_MAX_RANK : rank;
  if (cur(r) == ',') {
    /* an encoding (#stablehlo.bounds<...>, a sparse layout) */
    while (r->p < r->end && cur(r) != '>') {
      if ((cur(r) == '<' || cur(r) == '(' || cur(r) == '[') && !skip_balanced(r))
        return false;
      else if (cur(r) != '>')
        r->p++;
    }
    t->elem = PT_IT_OTHER;
    t->why = "tensor encodings (bounds, sparsity) are not imported";
  }
  if (cur(r) != '>') {
    pt_import_fail(r, r->p, "expected '>' to close tensor<");
    return false;
  }
  r->p++;
  return true;
}

/* ---- attribute values ----------------------------------------------- */

static void dict_put(pt_import_reader *r, pt_import_aval *d, const char *key,
                     const pt_import_aval *v) {
  int n = d->nitems;
  pt_import_aval *items = pt_arena_alloc(r->scratch, (size_t)(n + 1) * sizeof *items);
  const char **keys = pt_arena_alloc(r->scratch, (size_t)(n + 1) * sizeof *keys);
  if (n) {
    memcpy(items, d->items, (size_t)n * sizeof *items);
    memcpy(keys, d->keys, (size_t)n * sizeof *keys);
  }
  items[n] = *v;
  keys[n] = key;
  d->items = items;
  d->keys = keys;
  d->nitems = n + 1;
}

static void list_push(pt_import_reader *r, pt_import_aval *l, const pt_import_aval *v, int *cap) {
  if (l->nitems == *cap) {
    int nc = *cap ? *cap * 2 : 8;
    pt_import_aval *items = pt_arena_alloc(r->scratch, (size_t)nc * sizeof *items);
    if (l->nitems)
      memcpy(items, l->items, (size_t)l->nitems * sizeof *items);
    l->items = items;
    *cap = nc;
  }
  l->items[l->nitems++] = *v;
}

const pt_import_aval *pt_import_get(const pt_import_aval *dict, const char *key) {
  if (!dict || dict->k != PT_IA_DICT)
    return NULL;
  for (int i = dict->nitems - 1; i >= 0; i--)
    if (strcmp(dict->keys[i], key) == 0)
      return &dict->items[i];
  return NULL;
}

/* A number: integer, float or 0x hex (as an integer). */
static bool number(pt_import_reader *r, pt_import_aval *v) {
  const char *s = r->p;
  char buf[64];
  size_t n = 0;
  if (cur(r) == '-' || cur(r) == '+')
    r->p++;
  if (cur(r) == '0' && (at(r, 1) == 'x' || at(r, 1) == 'X')) {
    r->p += 2;
    uint64_t x = 0;
    int digits = 0;
    for (;; r->p++, digits++) {
      int c = cur(r);
      int h = is_digit(c)            ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (h < 0)
        break;
      x = x << 4 | (uint64_t)h;
    }
    if (!digits || digits > 16) {
      pt_import_fail(r, s, "malformed hexadecimal number");
      return false;
    }
    v->k = PT_IA_INT;
    v->i = (int64_t)(*s == '-' ? (uint64_t)0 - x : x); /* two's complement, no overflow */
    v->f = (double)x;
    v->s = s; /* the hex text: floats are written as their bits */
    v->n = (size_t)(r->p - s);
    return true;
  }
  bool flt = false;
  while (r->p < r->end) {
    int c = cur(r);
    if (is_digit(c))
      r->p++;
    else if (c == '.' || c == 'e' || c == 'E') {
      flt = true;
      r->p++;
      if ((c == 'e' || c == 'E') && (cur(r) == '-' || cur(r) == '+'))
        r->p++;
    } else
      break;
  }
  n = (size_t)(r->p - s);
  if (n == 0 || n >= sizeof buf || (n == 1 && !is_digit((unsigned char)*s))) {
    pt_import_fail(r, s, "malformed number");
    return false;
  }
  memcpy(buf, s, n);
  buf[n] = 0;
  char *e;
  errno = 0;
  if (flt) {
    v->k = PT_IA_FLOAT;
    v->f = strtod(buf, &e);
  } else {
    v->k = PT_IA_INT;
    long long x = strtoll(buf, &e, 10);
    v->i = x;
    v->f = (double)x;
    if (errno == ERANGE) {
      pt_import_fail(r, s, "integer out of range");
      return false;
    }
  }
  if (*e) {
    pt_import_fail(r, s, "malformed number '%s'", buf);
    return false;
  }
  v->s = s;
  v->n = n;
  return true;
}

/* `: type` after a number (a scalar type: `0 : i64`; a tensor type there
 * is the op's) or a dense literal (any type). */
static bool opt_type(pt_import_reader *r, pt_import_type *t, bool *has, bool tensor_ok) {
  pt_import_ws(r);
  if (cur(r) != ':' || at(r, 1) == ':')
    return true;
  /* only a type follows here: `0 : i64`, `dense<...> : tensor<...>` */
  const char *save = r->p;
  r->p++;
  pt_import_ws(r);
  if ((!is_alpha(cur(r)) && cur(r) != '!') ||
      (!tensor_ok && (pt_import_word_is(r, "tensor") || cur(r) == '!'))) {
    r->p = save;
    return true;
  }
  if (has)
    *has = true;
  pt_import_type tmp;
  return pt_import_type_parse(r, t ? t : &tmp);
}

bool pt_import_attr_dict(pt_import_reader *r, pt_import_aval *dict, char close) {
  /* the opening bracket has been read */
  dict->k = PT_IA_DICT;
  for (;;) {
    pt_import_ws(r);
    if (cur(r) == (unsigned char)close) {
      r->p++;
      return true;
    }
    const char *ks = r->p;
    char *key;
    if (cur(r) == '"') {
      const char *s;
      size_t n;
      if (!string_body(r, &s, &n))
        return false;
      key = pt_arena_strndup(r->scratch, s, n);
    } else {
      while (is_suffix(cur(r)))
        r->p++;
      if (r->p == ks) {
        pt_import_fail(r, ks, "expected an attribute name");
        return false;
      }
      key = pt_arena_strndup(r->scratch, ks, (size_t)(r->p - ks));
    }
    pt_import_aval v = {.k = PT_IA_WORD, .at = ks, .s = "unit", .n = 4};
    pt_import_ws(r);
    if (cur(r) == '=') {
      r->p++;
      if (!pt_import_attr_value(r, &v))
        return false;
      /* the pretty form of a pair: [0] x [1] */
      if (pt_import_accept(r, "x")) {
        pt_import_aval second, pair = {.k = PT_IA_LIST, .at = v.at};
        int cap = 0;
        if (!pt_import_attr_value(r, &second))
          return false;
        list_push(r, &pair, &v, &cap);
        list_push(r, &pair, &second, &cap);
        v = pair;
      }
    }
    dict_put(r, dict, key, &v);
    pt_import_ws(r);
    if (cur(r) == ',') {
      r->p++;
      continue;
    }
    if (cur(r) != (unsigned char)close) {
      pt_import_fail(r, r->p, "expected ',' or '%c' in an attribute list", close);
      return false;
    }
  }
}

static bool attr_value(pt_import_reader *r, pt_import_aval *v);

/* Attribute values and regions nest; a bound keeps the recursion off the
 * end of the stack whatever the input. */
#define MAX_DEPTH 64

bool pt_import_attr_value(pt_import_reader *r, pt_import_aval *v) {
  if (r->depth >= MAX_DEPTH) {
    pt_import_fail(r, r->p, "attributes nested more than %d deep", MAX_DEPTH);
    return false;
  }
  r->depth++;
  bool ok = attr_value(r, v);
  r->depth--;
  return ok;
}

static bool attr_value(pt_import_reader *r, pt_import_aval *v) {
  memset(v, 0, sizeof *v);
  pt_import_ws(r);
  v->at = r->p;
  int c = cur(r);
  if (c == '[') {
    r->p++;
    v->k = PT_IA_LIST;
    int cap = 0;
    for (;;) {
      pt_import_ws(r);
      if (cur(r) == ']') {
        r->p++;
        return true;
      }
      pt_import_aval item;
      if (!pt_import_attr_value(r, &item))
        return false;
      list_push(r, v, &item, &cap);
      pt_import_ws(r);
      if (cur(r) == ',')
        r->p++;
      else if (cur(r) != ']') {
        pt_import_fail(r, r->p, "expected ',' or ']' in a list");
        return false;
      }
    }
  }
  if (c == '{') {
    r->p++;
    return pt_import_attr_dict(r, v, '}');
  }
  if (c == '"') {
    v->k = PT_IA_STR;
    return string_body(r, &v->s, &v->n);
  }
  if (c == '@') {
    v->k = PT_IA_SYM;
    char *s = pt_import_symbol(r, r->scratch);
    if (!s)
      return false;
    v->s = s;
    v->n = strlen(s);
    return true;
  }
  if (is_digit(c) || c == '-' || c == '+') {
    if (!number(r, v))
      return false;
    return opt_type(r, NULL, NULL, false);
  }
  if (c == '#') {
    /* #alias, #dialect<kind VALUE>, #dialect.attr<k = v, ...> */
    r->p++;
    const char *s = r->p;
    while (is_suffix(cur(r)))
      r->p++;
    size_t n = (size_t)(r->p - s);
    if (cur(r) != '<') {
      v->k = PT_IA_WORD;
      v->s = s;
      v->n = n;
      return true;
    }
    if (memchr(s, '.', n)) {
      /* #stablehlo.gather<k = v, ...> is a dictionary; others
       * (#sdy.sharding<@mesh, [{"x"}]>) are skipped whole */
      const char *q = r->p + 1;
      while (q < r->end && (*q == ' ' || *q == '\n'))
        q++;
      while (q < r->end && is_suffix((unsigned char)*q))
        q++;
      while (q < r->end && *q == ' ')
        q++;
      if (q < r->end && *q == '=') {
        r->p++;
        return pt_import_attr_dict(r, v, '>');
      }
      v->k = PT_IA_OTHER;
      return skip_balanced(r);
    }
    /* #stablehlo<comparison_direction LT>: the last word is the value */
    const char *open = r->p;
    if (!skip_balanced(r))
      return false;
    const char *e = r->p - 1, *b = e;
    while (b > open + 1 && is_suffix((unsigned char)b[-1]))
      b--;
    v->k = PT_IA_WORD;
    v->s = b;
    v->n = (size_t)(e - b);
    return true;
  }
  if (is_alpha(c)) {
    const char *s = r->p;
    while (is_word(cur(r)))
      r->p++;
    size_t n = (size_t)(r->p - s);
    if ((n == 5 && memcmp(s, "dense", 5) == 0 && cur(r) == '<') ||
        (n == 14 && memcmp(s, "dense_resource", 14) == 0 && cur(r) == '<')) {
      v->k = PT_IA_DENSE;
      v->elided = n == 14;
      const char *open = r->p;
      if (!skip_balanced(r))
        return false;
      v->s = open + 1;
      v->n = (size_t)(r->p - 1 - v->s);
      v->type = pt_arena_alloc(r->scratch, sizeof *v->type);
      return opt_type(r, v->type, &v->has_type, true);
    }
    if (n == 5 && memcmp(s, "array", 5) == 0 && cur(r) == '<') {
      /* array<i64: 1, 2> */
      r->p++;
      while (is_word(cur(r)))
        r->p++;
      v->k = PT_IA_LIST;
      int cap = 0;
      pt_import_ws(r);
      if (cur(r) == ':') {
        r->p++;
        for (;;) {
          pt_import_ws(r);
          pt_import_aval item = {.at = r->p};
          if (!number(r, &item))
            return false;
          list_push(r, v, &item, &cap);
          pt_import_ws(r);
          if (cur(r) != ',')
            break;
          r->p++;
        }
      }
      pt_import_ws(r);
      if (cur(r) != '>') {
        pt_import_fail(r, r->p, "expected '>' to close array<");
        return false;
      }
      r->p++;
      return true;
    }
    if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0)) {
      v->k = PT_IA_INT;
      v->i = n == 4;
      v->f = (double)v->i;
      v->s = s;
      v->n = n;
      return opt_type(r, NULL, NULL, false);
    }
    if (cur(r) == '<' && !skip_balanced(r)) /* a type or another dialect's attribute */
      return false;
    v->k = n == (size_t)(r->p - s) ? PT_IA_WORD : PT_IA_OTHER;
    v->s = s;
    v->n = n;
    return true;
  }
  if (c == '(' || c == '<') {
    v->k = PT_IA_OTHER;
    return skip_balanced(r);
  }
  if (!c)
    pt_import_fail(r, r->p, "expected an attribute value, found the end of the file");
  else
    pt_import_fail(r, r->p, "expected an attribute value, found '%c'", c);
  return false;
}

int pt_import_ints(pt_import_reader *r, const pt_import_aval *v, int64_t *out, int max) {
  if (!v)
    return -1;
  if (v->k == PT_IA_INT) {
    if (max < 1)
      return -1;
    out[0] = v->i;
    return 1;
  }
  if (v->k == PT_IA_LIST) {
    if (v->nitems > max)
      return -1;
    for (int i = 0; i < v->nitems; i++) {
      if (v->items[i].k != PT_IA_INT)
        return -1;
      out[i] = v->items[i].i;
    }
    return v->nitems;
  }
  if (v->k == PT_IA_DENSE && !v->elided) {
    /* dense<> : tensor<0xi64>, the empty list older exports write */
    size_t k = 0;
    while (k < v->n && (v->s[k] == ' ' || v->s[k] == '\n'))
      k++;
    if (k == v->n)
      return 0;
  }
  if (v->k == PT_IA_DENSE && v->has_type && v->type->elem == PT_IT_INT && !v->elided) {
    int64_t numel = v->type->t.rank ? v->type->t.dims[0] : 1;
    if (v->type->t.rank > 1 || numel > max)
      return -1;
    double vals[PT_MAX_RANK * 2 + 2];
    bool splat;
    if (numel > (int64_t)(sizeof vals / sizeof vals[0]) ||
        !pt_import_dense_values(r, v, v->type, numel, vals, &splat))
      return -1;
    for (int64_t i = 0; i < numel; i++) {
      double x = splat ? vals[0] : vals[i];
      if (!(fabs(x) < 0x1p62))
        return -1;
      out[i] = (int64_t)x;
    }
    return (int)numel;
  }
  return -1;
}

/* ---- dense literals ------------------------------------------------- */

static double f32_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

bool pt_import_dense_values(pt_import_reader *r, const pt_import_aval *v, const pt_import_type *t,
                            int64_t numel, double *out, bool *splat) {
  const char *p = v->s, *e = v->s + v->n;
  while (p < e && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
    p++;
  *splat = false;
  if (p < e && *p == '"') {
    /* "0x...": the elements' bytes, little-endian, in row-major order */
    p++;
    if (e - p < 3 || p[0] != '0' || (p[1] != 'x' && p[1] != 'X')) {
      pt_import_fail(r, v->s, "malformed hexadecimal dense literal");
      return false;
    }
    p += 2;
    const char *q = p;
    while (q < e && *q != '"')
      q++;
    size_t nhex = (size_t)(q - p);
    size_t esize = t->elem == PT_IT_F32 ? 4 : t->elem == PT_IT_BOOL ? 1 : (size_t)t->bits / 8;
    if (nhex % 2 || !esize) {
      pt_import_fail(r, v->s, "malformed hexadecimal dense literal");
      return false;
    }
    size_t nbytes = nhex / 2;
    int64_t count = (int64_t)(nbytes / esize);
    if (nbytes % esize || (count != numel && count != 1)) {
      pt_import_fail(r, v->s, "the hexadecimal literal holds %zu bytes, not %lld elements of %zu",
                     nbytes, (long long)numel, esize);
      return false;
    }
    *splat = count == 1 && numel != 1;
    for (int64_t i = 0; i < count; i++) {
      uint64_t x = 0;
      for (size_t b = 0; b < esize; b++) {
        const char *h = p + 2 * ((size_t)i * esize + b);
        int hv[2];
        for (int k = 0; k < 2; k++) {
          int c = (unsigned char)h[k];
          hv[k] = is_digit(c)            ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
          if (hv[k] < 0) {
            pt_import_fail(r, h, "malformed hexadecimal dense literal");
            return false;
          }
        }
        x |= (uint64_t)(hv[0] << 4 | hv[1]) << (8 * b);
      }
      if (t->elem == PT_IT_F32)
        out[i] = f32_bits((uint32_t)x);
      else if (t->elem == PT_IT_BOOL || t->is_unsigned)
        out[i] = (double)x;
      else {
        int sh = 64 - t->bits;
        out[i] = (double)((int64_t)(x << sh) >> sh);
      }
    }
    return true;
  }
  /* numbers, nested in brackets: the leaves in order */
  int64_t count = 0;
  int depth = 0;
  while (p < e) {
    char c = *p;
    if (c == '[') {
      depth++;
      p++;
    } else if (c == ']') {
      depth--;
      p++;
    } else if (c == ',' || c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      p++;
    } else if (c == '(') {
      pt_import_fail(r, p, "complex literals are not imported");
      return false;
    } else {
      const char *s = p;
      while (p < e && *p != ',' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r')
        p++;
      size_t n = (size_t)(p - s);
      char buf[64];
      if (n == 0 || n >= sizeof buf) {
        pt_import_fail(r, s, "malformed element in a dense literal");
        return false;
      }
      memcpy(buf, s, n);
      buf[n] = 0;
      double x;
      char *end;
      if (strcmp(buf, "true") == 0)
        x = 1;
      else if (strcmp(buf, "false") == 0)
        x = 0;
      else if (n > 2 && (buf[0] == '0' || buf[0] == '-') && (buf[1] == 'x' || buf[1] == 'X')) {
        errno = 0;
        unsigned long long u = strtoull(buf + 2, &end, 16);
        if (*end || errno || buf[0] == '-') {
          pt_import_fail(r, s, "malformed element '%s' in a dense literal", buf);
          return false;
        }
        x = t->elem == PT_IT_F32 ? f32_bits((uint32_t)u) : (double)u;
      } else {
        errno = 0;
        x = strtod(buf, &end);
        if (*end || end == buf) {
          pt_import_fail(r, s, "malformed element '%s' in a dense literal", buf);
          return false;
        }
      }
      if (count < numel)
        out[count] = x;
      count++;
    }
    if (depth < 0) {
      pt_import_fail(r, p, "unbalanced ']' in a dense literal");
      return false;
    }
  }
  if (depth != 0) {
    pt_import_fail(r, v->s, "unbalanced '[' in a dense literal");
    return false;
  }
  if (count == 1) {
    *splat = numel != 1;
    return true;
  }
  if (count != numel) {
    pt_import_fail(r, v->s, "the dense literal has %lld elements but its type has %lld",
                   (long long)count, (long long)numel);
    return false;
  }
  return true;
}

/* ---- locations ------------------------------------------------------ */

void pt_import_scan_aliases(pt_import_reader *r) {
  const char *p = r->src;
  while (p < r->end) {
    const char *bol = p;
    const char *eol = memchr(p, '\n', (size_t)(r->end - p));
    if (!eol)
      eol = r->end;
    p = eol + (eol < r->end);
    if (*bol != '#')
      continue;
    const char *s = bol + 1, *q = s;
    while (q < eol && is_suffix((unsigned char)*q))
      q++;
    const char *name_end = q;
    while (q < eol && *q == ' ')
      q++;
    if (q >= eol || *q != '=')
      continue;
    q++;
    while (q < eol && *q == ' ')
      q++;
    if (eol - q < 4 || memcmp(q, "loc(", 4) != 0)
      continue;
    PT_GROW(r->alias_names, r->capaliases, (size_t)r->naliases + 1);
    r->alias_text = pt_realloc(r->alias_text, (size_t)r->capaliases * sizeof *r->alias_text);
    r->alias_len = pt_realloc(r->alias_len, (size_t)r->capaliases * sizeof *r->alias_len);
    r->alias_names[r->naliases] = pt_arena_strndup(r->keep, s, (size_t)(name_end - s));
    r->alias_text[r->naliases] = q + 4;
    r->alias_len[r->naliases] = (size_t)(eol - (q + 4));
    r->naliases++;
  }
}

/* The decimal number after *p (which is skipped), read no further than e
 * (the text is not NUL-terminated): 1 to 10^9, else -1. *p ends after it. */
static long bounded_number(const char **p, const char *e) {
  const char *q = *p + 1;
  long v = 0;
  int digits = 0;
  while (q < e && *q >= '0' && *q <= '9' && digits < 10) {
    v = v * 10 + (*q++ - '0');
    digits++;
  }
  *p = q;
  return digits && v <= 1000000000 ? v : -1;
}

bool pt_import_loc_resolve(pt_import_reader *r, const char *text, pt_loc *out, int depth) {
  if (!text || depth > 16 || text >= r->end)
    return false;
  const char *p = text, *e = r->end;
  while (p < e && *p == ' ')
    p++;
  if (p < e && *p == '#') {
    const char *s = ++p;
    while (p < e && is_suffix((unsigned char)*p))
      p++;
    for (int i = 0; i < r->naliases; i++)
      if (strlen(r->alias_names[i]) == (size_t)(p - s) &&
          memcmp(r->alias_names[i], s, (size_t)(p - s)) == 0)
        return pt_import_loc_resolve(r, r->alias_text[i], out, depth + 1);
    return false;
  }
  if (e - p > 9 && memcmp(p, "callsite(", 9) == 0)
    return pt_import_loc_resolve(r, p + 9, out, depth + 1);
  if (e - p > 6 && memcmp(p, "fused", 5) == 0) {
    while (p < e && *p != '[' && *p != '\n')
      p++;
    return p < e && *p == '[' && pt_import_loc_resolve(r, p + 1, out, depth + 1);
  }
  if (p >= e || *p != '"')
    return false;
  const char *s = ++p;
  while (p < e && *p != '"' && *p != '\n')
    p++;
  if (p >= e || *p != '"')
    return false;
  size_t n = (size_t)(p - s);
  p++;
  if (p < e && *p == '(') /* "name"(inner) */
    return pt_import_loc_resolve(r, p + 1, out, depth + 1);
  if (p >= e || *p != ':')
    return false;
  long line = bounded_number(&p, e), col = -1;
  if (p < e && *p == ':')
    col = bounded_number(&p, e);
  if (line <= 0 || col <= 0)
    return false;
  out->file = pt_arena_strndup(r->keep, s, n);
  out->line = (int)line;
  out->col = (int)col;
  out->via = NULL;
  return true;
}

/* ---- operations ----------------------------------------------------- */

static bool types_section(pt_import_reader *r, pt_import_op *op) {
  if (!pt_import_peek(r, ':'))
    return true;
  r->p++;
  pt_import_type tmp[64];
  int n = 0;
  bool paren = pt_import_peek(r, '(');
  if (paren) {
    r->p++;
    if (!pt_import_peek(r, ')'))
      for (;;) {
        if (n == 64) {
          pt_import_fail(r, r->p, "too many operand types");
          return false;
        }
        if (!pt_import_type_parse(r, &tmp[n++]))
          return false;
        pt_import_skip_loc(r, NULL);
        if (!pt_import_accept(r, ","))
          break;
      }
    if (!pt_import_expect(r, ")", "after the operand types"))
      return false;
    op->nin = n;
    op->in_types = pt_arena_memdup(r->scratch, tmp, (size_t)n * sizeof *tmp);
    if (!pt_import_expect(r, "->", "after the operand types"))
      return false;
    n = 0;
    if (pt_import_peek(r, '(')) {
      r->p++;
      if (!pt_import_peek(r, ')'))
        for (;;) {
          if (n == 64) {
            pt_import_fail(r, r->p, "too many result types");
            return false;
          }
          if (!pt_import_type_parse(r, &tmp[n++]))
            return false;
          if (!pt_import_accept(r, ","))
            break;
        }
      if (!pt_import_expect(r, ")", "after the result types"))
        return false;
    } else if (!pt_import_type_parse(r, &tmp[n++]))
      return false;
    op->nout = n;
    op->out_types = pt_arena_memdup(r->scratch, tmp, (size_t)n * sizeof *tmp);
    return true;
  }
  for (;;) {
    if (n == 64) {
      pt_import_fail(r, r->p, "too many types");
      return false;
    }
    if (!pt_import_type_parse(r, &tmp[n++]))
      return false;
    if (!pt_import_accept(r, ","))
      break;
  }
  /* `: T` (every operand and the result), or `: T1, T2` (select) */
  op->nin = n;
  op->in_types = pt_arena_memdup(r->scratch, tmp, (size_t)n * sizeof *tmp);
  op->nout = 1;
  op->out_types = pt_arena_memdup(r->scratch, &tmp[n - 1], sizeof *tmp);
  return true;
}

static void add_operand(pt_import_reader *r, pt_import_op *op, const char *name, const char *p,
                        int *cap) {
  if (op->noperands == *cap) {
    int nc = *cap ? *cap * 2 : 4;
    pt_import_ref *o = pt_arena_alloc(r->scratch, (size_t)nc * sizeof *o);
    if (op->noperands)
      memcpy(o, op->operands, (size_t)op->noperands * sizeof *o);
    op->operands = o;
    *cap = nc;
  }
  op->operands[op->noperands++] = (pt_import_ref){name, p};
}

static bool operand_list(pt_import_reader *r, pt_import_op *op, char close, int *cap) {
  for (;;) {
    pt_import_ws(r);
    if (cur(r) == (unsigned char)close) {
      r->p++;
      return true;
    }
    const char *p = r->p;
    char *name = pt_import_value_name(r);
    if (!name)
      return false;
    add_operand(r, op, name, p, cap);
    pt_import_ws(r);
    if (cur(r) == ',')
      r->p++;
    else if (cur(r) != (unsigned char)close) {
      pt_import_fail(r, r->p, "expected ',' or '%c' after an operand", close);
      return false;
    }
  }
}

static bool block_args(pt_import_reader *r, pt_import_region *g) {
  /* (%a: T loc(..), %b: T) */
  const char *names[64];
  int n = g->nargs;
  if (n)
    memcpy(names, g->args, (size_t)n * sizeof *names);
  r->p++;
  while (!pt_import_peek(r, ')')) {
    if (n == 64) {
      pt_import_fail(r, r->p, "too many block arguments");
      return false;
    }
    char *name = pt_import_value_name(r);
    pt_import_type t;
    if (!name || !pt_import_expect(r, ":", "after a block argument") ||
        !pt_import_type_parse(r, &t))
      return false;
    names[n++] = name;
    pt_import_skip_loc(r, NULL);
    if (!pt_import_accept(r, ","))
      break;
  }
  if (!pt_import_expect(r, ")", "after the block arguments"))
    return false;
  g->args = pt_arena_memdup(r->scratch, names, (size_t)n * sizeof *names);
  g->nargs = n;
  return true;
}

static bool region_ops(pt_import_reader *r, pt_import_region *g);

/* The body of a region after its '{': optional ^bb0(args): then ops. */
static bool region_body(pt_import_reader *r, pt_import_region *g) {
  if (r->depth >= MAX_DEPTH) {
    pt_import_fail(r, r->p, "regions nested more than %d deep", MAX_DEPTH);
    return false;
  }
  r->depth++;
  bool ok = region_ops(r, g);
  r->depth--;
  return ok;
}

static bool region_ops(pt_import_reader *r, pt_import_region *g) {
  if (pt_import_peek(r, '^')) {
    while (is_suffix(cur(r)) || cur(r) == '^')
      r->p++;
    if (pt_import_peek(r, '(') && !block_args(r, g))
      return false;
    if (!pt_import_expect(r, ":", "after the block label"))
      return false;
  }
  pt_import_op *ops[64];
  int n = 0;
  while (!pt_import_peek(r, '}')) {
    if (r->p >= r->end) {
      pt_import_fail(r, r->p, "expected '}' to close a region, found the end of the file");
      return false;
    }
    if (n == 64) {
      pt_import_fail(r, r->p, "region too long (partita imports bodies of one op)");
      return false;
    }
    pt_import_op *op = pt_import_read_op(r);
    if (!op)
      return false;
    ops[n++] = op;
  }
  r->p++;
  g->ops = pt_arena_memdup(r->scratch, ops, (size_t)n * sizeof *ops);
  g->nops = n;
  return true;
}

static bool add_region(pt_import_reader *r, pt_import_op *op, pt_import_region *g) {
  pt_import_region *rs = pt_arena_alloc(r->scratch, (size_t)(op->nregions + 1) * sizeof *rs);
  if (op->nregions)
    memcpy(rs, op->regions, (size_t)op->nregions * sizeof *rs);
  rs[op->nregions++] = *g;
  op->regions = rs;
  return true;
}

static bool generic_rest(pt_import_reader *r, pt_import_op *op) {
  int cap = 0;
  if (!pt_import_expect(r, "(", "after a generic op name") || !operand_list(r, op, ')', &cap))
    return false;
  if (pt_import_accept(r, "<{") && (!pt_import_attr_dict(r, &op->attrs, '}') ||
                                    !pt_import_expect(r, ">", "after the properties")))
    return false;
  if (pt_import_peek(r, '(')) {
    r->p++;
    for (;;) {
      pt_import_region g = {0};
      if (!pt_import_expect(r, "{", "to open a region") || !region_body(r, &g) ||
          !add_region(r, op, &g))
        return false;
      if (!pt_import_accept(r, ","))
        break;
    }
    if (!pt_import_expect(r, ")", "after the regions"))
      return false;
  }
  if (pt_import_peek(r, '{')) {
    r->p++;
    if (!pt_import_attr_dict(r, &op->attrs, '}'))
      return false;
  }
  return types_section(r, op);
}

static void put_ints(pt_import_reader *r, pt_import_op *op, const char *key, const int64_t *v,
                     int n, const char *p) {
  pt_import_aval l = {.k = PT_IA_LIST, .at = p};
  int cap = 0;
  for (int i = 0; i < n; i++) {
    pt_import_aval x = {.k = PT_IA_INT, .at = p, .i = v[i], .f = (double)v[i]};
    list_push(r, &l, &x, &cap);
  }
  dict_put(r, &op->attrs, key, &l);
}

/* [0:2, 1:3:2] */
static bool slice_spec(pt_import_reader *r, pt_import_op *op) {
  const char *p = r->p;
  int64_t v[3][PT_MAX_RANK];
  int n = 0;
  r->p++;
  while (!pt_import_peek(r, ']')) {
    if (n == PT_MAX_RANK) {
      pt_import_fail(r, r->p, "slice of more than %d dimensions", PT_MAX_RANK);
      return false;
    }
    for (int k = 0; k < 3; k++) {
      pt_import_ws(r);
      pt_import_aval x = {0};
      if (!number(r, &x))
        return false;
      if (x.k != PT_IA_INT) {
        pt_import_fail(r, x.at, "expected an integer in a slice");
        return false;
      }
      v[k][n] = x.i;
      if (k == 2 || !pt_import_accept(r, ":")) {
        if (k == 0) {
          pt_import_fail(r, r->p, "expected ':' in a slice");
          return false;
        }
        if (k == 1)
          v[2][n] = 1;
        break;
      }
    }
    n++;
    if (!pt_import_accept(r, ","))
      break;
  }
  if (!pt_import_expect(r, "]", "to close the slice"))
    return false;
  put_ints(r, op, "start_indices", v[0], n, p);
  put_ints(r, op, "limit_indices", v[1], n, p);
  put_ints(r, op, "strides", v[2], n, p);
  return true;
}

static bool pretty_rest(pt_import_reader *r, pt_import_op *op) {
  int cap = 0;
  bool is_reduce = strcmp(op->name, "stablehlo.reduce") == 0;
  pt_import_aval words = {.k = PT_IA_LIST};
  int wcap = 0;
  /* reduce: (%x init: %y), (%z init: %w) */
  if (is_reduce) {
    const char *inits[16], *inits_at[16];
    int ni = 0;
    while (pt_import_peek(r, '(')) {
      r->p++;
      const char *p = r->p;
      char *x = pt_import_value_name(r);
      if (!x || !pt_import_expect(r, "init", "in a reduce") ||
          !pt_import_expect(r, ":", "after init"))
        return false;
      pt_import_ws(r);
      const char *q = r->p;
      char *y = pt_import_value_name(r);
      if (!y || !pt_import_expect(r, ")", "after the init value"))
        return false;
      if (ni == 16) {
        pt_import_fail(r, p, "too many reduce operands");
        return false;
      }
      add_operand(r, op, x, p, &cap);
      inits[ni] = y;
      inits_at[ni++] = q;
      if (!pt_import_accept(r, ","))
        break;
    }
    op->ninputs = op->noperands;
    for (int i = 0; i < ni; i++)
      add_operand(r, op, inits[i], inits_at[i], &cap);
  }
  for (;;) {
    pt_import_ws(r);
    int c = cur(r);
    if (r->nl)
      break; /* the pretty form is one line: the op ended without a type */
    if (c == '%') {
      const char *p = r->p;
      char *name = pt_import_value_name(r);
      if (!name)
        return false;
      add_operand(r, op, name, p, &cap);
    } else if (c == ',') {
      r->p++;
    } else if (c == '{') {
      r->p++;
      if (!pt_import_attr_dict(r, &op->attrs, '}'))
        return false;
    } else if (c == '[' && strcmp(op->name, "stablehlo.slice") == 0) {
      if (!slice_spec(r, op))
        return false;
    } else if (c == '@') {
      pt_import_aval v = {.k = PT_IA_SYM, .at = r->p};
      char *s = pt_import_symbol(r, r->scratch);
      if (!s)
        return false;
      v.s = s;
      v.n = strlen(s);
      dict_put(r, &op->attrs, "callee", &v);
      if (pt_import_peek(r, '(')) {
        r->p++;
        if (!operand_list(r, op, ')', &cap))
          return false;
      }
    } else if (is_alpha(c)) {
      const char *p = r->p;
      if (pt_import_word_is(r, "loc"))
        break;
      if (pt_import_word_is(r, "dense") || pt_import_word_is(r, "dense_resource") ||
          pt_import_word_is(r, "array")) {
        pt_import_aval v;
        if (!pt_import_attr_value(r, &v))
          return false;
        dict_put(r, &op->attrs, "value", &v);
        continue;
      }
      char *w = pt_import_word(r);
      if (strcmp(w, "applies") == 0) {
        pt_import_ws(r);
        pt_import_aval v = {.k = PT_IA_WORD, .at = r->p};
        char *body = pt_import_word(r);
        if (!body) {
          pt_import_fail(r, r->p, "expected an op name after 'applies'");
          return false;
        }
        v.s = body;
        v.n = strlen(body);
        dict_put(r, &op->attrs, "applies", &v);
        continue;
      }
      if (strcmp(w, "across") == 0)
        continue;
      if (pt_import_peek(r, '=')) {
        r->p++;
        pt_import_aval v;
        if (!pt_import_attr_value(r, &v))
          return false;
        if (pt_import_accept(r, "x")) {
          pt_import_aval second, pair = {.k = PT_IA_LIST, .at = v.at};
          int pcap = 0;
          if (!pt_import_attr_value(r, &second))
            return false;
          list_push(r, &pair, &v, &pcap);
          list_push(r, &pair, &second, &pcap);
          v = pair;
        }
        dict_put(r, &op->attrs, w, &v);
      } else {
        pt_import_aval v = {.k = PT_IA_WORD, .at = p, .s = w, .n = strlen(w)};
        list_push(r, &words, &v, &wcap);
      }
    } else if (c == '<') { /* sdy's inline sharding: <@mesh, [{"x"}]> */
      if (!skip_balanced(r))
        return false;
    } else if (c == '#' || is_digit(c) || c == '-' || c == '"') {
      pt_import_aval v;
      if (!pt_import_attr_value(r, &v))
        return false;
      list_push(r, &words, &v, &wcap);
    } else {
      break;
    }
  }
  if (words.nitems)
    dict_put(r, &op->attrs, "_words", &words);
  if (!types_section(r, op))
    return false;
  /* reduce's body: reducer(%a: T, %b: T) (%c: T, %d: T) { ... } */
  if (is_reduce && pt_import_word_is(r, "reducer")) {
    r->p += 7;
    pt_import_region g = {0};
    while (pt_import_peek(r, '('))
      if (!block_args(r, &g))
        return false;
    if (!pt_import_expect(r, "{", "to open the reducer") || !region_body(r, &g))
      return false;
    add_region(r, op, &g);
  }
  return true;
}

pt_import_op *pt_import_read_op(pt_import_reader *r) {
  pt_import_op *op = pt_arena_alloc(r->scratch, sizeof *op);
  op->attrs.k = PT_IA_DICT;
  pt_import_ws(r);
  if (cur(r) == '%') {
    const char *p = r->p;
    op->res = pt_import_value_name(r);
    if (!op->res)
      return NULL;
    if (strchr(op->res, '#')) {
      pt_import_fail(r, p, "a result name cannot have '#'");
      return NULL;
    }
    op->nres = 1;
    if (cur(r) == ':') {
      r->p++;
      pt_import_aval n = {0};
      if (!number(r, &n) || n.k != PT_IA_INT || n.i < 1 || n.i > 64) {
        pt_import_fail(r, p, "expected a result count (1 to 64) after ':'");
        return NULL;
      }
      op->nres = (int)n.i;
    }
    if (pt_import_peek(r, ',')) {
      pt_import_fail(r, r->p, "results named one by one are not imported (write %%name:N)");
      return NULL;
    }
    if (!pt_import_expect(r, "=", "after the result name"))
      return NULL;
  }
  pt_import_ws(r);
  op->at = r->p;
  if (cur(r) == '"') {
    const char *s;
    size_t n;
    if (!string_body(r, &s, &n))
      return NULL;
    op->name = pt_arena_strndup(r->scratch, s, n);
    op->generic = true;
  } else {
    op->name = pt_import_word(r);
    if (!op->name) {
      if (r->p >= r->end)
        pt_import_fail(r, r->p, "expected an operation, found the end of the file");
      else
        pt_import_fail(r, r->p, "expected an operation, found '%c'", cur(r));
      return NULL;
    }
  }
  const char *why = r->unsupported ? r->unsupported(op->name) : NULL;
  if (why) {
    pt_import_fail(r, op->at, "%s is not supported: %s", op->name, why);
    return NULL;
  }
  if (!(op->generic ? generic_rest(r, op) : pretty_rest(r, op)))
    return NULL;
  pt_import_skip_loc(r, &op->loc);
  return r->failed ? NULL : op;
}
