/* Bad input: every malformed program gets exactly one clear, located message
 * and no crash. Table-driven: each case names itself, gives the program,
 * the phrase its message must contain, and the line and column it must
 * point at. */
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "interp.h"
#include "testutil.h"
#include "vmesh.h"

/* Most cases are a few ops inside this function; `body` starts at line 2. */
#define HEADER                                                                  \
  "func @f(input %x: f32[2], input %m: f32[2,3], input %n: f32[3,4], input %i: " \
  "i32[2]) -> (r: f32[2]) {\n"
#define FOOTER "  return %x\n}\n"

typedef struct {
  const char *name;
  int whole;        /* 1: text is the whole file; 0: wrapped in HEADER/FOOTER */
  const char *text;
  const char *want; /* a phrase the message must contain */
  int line, col;
} bad_case;

static const bad_case cases[] = {
    /* ---- lexical and syntax errors (the parser) ---- */
    {"empty file", 1, "", "the module has no functions", 1, 1},
    {"only a comment", 1, "// nothing\n", "the module has no functions", 2, 1},
    {"not a function", 1, "hello", "expected 'func', found 'hello'", 1, 1},
    {"function without @", 1, "func loss()", "expected a function name such as @loss", 1, 6},
    {"argument without role", 1, "func @f(%x: f32[2]) -> (r: f32[2]) {\n  return %x\n}\n",
     "expected an argument role (input, param or state)", 1, 9},
    {"unknown element type", 1, "func @f(input %x: f64[2]) -> (r: f32[2]) {\n  return %x\n}\n",
     "unknown element type 'f64'", 1, 19},
    {"zero dimension", 1, "func @f(input %x: f32[0]) -> (r: f32[2]) {\n  return %x\n}\n",
     "dimension sizes must be at least 1", 1, 23},
    {"negative dimension", 1, "func @f(input %x: f32[-2]) -> (r: f32[2]) {\n  return %x\n}\n",
     "dimension sizes must be at least 1, not -2", 1, 23},
    {"rank above 8", 1,
     "func @f(input %x: f32[1,1,1,1,1,1,1,1,1]) -> (r: f32[2]) {\n  return %x\n}\n",
     "at most 8 dimensions", 1, 39},
    {"unclosed shape", 1, "func @f(input %x: f32[2,3) -> (r: f32[2]) {\n  return %x\n}\n",
     "expected ',' or ']' in the shape, found ')'", 1, 26},
    {"huge type", 1,
     "func @f(input %x: f32[65536,65536,65537]) -> (r: f32[2]) {\n  return %x\n}\n",
     "more than 2^48 elements", 1, 35},
    {"unknown op", 0, "  %r = frob %x : f32[2]\n", "unknown operation 'frob'", 2, 8},
    {"undefined value", 0, "  %r = neg %z : f32[2]\n", "use of undefined value '%z'", 2, 12},
    {"redefined value", 0, "  %x = neg %x : f32[2]\n", "'%x' is already defined (at line 1)", 2,
     3},
    {"value defined twice", 0, "  %a = neg %x : f32[2]\n  %a = abs %x : f32[2]\n",
     "'%a' is already defined (at line 2)", 3, 3},
    {"use before definition", 0, "  %a = neg %b : f32[2]\n  %b = abs %x : f32[2]\n",
     "use of undefined value '%b'", 2, 12},
    {"duplicate argument", 1,
     "func @f(input %x: f32[2], param %x: f32[2]) -> (r: f32[2]) {\n  return %x\n}\n",
     "'%x' is already defined", 1, 33},
    {"duplicate result name", 1,
     "func @f(input %x: f32[2]) -> (r: f32[2], r: f32[2]) {\n  return %x, %x\n}\n",
     "result name 'r' is used twice", 1, 42},
    {"duplicate function", 1,
     "func @f(input %x: f32[2]) -> (r: f32[2]) {\n  return %x\n}\n"
     "func @f(input %x: f32[2]) -> (r: f32[2]) {\n  return %x\n}\n",
     "function '@f' is already defined (at line 1)", 4, 6},
    {"missing return", 1, "func @f(input %x: f32[2]) -> (r: f32[2]) {\n}\n",
     "expected 'return' before '}'", 2, 1},
    {"return too few", 1,
     "func @f(input %x: f32[2]) -> (r: f32[2], s: f32[2]) {\n  return %x\n}\n",
     "'return' gives 1 value but the function declares 2 results", 2, 3},
    {"return too many", 1, "func @f(input %x: f32[2]) -> (r: f32[2]) {\n  return %x, %x\n}\n",
     "more values than the 1 result declared", 2, 14},
    {"return undefined", 1, "func @f(input %x: f32[2]) -> (r: f32[2]) {\n  return %y\n}\n",
     "use of undefined value '%y'", 2, 10},
    {"unknown attribute", 0, "  %r = neg %x {foo = 1} : f32[2]\n", "unknown attribute 'foo'", 2, 16},
    {"attribute twice", 0, "  %r = reduce_sum %m {dims = [0], dims = [1]} : f32[3]\n",
     "attribute 'dims' is given twice", 2, 35},
    {"unexpected character", 0, "  %r = neg %x # : f32[2]\n", "unexpected character '#'", 2,
     15},
    {"malformed number", 0, "  %r = constant {value = 1.2.3} : f32[]\n",
     "malformed number '1.2.3'", 2, 26},
    {"integer out of range", 0,
     "  %r = constant {value = 99999999999999999999} : i32[]\n",
     "number '99999999999999999999' is out of range", 2, 26},
    {"missing result type", 0, "  %r = neg %x\n", "expected ':' and the result type", 3, 3},
    {"end of file inside a function", 1, "func @f(input %x: f32[2]) -> (r: f32[2]) {\n  %r = neg",
     "expected ':' and the result type, found end of file", 2, 11},
    {"mesh after a function", 1,
     "func @f(input %x: f32[2]) -> (r: f32[2]) {\n  return %x\n}\nmesh {a = 2}\n",
     "the mesh must come before the functions", 4, 1},
    {"mesh axis twice", 1, "mesh {a = 2, a = 4}\n", "mesh axis 'a' is declared twice", 1, 14},
    {"mesh axis size zero", 1, "mesh {a = 0}\n", "between 1 and 2^20", 1, 11},
    {"NUL byte", 1, "func @f\0", "NUL byte", 1, 8},
    /* ---- verification errors ---- */
    {"wrong arity", 0, "  %r = add %x : f32[2]\n", "'add' takes 2 operands but has 1", 2, 8},
    {"shape mismatch", 0, "  %r = add %x, %m : f32[2]\n",
     "operands of 'add' differ: f32[2] and f32[2,3]", 2, 8},
    {"declared type wrong", 0, "  %r = neg %x : f32[3]\n",
     "'neg' gives f32[2], but its result is declared f32[3]", 2, 8},
    {"dot contracting sizes", 0,
     "  %r = dot %m, %m {lhs_contract = [1], rhs_contract = [1]} : f32[2,2]\n  %s = dot %m, "
     "%n {lhs_contract = [0], rhs_contract = [0]} : f32[3,4]\n",
     "'dot' contracts dimension 0 of f32[2,3] with dimension 0 of f32[3,4]: sizes differ", 3,
     8},
    {"dot dimension out of range", 0,
     "  %r = dot %m, %n {lhs_contract = [2], rhs_contract = [0]} : f32[2,4]\n",
     "'lhs_contract' of 'dot' names dimension 2, outside 0..1", 2, 20},
    {"dot lists of different length", 0,
     "  %r = dot %m, %n {lhs_contract = [1], rhs_contract = []} : f32[2,4]\n",
     "'rhs_contract' of 'dot' has 0 entries but needs 1", 2, 40},
    {"transpose not a permutation", 0, "  %r = transpose %m {perm = [0, 0]} : f32[2,2]\n",
     "'perm' of 'transpose' names dimension 0 twice", 2, 22},
    {"reshape element count", 0, "  %r = reshape %m : f32[5]\n",
     "'reshape' cannot turn f32[2,3] into f32[5]: element counts differ", 2, 8},
    {"slice past the end", 0, "  %r = slice %m {start = [0, 1], limit = [2, 4]} : f32[2,3]\n",
     "dimension 1 (size 3) needs 0 <= start < limit <= size", 2, 8},
    {"slice stride zero", 0,
     "  %r = slice %m {start = [0, 0], limit = [2, 3], stride = [1, 0]} : f32[2,3]\n",
     "'stride' of 'slice' has 0 at position 1; it must be >= 1", 2, 50},
    {"broadcast size", 0, "  %r = broadcast %x {dims = [1]} : f32[2,3]\n",
     "sizes must match or be 1", 2, 8},
    {"broadcast dims order", 0, "  %r = broadcast %m {dims = [1, 0]} : f32[3,2]\n",
     "'dims' of 'broadcast' must increase", 2, 22},
    {"missing attribute", 0, "  %r = reduce_sum %m : f32[]\n",
     "'reduce_sum' needs the attribute 'dims'", 2, 8},
    {"attribute not taken", 0, "  %r = neg %x {dim = 0} : f32[2]\n",
     "'neg' takes no attribute 'dim'", 2, 16},
    {"attribute of the wrong kind", 0, "  %r = reduce_sum %m {dims = 1} : f32[3]\n",
     "attribute 'dims' of 'reduce_sum' must be a list of integers", 2, 23},
    {"compare direction", 0, "  %r = compare %x, %x {dir = lq} : pred[2]\n",
     "'dir' of 'compare' is 'lq'; it must be lt, le, gt, ge, eq or ne", 2, 24},
    {"log of an integer", 0, "  %r = log %i : i32[2]\n",
     "operand 1 of 'log' is i32 but must be f32", 2, 8},
    {"stop_gradient of a predicate", 0,
     "  %p = compare %x, %x {dir = lt} : pred[2]\n  %r = stop_gradient %p : pred[2]\n",
     "operand 1 of 'stop_gradient' is pred but must be f32 or i32", 3, 8},
    {"pow of integers", 0, "  %r = pow %i, %i : i32[2]\n",
     "operand 1 of 'pow' is i32 but must be f32", 2, 8},
    {"select predicate type", 0, "  %r = select %x, %x, %x : f32[2]\n",
     "operand 1 of 'select' is f32 but must be pred", 2, 8},
    {"constant count", 0, "  %r = constant {value = [1, 2, 3]} : f32[2]\n",
     "constant has 3 values but f32[2] has 2 elements", 2, 18},
    {"constant fraction in i32", 0, "  %r = constant {value = 1.5} : i32[]\n",
     "is not a 32-bit integer", 2, 18},
    {"iota dimension", 0, "  %r = iota {dim = 2} : i32[2,3]\n",
     "'dim' of 'iota' is 2, outside 0..1", 2, 14},
    {"concat shapes", 0, "  %r = concat %m, %n {dim = 0} : f32[5,3]\n",
     "operand 2 of 'concat' is f32[3,4], which does not fit f32[2,3] along dimension 0", 2, 8},
    {"pad value not a scalar", 0,
     "  %r = pad %m, %x {low = [0, 0], high = [0, 0]} : f32[2,3]\n",
     "the padding value of 'pad' must be a f32 scalar, not f32[2]", 2, 8},
    {"take with float indices", 0, "  %r = take %n, %x : f32[2,4]\n",
     "operand 2 of 'take' is f32 but must be i32", 2, 8},
    {"scan reverse", 0, "  %r = scan %m, %m {dim = 1, reverse = 2} : f32[2,3]\n",
     "'reverse' of 'scan' must be 0 or 1", 2, 30},
    {"return type", 0, "  %r = reduce_sum %m {dims = [0, 1]} : f32[]\n  return %r\n}\n",
     "result 'r' is declared f32[2] but the value returned is f32[]", 3, 10},
    {"collective without a mesh", 0, "  %r = all_gather %x {dim = 0, axes = [a]} : f32[4]\n",
     "'all_gather' needs a mesh", 2, 8},
    {"collective on an unknown axis", 1,
     "mesh {a = 2}\nfunc @f(input %x: f32[2]) -> (r: f32[4]) {\n"
     "  %r = all_gather %x {dim = 0, axes = [b]} : f32[4]\n  return %r\n}\n",
     "names mesh axis 'b', which the mesh does not have", 3, 32},
    {"reduce_scatter does not divide", 1,
     "mesh {a = 4}\nfunc @f(input %x: f32[6]) -> (r: f32[6]) {\n"
     "  %r = reduce_scatter %x {dim = 0, axes = [a]} : f32[1]\n  return %x\n}\n",
     "splits dimension 0 of size 6 into 4 blocks", 3, 8},
    {"collective_permute reuses a source", 1,
     "mesh {a = 4}\nfunc @f(input %x: f32[6]) -> (r: f32[6]) {\n"
     "  %r = collective_permute %x {axes = [a], pairs = [[0, 1], [0, 2]]} : f32[6]\n"
     "  return %r\n}\n",
     "uses device 0 twice as a source", 3, 43},
    {"all_reduce kind", 1,
     "mesh {a = 4}\nfunc @f(input %x: f32[6]) -> (r: f32[6]) {\n"
     "  %r = all_reduce %x {reduce = mean, axes = [a]} : f32[6]\n  return %r\n}\n",
     "'reduce' of 'all_reduce' is 'mean'; it must be sum or max", 3, 23},
    /* ---- size limits: sizes the program chooses never overflow ---- */
    {"type over 2^48 elements", 1,
     "func @f(input %x: f32[4294967296,4294967296]) -> (r: f32[2]) {\n  return %x\n}\n",
     "more than 2^48 elements", 1, 34},
    {"dimension over 2^63", 1,
     "func @f(input %x: f32[9223372036854775808]) -> (r: f32[2]) {\n  return %x\n}\n",
     "number '9223372036854775808' is out of range", 1, 23},
    {"mesh over 2^31 devices", 1,
     "mesh {a = 1048576, b = 4096}\nfunc @f(input %x: f32[2]) -> (r: f32[2]) {\n"
     "  return %x\n}\n",
     "mesh axis 'b' of size 4096 makes the mesh larger than 2^31 devices", 1, 24},
    {"mesh axis over 2^20", 1,
     "mesh {a = 2097152}\nfunc @f(input %x: f32[2]) -> (r: f32[2]) {\n  return %x\n}\n",
     "mesh axis sizes must be between 1 and 2^20", 1, 11},
    {"dot result over 2^48", 1,
     "func @f(input %x: f32[140737488355328,1], input %w: f32[1,140737488355328]) -> "
     "(r: f32[2]) {\n  %d = dot %x, %w {lhs_contract = [1], rhs_contract = [0]} : f32[2]\n"
     "  return %d\n}\n",
     "the result of 'dot' would have more than 2^48 elements", 2, 8},
    {"concat result over 2^48", 1,
     "func @f(input %x: f32[140737488355328]) -> (r: f32[2]) {\n"
     "  %c = concat %x, %x, %x {dim = 0} : f32[2]\n  return %c\n}\n",
     "the result of 'concat' would have more than 2^48 elements", 2, 8},
    {"pad width over 2^63", 0,
     "  %z = constant {value = 0.0} : f32[]\n"
     "  %r = pad %x, %z {low = [9223372036854775807], high = [9223372036854775807]} : f32[2]\n",
     "the result of 'pad' would have more than 2^48 elements", 3, 8},
    {"pad interior over 2^63", 0,
     "  %z = constant {value = 0.0} : f32[]\n"
     "  %r = pad %x, %z {low = [0], high = [0], interior = [9223372036854775807]} : f32[2]\n",
     "the result of 'pad' would have more than 2^48 elements", 3, 8},
    {"slice stride near 2^63", 0,
     "  %r = slice %x {start = [0], limit = [2], stride = [9223372036854775807]} : f32[2]\n",
     "'slice' gives f32[1], but its result is declared f32[2]", 2, 8},
    {"all_gather over 2^48 elements", 1,
     "mesh {a = 1048576}\nfunc @f(input %x: f32[281474976710656]) -> (r: f32[2]) {\n"
     "  %r = all_gather %x {dim = 0, axes = [a]} : f32[2]\n  return %r\n}\n",
     "the result of 'all_gather' would have more than 2^48 elements", 3, 8},
    {"constant with too few values", 0, "  %r = constant {value = [1.0]} : f32[281474976710656]\n",
     "constant has 1 values but f32[281474976710656] has 281474976710656 elements", 2, 18},
};

