/* The op table and each op's shape rule: operand counts and types,
 * attributes and their ranges, and the result type. The verifier and the
 * builder both go through pt_op_infer, so a program built by a pass is held
 * to exactly the rules a parsed one is. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "ir.h"

const pt_opinfo pt_optab[PT_OP_COUNT] = {
#define X(e, name, arity, cls, flags) {name, arity, cls, flags},
    PT_OPS(X)
#undef X
};
static_assert(sizeof pt_optab / sizeof pt_optab[0] == PT_OP_COUNT,
              "op table incomplete");

static const char *const attr_names[PT_ATTR_COUNT] = {
#define X(e, name) name,
    PT_ATTRS(X)
#undef X
};

const char *pt_op_name(pt_opcode c) { return pt_optab[c].name; }
const char *pt_attr_name(pt_attrkey k) { return attr_names[k]; }

bool pt_op_lookup(const char *s, size_t n, pt_opcode *out) {
  for (int i = 0; i < PT_OP_COUNT; i++)
    if (strlen(pt_optab[i].name) == n && memcmp(pt_optab[i].name, s, n) == 0) {
      *out = (pt_opcode)i;
      return true;
    }
  return false;
}

bool pt_attr_lookup(const char *s, size_t n, pt_attrkey *out) {
  for (int i = 0; i < PT_ATTR_COUNT; i++)
    if (strlen(attr_names[i]) == n && memcmp(attr_names[i], s, n) == 0) {
      *out = (pt_attrkey)i;
      return true;
    }
  return false;
}

/* ---- attribute schemas ---------------------------------------------- */

typedef enum {
  AK_INT,    /* an integer */
  AK_INTS,   /* a list of integers */
  AK_IDENT,  /* an identifier */
  AK_IDENTS, /* a non-empty list of identifiers */
  AK_NUMS,   /* a number, or a list of numbers */
  AK_PAIRS,  /* a list of two-integer lists */
} attr_kind;

typedef struct {
  pt_attrkey key;
  pt_attr_need need;
  attr_kind kind;
} attr_spec;

#define R PT_AS_REQUIRED
#define O PT_AS_OPTIONAL
static const attr_spec no_attrs[] = {{0, PT_AS_NONE, 0}};
static const attr_spec compare_attrs[] = {{PT_A_DIR, R, AK_IDENT}, {0, PT_AS_NONE, 0}};
static const attr_spec constant_attrs[] = {{PT_A_VALUE, R, AK_NUMS}, {0, PT_AS_NONE, 0}};
static const attr_spec dim_attrs[] = {{PT_A_DIM, R, AK_INT}, {0, PT_AS_NONE, 0}};
static const attr_spec dims_attrs[] = {{PT_A_DIMS, R, AK_INTS}, {0, PT_AS_NONE, 0}};
static const attr_spec perm_attrs[] = {{PT_A_PERM, R, AK_INTS}, {0, PT_AS_NONE, 0}};
static const attr_spec slice_attrs[] = {{PT_A_START, R, AK_INTS},
                                        {PT_A_LIMIT, R, AK_INTS},
                                        {PT_A_STRIDE, O, AK_INTS},
                                        {0, PT_AS_NONE, 0}};
static const attr_spec pad_attrs[] = {{PT_A_LOW, R, AK_INTS},
                                      {PT_A_HIGH, R, AK_INTS},
                                      {PT_A_INTERIOR, O, AK_INTS},
                                      {0, PT_AS_NONE, 0}};
static const attr_spec dot_attrs[] = {{PT_A_LHS_BATCH, O, AK_INTS},
                                      {PT_A_RHS_BATCH, O, AK_INTS},
                                      {PT_A_LHS_CONTRACT, R, AK_INTS},
                                      {PT_A_RHS_CONTRACT, R, AK_INTS},
                                      {0, PT_AS_NONE, 0}};
static const attr_spec scan_attrs[] = {{PT_A_DIM, R, AK_INT},
                                       {PT_A_REVERSE, O, AK_INT},
                                       {0, PT_AS_NONE, 0}};
static const attr_spec gather_attrs[] = {{PT_A_DIM, R, AK_INT},
                                         {PT_A_AXES, R, AK_IDENTS},
                                         {0, PT_AS_NONE, 0}};
static const attr_spec all_reduce_attrs[] = {{PT_A_REDUCE, R, AK_IDENT},
                                             {PT_A_AXES, R, AK_IDENTS},
                                             {0, PT_AS_NONE, 0}};
static const attr_spec all_to_all_attrs[] = {{PT_A_SPLIT_DIM, R, AK_INT},
                                             {PT_A_CONCAT_DIM, R, AK_INT},
                                             {PT_A_AXES, R, AK_IDENTS},
                                             {0, PT_AS_NONE, 0}};
