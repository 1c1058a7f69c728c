/* partita import (import/import.h): StableHLO operations, read by
 * import/reader.c into records, mapped onto partita's op set, function by
 * function, with the op constructors of ir/ir.h; compositions for the
 * StableHLO ops partita has no row for (docs/import.md has the table).
 * Every partita op is checked by its shape rule as it is built, so a
 * StableHLO op whose attributes partita cannot express is reported at its
 * line, and the declared result type must be the one partita computes. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "import.h"
#include "passes.h"
#include "reader.h"
#include "strmap.h"

typedef enum {
  K_BIN,
  K_UN,
  K_EXPM1,
  K_LOG1P,
  K_CMP,
  K_SEL,
  K_NOT,
  K_AND,
  K_OR,
  K_XOR,
  K_CLAMP,
  K_CONVERT,
  K_CONST,
  K_IOTA,
  K_BCAST,
  K_BCAST_OLD,
  K_RESHAPE,
  K_TRANSPOSE,
  K_SLICE,
  K_CONCAT,
  K_PAD,
  K_REDUCE,
  K_DOTG,
  K_DOT,
  K_GATHER,
  K_SCATTER,
  K_CUSTOM,
  K_SHARD,
  K_CALL,
  K_RETURN,
} kind;

static const struct {
  const char *name;
  kind k;
  pt_opcode code;
} optab[] = {
    {"stablehlo.add", K_BIN, PT_OP_ADD},
    {"stablehlo.subtract", K_BIN, PT_OP_SUB},
    {"stablehlo.multiply", K_BIN, PT_OP_MUL},
    {"stablehlo.divide", K_BIN, PT_OP_DIV},
    {"stablehlo.maximum", K_BIN, PT_OP_MAX},
    {"stablehlo.minimum", K_BIN, PT_OP_MIN},
    {"stablehlo.power", K_BIN, PT_OP_POW},
    {"stablehlo.negate", K_UN, PT_OP_NEG},
    {"stablehlo.exponential", K_UN, PT_OP_EXP},
    {"stablehlo.log", K_UN, PT_OP_LOG},
    {"stablehlo.tanh", K_UN, PT_OP_TANH},
    {"stablehlo.logistic", K_UN, PT_OP_LOGISTIC},
    {"stablehlo.sqrt", K_UN, PT_OP_SQRT},
    {"stablehlo.rsqrt", K_UN, PT_OP_RSQRT},
    {"stablehlo.abs", K_UN, PT_OP_ABS},
    {"stablehlo.sine", K_UN, PT_OP_SIN},
    {"stablehlo.cosine", K_UN, PT_OP_COS},
    {"stablehlo.exponential_minus_one", K_EXPM1, PT_OP_EXP},
    {"stablehlo.log_plus_one", K_LOG1P, PT_OP_LOG},
    {"stablehlo.compare", K_CMP, PT_OP_COMPARE},
    {"stablehlo.select", K_SEL, PT_OP_SELECT},
    {"stablehlo.not", K_NOT, PT_OP_COMPARE},
    {"stablehlo.and", K_AND, PT_OP_SELECT},
    {"stablehlo.or", K_OR, PT_OP_SELECT},
    {"stablehlo.xor", K_XOR, PT_OP_COMPARE},
    {"stablehlo.clamp", K_CLAMP, PT_OP_MAX},
    {"stablehlo.convert", K_CONVERT, PT_OP_CONVERT},
    {"stablehlo.constant", K_CONST, PT_OP_CONSTANT},
    {"stablehlo.iota", K_IOTA, PT_OP_IOTA},
    {"stablehlo.broadcast_in_dim", K_BCAST, PT_OP_BROADCAST},
    {"stablehlo.broadcast", K_BCAST_OLD, PT_OP_BROADCAST},
    {"stablehlo.reshape", K_RESHAPE, PT_OP_RESHAPE},
    {"stablehlo.transpose", K_TRANSPOSE, PT_OP_TRANSPOSE},
    {"stablehlo.slice", K_SLICE, PT_OP_SLICE},
    {"stablehlo.concatenate", K_CONCAT, PT_OP_CONCAT},
    {"stablehlo.pad", K_PAD, PT_OP_PAD},
    {"stablehlo.reduce", K_REDUCE, PT_OP_REDUCE_SUM},
    {"stablehlo.dot_general", K_DOTG, PT_OP_DOT},
    {"stablehlo.dot", K_DOT, PT_OP_DOT},
    {"stablehlo.gather", K_GATHER, PT_OP_TAKE},
    {"stablehlo.scatter", K_SCATTER, PT_OP_SCATTER_ADD},
    {"stablehlo.custom_call", K_CUSTOM, PT_OP_COUNT},
    {"sdy.sharding_constraint", K_SHARD, PT_OP_COUNT},
    {"func.call", K_CALL, PT_OP_CALL},
    {"call", K_CALL, PT_OP_CALL},
    {"func.return", K_RETURN, PT_OP_COUNT},
    {"return", K_RETURN, PT_OP_COUNT},
    {"stablehlo.return", K_RETURN, PT_OP_COUNT},
};
#define NOPTAB ((int)(sizeof optab / sizeof optab[0]))

static int find_op(const char *name) {
  for (int i = 0; i < NOPTAB; i++)
    if (strcmp(optab[i].name, name) == 0)
      return i;
  return -1;
}

/* Why an op is not imported: the common ones by name, the rest in general. */
static const char *unsupported(const char *name) {
  static const struct {
    const char *name, *why;
  } known[] = {
      {"stablehlo.convolution", "partita has no convolution yet"},
      {"stablehlo.reduce_window", "partita has no windowed reduction (pooling) yet"},
      {"stablehlo.select_and_scatter", "partita has no windowed reduction (pooling) yet"},
      {"stablehlo.sort", "partita has no sort"},
      {"stablehlo.while", "control flow is not imported: partita's programs are straight-line "
                          "(unroll the loop when tracing)"},
      {"stablehlo.if", "control flow is not imported: partita's programs are straight-line"},
      {"stablehlo.case", "control flow is not imported: partita's programs are straight-line"},
      {"stablehlo.dynamic_slice", "dynamic indices are not imported (partita's slices are static)"},
      {"stablehlo.dynamic_update_slice",
       "dynamic indices are not imported (partita's slices are static)"},
      {"stablehlo.rng", "random numbers are not imported: pass them in as an input"},
      {"stablehlo.rng_bit_generator", "random numbers are not imported: pass them in as an input"},
      {"stablehlo.all_reduce",
       "collectives in the input are not imported: partita inserts its own"},
      {"stablehlo.all_gather",
       "collectives in the input are not imported: partita inserts its own"},
      {"stablehlo.reduce_scatter",
       "collectives in the input are not imported: partita inserts its own"},
      {"stablehlo.all_to_all",
       "collectives in the input are not imported: partita inserts its own"},
      {"stablehlo.collective_permute",
       "collectives in the input are not imported: partita inserts its own"},
      {"stablehlo.tuple", "tuples are not imported"},
      {"stablehlo.get_tuple_element", "tuples are not imported"},
      {"sdy.manual_computation", "shard_map's manual computations are not imported"},
  };
  if (find_op(name) >= 0)
    return NULL;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(known[i].name, name) == 0)
      return known[i].why;
  if (strncmp(name, "stablehlo.", 10) == 0)
    return "partita's op set has no equivalent (docs/import.md lists the ops imported)";
  if (strncmp(name, "chlo.", 5) == 0 || strncmp(name, "mhlo.", 5) == 0)
    return "only the stablehlo, func and sdy dialects are imported (legalize to stablehlo "
           "first)";
  return "not a StableHLO operation partita imports (docs/import.md)";
}

typedef struct {
  pt_func *f;
  const char *orig; /* the StableHLO name */
  bool is_public;
  const char *at;
  bool returned;
  const char **res_info; /* jax.result_info per result (keep arena), or NULL */
  const char **arg_info; /* jax.arg_info per argument, or NULL */
} fninfo;

typedef struct {
  pt_op *op; /* the constant */
  pt_func *f;
  bool elided;
  const char *at;
} cand;

typedef struct {
  pt_import_reader r;
  const pt_import_opts *o;
  pt_module *m;
  pt_func *f;
  fninfo *fi;
  pt_strmap vals; /* SSA name (keep arena) -> pt_value */
  pt_strmap used; /* partita value names of the current function */
  bool noted;     /* the note about ignored shardings is out */
  fninfo *fns;
  int nfns, capfns;
  cand *cands;
  int ncands, capcands;
  const pt_import_op *op; /* the op being mapped, for its loc note */
  pt_diag *rule;          /* what a shape rule objects to, reworded into d */
  int since_reset;        /* ops read into the scratch arena */
} imp;

static void vfail(imp *s, const char *at, const char *fmt, va_list ap) {
  if (s->r.failed)
    return;
  s->r.failed = true;
  pt_diag_verror(s->r.d, pt_import_loc(&s->r, at), fmt, ap);
  pt_loc src;
  if (s->op && pt_import_loc_resolve(&s->r, s->op->loc, &src, 0))
    pt_diag_note(s->r.d, src, "the op was traced from here");
}