static char *case_text(const bad_case *c) {
  if (c->whole)
    return pt_strdup(c->text);
  /* a case that writes its own `return` closes the function itself */
  bool own_return = strstr(c->text, "return") != NULL;
  size_t n = strlen(HEADER) + strlen(c->text) + strlen(FOOTER) + 1;
  char *s = pt_malloc(n);
  snprintf(s, n, "%s%s%s", HEADER, c->text, own_return ? "" : FOOTER);
  return s;
}

START_TEST(bad_input_case) {
  const bad_case *c = &cases[_i];
  char *text = case_text(c);
  /* NUL-byte case: its text has an embedded NUL, so give the real length */
  size_t len = strcmp(c->name, "NUL byte") == 0 ? 8 : strlen(text);
  pt_diag *d = pt_diag_create(NULL);
  pt_module *m = pt_parse(text, len, "test.pir", d);
  if (m) {
    pt_verify_module(m, d);
    pt_module_destroy(m);
  }
  ck_assert_msg(pt_diag_error_count(d) >= 1, "case '%s': no error reported", c->name);
  const char *msg = pt_diag_message(d, 0);
  ck_assert_msg(strstr(msg, c->want), "case '%s': message\n  %s\nlacks\n  %s", c->name, msg,
                c->want);
  pt_loc loc = pt_diag_loc(d, 0);
  ck_assert_msg(loc.line == c->line && loc.col == c->col,
                "case '%s': located at %d:%d, expected %d:%d (%s)", c->name, loc.line, loc.col,
                c->line, c->col, msg);
  char prefix[64];
  snprintf(prefix, sizeof prefix, "test.pir:%d:%d: error: ", c->line, c->col);
  ck_assert_msg(strncmp(msg, prefix, strlen(prefix)) == 0, "case '%s': message '%s' lacks '%s'",
                c->name, msg, prefix);
  ck_assert_msg(pt_diag_error_count(d) == 1, "case '%s': %d errors, expected one clear one: %s",
                c->name, pt_diag_error_count(d), msg);
  pt_diag_destroy(d);
  pt_free(text);
}
END_TEST

