/* The text-format parser: a hand-written lexer and recursive descent over
 * the grammar in docs/ir.md. It builds the module with the builder API and
 * reports the first error it meets at its exact line and column. Types,
 * attributes and shapes are checked afterwards by the verifier; the parser
 * itself resolves names, so undefined and redefined values are its errors. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "sharding.h"
#include "strmap.h"

typedef enum {
  T_EOF,
  T_IDENT,  /* keywords, op names, dtypes, attribute names, result names */
  T_VALUE,  /* %name */
  T_GLOBAL, /* @name */
  T_INT,
  T_FLOAT,
  T_LPAREN,
  T_RPAREN,
  T_LBRACE,
  T_RBRACE,
  T_LBRACKET,
  T_RBRACKET,
  T_COMMA,
  T_COLON,
  T_EQUAL,
  T_ARROW,
  T_ERROR,
} tok_kind;

typedef struct {
  tok_kind kind;
  const char *s; /* the token's text (for VALUE/GLOBAL without the sigil) */
  size_t n;
  int line, col;
  int64_t i;
  double f;
  const char *comment; /* full-line comments just before it */
  size_t ncomment;
} token;

typedef struct {
  const char *src, *end, *p;
  int line;
  const char *line_start;
  const char *file;
  pt_diag *d;
  token tok;
  bool failed;
  pt_module *m;
  pt_strmap names;
  /* pending comment run */
  const char *cstart, *cend;
  bool line_has_code;
} parser;

/* ---- errors --------------------------------------------------------- */

static pt_loc tok_loc(const parser *p, const token *t) {
  return (pt_loc){p->file, t->line, t->col};
}