static bool fail(imp *s, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(imp *s, const char *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(s, at, fmt, ap);
  va_end(ap);
  return false;
}

static void note_sharding(imp *s, const char *at) {
  if (s->noted)
    return;
  s->noted = true;
  pt_diag_note(s->r.d, pt_import_loc(&s->r, at),
               "sharding annotations are ignored: partita's shardings come from tactic "
               "scripts (docs/import.md)");
}

/* ---- names ---------------------------------------------------------- */

static bool name_char(int c, bool value) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '$' || (value && c == '-');
}

/* A partita name from a JAX path: params['layers'][0]['w'] gives
 * params.layers.0.w; other characters become '_'. NULL if nothing is left. */
static char *sanitize(pt_arena *a, const char *s, size_t n, bool value) {
  char *out = pt_arena_alloc(a, n + 3);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '[' || c == '/') {
      if (k && out[k - 1] != '.')
        out[k++] = '.';
    } else if (c == ']' || c == '\'' || c == '"' || c == '\\') {
      continue;
    } else if (name_char((unsigned char)c, value)) {
      out[k++] = c;
    } else if (k && out[k - 1] != '_') {
      out[k++] = '_';
    }
  }
  while (k && (out[k - 1] == '.' || out[k - 1] == '_'))
    k--;
  size_t b = 0;
  while (b < k && out[b] == '.')
    b++;
  if (b == k)
    return NULL;
  memmove(out, out + b, k - b);
  out[k - b] = 0;
  if (!value &&
      !((out[0] >= 'a' && out[0] <= 'z') || (out[0] >= 'A' && out[0] <= 'Z') || out[0] == '_')) {
    memmove(out + 1, out, k - b + 1);
    out[0] = '_';
  }
  return out;
}

/* Records v under its SSA name and gives it that name in partita if it is
 * free. */
static void define(imp *s, const char *ssa, pt_value *v) {
  char *key = pt_arena_strdup(s->r.keep, ssa);
  pt_strmap_put(&s->vals, key, v);
  if (v->name || v->def == NULL)
    return;
  char *n = sanitize(s->m->arena, ssa, strlen(ssa), true);
  if (n && !pt_strmap_get(&s->used, n, strlen(n))) {
    v->name = n;
    pt_strmap_put(&s->used, n, v);
  }
}

static pt_value *lookup(imp *s, const pt_import_ref *ref) {
  pt_value *v = pt_strmap_get(&s->vals, ref->name, strlen(ref->name));
  if (!v)
    fail(s, ref->at, "use of undefined value %%%s", ref->name);
  return v;
}

/* ---- building ------------------------------------------------------- */

static pt_op *start(imp *s, pt_opcode code, pt_value *const *ops, int n) {
  return pt_op_create(s->f, code, ops, n, pt_import_loc(&s->r, s->op->at));
}

/* The op's result, its type computed by partita's shape rule (hint: the
 * declared type, for ops whose type the operands do not give); a rule's
 * objection is the error, at the op. */
static pt_value *finish(imp *s, pt_op *op, const pt_type *hint) {
  pt_type t;
  if (s->r.failed)
    return NULL;
  if (pt_op_infer(op, hint, &t, s->rule) != PT_OK) {
    fail(s, s->op->at, "%s: %s", s->op->name,
         pt_diag_count(s->rule) ? pt_diag_text(s->rule, 0) : "rejected by partita's shape rule");
    return NULL;
  }
  return pt_op_finish(op, NULL, &t, NULL);
}

static pt_value *unary(imp *s, pt_opcode code, pt_value *x) {
  return finish(s, start(s, code, &x, 1), NULL);
}

static pt_value *binary(imp *s, pt_opcode code, pt_value *x, pt_value *y) {
  pt_value *ops[2] = {x, y};
  return finish(s, start(s, code, ops, 2), NULL);
}

static pt_value *compare(imp *s, pt_cmpdir dir, pt_value *x, pt_value *y) {
  pt_value *ops[2] = {x, y};
  pt_op *op = start(s, PT_OP_COMPARE, ops, 2);
  pt_op_set_ident(op, PT_A_DIR, pt_cmpdir_name(dir));
  return finish(s, op, NULL);
}

static pt_value *select3(imp *s, pt_value *p, pt_value *x, pt_value *y) {
  pt_value *ops[3] = {p, x, y};
  return finish(s, start(s, PT_OP_SELECT, ops, 3), NULL);
}

static pt_value *splat(imp *s, double v, pt_type t) {
  pt_op *op = start(s, PT_OP_CONSTANT, NULL, 0);
  if (t.dtype == PT_F32)
    pt_op_set_float(op, PT_A_VALUE, v);
  else
    pt_op_set_int(op, PT_A_VALUE, (int64_t)v);
  return finish(s, op, &t);
}

static pt_value *splat_like(imp *s, double v, const pt_value *x) {
  return splat(s, v, x->type);
}

static pt_value *convert(imp *s, pt_value *x, pt_dtype to) {
  pt_type t = x->type;
  t.dtype = to;
  return finish(s, start(s, PT_OP_CONVERT, &x, 1), &t);
}

/* A scalar x broadcast to shape t's (its own element type). */
static pt_value *broadcast_scalar(imp *s, pt_value *x, const pt_type *like) {
  if (x->type.rank == like->rank)
    return x;
  pt_type t = *like;
  t.dtype = x->type.dtype;
  pt_op *op = start(s, PT_OP_BROADCAST, &x, 1);
  pt_op_set_ints(op, PT_A_DIMS, NULL, 0);
  return finish(s, op, &t);
}

static pt_value *reduce(imp *s, pt_opcode code, pt_value *x, const int64_t *dims, int n) {
  pt_op *op = start(s, code, &x, 1);
  pt_op_set_ints(op, PT_A_DIMS, dims, n);
  return finish(s, op, NULL);
}

/* Logical ops on pred, which partita composes from select and compare. */
static pt_value *logic_not(imp *s, pt_value *x) {
  pt_value *f = splat_like(s, 0, x);
  return f ? compare(s, PT_CMP_EQ, x, f) : NULL;
}

/* ---- attribute helpers ---------------------------------------------- */

static const pt_import_aval *attr(const pt_import_op *o, const char *a, const char *b) {
  const pt_import_aval *v = pt_import_get(&o->attrs, a);
  return v || !b ? v : pt_import_get(&o->attrs, b);
}

/* An integer-list attribute (under either name); missing or malformed is
 * an error unless optional (then *n = -1). */
static bool ints(imp *s, const char *a, const char *b, int64_t *out, int *n, bool optional) {
  const pt_import_aval *v = attr(s->op, a, b);
  if (!v) {
    *n = -1;
    return optional || fail(s, s->op->at, "%s needs the attribute '%s'", s->op->name, a);
  }
  *n = pt_import_ints(&s->r, v, out, PT_MAX_RANK);
  if (*n < 0)
    return s->r.failed
               ? false
               : fail(s, v->at, "'%s' must be a list of at most %d integers", a, PT_MAX_RANK);
  return true;
}

static bool one_int(imp *s, const char *a, const char *b, int64_t *out) {
  const pt_import_aval *v = attr(s->op, a, b);
  if (!v)
    return fail(s, s->op->at, "%s needs the attribute '%s'", s->op->name, a);
  if (v->k != PT_IA_INT)
    return fail(s, v->at, "'%s' must be an integer", a);
  *out = v->i;
  return true;
}

/* A word attribute (enum), or the k-th positional word of the pretty form. */
static const pt_import_aval *word(const pt_import_op *o, const char *a, int k) {
  const pt_import_aval *v = pt_import_get(&o->attrs, a);
  if (v)
    return v;
  const pt_import_aval *w = pt_import_get(&o->attrs, "_words");
  return w && w->k == PT_IA_LIST && k < w->nitems ? &w->items[k] : NULL;
}

static bool word_is(const pt_import_aval *v, const char *w) {
  return v && (v->k == PT_IA_WORD || v->k == PT_IA_STR || v->k == PT_IA_SYM) && v->n == strlen(w) &&
         memcmp(v->s, w, v->n) == 0;
}

static bool check_type(imp *s, const pt_import_type *t, const char *at) {
  if (t->elem != PT_IT_OTHER)
    return true;
  return fail(s, at, "type %s is not supported: %s", t->text[0] ? t->text : "?", t->why);
}

static bool nops(imp *s, int n) {
  if (s->op->noperands == n)
    return true;
  return fail(s, s->op->at, "%s takes %d operand%s, not %d", s->op->name, n, n == 1 ? "" : "s",
              s->op->noperands);
}

/* The declared result type (the last of the op's types). */
static bool out_type(imp *s, pt_type *t) {
  if (s->op->nout < 1)
    return fail(s, s->op->at, "%s has no result type", s->op->name);
  *t = s->op->out_types[s->op->nout - 1].t;
  return true;
}

/* The result is what StableHLO declared. */
static bool check_result(imp *s, const pt_value *v) {
  pt_type t;
  if (v && s->op->nout < 1 && strcmp(s->op->name, "stablehlo.constant") == 0)
    return true; /* typed by its literal, checked there */
  if (!v || !out_type(s, &t))
    return false;
  if (pt_type_equal(&t, &v->type))
    return true;
  char b1[PT_TYPE_STRLEN], b2[PT_TYPE_STRLEN];
  return fail(s, s->op->at, "%s declares its result %s but it is %s", s->op->name,
              pt_type_str(&t, b1, sizeof b1), pt_type_str(&v->type, b2, sizeof b2));
}