/* The printed diagnostic shows the line and a caret under the column. */
START_TEST(caret_under_column) {
  const char *text = HEADER "  %r = frob %x : f32[2]\n" FOOTER;
  pt_diag *d = pt_diag_create(NULL);
  pt_module *m = pt_test_parse(text, d);
  ck_assert_ptr_null(m);
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  pt_diag_print(d, f);
  fclose(f);
  ck_assert_str_eq(buf, "test.pir:2:8: error: unknown operation 'frob'\n"
                        "    %r = frob %x : f32[2]\n"
                        "         ^\n");
  free(buf);
  pt_diag_destroy(d);
}
END_TEST

/* Random byte mutations of a valid program never crash the parser or the
 * verifier, and every failure is reported with a location. */
START_TEST(mutations_never_crash) {
  char *path = pt_test_path("examples/mlp.pir");
  pt_diag *d0 = pt_diag_create(NULL);
  pt_module *m0 = pt_parse_file(path, d0);
  ck_assert_ptr_nonnull(m0);
  char *orig = pt_print_module_str(m0);
  pt_module_destroy(m0);
  pt_diag_destroy(d0);
  size_t len = strlen(orig);
  uint64_t state = 12345;
  const char alphabet[] = "%@{}[](),:=-> \n0123456789abcfx.";
  int rejected = 0;
  for (int iter = 0; iter < 3000; iter++) {
    char *s = pt_strdup(orig);
    int nmut = 1 + iter % 4;
    for (int k = 0; k < nmut; k++) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      size_t pos = (size_t)(state >> 33) % len;
      s[pos] = alphabet[(state >> 20) % (sizeof alphabet - 1)];
    }
    pt_diag *d = pt_diag_create(NULL);
    pt_module *m = pt_parse(s, len, "fuzz.pir", d);
    if (m) {
      pt_verify_module(m, d);
      pt_module_destroy(m);
    }
    if (pt_diag_error_count(d)) {
      rejected++;
      ck_assert_msg(pt_diag_loc(d, 0).line >= 1, "unlocated error: %s", pt_diag_message(d, 0));
    }
    pt_diag_destroy(d);
    pt_free(s);
  }
  ck_assert_int_gt(rejected, 1000);
  pt_free(orig);
  pt_free(path);
}
END_TEST