static const attr_spec permute_attrs[] = {{PT_A_AXES, R, AK_IDENTS},
                                          {PT_A_PAIRS, R, AK_PAIRS},
                                          {0, PT_AS_NONE, 0}};
#undef R
#undef O

/* The attributes of each class, in the order the printer writes them. */
static const attr_spec *class_attrs(pt_opclass c) {
  switch (c) {
  case PT_CLS_UNARY:
  case PT_CLS_BINARY:
  case PT_CLS_SELECT:
  case PT_CLS_CONVERT:
  case PT_CLS_RESHAPE:
  case PT_CLS_TAKE:
  case PT_CLS_SCATTER_ADD:
  case PT_CLS_CALL:
    return no_attrs;
  case PT_CLS_COMPARE:
    return compare_attrs;
  case PT_CLS_CONSTANT:
    return constant_attrs;
  case PT_CLS_IOTA:
  case PT_CLS_CONCAT:
    return dim_attrs;
  case PT_CLS_BROADCAST:
  case PT_CLS_REDUCE:
    return dims_attrs;
  case PT_CLS_TRANSPOSE:
    return perm_attrs;
  case PT_CLS_SLICE:
    return slice_attrs;
  case PT_CLS_PAD:
    return pad_attrs;
  case PT_CLS_DOT:
    return dot_attrs;
  case PT_CLS_SCAN:
    return scan_attrs;
  case PT_CLS_ALL_GATHER:
  case PT_CLS_REDUCE_SCATTER:
  case PT_CLS_AXIS_SLICE:
    return gather_attrs;
  case PT_CLS_ALL_REDUCE:
    return all_reduce_attrs;
  case PT_CLS_ALL_TO_ALL:
    return all_to_all_attrs;
  case PT_CLS_PERMUTE:
    return permute_attrs;
  case PT_CLS_COUNT:
    break;
  }
  PT_UNREACHABLE();
}

pt_attr_need pt_op_attr_need(pt_opcode c, pt_attrkey k) {
  for (const attr_spec *s = class_attrs(pt_optab[c].cls); s->need; s++)
    if (s->key == k)
      return s->need;
  return PT_AS_NONE;
}

/* Attribute keys of op c in printing order; returns the count. */
int pt_op_attr_order(pt_opcode c, pt_attrkey *out) {
  int n = 0;
  for (const attr_spec *s = class_attrs(pt_optab[c].cls); s->need; s++)
    out[n++] = s->key;
  return n;
}

/* ---- shape rules ---------------------------------------------------- */