/* Whether v is a constant whose every element is x. */
static bool const_is(const pt_value *v, double x) {
  if (!v->def || v->def->code != PT_OP_CONSTANT)
    return false;
  const pt_attr *a = pt_op_attr(v->def, PT_A_VALUE);
  if (!a || a->val.kind == PT_AV_LIST)
    return false;
  double y = a->val.kind == PT_AV_INT ? (double)a->val.i : a->val.f;
  return y == x;
}

/* ---- the ops -------------------------------------------------------- */

static pt_value *map_reduce(imp *s, pt_value **in) {
  const pt_import_op *o = s->op;
  int ninputs = o->generic ? o->noperands / 2 : o->ninputs;
  if (ninputs != 1 || o->noperands != 2)
    return fail(s, o->at,
                "stablehlo.reduce of %d operands is not supported (an argmax-style reduce "
                "of value and index pairs has no partita op)",
                ninputs),
           NULL;
  /* the body: one binary op of the two block arguments, returned */
  const char *body = NULL;
  const pt_import_aval *ap = pt_import_get(&o->attrs, "applies");
  if (ap)
    body = ap->s;
  else if (o->nregions == 1) {
    const pt_import_region *g = &o->regions[0];
    if (g->nargs == 2 && g->nops == 2 && g->ops[0]->noperands == 2 && g->ops[0]->res &&
        find_op(g->ops[1]->name) >= 0 && optab[find_op(g->ops[1]->name)].k == K_RETURN &&
        g->ops[1]->noperands == 1 && strcmp(g->ops[1]->operands[0].name, g->ops[0]->res) == 0) {
      const char *a = g->ops[0]->operands[0].name, *b = g->ops[0]->operands[1].name;
      if ((strcmp(a, g->args[0]) == 0 && strcmp(b, g->args[1]) == 0) ||
          (strcmp(a, g->args[1]) == 0 && strcmp(b, g->args[0]) == 0))
        body = g->ops[0]->name;
    }
  }
  static const char *const bodies[] = {"stablehlo.add", "stablehlo.maximum", "stablehlo.minimum",
                                       "stablehlo.or", "stablehlo.and"};
  int kind = -1;
  for (int i = 0; body && i < 5; i++)
    if (strcmp(body, bodies[i]) == 0)
      kind = i;
  if (kind < 0)
    return fail(s, o->at,
                "stablehlo.reduce is imported with an add, maximum, minimum, or, or and body "
                "(of its two block arguments), not %s",
                body ? body : "this body"),
           NULL;
  int64_t dims[PT_MAX_RANK];
  int n;
  if (!ints(s, "dimensions", NULL, dims, &n, false))
    return NULL;
  pt_value *x = in[0], *init = in[1], *r;
  if (init->type.rank != 0 || init->type.dtype != x->type.dtype)
    return fail(s, o->operands[1].at,
                "the init value of a reduce must be a scalar of the "
                "operand's element type"),
           NULL;
  bool pred = x->type.dtype == PT_PRED;
  if (pred != (kind >= 3) && !(pred && (kind == 1 || kind == 2)))
    return fail(s, o->at, "stablehlo.reduce with a %s body on %s is not supported", bodies[kind],
                pt_dtype_name(x->type.dtype)),
           NULL;
  double inf = x->type.dtype == PT_F32 ? INFINITY : (double)INT32_MAX + 1;
  double identity[5] = {0, -inf, inf, 0, 1};
  if (x->type.dtype == PT_I32)
    identity[1] = INT32_MIN, identity[2] = INT32_MAX;
  if (pred && kind == 1)
    kind = 3; /* max over pred is or, min is and */
  else if (pred && kind == 2)
    kind = 4;
  switch (kind) {
  case 0:
    r = reduce(s, PT_OP_REDUCE_SUM, x, dims, n);
    break;
  case 1:
    r = reduce(s, PT_OP_REDUCE_MAX, x, dims, n);
    break;
  case 2: { /* min(x) = -max(-x) */
    pt_value *nx = unary(s, PT_OP_NEG, x);
    pt_value *m = nx ? reduce(s, PT_OP_REDUCE_MAX, nx, dims, n) : NULL;
    r = m ? unary(s, PT_OP_NEG, m) : NULL;
    break;
  }
  default: { /* or: any; and: not any not */
    pt_value *y = kind == 4 ? logic_not(s, x) : x;
    pt_value *yi = y ? convert(s, y, PT_I32) : NULL;
    pt_value *m = yi ? reduce(s, PT_OP_REDUCE_MAX, yi, dims, n) : NULL;
    r = m ? convert(s, m, PT_PRED) : NULL;
    if (r && kind == 4)
      r = logic_not(s, r);
    break;
  }
  }
  if (!r || const_is(init, identity[kind]))
    return r;
  /* a reduce that starts from another value combines it once */
  pt_value *ib = broadcast_scalar(s, init, &r->type);
  if (!ib)
    return NULL;
  switch (kind) {
  case 0:
    return binary(s, PT_OP_ADD, r, ib);
  case 1:
    return binary(s, PT_OP_MAX, r, ib);
  case 2:
    return binary(s, PT_OP_MIN, r, ib);
  case 3:
    return select3(s, r, r, ib);
  default:
    return select3(s, r, ib, r);
  }
}

/* The index array of an embedding-style gather or scatter: indices with a
 * trailing index vector of size 1 (index_vector_dim last) or none
 * (index_vector_dim == rank), reshaped to the batch shape. */
static pt_value *embedding_indices(imp *s, pt_value *idx, int64_t ivd) {
  int q = idx->type.rank;
  if (ivd == q)
    return idx;
  if (ivd != q - 1 || idx->type.dims[q - 1] != 1)
    return fail(s, s->op->at,
                "%s: only an index vector of one element in the last dimension (an "
                "embedding lookup) is imported",
                s->op->name),
           NULL;
  pt_type t = idx->type;
  t.rank = q - 1;
  return finish(s, start(s, PT_OP_RESHAPE, &idx, 1), &t);
}

static bool list_is(imp *s, const pt_import_aval *dn, const char *key, const int64_t *want, int n) {
  const pt_import_aval *v = pt_import_get(dn, key);
  int64_t got[PT_MAX_RANK];
  int k = v ? pt_import_ints(&s->r, v, got, PT_MAX_RANK) : 0;
  if (k != n)
    return false;
  for (int i = 0; i < n; i++)
    if (got[i] != want[i])
      return false;
  return true;
}

static pt_value *map_gather(imp *s, pt_value **in) {
  const pt_import_op *o = s->op;
  pt_value *table = in[0], *idx = in[1];
  const pt_import_aval *dn = attr(o, "dimension_numbers", NULL);
  int64_t ivd;
  const pt_import_aval *ivv = dn ? pt_import_get(dn, "index_vector_dim") : NULL;
  if (!dn || dn->k != PT_IA_DICT || !ivv || ivv->k != PT_IA_INT)
    return fail(s, o->at, "stablehlo.gather needs dimension_numbers with index_vector_dim"), NULL;
  ivd = ivv->i;
  int r = table->type.rank;
  int64_t zero[1] = {0}, offs[PT_MAX_RANK], sizes[PT_MAX_RANK];
  int q = idx->type.rank - (ivd == idx->type.rank ? 0 : 1);
  for (int i = 0; i + 1 < r; i++)
    offs[i] = q + i;
  sizes[0] = 1;
  for (int i = 1; i < r; i++)
    sizes[i] = table->type.dims[i];
  int64_t got[PT_MAX_RANK];
  int ns;
  if (!ints(s, "slice_sizes", NULL, got, &ns, false))
    return NULL;
  bool sizes_ok = ns == r;
  for (int i = 0; sizes_ok && i < r; i++)
    sizes_ok = got[i] == sizes[i];
  if (!list_is(s, dn, "collapsed_slice_dims", zero, 1) ||
      !list_is(s, dn, "start_index_map", zero, 1) || !list_is(s, dn, "offset_dims", offs, r - 1) ||
      pt_import_get(dn, "operand_batching_dims") || !sizes_ok)
    return fail(s, o->at,
                "stablehlo.gather is imported in the form of an embedding lookup (whole rows "
                "of operand dimension 0, collapsed: offset_dims trailing, collapsed_slice_dims "
                "= start_index_map = [0], slice_sizes = [1, rest]) as partita's take"),
           NULL;
  pt_value *ix = embedding_indices(s, idx, ivd);
  return ix ? binary(s, PT_OP_TAKE, table, ix) : NULL;
}