/* Programs whose values no machine can hold (2^46 f32 elements is 256 TiB,
 * 2^20 devices of a 4 GiB block is 4 PiB): the interpreter, the virtual
 * mesh and the executor refuse them with a located error before they
 * allocate anything. */
typedef enum { BY_INTERP, BY_VMESH, BY_EXEC } runner;

typedef struct {
  const char *name;
  runner by;
  const char *text;
  const char *want;
  int line, col;
} memory_case;

static const memory_case memory_cases[] = {
    {"interpreter: an argument of 256 TiB", BY_INTERP,
     "func @f(input %x: f32[70368744177664]) -> (r: f32[]) {\n"
     "  %r = reduce_sum %x {dims = [0]} : f32[]\n  return %r\n}\n",
     "%x is f32[70368744177664], 281474976710656 bytes: more than this machine's", 1, 15},
    {"interpreter: an intermediate of 256 TiB", BY_INTERP,
     "func @f(input %x: f32[2]) -> (r: f32[]) {\n"
     "  %b = broadcast %x {dims = [1]} : f32[35184372088832,2]\n"
     "  %r = reduce_sum %b {dims = [0, 1]} : f32[]\n  return %r\n}\n",
     "%b is f32[35184372088832,2], 281474976710656 bytes: more than", 2, 3},
    {"virtual mesh: 2^20 devices of 4 GiB", BY_VMESH,
     "mesh {a = 1048576}\nfunc @f(input %x: f32[1073741824]) -> (r: f32[1073741824]) {\n"
     "  %r = all_reduce %x {reduce = sum, axes = [a]} : f32[1073741824]\n  return %r\n}\n",
     "the virtual mesh needs at least", 2, 6},
    {"executor: arguments of 256 TiB", BY_EXEC,
     "func @f(input %x: f32[70368744177664]) -> (r: f32[]) {\n"
     "  %r = reduce_sum %x {dims = [0]} : f32[]\n  return %r\n}\n",
     "@f's arguments need 281474976710656 bytes per device, more than this machine's", 1, 6},
};

