/* The partita IR: element types, shapes, values, operations, functions and
 * modules, plus the builder API the parser itself uses.
 *
 * Ownership: a module owns everything reachable from it (functions, ops,
 * values, attribute values, names) in its arena; pt_module_destroy frees it
 * all. Pointers returned by `get`/`find` functions are borrowed from the
 * module. Strings passed in are copied. */
#ifndef PT_IR_H
#define PT_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "mem.h"
#include "ops.h"

typedef enum { PT_OK = 0, PT_ERR = 1 } pt_status;

/* ---- types ---------------------------------------------------------- */

typedef enum { PT_F32, PT_I32, PT_PRED, PT_DTYPE_COUNT } pt_dtype;

#define PT_MAX_RANK 8

typedef struct {
  pt_dtype dtype;
  int rank;
  int64_t dims[PT_MAX_RANK];
} pt_type;

const char *pt_dtype_name(pt_dtype t); /* "f32", "i32", "pred" */
size_t pt_dtype_size(pt_dtype t);      /* 4, 4, 1 */
bool pt_dtype_parse(const char *s, size_t n, pt_dtype *out);
pt_type pt_type_make(pt_dtype dt, int rank, const int64_t *dims);
pt_type pt_type_scalar(pt_dtype dt);
bool pt_type_equal(const pt_type *a, const pt_type *b);
bool pt_type_same_shape(const pt_type *a, const pt_type *b);
int64_t pt_type_numel(const pt_type *t);
size_t pt_type_bytes(const pt_type *t);
/* The most elements a type may have: the parser refuses larger types, and
 * every result type an op infers is checked against it (so numel and bytes
 * of any type in a module fit int64 with room to spare). */
#define PT_MAX_ELEMENTS (INT64_C(1) << 48)
/* Whether t has at most PT_MAX_ELEMENTS elements, computed without
 * overflow for any dims >= 1 (types built from unchecked numbers). */
bool pt_type_fits(const pt_type *t);
/* Writes e.g. "f32[64,1024]" into buf (always NUL-terminated); returns buf. */
char *pt_type_str(const pt_type *t, char *buf, size_t n);
#define PT_TYPE_STRLEN 160

/* ---- meshes --------------------------------------------------------- */

#define PT_MAX_AXES 8
/* The most devices a mesh may have (IR `mesh`, tactic scripts). */
#define PT_MAX_DEVICES (INT64_C(1) << 31)

/* Named mesh axes with sizes; devices are numbered row-major over them. */
typedef struct {
  int naxes;
  const char *names[PT_MAX_AXES]; /* in the module's arena */
  int64_t sizes[PT_MAX_AXES];
  pt_loc loc;
} pt_mesh;

/* Index of the axis called `name` (n bytes), or -1. */
int pt_mesh_axis(const pt_mesh *m, const char *name, size_t n);

/* ---- attributes ----------------------------------------------------- */

typedef enum { PT_AV_INT, PT_AV_FLOAT, PT_AV_IDENT, PT_AV_LIST } pt_avkind;

/* An attribute value: an integer, a number, an identifier, or a list of
 * values (lists nest: collective_permute's pairs are a list of lists). */
typedef struct pt_aval {
  pt_avkind kind;
  int64_t i;                   /* PT_AV_INT */
  double f;                    /* PT_AV_FLOAT */
  const char *s;               /* PT_AV_IDENT */
  const struct pt_aval *items; /* PT_AV_LIST */
  int n;                       /* PT_AV_LIST */
} pt_aval;

typedef struct {
  pt_attrkey key;
  pt_aval val;
  pt_loc loc;
} pt_attr;

const char *pt_attr_name(pt_attrkey k);
/* Looks up an attribute name (n bytes); returns false if unknown. */
bool pt_attr_lookup(const char *s, size_t n, pt_attrkey *out);

/* ---- values, ops, functions, modules -------------------------------- */

typedef enum { PT_ROLE_INPUT, PT_ROLE_PARAM, PT_ROLE_STATE, PT_ROLE_COUNT } pt_role;
const char *pt_role_name(pt_role r); /* "input", "param", "state" */

typedef struct pt_module pt_module;
typedef struct pt_func pt_func;
typedef struct pt_op pt_op;
typedef struct pt_value pt_value;

struct pt_value {
  const char *name; /* without '%'; NULL: unnamed, numbered by the printer */
  pt_type type;
  pt_op *def;    /* defining op, NULL for a function argument */
  int arg_index; /* position among the arguments, or -1 */
  pt_role role;  /* arguments only */
  int id;        /* dense index within its function: 0..nvalues-1 */
  pt_loc loc;
  struct pt_sharding *sharding; /* ir/sharding.h; NULL: nothing decided */
  pt_func *func;                /* the function it belongs to */
};