static void error_at(parser *p, const token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void error_at(parser *p, const token *t, const char *fmt, ...) {
  if (p->failed)
    return;
  p->failed = true;
  va_list ap;
  va_start(ap, fmt);
  pt_diag_verror(p->d, tok_loc(p, t), fmt, ap);
  va_end(ap);
}

static const char *tok_desc(const token *t, char *buf, size_t n) {
  switch (t->kind) {
  case T_EOF:
    return "end of file";
  case T_VALUE:
    snprintf(buf, n, "'%%%.*s'", (int)(t->n > 40 ? 40 : t->n), t->s);
    return buf;
  case T_GLOBAL:
    snprintf(buf, n, "'@%.*s'", (int)(t->n > 40 ? 40 : t->n), t->s);
    return buf;
  default:
    snprintf(buf, n, "'%.*s'", (int)(t->n > 40 ? 40 : t->n), t->s);
    return buf;
  }
}

static void expected(parser *p, const char *what) {
  char buf[80];
  error_at(p, &p->tok, "expected %s, found %s", what, tok_desc(&p->tok, buf, sizeof buf));
}

/* ---- lexer ---------------------------------------------------------- */

static bool is_ident_start(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_ident_char(int c) {
  return is_ident_start(c) || is_digit(c) || c == '.' || c == '$';
}
static bool is_name_char(int c) { return is_ident_char(c) || c == '-'; }

static void next(parser *p) {
  token *t = &p->tok;
  const char *s = p->p;
  t->comment = NULL;
  t->ncomment = 0;
  for (;;) {
    while (s < p->end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
      if (*s == '\n') {
        p->line++;
        p->line_start = s + 1;
        p->line_has_code = false;
      }
      s++;
    }
    if (s + 1 < p->end && s[0] == '/' && s[1] == '/') {
      const char *e = memchr(s, '\n', (size_t)(p->end - s));
      if (!e)
        e = p->end;
      if (!p->line_has_code) {
        if (!p->cstart)
          p->cstart = s;
        p->cend = e;
      }
      s = e;
      continue;
    }
    break;
  }
  if (p->cstart) {
    t->comment = p->cstart;
    t->ncomment = (size_t)(p->cend - p->cstart);
    p->cstart = p->cend = NULL;
  }
  t->s = s;
  t->line = p->line;
  t->col = (int)(s - p->line_start) + 1;
  p->line_has_code = true;
  if (s >= p->end) {
    t->kind = T_EOF;
    t->n = 0;
    p->p = s;
    return;
  }
  int c = (unsigned char)*s;
  const char *start = s;
  switch (c) {
  case '(': t->kind = T_LPAREN; s++; break;
  case ')': t->kind = T_RPAREN; s++; break;
  case '{': t->kind = T_LBRACE; s++; break;
  case '}': t->kind = T_RBRACE; s++; break;
  case '[': t->kind = T_LBRACKET; s++; break;
  case ']': t->kind = T_RBRACKET; s++; break;
  case ',': t->kind = T_COMMA; s++; break;
  case ':': t->kind = T_COLON; s++; break;
  case '=': t->kind = T_EQUAL; s++; break;
  case '%':
  case '@': {
    s++;
    const char *b = s;
    /* value names may hold '/', as inlined names do (layers.3/attn/q),
     * but never '//', which starts a comment */
    while (s < p->end && (is_name_char((unsigned char)*s) ||
                          (*s == '/' && c == '%' && s > b &&
                           !(s + 1 < p->end && s[1] == '/'))))
      s++;
    if (s == b) {
      t->kind = T_ERROR;
      t->n = 1;
      p->p = s;
      error_at(p, t, "expected a name after '%c'", c);
      return;
    }
    t->kind = c == '%' ? T_VALUE : T_GLOBAL;
    t->s = b;
    t->n = (size_t)(s - b);
    p->p = s;
    return;
  }
  default:
    if (c == '-' && s + 1 < p->end && s[1] == '>') {
      t->kind = T_ARROW;
      s += 2;
      break;
    }
    if (is_digit(c) || ((c == '-' || c == '+') && s + 1 < p->end &&
                        (is_digit((unsigned char)s[1]) || s[1] == '.' || s[1] == 'i' ||
                         s[1] == 'n'))) {
      /* a number: integer unless it has a '.', an exponent, inf or nan */
      const char *b = s;
      if (*s == '-' || *s == '+')
        s++;
      if (s + 3 <= p->end && (strncmp(s, "inf", 3) == 0 || strncmp(s, "nan", 3) == 0) &&
          !(s + 3 < p->end && is_ident_char((unsigned char)s[3]))) {
        bool neg = *b == '-';
        t->kind = T_FLOAT;
        t->f = s[0] == 'i' ? (neg ? -INFINITY : INFINITY) : NAN;
        s += 3;
        break;
      }
      bool is_float = false;
      while (s < p->end && (is_digit((unsigned char)*s) || *s == '.' || *s == 'e' ||
                            *s == 'E' ||
                            ((*s == '-' || *s == '+') && (s[-1] == 'e' || s[-1] == 'E')))) {
        if (!is_digit((unsigned char)*s))
          is_float = true;
        s++;
      }
      char buf[64];
      size_t n = (size_t)(s - b);
      t->s = b;
      t->n = n;
      if (n >= sizeof buf || (s < p->end && is_ident_char((unsigned char)*s))) {
        t->kind = T_ERROR;
        p->p = s;
        error_at(p, t, "malformed number '%.*s'", (int)(n > 40 ? 40 : n), b);
        return;
      }
      memcpy(buf, b, n);
      buf[n] = 0;
      char *endp;
      errno = 0;
      if (is_float) {
        t->kind = T_FLOAT;
        t->f = strtod(buf, &endp);
      } else {
        t->kind = T_INT;
        t->i = strtoll(buf, &endp, 10);
      }
      if (*endp || errno == ERANGE) {
        t->kind = T_ERROR;
        p->p = s;
        error_at(p, t, errno == ERANGE ? "number '%s' is out of range"
                                       : "malformed number '%s'", buf);
        return;
      }
      break;
    }
    if (is_ident_start(c)) {
      while (s < p->end && is_ident_char((unsigned char)*s))
        s++;
      t->kind = T_IDENT;
      if (s - start == 3 && (strncmp(start, "inf", 3) == 0 || strncmp(start, "nan", 3) == 0)) {
        t->kind = T_FLOAT;
        t->f = start[0] == 'i' ? INFINITY : NAN;
      }
      break;
    }
    t->kind = T_ERROR;
    t->n = 1;
    p->p = s + 1;
    if (c >= 32 && c < 127)
      error_at(p, t, "unexpected character '%c'", c);
    else
      error_at(p, t, "unexpected byte 0x%02x", c);
    return;
  }
  t->s = start;
  t->n = (size_t)(s - start);
  p->p = s;
}

static bool is_kw(const token *t, const char *kw) {
  return t->kind == T_IDENT && strlen(kw) == t->n && memcmp(t->s, kw, t->n) == 0;
}

static bool accept(parser *p, tok_kind k) {
  if (p->failed || p->tok.kind != k)
    return false;
  next(p);
  return true;
}

static bool expect(parser *p, tok_kind k, const char *what) {
  if (p->failed)
    return false;
  if (p->tok.kind != k) {
    expected(p, what);
    return false;
  }
  next(p);
  return true;
}

/* Comment text: each line trimmed of leading blanks, joined by '\n'. */
static const char *take_comment(parser *p, const token *t) {
  if (!t->comment)
    return NULL;
  char *out = pt_arena_alloc(p->m->arena, t->ncomment + 1);
  size_t k = 0;
  const char *s = t->comment, *e = t->comment + t->ncomment;
  while (s < e) {
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
      s++;
    if (s >= e)
      break;
    const char *nl = memchr(s, '\n', (size_t)(e - s));
    const char *le = nl ? nl : e;
    while (le > s && (le[-1] == ' ' || le[-1] == '\t' || le[-1] == '\r'))
      le--;
    if (le > s) {
      if (k)
        out[k++] = '\n';
      memcpy(out + k, s, (size_t)(le - s));
      k += (size_t)(le - s);
    }
    s = nl ? nl + 1 : e;
  }
  out[k] = 0;
  return k ? out : NULL;
}

/* ---- grammar -------------------------------------------------------- */

static bool parse_type(parser *p, pt_type *t) {
  if (p->failed)
    return false;
  if (p->tok.kind != T_IDENT) {
    expected(p, "a type such as f32[4,8]");
    return false;
  }
  if (!pt_dtype_parse(p->tok.s, p->tok.n, &t->dtype)) {
    char buf[80];
    error_at(p, &p->tok, "unknown element type %s; expected f32, i32 or pred",
             tok_desc(&p->tok, buf, sizeof buf));
    return false;
  }
  next(p);
  if (!expect(p, T_LBRACKET, "'[' after the element type"))
    return false;
  t->rank = 0;
  int64_t numel = 1;
  if (accept(p, T_RBRACKET))
    return true;
  for (;;) {
    if (p->tok.kind != T_INT) {
      expected(p, "a dimension size");
      return false;
    }
    if (t->rank == PT_MAX_RANK) {
      error_at(p, &p->tok, "a type may have at most %d dimensions", PT_MAX_RANK);
      return false;
    }
    if (p->tok.i < 1) {
      error_at(p, &p->tok, "dimension sizes must be at least 1, not %lld",
               (long long)p->tok.i);
      return false;
    }
    if (p->tok.i > PT_MAX_ELEMENTS || numel > PT_MAX_ELEMENTS / p->tok.i) {
      error_at(p, &p->tok, "this type has more than 2^48 elements");
      return false;
    }
    numel *= p->tok.i;
    t->dims[t->rank++] = p->tok.i;
    next(p);
    if (accept(p, T_RBRACKET))
      return true;
    if (!expect(p, T_COMMA, "',' or ']' in the shape"))
      return false;
  }
}

/* One mesh axis name; its index in *axis. */
static bool parse_axis(parser *p, int *axis, bool *seen) {
  if (p->tok.kind != T_IDENT) {
    expected(p, "a mesh axis name");
    return false;
  }
  int a = pt_mesh_axis(&p->m->mesh, p->tok.s, p->tok.n);
  if (a < 0) {
    error_at(p, &p->tok, "'%.*s' is not an axis of the mesh", (int)p->tok.n, p->tok.s);
    return false;
  }
  if (seen[a]) {
    error_at(p, &p->tok, "mesh axis '%.*s' is used twice in one sharding", (int)p->tok.n,
             p->tok.s);
    return false;
  }
  seen[a] = true;
  *axis = a;
  next(p);
  return true;
}

/* sharding ::= '{' ('[' axes? ']') (',' ...)* '}' partial(sum|max: axes)* open(axes)?
 * Axes not named are replicated. */
static bool parse_sharding(parser *p, const pt_type *t, pt_sharding *out) {
  memset(out, 0, sizeof *out);
  token open = p->tok;
  if (!p->m->mesh.naxes) {
    error_at(p, &open, "a sharding needs a mesh: declare one with `mesh {axis = size, ...}`");
    return false;
  }
  next(p);
  bool seen[PT_MAX_AXES] = {0};
  int d = 0;
  while (p->tok.kind == T_LBRACKET) {
    token dt = p->tok;
    if (d >= t->rank) {
      error_at(p, &dt, "the sharding has more dimensions than the type's %d", t->rank);
      return false;
    }
    next(p);
    int64_t local = t->dims[d];
    if (p->tok.kind != T_RBRACKET) {
      for (;;) {
        token at = p->tok;
        int a;
        if (!parse_axis(p, &a, seen))
          return false;
        int64_t size = p->m->mesh.sizes[a];
        if (local % size) {
          error_at(p, &at, "dimension %d of size %lld cannot be split over '%s' (%lld devices)",
                   d, (long long)t->dims[d], p->m->mesh.names[a], (long long)size);
          return false;
        }
        local /= size;
        out->ax[a] = (pt_axis_state){PT_SH_SHARDED, (int8_t)d, -1, NULL};
        out->order[d][out->norder[d]++] = (int8_t)a;
        if (accept(p, T_RBRACKET))
          break;
        if (!expect(p, T_COMMA, "',' or ']' in the dimension's axes"))
          return false;
      }
    } else {
      next(p);
    }
    d++;
    if (!accept(p, T_COMMA))
      break;
  }
  if (p->failed)
    return false;
  if (p->tok.kind != T_RBRACE) {
    expected(p, "'[' or '}' in the sharding");
    return false;
  }
  if (d != t->rank) {
    error_at(p, &p->tok, "the sharding gives %d dimension%s but the type has %d", d,
             d == 1 ? "" : "s", t->rank);
    return false;
  }
  next(p);
  for (int a = 0; a < p->m->mesh.naxes; a++)
    if (!seen[a])
      out->ax[a] = (pt_axis_state){PT_SH_REPLICATED, -1, -1, NULL};
  while (is_kw(&p->tok, "partial") || is_kw(&p->tok, "open")) {
    bool partial = is_kw(&p->tok, "partial");
    next(p);
    if (!expect(p, T_LPAREN, "'('"))
      return false;
    pt_shkind kind = PT_SH_UNKNOWN;
    if (partial) {
      if (is_kw(&p->tok, "sum"))
        kind = PT_SH_PARTIAL_SUM;
      else if (is_kw(&p->tok, "max"))
        kind = PT_SH_PARTIAL_MAX;
      else {
        expected(p, "'sum' or 'max'");
        return false;
      }
      next(p);
      if (!expect(p, T_COLON, "':' after the reduction"))
        return false;
    }
    for (;;) {
      int a;
      if (!parse_axis(p, &a, seen))
        return false;
      out->ax[a] = (pt_axis_state){(uint8_t)kind, -1, -1, NULL};
      if (accept(p, T_RPAREN))
        break;
      if (!expect(p, T_COMMA, "',' or ')'"))
        return false;
    }
  }
  return !p->failed;
}

static void attach_sharding(parser *p, pt_value *v, const pt_sharding *s) {
  v->sharding = pt_arena_memdup(p->m->arena, s, sizeof *s);
}

static bool parse_aval(parser *p, pt_aval *v, int depth) {
  if (p->failed)
    return false;
  memset(v, 0, sizeof *v);
  switch (p->tok.kind) {
  case T_INT:
    v->kind = PT_AV_INT;
    v->i = p->tok.i;
    next(p);
    return true;
  case T_FLOAT:
    v->kind = PT_AV_FLOAT;
    v->f = p->tok.f;
    next(p);
    return true;
  case T_IDENT:
    v->kind = PT_AV_IDENT;
    v->s = pt_arena_strndup(p->m->arena, p->tok.s, p->tok.n);
    next(p);
    return true;
  case T_LBRACKET: {
    if (depth > 4) {
      error_at(p, &p->tok, "attribute lists nest too deeply");
      return false;
    }
    next(p);
    v->kind = PT_AV_LIST;
    pt_aval *items = NULL;
    size_t cap = 0;
    int n = 0;
    if (!accept(p, T_RBRACKET)) {
      for (;;) {
        PT_GROW(items, cap, (size_t)n + 1);
        if (!parse_aval(p, &items[n], depth + 1))
          break;
        n++;
        if (accept(p, T_RBRACKET))
          break;
        if (!expect(p, T_COMMA, "',' or ']' in the list"))
          break;
      }
    }
    if (!p->failed) {
      v->items = pt_arena_memdup(p->m->arena, items, (size_t)n * sizeof *items);
      v->n = n;
    }
    pt_free(items);
    return !p->failed;
  }
  default:
    expected(p, "an attribute value (a number, a name or a list)");
    return false;
  }
}

static pt_value *lookup(parser *p, const token *t) {
  return pt_strmap_get(&p->names, t->s, t->n);
}

static bool define(parser *p, const token *t, pt_value *v) {
  pt_value *prev = pt_strmap_get(&p->names, t->s, t->n);
  if (prev) {
    error_at(p, t, "'%%%.*s' is already defined (at line %d)", (int)t->n, t->s,
             prev->loc.line);
    return false;
  }
  pt_strmap_put(&p->names, v->name, v);
  return true;
}

#define MAX_CALL_RESULTS 64

/* call ::= '@'callee '(' operands? ')' ':' type (',' type)*
 * after `%r1, %r2, ... = call`; the verifier checks it against the callee. */
static bool parse_call(parser *p, pt_func *f, const token *res, int nres, const char *comment,
                       const token *optok) {
  if (p->tok.kind != T_GLOBAL) {
    expected(p, "the function to call, such as @block");
    return false;
  }
  token callee = p->tok;
  next(p);
  if (!expect(p, T_LPAREN, "'(' to start the call's operands"))
    return false;
  pt_value **operands = NULL;
  size_t cap = 0;
  int n = 0;
  if (!accept(p, T_RPAREN)) {
    for (;;) {
      if (p->tok.kind != T_VALUE) {
        expected(p, "an operand such as %x");
        break;
      }
      pt_value *v = lookup(p, &p->tok);
      if (!v) {
        error_at(p, &p->tok, "use of undefined value '%%%.*s'", (int)p->tok.n, p->tok.s);
        break;
      }
      PT_GROW(operands, cap, (size_t)n + 1);
      operands[n++] = v;
      next(p);
      if (accept(p, T_RPAREN))
        break;
      if (!expect(p, T_COMMA, "',' or ')' in the call's operands"))
        break;
    }
  }
  if (p->failed) {
    pt_free(operands);
    return false;
  }
  pt_op *op = pt_op_create(f, PT_OP_CALL, operands, n, tok_loc(p, optok));
  op->comment = comment;
  pt_free(operands);
  if (!expect(p, T_COLON, "':' and the call's result types"))
    return false;
  pt_type types[MAX_CALL_RESULTS];
  for (int i = 0; i < nres; i++) {
    if (i && !expect(p, T_COMMA, "',' and the type of the next result"))
      return false;
    if (!parse_type(p, &types[i]))
      return false;
  }
  if (p->tok.kind == T_COMMA) {
    error_at(p, &p->tok, "the call names %d result%s but gives more types", nres,
             nres == 1 ? "" : "s");
    return false;
  }
  const char *names[MAX_CALL_RESULTS];
  for (int i = 0; i < nres; i++)
    names[i] = pt_arena_strndup(p->m->arena, res[i].s, res[i].n);
  char *cname = pt_strndup(callee.s, callee.n);
  pt_op_finish_call(op, cname, names, types, nres);
  pt_free(cname);
  for (int i = 0; i < nres; i++) {
    op->results[i]->loc = tok_loc(p, &res[i]);
    if (!define(p, &res[i], op->results[i]))
      return false;
  }
  return true;
}

static bool parse_op(parser *p, pt_func *f) {
  token res[MAX_CALL_RESULTS]; /* the result names */
  res[0] = p->tok;
  const char *comment = take_comment(p, &res[0]);
  int nres = 1;
  next(p);
  while (accept(p, T_COMMA)) {
    if (p->tok.kind != T_VALUE) {
      expected(p, "a result name such as %r");
      return false;
    }
    if (nres == MAX_CALL_RESULTS) {
      error_at(p, &p->tok, "an operation may have at most %d results", MAX_CALL_RESULTS);
      return false;
    }
    res[nres++] = p->tok;
    next(p);
  }
  if (!expect(p, T_EQUAL, nres > 1 ? "'=' after the result names" : "'=' after the result name"))
    return false;
  if (p->tok.kind != T_IDENT) {
    expected(p, "an operation name");
    return false;
  }
  token optok = p->tok;
  pt_opcode code;
  if (!pt_op_lookup(optok.s, optok.n, &code)) {
    error_at(p, &optok, "unknown operation '%.*s'", (int)optok.n, optok.s);
    return false;
  }
  next(p);
  if (code == PT_OP_CALL)
    return parse_call(p, f, res, nres, comment, &optok);
  if (nres > 1) {
    error_at(p, &res[1], "'%s' has one result; only a call may have several",
             pt_op_name(code));
    return false;
  }
  pt_value *ops[64];
  pt_value **operands = ops;
  size_t cap = 64;
  int n = 0;
  bool heap = false;
  if (p->tok.kind == T_VALUE) {
    for (;;) {
      if (p->tok.kind != T_VALUE) {
        expected(p, "an operand such as %x");
        break;
      }
      pt_value *v = lookup(p, &p->tok);
      if (!v) {
        error_at(p, &p->tok, "use of undefined value '%%%.*s'", (int)p->tok.n, p->tok.s);
        break;
      }
      if ((size_t)n == cap) {
        pt_value **nb = pt_malloc(cap * 2 * sizeof *nb);
        memcpy(nb, operands, cap * sizeof *nb);
        if (heap)
          pt_free(operands);
        operands = nb;
        heap = true;
        cap *= 2;
      }
      operands[n++] = v;
      next(p);
      if (!accept(p, T_COMMA))
        break;
    }
  }
  pt_op *op = NULL;
  if (!p->failed) {
    op = pt_op_create(f, code, operands, n, tok_loc(p, &optok));
    op->comment = comment;
  }
  if (heap)
    pt_free(operands);
  if (p->failed)
    return false;
  if (accept(p, T_LBRACE)) {
    for (;;) {
      if (p->tok.kind != T_IDENT) {
        expected(p, "an attribute name");
        return false;
      }
      token key = p->tok;
      pt_attrkey k;
      if (!pt_attr_lookup(key.s, key.n, &k)) {
        error_at(p, &key, "unknown attribute '%.*s'", (int)key.n, key.s);
        return false;
      }
      if (pt_op_attr(op, k)) {
        error_at(p, &key, "attribute '%.*s' is given twice", (int)key.n, key.s);
        return false;
      }
      next(p);
      if (!expect(p, T_EQUAL, "'=' after the attribute name"))
        return false;
      pt_aval v;
      if (!parse_aval(p, &v, 0))
        return false;
      /* the value is already in the arena: store it without copying */
      op->attrs = pt_realloc(op->attrs, (size_t)(op->nattrs + 1) * sizeof *op->attrs);
      op->attrs[op->nattrs++] = (pt_attr){k, v, tok_loc(p, &key)};
      if (accept(p, T_RBRACE))
        break;
      if (!expect(p, T_COMMA, "',' or '}' after the attribute"))
        return false;
    }
  }
  if (!expect(p, T_COLON, "':' and the result type"))
    return false;
  pt_type t;
  if (!parse_type(p, &t))
    return false;
  pt_sharding sh;
  bool has_sh = p->tok.kind == T_LBRACE;
  if (has_sh && !parse_sharding(p, &t, &sh))
    return false;
  char *name = pt_arena_strndup(p->m->arena, res[0].s, res[0].n);
  pt_value *v = pt_op_finish(op, name, &t, p->d);
  v->loc = tok_loc(p, &res[0]);
  if (has_sh)
    attach_sharding(p, v, &sh);
  return define(p, &res[0], v);
}

static bool parse_func(parser *p) {
  token functok = p->tok;
  const char *comment = take_comment(p, &functok);
  next(p);
  if (p->tok.kind != T_GLOBAL) {
    expected(p, "a function name such as @loss");
    return false;
  }
  token nametok = p->tok;
  char *fname = pt_strndup(nametok.s, nametok.n);
  pt_func *prev = pt_module_find_func(p->m, fname);
  if (prev) {
    error_at(p, &nametok, "function '@%s' is already defined (at line %d)", fname,
             prev->loc.line);
    pt_free(fname);
    return false;
  }
  pt_func *f = pt_func_create(p->m, fname, tok_loc(p, &nametok));
  pt_free(fname);
  f->comment = comment;
  pt_strmap_clear(&p->names);
  next(p);
  if (!expect(p, T_LPAREN, "'(' to start the arguments"))
    return false;
  if (!accept(p, T_RPAREN)) {
    for (;;) {
      pt_role role;
      if (is_kw(&p->tok, "input"))
        role = PT_ROLE_INPUT;
      else if (is_kw(&p->tok, "param"))
        role = PT_ROLE_PARAM;
      else if (is_kw(&p->tok, "state"))
        role = PT_ROLE_STATE;
      else {
        expected(p, "an argument role (input, param or state)");
        return false;
      }
      next(p);
      if (p->tok.kind != T_VALUE) {
        expected(p, "an argument name such as %x");
        return false;
      }
      token argtok = p->tok;
      next(p);
      if (!expect(p, T_COLON, "':' and the argument's type"))
        return false;
      pt_type t;
      if (!parse_type(p, &t))
        return false;
      pt_sharding sh;
      bool has_sh = p->tok.kind == T_LBRACE;
      if (has_sh && !parse_sharding(p, &t, &sh))
        return false;
      char *name = pt_arena_strndup(p->m->arena, argtok.s, argtok.n);
      pt_value *v = pt_func_add_arg(f, name, role, t, tok_loc(p, &argtok));
      if (has_sh)
        attach_sharding(p, v, &sh);
      if (!define(p, &argtok, v))
        return false;
      if (accept(p, T_RPAREN))
        break;
      if (!expect(p, T_COMMA, "',' or ')' after the argument"))
        return false;
    }
  }
  if (!expect(p, T_ARROW, "'->' and the results"))
    return false;
  if (!expect(p, T_LPAREN, "'(' to start the results"))
    return false;
  for (;;) {
    if (p->tok.kind != T_IDENT) {
      expected(p, "a result name such as loss");
      return false;
    }
    token rt = p->tok;
    char *rname = pt_strndup(rt.s, rt.n);
    int dup = pt_func_find_result(f, rname);
    if (dup >= 0) {
      error_at(p, &rt, "result name '%s' is used twice", rname);
      pt_free(rname);
      return false;
    }
    next(p);
    pt_type t;
    if (!expect(p, T_COLON, "':' and the result's type") || !parse_type(p, &t)) {
      pt_free(rname);
      return false;
    }
    pt_func_add_result(f, rname, t, NULL, tok_loc(p, &rt));
    pt_free(rname);
    if (accept(p, T_RPAREN))
      break;
    if (!expect(p, T_COMMA, "',' or ')' after the result"))
      return false;
  }
  if (!expect(p, T_LBRACE, "'{' to start the body"))
    return false;
  while (!p->failed && p->tok.kind == T_VALUE)
    if (!parse_op(p, f))
      return false;
  if (!is_kw(&p->tok, "return")) {
    expected(p, p->tok.kind == T_RBRACE ? "'return' before '}'"
                                        : "an operation such as '%r = add %a, %b : f32[4]' or 'return'");
    return false;
  }
  token rettok = p->tok;
  f->ret_loc = tok_loc(p, &rettok);
  next(p);
  int k = 0;
  for (;;) {
    if (p->tok.kind != T_VALUE) {
      expected(p, "a value to return");
      return false;
    }
    pt_value *v = lookup(p, &p->tok);
    if (!v) {
      error_at(p, &p->tok, "use of undefined value '%%%.*s'", (int)p->tok.n, p->tok.s);
      return false;
    }
    if (k >= f->nresults) {
      error_at(p, &p->tok, "'return' gives more values than the %d result%s declared",
               f->nresults, f->nresults == 1 ? "" : "s");
      return false;
    }
    f->results[k].value = v;
    f->results[k].ret_loc = tok_loc(p, &p->tok);
    k++;
    next(p);
    if (!accept(p, T_COMMA))
      break;
  }
  if (p->failed)
    return false;
  if (k < f->nresults) {
    error_at(p, &rettok, "'return' gives %d value%s but the function declares %d result%s",
             k, k == 1 ? "" : "s", f->nresults, f->nresults == 1 ? "" : "s");
    return false;
  }
  return expect(p, T_RBRACE, "'}' after 'return'");
}

static bool parse_mesh(parser *p) {
  token meshtok = p->tok;
  if (p->m->mesh.naxes) {
    error_at(p, &meshtok, "a module declares at most one mesh");
    return false;
  }
  p->m->mesh.loc = tok_loc(p, &meshtok);
  next(p);
  if (!expect(p, T_LBRACE, "'{' after 'mesh'"))
    return false;
  for (;;) {
    if (p->tok.kind != T_IDENT) {
      expected(p, "a mesh axis name");
      return false;
    }
    token ax = p->tok;
    next(p);
    if (!expect(p, T_EQUAL, "'=' and the axis size"))
      return false;
    if (p->tok.kind != T_INT || p->tok.i < 1 || p->tok.i > (1 << 20)) {
      if (p->tok.kind == T_INT)
        error_at(p, &p->tok, "mesh axis sizes must be between 1 and 2^20");
      else
        expected(p, "an axis size");
      return false;
    }
    int64_t devices = 1;
    for (int a = 0; a < p->m->mesh.naxes; a++)
      devices *= p->m->mesh.sizes[a]; /* at most PT_MAX_DEVICES: checked below */
    if (devices * p->tok.i > PT_MAX_DEVICES) {
      error_at(p, &p->tok, "mesh axis '%.*s' of size %lld makes the mesh larger than 2^31 devices",
               (int)ax.n, ax.s, (long long)p->tok.i);
      return false;
    }
    char *name = pt_strndup(ax.s, ax.n);
    if (p->m->mesh.naxes == PT_MAX_AXES) {
      error_at(p, &ax, "a mesh may have at most %d axes", PT_MAX_AXES);
    } else if (!pt_module_add_axis(p->m, name, p->tok.i)) {
      error_at(p, &ax, "mesh axis '%s' is declared twice", name);
    }
    pt_free(name);
    if (p->failed)
      return false;
    next(p);
    if (accept(p, T_RBRACE))
      return true;
    if (!expect(p, T_COMMA, "',' or '}' after the axis"))
      return false;
  }
}

pt_module *pt_parse(const char *text, size_t len, const char *file, pt_diag *d) {
  parser p;
  memset(&p, 0, sizeof p);
  p.src = p.p = p.line_start = text;
  p.end = text + len;
  p.line = 1;
  p.d = d;
  p.m = pt_module_create(file);
  p.file = p.m->file;
  pt_diag_add_source(d, p.file, text, len);
  if (memchr(text, 0, len)) {
    const char *z = memchr(text, 0, len);
    int line = 1;
    const char *ls = text;
    for (const char *s = text; s < z; s++)
      if (*s == '\n') {
        line++;
        ls = s + 1;
      }
    pt_diag_error(d, (pt_loc){p.file, line, (int)(z - ls) + 1},
                  "the file contains a NUL byte; is it a text file?");
    pt_module_destroy(p.m);
    return NULL;
  }
  next(&p);
  if (p.tok.comment && !is_kw(&p.tok, "func"))
    p.m->comment = take_comment(&p, &p.tok);
  if (!p.failed && is_kw(&p.tok, "mesh"))
    parse_mesh(&p);
  while (!p.failed && p.tok.kind != T_EOF) {
    if (is_kw(&p.tok, "func"))
      parse_func(&p);
    else if (is_kw(&p.tok, "mesh"))
      error_at(&p, &p.tok, p.m->mesh.naxes ? "a module declares at most one mesh"
                                           : "the mesh must come before the functions");
    else
      expected(&p, "'func'");
  }
  if (!p.failed && p.m->nfuncs == 0)
    error_at(&p, &p.tok, "the module has no functions");
  pt_strmap_clear(&p.names);
  if (p.failed) {
    pt_module_destroy(p.m);
    return NULL;
  }
  return p.m;
}

pt_module *pt_parse_file(const char *path, pt_diag *d) {
  size_t n = 0;
  char *buf = pt_read_file(path, &n, d);
  if (!buf)
    return NULL;
  pt_module *m = pt_parse(buf, n, path, d);
  pt_free(buf);
  return m;
}