START_TEST(values_larger_than_memory) {
  const memory_case *c = &memory_cases[_i];
  pt_diag *d = pt_diag_create(NULL);
  pt_module *m = pt_test_parse_ok(c->text);
  pt_func *f = m->funcs[0];
  pt_tensor *none[4] = {NULL, NULL, NULL, NULL};
  pt_status st = PT_OK;
  if (c->by == BY_INTERP)
    st = pt_interp_run(f, none, none, d);
  else if (c->by == BY_VMESH)
    st = pt_vmesh_run(f, none, none, d);
  else {
    pt_exec *e = pt_exec_create(f, NULL, d);
    st = e ? PT_OK : PT_ERR;
    pt_exec_destroy(e);
  }
  ck_assert_msg(st == PT_ERR && pt_diag_error_count(d) == 1, "case '%s': %d errors", c->name,
                pt_diag_error_count(d));
  const char *msg = pt_diag_message(d, 0);
  ck_assert_msg(strstr(msg, c->want), "case '%s': message\n  %s\nlacks\n  %s", c->name, msg,
                c->want);
  pt_loc loc = pt_diag_loc(d, 0);
  ck_assert_msg(loc.line == c->line && loc.col == c->col,
                "case '%s': located at %d:%d, expected %d:%d (%s)", c->name, loc.line, loc.col,
                c->line, c->col, msg);
  pt_module_destroy(m);
  pt_diag_destroy(d);
}
END_TEST

int main(void) {
  Suite *s = suite_create("badinput");
  TCase *tc = tcase_create("cases");
  tcase_add_loop_test(tc, bad_input_case, 0, (int)(sizeof cases / sizeof cases[0]));
  tcase_add_test(tc, caret_under_column);
  tcase_add_test(tc, mutations_never_crash);
  tcase_add_loop_test(tc, values_larger_than_memory, 0,
                      (int)(sizeof memory_cases / sizeof memory_cases[0]));
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return pt_test_main(s);
}