struct pt_op {
  pt_opcode code;
  pt_loc loc;
  pt_value **operands;
  int noperands;
  pt_attr *attrs;
  int nattrs;
  pt_value *result;
  const char *comment; /* full-line comments before the op, or NULL */
  pt_func *func;
  /* `call` only (every other op has exactly one result, `result`): the
   * callee's name without '@', and all results (result == results[0]). */
  const char *callee;
  pt_value **results;
  int nresults;
};

/* The number of results of op and its i-th (calls may have several). */
static inline int pt_op_nresults(const pt_op *op) { return op->results ? op->nresults : 1; }
static inline pt_value *pt_op_result(const pt_op *op, int i) {
  return op->results ? op->results[i] : op->result;
}

typedef struct {
  const char *name; /* user-visible result name */
  pt_type type;     /* declared in the signature */
  pt_value *value;  /* the value returned; NULL until set */
  pt_loc loc;       /* of the name in the signature */
  pt_loc ret_loc;   /* of the operand in `return` */
} pt_result;

struct pt_func {
  pt_module *module;
  const char *name;
  pt_loc loc;
  const char *comment;
  pt_value **args;
  int nargs, capargs;
  pt_op **ops;
  int nops, capops;
  pt_result *results;
  int nresults, capresults;
  pt_loc ret_loc;
  int nvalues; /* ids handed out so far */
};

struct pt_module {
  pt_arena *arena;
  const char *file; /* name used in locations; may be "<input>" */
  pt_mesh mesh;     /* naxes == 0: no mesh declared */
  pt_func **funcs;
  int nfuncs, capfuncs;
  const char *comment; /* comments before the first declaration */
};

pt_module *pt_module_create(const char *file);
void pt_module_destroy(pt_module *m);
pt_func *pt_module_find_func(const pt_module *m, const char *name);
/* Adds a mesh axis; false if the name is taken or the mesh is full. */
bool pt_module_add_axis(pt_module *m, const char *name, int64_t size);

pt_func *pt_func_create(pt_module *m, const char *name, pt_loc loc);
pt_value *pt_func_add_arg(pt_func *f, const char *name, pt_role role, pt_type t, pt_loc loc);
pt_value *pt_func_find_arg(const pt_func *f, const char *name);
/* Declares a result; `v` may be NULL and set later with pt_func_set_result. */
pt_result *pt_func_add_result(pt_func *f, const char *name, pt_type t, pt_value *v, pt_loc loc);
int pt_func_find_result(const pt_func *f, const char *name);
/* Whether argument i and result i of f are a training step's carried pair:
 * the argument a param or state named and typed like the result, which a
 * loop feeds back into it (the executor's donation, the lowering's carried
 * blocks). */
bool pt_func_carries(const pt_func *f, int i);

/* Creates an op at the end of f's body with the given operands. Attributes
 * are set with pt_op_set_*; then pt_op_finish gives it its result. */
pt_op *pt_op_create(pt_func *f, pt_opcode code, pt_value *const *operands, int n, pt_loc loc);
/* Gives `op` its result value. With `declared` non-NULL the result has that
 * type as written (the verifier checks it later: this is the parser's path).
 * With `declared` NULL the type is inferred from the shape rule; on failure
 * the error is reported to d, the op is removed and NULL is returned.
 * `name` may be NULL. */
pt_value *pt_op_finish(pt_op *op, const char *name, const pt_type *declared, pt_diag *d);

/* A call of `callee` (the name is copied): pt_op_create with PT_OP_CALL,
 * then this gives it its n results with the declared types and names
 * (names[i] may be NULL; names may be NULL). The verifier checks them
 * against the callee's signature. */
void pt_op_finish_call(pt_op *op, const char *callee, const char *const *names,
                       const pt_type *types, int n);

void pt_op_set_attr(pt_op *op, pt_attrkey k, const pt_aval *v, pt_loc loc);
void pt_op_set_int(pt_op *op, pt_attrkey k, int64_t v);
void pt_op_set_float(pt_op *op, pt_attrkey k, double v);
void pt_op_set_ident(pt_op *op, pt_attrkey k, const char *s);
void pt_op_set_ints(pt_op *op, pt_attrkey k, const int64_t *v, int n);
void pt_op_set_floats(pt_op *op, pt_attrkey k, const double *v, int64_t n);
void pt_op_set_idents(pt_op *op, pt_attrkey k, const char *const *v, int n);

