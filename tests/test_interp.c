/* Tests for the reference interpreter: every non-collective op against
 * values worked out by hand, runtime errors located at their op, and the
 * memory discipline (no leaks, intermediates freed after their last use). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "interp.h"
#include "testutil.h"

/* ---- helpers -------------------------------------------------------- */

/* Makes one tensor per argument of f, filled from vals[i] (flat). */
static void make_args(const pt_func *f, const double (*vals)[32],
                      pt_tensor **args) {
  for (int i = 0; i < f->nargs; i++) {
    args[i] = pt_tensor_create(f->args[i]->type);
    int64_t n = pt_type_numel(&f->args[i]->type);
    ck_assert_int_le(n, 32);
    for (int64_t j = 0; j < n; j++)
      pt_tensor_set(args[i], j, vals[i][j]);
  }
}

/* f32 results are compared within a few f32 ulps of the exact value (the
 * hand-computed numbers are the true values, not their f32 roundings);
 * i32 and pred exactly. */
static void expect_values(const char *name, const pt_tensor *t,
                          const double *want, int64_t nwant) {
  int64_t n = pt_type_numel(&t->type);
  ck_assert_msg(n == nwant, "%s: result has %lld elements, want %lld", name,
                (long long)n, (long long)nwant);
  for (int64_t i = 0; i < n; i++) {
    double got = pt_tensor_get(t, i), w = want[i];
    bool ok;
    if (t->type.dtype != PT_F32)
      ok = got == w;
    else if (isnan(w))
      ok = isnan(got);
    else if (isinf(w) || w == 0)
      ok = got == w;
    else
      ok = fabs(got - w) <= 4e-7 * fabs(w);
    ck_assert_msg(ok, "%s: element %lld is %.9g, want %.9g", name, (long long)i,
                  got, w);
  }
}

/* ---- the op table --------------------------------------------------- */

typedef struct {
  const char *name; /* the op under test (and a variant) */
  const char *src;  /* a module whose first function has one result */
  double in[3][32]; /* argument values, flat row-major */
  double want[48];  /* the result, flat row-major */
} interp_case;

#define F2x3(ret) "func @f(input %a: f32[2,3]) -> (r: " ret ") {\n"
#define F2x3x2(ret)                                                            \
  "func @f(input %a: f32[2,3], input %b: f32[2,3]) -> (r: " ret ") {\n"
#define I4x2 "func @f(input %a: i32[4], input %b: i32[4]) -> (r: i32[4]) {\n"