static pt_value *map_scatter(imp *s, pt_value **in) {
  const pt_import_op *o = s->op;
  if (o->noperands != 3)
    return fail(s, o->at, "stablehlo.scatter of several operands is not supported"), NULL;
  pt_value *base = in[0], *idx = in[1], *upd = in[2];
  const pt_import_aval *dn = attr(o, "scatter_dimension_numbers", NULL);
  const pt_import_aval *ivv = dn ? pt_import_get(dn, "index_vector_dim") : NULL;
  if (!dn || dn->k != PT_IA_DICT || !ivv || ivv->k != PT_IA_INT)
    return fail(s, o->at,
                "stablehlo.scatter needs scatter_dimension_numbers with index_vector_dim"),
           NULL;
  int64_t ivd = ivv->i;
  int r = base->type.rank;
  int q = idx->type.rank - (ivd == idx->type.rank ? 0 : 1);
  int64_t zero[1] = {0}, win[PT_MAX_RANK];
  for (int i = 0; i + 1 < r; i++)
    win[i] = q + i;
  bool body_add = false;
  if (o->nregions == 1) {
    const pt_import_region *g = &o->regions[0];
    body_add = g->nargs == 2 && g->nops == 2 && strcmp(g->ops[0]->name, "stablehlo.add") == 0 &&
               g->ops[0]->noperands == 2 && g->ops[1]->noperands == 1 && g->ops[0]->res &&
               strcmp(g->ops[1]->operands[0].name, g->ops[0]->res) == 0;
  }
  if (!body_add)
    return fail(s, o->at,
                "stablehlo.scatter is imported with an add body only (the gradient "
                "of an embedding lookup)"),
           NULL;
  if (!list_is(s, dn, "inserted_window_dims", zero, 1) ||
      !list_is(s, dn, "scatter_dims_to_operand_dims", zero, 1) ||
      !list_is(s, dn, "update_window_dims", win, r - 1) || pt_import_get(dn, "input_batching_dims"))
    return fail(s, o->at,
                "stablehlo.scatter is imported in the form of an embedding gradient (whole "
                "rows of operand dimension 0: update_window_dims trailing, inserted_window_dims "
                "= scatter_dims_to_operand_dims = [0]) as partita's scatter_add"),
           NULL;
  pt_value *ix = embedding_indices(s, idx, ivd);
  if (!ix)
    return NULL;
  pt_value *ops[2] = {ix, upd};
  pt_value *sc = finish(s, start(s, PT_OP_SCATTER_ADD, ops, 2), &base->type);
  if (!sc || const_is(base, 0))
    return sc;
  return binary(s, PT_OP_ADD, base, sc);
}

static pt_value *map_constant(imp *s) {
  const pt_import_op *o = s->op;
  const pt_import_aval *v = attr(o, "value", NULL);
  if (!v || v->k != PT_IA_DENSE)
    return fail(s, o->at, "stablehlo.constant needs a dense<...> value"), NULL;
  pt_import_type it = o->nout ? o->out_types[0] : *v->type;
  if (!o->nout && !v->has_type)
    return fail(s, v->at, "the constant has no type"), NULL;
  if (!check_type(s, &it, o->at))
    return NULL;
  pt_type t = it.t;
  int64_t numel = pt_type_numel(&t);
  if (v->elided) {
    /* a placeholder that must become a param (checked after the function) */
    pt_value *z = splat(s, 0, t);
    if (z) {
      PT_GROW(s->cands, s->capcands, (size_t)s->ncands + 1);
      s->cands[s->ncands++] = (cand){z->def, s->f, true, o->at};
    }
    return z;
  }
  if (v->has_type && !pt_type_equal(&v->type->t, &t))
    return fail(s, v->at, "the literal's type differs from the constant's"), NULL;
  int64_t cap = numel < (int64_t)v->n + 1 ? numel : (int64_t)v->n + 1;
  double *vals = pt_malloc((size_t)cap * sizeof *vals);
  bool is_splat;
  if (!pt_import_dense_values(&s->r, v, &it, numel, vals, &is_splat)) {
    pt_free(vals);
    return NULL;
  }
  int64_t n = is_splat ? 1 : numel;
  double lo = it.elem == PT_IT_BOOL ? 0 : it.is_unsigned ? 0 : INT32_MIN;
  double hi = it.elem == PT_IT_BOOL ? 1 : INT32_MAX;
  for (int64_t i = 0; it.elem != PT_IT_F32 && i < n; i++)
    if (!(vals[i] >= lo && vals[i] <= hi) || vals[i] != floor(vals[i])) {
      double bad = vals[i];
      pt_free(vals);
      return fail(s, v->at, "constant value %.17g does not fit in partita's %s", bad,
                  pt_dtype_name(t.dtype)),
             NULL;
    }
  pt_op *op = start(s, PT_OP_CONSTANT, NULL, 0);
  if (n == 1 && t.dtype == PT_F32)
    pt_op_set_float(op, PT_A_VALUE, vals[0]);
  else if (n == 1)
    pt_op_set_int(op, PT_A_VALUE, (int64_t)vals[0]);
  else if (t.dtype == PT_F32)
    pt_op_set_floats(op, PT_A_VALUE, vals, n);
  else {
    pt_aval *items = pt_malloc((size_t)n * sizeof *items);
    for (int64_t i = 0; i < n; i++)
      items[i] = (pt_aval){.kind = PT_AV_INT, .i = (int64_t)vals[i]};
    pt_aval a = {.kind = PT_AV_LIST, .items = items, .n = (int)n};
    pt_op_set_attr(op, PT_A_VALUE, &a, op->loc);
    pt_free(items);
  }
  pt_free(vals);
  pt_value *r = finish(s, op, &t);
  if (r && n > 1 && t.dtype == PT_F32) {
    PT_GROW(s->cands, s->capcands, (size_t)s->ncands + 1);
    s->cands[s->ncands++] = (cand){r->def, s->f, false, o->at};
  }
  return r;
}

static pt_value *map_broadcast(imp *s, pt_value *x, kind k) {
  pt_type t;
  if (!out_type(s, &t))
    return NULL;
  int64_t dims[PT_MAX_RANK];
  int n;
  if (k == K_BCAST_OLD) {
    int64_t sizes[PT_MAX_RANK];
    if (!ints(s, "broadcast_sizes", "sizes", sizes, &n, false))
      return NULL;
    for (int i = 0; i < x->type.rank; i++)
      dims[i] = n + i;
    n = x->type.rank;
  } else if (!ints(s, "broadcast_dimensions", "dims", dims, &n, false))
    return NULL;
  if (n != x->type.rank)
    return fail(s, s->op->at, "broadcast_in_dim names %d dimensions for an operand of rank %d", n,
                x->type.rank),
           NULL;
  /* partita's broadcast keeps the operand's dimension order: a broadcast
   * that reorders them is a transpose first */
  bool sorted = true;
  for (int i = 1; i < n; i++)
    sorted = sorted && dims[i] > dims[i - 1];
  if (!sorted) {
    int64_t perm[PT_MAX_RANK], nd[PT_MAX_RANK];
    for (int i = 0; i < n; i++)
      perm[i] = i;
    for (int i = 1; i < n; i++)
      for (int j = i; j > 0 && dims[perm[j]] < dims[perm[j - 1]]; j--) {
        int64_t tmp = perm[j];
        perm[j] = perm[j - 1];
        perm[j - 1] = tmp;
      }
    for (int i = 0; i < n; i++) {
      if (i && dims[perm[i]] == dims[perm[i - 1]])
        return fail(s, s->op->at, "broadcast_in_dim names result dimension %lld twice",
                    (long long)dims[perm[i]]),
               NULL;
      nd[i] = dims[perm[i]];
    }
    pt_op *tr = start(s, PT_OP_TRANSPOSE, &x, 1);
    pt_op_set_ints(tr, PT_A_PERM, perm, n);
    x = finish(s, tr, NULL);
    if (!x)
      return NULL;
    memcpy(dims, nd, sizeof nd);
  }
  pt_op *op = start(s, PT_OP_BROADCAST, &x, 1);
  pt_op_set_ints(op, PT_A_DIMS, dims, n);
  return finish(s, op, &t);
}

static pt_value *map_pad(imp *s, pt_value **in) {
  int64_t lo[PT_MAX_RANK], hi[PT_MAX_RANK], inner[PT_MAX_RANK];
  int nl, nh, ni;
  if (!ints(s, "edge_padding_low", "low", lo, &nl, false) ||
      !ints(s, "edge_padding_high", "high", hi, &nh, false) ||
      !ints(s, "interior_padding", "interior", inner, &ni, true))
    return NULL;
  int r = in[0]->type.rank;
  if (nl != r || nh != r || (ni >= 0 && ni != r))
    return fail(s, s->op->at, "stablehlo.pad needs one padding per dimension (%d)", r), NULL;
  if (ni < 0)
    memset(inner, 0, sizeof inner);
  for (int i = 0; i < r; i++)
    if (lo[i] == INT64_MIN || hi[i] == INT64_MIN || llabs(lo[i]) > (INT64_C(1) << 40) ||
        llabs(hi[i]) > (INT64_C(1) << 40))
      return fail(s, s->op->at, "stablehlo.pad: padding out of range"), NULL;
  /* negative edge padding crops: pad by the positive parts, then slice */
  int64_t plo[PT_MAX_RANK], phi[PT_MAX_RANK];
  bool crop = false;
  for (int i = 0; i < r; i++) {
    plo[i] = lo[i] > 0 ? lo[i] : 0;
    phi[i] = hi[i] > 0 ? hi[i] : 0;
    crop = crop || lo[i] < 0 || hi[i] < 0;
  }
  pt_op *op = start(s, PT_OP_PAD, in, 2);
  pt_op_set_ints(op, PT_A_LOW, plo, r);
  pt_op_set_ints(op, PT_A_HIGH, phi, r);
  pt_op_set_ints(op, PT_A_INTERIOR, inner, r);
  pt_value *p = finish(s, op, NULL);
  if (!p || !crop)
    return p;
  int64_t st[PT_MAX_RANK], lim[PT_MAX_RANK];
  for (int i = 0; i < r; i++) {
    st[i] = lo[i] < 0 ? -lo[i] : 0;
    lim[i] = p->type.dims[i] - (hi[i] < 0 ? -hi[i] : 0);
  }
  pt_op *sl = start(s, PT_OP_SLICE, &p, 1);
  pt_op_set_ints(sl, PT_A_START, st, r);
  pt_op_set_ints(sl, PT_A_LIMIT, lim, r);
  return finish(s, sl, NULL);
}