static pt_status fail(pt_diag *d, pt_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static pt_status fail(pt_diag *d, pt_loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pt_diag_verror(d, loc, fmt, ap);
  va_end(ap);
  return PT_ERR;
}

static const char *kind_desc(attr_kind k) {
  switch (k) {
  case AK_INT:
    return "an integer";
  case AK_INTS:
    return "a list of integers";
  case AK_IDENT:
    return "a name";
  case AK_IDENTS:
    return "a non-empty list of mesh axis names";
  case AK_NUMS:
    return "a number or a list of numbers";
  case AK_PAIRS:
    return "a list of [source, destination] pairs";
  }
  return "?";
}

static bool is_num(const pt_aval *v) {
  return v->kind == PT_AV_INT || v->kind == PT_AV_FLOAT;
}

static bool kind_ok(attr_kind k, const pt_aval *v) {
  switch (k) {
  case AK_INT:
    return v->kind == PT_AV_INT;
  case AK_IDENT:
    return v->kind == PT_AV_IDENT;
  case AK_INTS:
  case AK_IDENTS:
  case AK_PAIRS:
    if (v->kind != PT_AV_LIST)
      return false;
    if (k == AK_IDENTS && v->n == 0)
      return false;
    for (int i = 0; i < v->n; i++) {
      const pt_aval *e = &v->items[i];
      if (k == AK_INTS && e->kind != PT_AV_INT)
        return false;
      if (k == AK_IDENTS && e->kind != PT_AV_IDENT)
        return false;
      if (k == AK_PAIRS &&
          (e->kind != PT_AV_LIST || e->n != 2 || e->items[0].kind != PT_AV_INT ||
           e->items[1].kind != PT_AV_INT))
        return false;
    }
    return true;
  case AK_NUMS:
    if (is_num(v))
      return true;
    if (v->kind != PT_AV_LIST)
      return false;
    for (int i = 0; i < v->n; i++)
      if (!is_num(&v->items[i]))
        return false;
    return true;
  }
  return false;
}

static pt_status check_attrs(const pt_op *op, pt_diag *d) {
  const char *opn = pt_op_name(op->code);
  const attr_spec *spec = class_attrs(pt_optab[op->code].cls);
  pt_status st = PT_OK;
  for (int i = 0; i < op->nattrs; i++) {
    const pt_attr *a = &op->attrs[i];
    const attr_spec *s = spec;
    while (s->need && s->key != a->key)
      s++;
    if (!s->need) {
      st = fail(d, a->loc, "'%s' takes no attribute '%s'", opn,
                pt_attr_name(a->key));
      continue;
    }
    if (!kind_ok(s->kind, &a->val))
      st = fail(d, a->loc, "attribute '%s' of '%s' must be %s", pt_attr_name(a->key),
                opn, kind_desc(s->kind));
  }
  for (const attr_spec *s = spec; s->need; s++)
    if (s->need == PT_AS_REQUIRED && !pt_op_attr(op, s->key))
      st = fail(d, op->loc, "'%s' needs the attribute '%s'", opn,
                pt_attr_name(s->key));
  return st;
}

static pt_loc attr_loc(const pt_op *op, pt_attrkey k) {
  const pt_attr *a = pt_op_attr(op, k);
  return a ? a->loc : op->loc;
}

/* An integer list attribute whose entries are distinct dims of a rank-`rank`
 * value; `want` >= 0 also fixes its length. */
static pt_status dim_list(const pt_op *op, pt_attrkey k, int rank, int want,
                          int64_t *out, int *n, pt_diag *d) {
  const char *opn = pt_op_name(op->code);
  int len = pt_op_ints(op, k, out, PT_MAX_RANK);
  if (len < 0) {
    *n = 0;
    return PT_OK; /* optional and absent */
  }
  if (want >= 0 && len != want)
    return fail(d, attr_loc(op, k), "'%s' of '%s' has %d entries but needs %d",
                pt_attr_name(k), opn, len, want);
  if (len > PT_MAX_RANK)
    return fail(d, attr_loc(op, k), "'%s' of '%s' has too many entries (%d)",
                pt_attr_name(k), opn, len);
  bool seen[PT_MAX_RANK] = {0};
  for (int i = 0; i < len; i++) {
    if (out[i] < 0 || out[i] >= rank)
      return fail(d, attr_loc(op, k),
                  "'%s' of '%s' names dimension %lld, outside 0..%d",
                  pt_attr_name(k), opn, (long long)out[i], rank - 1);
    if (seen[out[i]])
      return fail(d, attr_loc(op, k), "'%s' of '%s' names dimension %lld twice",
                  pt_attr_name(k), opn, (long long)out[i]);
    seen[out[i]] = true;
  }
  *n = len;
  return PT_OK;
}

/* An integer list attribute of length `rank` with entries >= lo. */
static pt_status int_list(const pt_op *op, pt_attrkey k, int rank, int64_t lo,
                          int64_t dflt, int64_t *out, pt_diag *d) {
  const char *opn = pt_op_name(op->code);
  int64_t tmp[PT_MAX_RANK + 1];
  int len = pt_op_ints(op, k, tmp, PT_MAX_RANK + 1);
  if (len < 0) {
    for (int i = 0; i < rank; i++)
      out[i] = dflt;
    return PT_OK;
  }
  if (len != rank)
    return fail(d, attr_loc(op, k), "'%s' of '%s' has %d entries but the operand has rank %d",
                pt_attr_name(k), opn, len, rank);
  for (int i = 0; i < len; i++) {
    if (tmp[i] < lo)
      return fail(d, attr_loc(op, k), "'%s' of '%s' has %lld at position %d; it must be >= %lld",
                  pt_attr_name(k), opn, (long long)tmp[i], i, (long long)lo);
    out[i] = tmp[i];
  }
  return PT_OK;
}

static pt_status one_dim(const pt_op *op, pt_attrkey k, int rank, int64_t *out,
                         pt_diag *d) {
  int64_t v = pt_op_int(op, k, -1);
  if (v < 0 || v >= rank)
    return fail(d, attr_loc(op, k), "'%s' of '%s' is %lld, outside 0..%d",
                pt_attr_name(k), pt_op_name(op->code), (long long)v, rank - 1);
  *out = v;
  return PT_OK;
}

static const char *ts(const pt_type *t, char *buf) {
  return pt_type_str(t, buf, PT_TYPE_STRLEN);
}

static pt_status need_dtype(const pt_op *op, int i, unsigned mask, pt_diag *d) {
  pt_dtype dt = op->operands[i]->type.dtype;
  if (mask & (1u << dt))
    return PT_OK;
  char buf[64] = "";
  for (int k = 0; k < PT_DTYPE_COUNT; k++)
    if (mask & (1u << k)) {
      if (buf[0])
        strcat(buf, " or ");
      strcat(buf, pt_dtype_name((pt_dtype)k));
    }
  return fail(d, op->loc, "operand %d of '%s' is %s but must be %s", i + 1,
              pt_op_name(op->code), pt_dtype_name(dt), buf);
}

#define F32 (1u << PT_F32)
#define I32 (1u << PT_I32)
#define PRED (1u << PT_PRED)

static pt_status need_hint(const pt_op *op, const pt_type *hint, pt_diag *d) {
  if (hint)
    return PT_OK;
  return fail(d, op->loc, "'%s' needs its result type written out",
              pt_op_name(op->code));
}

/* Mesh axes of a collective: distinct axes of the module's mesh; *g gets
 * the group size. */
static pt_status mesh_axes(const pt_op *op, int64_t *g, pt_diag *d) {
  const pt_mesh *mesh = &op->func->module->mesh;
  const pt_attr *a = pt_op_attr(op, PT_A_AXES);
  if (mesh->naxes == 0)
    return fail(d, op->loc, "'%s' needs a mesh: declare one with `mesh {axis = size, ...}`",
                pt_op_name(op->code));
  bool seen[PT_MAX_AXES] = {0};
  *g = 1;
  for (int i = 0; i < a->val.n; i++) {
    const char *s = a->val.items[i].s;
    int ax = pt_mesh_axis(mesh, s, strlen(s));
    if (ax < 0)
      return fail(d, a->loc, "'%s' names mesh axis '%s', which the mesh does not have",
                  pt_op_name(op->code), s);
    if (seen[ax])
      return fail(d, a->loc, "'%s' names mesh axis '%s' twice", pt_op_name(op->code), s);
    seen[ax] = true;
    *g *= mesh->sizes[ax];
  }
  return PT_OK;
}

static pt_status check_constant(const pt_op *op, const pt_type *t, pt_diag *d) {
  const pt_attr *a = pt_op_attr(op, PT_A_VALUE);
  const pt_aval *items = &a->val;
  int64_t n = 1;
  if (a->val.kind == PT_AV_LIST) {
    items = a->val.items;
    n = a->val.n;
    if (n != pt_type_numel(t)) {
      char b[PT_TYPE_STRLEN];
      return fail(d, a->loc, "constant has %lld values but %s has %lld elements",
                  (long long)n, ts(t, b), (long long)pt_type_numel(t));
    }
  }
  for (int64_t i = 0; i < n; i++) {
    const pt_aval *v = &items[i];
    double x = v->kind == PT_AV_INT ? (double)v->i : v->f;
    if (t->dtype == PT_I32 &&
        (v->kind != PT_AV_INT || v->i < INT32_MIN || v->i > INT32_MAX))
      return fail(d, a->loc, "constant value %s is not a 32-bit integer",
                  v->kind == PT_AV_INT ? "out of range" : "with a fraction");
    if (t->dtype == PT_PRED && !(v->kind == PT_AV_INT && (v->i == 0 || v->i == 1)))
      return fail(d, a->loc, "pred constant values must be 0 or 1");
    (void)x;
  }
  return PT_OK;
}

/* A call against its callee's signature: the callee exists, operands match
 * its arguments in number, type and role (a param or state argument takes
 * the caller's own argument of that role, so that tactics still see it by
 * name), and the declared results match its results. */
static pt_status infer_call(const pt_op *op, pt_type *out, pt_diag *d) {
  char b1[PT_TYPE_STRLEN], b2[PT_TYPE_STRLEN];
  const pt_module *m = op->func->module;
  const pt_func *callee = op->callee ? pt_module_find_func(m, op->callee) : NULL;
  if (!callee) {
    const char *best = NULL;
    int bestd = 3;
    for (int i = 0; op->callee && i < m->nfuncs; i++) {
      int dist = pt_edit_distance(op->callee, m->funcs[i]->name);
      if (dist < bestd) {
        bestd = dist;
        best = m->funcs[i]->name;
      }
    }
    if (best)
      return fail(d, op->loc, "call of unknown function '@%s' (did you mean '@%s'?)",
                  op->callee ? op->callee : "", best);
    return fail(d, op->loc, "call of unknown function '@%s'", op->callee ? op->callee : "");
  }
  if (op->noperands != callee->nargs)
    return fail(d, op->loc, "'@%s' takes %d argument%s but the call passes %d", callee->name,
                callee->nargs, callee->nargs == 1 ? "" : "s", op->noperands);
  for (int i = 0; i < op->noperands; i++) {
    const pt_value *a = callee->args[i], *v = op->operands[i];
    if (!pt_type_equal(&a->type, &v->type))
      return fail(d, op->loc, "argument %d of '@%s' (%%%s) is %s but the call passes %s", i + 1,
                  callee->name, a->name, ts(&a->type, b1), ts(&v->type, b2));
    if (a->role != PT_ROLE_INPUT && (v->def || v->role != a->role))
      return fail(d, op->loc,
                  "argument %d of '@%s' (%%%s) is a %s: the call must pass a %s argument of "
                  "'@%s', not %s",
                  i + 1, callee->name, a->name, pt_role_name(a->role), pt_role_name(a->role),
                  op->func->name,
                  v->def ? "a computed value" : v->role == PT_ROLE_INPUT ? "an input" : "a state");
  }
  int nres = pt_op_nresults(op);
  if (nres != callee->nresults)
    return fail(d, op->loc, "'@%s' has %d result%s but the call names %d", callee->name,
                callee->nresults, callee->nresults == 1 ? "" : "s", nres);
  for (int i = 0; i < nres; i++) {
    const pt_value *r = pt_op_result(op, i);
    if (r && !pt_type_equal(&r->type, &callee->results[i].type))
      return fail(d, r->loc, "result %d of '@%s' (%s) is %s but the call declares %s", i + 1,
                  callee->name, callee->results[i].name, ts(&callee->results[i].type, b1),
                  ts(&r->type, b2));
  }
  *out = callee->results[0].type;
  return PT_OK;
}

/* Dimension arithmetic on sizes the program chose (pad's widths, concat's
 * operands, a group of devices): sets *big instead of overflowing, and the
 * result type is then refused as too large. */
static int64_t dim_add(int64_t a, int64_t b, bool *big) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) {
    *big = true;
    return 1;
  }
  return r;
}

