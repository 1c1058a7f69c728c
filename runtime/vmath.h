/* exp, tanh, logistic and log of f32 in plain f32 arithmetic and integer bit
 * operations -- no calls, no branches -- so that loops over them vectorise.
 * The executor's op-by-op kernels use these functions, and the JIT's fused
 * loops (runtime/jit.c) emit the same operations in the same order, so the
 * two agree bit for bit. Against the C library's double functions rounded
 * to f32 (what the reference interpreter computes) exp, tanh and log are
 * within 1 ulp and logistic within 2 (tests/test_exec.c measures it over a sweep of
 * the whole f32 range); exp flushes results below 2^-125 (x < -86.6) to
 * zero, and logistic those below about 2^-128 (x < -88.7); NaN stays NaN.
 *
 * exp: x = n ln2 + r with n = round(x / ln2) (the 1.5 * 2^23 rounding
 * trick), ln2 split in two parts so r is exact, e^r by a degree-7
 * polynomial (Cephes's coefficients), then scaled by 2^n built in the
 * exponent bits (as 2^(n-1) * 2, so that n = 128 does not overflow the
 * exponent field). tanh: for |x| < 0.625 an odd polynomial (Cephes), else
 * 1 - 2 / (e^{2|x|} + 1) with x's sign. logistic: 1 / (1 + e^-x).
 * log: x = m 2^e with m in [sqrt(1/2), sqrt(2)) read from the bits
 * (subnormals scaled by 2^23 first), log(1 + t) for t = m - 1 by a
 * degree-8 polynomial (Cephes's), plus e ln2 with ln2 split in two; log 0
 * is -inf, log of a negative number NaN, log inf inf. */
#ifndef PT_VMATH_H
#define PT_VMATH_H

#include <stdint.h>
#include <string.h>

/* The constants, shared with the JIT. */
#define PT_VEXP_LO (-86.6f)           /* below: 0 */
#define PT_VEXP_HI 88.72283905206835f /* above: inf */
#define PT_VEXP_LOG2E 1.44269504088896341f
#define PT_VEXP_ROUND 12582912.0f /* 1.5 * 2^23 */
#define PT_VEXP_C1 0.693359375f
#define PT_VEXP_C2 (-2.12194440e-4f)
static const float pt_vexp_poly[6] = {1.9875691500E-4f, 1.3981999507E-3f, 8.3334519073E-3f,
                                      4.1665795894E-2f, 1.6666665459E-1f, 5.0000001201E-1f};
#define PT_VTANH_SMALL 0.625f
static const float pt_vtanh_poly[5] = {-5.70498872745E-3f, 2.06390887954E-2f, -5.37397155531E-2f,
                                       1.33314422036E-1f, -3.33332819422E-1f};

#define PT_VLOG_SQRTHF 0.707106781186547524f
#define PT_VLOG_TINY 0x1p-126f /* below: subnormal (or zero, or negative) */
#define PT_VLOG_SCALE 0x1p23f
static const float pt_vlog_poly[9] = {7.0376836292E-2f,  -1.1514610310E-1f, 1.1676998740E-1f,
                                      -1.2420140846E-1f, 1.4249322787E-1f,  -1.6668057665E-1f,
                                      2.0000714765E-1f,  -2.4999993993E-1f, 3.3333331174E-1f};

static inline float pt_vexp(float x) {
  float xc = x < PT_VEXP_LO ? PT_VEXP_LO : x; /* a NaN passes both */
  xc = xc > PT_VEXP_HI ? PT_VEXP_HI : xc;
  float t = xc * PT_VEXP_LOG2E + PT_VEXP_ROUND;
  float n = t - PT_VEXP_ROUND;
  float r = xc - n * PT_VEXP_C1;
  r = r - n * PT_VEXP_C2;
  float p = pt_vexp_poly[0];
  for (int k = 1; k < 6; k++)
    p = p * r + pt_vexp_poly[k];
  p = p * r * r + r + 1.0f;
  int32_t tb, sb;
  memcpy(&tb, &t, 4);
  sb = (int32_t)((uint32_t)(tb - 0x4B400000 + 126) << 23); /* 2^(n-1) */
  float s;
  memcpy(&s, &sb, 4);
  float y = p * s * 2.0f;
  y = x > PT_VEXP_HI ? __builtin_inff() : y;
  return x < PT_VEXP_LO ? 0.0f : y;
}

static inline float pt_vtanh(float x) {
  float a = __builtin_fabsf(x);
  float z = x * x;
  float p = pt_vtanh_poly[0];
  for (int k = 1; k < 5; k++)
    p = p * z + pt_vtanh_poly[k];
  float small = p * z * x + x;
  float e = pt_vexp(a + a);
  float big = 1.0f - 2.0f / (e + 1.0f);
  return __builtin_copysignf(a < PT_VTANH_SMALL ? small : big, x); /* odd; tanh(-0) = -0 */
}

static inline float pt_vlogistic(float x) {
  return 1.0f / (1.0f + pt_vexp(-x));
}

static inline float pt_vlog(float x) {
  int sub = x < PT_VLOG_TINY;
  float xs = sub ? x * PT_VLOG_SCALE : x;
  int32_t b, mb;
  memcpy(&b, &xs, 4);
  int32_t e = ((b >> 23) & 0xff) - 126 - (sub ? 23 : 0);
  mb = (b & 0x007fffff) | 0x3f000000; /* the mantissa, in [0.5, 1) */
  float m;
  memcpy(&m, &mb, 4);
  float fe = (float)e;
  int below = m < PT_VLOG_SQRTHF;
  fe = below ? fe - 1.0f : fe;
  float t = below ? m + m - 1.0f : m - 1.0f;
  float z = t * t;
  float p = pt_vlog_poly[0];
  for (int k = 1; k < 9; k++)
    p = p * t + pt_vlog_poly[k];
  float y = t * z * p;
  y = y + fe * PT_VEXP_C2; /* -ln2's low part, as exp's */
  y = y - 0.5f * z;
  float r = t + y;
  r = r + fe * PT_VEXP_C1;
  r = x == __builtin_inff() ? __builtin_inff() : r;
  r = x == 0.0f ? -__builtin_inff() : r;
  r = x < 0.0f ? __builtin_nanf("") : r;
  return x != x ? x : r;
}

#endif
