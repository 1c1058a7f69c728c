/* What `partita run` computes around one run of a function: starting
 * values, result summaries and differences (runtime/run.h). */
#include "run.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "init.h"
#include "vmesh.h"

pt_tensor_summary pt_tensor_summarize(const pt_tensor *t) {
  pt_tensor_summary s = {INFINITY, -INFINITY, 0, 0, 1469598103934665603ull};
  int64_t n = pt_type_numel(&t->type);
  double sum = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = pt_tensor_get(t, i);
    if (isnan(v)) {
      s.nans++;
      continue;
    }
    if (v < s.min)
      s.min = v;
    if (v > s.max)
      s.max = v;
    sum += v;
  }
  s.mean = s.nans ? NAN : sum / (double)n;
  if (s.nans == n)
    s.min = s.max = NAN;
  const unsigned char *b = t->data;
  size_t nb = pt_type_bytes(&t->type);
  for (size_t i = 0; i < nb; i++)
    s.checksum = (s.checksum ^ b[i]) * 1099511628211ull;
  return s;
}

void pt_tensor_diff(const pt_tensor *t, const pt_tensor *ref, double *maxabs, double *maxrel) {
  double scale = 0, abs = 0;
  bool nan_mismatch = false;
  for (int64_t k = 0; k < pt_type_numel(&ref->type); k++) {
    double a = pt_tensor_get(t, k), b = pt_tensor_get(ref, k);
    if (isnan(a) != isnan(b))
      nan_mismatch = true;
    if (!isnan(a) && !isnan(b) && fabs(a - b) > abs)
      abs = fabs(a - b);
    if (!isnan(b) && fabs(b) > scale)
      scale = fabs(b);
  }
  *maxabs = abs;
  *maxrel = nan_mismatch ? INFINITY : abs / (scale > 0 ? scale : 1.0);
}

pt_status pt_run_args(const pt_func *f, const pt_st_file *in, uint64_t seed, pt_tensor **args,
                      bool *from_input, pt_diag *d) {
  const char *inputs = in ? pt_st_path(in) : NULL;
  if (pt_interp_check_memory(f, d) != PT_OK)
    return PT_ERR;
  bool bad = false;
  for (int i = 0; i < f->nargs; i++) {
    const pt_value *a = f->args[i];
    const pt_tensor *t = in ? pt_st_find(in, a->name) : NULL;
    char b1[PT_TYPE_STRLEN], b2[PT_TYPE_STRLEN];
    if (from_input)
      from_input[i] = t != NULL;
    if (t && !pt_type_equal(&t->type, &a->type)) {
      pt_diag_error(d, (pt_loc){inputs, 0, 0}, "tensor '%s' is %s but argument %%%s of @%s is %s",
                    a->name, pt_type_str(&t->type, b1, sizeof b1), a->name, f->name,
                    pt_type_str(&a->type, b2, sizeof b2));
      bad = true;
      continue;
    }
    if (t) {
      args[i] = pt_tensor_clone(t);
    } else {
      pt_init_spec s = pt_init_spec_for(f, a, seed);
      args[i] = pt_init_tensor(&s, a->type);
    }
  }
  if (in)
    for (int i = 0; i < pt_st_count(in); i++)
      if (!pt_func_find_arg(f, pt_st_name(in, i)))
        pt_diag_report(d, PT_SEV_WARNING, (pt_loc){inputs, 0, 0},
                       "tensor '%s' is not an argument of @%s; ignored", pt_st_name(in, i),
                       f->name);
  return bad ? PT_ERR : PT_OK;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

pt_status pt_run(const pt_run_opts *o, pt_run_result *r, pt_diag *d) {
  const pt_func *f = o->f;
  memset(r, 0, sizeof *r);
  r->nargs = f->nargs;
  r->nresults = f->nresults;
  r->args = pt_calloc((size_t)f->nargs + 1, sizeof *r->args);
  r->results = pt_calloc((size_t)f->nresults + 1, sizeof *r->results);
  r->from_input = pt_calloc((size_t)f->nargs + 1, sizeof *r->from_input);
  if (pt_run_args(f, o->in, o->seed, r->args, r->from_input, d) != PT_OK)
    return PT_ERR;
  double t0 = now();
  if ((o->g ? pt_vmesh_run_global(f, o->g, r->args, r->results, d)
            : pt_interp_run(f, r->args, r->results, d)) != PT_OK)
    return PT_ERR;
  r->seconds = now() - t0;
  r->within = true;
  if (!o->compare)
    return PT_OK;
  r->ref = pt_calloc((size_t)f->nresults + 1, sizeof *r->ref);
  if (pt_interp_run(f, r->args, r->ref, d) != PT_OK)
    return PT_ERR;
  r->maxabs = pt_calloc((size_t)f->nresults + 1, sizeof *r->maxabs);
  r->maxrel = pt_calloc((size_t)f->nresults + 1, sizeof *r->maxrel);
  for (int i = 0; i < f->nresults; i++) {
    pt_tensor_diff(r->results[i], r->ref[i], &r->maxabs[i], &r->maxrel[i]);
    if (!(r->maxrel[i] <= o->tolerance))
      r->within = false;
  }
  return PT_OK;
}

void pt_run_result_free(pt_run_result *r) {
  pt_tensors_destroy(r->args, r->nargs);
  pt_tensors_destroy(r->results, r->nresults);
  pt_tensors_destroy(r->ref, r->nresults);
  pt_free(r->from_input);
  pt_free(r->maxabs);
  pt_free(r->maxrel);
  memset(r, 0, sizeof *r);
}