static const interp_case cases[] = {
    /* element-wise unary */
    {"neg",
     F2x3("f32[2,3]") "  %r = neg %a : f32[2,3]\n  return %r\n}\n",
     {{1, -2, 0, 3.5, -0.5, 100}},
     {-1, 2, -0.0, -3.5, 0.5, -100}},
    {"neg_i32",
     "func @f(input %a: i32[4]) -> (r: i32[4]) {\n"
     "  %r = neg %a : i32[4]\n  return %r\n}\n",
     {{1, -2, 2147483647, -2147483648.0}},
     {-1, 2, -2147483647, -2147483648.0}},
    {"exp",
     "func @f(input %a: f32[4]) -> (r: f32[4]) {\n"
     "  %r = exp %a : f32[4]\n  return %r\n}\n",
     {{0, 1, -1, 2}},
     {1, 2.718281828459045, 0.36787944117144233, 7.38905609893065}},
    {"log",
     "func @f(input %a: f32[4]) -> (r: f32[4]) {\n"
     "  %r = log %a : f32[4]\n  return %r\n}\n",
     {{1, 0, -1, 100}},
     {0, -INFINITY, NAN, 4.605170185988092}},
    {"tanh",
     "func @f(input %a: f32[4]) -> (r: f32[4]) {\n"
     "  %r = tanh %a : f32[4]\n  return %r\n}\n",
     {{0, 1, -1, 20}},
     {0, 0.7615941559557649, -0.7615941559557649, 1}},
    {"logistic",
     "func @f(input %a: f32[4]) -> (r: f32[4]) {\n"
     "  %r = logistic %a : f32[4]\n  return %r\n}\n",
     {{0, 1, -1, 100}},
     {0.5, 0.7310585786300049, 0.2689414213699951, 1}},
    {"sqrt",
     "func @f(input %a: f32[4]) -> (r: f32[4]) {\n"
     "  %r = sqrt %a : f32[4]\n  return %r\n}\n",
     {{0, 4, 2, -1}},
     {0, 2, 1.4142135623730951, NAN}},
    {"rsqrt",
     "func @f(input %a: f32[4]) -> (r: f32[4]) {\n"
     "  %r = rsqrt %a : f32[4]\n  return %r\n}\n",
     {{4, 0.25, 0, 2}},
     {0.5, 2, INFINITY, 0.7071067811865475}},
    {"abs",
     "func @f(input %a: f32[4]) -> (r: f32[4]) {\n"
     "  %r = abs %a : f32[4]\n  return %r\n}\n",
     {{-1.5, 2, -0.0, -INFINITY}},
     {1.5, 2, 0, INFINITY}},
    {"abs_i32",
     "func @f(input %a: i32[4]) -> (r: i32[4]) {\n"
     "  %r = abs %a : i32[4]\n  return %r\n}\n",
     {{-3, 3, 0, -2147483648.0}},
     {3, 3, 0, -2147483648.0}},
    /* sin(f32(pi)) is not 0: f32(pi) = 3.14159274... */
    {"sin",
     "func @f(input %a: f32[4]) -> (r: f32[4]) {\n"
     "  %r = sin %a : f32[4]\n  return %r\n}\n",
     {{0, 1.5707963267948966, 3.141592653589793, -0.5}},
     {0, 1, -8.742278000372475e-08, -0.479425538604203}},
    {"cos",
     "func @f(input %a: f32[4]) -> (r: f32[4]) {\n"
     "  %r = cos %a : f32[4]\n  return %r\n}\n",
     {{0, 3.141592653589793, 1, -1}},
     {1, -1, 0.5403023058681398, 0.5403023058681398}},

    /* element-wise binary */
    {"add",
     F2x3x2("f32[2,3]") "  %r = add %a, %b : f32[2,3]\n  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {6, 5, 4, 3, 2, 1.5}},
     {7, 7, 7, 7, 7, 7.5}},
    {"sub",
     F2x3x2("f32[2,3]") "  %r = sub %a, %b : f32[2,3]\n  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {6, 5, 4, 3, 2, 1}},
     {-5, -3, -1, 1, 3, 5}},
    {"mul",
     F2x3x2("f32[2,3]") "  %r = mul %a, %b : f32[2,3]\n  return %r\n}\n",
     {{1, 2, 3, 4, 5, -6}, {6, 5, 4, 3, 2, 1}},
     {6, 10, 12, 12, 10, -6}},
    {"div",
     F2x3x2("f32[2,3]") "  %r = div %a, %b : f32[2,3]\n  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {6, 5, 4, 3, 2, 1}},
     {1.0 / 6, 0.4, 0.75, 4.0 / 3, 2.5, 6}},
    {"div_by_zero_f32",
     F2x3x2("f32[2,3]") "  %r = div %a, %b : f32[2,3]\n  return %r\n}\n",
     {{1, -1, 0, 1, -1, 0}, {0, 0, 0, -0.0, -0.0, -0.0}},
     {INFINITY, -INFINITY, NAN, -INFINITY, INFINITY, NAN}},
    {"max",
     F2x3x2("f32[2,3]") "  %r = max %a, %b : f32[2,3]\n  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {6, 5, 4, 3, 2, 1}},
     {6, 5, 4, 4, 5, 6}},
    {"max_nan",
     F2x3x2("f32[2,3]") "  %r = max %a, %b : f32[2,3]\n  return %r\n}\n",
     {{NAN, 1, 2, NAN, -INFINITY, 0}, {1, NAN, 3, NAN, -1, 0}},
     {NAN, NAN, 3, NAN, -1, 0}},
    {"min",
     F2x3x2("f32[2,3]") "  %r = min %a, %b : f32[2,3]\n  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {6, 5, 4, 3, 2, 1}},
     {1, 2, 3, 3, 2, 1}},
    {"min_nan",
     F2x3x2("f32[2,3]") "  %r = min %a, %b : f32[2,3]\n  return %r\n}\n",
     {{NAN, 1, 2, NAN, INFINITY, 0}, {1, NAN, 3, NAN, -1, 0}},
     {NAN, NAN, 2, NAN, -1, 0}},
    {"pow",
     F2x3x2("f32[2,3]") "  %r = pow %a, %b : f32[2,3]\n  return %r\n}\n",
     {{2, 4, 9, -2, 0, 2}, {3, 0.5, -0.5, 2, 0, -1}},
     {8, 2, 1.0 / 3, 4, 1, 0.5}},
    {"add_i32_wraps",
     I4x2 "  %r = add %a, %b : i32[4]\n  return %r\n}\n",
     {{2147483647, -2147483648.0, 5, -7}, {1, -1, 6, 3}},
     {-2147483648.0, 2147483647, 11, -4}},
    {"sub_i32_wraps",
     I4x2 "  %r = sub %a, %b : i32[4]\n  return %r\n}\n",
     {{-2147483648.0, 2147483647, 5, 0}, {1, -1, 7, -2147483648.0}},
     {2147483647, -2147483648.0, -2, -2147483648.0}},
    /* 2^16 * 2^16 = 2^32 wraps to 0; (2^31-1)^2 = 2^62 - 2^32 + 1 wraps to
     * 1; 123456789000 - 28 * 2^32 - 2^32 = -1097262584 */
    {"mul_i32_wraps",
     I4x2 "  %r = mul %a, %b : i32[4]\n  return %r\n}\n",
     {{65536, 2147483647, -3, 123456789}, {65536, 2147483647, 4, 1000}},
     {0, 1, -12, -1097262584}},
    {"div_i32_truncates",
     "func @f(input %a: i32[6], input %b: i32[6]) -> (r: i32[6]) {\n"
     "  %r = div %a, %b : i32[6]\n  return %r\n}\n",
     {{7, -7, 7, -7, -2147483648.0, 0}, {2, 2, -2, -2, -1, 5}},
     {3, -3, -3, 3, -2147483648.0, 0}},
    {"max_i32",
     I4x2 "  %r = max %a, %b : i32[4]\n  return %r\n}\n",
     {{-5, 7, 2147483647, 0}, {-6, 8, -2147483648.0, 0}},
     {-5, 8, 2147483647, 0}},
    {"min_i32",
     I4x2 "  %r = min %a, %b : i32[4]\n  return %r\n}\n",
     {{-5, 7, 2147483647, 0}, {-6, 8, -2147483648.0, 0}},
     {-6, 7, -2147483648.0, 0}},

    /* compare, in all six directions */
    {"compare_lt",
     F2x3x2("pred[2,3]") "  %r = compare %a, %b {dir = lt} : pred[2,3]\n"
                         "  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {3, 2, 1, 4, 6, 0}},
     {1, 0, 0, 0, 1, 0}},
    {"compare_le",
     F2x3x2("pred[2,3]") "  %r = compare %a, %b {dir = le} : pred[2,3]\n"
                         "  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {3, 2, 1, 4, 6, 0}},
     {1, 1, 0, 1, 1, 0}},
    {"compare_gt",
     F2x3x2("pred[2,3]") "  %r = compare %a, %b {dir = gt} : pred[2,3]\n"
                         "  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {3, 2, 1, 4, 6, 0}},
     {0, 0, 1, 0, 0, 1}},
    {"compare_ge",
     F2x3x2("pred[2,3]") "  %r = compare %a, %b {dir = ge} : pred[2,3]\n"
                         "  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {3, 2, 1, 4, 6, 0}},
     {0, 1, 1, 1, 0, 1}},
    {"compare_eq",
     F2x3x2("pred[2,3]") "  %r = compare %a, %b {dir = eq} : pred[2,3]\n"
                         "  return %r\n}\n",
     {{1, 2, 3, 4, 5, NAN}, {3, 2, 1, 4, 6, NAN}},
     {0, 1, 0, 1, 0, 0}},
    {"compare_ne",
     F2x3x2("pred[2,3]") "  %r = compare %a, %b {dir = ne} : pred[2,3]\n"
                         "  return %r\n}\n",
     {{1, 2, 3, 4, 5, NAN}, {3, 2, 1, 4, 6, NAN}},
     {1, 0, 1, 0, 1, 1}},
    {"compare_lt_nan",
     F2x3x2("pred[2,3]") "  %r = compare %a, %b {dir = lt} : pred[2,3]\n"
                         "  return %r\n}\n",
     {{NAN, 1, NAN, -INFINITY, 0, -0.0}, {1, NAN, NAN, 0, -0.0, 0}},
     {0, 0, 0, 1, 0, 0}},
    {"compare_i32",
     "func @f(input %a: i32[3], input %b: i32[3]) -> (r: pred[3]) {\n"
     "  %r = compare %a, %b {dir = ge} : pred[3]\n  return %r\n}\n",
     {{-2147483648.0, 5, 2147483647}, {2147483647, 5, 2147483646}},
     {0, 1, 1}},

    /* select */
    {"select",
     "func @f(input %p: pred[2,3], input %a: f32[2,3], input %b: f32[2,3])"
     " -> (r: f32[2,3]) {\n"
     "  %r = select %p, %a, %b : f32[2,3]\n  return %r\n}\n",
     {{1, 0, 1, 0, 0, 1}, {1, 2, 3, 4, 5, 6}, {-1, -2, -3, -4, -5, -6}},
     {1, -2, 3, -4, -5, 6}},

    /* convert */
    {"convert_f32_to_i32",
     F2x3("i32[2,3]") "  %r = convert %a : i32[2,3]\n  return %r\n}\n",
     {{1.7, -1.7, 2.5, -0.5, 3e9, NAN}},
     {1, -1, 2, 0, 2147483647, 0}},
    {"convert_f32_to_i32_saturates_low",
     "func @f(input %a: f32[2]) -> (r: i32[2]) {\n"
     "  %r = convert %a : i32[2]\n  return %r\n}\n",
     {{-3e9, -INFINITY}},
     {-2147483648.0, -2147483648.0}},
    {"convert_f32_to_pred",
     F2x3("pred[2,3]") "  %r = convert %a : pred[2,3]\n  return %r\n}\n",
     {{0, -0.0, 0.5, -2, NAN, 1}},
     {0, 0, 1, 1, 1, 1}},
    {"convert_pred_to_f32",
     "func @f(input %a: pred[3]) -> (r: f32[3]) {\n"
     "  %r = convert %a : f32[3]\n  return %r\n}\n",
     {{1, 0, 1}},
     {1, 0, 1}},
    /* 2^24 + 1 has no f32: rounds to even */
    {"convert_i32_to_f32",
     "func @f(input %a: i32[3]) -> (r: f32[3]) {\n"
     "  %r = convert %a : f32[3]\n  return %r\n}\n",
     {{16777217, -5, 0}},
     {16777216, -5, 0}},

    /* producers */
    {"constant_splat",
     "func @f() -> (r: f32[2,3]) {\n"
     "  %r = constant {value = 0.5} : f32[2,3]\n  return %r\n}\n",
     {{0}},
     {0.5, 0.5, 0.5, 0.5, 0.5, 0.5}},
    {"constant_scalar",
     "func @f() -> (r: i32[]) {\n"
     "  %r = constant {value = -7} : i32[]\n  return %r\n}\n",
     {{0}},
     {-7}},
    {"constant_literal",
     "func @f() -> (r: i32[2,2]) {\n"
     "  %r = constant {value = [1, 2, 3, 4]} : i32[2,2]\n  return %r\n}\n",
     {{0}},
     {1, 2, 3, 4}},
    {"constant_literal_f32",
     "func @f() -> (r: f32[2,2]) {\n"
     "  %r = constant {value = [1.5, -2, 0.25, 3]} : f32[2,2]\n"
     "  return %r\n}\n",
     {{0}},
     {1.5, -2, 0.25, 3}},
    {"iota_dim1",
     "func @f() -> (r: i32[2,3]) {\n"
     "  %r = iota {dim = 1} : i32[2,3]\n  return %r\n}\n",
     {{0}},
     {0, 1, 2, 0, 1, 2}},
    {"iota_dim0",
     "func @f() -> (r: i32[2,3]) {\n"
     "  %r = iota {dim = 0} : i32[2,3]\n  return %r\n}\n",
     {{0}},
     {0, 0, 0, 1, 1, 1}},
    {"iota_f32",
     "func @f() -> (r: f32[3]) {\n"
     "  %r = iota {dim = 0} : f32[3]\n  return %r\n}\n",
     {{0}},
     {0, 1, 2}},

    /* data movement */
    {"broadcast_new_dim",
     "func @f(input %a: f32[3]) -> (r: f32[2,3]) {\n"
     "  %r = broadcast %a {dims = [1]} : f32[2,3]\n  return %r\n}\n",
     {{1, 2, 3}},
     {1, 2, 3, 1, 2, 3}},
    {"broadcast_leading",
     "func @f(input %a: f32[2]) -> (r: f32[2,3]) {\n"
     "  %r = broadcast %a {dims = [0]} : f32[2,3]\n  return %r\n}\n",
     {{1, 2}},
     {1, 1, 1, 2, 2, 2}},
    {"broadcast_size1",
     "func @f(input %a: f32[2,1]) -> (r: f32[2,3]) {\n"
     "  %r = broadcast %a {dims = [0, 1]} : f32[2,3]\n  return %r\n}\n",
     {{1, 2}},
     {1, 1, 1, 2, 2, 2}},
    {"broadcast_size1_and_new",
     "func @f(input %a: i32[1,3]) -> (r: i32[2,2,3]) {\n"
     "  %r = broadcast %a {dims = [1, 2]} : i32[2,2,3]\n  return %r\n}\n",
     {{4, 5, 6}},
     {4, 5, 6, 4, 5, 6, 4, 5, 6, 4, 5, 6}},
    {"broadcast_scalar",
     "func @f(input %a: f32[]) -> (r: f32[2,3]) {\n"
     "  %r = broadcast %a {dims = []} : f32[2,3]\n  return %r\n}\n",
     {{7}},
     {7, 7, 7, 7, 7, 7}},
    {"reshape",
     F2x3("f32[3,2]") "  %r = reshape %a : f32[3,2]\n  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}},
     {1, 2, 3, 4, 5, 6}},
    {"reshape_to_scalar",
     "func @f(input %a: f32[1,1]) -> (r: f32[]) {\n"
     "  %r = reshape %a : f32[]\n  return %r\n}\n",
     {{9}},
     {9}},
    {"transpose_2d",
     F2x3("f32[3,2]") "  %r = transpose %a {perm = [1, 0]} : f32[3,2]\n"
                      "  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}},
     {1, 4, 2, 5, 3, 6}},
    /* r[i,j,k] = a[j,k,i], with a[j,k,i] = 12j + 4k + i */
    {"transpose_3d",
     "func @f(input %a: f32[2,3,4]) -> (r: f32[4,2,3]) {\n"
     "  %r = transpose %a {perm = [2, 0, 1]} : f32[4,2,3]\n  return %r\n}\n",
     {{0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
       12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}},
     {0, 4, 8,  12, 16, 20, 1, 5, 9,  13, 17, 21,
      2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23}},
    {"slice",
     F2x3("f32[2,2]") "  %r = slice %a {start = [0, 1], limit = [2, 3]}"
                      " : f32[2,2]\n  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}},
     {2, 3, 5, 6}},
    /* rows 0, 2 and columns 1, 3 of a 3x5 iota; the limit is not a
     * multiple of the stride away from the start */
    {"slice_stride",
     "func @f(input %a: f32[3,5]) -> (r: f32[2,2]) {\n"
     "  %r = slice %a {start = [0, 1], limit = [3, 5], stride = [2, 2]}"
     " : f32[2,2]\n  return %r\n}\n",
     {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
     {1, 3, 11, 13}},
    {"concat_dim0",
     F2x3x2("f32[4,3]") "  %r = concat %a, %b {dim = 0} : f32[4,3]\n"
                        "  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}},
     {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
    {"concat_3_operands",
     "func @f(input %a: f32[2,1], input %b: f32[2,2], input %c: f32[2,1])"
     " -> (r: f32[2,4]) {\n"
     "  %r = concat %a, %b, %c {dim = 1} : f32[2,4]\n  return %r\n}\n",
     {{1, 2}, {3, 4, 5, 6}, {7, 8}},
     {1, 3, 4, 7, 2, 5, 6, 8}},
    {"pad",
     F2x3("f32[3,5]") "  %z = constant {value = 0} : f32[]\n"
                      "  %r = pad %a, %z {low = [1, 0], high = [0, 2]}"
                      " : f32[3,5]\n  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}},
     {0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0}},
    /* rows: 1 low, 2 values with 1 between, 0 high = 4;
     * columns: 0 low, 3 values with 1 between, 2 high = 7 */
    {"pad_interior",
     "func @f(input %a: f32[2,3], input %v: f32[]) -> (r: f32[4,7]) {\n"
     "  %r = pad %a, %v {low = [1, 0], high = [0, 2], interior = [1, 1]}"
     " : f32[4,7]\n  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {-1}},
     {-1, -1, -1, -1, -1, -1, -1, 1, -1, 2, -1, 3, -1, -1,
      -1, -1, -1, -1, -1, -1, -1, 4, -1, 5, -1, 6, -1, -1}},

    /* reductions */
    {"reduce_sum_dim1",
     F2x3("f32[2]") "  %r = reduce_sum %a {dims = [1]} : f32[2]\n"
                    "  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}},
     {6, 15}},
    {"reduce_sum_dim0",
     F2x3("f32[3]") "  %r = reduce_sum %a {dims = [0]} : f32[3]\n"
                    "  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}},
     {5, 7, 9}},
    {"reduce_sum_all",
     F2x3("f32[]") "  %r = reduce_sum %a {dims = [0, 1]} : f32[]\n"
                   "  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}},
     {21}},
    {"reduce_sum_none",
     F2x3("f32[2,3]") "  %r = reduce_sum %a {dims = []} : f32[2,3]\n"
                      "  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}},
     {1, 2, 3, 4, 5, 6}},
    /* a[i,j,k] = 12i + 4j + k; sum over i and k */
    {"reduce_sum_dims02",
     "func @f(input %a: f32[2,3,4]) -> (r: f32[3]) {\n"
     "  %r = reduce_sum %a {dims = [0, 2]} : f32[3]\n  return %r\n}\n",
     {{0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
       12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}},
     {60, 92, 124}},
    /* accumulated in double, rounded once: 2^24 + 1 + 1 = 2^24 + 2 exactly,
     * where f32 adds one at a time would stay at 2^24 */
    {"reduce_sum_accumulates_in_double",
     "func @f(input %a: f32[3]) -> (r: f32[]) {\n"
     "  %r = reduce_sum %a {dims = [0]} : f32[]\n  return %r\n}\n",
     {{16777216, 1, 1}},
     {16777218}},
    {"reduce_sum_i32",
     "func @f(input %a: i32[2,2]) -> (r: i32[2]) {\n"
     "  %r = reduce_sum %a {dims = [0]} : i32[2]\n  return %r\n}\n",
     {{-3, 2147483647, 10, 1}},
     {7, -2147483648.0}},
    {"reduce_max_dim1",
     F2x3("f32[2]") "  %r = reduce_max %a {dims = [1]} : f32[2]\n"
                    "  return %r\n}\n",
     {{1, 7, 3, -4, -5, -6}},
     {7, -4}},
    {"reduce_max_dim1_of_3d",
     "func @f(input %a: f32[2,3,4]) -> (r: f32[2,4]) {\n"
     "  %r = reduce_max %a {dims = [1]} : f32[2,4]\n  return %r\n}\n",
     {{0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
       12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}},
     {8, 9, 10, 11, 20, 21, 22, 23}},
    {"reduce_max_all",
     F2x3("f32[]") "  %r = reduce_max %a {dims = [0, 1]} : f32[]\n"
                   "  return %r\n}\n",
     {{-1, -7, -3, -4, -0.5, -6}},
     {-0.5}},
    {"reduce_max_nan",
     F2x3("f32[3]") "  %r = reduce_max %a {dims = [0]} : f32[3]\n"
                    "  return %r\n}\n",
     {{NAN, 2, 3, 1, NAN, -INFINITY}},
     {NAN, NAN, 3}},
    {"reduce_max_i32",
     "func @f(input %a: i32[2,2]) -> (r: i32[2]) {\n"
     "  %r = reduce_max %a {dims = [1]} : i32[2]\n  return %r\n}\n",
     {{-2147483648.0, -5, 2147483647, 0}},
     {-5, 2147483647}},

    /* dot */
    {"dot_matmul",
     "func @f(input %a: f32[2,3], input %b: f32[3,2]) -> (r: f32[2,2]) {\n"
     "  %r = dot %a, %b {lhs_contract = [1], rhs_contract = [0]} : f32[2,2]\n"
     "  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}},
     {58, 64, 139, 154}},
    {"dot_matmul_i32",
     "func @f(input %a: i32[2,3], input %b: i32[3,2]) -> (r: i32[2,2]) {\n"
     "  %r = dot %a, %b {lhs_contract = [1], rhs_contract = [0]} : i32[2,2]\n"
     "  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}},
     {58, 64, 139, 154}},
    /* l[b,i,k] = 1 + 6b + 3i + k, r[b,k,j] = 1 + 6b + 2k + j */
    {"dot_batched",
     "func @f(input %a: f32[2,2,3], input %b: f32[2,3,2]) -> (r: f32[2,2,2])"
     " {\n"
     "  %r = dot %a, %b {lhs_batch = [0], rhs_batch = [0], lhs_contract = [2],"
     " rhs_contract = [1]} : f32[2,2,2]\n  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
      {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
     {22, 28, 49, 64, 220, 244, 301, 334}},
    /* l: f32[3,2] contracted on dim 0, r: f32[4,3] on dim 1; the result is
     * l's free dim (2) then r's (4): r[a,b] = sum_k l[k,a] * r[b,k] */
    {"dot_lhs_free_then_rhs_free",
     "func @f(input %a: f32[3,2], input %b: f32[4,3]) -> (r: f32[2,4]) {\n"
     "  %r = dot %a, %b {lhs_contract = [0], rhs_contract = [1]} : f32[2,4]\n"
     "  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
     {22, 49, 76, 103, 28, 64, 100, 136}},
    /* nothing contracted: the outer product */
    {"dot_outer",
     "func @f(input %a: f32[2], input %b: f32[3]) -> (r: f32[2,3]) {\n"
     "  %r = dot %a, %b {lhs_contract = [], rhs_contract = []} : f32[2,3]\n"
     "  return %r\n}\n",
     {{2, -1}, {1, 10, 100}},
     {2, 20, 200, -1, -10, -100}},
    /* free dimensions keep their order: l[i,k,j] = 1 + 6i + 2k + j,
     * v = [1, 10, 100], r[i,j] = 111 (1 + 6i + j) + 420 */
    {"dot_two_lhs_free",
     "func @f(input %a: f32[2,3,2], input %b: f32[3]) -> (r: f32[2,2]) {\n"
     "  %r = dot %a, %b {lhs_contract = [1], rhs_contract = [0]} : f32[2,2]\n"
     "  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {1, 10, 100}},
     {531, 642, 1197, 1308}},
    {"dot_two_rhs_free",
     "func @f(input %a: f32[3], input %b: f32[2,3,2]) -> (r: f32[2,2]) {\n"
     "  %r = dot %a, %b {lhs_contract = [0], rhs_contract = [1]} : f32[2,2]\n"
     "  return %r\n}\n",
     {{1, 10, 100}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
     {531, 642, 1197, 1308}},
    /* batch dimension in the middle of lhs: l[k,b,m] = 1 + 4k + 2b + m,
     * r[b,k] = 1 + 3b + k; result [b, m] */
    {"dot_batch_not_leading",
     "func @f(input %a: f32[3,2,2], input %b: f32[2,3]) -> (r: f32[2,2]) {\n"
     "  %r = dot %a, %b {lhs_batch = [1], rhs_batch = [0], lhs_contract = [0],"
     " rhs_contract = [1]} : f32[2,2]\n  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {1, 2, 3, 4, 5, 6}},
     {38, 44, 113, 128}},
    /* two contracted dims: the full inner product of two 2x3 arrays */
    {"dot_two_contracting",
     "func @f(input %a: f32[2,3], input %b: f32[2,3]) -> (r: f32[]) {\n"
     "  %r = dot %a, %b {lhs_contract = [0, 1], rhs_contract = [0, 1]}"
     " : f32[]\n  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {1, 1, 1, 2, 2, 2}},
     {36}},
    /* contracting pairs matched across swapped positions:
     * sum_{i,j} a[i,j] * b[j,i] */
    {"dot_contract_transposed",
     "func @f(input %a: f32[2,3], input %b: f32[3,2]) -> (r: f32[]) {\n"
     "  %r = dot %a, %b {lhs_contract = [0, 1], rhs_contract = [1, 0]}"
     " : f32[]\n  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {1, 10, 100, 1000, 10000, 100000}},
     {1 * 1 + 2 * 100 + 3 * 10000 + 4 * 10 + 5 * 1000 + 6 * 100000}},

    /* take and scatter_add */
    {"take",
     "func @f(input %t: f32[4,2], input %i: i32[3]) -> (r: f32[3,2]) {\n"
     "  %r = take %t, %i : f32[3,2]\n  return %r\n}\n",
     {{10, 11, 20, 21, 30, 31, 40, 41}, {2, 0, 2}},
     {30, 31, 10, 11, 30, 31}},
    {"take_2d_indices",
     "func @f(input %t: i32[3], input %i: i32[2,2]) -> (r: i32[2,2]) {\n"
     "  %r = take %t, %i : i32[2,2]\n  return %r\n}\n",
     {{5, 6, 7}, {2, 1, 0, 2}},
     {7, 6, 5, 7}},
    /* rows 1 gets updates 0, 2 and 3; row 0 gets update 1; row 2 none */
    {"scatter_add",
     "func @f(input %i: i32[4], input %u: f32[4,2]) -> (r: f32[3,2]) {\n"
     "  %r = scatter_add %i, %u : f32[3,2]\n  return %r\n}\n",
     {{1, 0, 1, 1}, {1, 2, 3, 4, 5, 6, 7, 8}},
     {3, 4, 13, 16, 0, 0}},
    {"scatter_add_2d_indices",
     "func @f(input %i: i32[2,2], input %u: i32[2,2]) -> (r: i32[2]) {\n"
     "  %r = scatter_add %i, %u : i32[2]\n  return %r\n}\n",
     {{0, 0, 1, 0}, {1, 2, 3, 4}},
     {7, 3}},

    /* scan: h[t] = a[t] * h[t-1] + b[t] */
    {"scan_forward",
     "func @f(input %a: f32[2,3], input %b: f32[2,3]) -> (r: f32[2,3]) {\n"
     "  %r = scan %a, %b {dim = 1, reverse = 0} : f32[2,3]\n  return %r\n}\n",
     {{0.5, 2, -1, 1, 0.5, 3}, {1, 2, 3, 4, 5, 6}},
     {1, 4, -1, 4, 7, 27}},
    {"scan_reverse",
     "func @f(input %a: f32[2,3], input %b: f32[2,3]) -> (r: f32[2,3]) {\n"
     "  %r = scan %a, %b {dim = 1, reverse = 1} : f32[2,3]\n  return %r\n}\n",
     {{0.5, 2, -1, 1, 0.5, 3}, {1, 2, 3, 4, 5, 6}},
     {5, 8, 3, 12, 8, 6}},
    {"scan_dim0_default_forward",
     "func @f(input %a: f32[3,2], input %b: f32[3,2]) -> (r: f32[3,2]) {\n"
     "  %r = scan %a, %b {dim = 0} : f32[3,2]\n  return %r\n}\n",
     {{2, 1, 3, -1, 0.5, 2}, {1, 1, 1, 2, 4, 0}},
     {1, 1, 4, 1, 6, 2}},

    /* several ops in one function, intermediates reused */
    {"chain",
     F2x3x2("f32[2]") "  %s = add %a, %b : f32[2,3]\n"
                      "  %p = mul %s, %s : f32[2,3]\n"
                      "  %q = sub %p, %a : f32[2,3]\n"
                      "  %r = reduce_sum %q {dims = [1]} : f32[2]\n"
                      "  return %r\n}\n",
     {{1, 2, 3, 4, 5, 6}, {1, 1, 1, 1, 1, 1}},
     {4 + 9 + 16 - 6, 25 + 36 + 49 - 15}},
};

#define NCASES ((int)(sizeof cases / sizeof cases[0]))

START_TEST(test_op) {
  const interp_case *c = &cases[_i];
  pt_module *m = pt_test_parse_ok(c->src);
  const pt_func *f = m->funcs[0];
  ck_assert_msg(f->nresults == 1, "%s: want one result", c->name);
  pt_tensor *args[3] = {0};
  ck_assert_int_le(f->nargs, 3);
  make_args(f, c->in, args);
  pt_diag *d = pt_diag_create(NULL);
  pt_tensor *r = NULL;
  pt_status st = pt_interp_run(f, args, &r, d);
  ck_assert_msg(st == PT_OK, "%s: run failed: %s", c->name,
                pt_diag_count(d) ? pt_diag_message(d, 0) : "?");
  ck_assert_msg(pt_type_equal(&r->type, &f->results[0].type),
                "%s: result type differs from the declared one", c->name);
  expect_values(c->name, r, c->want, pt_type_numel(&r->type));
  pt_tensor_destroy(r);
  for (int i = 0; i < f->nargs; i++)
    pt_tensor_destroy(args[i]);
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* ---- runtime errors ------------------------------------------------- */

typedef struct {
  const char *name;
  const char *src;
  double in[3][32];
  const char *where;  /* "test.pir:LINE:COL" of the failing op */
  const char *phrase; /* part of the message */
} error_case;

static const error_case errors[] = {
    {"take_index_too_big",
     "func @f(input %t: f32[4,2], input %i: i32[3]) -> (r: f32[3,2]) {\n"
     "  %r = take %t, %i : f32[3,2]\n  return %r\n}\n",
     {{0}, {0, 4, 1}},
     "test.pir:2:8",
     "index 4 at position [1] of the indices is outside the valid range "
     "[0, 4)"},
    {"take_index_negative",
     "func @f(input %t: f32[4,2], input %i: i32[2,2]) -> (r: f32[2,2,2]) {\n"
     "  %x = neg %t : f32[4,2]\n"
     "  %r = take %x, %i : f32[2,2,2]\n  return %r\n}\n",
     {{0}, {0, 1, 3, -1}},
     "test.pir:3:8",
     "index -1 at position [1, 1] of the indices is outside the valid range "
     "[0, 4)"},
    {"scatter_add_index_out_of_range",
     "func @f(input %i: i32[2], input %u: f32[2,2]) -> (r: f32[3,2]) {\n"
     "  %r = scatter_add %i, %u : f32[3,2]\n  return %r\n}\n",
     {{2, 3}, {0}},
     "test.pir:2:8",
     "index 3 at position [1] of the indices is outside the valid range "
     "[0, 3)"},
    {"div_i32_by_zero",
     "func @f(input %a: i32[2,2], input %b: i32[2,2]) -> (r: i32[2,2]) {\n"
     "  %s = add %a, %b : i32[2,2]\n"
     "  %r = div %s, %b : i32[2,2]\n  return %r\n}\n",
     {{1, 2, 3, 4}, {1, 1, 0, 1}},
     "test.pir:3:8",
     "division by zero"},
    {"collective_in_mesh_module",
     "mesh {x = 2}\n"
     "func @f(input %a: f32[2,3]) -> (r: f32[4,3]) {\n"
     "  %e = exp %a : f32[2,3]\n"
     "  %r = all_gather %e {dim = 0, axes = [x]} : f32[4,3]\n"
     "  return %r\n}\n",
     {{0}},
     "test.pir:4:8",
     "collective 'all_gather' cannot run in the reference interpreter"},
};

#define NERRORS ((int)(sizeof errors / sizeof errors[0]))

START_TEST(test_error) {
  const error_case *c = &errors[_i];
  pt_module *m = pt_test_parse_ok(c->src);
  const pt_func *f = m->funcs[0];
  pt_tensor *args[3] = {0};
  make_args(f, c->in, args);
  pt_diag *d = pt_diag_create(NULL);
  pt_tensor *r = (pt_tensor *)&r; /* must be overwritten with NULL */
  pt_status st = pt_interp_run(f, args, &r, d);
  ck_assert_msg(st == PT_ERR, "%s: run succeeded", c->name);
  ck_assert_msg(r == NULL, "%s: a failed run left a result", c->name);
  ck_assert_msg(pt_diag_error_count(d) == 1, "%s: %d errors, want 1", c->name,
                pt_diag_error_count(d));
  const char *msg = pt_diag_message(d, 0);
  ck_assert_msg(strstr(msg, c->where), "%s: '%s' is not located at %s", c->name,
                msg, c->where);
  ck_assert_msg(strstr(msg, c->phrase), "%s: '%s' does not say '%s'", c->name,
                msg, c->phrase);
  for (int i = 0; i < f->nargs; i++)
    pt_tensor_destroy(args[i]);
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* ---- results and ownership ------------------------------------------ */

/* Results that are arguments, or one value returned twice, come back as
 * distinct tensors the caller owns; arguments are left untouched. */
START_TEST(test_result_ownership) {
  pt_module *m =
      pt_test_parse_ok("func @f(input %a: f32[2], input %b: f32[2])"
                       " -> (x: f32[2], y: f32[2], z: f32[2], w: f32[2]) {\n"
                       "  %s = add %a, %b : f32[2]\n"
                       "  %dead = mul %a, %a : f32[2]\n"
                       "  return %a, %s, %s, %a\n}\n");
  const pt_func *f = m->funcs[0];
  static const double in[2][32] = {{1, 2}, {10, 20}};
  pt_tensor *args[2];
  make_args(f, in, args);
  pt_tensor *r[4] = {0};
  pt_diag *d = pt_diag_create(NULL);
  ck_assert_int_eq(pt_interp_run(f, args, r, d), PT_OK);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      ck_assert(i == j || r[i] != r[j]);
  for (int i = 0; i < 4; i++) {
    ck_assert(r[i] != args[0] && r[i] != args[1]);
  }
  expect_values("ownership x", r[0], (const double[]){1, 2}, 2);
  expect_values("ownership y", r[1], (const double[]){11, 22}, 2);
  expect_values("ownership z", r[2], (const double[]){11, 22}, 2);
  expect_values("ownership w", r[3], (const double[]){1, 2}, 2);
  expect_values("ownership a unchanged", args[0], (const double[]){1, 2}, 2);
  for (int i = 0; i < 4; i++)
    pt_tensor_destroy(r[i]);
  for (int i = 0; i < 2; i++)
    pt_tensor_destroy(args[i]);
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

/* ---- memory --------------------------------------------------------- */

/* A counting allocator: each block carries its size in a header so live
 * and peak bytes can be tracked. */
typedef struct {
  size_t live, peak;
  long blocks;
} counter;

static void *counting_alloc(void *ud, void *ptr, size_t size) {
  counter *c = ud;
  size_t *h = ptr ? (size_t *)ptr - 2 : NULL;
  if (h) {
    c->live -= h[0];
    c->blocks--;
  }
  if (size == 0) {
    free(h);
    return NULL;
  }
  size_t *n = realloc(h, size + 2 * sizeof(size_t));
  if (!n)
    return NULL;
  n[0] = size;
  c->live += size;
  c->blocks++;
  if (c->live > c->peak)
    c->peak = c->live;
  return n + 2;
}

/* A chain of 8 element-wise ops on 256 KiB tensors. Holding every
 * intermediate would need 8 of them at once; freeing each after its last
 * use needs at most the argument, the operand and the new result. */
static const char *chain_src =
    "func @f(input %x: f32[256,256]) -> (r: f32[256,256]) {\n"
    "  %a1 = neg %x : f32[256,256]\n"
    "  %a2 = exp %a1 : f32[256,256]\n"
    "  %a3 = add %a2, %a2 : f32[256,256]\n"
    "  %a4 = mul %a3, %a3 : f32[256,256]\n"
    "  %a5 = tanh %a4 : f32[256,256]\n"
    "  %a6 = abs %a5 : f32[256,256]\n"
    "  %a7 = sqrt %a6 : f32[256,256]\n"
    "  %r = neg %a7 : f32[256,256]\n"
    "  return %r\n}\n";

START_TEST(test_frees_intermediates) {
  counter c = {0, 0, 0};
  pt_set_allocator(counting_alloc, &c);
  pt_module *m = pt_test_parse_ok(chain_src);
  const pt_func *f = m->funcs[0];
  pt_tensor *x = pt_tensor_create(f->args[0]->type);
  pt_diag *d = pt_diag_create(NULL);
  size_t before = c.live;
  long blocks_before = c.blocks;
  c.peak = c.live;
  pt_tensor *r = NULL;
  pt_status st = pt_interp_run(f, &x, &r, d);
  size_t peak = c.peak - before;
  size_t tensor = 256 * 256 * sizeof(float);
  size_t after = c.live - before;
  long blocks = c.blocks - blocks_before;
  pt_tensor_destroy(r);
  pt_tensor_destroy(x);
  pt_diag_destroy(d);
  pt_module_destroy(m);
  long left = c.blocks;
  pt_set_allocator(NULL, NULL);

  ck_assert_int_eq(st, PT_OK);
  /* the live result and at most one more intermediate, plus bookkeeping */
  ck_assert_msg(peak < 2 * tensor + tensor / 4,
                "peak %zu bytes over the run, want < %zu", peak,
                2 * tensor + tensor / 4);
  /* after the run only the result (its struct and data) remains */
  ck_assert_msg(after < tensor + 1024 && blocks == 2,
                "after the run %zu bytes in %ld blocks remain", after, blocks);
  ck_assert_msg(left == 0, "%ld blocks leaked", left);
}
END_TEST

/* Every block the interpreter takes is returned, on success and on each
 * kind of runtime error, whatever was live when the error struck. */
START_TEST(test_no_leaks) {
  static const struct {
    const char *src;
    double in[2][32];
    pt_status want;
  } runs[] = {
      {"func @f(input %a: f32[2,3], input %i: i32[2]) -> (r: f32[2,3],"
       " s: f32[2,3], t: f32[3]) {\n"
       "  %e = exp %a : f32[2,3]\n"
       "  %u = mul %e, %a : f32[2,3]\n"
       "  %unused = tanh %u : f32[2,3]\n"
       "  %g = take %u, %i : f32[2,3]\n"
       "  %t = reduce_sum %g {dims = [0]} : f32[3]\n"
       "  return %g, %g, %t\n}\n",
       {{1, 2, 3, 4, 5, 6}, {1, 0}},
       PT_OK},
      {"func @f(input %a: f32[2,3], input %i: i32[2]) -> (r: f32[2,3]) {\n"
       "  %e = exp %a : f32[2,3]\n"
       "  %u = mul %e, %a : f32[2,3]\n"
       "  %g = take %u, %i : f32[2,3]\n"
       "  %r = add %g, %e : f32[2,3]\n"
       "  return %r\n}\n",
       {{1, 2, 3, 4, 5, 6}, {1, 7}},
       PT_ERR},
      {"func @f(input %a: i32[2,3], input %b: i32[2]) -> (r: i32[2,3]) {\n"
       "  %e = neg %a : i32[2,3]\n"
       "  %z = constant {value = 0} : i32[2,3]\n"
       "  %q = div %e, %z : i32[2,3]\n"
       "  %r = add %q, %e : i32[2,3]\n"
       "  return %r\n}\n",
       {{1, 2, 3, 4, 5, 6}, {0, 0}},
       PT_ERR},
      {"mesh {x = 2}\n"
       "func @f(input %a: f32[2,3], input %b: f32[2]) -> (r: f32[2,3]) {\n"
       "  %e = exp %a : f32[2,3]\n"
       "  %s = all_reduce %e {reduce = sum, axes = [x]} : f32[2,3]\n"
       "  %r = add %s, %e : f32[2,3]\n"
       "  return %r\n}\n",
       {{1, 2, 3, 4, 5, 6}, {0, 0}},
       PT_ERR},
  };
  for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
    counter c = {0, 0, 0};
    pt_set_allocator(counting_alloc, &c);
    pt_module *m = pt_test_parse_ok(runs[k].src);
    const pt_func *f = m->funcs[0];
    pt_tensor *args[2];
    make_args(f, runs[k].in, args);
    pt_diag *d = pt_diag_create(NULL);
    pt_tensor *r[3] = {0};
    pt_status st = pt_interp_run(f, args, r, d);
    for (int i = 0; i < f->nresults; i++)
      pt_tensor_destroy(r[i]);
    for (int i = 0; i < 2; i++)
      pt_tensor_destroy(args[i]);
    pt_diag_destroy(d);
    pt_module_destroy(m);
    long left = c.blocks;
    pt_set_allocator(NULL, NULL);
    ck_assert_msg(st == runs[k].want, "run %zu: status %d, want %d", k, (int)st,
                  (int)runs[k].want);
    ck_assert_msg(left == 0, "run %zu: %ld blocks leaked", k, left);
  }
}
END_TEST

/* ---- scale ---------------------------------------------------------- */

/* The MLP's first layer shape: 64x1024 times 1024x1024, 67M multiply-adds.
 * Small integers keep every sum exact, so elements can be checked against
 * a direct computation. */
START_TEST(test_dot_big) {
  pt_module *m = pt_test_parse_ok(
      "func @f(input %x: f32[64,1024], param %w: f32[1024,1024])"
      " -> (r: f32[64,1024]) {\n"
      "  %r = dot %x, %w {lhs_contract = [1], rhs_contract = [0]}"
      " : f32[64,1024]\n  return %r\n}\n");
  const pt_func *f = m->funcs[0];
  pt_tensor *args[2];
  for (int i = 0; i < 2; i++)
    args[i] = pt_tensor_create(f->args[i]->type);
  float *x = args[0]->data, *w = args[1]->data;
  for (int64_t i = 0; i < 64 * 1024; i++)
    x[i] = (float)(i % 7 - 3);
  for (int64_t i = 0; i < 1024 * 1024; i++)
    w[i] = (float)(i % 5 - 2);
  pt_diag *d = pt_diag_create(NULL);
  pt_tensor *r = NULL;
  clock_t t0 = clock();
  ck_assert_int_eq(pt_interp_run(f, args, &r, d), PT_OK);
  double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
  fprintf(stderr, "dot [64,1024]x[1024,1024]: %.2f s\n", secs);
  const float *y = r->data;
  static const int64_t probe[][2] = {
      {0, 0}, {0, 1023}, {63, 0}, {31, 517}, {63, 1023}};
  for (size_t p = 0; p < sizeof probe / sizeof probe[0]; p++) {
    int64_t i = probe[p][0], j = probe[p][1];
    double want = 0;
    for (int64_t k = 0; k < 1024; k++)
      want += (double)x[i * 1024 + k] * w[k * 1024 + j];
    ck_assert_msg(y[i * 1024 + j] == (float)want,
                  "dot_big: r[%lld,%lld] %g want %g", (long long)i,
                  (long long)j, y[i * 1024 + j], want);
  }
  pt_tensor_destroy(r);
  for (int i = 0; i < 2; i++)
    pt_tensor_destroy(args[i]);
  pt_diag_destroy(d);
  pt_module_destroy(m);
}
END_TEST

static Suite *interp_suite(void) {
  Suite *s = suite_create("interp");
  TCase *tc = tcase_create("ops");
  tcase_add_loop_test(tc, test_op, 0, NCASES);
  suite_add_tcase(s, tc);
  tc = tcase_create("errors");
  tcase_add_loop_test(tc, test_error, 0, NERRORS);
  suite_add_tcase(s, tc);
  tc = tcase_create("memory");
  tcase_add_test(tc, test_result_ownership);
  tcase_add_test(tc, test_frees_intermediates);
  tcase_add_test(tc, test_no_leaks);
  suite_add_tcase(s, tc);
  tc = tcase_create("scale");
  tcase_set_timeout(tc, 300); /* sanitizer builds are several times slower */
  tcase_add_test(tc, test_dot_big);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return pt_test_main(interp_suite()); }