static pt_value *map_dot(imp *s, pt_value **in, kind k) {
  int64_t lb[PT_MAX_RANK], rb[PT_MAX_RANK], lc[PT_MAX_RANK], rc[PT_MAX_RANK];
  int nb = 0, nc = 0, n2 = 0, n3 = 0;
  if (k == K_DOT) {
    if (in[0]->type.rank < 1 || in[0]->type.rank > 2 || in[1]->type.rank < 1 ||
        in[1]->type.rank > 2)
      return fail(s, s->op->at, "stablehlo.dot takes operands of rank 1 or 2"), NULL;
    lc[0] = in[0]->type.rank - 1;
    rc[0] = 0;
    nc = 1;
  } else {
    const pt_import_aval *dn = attr(s->op, "dot_dimension_numbers", NULL);
    const pt_import_aval *pb = attr(s->op, "batching_dims", NULL);
    const pt_import_aval *pc = attr(s->op, "contracting_dims", NULL);
    if (dn && dn->k == PT_IA_DICT) {
      const pt_import_aval *v;
      if ((v = pt_import_get(dn, "lhs_batching_dimensions")))
        nb = pt_import_ints(&s->r, v, lb, PT_MAX_RANK);
      if ((v = pt_import_get(dn, "rhs_batching_dimensions")))
        n2 = pt_import_ints(&s->r, v, rb, PT_MAX_RANK);
      if ((v = pt_import_get(dn, "lhs_contracting_dimensions")))
        nc = pt_import_ints(&s->r, v, lc, PT_MAX_RANK);
      if ((v = pt_import_get(dn, "rhs_contracting_dimensions")))
        n3 = pt_import_ints(&s->r, v, rc, PT_MAX_RANK);
    } else if (pc) {
      if (pb) {
        if (pb->k != PT_IA_LIST || pb->nitems != 2)
          return fail(s, pb->at, "batching_dims must be [..] x [..]"), NULL;
        nb = pt_import_ints(&s->r, &pb->items[0], lb, PT_MAX_RANK);
        n2 = pt_import_ints(&s->r, &pb->items[1], rb, PT_MAX_RANK);
      }
      if (pc->k != PT_IA_LIST || pc->nitems != 2)
        return fail(s, pc->at, "contracting_dims must be [..] x [..]"), NULL;
      nc = pt_import_ints(&s->r, &pc->items[0], lc, PT_MAX_RANK);
      n3 = pt_import_ints(&s->r, &pc->items[1], rc, PT_MAX_RANK);
    } else {
      return fail(s, s->op->at, "stablehlo.dot_general needs its dimension numbers"), NULL;
    }
    if (nb < 0 || n2 < 0 || nc < 0 || n3 < 0 || nb != n2 || nc != n3)
      return fail(s, s->op->at,
                  "dot_general's dimension numbers must be integer lists, lhs and rhs of "
                  "equal length"),
             NULL;
  }
  pt_op *op = start(s, PT_OP_DOT, in, 2);
  if (nb) {
    pt_op_set_ints(op, PT_A_LHS_BATCH, lb, nb);
    pt_op_set_ints(op, PT_A_RHS_BATCH, rb, nb);
  }
  pt_op_set_ints(op, PT_A_LHS_CONTRACT, lc, nc);
  pt_op_set_ints(op, PT_A_RHS_CONTRACT, rc, nc);
  return finish(s, op, NULL);
}

static bool map_call(imp *s, pt_value **in) {
  const pt_import_op *o = s->op;
  const pt_import_aval *c = attr(o, "callee", NULL);
  if (!c || c->k != PT_IA_SYM)
    return fail(s, o->at, "a call needs its callee (@name)");
  if (o->nout < 1)
    return fail(s, o->at, "a call without results is not imported (it would compute nothing)");
  if (o->nres != o->nout && o->res)
    return fail(s, o->at, "the call names %d results but its type has %d", o->nres, o->nout);
  pt_type *types = pt_malloc((size_t)o->nout * sizeof *types);
  for (int i = 0; i < o->nout; i++) {
    if (!check_type(s, &o->out_types[i], o->at)) {
      pt_free(types);
      return false;
    }
    types[i] = o->out_types[i].t;
  }
  char *callee = sanitize(s->r.keep, c->s, c->n, true);
  pt_op *op = start(s, PT_OP_CALL, in, o->noperands);
  pt_op_finish_call(op, callee ? callee : "_", NULL, types, o->nout);
  pt_free(types);
  if (o->res) {
    char key[600];
    define(s, o->res, op->results[0]);
    for (int i = 0; i < o->nout; i++) {
      snprintf(key, sizeof key, "%s#%d", o->res, i);
      define(s, key, op->results[i]);
    }
  }
  return true;
}

static bool map_return(imp *s, pt_value **in) {
  const pt_import_op *o = s->op;
  pt_func *f = s->f;
  for (int i = 0; i < o->noperands; i++) {
    char nm[32];
    const char *info = s->fi->res_info && i < f->nresults ? s->fi->res_info[i] : NULL;
    char *name = info ? sanitize(s->m->arena, info, strlen(info), false) : NULL;
    if (!name || pt_func_find_result(f, name) >= 0) {
      if (o->noperands == 1)
        snprintf(nm, sizeof nm, "result");
      else
        snprintf(nm, sizeof nm, "result.%d", i);
      name = nm;
    }
    if (i < f->nresults) {
      if (!pt_type_equal(&f->results[i].type, &in[i]->type))
        return fail(s, o->operands[i].at,
                    "the returned value's type differs from the "
                    "function's result %d",
                    i);
      f->results[i].name = pt_arena_strdup(s->m->arena, name);
      f->results[i].value = in[i];
      f->results[i].ret_loc = pt_import_loc(&s->r, o->operands[i].at);
    } else
      return fail(s, o->operands[i].at, "the function returns more values than it declares");
  }
  if (o->noperands != f->nresults)
    return fail(s, o->at, "the function declares %d results but returns %d", f->nresults,
                o->noperands);
  if (!f->nresults)
    return fail(s, o->at, "a function without results is not imported");
  f->ret_loc = pt_import_loc(&s->r, o->at);
  s->fi->returned = true;
  return true;
}

static bool map_op_body(imp *s, const pt_import_op *o);

/* Maps one op of the current function; its loc names the Python source in
 * messages about it, and only while it is mapped (o does not outlive it). */
static bool map_op(imp *s, const pt_import_op *o) {
  s->op = o;
  bool ok = map_op_body(s, o);
  s->op = NULL;
  return ok;
}

