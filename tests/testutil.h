/* Shared helpers for the Check test programs. */
#ifndef PT_TESTUTIL_H
#define PT_TESTUTIL_H

#include <check.h>

#include "interp.h"
#include "ir.h"
#include "redistribute.h"

/* The source tree (from PT_SOURCE_DIR, set by ctest), and a path inside it
 * (malloc'd; free with pt_free). */
const char *pt_test_source_dir(void);
char *pt_test_path(const char *rel);
/* The built `partita` binary (from PT_PARTITA, set by ctest). */
const char *pt_test_partita(void);

/* Parses text named "test.pir"; NULL and messages in d on error. */
pt_module *pt_test_parse(const char *text, pt_diag *d);
/* Parses and verifies; fails the running test (printing the diagnostics)
 * if either step reports an error. */
pt_module *pt_test_parse_ok(const char *text);

/* The contents of a file (malloc'd with pt_malloc), or "" if unreadable. */
char *pt_test_slurp(const char *path);

/* Runs `partita ARGS` (shell text; $T is `tmpdir`) in the source tree,
 * capturing its exit status, stdout and stderr (in files under tmpdir). */
typedef struct {
  int status;
  char *out, *err;
} pt_test_result;
pt_test_result pt_test_partita_run(const char *tmpdir, const char *args);
void pt_test_result_free(pt_test_result *r);

/* A command line that must fail: `partita ARGS` exits with `status` and
 * stderr contains `want`. pt_test_check_usage runs it and fails the
 * running test, naming the case, if not. */
typedef struct {
  const char *name, *args;
  int status;
  const char *want; /* in stderr */
} pt_test_usage_case;
void pt_test_check_usage(const char *tmpdir, const pt_test_usage_case *c);

/* Seeded random cases. Each suite keeps its own generator state, so its
 * cases (and a failing case's number) do not change when another suite
 * draws more or fewer numbers. pt_test_rnd advances *state (a 64-bit LCG)
 * and returns a number in [0, n). */
int pt_test_rnd(uint64_t *state, int n);
/* A random type of dtype: rank in [min_rank, max_rank], each dim 1 to 3
 * times the sizes of a random subset of m's axes (so layouts on m often
 * divide it). */
pt_type pt_test_random_type(uint64_t *state, pt_dtype dtype, int min_rank, int max_rank,
                            const pt_mesh *m);
/* A random layout of t on m: each axis, in random order, unused, on
 * a random dim it divides (so dims get several axes, in any order), or
 * (when allow_partial) a partial sum. */
pt_layout pt_test_random_layout(uint64_t *state, const pt_mesh *m, const pt_type *t,
                                bool allow_partial);

/* Runs f in the reference interpreter and g, its lowered program, on the
 * virtual mesh on args; fails the running test, naming `what`, if either
 * run fails or a result holds a NaN. Returns the largest difference of a
 * result relative to the interpreter's largest magnitude in it (1 where
 * that is 0), the worst over the results, whose index goes to *worst (if
 * not NULL). */
double pt_test_mesh_difference(const pt_func *f, const pt_func *g, pt_tensor *const *args,
                               const char *what, int *worst);

/* Runs a suite, prints Check's summary line, returns the exit status. */
int pt_test_main(Suite *s);

#endif