/* Attribute access (valid after verification; defaults applied). */
const pt_attr *pt_op_attr(const pt_op *op, pt_attrkey k);
/* Integer-list attribute into out[0..max); returns its length, or -1 when
 * absent (no default). */
int pt_op_ints(const pt_op *op, pt_attrkey k, int64_t *out, int max);
int64_t pt_op_int(const pt_op *op, pt_attrkey k, int64_t dflt);
const char *pt_op_ident(const pt_op *op, pt_attrkey k);

/* Deep-copies an attribute value into m's arena. */
pt_aval pt_aval_copy(pt_module *m, const pt_aval *v);

/* ---- op table ------------------------------------------------------- */

typedef enum {
  PT_CMP_LT,
  PT_CMP_LE,
  PT_CMP_GT,
  PT_CMP_GE,
  PT_CMP_EQ,
  PT_CMP_NE,
  PT_CMP_COUNT
} pt_cmpdir;
const char *pt_cmpdir_name(pt_cmpdir d);
bool pt_cmpdir_parse(const char *s, pt_cmpdir *out);
pt_cmpdir pt_op_cmpdir(const pt_op *op); /* compare's dir */

/* Attribute requirements of one op. */
typedef enum { PT_AS_NONE = 0, PT_AS_OPTIONAL, PT_AS_REQUIRED } pt_attr_need;

typedef struct {
  const char *name;
  int arity; /* -1: variadic, at least one */
  pt_opclass cls;
  unsigned flags;
} pt_opinfo;

extern const pt_opinfo pt_optab[PT_OP_COUNT];
const char *pt_op_name(pt_opcode c);
bool pt_op_lookup(const char *s, size_t n, pt_opcode *out);
/* Whether op class `cls` takes attribute k, and if it must. */
pt_attr_need pt_op_attr_need(pt_opcode c, pt_attrkey k);
/* The attribute keys op c takes, in printing order, into out (at least
 * PT_ATTR_COUNT long); returns how many. */
int pt_op_attr_order(pt_opcode c, pt_attrkey *out);

/* The shape rule: checks op's operands and attributes and computes its
 * result type. For ops whose result type cannot be derived from operands
 * (constant, iota, convert, broadcast, reshape, scatter_add), `hint` is the
 * declared result type and is validated (it must be non-NULL for them).
 * `m` supplies the mesh for collectives. Reports located errors to d. */
pt_status pt_op_infer(const pt_op *op, const pt_type *hint, pt_type *out, pt_diag *d);

/* ---- passes over the whole module ----------------------------------- */

/* Checks everything the IR promises (see docs/ir.md, "Verification").
 * Reports every error it finds to d. */
pt_status pt_verify_module(const pt_module *m, pt_diag *d);
pt_status pt_verify_func(const pt_func *f, pt_diag *d);

/* Parses a module from text; `file` names it in locations. The source is
 * registered with d so messages show the line. NULL on error. */
pt_module *pt_parse(const char *text, size_t len, const char *file, pt_diag *d);
/* The whole contents of a file, NUL-terminated (pt_free it), its length in
 * *len; an unopenable or unreadable file is reported to d as
 * `path: error: cannot open/read: ...` and gives NULL. */
char *pt_read_file(const char *path, size_t *len, pt_diag *d);
/* Writes text to path through a temporary file in the same directory,
 * fsync'd and renamed over it, so that a reader sees the old file or the
 * new one, never a part; "path: error: cannot write: ..." to d and false on
 * failure (the old file, if any, is left as it was). */
bool pt_write_file_atomic(const char *path, const char *text, pt_diag *d);
/* The CPU's model name from /proc/cpuinfo ("unknown" if there is none), for
 * the conditions benchmarks and calibrate print. */
void pt_cpu_model(char *buf, size_t cap);

/* Reads and parses a file; reports unreadable files to d. */
pt_module *pt_parse_file(const char *path, pt_diag *d);

/* Prints the module in the text format; the parser reads back exactly it. */
void pt_print_module(const pt_module *m, FILE *out);
void pt_print_func(const pt_func *f, FILE *out);
/* Prints into a malloc'd string (caller frees with pt_free). */
char *pt_print_module_str(const pt_module *m);
/* Every value's name as the printer writes it (per value id): its own name,
 * or for an unnamed value the smallest number no named value uses, in
 * order. Free with pt_value_names_free. */
char **pt_value_names(const pt_func *f);
void pt_value_names_free(const pt_func *f, char **names);

/* Formats a double so that strtod gives it back exactly, shortest first. */
void pt_fmt_double(double v, char *buf, size_t n);

#endif