static bool map_op_body(imp *s, const pt_import_op *o) {
  int ti = find_op(o->name);
  if (ti < 0)
    return fail(s, o->at, "%s is not supported: %s", o->name, unsupported(o->name));
  kind k = optab[ti].k;
  if (k != K_CALL && o->nres > 1)
    return fail(s, o->at, "%s has one result, not %d", o->name, o->nres);
  for (int i = 0; i < o->nin; i++)
    if (!check_type(s, &o->in_types[i], o->at))
      return false;
  for (int i = 0; i < o->nout; i++)
    if (!check_type(s, &o->out_types[i], o->at))
      return false;
  pt_value *stack[8],
      **in = o->noperands <= 8 ? stack : pt_malloc((size_t)o->noperands * sizeof *in);
  bool ok = true;
  for (int i = 0; ok && i < o->noperands; i++)
    ok = (in[i] = lookup(s, &o->operands[i])) != NULL;
  pt_value *r = NULL;
  if (!ok)
    goto out;
  if (k == K_RETURN) {
    if (strcmp(o->name, "stablehlo.return") == 0)
      ok = fail(s, o->at, "stablehlo.return outside a region");
    else
      ok = map_return(s, in);
    goto out;
  }
  if (k == K_CALL) {
    ok = map_call(s, in);
    goto out;
  }
  switch (k) {
  case K_BIN:
    if (!nops(s, 2))
      break;
    if (in[0]->type.dtype == PT_PRED && in[1]->type.dtype == PT_PRED &&
        (optab[ti].code == PT_OP_ADD || optab[ti].code == PT_OP_MAX))
      r = select3(s, in[0], in[0], in[1]); /* or */
    else if (in[0]->type.dtype == PT_PRED && in[1]->type.dtype == PT_PRED &&
             (optab[ti].code == PT_OP_MUL || optab[ti].code == PT_OP_MIN))
      r = select3(s, in[0], in[1], in[0]); /* and */
    else
      r = binary(s, optab[ti].code, in[0], in[1]);
    break;
  case K_UN:
    if (nops(s, 1))
      r = unary(s, optab[ti].code, in[0]);
    break;
  case K_EXPM1: /* exp(x) - 1 */
    if (nops(s, 1) && (r = unary(s, PT_OP_EXP, in[0]))) {
      pt_value *one = splat_like(s, 1, in[0]);
      r = one ? binary(s, PT_OP_SUB, r, one) : NULL;
    }
    break;
  case K_LOG1P: /* log(1 + x) */
    if (nops(s, 1)) {
      pt_value *one = splat_like(s, 1, in[0]);
      r = one ? binary(s, PT_OP_ADD, one, in[0]) : NULL;
      r = r ? unary(s, PT_OP_LOG, r) : NULL;
    }
    break;
  case K_CMP: {
    if (!nops(s, 2))
      break;
    const pt_import_aval *dir = word(o, "comparison_direction", 0);
    const pt_import_aval *ty = word(o, "compare_type", 1);
    static const char *const dirs[] = {"LT", "LE", "GT", "GE", "EQ", "NE"};
    static const pt_cmpdir pd[] = {PT_CMP_LT, PT_CMP_LE, PT_CMP_GT,
                                   PT_CMP_GE, PT_CMP_EQ, PT_CMP_NE};
    int di = -1;
    for (int i = 0; i < 6; i++)
      if (word_is(dir, dirs[i]))
        di = i;
    if (di < 0) {
      ok = fail(s, dir ? dir->at : o->at,
                "stablehlo.compare needs a direction (EQ, NE, LT, "
                "LE, GT, GE)");
      break;
    }
    if (ty && word_is(ty, "TOTALORDER")) {
      ok = fail(s, ty->at,
                "compare_type TOTALORDER is not supported (partita compares floats "
                "by IEEE rules)");
      break;
    }
    if (ty && !word_is(ty, "FLOAT") && !word_is(ty, "SIGNED") && !word_is(ty, "UNSIGNED")) {
      ok = fail(s, ty->at, "unknown compare_type (FLOAT, SIGNED, UNSIGNED)");
      break;
    }
    r = compare(s, pd[di], in[0], in[1]);
    break;
  }
  case K_SEL:
    if (!nops(s, 3))
      break;
    if (in[0]->type.rank == 0 && in[1]->type.rank > 0)
      in[0] = broadcast_scalar(s, in[0], &in[1]->type);
    r = in[0] ? select3(s, in[0], in[1], in[2]) : NULL;
    break;
  case K_NOT:
  case K_AND:
  case K_OR:
  case K_XOR:
    if (!nops(s, k == K_NOT ? 1 : 2))
      break;
    for (int i = 0; i < o->noperands; i++)
      if (in[i]->type.dtype != PT_PRED) {
        ok = fail(s, o->at,
                  "%s on integers (bitwise) is not supported: partita has no bitwise "
                  "ops; on i1 it is",
                  o->name);
        goto out;
      }
    if (k == K_NOT)
      r = logic_not(s, in[0]);
    else if (k == K_AND)
      r = select3(s, in[0], in[1], in[0]);
    else if (k == K_OR)
      r = select3(s, in[0], in[0], in[1]);
    else
      r = compare(s, PT_CMP_NE, in[0], in[1]);
    break;
  case K_CLAMP: { /* min(max(x, lo), hi) */
    if (!nops(s, 3))
      break;
    pt_value *lo = broadcast_scalar(s, in[0], &in[1]->type);
    pt_value *hi = lo ? broadcast_scalar(s, in[2], &in[1]->type) : NULL;
    r = hi ? binary(s, PT_OP_MAX, in[1], lo) : NULL;
    r = r ? binary(s, PT_OP_MIN, r, hi) : NULL;
    break;
  }
  case K_CONVERT: {
    pt_type t;
    if (!nops(s, 1) || !out_type(s, &t))
      break;
    r = t.dtype == in[0]->type.dtype ? in[0] : convert(s, in[0], t.dtype);
    break;
  }
  case K_CONST:
    if (nops(s, 0))
      r = map_constant(s);
    break;
  case K_IOTA: {
    int64_t dim;
    pt_type t;
    if (!nops(s, 0) || !out_type(s, &t) || !one_int(s, "iota_dimension", "dim", &dim))
      break;
    pt_op *op = start(s, PT_OP_IOTA, NULL, 0);
    pt_op_set_int(op, PT_A_DIM, dim);
    r = finish(s, op, &t);
    break;
  }
  case K_BCAST:
  case K_BCAST_OLD:
    if (nops(s, 1))
      r = map_broadcast(s, in[0], k);
    break;
  case K_RESHAPE: {
    pt_type t;
    if (nops(s, 1) && out_type(s, &t))
      r = finish(s, start(s, PT_OP_RESHAPE, in, 1), &t);
    break;
  }
  case K_TRANSPOSE: {
    int64_t perm[PT_MAX_RANK];
    int n;
    if (!nops(s, 1) || !ints(s, "permutation", "dims", perm, &n, false))
      break;
    pt_op *op = start(s, PT_OP_TRANSPOSE, in, 1);
    pt_op_set_ints(op, PT_A_PERM, perm, n);
    r = finish(s, op, NULL);
    break;
  }
  case K_SLICE: {
    int64_t st[PT_MAX_RANK], lim[PT_MAX_RANK], str[PT_MAX_RANK];
    int n1, n2, n3;
    if (!nops(s, 1) || !ints(s, "start_indices", NULL, st, &n1, false) ||
        !ints(s, "limit_indices", NULL, lim, &n2, false) ||
        !ints(s, "strides", NULL, str, &n3, true))
      break;
    pt_op *op = start(s, PT_OP_SLICE, in, 1);
    pt_op_set_ints(op, PT_A_START, st, n1);
    pt_op_set_ints(op, PT_A_LIMIT, lim, n2);
    if (n3 >= 0)
      pt_op_set_ints(op, PT_A_STRIDE, str, n3);
    r = finish(s, op, NULL);
    break;
  }
  case K_CONCAT: {
    int64_t dim;
    if (o->noperands < 1) {
      ok = fail(s, o->at, "stablehlo.concatenate needs operands");
      break;
    }
    if (!one_int(s, "dimension", "dim", &dim))
      break;
    pt_op *op = start(s, PT_OP_CONCAT, in, o->noperands);
    pt_op_set_int(op, PT_A_DIM, dim);
    r = finish(s, op, NULL);
    break;
  }
  case K_PAD:
    if (nops(s, 2))
      r = map_pad(s, in);
    break;
  case K_REDUCE:
    r = map_reduce(s, in);
    break;
  case K_DOTG:
  case K_DOT:
    if (nops(s, 2))
      r = map_dot(s, in, k);
    break;
  case K_GATHER:
    if (nops(s, 2))
      r = map_gather(s, in);
    break;
  case K_SCATTER:
    r = map_scatter(s, in);
    break;
  case K_CUSTOM:
  case K_SHARD: {
    if (k == K_CUSTOM) {
      const pt_import_aval *t = attr(o, "call_target_name", "callee");
      if (!word_is(t, "Sharding")) {
        if (word_is(t, "SPMDFullToShardShape") || word_is(t, "SPMDShardToFullShape"))
          ok = fail(s, o->at,
                    "custom_call @%.*s is not supported: shard_map's manual "
                    "sharding is not imported",
                    t ? (int)t->n : 0, t ? t->s : "");
        else
          ok = fail(s, o->at,
                    "custom_call @%.*s is not supported: partita runs no foreign "
                    "kernels",
                    t ? (int)t->n : 1, t ? t->s : "?");
        break;
      }
    }
    if (!nops(s, 1))
      break;
    note_sharding(s, o->at);
    r = in[0]; /* a sharding hint: the value itself */
    break;
  }
  case K_CALL:
  case K_RETURN:
    PT_UNREACHABLE();
  }
  if (r)
    ok = check_result(s, r);
  else
    ok = false;
  if (ok && o->res)
    define(s, o->res, r);
out:
  if (in != stack)
    pt_free(in);
  return ok && !s->r.failed;
}

/* ---- functions and the module --------------------------------------- */

static const char *str_attr(imp *s, const pt_import_aval *dict, const char *key) {
  const pt_import_aval *v = pt_import_get(dict, key);
  if (!v || v->k != PT_IA_STR)
    return NULL;
  return pt_arena_strndup(s->r.keep, v->s, v->n);
}

static void sharding_attr(imp *s, const pt_import_aval *dict) {
  const pt_import_aval *v = pt_import_get(dict, "mhlo.sharding");
  if (v && v->k == PT_IA_STR && !(v->n == 12 && memcmp(v->s, "{replicated}", 12) == 0) && v->n)
    note_sharding(s, v->at);
  if (pt_import_get(dict, "sdy.sharding"))
    note_sharding(s, pt_import_get(dict, "sdy.sharding")->at);
}

/* Each op's records are dropped once it is mapped; a fresh arena every
 * 64 ops keeps the memory bounded without a chunk allocated per op. */
static void reset_scratch(imp *s, bool now) {
  if (!now && ++s->since_reset < 64)
    return;
  s->since_reset = 0;
  pt_arena_destroy(s->r.scratch);
  s->r.scratch = pt_arena_create();
}

