/* Comparing a step's results from an optimised path (BLAS sums in f32) with
 * the reference interpreter's (sums in double), for tests/test_exec.c and
 * tests/test_mpi.c.
 *
 * Tolerance: max |got - want| <= tol times the reference's largest finite
 * magnitude, with nan and infinities at the same places. One exception is
 * explained, not hidden: Adam's first update of a parameter is
 * lr * g / (|g| + eps), which swings between -lr and lr as g crosses a few
 * eps; where the reference gradient is that small, the gradient's f32
 * rounding (1e-10 absolute in the MLP) moves the update by a visible part
 * of lr. Such an element of a parameter P (a result with partners "opt.P.m",
 * holding (1 - beta1) g after a step from zero state, and "opt.P.v") may differ
 * by up to 2 lr if |g| <= 100 eps; the count is reported. */
#ifndef PT_STEP_CHECK_H
#define PT_STEP_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "interp.h"
#include "passes.h"

typedef struct {
  double worst;    /* the largest relative difference outside the exception */
  int64_t excused; /* elements within Adam's exception */
  char bad[256];   /* empty when every result is within tolerance */
} pt_step_check;

static void pt_step_compare(const pt_func *f, pt_tensor *const *got, pt_tensor *const *want,
                            double tol, pt_step_check *out) {
  memset(out, 0, sizeof *out);
  pt_optimizer adam = pt_optimizer_default(PT_OPTIM_ADAM);
  for (int i = 0; i < f->nresults && !out->bad[0]; i++) {
    const char *name = f->results[i].name;
    if (!pt_type_equal(&got[i]->type, &want[i]->type)) {
      snprintf(out->bad, sizeof out->bad, "result %s has the wrong type", name);
      break;
    }
    char mname[256], vname[256];
    snprintf(mname, sizeof mname, "opt.%s.m", name);
    snprintf(vname, sizeof vname, "opt.%s.v", name);
    int mi = pt_func_find_result(f, vname) >= 0 ? pt_func_find_result(f, mname) : -1;
    int64_t n = pt_type_numel(&want[i]->type);
    double scale = 0;
    for (int64_t k = 0; k < n; k++) {
      double b = pt_tensor_get(want[i], k);
      if (isfinite(b))
        scale = fmax(scale, fabs(b));
    }
    if (scale == 0)
      scale = 1;
    for (int64_t k = 0; k < n; k++) {
      double a = pt_tensor_get(got[i], k), b = pt_tensor_get(want[i], k);
      if (!isfinite(a) || !isfinite(b)) {
        if (!(isnan(a) && isnan(b)) && a != b) {
          snprintf(out->bad, sizeof out->bad, "result %s element %lld is %g, not %g", name,
                   (long long)k, a, b);
          break;
        }
        continue;
      }
      double rel = fabs(a - b) / scale;
      if (rel <= tol) {
        out->worst = fmax(out->worst, rel);
        continue;
      }
      if (mi >= 0 && pt_type_equal(&want[mi]->type, &want[i]->type)) {
        double g = pt_tensor_get(want[mi], k) / (1 - adam.beta1);
        if (fabs(g) <= 100 * adam.eps && fabs(a - b) <= 2 * adam.lr * (1 + 1e-6)) {
          out->excused++;
          continue;
        }
      }
      snprintf(out->bad, sizeof out->bad,
               "result %s element %lld is %.9g, not %.9g (relative difference %.3g)", name,
               (long long)k, a, b, rel);
      break;
    }
  }
}

#endif