static int64_t dim_mul(int64_t a, int64_t b, bool *big) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) {
    *big = true;
    return 1;
  }
  return r;
}

pt_status pt_op_infer(const pt_op *op, const pt_type *hint, pt_type *out,
                      pt_diag *d) {
  const pt_opinfo *info = &pt_optab[op->code];
  if (info->cls == PT_CLS_CALL)
    return infer_call(op, out, d);
  const char *opn = info->name;
  char b1[PT_TYPE_STRLEN], b2[PT_TYPE_STRLEN];
  if (info->arity >= 0 && op->noperands != info->arity)
    return fail(d, op->loc, "'%s' takes %d operand%s but has %d", opn, info->arity,
                info->arity == 1 ? "" : "s", op->noperands);
  if (info->arity < 0 && op->noperands < 1)
    return fail(d, op->loc, "'%s' takes at least one operand", opn);
  if (check_attrs(op, d) != PT_OK)
    return PT_ERR;
  const pt_type *a = op->noperands > 0 ? &op->operands[0]->type : NULL;
  const pt_type *b = op->noperands > 1 ? &op->operands[1]->type : NULL;
  pt_type r;
  memset(&r, 0, sizeof r);
  bool big = false; /* a dimension left int64 */

  switch (info->cls) {
  case PT_CLS_UNARY: {
    unsigned mask =
        (op->code == PT_OP_NEG || op->code == PT_OP_ABS || op->code == PT_OP_STOP_GRADIENT)
            ? F32 | I32
            : F32;
    if (need_dtype(op, 0, mask, d))
      return PT_ERR;
    r = *a;
    break;
  }
  case PT_CLS_BINARY:
  case PT_CLS_COMPARE:
    if (!pt_type_equal(a, b))
      return fail(d, op->loc, "operands of '%s' differ: %s and %s", opn, ts(a, b1),
                  ts(b, b2));
    if (info->cls == PT_CLS_BINARY) {
      if (need_dtype(op, 0, op->code == PT_OP_POW ? F32 : F32 | I32, d))
        return PT_ERR;
      r = *a;
    } else {
      pt_cmpdir dir;
      if (!pt_cmpdir_parse(pt_op_ident(op, PT_A_DIR), &dir))
        return fail(d, attr_loc(op, PT_A_DIR),
                    "'dir' of 'compare' is '%s'; it must be lt, le, gt, ge, eq or ne",
                    pt_op_ident(op, PT_A_DIR));
      r = *a;
      r.dtype = PT_PRED;
    }
    break;
  case PT_CLS_SELECT: {
    const pt_type *c = &op->operands[2]->type;
    if (need_dtype(op, 0, PRED, d))
      return PT_ERR;
    if (!pt_type_equal(b, c))
      return fail(d, op->loc, "the two choices of 'select' differ: %s and %s", ts(b, b1),
                  ts(c, b2));
    if (!pt_type_same_shape(a, b))
      return fail(d, op->loc, "the predicate of 'select' is %s but the choices are %s",
                  ts(a, b1), ts(b, b2));
    r = *b;
    break;
  }
  case PT_CLS_CONVERT:
    if (need_hint(op, hint, d))
      return PT_ERR;
    if (!pt_type_same_shape(a, hint))
      return fail(d, op->loc, "'convert' cannot change the shape: %s to %s", ts(a, b1),
                  ts(hint, b2));
    r = *hint;
    break;
  case PT_CLS_CONSTANT:
    if (need_hint(op, hint, d) || check_constant(op, hint, d))
      return PT_ERR;
    r = *hint;
    break;
  case PT_CLS_IOTA: {
    if (need_hint(op, hint, d))
      return PT_ERR;
    if (hint->dtype == PT_PRED)
      return fail(d, op->loc, "'iota' makes f32 or i32 values, not pred");
    int64_t dim;
    if (hint->rank == 0)
      return fail(d, op->loc, "'iota' needs a result of rank 1 or more");
    if (one_dim(op, PT_A_DIM, hint->rank, &dim, d))
      return PT_ERR;
    r = *hint;
    break;
  }
  case PT_CLS_BROADCAST: {
    if (need_hint(op, hint, d))
      return PT_ERR;
    int64_t dims[PT_MAX_RANK];
    int n;
    if (dim_list(op, PT_A_DIMS, hint->rank, a->rank, dims, &n, d))
      return PT_ERR;
    if (hint->dtype != a->dtype)
      return fail(d, op->loc, "'broadcast' cannot change the element type: %s to %s",
                  ts(a, b1), ts(hint, b2));
    for (int i = 0; i < n; i++) {
      if (i > 0 && dims[i] <= dims[i - 1])
        return fail(d, attr_loc(op, PT_A_DIMS), "'dims' of 'broadcast' must increase");
      if (a->dims[i] != 1 && a->dims[i] != hint->dims[dims[i]])
        return fail(d, op->loc,
                    "'broadcast' maps operand dimension %d (size %lld) to result "
                    "dimension %lld (size %lld); sizes must match or be 1",
                    i, (long long)a->dims[i], (long long)dims[i],
                    (long long)hint->dims[dims[i]]);
    }
    r = *hint;
    break;
  }
  case PT_CLS_RESHAPE:
    if (need_hint(op, hint, d))
      return PT_ERR;
    if (hint->dtype != a->dtype || pt_type_numel(hint) != pt_type_numel(a))
      return fail(d, op->loc, "'reshape' cannot turn %s into %s: %s", ts(a, b1),
                  ts(hint, b2),
                  hint->dtype != a->dtype ? "element types differ"
                                          : "element counts differ");
    r = *hint;
    break;
  case PT_CLS_TRANSPOSE: {
    int64_t perm[PT_MAX_RANK];
    int n;
    if (dim_list(op, PT_A_PERM, a->rank, a->rank, perm, &n, d))
      return PT_ERR;
    r = *a;
    for (int i = 0; i < n; i++)
      r.dims[i] = a->dims[perm[i]];
    break;
  }
  case PT_CLS_SLICE: {
    int64_t st[PT_MAX_RANK], lim[PT_MAX_RANK], str[PT_MAX_RANK];
    if (int_list(op, PT_A_START, a->rank, 0, 0, st, d) ||
        int_list(op, PT_A_LIMIT, a->rank, 0, 0, lim, d) ||
        int_list(op, PT_A_STRIDE, a->rank, 1, 1, str, d))
      return PT_ERR;
    r = *a;
    for (int i = 0; i < a->rank; i++) {
      if (!(st[i] < lim[i] && lim[i] <= a->dims[i]))
        return fail(d, op->loc,
                    "'slice' of dimension %d (size %lld) needs 0 <= start < limit "
                    "<= size, but start = %lld and limit = %lld",
                    i, (long long)a->dims[i], (long long)st[i], (long long)lim[i]);
      r.dims[i] = (lim[i] - st[i] - 1) / str[i] + 1; /* str may be near INT64_MAX */
    }
    break;
  }
  case PT_CLS_CONCAT: {
    int64_t dim;
    if (a->rank == 0)
      return fail(d, op->loc, "'concat' needs operands of rank 1 or more");
    if (one_dim(op, PT_A_DIM, a->rank, &dim, d))
      return PT_ERR;
    r = *a;
    for (int i = 1; i < op->noperands; i++) {
      const pt_type *t = &op->operands[i]->type;
      bool ok = t->dtype == a->dtype && t->rank == a->rank;
      for (int k = 0; ok && k < a->rank; k++)
        ok = k == dim || t->dims[k] == a->dims[k];
      if (!ok)
        return fail(d, op->loc,
                    "operand %d of 'concat' is %s, which does not fit %s along dimension %lld",
                    i + 1, ts(t, b1), ts(a, b2), (long long)dim);
      r.dims[dim] = dim_add(r.dims[dim], t->dims[dim], &big);
    }
    break;
  }
  case PT_CLS_PAD: {
    int64_t lo[PT_MAX_RANK], hi[PT_MAX_RANK], in[PT_MAX_RANK];
    if (b->rank != 0 || b->dtype != a->dtype)
      return fail(d, op->loc, "the padding value of 'pad' must be a %s scalar, not %s",
                  pt_dtype_name(a->dtype), ts(b, b1));
    if (int_list(op, PT_A_LOW, a->rank, 0, 0, lo, d) ||
        int_list(op, PT_A_HIGH, a->rank, 0, 0, hi, d) ||
        int_list(op, PT_A_INTERIOR, a->rank, 0, 0, in, d))
      return PT_ERR;
    r = *a;
    for (int i = 0; i < a->rank; i++)
      r.dims[i] = dim_add(dim_add(lo[i], a->dims[i], &big),
                          dim_add(dim_mul(a->dims[i] - 1, in[i], &big), hi[i], &big), &big);
    break;
  }
  case PT_CLS_REDUCE: {
    int64_t dims[PT_MAX_RANK];
    int n;
    if (need_dtype(op, 0, F32 | I32, d) ||
        dim_list(op, PT_A_DIMS, a->rank, -1, dims, &n, d))
      return PT_ERR;
    bool red[PT_MAX_RANK] = {0};
    for (int i = 0; i < n; i++)
      red[dims[i]] = true;
    r.dtype = a->dtype;
    for (int i = 0; i < a->rank; i++)
      if (!red[i])
        r.dims[r.rank++] = a->dims[i];
    break;
  }
  case PT_CLS_DOT: {
    int64_t lb[PT_MAX_RANK], rb[PT_MAX_RANK], lc[PT_MAX_RANK], rc[PT_MAX_RANK];
    int nlb, nrb, nlc, nrc;
    if (a->dtype != b->dtype)
      return fail(d, op->loc, "operands of 'dot' differ in element type: %s and %s",
                  ts(a, b1), ts(b, b2));
    if (need_dtype(op, 0, F32 | I32, d) ||
        dim_list(op, PT_A_LHS_BATCH, a->rank, -1, lb, &nlb, d) ||
        dim_list(op, PT_A_RHS_BATCH, b->rank, nlb, rb, &nrb, d) ||
        dim_list(op, PT_A_LHS_CONTRACT, a->rank, -1, lc, &nlc, d) ||
        dim_list(op, PT_A_RHS_CONTRACT, b->rank, nlc, rc, &nrc, d))
      return PT_ERR;
    bool lused[PT_MAX_RANK] = {0}, rused[PT_MAX_RANK] = {0};
    for (int i = 0; i < nlb; i++) {
      if (a->dims[lb[i]] != b->dims[rb[i]])
        return fail(d, op->loc, "'dot' pairs batch dimensions %lld and %lld of sizes %lld and %lld",
                    (long long)lb[i], (long long)rb[i], (long long)a->dims[lb[i]],
                    (long long)b->dims[rb[i]]);
      lused[lb[i]] = rused[rb[i]] = true;
    }
    for (int i = 0; i < nlc; i++) {
      if (a->dims[lc[i]] != b->dims[rc[i]])
        return fail(d, op->loc,
                    "'dot' contracts dimension %lld of %s with dimension %lld of %s: sizes differ",
                    (long long)lc[i], ts(a, b1), (long long)rc[i], ts(b, b2));
      if (lused[lc[i]] || rused[rc[i]])
        return fail(d, op->loc, "'dot' uses a dimension as both batch and contracting");
      lused[lc[i]] = rused[rc[i]] = true;
    }
    r.dtype = a->dtype;
    for (int i = 0; i < nlb; i++)
      r.dims[r.rank++] = a->dims[lb[i]];
    for (int i = 0; i < a->rank; i++)
      if (!lused[i])
        r.dims[r.rank++] = a->dims[i];
    for (int i = 0; i < b->rank; i++)
      if (!rused[i]) {
        if (r.rank >= PT_MAX_RANK)
          return fail(d, op->loc, "'dot' result would have rank above %d", PT_MAX_RANK);
        r.dims[r.rank++] = b->dims[i];
      }
    break;
  }
  case PT_CLS_TAKE:
    if (a->rank < 1)
      return fail(d, op->loc, "the table of 'take' must have rank 1 or more");
    if (need_dtype(op, 1, I32, d))
      return PT_ERR;
    if (b->rank + a->rank - 1 > PT_MAX_RANK)
      return fail(d, op->loc, "'take' result would have rank above %d", PT_MAX_RANK);
    r.dtype = a->dtype;
    for (int i = 0; i < b->rank; i++)
      r.dims[r.rank++] = b->dims[i];
    for (int i = 1; i < a->rank; i++)
      r.dims[r.rank++] = a->dims[i];
    break;
  case PT_CLS_SCATTER_ADD: {
    if (need_hint(op, hint, d) || need_dtype(op, 0, I32, d) ||
        need_dtype(op, 1, F32 | I32, d))
      return PT_ERR;
    bool ok = hint->rank >= 1 && hint->dtype == b->dtype &&
              b->rank == a->rank + hint->rank - 1;
    for (int i = 0; ok && i < a->rank; i++)
      ok = b->dims[i] == a->dims[i];
    for (int i = 1; ok && i < hint->rank; i++)
      ok = b->dims[a->rank + i - 1] == hint->dims[i];
    if (!ok)
      return fail(d, op->loc,
                  "'scatter_add' of updates %s at indices %s cannot give %s: updates "
                  "must be indices' shape followed by the result's row shape",
                  ts(b, b1), ts(a, b2), ts(hint, (char[PT_TYPE_STRLEN]){0}));
    r = *hint;
    break;
  }
  case PT_CLS_CALL:
    PT_UNREACHABLE(); /* infer_call above */
  case PT_CLS_SCAN: {
    int64_t dim;
    if (need_dtype(op, 0, F32, d))
      return PT_ERR;
    if (!pt_type_equal(a, b))
      return fail(d, op->loc, "operands of 'scan' differ: %s and %s", ts(a, b1), ts(b, b2));
    if (a->rank == 0)
      return fail(d, op->loc, "'scan' needs operands of rank 1 or more");
    if (one_dim(op, PT_A_DIM, a->rank, &dim, d))
      return PT_ERR;
    int64_t rev = pt_op_int(op, PT_A_REVERSE, 0);
    if (rev != 0 && rev != 1)
      return fail(d, attr_loc(op, PT_A_REVERSE), "'reverse' of 'scan' must be 0 or 1");
    r = *a;
    break;
  }
  case PT_CLS_ALL_GATHER:
  case PT_CLS_REDUCE_SCATTER:
  case PT_CLS_AXIS_SLICE: {
    int64_t g, dim;
    if (mesh_axes(op, &g, d))
      return PT_ERR;
    if (a->rank == 0)
      return fail(d, op->loc, "'%s' needs an operand of rank 1 or more", opn);
    if (one_dim(op, PT_A_DIM, a->rank, &dim, d))
      return PT_ERR;
    r = *a;
    if (info->cls == PT_CLS_ALL_GATHER) {
      r.dims[dim] = dim_mul(r.dims[dim], g, &big);
    } else {
      if (info->cls == PT_CLS_REDUCE_SCATTER && need_dtype(op, 0, F32 | I32, d))
        return PT_ERR;
      if (a->dims[dim] % g)
        return fail(d, op->loc, "'%s' splits dimension %lld of size %lld into %lld blocks, "
                    "which does not divide it", opn, (long long)dim,
                    (long long)a->dims[dim], (long long)g);
      r.dims[dim] /= g;
    }
    break;
  }
  case PT_CLS_ALL_REDUCE: {
    int64_t g;
    if (mesh_axes(op, &g, d) || need_dtype(op, 0, F32 | I32, d))
      return PT_ERR;
    const char *red = pt_op_ident(op, PT_A_REDUCE);
    if (strcmp(red, "sum") != 0 && strcmp(red, "max") != 0)
      return fail(d, attr_loc(op, PT_A_REDUCE), "'reduce' of 'all_reduce' is '%s'; it must be sum or max", red);
    r = *a;
    break;
  }
  case PT_CLS_ALL_TO_ALL: {
    int64_t g, sd, cd;
    if (mesh_axes(op, &g, d))
      return PT_ERR;
    if (a->rank == 0)
      return fail(d, op->loc, "'all_to_all' needs an operand of rank 1 or more");
    if (one_dim(op, PT_A_SPLIT_DIM, a->rank, &sd, d) ||
        one_dim(op, PT_A_CONCAT_DIM, a->rank, &cd, d))
      return PT_ERR;
    if (a->dims[sd] % g)
      return fail(d, op->loc, "'all_to_all' splits dimension %lld of size %lld into %lld "
                  "blocks, which does not divide it", (long long)sd,
                  (long long)a->dims[sd], (long long)g);
    r = *a;
    r.dims[sd] /= g;
    r.dims[cd] = dim_mul(r.dims[cd], g, &big);
    break;
  }
  case PT_CLS_PERMUTE: {
    int64_t g;
    if (mesh_axes(op, &g, d))
      return PT_ERR;
    const pt_attr *pa = pt_op_attr(op, PT_A_PAIRS);
    uint64_t src = 0, dst = 0;
    for (int i = 0; i < pa->val.n; i++) {
      int64_t s = pa->val.items[i].items[0].i, t = pa->val.items[i].items[1].i;
      if (s < 0 || s >= g || t < 0 || t >= g)
        return fail(d, pa->loc, "pair [%lld, %lld] of 'collective_permute' is outside "
                    "the group of %lld devices", (long long)s, (long long)t, (long long)g);
      if (g <= 64) {
        if ((src >> s) & 1 || (dst >> t) & 1)
          return fail(d, pa->loc, "'collective_permute' uses device %lld twice as a %s",
                      (long long)((src >> s) & 1 ? s : t), (src >> s) & 1 ? "source" : "destination");
        src |= 1ull << s;
        dst |= 1ull << t;
      }
    }
    r = *a;
    break;
  }
  case PT_CLS_COUNT:
    PT_UNREACHABLE();
  }
  if (big || !pt_type_fits(&r))
    return fail(d, op->loc, "the result of '%s' would have more than 2^48 elements", opn);
  for (int i = 0; i < r.rank; i++)
    PT_ASSERT(r.dims[i] >= 1);
  *out = r;
  return PT_OK;
}