static bool parse_func(imp *s) {
  pt_import_reader *r = &s->r;
  bool is_public = true;
  if (pt_import_word_is(r, "public") || pt_import_word_is(r, "private") ||
      pt_import_word_is(r, "nested"))
    is_public = pt_import_word_is(r, "public"), pt_import_word(r);
  pt_import_ws(r);
  const char *name_at = r->p;
  char *orig = pt_import_symbol(r, r->keep);
  if (!orig)
    return false;
  char *name = sanitize(s->m->arena, orig, strlen(orig), true);
  if (!name)
    return fail(s, name_at, "function name @%s has no letters partita can use", orig);
  for (int i = 0; i < s->nfns; i++)
    if (strcmp(s->fns[i].f->name, name) == 0)
      return fail(s, name_at, "a second function named @%s", orig);
  pt_func *f = pt_func_create(s->m, name, pt_import_loc(r, name_at));
  PT_GROW(s->fns, s->capfns, (size_t)s->nfns + 1);
  fninfo *fi = &s->fns[s->nfns++];
  *fi = (fninfo){f, orig, is_public, name_at, false, NULL, NULL};
  s->f = f;
  s->fi = fi;
  pt_strmap_clear(&s->vals);
  pt_strmap_clear(&s->used);
  if (!pt_import_expect(r, "(", "to open the arguments"))
    return false;
  const char *infos[1024];
  int nargs = 0;
  bool any_info = false;
  while (!pt_import_peek(r, ')')) {
    pt_import_ws(r);
    const char *aat = r->p;
    char *an = pt_import_value_name(r);
    pt_import_type t;
    if (!an || !pt_import_expect(r, ":", "after an argument") || !pt_import_type_parse(r, &t))
      return false;
    if (!check_type(s, &t, aat))
      return false;
    pt_import_aval dict = {.k = PT_IA_DICT};
    if (pt_import_peek(r, '{')) {
      r->p++;
      if (!pt_import_attr_dict(r, &dict, '}'))
        return false;
    }
    pt_import_skip_loc(r, NULL);
    sharding_attr(s, &dict);
    if (nargs == 1024)
      return fail(s, aat, "more than 1024 arguments");
    infos[nargs] = str_attr(s, &dict, "jax.arg_info");
    any_info = any_info || infos[nargs];
    nargs++;
    char *pn = sanitize(s->m->arena, an, strlen(an), true);
    if (!pn || pt_func_find_arg(f, pn))
      return fail(s, aat, "argument %%%s: a name partita cannot use twice", an);
    pt_value *v = pt_func_add_arg(f, pn, PT_ROLE_INPUT, t.t, pt_import_loc(r, aat));
    pt_strmap_put(&s->vals, pt_arena_strdup(r->keep, an), v);
    pt_strmap_put(&s->used, v->name, v);
    if (!pt_import_accept(r, ","))
      break;
  }
  if (!pt_import_expect(r, ")", "to close the arguments"))
    return false;
  if (any_info)
    fi->arg_info = pt_arena_memdup(r->keep, infos, (size_t)nargs * sizeof *infos);
  const char *rinfo[256];
  int nres = 0;
  if (pt_import_accept(r, "->")) {
    bool paren = pt_import_peek(r, '(');
    if (paren)
      r->p++;
    while (!paren || !pt_import_peek(r, ')')) {
      pt_import_ws(r);
      const char *rat = r->p;
      pt_import_type t;
      if (!pt_import_type_parse(r, &t) || !check_type(s, &t, rat))
        return false;
      pt_import_aval dict = {.k = PT_IA_DICT};
      if (paren && pt_import_peek(r, '{')) { /* without parens '{' opens the body */
        r->p++;
        if (!pt_import_attr_dict(r, &dict, '}'))
          return false;
      }
      pt_import_skip_loc(r, NULL);
      sharding_attr(s, &dict);
      if (nres == 256)
        return fail(s, rat, "more than 256 results");
      rinfo[nres++] = str_attr(s, &dict, "jax.result_info");
      pt_func_add_result(f, "result", t.t, NULL, pt_import_loc(r, rat));
      if (!paren || !pt_import_accept(r, ","))
        break;
    }
    if (paren && !pt_import_expect(r, ")", "to close the results"))
      return false;
  }
  fi->res_info = pt_arena_memdup(r->keep, rinfo, (size_t)(nres ? nres : 1) * sizeof *rinfo);
  if (pt_import_accept(r, "attributes")) {
    if (!pt_import_expect(r, "{", "after attributes"))
      return false;
    pt_import_aval dict = {.k = PT_IA_DICT};
    if (!pt_import_attr_dict(r, &dict, '}'))
      return false;
  }
  if (!pt_import_expect(r, "{", "to open the function body"))
    return false;
  reset_scratch(s, true);
  while (!pt_import_peek(r, '}')) {
    if (r->p >= r->end)
      return fail(s, r->p, "expected '}' to close @%s, found the end of the file", orig);
    if (fi->returned)
      return fail(s, r->p, "an operation after the return of @%s", orig);
    pt_import_op *o = pt_import_read_op(r);
    if (!o || !map_op(s, o))
      return false;
    reset_scratch(s, false);
  }
  r->p++;
  pt_import_skip_loc(r, NULL);
  if (!fi->returned)
    return fail(s, name_at, "@%s has no return", orig);
  return !r->failed;
}

static bool parse_module(imp *s) {
  pt_import_reader *r = &s->r;
  int depth = 0;
  for (;;) {
    pt_import_ws(r);
    if (r->p >= r->end)
      break;
    const char *at = r->p;
    if (pt_import_accept(r, "module")) {
      if (depth)
        return fail(s, at, "nested modules are not imported");
      if (pt_import_peek(r, '@') && !pt_import_symbol(r, r->scratch))
        return false;
      if (pt_import_accept(r, "attributes")) {
        pt_import_aval dict = {.k = PT_IA_DICT};
        if (!pt_import_expect(r, "{", "after attributes") || !pt_import_attr_dict(r, &dict, '}'))
          return false;
        if (pt_import_get(&dict, "mhlo.num_partitions") &&
            pt_import_get(&dict, "mhlo.num_partitions")->i > 1)
          note_sharding(s, pt_import_get(&dict, "mhlo.num_partitions")->at);
      }
      if (!pt_import_expect(r, "{", "to open the module"))
        return false;
      depth = 1;
      continue;
    }
    if (*r->p == '}' && depth) {
      r->p++;
      depth = 0;
      pt_import_skip_loc(r, NULL);
      continue;
    }
    if (*r->p == '#') { /* alias definitions: #loc3 = loc(...) */
      while (r->p < r->end && *r->p != '\n')
        r->p++;
      continue;
    }
    if (r->end - r->p >= 3 && memcmp(r->p, "{-#", 3) == 0) { /* dialect resources */
      const char *e = NULL;
      for (const char *q = r->p; q + 2 < r->end; q++)
        if (memcmp(q, "#-}", 3) == 0) {
          e = q + 3;
          break;
        }
      if (!e)
        return fail(s, at, "unterminated {-# ... #-} block");
      r->p = e;
      continue;
    }
    if (pt_import_word_is(r, "sdy.mesh")) {
      note_sharding(s, at);
      while (r->p < r->end && *r->p != '\n')
        r->p++;
      continue;
    }
    if (pt_import_accept(r, "func.func")) {
      if (!parse_func(s))
        return false;
      continue;
    }
    if (*r->p == '"')
      return fail(s, at,
                  "the generic form of a module or function is not imported: print "
                  "it in the pretty form (JAX's as_text())");
    return fail(s, at, "expected a module or func.func");
  }
  if (depth)
    return fail(s, r->end, "expected '}' to close the module, found the end of the file");
  if (!s->nfns)
    return fail(s, r->end, "no func.func in the input");
  return true;
}

/* ---- arguments: roles, names, constants ----------------------------- */

const char *pt_import_params_check(const char *spec) {
  if (strcmp(spec, "all") == 0 || strcmp(spec, "none") == 0)
    return NULL;
  const char *p = spec;
  if (!*p)
    return "empty --params (write indices like 0,2-4,6- or all)";
  while (*p) {
    if (*p < '0' || *p > '9')
      return "--params takes indices and ranges (0,2-4,6-), all or none";
    char *e;
    long a = strtol(p, &e, 10);
    p = e;
    if (*p == '-') {
      p++;
      if (*p >= '0' && *p <= '9') {
        long b = strtol(p, &e, 10);
        p = e;
        if (b < a)
          return "a --params range runs downward";
      }
    }
    if (a > 1000000)
      return "a --params index is too large";
    if (*p == ',')
      p++;
    else if (*p)
      return "--params takes indices and ranges (0,2-4,6-), all or none";
  }
  return NULL;
}

/* Marks the params of SPEC among n arguments; false on an index >= n. */
static bool params_mark(const char *spec, bool *is_param, int n, long *bad) {
  if (strcmp(spec, "none") == 0)
    return true;
  if (strcmp(spec, "all") == 0) {
    for (int i = 0; i < n; i++)
      is_param[i] = true;
    return true;
  }
  const char *p = spec;
  while (*p) {
    char *e;
    long a = strtol(p, &e, 10), b = a;
    p = e;
    if (*p == '-') {
      p++;
      b = n - 1;
      if (*p >= '0' && *p <= '9') {
        b = strtol(p, &e, 10);
        p = e;
      }
    }
    if (*p == ',')
      p++;
    if (a >= n || b >= n) {
      *bad = a >= n ? a : b;
      return false;
    }
    for (long i = a; i <= b; i++)
      is_param[i] = true;
  }
  return true;
}

/* Replaces every use of `from` in f by `to`. */
static void replace_uses(pt_func *f, const pt_value *from, pt_value *to) {
  for (int i = 0; i < f->nops; i++)
    for (int k = 0; k < f->ops[i]->noperands; k++)
      if (f->ops[i]->operands[k] == from)
        f->ops[i]->operands[k] = to;
  for (int i = 0; i < f->nresults; i++)
    if (f->results[i].value == from)
      f->results[i].value = to;
}

