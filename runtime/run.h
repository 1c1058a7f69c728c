/* What `partita run` computes (runtime/run.c): one run of a function, in
 * the reference interpreter or, given its lowered program, on the virtual
 * mesh; the starting values of its arguments; a summary of each result; and
 * how far a partitioned run's results are from the reference's.
 *
 * Requires: a verified function with no calls left; a lowered program of
 * it (pt_pass_lower, verified) if one is given.
 * Provides: pt_run fills a pt_run_result: the arguments, the results, the
 * seconds the run took and, with compare, the reference's results and the
 * differences. pt_run_args fills one tensor per argument;
 * pt_tensor_summarize and pt_tensor_diff only read.
 * Ownership: everything in the options is borrowed for the call; the
 * result owns its tensors and arrays (pt_run_result_free, also after a
 * failure); the caller owns (pt_tensor_destroy) every tensor pt_run_args
 * makes, also when it fails.
 * Errors: pt_run_args reports, located at the inputs file, every tensor of
 * the wrong type (an error: PT_ERR after all arguments are looked at) and
 * every tensor that is no argument of f (a warning); pt_run also returns
 * PT_ERR with the interpreter's or the virtual mesh's messages in d. A
 * comparison beyond the tolerance is no error: see within. */
#ifndef PT_RUN_H
#define PT_RUN_H

#include "interp.h"
#include "safetensors.h"

/* min, max and mean over the non-NaN elements (mean NaN if any is NaN; min
 * and max NaN if all are), the NaN count, and FNV-1a 64 of the bytes. */
typedef struct {
  double min, max, mean;
  int64_t nans;
  uint64_t checksum;
} pt_tensor_summary;

pt_tensor_summary pt_tensor_summarize(const pt_tensor *t);

/* The largest absolute difference between t and ref over elements where
 * neither is NaN, and that relative to ref's largest magnitude (or to 1 if
 * ref is all zero); the relative one is INFINITY where t and ref have NaNs
 * in different places. Both have ref's number of elements. */
void pt_tensor_diff(const pt_tensor *t, const pt_tensor *ref, double *maxabs, double *maxrel);

/* Starting values for f's arguments into args[i] (f->nargs slots): the
 * tensor of the same name in `in` (may be NULL), else the seeded
 * initialisation (runtime/init.h, from seed). from_input[i] (may be NULL)
 * says which. */
pt_status pt_run_args(const pt_func *f, const pt_st_file *in, uint64_t seed, pt_tensor **args,
                      bool *from_input, pt_diag *d);

typedef struct {
  const pt_func *f;     /* the (global) function */
  const pt_func *g;     /* f lowered: run it on the virtual mesh; NULL: the interpreter */
  const pt_st_file *in; /* argument values by name (may be NULL) */
  uint64_t seed;        /* for the arguments not in `in` */
  bool compare;         /* also run the interpreter and compare */
  double tolerance;     /* largest relative difference within tolerance */
} pt_run_opts;

typedef struct {
  int nargs, nresults;
  pt_tensor **args, **results;
  bool *from_input;        /* per argument: taken from the inputs file */
  double seconds;          /* of the run (not of the comparison) */
  pt_tensor **ref;         /* compare: the interpreter's results */
  double *maxabs, *maxrel; /* compare: per result, from pt_tensor_diff */
  bool within;             /* every maxrel <= tolerance (true without compare) */
} pt_run_result;

pt_status pt_run(const pt_run_opts *o, pt_run_result *r, pt_diag *d);
void pt_run_result_free(pt_run_result *r);

#endif