static bool finish_entry(imp *s, fninfo *e) {
  pt_func *f = e->f;
  const pt_import_opts *o = s->o;
  int nargs = f->nargs;
  /* constants of the entry that become params */
  int made = 0;
  for (int i = 0; i < s->ncands; i++) {
    cand *c = &s->cands[i];
    bool convert_it = c->f == f && o && o->params_from_constants;
    if (!convert_it) {
      if (c->elided)
        return fail(s, c->at, "dense_resource<__elided__> has no values%s",
                    c->f == f ? ": import with --params-from-constants to make it a param"
                              : " (and only the entry function's constants can become params)");
      continue;
    }
    char nm[32];
    snprintf(nm, sizeof nm, "const.%d", made++);
    if (pt_func_find_arg(f, nm))
      return fail(s, c->at, "an argument is already named %s", nm);
    pt_value *a = pt_func_add_arg(f, nm, PT_ROLE_PARAM, c->op->result->type, c->op->loc);
    replace_uses(f, c->op->result, a);
    if (c->op->result->name)
      pt_strmap_put(&s->used, c->op->result->name, NULL);
    int k = 0;
    for (int j = 0; j < f->nops; j++)
      if (f->ops[j] != c->op)
        f->ops[k++] = f->ops[j];
      else
        pt_free(c->op->attrs), c->op->attrs = NULL, c->op->nattrs = 0;
    f->nops = k;
  }
  /* names: jax.arg_info, then --names */
  for (int i = 0; e->arg_info && i < nargs; i++) {
    char *n =
        e->arg_info[i] ? sanitize(s->m->arena, e->arg_info[i], strlen(e->arg_info[i]), true) : NULL;
    if (n && !pt_func_find_arg(f, n))
      f->args[i]->name = n;
  }
  if (o && o->nnames > f->nargs) {
    pt_loc l = {o->names_file ? o->names_file : "<names>",
                o->names_lines ? o->names_lines[f->nargs] : 0, 1, NULL};
    s->r.failed = true;
    pt_diag_error(s->r.d, l, "%d names for the %d arguments of @%s%s", o->nnames, f->nargs, e->orig,
                  made ? " (its own and the params made from constants)" : "");
    return false;
  }
  for (int i = 0; o && i < o->nnames; i++) {
    for (int j = 0; j < i; j++)
      if (strcmp(o->names[i], o->names[j]) == 0) {
        pt_loc l = {o->names_file ? o->names_file : "<names>",
                    o->names_lines ? o->names_lines[i] : 0, 1, NULL};
        s->r.failed = true;
        pt_diag_error(s->r.d, l, "the name '%s' is given twice", o->names[i]);
        return false;
      }
    f->args[i]->name = pt_arena_strdup(s->m->arena, o->names[i]);
  }
  /* roles */
  if (o && o->params) {
    bool *is_param = pt_calloc((size_t)nargs + 1, 1);
    long bad = 0;
    if (!params_mark(o->params, is_param, nargs, &bad)) {
      pt_free(is_param);
      return fail(s, e->at, "--params names argument %ld, but @%s has %d", bad, e->orig, nargs);
    }
    for (int i = 0; i < nargs; i++)
      if (is_param[i])
        f->args[i]->role = PT_ROLE_PARAM;
    pt_free(is_param);
  }
  /* the arguments' names must not clash with the values' */
  pt_strmap args = {0};
  for (int i = 0; i < f->nargs; i++)
    pt_strmap_put(&args, f->args[i]->name, f->args[i]);
  for (int j = 0; j < f->nops; j++)
    for (int k = 0; k < pt_op_nresults(f->ops[j]); k++) {
      pt_value *v = pt_op_result(f->ops[j], k);
      if (v->name && pt_strmap_get(&args, v->name, strlen(v->name)))
        v->name = NULL;
    }
  pt_strmap_clear(&args);
  return true;
}

static bool choose_entry(imp *s, fninfo **out) {
  const char *want = s->o && s->o->func ? s->o->func : NULL;
  if (want && want[0] == '@')
    want++;
  fninfo *e = NULL;
  for (int i = 0; i < s->nfns; i++)
    if (strcmp(s->fns[i].orig, want ? want : "main") == 0)
      e = &s->fns[i];
  if (!e && want) {
    char list[512] = "";
    for (int i = 0; i < s->nfns; i++) {
      size_t k = strlen(list);
      snprintf(list + k, sizeof list - k, " @%s", s->fns[i].orig);
    }
    return fail(s, s->r.src, "the input has no function @%s; it has:%s", want, list);
  }
  if (!e) {
    int npub = 0;
    for (int i = 0; i < s->nfns; i++)
      if (s->fns[i].is_public)
        e = &s->fns[i], npub++;
    if (npub != 1)
      return fail(s, s->r.src, "no @main and %d public functions: choose the entry with --func",
                  npub);
  }
  *out = e;
  return true;
}

pt_module *pt_import_parse(const char *text, size_t len, const char *file, const pt_import_opts *o,
                           pt_diag *d) {
  imp s = {0};
  s.o = o;
  s.r.src = s.r.p = text;
  s.r.end = text + len;
  s.r.file = file;
  s.r.d = d;
  s.r.unsupported = unsupported;
  s.r.scratch = pt_arena_create();
  s.r.keep = pt_arena_create();
  s.rule = pt_diag_create(NULL);
  int errors_before = pt_diag_error_count(d);
  pt_diag_add_source(d, file, text, len);
  s.m = pt_module_create(file);
  s.r.file = s.m->file;
  pt_import_scan_aliases(&s.r);
  fninfo *e = NULL;
  bool ok = parse_module(&s) && choose_entry(&s, &e) && finish_entry(&s, e);
  /* an error anywhere (a trailing loc(...) the module's parse skips over,
   * say) refuses the whole file: never a module beside an error */
  ok = ok && !s.r.failed && pt_diag_error_count(d) == errors_before;
  if (ok) {
    /* the entry of a loss is @loss, partita's default entry */
    pt_func *f = e->f;
    if (f->nresults == 1 && f->results[0].type.rank == 0 && f->results[0].type.dtype == PT_F32 &&
        !pt_module_find_func(s.m, "loss")) {
      const char *old = f->name;
      f->name = pt_arena_strdup(s.m->arena, "loss");
      if (strcmp(f->results[0].name, "result") == 0)
        f->results[0].name = f->name;
      for (int i = 0; i < s.m->nfuncs; i++)
        for (int j = 0; j < s.m->funcs[i]->nops; j++) {
          pt_op *op = s.m->funcs[i]->ops[j];
          if (op->code == PT_OP_CALL && strcmp(op->callee, old) == 0)
            op->callee = f->name;
        }
    }
    /* the entry comes last, as partita's programs are written */
    int k = 0;
    for (int i = 0; i < s.m->nfuncs; i++)
      if (s.m->funcs[i] != f)
        s.m->funcs[k++] = s.m->funcs[i];
    s.m->funcs[k] = f;
    /* reduce inits and the like that partita's ops do not need */
    if (pt_verify_module(s.m, d) != PT_OK || pt_pass_dce(s.m, d) != PT_OK) {
      pt_diag_note(d, PT_NOLOC, "the imported module does not verify (above)");
      ok = false;
    }
  }
  pt_strmap_clear(&s.vals);
  pt_strmap_clear(&s.used);
  pt_free(s.fns);
  pt_free(s.cands);
  pt_free(s.r.alias_names);
  pt_free(s.r.alias_text);
  pt_free(s.r.alias_len);
  pt_arena_destroy(s.r.scratch);
  pt_arena_destroy(s.r.keep);
  pt_diag_destroy(s.rule);
  if (!ok) {
    pt_module_destroy(s.m);
    return NULL;
  }
  return s.m;
}

/* ---- the names file ------------------------------------------------- */

bool pt_import_names_parse(const char *text, size_t len, const char *file, char ***names,
                           int **lines, int *n, pt_diag *d) {
  *names = NULL;
  *lines = NULL;
  *n = 0;
  int cap = 0, lcap = 0, line = 0;
  const char *p = text, *end = text + len;
  pt_diag_add_source(d, file, text, len);
  while (p < end) {
    line++;
    const char *bol = p;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
      eol = end;
    const char *b = p, *e = eol;
    p = eol + (eol < end);
    while (b < e && (*b == ' ' || *b == '\t'))
      b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
      e--;
    if (b == e || *b == '#')
      continue;
    for (const char *c = b; c < e; c++)
      if (!name_char((unsigned char)*c, true) && !(*c == '/' && c > b && c[1] != '/')) {
        pt_diag_error(d, (pt_loc){file, line, (int)(c - bol) + 1, NULL},
                      "'%.*s' is not a partita name (letters, digits and _ . $ -)", (int)(e - b),
                      b);
        pt_import_names_free(*names, *lines, *n);
        *names = NULL;
        *lines = NULL;
        *n = 0;
        return false;
      }
    PT_GROW(*names, cap, (size_t)*n + 1);
    PT_GROW(*lines, lcap, (size_t)*n + 1);
    (*names)[*n] = pt_strndup(b, (size_t)(e - b));
    (*lines)[*n] = line;
    (*n)++;
  }
  return true;
}

void pt_import_names_free(char **names, int *lines, int n) {
  for (int i = 0; i < n; i++)
    pt_free(names[i]);
  pt_free(names);
  pt_free(lines);
}
